#!/usr/bin/env bats
# solve as a user runs it (issue 4): the run file, snapshots, XDMF, overrides,
# C-rate, checkpoints, and exit 2 / exit 1 with one clear line.

load test_helper

setup_file() {
	export CELL="$BATS_FILE_TMPDIR/cell.h5" STRUCT="$BATS_FILE_TMPDIR/c.h5"
	PATH="$VB_BIN:$PATH"
	genstruct homogeneous --size 20x10x10um --voxel 2um --cam 0.6 --cbd 0.2 \
		--electrolyte 0.2 --diameter 6um --seed 3 -o "$STRUCT"
	assemble "$STRUCT" --cell assb -o "$CELL"
	assemble "$STRUCT" --cell lib -o "$BATS_FILE_TMPDIR/lib.h5"
	# 0.5 mA/cm2: with the real solid diffusivity this small cathode (few
	# CAM|SE faces per cross-section) reaches the cut-off after about 5 min
	solve -q "$CELL" --current 0.5mA/cm2 --save-every 60s -o "$BATS_FILE_TMPDIR/run.h5"
}

# scalar attribute $2 of file $1
attr() {
	h5dump -m %.17g -a "$2" "$1" | sed -n 's/^ *(0): *//p' | tr -d '"'
}

# last value of 1-D dataset $2 of file $1
last() {
	h5dump -m %.17g -w 0 -A 0 -d "$2" "$1" | sed -n 's/^ *([0-9]*): *//p' | tr ',' '\n' | sed '/^ *$/d' | tail -1
}

@test "--help prints usage to stdout and exits 0" {
	run solve --help
	assert_success
	assert_output --partial "usage: solve CELL.h5"
}

@test "a discharge runs to the cut-off voltage and says so in /solver" {
	run attr "$BATS_FILE_TMPDIR/run.h5" /solver/status
	assert_output "cutoff"
	u=$(last "$BATS_FILE_TMPDIR/run.h5" /timeseries/voltage)
	awk -v u="$u" 'BEGIN { exit !(u > 2.99999 && u < 3.00001) }'
	[ "$(attr "$BATS_FILE_TMPDIR/run.h5" /content)" = run ]
	[ "$(attr "$BATS_FILE_TMPDIR/run.h5" /solver/steps)" -gt 5 ]
}

@test "the run file holds the cell, time series with units and provenance" {
	f=$BATS_FILE_TMPDIR/run.h5
	for d in time voltage current capacity energy; do
		run h5dump -a "/timeseries/$d/units" "$f"
		assert_success
	done
	[ "$(attr "$f" /timeseries/capacity/units)" = "C/m^2" ]
	[ "$(attr "$f" /cell_type)" = assb ]
	run h5dump -H -d /labels "$f"
	assert_output --partial "( 23, 5, 5 )"
	run h5dump -a /regions/cathode "$f"
	assert_output --partial "12, 22"
	run h5dump -a /provenance/step_003/program "$f"
	assert_output --partial '"solve"'
	run h5dump -a /history "$f"
	assert_output --partial "solve"
}

@test "provenance records the command line as typed, not as option parsing reordered it" {
	solve "$CELL" -q --current 0.5mA/cm2 --max-time 10s -o typed.h5
	[ "$(attr typed.h5 /provenance/step_003/command_line)" = "solve $CELL -q --current 0.5mA/cm2 --max-time 10s -o typed.h5" ]
}

@test "capacity is the integral of the current, energy that of current x voltage" {
	f=$BATS_FILE_TMPDIR/run.h5
	col() { h5dump -m %.17g -w 0 -A 0 -d "$1" "$f" | sed -n 's/^ *([0-9]*): *//p' | tr ',' '\n' | sed '/^ *$/d'; }
	paste <(col /timeseries/time) <(col /timeseries/voltage) <(col /timeseries/current) > series.txt
	q=$(last "$f" /timeseries/capacity)
	en=$(last "$f" /timeseries/energy)
	awk -v q="$q" -v en="$en" 'NR > 1 { Q += $3 * ($1 - t); E += $3 * $2 * ($1 - t) } { t = $1 }
		END { if (Q <= 0 || (Q - q) / q > 1e-6 || (q - Q) / q > 1e-6 || (E - en) / en > 1e-5 || (en - E) / en > 1e-5) exit 1 }' series.txt
	# constant current: q = I t_end (0.5 mA/cm2 = 5 A/m2)
	awk -v q="$q" -v t="$(last "$f" /timeseries/time)" 'BEGIN { e = q / (5 * t) - 1; exit !(e < 1e-12 && e > -1e-12) }'
	# and the charge is the Li the CAM holds at the end, summed by another
	# route from the last snapshot's c_s field: F h^3 sum(c_s - c_s,0) / A
	# over the CAM voxels (10 x 10 um cross-section of 2 um voxels)
	n=$(h5dump -n "$f" | grep -c 'group      /fields/[0-9]*$')
	li=$(h5dump -m %.17g -w 0 -d "$(printf '/fields/%04d/c_s' "$n")" "$f" |
		sed -n '/DATA {/,/}/p' | sed 's/([0-9, ]*)://' | tr ',' '\n' |
		awk '$1 + 0 > 0 { s += $1 - 11310; k++ } END { printf "%.17g %d", s, k }')
	read -r dc ncam <<< "$li"
	[ "$ncam" -gt 100 ]
	awk -v q="$q" -v dc="$dc" 'BEGIN { qf = 96485.33212 * 8e-18 * dc / 1e-10; e = qf / q - 1
		exit !(e < 1e-6 && e > -1e-6) }' || fail "Li in the c_s field: $dc mol/m3 x voxels; q = $q"
}

