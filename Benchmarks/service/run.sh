#!/usr/bin/env bash
# The whole service at its default settings (`initlab serve`, access log on at info, SQLite in a temp folder)
# against a small Hummingbird 2.28.1 app serving the same two routes (hb-service/, see its main.swift), on
# loopback, with wrk.
#
#   Benchmarks/service/run.sh [SECONDS_PER_RUN] [RUNS]     (defaults 5 and 3; at most 10 s per run)
#
# Builds both in release (ours: the root package's .build/release/initlab; Hummingbird: hb-service/.build-bench,
# ignored by git), starts `initlab serve --port 0 --database TMP/initlab.sqlite` (nothing else set), submits one
# experiment and waits for it to succeed, then starts hb-service on a free port, reading that job's row from
# the same SQLite file (read-only). Rows: GET /healthz and GET /v1/experiments/{id} with 1, 64 and 256
# keep-alive connections, and 64 connections that each send one request (`Connection: close`). Every run
# measures both servers back to back (which goes first alternates); each cell is the median over RUNS runs.
# Prints req/s, p99 and the ratios ours/Hummingbird; the goal is req/s ≥ 1.1× and p99 ≤ 1.0× on every row.
set -euo pipefail
DURATION="${1:-5}"
RUNS="${2:-3}"
[ "$DURATION" -gt 10 ] && DURATION=10
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
command -v wrk >/dev/null || { echo "wrk not installed (apt-get install wrk)"; exit 1; }

(cd "$ROOT" && flock /tmp/initlab-swift.lock swift build -c release --product initlab >/dev/null)
(cd "$HERE/hb-service" && flock /tmp/initlab-swift.lock swift build -c release --scratch-path .build-bench >/dev/null)
OURS_BIN="$ROOT/.build/release/initlab"
HB_BIN="$(cd "$HERE/hb-service" && swift build -c release --scratch-path .build-bench --show-bin-path)/hb-service"

WORK="$(mktemp -d /tmp/initlab-service-bench.XXXXXX)"
OURS_PID=""
HB_PID=""
cleanup() {
    for pid in $OURS_PID $HB_PID; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

(cd "$WORK" && exec "$OURS_BIN" serve --port 0 --database "$WORK/initlab.sqlite" >"$WORK/ours.stdout" 2>"$WORK/ours.stderr") &
OURS_PID=$!
OURS_PORT=""
for _ in $(seq 1 200); do
    OURS_PORT="$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$WORK/ours.stdout" | head -n 1)"
    [ -n "$OURS_PORT" ] && break
    sleep 0.05
done
[ -n "$OURS_PORT" ] || { echo "initlab did not start"; cat "$WORK/ours.stderr"; exit 1; }

ID="$(python3 - "$OURS_PORT" <<'PY'
import http.client, json, sys, time
port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port)
spec = {"depth": 10, "width": 8, "batch": 4, "init": "xavier_normal", "activation": "tanh", "seed": 7}
conn.request("POST", "/v1/experiments", json.dumps(spec), {"Content-Type": "application/json"})
response = conn.getresponse(); body = json.loads(response.read())
assert response.status == 202, (response.status, body)
for _ in range(600):
    conn.request("GET", "/v1/experiments/" + body["id"])
    response = conn.getresponse(); job = json.loads(response.read())
    if job["status"] == "succeeded":
        break
    time.sleep(0.05)
assert job["status"] == "succeeded", job
print(body["id"])
PY
)"

HB_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$HB_BIN" "$HB_PORT" "$WORK/initlab.sqlite" >"$WORK/hb.stdout" 2>"$WORK/hb.stderr" &
HB_PID=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$HB_PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done

cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
if grep -qw avx512f /proc/cpuinfo; then avx512=yes; else avx512=no; fi
echo "CPU: $cpu ($(nproc) cores), AVX-512: $avx512; commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- Sources || echo "+uncommitted changes"); ${RUNS} runs of ${DURATION}s per cell, medians"
for route in /healthz "/v1/experiments/$ID"; do
    echo "initlab     $route: $(curl -fsS "http://127.0.0.1:$OURS_PORT$route" | head -c 160)"
    echo "hummingbird $route: $(curl -fsS "http://127.0.0.1:$HB_PORT$route" | head -c 160)"
done

# Prints "req/s p99_ms" for one wrk run; errors (non-2xx, socket errors) go to stderr.
measure() {
    local port=$1 path=$2 conns=$3 mode=$4 threads=2
    [ "$conns" -lt 2 ] && threads=1
    # `Connection: close` with its space, as one argument: wrk silently drops a header written `Connection:close`,
    # which made this row measure kept-alive connections until 2026-12-07.
    local header=()
    [ "$mode" = close ] && header=(-H "Connection: close")
    wrk -t"$threads" -c"$conns" -d"${DURATION}s" --latency "${header[@]}" "http://127.0.0.1:$port$path" 2>&1 | awk '
        function ms(v) { if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 } if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 } if (v ~ /s$/) { sub(/s$/, "", v); return v * 1000 } return v }
        /Requests\/sec:/ { rps = $2 }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx|Socket errors/ { print "  wrk: " $0 > "/dev/stderr" }
        END { printf "%.0f %.3f\n", rps, p99 }'
}
median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

printf "%-44s | %18s | %18s | %s\n" "row" "hummingbird req/s p99" "initlab req/s p99" "ours/HB req/s, p99"
index=0
for path in /healthz "/v1/experiments/$ID"; do
    label="$(echo "$path" | sed "s|$ID|{id}|")"
    for row in "1|" "64|" "256|" "64|close"; do
        IFS='|' read -r conns extra <<<"$row"
        hr=""; hp=""; orr=""; op=""
        for run in $(seq 1 "$RUNS"); do
            if [ $(((index + run) % 2)) -eq 0 ]; then
                read -r a b <<<"$(measure "$HB_PORT" "$path" "$conns" "$extra")"
                read -r c d <<<"$(measure "$OURS_PORT" "$path" "$conns" "$extra")"
            else
                read -r c d <<<"$(measure "$OURS_PORT" "$path" "$conns" "$extra")"
                read -r a b <<<"$(measure "$HB_PORT" "$path" "$conns" "$extra")"
            fi
            hr="$hr $a"; hp="$hp $b"; orr="$orr $c"; op="$op $d"
        done
        index=$((index + 1))
        H=$(echo $hr | median); HP=$(echo $hp | median); O=$(echo $orr | median); OP=$(echo $op | median)
        if [ -n "$extra" ]; then name="GET $label, new connection per request c=$conns"; else name="GET $label, keep-alive c=$conns"; fi
        ratio=$(awk -v a="$O" -v b="$H" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
        pratio=$(awk -v a="$OP" -v b="$HP" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
        verdict=$(awk -v r="$ratio" -v p="$pratio" 'BEGIN { print (r >= 1.1 && p <= 1.0) ? "goal met" : "goal missed" }')
        printf "%-44s | %8.0f %7.2fms | %8.0f %7.2fms | %sx, %sx  %s\n" "$name" "$H" "$HP" "$O" "$OP" "$ratio" "$pratio" "$verdict"
    done
done
echo "access log lines written by initlab during the run: $(grep -c 'msg=request' "$WORK/ours.stderr" || true)"
