#!/bin/sh
# /app/server of the test application image (busybox sh): what examples/k8s's manifests run
# after readygate. Its one outbound dial goes to the "external" Redis at 127.0.0.5:6379, which the
# pod's iptables capture sends through Envoy; it never retries, so a dial made before the sidecar
# can carry it fails for good, as in the production report.
#   server --listen=...  (Deployment) counts its first dial in Redis, then serves until stopped
#   server migrate ...   (Job) takes its exit code from Redis (BLPOP readygate:exit-code): the code
#                        can only arrive through the dial; on SIGTERM it exits 42
set -u
redis() { redis-cli -h 127.0.0.5 -p 6379 "$@"; }
case "${1:-}" in
    migrate)
        trap 'echo "app: SIGTERM, exiting 42"; exit 42' TERM
        # In the background, so the trap runs at once (a shell defers traps while it waits for a
        # foreground command, but not in `wait`).
        redis BLPOP readygate:exit-code 300 >/tmp/reply 2>&1 &
        wait $!
        code=$(sed -n 2p /tmp/reply)
        echo "app: first dial: BLPOP gave '$(tr '\n' ' ' </tmp/reply)'"
        exit "${code:-100}"
        ;;
    *)
        reply=$(redis INCR readygate:first-dials 2>&1)
        echo "app: first dial: INCR gave '$reply'"
        # Serve until stopped, like a real server (PID 1 after readygate's exec).
        exec sleep 2147483647
        ;;
esac
