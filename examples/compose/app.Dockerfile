# The demo application's image, shaped like yours: readygate copied from its image and put in
# front of the command as the ENTRYPOINT prefix. FROM scratch, so demo-app is a static binary
# built beforehand: musl-gcc -static -Os -o demo-app demo-app.c
ARG READYGATE_IMAGE=readygate:0.2.0
FROM ${READYGATE_IMAGE} AS readygate

FROM scratch
COPY demo-app /app/demo-app
COPY --from=readygate /readygate /usr/local/bin/readygate
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/readygate", "--"]
CMD ["/app/demo-app", "app", "--serve"]
