#!/usr/bin/env bash
# Backs up the database DATABASE_URL names into DIR (default $BACKUP_DIR, else ./backups) as a file named by the UTC
# time, and keeps the newest BACKUP_KEEP (default 14) there. Safe while the app runs; for cron or a systemd timer.
# `server backup FILE` does the work (README, "Backups"); this script only names the files and prunes old ones.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-${BACKUP_DIR:-backups}}
keep=${BACKUP_KEEP:-14}

# The server binary: SERVER_BIN, else beside this script (the container image), else the repository's release build.
server=${SERVER_BIN:-}
for candidate in "$here/server" "$here/../target/release/server"; do
  [ -z "$server" ] && [ -x "$candidate" ] && server=$candidate
done
[ -n "$server" ] || { echo "no server binary: run cargo leptos build --release, or set SERVER_BIN" >&2; exit 1; }

case "${DATABASE_URL:-sqlite:}" in
  sqlite:*) kind=sqlite ;;
  *) kind=pgdump ;;
esac
mkdir -p "$dir"
file="$dir/dalian-traffic-$(date -u +%Y%m%dT%H%M%SZ).$kind"
"$server" backup "$file"
# Only this script's own files are pruned, newest first kept.
ls -1t "$dir"/dalian-traffic-*."$kind" | tail -n +$((keep + 1)) | xargs -r rm --
