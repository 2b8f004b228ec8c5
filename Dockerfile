# Cassetto: the `cassetto` binary and the web app in one image.
#
#   docker build -t cassetto .
#   docker run -p 8080:8080 -v cassetto-data:/var/lib/cassetto cassetto            # serve
#   docker run ... cassetto worker | migrate | seed-demo | user add ...
#
# Stages: `build` compiles the server, `web` builds the SPA (frontend/, its own Cargo workspace)
# with the repository's scripts/build-frontend.sh, the last stage is a slim runtime image that
# runs as an unprivileged user. See docs/OPERATIONS.md.

# --- 1. the server -------------------------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin cassetto \
    && install -m 0755 target/release/cassetto /usr/local/bin/cassetto \
    && cassetto --version

# --- 2. the web app (Leptos, wasm32, built by Trunk) ---------------------------------------
FROM rust:1-bookworm AS web
# wasm-opt (binaryen) and npm (Bootstrap Italia) from Debian, as scripts/build-frontend.sh uses.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends binaryen nodejs npm \
    && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-unknown-unknown
# Trunk and wasm-bindgen-cli at the versions the build script pins (Trunk: TRUNK_VERSION in the
# script; wasm-bindgen: the version in frontend/Cargo.lock), installed where the script looks for
# them, in a layer that only these two files invalidate.
ENV CASSETTO_TOOLS_DIR=/opt/cassetto-tools
COPY scripts/build-frontend.sh frontend/Cargo.lock /tmp/pins/
RUN trunk_version=$(sed -n 's/^TRUNK_VERSION=//p' /tmp/pins/build-frontend.sh) \
    && bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' /tmp/pins/Cargo.lock) \
    && test -n "$trunk_version" && test -n "$bindgen_version" \
    && cargo install trunk --version "$trunk_version" --locked --root "$CASSETTO_TOOLS_DIR" \
    && cargo install wasm-bindgen-cli --version "=$bindgen_version" --locked --root "$CASSETTO_TOOLS_DIR" \
    && rm -rf "$CARGO_HOME/registry" /tmp/pins
WORKDIR /src
COPY . .
# Runs `npm ci` for Bootstrap Italia, then `trunk build --release` into frontend/dist.
RUN scripts/build-frontend.sh && test -f frontend/dist/index.html

# --- 3. the runtime image ------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 cassetto \
    && useradd --system --uid 10001 --gid cassetto --home-dir /var/lib/cassetto --shell /usr/sbin/nologin cassetto \
    && install -d -o cassetto -g cassetto -m 0750 /var/lib/cassetto
COPY --from=build /usr/local/bin/cassetto /usr/local/bin/cassetto
COPY --from=web /src/frontend/dist /opt/cassetto/frontend/dist
WORKDIR /opt/cassetto
# Defaults for a container; every CASSETTO_* variable can be overridden (docs/OPERATIONS.md).
# Without CASSETTO_DATABASE_URL the database is SQLite in the data dir (one instance only).
ENV CASSETTO_DATA_DIR=/var/lib/cassetto \
    CASSETTO_BIND=0.0.0.0:8080 \
    CASSETTO_SPA_DIR=/opt/cassetto/frontend/dist \
    CASSETTO_LOG_FORMAT=json
USER cassetto:cassetto
EXPOSE 8080
# Ready when the database answers and every migration is applied: GET /readyz must answer 200.
# No curl in the slim image: bash's /dev/tcp, on the port of CASSETTO_BIND. Only `serve` listens:
# disable the check for `worker` and `migrate` containers (docker-compose.yml does).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${CASSETTO_BIND##*:} && printf 'GET /readyz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q '^HTTP/1\\.[01] 200 '"]
# `serve` stops gracefully on SIGTERM (up to 30 s for requests in flight).
STOPSIGNAL SIGTERM
ENTRYPOINT ["cassetto"]
CMD ["serve"]
