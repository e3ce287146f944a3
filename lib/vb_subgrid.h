/* vb_subgrid: the Li diffusion layer under each reacting face of a CAM voxel,
 * resolved below the voxel size (PHYSICS.md §5). Every CAM|electrolyte face
 * owns a chain of n finite volumes graded from the surface into its voxel,
 * plus a surface node of no volume whose concentration is the one the
 * Butler-Volmer law sees; the chain's deepest cell joins the voxel's core,
 * which carries the rest of the voxel's volume and its diffusion to the
 * neighbouring CAM voxels. docs/solve.md ("Sub-voxel diffusion layer")
 * states the geometry, where it is exact and where it is not. */
#ifndef VB_SUBGRID_H
#define VB_SUBGRID_H

#include "vb_err.h"

typedef struct vb_subgrid_opts {
	int cells;    /* finite volumes of a chain, 1..64 (default 24) */
	double ratio; /* width of a cell over that of its neighbour nearer the
			 surface, 1..4 (default 1.25) */
	int split;    /* 0 (default): the chains of a voxel superposed, each
			 spanning the voxel's whole cross-section; 1: the voxel
			 split among its chains by nearness (docs/solve.md) */
	int lateral;  /* superposed chains: 1 (default) gives each reacting face
			 four quarters with a Butler-Volmer current each and two
			 lateral mode chains (docs/solve.md, "Lateral modes");
			 0: one current per face */
} vb_subgrid_opts;

/* Defaults as documented on the fields. */
vb_subgrid_opts vb_subgrid_defaults(void);

/* VB_ERR_INPUT naming the option when o is outside the documented ranges. */
int vb_subgrid_check(const vb_subgrid_opts *o, vb_err *e);

/* Superposed chains (the default; docs/solve.md): a reacting face's chain
 * spans the voxel's whole cross-section h^2 to a depth of h, or h/2 when
 * the opposite face reacts too, and holds the voxel's concentration there
 * as the voxel's mean (its core) plus the deviation that face's layer
 * adds; the deviations of a chain sum to zero over its volume, so the
 * voxel's Li is its core's, and the Li a face takes up reaches the core at
 * once. Exact for a box of constant D whose faces take up uniform fluxes
 * (the field is then a sum of slabs); only the class's opposite-face flag
 * matters. Split chains (the law before):
 * a chain's geometry depends on how many of the four faces around its own
 * face (those sharing an edge with it) react too, counted per lateral axis
 * (m1, m2 in 0..2), and on whether the opposite face reacts (opposite 0/1).
 * Its voxel is split among its reacting faces by nearness, so a chain's
 * cross-section narrows from h^2 at the surface to (h - m1 s)(h - m2 s) at
 * depth s; a chain reaches 0.9 of the depth its face can claim: h/2 when
 * the opposite face reacts or a lateral axis has two reacting faces, else h.
 * The core (the rest of the voxel) has its node at the middle of what the
 * chains leave along each axis. */
#define VB_SUBGRID_CLASSES 18
static inline int vb_subgrid_class(int m1, int m2, int opposite)
{
	return 2 * (3 * m1 + m2) + (opposite != 0);
}

/* Chain geometry for one voxel size, per class. Node 0 is the surface node
 * (no volume), node j = 1..n the cell j from the surface. Link j joins node
 * j to node j + 1 (j < n); link n joins node n to the voxel's core node. */
typedef struct vb_subgrid {
	int n;		    /* cells; a chain has n + 1 nodes */
	int superposed;	    /* 1: superposed chains (link n absent), 0: split */
	double h;	    /* voxel edge, m */
	double *depth;	    /* [cls]: a chain's depth along its face normal, m */
	double *core_depth; /* [cls]: the core node's distance from the face along its normal */
	double *vol;	    /* [cls (n + 1) + j]: volume of node j, m^3 (0 for j = 0) */
	double *cond;	    /* [cls (n + 1) + j]: area / length of link j, m */
	double *total;	    /* [cls]: volume of a whole chain, m^3 */
	double *width; /* [cls (n + 1) + j]: width of node j along the normal, m (0 for j = 0) */
} vb_subgrid;

/* Geometry for voxel edge h (m) with options o (NULL: defaults); VB_ERR_INPUT
 * for options out of range. Caller frees with vb_subgrid_free. */
vb_subgrid *vb_subgrid_new(double h, const vb_subgrid_opts *o, vb_err *e);

/* Frees *s and sets it to NULL; NULL is a no-op. */
void vb_subgrid_free(vb_subgrid **s);

/* Distance (m) from a voxel's core node to one of its faces that does not
 * react, along that face's normal: h/2, less half the depth of the chain
 * of the opposite face if that one reacts (opposite_cls >= 0 its class)
 * and the chains are split; h/2 for superposed chains. */
double vb_subgrid_core_to_face(const vb_subgrid *s, int opposite_cls);

