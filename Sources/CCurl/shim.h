#ifndef INITLAB_CCURL_SHIM_H
#define INITLAB_CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call. These non-variadic wrappers
 * pass one argument of a fixed type each; the Datasets target's Curl/ folder is their only user. */

typedef size_t (*initlab_curl_data_fn)(char *buffer, size_t size, size_t nitems, void *userdata);
typedef int (*initlab_curl_xferinfo_fn)(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                                        curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode initlab_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode initlab_curl_setopt_ptr(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode initlab_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode initlab_curl_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/* For CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION. */
static inline CURLcode initlab_curl_setopt_data_callback(CURL *handle, CURLoption option, initlab_curl_data_fn fn) {
    return curl_easy_setopt(handle, option, fn);
}

/* For CURLOPT_XFERINFOFUNCTION. */
static inline CURLcode initlab_curl_setopt_xferinfo_callback(CURL *handle, CURLoption option,
                                                             initlab_curl_xferinfo_fn fn) {
    return curl_easy_setopt(handle, option, fn);
}

static inline CURLcode initlab_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode initlab_curl_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

#endif
