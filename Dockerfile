# syntax=docker/dockerfile:1
# vidq container image (docs/INSTALL.md, "Container"). Stages:
#   build             Debian 12 with the toolchain; compiles the release configuration.
#   test              runs the whole ctest suite; the runtime stage copies its binary from
#                     here, so an image is only produced when every test passed (BuildKit
#                     skips stages that the target does not reference: a test stage nobody
#                     copies from would never run).
#   runtime-base      debian:bookworm-slim, shared libraries only, non-root, state on one
#                     volume: everything but the binary.
#   runtime-prebuilt  runtime-base plus a binary built elsewhere, taken from prebuilt/vidq in
#                     the build context (tests/packaging/image builds the suite's binary so).
#   runtime           runtime-base plus the tested binary: the default target.
#
#   docker build -t vidq .
#   docker run -d --name vidq -v vidq-data:/var/lib/vidq -p 127.0.0.1:8788:8788 \
#     -e ZHIPUAI_API_KEY --stop-timeout 30 vidq
#
# No heredocs (COPY <<EOF): Debian 12's podman 4.3 / buildah 1.28 read their lines as
# instructions. Files the image needs live in the repository and are COPYed.

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
# The PostgreSQL store tests need a server: a throwaway cluster, as scripts/test starts one.
RUN pg_dir=$(mktemp -d /tmp/vidq-pg.XXXXXX) \
 && VIDQ_TEST_PG_URL=$(scripts/pg-test-cluster start "$pg_dir") \
 && export VIDQ_TEST_PG_URL \
 && status=0 \
 && { ctest --test-dir build/release --output-on-failure --no-tests=error -j "$(nproc)" --timeout 600 || status=$?; } \
 && scripts/pg-test-cluster stop "$pg_dir" \
 && test "$status" -eq 0 \
 && strip --strip-debug -o /usr/bin/vidq build/release/apps/vidq/vidq

FROM debian:bookworm-slim AS runtime-base
# Runtime libraries of the binary (ldd build/release/apps/vidq/vidq), ca-certificates for
# the provider's TLS, sqlite3 for operators (`docker exec vidq sqlite3 vidq.db`). The group
# is created first with its GID: `useradd --user-group` would give it the next free system
# GID (999), not the 10001 of USER below, and files on the volume would split between both.
# No --create-home: /etc/skel's dotfiles have no business on the data volume.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates libsqlite3-0 libssl3 libtomlplusplus3 libcsv3 libsystemd0 libpq5 \
      libboost-json1.81.0 libboost-url1.81.0 sqlite3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 vidq \
 && useradd --system --uid 10001 --gid 10001 --no-user-group --home-dir /var/lib/vidq \
      --no-create-home --shell /usr/sbin/nologin vidq \
 && mkdir -p /var/lib/vidq/spool/done /var/lib/vidq/spool/failed \
 && chown -R vidq:vidq /var/lib/vidq && chmod 0750 /var/lib/vidq
COPY systemd/vidq-import-spool /usr/libexec/vidq/vidq-import-spool
# The container's config: absolute paths on the volume, the key from the environment or a
# mounted secret, the status server on the container's interfaces (see the file).
COPY config/vidq.container.toml /etc/vidq/vidq.toml
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
# daemon's status server rather than a mere open port. Port 8788 is [status] listen in
# config/vidq.container.toml.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8788 && printf 'GET /healthz HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
# Exec form: vidq is PID 1 and receives SIGTERM itself (a shell would swallow it).
ENTRYPOINT ["/usr/bin/vidq"]
CMD ["run"]

# The binary from the build context (prebuilt/vidq, not a build dir: .dockerignore drops
# those): `install -D build/release/apps/vidq/vidq prebuilt/vidq` first. Same image otherwise.
FROM runtime-base AS runtime-prebuilt
COPY prebuilt/vidq /usr/bin/vidq

# Last, so that a plain `docker build .` produces it: the binary that passed the test stage.
FROM runtime-base AS runtime
COPY --from=test /usr/bin/vidq /usr/bin/vidq
