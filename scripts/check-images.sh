#!/usr/bin/env bash
# Checks what scripts/build-image.sh wrote in target/oci: each image's archive holds only its one
# static binary, runs as 65532:65532 with that binary as ENTRYPOINT, carries the OCI labels with
# its Cargo.toml's version, and has a CycloneDX SBOM beside it that is schema-valid and lists
# exactly the crates embedded in the binary inside that archive, tokio and hyper among them.
# No container engine: the archives are read as files (scripts/sbom.py).
#
# Usage: scripts/check-images.sh   (after scripts/build-image.sh; the tools venv of
#                                   scripts/install-packaging.sh, rust-audit-info)
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$repo/scripts/lib.sh"
out=${READYGATE_OCI_DIR:-${CARGO_TARGET_DIR:-$repo/target}/oci}
python=${READYGATE_TOOLS:-$HOME/.cache/readygate-tools}/venv/bin/python
version_of() { sed -n 's/^version = "\(.*\)"$/\1/p' "$1" | head -n 1; }

if ! "$python" -c 'import cyclonedx.validation.json' 2>/dev/null; then
    fail "cyclonedx-python-lib missing from $python (run scripts/install-packaging.sh)"
    summary
    exit 1
fi

# contents ARCHIVE BINARY: "arch user entrypoint version licenses title has-source layers files"
contents() {
    PYTHONPATH="$repo/scripts" "$python" - "$1" "$2" <<'EOF'
import gzip, io, json, sys, tarfile
archive, binary = sys.argv[1:]
with tarfile.open(archive) as tar:
    blob = lambda d: tar.extractfile("blobs/sha256/" + d.split(":", 1)[1]).read()
    manifest = json.loads(blob(json.loads(tar.extractfile("index.json").read())["manifests"][0]["digest"]))
    config = json.loads(blob(manifest["config"]["digest"]))
    files = []
    for layer in manifest["layers"]:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(layer["digest"])))) as t:
            files += [m.name for m in t.getmembers()]
c, labels = config["config"], config["config"].get("Labels", {})
print(config["architecture"], c.get("User"), c.get("Entrypoint"),
      labels.get("org.opencontainers.image.version"), labels.get("org.opencontainers.image.licenses"),
      labels.get("org.opencontainers.image.title"), bool(labels.get("org.opencontainers.image.source")),
      len(manifest["layers"]), files)
EOF
}

# check_image IMAGE BINARY VERSION: both architectures' archives and SBOMs.
check_image() {
    local image=$1 binary=$2 version=$3 arch archive got want why
    for arch in amd64 arm64; do
        archive=$out/$image-$version-linux-$arch.tar
        if [[ ! -f $archive ]]; then
            fail "$archive missing (run scripts/build-image.sh)"
            continue
        fi
        got=$(contents "$archive" "$binary" 2>&1)
        want="$arch 65532:65532 ['/$binary'] $version Apache-2.0 $image True 1 ['$binary']"
        if [[ $got == "$want" ]]; then
            pass "$image $arch archive: only /$binary, user 65532:65532, ENTRYPOINT /$binary, OCI labels ($version)"
        else
            fail "$image $arch archive" "got '$got', want '$want'"
        fi
        if why=$("$python" "$repo/scripts/sbom.py" check "$archive" "${archive%.tar}.cdx.json" --binary "/$binary" 2>&1); then
            pass "$image $arch SBOM: $why"
        else
            fail "$image $arch SBOM ${archive%.tar}.cdx.json" "$why"
        fi
    done
}

check_image readygate readygate "$(version_of "$repo/Cargo.toml")"
check_image readygate-mock-sidecar mock-sidecar "$(version_of "$repo/mock-sidecar/Cargo.toml")"
summary
