/* vb_conduct: finite-volume conduction on voxels and effective conductivity.
 * The region is held as one class per voxel (a distinct conductivity, or
 * VB_MG_OFF): 1 byte per voxel, whichever solver runs. */
#include "vb_conduct.h"

#include <stdlib.h>
#include <string.h>

#include "vb_mg.h"

enum { FROM_INLET = 0x10, FROM_OUTLET = 0x20, CLASS_BITS = 0x0f };

static inline double harmonic(double a, double b)
{
	return 2.0 * a * b / (a + b);
}

typedef struct region {
	int64_t n[3], s[3], count; /* voxels per axis, strides, voxels */
	int axis;
	uint8_t *cls;
	double sigma[VB_MG_CLASSES];
} region;

static inline int64_t coord(const region *g, int64_t v, int a)
{
	return (v / g->s[a]) % g->n[a];
}

/* Flood fill by runs: a run is a maximal stretch of conducting voxels
 * along z (the fastest axis); the queue holds runs, and a run, once
 * reached, is marked whole, so a voxel is visited a few times at most. */
typedef struct run {
	int64_t v0, len; /* first voxel, voxels */
} run;

typedef struct run_queue {
	run *q;
	int64_t head, tail, cap;
} run_queue;

/* Marks the run through voxel v (conducting, not yet marked) and queues it. */
static int push_run(region *g, int64_t v, uint8_t flag, run_queue *rq)
{
	const int64_t line = v - v % g->n[2];
	int64_t lo = v, hi = v;
	while (lo > line && g->cls[lo - 1] != VB_MG_OFF)
		lo--;
	while (hi + 1 < line + g->n[2] && g->cls[hi + 1] != VB_MG_OFF)
		hi++;
	for (int64_t w = lo; w <= hi; w++)
		g->cls[w] |= flag;
	if (rq->tail == rq->cap) {
		const int64_t cap = rq->cap ? 2 * rq->cap : 4096;
		run *q = realloc(rq->q, (size_t)cap * sizeof *q);
		if (q == NULL)
			return -1;
		rq->q = q, rq->cap = cap;
	}
	rq->q[rq->tail++] = (run){lo, hi - lo + 1};
	return 0;
}

static inline int fresh(const region *g, int64_t v, uint8_t flag)
{
	return g->cls[v] != VB_MG_OFF && !(g->cls[v] & flag);
}

/* Flood from the voxels whose coordinate along the axis is `at`. */
static int flood(region *g, int64_t at, uint8_t flag)
{
	run_queue rq = {NULL, 0, 0, 0};
	int64_t lo[3] = {0, 0, 0}, hi[3] = {g->n[0], g->n[1], g->n[2]};
	lo[g->axis] = at, hi[g->axis] = at + 1;
	int bad = 0;
	for (int64_t i = lo[0]; i < hi[0] && !bad; i++)
		for (int64_t j = lo[1]; j < hi[1] && !bad; j++)
			for (int64_t k = lo[2]; k < hi[2] && !bad; k++) {
				const int64_t v = i * g->s[0] + j * g->s[1] + k;
				if (fresh(g, v, flag))
					bad = push_run(g, v, flag, &rq);
			}
	const int64_t s0 = g->s[0], s1 = g->s[1];
	while (rq.head < rq.tail && !bad) {
		const run r = rq.q[rq.head++];
		const int64_t i = r.v0 / s0, j = (r.v0 - i * s0) / s1;
		const int64_t nb[4] = {i > 0 ? -s0 : 0, i < g->n[0] - 1 ? s0 : 0, j > 0 ? -s1 : 0,
				       j < g->n[1] - 1 ? s1 : 0};
		for (int q = 0; q < 4 && !bad; q++)
			for (int64_t v = r.v0 + nb[q]; nb[q] != 0 && v < r.v0 + nb[q] + r.len && !bad;
			     v++)
				if (fresh(g, v, flag))
					bad = push_run(g, v, flag, &rq);
	}
	free(rq.q);
	return bad;
}

/* Cuts off every voxel not joined to both potential faces; returns how many
 * remain, or -1 when out of memory. */
static int64_t keep_paths(region *g)
{
	if (flood(g, 0, FROM_INLET) || flood(g, g->n[g->axis] - 1, FROM_OUTLET))
		return -1;
	int64_t n = 0;
#pragma omp parallel for schedule(static) reduction(+ : n)
	for (int64_t v = 0; v < g->count; v++) {
		const uint8_t c = g->cls[v];
		const int both = c != VB_MG_OFF && (c & FROM_INLET) && (c & FROM_OUTLET);
		g->cls[v] = both ? (uint8_t)(c & CLASS_BITS) : (uint8_t)VB_MG_OFF;
		n += both;
	}
	return n;
}

