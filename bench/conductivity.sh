#!/bin/sh
# Benchmark of `metrics --conductivity` (issues 3 and 14): wall time, peak
# memory and kappa_eff on random structures of N^3 voxels at 1 um, 65 vol%
# CAM and 35 % electrolyte (the ion-conducting phase), on the threads
# OMP_NUM_THREADS allows (default: all cores); by default also the two
# networks of a LIB cathode of 65 % CAM, 21 % CBD and 14 % electrolyte
# (two conducting classes each: LE and CBD pores, CAM and CBD).
# usage: bench/conductivity.sh [BIN_DIR] [SIZES...]
#        bench/conductivity.sh [BIN_DIR] --compare [SIZES...]
#        bench/conductivity.sh [BIN_DIR] --taufactor DIR [SIZES...]
#   default: the cost of the default solver (mg) for the ionic and the electronic
#     network, per voxel: linear in the voxel count? and for the LIB cathode's two
#     (lib-ionic, lib-electronic): as fast per voxel and iteration (ns/vox/it)? (SIZES
#     default "100 200 300 500";
#     500^3 needs about 4 GB and a minute or two; issue 14's targets: 100^3 in 0.2 s,
#     200^3 in 1.5 s, 500^3 under 60 s and 4 GB, 32 bytes per voxel)
#   --compare also runs every solver on the ionic network, amg and pcg up to 100^3,
#     CHOLMOD up to 60^3, for docs/conductivity.md (SIZES default "40 60 100 200")
#   --taufactor runs TauFactor (a peer, never a dependency: DIR is its source folder, e.g.
#     ../shared/peers/taufactor) and then voxbat on the ionic tortuosity of the same N^3 cubes
#     (issue 14; SIZES default "100 200 300"), one after the other; installs TauFactor's
#     Debian packages (scripts/install-deps.sh) first
set -eu
me=conductivity.sh
root=$(dirname "$0")/..
bin=$root/build/bin
usage() { # message: one line on stderr, exit 2
	echo "$me: $1" >&2
	exit 2
}
case ${1:-} in # a first argument that is neither an option nor a size: BIN_DIR
"" | -* | *[!0-9]*) is_size=no ;;
*) is_size=yes ;;
esac
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ] && [ "$is_size" = no ]; then
	bin=${1:-$bin}
	shift
fi
mode=${1:-}
case $mode in
--compare)
	shift
	sizes=${*:-40 60 100 200}
	;;
--taufactor)
	[ $# -ge 2 ] || usage "--taufactor needs TauFactor's source folder"
	peer=$2
	shift 2
	[ -f "$peer/taufactor/__init__.py" ] ||
		usage "$peer: no taufactor package (expected $peer/taufactor/__init__.py)"
	peer=$(cd "$peer" && pwd)
	sizes=${*:-100 200 300}
	;;
-*) usage "unknown option '$mode' (usage: [BIN_DIR] [--compare | --taufactor DIR] [SIZES...])" ;;
*) sizes=${*:-100 200 300 500} ;;
esac
for n in $sizes; do
	case $n in
	0* | *[!0-9]*) usage "size '$n': expected a whole number of voxels per edge, > 0" ;;
	esac
