/* ref_lib1d: an independent 1D reference model of the LIB cell (PHYSICS.md
 * §1-2, the LIB column, reduced to x), written from the spec alone for the
 * tests of the LIB solver: Li metal | porous separator + LE | bulk LE | Li
 * metal or a dense planar NMC811 film, galvanostatic.
 *
 * Model (SI inside; x = 0 at the left Li|electrolyte plane, L_e = L_sep +
 * L_le at the right electrode's face; I > 0 discharges the LIB: Li moves
 * left to right, Li+ enters the electrolyte at x = 0 and leaves at L_e):
 *   electrolyte  eps dc/dt = -dN/dx,  N = -D_eff(c) dc/dx + t+(c) i_e / F
 *                i_e = -kappa_eff dphi_e/dx
 *                      + (2 R T kappa_eff / F)(1 - t+) TDF d ln c / dx
 *                di_e/dx = 0, so i_e = I everywhere between the electrodes;
 *                N(0) = N(L_e) = I / F (each interface passes I, all of it
 *                carried by Li+). N, not D dc/dx, is what the scheme
 *                conserves, so t+(c) stays inside the divergence (the
 *                pitfall of PyBaMM issue 5745 cannot occur).
 *   film (CAM)   dc_s/dt = d/dx(D_s(c_s) dc_s/dx), Li flux I / F into the
 *                film at its face, none at the collector side.
 *   kinetics     i_BV = i_0 [exp(alpha f eta) - exp(-(1 - alpha) f eta)],
 *                f = F/(R T), eta = phi_s - phi_e - U_0; on the CAM
 *                i_0 = i_00 c_e^alpha c_s^alpha (c_max - c_s)^(1 - alpha)
 *                with c_e at the face and c_s at the surface, i_BV = -I; on
 *                Li metal i_0 = li_metal.exchange_current, U_0 =
 *                li_metal.ocp, i_BV = +I on the left and -I on a right Li.
 *   voltage      U = phi_s(right collector) - phi_s(left collector, ground)
 *                  = U_0,right + eta_right - U_Li - eta_Li + dphi_e
 *                    - I (R_Li + R_right),
 *                dphi_e = -I int dx / kappa_eff(c)
 *                         + (2 / f) int_{c(0)}^{c(L_e)} (1 - t+) TDF dc / c,
 *                R_Li = L_li / sigma_Li per Li electrode, R_right = R_Li
 *                for a Li metal, int dx / sigma_s(c_s) over the film.
 * With planar electrodes both reaction currents equal I at every instant, so
 * the system is triangular: c_e and c_s evolve independently of the
 * potentials and of each other, and every potential follows by quadrature
 * from them. A monolithic Newton on (c_e, phi_e, c_s, eta) would find the
 * same solution and only add places for errors, so each step solves two
 * independent tridiagonal Newton problems.
 *
 * Choices where PHYSICS.md is silent (each one a field of ref_lib1d where a
 * test may want another):
 * - Separator: eps = separator.porosity multiplies the storage term only;
 *   kappa_eff = separator.conductivity_factor x kappa (PHYSICS.md §1, §3);
 *   D_eff = the same factor x D. PHYSICS.md gives the separator's factor for
 *   the conductivity only (and docs/PARAMETERS.md has no diffusive key for
 *   it), but says for the CBD that the same factor holds for diffusivity;
 *   a homogenized pore network's factor eps/tau is one geometric number for
 *   every transport property of the liquid in it, so it is read the same
 *   here (field separator_diffusion_factor overrides it). The diffusion
 *   potential's kappa_eff is the same kappa_eff (as PHYSICS.md §2 writes it).
 * - Bulk LE layer: eps = 1, factors 1.
 * - Li metal kinetics: i_0 independent of c_e, as PHYSICS.md §2-3 give it (a
 *   number); field li_exchange_exponent beta makes it i_0 (c_e/c_e,0)^beta.
 *   U_0 of Li does not depend on c_e: phi_e is measured against a Li
 *   reference (PHYSICS.md §2), so Li|LE is at rest at phi_s - phi_e = U_Li
 *   at any c_e.
 * - The Li interfaces do not move (PHYSICS.md §2); no double layer, no SEI;
 *   the solvent does not flow (no convection term); T is uniform.
 * - Ohmic resistances in the Li metals (L_li / sigma_Li each) and in the
 *   film (int dx / sigma_s(c_s), cam.conductivity); the collectors are not
 *   counted (aluminium and copper foils add < 1e-9 Ohm m^2).
 * - The interface values of c_e (in U's diffusion potential and in the
 *   CAM's i_0) and the surface value of c_s (in U_0 and i_0) are
 *   extrapolated from the first cell with the known interface flux, not the
 *   cell means.
 * - Depletion: if c_e reaches 0 the model stops (REF_LIB1D_DEPLETED); a
 *   film whose surface reaches c_max stops (REF_LIB1D_SATURATED).
 * - The cut-off is a lower one (discharge); I < 0 (charge) runs to t_end.
 *
 * Discretisation (chosen to be simple to check, not to share anything with
 * lib): cell-centred finite volumes.
 * - Electrolyte: each region (separator, bulk LE) has its own cells, graded
 *   two-sided geometrically (finest at both ends of each region, largest /
 *   smallest = stretch_e), cells_e in all (200 by default, split in
 *   proportion to length, at least 10 per region). Face fluxes: the
 *   diffusive part from the Kirchhoff transform G(c) = int D dc,
 *   -(G_R - G_L) / (h_L / (2 f_L) + h_R / (2 f_R)) with f the diffusive
 *   factor of each side (flux continuity across the separator|LE plane;
 *   exact for a piecewise linear profile, second order otherwise), G_R - G_L
 *   by Simpson's rule; t+ at the face value of c interpolated with the same
 *   weights f / h. The ohmic integral takes kappa at the cell values
 *   (midpoint rule).
 * - Film: geometric mesh from its face, first cell first_cell_s (by default
 *   a tenth of the diffusion layer sqrt(D_s,min t_start) at the first step,
 *   so that a layer of any thickness above it is resolved with the same
 *   relative spacing), the same Kirchhoff fluxes; its resistance takes
 *   sigma_s at the cell values.
 * - End values (above): accurate once the layer spans a few end cells. At
 *   the default electrolyte mesh (smallest cell 63 nm, 20 um separator + 30
 *   um LE) the rise of c_e at x = 0 is off by 5 % at 15 us, 1 % at 0.1 ms
 *   and 0.1 % from 3 ms on (constant properties, 80 A/m^2; the rise is then
 *   0.3, 1.1 and 4 mol/m^3).
 * - Time: variable-step BDF2 (backward Euler for the first step) on a
 *   geometric grid, dt = step_fraction (t + t_start), t_start = 1e-6 t_char
 *   (t_char the shortest of L_e^2 / D(c_e,0) and, for a film, L_cam^2 /
 *   D_s,min, the time its surface would saturate by the semi-infinite law
 *   and the time to fill it), growth at most 2 per step, landing exactly on
 *   the save times and the time limit; the cut-off is found by re-solving the
 *   last step to the crossing (Illinois false position).
 * - Newton with the Thomas algorithm. Each Newton update conserves Li
 *   exactly (the flux derivatives cancel in every column), so the
 *   inventories hold to rounding whether or not Newton has converged, and
 *   BDF2 integrates the constant boundary flux I / F exactly.
 * Header-only: every function is static inline, there is no state outside
 * the arguments. */
