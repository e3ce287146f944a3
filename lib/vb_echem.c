/* vb_echem: finite-volume discretisation of the cell model on the voxel grid
 * and its Newton step (PHYSICS.md §2): potentials, Butler-Volmer faces and
 * the electronic network here, the lithium state of the CAM in vb_lithium,
 * the liquid electrolyte's c_e and its face laws (LIB) in vb_electrolyte.
 * An ASSB cell is the case without c_e unknowns (t+ = 1, constant c_e).
 * Newton's linear systems are condensed onto the potentials, the CAM
 * voxels' cores and c_e (vb_lithium eliminates its chains exactly), then
 * solved by flexible GMRES preconditioned with a block factorisation whose
 * potential and c_e blocks go to AMG (docs/solve.md). */
#include "vb_echem.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vb_cam.h"
#include "vb_electrolyte.h"
#include "vb_kinetics.h"
#include "vb_linsolve.h"
#include "vb_lithium.h"

#define FARADAY 96485.33212
#define GAS_R 8.314462618

/* The potentials of a voxel (PHYSICS.md §2): NODE_S the electronic one
 * (phi_s: CAM, Li, and CBD in a LIB cell), NODE_E the ionic one (phi_e: SE,
 * LE, separator, CBD). Only a LIB CBD voxel has both. Node 2 v + kind. */
enum node { NODE_S = 0, NODE_E = 1 };

/* What a potential row stands for: an ionic row, a solid row of the
 * cathode side (CAM, CBD, the collector node), a Li metal row. */
enum row_kind { ROW_ION, ROW_CATHODE, ROW_LI };

/* What an entry of the potential Jacobian J holds, for the entries whose
 * conductance follows the state: the ohmic links with a CAM voxel at one
 * end (sigma(c_s)) and the electrolyte's faces of a LIB cell. */
enum entry { ENTRY_OTHER, ENTRY_CAM_OHM, ENTRY_CAM_CC, ENTRY_ELYTE };

struct vb_echem {
	const vb_params *p;
	vb_image grid; /* dimensions, voxel size, labels (= lab) */
	int64_t nvox;
	double area;	    /* projected cross-section, m^2 */
	double vol;	    /* voxel volume, m^3 */
	int lib;	    /* a LIB cell: c_e unknowns, CBD with two potentials */
	int64_t np, nc, cc; /* potential unknowns (cc = collector node = np-1), CAM voxels */
	int64_t ne;	    /* c_e unknowns (LIB) */
	uint8_t *lab;	    /* copy of the labels */
	int64_t *srow;	    /* nvox: electronic potential row or -1 */
	int64_t *erow;	    /* nvox: ionic potential row or -1 */
	int64_t *cam;	    /* nvox: CAM unknown (core) or -1 */
	int64_t *pot_voxel; /* np-1 */
	uint8_t *row_kind;  /* np: enum row_kind */
	uint8_t *var_row;   /* np: the row has ENTRY_CAM_OHM or ENTRY_CAM_CC entries */
	int64_t *cam_voxel; /* nc */
	vb_csr J, S; /* condensed potential Jacobian and its preconditioning Schur approximation */
	double *fixed; /* ohmic and ground part of J (J's pattern), at the current sigma */
	double *dfix;  /* np: the part of fixed's diagonal that does not follow the state */
	int64_t *diag; /* np: position of each diagonal in J */
	uint8_t *kind; /* per entry of J: enum entry */
	int8_t *n_cc;  /* per core: faces touching the cathode collector */
	/* faces: 0..nf-1 CAM|SE, nf..nf+nl-1 Li|SE */
	int64_t nf, nl;
	int64_t *f_cam, *f_ps, *f_pe, *f_pos_se, *f_pos_es; /* nf + nl (f_cam only nf) */
	double *f_i, *f_g, *f_a; /* A/m^2; A di/deta (S); A di/dc_surf (A m^3/mol) */
	double *f_w;		 /* nf: the face's share of reacting area (the CBD's porosity) */
	double *f_b;		 /* nf: A di/dc_e (A m^3/mol; LIB) */
	int64_t *f_ce;		 /* nf + nl: the c_e unknown of the electrolyte side (LIB) */
	/* condensed face coefficients (nf; docs/solve.md): the face's conductance
	 * in J and its J_pq and J_qp entries, and (LIB) its c_e columns in the
	 * potential and core rows */
	double *f_gp, *f_ac, *f_gc, *f_bp, *f_bc;
	double *f_dc;		     /* nf + nl: workspace, the condensed currents' change */
	double *f_src, *f_u0, *f_ds; /* nf: A f_i, chain solves, source changes */
	double *f_di;		     /* nf + nl: the currents' change, A (full_apply) */
	vb_lithium_face *f_li;	     /* nf */
	/* lateral modes (vb_lithium.h; docs/solve.md, "Lateral modes"): their
	 * values follow c_e in the state (nm of them). Each face with modes
	 * reacts on four quarters at its surface node plus the other chains'
	 * part f_off (fixed over a step) plus its own modes' surface values
	 * f_S with the quarter's signs; during a step (md_solve) f_S solves
	 * the face's two mode chains, S_k = u_k - r_k I_k (f_ur: u_0, u_1,
	 * r_0, r_1), I_k (f_I) the quarters' currents weighted by their signs */
	int64_t nm;
	int md_solve;
	double *f_off;	      /* 4 nf */
	double *f_ur;	      /* 4 nf */
	double *f_S, *f_I;    /* 2 nf */
	int64_t *rf_ptr, *rf; /* per potential row: faces (2 f + 1 on the electrolyte side) */
	int64_t *cf_ptr, *cf; /* per core: its CAM|SE faces */
	double *sig, *dsig;   /* nc: electronic conductivity of each core and its derivative */
	vb_cam *law;
	vb_lithium *li;
	vb_electrolyte *el;	/* LIB: the c_e unknowns and their faces */
	int64_t *ceu;		/* LIB, nvox: the c_e unknown of each voxel or -1 */
	int64_t *ee_ab, *ee_ba; /* per electrolyte face: the positions of its G in J */
	/* model constants */
	double f, alpha, i00, ce, cmax, c0, alpha_li, i0_li, u_li, sigma_cc, sigma_cbd;
	/* Newton workspace */
	vb_linsolve_kept amg; /* S's hierarchy */
	double dt;
	const double *phi_now; /* potentials of the current Newton iterate (sigma(c) terms) */
	double *sb_val;	       /* per entry of J: sigma_coupling */
	int32_t *sb_col;
	int64_t inner_its, cond_its; /* AMG-PCG, condensed GMRES iterations */
	double amg_rtol, cond_rtol;
	int64_t amg_rebuild;
	const vb_linsolve_stats *outer;	 /* the outer GMRES's, while it runs */
	double *tc, *yp, *tmp_c, *b_red; /* preconditioner and condensation workspace */
	double *te;			 /* ne: preconditioner workspace (LIB) */
	int64_t el_its, el_setups;	 /* c_e block: AMG-PCG iterations, hierarchies */
	/* kept between steps: the GMRES bases (outer, condensed) and Newton's
	 * four vectors of all unknowns (nw) */
	vb_linsolve_work w_outer, w_cond, nw;
};

vb_echem_opts vb_echem_defaults(void)
{
	vb_echem_opts o = {1e-9, 12, 1e-10, 3e-1, 4};
	return o;
}

static int ionic(int phase)
{
	return phase == VB_PHASE_ELECTROLYTE || phase == VB_PHASE_CBD ||
	       phase == VB_PHASE_SEPARATOR;
}

/* Whether the electronic potentials of neighbours of phases a and b are
 * joined ohmically: one conductor, or the CAM|CBD contact of a LIB cell. */
static int solid_link(const vb_echem *m, int a, int b)
{
	if (a == b && (a == VB_PHASE_CAM || a == VB_PHASE_LI))
		return 1;
	return m->lib && (a == VB_PHASE_CAM || a == VB_PHASE_CBD) &&
	       (b == VB_PHASE_CAM || b == VB_PHASE_CBD);
}

/* Whether a voxel of phase a joins the cathode collector node through its
 * face towards a neighbour of phase b. */
static int cc_link(const vb_echem *m, int a, int b)
{
	return b == VB_PHASE_CATHODE_CC && (a == VB_PHASE_CAM || (m->lib && a == VB_PHASE_CBD));
}

/* Whether an electrode of phase a reacts with an ion conductor of phase b
 * across their face. */
static int bv_link(int a, int b)
{
	return (a == VB_PHASE_CAM || a == VB_PHASE_LI) && ionic(b);
}

/* Electronic (kind NODE_S) or ionic conductivity (S/m) of a voxel of phase ph. */
static double sigma_of(const vb_echem *m, int ph, int kind)
{
	const vb_params *p = m->p;
	if (kind == NODE_E) {
		double s = vb_params_get(p, "electrolyte.conductivity");
		return ph == VB_PHASE_SEPARATOR
			       ? s * vb_params_get(p, "separator.conductivity_factor")
			       : s;
	}
	switch (ph) {
	case VB_PHASE_CAM: return vb_params_get(p, "cam.conductivity");
	case VB_PHASE_LI: return vb_params_get(p, "li_metal.conductivity");
	case VB_PHASE_CBD: return m->sigma_cbd;
	case VB_PHASE_CATHODE_CC: return vb_params_get(p, "collectors.cathode_conductivity");
	case VB_PHASE_ANODE_CC: return vb_params_get(p, "collectors.anode_conductivity");
	}
	return 0;
}

/* Face conductance (S) between two voxel centres: half-voxel resistances in
 * series, i.e. the harmonic mean of the two conductivities times h. */
static double face_conductance(double s1, double s2, double h)
{
	return 2.0 * s1 * s2 / (s1 + s2) * h;
}

/* The 6 face neighbours of voxel v in ascending index order; -1 outside. */
static void neighbours(const vb_echem *m, int64_t v, int64_t nb[6])
{
	const vb_image *g = &m->grid;
	const int64_t k = v % g->nz, j = (v / g->nz) % g->ny, i = v / (g->nz * g->ny);
	nb[0] = i > 0 ? vb_voxel_index(g, i - 1, j, k) : -1;
	nb[1] = j > 0 ? vb_voxel_index(g, i, j - 1, k) : -1;
	nb[2] = k > 0 ? vb_voxel_index(g, i, j, k - 1) : -1;
	nb[3] = k < g->nz - 1 ? vb_voxel_index(g, i, j, k + 1) : -1;
	nb[4] = j < g->ny - 1 ? vb_voxel_index(g, i, j + 1, k) : -1;
	nb[5] = i < g->nx - 1 ? vb_voxel_index(g, i + 1, j, k) : -1;
}

/* Marks the potentials (nodes 2 v + kind) joined to the grounded anode
 * through the links of PHYSICS.md §2 (reach[node] = 1) and whether the
 * collector node is reached. */
static void reach_from_ground(const vb_echem *m, const uint8_t *lab, uint8_t *reach, int64_t *queue,
			      int *cc_reached)
{
	int64_t head = 0, tail = 0, nb[6];
	*cc_reached = 0;
	for (int64_t v = 0; v < m->nvox; v++) {
		if (lab[v] != VB_PHASE_LI)
			continue;
		neighbours(m, v, nb);
		for (int d = 0; d < 6; d++)
			if (nb[d] >= 0 && lab[nb[d]] == VB_PHASE_ANODE_CC) {
				reach[2 * v] = 1, queue[tail++] = 2 * v;
				break;
			}
	}
#define VISIT(node_)                                                                               \
	do {                                                                                       \
		const int64_t n_ = (node_);                                                        \
		if (!reach[n_])                                                                    \
			reach[n_] = 1, queue[tail++] = n_;                                         \
	} while (0)
	while (head < tail) {
		const int64_t node = queue[head++], v = node / 2;
		const int a = lab[v];
		neighbours(m, v, nb);
		for (int d = 0; d < 6; d++) {
			if (nb[d] < 0)
				continue;
			const int64_t u = nb[d];
			const int b = lab[u];
			if (node % 2 == NODE_E) {
				if (ionic(b))
					VISIT(2 * u + NODE_E);
				if (bv_link(b, a))
					VISIT(2 * u + NODE_S);
				continue;
			}
			if (solid_link(m, a, b))
				VISIT(2 * u + NODE_S);
			if (bv_link(a, b))
				VISIT(2 * u + NODE_E);
			if (cc_link(m, a, b) && !*cc_reached) {
				/* The collector is one node: every solid voxel touching
				 * it is joined. */
				*cc_reached = 1;
				int64_t nb2[6];
				for (int64_t w = 0; w < m->nvox; w++) {
					neighbours(m, w, nb2);
					for (int d2 = 0; d2 < 6; d2++)
						if (nb2[d2] >= 0 &&
						    cc_link(m, lab[w], lab[nb2[d2]])) {
							VISIT(2 * w + NODE_S);
							break;
						}
				}
			}
		}
	}
#undef VISIT
}

