/* runfile: the run file of solve (docs/FORMAT.md), its XDMF companion, and
 * checkpoints. Fields are stored on the whole grid with NaN where a field
 * does not live, so that ParaView and metrics index them like /labels. */
#include "runfile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vb_cli.h"
#include "vb_h5.h"
#include "vb_outfile.h"
#include "vb_xdmf.h"

#define PROGRAM "solve"

/* A float64 dataset of rank 1 or 3 with a `units` attribute; rank-3 ones are
 * chunked by x-slices and deflated. */
static int write_dataset(hid_t loc, const char *name, int rank, const hsize_t *dims,
			 const double *data, const char *units, vb_err *e)
{
	hid_t space = H5Screate_simple(rank, dims, NULL);
	hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
	if (rank == 3 && dims[0] > 0 && dims[1] * dims[2] > 0) {
		hsize_t chunk[3] = {dims[0], dims[1], dims[2]};
		hsize_t per = 131072 / (dims[1] * dims[2]);
		chunk[0] = per < 1 ? 1 : per > dims[0] ? dims[0] : per;
		H5Pset_chunk(dcpl, 3, chunk);
		H5Pset_deflate(dcpl, 4);
	}
	hid_t d = H5Dcreate2(loc, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
	int rc = VB_OK;
	if (d < 0 || H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
		rc = vb_err_set(e, VB_ERR_RUN, "cannot write dataset %s", name);
	if (rc == VB_OK && units != NULL)
		rc = vb_h5_attr_write_string(d, "units", units, e);
	if (d >= 0)
		H5Dclose(d);
	H5Pclose(dcpl);
	H5Sclose(space);
	return rc;
}

static void columns_of(const sv_series *s, double *col[VB_H5_SERIES_COLUMNS])
{
	col[0] = s->time, col[1] = s->voltage, col[2] = s->current;
	col[3] = s->capacity, col[4] = s->energy;
}

static int write_series(hid_t file, const sv_series *s, const char *group, vb_err *e)
{
	hid_t g = H5Gcreate2(file, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	if (g < 0)
		return vb_err_set(e, VB_ERR_RUN, "cannot create /%s", group);
	hsize_t n = (hsize_t)s->n;
	double *col[VB_H5_SERIES_COLUMNS];
	columns_of(s, col);
	int rc = VB_OK;
	for (int k = 0; k < VB_H5_SERIES_COLUMNS && rc == VB_OK; k++)
		rc = write_dataset(g, vb_h5_series[k].name, 1, &n, col[k], vb_h5_series[k].units,
				   e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_string(
			g, "convention",
			"row k: state at time[k]; current[k] flowed during (time[k-1], time[k]]; "
			"capacity[k] = sum current*dt, energy[k] = sum current*voltage*dt over "
			"rows "
			"1..k (implicit Euler)",
			e);
	H5Gclose(g);
	return rc;
}

/* The fields of a snapshot (docs/FORMAT.md), in this order; c_e for a LIB
 * cell only. */
#define N_FIELDS 6
static const char *const field_names[N_FIELDS] = {"c_s", "c_surf", "phi_s", "phi_e", "i_bv", "c_e"};
static const char *const field_units[N_FIELDS] = {"mol/m^3", "mol/m^3", "V",
						  "V",	     "A/m^3",	"mol/m^3"};

/* How many of field_names a run of model m stores. */
static int n_fields(const vb_echem *m)
{
	return vb_echem_electrolyte_count(m) > 0 ? N_FIELDS : N_FIELDS - 1;
}

static int write_fields(hid_t file, const sv_run *r, const vb_image *cell, vb_err *e)
{
	hid_t g = H5Gcreate2(file, "fields", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	if (g < 0)
		return vb_err_set(e, VB_ERR_RUN, "cannot create /fields");
	const int64_t nv = vb_voxel_count(cell);
	double *buf = malloc((size_t)nv * N_FIELDS * sizeof *buf);
	int rc = buf ? VB_OK : vb_err_set(e, VB_ERR_RUN, "out of memory for the fields");
	const hsize_t dims[3] = {(hsize_t)cell->nx, (hsize_t)cell->ny, (hsize_t)cell->nz};
	const int64_t nc = vb_echem_cam_count(r->m);
	const hsize_t nsub = (hsize_t)(vb_echem_lithium_count(r->m) - nc);
	for (int64_t k = 0; k < r->nsnaps && rc == VB_OK; k++) {
		char name[32];
		snprintf(name, sizeof name, "%04lld", (long long)k + 1);
		hid_t s = H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
		if (s < 0) {
			rc = vb_err_set(e, VB_ERR_RUN, "cannot create /fields/%s", name);
			break;
		}
		vb_echem_fields(r->m, r->snaps[k].phi, r->snaps[k].c, buf, buf + nv, buf + 2 * nv,
				buf + 3 * nv, buf + 4 * nv, buf + 5 * nv);
		for (int f = 0; f < n_fields(r->m) && rc == VB_OK; f++)
			rc = write_dataset(s, field_names[f], 3, dims, buf + f * nv, field_units[f],
					   e);
		/* the sub-voxel chains, so that a reader (metrics) has the whole state */
		if (rc == VB_OK)
			rc = write_dataset(s, "c_sub", 1, &nsub, r->snaps[k].c + nc, "mol/m^3", e);
		if (rc == VB_OK)
			rc = vb_h5_attr_write_double(s, "time", r->snaps[k].time, e);
		if (rc == VB_OK)
			rc = vb_h5_attr_write_string(s, "time_units", "s", e);
		H5Gclose(s);
	}
	free(buf);
	H5Gclose(g);
	return rc;
}

int sv_runfile_write(hid_t file, const void *ctx, vb_err *e)
{
	const sv_runfile *w = ctx;
	const sv_run *r = w->run;
	int rc = vb_h5_write_image(file, w->cell, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_string(file, "cell_type", vb_params_cell_type(w->params), e);
	if (rc == VB_OK)
		rc = vb_params_write_h5(w->params, file, "parameters", e);
	if (rc == VB_OK && H5Lexists(w->input, "regions", H5P_DEFAULT) > 0 &&
	    H5Ocopy(w->input, "regions", file, "regions", H5P_DEFAULT, H5P_DEFAULT) < 0)
		rc = vb_err_set(e, VB_ERR_RUN, "%s: cannot copy /regions", w->in_name);
	if (rc == VB_OK) {
		const char *names[1] = {w->in_name};
		hid_t rec = vb_h5_provenance_begin(file, PROGRAM, "discharge", w->cmdline,
						   &w->input, names, 1, e);
		if (rec < 0)
			rc = e->status;
		if (rc == VB_OK)
			rc = vb_h5_attr_write_double(rec, "current_A_m2", w->opts->current, e);
		if (rc == VB_OK)
			rc = vb_h5_attr_write_double(rec, "cutoff_V", w->opts->cutoff, e);
		if (rc == VB_OK)
			rc = vb_h5_attr_write_double(rec, "save_every_s", w->opts->save_every, e);
		if (rc == VB_OK)
			rc = vb_h5_attr_write_double(rec, "max_time_s", w->opts->max_time, e);
		if (rc == VB_OK)
			rc = vb_h5_attr_write_double(rec, "step_tol", w->opts->step_tol, e);
		if (rc == VB_OK)
			rc = vb_h5_attr_write_string(rec, "overrides", w->overrides, e);
		if (rec >= 0)
			H5Gclose(rec);
	}
	if (rc == VB_OK)
		rc = write_series(file, &r->ts, "timeseries", e);
	if (rc == VB_OK)
		rc = write_fields(file, r, w->cell, e);
	if (rc == VB_OK) {
		hid_t g = H5Gcreate2(file, "solver", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
		rc = g < 0 ? vb_err_set(e, VB_ERR_RUN, "cannot create /solver") : VB_OK;
		const struct {
			const char *name;
			int64_t value;
		} counts[] = {
			{"steps", r->steps},
			{"rejected_steps", r->rejected},
			{"newton_iterations", r->newton},
			{"linear_iterations", r->linear},
			{"outer_iterations", r->outer},
			{"inner_iterations", r->inner},
			{"electrolyte_iterations", r->elyte},
			{"electrolyte_unknowns", vb_echem_electrolyte_count(r->m)},
			{"amg_setups", r->amg_setups},
			{"potential_unknowns", vb_echem_potential_count(r->m)},
			{"cam_unknowns", vb_echem_cam_count(r->m)},
			{"reacting_faces", vb_echem_face_count(r->m)},
			{"link_chains", vb_echem_link_count(r->m)},
			{"subgrid_unknowns",
			 vb_echem_lithium_count(r->m) - vb_echem_cam_count(r->m)},
			{"subgrid_cells", vb_echem_subgrid_cells(r->m)},
			{"threads", w->threads},
		};
		for (size_t k = 0; k < sizeof counts / sizeof *counts && rc == VB_OK; k++)
			rc = vb_h5_attr_write_int64(g, counts[k].name, counts[k].value, e);
		if (rc == VB_OK)
			rc = vb_h5_attr_write_string(g, "status", sv_status_name(r->status), e);
		if (rc == VB_OK)
			rc = vb_h5_attr_write_string(g, "message", r->message, e);
		if (rc == VB_OK)
			rc = vb_h5_attr_write_double(g, "wall_time_s", w->wall_time, e);
		if (rc == VB_OK)
			rc = vb_h5_attr_write_double(g, "subgrid_ratio", w->opts->subgrid.ratio, e);
		if (rc == VB_OK)
			rc = vb_h5_attr_write_string(
				g, "subgrid_law", w->opts->subgrid.split ? "split" : "superposed",
				e);
		if (rc == VB_OK)
			rc = vb_h5_attr_write_string(
				g, "subgrid_lateral",
				!w->opts->subgrid.split && w->opts->subgrid.lateral ? "on" : "off",
				e);
		if (rc == VB_OK && isfinite(r->resumed_at))
			rc = vb_h5_attr_write_double(g, "resumed_at_s", r->resumed_at, e);
		if (rc == VB_OK)
			rc = vb_h5_attr_write_string(
				g, "linear_solver",
				"inexact Newton (Eisenstat-Walker forcing); FGMRES(5) on the whole "
				"Jacobian, preconditioned by the condensed system (sub-voxel "
				"chains "
				"eliminated exactly, side links between chains left out) solved by "
				"FGMRES(10) with block elimination of the cores, potential block "
				"by "
				"BoomerAMG-PCG (hierarchy reused), core block by Jacobi-PCG "
				"(docs/solve.md)",
				e);
		if (g >= 0)
			H5Gclose(g);
	}
	return rc;
}

int sv_runfile_write_xdmf(const char *h5_path, const sv_run *r, const vb_image *cell, vb_err *e)
{
	double *times = malloc((size_t)(r->nsnaps > 0 ? r->nsnaps : 1) * sizeof *times);
	if (times == NULL)
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	for (int64_t k = 0; k < r->nsnaps; k++)
		times[k] = r->snaps[k].time;
	const vb_xdmf_series series = {r->nsnaps, times, field_names, n_fields(r->m)};
	int rc = vb_xdmf_write(h5_path, cell, &series, e);
	free(times);
	return rc;
}

/* ---- checkpoints ---- */

typedef struct ckpt_ctx {
	const sv_run *r;
	const char *fingerprint;
} ckpt_ctx;

static int ckpt_write(hid_t file, const void *ctx, vb_err *e)
{
	const ckpt_ctx *c = ctx;
	const sv_run *r = c->r;
	const double scalars[] = {r->t,	       r->dt,
				  r->capacity, r->energy,
				  r->lithium0, r->dt_before_save,
				  r->prev_dt,  (double)r->prev_valid};
	const int64_t ints[] = {r->steps,      r->rejected,  r->newton, r->linear, r->inner,
				r->amg_setups, r->next_save, r->nsnaps, r->outer};
	int rc = vb_h5_attr_write_string(file, "fingerprint", c->fingerprint, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_doubles(file, "scalars", scalars, 8, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_double(file, "electrolyte_iterations", (double)r->elyte, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_doubles(
			file, "counters_as_double",
			(const double[]){(double)ints[0], (double)ints[1], (double)ints[2],
					 (double)ints[3], (double)ints[4], (double)ints[5],
					 (double)ints[6], (double)ints[7], (double)ints[8]},
			9, e);
	hsize_t np = (hsize_t)vb_echem_potential_count(r->m),
		nc = (hsize_t)vb_echem_state_count(r->m);
	if (rc == VB_OK)
		rc = write_dataset(file, "phi", 1, &np, r->phi, "V", e);
	if (rc == VB_OK)
		rc = write_dataset(file, "c", 1, &nc, r->c, "mol/m^3", e);
	if (rc == VB_OK)
		rc = write_dataset(file, "prev_phi", 1, &np, r->prev_phi, "V", e);
	if (rc == VB_OK)
		rc = write_dataset(file, "prev_c", 1, &nc, r->prev_c, "mol/m^3", e);
	/* the state two steps back (the quadratic predictor), whose attribute
	 * a checkpoint of an earlier version lacks */
	if (rc == VB_OK)
		rc = write_dataset(file, "prev2_phi", 1, &np, r->prev2_phi, "V", e);
	if (rc == VB_OK)
		rc = write_dataset(file, "prev2_c", 1, &nc, r->prev2_c, "mol/m^3", e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_doubles(
			file, "predictor2",
			(const double[]){r->prev2_dt, (double)r->prev2_valid, (double)r->moved}, 3,
			e);
	if (rc == VB_OK)
		rc = write_series(file, &r->ts, "timeseries", e);
	for (int64_t k = 0; k < r->nsnaps && rc == VB_OK; k++) {
		char name[64];
		snprintf(name, sizeof name, "snap_%04lld_phi", (long long)k);
		rc = write_dataset(file, name, 1, &np, r->snaps[k].phi, "V", e);
		snprintf(name, sizeof name, "snap_%04lld_c", (long long)k);
		if (rc == VB_OK)
			rc = write_dataset(file, name, 1, &nc, r->snaps[k].c, "mol/m^3", e);
		snprintf(name, sizeof name, "snap_%04lld_time", (long long)k);
		if (rc == VB_OK)
			rc = vb_h5_attr_write_double(file, name, r->snaps[k].time, e);
	}
	return rc;
}

int sv_checkpoint_write(const char *path, const sv_run *r, const char *fingerprint, vb_err *e)
{
	ckpt_ctx c = {r, fingerprint};
	return vb_h5_write_atomic(path, "checkpoint", ckpt_write, &c, e);
}

/* Reads a 1-D float64 dataset of exactly n values. */
static int read_doubles_attr(hid_t loc, const char *path, const char *name, double *out, int n,
			     vb_err *e)
{
	hid_t a = H5Aexists(loc, name) > 0 ? H5Aopen(loc, name, H5P_DEFAULT) : -1;
	hid_t sp = a >= 0 ? H5Aget_space(a) : -1;
	int rc = VB_OK;
	if (a < 0 || H5Sget_simple_extent_npoints(sp) != n ||
	    H5Aread(a, H5T_NATIVE_DOUBLE, out) < 0)
		rc = vb_err_set(e, VB_ERR_INPUT, "%s: attribute %s: expected %d numbers", path,
				name, n);
	if (sp >= 0)
		H5Sclose(sp);
	if (a >= 0)
		H5Aclose(a);
	return rc;
}

sv_checkpoint_kind sv_checkpoint_probe(const char *path, const char *fingerprint)
{
	vb_err e;
	vb_err_clear(&e);
	struct stat st;
	if (lstat(path, &st) != 0)
		return SV_CKPT_NONE;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return SV_CKPT_NOT_ONE;
	hid_t file = vb_h5_open(path, &e);
	if (file < 0)
		return SV_CKPT_NOT_ONE;
	char *content = NULL, *fp = NULL;
	sv_checkpoint_kind k = SV_CKPT_NOT_ONE;
	if (vb_h5_attr_read_string(file, "content", path, &content, &e) == VB_OK &&
	    strcmp(content, "checkpoint") == 0)
		k = fingerprint != NULL &&
				    vb_h5_attr_read_string(file, "fingerprint", path, &fp, &e) ==
					    VB_OK &&
				    strcmp(fp, fingerprint) == 0
			    ? SV_CKPT_OURS
			    : SV_CKPT_OTHER;
	free(content), free(fp);
	vb_h5_close(file, NULL);
	return k;
}

int sv_checkpoint_read(const char *path, sv_run *r, const char *fingerprint, vb_err *e)
{
	hid_t file = vb_h5_open(path, e);
	if (file < 0)
		return e->status;
	char *content = NULL, *fp = NULL;
	int rc = vb_h5_attr_read_string(file, "content", path, &content, e);
	if (rc == VB_OK && strcmp(content, "checkpoint") != 0)
		rc = vb_err_set(e, VB_ERR_INPUT, "%s: content is '%s', expected a checkpoint", path,
				content);
	if (rc == VB_OK)
		rc = vb_h5_attr_read_string(file, "fingerprint", path, &fp, e);
	if (rc == VB_OK && strcmp(fp, fingerprint) != 0)
		rc = vb_err_set(e, VB_ERR_INPUT,
				"%s: written for another cell or other options (%s); expected %s",
				path, fp, fingerprint);
	double sc[8], ct[9];
	if (rc == VB_OK)
		rc = read_doubles_attr(file, path, "scalars", sc, 8, e);
	if (rc == VB_OK)
		rc = read_doubles_attr(file, path, "counters_as_double", ct, 9, e);
	const int64_t np = vb_echem_potential_count(r->m), nc = vb_echem_state_count(r->m);
	if (rc == VB_OK)
		rc = vb_h5_read_doubles(file, "phi", path, r->phi, np, e);
	if (rc == VB_OK)
		rc = vb_h5_read_doubles(file, "c", path, r->c, nc, e);
	if (rc == VB_OK)
		rc = vb_h5_read_doubles(file, "prev_phi", path, r->prev_phi, np, e);
	if (rc == VB_OK)
		rc = vb_h5_read_doubles(file, "prev_c", path, r->prev_c, nc, e);
	double p2[3] = {0, 0, 0}; /* without it (an earlier version): a linear first predictor */
	if (rc == VB_OK && H5Aexists(file, "predictor2") > 0) {
		rc = read_doubles_attr(file, path, "predictor2", p2, 3, e);
		if (rc == VB_OK)
			rc = vb_h5_read_doubles(file, "prev2_phi", path, r->prev2_phi, np, e);
		if (rc == VB_OK)
			rc = vb_h5_read_doubles(file, "prev2_c", path, r->prev2_c, nc, e);
	}
	r->prev2_dt = p2[0], r->prev2_valid = p2[1] != 0, r->moved = p2[2] != 0;
	int64_t n = 0;
	if (rc == VB_OK) {
		rc = vb_h5_dataset_count(file, "timeseries/time", path, &n, e);
		if (rc == VB_OK && (n < 1 || n > ((int64_t)1 << 30)))
			rc = vb_err_set(e, VB_ERR_INPUT, "%s:/timeseries: bad length", path);
	}
	if (rc == VB_OK) {
		/* n rows, then each column read in place */
		r->ts.n = 0;
		for (int64_t i = 0; i < n && rc == VB_OK; i++)
			rc = sv_series_push(&r->ts, 0, 0, 0, 0, 0, e);
		double *col[VB_H5_SERIES_COLUMNS];
		columns_of(&r->ts, col);
		for (int k = 0; k < VB_H5_SERIES_COLUMNS && rc == VB_OK; k++) {
			char name[64];
			snprintf(name, sizeof name, "timeseries/%s", vb_h5_series[k].name);
			rc = vb_h5_read_doubles(file, name, path, col[k], n, e);
		}
	}
	if (rc == VB_OK) {
		r->t = sc[0], r->dt = sc[1], r->capacity = sc[2], r->energy = sc[3];
		r->resumed_at = sc[0];
		r->lithium0 = sc[4], r->dt_before_save = sc[5];
		r->prev_dt = sc[6], r->prev_valid = sc[7] != 0;
		r->steps = (int64_t)ct[0], r->rejected = (int64_t)ct[1], r->newton = (int64_t)ct[2];
		r->linear = (int64_t)ct[3], r->inner = (int64_t)ct[4];
		r->amg_setups = (int64_t)ct[5], r->next_save = (int64_t)ct[6];
		r->outer = (int64_t)ct[8];
		double el = 0;
		if (H5Aexists(file, "electrolyte_iterations") > 0)
			rc = vb_h5_attr_read_double(file, "electrolyte_iterations", path, &el, e);
		r->elyte = (int64_t)el;
		const int64_t ns = (int64_t)ct[7];
		/* the checkpoint's snapshots replace those of sv_run_init (t = 0) */
		for (int64_t k = 0; k < r->nsnaps; k++)
			free(r->snaps[k].phi), free(r->snaps[k].c);
		r->nsnaps = 0;
		for (int64_t k = 0; k < ns && rc == VB_OK; k++) {
			char name[64];
			if ((rc = sv_run_snapshot(r, e)) != VB_OK)
				break;
			sv_snapshot *s = &r->snaps[r->nsnaps - 1];
			snprintf(name, sizeof name, "snap_%04lld_phi", (long long)k);
			rc = vb_h5_read_doubles(file, name, path, s->phi, np, e);
			snprintf(name, sizeof name, "snap_%04lld_c", (long long)k);
			if (rc == VB_OK)
				rc = vb_h5_read_doubles(file, name, path, s->c, nc, e);
			snprintf(name, sizeof name, "snap_%04lld_time", (long long)k);
			if (rc == VB_OK)
				rc = vb_h5_attr_read_double(file, name, path, &s->time, e);
		}
	}
	free(content), free(fp);
	vb_h5_close(file, NULL);
	return rc;
}
