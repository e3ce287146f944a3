/* Unit tests of vb_params on the shipped parameter sets: SI conversion,
 * the anchors of PHYSICS.md §3, derivatives, and rejection of bad files. */
#include <math.h>
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

/* Chen et al. 2020's NMC811 fit as published, at its own stoichiometry u. */
static double chen2020(double u)
{
	return -0.8090 * u + 4.4875 - 0.0428 * tanh(18.5138 * (u - 0.5542)) -
	       17.7326 * tanh(15.7890 * (u - 0.3117)) + 17.5842 * tanh(15.9308 * (u - 0.3120));
}

/* O'Regan et al. 2022's NMC811 diffusivity fit (m^2/s at 25 C) as PyBaMM
 * writes it. */
static double oregan2022(double x)
{
	const double a[3] = {-0.9231, -0.4066, -0.993}, b[3] = {0.3216, 0.4532, 0.8098},
		     c[3] = {0.002534, 0.003926, 0.09924};
	double s = -13.96;
	for (int k = 0; k < 3; k++)
		s += a[k] * exp(-(x - b[k]) * (x - b[k]) / c[k]);
	return 2.7 * pow(10.0, s);
}

/* The lithiation-dependent CAM laws of both shipped sets: the published
 * shapes, their anchors at x0 (PHYSICS.md §3), analytic derivatives. */
static void test_cam_functions(void)
{
	const char *types[2] = {"assb", "lib"};
	const double d_anchor[2] = {8.71e-17, 1.63e-16};
	const double x0 = 11310.0 / 49030.0;
	for (int t = 0; t < 2; t++) {
		vb_err e;
		vb_params *p = vb_params_load_default(types[t], &e);
		CHECK(p != NULL);
		if (p == NULL) {
			printf("# %s\n", e.msg);
			continue;
		}
		CHECK_NEAR(vb_params_eval(p, "cam.diffusivity", x0), d_anchor[t],
			   1e-6 * d_anchor[t]);
		CHECK_NEAR(vb_params_get(p, "cam.diffusivity"), d_anchor[t], 1e-6 * d_anchor[t]);
		CHECK_NEAR(vb_params_eval(p, "cam.conductivity", x0), 0.883, 1e-9);
		/* the shape is the published one, at the OCP's remapped stoichiometry,
		 * only scaled */
		const double A = 0.124341465753, B = 0.781558534247;
		for (double x = 0.05; x < 1.0; x += 0.1)
			CHECK_NEAR(vb_params_eval(p, "cam.diffusivity", x) / d_anchor[t],
				   oregan2022(A + B * x) / oregan2022(A + B * x0), 1e-6);
		/* Amin and Chiang's end values, 1e-7 S/cm at x = 1 and 1e-2 S/cm at
		 * x = 0.25, times the anchor scale 0.65634 */
		CHECK_NEAR(vb_params_eval(p, "cam.conductivity", 1.0), 1e-5 * 0.656338705, 1e-12);
		CHECK_NEAR(vb_params_eval(p, "cam.conductivity", 0.25), 1.0 * 0.656338705, 1e-8);
		/* Chen's fit at u = 0.124341 + 0.781559 x: 4.2 V at x0, Chen's data end
		 * (u = 0.9059) at x = 1 */
		CHECK_NEAR(vb_params_eval(p, "cam.ocp", x0), 4.2, 1e-9);
		CHECK_NEAR(vb_params_eval(p, "cam.ocp", 1.0), chen2020(0.9059), 1e-9);
		CHECK_NEAR(vb_params_eval(p, "cam.ocp", 0.6),
			   chen2020(0.124341465753 + 0.781558534247 * 0.6), 1e-9);
		const char *fns[3] = {"cam.ocp", "cam.diffusivity", "cam.conductivity"};
		for (int f = 0; f < 3; f++)
			for (double x = 0.1; x < 1.0; x += 0.2) {
				const double dx = 1e-6;
				double fd = (vb_params_eval(p, fns[f], x + dx) -
					     vb_params_eval(p, fns[f], x - dx)) /
					    (2 * dx);
				CHECK_NEAR(vb_params_eval_derivative(p, fns[f], x), fd,
					   1e-5 * fabs(fd) + 1e-30);
			}
		vb_params_free(&p);
	}
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
	/* value and derivative in one evaluation: the same numbers as the two
	 * calls, for every function kind (sum, exp10, tanh, Gauss terms) and a
	 * scalar key (derivative 0) */
	const char *all[] = {"electrolyte.conductivity", "electrolyte.diffusivity",
			     "electrolyte.transference", "electrolyte.thermodynamic_factor",
			     "cam.ocp", "cam.diffusivity", "cam.conductivity", "cam.c_max"};
	for (int f = 0; f < 8; f++)
		for (int k = 0; k < 5; k++) {
			const double xa = f < 4 ? 200.0 + 700.0 * k : 0.1 + 0.2 * k;
			double d = -1;
			const double v = vb_params_eval_with_derivative(p, all[f], xa, &d);
			CHECK(v == (f < 7 ? vb_params_eval(p, all[f], xa)
					  : vb_params_get(p, all[f])));
			CHECK(d == (f < 7 ? vb_params_eval_derivative(p, all[f], xa) : 0.0));
		}
	/* the powers of the Nyman polynomials (multiplications and sqrt, not
	 * pow) against the formula of the parameter file with pow */
	for (int k = 0; k < 5; k++) {
		const double c = 0.2 + 0.7 * k; /* mol/L */
		const double kap = 0.990829556 *
				   (0.1297 * pow(c, 3) - 2.51 * pow(c, 1.5) + 3.329 * c);
		const double dkap = 0.990829556 *
				    (3 * 0.1297 * pow(c, 2) - 1.5 * 2.51 * pow(c, 0.5) + 3.329);
		double d;
		CHECK_NEAR(vb_params_eval_with_derivative(p, "electrolyte.conductivity", 1000 * c,
							  &d),
			   kap, 1e-14);
		CHECK_NEAR(d, dkap / 1000, 1e-17);
	}
	vb_params_free(&p);
}

