#!/usr/bin/env bash
# Scratch-image check without a container engine: runs the static readygate in an otherwise empty
# root (no /etc, no shell, no libraries), as uid 65532 like the image's USER, inside a private
# network namespace, against a local endpoint named `localhost` (IPv4 and IPv6-only), and proves
# it waited through 503s and then exec'd a static command inside that root.
# Catches dependencies on /etc/hosts, /etc/resolv.conf, /etc/passwd, a dynamic loader or libc.
#
# Usage: tests/scratch/run.sh READYGATE_STATIC_BIN   (or READYGATE_STATIC_BIN=... in the env)
# Needs root (chroot, unshare -n), musl-gcc (musl-tools), python3, ip: scripts/install-packaging.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
APP_UID=65532 # the Dockerfile's USER
PORT=15020    # istio's pilot-agent port: the namespace is private, so it is free

# shellcheck source=scripts/lib.sh
source "$here/../../scripts/lib.sh"

# ---------------------------------------------------------------------------------------------
bin=${1:-${READYGATE_STATIC_BIN:-}}
# A setup failure ends the run: say why, close with the counts, exit 1.
abort() {
    fail "$1"
    summary || true
    exit 1
}

if [[ -z $bin || ! -x $bin ]]; then
    abort "usage: $0 READYGATE_STATIC_BIN (got '${bin}': not an executable file)"
fi
for tool in musl-gcc chroot unshare python3 ip readelf timeout; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        abort "prerequisite '$tool' not found (run scripts/install-packaging.sh)"
    fi
done
if [[ $(id -u) -ne 0 ]]; then
    abort "needs root for chroot and unshare -n"
fi
if readelf -lW "$bin" | grep -q INTERP; then
    abort "$bin has a PT_INTERP (dynamic loader): build it with scripts/build-static.sh"
fi

# The rest runs inside `unshare -n`: only a loopback interface, which nothing else on the
# machine can reach. One process throughout, so one set of counts.
if [[ -z ${READYGATE_SCRATCH_NETNS:-} ]]; then
    exec unshare -n env READYGATE_SCRATCH_NETNS=1 bash "$here/run.sh" "$(realpath "$bin")"
fi
ip link set lo up

work=$(mktemp -d)
server=""
chroot_bin=$(command -v chroot)
# shellcheck disable=SC2317  # called from the EXIT trap and below
stop_server() {
    if [[ -n $server ]]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
        server=""
    fi
}

# start_server HOST NOT_READY LOG [keep-alive]: endpoint.py answers 503 NOT_READY times, then 200
# (with keep-alive, over one kept-alive connection as pilot-agent does).
start_server() {
    local host=$1 not_ready=$2 log=$3 deadline=$((SECONDS + 10))
    : >"$log"
    python3 "$here/endpoint.py" "$host" "$PORT" "$not_ready" "$log" "${@:4}" &
    server=$!
    until grep -qx listening "$log"; do
        if ! kill -0 "$server" 2>/dev/null || ((SECONDS >= deadline)); then
            fail "endpoint.py did not start on $host:$PORT"
            return 1
        fi
        sleep 0.05
    done
}

# run_in_root NAME ARGS...: readygate in the empty root as uid 65532 with an empty environment
# (no READYGATE_* leaking in from the caller); sets $rc. timeout bounds a hung readygate.
run_in_root() {
    local name=$1
    shift
    rc=0
    env -i timeout 60 "$chroot_bin" --userspec="$APP_UID:$APP_UID" "$root" /readygate "$@" \
        2>"$work/$name.err" || rc=$?
}

# shellcheck disable=SC2317  # called from the EXIT trap
on_exit() {
    local status=$? rc=0
    stop_server
    rm -rf "$work"
    ((status == 0)) || fail "the check stopped early (exit $status)"
    # Nothing passing is a failure too (a run that checked nothing proves nothing).
    ((RG_PASSED > 0)) || fail "no check passed"
    summary || rc=$?
    exit "$rc"
}
trap on_exit EXIT

