# The test application image for tests/pods/run.sh: busybox, redis-cli with its libraries and
# /app/server, plus readygate taken from the shipped image exactly as the README tells users to.
ARG READYGATE_IMAGE=localhost/readygate:0.2.0
FROM ${READYGATE_IMAGE} AS readygate

FROM scratch
COPY rootfs/ /
COPY --from=readygate /readygate /usr/local/bin/readygate
USER 65532:65532
ENTRYPOINT ["/app/server"]
