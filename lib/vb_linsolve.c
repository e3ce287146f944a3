/* vb_linsolve: SPD sparse solves with CHOLMOD or deterministic OpenMP PCG. */
#include "vb_linsolve.h"

#include <HYPRE.h>
#include <HYPRE_IJ_mv.h>
#include <_hypre_parcsr_ls.h> /* hypre_ParAMGData: the hierarchy's levels */
#include <cholmod.h>
#include <math.h>
#include <mpi.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Reductions are summed over this many fixed blocks, then the blocks in
 * order, so that a dot product has the same value on any thread count. */
#define REDUCE_BLOCKS 256

vb_linsolve_opts vb_linsolve_defaults(void)
{
	vb_linsolve_opts o = {VB_LINSOLVE_AUTO, 1e-8, 20000, 40000, NULL, NULL};
	return o;
}

const char *vb_linsolve_method_name(vb_linsolve_method m)
{
	switch (m) {
	case VB_LINSOLVE_AUTO: return "auto";
	case VB_LINSOLVE_CHOLMOD: return "cholmod";
	case VB_LINSOLVE_PCG: return "pcg";
	case VB_LINSOLVE_AMG: return "amg";
	case VB_LINSOLVE_MG: return "mg";
	}
	return "?";
}

int vb_linsolve_method_parse(const char *name)
{
	for (int m = VB_LINSOLVE_AUTO; m <= VB_LINSOLVE_MG; m++)
		if (strcmp(name, vb_linsolve_method_name((vb_linsolve_method)m)) == 0)
			return m;
	return -1;
}

void vb_linsolve_csr_free(vb_csr *A)
{
	if (A == NULL)
		return;
	free(A->rowptr);
	free(A->col);
	free(A->val);
	memset(A, 0, sizeof *A);
}

double vb_linsolve_dot(const double *a, const double *b, int64_t n)
{
	double part[REDUCE_BLOCKS];
#pragma omp parallel for schedule(static)
	for (int blk = 0; blk < REDUCE_BLOCKS; blk++) {
		int64_t lo = n * blk / REDUCE_BLOCKS, hi = n * (blk + 1) / REDUCE_BLOCKS;
		double s = 0;
		for (int64_t i = lo; i < hi; i++)
			s += a[i] * b[i];
		part[blk] = s;
	}
	double s = 0;
	for (int blk = 0; blk < REDUCE_BLOCKS; blk++)
		s += part[blk];
	return s;
}

double vb_linsolve_sum(const double *a, int64_t n)
{
	double part[REDUCE_BLOCKS];
#pragma omp parallel for schedule(static)
	for (int blk = 0; blk < REDUCE_BLOCKS; blk++) {
		int64_t lo = n * blk / REDUCE_BLOCKS, hi = n * (blk + 1) / REDUCE_BLOCKS;
		double s = 0;
		for (int64_t i = lo; i < hi; i++)
			s += a[i];
		part[blk] = s;
	}
	double s = 0;
	for (int blk = 0; blk < REDUCE_BLOCKS; blk++)
		s += part[blk];
	return s;
}

static double blocks_total(const double *part)
{
	double s = 0;
	for (int blk = 0; blk < REDUCE_BLOCKS; blk++)
		s += part[blk];
	return s;
}

void vb_linsolve_spmv(const vb_csr *A, const double *x, double *y)
{
#pragma omp parallel for schedule(static)
	for (int64_t i = 0; i < A->n; i++) {
		double s = 0;
		for (int64_t p = A->rowptr[i]; p < A->rowptr[i + 1]; p++)
			s += A->val[p] * x[A->col[p]];
		y[i] = s;
	}
}

/* z = M^-1 r for a preconditioner M. */
typedef void (*precond_fn)(void *ctx, const double *r, double *z);

/* y = A x for the matrix behind ctx; returns x . y summed as
 * vb_linsolve_dot sums it (the same blocks in the same order: the same
 * bits). The single-precision one (amg_finest_matvec) sums it in the pass
 * that writes y. */
typedef double (*matvec_fn)(const void *ctx, const double *x, double *y);

/* The double-precision matrix: its product, then x . y in a second pass
 * (used where the answer is the result, not in the hot inner solves). */
static double csr_matvec(const void *ctx, const double *x, double *y)
{
	const vb_csr *A = ctx;
	vb_linsolve_spmv(A, x, y);
	return vb_linsolve_dot(x, y, A->n);
}

/* Makes w hold at least need doubles (its old values lost); -1 when out of
 * memory. */
static int work_reserve(vb_linsolve_work *w, size_t need)
{
	if (w->size < need) {
		free(w->buf);
		w->buf = malloc((need > 0 ? need : 1) * sizeof *w->buf);
		w->size = w->buf != NULL ? need : 0;
	}
	return w->buf != NULL ? 0 : -1;
}

/* Preconditioned conjugate gradients on A x = b (x: starting guess), the
 * one CG loop of this file. A is n x n behind A_ctx; work (NULL: own)
 * holds its four vectors. name prefixes the failure messages. */