static char dir[] = "/tmp/vb_test_params.XXXXXX";

/* Writes the ASSB set with the lines that start with from[k] replaced by
 * to[k] and loads it; from[k] = "[SECTION]START" replaces only within that
 * section. */
static vb_params *load_edited_file(const char *src, const char *const *from, const char *const *to,
				   int n, vb_err *e)
{
	FILE *in = fopen(src, "r");
	char path[512], line[1024], section[128] = "";
	snprintf(path, sizeof path, "%s/edited.ini", dir);
	FILE *out = fopen(path, "w");
	while (in && out && fgets(line, sizeof line, in)) {
		if (line[0] == '[')
			sscanf(line, "[%127[^]]", section);
		const char *rep = NULL;
		for (int k = 0; k < n && rep == NULL; k++) {
			const char *f = from[k];
			if (f[0] == '[') {
				const char *close = strchr(f, ']');
				if (close == NULL ||
				    strncmp(f + 1, section, (size_t)(close - f - 1)) != 0 ||
				    section[close - f - 1] != '\0')
					continue;
				f = close + 1;
			}
			if (strncmp(line, f, strlen(f)) == 0)
				rep = to[k];
		}
		fputs(rep ? rep : line, out);
	}
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	return vb_params_load(path, e);
}

static vb_params *load_edited_n(const char *const *from, const char *const *to, int n, vb_err *e)
{
	return load_edited_file(VB_PARAMS_DIR "/assb-nmc811-lpscl.ini", from, to, n, e);
}

static vb_params *load_edited(const char *from, const char *to, vb_err *e)
{
	return load_edited_n(&from, &to, 1, e);
}

