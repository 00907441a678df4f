# shellcheck shell=bash
# One way for every shell suite to count and report checks (scripts/test.sh's stages, the
# real-Envoy suite, the scratch-root check, the pod suite, ...): source it, call `check` or
# `pass`/`fail` per check, and end with `summary`, whose last line is the plain
# "N passed, N failed" that CI reads.
#
#   check NAME CMD...   run CMD; count NAME as passed if it succeeds, failed otherwise
#   pass NAME           count NAME as passed
#   fail NAME [WHY]     count NAME as failed, with an optional reason
#   summary             list the failures, print "N passed, N failed"; non-zero if any failed
#   poll SECONDS CMD... run CMD every 50 ms until it succeeds; non-zero after SECONDS
#   say TEXT...         a progress line on stderr
#
# Progress goes to stderr; only the closing line goes to stdout.

RG_PASSED=0
RG_FAILED=0
RG_FAILURES=()

pass() {
    RG_PASSED=$((RG_PASSED + 1))
    printf '  ok: %s\n' "$1" >&2
}

fail() {
    RG_FAILED=$((RG_FAILED + 1))
    RG_FAILURES+=("$1")
    printf '  FAILED: %s%s\n' "$1" "${2:+: $2}" >&2
}

check() {
    local name=$1
    shift
    if "$@"; then
        pass "$name"
    else
        fail "$name" "exit $?"
    fi
}

summary() {
    if ((RG_FAILED)); then
        printf 'failed:\n' >&2
        printf '  %s\n' "${RG_FAILURES[@]}" >&2
    fi
    printf '%d passed, %d failed\n' "$RG_PASSED" "$RG_FAILED"
    ((RG_FAILED == 0))
}

now_ms() { date +%s%3N; }

poll() {
    local end=$(($(now_ms) + $1 * 1000))
    shift
    until "$@"; do
        (($(now_ms) < end)) || return 1
        sleep 0.05
    done
}

say() { printf '%s\n' "$*" >&2; }

# private_container_store DIR: podman and buildah use a store of their own under DIR, with this
# machine kind's container recipe: runc with cgroupfs (crun cannot run on hybrid cgroups),
# ulimits within the machine's own, and a vfs store (no overlay mounts needed). Exports
# CONTAINERS_CONF and CONTAINERS_STORAGE_CONF; the machine's default store is never touched.
private_container_store() {
    local dir=$1
    cat >"$dir/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF
    cat >"$dir/storage.conf" <<CONF
[storage]
driver = "vfs"
runroot = "$dir/run"
graphroot = "$dir/graph"
CONF
    export CONTAINERS_CONF="$dir/containers.conf" CONTAINERS_STORAGE_CONF="$dir/storage.conf"
}
