#ifndef INITLAB_CEPOLL_H
#define INITLAB_CEPOLL_H

/// Linux's readiness API for HTTPServer's event loops: Glibc's Swift module does not export these headers.
#if defined(__linux__)
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif

#endif
