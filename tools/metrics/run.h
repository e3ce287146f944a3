/* run: the indicators of a discharge (PHYSICS.md §4) from a run file of
 * solve (docs/FORMAT.md): practical capacity and energy from the time
 * series, CAM utilization and cumulative capacity along x from a snapshot's
 * c_s, the ionic current density in the cathode's electrolyte from its
 * potentials, and for a LIB run the electrolyte's c_e range and profile. docs/metrics.md defines
 * every quantity. */
#ifndef MR_RUN_H
#define MR_RUN_H

#include <hdf5.h>
#include <stdint.h>

#include "vb_err.h"
#include "vb_params.h"
#include "vb_voxel.h"

/* Time series of a run file, SI units as stored (s, V, A/m^2, C/m^2, J/m^2). */
typedef struct mr_series {
	int64_t n;
	double *time, *voltage, *current, *capacity, *energy;
} mr_series;

typedef struct mr_discharge {
	char status[32];       /* /solver status: cutoff, max_time, failed or depleted */
	int64_t snapshot;      /* the chosen /fields/NNNN (1-based) */
	int64_t snapshots;     /* how many the file has */
	double time;	       /* s, of the snapshot */
	double voltage;	       /* V at that time */
	double current;	       /* A/m^2, the applied current of the step ending there */
	double capacity;       /* C/m^2 delivered up to that time */
	double energy;	       /* J/m^2 delivered up to that time */
	double utilization;    /* mean over all CAM voxels of the cathode */
	double lithium_fields; /* C/m^2: F x Li gained by the CAM, from the snapshot */
	/* ionic current density magnitude in the cathode's electrolyte, A/m^2 */
	double i_mean, i_p50, i_p90, i_p99, i_max;
	int64_t i_count; /* electrolyte voxels they are taken over */
	/* per x-slice of the cathode [x0, x1): NAN where a slice has no CAM
	 * (utilization) or no electrolyte (i_ion) */
	int64_t slices;
	double *util;	    /* mean utilization */
	double *cumulative; /* C/m^2 stored between the separator and the slice's far face */
	double *i_ion;	    /* mean ionic current density magnitude, A/m^2 */
	/* LIB (NAN for ASSB): the smallest and largest c_e of the cell (mol/m^3)
	 * and per slice the mean c_e / c_e,0 over its pore volume (LE, and the
	 * CBD's pores weighted by its porosity): the sep_slices of the separator
	 * first, then the cathode's */
	double ce_min, ce_max;
	int64_t sep_slices;
	double *ce_rel;
} mr_discharge;

/* Reads and checks /timeseries of run file `file` (path names it in
 * messages). VB_ERR_INPUT for missing columns, wrong units, unequal lengths
 * or a time that goes backwards. Caller frees with mr_series_free. */
int mr_series_read(hid_t file, const char *path, mr_series *s, vb_err *e);
void mr_series_free(mr_series *s);

/* The indicators at the snapshot saved at time `time` (s), or the last one
 * when time is NAN, for the cathode x-slices [x0, x1) of the run's cell img
 * with parameter set p; the electrolyte profile also covers the separator's
 * slices [xs, x0) (xs = x0: none). VB_ERR_INPUT if no snapshot is at that time (the
 * message lists the saved times) or the fields do not fit the cell. Caller
 * frees with mr_discharge_free. */
int mr_discharge_read(hid_t file, const char *path, const vb_image *img, const vb_params *p,
		      int64_t xs, int64_t x0, int64_t x1, double time, mr_discharge *d, vb_err *e);
void mr_discharge_free(mr_discharge *d);

/* Linear-interpolation percentile q in [0, 1] of n sorted values (n > 0). */
double mr_percentile(const double *sorted, int64_t n, double q);

#endif
