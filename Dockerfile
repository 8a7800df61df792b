# syntax=docker/dockerfile:1
# leadsync: multi-stage build. Dependencies are compiled in their own layer (from Cargo.toml and
# Cargo.lock only), so editing src/ rebuilds just the crate. CI runs the same cargo command.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependency layer: a skeleton crate with the real manifest and lock file.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src tests/it benches \
 && echo 'fn main() {}' > src/main.rs \
 && echo 'fn main() {}' > benches/ingest.rs \
 && touch src/lib.rs tests/it/main.rs \
 && cargo build --release --locked --bin leadsync \
 && rm -rf src tests benches
# The real sources (migrations and config/default.toml are compiled in).
COPY src ./src
COPY migrations ./migrations
COPY config ./config
COPY apps-script/Code.gs ./apps-script/Code.gs
# Cargo.toml names the benchmark target, so its file must be present to build at all.
COPY benches ./benches
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked --bin leadsync \
 && cp target/release/leadsync /usr/local/bin/leadsync

FROM debian:bookworm-slim AS runtime
# ca-certificates: the system trust store rustls verifies api.trello.com and Google against.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 leadsync \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin leadsync \
 && mkdir -p /data /etc/leadsync \
 && chown 10001:10001 /data
COPY --from=build /usr/local/bin/leadsync /usr/local/bin/leadsync
COPY config/example.toml /etc/leadsync/leadsync.toml
ENV LEADSYNC_CONFIG=/etc/leadsync/leadsync.toml \
    LEADSYNC__SERVER__BIND=0.0.0.0:8080 \
    LEADSYNC__DATABASE__URL=sqlite:///data/leadsync.db \
    LEADSYNC__GOOGLE__CREDENTIALS_FILE=/etc/leadsync/service_account.json
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/leadsync", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/leadsync"]
CMD ["serve"]
