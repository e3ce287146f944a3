#!/bin/sh
# Benchmark of `solve` (issues 4 and 12): the Study P base cell (106x60x60 um
# cathode, 65 vol% CAM, 21 vol% CBD, 14 vol% electrolyte, 20 um separator)
# discharged to 3.0 V on the threads OMP_NUM_THREADS allows (default: all
# cores). CELL=assb (default: CBD -> SE, SE separator) or CELL=lib (LE, CBD
# with its pores, porous separator, the shipped LIB set).
# Prints wall time, peak memory, steps, Newton and linear iterations (for a
# LIB cell also the AMG-PCG iterations of the c_e block, "elyte").
# Targets (2 cores): ASSB 1 um at 8 mA/cm2 under 3 minutes and 2 GB, 2 um
# under 20 s; LIB 1 um at 8 mA/cm2 under 6 minutes and 3 GB.
# usage: [CELL=lib] [SOLVE_OPTS=...] bench/solve.sh [BIN_DIR] [VOXELS] [CURRENTS]
#   VOXELS default "2um 1um", CURRENTS default "8mA/cm2 1mA/cm2"; SOLVE_OPTS
#   adds options to every solve (e.g. "--subgrid-law split", the law before)
set -eu
bin=${1:-$(dirname "$0")/../build/bin}
voxels=${2:-2um 1um}
currents=${3:-8mA/cm2 1mA/cm2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

attr() { # file attribute-path: one scalar attribute value
	h5dump -a "$2" "$1" | sed -n 's/^ *(0): *//p' | tr -d '"'
}

printf '%-6s %-9s %8s %8s %7s %7s %7s %7s %8s %8s %8s %9s %9s\n' voxel current wall_s peak_MB \
	steps rejected newton outer linear inner elyte cap_mAh/cm2 status
for h in $voxels; do
	"$bin/genstruct" homogeneous --size 106x60x60um --voxel "$h" --cam 0.65 --cbd 0.21 \
		--electrolyte 0.14 --seed 1 -o "$work/cathode.h5"
	"$bin/assemble" "$work/cathode.h5" --cell "${CELL:-assb}" -o "$work/cell.h5"
	for i in $currents; do
		# shellcheck disable=SC2086 # SOLVE_OPTS is a list of options
		/usr/bin/time -f '%e %M' -o "$work/time" "$bin/solve" -q "$work/cell.h5" \
			--current "$i" ${SOLVE_OPTS:-} -o "$work/run.h5"
		read -r wall kb < "$work/time"
		steps=$(attr "$work/run.h5" /solver/steps)
		newton=$(attr "$work/run.h5" /solver/newton_iterations)
		outer=$(attr "$work/run.h5" /solver/outer_iterations)
		linear=$(attr "$work/run.h5" /solver/linear_iterations)
		inner=$(attr "$work/run.h5" /solver/inner_iterations)
		elyte=$(attr "$work/run.h5" /solver/electrolyte_iterations)
		rejected=$(attr "$work/run.h5" /solver/rejected_steps)
		status=$(attr "$work/run.h5" /solver/status)
		cap=$(h5dump -A 0 -d /timeseries/capacity "$work/run.h5" | sed -n 's/^ *([0-9]*): *//p' |
			tr ',' '\n' | sed '/^ *$/d' | tail -1)
		printf '%-6s %-9s %8s %8.0f %7s %7s %7s %7s %8s %8s %8s %9.4f %9s\n' "$h" "$i" "$wall" \
			"$(echo "$kb" | awk '{ print $1 / 1024 }')" "$steps" "$rejected" "$newton" \
			"$outer" "$linear" "$inner" "$elyte" "$(echo "$cap" | awk '{ print $1 / 36000 }')" \
			"$status"
	done
done