#ifndef REF_LIB1D_H
#define REF_LIB1D_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_film.h" /* ref_film_bv_overpotential: Butler-Volmer inverted */
#include "vb_params.h"

#define REF_LIB1D_FARADAY 96485.33212 /* C/mol, PHYSICS.md §2 */
#define REF_LIB1D_GAS_R 8.314462618   /* J/(mol K) */

enum { REF_LIB1D_LI = 0, REF_LIB1D_CAM = 1 }; /* the right electrode */
enum {
	REF_LIB1D_TIME = 1,	 /* reached t_end */
	REF_LIB1D_CUTOFF = 2,	 /* U reached the cut-off (CAM) */
	REF_LIB1D_SATURATED = 3, /* the film's surface reached c_max above the cut-off */
	REF_LIB1D_DEPLETED = 4	 /* c_e reached 0 at an interface */
};

/* The cell and the discretisation. Lengths in m, current density in A/m^2
 * (> 0: LIB discharge, Li from left to right), times in s, voltages in V.
 * The property fields replace the parameter set's function by a constant
 * when >= 0 and take the set's when < 0 (ref_lib1d_default sets -1; a
 * zeroed struct is rejected: a conductivity or diffusivity of 0). */
typedef struct ref_lib1d {
	int right;			   /* REF_LIB1D_LI or REF_LIB1D_CAM */
	double L_sep, L_le, L_cam, L_li;   /* L_sep + L_le > 0; L_cam for the CAM kind */
	double current;			   /* I, A/m^2 */
	double t_end;			   /* time limit (INFINITY: none, CAM kind only) */
	double cutoff;			   /* CAM kind: stop when U <= cutoff (-INFINITY: never) */
	const double *save_times;	   /* increasing, in [0, t_end]: c_e(x) saved there */
	int save_count;			   /* entries of save_times */
	int cells_e;			   /* electrolyte cells, >= 4 */
	double stretch_e;		   /* largest / smallest cell in each region, >= 1 */
	int cells_s;			   /* film cells, >= 2 */
	double first_cell_s;		   /* film cell at the face (m); 0 = automatic */
	double step_fraction;		   /* dt = step_fraction (t + t_start), in (0, 0.5] */
	double dt_max;			   /* s, upper bound of dt (INFINITY: none) */
	double conductivity;		   /* kappa, S/m (< 0: electrolyte.conductivity(c)) */
	double diffusivity;		   /* D, m^2/s (< 0: electrolyte.diffusivity(c)) */
	double transference;		   /* t+ (< 0: electrolyte.transference(c)) */
	double thermodynamic_factor;	   /* TDF (< 0: electrolyte.thermodynamic_factor(c)) */
	double solid_diffusivity;	   /* D_s, m^2/s (< 0: cam.diffusivity(x)) */
	double solid_conductivity;	   /* sigma_s, S/m (< 0: cam.conductivity(x)) */
	double separator_diffusion_factor; /* D_eff / D in the separator (< 0: separator.
					      conductivity_factor, see above) */
	double li_exchange_exponent;	   /* beta of i_0,Li (c_e / c_e,0)^beta; 0 = PHYSICS.md */
} ref_lib1d;

/* What a run gives. The arrays are malloc'd, owned by the result and freed
 * by ref_lib1d_result_free. */
typedef struct ref_lib1d_result {
	int status;	       /* REF_LIB1D_TIME, _CUTOFF, _SATURATED or _DEPLETED */
	double t_final;	       /* s: t_end, or the cut-off crossing itself */
	double charge;	       /* C/m^2 passed, I t_final */
	double li_e0, li_cam0; /* mol/m^2 in the electrolyte and in the film at t = 0 */
	int64_t steps, newton_iterations;
	/* one point at t = 0 (current on) and after every step: time (s),
	 * voltage (V), Li in the electrolyte (mol/m^2, sum of eps h c), Li gained
	 * by the film (mol/m^2), c_e at x = 0 and at x = L_e and c_s at the film
	 * surface (mol/m^3; c_s,0 for a Li metal) */
	int64_t points;
	double *time, *voltage, *li_e, *li_cam, *ce_left, *ce_right, *cs_surf;
	/* c_e profiles (mol/m^3) at the points x (m): 0, the nx - 2 cell centres,
	 * L_e. Profile k (k < profiles, the save times reached) is profile_c +
	 * k nx, at profile_time[k] with the voltage profile_voltage[k]; c_final
	 * is the profile at t_final */
	int nx, profiles;
	double *x, *profile_time, *profile_voltage, *profile_c, *c_final;
	/* the film at t_final: c_s (mol/m^3) at xs (m from the face): the surface,
	 * then the cell centres (ns = cells_s + 1; 0 for a Li metal) */
	int ns;
	double *xs, *cs;
	char msg[256]; /* why, when ref_lib1d_run fails */
} ref_lib1d_result;

/* The cell with the default discretisation: 200 electrolyte cells (stretch
 * 10), 400 film cells (automatic first cell; the film's layer spans seven
 * decades of thickness from t_start to the cut-off, and 200 cells left 0.2
 * mV of mesh error in U near the cut-off), step fraction 0.02, no dt_max,
 * every property from the parameter set, L_li = 0, no cut-off for a Li metal
 * and cell.cutoff_voltage's 3.0 V to be set by the caller for a film. */
static inline ref_lib1d ref_lib1d_default(int right, double L_sep, double L_le, double L_cam,
					  double current, double t_end, double cutoff)
{
	ref_lib1d cfg = {0};
	cfg.right = right;
	cfg.L_sep = L_sep, cfg.L_le = L_le, cfg.L_cam = L_cam, cfg.L_li = 0;
	cfg.current = current, cfg.t_end = t_end, cfg.cutoff = cutoff;
	cfg.cells_e = 200, cfg.stretch_e = 10;
	cfg.cells_s = 400, cfg.first_cell_s = 0;
	cfg.step_fraction = 0.02, cfg.dt_max = INFINITY;
	cfg.conductivity = cfg.diffusivity = cfg.transference = cfg.thermodynamic_factor = -1;
	cfg.solid_diffusivity = cfg.solid_conductivity = -1;
	cfg.separator_diffusion_factor = -1;
	cfg.li_exchange_exponent = 0;
	return cfg;
}

/* Frees the arrays of r (a result that was filled, or zeroed); idempotent. */
static inline void ref_lib1d_result_free(ref_lib1d_result *r)
{
	if (r == NULL)
		return;
	free(r->time), free(r->voltage), free(r->li_e), free(r->li_cam);
	free(r->ce_left), free(r->ce_right), free(r->cs_surf);
	free(r->x), free(r->profile_time), free(r->profile_voltage), free(r->profile_c);
	free(r->c_final), free(r->xs), free(r->cs);
	r->time = r->voltage = r->li_e = r->li_cam = r->ce_left = r->ce_right = r->cs_surf = NULL;
	r->x = r->profile_time = r->profile_voltage = r->profile_c = r->c_final = NULL;
	r->xs = r->cs = NULL;
	r->points = 0, r->nx = r->profiles = r->ns = 0;
}

