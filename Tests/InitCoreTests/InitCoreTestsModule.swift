// Tests for InitCore.
