/* Unit tests of vb_conduct and vb_linsolve against exact answers: full box,
 * straight channels (tau = 1), series slabs (harmonic law), no path, an
 * independent dense solve of the same resistor network on random voxels, and
 * a sphere in a cubic cell against the continuum (Rayleigh) under refinement;
 * the same along y and z, and the multigrid (mg) against CHOLMOD. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "vb_conduct.h"
#include "vb_mg.h"
#include "vb_rng.h"
#include "vb_test.h"

static vb_image *box(int64_t nx, int64_t ny, int64_t nz)
{
	vb_err e;
	return vb_voxel_new(nx, ny, nz, 1e-6, &e);
}

static vb_linsolve_opts method(vb_linsolve_method m)
{
	vb_linsolve_opts o = vb_linsolve_defaults();
	o.method = m;
	o.rtol = 1e-13;
	return o;
}

static void test_full_box(void)
{
	vb_image *img = box(12, 5, 4);
	double *s = malloc(240 * sizeof *s);
	for (int v = 0; v < 240; v++)
		s[v] = 0.7;
	for (int m = VB_LINSOLVE_CHOLMOD; m <= VB_LINSOLVE_MG; m++) {
		vb_linsolve_opts o = method((vb_linsolve_method)m);
		vb_conduct_result r;
		vb_err e;
		CHECK(vb_conduct_solve(img, s, 0, 12, 0, &o, &r, &e) == VB_OK);
		CHECK_NEAR(r.kappa_eff / 0.7, 1.0, 1e-8);
		CHECK(r.unknowns == 240 && r.percolates == 1 && r.balance < 1e-10);
	}
	free(s);
	vb_voxel_free(&img);
}

static void test_straight_channels(void)
{
	/* channels along x at 7 of 20 (j,k) positions: kappa_rel = 7/20, tau = 1 */
	vb_image *img = box(15, 4, 5);
	double *s = calloc(300, sizeof *s);
	int on[20] = {1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0};
	for (int i = 0; i < 15; i++)
		for (int c = 0; c < 20; c++)
			s[vb_voxel_index(img, i, c / 5, c % 5)] = on[c] ? 0.07 : 0.0;
	vb_conduct_result r;
	vb_err e;
	vb_linsolve_opts o = method(VB_LINSOLVE_PCG);
	CHECK(vb_conduct_solve(img, s, 0, 15, 0, &o, &r, &e) == VB_OK);
	double eps = 7.0 / 20.0, krel = r.kappa_eff / 0.07;
	CHECK_NEAR(krel, eps, 1e-8 * eps);
	CHECK_NEAR(eps / krel, 1.0, 1e-8);
	free(s);
	vb_voxel_free(&img);
}

static void test_series_slabs(void)
{
	/* slabs perpendicular to x: kappa_eff is the harmonic mean of the slices */
	vb_image *img = box(10, 3, 3);
	double sig[10] = {1, 1, 0.1, 0.1, 0.1, 2, 2, 0.5, 1, 1}, inv = 0;
	double *s = malloc(90 * sizeof *s);
	for (int i = 0; i < 10; i++) {
		inv += 1.0 / sig[i];
		for (int c = 0; c < 9; c++)
			s[i * 9 + c] = sig[i];
	}
	vb_conduct_result r;
	vb_err e;
	vb_linsolve_opts o = method(VB_LINSOLVE_CHOLMOD);
	CHECK(vb_conduct_solve(img, s, 0, 10, 0, &o, &r, &e) == VB_OK);
	CHECK_NEAR(r.kappa_eff / (10.0 / inv), 1.0, 1e-8);
	/* a sub-region: slices 2..6 */
	CHECK(vb_conduct_solve(img, s, 2, 7, 0, &o, &r, &e) == VB_OK);
	CHECK_NEAR(r.kappa_eff / (5.0 / (3 / 0.1 + 2 / 2.0)), 1.0, 1e-8);
	free(s);
	vb_voxel_free(&img);
}

static void test_no_path(void)
{
	/* conducting everywhere except one insulating slice: kappa_eff = 0, ok */
	vb_image *img = box(8, 4, 4);
	double *s = malloc(128 * sizeof *s);
	for (int v = 0; v < 128; v++)
		s[v] = v / 16 == 4 ? 0.0 : 1.0;
	vb_conduct_result r;
	vb_err e;
	CHECK(vb_conduct_solve(img, s, 0, 8, 0, NULL, &r, &e) == VB_OK);
	CHECK(r.percolates == 0 && r.kappa_eff == 0.0 && r.unknowns == 0);
	free(s);
	vb_voxel_free(&img);
}

/* The same resistor network built independently, voxel by voxel over all
 * conducting voxels (dead ends included: they carry no current), and solved
 * densely by Gaussian elimination with partial pivoting. */
