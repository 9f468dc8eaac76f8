#!/usr/bin/env bash
# Slow-client soak against InitLab's HTTPServer on loopback: slowhttptest opens CONNS (default 1000)
# slowloris connections that trickle header lines, while curl keeps sending normal requests; prints how many
# of those were answered and their worst latency. Needs Debian's slowhttptest and a release build of
# Benchmarks/http's ours-bench (run Benchmarks/http/run.sh once, or the swift build line below).
# Usage: scripts/slowloris.sh [SECONDS] [CONNS]   (defaults 30, 1000)
set -euo pipefail
DURATION="${1:-30}"
CONNS="${2:-1000}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/Benchmarks/http"
command -v slowhttptest >/dev/null || { echo "slowhttptest not installed (apt-get install slowhttptest)"; exit 1; }
mkdir -p "$BENCH/.root" && ln -sfn ../../.. "$BENCH/.root/InitLab"
(cd "$BENCH" && flock /tmp/initlab-swift.lock swift build -c release --scratch-path .build-bench --product ours-bench >/dev/null)
BIN="$(cd "$BENCH" && swift build -c release --scratch-path .build-bench --show-bin-path)/ours-bench"
PORT=18183
ulimit -n 8192
"$BIN" "$PORT" >/tmp/slowloris-server.log 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$PORT/bench" >/dev/null 2>&1 && break; sleep 0.2; done

# Slowloris: CONNS connections at 500/s, a new header line every 5 s, for DURATION seconds.
slowhttptest -c "$CONNS" -H -i 5 -r 500 -s 8192 -t GET -u "http://127.0.0.1:$PORT/bench" -x 24 -p 3 \
    -l "$DURATION" -g -o /tmp/slowloris-stats >/tmp/slowloris.log 2>&1 &
SLOW=$!

ok=0; fail=0; worst=0
end=$((SECONDS + DURATION))
while [ "$SECONDS" -lt "$end" ]; do
    t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 "http://127.0.0.1:$PORT/bench" || echo "000 5")
    read -r code secs <<<"$t"
    if [ "$code" = "200" ]; then ok=$((ok + 1)); else fail=$((fail + 1)); fi
    worst=$(awk -v a="$worst" -v b="$secs" 'BEGIN { print (b > a ? b : a) }')
    sleep 0.2
done
wait "$SLOW" || true
echo "slowhttptest summary (connection states over time in /tmp/slowloris-stats.csv):"
grep -E "test type|number of connections|interval between|test duration|Exit status|service available|pending|connected|closed" /tmp/slowloris.log | sort -u | tail -12
awk -F, 'NR > 1 { if ($4 + 0 > maxc) { maxc = $4 + 0; at = $1 } if ($2 + 0 > maxk) maxk = $2 + 0 } END { printf "peak slow connections held open: %d (at %ss), closed by the server: %d\n", maxc, at, maxk }' /tmp/slowloris-stats.csv 2>/dev/null || true
echo "normal requests during the attack: $ok answered 200, $fail failed, worst latency ${worst}s"
[ "$fail" -eq 0 ]
