#!/usr/bin/env bats
# metrics on run files of solve as a user runs it (issue 5): capacity,
# energy, utilization and its profile, cumulative capacity, hot spots,
# --time. Each value is checked against one found another way: a hand-built
# run file whose answers are known (tests/unit/test_metrics_run.c writes
# it), a closed form (constant current, a planar film), or the run file's
# own datasets read with h5dump and reduced in awk.

load test_helper

# One small ASSB discharge shared by the tests of this file, and the
# hand-built run file.
setup_file() {
	: "${VB_BIN:?VB_BIN must name the directory of the built programs}"
	cd "$BATS_FILE_TMPDIR" || return 1
	"$VB_BIN/genstruct" homogeneous --size 24x12x12um --voxel 2um --cam 0.65 --cbd 0.21 \
		--electrolyte 0.14 --seed 3 -o c.h5
	"$VB_BIN/assemble" -q c.h5 --cell assb -o cell.h5
	"$VB_BIN/solve" -q cell.h5 --current 0.5mA/cm2 --save-every 60s -o run.h5
	"${VB_UNIT:-$VB_BIN/../tests}/test_metrics_run" --write hand.h5
}

# |a - b| <= tol * |b| (tol 0: equal)
near() {
	awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d;
		m = b < 0 ? -b : b; if (!(d <= t * m)) { print "got " a ", expected " b; exit 1 } }'
}

# The values of dataset $2 of file $1, one a line, at full precision.
h5values() {
	h5dump -y -w0 -m %.17g -d "$2" "$1" | awk '/DATA \{/ { on = 1; next }
		on && /^ *\}/ { exit } on { gsub(/,/, " "); for (i = 1; i <= NF; i++) print $i }'
}

# CSV files $1 and $2 (same rows, same empty cells) agree to relative $3.
same_csv() {
	paste -d, "$1" "$2" | awk -F, -v t="$3" 'NR == 1 { n = NF / 2; next }
		{ for (c = 1; c <= n; c++) { a = $c; b = $(c + n)
			if ((a == "") != (b == "")) { print "row " NR " column " c ": " a " vs " b; exit 1 }
			d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b
			if (a != "" && !(d <= t * m)) { print "row " NR " column " c ": " a " vs " b; exit 1 } } }
		END { if (NR < 2) exit 1 }'
}

# The hand-built file (test_metrics_run.c, test_weights): 3 rows x 4 cathode
# slices of 1 um: slice 0 two SE voxels, slice 1 one SE and a CAM voxel cut
# off from the current path, slices 2 and 3 two and three CAM voxels at
# utilization 0.5, 0.1 | 0.25, 0.4, 0.6; 2 um of SE separator. Series: t = 0,
# 100, 200 s; U = 4.2, 4.0, 3.9 V; I = 10 A/m2; capacity 0, 1000, 2000 C/m2;
# energy 0, 4000, 7900 J/m2. phi_e falls 10 mV per um in the SE, so an SE
# face carries j = 0.07 S/m x 1e4 V/m = 70 mA/cm2, and the SE voxels carry
# j, j/2, j/2 (a face to void or to CAM at equilibrium carries none).
@test "a hand-built run file: every discharge key has its known value" {
	run metrics --json "$BATS_FILE_TMPDIR/hand.h5"
	assert_success
	j=$output
	get() { echo "$j" | json_get ".$1"; }
	echo "$j" | jq -e '.time_s == 200 and .voltage_V == 3.9 and .current_mA_cm2 == 1 and
		.status == "cutoff" and .snapshot == 2 and .vf_cam == 0.5 and .vf_electrolyte == 0.25' > /dev/null
	# C/m2 / 36000 = mAh/cm2, J/m2 / 36000 = mWh/cm2
	near "$(get capacity_mAh_cm2)" "$(awk 'BEGIN { printf "%.15g", 2000 / 36000 }')" 1e-10
	near "$(get energy_mWh_cm2)" "$(awk 'BEGIN { printf "%.15g", 7900 / 36000 }')" 1e-10
	near "$(get avg_voltage_V)" 3.95 1e-10
	# the mean over the 6 CAM voxels of the cathode, the cut-off one at 0
	near "$(get utilization)" "$(awk 'BEGIN { printf "%.15g", 1.85 / 6 }')" 1e-10
	# C_theo: 2 um of CAM per area; masses: Li for C_theo, 2 um of SE, 4 um x (0.5 x 4.77 + 0.25 x 1.64)
	c=$(awk 'BEGIN { printf "%.15g", (49030 - 11310) * 96485.33212 * 2e-6 / 36000 }')
	near "$(get c_theo_mAh_cm2)" "$c" 1e-10
	near "$(get m_separator_mg_cm2)" 0.328 1e-10
	near "$(get m_cathode_mg_cm2)" 1.118 1e-10
	# 7900 J/m2 = 2.19444 Wh/m2 over the three masses in kg/m2 (mg/cm2 / 100)
	near "$(get energy_density_Wh_kg)" "$(awk -v c="$c" 'BEGIN {
		printf "%.15g", 7900 / 3600 / ((c / 3861 * 1000 + 0.328 + 1.118) / 100) }')" 1e-9
	# j/2, j/2, j: mean 2j/3, median j/2; p90 and p99 interpolate between j/2 and j
	near "$(get i_ion_mean_mA_cm2)" "$(awk 'BEGIN { printf "%.15g", 70 * 2 / 3 }')" 1e-9
	near "$(get i_ion_p50_mA_cm2)" 35 1e-9
	near "$(get i_ion_p90_mA_cm2)" 63 1e-9
	near "$(get i_ion_p99_mA_cm2)" 69.3 1e-9
	near "$(get i_ion_max_mA_cm2)" 70 1e-9
	# the first snapshot by its time: the series at 100 s
	run metrics --time 100s --json "$BATS_FILE_TMPDIR/hand.h5"
	assert_success
	echo "$output" | jq -e '.snapshot == 1 and .time_s == 100 and .voltage_V == 4' > /dev/null
	near "$(echo "$output" | json_get .capacity_mAh_cm2)" "$(awk 'BEGIN { printf "%.15g", 1000 / 36000 }')" 1e-10
	near "$(echo "$output" | json_get .avg_voltage_V)" 4 1e-10
}

