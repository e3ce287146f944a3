#!/usr/bin/env bats
# Convergence of solve at the shipped parameters (issue 11): the composite
# cell of the issue (40x16x16 um, 65 vol% CAM, seed 3) at 1C and 0.15C, in
# voxel size on one fixed geometry (generated at 2 um and refined to 1 and
# 0.5 um by genstruct refine, so that only the discretisation changes) and
# in the step tolerance. docs/solve.md has the tables, and the one of
# structures generated afresh at each voxel size, whose geometry itself
# changes (interface area, electrolyte tortuosity).

load test_helper

setup_file() {
	PATH="$VB_BIN:$PATH"
	cd "$BATS_FILE_TMPDIR" || return 1
	genstruct homogeneous --size 40x16x16um --voxel 2um --cam 0.65 --cbd 0.21 \
		--electrolyte 0.14 --seed 3 -o c2.h5
	genstruct refine --factor 2 c2.h5 -o c1.h5
	genstruct refine --factor 4 c2.h5 -o c05.h5
	for h in 2 1 05; do
		assemble -q "c$h.h5" --cell assb -o "cell$h.h5"
		for rate in 1 0.15; do
			solve -q "cell$h.h5" --c-rate "$rate" -o "run${h}_$rate.h5"
		done
	done
}

capacity() {
	metrics --json "$BATS_FILE_TMPDIR/$1" | jq -r .capacity_mAh_cm2
}

# prints the relative difference |a - b| / b and succeeds if it is <= tol
within() {
	awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = (a - b) / b; if (d < 0) d = -d;
		printf "%.4f\n", d; exit !(d <= t) }'
}

@test "every run of the study reached the cut-off" {
	for f in "$BATS_FILE_TMPDIR"/run*.h5; do
		[ "$(metrics --json "$f" | jq -r .status)" = cutoff ]
		# the capacities into the TAP log, for docs/solve.md
		echo "# $(basename "$f"): $(metrics --json "$f" | jq -r .capacity_mAh_cm2) mAh/cm2" >&3
	done
}

# The superposed chains with lateral modes (the default): at 1C 1 um -2.7 %,
# 2 um -4.4 % (0.12669, 0.12447 against 0.13021 mAh/cm2).
@test "1C: on one geometry the 1 um capacity is within 3 % of the 0.5 um one, 2 um within 5 %" {
	q05=$(capacity run05_1.h5)
	within "$(capacity run1_1.h5)" "$q05" 0.03
	within "$(capacity run2_1.h5)" "$q05" 0.05
}

# At 0.15C 1 um +2.5 %, 2 um -3.0 % (0.6393, 0.6054 against 0.6238
# mAh/cm2). Without the lateral modes (one current per face) 2 um was -6.7 %
# (docs/solve.md, "Lateral modes"); the next test keeps that case running.
@test "0.15C: on one geometry the 1 um capacity is within 3 % of the 0.5 um one, 2 um within 5 %" {
	q05=$(capacity run05_0.15.h5)
	within "$(capacity run1_0.15.h5)" "$q05" 0.03
	within "$(capacity run2_0.15.h5)" "$q05" 0.05
}

# One current per face (--subgrid-lateral off, the model before the lateral
# modes): 2 um -7.1 % and 1 um +0.9 % against the default's 0.5 um run
# (0.5796 and 0.6293 against 0.6238 mAh/cm2). It still reaches the cut-off, and the modes
# are what moves 2 um: against the same reference it is further off.
@test "0.15C without lateral modes: reaches the cut-off, 2 um further off than with them" {
	cd "$BATS_FILE_TMPDIR" || return 1
	for h in 2 1; do
		solve -q "cell$h.h5" --c-rate 0.15 --subgrid-lateral off -o "flat$h.h5"
		echo "# lateral modes off, ${h} um, 0.15C: $(capacity "flat$h.h5") mAh/cm2" >&3
		[ "$(metrics --json "flat$h.h5" | jq -r .status)" = cutoff ]
	done
	q05=$(capacity run05_0.15.h5)
	off=$(within "$(capacity flat2.h5)" "$q05" 1)
	on=$(within "$(capacity run2_0.15.h5)" "$q05" 1)
	awk -v a="$off" -v b="$on" 'BEGIN { exit !(a > b + 0.02) }'
}

# The split chains (--subgrid-law split, the law before the superposed
# ones; no lateral modes): 1 um +3.4 %, 2 um +2.5 % at 0.15C (0.6451,
# 0.6396 against the default's 0.6238 mAh/cm2; their own 0.5 um run 0.6215,
# 0.25 um 0.6293: not monotone, docs/solve.md): their corners hold too
# little Li. The reference is the default's 0.5 um run of the setup (the
# laws discretise one model and agree within 0.4 % at 0.5 um), so the split
# 0.5 um run (78 s) is left to bench/convergence.sh and docs/solve.md.
@test "0.15C, split chains: the 1 um capacity within 4 % of the 0.5 um one, 2 um within 5 %" {
	cd "$BATS_FILE_TMPDIR" || return 1
	for h in 2 1; do
		solve -q "cell$h.h5" --c-rate 0.15 --subgrid-law split -o "split$h.h5"
		echo "# split, ${h} um, 0.15C: $(capacity "split$h.h5") mAh/cm2" >&3
	done
	q05=$(capacity run05_0.15.h5)
	within "$(capacity split1.h5)" "$q05" 0.04
	within "$(capacity split2.h5)" "$q05" 0.05
}

@test "halving the step tolerance changes the capacity by less than 1 % (1 um, 1C and 0.15C)" {
	cd "$BATS_FILE_TMPDIR" || return 1
	for rate in 1 0.15; do
		solve -q cell1.h5 --c-rate "$rate" --step-tol 0.5 -o half_$rate.h5
		echo "# step-tol 0.5, 1 um, ${rate}C: $(capacity half_$rate.h5) mAh/cm2" >&3
		within "$(capacity half_$rate.h5)" "$(capacity run1_$rate.h5)" 0.01
	done
}

# A superposed node follows its core as the voxel's other faces fill it; at
# saturation it cannot, and Newton stalled here at t = 6059 s (1.68 mAh/cm2)
# until the nodes took that uniform part with a weight fading to 0 at c_max
# (vb_lithium, docs/solve.md). The Study P base cell of bench/solve.sh.
@test "the Study P base cell at 2 um, 1 mA/cm2 reaches the cut-off (superposed chains), Li conserved" {
	cd "$BATS_FILE_TMPDIR" || return 1
	genstruct homogeneous --size 106x60x60um --voxel 2um --cam 0.65 --cbd 0.21 \
		--electrolyte 0.14 --seed 1 -o p2.h5
	assemble -q p2.h5 --cell assb -o pcell2.h5
	solve -q pcell2.h5 --current 1mA/cm2 -o psup2.h5
	m=$(metrics --json psup2.h5)
	echo "# Study P, 2 um, 1 mA/cm2, superposed: $(echo "$m" | jq -r .capacity_mAh_cm2) mAh/cm2" >&3
	[ "$(echo "$m" | jq -r .status)" = cutoff ]
	# the Li the CAM took up is the charge passed (utilization from the
	# c_s field, capacity from the current's integral)
	within "$(echo "$m" | jq -r .utilization)" \
		"$(echo "$m" | jq -r '.capacity_mAh_cm2 / .c_theo_mAh_cm2')" 1e-6
}
