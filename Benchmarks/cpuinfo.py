"""The CPU line every benchmark table opens with: the model from /proc/cpuinfo, the cores, and whether it has
AVX-512 (Zen 3 and Zen 4 EPYCs both turn up, and the kernels' speed differs between them)."""
import os
import platform


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def has_avx512():
    try:
        with open("/proc/cpuinfo") as f:
            return "avx512f" in f.read()
    except OSError:
        return False


def header():
    return f"CPU: {cpu_model()}, {os.cpu_count()} cores, AVX-512: {'yes' if has_avx512() else 'no'}"
