#!/usr/bin/env python3
"""InitLab experiment engine vs an equivalent plain numpy program, in the same run.

The experiment (the issue's benchmark): depth 100, width 512, batch 512, kaiming_normal (fan_in, gain √2) +
relu, forward and backward (unit-Gaussian output gradient), full statistics with 50-bin histograms on every
layer for the pre-activation, the activation, the activation gradient and the weight gradient: mean, std,
min, max, mean |x|, zero fraction, dead-unit fraction, non-finite fraction, 50-bin histogram over [min, max],
1st/50th/99th percentiles (numpy: np.percentile, np.histogram; float32 data, float64 statistics).

InitLab runs as the release binary, `initlab run --spec FILE --timing`, timed end to end (process start to
exit, JSON written to /dev/null). numpy keeps every activation and weight in memory (the simple way); InitLab
stores the pre-activations when they fit (256 MiB), otherwise it checkpoints, and redraws each layer's weights
from (seed, layer) for the backward pass.

Both sides run in turn, each after a pause (--settle, 1 s) so that OpenBLAS's spinning threads are idle
when InitLab starts. Results, with the conditions they were measured in: Benchmarks/RESULTS.md.

Usage: python3 Benchmarks/bench_experiment.py [--binary .build/release/initlab] [--repeats 3] [--threads N]
       python3 Benchmarks/bench_experiment.py --deep   # peak RSS of depth 10,000 × 256 × 256 fwd+bwd
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import cpuinfo

import numpy as np

SPEC = {"depth": 100, "width": 512, "batch": 512, "seed": 1, "backward": True,
        "init": "kaiming_normal", "activation": "relu", "histogram_bins": 50}


def stats(x, bins, dead_axis):
    """The same statistics InitLab reports, the plain numpy way."""
    x64 = x.astype(np.float64)
    finite = np.isfinite(x64)
    f = x64[finite] if not finite.all() else x64.ravel()
    lo, hi = f.min(), f.max()
    counts, _ = np.histogram(f, bins=bins, range=(lo, hi))
    p1, p50, p99 = np.percentile(f, [1, 50, 99])
    if dead_axis == "cols_nonpos":
        dead = float(np.mean(np.all(x <= 0, axis=0)))
    elif dead_axis == "cols_zero":
        dead = float(np.mean(np.all(x == 0, axis=0)))
    else:
        dead = float(np.mean(np.all(x == 0, axis=1)))
    return {"count": x.size, "mean": f.mean(), "std": f.std(), "min": lo, "max": hi, "mean_abs": np.abs(f).mean(),
            "zero_fraction": float(np.mean(x == 0)), "dead_fraction": dead, "nonfinite_fraction": 1 - finite.mean(),
            "p1": p1, "p50": p50, "p99": p99, "histogram": counts}


def numpy_experiment(spec, seed=1):
    rng = np.random.default_rng(seed)
    depth, n, batch, bins = spec["depth"], spec["width"], spec["batch"], spec["histogram_bins"]
    x = rng.standard_normal((batch, n), dtype=np.float32)
    std = np.float32(np.sqrt(2.0 / n))
    weights, pre, acts, layers = [], [], [x], []
    for _ in range(depth):
        w = rng.standard_normal((n, n), dtype=np.float32) * std      # (out, in)
        h = acts[-1] @ w.T
        a = np.maximum(h, 0)
        layers.append({"pre": stats(h, bins, "cols_nonpos"), "act": stats(a, bins, "cols_nonpos")})
        weights.append(w); pre.append(h); acts.append(a)
    delta = rng.standard_normal((batch, n), dtype=np.float32)
    for l in reversed(range(depth)):
        layers[l]["act_grad"] = stats(delta, bins, "cols_zero")
        g = delta * (pre[l] > 0)
        dw = g.T @ acts[l]
        layers[l]["weight_grad"] = stats(dw, bins, "rows_zero")
        delta = g @ weights[l]
    return layers


def run_initlab(binary, spec_path, threads):
    cmd = [binary, "run", "--spec", spec_path, "--timing"]
    if threads:
        cmd += ["--threads", str(threads)]
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        p = subprocess.run(cmd, stdout=devnull, stderr=subprocess.PIPE, check=True)
    wall = time.perf_counter() - t0
    m = re.search(rb"timing: run ([0-9.]+) s", p.stderr)
    return wall, float(m.group(1)) if m else float("nan")


def peak_rss(binary, spec, threads):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    cmd = ["/usr/bin/time", "-v", binary, "run", "--spec", f.name, "--timing"] + (["--threads", str(threads)] if threads else [])
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        p = subprocess.run(cmd, stdout=devnull, stderr=subprocess.PIPE, check=True)
    wall = time.perf_counter() - t0
    kb = int(re.search(rb"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    return kb, wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=".build/release/initlab")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="InitLab threads (default: all cores)")
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds to pause before each side runs (OpenBLAS's threads keep spinning for a while after "
                         "numpy's last product and would tax the program that runs next)")
    ap.add_argument("--deep", action="store_true", help="peak RSS of depth 10,000 × 256 × 256 forward+backward")
    args = ap.parse_args()
    if args.deep:
        spec = {"depth": 10000, "width": 256, "batch": 256, "seed": 1, "init": "kaiming_normal", "activation": "relu"}
        kb, wall = peak_rss(args.binary, spec, args.threads)
        print(f"depth 10000 x width 256 x batch 256, forward+backward: peak RSS {kb / 1024:.1f} MiB, wall {wall:.1f} s")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(SPEC, f)
    print(f"{cpuinfo.header()}")
    print(f"experiment: {json.dumps(SPEC)}; numpy {np.__version__}, {os.cpu_count()} cores")
    times_i, times_n = [], []
    for r in range(args.repeats):   # interleaved
        time.sleep(args.settle)
        wall, inner = run_initlab(args.binary, f.name, args.threads)
        time.sleep(args.settle)
        t0 = time.perf_counter()
        numpy_experiment(SPEC)
        tn = time.perf_counter() - t0
        print(f"  repeat {r + 1}: InitLab {wall:.3f} s end to end ({inner:.3f} s inside), numpy {tn:.3f} s, "
              f"ratio {tn / wall:.2f}x, load average {os.getloadavg()[0]:.2f}")
        times_i.append(wall)
        times_n.append(tn)
    med_i, med_n = statistics.median(times_i), statistics.median(times_n)
    print(f"median: InitLab {med_i:.3f} s, numpy {med_n:.3f} s, ratio numpy/InitLab = {med_n / med_i:.2f}x "
          f"(goal >= 9x); best: {min(times_i):.3f} s vs {min(times_n):.3f} s ({min(times_n) / min(times_i):.2f}x)")
    # The floor: the same experiment's products alone, and the run (profiled, in process) against it.
    time.sleep(args.settle)
    threads = ["--threads", str(args.threads)] if args.threads else ["--threads", str(os.cpu_count())]
    cmd = [args.binary, "bench", "experiment", "--spec", f.name, "--repeats", str(args.repeats), "--json", *threads]
    row = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    phases = ", ".join(f"{k} {v:.3f}" for k, v in sorted(row["phase_seconds"].items()))
    print(f"floor: its {row['products']} products alone ({row['gflop']:.1f} GFLOP) {row['floor_seconds']:.3f} s; "
          f"the run in process {row['total_seconds']:.3f} s = {row['ratio']:.2f}x the floor (goal <= 1.25x); "
          f"{phases}, json {row['json_seconds']:.3f}, other {row['other_seconds']:.3f} s; "
          f"numpy / floor = {med_n / row['floor_seconds']:.1f}x")


if __name__ == "__main__":
    sys.exit(main())
