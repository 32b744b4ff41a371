# syntax=docker/dockerfile:1.7
# The release in a container: a build stage with the toolchain scripts/setup.sh installs (see
# ../shared/TOOLCHAIN.md for why each version), and a small runtime stage with the server binary, the built site and
# PostgreSQL's client tools for `server backup` / `server restore`. Build: docker build -t dalian-traffic .
# Both stages are Debian 12 (bookworm), so the binary finds the same glibc it was linked against.

ARG RUST_VERSION=1.95
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS node

FROM rust:${RUST_VERSION}-bookworm AS build
# The versions TOOLCHAIN.md verified: cargo-leptos 0.3.11 needs a newer rustc, and wasm-bindgen-cli must equal the
# wasm-bindgen crate Cargo.toml pins (checked below, after the sources are in).
ARG CARGO_LEPTOS_VERSION=0.3.10
ARG WASM_BINDGEN_VERSION=0.2.130

# Node and npm (WeUI, and binaryen's wasm-opt) from the official image: the same major version the project is
# developed and tested with. Debian's own binaryen is not used: its wasm-opt breaks hydration.
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version

# The tools, each its own layer so a change to the sources does not reinstall them (cargo-leptos takes ~12 min).
RUN rustup target add wasm32-unknown-unknown
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo install cargo-leptos@${CARGO_LEPTOS_VERSION} --locked --features no_downloads
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo install wasm-bindgen-cli --version ${WASM_BINDGEN_VERSION}

WORKDIR /src
# npm packages before the sources, so they are cached too.
COPY style/package.json style/package-lock.json style/
COPY end2end/package.json end2end/package-lock.json end2end/
RUN cd style && npm ci --no-audit --no-fund \
 && cd ../end2end && npm ci --no-audit --no-fund

COPY . .
RUN pinned=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml) \
 && if [ "$pinned" != "$WASM_BINDGEN_VERSION" ]; then \
      echo "Cargo.toml pins wasm-bindgen $pinned; build with --build-arg WASM_BINDGEN_VERSION=$pinned" >&2; exit 1; \
    fi
# setup.sh finds every tool present at its version and only copies WeUI into public/vendor.
RUN bash scripts/setup.sh
# The build's target folder is a cache between builds; what the runtime needs is copied out of it to /out.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    export PATH="/src/end2end/node_modules/.bin:$PATH" \
 && cargo leptos build --release \
 && ./target/release/server precompress \
 && mkdir -p /out \
 && cp target/release/server target/release/hash.txt /out/ \
 && cp -r target/site /out/site

FROM debian:bookworm-slim AS runtime
# postgresql-client: pg_dump and pg_restore for `server backup` and `server restore` on PostgreSQL (Debian 12's are
# version 15: the PostgreSQL server must be 15 or older). Nothing else is needed at run time: TLS to the vendors
# uses rustls with its own root certificates, and SQLite is built into the binary.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin app \
 && mkdir -p /data /backups \
 && chown app:app /data /backups

WORKDIR /app
COPY --from=build /out/server /out/hash.txt /app/
COPY --from=build /out/site /app/site
# scripts/backup.sh and restore.sh find the binary beside them: docker compose exec app1 /app/backup.sh
COPY scripts/backup.sh scripts/restore.sh /app/

# Production by default: the server refuses to start until the real providers are configured (README,
# "Running in containers"). A single container keeps SQLite in the /data volume; compose.yaml uses PostgreSQL.
ENV APP_ENV=production \
    LEPTOS_ENV=PROD \
    LEPTOS_SITE_ROOT=/app/site \
    LEPTOS_SITE_ADDR=0.0.0.0:3000 \
    DATABASE_URL=sqlite:///data/dalian-traffic.db \
    RUST_LOG=info,sqlx=warn \
    BACKUP_DIR=/backups
VOLUME ["/data"]
EXPOSE 3000
USER app

# The image has no curl: bash's /dev/tcp asks /healthz on the listen port and wants a 200.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${LEPTOS_SITE_ADDR##*:} && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r -t 2 status <&3 && [[ $status == *' 200 '* ]]"]

# `docker run IMAGE` serves; `docker run IMAGE backup /backups/FILE` and the other subcommands run the CLI.
ENTRYPOINT ["/app/server"]