@test "--subgrid-law: superposed by default, split on request, recorded; the same Li for the same charge" {
	[ "$(attr "$BATS_FILE_TMPDIR/run.h5" /solver/subgrid_law)" = superposed ]
	for law in superposed split; do
		solve -q "$CELL" --current 0.5mA/cm2 --max-time 120s --subgrid-law "$law" -o "law_$law.h5"
		[ "$(attr "law_$law.h5" /solver/subgrid_law)" = "$law" ]
		metrics --json "law_$law.h5" > "law_$law.json"
	done
	# the same charge passed: the same Li in the CAM, whatever the law
	u1=$(jq -r .utilization law_superposed.json)
	u2=$(jq -r .utilization law_split.json)
	awk -v a="$u1" -v b="$u2" 'BEGIN { e = a / b - 1; exit !(a > 0 && e < 1e-6 && e > -1e-6) }' ||
		fail "utilization $u1 (superposed) against $u2 (split)"
	run solve -q "$CELL" --current 0.5mA/cm2 --subgrid-law banana -o x.h5
	assert_failure 2
	assert_output --partial "--subgrid-law must be superposed or split"
}

@test "--save-every gives snapshots at rest, at the requested times and one at the end" {
	f=$BATS_FILE_TMPDIR/run.h5
	[ "$(attr "$f" /fields/0001/time)" = 0 ]
	[ "$(attr "$f" /fields/0002/time)" = 60 ]
	[ "$(attr "$f" /fields/0003/time)" = 120 ]
	# the first is the initial state: every CAM voxel at c_s,0 = 11310 mol/m3
	# (the voxel mean over core and chains: to rounding)
	h5dump -m %.17g -w 0 -d /fields/0001/c_s "$f" | sed -n '/DATA {/,/}/p' |
		sed 's/([0-9, ]*)://' | tr ',' '\n' |
		awk '$1 + 0 > 0 { k++; d = $1 - 11310; if (d > 1e-8 || d < -1e-8) bad++ }
			END { exit !(k > 100 && bad == 0) }'
	for d in c_s c_surf phi_s phi_e i_bv; do
		run h5dump -H -d "/fields/0002/$d" "$f"
		assert_output --partial "( 23, 5, 5 )"
	done
	t_end=$(last "$f" /timeseries/time)
	n=$(h5dump -n "$f" | grep -c 'group      /fields/[0-9]*$')
	last_snap=$(printf '/fields/%04d/time' "$n")
	awk -v a="$(attr "$f" "$last_snap")" -v b="$t_end" 'BEGIN { exit !(a == b) }'
}

@test "an XDMF file beside the run references its labels and fields" {
	x=$BATS_FILE_TMPDIR/run.h5.xdmf
	[ -f "$x" ]
	grep -q 'run.h5:/labels' "$x"
	grep -q 'run.h5:/fields/0001/c_s' "$x"
	grep -q 'CollectionType="Temporal"' "$x"
	grep -q 'run.h5:/fields/0001/c_surf' "$x"
	grep -q '<Time Value="60"/>' "$x"
	# the time series starts at rest
	[ "$(grep -m 1 '<Time Value=' "$x")" = '    <Time Value="0"/>' ]
}

@test "--set overrides a parameter for the run and records it" {
	run solve -q "$CELL" --current 0.5mA/cm2 --set cam.diffusivity=1e-11cm2/s -o fast.h5
	assert_success
	run h5dump -a /parameters/text fast.h5
	assert_output --partial "diffusivity = 1e-11cm2/s"
	run h5dump -a /provenance/step_003/overrides fast.h5
	assert_output --partial "cam.diffusivity=1e-11cm2/s"
	# faster solid diffusion delivers more capacity before the cut-off
	awk -v a="$(last fast.h5 /timeseries/capacity)" \
		-v b="$(last "$BATS_FILE_TMPDIR/run.h5" /timeseries/capacity)" 'BEGIN { exit !(a > b) }'
}

