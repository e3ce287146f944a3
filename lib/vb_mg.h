/* vb_mg: steady conduction on a voxel lattice, solved without a matrix:
 * conjugate gradients preconditioned by a geometric multigrid V-cycle, in
 * single precision inside a double-precision defect correction
 * (docs/conductivity.md). The problem is the one of vb_conduct: a 7-point
 * finite-volume stencil whose face conductances are harmonic means of
 * per-class conductivities, potential 1 V on the outer face of the first
 * layer along the transport axis and 0 V on that of the last, the other
 * faces insulating. Memory: 30 bytes per lattice site (x in double, four
 * vectors in single precision, a byte per site when one or two classes
 * conduct, 4 over the coarse levels) besides the caller's class byte
 * (docs/conductivity.md). */
#ifndef VB_MG_H
#define VB_MG_H

#include <stddef.h>
#include <stdint.h>

#include "vb_err.h"
#include "vb_linsolve.h"

enum {
	VB_MG_CLASSES = 15, /* classes 0..14 conduct */
	VB_MG_OFF = 255,    /* a site without an unknown (insulating, or cut off) */
	/* Lattices of up to this many sites run a V-cycle's lattice stages one
	 * after the other, larger ones pipelined over the planes: the
	 * pipeline's barrier per plane costs more than it saves while the
	 * vectors stay in cache. Measured on this project's 2-core machine
	 * (docs/conductivity.md): stage after stage took 0.89 times the
	 * pipeline's time at 100^3, 0.94 at 130^3, 1.06 at 160^3, 1.15 at 200^3. */
	VB_MG_STAGED_MAX = 1 << 21,
};

typedef struct vb_mg_problem {
	int64_t n[3];		       /* lattice sites per axis; axis 2 varies fastest */
	const uint8_t *cls;	       /* per site: its class, or VB_MG_OFF */
	double sigma[VB_MG_CLASSES];   /* S/m per class used (> 0) */
	double h;		       /* site spacing, m */
	int axis;		       /* transport axis: 0, 1 or 2 */
	double rtol;		       /* stop at ||b - A x|| <= rtol ||b|| (double precision) */
	int64_t max_iter;	       /* limit on preconditioned CG iterations, all passes */
	vb_linsolve_progress progress; /* NULL or a report after every iteration */
	void *progress_ctx;
	int64_t staged_max; /* one or two classes: lattices of up to this many sites run the
			       V-cycle's lattice stages one after the other, larger
			       ones pipelined over the planes; 0 = VB_MG_STAGED_MAX.
			       Both give the same result to the bit (tests set it) */
	int portable;	    /* two classes: 1 runs the loops written for any x86-64
			       even where AVX2 is there (tests: the same result
			       to the bit) */
} vb_mg_problem;

typedef struct vb_mg_result {
	double current_in, current_out; /* A through the 1 V and 0 V faces */
	double current;			/* A: the dissipated power at 1 V, current_in -
					   x . r, stationary at the solution: its error
					   is of second order in the solver's */
	int64_t iterations;		/* CG iterations over all passes */
	int passes;			/* defect-correction passes */
	int levels;			/* multigrid levels, the lattice included */
	double residual;		/* final ||b - A x|| / ||b||, double precision */
	int64_t bytes;			/* memory the solver allocated */
} vb_mg_result;

/* Zeroed memory for a lattice-sized array: aligned to 2 MiB and marked
 * for transparent huge pages when it is that large (with 4 kB pages, page
 * faults took 27 % of a 200^3 run stopped after one iteration, and huge
 * pages cut that run from 1.02 to 0.73 s: docs/conductivity.md); free()
 * releases it. NULL when out of memory. */
void *vb_mg_alloc(size_t bytes);

/* Solves the problem. Every site that is not VB_MG_OFF must be joined to a
 * 1 V or 0 V face through sites that are not (vb_conduct cuts the others
 * off); otherwise its block is singular. Results do not depend on the
 * thread count. VB_ERR_RUN when memory runs out or rtol is not reached in
 * max_iter iterations. */
int vb_mg_solve(const vb_mg_problem *p, vb_mg_result *res, vb_err *e);

#endif
