/* metrics on run files (issue 5): a run file built by hand, with values
 * chosen so that every indicator has a known answer, is read back by
 * tools/metrics/run.c; foreign variants of it are refused.
 * `test_metrics_run --write FILE` writes the three-row file of
 * test_weights to FILE and exits (no tests): tests/metrics_run.bats runs
 * the metrics program on it. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"
#include "vb_h5.h"
#include "vb_params.h"
#include "vb_test.h"

#define FARADAY 96485.33212

/* The cell along x (nz = 1, 1 um voxels): anode collector, Li, 2 separator,
 * cathode x-slices 4..7, cathode collector. Row 0 (the only one of the
 * one-row file): 2 SE then 2 CAM. Rows 1 and 2 (ny = 3) make the slices
 * differ in CAM count: row 1 SE, void, CAM, CAM; row 2 void, an isolated
 * CAM voxel (void all round: cut off from the current path, NaN in c_s),
 * void, CAM on the collector. */
enum { NX = 9, X0 = 4, X1 = 8, ROWS = 3 };
enum { V_ = VB_PHASE_VOID, E_ = VB_PHASE_ELECTROLYTE, C_ = VB_PHASE_CAM };
static const int cell_labels[ROWS][NX] = {{VB_PHASE_ANODE_CC, VB_PHASE_LI, VB_PHASE_SEPARATOR,
					   VB_PHASE_SEPARATOR, E_, E_, C_, C_, VB_PHASE_CATHODE_CC},
					  {VB_PHASE_ANODE_CC, VB_PHASE_LI, VB_PHASE_SEPARATOR,
					   VB_PHASE_SEPARATOR, E_, V_, C_, C_, VB_PHASE_CATHODE_CC},
					  {VB_PHASE_ANODE_CC, VB_PHASE_LI, VB_PHASE_SEPARATOR,
					   VB_PHASE_SEPARATOR, V_, C_, V_, C_,
					   VB_PHASE_CATHODE_CC}};
/* utilization of the CAM voxels (x, row): the cut-off one has none (NaN) */
static const double cam_eta[ROWS][NX] = {{0, 0, 0, 0, 0, 0, 0.5, 0.25, 0},
					 {0, 0, 0, 0, 0, 0, 0.1, 0.4, 0},
					 {0, 0, 0, 0, 0, 0, 0, 0.6, 0}};

typedef struct spec {
	const char *cap_units; /* units of /timeseries/capacity */
	int backwards;	       /* time goes back in row 2 */
	int snapshots;	       /* 1 or 2 */
	int c_s_nan_at_cam;    /* a CAM voxel without c_s */
	int rows;	       /* 1 or ROWS */
} spec;

static vb_image *cell(int rows)
{
	vb_image *img = vb_voxel_new(NX, rows, 1, 1e-6, NULL);
	for (int i = 0; i < NX; i++)
		for (int j = 0; j < rows; j++)
			img->labels[vb_voxel_index(img, i, j, 0)] = (uint8_t)cell_labels[j][i];
	return img;
}