@test "repeated --set: every override applies and is recorded" {
	run solve -q "$CELL" --current 0.5mA/cm2 --set cam.diffusivity=1e-11cm2/s \
		--set electrolyte.conductivity=0.35e-3S/cm -o two.h5
	assert_success
	run h5dump -a /parameters/text two.h5
	assert_output --partial "diffusivity = 1e-11cm2/s"
	assert_output --partial "conductivity = 0.35e-3S/cm"
	[ "$(attr two.h5 /provenance/step_003/overrides)" = \
		"cam.diffusivity=1e-11cm2/s; electrolyte.conductivity=0.35e-3S/cm" ]
	# the second one acts too: half the SE conductivity, a lower voltage at
	# the first step than with the first override alone
	solve -q "$CELL" --current 0.5mA/cm2 --set cam.diffusivity=1e-11cm2/s --max-time 1s -o one.h5
	first() { h5dump -m %.17g -w 0 -A 0 -d /timeseries/voltage "$1" | sed -n 's/^ *(0): *//p' | cut -d, -f2; }
	awk -v a="$(first two.h5)" -v b="$(first one.h5)" 'BEGIN { exit !(a < b - 1e-4) }' ||
		fail "first-step voltage $(first two.h5) with both, $(first one.h5) with one"
}

@test "--max-step bounds every time step" {
	run solve -q "$CELL" --current 0.5mA/cm2 --max-step 7s --max-time 100s -o capped.h5
	assert_success
	col() { h5dump -m %.17g -w 0 -A 0 -d /timeseries/time "$1" | sed -n 's/^ *(0): *//p' | tr ',' '\n' | sed '/^ *$/d'; }
	col capped.h5 | awk 'NR > 1 && $1 - t > 7 + 1e-9 { print "step " $1 - t " s at " t; bad = 1 } { t = $1 }
		END { exit bad || t != 100 }'
	# without it the same run steps further (the cap matters)
	col "$BATS_FILE_TMPDIR/run.h5" | awk 'NR > 1 && $1 - t > 7 { big = 1 } { t = $1 } END { exit !big }'
	run solve -q "$CELL" --current 0.5mA/cm2 --max-step 0s -o bad.h5
	assert_failure 2
}

@test "--c-rate sets the current from the theoretical capacity" {
	run solve -q "$CELL" --c-rate 0.2 --max-time 60s -o crate.h5
	assert_success
	[ "$(attr crate.h5 /solver/status)" = max_time ]
	ctheo=$(metrics --json "$CELL" | jq -r .c_theo_mAh_cm2)
	i=$(last crate.h5 /timeseries/current)
	# 0.2C: I = 0.2 * C_theo / 1 h; mAh/cm2 -> C/m2 is x 36000
	awk -v i="$i" -v c="$ctheo" 'BEGIN { e = i / (0.2 * c * 36000 / 3600) - 1; exit !(e < 1e-3 && e > -1e-3) }'
}

@test "--c-rate counts all the CAM, also CAM cut off from the network, as metrics does" {
	# 10x4x4 voxels of 2 um: SE at x < 5, CAM at x >= 5, and one CAM voxel at
	# (2,1,1) walled in by void, which takes no part in the discharge
	bytes=
	for x in $(seq 0 9); do for y in 0 1 2 3; do for z in 0 1 2 3; do
		v=2
		[ "$x" -ge 5 ] && v=1
		[ "$x$y$z" = 211 ] && v=1
		case "$x$y$z" in 111 | 311 | 201 | 221 | 210 | 212) v=0 ;; esac
		bytes="$bytes\\00$v"
	done; done; done
	printf "$bytes" > iso.raw
	[ "$(stat -c %s iso.raw)" -eq 160 ]
	genstruct import --raw iso.raw --dims 10x4x4 --voxel 2um -o iso.h5
	assemble -q iso.h5 --cell assb -o iso-cell.h5
	run solve -q iso-cell.h5 --c-rate 1 --max-time 10s -o iso-run.h5
	assert_success
	# 81 CAM voxels, 80 of them in the discharge
	[ "$(attr iso-run.h5 /solver/cam_unknowns)" -eq 80 ]
	# C_theo in closed form: (c_max - c_0) F x 81 voxels of (2 um)^3 over
	# 8 um x 8 um (PHYSICS.md §3 values), C/m2 -> mAh/cm2; metrics agrees
	ctheo=$(awk 'BEGIN { printf "%.12g", (49030 - 11310) * 96485.33212 * 81 * 8e-18 / 64e-12 / 36000 }')
	near() { awk -v a="$1" -v b="$2" 'BEGIN { e = a / b - 1; exit !(e < 1e-9 && e > -1e-9) }'; }
	near "$(metrics --json iso-cell.h5 | jq -r .c_theo_mAh_cm2)" "$ctheo"
	# 1C: I = C_theo / 1 h (A/m2 = C/m2 / s)
	near "$(last iso-run.h5 /timeseries/current)" "$(awk -v c="$ctheo" 'BEGIN { printf "%.12g", c * 36000 / 3600 }')"
}

