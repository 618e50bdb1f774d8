# syntax=docker/dockerfile:1
# Multi-stage build: compile on Debian 12, run the whole test suite as a build stage, ship
# a slim runtime image with a non-root user.

FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps scripts/install-deps
RUN scripts/install-deps
COPY . .
RUN scripts/build release

FROM build AS test
RUN ctest --test-dir build/release --output-on-failure -j "$(nproc)"

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates libsqlite3-0 libssl3 libtomlplusplus3 libcsv3 \
      libboost-json1.81.0 libboost-url1.81.0 libboost-container1.81.0 sqlite3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/vidq --create-home --shell /usr/sbin/nologin vidq
COPY --from=build /src/build/release/apps/vidq/vidq /usr/local/bin/vidq
COPY config/vidq.example.toml /etc/vidq/vidq.toml.example
USER vidq
WORKDIR /var/lib/vidq
VOLUME ["/var/lib/vidq"]
ENV VIDQ_CONFIG=/etc/vidq/vidq.toml
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/vidq"]
CMD ["status"]