static double dense_kappa(int nx, int ny, int nz, const double *s, double h)
{
	int n = nx * ny * nz;
	double *M = calloc((size_t)n * n, sizeof *M), *rhs = calloc((size_t)n, sizeof *rhs);
	for (int i = 0; i < nx; i++)
		for (int j = 0; j < ny; j++)
			for (int k = 0; k < nz; k++) {
				int v = (i * ny + j) * nz + k;
				if (s[v] == 0) {
					M[(size_t)v * n + v] =
						1; /* insulating: phi = 0, decoupled */
					continue;
				}
				int di[6] = {-1, 1, 0, 0, 0, 0}, dj[6] = {0, 0, -1, 1, 0, 0};
				int dk[6] = {0, 0, 0, 0, -1, 1};
				for (int q = 0; q < 6; q++) {
					int a = i + di[q], b = j + dj[q], c = k + dk[q];
					if (a < 0 || a >= nx || b < 0 || b >= ny || c < 0 ||
					    c >= nz)
						continue;
					int w = (a * ny + b) * nz + c;
					if (s[w] == 0)
						continue;
					/* two half-voxel resistances in series: (h/2) / (sigma h^2)
					 * each */
					double g = 1.0 / (0.5 * h / (s[v] * h * h) +
							  0.5 * h / (s[w] * h * h));
					M[(size_t)v * n + v] += g;
					M[(size_t)v * n + w] -= g;
				}
				if (i == 0) {
					M[(size_t)v * n + v] += 2 * s[v] * h;
					rhs[v] += 2 * s[v] * h;
				}
				if (i == nx - 1)
					M[(size_t)v * n + v] += 2 * s[v] * h;
				/* a cluster touching neither face floats: pin it weakly to 0 */
				M[(size_t)v * n + v] += 1e-30;
			}
	for (int c = 0; c < n; c++) {
		int piv = c;
		for (int r = c + 1; r < n; r++)
			if (fabs(M[(size_t)r * n + c]) > fabs(M[(size_t)piv * n + c]))
				piv = r;
		if (piv != c) {
			for (int q = 0; q < n; q++) {
				double t = M[(size_t)c * n + q];
				M[(size_t)c * n + q] = M[(size_t)piv * n + q];
				M[(size_t)piv * n + q] = t;
			}
			double t = rhs[c];
			rhs[c] = rhs[piv];
			rhs[piv] = t;
		}
		for (int r = c + 1; r < n; r++) {
			double f = M[(size_t)r * n + c] / M[(size_t)c * n + c];
			if (f == 0)
				continue;
			for (int q = c; q < n; q++)
				M[(size_t)r * n + q] -= f * M[(size_t)c * n + q];
			rhs[r] -= f * rhs[c];
		}
	}
	for (int r = n - 1; r >= 0; r--) {
		double t = rhs[r];
		for (int q = r + 1; q < n; q++)
			t -= M[(size_t)r * n + q] * rhs[q];
		rhs[r] = t / M[(size_t)r * n + r];
	}
	double out = 0;
	for (int j = 0; j < ny; j++)
		for (int k = 0; k < nz; k++) {
			int v = ((nx - 1) * ny + j) * nz + k;
			if (s[v] > 0)
				out += 2 * s[v] * h * rhs[v];
		}
	free(M);
	free(rhs);
	return nx * h * out / (ny * nz * h * h);
}

static void test_random_against_dense(void)
{
	const int nx = 9, ny = 6, nz = 5, n = nx * ny * nz;
	vb_image *img = box(nx, ny, nz);
	double *s = malloc(n * sizeof *s);
	int compared = 0;
	for (uint64_t seed = 1; seed <= 6; seed++) {
		for (int v = 0; v < n; v++) {
			double u = vb_rng_uniform(seed, 0, (uint64_t)v, 0);
			/* 65 % conducting, two conductivities (electrolyte and CBD-like);
			 * odd seeds one (mg's one-class kernels) */
			s[v] = u < 0.35 ? 0.0 : (u < 0.55 && seed % 2 == 0 ? 0.12 : 1.0);
		}
		double ref = dense_kappa(nx, ny, nz, s, 1e-6);
		for (int m = VB_LINSOLVE_CHOLMOD; m <= VB_LINSOLVE_MG; m++) {
			vb_linsolve_opts o = method((vb_linsolve_method)m);
			vb_conduct_result r;
			vb_err e;
			int rc = vb_conduct_solve(img, s, 0, nx, 0, &o, &r, &e);
			if (rc != VB_OK)
				printf("# %s: %s\n", vb_linsolve_method_name((vb_linsolve_method)m),
				       e.msg);
			CHECK(rc == VB_OK);
			if (ref > 0) {
				CHECK_NEAR(r.kappa_eff / ref, 1.0, 1e-6);
				compared++;
			} else {
				CHECK(r.kappa_eff == 0);
			}
		}
	}
	CHECK(compared >= 10);
	free(s);
	vb_voxel_free(&img);
}

static void test_thread_independence(void)
{
	const int nx = 40, ny = 30, nz = 30, n = nx * ny * nz;
	vb_image *img = box(nx, ny, nz);
	double *s = malloc(n * sizeof *s);
	for (int v = 0; v < n; v++)
		s[v] = vb_rng_uniform(3, 0, (uint64_t)v, 1) < 0.4 ? 0.0 : 0.07;
	vb_linsolve_opts o = method(VB_LINSOLVE_PCG);
	o.rtol = 1e-10;
	vb_conduct_result a, b, c;
	vb_err e;
	omp_set_num_threads(1);
	CHECK(vb_conduct_solve(img, s, 0, nx, 0, &o, &a, &e) == VB_OK);
	omp_set_num_threads(2);
	CHECK(vb_conduct_solve(img, s, 0, nx, 0, &o, &b, &e) == VB_OK);
	CHECK(a.kappa_eff == b.kappa_eff && a.solver.iterations == b.solver.iterations);
	o.method = VB_LINSOLVE_CHOLMOD;
	CHECK(vb_conduct_solve(img, s, 0, nx, 0, &o, &c, &e) == VB_OK);
	CHECK_NEAR(a.kappa_eff / c.kappa_eff, 1.0, 1e-6);
	o.method = VB_LINSOLVE_AMG;
	omp_set_num_threads(1);
	CHECK(vb_conduct_solve(img, s, 0, nx, 0, &o, &a, &e) == VB_OK);
	omp_set_num_threads(2);
	CHECK(vb_conduct_solve(img, s, 0, nx, 0, &o, &b, &e) == VB_OK);
	CHECK(a.kappa_eff == b.kappa_eff && a.solver.used == VB_LINSOLVE_AMG);
	CHECK_NEAR(a.kappa_eff / c.kappa_eff, 1.0, 1e-6);
	free(s);
	vb_voxel_free(&img);
}

