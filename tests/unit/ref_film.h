/* ref_film: an independent 1D reference model of the planar thin-film ASSB
 * (PHYSICS.md §2 reduced to x), for the unit tests of lib: one CAM film on
 * the separator, discharged galvanostatically to the cut-off voltage.
 *
 * Its discretisation is chosen to share nothing with lib/vb_echem: nodes (not
 * cells) on a geometric mesh whose first node is the CAM|SE plane itself, so
 * the surface concentration is a nodal unknown; face fluxes from the
 * Kirchhoff integral of D(c) (Simpson's rule) instead of a mean of D;
 * variable-step BDF2 on a geometric time grid; Newton on D(c) to convergence;
 * the cut-off found by re-solving the last step to the crossing. Header-only:
 * every function is static inline, there is no state outside the arguments. */
#ifndef REF_FILM_H
#define REF_FILM_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vb_params.h"

#define REF_FILM_FARADAY 96485.33212 /* C/mol, PHYSICS.md §2 */
#define REF_FILM_GAS_R 8.314462618   /* J/(mol K) */

/* The cell and the discretisation. Lengths in m, current density in A/m^2
 * (> 0: discharge, Li enters the film), cutoff in V. */
typedef struct ref_film {
	double L_cam, L_sep, L_li; /* film, separator and Li metal thickness */
	double current, cutoff;
	int cells;	      /* intervals of the film mesh (cells + 1 nodes), >= 2 */
	double stretch;	      /* last / first interval of the geometric mesh, >= 1;
				 0 = automatic: 30 L_cam / l within [10, 1e6], l =
				 sqrt(D_min t_char) the diffusion layer at t_char */
	double step_fraction; /* time step dt = step_fraction (t + t_start), in
				 (0, 0.5]; halving it halves every step. t_start =
				 1e-6 t_char, t_char = min(time for the surface to
				 saturate by the sqrt(t) law, time to fill the film) */
	/* For tests of the model itself: when set, D(x) in m^2/s and dD/dx at the
	 * stoichiometry x replace the parameter set's cam.diffusivity. */
	double (*diffusivity)(double x, double *d_dx, void *ctx);
	void *ctx;
} ref_film;

enum { REF_FILM_CUTOFF = 1, REF_FILM_SATURATED = 2 };

/* What a discharge gives. The arrays are malloc'd, owned by the result and
 * freed by ref_film_result_free. */
typedef struct ref_film_result {
	int status;	    /* REF_FILM_CUTOFF, or REF_FILM_SATURATED if c_surf reached
			       c_max while U was still above the cut-off */
	double t_cut;	    /* s, the crossing itself (not the step before it) */
	double capacity;    /* C/m^2, I t_cut */
	double utilization; /* capacity / (F (c_max - c_init) L_cam) */
	double lithium;	    /* mol/m^2 gained by the film at t_cut (F lithium = capacity) */
	int64_t steps, newton_iterations;
	/* the discharge curve, one point at t = 0 and after every step, the
	 * last at t_cut: time (s), voltage (V), surface concentration (mol/m^3)
	 * and Li gained (mol/m^2) */
	int64_t points;
	double *time, *voltage, *c_surf, *li_gained;
	/* the concentration profile at t_cut: c (mol/m^3) at nodes x (m, 0 = the
	 * separator side) */
	int nodes;
	double *x, *c;
	char msg[256]; /* why, when ref_film_discharge fails */
} ref_film_result;

/* The cell with the default discretisation: 200 cells, automatic stretch,
 * step fraction 0.02 (within 5e-4 of the converged utilization at the
 * shipped ASSB parameters, the error second order in both; about 0.1 s). */
static inline ref_film ref_film_default(double L_cam, double L_sep, double L_li, double current,
					double cutoff)
{
	ref_film cfg = {0};
	cfg.L_cam = L_cam, cfg.L_sep = L_sep, cfg.L_li = L_li;
	cfg.current = current, cfg.cutoff = cutoff;
	cfg.cells = 200;
	cfg.stretch = 0;
	cfg.step_fraction = 0.02;
	return cfg;
}

