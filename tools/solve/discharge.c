/* discharge: adaptive implicit Euler time stepping of a galvanostatic
 * discharge (docs/solve.md): change-controlled steps, the cut-off time
 * located by regula falsi on the last step, snapshots at requested times. */
#include "discharge.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Targets of the step control at step_tol = 1: largest change of a CAM
 * voxel's lithiation c_s / c_s,max, and of the cell voltage, per step. */
#define TARGET_LITHIATION 0.05
#define TARGET_VOLTAGE 0.02
/* The cut-off is located to this voltage (V). */
#define CUTOFF_TOL 1e-6
/* LIB: a c_e below DEPLETED x c_e,0 ends the discharge as depleted, and so
 * does a step that fails from a state with one below DEPLETING x c_e,0:
 * under a constant current c_e then reaches 0 within about the time of the
 * last steps, and Newton meets ln c_e and i_0 ~ c_e^alpha near 0 (a 20 um
 * LIB cell at 8 mA/cm2 with c_e,0 = 10 mol/m3, tests/solve.bats, took 1038
 * steps, 900 of them of about 2 us, when only a step size below --min-step
 * counted; 69 with this rule). Near depletion the steps follow c_e's
 * relative change, at most MAX_RELATIVE_CE per step. */
#define DEPLETED 1e-3
#define DEPLETING 0.01
#define MAX_RELATIVE_CE 0.5

const char *sv_status_name(sv_status s)
{
	switch (s) {
	case SV_RUNNING: return "running";
	case SV_CUTOFF: return "cutoff";
	case SV_MAX_TIME: return "max_time";
	case SV_FAILED: return "failed";
	case SV_INTERRUPTED: return "interrupted";
	case SV_DEPLETED: return "depleted";
	}
	return "?";
}

int sv_series_push(sv_series *s, double t, double u, double i, double q, double en, vb_err *e)
{
	if (s->n == s->cap) {
		int64_t cap = s->cap ? 2 * s->cap : 256;
		double **cols[5] = {&s->time, &s->voltage, &s->current, &s->capacity, &s->energy};
		for (int k = 0; k < 5; k++) {
			double *grown = realloc(*cols[k], (size_t)cap * sizeof **cols[k]);
			if (grown == NULL)
				return vb_err_set(e, VB_ERR_RUN,
						  "out of memory for the time series");
			*cols[k] = grown;
		}
		s->cap = cap;
	}
	s->time[s->n] = t, s->voltage[s->n] = u, s->current[s->n] = i;
	s->capacity[s->n] = q, s->energy[s->n] = en;
	s->n++;
	return VB_OK;
}

int sv_run_snapshot(sv_run *r, vb_err *e)
{
	const int64_t np = vb_echem_potential_count(r->m), nc = vb_echem_state_count(r->m);
	sv_snapshot *grown = realloc(r->snaps, (size_t)(r->nsnaps + 1) * sizeof *grown);
	if (grown == NULL)
		return vb_err_set(e, VB_ERR_RUN, "out of memory for a snapshot");
	r->snaps = grown;
	sv_snapshot *s = &r->snaps[r->nsnaps];
	s->time = r->t;
	s->phi = malloc((size_t)np * sizeof *s->phi);
	s->c = malloc((size_t)nc * sizeof *s->c);
	if (s->phi == NULL || s->c == NULL) {
		free(s->phi), free(s->c);
		return vb_err_set(e, VB_ERR_RUN, "out of memory for a snapshot");
	}
	memcpy(s->phi, r->phi, (size_t)np * sizeof *s->phi);
	memcpy(s->c, r->c, (size_t)nc * sizeof *s->c);
	r->nsnaps++;
	return VB_OK;
}

void sv_run_free(sv_run *r)
{
	free(r->phi), free(r->c), free(r->prev_phi), free(r->prev_c);
	free(r->prev2_phi), free(r->prev2_c);
	free(r->ts.time), free(r->ts.voltage), free(r->ts.current), free(r->ts.capacity);
	free(r->ts.energy);
	for (int64_t k = 0; k < r->nsnaps; k++)
		free(r->snaps[k].phi), free(r->snaps[k].c);
	free(r->snaps);
	memset(r, 0, sizeof *r);
}