/* Position of column col in row r of A; -1 if absent. */
static int64_t find_pos(const vb_csr *A, int64_t r, int64_t col)
{
	for (int64_t q = A->rowptr[r]; q < A->rowptr[r + 1]; q++)
		if (A->col[q] == col)
			return q;
	return -1;
}

void vb_echem_free(vb_echem **mp)
{
	if (mp == NULL || *mp == NULL)
		return;
	vb_echem *m = *mp;
	free(m->lab), free(m->srow), free(m->erow), free(m->cam), free(m->pot_voxel);
	free(m->row_kind), free(m->var_row), free(m->cam_voxel);
	free(m->S.val);
	m->S.val = NULL;
	vb_linsolve_csr_free(&m->J);
	free(m->fixed), free(m->dfix), free(m->diag), free(m->kind), free(m->n_cc);
	free(m->f_cam), free(m->f_ps), free(m->f_pe), free(m->f_pos_se), free(m->f_pos_es);
	free(m->f_i), free(m->f_g), free(m->f_a), free(m->f_w), free(m->f_b), free(m->f_ce);
	free(m->f_gp), free(m->f_ac), free(m->f_gc), free(m->f_bp), free(m->f_bc), free(m->f_dc);
	free(m->f_src), free(m->f_u0), free(m->f_ds), free(m->f_di), free(m->f_li);
	free(m->f_off), free(m->f_ur), free(m->f_S), free(m->f_I);
	free(m->rf_ptr), free(m->rf), free(m->cf_ptr), free(m->cf);
	free(m->sig), free(m->dsig), free(m->sb_val), free(m->sb_col);
	vb_lithium_free(&m->li);
	vb_electrolyte_free(&m->el);
	free(m->ee_ab), free(m->ee_ba), free(m->ceu);
	vb_cam_free(&m->law);
	vb_linsolve_kept_free(&m->amg);
	free(m->tc), free(m->yp), free(m->tmp_c), free(m->b_red), free(m->te);
	vb_linsolve_work_free(&m->w_outer), vb_linsolve_work_free(&m->w_cond);
	vb_linsolve_work_free(&m->nw);
	free(m);
	*mp = NULL;
}

/* 1 if the face of CAM voxel v towards neighbour u (-1: outside) reacts. */
static int reacts(const vb_echem *m, const uint8_t *lab, int64_t v, int64_t u)
{
	return u >= 0 && m->erow[u] >= 0 && bv_link(lab[v], lab[u]);
}

/* The rows (electronic then ionic, voxel by voxel) and CAM cores of the
 * reached potentials. */
static int number_rows(vb_echem *m, const uint8_t *lab, const uint8_t *reach, const char *what,
		       vb_err *e)
{
	m->srow = malloc((size_t)m->nvox * sizeof *m->srow);
	m->erow = malloc((size_t)m->nvox * sizeof *m->erow);
	m->cam = malloc((size_t)m->nvox * sizeof *m->cam);
	if (m->srow == NULL || m->erow == NULL || m->cam == NULL)
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	int64_t np = 0, nc = 0;
	for (int64_t v = 0; v < m->nvox; v++) {
		m->srow[v] = reach[2 * v + NODE_S] ? np++ : -1;
		m->erow[v] = reach[2 * v + NODE_E] ? np++ : -1;
		m->cam[v] = m->srow[v] >= 0 && lab[v] == VB_PHASE_CAM ? nc++ : -1;
	}
	if (nc == 0)
		return vb_err_set(e, VB_ERR_INPUT, "%s: no CAM voxel takes part in the reaction",
				  what);
	m->cc = np;
	m->np = np + 1;
	m->nc = nc;
	m->pot_voxel = malloc((size_t)np * sizeof *m->pot_voxel);
	m->row_kind = malloc((size_t)m->np);
	m->var_row = calloc((size_t)m->np, 1);
	m->cam_voxel = malloc((size_t)nc * sizeof *m->cam_voxel);
	if (!m->pot_voxel || !m->row_kind || !m->var_row || !m->cam_voxel)
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	for (int64_t v = 0; v < m->nvox; v++) {
		if (m->srow[v] >= 0) {
			m->pot_voxel[m->srow[v]] = v;
			m->row_kind[m->srow[v]] = lab[v] == VB_PHASE_LI ? ROW_LI : ROW_CATHODE;
		}
		if (m->erow[v] >= 0)
			m->pot_voxel[m->erow[v]] = v, m->row_kind[m->erow[v]] = ROW_ION;
		if (m->cam[v] >= 0)
			m->cam_voxel[m->cam[v]] = v;
	}
	m->row_kind[m->cc] = ROW_CATHODE;
	return VB_OK;
}

/* Row r's voxel and kind of potential. */
static int64_t row_node(const vb_echem *m, int64_t r, int *kind)
{
	const int64_t v = m->pot_voxel[r];
	*kind = m->srow[v] == r ? NODE_S : NODE_E;
	return v;
}

/* LIB: the c_e unknowns (one per voxel with an ionic potential, in voxel
 * order), the electrolyte's faces with their places in J, and the c_e
 * unknown on the electrolyte side of every reacting face. */
static int build_electrolyte(vb_echem *m, vb_err *e)
{
	int64_t *unk = malloc((size_t)m->nvox * sizeof *unk);
	if (unk == NULL)
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	int64_t ne = 0;
	for (int64_t v = 0; v < m->nvox; v++)
		unk[v] = m->erow[v] >= 0 ? ne++ : -1;
	m->ne = ne;
	m->el = vb_electrolyte_new(&m->grid, m->p, unk, m->erow, ne, e);
	if (m->el == NULL) {
		free(unk);
		return e->status;
	}
	for (int64_t t = 0; t < m->nf + m->nl; t++)
		m->f_ce[t] = unk[m->pot_voxel[m->f_pe[t]]];
	m->ceu = unk;
	const int64_t nfe = vb_electrolyte_faces(m->el);
	m->ee_ab = malloc((size_t)(nfe + 1) * sizeof *m->ee_ab);
	m->ee_ba = malloc((size_t)(nfe + 1) * sizeof *m->ee_ba);
	m->te = malloc((size_t)(ne + 1) * sizeof *m->te);
	if (!m->ee_ab || !m->ee_ba || !m->te)
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	for (int64_t k = 0; k < nfe; k++) {
		int64_t a, b;
		vb_electrolyte_face_ends(m->el, k, &a, &b);
		const int64_t ra = vb_electrolyte_row(m->el, a), rb = vb_electrolyte_row(m->el, b);
		m->ee_ab[k] = find_pos(&m->J, ra, rb), m->ee_ba[k] = find_pos(&m->J, rb, ra);
		if (m->ee_ab[k] < 0 || m->ee_ba[k] < 0)
			return vb_err_set(e, VB_ERR_RUN,
					  "internal: electrolyte face %lld has no entry in J",
					  (long long)k);
	}
	return VB_OK;
}

