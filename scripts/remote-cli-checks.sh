#!/usr/bin/env bash
# The remote commands (`initlab submit`, `status`, `wait`, `result`, `cancel`, `list`, `watch`) against the real
# server binary on loopback (run by scripts/service-checks.sh; about 15 s): every documented exit code is
# produced by the situation it names, and the outputs are the server's (result bytes identical to the API's).
# Set INITLAB_BIN to the binary (default: the debug build).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${INITLAB_BIN:-.build/debug/initlab}"
WORK=$(mktemp -d /tmp/initlab-remote.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
failures=0
fail() { echo "remote-cli-checks: FAIL: $*" >&2; failures=$((failures + 1)); }

# start NAME ARGS...: a server on a free port; sets PORT_<NAME>.
start() {
  local name=$1; shift
  INITLAB_TOKEN= "$BIN" serve --port 0 --database "$WORK/$name.sqlite" --cache-dir "$WORK/cache" "$@" >"$WORK/$name.log" 2>&1 &
  pids+=($!)
  local port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/$name.log" | head -1)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$WORK/$name.log" >&2; echo "remote-cli-checks: server $name did not start" >&2; exit 1; }
  printf -v "PORT_$name" '%s' "$port"
}
# expect CODE DESCRIPTION COMMAND...: runs the command (stdout → $WORK/out, stderr → $WORK/err), checks its exit code.
expect() {
  local code=$1 what=$2; shift 2
  local status=0
  "$@" >"$WORK/out" 2>"$WORK/err" </dev/null || status=$?
  [ "$status" = "$code" ] || { fail "$what: exit $status, expected $code"; sed 's/^/    /' "$WORK/err" >&2; }
}

start main
export INITLAB_SERVER="http://127.0.0.1:$PORT_main"
unset INITLAB_TOKEN

# 1. Submit, wait, status, result in three formats, byte-identical to the API's.
expect 0 "submit" "$BIN" submit --depth 6 --width 32 --batch 16 --seed 7
id=$(cat "$WORK/out")
[[ "$id" =~ ^[0-9a-f-]{36}$ ]] || fail "submit printed '$id', expected an id"
expect 0 "wait (succeeded)" "$BIN" wait "$id"
grep -q "^$id  succeeded .*layers 12/12.*depth 6 × width 32, kaiming_normal, relu" "$WORK/out" || fail "wait's line: $(cat "$WORK/out")"
expect 0 "status --json" "$BIN" status "$id" --json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["status"]=="succeeded" and j["spec"]["seed"]==7, j' "$WORK/out" || fail "status --json"
expect 0 "result json" "$BIN" result "$id"
curl -sf "$INITLAB_SERVER/v1/experiments/$id/result" >"$WORK/api.json"
cmp -s "$WORK/out" "$WORK/api.json" || fail "result's bytes differ from GET /result's"
expect 0 "result table" "$BIN" result "$id" --format table
head -1 "$WORK/out" | grep -q "^layer   fwd mean" || fail "result --format table: $(head -1 "$WORK/out")"
grep -q "^forward: " "$WORK/out" || fail "result --format table has no summary"
expect 0 "result csv" "$BIN" result "$id" --format csv
[ "$(wc -l <"$WORK/out")" = 7 ] || fail "result --format csv: $(wc -l <"$WORK/out") lines, expected a header and 6 layers"
expect 64 "result --format xml" "$BIN" result "$id" --format xml

# 2. The spec flags are run's: the same flags give the same spec (and run's result equals the server's).
"$BIN" run --depth 6 --width 32 --batch 16 --seed 7 --threads 1 >"$WORK/local.json"
{ cat "$WORK/api.json"; echo; } | cmp -s "$WORK/local.json" - || fail "initlab run (one line) and the server's result differ for the same flags"