int sv_run_init(sv_run *r, vb_echem *m, const sv_options *o, vb_err *e)
{
	memset(r, 0, sizeof *r);
	r->resumed_at = NAN;
	r->m = m;
	const int64_t np = vb_echem_potential_count(m), nc = vb_echem_state_count(m);
	r->phi = malloc((size_t)np * sizeof *r->phi);
	r->c = malloc((size_t)nc * sizeof *r->c);
	r->prev_phi = malloc((size_t)np * sizeof *r->prev_phi);
	r->prev_c = malloc((size_t)nc * sizeof *r->prev_c);
	r->prev2_phi = malloc((size_t)np * sizeof *r->prev2_phi);
	r->prev2_c = malloc((size_t)nc * sizeof *r->prev2_c);
	if (r->phi == NULL || r->c == NULL || r->prev_phi == NULL || r->prev_c == NULL ||
	    r->prev2_phi == NULL || r->prev2_c == NULL)
		return vb_err_set(e, VB_ERR_RUN, "out of memory for the cell state");
	vb_echem_rest(m, r->phi, r->c);
	memcpy(r->prev_phi, r->phi, (size_t)np * sizeof *r->phi);
	memcpy(r->prev_c, r->c, (size_t)nc * sizeof *r->c);
	memcpy(r->prev2_phi, r->phi, (size_t)np * sizeof *r->phi);
	memcpy(r->prev2_c, r->c, (size_t)nc * sizeof *r->c);
	r->lithium0 = vb_echem_lithium(m, r->c);
	r->dt = o->dt_init;
	r->next_save = 1;
	int rc = sv_series_push(&r->ts, 0, vb_echem_voltage(m, r->phi), 0, 0, 0, e);
	/* with --save-every the snapshots start at rest, so that a time series
	 * (ParaView, metrics --time 0) begins at t = 0 */
	if (rc == VB_OK && o->save_every > 0)
		rc = sv_run_snapshot(r, e);
	return rc;
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* LIB: if c_e of the run's state is below fraction of c_e,0 somewhere, the
 * status becomes SV_DEPLETED with where and when; returns 1 then. */
static int depleted(sv_run *r, double fraction)
{
	int64_t v;
	const double lo = vb_echem_electrolyte_min(r->m, r->c, &v);
	const double ce0 = vb_echem_electrolyte_c_init(r->m);
	if (!(lo < fraction * ce0))
		return 0;
	int64_t ijk[3];
	vb_echem_voxel_position(r->m, v, ijk);
	r->status = SV_DEPLETED;
	snprintf(r->message, sizeof r->message,
		 "the electrolyte is depleted: c_e = %.3g mol/m3 (%.2g %% of c_e,0) at voxel "
		 "(%lld, %lld, %lld) at t = %.6g s",
		 lo, 100 * lo / ce0, (long long)ijk[0], (long long)ijk[1], (long long)ijk[2], r->t);
	return 1;
}

/* One implicit step of length dt from the run's state into phi, c. */
static int try_step(sv_run *r, const sv_options *o, double dt, double *phi, double *c, vb_err *e)
{
	const int64_t np = vb_echem_potential_count(r->m), nc = vb_echem_state_count(r->m);
	/* Predictor: the state extrapolated in time through the last three
	 * states (quadratic), keeping c_s inside (0, c_max) and c_e positive.
	 * The quadratic one saves a tenth of the Newton iterations of the
	 * Study P cells (docs/solve.md). Linear through the last two after the
	 * jump from rest, and after a step that needed no Newton iteration (at
	 * rest): there the states differ by rounding only, which the quadratic
	 * weights amplify 17 times when the step doubles (29 times after two
	 * doublings) where the linear ones do 5 times. */
	double w0 = 1, w1 = 0, w2 = 0; /* weights of the states now, one and two steps back */
	if (r->prev_valid && r->prev_dt > 0) {
		const double t1 = r->prev_dt, t2 = r->prev2_dt;
		if (r->prev2_valid && r->moved && t2 > 0) { /* Lagrange through -t1 - t2, -t1, 0 */
			w0 = (dt + t1) * (dt + t1 + t2) / (t1 * (t1 + t2));
			w1 = -dt * (dt + t1 + t2) / (t1 * t2);
			w2 = dt * (dt + t1) / ((t1 + t2) * t2);
		} else {
			w0 = 1 + dt / t1, w1 = -dt / t1;
		}
	}
	const double cmax = vb_echem_c_max(r->m);
#pragma omp parallel for schedule(static)
	for (int64_t t = 0; t < np; t++)
		phi[t] = w0 * r->phi[t] + w1 * r->prev_phi[t] + w2 * r->prev2_phi[t];
	const int64_t nl = vb_echem_lithium_count(r->m);
#pragma omp parallel for schedule(static)
	for (int64_t q = 0; q < nc; q++) {
		/* c_s inside (0, c_max), c_e (after the CAM's state) positive */
		double g = w0 * r->c[q] + w1 * r->prev_c[q] + w2 * r->prev2_c[q];
		c[q] = g > 0 && (q >= nl || g < cmax) ? g : r->c[q];
	}
	vb_echem_stats st = {0};
	int rc = vb_echem_step(r->m, r->c, dt, o->current, phi, c, &o->echem, &st, e);
	r->last_newton = (int)st.newton_iterations;
	r->amg_setups += st.amg_setups;
	r->newton += st.newton_iterations;
	r->linear += st.linear_iterations;
	r->outer += st.outer_iterations;
	r->inner += st.inner_iterations;
	r->elyte += st.electrolyte_iterations;
	return rc;
}

int sv_run_advance(sv_run *r, const sv_options *o, volatile sig_atomic_t *stop,
		   double checkpoint_every, sv_progress progress, void *ctx, vb_err *e)
{
	vb_echem *m = r->m;
	const int64_t np = vb_echem_potential_count(m), nc = vb_echem_state_count(m);
	double *phi = malloc((size_t)np * sizeof *phi), *c = malloc((size_t)nc * sizeof *c);
	if (phi == NULL || c == NULL) {
		free(phi), free(c);
		return vb_err_set(e, VB_ERR_RUN, "out of memory for the cell state");
	}
	const double started = wall_now();
	const int64_t steps_at_call = r->steps;
	int rc = VB_OK;
	while (r->status == SV_RUNNING) {
		if (stop != NULL && *stop) {
			r->status = SV_INTERRUPTED;
			snprintf(r->message, sizeof r->message, "interrupted at t = %.6g s", r->t);
			break;
		}
		if (checkpoint_every >= 0 && r->steps > steps_at_call &&
		    wall_now() - started >= checkpoint_every)
			break;
		double dt = fmin(r->dt, o->dt_max);
		double t_save = o->save_every > 0 ? (double)r->next_save * o->save_every : INFINITY;
		int to_save = 0, to_end = 0;
		r->dt_before_save = dt;
		if (r->t + dt >= t_save - 1e-9 * t_save)
			dt = t_save - r->t, to_save = 1;
		if (r->t + dt >= o->max_time - 1e-9 * o->max_time)
			dt = o->max_time - r->t, to_end = 1, to_save = 0;
		vb_err se;
		vb_err_clear(&se);
		if (try_step(r, o, dt, phi, c, &se) != VB_OK) {
			r->rejected++;
			r->dt = dt / 4;
			if (depleted(r, DEPLETING))
				break;
			if (r->dt < o->dt_min) {
				r->status = SV_FAILED;
				snprintf(r->message, sizeof r->message,
					 "no convergence at t = %.6g s with a step of %.3g s: "
					 "%.900s",
					 r->t, dt, se.msg);
				rc = vb_err_set(e, VB_ERR_RUN, "%s", r->message);
			}
			continue;
		}
		const double u_prev = r->ts.voltage[r->ts.n - 1];
		double u = vb_echem_voltage(m, phi);
		const int64_t nl = vb_echem_lithium_count(m);
		double dx = 0, dce = 0, rel = 0;
		for (int64_t q = 0; q < nl; q++)
			dx = fmax(dx, fabs(c[q] - r->c[q]));
		const int64_t ne = vb_echem_electrolyte_count(m);
		for (int64_t q = nl; q < nl + ne; q++) {
			dce = fmax(dce, fabs(c[q] - r->c[q]));
			rel = fmax(rel, fabs(c[q] - r->c[q]) / r->c[q]);
		}
		/* Change of lithiation c_s / c_s,max against its target; (LIB) of
		 * c_e / c_e,0 against the same, and c_e's relative change. */
		double rx = dx / (TARGET_LITHIATION * o->step_tol * vb_echem_c_max(m));
		if (ne > 0)
			rx = fmax(rx, fmax(dce / (TARGET_LITHIATION * o->step_tol *
						  vb_echem_electrolyte_c_init(m)),
					   rel / MAX_RELATIVE_CE));
		double ru = r->steps > 0 ? fabs(u - u_prev) / (TARGET_VOLTAGE * o->step_tol) : 0;
		double rr = fmax(rx, ru);
		if (rr > 2 && dt > o->dt_min * 4 && !(u < o->cutoff)) {
			r->rejected++;
			r->dt = dt * fmax(0.2, 0.9 / rr);
			continue;
		}
		int cut = 0;
		if (u < o->cutoff && o->current > 0) {
			/* Regula falsi (Illinois) on the step length for U = U_cut. */
			double lo = 0, hi = dt, u_lo = u_prev, u_hi = u, dts = dt;
			int side = 0, failed = 0;
			for (int it = 0; it < 60 && fabs(u - o->cutoff) > CUTOFF_TOL; it++) {
				dts = lo + (u_lo - o->cutoff) / (u_lo - u_hi) * (hi - lo);
				double w = hi - lo;
				dts = fmin(fmax(dts, lo + 1e-3 * w), hi - 1e-3 * w);
				if ((failed = try_step(r, o, dts, phi, c, &se) != VB_OK))
					break;
				u = vb_echem_voltage(m, phi);
				if (u < o->cutoff) {
					hi = dts, u_hi = u;
					if (side == -1)
						u_lo = o->cutoff + (u_lo - o->cutoff) / 2;
					side = -1;
				} else {
					lo = dts, u_lo = u;
					if (side == 1)
						u_hi = o->cutoff + (u_hi - o->cutoff) / 2;
					side = 1;
				}
				if (hi - lo < 1e-12 * (r->t + dt))
					break;
			}
			if (failed) {
				/* no state to end on: approach the cut-off with shorter steps */
				r->rejected++;
				r->dt = dts / 4;
				continue;
			}
			dt = dts;
			cut = 1;
			to_save = 0;
		}
		r->t += dt;
		r->capacity += o->current * dt;
		r->energy += o->current * u * dt;
		/* the states move one place back: the oldest's arrays take the new */
		double *old_phi = r->prev2_phi, *old_c = r->prev2_c;
		r->prev2_phi = r->prev_phi, r->prev2_c = r->prev_c;
		r->prev2_dt = r->prev_dt, r->prev2_valid = r->prev_valid;
		r->prev_phi = r->phi, r->prev_c = r->c;
		r->prev_dt = dt, r->prev_valid = r->steps > 0; /* not across the jump from rest */
		r->moved = r->last_newton > 0;
		r->phi = old_phi, r->c = old_c;
		memcpy(r->phi, phi, (size_t)np * sizeof *phi);
		memcpy(r->c, c, (size_t)nc * sizeof *c);
		r->steps++;
		if ((rc = sv_series_push(&r->ts, r->t, u, o->current, r->capacity, r->energy, e)) !=
		    VB_OK)
			break;
		if (to_save) {
			if ((rc = sv_run_snapshot(r, e)) != VB_OK)
				break;
			r->next_save++;
		}
		if (cut)
			r->status = SV_CUTOFF;
		else if (to_end)
			r->status = SV_MAX_TIME;
		else
			depleted(r, DEPLETED);
		r->dt = dt * fmin(2.0, fmax(0.2, rr > 0 ? 0.9 / rr : 2.0));
		/* a step cut short by a save time keeps the size the control wanted */
		if (to_save && dt < r->dt_before_save)
			r->dt = r->dt_before_save;
		if (progress != NULL)
			progress(r, ctx);
	}
	free(phi), free(c);
	return rc;
}
