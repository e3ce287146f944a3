#!/bin/sh
# Runs each libFuzzer target DIR/fuzz_NAME for SECONDS (or until FUZZ_RUNS
# executions, when that environment variable is set) on its seed corpus
# (tests/fuzz/corpus/NAME, read only) and a working corpus it grows
# (build/fuzz/corpus/NAME), and prints one line per target: executions,
# coverage and findings. A crashing input is written to build/fuzz/ as
# crash-NAME-*; put it into tests/fuzz/corpus/NAME so that make test
# replays it. Exit 1 if any target found something.
# usage: scripts/fuzz.sh DIR SECONDS NAME...
set -u
dir=$1 seconds=$2 runs=${FUZZ_RUNS:--1}
shift 2
status=0
for name in "$@"; do
	work=build/fuzz/corpus/$name
	mkdir -p "$work"
	log=build/fuzz/$name.log
	# HDF5 asks for absurd sizes on some corrupt files and fails cleanly when
	# malloc says no (as it does outside the sanitizer): let ASan say no
	ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:max_allocation_size_mb=4096 \
		"$dir/fuzz_$name" -max_total_time="$seconds" -runs="$runs" -rss_limit_mb=8192 -malloc_limit_mb=8192 \
		-timeout=30 -print_final_stats=1 -artifact_prefix="build/fuzz/crash-$name-" \
		"$work" "tests/fuzz/corpus/$name" > "$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	found=$(ls build/fuzz/crash-"$name"-* 2>/dev/null | wc -l)
	secs=$(sed -n 's/^stat::.*time_in_seconds: *//p;s/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
	printf 'fuzz %-10s %10s executions in %s s, coverage %s edges (%s features), %s findings%s\n' \
		"$name" "${execs:-?}" "${secs:-$seconds}" "${cov:-?}" "${ft:-?}" "$found" \
		"$([ "$rc" -ne 0 ] && echo " (exit $rc, see $log)")"
	[ "$rc" -eq 0 ] && [ "$found" -eq 0 ] || status=1
done
exit $status