/* A conductivity per voxel from its coordinate u along `axis` and its
 * cross-section position w (0 .. ny*nz-1 of the other two axes). */
typedef double (*pattern)(int u, int w);

static double *fill(const vb_image *img, int axis, pattern f)
{
	const int64_t n[3] = {img->nx, img->ny, img->nz};
	double *s = malloc((size_t)vb_voxel_count(img) * sizeof *s);
	for (int64_t i = 0; i < n[0]; i++)
		for (int64_t j = 0; j < n[1]; j++)
			for (int64_t k = 0; k < n[2]; k++) {
				const int64_t c[3] = {i, j, k};
				const int b = (axis + 1) % 3, d = (axis + 2) % 3;
				const int w = (int)(c[b] * n[d] + c[d]);
				s[vb_voxel_index(img, i, j, k)] = f((int)c[axis], w);
			}
	return s;
}

static double all_on(int u, int w)
{
	(void)u, (void)w;
	return 0.7;
}

static double channels(int u, int w) /* along the axis at 7 of the 20 positions */
{
	static const int on[20] = {1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0};
	(void)u;
	return on[w % 20] ? 0.07 : 0.0;
}

static const double slab_sigma[10] = {1, 1, 0.1, 0.1, 0.1, 2, 2, 0.5, 1, 1};

static double slabs(int u, int w)
{
	(void)w;
	return slab_sigma[u];
}

static double blocked(int u, int w) /* an insulating layer across the axis */
{
	(void)w;
	return u == 4 ? 0.0 : 1.0;
}

static void test_directions(void)
{
	/* every axis of a box with a different edge on each, exact answers to 1e-8,
	 * by mg and by CHOLMOD */
	const int64_t dims[3][3] = {{10, 4, 5}, {5, 10, 4}, {4, 5, 10}};
	for (int a = 0; a < 3; a++) {
		vb_image *img = box(dims[a][0], dims[a][1], dims[a][2]);
		double *full = fill(img, a, all_on), *ch = fill(img, a, channels);
		double *sl = fill(img, a, slabs), *bl = fill(img, a, blocked);
		double inv = 0;
		for (int u = 0; u < 10; u++)
			inv += 1.0 / slab_sigma[u];
		for (int m = VB_LINSOLVE_CHOLMOD; m <= VB_LINSOLVE_MG; m += 3) {
			vb_linsolve_opts o = method((vb_linsolve_method)m);
			vb_conduct_result r;
			vb_err e;
			CHECK(vb_conduct_solve(img, full, 0, img->nx, a, &o, &r, &e) == VB_OK);
			CHECK_NEAR(r.kappa_eff / 0.7, 1.0, 1e-8);
			CHECK(r.solver.used == (vb_linsolve_method)m);
			CHECK(vb_conduct_solve(img, ch, 0, img->nx, a, &o, &r, &e) == VB_OK);
			CHECK_NEAR(r.kappa_eff / 0.07, 7.0 / 20.0, 1e-8 * 7.0 / 20.0);
			CHECK(vb_conduct_solve(img, sl, 0, img->nx, a, &o, &r, &e) == VB_OK);
			CHECK_NEAR(r.kappa_eff / (10.0 / inv), 1.0, 1e-8);
			CHECK(vb_conduct_solve(img, bl, 0, img->nx, a, &o, &r, &e) == VB_OK);
			CHECK(r.percolates == 0 && r.kappa_eff == 0.0);
		}
		free(full), free(ch), free(sl), free(bl);
		vb_voxel_free(&img);
	}
}

