/* vb_lithium: cores, reacting chains and link chains of the CAM (vb_lithium.h).
 * Chain t's nodes sit at c[off[t] ..], node 0 at the face it starts from: a
 * reacting chain's surface node (its source the Butler-Volmer current), a
 * link chain's junction with the core of the voxel across the face (its
 * source the Li flowing from there). Every flux is a difference of the
 * Kirchhoff potential Phi(c) (vb_cam), so Li is conserved link by link.
 *
 * The loops over chains share them out dynamically: reacting chains (t <
 * nf) have more cells and superposed ones more work than link chains, and
 * a static split left the second thread waiting (the 1 um LIB run 6 %
 * faster, docs/solve.md). Every chain writes only its own entries, so the
 * results do not depend on the split. */
#include "vb_lithium.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vb_linsolve.h"

#define FARADAY 96485.33212

/* With lateral modes a reacting chain's node may pass c_max (it is a
 * component of the superposition, not a concentration); a run file's value
 * beyond this many c_max is taken as corrupt. */
#define UNBOUNDED 2.0

/* Link chains: cells and growth. They carry the grading of a reacting chain
 * (whose last cells are about 0.15 h) on to the voxel scale one voxel deeper
 * (docs/solve.md measures what the abrupt step to h costs without them). */
#define LINK_CELLS 6
#define LINK_RATIO 1.5

struct vb_lithium {
	int64_t nx, ny, nz, nc;
	double h, vol;
	const vb_cam *law;
	vb_subgrid *sg, *sgl;	      /* reacting (split) and link chain geometry */
	vb_subgrid *sgs;	      /* superposed reacting chains (NULL: none) */
	uint8_t *sup_q;		      /* nc: 1 where the core's reacting chains are superposed */
	int64_t nf, nlk, nch, nstate; /* reacting, link, all chains; state length */
	int64_t *voxel;		      /* nc: voxel of each core */
	uint8_t *active;	      /* nc: faces owning a chain (reacting, or link faces) */
	int64_t *ch_core, *ch_off;    /* nch: inner core, offset of node 0 in c */
	uint8_t *ch_cls;	      /* nch: vb_subgrid class */
	uint8_t *ch_dir;	      /* nch: the face it starts from (neighbours() order) */
	int64_t *lk_out;	      /* nlk: the core across the face */
	double *lk_g;		      /* nlk: F x area / length from that core's node to the face */
	int64_t *lk_kin, *lk_kout;    /* nlk: positions (inner, outer), (outer, inner) in K */
	double *v_core;		      /* nc: core volume, m^3 */
	int64_t *cf_ptr, *cf;	      /* per core: chains whose inner core it is */
	int64_t *co_ptr, *co;	      /* per core: link chains whose outer core it is */
	vb_csr K;		      /* F area/length weighted Laplacian of the cores */
	vb_csr P;		      /* the preconditioner's core block in w = D c */
	double *lu;		      /* 3 values per chain node */
	vb_subgrid_coupling *cpl;     /* nch */
	double *flux;		      /* nch: F x Li from each chain into its inner core, A */
	double *src0;	     /* nlk: F x Li from a link chain's node 0 into its outer core */
	double *a_in;	     /* nch: part of the inner core's condensed diagonal */
	double *a_out;	     /* nlk: part of the outer core's condensed diagonal */
	double *c_oi, *c_io; /* nlk: condensed (outer row, inner col), (inner, outer) */
	double *l0, *m0;     /* nlk: d R_0 / d c_out, d R_out / d c_0 */
	double *u0, *un;     /* nch: chain solves of a right-hand side */
	double *diag_extra, *D_q, *wq;
	/* side links of the reacting chains (docs/solve.md): node j of a chain
	 * to node j of the chain of the same direction in the voxel beside it
	 * (pairs, coloured so that a colour touches a chain once), or to what
	 * the voxel beside it has there instead (its core, or the junction of
	 * its link chain): entries, one per chain and side */
	int64_t npair, pair_ptr[7]; /* colour c: pairs [pair_ptr[c], pair_ptr[c + 1]) */
	int64_t *pair_a, *pair_b;   /* npair: chains */
	double *pair_g;		    /* npair x n: F x area / length of each node pair */
	int *pair_e;		    /* npair: the side face of pair_a they share */
	int64_t nent, *ent_ptr;	    /* per reacting chain: its entries */
	int64_t *ent_rec;	    /* nent: state index of what it links to */
	double *ent_len;	    /* nent: distance from a node's centre to it, m */
	int *ent_e;		    /* nent: the side face of its chain */
	double *ent_g;		    /* nent x n: F x area / length of each node's link */
	double *ent_sum;	    /* nent: F x Li leaving the chain through it, A */
	int64_t nrec, *rec_idx, *rec_ptr, *rec_ent; /* receivers and their entries */
	double *phi_all, *d_all; /* nstate: Kirchhoff potential and diffusivity of every node */
	double *w_all;		 /* nstate: D x a correction (vb_lithium_jacobian_apply) */
	double *g_side;		 /* nstate: F x the side links' area / length per node */
	/* the side links in the condensed core block: when two neighbouring
	 * chains differ as a whole, storage, not their own links, resists, so
	 * the coupling a Newton left out would be D dt / h^2 of the diagonal;
	 * summed over their nodes it joins their cores instead (chains follow
	 * their cores in that mode), see docs/solve.md */
	int64_t *sc_ptr, *sc; /* per core: the side pairs of its chains */
	int64_t *sc_pos;      /* per coupling in sc: position of (core, partner) in K */
	double *side_G;	      /* npair: F x sum over nodes of area/length x D x response */
	double *resp;	      /* nstate: each chain node's response to its core (0..1) */
	double *Ks;	      /* K's pattern: the cores' side coupling */
	double dt;
	/* superposed reacting chains (vb_subgrid.h; --subgrid-law superposed):
	 * their cores are the voxels' means and their pairs exchange
	 * deviations only */
	double *yu;	  /* per reacting chain node: T0^-1 u (vb_subgrid_coupling) */
	double *side_net; /* nf: F x deviation leaving each chain through its pairs */
	double *net_all;  /* nf: ... and through its pairs and leaks, at the last residual */
	double *fw, *fa;  /* per reacting chain node: the weight with which it
			     follows its core, and the Jacobian's extra storage
			     where that weight fades (follow()) */
	double *g_dev;	  /* nstate: F x area / length of a superposed chain node's
			     leak into flat neighbours (docs/solve.md) */
	/* back faces: the face opposite a superposed chain's, when a CAM voxel
	 * is beyond it. The Li crossing it flows from the chain's last node
	 * (whose value is the voxel's near that face) to what is beyond: the
	 * last node of a superposed chain whose back is the same face, the
	 * neighbour's core, or the junction of its link chain; and it leaves
	 * (enters) the chains through their last nodes. The condensed core
	 * block sees it as a flux between the cores (K, or a link chain's
	 * junction link) of the same conductance. */
	int64_t nbf;
	int64_t *bf_a, *bf_p;	/* nbf: the chain on this side, the one beyond (-1: none) */
	int64_t *bf_ia, *bf_ip; /* nbf: state index of the two ends of the flux */
	int64_t *bf_ka, *bf_kp; /* nbf: the two ends the core block sees (cores, junction) */
	double *bf_g;		/* nbf: F x area / length */
	double *bf_corr;	/* nbf: the flux less the core block's view of it, A */
	double *ch_back;	/* nf: F x Li leaving each chain through its last node, A */
	/* lateral modes (docs/solve.md, "Lateral modes"): two mode chains per
	 * superposed reacting face, their values in a state of their own */
	int64_t nm;	 /* mode values */
	int64_t *md_off; /* nf: face t's first mode chain in the modes (-1: none) */
	uint8_t *comp;	 /* nstate: 1 on the nodes of chains with modes (components
			    of a sum, free to pass c_max) */
	double *near_f;	 /* VB_SUBGRID_CLASSES x (n + 1): vb_subgrid_near_fraction of sgs */
};

