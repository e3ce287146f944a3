/* vb_mg: matrix-free geometric multigrid conjugate gradients on a lattice.
 *
 * The lattice level is applied from the class of each site and a 16 x 16
 * table of face conductances (class 15 is VB_MG_OFF & 15: no conductance),
 * so the finest level stores no matrix; when one or two classes conduct
 * (every network voxbat builds), from one byte per site in lines split by
 * parity, by the vectorised kernels below. Coarser levels aggregate 2 x 2 x 2
 * sites (1 along an axis of one site) and store, per cell, its conductance
 * to the next cell along each axis, its Dirichlet conductance and its
 * diagonal: the Galerkin operator of piecewise-constant transfer (the sum of
 * the fine faces between two aggregates), divided along each axis by the
 * aggregation factor so that a uniform medium gets its own coarse
 * discretisation. The V-cycle smooths with red-black Gauss-Seidel (red then
 * black going down, black then red coming up, so the preconditioner is
 * symmetric) and solves the coarsest level by a dense Cholesky factor.
 * Conductances are scaled by the largest class conductivity; potentials
 * are in volts. Reductions sum per lattice line, then the lines in order:
 * results do not depend on the thread count. */
#include "vb_mg.h"

#include <math.h>
#include <immintrin.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum {
	TAB = 16,	   /* conductance table side; class 15 = off */
	COARSEST = 512,	   /* cells solved by the dense factor at most */
	SMOOTH_SWEEPS = 2, /* red-black sweeps before and after the coarse correction */
	INNER_MAX = 400,   /* CG iterations of one defect-correction pass */
};
static const double INNER_RTOL = 1e-4; /* reduction asked of one pass */

typedef struct level {
	int64_t n[3], s0, s1, count; /* cells per axis, strides, cells */
	int r[3];		     /* aggregation factor from the finer level */
	float *gx, *gy, *gz;	     /* conductance to the next cell along each axis */
	float *gd, *diag;	     /* Dirichlet conductance; diagonal (0: no unknown) */
	float *x, *b;		     /* correction and right-hand side */
} level;

typedef struct fhalf {
	int64_t q0, q1, edge[2], o, lft, rgt; /* fast_half */
} fhalf;

typedef struct mg {
	const vb_mg_problem *p;
	int64_t n0, n1, n2, s0, s1, count;
	float g[TAB * TAB], gd[TAB];	  /* scaled face and Dirichlet conductances */
	double g64[TAB * TAB], gd64[TAB]; /* the same in double: the true residual's */
	uint8_t *off_line;		  /* n2 off sites: the neighbour line beyond the lattice */
	float *zero_line;		  /* n2 zeros (and 16 of slack) */
	double *zero64;			  /* n2 zeros in double */
	double *line_sum;		  /* per-line partial sums */
	uint8_t *deg;			  /* one or two classes: each site's byte (0: off), */
	int duo;			  /* one class: its diagonal; two (duo): its code */
	int avx2;			  /* duo: the machine has AVX2 */
	int dcls[3];			  /* duo: the classes of codes 1 and 2 */
	float dg[9];			  /* duo: face u|w at 3 u + w (0 if either is off) */
	double dg64[9];			  /* the same in double */
	float *tbuf;			  /* a line per thread */
	int64_t he;			  /* split lines: the even sites of a line, stored first */
	fhalf half[2];			  /* split lines: the halves of every line */
	int nlev;			  /* coarse levels, lev[0] the first coarse one */
	level lev[40];
	int64_t ncoarse, *coarse_cell; /* the coarsest level's unknowns */
	double *chol;		       /* their dense Cholesky factor, row-major lower */
	double *work;
	int64_t bytes;
} mg;

void *vb_mg_alloc(size_t bytes)
{
	const size_t huge = (size_t)2 << 20;
	if (bytes < huge / 4)
		return calloc(bytes ? bytes : 1, 1);
	void *q = NULL;
	bytes = (bytes + huge - 1) / huge * huge; /* whole huge pages, the tail too */
	if (posix_memalign(&q, huge, bytes) != 0)
		return NULL;
	(void)madvise(q, bytes, MADV_HUGEPAGE); /* advice only: fine if refused */
	const size_t chunk = huge;
	const int64_t chunks = (int64_t)((bytes + chunk - 1) / chunk);
#pragma omp parallel for schedule(static)
	for (int64_t c = 0; c < chunks; c++) {
		const size_t at = (size_t)c * chunk;
		memset((char *)q + at, 0, bytes - at < chunk ? bytes - at : chunk);
	}
	return q;
}

static void *grab(mg *m, size_t n, size_t size)
{
	void *q = vb_mg_alloc((n ? n : 1) * size);
	if (q != NULL)
		m->bytes += (int64_t)(n * size);
	return q;
}

static inline double harmonic(double a, double b)
{
	return 2.0 * a * b / (a + b);
}

/* Sum of the per-line partials, in line order. */
static double sum_lines(const mg *m, int64_t lines)
{
	double s = 0;
	for (int64_t l = 0; l < lines; l++)
		s += m->line_sum[l];
	return s;
}

/* ---- the lattice level, from classes ------------------------------------- */

/* The neighbour lines of lattice line (i, j): classes and values, with the
 * off line and zeros beyond the lattice, and the number of Dirichlet faces
 * every site of the line has (axis 0 or 1) or -1 (axis 2: per site). */
typedef struct nbl {
	const uint8_t *c, *cxm, *cxp, *cym, *cyp;
	int64_t base;
	int dir;
} nbl;

static nbl lattice_line(const mg *m, int64_t i, int64_t j)
{
	nbl L;
	L.base = i * m->s0 + j * m->s1;
	L.c = m->p->cls + L.base;
	L.cxm = i > 0 ? L.c - m->s0 : m->off_line;
	L.cxp = i < m->n0 - 1 ? L.c + m->s0 : m->off_line;
	L.cym = j > 0 ? L.c - m->s1 : m->off_line;
	L.cyp = j < m->n1 - 1 ? L.c + m->s1 : m->off_line;
	const int a = m->p->axis;
	L.dir = a == 0 ? (i == 0) + (i == m->n0 - 1) : a == 1 ? (j == 0) + (j == m->n1 - 1) : -1;
	return L;
}

static inline int site_dir(const mg *m, const nbl *L, int64_t k)
{
	return L->dir >= 0 ? L->dir : (k == 0) + (k == m->n2 - 1);
}

/* The six conductances of site k of line L (c its class & 15). */
static inline void site_g(const mg *m, const nbl *L, int64_t k, float g6[6])
{
	const float *row = m->g + (L->c[k] & 15) * TAB;
	g6[0] = row[L->cxm[k] & 15];
	g6[1] = row[L->cxp[k] & 15];
	g6[2] = row[L->cym[k] & 15];
	g6[3] = row[L->cyp[k] & 15];
	g6[4] = k > 0 ? row[L->c[k - 1] & 15] : 0.0f;
	g6[5] = k < m->n2 - 1 ? row[L->c[k + 1] & 15] : 0.0f;
}

/* Neighbour values of lattice line (i, j) of the float field z. */
typedef struct nbv {
	const float *z, *xm, *xp, *ym, *yp;
} nbv;

static nbv lattice_values(const mg *m, const float *z, int64_t i, int64_t j)
{
	const int64_t b = i * m->s0 + j * m->s1;
	nbv V = {z + b, i > 0 ? z + b - m->s0 : m->zero_line,
		 i < m->n0 - 1 ? z + b + m->s0 : m->zero_line, j > 0 ? z + b - m->s1 : m->zero_line,
		 j < m->n1 - 1 ? z + b + m->s1 : m->zero_line};
	return V;
}

/* (A z)_k at site k, and its diagonal. */
static inline float lattice_row(const mg *m, const nbl *L, const nbv *V, int64_t k, float *diag)
{
	float g6[6];
	site_g(m, L, k, g6);
	const float d = g6[0] + g6[1] + g6[2] + g6[3] + g6[4] + g6[5] +
			(float)site_dir(m, L, k) * m->gd[L->c[k] & 15];
	const float zl = k > 0 ? V->z[k - 1] : 0.0f, zr = k < m->n2 - 1 ? V->z[k + 1] : 0.0f;
	const float s = g6[0] * V->xm[k] + g6[1] * V->xp[k] + g6[2] * V->ym[k] + g6[3] * V->yp[k] +
			g6[4] * zl + g6[5] * zr;
	*diag = d;
	return d * V->z[k] - s;
}

/* q = A p on the lattice; returns p . q. */
static double lattice_apply(mg *m, const float *p, float *q)
{
	const int64_t lines = m->n0 * m->n1;
#pragma omp parallel for schedule(static)
	for (int64_t l = 0; l < lines; l++) {
		const int64_t i = l / m->n1, j = l % m->n1;
		const nbl L = lattice_line(m, i, j);
		const nbv V = lattice_values(m, p, i, j);
		double s = 0;
		for (int64_t k = 0; k < m->n2; k++) {
			float d;
			const float y = L.c[k] == VB_MG_OFF ? 0.0f : lattice_row(m, &L, &V, k, &d);
			q[L.base + k] = y;
			s += (double)y * p[L.base + k];
		}
		m->line_sum[l] = s;
	}
	return sum_lines(m, lines);
}

/* One Gauss-Seidel half sweep over the sites of one colour. */
static void lattice_smooth(mg *m, float *z, const float *r, int colour)
{
	const int64_t lines = m->n0 * m->n1;
#pragma omp parallel for schedule(static)
	for (int64_t l = 0; l < lines; l++) {
		const int64_t i = l / m->n1, j = l % m->n1;
		const nbl L = lattice_line(m, i, j);
		const nbv V = lattice_values(m, z, i, j);
		for (int64_t k = (colour ^ (int)((i + j) & 1)); k < m->n2; k += 2) {
			if (L.c[k] == VB_MG_OFF)
				continue;
			float d;
			const float y = lattice_row(m, &L, &V, k, &d);
			z[L.base + k] += (r[L.base + k] - y) / d;
		}
	}
}

