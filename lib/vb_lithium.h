/* vb_lithium: solid diffusion of Li in the CAM of a voxel cell (PHYSICS.md §2,
 * §5), the unknowns and laws of the lithium state. Each CAM voxel has a core
 * node; each reacting face a graded chain into its voxel (vb_subgrid) whose
 * surface node carries the concentration Butler-Volmer sees; each face
 * between a voxel with reacting faces and a CAM voxel without any a short
 * link chain inside the latter, so that the grading continues past the first
 * voxel. Newton's systems are condensed onto the cores by eliminating every
 * chain exactly. docs/solve.md ("Sub-voxel diffusion layer"). */
#ifndef VB_LITHIUM_H
#define VB_LITHIUM_H

#include <stddef.h>
#include <stdint.h>

#include "vb_cam.h"
#include "vb_err.h"
#include "vb_subgrid.h"
#include "vb_voxel.h"

typedef struct vb_lithium vb_lithium; /* opaque */

/* How a reacting face's chain couples to the rest once eliminated: a unit
 * change of its surface node's source moves it by s00 and its core's balance
 * by sq0 (times the source), a unit change of its core moves the surface
 * node by s0q. docs/solve.md derives the condensed face law from them. */
typedef struct vb_lithium_face {
	double s00, s0q, sq0;
} vb_lithium_face;

/* The discretisation of the CAM voxels of img whose core[v] >= 0 (core[v]
 * numbers them 0..n_cores-1 in /labels order), whose reacting faces are
 * flagged by react[q] (bit d for the face towards neighbour d in the order
 * -x, -y, -z, +z, +y, +x). Reacting faces are numbered in core order, then
 * direction order. law: the CAM transport laws (kept by reference), sub:
 * the reacting chains (NULL: defaults). Caller frees with vb_lithium_free. */
vb_lithium *vb_lithium_new(const vb_image *img, const int64_t *core, int64_t n_cores,
			   const uint8_t *react, const vb_cam *law, const vb_subgrid_opts *sub,
			   vb_err *e);

/* Frees *L and sets it to NULL; NULL is a no-op. */
void vb_lithium_free(vb_lithium **L);

/* Sizes: the state c has vb_lithium_count values, the cores' first (index
 * q), then every reacting chain's cells + 1 nodes (surface node first), then
 * every link chain's. */
int64_t vb_lithium_count(const vb_lithium *L);
int64_t vb_lithium_faces(const vb_lithium *L);
int64_t vb_lithium_links(const vb_lithium *L);
int vb_lithium_cells(const vb_lithium *L);

/* Index in c of the surface node of reacting face t. */
int64_t vb_lithium_surface_index(const vb_lithium *L, int64_t t);

/* The core a state index belongs to (its own, or its chain's). */
int64_t vb_lithium_core_of(const vb_lithium *L, int64_t index);

/* Li in the CAM, mol: every node times its volume, in a fixed order. */
double vb_lithium_inventory(const vb_lithium *L, const double *c);

/* Per core: the voxel's mean concentration (every node of the voxel,
 * volume-weighted) and the mean of its reacting faces' surface nodes (NaN
 * where it has none). Either may be NULL. */
void vb_lithium_voxel_means(const vb_lithium *L, const double *c, double *mean, double *surface);

/* The state from per-core voxel means and the chains' values c_sub (the
 * state past the cores; NULL: every node of a voxel at its mean). VB_ERR_INPUT
 * for a value outside (0, c_max) in c_sub or a core outside [0, c_max]. */
int vb_lithium_load(const vb_lithium *L, const double *mean, const double *c_sub, double *c,
		    vb_err *e);

/* F x the Li balances (A) at state c after a step dt (s) from c_old, the
 * reacting faces carrying the Butler-Volmer currents i_face (A, positive
 * anodic): R has vb_lithium_count values. */
void vb_lithium_residual(vb_lithium *L, const double *c, const double *c_old, double dt,
			 const double *i_face, double *R);

/* y = J x: the exact Jacobian of vb_lithium_residual at the state of its
 * last call, times x (vb_lithium_count values), the reacting faces'
 * currents changing by di_face (A); side links included, which the
 * condensed core block only approximates. */
void vb_lithium_jacobian_apply(vb_lithium *L, const double *x, const double *di_face, double *y);

/* Factorises every chain at state c, which must be the state of the last
 * vb_lithium_residual call, with the surface nodes' Butler-Volmer
 * derivatives a_face = d i_face / d c_surf (A m^3/mol), and builds the
 * condensed core block. face (may be NULL) receives each reacting face's
 * coupling. */
