/* vb_subgrid: geometry and finite-volume laws of the sub-voxel diffusion
 * chains (vb_subgrid.h, docs/solve.md). Fluxes are differences of the
 * Kirchhoff potential Phi(c) = integral of D, so a lithiation-dependent D
 * keeps every flux conservative and exact for a steady profile between two
 * nodes; the Jacobian of a chain is tridiagonal and is factorised without
 * pivoting (it is column diagonally dominant). */
#include "vb_subgrid.h"

#include <math.h>
#include <stdlib.h>

#define FARADAY 96485.33212

/* A chain reaches this fraction of the depth its face can claim (h/2 or h,
 * vb_subgrid.h): short of it, so that the core keeps a volume and a link of
 * its own even when all six faces react (each chain then narrows to
 * (0.1 h)^2 at its end). */
#define DEPTH_FRACTION 0.9

vb_subgrid_opts vb_subgrid_defaults(void)
{
	vb_subgrid_opts o = {24, 1.25, 0, 1};
	return o;
}

int vb_subgrid_check(const vb_subgrid_opts *o, vb_err *e)
{
	if (!(o->cells >= 1 && o->cells <= 64))
		return vb_err_set(e, VB_ERR_INPUT, "sub-voxel cells %d: expected 1 to 64",
				  o->cells);
	if (!(o->ratio >= 1 && o->ratio <= 4))
		return vb_err_set(e, VB_ERR_INPUT, "sub-voxel grading ratio %g: expected 1 to 4",
				  o->ratio);
	if (o->split != 0 && o->split != 1)
		return vb_err_set(e, VB_ERR_INPUT, "sub-voxel law %d: expected 0 or 1", o->split);
	if (o->lateral != 0 && o->lateral != 1)
		return vb_err_set(e, VB_ERR_INPUT, "sub-voxel lateral modes %d: expected 0 or 1",
				  o->lateral);
	return VB_OK;
}

void vb_subgrid_free(vb_subgrid **sp)
{
	if (sp == NULL || *sp == NULL)
		return;
	free((*sp)->vol), free((*sp)->cond), free((*sp)->total);
	free((*sp)->depth), free((*sp)->core_depth), free((*sp)->width);
	free(*sp);
	*sp = NULL;
}

/* Cross-section at depth s of a chain whose lateral axes have m1 and m2
 * reacting faces, and its integral from 0 to s. */
static double section(double h, int m1, int m2, double s)
{
	return (h - m1 * s) * (h - m2 * s);
}

static double section_integral(double h, int m1, int m2, double s)
{
	return h * h * s - 0.5 * h * (m1 + m2) * s * s + (double)(m1 * m2) * s * s * s / 3.0;
}

double vb_subgrid_core_to_face(const vb_subgrid *s, int opposite_cls)
{
	return opposite_cls < 0 || s->superposed ? 0.5 * s->h
						 : 0.5 * (s->h - s->depth[opposite_cls]);
}

vb_subgrid *vb_subgrid_new(double h, const vb_subgrid_opts *o, vb_err *e)
{
	const vb_subgrid_opts opts = o ? *o : vb_subgrid_defaults();
	if (vb_subgrid_check(&opts, e) != VB_OK)
		return NULL;
	const int n = opts.cells, n1 = n + 1, nc = VB_SUBGRID_CLASSES;
	vb_subgrid *s = calloc(1, sizeof *s);
	double *bound = malloc((size_t)n1 * sizeof *bound), *pos = malloc((size_t)n1 * sizeof *pos);
	if (s == NULL || bound == NULL || pos == NULL ||
	    (s->vol = malloc((size_t)(nc * n1) * sizeof *s->vol)) == NULL ||
	    (s->cond = malloc((size_t)(nc * n1) * sizeof *s->cond)) == NULL ||
	    (s->total = malloc(nc * sizeof *s->total)) == NULL ||
	    (s->depth = malloc(nc * sizeof *s->depth)) == NULL ||
	    (s->core_depth = malloc(nc * sizeof *s->core_depth)) == NULL ||
	    (s->width = malloc((size_t)(nc * n1) * sizeof *s->width)) == NULL) {
		free(bound), free(pos);
		vb_subgrid_free(&s);
		vb_err_set(e, VB_ERR_RUN, "out of memory for the sub-voxel geometry");
		return NULL;
	}
	s->n = n, s->h = h, s->superposed = !opts.split;
	const double r = opts.ratio;
	for (int k1 = 0; k1 <= 2; k1++)
		for (int k2 = 0; k2 <= 2; k2++)
			for (int opp = 0; opp <= 1; opp++) {
				const int c = vb_subgrid_class(k1, k2, opp);
				int m1 = k1, m2 = k2;
				const double claim = opp || m1 == 2 || m2 == 2 ? 0.5 * h : h;
				double depth = DEPTH_FRACTION * claim;
				if (s->superposed) {
					/* the whole cross-section, to the middle of the voxel
					 * when the opposite face reacts, else through it */
					m1 = 0, m2 = 0;
					depth = opp ? 0.5 * h : h;
				}
				s->depth[c] = depth;
				s->core_depth[c] = opp ? 0.5 * h : 0.5 * (depth + h);
				/* geometric widths w_k = w_1 r^(k-1) summing to the depth */
				const double w1 =
					r == 1 ? depth / n : depth * (r - 1) / (pow(r, n) - 1);
				bound[0] = 0, pos[0] = 0;
				double w = w1, *width = s->width + c * n1;
				width[0] = 0;
				for (int k = 1; k <= n; k++, w *= r) {
					bound[k] = k == n ? depth : bound[k - 1] + w;
					pos[k] = 0.5 * (bound[k - 1] + bound[k]);
					width[k] = bound[k] - bound[k - 1];
				}
				double *vol = s->vol + c * n1, *cond = s->cond + c * n1;
				vol[0] = 0;
				for (int k = 1; k <= n; k++)
					vol[k] = section_integral(h, m1, m2, bound[k]) -
						 section_integral(h, m1, m2, bound[k - 1]);
				for (int j = 0; j < n; j++)
					cond[j] = section(h, m1, m2, bound[j]) /
						  (pos[j + 1] - pos[j]);
				/* superposed: no flux through the chain's end (its
				 * deviations sum to zero there) */
				cond[n] = s->superposed ? 0
							: section(h, m1, m2, depth) /
								  (s->core_depth[c] - pos[n]);
				s->total[c] = section_integral(h, m1, m2, depth);
			}
	free(bound), free(pos);
	return s;
}

