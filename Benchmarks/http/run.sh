#!/usr/bin/env bash
# Compares InitLab's HTTPServer with Hummingbird 2 on the same tiny JSON endpoint (GET /bench), on loopback.
# Usage: Benchmarks/http/run.sh [SECONDS_PER_ROW]   (default 5, at most 10)
# Builds both in release (scratch path .build-bench, ignored by git), starts both on 127.0.0.1, and runs wrk
# against each in turn for every row (interleaved, so both see the same machine state): keep-alive with 1, 64
# and 256 connections, and a new connection per request. Prints req/s, p50, p99 and our ratio to Hummingbird.
set -euo pipefail
DURATION="${1:-5}"
[ "$DURATION" -gt 10 ] && DURATION=10
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"
mkdir -p .root
ln -sfn ../../.. .root/InitLab
command -v wrk >/dev/null || { echo "wrk not installed (apt-get install wrk)"; exit 1; }
flock /tmp/initlab-swift.lock swift build -c release --scratch-path .build-bench --product hb-bench >/dev/null
flock /tmp/initlab-swift.lock swift build -c release --scratch-path .build-bench --product ours-bench >/dev/null
BIN="$(swift build -c release --scratch-path .build-bench --show-bin-path)"
HB_PORT=18181
OURS_PORT=18182
"$BIN/hb-bench" "$HB_PORT" >/tmp/hb-bench.log 2>&1 &
HB_PID=$!
"$BIN/ours-bench" "$OURS_PORT" >/tmp/ours-bench.log 2>&1 &
OURS_PID=$!
trap 'kill "$HB_PID" "$OURS_PID" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    if curl -fsS "http://127.0.0.1:$HB_PORT/bench" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$OURS_PORT/bench" >/dev/null 2>&1; then break; fi
    sleep 0.2
done
echo "hummingbird: $(curl -fsS "http://127.0.0.1:$HB_PORT/bench")"
echo "initlab:     $(curl -fsS "http://127.0.0.1:$OURS_PORT/bench")"

# Prints "req/s p50_ms p99_ms" for one wrk run.
measure() {
    local port=$1 conns=$2 mode=$3 threads=2
    [ "$conns" -lt 2 ] && threads=1
    # `Connection: close` with its space, as one argument: wrk silently drops a header written `Connection:close`,
    # which made the last row measure kept-alive connections until 2026-12-07.
    local header=()
    [ "$mode" = close ] && header=(-H "Connection: close")
    wrk -t"$threads" -c"$conns" -d"${DURATION}s" --latency "${header[@]}" "http://127.0.0.1:$port/bench" 2>&1 | awk '
        function ms(v) { if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 } if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 } if (v ~ /s$/) { sub(/s$/, "", v); return v * 1000 } return v }
        /Requests\/sec:/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx|Socket errors/ { errs = errs " [" $0 "]" }
        END { printf "%.0f %.3f %.3f%s\n", rps, p50, p99, errs }'
}

printf "%-28s | %22s | %22s | %s\n" "row (${DURATION}s each)" "hummingbird rps p50/p99 ms" "initlab rps p50/p99 ms" "ratio rps, p99"
row_index=0
for row in "keep-alive c=1|1|" "keep-alive c=64|64|" "keep-alive c=256|256|" "new conn/request c=64|64|close"; do
    IFS='|' read -r name conns extra <<<"$row"
    # Alternate which server goes first, so neither always meets the other's leftover TIME_WAIT or load.
    if [ $((row_index % 2)) -eq 0 ]; then
        read -r hr hp50 hp99 herr <<<"$(measure "$HB_PORT" "$conns" "$extra")"
        read -r orps op50 op99 oerr <<<"$(measure "$OURS_PORT" "$conns" "$extra")"
    else
        read -r orps op50 op99 oerr <<<"$(measure "$OURS_PORT" "$conns" "$extra")"
        read -r hr hp50 hp99 herr <<<"$(measure "$HB_PORT" "$conns" "$extra")"
    fi
    row_index=$((row_index + 1))
    ratio=$(awk -v a="$orps" -v b="$hr" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    pratio=$(awk -v a="$op99" -v b="$hp99" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    printf "%-28s | %8s %6s/%-7s | %8s %6s/%-7s | %sx, p99 %sx %s %s\n" "$name" "$hr" "$hp50" "$hp99" "$orps" "$op50" "$op99" "$ratio" "$pratio" "${herr:-}" "${oerr:-}"
done