static void test_rejects(void)
{
	vb_err e;
	vb_params *p = load_edited("c_max", "c_max = 0.04903 S/cm\n", &e);
	CHECK(p == NULL && e.status == VB_ERR_INPUT && strstr(e.msg, "cam.c_max") &&
	      strstr(e.msg, "unknown unit 'S/cm'"));
	p = load_edited("c_max", "", &e);
	CHECK(p == NULL && strstr(e.msg, "missing parameter cam.c_max"));
	p = load_edited("conductivity = 0.7e-3", "conductivity = -1 S/cm\n", &e);
	CHECK(p == NULL && strstr(e.msg, "electrolyte.conductivity") && strstr(e.msg, "expected"));
	/* a value and a function for one key: which one would be meant? */
	p = load_edited("c_max", "c_max = 0.04903 mol/cm3\ndiffusivity = 1e-13 cm2/s\n", &e);
	CHECK(p == NULL && strstr(e.msg, "cam.diffusivity") && strstr(e.msg, "both"));
	/* a conductivity that vanishes in the fully lithiated oxide */
	const char *from[2] = {"[cam.conductivity]form = exp10",
			       "terms = pow -0.333333333333333 0"},
		   *to[2] = {"form = sum\n", "terms = pow 0.176 0; pow -0.176 1\n"};
	p = load_edited_n(from, to, 2, &e);
	CHECK(p == NULL && strstr(e.msg, "cam.conductivity") && strstr(e.msg, "expected > 0") &&
	      strstr(e.msg, "stoichiometry 1.00"));
	p = load_edited("argument", "argument = 0.1\n", &e);
	CHECK(p == NULL && strstr(e.msg, "argument"));
	p = load_edited("alpha = 0.5                          ; PHYSICS.md §2", "alpah = 0.5\n",
			&e);
	CHECK(p == NULL && strstr(e.msg, "unknown key cam.alpah"));
	p = load_edited("type = assb", "type = flow\n", &e);
	CHECK(p == NULL && strstr(e.msg, "cell.type = flow"));
	p = load_edited("c_init = 0.01131", "c_init = 0.06 mol/cm3\n", &e);
	CHECK(p == NULL && strstr(e.msg, "not below"));
	CHECK(vb_params_load("/nonexistent.ini", &e) == NULL && e.status == VB_ERR_INPUT);
}

/* issue 17 items 7 and 8: a line longer than the INI reader's buffer had its
 * tail read as a key (a long comment set cam.density); NaN and inf in a
 * function's terms or points were taken, and metrics printed nan Wh/kg. */
static void test_rejects_long_lines_and_nonfinite(void)
{
	/* issue 17, polish: a key given twice in a section silently took the
	 * second value */
	vb_err e0;
	vb_params *d = load_edited("alpha = 0.5                          ; PHYSICS.md §2",
				   "alpha = 0.5\nalpha = 0.7\n", &e0);
	CHECK(d == NULL && strstr(e0.msg, "cam.alpha is given twice"));
	vb_params_free(&d);
	vb_err e;
	char longline[400];
	snprintf(longline, sizeof longline, "alpha = 0.5\n; %0197d density = 5.5 g/cm3\n", 0);
	vb_params *p =
		load_edited("alpha = 0.5                          ; PHYSICS.md §2", longline, &e);
	if (p != NULL || !strstr(e.msg, "line of 219 characters"))
		vb_test_note("# %s\n", p ? "accepted" : e.msg);
	CHECK(p == NULL && e.status == VB_ERR_INPUT && strstr(e.msg, "line of 219 characters") &&
	      strstr(e.msg, "at most 199"));
	/* 199 characters are still one line */
	snprintf(longline, sizeof longline, "alpha = 0.5\n; %0197d\n", 0);
	p = load_edited("alpha = 0.5                          ; PHYSICS.md §2", longline, &e);
	CHECK(p != NULL);
	vb_params_free(&p);
	const char *bad[] = {"terms = pow nan 0\n", "terms = pow 1 inf\n",
			     "terms = tanh 1 nan 0.5\n", "points = 0:1, 1:nan\n",
			     "points = 0:1, inf:2\n"};
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		const int table = strncmp(bad[k], "points", 6) == 0;
		const char *from[2] = {"terms = pow -0.333333333333333 0",
				       "[cam.conductivity]form = exp10"},
			   *to[2] = {bad[k], "form = table\n"};
		p = load_edited_n(from, to, table ? 2 : 1, &e);
		CHECK(p == NULL && e.status == VB_ERR_INPUT && strstr(e.msg, "cam.conductivity") &&
		      strstr(e.msg, "finite"));
		if (p != NULL)
			vb_test_note("# accepted: %s", bad[k]);
		vb_params_free(&p);
	}
}

