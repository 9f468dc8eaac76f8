#ifndef INITLAB_CCURL_SHIM_H
#define INITLAB_CCURL_SHIM_H
#include <curl/curl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

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

/* For CURLOPT_OPENSOCKETFUNCTION. */
typedef curl_socket_t (*initlab_curl_opensocket_fn)(void *clientp, curlsocktype purpose,
                                                    struct curl_sockaddr *address);

static inline CURLcode initlab_curl_setopt_opensocket_callback(CURL *handle, CURLoption option,
                                                               initlab_curl_opensocket_fn fn) {
    return curl_easy_setopt(handle, option, fn);
}

/* The address in a `struct curl_sockaddr` (whose `addr` member is really `addrlen` bytes long, which Swift cannot
 * see through the declared `struct sockaddr`): copies its 4 (AF_INET) or 16 (AF_INET6) address bytes into `bytes`
 * and its port into `port`, and returns how many bytes it copied, or 0 for any other family. */
static inline int initlab_curl_sockaddr_address(const struct curl_sockaddr *address, unsigned char bytes[16],
                                                unsigned short *port) {
    if (address->family == AF_INET && address->addrlen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&address->addr;
        memcpy(bytes, &in->sin_addr, 4);
        *port = ntohs(in->sin_port);
        return 4;
    }
    if (address->family == AF_INET6 && address->addrlen >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&address->addr;
        memcpy(bytes, &in6->sin6_addr, 16);
        *port = ntohs(in6->sin6_port);
        return 16;
    }
    return 0;
}

static inline CURLcode initlab_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode initlab_curl_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

#endif
