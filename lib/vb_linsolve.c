/* vb_linsolve: SPD sparse solves with CHOLMOD or deterministic OpenMP PCG. */
#include "vb_linsolve.h"

#include <HYPRE.h>
#include <HYPRE_IJ_mv.h>
#include <HYPRE_parcsr_ls.h>
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
	vb_linsolve_opts o = {VB_LINSOLVE_AUTO, 1e-8, 20000, 40000};
	return o;
}

const char *vb_linsolve_method_name(vb_linsolve_method m)
{
	switch (m) {
	case VB_LINSOLVE_AUTO: return "auto";
	case VB_LINSOLVE_CHOLMOD: return "cholmod";
	case VB_LINSOLVE_PCG: return "pcg";
	case VB_LINSOLVE_AMG: return "amg";
	}
	return "?";
}

int vb_linsolve_method_parse(const char *name)
{
	for (int m = VB_LINSOLVE_AUTO; m <= VB_LINSOLVE_AMG; m++)
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

/* Preconditioned conjugate gradients on A x = b (x: starting guess), the
 * one CG loop of this file. name prefixes the failure messages. */
static int pcg(const vb_csr *A, const double *b, double *x, double rtol, int64_t max_iter,
	       precond_fn precond, void *ctx, const char *name, vb_linsolve_stats *st, vb_err *e)
{
	const int64_t n = A->n;
	double *r = malloc((size_t)n * sizeof *r), *z = malloc((size_t)n * sizeof *z);
	double *p = malloc((size_t)n * sizeof *p), *q = malloc((size_t)n * sizeof *q);
	int rc = VB_OK;
	double rel = 0;
	int64_t it = 0;
	if (!r || !z || !p || !q) {
		rc = vb_err_set(e, VB_ERR_RUN, "out of memory for %s on %lld unknowns", name,
				(long long)n);
		goto done;
	}
	const double bnorm = sqrt(vb_linsolve_dot(b, b, n));
	if (bnorm == 0) {
		memset(x, 0, (size_t)n * sizeof *x);
		goto done;
	}
	vb_linsolve_spmv(A, x, q);
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
		vb_linsolve_spmv(A, p, q);
		const double pq = vb_linsolve_dot(p, q, n);
		if (!(pq > 0)) {
			rc = vb_err_set(
				e, VB_ERR_RUN,
				"%s: matrix is not positive definite (p'Ap = %g at iteration "
				"%lld)",
				name, pq, (long long)it);
			break;
		}
		const double alpha = rz / pq;
#pragma omp parallel for schedule(static)
		for (int64_t i = 0; i < n; i++) {
			x[i] += alpha * p[i];
			r[i] -= alpha * q[i];
		}
		it++;
		rel = sqrt(vb_linsolve_dot(r, r, n)) / bnorm;
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
	free(r), free(z), free(p), free(q);
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
		rc = pcg(A, b, x, o->rtol, o->max_iter, jacobi, &D, "PCG", st, e);
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

/* Two solves may run at once on different threads (metrics solves the ionic
 * and electronic networks side by side): MPI is asked for full thread
 * support, and each solve gets its own communicator, duplicated under a lock. */
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

static int solve_amg(const vb_csr *A, const double *b, double *x, const vb_linsolve_opts *o,
		     vb_linsolve_stats *st, vb_err *e)
{
	if (A->n > 2147483647)
		return vb_err_set(e, VB_ERR_RUN, "AMG: %lld unknowns exceed hypre's 32-bit indices",
				  (long long)A->n);
	MPI_Comm comm;
	int mpi = ensure_mpi(&comm);
	if (mpi == -2)
		return vb_err_set(e, VB_ERR_RUN,
				  "AMG: this MPI has no thread support; solve "
				  "one system at a time");
	if (mpi != 0)
		return vb_err_set(e, VB_ERR_RUN, "AMG: MPI could not be initialised for hypre");
	const HYPRE_Int n = (HYPRE_Int)A->n;
	HYPRE_IJMatrix ij;
	HYPRE_IJMatrixCreate(comm, 0, n - 1, 0, n - 1, &ij);
	HYPRE_IJMatrixSetObjectType(ij, HYPRE_PARCSR);
	HYPRE_Int *sizes = malloc((size_t)n * sizeof *sizes),
		  *rows = malloc((size_t)n * sizeof *rows);
	HYPRE_Int *cols = malloc((size_t)A->rowptr[n] * sizeof *cols);
	if (sizes == NULL || rows == NULL || cols == NULL) {
		free(sizes), free(rows), free(cols);
		HYPRE_IJMatrixDestroy(ij);
#pragma omp critical(vb_linsolve_mpi)
		MPI_Comm_free(&comm);
		return vb_err_set(e, VB_ERR_RUN, "AMG: out of memory");
	}
	for (HYPRE_Int r = 0; r < n; r++) {
		rows[r] = r;
		sizes[r] = (HYPRE_Int)(A->rowptr[r + 1] - A->rowptr[r]);
	}
	for (int64_t p = 0; p < A->rowptr[n]; p++)
		cols[p] = (HYPRE_Int)A->col[p];
	HYPRE_IJMatrixSetRowSizes(ij, sizes);
	HYPRE_IJMatrixInitialize(ij);
	HYPRE_IJMatrixSetValues(ij, n, sizes, rows, cols, A->val);
	HYPRE_IJMatrixAssemble(ij);
	free(sizes), free(cols);
	HYPRE_IJVector vb, vx;
	HYPRE_IJVectorCreate(comm, 0, n - 1, &vb);
	HYPRE_IJVectorCreate(comm, 0, n - 1, &vx);
	HYPRE_IJVectorSetObjectType(vb, HYPRE_PARCSR);
	HYPRE_IJVectorSetObjectType(vx, HYPRE_PARCSR);
	HYPRE_IJVectorInitialize(vb);
	HYPRE_IJVectorInitialize(vx);
	HYPRE_IJVectorSetValues(vb, n, rows, b);
	HYPRE_IJVectorSetValues(vx, n, rows, x);
	HYPRE_IJVectorAssemble(vb);
	HYPRE_IJVectorAssemble(vx);
	HYPRE_ParCSRMatrix pA;
	HYPRE_ParVector pb, px;
	HYPRE_IJMatrixGetObject(ij, (void **)&pA);
	HYPRE_IJVectorGetObject(vb, (void **)&pb);
	HYPRE_IJVectorGetObject(vx, (void **)&px);
	HYPRE_Solver pcg, amg;
	HYPRE_ParCSRPCGCreate(comm, &pcg);
	HYPRE_PCGSetTol(pcg, o->rtol);
	HYPRE_PCGSetMaxIter(pcg, (HYPRE_Int)(o->max_iter < 1000000 ? o->max_iter : 1000000));
	HYPRE_PCGSetTwoNorm(pcg, 1);
	HYPRE_BoomerAMGCreate(&amg);
	HYPRE_BoomerAMGSetCoarsenType(amg, 8); /* PMIS */
	HYPRE_BoomerAMGSetInterpType(amg, 17); /* extended+e, matrix-matrix form */
	HYPRE_BoomerAMGSetPMaxElmts(amg, 4);
	HYPRE_BoomerAMGSetAggNumLevels(amg, 1);
	HYPRE_BoomerAMGSetStrongThreshold(amg, 0.5); /* 3D */
	HYPRE_BoomerAMGSetRelaxType(amg, 6);	     /* symmetric Gauss-Seidel */
	HYPRE_BoomerAMGSetMaxIter(amg, 1);
	HYPRE_BoomerAMGSetTol(amg, 0.0);
	HYPRE_PCGSetPrecond(pcg, (HYPRE_PtrToSolverFcn)HYPRE_BoomerAMGSolve,
			    (HYPRE_PtrToSolverFcn)HYPRE_BoomerAMGSetup, amg);
	HYPRE_ParCSRPCGSetup(pcg, pA, pb, px);
	HYPRE_ParCSRPCGSolve(pcg, pA, pb, px);
	HYPRE_Int its = 0;
	HYPRE_Real rel = 0;
	HYPRE_PCGGetNumIterations(pcg, &its);
	HYPRE_PCGGetFinalRelativeResidualNorm(pcg, &rel);
	HYPRE_IJVectorGetValues(vx, n, rows, x);
	HYPRE_BoomerAMGDestroy(amg);
	HYPRE_ParCSRPCGDestroy(pcg);
	HYPRE_IJVectorDestroy(vb);
	HYPRE_IJVectorDestroy(vx);
	HYPRE_IJMatrixDestroy(ij);
	free(rows);
#pragma omp critical(vb_linsolve_mpi)
	MPI_Comm_free(&comm);
	if (st != NULL) {
		st->used = VB_LINSOLVE_AMG;
		st->iterations = its;
		st->residual = rel;
	}
	if (!(rel <= o->rtol))
		return vb_err_set(
			e, VB_ERR_RUN,
			"AMG: relative residual %.3g after %d iterations, expected <= %.3g", rel,
			(int)its, o->rtol);
	return VB_OK;
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
	return solve_pcg(A, b, x, &o, stats, e);
}

/* ---- AMG hierarchy kept across solves ---- */

struct vb_linsolve_amg {
	MPI_Comm comm;
	HYPRE_Int n;
	HYPRE_Int *rows; /* 0..n-1, for the IJ vector calls */
	HYPRE_IJMatrix ij;
	HYPRE_IJVector vb, vx;
	HYPRE_ParCSRMatrix pA;
	HYPRE_ParVector pb, px;
	HYPRE_Solver amg;
};

void vb_linsolve_amg_free(vb_linsolve_amg **amg)
{
	if (amg == NULL || *amg == NULL)
		return;
	vb_linsolve_amg *a = *amg;
	if (a->amg)
		HYPRE_BoomerAMGDestroy(a->amg);
	if (a->vb)
		HYPRE_IJVectorDestroy(a->vb);
	if (a->vx)
		HYPRE_IJVectorDestroy(a->vx);
	if (a->ij)
		HYPRE_IJMatrixDestroy(a->ij);
	free(a->rows);
#pragma omp critical(vb_linsolve_mpi)
	MPI_Comm_free(&a->comm);
	free(a);
	*amg = NULL;
}

vb_linsolve_amg *vb_linsolve_amg_new(const vb_csr *A, vb_err *e)
{
	if (A->n < 1 || A->n > 2147483647) {
		vb_err_set(e, VB_ERR_RUN, "AMG: %lld unknowns, expected 1 to 2^31-1",
			   (long long)A->n);
		return NULL;
	}
	vb_linsolve_amg *a = calloc(1, sizeof *a);
	if (a == NULL) {
		vb_err_set(e, VB_ERR_RUN, "AMG: out of memory");
		return NULL;
	}
	if (ensure_mpi(&a->comm) != 0) {
		free(a);
		vb_err_set(e, VB_ERR_RUN, "AMG: MPI could not be initialised for hypre");
		return NULL;
	}
	const HYPRE_Int n = a->n = (HYPRE_Int)A->n;
	HYPRE_Int *sizes = malloc((size_t)n * sizeof *sizes);
	HYPRE_Int *cols = malloc((size_t)A->rowptr[n] * sizeof *cols);
	a->rows = malloc((size_t)n * sizeof *a->rows);
	double *zero = calloc((size_t)n, sizeof *zero);
	if (sizes == NULL || cols == NULL || a->rows == NULL || zero == NULL) {
		free(sizes), free(cols), free(zero);
		vb_linsolve_amg_free(&a);
		vb_err_set(e, VB_ERR_RUN, "AMG: out of memory");
		return NULL;
	}
	for (HYPRE_Int r = 0; r < n; r++) {
		a->rows[r] = r;
		sizes[r] = (HYPRE_Int)(A->rowptr[r + 1] - A->rowptr[r]);
	}
	for (int64_t p = 0; p < A->rowptr[n]; p++)
		cols[p] = (HYPRE_Int)A->col[p];
	HYPRE_IJMatrixCreate(a->comm, 0, n - 1, 0, n - 1, &a->ij);
	HYPRE_IJMatrixSetObjectType(a->ij, HYPRE_PARCSR);
	HYPRE_IJMatrixSetRowSizes(a->ij, sizes);
	HYPRE_IJMatrixInitialize(a->ij);
	HYPRE_IJMatrixSetValues(a->ij, n, sizes, a->rows, cols, A->val);
	HYPRE_IJMatrixAssemble(a->ij);
	HYPRE_IJMatrixGetObject(a->ij, (void **)&a->pA);
	free(sizes), free(cols);
	HYPRE_IJVector *v[2] = {&a->vb, &a->vx};
	for (int k = 0; k < 2; k++) {
		HYPRE_IJVectorCreate(a->comm, 0, n - 1, v[k]);
		HYPRE_IJVectorSetObjectType(*v[k], HYPRE_PARCSR);
		HYPRE_IJVectorInitialize(*v[k]);
		HYPRE_IJVectorSetValues(*v[k], n, a->rows, zero);
		HYPRE_IJVectorAssemble(*v[k]);
	}
	free(zero);
	HYPRE_IJVectorGetObject(a->vb, (void **)&a->pb);
	HYPRE_IJVectorGetObject(a->vx, (void **)&a->px);
	/* The settings of solve_amg (docs/conductivity.md); one V-cycle a call. */
	HYPRE_BoomerAMGCreate(&a->amg);
	HYPRE_BoomerAMGSetCoarsenType(a->amg, 8);
	HYPRE_BoomerAMGSetInterpType(a->amg, 17);
	HYPRE_BoomerAMGSetPMaxElmts(a->amg, 4);
	HYPRE_BoomerAMGSetAggNumLevels(a->amg, 1);
	HYPRE_BoomerAMGSetStrongThreshold(a->amg, 0.5);
	HYPRE_BoomerAMGSetRelaxType(a->amg, 6);
	HYPRE_BoomerAMGSetMaxIter(a->amg, 1);
	HYPRE_BoomerAMGSetTol(a->amg, 0.0);
	HYPRE_BoomerAMGSetPrintLevel(a->amg, 0);
	if (HYPRE_BoomerAMGSetup(a->amg, a->pA, a->pb, a->px) != 0) {
		HYPRE_ClearAllErrors();
		vb_linsolve_amg_free(&a);
		vb_err_set(e, VB_ERR_RUN, "AMG: setup of the hierarchy failed");
		return NULL;
	}
	return a;
}

/* z = one V-cycle of the hierarchy applied to r. */
static void amg_vcycle(vb_linsolve_amg *a, const double *r, double *z)
{
	HYPRE_IJVectorSetValues(a->vb, a->n, a->rows, r);
	HYPRE_ParVectorSetConstantValues(a->px, 0.0);
	HYPRE_BoomerAMGSolve(a->amg, a->pA, a->pb, a->px);
	HYPRE_IJVectorGetValues(a->vx, a->n, a->rows, z);
}

static void amg_precond(void *ctx, const double *r, double *z)
{
	amg_vcycle(ctx, r, z);
}

int vb_linsolve_amg_pcg(vb_linsolve_amg *amg, const vb_csr *A, const double *b, double *x,
			double rtol, int64_t max_iter, vb_linsolve_stats *st, vb_err *e)
{
	if (A->n != amg->n)
		return vb_err_set(e, VB_ERR_RUN, "AMG: matrix has %lld rows, hierarchy %lld",
				  (long long)A->n, (long long)amg->n);
	if (st != NULL)
		st->used = VB_LINSOLVE_AMG;
	return pcg(A, b, x, rtol, max_iter, amg_precond, amg, "AMG-PCG", st, e);
}

/* ---- Flexible GMRES (Saad 1993), modified Gram-Schmidt, Givens rotations ---- */

int vb_linsolve_fgmres(int64_t n, vb_linsolve_op A, void *A_ctx, vb_linsolve_op precond,
		       void *precond_ctx, const double *b, double *x, double rtol, int restart,
		       int64_t max_iter, vb_linsolve_stats *st, vb_err *e)
{
	const int m = restart < 1 ? 1 : restart;
	double *V = malloc((size_t)(m + 1) * (size_t)n * sizeof *V);
	double *Z = malloc((size_t)m * (size_t)n * sizeof *Z);
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
	for (;;) {
		/* r = b - A x into V[0] */
		double *v0 = V;
		if ((rc = A(A_ctx, x, v0, e)) != VB_OK)
			goto done;
#pragma omp parallel for schedule(static)
		for (int64_t i = 0; i < n; i++)
			v0[i] = b[i] - v0[i];
		double beta = sqrt(vb_linsolve_dot(v0, v0, n));
		rel = beta / bnorm;
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
	free(V), free(Z), free(H), free(cs), free(sn), free(g), free(y);
	return rc;
}
