#!/usr/bin/env bash
# The Fixup claim (issue 12): a 10,000-layer residual net trains without normalization when Fixup initializes it,
# and the same net with Kaiming's init does not. Both train 100 steps of SGD on Fashion-MNIST (784 pixels → a dense
# stem → 3,333 blocks of 3 layers of width 64 → 10 classes), batch 64, lr 0.01, validation on 1,000 test images
# every 20 steps. Prints, per run: the validation accuracy at each evaluation, the verdict, the wall time and the
# peak RSS (GNU time), and the CPU. About 2 minutes on 2 cores.
# Usage: Benchmarks/fixup_10k.sh [steps]   (needs the release build and dataset-fashion-mnist)
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-100}
swift build -c release --product initlab >/dev/null
BIN="$(swift build -c release --show-bin-path)/initlab"
WORK=$(mktemp -d /tmp/initlab-fixup.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
"$BIN" fetch fashion-mnist --mirror /usr/share/datasets/fashion-mnist --cache-dir "$WORK/cache" >/dev/null

model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
avx512=$(grep -q avx512f /proc/cpuinfo && echo yes || echo no)
echo "CPU: $model, $(nproc) cores, AVX-512: $avx512"
echo "net: depth 10000 (stem + 3333 residual blocks of 3), width 64, batch 64, relu; SGD lr 0.01, $STEPS steps; Fashion-MNIST"
printf '%-14s %-44s %-14s %9s %9s\n' init "validation accuracy (every 20 steps)" verdict "time (s)" "RSS (GiB)"
for init in fixup kaiming_normal; do
  cat >"$WORK/spec.json" <<JSON
{"depth": 10000, "width": 64, "batch": 64, "init": "$init", "activation": "relu",
 "architecture": {"name": "residual", "block_size": 3}, "histogram_bins": 10,
 "train": {"dataset": "fashion-mnist", "steps": $STEPS, "optimizer": {"name": "sgd", "lr": 0.01},
           "eval_every": 20, "stats_every": $STEPS, "validation_size": 1000, "seed": 0}}
JSON
  /usr/bin/time -v "$BIN" run --spec "$WORK/spec.json" --cache-dir "$WORK/cache" --threads 2 --max-memory 4GiB --max-flops 1e13 \
    >"$WORK/result.json" 2>"$WORK/time.txt"
  python3 - "$WORK/result.json" "$WORK/time.txt" "$init" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))["training"]
t = open(sys.argv[2]).read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 2**20
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1).split(":")
seconds = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall)))
accs = " ".join(f"{e['accuracy']:.3f}" for e in r["evals"])
s = r["summary"]
verdict = s["verdict"] + (f" @{s['diverged_at_step']}" if s.get("diverged_at_step") else "")
print(f"{sys.argv[3]:<14} {accs:<44} {verdict:<14} {seconds:9.1f} {rss:9.2f}")
PY
done
