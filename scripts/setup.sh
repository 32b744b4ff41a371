#!/usr/bin/env bash
# Installs what building and running the app needs, skipping whatever is already present at the right version.
# Versions are those verified in TOOLCHAIN.md: cargo-leptos 0.3.10 (built with no_downloads, so it never fetches
# binaries at run time) and wasm-bindgen-cli equal to the wasm-bindgen crate pinned in Cargo.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 12 minutes on 2 cores)"
  cargo install cargo-leptos@"$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if ! command -v npm >/dev/null; then
  say "installing Node.js and npm from apt"
  apt-get update -qq && apt-get install -y -qq nodejs npm
fi

# WeUI comes from npm; the page links it as /vendor/weui.min.css from the assets folder.
if [ ! -f style/node_modules/weui/dist/style/weui.min.css ]; then
  say "installing WeUI from npm"
  (cd style && npm install --no-audit --no-fund --silent)
fi
mkdir -p public/vendor
cp style/node_modules/weui/dist/style/weui.min.css public/vendor/weui.min.css
