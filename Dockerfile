# syntax=docker/dockerfile:1
# InitLab service image: build with the Swift 6.3.1 toolchain on Debian 12, run on debian:bookworm-slim with the
# Swift runtime linked statically (--static-swift-stdlib) and only the C libraries the binary needs.
#
#   docker build -t initlab .
#   docker run -p 8080:8080 -e INITLAB_TOKEN="$(openssl rand -hex 24)" -v initlab-data:/data initlab
#
# Package versions are pinned to Debian 12's current ones; bump them together when the base image moves.

FROM swift:6.3.1-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libcurl4-openssl-dev=7.88.1-10+deb12u15 \
        libsqlite3-dev=3.40.1-2+deb12u2 \
        zlib1g-dev=1:1.2.13.dfsg-1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so source edits do not invalidate the resolved-package layer.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
COPY openapi.yaml ./
RUN swift build -c release --product initlab --static-swift-stdlib \
    && mkdir -p /out \
    && cp "$(swift build -c release --show-bin-path)/initlab" /out/initlab \
    && find "$(swift build -c release --show-bin-path)" -maxdepth 1 -name '*.resources' -exec cp -R {} /out/ \;

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates=20250419~deb12u2 \
        curl=7.88.1-10+deb12u15 \
        libcurl4=7.88.1-10+deb12u15 \
        libsqlite3-0=3.40.1-2+deb12u2 \
        zlib1g=1:1.2.13.dfsg-1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 initlab \
    && useradd --system --uid 10001 --gid initlab --home-dir /data --shell /usr/sbin/nologin initlab \
    && mkdir -p /data \
    && chown initlab:initlab /data
COPY --from=build /out/ /usr/local/bin/
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
# Inside the container the service listens on every interface, so a token is mandatory: pass INITLAB_TOKEN
# at run time (the server refuses to start without one).
ENV INITLAB_HOST=0.0.0.0 \
    INITLAB_PORT=8080 \
    INITLAB_DATABASE=/data/initlab.sqlite \
    INITLAB_CACHE_DIR=/data/datasets
EXPOSE 8080
# The probe uses the in-container port 8080 (map another host port with -p instead of changing INITLAB_PORT).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["curl", "-fsS", "--max-time", "4", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/initlab"]
CMD ["serve"]
