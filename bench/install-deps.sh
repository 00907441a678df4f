#!/usr/bin/env bash
# install-deps.sh: idempotently installs what bench/run.py needs: python3, gcc, a static libc, musl-gcc, curl.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

# Why each: python3 runs the harness and the endpoint; gcc + libc6-dev build bench/*.c statically; musl-tools
# (musl-gcc) is preferred for them because static musl programs start faster than static glibc ones; curl is
# what the hand-written loops being compared call.
needed=(python3 gcc libc6-dev musl-tools curl)
missing=()
for pkg in "${needed[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} > 0)); then
    echo "bench/install-deps.sh: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

for tool in python3 gcc musl-gcc /usr/bin/curl; do
    if command -v "$tool" >/dev/null; then
        pass "$tool"
    else
        fail "$tool" "still missing after install"
    fi
done
if [[ -e /usr/lib/x86_64-linux-gnu/libc.a || -e /usr/lib/aarch64-linux-gnu/libc.a ]]; then
    pass "static libc (libc.a)"
else
    fail "static libc (libc.a)" "missing"
fi
summary