static int pcg(int64_t n, matvec_fn A, const void *A_ctx, const double *b, double *x,
	       double rtol, int64_t max_iter, precond_fn precond, void *ctx, const char *name,
	       vb_linsolve_progress progress, void *progress_ctx, vb_linsolve_stats *st,
	       vb_err *e, vb_linsolve_work *work)
{
	vb_linsolve_work own = {0};
	vb_linsolve_work *ws = work != NULL ? work : &own;
	double *r = NULL, *z = NULL, *p = NULL, *q = NULL;
	if (work_reserve(ws, 4 * (size_t)n) == 0)
		r = ws->buf, z = r + n, p = z + n, q = p + n;
	int rc = VB_OK;
	double rel = 0;
	int64_t it = 0;
	if (r == NULL) {
		rc = vb_err_set(e, VB_ERR_RUN, "out of memory for %s on %lld unknowns", name,
				(long long)n);
		goto done;
	}
	const double bnorm = sqrt(vb_linsolve_dot(b, b, n));
	if (bnorm == 0) {
		memset(x, 0, (size_t)n * sizeof *x);
		goto done;
	}
	(void)A(A_ctx, x, q);
#pragma omp parallel for schedule(static)
	for (int64_t i = 0; i < n; i++)
		r[i] = b[i] - q[i];
	rel = sqrt(vb_linsolve_dot(r, r, n)) / bnorm;
	double rz = 0;
	while (rel > rtol && it < max_iter) {
		precond(ctx, r, z);
		const double rz_new = vb_linsolve_dot(r, z, n);
		if (it == 0) {
			memcpy(p, z, (size_t)n * sizeof *p); /* p holds garbage: not 0 * p */
		} else {
			const double beta = rz_new / rz;
#pragma omp parallel for schedule(static)
			for (int64_t i = 0; i < n; i++)
				p[i] = z[i] + beta * p[i];
		}
		rz = rz_new;
		const double pq = A(A_ctx, p, q);
		if (!(pq > 0)) {
			rc = vb_err_set(
				e, VB_ERR_RUN,
				"%s: matrix is not positive definite (p'Ap = %g at iteration "
				"%lld)",
				name, pq, (long long)it);
			break;
		}
		const double alpha = rz / pq;
		double part[REDUCE_BLOCKS]; /* r . r, summed as vb_linsolve_dot does */
#pragma omp parallel for schedule(static)
		for (int blk = 0; blk < REDUCE_BLOCKS; blk++) {
			const int64_t lo = n * blk / REDUCE_BLOCKS, hi = n * (blk + 1) / REDUCE_BLOCKS;
			double d = 0;
			for (int64_t i = lo; i < hi; i++) {
				x[i] += alpha * p[i];
				r[i] -= alpha * q[i];
				d += r[i] * r[i];
			}
			part[blk] = d;
		}
		it++;
		rel = sqrt(blocks_total(part)) / bnorm;
		if (progress != NULL)
			progress(progress_ctx, it, rel, rtol);
	}
	if (rc == VB_OK && rel > rtol)
		rc = vb_err_set(
			e, VB_ERR_RUN,
			"%s: relative residual %.3g after %lld iterations, expected <= %.3g", name,
			rel, (long long)it, rtol);
done:
	if (st != NULL) {
		st->iterations = it;
		st->residual = rel;
	}
	vb_linsolve_work_free(&own);
	return rc;
}

static void jacobi(void *ctx, const double *r, double *z)
{
	const vb_csr *D = ctx; /* n and the inverse diagonal in val */
#pragma omp parallel for schedule(static)
	for (int64_t i = 0; i < D->n; i++)
		z[i] = D->val[i] * r[i];
}

static int solve_pcg(const vb_csr *A, const double *b, double *x, const vb_linsolve_opts *o,
		     vb_linsolve_stats *st, vb_err *e)
{
	const int64_t n = A->n;
	double *dinv = malloc((size_t)n * sizeof *dinv);
	if (dinv == NULL)
		return vb_err_set(e, VB_ERR_RUN, "out of memory for PCG on %lld unknowns",
				  (long long)n);
	int bad_diag = 0;
#pragma omp parallel for schedule(static) reduction(| : bad_diag)
	for (int64_t i = 0; i < n; i++) {
		double d = 0;
		for (int64_t k = A->rowptr[i]; k < A->rowptr[i + 1]; k++)
			if (A->col[k] == i)
				d = A->val[k];
		bad_diag |= !(d > 0);
		dinv[i] = d > 0 ? 1.0 / d : 0.0;
	}
	if (st != NULL)
		st->used = VB_LINSOLVE_PCG, st->iterations = 0, st->residual = 0;
	int rc = VB_OK;
	if (bad_diag) {
		rc = vb_err_set(e, VB_ERR_RUN, "PCG: matrix has a non-positive diagonal entry");
	} else {
		vb_csr D = {n, NULL, NULL, dinv};
		rc = pcg(n, csr_matvec, A, b, x, o->rtol, o->max_iter, jacobi, &D, "PCG",
			 o->progress, o->progress_ctx, st, e, NULL);
	}
	free(dinv);
	return rc;
}

static int solve_cholmod(const vb_csr *A, const double *b, double *x, vb_linsolve_stats *st,
			 vb_err *e)
{
	cholmod_common c;
	cholmod_l_start(&c);
	c.print = 0;
	c.error_handler = NULL;
	const int64_t n = A->n, nnz = A->rowptr[n];
	/* CSR of a symmetric matrix is its CSC; stype 1 reads the upper triangle. */
	cholmod_sparse *S = cholmod_l_allocate_sparse((size_t)n, (size_t)n, (size_t)nnz, 1, 1, 1,
						      CHOLMOD_REAL, &c);
	cholmod_dense *B = cholmod_l_allocate_dense((size_t)n, 1, (size_t)n, CHOLMOD_REAL, &c);
	int rc = VB_OK;
	if (S == NULL || B == NULL) {
		rc = vb_err_set(e, VB_ERR_RUN, "CHOLMOD: out of memory for %lld unknowns",
				(long long)n);
	} else {
		memcpy(S->p, A->rowptr, (size_t)(n + 1) * sizeof(int64_t));
		memcpy(S->i, A->col, (size_t)nnz * sizeof(int64_t));
		memcpy(S->x, A->val, (size_t)nnz * sizeof(double));
		memcpy(B->x, b, (size_t)n * sizeof(double));
		cholmod_factor *L = cholmod_l_analyze(S, &c);
		if (L != NULL)
			cholmod_l_factorize(S, L, &c);
		cholmod_dense *X = NULL;
		if (L == NULL || c.status != CHOLMOD_OK)
			rc = vb_err_set(e, VB_ERR_RUN,
					"CHOLMOD: factorization failed (status %d; not positive "
					"definite or out of memory)",
					c.status);
		else if ((X = cholmod_l_solve(CHOLMOD_A, L, B, &c)) == NULL)
			rc = vb_err_set(e, VB_ERR_RUN, "CHOLMOD: solve failed (status %d)",
					c.status);
		else
			memcpy(x, X->x, (size_t)n * sizeof(double));
		cholmod_l_free_dense(&X, &c);
		cholmod_l_free_factor(&L, &c);
	}
	cholmod_l_free_sparse(&S, &c);
	cholmod_l_free_dense(&B, &c);
	cholmod_l_finish(&c);
	if (st != NULL) {
		st->used = VB_LINSOLVE_CHOLMOD;
		st->iterations = 0;
		st->residual = 0;
	}
	if (rc == VB_OK && st != NULL) {
		/* Report the true residual so both methods are judged alike. */
		double *q = malloc((size_t)n * sizeof *q);
		if (q != NULL) {
			vb_linsolve_spmv(A, x, q);
			for (int64_t i = 0; i < n; i++)
				q[i] = b[i] - q[i];
			double bn = sqrt(vb_linsolve_dot(b, b, n));
			st->residual = bn > 0 ? sqrt(vb_linsolve_dot(q, q, n)) / bn : 0;
			free(q);
		}
	}
	return rc;
}

/* hypre is built on MPI; voxbat runs it on one process (MPI_COMM_SELF) and
 * initialises MPI itself the first time, finalising it at exit. */
static void finalize_mpi(void)
{
	int done = 0;
	MPI_Finalized(&done);
	if (!done)
		MPI_Finalize();
}

