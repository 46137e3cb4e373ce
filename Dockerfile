# syntax=docker/dockerfile:1
#
# palisade: a static binary (x86_64 musl) in an otherwise empty image.
#
#   docker build -t ghcr.io/palisade-sec/palisade:0.1.0 .
#
# The image runs as 65532:65532 (no passwd entry needed: the ids are
# numeric) with nothing else in it: no shell, no package manager. The same
# binary serves `palisade scan` in CI and `palisade serve` in the cluster
# (deploy/deployment.yaml).

ARG RUST_VERSION=1

# ---- build ----------------------------------------------------------------
FROM rust:${RUST_VERSION}-bookworm AS build

ARG TARGET=x86_64-unknown-linux-musl

# musl-tools: musl-gcc, for the C code some dependencies compile
# (mimalloc, aws-lc).
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/*
RUN rustup target add "${TARGET}"

WORKDIR /src
COPY . .

# The release profile already has no debug info; the image's binary drops
# its symbols too.
ENV CARGO_PROFILE_RELEASE_STRIP=symbols

# The cache mounts keep the registry and target/ between builds; the binary
# is copied out of them. The build fails if the binary is not static (it
# would not run in scratch).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p palisade --target "${TARGET}" \
 && install -D -m 0555 "target/${TARGET}/release/palisade" /out/palisade \
 && if readelf -l /out/palisade | grep -q 'program interpreter'; then \
      echo "palisade is dynamically linked" >&2; exit 1; \
    fi \
 && /out/palisade --version

# ---- runtime --------------------------------------------------------------
FROM scratch

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="palisade" \
      org.opencontainers.image.description="Kubernetes workload security: Pod Security Standards and hardening checks for manifests in CI, the same policy in the cluster" \
      org.opencontainers.image.source="https://github.com/palisade-sec/palisade" \
      org.opencontainers.image.url="https://github.com/palisade-sec/palisade" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"

COPY --from=build /out/palisade /palisade

USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/palisade"]
