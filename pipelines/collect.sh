#!/bin/bash
# Tidy tables of a study from the per-run CSV files of metrics (pipelines/study.mk).
#
#   collect.sh runs DESIGN PREFIX SUFFIX "VALUES" "CURRENTS" DIR
#     DIR/PREFIX<v>SUFFIX_<I>mA.csv (metrics --csv of a run) for every current
#     I and design value v -> one table on stdout: DESIGN,set_current_mA_cm2
#     (the current the run was made at), the metrics columns, gain_energy_pct, gain_capacity_pct (against the first
#     design value at the same current); rows by current, then design value.
#   collect.sh structures DESIGN PREFIX SUFFIX "VALUES" "" DIR
#     DIR/PREFIX<v>SUFFIX.csv (metrics --csv of a cell) -> DESIGN, the metrics
#     columns, c_theo_rel, kappa_rel_rel (both against the first design value).
#   collect.sh profiles KIND ID "" "" "CURRENTS" DIR
#     DIR/ID_<I>mA.KIND.csv -> set_current_mA_cm2 and that file's columns.
# Column names stay unique: the runs' own current_mA_cm2 (metrics; and
# --timeseries, 0 at t = 0) keeps its name next to set_current_mA_cm2.
#
# A study whose second dimension is not the current (transference.mk) names
# it in the environment: SERIES_COLUMN (default set_current_mA_cm2) and the
# run files' tag, SERIES_PREFIX<value>SERIES_SUFFIX (default <I>mA); CURRENTS
# then holds its values.
set -euo pipefail
mode=$1 design=$2 prefix=$3 suffix=$4 values=$5 currents=$6 dir=$7
series=${SERIES_COLUMN-set_current_mA_cm2}
tag() { printf '%s%s%s' "${SERIES_PREFIX-}" "$1" "${SERIES_SUFFIX-mA}"; }

# First line of a CSV file, failing clearly if the file is missing or empty.
header() {
	[ -s "$1" ] || { echo "collect.sh: $1: missing or empty" >&2; exit 1; }
	head -n 1 "$1"
}

case $mode in
runs)
	first=""
	for i in $currents; do
		for v in $values; do
			f=$dir/$prefix$v${suffix}_$(tag "$i").csv
			if [ -z "$first" ]; then
				first=$f
				echo "$design,$series,$(header "$f"),gain_energy_pct,gain_capacity_pct"
			fi
			[ "$(header "$f")" = "$(header "$first")" ] ||
				{ echo "collect.sh: $f: other columns than $first" >&2; exit 1; }
			tail -n +2 "$f" | sed "s|^|$v,$i,|"
		done
	done | awk -F, -v OFS=, '
		NR == 1 { for (k = 1; k <= NF; k++) col[$k] = k; print; next }
		{
			e = $col["energy_density_Wh_kg"]; q = $col["capacity_mAh_cm2"]
			if (!($2 in e0)) { e0[$2] = e; q0[$2] = q }
			ge = e0[$2] > 0 ? sprintf("%.6g", 100 * (e / e0[$2] - 1)) : ""
			gq = q0[$2] > 0 ? sprintf("%.6g", 100 * (q / q0[$2] - 1)) : ""
			print $0, ge, gq
		}'
	;;
structures)
	first=""
	for v in $values; do
		f=$dir/$prefix$v$suffix.csv
		if [ -z "$first" ]; then
			first=$f
			echo "$design,$(header "$f"),c_theo_rel,kappa_rel_rel"
		fi
		tail -n +2 "$f" | sed "s|^|$v,|"
	done | awk -F, -v OFS=, '
		NR == 1 { for (k = 1; k <= NF; k++) col[$k] = k; print; next }
		{
			c = $col["c_theo_mAh_cm2"]; kr = $col["kappa_rel"]
			if (NR == 2) { c0 = c; k0 = kr }
			print $0, (c0 > 0 ? sprintf("%.6g", c / c0) : ""), (k0 > 0 ? sprintf("%.6g", kr / k0) : "")
		}'
	;;
profiles)
	kind=$design id=$prefix
	first=""
	for i in $currents; do
		f=$dir/${id}_$(tag "$i").$kind.csv
		if [ -z "$first" ]; then
			first=$f
			echo "$series,$(header "$f")"
		fi
		tail -n +2 "$f" | sed "s|^|$i,|"
	done
	;;
*)
	echo "collect.sh: unknown mode '$mode' (runs, structures or profiles)" >&2
	exit 2
	;;
esac
