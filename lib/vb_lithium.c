/* vb_lithium: cores, reacting chains and link chains of the CAM (vb_lithium.h).
 * Chain t's nodes sit at c[off[t] ..], node 0 at the face it starts from: a
 * reacting chain's surface node (its source the Butler-Volmer current), a
 * link chain's junction with the core of the voxel across the face (its
 * source the Li flowing from there). Every flux is a difference of the
 * Kirchhoff potential Phi(c) (vb_cam), so Li is conserved link by link. */
#include "vb_lithium.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vb_linsolve.h"

#define FARADAY 96485.33212

/* Link chains: cells and growth. They carry the grading of a reacting chain
 * (whose last cells are about 0.15 h) on to the voxel scale one voxel deeper
 * (docs/solve.md measures what the abrupt step to h costs without them). */
#define LINK_CELLS 6
#define LINK_RATIO 1.5

struct vb_lithium {
	int64_t nx, ny, nz, nc;
	double h, vol;
	const vb_cam *law;
	vb_subgrid *sg, *sgl;	  /* reacting and link chain geometry */
	int64_t nf, nlk, nch, nstate; /* reacting, link, all chains; state length */
	int64_t *voxel;		  /* nc: voxel of each core */
	uint8_t *active;	  /* nc: faces owning a chain (reacting, or link faces) */
	int64_t *ch_core, *ch_off; /* nch: inner core, offset of node 0 in c */
	uint8_t *ch_cls;	   /* nch: vb_subgrid class */
	int64_t *lk_out;	   /* nlk: the core across the face */
	double *lk_g;		   /* nlk: F x area / length from that core's node to the face */
	int64_t *lk_kin, *lk_kout; /* nlk: positions (inner, outer), (outer, inner) in K */
	double *v_core;		   /* nc: core volume, m^3 */
	int64_t *cf_ptr, *cf;	   /* per core: chains whose inner core it is */
	int64_t *co_ptr, *co;	   /* per core: link chains whose outer core it is */
	vb_csr K;		   /* F area/length weighted Laplacian of the cores */
	vb_csr P;		   /* the preconditioner's core block in w = D c */
	double *lu;		   /* 3 values per chain node */
	vb_subgrid_coupling *cpl;  /* nch */
	double *flux;		   /* nch: F x Li from each chain into its inner core, A */
	double *src0;		   /* nlk: F x Li from a link chain's node 0 into its outer core */
	double *a_in;		   /* nch: part of the inner core's condensed diagonal */
	double *a_out;		   /* nlk: part of the outer core's condensed diagonal */
	double *c_oi, *c_io;	   /* nlk: condensed (outer row, inner col), (inner, outer) */
	double *l0, *m0;	   /* nlk: d R_0 / d c_out, d R_out / d c_0 */
	double *u0, *un;	   /* nch: chain solves of a right-hand side */
	double *d_core, *phi_core, *diag_extra, *D_q, *wq;
	double dt;
};

static const vb_subgrid *geometry(const vb_lithium *L, int64_t t)
{
	return t < L->nf ? L->sg : L->sgl;
}

void vb_lithium_free(vb_lithium **Lp)
{
	if (Lp == NULL || *Lp == NULL)
		return;
	vb_lithium *L = *Lp;
	vb_subgrid_free(&L->sg), vb_subgrid_free(&L->sgl);
	free(L->voxel), free(L->active), free(L->ch_core), free(L->ch_off), free(L->ch_cls);
	free(L->lk_out), free(L->lk_g), free(L->lk_kin), free(L->lk_kout), free(L->v_core);
	free(L->cf_ptr), free(L->cf), free(L->co_ptr), free(L->co);
	vb_linsolve_csr_free(&L->K);
	free(L->P.val);
	free(L->lu), free(L->cpl), free(L->flux), free(L->src0), free(L->a_in), free(L->a_out);
	free(L->c_oi), free(L->c_io), free(L->l0), free(L->m0), free(L->u0), free(L->un);
	free(L->d_core), free(L->phi_core), free(L->diag_extra), free(L->D_q), free(L->wq);
	free(L);
	*Lp = NULL;
}

