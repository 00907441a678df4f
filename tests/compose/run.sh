#!/usr/bin/env bash
# The compose example (examples/compose/compose.yaml) run as a user would, with podman-compose
# (the tools venv's, scripts/install-packaging.sh) and the images scripts/build-image.sh builds:
#   - the app started only after its mock sidecar turned ready: in the sidecar's own request
#     log, readygate's 503s come first, then its 200, and only then the app's first call, which
#     was answered 200 (order of events in one log, not timing);
#   - the Job-style service ends with its own exit code, its sidecar quit (exit 0) on readygate's
#     POST, and neither of their containers is left running;
#   - with READYGATE_DISABLED=true and no sidecar at all, the app image starts at once.
# Usage: tests/compose/run.sh   (as root, after scripts/build-static.sh; podman, buildah, runc:
#                                scripts/install-pods.sh; musl-gcc: scripts/install-packaging.sh)
# podman uses a private vfs store under a temporary directory, removed at exit.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$REPO/scripts/lib.sh"
TOOLS=${READYGATE_TOOLS:-$HOME/.cache/readygate-tools}
COMPOSE=$TOOLS/venv/bin/podman-compose
OCI_DIR=${READYGATE_OCI_DIR:-${CARGO_TARGET_DIR:-$REPO/target}/oci}
version_of() { sed -n 's/^version = "\(.*\)"$/\1/p' "$1" | head -n 1; }

die() {
    fail "setup: $*"
    summary
    exit 1
}
[[ $(id -u) -eq 0 ]] || die "must run as root (podman)"
for c in podman buildah runc musl-gcc python3 "$COMPOSE"; do
    command -v "$c" >/dev/null 2>&1 || die "'$c' missing: run scripts/install-pods.sh and scripts/install-packaging.sh"
done

