#!/bin/sh
# Runs the C unit tests (TAP) and the bats suites (TAP), then prints one
# summary line "N passed, N failed". Exit status 0 only if nothing failed.
# VB_BIN: directory of the built programs; VB_UNIT: directory of unit tests.
set -u
here=$(cd "$(dirname "$0")" && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for t in "$VB_UNIT"/test_*; do
	[ -x "$t" ] || continue
	echo "# unit: $(basename "$t")"
	"$t" || true
done 2>&1 | tee -a "$log"

for b in "$here"/*.bats; do
	[ -e "$b" ] || continue
	echo "# bats: $(basename "$b")"
	VB_BIN="$VB_BIN" bats --tap "$b" || true
done 2>&1 | tee -a "$log"

passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
skipped=$(grep -c '^ok .*# skip' "$log")
passed=$((passed - skipped))
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
