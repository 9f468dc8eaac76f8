// Compiled WITHOUT -march flags so that it runs on any CPU of the architecture: it is the gate that
// refuses to start a binary whose compute core needs AVX2/FMA on a CPU without them.
#include "cpu_features.h"

int initlab_cpu_supported(void) {
#if defined(INITLAB_REQUIRE_X86_64_V3) && (defined(__x86_64__) || defined(__i386__))
    // `-target-cpu haswell` lets LLVM use every x86-64-v3 instruction anywhere in InitCore (not only the
    // SIMD kernels: e.g. tzcnt/lzcnt for bit counts, movbe, F16C conversions), so check all of them.
    // compiler-rt reports AVX features only when the OS saves the YMM state (XGETBV), as required.
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2") &&
           __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") &&
           __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("lzcnt") &&
           __builtin_cpu_supports("f16c") && __builtin_cpu_supports("movbe") &&
           __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("sse4.2") ? 1 : 0;
#else
    return 1;
#endif
}

const char *initlab_cpu_required_features(void) {
#if defined(INITLAB_REQUIRE_X86_64_V3) && (defined(__x86_64__) || defined(__i386__))
    return "x86-64-v3 (AVX, AVX2, FMA, BMI1, BMI2, LZCNT, F16C, MOVBE, POPCNT, SSE4.2)";
#else
    return "";
#endif
}