/* Whether chain t is a superposed reacting chain. */
static int superposed(const vb_lithium *L, int64_t t)
{
	return L->sup_q != NULL && t < L->nf && L->sup_q[L->ch_core[t]];
}

/* Whether chain t's nodes hold Li of their own (not so a superposed
 * reacting chain, whose deviations sum to zero: its voxel's Li is its
 * core's). */
static int stores(const vb_lithium *L, int64_t t)
{
	return !superposed(L, t);
}

static const vb_subgrid *geometry(const vb_lithium *L, int64_t t)
{
	return t >= L->nf ? L->sgl : superposed(L, t) ? L->sgs : L->sg;
}

void vb_lithium_free(vb_lithium **Lp)
{
	if (Lp == NULL || *Lp == NULL)
		return;
	vb_lithium *L = *Lp;
	vb_subgrid_free(&L->sg), vb_subgrid_free(&L->sgl);
	free(L->voxel), free(L->active), free(L->ch_core), free(L->ch_off), free(L->ch_cls);
	free(L->ch_dir);
	free(L->lk_out), free(L->lk_g), free(L->lk_kin), free(L->lk_kout), free(L->v_core);
	free(L->cf_ptr), free(L->cf), free(L->co_ptr), free(L->co);
	vb_linsolve_csr_free(&L->K);
	free(L->P.val);
	free(L->lu), free(L->cpl), free(L->flux), free(L->src0), free(L->a_in), free(L->a_out);
	free(L->c_oi), free(L->c_io), free(L->l0), free(L->m0), free(L->u0), free(L->un);
	free(L->diag_extra), free(L->D_q), free(L->wq);
	free(L->pair_a), free(L->pair_b), free(L->ent_ptr), free(L->ent_rec), free(L->ent_len);
	free(L->pair_g), free(L->pair_e), free(L->ent_e), free(L->ent_g);
	free(L->ent_sum), free(L->rec_idx), free(L->rec_ptr), free(L->rec_ent);
	free(L->phi_all), free(L->d_all), free(L->w_all), free(L->g_side);
	free(L->sc_ptr), free(L->sc), free(L->sc_pos);
	free(L->side_G), free(L->resp);
	free(L->Ks);
	free(L->yu), free(L->side_net), free(L->g_dev), free(L->fw), free(L->fa), free(L->net_all);
	free(L->bf_a), free(L->bf_p), free(L->bf_ia), free(L->bf_ip), free(L->bf_ka),
		free(L->bf_kp);
	free(L->bf_g), free(L->bf_corr), free(L->ch_back);
	vb_subgrid_free(&L->sgs), free(L->sup_q);
	free(L->md_off), free(L->near_f), free(L->comp);
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

/* The axis (0 x, 1 y, 2 z) of face direction d (neighbours() order), the
 * side of the voxel it is on (-1 low, +1 high), and the two other axes in
 * ascending order: a face's lateral axes, those of its quarters' signs and
 * of its two mode chains (the faces d and 5 - d share an axis). */
static int axis_of(int d)
{
	return d < 3 ? d : 5 - d;
}

static int side_of(int d)
{
	return d < 3 ? -1 : 1;
}

static void lateral_axes(int a, int lat[2])
{
	lat[0] = a == 0 ? 1 : 0;
	lat[1] = a == 2 ? 1 : 2;
}

/* Class of the chain of core q on its active face d (vb_subgrid.h). */
static int chain_class(uint8_t active, int d)
{
	int count[3] = {0, 0, 0};
	for (int k = 0; k < 6; k++)
		if (axis_of(k) != axis_of(d) && (active >> k & 1))
			count[axis_of(k)]++;
	int lat[2], n = 0;
	for (int a = 0; a < 3; a++)
		if (a != axis_of(d))
			lat[n++] = count[a];
	return vb_subgrid_class(lat[0], lat[1], active >> (5 - d) & 1);
}

/* Distance from core q's node to its face d that owns no chain. */
static double core_to_face(const vb_lithium *L, const uint8_t *react, int64_t q, int d)
{
	const int o = 5 - d;
	const vb_subgrid *s = !react[q] ? L->sgl : L->sup_q != NULL && L->sup_q[q] ? L->sgs : L->sg;
	return vb_subgrid_core_to_face(s,
				       L->active[q] >> o & 1 ? chain_class(L->active[q], o) : -1);
}

static int64_t find_pos(const vb_csr *A, int64_t r, int64_t col)
{
	for (int64_t q = A->rowptr[r]; q < A->rowptr[r + 1]; q++)
		if (A->col[q] == col)
			return q;
	return -1;
}

#define ALLOC(p, n) ((p) = calloc((size_t)(n) + 1, sizeof *(p))) /* + 1: never 0 bytes */

/* Reacting chain of core q starting from face d, or link chain of core q on
 * face d (link != 0); -1 if none. */
static int64_t chain_of(const vb_lithium *L, int64_t q, int d, int link)
{
	for (int64_t p = L->cf_ptr[q]; p < L->cf_ptr[q + 1]; p++) {
		const int64_t t = L->cf[p];
		if ((t >= L->nf) == (link != 0) && L->ch_dir[t] == d)
			return t;
	}
	return -1;
}

/* Length along a side face e of chain t's node j: the chain's cross-section
 * narrows by s for each reacting face on the axis that is neither its own
 * nor e's (vb_subgrid.h), s being the node's depth. */
static double side_extent(const vb_lithium *L, int64_t t, int e, int j)
{
	const int a_d = axis_of(L->ch_dir[t]), a_e = axis_of(e);
	const int lat0 = a_d == 0 ? 1 : 0; /* the lower of the chain's lateral axes */
	const int cls = L->ch_cls[t], m1 = cls / 6, m2 = cls / 2 % 3;
	const int m = a_e == lat0 ? m2 : m1; /* faces on the third axis */
	const vb_subgrid *g = geometry(L, t);
	if (g->superposed)
		return L->h;
	const double *w = g->width + cls * (g->n + 1);
	double s = 0.5 * w[j];
	for (int i = 1; i < j; i++)
		s += w[i];
	return fmax(0, L->h - m * s);
}

typedef struct rec_pair {
	int64_t rec, ent;
} rec_pair;

static int by_receiver(const void *a, const void *b)
{
	const rec_pair *x = a, *y = b;
	if (x->rec != y->rec)
		return x->rec < y->rec ? -1 : 1;
	return (x->ent > y->ent) - (x->ent < y->ent);
}

/* The side links of the reacting chains (struct vb_lithium), their
 * conductances, and red[6 q + e]: the strip of
 * core q's face e that they take from the links between cores. */
static int side_links(vb_lithium *L, const int64_t *core, const uint8_t *react, double *red)
{
	const int64_t nf = L->nf;
	int64_t nb[6], npair = 0, nent = 0;
	/* count, then fill (pass 1) */
	for (int pass = 0; pass < 2; pass++) {
		int64_t fill[6] = {0, 0, 0, 0, 0, 0};
		npair = 0, nent = 0;
		for (int64_t t = 0; t < L->nch; t++) {
			const int64_t q = L->ch_core[t], v = L->voxel[q];
			const int d = L->ch_dir[t], link = t >= nf;
			const double depth = geometry(L, t)->depth[L->ch_cls[t]];
			neighbours(L, v, nb);
			if (pass == 1 && !link)
				L->ent_ptr[t] = nent;
			for (int e = 0; e < 6; e++) {
				if (axis_of(e) == axis_of(d) || nb[e] < 0 || core[nb[e]] < 0)
					continue;
				const int64_t b = core[nb[e]];
				/* the voxel beside has a reacting chain from the same
				 * direction: a pair, node by node. (Link chains get no side
				 * links: their cells, up to 0.3 h wide, would couple about
				 * 0.2 of their diagonal outside the Jacobian, Newton then
				 * converged at 0.3 an iteration, for +0.4 % of capacity in
				 * the composite at 0.5 um.) */
				if (link)
					continue;
				/* superposed chains pair only with superposed chains
				 * of their own depth, and their pairs carry
				 * deviations, not Li, so the cores keep the whole
				 * face. Beside anything else a superposed chain's
				 * deviations leak into a flat profile: the voxel
				 * beside's core (or junction) value at every depth,
				 * whose difference to this core the cores carry */
				const int sa = superposed(L, t),
					  sb = L->sup_q != NULL && L->sup_q[b];
				if ((sa || sb) &&
				    (!sa || !sb || !(react[b] >> d & 1) ||
				     (react[b] >> (5 - d) & 1) != (react[q] >> (5 - d) & 1))) {
					if (pass == 1 && sa) {
						const double len =
							0.5 * L->h +
							(react[b] ? core_to_face(L, react, b, 5 - e)
								  : 0);
						const double *w = L->sgs->width +
								  L->ch_cls[t] * (L->sg->n + 1);
						for (int j = 1; j <= L->sg->n; j++)
							L->g_dev[L->ch_off[t] + j] +=
								FARADAY * w[j] * L->h / len;
					}
					continue;
				}
				if (react[b] >> d & 1) {
					if (pass == 1 && !sa)
						red[6 * q + e] += L->h * depth;
					if (e < 3)
						continue; /* the pair is made from the other side */
					if (pass == 1) {
						/* colour: axis and parity of v along it */
						const int64_t coord =
							axis_of(e) == 0	  ? v / (L->ny * L->nz)
							: axis_of(e) == 1 ? v / L->nz % L->ny
									  : v % L->nz;
						const int col = 2 * axis_of(e) + (int)(coord & 1);
						const int64_t at = L->pair_ptr[col] + fill[col]++;
						L->pair_a[at] = t,
						L->pair_b[at] = chain_of(L, b, d, link);
						L->pair_e[at] = e;
					} else {
						const int64_t coord =
							axis_of(e) == 0	  ? v / (L->ny * L->nz)
							: axis_of(e) == 1 ? v / L->nz % L->ny
									  : v % L->nz;
						L->pair_ptr[2 * axis_of(e) + (int)(coord & 1) +
							    1]++;
					}
					npair++;
				} else if (!link && !react[b]) {
					/* the voxel beside has no reacting face: the junction of
					 * its link chain on this face takes the side flux. (Beside
					 * a voxel whose reacting faces point elsewhere the chain
					 * has no side link: that voxel's part of the face belongs
					 * to its own chains, and a link to its thin core left out
					 * of the Jacobian slowed Newton down 2-3 fold.) */
					if (pass == 1) {
						red[6 * q + e] += L->h * depth;
						L->ent_rec[nent] =
							L->ch_off[chain_of(L, b, 5 - e, 1)];
						L->ent_len[nent] = 0.5 * L->h;
						L->ent_e[nent] = e;
					}
					nent++;
				}
			}
		}
		if (pass == 0) {
			for (int c = 0; c < 6; c++)
				L->pair_ptr[c + 1] += L->pair_ptr[c];
			L->npair = npair, L->nent = nent;
			if (!ALLOC(L->pair_a, npair) || !ALLOC(L->pair_b, npair) ||
			    !ALLOC(L->pair_e, npair) || !ALLOC(L->ent_e, nent) ||
			    !ALLOC(L->pair_g, npair * L->sg->n) ||
			    !ALLOC(L->ent_g, nent * L->sg->n) || !ALLOC(L->ent_ptr, nf + 1) ||
			    !ALLOC(L->ent_rec, nent) || !ALLOC(L->ent_len, nent) ||
			    !ALLOC(L->ent_sum, nent) || !ALLOC(L->phi_all, L->nstate) ||
			    !ALLOC(L->d_all, L->nstate) || !ALLOC(L->w_all, L->nstate) ||
			    !ALLOC(L->side_G, npair + nent) || !ALLOC(L->g_side, L->nstate) ||
			    !ALLOC(L->resp, L->nstate) || !ALLOC(L->side_net, nf) ||
			    !ALLOC(L->net_all, nf) || !ALLOC(L->g_dev, L->nstate))
				return VB_ERR_RUN;
		}
	}
	L->ent_ptr[nf] = nent;
	/* receivers in state order, each with its entries */
	rec_pair *rp = malloc((size_t)(nent + 1) * sizeof *rp);
	if (rp == NULL || !ALLOC(L->rec_idx, nent) || !ALLOC(L->rec_ptr, nent + 1) ||
	    !ALLOC(L->rec_ent, nent)) {
		free(rp);
		return VB_ERR_RUN;
	}
	for (int64_t k = 0; k < nent; k++)
		rp[k].rec = L->ent_rec[k], rp[k].ent = k;
	qsort(rp, (size_t)nent, sizeof *rp, by_receiver);
	int64_t nrec = 0;
	for (int64_t k = 0; k < nent; k++) {
		if (k == 0 || rp[k].rec != rp[k - 1].rec)
			L->rec_idx[nrec] = rp[k].rec, L->rec_ptr[nrec++] = k;
		L->rec_ent[k] = rp[k].ent;
	}
	L->rec_ptr[nrec] = nent;
	L->nrec = nrec;
	free(rp);
	/* per node pair or link: F x area / length, and their sums per node for
	 * the chains' diagonal (a node's own dependence on its side links) */
	const int n = L->sg->n, n1 = n + 1;
	for (int64_t p = 0; p < L->npair; p++) {
		/* node j's strip on the shared face: its width times the length the
		 * narrower of the two chains has there; centres h apart */
		const int64_t a = L->pair_a[p], b = L->pair_b[p];
		const vb_subgrid *geo = geometry(L, a);
		const int na = geo->n;
		const double *wa = geo->width + L->ch_cls[a] * (na + 1),
			     *wb = geo->width + L->ch_cls[b] * (na + 1);
		const int e = L->pair_e[p];
		for (int j = 1; j <= na; j++) {
			const double g =
				FARADAY * fmin(wa[j], wb[j]) *
				fmin(side_extent(L, a, e, j), side_extent(L, b, 5 - e, j)) / L->h;
			L->pair_g[p * n + j - 1] = g;
		}
	}
	for (int64_t t = 0; t < nf; t++) {
		const double *w = L->sg->width + L->ch_cls[t] * n1;
		for (int64_t k = L->ent_ptr[t]; k < L->ent_ptr[t + 1]; k++)
			for (int j = 1; j <= n; j++) {
				const double g = FARADAY * w[j] *
						 side_extent(L, t, L->ent_e[k], j) / L->ent_len[k];
				L->ent_g[k * n + j - 1] = g;
				L->g_side[L->ch_off[t] + j] += g, L->g_side[L->ent_rec[k]] += g;
			}
	}
	return VB_OK;
}

/* The two cores a side pair s joins. */
static void side_ends(const vb_lithium *L, int64_t s, int64_t *a, int64_t *b)
{
	*a = L->ch_core[L->pair_a[s]], *b = L->ch_core[L->pair_b[s]];
}

/* Per core the side couplings it takes part in, and where they go in K. */
static int side_cores(vb_lithium *L)
{
	/* pairs only: an entry's junction hangs on the chain's own core (through
	 * a link 20 times its side links), so a chain that follows its core sends
	 * it next to nothing, and a coupling of the two cores, tried, was wrong
	 * enough to make Newton crawl */
	const int64_t ns = L->npair, nc = L->nc;
	if (!ALLOC(L->sc_ptr, nc + 1) || !ALLOC(L->sc, 2 * ns) || !ALLOC(L->sc_pos, 2 * ns) ||
	    !ALLOC(L->Ks, L->K.rowptr[nc]))
		return VB_ERR_RUN;
	int64_t a, b;
	for (int64_t s = 0; s < ns; s++) {
		side_ends(L, s, &a, &b);
		L->sc_ptr[a + 1]++, L->sc_ptr[b + 1]++;
	}
	for (int64_t q = 0; q < nc; q++)
		L->sc_ptr[q + 1] += L->sc_ptr[q];
	int64_t *fill = calloc((size_t)nc + 1, sizeof *fill);
	if (fill == NULL)
		return VB_ERR_RUN;
	for (int64_t s = 0; s < ns; s++) {
		side_ends(L, s, &a, &b);
		const int64_t pa = L->sc_ptr[a] + fill[a]++, pb = L->sc_ptr[b] + fill[b]++;
		L->sc[pa] = s, L->sc_pos[pa] = find_pos(&L->K, a, b);
		L->sc[pb] = s, L->sc_pos[pb] = find_pos(&L->K, b, a);
	}
	free(fill);
	return VB_OK;
}

/* Sets the conductance of K's entries (a, b) and (b, a) to g (F x area /
 * length), keeping each row's sum zero. */
static void set_k(vb_lithium *L, int64_t a, int64_t b, double g)
{
	for (int r = 0; r < 2; r++) {
		const int64_t x = r ? b : a, y = r ? a : b;
		const int64_t p = find_pos(&L->K, x, y), pd = find_pos(&L->K, x, x);
		L->K.val[pd] += g + L->K.val[p];
		L->K.val[p] = -g;
	}
}

/* The back faces of the superposed chains (struct vb_lithium). */
static int back_faces(vb_lithium *L, const int64_t *core, const uint8_t *react)
{
	if (L->sup_q == NULL)
		return VB_OK;
	const int64_t nf = L->nf;
	const int n = L->sg->n;
	if (!ALLOC(L->bf_a, nf) || !ALLOC(L->bf_p, nf) || !ALLOC(L->bf_ia, nf) ||
	    !ALLOC(L->bf_ip, nf) || !ALLOC(L->bf_ka, nf) || !ALLOC(L->bf_kp, nf) ||
	    !ALLOC(L->bf_g, nf) || !ALLOC(L->bf_corr, nf) || !ALLOC(L->ch_back, nf))
		return VB_ERR_RUN;
	int64_t nb[6], f = 0;
	const double h2 = L->h * L->h;
	/* the chains' own dependence on their leaks, for their blocks */
	for (int64_t i = 0; i < L->nstate; i++)
		L->g_side[i] += L->g_dev[i];
	for (int64_t t = 0; t < nf; t++) {
		if (!superposed(L, t))
			continue;
		const int64_t q = L->ch_core[t];
		const int d = L->ch_dir[t], o = 5 - d;
		neighbours(L, L->voxel[q], nb);
		if ((react[q] >> o & 1) || nb[o] < 0 || core[nb[o]] < 0)
			continue;
		const int64_t b = core[nb[o]];
		const double da = 0.5 * L->sgs->width[L->ch_cls[t] * (n + 1) + n];
		double dp;
		int64_t tp = -1, ip, kp;
		if (react[b] && L->sup_q[b] && (react[b] >> o & 1)) {
			/* back to back with b's chain from the face beyond: once */
			tp = chain_of(L, b, o, 0);
			if (tp < t)
				continue;
			ip = L->ch_off[tp] + n, kp = b;
			dp = 0.5 * L->sgs->width[L->ch_cls[tp] * (n + 1) + n];
		} else if (react[b]) {
			ip = kp = b;
			dp = core_to_face(L, react, b, d);
		} else {
			const int64_t k = chain_of(L, b, d, 1);
			ip = kp = L->ch_off[k];
			dp = 0;
		}
		const double g = FARADAY * h2 / (da + dp);
		L->bf_a[f] = t, L->bf_p[f] = tp, L->bf_ia[f] = L->ch_off[t] + n, L->bf_ip[f] = ip;
		L->bf_ka[f] = q, L->bf_kp[f] = kp, L->bf_g[f] = g;
		if (react[b])
			set_k(L, q, b, g);
		else
			L->lk_g[chain_of(L, b, d, 1) - nf] = g;
		/* the chains' own dependence on their last node, for their blocks */
		L->g_side[L->ch_off[t] + n] += g;
		if (tp >= 0)
			L->g_side[L->ch_off[tp] + n] += g;
		f++;
	}
	L->nbf = f;
	return VB_OK;
}

/* The back faces' fluxes at the Kirchhoff potentials phi: each chain's
 * share (ch_back) and, in bf_corr, what they differ by from the core
 * block's view of them. */
static void back_fluxes(vb_lithium *L, const double *phi)
{
	if (L->sup_q == NULL)
		return;
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < L->nf; t++)
		L->ch_back[t] = 0;
#pragma omp parallel for schedule(static)
	for (int64_t f = 0; f < L->nbf; f++) {
		const double g = L->bf_g[f];
		const double fb = g * (phi[L->bf_ia[f]] - phi[L->bf_ip[f]]);
		L->bf_corr[f] = fb - g * (phi[L->bf_ka[f]] - phi[L->bf_kp[f]]);
		L->ch_back[L->bf_a[f]] = fb;
		if (L->bf_p[f] >= 0)
			L->ch_back[L->bf_p[f]] = -fb;
	}
}

