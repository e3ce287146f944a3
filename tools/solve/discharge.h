/* discharge: the galvanostatic discharge of solve: adaptive implicit time
 * stepping over vb_echem, located cut-off, time series and snapshots. */
#ifndef SV_DISCHARGE_H
#define SV_DISCHARGE_H

#include <signal.h>
#include <stdint.h>

#include "vb_echem.h"
#include "vb_err.h"

typedef struct sv_options {
	double current;	   /* applied current density, A/m^2 (> 0 discharges; 0 rests) */
	double cutoff;	   /* lower cut-off voltage, V */
	double max_time;   /* s; INFINITY for none */
	double save_every; /* s between snapshots; 0: only the final state */
	double step_tol;   /* scales the change targets of the step control (default 1) */
	double dt_init, dt_min, dt_max; /* s */
	vb_echem_opts echem;
	vb_subgrid_opts subgrid; /* sub-voxel chains (used when the model is built) */
} sv_options;

typedef enum sv_status {
	SV_RUNNING = 0,
	SV_CUTOFF,	/* reached the cut-off voltage */
	SV_MAX_TIME,	/* reached --max-time */
	SV_FAILED,	/* the solver failed; the state is the last good one */
	SV_INTERRUPTED, /* a signal asked to stop; the state is the last good one */
	SV_DEPLETED,	/* LIB: c_e fell to nearly 0 somewhere (message: where and when);
			   the state is the last good one */
} sv_status;

typedef struct sv_series {
	int64_t n, cap;
	double *time, *voltage, *current, *capacity, *energy; /* s, V, A/m^2, C/m^2, J/m^2 */
} sv_series;

typedef struct sv_snapshot {
	double time;
	double *phi, *c; /* unknown vectors of vb_echem (c: vb_echem_state_count values) */
} sv_snapshot;

typedef struct sv_run {
	vb_echem *m; /* not owned */
	sv_status status;
	char message[1024]; /* why a run failed or stopped */
	double t, dt, capacity, energy, lithium0;
	double resumed_at;     /* s: the checkpoint's time when resumed from one, else NaN */
	double dt_before_save; /* step size the control wanted before a save time cut it */
	int64_t steps, rejected, newton, linear, outer, inner, amg_setups;
	int64_t elyte; /* AMG-PCG iterations on the c_e block (LIB) */
	double *phi, *c;
	/* the states one and two steps earlier and those steps' lengths, for
	 * the predictor (prev2_valid: two steps of a discharge behind; moved:
	 * the last step needed a Newton iteration, so that the state evolves
	 * and a quadratic extrapolation pays) */
	double *prev_phi, *prev_c, prev_dt;
	double *prev2_phi, *prev2_c, prev2_dt;
	int prev_valid, prev2_valid, moved;
	int last_newton; /* Newton iterations of the last step tried */
	sv_series ts;
	sv_snapshot *snaps;
	int64_t nsnaps, next_save; /* next_save: index k of the next save time k*save_every */
} sv_run;

/* Progress callback: called after every accepted step. */
typedef void (*sv_progress)(const sv_run *r, void *ctx);

/* Rest state at t = 0 (the first time-series row, and the first snapshot when
 * o->save_every > 0). Caller frees with sv_run_free. */
int sv_run_init(sv_run *r, vb_echem *m, const sv_options *o, vb_err *e);

/* Steps until cut-off, max time, failure, or *stop becoming non-zero (checked
 * between steps; stop may be NULL). With checkpoint_every >= 0 it also
 * returns (status still SV_RUNNING) after a step that ends that many wall
 * seconds after the call, so that the caller can write a checkpoint and call
 * again; checkpoint_every < 0: never.
 * VB_OK unless the solver failed (VB_ERR_RUN; status SV_FAILED, message set). */
int sv_run_advance(sv_run *r, const sv_options *o, volatile sig_atomic_t *stop,
		   double checkpoint_every, sv_progress progress, void *ctx, vb_err *e);

/* Adds a snapshot of the current state; VB_ERR_RUN when out of memory. */
int sv_run_snapshot(sv_run *r, vb_err *e);

/* Appends one time-series row. */
int sv_series_push(sv_series *s, double t, double u, double i, double q, double en, vb_err *e);

/* Frees what r owns (not r->m); r is zeroed. */
void sv_run_free(sv_run *r);

/* Name of a status ("cutoff", "max_time", ...). */
const char *sv_status_name(sv_status s);

#endif
