/* vb_echem: finite-volume discretisation of the ASSB model on the voxel grid
 * and its Newton step (PHYSICS.md §2). The Jacobian is solved by flexible
 * GMRES preconditioned with a block factorisation whose potential block is
 * SPD and goes to AMG (docs/solve.md). */
#include "vb_echem.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vb_linsolve.h"

#define FARADAY 96485.33212
#define GAS_R 8.314462618

/* How two face-neighbouring voxels exchange charge (PHYSICS.md §2). */
enum link {
	LINK_NONE,
	LINK_OHM,    /* same conductor class: harmonic-mean conductance */
	LINK_BV_CAM, /* CAM | SE: Butler-Volmer with the NMC kinetics */
	LINK_BV_LI,  /* Li | SE: Butler-Volmer with the Li kinetics */
	LINK_CC,     /* CAM | cathode collector: ohmic into the collector node */
	LINK_GROUND, /* Li | anode collector: ohmic to ground */
};

struct vb_echem {
	const vb_params *p;
	vb_image grid; /* dimensions, voxel size, labels (= lab) */
	int64_t nvox;
	double area;	    /* projected cross-section, m^2 */
	int64_t np, nc, cc; /* potential unknowns (cc = collector node = np-1), CAM unknowns */
	uint8_t *lab;	    /* copy of the labels */
	int64_t *pot;	    /* nvox: potential unknown or -1 */
	int64_t *cam;	    /* nvox: CAM unknown or -1 */
	int64_t *pot_voxel; /* np-1 */
	int64_t *cam_voxel; /* nc */
	vb_csr J, S;	    /* potential Jacobian and its preconditioning Schur approximation */
	double *fixed;	    /* ohmic and ground part of J (J's pattern) */
	int64_t *diag;	    /* np: position of each diagonal in J */
	/* faces: 0..nf-1 CAM|SE, nf..nf+nl-1 Li|SE */
	int64_t nf, nl;
	int64_t *f_cam, *f_ps, *f_pe, *f_pos_se, *f_pos_es; /* nf + nl (f_cam only nf) */
	double *f_i, *f_g, *f_a;			    /* A/m^2, S, A m^3/mol */
	int64_t *rf_ptr, *rf; /* per potential row: faces (2 f + 1 on the electrolyte side) */
	int64_t *cf_ptr, *cf; /* per CAM unknown: its CAM|SE faces */
	vb_csr K;	      /* F D h x (graph Laplacian of CAM), nc x nc */
	vb_csr Pcc;	      /* the preconditioner's c_s block (K + clamped diagonal) */
	double *A_q, *D_q;    /* per CAM unknown: sum of face a, diagonal of Pcc */
	/* model constants */
	double f, alpha, i00, ce, cmax, c0, D, alpha_li, i0_li, vol;
	/* Newton workspace */
	vb_linsolve_amg *amg;
	double dt;
	int64_t inner_its, inner_max;
	double amg_rtol;
	int64_t amg_setups;	 /* hierarchies built */
	double *tc, *yp, *tmp_c; /* preconditioner workspace */
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

static enum link classify(int a, int b)
{
	if (ionic(a) && ionic(b))
		return LINK_OHM;
	if (a == b && (a == VB_PHASE_CAM || a == VB_PHASE_LI))
		return LINK_OHM;
	if (a == VB_PHASE_CAM && ionic(b))
		return LINK_BV_CAM;
	if (a == VB_PHASE_LI && ionic(b))
		return LINK_BV_LI;
	if (a == VB_PHASE_CAM && b == VB_PHASE_CATHODE_CC)
		return LINK_CC;
	if (a == VB_PHASE_LI && b == VB_PHASE_ANODE_CC)
		return LINK_GROUND;
	return LINK_NONE;
}

/* Conductivity (S/m) of a voxel of phase ph. */
static double sigma_of(const vb_params *p, int ph)
{
	switch (ph) {
	case VB_PHASE_CAM: return vb_params_get(p, "cam.conductivity");
	case VB_PHASE_LI: return vb_params_get(p, "li_metal.conductivity");
	case VB_PHASE_ELECTROLYTE:
	case VB_PHASE_CBD: return vb_params_get(p, "electrolyte.conductivity");
	case VB_PHASE_SEPARATOR:
		return vb_params_get(p, "electrolyte.conductivity") *
		       vb_params_get(p, "separator.conductivity_factor");
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

void vb_echem_free(vb_echem **mp)
{
	if (mp == NULL || *mp == NULL)
		return;
	vb_echem *m = *mp;
	free(m->lab), free(m->pot), free(m->cam), free(m->pot_voxel), free(m->cam_voxel);
	free(m->S.val);
	m->S.val = NULL;
	vb_linsolve_csr_free(&m->J);
	free(m->fixed), free(m->diag);
	free(m->f_cam), free(m->f_ps), free(m->f_pe), free(m->f_pos_se), free(m->f_pos_es);
	free(m->f_i), free(m->f_g), free(m->f_a);
	free(m->rf_ptr), free(m->rf), free(m->cf_ptr), free(m->cf);
	free(m->Pcc.val);
	vb_linsolve_csr_free(&m->K);
	free(m->A_q), free(m->D_q);
	vb_linsolve_amg_free(&m->amg);
	free(m->tc), free(m->yp), free(m->tmp_c);
	free(m);
	*mp = NULL;
}

/* Marks the voxels joined to the grounded anode through the links of
 * PHYSICS.md §2 (reach[v] = 1) and whether the collector node is reached. */
static int64_t reach_from_ground(const vb_echem *m, const uint8_t *lab, uint8_t *reach,
				 int64_t *queue, int *cc_reached)
{
	int64_t head = 0, tail = 0, nb[6];
	*cc_reached = 0;
	for (int64_t v = 0; v < m->nvox; v++) {
		if (lab[v] != VB_PHASE_LI)
			continue;
		neighbours(m, v, nb);
		for (int d = 0; d < 6; d++)
			if (nb[d] >= 0 && classify(lab[v], lab[nb[d]]) == LINK_GROUND) {
				reach[v] = 1, queue[tail++] = v;
				break;
			}
	}
	while (head < tail) {
		int64_t v = queue[head++];
		neighbours(m, v, nb);
		for (int d = 0; d < 6; d++) {
			if (nb[d] < 0)
				continue;
			const int64_t u = nb[d];
			enum link l = classify(lab[v], lab[u]), rl = classify(lab[u], lab[v]);
			if (l == LINK_CC && !*cc_reached) {
				/* The collector is one node: every CAM voxel touching it is joined.
				 */
				*cc_reached = 1;
				int64_t nb2[6];
				for (int64_t w = 0; w < m->nvox; w++) {
					if (lab[w] != VB_PHASE_CAM || reach[w])
						continue;
					neighbours(m, w, nb2);
					for (int d2 = 0; d2 < 6; d2++)
						if (nb2[d2] >= 0 &&
						    lab[nb2[d2]] == VB_PHASE_CATHODE_CC) {
							reach[w] = 1, queue[tail++] = w;
							break;
						}
				}
			}
			if (reach[u])
				continue;
			if (l == LINK_OHM || l == LINK_BV_CAM || l == LINK_BV_LI ||
			    rl == LINK_BV_CAM || rl == LINK_BV_LI)
				reach[u] = 1, queue[tail++] = u;
		}
	}
	return tail;
}

/* Position of column col in row r of A; -1 if absent. */
static int64_t find_pos(const vb_csr *A, int64_t r, int64_t col)
{
	for (int64_t q = A->rowptr[r]; q < A->rowptr[r + 1]; q++)
		if (A->col[q] == col)
			return q;
	return -1;
}

static int build(vb_echem *m, const uint8_t *lab, const char *what, vb_err *e)
{
	uint8_t *reach = calloc((size_t)m->nvox, 1);
	int64_t *queue = malloc((size_t)m->nvox * sizeof *queue);
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
	m->pot = malloc((size_t)m->nvox * sizeof *m->pot);
	m->cam = malloc((size_t)m->nvox * sizeof *m->cam);
	if (m->pot == NULL || m->cam == NULL) {
		free(reach);
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	}
	int64_t np = 0, nc = 0;
	for (int64_t v = 0; v < m->nvox; v++) {
		m->pot[v] = reach[v] ? np++ : -1;
		m->cam[v] = reach[v] && lab[v] == VB_PHASE_CAM ? nc++ : -1;
	}
	free(reach);
	if (nc == 0)
		return vb_err_set(e, VB_ERR_INPUT, "%s: no CAM voxel takes part in the reaction",
				  what);
	m->cc = np;
	m->np = np + 1;
	m->nc = nc;
	m->pot_voxel = malloc((size_t)np * sizeof *m->pot_voxel);
	m->cam_voxel = malloc((size_t)nc * sizeof *m->cam_voxel);
	m->diag = malloc((size_t)m->np * sizeof *m->diag);
	m->J.rowptr = calloc((size_t)m->np + 1, sizeof *m->J.rowptr);
	m->K.rowptr = calloc((size_t)nc + 1, sizeof *m->K.rowptr);
	if (!m->pot_voxel || !m->cam_voxel || !m->diag || !m->J.rowptr || !m->K.rowptr)
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	for (int64_t v = 0; v < m->nvox; v++) {
		if (m->pot[v] >= 0)
			m->pot_voxel[m->pot[v]] = v;
		if (m->cam[v] >= 0)
			m->cam_voxel[m->cam[v]] = v;
	}
	/* Pass 1: row lengths, face counts. */
	int64_t ncc = 0, nf = 0, nl = 0, nk = 0, nb[6];
	for (int64_t r = 0; r < np; r++) {
		int64_t v = m->pot_voxel[r], len = 1, has_cc = 0;
		neighbours(m, v, nb);
		for (int d = 0; d < 6; d++) {
			if (nb[d] < 0)
				continue;
			enum link l = classify(lab[v], lab[nb[d]]);
			enum link rl = classify(lab[nb[d]], lab[v]);
			/* nb[d] < nvox by construction of neighbours(), which the
			 * analyzer cannot follow through the division */
			// NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
			if (m->pot[nb[d]] >= 0 &&
			    (l == LINK_OHM || l == LINK_BV_CAM || l == LINK_BV_LI ||
			     rl == LINK_BV_CAM || rl == LINK_BV_LI))
				len++;
			if (l == LINK_CC)
				has_cc = 1;
			if (m->pot[nb[d]] >= 0 && l == LINK_BV_CAM)
				nf++;
			if (m->pot[nb[d]] >= 0 && l == LINK_BV_LI)
				nl++;
			if (lab[v] == VB_PHASE_CAM && m->cam[nb[d]] >= 0)
				nk++;
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
	m->nf = nf, m->nl = nl;
	const int64_t nfl = nf + nl;
	m->f_cam = malloc((size_t)(nf + 1) * sizeof *m->f_cam);
	m->f_ps = malloc((size_t)(nfl + 1) * sizeof *m->f_ps);
	m->f_pe = malloc((size_t)(nfl + 1) * sizeof *m->f_pe);
	m->f_pos_se = malloc((size_t)(nfl + 1) * sizeof *m->f_pos_se);
	m->f_pos_es = malloc((size_t)(nfl + 1) * sizeof *m->f_pos_es);
	m->f_i = calloc((size_t)(nfl + 1), sizeof *m->f_i);
	m->f_g = calloc((size_t)(nfl + 1), sizeof *m->f_g);
	m->f_a = calloc((size_t)(nf + 1), sizeof *m->f_a);
	m->K.col = malloc((size_t)(nk + nc) * sizeof *m->K.col);
	m->K.val = calloc((size_t)(nk + nc), sizeof *m->K.val);
	m->Pcc.val = calloc((size_t)(nk + nc), sizeof *m->Pcc.val);
	if (!m->J.col || !m->J.val || !m->S.val || !m->fixed || !m->f_cam || !m->f_ps || !m->f_pe ||
	    !m->f_pos_se || !m->f_pos_es || !m->f_i || !m->f_g || !m->f_a || !m->K.col ||
	    !m->K.val || !m->Pcc.val)
		return vb_err_set(e, VB_ERR_RUN, "out of memory for the Jacobian (%lld entries)",
				  (long long)nnz);
	/* Pass 2: columns, fixed conductances, faces (CAM|SE first, then Li|SE). */
	const double h = m->grid.voxel_size;
	const double F_D_h = FARADAY * m->D * h;
	int64_t f = 0, l = nf, kq = 0, ccq = m->J.rowptr[np];
	for (int64_t r = 0; r < np; r++) {
		int64_t v = m->pot_voxel[r], q = m->J.rowptr[r];
		const double sv = sigma_of(m->p, lab[v]);
		neighbours(m, v, nb);
		double dsum = 0, gcc = 0;
		int placed_diag = 0;
		for (int d = 0; d < 6; d++) {
			if (d == 3 && !placed_diag) {
				m->diag[r] = q, m->J.col[q++] = r, placed_diag = 1;
			}
			if (nb[d] < 0)
				continue;
			const int ln = lab[nb[d]];
			enum link lk = classify(lab[v], ln), rl = classify(ln, lab[v]);
			if (lk == LINK_GROUND || lk == LINK_CC) {
				double g = face_conductance(sv, sigma_of(m->p, ln), h);
				dsum += g;
				if (lk == LINK_CC)
					gcc += g;
				continue;
			}
			if (m->pot[nb[d]] < 0)
				continue;
			if (lk == LINK_OHM) {
				double g = face_conductance(sv, sigma_of(m->p, ln), h);
				m->fixed[q] = -g;
				dsum += g;
				m->J.col[q++] = m->pot[nb[d]];
			} else if (lk == LINK_BV_CAM || lk == LINK_BV_LI || rl == LINK_BV_CAM ||
				   rl == LINK_BV_LI) {
				m->J.col[q++] = m->pot[nb[d]];
			}
			if (lk == LINK_BV_CAM) {
				m->f_cam[f] = m->cam[v];
				m->f_ps[f] = r, m->f_pe[f] = m->pot[nb[d]];
				f++;
			} else if (lk == LINK_BV_LI) {
				m->f_ps[l] = r, m->f_pe[l] = m->pot[nb[d]];
				l++;
			}
		}
		if (!placed_diag)
			m->diag[r] = q, m->J.col[q++] = r;
		if (gcc > 0) {
			/* this row's collector column (the largest index, so last) and
			 * the collector row's entry for this row */
			m->J.col[q] = m->cc, m->fixed[q] = -gcc, q++;
			m->J.col[ccq] = r, m->fixed[ccq] = -gcc, ccq++;
		}
		m->fixed[m->diag[r]] = dsum;
		/* diffusion between CAM neighbours */
		if (lab[v] == VB_PHASE_CAM) {
			int64_t c = m->cam[v], cnt = 0, start = kq;
			for (int d = 0; d < 6; d++) {
				if (d == 3) {
					m->K.col[kq++] = c;
				}
				if (nb[d] >= 0 && m->cam[nb[d]] >= 0) {
					m->K.col[kq] = m->cam[nb[d]];
					m->K.val[kq++] = -F_D_h;
					cnt++;
				}
			}
			for (int64_t t = start; t < kq; t++)
				if (m->K.col[t] == c)
					m->K.val[t] = F_D_h * (double)cnt;
			m->K.rowptr[c + 1] = kq;
		}
	}
	/* the collector node's diagonal */
	double dcc = 0;
	for (int64_t t = m->J.rowptr[np]; t < ccq; t++)
		dcc -= m->fixed[t];
	m->diag[np] = ccq;
	m->J.col[ccq] = np;
	m->fixed[ccq] = dcc;
	m->K.n = nc;
	m->Pcc.n = nc, m->Pcc.rowptr = m->K.rowptr, m->Pcc.col = m->K.col;
	m->S.n = m->np, m->S.rowptr = m->J.rowptr, m->S.col = m->J.col;
	for (int64_t t = 0; t < nfl; t++) {
		m->f_pos_se[t] = find_pos(&m->J, m->f_ps[t], m->f_pe[t]);
		m->f_pos_es[t] = find_pos(&m->J, m->f_pe[t], m->f_ps[t]);
	}
	/* Face incidence per potential row and per CAM unknown. */
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
	m->A_q = calloc((size_t)nc, sizeof *m->A_q);
	m->D_q = calloc((size_t)nc, sizeof *m->D_q);
	m->tc = malloc((size_t)nc * sizeof *m->tc);
	m->tmp_c = malloc((size_t)nc * sizeof *m->tmp_c);
	m->yp = malloc((size_t)m->np * sizeof *m->yp);
	if (!m->A_q || !m->D_q || !m->tc || !m->tmp_c || !m->yp)
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	return VB_OK;
}

vb_echem *vb_echem_new(const vb_image *img, const vb_params *p, const char *what, vb_err *e)
{
	if (strcmp(vb_params_cell_type(p), "assb") != 0) {
		vb_err_set(e, VB_ERR_INPUT,
			   "%s: cell type %s: this version of solve simulates ASSB cells only",
			   what, vb_params_cell_type(p));
		return NULL;
	}
	int64_t counts[VB_PHASE_COUNT] = {0};
	vb_voxel_count_phases(img, counts, NULL);
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
	m->D = vb_params_get(p, "cam.diffusivity");
	m->alpha_li = vb_params_get(p, "li_metal.alpha");
	m->i0_li = vb_params_get(p, "li_metal.exchange_current");
	m->lab = malloc((size_t)m->nvox);
	if (m->lab == NULL) {
		free(m);
		vb_err_set(e, VB_ERR_RUN, "out of memory");
		return NULL;
	}
	memcpy(m->lab, img->labels, (size_t)m->nvox);
	m->grid.labels = m->lab;
	if (build(m, img->labels, what, e) != VB_OK) {
		vb_echem_free(&m);
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
	const double u0 = ocv(m, m->c0);
	for (int64_t r = 0; r < m->np - 1; r++) {
		int64_t v = m->pot_voxel[r];
		phi[r] = m->cam[v] >= 0 ? u0 : 0.0;
	}
	phi[m->cc] = u0;
	for (int64_t q = 0; q < m->nc; q++)
		c[q] = m->c0;
}

double vb_echem_voltage(const vb_echem *m, const double *phi)
{
	return phi[m->cc];
}

double vb_echem_lithium(const vb_echem *m, const double *c)
{
	double s = 0;
	for (int64_t q = 0; q < m->nc; q++)
		s += c[q];
	return s * m->vol / m->area;
}

/* Butler-Volmer on every face (PHYSICS.md §2): current density i (A/m^2,
 * positive anodic), g = A di/deta (S) and, on CAM faces, a = A di/dc_s. */
static void eval_faces(vb_echem *m, const double *phi, const double *c)
{
	const double A = m->grid.voxel_size * m->grid.voxel_size, f = m->f;
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < m->nf + m->nl; t++) {
		double eta, i0, al, dlni0 = 0, dU = 0;
		if (t < m->nf) {
			/* keep_inside holds 0 < c_s < c_max; i_0 vanishes at the bounds */
			const double cs = c[m->f_cam[t]], x = cs / m->cmax;
			al = m->alpha;
			eta = phi[m->f_ps[t]] - phi[m->f_pe[t]] -
			      vb_params_eval(m->p, "cam.ocp", x);
			dU = vb_params_eval_derivative(m->p, "cam.ocp", x) / m->cmax;
			if (cs > 0 && cs < m->cmax) {
				i0 = m->i00 * pow(m->ce, al) * pow(cs, al) *
				     pow(m->cmax - cs, 1 - al);
				dlni0 = al / cs - (1 - al) / (m->cmax - cs);
			} else {
				i0 = 0;
			}
		} else {
			al = m->alpha_li;
			eta = phi[m->f_ps[t]] - phi[m->f_pe[t]];
			i0 = m->i0_li;
		}
		double xa = al * f * eta, xc = -(1 - al) * f * eta;
		xa = xa > 200 ? 200 : xa, xc = xc > 200 ? 200 : xc;
		const double ea = exp(xa), ec = exp(xc);
		const double i = i0 * (ea - ec);
		const double di_deta = i0 * f * (al * ea + (1 - al) * ec);
		m->f_i[t] = i;
		m->f_g[t] = A * di_deta;
		if (t < m->nf)
			m->f_a[t] = A * (-di_deta * dU + i * dlni0);
	}
}

/* Residuals in amperes (PHYSICS.md §2): charge balance of every potential
 * unknown, and F times the lithium balance of every CAM voxel. */
static void residual(vb_echem *m, const double *phi, const double *c, const double *c_old,
		     double current, double *Rp, double *Rc)
{
	const double A = m->grid.voxel_size * m->grid.voxel_size, FV_dt = FARADAY * m->vol / m->dt;
	vb_csr L = m->J;
	L.val = m->fixed;
	vb_linsolve_spmv(&L, phi, Rp);
#pragma omp parallel for schedule(static)
	for (int64_t r = 0; r < m->np; r++) {
		double s = 0;
		for (int64_t t = m->rf_ptr[r]; t < m->rf_ptr[r + 1]; t++) {
			int64_t fc = m->rf[t];
			s += (fc & 1) ? -m->f_i[fc >> 1] : m->f_i[fc >> 1];
		}
		Rp[r] += A * s;
	}
	Rp[m->cc] += current * m->area;
	vb_linsolve_spmv(&m->K, c, Rc);
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < m->nc; q++) {
		double s = 0;
		for (int64_t t = m->cf_ptr[q]; t < m->cf_ptr[q + 1]; t++)
			s += m->f_i[m->cf[t]];
		Rc[q] += FV_dt * (c[q] - c_old[q]) + A * s;
	}
}

/* J (potential block), S (its Schur approximation) and Pcc (the c_s block
 * of the preconditioner) from the faces. The c_s block of the Jacobian is
 * K + F V/dt + A_q on the diagonal; A_q (the reactions' dependence on c_s)
 * can be negative, so Pcc keeps its diagonal at least K's + F V/dt: SPD. */
static void assemble(vb_echem *m)
{
	const double FV_dt = FARADAY * m->vol / m->dt;
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < m->nc; q++) {
		double a = 0;
		for (int64_t t = m->cf_ptr[q]; t < m->cf_ptr[q + 1]; t++)
			a += m->f_a[m->cf[t]];
		m->A_q[q] = a;
		const double add = FV_dt + (a > 0 ? a : 0);
		for (int64_t t = m->K.rowptr[q]; t < m->K.rowptr[q + 1]; t++) {
			m->Pcc.val[t] = m->K.val[t];
			if (m->K.col[t] == q) {
				m->Pcc.val[t] += add;
				m->D_q[q] = m->Pcc.val[t];
			}
		}
	}
	const int64_t nnz = m->J.rowptr[m->np];
	memcpy(m->J.val, m->fixed, (size_t)nnz * sizeof *m->J.val);
	memcpy(m->S.val, m->fixed, (size_t)nnz * sizeof *m->S.val);
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < m->nf + m->nl; t++) {
		double g = m->f_g[t], gs = g;
		if (t < m->nf) {
			/* eliminating c_s with the diagonal of its block leaves the face
			 * conductance scaled by 1 - A_q / D_q (docs/solve.md) */
			int64_t q = m->f_cam[t];
			double th = 1.0 - m->A_q[q] / m->D_q[q];
			th = th < 1e-3 ? 1e-3 : th > 10 ? 10 : th;
			gs = g * th;
		}
		m->J.val[m->f_pos_se[t]] = -g, m->J.val[m->f_pos_es[t]] = -g;
		m->S.val[m->f_pos_se[t]] = -gs, m->S.val[m->f_pos_es[t]] = -gs;
	}
#pragma omp parallel for schedule(static)
	for (int64_t r = 0; r < m->np; r++) {
		double s = 0, ss = 0;
		for (int64_t t = m->rf_ptr[r]; t < m->rf_ptr[r + 1]; t++) {
			int64_t fc = m->rf[t] >> 1;
			s += m->f_g[fc];
			ss += -m->S.val[m->f_pos_se[fc]];
		}
		m->J.val[m->diag[r]] += s;
		m->S.val[m->diag[r]] += ss;
	}
}

/* y_p += sign * J_pc x_c: the reactions' dependence on c_s, seen by the
 * potential rows of both sides of each CAM|SE face. */
static void add_pc(const vb_echem *m, const double *xc, double sign, double *yp)
{
#pragma omp parallel for schedule(static)
	for (int64_t r = 0; r < m->np; r++) {
		double s = 0;
		for (int64_t t = m->rf_ptr[r]; t < m->rf_ptr[r + 1]; t++) {
			int64_t fc = m->rf[t] >> 1;
			if (fc < m->nf)
				s += ((m->rf[t] & 1) ? -m->f_a[fc] : m->f_a[fc]) * xc[m->f_cam[fc]];
		}
		yp[r] += sign * s;
	}
}

/* y_c += sign * J_cp x_p: the lithium rows' dependence on the potentials. */
static void add_cp(const vb_echem *m, const double *xp, double sign, double *yc)
{
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < m->nc; q++) {
		double s = 0;
		for (int64_t t = m->cf_ptr[q]; t < m->cf_ptr[q + 1]; t++) {
			int64_t fc = m->cf[t];
			s += m->f_g[fc] * (xp[m->f_ps[fc]] - xp[m->f_pe[fc]]);
		}
		yc[q] += sign * s;
	}
}

/* y = J x for the coupled Jacobian, x = [x_p; x_c]. */
static int jac_apply(void *ctx, const double *x, double *y, vb_err *e)
{
	(void)e;
	vb_echem *m = ctx;
	const double *xp = x, *xc = x + m->np;
	double *yp = y, *yc = y + m->np;
	const double FV_dt = FARADAY * m->vol / m->dt;
	vb_linsolve_spmv(&m->J, xp, yp);
	add_pc(m, xc, 1.0, yp);
	vb_linsolve_spmv(&m->K, xc, yc);
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < m->nc; q++)
		yc[q] += (FV_dt + m->A_q[q]) * xc[q];
	add_cp(m, xp, 1.0, yc);
	return VB_OK;
}