/* p written to file name in the test folder as a cell file stores it, and
 * read back (NULL, a failed check, if either fails). */
static vb_params *round_trip(const vb_params *p, const char *name)
{
	vb_err e;
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	CHECK(vb_params_write_h5(p, f, "parameters", &e) == VB_OK);
	H5Fclose(f);
	f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	vb_params *q = vb_params_read_h5(f, "parameters", path, &e);
	H5Fclose(f);
	CHECK(q != NULL);
	return q;
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
	/* the set's cross-checks hold for an override too (issue 17 item 12:
	 * c_init above c_max started a run that failed later) */
	CHECK(vb_params_set(p, "cam.c_init", "0.06 mol/cm3", &e) == VB_ERR_INPUT &&
	      strstr(e.msg, "not below cam.c_max"));
	/* a constant replaces the lithiation-dependent law */
	CHECK_NEAR(vb_params_eval(p, "cam.diffusivity", 0.7), 2e-17, 1e-30);
	CHECK(vb_params_eval_derivative(p, "cam.diffusivity", 0.7) == 0);
	CHECK(vb_params_eval(p, "cam.conductivity", 0.9) < 0.1);
	CHECK(vb_params_set(p, "cam.conductivity", "1 S/m", &e) == VB_OK);
	CHECK_NEAR(vb_params_eval(p, "cam.conductivity", 0.9), 1.0, 1e-15);
	/* the set survives a round trip through HDF5, overrides included */
	vb_params *q = round_trip(p, "p.h5");
	if (q != NULL) {
		CHECK_NEAR(vb_params_get(q, "cam.diffusivity"), 2e-17, 1e-30);
		CHECK_NEAR(vb_params_eval(q, "cam.diffusivity", 0.7), 2e-17, 1e-30);
		CHECK_NEAR(vb_params_eval(q, "cam.conductivity", 0.9), 1.0, 1e-15);
	}
	vb_params_free(&p);
	vb_params_free(&q);
}

/* Issue 12: a LIB set takes constants for its functions of c_e (Study P-t+
 * overrides t+(c) with 0.3 ... 1; the t+ = 1 check needs every property
 * constant), from --set or from the file, and refuses t+ outside (0, 1]. */
