#!/usr/bin/env bash
# Builds the readygate image for linux/amd64 and linux/arm64 with buildah, from the static binaries
# scripts/build-static.sh made, and saves each as an OCI archive:
#   target/oci/readygate-VERSION-linux-{amd64,arm64}.tar   (image name readygate:VERSION)
# Load one with `podman load -i FILE`, `skopeo copy oci-archive:FILE docker-daemon:readygate:VERSION`
# or `docker load -i FILE` (Docker 25+ reads OCI archives).
#
# There is one definition of the image: the root Dockerfile's final stage. This script builds that
# very stage, replacing its `binary` stage with a build context holding the prebuilt binary, so the
# cargo stage never runs and the build is COPY-only: no emulation is needed for arm64.
# buildah uses a private, throwaway vfs store, so nothing is left in the caller's image store.
#
# Usage: scripts/build-image.sh   (after scripts/build-static.sh; CARGO_TARGET_DIR honoured)
#   READYGATE_OCI_DIR  where the archives go (default: $CARGO_TARGET_DIR/oci, i.e. target/oci)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$repo/target}
out=${READYGATE_OCI_DIR:-$target_dir/oci}
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -n 1)

die() { echo "build-image: ERROR: $*" >&2; exit 1; }
command -v buildah >/dev/null 2>&1 || die "buildah not found (scripts/install-pods.sh installs it)"
[[ -n $version ]] || die "no version in Cargo.toml"

work=$(mktemp -d /tmp/readygate-image.XXXXXX)
# buildah bud leaves no working containers behind, so removing the store's directory is all.
trap 'rm -rf "$work"' EXIT
# A private store: vfs works on every kernel and filesystem, and a COPY-only build is small.
cat >"$work/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "$work/run"
graphroot = "$work/graph"
EOF
export CONTAINERS_STORAGE_CONF="$work/storage.conf"
mkdir -p "$work/context" "$out"

# The image's timestamps come from the last commit, so a rebuild of the same commit is identical.
epoch=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 0)
# Only the skipped cargo stage uses BUILDARCH; naming it keeps buildah from warning.
build_arch=$(buildah --storage-driver vfs info --format "{{.host.arch}}" 2>/dev/null || echo amd64)

for arch in amd64 arm64; do
    case $arch in
        amd64) rust_target=x86_64-unknown-linux-musl ;;
        arm64) rust_target=aarch64-unknown-linux-musl ;;
    esac
    bin=$target_dir/$rust_target/release/readygate
    [[ -x $bin ]] || die "$bin missing: run scripts/build-static.sh first"
    mkdir -p "$work/binary-$arch"
    cp "$bin" "$work/binary-$arch/readygate"
    tag=localhost/readygate:$version-$arch
    archive=$out/readygate-$version-linux-$arch.tar
    echo "build-image: linux/$arch from $bin" >&2
    # The context is empty: the final stage only copies from the `binary` stage.
    buildah --storage-driver vfs bud --quiet --isolation chroot --platform "linux/$arch" \
        --identity-label=false --timestamp "$epoch" --build-arg "BUILDARCH=$build_arch" \
        --build-context "binary=$work/binary-$arch" \
        -f "$repo/Dockerfile" -t "$tag" "$work/context" >/dev/null
    rm -f "$archive"
    # The archive's reference name is readygate:VERSION, so each loads under that name.
    buildah --storage-driver vfs push --quiet "$tag" "oci-archive:$archive:readygate:$version"
    echo "build-image: $archive ($(stat -c %s "$archive") bytes)" >&2
done
