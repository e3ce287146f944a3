/* solve: galvanostatic discharge of an assembled cell (ASSB or LIB), every voxel
 * resolved (PHYSICS.md §2). Reads cell.h5, writes run.h5 (the cell, the time
 * series, field snapshots, solver statistics; docs/FORMAT.md) and RUN.h5.xdmf. */
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "discharge.h"
#include "runfile.h"
#include "vb_cell.h"
#include "vb_cli.h"
#include "vb_echem.h"
#include "vb_h5.h"
#include "vb_outfile.h"
#include "vb_params.h"
#include "vb_units.h"
#include "vb_xdmf.h"

#define PROGRAM "solve"
#define MAX_SETS 64

static const char usage_text[] =
	"usage: solve CELL.h5 (--current I | --c-rate R) [options] -o RUN.h5\n"
	"Discharges an assembled cell (ASSB or LIB) at constant current until the\n"
	"cut-off voltage, resolving every voxel (docs/solve.md). Writes RUN.h5 and\n"
	"RUN.h5.xdmf.\n\n"
	"  --current I          current density (mA/cm2, A/m2, ...), > 0; a '^' before\n"
	"                       an exponent is optional in any unit (A/m^2 = A/m2)\n"
	"  --c-rate R           current as a multiple of C_theo per hour (e.g. 1, 0.5);\n"
	"                       either way the current must be 0.001C to 1000C\n"
	"  --cutoff U           lower cut-off voltage, above 0 V and below the open-circuit\n"
	"                       voltage (default: cell.cutoff_voltage, 3.0V)\n"
	"  --max-time T         stop at this time (s, min, h) if the cut-off comes later\n"
	"  --save-every T       field snapshots at rest (t = 0) and every T of simulated\n"
	"                       time (default: only the final state, always saved)\n"
	"  --set KEY=VALUE      override one parameter for this run (repeatable), e.g.\n"
	"                       --set cam.diffusivity=1e-12cm2/s; recorded in the output\n"
	"  --step-tol X         scale of the step-size targets (default 1: 0.05 change\n"
	"                       of lithiation, 20 mV of voltage per step; 0.001..1000)\n"
	"  --max-step T         largest time step, at least 1ms (default 600s)\n"
	"  --newton-max N       Newton iterations per step before the step is cut (12)\n"
	"  --subgrid-cells N    finite volumes of the sub-voxel diffusion layer under each\n"
	"                       reacting CAM face, 1..64 (default 24; docs/solve.md)\n"
	"  --subgrid-ratio R    their growth from the surface inward, 1..4 (default 1.25)\n"
	"  --subgrid-law LAW    how a voxel's reacting faces share it: superposed\n"
	"                       (each face's layer spans the whole voxel, exact at\n"
	"                       edges and corners; default) or split (divided among\n"
	"                       its faces by nearness; the law before; docs/solve.md)\n"
	"  --subgrid-lateral on|off  superposed law: each reacting face reacts on four\n"
	"                       quarters, with two lateral mode chains per face, so\n"
	"                       that current can shift along the face (default on;\n"
	"                       off: one current per face; docs/solve.md)\n"
	"  --checkpoint FILE    save the state there every --checkpoint-every of wall\n"
	"                       time (default 300s) and on SIGINT/SIGTERM; removed when\n"
	"                       the run ends well. Not the input, the output or its XDMF,\n"
	"                       nor an existing file that is not a checkpoint (exit 2)\n"
	"  --checkpoint-every T wall time between checkpoints (e.g. 10min; 0s: every step)\n"
	"  --resume             continue from --checkpoint FILE\n"
	"  -o, --output FILE    run file (- for stdout, then no XDMF)\n"
	"  -q, --quiet          no progress on stderr\n"
	"  --progress           progress as on a terminal (one line rewritten every step)\n"
	"                       even when stderr is not one; otherwise there a line\n"
	"                       every 10 % of the way (the voltage's from U_0 to the\n"
	"                       cut-off or the time's to --max-time) or every minute,\n"
	"                       and the summary line at the end\n"
	"  -h, --help           this text; --version: the program's version\n"
	"Exit status: 0 done (cut-off, --max-time, or a LIB electrolyte depleted: c_e\n"
	"below 0.1 % of c_e,0 somewhere, said on stderr), 1 failure while running (the\n"
	"output then keeps the last good state), 2 invalid input, also an -o, RUN.h5.xdmf\n"
	"or --checkpoint that cannot be created (checked before any work).\n";

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int fail(const vb_err *e)
{
	fprintf(stderr, PROGRAM ": %s\n", e->msg);
	return vb_err_exit_code(e->status);
}