@test "a hand-built run file: --csv, --profile and --timeseries print the known rows" {
	hand=$BATS_FILE_TMPDIR/hand.h5
	metrics --csv "$hand" > row.csv
	col() { awk -F, -v k="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == k) c = i } NR == 2 { print $c }' row.csv; }
	near "$(col capacity_mAh_cm2)" "$(awk 'BEGIN { printf "%.15g", 2000 / 36000 }')" 1e-9
	near "$(col utilization)" "$(awk 'BEGIN { printf "%.15g", 1.85 / 6 }')" 1e-9
	near "$(col i_ion_p90_mA_cm2)" 63 1e-9
	[ "$(col status)" = cutoff ] && [ -z "$(col kappa_rel)" ]
	# utilization per slice: none, the cut-off voxel alone, 0.5 and 0.1, 0.25 0.4 0.6
	printf 'x_um,utilization\n0.5,\n1.5,0\n2.5,0.3\n3.5,%.15g\n' "$(awk 'BEGIN { printf "%.15g", 1.25 / 3 }')" > want.csv
	metrics --profile utilization "$hand" > got.csv
	same_csv got.csv want.csv 1e-9
	# cumulative: sum of eta (c_max - c_0) F h^3 over the 3 h^2 of the cross-section, in mAh/cm2
	awk 'BEGIN { k = (49030 - 11310) * 96485.33212 * 1e-6 / 3 / 36000
		printf "x_um,cumulative_capacity_mAh_cm2\n0,0\n1,0\n2,0\n3,%.15g\n4,%.15g\n", 0.6 * k, 1.85 * k }' > want.csv
	metrics --profile cumulative "$hand" > got.csv
	same_csv got.csv want.csv 1e-9
	# current: slice 0 holds j and j/2, slice 1 j/2, the others no electrolyte
	printf 'x_um,i_ion_mean_mA_cm2\n0.5,52.5\n1.5,35\n2.5,\n3.5,\n' > want.csv
	metrics --profile current "$hand" > got.csv
	same_csv got.csv want.csv 1e-9
	printf 'x_um,vf_cam,vf_electrolyte,vf_cbd,vf_void\n0.5,0,0.666667,0,0.333333\n1.5,0.333333,0.333333,0,0.333333\n2.5,0.666667,0,0,0.333333\n3.5,1,0,0,0\n' > want.csv
	metrics --profile fractions "$hand" > got.csv
	same_csv got.csv want.csv 1e-6
	printf 'time_s,voltage_V,current_mA_cm2,capacity_mAh_cm2,energy_mWh_cm2\n0,4.2,0,0,0\n100,4,1,%.15g,%.15g\n200,3.9,1,%.15g,%.15g\n' \
		"$(awk 'BEGIN { printf "%.15g", 1000 / 36000 }')" "$(awk 'BEGIN { printf "%.15g", 4000 / 36000 }')" \
		"$(awk 'BEGIN { printf "%.15g", 2000 / 36000 }')" "$(awk 'BEGIN { printf "%.15g", 7900 / 36000 }')" > want.csv
	metrics --timeseries "$hand" > got.csv
	same_csv got.csv want.csv 1e-9
}

