#!/usr/bin/env bats
# The study pipelines as a user runs them (issue 5): the fast variants of the
# three ASSB studies end in their tables and figures; a second make does
# nothing; a changed parameter reruns only what depends on it, through the
# launcher prefix; an interrupted make leaves nothing that looks finished.

load test_helper

PIPES="$BATS_TEST_DIRNAME/../pipelines"

# make in pipelines/ with the built programs, one thread per simulation.
pmake() {
	make --no-print-directory -C "$PIPES" BIN="$VB_BIN" THREADS=1 STUDIES_DIR="$BATS_FILE_TMPDIR" "$@"
}

# All three fast variants once for the file (about a minute on 2 cores).
setup_file() {
	: "${VB_BIN:?VB_BIN must name the directory of the built programs}"
	make --no-print-directory -C "$BATS_TEST_DIRNAME/../pipelines" -j2 fast BIN="$VB_BIN" \
		THREADS=1 STUDIES_DIR="$BATS_FILE_TMPDIR" > "$BATS_FILE_TMPDIR/make.log" 2>&1
}

# value of column $2 in row $3 (1 = first data row) of CSV $1
cell() {
	awk -F, -v name="$2" -v row="$3" 'NR == 1 { for (k = 1; k <= NF; k++) if ($k == name) c = k }
		NR == row + 1 { print $c }' "$1"
}

@test "the fast variants produce their tables and figures" {
	for s in layered layered-rev perforated-assb; do
		d=$BATS_FILE_TMPDIR/$s-fast
		# 3 design values x 2 currents, and 3 structures
		[ "$(wc -l < "$d/$s.csv")" -eq 7 ] || fail "$s.csv: $(wc -l < "$d/$s.csv") lines"
		[ "$(wc -l < "$d/$s-structures.csv")" -eq 4 ]
		for f in conductivity energy capacity gain-energy gain-capacity; do
			[ "$(head -c 4 "$d/fig/$f.png" | od -An -c | tr -d ' ')" = '211PNG' ] ||
				fail "$d/fig/$f.png is not a PNG"
		done
		[ "$(ls "$d"/fig/utilization-*.png "$d"/fig/cumulative-*.png "$d"/fig/discharge-*.png | wc -l)" -ge 6 ]
	done
}

@test "study tables: every run reached the cut-off, below the theoretical bound, gains against the first design" {
	for s in layered layered-rev perforated-assb; do
		t=$BATS_FILE_TMPDIR/$s-fast/$s.csv
		awk -F, 'NR == 1 { for (k = 1; k <= NF; k++) c[$k] = k; next }
			$c["status"] != "cutoff" { print "row " NR ": " $c["status"]; bad = 1 }
			!($c["capacity_mAh_cm2"] > 0 && $c["capacity_mAh_cm2"] < $c["c_theo_mAh_cm2"]) { bad = 1 }
			!($c["energy_density_Wh_kg"] < $c["e_theo_Wh_kg"]) { bad = 1 }
			END { exit bad }' "$t" || fail "$t"
		# the first design value is the reference of the gains, at each current
		[ "$(cell "$t" gain_energy_pct 1)" = 0 ]
		[ "$(cell "$t" gain_energy_pct 4)" = 0 ]
		# 8 mA/cm2 delivers less than 2 mA/cm2 from the same cell
		awk -v a="$(cell "$t" capacity_mAh_cm2 1)" -v b="$(cell "$t" capacity_mAh_cm2 4)" \
			'BEGIN { exit !(b < a) }'
	done
	# r = 0 of P-ASSB has C_theo_rel 1, and perforating removes CAM
	t=$BATS_FILE_TMPDIR/perforated-assb-fast/perforated-assb-structures.csv
	[ "$(cell "$t" c_theo_rel 1)" = 1 ]
	awk -v c="$(cell "$t" c_theo_rel 3)" 'BEGIN { exit !(c < 1) }'
}

@test "a second make with nothing changed has nothing to do" {
	for s in layered layered-rev perforated-assb; do
		run make -q -C "$PIPES" -f "$s.mk" study FAST=1 BIN="$VB_BIN" STUDIES_DIR="$BATS_FILE_TMPDIR"
		assert_success
	done
}