/* Linear interpolation of the profile (x[k], c[k]), k < n, x increasing, at
 * xq (clamped to the ends). */
static inline double ref_lib1d_interp(const double *x, const double *c, int n, double xq)
{
	if (xq <= x[0])
		return c[0];
	if (xq >= x[n - 1])
		return c[n - 1];
	int lo = 0, hi = n - 1;
	while (hi - lo > 1) {
		int mid = (lo + hi) / 2;
		if (x[mid] <= xq)
			lo = mid;
		else
			hi = mid;
	}
	const double s = (xq - x[lo]) / (x[hi] - x[lo]);
	return c[lo] + s * (c[hi] - c[lo]);
}

/* ---- internals of ref_lib1d_run ---- */

/* Everything one run needs, derived once from the parameter set. */
typedef struct ref_lib1d_model {
	const vb_params *p;
	const ref_lib1d *cfg;
	double f, I, J;		/* F/(R T); A/m^2; I/F in mol/(m^2 s) */
	double c0, cs0, cs_max; /* c_e,0, c_s,0, c_s,max (mol/m^3) */
	double i00, alpha_c, i0_li, alpha_li, U_li, R_li;
	int n, m;			  /* electrolyte and film cells */
	double *h, *xc, *store, *fk, *fd; /* electrolyte: widths, centres, eps h, factors */
	double *r_face, *w_face; /* face resistance h_L/2f_L + h_R/2f_R (m), weight of c_L */
	double *hs, *xs, *ds;	 /* film: widths, centres from the face, centre spacing */
	double *D, *dD, *dDm;	 /* scratch: D and dD/dc at cells, dD/dc at face midpoints */
	double *lower, *diag, *upper, *rhs;
} ref_lib1d_model;

/* An electrolyte property (key at c in mol/m^3) and its derivative d/dc,
 * or the constant that replaces it. */
static inline double ref_lib1d_prop(const ref_lib1d_model *m, const char *key, double constant,
				    double c, double *d_dc)
{
	if (constant >= 0) {
		if (d_dc != NULL)
			*d_dc = 0;
		return constant;
	}
	if (d_dc != NULL)
		*d_dc = vb_params_eval_derivative(m->p, key, c);
	return vb_params_eval(m->p, key, c);
}

static inline double ref_lib1d_D(const ref_lib1d_model *m, double c, double *d_dc)
{
	return ref_lib1d_prop(m, "electrolyte.diffusivity", m->cfg->diffusivity, c, d_dc);
}

static inline double ref_lib1d_tplus(const ref_lib1d_model *m, double c, double *d_dc)
{
	return ref_lib1d_prop(m, "electrolyte.transference", m->cfg->transference, c, d_dc);
}

/* D_s (m^2/s) and dD_s/dc_s at the film concentration c (mol/m^3). */
static inline double ref_lib1d_Ds(const ref_lib1d_model *m, double c, double *d_dc)
{
	if (m->cfg->solid_diffusivity >= 0) {
		*d_dc = 0;
		return m->cfg->solid_diffusivity;
	}
	const double x = c / m->cs_max;
	*d_dc = vb_params_eval_derivative(m->p, "cam.diffusivity", x) / m->cs_max;
	return vb_params_eval(m->p, "cam.diffusivity", x);
}

/* Solves the tridiagonal system (lower, diag, upper) delta = rhs in place
 * (Thomas algorithm; the result in rhs, diag overwritten). */
static inline void ref_lib1d_thomas(double *lower, double *diag, const double *upper, double *rhs,
				    int n)
{
	for (int i = 1; i < n; i++) {
		const double q = lower[i] / diag[i - 1];
		diag[i] -= q * upper[i - 1];
		rhs[i] -= q * rhs[i - 1];
	}
	rhs[n - 1] /= diag[n - 1];
	for (int i = n - 2; i >= 0; i--)
		rhs[i] = (rhs[i] - upper[i] * rhs[i + 1]) / diag[i];
}

/* One BDF2 step of the electrolyte: a0 c + a1 c1 + a2 c2 is dc/dt at the new
 * time (c1 at t, c2 one step before); c holds the predictor on entry and the
 * solution on return. Residual of cell i:
 *   R_i = eps_i h_i (a0 c_i + a1 c1_i + a2 c2_i) + N_{i+1/2} - N_{i-1/2},
 *   N_{-1/2} = N_{n-1/2} = I/F,
 *   N_{i+1/2} = -(c_{i+1} - c_i) Dbar / r_{i+1/2} + t+(c_face) I/F,
 * Dbar the Simpson mean of D over [c_i, c_{i+1}]. Returns the Newton
 * iterations, -1 if Newton fails or c leaves (0, inf). */
static inline int ref_lib1d_step_e(ref_lib1d_model *m, const double *c1, const double *c2,
				   double a0, double a1, double a2, double *c)
{
	const int n = m->n;
	const double J = m->J, tol = 1e-11 * m->c0;
	for (int it = 1; it <= 40; it++) {
		for (int i = 0; i < n; i++) {
			if (!(c[i] > 0) || !isfinite(c[i]))
				return -1;
			m->D[i] = ref_lib1d_D(m, c[i], &m->dD[i]);
			m->rhs[i] = m->store[i] * (a0 * c[i] + a1 * c1[i] + a2 * c2[i]);
			m->diag[i] = m->store[i] * a0;
			m->lower[i] = m->upper[i] = 0;
		}
		m->rhs[0] -= J, m->rhs[n - 1] += J;
		for (int i = 0; i + 1 < n; i++) {
			const double cl = c[i], cr = c[i + 1], w = m->w_face[i];
			const double Dm = ref_lib1d_D(m, 0.5 * (cl + cr), &m->dDm[i]);
			double dt_dc;
			const double t = ref_lib1d_tplus(m, w * cl + (1 - w) * cr, &dt_dc);
			const double Dbar = (m->D[i] + 4 * Dm + m->D[i + 1]) / 6, dc = cr - cl;
			const double dG_dl = -Dbar + dc * (m->dD[i] + 2 * m->dDm[i]) / 6;
			const double dG_dr = Dbar + dc * (2 * m->dDm[i] + m->dD[i + 1]) / 6;
			const double r = m->r_face[i];
			const double N = -dc * Dbar / r + t * J;
			const double dN_dl = -dG_dl / r + dt_dc * w * J;
			const double dN_dr = -dG_dr / r + dt_dc * (1 - w) * J;
			m->rhs[i] += N, m->rhs[i + 1] -= N;
			m->diag[i] += dN_dl, m->upper[i] += dN_dr;
			m->lower[i + 1] -= dN_dl, m->diag[i + 1] -= dN_dr;
		}
		for (int i = 0; i < n; i++)
			m->rhs[i] = -m->rhs[i];
		ref_lib1d_thomas(m->lower, m->diag, m->upper, m->rhs, n);
		double change = 0;
		for (int i = 0; i < n; i++) {
			c[i] += m->rhs[i];
			change = fmax(change, fabs(m->rhs[i]));
		}
		if (!isfinite(change))
			return -1;
		if (change <= tol)
			return it;
	}
	return -1;
}

