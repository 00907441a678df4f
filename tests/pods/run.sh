#!/usr/bin/env bash
# Real pods: the shipped readygate image, built by scripts/build-image.sh, in podman pods played
# from examples/k8s's manifests themselves, with a real Envoy sidecar captured by an istio-init
# init container (iptables) and a real Redis as the external service. See tests/pods/README.md.
#
# Usage: tests/pods/run.sh   (as root; scripts/install-pods.sh and scripts/install-e2e.sh first,
#                             and the static binaries of scripts/build-static.sh)
# Env:   ENVOY_BIN (default: the binary scripts/install-e2e.sh installed), READYGATE_TOOLS.
# Every podman/buildah call uses a private vfs store under a temporary directory, removed at exit.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck disable=SC1091  # scripts/lib.sh is checked on its own
source "$REPO/scripts/lib.sh"

die() {
    fail "setup: $*"
    summary
    exit 1
}

[[ $(id -u) -eq 0 ]] || die "must run as root (podman, buildah, network namespaces)"
for c in podman buildah runc skopeo iptables redis-server redis-cli nsenter setpriv curl busybox \
    qemu-aarch64-static; do
    command -v "$c" >/dev/null 2>&1 || die "'$c' missing: run scripts/install-pods.sh"
done
/usr/bin/python3 -c 'import yaml' 2>/dev/null || die "python3-yaml missing: run scripts/install-pods.sh"
find_envoy() {
    local tools="${READYGATE_TOOLS:-$HOME/.cache/readygate-tools}" p
    for p in "$tools"/envoy-venv/lib/python*/site-packages/envoy/_bin/envoy; do
        if [[ -f $p && -x $p ]]; then echo "$p"; return 0; fi
    done
    return 1
}
ENVOY_BIN=${ENVOY_BIN:-$(find_envoy || true)}
[[ -n $ENVOY_BIN && -x $ENVOY_BIN ]] || die "no Envoy found: run scripts/install-e2e.sh (or set ENVOY_BIN)"
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$REPO/Cargo.toml" | head -n 1)
OCI_DIR=${READYGATE_OCI_DIR:-${CARGO_TARGET_DIR:-$REPO/target}/oci}

