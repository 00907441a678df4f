#!/usr/bin/env bash
# Offline checks of everything readygate ships besides the binary: Kubernetes manifests against
# the API schemas, Dockerfiles with hadolint, every shell script with shellcheck, the scratch-image
# contract of the root Dockerfile and of mock-sidecar/Dockerfile, and the behaviour of
# examples/docker/entrypoint.sh.
# Usage: scripts/check-packaging.sh   (tools come from scripts/install-packaging.sh)
set -euo pipefail

repo=$(git -C "$(dirname "${BASH_SOURCE[0]}")/.." rev-parse --show-toplevel)
TOOLS="${READYGATE_TOOLS:-$HOME/.cache/readygate-tools}"
# Manifests must stay valid on clusters that are not the newest: 1.33 is the release where native
# sidecars went GA, the oldest one many users of readygate will be moving from.
K8S_VERSION="${K8S_VERSION:-1.33.0}"
kubernetes_validate="$TOOLS/venv/bin/kubernetes-validate"
hadolint="$TOOLS/venv/bin/hadolint"

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d)
# The counts close every run, however it ends; the status is the summary's unless the script
# stopped early with its own.
# shellcheck disable=SC2317  # only called from the EXIT trap
on_exit() {
    local status=$?
    rm -rf "$work"
    summary || ((status)) || status=1
    exit "$status"
}
trap on_exit EXIT
# check NAME CMD...: lib.sh's check, but quiet: CMD's output is shown only when it fails.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        pass "$name"
    else
        fail "$name"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
    fi
}

cd "$repo"
missing=0
for tool in "$kubernetes_validate" "$hadolint" shellcheck; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        fail "tool not found: $tool (run scripts/install-packaging.sh)"
        missing=1
    fi
done
((missing)) && exit 1

# Tracked and untracked-but-not-ignored files, so new files are checked before they are committed.
mapfile -t files < <(git ls-files --cached --others --exclude-standard | sort -u)