static void test_direction_transposed(void)
{
	/* along y of an image = along x of the image with x and y swapped (two
	 * independent solves); mg against CHOLMOD on every axis */
	const int nx = 14, ny = 11, nz = 9, n = nx * ny * nz;
	vb_image *img = box(nx, ny, nz), *tr = box(ny, nx, nz);
	double *s = malloc(n * sizeof *s), *t = malloc(n * sizeof *t);
	for (int i = 0; i < nx; i++)
		for (int j = 0; j < ny; j++)
			for (int k = 0; k < nz; k++) {
				const double u =
					vb_rng_uniform(11, 0, (uint64_t)((i * ny + j) * nz + k), 0);
				const double v = u < 0.4 ? 0.0 : (u < 0.6 ? 0.12 : 1.0);
				s[vb_voxel_index(img, i, j, k)] = v;
				t[vb_voxel_index(tr, j, i, k)] = v;
			}
	vb_linsolve_opts mg = method(VB_LINSOLVE_MG), ch = method(VB_LINSOLVE_CHOLMOD);
	vb_conduct_result a, b;
	vb_err e;
	CHECK(vb_conduct_solve(img, s, 0, nx, 1, &mg, &a, &e) == VB_OK);
	CHECK(vb_conduct_solve(tr, t, 0, ny, 0, &mg, &b, &e) == VB_OK);
	CHECK(a.percolates && a.kappa_eff > 0);
	CHECK_NEAR(a.kappa_eff / b.kappa_eff, 1.0, 1e-10);
	for (int ax = 0; ax < 3; ax++) {
		CHECK(vb_conduct_solve(img, s, 0, nx, ax, &mg, &a, &e) == VB_OK);
		CHECK(vb_conduct_solve(img, s, 0, nx, ax, &ch, &b, &e) == VB_OK);
		CHECK(a.percolates == b.percolates && a.unknowns == b.unknowns);
		CHECK_NEAR(a.kappa_eff / b.kappa_eff, 1.0, 1e-10);
	}
	/* an axis outside 0..2 is refused */
	CHECK(vb_conduct_solve(img, s, 0, nx, 3, &mg, &a, &e) == VB_ERR_INPUT);
	free(s), free(t);
	vb_voxel_free(&img);
	vb_voxel_free(&tr);
}

static void test_mg_threads(void)
{
	/* mg's one-class and several-class kernels: bit-identical on 1 and 2
	 * threads, and at its default tolerance (1e-6) within 1e-8 of CHOLMOD */
	const int nx = 36, ny = 28, nz = 30, n = nx * ny * nz;
	vb_image *img = box(nx, ny, nz);
	double *s = malloc(n * sizeof *s);
	for (int classes = 1; classes <= 2; classes++) {
		for (int v = 0; v < n; v++) {
			const double u = vb_rng_uniform(5, 0, (uint64_t)v, 2);
			s[v] = u < 0.62 ? 0.0 : (classes == 2 && u < 0.7 ? 0.2 : 0.07);
		}
		vb_linsolve_opts o = method(VB_LINSOLVE_MG);
		o.rtol = 1e-6;
		vb_conduct_result a, b, c;
		vb_err e;
		for (int ax = 0; ax < 3; ax++) {
			omp_set_num_threads(1);
			CHECK(vb_conduct_solve(img, s, 0, nx, ax, &o, &a, &e) == VB_OK);
			omp_set_num_threads(2);
			CHECK(vb_conduct_solve(img, s, 0, nx, ax, &o, &b, &e) == VB_OK);
			CHECK(a.kappa_eff == b.kappa_eff &&
			      a.solver.iterations == b.solver.iterations);
			CHECK(a.levels >= 3 && a.solver.residual <= 1e-6);
			vb_linsolve_opts d = method(VB_LINSOLVE_CHOLMOD);
			CHECK(vb_conduct_solve(img, s, 0, nx, ax, &d, &c, &e) == VB_OK);
			CHECK(c.percolates);
			CHECK_NEAR(a.kappa_eff / c.kappa_eff, 1.0, 1e-8);
		}
	}
	free(s);
	vb_voxel_free(&img);
}

/* mg's one- and two-class kernels store every line split by the parity
 * of its sites (evens, then odds): lines of 1 to 7 sites, whose ends fall
 * on either parity, on every axis, against CHOLMOD; and one line of 2 and
 * 3 sites inside a larger lattice so that the coarse levels aggregate
 * them. Fails if an end site of either half is relaxed, applied,
 * restricted or prolonged with the wrong neighbour or conductance. */
static void test_mg_line_lengths(void)
{
	for (int nz = 1; nz <= 7; nz++)
		for (int big = 0; big < 4; big++) {
			const int nx = big & 1 ? 24 : 7, ny = big & 1 ? 20 : 5, n = nx * ny * nz;
			vb_image *img = box(nx, ny, nz);
			double *s = malloc((size_t)n * sizeof *s);
			for (int v = 0; v < n; v++) {
				const double u = vb_rng_uniform(11, (uint64_t)nz, (uint64_t)v, 3);
				s[v] = u < 0.3 ? 0.0 : big >= 2 && u < 0.6 ? 0.12 : 0.5;
			}
			for (int ax = 0; ax < 3; ax++) {
				vb_conduct_result a, c;
				vb_err e;
				vb_linsolve_opts o = method(VB_LINSOLVE_MG),
						 d = method(VB_LINSOLVE_CHOLMOD);
				o.rtol = 1e-10;
				CHECK(vb_conduct_solve(img, s, 0, nx, ax, &d, &c, &e) == VB_OK);
				CHECK(vb_conduct_solve(img, s, 0, nx, ax, &o, &a, &e) == VB_OK);
				if (c.kappa_eff > 0)
					CHECK_NEAR(a.kappa_eff / c.kappa_eff, 1.0, 1e-9);
				else
					CHECK(a.kappa_eff == 0);
				CHECK(a.balance < 1e-6);
			}
			free(s);
			vb_voxel_free(&img);
		}
}

/* mg's two orders of a V-cycle's lattice stages (one after the other on
 * small lattices, pipelined over the planes on large ones) give the same
 * result to the bit, on 1 and 2 threads, on every axis, with one class and
 * with two; with two, so do the loops for any x86-64 and the AVX2 ones.
 * The lattice: off sites only among those with i, j, k all even (so every
 * site stays joined to both faces), lines of 33 sites (the even half's
 * inner sites end in a part block of the AVX2 loops; test_mg_line_lengths
 * has lines of part blocks only). Fails if a stage of the
 * pipeline reads a plane its neighbour stage has not finished, or
 * overwrites one the stage before still has to read, or if the two kinds
 * of loops differ in a site or an operation. */
