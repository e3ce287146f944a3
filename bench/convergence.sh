#!/bin/sh
# Convergence of `solve` in voxel size at the shipped parameters (issue 11):
# the composite cell of the issue (40x16x16 um cathode, 65 vol% CAM, 21 vol%
# CBD -> SE, 14 vol% SE, seed 3) generated at 2 um and refined by `genstruct
# refine` to the finer voxels, so that the geometry stays fixed and only the
# discretisation changes; discharged to 3.0 V at each C-rate on the threads
# OMP_NUM_THREADS allows. Prints, per run, wall time, peak memory, steps,
# Newton iterations, the capacity (mAh/cm2) and its change from the run one
# voxel size coarser; then, at STEP_VOXEL, the capacity at half the step
# tolerance. docs/solve.md holds the tables this prints.
# usage: [CELL=lib] [SOLVE_OPTS=...] bench/convergence.sh [BIN_DIR] [VOXELS] [RATES] [STEP_VOXEL]
#   CELL assb (default) or lib (the same cathode with LE, CBD pores and the
#   shipped LIB set); SOLVE_OPTS adds options to every solve (e.g.
#   "--subgrid-law split")
#   VOXELS default "2um 1um 0.5um 0.25um" (refine factors 1 2 4 8 of 2 um;
#   the 0.25 um runs take tens of minutes each), RATES default "1 0.15",
#   STEP_VOXEL default 1um ("" skips the step-tolerance runs)
set -eu
bin=${1:-$(dirname "$0")/../build/bin}
voxels=${2:-2um 1um 0.5um 0.25um}
rates=${3:-1 0.15}
step_voxel=${4-1um}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

attr() { # file attribute-path: one scalar attribute value
	h5dump -a "$2" "$1" | sed -n 's/^ *(0): *//p' | tr -d '"'
}
capacity() { # run file: final capacity, mAh/cm2
	"$bin/metrics" --json "$1" | jq -r .capacity_mAh_cm2
}
factor() { # voxel size: refine factor from 2 um
	awk -v h="${1%um}" 'BEGIN { f = 2 / h; if (f != int(f) || f < 1) exit 1; print f }'
}
run() { # cell voxel rate step_tol label
	# shellcheck disable=SC2086 # SOLVE_OPTS is a list of options
	/usr/bin/time -f '%e %M' -o "$work/time" "$bin/solve" -q "$1" --c-rate "$3" \
		--step-tol "$4" ${SOLVE_OPTS:-} -o "$work/run.h5"
	read -r wall kb < "$work/time"
	cap=$(capacity "$work/run.h5")
	printf '%-7s %-5s %-8s %8s %8.0f %6s %7s %11.5f' "$2" "$3" "$4" "$wall" \
		"$(echo "$kb" | awk '{ print $1 / 1024 }')" "$(attr "$work/run.h5" /solver/steps)" \
		"$(attr "$work/run.h5" /solver/newton_iterations)" "$cap"
}

"$bin/genstruct" homogeneous --size 40x16x16um --voxel 2um --cam 0.65 --cbd 0.21 \
	--electrolyte 0.14 --seed 3 -o "$work/base.h5" 2> /dev/null
printf '%-7s %-5s %-8s %8s %8s %6s %7s %11s %9s\n' voxel C step_tol wall_s peak_MB steps \
	newton cap_mAh/cm2 change_%
for rate in $rates; do
	prev=
	for h in $voxels; do
		f=$(factor "$h") || { echo "bench/convergence.sh: $h is not 2 um / N" >&2; exit 2; }
		if [ ! -f "$work/cell$f.h5" ]; then
			if [ "$f" = 1 ]; then
				cp "$work/base.h5" "$work/s$f.h5"
			else
				"$bin/genstruct" refine --factor "$f" "$work/base.h5" -o "$work/s$f.h5"
			fi
			"$bin/assemble" -q "$work/s$f.h5" --cell "${CELL:-assb}" -o "$work/cell$f.h5"
		fi
		run "$work/cell$f.h5" "$h" "$rate" 1
		if [ -n "$prev" ]; then
			awk -v a="$cap" -v b="$prev" 'BEGIN { printf " %+9.2f\n", 100 * (a - b) / b }'
		else
			echo
		fi
		prev=$cap
		if [ "$h" = "$step_voxel" ]; then
			full=$cap
			run "$work/cell$f.h5" "$h" "$rate" 0.5
			awk -v a="$cap" -v b="$full" 'BEGIN { printf " %+9.2f\n", 100 * (a - b) / b }'
		fi
	done
done