@test "-o - writes the run file to stdout" {
	solve -q "$CELL" --current 8mA/cm2 --max-time 5s -o - > piped.h5
	[ "$(attr piped.h5 /content)" = run ]
	[ ! -e ./-.xdmf ] && [ ! -e ./-.h5.xdmf ]
}

# Each would fail only when the output is written, after the whole run.
@test "an -o in a missing directory, a directory, or a bad --checkpoint: exit 2 before any work" {
	run solve -q "$CELL" --current 0.5mA/cm2 --max-time 10s -o /nonexistent/dir/x.h5
	assert_failure 2
	assert_output "solve: /nonexistent/dir/x.h5: cannot create: directory /nonexistent/dir: No such file or directory"
	mkdir out.h5
	run solve -q "$CELL" --current 0.5mA/cm2 --max-time 10s -o out.h5
	assert_failure 2
	assert_output "solve: out.h5: is a directory, expected a file name"
	# the XDMF beside the run is an output too
	mkdir r.h5.xdmf
	run solve -q "$CELL" --current 0.5mA/cm2 --max-time 10s -o r.h5
	assert_failure 2
	assert_output --partial "r.h5.xdmf: is a directory"
	assert_no_output_file r.h5
	# a checkpoint that could never be written: the first one would fail
	run solve -q "$CELL" --current 0.5mA/cm2 --max-time 10s --checkpoint /nonexistent/ck.h5 \
		--checkpoint-every 0s -o ok.h5
	assert_failure 2
	assert_output --partial "/nonexistent/ck.h5: cannot create"
	assert_no_output_file ok.h5
	run solve -q "$CELL" --current 0.5mA/cm2 --max-time 10s --checkpoint "$CELL" -o ok.h5
	assert_failure 2
	assert_output "solve: --checkpoint $CELL is the input cell; name a file of its own"
}

# A checkpoint is replaced as the run goes and removed when it ends well
# (issue 17 item 1: it used to delete whatever the name held).
@test "--checkpoint naming the output, its XDMF or a file that is not a checkpoint: exit 2, nothing touched" {
	run solve -q "$CELL" --current 2mA/cm2 --max-time 10s --checkpoint r.h5 -o r.h5
	assert_failure 2
	assert_output "solve: --checkpoint r.h5 is the output (-o); name a file of its own"
	assert_no_output_file r.h5
	# the same name spelled another way, before the output exists
	mkdir sub
	run solve -q "$CELL" --current 2mA/cm2 --max-time 10s --checkpoint sub/../r.h5 -o r.h5
	assert_failure 2
	assert_output --partial "is the output (-o)"
	run solve -q "$CELL" --current 2mA/cm2 --max-time 10s --checkpoint r.h5.xdmf -o r.h5
	assert_failure 2
	assert_output --partial "is the output's XDMF file"
	echo important > notes.txt
	run solve -q "$CELL" --current 2mA/cm2 --max-time 10s --checkpoint notes.txt \
		--checkpoint-every 0s -o r.h5
	assert_failure 2
	assert_output --partial "notes.txt: exists and is not a voxbat checkpoint"
	[ "$(cat notes.txt)" = important ]
	assert_no_output_file r.h5
}

# stopped_checkpoint FILE: a 1 mA/cm2 run of $CELL stopped by SIGTERM once
# its first checkpoint FILE exists (the run's output is never written)
stopped_checkpoint() {
	solve -q "$CELL" --current 1mA/cm2 --max-step 2s --checkpoint "$1" \
		--checkpoint-every 0s -o stopped.h5 2> /dev/null &
	local pid=$!
	for _ in $(seq 1 3000); do
		[ -e "$1" ] && break
		sleep 0.01
	done
	kill -TERM "$pid"
	wait "$pid" || true
}

@test "a run that ends well removes its own checkpoint, and a stale one of another run it replaced" {
	run solve -q "$CELL" --current 2mA/cm2 --max-time 30s --checkpoint ck.h5 \
		--checkpoint-every 0s -o r.h5
	assert_success
	[ ! -e ck.h5 ] && [ -e r.h5 ]
	# a checkpoint left by another run (other options) under the name: replaced
	# by this run's, then removed
	stopped_checkpoint ck.h5
	[ "$(attr ck.h5 /content)" = checkpoint ]
	run solve -q "$CELL" --current 1mA/cm2 --max-time 30s --checkpoint ck.h5 \
		--checkpoint-every 0s -o r1.h5
	assert_success
	[ ! -e ck.h5 ]
}

