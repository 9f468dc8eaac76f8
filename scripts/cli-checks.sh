#!/usr/bin/env bash
# Checks the built `initlab` binary's command line (run by scripts/service-checks.sh; about 2 s):
# - `initlab serve --help` lists every setting of the table (docs/service.md) with its environment variable;
# - a bad size, duration or out-of-range value is refused, flag or environment variable, with a message that
#   names the flag and the limit, and a non-zero exit;
# - every subcommand answers --help with its usage line; an unknown one is rejected.
# Set INITLAB_BIN to the binary (default: the debug build).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${INITLAB_BIN:-.build/debug/initlab}"
WORK=$(mktemp -d /tmp/initlab-cli.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "cli-checks: FAIL: $*" >&2; failures=$((failures + 1)); }

# 1. Help lists every setting of the table, flag and variable (the table in docs/service.md is checked against
#    the code by ConfigurationTests.documentationListsEverySetting).
"$BIN" serve --help >"$WORK/help" 2>&1 || fail "serve --help exited non-zero"
help=$(tr -s ' \n' ' ' <"$WORK/help")
rows=0
while IFS='|' read -r _ flag env _; do
  flag=$(echo "$flag" | tr -d ' `'); env=$(echo "$env" | tr -d ' `')
  case "$flag" in ---*) continue ;; --*) ;; *) continue ;; esac
  rows=$((rows + 1))
  grep -q -- "$flag <" "$WORK/help" || fail "serve --help does not list $flag"
  [[ "$help" == *"Env: $env."* ]] || fail "serve --help does not name $env"
done < <(sed -n '/^| Flag | Environment/,/^$/p' docs/service.md)
[ "$rows" -ge 20 ] || fail "read only $rows settings from docs/service.md"

# 2. Bad values: refused before anything starts (exit 64, usage error), the message names the flag and the limit.
refused() {  # refused "expected text" env-assignment-or-- args...
  local expected=$1 env=$2; shift 2
  local status=0
  if [ "$env" = "--" ]; then
    "$BIN" serve --database "$WORK/db.sqlite" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null || status=$?
  else
    env "$env" "$BIN" serve --database "$WORK/db.sqlite" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null || status=$?
  fi
  [ "$status" = 64 ] || fail "serve $env $* exited $status, expected 64 (usage error)"
  grep -qF -- "$expected" "$WORK/err" || { fail "serve $env $*: stderr lacks '$expected'"; sed 's/^/    /' "$WORK/err" >&2; }
  [ ! -s "$WORK/out" ] || fail "serve $env $* printed on stdout (it must not have started)"
}
refused "The value '12XB' is invalid for '--max-memory <size>'" -- --max-memory 12XB
refused "size like 65536, 64KiB, 512MiB or 1GiB. Env: INITLAB_MAX_MEMORY" -- --max-memory 12XB
refused "The value 'soon' is invalid for '--job-timeout <duration>'" -- --job-timeout soon
refused "duration like 90, 90s, 30m, 12h, 7d or 250ms. Env: INITLAB_JOB_TIMEOUT" -- --job-timeout soon
refused "--max-body (INITLAB_MAX_BODY) must be at least 1024 bytes, got 512" -- --max-body 512
refused "--workers (INITLAB_WORKERS) must be 0...64, got 65" -- --workers 65
refused "--heartbeat-interval (INITLAB_HEARTBEAT_INTERVAL) must be 10ms or more and at most half of --lease-duration" -- --heartbeat-interval 20s
refused "--sse-heartbeat (INITLAB_SSE_HEARTBEAT) must be 10ms...10m" -- --sse-heartbeat 11m
refused "--max-memory (INITLAB_MAX_MEMORY) must be a size like 65536, 64KiB, 512MiB or 1GiB, got 'lots'" INITLAB_MAX_MEMORY=lots
refused "--retention (INITLAB_RETENTION) must be a duration like 90, 90s, 30m, 12h, 7d or 250ms, got '-1d'" INITLAB_RETENTION=-1d
refused "--log-level (INITLAB_LOG_LEVEL) must be one of trace, debug, info, notice, warning, error, critical, got 'loud'" INITLAB_LOG_LEVEL=loud

# 3. Subcommands by their usage line; ArgumentParser prints the root help (exit 0) for `unknown --help`, so an
#    unknown subcommand is checked without --help.
for sub in serve worker run schemes fetch bench submit status wait result cancel list watch; do
  out=$("$BIN" "$sub" --help 2>&1) || fail "$sub --help exited non-zero"
  grep -q "^USAGE: initlab $sub" <<<"$out" || fail "$sub --help lacks 'USAGE: initlab $sub'"