/* The first coarse level's right-hand side: the lattice residual r - A z
 * summed over each aggregate. */
static void lattice_restrict(mg *m, const float *z, const float *r, level *c)
{
	const int64_t clines = c->n[0] * c->n[1];
#pragma omp parallel for schedule(static)
	for (int64_t cl = 0; cl < clines; cl++) {
		const int64_t I = cl / c->n[1], J = cl % c->n[1];
		float *b = c->b + I * c->s0 + J * c->s1;
		memset(b, 0, (size_t)c->n[2] * sizeof *b);
		for (int64_t i = I * c->r[0]; i < (I + 1) * c->r[0] && i < m->n0; i++)
			for (int64_t j = J * c->r[1]; j < (J + 1) * c->r[1] && j < m->n1; j++) {
				const nbl L = lattice_line(m, i, j);
				const nbv V = lattice_values(m, z, i, j);
				for (int64_t k = 0; k < m->n2; k++) {
					if (L.c[k] == VB_MG_OFF)
						continue;
					float d;
					const float y = lattice_row(m, &L, &V, k, &d);
					b[k / c->r[2]] += r[L.base + k] - y;
				}
			}
	}
}

/* z += the coarse correction of each site's aggregate. */
static void lattice_prolong(mg *m, float *z, const level *c)
{
	const int64_t lines = m->n0 * m->n1;
#pragma omp parallel for schedule(static)
	for (int64_t l = 0; l < lines; l++) {
		const int64_t i = l / m->n1, j = l % m->n1;
		const uint8_t *cls = m->p->cls + i * m->s0 + j * m->s1;
		const float *x = c->x + (i / c->r[0]) * c->s0 + (j / c->r[1]) * c->s1;
		float *zl = z + i * m->s0 + j * m->s1;
		for (int64_t k = 0; k < m->n2; k++)
			if (cls[k] != VB_MG_OFF)
				zl[k] += x[k / c->r[2]];
	}
}

static double lattice_residual(mg *m, const double *x, float *r);

/* lattice_residual when one class conducts: every face conductance 1, a
 * Dirichlet face 2, x 0 off the network (x and r in split order). */
static double fast_residual(mg *m, const double *x, float *r);

/* r = b - A x in double precision (b: Dirichlet inflow on the 1 V face),
 * stored in single; returns ||r||^2. With x == NULL, x = 0: r = b. */
static double lattice_residual(mg *m, const double *x, float *r)
{
	if (m->deg != NULL)
		return fast_residual(m, x, r);
	const int64_t lines = m->n0 * m->n1;
	const int a = m->p->axis;
#pragma omp parallel for schedule(static)
	for (int64_t l = 0; l < lines; l++) {
		const int64_t i = l / m->n1, j = l % m->n1;
		const nbl L = lattice_line(m, i, j);
		double s = 0;
		for (int64_t k = 0; k < m->n2; k++) {
			const int64_t v = L.base + k;
			if (L.c[k] == VB_MG_OFF) {
				r[v] = 0;
				continue;
			}
			const int64_t pos = a == 0 ? i : a == 1 ? j : k;
			const int c = L.c[k] & 15;
			double res = pos == 0 ? m->gd64[c] : 0.0; /* times 1 V */
			if (x != NULL) {
				const double *row = m->g64 + c * TAB;
				const double g6[6] = {row[L.cxm[k] & 15],
						      row[L.cxp[k] & 15],
						      row[L.cym[k] & 15],
						      row[L.cyp[k] & 15],
						      k > 0 ? row[L.c[k - 1] & 15] : 0.0,
						      k < m->n2 - 1 ? row[L.c[k + 1] & 15] : 0.0};
				const int64_t nb[6] = {v - m->s0, v + m->s0, v - m->s1,
						       v + m->s1, v - 1,     v + 1};
				double ax = (double)site_dir(m, &L, k) * m->gd64[c] * x[v];
				for (int q = 0; q < 6; q++)
					if (g6[q] != 0.0)
						ax += g6[q] * (x[v] - x[nb[q]]);
				res -= ax;
			}
			r[v] = (float)res;
			s += res * res;
		}
		m->line_sum[l] = s;
	}
	return sum_lines(m, lines);
}

/* ---- the lattice level with one class: every vector is 0 on off sites,
 * every face conductance is 1 and a Dirichlet face 2, so (A z)_v =
 * deg_v z_v - (sum of the six neighbours), deg_v the diagonal. Each line
 * of every lattice vector (and of deg) is stored split by the parity of
 * k: its he = (n2 + 1) / 2 even sites first, then its n2 / 2 odd ones,
 * so that a colour of a line is contiguous and every loop below runs
 * over contiguous memory (a half sweep over every other site of a line
 * in natural order took 1.7 to 2.2 times as long: docs/conductivity.md).
 * The site of natural index k of a line is at split_k(m, k). ---------- */

static inline int64_t split_k(const mg *m, int64_t k)
{
	return (k & 1) ? m->he + (k >> 1) : k >> 1;
}

/* Where the value of natural site v (any index of the lattice) is stored. */
static inline int64_t split_site(const mg *m, int64_t v)
{
	const int64_t k = v % m->n2;
	return v - k + split_k(m, k);
}

typedef struct fline {
	float *c;			      /* the line: evens, then odds */
	const float *xm, *xp, *ym, *yp;	      /* the neighbour lines, same layout */
	const uint8_t *d;		      /* its site bytes (deg, or two classes' codes) */
	const uint8_t *dxm, *dxp, *dym, *dyp; /* two classes: the neighbour lines' (0 beyond) */
	int64_t base;
	int dir; /* two classes: Dirichlet faces of each site (axis 0 or 1; axis 2: 0) */
} fline;

static fline fast_line(const mg *m, float *z, int64_t i, int64_t j)
{
	const int64_t b = i * m->s0 + j * m->s1;
	fline L = {z + b,
		   i > 0 ? z + b - m->s0 : m->zero_line,
		   i < m->n0 - 1 ? z + b + m->s0 : m->zero_line,
		   j > 0 ? z + b - m->s1 : m->zero_line,
		   j < m->n1 - 1 ? z + b + m->s1 : m->zero_line,
		   m->deg + b};
	L.base = b;
	if (m->duo) { /* the neighbours' codes, and the Dirichlet faces */
		const uint8_t *none = (const uint8_t *)(const void *)m->zero_line;
		const int a = m->p->axis;
		L.dxm = i > 0 ? m->deg + b - m->s0 : none;
		L.dxp = i < m->n0 - 1 ? m->deg + b + m->s0 : none;
		L.dym = j > 0 ? m->deg + b - m->s1 : none;
		L.dyp = j < m->n1 - 1 ? m->deg + b + m->s1 : none;
		L.dir = a == 0	 ? (i == 0) + (i == m->n0 - 1)
			: a == 1 ? (j == 0) + (j == m->n1 - 1)
				 : 0;
	}
	return L;
}

/* The sum of the six neighbours of natural site k, ends checked. */
static inline float fast_nb(const mg *m, const fline *L, int64_t k)
{
	const int64_t v = split_k(m, k);
	return L->xm[v] + L->xp[v] + L->ym[v] + L->yp[v] +
	       (k > 0 ? L->c[split_k(m, k - 1)] : 0.0f) +
	       (k < m->n2 - 1 ? L->c[split_k(m, k + 1)] : 0.0f);
}

/* Half kp of a line (its sites k & 1 == kp): its offset o in the line,
 * the offsets lft and rgt at which its sites' neighbours k - 1 and k + 1
 * lie (the evens' are odds q - 1 and q, the odds' evens q and q + 1), the
 * range [q0, q1) of its sites that have both, and the natural indices of
 * the others (at most two; -1 if none). The same for every line: setup
 * computes both halves once (m->half). */
static fhalf fast_half(const mg *m, int kp)
{
	const int64_t he = m->he, ho = m->n2 / 2;
	fhalf H = {0, 0, {-1, -1}, kp ? he : 0, kp ? 0 : he - 1, kp ? 1 : he};
	if (kp == 0) {
		H.q0 = 1, H.q1 = ho > 1 ? ho : 1;
		H.edge[0] = 0;
		if (he > ho && he - 1 >= 1)
			H.edge[1] = 2 * (he - 1);
	} else {
		H.q0 = 0, H.q1 = he - 1 < ho ? he - 1 : ho;
		if (ho == he && ho > 0)
			H.edge[0] = 2 * (ho - 1) + 1;
	}
	if (H.q1 < H.q0)
		H.q1 = H.q0;
	return H;
}

/* (A z) at natural site k of the line, ends checked: the edge sites. */
static inline float fast_y(const mg *m, const fline *L, int64_t k)
{
	const int64_t v = split_k(m, k);
	return L->d[v] ? (float)L->d[v] * L->c[v] - fast_nb(m, L, k) : 0.0f;
}

/* ---- two classes (duo): the site byte is a code, 0 off, 1 and 2 the two
 * classes that conduct, in the same split order. A face between codes u
 * and w (m->dg[3 u + w]) conducts nothing if w is 0, class u's if w is u
 * and their harmonic mean otherwise: the same number from both sides, so A stays symmetric
 * in single precision. A site's diagonal is summed from its faces at every
 * visit: storing it would cost 4 bytes per site (docs/conductivity.md). */

