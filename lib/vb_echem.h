/* vb_echem: the structure-resolved electrochemical model of PHYSICS.md §2
 * discretised by finite volumes on the voxel grid, and one implicit Euler
 * step of it solved by Newton's method. One model for both cell types: an
 * ASSB cell (solid electrolyte, t+ = 1, constant c_e) is a LIB cell without
 * c_e unknowns. Unknowns: the potentials (phi_s in CAM, Li and, in a LIB
 * cell, CBD; phi_e in SE, LE, separator and CBD, so that a LIB CBD voxel has
 * two), one for the cathode collector; the Li concentration of each CAM
 * voxel's core and of the sub-voxel chain under each of its reacting faces
 * (vb_subgrid); in a LIB cell c_e in every voxel with phi_e
 * (vb_electrolyte). docs/solve.md describes the discretisation and the
 * solver. */
#ifndef VB_ECHEM_H
#define VB_ECHEM_H

#include <stdint.h>

#include "vb_err.h"
#include "vb_params.h"
#include "vb_subgrid.h"
#include "vb_voxel.h"

typedef struct vb_echem vb_echem; /* opaque */

typedef struct vb_echem_opts {
	double newton_tol;  /* stop when ||R||_2 <= newton_tol * I_ref * area (default 1e-9) */
	int newton_max;	    /* Newton iterations per step (default 12) */
	double linear_rtol; /* tightest relative tolerance of a Newton correction (default 1e-10) */
	double amg_rtol;    /* inner potential solve of the preconditioner (default 0.3) */
	int64_t amg_rebuild; /* rebuild the AMG hierarchy when an inner solve needs more
				iterations than this (default 4) */
} vb_echem_opts;

typedef struct vb_echem_stats {
	int64_t newton_iterations;	/* of the last step */
	int64_t linear_iterations;	/* condensed GMRES iterations of the last step */
	int64_t outer_iterations;	/* GMRES iterations on the whole Jacobian */
	int64_t inner_iterations;	/* AMG-PCG iterations of the last step */
	int64_t electrolyte_iterations; /* AMG-PCG iterations on the c_e block (LIB) */
	int64_t amg_setups;		/* AMG hierarchies built during the last step */
	double residual;		/* final ||R||_2 / (I_ref * area) */
} vb_echem_stats;

/* Defaults as documented on the fields. */
vb_echem_opts vb_echem_defaults(void);

/* Builds the discretisation of an assembled ASSB cell img (labels of
 * docs/FORMAT.md, anode at x = 0) with parameter set p (kept by reference:
 * p must outlive the model) and sub-voxel chains sub (NULL: defaults).
 * The cell type is the parameter set's. VB_ERR_INPUT for a cell without CAM
 * or without collectors, a LIB cell without LE, one whose collectors are
 * not joined through Li, electrolyte and CAM, or sub out of range. what names the cell in messages.
 * Caller frees with vb_echem_free. */
vb_echem *vb_echem_new(const vb_image *img, const vb_params *p, const vb_subgrid_opts *sub,
		       const char *what, vb_err *e);

/* Frees *m and sets it to NULL; NULL is a no-op. */
void vb_echem_free(vb_echem **m);

/* Sizes: potential unknowns (collector node included); CAM voxels taking
 * part (one core each); CAM|electrolyte faces (one reacting chain each);
 * link chains (vb_lithium.h); cells of a reacting chain; the length of the
 * CAM's Li state: the cores' concentrations, then for each face (in the
 * order of its CAM voxel in /labels, within a voxel -x, -y, -z, +z, +y,
 * +x) its chain's cells + 1 nodes, the surface node first, then the link
 * chains likewise; the c_e unknowns (0 for ASSB, in /labels order); the
 * length of the whole state c: the CAM's Li state, then c_e. */
int64_t vb_echem_potential_count(const vb_echem *m);
int64_t vb_echem_cam_count(const vb_echem *m);
int64_t vb_echem_face_count(const vb_echem *m);
int64_t vb_echem_link_count(const vb_echem *m);
int vb_echem_subgrid_cells(const vb_echem *m);
int64_t vb_echem_lithium_count(const vb_echem *m);
int64_t vb_echem_electrolyte_count(const vb_echem *m);
int64_t vb_echem_state_count(const vb_echem *m);

