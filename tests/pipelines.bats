#!/usr/bin/env bats
# The study pipelines as a user runs them (issues 5, 13, 16): the fast
# variants of the four ASSB studies, the two LIB studies and the ASSB-LIB
# comparison end in their tables and figures; a second make does nothing; a
# changed parameter reruns only what depends on it, through the launcher
# prefix; an interrupted make leaves nothing that looks finished.

load test_helper

PIPES="$BATS_TEST_DIRNAME/../pipelines"

# All fast variants once for the file (about two minutes on 2 cores).
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
	for s in layered layered-rev perforated-assb perforated-lib; do
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

@test "study tables: every run reached the cut-off (LIB: or a depleted electrolyte), below the theoretical bound" {
	for s in layered layered-rev perforated-assb graded perforated-lib transference; do
		t=$BATS_FILE_TMPDIR/$s-fast/$s.csv
		awk -F, -v lib="$([[ $s == perforated-lib || $s == transference ]] && echo 1)" '
			NR == 1 { for (k = 1; k <= NF; k++) c[$k] = k; next }
			$c["status"] != "cutoff" && !(lib && $c["status"] == "depleted") {
				print "row " NR ": " $c["status"]; bad = 1 }
			!($c["capacity_mAh_cm2"] > 0 && $c["capacity_mAh_cm2"] < $c["c_theo_mAh_cm2"]) { bad = 1 }
			!($c["energy_density_Wh_kg"] < $c["e_theo_Wh_kg"]) { bad = 1 }
			END { exit bad }' "$t" || fail "$t"
		# 8 mA/cm2 delivers less than 2 mA/cm2 from the same cell
		[ "$s" = transference ] && continue
		n=$((($(wc -l < "$t") - 1) / 2))
		awk -v a="$(cell "$t" capacity_mAh_cm2 1)" -v b="$(cell "$t" capacity_mAh_cm2 $((n + 1)))" \
			'BEGIN { exit !(b < a) }'
	done
}

