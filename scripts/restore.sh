#!/usr/bin/env bash
# Restores a backup into the database DATABASE_URL names: scripts/restore.sh FILE [--force].
# Stop every app instance first. A database that holds any table is refused unless --force; afterwards the restored
# database must carry every migration of this build. `server restore` does the work (README, "Backups").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: scripts/restore.sh FILE [--force]" >&2; exit 2; }
server=${SERVER_BIN:-}
for candidate in "$here/server" "$here/../target/release/server"; do
  [ -z "$server" ] && [ -x "$candidate" ] && server=$candidate
done
[ -n "$server" ] || { echo "no server binary: run cargo leptos build --release, or set SERVER_BIN" >&2; exit 1; }
exec "$server" restore "$@"
