# Multi-stage build of the `cassetto` binary.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin cassetto

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/cassetto cassetto && mkdir -p /var/lib/cassetto && chown cassetto /var/lib/cassetto
COPY --from=build /src/target/release/cassetto /usr/local/bin/cassetto
COPY --from=build /src/frontend /opt/cassetto/frontend
USER cassetto
WORKDIR /opt/cassetto
ENV CASSETTO_DATA_DIR=/var/lib/cassetto CASSETTO_BIND=0.0.0.0:8080 CASSETTO_SPA_DIR=/opt/cassetto/frontend/dist
EXPOSE 8080
HEALTHCHECK CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
ENTRYPOINT ["cassetto"]
CMD ["serve"]
