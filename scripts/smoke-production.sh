#!/usr/bin/env bash
# The production smoke test: the release binary with APP_ENV=production and the real providers (WeChat web sign-in,
# WeChat Pay API v3, Tencent Cloud SMS, ICBC), pointed at their loopback fakes (`fake-vendors`, which also plays the
# HTTPS reverse proxy in front of the app). One browser walk: WeChat sign-in → 实名认证 → 缴费 through the JSAPI
# page (the spec's WeixinJSBridge talks to the fake) → verified notification → receipt.
# Run by scripts/test.sh after the release build; prints Playwright's results to end2end/test-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
say() { printf '\033[1m[smoke]\033[0m %s\n' "$*"; }

cargo build --release -q -p providers --features fakes --bin fake-vendors
WORK=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

export FAKES_PORT=${FAKES_PORT:-3300}
export FAKES_APP_ADDR=127.0.0.1:$((FAKES_PORT - 1))
./target/release/fake-vendors "$WORK/vendors.env" > "$WORK/fakes.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$WORK/vendors.env" ] && break; sleep 0.1; done
[ -s "$WORK/vendors.env" ] || { cat "$WORK/fakes.log"; echo "the fakes did not start" >&2; exit 1; }

DB="sqlite://$WORK/production.db"
say "loading the demo data with the operators' import command"
DATABASE_URL=$DB RUST_LOG=warn ./target/release/server import demo > /dev/null

say "starting the release binary in production mode"
(
  set -a
  # shellcheck disable=SC1091
  . "$WORK/vendors.env"
  set +a
  export APP_ENV=production DEV_LOGIN=false DATABASE_URL=$DB LEPTOS_SITE_ROOT=target/site LEPTOS_ENV=PROD
  export COOKIE_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  export RUST_LOG=${SMOKE_RUST_LOG:-warn}
  exec ./target/release/server
) > "$WORK/server.log" 2>&1 &
pids+=($!)
BASE=$(sed -n 's/^APP_BASE_URL=//p' "$WORK/vendors.env")
for _ in $(seq 150); do curl -skf -o /dev/null "$BASE/" && break; sleep 0.2; done
if ! curl -skf -o /dev/null "$BASE/"; then
  cat "$WORK/server.log"
  echo "the production server did not start" >&2
  exit 1
fi

say "Playwright: the production walk"
set -a
# shellcheck disable=SC1091
. "$WORK/vendors.env"
set +a
status=0
(cd end2end && SMOKE_BASE_URL=$BASE npx playwright test --config production/playwright.config.ts) || status=1
if [ "$status" != 0 ]; then
  say "server log:"; tail -50 "$WORK/server.log"
  say "fakes log:"; tail -50 "$WORK/fakes.log"
fi
exit "$status"
