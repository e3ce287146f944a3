/* metrics: the indicators of PHYSICS.md §4. What a cathode structure or a
 * cell promises before any discharge: volume fractions (overall and per
 * x-slice), theoretical capacity, masses and the theoretical energy bound of
 * a cell, effective ionic and electronic conductivity with tortuosity. And
 * what a discharge (a run file of solve) delivered: practical capacity,
 * energy density, CAM utilization and cumulative capacity along x, average
 * voltage and ionic current hot spots (run.c). docs/metrics.md. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "vb_cell.h"
#include "vb_cli.h"
#include "vb_conduct.h"
#include "vb_h5.h"
#include "vb_params.h"
#include "vb_units.h"
#include "vb_voxel.h"

#define PROGRAM "metrics"
#define FARADAY 96485.33212 /* C/mol, PHYSICS.md §2 */

enum { CONDUCT_IONIC = 1, CONDUCT_ELECTRONIC = 2 };

/* --profile NAME: what is printed per x-slice of the cathode */
enum {
	PROFILE_NONE,
	PROFILE_FRACTIONS,
	PROFILE_UTILIZATION,
	PROFILE_CUMULATIVE,
	PROFILE_CURRENT,
	PROFILE_ELECTROLYTE
};
static const char *const profile_names[] = {"",		  "fractions", "utilization",
					    "cumulative", "current",   "electrolyte"};

/* Unit conversions of the printed values */
#define MAH_CM2_PER_C_M2 (1.0 / 36000.0) /* C/m^2 -> mAh/cm^2 */
#define MA_CM2_PER_A_M2 0.1		 /* A/m^2 -> mA/cm^2 */

static const char usage_text[] =
	"usage: metrics [options] FILE.h5\n"
	"Indicators of a cathode structure (genstruct), a cell (assemble) or a\n"
	"discharge (a run file of solve).\n\n"
	"  --conductivity[=ionic|electronic]\n"
	"                      effective ionic and electronic conductivity and\n"
	"                      tortuosity (default both)\n"
	"  --json | --csv      machine-readable output (default: a table)\n"
	"  --profile NAME      one value per x-slice of the cathode as CSV, x in um\n"
	"                      from the separator side: fractions (volume fractions);\n"
	"                      for a run also utilization, cumulative (capacity stored\n"
	"                      up to x, mAh/cm2) and current (mean ionic current\n"
	"                      density in the electrolyte, mA/cm2) and, for a LIB run,\n"
	"                      electrolyte (mean c_e / c_e,0 over the slice's pores,\n"
	"                      from the separator on, x < 0 there)\n"
	"  --timeseries        a run's time series as CSV (s, V, mA/cm2, mAh/cm2, mWh/cm2)\n"
	"  --time T            a run's indicators at the snapshot saved at T (s, min, h;\n"
	"                      0: at rest; default: the end of the discharge)\n"
	"  --cell assb|lib     for a bare cathode: which phases conduct ions and which\n"
	"                      parameter set applies (default assb; a cell knows its type)\n"
	"  --params FILE       parameter set for a bare cathode (default: the shipped set)\n"
	"  --direction D       x (default), y, z or all: the axis the conductivity is\n"
	"                      measured along (potentials on the two faces across it,\n"
	"                      the others insulating); all: the three, with _x, _y,\n"
	"                      _z keys (the plain keys stay x)\n"
	"  --solver NAME       auto (default: mg), mg (geometric multigrid on the\n"
	"                      voxels, about 31 bytes per voxel), cholmod, pcg or amg\n"
	"  --rtol R            relative residual of iterative solvers (default: 1e-6\n"
	"                      for mg, whose kappa_eff is then converged to about\n"
	"                      1e-9; 1e-8 for pcg and amg)\n"
	"  -q, --quiet         no progress on stderr; otherwise a conductivity solve\n"
	"                      that takes over 10 s ($VOXBAT_PROGRESS_AFTER) reports\n"
	"                      it: on a terminal one line rewritten, elsewhere a line\n"
	"                      every 10 % of the way (residual from 1 to --rtol, log\n"
	"                      scale) or every minute, and a summary line\n"
	"  -h, --help          this text; --version: the program's version\n"
	"Keys and units: docs/metrics.md.\n";

typedef struct report {
	const char *file, *content, *cell_type;
	double h, thickness, area;
	int64_t x0, x1;
	double vf[VB_PHASE_COUNT];
	double c_theo; /* mAh/cm^2 */
	int is_cell;
	double m_anode, m_separator, m_cathode; /* mg/cm^2 */
	double e_theo;				/* Wh/kg */
	int conductivity;
	int direction;			     /* 0, 1, 2 = x, y, z; 3 = all */
	const char *direction_opt;	     /* as given, NULL when not */
	vb_conduct_result ion, el;	     /* along x or the one direction */
	vb_conduct_result ion_d[3], el_d[3]; /* all: along x, y and z */
	double kappa_bulk, eps_ion, sigma_bulk, eps_el;
	double ce0; /* electrolyte.c_init, mol/m^3 */
	int is_run;
	mr_discharge run;
} report;