static void test_mg_pass_orders(void)
{
	const int64_t n[3] = {37, 30, 33}, count = n[0] * n[1] * n[2];
	uint8_t *cls = malloc((size_t)count);
	for (int classes = 1; classes <= 2; classes++) {
		for (int64_t v = 0; v < count; v++) {
			const int64_t i = v / (n[1] * n[2]), j = v / n[2] % n[1], k = v % n[2];
			const int even = i % 2 == 0 && j % 2 == 0 && k % 2 == 0;
			const double u = vb_rng_uniform(13, 0, (uint64_t)v, 0);
			cls[v] = even && u < 0.7 ? VB_MG_OFF : classes == 2 && u > 0.6 ? 1 : 0;
		}
		for (int ax = 0; ax < 3; ax++) {
			vb_mg_result res[4];
			for (int run = 0; run < 4; run++) {
				vb_mg_problem p = {{n[0], n[1], n[2]},
						   cls,
						   {0},
						   1e-6,
						   ax,
						   1e-8,
						   1000,
						   NULL,
						   NULL,
						   run == 0 ? INT64_MAX : -1,
						   run == 3};
				p.sigma[0] = 0.3, p.sigma[1] = classes == 2 ? 0.05 : 0.0;
				vb_err e;
				omp_set_num_threads(run == 2 ? 1 : 2);
				CHECK(vb_mg_solve(&p, &res[run], &e) == VB_OK);
			}
			omp_set_num_threads(2);
			for (int run = 1; run < 4; run++) {
				CHECK(res[run].current == res[0].current);
				CHECK(res[run].iterations == res[0].iterations);
				CHECK(res[run].residual == res[0].residual);
			}
			CHECK(res[0].current > 0 && res[0].residual <= 1e-8 && res[0].levels >= 3);
		}
	}
	free(cls);
}

/* The 7-point matrix of an n^3 resistor network with random face
 * conductances over two decades, plus a small diagonal (a ground): SPD. */
static vb_csr random_network(int n)
{
	const int64_t N = (int64_t)n * n * n;
	vb_csr A = {N, calloc((size_t)N + 1, sizeof(int64_t)),
		    malloc((size_t)N * 7 * sizeof(int64_t)),
		    malloc((size_t)N * 7 * sizeof(double))};
	int64_t q = 0;
	for (int64_t v = 0; v < N; v++) {
		const int64_t i = v / (n * n), j = v / n % n, k = v % n;
		const int64_t nb[6] = {i > 0 ? v - n * n : -1, j > 0 ? v - n : -1,
				       k > 0 ? v - 1 : -1,     k < n - 1 ? v + 1 : -1,
				       j < n - 1 ? v + n : -1, i < n - 1 ? v + n * n : -1};
		double diag = v % 97 == 0 ? 1e-3 : 0;
		const int64_t start = q;
		for (int d = 0; d < 6; d++) {
			if (d == 3)
				A.col[q++] = v;
			if (nb[d] < 0)
				continue;
			/* the same value seen from both sides of a face */
			const int64_t lo = v < nb[d] ? v : nb[d], hi = v < nb[d] ? nb[d] : v;
			const double g =
				pow(10.0, 2 * vb_rng_uniform(7, (uint64_t)lo, (uint64_t)hi, 0));
			diag += g;
			A.col[q] = nb[d], A.val[q++] = -g;
		}
		for (int64_t t = start; t < q; t++)
			if (A.col[t] == v)
				A.val[t] = diag;
		A.rowptr[v + 1] = q;
	}
	return A;
}

/* ||x - y|| / ||y|| */
static double rel_distance(const double *x, const double *y, int64_t n)
{
	double d2 = 0, r2 = 0;
	for (int64_t v = 0; v < n; v++)
		d2 += (x[v] - y[v]) * (x[v] - y[v]), r2 += y[v] * y[v];
	return sqrt(d2) / sqrt(r2);
}

