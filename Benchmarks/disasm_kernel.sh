#!/usr/bin/env bash
# Prints the inner loop of the matmul micro-kernel from the release binary and checks that it is made of
# vfmadd…ps on ymm registers with no stack traffic. Usage: Benchmarks/disasm_kernel.sh [.build/release/initlab]
set -euo pipefail
bin="${1:-.build/release/initlab}"
sym='gemmMicroKernel4x24yy'
body=$(objdump -d --no-show-raw-insn "$bin" | awk "/<.*${sym}.*>:\$/,/^\$/")
[ -n "$body" ] || { echo "symbol *${sym}* not found in $bin" >&2; exit 1; }
echo "$body" | head -1
# The hot loop: from the target of the last backward jne to that jne.
jne_line=$(echo "$body" | grep -E '[[:space:]]jne[[:space:]]' | tail -1)
target=$(echo "$jne_line" | awk '{print $3}')
loop=$(echo "$body" | awk -v t="$target:" '$1==t {on=1} on {print} /[ \t]jne[ \t]/ && on {exit}')
echo "$loop"
fma=$(echo "$loop" | grep -cE 'vfmadd[0-9]+ps\s+%ymm' || true)
stack=$(echo "$loop" | grep -c 'rsp' || true)
echo "# inner loop: $(echo "$loop" | wc -l) instructions, $fma vfmadd…ps on ymm, $stack stack accesses"
[ "$fma" -ge 12 ] && [ "$stack" -eq 0 ] || { echo "# UNEXPECTED kernel code" >&2; exit 1; }