static int fail(const vb_err *e)
{
	fprintf(stderr, PROGRAM ": %s\n", e->msg);
	return vb_err_exit_code(e->status);
}

/* Open-circuit energy of lithiating the CAM from c_init to c_max, J per m^3
 * of CAM: c_max F * integral of U_0(x) dx (Simpson, 2000 intervals). */
static double ocv_energy_density(const vb_params *p)
{
	const double cmax = vb_params_get(p, "cam.c_max");
	const double a = vb_params_get(p, "cam.c_init") / cmax, b = 1.0;
	const int n = 2000;
	double s = vb_params_eval(p, "cam.ocp", a) + vb_params_eval(p, "cam.ocp", b);
	for (int k = 1; k < n; k++)
		s += (k % 2 ? 4 : 2) * vb_params_eval(p, "cam.ocp", a + (b - a) * k / n);
	return cmax * FARADAY * s * (b - a) / (3.0 * n);
}

/* Conductivity of each phase in the ion- (ionic = 1) or electron-conducting
 * network of the cathode, S/m. */
static void network(const vb_params *p, const char *cell_type, int ionic,
		    double by_phase[VB_PHASE_COUNT])
{
	const int lib = strcmp(cell_type, "lib") == 0;
	for (int q = 0; q < VB_PHASE_COUNT; q++)
		by_phase[q] = 0;
	if (ionic) {
		/* SE (ASSB, CBD counted as SE) or LE with CBD at its factor (LIB) */
		const double kappa = vb_params_get(p, "electrolyte.conductivity");
		by_phase[VB_PHASE_ELECTROLYTE] = kappa;
		by_phase[VB_PHASE_CBD] =
			kappa * (lib ? vb_params_get(p, "cbd.conductivity_factor") : 1.0);
	} else {
		/* CAM, and CBD in a LIB cathode */
		by_phase[VB_PHASE_CAM] = vb_params_get(p, "cam.conductivity");
		by_phase[VB_PHASE_CBD] = lib ? vb_params_get(p, "cbd.conductivity") : 0.0;
	}
}

/* Progress of a long conductivity solve on stderr (docs/metrics.md): nothing
 * for the first 10 s; then on a terminal one line rewritten each iteration,
 * elsewhere (a log, a batch job) a line each tenth of the way (the relative
 * residual's from 1 to --rtol, on a log scale) or after a minute without
 * one; and a summary line at the end of a solve that printed any. */
typedef struct progress_ctx {
	const char *network; /* "ionic", "electronic" */
	int terminal, printed, tenths;
	double start, last_line, after; /* wall s; after: quiet until then */
} progress_ctx;

/* Seconds of quiet before a solve reports: $VOXBAT_PROGRESS_AFTER, else 10. */
static double progress_after(void)
{
	const char *v = getenv("VOXBAT_PROGRESS_AFTER");
	char *end;
	const double s = v ? strtod(v, &end) : 10.0;
	return v && (end == v || !(s >= 0)) ? 10.0 : s;
}

static double wall_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void show_progress(void *ctx, int64_t iteration, double residual, double rtol)
{
	progress_ctx *c = ctx;
	const double now = wall_seconds();
	if (now - c->start < c->after)
		return;
	const double f = residual >= 1 ? 0 : fmin(log(residual) / log(rtol), 1.0);
	if (c->terminal) {
		fprintf(stderr,
			"\rmetrics: %s network: iteration %lld, residual %.2e of %.0e (%3.0f %%)",
			c->network, (long long)iteration, residual, rtol, 100 * f);
		c->printed = 1;
		return;
	}
	const int tenths = (int)floor(10 * f);
	if (c->printed && tenths <= c->tenths && now - c->last_line < 60)
		return;
	c->tenths = tenths, c->last_line = now, c->printed = 1;
	fprintf(stderr,
		"metrics: %s network: %3.0f %%  iteration %lld, residual %.2e of %.0e, %.0f s\n",
		c->network, 100 * f, (long long)iteration, residual, rtol, now - c->start);
}

