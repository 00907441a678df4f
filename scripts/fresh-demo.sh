#!/usr/bin/env bash
# The README's first command as a newcomer meets it: clones this checkout's HEAD into a temporary
# directory and runs `bash scripts/demo.sh` there with an empty CARGO_HOME and a fresh target dir,
# so cargo must download every crate from the registry. Catches a demo that only works where
# crates happen to be cached (e.g. one that builds inside a network namespace).
# Usage: scripts/fresh-demo.sh   (needs network access to crates.io; rustup's toolchain stays)
set -euo pipefail

repo=$(git -C "$(dirname "${BASH_SOURCE[0]}")/.." rev-parse --show-toplevel)
head=$(git -C "$repo" rev-parse HEAD)
# The toolchain's own cargo/rustc, so the empty CARGO_HOME has no rustup proxies to rely on;
# RUSTUP_HOME is left alone, so the toolchain itself is not downloaded again.
cargo_bin=$(rustup which cargo)
work=$(mktemp -d /tmp/readygate-fresh-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT

git clone --quiet --no-local "$repo" "$work/readygate"
git -C "$work/readygate" -c advice.detachedHead=false checkout --quiet "$head"
mkdir "$work/cargo-home"
echo "fresh-demo: $head in $work/readygate, CARGO_HOME=$work/cargo-home (empty)" >&2

rc=0
(
    cd "$work/readygate"
    unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR
    env CARGO_HOME="$work/cargo-home" PATH="$(dirname "$cargo_bin"):$PATH" bash scripts/demo.sh
) >"$work/demo.log" 2>&1 || rc=$?
out=$(cat "$work/demo.log")
printf '%s\n' "$out" | tail -n 12 >&2

# The demo must have fetched crates (else this check proves nothing) and shown both parts.
fetched=$(find "$work/cargo-home/registry/cache" -name '*.crate' 2>/dev/null | wc -l)
ok=1
if ((rc != 0)); then echo "fresh-demo: scripts/demo.sh exited $rc" >&2; ok=0; fi
if ((fetched == 0)); then echo "fresh-demo: no crate was downloaded into the empty CARGO_HOME" >&2; ok=0; fi
if ! grep -q '^app: started' <<<"$out"; then echo "fresh-demo: part 1 never started the app" >&2; ok=0; fi
if ! grep -q 'readygate exited 3 ' <<<"$out"; then echo "fresh-demo: part 2 did not keep the job's status 3" >&2; ok=0; fi
echo "fresh-demo: $fetched crates downloaded; demo exit $rc" >&2
((ok))
