#ifndef INITLAB_CZLIB_SHIM_H
#define INITLAB_CZLIB_SHIM_H
#include <zlib.h>
#endif
