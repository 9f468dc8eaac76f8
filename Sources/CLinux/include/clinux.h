#ifndef INITLAB_CLINUX_H
#define INITLAB_CLINUX_H

/// Linux interfaces that Glibc's Swift module does not export, for HTTPServer: epoll and eventfd (its event
/// loops), and a thread's own scheduling priority (its access log's writer).
#if defined(__linux__)
#include <sys/epoll.h>
#include <sys/eventfd.h>

/// Sets the calling thread's nice value (not the process's: on Linux, setpriority with a thread id). Returns 0,
/// or -1 with errno set.
int initlab_set_thread_nice(int nice);
#endif

#endif
