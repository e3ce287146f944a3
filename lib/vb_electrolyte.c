/* vb_electrolyte: concentrated-solution transport of a liquid electrolyte
 * between voxels (vb_electrolyte.h, docs/solve.md). */
#include "vb_electrolyte.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FARADAY 96485.33212
#define GAS_R 8.314462618

struct vb_electrolyte {
	const vb_params *p;
	int64_t n, nf;
	double h, vol, ce0, two_rt_f;
	int64_t *voxel, *row; /* n */
	double *eps, *fac;    /* n: porosity (storage) and transport factor */
	int64_t *fa, *fb;     /* nf: the two unknowns of each face */
	int64_t *inc;	      /* 6 n: 2 f + side of each face of an unknown, -1 for none */
	/* at the last eval, per unknown: kappa_eff, D_eff, t+, beta and their
	 * derivatives in c_e */
	double *kap, *dkap, *dif, *ddif, *tp, *dtp, *beta, *dbeta;
	/* per face: G, D_f, t_f, I, FN and the derivatives of I and FN in c_a, c_b */
	double *G, *Df, *tf, *I, *FN, *Ia, *Ib, *Na, *Nb;
	double *dI, *dN; /* nf: apply workspace */
	vb_csr S;	 /* the Schur approximation; S.val[pos] of face f's entries */
	int64_t *pos_ab, *pos_ba, *diag;
	vb_linsolve_kept amg; /* S's hierarchy */
};

/* Harmonic mean of two effective coefficients and its derivative in the first. */
static double harmonic(double s1, double s2)
{
	return s1 + s2 > 0 ? 2.0 * s1 * s2 / (s1 + s2) : 0.0;
}

static double dharmonic(double s1, double s2)
{
	return s1 + s2 > 0 ? 2.0 * s2 * s2 / ((s1 + s2) * (s1 + s2)) : 0.0;
}

void vb_electrolyte_free(vb_electrolyte **elp)
{
	if (elp == NULL || *elp == NULL)
		return;
	vb_electrolyte *el = *elp;
	free(el->voxel), free(el->row), free(el->eps), free(el->fac), free(el->fa), free(el->fb);
	free(el->inc);
	free(el->kap), free(el->dkap), free(el->dif), free(el->ddif), free(el->tp), free(el->dtp);
	free(el->beta), free(el->dbeta);
	free(el->G), free(el->Df), free(el->tf), free(el->I), free(el->FN), free(el->Ia);
	free(el->Ib), free(el->Na), free(el->Nb), free(el->dI), free(el->dN);
	vb_linsolve_csr_free(&el->S);
	free(el->pos_ab), free(el->pos_ba), free(el->diag);
	vb_linsolve_kept_free(&el->amg);
	free(el);
	*elp = NULL;
}

/* Sorts the n < 8 column entries (col, face code) of one row ascending. */
static void sort_row(int64_t *col, int64_t *code, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && col[j - 1] > col[j]; j--) {
			int64_t t = col[j];
			col[j] = col[j - 1], col[j - 1] = t;
			t = code[j], code[j] = code[j - 1], code[j - 1] = t;
		}
}