/* Block factorisation (docs/solve.md): eliminate c_s with the diagonal of
 * its block, solve the SPD potential system S by AMG-PCG, then solve the
 * c_s block (diffusion included) by Jacobi-PCG. */
static int precond_apply(void *ctx, const double *r, double *z, vb_err *e)
{
	vb_echem *m = ctx;
	const double *rp = r, *rc = r + m->np;
	double *zp = z, *zc = z + m->np;
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < m->nc; q++)
		m->tc[q] = rc[q] / m->D_q[q];
	memcpy(m->yp, rp, (size_t)m->np * sizeof *m->yp);
	add_pc(m, m->tc, -1.0, m->yp);
	memset(zp, 0, (size_t)m->np * sizeof *zp);
	if (m->amg == NULL) {
		if ((m->amg = vb_linsolve_amg_new(&m->S, e)) == NULL)
			return e->status;
		m->inner_max = 0;
		m->amg_setups++;
	}
	vb_linsolve_stats st = {0};
	int rc_ = vb_linsolve_amg_pcg(m->amg, &m->S, m->yp, zp, m->amg_rtol, 200, &st, e);
	m->inner_its += st.iterations;
	if (st.iterations > m->inner_max)
		m->inner_max = st.iterations;
	if (rc_ != VB_OK)
		return rc_;
	memcpy(m->tmp_c, rc, (size_t)m->nc * sizeof *m->tmp_c);
	add_cp(m, zp, -1.0, m->tmp_c);
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < m->nc; q++)
		zc[q] = m->tmp_c[q] / m->D_q[q];
	vb_linsolve_opts o = vb_linsolve_defaults();
	o.method = VB_LINSOLVE_PCG;
	o.rtol = 1e-8;
	o.max_iter = 1000;
	return vb_linsolve_spd(&m->Pcc, m->tmp_c, zc, &o, NULL, e);
}

