/* vb_linsolve: the linear-solver layer. One interface for symmetric positive
 * definite sparse systems, with SuiteSparse CHOLMOD (direct, supernodal) for
 * small systems and OpenMP preconditioned conjugate gradients (Jacobi or
 * algebraic multigrid) for large ones (docs/conductivity.md has the
 * measurements behind the choice). Another
 * backend (PETSc, hypre) goes behind the same vb_linsolve_spd call. */
#ifndef VB_LINSOLVE_H
#define VB_LINSOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "vb_err.h"

/* A sparse symmetric matrix in compressed rows, both triangles stored. */
typedef struct vb_csr {
	int64_t n;	 /* rows = columns */
	int64_t *rowptr; /* n+1 offsets into col/val */
	int64_t *col;	 /* column of each entry, ascending within a row */
	double *val;	 /* value of each entry */
} vb_csr;

typedef enum vb_linsolve_method {
	VB_LINSOLVE_AUTO = 0, /* CHOLMOD up to auto_limit unknowns, else AMG */
	VB_LINSOLVE_CHOLMOD,  /* sparse Cholesky factorization */
	VB_LINSOLVE_PCG,      /* conjugate gradients, Jacobi preconditioner */
	VB_LINSOLVE_AMG,      /* conjugate gradients, hypre BoomerAMG preconditioner */
	VB_LINSOLVE_MG,	      /* lattice problems only (vb_conduct, vb_mg): geometric
				 multigrid without a matrix; vb_linsolve_spd refuses it */
} vb_linsolve_method;

/* Called after every PCG / AMG-PCG iteration with the relative residual
 * reached and the one asked for (for a caller's progress report). */
typedef void (*vb_linsolve_progress)(void *ctx, int64_t iteration, double residual, double rtol);

typedef struct vb_linsolve_opts {
	vb_linsolve_method method;
	double rtol;	    /* PCG, AMG: stop when ||b - A x|| <= rtol ||b|| (default 1e-8) */
	int64_t max_iter;   /* PCG, AMG: iteration limit (default 20000) */
	int64_t auto_limit; /* AUTO: largest system solved by CHOLMOD (default 40000) */
	vb_linsolve_progress progress; /* PCG, AMG: NULL (default) or a report */
	void *progress_ctx;
} vb_linsolve_opts;

typedef struct vb_linsolve_stats {
	vb_linsolve_method used; /* the method that ran */
	int64_t iterations;	 /* PCG iterations (0 for CHOLMOD) */
	double residual;	 /* final ||b - A x|| / ||b|| */
} vb_linsolve_stats;

/* Defaults as documented on the fields. */
vb_linsolve_opts vb_linsolve_defaults(void);

/* Name of a method ("auto", "cholmod", "pcg", "amg", "mg"), and the reverse (-1 unknown). */
const char *vb_linsolve_method_name(vb_linsolve_method m);
int vb_linsolve_method_parse(const char *name);

/* Solves A x = b for SPD A. x is the caller's array of n values (its content
 * is the PCG starting guess). Results do not depend on the thread count:
 * every reduction runs over fixed blocks in a fixed order.
 * VB_ERR_RUN if CHOLMOD finds A not positive definite or PCG does not reach
 * rtol within max_iter. stats may be NULL. */
int vb_linsolve_spd(const vb_csr *A, const double *b, double *x, const vb_linsolve_opts *opts,
		    vb_linsolve_stats *stats, vb_err *e);

/* Frees the arrays of A (not A itself) and zeroes it; NULL is a no-op. */
void vb_linsolve_csr_free(vb_csr *A);

/* ---- Setup once, solve many: for Newton iterations whose matrices change a
 * little from one iteration to the next (tools/solve). ---- */

/* An algebraic multigrid hierarchy of one SPD matrix: hypre BoomerAMG
 * builds it (serially), voxbat copies its levels and applies the V-cycle
 * itself with OpenMP (l1 Gauss-Seidel over fixed row blocks, forward down
 * and backward up, the coarsest level factorised by CHOLMOD). The levels,
 * the finest included, are kept in single precision with 32-bit columns:
 * the cycle is bound by memory traffic, and as a preconditioner it needs no
 * more (docs/solve.md). It serves as the preconditioner of conjugate
 * gradients on that matrix or on later ones of the same size and sparsity
 * (docs/solve.md measures when to rebuild). Opaque. */
typedef struct vb_linsolve_amg vb_linsolve_amg;

/* Builds the hierarchy of A (the caller keeps A; the finest level is a
 * copy of it). Returns NULL and sets e on failure. Caller frees with
 * vb_linsolve_amg_free. */
vb_linsolve_amg *vb_linsolve_amg_new(const vb_csr *A, vb_err *e);

/* The finest level becomes a copy of A, whose values changed since the
 * hierarchy was built or last refreshed (same size and sparsity: else
 * VB_ERR_RUN). Without it the cycle smooths the old values: still a valid
 * preconditioner, a weaker one. */
int vb_linsolve_amg_refresh(vb_linsolve_amg *amg, const vb_csr *A, vb_err *e);

