#!/usr/bin/env bash
# Service benchmarks (loopback only, bounded in time):
#  1. GET /v1/experiments/{id} with 10,000 jobs in the store: wrk req/s and p99.
#  2. POST /v1/experiments until the queue fills: submissions per second.
#  3. The depth-100, width-512, batch-512 kaiming_normal/relu experiment end to end through the API
#     (submit, long-poll until done, fetch the result) vs `initlab run` of the same spec: the service overhead.
#
#   Benchmarks/bench_service.sh            (uses .build/release/initlab, building it if missing)
#
# Needs wrk and python3. Prints a summary; raw wrk output goes to stdout too.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${INITLAB_BIN:-.build/release/initlab}"
if [ ! -x "$BIN" ]; then flock /tmp/initlab-swift.lock swift build -c release --product initlab; fi
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)"; exit 1; }
WORK="$(mktemp -d /tmp/initlab-bench.XXXXXX)"
SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; fi
    SERVER_PID=""
}
trap 'stop_server; rm -rf "$WORK"' EXIT

start_server() {  # start_server DB [extra flags...]; sets SERVER_PID and PORT
    local db="$1"; shift
    "$BIN" serve --port 0 --database "$db" --log-level error "$@" >"$WORK/stdout" 2>"$WORK/stderr" &
    SERVER_PID=$!
    PORT=""
    for _ in $(seq 1 200); do
        PORT="$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$WORK/stdout" | head -n 1)"
        [ -n "$PORT" ] && return 0
        sleep 0.05
    done
    echo "server did not start"; cat "$WORK/stderr"; exit 1
}

# --- 1. Seed 10,000 jobs: submitted through the API (queue large, workers busy on a long first job so the rest
# stay queued), then read one of them with wrk.
DB1="$WORK/read.sqlite"
start_server "$DB1" --queue-size 20000 --workers 1
python3 - "$PORT" <<'PY' > "$WORK/seed.txt"
import http.client, json, sys
port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port)
spec = {"depth": 10, "width": 8, "batch": 4, "init": "xavier_normal", "activation": "tanh", "backward": False}
ids = []
for seed in range(10_000):
    spec["seed"] = seed
    conn.request("POST", "/v1/experiments", json.dumps(spec), {"Content-Type": "application/json"})
    response = conn.getresponse(); body = json.loads(response.read())
    assert response.status == 202, (response.status, body)
    ids.append(body["id"])
print(ids[len(ids) // 2])
PY
ID="$(tail -n 1 "$WORK/seed.txt")"
echo "== 1. GET /v1/experiments/{id} with 10,000 jobs stored (wrk -t2 -c32 -d10s)"
wrk -t2 -c32 -d10s --latency "http://127.0.0.1:$PORT/v1/experiments/$ID" | tee "$WORK/wrk-get.txt"
stop_server

# --- 2. POST until the queue fills (workers busy; capacity 5,000).
DB2="$WORK/post.sqlite"
start_server "$DB2" --queue-size 5000 --workers 1
echo "== 2. POST /v1/experiments until the queue (5,000) is full"
python3 - "$PORT" <<'PY' | tee "$WORK/post.txt"
import http.client, json, sys, time
port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port)
spec = {"depth": 10, "width": 8, "batch": 4, "init": "xavier_normal", "activation": "tanh", "backward": False}
start = time.perf_counter(); accepted = 0
while True:
    spec["seed"] = accepted
    conn.request("POST", "/v1/experiments", json.dumps(spec), {"Content-Type": "application/json"})
    response = conn.getresponse(); response.read()
    if response.status == 503: break
    assert response.status == 202, response.status
    accepted += 1
elapsed = time.perf_counter() - start
print(f"accepted {accepted} submissions in {elapsed:.2f} s = {accepted / elapsed:.0f}/s (one connection, sequential), then 503")
PY
stop_server

# --- 3. The big experiment through the API vs the CLI.
SPEC='{"depth": 100, "width": 512, "batch": 512, "seed": 0, "init": "kaiming_normal", "activation": "relu"}'
DB3="$WORK/e2e.sqlite"
start_server "$DB3"
echo "== 3. depth 100, width 512, batch 512, kaiming_normal/relu: API end to end vs initlab run"
python3 - "$PORT" "$SPEC" <<'PY' | tee "$WORK/e2e.txt"
import http.client, json, sys, time
port, spec = int(sys.argv[1]), sys.argv[2]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
start = time.perf_counter()
conn.request("POST", "/v1/experiments", spec, {"Content-Type": "application/json"})
response = conn.getresponse(); job = json.loads(response.read()); assert response.status == 202, job
etag = response.getheader("ETag")
while True:
    conn.request("GET", f"/v1/experiments/{job['id']}?wait=30", headers={"If-None-Match": etag})
    response = conn.getresponse(); body = response.read()
    etag = response.getheader("ETag") or etag
    if response.status == 200 and json.loads(body)["status"] in ("succeeded", "failed", "cancelled"):
        status = json.loads(body)["status"]; break
conn.request("GET", f"/v1/experiments/{job['id']}/result"); response = conn.getresponse(); result = response.read()
elapsed = time.perf_counter() - start
print(f"api_seconds {elapsed:.3f} status {status} result_bytes {len(result)}")
PY
stop_server
echo "$SPEC" > "$WORK/spec.json"
CLI_START=$(date +%s.%N)
"$BIN" run --spec "$WORK/spec.json" >"$WORK/run.out" 2>"$WORK/run.err" || { echo "initlab run failed:"; cat "$WORK/run.err"; }
CLI_END=$(date +%s.%N)
CLI=$(python3 -c "print(f'{$CLI_END - $CLI_START:.3f}')")
API=$(sed -n 's/^api_seconds \([0-9.]*\).*/\1/p' "$WORK/e2e.txt")
echo "cli_seconds $CLI"

echo
echo "== Summary"
echo "GET job, 10k jobs stored: $(awk '/Requests\/sec/ {print $2}' "$WORK/wrk-get.txt") req/s, p99 $(awk '$1 == "99%" {print $2}' "$WORK/wrk-get.txt")"
echo "POST until full: $(cat "$WORK/post.txt")"
echo "depth-100/512/512 kaiming_normal relu: API ${API:-?} s vs initlab run ${CLI} s"