static int conductivities(const vb_image *img, const vb_params *p, report *r,
			  const vb_linsolve_opts *opts, int quiet, vb_err *e)
{
	const int lib = strcmp(r->cell_type, "lib") == 0;
	const double cbd_por = lib ? vb_params_get(p, "cbd.porosity") : 1.0;
	r->kappa_bulk = vb_params_get(p, "electrolyte.conductivity");
	r->eps_ion = r->vf[VB_PHASE_ELECTROLYTE] + cbd_por * r->vf[VB_PHASE_CBD];
	r->sigma_bulk = vb_params_get(p, "cam.conductivity");
	r->eps_el = r->vf[VB_PHASE_CAM] + (lib ? (1 - cbd_por) * r->vf[VB_PHASE_CBD] : 0.0);
	const int want[2] = {r->conductivity & CONDUCT_IONIC, r->conductivity & CONDUCT_ELECTRONIC};
	vb_conduct_result *res[2] = {&r->ion, &r->el};
	int rc[2] = {VB_OK, VB_OK};
	vb_err err[2];
	vb_err_clear(&err[0]);
	vb_err_clear(&err[1]);
	/* One network and direction after the other, each on all threads. */
	const int axes = r->direction == 3 ? 3 : 1;
	for (int k = 0; k < 2; k++) {
		if (!want[k])
			continue;
		double sigma[VB_PHASE_COUNT];
		network(p, r->cell_type, k == 0, sigma);
		for (int d = 0; d < axes && rc[k] == VB_OK; d++) {
			const int axis = r->direction == 3 ? d : r->direction;
			vb_conduct_result *out =
				r->direction == 3 ? (k == 0 ? &r->ion_d[d] : &r->el_d[d]) : res[k];
			vb_linsolve_opts o = *opts;
			progress_ctx pc = {k == 0 ? "ionic" : "electronic",
					   isatty(STDERR_FILENO),
					   0,
					   -1,
					   wall_seconds(),
					   0,
					   progress_after()};
			if (!quiet)
				o.progress = show_progress, o.progress_ctx = &pc;
			rc[k] = vb_conduct_solve_phases(img, sigma, r->x0, r->x1, axis, &o, out,
							&err[k]);
			if (pc.printed)
				fprintf(stderr,
					"%smetrics: %s network: %s, %lld iterations, residual "
					"%.2e, %.1f s\n",
					pc.terminal ? "\n" : "", pc.network,
					rc[k] == VB_OK ? "solved" : "failed",
					(long long)out->solver.iterations, out->solver.residual,
					wall_seconds() - pc.start);
		}
		if (r->direction == 3)
			*res[k] = k == 0 ? r->ion_d[0] : r->el_d[0];
	}
	for (int k = 0; k < 2; k++)
		if (rc[k] != VB_OK) {
			*e = err[k];
			return rc[k];
		}
	return VB_OK;
}

static double tau(double eps, double bulk, double eff)
{
	return eff > 0 ? eps * bulk / eff : INFINITY;
}

/* Delivered energy over the counted masses (docs/metrics.md), Wh/kg. */
static double energy_density(const report *r)
{
	const double m_total = (r->m_anode + r->m_separator + r->m_cathode) / 100; /* kg/m^2 */
	return r->run.energy / 3600 / m_total;
}

/* Energy over capacity: the mean voltage of the discharge, V. */
static double avg_voltage(const mr_discharge *d)
{
	return d->capacity > 0 ? d->energy / d->capacity : NAN;
}

/* One row of named values shared by --json and --csv: NAN prints as empty/null. */
typedef struct field {
	const char *name;
	double value;
} field;

