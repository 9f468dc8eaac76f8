"""PyTorch on the CPU in long-lived worker processes, one per thread count, for the benchmarks that compare
against it (bench_train.py, bench_conv.py). torch comes from a virtualenv (about 5 GB; never needed by tests):
    python3 -m venv /tmp/initlab-torch-venv && /tmp/initlab-torch-venv/bin/pip install torch numpy

A worker runs PREAMBLE (torch with `threads` threads, seeded, its version on the first line), then the
benchmark's own loop: one JSON request per line on stdin, one JSON answer per line on stdout."""
import json
import os
import subprocess

DEFAULT_PYTHON = os.environ.get("TORCH_PYTHON", "/tmp/initlab-torch-venv/bin/python")

PREAMBLE = r"""
import json, sys, time
import torch
threads = int(sys.argv[1])
torch.set_num_threads(threads)
torch.manual_seed(0)
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
"""


class Workers:
    """One worker per thread count, with OMP_NUM_THREADS/MKL_NUM_THREADS set before torch loads."""

    def __init__(self, python, loop, thread_counts):
        self.procs, self.info = {}, {}
        for t in thread_counts:
            env = dict(os.environ, OMP_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t))
            p = subprocess.Popen([python, "-c", PREAMBLE + loop, str(t)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, env=env)
            self.procs[t] = p
            self.info[t] = json.loads(p.stdout.readline())

    @property
    def version(self):
        return next(iter(self.info.values()))["torch"]

    def ask(self, threads, request):
        p = self.procs[threads]
        p.stdin.write(json.dumps(request) + "\n")
        p.stdin.flush()
        return json.loads(p.stdout.readline())

    def close(self):
        for p in self.procs.values():
            p.stdin.close()
            p.wait()