static int build_schur(vb_electrolyte *el, vb_err *e)
{
	const int64_t n = el->n;
	el->S.n = n;
	el->S.rowptr = calloc((size_t)n + 1, sizeof *el->S.rowptr);
	el->diag = malloc((size_t)(n + 1) * sizeof *el->diag);
	el->pos_ab = malloc((size_t)(el->nf + 1) * sizeof *el->pos_ab);
	el->pos_ba = malloc((size_t)(el->nf + 1) * sizeof *el->pos_ba);
	if (!el->S.rowptr || !el->diag || !el->pos_ab || !el->pos_ba)
		return vb_err_set(e, VB_ERR_RUN, "out of memory for the electrolyte's matrix");
	for (int64_t k = 0; k < n; k++) {
		int64_t len = 1;
		for (int d = 0; d < 6; d++)
			len += el->inc[6 * k + d] >= 0;
		el->S.rowptr[k + 1] = el->S.rowptr[k] + len;
	}
	const int64_t nnz = el->S.rowptr[n];
	el->S.col = malloc((size_t)nnz * sizeof *el->S.col);
	el->S.val = calloc((size_t)nnz, sizeof *el->S.val);
	if (!el->S.col || !el->S.val)
		return vb_err_set(e, VB_ERR_RUN, "out of memory for the electrolyte's matrix");
	for (int64_t k = 0; k < n; k++) {
		int64_t col[7], code[7];
		int len = 0;
		col[len] = k, code[len++] = -1;
		for (int d = 0; d < 6; d++) {
			const int64_t c = el->inc[6 * k + d];
			if (c < 0)
				continue;
			const int64_t f = c >> 1;
			col[len] = (c & 1) ? el->fa[f] : el->fb[f], code[len++] = c;
		}
		sort_row(col, code, len);
		for (int j = 0; j < len; j++) {
			const int64_t q = el->S.rowptr[k] + j;
			el->S.col[q] = col[j];
			if (code[j] < 0)
				el->diag[k] = q;
			else if (code[j] & 1)
				el->pos_ba[code[j] >> 1] = q;
			else
				el->pos_ab[code[j] >> 1] = q;
		}
	}
	return VB_OK;
}

