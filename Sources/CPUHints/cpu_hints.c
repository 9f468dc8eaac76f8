// The hints are inline functions in include/cpu_hints.h; the thread name needs _GNU_SOURCE, so it is defined here.
#define _GNU_SOURCE
#include <pthread.h>
#include "cpu_hints.h"

void initlab_set_thread_name(const char *name) {
#if defined(__linux__)
    pthread_setname_np(pthread_self(), name);
#elif defined(__APPLE__)
    pthread_setname_np(name);
#endif
}
