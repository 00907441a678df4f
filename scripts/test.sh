#!/usr/bin/env bash
# The whole test suite from a fresh machine (Debian, root): installs what it needs, idempotently,
# then runs formatting, lints, the unit and integration tests (readygate and the mock sidecar),
# the static builds, the images with their SBOMs, the scratch-root check, the packaging checks,
# the crate as published, the real-Envoy end-to-end suite, the pods, the compose example, the
# README's first command from a fresh clone, the dependency licence check, the fuzz smoke and the
# benchmark smoke. `.ci/run` runs exactly this. Every stage runs even if an earlier one failed, so
# one run shows every problem; the exit code is non-zero if any stage failed.
#
#   READYGATE_TOOLS   where virtualenvs and tools go (default ~/.cache/readygate-tools)
#   READYGATE_STAGES  space-separated subset of stages to run (default: all)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export READYGATE_TOOLS="${READYGATE_TOOLS:-$HOME/.cache/readygate-tools}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# The install stage brings every prerequisite, so a test that finds one missing must fail, not
# skip and count as passed: that is what CI=true tells the tests (tests/support/os.rs can_run),
# and the README's test command means it on a developer's machine as much as in CI.
export CI=true
export PATH="$HOME/.cargo/bin:$PATH"

STATIC_BIN="target/x86_64-unknown-linux-musl/release/readygate"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# stage NAME COMMAND...: runs one stage (unless READYGATE_STAGES leaves it out) and counts it.
stage() {
    local name=$1
    shift
    if [[ -n ${READYGATE_STAGES:-} && " $READYGATE_STAGES " != *" $name "* ]]; then
        return 0
    fi
    printf '\n==> %s: %s\n' "$name" "$*" >&2
    local start=$SECONDS
    if "$@"; then
        pass "$name ($((SECONDS - start))s)"
    else
        fail "$name" "exit $? after $((SECONDS - start))s"
    fi
}

install() {
    rustup component add rustfmt clippy >/dev/null 2>&1 || { echo "rustup component add failed" >&2; return 1; }
    bash scripts/install-packaging.sh &&
        bash scripts/install-e2e.sh >/dev/null &&
        bash scripts/install-hardening.sh &&
        bash bench/install-deps.sh &&
        bash scripts/install-pods.sh &&
        # Every platform's crates, so `cargo deny --offline` below can read their metadata (an
        # empty cargo cache has none of the Windows-only ones the lock file lists).
        cargo fetch --locked
}

# Formatting of both workspaces: the product's and the fuzz targets' (a workspace of its own).
fmt_all() {
    cargo fmt --all -- --check && cargo fmt --all --manifest-path fuzz/Cargo.toml -- --check
}

# The images of both binaries with their SBOMs, then what they hold (scripts/check-images.sh).
images() {
    bash scripts/build-image.sh && bash scripts/check-images.sh
}

stage install install
stage fmt fmt_all
stage clippy cargo clippy --workspace --all-targets --locked -- -D warnings
stage tests cargo test --workspace --locked --no-fail-fast
stage static-build bash scripts/build-static.sh
stage images images
stage scratch-root bash tests/scratch/run.sh "$STATIC_BIN"
stage packaging bash scripts/check-packaging.sh
stage crate bash scripts/check-crate.sh
stage e2e-envoy bash tests/e2e/envoy/run.sh "$STATIC_BIN"
stage pods bash tests/pods/run.sh
stage compose bash tests/compose/run.sh
stage fresh-demo bash scripts/fresh-demo.sh
stage supply-chain cargo deny --offline check licenses bans sources
stage fuzz-smoke bash scripts/fuzz-smoke.sh
stage bench-smoke python3 bench/run.py --readygate "$STATIC_BIN" --smoke

printf '\n' >&2
# The plain closing line CI reads: stages, not individual tests (each runner printed its own).
if tally=$(summary); then status=0; else status=1; fi
printf 'stages: %s\n' "$tally"
((status == 0))