/* Frees the arrays of r (a result that was filled, or zeroed); idempotent. */
static inline void ref_film_result_free(ref_film_result *r)
{
	if (r == NULL)
		return;
	free(r->time), free(r->voltage), free(r->c_surf), free(r->li_gained);
	free(r->x), free(r->c);
	r->time = r->voltage = r->c_surf = r->li_gained = r->x = r->c = NULL;
	r->points = 0, r->nodes = 0;
}

/* Overpotential eta (V) at which the Butler-Volmer law
 * i = i0 [exp(alpha f eta) - exp(-(1 - alpha) f eta)] carries current
 * density i (A/m^2, > 0 anodic), for any alpha in [0, 1] (f = F/(R T), 1/V).
 * NaN if no eta can (i0 <= 0, or |i| beyond the one-sided limit of alpha = 0
 * or 1). Safeguarded Newton on y = f eta within a bracket. */
static inline double ref_film_bv_overpotential(double i, double i0, double alpha, double f)
{
	if (!(i0 > 0) || !(alpha >= 0 && alpha <= 1) || !isfinite(i))
		return NAN;
	const double s = i / i0;
	if (s == 0)
		return 0;
	if ((alpha == 1 && s <= -1) || (alpha == 0 && s >= 1))
		return NAN;
#define REF_FILM_BV(y) (expm1(alpha * (y)) - expm1(-(1 - alpha) * (y))) /* no cancellation */
	/* g(y) increases monotonically from g(0) = 0: bracket by doubling */
	double lo = 0, hi = 0;
	if (s > 0) {
		hi = 1;
		for (int k = 0; k < 80 && REF_FILM_BV(hi) < s; k++)
			lo = hi, hi *= 2;
	} else {
		lo = -1;
		for (int k = 0; k < 80 && REF_FILM_BV(lo) > s; k++)
			hi = lo, lo *= 2;
	}
	/* start from the dominant branch: y = ln(s)/alpha for a large anodic
	 * current, the linear law y = s for a small one */
	double y = s;
	if (s > 1 && alpha > 0)
		y = log(s) / alpha;
	else if (s < -1 && alpha < 1)
		y = -log(-s) / (1 - alpha);
	if (!(y > lo && y < hi))
		y = 0.5 * (lo + hi);
	for (int k = 0; k < 200; k++) {
		double g = REF_FILM_BV(y) - s;
		if (g == 0)
			break;
		if (g < 0)
			lo = y;
		else
			hi = y;
		double dg = alpha * exp(alpha * y) + (1 - alpha) * exp(-(1 - alpha) * y);
		double next = y - g / dg;
		if (!(next > lo && next < hi))
			next = 0.5 * (lo + hi);
		double change = fabs(next - y);
		y = next;
		if (change <= 1e-15 * (1 + fabs(y)) || hi - lo <= 1e-15 * (1 + fabs(y)))
			break;
	}
#undef REF_FILM_BV
	return y / f;
}

/* ---- internals of ref_film_discharge ---- */

/* Everything one discharge needs, derived once from the parameter set. */
typedef struct ref_film_model {
	const vb_params *p;
	const ref_film *cfg;
	double f, c_max, c_init, c_e, exchange_factor, alpha;
	double eta_li, U_li, R_fixed; /* Li overpotential (V), its OCP, separator + Li (Ohm m^2) */
	double flux;		      /* I / F, mol/(m^2 s) into the film at x = 0 */
	int n;			      /* nodes */
	double *x, *h, *V;	      /* node positions, intervals, dual volumes (m) */
	double *D, *dD, *Dm, *dDm;    /* D and dD/dc at nodes and interval midpoints */
	double *lower, *diag, *upper, *rhs;
} ref_film_model;