@test "a discharge at constant current: capacity I t, energy as stored, mean voltage between cut-off and OCV" {
	run=$BATS_FILE_TMPDIR/run.h5
	json=$(metrics --json "$run")
	[ "$(echo "$json" | json_get .status)" = cutoff ]
	near "$(echo "$json" | json_get .voltage_V)" 3.0 1e-6
	near "$(echo "$json" | json_get .current_mA_cm2)" 0.5 1e-12
	# 0.5 mA/cm2 for time_s seconds
	near "$(echo "$json" | json_get .capacity_mAh_cm2)" \
		"$(echo "$json" | jq '0.5 * .time_s / 3600')" 1e-9
	metrics --timeseries "$run" | awk -F, 'NR > 1 { d = $4 - 0.5 * $1 / 3600; if (d < 0) d = -d
		if (d > 1e-12 + 1e-9 * $4) { print "row " NR ": " $0; exit 1 } }'
	# the energy is /timeseries/energy at the end (J/m2 / 36000 = mWh/cm2)
	near "$(echo "$json" | json_get .energy_mWh_cm2)" \
		"$(h5values "$run" /timeseries/energy | tail -1 | awk '{ printf "%.17g", $1 / 36000 }')" 1e-12
	# the mean voltage of a discharge from 4.2 V to the 3.0 V cut-off lies between them,
	# and what it delivers stays below the open-circuit bound
	echo "$json" | jq -e '.avg_voltage_V > 3.0 and .avg_voltage_V < 4.2 and
		.energy_density_Wh_kg > 0 and .energy_density_Wh_kg < .e_theo_Wh_kg' > /dev/null
}

# The run's utilization and cumulative capacity per slice from its own
# /labels and last c_s, read with h5dump: eta = (c_s - c_s,0) / (c_s,max -
# c_s,0) over the CAM voxels of the cathode (x-slices 12..23, 6 x 6 voxels of
# 2 um), NaN (CAM cut off from the current path) counted as 0; c_s,0 and
# c_s,max of PHYSICS.md §3.
from_fields() {
	local run=$1 last
	last=$(h5ls "$run/fields" | tail -1 | awk '{ print $1 }')
	paste -d' ' <(h5values "$run" /labels) <(h5values "$run" "/fields/$last/c_s") | awk -v what="$2" '
		BEGIN { c0 = 11310; cmax = 49030; per = 36; x0 = 12; x1 = 24; h = 2e-6 }
		{ v = NR - 1; i = int(v / per)
		  if (i >= x0 && i < x1 && $1 == 1) {
			c = $2 ~ /nan/ ? c0 : $2
			eta[i] += (c - c0) / (cmax - c0); n[i]++; li[i] += c - c0 } }
		END {
			if (what == "utilization") {
				print "x_um,utilization"
				for (i = x0; i < x1; i++)
					if (n[i]) printf "%.6g,%.17g\n", (i - x0 + 0.5) * 2, eta[i] / n[i]
					else printf "%.6g,\n", (i - x0 + 0.5) * 2
			} else if (what == "cumulative") {
				print "x_um,cumulative_capacity_mAh_cm2"; print "0,0"
				for (i = x0; i < x1; i++) {
					q += li[i] * 96485.33212 * h * h * h / (per * h * h) / 36000
					printf "%.6g,%.17g\n", (i - x0 + 1) * 2, q }
			} else {
				for (i = x0; i < x1; i++) { s += eta[i]; m += n[i] }
				printf "%.17g\n", s / m
			} }'
}

@test "utilization and its profile match a second computation from the stored c_s" {
	run=$BATS_FILE_TMPDIR/run.h5
	from_fields "$run" utilization > want.csv
	metrics --profile utilization "$run" > got.csv
	[ "$(wc -l < got.csv)" -eq 13 ]
	# the profile prints 10 digits, the JSON 12
	same_csv got.csv want.csv 1e-9
	near "$(metrics --json "$run" | json_get .utilization)" "$(from_fields "$run" overall)" 1e-10
}