void vb_lithium_assemble(vb_lithium *L, const double *c, double dt, const double *a_face,
			 vb_lithium_face *face);

/* Condensation of a right-hand side b (vb_lithium_count values): b_core
 * (n_cores) receives the cores' part with every chain's eliminated, u0 (per
 * reacting face) the surface nodes' response T^-1 b of their chains. */
void vb_lithium_condense(const vb_lithium *L, const double *b, double *b_core, double *u0);

/* The whole correction x (vb_lithium_count values) from b, the cores'
 * correction x_core and each reacting face's source change ds (A). */
void vb_lithium_expand(const vb_lithium *L, const double *b, const double *x_core, const double *ds,
		       double *x);

/* y = J_cc x for the condensed core block (n_cores values each). */
void vb_lithium_core_apply(vb_lithium *L, const double *x, double *y);

/* The diagonal of the condensed core block (n_cores values), for a block
 * elimination. */
const double *vb_lithium_core_diagonal(const vb_lithium *L);

/* Approximate solve of the condensed core block, z ~ J_cc^-1 r: Jacobi-PCG
 * to a relative 1e-8 on its symmetric counterpart. */
int vb_lithium_core_solve(vb_lithium *L, const double *r, double *z, vb_err *e);

/* Sum of squares of the terms the Li rows add up at state c and step dt
 * (for the rounding floor of a residual norm), A^2. */
double vb_lithium_rounding(const vb_lithium *L, const double *c, double dt);

/* Lateral modes (docs/solve.md, "Lateral modes"; the superposed chains with
 * vb_subgrid_opts.lateral). A superposed reacting face of a voxel whose
 * reacting faces lie on two or three axes has four quarters, each with a
 * Butler-Volmer current of its own, at its mean surface concentration: the
 * face's surface node plus an offset. Quarter k has the signs
 * vb_lithium_quarter_sign(k, 0) and (k, 1) on the face's two lateral axes
 * (ascending x, y, z; -1 the low half). The face's two mode chains (one per
 * lateral axis, the geometry of its reacting chain) carry the amplitude of
 * the layer's square wave across that axis, driven by the quarters'
 * currents weighted by their signs; they hold no Li. The mode values are a
 * state of their own (vb_echem solves a face's surface values with its
 * currents and advances the chains after each Newton step). */
static inline int vb_lithium_quarter_sign(int k, int axis)
{
	return (k >> (1 - axis) & 1) ? 1 : -1;
}

/* Per state index, 1 where the value is a component of a sum (the nodes of
 * the reacting chains of faces with lateral modes): the concentration
 * there is the node's plus what the other chains and the modes add, so the
 * node may pass c_max (the face's quarters may not: Butler-Volmer stops
 * there). NULL without lateral modes. */
const uint8_t *vb_lithium_components(const vb_lithium *L);

/* Mode values: 2 (cells + 1) per face with modes (the superposed reacting
 * faces of voxels whose reacting faces lie on two or three axes), 0 without
 * lateral modes. */
int64_t vb_lithium_mode_count(const vb_lithium *L);

/* Index of face t's first mode chain in the modes (the second follows it,
 * cells + 1 values each), -1 if it has none. */
int64_t vb_lithium_mode_index(const vb_lithium *L, int64_t t);

/* Doubles of workspace vb_lithium_mode_factor needs for one face. */
size_t vb_lithium_mode_work(const vb_lithium *L);

/* What the other chains of each face's voxel add to its quarters' mean
 * surface concentration at state c and mode values modes (NULL: zeros):
 * x[4 t + k] for quarter k of face t (0 for faces without modes). A chain
 * on a lateral axis adds its deviation averaged over the half of its depth
 * under the quarter, its mode along the face's normal at the face's side,
 * and its mode along the third axis with the quarter's sign on it. */
void vb_lithium_lateral_cross(const vb_lithium *L, const double *c, const double *modes, double *x);

/* Factorises face t's two mode chains over a step dt from m_old (the mode
 * values), their diffusivities those of its reacting chain's nodes at state
 * c_old, into work (vb_lithium_mode_work values): a source I_k (A, positive
 * anodic, as a face current) on chain k's surface node leaves it at
 * u[k] - r[k] I_k. */
void vb_lithium_mode_factor(const vb_lithium *L, int64_t t, const double *c_old,
			    const double *m_old, double dt, double *work, double u[2], double r[2]);

/* Face t's mode chains after the step, with sources I (A), into m_new. */
void vb_lithium_mode_finish(const vb_lithium *L, int64_t t, const double *work, const double I[2],
			    double *m_new);

#endif
