#!/bin/sh
# Runs the C unit tests (TAP) and the bats suites (TAP), then prints one
# summary line "N passed, N failed". Exit status 0 only if nothing failed.
# Each test program is judged by its exit status and its TAP plan as well as
# by its "ok" / "not ok" lines: a program that exits non-zero without saying
# which test failed (a crash, a sanitizer abort, LeakSanitizer's exit 23, a
# failed mkdtemp), or whose plan "1..N" is missing or does not match the
# results it printed, counts as one failed test of its own.
# VB_BIN: directory of the built programs; VB_UNIT: directory of unit tests;
# VB_BATS: directory of the bats suites (default: this script's directory).
set -u
here=$(cd "$(dirname "$0")" && pwd)
bats_dir=${VB_BATS:-$here}
log=$(mktemp) || exit 1
out=$(mktemp) || exit 1
st=$(mktemp) || exit 1
trap 'rm -f "$log" "$out" "$st"' EXIT

# judge NAME STATUS: append the program's TAP ($out) to the log, and a "not
# ok" line of its own when its exit status or its plan says it went wrong.
judge() {
	cat "$out" >> "$log"
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$out" | head -n 1)
	results=$(grep -c -e '^ok ' -e '^not ok ' "$out")
	failures=$(grep -c '^not ok ' "$out")
	why=
	if [ "$2" -ne 0 ] && { [ "$2" -ne 1 ] || [ "$failures" -eq 0 ]; }; then
		why="exit status $2"
	fi
	if [ -z "$plan" ]; then
		why="${why:+$why; }no TAP plan"
	elif [ "$plan" -ne "$results" ]; then
		why="${why:+$why; }plan 1..$plan but $results results"
	fi
	if [ -n "$why" ]; then
		echo "not ok - $1: $why" | tee -a "$log"
	fi
}

for t in "$VB_UNIT"/test_*; do
	[ -x "$t" ] || continue
	echo "# unit: $(basename "$t")"
	{ "$t" 2>&1; echo $? > "$st"; } | tee "$out"
	judge "$(basename "$t")" "$(cat "$st")"
done

for b in "$bats_dir"/*.bats; do
	[ -e "$b" ] || continue
	echo "# bats: $(basename "$b")"
	{ VB_BIN="$VB_BIN" bats --tap "$b" 2>&1; echo $? > "$st"; } | tee "$out"
	judge "$(basename "$b")" "$(cat "$st")"
done

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