double vb_subgrid_share(const vb_subgrid *s, int cls, int j)
{
	return s->vol[cls * (s->n + 1) + j] / s->total[cls];
}

double vb_subgrid_residual(const vb_subgrid *s, int cls, const double *phi, double phi_q,
			   double dc_q, const double *c, const double *c_old, double F_dt,
			   double i_face, double i_back, const double *w, const double *a_st,
			   double *R)
{
	const int n = s->n;
	const double *vol = s->vol + cls * (n + 1), *cond = s->cond + cls * (n + 1);
	if (s->superposed) {
		/* the deviations' balance: the face's uptake -i_face goes to the
		 * core, each cell handing on its share */
		const double sink = -(i_face + i_back) / s->total[cls];
		double flux_in = 0;
		for (int j = 0; j <= n; j++) {
			const double flux_out =
				j < n ? FARADAY * cond[j] * (phi[j] - phi[j + 1]) : 0;
			const double cj = c[j] * (1 + (a_st != NULL ? a_st[j] : 0));
			const double wj = w != NULL ? w[j] : 1;
			R[j] = F_dt * vol[j] * (cj - (c_old != NULL ? c_old[j] : 0) - wj * dc_q) +
			       flux_out - flux_in + wj * vol[j] * sink;
			flux_in = flux_out;
		}
		R[0] += i_face, R[n] += i_back;
		return -i_face;
	}
	double flux_in = 0; /* current F x Li entering node j from the surface side */
	for (int j = 0; j <= n; j++) {
		const double flux_out = FARADAY * cond[j] * (phi[j] - (j < n ? phi[j + 1] : phi_q));
		R[j] = F_dt * vol[j] * (c[j] - (c_old != NULL ? c_old[j] : 0)) + flux_out - flux_in;
		flux_in = flux_out;
	}
	R[0] += i_face;
	return flux_in;
}

/* LU of a tridiagonal matrix in place: lu[3j] the multiplier of row j (sub
 * diagonal over the previous pivot), lu[3j + 1] the reciprocal of the
 * pivot, lu[3j + 2] the super diagonal. On entry lu holds (sub, diag,
 * super) of each row. */
static void tridiag_factor(int n, double *lu)
{
	lu[1] = 1 / lu[1];
	for (int j = 1; j <= n; j++) {
		const double m = lu[3 * j] * lu[3 * (j - 1) + 1];
		lu[3 * j] = m;
		lu[3 * j + 1] = 1 / (lu[3 * j + 1] - m * lu[3 * (j - 1) + 2]);
	}
}

void vb_subgrid_solve(int n, const double *lu, const double *r, double *x)
{
	x[0] = r[0];
	for (int j = 1; j <= n; j++)
		x[j] = r[j] - lu[3 * j] * x[j - 1];
	x[n] *= lu[3 * n + 1];
	for (int j = n - 1; j >= 0; j--)
		x[j] = (x[j] - lu[3 * j + 2] * x[j + 1]) * lu[3 * j + 1];
}

/* The chain's tridiagonal block without the face's derivative, into lu
 * (rows of sub, diagonal, super). */
