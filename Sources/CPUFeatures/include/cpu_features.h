#ifndef INITLAB_CPU_FEATURES_H
#define INITLAB_CPU_FEATURES_H

/// Returns 1 when the running CPU has every instruction-set feature the compute core was compiled for
/// (AVX2, FMA, BMI2, F16C and MOVBE for x86-64-v3 / haswell), 0 otherwise. On other architectures the
/// core is built without such flags and this always returns 1.
int initlab_cpu_supported(void);

/// A NUL-terminated, human-readable name of the feature set the core requires ("" when none).
const char *initlab_cpu_required_features(void);

#endif
