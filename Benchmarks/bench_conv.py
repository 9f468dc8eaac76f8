#!/usr/bin/env python3
"""A conv layer on InitLab's matmul core (im2col) vs PyTorch's CPU convolution, same shapes, same threads.

Shapes of a small MNIST CNN (batch 64, 3×3 kernels, padding 1): 1→32 channels at 28×28, 32→64 at 28×28 and
at 14×14. Forward: ours is im2col + one product (NHWC); PyTorch's is `F.conv2d` on NCHW (oneDNN or its own
kernels, whichever it picks). Backward: the weight gradient and the input gradient; PyTorch's with
`torch.autograd.grad` of y w.r.t. (x, w) on a graph built before the clock starts (its forward not counted).

Rows alternate ours (`initlab bench conv --json`), PyTorch, ours, PyTorch … for --reps repetitions; medians
and the ratio PyTorch time / ours (> 1: ours faster). No goal is set by the issue; the table shows where
im2col stands.

Usage: python3 Benchmarks/bench_conv.py [--binary .build/release/initlab] [--reps 5] [--python VENV/bin/python]
(torch: see torch_worker.py)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

import cpuinfo
import torch_worker

LOOP = r"""
import torch.nn.functional as F

def median_seconds(body, min_seconds=0.1, repeats=5):
    body()
    t0 = time.perf_counter(); body(); once = max(1e-9, time.perf_counter() - t0)
    calls = max(1, int(min_seconds / once))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            body()
        samples.append((time.perf_counter() - t0) / calls)
    samples.sort()
    return samples[len(samples) // 2]

for line in sys.stdin:
    r = json.loads(line)
    x = torch.randn(r["batch"], r["in"], r["height"], r["width"], requires_grad=True)
    w = torch.randn(r["out"], r["in"], r["kernel"], r["kernel"], requires_grad=True)
    conv = lambda: F.conv2d(x, w, stride=r["stride"], padding=r["padding"])
    with torch.no_grad():
        forward = median_seconds(conv)
    y = conv()
    dy = torch.randn_like(y)
    backward = median_seconds(lambda: torch.autograd.grad(y, (x, w), dy, retain_graph=True))
    print(json.dumps({"forward": forward, "backward": backward}), flush=True)
"""

SHAPES = [
    # batch, in, height, width, out, kernel, stride, padding
    (64, 1, 28, 28, 32, 3, 1, 1),
    (64, 32, 28, 28, 64, 3, 1, 1),
    (64, 32, 14, 14, 64, 3, 1, 1),
]


def ours(binary, shape, threads):
    arg = ":".join(str(v) for v in shape)
    out = subprocess.run([binary, "bench", "conv", "--shape", arg, "--threads", str(threads), "--repeats", "5", "--json"],
                         check=True, capture_output=True, text=True).stdout
    row = json.loads(out.strip().splitlines()[-1])
    return row["forward_seconds"], row["backward_seconds"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=".build/release/initlab")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", default=f"1,{os.cpu_count()}" if os.cpu_count() > 1 else "1")
    ap.add_argument("--python", default=torch_worker.DEFAULT_PYTHON)
    args = ap.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]
    workers = torch_worker.Workers(args.python, LOOP, thread_counts)
    keys = ["batch", "in", "height", "width", "out", "kernel", "stride", "padding"]

    def torch_row(t, shape):
        answer = workers.ask(t, dict(zip(keys, shape)))
        return answer["forward"], answer["backward"]

    print(f"{cpuinfo.header()}; PyTorch {workers.version}; "
          f"{args.reps} interleaved repetitions, medians (ms); ratio = PyTorch time / ours")
    print(f"{'layer':34s} thr | {'fwd ours':>9s} {'PyTorch':>9s} {'ratio':>6s} | {'bwd ours':>9s} {'PyTorch':>9s} {'ratio':>6s}")
    for shape in SHAPES:
        for t in thread_counts:
            of, ob, tf, tb = [], [], [], []
            for _ in range(args.reps):
                f, b = ours(args.binary, shape, t)
                of.append(f); ob.append(b)
                f, b = torch_row(t, shape)
                tf.append(f); tb.append(b)
            o_f, o_b, t_f, t_b = (statistics.median(v) for v in (of, ob, tf, tb))
            batch, cin, h, w, cout, k, s, p = shape
            name = f"{cin}→{cout} {h}×{w} k{k} s{s} p{p} batch {batch}"
            print(f"{name:34s} {t:3d} | {o_f * 1e3:9.3f} {t_f * 1e3:9.3f} {t_f / o_f:5.2f}x | "
                  f"{o_b * 1e3:9.3f} {t_b * 1e3:9.3f} {t_b / o_b:5.2f}x")
    workers.close()


if __name__ == "__main__":
    sys.exit(main())
