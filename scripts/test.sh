#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs (idempotently), then runs
# formatting, lints and every test. `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "toolchain components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

step "unit and integration tests"
cargo test --locked