/* Adds the back faces' corrections to the balances of the ends the core
 * block sees: in order, on any thread count. */
static void back_correct(const vb_lithium *L, double *R)
{
	for (int64_t f = 0; f < L->nbf; f++)
		R[L->bf_ka[f]] += L->bf_corr[f], R[L->bf_kp[f]] -= L->bf_corr[f];
}

/* Numbers the lateral mode chains: two per superposed reacting face of a
 * voxel whose reacting faces lie on two or three axes (on one axis no other
 * chain adds anything across a face: its quarters would be alike and its
 * modes stay 0, docs/solve.md). */
static int lateral_modes(vb_lithium *L)
{
	const int n1 = L->sgs->n + 1;
	if (!ALLOC(L->md_off, L->nf) || !ALLOC(L->near_f, VB_SUBGRID_CLASSES * n1) ||
	    !ALLOC(L->comp, L->nstate))
		return VB_ERR_RUN;
	int64_t off = 0;
	for (int64_t t = 0; t < L->nf; t++) {
		const uint8_t a = L->active[L->ch_core[t]];
		const int axes = ((a & 0x21) != 0) + ((a & 0x12) != 0) + ((a & 0x0c) != 0);
		const int modes = superposed(L, t) && axes >= 2;
		L->md_off[t] = modes ? off : -1;
		off += modes ? 2 * n1 : 0;
		for (int j = 0; modes && j < n1; j++)
			L->comp[L->ch_off[t] + j] = 1;
	}
	L->nm = off;
	for (int c = 0; c < VB_SUBGRID_CLASSES; c++)
		for (int j = 0; j < n1; j++)
			L->near_f[c * n1 + j] = vb_subgrid_near_fraction(L->sgs, c, j);
	return VB_OK;
}