/* Two solves may run at once on different threads (a caller may solve two
 * networks side by side; metrics did before mg): MPI is asked for full
 * thread support, and each solve gets its own communicator, duplicated
 * under a lock. */
static int ensure_mpi(MPI_Comm *comm)
{
	int rc = 0;
#pragma omp critical(vb_linsolve_mpi)
	{
		int init = 0, provided = 0;
		MPI_Initialized(&init);
		if (!init) {
			if (MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided) !=
			    MPI_SUCCESS)
				rc = -1;
			else {
				atexit(finalize_mpi);
				HYPRE_Init();
			}
		} else {
			MPI_Query_thread(&provided);
		}
		if (rc == 0 && provided < MPI_THREAD_MULTIPLE && omp_in_parallel())
			rc = -2;
		if (rc == 0 && MPI_Comm_dup(MPI_COMM_SELF, comm) != MPI_SUCCESS)
			rc = -1;
	}
	return rc;
}

/* hypre's IJ form of A on comm, and two zero vectors of its size (the
 * setup asks for a right-hand side and a solution). */
static int hypre_system(const vb_csr *A, MPI_Comm comm, HYPRE_IJMatrix *ij, HYPRE_IJVector *vb,
			HYPRE_IJVector *vx, vb_err *e)
{
	const HYPRE_Int n = (HYPRE_Int)A->n;
	HYPRE_Int *sizes = malloc((size_t)n * sizeof *sizes);
	HYPRE_Int *rows = malloc((size_t)n * sizeof *rows);
	HYPRE_Int *cols = malloc((size_t)(A->rowptr[n] > 0 ? A->rowptr[n] : 1) * sizeof *cols);
	double *zero = calloc((size_t)n, sizeof *zero);
	if (sizes == NULL || rows == NULL || cols == NULL || zero == NULL) {
		free(sizes), free(rows), free(cols), free(zero);
		return vb_err_set(e, VB_ERR_RUN, "AMG: out of memory");
	}
	for (HYPRE_Int r = 0; r < n; r++) {
		rows[r] = r;
		sizes[r] = (HYPRE_Int)(A->rowptr[r + 1] - A->rowptr[r]);
	}
	for (int64_t p = 0; p < A->rowptr[n]; p++)
		cols[p] = (HYPRE_Int)A->col[p];
	HYPRE_IJMatrixCreate(comm, 0, n - 1, 0, n - 1, ij);
	HYPRE_IJMatrixSetObjectType(*ij, HYPRE_PARCSR);
	HYPRE_IJMatrixSetRowSizes(*ij, sizes);
	HYPRE_IJMatrixInitialize(*ij);
	HYPRE_IJMatrixSetValues(*ij, n, sizes, rows, cols, A->val);
	HYPRE_IJMatrixAssemble(*ij);
	HYPRE_IJVector *v[2] = {vb, vx};
	for (int k = 0; k < 2; k++) {
		HYPRE_IJVectorCreate(comm, 0, n - 1, v[k]);
		HYPRE_IJVectorSetObjectType(*v[k], HYPRE_PARCSR);
		HYPRE_IJVectorInitialize(*v[k]);
		HYPRE_IJVectorSetValues(*v[k], n, rows, zero);
		HYPRE_IJVectorAssemble(*v[k]);
	}
	free(sizes), free(rows), free(cols), free(zero);
	return VB_OK;
}

static void hypre_system_free(HYPRE_IJMatrix *ij, HYPRE_IJVector *vb, HYPRE_IJVector *vx)
{
	if (*ij)
		HYPRE_IJMatrixDestroy(*ij);
	if (*vb)
		HYPRE_IJVectorDestroy(*vb);
	if (*vx)
		HYPRE_IJVectorDestroy(*vx);
	*ij = NULL, *vb = NULL, *vx = NULL;
}

/* BoomerAMG as voxbat builds its hierarchies (docs/conductivity.md): PMIS
 * coarsening with one level of aggressive coarsening, extended+e
 * interpolation truncated to 4 entries, strength threshold 0.5 (3D). */
static HYPRE_Solver hypre_amg_create(void)
{
	HYPRE_Solver amg;
	HYPRE_BoomerAMGCreate(&amg);
	HYPRE_BoomerAMGSetCoarsenType(amg, 8);
	HYPRE_BoomerAMGSetInterpType(amg, 17);
	HYPRE_BoomerAMGSetPMaxElmts(amg, 4);
	HYPRE_BoomerAMGSetAggNumLevels(amg, 1);
	HYPRE_BoomerAMGSetStrongThreshold(amg, 0.5);
	HYPRE_BoomerAMGSetPrintLevel(amg, 0);
	return amg;
}

static int amg_pcg(vb_linsolve_amg *amg, const vb_csr *A, const double *b, double *x, double rtol,
		   int64_t max_iter, vb_linsolve_progress progress, void *progress_ctx,
		   vb_linsolve_stats *st, vb_err *e);

/* AMG-PCG for a single solve: a hierarchy built for A and dropped after. */
static int solve_amg(const vb_csr *A, const double *b, double *x, const vb_linsolve_opts *o,
		     vb_linsolve_stats *st, vb_err *e)
{
	vb_linsolve_amg *amg = vb_linsolve_amg_new(A, e);
	if (amg == NULL)
		return e->status;
	int rc = amg_pcg(amg, A, b, x, o->rtol, o->max_iter, o->progress, o->progress_ctx, st, e);
	vb_linsolve_amg_free(&amg);
	return rc;
}

int vb_linsolve_spd(const vb_csr *A, const double *b, double *x, const vb_linsolve_opts *opts,
		    vb_linsolve_stats *stats, vb_err *e)
{
	vb_linsolve_opts o = opts ? *opts : vb_linsolve_defaults();
	if (A->n == 0)
		return VB_OK;
	vb_linsolve_method m = o.method;
	if (m == VB_LINSOLVE_AUTO)
		m = A->n <= o.auto_limit ? VB_LINSOLVE_CHOLMOD : VB_LINSOLVE_AMG;
	if (m == VB_LINSOLVE_CHOLMOD)
		return solve_cholmod(A, b, x, stats, e);
	if (m == VB_LINSOLVE_AMG)
		return solve_amg(A, b, x, &o, stats, e);
	if (m == VB_LINSOLVE_MG)
		return vb_err_set(e, VB_ERR_INPUT, "mg solves lattice problems, not a matrix");
	return solve_pcg(A, b, x, &o, stats, e);
}

