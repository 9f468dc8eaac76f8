#ifndef INITLAB_CPU_FEATURES_H
#define INITLAB_CPU_FEATURES_H

/// Returns 1 when the running CPU has every instruction-set feature the compute core was compiled for
/// (the x86-64-v3 set that `-target-cpu haswell` enables: AVX, AVX2, FMA, BMI1, BMI2, LZCNT, F16C, MOVBE,
/// POPCNT, SSE4.2), 0 otherwise. On other architectures the
/// core is built without such flags and this always returns 1.
int initlab_cpu_supported(void);

/// A NUL-terminated, human-readable name of the feature set the core requires ("" when none).
const char *initlab_cpu_required_features(void);

#endif