static void test_lib_constants(void)
{
	vb_err e;
	vb_params *p = vb_params_load_default("lib", &e);
	CHECK(p != NULL);
	if (p == NULL)
		return;
	const int rc = vb_params_set(p, "electrolyte.transference", "0.3", &e);
	CHECK(rc == VB_OK);
	if (rc != VB_OK)
		vb_test_note("# %s\n", e.msg);
	for (double c = 500; c <= 2000; c += 500) {
		CHECK_NEAR(vb_params_eval(p, "electrolyte.transference", c), 0.3, 1e-15);
		CHECK(vb_params_eval_derivative(p, "electrolyte.transference", c) == 0);
	}
	CHECK_NEAR(vb_params_get(p, "electrolyte.transference"), 0.3, 1e-15);
	/* the other functions stay functions of c_e */
	CHECK(fabs(vb_params_eval(p, "electrolyte.conductivity", 2000) -
		   vb_params_eval(p, "electrolyte.conductivity", 1000)) > 0.01);
	CHECK(vb_params_set(p, "electrolyte.transference", "0", &e) == VB_ERR_INPUT &&
	      strstr(e.msg, "electrolyte.transference = 0, expected > 0 and <= 1"));
	CHECK(vb_params_set(p, "electrolyte.transference", "1.2", &e) == VB_ERR_INPUT &&
	      strstr(e.msg, "expected > 0 and <= 1"));
	CHECK(vb_params_set(p, "electrolyte.transference", "1", &e) == VB_OK);
	CHECK(vb_params_set(p, "electrolyte.conductivity", "0.5 S/m", &e) == VB_OK);
	CHECK(vb_params_set(p, "electrolyte.diffusivity", "2e-6 cm2/s", &e) == VB_OK);
	CHECK(vb_params_set(p, "electrolyte.thermodynamic_factor", "1", &e) == VB_OK);
	CHECK(vb_params_set(p, "electrolyte.thermodynamic_factor", "0", &e) == VB_ERR_INPUT &&
	      strstr(e.msg, "expected > 0"));
	CHECK(vb_params_set(p, "electrolyte.diffusivity", "-1", &e) == VB_ERR_INPUT);
	/* constant everywhere, and so after a round trip through HDF5 */
	vb_params *q = round_trip(p, "lib.h5");
	const vb_params *sets[2] = {p, q};
	for (int k = 0; k < 2 && q != NULL; k++) {
		const vb_params *s = sets[k];
		CHECK_NEAR(vb_params_eval(s, "electrolyte.transference", 1500), 1.0, 1e-15);
		CHECK_NEAR(vb_params_eval(s, "electrolyte.conductivity", 1500), 0.5, 1e-15);
		CHECK_NEAR(vb_params_eval(s, "electrolyte.diffusivity", 1500), 2e-10, 1e-24);
		CHECK_NEAR(vb_params_eval(s, "electrolyte.thermodynamic_factor", 1500), 1.0, 1e-15);
		CHECK(vb_params_eval_derivative(s, "electrolyte.diffusivity", 1500) == 0);
	}
	vb_params_free(&p);
	vb_params_free(&q);
	/* in a file: a constant instead of the function; neither; a function
	 * whose t+ at c_e,0 is not positive */
	const char *lib = VB_PARAMS_DIR "/lib-nmc811-lipf6.ini";
	const char *drop[6] = {
		"[electrolyte.transference]form",   "[electrolyte.transference]x_unit",
		"[electrolyte.transference]terms",  "[electrolyte.transference]scale",
		"[electrolyte.transference]source", "c_init = 1e-3 mol/cm3"};
	const char *by[6] = {"", "", "", "", "", "c_init = 1e-3 mol/cm3\ntransference = 0.4\n"};
	p = load_edited_file(lib, drop, by, 6, &e);
	CHECK(p != NULL);
	if (p == NULL)
		vb_test_note("# %s\n", e.msg);
	CHECK(p && fabs(vb_params_eval(p, "electrolyte.transference", 700) - 0.4) < 1e-15);
	vb_params_free(&p);
	p = load_edited_file(lib, drop, by, 5, &e);
	CHECK(p == NULL && strstr(e.msg, "missing function [electrolyte.transference] (or a "
					 "constant electrolyte.transference)"));
	const char *neg = "[electrolyte.transference]terms", *to = "terms = pow -0.5 0\n";
	p = load_edited_file(lib, &neg, &to, 1, &e);
	CHECK(p == NULL && strstr(e.msg, "[electrolyte.transference]") && strstr(e.msg, "> 0"));
	vb_params_free(&p);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		BAIL_OUT("cannot make a temporary folder");
	RUN(test_assb_values, "params: ASSB set in SI, U_0(x0) = 4.2 V");
	RUN(test_lib_functions, "params: LIB functions meet the 1 M anchors; derivatives");
	RUN(test_cam_functions,
	    "params: D_s(x), sigma_s(x), U_0(x): published shapes, PHYSICS.md anchors at x0");
	RUN(test_rejects, "params: wrong unit, missing key, range, typo, type, c_init >= c_max");
	RUN(test_rejects_long_lines_and_nonfinite,
	    "params: a line over 199 characters, a key given twice, NaN or inf in terms and "
	    "points: refused");
	RUN(test_overrides, "params: overrides with and without unit; HDF5 round trip");
	RUN(test_lib_constants, "params: LIB: constants for kappa, D, t+, TDF (--set or file); t+ "
				"outside (0, 1] refused");
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	DONE();
}