static int usage_error(const char *msg)
{
	fprintf(stderr, PROGRAM ": %s (see 'solve --help')\n", msg);
	return 2;
}

/* Progress on stderr: on a terminal (or with --progress) one line rewritten
 * after every step; otherwise (a log file, a batch job) a line each time
 * another tenth of the way is done, or after a minute without one. */
typedef struct progress_ctx {
	int terminal;
	double u0, cutoff, max_time; /* V, V, s: what "the way" is measured on */
	int tenths;		     /* tenths done at the last line */
	double last_line;	     /* wall s of the last line */
} progress_ctx;

static double wall_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The way done: the voltage's from U_0 to the cut-off or the time's to
 * --max-time, whichever is further. */
static double way_done(const sv_run *r, const progress_ctx *p)
{
	double f = (p->u0 - r->ts.voltage[r->ts.n - 1]) / (p->u0 - p->cutoff);
	if (isfinite(p->max_time))
		f = fmax(f, r->t / p->max_time);
	return fmin(fmax(f, 0.0), 1.0);
}

static void show_progress(const sv_run *r, void *ctx)
{
	progress_ctx *p = ctx;
	const double u = r->ts.voltage[r->ts.n - 1], q = r->capacity / 36000.0;
	if (p->terminal) {
		fprintf(stderr, "\rsolve: t = %9.1f s  U = %.4f V  Q = %.4f mAh/cm2  steps %lld   ",
			r->t, u, q, (long long)r->steps);
		return;
	}
	const double f = way_done(r, p), now = wall_seconds();
	const int tenths = (int)floor(10 * f);
	if (tenths <= p->tenths && now - p->last_line < 60)
		return;
	p->tenths = tenths > p->tenths ? tenths : p->tenths;
	p->last_line = now;
	fprintf(stderr, "solve: %3.0f %%  t = %.1f s  U = %.4f V  Q = %.4f mAh/cm2  steps %lld\n",
		100 * f, r->t, u, q, (long long)r->steps);
}

