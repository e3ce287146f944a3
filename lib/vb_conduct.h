/* vb_conduct: steady conduction through a slab of a voxel image
 * (PHYSICS.md §4): effective conductivity of the ion- or electron-conducting
 * network of a cathode, along any axis. Boundary convention
 * (docs/conductivity.md): potential 1 V on the outer face of the first layer
 * of the region along the transport axis and 0 V on the outer face of its
 * last layer, half a voxel from those voxels' centres; the other faces
 * insulating; face conductances are harmonic means. */
#ifndef VB_CONDUCT_H
#define VB_CONDUCT_H

#include <stdint.h>

#include "vb_err.h"
#include "vb_linsolve.h"
#include "vb_voxel.h"

typedef struct vb_conduct_result {
	int percolates;		/* 1 if a conducting path joins the two faces */
	int64_t unknowns;	/* voxels on such paths (the others carry no current) */
	double current_density; /* A/m^2 of cross-section at 1 V */
	double kappa_eff;	/* S/m: length along the axis * current density / 1 V */
	double balance;		/* |I_in - I_out| / I_in: conservation check */
	int levels;		/* mg: multigrid levels (0 for the other methods) */
	vb_linsolve_stats solver;
} vb_conduct_result;

/* Solves the conduction problem in the x-slices [x0, x1) of img along axis
 * (0 = x, 1 = y, 2 = z) with the conductivity of each phase (S/m,
 * VB_PHASE_COUNT values, 0 = insulating). opts->method: mg (what auto
 * chooses), or cholmod, amg or pcg on an assembled matrix; NULL = defaults.
 * A region without a path gives kappa_eff = 0 and percolates = 0 with
 * status VB_OK. img supplies dimensions, labels and voxel size. */
int vb_conduct_solve_phases(const vb_image *img, const double *phase_sigma, int64_t x0,
			    int64_t x1, int axis, const vb_linsolve_opts *opts,
			    vb_conduct_result *res, vb_err *e);

/* The same with a conductivity per voxel (nx*ny*nz values in /labels
 * order, 0 = insulating), of at most VB_MG_CLASSES (15) distinct values. */
int vb_conduct_solve(const vb_image *img, const double *sigma, int64_t x0, int64_t x1, int axis,
		     const vb_linsolve_opts *opts, vb_conduct_result *res, vb_err *e);

#endif
