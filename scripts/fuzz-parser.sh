#!/usr/bin/env bash
# Fuzzes HTTPServer's request parser and connection state machine with libFuzzer for SECONDS (default 120).
# Usage: scripts/fuzz-parser.sh [SECONDS]
# Builds Fuzz/ (a separate package depending on this one) with --sanitize=fuzzer, runs it from the seed
# corpus in Fuzz/corpus (new inputs go to Fuzz/.corpus-work, ignored by git), and prints executions and
# crashes. Crashers are written as Fuzz/crash-*; turn each into a regression test in Tests/HTTPServerTests.
set -euo pipefail
SECONDS_TO_RUN="${1:-120}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT/Fuzz"
mkdir -p .root .corpus-work
ln -sfn ../.. .root/InitLab
flock /tmp/initlab-swift.lock swift build --sanitize=fuzzer -c debug --scratch-path .build-fuzz --product ParserFuzzer
BIN="$(swift build --sanitize=fuzzer -c debug --scratch-path .build-fuzz --show-bin-path)/ParserFuzzer"
export SWIFT_BACKTRACE=enable=no
set +e
"$BIN" -max_total_time="$SECONDS_TO_RUN" -max_len=512 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$ROOT/Fuzz/" .corpus-work corpus 2>&1 | tee .fuzz.log | grep -E "^#[0-9]+ +(DONE|INITED|pulse)|ERROR|crash-|stat::" 
STATUS=${PIPESTATUS[0]}
set -e
echo "executions: $(grep -E 'stat::number_of_executed_units' .fuzz.log | awk '{print $2}')"
echo "crashes: $(ls "$ROOT"/Fuzz/crash-* 2>/dev/null | wc -l)"
exit "$STATUS"
