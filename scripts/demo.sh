#!/usr/bin/env bash
# Quick start: builds readygate and the mock sidecar (mock-sidecar/), then shows the gate
# holding a command until the sidecar is ready, and Job mode quitting the sidecar afterwards.
# As root the demo part runs in a private network namespace, so the mesh ports are surely free.
# The build runs first, outside it: cargo may have to download crates, and a private namespace
# has no route to the registry (scripts/fresh-demo.sh checks exactly that from a fresh clone).
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}

if [[ -z ${READYGATE_DEMO_NETNS:-} ]]; then
    # One package at a time: built together, their features would be unified (see Cargo.toml).
    cargo build --release --locked -p readygate
    cargo build --release --locked -p readygate-mock-sidecar
    if [[ $(id -u) -eq 0 ]] && unshare -n true 2>/dev/null; then
        # shellcheck disable=SC2016 # $0 is expanded by the inner bash, on purpose
        exec env READYGATE_DEMO_NETNS=1 unshare -n bash -c 'ip link set lo up && exec bash "$0"' "$0"
    fi
fi

gate=$target_dir/release/readygate
mock=$target_dir/release/mock-sidecar
mock_pid=""
# The mock logs every request on stdout; the demo shows its first 503 and every other line.
first_503_only() { awk '!/" 503 "/ || !seen++ { print; fflush() }'; }
trap '[[ -n $mock_pid ]] && kill "$mock_pid" 2>/dev/null; wait 2>/dev/null || true' EXIT

echo
echo "--- 1. The sidecar (mock Istio on :15020) answers 503 for 2 s; readygate holds the app until 200."
"$mock" --preset istio --not-ready-for 2s > >(first_503_only) &
mock_pid=$!
"$gate" -- sh -c 'echo "app: started; the proxy can carry my traffic"'
kill "$mock_pid"
wait "$mock_pid" 2>/dev/null || true

echo
echo "--- 2. Job mode: the job runs, readygate POSTs /quitquitquit so the sidecar exits, the job's code is kept."
"$mock" --preset istio --refuse-for 1s &
mock_pid=$!
status=0
"$gate" --shutdown -- sh -c 'echo "job: done"; exit 3' || status=$?
echo "readygate exited $status (the job's own status)"
# Bounded: if the quit did not reach it, the mock would serve for ever.
for _ in $(seq 50); do kill -0 "$mock_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$mock_pid" 2>/dev/null; then
    echo "the mock sidecar is still running 5 s after the job: the quit did not reach it" >&2
    kill "$mock_pid"
    wait "$mock_pid" 2>/dev/null || true
    exit 1
fi
wait "$mock_pid" && echo "the mock sidecar exited after the quit call, so the Job's pod can complete"
mock_pid=""