/* D (m^2/s) and dD/dc (m^5/(mol s)) at concentration c (mol/m^3). */
static inline double ref_film_diffusivity(const ref_film_model *m, double c, double *dDdc)
{
	const double x = c / m->c_max;
	double D, dx;
	if (m->cfg->diffusivity != NULL) {
		D = m->cfg->diffusivity(x, &dx, m->cfg->ctx);
	} else {
		D = vb_params_eval(m->p, "cam.diffusivity", x);
		dx = vb_params_eval_derivative(m->p, "cam.diffusivity", x);
	}
	*dDdc = dx / m->c_max;
	return D;
}

/* Cell voltage (V) for the film state w = c - c_init at the nodes; sets
 * *c_surf. NaN when c_surf >= c_max or the kinetics cannot carry I: the
 * surface is saturated. PHYSICS.md §2: U = U_0 + eta_c - (U_Li + eta_Li)
 * minus the ohmic drops; the film's resistance is the trapezoidal integral
 * of 1/sigma(c(x)) over the nodes. */
static inline double ref_film_voltage(const ref_film_model *m, const double *w, double *c_surf)
{
	const double cs = m->c_init + w[0], I = m->cfg->current;
	*c_surf = cs;
	if (!(cs < m->c_max) || !(cs > 0))
		return NAN;
	const double a = m->alpha;
	const double i0 =
		m->exchange_factor * pow(m->c_e, a) * pow(cs, a) * pow(m->c_max - cs, 1 - a);
	const double eta_c = ref_film_bv_overpotential(-I, i0, a, m->f);
	if (isnan(eta_c))
		return NAN;
	double R_film = 0, prev = 1 / vb_params_eval(m->p, "cam.conductivity", cs / m->c_max);
	for (int i = 1; i < m->n; i++) {
		double next =
			1 / vb_params_eval(m->p, "cam.conductivity", (m->c_init + w[i]) / m->c_max);
		R_film += 0.5 * m->h[i - 1] * (prev + next);
		prev = next;
	}
	const double U0 = vb_params_eval(m->p, "cam.ocp", cs / m->c_max);
	return U0 + eta_c - (m->U_li + m->eta_li) - I * (m->R_fixed + R_film);
}

/* One implicit step of length dt from w1 (at t) and w0 (at t - dt_prev;
 * dt_prev = 0 makes it backward Euler): variable-step BDF2 for
 * V_i dw_i/dt = (flux in - flux out) on the dual volumes, solved by Newton
 * into w. The flux through interval i is -(1/h_i) int_{c_i}^{c_{i+1}} D dc:
 * exact for a steady flux whatever D(c) is, and second order in time-
 * dependent ones. Every Newton update conserves Li exactly (the flux terms
 * of each column of the Jacobian cancel), so the film gains F^-1 I dt
 * whether or not Newton has converged; convergence is for accuracy. Returns
 * the number of iterations, or -1 if Newton did not converge. */