/* One BDF2 step of the film in the deviations w = c_s - c_s,0 (so that the
 * Li gained is summed without cancellation); w holds the predictor on entry.
 *   R_j = h_j (a0 w_j + a1 w1_j + a2 w2_j) + Q_{j+1/2} - Q_{j-1/2},
 *   Q_{-1/2} = I/F (into the film at its face), Q_{m-1/2} = 0,
 *   Q_{j+1/2} = -(c_{j+1} - c_j) Dbar / ds_j. */
static inline int ref_lib1d_step_s(ref_lib1d_model *m, const double *w1, const double *w2,
				   double a0, double a1, double a2, double *w)
{
	const int n = m->m;
	const double tol = 1e-11 * m->cs_max;
	for (int it = 1; it <= 40; it++) {
		for (int j = 0; j < n; j++) {
			const double c = m->cs0 + w[j];
			if (!(c > 0) || !isfinite(c))
				return -1;
			m->D[j] = ref_lib1d_Ds(m, c, &m->dD[j]);
			if (!(m->D[j] > 0))
				return -1;
			m->rhs[j] = m->hs[j] * (a0 * w[j] + a1 * w1[j] + a2 * w2[j]);
			m->diag[j] = m->hs[j] * a0;
			m->lower[j] = m->upper[j] = 0;
		}
		m->rhs[0] -= m->J;
		for (int j = 0; j + 1 < n; j++) {
			const double dc = w[j + 1] - w[j];
			const double Dm =
				ref_lib1d_Ds(m, m->cs0 + 0.5 * (w[j] + w[j + 1]), &m->dDm[j]);
			const double Dbar = (m->D[j] + 4 * Dm + m->D[j + 1]) / 6;
			const double dG_dl = -Dbar + dc * (m->dD[j] + 2 * m->dDm[j]) / 6;
			const double dG_dr = Dbar + dc * (2 * m->dDm[j] + m->dD[j + 1]) / 6;
			const double d = m->ds[j];
			const double Q = -dc * Dbar / d;
			m->rhs[j] += Q, m->rhs[j + 1] -= Q;
			m->diag[j] -= dG_dl / d, m->upper[j] -= dG_dr / d;
			m->lower[j + 1] += dG_dl / d, m->diag[j + 1] += dG_dr / d;
		}
		for (int j = 0; j < n; j++)
			m->rhs[j] = -m->rhs[j];
		ref_lib1d_thomas(m->lower, m->diag, m->upper, m->rhs, n);
		double change = 0;
		for (int j = 0; j < n; j++) {
			w[j] += m->rhs[j];
			change = fmax(change, fabs(m->rhs[j]));
		}
		if (!isfinite(change))
			return -1;
		if (change <= tol)
			return it;
	}
	return -1;
}

/* c_e (mol/m^3) at an electrolyte end (side 0: x = 0, 1: x = L_e) of the
 * state c, from the end cell's value and the interface flux: on the half
 * cell of width h/2 and diffusive factor fd, N = I/F gives
 *   left:  G(c_1) - G(b) = -(h / (2 fd)) (1 - t+(b)) I/F
 *   right: G(b) - G(c_1) = -(h / (2 fd)) (1 - t+(b)) I/F,
 * G differences by Simpson's rule; Newton on b. NaN if b leaves (0, inf). */
static inline double ref_lib1d_end_value(const ref_lib1d_model *m, const double *c, int side)
{
	const int i = side ? m->n - 1 : 0;
	const double c1 = c[i], a = m->h[i] / (2 * m->fd[i]) * m->J, sgn = side ? 1 : -1;
	/* residual: sgn (b - c1) Dbar(c1, b) + a (1 - t+(b)) = 0 */
	double dD1, D1 = ref_lib1d_D(m, c1, &dD1);
	double b = c1 - sgn * a * (1 - ref_lib1d_tplus(m, c1, NULL)) / D1;
	for (int it = 0; it < 60; it++) {
		if (!(b > 0) || !isfinite(b))
			return NAN;
		double dDb, dDm, dt;
		const double Db = ref_lib1d_D(m, b, &dDb),
			     Dm = ref_lib1d_D(m, 0.5 * (b + c1), &dDm);
		const double t = ref_lib1d_tplus(m, b, &dt);
		const double Dbar = (D1 + 4 * Dm + Db) / 6;
		const double g = sgn * (b - c1) * Dbar + a * (1 - t);
		const double dg = sgn * (Dbar + (b - c1) * (2 * dDm + dDb) / 6) - a * dt;
		const double step = g / dg;
		b -= step;
		if (fabs(step) <= 1e-15 * b)
			break;
	}
	return b > 0 && isfinite(b) ? b : NAN;
}

/* c_s (mol/m^3) at the film surface of the state w: the half cell at the
 * face carries I/F, G_s(b) - G_s(c_1) = (h_1 / 2) I/F. NaN when no b in
 * (0, c_max) can (the surface is saturated, or emptied on charge). */
static inline double ref_lib1d_surface_value(const ref_lib1d_model *m, const double *w)
{
	const double c1 = m->cs0 + w[0], a = 0.5 * m->hs[0] * m->J;
	double dD1;
	const double D1 = ref_lib1d_Ds(m, c1, &dD1);
	/* g(b) = (b - c_1) Dbar(c_1, b) - a increases with b; the root lies in
	 * [c_1, c_max] for a >= 0, in [0, c_1] for a < 0, if anywhere */
	double lo = a >= 0 ? c1 : 0, hi = a >= 0 ? m->cs_max : c1;
	const double end = a >= 0 ? hi : lo;
	double dDe, dDme;
	const double g_end = (end - c1) *
				     (D1 + 4 * ref_lib1d_Ds(m, 0.5 * (end + c1), &dDme) +
				      ref_lib1d_Ds(m, end, &dDe)) /
				     6 -
			     a;
	if (!(c1 > 0 && c1 < m->cs_max) || (a >= 0 ? !(g_end > 0) : !(g_end < 0)))
		return NAN;
	double b = c1 + a / D1;
	for (int it = 0; it < 200; it++) {
		if (!(b > lo && b < hi))
			b = 0.5 * (lo + hi);
		double dDb, dDm;
		const double Db = ref_lib1d_Ds(m, b, &dDb),
			     Dm = ref_lib1d_Ds(m, 0.5 * (b + c1), &dDm);
		const double Dbar = (D1 + 4 * Dm + Db) / 6;
		const double g = (b - c1) * Dbar - a;
		if (g == 0)
			break;
		if (g > 0)
			hi = b;
		else
			lo = b;
		const double step = g / (Dbar + (b - c1) * (2 * dDm + dDb) / 6);
		b -= step;
		if (fabs(step) <= 1e-15 * m->cs_max || hi - lo <= 1e-15 * m->cs_max)
			break;
	}
	return b > 0 && b < m->cs_max ? b : NAN;
}

/* int_{ca}^{cb} (1 - t+) TDF dc / c: the diffusion potential over 2/f, a
 * function of the end values alone (the integrand depends on c only).
 * Gauss-Legendre (5 points) on 16 equal pieces of ln c. */