static int fields(const report *r, field *f)
{
	int n = 0;
	f[n++] = (field){"voxel_size_um", r->h * 1e6};
	f[n++] = (field){"cathode_thickness_um", r->thickness * 1e6};
	f[n++] = (field){"vf_cam", r->vf[VB_PHASE_CAM]};
	f[n++] = (field){"vf_electrolyte", r->vf[VB_PHASE_ELECTROLYTE]};
	f[n++] = (field){"vf_cbd", r->vf[VB_PHASE_CBD]};
	f[n++] = (field){"vf_void", r->vf[VB_PHASE_VOID]};
	f[n++] = (field){"c_theo_mAh_cm2", r->c_theo};
	f[n++] = (field){"m_anode_mg_cm2", r->is_cell ? r->m_anode : NAN};
	f[n++] = (field){"m_separator_mg_cm2", r->is_cell ? r->m_separator : NAN};
	f[n++] = (field){"m_cathode_mg_cm2", r->is_cell ? r->m_cathode : NAN};
	f[n++] = (field){"e_theo_Wh_kg", r->is_cell ? r->e_theo : NAN};
	const int c = r->conductivity & CONDUCT_IONIC, d = r->conductivity & CONDUCT_ELECTRONIC;
	f[n++] = (field){"kappa_eff_S_m", c ? r->ion.kappa_eff : NAN};
	f[n++] = (field){"kappa_rel", c ? r->ion.kappa_eff / r->kappa_bulk : NAN};
	f[n++] = (field){"tau", c ? tau(r->eps_ion, r->kappa_bulk, r->ion.kappa_eff) : NAN};
	f[n++] = (field){"eps_ion", c ? r->eps_ion : NAN};
	f[n++] = (field){"sigma_eff_S_m", d ? r->el.kappa_eff : NAN};
	f[n++] = (field){"sigma_rel", d ? r->el.kappa_eff / r->sigma_bulk : NAN};
	f[n++] =
		(field){"tau_electronic", d ? tau(r->eps_el, r->sigma_bulk, r->el.kappa_eff) : NAN};
	f[n++] = (field){"eps_electronic", d ? r->eps_el : NAN};
	if (r->direction == 3) { /* all: the three directions */
		static const char *const names[3][6] = {
			{"kappa_eff_x_S_m", "kappa_rel_x", "tau_x", "sigma_eff_x_S_m",
			 "sigma_rel_x", "tau_electronic_x"},
			{"kappa_eff_y_S_m", "kappa_rel_y", "tau_y", "sigma_eff_y_S_m",
			 "sigma_rel_y", "tau_electronic_y"},
			{"kappa_eff_z_S_m", "kappa_rel_z", "tau_z", "sigma_eff_z_S_m",
			 "sigma_rel_z", "tau_electronic_z"}};
		for (int a = 0; a < 3; a++) {
			const double ki = r->ion_d[a].kappa_eff, se = r->el_d[a].kappa_eff;
			f[n++] = (field){names[a][0], c ? ki : NAN};
			f[n++] = (field){names[a][1], c ? ki / r->kappa_bulk : NAN};
			f[n++] = (field){names[a][2], c ? tau(r->eps_ion, r->kappa_bulk, ki) : NAN};
			f[n++] = (field){names[a][3], d ? se : NAN};
			f[n++] = (field){names[a][4], d ? se / r->sigma_bulk : NAN};
			f[n++] = (field){names[a][5], d ? tau(r->eps_el, r->sigma_bulk, se) : NAN};
		}
	}
	/* a run (NAN otherwise) */
	const mr_discharge *u = &r->run;
	const int x = r->is_run;
	f[n++] = (field){"time_s", x ? u->time : NAN};
	f[n++] = (field){"voltage_V", x ? u->voltage : NAN};
	f[n++] = (field){"current_mA_cm2", x ? u->current * MA_CM2_PER_A_M2 : NAN};
	f[n++] = (field){"capacity_mAh_cm2", x ? u->capacity * MAH_CM2_PER_C_M2 : NAN};
	f[n++] = (field){"energy_mWh_cm2", x ? u->energy * MAH_CM2_PER_C_M2 : NAN};
	f[n++] = (field){"energy_density_Wh_kg", x ? energy_density(r) : NAN};
	f[n++] = (field){"avg_voltage_V", x ? avg_voltage(u) : NAN};
	f[n++] = (field){"utilization", x ? u->utilization : NAN};
	f[n++] = (field){"i_ion_mean_mA_cm2", x ? u->i_mean * MA_CM2_PER_A_M2 : NAN};
	f[n++] = (field){"i_ion_p50_mA_cm2", x ? u->i_p50 * MA_CM2_PER_A_M2 : NAN};
	f[n++] = (field){"i_ion_p90_mA_cm2", x ? u->i_p90 * MA_CM2_PER_A_M2 : NAN};
	f[n++] = (field){"i_ion_p99_mA_cm2", x ? u->i_p99 * MA_CM2_PER_A_M2 : NAN};
	f[n++] = (field){"i_ion_max_mA_cm2", x ? u->i_max * MA_CM2_PER_A_M2 : NAN};
	f[n++] = (field){"c_e_min_mol_m3", x ? u->ce_min : NAN};
	f[n++] = (field){"c_e_max_mol_m3", x ? u->ce_max : NAN};
	return n;
}

static const char *const direction_names[4] = {"x", "y", "z", "all"};

static void print_json(const report *r)
{
	field f[72];
	int n = fields(r, f);
	json_t *root = json_object();
	json_object_set_new(root, "file", json_string(r->file));
	json_object_set_new(root, "content", json_string(r->content));
	json_object_set_new(root, "cell_type", json_string(r->cell_type));
	for (int k = 0; k < n; k++)
		json_object_set_new(root, f[k].name,
				    isfinite(f[k].value) ? json_real(f[k].value) : json_null());
	if (r->conductivity & CONDUCT_IONIC)
		json_object_set_new(root, "ion_percolates", json_boolean(r->ion.percolates));
	if (r->conductivity) {
		/* the ionic network's solver, the electronic one's when it is alone */
		const vb_linsolve_stats *st =
			r->conductivity & CONDUCT_IONIC ? &r->ion.solver : &r->el.solver;
		json_object_set_new(root, "solver", json_string(vb_linsolve_method_name(st->used)));
		json_object_set_new(root, "solver_iterations", json_integer(st->iterations));
		json_object_set_new(root, "direction", json_string(direction_names[r->direction]));
	}
	if (r->conductivity & CONDUCT_ELECTRONIC)
		json_object_set_new(root, "electron_percolates", json_boolean(r->el.percolates));
	if (r->is_run) {
		json_object_set_new(root, "status", json_string(r->run.status));
		json_object_set_new(root, "snapshot", json_integer(r->run.snapshot));
	}
	char *text =
		json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
	if (text != NULL)
		printf("%s\n", text);
	free(text);
	json_decref(root);
}

static void print_csv(const report *r)
{
	field f[72];
	int n = fields(r, f);
	const int dir = r->direction_opt != NULL; /* a column only when asked for */
	printf("file,cell_type%s", dir ? ",direction" : "");
	for (int k = 0; k < n; k++)
		printf(",%s", f[k].name);
	printf(",status\n%s,%s", r->file, r->cell_type);
	if (dir)
		printf(",%s", direction_names[r->direction]);
	for (int k = 0; k < n; k++) {
		if (isfinite(f[k].value))
			printf(",%.10g", f[k].value);
		else
			printf(",");
	}
	printf(",%s\n", r->is_run ? r->run.status : "");
}

