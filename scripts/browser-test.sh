#!/usr/bin/env bash
# Drives the dashboard in headless Chromium over the DevTools protocol: starts the built `initlab serve` on a
# loopback port with a temporary database, opens the page, fills the form and clicks "The lesson: Xavier vs
# Kaiming", waits for both runs' charts, re-opens the shared URL, saves artifacts/dashboard.png; then trains the
# lesson's five inits small (/?lesson=quick), checks the training curves, the heat map over the steps, the
# update ratios and the curve export links (the server's result.csv?rows=steps and plot.svg, fetched from the
# page), saves artifacts/dashboard-training.png, and opens a small training sweep to fetch its linked overlay. Fails on any JavaScript console error or exception. Needs: chromium (Debian package), node ≥ 20 (built-in WebSocket behind
# --experimental-websocket). Set INITLAB_BIN to skip the build.
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || { echo "browser-test: chromium not found (apt-get install chromium)" >&2; exit 2; }
command -v node >/dev/null || { echo "browser-test: node not found" >&2; exit 2; }

if [ -z "${INITLAB_BIN:-}" ]; then
  flock /tmp/initlab-swift.lock swift build --product initlab >/dev/null
  INITLAB_BIN="$(swift build --show-bin-path)/initlab"
fi

WORK=$(mktemp -d /tmp/initlab-browser.XXXXXX)
SERVER_PID=""
CHROME_PID=""
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    echo "browser-test: failed ($status); server log tail:" >&2
    tail -n 20 "$WORK/server.err" >&2 2>/dev/null || true
  fi
  [ -n "$CHROME_PID" ] && kill "$CHROME_PID" 2>/dev/null && wait "$CHROME_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# The server: any free loopback port, printed on stdout.
"$INITLAB_BIN" serve --host 127.0.0.1 --port 0 --database "$WORK/db.sqlite" --sse-heartbeat 1s \
  --log-level warning >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$WORK/server.out" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.err" >&2; echo "browser-test: server exited" >&2; exit 1; }
  sleep 0.1
done
PORT=$(sed -n 's/.*listening on [^:]*:\([0-9]*\).*/\1/p' "$WORK/server.out" | head -1)
[ -n "$PORT" ] || { echo "browser-test: server did not report its port" >&2; exit 1; }

# The browser: DevTools on a free port, written to DevToolsActivePort in the profile folder.
"$CHROMIUM" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
  --disable-extensions --disable-background-networking --disable-sync --metrics-recording-only \
  --user-data-dir="$WORK/profile" --remote-debugging-address=127.0.0.1 --remote-debugging-port=0 \
  --window-size=1400,1000 about:blank >"$WORK/chrome.out" 2>&1 &
CHROME_PID=$!
for _ in $(seq 1 150); do
  [ -s "$WORK/profile/DevToolsActivePort" ] && break
  kill -0 "$CHROME_PID" 2>/dev/null || { cat "$WORK/chrome.out" >&2; echo "browser-test: chromium exited" >&2; exit 1; }
  sleep 0.1
done
DEVTOOLS_PORT=$(head -1 "$WORK/profile/DevToolsActivePort")

mkdir -p artifacts
timeout 180 node --experimental-websocket --no-warnings scripts/browser-test.mjs \
  "http://127.0.0.1:$PORT" "$DEVTOOLS_PORT" artifacts/dashboard.png
