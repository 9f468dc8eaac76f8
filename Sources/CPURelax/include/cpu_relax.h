#ifndef INITLAB_CPU_RELAX_H
#define INITLAB_CPU_RELAX_H

/// A spin-wait hint for polling loops (ComputePool): x86 `pause`, ARM `yield`. It tells the core that the
/// thread is waiting, which frees its execution resources for the other hardware thread of the same core
/// (the two vCPUs of a virtual machine can be such siblings) and saves power. Swift has no such intrinsic.
static inline void initlab_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

#endif
