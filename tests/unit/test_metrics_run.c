/* metrics on run files (issue 5): a run file built by hand, with values
 * chosen so that every indicator has a known answer, is read back by
 * tools/metrics/run.c; foreign variants of it are refused. */
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

/* The cell along x (ny = nz = 1, 1 um voxels): anode collector, Li,
 * 2 separator, cathode = 2 SE then 2 CAM, cathode collector. */
enum { NX = 9, X0 = 4, X1 = 8 };
static const int cell_labels[NX] = {VB_PHASE_ANODE_CC,	VB_PHASE_LI,	      VB_PHASE_SEPARATOR,
				    VB_PHASE_SEPARATOR, VB_PHASE_ELECTROLYTE, VB_PHASE_ELECTROLYTE,
				    VB_PHASE_CAM,	VB_PHASE_CAM,	      VB_PHASE_CATHODE_CC};

typedef struct spec {
	const char *cap_units; /* units of /timeseries/capacity */
	int backwards;	       /* time goes back in row 2 */
	int snapshots;	       /* 1 or 2 */
	int c_s_nan_at_cam;    /* a CAM voxel without c_s */
} spec;

static vb_image *cell(void)
{
	vb_image *img = vb_voxel_new(NX, 1, 1, 1e-6, NULL);
	for (int i = 0; i < NX; i++)
		img->labels[i] = (uint8_t)cell_labels[i];
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

static int write_3d(hid_t g, const char *name, const double *v)
{
	hsize_t dims[3] = {NX, 1, 1};
	hid_t sp = H5Screate_simple(3, dims, NULL);
	hid_t d = H5Dcreate2(g, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
	H5Dclose(d);
	H5Sclose(sp);
	return 0;
}

/* Known fields: phi_e falls by 10 mV per voxel from the separator to the
 * last SE voxel; the CAM next to it is at equilibrium (phi_s - phi_e =
 * U_0(c_s)), so its face carries no current. */
static void fields(const vb_params *p, double *c_s, double *phi_s, double *phi_e)
{
	const double cmax = vb_params_get(p, "cam.c_max"), c0 = vb_params_get(p, "cam.c_init");
	for (int i = 0; i < NX; i++)
		c_s[i] = phi_s[i] = phi_e[i] = NAN;
	phi_s[0] = phi_s[1] = 0.0;
	for (int i = 2; i <= 5; i++)
		phi_e[i] = -0.01 * (i - 2);
	c_s[6] = c0 + 0.5 * (cmax - c0);
	c_s[7] = c0 + 0.25 * (cmax - c0);
	phi_s[6] = phi_e[5] + vb_params_eval(p, "cam.ocp", c_s[6] / cmax);
	phi_s[7] = phi_s[8] = phi_s[6];
}

static void build(const char *path, const spec *s)
{
	vb_err e;
	vb_err_clear(&e);
	vb_image *img = cell();
	vb_params *p = vb_params_load_default("assb", &e);
	hid_t f = vb_h5_create(path, "run", &e);
	vb_h5_write_image(f, img, &e);
	vb_h5_attr_write_string(f, "cell_type", "assb", &e);
	vb_params_write_h5(p, f, "parameters", &e);
	hid_t g = H5Gcreate2(f, "regions", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	const double sep[2] = {2, 4}, cat[2] = {X0, X1};
	vb_h5_attr_write_doubles(g, "separator", sep, 2, &e);
	vb_h5_attr_write_doubles(g, "cathode", cat, 2, &e);
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
	double c_s[NX], phi_s[NX], phi_e[NX];
	fields(p, c_s, phi_s, phi_e);
	if (s->c_s_nan_at_cam)
		c_s[7] = NAN;
	for (int k = 1; k <= s->snapshots; k++) {
		char name[16];
		snprintf(name, sizeof name, "%04d", k);
		hid_t sg = H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
		vb_h5_attr_write_double(sg, "time", s->snapshots == 2 && k == 1 ? 100.0 : 200.0,
					&e);
		write_3d(sg, "c_s", c_s);
		write_3d(sg, "phi_s", phi_s);
		write_3d(sg, "phi_e", phi_e);
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
		rc = mr_discharge_read(f, path, img, p, X0, X1, time, d, e);
	vb_h5_close(f, NULL);
	vb_params_free(&p);
	vb_voxel_free(&img);
	return rc;
}

static void test_known_values(void)
{
	const spec s = {"C/m^2", 0, 2, 0};
	build("known.h5", &s);
	vb_err e;
	vb_err_clear(&e);
	mr_discharge d;
	int rc = read_run("known.h5", NAN, &d, &e);
	CHECK(rc == VB_OK);
	if (rc != VB_OK) {
		printf("# %s\n", e.msg);
		return;
	}
	vb_params *p = vb_params_load_default("assb", &e);
	const double cmax = vb_params_get(p, "cam.c_max"), c0 = vb_params_get(p, "cam.c_init");
	const double kappa = vb_params_get(p, "electrolyte.conductivity");
	vb_params_free(&p);
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
	mr_discharge_free(&d);
	/* the first snapshot, by its time: the series at t = 100 s */
	rc = read_run("known.h5", 100, &d, &e);
	CHECK(rc == VB_OK && d.snapshot == 1);
	CHECK_NEAR(d.capacity, 1000, 0);
	CHECK_NEAR(d.energy, 4000, 0);
	CHECK_NEAR(d.voltage, 4.0, 0);
	mr_discharge_free(&d);
	remove("known.h5");
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
	const spec s = {"C/m^2", 0, 1, 1};
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
	const spec units = {"mAh", 0, 1, 0}, back = {"C/m^2", 1, 1, 0}, ok = {"C/m^2", 0, 1, 0};
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

int main(void)
{
	/* the files are written in a fresh temporary folder */
	char dir[] = "/tmp/voxbat-test-metrics-XXXXXX";
	if (mkdtemp(dir) == NULL || chdir(dir) != 0)
		BAIL_OUT("cannot make a temporary folder");
	RUN(test_known_values, "metrics: a hand-built run file gives its known indicators");
	RUN(test_percentile, "metrics: percentiles interpolate linearly");
	RUN(test_unfit_fields, "metrics: fields that do not fit the cell are refused");
	RUN(test_foreign, "metrics: wrong units, time going back, missing snapshot: refused");
	if (chdir("/") != 0 || rmdir(dir) != 0)
		printf("# could not remove %s\n", dir);
	DONE();
}