echo "== Kubernetes manifests (kubernetes-validate $K8S_VERSION, strict: unknown fields are errors)"
manifests=0
for f in "${files[@]}"; do
    [[ $f == examples/k8s/*.yaml || $f == examples/k8s/*.yml ]] || continue
    [[ -f $f ]] || continue
    manifests=$((manifests + 1))
    check "k8s $f" "$kubernetes_validate" --kubernetes-version "$K8S_VERSION" --strict --quiet "$f"
done
((manifests > 0)) || fail "no manifests found under examples/k8s"

echo "== Dockerfiles (hadolint, any finding fails)"
dockerfiles=0
for f in "${files[@]}"; do
    base=${f##*/}
    [[ $base == Dockerfile || $base == Dockerfile.* || $base == *.Dockerfile ]] || continue
    [[ -f $f ]] || continue
    dockerfiles=$((dockerfiles + 1))
    check "hadolint $f" "$hadolint" --no-color "$f"
done
((dockerfiles > 0)) || fail "no Dockerfiles found"

echo "== shell scripts (shellcheck, any finding fails)"
for f in "${files[@]}"; do
    [[ $f == *.sh && -f $f ]] || continue
    check "shellcheck $f" shellcheck "$f"
done

# image_contract DOCKERFILE BINARY MANIFEST: the final stage (everything after the last FROM) is
# FROM scratch with only /BINARY, copied from a replaceable `binary` stage that is the cargo
# build's output; non-root; labelled with MANIFEST's version; the build stage maps TARGETARCH.
image_contract() {
    local dockerfile=$1 binary=$2 manifest=$3 final binary_stage cargo_version label
    echo "== $dockerfile: the image contract (tests/pods/run.sh and tests/compose/run.sh run the images)"
    final=$(awk '/^FROM /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$dockerfile")
    contract() { # contract NAME REGEX: REGEX must match a line of the final stage
        if grep -Eq "$2" <<<"$final"; then pass "$dockerfile final stage: $1"; else fail "$dockerfile final stage: $1 (want /$2/)"; fi
    }
    contract "is FROM scratch" '^FROM scratch$'
    contract "copies only /$binary, from the replaceable binary stage" "^COPY --from=binary /$binary /$binary\$"
    contract "runs as numeric non-root 65532" '^USER 65532:65532$'
    contract "ENTRYPOINT is exec-form /$binary" "^ENTRYPOINT \\[\"/$binary\"\\]\$"
    if [[ $(grep -Ec '^(COPY|ADD|RUN) ' <<<"$final") -eq 1 ]]; then
        pass "$dockerfile final stage: nothing else is added"
    else
        fail "$dockerfile final stage: has more than the one COPY"
    fi
    # scripts/build-image.sh replaces the `binary` stage with a build context holding a prebuilt
    # binary; without one, the stage must be the cargo build's output and nothing else.
    binary_stage=$(awk '/^FROM /{on = ($0 ~ / AS binary$/)} on' "$dockerfile")
    if [[ $(grep -c . <<<"$binary_stage") -eq 2 && $binary_stage == *$'\n'"COPY --from=build /$binary /$binary" ]] &&
        grep -q '^FROM scratch AS binary$' <<<"$binary_stage"; then
        pass "$dockerfile binary stage: FROM scratch with only the cargo build's /$binary"
    else
        fail "$dockerfile binary stage: want 'FROM scratch AS binary' + 'COPY --from=build /$binary /$binary', got: $binary_stage"
    fi
    cargo_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$manifest" | head -n 1)
    if grep -qx "ARG VERSION=$cargo_version" <<<"$final"; then
        pass "$dockerfile final stage: the version label's default is $manifest's $cargo_version"
    else
        fail "$dockerfile final stage: want 'ARG VERSION=$cargo_version' ($manifest's version)"
    fi
    for label in title version source licenses; do
        contract "has the org.opencontainers.image.$label label" "org\.opencontainers\.image\.$label="
    done
    # shellcheck disable=SC2016  # the literal text $BUILDPLATFORM is what must be in the file
    if grep -Eq '^FROM --platform=\$BUILDPLATFORM .* AS build$' "$dockerfile" \
        && grep -q 'amd64) echo x86_64-unknown-linux-musl' "$dockerfile" \
        && grep -q 'arm64) echo aarch64-unknown-linux-musl' "$dockerfile"; then
        pass "$dockerfile build stage: runs on BUILDPLATFORM, maps amd64/arm64 to the musl targets"
    else
        fail "$dockerfile build stage: BUILDPLATFORM or the TARGETARCH -> musl mapping is missing"
    fi
    # The image's binary embeds its crate list like scripts/build-static.sh's, with the same tool.
    if grep -q "cargo install cargo-auditable --locked --version $auditable_version\$" "$dockerfile" &&
        grep -q "cargo auditable build --release --locked --target \"\$target\" -p " "$dockerfile"; then
        pass "$dockerfile build stage: cargo auditable $auditable_version, as scripts/install-hardening.sh pins"
    else
        fail "$dockerfile build stage: want cargo-auditable $auditable_version and 'cargo auditable build ... -p'"
    fi
}
auditable_version=$(sed -n 's/^CARGO_AUDITABLE_VERSION="\(.*\)"$/\1/p' scripts/install-hardening.sh)
image_contract Dockerfile readygate Cargo.toml
image_contract mock-sidecar/Dockerfile mock-sidecar mock-sidecar/Cargo.toml

echo "== examples/docker/entrypoint.sh behaviour (with a stub readygate on PATH)"
# The stub records its arguments and exits with $STUB_RC, standing in for readygate's wait.
mkdir -p "$work/bin"
cat >"$work/bin/readygate" <<'STUB'
#!/bin/sh
printf '%s\n' "$*" >"$STUB_ARGS"
exit "$STUB_RC"
STUB
chmod +x "$work/bin/readygate"
entry="$repo/examples/docker/entrypoint.sh"
run_entry() { # run_entry RC CMD...: entrypoint.sh under POSIX sh (dash), stub exits RC; sets $rc
    local stub_rc=$1
    shift
    rc=0
    env PATH="$work/bin:$PATH" STUB_RC="$stub_rc" STUB_ARGS="$work/args" \
        dash "$entry" "$@" >"$work/out" 2>&1 || rc=$?
}
if ! command -v dash >/dev/null 2>&1; then
    fail "dash not found: entrypoint.sh must be tested with a POSIX sh"
else
    # Ready: the command runs by exec, i.e. in the same process as the shell that started it.
    rc=0
    # shellcheck disable=SC2016  # $$ must expand in the child shells, not here
    env PATH="$work/bin:$PATH" STUB_RC=0 STUB_ARGS="$work/args" \
        bash -c 'echo $$ >"$1"; shift; exec dash "$@"' _ "$work/pid" "$entry" sh -c 'echo $$; exit 3' \
        >"$work/out" 2>&1 || rc=$?
    if [[ $rc -eq 3 && "$(cat "$work/out")" == "$(cat "$work/pid")" ]]; then
        pass "entrypoint.sh: after the wait it execs the command (same PID, its exit code 3 kept)"
    else
        fail "entrypoint.sh: exec/exit code wrong (rc=$rc, out=$(cat "$work/out"), pid=$(cat "$work/pid"))"
    fi
    if [[ -z "$(cat "$work/args")" ]]; then
        pass "entrypoint.sh: calls readygate in wait-only mode (no command; settings from READYGATE_*)"
    else
        fail "entrypoint.sh: readygate got unexpected arguments: $(cat "$work/args")"
    fi
    # Not ready: readygate's 69 is the container's exit code and the command never runs.
    run_entry 69 sh -c 'echo COMMAND-RAN'
    if [[ $rc -eq 69 ]] && ! grep -q COMMAND-RAN "$work/out"; then
        pass "entrypoint.sh: a failed wait (69) stops before the command and exits 69"
    else
        fail "entrypoint.sh: failed wait gave rc=$rc, output: $(cat "$work/out")"
    fi
fi
