#!/usr/bin/env bash
# install-deps.sh: idempotently installs what bench/run.py needs: python3, gcc, a static libc, musl-gcc, curl.
set -euo pipefail

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

failed=0
for tool in python3 gcc musl-gcc /usr/bin/curl; do
    if ! command -v "$tool" >/dev/null; then
        echo "bench/install-deps.sh: $tool still missing after install" >&2
        failed=$((failed + 1))
    fi
done
if [[ ! -e /usr/lib/x86_64-linux-gnu/libc.a && ! -e /usr/lib/aarch64-linux-gnu/libc.a ]]; then
    echo "bench/install-deps.sh: static libc (libc.a) missing" >&2
    failed=$((failed + 1))
fi
echo "$((5 - failed)) passed, $failed failed"
((failed == 0))