@test "an -o in a directory that is not writable: exit 2 before any work" {
	[ "$(id -u)" -ne 0 ] || skip "root may write anywhere: access() cannot refuse"
	mkdir ro
	chmod 555 ro
	run solve -q "$CELL" --current 0.5mA/cm2 --max-time 10s -o ro/x.h5
	assert_failure 2
	assert_output "solve: ro/x.h5: cannot create: directory ro: Permission denied"
}

@test "stderr not a terminal: a line per tenth of the way (no carriage return), and the summary" {
	solve "$CELL" --current 0.5mA/cm2 --max-time 600s -o p.h5 2> log
	! grep -q $'\r' log || fail "carriage returns in the log"
	# the way is the time's to --max-time here (the voltage falls less far)
	n=$(grep -c '^solve: *[0-9]* %  t = ' log)
	[ "$n" -ge 5 ] && [ "$n" -le 11 ] || fail "$n progress lines: $(cat log)"
	grep -q '^solve: 100 %  t = 600.0 s' log
	[ "$(grep -vc '^solve: *[0-9]* %  t = ' log)" -eq 1 ]
	assert_regex "$(tail -1 log)" '^solve: max_time at t = 600\.0 s, U = [0-9.]+ V, Q = 0\.0833 mAh/cm2$'
	solve -q "$CELL" --current 0.5mA/cm2 --max-time 600s -o p.h5 2> quiet.log
	[ ! -s quiet.log ] || fail "-q printed: $(cat quiet.log)"
}

@test "--progress gives the terminal form (one rewritten line) when stderr is not one" {
	solve --progress "$CELL" --current 0.5mA/cm2 --max-time 120s -o p.h5 2> log
	[ "$(tr -cd '\r' < log | wc -c)" -gt 3 ]
	! grep -q '^solve: *[0-9]* %' log
	assert_regex "$(tail -1 log)" '^solve: max_time at t = 120\.0 s'
}

@test "rejects a structure file that is not a cell" {
	run solve "$STRUCT" --current 8mA/cm2 -o out.h5
	assert_failure 2
	assert_output --partial "expected a cell"
	assert_no_output_file out.h5
}

@test "a LIB cell discharges: c_e in every snapshot (NaN outside the electrolyte) and in the XDMF; ASSB runs have none" {
	f=lib-run.h5
	run solve -q "$BATS_FILE_TMPDIR/lib.h5" --current 8mA/cm2 --max-time 20s --save-every 10s \
		-o "$f"
	assert_success
	[ "$(attr "$f" /cell_type)" = lib ]
	for k in 0001 0002 0003; do
		run h5dump -H -d "/fields/$k/c_e" "$f"
		assert_output --partial "( 23, 5, 5 )"
	done
	[ "$(attr "$f" /fields/0002/c_e/units)" = "mol/m^3" ]
	# at rest c_e = c_e,0 = 1000 mol/m3 in every LE, separator and CBD voxel,
	# NaN in the collectors, the Li and the CAM
	values() { h5dump -m %.17g -w 0 -d "$1" "$f" | sed -n '/DATA {/,/}/p' |
		sed 's/([0-9, ]*)://' | tr ',' '\n' | sed -n 's/^ *\([-0-9.e+naN][-0-9.e+naN]*\) *$/\1/p'; }
	values /fields/0001/c_e | awk '$1 == "nan" { n++ } $1 != "nan" { k++; if ($1 != 1000) bad++ }
		END { exit !(k > 100 && n > 100 && bad == 0) }'
	# after 20 s at 8 mA/cm2 Li+ has piled up at the anode and thinned in the cathode
	values /fields/0003/c_e | awk '$1 != "nan" { if ($1 > 1005) hi++; if ($1 < 995) lo++ }
		END { exit !(hi > 0 && lo > 0) }'
	grep -q 'lib-run.h5:/fields/0003/c_e' "$f.xdmf"
	# metrics: c_e's range and its profile over the separator (10 slices of
	# 2 um, x < 0) and the cathode (10 more), 1 everywhere at rest; at the
	# end falling across the separator, higher there than in the cathode
	run metrics --time 0s --profile electrolyte "$f"
	assert_success
	assert_line --index 0 "x_um,c_e_rel"
	[ "${#lines[@]}" -eq 21 ]
	assert_line --index 1 "-19,1"
	assert_line --index 10 "-1,1"
	assert_line --index 11 "1,1"
	for k in $(seq 1 20); do
		awk -v l="${lines[$k]}" 'BEGIN { split(l, a, ","); d = a[2] - 1; exit !(d < 1e-12 && d > -1e-12) }'
	done
	run metrics --profile electrolyte "$f"
	assert_success
	for k in $(seq 2 10); do
		awk -v a="${lines[$((k - 1))]#*,}" -v b="${lines[$k]#*,}" 'BEGIN { exit !(b < a) }' ||
			fail "c_e does not fall from row $((k - 1)) to $k: $output"
	done
	awk -v a="${lines[1]#*,}" -v b="${lines[20]#*,}" 'BEGIN { exit !(a > 1 && b < 1) }'
	run metrics --json "$f"
	awk -v a="$(echo "$output" | sed -n 's/.*"c_e_min_mol_m3": \([0-9.e+-]*\).*/\1/p')" \
		-v b="$(echo "$output" | sed -n 's/.*"c_e_max_mol_m3": \([0-9.e+-]*\).*/\1/p')" \
		'BEGIN { exit !(a > 0 && a < 995 && b > 1005) }'
	run metrics --profile electrolyte "$BATS_FILE_TMPDIR/run.h5"
	assert_failure 2
	assert_output --partial "--profile electrolyte needs a run of a LIB cell"
	run h5dump -H -d /fields/0001/c_e "$BATS_FILE_TMPDIR/run.h5"
	assert_failure
	! grep -q 'c_e' "$BATS_FILE_TMPDIR/run.h5.xdmf"
}

