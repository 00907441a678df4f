#!/usr/bin/env bash
# Quick start: builds readygate and the mock sidecar (examples/mock_proxy.rs), then shows the gate
# holding a command until the sidecar is ready, and Job mode quitting the sidecar afterwards.
# As root the demo part runs in a private network namespace, so the mesh ports are surely free.
# The build runs first, outside it: cargo may have to download crates, and a private namespace
# has no route to the registry (scripts/fresh-demo.sh checks exactly that from a fresh clone).
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}

if [[ -z ${READYGATE_DEMO_NETNS:-} ]]; then
    cargo build --release --locked --bin readygate --example mock_proxy
    if [[ $(id -u) -eq 0 ]] && unshare -n true 2>/dev/null; then
        # shellcheck disable=SC2016 # $0 is expanded by the inner bash, on purpose
        exec env READYGATE_DEMO_NETNS=1 unshare -n bash -c 'ip link set lo up && exec bash "$0"' "$0"
    fi
fi

gate=$target_dir/release/readygate
mock=$target_dir/release/examples/mock_proxy
mock_pid=""
trap '[[ -n $mock_pid ]] && kill "$mock_pid" 2>/dev/null; wait 2>/dev/null || true' EXIT

echo
echo "--- 1. The sidecar (mock Istio on :15020) answers 503 for 2 s; readygate holds the app until 200."
"$mock" --mesh istio --ready-after 2s &
mock_pid=$!
"$gate" -- sh -c 'echo "app: started; the proxy can carry my traffic"'
kill "$mock_pid"
wait "$mock_pid" 2>/dev/null || true

echo
echo "--- 2. Job mode: the job runs, readygate POSTs /quitquitquit so the sidecar exits, the job's code is kept."
"$mock" --mesh istio --ready-after 1s --before refuse &
mock_pid=$!
status=0
"$gate" --shutdown -- sh -c 'echo "job: done"; exit 3' || status=$?
echo "readygate exited $status (the job's own status)"
wait "$mock_pid" && echo "the mock sidecar exited after the quit call, so the Job's pod can complete"
mock_pid=""