/* ---- AMG hierarchy kept across solves ----
 * hypre's BoomerAMG builds the hierarchy (coarse grids, interpolation,
 * Galerkin operators); voxbat then applies it itself, because Debian's hypre
 * is built without OpenMP and its serial V-cycle left the second core idle
 * (docs/solve.md). The smoother is l1 Gauss-Seidel (Baker et al. 2011, hypre's
 * relax types 13/14) over a fixed number of row blocks that depends only on
 * the level's size: within a block Gauss-Seidel, across blocks Jacobi with
 * the l1 term that keeps it convergent. Fixed blocks make the cycle the same
 * on any thread count. Forward sweeps going down and backward sweeps coming
 * up make the V-cycle symmetric, as conjugate gradients need. */

/* Levels below this size are smoothed as one block (serially). */
#define AMG_BLOCK_ROWS 4096
#define AMG_MAX_BLOCKS 64
/* The coarsest level is factorised by CHOLMOD; hypre stops coarsening here. */
#define AMG_MAX_COARSE 200

/* A level's matrix as the V-cycle reads it: 32-bit columns and
 * single-precision values, 8 bytes an entry instead of 16. The cycle is
 * bound by memory traffic (docs/solve.md), and as a preconditioner it needs
 * no more than single precision (vb_linsolve_amg_pcg's conjugate gradients
 * multiply by the caller's double-precision matrix; vb_linsolve_kept_pcg's,
 * an inner solve, by this copy). Rounding keeps a symmetric matrix
 * symmetric, so the cycle stays a symmetric operator. */
typedef struct amg_mat {
	int64_t n;
	int64_t *rowptr; /* n+1 */
	int32_t *col;	 /* ascending within a row */
	float *val;
} amg_mat;

typedef struct amg_level {
	amg_mat A;	   /* the level's operator (level 0: a copy of the caller's) */
	amg_mat P, R;	   /* interpolation from the next level, and its transpose */
	double *dinv;	   /* 1 / (a_ii + sum of |a_ij| outside row i's block) */
	double *b, *x, *r; /* right-hand side, iterate, residual (b, x unused on level 0) */
	int nblk;	   /* smoother blocks */
} amg_level;

struct vb_linsolve_amg {
	int64_t n, nnz; /* the finest level's size and entries */
	int nlev;
	amg_level *lev;
	cholmod_common cc;
	cholmod_factor *L; /* the coarsest level */
	cholmod_dense *B, *X, *Y, *E;
};

static int amg_blocks(int64_t n)
{
	int nb = 1;
	while (nb < AMG_MAX_BLOCKS && n / (2 * nb) >= AMG_BLOCK_ROWS)
		nb *= 2;
	return nb;
}

static void amg_mat_free(amg_mat *M)
{
	free(M->rowptr), free(M->col), free(M->val);
	M->rowptr = NULL, M->col = NULL, M->val = NULL;
}

static int amg_mat_alloc(amg_mat *M, int64_t n, int64_t nnz)
{
	M->n = n;
	M->rowptr = malloc((size_t)(n + 1) * sizeof *M->rowptr);
	M->col = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof *M->col);
	M->val = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof *M->val);
	return M->rowptr && M->col && M->val ? 0 : -1;
}

/* The l1-scaled inverse diagonal of a level's operator for its blocks. */
static void amg_l1_diagonal(const amg_mat *A, int nblk, double *dinv)
{
#pragma omp parallel for schedule(static)
	for (int k = 0; k < nblk; k++) {
		const int64_t lo = A->n * k / nblk, hi = A->n * (k + 1) / nblk;
		for (int64_t i = lo; i < hi; i++) {
			double d = 0;
			for (int64_t p = A->rowptr[i]; p < A->rowptr[i + 1]; p++) {
				const int64_t j = A->col[p];
				if (j == i)
					d += A->val[p];
				else if (j < lo || j >= hi)
					d += fabs(A->val[p]);
			}
			dinv[i] = d > 0 ? 1.0 / d : 0.0;
		}
	}
}

/* The finest level's copy of A (same size and entries as the hierarchy's)
 * and its l1 diagonal. */
static void amg_take_finest(vb_linsolve_amg *a, const vb_csr *A)
{
	amg_mat *M = &a->lev[0].A;
#pragma omp parallel for schedule(static)
	for (int64_t i = 0; i <= A->n; i++)
		M->rowptr[i] = A->rowptr[i];
#pragma omp parallel for schedule(static)
	for (int64_t p = 0; p < a->nnz; p++) {
		M->col[p] = (int32_t)A->col[p];
		M->val[p] = (float)A->val[p];
	}
	amg_l1_diagonal(M, a->lev[0].nblk, a->lev[0].dinv);
}

/* The l1 Gauss-Seidel sweeps on A x = b, Gauss-Seidel within each block,
 * Jacobi across blocks. Each row's sum is ordered so that the entry of the
 * row just updated comes last: the next row's other terms then need not
 * wait for it (docs/solve.md: the 1 um LIB run 5 % faster). */

/* Forward, from x = 0 (x is set): a row sees only the entries left of its
 * diagonal within its block. */
static void amg_smooth_down(const amg_mat *A, const double *dinv, int nblk, const double *b,
			    double *x)
{
#pragma omp parallel for schedule(static)
	for (int k = 0; k < nblk; k++) {
		const int64_t lo = A->n * k / nblk, hi = A->n * (k + 1) / nblk;
		for (int64_t i = lo; i < hi; i++) {
			double s = b[i];
			for (int64_t p = A->rowptr[i]; p < A->rowptr[i + 1] && A->col[p] < i; p++)
				if (A->col[p] >= lo)
					s -= A->val[p] * x[A->col[p]];
			x[i] = s * dinv[i];
		}
	}
}

/* Backward, from x = xold: the entries up to the diagonal read xold (not
 * yet updated), those right of it the updated x within the block, in
 * reverse order. */
static void amg_smooth_up(const amg_mat *A, const double *dinv, int nblk, const double *b,
			  double *x, const double *xold)
{
#pragma omp parallel for schedule(static)
	for (int k = 0; k < nblk; k++) {
		const int64_t lo = A->n * k / nblk, hi = A->n * (k + 1) / nblk;
		for (int64_t i = hi - 1; i >= lo; i--) {
			double s = b[i];
			int64_t p = A->rowptr[i];
			for (; p < A->rowptr[i + 1] && A->col[p] <= i; p++)
				s -= A->val[p] * xold[A->col[p]];
			for (int64_t q = A->rowptr[i + 1] - 1; q >= p; q--) {
				const int64_t j = A->col[q];
				s -= A->val[q] * (j < hi ? x[j] : xold[j]);
			}
			x[i] = xold[i] + s * dinv[i];
		}
	}
}

/* y = A x, or with r non-NULL y = r - A x. With dot non-NULL (a square A,
 * r NULL) also *dot = x . y, summed as vb_linsolve_dot sums it (the same
 * blocks in the same order: the same bits), in the pass that writes y. */