static inline float duo_face(const float *dg, uint8_t u, uint8_t w)
{
	return dg[3 * u + w];
}

/* The diagonal of natural site k of the line, ends checked, and (A z)
 * there (z the line's values). */
static inline float duo_y(const mg *m, const fline *L, int64_t k, float *diag)
{
	const int64_t v = split_k(m, k), n2 = m->n2;
	const uint8_t u = L->d[v];
	const float *dg = m->dg, su = dg[4 * u];
	const int dir = L->dir + (m->p->axis == 2 ? (k == 0) + (k == n2 - 1) : 0);
	const uint8_t wl = k > 0 ? L->d[split_k(m, k - 1)] : 0;
	const uint8_t wr = k < n2 - 1 ? L->d[split_k(m, k + 1)] : 0;
	const float zl = k > 0 ? L->c[split_k(m, k - 1)] : 0.0f;
	const float zr = k < n2 - 1 ? L->c[split_k(m, k + 1)] : 0.0f;
	const float g0 = duo_face(dg, u, L->dxm[v]), g1 = duo_face(dg, u, L->dxp[v]);
	const float g2 = duo_face(dg, u, L->dym[v]), g3 = duo_face(dg, u, L->dyp[v]);
	const float g4 = duo_face(dg, u, wl), g5 = duo_face(dg, u, wr);
	const float d = 2.0f * (float)dir * su + g0 + g1 + g2 + g3 + g4 + g5;
	const float s =
		g0 * L->xm[v] + g1 * L->xp[v] + g2 * L->ym[v] + g3 * L->yp[v] + g4 * zl + g5 * zr;
	*diag = u ? d : 0.0f;
	return u ? d * L->c[v] - s : 0.0f;
}

/* The pointers of half kp of a line, for the duo loops. */
typedef struct dhalf {
	float *c;
	const float *lft, *rgt, *xm, *xp, *ym, *yp;
	const uint8_t *w, *wl, *wr, *wxm, *wxp, *wym, *wyp;
} dhalf;

static dhalf duo_half(const fline *L, const fhalf *H)
{
	dhalf D = {L->c + H->o,	  L->c + H->lft, L->c + H->rgt, L->xm + H->o,  L->xp + H->o,
		   L->ym + H->o,  L->yp + H->o,	 L->d + H->o,	L->d + H->lft, L->d + H->rgt,
		   L->dxm + H->o, L->dxp + H->o, L->dym + H->o, L->dyp + H->o};
	return D;
}

/* Site q of a half: its diagonal d, the sum s of its faces times the
 * neighbours' values, and on = 1 if it is on, else 0. */
static inline void duo_site(const dhalf *D, int64_t q, const float *dg, float dd, float *d,
			    float *s, float *on)
{
	const uint8_t u = D->w[q];
	const float su = dg[4 * u]; /* face u|u */
	const float g0 = duo_face(dg, u, D->wxm[q]), g1 = duo_face(dg, u, D->wxp[q]);
	const float g2 = duo_face(dg, u, D->wym[q]), g3 = duo_face(dg, u, D->wyp[q]);
	const float g4 = duo_face(dg, u, D->wl[q]), g5 = duo_face(dg, u, D->wr[q]);
	*d = dd * su + g0 + g1 + g2 + g3 + g4 + g5;
	*s = g0 * D->xm[q] + g1 * D->xp[q] + g2 * D->ym[q] + g3 * D->yp[q] + g4 * D->lft[q] +
	     g5 * D->rgt[q];
	*on = u != 0 ? 1.0f : 0.0f;
}

/* The duo loops: sites [q, q1) of a half, duo_site one at a time (the
 * remainder, and machines without AVX2), and eight at a time with AVX2:
 * left to the auto-vectoriser, the byte codes made it take 32 sites per
 * step and spill its registers (2.8 times the time of relax_row per site),
 * and GCC's generic vectors widened the codes through general registers.
 * Both compute the same operations in the same order: the same result. */
static void duo_row_sites(const mg *m, const fline *L, const dhalf *D, int64_t q, int64_t q1,
			  float *yy)
{
	const float dd = 2.0f * (float)L->dir;
	for (; q < q1; q++) {
		float d, s, on;
		duo_site(D, q, m->dg, dd, &d, &s, &on);
		yy[q] = on * (d * D->c[q] - s);
	}
}

static void duo_relax_sites(const mg *m, const fline *L, const dhalf *D, const float *rr, int64_t q,
			    int64_t q1)
{
	const float dd = 2.0f * (float)L->dir;
	for (; q < q1; q++) {
		float d, s, on;
		duo_site(D, q, m->dg, dd, &d, &s, &on);
		D->c[q] += on * (rr[q] - (d * D->c[q] - s)) / (d + 1.0f - on);
	}
}

__attribute__((target("avx2"))) static inline __m256i duo_codes8(const uint8_t *p)
{
	return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p));
}

/* All ones in the first `left` lanes (up to 8), zeros in the others. */
__attribute__((target("avx2"))) static inline __m256i duo_lanes(int64_t left)
{
	const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(left < 8 ? left : 8)), idx);
}

/* Sites q..q+7 of half D: duo_site's d, s and on (on 0 outside `lanes`).
 * The codes are read 8 at a time also past the half's end (the site bytes
 * and the zero line have 16 bytes of slack), the values only within
 * `lanes` (masked loads if `tail`). k[0]: the faces by 3 (u - 1) + w,
 * m->dg[3..8], 0, 0; k[1]: 2 L->dir. */
__attribute__((target("avx2"))) static inline void duo_block8(const dhalf *D, int64_t q,
							      const __m256 k[2], int tail,
							      __m256i lanes, __m256 *d, __m256 *s,
							      __m256 *on)
{
	const __m256i u = duo_codes8(D->w + q), zero = _mm256_setzero_si256();
	/* face u|w is entry 3 (u - 1) + w of k[0] (off sites: masked by on) */
	const __m256i u3 =
		_mm256_sub_epi32(_mm256_add_epi32(u, _mm256_add_epi32(u, u)), _mm256_set1_epi32(3));
	const __m256 su = _mm256_permutevar8x32_ps(k[0], _mm256_add_epi32(u3, u));
	__m256 dd = _mm256_mul_ps(k[1], su), ss = _mm256_setzero_ps();
	const uint8_t *wp[6] = {D->wxm, D->wxp, D->wym, D->wyp, D->wl, D->wr};
	const float *zp[6] = {D->xm, D->xp, D->ym, D->yp, D->lft, D->rgt};
#pragma GCC unroll 6
	for (int f = 0; f < 6; f++) {
		const __m256 g =
			_mm256_permutevar8x32_ps(k[0], _mm256_add_epi32(u3, duo_codes8(wp[f] + q)));
		const __m256 z =
			tail ? _mm256_maskload_ps(zp[f] + q, lanes) : _mm256_loadu_ps(zp[f] + q);
		dd = _mm256_add_ps(dd, g);
		ss = _mm256_add_ps(ss, _mm256_mul_ps(g, z));
	}
	*d = dd, *s = ss;
	*on = _mm256_and_ps(_mm256_andnot_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(u, zero)),
					     _mm256_set1_ps(1.0f)),
			    _mm256_castsi256_ps(lanes));
}

__attribute__((target("avx2"))) static int64_t duo_row8(const mg *m, const fline *L, const dhalf *D,
							int64_t q, int64_t q1, float *yy)
{
	const __m256 k[2] = {_mm256_setr_ps(m->dg[3], m->dg[4], m->dg[5], m->dg[6], m->dg[7],
					    m->dg[8], 0.0f, 0.0f),
			     _mm256_set1_ps(2.0f * (float)L->dir)};
	const __m256i all = _mm256_set1_epi32(-1);
	const dhalf Dl = *D; /* a local copy: the stores to yy cannot change its pointers */
	D = &Dl;
	for (; q + 8 <= q1; q += 8) {
		__m256 d, s, on;
		duo_block8(D, q, k, 0, all, &d, &s, &on);
		const __m256 c = _mm256_loadu_ps(D->c + q);
		_mm256_storeu_ps(yy + q, _mm256_mul_ps(on, _mm256_sub_ps(_mm256_mul_ps(d, c), s)));
	}
	if (q < q1) { /* the tail: stores one by one (a masked store is slow on AMD) */
		__m256 d, s, on;
		const __m256i lanes = duo_lanes(q1 - q);
		duo_block8(D, q, k, 1, lanes, &d, &s, &on);
		const __m256 c = _mm256_maskload_ps(D->c + q, lanes);
		float out[8];
		_mm256_storeu_ps(out, _mm256_mul_ps(on, _mm256_sub_ps(_mm256_mul_ps(d, c), s)));
		memcpy(yy + q, out, (size_t)(q1 - q) * sizeof *out);
	}
	return q1;
}

/* Relaxes sites q..q+7 of half D (only those in `lanes` if `tail`). */
__attribute__((target("avx2"))) static inline void
duo_relax_block(const dhalf *D, const float *rr, int64_t q, const __m256 k[2], int tail, int64_t q1)
{
	const __m256i lanes = tail ? duo_lanes(q1 - q) : _mm256_set1_epi32(-1);
	__m256 d, s, on;
	duo_block8(D, q, k, tail, lanes, &d, &s, &on);
	const __m256 c = tail ? _mm256_maskload_ps(D->c + q, lanes) : _mm256_loadu_ps(D->c + q);
	const __m256 rv = tail ? _mm256_maskload_ps(rr + q, lanes) : _mm256_loadu_ps(rr + q);
	const __m256 res = _mm256_sub_ps(rv, _mm256_sub_ps(_mm256_mul_ps(d, c), s));
	const __m256 den = _mm256_sub_ps(_mm256_add_ps(d, _mm256_set1_ps(1.0f)), on);
	const __m256 cn = _mm256_add_ps(c, _mm256_div_ps(_mm256_mul_ps(on, res), den));
	if (!tail) {
		_mm256_storeu_ps(D->c + q, cn);
		return;
	}
	float out[8]; /* stores one by one: a masked store is slow on AMD */
	_mm256_storeu_ps(out, cn);
	memcpy(D->c + q, out, (size_t)(q1 - q) * sizeof *out);
}