# The root holds exactly: /readygate, /marker (a static C program) and /out (writable by 65532).
root="$work/root"
mkdir -p "$root/out"
chmod 0755 "$work" "$root" # uid 65532 must be able to traverse its own /
chown "$APP_UID:$APP_UID" "$root/out"
cp "$bin" "$root/readygate"
musl-gcc -static -Os -o "$root/marker" "$here/marker.c"
listing=$(cd "$root" && find . -mindepth 1 | sort | tr '\n' ' ')
if [[ $listing == "./marker ./out ./readygate " ]]; then
    pass "root is empty but for /readygate, /marker, /out (no /etc, no shell, no libraries)"
else
    fail "unexpected root contents: $listing"
fi

# case_wait NAME HOST CODE [READYGATE OPTIONS...]
case_wait() {
    local name=$1 host=$2 code=$3
    shift 3
    start_server "$host" 2 "$work/$name.log" || return 0
    run_in_root "$name" --timeout 20s "$@" -- /marker "/out/$name" "$code" hello scratch
    stop_server
    local ok=1
    if [[ $rc -ne $code ]]; then
        fail "$name: exit $rc, expected the command's own $code"
        ok=0
    fi
    if [[ "$(cat "$root/out/$name" 2>/dev/null)" != "uid=$APP_UID gid=$APP_UID args=hello scratch" ]]; then
        fail "$name: the command did not run in the root as $APP_UID (marker: $(cat "$root/out/$name" 2>&1))"
        ok=0
    fi
    # The endpoint's log must show 503, 503, then 200: readygate polled, was told "not ready",
    # kept waiting, and ran the command only after the 200.
    if [[ "$(tr '\n' ' ' <"$work/$name.log")" != "listening 503 /healthz/ready 503 /healthz/ready 200 /healthz/ready "* ]]; then
        fail "$name: endpoint did not see 503, 503, 200: $(tr '\n' ' ' <"$work/$name.log")"
        ok=0
    fi
    if ((ok)); then
        pass "$name: waited through 2x 503 on $host (URL host 'localhost'), then exec'd /marker (exit $code, uid $APP_UID)"
    else
        sed 's/^/    readygate: /' "$work/$name.err" >&2
    fi
}

# IPv4: the default preset (istio, http://localhost:15020/healthz/ready), nothing on ::1.
case_wait ipv4-default 127.0.0.1 7
# IPv6 only: nothing on 127.0.0.1, so `localhost` must be resolved to ::1 as well.
case_wait ipv6-only ::1 8 --url "http://localhost:$PORT/healthz/ready"

# A missing command inside the root: 127 after the wait, like a shell (and nothing ran).
if start_server 127.0.0.1 0 "$work/notfound.log"; then
    run_in_root notfound --timeout 20s -- /no-such-command
    stop_server
    if [[ $rc -eq 127 ]] && grep -q '^200 ' "$work/notfound.log"; then
        pass "notfound: waited for the 200, then exit 127 for a command missing from the root"
    else
        fail "notfound: exit $rc (want 127 after a 200); endpoint log: $(tr '\n' ' ' <"$work/notfound.log")"
        sed 's/^/    readygate: /' "$work/notfound.err" >&2
    fi
fi

# The shipped binary's descriptors: stdin, stdout, stderr, the runtime's two epoll instances and
# its eventfd, the signalfd, and one more: a probe socket, or, for --mesh auto once the first probe
# failed, the pod's annotations file and then its netlink socket (the first attempt's connection
# is closed before them): `ulimit -n 8` is enough to wait and exec. (The test build links tokio's
# signal driver through dev-dependencies and needs three more, which is why
# tests/fault_rlimits.rs cannot check this exact figure.)
# run_limited NAME ARGS...: run_in_root under `ulimit -n 8`; sets $rc. Every descriptor above
# stderr is closed first: whatever runs this script (a CI runner, flock) may leave some open, and
# they would count against the limit.
run_limited() {
    local name=$1
    shift
    rc=0
    (
        for fd in /proc/"$BASHPID"/fd/*; do
            fd=${fd##*/}
            ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
        done
        ulimit -n 8 && exec env -i timeout 60 "$chroot_bin" --userspec="$APP_UID:$APP_UID" \
            "$root" /readygate "$@"
    ) 2>"$work/$name.err" || rc=$?
}
if start_server 127.0.0.1 0 "$work/nofile.log"; then
    run_limited nofile --timeout 20s -- /marker /out/nofile 6 hello scratch
    stop_server
    if [[ $rc -eq 6 && "$(cat "$root/out/nofile" 2>/dev/null)" == "uid=$APP_UID gid=$APP_UID args=hello scratch" ]]; then
        pass "nofile: with ulimit -n 8, waited for the 200, then exec'd /marker (exit 6)"
    else
        fail "nofile: exit $rc with ulimit -n 8 (want the command's 6)"
        sed 's/^/    readygate: /' "$work/nofile.err" >&2
    fi