static void amg_spmv(const amg_mat *A, const double *r, const double *x, double *y, double *dot)
{
	const int64_t n = A->n;
	double part[REDUCE_BLOCKS];
#pragma omp parallel for schedule(static)
	for (int blk = 0; blk < REDUCE_BLOCKS; blk++) {
		const int64_t lo = n * blk / REDUCE_BLOCKS, hi = n * (blk + 1) / REDUCE_BLOCKS;
		double d = 0;
		for (int64_t i = lo; i < hi; i++) {
			double s = 0;
			for (int64_t p = A->rowptr[i]; p < A->rowptr[i + 1]; p++)
				s += A->val[p] * x[A->col[p]];
			y[i] = r != NULL ? r[i] - s : s;
			if (dot != NULL)
				d += x[i] * s;
		}
		part[blk] = d;
	}
	if (dot != NULL)
		*dot = blocks_total(part);
}

/* z = one V-cycle applied to r with the hierarchy's finest copy. */
static void amg_vcycle(vb_linsolve_amg *a, const double *r, double *z)
{
	const int top = a->nlev - 1;
	for (int l = 0; l < top; l++) {
		amg_level *L = &a->lev[l];
		const double *b = l == 0 ? r : L->b;
		double *x = l == 0 ? z : L->x;
		amg_smooth_down(&L->A, L->dinv, L->nblk, b, x);
		amg_spmv(&L->A, b, x, L->r, NULL);
		amg_spmv(&L->R, NULL, L->r, a->lev[l + 1].b, NULL);
	}
	/* the coarsest level: directly */
	amg_level *C = &a->lev[top];
	memcpy(a->B->x, top == 0 ? r : C->b, (size_t)C->A.n * sizeof(double));
	cholmod_l_solve2(CHOLMOD_A, a->L, a->B, NULL, &a->X, NULL, &a->Y, &a->E, &a->cc);
	memcpy(top == 0 ? z : C->x, a->X->x, (size_t)C->A.n * sizeof(double));
	for (int l = top - 1; l >= 0; l--) {
		amg_level *L = &a->lev[l];
		const double *b = l == 0 ? r : L->b;
		double *x = l == 0 ? z : L->x;
		const double *xc = a->lev[l + 1].x;
		const amg_mat *P = &L->P;
#pragma omp parallel for schedule(static)
		for (int64_t i = 0; i < P->n; i++) {
			double s = 0;
			for (int64_t p = P->rowptr[i]; p < P->rowptr[i + 1]; p++)
				s += P->val[p] * xc[P->col[p]];
			x[i] += s;
			L->r[i] = x[i];
		}
		amg_smooth_up(&L->A, L->dinv, L->nblk, b, x, L->r);
	}
}

void vb_linsolve_amg_free(vb_linsolve_amg **amg)
{
	if (amg == NULL || *amg == NULL)
		return;
	vb_linsolve_amg *a = *amg;
	for (int l = 0; l < a->nlev; l++) {
		amg_level *L = &a->lev[l];
		amg_mat_free(&L->A), amg_mat_free(&L->P), amg_mat_free(&L->R);
		free(L->dinv), free(L->b), free(L->x), free(L->r);
	}
	free(a->lev);
	if (a->L != NULL) {
		cholmod_l_free_factor(&a->L, &a->cc);
		cholmod_l_free_dense(&a->B, &a->cc);
		cholmod_l_free_dense(&a->X, &a->cc);
		cholmod_l_free_dense(&a->Y, &a->cc);
		cholmod_l_free_dense(&a->E, &a->cc);
		cholmod_l_finish(&a->cc);
	}
	free(a);
	*amg = NULL;
}

/* A single-precision copy of hypre's sequential CSR matrix m (one process:
 * all of it), each row in ascending columns. */
static int amg_from_hypre(hypre_CSRMatrix *m, amg_mat *out)
{
	const int64_t n = hypre_CSRMatrixNumRows(m);
	const HYPRE_Int *ip = hypre_CSRMatrixI(m), *jp = hypre_CSRMatrixJ(m);
	const HYPRE_Complex *v = hypre_CSRMatrixData(m);
	const int64_t nnz = ip[n];
	if (amg_mat_alloc(out, n, nnz) != 0)
		return -1;
	for (int64_t i = 0; i <= n; i++)
		out->rowptr[i] = ip[i];
	for (int64_t p = 0; p < nnz; p++)
		out->col[p] = (int32_t)jp[p], out->val[p] = (float)v[p];
	/* hypre keeps the diagonal first; the smoothers want each row in
	 * ascending columns (insertion sort: rows are short) */
	for (int64_t i = 0; i < n; i++)
		for (int64_t p = out->rowptr[i] + 1; p < out->rowptr[i + 1]; p++) {
			const int32_t c = out->col[p];
			const float w = out->val[p];
			int64_t q = p;
			for (; q > out->rowptr[i] && out->col[q - 1] > c; q--)
				out->col[q] = out->col[q - 1], out->val[q] = out->val[q - 1];
			out->col[q] = c, out->val[q] = w;
		}
	return 0;
}

/* R = P^T for P with ncol columns. */
static int amg_transpose(const amg_mat *P, int64_t ncol, amg_mat *R)
{
	const int64_t nnz = P->rowptr[P->n];
	int64_t *fill = malloc((size_t)(ncol > 0 ? ncol : 1) * sizeof *fill);
	if (amg_mat_alloc(R, ncol, nnz) != 0 || fill == NULL) {
		free(fill);
		return -1;
	}
	memset(R->rowptr, 0, (size_t)(ncol + 1) * sizeof *R->rowptr);
	for (int64_t p = 0; p < nnz; p++)
		/* P->col holds nnz columns (amg_from_hypre), which the analyzer
		 * cannot follow through the copy */
		// NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
		R->rowptr[P->col[p] + 1]++;
	for (int64_t c = 0; c < ncol; c++)
		R->rowptr[c + 1] += R->rowptr[c];
	memcpy(fill, R->rowptr, (size_t)ncol * sizeof *fill);
	for (int64_t i = 0; i < P->n; i++) /* ascending rows: columns of R sorted */
		for (int64_t p = P->rowptr[i]; p < P->rowptr[i + 1]; p++) {
			const int64_t q = fill[P->col[p]]++;
			R->col[q] = (int32_t)i, R->val[q] = P->val[p];
		}
	free(fill);
	return 0;
}