@test "a LIB electrolyte that runs out ends the discharge as depleted: where and when, the last good state kept, exit 0" {
	# 10 mol/m3 at 8 mA/cm2 with a cut-off low enough to get there
	run solve -q "$BATS_FILE_TMPDIR/lib.h5" --current 8mA/cm2 --cutoff 1V \
		--set electrolyte.c_init=10mol/m3 -o dep.h5
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	assert_output --regexp "^solve: the electrolyte is depleted: c_e = [0-9.e-]+ mol/m3 \([0-9.]+ % of c_e,0\) at voxel \([0-9]+, [0-9]+, [0-9]+\) at t = [0-9.]+ s$"
	[ "$(attr dep.h5 /solver/status)" = depleted ]
	attr dep.h5 /solver/message | grep -q "the electrolyte is depleted"
	# the state kept is a solved one: c_e positive everywhere, the last
	# snapshot at the last time
	n=$(h5dump -n dep.h5 | grep -c 'group      /fields/[0-9]*$')
	h5dump -m %.17g -w 0 -A 0 -d "$(printf '/fields/%04d/c_e' "$n")" dep.h5 |
		sed -n 's/^ *([0-9, ]*): *//p' | tr ',' '\n' |
		awk '$1 ~ /^[-0-9.e+]+$/ { k++; if ($1 + 0 <= 0) bad++ } END { exit !(k > 100 && bad == 0) }'
	awk -v a="$(attr dep.h5 "$(printf '/fields/%04d/time' "$n")")" -v b="$(last dep.h5 /timeseries/time)" \
		'BEGIN { exit !(a == b) }'
}

@test "a LIB cell without liquid electrolyte is one line, exit 2" {
	genstruct homogeneous --size 10x6x6um --voxel 2um --cam 0.7 --cbd 0.3 --electrolyte 0 \
		--diameter 4um --seed 3 -o dry.h5 2>/dev/null
	assemble -q dry.h5 --cell lib -o drycell.h5
	run solve drycell.h5 --current 1mA/cm2 -o out.h5
	assert_failure 2
	[ "${#lines[@]}" -eq 1 ]
	assert_output --partial "a LIB cell needs liquid electrolyte"
	assert_no_output_file out.h5
}

# Issue 12: t+ outside (0, 1] or a non-positive conductivity is one clear
# line and exit 2; a constant t+ in range (Study P-t+) is taken.
@test "LIB cell: --set t+ outside (0, 1] or a conductivity <= 0 is one line, exit 2; t+ = 0.3 is taken" {
	for bad in electrolyte.transference=0 electrolyte.transference=1.5 \
		electrolyte.conductivity=0S/m electrolyte.diffusivity=-1e-10 cbd.conductivity=0S/m; do
		run solve "$BATS_FILE_TMPDIR/lib.h5" --current 8mA/cm2 --set "$bad" -o out.h5
		assert_failure 2
		[ "${#lines[@]}" -eq 1 ]
		assert_output --partial "${bad%%=*}"
		assert_output --partial "expected"
		assert_no_output_file out.h5
	done
	run solve -q "$BATS_FILE_TMPDIR/lib.h5" --current 8mA/cm2 --set electrolyte.transference=0.3 \
		--max-time 5s -o out.h5
	assert_success
	run h5dump -a /provenance/step_003/overrides out.h5
	assert_output --partial "electrolyte.transference"
}