vb_electrolyte *vb_electrolyte_new(const vb_image *g, const vb_params *p, const int64_t *unknown,
				   const int64_t *row, int64_t n, vb_err *e)
{
	vb_electrolyte *el = calloc(1, sizeof *el);
	if (el == NULL) {
		vb_err_set(e, VB_ERR_RUN, "out of memory");
		return NULL;
	}
	el->p = p;
	el->n = n;
	el->h = g->voxel_size;
	el->vol = el->h * el->h * el->h;
	el->ce0 = vb_params_get(p, "electrolyte.c_init");
	el->two_rt_f = 2.0 * GAS_R * vb_params_get(p, "cell.temperature") / FARADAY;
	const size_t sn = (size_t)(n + 1);
	el->voxel = malloc(sn * sizeof *el->voxel);
	el->row = malloc(sn * sizeof *el->row);
	el->eps = malloc(sn * sizeof *el->eps);
	el->fac = malloc(sn * sizeof *el->fac);
	el->inc = malloc(6 * sn * sizeof *el->inc);
	double **per_unknown[] = {&el->kap, &el->dkap, &el->dif,  &el->ddif,
				  &el->tp,  &el->dtp,  &el->beta, &el->dbeta};
	int ok = el->voxel && el->row && el->eps && el->fac && el->inc;
	for (size_t a = 0; a < sizeof per_unknown / sizeof *per_unknown; a++)
		ok = ok && (*per_unknown[a] = calloc(sn, sizeof(double))) != NULL;
	if (!ok) {
		vb_electrolyte_free(&el);
		vb_err_set(e, VB_ERR_RUN, "out of memory for %lld electrolyte voxels",
			   (long long)n);
		return NULL;
	}
	const int64_t nvox = vb_voxel_count(g);
	const double eps_sep = vb_params_get(p, "separator.porosity");
	const double fac_sep = vb_params_get(p, "separator.conductivity_factor");
	const double eps_cbd = vb_params_get(p, "cbd.porosity");
	const double fac_cbd = vb_params_get(p, "cbd.conductivity_factor");
	int64_t nf = 0;
	for (int64_t v = 0; v < nvox; v++) {
		const int64_t k = unknown[v];
		if (k < 0)
			continue;
		el->voxel[k] = v, el->row[k] = row[v];
		switch (g->labels[v]) {
		case VB_PHASE_ELECTROLYTE: el->eps[k] = 1, el->fac[k] = 1; break;
		case VB_PHASE_SEPARATOR: el->eps[k] = eps_sep, el->fac[k] = fac_sep; break;
		case VB_PHASE_CBD: el->eps[k] = eps_cbd, el->fac[k] = fac_cbd; break;
		default: {
			const int64_t kz = v % g->nz, j = (v / g->nz) % g->ny,
				      i = v / (g->nz * g->ny);
			vb_err_set(e, VB_ERR_INPUT,
				   "internal: voxel (%lld, %lld, %lld) (%s) has no electrolyte",
				   (long long)i, (long long)j, (long long)kz,
				   vb_voxel_phase_name(g->labels[v]));
			vb_electrolyte_free(&el);
			return NULL;
		}
		}
		const int64_t kz = v % g->nz, j = (v / g->nz) % g->ny, i = v / (g->nz * g->ny);
		nf += kz + 1 < g->nz && unknown[v + 1] >= 0;
		nf += j + 1 < g->ny && unknown[v + g->nz] >= 0;
		nf += i + 1 < g->nx && unknown[v + g->nz * g->ny] >= 0;
	}
	el->nf = nf;
	const size_t sf = (size_t)(nf + 1);
	el->fa = malloc(sf * sizeof *el->fa);
	el->fb = malloc(sf * sizeof *el->fb);
	double **per_face[] = {&el->G,	&el->Df, &el->tf, &el->I,  &el->FN, &el->Ia,
			       &el->Ib, &el->Na, &el->Nb, &el->dI, &el->dN};
	ok = el->fa && el->fb;
	for (size_t a = 0; a < sizeof per_face / sizeof *per_face; a++)
		ok = ok && (*per_face[a] = calloc(sf, sizeof(double))) != NULL;
	if (!ok) {
		vb_electrolyte_free(&el);
		vb_err_set(e, VB_ERR_RUN, "out of memory for %lld electrolyte faces",
			   (long long)nf);
		return NULL;
	}
	for (int64_t q = 0; q < 6 * n; q++)
		el->inc[q] = -1;
	/* faces in the order of their first unknown's voxel, then +z, +y, +x;
	 * slots of inc: 0-2 towards -z, -y, -x, 3-5 towards +z, +y, +x */
	int64_t f = 0;
	for (int64_t v = 0; v < nvox; v++) {
		const int64_t k = unknown[v];
		if (k < 0)
			continue;
		const int64_t kz = v % g->nz, j = (v / g->nz) % g->ny, i = v / (g->nz * g->ny);
		const int64_t up[3] = {kz + 1 < g->nz ? v + 1 : -1, j + 1 < g->ny ? v + g->nz : -1,
				       i + 1 < g->nx ? v + g->nz * g->ny : -1};
		for (int d = 0; d < 3; d++) {
			if (up[d] < 0 || unknown[up[d]] < 0)
				continue;
			const int64_t kb = unknown[up[d]];
			el->fa[f] = k, el->fb[f] = kb;
			el->inc[6 * k + 3 + d] = 2 * f;
			el->inc[6 * kb + d] = 2 * f + 1;
			f++;
		}
	}
	if (build_schur(el, e) != VB_OK) {
		vb_electrolyte_free(&el);
		return NULL;
	}
	return el;
}

int64_t vb_electrolyte_count(const vb_electrolyte *el)
{
	return el->n;
}

int64_t vb_electrolyte_faces(const vb_electrolyte *el)
{
	return el->nf;
}

int64_t vb_electrolyte_voxel(const vb_electrolyte *el, int64_t k)
{
	return el->voxel[k];
}

int64_t vb_electrolyte_row(const vb_electrolyte *el, int64_t k)
{
	return el->row[k];
}

void vb_electrolyte_face_ends(const vb_electrolyte *el, int64_t f, int64_t *a, int64_t *b)
{
	*a = el->fa[f], *b = el->fb[f];
}

double vb_electrolyte_c_init(const vb_electrolyte *el)
{
	return el->ce0;
}

