# syntax=docker/dockerfile:1
# readygate image: one static musl binary at /readygate in an otherwise empty image, for
# `COPY --from=<your-registry>/readygate:0.2.0 /readygate ...` or as a wait-only init container.
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 -t readygate:0.2.0 .
# The final stage is the one definition of the shipped image: scripts/build-image.sh builds this
# same stage with buildah from prebuilt static binaries by replacing the `binary` stage with a
# named build context (`--build-context binary=DIR`, DIR holding `readygate`; docker buildx
# takes the same flag), so the cargo stage never runs there.

ARG RUST_VERSION=1.95.0

# The build stage always runs on the builder's own platform and cross-compiles, so an arm64
# image does not need a slow emulated compile.
FROM --platform=$BUILDPLATFORM rust:${RUST_VERSION}-slim-bookworm AS build
ARG TARGETARCH
ARG BUILDARCH
WORKDIR /src
# Docker arch name -> Rust musl target (the musl targets ship their own libc and crt objects).
RUN case "$TARGETARCH" in \
        amd64) echo x86_64-unknown-linux-musl ;; \
        arm64) echo aarch64-unknown-linux-musl ;; \
        *) echo "unsupported TARGETARCH '$TARGETARCH' (amd64 or arm64)" >&2; exit 1 ;; \
    esac > /rust-target \
    && rustup target add "$(cat /rust-target)"
# cargo auditable embeds the crate list in the binary, for scanners (as scripts/build-static.sh
# does; the version is scripts/install-hardening.sh's).
RUN cargo install cargo-auditable --locked --version 0.7.7
COPY . .
# rust-lld (shipped with rustup) links both musl targets, so no cross gcc is needed on either
# build platform; the result has no PT_INTERP and needs no libc, /etc or shell at run time.
# The smoke run only happens when the binary is native to the builder.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,id=readygate-target-${TARGETARCH} \
    target="$(cat /rust-target)" \
    && CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld \
       CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld \
       cargo auditable build --release --locked --target "$target" -p readygate \
    && cp "target/$target/release/readygate" /readygate \
    && if [ "$TARGETARCH" = "$BUILDARCH" ]; then /readygate --version; fi

# Where the final stage takes the binary from: the cargo stage above, unless a build context
# named `binary` replaces this stage (scripts/build-image.sh does, with a prebuilt binary).
FROM scratch AS binary
COPY --from=build /readygate /readygate

FROM scratch
# VERSION must equal Cargo.toml's version (scripts/check-packaging.sh checks it). SOURCE: the
# repository the image is built from (Cargo.toml names none yet; a fork passes its own URL).
ARG VERSION=0.2.0
ARG SOURCE=https://github.com/readygate/readygate
LABEL org.opencontainers.image.title="readygate" \
      org.opencontainers.image.description="Wait until the service-mesh sidecar is ready, then exec the application" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=binary /readygate /readygate
# Numeric, so it works without /etc/passwd (65532 is distroless's "nonroot").
USER 65532:65532
ENTRYPOINT ["/readygate"]
