#!/usr/bin/env bash
# Contract test: start the real server on a free loopback port with a temporary database and a bearer token,
# then run Schemathesis (all checks) against openapi.yaml. Fails on any finding.
#
#   scripts/schemathesis.sh [MAX_EXAMPLES] [MAX_SECONDS]     (defaults: 30 examples, 240 s)
# One Schemathesis worker: with two, Hypothesis (on CPython 3.11) can crash describing a lambda ("AST
# constructor recursion depth mismatch"), an error in the tool, not a finding.
#
# Needs python3 with venv; installs schemathesis into ${INITLAB_VENV:-/tmp/initlab-venv}. Uses
# ${INITLAB_BIN:-.build/debug/initlab}, building it (under the shared build lock) if missing.
# One Schemathesis worker: with two, Hypothesis (CPython 3.11) can crash describing a lambda ("AST constructor
# recursion depth mismatch"), an error in the tool, not a finding.
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_EXAMPLES="${1:-30}"
MAX_SECONDS="${2:-240}"
VENV="${INITLAB_VENV:-/tmp/initlab-venv}"
BIN="${INITLAB_BIN:-.build/debug/initlab}"

if [ ! -x "$VENV/bin/schemathesis" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet 'schemathesis>=4,<5'
fi
if [ ! -x "$BIN" ]; then
    flock /tmp/initlab-swift.lock swift build --product initlab
fi

WORK="$(mktemp -d /tmp/initlab-schemathesis.XXXXXX)"
TOKEN="schemathesis-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# Small budgets keep the experiments that Schemathesis gets accepted short (bigger ones are a documented 422).
# Datasets: a private cache; Fashion-MNIST from Debian's folder, MNIST from an empty folder (its fetch fails at
# once instead of reaching for the network).
mkdir -p "$WORK/no-mnist"
"$BIN" serve --port 0 --database "$WORK/db.sqlite" --token "$TOKEN" --queue-size 100000 \
    --cache-dir "$WORK/cache" --dataset-mirror "fashion-mnist=/usr/share/datasets/fashion-mnist" \
    --dataset-mirror "mnist=$WORK/no-mnist" \
    --max-flops 2e8 --max-memory 64MiB --job-timeout 30s --log-level warning \
    >"$WORK/stdout" 2>"$WORK/stderr" &
SERVER_PID=$!
PORT=""
for _ in $(seq 1 100); do
    PORT="$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$WORK/stdout" | head -n 1)"
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/stderr"; echo "server failed to start"; exit 1; }
    sleep 0.1
done
[ -n "$PORT" ] || { echo "server did not report its port"; exit 1; }
echo "server on 127.0.0.1:$PORT (pid $SERVER_PID)"

export INITLAB_SCHEMATHESIS_TOKEN="$TOKEN"
status=0
"$VENV/bin/schemathesis" --config-file schemathesis.toml run openapi.yaml \
    --url "http://127.0.0.1:$PORT" \
    --checks all \
    --max-examples "$MAX_EXAMPLES" \
    --max-time "$MAX_SECONDS" \
    --header "Authorization: Bearer $TOKEN" \
    --request-timeout 70 \
    --workers 1 \
    --seed 20261129 \
    --no-color || status=$?

if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "the server died during the run:"
    tail -n 40 "$WORK/stderr"
    status=1
fi
exit "$status"
