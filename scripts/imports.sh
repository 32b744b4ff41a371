#!/usr/bin/env bash
# Draws the `crate::` imports between the top-level folders of app/src (one edge per line, "from -> to") and fails
# on an import from a lower folder into an area (platform, domain, error or ui importing cards, console, identity,
# export, import, payments, study or violations) or on a loop between folders. Run from anywhere: scripts/imports.sh
# (`--quiet` prints only problems). Test modules are included: they are code too.
set -euo pipefail
cd "$(dirname "$0")/../app/src"
quiet=${1:-}

areas="cards console export identity import payments study violations"
lower="platform domain error ui"

# The top-level folder (or root file) a source file belongs to.
top_of() { local f=${1#./}; f=${f%%/*}; echo "${f%.rs}"; }

edges=$(
  find . -name '*.rs' | sort | while read -r file; do
    from=$(top_of "$file")
    # `crate::x::…` anywhere (use lines and inline paths), comments stripped.
    sed -e 's#//.*##' "$file" | grep -o 'crate::[a-z_]*' | sed 's/crate:://' | sort -u | while read -r to; do
      [ -n "$to" ] && [ "$to" != "$from" ] && echo "$from -> $to"
    done
  done | sort -u
)

[ "$quiet" = "--quiet" ] || echo "$edges"

status=0
for l in $lower; do
  for a in $areas; do
    if grep -qx "$l -> $a" <<<"$edges"; then
      echo "UPWARD: $l imports the area $a:" >&2
      grep -rn "crate::$a\b" "$l" "$l.rs" 2>/dev/null | grep -v '^\s*//' | sed 's/^/  /' >&2 || true
      status=1
    fi
  done
done

# Loops: a topological sort over the folder graph leaves the folders on a cycle.
if ! loops=$(awk '{print $1, $3}' <<<"$edges" | tsort 2>&1 >/dev/null) || [ -n "$loops" ]; then
  echo "LOOP between folders:" >&2
  echo "$loops" | sed 's/^tsort: /  /' >&2
  status=1
fi

[ $status -eq 0 ] && [ "$quiet" != "--quiet" ] && echo "ok: no upward import, no loop"
exit $status
