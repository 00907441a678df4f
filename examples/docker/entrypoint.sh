#!/bin/sh
# Example init script for images that already have one: wait for the mesh sidecar with readygate
# in wait-only mode, run the existing init steps, then hand over to the app with exec.
# Usage (Dockerfile.init-script): ENTRYPOINT ["/entrypoint.sh"]  CMD ["/app/server", "--listen=:8080"]
set -eu

# No command after readygate: it exits 0 once the sidecar is ready, 69 if it is not ready within
# the timeout (READYGATE_TIMEOUT, default 120s), 128+N on signal N. Configured by READYGATE_* env
# vars (READYGATE_MESH, READYGATE_URL, READYGATE_DISABLED=true, ...) or flags added here. A failure
# stops the script (set -e) with readygate's exit code, so the pod restarts instead of starting an
# app that cannot connect.
readygate

# ... the image's existing init steps go here (render config, run migrations, ...) ...

# exec, so the app replaces this shell: it receives SIGTERM directly and its exit code is the
# container's.
exec "$@"
