#!/bin/sh
# Benchmark of `genstruct homogeneous` (issue 2): wall time and peak memory
# for a 100x80x80 um Study L-size box at 1 um and 0.5 um voxels (0.64 M and
# 5.1 M voxels), on the threads OMP_NUM_THREADS allows (default: all cores).
# Target: under 10 s and under 100 MB at 0.5 um on 2 cores.
# usage: bench/genstruct.sh [BIN_DIR]   (default build/bin)
set -eu
bin=${1:-$(dirname "$0")/../build/bin}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-8s %10s %12s %10s %12s\n' voxel voxels wall_s peak_MB threads
for voxel in 1 0.5; do
	/usr/bin/time -f '%e %M' -o "$work/time" "$bin/genstruct" homogeneous \
		--size 100x80x80um --voxel "${voxel}um" --cam 0.65 --cbd 0.21 --electrolyte 0.14 \
		--seed 1 -o "$work/c.h5"
	read -r wall kb < "$work/time"
	n=$(awk -v h="$voxel" 'BEGIN { printf "%d", (100 / h) * (80 / h) * (80 / h) }')
	printf '%-8s %10d %12s %10.1f %12s\n' "${voxel}um" "$n" "$wall" "$(echo "$kb" | awk '{ print $1 / 1024 }')" \
		"${OMP_NUM_THREADS:-$(nproc)}"
done
