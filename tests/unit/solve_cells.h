/* solve_cells: cells, a driver and checks shared by the unit tests of solve
 * (test_solve_discharge.c, test_solve_lib.c): planar cells along x filled
 * by a function, the default options, a whole discharge, a mirror image,
 * and the symmetry and thread-count checks. */
#ifndef SOLVE_CELLS_H
#define SOLVE_CELLS_H

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "discharge.h"
#include "vb_echem.h"
#include "vb_params.h"
#include "vb_test.h"
#include "vb_voxel.h"

/* A cell along x: anode collector | Li | n_sep separator | cathode (n_cat
 * slices from fill, or all CAM) | cathode collector. */
static inline vb_image *make_cell(int64_t n_sep, int64_t n_cat, int64_t ny, int64_t nz, double h,
				  uint8_t (*fill)(int64_t i, int64_t j, int64_t k))
{
	vb_err e;
	vb_image *img = vb_voxel_new(3 + n_sep + n_cat, ny, nz, h, &e);
	for (int64_t i = 0; i < img->nx; i++)
		for (int64_t j = 0; j < ny; j++)
			for (int64_t k = 0; k < nz; k++) {
				uint8_t ph;
				if (i == 0)
					ph = VB_PHASE_ANODE_CC;
				else if (i == 1)
					ph = VB_PHASE_LI;
				else if (i < 2 + n_sep)
					ph = VB_PHASE_SEPARATOR;
				else if (i < 2 + n_sep + n_cat)
					ph = fill ? fill(i - 2 - n_sep, j, k) : VB_PHASE_CAM;
				else
					ph = VB_PHASE_CATHODE_CC;
				img->labels[vb_voxel_index(img, i, j, k)] = ph;
			}
	return img;
}

static inline sv_options options(double current)
{
	sv_options o = {0};
	o.current = current;
	o.cutoff = 3.0;
	o.max_time = INFINITY;
	o.step_tol = 1;
	o.dt_init = 0.1, o.dt_min = 1e-6, o.dt_max = 600;
	o.echem = vb_echem_defaults();
	o.subgrid = vb_subgrid_defaults();
	return o;
}

/* Runs a whole discharge; returns 0 on success. */
static inline int discharge(vb_image *img, const vb_params *p, const sv_options *o, vb_echem **m,
			    sv_run *r)
{
	memset(r, 0, sizeof *r);
	vb_err e;
	vb_err_clear(&e);
	*m = vb_echem_new(img, p, &o->subgrid, "test cell", &e);
	if (*m == NULL) {
		printf("# %s\n", e.msg);
		return -1;
	}
	if (sv_run_init(r, *m, o, &e) != VB_OK)
		return -1;
	while (r->status == SV_RUNNING)
		if (sv_run_advance(r, o, NULL, -1, NULL, NULL, &e) != VB_OK) {
			printf("# %s\n", e.msg);
			return -1;
		}
	return 0;
}

static inline vb_image *mirror_y(const vb_image *a)
{
	vb_err e;
	vb_image *b = vb_voxel_new(a->nx, a->ny, a->nz, a->voxel_size, &e);
	for (int64_t i = 0; i < a->nx; i++)
		for (int64_t j = 0; j < a->ny; j++)
			for (int64_t k = 0; k < a->nz; k++)
				b->labels[vb_voxel_index(b, i, a->ny - 1 - j, k)] =
					a->labels[vb_voxel_index(a, i, j, k)];
	return b;
}

/* The cell of make_cell(5, 14, 8, 8, 1 um, fill) and its mirror image in y
 * (which must differ) discharged at current (A/m^2) with p: the same
 * capacity (within cap_tol, relative) and voltages (1 uV) at every step the
 * two runs share (times within 1e-6). cap_tol 1e-6: the same steps throughout. A larger
 * cap_tol lets the runs part near the cut-off, where rounding (the sums run
 * in mirrored order) can decide a step's length: they must then share at
 * least 70 % of their steps first. */
static inline void check_mirror(const vb_params *p, uint8_t (*fill)(int64_t, int64_t, int64_t),
				double current, double cap_tol)
{
	vb_image *a = make_cell(5, 14, 8, 8, 1e-6, fill), *b = mirror_y(a);
	CHECK(memcmp(a->labels, b->labels, (size_t)vb_voxel_count(a)) != 0);
	sv_options o = options(current);
	vb_echem *ma = NULL, *mb = NULL;
	sv_run ra, rb;
	CHECK(discharge(a, p, &o, &ma, &ra) == 0);
	CHECK(discharge(b, p, &o, &mb, &rb) == 0);
	int64_t shared = 0;
	while (shared < ra.ts.n && shared < rb.ts.n &&
	       fabs(ra.ts.time[shared] - rb.ts.time[shared]) <= 1e-6 * fmax(1, ra.ts.time[shared]))
		shared++;
	printf("# mirror: %.12g and %.12g C/m2, %lld and %lld steps, the first %lld at the same "
	       "times\n",
	       ra.capacity, rb.capacity, (long long)ra.ts.n, (long long)rb.ts.n, (long long)shared);
	CHECK(fabs(ra.capacity - rb.capacity) <= cap_tol * ra.capacity);
	if (cap_tol <= 1e-6)
		CHECK(ra.ts.n == rb.ts.n && shared == ra.ts.n);
	else
		CHECK(shared >= 0.7 * (double)(ra.ts.n < rb.ts.n ? ra.ts.n : rb.ts.n));
	for (int64_t k = 0; k < shared; k++)
		CHECK_NEAR(ra.ts.voltage[k], rb.ts.voltage[k], 1e-6);
	sv_run_free(&ra), sv_run_free(&rb);
	vb_echem_free(&ma), vb_echem_free(&mb);
	vb_voxel_free(&a), vb_voxel_free(&b);
}

/* The same cell on 1 and on 2 threads: identical time series and state. */
static inline void check_threads(const vb_params *p, uint8_t (*fill)(int64_t, int64_t, int64_t),
				 double current)
{
	vb_image *a = make_cell(5, 14, 8, 8, 1e-6, fill);
	sv_options o = options(current);
	vb_echem *m1 = NULL, *m2 = NULL;
	sv_run r1, r2;
	int threads = omp_get_max_threads();
	omp_set_num_threads(1);
	CHECK(discharge(a, p, &o, &m1, &r1) == 0);
	omp_set_num_threads(threads > 1 ? threads : 2);
	CHECK(discharge(a, p, &o, &m2, &r2) == 0);
	omp_set_num_threads(threads);
	CHECK(r1.ts.n == r2.ts.n);
	CHECK(r1.capacity == r2.capacity);
	for (int64_t k = 0; k < r1.ts.n && k < r2.ts.n; k++)
		CHECK(r1.ts.voltage[k] == r2.ts.voltage[k]);
	if (m1 != NULL && m2 != NULL)
		CHECK(memcmp(r1.c, r2.c, (size_t)vb_echem_state_count(m1) * sizeof *r1.c) == 0);
	sv_run_free(&r1), sv_run_free(&r2);
	vb_echem_free(&m1), vb_echem_free(&m2);
	vb_voxel_free(&a);
}

#endif
