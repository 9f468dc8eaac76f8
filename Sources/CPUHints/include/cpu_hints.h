#ifndef INITLAB_CPU_HINTS_H
#define INITLAB_CPU_HINTS_H

/// Hints for the compute core that Swift has no intrinsics for. Both compile to one instruction and change
/// no result.

/// A spin-wait hint for polling loops (ComputePool): x86 `pause`, ARM `yield`. It tells the core that the
/// thread is waiting, which frees its execution resources for the other hardware thread of the same core
/// (the two vCPUs of a virtual machine can be such siblings) and saves power.
static inline void initlab_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

/// Asks for the cache line holding `p` to be brought into the cache for writing (the matmul micro-kernel's
/// C tile, which is read, added to and stored after the k-loop).
static inline void initlab_prefetch_write(const void *p) {
    __builtin_prefetch(p, 1, 3);
}

/// Asks for the cache line holding `p` to be brought into the outer caches (L2; `prefetcht1` on x86) for a read that
/// comes later: the next B panel's rows of a product's in-place path, while the current one computes.
static inline void initlab_prefetch_read_later(const void *p) {
    __builtin_prefetch(p, 0, 2);
}

/// Names the calling thread (Linux keeps 15 characters), so that `top -H`, `perf` and debuggers show the compute
/// pool's helpers as such. Glibc's `pthread_setname_np` needs _GNU_SOURCE, which Swift's Glibc module lacks.
void initlab_set_thread_name(const char *name);

#endif