__attribute__((target("avx2"))) static int64_t
duo_relax8(const mg *m, const fline *L, const dhalf *D, const float *rr, int64_t q, int64_t q1)
{
	const __m256 k[2] = {_mm256_setr_ps(m->dg[3], m->dg[4], m->dg[5], m->dg[6], m->dg[7],
					    m->dg[8], 0.0f, 0.0f),
			     _mm256_set1_ps(2.0f * (float)L->dir)};
	const dhalf Dl = *D; /* a local copy: the stores to c cannot change its pointers */
	for (; q + 8 <= q1; q += 8)
		duo_relax_block(&Dl, rr, q, k, 0, q1);
	if (q < q1)
		duo_relax_block(&Dl, rr, q, k, 1, q1);
	return q1;
}

/* y = A z along the whole line, two classes. */
static void duo_row(const mg *m, const fline *L, float *y)
{
	for (int kp = 0; kp < 2; kp++) {
		const fhalf *H = &m->half[kp];
		const dhalf D = duo_half(L, H);
		const int64_t q = m->avx2 ? duo_row8(m, L, &D, H->q0, H->q1, y + H->o) : H->q0;
		duo_row_sites(m, L, &D, q, H->q1, y + H->o);
		for (int e = 0; e < 2; e++)
			if (H->edge[e] >= 0) {
				float d;
				y[split_k(m, H->edge[e])] = duo_y(m, L, H->edge[e], &d);
			}
	}
}

/* relax_row with two classes. */
static void duo_relax(const mg *m, const fline *L, const float *r, int kp)
{
	const fhalf *H = &m->half[kp];
	const dhalf D = duo_half(L, H);
	const float *rr = r + H->o;
	const int64_t q = m->avx2 ? duo_relax8(m, L, &D, rr, H->q0, H->q1) : H->q0;
	duo_relax_sites(m, L, &D, rr, q, H->q1);
	for (int e = 0; e < 2; e++) {
		const int64_t k = H->edge[e], v = split_k(m, k);
		float d;
		if (k >= 0 && L->d[v]) {
			const float y = duo_y(m, L, k, &d);
			L->c[v] += (r[v] - y) / d;
		}
	}
}

/* y = A z along the whole line. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
fast_row(const mg *m, const fline *L, float *y)
{
	for (int kp = 0; kp < 2; kp++) {
		const fhalf *H = &m->half[kp];
		const float *c = L->c + H->o, *lft = L->c + H->lft, *rgt = L->c + H->rgt;
		const float *xm = L->xm + H->o, *xp = L->xp + H->o, *ym = L->ym + H->o;
		const float *yp = L->yp + H->o;
		const uint8_t *d = L->d + H->o;
		float *yy = y + H->o;
#pragma omp simd
		for (int64_t q = H->q0; q < H->q1; q++) {
			const float s = xm[q] + xp[q] + ym[q] + yp[q] + lft[q] + rgt[q];
			yy[q] = (float)(d[q] != 0) * ((float)d[q] * c[q] - s);
		}
		for (int e = 0; e < 2; e++)
			if (H->edge[e] >= 0)
				y[split_k(m, H->edge[e])] = fast_y(m, L, H->edge[e]);
	}
}

/* y = A z along line L: one class or two. */
static void line_apply(const mg *m, const fline *L, float *y)
{
	if (m->duo)
		duo_row(m, L, y);
	else
		fast_row(m, L, y);
}

static double fast_apply(mg *m, float *p, float *q)
{
	const int64_t lines = m->n0 * m->n1, n2 = m->n2;
#pragma omp parallel for schedule(static)
	for (int64_t l = 0; l < lines; l++) {
		const fline L = fast_line(m, p, l / m->n1, l % m->n1);
		float *y = q + L.base;
		line_apply(m, &L, y);
		double s = 0;
#pragma omp simd reduction(+ : s)
		for (int64_t k = 0; k < n2; k++)
			s += (double)y[k] * L.c[k];
		m->line_sum[l] = s;
	}
	return sum_lines(m, lines);
}

/* Gauss-Seidel at the sites k & 1 == kp of a line (one half of it), from
 * the values of the others (which this does not change). Off sites have
 * r = 0 and zero neighbours' sum ... times 0: they stay 0. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
relax_row(const mg *m, const fline *L, const float *r, int kp)
{
	const fhalf *H = &m->half[kp];
	float *c = L->c + H->o;
	const float *lft = L->c + H->lft, *rgt = L->c + H->rgt;
	const float *xm = L->xm + H->o, *xp = L->xp + H->o, *ym = L->ym + H->o;
	const float *yp = L->yp + H->o, *rr = r + H->o;
	const uint8_t *d = L->d + H->o;
#pragma omp simd
	for (int64_t q = H->q0; q < H->q1; q++) {
		const float s = xm[q] + xp[q] + ym[q] + yp[q] + lft[q] + rgt[q];
		const float dk = (float)d[q], on = dk > 0.0f ? 1.0f : 0.0f;
		c[q] += on * (rr[q] - (dk * c[q] - s)) / (dk + 1.0f - on);
	}
	for (int e = 0; e < 2; e++) {
		const int64_t k = H->edge[e], v = split_k(m, k);
		if (k >= 0 && L->d[v])
			L->c[v] += (r[v] - fast_y(m, L, k)) / (float)L->d[v];
	}
}

/* The first half sweep of line (i, j) from z = 0: the sites of colour 0
 * get r / diag, the others 0. */
static void first_line(mg *m, float *z, const float *r, int64_t i, int64_t j)
{
	const int64_t n2 = m->n2, b = i * m->s0 + j * m->s1;
	const int kp = (int)((i + j) & 1); /* colour 0's half */
	const int64_t o = kp ? m->he : 0, cnt = kp ? n2 / 2 : m->he;
	const uint8_t *d = m->deg + b + o;
	float *zl = z + b;
	const float *rl = r + b + o;
	memset(zl + (kp ? 0 : m->he), 0, (size_t)(kp ? m->he : n2 / 2) * sizeof *zl);
	if (m->duo) { /* a relaxation from zeros: the neighbours' values may be stale */
		memset(zl + o, 0, (size_t)cnt * sizeof *zl);
		fline L = fast_line(m, z, i, j);
		L.xm = L.xp = L.ym = L.yp = m->zero_line;
		duo_relax(m, &L, r + b, kp);
		return;
	}
	zl += o;
#pragma omp simd
	for (int64_t q = 0; q < cnt; q++)
		zl[q] = rl[q] / ((float)d[q] + (float)(d[q] == 0));
}

/* The first coarse level's right-hand side from line (i, j): its r - A z
 * added to its aggregate's line (zeroed by the aggregate's first line);
 * natural sites 2q and 2q + 1 are evens q and odds q. */
static void restrict_line(mg *m, float *z, const float *r, level *c, int64_t i, int64_t j)
{
	const int64_t n2 = m->n2, he = m->he, ho = n2 / 2;
	float *b = c->b + (i / c->r[0]) * c->s0 + (j / c->r[1]) * c->s1;
	float *y = m->tbuf + (int64_t)omp_get_thread_num() * n2;
	if (i % c->r[0] == 0 && j % c->r[1] == 0)
		memset(b, 0, (size_t)c->n[2] * sizeof *b);
	const fline L = fast_line(m, z, i, j);
	const float *rl = r + L.base;
	line_apply(m, &L, y);
#pragma omp simd
	for (int64_t q = 0; q < he; q++)
		b[q] += rl[q] - y[q];
#pragma omp simd
	for (int64_t q = 0; q < ho; q++)
		b[q] += rl[he + q] - y[he + q];
}

__attribute__((target_clones("avx512f", "avx2", "default"))) static void
prolong_half(float *z, const float *e, const uint8_t *d, int64_t count)
{
#pragma omp simd
	for (int64_t q = 0; q < count; q++)
		z[q] += (float)(d[q] != 0) * e[q];
}

/* z += the first coarse level's correction, on line (i, j). */
static void prolong_line(mg *m, float *z, const level *c, int64_t i, int64_t j)
{
	const int64_t b = i * m->s0 + j * m->s1;
	const float *e = c->x + (i / c->r[0]) * c->s0 + (j / c->r[1]) * c->s1;
	prolong_half(z + b, e, m->deg + b, m->he);
	prolong_half(z + b + m->he, e, m->deg + b + m->he, m->n2 / 2);
}

/* Stage t of a pass (fast_pass) on line (i, j). */
static void stage_line(mg *m, float *z, const float *r, int pre, int t, int64_t i, int64_t j)
{
	const int coarse = m->nlev > 0, sweeps = 2 * SMOOTH_SWEEPS;
	const int stages =
		sweeps + coarse; /* pre: the restriction last; post: prolongation first */
	const int sweep = pre ? t : t - coarse; /* which half sweep, or none */
	if (pre && t == 0)
		first_line(m, z, r, i, j);
	else if (pre && sweep == sweeps)
		restrict_line(m, z, r, &m->lev[0], i, j);
	else if (!pre && sweep < 0)
		prolong_line(m, z, &m->lev[0], i, j);
	else {
		const fline L = fast_line(m, z, i, j);
		const int kp = ((sweep + !pre) & 1) ^ (int)((i + j) & 1);
		if (m->duo)
			duo_relax(m, &L, r + L.base, kp);
		else
			relax_row(m, &L, r + L.base, kp);
	}
	if (!pre && t == stages - 1) { /* the line is final */
		const int64_t b = i * m->s0 + j * m->s1;
		double sum = 0;
#pragma omp simd reduction(+ : sum)
		for (int64_t k = 0; k < m->n2; k++)
			sum += (double)r[b + k] * z[b + k];
		m->line_sum[i * m->n1 + j] = sum;
	}
}