static double norm2(const double *x, int64_t n)
{
	return sqrt(vb_linsolve_dot(x, x, n));
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

/* What rounding leaves of ||R||_2 at the state phi, c: 16 epsilon times
 * the size of the terms each row sums (conductance x potential, F V/dt x
 * c_s). A very short step makes the lithium rows' terms large (1/dt), and a
 * tolerance below this floor could never be met. */
static double rounding_floor(const vb_echem *m, const double *phi, const double *c)
{
	const double FV_dt = FARADAY * m->vol / m->dt;
	double s = 0;
	for (int64_t r = 0; r < m->np; r++) {
		double t = m->fixed[m->diag[r]] * phi[r];
		s += t * t;
	}
	for (int64_t q = 0; q < m->nc; q++) {
		double t = FV_dt * c[q];
		s += t * t;
	}
	return 16 * DBL_EPSILON * sqrt(s);
}

/* Where the largest residual sits, for a failure message. */
static void describe_worst(const vb_echem *m, const double *R, char *buf, size_t size)
{
	int64_t worst = 0;
	for (int64_t t = 1; t < m->np + m->nc && !isnan(R[worst]); t++)
		if (isnan(R[t]) || fabs(R[t]) > fabs(R[worst]))
			worst = t;
	int64_t v;
	const char *eq;
	if (worst == m->cc) {
		snprintf(buf, size, "the cathode collector (charge balance %.3g A)", R[worst]);
		return;
	}
	if (worst < m->np)
		v = m->pot_voxel[worst], eq = "charge";
	else
		v = m->cam_voxel[worst - m->np], eq = "lithium";
	const vb_image *g = &m->grid;
	const int64_t k = v % g->nz, j = (v / g->nz) % g->ny, i = v / (g->nz * g->ny);
	snprintf(buf, size, "voxel (%lld, %lld, %lld) (%s balance %.3g A)", (long long)i,
		 (long long)j, (long long)k, eq, R[worst]);
}

int vb_echem_step(vb_echem *m, const double *c_old, double dt, double current, double *phi,
		  double *c, const vb_echem_opts *opts, vb_echem_stats *stats, vb_err *e)
{
	const vb_echem_opts o = opts ? *opts : vb_echem_defaults();
	const int64_t np = m->np, nc = m->nc, n = np + nc;
	m->dt = dt;
	m->amg_rtol = o.amg_rtol;
	const double scale = (fabs(current) > 1.0 ? fabs(current) : 1.0) * m->area;
	double *R = malloc((size_t)n * sizeof *R), *dx = malloc((size_t)n * sizeof *dx);
	double *trial = malloc((size_t)n * sizeof *trial), *rhs = malloc((size_t)n * sizeof *rhs);
	if (!R || !dx || !trial || !rhs) {
		free(R), free(dx), free(trial), free(rhs);
		return vb_err_set(e, VB_ERR_RUN, "out of memory for the Newton step");
	}
	vb_echem_stats st = {0};
	const int64_t setups_before = m->amg_setups;
	int rc = VB_OK;
	eval_faces(m, phi, c);
	residual(m, phi, c, c_old, current, R, R + np);
	double rn = norm2(R, n);
	int it = 0;
	char where[160] = "";
	const double tol = fmax(o.newton_tol * scale, rounding_floor(m, phi, c));
	while (!(rn <= tol)) { /* NaN does not pass */
		if (!isfinite(rn)) {
			describe_worst(m, R, where, sizeof where);
			rc = vb_err_set(e, VB_ERR_RUN, "Newton: the residual is not finite (at %s)",
					where);
			break;
		}
		if (it >= o.newton_max) {
			describe_worst(m, R, where, sizeof where);
			rc = vb_err_set(
				e, VB_ERR_RUN,
				"Newton did not converge in %d iterations (residual %.3g of "
				"the applied current; largest at %s)",
				it, rn / scale, where);
			break;
		}
		it++;
		assemble(m);
		if (m->amg != NULL && m->inner_max > o.amg_rebuild)
			vb_linsolve_amg_free(&m->amg);
#pragma omp parallel for schedule(static)
		for (int64_t t = 0; t < n; t++)
			rhs[t] = -R[t], dx[t] = 0;
		vb_linsolve_stats ls = {0};
		m->inner_its = 0;
		/* Inexact Newton: ask of the correction only what the tolerance needs
		 * (a tenth of the target residual), at least linear_rtol. */
		double lin_rtol = 0.1 * tol / rn;
		lin_rtol = lin_rtol < o.linear_rtol ? o.linear_rtol
			   : lin_rtol > 1e-2	    ? 1e-2
						    : lin_rtol;
		/* restart 10: corrections take 2-7 iterations, and each basis
		 * vector pair costs 16 bytes per unknown */
		rc = vb_linsolve_fgmres(n, jac_apply, m, precond_apply, m, rhs, dx, lin_rtol, 10,
					90, &ls, e);
		st.linear_iterations += ls.iterations;
		st.inner_iterations += m->inner_its;
		if (rc != VB_OK) {
			vb_err_prefix(e, "linear solve of the Newton correction");
			break;
		}
		/* Damping: potential changes of at most 0.5 V; each c_s kept inside
		 * (0, c_max) on its own (keep_inside), so that one voxel close to
		 * saturation does not shorten the step of all the others. */
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
			for (int64_t q = 0; q < nc; q++)
				trial[np + q] = keep_inside(c[q], c[q] + lam * dx[np + q], m->cmax);
			eval_faces(m, trial, trial + np);
			residual(m, trial, trial + np, c_old, current, R, R + np);
			rn_new = norm2(R, n);
			if (rn_new < rn * (1 - 1e-4 * lam) || rn_new <= tol || ++tries > 8)
				break;
			lam *= 0.5;
		}
		memcpy(phi, trial, (size_t)np * sizeof *phi);
		memcpy(c, trial + np, (size_t)nc * sizeof *c);
		if (!(rn_new < rn) && rn_new <= 10 * tol) {
			/* Stalled, but within the 1e-8 conservation budget that the 1e-9
			 * tolerance leaves a margin under: a voxel at saturation, where
			 * i_0 ~ sqrt(c_max - c_s) makes the Jacobian singular, stops
			 * Newton there (measured: Study P cell, 1 mA/cm2, near cut-off). */
			rn = rn_new;
			break;
		}
		if (!(rn_new < rn) && rn_new > tol) {
			describe_worst(m, R, where, sizeof where);
			rc = vb_err_set(e, VB_ERR_RUN,
					"Newton stalled (residual %.3g of the applied current; "
					"largest at %s)",
					rn_new / scale, where);
			rn = rn_new;
			break;
		}
		rn = rn_new;
	}
	st.newton_iterations = it;
	st.residual = rn / scale;
	st.amg_setups = m->amg_setups - setups_before;
	if (stats != NULL)
		*stats = st;
	free(R), free(dx), free(trial), free(rhs);
	return rc;
}