/* cmdline: argv as the user typed it, joined before getopt_long permutes it. */
static int run_program(int argc, char **argv, const char *cmdline)
{
	static const struct option opts[] = {
		{"current", required_argument, 0, 'I'},
		{"c-rate", required_argument, 0, 'C'},
		{"cutoff", required_argument, 0, 'u'},
		{"max-time", required_argument, 0, 'T'},
		{"save-every", required_argument, 0, 's'},
		{"set", required_argument, 0, 'S'},
		{"step-tol", required_argument, 0, 't'},
		{"max-step", required_argument, 0, 'm'},
		{"newton-max", required_argument, 0, 'n'},
		{"subgrid-cells", required_argument, 0, 'g'},
		{"subgrid-ratio", required_argument, 0, 'G'},
		{"subgrid-law", required_argument, 0, 'L'},
		{"subgrid-lateral", required_argument, 0, 'l'},
		{"checkpoint", required_argument, 0, 'k'},
		{"checkpoint-every", required_argument, 0, 'K'},
		{"resume", no_argument, 0, 'r'},
		{"output", required_argument, 0, 'o'},
		{"quiet", no_argument, 0, 'q'},
		{"progress", no_argument, 0, 'P'},
		{"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, 'V'},
		{0, 0, 0, 0},
	};
	const char *current_s = NULL, *crate_s = NULL, *cutoff_s = NULL, *maxtime_s = NULL;
	const char *save_s = NULL, *steptol_s = NULL, *maxstep_s = NULL, *newton_s = NULL;
	const char *ckpt = NULL, *ckpt_every_s = NULL, *out = NULL, *cells_s = NULL,
		   *ratio_s = NULL, *law_s = NULL, *lateral_s = NULL;
	const char *sets[MAX_SETS];
	int nsets = 0, resume = 0, quiet = 0, force_progress = 0, c;
	while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'I': current_s = optarg; break;
		case 'C': crate_s = optarg; break;
		case 'u': cutoff_s = optarg; break;
		case 'T': maxtime_s = optarg; break;
		case 's': save_s = optarg; break;
		case 'S':
			if (nsets == MAX_SETS)
				return usage_error("too many --set options");
			sets[nsets++] = optarg;
			break;
		case 't': steptol_s = optarg; break;
		case 'm': maxstep_s = optarg; break;
		case 'n': newton_s = optarg; break;
		case 'g': cells_s = optarg; break;
		case 'G': ratio_s = optarg; break;
		case 'L': law_s = optarg; break;
		case 'l': lateral_s = optarg; break;
		case 'k': ckpt = optarg; break;
		case 'K': ckpt_every_s = optarg; break;
		case 'r': resume = 1; break;
		case 'o': out = optarg; break;
		case 'q': quiet = 1; break;
		case 'P': force_progress = 1; break;
		case 'h': fputs(usage_text, stdout); return fflush(stdout) == 0 ? 0 : 1;
		case 'V': printf("solve (voxbat) %s\n", VB_VERSION); return 0;
		default: return 2;
		}
	}
	if (optind != argc - 1)
		return usage_error("expected one cell file");
	if (out == NULL)
		return usage_error("-o OUTPUT is required");
	if ((current_s == NULL) == (crate_s == NULL))
		return usage_error("give exactly one of --current and --c-rate");
	if (resume && ckpt == NULL)
		return usage_error("--resume needs --checkpoint FILE");
	const char *in = argv[optind];
	vb_err e;
	vb_err_clear(&e);
	sv_options o = {0};
	o.max_time = INFINITY;
	o.step_tol = 1;
	o.dt_init = 0.1, o.dt_min = 1e-6, o.dt_max = 600;
	o.echem = vb_echem_defaults();
	o.subgrid = vb_subgrid_defaults();
	double crate = 0, ckpt_every = 300;
	int rc = VB_OK;
	if (current_s && vb_units_parse(current_s, VB_UNIT_CURRENT_DENSITY, "--current", &o.current,
					&e) != VB_OK)
		return fail(&e);
	if (current_s && !(o.current > 0))
		return usage_error("--current must be > 0 (a discharge)");
	if (crate_s && vb_units_parse_number(crate_s, "--c-rate", &crate, &e) != VB_OK)
		return fail(&e);
	if (crate_s && !(crate > 0))
		return usage_error("--c-rate must be > 0");
	if ((maxtime_s &&
	     vb_units_parse(maxtime_s, VB_UNIT_TIME, "--max-time", &o.max_time, &e) != VB_OK) ||
	    (save_s &&
	     vb_units_parse(save_s, VB_UNIT_TIME, "--save-every", &o.save_every, &e) != VB_OK) ||
	    (maxstep_s &&
	     vb_units_parse(maxstep_s, VB_UNIT_TIME, "--max-step", &o.dt_max, &e) != VB_OK) ||
	    (ckpt_every_s && vb_units_parse(ckpt_every_s, VB_UNIT_TIME, "--checkpoint-every",
					    &ckpt_every, &e) != VB_OK) ||
	    (steptol_s && vb_units_parse_number(steptol_s, "--step-tol", &o.step_tol, &e) != VB_OK))
		return fail(&e);
	if (!(o.max_time > 0) || !(o.save_every >= 0) || !(o.dt_max > 0) || !(o.step_tol > 0) ||
	    !(ckpt_every >= 0))
		return usage_error("--max-time, --max-step, --step-tol must be > 0; --save-every "
				   "and --checkpoint-every >= 0");
	/* a discharge of hours in steps below a millisecond would crawl for
	 * days (--max-step 1e-9s never ended) */
	if (!(o.dt_max >= 1e-3))
		return usage_error("--max-step must be at least 1ms");
	if (!(o.step_tol >= 1e-3 && o.step_tol <= 1e3))
		return usage_error("--step-tol must be from 0.001 to 1000");
	if (newton_s) {
		double nm = 0;
		if (vb_units_parse_number(newton_s, "--newton-max", &nm, &e) != VB_OK)
			return fail(&e);
		if (!(nm >= 1 && nm <= 1000 && nm == floor(nm)))
			return usage_error("--newton-max must be a whole number from 1 to 1000");
		o.echem.newton_max = (int)nm;
	}
	if (cells_s) {
		double nc = 0;
		if (vb_units_parse_number(cells_s, "--subgrid-cells", &nc, &e) != VB_OK)
			return fail(&e);
		if (!(nc >= 1 && nc <= 64 && nc == floor(nc)))
			return usage_error("--subgrid-cells must be a whole number from 1 to 64");
		o.subgrid.cells = (int)nc;
	}
	if (ratio_s &&
	    vb_units_parse_number(ratio_s, "--subgrid-ratio", &o.subgrid.ratio, &e) != VB_OK)
		return fail(&e);
	if (!(o.subgrid.ratio >= 1 && o.subgrid.ratio <= 4))
		return usage_error("--subgrid-ratio must be from 1 to 4");
	if (law_s && strcmp(law_s, "superposed") != 0 && strcmp(law_s, "split") != 0)
		return usage_error("--subgrid-law must be superposed or split");
	if (law_s)
		o.subgrid.split = strcmp(law_s, "split") == 0;
	if (lateral_s && strcmp(lateral_s, "on") != 0 && strcmp(lateral_s, "off") != 0)
		return usage_error("--subgrid-lateral must be on or off");
	if (lateral_s)
		o.subgrid.lateral = strcmp(lateral_s, "on") == 0;
	/* every file this run writes, before any work: a bad name must not cost
	 * the run (the XDMF beside RUN.h5, the checkpoint) */
	const char *inputs[2] = {in, out};
	if (vb_xdmf_check(out, inputs, 1, &e) != VB_OK)
		return fail(&e);
	if (ckpt != NULL) {
		char xdmf[PATH_MAX] = "";
		if (strcmp(out, "-") != 0 && vb_xdmf_name(out, xdmf, sizeof xdmf, &e) != VB_OK)
			return fail(&e);
		const char *what = vb_outfile_same(ckpt, in)	? "the input cell"
				   : vb_outfile_same(ckpt, out) ? "the output (-o)"
				   : xdmf[0] && vb_outfile_same(ckpt, xdmf)
					   ? "the output's XDMF file"
					   : NULL;
		if (what != NULL) {
			fprintf(stderr, PROGRAM ": --checkpoint %s is %s; name a file of its own\n",
				ckpt, what);
			return 2;
		}
		if (vb_outfile_check(ckpt, NULL, 0, &e) != VB_OK)
			return fail(&e);
		/* a checkpoint replaces its file and is removed when the run ends
		 * well: only ever a checkpoint's file */
		if (sv_checkpoint_probe(ckpt, NULL) == SV_CKPT_NOT_ONE) {
			fprintf(stderr,
				PROGRAM ": --checkpoint %s: exists and is not a voxbat checkpoint, "
					"which the run would replace and then remove; name another "
					"file\n",
				ckpt);
			return 2;
		}
	}

	hid_t file = vb_h5_open(in, &e);
	rc = file < 0 ? VB_ERR_INPUT : VB_OK;
	char *content = NULL;
	vb_image *cell = NULL;
	vb_params *params = NULL;
	vb_echem *m = NULL;
	if (rc == VB_OK &&
	    (rc = vb_h5_attr_read_string(file, "content", in, &content, &e)) == VB_OK &&
	    strcmp(content, "cell") != 0)
		rc = vb_err_set(&e, VB_ERR_INPUT,
				"%s: content is '%s', expected a cell (make one with assemble)", in,
				content);
	if (rc == VB_OK)
		rc = vb_h5_read_image(file, in, &cell, &e);
	if (rc == VB_OK && (params = vb_params_read_h5(file, "parameters", in, &e)) == NULL)
		rc = e.status;
	/* --set overrides, recorded as one string in the provenance */
	char overrides[4096] = "";
	for (int k = 0; k < nsets && rc == VB_OK; k++) {
		char name[256];
		const char *eq = strchr(sets[k], '=');
		if (eq == NULL || eq == sets[k] || (size_t)(eq - sets[k]) >= sizeof name) {
			rc = vb_err_set(&e, VB_ERR_INPUT, "--set '%s': expected KEY=VALUE",
					sets[k]);
			break;
		}
		memcpy(name, sets[k], (size_t)(eq - sets[k]));
		name[eq - sets[k]] = '\0';
		if (strcmp(name, "separator.thickness") == 0) {
			/* it would be recorded and do nothing */
			rc = vb_err_set(&e, VB_ERR_INPUT,
					"--set %s: the cell's geometry was fixed by assemble "
					"(assemble --separator LEN)",
					name);
			break;
		}
		rc = vb_params_set(params, name, eq + 1, &e);
		if (rc != VB_OK)
			vb_err_prefix(&e, "--set");
		const size_t used = strlen(overrides);
		if ((size_t)snprintf(overrides + used, sizeof overrides - used, "%s%s",
				     k ? "; " : "", sets[k]) >= sizeof overrides - used) {
			/* the record and the checkpoint's fingerprint would be cut */
			rc = vb_err_set(&e, VB_ERR_INPUT,
					"--set: the overrides take more than %zu characters; put "
					"them in a parameter file (assemble --params)",
					sizeof overrides - 1);
			break;
		}
	}
	/* the whole input checked before any work (a damaged provenance
	 * failed only when the run file was written, after the discharge) */
	vb_cell_regions regions;
	if (rc == VB_OK)
		rc = vb_cell_check(file, in, cell, params, &regions, &e);
	if (rc == VB_OK)
		rc = vb_h5_provenance_check(file, in, &e);
	if (rc == VB_OK && (m = vb_echem_new(cell, params, &o.subgrid, in, &e)) == NULL)
		rc = e.status;
	double u0 = 0;
	if (rc == VB_OK) {
		o.cutoff = vb_params_get(params, "cell.cutoff_voltage");
		if (cutoff_s &&
		    vb_units_parse(cutoff_s, VB_UNIT_VOLTAGE, "--cutoff", &o.cutoff, &e) != VB_OK)
			rc = VB_ERR_INPUT;
		const double cmax = vb_params_get(params, "cam.c_max");
		const double c0 = vb_params_get(params, "cam.c_init");
		u0 = vb_params_eval(params, "cam.ocp", c0 / cmax) -
		     vb_params_get(params, "li_metal.ocp");
		if (rc == VB_OK && !(o.cutoff < u0))
			rc = vb_err_set(&e, VB_ERR_INPUT,
					"--cutoff %.4g V is not below the open-circuit voltage "
					"%.4g V of %s",
					o.cutoff, u0, in);
		if (rc == VB_OK && !(o.cutoff > 0))
			rc = vb_err_set(&e, VB_ERR_INPUT,
					"--cutoff %.4g V: expected a voltage above 0 V", o.cutoff);
		if (rc == VB_OK) {
			/* C_theo per area (PHYSICS.md §4) over one hour, of all the
			 * CAM of the cell, as metrics reports it: CAM cut off from
			 * the network still counts (a C-rate follows the loading,
			 * not the connectivity) */
			int64_t counts[VB_PHASE_COUNT], other;
			vb_voxel_count_phases(cell, counts, &other);
			const double h = cell->voxel_size;
			double ctheo = (cmax - c0) * 96485.33212 * (double)counts[VB_PHASE_CAM] *
				       h * h * h / vb_echem_area(m);
			if (crate_s)
				o.current = crate * ctheo / 3600.0;
			else
				crate = o.current * 3600.0 / ctheo;
			/* a discharge of more than 1000 h (--c-rate 1e-9 never ended)
			 * or in less than 3.6 s is not one this model is for */
			if (!(crate >= 1e-3 && crate <= 1e3))
				rc = vb_err_set(&e, VB_ERR_INPUT,
						"%s %s is %.3g C for this cell (C_theo %.4g "
						"mAh/cm2): expected 0.001 C to 1000 C",
						crate_s ? "--c-rate" : "--current",
						crate_s ? crate_s : current_s, crate,
						ctheo / 36000.0);
		}
	}
	free(content);
	if (rc != VB_OK) {
		vb_echem_free(&m);
		vb_params_free(&params);
		vb_voxel_free(&cell);
		vb_h5_close(file, NULL);
		return fail(&e);
	}

	/* the cell's content too, not only its size: a checkpoint resumed on
	 * another cell of the same size ran on (issue 17 item 11); CRC-32 of
	 * the labels and of the parameter text (overrides included) */
	const int64_t nv = vb_voxel_count(cell);
	unsigned long crc_labels = crc32(0L, Z_NULL, 0);
	for (int64_t at = 0; at < nv; at += 1 << 30) {
		const int64_t n = nv - at < (1 << 30) ? nv - at : (1 << 30);
		crc_labels = crc32(crc_labels, cell->labels + at, (uInt)n);
	}
	const char *text = vb_params_text(params);
	const unsigned long crc_params =
		crc32(crc32(0L, Z_NULL, 0), (const Bytef *)text, (uInt)strlen(text));
	char fingerprint[sizeof overrides + 512]; /* room for every override */
	snprintf(fingerprint, sizeof fingerprint,
		 "cell %lldx%lldx%lld h=%.17g labels=%08lx params=%08lx I=%.17g cutoff=%.17g "
		 "save=%.17g max=%.17g tol=%.17g dtmax=%.17g subgrid=%dx%.17g%s%s set=[%s]",
		 (long long)cell->nx, (long long)cell->ny, (long long)cell->nz, cell->voxel_size,
		 crc_labels, crc_params, o.current, o.cutoff, o.save_every, o.max_time, o.step_tol,
		 o.dt_max, o.subgrid.cells, o.subgrid.ratio, o.subgrid.split ? "" : " superposed",
		 !o.subgrid.split && o.subgrid.lateral ? " lateral" : "", overrides);
	sv_run run;
	rc = sv_run_init(&run, m, &o, &e);
	if (rc == VB_OK && resume)
		rc = sv_checkpoint_read(ckpt, &run, fingerprint, &e);
	/* SIGINT/SIGTERM ask to stop between steps (and to save a checkpoint).
	 * The handler stays for the whole run: vb_outfile passes these signals
	 * on to it, so an output being written is finished, not cut. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	const int progress = !quiet;
	progress_ctx pc = {force_progress || isatty(STDERR_FILENO),
			   u0,
			   o.cutoff,
			   o.max_time,
			   0,
			   wall_seconds()};
	while (rc == VB_OK && run.status == SV_RUNNING) {
		rc = sv_run_advance(&run, &o, &stop_requested, ckpt ? ckpt_every : -1,
				    progress ? show_progress : NULL, &pc, &e);
		if (ckpt != NULL && (run.status == SV_RUNNING || run.status == SV_INTERRUPTED)) {
			vb_err ce;
			vb_err_clear(&ce);
			if (sv_checkpoint_write(ckpt, &run, fingerprint, &ce) != VB_OK) {
				e = ce;
				rc = ce.status;
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (progress && pc.terminal)
		fputc('\n', stderr);
	int exit_code = 0;
	if (run.status == SV_INTERRUPTED) {
		fprintf(stderr, PROGRAM ": %s%s%s%s\n", run.message,
			ckpt ? "; state saved to " : "; no --checkpoint, state lost",
			ckpt ? ckpt : "", ckpt ? " (continue with --resume)" : "");
		exit_code = 1;
	} else if (run.status == SV_RUNNING) {
		exit_code = fail(&e); /* e.g. a checkpoint could not be written */
	} else {
		/* cut-off, max time or a failure: write what there is */
		if (run.status == SV_FAILED)
			fprintf(stderr, PROGRAM ": %s; the output keeps the last good state\n",
				run.message);
		vb_err we;
		vb_err_clear(&we);
		int wrc = VB_OK;
		if (run.nsnaps == 0 || run.snaps[run.nsnaps - 1].time != run.t)
			wrc = sv_run_snapshot(&run, &we);
		sv_runfile w = {cell,
				params,
				&run,
				&o,
				file,
				in,
				cmdline,
				overrides,
				(double)(t1.tv_sec - t0.tv_sec) +
					1e-9 * (double)(t1.tv_nsec - t0.tv_nsec),
				omp_get_max_threads()};
		if (wrc == VB_OK)
			wrc = vb_h5_write_atomic(out, "run", sv_runfile_write, &w, &we);
		if (wrc == VB_OK && strcmp(out, "-") != 0)
			wrc = sv_runfile_write_xdmf(out, &run, cell, &we);
		if (wrc != VB_OK)
			exit_code = fail(&we);
		else if (run.status == SV_FAILED)
			exit_code = 1;
		/* the checkpoint has served: removed if it is one of this run
		 * (never whatever else the name holds) */
		if (exit_code == 0 && ckpt != NULL &&
		    sv_checkpoint_probe(ckpt, fingerprint) == SV_CKPT_OURS)
			unlink(ckpt);
		if (exit_code == 0 && run.status == SV_DEPLETED)
			fprintf(stderr, PROGRAM ": %s\n", run.message);
		if (exit_code == 0 && !quiet)
			fprintf(stderr,
				PROGRAM ": %s at t = %.1f s, U = %.4f V, Q = %.4f mAh/cm2\n",
				sv_status_name(run.status), run.t, run.ts.voltage[run.ts.n - 1],
				run.capacity / 36000.0);
	}
	sv_run_free(&run);
	vb_echem_free(&m);
	vb_params_free(&params);
	vb_voxel_free(&cell);
	vb_h5_close(file, NULL);
	if (exit_code == 0 && (fflush(stdout) != 0 || ferror(stdout)))
		exit_code = 1;
	return exit_code;
}

int main(int argc, char **argv)
{
	char *cmdline = vb_cli_join_argv(argc, argv);
	if (cmdline == NULL) {
		fprintf(stderr, PROGRAM ": out of memory\n");
		return 1;
	}
	/* an option given twice would silently take its second value */
	static const char *const repeatable[] = {"set", NULL};
	vb_err e;
	vb_err_clear(&e);
	if (vb_cli_check_repeats(argc, argv, 1, repeatable, &e) != VB_OK) {
		fprintf(stderr, PROGRAM ": %s\n", e.msg);
		free(cmdline);
		return 2;
	}
	int rc = run_program(argc, argv, cmdline);
	free(cmdline);
	return rc;
}