static void test_amg_hierarchy(void)
{
	vb_csr A = random_network(32);
	const int64_t n = A.n;
	vb_err e;
	vb_linsolve_amg *amg = vb_linsolve_amg_new(&A, &e);
	CHECK(amg != NULL);
	if (amg == NULL) {
		vb_linsolve_csr_free(&A);
		return;
	}
	CHECK(vb_linsolve_amg_levels(amg) >= 3);
	double *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
	double *Mx = malloc((size_t)n * sizeof *Mx), *My = malloc((size_t)n * sizeof *My);
	double *Mx1 = malloc((size_t)n * sizeof *Mx1);
	vb_linsolve_stats st;
	/* AMG-PCG on the hierarchy's own matrix converges fast (21 iterations
	 * measured) and agrees with CHOLMOD */
	for (int64_t v = 0; v < n; v++)
		x[v] = vb_rng_uniform(10, 0, (uint64_t)v, 0) - 0.5;
	memset(Mx, 0, (size_t)n * sizeof *Mx);
	CHECK(vb_linsolve_amg_pcg(amg, &A, x, Mx, 1e-10, 60, &st, &e) == VB_OK);
	CHECK(st.iterations <= 30);
	vb_linsolve_opts o = method(VB_LINSOLVE_CHOLMOD);
	CHECK(vb_linsolve_spd(&A, x, My, &o, NULL, &e) == VB_OK);
	CHECK(rel_distance(Mx, My, n) <= 1e-8);
	/* the V-cycle is a symmetric positive definite operator, also with a
	 * finest level that differs from the one the hierarchy was built on */
	for (int pass = 0; pass < 2; pass++) {
		for (int64_t v = 0; v < n; v++) {
			x[v] = vb_rng_uniform(11, (uint64_t)pass, (uint64_t)v, 0) - 0.5;
			y[v] = vb_rng_uniform(12, (uint64_t)pass, (uint64_t)v, 0) - 0.5;
		}
		CHECK(vb_linsolve_amg_apply(amg, &A, x, Mx, &e) == VB_OK);
		CHECK(vb_linsolve_amg_apply(amg, &A, y, My, &e) == VB_OK);
		const double yMx = vb_linsolve_dot(y, Mx, n), xMy = vb_linsolve_dot(x, My, n);
		const double xMx = vb_linsolve_dot(x, Mx, n);
		CHECK(xMx > 0 && vb_linsolve_dot(y, My, n) > 0);
		CHECK_NEAR(yMx, xMy, 1e-12 * xMx);
		omp_set_num_threads(1);
		CHECK(vb_linsolve_amg_apply(amg, &A, x, Mx1, &e) == VB_OK);
		omp_set_num_threads(2);
		CHECK(memcmp(Mx, Mx1, (size_t)n * sizeof *Mx) == 0);
		for (int64_t v = 0; v < n; v++) /* a stiffer diagonal for the second pass */
			for (int64_t t = A.rowptr[v]; t < A.rowptr[v + 1]; t++)
				if (A.col[t] == v)
					A.val[t] *= 1.1;
	}
	/* a matrix the hierarchy's coarse levels still suit (the original one
	 * with its conductances and ground 1.5 times as large), refreshed into
	 * the hierarchy: AMG-PCG (whose products are in double precision, its
	 * V-cycle in single) agrees with CHOLMOD to 1e-8 */
	vb_linsolve_csr_free(&A);
	A = random_network(32);
	for (int64_t t = 0; t < A.rowptr[n]; t++)
		A.val[t] *= 1.5;
	CHECK(vb_linsolve_amg_refresh(amg, &A, &e) == VB_OK);
	memset(Mx, 0, (size_t)n * sizeof *Mx);
	CHECK(vb_linsolve_amg_pcg(amg, &A, x, Mx, 1e-10, 60, &st, &e) == VB_OK);
	CHECK(st.iterations <= 30);
	CHECK(vb_linsolve_spd(&A, x, My, &o, NULL, &e) == VB_OK);
	CHECK(rel_distance(Mx, My, n) <= 1e-8);
	/* a wrong size is refused */
	vb_csr B = A;
	B.n = n - 1;
	CHECK(vb_linsolve_amg_pcg(amg, &B, x, Mx, 1e-10, 60, &st, &e) == VB_ERR_RUN);
	CHECK(vb_linsolve_amg_refresh(amg, &B, &e) == VB_ERR_RUN);
	CHECK(vb_linsolve_amg_apply(amg, &B, x, Mx, &e) == VB_ERR_RUN);
	vb_linsolve_amg_free(&amg);
	vb_linsolve_amg_free(&amg); /* NULL: no-op */
	CHECK(amg == NULL);
	free(x), free(y), free(Mx), free(My), free(Mx1);
	vb_linsolve_csr_free(&A);
}

/* ||b - A x|| / ||b|| in double precision */
static double rel_residual(const vb_csr *A, const double *b, const double *x)
{
	double *Ax = malloc((size_t)A->n * sizeof *Ax);
	vb_linsolve_spmv(A, x, Ax);
	const double r = rel_distance(Ax, b, A->n);
	free(Ax);
	return r;
}

/* The kept hierarchy of a Newton iteration's block: built once, refreshed
 * when the owner marks the matrix changed, dropped when stale; its
 * conjugate gradients multiply by the single-precision copy, so their
 * answer meets the tolerance against the double-precision matrix up to
 * that rounding. */