/* The 6 face neighbours of voxel v (-x, -y, -z, +z, +y, +x; -1 outside). */
static void neighbours(const vb_lithium *L, int64_t v, int64_t nb[6])
{
	const int64_t k = v % L->nz, j = (v / L->nz) % L->ny, i = v / (L->nz * L->ny);
	const vb_image g = {L->nx, L->ny, L->nz, L->h, NULL};
	nb[0] = i > 0 ? vb_voxel_index(&g, i - 1, j, k) : -1;
	nb[1] = j > 0 ? vb_voxel_index(&g, i, j - 1, k) : -1;
	nb[2] = k > 0 ? vb_voxel_index(&g, i, j, k - 1) : -1;
	nb[3] = k < L->nz - 1 ? vb_voxel_index(&g, i, j, k + 1) : -1;
	nb[4] = j < L->ny - 1 ? vb_voxel_index(&g, i, j + 1, k) : -1;
	nb[5] = i < L->nx - 1 ? vb_voxel_index(&g, i + 1, j, k) : -1;
}

/* Class of the chain of core q on its active face d (vb_subgrid.h). */
static int chain_class(uint8_t active, int d)
{
	static const int axis_of[6] = {0, 1, 2, 2, 1, 0};
	int count[3] = {0, 0, 0};
	for (int k = 0; k < 6; k++)
		if (axis_of[k] != axis_of[d] && (active >> k & 1))
			count[axis_of[k]]++;
	int lat[2], n = 0;
	for (int a = 0; a < 3; a++)
		if (a != axis_of[d])
			lat[n++] = count[a];
	return vb_subgrid_class(lat[0], lat[1], active >> (5 - d) & 1);
}

/* Distance from core q's node to its face d that owns no chain. */
static double core_to_face(const vb_lithium *L, const uint8_t *react, int64_t q, int d)
{
	const int o = 5 - d;
	const vb_subgrid *s = react[q] ? L->sg : L->sgl;
	return vb_subgrid_core_to_face(s, L->active[q] >> o & 1 ? chain_class(L->active[q], o) : -1);
}

static int64_t find_pos(const vb_csr *A, int64_t r, int64_t col)
{
	for (int64_t q = A->rowptr[r]; q < A->rowptr[r + 1]; q++)
		if (A->col[q] == col)
			return q;
	return -1;
}

#define ALLOC(p, n) ((p) = calloc((size_t)(n) + 1, sizeof *(p))) /* + 1: never 0 bytes */

