#!/usr/bin/env python3
"""The lesson's five-init table, through InitLab's HTTP API.

Network: 784 → 19 hidden layers of 256 units with ReLU → 10 classes, softmax cross-entropy. Training: SGD with
lr 0.05, batch 64, 300 steps, biases zero, on Fashion-MNIST (normalized with the training set's statistics),
validation on the 10,000 test images. Inits: Kaiming normal, Xavier normal, ×0.01 (N(0, 1) · 0.01), PyTorch's
default (kaiming_uniform with a = √5) and N(0, 1). Seeds 0 and 1 (the seed draws the weights and orders the data).

The script asks the server to fetch Fashion-MNIST if it is not cached (POST /v1/datasets/fashion-mnist/fetch;
the server reads Debian's dataset-fashion-mnist folder when present), submits the ten experiments, long-polls
each one to its end, reads the results and prints the table. Python's standard library only.

Usage: scripts/lesson_table.py [--url http://127.0.0.1:8080] [--steps 300] [--seeds 0,1] [--json out.json]
Start a server first: swift run -c release initlab serve
"""

import argparse
import json
import math
import sys
import time
import urllib.error
import urllib.request

INITS = [
    ("Kaiming normal", "kaiming_normal"),
    ("Xavier normal", "xavier_normal"),
    ("×0.01", {"name": "scaled_normal", "factor": 0.01}),
    ("PyTorch's default (kaiming_uniform, a = √5)", "torch_default"),
    ("N(0,1)", {"name": "normal", "std": 1}),
]


def request(url, method="GET", body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if body is not None else {})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def ensure_dataset(base):
    status, d = request(f"{base}/v1/datasets/fashion-mnist")
    if status == 200 and d.get("cached"):
        return
    request(f"{base}/v1/datasets/fashion-mnist/fetch", method="POST", body={})
    for _ in range(600):
        status, d = request(f"{base}/v1/datasets/fashion-mnist")
        if d.get("cached"):
            return
        if (d.get("fetch") or {}).get("state") == "failed":
            sys.exit(f"fetching fashion-mnist failed: {d.get('fetch')}")
        time.sleep(1)
    sys.exit("fashion-mnist did not become available")


def spec(init, seed, steps):
    return {
        "depth": 19, "width": 256, "batch": 64, "init": init, "activation": "relu", "seed": seed,
        "train": {"dataset": "fashion-mnist", "steps": steps, "optimizer": {"name": "sgd", "lr": 0.05},
                  "eval_every": max(1, steps // 6), "stats_every": max(1, steps // 3), "seed": seed},
    }


def fmt(x):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "non-finite"
    return f"{x:.3g}" if abs(x) < 1e4 else f"{x:.1e}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--json")
    args = ap.parse_args()
    base = args.url.rstrip("/")
    seeds = [int(s) for s in args.seeds.split(",")]
    ensure_dataset(base)

    jobs = []
    for label, init in INITS:
        for seed in seeds:
            status, job = request(f"{base}/v1/experiments", method="POST", body=spec(init, seed, args.steps))
            if status != 202:
                sys.exit(f"submit {label} seed {seed}: HTTP {status}: {job}")
            jobs.append((label, seed, job["id"]))
    started = time.time()
    results = {}
    for label, seed, job_id in jobs:
        while True:
            status, job = request(f"{base}/v1/experiments/{job_id}?wait=30")
            if job["status"] in ("succeeded", "failed", "cancelled"):
                break
        if job["status"] != "succeeded":
            sys.exit(f"{label} seed {seed}: {job['status']}: {job.get('error')}")
        _, result = request(f"{base}/v1/experiments/{job_id}/result")
        results[(label, seed)] = result["training"]
    elapsed = time.time() - started

    print(f"784 → 19×256 ReLU → 10, SGD lr 0.05, batch 64, {args.steps} steps, Fashion-MNIST, seeds {args.seeds} "
          f"({len(jobs)} runs through {base} in {elapsed:.0f} s)")
    print(f"| init | validation accuracy | training loss (step 1 → last) | verdict |")
    print(f"|---|---|---|---|")
    table = []
    for label, _ in INITS:
        runs = [results[(label, s)] for s in seeds]
        accs = [r["summary"]["final_accuracy"] for r in runs]
        acc = f"{min(accs):.2f}–{max(accs):.2f}" if len(accs) > 1 else f"{accs[0]:.2f}"
        losses = "; ".join(f"{fmt(r['train_loss'][0])} → {fmt(r['train_loss'][-1])}" for r in runs)
        verdicts = sorted({r["summary"]["verdict"] + (f" at step {r['summary']['diverged_at_step']}"
                                                      if r["summary"].get("diverged_at_step") else "") for r in runs})
        print(f"| {label} | {acc} | {losses} | {', '.join(verdicts)} |")
        table.append({"init": label, "runs": [{"seed": s, "summary": r["summary"], "first_loss": r["train_loss"][0],
                                                "last_loss": r["train_loss"][-1]} for s, r in zip(seeds, runs)]})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(table, f, indent=1)


if __name__ == "__main__":
    main()
