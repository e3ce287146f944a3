#!/usr/bin/env bats
# The study pipelines as a user runs them (issue 5): the fast variants of the
# three ASSB studies end in their tables and figures; a second make does
# nothing; a changed parameter reruns only what depends on it, through the
# launcher prefix; an interrupted make leaves nothing that looks finished.

load test_helper

PIPES="$BATS_TEST_DIRNAME/../pipelines"

# All three fast variants once for the file (about a minute on 2 cores).
setup_file() {
	: "${VB_BIN:?VB_BIN must name the directory of the built programs}"
	make --no-print-directory -C "$BATS_TEST_DIRNAME/../pipelines" -j2 fast BIN="$VB_BIN" \
		THREADS=1 STUDIES_DIR="$BATS_FILE_TMPDIR" > "$BATS_FILE_TMPDIR/make.log" 2>&1
}

# private STUDY: a copy of the fast study STUDY that setup_file made, in this
# test's own folder (times kept, so that make finds it up to date), for a
# test that changes it; tmake then runs make on the copies
private() {
	cp -a "$BATS_FILE_TMPDIR/$1-fast" "$BATS_TEST_TMPDIR/"
}
tmake() {
	make --no-print-directory -C "$PIPES" BIN="$VB_BIN" THREADS=1 STUDIES_DIR="$BATS_TEST_TMPDIR" "$@"
}