vb_lithium *vb_lithium_new(const vb_image *img, const int64_t *core, int64_t n_cores,
			   const uint8_t *react, const vb_cam *law, const vb_subgrid_opts *sub,
			   vb_err *e)
{
	vb_lithium *L = calloc(1, sizeof *L);
	if (L == NULL) {
		vb_err_set(e, VB_ERR_RUN, "out of memory");
		return NULL;
	}
	const vb_subgrid_opts link = {LINK_CELLS, LINK_RATIO, 1, 0};
	vb_subgrid_opts split = sub != NULL ? *sub : vb_subgrid_defaults();
	const int allow = !split.split;
	split.split = 1;
	L->nx = img->nx, L->ny = img->ny, L->nz = img->nz, L->nc = n_cores;
	L->h = img->voxel_size, L->vol = L->h * L->h * L->h;
	L->law = law;
	if ((L->sg = vb_subgrid_new(L->h, &split, e)) == NULL ||
	    (L->sgl = vb_subgrid_new(L->h, &link, e)) == NULL) {
		vb_lithium_free(&L);
		return NULL;
	}
	if (allow) {
		vb_subgrid_opts sup = split;
		sup.split = 0;
		if ((L->sgs = vb_subgrid_new(L->h, &sup, e)) == NULL || !ALLOC(L->sup_q, n_cores)) {
			vb_lithium_free(&L);
			vb_err_set(e, VB_ERR_RUN, "out of memory");
			return NULL;
		}
		/* every voxel with reacting faces. (Superposing only those whose
		 * reacting faces lie on two or three axes, split chains on one,
		 * was tried: the split and superposed voxels then met without
		 * pairs, and an edge box at 1 um came out 15 % low.) */
		for (int64_t q = 0; q < n_cores; q++)
			L->sup_q[q] = react[q] != 0;
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
	    !ALLOC(L->ch_dir, nch) || !ALLOC(L->lk_out, nlk) || !ALLOC(L->lk_g, nlk) ||
	    !ALLOC(L->lk_kin, nlk) || !ALLOC(L->lk_kout, nlk) || !ALLOC(L->v_core, nc) ||
	    !ALLOC(L->cf_ptr, nc + 1) || !ALLOC(L->cf, nch) || !ALLOC(L->co_ptr, nc + 1) ||
	    !ALLOC(L->co, nlk) || !ALLOC(L->cpl, nch) || !ALLOC(L->flux, nch) ||
	    !ALLOC(L->src0, nlk) || !ALLOC(L->a_in, nch) || !ALLOC(L->a_out, nlk) ||
	    !ALLOC(L->c_oi, nlk) || !ALLOC(L->c_io, nlk) || !ALLOC(L->l0, nlk) ||
	    !ALLOC(L->m0, nlk) || !ALLOC(L->u0, nch) || !ALLOC(L->un, nch) ||
	    !ALLOC(L->diag_extra, nc) || !ALLOC(L->D_q, nc) || !ALLOC(L->wq, nc) ||
	    !ALLOC(L->K.rowptr, nc + 1)) {
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
				L->ch_dir[t] = (uint8_t)d;
				L->ch_cls[t] = (uint8_t)chain_class(L->active[q], d);
				L->ch_off[t] = off;
				off += pass == 0 ? L->sg->n + 1 : L->sgl->n + 1;
				if (pass == 1)
					L->lk_out[t - nf] = core[nb[d]];
				t++;
			}
		}
	L->nstate = off;
	if (!ALLOC(L->lu, 3 * (off - nc)) ||
	    (L->sup_q != NULL &&
	     (!ALLOC(L->yu, nf * (L->sg->n + 1)) || !ALLOC(L->fw, nf * (L->sg->n + 1)) ||
	      !ALLOC(L->fa, nf * (L->sg->n + 1))))) {
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
	int64_t *fill = calloc((size_t)nc + 1, sizeof *fill),
		*fill2 = calloc((size_t)nc + 1, sizeof *fill2);
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
			if (stores(L, L->cf[s]))
				v -= geometry(L, L->cf[s])->total[L->ch_cls[L->cf[s]]];
		L->v_core[q] = v;
	}
	double *red = calloc((size_t)(6 * nc) + 1, sizeof *red);
	if (red == NULL || side_links(L, core, react, red) != VB_OK) {
		free(red);
		vb_lithium_free(&L);
		vb_err_set(e, VB_ERR_RUN,
			   "out of memory for the side links of the sub-voxel chains");
		return NULL;
	}
	/* what the side links leave of a face for the links between cores (or a
	 * core and a junction): never less than the core's own strip, 0.1 h^2 */
	const double h2 = L->h * L->h;