@test "Study G: every design at every current, equal C_theo, its profiles, the best slope" {
	d=$BATS_FILE_TMPDIR/graded-fast
	designs="homog stack2 step2 step3 step5 lin10 lin20 lin30 psd"
	# 9 designs x 2 currents, rows by current then design in this order
	[ "$(cut -d, -f1,2 "$d/graded.csv" | tail -n +2 | tr '\n' ' ')" = \
		"$(for i in 2 8; do for v in $designs; do printf '%s,%s ' "$v" "$i"; done; done)" ] ||
		fail "$(cut -d, -f1,2 "$d/graded.csv")"
	# the same mean CAM fraction (0.65), so the same theoretical capacity:
	# every graded packing meets its mean within 0.5 vol% (1 % of C_theo);
	# the stack is as exact as the slices of L60 and L70 it is cut from (a
	# 4 um slice of the fast box holds 100 voxels: within 3 %)
	t=$d/graded-structures.csv
	[ "$(wc -l < "$t")" -eq 10 ]
	awk -F, 'NR == 1 { for (k = 1; k <= NF; k++) c[$k] = k; next }
		{ r = $c["c_theo_rel"]; tol = $1 == "stack2" ? 0.03 : 0.01
		  if (!(r > 1 - tol && r < 1 + tol)) { print $1 ": " r; bad = 1 } }
		END { exit bad }' "$t" || fail "$t: C_theo differs"
	# the CAM profile per design: the stack and the step step up at 50 um,
	# the linear ramp does not
	f=$d/graded-fractions.csv
	[ "$(head -n 1 "$f")" = "design,x_um,vf_cam,vf_electrolyte,vf_cbd,vf_void" ]
	for v in $designs; do grep -q "^$v," "$f" || fail "$f: no $v"; done
	for v in stack2 step2 lin30; do
		awk -F, -v v=$v '$1 == v && $2 < 40 { a += $3; na++ } $1 == v && $2 > 60 { b += $3; nb++ }
			END { exit !(b / nb - a / na > 0.05) }' "$f" || fail "$v: no rise of CAM along x"
	done
	# utilization across the cathode at 8 mA/cm2 for every design
	u=$d/graded-utilization.csv
	[ "$(head -n 1 "$u")" = "design,x_um,utilization" ]
	[ "$(cut -d, -f1 "$u" | tail -n +2 | sort -u | wc -l)" -eq 9 ]
	# the best linear slope per current is the linear design with the most energy
	b=$d/graded-best.csv
	[ "$(wc -l < "$b")" -eq 3 ]
	for row in 1 2; do
		i=$(cell "$b" set_current_mA_cm2 $row)
		want=$(awk -F, -v i="$i" 'NR == 1 { for (k = 1; k <= NF; k++) c[$k] = k; next }
			$1 ~ /^lin/ && $2 == i && (best == "" || $c["energy_density_Wh_kg"] > e) {
				e = $c["energy_density_Wh_kg"]; best = $1 } END { print best }' "$d/graded.csv")
		[ "$(cell "$b" best_linear $row)" = "$want" ] || fail "$b row $row: $(cell "$b" best_linear $row), not $want"
	done
	for f in fractions utilization-designs conductivity energy utilization-stack2 utilization-step2; do
		[ "$(head -c 4 "$d/fig/$f.png" | od -An -c | tr -d ' ')" = '211PNG' ] ||
			fail "$d/fig/$f.png is not a PNG"
	done
}

# value of key $2 in metrics --json of file $1
jmetric() {
	"$VB_BIN/metrics" --json "$1" | jq -r ".$2"
}

@test "study tables: gains against the first design, checked from the run files themselves" {
	for s in layered layered-rev perforated-assb perforated-lib transference; do
		d=$BATS_FILE_TMPDIR/$s-fast
		t=$d/$s.csv
		# 3 design values per current (per t+ for transference)
		for row in $(seq 1 $(($(wc -l < "$t") - 1))); do
			run_file=$(cell "$t" file "$row")
			# the reference: the same current, the first design (rows 1, 4, ...)
			ref=$(cell "$t" file $(((row - 1) / 3 * 3 + 1)))
			if [ "$s" = transference ]; then
				[[ "$run_file" == *_t"$(cell "$t" t_plus "$row")".h5 ]] || fail "$t row $row: $run_file"
			else
				[[ "$run_file" == *_"$(cell "$t" set_current_mA_cm2 "$row")"mA.h5 ]] ||
					fail "$t row $row: $run_file"
			fi
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

@test "Study P-LIB: LIB cells with CBD, c_e across separator and cathode at 8 mA/cm2 per radius" {
	d=$BATS_FILE_TMPDIR/perforated-lib-fast
	# the same structures as P-ASSB, assembled as LIB cells
	for r in 0 12 24; do
		cmp -s <(h5dump -d /labels "$d/structures/r${r}um.h5" | tail -n +3) \
			<(h5dump -d /labels "$BATS_FILE_TMPDIR/perforated-assb-fast/structures/r${r}um.h5" | tail -n +3) ||
			fail "r = $r um: the structures of P-LIB and P-ASSB differ"
		[ "$(h5dump -a cell_type "$d/cells/r${r}um.h5" | sed -n 's/.*(0): "\(.*\)"/\1/p')" = lib ]
	done
	[ "$(cell "$d/perforated-lib.csv" cell_type 1)" = lib ]
	# CBD stays CBD in the cell: some of the cathode's volume
	awk -v v="$(cell "$d/perforated-lib-structures.csv" vf_cbd 1)" 'BEGIN { exit !(v > 0.1) }'
	# the electrolyte table: r_um,x_um,c_e_rel for r = 0, 12, 24 at 8 mA/cm2,
	# the separator (5 slices of 4 um, x < 0) and the cathode (26 slices)
	t=$d/perforated-lib-electrolyte.csv
	[ "$(head -n 1 "$t")" = "r_um,x_um,c_e_rel" ]
	for r in 0 12 24; do
		[ "$(awk -F, -v r=$r '$1 == r && $2 < 0' "$t" | wc -l)" -eq 5 ] || fail "$t: r = $r, separator"
		[ "$(awk -F, -v r=$r '$1 == r && $2 > 0' "$t" | wc -l)" -eq 26 ] || fail "$t: r = $r, cathode"
		# the rows are those of the run's own profile
		diff <(awk -F, -v r=$r -v OFS=, '$1 == r { print $2, $3 }' "$t") \
			<(tail -n +2 "$d/profiles/r${r}um_8mA.electrolyte.csv") || fail "r = $r"
	done
	# t+ < 1: Li+ piles up on the Li side, thins towards the collector
	awk -F, '$1 == 0 && $2 == -18 { a = $3 } $1 == 0 && $2 == 102 { b = $3 }
		END { exit !(a > 1.2 && b < 0.9) }' "$t" || fail "$t: no gradient at r = 0"
	for f in electrolyte-designs electrolyte-r0um electrolyte-r24um capacity gain-capacity discharge-r0um; do
		[ "$(head -c 4 "$d/fig/$f.png" | od -An -c | tr -d ' ')" = '211PNG' ] ||
			fail "$d/fig/$f.png is not a PNG"
	done
}

@test "Study P-t+: one run per radius and t+ at 8 mA/cm2; at t+ = 1 c_e stays flat to 1e-6" {
	d=$BATS_FILE_TMPDIR/transference-fast
	t=$d/transference.csv
	# 3 radii x t+ 0.3, 0.6, 1.0, rows by t+ then radius
	[ "$(cut -d, -f1,2 "$t" | tail -n +2 | tr '\n' ' ')" = \
		"$(for tp in 0.3 0.6 1.0; do for r in 0 12 24; do printf '%s,%s ' $r $tp; done; done)" ] ||
		fail "$(cut -d, -f1,2 "$t")"
	[ "$(head -n 1 "$t" | cut -d, -f1,2)" = "r_um,t_plus" ]
	# every run at 8 mA/cm2 with its own constant t+, in the run file's parameters
	for row in $(seq 1 9); do
		[ "$(cell "$t" current_mA_cm2 "$row")" = 8 ] || fail "row $row: $(cell "$t" current_mA_cm2 "$row") mA/cm2"
		f=$(cell "$t" file "$row")
		h5dump -a history "$f" | grep -q -- "--set electrolyte.transference=$(cell "$t" t_plus "$row")" ||
			fail "$f: $(h5dump -a history "$f")"
	done
	# t+ = 1: migration carries every Li+ the reactions take, so c_e stays
	# c_e,0 everywhere (min and max over the cell) and in every profile
	for row in 7 8 9; do
		awk -v lo="$(cell "$t" c_e_min_mol_m3 "$row")" -v hi="$(cell "$t" c_e_max_mol_m3 "$row")" \
			'BEGIN { exit !(lo / 1000 - 1 > -1e-6 && hi / 1000 - 1 < 1e-6) }' ||
			fail "row $row: c_e from $(cell "$t" c_e_min_mol_m3 "$row") to $(cell "$t" c_e_max_mol_m3 "$row")"
	done
	for r in 0 24; do # the profiled radii: first and last
		tail -n +2 "$d/profiles/r${r}um_t1.0.electrolyte.csv" |
			awk -F, '{ n++; e = $2 - 1; if (e > 1e-6 || e < -1e-6) bad++ } END { exit !(n == 31 && !bad) }' ||
			fail "r = $r: c_e profile not flat"
	done
	# t+ < 1 does build a gradient: the mark of the liquid electrolyte
	awk -v hi="$(cell "$t" c_e_max_mol_m3 1)" 'BEGIN { exit !(hi > 1500) }'
	# figures: one curve per t+
	for f in capacity gain-capacity utilization-r0um electrolyte-r0um; do
		[ "$(head -c 4 "$d/fig/$f.png" | od -An -c | tr -d ' ')" = '211PNG' ] ||
			fail "$d/fig/$f.png is not a PNG"
	done
	[ "$(head -n 1 "$d/profiles/r0um.electrolyte.all.csv")" = "t_plus,x_um,c_e_rel" ]
}

@test "Study P-t+: a new t+ runs only its own discharges; a new CURRENT reruns every run, not the cells" {
	private transference
	# dry runs (make -n) of the fast study with one more t+, and at 6 mA/cm2
	run tmake -n transference-fast TRANSFERENCE="0.3 0.6 0.8 1.0"
	assert_success
	[ "$(grep -c 'solve -q' <<< "$output")" -eq 3 ] || fail "$output"
	[ "$(grep -c -- '--current 8mA/cm2 --set electrolyte.transference=0.8' <<< "$output")" -eq 3 ]
	[ "$(grep -c -- '-o .*/runs/r[0-9]*um_t0.8.h5' <<< "$output")" -eq 3 ]
	[ "$(grep -c -e genstruct -e 'assemble -q' <<< "$output")" -eq 0 ]
	rm -rf "$BATS_TEST_TMPDIR/transference-fast"
	private transference
	run tmake -n transference-fast CURRENT=6
	assert_success
	[ "$(grep -c 'solve -q .* --current 6mA/cm2 --set electrolyte.transference=' <<< "$output")" -eq 9 ] ||
		fail "$output"
	[ "$(grep -c -e genstruct -e 'assemble -q' <<< "$output")" -eq 0 ]
}

@test "Study P-t+: a t+ outside (0, 1] is one line, before any work" {
	run make --no-print-directory -C "$PIPES" -f transference.mk study FAST=1 BIN="$VB_BIN" \
		STUDIES_DIR="$BATS_TEST_TMPDIR" TRANSFERENCE="0.5 1.5"
	assert_failure
	assert_output --partial "TRANSFERENCE: '1.5' is not a number in (0, 1]"
	[ ! -e "$BATS_TEST_TMPDIR/transference-fast" ]
}

@test "compare-cells: the ASSB and LIB rows of the two studies side by side, and the figure" {
	d=$BATS_FILE_TMPDIR/compare-cells-fast
	t=$d/compare-cells.csv
	# cell,<the study tables' columns>: 2 cells x 2 currents x 3 radii
	[ "$(head -n 1 "$t")" = "cell,$(head -n 1 "$BATS_FILE_TMPDIR/perforated-assb-fast/perforated-assb.csv")" ]
	[ "$(wc -l < "$t")" -eq 13 ]
	for c in assb lib; do
		diff <(grep "^$c," "$t" | cut -d, -f2-) \
			<(tail -n +2 "$BATS_FILE_TMPDIR/perforated-$c-fast/perforated-$c.csv") || fail "$c rows"
	done
	# the same structures: the same theoretical capacity per radius
	for row in 1 2 3; do
		[ "$(cell "$t" c_theo_mAh_cm2 "$row")" = "$(cell "$t" c_theo_mAh_cm2 $((row + 6)))" ] ||
			fail "row $row: C_theo differs between ASSB and LIB"
	done
	[ "$(head -c 4 "$d/fig/gains.png" | od -An -c | tr -d ' ')" = '211PNG' ]
	# a comparison current that the studies did not run: one line (on a
	# copy of the three studies)
	for s in perforated-assb perforated-lib compare-cells; do private $s; done
	run make --no-print-directory -C "$PIPES" -f compare-cells.mk study FAST=1 \
		STUDIES_DIR="$BATS_TEST_TMPDIR" COMPARE_CURRENTS="1 8"
	assert_failure
	assert_output --partial "has no run at 1 mA/cm2"
	[ -z "$(find "$BATS_TEST_TMPDIR/compare-cells-fast" -name '*.tmp*')" ]
	# several studies in one OUT: refused before any work
	run make --no-print-directory -C "$PIPES" compare-cells-fast OUT="$BATS_TEST_TMPDIR/one"
	assert_failure
	assert_output --partial "OUT would put them in one folder"
	[ ! -e "$BATS_TEST_TMPDIR/one" ]
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
	for s in layered layered-rev perforated-assb graded perforated-lib transference compare-cells; do
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

@test "Study G: a new slope builds and runs only its own design; COMPARE redraws only its figures" {
	private graded
	d=$BATS_TEST_TMPDIR/graded-fast
	launcher
	before=$(stat -c %y "$d"/structures/*.h5 "$d"/cells/*.h5 "$d"/runs/*.h5)
	run tmake graded-fast DESIGNS="homog stack2 step2 step3 step5 lin10 lin15 lin20 lin30 psd" \
		LAUNCH="$BATS_TEST_TMPDIR/launcher"
	assert_success
	[ "$(wc -l < launched)" -eq 2 ]
	[ "$(grep -c -- 'cells/lin15.h5' launched)" -eq 2 ]
	for f in "$d"/structures/*.h5 "$d"/cells/*.h5 "$d"/runs/*.h5; do
		[[ "$f" == */lin15* ]] && continue
		grep -qxF "$(stat -c %y "$f")" <<< "$before" || fail "$f was remade"
	done
	# linear:0.575:0.725, the slope in hundredths of the name
	h5dump -a history "$d/structures/lin15.h5" | grep -q -- '--cam linear:0.575:0.725 ' ||
		fail "lin15 is not linear:0.575:0.725: $(h5dump -a history "$d/structures/lin15.h5")"
	[ "$(wc -l < "$d/graded.csv")" -eq 21 ]
	grep -q '^lin15,' "$d/graded-fractions.csv"
	# a design without a profile rule: one line, no work
	run tmake graded-fast DESIGNS="homog zigzag"
	assert_failure
	assert_output --partial "no CAM profile for the design 'zigzag'"
	# COMPARE: the two figures that draw it, nothing else
	before=$(stat -c '%n %y' "$d"/fig/*.png)
	run tmake graded-fast DESIGNS="homog stack2 step2 step3 step5 lin10 lin15 lin20 lin30 psd" \
		COMPARE="homog lin15"
	assert_success
	changed=$(stat -c '%n %y' "$d"/fig/*.png | grep -vxF "$before" | wc -l)
	[ "$changed" -eq 2 ] || fail "redrawn: $(stat -c '%n %y' "$d"/fig/*.png | grep -vxF "$before")"
	for f in fractions utilization-designs; do
		! grep -qxF "$(stat -c '%n %y' "$d/fig/$f.png")" <<< "$before" || fail "$f.png not redrawn"
	done
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
