#!/usr/bin/env bash
# Runs the app on SQLite with the demo data at http://127.0.0.1:3000, rebuilding on every change.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DEMO_DATA="${DEMO_DATA:-true}"
exec cargo leptos watch