@test "rejects a zero or negative current" {
	run solve "$CELL" --current 0mA/cm2 -o out.h5
	assert_failure 2
	assert_output --partial "--current must be > 0"
	run solve "$CELL" --current -1mA/cm2 -o out.h5
	assert_failure 2
	assert_no_output_file out.h5
}

@test "rejects a non-numeric override with one line naming it" {
	run solve "$CELL" --current 8mA/cm2 --set cam.diffusivity=fast -o out.h5
	assert_failure 2
	assert_output --partial "cam.diffusivity"
	[ "${#lines[@]}" -eq 1 ]
	run solve "$CELL" --current 8mA/cm2 --set no.such.key=1 -o out.h5
	assert_failure 2
	assert_no_output_file out.h5
}

@test "rejects a cut-off at or above the open-circuit voltage" {
	run solve "$CELL" --current 8mA/cm2 --cutoff 4.3V -o out.h5
	assert_failure 2
	assert_output --partial "open-circuit voltage 4.2"
	assert_no_output_file out.h5
}

@test "a solver that does not converge exits 1 and keeps the last good state" {
	run solve "$CELL" --current 8mA/cm2 --newton-max 1 -o fail.h5
	assert_failure 1
	assert_output --partial "Newton"
	assert_output --partial "last good state"
	[ "$(attr fail.h5 /solver/status)" = failed ]
	run h5dump -a /solver/message fail.h5
	assert_output --partial "no convergence"
	run h5dump -d /fields/0001/c_s fail.h5
	assert_success
}

# interrupt SIGNAL: a run with a checkpoint after every step gets SIGNAL as
# soon as its first checkpoint exists (a condition, not a time: the run takes
# about 250 steps, seconds, and the signal comes after the first); it must
# stop with exit 1, keep the checkpoint, write no output, and --resume must
# start at the checkpoint's time and end where an uninterrupted run ends.
# interrupt SIGNAL [CELL [OPTIONS]]: the cell (default $CELL) discharged
# straight and with a signal, then resumed; OPTIONS replace the default run
# (snapshots every 100 s from t = 0 in both).
interrupt() {
	local cell=${2:-$CELL}
	local opts=${3:-"--current 1mA/cm2 --max-step 2s --save-every 100s"}
	# shellcheck disable=SC2086
	solve -q "$cell" $opts -o straight.h5
	# shellcheck disable=SC2086
	solve -q "$cell" $opts --checkpoint ck.h5 --checkpoint-every 0s -o resumed.h5 2> err.txt &
	pid=$!
	for _ in $(seq 1 3000); do
		[ -e ck.h5 ] && break
		kill -0 "$pid" 2> /dev/null || break
		sleep 0.01
	done
	[ -e ck.h5 ] || fail "no checkpoint appeared"
	kill "-$1" "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 1 ] || fail "exit status $status (0: the run ended before the signal)"
	grep -q -- "--resume" err.txt
	assert_no_output_file resumed.h5
	[ -e ck.h5 ]
	t_ck=$(last ck.h5 /timeseries/time)
	t_end=$(last straight.h5 /timeseries/time)
	awk -v t="$t_ck" -v e="$t_end" 'BEGIN { exit !(t > 0 && t < e) }' || fail "checkpoint at $t_ck s"
	# shellcheck disable=SC2086
	run solve -q "$cell" $opts --checkpoint ck.h5 --checkpoint-every 0s --resume -o resumed.h5
	assert_success
	[ ! -e ck.h5 ]
	awk -v a="$(attr resumed.h5 /solver/resumed_at_s)" -v b="$t_ck" 'BEGIN { exit !(a == b) }' ||
		fail "resumed at $(attr resumed.h5 /solver/resumed_at_s), checkpoint at $t_ck"
	run h5dump -a /solver/resumed_at_s straight.h5
	assert_failure
	# the same discharge, to the solver's tolerance (the restarted Newton
	# does not know the forcing and preconditioner history: 4e-8 V measured)
	for d in time voltage capacity; do
		a=$(last straight.h5 /timeseries/$d)
		b=$(last resumed.h5 /timeseries/$d)
		awk -v a="$a" -v b="$b" 'BEGIN { e = (a - b) / a; exit !(e < 1e-6 && e > -1e-6) }' ||
			fail "$d: $a straight, $b resumed"
	done
	[ "$(attr straight.h5 /solver/steps)" = "$(attr resumed.h5 /solver/steps)" ]
	# and the same snapshots: one at rest (not a second one from the resumed
	# run's start), every 100 s, and one at the end (its time compared above)
	snap_times() {
		h5dump -n "$1" | sed -n 's|^ *group *\(/fields/[0-9]*\)$|\1|p' | sed '$d' |
			while read -r g; do attr "$1" "$g/time"; done | tr '\n' ' '
	}
	a=$(snap_times straight.h5)
	b=$(snap_times resumed.h5)
	[[ "$a" == "0 100 200 "* ]] || fail "snapshots of the straight run at $a"
	[ "$a" = "$b" ] || fail "snapshots at $a straight, $b resumed"
}