static int build(vb_echem *m, const uint8_t *lab, const vb_subgrid_opts *sub, const char *what,
		 vb_err *e)
{
	uint8_t *reach = calloc(2 * (size_t)m->nvox, 1);
	int64_t *queue = malloc(2 * (size_t)m->nvox * sizeof *queue);
	if (reach == NULL || queue == NULL) {
		free(reach), free(queue);
		return vb_err_set(e, VB_ERR_RUN, "out of memory for a cell of %lld voxels",
				  (long long)m->nvox);
	}
	int cc_reached = 0;
	reach_from_ground(m, lab, reach, queue, &cc_reached);
	free(queue);
	if (!cc_reached) {
		free(reach);
		return vb_err_set(e, VB_ERR_INPUT,
				  "%s: the cathode collector is not joined to the anode collector "
				  "through Li, electrolyte and CAM: the cell cannot carry current",
				  what);
	}
	int rc = number_rows(m, lab, reach, what, e);
	free(reach);
	if (rc != VB_OK)
		return rc;
	const int64_t np = m->cc, nc = m->nc;
	m->diag = malloc((size_t)m->np * sizeof *m->diag);
	m->dfix = calloc((size_t)m->np, sizeof *m->dfix);
	m->J.rowptr = calloc((size_t)m->np + 1, sizeof *m->J.rowptr);
	m->n_cc = calloc((size_t)nc, sizeof *m->n_cc);
	if (!m->diag || !m->dfix || !m->J.rowptr || !m->n_cc)
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	/* Pass 1: row lengths, face counts. */
	int64_t ncc = 0, nf = 0, nl = 0, nb[6];
	for (int64_t r = 0; r < np; r++) {
		int kind;
		const int64_t v = row_node(m, r, &kind);
		const int a = lab[v];
		int64_t len = 1, has_cc = 0;
		neighbours(m, v, nb);
		for (int d = 0; d < 6; d++) {
			if (nb[d] < 0)
				continue;
			/* nb[d] < nvox by construction of neighbours(), which the
			 * analyzer cannot follow through the division */
			// NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
			const int64_t su = m->srow[nb[d]], eu = m->erow[nb[d]];
			const int b = lab[nb[d]];
			if (kind == NODE_S) {
				len += su >= 0 && solid_link(m, a, b);
				if (eu >= 0 && bv_link(a, b)) {
					len++;
					nf += a == VB_PHASE_CAM, nl += a == VB_PHASE_LI;
				}
				if (cc_link(m, a, b))
					has_cc = 1;
			} else {
				len += eu >= 0 && ionic(b);
				len += su >= 0 && bv_link(b, a);
			}
		}
		m->J.rowptr[r + 1] = len + has_cc;
		ncc += has_cc;
	}
	m->J.rowptr[np + 1] = ncc + 1;
	m->J.n = m->np;
	for (int64_t r = 0; r < m->np; r++)
		m->J.rowptr[r + 1] += m->J.rowptr[r];
	const int64_t nnz = m->J.rowptr[m->np];
	m->J.col = malloc((size_t)nnz * sizeof *m->J.col);
	m->J.val = calloc((size_t)nnz, sizeof *m->J.val);
	m->S.val = calloc((size_t)nnz, sizeof *m->S.val);
	m->fixed = calloc((size_t)nnz, sizeof *m->fixed);
	m->kind = calloc((size_t)nnz, sizeof *m->kind);
	m->nf = nf, m->nl = nl;
	const size_t sfl = (size_t)(nf + nl + 1), sf = (size_t)(nf + 1);
	m->f_cam = malloc(sf * sizeof *m->f_cam);
	m->f_ps = malloc(sfl * sizeof *m->f_ps);
	m->f_pe = malloc(sfl * sizeof *m->f_pe);
	m->f_pos_se = malloc(sfl * sizeof *m->f_pos_se);
	m->f_pos_es = malloc(sfl * sizeof *m->f_pos_es);
	m->f_ce = malloc(sfl * sizeof *m->f_ce);
	double **face_arrays[] = {&m->f_i,  &m->f_g,  &m->f_di,	 &m->f_dc, &m->f_a,
				  &m->f_w,  &m->f_b,  &m->f_gp,	 &m->f_ac, &m->f_gc,
				  &m->f_bp, &m->f_bc, &m->f_src, &m->f_u0, &m->f_ds};
	int ok = m->J.col && m->J.val && m->S.val && m->fixed && m->kind && m->f_cam && m->f_ps &&
		 m->f_pe && m->f_pos_se && m->f_pos_es && m->f_ce;
	for (size_t k = 0; k < sizeof face_arrays / sizeof *face_arrays; k++)
		ok = ok && (*face_arrays[k] = calloc(k < 4 ? sfl : sf, sizeof(double))) != NULL;
	m->f_li = calloc(sf, sizeof *m->f_li);
	if (!m->law->sigma_constant) { /* sigma_coupling */
		m->sb_val = calloc((size_t)nnz, sizeof *m->sb_val);
		m->sb_col = calloc((size_t)nnz, sizeof *m->sb_col);
		ok = ok && m->sb_val && m->sb_col;
	}
	if (!ok || m->f_li == NULL)
		return vb_err_set(e, VB_ERR_RUN,
				  "out of memory for the Jacobian (%lld entries) and %lld reacting "
				  "faces",
				  (long long)nnz, (long long)nf);
	/* Pass 2: columns, fixed conductances, faces (CAM|electrolyte first,
	 * then Li|electrolyte). */
	const double h = m->grid.voxel_size,
		     w_cbd = m->lib ? vb_params_get(m->p, "cbd.porosity") : 1.0;
	int64_t f = 0, l = nf, ccq = m->J.rowptr[np];
	for (int64_t r = 0; r < np; r++) {
		int kind;
		const int64_t v = row_node(m, r, &kind);
		const int a = lab[v];
		int64_t q = m->J.rowptr[r];
		const double sv = sigma_of(m, a, kind);
		neighbours(m, v, nb);
		double dsum = 0, gcc = 0;
		int placed_diag = 0;
		for (int d = 0; d < 6; d++) {
			if (d == 3 && !placed_diag) {
				m->diag[r] = q, m->J.col[q++] = r, placed_diag = 1;
			}
			if (nb[d] < 0)
				continue;
			const int b = lab[nb[d]];
			const int64_t su = m->srow[nb[d]], eu = m->erow[nb[d]];
			if (kind == NODE_E) {
				if (su >= 0 && bv_link(b, a))
					m->J.col[q++] = su;
				if (eu >= 0 && ionic(b)) {
					if (m->lib) {
						m->kind[q] = ENTRY_ELYTE;
					} else {
						double g = face_conductance(
							sv, sigma_of(m, b, NODE_E), h);
						m->fixed[q] = -g;
						dsum += g, m->dfix[r] += g;
					}
					m->J.col[q++] = eu;
				}
				continue;
			}
			if (a == VB_PHASE_LI && b == VB_PHASE_ANODE_CC) {
				double g = face_conductance(sv, sigma_of(m, b, NODE_S), h);
				dsum += g, m->dfix[r] += g;
			}
			if (cc_link(m, a, b)) {
				double g = face_conductance(sv, sigma_of(m, b, NODE_S), h);
				dsum += g, gcc += g;
				if (a == VB_PHASE_CAM)
					m->n_cc[m->cam[v]]++, m->var_row[r] = 1;
				else
					m->dfix[r] += g;
			}
			if (su >= 0 && solid_link(m, a, b)) {
				double g = face_conductance(sv, sigma_of(m, b, NODE_S), h);
				m->fixed[q] = -g;
				dsum += g;
				if (a == VB_PHASE_CAM || b == VB_PHASE_CAM)
					m->kind[q] = ENTRY_CAM_OHM, m->var_row[r] = 1;
				else
					m->dfix[r] += g;
				m->J.col[q++] = su;
			}
			if (eu >= 0 && bv_link(a, b)) {
				int64_t t = a == VB_PHASE_CAM ? f++ : l++;
				if (a == VB_PHASE_CAM) {
					m->f_cam[t] = m->cam[v];
					m->f_w[t] = b == VB_PHASE_CBD ? w_cbd : 1.0;
				}
				m->f_ps[t] = r, m->f_pe[t] = eu;
				m->J.col[q++] = eu;
			}
		}
		if (!placed_diag)
			m->diag[r] = q, m->J.col[q++] = r;
		if (gcc > 0) {
			/* this row's collector column (the largest index, so last) and
			 * the collector row's entry for this row */
			m->kind[q] = a == VB_PHASE_CAM ? ENTRY_CAM_CC : ENTRY_OTHER;
			m->J.col[q] = m->cc, m->fixed[q] = -gcc, q++;
			m->J.col[ccq] = r, m->fixed[ccq] = -gcc, ccq++;
		}
		m->fixed[m->diag[r]] = dsum;
	}
	/* the collector node's diagonal */
	double dcc = 0;
	for (int64_t t = m->J.rowptr[np]; t < ccq; t++)
		dcc -= m->fixed[t];
	m->diag[np] = ccq;
	m->J.col[ccq] = np;
	m->fixed[ccq] = dcc;
	m->S.n = m->np, m->S.rowptr = m->J.rowptr, m->S.col = m->J.col;
	const int64_t nfl = nf + nl;
	for (int64_t t = 0; t < nfl; t++) {
		m->f_pos_se[t] = find_pos(&m->J, m->f_ps[t], m->f_pe[t]);
		m->f_pos_es[t] = find_pos(&m->J, m->f_pe[t], m->f_ps[t]);
	}
	/* Face incidence per potential row and per core. */
	m->rf_ptr = calloc((size_t)m->np + 1, sizeof *m->rf_ptr);
	m->rf = malloc((size_t)(2 * nfl + 1) * sizeof *m->rf);
	m->cf_ptr = calloc((size_t)nc + 1, sizeof *m->cf_ptr);
	m->cf = malloc((size_t)(nf + 1) * sizeof *m->cf);
	int64_t *fill = calloc((size_t)m->np + 1, sizeof *fill);
	if (!m->rf_ptr || !m->rf || !m->cf_ptr || !m->cf || !fill) {
		free(fill);
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	}
	for (int64_t t = 0; t < nfl; t++)
		m->rf_ptr[m->f_ps[t] + 1]++, m->rf_ptr[m->f_pe[t] + 1]++;
	for (int64_t t = 0; t < nf; t++)
		m->cf_ptr[m->f_cam[t] + 1]++;
	for (int64_t r = 0; r < m->np; r++)
		m->rf_ptr[r + 1] += m->rf_ptr[r];
	for (int64_t c = 0; c < nc; c++)
		m->cf_ptr[c + 1] += m->cf_ptr[c];
	for (int64_t t = 0; t < nfl; t++) {
		m->rf[m->rf_ptr[m->f_ps[t]] + fill[m->f_ps[t]]++] = 2 * t;
		m->rf[m->rf_ptr[m->f_pe[t]] + fill[m->f_pe[t]]++] = 2 * t + 1;
	}
	memset(fill, 0, (size_t)(m->np + 1) * sizeof *fill);
	for (int64_t t = 0; t < nf; t++)
		m->cf[m->cf_ptr[m->f_cam[t]] + fill[m->f_cam[t]]++] = t;
	free(fill);
	m->sig = calloc((size_t)nc, sizeof *m->sig);
	m->dsig = calloc((size_t)nc, sizeof *m->dsig);
	m->tc = malloc((size_t)nc * sizeof *m->tc);
	m->tmp_c = malloc((size_t)nc * sizeof *m->tmp_c);
	m->yp = malloc((size_t)m->np * sizeof *m->yp);
	uint8_t *react = calloc((size_t)nc, 1);
	if (!m->sig || !m->dsig || !m->tc || !m->tmp_c || !m->yp || !react) {
		free(react);
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	}
	/* the lithium state: which faces of each CAM voxel react (the order of
	 * the faces above: voxels ascending, then directions) */
	for (int64_t q = 0; q < nc; q++) {
		const int64_t v = m->cam_voxel[q];
		neighbours(m, v, nb);
		for (int d = 0; d < 6; d++)
			if (reacts(m, lab, v, nb[d]))
				react[q] |= (uint8_t)(1u << d);
	}
	m->li = vb_lithium_new(&m->grid, m->cam, nc, react, m->law, sub, e);
	free(react);
	if (m->li == NULL)
		return e->status;
	if (vb_lithium_faces(m->li) != nf)
		return vb_err_set(e, VB_ERR_RUN,
				  "internal: %lld reacting faces, the lithium state "
				  "has %lld",
				  (long long)nf, (long long)vb_lithium_faces(m->li));
	if (m->lib && (rc = build_electrolyte(m, e)) != VB_OK)
		return rc;
	m->b_red = malloc((size_t)(m->np + nc + m->ne) * sizeof *m->b_red);
	if (m->b_red == NULL)
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	return VB_OK;
}

vb_echem *vb_echem_new(const vb_image *img, const vb_params *p, const vb_subgrid_opts *sub,
		       const char *what, vb_err *e)
{
	const int lib = strcmp(vb_params_cell_type(p), "lib") == 0;
	int64_t counts[VB_PHASE_COUNT] = {0};
	vb_voxel_count_phases(img, counts, NULL);
	if (lib && counts[VB_PHASE_ELECTROLYTE] == 0) {
		vb_err_set(e, VB_ERR_INPUT,
			   "%s:/labels: a LIB cell needs liquid electrolyte (label 2) in its "
			   "cathode, and this one has none",
			   what);
		return NULL;
	}
	if (counts[VB_PHASE_CAM] == 0) {
		vb_err_set(e, VB_ERR_INPUT, "%s:/labels: the cell has no cathode (no CAM voxel)",
			   what);
		return NULL;
	}
	if (counts[VB_PHASE_CATHODE_CC] == 0 || counts[VB_PHASE_ANODE_CC] == 0 ||
	    counts[VB_PHASE_LI] == 0) {
		vb_err_set(e, VB_ERR_INPUT,
			   "%s:/labels: expected an assembled cell with Li metal and both "
			   "collectors (assemble makes one)",
			   what);
		return NULL;
	}
	vb_echem *m = calloc(1, sizeof *m);
	if (m == NULL) {
		vb_err_set(e, VB_ERR_RUN, "out of memory");
		return NULL;
	}
	m->p = p;
	m->lib = lib;
	m->grid = *img;
	m->nvox = vb_voxel_count(img);
	m->area = (double)(img->ny * img->nz) * m->grid.voxel_size * m->grid.voxel_size;
	m->vol = m->grid.voxel_size * m->grid.voxel_size * m->grid.voxel_size;
	m->f = FARADAY / (GAS_R * vb_params_get(p, "cell.temperature"));
	m->alpha = vb_params_get(p, "cam.alpha");
	m->i00 = vb_params_get(p, "cam.exchange_factor");
	m->ce = vb_params_get(p, "electrolyte.c_init");
	m->cmax = vb_params_get(p, "cam.c_max");
	m->c0 = vb_params_get(p, "cam.c_init");
	m->alpha_li = vb_params_get(p, "li_metal.alpha");
	m->i0_li = vb_params_get(p, "li_metal.exchange_current");
	m->u_li = vb_params_get(p, "li_metal.ocp");
	m->sigma_cc = vb_params_get(p, "collectors.cathode_conductivity");
	m->sigma_cbd = lib ? vb_params_get(p, "cbd.conductivity") : 0.0;
	m->lab = malloc((size_t)m->nvox);
	if (m->lab == NULL) {
		free(m);
		vb_err_set(e, VB_ERR_RUN, "out of memory");
		return NULL;
	}
	memcpy(m->lab, img->labels, (size_t)m->nvox);
	m->grid.labels = m->lab;
	if ((m->law = vb_cam_new(p, e)) == NULL) {
		vb_echem_free(&m);
		return NULL;
	}
	if (build(m, img->labels, sub, what, e) != VB_OK) {
		vb_echem_free(&m);
		return NULL;
	}
	m->nm = vb_lithium_mode_count(m->li);
	if (m->nm > 0 && ((m->f_off = calloc(4 * (size_t)m->nf, sizeof *m->f_off)) == NULL ||
			  (m->f_ur = calloc(4 * (size_t)m->nf, sizeof *m->f_ur)) == NULL ||
			  (m->f_S = calloc(2 * (size_t)m->nf, sizeof *m->f_S)) == NULL ||
			  (m->f_I = calloc(2 * (size_t)m->nf, sizeof *m->f_I)) == NULL)) {
		vb_echem_free(&m);
		vb_err_set(e, VB_ERR_RUN, "out of memory for the faces' quarters");
		return NULL;
	}
	return m;
}

