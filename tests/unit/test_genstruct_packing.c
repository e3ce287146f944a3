/* Unit tests of genstruct's packing, perforation and stacking on exact answers. */
#include <stdlib.h>
#include <string.h>

#include "genstruct.h"
#include "vb_test.h"
#include "vb_voxel.h"

static gs_packing base(void)
{
	gs_packing p = {{40, 30, 30}, 1e-6, 0.65, 0.21, 0.14, 8e-6, 0.25, 7};
	return p;
}

static void test_exact_counts(void)
{
	gs_packing p = base();
	vb_err e;
	vb_image *img = gs_generate_packing(&p, NULL, &e);
	CHECK(img != NULL);
	if (img == NULL)
		return;
	int64_t c[VB_PHASE_COUNT];
	vb_voxel_count_phases(img, c, NULL);
	CHECK(c[VB_PHASE_CAM] == 23400);	/* llround(0.65 * 36000) */
	CHECK(c[VB_PHASE_CBD] == 7560);		/* llround(0.21 * 36000) */
	CHECK(c[VB_PHASE_ELECTROLYTE] == 5040); /* the rest */
	CHECK(c[VB_PHASE_VOID] == 0);
	vb_voxel_free(&img);
	CHECK(img == NULL);
}

static void test_void_rest(void)
{
	gs_packing p = base();
	p.electrolyte = 0.10;
	vb_err e;
	vb_image *img = gs_generate_packing(&p, NULL, &e);
	CHECK(img != NULL);
	if (img == NULL)
		return;
	int64_t c[VB_PHASE_COUNT];
	vb_voxel_count_phases(img, c, NULL);
	CHECK(c[VB_PHASE_ELECTROLYTE] == 3600);
	CHECK(c[VB_PHASE_VOID] == 36000 - 23400 - 7560 - 3600);
	vb_voxel_free(&img);
}

static void test_seed_reproducible(void)
{
	gs_packing p = base();
	vb_err e;
	vb_image *a = gs_generate_packing(&p, NULL, &e), *b = gs_generate_packing(&p, NULL, &e);
	p.seed = 8;
	vb_image *c = gs_generate_packing(&p, NULL, &e);
	CHECK(a && b && c);
	if (a && b && c) {
		CHECK(memcmp(a->labels, b->labels, 36000) == 0);
		CHECK(memcmp(a->labels, c->labels, 36000) != 0);
	}
	vb_voxel_free(&a);
	vb_voxel_free(&b);
	vb_voxel_free(&c);
}

/* CBD is placed at contacts: the mean CAM neighbour count of CBD voxels is
 * higher than that of electrolyte voxels. */
static void test_cbd_at_necks(void)
{
	gs_packing p = base();
	vb_err e;
	vb_image *img = gs_generate_packing(&p, NULL, &e);
	CHECK(img != NULL);
	if (img == NULL)
		return;
	double sum[VB_PHASE_COUNT] = {0}, n[VB_PHASE_COUNT] = {0};
	for (int64_t i = 1; i < img->nx - 1; i++)
		for (int64_t j = 1; j < img->ny - 1; j++)
			for (int64_t k = 1; k < img->nz - 1; k++) {
				int cam = 0;
				for (int d = -1; d <= 1; d += 2) {
					cam += img->labels[vb_voxel_index(img, i + d, j, k)] ==
					       VB_PHASE_CAM;
					cam += img->labels[vb_voxel_index(img, i, j + d, k)] ==
					       VB_PHASE_CAM;
					cam += img->labels[vb_voxel_index(img, i, j, k + d)] ==
					       VB_PHASE_CAM;
				}
				uint8_t l = img->labels[vb_voxel_index(img, i, j, k)];
				sum[l] += cam;
				n[l] += 1;
			}
	CHECK(sum[VB_PHASE_CBD] / n[VB_PHASE_CBD] >
	      1.5 * sum[VB_PHASE_ELECTROLYTE] / n[VB_PHASE_ELECTROLYTE]);
	vb_voxel_free(&img);
}

static void test_rejects_bad_fractions(void)
{
	gs_packing p = base();
	vb_err e;
	p.cam = 0.7, p.cbd = 0.3, p.electrolyte = 0.1;
	CHECK(gs_generate_packing(&p, NULL, &e) == NULL && e.status == VB_ERR_INPUT);
	CHECK(strstr(e.msg, "sum to 1.1") != NULL);
	p = base();
	p.cbd = -0.1;
	CHECK(gs_generate_packing(&p, NULL, &e) == NULL && e.status == VB_ERR_INPUT);
}