double vb_electrolyte_inventory(const vb_electrolyte *el, const double *ce)
{
	double s = 0; /* serial: the same value on any thread count */
	for (int64_t k = 0; k < el->n; k++)
		s += el->eps[k] * ce[k];
	return s * el->vol;
}

void vb_electrolyte_eval(vb_electrolyte *el, const double *phi, const double *ce)
{
	const vb_params *p = el->p;
#pragma omp parallel for schedule(static)
	for (int64_t k = 0; k < el->n; k++) {
		const double c = ce[k], fk = el->fac[k];
		double d;
		el->kap[k] = fk * vb_params_eval_with_derivative(p, "electrolyte.conductivity", c, &d);
		el->dkap[k] = fk * d;
		el->dif[k] = fk * vb_params_eval_with_derivative(p, "electrolyte.diffusivity", c, &d);
		el->ddif[k] = fk * d;
		double dtr, dtdf;
		const double t = vb_params_eval_with_derivative(p, "electrolyte.transference", c, &dtr);
		const double tdf = vb_params_eval_with_derivative(
			p, "electrolyte.thermodynamic_factor", c, &dtdf);
		el->tp[k] = t, el->dtp[k] = dtr;
		el->beta[k] = el->two_rt_f * (1 - t) * tdf;
		el->dbeta[k] = el->two_rt_f * (-dtr * tdf + (1 - t) * dtdf);
	}
	const double h = el->h;
#pragma omp parallel for schedule(static)
	for (int64_t f = 0; f < el->nf; f++) {
		const int64_t a = el->fa[f], b = el->fb[f];
		const double ca = ce[a], cb = ce[b];
		const double G = h * harmonic(el->kap[a], el->kap[b]);
		const double Ga = h * dharmonic(el->kap[a], el->kap[b]) * el->dkap[a];
		const double Gb = h * dharmonic(el->kap[b], el->kap[a]) * el->dkap[b];
		const double D = harmonic(el->dif[a], el->dif[b]);
		const double Da = dharmonic(el->dif[a], el->dif[b]) * el->ddif[a];
		const double Db = dharmonic(el->dif[b], el->dif[a]) * el->ddif[b];
		const double tf = 0.5 * (el->tp[a] + el->tp[b]);
		const double bf = 0.5 * (el->beta[a] + el->beta[b]);
		const double dl = log(ca) - log(cb);
		const double drive = phi[el->row[a]] - phi[el->row[b]] - bf * dl;
		const double I = G * drive;
		const double Ia = Ga * drive - G * (0.5 * el->dbeta[a] * dl + bf / ca);
		const double Ib = Gb * drive - G * (0.5 * el->dbeta[b] * dl - bf / cb);
		el->G[f] = G, el->Df[f] = D, el->tf[f] = tf, el->I[f] = I;
		el->FN[f] = FARADAY * h * D * (ca - cb) + tf * I;
		el->Ia[f] = Ia, el->Ib[f] = Ib;
		el->Na[f] = FARADAY * h * (Da * (ca - cb) + D) + 0.5 * el->dtp[a] * I + tf * Ia;
		el->Nb[f] = FARADAY * h * (Db * (ca - cb) - D) + 0.5 * el->dtp[b] * I + tf * Ib;
	}
}

double vb_electrolyte_conductance(const vb_electrolyte *el, int64_t f)
{
	return el->G[f];
}

double vb_electrolyte_face_current(const vb_electrolyte *el, int64_t k, int d)
{
	const int64_t c = el->inc[6 * k + d];
	if (c < 0)
		return NAN;
	return (c & 1) ? -el->I[c >> 1] : el->I[c >> 1];
}

/* Per unknown k: the sums of u (out of k, +) over its faces into *su and of
 * w into *sw. */
static void gather(const vb_electrolyte *el, int64_t k, const double *u, const double *w,
		   double *su, double *sw)
{
	double a = 0, b = 0;
	for (int d = 0; d < 6; d++) {
		const int64_t c = el->inc[6 * k + d];
		if (c < 0)
			continue;
		const double s = (c & 1) ? -1.0 : 1.0;
		a += s * u[c >> 1], b += s * w[c >> 1];
	}
	*su = a, *sw = b;
}