#define SHARED(a, b) fmax(0.1 * h2, h2 - fmax((a), (b)))
	for (int64_t k = 0; k < nlk; k++) {
		const int64_t v = L->lk_out[k];
		const int side = 5 - L->ch_dir[nf + k]; /* v's face towards the link chain */
		L->lk_g[k] =
			FARADAY * SHARED(red[6 * v + side], 0) / core_to_face(L, react, v, side);
	}
	/* the core Laplacian: the area they share over the distance between core
	 * nodes; a pair joined by a link chain keeps its entry (weight 0) */
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
				const double g =
					FARADAY * SHARED(red[6 * q + d], red[6 * b + 5 - d]) / len;
				L->K.val[p] = -g;
				dsum += g;
			}
			p++;
		}
		if (pd < 0)
			pd = p, L->K.col[p++] = q;
		L->K.val[pd] = dsum;
	}
#undef SHARED
	free(red);
	for (int64_t k = 0; k < nlk; k++) {
		const int64_t in = L->ch_core[nf + k], out = L->lk_out[k];
		L->lk_kin[k] = find_pos(&L->K, in, out);
		L->lk_kout[k] = find_pos(&L->K, out, in);
	}
	if (side_cores(L) != VB_OK || back_faces(L, core, react) != VB_OK) {
		vb_lithium_free(&L);
		vb_err_set(e, VB_ERR_RUN,
			   "out of memory for the side links of the sub-voxel chains");
		return NULL;
	}
	if (L->sgs != NULL && split.lateral && lateral_modes(L) != VB_OK) {
		vb_lithium_free(&L);
		vb_err_set(e, VB_ERR_RUN,
			   "out of memory for the lateral modes of the sub-voxel chains");
		return NULL;
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
		if (!stores(L, t))
			continue;
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
			const double *vol = g->vol + L->ch_cls[t] * (g->n + 1),
				     *ct = c + L->ch_off[t];
			for (int j = 1; j <= g->n && stores(L, t); j++)
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
	for (int64_t i = 0; c_sub != NULL && i < nsub; i++) {
		const double hi = L->comp != NULL && L->comp[L->nc + i] ? UNBOUNDED * cmax : cmax;
		if (!(c_sub[i] > 0 && c_sub[i] < hi))
			return vb_err_set(e, VB_ERR_INPUT,
					  "sub-voxel value %lld is %g mol/m^3, expected inside (0, "
					  "%g)",
					  (long long)i, c_sub[i], hi);
	}
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
				if (stores(L, t))
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

/* The Kirchhoff potential and diffusivity of every node at state c (the
 * cores' first, index q). */
static void eval_nodes(vb_lithium *L, const double *c)
{
#pragma omp parallel for schedule(static)
	for (int64_t i = 0; i < L->nstate; i++)
		L->phi_all[i] = vb_cam_kirchhoff(L->law, c[i], &L->d_all[i]);
}

/* Adds the side links' fluxes at the Kirchhoff potentials phi to R: pairs
 * colour by colour (a colour touches a chain once, so its pairs run in
 * parallel), then each chain's entries, then their receivers; a fixed order
 * on any thread count. */
static void side_residual(vb_lithium *L, const double *phi, double *R)
{
	const int n = L->sg->n;
	/* a pair of superposed chains links node j to node j on their
	 * deviations from their cores (the cores exchange the mean through K);
	 * what a chain's deviations gain as a whole goes to its own core as
	 * every uptake does, so such a pair moves no Li between voxels. Two
	 * saturated nodes differ in deviation as their cores differ, so the
	 * pair would push Li into a node at c_max (Study P LIB cell, 1 um, 1
	 * mA/cm2, t = 9324 s: Newton stalled there with nodes 1-4 of a chain one
	 * rounding step below c_max, each row asking for more, and the steps
	 * collapsed to microseconds). So a pair fades with the smaller of its
	 * two nodes' weights fw (follow()), as their uniform parts do: exact
	 * wherever neither node is within FADE c_max of its bound; the weight's
	 * own derivative is left out of the Jacobian. */
	for (int col = 0; col < 6; col++) {
#pragma omp parallel for schedule(static)
		for (int64_t p = L->pair_ptr[col]; p < L->pair_ptr[col + 1]; p++) {
			const int64_t a = L->pair_a[p], b = L->pair_b[p];
			const int64_t oa = L->ch_off[a], ob = L->ch_off[b];
			const int sup = superposed(L, a);
			const double pa = sup ? phi[L->ch_core[a]] : 0,
				     pb = sup ? phi[L->ch_core[b]] : 0;
			const double *g = L->pair_g + p * n;
			const double *wa = sup ? L->fw + a * (n + 1) : NULL,
				     *wb = sup ? L->fw + b * (n + 1) : NULL;
			double net = 0;
			for (int j = 1; j <= n; j++) {
				const double gj = sup ? g[j - 1] * fmin(wa[j], wb[j]) : g[j - 1];
				const double f = gj * ((phi[oa + j] - pa) - (phi[ob + j] - pb));
				R[oa + j] += f, R[ob + j] -= f;
				net += f;
			}
			if (sup)
				L->side_net[a] += net, L->side_net[b] -= net;
		}
	}
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < L->nf; t++) {
		if (!superposed(L, t))
			continue;
		const int64_t o = L->ch_off[t];
		const double pq = phi[L->ch_core[t]];
		double net = L->side_net[t];
		for (int j = 1; j <= n; j++) {
			const double f = L->g_dev[o + j] * (phi[o + j] - pq);
			R[o + j] += f, net += f;
		}
		const double *w = L->fw + t * (n + 1);
		for (int j = 1; j <= n; j++)
			R[o + j] -= w[j] * vb_subgrid_share(L->sgs, L->ch_cls[t], j) * net;
		L->net_all[t] = net;
		L->side_net[t] = 0;
	}
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < L->nf; t++) {
		const int64_t o = L->ch_off[t];
		for (int64_t k = L->ent_ptr[t]; k < L->ent_ptr[t + 1]; k++) {
			const double *g = L->ent_g + k * n, pr = phi[L->ent_rec[k]];
			double sum = 0;
			for (int j = 1; j <= n; j++) {
				const double f = g[j - 1] * (phi[o + j] - pr);
				R[o + j] += f, sum += f;
			}
			L->ent_sum[k] = sum;
		}
	}