/* Projected cross-section (m^2) and the volume of CAM taking part (m^3). */
double vb_echem_area(const vb_echem *m);
double vb_echem_cam_volume(const vb_echem *m);

/* c_s,max of the parameter set, mol/m^3. */
double vb_echem_c_max(const vb_echem *m);

/* Rest state (PHYSICS.md §2): c_s = c_s,0 everywhere, c_e = c_e,0, phi = 0
 * in the grounded Li, -U_Li (li_metal.ocp) in the electrolyte, U_0(c_s,0) -
 * U_Li in CAM, CBD (LIB) and the cathode collector. phi has
 * vb_echem_potential_count values, c vb_echem_state_count (mol/m^3). */
void vb_echem_rest(const vb_echem *m, double *phi, double *c);

/* Cell voltage (V): cathode collector potential minus the grounded anode. */
double vb_echem_voltage(const vb_echem *m, const double *phi);

/* Lithium in the CAM per projected area, mol/m^2: every core and chain
 * node times its volume, summed in a fixed order. */
double vb_echem_lithium(const vb_echem *m, const double *c);

/* c_e,0 (mol/m^3) of the parameter set. */
double vb_echem_electrolyte_c_init(const vb_echem *m);

/* The smallest c_e of state c (mol/m^3) and its voxel (/labels index) in
 * *voxel; INFINITY and -1 for an ASSB cell. */
double vb_echem_electrolyte_min(const vb_echem *m, const double *c, int64_t *voxel);

/* The grid position (i, j, k) of voxel v. */
void vb_echem_voxel_position(const vb_echem *m, int64_t v, int64_t ijk[3]);

/* Lithium in the electrolyte (LE and the pores of separator and CBD) per
 * projected area, mol/m^2, summed in a fixed order; 0 for an ASSB cell. */
double vb_echem_electrolyte_lithium(const vb_echem *m, const double *c);

/* One implicit Euler step of length dt (s) at applied current density
 * current (A/m^2, > 0 discharges) from the Li state c_old. phi and c hold
 * the starting guess and receive the solution. VB_ERR_RUN if Newton does not
 * converge (the message names the voxel with the largest residual); phi and
 * c are then undefined. stats may be NULL. */
int vb_echem_step(vb_echem *m, const double *c_old, double dt, double current, double *phi,
		  double *c, const vb_echem_opts *opts, vb_echem_stats *stats, vb_err *e);

/* Fields on the whole grid (nx*ny*nz values each, /labels order, NaN where
 * the field does not live): in CAM c_s (mol/m^3, the voxel's mean: core and
 * chains), c_surf (the mean of the surface nodes of its reacting faces; NaN
 * in a voxel without one) and the reaction current i_bv (A/m^3 of voxel,
 * positive anodic); phi_s (V) in CAM, Li, the collectors and a LIB cell's
 * CBD; phi_e (V) in the electrolyte (SE or LE), separator and CBD; c_e
 * (mol/m^3) where a LIB cell has electrolyte (NaN everywhere for ASSB).
 * Any output may be NULL. */
void vb_echem_fields(vb_echem *m, const double *phi, const double *c, double *c_s, double *c_surf,
		     double *phi_s, double *phi_e, double *i_bv, double *c_e);

/* The inverse of vb_echem_fields: the unknowns phi and c from whole-grid
 * fields as a run file stores them, and c_sub, the chains' part of c
 * (vb_echem_lithium_count - vb_echem_cam_count values; NULL for a run
 * without it: every node of a voxel then takes its mean); c_e is read for
 * a LIB cell only (NULL for ASSB). VB_ERR_INPUT, naming the voxel or value,
 * where a field is NaN, a c_s outside [0, c_max] or a c_e not positive
 * where there is an unknown: the fields belong to another cell. */
int vb_echem_load_fields(const vb_echem *m, const double *c_s, const double *c_sub,
			 const double *phi_s, const double *phi_e, const double *c_e, double *phi,
			 double *c, vb_err *e);

/* Magnitude of the ionic current density (A/m^2) at the centre of every
 * ion-conducting voxel taking part (NaN elsewhere), nx*ny*nz values: per
 * axis the mean of the current densities through the voxel's two faces
 * (the face law between ion conductors, Butler-Volmer on electrode faces,
 * 0 on insulating ones), docs/metrics.md. */
void vb_echem_ionic_current(vb_echem *m, const double *phi, const double *c, double *i_ion);

#endif