/* The lattice's part of a V-cycle, in one pass over the planes i (on
 * lattices of more than VB_MG_STAGED_MAX sites; smaller ones stage after stage,
 * each a loop over aggregates of 2 x 2 lines). `pre`:
 * the half sweeps red (from z = 0), black, red, black (SMOOTH_SWEEPS
 * pairs), then the restriction of r - A z to the first coarse level (if
 * any); otherwise the prolongation of its correction, the half sweeps
 * black, red, black, red, and r . z, which it returns. At step s, stage t
 * works on plane s - t. A half sweep of a plane reads the other colour of
 * the planes beside it, which the stage before has finished there (its
 * plane s - t + 1 comes first in the step) and the stage after has not yet
 * overwritten; within a plane the sites of one colour are independent.
 * Every thread takes the same pairs of lines j of every plane, so the
 * neighbours along i it reads within a step are its own, and no two
 * threads add to one coarse line; one barrier per step. The result is that
 * of the stages one after the other, to the bit, but the planes in flight
 * stay in cache: the lattice vectors are read and written once per pass,
 * not once per stage (docs/conductivity.md). */
static double fast_pass(mg *m, float *z, const float *r, int pre)
{
	const int64_t n0 = m->n0, n1 = m->n1, pairs = (n1 + 1) / 2;
	const int stages = 2 * SMOOTH_SWEEPS + (m->nlev > 0);
	const int64_t staged_max = m->p->staged_max ? m->p->staged_max : VB_MG_STAGED_MAX;
	if (m->count <= staged_max) { /* small: stage after stage */
		const int64_t ipairs = (n0 + 1) / 2;
#pragma omp parallel
		for (int t = 0; t < stages; t++) {
#pragma omp for schedule(static)
			for (int64_t q = 0; q < ipairs * pairs;
			     q++) { /* 2 x 2 lines: an aggregate's */
				const int64_t i0 = 2 * (q / pairs), j0 = 2 * (q % pairs);
				for (int64_t i = i0; i < i0 + 2 && i < n0; i++)
					for (int64_t j = j0; j < j0 + 2 && j < n1; j++)
						stage_line(m, z, r, pre, t, i, j);
			}
		}
		return pre ? 0.0 : sum_lines(m, n0 * n1);
	}
#pragma omp parallel
	for (int64_t s = 0; s < n0 + stages - 1; s++) {
#pragma omp for schedule(static)
		for (int64_t jp = 0; jp < pairs; jp++)
			for (int64_t j = 2 * jp; j < 2 * jp + 2 && j < n1; j++)
				for (int t = 0; t < stages; t++)
					if (s - t >= 0 && s - t < n0)
						stage_line(m, z, r, pre, t, s - t, j);
	}
	return pre ? 0.0 : sum_lines(m, n0 * n1);
}

/* Each site's byte in split order: its diagonal when one class conducts,
 * its code when two do. */
static void fast_setup(mg *m)
{
	const int64_t lines = m->n0 * m->n1;
#pragma omp parallel for schedule(static)
	for (int64_t l = 0; l < lines; l++) {
		const int64_t i = l / m->n1, j = l % m->n1;
		const nbl L = lattice_line(m, i, j);
		for (int64_t k = 0; k < m->n2; k++) {
			uint8_t *dv = m->deg + L.base + split_k(m, k);
			if (L.c[k] == VB_MG_OFF || m->duo) {
				*dv = L.c[k] == VB_MG_OFF ? 0 : (L.c[k] & 15) == m->dcls[1] ? 1 : 2;
				continue;
			}
			float g6[6];
			site_g(m, &L, k, g6);
			const float dg = g6[0] + g6[1] + g6[2] + g6[3] + g6[4] + g6[5] +
					 (float)site_dir(m, &L, k) * m->gd[L.c[k] & 15];
			*dv = (uint8_t)lrintf(dg);
		}
	}
}

/* The double-precision conductance of a face between codes u (on) and w. */
static inline double duo_g64(const mg *m, uint8_t u, uint8_t w)
{
	return m->dg64[3 * u + w]; /* a lookup: the branches cost a third of the residual */
}

/* (A x) at site v (split index) of a line of two classes, in double
 * precision: c and d the line's values and codes, (i, j, k) its place. */
static inline double duo_ax(const mg *m, const double *c, const uint8_t *d, int64_t v, int64_t i,
			    int64_t j, int64_t k)
{
	const int64_t n2 = m->n2, s0 = m->s0, s1 = m->s1;
	const int a = m->p->axis;
	const int pos = a == 0	 ? (int)(i == 0) + (i == m->n0 - 1)
			: a == 1 ? (int)(j == 0) + (j == m->n1 - 1)
				 : (int)(k == 0) + (k == n2 - 1);
	const uint8_t u = d[v];
	const double cv = c[v];
	double ax = pos * m->gd64[m->dcls[u]] * cv;
	if (i > 0)
		ax += duo_g64(m, u, d[v - s0]) * (cv - c[v - s0]);
	if (i < m->n0 - 1)
		ax += duo_g64(m, u, d[v + s0]) * (cv - c[v + s0]);
	if (j > 0)
		ax += duo_g64(m, u, d[v - s1]) * (cv - c[v - s1]);
	if (j < m->n1 - 1)
		ax += duo_g64(m, u, d[v + s1]) * (cv - c[v + s1]);
	if (k > 0) {
		const int64_t w = split_k(m, k - 1);
		ax += duo_g64(m, u, d[w]) * (cv - c[w]);
	}
	if (k < n2 - 1) {
		const int64_t w = split_k(m, k + 1);
		ax += duo_g64(m, u, d[w]) * (cv - c[w]);
	}
	return ax;
}

/* b - A x at site v (split index, natural k) of line (i, j), ends
 * checked; c and d the line's values and site bytes, x 0 off the network. */
static double residual_site(const mg *m, const double *c, const uint8_t *d, int64_t v, int64_t i,
			    int64_t j, int64_t k)
{
	const int64_t n2 = m->n2;
	const int a = m->p->axis;
	if (d[v] == 0)
		return 0.0;
	const int inlet = (a == 0 && i == 0) || (a == 1 && j == 0) || (a == 2 && k == 0);
	if (m->duo)
		return (inlet ? m->gd64[m->dcls[d[v]]] : 0.0) - duo_ax(m, c, d, v, i, j, k);
	const double nb = (i > 0 ? c[v - m->s0] : 0) + (i < m->n0 - 1 ? c[v + m->s0] : 0) +
			  (j > 0 ? c[v - m->s1] : 0) + (j < m->n1 - 1 ? c[v + m->s1] : 0) +
			  (k > 0 ? c[split_k(m, k - 1)] : 0) +
			  (k < n2 - 1 ? c[split_k(m, k + 1)] : 0);
	return (inlet ? 2.0 : 0.0) - ((double)d[v] * c[v] - nb);
}

/* r = b - A x along line (i, j), x given: each half's inner sites in one
 * contiguous loop (the neighbours beyond the lattice from zero lines), its
 * end sites by residual_site. Returns the line's sum of squares, summed
 * in split order. */
static double residual_line(const mg *m, const double *x, float *r, int64_t i, int64_t j)
{
	const int64_t b = i * m->s0 + j * m->s1, s0 = m->s0, s1 = m->s1;
	const int a = m->p->axis;
	const double *c = x + b, *zero = m->zero64;
	const double *xm = i > 0 ? c - s0 : zero, *xp = i < m->n0 - 1 ? c + s0 : zero;
	const double *ym = j > 0 ? c - s1 : zero, *yp = j < m->n1 - 1 ? c + s1 : zero;
	const uint8_t *d = m->deg + b, *none = (const uint8_t *)(const void *)m->zero_line;
	const uint8_t *dxm = i > 0 ? d - s0 : none, *dxp = i < m->n0 - 1 ? d + s0 : none;
	const uint8_t *dym = j > 0 ? d - s1 : none, *dyp = j < m->n1 - 1 ? d + s1 : none;
	const int dir = a == 0	 ? (i == 0) + (i == m->n0 - 1)
			: a == 1 ? (j == 0) + (j == m->n1 - 1)
				 : 0;
	const int inlet = (a == 0 && i == 0) || (a == 1 && j == 0);
	float *rl = r + b;
	double sum = 0;
	for (int kp = 0; kp < 2; kp++) {
		const fhalf *H = &m->half[kp];
		for (int64_t q = H->q0; q < H->q1; q++) {
			const int64_t v = H->o + q, vl = H->lft + q, vr = H->rgt + q;
			const uint8_t u = d[v];
			double res = 0.0;
			if (u != 0 && m->duo) {
				const double cv = c[v], gd = m->gd64[m->dcls[u]];
				double ax = dir * gd * cv;
				ax += duo_g64(m, u, dxm[v]) * (cv - xm[v]);
				ax += duo_g64(m, u, dxp[v]) * (cv - xp[v]);
				ax += duo_g64(m, u, dym[v]) * (cv - ym[v]);
				ax += duo_g64(m, u, dyp[v]) * (cv - yp[v]);
				ax += duo_g64(m, u, d[vl]) * (cv - c[vl]);
				ax += duo_g64(m, u, d[vr]) * (cv - c[vr]);
				res = (inlet ? gd : 0.0) - ax;
			} else if (u != 0) {
				const double nb = xm[v] + xp[v] + ym[v] + yp[v] + c[vl] + c[vr];
				res = (inlet ? 2.0 : 0.0) - ((double)u * c[v] - nb);
			}
			rl[v] = (float)res;
			sum += res * res;
		}
		for (int e = 0; e < 2; e++) {
			const int64_t k = H->edge[e];
			if (k < 0)
				continue;
			const int64_t v = split_k(m, k);
			const double res = residual_site(m, c, d, v, i, j, k);
			rl[v] = (float)res;
			sum += res * res;
		}
	}
	return sum;
}

