/* Unit tests of genstruct's profiles and graded packing: the parser and the
 * profile's values on exact answers, and the generator in-process: whole
 * spheres only (CAM is exactly the union of the listed spheres), the slice
 * profile, and the same image for the same seed. */
#include <stdlib.h>
#include <string.h>

#include "genstruct.h"
#include "vb_test.h"
#include "vb_voxel.h"

#define L 100e-6 /* box thickness of the parser tests, m */

static int parse(const char *text, gs_profile *p)
{
	vb_err e;
	vb_err_clear(&e);
	return gs_profile_parse(text, VB_UNIT_NONE, L, "--cam", p, &e);
}

static void test_points_linear_and_constant(void)
{
	gs_profile p;
	CHECK(parse("0:0.55,100um:0.75", &p) == VB_OK && p.n == 2);
	CHECK_NEAR(gs_profile_at(&p, 0), 0.55, 1e-15);
	CHECK_NEAR(gs_profile_at(&p, 25e-6), 0.60, 1e-12);
	CHECK_NEAR(gs_profile_mean(&p, 0, L), 0.65, 1e-12);
	CHECK_NEAR(gs_profile_mean(&p, 10e-6, 20e-6), 0.58, 1e-12);
	/* held constant outside the points */
	CHECK(parse("20um:0.5,60um:0.7", &p) == VB_OK);
	CHECK_NEAR(gs_profile_at(&p, 5e-6), 0.5, 1e-15);
	CHECK_NEAR(gs_profile_at(&p, 90e-6), 0.7, 1e-15);
	/* 20 um of 0.5, 40 um averaging 0.6, 40 um of 0.7 */
	CHECK_NEAR(gs_profile_mean(&p, 0, L), (20 * 0.5 + 40 * 0.6 + 40 * 0.7) / 100, 1e-12);
	CHECK(parse("linear:0.4:0.8", &p) == VB_OK && p.n == 2);
	CHECK_NEAR(gs_profile_at(&p, 75e-6), 0.7, 1e-12);
	CHECK(parse("linear 0.4 0.8", &p) == VB_OK);
	CHECK_NEAR(gs_profile_at(&p, 75e-6), 0.7, 1e-12);
	CHECK(parse("0.65", &p) == VB_OK && p.n == 1);
	CHECK_NEAR(gs_profile_mean(&p, 3e-6, 4e-6), 0.65, 1e-15);
	vb_err e;
	CHECK(gs_profile_parse("0:5um,100um:11um", VB_UNIT_LENGTH, L, "--diameter", &p, &e) ==
	      VB_OK);
	CHECK_NEAR(gs_profile_at(&p, 50e-6), 8e-6, 1e-18);
}

static void test_steps(void)
{
	gs_profile p, q;
	CHECK(parse("steps:50um:0.6,100um:0.7", &p) == VB_OK);
	CHECK_NEAR(gs_profile_at(&p, 49.9e-6), 0.6, 1e-15);
	CHECK_NEAR(gs_profile_at(&p, 50e-6), 0.7, 1e-15); /* [X1, X2) holds the second */
	CHECK_NEAR(gs_profile_mean(&p, 0, L), 0.65, 1e-12);
	/* a slice across the step: a quarter at 0.6, three quarters at 0.7 */
	CHECK_NEAR(gs_profile_mean(&p, 49.75e-6, 50.75e-6), 0.675, 1e-12);
	/* the last end left out: the same profile */
	CHECK(parse("steps:50um:0.6,0.7", &q) == VB_OK && q.n == p.n);
	for (int k = 0; k < p.n && k < q.n; k++)
		CHECK(p.x[k] == q.x[k] && p.v[k] == q.v[k]);
	CHECK(parse("steps 20um:0.5,40um:0.6,60um:0.7,80um:0.6,100um:0.75", &p) == VB_OK);
	CHECK_NEAR(gs_profile_mean(&p, 0, L), 0.63, 1e-12);
	CHECK_NEAR(gs_profile_at(&p, 65e-6), 0.6, 1e-15);
}

