#!/usr/bin/env bash
# Installs what the hardening checks need, idempotently: cargo-fuzz (fuzz smoke), cargo-deny
# (supply chain), the rust-version toolchain (scripts/check-crate.sh), cargo-auditable (the
# shipped binaries embed their dependency list: see scripts/build-static.sh), rust-audit-info
# (reads that list back out: scripts/sbom.py) and libfaketime (tests/fault_clock_jump.rs). Skips
# whatever is already there.
set -euo pipefail

# Versions verified with the stable toolchain used here (Rust 1.95); newer ones are accepted if
# already installed.
CARGO_FUZZ_VERSION="0.13.2"
CARGO_DENY_VERSION="0.20.2"
# Pinned exactly: the embedded format and its reader come from the same project and release line.
CARGO_AUDITABLE_VERSION="0.7.7"
RUST_AUDIT_INFO_VERSION="0.5.4"

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The toolchain of readygate's rust-version, so scripts/check-crate.sh can build the packaged crate
# with it (a minimal profile: rustc, cargo and std only).
msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' "$(dirname "${BASH_SOURCE[0]}")/../Cargo.toml" | head -n 1)
if rustup run "$msrv" rustc --version >/dev/null 2>&1; then
    pass "Rust $msrv present (the rust-version)"
elif rustup toolchain install "$msrv" --profile minimal >/dev/null; then
    pass "Rust $msrv installed (the rust-version)"
else
    fail "rustup toolchain install $msrv"
fi

if cargo fuzz --version >/dev/null 2>&1; then
    pass "cargo-fuzz present ($(cargo fuzz --version))"
elif cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"; then
    pass "cargo-fuzz $CARGO_FUZZ_VERSION installed"
else
    fail "cargo install cargo-fuzz"
fi

if cargo deny --version >/dev/null 2>&1; then
    pass "cargo-deny present ($(cargo deny --version))"
elif cargo install cargo-deny --locked --version "$CARGO_DENY_VERSION"; then
    pass "cargo-deny $CARGO_DENY_VERSION installed"
else
    fail "cargo install cargo-deny"
fi

# installed_version CRATE: the version `cargo install` recorded for CRATE, or nothing.
installed_version() {
    cargo install --list 2>/dev/null | sed -n "s/^$1 v\([0-9.]*\):\$/\1/p"
}
# install_exact CRATE VERSION: these two must be the pinned release, not just any.
install_exact() {
    local crate=$1 version=$2
    if [[ $(installed_version "$crate") == "$version" ]]; then
        pass "$crate $version present"
    elif cargo install "$crate" --locked --version "$version"; then
        pass "$crate $version installed"
    else
        fail "cargo install $crate $version"
    fi
}
install_exact cargo-auditable "$CARGO_AUDITABLE_VERSION"
install_exact rust-audit-info "$RUST_AUDIT_INFO_VERSION"

libfaketime_present() {
    compgen -G "/usr/lib/*/faketime/libfaketime.so.1" >/dev/null
}
if libfaketime_present; then
    pass "libfaketime present"
else
    if [[ "$(id -u)" -eq 0 ]]; then
        # Failures show up as the check below failing.
        if apt-get update -qq; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null || true
        fi
    fi
    if libfaketime_present; then
        pass "libfaketime installed (apt faketime)"
    else
        fail "libfaketime (apt-get install faketime, as root)"
    fi
fi

summary