vb_lithium *vb_lithium_new(const vb_image *img, const int64_t *core, int64_t n_cores,
			   const uint8_t *react, const vb_cam *law, const vb_subgrid_opts *sub,
			   vb_err *e)
{
	vb_lithium *L = calloc(1, sizeof *L);
	if (L == NULL) {
		vb_err_set(e, VB_ERR_RUN, "out of memory");
		return NULL;
	}
	const vb_subgrid_opts link = {LINK_CELLS, LINK_RATIO};
	L->nx = img->nx, L->ny = img->ny, L->nz = img->nz, L->nc = n_cores;
	L->h = img->voxel_size, L->vol = L->h * L->h * L->h;
	L->law = law;
	if ((L->sg = vb_subgrid_new(L->h, sub, e)) == NULL ||
	    (L->sgl = vb_subgrid_new(L->h, &link, e)) == NULL) {
		vb_lithium_free(&L);
		return NULL;
	}
	const int64_t nc = n_cores, nvox = vb_voxel_count(img);
	if (!ALLOC(L->voxel, nc) || !ALLOC(L->active, nc)) {
		vb_lithium_free(&L);
		vb_err_set(e, VB_ERR_RUN, "out of memory");
		return NULL;
	}
	for (int64_t v = 0; v < nvox; v++)
		if (core[v] >= 0)
			L->voxel[core[v]] = v;
	/* reacting faces own chains; a core without any owns a link chain on
	 * each face towards a core that has some */
	int64_t nf = 0, nlk = 0, nb[6];
	for (int64_t q = 0; q < nc; q++) {
		L->active[q] = react[q];
		for (int d = 0; d < 6; d++)
			nf += react[q] >> d & 1;
		if (react[q])
			continue;
		neighbours(L, L->voxel[q], nb);
		for (int d = 0; d < 6; d++)
			if (nb[d] >= 0 && core[nb[d]] >= 0 && react[core[nb[d]]])
				L->active[q] |= (uint8_t)(1u << d), nlk++;
	}
	L->nf = nf, L->nlk = nlk, L->nch = nf + nlk;
	const int64_t nch = L->nch;
	if (!ALLOC(L->ch_core, nch) || !ALLOC(L->ch_off, nch) || !ALLOC(L->ch_cls, nch) ||
	    !ALLOC(L->lk_out, nlk) || !ALLOC(L->lk_g, nlk) || !ALLOC(L->lk_kin, nlk) ||
	    !ALLOC(L->lk_kout, nlk) || !ALLOC(L->v_core, nc) || !ALLOC(L->cf_ptr, nc + 1) ||
	    !ALLOC(L->cf, nch) || !ALLOC(L->co_ptr, nc + 1) || !ALLOC(L->co, nlk) ||
	    !ALLOC(L->cpl, nch) || !ALLOC(L->flux, nch) || !ALLOC(L->src0, nlk) ||
	    !ALLOC(L->a_in, nch) || !ALLOC(L->a_out, nlk) || !ALLOC(L->c_oi, nlk) ||
	    !ALLOC(L->c_io, nlk) || !ALLOC(L->l0, nlk) || !ALLOC(L->m0, nlk) ||
	    !ALLOC(L->u0, nch) || !ALLOC(L->un, nch) || !ALLOC(L->d_core, nc) ||
	    !ALLOC(L->phi_core, nc) || !ALLOC(L->diag_extra, nc) || !ALLOC(L->D_q, nc) ||
	    !ALLOC(L->wq, nc) || !ALLOC(L->K.rowptr, nc + 1)) {
		vb_lithium_free(&L);
		vb_err_set(e, VB_ERR_RUN, "out of memory for %lld sub-voxel chains",
			   (long long)nch);
		return NULL;
	}
	/* chains: reacting ones in core and direction order, then link chains */
	int64_t t = 0, off = nc;
	for (int pass = 0; pass < 2; pass++)
		for (int64_t q = 0; q < nc; q++) {
			const uint8_t mine = pass == 0 ? react[q] : react[q] ? 0 : L->active[q];
			if (pass == 1 && mine)
				neighbours(L, L->voxel[q], nb);
			for (int d = 0; d < 6; d++) {
				if (!(mine >> d & 1))
					continue;
				L->ch_core[t] = q;
				L->ch_cls[t] = (uint8_t)chain_class(L->active[q], d);
				L->ch_off[t] = off;
				off += pass == 0 ? L->sg->n + 1 : L->sgl->n + 1;
				if (pass == 1) {
					const int64_t k = t - nf, v = core[nb[d]];
					L->lk_out[k] = v;
					L->lk_g[k] = FARADAY * L->h * L->h /
						     core_to_face(L, react, v, 5 - d);
				}
				t++;
			}
		}
	L->nstate = off;
	if (!ALLOC(L->lu, 3 * (off - nc))) {
		vb_lithium_free(&L);
		vb_err_set(e, VB_ERR_RUN, "out of memory for %lld sub-voxel nodes",
			   (long long)(off - nc));
		return NULL;
	}
	/* per core: its chains, and the link chains it feeds */
	for (int64_t c = 0; c < nch; c++)
		L->cf_ptr[L->ch_core[c] + 1]++;
	for (int64_t k = 0; k < nlk; k++)
		L->co_ptr[L->lk_out[k] + 1]++;
	for (int64_t q = 0; q < nc; q++)
		L->cf_ptr[q + 1] += L->cf_ptr[q], L->co_ptr[q + 1] += L->co_ptr[q];
	int64_t *fill = calloc((size_t)nc + 1, sizeof *fill), *fill2 = calloc((size_t)nc + 1, sizeof *fill2);
	if (fill == NULL || fill2 == NULL) {
		free(fill), free(fill2);
		vb_lithium_free(&L);
		vb_err_set(e, VB_ERR_RUN, "out of memory");
		return NULL;
	}
	for (int64_t c = 0; c < nch; c++)
		L->cf[L->cf_ptr[L->ch_core[c]] + fill[L->ch_core[c]]++] = c;
	for (int64_t k = 0; k < nlk; k++)
		L->co[L->co_ptr[L->lk_out[k]] + fill2[L->lk_out[k]]++] = k;
	free(fill), free(fill2);
	for (int64_t q = 0; q < nc; q++) {
		double v = L->vol;
		for (int64_t s = L->cf_ptr[q]; s < L->cf_ptr[q + 1]; s++)
			v -= geometry(L, L->cf[s])->total[L->ch_cls[L->cf[s]]];
		L->v_core[q] = v;
	}
	/* the core Laplacian: area h^2 over the distance between core nodes;
	 * a pair joined by a link chain keeps its entry (weight 0) */
	int64_t nnz = 0;
	for (int64_t q = 0; q < nc; q++) {
		neighbours(L, L->voxel[q], nb);
		nnz++;
		for (int d = 0; d < 6; d++)
			nnz += nb[d] >= 0 && core[nb[d]] >= 0;
		L->K.rowptr[q + 1] = nnz;
	}
	L->K.n = nc;
	if (!ALLOC(L->K.col, nnz) || !ALLOC(L->K.val, nnz) || !ALLOC(L->P.val, nnz)) {
		vb_lithium_free(&L);
		vb_err_set(e, VB_ERR_RUN, "out of memory");
		return NULL;
	}
	L->P.n = nc, L->P.rowptr = L->K.rowptr, L->P.col = L->K.col;
	const double F_h2 = FARADAY * L->h * L->h;
	for (int64_t q = 0; q < nc; q++) {
		neighbours(L, L->voxel[q], nb);
		int64_t p = L->K.rowptr[q], pd = -1;
		double dsum = 0;
		for (int d = 0; d < 6; d++) {
			if (d == 3)
				pd = p, L->K.col[p++] = q;
			if (nb[d] < 0 || core[nb[d]] < 0)
				continue;
			const int64_t b = core[nb[d]];
			L->K.col[p] = b;
			const int linked = (react[q] != 0) != (react[b] != 0);
			if (!linked) {
				const double len = core_to_face(L, react, q, d) +
						   core_to_face(L, react, b, 5 - d);
				L->K.val[p] = -F_h2 / len;
				dsum += F_h2 / len;
			}
			p++;
		}
		if (pd < 0)
			pd = p, L->K.col[p++] = q;
		L->K.val[pd] = dsum;
	}
	for (int64_t k = 0; k < nlk; k++) {
		const int64_t in = L->ch_core[nf + k], out = L->lk_out[k];
		L->lk_kin[k] = find_pos(&L->K, in, out);
		L->lk_kout[k] = find_pos(&L->K, out, in);
	}
	return L;
}