@test "SIGTERM saves a checkpoint; --resume starts there and reaches the same result" {
	interrupt TERM
	run solve -q "$CELL" --current 2mA/cm2 --checkpoint resumed.h5 --resume -o other.h5
	assert_failure 2
}

@test "SIGINT saves a checkpoint; --resume starts there and reaches the same result" {
	interrupt INT
}

# the state of a LIB cell holds c_e after the CAM's Li: it must go through
# the checkpoint too
@test "a LIB cell: SIGTERM, checkpoint, --resume: the same discharge" {
	interrupt TERM "$BATS_FILE_TMPDIR/lib.h5" \
		"--current 1mA/cm2 --max-step 2s --save-every 100s --max-time 250s"
	h5dump -d /fields/0002/c_e resumed.h5 > /dev/null
}

# issue 17 item 5: the reader returned failure without a message; solve went
# on with no parameter set (SIGSEGV) and metrics printed "metrics: ", exit 0.
@test "a cell whose /parameters is not a group: solve and metrics exit 2 and say so" {
	cp "$CELL" bad.h5
	/usr/bin/python3 -c "import h5py, numpy as np
f = h5py.File('bad.h5', 'r+'); del f['parameters']; f['parameters'] = np.arange(3)"
	for prog in "solve -q bad.h5 --current 2mA/cm2 -o r.h5" "metrics bad.h5"; do
		# shellcheck disable=SC2086
		run $prog
		[ "$status" -eq 2 ] || fail "$prog: exit $status: $output"
		assert_output --partial "bad.h5:/parameters: not a group"
	done
	assert_no_output_file r.h5
}

# issue 17 item 6: each of these ran for ever (or until the step size
# collapsed) before; now exit 2 at once with the range.
@test "options that make no physical sense are refused at once: tiny steps, C-rates, cut-offs" {
	for bad in "--current 2mA/cm2 --max-step 1e-9s" "--c-rate 1e-9" "--current 1e-9mA/cm2" \
		"--c-rate 5000" "--current 2mA/cm2 --cutoff -1V" "--current 2mA/cm2 --step-tol 1e-9"; do
		# shellcheck disable=SC2086
		run timeout 20 solve -q "$CELL" $bad -o bad.h5
		[ "$status" -eq 2 ] || fail "$bad: exit $status: $output"
		assert_output --regexp "expected|must"
	done
	assert_no_output_file bad.h5
	run solve -q "$CELL" --c-rate 1e-9 -o bad.h5
	assert_output --partial "C for this cell (C_theo"
}

# issue 17 item 12: --set skipped the set's cross-checks, and a key that only
# assemble reads was recorded and did nothing
@test "--set is checked as a parameter file is: c_init above c_max, separator.thickness: exit 2" {
	run solve -q "$CELL" --current 2mA/cm2 --set cam.c_init=0.06mol/cm3 -o bad.h5
	assert_failure 2
	assert_output --partial "cam.c_init 60000 mol/m3 is not below cam.c_max"
	run solve -q "$CELL" --current 2mA/cm2 --set separator.thickness=5um -o bad.h5
	assert_failure 2
	assert_output "solve: --set separator.thickness: the cell's geometry was fixed by assemble (assemble --separator LEN)"
	assert_no_output_file bad.h5
}

# issue 17 item 11: the fingerprint held only the cell's size, so a
# checkpoint resumed on another cell of the same size
@test "--resume refuses a checkpoint of another cell of the same size, or of other parameters" {
	genstruct homogeneous --size 20x10x10um --voxel 2um --cam 0.6 --cbd 0.2 \
		--electrolyte 0.2 --diameter 6um --seed 4 -o other.h5
	assemble -q other.h5 --cell assb -o othercell.h5
	stopped_checkpoint ck.h5
	[ -e ck.h5 ]
	run solve -q othercell.h5 --current 1mA/cm2 --max-step 2s --checkpoint ck.h5 --resume -o r.h5
	assert_failure 2
	assert_output --partial "written for another cell or other options"
	run solve -q "$CELL" --current 1mA/cm2 --max-step 2s --set cam.density=5g/cm3 \
		--checkpoint ck.h5 --resume -o r.h5
	assert_failure 2
	assert_output --partial "written for another cell or other options"
	assert_no_output_file r.h5
}
