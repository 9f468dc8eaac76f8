#!/usr/bin/env python3
"""InitLab compute core vs numpy, measured in the same run and interleaved.

For every row (matmul shape/layout/thread count, or normal sampling) the script alternates
    ours (`initlab bench ... --json`), numpy, ours, numpy, ...
for --reps repetitions and reports the median of each side and the ratio ours/numpy.

numpy runs in long-lived worker processes, one per thread count, started with OPENBLAS_NUM_THREADS
(and OMP_NUM_THREADS) set to that count. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed together
from the workers' environment so that OpenBLAS picks its own kernel for this CPU; the kernel it picked is
printed (threadpoolctl, if installed: `pip install threadpoolctl`).

Usage: python3 Benchmarks/bench_core.py [--binary .build/release/initlab] [--reps 5] [--json out.json]
Build first: swift build -c release --product initlab
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import cpuinfo

WORKER = r"""
import json, os, sys, time
import numpy as np

def info():
    try:
        import threadpoolctl
        pools = [
            {k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "threading_layer")}
            for p in threadpoolctl.threadpool_info() if p.get("user_api") == "blas"
        ]
    except ImportError:
        pools = "threadpoolctl not installed"
    return {"numpy": np.__version__, "blas": pools}

def median_seconds(body, repeats, min_seconds):
    body()
    t = time.perf_counter(); body(); once = max(1e-9, time.perf_counter() - t)
    calls = max(1, int(min_seconds / once))
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            body()
        samples.append((time.perf_counter() - t) / calls)
    return sorted(samples)[len(samples) // 2]

print(json.dumps(info()), flush=True)
cache = {}
rng = np.random.default_rng(12345)
for line in sys.stdin:
    req = json.loads(line)
    if req["bench"] == "matmul":
        layout, m, n, k = req["layout"], req["m"], req["n"], req["k"]
        key = (layout, m, n, k)
        if key not in cache:
            a_shape = (k, m) if layout == "tn" else (m, k)
            b_shape = (n, k) if layout == "nt" else (k, n)
            a = rng.uniform(-1, 1, a_shape).astype(np.float32)
            b = rng.uniform(-1, 1, b_shape).astype(np.float32)
            cache = {key: (a, b)}
        a, b = cache[key]
        if layout == "nn":
            f = lambda: a @ b
        elif layout == "nt":
            f = lambda: a @ b.T
        else:
            f = lambda: a.T @ b
        s = median_seconds(f, req["repeats"], req["min_seconds"])
        print(json.dumps({"seconds": s, "gflops": 2.0 * m * n * k / s / 1e9}), flush=True)
    else:
        out = np.empty(req["count"], dtype=np.float32)
        gen = np.random.default_rng(7)
        s = median_seconds(lambda: gen.standard_normal(dtype=np.float32, out=out), req["repeats"], req["min_seconds"])
        print(json.dumps({"seconds": s, "samples_per_second": req["count"] / s}), flush=True)
"""


class NumpyWorker:
    def __init__(self, threads):
        env = dict(os.environ)
        self.removed = {k: env.pop(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in env}
        env["OPENBLAS_NUM_THREADS"] = str(threads)
        env["OMP_NUM_THREADS"] = str(threads)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True
        )
        self.info = json.loads(self.proc.stdout.readline())

    def run(self, request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("numpy worker died")
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def ours(binary, args):
    out = subprocess.run([binary, "bench", *args, "--json"], check=True, capture_output=True, text=True).stdout
    rows = [json.loads(l) for l in out.splitlines() if l.strip()]
    if len(rows) != 1:
        raise RuntimeError(f"expected one row from {args}, got {out!r}")
    return rows[0]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=".build/release/initlab")
    p.add_argument("--reps", type=int, default=5, help="interleaved repetitions per row (median reported)")
    p.add_argument("--inner-repeats", type=int, default=3, help="timed repeats inside one measurement")
    p.add_argument("--min-millis", type=int, default=100, help="minimum duration of one timed repeat")
    p.add_argument("--sizes", default="256,512,1024,2048")
    p.add_argument("--layout-sizes", default="256,512,1024")
    p.add_argument("--threads", default=None, help="comma-separated thread counts (default: 1 and all cores)")
    p.add_argument("--rng-count", type=int, default=1 << 22)
    p.add_argument("--skip-matmul", action="store_true")
    p.add_argument("--skip-rng", action="store_true")
    p.add_argument("--json", help="also write all rows to this file")
    p.add_argument("--settle-ms", type=int, default=250,
                   help="pause before every measurement, ours and numpy's alike: OpenBLAS's threads keep spinning "
                        "for a while after a call (and ours for 0.2 ms), which would tax whichever side runs next")
    a = p.parse_args()

    if not os.path.exists(a.binary):
        sys.exit(f"{a.binary} not found: build it with `swift build -c release --product initlab`")
    cores = os.cpu_count() or 1
    threads = [int(t) for t in a.threads.split(",")] if a.threads else ([1, cores] if cores > 1 else [1])
    workers = {t: NumpyWorker(t) for t in threads}
    first = workers[threads[0]]
    print(f"# {cpuinfo.header()}")
    print(f"# cpu cores: {cores}; removed from numpy's environment: {first.removed or 'nothing set'}")
    for t, w in workers.items():
        print(f"# numpy worker, OPENBLAS_NUM_THREADS={t}: {json.dumps(w.info)}")

    rows = []
    if not a.skip_matmul:
        for s in [int(x) for x in a.sizes.split(",")]:
            rows.append(("matmul", "nn", s))
        for layout in ("nt", "tn"):
            for s in [int(x) for x in a.layout_sizes.split(",")]:
                rows.append(("matmul", layout, s))
    if not a.skip_rng:
        rows.append(("normal", None, a.rng_count))

    results = []
    header = f"{'bench':<7} {'layout':<6} {'size':>8} {'thr':>3} {'ours':>10} {'numpy':>10} {'ratio':>6} {'goal':>5}"
    print(header)
    print("-" * len(header))
    for bench, layout, size in rows:
        for t in threads:
            ours_v, np_v = [], []
            for _ in range(a.reps):
                if bench == "matmul":
                    time.sleep(a.settle_ms / 1000)
                    r = ours(a.binary, ["matmul", "--shape", f"{layout}:{size}:{size}:{size}", "--threads", str(t),
                                        "--repeats", str(a.inner_repeats), "--min-millis", str(a.min_millis)])
                    ours_v.append(r["gflops"])
                    time.sleep(a.settle_ms / 1000)
                    n = workers[t].run({"bench": "matmul", "layout": layout, "m": size, "n": size, "k": size,
                                        "repeats": a.inner_repeats, "min_seconds": a.min_millis / 1000})
                    np_v.append(n["gflops"])
                else:
                    time.sleep(a.settle_ms / 1000)
                    r = ours(a.binary, ["rng", "--kinds", "normal", "--count", str(size), "--threads", str(t),
                                        "--repeats", str(a.inner_repeats), "--min-millis", str(a.min_millis)])
                    ours_v.append(r["samplesPerSecond"] / 1e6)
                    time.sleep(a.settle_ms / 1000)
                    # numpy's Generator is single-threaded: its rate is the baseline for every row.
                    n = workers[t].run({"bench": "normal", "count": size,
                                        "repeats": a.inner_repeats, "min_seconds": a.min_millis / 1000})
                    np_v.append(n["samples_per_second"] / 1e6)
            o, n = statistics.median(ours_v), statistics.median(np_v)
            ratio = o / n
            if bench == "matmul":
                goal = 1.0 if t == 1 else 0.95  # the core issue's goals, every row
            else:
                goal = 3.0
            unit = "GFLOP/s" if bench == "matmul" else "M/s"
            mark = "" if goal is None else ("ok" if ratio >= goal else "MISS")
            goal_s = "" if goal is None else f"{goal:.2f}"
            print(f"{bench:<7} {layout or '-':<6} {size:>8} {t:>3} {o:>10.2f} {n:>10.2f} {ratio:>6.2f} {goal_s:>5} {mark}"
                  f"   ({unit}; ours {min(ours_v):.1f}-{max(ours_v):.1f}, numpy {min(np_v):.1f}-{max(np_v):.1f})",
                  flush=True)
            results.append({"bench": bench, "layout": layout, "size": size, "threads": t, "unit": unit,
                            "ours": ours_v, "numpy": np_v, "ours_median": o, "numpy_median": n,
                            "ratio": ratio, "goal": goal})
    for w in workers.values():
        w.close()
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "cores": cores,
                       "numpy": {t: w.info for t, w in workers.items()}, "removed_env": first.removed,
                       "rows": results}, f, indent=1)


if __name__ == "__main__":
    main()