fi

# The same limit when --mesh auto gathers the pod's facts: the sidecar answers 503 twice over a
# kept-alive connection, and the annotations file (in the kubelet's format) says classic Istio.
# Both facts must be read (no "Too many open files", no look that failed), then the wait goes on.
mkdir -p "$root/podinfo"
printf '%s\n' 'sidecar.istio.io/status="{\"initContainers\":[\"istio-init\"],\"containers\":[\"istio-proxy\"]}"' \
    >"$root/podinfo/annotations"
chmod 0644 "$root/podinfo/annotations"
if start_server 127.0.0.1 2 "$work/nofile-auto.log" keep-alive; then
    # -v: the facts' debug line says whether the socket look worked (the annotations decide
    # this pod's mode, so a failed look would otherwise go unseen).
    run_limited nofile-auto -v --timeout 20s --pod-annotations /podinfo/annotations \
        -- /marker /out/nofile-auto 6 hello scratch
    stop_server
    if [[ $rc -eq 6 && "$(cat "$root/out/nofile-auto" 2>/dev/null)" == "uid=$APP_UID gid=$APP_UID args=hello scratch" ]] &&
        grep -q 'istio classic sidecar' "$work/nofile-auto.err" &&
        grep -qE 'pod facts gathered.*annotations=1 listening=Some' "$work/nofile-auto.err" &&
        ! grep -qiE 'unusable|open files|sockets unknown|WARN' "$work/nofile-auto.err" &&
        [[ "$(tr '\n' ' ' <"$work/nofile-auto.log")" == "listening 503 /healthz/ready 503 /healthz/ready 200 /healthz/ready "* ]]; then
        pass "nofile-auto: with ulimit -n 8, a 503 at first, then both pod facts read, the 200, and /marker (exit 6)"
    else
        fail "nofile-auto: exit $rc with ulimit -n 8 (want the command's 6 after both pod facts were read); endpoint log: $(tr '\n' ' ' <"$work/nofile-auto.log")"
        sed 's/^/    readygate: /' "$work/nofile-auto.err" >&2
    fi
fi

# A file target in the empty root: one stat, no resolver, no /etc. The file is written only once
# readygate has said it does not exist yet, so the wait itself is what is checked.
mkdir -p "$root/secrets"
: >"$work/file.err"
env -i timeout 60 "$chroot_bin" --userspec="$APP_UID:$APP_UID" "$root" /readygate \
    --timeout 20s --url file:///secrets/creds -- /marker /out/file 5 hello scratch \
    2>"$work/file.err" &
gate=$!
deadline=$((SECONDS + 10))
until grep -q 'creds does not exist yet' "$work/file.err" || ((SECONDS >= deadline)); do
    sleep 0.05
done
printf 'user=app\n' >"$root/secrets/creds"
rc=0
wait "$gate" || rc=$?
if [[ $rc -eq 5 ]] && grep -q 'does not exist yet' "$work/file.err" &&
    [[ "$(cat "$root/out/file" 2>/dev/null)" == "uid=$APP_UID gid=$APP_UID args=hello scratch" ]]; then
    pass "file: waited for file:///secrets/creds to appear, then exec'd /marker (exit 5, uid $APP_UID)"
else
    fail "file: exit $rc (want 5 after the file appeared); marker: $(cat "$root/out/file" 2>&1)"
    sed 's/^/    readygate: /' "$work/file.err" >&2
fi
