# The istio-init stand-in for tests/pods/run.sh: iptables (nft backend) with its libraries and
# extensions, loading /etc/istio-init/rules like istio-init's iptables-restore does.
FROM scratch
COPY rootfs/ /
ENTRYPOINT ["/usr/sbin/iptables-restore", "/etc/istio-init/rules"]