static double fast_residual(mg *m, const double *x, float *r)
{
	const int64_t lines = m->n0 * m->n1, n2 = m->n2;
	const int a = m->p->axis;
#pragma omp parallel for schedule(static)
	for (int64_t l = 0; l < lines; l++) {
		const int64_t i = l / m->n1, j = l % m->n1, b = i * m->s0 + j * m->s1;
		if (x != NULL) {
			m->line_sum[l] = residual_line(m, x, r, i, j);
			continue;
		}
		const uint8_t *d = m->deg + b; /* x = 0: r = b, the inflow on the 1 V face */
		const int inlet_line = (a == 0 && i == 0) || (a == 1 && j == 0);
		double s = 0;
		for (int64_t k = 0; k < n2; k++) {
			const int64_t v = split_k(m, k);
			const double g = m->duo ? m->gd64[m->dcls[d[v]]] : 2.0;
			const double res = d[v] && (inlet_line || (a == 2 && k == 0)) ? g : 0.0;
			r[b + v] = (float)res;
			s += res * res;
		}
		m->line_sum[l] = s;
	}
	return sum_lines(m, lines);
}

/* ---- coarse levels ------------------------------------------------------- */

/* y = A x along coarse line (I, J), with zeros beyond the level. */
typedef struct cline {
	const float *x, *xm, *xp, *ym, *yp, *gxm, *gxp, *gym, *gyp, *gz, *diag;
	int64_t base;
} cline;

static cline coarse_line(const mg *m, const level *c, const float *x, int64_t I, int64_t J)
{
	const int64_t b = I * c->s0 + J * c->s1;
	const float *zero = m->zero_line;
	const int xm = I > 0, xp = I<c->n[0] - 1, ym = J> 0, yp = J < c->n[1] - 1;
	cline L = {x + b,
		   xm ? x + b - c->s0 : zero,
		   xp ? x + b + c->s0 : zero,
		   ym ? x + b - c->s1 : zero,
		   yp ? x + b + c->s1 : zero,
		   xm ? c->gx + b - c->s0 : zero,
		   c->gx + b,
		   ym ? c->gy + b - c->s1 : zero,
		   c->gy + b,
		   c->gz + b,
		   c->diag + b,
		   b};
	return L;
}

__attribute__((target_clones("avx2", "default"))) static void coarse_row(const cline *L, int64_t n2,
									 float *y)
{
	const float *x = L->x, *gz = L->gz;
	for (int64_t k = 0; k<n2; k += n2> 1 ? n2 - 1 : 1) { /* the two ends */
		const float s = L->gxm[k] * L->xm[k] + L->gxp[k] * L->xp[k] + L->gym[k] * L->ym[k] +
				L->gyp[k] * L->yp[k] + (k > 0 ? gz[k - 1] * x[k - 1] : 0.0f) +
				(k < n2 - 1 ? gz[k] * x[k + 1] : 0.0f);
		y[k] = L->diag[k] * x[k] - s;
	}
#pragma omp simd
	for (int64_t k = 1; k < n2 - 1; k++) {
		const float s = L->gxm[k] * L->xm[k] + L->gxp[k] * L->xp[k] + L->gym[k] * L->ym[k] +
				L->gyp[k] * L->yp[k] + gz[k - 1] * x[k - 1] + gz[k] * x[k + 1];
		y[k] = L->diag[k] * x[k] - s;
	}
}

/* The value (A x)_k of coarse line L at one site, the ends checked. */
static inline float coarse_y(const cline *L, int64_t k, int64_t n2)
{
	const float *x = L->x, *gz = L->gz;
	const float s = L->gxm[k] * L->xm[k] + L->gxp[k] * L->xp[k] + L->gym[k] * L->ym[k] +
			L->gyp[k] * L->yp[k] + (k > 0 ? gz[k - 1] * x[k - 1] : 0.0f) +
			(k < n2 - 1 ? gz[k] * x[k + 1] : 0.0f);
	return L->diag[k] * x[k] - s;
}

/* Gauss-Seidel at the cells k & 1 == kp of coarse line L (relax_row). */
__attribute__((target_clones("avx2", "default"))) static void
coarse_relax_row(const cline *L, float *x, const float *b, int64_t n2, int kp)
{
	const float *gz = L->gz, *dg = L->diag;
	if (kp == 0 && dg[0] > 0)
		x[0] += (b[0] - coarse_y(L, 0, n2)) / dg[0];
	const int64_t last = n2 - 1;
	if (last > 0 && (int)(last & 1) == kp && dg[last] > 0)
		x[last] += (b[last] - coarse_y(L, last, n2)) / dg[last];
	const int64_t first = kp == 0 ? 2 : 1;
	const int64_t count = n2 - 2 >= first ? (n2 - 2 - first) / 2 + 1 : 0;
#pragma omp simd
	for (int64_t q = 0; q < count; q++) {
		const int64_t k = first + 2 * q;
		const float s = L->gxm[k] * L->xm[k] + L->gxp[k] * L->xp[k] + L->gym[k] * L->ym[k] +
				L->gyp[k] * L->yp[k] + gz[k - 1] * x[k - 1] + gz[k] * x[k + 1];
		const float on = dg[k] > 0.0f ? 1.0f : 0.0f;
		x[k] += on * (b[k] - (dg[k] * x[k] - s)) / (dg[k] + 1.0f - on);
	}
}

static void coarse_smooth(mg *m, level *c, int colour)
{
	const int64_t lines = c->n[0] * c->n[1], n2 = c->n[2];
	for (int parity = 0; parity < 2; parity++) {
#pragma omp parallel for schedule(static) if (c->count > 32768)
		for (int64_t l = 0; l < lines; l++) {
			const int64_t I = l / c->n[1], J = l % c->n[1];
			if ((int)((I + J) & 1) != parity)
				continue;
			const cline L = coarse_line(m, c, c->x, I, J);
			coarse_relax_row(&L, c->x + L.base, c->b + L.base, n2, colour ^ parity);
		}
	}
}

/* c->b = the residual of f summed over each aggregate. */
static void coarse_restrict(mg *m, const level *f, level *c)
{
	const int64_t clines = c->n[0] * c->n[1], n2 = f->n[2];
#pragma omp parallel for schedule(static) if (c->count > 4096)
	for (int64_t cl = 0; cl < clines; cl++) {
		const int64_t I = cl / c->n[1], J = cl % c->n[1];
		float *b = c->b + I * c->s0 + J * c->s1;
		float *y = m->tbuf + (int64_t)omp_get_thread_num() * m->n2;
		memset(b, 0, (size_t)c->n[2] * sizeof *b);
		for (int64_t i = I * c->r[0]; i < (I + 1) * c->r[0] && i < f->n[0]; i++)
			for (int64_t j = J * c->r[1]; j < (J + 1) * c->r[1] && j < f->n[1]; j++) {
				const cline L = coarse_line(m, f, f->x, i, j);
				const float *fb = f->b + L.base;
				coarse_row(&L, n2, y);
				for (int64_t k = 0; k < n2; k++)
					b[k / c->r[2]] += fb[k] - y[k];
			}
	}
}

static void coarse_prolong(level *f, const level *c)
{
	const int64_t lines = f->n[0] * f->n[1];
#pragma omp parallel for schedule(static) if (f->count > 32768)
	for (int64_t l = 0; l < lines; l++) {
		const int64_t i = l / f->n[1], j = l % f->n[1];
		const float *x = c->x + (i / c->r[0]) * c->s0 + (j / c->r[1]) * c->s1;
		const int64_t b = i * f->s0 + j * f->s1;
		const int sh = c->r[2] == 2;
		for (int64_t k = 0; k < f->n[2]; k++)
			f->x[b + k] += (float)(f->diag[b + k] > 0) * x[k >> sh];
	}
}

/* The coarsest level: x = A^-1 b by the dense factor. */
static void coarsest_solve(mg *m, level *c)
{
	const int64_t n = m->ncoarse;
	double *y = m->work;
	for (int64_t a = 0; a < n; a++) {
		double s = c->b[m->coarse_cell[a]];
		for (int64_t q = 0; q < a; q++)
			s -= m->chol[a * n + q] * y[q];
		y[a] = s / m->chol[a * n + a];
	}
	for (int64_t a = n - 1; a >= 0; a--) {
		double s = y[a];
		for (int64_t q = a + 1; q < n; q++)
			s -= m->chol[q * n + a] * y[q];
		y[a] = s / m->chol[a * n + a];
	}
	memset(c->x, 0, (size_t)c->count * sizeof *c->x);
	for (int64_t a = 0; a < n; a++)
		c->x[m->coarse_cell[a]] = (float)y[a];
}