void vb_echem_fields(vb_echem *m, const double *phi, const double *c, double *c_s, double *phi_s,
		     double *phi_e, double *i_bv)
{
	eval_faces(m, phi, c);
	const double A = m->grid.voxel_size * m->grid.voxel_size;
#pragma omp parallel for schedule(static)
	for (int64_t v = 0; v < m->nvox; v++) {
		double cv = NAN, ps = NAN, pe = NAN, ib = NAN;
		const int64_t r = m->pot[v], q = m->cam[v];
		const int ph = m->lab[v];
		if (q >= 0) {
			double s = 0;
			for (int64_t t = m->cf_ptr[q]; t < m->cf_ptr[q + 1]; t++)
				s += m->f_i[m->cf[t]];
			cv = c[q];
			ib = A * s / m->vol;
		}
		if (r >= 0 && ionic(ph))
			pe = phi[r];
		else if (r >= 0)
			ps = phi[r];
		else if (ph == VB_PHASE_CATHODE_CC)
			ps = phi[m->cc];
		else if (ph == VB_PHASE_ANODE_CC)
			ps = 0.0;
		if (c_s)
			c_s[v] = cv;
		if (phi_s)
			phi_s[v] = ps;
		if (phi_e)
			phi_e[v] = pe;
		if (i_bv)
			i_bv[v] = ib;
	}
}