static inline double ref_lib1d_diffusion_integral(const ref_lib1d_model *m, double ca, double cb)
{
	static const double node[5] = {0, -0.5384693101056831, 0.5384693101056831,
				       -0.9061798459386640, 0.9061798459386640};
	static const double weight[5] = {0.5688888888888889, 0.4786286704993665, 0.4786286704993665,
					 0.2369268850561891, 0.2369268850561891};
	const double ua = log(ca), ub = log(cb), piece = (ub - ua) / 16;
	double s = 0;
	for (int k = 0; k < 16; k++)
		for (int q = 0; q < 5; q++) {
			const double c = exp(ua + piece * (k + 0.5 + 0.5 * node[q]));
			const double t = ref_lib1d_tplus(m, c, NULL);
			const double tdf = ref_lib1d_prop(m, "electrolyte.thermodynamic_factor",
							  m->cfg->thermodynamic_factor, c, NULL);
			s += 0.5 * piece * weight[q] * (1 - t) * tdf;
		}
	return s;
}

/* Cell voltage (V) of the state (c_e = c, film w; PHYSICS.md §2 reduced to
 * x, see the top of this file); the interface values into *ce_left,
 * *ce_right, *cs_surf. NaN when c_e at an interface or the film surface
 * leaves its range (*why: REF_LIB1D_DEPLETED or REF_LIB1D_SATURATED). */
static inline double ref_lib1d_voltage(const ref_lib1d_model *m, const double *c, const double *w,
				       double *ce_left, double *ce_right, double *cs_surf, int *why)
{
	const double I = m->I, f = m->f;
	const double cl = ref_lib1d_end_value(m, c, 0), cr = ref_lib1d_end_value(m, c, 1);
	*ce_left = cl, *ce_right = cr, *cs_surf = m->cs0;
	*why = 0;
	if (isnan(cl) || isnan(cr)) {
		*why = REF_LIB1D_DEPLETED;
		return NAN;
	}
	double R_e = 0; /* int dx / kappa_eff, midpoint rule on the cells */
	for (int i = 0; i < m->n; i++)
		R_e += m->h[i] / (m->fk[i] * ref_lib1d_prop(m, "electrolyte.conductivity",
							    m->cfg->conductivity, c[i], NULL));
	const double dphi_e = -I * R_e + 2 / f * ref_lib1d_diffusion_integral(m, cl, cr);
	const double beta = m->cfg->li_exchange_exponent;
	const double eta_li =
		ref_film_bv_overpotential(I, m->i0_li * pow(cl / m->c0, beta), m->alpha_li, f);
	const double phi_e_left = -I * m->R_li - m->U_li - eta_li;
	const double phi_e_right = phi_e_left + dphi_e;
	if (m->cfg->right == REF_LIB1D_LI) {
		const double eta = ref_film_bv_overpotential(-I, m->i0_li * pow(cr / m->c0, beta),
							     m->alpha_li, f);
		return phi_e_right + m->U_li + eta - I * m->R_li;
	}
	const double cs = ref_lib1d_surface_value(m, w);
	*cs_surf = cs;
	if (isnan(cs)) {
		*why = REF_LIB1D_SATURATED;
		return NAN;
	}
	const double a = m->alpha_c;
	const double i0 = m->i00 * pow(cr, a) * pow(cs, a) * pow(m->cs_max - cs, 1 - a);
	const double eta = ref_film_bv_overpotential(-I, i0, a, f);
	double R_film = 0; /* int dx / sigma_s(c_s), midpoint rule on the cells */
	for (int j = 0; j < m->m; j++) {
		const double sigma = m->cfg->solid_conductivity >= 0
					     ? m->cfg->solid_conductivity
					     : vb_params_eval(m->p, "cam.conductivity",
							      (m->cs0 + w[j]) / m->cs_max);
		R_film += m->hs[j] / sigma;
	}
	const double U0 = vb_params_eval(m->p, "cam.ocp", cs / m->cs_max);
	const double U = phi_e_right + U0 + eta - I * R_film;
	if (isnan(U))
		*why = REF_LIB1D_SATURATED;
	return U;
}

/* Li in the electrolyte (mol/m^2): sum of eps h c. */
static inline double ref_lib1d_li_e(const ref_lib1d_model *m, const double *c)
{
	double s = 0;
	for (int i = 0; i < m->n; i++)
		s += m->store[i] * c[i];
	return s;
}

/* Li gained by the film (mol/m^2): sum of h (c_s - c_s,0). */
static inline double ref_lib1d_li_cam(const ref_lib1d_model *m, const double *w)
{
	double s = 0;
	for (int j = 0; j < m->m; j++)
		s += m->hs[j] * w[j];
	return s;
}

/* Grows the time series to hold one more point; -1 when out of memory. */
static inline int ref_lib1d_grow(ref_lib1d_result *out, int64_t *cap)
{
	if (out->points < *cap)
		return 0;
	const int64_t grown = *cap ? 2 * *cap : 1024;
	double **arr[7] = {&out->time,	  &out->voltage,  &out->li_e,	&out->li_cam,
			   &out->ce_left, &out->ce_right, &out->cs_surf};
	for (int k = 0; k < 7; k++) {
		double *g = realloc(*arr[k], (size_t)grown * sizeof *g);
		if (g == NULL)
			return -1;
		*arr[k] = g;
	}
	*cap = grown;
	return 0;
}

/* Appends the point (t, state) to the time series; its voltage to *U. */
static inline int ref_lib1d_record(const ref_lib1d_model *m, ref_lib1d_result *out, int64_t *cap,
				   double t, const double *c, const double *w, double *U, int *why)
{
	if (ref_lib1d_grow(out, cap) != 0)
		return -1;
	const int64_t k = out->points++;
	out->time[k] = t;
	out->voltage[k] = *U = ref_lib1d_voltage(m, c, w, &out->ce_left[k], &out->ce_right[k],
						 &out->cs_surf[k], why);
	out->li_e[k] = ref_lib1d_li_e(m, c);
	out->li_cam[k] = m->m > 0 ? ref_lib1d_li_cam(m, w) : 0;
	return 0;
}

/* Fills row k of a profile with the state c: the two end values around the
 * cell values. */
static inline void ref_lib1d_profile(const ref_lib1d_model *m, const double *c, double *row)
{
	row[0] = ref_lib1d_end_value(m, c, 0);
	for (int i = 0; i < m->n; i++)
		row[i + 1] = c[i];
	row[m->n + 1] = ref_lib1d_end_value(m, c, 1);
}

/* Two-sided geometric widths of n cells over length L: the finest cells at
 * both ends, largest / smallest = stretch. */
static inline void ref_lib1d_graded(double L, int n, double stretch, double *h)
{
	const int half = (n + 1) / 2;
	const double r = half > 1 ? pow(stretch, 1.0 / (half - 1)) : 1;
	double sum = 0;
	for (int i = 0; i < n; i++) {
		const int k = i < n - 1 - i ? i : n - 1 - i;
		h[i] = pow(r, k);
		sum += h[i];
	}
	for (int i = 0; i < n; i++)
		h[i] *= L / sum;
}

/* One step of both fields from (ce1, w1) at t and (ce2, w2) at t - dt_prev
 * (dt_prev = 0: backward Euler) to (ce, w); linear extrapolation predicts.
 * Returns the Newton iterations, -1 on failure. */