/* A copy of hypre's sequential CSR matrix m (one process: all of it). */
static int csr_from_hypre(hypre_CSRMatrix *m, vb_csr *out)
{
	const int64_t n = hypre_CSRMatrixNumRows(m);
	const HYPRE_Int *ip = hypre_CSRMatrixI(m), *jp = hypre_CSRMatrixJ(m);
	const int64_t nnz = ip[n];
	out->n = n;
	out->rowptr = malloc((size_t)(n + 1) * sizeof *out->rowptr);
	out->col = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof *out->col);
	out->val = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof *out->val);
	if (!out->rowptr || !out->col || !out->val)
		return -1;
	for (int64_t i = 0; i <= n; i++)
		out->rowptr[i] = ip[i];
	for (int64_t p = 0; p < nnz; p++)
		out->col[p] = jp[p];
	memcpy(out->val, hypre_CSRMatrixData(m), (size_t)nnz * sizeof *out->val);
	return 0;
}

/* The levels of a hypre hierarchy built on A, copied (single precision);
 * the coarsest factorised. */
static int amg_take_levels(vb_linsolve_amg *a, const vb_csr *A, HYPRE_Solver solver, vb_err *e)
{
	hypre_ParAMGData *d = (hypre_ParAMGData *)solver;
	const int nlev = hypre_ParAMGDataNumLevels(d);
	hypre_ParCSRMatrix **As = hypre_ParAMGDataAArray(d), **Ps = hypre_ParAMGDataPArray(d);
	a->lev = calloc((size_t)nlev, sizeof *a->lev);
	if (a->lev == NULL)
		return vb_err_set(e, VB_ERR_RUN, "AMG: out of memory");
	a->nlev = nlev;
	for (int l = 0; l < nlev; l++) {
		amg_level *L = &a->lev[l];
		if (hypre_CSRMatrixNumNonzeros(hypre_ParCSRMatrixOffd(As[l])) != 0)
			return vb_err_set(e, VB_ERR_RUN, "AMG: level %d is not local", l);
		int bad = 0;
		if (l == 0)
			bad |= amg_mat_alloc(&L->A, A->n, a->nnz);
		else
			bad |= amg_from_hypre(hypre_ParCSRMatrixDiag(As[l]), &L->A);
		const int64_t n = L->A.n;
		if (l + 1 < nlev) {
			bad |= amg_from_hypre(hypre_ParCSRMatrixDiag(Ps[l]), &L->P);
			if (!bad)
				bad |= amg_transpose(
					&L->P, hypre_CSRMatrixNumRows(hypre_ParCSRMatrixDiag(As[l + 1])),
					&L->R);
		}
		L->nblk = amg_blocks(n);
		L->dinv = malloc((size_t)n * sizeof *L->dinv);
		L->r = malloc((size_t)n * sizeof *L->r);
		if (l > 0) {
			L->b = malloc((size_t)n * sizeof *L->b);
			L->x = malloc((size_t)n * sizeof *L->x);
		}
		if (bad || !L->dinv || !L->r || (l > 0 && (!L->b || !L->x)))
			return vb_err_set(e, VB_ERR_RUN, "AMG: out of memory for level %d", l);
		if (l == 0)
			amg_take_finest(a, A);
		else
			amg_l1_diagonal(&L->A, L->nblk, L->dinv);
	}
	/* CHOLMOD on the coarsest level in double precision (hypre's, or A
	 * itself when it is the only level); CSR of a symmetric matrix is its
	 * CSC. */
	vb_csr Cd = {0};
	const vb_csr *C = A;
	if (nlev > 1) {
		if (csr_from_hypre(hypre_ParCSRMatrixDiag(As[nlev - 1]), &Cd) != 0) {
			vb_linsolve_csr_free(&Cd);
			return vb_err_set(e, VB_ERR_RUN, "AMG: out of memory for the coarsest level");
		}
		C = &Cd;
	}
	cholmod_l_start(&a->cc);
	a->cc.print = 0;
	a->cc.error_handler = NULL;
	const int64_t nc = C->n, nnz = C->rowptr[nc];
	cholmod_sparse *S = cholmod_l_allocate_sparse((size_t)nc, (size_t)nc, (size_t)nnz, 0, 1, 1,
						      CHOLMOD_REAL, &a->cc);
	a->B = cholmod_l_zeros((size_t)nc, 1, CHOLMOD_REAL, &a->cc);
	if (S != NULL && a->B != NULL) {
		memcpy(S->p, C->rowptr, (size_t)(nc + 1) * sizeof(int64_t));
		memcpy(S->i, C->col, (size_t)nnz * sizeof(int64_t));
		memcpy(S->x, C->val, (size_t)nnz * sizeof(double));
		a->L = cholmod_l_analyze(S, &a->cc);
		if (a->L != NULL)
			cholmod_l_factorize(S, a->L, &a->cc);
	}
	cholmod_l_free_sparse(&S, &a->cc);
	vb_linsolve_csr_free(&Cd);
	if (a->L == NULL || a->B == NULL || a->cc.status != CHOLMOD_OK) {
		if (a->L == NULL) /* free() below must still finish the common */
			a->L = cholmod_l_allocate_factor(0, &a->cc);
		return vb_err_set(e, VB_ERR_RUN,
				  "AMG: the coarsest level (%lld unknowns) could not be factorised "
				  "(CHOLMOD status %d)",
				  (long long)nc, a->cc.status);
	}
	return VB_OK;
}

vb_linsolve_amg *vb_linsolve_amg_new(const vb_csr *A, vb_err *e)
{
	if (A->n < 1 || A->n > 2147483647) {
		vb_err_set(e, VB_ERR_RUN, "AMG: %lld unknowns, expected 1 to 2^31-1",
			   (long long)A->n);
		return NULL;
	}
	for (int64_t i = 0; i < A->n; i++) /* the smoothers rely on it */
		for (int64_t p = A->rowptr[i] + 1; p < A->rowptr[i + 1]; p++)
			if (A->col[p] <= A->col[p - 1]) {
				vb_err_set(e, VB_ERR_RUN, "AMG: row %lld's columns are not ascending",
					   (long long)i);
				return NULL;
			}
	vb_linsolve_amg *a = calloc(1, sizeof *a);
	if (a == NULL) {
		vb_err_set(e, VB_ERR_RUN, "AMG: out of memory");
		return NULL;
	}
	a->n = A->n, a->nnz = A->rowptr[A->n];
	MPI_Comm comm;
	const int mpi = ensure_mpi(&comm);
	if (mpi != 0) {
		free(a);
		vb_err_set(e, VB_ERR_RUN,
			   mpi == -2 ? "AMG: this MPI has no thread support; solve one system at a "
				       "time"
				     : "AMG: MPI could not be initialised for hypre");
		return NULL;
	}
	HYPRE_IJMatrix ij = NULL;
	HYPRE_IJVector vb = NULL, vx = NULL;
	HYPRE_ParCSRMatrix pA;
	HYPRE_ParVector pb, px;
	HYPRE_Solver solver = NULL;
	int rc = hypre_system(A, comm, &ij, &vb, &vx, e);
	if (rc == VB_OK) {
		HYPRE_IJMatrixGetObject(ij, (void **)&pA);
		HYPRE_IJVectorGetObject(vb, (void **)&pb);
		HYPRE_IJVectorGetObject(vx, (void **)&px);
		solver = hypre_amg_create();
		HYPRE_BoomerAMGSetMaxCoarseSize(solver, AMG_MAX_COARSE);
		if (HYPRE_BoomerAMGSetup(solver, pA, pb, px) != 0) {
			HYPRE_ClearAllErrors();
			rc = vb_err_set(e, VB_ERR_RUN, "AMG: setup of the hierarchy failed");
		} else {
			rc = amg_take_levels(a, A, solver, e);
		}
	}
	if (solver != NULL)
		HYPRE_BoomerAMGDestroy(solver);
	hypre_system_free(&ij, &vb, &vx);
#pragma omp critical(vb_linsolve_mpi)
	MPI_Comm_free(&comm);
	if (rc != VB_OK)
		vb_linsolve_amg_free(&a);
	return a;
}