done
if [ ! -x "$bin/metrics" ] || [ ! -x "$bin/genstruct" ]; then
	usage "$bin: no metrics or genstruct (make build)"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run() { # size solver what [lib] (ionic: the 35 % ion-conducting phase; electronic: the 65 %
	# CAM; with lib, the LIB cathode's networks: LE and CBD pores, CAM and CBD)
	file=$work/c$1.h5 cell=assb name=$3
	if [ "${4:-}" = lib ]; then file=$work/l$1.h5 cell=lib name=lib-$3; fi
	/usr/bin/time -f '%e %M' -o "$work/time" "$bin/metrics" -q --conductivity="$3" \
		--cell "$cell" --solver "$2" --json "$file" > "$work/out.json"
	read -r wall kb < "$work/time"
	if [ "$3" = ionic ]; then key=kappa_eff_S_m; else key=sigma_eff_S_m; fi
	kappa=$(jq -r ".$key" "$work/out.json")
	used=$(jq -r .solver "$work/out.json")
	its=$(jq -r .solver_iterations "$work/out.json")
	printf '%-7s %-15s %-7s %6s %8s %8.0f %6s %6s %9s %18s\n' "$1^3" "$name" "$used" "$its" \
		"$wall" "$(echo "$kb" | awk '{ print $1 / 1024 }')" \
		"$(echo "$kb $1" | awk '{ printf "%.1f", $1 * 1024 / $2 ^ 3 }')" \
		"$(echo "$wall $1" | awk '{ printf "%.0f", $1 * 1e9 / $2 ^ 3 }')" \
		"$(echo "$wall $1 $its" | awk '$3 > 0 { printf "%.2f", $1 * 1e9 / $2 ^ 3 / $3 }')" \
		"$kappa"
}

if [ "$mode" = "--taufactor" ]; then
	py=/usr/bin/python3 # Debian's, where the packages below go (not a pyenv python3 on PATH)
	"$root/scripts/install-deps.sh" python3-torch python3-numpy python3-matplotlib \
		python3-ipython python3-skimage python3-tifffile python3-psutil >&2
	threads=${OMP_NUM_THREADS:-$(nproc)}
	threads=${threads%%,*} # OMP_NUM_THREADS may list one count per nesting level
	# The ion-conducting phase as a 0/1 array for TauFactor: electrolyte (2) and CBD (3), the
	# SE of an ASSB, what metrics takes a bare cathode for (docs/FORMAT.md). /labels is
	# stored x slowest, so x, the transport direction of both tools, is the array's axis 0.
	export_ion='import sys, h5py, numpy as np
labels = h5py.File(sys.argv[1], "r")["/labels"][...]
np.save(sys.argv[2], np.isin(labels, (2, 3)).astype(np.uint8))'
	# TauFactor as ../shared/peers/README.md calls it, on the CPU; prints tau, its own solve
	# time (the SOR loop alone), iterations, whether it converged, torch's version.
	solve_tf='import sys, numpy as np, torch, taufactor as tau