#define TOL_KEPT (1e-4 + 1201 * 6e-8)
static void test_amg_kept(void)
{
	vb_csr A = random_network(32);
	const int64_t n = A.n;
	/* grounded everywhere: the condition number is at most 1201 (the
	 * rounding of the copy, 6e-8 relative, then moves the true residual by
	 * at most 7.2e-5; random_network's own, near 1e8, would not allow a
	 * tolerance of 1e-4 to be checked in double precision) */
	for (int64_t v = 0; v < n; v++)
		for (int64_t t = A.rowptr[v]; t < A.rowptr[v + 1]; t++)
			if (A.col[t] == v)
				A.val[t] += 1;
	vb_err e;
	double *b = malloc((size_t)n * sizeof *b), *x = malloc((size_t)n * sizeof *x);
	double *x1 = malloc((size_t)n * sizeof *x1), *y = malloc((size_t)n * sizeof *y);
	for (int64_t v = 0; v < n; v++)
		b[v] = vb_rng_uniform(13, 0, (uint64_t)v, 0) - 0.5;
	vb_linsolve_kept k = {0};
	vb_linsolve_stats st = {0};
	memset(x, 0, (size_t)n * sizeof *x);
	CHECK(vb_linsolve_kept_pcg(&k, &A, b, x, 1e-4, 60, &st, &e) == VB_OK);
	CHECK(k.setups == 1 && k.its_base == st.iterations && st.iterations > 1);
	CHECK(st.used == VB_LINSOLVE_AMG);
	CHECK(rel_residual(&A, b, x) <= TOL_KEPT);
	/* tighter: the single-precision products limit the true residual to
	 * their rounding times the condition, not to the tolerance they report
	 * (1.4e-7 measured) */
	memset(x, 0, (size_t)n * sizeof *x);
	CHECK(vb_linsolve_kept_pcg(&k, &A, b, x, 1e-9, 80, &st, &e) == VB_OK);
	CHECK(rel_residual(&A, b, x) <= 1e-6);
	vb_linsolve_opts o = method(VB_LINSOLVE_CHOLMOD);
	CHECK(vb_linsolve_spd(&A, b, y, &o, NULL, &e) == VB_OK);
	CHECK(rel_distance(x, y, n) <= 1e-5);
	/* the same on 1 and 2 threads, to the bit */
	memset(x1, 0, (size_t)n * sizeof *x1);
	omp_set_num_threads(1);
	CHECK(vb_linsolve_kept_pcg(&k, &A, b, x1, 1e-9, 80, &st, &e) == VB_OK);
	omp_set_num_threads(2);
	CHECK(memcmp(x, x1, (size_t)n * sizeof *x) == 0);
	/* new values, marked changed: refreshed, not rebuilt, and the answer
	 * is that of the new matrix */
	for (int64_t t = 0; t < A.rowptr[n]; t++)
		A.val[t] *= 3;
	k.changed = 1;
	memset(x, 0, (size_t)n * sizeof *x);
	CHECK(vb_linsolve_kept_pcg(&k, &A, b, x, 1e-4, 60, &st, &e) == VB_OK);
	CHECK(k.setups == 1 && k.changed == 0);
	CHECK(rel_residual(&A, b, x) <= TOL_KEPT);
	/* unmarked, the copy is stale: the answer is the old matrix's, a
	 * third of the new one's, which the double-precision residual shows */
	for (int64_t t = 0; t < A.rowptr[n]; t++)
		A.val[t] /= 3;
	memset(x1, 0, (size_t)n * sizeof *x1);
	CHECK(vb_linsolve_kept_pcg(&k, &A, b, x1, 1e-4, 60, &st, &e) == VB_OK);
	CHECK(rel_residual(&A, b, x1) > 0.5);
	/* the rebuild rule: kept while no solve needs more than `rebuild`
	 * iterations and 2 more than its first */
	vb_linsolve_kept_check(&k, 1000);
	CHECK(k.amg != NULL);
	k.its_max = k.its_base + 3;
	vb_linsolve_kept_check(&k, 0);
	CHECK(k.amg == NULL);
	k.changed = 1;
	memset(x, 0, (size_t)n * sizeof *x);
	CHECK(vb_linsolve_kept_pcg(&k, &A, b, x, 1e-4, 60, &st, &e) == VB_OK);
	CHECK(k.setups == 2 && k.changed == 0);
	CHECK(rel_residual(&A, b, x) <= TOL_KEPT);
	/* a solve the copy cannot finish goes on in double precision: here
	 * max_iter 2 at rtol 1e-9, so both fail, after 2 + 2 iterations */
	CHECK(k.fallbacks == 0);
	memset(x, 0, (size_t)n * sizeof *x);
	CHECK(vb_linsolve_kept_pcg(&k, &A, b, x, 1e-9, 2, &st, &e) == VB_ERR_RUN);
	CHECK(k.fallbacks == 1 && st.iterations == 4 && st.residual > 1e-9);
	/* a matrix of another size is refused */
	vb_csr B = A;
	B.n = n - 1;
	CHECK(vb_linsolve_kept_pcg(&k, &B, b, x, 1e-4, 60, &st, &e) == VB_ERR_RUN);
	vb_linsolve_kept_free(&k);
	CHECK(k.amg == NULL && k.work.buf == NULL);
	vb_linsolve_kept_free(&k); /* freed: no-op */
	free(b), free(x), free(x1), free(y);
	vb_linsolve_csr_free(&A);
}

/* Rayleigh (1892, octupole coefficient 1.305 as corrected by later authors,
 * e.g. McKenzie, McPhedran and Derrick, Proc. R. Soc. A 362 (1978) 211) for
 * a simple cubic array of spheres of conductivity s2 at volume fraction f
 * in a matrix of conductivity 1:
 *   sigma_eff = 1 + 3 f / ((s2 + 2) / (s2 - 1) - f - 1.305 (s2 - 1) / (s2 + 4/3) f^(10/3)).
 * Without the f^(10/3) term it is Maxwell-Garnett; at f = 0.11 the two
 * differ by 5e-5 (insulating spheres) and 1.7e-4 (s2 = 10), the next term
 * of the series by less. */
static double rayleigh_sc(double f, double s2)
{
	return 1 + 3 * f /
			   ((s2 + 2) / (s2 - 1) - f -
			    1.305 * (s2 - 1) / (s2 + 4.0 / 3.0) * pow(f, 10.0 / 3.0));
}