static int write_1d(hid_t g, const char *name, const double *v, hsize_t n, const char *units)
{
	hid_t sp = H5Screate_simple(1, &n, NULL);
	hid_t d = H5Dcreate2(g, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
	if (units)
		vb_h5_attr_write_string(d, "units", units, NULL);
	H5Dclose(d);
	H5Sclose(sp);
	return 0;
}

static int write_3d(hid_t g, const char *name, const double *v, int rows)
{
	hsize_t dims[3] = {NX, (hsize_t)rows, 1};
	hid_t sp = H5Screate_simple(3, dims, NULL);
	hid_t d = H5Dcreate2(g, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
	H5Dclose(d);
	H5Sclose(sp);
	return 0;
}

/* Known fields: phi_e falls by 10 mV per voxel along x from the separator
 * to the last SE voxel, the same in every row (no current crosses between
 * rows); the one CAM voxel with an SE face, (6, row 0), is at equilibrium
 * (phi_s - phi_e = U_0(c_s)), so that face carries no current; every
 * electronic conductor of the cathode side is at its phi_s. */
static void fields(const vb_params *p, int rows, double *c_s, double *phi_s, double *phi_e)
{
	const double cmax = vb_params_get(p, "cam.c_max"), c0 = vb_params_get(p, "cam.c_init");
	const double u = vb_params_eval(p, "cam.ocp", (c0 + 0.5 * (cmax - c0)) / cmax);
	for (int j = 0; j < rows; j++)
		for (int i = 0; i < NX; i++) {
			const int v = i * rows + j, lab = cell_labels[j][i];
			const int cut_off = i == 5 && j == 2;
			c_s[v] = phi_s[v] = phi_e[v] = NAN;
			if (i <= 1)
				phi_s[v] = 0.0;
			if (lab == VB_PHASE_SEPARATOR || lab == E_)
				phi_e[v] = -0.01 * (i - 2);
			if (lab == C_ && !cut_off)
				c_s[v] = c0 + cam_eta[j][i] * (cmax - c0);
			if ((lab == C_ && !cut_off) || lab == VB_PHASE_CATHODE_CC)
				phi_s[v] = -0.03 + u;
		}
}

static void build(const char *path, const spec *s)
{
	vb_err e;
	vb_err_clear(&e);
	vb_image *img = cell(s->rows);
	vb_params *p = vb_params_load_default("assb", &e);
	hid_t f = vb_h5_create(path, "run", &e);
	vb_h5_write_image(f, img, &e);
	vb_h5_attr_write_string(f, "cell_type", "assb", &e);
	vb_params_write_h5(p, f, "parameters", &e);
	hid_t g = H5Gcreate2(f, "regions", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	/* every layer, as assemble writes them (float64, as older files had) */
	const double acc[2] = {0, 1}, li[2] = {1, 2}, sep[2] = {2, 4}, cat[2] = {X0, X1},
		     ccc[2] = {X1, NX};
	vb_h5_attr_write_doubles(g, "anode_cc", acc, 2, &e);
	vb_h5_attr_write_doubles(g, "li", li, 2, &e);
	vb_h5_attr_write_doubles(g, "separator", sep, 2, &e);
	vb_h5_attr_write_doubles(g, "cathode", cat, 2, &e);
	vb_h5_attr_write_doubles(g, "cathode_cc", ccc, 2, &e);
	H5Gclose(g);
	g = H5Gcreate2(f, "timeseries", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	double t[3] = {0, 100, 200}, u[3] = {4.2, 4.0, 3.9}, i[3] = {0, 10, 10};
	double q[3] = {0, 1000, 2000}, w[3] = {0, 4000, 7900};
	if (s->backwards)
		t[2] = 50;
	write_1d(g, "time", t, 3, "s");
	write_1d(g, "voltage", u, 3, "V");
	write_1d(g, "current", i, 3, "A/m^2");
	write_1d(g, "capacity", q, 3, s->cap_units);
	write_1d(g, "energy", w, 3, "J/m^2");
	H5Gclose(g);
	g = H5Gcreate2(f, "solver", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	vb_h5_attr_write_string(g, "status", "cutoff", &e);
	H5Gclose(g);
	g = H5Gcreate2(f, "fields", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	double c_s[NX * ROWS], phi_s[NX * ROWS], phi_e[NX * ROWS];
	fields(p, s->rows, c_s, phi_s, phi_e);
	if (s->c_s_nan_at_cam)
		c_s[7 * s->rows] = NAN;
	for (int k = 1; k <= s->snapshots; k++) {
		char name[16];
		snprintf(name, sizeof name, "%04d", k);
		hid_t sg = H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
		vb_h5_attr_write_double(sg, "time", s->snapshots == 2 && k == 1 ? 100.0 : 200.0,
					&e);
		write_3d(sg, "c_s", c_s, s->rows);
		write_3d(sg, "phi_s", phi_s, s->rows);
		write_3d(sg, "phi_e", phi_e, s->rows);
		H5Gclose(sg);
	}
	H5Gclose(g);
	vb_h5_close(f, &e);
	vb_params_free(&p);
	vb_voxel_free(&img);
}

static int read_run(const char *path, double time, mr_discharge *d, vb_err *e)
{
	hid_t f = vb_h5_open(path, e);
	vb_image *img = NULL;
	int rc = vb_h5_read_image(f, path, &img, e);
	vb_params *p = rc == VB_OK ? vb_params_read_h5(f, "parameters", path, e) : NULL;
	if (p == NULL && rc == VB_OK)
		rc = VB_ERR_INPUT;
	if (rc == VB_OK)
		rc = mr_discharge_read(f, path, img, p, X0, X0, X1, time, d, e);
	vb_h5_close(f, NULL);
	vb_params_free(&p);
	vb_voxel_free(&img);
	return rc;
}

/* Builds the run file NAME from spec s and reads it at its end into *d; the
 * default ASSB set's c_max, c_init and SE conductivity into the others.
 * VB_OK, or the reader's status (its message printed). */
static int build_and_read(const char *name, const spec *s, mr_discharge *d, double *cmax,
			  double *c0, double *kappa)
{
	build(name, s);
	vb_err e;
	vb_err_clear(&e);
	int rc = read_run(name, NAN, d, &e);
	if (rc != VB_OK) {
		printf("# %s\n", e.msg);
		return rc;
	}
	vb_params *p = vb_params_load_default("assb", &e);
	*cmax = vb_params_get(p, "cam.c_max"), *c0 = vb_params_get(p, "cam.c_init");
	*kappa = vb_params_get(p, "electrolyte.conductivity");
	vb_params_free(&p);
	return VB_OK;
}

static void test_known_values(void)
{
	const spec s = {"C/m^2", 0, 2, 0, 1};
	mr_discharge d;
	double cmax, c0, kappa;
	int rc = build_and_read("known.h5", &s, &d, &cmax, &c0, &kappa);
	CHECK(rc == VB_OK);
	if (rc != VB_OK)
		return;
	CHECK(strcmp(d.status, "cutoff") == 0);
	CHECK(d.snapshot == 2 && d.snapshots == 2);
	CHECK_NEAR(d.time, 200, 0);
	CHECK_NEAR(d.voltage, 3.9, 0);
	CHECK_NEAR(d.current, 10, 0);
	CHECK_NEAR(d.capacity, 2000, 0);
	CHECK_NEAR(d.energy, 7900, 0);
	/* two CAM voxels at utilization 0.5 and 0.25 */
	CHECK_NEAR(d.utilization, 0.375, 1e-15);
	CHECK(d.slices == 4 && isnan(d.util[0]) && isnan(d.util[1]));
	CHECK_NEAR(d.util[2], 0.5, 1e-15);
	CHECK_NEAR(d.util[3], 0.25, 1e-15);
	/* cumulative: (c - c0) F h^3 / h^2 per CAM voxel */
	const double q1 = 0.5 * (cmax - c0) * FARADAY * 1e-6,
		     q2 = 0.25 * (cmax - c0) * FARADAY * 1e-6;
	CHECK_NEAR(d.cumulative[1], 0, 0);
	CHECK_NEAR(d.cumulative[2], q1, 1e-12 * q1);
	CHECK_NEAR(d.cumulative[3], q1 + q2, 1e-12 * q1);
	CHECK_NEAR(d.lithium_fields, q1 + q2, 1e-12 * q1);
	/* ionic current: kappa x 10 mV/um through both faces of the first SE
	 * voxel, half of it at the second (its CAM face carries none) */
	const double j = kappa * 0.01 / 1e-6;
	CHECK(d.i_count == 2);
	CHECK_NEAR(d.i_ion[0], j, 1e-9 * j);
	CHECK_NEAR(d.i_ion[1], 0.5 * j, 1e-9 * j);
	CHECK(isnan(d.i_ion[2]));
	CHECK_NEAR(d.i_max, j, 1e-9 * j);
	CHECK_NEAR(d.i_mean, 0.75 * j, 1e-9 * j);
	CHECK_NEAR(d.i_p50, 0.75 * j, 1e-9 * j);
	CHECK_NEAR(d.i_p90, 0.95 * j, 1e-9 * j);
	CHECK_NEAR(d.i_p99, 0.995 * j, 1e-9 * j);
	mr_discharge_free(&d);
	/* the first snapshot, by its time: the series at t = 100 s */
	vb_err e;
	vb_err_clear(&e);
	rc = read_run("known.h5", 100, &d, &e);
	CHECK(rc == VB_OK && d.snapshot == 1);
	CHECK_NEAR(d.capacity, 1000, 0);
	CHECK_NEAR(d.energy, 4000, 0);
	CHECK_NEAR(d.voltage, 4.0, 0);
	mr_discharge_free(&d);
	remove("known.h5");
}

/* Three rows: the slices hold 0, 1, 2 and 3 CAM voxels, one of them cut off
 * (counted at eta = 0), so the overall utilization is the mean over CAM
 * voxels, not over slices: (0 + 0.5 + 0.1 + 0.25 + 0.4 + 0.6) / 6. */
static const spec weights = {"C/m^2", 0, 2, 0, ROWS};

static void test_weights(void)
{
	mr_discharge d;
	double cmax, c0, kappa;
	int rc = build_and_read("weights.h5", &weights, &d, &cmax, &c0, &kappa);
	CHECK(rc == VB_OK);
	if (rc != VB_OK)
		return;
	CHECK_NEAR(d.utilization, 1.85 / 6, 1e-15);
	CHECK(d.slices == 4 && isnan(d.util[0]));
	CHECK_NEAR(d.util[1], 0, 0); /* the cut-off voxel alone */
	CHECK_NEAR(d.util[2], 0.3, 1e-15);
	CHECK_NEAR(d.util[3], 1.25 / 3, 1e-15);
	/* cumulative: (c - c0) F h^3 over the cross-section of 3 h^2 */
	const double k = (cmax - c0) * FARADAY * 1e-6 / 3;
	CHECK_NEAR(d.cumulative[0], 0, 0);
	CHECK_NEAR(d.cumulative[1], 0, 0);
	CHECK_NEAR(d.cumulative[2], 0.6 * k, 1e-12 * k);
	CHECK_NEAR(d.cumulative[3], 1.85 * k, 1e-12 * k);
	/* SE (4, row 0) passes j through both x faces; (5, row 0) and (4, row
	 * 1) through one (the other faces CAM at equilibrium, or void) */
	const double j = kappa * 0.01 / 1e-6;
	CHECK(d.i_count == 3);
	CHECK_NEAR(d.i_ion[0], 0.75 * j, 1e-9 * j);
	CHECK_NEAR(d.i_ion[1], 0.5 * j, 1e-9 * j);
	CHECK(isnan(d.i_ion[2]) && isnan(d.i_ion[3]));
	CHECK_NEAR(d.i_mean, 2.0 / 3.0 * j, 1e-9 * j);
	CHECK_NEAR(d.i_p50, 0.5 * j, 1e-9 * j);
	CHECK_NEAR(d.i_p90, 0.9 * j, 1e-9 * j);
	CHECK_NEAR(d.i_p99, 0.99 * j, 1e-9 * j);
	CHECK_NEAR(d.i_max, j, 1e-9 * j);
	mr_discharge_free(&d);
	remove("weights.h5");
}

static void test_percentile(void)
{
	const double v[5] = {1, 2, 3, 4, 5};
	CHECK_NEAR(mr_percentile(v, 5, 0), 1, 0);
	CHECK_NEAR(mr_percentile(v, 5, 0.5), 3, 0);
	CHECK_NEAR(mr_percentile(v, 5, 0.9), 4.6, 1e-15);
	CHECK_NEAR(mr_percentile(v, 5, 1), 5, 0);
	CHECK_NEAR(mr_percentile(v, 1, 0.99), 1, 0);
}

/* A CAM voxel of the current path without c_s: the fields are another cell's. */
static void test_unfit_fields(void)
{
	const spec s = {"C/m^2", 0, 1, 1, 1};
	build("nan.h5", &s);
	vb_err e;
	vb_err_clear(&e);
	mr_discharge d;
	/* voxel 7 has no c_s but an unknown in the model: the fields do not fit */
	int rc = read_run("nan.h5", NAN, &d, &e);
	CHECK(rc == VB_ERR_INPUT);
	CHECK(strstr(e.msg, "do not fit the cell") != NULL);
	remove("nan.h5");
}

static void test_foreign(void)
{
	vb_err e;
	mr_discharge d;
	const spec units = {"mAh", 0, 1, 0, 1}, back = {"C/m^2", 1, 1, 0, 1},
		   ok = {"C/m^2", 0, 1, 0, 1};
	build("units.h5", &units);
	vb_err_clear(&e);
	CHECK(read_run("units.h5", NAN, &d, &e) == VB_ERR_INPUT);
	CHECK(strstr(e.msg, "units 'mAh', expected 'C/m^2'") != NULL);
	build("back.h5", &back);
	vb_err_clear(&e);
	CHECK(read_run("back.h5", NAN, &d, &e) == VB_ERR_INPUT);
	CHECK(strstr(e.msg, "goes back in time") != NULL);
	build("ok.h5", &ok);
	vb_err_clear(&e);
	CHECK(read_run("ok.h5", 150, &d, &e) == VB_ERR_INPUT);
	CHECK(strstr(e.msg, "no snapshot at 150 s; saved times (s): 200") != NULL);
	remove("units.h5"), remove("back.h5"), remove("ok.h5");
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write") == 0) {
		build(argv[2], &weights);
		return 0;
	}
	/* the files are written in a fresh temporary folder */
	char dir[] = "/tmp/voxbat-test-metrics-XXXXXX";
	if (mkdtemp(dir) == NULL || chdir(dir) != 0)
		BAIL_OUT("cannot make a temporary folder");
	RUN(test_known_values, "metrics: a hand-built run file gives its known indicators");
	RUN(test_weights, "metrics: utilization is the mean over CAM voxels, cut-off ones at 0, "
			  "its profile and the cumulative capacity per slice");
	RUN(test_percentile, "metrics: percentiles interpolate linearly");
	RUN(test_unfit_fields, "metrics: fields that do not fit the cell are refused");
	RUN(test_foreign, "metrics: wrong units, time going back, missing snapshot: refused");
	if (chdir("/") != 0 || rmdir(dir) != 0)
		printf("# could not remove %s\n", dir);
	DONE();
}
