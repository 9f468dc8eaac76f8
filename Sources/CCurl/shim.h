#ifndef INITLAB_CCURL_SHIM_H
#define INITLAB_CCURL_SHIM_H
#include <curl/curl.h>
#endif