done
root=$("$BIN" --help 2>&1) || fail "--help exited non-zero"
grep -q "^USAGE: initlab <subcommand>" <<<"$root" || fail "--help lacks the root usage line"
status=0
"$BIN" unknown >"$WORK/out" 2>"$WORK/err" || status=$?
[ "$status" = 64 ] || fail "initlab unknown exited $status, expected 64"
grep -q "Unexpected argument 'unknown'" "$WORK/err" || fail "initlab unknown: stderr lacks \"Unexpected argument 'unknown'\""
# `initlab worker` needs a shared (PostgreSQL) database: refused at once with a SQLite path.
status=0
"$BIN" worker --database "$WORK/db.sqlite" >"$WORK/out" 2>"$WORK/err" </dev/null || status=$?
[ "$status" = 64 ] || fail "initlab worker with a SQLite database exited $status, expected 64"
grep -q "initlab worker needs a postgres:// --database" "$WORK/err" || fail "initlab worker with SQLite: stderr lacks the reason"

# `initlab bench experiment` (a tiny spec, one repetition): one JSON row whose phases and floor are measured,
# with 3·depth − 1 products (forward nt, backward tn, and nn below the top layer).
out=$("$BIN" bench experiment --depth 4 --width 32 --batch 16 --repeats 1 --threads 1 --json 2>&1) ||
  fail "bench experiment exited non-zero: $out"
python3 - "$out" <<'PY' || fail "bench experiment: unexpected row: $out"
import json, sys
row = json.loads(sys.argv[1])
assert row["bench"] == "experiment" and row["depth"] == 4 and row["threads"] == 1, row
assert row["products"] == 11, row["products"]
assert set(row["phase_seconds"]) == {"matmul", "statistics", "activation", "random"}, row["phase_seconds"]
assert all(v > 0 for v in row["phase_seconds"].values()), row["phase_seconds"]
assert row["floor_seconds"] > 0 and row["total_seconds"] > row["phase_seconds"]["matmul"], row
assert abs(row["ratio"] - row["total_seconds"] / row["floor_seconds"]) < 1e-9 * row["ratio"], row
PY
# `initlab bench conv` on one small layer: a JSON row with both timings; a shape whose kernel does not fit is refused.
out=$("$BIN" bench conv --shape 2:3:9:9:4:3:2:1 --repeats 1 --min-millis 1 --threads 1 --json 2>&1) ||
  fail "bench conv exited non-zero: $out"
python3 - "$out" <<'PY' || fail "bench conv: unexpected row: $out"
import json, sys
row = json.loads(sys.argv[1])
assert row["bench"] == "conv" and row["in_channels"] == 3 and row["out_channels"] == 4 and row["stride"] == 2, row
assert row["forward_seconds"] > 0 and row["backward_seconds"] > 0, row
assert abs(row["forward_gflop"] - 2 * 2 * 5 * 5 * 4 * 27 / 1e9) < 1e-12, row
PY
status=0
"$BIN" bench conv --shape 1:1:2:2:4:5:1:0 >"$WORK/out" 2>"$WORK/err" || status=$?
[ "$status" = 64 ] || fail "bench conv with a kernel larger than the image exited $status, expected 64"
grep -q "the kernel does not fit the image" "$WORK/err" || fail "bench conv: stderr lacks the reason"
table=$("$BIN" bench experiment --depth 4 --width 32 --batch 16 --repeats 1 --threads 1 2>&1) || fail "bench experiment (table) exited non-zero"
grep -q "^CPU: .*AVX-512: " <<<"$table" || fail "bench experiment's table lacks the CPU line"
grep -q "ratio total / floor" <<<"$table" || fail "bench experiment's table lacks the ratio"

# `initlab run` on a cnn, as a table: every layer names its kind and shape (a conv layer's pooled shape too).
table=$("$BIN" run --depth 3 --width 8 --batch 4 --format table \
  --architecture '{"name": "cnn", "input_shape": [2, 9, 9], "conv": [{"channels": 4, "kernel": 3, "pool": "max"}, {"channels": 6, "kernel": 2, "padding": 1}]}' 2>&1) ||
  fail "run --architecture cnn --format table exited non-zero: $table"
grep -q "dW std  shape$" <<<"$table" || fail "run (cnn, table): the header lacks the shape column"
grep -qE "^ +1 .*  conv 4×7×7 → pool 4×3×3$" <<<"$table" || fail "run (cnn, table): layer 1 lacks 'conv 4×7×7 → pool 4×3×3'"
grep -qE "^ +2 .*  conv 6×4×4$" <<<"$table" || fail "run (cnn, table): layer 2 lacks 'conv 6×4×4'"
grep -qE "^ +3 .*  dense 8$" <<<"$table" || fail "run (cnn, table): layer 3 lacks 'dense 8'"

if [ "$failures" -gt 0 ]; then
  echo "cli checks: $failures failed" >&2
  exit 1
fi
echo "cli checks: passed ($rows settings in --help, 11 refused values, 13 subcommands, worker refuses SQLite, bench experiment and conv, a cnn's shapes in run's table)"
