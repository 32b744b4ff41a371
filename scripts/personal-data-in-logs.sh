#!/usr/bin/env bash
# Checks an end-to-end run's server log for personal data: fails when any line holds one of the run's ID numbers or
# phones (the list end2end/global-setup.ts writes: the test people, the applicants and the demo data's people), and
# fails as well when the check could not have caught one: no list, a list without the demo people, a search that
# misses a sample leak, no log, or a log that is not the server's JSON log.
# usage: scripts/personal-data-in-logs.sh [LOG] [LIST]
set -uo pipefail
cd "$(dirname "$0")/.."
log=${1:-end2end/test-results/server.log}
list=${2:-end2end/test-results/personal-data.txt}

fail() {
  echo "personal data in logs: FAILED: $*" >&2
  exit 1
}

[ -s "$list" ] || fail "no list of ID numbers and phones at $list"
values=$(grep -c . "$list")
[ "$values" -ge 100 ] || fail "only $values values in $list"
# The README's demo person 张三 (app/demo/cards.csv) and the first test person are in it.
for known in 210202198503121234 13804110001 13904110100; do
  grep -qxF "$known" "$list" || fail "$known is missing from $list"
done
# The search finds a value inside a JSON log line, written as a leak would be.
sample=$(printf '{"level":"INFO","message":"sent","phone":"%s"}' "$(sed -n '1p' "$list")")
grep -qF -f "$list" <<<"$sample" || fail "the search misses a sample leak"
partial='{"level":"INFO","message":"sent","phone":"1380411"}'
grep -qF -f "$list" <<<"$partial" && fail "the search matches a partial value: $list has a short or empty line"

[ -s "$log" ] || fail "no server log at $log"
head -1 "$log" | grep -q '^{"timestamp":' || fail "$log is not the server's JSON log (LOG_FORMAT=json)"
grep -q '"message":"listening on http' "$log" || fail "$log lacks the server's start line: the log was not captured"
grep -q '"request_id":"' "$log" || fail "no line of $log carries a request id"

if leaks=$(grep -nF -f "$list" "$log"); then
  echo "personal data in logs: FAILED: $(wc -l <<<"$leaks") lines of $log hold an ID number or phone:" >&2
  head -20 <<<"$leaks" >&2
  exit 1
fi
echo "personal data in logs: none of $values ID numbers and phones in the $(wc -l <"$log") lines of $log"