@test "a changed cut-off reruns the runs only, through the launcher prefix" {
	d=$BATS_FILE_TMPDIR/layered-fast
	printf '#!/bin/sh\necho "$@" >> %s/launched\nexec "$@"\n' "$BATS_TEST_TMPDIR" > launcher
	chmod +x launcher
	before=$(stat -c %y "$d"/structures/*.h5 "$d"/cells/*.h5)
	run pmake layered-fast CUTOFF=3.2V LAUNCH="$BATS_TEST_TMPDIR/launcher"
	assert_success
	# six discharges through the launcher, every one with the new cut-off
	[ "$(wc -l < launched)" -eq 6 ]
	[ "$(grep -c -- '--cutoff 3.2V' launched)" -eq 6 ]
	grep -q "solve -q .*cells/f0.5.h5 --current 8mA/cm2" launched
	[ "$(stat -c %y "$d"/structures/*.h5 "$d"/cells/*.h5)" = "$before" ]
	near=$(cell "$d/layered.csv" voltage_V 1)
	awk -v u="$near" 'BEGIN { exit !(u > 3.199999 && u < 3.200001) }'
	# and back: the default cut-off reruns them again
	run pmake layered-fast
	assert_success
}

@test "an interrupted make leaves no file that make takes as finished" {
	d=$BATS_FILE_TMPDIR/perforated-assb-fast
	rm -f "$d"/runs/r12um_8mA.*
	setsid make --no-print-directory -C "$PIPES" -f perforated-assb.mk study FAST=1 BIN="$VB_BIN" \
		THREADS=1 STUDIES_DIR="$BATS_FILE_TMPDIR" > make.log 2>&1 &
	pid=$!
	# wait for the discharge to start, then interrupt the whole make
	for _ in $(seq 1 100); do pgrep -f "r12um_8mA.h5" > /dev/null && break; sleep 0.1; done
	sleep 0.5
	kill -TERM -- "-$pid"
	wait "$pid" || true
	[ ! -e "$d/runs/r12um_8mA.h5" ] || fail "a run file survived the interruption"
	[ -z "$(find "$d" -name '*.tmp*')" ] || fail "temporary files left: $(find "$d" -name '*.tmp*')"
	run make -q -C "$PIPES" -f perforated-assb.mk study FAST=1 BIN="$VB_BIN" STUDIES_DIR="$BATS_FILE_TMPDIR"
	assert_failure
	# the next make finishes the study
	run pmake perforated-assb-fast
	assert_success
	[ -s "$d/runs/r12um_8mA.h5" ]
}

# the solve command make would run for one discharge, with options $@
solve_line() {
	make --no-print-directory -n -C "$PIPES" -f perforated-assb.mk FAST=1 BIN="$VB_BIN" \
		STUDIES_DIR="$BATS_TEST_TMPDIR" "$@" "$BATS_TEST_TMPDIR/perforated-assb-fast/runs/r0um_2mA.h5" |
		grep 'solve -q'
}

@test "OpenMP threads sleep while waiting only when parallel jobs share the cores" {
	[[ "$(solve_line)" != *OMP_WAIT_POLICY* ]]
	[[ "$(solve_line -j2 THREADS=1)" != *OMP_WAIT_POLICY* ]]
	[[ "$(solve_line -j2 THREADS=1)" == *OMP_NUM_THREADS=1* ]]
	[[ "$(solve_line -j2)" == *OMP_WAIT_POLICY=passive* ]]
	[[ "$(solve_line -j2 THREADS=2)" == *OMP_WAIT_POLICY=passive* ]]
	[[ "$(solve_line -j2 LAUNCH=env)" != *OMP_WAIT_POLICY* ]]
	[[ "$(solve_line WAIT_POLICY=active)" == *OMP_WAIT_POLICY=active* ]]
}

@test "a study fragment run without the programs says so" {
	run make --no-print-directory -C "$PIPES" -f layered.mk study FAST=1 BIN=/nonexistent \
		STUDIES_DIR="$BATS_TEST_TMPDIR"
	assert_failure
	assert_output --partial "no /nonexistent/solve; build first"
}