int64_t vb_lithium_count(const vb_lithium *L)
{
	return L->nstate;
}

int64_t vb_lithium_faces(const vb_lithium *L)
{
	return L->nf;
}

int64_t vb_lithium_links(const vb_lithium *L)
{
	return L->nlk;
}

int vb_lithium_cells(const vb_lithium *L)
{
	return L->sg->n;
}

int64_t vb_lithium_surface_index(const vb_lithium *L, int64_t t)
{
	return L->ch_off[t];
}

int64_t vb_lithium_core_of(const vb_lithium *L, int64_t index)
{
	if (index < L->nc)
		return index;
	int64_t lo = 0, hi = L->nch - 1; /* the chain whose nodes hold index */
	while (lo < hi) {
		int64_t mid = (lo + hi + 1) / 2;
		if (L->ch_off[mid] <= index)
			lo = mid;
		else
			hi = mid - 1;
	}
	return L->ch_core[lo];
}

double vb_lithium_inventory(const vb_lithium *L, const double *c)
{
	double s = 0;
	for (int64_t q = 0; q < L->nc; q++)
		s += c[q] * L->v_core[q];
	for (int64_t t = 0; t < L->nch; t++) {
		const vb_subgrid *g = geometry(L, t);
		const double *vol = g->vol + L->ch_cls[t] * (g->n + 1), *ct = c + L->ch_off[t];
		for (int j = 1; j <= g->n; j++)
			s += ct[j] * vol[j];
	}
	return s;
}

