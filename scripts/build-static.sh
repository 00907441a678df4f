#!/usr/bin/env bash
# Builds readygate and the mock sidecar as fully static musl binaries (x86_64 and aarch64) with
# `cargo auditable`, so each embeds the list of crates compiled into it (the `.dep-v0` section
# that cargo audit, Trivy, Grype and Syft read); proves they are static, reads that list back
# (scripts/sbom.py), prints their sizes (readygate's x86_64 one must fit its 1 MiB budget), and
# smoke-runs the aarch64 readygate under qemu-aarch64-static.
#
# Usage: scripts/build-static.sh            (from anywhere; builds the checkout this script is in)
#   READYGATE_SRC=DIR   build another checkout instead (e.g. a clean snapshot)
#   CARGO_TARGET_DIR    honoured as usual
# Outputs: $CARGO_TARGET_DIR/{x86_64,aarch64}-unknown-linux-musl/release/{readygate,mock-sidecar}
# Needs cargo-auditable and rust-audit-info (scripts/install-hardening.sh installs both).
# Under CI=true every check is mandatory (a missing qemu is a failure, not a skip).
set -euo pipefail

SRC="${READYGATE_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
TARGET_DIR="${CARGO_TARGET_DIR:-$SRC/target}"
X86=x86_64-unknown-linux-musl
ARM=aarch64-unknown-linux-musl
# rust-lld ships with rustup and links both musl targets against their self-contained libc/crt,
# so no cross gcc is needed; the Dockerfile uses the same linker for the same reason.
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER="${CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER:-rust-lld}"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER="${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER:-rust-lld}"

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
skip() {
    if [[ "${CI:-}" == "true" ]]; then
        fail "$* (CI=true: a missing prerequisite is a failure)"
    else
        printf '  skipped: %s\n' "$*" >&2
    fi
}
smoke=""
# The counts close every run, however it ends; the status is the summary's unless the script
# stopped early with its own.
# shellcheck disable=SC2317  # only called from the EXIT trap
on_exit() {
    local status=$?
    [[ -n $smoke ]] && rm -rf "$smoke"
    summary || ((status)) || status=1
    exit "$status"
}
trap on_exit EXIT

need() { command -v "$1" >/dev/null 2>&1; }

# is_static BIN ARCH_REGEX: `file` must name the architecture and say static, and the ELF must
# have no PT_INTERP (no dynamic loader) and no DT_NEEDED (no shared libraries).
is_static() {
    local bin=$1 arch=$2 desc
    desc=$(file -b "$bin")
    printf '  file: %s\n' "$desc"
    if ! [[ $desc =~ $arch ]]; then
        echo "  wrong architecture (want $arch)"
        return 1
    fi
    if ! [[ $desc =~ (static-pie linked|statically linked) ]]; then
        echo "  file(1) does not call it static"
        return 1
    fi
    if readelf -lW "$bin" | grep -q 'INTERP'; then
        echo "  has a PT_INTERP program header (needs a dynamic loader)"
        return 1
    fi
    if readelf -dW "$bin" 2>/dev/null | grep -q '(NEEDED)'; then
        echo "  has DT_NEEDED entries:"
        readelf -dW "$bin" | grep '(NEEDED)'
        return 1
    fi
}

# report_size BIN: size of the stripped binary (the release profile strips; strip a copy if not).
report_size() {
    local bin=$1 tmp bytes
    if file -b "$bin" | grep -q 'not stripped'; then
        tmp=$(mktemp)
        strip -o "$tmp" "$bin"
        bytes=$(stat -c %s "$tmp")
        rm -f "$tmp"
    else
        bytes=$(stat -c %s "$bin")
    fi
    printf '  stripped size: %d bytes (%d KiB)\n' "$bytes" "$(((bytes + 1023) / 1024))"
    SIZE=$bytes
}

# The product's footprint budget (issue 2, checked again by the benchmark harness).
SIZE_BUDGET=$((1024 * 1024))
SIZE=0

for tool in cargo rustup file readelf strip python3; do
    need "$tool" || { fail "prerequisite '$tool' not found (run scripts/install-packaging.sh)"; exit 1; }
done
for tool in cargo-auditable rust-audit-info; do
    need "$tool" || { fail "prerequisite '$tool' not found (run scripts/install-hardening.sh)"; exit 1; }
done
cd "$SRC"

# build TARGET PACKAGE: one package per cargo invocation, so the mock's features (hyper's server,
# clap) are never unified into readygate's build.
build() {
    cargo auditable build --release --locked --target "$1" -p "$2"
}
# embedded BIN REQUIRED FORBIDDEN: the crate list read back out of BIN names every crate in
# REQUIRED (comma-separated) and none in FORBIDDEN.
embedded() {
    local out
    if out=$(python3 "$SRC/scripts/sbom.py" deps "$1" --require "$2" --forbid "$3" 2>&1); then
        pass "$(basename "$1") ($(file -b "$1" | cut -d, -f2 | xargs)) embeds its crate list: $out"
    else
        fail "$1: embedded crate list" "$out"
    fi
}
# The mock's own crates must not be in readygate (a unified build would put them there).
RG_REQUIRED=readygate,tokio,hyper
RG_FORBIDDEN=clap,readygate-mock-sidecar
MOCK_REQUIRED=readygate-mock-sidecar,tokio,hyper,clap