/* V-cycle on coarse level l (its b set, x overwritten). */
static void coarse_cycle(mg *m, int l)
{
	level *c = &m->lev[l];
	if (l == m->nlev - 1) {
		coarsest_solve(m, c);
		return;
	}
	memset(c->x, 0, (size_t)c->count * sizeof *c->x);
	for (int s = 0; s < SMOOTH_SWEEPS; s++)
		coarse_smooth(m, c, 0), coarse_smooth(m, c, 1);
	coarse_restrict(m, c, &m->lev[l + 1]);
	coarse_cycle(m, l + 1);
	coarse_prolong(c, &m->lev[l + 1]);
	for (int s = 0; s < SMOOTH_SWEEPS; s++)
		coarse_smooth(m, c, 1), coarse_smooth(m, c, 0);
}

static double dot_lines(mg *m, const float *a, const float *b)
{
	const int64_t lines = m->n0 * m->n1;
#pragma omp parallel for schedule(static)
	for (int64_t l = 0; l < lines; l++) {
		double s = 0;
#pragma omp simd reduction(+ : s)
		for (int64_t v = l * m->n2; v < (l + 1) * m->n2; v++)
			s += (double)a[v] * b[v];
		m->line_sum[l] = s;
	}
	return sum_lines(m, lines);
}

/* z = M r: one V-cycle from z = 0; returns r . z. */
static double precondition(mg *m, const float *r, float *z)
{
	if (m->deg) {
		fast_pass(m, z, r, 1);
		if (m->nlev > 0)
			coarse_cycle(m, 0);
		return fast_pass(m, z, r, 0);
	}
	memset(z, 0, (size_t)m->count * sizeof *z), lattice_smooth(m, z, r, 0);
	lattice_smooth(m, z, r, 1);
	for (int s = 1; s < SMOOTH_SWEEPS; s++)
		lattice_smooth(m, z, r, 0), lattice_smooth(m, z, r, 1);
	if (m->nlev > 0) {
		lattice_restrict(m, z, r, &m->lev[0]);
		coarse_cycle(m, 0);
		lattice_prolong(m, z, &m->lev[0]);
	}
	for (int s = 0; s < SMOOTH_SWEEPS; s++)
		lattice_smooth(m, z, r, 1), lattice_smooth(m, z, r, 0);
	return dot_lines(m, r, z);
}

/* ---- setup --------------------------------------------------------------- */

static int alloc_level(mg *m, level *c, const int64_t nf[3])
{
	for (int a = 0; a < 3; a++) {
		c->r[a] = nf[a] > 1 ? 2 : 1;
		c->n[a] = (nf[a] + c->r[a] - 1) / c->r[a];
	}
	c->s1 = c->n[2], c->s0 = c->n[1] * c->n[2], c->count = c->n[0] * c->s0;
	const size_t n = ((size_t)c->count + 15) / 16 * 16; /* 64-byte aligned arrays */
	c->gx = grab(m, 7 * n, sizeof(float));		    /* one allocation: one huge-page tail */
	if (!c->gx)
		return 0;
	c->gy = c->gx + n, c->gz = c->gy + n, c->gd = c->gz + n;
	c->diag = c->gd + n, c->x = c->diag + n, c->b = c->x + n;
	return 1;
}

/* Diagonal of a coarse level from its faces and Dirichlet conductances. */
static void coarse_diagonal(level *c)
{
#pragma omp parallel for schedule(static) if (c->count > 32768)
	for (int64_t I = 0; I < c->n[0]; I++)
		for (int64_t J = 0; J < c->n[1]; J++)
			for (int64_t K = 0; K < c->n[2]; K++) {
				const int64_t v = I * c->s0 + J * c->s1 + K;
				float d = c->gd[v] + c->gx[v] + c->gy[v] + c->gz[v];
				if (I > 0)
					d += c->gx[v - c->s0];
				if (J > 0)
					d += c->gy[v - c->s1];
				if (K > 0)
					d += c->gz[v - 1];
				c->diag[v] = d;
			}
}

/* The first coarse level from the classes. */
static void build_from_lattice(mg *m, level *c)
{
	const int a = m->p->axis;
#pragma omp parallel for schedule(static)
	for (int64_t cl = 0; cl < c->n[0] * c->n[1]; cl++) {
		const int64_t I = cl / c->n[1], J = cl % c->n[1];
		const int64_t cb = I * c->s0 + J * c->s1;
		for (int64_t i = I * c->r[0]; i < (I + 1) * c->r[0] && i < m->n0; i++)
			for (int64_t j = J * c->r[1]; j < (J + 1) * c->r[1] && j < m->n1; j++) {
				const nbl L = lattice_line(m, i, j);
				const int last_i = i == (I + 1) * c->r[0] - 1;
				const int last_j = j == (J + 1) * c->r[1] - 1;
				for (int64_t k = 0; k < m->n2; k++) {
					if (L.c[k] == VB_MG_OFF)
						continue;
					const int64_t K = k / c->r[2];
					float g6[6];
					site_g(m, &L, k, g6);
					if (last_i)
						c->gx[cb + K] += g6[1] / ((float)c->r[0]);
					if (last_j)
						c->gy[cb + K] += g6[3] / ((float)c->r[1]);
					if (k == (K + 1) * c->r[2] - 1)
						c->gz[cb + K] += g6[5] / ((float)c->r[2]);
					c->gd[cb + K] += (float)site_dir(m, &L, k) *
							 m->gd[L.c[k] & 15] / ((float)c->r[a]);
				}
			}
	}
	coarse_diagonal(c);
}

/* Level c from the finer coarse level f. */
static void build_from_coarse(const mg *m, const level *f, level *c)
{
	const int a = m->p->axis;
#pragma omp parallel for schedule(static) if (c->count > 4096)
	for (int64_t cl = 0; cl < c->n[0] * c->n[1]; cl++) {
		const int64_t I = cl / c->n[1], J = cl % c->n[1];
		const int64_t cb = I * c->s0 + J * c->s1;
		for (int64_t i = I * c->r[0]; i < (I + 1) * c->r[0] && i < f->n[0]; i++)
			for (int64_t j = J * c->r[1]; j < (J + 1) * c->r[1] && j < f->n[1]; j++)
				for (int64_t k = 0; k < f->n[2]; k++) {
					const int64_t v = i * f->s0 + j * f->s1 + k,
						      K = k / c->r[2];
					if (i == (I + 1) * c->r[0] - 1)
						c->gx[cb + K] += f->gx[v] / ((float)c->r[0]);
					if (j == (J + 1) * c->r[1] - 1)
						c->gy[cb + K] += f->gy[v] / ((float)c->r[1]);
					if (k == (K + 1) * c->r[2] - 1)
						c->gz[cb + K] += f->gz[v] / ((float)c->r[2]);
					c->gd[cb + K] += f->gd[v] / ((float)c->r[a]);
				}
	}
	coarse_diagonal(c);
}

/* Dense Cholesky factor of the coarsest level's unknowns. */
static int factor_coarsest(mg *m, vb_err *e)
{
	level *c = &m->lev[m->nlev - 1];
	int64_t n = 0;
	for (int64_t v = 0; v < c->count; v++)
		n += c->diag[v] > 0;
	m->ncoarse = n;
	m->coarse_cell = grab(m, (size_t)n, sizeof *m->coarse_cell);
	m->chol = grab(m, (size_t)(n * n), sizeof *m->chol);
	m->work = grab(m, (size_t)n, sizeof *m->work);
	int64_t *row = malloc((size_t)c->count * sizeof *row);
	if (!m->coarse_cell || !m->chol || !m->work || !row) {
		free(row);
		return vb_err_set(e, VB_ERR_RUN, "out of memory for the coarsest level");
	}
	n = 0;
	for (int64_t v = 0; v < c->count; v++) {
		row[v] = c->diag[v] > 0 ? n : -1;
		if (row[v] >= 0)
			m->coarse_cell[n++] = v;
	}
	for (int64_t q = 0; q < n; q++) {
		const int64_t v = m->coarse_cell[q];
		const int64_t I = v / c->s0, J = (v / c->s1) % c->n[1], K = v % c->s1;
		m->chol[q * n + q] = c->diag[v];
		const int64_t nb[3] = {I < c->n[0] - 1 ? v + c->s0 : -1,
				       J < c->n[1] - 1 ? v + c->s1 : -1,
				       K < c->n[2] - 1 ? v + 1 : -1};
		const float *g[3] = {c->gx, c->gy, c->gz};
		for (int d = 0; d < 3; d++)
			if (nb[d] >= 0 && nb[d] < c->count && row[nb[d]] >= 0 && g[d][v] > 0) {
				const int64_t w = row[nb[d]];
				m->chol[q * n + w] = m->chol[w * n + q] = -g[d][v];
			}
	}
	free(row);
	double *A = m->chol; /* in place: lower triangle becomes L */
	for (int64_t j = 0; j < n; j++) {
		double d = A[j * n + j];
		for (int64_t q = 0; q < j; q++)
			d -= A[j * n + q] * A[j * n + q];
		if (!(d > 0))
			return vb_err_set(e, VB_ERR_RUN,
					  "coarsest multigrid level not positive definite (a site "
					  "without a path to a potential face?)");
		A[j * n + j] = sqrt(d);
		for (int64_t i = j + 1; i < n; i++) {
			double s = A[i * n + j];
			for (int64_t q = 0; q < j; q++)
				s -= A[i * n + q] * A[j * n + q];
			A[i * n + j] = s / A[j * n + j];
		}
	}
	return VB_OK;
}

static void mg_free(mg *m)
{
	for (int l = 0; l < m->nlev; l++) {
		level *c = &m->lev[l];
		free(c->gx); /* and the level's other arrays */
	}
	free(m->coarse_cell), free(m->chol), free(m->work);
	free(m->off_line), free(m->zero_line), free(m->zero64), free(m->line_sum), free(m->deg),
		free(m->tbuf);
}