/* The assembled-matrix path: CHOLMOD, AMG or Jacobi PCG. */
static int solve_csr(const region *g, double h, const vb_linsolve_opts *opts, double *in,
		     double *out, vb_linsolve_stats *st, vb_err *e)
{
	const int64_t nvox = g->count;
	const int a = g->axis;
	int64_t *index = malloc((size_t)nvox * sizeof *index), n = 0;
	if (index == NULL)
		return vb_err_set(e, VB_ERR_RUN, "out of memory for %lld voxels", (long long)nvox);
	for (int64_t v = 0; v < nvox; v++)
		index[v] = g->cls[v] != VB_MG_OFF ? n++ : -1;
	if (n == 0) {
		free(index);
		return VB_OK;
	}
	vb_csr A = {n, malloc((size_t)(n + 1) * sizeof(int64_t)), NULL, NULL};
	double *b = calloc((size_t)n, sizeof *b), *phi = calloc((size_t)n, sizeof *phi);
	int64_t *row_voxel = calloc((size_t)n, sizeof *row_voxel);
	int rc = VB_OK;
	if (A.rowptr == NULL || b == NULL || phi == NULL || row_voxel == NULL) {
		rc = vb_err_set(e, VB_ERR_RUN, "out of memory for %lld unknowns", (long long)n);
		goto done;
	}
	for (int64_t v = 0; v < nvox; v++)
		if (index[v] >= 0)
			row_voxel[index[v]] = v;
	A.rowptr[0] = 0;
	for (int64_t r = 0; r < n; r++) {
		const int64_t v = row_voxel[r];
		int64_t len = 1;
		for (int d = 0; d < 3; d++) {
			const int64_t c = coord(g, v, d);
			len += c > 0 && index[v - g->s[d]] >= 0;
			len += c < g->n[d] - 1 && index[v + g->s[d]] >= 0;
		}
		A.rowptr[r + 1] = A.rowptr[r] + len;
	}
	A.col = malloc((size_t)A.rowptr[n] * sizeof *A.col);
	A.val = malloc((size_t)A.rowptr[n] * sizeof *A.val);
	if (A.col == NULL || A.val == NULL) {
		rc = vb_err_set(e, VB_ERR_RUN, "out of memory for the conduction matrix");
		goto done;
	}
	/* Face conductance sigma_face * h^2 / h; a boundary face is half a voxel
	 * from the centre: 2 sigma h. Columns ascend: -x, -y, -z, self, +z, +y, +x. */
#pragma omp parallel for schedule(static)
	for (int64_t r = 0; r < n; r++) {
		const int64_t v = row_voxel[r];
		const double sv = g->sigma[g->cls[v]];
		const int64_t i = v / g->s[0], j = (v / g->s[1]) % g->n[1], k = v % g->s[1];
		const int64_t nbv[6] = {v - g->s[0], v - g->s[1], v - 1, v + 1, v + g->s[1],
					v + g->s[0]};
		const int has[6] = {i > 0, j > 0, k > 0, k < g->n[2] - 1, j < g->n[1] - 1,
				    i < g->n[0] - 1};
		int64_t p = A.rowptr[r], self = -1;
		double diag = 0;
		for (int q = 0; q < 6; q++) {
			if (q == 3)
				self = p++;
			if (!has[q] || nbv[q] < 0 || nbv[q] >= nvox || index[nbv[q]] < 0)
				continue;
			const double gf = harmonic(sv, g->sigma[g->cls[nbv[q]]]) * h;
			A.col[p] = index[nbv[q]];
			A.val[p++] = -gf;
			diag += gf;
		}
		const int64_t pos = coord(g, v, a);
		if (pos == 0) {
			diag += 2.0 * sv * h;
			b[r] = 2.0 * sv * h; /* times the inlet potential, 1 V */
		}
		if (pos == g->n[a] - 1)
			diag += 2.0 * sv * h;
		A.col[self] = r;
		A.val[self] = diag;
	}
	free(index); /* not needed past assembly; the solve is the memory peak */
	index = NULL;
	rc = vb_linsolve_spd(&A, b, phi, opts, st, e);
	if (rc == VB_OK)
		for (int64_t r = 0; r < n; r++) { /* in voxel order */
			const int64_t v = row_voxel[r], pos = coord(g, v, a);
			const double gb = 2.0 * g->sigma[g->cls[v]] * h;
			if (pos == 0)
				*in += gb * (1.0 - phi[r]);
			if (pos == g->n[a] - 1)
				*out += gb * phi[r];
		}
done:
	vb_linsolve_csr_free(&A);
	free(b);
	free(phi);
	free(row_voxel);
	free(index);
	return rc;
}