int64_t vb_echem_potential_count(const vb_echem *m)
{
	return m->np;
}

int64_t vb_echem_cam_count(const vb_echem *m)
{
	return m->nc;
}

int64_t vb_echem_lithium_count(const vb_echem *m)
{
	return vb_lithium_count(m->li);
}

int64_t vb_echem_electrolyte_count(const vb_echem *m)
{
	return m->ne;
}

int64_t vb_echem_state_count(const vb_echem *m)
{
	return vb_lithium_count(m->li) + m->ne + m->nm;
}

int64_t vb_echem_link_count(const vb_echem *m)
{
	return vb_lithium_links(m->li);
}

int64_t vb_echem_face_count(const vb_echem *m)
{
	return m->nf;
}

int vb_echem_subgrid_cells(const vb_echem *m)
{
	return vb_lithium_cells(m->li);
}

double vb_echem_area(const vb_echem *m)
{
	return m->area;
}

double vb_echem_cam_volume(const vb_echem *m)
{
	return (double)m->nc * m->vol;
}

double vb_echem_c_max(const vb_echem *m)
{
	return m->cmax;
}

static double ocv(const vb_echem *m, double c)
{
	return vb_params_eval(m->p, "cam.ocp", c / m->cmax);
}

void vb_echem_rest(const vb_echem *m, double *phi, double *c)
{
	/* Li grounded at its equilibrium, so phi_e = -U_Li and the CAM sits at
	 * U_0(c_s,0) above it */
	const double u0 = ocv(m, m->c0) - m->u_li;
	for (int64_t r = 0; r < m->np - 1; r++) {
		int kind;
		const int ph = m->lab[row_node(m, r, &kind)];
		/* a LIB CBD's solid is joined to the CAM ohmically */
		phi[r] = kind == NODE_E ? -m->u_li : ph == VB_PHASE_LI ? 0.0 : u0;
	}
	phi[m->cc] = u0;
	const int64_t nl = vb_lithium_count(m->li);
	for (int64_t q = 0; q < nl; q++)
		c[q] = m->c0;
	for (int64_t k = 0; k < m->ne; k++)
		c[nl + k] = m->ce;
	for (int64_t k = 0; k < m->nm; k++)
		c[nl + m->ne + k] = 0;
}

double vb_echem_voltage(const vb_echem *m, const double *phi)
{
	return phi[m->cc];
}

double vb_echem_lithium(const vb_echem *m, const double *c)
{
	return vb_lithium_inventory(m->li, c) / m->area;
}

double vb_echem_electrolyte_c_init(const vb_echem *m)
{
	return m->ce;
}

double vb_echem_electrolyte_min(const vb_echem *m, const double *c, int64_t *voxel)
{
	const double *ce = c + vb_lithium_count(m->li);
	double lo = INFINITY;
	*voxel = -1;
	for (int64_t k = 0; k < m->ne; k++)
		if (ce[k] < lo)
			lo = ce[k], *voxel = vb_electrolyte_voxel(m->el, k);
	return lo;
}

void vb_echem_voxel_position(const vb_echem *m, int64_t v, int64_t ijk[3])
{
	const vb_image *g = &m->grid;
	ijk[0] = v / (g->ny * g->nz), ijk[1] = v / g->nz % g->ny, ijk[2] = v % g->nz;
}

double vb_echem_electrolyte_lithium(const vb_echem *m, const double *c)
{
	if (m->el == NULL)
		return 0.0;
	return vb_electrolyte_inventory(m->el, c + vb_lithium_count(m->li)) / m->area;
}

/* Electronic conductivity of the solid of row r, a row of an ENTRY_CAM_OHM
 * link: a CAM core's at its lithiation, or the CBD's. */
static double solid_sigma(const vb_echem *m, int64_t r)
{
	const int64_t q = m->cam[m->pot_voxel[r]];
	return q >= 0 ? m->sig[q] : m->sigma_cbd;
}

/* The electronic conductivity of every core at c and its derivative; then
 * the entries of the ohmic part of J with a CAM voxel at one end when sigma
 * depends on c (harmonic means, PHYSICS.md §2). */
static void eval_cores(vb_echem *m, const double *c)
{
	const double h = m->grid.voxel_size;
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < m->nc; q++)
		m->sig[q] = vb_cam_conductivity(m->law, c[q], &m->dsig[q]);
	if (m->law->sigma_constant)
		return;
#pragma omp parallel for schedule(static)
	for (int64_t r = 0; r < m->cc; r++) {
		if (!m->var_row[r])
			continue;
		const int64_t q = m->cam[m->pot_voxel[r]];
		const double s1 = solid_sigma(m, r);
		double dsum = m->dfix[r];
		for (int64_t t = m->J.rowptr[r]; t < m->J.rowptr[r + 1]; t++) {
			double g;
			if (m->kind[t] == ENTRY_CAM_OHM)
				g = face_conductance(s1, solid_sigma(m, m->J.col[t]), h);
			else if (m->kind[t] == ENTRY_CAM_CC)
				g = m->n_cc[q] * face_conductance(s1, m->sigma_cc, h);
			else
				continue;
			m->fixed[t] = -g;
			dsum += g;
		}
		m->fixed[m->diag[r]] = dsum;
	}
	/* the collector row mirrors the collector column of each CAM row (the
	 * last entry of that row) */
	double dcc = 0;
	for (int64_t t = m->J.rowptr[m->cc]; t < m->J.rowptr[m->cc + 1]; t++) {
		const int64_t r = m->J.col[t];
		if (r == m->cc)
			continue;
		m->fixed[t] = m->fixed[m->J.rowptr[r + 1] - 1];
		dcc -= m->fixed[t];
	}
	m->fixed[m->diag[m->cc]] = dcc;
}

/* Butler-Volmer current density (A/m^2, positive anodic) of a CAM face
 * reacting on the share w of its area at surface concentration cs, c_e on
 * its electrolyte side and dphi = phi_s - phi_e; *dg = di/deta and *da =
 * di/dcs. Outside (0, c_max) i_0 and the current are 0.
 * A quarter of a face with lateral modes (quarter != 0) sits at the surface
 * node plus offsets, and reaches c_max while the rest of its face still
 * reacts: there the factor (c_max - cs)^(1 - alpha) of i_0, whose slope is
 * infinite at c_max, is taken over the last QUARTER_ROOM c_max as the cubic
 * in (c_max - cs) that meets it with the same value and slope and reaches 0
 * at c_max with a zero slope. Newton stalled on quarters at saturation with
 * the square root and with a quadratic; a band of 1e-3 c_max doubled its
 * iterations at 8 mA/cm2 for capacities within 0.12 % (docs/solve.md). */
#define QUARTER_ROOM 1e-2
static double cam_bv(const vb_echem *m, double dphi, double cs, double c_e, double w, int quarter,
		     double *dg, double *da)
{
	double dU = 0, dlni0 = 0, di_deta, i0;
	const double x = fmin(fmax(cs / m->cmax, 0.0), 1.0);
	const double eta = dphi - vb_params_eval_with_derivative(m->p, "cam.ocp", x, &dU);
	const double room = m->cmax - cs, band = QUARTER_ROOM * m->cmax;
	if (quarter && cs > 0 && room > 0 && room < band) {
		const double p = 1 - m->alpha, u = room / band;
		const double g = (3 - p) * u * u + (p - 2) * u * u * u;
		const double dg_du = 2 * (3 - p) * u + 3 * (p - 2) * u * u;
		i0 = m->i00 * pow(c_e, m->alpha) * pow(cs, m->alpha) * pow(band, p) * g;
		dlni0 = m->alpha / cs - dg_du / (g * band);
	} else {
		i0 = vb_kinetics_cam_exchange(m->i00, m->alpha, c_e, cs, m->cmax, &dlni0);
	}
	const double i = w * vb_kinetics_current(i0, m->alpha, m->f, eta, &di_deta);
	*dg = w * di_deta;
	*da = -w * di_deta * dU / m->cmax + i * dlni0;
	return i;
}

/* The four quarters of a face at offsets base[k] + s_0 S_0 + s_1 S_1 from
 * its surface node: their currents (A/m^2), derivatives in dphi and in
 * their concentration, and the modes' sources I_k = (A / 4) sum s_k i_q
 * with dI_k / dS_l. */
typedef struct quarters {
	double i[4], g[4], a[4], I[2], dI[2][2];
} quarters;

static void quarters_at(const vb_echem *m, const double *base, const double S[2], double dphi,
			double c_e, double w, quarters *q)
{
	const double A = m->grid.voxel_size * m->grid.voxel_size;
	q->I[0] = q->I[1] = 0;
	q->dI[0][0] = q->dI[0][1] = 0;
	for (int k = 0; k < 4; k++) {
		const int s0 = vb_lithium_quarter_sign(k, 0), s1 = vb_lithium_quarter_sign(k, 1);
		q->i[k] = cam_bv(m, dphi, base[k] + s0 * S[0] + s1 * S[1], c_e, w, 1, &q->g[k],
				 &q->a[k]);
		q->I[0] += 0.25 * A * s0 * q->i[k], q->I[1] += 0.25 * A * s1 * q->i[k];
		q->dI[0][0] += 0.25 * A * q->a[k], q->dI[0][1] += 0.25 * A * s0 * s1 * q->a[k];
	}
	q->dI[1][1] = q->dI[0][0], q->dI[1][0] = q->dI[0][1];
}

/* The mean current density (A/m^2) of the four quarters of CAM face t with
 * lateral modes, at the face's surface node cs, dphi = phi_s - phi_e and
 * c_e; with md_solve its modes' surface values f_S first solve their chains,
 * S_k = u_k - r_k I_k(S): a monotone system (each I_k grows with S_k), by
 * Newton from the last values with backtracking, since a quarter's current
 * is flat beyond c_max and steep just below it. The derivatives *dc, *dg
 * and *db (in cs, dphi and c_e) include the modes' response. */
static double face_quarters(vb_echem *m, int64_t t, double dphi, double cs, double c_e, double w,
			    double *dc, double *dg, double *db)
{
	const double A = m->grid.voxel_size * m->grid.voxel_size, *ur = m->f_ur + 4 * t;
	double *S = m->f_S + 2 * t, base[4];
	for (int k = 0; k < 4; k++)
		base[k] = cs + m->f_off[4 * t + k];
	quarters q;
	quarters_at(m, base, S, dphi, c_e, w, &q);
	for (int it = 0; m->md_solve && it < 60; it++) {
		const double G0 = S[0] - ur[0] + ur[2] * q.I[0], G1 = S[1] - ur[1] + ur[3] * q.I[1];
		const double gn = fabs(G0) + fabs(G1);
		if (gn <= 1e-13 * m->cmax)
			break;
		const double j00 = 1 + ur[2] * q.dI[0][0], j01 = ur[2] * q.dI[0][1];
		const double j10 = ur[3] * q.dI[1][0], j11 = 1 + ur[3] * q.dI[1][1];
		const double det = j00 * j11 - j01 * j10;
		const double d0 = (-G0 * j11 + G1 * j01) / det, d1 = (-G1 * j00 + G0 * j10) / det;
		double lam = 1, T[2];
		quarters qt;
		int better = 0;
		for (int ls = 0; ls < 40 && !better; ls++, lam *= 0.5) {
			T[0] = S[0] + lam * d0, T[1] = S[1] + lam * d1;
			quarters_at(m, base, T, dphi, c_e, w, &qt);
			better = fabs(T[0] - ur[0] + ur[2] * qt.I[0]) +
					 fabs(T[1] - ur[1] + ur[3] * qt.I[1]) <
				 gn;
		}
		if (!better) /* rounding: as close as it gets */
			break;
		S[0] = T[0], S[1] = T[1], q = qt;
	}
	m->f_I[2 * t] = q.I[0], m->f_I[2 * t + 1] = q.I[1];
	/* d/dp of the mean current: the quarters' own change plus the modes'
	 * response dS/dp = -J^-1 (r o dI/dp) for p = cs, dphi, c_e */
	const double j00 = 1 + ur[2] * q.dI[0][0], j01 = ur[2] * q.dI[0][1];
	const double j10 = ur[3] * q.dI[1][0], j11 = 1 + ur[3] * q.dI[1][1];
	const double det = j00 * j11 - j01 * j10;
	double i = 0, out[3];
	for (int p = 0; p < 3; p++) {
		double dIp[2] = {0, 0}, own = 0, dS[2] = {0, 0};
		for (int k = 0; k < 4; k++) {
			const double d = p == 0	  ? q.a[k]
					 : p == 1 ? q.g[k]
						  : q.i[k] * m->alpha / c_e;
			dIp[0] += 0.25 * A * vb_lithium_quarter_sign(k, 0) * d;
			dIp[1] += 0.25 * A * vb_lithium_quarter_sign(k, 1) * d;
			own += 0.25 * d;
		}
		if (m->md_solve) {
			const double b0 = -ur[2] * dIp[0], b1 = -ur[3] * dIp[1];
			dS[0] = (b0 * j11 - b1 * j01) / det;
			dS[1] = (b1 * j00 - b0 * j10) / det;
		}
		for (int k = 0; k < 4; k++)
			own += 0.25 * q.a[k] *
			       (vb_lithium_quarter_sign(k, 0) * dS[0] +
				vb_lithium_quarter_sign(k, 1) * dS[1]);
		out[p] = own;
	}
	for (int k = 0; k < 4; k++)
		i += 0.25 * q.i[k];
	*dc = out[0], *dg = out[1], *db = out[2];
	return i;
}

