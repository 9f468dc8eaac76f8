#!/usr/bin/env python3
"""Load-time benchmark: initlab's Swift pipeline against numpy on the same file, in the same run.

Both sides take the cached training-images file (train-images-idx3-ubyte.gz, 60,000 x 28 x 28) through the same
steps: read, gunzip, parse the IDX header, scale to [0, 1] as float32, compute mean and std, normalize. Each side is
timed several times; the medians and their ratio are printed. The Swift side is `initlab fetch DATASET --bench N
--json` (which also times the full load of both splits with labels).

    swift build -c release --product initlab
    python3 Benchmarks/bench_datasets.py                     # fashion-mnist from dataset-fashion-mnist
    python3 Benchmarks/bench_datasets.py --dataset mnist --runs 9 --binary .build/release/initlab
"""
import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def numpy_pipeline(path):
    with open(path, "rb") as f:
        raw = gzip.decompress(f.read())
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] != 3:
        raise ValueError(f"{path}: not an IDX ubyte 3-d file")
    n, rows, cols = (int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(3))
    if len(raw) != 16 + n * rows * cols:
        raise ValueError(f"{path}: wrong size")
    x = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows * cols).astype(np.float32) / 255.0
    mean = x.mean(dtype=np.float64)
    std = x.std(dtype=np.float64)
    x = (x - np.float32(mean)) / np.float32(std)
    return x, mean, std


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(root, ".build", "release", "initlab"))
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--cache-dir", default=None, help="default: a temporary folder (fetched from the default mirrors)")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} not found: run `swift build -c release --product initlab` first")
    cache = args.cache_dir or tempfile.mkdtemp(prefix="initlab-bench-")
    cmd = [args.binary, "fetch", args.dataset, "--cache-dir", cache, "--json", "--no-progress",
           "--bench", str(args.runs)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr}")
    report = json.loads(result.stdout)
    bench = report["bench"]
    path = bench["trainImagesPath"]

    numpy_pipeline(path)  # warm-up, like the Swift side's initial load
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        _, mean, std = numpy_pipeline(path)
        times.append(time.perf_counter() - t0)
    numpy_median = statistics.median(times)
    swift_median = bench["trainImagesMedianSeconds"]
    raw = report["statistics"]["rawTrain"]

    print(f"file: {path}")
    print(f"runs: {args.runs} each, medians (after one warm-up load); load average {os.getloadavg()[0]:.2f}")
    print(f"swift (initlab, release) read+gunzip+parse+normalize: {swift_median * 1000:8.1f} ms")
    print(f"numpy gzip+frombuffer+normalize:                     {numpy_median * 1000:8.1f} ms")
    print(f"ratio swift/numpy: {swift_median / numpy_median:.2f}")
    print(f"swift full load (both splits, labels, checks):       {bench['fullLoadMedianSeconds'] * 1000:8.1f} ms")
    print(f"train mean/std: swift {raw['mean']:.6f}/{raw['std']:.6f}  numpy {mean:.6f}/{std:.6f}")
    if abs(raw["mean"] - mean) > 1e-6 or abs(raw["std"] - std) > 1e-6:
        sys.exit("statistics disagree")


if __name__ == "__main__":
    main()