int vb_linsolve_amg_levels(const vb_linsolve_amg *amg)
{
	return amg->nlev;
}

int vb_linsolve_amg_refresh(vb_linsolve_amg *amg, const vb_csr *A, vb_err *e)
{
	if (A->n != amg->n || A->rowptr[A->n] != amg->nnz)
		return vb_err_set(e, VB_ERR_RUN,
				  "AMG: matrix has %lld rows and %lld entries, hierarchy %lld and %lld",
				  (long long)A->n, (long long)A->rowptr[A->n], (long long)amg->n,
				  (long long)amg->nnz);
	amg_take_finest(amg, A);
	return VB_OK;
}

int vb_linsolve_amg_apply(vb_linsolve_amg *amg, const vb_csr *A, const double *r, double *z,
			  vb_err *e)
{
	int rc = vb_linsolve_amg_refresh(amg, A, e);
	if (rc == VB_OK)
		amg_vcycle(amg, r, z);
	return rc;
}

static void amg_precond(void *ctx, const double *r, double *z)
{
	amg_vcycle(ctx, r, z);
}

/* y = A x with the hierarchy's finest level, the single-precision copy,
 * and x . y (matvec_fn). */
static double amg_finest_matvec(const void *ctx, const double *x, double *y)
{
	double d;
	amg_spmv(&((const vb_linsolve_amg *)ctx)->lev[0].A, NULL, x, y, &d);
	return d;
}

/* VB_ERR_RUN when A has another number of rows than the hierarchy. */
static int amg_rows_check(const vb_linsolve_amg *amg, const vb_csr *A, vb_err *e)
{
	if (A->n == amg->n)
		return VB_OK;
	return vb_err_set(e, VB_ERR_RUN, "AMG: matrix has %lld rows, hierarchy %lld",
			  (long long)A->n, (long long)amg->n);
}

static int amg_pcg(vb_linsolve_amg *amg, const vb_csr *A, const double *b, double *x, double rtol,
		   int64_t max_iter, vb_linsolve_progress progress, void *progress_ctx,
		   vb_linsolve_stats *st, vb_err *e)
{
	if (amg_rows_check(amg, A, e) != VB_OK)
		return VB_ERR_RUN;
	if (st != NULL)
		st->used = VB_LINSOLVE_AMG;
	return pcg(A->n, csr_matvec, A, b, x, rtol, max_iter, amg_precond, amg, "AMG-PCG",
		   progress, progress_ctx, st, e, NULL);
}

int vb_linsolve_amg_pcg(vb_linsolve_amg *amg, const vb_csr *A, const double *b, double *x,
			double rtol, int64_t max_iter, vb_linsolve_stats *st, vb_err *e)
{
	return amg_pcg(amg, A, b, x, rtol, max_iter, NULL, NULL, st, e);
}

void vb_linsolve_kept_check(vb_linsolve_kept *k, int64_t rebuild)
{
	if (k->amg != NULL && k->its_max > rebuild && k->its_max > k->its_base + 2)
		vb_linsolve_amg_free(&k->amg);
}

int vb_linsolve_kept_pcg(vb_linsolve_kept *k, const vb_csr *A, const double *b, double *x,
			 double rtol, int64_t max_iter, vb_linsolve_stats *stats, vb_err *e)
{
	if (k->amg == NULL) {
		if ((k->amg = vb_linsolve_amg_new(A, e)) == NULL)
			return e->status;
		k->its_base = -1, k->its_max = 0, k->changed = 0;
		k->setups++;
	}
	if (k->changed) {
		int rc = vb_linsolve_amg_refresh(k->amg, A, e);
		if (rc != VB_OK)
			return rc;
		k->changed = 0;
	}
	/* a preconditioner's inner solve (rtol 0.3 in vb_echem): the products
	 * too use the finest level's single-precision copy, half the memory
	 * traffic of A's (docs/solve.md) */
	if (amg_rows_check(k->amg, A, e) != VB_OK)
		return VB_ERR_RUN;
	vb_linsolve_stats st = {.used = VB_LINSOLVE_AMG};
	int rc = pcg(A->n, amg_finest_matvec, k->amg, b, x, rtol, max_iter, amg_precond, k->amg,
		     "AMG-PCG", NULL, NULL, &st, e, &k->work);
	if (rc != VB_OK) {
		/* where A is nearly singular the copy's rounding can make it
		 * indefinite or stall the iteration: the products in double
		 * precision then go on from where it stopped */
		vb_linsolve_stats sd = {0};
		rc = pcg(A->n, csr_matvec, A, b, x, rtol, max_iter, amg_precond, k->amg, "AMG-PCG",
			 NULL, NULL, &sd, e, &k->work);
		st.iterations += sd.iterations, st.residual = sd.residual;
		k->fallbacks++;
	}
	if (k->its_base < 0)
		k->its_base = st.iterations;
	if (st.iterations > k->its_max)
		k->its_max = st.iterations;
	if (stats != NULL)
		*stats = st;
	return rc;
}

void vb_linsolve_kept_free(vb_linsolve_kept *k)
{
	vb_linsolve_amg_free(&k->amg);
	vb_linsolve_work_free(&k->work);
}

/* ---- Flexible GMRES (Saad 1993), modified Gram-Schmidt, Givens rotations ---- */