void vb_electrolyte_residual(const vb_electrolyte *el, const double *ce, const double *ce_old,
			     double dt, double *Rp, double *Re)
{
	const double m = FARADAY * el->vol / dt;
#pragma omp parallel for schedule(static)
	for (int64_t k = 0; k < el->n; k++) {
		double si, sn;
		gather(el, k, el->I, el->FN, &si, &sn);
		Rp[el->row[k]] += si;
		Re[k] = m * el->eps[k] * (ce[k] - ce_old[k]) + sn;
	}
}

void vb_electrolyte_apply(vb_electrolyte *el, double dt, const double *xp, const double *xe,
			  double *yp, double *ye, int conductances)
{
#pragma omp parallel for schedule(static)
	for (int64_t f = 0; f < el->nf; f++) {
		double di = 0, dn = 0;
		if (xp != NULL) {
			const double dv = xp[el->row[el->fa[f]]] - xp[el->row[el->fb[f]]];
			di = conductances ? el->G[f] * dv : 0.0, dn = el->tf[f] * el->G[f] * dv;
		}
		if (xe != NULL) {
			const double xa = xe[el->fa[f]], xb = xe[el->fb[f]];
			di += el->Ia[f] * xa + el->Ib[f] * xb;
			dn += el->Na[f] * xa + el->Nb[f] * xb;
		}
		el->dI[f] = di, el->dN[f] = dn;
	}
	const double m = FARADAY * el->vol / dt;
#pragma omp parallel for schedule(static)
	for (int64_t k = 0; k < el->n; k++) {
		double si, sn;
		gather(el, k, el->dI, el->dN, &si, &sn);
		if (yp != NULL)
			yp[el->row[k]] += si;
		ye[k] += sn + (xe != NULL ? m * el->eps[k] * xe[k] : 0.0);
	}
}

void vb_electrolyte_prepare(vb_electrolyte *el, double dt)
{
	const double m = FARADAY * el->vol / dt, fh = FARADAY * el->h;
#pragma omp parallel for schedule(static)
	for (int64_t f = 0; f < el->nf; f++)
		el->S.val[el->pos_ab[f]] = el->S.val[el->pos_ba[f]] = -fh * el->Df[f];
#pragma omp parallel for schedule(static)
	for (int64_t k = 0; k < el->n; k++) {
		double s = m * el->eps[k];
		for (int d = 0; d < 6; d++) {
			const int64_t c = el->inc[6 * k + d];
			if (c >= 0)
				s += fh * el->Df[c >> 1];
		}
		el->S.val[el->diag[k]] = s;
	}
	el->amg.changed = 1;
}

int vb_electrolyte_solve(vb_electrolyte *el, const double *b, double *x, double rtol,
			 int64_t rebuild, vb_linsolve_stats *stats, int64_t *setups, vb_err *e)
{
	vb_linsolve_kept_check(&el->amg, rebuild);
	const int64_t built = el->amg.setups;
	int rc = vb_linsolve_kept_pcg(&el->amg, &el->S, b, x, rtol, 200, stats, e);
	if (setups != NULL)
		*setups += el->amg.setups - built;
	return rc;
}

double vb_electrolyte_rounding(const vb_electrolyte *el, const double *ce, double dt)
{
	const double m = FARADAY * el->vol / dt, fh = FARADAY * el->h;
	double s = 0;
	for (int64_t k = 0; k < el->n; k++) {
		const double t = m * el->eps[k] * ce[k];
		s += t * t;
	}
	for (int64_t f = 0; f < el->nf; f++) {
		const double t = fh * el->Df[f] * fmax(ce[el->fa[f]], ce[el->fb[f]]);
		s += t * t + el->tf[f] * el->I[f] * el->tf[f] * el->I[f];
	}
	return s;
}