#pragma omp parallel for schedule(static)
	for (int64_t r = 0; r < L->nrec; r++) {
		double s = 0;
		for (int64_t p = L->rec_ptr[r]; p < L->rec_ptr[r + 1]; p++)
			s += L->ent_sum[L->rec_ent[p]];
		R[L->rec_idx[r]] -= s;
	}
}

/* The Li balances with every flux a difference of phi (the nodes'
 * Kirchhoff potentials), storage F_dt V (c - c_old) (c_old NULL: zeros)
 * and the reacting faces' sources i_face. Linear in (phi, c, i_face): the
 * residual at phi = Phi(c), the Jacobian's product with dc at phi = D dc. */
static void balances(vb_lithium *L, const double *phi, const double *c, const double *c_old,
		     double F_dt, const double *i_face, double *R)
{
	back_fluxes(L, phi);
#pragma omp parallel for schedule(dynamic, 1024)
	for (int64_t t = 0; t < L->nch; t++) {
		const int64_t o = L->ch_off[t], q = L->ch_core[t];
		double src;
		if (t < L->nf) {
			src = i_face[t];
		} else {
			/* Li leaving the junction node for the core across the face */
			const int64_t k = t - L->nf;
			src = L->lk_g[k] * (phi[o] - phi[L->lk_out[k]]);
			L->src0[k] = src;
		}
		const double dc_q = c[q] - (c_old != NULL ? c_old[q] : 0);
		const int sup = superposed(L, t);
		const double back = sup ? L->ch_back[t] : 0;
		const int64_t fo = t * (L->sg->n + 1);
		L->flux[t] = vb_subgrid_residual(geometry(L, t), L->ch_cls[t], phi + o, phi[q],
						 dc_q, c + o, c_old != NULL ? c_old + o : NULL,
						 F_dt, src, back, sup ? L->fw + fo : NULL,
						 sup && c_old == NULL ? L->fa + fo : NULL, R + o);
	}
	vb_linsolve_spmv(&L->K, phi, R);
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < L->nc; q++) {
		double s = 0;
		for (int64_t p = L->cf_ptr[q]; p < L->cf_ptr[q + 1]; p++)
			s += L->flux[L->cf[p]];
		for (int64_t p = L->co_ptr[q]; p < L->co_ptr[q + 1]; p++)
			s += L->src0[L->co[p]];
		R[q] += F_dt * L->v_core[q] * (c[q] - (c_old != NULL ? c_old[q] : 0)) - s;
	}
	back_correct(L, R);
	side_residual(L, phi, R);
}

/* A superposed chain's node holds its core plus the face's deviation, and
 * gains with every cell of its chain what the chain hands on uniformly: the
 * core's change (the voxel's other faces' uptake among it), less its share
 * of the face's uptake and of what its pairs and leaks carry off. A node at
 * saturation cannot gain: the sum would pass c_max, where no Butler-Volmer
 * current or diffusion could put it, and Newton stalled (Study P cell, 2
 * um, 1 mA/cm2, t = 6059 s: a node one rounding step below c_max whose row
 * asked for more; docs/solve.md). So each node takes its uniform part with
 * a weight w that fades linearly from 1 to 0 over the last FADE c_max before
 * the bound the core moves towards (c_max when it rises, 0 when it falls).
 * Only the deviations are cut there (a chain's sum to slightly less than
 * zero); the voxel's Li is its core's and stays conserved. Exact wherever
 * no node is within FADE c_max of the bound. The side pairs fade with the
 * same weights (side_residual). */
#define FADE 1e-3

/* Before a residual (i_face NULL): each superposed node's weight fw at
 * state c. After it: the fade's part of the Jacobian, the uniform gain per
 * volume times -dw/dc_j over F / dt on each node's storage (fa). */
static void follow(vb_lithium *L, const double *c, const double *c_old, double F_dt,
		   const double *i_face)
{
	const int n = L->sg->n;
	const double band = FADE * L->law->cmax;
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < L->nf; t++) {
		if (!superposed(L, t))
			continue;
		const int64_t o = L->ch_off[t], q = L->ch_core[t], fo = t * (n + 1);
		const double dq = c[q] - (c_old != NULL ? c_old[q] : 0);
		if (i_face == NULL) {
			for (int j = 0; j <= n; j++) {
				/* with lateral modes a node is a component of the
				 * superposition, free to pass c_max (vb_lithium_components) */
				const double room = dq >= 0 ? L->law->cmax - c[o + j] : c[o + j];
				const double r = L->comp != NULL && L->comp[o] ? 1 : room / band;
				L->fw[fo + j] = r >= 1 ? 1 : r <= 0 ? 0 : r;
			}
			continue;
		}
		const double gain = F_dt * dq + (i_face[t] + L->ch_back[t] + L->net_all[t]) /
							L->sgs->total[L->ch_cls[t]];
		const double slope = (dq >= 0 ? 1 : -1) * gain / (band * F_dt);
		for (int j = 0; j <= n; j++) {
			const double w = L->fw[fo + j];
			L->fa[fo + j] = w > 0 && w < 1 ? slope : 0;
		}
	}
}

void vb_lithium_residual(vb_lithium *L, const double *c, const double *c_old, double dt,
			 const double *i_face, double *R)
{
	L->dt = dt;
	eval_nodes(L, c);
	if (L->sup_q != NULL)
		follow(L, c, c_old, FARADAY / dt, NULL);
	balances(L, L->phi_all, c, c_old, FARADAY / dt, i_face, R);
	if (L->sup_q != NULL)
		follow(L, c, c_old, FARADAY / dt, i_face);
}

void vb_lithium_jacobian_apply(vb_lithium *L, const double *x, const double *di_face, double *y)
{
#pragma omp parallel for schedule(static)
	for (int64_t i = 0; i < L->nstate; i++)
		L->w_all[i] = L->d_all[i] * x[i];
	balances(L, L->w_all, x, NULL, FARADAY / L->dt, di_face, y);
}

/* b = -d R / d c_q of superposed chain t's nodes (n + 1 values): its
 * storage and its leaks to flat neighbours, which are measured from the
 * core, each with its share handed back (vb_subgrid). */
static void core_column(const vb_lithium *L, int64_t t, double F_dt, double *b)
{
	const vb_subgrid *g = L->sgs;
	const int n = g->n, cls = L->ch_cls[t];
	const int64_t o = L->ch_off[t];
	const double dq = L->d_all[L->ch_core[t]], *vol = g->vol + cls * (n + 1);
	double G = 0;
	for (int j = 1; j <= n; j++)
		G += L->g_dev[o + j];
	const double *w = L->fw + t * (n + 1);
	b[0] = 0;
	for (int j = 1; j <= n; j++)
		b[j] = F_dt * vol[j] * w[j] +
		       (L->g_dev[o + j] - w[j] * vol[j] / g->total[cls] * G) * dq;
}

