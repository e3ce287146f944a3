#!/bin/sh
# The main job on built-in examples: the fast variants of the four ASSB
# studies (pipelines/, docs/pipelines.md) -- two-layer cathodes (Study L),
# the reversed stacks (L-rev), perforated cathodes (P-ASSB) and graded
# cathodes (Study G) at 4 um voxels, two currents each -- from structure
# generation to tables and figures.
# usage: scripts/demo.sh BIN_DIR OUT_DIR
set -eu
bin=$1
out=$2
here=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

echo "demo: the four studies, fast variants, $jobs simulations at a time (one thread each)"
make --no-print-directory -C "$here/pipelines" -j"$jobs" fast BIN="$bin" THREADS=1 \
	STUDIES_DIR="$out/studies" > "$out.log" 2>&1 ||
	{ tail -n 20 "$out.log" >&2; echo "demo: failed; the whole log is $out.log" >&2; exit 1; }

for s in layered layered-rev perforated-assb graded; do
	dir=$out/studies/$s-fast
	echo
	echo "== $s: $dir/$s.csv"
	awk -F, '
		NR == 1 { for (k = 1; k <= NF; k++) c[$k] = k
			printf "%-6s %8s %12s %12s %11s %10s\n", $1, "I mA/cm2", "Q mAh/cm2", "E Wh/kg",
				"utilization", "gain E %"; next }
		{ printf "%-6s %8s %12.3f %12.1f %11.3f %10.1f\n", $1, $2, $c["capacity_mAh_cm2"],
			$c["energy_density_Wh_kg"], $c["utilization"], $c["gain_energy_pct"] }' "$dir/$s.csv"
	echo "figures: $dir/fig/"
done
echo
echo "demo: runs (open RUN.h5.xdmf in ParaView), tables and figures are under $out/studies/"