/* Butler-Volmer on every face (PHYSICS.md §2) at the potentials phi and, on
 * CAM faces, the surface node of the face's chain and (LIB) the c_e of its
 * electrolyte side: current density f_i (A/m^2 of face, positive anodic;
 * a face into a CBD's pores reacts on the CBD's porosity f_w of it), f_g =
 * A di/deta (S), f_a = A di/dc_surf and f_b = A di/dc_e. A face with lateral
 * modes takes the mean of its four quarters' currents (face_quarters). The
 * Li metal's i_0 does not depend on c_e (PHYSICS.md §2-3). */
static void eval_faces(vb_echem *m, const double *phi, const double *c)
{
	const double A = m->grid.voxel_size * m->grid.voxel_size, f = m->f;
	const double *ce = c + vb_lithium_count(m->li);
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < m->nf + m->nl; t++) {
		const double dphi = phi[m->f_ps[t]] - phi[m->f_pe[t]];
		if (t < m->nf) {
			const double cs = c[vb_lithium_surface_index(m->li, t)], w = m->f_w[t];
			const double c_e = m->lib ? ce[m->f_ce[t]] : m->ce;
			double i, g, a, b;
			if (m->nm > 0 && vb_lithium_mode_index(m->li, t) >= 0) {
				i = face_quarters(m, t, dphi, cs, c_e, w, &a, &g, &b);
			} else {
				i = cam_bv(m, dphi, cs, c_e, w, 0, &g, &a);
				b = i * m->alpha / c_e;
			}
			m->f_i[t] = i;
			m->f_g[t] = A * g;
			m->f_a[t] = A * a;
			m->f_b[t] = m->lib ? A * b : 0.0;
			m->f_src[t] = A * i;
			continue;
		}
		double di_deta;
		const double i =
			vb_kinetics_current(m->i0_li, m->alpha_li, f, dphi - m->u_li, &di_deta);
		m->f_i[t] = i;
		m->f_g[t] = A * di_deta;
	}
}

/* At state c (the modes after c_e): the other chains' part of every
 * quarter's offset (f_off) and each face's own modes' surface values (f_S). */
static void face_offsets(vb_echem *m, const double *c)
{
	if (m->nm == 0)
		return;
	const double *modes = c + vb_lithium_count(m->li) + m->ne;
	const int64_t n1 = vb_lithium_cells(m->li) + 1;
	vb_lithium_lateral_cross(m->li, c, modes, m->f_off);
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < m->nf; t++) {
		const int64_t mi = vb_lithium_mode_index(m->li, t);
		m->f_S[2 * t] = mi >= 0 ? modes[mi] : 0;
		m->f_S[2 * t + 1] = mi >= 0 ? modes[mi + n1] : 0;
	}
}

/* Every face's mode chains factorised over a step dt from c_old: with
 * m_new NULL their u_k and r_k into f_ur, else the chains after the step,
 * with the sources f_I, into m_new. */
static int mode_chains(vb_echem *m, const double *c_old, double dt, double *m_new, vb_err *e)
{
	const double *m_old = c_old + vb_lithium_count(m->li) + m->ne;
	const size_t ws = vb_lithium_mode_work(m->li);
	double *work = malloc(ws * (size_t)omp_get_max_threads() * sizeof *work);
	if (work == NULL)
		return vb_err_set(e, VB_ERR_RUN, "out of memory for the lateral modes");
#pragma omp parallel for schedule(dynamic, 64)
	for (int64_t t = 0; t < m->nf; t++) {
		if (vb_lithium_mode_index(m->li, t) < 0)
			continue;
		double *wk = work + ws * (size_t)omp_get_thread_num(), u[2], r[2];
		vb_lithium_mode_factor(m->li, t, c_old, m_old, dt, wk, u, r);
		if (m_new != NULL) {
			vb_lithium_mode_finish(m->li, t, wk, m->f_I + 2 * t, m_new);
			continue;
		}
		m->f_ur[4 * t] = u[0], m->f_ur[4 * t + 1] = u[1];
		m->f_ur[4 * t + 2] = r[0], m->f_ur[4 * t + 3] = r[1];
	}
	free(work);
	return VB_OK;
}

/* Before a step from c_old over dt: the quarters' offsets of c_old (kept
 * over the step) and each face's mode chains' u_k and r_k; the faces' own
 * modes are solved with every evaluation of the faces from then on. */
static int begin_modes(vb_echem *m, const double *c_old, double dt, vb_err *e)
{
	if (m->nm == 0)
		return VB_OK;
	face_offsets(m, c_old);
	const int rc = mode_chains(m, c_old, dt, NULL, e);
	m->md_solve = rc == VB_OK;
	return rc;
}

/* After Newton converged at (phi, c): the mode chains with the sources of
 * the faces' last evaluation (at that state), into c's modes. */
static int advance_modes(vb_echem *m, const double *c_old, const double *phi, double *c, vb_err *e)
{
	eval_faces(m, phi, c);
	m->md_solve = 0;
	return mode_chains(m, c_old, m->dt, c + vb_lithium_count(m->li) + m->ne, e);
}

static void eval_state(vb_echem *m, const double *phi, const double *c)
{
	eval_cores(m, c);
	if (m->lib)
		vb_electrolyte_eval(m->el, phi, c + vb_lithium_count(m->li));
	eval_faces(m, phi, c);
}

/* ye[k] -= scale x the change di of the reaction currents (A per unit of
 * scale, positive anodic) of the faces on c_e unknown k's side: Li+ enters
 * the electrolyte where current leaves the electrode (LIB). */
static void add_reactions(const vb_echem *m, const double *di, double scale, double *ye)
{
#pragma omp parallel for schedule(static)
	for (int64_t k = 0; k < m->ne; k++) {
		const int64_t r = vb_electrolyte_row(m->el, k);
		double s = 0;
		for (int64_t t = m->rf_ptr[r]; t < m->rf_ptr[r + 1]; t++)
			if (m->rf[t] & 1)
				s += di[m->rf[t] >> 1];
		ye[k] -= scale * s;
	}
}

/* y = the ohmic rows at potentials x (the conductances that do not depend
 * on the state) plus, on each potential row, scale times the currents fi of
 * its reacting faces (into the solid side, out of the electrolyte side):
 * the residual's potential rows at fi = the face currents, their Jacobian
 * product at fi = the currents' change. */
static void ohmic_and_faces(const vb_echem *m, const double *x, const double *fi, double scale,
			    double *y)
{
	vb_csr L = m->J;
	L.val = m->fixed;
	vb_linsolve_spmv(&L, x, y);
#pragma omp parallel for schedule(static)
	for (int64_t r = 0; r < m->np; r++) {
		double s = 0;
		for (int64_t t = m->rf_ptr[r]; t < m->rf_ptr[r + 1]; t++) {
			int64_t fc = m->rf[t];
			s += (fc & 1) ? -fi[fc >> 1] : fi[fc >> 1];
		}
		y[r] += scale * s;
	}
}

/* Residuals in amperes (PHYSICS.md §2), R = [charge balance of every
 * potential unknown; F x the Li balances of the lithium state], at the
 * state eval_state last saw. */
static void residual(vb_echem *m, const double *phi, const double *c, const double *c_old,
		     double current, double *R)
{
	const double A = m->grid.voxel_size * m->grid.voxel_size;
	ohmic_and_faces(m, phi, m->f_i, A, R);
	R[m->cc] += current * m->area;
	vb_lithium_residual(m->li, c, c_old, m->dt, m->f_src, R + m->np);
	if (m->lib) {
		const int64_t nl = vb_lithium_count(m->li);
		double *Re = R + m->np + nl;
		vb_electrolyte_residual(m->el, c + nl, c_old + nl, m->dt, R, Re);
		add_reactions(m, m->f_i, A, Re);
	}
}

/* The Newton matrices at the state eval_state last saw (docs/solve.md):
 * the lithium state's chains factorised and condensed (vb_lithium), each
 * CAM face's law condensed with them into its conductance g' = g (1 - a
 * s00) and its couplings to the core, J_pq = a s0q and J_qp = g sq0; J (the
 * condensed potential block) and S (its Schur approximation). */
static void assemble(vb_echem *m, const double *c)
{
	vb_lithium_assemble(m->li, c, m->dt, m->f_a, m->f_li);
	const double *D_q = vb_lithium_core_diagonal(m->li);
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < m->nf; t++) {
		const double g = m->f_g[t], a = m->f_a[t], b = m->f_b[t];
		m->f_gp[t] = g * (1 - a * m->f_li[t].s00);
		m->f_ac[t] = a * m->f_li[t].s0q;
		m->f_gc[t] = g * m->f_li[t].sq0;
		m->f_bp[t] = b * (1 - a * m->f_li[t].s00);
		m->f_bc[t] = b * m->f_li[t].sq0;
	}
	const int64_t nnz = m->J.rowptr[m->np];
	memcpy(m->J.val, m->fixed, (size_t)nnz * sizeof *m->J.val);
	if (m->lib) {
		/* the electrolyte's conductances at the state's c_e */
		const int64_t nfe = vb_electrolyte_faces(m->el);
#pragma omp parallel for schedule(static)
		for (int64_t k = 0; k < nfe; k++)
			m->J.val[m->ee_ab[k]] = m->J.val[m->ee_ba[k]] =
				-vb_electrolyte_conductance(m->el, k);
#pragma omp parallel for schedule(static)
		for (int64_t r = 0; r < m->np; r++) {
			if (m->row_kind[r] != ROW_ION)
				continue;
			double s = 0;
			for (int64_t t = m->J.rowptr[r]; t < m->J.rowptr[r + 1]; t++)
				if (m->kind[t] == ENTRY_ELYTE)
					s -= m->J.val[t];
			m->J.val[m->diag[r]] += s;
		}
		vb_electrolyte_prepare(m->el, m->dt);
	}
	memcpy(m->S.val, m->J.val, (size_t)nnz * sizeof *m->S.val);
	m->amg.changed = 1;
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < m->nf + m->nl; t++) {
		double g = m->f_g[t], gs = g;
		if (t < m->nf) {
			/* eliminating the core with its diagonal leaves the face
			 * conductance g' - (J_pq J_qp) / D_q (docs/solve.md) */
			g = gs = m->f_gp[t];
			if (g > 0) {
				double th = 1.0 - m->f_ac[t] * m->f_gc[t] / (g * D_q[m->f_cam[t]]);
				th = th < 1e-3 ? 1e-3 : th > 10 ? 10 : th;
				gs = g * th;
			}
		}
		m->J.val[m->f_pos_se[t]] = -g, m->J.val[m->f_pos_es[t]] = -g;
		m->S.val[m->f_pos_se[t]] = -gs, m->S.val[m->f_pos_es[t]] = -gs;
	}
