#!/usr/bin/env python3
"""InitLab's training step vs PyTorch on the CPU, measured in the same run and interleaved.

The net: depth hidden Linear layers of `width` units with ReLU, Kaiming-normal weights and zero biases, then
Linear(width, 10); softmax cross-entropy; plain SGD (lr 0.01). One fixed mini-batch of `batch` examples with 784
features, so that both sides time the bare loop: forward, loss, backward, update (no data loading, no evaluation).

For every row (shape × thread count) the script alternates
    ours (`initlab bench train ... --json`), PyTorch, ours, PyTorch, ...
for --reps repetitions and prints the median steps/s of each side and the ratio ours/PyTorch, with the goal:
    depth 20, width 256, batch 64:    ≥ 2× PyTorch at two threads (small products: framework overhead counts)
    depth 20, width 1024, batch 256:  ≥ 1× PyTorch
PyTorch runs in one long-lived worker process per thread count, with torch.set_num_threads(t) and
OMP_NUM_THREADS/MKL_NUM_THREADS set before torch loads.

Usage: python3 Benchmarks/bench_train.py [--binary .build/release/initlab] [--reps 5] [--steps 100] [--threads 1,2]
       [--widths 256,1024] [--python VENV/bin/python]
Build first: swift build -c release --product initlab. torch comes from a virtualenv (it is ~5 GB; never needed by tests):
    python3 -m venv /tmp/initlab-torch-venv && /tmp/initlab-torch-venv/bin/pip install torch numpy
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
nets = {}
for line in sys.stdin:
    req = json.loads(line)
    key = (req["depth"], req["width"], req["batch"])
    if key not in nets:
        depth, width, batch = key
        layers, fan_in = [], 784
        for _ in range(depth):
            lin = torch.nn.Linear(fan_in, width)
            torch.nn.init.kaiming_normal_(lin.weight); torch.nn.init.zeros_(lin.bias)
            layers += [lin, torch.nn.ReLU()]
            fan_in = width
        head = torch.nn.Linear(width, 10)
        torch.nn.init.kaiming_normal_(head.weight); torch.nn.init.zeros_(head.bias)
        net = torch.nn.Sequential(*layers, head)
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
        x = torch.randn(batch, 784)
        y = torch.randint(0, 10, (batch,))
        loss_fn = torch.nn.CrossEntropyLoss()
        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()
        nets[key] = step
    step = nets[key]
    for _ in range(5):
        step()
    t0 = time.perf_counter()
    for _ in range(req["steps"]):
        step()
    elapsed = time.perf_counter() - t0
    print(json.dumps({"seconds": elapsed / req["steps"]}), flush=True)
"""

ROWS = [
    # depth, width, batch, goal (ours/PyTorch steps/s), at which thread count the goal applies (None: all)
    (20, 256, 64, 2.0, 2),
    (20, 1024, 256, 1.0, None),
]


def ours(binary, depth, width, batch, threads, steps):
    out = subprocess.run(
        [binary, "bench", "train", "--depth", str(depth), "--width", str(width), "--batch", str(batch),
         "--threads", str(threads), "--steps", str(steps), "--repeats", "1", "--json"],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["seconds"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(here, "..", ".build", "release", "initlab"))
    ap.add_argument("--python", default=torch_worker.DEFAULT_PYTHON)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--widths", default="256,1024", help="which rows to run, by width (default: both)")
    ap.add_argument("--json")
    args = ap.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]

    workers = torch_worker.Workers(args.python, LOOP, thread_counts)

    def torch_step(t, depth, width, batch):
        return workers.ask(t, {"depth": depth, "width": width, "batch": batch, "steps": args.steps})["seconds"]

    print(f"{cpuinfo.header()}; "
          f"PyTorch {workers.version}; {args.reps} interleaved repetitions of {args.steps} steps, medians")
    print(f"{'row':40s} | {'PyTorch steps/s':>15s} | {'InitLab steps/s':>15s} | ours/PyTorch | goal")
    results = []
    widths = {int(w) for w in args.widths.split(",")}
    for depth, width, batch, goal, goal_threads in (row for row in ROWS if row[1] in widths):
        for t in thread_counts:
            ours_s, torch_s = [], []
            for _ in range(args.reps):
                ours_s.append(ours(args.binary, depth, width, batch, t, args.steps))
                torch_s.append(torch_step(t, depth, width, batch))
            o, p = statistics.median(ours_s), statistics.median(torch_s)
            ratio = p / o
            applies = goal_threads is None or goal_threads == t
            verdict = (f"≥ {goal:g}× {'met' if ratio >= goal else 'MISSED'}") if applies else "-"
            name = f"depth {depth}, width {width}, batch {batch}, {t} thread{'s' if t > 1 else ''}"
            print(f"{name:40s} | {1 / p:15.1f} | {1 / o:15.1f} | {ratio:11.2f}x | {verdict}")
            results.append({"depth": depth, "width": width, "batch": batch, "threads": t,
                            "ours_seconds": o, "torch_seconds": p, "ratio": ratio})
    workers.close()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