/* Solves for a region whose classes are set (owns g->cls). */
static int solve_region(region *g, const vb_image *img, const vb_linsolve_opts *opts,
			vb_conduct_result *res, vb_err *e)
{
	const vb_linsolve_opts o = opts ? *opts : vb_linsolve_defaults();
	const int64_t n = keep_paths(g);
	int rc = VB_OK;
	if (n < 0)
		rc = vb_err_set(e, VB_ERR_RUN, "out of memory for %lld voxels", (long long)g->count);
	res->unknowns = n > 0 ? n : 0;
	res->percolates = n > 0;
	double in = 0, out = 0, current = -1;
	if (rc == VB_OK && n > 0) {
		if (o.method == VB_LINSOLVE_MG || o.method == VB_LINSOLVE_AUTO) {
			vb_mg_problem p = {{g->n[0], g->n[1], g->n[2]}, g->cls, {0}, img->voxel_size,
					   g->axis, o.rtol, o.max_iter, o.progress, o.progress_ctx};
			memcpy(p.sigma, g->sigma, sizeof p.sigma);
			vb_mg_result r;
			rc = vb_mg_solve(&p, &r, e);
			in = r.current_in, out = r.current_out, current = r.current;
			res->solver = (vb_linsolve_stats){VB_LINSOLVE_MG, r.iterations, r.residual};
			res->levels = r.levels;
		} else {
			rc = solve_csr(g, img->voxel_size, &o, &in, &out, &res->solver, e);
		}
	}
	free(g->cls);
	if (rc == VB_OK && n > 0) {
		const int a = g->axis, b = (a + 1) % 3, c = (a + 2) % 3;
		const double h = img->voxel_size;
		const double area = (double)g->n[b] * (double)g->n[c] * h * h;
		res->current_density = (current >= 0 ? current : 0.5 * (in + out)) / area;
		res->kappa_eff = (double)g->n[a] * h * res->current_density;
		res->balance = in > 0 ? (in > out ? in - out : out - in) / in : 0;
	}
	return rc;
}

static int region_init(region *g, const vb_image *img, int64_t x0, int64_t x1, int axis,
		       vb_err *e)
{
	if (x0 < 0 || x1 > img->nx || x1 <= x0)
		return vb_err_set(e, VB_ERR_INPUT,
				  "conduction region x in [%lld, %lld) outside 0..%lld",
				  (long long)x0, (long long)x1, (long long)img->nx);
	if (axis < 0 || axis > 2)
		return vb_err_set(e, VB_ERR_INPUT, "conduction axis %d: expected 0, 1 or 2", axis);
	memset(g, 0, sizeof *g);
	g->n[0] = x1 - x0, g->n[1] = img->ny, g->n[2] = img->nz;
	g->s[2] = 1, g->s[1] = g->n[2], g->s[0] = g->n[1] * g->n[2];
	g->count = g->n[0] * g->s[0];
	g->axis = axis;
	g->cls = vb_mg_alloc((size_t)g->count);
	if (g->cls == NULL)
		return vb_err_set(e, VB_ERR_RUN, "out of memory for %lld voxels", (long long)g->count);
	return VB_OK;
}

int vb_conduct_solve_phases(const vb_image *img, const double *phase_sigma, int64_t x0,
			    int64_t x1, int axis, const vb_linsolve_opts *opts,
			    vb_conduct_result *res, vb_err *e)
{
	memset(res, 0, sizeof *res);
	region g;
	int rc = region_init(&g, img, x0, x1, axis, e);
	if (rc != VB_OK)
		return rc;
	uint8_t cls_of[256];
	memset(cls_of, VB_MG_OFF, sizeof cls_of);
	int nclass = 0; /* phases of one conductivity share a class */
	for (int q = 0; q < VB_PHASE_COUNT; q++) {
		if (!(phase_sigma[q] > 0))
			continue;
		int c = 0;
		while (c < nclass && g.sigma[c] != phase_sigma[q])
			c++;
		if (c == nclass)
			g.sigma[nclass++] = phase_sigma[q];
		cls_of[q] = (uint8_t)c;
	}
	const uint8_t *lab = img->labels + x0 * g.s[0];
#pragma omp parallel for schedule(static)
	for (int64_t v = 0; v < g.count; v++)
		g.cls[v] = cls_of[lab[v]];
	return solve_region(&g, img, opts, res, e);
}

int vb_conduct_solve(const vb_image *img, const double *sigma, int64_t x0, int64_t x1, int axis,
		     const vb_linsolve_opts *opts, vb_conduct_result *res, vb_err *e)
{
	memset(res, 0, sizeof *res);
	region g;
	int rc = region_init(&g, img, x0, x1, axis, e);
	if (rc != VB_OK)
		return rc;
	const double *s = sigma + x0 * g.s[0];
	int nclass = 0;
	for (int64_t v = 0; v < g.count; v++) {
		if (!(s[v] > 0)) {
			g.cls[v] = VB_MG_OFF;
			continue;
		}
		int c = 0;
		while (c < nclass && g.sigma[c] != s[v])
			c++;
		if (c == nclass) {
			if (nclass == VB_MG_CLASSES) {
				free(g.cls);
				return vb_err_set(e, VB_ERR_INPUT,
						  "more than %d distinct conductivities",
						  VB_MG_CLASSES);
			}
			g.sigma[nclass++] = s[v];
		}
		g.cls[v] = (uint8_t)c;
	}
	return solve_region(&g, img, opts, res, e);
}