#pragma omp parallel for schedule(static)
	for (int64_t r = 0; r < m->np; r++) {
		double s = 0, ss = 0;
		for (int64_t t = m->rf_ptr[r]; t < m->rf_ptr[r + 1]; t++) {
			int64_t fc = m->rf[t] >> 1;
			s += -m->J.val[m->f_pos_se[fc]];
			ss += -m->S.val[m->f_pos_se[fc]];
		}
		m->J.val[m->diag[r]] += s;
		m->S.val[m->diag[r]] += ss;
	}
}

/* y_p += sign * (J_pq x_q + J_pe x_e): the condensed reactions' dependence
 * on the cores and (LIB; xe NULL: none) on c_e, seen by the potential rows
 * of both sides of each CAM face. */
static void add_pc(const vb_echem *m, const double *xq, const double *xe, double sign, double *yp)
{
#pragma omp parallel for schedule(static)
	for (int64_t r = 0; r < m->np; r++) {
		double s = 0;
		for (int64_t t = m->rf_ptr[r]; t < m->rf_ptr[r + 1]; t++) {
			int64_t fc = m->rf[t] >> 1;
			if (fc >= m->nf)
				continue;
			double d = m->f_ac[fc] * xq[m->f_cam[fc]];
			if (xe != NULL)
				d += m->f_bp[fc] * xe[m->f_ce[fc]];
			s += (m->rf[t] & 1) ? -d : d;
		}
		yp[r] += sign * s;
	}
}

/* y_q += sign * (J_qp x_p + J_qe x_e): the cores' Li balances' dependence
 * on the potentials and (LIB; xe NULL: none) on c_e, through their faces'
 * chains. */
static void add_cp(const vb_echem *m, const double *xp, const double *xe, double sign, double *yq)
{
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < m->nc; q++) {
		double s = 0;
		for (int64_t t = m->cf_ptr[q]; t < m->cf_ptr[q + 1]; t++) {
			int64_t fc = m->cf[t];
			s += m->f_gc[fc] * (xp[m->f_ps[fc]] - xp[m->f_pe[fc]]);
			if (xe != NULL)
				s += m->f_bc[fc] * xe[m->f_ce[fc]];
		}
		yq[q] += sign * s;
	}
}

/* The condensed currents' change (A) of every face for changes xp of the
 * potentials, xq of the cores and (xe NULL: none) of c_e, into m->f_dc. */
static void condensed_face_changes(vb_echem *m, const double *xp, const double *xq,
				   const double *xe)
{
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < m->nf + m->nl; t++) {
		const double dv = xp[m->f_ps[t]] - xp[m->f_pe[t]];
		double d;
		if (t < m->nf) {
			d = m->f_gp[t] * dv + m->f_ac[t] * xq[m->f_cam[t]];
			if (xe != NULL)
				d += m->f_bp[t] * xe[m->f_ce[t]];
		} else {
			d = m->f_g[t] * dv;
		}
		m->f_dc[t] = d;
	}
}

/* Derivative of a harmonic-mean face conductance 2 s1 s2 h / (s1 + s2) with
 * respect to s1. */
static double dconductance(double s1, double s2, double h)
{
	return 2.0 * h * s2 * s2 / ((s1 + s2) * (s1 + s2));
}

/* The ohmic currents' dependence on the cores' lithiation through sigma(c)
 * (nothing when sigma is constant) at the Newton iterate phi_now: per entry
 * of J, the core whose change moves that entry's current and the current's
 * change per unit change (A m^3/mol), in sb_col and sb_val. The diagonal's
 * slot holds the row's own core, the collector row's entries the cores of
 * its rows. Built once per Newton iteration, applied by add_sigma at every
 * product. */
static void sigma_coupling(vb_echem *m)
{
	if (m->law->sigma_constant)
		return;
	const double h = m->grid.voxel_size, *phi = m->phi_now;
#pragma omp parallel for schedule(static)
	for (int64_t r = 0; r < m->cc; r++) {
		for (int64_t t = m->J.rowptr[r]; t < m->J.rowptr[r + 1]; t++)
			m->sb_val[t] = 0, m->sb_col[t] = 0;
		if (!m->var_row[r])
			continue;
		const int64_t q = m->cam[m->pot_voxel[r]];
		double self = 0;
		for (int64_t t = m->J.rowptr[r]; t < m->J.rowptr[r + 1]; t++) {
			const int64_t col = m->J.col[t];
			if (m->kind[t] == ENTRY_CAM_OHM) {
				/* either end may be a CBD (LIB), whose sigma is constant */
				const int64_t q2 = m->cam[m->pot_voxel[col]];
				const double s1 = solid_sigma(m, r), s2 = solid_sigma(m, col);
				const double dphi = phi[r] - phi[col];
				if (q >= 0)
					self += dconductance(s1, s2, h) * m->dsig[q] * dphi;
				if (q2 >= 0) {
					m->sb_val[t] = dconductance(s2, s1, h) * m->dsig[q2] * dphi;
					m->sb_col[t] = (int32_t)q2;
				}
			} else if (m->kind[t] == ENTRY_CAM_CC) {
				self += m->n_cc[q] * dconductance(m->sig[q], m->sigma_cc, h) *
					m->dsig[q] * (phi[r] - phi[m->cc]);
			}
		}
		if (q >= 0)
			m->sb_val[m->diag[r]] = self, m->sb_col[m->diag[r]] = (int32_t)q;
	}
	for (int64_t t = m->J.rowptr[m->cc]; t < m->J.rowptr[m->cc + 1]; t++) {
		const int64_t r = m->J.col[t];
		const int64_t q = r == m->cc ? -1 : m->cam[m->pot_voxel[r]];
		m->sb_val[t] = 0, m->sb_col[t] = 0;
		if (q >= 0) { /* q < 0: the collector itself, or a CBD (LIB): constant */
			m->sb_val[t] = -m->n_cc[q] * dconductance(m->sig[q], m->sigma_cc, h) *
				       m->dsig[q] * (phi[r] - phi[m->cc]);
			m->sb_col[t] = (int32_t)q;
		}
	}
}

/* y_p += J_pq x_q for the ohmic currents of the CAM network, whose
 * conductances follow the cores' lithiation (sigma_coupling's entries). */
static void add_sigma(const vb_echem *m, const double *xq, double *yp)
{
	if (m->law->sigma_constant)
		return;
#pragma omp parallel for schedule(static)
	for (int64_t r = 0; r < m->np; r++) {
		if (r < m->cc && !m->var_row[r])
			continue;
		double s = 0;
		for (int64_t t = m->J.rowptr[r]; t < m->J.rowptr[r + 1]; t++)
			s += m->sb_val[t] * xq[m->sb_col[t]];
		yp[r] += s;
	}
}

/* y = J x for the condensed Jacobian, x = [x_p; x_q; x_e]. */
static int jac_apply(void *ctx, const double *x, double *y, vb_err *e)
{
	(void)e;
	vb_echem *m = ctx;
	const double *xp = x, *xq = x + m->np, *xe = m->lib ? xq + m->nc : NULL;
	double *yp = y, *yq = y + m->np;
	vb_linsolve_spmv(&m->J, xp, yp);
	add_pc(m, xq, xe, 1.0, yp);
	add_sigma(m, xq, yp);
	vb_lithium_core_apply(m->li, xq, yq);
	add_cp(m, xp, xe, 1.0, yq);
	if (m->lib) {
		/* J holds the electrolyte faces' conductances: their c_e part
		 * reaches the potential rows here, both parts the c_e rows */
		double *ye = yq + m->nc;
		memset(ye, 0, (size_t)m->ne * sizeof *ye);
		vb_electrolyte_apply(m->el, m->dt, xp, xe, yp, ye, 0);
		condensed_face_changes(m, xp, xq, xe);
		add_reactions(m, m->f_dc, 1.0, ye);
	}
	return VB_OK;
}

/* Block factorisation (docs/solve.md): eliminate the cores with the
 * diagonal of their block, solve the SPD potential system S by AMG-PCG,
 * (LIB) then c_e with an approximation of its Schur complement, then the
 * core block (diffusion included) by vb_lithium's Jacobi-PCG. */
static int precond_apply(void *ctx, const double *r, double *z, vb_err *e)
{
	vb_echem *m = ctx;
	const double *rp = r, *rq = r + m->np, *D_q = vb_lithium_core_diagonal(m->li);
	double *zp = z, *zq = z + m->np, *ze = m->lib ? zq + m->nc : NULL;
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < m->nc; q++)
		m->tc[q] = rq[q] / D_q[q];
	memcpy(m->yp, rp, (size_t)m->np * sizeof *m->yp);
	add_pc(m, m->tc, NULL, -1.0, m->yp);
	memset(zp, 0, (size_t)m->np * sizeof *zp);
	vb_linsolve_stats st = {0};
	int rc_ = vb_linsolve_kept_pcg(&m->amg, &m->S, m->yp, zp, m->amg_rtol, 200, &st, e);
	m->inner_its += st.iterations;
	if (rc_ != VB_OK)
		return rc_;
	if (m->lib) {
		/* c_e's right-hand side less what the potentials' and the cores'
		 * corrections change in its rows */
		const double *re = rq + m->nc;
		memset(m->te, 0, (size_t)m->ne * sizeof *m->te);
		vb_electrolyte_apply(m->el, m->dt, zp, NULL, NULL, m->te, 1);
		condensed_face_changes(m, zp, m->tc, NULL);
		add_reactions(m, m->f_dc, 1.0, m->te);
#pragma omp parallel for schedule(static)
		for (int64_t k = 0; k < m->ne; k++)
			m->te[k] = re[k] - m->te[k];
		memset(ze, 0, (size_t)m->ne * sizeof *ze);
		vb_linsolve_stats se = {0};
		rc_ = vb_electrolyte_solve(m->el, m->te, ze, m->amg_rtol, m->amg_rebuild, &se,
					   &m->el_setups, e);
		m->el_its += se.iterations;
		if (rc_ != VB_OK)
			return rc_;
	}
	memcpy(m->tmp_c, rq, (size_t)m->nc * sizeof *m->tmp_c);
	add_cp(m, zp, ze, -1.0, m->tmp_c);
	return vb_lithium_core_solve(m->li, m->tmp_c, zq, e);
}

/* The condensed right-hand side b_red = [b_p; b_q] of the full b = -R
 * (docs/solve.md): vb_lithium eliminates its chains from the lithium part,
 * and each CAM face's surface-node response u0 reaches its potentials. */
static void condense(vb_echem *m, const double *b, double *b_red)
{
	vb_lithium_condense(m->li, b + m->np, b_red + m->np, m->f_u0);
	memcpy(b_red, b, (size_t)m->np * sizeof *b_red);
	if (m->lib) {
		/* c_e rows: the surface nodes' response changes the currents
		 * that enter the electrolyte, as on its potential rows */
		double *be = b_red + m->np + m->nc;
		memcpy(be, b + m->np + vb_lithium_count(m->li), (size_t)m->ne * sizeof *be);
#pragma omp parallel for schedule(static)
		for (int64_t t = 0; t < m->nf + m->nl; t++)
			m->f_dc[t] = t < m->nf ? m->f_a[t] * m->f_u0[t] : 0.0;
		add_reactions(m, m->f_dc, -1.0, be);
	}
#pragma omp parallel for schedule(static)
	for (int64_t r = 0; r < m->np; r++) {
		double s = 0;
		for (int64_t t = m->rf_ptr[r]; t < m->rf_ptr[r + 1]; t++) {
			int64_t fc = m->rf[t] >> 1;
			if (fc < m->nf)
				s += ((m->rf[t] & 1) ? -1 : 1) * m->f_a[fc] * m->f_u0[fc];
		}
		b_red[r] -= s;
	}
}

