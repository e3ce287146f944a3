#!/usr/bin/env bats
# The test harness itself (tests/run.sh, tests/unit/vb_test.h): CI trusts its
# summary line, so a test program that crashes, aborts, exits non-zero after
# passing, or prints fewer results than its plan must make the run fail.
# Each case runs tests/run.sh on a folder of unit-test binaries built here
# from vb_test.h and a folder of bats suites, instead of the project's own.

load test_helper

RUN_SH="$BATS_TEST_DIRNAME/run.sh"
VB_TEST_H_DIR="$BATS_TEST_DIRNAME/unit"

# unit NAME C-BODY: a unit-test binary NAME in unit/ whose main runs C-BODY
# with vb_test.h (two passing tests "one" and "two" are defined).
unit() {
	mkdir -p unit
	cat > "unit/$1.c" <<EOF
#include <signal.h>
#include "vb_test.h"
static void one(void) { CHECK(1 + 1 == 2); }
static void two(void) { CHECK_NEAR(0.1 + 0.2, 0.3, 1e-15); }
static void bad(void) { CHECK(1 + 1 == 3); }
int main(void)
{
	(void)bad;
	$2
}
EOF
	${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -I"$VB_TEST_H_DIR" -o "unit/$1" "unit/$1.c" -lm
}

# harness: tests/run.sh on ./unit and ./suites, in a clean environment (the
# nested bats must not see this one's variables, nor the libexec folder bats
# puts first on PATH)
harness() {
	mkdir -p unit suites
	local path
	path=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v bats-core | paste -sd:)
	run env -i PATH="$path" HOME="$HOME" TMPDIR="$BATS_TEST_TMPDIR" VB_BIN="$VB_BIN" \
		VB_UNIT="$PWD/unit" VB_BATS="$PWD/suites" "$RUN_SH"
}

@test "harness: passing tests pass, and the summary counts them" {
	unit test_good 'RUN(one, "one"); RUN(two, "two"); DONE();'
	harness
	assert_success
	assert_line --index -1 '2 passed, 0 failed'
}

@test "harness: a test binary that crashes after its first test fails the run, and keeps that test's line" {
	unit test_good 'RUN(one, "one"); DONE();'
	# the output goes through a pipe (fully buffered without vb_test's flush)
	unit test_crash 'RUN(one, "before the crash"); raise(SIGSEGV); RUN(two, "two"); DONE();'
	harness
	assert_failure
	assert_line 'ok 1 - before the crash'
	assert_line --partial 'not ok - test_crash: exit status 139; no TAP plan'
	assert_line --index -1 '2 passed, 1 failed'
}

@test "harness: an abort (a sanitizer's) after all tests passed fails the run" {
	unit test_abort 'RUN(one, "one"); RUN(two, "two"); printf("1..2\n"); fflush(stdout); abort();'
	harness
	assert_failure
	assert_line --partial 'not ok - test_abort: exit status 134'
	assert_line --index -1 '2 passed, 1 failed'
}

@test "harness: exit status 23 (LeakSanitizer) after a full, passing plan fails the run" {
	unit test_leak 'RUN(one, "one"); RUN(two, "two"); vb_test_note("1..2\n"); return 23;'
	harness
	assert_failure
	assert_line 'not ok - test_leak: exit status 23'
	assert_line --index -1 '2 passed, 1 failed'
}

@test "harness: a plan that does not match the results fails the run" {
	unit test_short 'RUN(one, "one"); vb_test_note("1..3\n"); return 0;'
	harness
	assert_failure
	assert_line 'not ok - test_short: plan 1..3 but 1 results'
	assert_line --index -1 '1 passed, 1 failed'
}

@test "harness: a failed check fails its test once, and the binary's exit 1 adds nothing" {
	unit test_bad 'RUN(one, "one"); RUN(bad, "bad"); DONE();'
	harness
	assert_failure
	assert_line 'not ok 2 - bad'
	assert_line --partial 'check failed: 1 + 1 == 3'
	assert_line --index -1 '1 passed, 1 failed'
}

@test "harness: a test that cannot make its temporary folder bails out and fails the run" {
	unit test_bail 'BAIL_OUT("cannot make a temporary folder");'
	harness
	assert_failure
	assert_line 'Bail out! cannot make a temporary folder'
	assert_line 'not ok - test_bail: exit status 1; no TAP plan'
	assert_line --index -1 '0 passed, 1 failed'
}

@test "harness: a bats suite with a failing test fails the run; one passing suite alone passes" {
	mkdir -p suites
	printf '@test "fine" { true; }\n@test "broken" { false; }\n' > suites/a.bats
	harness
	assert_failure
	assert_line --partial 'not ok 2 broken'
	assert_line --index -1 '1 passed, 1 failed'
	printf '@test "fine" { true; }\n' > suites/a.bats
	harness
	assert_success
	assert_line --index -1 '1 passed, 0 failed'
}

@test "harness: nothing run is no success" {
	harness
	assert_failure
	assert_line --index -1 '0 passed, 0 failed'
}
