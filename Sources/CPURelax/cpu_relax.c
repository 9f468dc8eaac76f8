// The hint is the inline function in include/cpu_relax.h; SwiftPM needs one source file per C target.
#include "cpu_relax.h"
