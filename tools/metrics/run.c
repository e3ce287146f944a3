/* run: indicators of a discharge from a run file (docs/metrics.md). */
#include "run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vb_echem.h"
#include "vb_h5.h"
#include "vb_units.h"

#define FARADAY 96485.33212 /* C/mol, PHYSICS.md §2 */

void mr_series_free(mr_series *s)
{
	free(s->time), free(s->voltage), free(s->current), free(s->capacity), free(s->energy);
	memset(s, 0, sizeof *s);
}

int mr_series_read(hid_t file, const char *path, mr_series *s, vb_err *e)
{
	memset(s, 0, sizeof *s);
	double **col[VB_H5_SERIES_COLUMNS] = {&s->time, &s->voltage, &s->current, &s->capacity,
					      &s->energy};
	char what[1024];
	snprintf(what, sizeof what, "%s:/timeseries", path);
	if (H5Lexists(file, "timeseries", H5P_DEFAULT) <= 0)
		return vb_err_set(e, VB_ERR_INPUT, "%s: no /timeseries (not a run of solve?)",
				  path);
	hid_t g = H5Gopen2(file, "timeseries", H5P_DEFAULT);
	int rc = g < 0 ? vb_err_set(e, VB_ERR_INPUT, "%s: /timeseries is not a group", path)
		       : vb_h5_dataset_count(g, "time", what, &s->n, e);
	if (rc == VB_OK && (s->n < 1 || s->n > ((int64_t)1 << 32)))
		rc = vb_err_set(e, VB_ERR_INPUT, "%s/time: %lld rows", what, (long long)s->n);
	for (int k = 0; k < VB_H5_SERIES_COLUMNS && rc == VB_OK; k++) {
		*col[k] = malloc((size_t)s->n * sizeof **col[k]);
		if (*col[k] == NULL) {
			rc = vb_err_set(e, VB_ERR_RUN, "out of memory");
			break;
		}
		rc = vb_h5_read_doubles(g, vb_h5_series[k].name, what, *col[k], s->n, e);
		if (rc != VB_OK)
			break;
		hid_t d = H5Dopen2(g, vb_h5_series[k].name, H5P_DEFAULT);
		char *units = NULL, dname[1100];
		snprintf(dname, sizeof dname, "%s/%s", what, vb_h5_series[k].name);
		rc = vb_h5_attr_read_string(d, "units", dname, &units, e);
		if (rc == VB_OK && !vb_units_same(units, vb_h5_series[k].units))
			rc = vb_err_set(e, VB_ERR_INPUT, "%s: units '%s', expected '%s'", dname,
					units, vb_h5_series[k].units);
		free(units);
		H5Dclose(d);
	}
	for (int64_t i = 0; i < s->n && rc == VB_OK; i++) {
		int finite = 1;
		for (int k = 0; k < VB_H5_SERIES_COLUMNS; k++)
			finite &= isfinite((*col[k])[i]);
		if (!finite || (i > 0 && s->time[i] < s->time[i - 1]))
			rc = vb_err_set(e, VB_ERR_INPUT,
					"%s: row %lld is not finite or goes back in time", what,
					(long long)i);
	}
	if (g >= 0)
		H5Gclose(g);
	if (rc != VB_OK)
		mr_series_free(s);
	return rc;
}

void mr_discharge_free(mr_discharge *d)
{
	free(d->util), free(d->cumulative), free(d->i_ion), free(d->ce_rel);
	memset(d, 0, sizeof *d);
}

double mr_percentile(const double *sorted, int64_t n, double q)
{
	const double pos = q * (double)(n - 1);
	const int64_t i = (int64_t)floor(pos);
	if (i >= n - 1)
		return sorted[n - 1];
	return sorted[i] + (pos - (double)i) * (sorted[i + 1] - sorted[i]);
}