static inline int ref_lib1d_step(ref_lib1d_model *m, double dt, double dt_prev, const double *ce1,
				 const double *ce2, double *ce, const double *w1, const double *w2,
				 double *w)
{
	double a0 = 1 / dt, a1 = -1 / dt, a2 = 0, q = 0;
	if (dt_prev > 0) {
		/* variable-step BDF2: exact for c linear in t */
		const double r = dt / dt_prev;
		a0 = (1 + 2 * r) / ((1 + r) * dt);
		a1 = -(1 + r) / dt;
		a2 = r * r / ((1 + r) * dt);
		q = r;
	}
	for (int i = 0; i < m->n; i++)
		ce[i] = ce1[i] + q * (ce1[i] - ce2[i]);
	const int it = ref_lib1d_step_e(m, ce1, ce2, a0, a1, a2, ce);
	if (it < 0 || m->m == 0)
		return it;
	for (int j = 0; j < m->m; j++)
		w[j] = w1[j] + q * (w1[j] - w2[j]);
	const int its = ref_lib1d_step_s(m, w1, w2, a0, a1, a2, w);
	return its < 0 ? -1 : it + its;
}

/* Runs cfg with the parameters p (PHYSICS.md §2, §3) until t_end or, for
 * the CAM kind, U <= cutoff; fills *out (the caller frees it with
 * ref_lib1d_result_free, also after a failure). Returns 0, -1 for invalid
 * input (a key missing from p, a length, current or discretisation out of
 * range), -2 when Newton fails or memory runs out; out->msg says which. */
