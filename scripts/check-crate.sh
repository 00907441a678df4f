#!/usr/bin/env bash
# The crate as crates.io and `cargo install` users would get it: `cargo package` succeeds, the
# .crate holds exactly what the allow-list below names (sources, Cargo.toml, Cargo.lock, README,
# LICENSE, CHANGELOG, the captured tables and replies the unit tests read: never pod images,
# fuzz corpora, benchmarks, examples or build output), the unpacked crate installs with
# `cargo install --locked --path` and the installed binary runs, its unit tests pass from the
# package alone, no crate in readygate's dependency tree declares a rust-version newer than
# readygate's own, and the package builds with that Rust version itself.
#
# Usage: scripts/check-crate.sh   (crates from the registry or, after `cargo fetch`, its cache)
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$repo/scripts/lib.sh"
cd "$repo" || exit 1
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
work=$(mktemp -d /tmp/readygate-crate.XXXXXX)
trap 'rm -rf "$work"' EXIT
# A target dir of its own, so the package's verify build never mixes with the checkout's.
export CARGO_TARGET_DIR=$work/target

# Files a user of the crate needs; anything else in the package is a failure.
ALLOWED='^readygate-[0-9.]+/(\.cargo_vcs_info\.json|Cargo\.toml|Cargo\.toml\.orig|Cargo\.lock|README\.md|LICENSE|CHANGELOG\.md|src/[a-z0-9_/]+\.rs|tests/data/proc-net/tcp6?|tests/data/replies/[a-z]+-[a-z-]+)$'
REQUIRED=(Cargo.toml Cargo.lock README.md LICENSE CHANGELOG.md src/main.rs src/lib.rs)

# `cargo package` refuses uncommitted changes to packaged files; CI runs from a clean clone.
echo "== cargo package" >&2
if cargo package --locked -p readygate >"$work/package.log" 2>&1; then
    pass "cargo package --locked: builds the packaged crate (verify step)"
else
    fail "cargo package --locked" "$(tail -n 5 "$work/package.log")"
    summary
    exit 1
fi
crate=$CARGO_TARGET_DIR/package/readygate-$version.crate

mapfile -t files < <(tar -tzf "$crate" | grep -v '/$')
unexpected=$(printf '%s\n' "${files[@]}" | grep -Ev "$ALLOWED")
if [[ -z $unexpected ]]; then
    pass "packaged files: all ${#files[@]} within the allow-list (sources, manifest, lock, README, LICENSE, CHANGELOG, test tables)"
else
    fail "packaged files outside the allow-list" "$(tr '\n' ' ' <<<"$unexpected")"
fi
missing=()
for f in "${REQUIRED[@]}"; do
    printf '%s\n' "${files[@]}" | grep -qx "readygate-$version/$f" || missing+=("$f")
done
if ((${#missing[@]} == 0)); then
    pass "packaged files: ${REQUIRED[*]} are there"
else
    fail "packaged files missing" "${missing[*]}"
fi

echo "== cargo install from the unpacked .crate" >&2
tar -xzf "$crate" -C "$work"
unpacked=$work/readygate-$version
if cargo install --locked --quiet --path "$unpacked" --root "$work/root" >"$work/install.log" 2>&1; then
    got=$("$work/root/bin/readygate" --version 2>&1)
    if [[ $got == "readygate $version" ]]; then
        pass "cargo install --locked --path <unpacked .crate>: the installed binary says '$got'"
    else
        fail "installed readygate --version" "'$got'"
    fi
else
    fail "cargo install --locked --path <unpacked .crate>" "$(tail -n 5 "$work/install.log")"
fi

echo "== the unit tests from the unpacked .crate" >&2
# What a distribution packager runs: the library's own tests, with only what the package holds
# (the captured tables and replies they read are in it).
# As many as the checkout's own: a package whose tests did not all build would pass with fewer.
in_tree=$(cargo test --locked --quiet --lib -p readygate -- --list 2>/dev/null | grep -c ': test$')
if cargo test --locked --quiet --lib --manifest-path "$unpacked/Cargo.toml" >"$work/unit.log" 2>&1; then
    ran=$(grep -o '[0-9]* passed' "$work/unit.log" | head -n 1)
    if [[ ${ran% passed} -gt 0 && ${ran% passed} -eq $in_tree ]]; then
        pass "cargo test --lib in the unpacked .crate: $ran, as in the checkout"
    else
        fail "cargo test --lib in the unpacked .crate" "$ran, but the checkout has $in_tree"
    fi
else
    fail "cargo test --lib in the unpacked .crate" "$(grep -E 'FAILED|panicked|error' "$work/unit.log" | head -n 5)"
fi

echo "== rust-version $msrv against the dependencies' own" >&2
# Normal and build dependencies reachable from readygate (dev-dependencies are not built by
# users); a crate without a rust-version states no minimum.
if newer=$(cargo metadata --locked --format-version 1 --manifest-path "$unpacked/Cargo.toml" 2>"$work/meta.err" |
    python3 -c '
import json, sys
msrv = tuple(int(x) for x in sys.argv[1].split("."))
meta = json.load(sys.stdin)
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
pkgs = {p["id"]: p for p in meta["packages"]}
seen, todo = set(), [meta["resolve"]["root"]]
while todo:
    node = nodes[todo.pop()]
    if node["id"] in seen:
        continue
    seen.add(node["id"])
    todo += [d["pkg"] for d in node["deps"] if any(k["kind"] != "dev" for k in d["dep_kinds"])]
def version(v):
    return tuple(int(x) for x in (v.split(".") + ["0", "0"])[:3])
too_new = ["%(name)s %(version)s needs %(rust_version)s" % pkgs[i] for i in seen
           if pkgs[i].get("rust_version") and version(pkgs[i]["rust_version"]) > version(sys.argv[1])]
print(len(seen), "; ".join(sorted(too_new)))
' "$msrv"); then
    count=${newer%% *}
    rest=${newer#* }
    if [[ -z $rest || $rest == "$count" ]]; then
        pass "rust-version $msrv: none of the $count crates readygate builds declares a newer one"
    else
        fail "rust-version $msrv: dependencies need newer Rust" "$rest"
    fi
else
    fail "cargo metadata of the unpacked crate" "$(tail -n 3 "$work/meta.err")"
fi

echo "== the unpacked crate built with Rust $msrv itself" >&2
# Declared versions say nothing of readygate's own code: a newer language or Cargo feature is
# caught only by that toolchain (scripts/install-hardening.sh installs it).
if cargo "+$msrv" check --locked --manifest-path "$unpacked/Cargo.toml" >"$work/msrv.log" 2>&1; then
    pass "rust-version $msrv: the packaged crate builds with Rust $msrv"
else
    fail "the packaged crate with Rust $msrv" "$(grep -E '^error' "$work/msrv.log" | head -n 3)"
fi

summary
