#define _GNU_SOURCE
#include <sys/resource.h>
#include <unistd.h>
#include "clinux.h"

#if defined(__linux__)
int initlab_set_thread_nice(int nice) {
    return setpriority(PRIO_PROCESS, (id_t)gettid(), nice);
}
#endif