# 3. Refusals: invalid spec 65 (with the pointer), unknown id 66, no server 69.
expect 65 "submit --depth 0" "$BIN" submit --depth 0
grep -q "/depth: must be an integer 1 ... 10000, got 0" "$WORK/err" || fail "submit --depth 0 stderr: $(cat "$WORK/err")"
expect 66 "status of an unknown id" "$BIN" status 00000000-0000-0000-0000-000000000000
expect 69 "status on a closed port" "$BIN" status "$id" --server http://127.0.0.1:1
expect 64 "a bad --server" "$BIN" status "$id" --server localhost:1
grep -q "must be an http:// or https:// URL" "$WORK/err" || fail "a bad --server's message: $(cat "$WORK/err")"

# 4. A long run: wait --timeout gives 12; cancel; then wait, watch and result say cancelled (11).
expect 0 "submit (long)" "$BIN" submit --depth 1500 --width 512 --batch 512
long=$(cat "$WORK/out")
expect 12 "wait --timeout 0.5 on a long run" "$BIN" wait "$long" --timeout 0.5
expect 0 "cancel" "$BIN" cancel "$long"
grep -q "^$long  cancelled" "$WORK/out" || fail "cancel's line: $(cat "$WORK/out")"
expect 11 "wait (cancelled)" "$BIN" wait "$long"
expect 11 "watch (cancelled)" "$BIN" watch "$long"
grep -q "^cancelled" "$WORK/out" || fail "watch's last line: $(tail -1 "$WORK/out")"
expect 11 "result of a cancelled run" "$BIN" result "$long"

# 5. Watch a training run (not a terminal: one line per event): its evals, then succeeded (0).
expect 0 "submit (training)" "$BIN" submit --depth 3 --width 32 --batch 16 \
  --train '{"dataset": "teacher", "steps": 40, "optimizer": {"name": "sgd", "lr": 0.1}, "eval_every": 10, "stats_every": 20}'
train=$(cat "$WORK/out")
expect 0 "watch (training)" "$BIN" watch "$train"
[ "$(grep -c '^eval step' "$WORK/out")" = 4 ] || fail "watch printed $(grep -c '^eval step' "$WORK/out") eval lines, expected 4"
tail -1 "$WORK/out" | grep -q "^succeeded .*accuracy" || fail "watch's last line: $(tail -1 "$WORK/out")"

# 6. list: follows the pages (page size 2) to every experiment, newest first; --status filters.
expect 0 "list --all --page-size 2" "$BIN" list --all --page-size 2
[ "$(wc -l <"$WORK/out")" = 3 ] || fail "list --all: $(wc -l <"$WORK/out") lines, expected 3"
[ "$(cut -d' ' -f1 "$WORK/out" | tr '\n' ' ')" = "$train $long $id " ] || fail "list order: $(cut -d' ' -f1 "$WORK/out" | tr '\n' ' ')"
expect 0 "list --status cancelled" "$BIN" list --status cancelled --json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert [x["id"] for x in j]==[sys.argv[2]], j' "$WORK/out" "$long" || fail "list --status"

# 7. A run that fails (a 1 ms time limit): wait 10 with the error, result 10.
start limited --job-timeout 1ms
expect 0 "submit (to fail)" "$BIN" submit --depth 200 --width 256 --batch 256 --server "http://127.0.0.1:$PORT_limited"
failing=$(cat "$WORK/out")
expect 10 "wait (failed)" "$BIN" wait "$failing" --server "http://127.0.0.1:$PORT_limited"
grep -q "error: time limit" "$WORK/out" || fail "wait shows no error: $(cat "$WORK/out")"
expect 10 "result of a failed run" "$BIN" result "$failing" --server "http://127.0.0.1:$PORT_limited"

# 8. A server with a token: without it 77, with INITLAB_TOKEN 0.
token=remote-cli-checks-token-0123456789
start secured --token "$token"
expect 77 "submit without the token" "$BIN" submit --depth 2 --width 8 --batch 4 --server "http://127.0.0.1:$PORT_secured"
INITLAB_TOKEN=$token expect 0 "submit with INITLAB_TOKEN" "$BIN" submit --depth 2 --width 8 --batch 4 --server "http://127.0.0.1:$PORT_secured"

if [ "$failures" -gt 0 ]; then
  echo "remote-cli-checks: $failures failure(s)" >&2
  exit 1
fi
echo "remote-cli-checks: all passed"
