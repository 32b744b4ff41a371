#!/usr/bin/env bash
# Runs every test: formatting, domain unit tests, server integration tests on SQLite and PostgreSQL, then the
# Playwright specs against the release build on SQLite and on PostgreSQL, and the production smoke test (the release
# binary in production mode against the vendors' loopback fakes), and the container image where docker runs.
# Installs what is missing first.
# Closes with one line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

say() { printf '\033[1m[test]\033[0m %s\n' "$*"; }

bash scripts/setup.sh

if [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's Chromium for Playwright"
  apt-get update -qq && apt-get install -y -qq chromium
fi
(cd end2end && npm ci --no-audit --no-fund --silent)
# wasm-opt for the release build comes from npm's binaryen: Debian's older binaryen breaks hydration.
export PATH="$ROOT/end2end/node_modules/.bin:$PATH"

PG_ADMIN_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pg_up() { psql "$PG_ADMIN_URL" -qtAc 'SELECT 1' >/dev/null 2>&1; }
if pg_up; then
  HAVE_PG=1
elif [ -n "${CI:-}" ] && [ "${CI}" != "false" ]; then
  echo "PostgreSQL is required under CI but cannot be reached at $PG_ADMIN_URL." >&2
  echo "Start it (pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start) or set TEST_POSTGRES_URL." >&2
  exit 1
else
  HAVE_PG=0
  say "PostgreSQL not reachable at $PG_ADMIN_URL: its runs are skipped (CI=true makes this an error)"
fi

passed=0
failed=0
count_cargo() {
  local log=$1 p f
  p=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) passed.*/\1/' | awk '{s+=$1} END {print s+0}')
  f=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
}

say "cargo fmt --check"
cargo fmt --all -- --check

say "folder imports: nothing below an area imports one, no loop (scripts/imports.sh)"
bash scripts/imports.sh --quiet

status=0
LOGS=$(mktemp -d)
say "unit and integration tests (SQLite and PostgreSQL)"
# Time limits turn a hang into a failure instead of a stalled CI run.
timeout 1200 cargo test -p app --features ssr 2>&1 | tee "$LOGS/app.log" || status=1
count_cargo "$LOGS/app.log"
# One server test at a time: each starts real servers, and Leptos keeps some process-wide state.
timeout 1200 cargo test -p server -- --test-threads=1 2>&1 | tee "$LOGS/server.log" || status=1
count_cargo "$LOGS/server.log"
# The sandbox payment gateway's own tests (its merchant API, cashier and notifications over HTTP, both databases).
timeout 1200 cargo test -p sandbox 2>&1 | tee "$LOGS/sandbox.log" || status=1
count_cargo "$LOGS/sandbox.log"

# The real vendors' adapters against their loopback fakes, cross-checked against the vendors' own SDKs from PyPI
# (scripts/oracles.sh installs them into a virtual environment; ORACLE_PYTHON points the tests at it).
say "the vendors' SDKs from PyPI, as oracles for the providers' tests"
ORACLE_PYTHON=$(bash scripts/oracles.sh)
export ORACLE_PYTHON
timeout 1200 cargo test -p providers --features fakes 2>&1 | tee "$LOGS/providers.log" || status=1
count_cargo "$LOGS/providers.log"

say "release build for the end-to-end specs"
cargo leptos build --release
./target/release/server precompress

# Adds the last Playwright run's figures (end2end/test-results/results.json) to the totals; no file is a failure.
count_playwright() {
  if [ -f end2end/test-results/results.json ]; then
    read -r p f < <(node -e '
      const s = require("./end2end/test-results/results.json").stats;
      console.log((s.expected + s.flaky) + " " + s.unexpected);')
    passed=$((passed + p))
    failed=$((failed + f))
  else
    failed=$((failed + 1))
  fi
}

# The run's server log holds none of its people's ID numbers or phones: one test more in the totals.
check_logs() {
  local label=$1
  say "personal data in the server log of the run on $label"
  if bash scripts/personal-data-in-logs.sh; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    status=1
  fi
}

run_e2e() {
  local label=$1 url=$2
  shift 2
  say "Playwright on $label"
  rm -f end2end/test-results/results.json end2end/test-results/server.log end2end/test-results/personal-data.txt
  if (cd end2end && DATABASE_URL="$url" timeout 1200 npx playwright test "$@"); then :; else status=1; fi
  count_playwright
  check_logs "$label"
}

E2E_DIR=$(mktemp -d)
run_e2e SQLite "sqlite://$E2E_DIR/e2e.db"
if [ "$HAVE_PG" = 1 ]; then
  db="dlt_e2e_$(date +%s)_$$"
  psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $db"
  # Every flow on the second database too, on one phone (hydrated and without JavaScript), to keep CI short.
  run_e2e PostgreSQL "${PG_ADMIN_URL%/*}/$db" --project android-hydrated --project android-nojs
  psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
fi

say "the production smoke test: the release binary in production mode against the vendors' fakes"
rm -f end2end/test-results/results.json
if timeout 900 bash scripts/smoke-production.sh; then :; else status=1; fi
count_playwright

# The container image (Dockerfile) is built only where docker runs; nothing else in the suite needs it. Two tests:
# the image builds, and a container of it (development settings, demo data) runs as a non-root user and turns
# healthy by its own HEALTHCHECK.
container_healthy() {
  local image=$1 container health=starting user=unknown
  container=$(docker run -d -e APP_ENV=development -e DEMO_DATA=true "$image") || return 1
  for _ in $(seq 60); do
    health=$(docker inspect --format '{{.State.Health.Status}}' "$container") || break
    [ "$health" = starting ] || break
    sleep 2
  done
  user=$(docker exec "$container" id -u) || true
  if [ "$health" = healthy ] && [ "$user" != 0 ] && [ "$user" != unknown ]; then
    docker rm -f "$container" >/dev/null
  else
    say "the container is $health, running as uid $user (want healthy, not root); its log:"
    docker logs --tail 30 "$container" || true
    docker rm -f "$container" >/dev/null || true
    return 1
  fi
}
if docker info >/dev/null 2>&1; then
  say "the container image: docker build, then a container of it turning healthy"
  if timeout 3600 docker build -t dalian-traffic:test .; then
    passed=$((passed + 1))
    if container_healthy dalian-traffic:test; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  else
    failed=$((failed + 1))
  fi
else
  say "docker is not available here (docker info failed): the container image build is skipped"
fi

[ "$failed" -gt 0 ] && status=1
echo "$passed passed, $failed failed"
exit "$status"