void vb_lithium_assemble(vb_lithium *L, const double *c, double dt, const double *a_face,
			 vb_lithium_face *face)
{
	const double F_dt = FARADAY / dt;
	L->dt = dt;
	(void)c; /* the residual's evaluation of the same state holds */
	const double *d_all = L->d_all;
#pragma omp parallel for schedule(dynamic, 1024)
	for (int64_t t = 0; t < L->nch; t++) {
		const int64_t o = L->ch_off[t], q = L->ch_core[t];
		vb_subgrid_coupling *k = &L->cpl[t];
		const double d0 = d_all[o];
		const double a = t < L->nf ? a_face[t] : L->lk_g[t - L->nf] * d0;
		if (superposed(L, t)) {
			/* the core row sees the face's current: a dc_0 through the
			 * surface node's response to the core */
			double b[65];
			core_column(L, t, F_dt, b);
			vb_subgrid_factor_superposed(
				L->sgs, L->ch_cls[t], d_all + o, F_dt, a, L->g_side + o,
				L->fw + t * (L->sg->n + 1), L->fa + t * (L->sg->n + 1), b,
				L->lu + 3 * (o - L->nc), L->yu + t * (L->sg->n + 1), k);
			L->a_in[t] = a * k->s0q;
			if (face != NULL) {
				face[t].s00 = k->s00;
				face[t].s0q = k->s0q;
				face[t].sq0 = 1 - a * k->s00;
			}
			continue;
		}
		vb_subgrid_factor(geometry(L, t), L->ch_cls[t], d_all + o, d_all[q], F_dt, a,
				  L->g_side + o, L->lu + 3 * (o - L->nc), k, L->resp + o);
		L->a_in[t] = k->r_q_cq - k->r_q_cn * k->znn * k->r_n_cq;
		if (t < L->nf) {
			/* how each node follows its core: -(T^-1 e_n) d R_n / d c_q */
			for (int j = 0; j <= geometry(L, t)->n; j++)
				L->resp[o + j] *= -k->r_n_cq;
		}
		if (t < L->nf) {
			if (face != NULL) {
				face[t].s00 = k->z00;
				face[t].s0q = -k->z0n * k->r_n_cq;
				face[t].sq0 = -k->r_q_cn * k->zn0;
			}
		} else {
			const int64_t j = t - L->nf, out = L->lk_out[j];
			const double g = L->lk_g[j];
			L->l0[j] = -g * d_all[out];
			L->m0[j] = -g * d0;
			L->a_out[j] = g * d_all[out] - L->m0[j] * k->z00 * L->l0[j];
			L->c_oi[j] = -L->m0[j] * k->z0n * k->r_n_cq;
			L->c_io[j] = -k->r_q_cn * k->zn0 * L->l0[j];
		}
	}
	/* the pairs' coupling of their cores: F x area / length x D, summed
	 * over the nodes (superposed pairs couple no cores) */
	const int n = L->sg->n;
#pragma omp parallel for schedule(static)
	for (int64_t s = 0; s < L->npair; s++) {
		const int64_t oa = L->ch_off[L->pair_a[s]], ob = L->ch_off[L->pair_b[s]];
		double G = 0;
		if (superposed(L, L->pair_a[s])) {
			L->side_G[s] = 0;
			continue;
		}
		for (int j = 1; j <= n; j++)
			G += L->pair_g[s * n + j - 1] * 0.5 * (d_all[oa + j] + d_all[ob + j]) *
			     L->resp[oa + j] * L->resp[ob + j];
		L->side_G[s] = G;
	}
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < L->nc; q++) {
		for (int64_t p = L->K.rowptr[q]; p < L->K.rowptr[q + 1]; p++)
			L->Ks[p] = 0;
		int64_t pd = L->K.rowptr[q];
		while (L->K.col[pd] != q)
			pd++;
		for (int64_t p = L->sc_ptr[q]; p < L->sc_ptr[q + 1]; p++) {
			const double G = L->side_G[L->sc[p]];
			L->Ks[L->sc_pos[p]] -= G;
			L->Ks[pd] += G;
		}
	}
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < L->nc; q++) {
		double a = 0;
		for (int64_t p = L->cf_ptr[q]; p < L->cf_ptr[q + 1]; p++)
			a += L->a_in[L->cf[p]];
		for (int64_t p = L->co_ptr[q]; p < L->co_ptr[q + 1]; p++)
			a += L->a_out[L->co[p]];
		const double dq = L->d_all[q], extra = F_dt * L->v_core[q] + a;
		L->diag_extra[q] = extra;
		for (int64_t p = L->K.rowptr[q]; p < L->K.rowptr[q + 1]; p++) {
			const int64_t b = L->K.col[p];
			L->P.val[p] = L->K.val[p];
			if (b == q) {
				L->D_q[q] = L->K.val[p] * dq + extra + L->Ks[p];
				L->P.val[p] += (extra + L->Ks[p]) / dq;
			} else if (L->Ks[p] != 0) {
				/* in w = D c, symmetric and diagonally dominant */
				L->P.val[p] += L->Ks[p] / fmax(dq, L->d_all[b]);
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
				-sqrt(L->c_io[j] * L->c_oi[j] / (L->d_all[out] * dq));
		}
		for (int64_t p = L->co_ptr[q]; p < L->co_ptr[q + 1]; p++) {
			const int64_t j = L->co[p], in = L->ch_core[L->nf + j];
			L->P.val[L->lk_kout[j]] =
				-sqrt(L->c_io[j] * L->c_oi[j] / (L->d_all[in] * dq));
		}
	}
}

void vb_lithium_condense(const vb_lithium *L, const double *b, double *b_core, double *u0)
{
	vb_lithium *W = (vb_lithium *)L; /* the chain solves are workspace */
#pragma omp parallel for schedule(dynamic, 1024)
	for (int64_t t = 0; t < L->nch; t++) {
		const int n = geometry(L, t)->n;
		const int64_t o = L->ch_off[t];
		double u[65];
		if (superposed(L, t))
			vb_subgrid_solve_superposed(n, L->lu + 3 * (o - L->nc), L->yu + t * (n + 1),
						    L->cpl[t].sm, b + o, u);
		else
			vb_subgrid_solve(n, L->lu + 3 * (o - L->nc), b + o, u);
		W->u0[t] = u[0], W->un[t] = u[n];
		if (t < L->nf && u0 != NULL)
			u0[t] = u[0];
	}
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < L->nc; q++) {
		double s = 0;
		for (int64_t p = L->cf_ptr[q]; p < L->cf_ptr[q + 1]; p++) {
			const int64_t t = L->cf[p];
			/* superposed: the core row takes the face's current, a c_0 */
			s += superposed(L, t) ? L->cpl[t].a * L->u0[t]
					      : L->cpl[t].r_q_cn * L->un[t];
		}
		for (int64_t p = L->co_ptr[q]; p < L->co_ptr[q + 1]; p++)
			s += L->m0[L->co[p]] * L->u0[L->nf + L->co[p]];
		b_core[q] = b[q] - s;
	}
}

void vb_lithium_expand(const vb_lithium *L, const double *b, const double *x_core, const double *ds,
		       double *x)
{
	if (x != x_core)
		memcpy(x, x_core, (size_t)L->nc * sizeof *x);
#pragma omp parallel for schedule(dynamic, 1024)
	for (int64_t t = 0; t < L->nch; t++) {
		const int n = geometry(L, t)->n;
		const int64_t o = L->ch_off[t];
		double rr[65];
		memcpy(rr, b + o, (size_t)(n + 1) * sizeof *rr);
		if (superposed(L, t)) {
			/* the source's change spread as the face's source vector, the
			 * core's change through every cell's storage and leak */
			const vb_subgrid *g = L->sgs;
			const double xq = x_core[L->ch_core[t]];
			double bq[65];
			core_column(L, t, FARADAY / L->dt, bq);
			const double *w = L->fw + t * (n + 1);
			for (int j = 0; j <= n; j++)
				rr[j] += (w[j] * vb_subgrid_share(g, L->ch_cls[t], j) - (j == 0)) *
						 ds[t] +
					 bq[j] * xq;
			vb_subgrid_solve_superposed(n, L->lu + 3 * (o - L->nc), L->yu + t * (n + 1),
						    L->cpl[t].sm, rr, x + o);
			continue;
		}
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
		L->wq[q] = L->d_all[q] * x[q];
	vb_linsolve_spmv(&L->K, L->wq, y);
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < L->nc; q++) {
		double s = L->diag_extra[q] * x[q];
		for (int64_t p = L->K.rowptr[q]; p < L->K.rowptr[q + 1]; p++)
			s += L->Ks[p] * x[L->K.col[p]];
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
		L->wq[q] = L->d_all[q] * r[q] / L->D_q[q];
	vb_linsolve_opts o = vb_linsolve_defaults();
	o.method = VB_LINSOLVE_PCG;
	o.rtol = 1e-8;
	o.max_iter = 1000;
	int rc = vb_linsolve_spd(&L->P, r, L->wq, &o, NULL, e);
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < L->nc; q++)
		z[q] = L->wq[q] / L->d_all[q];
	return rc;
}