static void test_perforate_quarter_hole(void)
{
	vb_err e;
	vb_image *img = vb_voxel_new(4, 20, 20, 1e-6, &e);
	memset(img->labels, VB_PHASE_CAM, 1600);
	double axes[2] = {0, 0};
	/* Voxel centres (j+0.5, k+0.5) um within 10 um of the corner. */
	int64_t expect = 0;
	for (int j = 0; j < 20; j++)
		for (int k = 0; k < 20; k++)
			expect += (j + 0.5) * (j + 0.5) + (k + 0.5) * (k + 0.5) <= 100.0;
	CHECK(gs_perforate(img, 10e-6, axes, 1, 4e-6) == 4 * expect);
	CHECK(img->labels[vb_voxel_index(img, 2, 0, 0)] == VB_PHASE_ELECTROLYTE);
	CHECK(img->labels[vb_voxel_index(img, 2, 19, 19)] == VB_PHASE_CAM);
	/* Depth 2 um reaches only the first two slices. */
	memset(img->labels, VB_PHASE_CAM, 1600);
	CHECK(gs_perforate(img, 10e-6, axes, 1, 2e-6) == 2 * expect);
	CHECK(img->labels[vb_voxel_index(img, 2, 0, 0)] == VB_PHASE_CAM);
	vb_voxel_free(&img);
}

/* Three layers of 10 slices at 0.36, 0.28, 0.36: the cumulative 3.6 and 6.4
 * slices round to boundaries 4 and 6, where floor gives 3 and ceil 7. */
static void test_stack_and_reverse(void)
{
	vb_err e;
	vb_image *a = vb_voxel_new(10, 2, 2, 1e-6, &e), *b = vb_voxel_new(10, 2, 2, 1e-6, &e);
	vb_image *t = vb_voxel_new(10, 2, 2, 1e-6, &e);
	memset(a->labels, 1, 40);
	memset(b->labels, 2, 40);
	memset(t->labels, 3, 40);
	vb_image *layers[3] = {a, b, t};
	double f[3] = {0.36, 0.28, 0.36};
	int64_t bound[4];
	vb_image *s = gs_stack(layers, f, 3, bound, &e);
	CHECK(s != NULL);
	if (s != NULL) {
		CHECK(bound[0] == 0 && bound[1] == 4 && bound[2] == 6 && bound[3] == 10);
		CHECK(s->labels[vb_voxel_index(s, 3, 1, 1)] == 1);
		CHECK(s->labels[vb_voxel_index(s, 4, 0, 0)] == 2);
		CHECK(s->labels[vb_voxel_index(s, 5, 1, 0)] == 2);
		CHECK(s->labels[vb_voxel_index(s, 6, 0, 1)] == 3);
		gs_reverse(s);
		CHECK(s->labels[vb_voxel_index(s, 3, 0, 0)] == 3);
		CHECK(s->labels[vb_voxel_index(s, 4, 0, 0)] == 2);
		CHECK(s->labels[vb_voxel_index(s, 5, 0, 0)] == 2);
		CHECK(s->labels[vb_voxel_index(s, 6, 0, 0)] == 1);
	}
	vb_voxel_free(&s);
	double bad[2] = {0.3, 0.6};
	CHECK(gs_stack(layers, bad, 2, bound, &e) == NULL && e.status == VB_ERR_INPUT);
	vb_image *c = vb_voxel_new(10, 3, 2, 1e-6, &e);
	layers[1] = c;
	CHECK(gs_stack(layers, f, 3, bound, &e) == NULL && strstr(e.msg, "cross-section") != NULL);
	vb_voxel_free(&a);
	vb_voxel_free(&b);
	vb_voxel_free(&t);
	vb_voxel_free(&c);
}

int main(void)
{
	RUN(test_exact_counts, "packing meets the CAM, CBD and electrolyte counts exactly");
	RUN(test_void_rest, "packing leaves the rest void when fractions sum below 1");
	RUN(test_seed_reproducible, "same seed same image, other seed other image");
	RUN(test_cbd_at_necks, "CBD voxels have more CAM neighbours than electrolyte voxels");
	RUN(test_rejects_bad_fractions, "packing rejects fractions above 1 or negative");
	RUN(test_perforate_quarter_hole,
	    "perforation turns exactly the quarter disc to electrolyte");
	RUN(test_stack_and_reverse, "stack cuts layers at rounded fractions; reverse mirrors");
	DONE();
}
