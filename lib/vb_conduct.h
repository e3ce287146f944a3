/* vb_conduct: steady conduction through a slab of a voxel image
 * (PHYSICS.md §4): effective conductivity of the ion- or electron-conducting
 * network of a cathode. Boundary convention (docs/conductivity.md): potential
 * 1 V on the outer face of the first x-layer of the region and 0 V on the
 * outer face of its last x-layer, half a voxel from those voxels' centres;
 * side faces insulating; face conductances are harmonic means. */
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
	double kappa_eff;	/* S/m: thickness * current density / 1 V */
	double balance;		/* |I_in - I_out| / I_in: conservation check */
	vb_linsolve_stats solver;
} vb_conduct_result;

/* Solves the conduction problem in the x-slices [x0, x1) of img with the
 * per-voxel conductivity sigma (S/m, nx*ny*nz values in /labels order,
 * 0 = insulating). A region without a path gives kappa_eff = 0 and
 * percolates = 0 with status VB_OK. img supplies dimensions and voxel size. */
int vb_conduct_solve(const vb_image *img, const double *sigma, int64_t x0, int64_t x1,
		     const vb_linsolve_opts *opts, vb_conduct_result *res, vb_err *e);

#endif
