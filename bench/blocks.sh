#!/bin/sh
# Convergence of `solve` in voxel size on single CAM blocks (issue 11,
# docs/solve.md "Convergence at the shipped parameters"): the blocks of the
# lateral-blocks unit test, built through `genstruct import` and `assemble
# --cell assb` at the shipped parameters. The cathode is 8 um thick and
# 8 um wide, all SE but a 2 um CAM block at the collector, in the corner
# y = 0:
#   rod   2 um deep along z (the whole depth): it reacts on two adjacent
#         faces (towards the separator and along y), an edge;
#   cube  in a cathode 4 um deep, the block in the corner z = 0 too: it
#         reacts on three faces, a corner;
#   L     three such rod blocks, 2 um deep along z: two side by side along
#         y at the collector and one in front of the first towards the
#         separator (two convex edges and one concave).
# At 2 um each block is one voxel. Discharged to 3.0 V at each C-rate on the
# threads OMP_NUM_THREADS allows; prints wall time, peak memory, the
# utilization (`metrics`) and its change from the run one voxel size
# coarser.
# usage: [SHAPES=...] [SOLVE_OPTS=...] bench/blocks.sh [BIN_DIR] [FACTORS] [RATES]
#   SHAPES default "rod cube L"; SOLVE_OPTS adds options to every solve
#   (e.g. "--set cam.diffusivity=8.71e-13cm2/s", a constant D_s)
#   FACTORS: voxels per 2 um, default "1 2 4 8" (2, 1, 0.5, 0.25 um);
#   RATES default "0.15 1"
set -eu
bin=${1:-$(dirname "$0")/../build/bin}
factors=${2:-1 2 4 8}
rates=${3:-0.15 1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

block() { # shape f: the cathode as raw uint8, x slowest, z fastest
	# (1 CAM, 2 SE); the block is x >= 3f, y < f (and z < f for the cube;
	# the L adds x >= 3f, f <= y < 2f and 2f <= x < 3f, y < f)
	LC_ALL=C awk -v shape="$1" -v f="$2" 'BEGIN {
		nz = shape == "cube" ? 2 * f : f
		for (i = 0; i < 4 * f; i++)
			for (j = 0; j < 4 * f; j++)
				for (k = 0; k < nz; k++) {
					cam = i >= 3 * f && j < f && (shape != "cube" || k < f)
					if (shape == "L")
						cam = (i >= 3 * f && j < 2 * f) || (i >= 2 * f && j < f)
					printf "%c", cam ? 1 : 2
				}
	}'
}

printf '%-5s %-7s %-5s %8s %8s %11s %9s\n' block voxel C wall_s peak_MB utilization change_%
for shape in ${SHAPES:-rod cube L}; do
	for rate in $rates; do
		prev=
		for f in $factors; do
			h=$(awk -v f="$f" 'BEGIN { print 2 / f }')
			nz=$f
			[ "$shape" = cube ] && nz=$((2 * f))
			block "$shape" "$f" > "$work/block.raw"
			"$bin/genstruct" import --raw "$work/block.raw" --dims "$((4 * f))x$((4 * f))x$nz" \
				--voxel "${h}um" -o "$work/cathode.h5" 2> /dev/null
			"$bin/assemble" -q "$work/cathode.h5" --cell assb -o "$work/cell.h5"
			# shellcheck disable=SC2086 # SOLVE_OPTS is a list of options
			/usr/bin/time -f '%e %M' -o "$work/time" "$bin/solve" -q "$work/cell.h5" \
				--c-rate "$rate" ${SOLVE_OPTS:-} -o "$work/run.h5"
			read -r wall kb < "$work/time"
			u=$("$bin/metrics" --json "$work/run.h5" | jq -r .utilization)
			printf '%-5s %-7s %-5s %8s %8.0f %11.5f' "$shape" "${h}um" "$rate" "$wall" \
				"$(echo "$kb" | awk '{ print $1 / 1024 }')" "$u"
			if [ -n "$prev" ]; then
				awk -v a="$u" -v b="$prev" 'BEGIN { printf " %+9.2f\n", 100 * (a - b) / b }'
			else
				echo
			fi
			prev=$u
		done
	done
done