/* The chains' part of the Newton correction dx from its condensed part
 * (already in dx[0 .. np + nc + ne): potentials, cores, c_e) and the full
 * right-hand side b; c_e moves to its place after the lithium state. */
static void expand(vb_echem *m, const double *b, double *dx)
{
	const int64_t nl = vb_lithium_count(m->li);
	const double *xe = NULL;
	if (m->lib) {
		memmove(dx + m->np + nl, dx + m->np + m->nc, (size_t)m->ne * sizeof *dx);
		xe = dx + m->np + nl;
	}
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < m->nf; t++) {
		double d = m->f_g[t] * (dx[m->f_ps[t]] - dx[m->f_pe[t]]);
		if (xe != NULL)
			d += m->f_b[t] * xe[m->f_ce[t]];
		m->f_ds[t] = d;
	}
	vb_lithium_expand(m->li, b + m->np, dx + m->np, m->f_ds, dx + m->np);
}

/* y = J x for the whole Jacobian, x = [x_p; x_lithium]: the potentials'
 * rows (ohmic, Butler-Volmer, sigma(c)) and the lithium state's, side links
 * included (vb_lithium_jacobian_apply). */
static int full_apply(void *ctx, const double *x, double *y, vb_err *e)
{
	(void)e;
	vb_echem *m = ctx;
	const int64_t nl = vb_lithium_count(m->li);
	const double *xl = x + m->np, *xe = m->lib ? xl + nl : NULL;
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < m->nf + m->nl; t++) {
		double d = m->f_g[t] * (x[m->f_ps[t]] - x[m->f_pe[t]]);
		if (t < m->nf) {
			d += m->f_a[t] * xl[vb_lithium_surface_index(m->li, t)];
			if (xe != NULL)
				d += m->f_b[t] * xe[m->f_ce[t]];
		}
		m->f_di[t] = d;
	}
	ohmic_and_faces(m, x, m->f_di, 1.0, y);
	add_sigma(m, xl, y);
	vb_lithium_jacobian_apply(m->li, xl, m->f_di, y + m->np);
	if (m->lib) {
		double *ye = y + m->np + nl;
		memset(ye, 0, (size_t)m->ne * sizeof *ye);
		vb_electrolyte_apply(m->el, m->dt, x, xe, y, ye, 1);
		add_reactions(m, m->f_di, 1.0, ye);
	}
	return VB_OK;
}

/* x ~ J^-1 b with the condensed Jacobian, whose chains are eliminated
 * exactly but whose side links are only approximated (vb_lithium): the
 * preconditioner of the outer solve with full_apply. */
static int correction(void *ctx, const double *b, double *x, vb_err *e)
{
	vb_echem *m = ctx;
	const int64_t n_red = m->np + m->nc + m->ne;
	condense(m, b, m->b_red);
	memset(x, 0, (size_t)n_red * sizeof *x);
	vb_linsolve_stats ls = {0};
	/* The outer GMRES needs its residual, now r of the right-hand side's,
	 * reduced to cond_rtol: a correction accurate to cond_rtol / r does
	 * (inexact Krylov, Simoncini and Szyld 2003), at most 0.1. The first is
	 * as accurate as the whole correction must be; where the side links are
	 * weak a second one, loose, then closes the gap. */
	const double r = m->outer != NULL ? m->outer->residual : 1;
	double rtol = r > m->cond_rtol ? m->cond_rtol / r : 1;
	rtol = rtol > 0.1 ? 0.1 : rtol;
	/* restart 10: corrections take 2-7 iterations, and each basis vector
	 * pair costs 16 bytes per unknown */
	int rc = vb_linsolve_fgmres(n_red, jac_apply, m, precond_apply, m, m->b_red, x, rtol, 10,
				    90, &ls, e, &m->w_cond);
	m->cond_its += ls.iterations;
	if (rc != VB_OK)
		return rc;
	expand(m, b, x);
	return VB_OK;
}

static double norm2(const double *x, int64_t n)
{
	return sqrt(vb_linsolve_dot(x, x, n));
}

/* The step's Li balance defects (A), the larger of two, each in a fixed
 * order: the CAM's, F dLi/dt - I A: the Li rows' residuals summed
 * (transport and side links cancel in the sum, the reactions and storage
 * stay) less the cathode side's solid charge rows summed (ohmic currents
 * cancel, the applied current and the reactions stay); and (LIB) the
 * electrolyte's, F dLi_e/dt: the c_e rows summed (face fluxes cancel) less
 * the ionic charge rows summed (the reactions cancel). */
static double balance_defect(const vb_echem *m, const double *R)
{
	const int64_t nl = vb_lithium_count(m->li);
	double s = vb_linsolve_sum(R + m->np, nl), se = 0;
	if (m->lib)
		se = vb_linsolve_sum(R + m->np + nl, m->ne);
	for (int64_t r = 0; r < m->np; r++)
		if (m->row_kind[r] == ROW_CATHODE)
			s -= R[r];
		else if (m->row_kind[r] == ROW_ION)
			se -= R[r];
	return m->lib ? fmax(fabs(s), fabs(se)) : fabs(s);
}

/* The Newton update c_new of a concentration c, but never beyond 90 % of
 * the way from c to the bound 0 or c_max it would cross, and never on it. */
static double keep_inside(double c, double c_new, double cmax)
{
	if (c_new >= cmax)
		c_new = c + 0.9 * (cmax - c);
	else if (c_new <= 0)
		c_new = 0.1 * c;
	return c_new > 0 && c_new < cmax ? c_new : c; /* rounding may reach a bound */
}

/* What rounding leaves at the state phi, c of ||R||_2 (*norm) and of
 * balance_defect (*balance): 16 epsilon times the size of the terms the rows
 * sum (conductance x potential, and the Li rows' F V/dt c and chain fluxes,
 * vb_lithium_rounding), for the balance only the rows it sums (the Li rows
 * and the solid side's charge rows). A very short step makes the lithium
 * rows' terms large (1/dt), and a tolerance below this floor could never be
 * met. */
static void rounding_floors(const vb_echem *m, const double *phi, const double *c, double *norm,
			    double *balance)
{
	double li = vb_lithium_rounding(m->li, c, m->dt);
	if (m->lib)
		li += vb_electrolyte_rounding(m->el, c + vb_lithium_count(m->li), m->dt);
	double all = 0, solid = 0;
	for (int64_t r = 0; r < m->np; r++) {
		double t = m->fixed[m->diag[r]] * phi[r];
		all += t * t;
		if (m->row_kind[r] == ROW_CATHODE || (m->lib && m->row_kind[r] == ROW_ION))
			solid += t * t;
	}
	*norm = 16 * DBL_EPSILON * sqrt(li + all);
	*balance = 16 * DBL_EPSILON * sqrt(li + solid);
}

/* Where the largest residual sits, for a failure message. */
static void describe_worst(const vb_echem *m, const double *R, int64_t n, char *buf, size_t size)
{
	int64_t worst = 0;
	for (int64_t t = 1; t < n && !isnan(R[worst]); t++)
		if (isnan(R[t]) || fabs(R[t]) > fabs(R[worst]))
			worst = t;
	int64_t v;
	const char *eq;
	if (worst == m->cc) {
		snprintf(buf, size, "the cathode collector (charge balance %.3g A)", R[worst]);
		return;
	}
	const int64_t nl = vb_lithium_count(m->li);
	if (worst < m->np)
		v = m->pot_voxel[worst], eq = "charge";
	else if (worst >= m->np + nl)
		v = vb_electrolyte_voxel(m->el, worst - m->np - nl), eq = "electrolyte Li";
	else
		v = m->cam_voxel[vb_lithium_core_of(m->li, worst - m->np)],
		eq = worst < m->np + m->nc ? "lithium" : "sub-voxel lithium";
	const vb_image *g = &m->grid;
	const int64_t k = v % g->nz, j = (v / g->nz) % g->ny, i = v / (g->nz * g->ny);
	snprintf(buf, size, "voxel (%lld, %lld, %lld) (%s balance %.3g A)", (long long)i,
		 (long long)j, (long long)k, eq, R[worst]);
}

