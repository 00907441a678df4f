#!/usr/bin/env bash
# Builds the readygate image and the mock sidecar's image for linux/amd64 and linux/arm64 with
# buildah, from the static binaries scripts/build-static.sh made, and saves each as an OCI archive
# with a CycloneDX SBOM beside it:
#   target/oci/readygate-VERSION-linux-{amd64,arm64}.tar               (image readygate:VERSION)
#   target/oci/readygate-mock-sidecar-VERSION-linux-{amd64,arm64}.tar  (readygate-mock-sidecar:VERSION)
#   target/oci/*.cdx.json   the SBOM of the archive of the same name: the crates embedded in its
#                           binary by cargo auditable, read back (scripts/sbom.py)
# Load one with `podman load -i FILE`, `skopeo copy oci-archive:FILE docker-daemon:NAME:VERSION`
# or `docker load -i FILE` (Docker 25+ reads OCI archives).
#
# There is one definition of each image: its Dockerfile's final stage (the root Dockerfile,
# mock-sidecar/Dockerfile). This script builds that very stage, replacing its `binary` stage with a
# build context holding the prebuilt binary, so the cargo stage never runs and the build is
# COPY-only: no emulation is needed for arm64.
# buildah uses a private, throwaway vfs store, so nothing is left in the caller's image store.
#
# Usage: scripts/build-image.sh   (after scripts/build-static.sh; CARGO_TARGET_DIR honoured)
#   READYGATE_OCI_DIR  where the archives go (default: $CARGO_TARGET_DIR/oci, i.e. target/oci)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$repo/target}
out=${READYGATE_OCI_DIR:-$target_dir/oci}
# version_of MANIFEST: the package version a Cargo.toml declares.
version_of() { sed -n 's/^version = "\(.*\)"$/\1/p' "$1" | head -n 1; }

die() { echo "build-image: ERROR: $*" >&2; exit 1; }
command -v buildah >/dev/null 2>&1 || die "buildah not found (scripts/install-pods.sh installs it)"
command -v rust-audit-info >/dev/null 2>&1 || die "rust-audit-info not found (scripts/install-hardening.sh)"

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

# build IMAGE BINARY DOCKERFILE VERSION: both architectures of one image, each with its SBOM.
build() {
    local image=$1 binary=$2 dockerfile=$3 version=$4 arch rust_target bin tag archive ctx
    [[ -n $version ]] || die "no version for $image"
    for arch in amd64 arm64; do
        case $arch in
            amd64) rust_target=x86_64-unknown-linux-musl ;;
            arm64) rust_target=aarch64-unknown-linux-musl ;;
        esac
        bin=$target_dir/$rust_target/release/$binary
        [[ -x $bin ]] || die "$bin missing: run scripts/build-static.sh first"
        ctx=$work/$image-$arch
        mkdir -p "$ctx"
        cp "$bin" "$ctx/$binary"
        tag=localhost/$image:$version-$arch
        archive=$out/$image-$version-linux-$arch.tar
        echo "build-image: $image linux/$arch from $bin" >&2
        # The context is empty: the final stage only copies from the `binary` stage.
        buildah --storage-driver vfs bud --quiet --isolation chroot --platform "linux/$arch" \
            --identity-label=false --timestamp "$epoch" --build-arg "BUILDARCH=$build_arch" \
            --build-context "binary=$ctx" \
            -f "$dockerfile" -t "$tag" "$work/context" >/dev/null
        rm -f "$archive"
        # The archive's reference name is IMAGE:VERSION, so each loads under that name.
        buildah --storage-driver vfs push --quiet "$tag" "oci-archive:$archive:$image:$version"
        SOURCE_DATE_EPOCH=$epoch python3 "$repo/scripts/sbom.py" write "$bin" \
            --name "$image" --version "$version" --arch "$arch" --out "${archive%.tar}.cdx.json"
        echo "build-image: $archive ($(stat -c %s "$archive") bytes) and ${archive%.tar}.cdx.json" >&2
    done
}

build readygate readygate "$repo/Dockerfile" "$(version_of "$repo/Cargo.toml")"
build readygate-mock-sidecar mock-sidecar "$repo/mock-sidecar/Dockerfile" \
    "$(version_of "$repo/mock-sidecar/Cargo.toml")"
