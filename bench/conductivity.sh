#!/bin/sh
# Benchmark of `metrics --conductivity` (issue 3): wall time, peak memory and
# kappa_eff on random structures of N^3 voxels with about 35 % conducting
# phase (65 vol% CAM, the rest electrolyte), on the threads OMP_NUM_THREADS
# allows (default: all cores). Targets: 100^3 under 2 s; 200^3 under 20 s and
# 3 GB, at 1e-6 relative accuracy of kappa_eff.
# usage: bench/conductivity.sh [BIN_DIR] [--compare]
#   --compare also runs every solver (CHOLMOD only up to 60^3) for docs/conductivity.md
set -eu
bin=${1:-$(dirname "$0")/../build/bin}
compare=${2:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run() { # size solver what (ionic: the 35 % ion-conducting phase; both: + the 65 % CAM network)
	/usr/bin/time -f '%e %M' -o "$work/time" "$bin/metrics" --conductivity="$3" --solver "$2" \
		--json "$work/c$1.h5" > "$work/out.json"
	read -r wall kb < "$work/time"
	kappa=$(jq -r .kappa_eff_S_m "$work/out.json")
	used=$(jq -r .solver "$work/out.json")
	its=$(jq -r .solver_iterations "$work/out.json")
	printf '%-8s %-6s %-8s %6s %10s %10.0f %18s\n' "$1^3" "$3" "$used" "$its" "$wall" \
		"$(echo "$kb" | awk '{ print $1 / 1024 }')" "$kappa"
}

sizes="100 200"
[ "$compare" = "--compare" ] && sizes="40 60 100 200"
for n in $sizes; do
	"$bin/genstruct" homogeneous --size "${n}x${n}x${n}um" --voxel 1um --cam 0.65 --seed 1 \
		-o "$work/c$n.h5"
done
printf '%-8s %-6s %-8s %6s %10s %10s %18s\n' size what solver iters wall_s peak_MB kappa_eff_S_m
for n in $sizes; do
	run "$n" auto ionic
	run "$n" auto both
	if [ "$compare" = "--compare" ]; then
		if [ "$n" -le 100 ]; then run "$n" pcg ionic; fi
		if [ "$n" -le 60 ]; then run "$n" cholmod ionic; fi
	fi
done
echo "threads: ${OMP_NUM_THREADS:-$(nproc)}"
