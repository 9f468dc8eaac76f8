// The hints are inline functions in include/cpu_hints.h; SwiftPM needs one source file per C target.
#include "cpu_hints.h"
