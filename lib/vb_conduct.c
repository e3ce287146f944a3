/* vb_conduct: finite-volume conduction on voxels and effective conductivity. */
#include "vb_conduct.h"

#include <stdlib.h>
#include <string.h>

enum { FROM_INLET = 1, FROM_OUTLET = 2 };

static inline double harmonic(double a, double b)
{
	return 2.0 * a * b / (a + b);
}

int vb_conduct_solve(const vb_image *img, const double *sigma, int64_t x0, int64_t x1,
		     const vb_linsolve_opts *opts, vb_conduct_result *res, vb_err *e)
{
	memset(res, 0, sizeof *res);
	if (x0 < 0 || x1 > img->nx || x1 <= x0)
		return vb_err_set(e, VB_ERR_INPUT,
				  "conduction region x in [%lld, %lld) outside 0..%lld",
				  (long long)x0, (long long)x1, (long long)img->nx);
	const int64_t nvox = vb_voxel_count(img);
	const int64_t sx = img->ny * img->nz, sy = img->nz;
	const double h = img->voxel_size;
	uint8_t *mark = calloc((size_t)nvox, 1), *pass = calloc((size_t)nvox, 1);
	int64_t *index = malloc((size_t)nvox * sizeof *index);
	if (mark == NULL || pass == NULL || index == NULL) {
		free(mark), free(pass), free(index);
		return vb_err_set(e, VB_ERR_RUN, "out of memory for %lld voxels", (long long)nvox);
	}
	/* Only voxels connected to both faces carry current; index doubles as
	 * the flood-fill queue before it numbers the unknowns. */
	for (int64_t v = 0; v < nvox; v++)
		pass[v] = sigma[v] > 0;
	vb_voxel_flood(img, pass, x0, x1, x0, FROM_INLET, mark, index);
	vb_voxel_flood(img, pass, x0, x1, x1 - 1, FROM_OUTLET, mark, index);
	free(pass);
	int64_t n = 0;
	for (int64_t v = x0 * sx; v < x1 * sx; v++)
		index[v] = mark[v] == (FROM_INLET | FROM_OUTLET) ? n++ : -1;
	free(mark);
	res->unknowns = n;
	if (n == 0) {
		free(index);
		return VB_OK; /* no path: kappa_eff = 0, not an error */
	}
	res->percolates = 1;
	vb_csr A = {n, malloc((size_t)(n + 1) * sizeof(int64_t)), NULL, NULL};
	double *b = calloc((size_t)n, sizeof *b), *phi = calloc((size_t)n, sizeof *phi);
	int64_t *row_voxel = calloc((size_t)n, sizeof *row_voxel);
	int rc = VB_OK;
	if (A.rowptr == NULL || b == NULL || phi == NULL || row_voxel == NULL) {
		rc = vb_err_set(e, VB_ERR_RUN, "out of memory for %lld unknowns", (long long)n);
		goto done;
	}
	for (int64_t v = x0 * sx; v < x1 * sx; v++)
		if (index[v] >= 0)
			row_voxel[index[v]] = v;
	/* Row lengths: the unknown itself and its active neighbours. */
	A.rowptr[0] = 0;
#pragma omp parallel for schedule(static)
	for (int64_t r = 0; r < n; r++) {
		int64_t v = row_voxel[r], i = v / sx, j = (v / sy) % img->ny, k = v % sy;
		int64_t len = 1;
		len += i > x0 && index[v - sx] >= 0;
		len += i < x1 - 1 && index[v + sx] >= 0;
		len += j > 0 && index[v - sy] >= 0;
		len += j < img->ny - 1 && index[v + sy] >= 0;
		len += k > 0 && index[v - 1] >= 0;
		len += k < img->nz - 1 && index[v + 1] >= 0;
		A.rowptr[r + 1] = len;
	}
	for (int64_t r = 0; r < n; r++)
		A.rowptr[r + 1] += A.rowptr[r];
	A.col = malloc((size_t)A.rowptr[n] * sizeof *A.col);
	A.val = malloc((size_t)A.rowptr[n] * sizeof *A.val);
	if (A.col == NULL || A.val == NULL) {
		rc = vb_err_set(e, VB_ERR_RUN, "out of memory for the conduction matrix");
		goto done;
	}
	/* Face conductance sigma_face * h^2 / h; a boundary face is half a voxel
	 * from the centre: 2 sigma h. Columns ascend: i-1, j-1, k-1, self, k+1,
	 * j+1, i+1. */
#pragma omp parallel for schedule(static)
	for (int64_t r = 0; r < n; r++) {
		int64_t v = row_voxel[r], i = v / sx, j = (v / sy) % img->ny, k = v % sy;
		const int64_t nbv[6] = {v - sx, v - sy, v - 1, v + 1, v + sy, v + sx};
		const int has[6] = {i > x0,	     j > 0,	      k > 0,
				    k < img->nz - 1, j < img->ny - 1, i < x1 - 1};
		int64_t p = A.rowptr[r], self = -1;
		double diag = 0;
		for (int q = 0; q < 6; q++) {
			if (q == 3)
				self = p++;
			if (!has[q] || index[nbv[q]] < 0)
				continue;
			double g = harmonic(sigma[v], sigma[nbv[q]]) * h;
			A.col[p] = index[nbv[q]];
			A.val[p++] = -g;
			diag += g;
		}
		if (i == x0) {
			diag += 2.0 * sigma[v] * h;
			b[r] = 2.0 * sigma[v] * h; /* times the inlet potential, 1 V */
		}
		if (i == x1 - 1)
			diag += 2.0 * sigma[v] * h;
		A.col[self] = r;
		A.val[self] = diag;
	}
	free(index); /* not needed past assembly; the solve is the memory peak */
	index = NULL;
	rc = vb_linsolve_spd(&A, b, phi, opts, &res->solver, e);
	if (rc == VB_OK) {
		/* Currents through the two faces, summed in voxel order. */
		double in = 0, out = 0;
		for (int64_t r = 0; r < n; r++) {
			int64_t v = row_voxel[r], i = v / sx;
			if (i == x0)
				in += 2.0 * sigma[v] * h * (1.0 - phi[r]);
			if (i == x1 - 1)
				out += 2.0 * sigma[v] * h * phi[r];
		}
		const double area = (double)img->ny * (double)img->nz * h * h;
		res->current_density = 0.5 * (in + out) / area;
		res->kappa_eff = (double)(x1 - x0) * h * res->current_density;
		res->balance = in > 0 ? (in > out ? in - out : out - in) / in : 0;
	}
done:
	vb_linsolve_csr_free(&A);
	free(b);
	free(phi);
	free(row_voxel);
	free(index);
	return rc;
}
