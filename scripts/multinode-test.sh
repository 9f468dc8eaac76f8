#!/usr/bin/env bash
# Multi-node test over real processes on loopback: PostgreSQL, 2 API nodes, 3 worker processes; kill -9 of a
# worker and an API node mid-run, a SIGSTOP lease expiry, idempotency races and a cancel across nodes, and a
# database restart, and a dataset fetched on one API node reaching workers that each have their own cache
# (scripts/multinode_test.py says what each phase checks).
# Usage: scripts/multinode-test.sh            (as root: starts PostgreSQL with scripts/postgres-up.sh)
#        INITLAB_MULTINODE_URL=postgres://… scripts/multinode-test.sh   (an existing, empty database)
# INITLAB_BIN picks the binary (default: the debug build, built first); INITLAB_MULTINODE_JOBS the job count.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${INITLAB_MULTINODE_URL:-}" ]; then
    base="$(scripts/postgres-up.sh)"
    su postgres -c "dropdb --if-exists -f initlab_multinode" >/dev/null
    su postgres -c "createdb -O initlab initlab_multinode"
    INITLAB_MULTINODE_URL="${base%/*}/initlab_multinode"
fi
if [ -z "${INITLAB_BIN:-}" ]; then
    flock /tmp/initlab-swift.lock swift build --product initlab >&2
    INITLAB_BIN="$(swift build --show-bin-path)/initlab"
fi
export INITLAB_MULTINODE_URL INITLAB_BIN
exec python3 scripts/multinode_test.py