torch.set_num_threads(int(sys.argv[3]))
s = tau.Solver(np.load(sys.argv[1]), device="cpu")
s.solve(conv_crit=float(sys.argv[2]), verbose=False)
print(s.tau[0], "%.3f" % s.walltime, s.iter, "yes" if s.converged else "no",
      torch.__version__)'
	ratio() { # a [b]: a / b, nothing without b
		echo "$1 ${2:-}" | awk 'NF == 2 && $2 + 0 > 0 { printf "%.2f", $1 / $2 }'
	}
	reldiff() { # a [b]: (a - b) / b, nothing without b
		echo "$1 ${2:-}" | awk 'NF == 2 && $2 + 0 > 0 { printf "%+.1e", ($1 - $2) / $2 }'
	}
	row() { # size tool criterion time-file solve_s iters tau [voxbat's wall_s and tau]
		read -r wall kb < "$4"
		printf '%-7s %-14s %-9s %7s %8.0f %8s %6s %14s %8s %9s %9s\n' "$1^3" "$2" "$3" \
			"$wall" "$(ratio "$kb" 1024)" "$5" "$6" "$7" "$(ratio "$wall" "${8:-}")" \
			"$(ratio "$5" "${8:-}")" "$(reldiff "$7" "${9:-}")"
	}
	# wall/vb: TauFactor's whole run over voxbat's whole run; solve/vb: TauFactor's
	# solve alone over voxbat's whole run (reading the file and the flood fill included)
	printf '%-7s %-14s %-9s %7s %8s %8s %6s %14s %8s %9s %9s\n' size tool criterion wall_s \
		peak_MB solve_s iters tau wall/vb solve/vb dtau/vb
	for n in $sizes; do
		rm -f "$work/c.h5"
		"$bin/genstruct" homogeneous --size "${n}x${n}x${n}um" --voxel 1um --cam 0.65 \
			--seed 7 -o "$work/c.h5"
		"$py" -c "$export_ion" "$work/c.h5" "$work/ion.npy"
		# One run at a time, so that neither slows the other. TauFactor's wall time and peak
		# memory are those of the whole python run: start-up, importing torch and taufactor,
		# loading the .npy and the solve (the HDF5 export above is not timed); its own solve
		# time is solve_s.
		for crit in 1e-2 1e-3; do
			if ! PYTHONPATH=$peer /usr/bin/time -f '%e %M' -o "$work/time-$crit" \
				"$py" -c "$solve_tf" "$work/ion.npy" "$crit" "$threads" \
				> "$work/tf-$crit" 2> "$work/tf.err"; then
				cat "$work/tf.err" >&2
				echo "$me: TauFactor failed at $n^3, conv_crit $crit" >&2
				exit 1
			fi
		done
		# voxbat at its default tolerance (mg: 1e-6, kappa_eff converged to about 1e-9)
		/usr/bin/time -f '%e %M' -o "$work/time-vb" "$bin/metrics" -q --conductivity=ionic \
			--json "$work/c.h5" > "$work/vb.json"
		vb_tau=$(jq -r .tau "$work/vb.json")
		read -r vb_wall _ < "$work/time-vb"
		row "$n" "voxbat/$(jq -r .solver "$work/vb.json")" default "$work/time-vb" - \
			"$(jq -r .solver_iterations "$work/vb.json")" "$vb_tau"
		for crit in 1e-2 1e-3; do
			read -r tf_tau tf_solve tf_iters converged torch_version < "$work/tf-$crit"
			if [ "$converged" != yes ]; then
				tf_iters="$tf_iters*"
				unconverged="; * TauFactor did not converge (its iter_limit, 10000)"
			fi
			row "$n" taufactor "flux=$crit" "$work/time-$crit" "$tf_solve" "$tf_iters" \
				"$tf_tau" "$vb_wall" "$vb_tau"
		done
	done
	echo "threads: $threads; TauFactor $(sed -n 's/^version = "\(.*\)"/\1/p' \
		"$peer/pyproject.toml") ($peer), torch ${torch_version:-?}, CPU${unconverged:-}"
	exit 0
fi

for n in $sizes; do
	"$bin/genstruct" homogeneous --size "${n}x${n}x${n}um" --voxel 1um --cam 0.65 --seed 7 \
		-o "$work/c$n.h5"
	if [ "$mode" != "--compare" ]; then
		"$bin/genstruct" homogeneous --size "${n}x${n}x${n}um" --voxel 1um --cam 0.65 \
			--cbd 0.21 --electrolyte 0.14 --seed 7 -o "$work/l$n.h5"
	fi
done
# B/vox: peak memory of the whole run per voxel; ns/vox: wall time per voxel; ns/vox/it:
# the same per CG iteration (the set-up, a few tenths of the time, included)
printf '%-7s %-15s %-7s %6s %8s %8s %6s %6s %9s %18s\n' size network solver iters wall_s \
	peak_MB B/vox ns/vox ns/vox/it kappa_or_sigma_S_m
for n in $sizes; do
	if [ "$mode" = "--compare" ]; then
		run "$n" mg ionic
		if [ "$n" -le 100 ]; then run "$n" amg ionic; fi
		if [ "$n" -le 100 ]; then run "$n" pcg ionic; fi
		if [ "$n" -le 60 ]; then run "$n" cholmod ionic; fi
	else
		run "$n" auto ionic
		run "$n" auto electronic
		run "$n" auto ionic lib
		run "$n" auto electronic lib
	fi
done
echo "threads: ${OMP_NUM_THREADS:-$(nproc)}"
