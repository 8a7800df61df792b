# syntax=docker/dockerfile:1
# leadsync: multi-stage build. Dependencies are compiled in their own layer (from Cargo.toml and
# Cargo.lock only), so editing src/ rebuilds just the crate. CI replays this file (.ci/docker-replay).

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependency layer: the real manifest and lock file, and a stub for every target the manifest
# declares (derived from it by the script, so a new bench or test cannot break this layer).
COPY Cargo.toml Cargo.lock ./
COPY docker/stub-targets.sh ./docker/stub-targets.sh
RUN sh docker/stub-targets.sh Cargo.toml \
 && cargo build --release --locked --bin leadsync
# The real sources overwrite the stubs (migrations, config/default.toml and the Apps Script are
# compiled in). The stubs of targets not copied here (tests) stay, so the manifest stays valid.
COPY src ./src
COPY migrations ./migrations
COPY migrations_pg ./migrations_pg
COPY config ./config
COPY apps-script/Code.gs ./apps-script/Code.gs
COPY benches ./benches
# COPY keeps the files' older times: touch the crate roots so cargo rebuilds over the stub build.
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked --bin leadsync

FROM debian:bookworm-slim AS runtime
# ca-certificates: the system trust store rustls verifies api.trello.com and Google against.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 leadsync \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin leadsync \
 && mkdir -p /data /etc/leadsync \
 && chown 10001:10001 /data
COPY --from=build /src/target/release/leadsync /usr/local/bin/leadsync
COPY config/example.toml /etc/leadsync/leadsync.toml
ENV LEADSYNC_CONFIG=/etc/leadsync/leadsync.toml \
    LEADSYNC__SERVER__BIND=0.0.0.0:8080 \
    LEADSYNC__DATABASE__URL=sqlite:///data/leadsync.db \
    LEADSYNC__GOOGLE__CREDENTIALS_FILE=/etc/leadsync/service_account.json
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# Readiness: `healthcheck` asks /readyz on the port of server.bind (503 when the database is gone).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/leadsync", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/leadsync"]
CMD ["serve"]