static int cmp_double(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The series value at time t: the row at t, or linear between the rows
 * around it (snapshots are taken at step ends, so the row exists). */
static double at_time(const mr_series *s, const double *v, double t)
{
	int64_t k = 0;
	while (k + 1 < s->n && s->time[k + 1] <= t)
		k++;
	if (k + 1 >= s->n || s->time[k] == t || s->time[k + 1] == s->time[k])
		return v[k];
	const double w = (t - s->time[k]) / (s->time[k + 1] - s->time[k]);
	return v[k] + w * (v[k + 1] - v[k]);
}

/* Snapshot count and the chosen one (1-based) for time t (NAN: the last). */
static int pick_snapshot(hid_t fields, const char *path, double t, mr_discharge *d, vb_err *e)
{
	H5G_info_t info;
	if (H5Gget_info(fields, &info) < 0 || info.nlinks < 1)
		return vb_err_set(e, VB_ERR_INPUT, "%s:/fields: no snapshots", path);
	d->snapshots = (int64_t)info.nlinks;
	d->snapshot = 0;
	char list[512] = "", name[32], what[1100];
	size_t used = 0;
	double prev_t = 0;
	for (int64_t k = 1; k <= d->snapshots; k++) {
		snprintf(name, sizeof name, "%04lld", (long long)k);
		snprintf(what, sizeof what, "%s:/fields/%s", path, name);
		if (H5Lexists(fields, name, H5P_DEFAULT) <= 0)
			return vb_err_set(e, VB_ERR_INPUT, "%s: missing", what);
		hid_t g = H5Gopen2(fields, name, H5P_DEFAULT);
		double tk = NAN;
		int rc = vb_h5_attr_read_double(g, "time", what, &tk, e);
		H5Gclose(g);
		if (rc != VB_OK)
			return rc;
		/* snapshots in time order from rest (a NaN time was taken) */
		if (!(isfinite(tk) && tk >= 0 && tk >= prev_t))
			return vb_err_set(e, VB_ERR_INPUT,
					  "%s: time %g s, expected finite, >= 0 and not before "
					  "the snapshot before (%g s)",
					  what, tk, prev_t);
		prev_t = tk;
		if (isnan(t) ? k == d->snapshots : fabs(tk - t) <= 1e-9 * fmax(1.0, fabs(t)))
			d->snapshot = k, d->time = tk;
		if (used < sizeof list - 40)
			used += (size_t)snprintf(list + used, sizeof list - used, "%s%.10g",
						 k > 1 ? ", " : "", tk);
	}
	if (d->snapshot == 0)
		return vb_err_set(e, VB_ERR_INPUT,
				  "%s: no snapshot at %.10g s; saved times (s): %s", path, t, list);
	return VB_OK;
}

/* Utilization and cumulative capacity per slice from c_s. */
static void lithiation(const vb_image *img, const vb_params *p, const double *c_s, int64_t x0,
		       mr_discharge *d)
{
	const double cmax = vb_params_get(p, "cam.c_max"), c0 = vb_params_get(p, "cam.c_init");
	const double h = img->voxel_size, area = (double)img->ny * (double)img->nz * h * h;
	const int64_t per = img->ny * img->nz;
	double eta_all = 0, cum = 0;
	int64_t n_all = 0;
	for (int64_t s = 0; s < d->slices; s++) {
		double eta = 0, li = 0;
		int64_t n = 0;
		const int64_t v0 = vb_voxel_index(img, x0 + s, 0, 0);
		for (int64_t v = v0; v < v0 + per; v++) {
			if (img->labels[v] != VB_PHASE_CAM)
				continue;
			/* CAM cut off from the current path keeps c_s,0 (NaN in the file) */
			const double c = isnan(c_s[v]) ? c0 : c_s[v];
			eta += (c - c0) / (cmax - c0);
			li += c - c0;
			n++;
		}
		cum += li * FARADAY * h * h * h / area;
		d->util[s] = n > 0 ? eta / (double)n : NAN;
		d->cumulative[s] = cum;
		eta_all += eta, n_all += n;
	}
	d->utilization = n_all > 0 ? eta_all / (double)n_all : NAN;
	d->lithium_fields = cum;
}

/* LIB: the range of c_e over the cell and its profile over the slices of
 * the separator and the cathode, from xs on (c_e NULL: an ASSB run, NaN
 * everywhere). */
static void electrolyte(const vb_image *img, const vb_params *p, const double *c_e, int64_t xs,
			mr_discharge *d)
{
	const int64_t n = d->sep_slices + d->slices;
	d->ce_min = d->ce_max = NAN;
	for (int64_t s = 0; s < n; s++)
		d->ce_rel[s] = NAN;
	if (c_e == NULL)
		return;
	const int64_t nv = vb_voxel_count(img), per = img->ny * img->nz;
	double lo = INFINITY, hi = -INFINITY;
	for (int64_t v = 0; v < nv; v++)
		if (!isnan(c_e[v]))
			lo = fmin(lo, c_e[v]), hi = fmax(hi, c_e[v]);
	if (lo <= hi)
		d->ce_min = lo, d->ce_max = hi;
	const double ce0 = vb_params_get(p, "electrolyte.c_init");
	const double eps_cbd = vb_params_get(p, "cbd.porosity");
	for (int64_t s = 0; s < n; s++) {
		/* the separator's voxels share one porosity: weight 1 */
		const int64_t v0 = vb_voxel_index(img, xs + s, 0, 0);
		double sum = 0, vol = 0;
		for (int64_t v = v0; v < v0 + per; v++) {
			if (isnan(c_e[v]))
				continue; /* no electrolyte, or none joined to the cell */
			const double eps = img->labels[v] == VB_PHASE_CBD ? eps_cbd : 1.0;
			sum += eps * c_e[v], vol += eps;
		}
		d->ce_rel[s] = vol > 0 ? sum / vol / ce0 : NAN;
	}
}

/* The sub-voxel chains a run was solved with (/solver subgrid_cells,
 * subgrid_ratio, subgrid_law and subgrid_lateral; a run of an older solve
 * has none: the defaults then, and no c_sub; one without subgrid_law had
 * split chains, one without subgrid_lateral no lateral modes). The modes
 * are not in a run file: the fields take them as flat. */
static vb_subgrid_opts run_subgrid(hid_t file)
{
	vb_subgrid_opts o = vb_subgrid_defaults();
	if (H5Lexists(file, "solver", H5P_DEFAULT) <= 0)
		return o;
	hid_t g = H5Gopen2(file, "solver", H5P_DEFAULT);
	double cells = NAN, ratio = NAN;
	if (g >= 0 && H5Aexists(g, "subgrid_cells") > 0 && H5Aexists(g, "subgrid_ratio") > 0 &&
	    vb_h5_attr_read_double(g, "subgrid_cells", "", &cells, NULL) == VB_OK &&
	    vb_h5_attr_read_double(g, "subgrid_ratio", "", &ratio, NULL) == VB_OK) {
		char *law = NULL;
		vb_subgrid_opts r = {(int)cells, ratio, 1, 0};
		if (H5Aexists(g, "subgrid_law") > 0 &&
		    vb_h5_attr_read_string(g, "subgrid_law", "", &law, NULL) == VB_OK)
			r.split = strcmp(law, "superposed") != 0;
		free(law);
		law = NULL;
		if (H5Aexists(g, "subgrid_lateral") > 0 &&
		    vb_h5_attr_read_string(g, "subgrid_lateral", "", &law, NULL) == VB_OK)
			r.lateral = strcmp(law, "on") == 0;
		free(law);
		if (cells == floor(cells) && vb_subgrid_check(&r, NULL) == VB_OK)
			o = r;
	}
	if (g >= 0)
		H5Gclose(g);
	return o;
}

/* Ionic current statistics over the electrolyte of the cathode slices. */
static int ionic_current(hid_t file, hid_t snap, const vb_image *img, const vb_params *p,
			 const char *path, const double *c_s, const double *phi_s,
			 const double *phi_e, const double *c_e, int64_t x0, mr_discharge *d,
			 vb_err *e)
{
	const vb_subgrid_opts sub = run_subgrid(file);
	vb_echem *m = vb_echem_new(img, p, &sub, path, e);
	if (m == NULL)
		return e->status;
	const int64_t nvox = vb_voxel_count(img), per = img->ny * img->nz;
	double *phi = malloc((size_t)vb_echem_potential_count(m) * sizeof *phi);
	const int64_t n_sub = vb_echem_lithium_count(m) - vb_echem_cam_count(m);
	double *c = malloc((size_t)(vb_echem_state_count(m) + 1) * sizeof *c);
	double *c_sub = NULL;
	double *mag = malloc((size_t)nvox * sizeof *mag);
	double *vals = malloc((size_t)(d->slices * per + 1) * sizeof *vals);
	int rc = phi && c && mag && vals ? VB_OK : vb_err_set(e, VB_ERR_RUN, "out of memory");
	if (rc == VB_OK && H5Lexists(snap, "c_sub", H5P_DEFAULT) > 0) {
		char what[1100];
		snprintf(what, sizeof what, "%s:/fields/%04lld", path, (long long)d->snapshot);
		if ((c_sub = malloc((size_t)(n_sub + 1) * sizeof *c_sub)) == NULL)
			rc = vb_err_set(e, VB_ERR_RUN, "out of memory");
		else
			rc = vb_h5_read_doubles(snap, "c_sub", what, c_sub, n_sub, e);
	}
	if (rc == VB_OK) {
		vb_err why;
		vb_err_clear(&why);
		if (vb_echem_load_fields(m, c_s, c_sub, phi_s, phi_e, c_e, phi, c, &why) != VB_OK)
			rc = vb_err_set(e, VB_ERR_INPUT, "%s:/fields/%04lld: %s", path,
					(long long)d->snapshot, why.msg);
	}
	if (rc == VB_OK) {
		vb_echem_ionic_current(m, phi, c, mag);
		int64_t n = 0;
		double sum = 0;
		for (int64_t s = 0; s < d->slices; s++) {
			const int64_t v0 = vb_voxel_index(img, x0 + s, 0, 0);
			double ss = 0;
			int64_t ns = 0;
			for (int64_t v = v0; v < v0 + per; v++)
				if (!isnan(mag[v]))
					vals[n++] = mag[v], ss += mag[v], ns++;
			d->i_ion[s] = ns > 0 ? ss / (double)ns : NAN;
			sum += ss;
		}
		d->i_count = n;
		if (n > 0) {
			qsort(vals, (size_t)n, sizeof *vals, cmp_double);
			d->i_mean = sum / (double)n;
			d->i_p50 = mr_percentile(vals, n, 0.50);
			d->i_p90 = mr_percentile(vals, n, 0.90);
			d->i_p99 = mr_percentile(vals, n, 0.99);
			d->i_max = vals[n - 1];
		} else {
			d->i_mean = d->i_p50 = d->i_p90 = d->i_p99 = d->i_max = NAN;
		}
	}
	free(phi), free(c), free(c_sub), free(mag), free(vals);
	vb_echem_free(&m);
	return rc;
}

int mr_discharge_read(hid_t file, const char *path, const vb_image *img, const vb_params *p,
		      int64_t xs, int64_t x0, int64_t x1, double time, mr_discharge *d, vb_err *e)
{
	memset(d, 0, sizeof *d);
	d->slices = x1 - x0;
	d->sep_slices = x0 - xs;
	mr_series s;
	int rc = mr_series_read(file, path, &s, e);
	if (rc != VB_OK)
		return rc;
	char what[1100], *status = NULL;
	snprintf(what, sizeof what, "%s:/solver", path);
	hid_t solver = H5Lexists(file, "solver", H5P_DEFAULT) > 0
			       ? H5Gopen2(file, "solver", H5P_DEFAULT)
			       : -1;
	rc = solver < 0 ? vb_err_set(e, VB_ERR_INPUT, "%s: missing", what)
			: vb_h5_attr_read_string(solver, "status", what, &status, e);
	if (rc == VB_OK)
		snprintf(d->status, sizeof d->status, "%s", status);
	free(status);
	if (solver >= 0)
		H5Gclose(solver);
	hid_t fields = -1, snap = -1;
	if (rc == VB_OK && H5Lexists(file, "fields", H5P_DEFAULT) <= 0)
		rc = vb_err_set(e, VB_ERR_INPUT, "%s: no /fields", path);
	if (rc == VB_OK)
		fields = H5Gopen2(file, "fields", H5P_DEFAULT);
	if (rc == VB_OK)
		rc = pick_snapshot(fields, path, time, d, e);
	const int64_t nvox = vb_voxel_count(img);
	/* c_e: a LIB run's */
	double *f[4] = {NULL, NULL, NULL, NULL};
	static const char *const names[4] = {"c_s", "phi_s", "phi_e", "c_e"};
	d->util = malloc((size_t)(d->slices + 1) * sizeof *d->util);
	d->cumulative = malloc((size_t)(d->slices + 1) * sizeof *d->cumulative);
	d->i_ion = malloc((size_t)(d->slices + 1) * sizeof *d->i_ion);
	d->ce_rel = malloc((size_t)(d->sep_slices + d->slices + 1) * sizeof *d->ce_rel);
	if (rc == VB_OK && (!d->util || !d->cumulative || !d->i_ion || !d->ce_rel))
		rc = vb_err_set(e, VB_ERR_RUN, "out of memory");
	if (rc == VB_OK) {
		char name[32];
		snprintf(name, sizeof name, "%04lld", (long long)d->snapshot);
		snprintf(what, sizeof what, "%s:/fields/%s", path, name);
		snap = H5Gopen2(fields, name, H5P_DEFAULT);
		for (int k = 0; k < 4 && rc == VB_OK; k++) {
			if (k == 3 && H5Lexists(snap, names[k], H5P_DEFAULT) <= 0)
				break;
			f[k] = malloc((size_t)nvox * sizeof *f[k]);
			rc = f[k] != NULL ? vb_h5_read_doubles(snap, names[k], what, f[k], nvox, e)
					  : vb_err_set(e, VB_ERR_RUN, "out of memory");
		}
	}
	if (rc == VB_OK) {
		d->voltage = at_time(&s, s.voltage, d->time);
		d->capacity = at_time(&s, s.capacity, d->time);
		d->energy = at_time(&s, s.energy, d->time);
		/* the current of the step that ends at (or spans) the snapshot */
		int64_t k = 1;
		while (k + 1 < s.n && s.time[k] < d->time)
			k++;
		d->current = s.n > 1 ? s.current[k] : 0.0;
		lithiation(img, p, f[0], x0, d);
		electrolyte(img, p, f[3], xs, d);
		rc = ionic_current(file, snap, img, p, path, f[0], f[1], f[2], f[3], x0, d, e);
	}
	if (snap >= 0)
		H5Gclose(snap);
	if (fields >= 0)
		H5Gclose(fields);
	for (int k = 0; k < 4; k++)
		free(f[k]);
	mr_series_free(&s);
	if (rc != VB_OK)
		mr_discharge_free(d);
	return rc;
}