echo "== rustup targets"
if rustup target add "$X86" "$ARM" >/dev/null 2>&1; then
    pass "rustup target add $X86 $ARM"
else
    fail "rustup target add $X86 $ARM"
    exit 1
fi

echo "== $X86"
x86_bin="$TARGET_DIR/$X86/release/readygate"
if build "$X86" readygate; then
    if is_static "$x86_bin" 'x86-64'; then
        pass "$X86 binary is static: $x86_bin"
    else
        fail "$X86 binary is not static: $x86_bin"
    fi
    report_size "$x86_bin"
    if ((SIZE <= SIZE_BUDGET)); then
        pass "$X86 stripped size $SIZE bytes is within the $SIZE_BUDGET-byte budget"
    else
        fail "$X86 stripped size $SIZE bytes exceeds the $SIZE_BUDGET-byte budget"
    fi
    if "$x86_bin" --version; then pass "$X86 --version runs"; else fail "$X86 --version"; fi
    embedded "$x86_bin" "$RG_REQUIRED" "$RG_FORBIDDEN"
else
    fail "cargo auditable build --target $X86 -p readygate"
fi

echo "== $ARM"
arm_bin="$TARGET_DIR/$ARM/release/readygate"
if build "$ARM" readygate; then
    if is_static "$arm_bin" 'ARM aarch64'; then
        pass "$ARM binary is static: $arm_bin"
    else
        fail "$ARM binary is not static: $arm_bin"
    fi
    report_size "$arm_bin"
    embedded "$arm_bin" "$RG_REQUIRED" "$RG_FORBIDDEN"
else
    fail "cargo auditable build --target $ARM -p readygate"
    exit 1
fi

# The mock sidecar's image binaries: static like readygate's, no size budget (it is a test tool).
for target in "$X86" "$ARM"; do
    echo "== mock-sidecar, $target"
    mock_bin="$TARGET_DIR/$target/release/mock-sidecar"
    arch_re='x86-64'
    [[ $target == "$ARM" ]] && arch_re='ARM aarch64'
    if build "$target" readygate-mock-sidecar; then
        if is_static "$mock_bin" "$arch_re"; then
            pass "$target mock-sidecar is static: $mock_bin"
        else
            fail "$target mock-sidecar is not static: $mock_bin"
        fi
        report_size "$mock_bin"
        embedded "$mock_bin" "$MOCK_REQUIRED" ""
    else
        fail "cargo auditable build --target $target -p readygate-mock-sidecar"
    fi
done

echo "== $ARM under qemu-aarch64-static"
if ! need qemu-aarch64-static; then
    skip "qemu-aarch64-static not installed (Debian package qemu-user-static): aarch64 binary not run"
    exit 0 # the summary sets the status
fi
if ! need unshare || ! need python3; then
    skip "unshare or python3 missing: aarch64 wait not run"
    exit 0 # the summary sets the status
fi
if ver=$(qemu-aarch64-static "$arm_bin" --version 2>&1); then
    pass "aarch64 --version under qemu: $ver"
else
    fail "aarch64 --version under qemu failed: $ver"
fi

# One real wait, inside a private network namespace so the port is ours alone: first against a
# port nobody listens on (must give up with 69), then against a local HTTP server (must exit 0).
# Inner script's exit code: 0 both right, 10 = no-listener case wrong, 20 = listener case wrong.
smoke=$(mktemp -d)
cat >"$smoke/inner.sh" <<'INNER'
set -euo pipefail
bin=$1 dir=$2
ip link set lo up
server=""
trap '[[ -n $server ]] && kill "$server" 2>/dev/null; wait 2>/dev/null || true' EXIT
rc=0
qemu-aarch64-static "$bin" --url http://localhost:18080/ --timeout 1s 2>"$dir/no-listener.err" || rc=$?
if [[ $rc -ne 69 ]]; then
    echo "  no listener: exit $rc, expected 69"; cat "$dir/no-listener.err"; exit 10
fi
echo "  no listener: gave up with 69 as expected"
python3 -m http.server --bind 127.0.0.1 --directory "$dir" 18080 >/dev/null 2>&1 &
server=$!
deadline=$((SECONDS + 10))
until (exec 3<>/dev/tcp/127.0.0.1/18080) 2>/dev/null; do
    ((SECONDS < deadline)) || { echo "  http.server did not start"; exit 20; }
    sleep 0.05
done
rc=0
qemu-aarch64-static "$bin" --url http://localhost:18080/ --timeout 10s 2>"$dir/listener.err" || rc=$?
if [[ $rc -ne 0 ]]; then
    echo "  listener up: exit $rc, expected 0"; cat "$dir/listener.err"; exit 20
fi
echo "  listener up: ready, exit 0"
INNER
rc=0
unshare -n bash "$smoke/inner.sh" "$arm_bin" "$smoke" || rc=$?
case $rc in
    0) pass "aarch64 waits under qemu (69 with no listener, 0 once http://localhost:18080/ answers 200)" ;;
    10 | 20) fail "aarch64 wait under qemu gave the wrong exit code (see above)" ;;
    *) fail "aarch64 smoke could not run (unshare -n needs root/CAP_SYS_ADMIN; exit $rc)" ;;
esac
exit 0 # the summary sets the status