void vb_lithium_voxel_means(const vb_lithium *L, const double *c, double *mean, double *surface)
{
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < L->nc; q++) {
		double li = L->v_core[q] * c[q], su = 0;
		int64_t ns = 0;
		for (int64_t s = L->cf_ptr[q]; s < L->cf_ptr[q + 1]; s++) {
			const int64_t t = L->cf[s];
			const vb_subgrid *g = geometry(L, t);
			const double *vol = g->vol + L->ch_cls[t] * (g->n + 1), *ct = c + L->ch_off[t];
			for (int j = 1; j <= g->n; j++)
				li += vol[j] * ct[j];
			if (t < L->nf)
				su += ct[0], ns++;
		}
		if (mean)
			mean[q] = li / L->vol;
		if (surface)
			surface[q] = ns > 0 ? su / (double)ns : NAN;
	}
}

int vb_lithium_load(const vb_lithium *L, const double *mean, const double *c_sub, double *c,
		    vb_err *e)
{
	const double cmax = L->law->cmax;
	const int64_t nsub = L->nstate - L->nc;
	for (int64_t i = 0; c_sub != NULL && i < nsub; i++)
		if (!(c_sub[i] > 0 && c_sub[i] < cmax))
			return vb_err_set(e, VB_ERR_INPUT,
					  "sub-voxel value %lld is %g mol/m^3, expected inside (0, "
					  "c_max = %g)",
					  (long long)i, c_sub[i], cmax);
	if (c_sub != NULL)
		memcpy(c + L->nc, c_sub, (size_t)nsub * sizeof *c);
	for (int64_t q = 0; q < L->nc; q++) {
		double li = mean[q] * L->vol;
		for (int64_t s = L->cf_ptr[q]; s < L->cf_ptr[q + 1]; s++) {
			const int64_t t = L->cf[s];
			const vb_subgrid *g = geometry(L, t);
			const double *vol = g->vol + L->ch_cls[t] * (g->n + 1);
			for (int j = 0; j <= g->n; j++) {
				if (c_sub == NULL)
					c[L->ch_off[t] + j] = mean[q];
				li -= vol[j] * c[L->ch_off[t] + j];
			}
		}
		/* the core holds what the chains leave of the voxel's mean */
		c[q] = c_sub == NULL ? mean[q] : li / L->v_core[q];
		if (!(c[q] >= 0 && c[q] <= cmax))
			return vb_err_set(e, VB_ERR_INPUT,
					  "CAM voxel %lld: mean %g mol/m^3 leaves its core at %g, "
					  "expected within [0, c_max = %g]",
					  (long long)L->voxel[q], mean[q], c[q], cmax);
	}
	return VB_OK;
}

void vb_lithium_residual(vb_lithium *L, const double *c, const double *c_old, double dt,
			 const double *i_face, double *R)
{
	const double F_dt = FARADAY / dt;
	L->dt = dt;
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < L->nc; q++)
		L->phi_core[q] = vb_cam_kirchhoff(L->law, c[q], &L->d_core[q]);
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < L->nch; t++) {
		const int64_t o = L->ch_off[t];
		double src;
		if (t < L->nf) {
			src = i_face[t];
		} else {
			/* Li leaving the junction node for the core across the face */
			const int64_t k = t - L->nf;
			double d;
			src = L->lk_g[k] *
			      (vb_cam_kirchhoff(L->law, c[o], &d) - L->phi_core[L->lk_out[k]]);
			L->src0[k] = src;
		}
		L->flux[t] = vb_subgrid_residual(geometry(L, t), L->law, L->ch_cls[t], c + o,
						 c_old + o, c[L->ch_core[t]], F_dt, src, R + o);
	}
	vb_linsolve_spmv(&L->K, L->phi_core, R);
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < L->nc; q++) {
		double s = 0;
		for (int64_t p = L->cf_ptr[q]; p < L->cf_ptr[q + 1]; p++)
			s += L->flux[L->cf[p]];
		for (int64_t p = L->co_ptr[q]; p < L->co_ptr[q + 1]; p++)
			s += L->src0[L->co[p]];
		R[q] += F_dt * L->v_core[q] * (c[q] - c_old[q]) - s;
	}
}

