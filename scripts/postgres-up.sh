#!/usr/bin/env bash
# Starts a PostgreSQL 15 cluster on 127.0.0.1 for the tests (as root): installs Debian's `postgresql` when it
# is missing, creates and starts cluster 15/main when needed, creates the role `initlab` (password `initlab`)
# and the database `initlab_test`, then prints the URL for INITLAB_TEST_POSTGRES_URL on stdout.
# Usage: export INITLAB_TEST_POSTGRES_URL="$(scripts/postgres-up.sh)"
set -euo pipefail
# Only the URL goes to stdout: `setup` runs with its stdout on stderr, so nothing the tools print on some
# machine (a pg_ctlcluster or su notice) can end up inside INITLAB_TEST_POSTGRES_URL. No extra descriptor may
# carry the caller's stdout into `setup`: the PostgreSQL daemon that `pg_ctlcluster start` leaves behind
# inherits every open descriptor but 0-2, so a copy of stdout on fd 3 kept `$(scripts/postgres-up.sh)` waiting
# for an EOF that never came (CI hung for 90 minutes). Bash saves the stdout it redirects for `setup` on a
# close-on-exec descriptor, which no exec'd program inherits; the daemon also gets /dev/null on stdin and
# stdout.

setup() {

if [ "$(id -u)" != 0 ]; then
    echo "postgres-up.sh: needs root (pg_ctlcluster and su postgres)" >&2
    exit 2
fi
if [ ! -x /usr/lib/postgresql/15/bin/postgres ] || ! command -v pg_ctlcluster >/dev/null; then
    echo "postgres-up.sh: installing postgresql" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
if ! pg_lsclusters -h | awk '$1 == 15 && $2 == "main"' | grep -q .; then
    pg_createcluster 15 main >/dev/null
fi
port="$(pg_lsclusters -h | awk '$1 == 15 && $2 == "main" { print $3; exit }')"
case "$port" in
    '' | *[!0-9]*) echo "postgres-up.sh: cluster 15/main has no usable port ('$port'); pg_lsclusters says:" >&2
        pg_lsclusters >&2; exit 1 ;;
esac
if ! pg_lsclusters -h | awk '$1 == 15 && $2 == "main" { print $4 }' | grep -q online; then
    pg_ctlcluster 15 main start </dev/null >/dev/null
fi
for _ in $(seq 1 50); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 0.2
done
pg_isready -q -h 127.0.0.1 -p "$port" || { echo "postgres-up.sh: the cluster did not come up on port $port" >&2; exit 1; }

psql_admin() { su postgres -c "psql -p $port -qtAc \"$1\""; }
[ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = 'initlab'")" = 1 ] ||
    psql_admin "CREATE ROLE initlab LOGIN PASSWORD 'initlab' CREATEDB"
[ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = 'initlab_test'")" = 1 ] ||
    su postgres -c "createdb -p $port -O initlab initlab_test"
}

port=
setup >&2
echo "postgres://initlab:initlab@127.0.0.1:$port/initlab_test"
