#!/usr/bin/env bats
# The fuzz targets' regression corpus (tests/fuzz/corpus: seeds, the probe's
# mutants, every input a fuzzing run found crashing) replayed through each
# target without libFuzzer (tests/fuzz/replay.c): under make sanitize this is
# the corpus under ASan and UBSan. `make fuzz` runs the targets themselves.

load test_helper

FUZZ_BIN="$VB_BIN/../fuzz"
CORPUS="$BATS_TEST_DIRNAME/fuzz/corpus"

@test "every fuzz target has a replay driver and a seed corpus" {
	for t in h5 params raw tiff checkpoint; do
		[ -x "$FUZZ_BIN/replay_$t" ] || fail "no $FUZZ_BIN/replay_$t"
		[ "$(ls "$CORPUS/$t" | wc -l)" -ge 2 ] || fail "corpus $t has fewer than 2 inputs"
	done
}

@test "the corpus of each target replays without a crash" {
	for t in h5 params raw tiff checkpoint; do
		# a hang (HDF5 looped on a corrupt global heap) fails too. Under
		# make sanitize, ASan refuses HDF5's absurd allocations the way
		# malloc does outside it, and leaks are not counted: HDF5 1.10
		# leaks on some corrupt files it refuses (as in make fuzz,
		# docs/testing.md); memory errors and crashes still fail
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1:max_allocation_size_mb=4096:detect_leaks=0" \
			run timeout 120 "$FUZZ_BIN/replay_$t" "$CORPUS/$t"/*
		[ "$status" -eq 0 ] || fail "replay_$t: exit $status: $output"
		n=$(ls "$CORPUS/$t" | wc -l)
		assert_output --partial "replay: $n inputs"
	done
}