T=$(mktemp -d /var/tmp/readygate-compose.XXXXXX)
# shellcheck disable=SC2317  # only called from the EXIT trap
cleanup() {
    if [[ ${CONTAINERS_STORAGE_CONF:-} == "$T/storage.conf" ]]; then
        (cd "$T/compose" && "$COMPOSE" down -t 0 >/dev/null 2>&1)
        podman rm --all --force --time 0 >/dev/null 2>&1
        podman pod rm --all --force --time 0 >/dev/null 2>&1
    fi
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# This run's own container store (scripts/lib.sh says which recipe).
private_container_store "$T"

say "== images"
bash "$REPO/scripts/build-image.sh" || die "scripts/build-image.sh failed (did scripts/build-static.sh run?)"
RG=$(version_of "$REPO/Cargo.toml")
MOCK=$(version_of "$REPO/mock-sidecar/Cargo.toml")
podman load -q -i "$OCI_DIR/readygate-$RG-linux-amd64.tar" >/dev/null || die "podman load readygate"
podman load -q -i "$OCI_DIR/readygate-mock-sidecar-$MOCK-linux-amd64.tar" >/dev/null || die "podman load mock sidecar"
# The example as shipped, in a scratch copy that also holds the demo app's static binary.
cp -r "$REPO/examples/compose" "$T/compose"
musl-gcc -static -Os -o "$T/compose/demo-app" "$T/compose/demo-app.c" || die "musl-gcc demo-app.c"

say "== podman-compose up ($("$COMPOSE" --version 2>/dev/null | head -n 1))"
cd "$T/compose" || die "cd $T/compose"
"$COMPOSE" up -d >"$T/up.log" 2>&1 || { cat "$T/up.log" >&2; die "podman-compose up -d failed"; }
cid() { podman ps -a --filter "label=com.docker.compose.service=$1" --format '{{.ID}}' | head -n 1; }
state() { podman inspect "$(cid "$1")" --format '{{.State.Status}}' 2>/dev/null; }
code() { podman inspect "$(cid "$1")" --format '{{.State.ExitCode}}' 2>/dev/null; }
out() { podman logs "$(cid "$1")" 2>/dev/null; }  # the container's stdout only
err() { { podman logs "$(cid "$1")" >/dev/null; } 2>&1; }
exited() { [[ $(state "$1") == exited ]]; }
# grep reads all its input (no -q): podman logs must not die of SIGPIPE under pipefail.
has() { grep -E -- "$1" >/dev/null; }
app_started() { out app | has '^app: started'; }
for s in sidecar app job-sidecar job; do
    [[ -n $(cid "$s") ]] || fail "service $s has no container" "$(tail -n 5 "$T/up.log")"
done

if poll 60 app_started; then
    first=$(out app | head -n 1)
    # The sidecar's log, one event per line: numbered, so order is compared, not time.
    log=$(out sidecar | cat -n)
    at() { awk -v s="$1" 'index($0, s) { print $1; exit }' <<<"$log"; }
    first_503=$(at '"GET /healthz/ready" 503 "readygate/')
    first_200=$(at '"GET /healthz/ready" 200 "readygate/')
    ready=$(at 'state: ready (200)')
    app_call=$(at '"demo-app/app"')
    if [[ $first == "app: started; its first call through the sidecar got 200" ]]; then
        pass "app: its first line says its first call through the sidecar got 200"
    else
        fail "app: first line" "'$first'"
    fi
    if [[ -n $first_503 && -n $ready && -n $first_200 && -n $app_call ]] &&
        ((first_503 < ready && ready < first_200 && first_200 < app_call)) &&
        [[ $(grep -c '"demo-app/app"' <<<"$log") == 1 ]]; then
        pass "app: in the sidecar's log, readygate's 503s, the sidecar turning ready, readygate's 200, then the app's one call (lines $first_503 < $ready < $first_200 < $app_call)"
    else
        fail "app: order of events in the sidecar's log" "503 at '${first_503:-}', ready at '${ready:-}', 200 at '${first_200:-}', app at '${app_call:-}'"
        printf '%s\n' "$log" | grep -v '" 503 "' >&2
    fi
    if err app | has 'nothing listening on localhost:15020'; then
        pass "app: readygate also waited through the sidecar's refusing phase (its log says nothing was listening)"
    else
        fail "app: readygate's log never saw the refusing phase" "$(err app | head -n 3)"
    fi
else
    fail "app never started" "$(podman logs "$(cid app)" 2>&1 | tail -n 5)"
fi

if poll 60 exited job && poll 30 exited job-sidecar; then
    if [[ $(code job) == 3 ]] && out job | has '^job: started; its first call through the sidecar got 200$'; then
        pass "job: ran after its sidecar was ready and exited with its own code 3"
    else
        fail "job: exit code or first line" "code $(code job), said '$(out job)'"
    fi
    if [[ $(code job-sidecar) == 0 ]] &&
        out job-sidecar | has '"POST /quitquitquit" 200 "readygate/' &&
        out job-sidecar | has 'quit requested \(POST /quitquitquit\): exiting 0'; then
        pass "job: readygate's POST /quitquitquit made the job's sidecar exit 0"
    else
        fail "job: sidecar quit" "job-sidecar $(state job-sidecar) code $(code job-sidecar)"
        out job-sidecar | tail -n 4 >&2
    fi
else
    fail "job: the job or its sidecar still running after 90 s" "job $(state job), job-sidecar $(state job-sidecar)"
fi
running=$(podman ps --format '{{.Labels}}' | grep -Eo 'com.docker.compose.service:[a-z-]+' | sort | tr '\n' ' ')
if [[ $running == "com.docker.compose.service:app com.docker.compose.service:sidecar " ]]; then
    pass "job: no container of the Job-style pair is left running (only app and its sidecar run)"
else
    fail "job: running containers" "'$running'"
fi

"$COMPOSE" down -t 10 >"$T/down.log" 2>&1 || fail "podman-compose down" "$(tail -n 3 "$T/down.log")"
if [[ -z $(podman ps -aq --filter label=com.docker.compose.project=readygate-example) ]]; then
    pass "podman-compose down: every container of the example is gone"
else
    fail "podman-compose down left containers" "$(podman ps -a --format '{{.Names}} {{.Status}}')"
fi

say "== READYGATE_DISABLED=true, no sidecar at all"
code=0
said=$(podman run --rm --network none -e READYGATE_DISABLED=true localhost/readygate-example-app:dev \
    /app/demo-app app 2>"$T/disabled.err") || code=$?
if [[ $code == 0 && $said == "app: started; its first call through the sidecar got refused" ]]; then
    pass "READYGATE_DISABLED=true: the app image starts at once without any sidecar (its call is refused)"
else
    fail "READYGATE_DISABLED=true" "exit $code, said '$said': $(tail -n 2 "$T/disabled.err")"
fi

summary