static inline int ref_lib1d_run(const vb_params *p, const ref_lib1d *cfg, ref_lib1d_result *out)
{
	memset(out, 0, sizeof *out);
	ref_lib1d_model m = {0};
	m.p = p, m.cfg = cfg;
	const double I = cfg->current, T = vb_params_get(p, "cell.temperature");
	const int cam = cfg->right == REF_LIB1D_CAM;
	m.f = REF_LIB1D_FARADAY / (REF_LIB1D_GAS_R * T);
	m.I = I, m.J = I / REF_LIB1D_FARADAY;
	m.c0 = vb_params_get(p, "electrolyte.c_init");
	m.cs_max = vb_params_get(p, "cam.c_max"), m.cs0 = vb_params_get(p, "cam.c_init");
	m.i00 = vb_params_get(p, "cam.exchange_factor"), m.alpha_c = vb_params_get(p, "cam.alpha");
	m.i0_li = vb_params_get(p, "li_metal.exchange_current");
	m.alpha_li = vb_params_get(p, "li_metal.alpha");
	m.U_li = vb_params_get(p, "li_metal.ocp");
	m.R_li = cfg->L_li / vb_params_get(p, "li_metal.conductivity");
	const double eps_sep = vb_params_get(p, "separator.porosity");
	const double fk_sep = vb_params_get(p, "separator.conductivity_factor");
	const double fd_sep =
		cfg->separator_diffusion_factor >= 0 ? cfg->separator_diffusion_factor : fk_sep;
	const double D0 = ref_lib1d_D(&m, m.c0, NULL);
	if (!(m.f > 0) || !(m.c0 > 0) || !(m.cs_max > m.cs0) || !(m.cs0 >= 0) || !(m.i00 > 0) ||
	    !(m.alpha_c >= 0 && m.alpha_c <= 1) || !(m.i0_li > 0) ||
	    !(m.alpha_li >= 0 && m.alpha_li <= 1) || !isfinite(m.U_li) || !(m.R_li >= 0) ||
	    !(eps_sep > 0 && eps_sep <= 1) || !(fk_sep > 0) || !(fd_sep > 0) || !(D0 > 0) ||
	    !(ref_lib1d_prop(&m, "electrolyte.conductivity", cfg->conductivity, m.c0, NULL) > 0) ||
	    !(ref_lib1d_tplus(&m, m.c0, NULL) >= 0) ||
	    !(ref_lib1d_prop(&m, "electrolyte.thermodynamic_factor", cfg->thermodynamic_factor,
			     m.c0, NULL) > 0)) {
		snprintf(out->msg, sizeof out->msg,
			 "ref_lib1d: a parameter is missing or invalid (not a LIB set, or a "
			 "constant of 0 from a zeroed ref_lib1d?)");
		return -1;
	}
	const double L_e = cfg->L_sep + cfg->L_le;
	if (!isfinite(I) || !(cfg->L_sep >= 0) || !(cfg->L_le >= 0) || !(L_e > 0) ||
	    !(cfg->L_li >= 0) || (cam && !(cfg->L_cam > 0)) ||
	    !(cfg->right == REF_LIB1D_LI || cam) || cfg->cells_e < 4 || cfg->cells_e > 1000000 ||
	    !(cfg->stretch_e >= 1) || (cam && (cfg->cells_s < 2 || cfg->cells_s > 1000000)) ||
	    !(cfg->first_cell_s >= 0) || !(cfg->step_fraction > 0 && cfg->step_fraction <= 0.5) ||
	    !(cfg->dt_max > 0) || !(cfg->t_end >= 0) || (!cam && !isfinite(cfg->t_end)) ||
	    (cfg->save_count > 0 && cfg->save_times == NULL) || cfg->save_count < 0 ||
	    isnan(cfg->cutoff) || !isfinite(cfg->li_exchange_exponent)) {
		snprintf(out->msg, sizeof out->msg,
			 "ref_lib1d: invalid cell or discretisation (I %g A/m2, L_sep %g m, L_le "
			 "%g m, L_cam %g m, cells %d/%d, step fraction %g, t_end %g s)",
			 I, cfg->L_sep, cfg->L_le, cfg->L_cam, cfg->cells_e, cfg->cells_s,
			 cfg->step_fraction, cfg->t_end);
		return -1;
	}
	for (int k = 0; k < cfg->save_count; k++)
		if (!(cfg->save_times[k] >= 0 && cfg->save_times[k] <= cfg->t_end) ||
		    (k > 0 && !(cfg->save_times[k] > cfg->save_times[k - 1]))) {
			snprintf(out->msg, sizeof out->msg,
				 "ref_lib1d: save time %d (%g s) not increasing within [0, t_end]",
				 k, cfg->save_times[k]);
			return -1;
		}

	/* cells per region: in proportion to length, at least 10 each */
	int n_sep = 0, n_le = 0;
	if (cfg->L_sep > 0 && cfg->L_le > 0) {
		n_sep = (int)lround(cfg->cells_e * cfg->L_sep / L_e);
		n_sep = n_sep < 10 ? 10 : n_sep > cfg->cells_e - 10 ? cfg->cells_e - 10 : n_sep;
		n_le = cfg->cells_e - n_sep;
	} else if (cfg->L_sep > 0) {
		n_sep = cfg->cells_e;
	} else {
		n_le = cfg->cells_e;
	}
	const int n = cfg->cells_e, ms = cam ? cfg->cells_s : 0;
	m.n = n, m.m = ms;
	const int big = n > ms ? n : ms;
	/* electrolyte: h xc store fk fd r_face w_face, 4 states; film: hs xs ds,
	 * 4 states; scratch: 7 rows of the larger */
	double *block =
		malloc(((size_t)n * 11 + (size_t)ms * 7 + (size_t)big * 7 + 8) * sizeof *block);
	if (block == NULL) {
		snprintf(out->msg, sizeof out->msg, "ref_lib1d: out of memory");
		return -2;
	}
	double *next = block;
#define REF_LIB1D_TAKE(ptr, len) (ptr = next, next += (len))
	REF_LIB1D_TAKE(m.h, n), REF_LIB1D_TAKE(m.xc, n), REF_LIB1D_TAKE(m.store, n);
	REF_LIB1D_TAKE(m.fk, n), REF_LIB1D_TAKE(m.fd, n), REF_LIB1D_TAKE(m.r_face, n);
	REF_LIB1D_TAKE(m.w_face, n);
	double *ce_old, *ce_now, *ce_new, *ce_try, *w_old = NULL, *w_now = NULL, *w_new = NULL,
						   *w_try = NULL;
	REF_LIB1D_TAKE(ce_old, n), REF_LIB1D_TAKE(ce_now, n), REF_LIB1D_TAKE(ce_new, n);
	REF_LIB1D_TAKE(ce_try, n);
	REF_LIB1D_TAKE(m.hs, ms), REF_LIB1D_TAKE(m.xs, ms), REF_LIB1D_TAKE(m.ds, ms);
	REF_LIB1D_TAKE(w_old, ms), REF_LIB1D_TAKE(w_now, ms), REF_LIB1D_TAKE(w_new, ms);
	REF_LIB1D_TAKE(w_try, ms);
	REF_LIB1D_TAKE(m.D, big), REF_LIB1D_TAKE(m.dD, big), REF_LIB1D_TAKE(m.dDm, big);
	REF_LIB1D_TAKE(m.lower, big), REF_LIB1D_TAKE(m.diag, big), REF_LIB1D_TAKE(m.upper, big);
	REF_LIB1D_TAKE(m.rhs, big);
#undef REF_LIB1D_TAKE
	int rc = 0;

	/* the electrolyte mesh */
	if (n_sep > 0)
		ref_lib1d_graded(cfg->L_sep, n_sep, cfg->stretch_e, m.h);
	if (n_le > 0)
		ref_lib1d_graded(cfg->L_le, n_le, cfg->stretch_e, m.h + n_sep);
	double x = 0;
	for (int i = 0; i < n; i++) {
		const int sep = i < n_sep;
		m.xc[i] = x + 0.5 * m.h[i];
		x += m.h[i];
		m.store[i] = (sep ? eps_sep : 1) * m.h[i];
		m.fk[i] = sep ? fk_sep : 1;
		m.fd[i] = sep ? fd_sep : 1;
	}
	for (int i = 0; i + 1 < n; i++) {
		m.r_face[i] = m.h[i] / (2 * m.fd[i]) + m.h[i + 1] / (2 * m.fd[i + 1]);
		const double wl = m.fd[i] / m.h[i], wr = m.fd[i + 1] / m.h[i + 1];
		m.w_face[i] = wl / (wl + wr);
	}

	/* time scales: electrolyte diffusion across L_e; for a film, the time
	 * its surface would reach c_max by the semi-infinite law c_s - c_s,0 =
	 * 2 (I/F) sqrt(t / (pi D_s)), and the time to fill it */
	double t_char = L_e * L_e / D0;
	if (cam) {
		double D_min = INFINITY, dummy;
		for (int k = 0; k <= 64; k++)
			D_min = fmin(D_min, ref_lib1d_Ds(&m, m.cs0 + (m.cs_max - m.cs0) * k / 64.0,
							 &dummy));
		if (!(D_min > 0)) {
			snprintf(out->msg, sizeof out->msg,
				 "ref_lib1d: cam.diffusivity is %g m2/s in [c_s,0, c_max], "
				 "expected > 0",
				 D_min);
			free(block);
			return -1;
		}
		const double room = m.cs_max - m.cs0, J = fabs(m.J);
		double t_s = cfg->L_cam * cfg->L_cam / D_min;
		if (J > 0) {
			t_s = fmin(t_s, 3.14159265358979323846 * D_min * pow(room / (2 * J), 2));
			t_s = fmin(t_s, room * cfg->L_cam / J);
		}
		t_char = fmin(t_char, t_s);
		/* film mesh: geometric from the face, so that it resolves a layer
		 * of any thickness above a few h0 with the same relative spacing r -
		 * 1; h0 a tenth of the layer at the first step, sqrt(D_min
		 * t_start) (a cell-centred surface value extrapolated over a first
		 * cell thicker than the layer overstates the rise). The ratio r from
		 * h0 (r^ms - 1) / (r - 1) = L_cam by bisection on ln r */
		const double h0 = cfg->first_cell_s > 0 ? cfg->first_cell_s
							: 0.1 * sqrt(D_min * 1e-6 * t_char);
		double r = 1;
		if (h0 * ms < cfg->L_cam) {
			double lo = 0, hi = 50.0 / ms + 1;
			for (int k = 0; k < 200; k++) {
				const double mid = 0.5 * (lo + hi);
				const double len = h0 * expm1(mid * ms) / expm1(mid);
				if (len > cfg->L_cam)
					hi = mid;
				else
					lo = mid;
			}
			r = exp(0.5 * (lo + hi));
		}
		double sum = 0;
		for (int j = 0; j < ms; j++)
			m.hs[j] = pow(r, j), sum += m.hs[j];
		double xs = 0;
		for (int j = 0; j < ms; j++) {
			m.hs[j] *= cfg->L_cam / sum;
			m.xs[j] = xs + 0.5 * m.hs[j];
			xs += m.hs[j];
		}
		for (int j = 0; j + 1 < ms; j++)
			m.ds[j] = 0.5 * (m.hs[j] + m.hs[j + 1]);
	}
	const double t_start = 1e-6 * t_char;

	for (int i = 0; i < n; i++)
		ce_old[i] = ce_now[i] = m.c0;
	for (int j = 0; j < ms; j++)
		w_old[j] = w_now[j] = 0;
	out->nx = n + 2;
	const int save_max = cfg->save_count;
	out->x = malloc((size_t)(n + 2) * sizeof *out->x);
	out->c_final = malloc((size_t)(n + 2) * sizeof *out->c_final);
	out->profile_c = malloc(((size_t)save_max * (size_t)(n + 2) + 1) * sizeof *out->profile_c);
	out->profile_time = malloc(((size_t)save_max + 1) * sizeof *out->profile_time);
	out->profile_voltage = malloc(((size_t)save_max + 1) * sizeof *out->profile_voltage);
	if (out->x == NULL || out->c_final == NULL || out->profile_c == NULL ||
	    out->profile_time == NULL || out->profile_voltage == NULL)
		goto nomem;
	out->x[0] = 0, out->x[n + 1] = L_e;
	for (int i = 0; i < n; i++)
		out->x[i + 1] = m.xc[i];
	out->li_e0 = ref_lib1d_li_e(&m, ce_now);
	out->li_cam0 = cam ? m.cs0 * cfg->L_cam : 0;

	int64_t cap = 0;
	int save = 0, why = 0;
	double t = 0, dt_prev = 0, U;
	if (ref_lib1d_record(&m, out, &cap, 0, ce_now, w_now, &U, &why) != 0)
		goto nomem;
	out->status = REF_LIB1D_TIME;
	while (save < save_max && cfg->save_times[save] <= 0) {
		ref_lib1d_profile(&m, ce_now, out->profile_c + (size_t)out->profiles * (n + 2));
		out->profile_time[out->profiles] = 0, out->profile_voltage[out->profiles++] = U;
		save++;
	}
	if (isnan(U) || (cam && !(U > cfg->cutoff))) {
		out->status = isnan(U) ? why : REF_LIB1D_CUTOFF;
		goto done;
	}
	while (t < cfg->t_end) {
		double dt = fmin(cfg->step_fraction * (t + t_start), cfg->dt_max);
		if (dt_prev > 0)
			dt = fmin(dt, 2 * dt_prev); /* variable BDF2 is zero-stable below 2.41 */
		/* land on the next save time or t_end; no sliver of a step before it */
		const double target =
			save < save_max ? fmin(cfg->save_times[save], cfg->t_end) : cfg->t_end;
		int landing = 0;
		if (t + dt >= target) {
			dt = target - t, landing = 1;
		} else if (t + 1.5 * dt > target) {
			dt = 0.5 * (target - t);
		}
		int it = ref_lib1d_step(&m, dt, dt_prev, ce_now, ce_old, ce_new, w_now, w_old,
					w_new);
		for (int retry = 0; retry < 30 && it < 0; retry++) {
			dt *= 0.25, landing = 0;
			it = ref_lib1d_step(&m, dt, dt_prev, ce_now, ce_old, ce_new, w_now, w_old,
					    w_new);
		}
		if (it < 0) {
			snprintf(out->msg, sizeof out->msg,
				 "ref_lib1d: Newton does not converge at t = %g s", t);
			rc = -2;
			goto done;
		}
		out->steps++, out->newton_iterations += it;
		double cl, cr, csf;
		const double U_new = ref_lib1d_voltage(&m, ce_new, w_new, &cl, &cr, &csf, &why);
		if (!isnan(U_new) && (!cam || U_new > cfg->cutoff)) {
			t = landing ? target : t + dt;
			dt_prev = dt;
			double *s = ce_old;
			ce_old = ce_now, ce_now = ce_new, ce_new = s;
			s = w_old, w_old = w_now, w_now = w_new, w_new = s;
			if (ref_lib1d_record(&m, out, &cap, t, ce_now, w_now, &U, &why) != 0)
				goto nomem;
			while (save < save_max && cfg->save_times[save] <= t) {
				ref_lib1d_profile(&m, ce_now,
						  out->profile_c + (size_t)out->profiles * (n + 2));
				out->profile_time[out->profiles] = t;
				out->profile_voltage[out->profiles++] = U;
				save++;
			}
			if (out->steps > 50000000) {
				snprintf(out->msg, sizeof out->msg,
					 "ref_lib1d: no end after %lld steps",
					 (long long)out->steps);
				rc = -2;
				goto done;
			}
			continue;
		}
		/* the step crosses the cut-off (or ends beyond the range of c): re-solve
		 * it for the length that lands on U = cutoff; Illinois false position,
		 * bisection while the far end is out of range */
		const double cut = cam ? cfg->cutoff : -INFINITY;
		int why_hi = why, side = 0, found = 0;
		double lo = 0, hi = dt, g_lo = U - cut,
		       g_hi = isnan(U_new) ? -INFINITY : U_new - cut;
		for (int k = 0; k < 300 && hi - lo > 1e-14 * (t + hi); k++) {
			double mid = isfinite(g_hi) && isfinite(g_lo)
					     ? (lo * g_hi - hi * g_lo) / (g_hi - g_lo)
					     : 0.5 * (lo + hi);
			if (!(mid > lo && mid < hi))
				mid = 0.5 * (lo + hi);
			const int it2 = ref_lib1d_step(&m, mid, dt_prev, ce_now, ce_old, ce_try,
						       w_now, w_old, w_try);
			if (it2 < 0) {
				snprintf(out->msg, sizeof out->msg,
					 "ref_lib1d: Newton does not converge at t = %g s",
					 t + mid);
				rc = -2;
				goto done;
			}
			out->newton_iterations += it2;
			int why_try;
			const double U_try =
				ref_lib1d_voltage(&m, ce_try, w_try, &cl, &cr, &csf, &why_try);
			const double g = isnan(U_try) ? -INFINITY : U_try - cut;
			if (isfinite(g) && fabs(g) <= 1e-12) {
				double *s = ce_new;
				ce_new = ce_try, ce_try = s;
				s = w_new, w_new = w_try, w_try = s;
				hi = mid, found = 1, why_hi = 0;
				break;
			}
			if (g > 0) {
				lo = mid, g_lo = g;
				if (side == 1)
					g_hi *= 0.5;
				side = 1;
			} else {
				double *s = ce_new;
				ce_new = ce_try, ce_try = s;
				s = w_new, w_new = w_try, w_try = s;
				hi = mid, g_hi = g, why_hi = isnan(U_try) ? why_try : 0;
				if (side == -1)
					g_lo *= 0.5;
				side = -1;
			}
		}
		out->status = REF_LIB1D_CUTOFF;
		if (!found && !isfinite(g_hi)) {
			/* the bracket closed on a jump out of range: end at the last state
			 * in range (lo) */
			if (lo > 0 && ref_lib1d_step(&m, lo, dt_prev, ce_now, ce_old, ce_new, w_now,
						     w_old, w_new) < 0) {
				snprintf(out->msg, sizeof out->msg,
					 "ref_lib1d: Newton does not converge at t = %g s", t + lo);
				rc = -2;
				goto done;
			}
			if (lo == 0) {
				memcpy(ce_new, ce_now, (size_t)n * sizeof *ce_new);
				if (ms > 0)
					memcpy(w_new, w_now, (size_t)ms * sizeof *w_new);
			}
			hi = lo;
			out->status = why_hi ? why_hi : REF_LIB1D_SATURATED;
		}
		t += hi;
		out->steps++;
		double *s = ce_now;
		ce_now = ce_new, ce_new = s;
		s = w_now, w_now = w_new, w_new = s;
		if (ref_lib1d_record(&m, out, &cap, t, ce_now, w_now, &U, &why) != 0)
			goto nomem;
		break;
	}
done:
	if (rc == 0) {
		out->t_final = t;
		out->charge = I * t;
		ref_lib1d_profile(&m, ce_now, out->c_final);
		if (cam) {
			out->xs = malloc((size_t)(ms + 1) * sizeof *out->xs);
			out->cs = malloc((size_t)(ms + 1) * sizeof *out->cs);
			if (out->xs == NULL || out->cs == NULL)
				goto nomem;
			out->ns = ms + 1;
			out->xs[0] = 0, out->cs[0] = ref_lib1d_surface_value(&m, w_now);
			for (int j = 0; j < ms; j++)
				out->xs[j + 1] = m.xs[j], out->cs[j + 1] = m.cs0 + w_now[j];
		}
	}
	free(block);
	return rc;
nomem:
	snprintf(out->msg, sizeof out->msg, "ref_lib1d: out of memory");
	free(block);
	return -2;
}

#endif