static inline int ref_film_step(ref_film_model *m, const double *w1, const double *w0, double dt,
				double dt_prev, double *w)
{
	const int n = m->n;
	double a0, a1, a2;
	if (dt_prev > 0) {
		const double r = dt / dt_prev;
		a0 = (1 + 2 * r) / ((1 + r) * dt);
		a1 = -(1 + r) / dt;
		a2 = r * r / ((1 + r) * dt);
	} else {
		a0 = 1 / dt, a1 = -1 / dt, a2 = 0;
	}
	/* predictor: linear extrapolation in time */
	for (int i = 0; i < n; i++)
		w[i] = w1[i] + (dt_prev > 0 ? (dt / dt_prev) * (w1[i] - w0[i]) : 0);
	const double tol = 1e-11 * m->c_max;
	for (int it = 1; it <= 40; it++) {
		double nonlinearity = 0; /* max |dD/dc| / D: how far Newton is from linear */
		for (int i = 0; i < n; i++) {
			m->D[i] = ref_film_diffusivity(m, m->c_init + w[i], &m->dD[i]);
			if (!(m->D[i] > 0))
				return -1;
			nonlinearity = fmax(nonlinearity, fabs(m->dD[i]) / m->D[i]);
		}
		for (int i = 0; i + 1 < n; i++) {
			m->Dm[i] = ref_film_diffusivity(m, m->c_init + 0.5 * (w[i] + w[i + 1]),
							&m->dDm[i]);
			if (!(m->Dm[i] > 0))
				return -1;
			nonlinearity = fmax(nonlinearity, fabs(m->dDm[i]) / m->Dm[i]);
		}
		/* residual R_i = V_i (a0 w + a1 w1 + a2 w0)_i + F_{i+1/2} - F_{i-1/2},
		 * F = -G/h, G = int D dc by Simpson's rule; F_{-1/2} = I/F, F_{n-1/2} = 0 */
		for (int i = 0; i < n; i++) {
			double b = a0 * w[i] + a1 * w1[i] + (a2 != 0 ? a2 * w0[i] : 0);
			m->rhs[i] = m->V[i] * b;
			m->diag[i] = m->V[i] * a0;
			m->lower[i] = m->upper[i] = 0;
		}
		m->rhs[0] -= m->flux;
		for (int i = 0; i + 1 < n; i++) {
			const double dc = w[i + 1] - w[i];
			const double Dbar = (m->D[i] + 4 * m->Dm[i] + m->D[i + 1]) / 6;
			const double G = Dbar * dc;
			const double dG_right = Dbar + dc * (2 * m->dDm[i] + m->dD[i + 1]) / 6;
			const double dG_left = -Dbar + dc * (m->dD[i] + 2 * m->dDm[i]) / 6;
			const double hi = m->h[i];
			/* F_{i+1/2} = -G/h leaves node i and enters node i+1 */
			m->rhs[i] -= G / hi;
			m->rhs[i + 1] += G / hi;
			m->diag[i] -= dG_left / hi;
			m->upper[i] -= dG_right / hi;
			m->lower[i + 1] += dG_left / hi;
			m->diag[i + 1] += dG_right / hi;
		}
		/* Thomas algorithm on J delta = -R, delta into rhs */
		for (int i = 0; i < n; i++)
			m->rhs[i] = -m->rhs[i];
		for (int i = 1; i < n; i++) {
			const double q = m->lower[i] / m->diag[i - 1];
			m->diag[i] -= q * m->upper[i - 1];
			m->rhs[i] -= q * m->rhs[i - 1];
		}
		m->rhs[n - 1] /= m->diag[n - 1];
		for (int i = n - 2; i >= 0; i--)
			m->rhs[i] = (m->rhs[i] - m->upper[i] * m->rhs[i + 1]) / m->diag[i];
		double change = 0;
		for (int i = 0; i < n; i++) {
			w[i] += m->rhs[i];
			change = fmax(change, fabs(m->rhs[i]));
		}
		if (!isfinite(change))
			return -1;
		/* the next update would be about nonlinearity * change^2: a linear
		 * D (constant) is done after one solve */
		if (change * fmin(1, nonlinearity * change) <= tol || change <= tol)
			return it;
	}
	return -1;
}

/* Appends one point to the curve; -1 when out of memory. */
static inline int ref_film_record(ref_film_result *out, int64_t *cap, double t, double U, double cs,
				  double li)
{
	if (out->points == *cap) {
		int64_t grown = *cap ? 2 * *cap : 1024;
		double *arr[4] = {out->time, out->voltage, out->c_surf, out->li_gained};
		for (int k = 0; k < 4; k++) {
			double *g = realloc(arr[k], (size_t)grown * sizeof *g);
			if (g == NULL)
				return -1;
			arr[k] = g;
			/* keep the result consistent after every successful realloc */
			out->time = arr[0], out->voltage = arr[1], out->c_surf = arr[2],
			out->li_gained = arr[3];
		}
		*cap = grown;
	}
	out->time[out->points] = t, out->voltage[out->points] = U;
	out->c_surf[out->points] = cs, out->li_gained[out->points] = li;
	out->points++;
	return 0;
}

