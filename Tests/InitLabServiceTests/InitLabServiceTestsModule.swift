// Tests for InitLabService.
