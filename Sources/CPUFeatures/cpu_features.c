// Compiled WITHOUT -march flags so that it runs on any CPU of the architecture: it is the gate that
// refuses to start a binary whose compute core needs AVX2/FMA on a CPU without them.
#include "cpu_features.h"

int initlab_cpu_supported(void) {
#if defined(INITLAB_REQUIRE_X86_64_V3) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("avx") ? 1 : 0;
#else
    return 1;
#endif
}

const char *initlab_cpu_required_features(void) {
#if defined(INITLAB_REQUIRE_X86_64_V3) && (defined(__x86_64__) || defined(__i386__))
    return "x86-64-v3 (AVX, AVX2, FMA, BMI2)";
#else
    return "";
#endif
}