static void chain_block(const vb_subgrid *s, int cls, const double *d, double F_dt,
			const double *g_side, const double *a_st, double *lu)
{
	const int n = s->n;
	const double *vol = s->vol + cls * (n + 1), *cond = s->cond + cls * (n + 1);
	for (int j = 0; j <= n; j++) {
		const double g_in = j > 0 ? FARADAY * cond[j - 1] : 0, g_out = FARADAY * cond[j];
		lu[3 * j] = j > 0 ? -g_in * d[j - 1] : 0; /* d R_j / d c_(j-1) */
		lu[3 * j + 1] = F_dt * vol[j] * (1 + (a_st != NULL ? a_st[j] : 0)) +
				(g_in + g_out + (g_side ? g_side[j] : 0)) * d[j];
		lu[3 * j + 2] = j < n ? -g_out * d[j + 1] : 0; /* d R_j / d c_(j+1) */
	}
}

void vb_subgrid_factor_superposed(const vb_subgrid *s, int cls, const double *d, double F_dt,
				  double a_face, const double *g_side, const double *w,
				  const double *a_st, const double *b, double *lu, double *y,
				  vb_subgrid_coupling *k)
{
	const int n = s->n;
	const double *vol = s->vol + cls * (n + 1);
	double a[65] = {0};
	for (int j = 0; j <= n; j++)
		a[j] = a_st != NULL ? fmax(a_st[j], 0) : 0;
	chain_block(s, cls, d, F_dt, g_side, a, lu);
	/* the surface node has no volume: T0 is still regular there, its link
	 * to the first cell holding it (n >= 1) */
	tridiag_factor(n, lu);
	double u[65] = {0}, x[65] = {0};
	for (int j = 0; j <= n; j++)
		u[j] = (j == 0) - (w != NULL ? w[j] : 1) * vol[j] / s->total[cls];
	vb_subgrid_solve(n, lu, u, y);
	vb_subgrid_solve(n, lu, b, x);
	const double den = 1 + a_face * y[0];
	k->a = a_face;
	k->sm = a_face / den;
	k->s00 = y[0] / den;
	k->s0q = x[0] / den;
}

void vb_subgrid_factor_mode(const vb_subgrid *s, int cls, const double *d, double F_dt, double k2,
			    double *lu)
{
	const int n = s->n;
	const double *vol = s->vol + cls * (n + 1), *cond = s->cond + cls * (n + 1);
	for (int j = 0; j <= n; j++) {
		const double g_in = j > 0 ? FARADAY * cond[j - 1] * 0.5 * (d[j - 1] + d[j]) : 0;
		const double g_out = j < n ? FARADAY * cond[j] * 0.5 * (d[j] + d[j + 1]) : 0;
		lu[3 * j] = -g_in;
		lu[3 * j + 1] = vol[j] * (F_dt + FARADAY * d[j] * k2) + g_in + g_out;
		lu[3 * j + 2] = -g_out;
	}
	tridiag_factor(n, lu);
}

double vb_subgrid_near_fraction(const vb_subgrid *s, int cls, int j)
{
	const double *width = s->width + cls * (s->n + 1);
	double lo = 0;
	for (int k = 1; k < j; k++)
		lo += width[k];
	if (j == 0 || width[j] <= 0)
		return 0;
	const double hi = lo + width[j], half = 0.5 * s->h;
	return hi <= half ? 1 : lo >= half ? 0 : (half - lo) / width[j];
}

void vb_subgrid_solve_superposed(int n, const double *lu, const double *y, double sm,
				 const double *r, double *x)
{
	vb_subgrid_solve(n, lu, r, x);
	const double f = sm * x[0];
	for (int j = 0; j <= n; j++)
		x[j] -= f * y[j];
}

void vb_subgrid_factor(const vb_subgrid *s, int cls, const double *d, double d_q, double F_dt,
		       double a_face, const double *g_side, double *lu, vb_subgrid_coupling *k,
		       double *col_n)
{
	const int n = s->n;
	const double *cond = s->cond + cls * (n + 1);
	chain_block(s, cls, d, F_dt, g_side, NULL, lu);
	lu[1] += a_face;
	tridiag_factor(n, lu);
	const double g_n = FARADAY * cond[n];
	k->r_n_cq = -g_n * d_q;
	k->r_q_cn = -g_n * d[n];
	k->r_q_cq = g_n * d_q;
	/* two columns of T^-1: the responses to a unit source at the surface and
	 * at the last node. n + 1 <= 65 values on the stack. */
	double e[65] = {0}, x[65] = {0};
	e[0] = 1;
	vb_subgrid_solve(n, lu, e, x);
	k->z00 = x[0], k->zn0 = x[n];
	e[0] = 0, e[n] = 1;
	vb_subgrid_solve(n, lu, e, x);
	k->z0n = x[0], k->znn = x[n];
	if (col_n != NULL)
		for (int j = 0; j <= n; j++)
			col_n[j] = x[j];
}