# a launcher prefix that logs every command it runs to ./launched
launcher() {
	printf '#!/bin/sh\necho "$@" >> %s/launched\nexec "$@"\n' "$BATS_TEST_TMPDIR" > launcher
	chmod +x launcher
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

@test "study tables: every run reached the cut-off, below the theoretical bound" {
	for s in layered layered-rev perforated-assb; do
		t=$BATS_FILE_TMPDIR/$s-fast/$s.csv
		awk -F, 'NR == 1 { for (k = 1; k <= NF; k++) c[$k] = k; next }
			$c["status"] != "cutoff" { print "row " NR ": " $c["status"]; bad = 1 }
			!($c["capacity_mAh_cm2"] > 0 && $c["capacity_mAh_cm2"] < $c["c_theo_mAh_cm2"]) { bad = 1 }
			!($c["energy_density_Wh_kg"] < $c["e_theo_Wh_kg"]) { bad = 1 }
			END { exit bad }' "$t" || fail "$t"
		# 8 mA/cm2 delivers less than 2 mA/cm2 from the same cell
		awk -v a="$(cell "$t" capacity_mAh_cm2 1)" -v b="$(cell "$t" capacity_mAh_cm2 4)" \
			'BEGIN { exit !(b < a) }'
	done
}

# value of key $2 in metrics --json of file $1
jmetric() {
	"$VB_BIN/metrics" --json "$1" | jq -r ".$2"
}

@test "study tables: gains against the first design, checked from the run files themselves" {
	for s in layered layered-rev perforated-assb; do
		d=$BATS_FILE_TMPDIR/$s-fast
		t=$d/$s.csv
		for row in 1 2 3 4 5 6; do
			run_file=$(cell "$t" file "$row")
			# the reference: the same current, the first design (rows 1 and 4)
			ref=$(cell "$t" file $(((row - 1) / 3 * 3 + 1)))
			[[ "$run_file" == *_"$(cell "$t" set_current_mA_cm2 "$row")"mA.h5 ]] || fail "$t row $row: $run_file"
			for k in energy_density_Wh_kg:gain_energy_pct capacity_mAh_cm2:gain_capacity_pct; do
				a=$(jmetric "$run_file" "${k%%:*}")
				b=$(jmetric "$ref" "${k%%:*}")
				awk -v g="$(cell "$t" "${k##*:}" "$row")" -v a="$a" -v b="$b" \
					'BEGIN { e = g - 100 * (a / b - 1); exit !(e < 1e-3 && e > -1e-3) }' ||
					fail "$t row $row: ${k##*:} $(cell "$t" "${k##*:}" "$row"), runs give $a / $b"
			done
		done
	done
	# C_theo relative to r = 0 is the ratio of the CAM voxels of the cells
	t=$BATS_FILE_TMPDIR/perforated-assb-fast/perforated-assb-structures.csv
	cam() { h5dump -w 0 -d /labels "$1" | sed -n '/DATA {/,/}/p' | sed 's/([0-9, ]*)://' |
		tr ',' '\n' | grep -c '^ *1 *$'; }
	n0=$(cam "$(cell "$t" file 1)")
	for row in 1 2 3; do
		awk -v r="$(cell "$t" c_theo_rel "$row")" -v n="$(cam "$(cell "$t" file "$row")")" -v n0="$n0" \
			'BEGIN { e = r - n / n0; exit !(e < 1e-5 && e > -1e-5 && n0 > 1000) }' ||
			fail "row $row: c_theo_rel $(cell "$t" c_theo_rel "$row"), CAM voxels $n0 at r = 0"
	done
	awk -v c="$(cell "$t" c_theo_rel 3)" 'BEGIN { exit !(c < 1) }'
}

@test "every CSV of the studies has unique column names, and pandas reads them as written" {
	n=0
	while IFS= read -r f; do
		n=$((n + 1))
		dup=$(head -n 1 "$f" | tr ',' '\n' | sort | uniq -d)
		[ -z "$dup" ] || fail "$f: column $dup twice"
	done < <(find "$BATS_FILE_TMPDIR"/*-fast -name '*.csv')
	[ "$n" -gt 50 ]
	# pandas quietly renames a repeated column to NAME.1: the columns it
	# reads must be the header's, and the rows as many as the file's (Debian's
	# python3 and python3-pandas: /usr/bin, not a python3 earlier on PATH)
	find "$BATS_FILE_TMPDIR"/*-fast -name '*.csv' | /usr/bin/python3 -c '
import sys, pandas
for f in sys.stdin.read().split():
    head = open(f).readline().rstrip("\n").split(",")
    df = pandas.read_csv(f)
    assert list(df.columns) == head, (f, list(df.columns))
    assert len(df) == sum(1 for _ in open(f)) - 1, f
'
}

@test "a second make with nothing changed has nothing to do" {
	for s in layered layered-rev perforated-assb; do
		run make -q -C "$PIPES" -f "$s.mk" study FAST=1 BIN="$VB_BIN" STUDIES_DIR="$BATS_FILE_TMPDIR"
		assert_success
	done
}

@test "a changed cut-off reruns the runs only, through the launcher prefix" {
	private layered
	d=$BATS_TEST_TMPDIR/layered-fast
	launcher
	before=$(stat -c %y "$d"/structures/*.h5 "$d"/cells/*.h5)
	run tmake layered-fast CUTOFF=3.2V LAUNCH="$BATS_TEST_TMPDIR/launcher"
	assert_success
	# six discharges through the launcher, every one with the new cut-off
	[ "$(wc -l < launched)" -eq 6 ]
	[ "$(grep -c -- '--cutoff 3.2V' launched)" -eq 6 ]
	grep -q "solve -q .*cells/f0.5.h5 --current 8mA/cm2" launched
	[ "$(stat -c %y "$d"/structures/*.h5 "$d"/cells/*.h5)" = "$before" ]
	near=$(cell "$d/layered.csv" voltage_V 1)
	awk -v u="$near" 'BEGIN { exit !(u > 3.199999 && u < 3.200001) }'
}

@test "CURRENTS: a new current runs only its discharges; the others stay" {
	private layered
	d=$BATS_TEST_TMPDIR/layered-fast
	launcher
	before=$(stat -c %y "$d"/structures/*.h5 "$d"/cells/*.h5 "$d"/runs/*_2mA.h5)
	run tmake layered-fast CURRENTS="2 4" LAUNCH="$BATS_TEST_TMPDIR/launcher"
	assert_success
	[ "$(wc -l < launched)" -eq 3 ]
	[ "$(grep -c -- '--current 4mA/cm2' launched)" -eq 3 ]
	[ "$(stat -c %y "$d"/structures/*.h5 "$d"/cells/*.h5 "$d"/runs/*_2mA.h5)" = "$before" ]
	# the table holds the new currents only: 3 designs x (2, 4)
	[ "$(wc -l < "$d/layered.csv")" -eq 7 ]
	[ "$(cell "$d/layered.csv" set_current_mA_cm2 4)" = 4 ]
}

@test "FRACTIONS: a new design value builds and runs only its own stack" {
	private layered
	d=$BATS_TEST_TMPDIR/layered-fast
	launcher
	before=$(stat -c %y "$d"/structures/*.h5 "$d"/cells/*.h5 "$d"/runs/*.h5)
	run tmake layered-fast FRACTIONS="0 0.25 0.5 1" LAUNCH="$BATS_TEST_TMPDIR/launcher"
	assert_success
	[ "$(wc -l < launched)" -eq 2 ]
	[ "$(grep -c -- 'cells/f0.25.h5' launched)" -eq 2 ]
	for f in "$d"/structures/{L60,L70,f0,f0.5,f1}.h5 "$d"/cells/{f0,f0.5,f1}.h5 "$d"/runs/f{0,0.5,1}_*.h5; do
		grep -qxF "$(stat -c %y "$f")" <<< "$before" || fail "$f was remade"
	done
	[ -s "$d/structures/f0.25.h5" ]
	[ "$(wc -l < "$d/layered.csv")" -eq 9 ]
}

@test "VOXEL: a new voxel size would remake every structure, cell and run, at that size" {
	private layered
	# what make would run (a dry run: the whole fast study at 2.5 um takes
	# a minute and a half)
	run tmake -n layered-fast VOXEL=2.5um
	assert_success
	[ "$(grep -c 'genstruct homogeneous .*--voxel 2.5um' <<< "$output")" -eq 2 ]
	# three stacking recipes (f0 and f1 copy), three cells, six discharges
	[ "$(grep -c 'genstruct stack' <<< "$output")" -eq 3 ]
	[ "$(grep -c 'assemble -q' <<< "$output")" -eq 3 ]
	[ "$(grep -c 'solve -q' <<< "$output")" -eq 6 ]
	# while the same make at the study's own voxel size has nothing to do
	rm -rf "$BATS_TEST_TMPDIR/layered-fast"
	private layered
	run tmake -n layered-fast VOXEL=4um
	assert_success
	[ "$(grep -c -e genstruct -e 'assemble -q' -e 'solve -q' <<< "$output")" -eq 0 ]
}

@test "an interrupted make leaves no file that make takes as finished" {
	private perforated-assb
	d=$BATS_TEST_TMPDIR/perforated-assb-fast
	rm -f "$d"/runs/r12um_8mA.*
	# the discharge is made slow (steps of at most 0.05 s: thousands of
	# steps) by a launcher, so that it is surely interrupted while it runs
	printf '#!/bin/sh\nexec "$@" --max-step 0.05s\n' > slow
	chmod +x slow
	setsid make --no-print-directory -C "$PIPES" -f perforated-assb.mk study FAST=1 BIN="$VB_BIN" \
		THREADS=1 STUDIES_DIR="$BATS_TEST_TMPDIR" LAUNCH="$BATS_TEST_TMPDIR/slow" > make.log 2>&1 &
	pid=$!
	# wait for the discharge to run, then interrupt the whole make
	for _ in $(seq 1 3000); do
		pgrep -f "r12um_8mA.h5 --max-step" > /dev/null && break
		kill -0 "$pid" 2> /dev/null || break
		sleep 0.01
	done
	pgrep -f "r12um_8mA.h5 --max-step" > /dev/null || fail "the discharge did not start: $(cat make.log)"
	kill -TERM -- "-$pid"
	wait "$pid" || true
	[ ! -e "$d/runs/r12um_8mA.h5" ] || fail "a run file survived the interruption"
	[ -z "$(find "$d" -name '*.tmp*')" ] || fail "temporary files left: $(find "$d" -name '*.tmp*')"
	run make -q -C "$PIPES" -f perforated-assb.mk study FAST=1 BIN="$VB_BIN" STUDIES_DIR="$BATS_TEST_TMPDIR"
	assert_failure
	# the next make finishes the study
	run tmake perforated-assb-fast
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