static void print_table(const report *r)
{
	printf("file                 %s (%s, %s)\n", r->file, r->content, r->cell_type);
	printf("cathode              %.6g um thick (x-slices %lld..%lld), voxel %g um\n",
	       r->thickness * 1e6, (long long)r->x0, (long long)r->x1 - 1, r->h * 1e6);
	printf("volume fractions     CAM %.4f  electrolyte %.4f  CBD %.4f  void %.4f\n",
	       r->vf[VB_PHASE_CAM], r->vf[VB_PHASE_ELECTROLYTE], r->vf[VB_PHASE_CBD],
	       r->vf[VB_PHASE_VOID]);
	printf("theoretical capacity %.4f mAh/cm2\n", r->c_theo);
	if (r->is_cell) {
		printf("masses               anode %.4f  separator %.4f  cathode %.4f mg/cm2\n",
		       r->m_anode, r->m_separator, r->m_cathode);
		printf("theoretical energy   %.1f Wh/kg (open-circuit bound)\n", r->e_theo);
	}
	if (r->conductivity && r->direction != 0)
		printf("direction            %s\n",
		       r->direction == 3 ? "x, y and z (x first)" : direction_names[r->direction]);
	if (r->conductivity & CONDUCT_IONIC) {
		if (r->ion.percolates)
			printf("ionic                kappa_eff %.6g S/m  kappa_rel %.6g  tau "
			       "%.6g\n",
			       r->ion.kappa_eff, r->ion.kappa_eff / r->kappa_bulk,
			       tau(r->eps_ion, r->kappa_bulk, r->ion.kappa_eff));
		else
			printf("ionic                no conducting path: kappa_eff = 0\n");
	}
	if (r->conductivity & CONDUCT_ELECTRONIC) {
		if (r->el.percolates)
			printf("electronic           sigma_eff %.6g S/m  sigma_rel %.6g  tau "
			       "%.6g\n",
			       r->el.kappa_eff, r->el.kappa_eff / r->sigma_bulk,
			       tau(r->eps_el, r->sigma_bulk, r->el.kappa_eff));
		else
			printf("electronic           no conducting path: sigma_eff = 0\n");
	}
	for (int a = 1; r->direction == 3 && a < 3; a++) {
		if (r->conductivity & CONDUCT_IONIC)
			printf("ionic along %s        kappa_eff %.6g S/m  kappa_rel %.6g  tau "
			       "%.6g\n",
			       direction_names[a], r->ion_d[a].kappa_eff,
			       r->ion_d[a].kappa_eff / r->kappa_bulk,
			       tau(r->eps_ion, r->kappa_bulk, r->ion_d[a].kappa_eff));
		if (r->conductivity & CONDUCT_ELECTRONIC)
			printf("electronic along %s   sigma_eff %.6g S/m  sigma_rel %.6g  tau "
			       "%.6g\n",
			       direction_names[a], r->el_d[a].kappa_eff,
			       r->el_d[a].kappa_eff / r->sigma_bulk,
			       tau(r->eps_el, r->sigma_bulk, r->el_d[a].kappa_eff));
	}
	if (r->is_run) {
		const mr_discharge *d = &r->run;
		const double k = MA_CM2_PER_A_M2;
		printf("discharge            %s; snapshot %lld of %lld at %.6g s: U = %.4f V, "
		       "I = %.4g mA/cm2\n",
		       d->status, (long long)d->snapshot, (long long)d->snapshots, d->time,
		       d->voltage, d->current * k);
		printf("practical capacity   %.4f mAh/cm2, utilization %.4f\n",
		       d->capacity * MAH_CM2_PER_C_M2, d->utilization);
		printf("energy               %.4f mWh/cm2, %.1f Wh/kg, average voltage %.4f V\n",
		       d->energy * MAH_CM2_PER_C_M2, energy_density(r), avg_voltage(d));
		printf("ionic current        in the cathode's electrolyte: mean %.4g, median %.4g, "
		       "p90 %.4g, p99 %.4g, max %.4g mA/cm2\n",
		       d->i_mean * k, d->i_p50 * k, d->i_p90 * k, d->i_p99 * k, d->i_max * k);
		if (isfinite(d->ce_min))
			printf("electrolyte          c_e from %.5g to %.5g mol/m3 (c_e,0 %.5g)\n",
			       d->ce_min, d->ce_max, r->ce0);
	}
}

