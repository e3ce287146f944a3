/* vb_electrolyte: the liquid electrolyte of a LIB cell (PHYSICS.md §2, LIB
 * column) on the voxel grid: one Li+ concentration c_e per voxel holding
 * electrolyte (LE, and the pores of separator and CBD with their porosity
 * and transport factor), the concentrated-solution face laws between such
 * voxels, their Jacobian, and an approximate solver for the c_e block of
 * Newton's systems. vb_echem owns the potentials and the reactions and calls
 * this module for the transport between electrolyte voxels.
 *
 * Face law between electrolyte voxels a and b (area h^2, distance h):
 *   I  = G (phi_a - phi_b - beta_f (ln c_a - ln c_b))           current a -> b, A
 *   FN = F h D_f (c_a - c_b) + t_f I                       F x Li flux a -> b, A
 * G = h x the harmonic mean of the two kappa_eff, D_f the harmonic mean of
 * the two D_eff, t_f and beta_f (beta = 2 R T (1 - t+) TDF / F) the means
 * of the two voxel values. t+ stays inside the divergence: every face's
 * flux leaves one voxel and enters the other, so Li is conserved whatever
 * t+(c_e) does. Residual of a c_e row (A): F eps V (c - c_old) / dt + the
 * FN leaving it; the reactions are added by vb_echem. */
#ifndef VB_ELECTROLYTE_H
#define VB_ELECTROLYTE_H

#include <stdint.h>

#include "vb_err.h"
#include "vb_linsolve.h"
#include "vb_params.h"
#include "vb_voxel.h"

typedef struct vb_electrolyte vb_electrolyte; /* opaque */

/* Builds the electrolyte of grid g (labels, voxel size) with parameter set p
 * (kept by reference). unknown[v] is the c_e unknown of voxel v (0 .. n-1,
 * every one used once) or -1, row[v] its electrolyte potential row in the
 * caller's potential vector. VB_ERR_INPUT where a voxel with an unknown is
 * not LE, separator or CBD. Caller frees with vb_electrolyte_free. */
vb_electrolyte *vb_electrolyte_new(const vb_image *g, const vb_params *p, const int64_t *unknown,
				   const int64_t *row, int64_t n, vb_err *e);

/* Frees *el and sets it to NULL; NULL is a no-op. */
void vb_electrolyte_free(vb_electrolyte **el);

/* Unknowns, faces between two of them, the voxel and potential row of
 * unknown k, the two unknowns of face f. */
int64_t vb_electrolyte_count(const vb_electrolyte *el);
int64_t vb_electrolyte_faces(const vb_electrolyte *el);
int64_t vb_electrolyte_voxel(const vb_electrolyte *el, int64_t k);
int64_t vb_electrolyte_row(const vb_electrolyte *el, int64_t k);
void vb_electrolyte_face_ends(const vb_electrolyte *el, int64_t f, int64_t *a, int64_t *b);

/* c_e,0 (mol/m^3) of the parameter set. */
double vb_electrolyte_c_init(const vb_electrolyte *el);

/* Li in the electrolyte, mol: eps V c_e summed over the unknowns in a fixed
 * order. */
double vb_electrolyte_inventory(const vb_electrolyte *el, const double *ce);

/* Properties of every unknown and the face laws with their derivatives at
 * potentials phi (the caller's whole potential vector) and c_e values ce
 * (every one > 0). */
void vb_electrolyte_eval(vb_electrolyte *el, const double *phi, const double *ce);

/* G of face f (S) at the last eval. */
double vb_electrolyte_conductance(const vb_electrolyte *el, int64_t f);

/* Current (A) leaving unknown k through its face towards slot d (0, 1, 2:
 * -z, -y, -x; 3, 4, 5: +z, +y, +x) at the last eval; NaN where that
 * neighbour holds no electrolyte unknown. */
double vb_electrolyte_face_current(const vb_electrolyte *el, int64_t k, int d);

/* At the last eval: adds each face's current I to the potential row of its
 * first unknown and subtracts it from its second's (Rp, the caller's
 * charge residuals), and writes the c_e rows Re (n values, A). */
void vb_electrolyte_residual(const vb_electrolyte *el, const double *ce, const double *ce_old,
			     double dt, double *Rp, double *Re);

/* Jacobian product of the face laws and the storage at the last eval:
 * adds to yp (potential rows; NULL: not wanted) and to ye (c_e rows) the
 * change of the residuals for potential changes xp (NULL: none) and c_e
 * changes xe (NULL: none; the storage term F eps V / dt then drops out
 * too). With conductances 0 the potential rows get only the c_e part (the
 * caller's matrix holds G, vb_electrolyte_conductance), in the same pass. */
void vb_electrolyte_apply(vb_electrolyte *el, double dt, const double *xp, const double *xe,
			  double *yp, double *ye, int conductances);

/* An approximation of the c_e block's Schur complement, F eps V / dt +
 * the diffusion of F D_f h across the faces (the migration terms cancel
 * against the potentials' response where t+ is uniform, docs/solve.md), at
 * the last eval; a symmetric M-matrix. Call before vb_electrolyte_solve
 * within a Newton iteration. */
void vb_electrolyte_prepare(vb_electrolyte *el, double dt);

/* x ~ S^-1 b by AMG-PCG to relative tolerance rtol (the hierarchy is kept
 * between calls and rebuilt when a solve takes more than rebuild
 * iterations and 2 more than a fresh one did). x holds the starting guess.
 * stats may be NULL; *setups counts hierarchies built. */
int vb_electrolyte_solve(vb_electrolyte *el, const double *b, double *x, double rtol,
			 int64_t rebuild, vb_linsolve_stats *stats, int64_t *setups, vb_err *e);

/* The size of the terms a c_e row sums (F eps V c / dt and the face
 * fluxes), squared and summed: what rounding leaves in the residual is 16
 * epsilon times its square root. */
double vb_electrolyte_rounding(const vb_electrolyte *el, const double *ce, double dt);

#endif
