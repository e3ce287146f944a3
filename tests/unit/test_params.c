/* Unit tests of vb_params on the shipped parameter sets: SI conversion,
 * the anchors of PHYSICS.md §3, derivatives, and rejection of bad files. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vb_params.h"
#include "vb_test.h"

static void test_assb_values(void)
{
	vb_err e;
	vb_params *p = vb_params_load_default("assb", &e);
	CHECK(p != NULL);
	if (p == NULL) {
		printf("# %s\n", e.msg);
		return;
	}
	CHECK(strcmp(vb_params_cell_type(p), "assb") == 0);
	CHECK_NEAR(vb_params_get(p, "cam.c_max"), 49030.0, 1e-9);
	CHECK_NEAR(vb_params_get(p, "cam.c_init"), 11310.0, 1e-9);
	CHECK_NEAR(vb_params_get(p, "cam.conductivity"), 0.883, 1e-15);
	CHECK_NEAR(vb_params_get(p, "cam.diffusivity"), 8.71e-17, 1e-30);
	CHECK_NEAR(vb_params_get(p, "cam.exchange_factor"), 1.5392e-8, 1e-20);
	CHECK_NEAR(vb_params_get(p, "electrolyte.conductivity"), 0.07, 1e-15);
	CHECK_NEAR(vb_params_get(p, "electrolyte.c_init"), 36662.0, 1e-9);
	CHECK_NEAR(vb_params_get(p, "li_metal.exchange_current"), 259.0, 1e-12);
	CHECK_NEAR(vb_params_get(p, "separator.thickness"), 20e-6, 1e-18);
	CHECK_NEAR(vb_params_get(p, "cam.density"), 4770.0, 1e-9);
	/* U_0 = 4.2 V at the initial lithiation (the anchor) */
	CHECK_NEAR(vb_params_eval(p, "cam.ocp", 11310.0 / 49030.0), 4.2, 1e-6);
	CHECK(vb_params_eval(p, "cam.ocp", 0.9) < vb_params_eval(p, "cam.ocp", 0.3));
	CHECK(isnan(vb_params_get(p, "cam.nonsense")));
	vb_params_free(&p);
	CHECK(p == NULL);
}

static void test_lib_functions(void)
{
	vb_err e;
	vb_params *p = vb_params_load_default("lib", &e);
	CHECK(p != NULL);
	if (p == NULL) {
		printf("# %s\n", e.msg);
		return;
	}
	const double c0 = 1000.0; /* mol/m^3 */
	CHECK_NEAR(vb_params_eval(p, "electrolyte.conductivity", c0), 0.94, 1e-8);
	CHECK_NEAR(vb_params_eval(p, "electrolyte.diffusivity", c0), 3.79e-10, 1e-17);
	CHECK_NEAR(vb_params_eval(p, "electrolyte.transference", c0), 0.25, 1e-8);
	CHECK_NEAR(vb_params_eval(p, "electrolyte.thermodynamic_factor", c0), 1.85, 1e-8);
	CHECK_NEAR(vb_params_get(p, "electrolyte.conductivity"), 0.94, 1e-8);
	CHECK_NEAR(vb_params_get(p, "cbd.conductivity_factor"), 0.12, 1e-15);
	/* derivatives against central differences */
	const char *fns[] = {"electrolyte.conductivity", "electrolyte.diffusivity",
			     "electrolyte.transference", "electrolyte.thermodynamic_factor"};
	for (int f = 0; f < 4; f++) {
		double c = 1500.0, dc = 1e-3;
		double fd =
			(vb_params_eval(p, fns[f], c + dc) - vb_params_eval(p, fns[f], c - dc)) /
			(2 * dc);
		double an = vb_params_eval_derivative(p, fns[f], c);
		CHECK_NEAR(an, fd, 1e-6 * fabs(fd) + 1e-20);
	}
	double x = 0.5, dx = 1e-6;
	double fd = (vb_params_eval(p, "cam.ocp", x + dx) - vb_params_eval(p, "cam.ocp", x - dx)) /
		    (2 * dx);
	CHECK_NEAR(vb_params_eval_derivative(p, "cam.ocp", x), fd, 1e-5 * fabs(fd));
	vb_params_free(&p);
}

