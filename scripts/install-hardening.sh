#!/usr/bin/env bash
# Installs what the hardening checks need, idempotently: cargo-fuzz (fuzz smoke), cargo-deny
# (supply chain) and libfaketime (tests/fault_clock_jump.rs). Skips whatever is already there.
set -euo pipefail

# Versions verified with the stable toolchain used here (Rust 1.95); newer ones are accepted if
# already installed.
CARGO_FUZZ_VERSION="0.13.2"
CARGO_DENY_VERSION="0.20.2"

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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