static int setup(mg *m, const vb_mg_problem *p, vb_err *e)
{
	m->p = p;
	m->n0 = p->n[0], m->n1 = p->n[1], m->n2 = p->n[2];
	m->s1 = m->n2, m->s0 = m->n1 * m->n2, m->count = m->n0 * m->s0;
	m->he = (m->n2 + 1) / 2;
	m->half[0] = fast_half(m, 0), m->half[1] = fast_half(m, 1);
	double smax = 0;
	for (int c = 0; c < VB_MG_CLASSES; c++)
		smax = fmax(smax, p->sigma[c]);
	for (int c = 0; c < VB_MG_CLASSES; c++) {
		const double sc = p->sigma[c] > 0 ? p->sigma[c] / smax : 0;
		m->gd64[c] = 2 * sc;
		m->gd[c] = (float)m->gd64[c];
		for (int d = 0; d < VB_MG_CLASSES; d++) {
			const double sd = p->sigma[d] > 0 ? p->sigma[d] / smax : 0;
			m->g64[c * TAB + d] = sc > 0 && sd > 0 ? harmonic(sc, sd) : 0.0;
			m->g[c * TAB + d] = (float)m->g64[c * TAB + d];
		}
	}
	m->off_line = grab(m, (size_t)m->n2, 1);
	m->zero_line = grab(m, (size_t)m->n2 + 16, sizeof(float)); /* slack: duo_block8 */
	m->zero64 = grab(m, (size_t)m->n2, sizeof(double));
	m->line_sum = grab(m, (size_t)(m->n0 * m->n1), sizeof(double));
	m->tbuf = grab(m, (size_t)(omp_get_max_threads() * m->n2), sizeof(float));
	if (!m->off_line || !m->zero_line || !m->zero64 || !m->line_sum || !m->tbuf)
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	memset(m->off_line, VB_MG_OFF, (size_t)m->n2);
	int classes = 0;
	for (int c = 0; c < VB_MG_CLASSES; c++)
		if (p->sigma[c] > 0 && ++classes <= 2)
			m->dcls[classes] = c;
	if (classes <= 2 && classes > 0) { /* the split kernels */
		m->duo = classes == 2;
		m->avx2 = !p->portable && __builtin_cpu_supports("avx2");
		for (int u = 1; u <= 2; u++) /* w = 0 and u = 0: no face, 0 */
			for (int w = 1; w <= 2; w++) {
				m->dg64[3 * u + w] = m->g64[m->dcls[u] * TAB + m->dcls[w]];
				m->dg[3 * u + w] = m->g[m->dcls[u] * TAB + m->dcls[w]];
			}
		m->deg = grab(m, (size_t)m->count + 16, 1); /* slack: duo_block8 */
		if (!m->deg)
			return vb_err_set(e, VB_ERR_RUN, "out of memory");
		fast_setup(m);
	}
	int64_t nf[3] = {m->n0, m->n1, m->n2};
	while (nf[0] * nf[1] * nf[2] > COARSEST && m->nlev < 40) {
		level *c = &m->lev[m->nlev++];
		if (!alloc_level(m, c, nf))
			return vb_err_set(e, VB_ERR_RUN, "out of memory for multigrid level %d",
					  m->nlev);
		if (m->nlev == 1)
			build_from_lattice(m, c);
		else
			build_from_coarse(m, &m->lev[m->nlev - 2], c);
		for (int a = 0; a < 3; a++)
			nf[a] = c->n[a];
	}
	return m->nlev > 0 ? factor_coarsest(m, e) : VB_OK;
}

/* ---- the solve ----------------------------------------------------------- */

/* Inner conjugate gradients on A d = r (single precision) until ||r|| has
 * fallen by INNER_RTOL or reached `stop`. Returns iterations. */
static int64_t inner_cg(mg *m, float *r, float *d, float *p, float *qz, double r0, double stop,
			int64_t *total, double scale)
{
	const int64_t n = m->count;
	const int64_t lines = m->n0 * m->n1;
	double rz = precondition(m, r, qz);
	memcpy(p, qz, (size_t)n * sizeof *p);
	memset(d, 0, (size_t)n * sizeof *d);
	int64_t it = 0;
	const double target = fmax(INNER_RTOL * r0, stop);
	while (it < INNER_MAX) {
		const double pq = m->deg ? fast_apply(m, p, qz) : lattice_apply(m, p, qz);
		if (!(pq > 0))
			break;
		const double alpha = rz / pq;
#pragma omp parallel for schedule(static)
		for (int64_t l = 0; l < lines; l++) {
			double s = 0;
#pragma omp simd reduction(+ : s)
			for (int64_t v = l * m->n2; v < (l + 1) * m->n2; v++) {
				d[v] += (float)alpha * p[v];
				r[v] -= (float)alpha * qz[v];
				s += (double)r[v] * r[v];
			}
			m->line_sum[l] = s;
		}
		const double rn = sqrt(sum_lines(m, lines));
		it++, (*total)++;
		if (m->p->progress)
			m->p->progress(m->p->progress_ctx, *total, rn * scale, m->p->rtol);
		if (rn <= target)
			break;
		const double rz_new = precondition(m, r, qz), beta = rz_new / rz;
		rz = rz_new;
#pragma omp parallel for schedule(static)
		for (int64_t v = 0; v < n; v++)
			p[v] = qz[v] + (float)beta * p[v];
	}
	return it;
}

int vb_mg_solve(const vb_mg_problem *p, vb_mg_result *res, vb_err *e)
{
	memset(res, 0, sizeof *res);
	if (p->axis < 0 || p->axis > 2 || p->n[0] < 1 || p->n[1] < 1 || p->n[2] < 1)
		return vb_err_set(e, VB_ERR_INPUT, "lattice conduction: bad axis or size");
	mg m;
	memset(&m, 0, sizeof m);
	int rc = setup(&m, p, e);
	const size_t n = (size_t)m.count;
	/* x and the four single-precision vectors in one allocation (one
	 * huge-page tail), each 64-byte aligned */
	const size_t nv = (n + 15) / 16 * 16;
	char *arena = rc == VB_OK ? grab(&m, 6 * nv, sizeof(float)) : NULL;
	double *x = (double *)(void *)arena;
	float *r = arena ? (float *)(void *)(arena + nv * sizeof *x) : NULL;
	float *d = r ? r + nv : NULL, *pv = d ? d + nv : NULL, *qz = pv ? pv + nv : NULL;
	if (rc == VB_OK && (!arena || !r || !d || !pv || !qz))
		rc = vb_err_set(e, VB_ERR_RUN, "out of memory for %lld lattice sites",
				(long long)m.count);
	res->levels = 1 + m.nlev;
	res->bytes = m.bytes;
	if (rc == VB_OK) {
		const double bnorm = sqrt(lattice_residual(&m, NULL, r));
		double rn = bnorm;
		while (bnorm > 0 && rn > p->rtol * bnorm) {
			if (res->iterations >= p->max_iter) {
				rc = vb_err_set(
					e, VB_ERR_RUN,
					"lattice conduction: residual %.2e of %.0e after %lld "
					"iterations",
					rn / bnorm, p->rtol, (long long)res->iterations);
				break;
			}
			const int64_t it = inner_cg(&m, r, d, pv, qz, rn, 0.5 * p->rtol * bnorm,
						    &res->iterations, 1.0 / bnorm);
			res->passes++;
#pragma omp parallel for schedule(static)
			for (int64_t v = 0; v < m.count; v++)
				x[v] += d[v];
			rn = sqrt(lattice_residual(&m, x, r));
			if (it == 0)
				break; /* no progress possible (should not happen) */
		}
		res->residual = bnorm > 0 ? rn / bnorm : 0;
		if (rc == VB_OK && bnorm > 0 && rn > p->rtol * bnorm)
			rc = vb_err_set(e, VB_ERR_RUN,
					"lattice conduction: stalled at residual %.2e",
					res->residual);
		/* Currents through the two potential faces, in site order. */
		double in = 0, out = 0;
		const int a = p->axis;
		const int64_t na = p->n[a], stride = a == 0 ? m.s0 : a == 1 ? m.s1 : 1;
		for (int64_t l = 0; l < m.count / na; l++) { /* the lines along the axis */
			const int64_t v0 = a == 0   ? l
					   : a == 1 ? (l / m.n2) * m.s0 + l % m.n2
						    : l * m.n2;
			const int64_t v1 = v0 + (na - 1) * stride;
			const int64_t u0 = m.deg ? split_site(&m, v0) : v0; /* where x is */
			const int64_t u1 = m.deg ? split_site(&m, v1) : v1;
			if (p->cls[v0] != VB_MG_OFF)
				in += 2.0 * p->sigma[p->cls[v0] & 15] * p->h * (1.0 - x[u0]);
			if (p->cls[v1] != VB_MG_OFF)
				out += 2.0 * p->sigma[p->cls[v1] & 15] * p->h * x[u1];
		}
		res->current_in = in, res->current_out = out;
		double smax = 0;
		for (int c = 0; c < VB_MG_CLASSES; c++)
			smax = fmax(smax, p->sigma[c]);
#pragma omp parallel for schedule(static)
		for (int64_t l = 0; l < m.n0 * m.n1; l++) {
			double s = 0;
#pragma omp simd reduction(+ : s)
			for (int64_t v = l * m.n2; v < (l + 1) * m.n2; v++)
				s += x[v] * r[v];
			m.line_sum[l] = s;
		}
		res->current = in - smax * p->h * sum_lines(&m, m.n0 * m.n1);
	}
	free(arena); /* x, r, d, pv, qz */
	mg_free(&m);
	return rc;
}