int vb_linsolve_fgmres(int64_t n, vb_linsolve_op A, void *A_ctx, vb_linsolve_op precond,
		       void *precond_ctx, const double *b, double *x, double rtol, int restart,
		       int64_t max_iter, vb_linsolve_stats *st, vb_err *e, vb_linsolve_work *work)
{
	const int m = restart < 1 ? 1 : restart;
	vb_linsolve_work own = {0};
	vb_linsolve_work *ws = work != NULL ? work : &own;
	work_reserve(ws, (size_t)(2 * m + 1) * (size_t)n); /* V NULL: checked below */
	double *V = ws->buf, *Z = V != NULL ? V + (size_t)(m + 1) * (size_t)n : NULL;
	double *H = calloc((size_t)(m + 1) * (size_t)m, sizeof *H);
	double *cs = malloc((size_t)m * sizeof *cs), *sn = malloc((size_t)m * sizeof *sn);
	double *g = malloc((size_t)(m + 1) * sizeof *g), *y = malloc((size_t)m * sizeof *y);
	int rc = VB_OK;
	int64_t it = 0;
	double rel = 0;
	if (!V || !Z || !H || !cs || !sn || !g || !y) {
		rc = vb_err_set(e, VB_ERR_RUN, "out of memory for GMRES on %lld unknowns",
				(long long)n);
		goto done;
	}
	const double bnorm = sqrt(vb_linsolve_dot(b, b, n));
	if (bnorm == 0) {
		memset(x, 0, (size_t)n * sizeof *x);
		goto done;
	}
	if (st != NULL)
		st->residual = 1;
	int64_t nonzero = 0; /* a zero start needs no product for r = b */
	while (nonzero < n && x[nonzero] == 0)
		nonzero++;
	for (int first = 1;; first = 0) {
		/* r = b - A x into V[0] */
		double *v0 = V;
		if (first && nonzero == n) {
			memcpy(v0, b, (size_t)n * sizeof *v0);
		} else {
			if ((rc = A(A_ctx, x, v0, e)) != VB_OK)
				goto done;
#pragma omp parallel for schedule(static)
			for (int64_t i = 0; i < n; i++)
				v0[i] = b[i] - v0[i];
		}
		double beta = sqrt(vb_linsolve_dot(v0, v0, n));
		rel = beta / bnorm;
		if (st != NULL)
			st->residual = rel;
		if (rel <= rtol || it >= max_iter)
			break;
#pragma omp parallel for schedule(static)
		for (int64_t i = 0; i < n; i++)
			v0[i] /= beta;
		memset(g, 0, (size_t)(m + 1) * sizeof *g);
		g[0] = beta;
		int k = 0;
		while (k < m && it < max_iter) {
			double *zk = Z + (size_t)k * (size_t)n,
			       *w = V + (size_t)(k + 1) * (size_t)n;
			if ((rc = precond(precond_ctx, V + (size_t)k * (size_t)n, zk, e)) != VB_OK)
				goto done;
			if ((rc = A(A_ctx, zk, w, e)) != VB_OK)
				goto done;
			for (int j = 0; j <= k; j++) {
				const double *vj = V + (size_t)j * (size_t)n;
				double h = vb_linsolve_dot(w, vj, n);
				H[(size_t)j * (size_t)m + (size_t)k] = h;
#pragma omp parallel for schedule(static)
				for (int64_t i = 0; i < n; i++)
					w[i] -= h * vj[i];
			}
			double hn = sqrt(vb_linsolve_dot(w, w, n));
			H[(size_t)(k + 1) * (size_t)m + (size_t)k] = hn;
			if (hn > 0) {
#pragma omp parallel for schedule(static)
				for (int64_t i = 0; i < n; i++)
					w[i] /= hn;
			}
			for (int j = 0; j < k; j++) {
				double *h0 = &H[(size_t)j * (size_t)m + (size_t)k];
				double *h1 = &H[(size_t)(j + 1) * (size_t)m + (size_t)k];
				double t = cs[j] * *h0 + sn[j] * *h1;
				*h1 = -sn[j] * *h0 + cs[j] * *h1;
				*h0 = t;
			}
			double *hk = &H[(size_t)k * (size_t)m + (size_t)k];
			double d = hypot(*hk, hn);
			cs[k] = d > 0 ? *hk / d : 1.0;
			sn[k] = d > 0 ? hn / d : 0.0;
			*hk = d;
			H[(size_t)(k + 1) * (size_t)m + (size_t)k] = 0;
			g[k + 1] = -sn[k] * g[k];
			g[k] = cs[k] * g[k];
			k++;
			it++;
			rel = fabs(g[k]) / bnorm;
			if (st != NULL)
				st->residual = rel;
			if (!isfinite(rel)) {
				rc = vb_err_set(
					e, VB_ERR_RUN,
					"GMRES: the residual is not finite after %lld iterations",
					(long long)it);
				goto done;
			}
			if (rel <= rtol || hn == 0)
				break;
		}
		/* x += Z y with H y = g (upper triangular, k x k) */
		for (int j = k - 1; j >= 0; j--) {
			double s = g[j];
			for (int l = j + 1; l < k; l++)
				s -= H[(size_t)j * (size_t)m + (size_t)l] * y[l];
			double hjj = H[(size_t)j * (size_t)m + (size_t)j];
			y[j] = hjj != 0 ? s / hjj : 0;
		}
		for (int j = 0; j < k; j++) {
			const double *zj = Z + (size_t)j * (size_t)n;
			const double yj = y[j];
#pragma omp parallel for schedule(static)
			for (int64_t i = 0; i < n; i++)
				x[i] += yj * zj[i];
		}
		if (rel <= rtol) {
			/* Loop once more to measure the true residual. */
			if ((rc = A(A_ctx, x, V, e)) != VB_OK)
				goto done;
			double r2 = 0;
			{
#pragma omp parallel for schedule(static)
				for (int64_t i = 0; i < n; i++)
					V[i] = b[i] - V[i];
				r2 = sqrt(vb_linsolve_dot(V, V, n));
			}
			rel = r2 / bnorm;
			if (rel <= rtol * 10 || it >= max_iter)
				break;
		}
	}
	if (!(rel <= rtol * 10)) /* NaN fails too */
		rc = vb_err_set(
			e, VB_ERR_RUN,
			"GMRES: relative residual %.3g after %lld iterations, expected <= %.3g",
			rel, (long long)it, rtol);
done:
	if (st != NULL) {
		st->used = VB_LINSOLVE_AUTO;
		st->iterations = it;
		st->residual = rel;
	}
	vb_linsolve_work_free(&own);
	free(H), free(cs), free(sn), free(g), free(y);
	return rc;
}

void vb_linsolve_work_free(vb_linsolve_work *w)
{
	free(w->buf);
	w->buf = NULL, w->size = 0;
}
