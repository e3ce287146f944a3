#!/usr/bin/env bats
# metrics on run files of solve as a user runs it (issue 5): capacity,
# energy, utilization and its profile, cumulative capacity, --time, and the
# checks against the time series that the file itself carries.

load test_helper

# One small ASSB discharge shared by the tests of this file.
setup_file() {
	: "${VB_BIN:?VB_BIN must name the directory of the built programs}"
	cd "$BATS_FILE_TMPDIR" || return 1
	"$VB_BIN/genstruct" homogeneous --size 24x12x12um --voxel 2um --cam 0.65 --cbd 0.21 \
		--electrolyte 0.14 --seed 3 -o c.h5
	"$VB_BIN/assemble" -q c.h5 --cell assb -o cell.h5
	"$VB_BIN/solve" -q cell.h5 --current 0.5mA/cm2 --save-every 60s -o run.h5
}

# |a - b| <= tol * |b|
near() {
	awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d;
		m = b < 0 ? -b : b; exit !(d <= t * m) }'
}

@test "capacity and energy are the integrals of the time series" {
	json=$(metrics --json "$BATS_FILE_TMPDIR/run.h5")
	# implicit Euler as stored: sum over steps of I dt and I U dt, U at the step end
	read -r q w < <(metrics --timeseries "$BATS_FILE_TMPDIR/run.h5" | awk -F, '
		NR == 2 { t = $1 } NR > 2 { q += $3 * ($1 - t) / 3600; w += $3 * $2 * ($1 - t) / 3600; t = $1 }
		END { printf "%.12g %.12g\n", q, w }')
	near "$(echo "$json" | json_get .capacity_mAh_cm2)" "$q" 1e-9
	near "$(echo "$json" | json_get .energy_mWh_cm2)" "$w" 1e-9
	near "$(echo "$json" | json_get .avg_voltage_V)" "$(awk -v q="$q" -v w="$w" 'BEGIN { printf "%.15g", w / q }')" 1e-9
	[ "$(echo "$json" | json_get .status)" = cutoff ]
	near "$(echo "$json" | json_get .voltage_V)" 3.0 1e-6
	near "$(echo "$json" | json_get .current_mA_cm2)" 0.5 1e-12
}

@test "energy density is the delivered energy over the three counted masses" {
	json=$(metrics --json "$BATS_FILE_TMPDIR/run.h5")
	w=$(echo "$json" | json_get .energy_mWh_cm2)
	m=$(echo "$json" | jq '.m_anode_mg_cm2 + .m_separator_mg_cm2 + .m_cathode_mg_cm2')
	# mWh/cm2 x 10 = Wh/m2; mg/cm2 / 100 = kg/m2
	near "$(echo "$json" | json_get .energy_density_Wh_kg)" "$(awk -v w="$w" -v m="$m" 'BEGIN { printf "%.15g", w * 10 / (m / 100) }')" 1e-9
	e=$(echo "$json" | json_get .energy_density_Wh_kg)
	et=$(echo "$json" | json_get .e_theo_Wh_kg)
	awk -v e="$e" -v t="$et" 'BEGIN { exit !(e > 0 && e < t) }'
}

@test "the utilization profile averages to the overall utilization, weighted by CAM volume" {
	run=$BATS_FILE_TMPDIR/run.h5
	metrics --profile utilization "$run" > u.csv
	metrics --profile fractions "$run" > f.csv
	[ "$(head -1 u.csv)" = "x_um,utilization" ]
	[ "$(wc -l < u.csv)" -eq 13 ]
	# weights: CAM voxels per slice (6 x 6 voxels a slice)
	mean=$(paste -d, u.csv f.csv | awk -F, 'NR > 1 && $2 != "" { n = int($4 * 36 + 0.5); s += $2 * n; w += n }
		END { printf "%.15g", s / w }')
	near "$mean" "$(metrics --json "$run" | json_get .utilization)" 1e-9
}

@test "cumulative capacity rises from 0 to the delivered capacity (charge conservation)" {
	run=$BATS_FILE_TMPDIR/run.h5
	metrics --profile cumulative "$run" > c.csv
	[ "$(sed -n 2p c.csv)" = "0,0" ]
	awk -F, 'NR > 2 && $2 < prev - 1e-15 { exit 1 } NR > 1 { prev = $2 }' c.csv
	last=$(tail -1 c.csv | cut -d, -f2)
	[ "$(tail -1 c.csv | cut -d, -f1)" = 24 ]
	near "$last" "$(metrics --json "$run" | json_get .capacity_mAh_cm2)" 1e-7
	# and utilization x C_theo is the same charge
	json=$(metrics --json "$run")
	near "$(echo "$json" | jq '.utilization * .c_theo_mAh_cm2')" "$last" 1e-9
}

@test "ionic current hot spots: ordered statistics around the applied current" {
	json=$(metrics --json "$BATS_FILE_TMPDIR/run.h5")
	echo "$json" | jq -e '.i_ion_p50_mA_cm2 <= .i_ion_p90_mA_cm2 and
		.i_ion_p90_mA_cm2 <= .i_ion_p99_mA_cm2 and .i_ion_p99_mA_cm2 <= .i_ion_max_mA_cm2 and
		.i_ion_mean_mA_cm2 > 0 and .i_ion_max_mA_cm2 > .current_mA_cm2'
	metrics --profile current "$BATS_FILE_TMPDIR/run.h5" > i.csv
	[ "$(head -1 i.csv)" = "x_um,i_ion_mean_mA_cm2" ]
	[ "$(wc -l < i.csv)" -eq 13 ]
}

@test "--time picks a saved snapshot; another time is refused naming the saved ones" {
	run=$BATS_FILE_TMPDIR/run.h5
	json=$(metrics --time 1min --json "$run")
	[ "$(echo "$json" | json_get .snapshot)" = 1 ]
	[ "$(echo "$json" | json_get .time_s)" = 60 ]
	# 60 s at 0.5 mA/cm2 = 1/120 mAh/cm2
	near "$(echo "$json" | json_get .capacity_mAh_cm2)" 0.00833333333333 1e-9
	u60=$(echo "$json" | json_get .utilization)
	uend=$(metrics --json "$run" | json_get .utilization)
	awk -v a="$u60" -v b="$uend" 'BEGIN { exit !(a < b) }'
	run metrics --time 61s "$run"
	assert_failure 2
	assert_output --regexp '^metrics: .*run.h5: no snapshot at 61 s; saved times \(s\): 60, '
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
	assert_output "metrics: --profile 'heat': expected fractions, utilization, cumulative or current"
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
