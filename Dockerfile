# Crowdlend: a release build in a Rust image, run from a slim Debian image as
# a non-root user. Templates, static files and migrations are compiled into
# the binary, so the binary is all the runtime image needs.

FROM rust:1-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# The bundled SQLite's compile-time options.
COPY .cargo ./.cargo
COPY migration ./migration
# sqlx-core with the TCP_NODELAY fix (see Cargo.toml's [patch.crates-io]).
COPY vendor ./vendor
COPY src ./src
COPY templates ./templates
COPY static ./static
RUN cargo build --release --locked --bin crowdlend

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin crowdlend \
    && mkdir /data && chown crowdlend:crowdlend /data
COPY --from=builder /src/target/release/crowdlend /usr/local/bin/crowdlend
ENV DATA_DIR=/data \
    BIND=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
USER crowdlend
ENTRYPOINT ["/usr/local/bin/crowdlend"]
CMD ["serve"]