T=$(mktemp -d /var/tmp/readygate-pods.XXXXXX)
# Reachable for uid 65532, the user the images run as (the pods' annotations volumes are here).
chmod 711 "$T"
REDIS_PIDS=()
POD=""
# shellcheck disable=SC2317  # only called from the EXIT trap
cleanup() {
    local p
    # Only ever this run's own store, never the machine's default one.
    if [[ ${CONTAINERS_STORAGE_CONF:-} == "$T/storage.conf" ]]; then
        pm pod rm --all --force --time 0 >/dev/null 2>&1
        pm rm --all --force --time 0 >/dev/null 2>&1
    fi
    for p in "${REDIS_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# This run's own container store (scripts/lib.sh says which recipe).
private_container_store "$T"
pm() { podman --storage-driver vfs "$@"; }
bh() { buildah --storage-driver vfs "$@"; }


# ------------------------------------------------------------------ images
say "== images"
# The shipped image, both architectures, from the static binaries (scripts/build-image.sh).
if ! bash "$REPO/scripts/build-image.sh"; then
    die "scripts/build-image.sh failed (did scripts/build-static.sh run?)"
fi
for arch in amd64 arm64; do
    archive=$OCI_DIR/readygate-$VERSION-linux-$arch.tar
    config=$(skopeo inspect --config "oci-archive:$archive" 2>&1) || { fail "$arch archive readable by skopeo" "$config"; continue; }
    # The archive holds exactly one layer with exactly one file, /readygate.
    files=$(tar -xOf "$archive" "blobs/sha256/$(skopeo inspect --raw "oci-archive:$archive" |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"].split(":")[1])')" |
        tar -tzf - 2>/dev/null | tr '\n' ' ')
    layers=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rootfs"]["diff_ids"]))' <<<"$config")
    got=$(/usr/bin/python3 -c '
import json, sys
c = json.load(sys.stdin)
l = c["config"].get("Labels", {})
print(c["architecture"], c["config"].get("User"), c["config"].get("Entrypoint"),
      l.get("org.opencontainers.image.version"), l.get("org.opencontainers.image.licenses"),
      l.get("org.opencontainers.image.title"), bool(l.get("org.opencontainers.image.source")))' <<<"$config")
    want="$arch 65532:65532 ['/readygate'] $VERSION Apache-2.0 readygate True"
    if [[ $got == "$want" && $layers == 1 && $files == "readygate " ]]; then
        pass "$arch OCI archive: only /readygate, user 65532:65532, entrypoint /readygate, OCI labels (version $VERSION)"
    else
        fail "$arch OCI archive contents" "got '$got', $layers layer(s) with '$files'; want '$want', 1 layer with 'readygate'"
    fi
done
pm load -q -i "$OCI_DIR/readygate-$VERSION-linux-amd64.tar" >/dev/null || die "podman load of the amd64 archive failed"
pm image exists "localhost/readygate:$VERSION" || die "podman load did not name the image readygate:$VERSION"
pass "podman load takes the amd64 archive as readygate:$VERSION"

# stage_bin ROOT FILE [DEST]: FILE (at DEST, default its own path) and every library ldd lists.
stage_bin() {
    local root=$1 file=$2 dest=${3:-$2} lib
    mkdir -p "$root$(dirname "$dest")"
    cp -L "$file" "$root$dest"
    for lib in $(ldd "$file" | grep -o '/[^ ]*'); do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
}
# build_image NAME DOCKERFILE: builds localhost/NAME:test from the staged $T/ctx-NAME/rootfs.
build_image() {
    bh bud --quiet --isolation chroot --identity-label=false -f "$2" -t "localhost/$1:test" \
        "$T/ctx-$1" >/dev/null
}

# The test application: busybox (static), redis-cli, /app/server; readygate via COPY --from.
r=$T/ctx-orders/rootfs
mkdir -p "$r/bin" "$r/app" "$r/tmp"
chmod 1777 "$r/tmp"
cp /bin/busybox "$r/bin/busybox"
for tool in sh sleep sed tr cat; do ln -s busybox "$r/bin/$tool"; done
stage_bin "$r" "$(command -v redis-cli)" /usr/bin/redis-cli
install -m 755 "$HERE/images/app-server.sh" "$r/app/server"
build_image orders "$HERE/images/app.Dockerfile" || die "building the test application image failed"
# The sidecar: the real Envoy and its libraries, the real-Envoy suite's Istio-like bootstrap with
# a 2 s "control plane" wait, so the app would find no listener on 15001 if it did not wait.
r=$T/ctx-envoy/rootfs
stage_bin "$r" "$ENVOY_BIN" /usr/local/bin/envoy
mkdir -p "$r/etc/envoy"
sed -e 's/@ADMIN_PORT@/15000/g; s/@FETCH_TIMEOUT@/2s/; s/@READY_ADDRESS@/127.0.0.1/' \
    "$REPO/tests/e2e/envoy/sidecar-bootstrap.yaml.tmpl" >"$r/etc/envoy/envoy.yaml"
build_image envoy "$HERE/images/envoy.Dockerfile" || die "building the Envoy sidecar image failed"
# istio-init: iptables-restore (nft backend, multi-call binary) with its extensions and rules.
r=$T/ctx-istio-init/rootfs
multi=$(readlink -f "$(command -v iptables)")
stage_bin "$r" "$multi" /usr/sbin/xtables-nft-multi
ln -s xtables-nft-multi "$r/usr/sbin/iptables-restore"
mkdir -p "$r/usr/lib/x86_64-linux-gnu" "$r/etc/istio-init"
cp -a /usr/lib/x86_64-linux-gnu/xtables "$r/usr/lib/x86_64-linux-gnu/"
cp "$HERE/images/istio-init.rules" "$r/etc/istio-init/rules"
build_image istio-init "$HERE/images/istio-init.Dockerfile" || die "building the istio-init image failed"
pass "test images built FROM scratch: orders (app + readygate), envoy (uid 1337), istio-init"

# ------------------------------------------------------------------ pods
# play MANIFEST [SED]: the manifest with local image names (and SED applied), injected like Istio
# does, its Downward API annotations written as the kubelet would (a fresh directory each play),
# played with only a loopback interface and not started; sets POD (the pod's name).
PLAYS=0
play() {
    local manifest=$1 extra=${2:-}
    PLAYS=$((PLAYS + 1))
    sed -e 's|registry.example.com/orders:1.4.2|localhost/orders:test|' ${extra:+-e "$extra"} "$REPO/$manifest" |
        /usr/bin/python3 "$HERE/inject.py" localhost/envoy:test localhost/istio-init:test "$T/podinfo-$PLAYS" >"$T/pod.yaml" || return 1
    pm kube play --network none --start=false "$T/pod.yaml" >"$T/play.out" 2>&1 || { cat "$T/play.out" >&2; return 1; }
    # kube play prints "Pod:" and the pod's ID on the next line.
    POD=$(awk 'p { print; exit } /^Pod:/ { p = 1 }' "$T/play.out")
    [[ -n $POD ]] && POD=$(pm pod inspect "$POD" --format '{{.Name}}')
    [[ -n $POD ]]
}
# start_infra: starts the pod's infra container alone, so its network namespace exists (and Redis
# can be put in it) before any container of the manifest runs; sets INFRA_PID.
start_infra() {
    local infra
    infra=$(pm pod inspect "$POD" --format '{{.InfraContainerID}}')
    pm start "$infra" >/dev/null || return 1
    INFRA_PID=$(pm inspect "$infra" --format '{{.State.Pid}}')
    [[ -n $INFRA_PID && $INFRA_PID != 0 ]]
}
in_pod() { nsenter --net="/proc/$INFRA_PID/ns/net" -- "$@"; }
# Redis as the pod's "external" service at 127.0.0.5 (the host's Debian redis-server, in the pod's
# network namespace); queried as uid 1337, which the capture lets through directly.
start_redis() {
    mkdir -p "$T/redis-$POD"
    # nsenter itself, not the in_pod function: a backgrounded function is a subshell whose PID is
    # not Redis's, and the cleanup would kill the subshell and leave Redis running.
    nsenter --net="/proc/$INFRA_PID/ns/net" -- redis-server --bind 127.0.0.5 --port 6379 \
        --protected-mode no --save '' --appendonly no --dir "$T/redis-$POD" >"$T/redis-$POD/log" 2>&1 &
    REDIS_PIDS+=("$!")
    poll 10 redis_ok PING
}
redis_cmd() { in_pod setpriv --reuid 1337 --regid 1337 --clear-groups timeout 5 redis-cli -h 127.0.0.5 "$@" 2>/dev/null; }
redis_ok() { [[ $(redis_cmd "$@") == PONG ]]; }
state() { pm inspect "$1" --format '{{.State.Status}}' 2>/dev/null; }
exit_code() { pm inspect "$1" --format '{{.State.ExitCode}}' 2>/dev/null; }
exited() { [[ $(state "$1") == exited ]]; }
# Every container of the pod but its infra (pause) container has exited.
all_exited() {
    local names states
    names=$(pm ps -a --filter "pod=$POD" --format '{{.Names}}' | grep -v -- '-infra$') || return 1
    # shellcheck disable=SC2086  # one word per container name
    states=$(pm inspect --format '{{.State.Status}}' $names) || return 1
    ! grep -qvx exited <<<"$states"
}
stat_value() { in_pod curl -s -m 2 http://127.0.0.1:15000/stats | awk -F': ' -v k="$1" '$1 == k { print $2 }'; }
# Envoy's LIVE moment (epoch ms) from its own log, and readygate's "ready" moment from its log.
envoy_live_ms() {
    pm logs "$POD-istio-proxy" 2>&1 | awk '/all dependencies initialized. starting workers/ { sub(/\./, "", $1); print $1; exit }'
}
rg_ready_ms() {
    local ts
    ts=$(pm logs "$1" 2>&1 | awk '/readygate: ready/ { print $1; exit }')
    [[ -n $ts ]] && date -d "$ts" +%s%3N
}
# Diagnostics for a failed check: when each container of the pod started and ended.
pod_times() {
    local c
    for c in $(pm ps -a --filter "pod=$POD" --format '{{.Names}}'); do
        printf '%s %s\n' "$c" "$(pm inspect "$c" --format '{{.State.Status}} {{.State.ExitCode}} started {{.State.StartedAt}} finished {{.State.FinishedAt}}')"
    done >&2
}
# Every pod goes (the store is this run's own), so no scenario sees another's leftovers.
rm_pod() {
    pm pod rm --all --force --time 0 >/dev/null 2>&1
    POD=""
}

# start_pod MANIFEST [SED]: play, give the pod its Redis, then start it (init container first).
start_pod() {
    local t0
    t0=$(now_ms)
    play "$@" || return 1
    start_infra || return 1
    start_redis || return 1
    [[ -z ${REDIS_PUSH:-} ]] || [[ $(redis_cmd RPUSH readygate:exit-code "$REDIS_PUSH") == 1 ]] || return 1
    say "  (pod $POD created, its Redis up in $(($(now_ms) - t0)) ms)"
    # podman 4.3 logs an error while it removes a finished run-once init container even when
    # all went well; show its stderr only if the start failed.
    pm pod start "$POD" >/dev/null 2>"$T/start.err" || { cat "$T/start.err" >&2; return 1; }
}
# logs_have CONTAINER GREP-ARGS...: whether its logs (stdout and stderr) match. Read whole first:
# `grep -q` stops at the first match, which would end `podman logs` with SIGPIPE and, under
# pipefail, turn a match into a failure.
logs_have() {
    local container=$1 out
    shift
    out=$(pm logs "$container" 2>&1)
    grep -q "$@" <<<"$out"
}
app_said() { logs_have "$1" '^app: first dial'; }
# rg_said CONTAINER TEXT: readygate logged a line ending with TEXT (its fields come before it).
rg_said() { logs_have "$1" -F -- "readygate: $2"; }
CLASSIC="istio classic sidecar (sidecar.istio.io/status lists istio-proxy under containers only)"

say "== Deployment (examples/k8s/deployment.yaml)"
if start_pod examples/k8s/deployment.yaml; then
    app=$POD-orders
    # examples/k8s/poststart.yaml's hook command, run the way the kubelet runs an exec hook: inside
    # the sidecar's container, just after it started (podman has no lifecycle hooks of its own).
    mapfile -t hook < <(/usr/bin/python3 -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
print("\n".join(d["spec"]["template"]["spec"]["containers"][0]["lifecycle"]["postStart"]["exec"]["command"]))' \
        "$REPO/examples/k8s/poststart.yaml")
    code=0
    pm exec "$POD-istio-proxy" "${hook[@]}" >"$T/hook.out" 2>"$T/hook.err" || code=$?
    hook_ready=$(awk '/readygate: ready/ { print $1; exit }' "$T/hook.err")
    [[ -n $hook_ready ]] && hook_ready=$(date -d "$hook_ready" +%s%3N)
    hook_live=$(envoy_live_ms)
    if [[ $code == 0 && -n $hook_ready && -n $hook_live ]] && ((hook_ready >= hook_live)) &&
        grep -q 'not ready yet' "$T/hook.err" && [[ ! -s $T/hook.out ]]; then
        pass "poststart.yaml's hook (${hook[*]}) in the sidecar's container returns 0 once Envoy's admin is LIVE, not before"
    else
        fail "poststart.yaml's hook" "exit $code, ready at '${hook_ready:-never}', LIVE at '${hook_live:-never}': $(tail -n 2 "$T/hook.err")"
    fi
    if poll 60 app_said "$app"; then
        line=$(pm logs "$app" 2>/dev/null | grep '^app: first dial')
        live=$(envoy_live_ms)
        ready=$(rg_ready_ms "$app")
        cx=$(stat_value cluster.outbound_orig_dst.upstream_cx_total)
        redirected=$(in_pod iptables -t nat -L ISTIO_OUTPUT -v -x -n | awk '/REDIRECT/ { print $1 }')
        if [[ $line == "app: first dial: INCR gave '1'" && $(redis_cmd GET readygate:first-dials) == 1 ]]; then
            pass "deployment: the app's first dial to Redis at 127.0.0.5 succeeds (INCR -> 1)"
        else
            fail "deployment: first dial" "app said: $line"
        fi
        if [[ ${cx:-0} -ge 1 && ${redirected:-0} -ge 1 ]]; then
            pass "deployment: the dial was captured by istio-init's iptables rule and carried by Envoy ($redirected redirected, $cx upstream)"
        else
            fail "deployment: capture" "REDIRECT packets '${redirected:-}', Envoy upstream_cx_total '${cx:-}'"
            pod_times
        fi
        if rg_said "$app" "$CLASSIC: waiting for it"; then
            pass "deployment: --mesh auto (the default) read the pod's annotations volume: \"$CLASSIC: waiting for it\""
        else
            fail "deployment: mesh auto's line" "$(pm logs "$app" 2>&1 | grep readygate | head -n 3)"
        fi
        turned_away=$(pm logs "$app" 2>&1 | grep -m 1 'not ready yet' | grep -o 'reason=.*attempt' | sed 's/ attempt$//')
        if [[ -n $live && -n $ready && -n $turned_away ]] && ((ready >= live)); then
            pass "deployment: readygate held the app until Envoy was LIVE (first turned away with $turned_away; ready $((ready - live)) ms after LIVE)"
        else
            fail "deployment: wait" "Envoy LIVE at '${live:-never}' ms, readygate ready at '${ready:-never}' ms, first not-ready: '${turned_away:-none}'"
            pm logs "$app" 2>&1 | grep 'readygate' | head -n 4 >&2
            pod_times
        fi
    else
        fail "deployment: the app never made its first dial" "$(pm logs "$app" 2>&1 | tail -n 5)"
    fi

    # PID 1 waiting on a port nobody serves: no /etc at all in the container (--no-hosts), read-only,
    # the image's own user. podman stop's SIGTERM must end it at once with 143, not podman's SIGKILL.
    waiter=rg-stop-test
    if pm run -d --pod "$POD" --name "$waiter" --read-only --no-hosts "localhost/readygate:$VERSION" \
        --url http://localhost:15999/ready --timeout 10m >/dev/null &&
        poll 20 logs_have "$waiter" 'nothing listening on localhost:15999'; then
        pid=$(pm inspect "$waiter" --format '{{.State.Pid}}')
        uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
        # The image has no /etc (checked above: its one layer holds only readygate); podman still
        # adds passwd, group and hostname, but nothing a resolver reads.
        etc=$(find "/proc/$pid/root/etc/" -mindepth 1 -maxdepth 1 -printf '%f ' 2>/dev/null)
        if [[ $uid == 65532 && ! $etc =~ (hosts|resolv.conf|nsswitch.conf|gai.conf) ]] &&
            pm inspect "$waiter" --format '{{.HostConfig.ReadonlyRootfs}}' | grep -qx true; then
            pass "image: runs read-only as uid 65532 and resolves localhost with no /etc/hosts, resolv.conf or nsswitch.conf (probes localhost:15999)"
        else
            fail "image: read-only/non-root/no resolver files" "uid $uid, /etc holds: $etc"
        fi
        start=$(now_ms)
        pm stop --time 120 "$waiter" >/dev/null
        took=$(($(now_ms) - start))
        code=$(exit_code "$waiter")
        if [[ $code == 143 ]]; then
            pass "podman stop (SIGKILL after 120 s) on readygate waiting as PID 1: exit 143 from SIGTERM ($took ms)"
        else
            fail "podman stop on a waiting readygate" "exit '$code' after $took ms (137 = SIGKILL: SIGTERM ignored)"
        fi
    else
        fail "image: the waiting readygate never probed localhost:15999" "$(pm logs "$waiter" 2>&1 | tail -n 3)"
    fi
    # Wait-only against the live sidecar, again without /etc and read-only: localhost -> 15020.
    code=0
    pm run --rm --pod "$POD" --read-only --no-hosts "localhost/readygate:$VERSION" --mesh istio --timeout 30s \
        >"$T/waitonly.out" 2>"$T/waitonly.err" || code=$?
    if [[ $code == 0 && ! -s $T/waitonly.out ]]; then
        pass "image: wait-only with --mesh istio (http://localhost:15020/...), read-only, no /etc/hosts: exits 0, nothing on stdout"
    else
        fail "image: wait-only against the live sidecar" "exit $code: $(tail -n 2 "$T/waitonly.err")"
    fi
    # The arm64 image's binary, run by qemu-user in the same pod against the live Envoy.
    arm=$T/arm64
    mkdir -p "$arm"
    # Reachable for uid 65532, the user the image runs as ($T is already).
    chmod 755 "$arm"
    if skopeo copy -q "oci-archive:$OCI_DIR/readygate-$VERSION-linux-arm64.tar" "dir:$arm/img" &&
        for blob in "$arm"/img/*; do tar -xzf "$blob" -C "$arm" readygate 2>/dev/null && break; done &&
        file -b "$arm/readygate" | grep -q 'ARM aarch64' &&
        in_pod setpriv --reuid 65532 --regid 65532 --clear-groups \
            qemu-aarch64-static "$arm/readygate" --mesh istio --timeout 30s 2>"$T/arm.err"; then
        pass "arm64 image: its /readygate runs under qemu-aarch64-static and sees the pod's Envoy ready"
    else
        fail "arm64 image binary under qemu" "$(tail -n 2 "$T/arm.err" 2>/dev/null)"
    fi
else
    fail "deployment: the pod did not start" "$(tail -n 5 "$T/play.out" 2>/dev/null)"
fi
rm_pod

say "== the same Deployment in a namespace without injection (sidecar.istio.io/inject: \"false\")"
# Unchanged but for the label that turns injection off: no istio-init, no istio-proxy, and the
# annotations volume holds only the template's own annotation. readygate must run the app at once.
if start_pod examples/k8s/deployment.yaml 's|sidecar.istio.io/inject: "true"|sidecar.istio.io/inject: "false"|' &&
    ! grep -q istio-proxy "$T/pod.yaml"; then
    app=$POD-orders
    NO_MESH="no sidecar in this pod (its annotations name no mesh): running the command now"
    if poll 60 app_said "$app"; then
        line=$(pm logs "$app" 2>/dev/null | grep '^app: first dial')
        ready=$(pm logs "$app" 2>&1 | grep -m 1 'readygate: nothing to wait for')
        if rg_said "$app" "$NO_MESH" && [[ $ready == *" attempts=1" ]] && [[ $line == "app: first dial: INCR gave '1'" ]]; then
            pass "uninjected deployment: the app started after one probe (\"$NO_MESH\"; ${ready##*readygate: }), its first dial went straight to Redis"
        else
            fail "uninjected deployment" "app: $line; readygate: $(pm logs "$app" 2>&1 | grep readygate | tr '\n' ';')"
        fi
    else
        fail "uninjected deployment: the app never made its first dial" "$(pm logs "$app" 2>&1 | tail -n 5)"
    fi
else
    fail "uninjected deployment: the pod did not start (or was injected)" "$(tail -n 5 "$T/play.out" 2>/dev/null)"
fi
rm_pod

say "== the same Deployment with READYGATE_DISABLED=true (no wait: the race itself)"
# The control: the same pod, readygate told not to wait (sed swaps the manifest's one env var).
# Envoy stays PRE_INITIALIZING for 2 s with no listener on 15001, so the app's dial is refused.
if start_pod examples/k8s/deployment.yaml 's/name: READYGATE_LOG_FORMAT/name: READYGATE_DISABLED/; s/value: text/value: "true"/' &&
    grep -q READYGATE_DISABLED "$T/pod.yaml"; then
    app=$POD-orders
    if poll 60 app_said "$app" && logs_have "$app" "^app: first dial: INCR gave '.*Connection refused'"; then
        pass "deployment without the wait: the app's first dial is refused (the race readygate closes, in a real pod)"
    else
        fail "deployment without the wait" "app: $(pm logs "$app" 2>&1 | grep '^app:')"
    fi
else
    fail "deployment without the wait: the pod did not start" "$(tail -n 5 "$T/play.out" 2>/dev/null)"
fi
rm_pod

say "== Job (examples/k8s/job.yaml)"
if REDIS_PUSH=3 start_pod examples/k8s/job.yaml; then
    app=$POD-migrate
    if poll 60 all_exited; then
        pass "job: every container of the pod exited (the Job can complete)"
    else
        fail "job: containers still running after 60 s" "$(pm ps -a --filter "pod=$POD" --format '{{.Names}} {{.Status}}' | tr '\n' ';')"
    fi
    code=$(exit_code "$app")
    if [[ $code == 3 ]] && logs_have "$app" "BLPOP gave 'readygate:exit-code 3 '"; then
        pass "job: podman inspect shows the app's own exit code 3 (it came through the dial)"
    else
        fail "job: app exit code" "inspect says '$code'; app: $(pm logs "$app" 2>&1 | grep '^app:')"
    fi
    if exited "$POD-istio-proxy" && [[ $(exit_code "$POD-istio-proxy") == 0 ]] &&
        logs_have "$app" 'quitquitquit' &&
        rg_said "$app" "$CLASSIC: waiting for it, then quitting it when the command ends"; then
        pass "job: --mesh auto took the pod for a classic sidecar (its annotations volume), and readygate's quit made Envoy exit 0"
    else
        fail "job: Envoy quit" "istio-proxy $(state "$POD-istio-proxy") code $(exit_code "$POD-istio-proxy")"
    fi
else
    fail "job: the pod did not start" "$(tail -n 5 "$T/play.out" 2>/dev/null)"
fi
rm_pod

say "== the same Job without --shutdown (the bug Job mode fixes)"
if REDIS_PUSH=3 start_pod examples/k8s/job.yaml 's/"--shutdown", //' && ! grep -q -- --shutdown "$T/pod.yaml"; then
    app=$POD-migrate
    # Give up on the pod 20 s after the app exited: a Job controller would wait forever.
    if poll 60 exited "$app" && ! poll 20 all_exited && [[ $(state "$POD-istio-proxy") == running ]]; then
        pass "job without --shutdown: the app exited $(exit_code "$app"), Envoy still running 20 s later (the pod never completes)"
    else
        fail "job without --shutdown" "app $(state "$app"), istio-proxy $(state "$POD-istio-proxy")"
    fi
else
    fail "job without --shutdown: the pod did not start (or --shutdown not removed)" "$(tail -n 5 "$T/play.out" 2>/dev/null)"
fi
rm_pod

say "== Job: podman kill --signal TERM while the job runs"
blocked() { [[ $(redis_cmd INFO clients | tr -d '\r' | awk -F: '$1 == "blocked_clients" { print $2 }') == 1 ]]; }
if start_pod examples/k8s/job.yaml; then
    app=$POD-migrate
    if poll 60 blocked; then
        pm kill --signal TERM "$app" >/dev/null
        if poll 30 all_exited && [[ $(exit_code "$app") == 42 ]] && logs_have "$app" 'app: SIGTERM'; then
            pass "job: SIGTERM reached the child (its trap exited 42), 42 is the container's code, every container exited"
        else
            fail "job: TERM forwarding" "app $(state "$app") code $(exit_code "$app"), istio-proxy $(state "$POD-istio-proxy")"
        fi
        if exited "$POD-istio-proxy" && [[ $(exit_code "$POD-istio-proxy") == 0 ]]; then
            pass "job: after the forwarded SIGTERM the sidecar was still quit (Envoy exited 0)"
        else
            fail "job: sidecar after SIGTERM" "istio-proxy $(state "$POD-istio-proxy") code $(exit_code "$POD-istio-proxy")"
        fi
    else
        fail "job: the app never blocked in BLPOP" "$(pm logs "$app" 2>&1 | tail -n 3)"
    fi
else
    fail "job (TERM): the pod did not start" "$(tail -n 5 "$T/play.out" 2>/dev/null)"
fi
rm_pod

summary
