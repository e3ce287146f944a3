/* vb_test: a minimal TAP producer for the C unit tests of lib. Each TEST is
 * one line "ok N - name" or "not ok N - name" with the failed check above it;
 * DONE() prints the plan "1..N". Every line is flushed at once, so that a
 * test binary that crashes keeps what it printed, and tests/run.sh counts the
 * crash (its exit status, a plan that is missing) as a failure. */
#ifndef VB_TEST_H
#define VB_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int vb_test_count, vb_test_failed, vb_test_current_failed;

/* printf to stdout, flushed */
#define vb_test_note(...) (printf(__VA_ARGS__), fflush(stdout))

/* BAIL_OUT(reason): the tests cannot run (a temporary folder, say); TAP's
 * "Bail out!" line and exit status 1 */
#define BAIL_OUT(reason)                                                                           \
	do {                                                                                       \
		vb_test_note("Bail out! %s\n", reason);                                            \
		return 1;                                                                          \
	} while (0)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			if (!vb_test_current_failed)                                               \
				vb_test_note("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			vb_test_current_failed = 1;                                                \
		}                                                                                  \
	} while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
	do {                                                                                       \
		double va_ = (a), vb_ = (b);                                                       \
		if (!(fabs(va_ - vb_) <= (tol))) {                                                 \
			if (!vb_test_current_failed)                                               \
				vb_test_note("# %s:%d: %s = %.17g, expected %.17g (tol %g)\n", __FILE__, \
				       __LINE__, #a, va_, vb_, (double)(tol));                     \
			vb_test_current_failed = 1;                                                \
		}                                                                                  \
	} while (0)

/* RUN(fn, name): one test. With VB_TEST_ONLY=WORD in the environment only the
 * tests whose name contains WORD run (the others are not counted). */
#define RUN(fn, name)                                                                              \
	do {                                                                                       \
		const char *only_ = getenv("VB_TEST_ONLY");                                        \
		if (only_ != NULL && strstr(name, only_) == NULL)                                  \
			break;                                                                     \
		vb_test_current_failed = 0;                                                        \
		fn();                                                                              \
		vb_test_count++;                                                                   \
		vb_test_failed += vb_test_current_failed;                                          \
		vb_test_note("%s %d - %s\n", vb_test_current_failed ? "not ok" : "ok", vb_test_count, \
			     name);                                                                \
	} while (0)

#define DONE()                                                                                     \
	do {                                                                                       \
		vb_test_note("1..%d\n", vb_test_count);                                            \
		return vb_test_failed ? 1 : 0;                                                     \
	} while (0)

#endif
