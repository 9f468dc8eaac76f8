// Header-only shim (see include/cepoll.h); SwiftPM wants one source file per C target.
#include "cepoll.h"