void vb_lithium_assemble(vb_lithium *L, const double *c, double dt, const double *a_face,
			 vb_lithium_face *face)
{
	const double F_dt = FARADAY / dt;
	L->dt = dt;
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < L->nc; q++)
		L->phi_core[q] = vb_cam_kirchhoff(L->law, c[q], &L->d_core[q]);
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < L->nch; t++) {
		const int64_t o = L->ch_off[t], q = L->ch_core[t];
		vb_subgrid_coupling *k = &L->cpl[t];
		double a, d0 = 0;
		if (t < L->nf) {
			a = a_face[t];
		} else {
			vb_cam_kirchhoff(L->law, c[o], &d0);
			a = L->lk_g[t - L->nf] * d0;
		}
		vb_subgrid_factor(geometry(L, t), L->law, L->ch_cls[t], c + o, c[q], F_dt, a,
				  L->lu + 3 * (o - L->nc), k);
		L->a_in[t] = k->r_q_cq - k->r_q_cn * k->znn * k->r_n_cq;
		if (t < L->nf) {
			if (face != NULL) {
				face[t].s00 = k->z00;
				face[t].s0q = -k->z0n * k->r_n_cq;
				face[t].sq0 = -k->r_q_cn * k->zn0;
			}
		} else {
			const int64_t j = t - L->nf, out = L->lk_out[j];
			const double g = L->lk_g[j];
			L->l0[j] = -g * L->d_core[out];
			L->m0[j] = -g * d0;
			L->a_out[j] = g * L->d_core[out] - L->m0[j] * k->z00 * L->l0[j];
			L->c_oi[j] = -L->m0[j] * k->z0n * k->r_n_cq;
			L->c_io[j] = -k->r_q_cn * k->zn0 * L->l0[j];
		}
	}
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < L->nc; q++) {
		double a = 0;
		for (int64_t p = L->cf_ptr[q]; p < L->cf_ptr[q + 1]; p++)
			a += L->a_in[L->cf[p]];
		for (int64_t p = L->co_ptr[q]; p < L->co_ptr[q + 1]; p++)
			a += L->a_out[L->co[p]];
		const double extra = F_dt * L->v_core[q] + a, dq = L->d_core[q];
		L->diag_extra[q] = extra;
		for (int64_t p = L->K.rowptr[q]; p < L->K.rowptr[q + 1]; p++) {
			L->P.val[p] = L->K.val[p];
			if (L->K.col[p] == q) {
				L->D_q[q] = L->K.val[p] * dq + extra;
				L->P.val[p] += extra / dq;
			}
		}
		/* a link chain's condensed coupling, symmetrised for the
		 * preconditioner in w = D c (both entries are negative) */
		for (int64_t p = L->cf_ptr[q]; p < L->cf_ptr[q + 1]; p++) {
			const int64_t t = L->cf[p];
			if (t < L->nf)
				continue;
			const int64_t j = t - L->nf, out = L->lk_out[j];
			L->P.val[L->lk_kin[j]] =
				-sqrt(L->c_io[j] * L->c_oi[j] / (L->d_core[out] * dq));
		}
		for (int64_t p = L->co_ptr[q]; p < L->co_ptr[q + 1]; p++) {
			const int64_t j = L->co[p], in = L->ch_core[L->nf + j];
			L->P.val[L->lk_kout[j]] =
				-sqrt(L->c_io[j] * L->c_oi[j] / (L->d_core[in] * dq));
		}
	}
}