static void test_rejects(void)
{
	static const char *const bad[] = {
		"",			    /* empty */
		"abc",			    /* not a number */
		"0:0.5,",		    /* empty item */
		"0:0.5,50um",		    /* a point without a value */
		"0:0.5:0.6",		    /* two colons */
		"50:0.5,100um:0.6",	    /* x without a unit */
		"50um:0.5,40um:0.6",	    /* x decreasing */
		"50um:0.5,50um:0.6",	    /* x repeated */
		"0:0.5,120um:0.6",	    /* x outside the box */
		"-5um:0.5,100um:0.6",	    /* x outside the box */
		"linear:0.5",		    /* one value */
		"linear:0.5:0.6:0.7",	    /* three */
		"steps:50um:0.6,90um:0.7",  /* the last step short of the box */
		"steps:0:0.6,100um:0.7",    /* an empty first step */
		"steps:60um:0.6,50um:0.7",  /* ends decreasing */
		"steps:50um:0.6,120um:0.7", /* beyond the box */
		"steps:",		    /* nothing */
	};
	gs_profile p;
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		vb_err e;
		vb_err_clear(&e);
		int rc = gs_profile_parse(bad[k], VB_UNIT_NONE, L, "--cam", &p, &e);
		if (rc != VB_ERR_INPUT || e.status != VB_ERR_INPUT || strchr(e.msg, '\n') != NULL)
			vb_test_note("# '%s' gave %d: %s\n", bad[k], rc, e.msg);
		CHECK(rc == VB_ERR_INPUT && e.status == VB_ERR_INPUT && e.msg[0] != '\0');
	}
}

static gs_graded small(void)
{
	gs_graded g;
	memset(&g, 0, sizeof g);
	g.n[0] = 40, g.n[1] = 24, g.n[2] = 24;
	g.voxel_size = 1e-6;
	vb_err e;
	gs_profile_parse("steps:20um:0.5,0.7", VB_UNIT_NONE, 40e-6, "--cam", &g.cam, &e);
	gs_profile_parse("0:4um,40um:6um", VB_UNIT_LENGTH, 40e-6, "--diameter", &g.diameter, &e);
	g.diameter_spread = 0.25;
	g.cbd = 0.1;
	g.electrolyte = -1;
	g.seed = 3;
	return g;
}

/* CAM is exactly the voxels whose centre lies in a listed sphere: every
 * sphere is painted whole (none is cut short inside the box) and there is
 * no CAM outside them. */
static void test_whole_spheres(void)
{
	gs_graded g = small();
	gs_graded_stats st;
	vb_err e;
	vb_image *img = gs_generate_graded(&g, &st, &e);
	CHECK(img != NULL);
	if (img == NULL)
		return;
	const double h = img->voxel_size;
	const int64_t total = vb_voxel_count(img);
	uint8_t *in = calloc((size_t)total, 1);
	const int64_t n[3] = {img->nx, img->ny, img->nz};
	int64_t centred_inside = 0;
	CHECK(st.particles > 100 && st.candidates > st.particles && st.spheres != NULL);
	for (int64_t s = 0; s < st.particles; s++) {
		const double *b = &st.spheres[4 * s];
		int inside = 1;
		for (int a = 0; a < 3; a++)
			inside &= b[a] >= 0 && b[a] < n[a] * h;
		centred_inside += inside;
		for (int64_t i = 0; i < img->nx; i++)
			for (int64_t j = 0; j < img->ny; j++)
				for (int64_t k = 0; k < img->nz; k++) {
					double dx = (i + 0.5) * h - b[0], dy = (j + 0.5) * h - b[1];
					double dz = (k + 0.5) * h - b[2];
					if (dx * dx + dy * dy + dz * dz <= b[3] * b[3])
						in[vb_voxel_index(img, i, j, k)] = 1;
				}
	}
	CHECK(centred_inside > 50);
	int64_t mismatch = 0, cam = 0;
	for (int64_t v = 0; v < total; v++) {
		cam += img->labels[v] == VB_PHASE_CAM;
		mismatch += in[v] != (img->labels[v] == VB_PHASE_CAM);
	}
	CHECK(mismatch == 0);
	/* the box mean within 0.5 vol% of the profile's, 0.6 */
	CHECK_NEAR((double)cam / (double)total, 0.6, 0.005);
	int64_t c[VB_PHASE_COUNT];
	vb_voxel_count_phases(img, c, NULL);
	CHECK(c[VB_PHASE_CBD] == llround(0.1 * (double)total));
	CHECK(c[VB_PHASE_ELECTROLYTE] == total - cam - c[VB_PHASE_CBD]);
	free(in);
	free(st.spheres);
	vb_voxel_free(&img);
}

/* The median radius follows the diameter profile: 4 um at x = 0 to 6 um at
 * 40 um, so spheres centred in the first quarter are smaller than those in
 * the last. */