int vb_echem_load_fields(const vb_echem *m, const double *c_s, const double *phi_s,
			 const double *phi_e, double *phi, double *c, vb_err *e)
{
	int64_t bad = -1;
	phi[m->cc] = NAN;
	for (int64_t v = 0; v < m->nvox && bad < 0; v++) {
		const int64_t r = m->pot[v], q = m->cam[v];
		if (r >= 0)
			phi[r] = ionic(m->lab[v]) ? phi_e[v] : phi_s[v];
		if (q >= 0)
			c[q] = c_s[v];
		if (m->lab[v] == VB_PHASE_CATHODE_CC && isnan(phi[m->cc]))
			phi[m->cc] = phi_s[v];
		if ((r >= 0 && !isfinite(phi[r])) || (q >= 0 && !(c[q] >= 0 && c[q] <= m->cmax)))
			bad = v;
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
	return VB_OK;
}

/* Current density (A/m^2) leaving ion-conducting voxel v (potential row r)
 * through its face towards neighbour n: ohmic to another ion conductor,
 * minus the Butler-Volmer current of an electrode face, 0 elsewhere. */
static double ion_face_current(const vb_echem *m, int64_t v, int64_t r, int64_t n,
			       const double *phi)
{
	const double h = m->grid.voxel_size;
	if (n < 0 || m->pot[n] < 0)
		return 0;
	if (ionic(m->lab[n]))
		return face_conductance(sigma_of(m->p, m->lab[v]), sigma_of(m->p, m->lab[n]), h) *
		       (phi[r] - phi[m->pot[n]]) / (h * h);
	for (int64_t t = m->rf_ptr[r]; t < m->rf_ptr[r + 1]; t++) {
		const int64_t code = m->rf[t], f = code / 2;
		if (code % 2 == 1 && m->f_ps[f] == m->pot[n])
			return -m->f_i[f];
	}
	return 0;
}

void vb_echem_ionic_current(vb_echem *m, const double *phi, const double *c, double *i_ion)
{
	eval_faces(m, phi, c);
#pragma omp parallel for schedule(static)
	for (int64_t v = 0; v < m->nvox; v++) {
		const int64_t r = m->pot[v];
		if (r < 0 || !ionic(m->lab[v])) {
			i_ion[v] = NAN;
			continue;
		}
		int64_t nb[6];
		neighbours(m, v, nb);
		double s = 0;
		/* nb[d] and nb[5 - d] are the two faces of one axis, d < 3 the lower */
		for (int d = 0; d < 3; d++) {
			const double lo = -ion_face_current(m, v, r, nb[d], phi);
			const double hi = ion_face_current(m, v, r, nb[5 - d], phi);
			const double comp = 0.5 * (lo + hi);
			s += comp * comp;
		}
		i_ion[v] = sqrt(s);
	}
}
