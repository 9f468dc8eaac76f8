# Sourced by scripts/serve and scripts/test: the one list of the system packages the build links, and the one
# way they are installed when missing (as root, with apt-get; otherwise a message naming them and exit 2).

# The Debian packages the build needs that this machine lacks (the Swift toolchain aside).
missing_build_packages() {
    command -v pkg-config >/dev/null 2>&1 || echo pkg-config
    pkg-config --exists libcurl 2>/dev/null || echo libcurl4-openssl-dev
    pkg-config --exists zlib 2>/dev/null || echo zlib1g-dev
    pkg-config --exists sqlite3 2>/dev/null || echo libsqlite3-dev
}

# install_packages CALLER PACKAGE...: installs the given packages (none: nothing to do).
install_packages() {
    local caller=$1; shift
    [ $# -gt 0 ] || return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "$caller: installing $*" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    else
        echo "$caller: missing system packages: $* (apt-get install them, or run this as root)" >&2
        exit 2
    fi
}
