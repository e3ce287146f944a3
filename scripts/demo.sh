#!/bin/sh
# The main job on built-in examples: the fast variants of the studies
# (pipelines/, docs/pipelines.md) -- two-layer cathodes (Study L), the
# reversed stacks (L-rev), perforated cathodes as ASSB (P-ASSB) and as LIB
# (P-LIB) cells, the LIB's transference number (P-t+), graded cathodes
# (Study G) and the ASSB-LIB comparison -- at 4 um voxels, two currents (or
# three t+) each, from structure generation to tables and figures.
# usage: scripts/demo.sh BIN_DIR OUT_DIR
set -eu
bin=$1
out=$2
here=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

echo "demo: the studies, fast variants, $jobs simulations at a time (one thread each)"
make --no-print-directory -C "$here/pipelines" -j"$jobs" fast BIN="$bin" THREADS=1 \
	STUDIES_DIR="$out/studies" > "$out.log" 2>&1 ||
	{ tail -n 20 "$out.log" >&2; echo "demo: failed; the whole log is $out.log" >&2; exit 1; }

for s in layered layered-rev perforated-assb graded perforated-lib transference compare-cells; do
	dir=$out/studies/$s-fast
	echo
	echo "== $s: $dir/$s.csv"
	# compare-cells: the cell type first; the second column is the current
	# (or t+); a LIB run may end as depleted
	awk -F, -v cmp="$([ "$s" = compare-cells ] && echo 1)" '
		NR == 1 { for (k = 1; k <= NF; k++) c[$k] = k
			d = cmp ? 2 : 1
			printf "%s%-6s %8s %12s %12s %11s %10s %s\n", cmp ? "cell " : "", $d,
				$(d + 1) == "t_plus" ? "t+" : "I mA/cm2", "Q mAh/cm2", "E Wh/kg",
				"utilization", "gain E %", "status"; next }
		{ printf "%s%-6s %8s %12.3f %12.1f %11.3f %10.1f %s\n", cmp ? sprintf("%-5s", $1) : "",
			$(d), $(d + 1), $c["capacity_mAh_cm2"], $c["energy_density_Wh_kg"],
			$c["utilization"], $c["gain_energy_pct"], $c["status"] }' "$dir/$s.csv"
	echo "figures: $dir/fig/"
done
echo
echo "demo: runs (open RUN.h5.xdmf in ParaView), tables and figures are under $out/studies/"
