#!/usr/bin/env bash
# Fuzz smoke: runs every cargo-fuzz target in fuzz/ for a bounded time; fails on any crash.
#
# FUZZ_SECONDS (default 20) is the time per target; FUZZ_TARGETS (space-separated) picks a subset.
# Needs cargo-fuzz (scripts/install-hardening.sh). The toolchain is stable: RUSTC_BOOTSTRAP=1 lets
# it accept the -Z flags cargo-fuzz passes (sanitizer, coverage instrumentation).
# A crash leaves its input in fuzz/artifacts/TARGET/; replay it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET fuzz/artifacts/TARGET/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/lib.sh
source scripts/lib.sh

seconds="${FUZZ_SECONDS:-20}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    fail "cargo-fuzz is missing; run scripts/install-hardening.sh"
    summary || exit 1
fi

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

read -r -a targets <<<"${FUZZ_TARGETS:-$(cargo fuzz list | tr '\n' ' ')}"

echo "==> building ${#targets[@]} fuzz targets" >&2
cargo fuzz build >&2

for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    seeds=()
    [[ -d "fuzz/seeds/$target" ]] && seeds=("fuzz/seeds/$target")
    echo "==> $target for ${seconds}s" >&2
    # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: a leak or runaway allocation.
    if cargo fuzz run "$target" "fuzz/corpus/$target" "${seeds[@]}" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -max_len=4096 \
        -print_final_stats=1 >"$logs/$target.log" 2>&1; then
        runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logs/$target.log" | grep -o '[0-9]*$' || true)"
        pass "$target (${runs:-?} inputs)"
    else
        fail "$target" "see below; the input is in fuzz/artifacts/$target/"
        tail -n 40 "$logs/$target.log" >&2
    fi
done

summary
