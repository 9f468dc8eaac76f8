#!/usr/bin/env bash
# The Python client's tests (clients/python) against the real server binary: pytest starts
# `$INITLAB_BIN serve` on a free loopback port with a temporary database, and runs the example notebook headless.
#
#   INITLAB_BIN=.build/debug/initlab scripts/python-client-tests.sh [--figure] [PYTEST ARGS...]
#
# --figure also refreshes docs/python-client-lesson.png from the notebook's run.
# Installs the client with its extras, pytest, PyYAML, nbclient and ipykernel into
# ${INITLAB_PY_VENV:-/tmp/initlab-pyclient-venv} (needs python3 with venv; PyPI). About 30 s once installed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${INITLAB_PY_VENV:-/tmp/initlab-pyclient-venv}"
BIN="${INITLAB_BIN:-.build/debug/initlab}"
case "$BIN" in /*) ;; *) BIN="$PWD/$BIN" ;; esac
if [ ! -x "$BIN" ]; then
    echo "python-client-tests: no server binary at $BIN (set INITLAB_BIN)" >&2
    exit 2
fi
if [ "${1:-}" = "--figure" ]; then
    shift
    export INITLAB_LESSON_FIGURE="$PWD/docs/python-client-lesson.png"
fi

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
fi
# Reinstalled every run (seconds): the tests must see this tree's client, not an older copy in the venv.
"$VENV/bin/pip" install --quiet --disable-pip-version-check "./clients/python[all,test]"
if ! "$VENV/bin/python" -m jupyter_client.kernelspecapp list 2>/dev/null | grep -q '^ *python3 '; then
    "$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null
fi

cd clients/python
INITLAB_BIN="$BIN" MPLBACKEND=Agg "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
