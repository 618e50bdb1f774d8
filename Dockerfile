# syntax=docker/dockerfile:1
# vidq container image (docs/INSTALL.md, "Container"). Three stages:
#   build    Debian 12 with the toolchain; compiles the release configuration.
#   test     runs the whole ctest suite; the runtime stage copies its binary from here, so an
#            image is only produced when every test passed (BuildKit skips stages that the
#            target does not reference: a test stage nobody copies from would never run).
#   runtime  debian:bookworm-slim, shared libraries only, non-root, state on one volume.
#
#   docker build -t vidq .
#   docker run -d --name vidq -v vidq-data:/var/lib/vidq -p 127.0.0.1:8788:8788 \
#     -e ZHIPUAI_API_KEY --stop-timeout 30 vidq

FROM debian:bookworm AS build
WORKDIR /src
# Dependencies first: this layer is reused until scripts/install-deps changes.
COPY scripts/install-deps scripts/install-deps
RUN scripts/install-deps && rm -rf /var/lib/apt/lists/*
COPY . .
# Again with the tree present: the parts of install-deps that read it (the browser test's
# locked npm packages) could not run above. Idempotent: apt is not touched a second time.
RUN scripts/install-deps && scripts/build release

FROM build AS test
RUN ctest --test-dir build/release --output-on-failure --no-tests=error -j "$(nproc)" --timeout 600 \
 && strip --strip-debug -o /usr/bin/vidq build/release/apps/vidq/vidq

FROM debian:bookworm-slim AS runtime
# Runtime libraries of the binary (ldd build/release/apps/vidq/vidq), ca-certificates for
# the provider's TLS, sqlite3 for operators (`docker exec vidq sqlite3 vidq.db`).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates libsqlite3-0 libssl3 libtomlplusplus3 libcsv3 libsystemd0 \
      libboost-json1.81.0 libboost-url1.81.0 sqlite3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/vidq --create-home \
      --shell /usr/sbin/nologin vidq \
 && mkdir -p /var/lib/vidq/spool/done /var/lib/vidq/spool/failed \
 && chown -R vidq:vidq /var/lib/vidq && chmod 0750 /var/lib/vidq
COPY --from=test /usr/bin/vidq /usr/bin/vidq
COPY systemd/vidq-import-spool /usr/libexec/vidq/vidq-import-spool
# The container's config: absolute paths on the volume; the API key from $ZHIPUAI_API_KEY or
# a mounted secret file; the status server on all of the container's interfaces (publish it
# on the host's loopback only). Mount your own file over it to change anything.
COPY <<'EOF' /etc/vidq/vidq.toml
[database]
path = "/var/lib/vidq/vidq.db"

[output]
dir = "/var/lib/vidq/videos"

[[accounts]]
name = "default"
provider = "bigmodel"
api_key_env = "ZHIPUAI_API_KEY"
api_key_file = "/run/secrets/bigmodel-key"
tier = "V0"

[status]
listen = "0.0.0.0:8788"
token_env = "VIDQ_STATUS_TOKEN"
# Off loopback, every endpoint but /healthz needs the token, and the Host header must be a
# loopback name (a port published on the host's 127.0.0.1) or one listed here.
allowed_hosts = []
public_read = false
EOF
COPY config/vidq.example.toml /etc/vidq/vidq.toml.example

USER 10001:10001
WORKDIR /var/lib/vidq
VOLUME ["/var/lib/vidq"]
ENV VIDQ_CONFIG=/etc/vidq/vidq.toml
EXPOSE 8788
# The daemon's graceful shutdown (20 s grace) starts on SIGTERM; give `docker stop` at least
# 30 s (--stop-timeout 30, compose stop_grace_period: 30s), the default 10 s is too short.
STOPSIGNAL SIGTERM
# GET /healthz over bash's /dev/tcp: no curl in the image, and a real HTTP 200 from the
# daemon's status server rather than a mere open port. Port 8788 is [status] listen above.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8788 && printf 'GET /healthz HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
# Exec form: vidq is PID 1 and receives SIGTERM itself (a shell would swallow it).
ENTRYPOINT ["/usr/bin/vidq"]
CMD ["run"]