/* A sphere of radius 0.3 L (conductivity s2) at the centre of an n^3 cell of
 * edge L in a matrix of conductivity 1: the unit cell of the simple cubic
 * array, since the array's planes x = 0 and x = L (between spheres) are
 * equipotentials and its planes y, z = 0, L mirror planes, which is the
 * boundary convention of vb_conduct. Returns kappa_eff / matrix and the
 * voxel image's own sphere fraction f. */
static double sphere_cell(int n, double s2, double *f)
{
	vb_image *img = box(n, n, n);
	double *s = malloc((size_t)n * n * n * sizeof *s);
	int64_t inside = 0;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			for (int k = 0; k < n; k++) {
				const double x = (i + 0.5) / n - 0.5, y = (j + 0.5) / n - 0.5,
					     z = (k + 0.5) / n - 0.5;
				const int in = x * x + y * y + z * z < 0.09;
				inside += in;
				s[vb_voxel_index(img, i, j, k)] = in ? s2 : 1.0;
			}
	*f = (double)inside / ((double)n * n * n);
	vb_linsolve_opts o = vb_linsolve_defaults();
	o.rtol = 1e-11;
	vb_conduct_result r;
	vb_err e;
	int rc = vb_conduct_solve(img, s, 0, n, 0, &o, &r, &e);
	if (rc != VB_OK)
		printf("# n = %d: %s\n", n, e.msg);
	CHECK(rc == VB_OK && r.balance < 1e-8);
	free(s);
	vb_voxel_free(&img);
	return rc == VB_OK ? r.kappa_eff : NAN;
}

/* A truly 3D case against the continuum: the staircase sphere converges to
 * Rayleigh's value as the voxels shrink (10, 20, 40 per cell edge).
 * Compared at the image's own fraction f, the error left is that of the
 * staircase surface. Insulating spheres (the ionic network around CAM): first
 * order, measured -3.2e-2, -1.5e-2, -7.9e-3; the error halves with h and
 * its Richardson extrapolation 2 e(40) - e(20) is -6e-4. Spheres 10 times
 * more conductive (harmonic-mean faces at the interface): -1.0e-2, -1.1e-3,
 * +3.6e-4. */
static void test_sphere_refinement(void)
{
	const int n[3] = {10, 20, 40};
	const double s2[2] = {0.0, 10.0};
	for (int c = 0; c < 2; c++) {
		double err[3];
		for (int l = 0; l < 3; l++) {
			double f;
			const double k = sphere_cell(n[l], s2[c], &f);
			err[l] = k - rayleigh_sc(f, s2[c]);
			printf("# sphere %g: n %d, f %.5f: kappa_rel %.6f, Rayleigh %.6f\n", s2[c],
			       n[l], f, k, rayleigh_sc(f, s2[c]));
		}
		CHECK(fabs(err[1]) < 0.7 * fabs(err[0]) && fabs(err[2]) < 0.7 * fabs(err[1]));
		if (s2[c] == 0) {
			/* first order: each halving of h halves the error (within 1.6..2.6) */
			CHECK(err[0] / err[1] > 1.6 && err[0] / err[1] < 2.6);
			CHECK(err[1] / err[2] > 1.6 && err[1] / err[2] < 2.6);
			CHECK(fabs(err[2]) < 1e-2);
			CHECK(fabs(2 * err[2] - err[1]) < 2e-3);
		} else {
			CHECK(fabs(err[2]) < 1e-3);
		}
	}
}

int main(void)
{
	RUN(test_full_box,
	    "conduct: a fully conducting box has kappa_rel = 1 (CHOLMOD, PCG, AMG, mg)");
	RUN(test_straight_channels, "conduct: straight channels along x have tau = 1");
	RUN(test_series_slabs, "conduct: slabs across x follow the series (harmonic) law");
	RUN(test_no_path, "conduct: no conducting path gives kappa_eff = 0 and status ok");
	RUN(test_random_against_dense,
	    "conduct: random structures agree with a dense solve to 1e-6");
	RUN(test_sphere_refinement, "conduct: a sphere in a cubic cell converges to Rayleigh's "
				    "simple cubic array under grid refinement");
	RUN(test_directions, "conduct: along x, y and z, full box, channels, slabs and a blocking "
			     "layer are exact to 1e-8 (mg, CHOLMOD)");
	RUN(test_direction_transposed,
	    "conduct: along y equals along x of the transposed image; mg = CHOLMOD on every axis");
	RUN(test_mg_threads, "conduct: mg is bit-identical on 1 and 2 threads and within 1e-8 of "
			     "CHOLMOD at its default tolerance");
	RUN(test_mg_line_lengths, "conduct: mg's split lines of 1 to 7 sites agree with CHOLMOD on "
				  "every axis");
	RUN(test_mg_pass_orders, "conduct: mg's lattice stages one after the other and pipelined "
				 "over the planes agree to the bit, on 1 and 2 threads");
	RUN(test_thread_independence,
	    "conduct: PCG and AMG are bit-identical on 1 and 2 threads, agree with CHOLMOD");
	RUN(test_amg_hierarchy,
	    "linsolve: the AMG V-cycle is symmetric positive definite, the same on "
	    "1 and 2 threads, and its PCG agrees with CHOLMOD");
	RUN(test_amg_kept, "linsolve: a kept hierarchy is refreshed when marked, rebuilt when "
			   "stale, its single-precision PCG meets the tolerance, and falls back to double");
	DONE();
}