static int print_profile(const vb_image *img, const report *r, int which)
{
	const double um = r->h * 1e6;
	if (which != PROFILE_FRACTIONS) {
		const mr_discharge *d = &r->run;
		static const char *const head[] = {"",
						   "",
						   "x_um,utilization",
						   "x_um,cumulative_capacity_mAh_cm2",
						   "x_um,i_ion_mean_mA_cm2",
						   "x_um,c_e_rel"};
		printf("%s\n", head[which]);
		if (which == PROFILE_CUMULATIVE)
			printf("0,0\n"); /* nothing is stored before the separator */
		/* the electrolyte's profile starts in the separator (x < 0) */
		const int64_t from = which == PROFILE_ELECTROLYTE ? -d->sep_slices : 0;
		for (int64_t s = from; s < d->slices; s++) {
			/* cumulative: up to the slice's far face; the others: its centre */
			double x = ((double)s + (which == PROFILE_CUMULATIVE ? 1.0 : 0.5)) * um;
			double v = which == PROFILE_UTILIZATION ? d->util[s]
				   : which == PROFILE_CUMULATIVE
					   ? d->cumulative[s] * MAH_CM2_PER_C_M2
				   : which == PROFILE_ELECTROLYTE ? d->ce_rel[s + d->sep_slices]
								  : d->i_ion[s] * MA_CM2_PER_A_M2;
			if (isnan(v))
				printf("%.6g,\n", x);
			else
				printf("%.6g,%.10g\n", x, v);
		}
		return 0;
	}
	double *f = malloc((size_t)img->nx * VB_PHASE_COUNT * sizeof *f);
	if (f == NULL) {
		fprintf(stderr, PROGRAM ": out of memory\n");
		return 1;
	}
	vb_voxel_slice_fractions(img, f);
	printf("x_um,vf_cam,vf_electrolyte,vf_cbd,vf_void\n");
	for (int64_t i = r->x0; i < r->x1; i++)
		printf("%.6g,%.6f,%.6f,%.6f,%.6f\n", ((double)(i - r->x0) + 0.5) * um,
		       f[i * VB_PHASE_COUNT + VB_PHASE_CAM],
		       f[i * VB_PHASE_COUNT + VB_PHASE_ELECTROLYTE],
		       f[i * VB_PHASE_COUNT + VB_PHASE_CBD], f[i * VB_PHASE_COUNT + VB_PHASE_VOID]);
	free(f);
	return 0;
}