static void test_diameter_follows(void)
{
	gs_graded g = small();
	gs_graded_stats st;
	vb_err e;
	vb_image *img = gs_generate_graded(&g, &st, &e);
	CHECK(img != NULL);
	if (img == NULL)
		return;
	double sum[2] = {0, 0};
	int n[2] = {0, 0};
	for (int64_t s = 0; s < st.particles; s++) {
		const double *b = &st.spheres[4 * s];
		int q = b[0] < 10e-6 ? 0 : (b[0] > 30e-6 ? 1 : -1);
		if (q >= 0)
			sum[q] += log(2 * b[3] /
				      gs_profile_at(&g.diameter, fmin(40e-6, fmax(0, b[0])))),
				n[q]++;
	}
	/* ln(d / d_median(x)) averages 0 on both sides (clipped lognormal) */
	CHECK(n[0] > 20 && n[1] > 20);
	CHECK(fabs(sum[0] / n[0]) < 0.1 && fabs(sum[1] / n[1]) < 0.1);
	free(st.spheres);
	vb_voxel_free(&img);
}

/* Each 5 um window of slices within 2 vol% of the target. The cross-section
 * is 48 x 48 um: on 24 x 24 um one 5 um sphere is 3 % of a slice, and the
 * windows came within 2.2 %. */
static void test_slice_profile(void)
{
	gs_graded g = small();
	g.n[1] = g.n[2] = 48;
	vb_err e;
	vb_image *img = gs_generate_graded(&g, NULL, &e);
	CHECK(img != NULL);
	if (img == NULL)
		return;
	double *f = malloc((size_t)img->nx * VB_PHASE_COUNT * sizeof *f);
	vb_voxel_slice_fractions(img, f);
	double worst = 0;
	for (int64_t i = 0; i + 5 <= img->nx; i++) {
		double a = 0, t = 0;
		for (int64_t q = i; q < i + 5; q++) {
			a += f[q * VB_PHASE_COUNT + VB_PHASE_CAM] / 5;
			t += gs_profile_mean(&g.cam, q * 1e-6, (q + 1) * 1e-6) / 5;
		}
		worst = fmax(worst, fabs(a - t));
	}
	vb_test_note("# worst 5 um window %.4f\n", worst);
	CHECK(worst < 0.02);
	free(f);
	vb_voxel_free(&img);
}

static void test_reproducible_and_rejects(void)
{
	gs_graded g = small();
	vb_err e;
	vb_image *a = gs_generate_graded(&g, NULL, &e), *b = gs_generate_graded(&g, NULL, &e);
	g.seed = 4;
	vb_image *c = gs_generate_graded(&g, NULL, &e);
	CHECK(a && b && c);
	if (a && b && c) {
		size_t n = (size_t)vb_voxel_count(a);
		CHECK(memcmp(a->labels, b->labels, n) == 0);
		CHECK(memcmp(a->labels, c->labels, n) != 0);
	}
	vb_voxel_free(&a);
	vb_voxel_free(&b);
	vb_voxel_free(&c);
	g = small();
	g.cam.v[1] = 0.96;
	CHECK(gs_generate_graded(&g, NULL, &e) == NULL && e.status == VB_ERR_INPUT);
	CHECK(strstr(e.msg, "0.96") != NULL);
	g = small();
	g.diameter.v[0] = 1.5e-6;
	CHECK(gs_generate_graded(&g, NULL, &e) == NULL && e.status == VB_ERR_INPUT);
	CHECK(strstr(e.msg, "less than two voxels") != NULL);
	g = small();
	g.cbd = 0.5; /* mean cam 0.6 + 0.5 */
	CHECK(gs_generate_graded(&g, NULL, &e) == NULL && strstr(e.msg, "sum to 1.1") != NULL);
}

int main(void)
{
	RUN(test_points_linear_and_constant, "profiles: points, linear:A:B and a constant");
	RUN(test_steps, "profiles: steps, with or without the last end");
	RUN(test_rejects, "profiles: malformed, non-increasing or outside the box is refused");
	RUN(test_whole_spheres, "graded CAM is exactly the union of its listed whole spheres");
	RUN(test_diameter_follows, "graded particle diameters follow the diameter profile");
	RUN(test_slice_profile, "graded slices meet the profile within 2 vol% over 5 um");
	RUN(test_reproducible_and_rejects, "graded: same seed same image; bad values refused");
	DONE();
}