double vb_lithium_rounding(const vb_lithium *L, const double *c, double dt)
{
	/* fixed blocks of chains, summed in order: the same on any thread count */
	enum { BLOCKS = 64 };
	const double F_dt = FARADAY / dt;
	double part[BLOCKS];
#pragma omp parallel for schedule(static)
	for (int blk = 0; blk < BLOCKS; blk++) {
		double s = 0, d;
		const int64_t q0 = L->nc * blk / BLOCKS, q1 = L->nc * (blk + 1) / BLOCKS;
		for (int64_t q = q0; q < q1; q++) {
			double t = F_dt * L->v_core[q] * c[q];
			s += t * t;
		}
		const int64_t t0 = L->nch * blk / BLOCKS, t1 = L->nch * (blk + 1) / BLOCKS;
		for (int64_t t = t0; t < t1; t++) {
			const vb_subgrid *g = geometry(L, t);
			const double *vol = g->vol + L->ch_cls[t] * (g->n + 1),
				     *cond = g->cond + L->ch_cls[t] * (g->n + 1),
				     *ct = c + L->ch_off[t];
			for (int j = 0; j <= g->n; j++) {
				double x = F_dt * vol[j] * ct[j] +
					   FARADAY * cond[j] *
						   fabs(vb_cam_kirchhoff(L->law, ct[j], &d));
				s += x * x;
			}
		}
		part[blk] = s;
	}
	double s = 0;
	for (int blk = 0; blk < BLOCKS; blk++)
		s += part[blk];
	return s;
}

/* ---- Lateral modes (docs/solve.md, "Lateral modes") ---- */

const uint8_t *vb_lithium_components(const vb_lithium *L)
{
	return L->comp;
}

int64_t vb_lithium_mode_count(const vb_lithium *L)
{
	return L->nm;
}

int64_t vb_lithium_mode_index(const vb_lithium *L, int64_t t)
{
	return L->md_off != NULL && t < L->nf ? L->md_off[t] : -1;
}

size_t vb_lithium_mode_work(const vb_lithium *L)
{
	return 10 * (size_t)(L->sg->n + 1);
}

/* Chain t's volume-weighted means over the first h/2 of its depth (near)
 * and over the rest (far; zeros where the chain does not reach): [0] its
 * deviation from its core's value cq, [1] and [2] its two mode chains
 * (zeros when modes is NULL). */
static void half_means(const vb_lithium *L, int64_t t, const double *c, double cq,
		       const double *modes, double near[3], double far[3])
{
	const int n = L->sgs->n, n1 = n + 1, cls = L->ch_cls[t];
	const double *vol = L->sgs->vol + cls * n1, *f = L->near_f + cls * n1;
	const double *ct = c + L->ch_off[t];
	const double *m0 = modes != NULL ? modes + L->md_off[t] : NULL, *m1 = m0 ? m0 + n1 : NULL;
	double vn = 0, vf = 0, sn[3] = {0, 0, 0}, sf[3] = {0, 0, 0};
	for (int j = 1; j <= n; j++) {
		const double wn = vol[j] * f[j], wf = vol[j] * (1 - f[j]);
		const double v[3] = {ct[j] - cq, m0 ? m0[j] : 0, m1 ? m1[j] : 0};
		vn += wn, vf += wf;
		for (int k = 0; k < 3; k++)
			sn[k] += wn * v[k], sf[k] += wf * v[k];
	}
	const double tiny = 1e-9 * L->sgs->total[cls];
	for (int k = 0; k < 3; k++) {
		near[k] = vn > tiny ? sn[k] / vn : 0;
		far[k] = vf > tiny ? sf[k] / vf : 0;
	}
}

void vb_lithium_lateral_cross(const vb_lithium *L, const double *c, const double *modes, double *x)
{
	memset(x, 0, 4 * (size_t)L->nf * sizeof *x);
	if (L->nm == 0)
		return;
#pragma omp parallel for schedule(dynamic, 256)
	for (int64_t q = 0; q < L->nc; q++) {
		if (!L->sup_q[q])
			continue;
		for (int64_t s = L->cf_ptr[q]; s < L->cf_ptr[q + 1]; s++) {
			const int64_t t = L->cf[s];
			if (t >= L->nf)
				continue;
			const int a = axis_of(L->ch_dir[t]), sa = side_of(L->ch_dir[t]);
			int lat[2];
			lateral_axes(a, lat);
			double *xt = x + 4 * t;
			for (int64_t s2 = L->cf_ptr[q]; s2 < L->cf_ptr[q + 1]; s2++) {
				const int64_t u = L->cf[s2];
				const int b = u < L->nf ? axis_of(L->ch_dir[u]) : a;
				if (b == a)
					continue;
				const int sb = side_of(L->ch_dir[u]), kb = b == lat[0] ? 0 : 1;
				int lat_u[2];
				lateral_axes(b, lat_u);
				const int ka = lat_u[0] == a ? 0 : 1; /* u's mode along a */
				double near[3], far[3];
				half_means(L, u, c, c[q], modes, near, far);
				for (int k = 0; k < 4; k++) {
					const int sg[2] = {vb_lithium_quarter_sign(k, 0),
							   vb_lithium_quarter_sign(k, 1)};
					const double *m = sg[kb] == sb ? near : far;
					/* u's layer over the quarter's half along b, its mode
					 * along a at t's side, its mode along the third axis
					 * over the quarter's half of that one */
					xt[k] += m[0] + sa * m[1 + ka] + sg[1 - kb] * m[2 - ka];
				}
			}
		}
	}
}

void vb_lithium_mode_factor(const vb_lithium *L, int64_t t, const double *c_old,
			    const double *m_old, double dt, double *work, double u[2], double r[2])
{
	const int n = L->sgs->n, n1 = n + 1, cls = L->ch_cls[t];
	const double *vol = L->sgs->vol + cls * n1, *ct = c_old + L->ch_off[t];
	const double F_dt = FARADAY / dt, k2 = (M_PI / L->h) * (M_PI / L->h);
	double d[65];
	for (int j = 0; j < n1; j++)
		(void)vb_cam_kirchhoff(L->law, ct[j], &d[j]);
	for (int k = 0; k < 2; k++) {
		double *lu = work + 5 * n1 * k, *xb = lu + 3 * n1, *xe = xb + n1;
		const double *so = m_old + L->md_off[t] + k * n1;
		vb_subgrid_factor_mode(L->sgs, cls, d, F_dt, k2, lu);
		for (int j = 0; j < n1; j++)
			xb[j] = F_dt * vol[j] * so[j], xe[j] = j == 0;
		vb_subgrid_solve(n, lu, xb, xb);
		vb_subgrid_solve(n, lu, xe, xe);
		u[k] = xb[0], r[k] = xe[0];
	}
}

void vb_lithium_mode_finish(const vb_lithium *L, int64_t t, const double *work, const double I[2],
			    double *m_new)
{
	const int n1 = L->sgs->n + 1;
	for (int k = 0; k < 2; k++) {
		const double *xb = work + 5 * n1 * k + 3 * n1, *xe = xb + n1;
		double *m = m_new + L->md_off[t] + k * n1;
		for (int j = 0; j < n1; j++)
			m[j] = xb[j] - I[k] * xe[j];
	}
}