static void print_series(const mr_series *s)
{
	printf("time_s,voltage_V,current_mA_cm2,capacity_mAh_cm2,energy_mWh_cm2\n");
	for (int64_t i = 0; i < s->n; i++)
		printf("%.10g,%.10g,%.10g,%.10g,%.10g\n", s->time[i], s->voltage[i],
		       s->current[i] * MA_CM2_PER_A_M2, s->capacity[i] * MAH_CM2_PER_C_M2,
		       s->energy[i] * MAH_CM2_PER_C_M2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"conductivity", optional_argument, 0, 'k'},
		{"profile", required_argument, 0, 'p'},
		{"timeseries", no_argument, 0, 'S'},
		{"time", required_argument, 0, 'T'},
		{"json", no_argument, 0, 'j'},
		{"csv", no_argument, 0, 'c'},
		{"cell", required_argument, 0, 't'},
		{"params", required_argument, 0, 'P'},
		{"direction", required_argument, 0, 'D'},
		{"solver", required_argument, 0, 's'},
		{"rtol", required_argument, 0, 'r'},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, 'V'},
		{0, 0, 0, 0},
	};
	report r;
	memset(&r, 0, sizeof r);
	int json = 0, csv = 0, profile = PROFILE_NONE, series = 0, quiet = 0, c;
	const char *cell_opt = NULL, *params_path = NULL, *time_opt = NULL;
	double at_time = NAN;
	mr_series ts;
	memset(&ts, 0, sizeof ts);
	vb_linsolve_opts lo = vb_linsolve_defaults();
	int rtol_given = 0;
	{
		vb_err re;
		vb_err_clear(&re);
		if (vb_cli_check_repeats(argc, argv, 1, NULL, &re) != VB_OK) {
			fprintf(stderr, PROGRAM ": %s\n", re.msg);
			return 2;
		}
	}
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (optarg == NULL || strcmp(optarg, "both") == 0) {
				r.conductivity = CONDUCT_IONIC | CONDUCT_ELECTRONIC;
			} else if (strcmp(optarg, "ionic") == 0) {
				r.conductivity = CONDUCT_IONIC;
			} else if (strcmp(optarg, "electronic") == 0) {
				r.conductivity = CONDUCT_ELECTRONIC;
			} else {
				fprintf(stderr,
					PROGRAM
					": --conductivity=%s: expected ionic, electronic or both\n",
					optarg);
				return 2;
			}
			break;
		case 'p': {
			const char *arg = optarg != NULL ? optarg : "";
			for (int k = PROFILE_FRACTIONS; k <= PROFILE_ELECTROLYTE; k++)
				if (strcmp(arg, profile_names[k]) == 0)
					profile = k;
			if (profile == PROFILE_NONE) {
				fprintf(stderr,
					PROGRAM
					": --profile '%s': expected fractions, utilization, "
					"cumulative, current or electrolyte\n",
					arg);
				return 2;
			}
			break;
		}
		case 'D': {
			const char *arg = optarg != NULL ? optarg : "";
			r.direction = -1;
			for (int a = 0; a < 4; a++)
				if (strcmp(arg, direction_names[a]) == 0)
					r.direction = a;
			if (r.direction < 0) {
				fprintf(stderr,
					PROGRAM ": --direction '%s': expected x, y, z or all\n",
					arg);
				return 2;
			}
			r.direction_opt = arg;
			break;
		}
		case 'S': series = 1; break;
		case 'T': time_opt = optarg; break;
		case 'j': json = 1; break;
		case 'c': csv = 1; break;
		case 't': cell_opt = optarg; break;
		case 'P': params_path = optarg; break;
		case 's': {
			int m = vb_linsolve_method_parse(optarg);
			if (m < 0) {
				fprintf(stderr,
					PROGRAM
					": --solver '%s': expected auto, mg, cholmod, pcg or amg\n",
					optarg);
				return 2;
			}
			lo.method = (vb_linsolve_method)m;
			break;
		}
		case 'r': {
			char *end;
			const char *arg = optarg != NULL ? optarg : "";
			lo.rtol = strtod(arg, &end);
			rtol_given = 1;
			if (*end != '\0' || !(lo.rtol > 0 && lo.rtol < 1)) {
				fprintf(stderr,
					PROGRAM ": --rtol '%s': expected a number in (0, 1)\n",
					optarg);
				return 2;
			}
			break;
		}
		case 'q': quiet = 1; break;
		case 'h': fputs(usage_text, stdout); return fflush(stdout) == 0 ? 0 : 1;
		case 'V': printf("metrics (voxbat) %s\n", VB_VERSION); return 0;
		default: return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, PROGRAM ": expected one file (see 'metrics --help')\n");
		return 2;
	}
	if (json + csv + (profile != PROFILE_NONE) + series > 1) {
		fprintf(stderr,
			PROGRAM ": --json, --csv, --profile and --timeseries are exclusive\n");
		return 2;
	}
	if (!rtol_given && (lo.method == VB_LINSOLVE_AUTO || lo.method == VB_LINSOLVE_MG))
		lo.rtol = 1e-6; /* mg: kappa_eff from the dissipated power (docs/conductivity.md) */
	if (r.direction_opt != NULL && !r.conductivity) {
		fprintf(stderr, PROGRAM ": --direction needs --conductivity\n");
		return 2;
	}
	if (cell_opt && strcmp(cell_opt, "assb") != 0 && strcmp(cell_opt, "lib") != 0) {
		fprintf(stderr, PROGRAM ": --cell '%s': expected assb or lib\n", cell_opt);
		return 2;
	}
	r.file = argv[optind];
	vb_err e;
	vb_err_clear(&e);
	if (time_opt != NULL &&
	    (vb_units_parse(time_opt, VB_UNIT_TIME, "--time", &at_time, &e) != VB_OK ||
	     !(at_time >= 0)))
		return fail(e.status == VB_OK
				    ? (vb_err_set(&e, VB_ERR_INPUT,
						  "--time '%s': expected a time >= 0", time_opt),
				       &e)
				    : &e);
	hid_t file = vb_h5_open(r.file, &e);
	if (file < 0)
		return fail(&e);
	vb_image *img = NULL;
	vb_params *p = NULL;
	char *content = NULL, *cell_type = NULL;
	int rc = vb_h5_attr_read_string(file, "content", r.file, &content, &e);
	if (rc == VB_OK && strcmp(content, "structure") != 0 && strcmp(content, "cell") != 0 &&
	    strcmp(content, "run") != 0)
		rc = vb_err_set(&e, VB_ERR_INPUT,
				"%s: content is '%s', expected a structure, a cell or a run",
				r.file, content);
	if (rc == VB_OK) {
		r.is_run = strcmp(content, "run") == 0;
		const int needs_run = series || time_opt != NULL ||
				      (profile != PROFILE_NONE && profile != PROFILE_FRACTIONS);
		if (needs_run && !r.is_run)
			rc = vb_err_set(
				&e, VB_ERR_INPUT,
				"%s: a %s; --timeseries, --time and --profile %s need a run "
				"file of solve",
				r.file, content,
				profile > PROFILE_FRACTIONS
					? profile_names[profile]
					: "utilization|cumulative|current|electrolyte");
	}
	if (rc == VB_OK)
		rc = vb_h5_read_image(file, r.file, &img, &e);
	if (rc == VB_OK && strcmp(content, "structure") != 0) {
		r.is_cell = 1;
		rc = vb_h5_attr_read_string(file, "cell_type", r.file, &cell_type, &e);
		if (rc == VB_OK && params_path != NULL)
			rc = vb_err_set(
				&e, VB_ERR_INPUT,
				"%s: a cell carries its own parameters; --params is for a bare "
				"cathode",
				r.file);
		if (rc == VB_OK && cell_opt != NULL && strcmp(cell_opt, cell_type) != 0)
			rc = vb_err_set(&e, VB_ERR_INPUT, "%s: the cell is %s, --cell says %s",
					r.file, cell_type, cell_opt);
		if (rc == VB_OK && (p = vb_params_read_h5(file, "parameters", r.file, &e)) == NULL)
			rc = VB_ERR_INPUT;
	} else if (rc == VB_OK) {
		cell_type = strdup(cell_opt ? cell_opt : "assb");
		p = params_path ? vb_params_load(params_path, &e)
				: vb_params_load_default(cell_type, &e);
		if (p == NULL)
			rc = VB_ERR_INPUT;
		else if (strcmp(vb_params_cell_type(p), cell_type) != 0)
			rc = vb_err_set(&e, VB_ERR_INPUT, "%s: a %s parameter set for --cell %s",
					params_path, vb_params_cell_type(p), cell_type);
	}
	/* a structure is all cathode; a cell's layers are checked against its
	 * labels and its type against its parameters (vb_cell) */
	int64_t s0 = 0, s1 = 0;
	r.x0 = 0, r.x1 = 0;
	if (rc == VB_OK)
		r.x1 = img->nx;
	if (rc == VB_OK && r.is_cell) {
		vb_cell_regions reg = {{0}, {0}};
		rc = vb_cell_check(file, r.file, img, p, &reg, &e);
		r.x0 = reg.x0[VB_CELL_CATHODE], r.x1 = reg.x1[VB_CELL_CATHODE];
		s0 = reg.x0[VB_CELL_SEPARATOR], s1 = reg.x1[VB_CELL_SEPARATOR];
	}
	if (rc == VB_OK && series)
		rc = mr_series_read(file, r.file, &ts, &e);
	else if (rc == VB_OK && r.is_run)
		rc = mr_discharge_read(file, r.file, img, p, r.is_cell ? s0 : r.x0, r.x0, r.x1,
				       at_time, &r.run, &e);
	if (rc == VB_OK && profile == PROFILE_ELECTROLYTE && !isfinite(r.run.ce_min))
		rc = vb_err_set(&e, VB_ERR_INPUT,
				"%s: --profile electrolyte needs a run of a LIB cell (c_e); this "
				"one is %s",
				r.file, cell_type);
	vb_h5_close(file, NULL);
	if (rc == VB_OK)
		r.ce0 = vb_params_get(p, "electrolyte.c_init");
	if (rc == VB_OK) {
		r.content = content;
		r.cell_type = cell_type;
		r.h = img->voxel_size;
		r.thickness = (double)(r.x1 - r.x0) * r.h;
		r.area = (double)img->ny * (double)img->nz * r.h * r.h;
		int64_t count[VB_PHASE_COUNT] = {0};
		for (int64_t v = vb_voxel_index(img, r.x0, 0, 0);
		     v < vb_voxel_index(img, r.x1, 0, 0); v++)
			count[img->labels[v]]++;
		const double total = (double)(r.x1 - r.x0) * (double)img->ny * (double)img->nz;
		for (int q = 0; q < VB_PHASE_COUNT; q++)
			r.vf[q] = (double)count[q] / total;
		/* C_theo = (c_max - c_init) F V_CAM / A, PHYSICS.md §4; C/m^2 -> mAh/cm^2 */
		const double v_cam = r.vf[VB_PHASE_CAM] * r.thickness; /* m^3 per m^2 */
		const double cmax = vb_params_get(p, "cam.c_max"),
			     c0 = vb_params_get(p, "cam.c_init");
		r.c_theo = (cmax - c0) * FARADAY * v_cam / 3.6 / 1e4;
		if (r.is_cell) {
			/* masses in kg/m^2, reported in mg/cm^2 (x 100) */
			const int lib = strcmp(cell_type, "lib") == 0;
			const double rho_el = vb_params_get(p, "electrolyte.density");
			double m_cath = v_cam * vb_params_get(p, "cam.density") +
					r.vf[VB_PHASE_ELECTROLYTE] * r.thickness * rho_el;
			if (lib) {
				double por = vb_params_get(p, "cbd.porosity");
				m_cath += r.vf[VB_PHASE_CBD] * r.thickness *
					  ((1 - por) * vb_params_get(p, "cbd.density") +
					   por * rho_el);
			}
			const double sep = (double)(s1 - s0) * r.h;
			double por_s = vb_params_get(p, "separator.porosity");
			double m_sep = sep * ((1 - por_s) * vb_params_get(p, "separator.density") +
					      (lib ? por_s * rho_el : 0.0));
			/* anode: the Li for ideal matching, C_theo / (specific capacity) */
			/* mAh/cm^2 / (mAh/g) = g/cm^2 = 10 kg/m^2 */
			double m_an =
				r.c_theo / vb_params_get(p, "li_metal.specific_capacity") * 10.0;
			r.m_anode = m_an * 100, r.m_separator = m_sep * 100,
			r.m_cathode = m_cath * 100;
			double energy = ocv_energy_density(p) * v_cam; /* J/m^2 */
			r.e_theo = energy / 3600.0 / (m_an + m_sep + m_cath);
		}
		if (r.conductivity)
			rc = conductivities(img, p, &r, &lo, quiet, &e);
	}
	int code = 0;
	if (rc != VB_OK)
		code = fail(&e);
	else if (series)
		print_series(&ts);
	else if (profile != PROFILE_NONE)
		code = print_profile(img, &r, profile);
	else if (json)
		print_json(&r);
	else if (csv)
		print_csv(&r);
	else
		print_table(&r);
	free(content);
	free(cell_type);
	mr_series_free(&ts);
	mr_discharge_free(&r.run);
	vb_params_free(&p);
	vb_voxel_free(&img);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROGRAM ": error writing standard output\n");
		return code ? code : 1;
	}
	return code;
}