/* Li gained by the film (mol/m^2): the nodal deviations on the dual volumes. */
static inline double ref_film_lithium(const ref_film_model *m, const double *w)
{
	double s = 0;
	for (int i = 0; i < m->n; i++)
		s += m->V[i] * w[i];
	return s;
}

/* Discharges the film of cfg with the parameters p (PHYSICS.md §2, §3) until
 * U <= cfg->cutoff; fills *out (the caller frees it with
 * ref_film_result_free, also after a failure). Returns 0, -1 for invalid
 * input (a key missing from p, a length or current out of range), -2 when
 * Newton fails or memory runs out; out->msg says which. */
static inline int ref_film_discharge(const vb_params *p, const ref_film *cfg, ref_film_result *out)
{
	memset(out, 0, sizeof *out);
	ref_film_model m = {0};
	m.p = p, m.cfg = cfg;
	const double I = cfg->current, T = vb_params_get(p, "cell.temperature");
	m.f = REF_FILM_FARADAY / (REF_FILM_GAS_R * T);
	m.c_max = vb_params_get(p, "cam.c_max"), m.c_init = vb_params_get(p, "cam.c_init");
	m.c_e = vb_params_get(p, "electrolyte.c_init");
	m.exchange_factor = vb_params_get(p, "cam.exchange_factor");
	m.alpha = vb_params_get(p, "cam.alpha");
	m.U_li = vb_params_get(p, "li_metal.ocp");
	const double kappa = vb_params_get(p, "electrolyte.conductivity") *
			     vb_params_get(p, "separator.conductivity_factor");
	m.R_fixed = cfg->L_sep / kappa + cfg->L_li / vb_params_get(p, "li_metal.conductivity");
	m.eta_li = ref_film_bv_overpotential(I, vb_params_get(p, "li_metal.exchange_current"),
					     vb_params_get(p, "li_metal.alpha"), m.f);
	m.flux = I / REF_FILM_FARADAY;
	if (!(m.f > 0) || !(m.c_max > m.c_init) || !(m.c_init >= 0) || !(m.c_e > 0) ||
	    !(m.exchange_factor > 0) || !(m.alpha >= 0 && m.alpha <= 1) || isnan(m.U_li) ||
	    !(m.R_fixed >= 0)) {
		snprintf(out->msg, sizeof out->msg, "ref_film: a parameter is missing or invalid");
		return -1;
	}
	if (!(I > 0) || !(cfg->L_cam > 0) || !(cfg->L_sep >= 0) || !(cfg->L_li >= 0) ||
	    cfg->cells < 2 || cfg->cells > 1000000 || !(cfg->stretch == 0 || cfg->stretch >= 1) ||
	    !(cfg->step_fraction > 0 && cfg->step_fraction <= 0.5) || isnan(m.eta_li) ||
	    !isfinite(cfg->cutoff)) {
		snprintf(out->msg, sizeof out->msg,
			 "ref_film: invalid cell or discretisation (I %g A/m2, L_cam %g m, "
			 "cells %d, stretch %g, step fraction %g)",
			 I, cfg->L_cam, cfg->cells, cfg->stretch, cfg->step_fraction);
		return -1;
	}
	const int n = cfg->cells + 1;
	m.n = n;
	/* one block: x, h, V, D, dD, Dm, dDm, 4 tridiagonal rows, 4 states */
	double *block = malloc((size_t)n * 15 * sizeof *block);
	if (block == NULL) {
		snprintf(out->msg, sizeof out->msg, "ref_film: out of memory");
		return -2;
	}
	double *arr[15];
	for (int k = 0; k < 15; k++)
		arr[k] = block + (size_t)k * (size_t)n;
	m.x = arr[0], m.h = arr[1], m.V = arr[2], m.D = arr[3], m.dD = arr[4], m.Dm = arr[5];
	m.dDm = arr[6], m.lower = arr[7], m.diag = arr[8], m.upper = arr[9], m.rhs = arr[10];
	double *w_old = arr[11], *w_now = arr[12], *w_new = arr[13], *w_try = arr[14];
	int rc = 0;

	/* time scales: the surface would reach c_max after t_sat by the sqrt(t)
	 * law c_s - c_0 = 2 (I/F) sqrt(t/(pi D)), the whole film after t_fill;
	 * the diffusion layer at the smaller of the two sets the grading */
	double D_min = INFINITY, dummy;
	for (int k = 0; k <= 32; k++) {
		double c = m.c_init + (m.c_max - m.c_init) * k / 32.0;
		D_min = fmin(D_min, ref_film_diffusivity(&m, c, &dummy));
	}
	if (!(D_min > 0)) {
		snprintf(out->msg, sizeof out->msg,
			 "ref_film: cam.diffusivity is %g m2/s in the working range, expected > 0",
			 D_min);
		free(block);
		return -1;
	}
	const double dc_room = m.c_max - m.c_init;
	const double t_sat = 3.14159265358979323846 * D_min * pow(dc_room / (2 * m.flux), 2);
	const double t_fill = dc_room * cfg->L_cam / m.flux;
	const double t_char = fmin(t_sat, t_fill), t_start = 1e-6 * t_char;
	const double layer = sqrt(D_min * t_char);
	double stretch = cfg->stretch;
	if (stretch == 0)
		stretch = fmin(1e6, fmax(10, 30 * cfg->L_cam / layer));

	/* geometric mesh: h_i = h_0 r^i, the finest interval at the surface */
	const int N = cfg->cells;
	const double r = pow(stretch, 1.0 / (N - 1));
	const double h0 = r == 1 ? cfg->L_cam / N : cfg->L_cam * (r - 1) / (pow(r, N) - 1);
	m.x[0] = 0;
	for (int i = 0; i < N; i++) {
		m.h[i] = h0 * pow(r, i);
		m.x[i + 1] = m.x[i] + m.h[i];
	}
	m.x[N] = cfg->L_cam, m.h[N - 1] = m.x[N] - m.x[N - 1];
	for (int i = 0; i < n; i++)
		m.V[i] = 0.5 * ((i > 0 ? m.h[i - 1] : 0) + (i < N ? m.h[i] : 0));

	for (int i = 0; i < n; i++)
		w_old[i] = w_now[i] = 0;
	int64_t cap = 0;
	double cs, t = 0, dt_prev = 0;
	double U = ref_film_voltage(&m, w_now, &cs);
	if (ref_film_record(out, &cap, 0, U, cs, 0) != 0)
		goto nomem;
	out->status = isnan(U) ? REF_FILM_SATURATED : REF_FILM_CUTOFF;
	if (!(U > cfg->cutoff))
		goto done;
	for (;;) {
		/* geometric time grid: dt / (t + t_start) fixed, so the sqrt(t) start
		 * is resolved as finely, relatively, as the end */
		double dt = cfg->step_fraction * (t + t_start);
		if (dt_prev > 0)
			dt = fmin(dt, 2 * dt_prev); /* BDF2 is zero-stable for ratios < 2.41 */
		/* a Newton failure (a strongly nonlinear D) retries a shorter step */
		int it = ref_film_step(&m, w_now, w_old, dt, dt_prev, w_new);
		for (int retry = 0; retry < 30 && it < 0; retry++) {
			dt *= 0.25;
			it = ref_film_step(&m, w_now, w_old, dt, dt_prev, w_new);
		}
		if (it < 0) {
			snprintf(out->msg, sizeof out->msg,
				 "ref_film: Newton does not converge at t = %g s", t);
			rc = -2;
			goto done;
		}
		out->steps++, out->newton_iterations += it;
		double cs_new, U_new = ref_film_voltage(&m, w_new, &cs_new);
		if (U_new > cfg->cutoff) {
			t += dt, dt_prev = dt;
			double *s = w_old;
			w_old = w_now, w_now = w_new, w_new = s;
			U = U_new;
			if (ref_film_record(out, &cap, t, U, cs_new, ref_film_lithium(&m, w_now)) !=
			    0)
				goto nomem;
			if (out->steps > 100000000) {
				snprintf(out->msg, sizeof out->msg,
					 "ref_film: no cut-off after %lld steps",
					 (long long)out->steps);
				rc = -2;
				goto done;
			}
			continue;
		}
		/* the step crosses: re-solve it for the length that lands on U = cutoff
		 * (Illinois false position; bisection where the surface saturates) */
		double lo = 0, hi = dt, g_lo = U - cfg->cutoff;
		double g_hi = isnan(U_new) ? -INFINITY : U_new - cfg->cutoff;
		int side = 0, found = 0;
		for (int k = 0; k < 200 && hi - lo > 1e-13 * (t + hi); k++) {
			double mid = isfinite(g_hi) ? (lo * g_hi - hi * g_lo) / (g_hi - g_lo)
						    : 0.5 * (lo + hi);
			if (!(mid > lo && mid < hi))
				mid = 0.5 * (lo + hi);
			int it2 = ref_film_step(&m, w_now, w_old, mid, dt_prev, w_try);
			if (it2 < 0) {
				snprintf(out->msg, sizeof out->msg,
					 "ref_film: Newton does not converge at t = %g s", t + mid);
				rc = -2;
				goto done;
			}
			out->newton_iterations += it2;
			double cs_try, U_try = ref_film_voltage(&m, w_try, &cs_try);
			double g = isnan(U_try) ? -INFINITY : U_try - cfg->cutoff;
			if (fabs(g) <= 1e-12) {
				double *s = w_new;
				w_new = w_try, w_try = s;
				hi = mid, found = 1;
				break;
			}
			if (g > 0) {
				lo = mid, g_lo = g;
				if (side == 1)
					g_hi *= 0.5;
				side = 1;
			} else {
				double *s = w_new;
				w_new = w_try, w_try = s;
				hi = mid, g_hi = g;
				if (side == -1)
					g_lo *= 0.5;
				side = -1;
			}
		}
		if (!found && !isfinite(g_hi)) {
			/* the bracket closed on a jump to a saturated surface: end at the
			 * last state below c_max (w_new is at hi otherwise) */
			if (lo > 0 && ref_film_step(&m, w_now, w_old, lo, dt_prev, w_new) < 0) {
				snprintf(out->msg, sizeof out->msg,
					 "ref_film: Newton does not converge at t = %g s", t + lo);
				rc = -2;
				goto done;
			}
			if (lo == 0)
				memcpy(w_new, w_now, (size_t)n * sizeof *w_new);
			hi = lo;
			out->status = REF_FILM_SATURATED;
		}
		t += hi;
		double *s = w_now;
		w_now = w_new, w_new = s;
		U = ref_film_voltage(&m, w_now, &cs);
		if (ref_film_record(out, &cap, t, U, cs, ref_film_lithium(&m, w_now)) != 0)
			goto nomem;
		break;
	}
done:
	if (rc == 0) {
		out->t_cut = t;
		out->capacity = I * t;
		out->utilization = out->capacity / (REF_FILM_FARADAY * dc_room * cfg->L_cam);
		out->lithium = ref_film_lithium(&m, w_now);
		out->x = malloc((size_t)n * sizeof *out->x);
		out->c = malloc((size_t)n * sizeof *out->c);
		if (out->x == NULL || out->c == NULL)
			goto nomem;
		out->nodes = n;
		for (int i = 0; i < n; i++)
			out->x[i] = m.x[i], out->c[i] = m.c_init + w_now[i];
	}
	free(block);
	return rc;
nomem:
	snprintf(out->msg, sizeof out->msg, "ref_film: out of memory");
	free(block);
	return -2;
}

#endif