/* Frees *amg and sets it to NULL; NULL is a no-op. */
void vb_linsolve_amg_free(vb_linsolve_amg **amg);

/* Number of levels, the finest included (1: A was factorised whole). */
int vb_linsolve_amg_levels(const vb_linsolve_amg *amg);

/* z = M r, one V-cycle after refreshing the finest level from A
 * (vb_linsolve_amg_refresh, whose errors it returns). M is symmetric
 * positive definite for SPD A. r and z have A->n values. Deterministic. */
int vb_linsolve_amg_apply(vb_linsolve_amg *amg, const vb_csr *A, const double *r, double *z,
			  vb_err *e);

/* Conjugate gradients on A x = b (A SPD, the hierarchy's size), one
 * V-cycle per iteration on the hierarchy as built or last refreshed; the
 * products with A are in double precision. x holds the starting guess.
 * Stops when ||b - A x|| <= rtol ||b|| or after max_iter iterations
 * (VB_ERR_RUN then, x holding the last iterate). Deterministic. */
int vb_linsolve_amg_pcg(vb_linsolve_amg *amg, const vb_csr *A, const double *b, double *x,
			double rtol, int64_t max_iter, vb_linsolve_stats *stats, vb_err *e);

/* Work vectors kept between calls (the Krylov basis of vb_linsolve_fgmres,
 * the vectors of vb_linsolve_kept_pcg): for a large system they are
 * hundreds of MB, whose pages the kernel would clear again at
 * every call. Zero-initialise; vb_linsolve_work_free releases it. */
typedef struct vb_linsolve_work {
	size_t size; /* doubles held */
	double *buf;
} vb_linsolve_work;

void vb_linsolve_work_free(vb_linsolve_work *w);

/* An AMG hierarchy kept across the solves of a matrix whose values change
 * with its size and sparsity fixed (a Newton iteration's blocks): built at
 * the first solve, its finest level refreshed before a solve when the
 * owner has set `changed` (after changing A's values), and dropped by
 * vb_linsolve_kept_check when stale (docs/solve.md). Zero-initialise. */
typedef struct vb_linsolve_kept {
	vb_linsolve_amg *amg;
	int64_t its_base; /* AMG-PCG iterations of the hierarchy's first solve */
	int64_t its_max;  /* the most of any solve since */
	int changed;	  /* A's values changed since the finest level's copy */
	int64_t setups;	  /* hierarchies built */
	int64_t fallbacks; /* solves finished in double precision */
	vb_linsolve_work work; /* the conjugate gradients' vectors */
} vb_linsolve_kept;

/* Drops the hierarchy when a solve took more than rebuild iterations and 2
 * more than its first did (where a fresh one needs 5 already, as on the
 * Study P cell at 1 um, rebuilding at every such solve spent a fifth of the
 * run in the setup). */
void vb_linsolve_kept_check(vb_linsolve_kept *k, int64_t rebuild);

/* Conjugate gradients on A x = b with the kept hierarchy, built or
 * refreshed first as needed: vb_linsolve_amg_pcg, except that the products
 * with A too use the finest level's single-precision copy. Meant for the
 * inner solves of a preconditioner (the rounding, 6e-8 relative, is far
 * below their tolerance); a solve whose answer is the result wants
 * vb_linsolve_amg_pcg. Where the copy fails (indefinite, or no convergence
 * within max_iter) the products in double precision go on from there
 * (counted in fallbacks). */
int vb_linsolve_kept_pcg(vb_linsolve_kept *k, const vb_csr *A, const double *b, double *x,
			 double rtol, int64_t max_iter, vb_linsolve_stats *stats, vb_err *e);

void vb_linsolve_kept_free(vb_linsolve_kept *k);

/* y = A x (OpenMP, deterministic). */
void vb_linsolve_spmv(const vb_csr *A, const double *x, double *y);

/* Dot product summed in a fixed order whatever the thread count. */
double vb_linsolve_dot(const double *a, const double *b, int64_t n);

/* Sum of n values, in a fixed order whatever the thread count. */
double vb_linsolve_sum(const double *a, int64_t n);

/* A linear operator y = op(ctx, x) on vectors of n values. */
typedef int (*vb_linsolve_op)(void *ctx, const double *x, double *y, vb_err *e);

/* Flexible GMRES(restart) for a general (non-symmetric) system A x = b,
 * right-preconditioned by precond (which may change between iterations,
 * e.g. an inner iterative solve). x holds the starting guess. Stops when
 * ||b - A x|| <= rtol ||b||; VB_ERR_RUN after max_iter iterations. The
 * iteration count goes to stats->iterations. stats->residual follows the
 * relative residual while the iteration runs, so that a preconditioner that
 * sees stats can loosen its own tolerance as the residual falls (inexact
 * Krylov; stats may be NULL). work (NULL: allocated for this call) holds
 * the basis. Deterministic. */
int vb_linsolve_fgmres(int64_t n, vb_linsolve_op A, void *A_ctx, vb_linsolve_op precond,
		       void *precond_ctx, const double *b, double *x, double rtol, int restart,
		       int64_t max_iter, vb_linsolve_stats *stats, vb_err *e,
		       vb_linsolve_work *work);

#endif
