#!/usr/bin/env bash
# Installs what scripts/build-image.sh and tests/pods/run.sh need: buildah, podman, runc (crun,
# podman's default, cannot run on this machine kind's hybrid cgroups), skopeo (OCI archive checks),
# qemu-user-static (the arm64 binary), iptables (copied into the istio-init image), redis-server
# (the external service), busybox-static and python3-yaml (the test app image and the test's
# sidecar injector). Idempotent: installs only what is missing. Root only (apt-get).
set -euo pipefail

die() { echo "install-pods: ERROR: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (apt-get)"

need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v buildah >/dev/null 2>&1 || need+=(buildah)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v qemu-aarch64-static >/dev/null 2>&1 || need+=(qemu-user-static)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v nsenter >/dev/null 2>&1 || need+=(util-linux)
command -v file >/dev/null 2>&1 || need+=(file)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# The app image's shell and tools (one static file), and the sidecar injector's YAML parser.
[ -x /bin/busybox ] && file -b /bin/busybox | grep -q static || need+=(busybox-static)
/usr/bin/python3 -c 'import yaml' >/dev/null 2>&1 || need+=(python3 python3-yaml)
# podman's pod networking (netavark/aardvark come with podman) and its pause image builder.
command -v catatonit >/dev/null 2>&1 || [ -x /usr/libexec/podman/catatonit ] || need+=(catatonit)
if [ "${#need[@]}" -gt 0 ]; then
    echo "install-pods: apt-get install ${need[*]}" >&2
    apt-get update -qq || die "apt-get update failed"
    # policy-rc.d in the base image keeps redis-server's service from starting on install.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
        || die "apt-get install ${need[*]} failed"
fi
for c in podman buildah runc skopeo qemu-aarch64-static iptables redis-server redis-cli nsenter file curl ip busybox; do
    command -v "$c" >/dev/null 2>&1 || die "$c still missing after install"
done