static char dir[] = "/tmp/vb_test_params.XXXXXX";

/* Writes the ASSB set with line `from` replaced by `to` and loads it. */
static vb_params *load_edited(const char *from, const char *to, vb_err *e)
{
	FILE *in = fopen(VB_PARAMS_DIR "/assb-nmc811-lpscl.ini", "r");
	char path[512], line[1024];
	snprintf(path, sizeof path, "%s/edited.ini", dir);
	FILE *out = fopen(path, "w");
	while (in && out && fgets(line, sizeof line, in))
		fputs(strncmp(line, from, strlen(from)) == 0 ? to : line, out);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	return vb_params_load(path, e);
}

static void test_rejects(void)
{
	vb_err e;
	vb_params *p = load_edited("diffusivity", "diffusivity = 8.71e-13 S/cm\n", &e);
	CHECK(p == NULL && e.status == VB_ERR_INPUT && strstr(e.msg, "cam.diffusivity") &&
	      strstr(e.msg, "unknown unit 'S/cm'"));
	p = load_edited("c_max", "", &e);
	CHECK(p == NULL && strstr(e.msg, "missing parameter cam.c_max"));
	p = load_edited("conductivity = 8.83e-3", "conductivity = -1 S/cm\n", &e);
	CHECK(p == NULL && strstr(e.msg, "cam.conductivity") && strstr(e.msg, "expected"));
	p = load_edited("alpha = 0.5                          ; PHYSICS.md §2", "alpah = 0.5\n",
			&e);
	CHECK(p == NULL && strstr(e.msg, "unknown key cam.alpah"));
	p = load_edited("type = assb", "type = flow\n", &e);
	CHECK(p == NULL && strstr(e.msg, "cell.type = flow"));
	p = load_edited("c_init = 0.01131", "c_init = 0.06 mol/cm3\n", &e);
	CHECK(p == NULL && strstr(e.msg, "not below"));
	CHECK(vb_params_load("/nonexistent.ini", &e) == NULL && e.status == VB_ERR_INPUT);
}

static void test_overrides(void)
{
	vb_err e;
	vb_params *p = vb_params_load_default("assb", &e);
	CHECK(p && vb_params_set(p, "cam.diffusivity", "1e-13 cm2/s", &e) == VB_OK);
	CHECK_NEAR(vb_params_get(p, "cam.diffusivity"), 1e-17, 1e-30);
	CHECK(vb_params_set(p, "cam.diffusivity", "2e-17", &e) == VB_OK); /* SI without unit */
	CHECK_NEAR(vb_params_get(p, "cam.diffusivity"), 2e-17, 1e-30);
	CHECK(vb_params_set(p, "cam.diffusivity", "fast", &e) == VB_ERR_INPUT);
	CHECK(vb_params_set(p, "cam.diffusivity", "1 V", &e) == VB_ERR_INPUT);
	CHECK(vb_params_set(p, "cam.speed", "1", &e) == VB_ERR_INPUT && strstr(e.msg, "unknown"));
	/* the set survives a round trip through HDF5, overrides included */
	char path[512];
	snprintf(path, sizeof path, "%s/p.h5", dir);
	hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	CHECK(vb_params_write_h5(p, f, "parameters", &e) == VB_OK);
	H5Fclose(f);
	f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	vb_params *q = vb_params_read_h5(f, "parameters", path, &e);
	CHECK(q != NULL);
	if (q != NULL)
		CHECK_NEAR(vb_params_get(q, "cam.diffusivity"), 2e-17, 1e-30);
	H5Fclose(f);
	vb_params_free(&p);
	vb_params_free(&q);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(test_assb_values, "params: ASSB set in SI, U_0(x0) = 4.2 V");
	RUN(test_lib_functions, "params: LIB functions meet the 1 M anchors; derivatives");
	RUN(test_rejects, "params: wrong unit, missing key, range, typo, type, c_init >= c_max");
	RUN(test_overrides, "params: overrides with and without unit; HDF5 round trip");
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	DONE();
}