int vb_echem_step(vb_echem *m, const double *c_old, double dt, double current, double *phi,
		  double *c, const vb_echem_opts *opts, vb_echem_stats *stats, vb_err *e)
{
	const vb_echem_opts o = opts ? *opts : vb_echem_defaults();
	const int64_t np = m->np, nl = vb_lithium_count(m->li), ne = m->ne, n = np + nl + ne;
	m->dt = dt;
	const uint8_t *comp = vb_lithium_components(m->li);
	m->amg_rtol = o.amg_rtol;
	m->amg_rebuild = o.amg_rebuild;
	/* the tolerance scales with the applied current (a rest needs a scale
	 * too: 1 A/m^2 then) */
	const double scale = (current != 0 ? fabs(current) : 1.0) * m->area;
	if (m->nw.size < 4 * (size_t)n) {
		vb_linsolve_work_free(&m->nw);
		if ((m->nw.buf = malloc(4 * (size_t)n * sizeof *m->nw.buf)) == NULL)
			return vb_err_set(e, VB_ERR_RUN, "out of memory for the Newton step");
		m->nw.size = 4 * (size_t)n;
	}
	double *R = m->nw.buf, *dx = R + n, *trial = dx + n, *rhs = trial + n;
	vb_echem_stats st = {0};
	const int64_t setups_before = m->amg.setups + m->el_setups;
	int rc = VB_OK;
	/* the quarters' offsets stay those of the step's start; each face's own
	 * modes are solved with it (face_quarters), their chains after Newton */
	if ((rc = begin_modes(m, c_old, dt, e)) != VB_OK)
		return rc;
	eval_state(m, phi, c);
	residual(m, phi, c, c_old, current, R);
	double rn = norm2(R, n), bal = balance_defect(m, R), rn_prev = rn;
	int it = 0;
	char where[160] = "";
	double floor_norm, floor_bal;
	rounding_floors(m, phi, c, &floor_norm, &floor_bal);
	const double tol = fmax(o.newton_tol * scale, floor_norm);
	/* The norm bounds every row, not their sum, which is what Li
	 * conservation needs (F dLi/dt - I A): Newton also iterates until the
	 * step's balance is below tol (or what rounding leaves of it), while an
	 * iteration at least halves it, and keeps the last state that did. With
	 * the side links' Jacobian only approximate (vb_lithium), Newton can stop
	 * just under tol in the norm with the balance above it; a bound of 0.01
	 * tol cost 18 % more Newton iterations for no measurable gain in the
	 * conservation tests (docs/solve.md). */
	const double tol_bal = fmax(o.newton_tol * scale, floor_bal);
	while (!(rn <= tol && bal <= tol_bal)) { /* NaN does not pass */
		if (!isfinite(rn)) {
			describe_worst(m, R, n, where, sizeof where);
			rc = vb_err_set(e, VB_ERR_RUN, "Newton: the residual is not finite (at %s)",
					where);
			break;
		}
		if (it >= o.newton_max) {
			describe_worst(m, R, n, where, sizeof where);
			rc = vb_err_set(
				e, VB_ERR_RUN,
				"Newton did not converge in %d iterations (residual %.3g of "
				"the applied current; largest at %s)",
				it, rn / scale, where);
			break;
		}
		it++;
		assemble(m, c);
		m->phi_now = phi;
		sigma_coupling(m);
		/* the potentials' hierarchy is checked for staleness once per
		 * Newton iteration (the c_e block's at each of its solves) */
		vb_linsolve_kept_check(&m->amg, o.amg_rebuild);
#pragma omp parallel for schedule(static)
		for (int64_t t = 0; t < n; t++)
			rhs[t] = -R[t], dx[t] = 0;
		vb_linsolve_stats ls = {0};
		m->inner_its = 0, m->cond_its = 0, m->el_its = 0;
		/* Inexact Newton: ask of the correction only what the tolerance needs
		 * (a tenth of the target residual) or, where that is looser, the
		 * Eisenstat-Walker forcing term 0.9 (|R_k| / |R_k-1|)^2 (1e-2 first),
		 * within [linear_rtol, 1e-2]: the Study P cell converged in as many
		 * Newton iterations with a third of the linear work. The outer
		 * GMRES applies the whole Jacobian; its preconditioner, the condensed
		 * solve, lacks only the side links' coupling of neighbouring chains,
		 * so one iteration does where they are weak (a small D_s) and more
		 * where D_s dt / h^2 makes them strong (docs/solve.md). */
		double lin_rtol = rn > 0 ? 0.1 * tol / rn : 1.0;
		const double ew = it == 1 ? 1e-2 : 0.9 * (rn / rn_prev) * (rn / rn_prev);
		lin_rtol = fmax(lin_rtol, ew);
		rn_prev = rn;
		lin_rtol = lin_rtol < o.linear_rtol ? o.linear_rtol
			   : lin_rtol > 1e-2	    ? 1e-2
						    : lin_rtol;
		m->cond_rtol = lin_rtol, m->outer = &ls;
		rc = vb_linsolve_fgmres(n, full_apply, m, correction, m, rhs, dx, lin_rtol, 5, 40,
					&ls, e, &m->w_outer);
		m->outer = NULL;
		if (rc != VB_OK && ls.iterations >= 40 && ls.residual <= 0.1) {
			/* Side links much stronger than storage (D_s dt / h^2 >> 1)
			 * weaken the preconditioner: a correction that has cut the
			 * residual tenfold still makes an inexact Newton step, and the
			 * line search guards it (docs/solve.md) */
			rc = VB_OK;
			vb_err_clear(e);
		}
		st.linear_iterations += m->cond_its;
		st.outer_iterations += ls.iterations;
		st.inner_iterations += m->inner_its;
		st.electrolyte_iterations += m->el_its;
		if (rc != VB_OK) {
			vb_err_prefix(e, "linear solve of the Newton correction");
			break;
		}
		/* Damping: potential changes of at most 0.5 V; each concentration
		 * kept inside (0, c_max) on its own (keep_inside), so that one node
		 * close to saturation does not shorten the step of all the others. */
		double lam = 1.0, dmax = 0;
		for (int64_t t = 0; t < np; t++)
			dmax = fmax(dmax, fabs(dx[t]));
		if (dmax > 0.5)
			lam = 0.5 / dmax;
		double rn_new;
		int tries = 0;
		for (;;) {
#pragma omp parallel for schedule(static)
			for (int64_t t = 0; t < np; t++)
				trial[t] = phi[t] + lam * dx[t];
#pragma omp parallel for schedule(static)
			for (int64_t q = 0; q < nl; q++)
				trial[np + q] =
					keep_inside(c[q], c[q] + lam * dx[np + q],
						    comp != NULL && comp[q] ? INFINITY : m->cmax);
#pragma omp parallel for schedule(static)
			for (int64_t q = nl; q < nl + ne; q++)
				trial[np + q] =
					keep_inside(c[q], c[q] + lam * dx[np + q], INFINITY);
			eval_state(m, trial, trial + np);
			residual(m, trial, trial + np, c_old, current, R);
			rn_new = norm2(R, n);
			if (rn_new < rn * (1 - 1e-4 * lam) || rn_new <= tol || ++tries > 8)
				break;
			lam *= 0.5;
		}
		const double bal_new = balance_defect(m, R);
		if (rn <= tol && !(rn_new <= tol && bal_new <= 0.5 * bal)) {
			/* only the balance was left, and rounding stops it: keep the
			 * state before (its residual is not in R any more) */
			eval_state(m, phi, c);
			break;
		}
		memcpy(phi, trial, (size_t)np * sizeof *phi);
		memcpy(c, trial + np, (size_t)(nl + ne) * sizeof *c);
		if (!(rn_new < rn) && rn_new <= 10 * tol && bal_new <= tol) {
			/* Stalled, but within the 1e-8 conservation budget that the 1e-9
			 * tolerance leaves a margin under: a node at saturation, where
			 * i_0 ~ sqrt(c_max - c_s) makes the Jacobian singular, stops
			 * Newton there (measured: Study P cell, 1 mA/cm2, near cut-off). */
			rn = rn_new;
			break;
		}
		if (!(rn_new < rn) && (rn_new > tol || bal_new > tol_bal)) {
			describe_worst(m, R, n, where, sizeof where);
			rc = vb_err_set(e, VB_ERR_RUN,
					"Newton stalled (residual %.3g of the applied current; "
					"largest at %s)",
					rn_new / scale, where);
			rn = rn_new;
			break;
		}
		rn = rn_new, bal = bal_new;
	}
	m->phi_now = NULL;
	if (rc == VB_OK && m->nm > 0)
		rc = advance_modes(m, c_old, phi, c, e);
	m->md_solve = 0;
	st.newton_iterations = it;
	st.residual = rn / scale;
	st.amg_setups = m->amg.setups + m->el_setups - setups_before;
	if (stats != NULL)
		*stats = st;
	return rc;
}

void vb_echem_fields(vb_echem *m, const double *phi, const double *c, double *c_s, double *c_surf,
		     double *phi_s, double *phi_e, double *i_bv, double *c_e)
{
	face_offsets(m, c);
	eval_state(m, phi, c);
	const double A = m->grid.voxel_size * m->grid.voxel_size;
	const double *ce = c + vb_lithium_count(m->li);
	/* per core: the voxel's mean (core and every chain of the voxel) and the
	 * mean of its faces' surface nodes; m->tc and m->tmp_c as scratch */
	vb_lithium_voxel_means(m->li, c, m->tc, m->tmp_c);
#pragma omp parallel for schedule(static)
	for (int64_t v = 0; v < m->nvox; v++) {
		double cv = NAN, cu = NAN, ps = NAN, pe = NAN, ib = NAN, ev = NAN;
		const int64_t rs = m->srow[v], re = m->erow[v], q = m->cam[v];
		const int ph = m->lab[v];
		if (q >= 0) {
			double s = 0;
			for (int64_t t = m->cf_ptr[q]; t < m->cf_ptr[q + 1]; t++)
				s += m->f_i[m->cf[t]];
			cv = m->tc[q], cu = m->tmp_c[q];
			if (m->nm > 0 && m->cf_ptr[q + 1] > m->cf_ptr[q]) {
				/* with lateral modes a face's mean surface concentration
				 * is its surface node's plus its quarters' mean offset */
				double off = 0;
				for (int64_t t = m->cf_ptr[q]; t < m->cf_ptr[q + 1]; t++)
					for (int k = 0; k < 4; k++)
						off += 0.25 * m->f_off[4 * m->cf[t] + k];
				cu += off / (double)(m->cf_ptr[q + 1] - m->cf_ptr[q]);
			}
			ib = A * s / m->vol;
		}
		if (re >= 0)
			pe = phi[re];
		if (rs >= 0)
			ps = phi[rs];
		else if (ph == VB_PHASE_CATHODE_CC)
			ps = phi[m->cc];
		else if (ph == VB_PHASE_ANODE_CC)
			ps = 0.0;
		if (re >= 0 && m->lib)
			ev = ce[m->ceu[v]];
		if (c_s)
			c_s[v] = cv;
		if (c_surf)
			c_surf[v] = cu;
		if (phi_s)
			phi_s[v] = ps;
		if (phi_e)
			phi_e[v] = pe;
		if (i_bv)
			i_bv[v] = ib;
		if (c_e)
			c_e[v] = ev;
	}
}

int vb_echem_load_fields(const vb_echem *m, const double *c_s, const double *c_sub,
			 const double *phi_s, const double *phi_e, const double *c_e, double *phi,
			 double *c, vb_err *e)
{
	int64_t bad = -1;
	const int64_t nl = vb_lithium_count(m->li);
	phi[m->cc] = NAN;
	for (int64_t v = 0; v < m->nvox && bad < 0; v++) {
		const int64_t rs = m->srow[v], re = m->erow[v], q = m->cam[v];
		if (rs >= 0)
			phi[rs] = phi_s[v];
		if (re >= 0)
			phi[re] = phi_e[v];
		if (q >= 0)
			m->tc[q] = c_s[v];
		if (m->lab[v] == VB_PHASE_CATHODE_CC && isnan(phi[m->cc]))
			phi[m->cc] = phi_s[v];
		if ((rs >= 0 && !isfinite(phi[rs])) || (re >= 0 && !isfinite(phi[re])) ||
		    (q >= 0 && !(c_s[v] >= 0 && c_s[v] <= m->cmax)))
			bad = v;
		if (m->lib && re >= 0) {
			const double x = c_e != NULL ? c_e[v] : NAN;
			if (x > 0 && isfinite(x))
				c[nl + m->ceu[v]] = x;
			else
				bad = v;
		}
	}
	if (bad < 0 && !isfinite(phi[m->cc]))
		bad = m->nvox;
	if (bad >= 0) {
		const vb_image *g = &m->grid;
		if (bad == m->nvox)
			return vb_err_set(e, VB_ERR_INPUT,
					  "no finite cathode collector potential in phi_s");
		return vb_err_set(e, VB_ERR_INPUT,
				  "the fields do not fit the cell: no valid value at voxel (%lld, "
				  "%lld, %lld) (%s)",
				  (long long)(bad / (g->ny * g->nz)),
				  (long long)(bad / g->nz % g->ny), (long long)(bad % g->nz),
				  vb_voxel_phase_name(m->lab[bad]));
	}
	for (int64_t k = 0; k < m->nm; k++) /* not in a run file: the snapshot's layer as flat */
		c[nl + m->ne + k] = 0;
	return vb_lithium_load(m->li, m->tc, c_sub, c, e);
}

/* Current density (A/m^2) leaving ion-conducting voxel v (ionic row r)
 * through its face d (the order of neighbours()) towards neighbour n: the
 * electrolyte's face law to another ion conductor, minus the Butler-Volmer
 * current of an electrode face, 0 elsewhere. */
static double ion_face_current(const vb_echem *m, int64_t v, int64_t r, int d, int64_t n,
			       const double *phi)
{
	const double h = m->grid.voxel_size;
	if (n < 0)
		return 0;
	if (m->erow[n] >= 0) {
		if (m->lib) {
			/* neighbours() d: -x, -y, -z, +z, +y, +x; the electrolyte's
			 * slots: -z, -y, -x, +z, +y, +x */
			static const int slot[6] = {2, 1, 0, 3, 4, 5};
			return vb_electrolyte_face_current(m->el, m->ceu[v], slot[d]) / (h * h);
		}
		return face_conductance(sigma_of(m, m->lab[v], NODE_E),
					sigma_of(m, m->lab[n], NODE_E), h) *
		       (phi[r] - phi[m->erow[n]]) / (h * h);
	}
	if (m->srow[n] < 0)
		return 0;
	for (int64_t t = m->rf_ptr[r]; t < m->rf_ptr[r + 1]; t++) {
		const int64_t code = m->rf[t], f = code / 2;
		if (code % 2 == 1 && m->f_ps[f] == m->srow[n])
			return -m->f_i[f];
	}
	return 0;
}

void vb_echem_ionic_current(vb_echem *m, const double *phi, const double *c, double *i_ion)
{
	face_offsets(m, c);
	eval_state(m, phi, c);
#pragma omp parallel for schedule(static)
	for (int64_t v = 0; v < m->nvox; v++) {
		const int64_t r = m->erow[v];
		if (r < 0) {
			i_ion[v] = NAN;
			continue;
		}
		int64_t nb[6];
		neighbours(m, v, nb);
		double s = 0;
		/* nb[d] and nb[5 - d] are the two faces of one axis, d < 3 the lower */
		for (int d = 0; d < 3; d++) {
			const double lo = -ion_face_current(m, v, r, d, nb[d], phi);
			const double hi = ion_face_current(m, v, r, 5 - d, nb[5 - d], phi);
			const double comp = 0.5 * (lo + hi);
			s += comp * comp;
		}
		i_ion[v] = sqrt(s);
	}
}