void vb_lithium_condense(const vb_lithium *L, const double *b, double *b_core, double *u0)
{
	vb_lithium *W = (vb_lithium *)L; /* the chain solves are workspace */
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < L->nch; t++) {
		const int n = geometry(L, t)->n;
		const int64_t o = L->ch_off[t];
		double u[65];
		vb_subgrid_solve(n, L->lu + 3 * (o - L->nc), b + o, u);
		W->u0[t] = u[0], W->un[t] = u[n];
		if (t < L->nf && u0 != NULL)
			u0[t] = u[0];
	}
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < L->nc; q++) {
		double s = 0;
		for (int64_t p = L->cf_ptr[q]; p < L->cf_ptr[q + 1]; p++)
			s += L->cpl[L->cf[p]].r_q_cn * L->un[L->cf[p]];
		for (int64_t p = L->co_ptr[q]; p < L->co_ptr[q + 1]; p++)
			s += L->m0[L->co[p]] * L->u0[L->nf + L->co[p]];
		b_core[q] = b[q] - s;
	}
}

void vb_lithium_expand(const vb_lithium *L, const double *b, const double *x_core,
		       const double *ds, double *x)
{
	if (x != x_core)
		memcpy(x, x_core, (size_t)L->nc * sizeof *x);
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < L->nch; t++) {
		const int n = geometry(L, t)->n;
		const int64_t o = L->ch_off[t];
		double rr[65];
		memcpy(rr, b + o, (size_t)(n + 1) * sizeof *rr);
		if (t < L->nf)
			rr[0] -= ds[t];
		else
			rr[0] -= L->l0[t - L->nf] * x_core[L->lk_out[t - L->nf]];
		rr[n] -= L->cpl[t].r_n_cq * x_core[L->ch_core[t]];
		vb_subgrid_solve(n, L->lu + 3 * (o - L->nc), rr, x + o);
	}
}

void vb_lithium_core_apply(vb_lithium *L, const double *x, double *y)
{
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < L->nc; q++)
		L->wq[q] = L->d_core[q] * x[q];
	vb_linsolve_spmv(&L->K, L->wq, y);
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < L->nc; q++) {
		double s = L->diag_extra[q] * x[q];
		for (int64_t p = L->cf_ptr[q]; p < L->cf_ptr[q + 1]; p++) {
			const int64_t t = L->cf[p];
			if (t >= L->nf)
				s += L->c_io[t - L->nf] * x[L->lk_out[t - L->nf]];
		}
		for (int64_t p = L->co_ptr[q]; p < L->co_ptr[q + 1]; p++) {
			const int64_t j = L->co[p];
			s += L->c_oi[j] * x[L->ch_core[L->nf + j]];
		}
		y[q] += s;
	}
}

const double *vb_lithium_core_diagonal(const vb_lithium *L)
{
	return L->D_q;
}

int vb_lithium_core_solve(vb_lithium *L, const double *r, double *z, vb_err *e)
{
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < L->nc; q++)
		L->wq[q] = L->d_core[q] * r[q] / L->D_q[q];
	vb_linsolve_opts o = vb_linsolve_defaults();
	o.method = VB_LINSOLVE_PCG;
	o.rtol = 1e-8;
	o.max_iter = 1000;
	int rc = vb_linsolve_spd(&L->P, r, L->wq, &o, NULL, e);
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < L->nc; q++)
		z[q] = L->wq[q] / L->d_core[q];
	return rc;
}

double vb_lithium_rounding(const vb_lithium *L, const double *c, double dt)
{
	const double F_dt = FARADAY / dt;
	double s = 0, d;
	for (int64_t q = 0; q < L->nc; q++) {
		double t = F_dt * L->v_core[q] * c[q];
		s += t * t;
	}
	for (int64_t t = 0; t < L->nch; t++) {
		const vb_subgrid *g = geometry(L, t);
		const double *vol = g->vol + L->ch_cls[t] * (g->n + 1),
			     *cond = g->cond + L->ch_cls[t] * (g->n + 1), *ct = c + L->ch_off[t];
		for (int j = 0; j <= g->n; j++) {
			double x = F_dt * vol[j] * ct[j] +
				   FARADAY * cond[j] * fabs(vb_cam_kirchhoff(L->law, ct[j], &d));
			s += x * x;
		}
	}
	return s;
}