@test "cumulative capacity: a second computation from c_s, rising from 0 to the delivered capacity" {
	run=$BATS_FILE_TMPDIR/run.h5
	from_fields "$run" cumulative > want.csv
	metrics --profile cumulative "$run" > c.csv
	same_csv c.csv want.csv 1e-9
	[ "$(sed -n 2p c.csv)" = "0,0" ]
	[ "$(tail -1 c.csv | cut -d, -f1)" = 24 ]
	# charge conservation: the Li the CAM gained (fields) is the charge passed (time series)
	near "$(tail -1 c.csv | cut -d, -f2)" "$(metrics --json "$run" | json_get .capacity_mAh_cm2)" 1e-7
}

@test "in a planar SE | CAM film every electrolyte voxel carries the applied current" {
	# 1 x 1 cross-section: 4 um of SE, then 4 um of CAM; the current is 1D,
	# so every SE face of the cathode passes I, the CAM face by Butler-Volmer
	printf '\2\2\2\2\1\1\1\1' > film.raw
	genstruct import --raw film.raw --dims 8x1x1 --voxel 1um -o film.h5
	assemble -q film.h5 --cell assb -o cell.h5
	solve -q cell.h5 --current 1mA/cm2 -o run.h5
	run metrics --json run.h5
	assert_success
	for k in mean p50 p90 p99 max; do
		near "$(echo "$output" | json_get ".i_ion_${k}_mA_cm2")" 1 1e-7
	done
	printf 'x_um,i_ion_mean_mA_cm2\n0.5,1\n1.5,1\n2.5,1\n3.5,1\n4.5,\n5.5,\n6.5,\n7.5,\n' > want.csv
	metrics --profile current run.h5 > got.csv
	same_csv got.csv want.csv 1e-7
}

@test "--time picks a saved snapshot; another time is refused naming the saved ones" {
	run=$BATS_FILE_TMPDIR/run.h5
	json=$(metrics --time 1min --json "$run")
	[ "$(echo "$json" | json_get .snapshot)" = 2 ]
	[ "$(echo "$json" | json_get .time_s)" = 60 ]
	# 60 s at 0.5 mA/cm2 = 1/120 mAh/cm2
	near "$(echo "$json" | json_get .capacity_mAh_cm2)" 0.00833333333333 1e-9
	u60=$(echo "$json" | json_get .utilization)
	uend=$(metrics --json "$run" | json_get .utilization)
	awk -v a="$u60" -v b="$uend" 'BEGIN { exit !(a < b) }'
	run metrics --time 61s "$run"
	assert_failure 2
	assert_output --regexp '^metrics: .*run.h5: no snapshot at 61 s; saved times \(s\): 0, 60, '
}

@test "--time 0 gives the run at rest, its first snapshot" {
	json=$(metrics --time 0s --json "$BATS_FILE_TMPDIR/run.h5")
	echo "$json" | jq -e '.snapshot == 1 and .time_s == 0 and .capacity_mAh_cm2 == 0 and
		(.utilization | fabs) < 1e-12' > /dev/null || fail "$json"
}

@test "--csv on a run fills the discharge columns and the status" {
	run metrics --csv "$BATS_FILE_TMPDIR/run.h5"
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	echo "${lines[1]}" | grep -q ',cutoff$'
	col=$(echo "${lines[0]}" | tr , '\n' | grep -n '^capacity_mAh_cm2$' | cut -d: -f1)
	[ -n "$(echo "${lines[1]}" | cut -d, -f"$col")" ]
}

@test "run-only options on a cell, unknown profiles, clashing outputs: exit 2, one line" {
	run metrics --profile utilization "$BATS_FILE_TMPDIR/cell.h5"
	assert_failure 2
	assert_output --partial "cell.h5: a cell; --timeseries, --time and --profile utilization need a run file of solve"
	run metrics --timeseries "$BATS_FILE_TMPDIR/c.h5"
	assert_failure 2
	run metrics --profile heat "$BATS_FILE_TMPDIR/run.h5"
	assert_failure 2
	assert_output "metrics: --profile 'heat': expected fractions, utilization, cumulative, current or electrolyte"
	run metrics --timeseries --json "$BATS_FILE_TMPDIR/run.h5"
	assert_failure 2
	run metrics --time -5s "$BATS_FILE_TMPDIR/run.h5"
	assert_failure 2
	run metrics --time 5 "$BATS_FILE_TMPDIR/run.h5"
	assert_failure 2
	[ "${#lines[@]}" -eq 1 ]
}

@test "a truncated run file is refused with exit 2" {
	head -c 20000 "$BATS_FILE_TMPDIR/run.h5" > broken.h5
	run metrics broken.h5
	assert_failure 2
	[ "${#lines[@]}" -eq 1 ]
}