/* F times the Li balance of each node of one chain of class cls, in A
 * (PHYSICS.md §2): R_j = F V_j (c_j - c_old_j) / dt + the Li leaving node j
 * through its links, plus i_face (the face's Butler-Volmer current, A,
 * positive anodic) on the surface node. c and c_old hold the n + 1 node
 * concentrations (mol/m^3), phi their Kirchhoff potentials (vb_cam), phi_q
 * the core's; F_dt = F / dt; c_old NULL stands for zeros. Superposed
 * chains balance their deviations from the core instead: the storage is F
 * V_j (c_j - c_old_j - dc_q) / dt, dc_q the core's change over the step,
 * and each node hands V_j / V_chain of the face's uptake to the core;
 * i_back (F x the Li the voxel loses through the face opposite the
 * chain's, which the core's balance counts) leaves through the chain's
 * last node and is made up in the same shares. A superposed node follows
 * its core's change, and takes its share of the face's uptake, with the
 * weight w_j (NULL: 1), which fades to 0 at saturation (vb_lithium): the
 * storage is F V_j ((1 + a_j) c_j - c_old_j - w_j dc_q) / dt, a_st NULL
 * (a_j = 0) for a residual. Every
 * term is linear in phi, c, dc_q and i_face, so with phi = D dc, c = dc,
 * c_old NULL, i_face its change and a_st the fade's derivative (the
 * uniform gain times -dw_j/dc_j over F / dt), this is the Jacobian's
 * product with dc.
 * Returns the current F x (Li flowing from the chain into the core), A. */
double vb_subgrid_residual(const vb_subgrid *s, int cls, const double *phi, double phi_q,
			   double dc_q, const double *c, const double *c_old, double F_dt,
			   double i_face, double i_back, const double *w, const double *a_st,
			   double *R);

/* How one chain couples to the rest of the system once it is eliminated
 * (docs/solve.md): entries of the inverse of its Jacobian block T (nodes
 * only, the core held fixed) and of its links to the core. */
typedef struct vb_subgrid_coupling {
	double z00, z0n, zn0, znn; /* (T^-1)_00, _0n, _n0, _nn */
	double r_n_cq; /* d R_n / d c_q: the last node's balance on the core, A m^3/mol */
	double r_q_cn; /* d R_q / d c_n: the core's balance on the last node */
	double r_q_cq; /* d R_q / d c_q of this link alone */
	/* superposed chains: T = T0 + a_face u e_0^T, u the face's source
	 * vector (1 on the surface node, -V_j / V_chain on cell j); T0 is
	 * factorised and y = T0^-1 u kept, so T^-1 r = T0^-1 r - y sm (T0^-1
	 * r)_0 (Sherman-Morrison) */
	double a;   /* a_face */
	double sm;  /* a_face / (1 + a_face y_0) */
	double s00; /* (T^-1 u)_0: the surface node's response to a unit source */
	double s0q; /* (T^-1 b)_0, b = -d R / d c_q: its response to its core */
} vb_subgrid_coupling;

/* Jacobian block T of one chain whose nodes have the diffusivities d (n + 1
 * values, m^2/s; d_q the core's) with the surface node's Butler-Volmer
 * derivative a_face = d i_face / d c_0 (A m^3/mol) and, when g_side is not
 * NULL, each node's links to the side (F x area / length, m) on its
 * diagonal: factorised into lu (3 (n + 1) values, the caller's) and
 * summarised in k; col_n (n + 1 values, may be NULL) receives T^-1 e_n. */
void vb_subgrid_factor(const vb_subgrid *s, int cls, const double *d, double d_q, double F_dt,
		       double a_face, const double *g_side, double *lu, vb_subgrid_coupling *k,
		       double *col_n);

/* Superposed chains: factorises T0 (the chain's block without the face's
 * derivative, core held fixed, side links' g_side on the diagonal when not
 * NULL, and the fade's a_st of vb_subgrid_residual on the storage when not
 * NULL, its negative part dropped) into lu, keeps y = T0^-1 u in y (n + 1
 * values; u_j weighted by w_j, NULL: 1) and fills sm, s00
 * and s0q of k for the derivative a_face; b (n + 1 values) is minus the
 * chain's dependence on its core, d R_j / d c_q = -b_j (F V_j w_j / dt
 * from the storage, plus what links to the core add). */
void vb_subgrid_factor_superposed(const vb_subgrid *s, int cls, const double *d, double F_dt,
				  double a_face, const double *g_side, const double *w,
				  const double *a_st, const double *b, double *lu, double *y,
				  vb_subgrid_coupling *k);

/* Lateral mode chains (docs/solve.md, "Lateral modes"): the block T of a
 * chain of class cls (its reacting chain's geometry) that carries the
 * amplitude of one lateral mode of its face's layer, whose nodes have the
 * diffusivities d: storage F V_j / dt, decay F V_j d_j k2 (k2 = (pi / h)^2
 * for the mode across the face), links F area / length (d_j + d_j+1) / 2,
 * no flux through the chain's end; factorised into lu (3 (n + 1) values)
 * for vb_subgrid_solve. */
void vb_subgrid_factor_mode(const vb_subgrid *s, int cls, const double *d, double F_dt, double k2,
			    double *lu);

/* The fraction of node j of class cls that lies within the first h/2 of
 * its chain's depth (0 for the surface node). */
double vb_subgrid_near_fraction(const vb_subgrid *s, int cls, int j);

/* x = T^-1 r for a superposed chain (x may be r). */
void vb_subgrid_solve_superposed(int n, const double *lu, const double *y, double sm,
				 const double *r, double *x);

/* V_j / V_chain of node j of class cls (superposed chains: the part of the
 * face's uptake node j hands to the core). */
double vb_subgrid_share(const vb_subgrid *s, int cls, int j);

/* x = T^-1 r with the factors of vb_subgrid_factor (n + 1 values each; x
 * may be r). */
void vb_subgrid_solve(int n, const double *lu, const double *r, double *x);

#endif
