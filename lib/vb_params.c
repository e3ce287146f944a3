/* vb_params: parameter sets as INI files (parsed by libinih), validated
 * against a registry of keys with unit kinds and physical ranges, converted
 * to SI; functions are closed forms (sums of power and tanh terms) or tables. */
#include "vb_params.h"

#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "vb_h5.h"
#include "vb_units.h"

enum { ASSB = 1, LIB = 2, BOTH = 3 };
enum { MAX_ENTRIES = 512, MAX_TERMS = 16, MAX_POINTS = 256 };

/* The registry: every scalar key a set may hold, its unit kind and range. */
typedef struct key_spec {
	const char *name;
	vb_unit_kind kind;
	int required;	 /* ASSB, LIB or BOTH */
	double min, max; /* SI, inclusive */
	const char *unit_si;
	int open_min; /* min itself is out of range */
} key_spec;

static const key_spec scalar_keys[] = {
	{"cell.temperature", VB_UNIT_TEMPERATURE, BOTH, 200, 400, "K"},
	{"cell.cutoff_voltage", VB_UNIT_VOLTAGE, BOTH, 0, 5, "V"},
	{"li_metal.ocp", VB_UNIT_VOLTAGE, BOTH, -1, 1, "V"},
	{"li_metal.conductivity", VB_UNIT_CONDUCTIVITY, BOTH, 1e-6, 1e9, "S/m"},
	{"li_metal.exchange_current", VB_UNIT_CURRENT_DENSITY, BOTH, 1e-9, 1e6, "A/m2"},
	{"li_metal.alpha", VB_UNIT_NONE, BOTH, 0, 1, "1"},
	{"li_metal.density", VB_UNIT_DENSITY, BOTH, 100, 30000, "kg/m^3"},
	{"li_metal.specific_capacity", VB_UNIT_NONE, BOTH, 1, 1e5, "mAh/g"},
	{"cam.c_max", VB_UNIT_CONCENTRATION, BOTH, 1, 1e6, "mol/m^3"},
	{"cam.c_init", VB_UNIT_CONCENTRATION, BOTH, 0, 1e6, "mol/m^3"},
	{"cam.conductivity", VB_UNIT_CONDUCTIVITY, BOTH, 1e-12, 1e9, "S/m"},
	{"cam.diffusivity", VB_UNIT_DIFFUSIVITY, BOTH, 1e-25, 1e-5, "m^2/s"},
	{"cam.exchange_factor", VB_UNIT_EXCHANGE_FACTOR, BOTH, 1e-20, 1e3, "A*m^2.5/mol^1.5"},
	{"cam.alpha", VB_UNIT_NONE, BOTH, 0, 1, "1"},
	{"cam.density", VB_UNIT_DENSITY, BOTH, 100, 30000, "kg/m^3"},
	{"electrolyte.c_init", VB_UNIT_CONCENTRATION, BOTH, 1e-3, 1e6, "mol/m^3"},
	/* the SE's constants; for a LIB set, constants standing in for the
	 * functions of c_e of the same names (an override, or a set that gives
	 * one instead of the function) */
	{"electrolyte.conductivity", VB_UNIT_CONDUCTIVITY, ASSB, 1e-9, 1e4, "S/m"},
	{"electrolyte.transference", VB_UNIT_NONE, ASSB, 0, 1, "1", 1},
	{"electrolyte.diffusivity", VB_UNIT_DIFFUSIVITY, 0, 1e-20, 1e-5, "m^2/s"},
	{"electrolyte.thermodynamic_factor", VB_UNIT_NONE, 0, 0, 100, "1", 1},
	{"electrolyte.density", VB_UNIT_DENSITY, BOTH, 100, 30000, "kg/m^3"},
	{"separator.thickness", VB_UNIT_LENGTH, BOTH, 0, 1e-2, "m"},
	{"separator.porosity", VB_UNIT_NONE, BOTH, 0, 1, "1"},
	{"separator.conductivity_factor", VB_UNIT_NONE, BOTH, 0, 1, "1"},
	{"separator.density", VB_UNIT_DENSITY, BOTH, 100, 30000, "kg/m^3"},
	{"cbd.porosity", VB_UNIT_NONE, LIB, 0, 1, "1"},
	{"cbd.conductivity_factor", VB_UNIT_NONE, LIB, 0, 1, "1"},
	{"cbd.conductivity", VB_UNIT_CONDUCTIVITY, LIB, 1e-9, 1e9, "S/m"},
	{"cbd.density", VB_UNIT_DENSITY, LIB, 100, 30000, "kg/m^3"},
	{"collectors.cathode_conductivity", VB_UNIT_CONDUCTIVITY, BOTH, 1e-3, 1e9, "S/m"},
	{"collectors.anode_conductivity", VB_UNIT_CONDUCTIVITY, BOTH, 1e-3, 1e9, "S/m"},
};
#define N_SCALARS (sizeof scalar_keys / sizeof scalar_keys[0])

/* Functions: the section [name] holds x_unit, unit, form, terms or points,
 * argument, scale and source. x is the stoichiometry c_s/c_s,max (x_kind
 * VB_UNIT_NONE) or c_e. A function may stand in for the scalar key of the
 * same name (cam.diffusivity): then either one is given, not both, and
 * `form = constant` (what an override appends) means "use the scalar". */
typedef struct fn_spec {
	const char *name;
	vb_unit_kind x_kind, y_kind;
	double min, max;    /* range of values at the initial state */
	int required;	    /* unless the scalar of the same name stands in */
	int positive_on_01; /* a CAM transport law: finite and > 0 for every x in [0, 1] */
	int open_min;	    /* min itself is out of range */
} fn_spec;

static const fn_spec function_keys[] = {
	{"cam.ocp", VB_UNIT_NONE, VB_UNIT_VOLTAGE, 2.0, 5.0, BOTH, 0},
	{"electrolyte.conductivity", VB_UNIT_CONCENTRATION, VB_UNIT_CONDUCTIVITY, 0, 1e4, LIB, 0,
	 1},
	{"electrolyte.diffusivity", VB_UNIT_CONCENTRATION, VB_UNIT_DIFFUSIVITY, 0, 1e-5, LIB, 0, 1},
	{"electrolyte.transference", VB_UNIT_CONCENTRATION, VB_UNIT_NONE, 0, 1, LIB, 0, 1},
	{"electrolyte.thermodynamic_factor", VB_UNIT_CONCENTRATION, VB_UNIT_NONE, 0, 100, LIB, 0,
	 1},
	{"cam.diffusivity", VB_UNIT_NONE, VB_UNIT_DIFFUSIVITY, 1e-25, 1e-5, 0, 1},
	{"cam.conductivity", VB_UNIT_NONE, VB_UNIT_CONDUCTIVITY, 1e-12, 1e9, 0, 1},
};
#define N_FUNCTIONS (sizeof function_keys / sizeof function_keys[0])

enum term_kind { TERM_POW, TERM_TANH, TERM_GAUSS };

typedef struct term {
	enum term_kind kind;
	double a, b, c; /* pow: a x^b; tanh: a tanh(b (x - c)); gauss: a exp(-(x - b)^2 / c) */
} term;

enum form { FORM_SUM, FORM_EXP10, FORM_TABLE };

typedef struct function {
	int present, n;
	enum form form;
	double x_factor, y_factor, scale; /* x_SI = x * x_factor; y_SI = f * scale * y_factor */
	double arg0, arg1;		  /* the terms or points are taken at arg0 + arg1 x */
	term terms[MAX_TERMS];
	double px[MAX_POINTS], py[MAX_POINTS];
} function;

typedef struct entry {
	char section[64], name[64], value[4096];
} entry;

struct vb_params {
	char path[1024];
	int type; /* ASSB or LIB */
	double value[N_SCALARS];
	int present[N_SCALARS];
	function fn[N_FUNCTIONS];
	char *text; /* the source text plus overrides, as stored in cell files */
	entry *entries;
	int n_entries;
};

/* inih calls this once per line; a function's terms or points may run over
 * several lines (libinih's lines are at most 200 characters): those lines
 * are joined with the separator of the list. Other keys: the last one wins. */
static int collect(void *user, const char *section, const char *name, const char *value)
{
	vb_params *p = user;
	int list = strcmp(name, "terms") == 0 || strcmp(name, "points") == 0;
	if (list && p->n_entries > 0) {
		entry *last = &p->entries[p->n_entries - 1];
		if (strcmp(last->section, section) == 0 && strcmp(last->name, name) == 0) {
			size_t used = strlen(last->value);
			snprintf(last->value + used, sizeof last->value - used, "%s%s",
				 strcmp(name, "terms") == 0 ? ";" : ",", value);
			return strlen(last->value) + 1 < sizeof last->value;
		}
	}
	if (p->n_entries == MAX_ENTRIES)
		return 0;
	entry *en = &p->entries[p->n_entries++];
	snprintf(en->section, sizeof en->section, "%s", section);
	snprintf(en->name, sizeof en->name, "%s", name);
	snprintf(en->value, sizeof en->value, "%s", value);
	return 1;
}

/* The last value of section.name, or NULL (a later line overrides). */
static const entry *find(const vb_params *p, const char *section, const char *name)
{
	for (int n = p->n_entries - 1; n >= 0; n--)
		if (strcmp(p->entries[n].section, section) == 0 &&
		    strcmp(p->entries[n].name, name) == 0)
			return &p->entries[n];
	return NULL;
}

static void split_key(const char *key, char *section, size_t ss, char *name, size_t ns)
{
	const char *dot = strrchr(key, '.');
	size_t n = dot ? (size_t)(dot - key) : 0;
	snprintf(section, ss, "%.*s", (int)(n < ss ? n : ss - 1), key);
	snprintf(name, ns, "%s", dot ? dot + 1 : key);
}

static int parse_scalar(const vb_params *p, size_t k, const char *text, double *out, vb_err *e)
{
	const key_spec *ks = &scalar_keys[k];
	char what[1200];
	snprintf(what, sizeof what, "%s: %s", p->path, ks->name);
	if (vb_units_parse(text, ks->kind, what, out, e) != VB_OK)
		return VB_ERR_INPUT;
	if (ks->open_min ? *out > ks->min && *out <= ks->max : *out >= ks->min && *out <= ks->max)
		return VB_OK;
	char range[96];
	if (ks->open_min)
		snprintf(range, sizeof range, "> %g and <= %g", ks->min, ks->max);
	else
		snprintf(range, sizeof range, "%g to %g", ks->min, ks->max);
	if (strcmp(ks->unit_si, "1") == 0) /* a plain number: no unit to convert */
		return vb_err_set(e, VB_ERR_INPUT, "%s = %s, expected %s", what, text, range);
	return vb_err_set(e, VB_ERR_INPUT, "%s = %s is %g %s in SI, expected %s", what, text, *out,
			  ks->unit_si, range);
}

/* u^b, by multiplication and sqrt for the exponents of the shipped
 * polynomials (0 to 3 in halves; pow costs an exp and a log). */
static double power(double u, double b)
{
	if (b == 0)
		return 1;
	if (b == 1)
		return u;
	if (b == 2)
		return u * u;
	if (b == 3)
		return u * u * u;
	if (b == 0.5)
		return sqrt(u);
	if (b == 1.5)
		return u * sqrt(u);
	return pow(u, b);
}

/* The function at x (in its file units) and its derivative d/dx (deriv
 * NULL: not wanted): sum
 * S(u) of the terms, or 10^S(u) (exp10), or the table, at u = arg0 + arg1 x. */
static double fn_raw(const function *f, double x, double *deriv)
{
	const double u = f->arg0 + f->arg1 * x;
	double y = 0, d = 0;
	if (f->form == FORM_TABLE) {
		if (u <= f->px[0] || f->n == 1) {
			y = f->py[0];
		} else if (u >= f->px[f->n - 1]) {
			y = f->py[f->n - 1];
		} else {
			int lo = 0, hi = f->n - 1;
			while (hi - lo > 1) {
				int mid = (lo + hi) / 2;
				if (f->px[mid] <= u)
					lo = mid;
				else
					hi = mid;
			}
			d = (f->py[hi] - f->py[lo]) / (f->px[hi] - f->px[lo]);
			y = f->py[lo] + d * (u - f->px[lo]);
		}
	} else {
		for (int t = 0; t < f->n; t++) {
			const term *tm = &f->terms[t];
			if (tm->kind == TERM_TANH) {
				double th = tanh(tm->b * (u - tm->c));
				y += tm->a * th;
				d += tm->a * tm->b * (1 - th * th);
			} else if (tm->kind == TERM_GAUSS) {
				double g = tm->a * exp(-(u - tm->b) * (u - tm->b) / tm->c);
				y += g;
				d += -2 * (u - tm->b) / tm->c * g;
			} else if (tm->b != 0) {
				y += tm->a * power(u, tm->b);
				if (deriv != NULL)
					d += tm->a * tm->b * power(u, tm->b - 1);
			} else {
				y += tm->a;
			}
		}
		if (f->form == FORM_EXP10) {
			y = pow(10.0, y);
			d *= M_LN10 * y;
		}
	}
	if (deriv != NULL)
		*deriv = d * f->arg1;
	return y;
}

static int parse_function(vb_params *p, size_t k, vb_err *e)
{
	const fn_spec *fs = &function_keys[k];
	function *f = &p->fn[k];
	memset(f, 0, sizeof *f);
	const entry *form = find(p, fs->name, "form");
	if (form == NULL)
		return VB_OK;
	f->present = 1;
	const entry *xu = find(p, fs->name, "x_unit"), *yu = find(p, fs->name, "unit");
	const entry *sc = find(p, fs->name, "scale"), *arg = find(p, fs->name, "argument");
	f->x_factor = 1, f->y_factor = 1, f->scale = 1, f->arg0 = 0, f->arg1 = 1;
	if (strcmp(form->value, "constant") == 0) {
		f->present = 0; /* the scalar of the same name stands (an override) */
		return VB_OK;
	}
	if (fs->x_kind != VB_UNIT_NONE &&
	    (xu == NULL || (f->x_factor = vb_units_factor(xu->value, fs->x_kind)) <= 0))
		return vb_err_set(e, VB_ERR_INPUT,
				  "%s: [%s] x_unit = %s: expected a concentration "
				  "unit (mol/m3, mol/cm3, mol/L, M)",
				  p->path, fs->name, xu ? xu->value : "(missing)");
	if (fs->y_kind != VB_UNIT_NONE &&
	    (yu == NULL || (f->y_factor = vb_units_factor(yu->value, fs->y_kind)) <= 0))
		return vb_err_set(e, VB_ERR_INPUT, "%s: [%s] unit = %s: wrong or missing unit",
				  p->path, fs->name, yu ? yu->value : "(missing)");
	if (sc != NULL && vb_units_parse_number(sc->value, fs->name, &f->scale, e) != VB_OK)
		return VB_ERR_INPUT;
	if (!isfinite(f->scale) || f->scale == 0)
		return vb_err_set(e, VB_ERR_INPUT,
				  "%s: [%s] scale = %s: expected a finite number, not 0", p->path,
				  fs->name, sc ? sc->value : "");
	if (arg != NULL) {
		char extra;
		if (sscanf(arg->value, " %lf %lf %c", &f->arg0, &f->arg1, &extra) != 2 ||
		    !isfinite(f->arg0) || !isfinite(f->arg1) || f->arg1 == 0)
			return vb_err_set(e, VB_ERR_INPUT,
					  "%s: [%s] argument = %s: expected two numbers A B "
					  "(the function is taken at A + B x, B != 0)",
					  p->path, fs->name, arg->value);
	}
	char *copy = NULL, *save = NULL;
	if (strcmp(form->value, "sum") == 0 || strcmp(form->value, "exp10") == 0) {
		f->form = strcmp(form->value, "sum") == 0 ? FORM_SUM : FORM_EXP10;
		const entry *terms = find(p, fs->name, "terms");
		if (terms == NULL)
			return vb_err_set(e, VB_ERR_INPUT, "%s: [%s] form = %s needs terms",
					  p->path, fs->name, form->value);
		if ((copy = strdup(terms->value)) == NULL)
			return vb_err_set(e, VB_ERR_RUN, "out of memory");
		for (char *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
			char kind[16];
			term tm = {TERM_POW, 0, 0, 0};
			int got = sscanf(t, " %15s %lf %lf %lf", kind, &tm.a, &tm.b, &tm.c);
			tm.kind = strcmp(kind, "tanh") == 0    ? TERM_TANH
				  : strcmp(kind, "gauss") == 0 ? TERM_GAUSS
							       : TERM_POW;
			int ok = (tm.kind != TERM_POW && got == 4) ||
				 (strcmp(kind, "pow") == 0 && got == 3);
			if (ok && tm.kind == TERM_GAUSS && !(tm.c > 0))
				ok = 0;
			if (ok && !(isfinite(tm.a) && isfinite(tm.b) && isfinite(tm.c)))
				ok = 0;
			if (!ok || f->n == MAX_TERMS) {
				/* the message first: t points into copy */
				vb_err_set(e, VB_ERR_INPUT,
					   "%s: [%s] term '%s': expected 'pow A P', "
					   "'tanh A B C' or 'gauss A B C' (finite "
					   "numbers, C > 0)",
					   p->path, fs->name, t);
				free(copy);
				return VB_ERR_INPUT;
			}
			f->terms[f->n++] = tm;
		}
	} else if (strcmp(form->value, "table") == 0) {
		const entry *pts = find(p, fs->name, "points");
		if (pts == NULL)
			return vb_err_set(e, VB_ERR_INPUT, "%s: [%s] form = table needs points",
					  p->path, fs->name);
		f->form = FORM_TABLE;
		if ((copy = strdup(pts->value)) == NULL)
			return vb_err_set(e, VB_ERR_RUN, "out of memory");
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			double x, y;
			if (sscanf(t, " %lf : %lf", &x, &y) != 2 || !isfinite(x) || !isfinite(y) ||
			    f->n == MAX_POINTS || (f->n > 0 && !(x > f->px[f->n - 1]))) {
				vb_err_set(e, VB_ERR_INPUT,
					   "%s: [%s] point '%s': expected X:Y "
					   "(finite numbers) with X increasing",
					   p->path, fs->name, t);
				free(copy);
				return VB_ERR_INPUT;
			}
			f->px[f->n] = x, f->py[f->n] = y, f->n++;
		}
	} else {
		return vb_err_set(e, VB_ERR_INPUT,
				  "%s: [%s] form = %s: expected sum, exp10, table or constant",
				  p->path, fs->name, form->value);
	}
	free(copy);
	if (f->n == 0)
		return vb_err_set(e, VB_ERR_INPUT, "%s: [%s] has no terms or points", p->path,
				  fs->name);
	return VB_OK;
}

static const function *lookup_fn(const vb_params *p, const char *name);

static int validate(vb_params *p, vb_err *e)
{
	const entry *type = find(p, "cell", "type");
	if (type == NULL)
		return vb_err_set(e, VB_ERR_INPUT, "%s: missing cell.type (assb or lib)", p->path);
	if (strcmp(type->value, "assb") == 0)
		p->type = ASSB;
	else if (strcmp(type->value, "lib") == 0)
		p->type = LIB;
	else
		return vb_err_set(e, VB_ERR_INPUT, "%s: cell.type = %s, expected assb or lib",
				  p->path, type->value);
	/* every entry must be a known key, or belong to a known function section */
	for (int n = 0; n < p->n_entries; n++) {
		const entry *en = &p->entries[n];
		char key[160];
		snprintf(key, sizeof key, "%s.%s", en->section, en->name);
		int known = strcmp(key, "cell.type") == 0;
		for (size_t k = 0; k < N_SCALARS && !known; k++)
			known = strcmp(key, scalar_keys[k].name) == 0;
		for (size_t k = 0; k < N_FUNCTIONS && !known; k++)
			known = strcmp(en->section, function_keys[k].name) == 0;
		if (!known)
			return vb_err_set(e, VB_ERR_INPUT, "%s: unknown key %s", p->path, key);
	}
	for (size_t k = 0; k < N_FUNCTIONS; k++) {
		if (parse_function(p, k, e) != VB_OK)
			return VB_ERR_INPUT;
		char section[64], name[64];
		split_key(function_keys[k].name, section, sizeof section, name, sizeof name);
		if (!p->fn[k].present && (function_keys[k].required & p->type) &&
		    find(p, section, name) == NULL)
			return vb_err_set(e, VB_ERR_INPUT,
					  "%s: missing function [%s] (or a constant %s)", p->path,
					  function_keys[k].name, function_keys[k].name);
	}
	for (size_t k = 0; k < N_SCALARS; k++) {
		char section[64], name[64];
		split_key(scalar_keys[k].name, section, sizeof section, name, sizeof name);
		const entry *en = find(p, section, name);
		const function *fn = lookup_fn(p, scalar_keys[k].name);
		p->present[k] = en != NULL;
		if (en != NULL && fn != NULL)
			return vb_err_set(e, VB_ERR_INPUT,
					  "%s: %s is given both as a value and as a function "
					  "[%s]; keep one",
					  p->path, scalar_keys[k].name, scalar_keys[k].name);
		if (en == NULL && fn == NULL && (scalar_keys[k].required & p->type))
			return vb_err_set(e, VB_ERR_INPUT, "%s: missing parameter %s", p->path,
					  scalar_keys[k].name);
		if (en != NULL && parse_scalar(p, k, en->value, &p->value[k], e) != VB_OK)
			return VB_ERR_INPUT;
	}
	double cmax = vb_params_get(p, "cam.c_max"), c0 = vb_params_get(p, "cam.c_init");
	if (!(c0 < cmax))
		return vb_err_set(e, VB_ERR_INPUT,
				  "%s: cam.c_init %g mol/m3 is not below cam.c_max "
				  "%g mol/m3",
				  p->path, c0, cmax);
	/* sanity of the functions at the initial state, and of the CAM transport
	 * laws over every lithiation they can meet */
	for (size_t k = 0; k < N_FUNCTIONS; k++) {
		if (!p->fn[k].present)
			continue;
		const fn_spec *fs = &function_keys[k];
		double x0 = fs->x_kind == VB_UNIT_NONE ? c0 / cmax
						       : vb_params_get(p, "electrolyte.c_init");
		double y = vb_params_eval(p, fs->name, x0);
		if (!(fs->open_min ? y > fs->min && y <= fs->max : y >= fs->min && y <= fs->max))
			return vb_err_set(e, VB_ERR_INPUT,
					  "%s: [%s] is %g (SI) at the initial state, "
					  "expected %s%g %s %g",
					  p->path, fs->name, y, fs->open_min ? "> " : "", fs->min,
					  fs->open_min ? "and <=" : "to", fs->max);
		for (int i = 0; i <= 100 && fs->positive_on_01; i++) {
			y = vb_params_eval(p, fs->name, i / 100.0);
			if (!(y > 0 && y <= fs->max))
				return vb_err_set(
					e, VB_ERR_INPUT,
					"%s: [%s] is %g (SI) at stoichiometry %.2f, "
					"expected > 0 and <= %g for every stoichiometry in "
					"[0, 1]",
					p->path, fs->name, y, i / 100.0, fs->max);
		}
	}
	return VB_OK;
}

/* VB_ERR_INPUT if a key appears twice in one section of the part of text a
 * file gave (the second silently won); the overrides appended after a
 * "; override" line replace values on purpose. Lines as libinih reads them:
 * "[section]", "key = value" or "key: value" from the first column, a line
 * that starts with blanks continues the value before, ';' and '#' comment. */
static int check_duplicates(const char *text, const char *what, vb_err *e)
{
	const char *stop = strstr(text, "\n; override\n");
	if (stop == NULL)
		stop = text + strlen(text);
	char(*keys)[128] = calloc(MAX_ENTRIES, sizeof *keys);
	if (keys == NULL)
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	char section[64] = "";
	int n = 0, rc = VB_OK, line = 0;
	for (const char *c = text; c < stop && rc == VB_OK; line++) {
		const char *end = memchr(c, '\n', (size_t)(stop - c));
		if (end == NULL)
			end = stop;
		if (*c == '[') {
			const char *close = memchr(c, ']', (size_t)(end - c));
			if (close != NULL)
				snprintf(section, sizeof section, "%.*s", (int)(close - c - 1),
					 c + 1);
		} else if (*c != ';' && *c != '#' && *c != ' ' && *c != '\t' && *c != '\r' &&
			   c < end) {
			size_t k = strcspn(c, "=:\n");
			while (k > 0 && (c[k - 1] == ' ' || c[k - 1] == '\t'))
				k--;
			char key[128];
			snprintf(key, sizeof key, "%s.%.*s", section, (int)k, c);
			for (int m = 0; m < n && rc == VB_OK; m++)
				if (strcmp(keys[m], key) == 0)
					rc = vb_err_set(e, VB_ERR_INPUT,
							"%s:%d: %s is given twice; which one is "
							"meant? (one line per key)",
							what, line + 1, key);
			if (n < MAX_ENTRIES)
				snprintf(keys[n++], sizeof keys[0], "%s", key);
		}
		c = end + 1;
	}
	free(keys);
	return rc;
}

static vb_params *parse_text(const char *text, const char *what, vb_err *e)
{
	vb_params *p = calloc(1, sizeof *p);
	if (p == NULL || (p->entries = calloc(MAX_ENTRIES, sizeof *p->entries)) == NULL ||
	    (p->text = strdup(text)) == NULL) {
		vb_params_free(&p);
		vb_err_set(e, VB_ERR_RUN, "out of memory");
		return NULL;
	}
	snprintf(p->path, sizeof p->path, "%s", what);
	/* libinih reads a line in pieces of INI_MAX_LINE - 1 characters, each
	 * parsed as a line of its own: a longer line (a long comment, say) would
	 * leave its tail read as a key */
	int line = 1;
	for (const char *c = text, *start = text;; c++) {
		if (*c == '\n' || *c == '\0') {
			size_t len = (size_t)(c - start);
			if (len > 0 && start[len - 1] == '\r')
				len--;
			if (len > INI_MAX_LINE - 1) {
				vb_err_set(e, VB_ERR_INPUT,
					   "%s:%d: line of %zu characters; the parameter reader "
					   "takes at most %d (split the comment or value)",
					   what, line, len, INI_MAX_LINE - 1);
				vb_params_free(&p);
				return NULL;
			}
			if (*c == '\0')
				break;
			start = c + 1, line++;
		}
	}
	if (check_duplicates(text, what, e) != VB_OK) {
		vb_params_free(&p);
		return NULL;
	}
	int rc = ini_parse_string(text, collect, p);
	if (rc != 0) {
		vb_err_set(e, VB_ERR_INPUT,
			   "%s:%d: syntax error (expected [section] or key = value)", what, rc);
		vb_params_free(&p);
		return NULL;
	}
	if (p->n_entries == MAX_ENTRIES || validate(p, e) != VB_OK) {
		if (p->n_entries == MAX_ENTRIES)
			vb_err_set(e, VB_ERR_INPUT, "%s: more than %d entries", what, MAX_ENTRIES);
		vb_params_free(&p);
		return NULL;
	}
	return p;
}

vb_params *vb_params_load(const char *path, vb_err *e)
{
	const int from_stdin = strcmp(path, "-") == 0;
	FILE *f = from_stdin ? stdin : fopen(path, "rb");
	if (f == NULL) {
		vb_err_set(e, VB_ERR_INPUT, "%s: cannot open parameter file", path);
		return NULL;
	}
	/* read whole or refused: a set is a few kB, and a longer file was cut at
	 * 1 MiB without a word (its keys past that lost) */
	enum { LIMIT = 1 << 20 };
	char *text = malloc(LIMIT + 1);
	size_t n = text ? fread(text, 1, LIMIT + 1, f) : 0;
	const int failed = ferror(f);
	if (!from_stdin)
		fclose(f);
	if (text == NULL) {
		vb_err_set(e, VB_ERR_RUN, "out of memory");
		return NULL;
	}
	if (failed || n > LIMIT || memchr(text, '\0', n) != NULL) {
		vb_err_set(e, VB_ERR_INPUT, "%s: %s", path,
			   failed      ? "cannot read it (a directory?)"
			   : n > LIMIT ? "larger than 1 MiB, not a parameter set"
				       : "holds NUL bytes, not a text file");
		free(text);
		return NULL;
	}
	text[n] = '\0';
	vb_params *p = parse_text(text, path, e);
	free(text);
	return p;
}

#ifndef VB_PARAMS_DIR
#define VB_PARAMS_DIR "params"
#endif
#ifndef VB_PARAMS_INSTALL_DIR
#define VB_PARAMS_INSTALL_DIR "/usr/local/share/voxbat/params"
#endif

vb_params *vb_params_load_default(const char *cell_type, vb_err *e)
{
	const char *dir = getenv("VOXBAT_PARAMS");
	const char *file = NULL;
	if (cell_type == NULL)
		cell_type = "(none)";
	if (strcmp(cell_type, "assb") == 0)
		file = "assb-nmc811-lpscl.ini";
	else if (strcmp(cell_type, "lib") == 0)
		file = "lib-nmc811-lipf6.ini";
	if (file == NULL) {
		vb_err_set(e, VB_ERR_INPUT, "cell type '%s': expected assb or lib", cell_type);
		return NULL;
	}
	/* $VOXBAT_PARAMS, else the source tree's params/, else the installed copy */
	char path[2048];
	snprintf(path, sizeof path, "%s/%s", dir && dir[0] ? dir : VB_PARAMS_DIR, file);
	if ((dir == NULL || dir[0] == '\0') && access(path, R_OK) != 0)
		snprintf(path, sizeof path, "%s/%s", VB_PARAMS_INSTALL_DIR, file);
	return vb_params_load(path, e);
}

void vb_params_free(vb_params **p)
{
	if (p == NULL || *p == NULL)
		return;
	free((*p)->entries);
	free((*p)->text);
	free(*p);
	*p = NULL;
}

const char *vb_params_cell_type(const vb_params *p)
{
	return p->type == ASSB ? "assb" : "lib";
}

const char *vb_params_text(const vb_params *p)
{
	return p->text;
}

int vb_params_set(vb_params *p, const char *name, const char *value, vb_err *e)
{
	for (size_t k = 0; k < N_SCALARS; k++) {
		if (strcmp(scalar_keys[k].name, name) != 0)
			continue;
		/* a bare number takes the SI unit */
		double v, num;
		char buf[1100];
		const char *text = value;
		if (vb_units_parse_number(value, name, &num, NULL) == VB_OK &&
		    scalar_keys[k].kind != VB_UNIT_NONE) {
			snprintf(buf, sizeof buf, "%s %s", value, scalar_keys[k].unit_si);
			text = buf;
		}
		if (parse_scalar(p, k, text, &v, e) != VB_OK)
			return VB_ERR_INPUT;
		char section[64], key[64];
		split_key(name, section, sizeof section, key, sizeof key);
		/* a constant replaces a function of the same name: the text says so
		 * too (form = constant), so that the stored set reads back the same */
		function *fn = NULL;
		for (size_t f = 0; f < N_FUNCTIONS; f++)
			if (strcmp(function_keys[f].name, name) == 0 && p->fn[f].present)
				fn = &p->fn[f];
		/* the set's cross-checks (c_init below c_max, laws positive on
		 * their range, ...) hold for the set with the override as for a
		 * file: the text as it would be stored, parsed afresh, before p
		 * changes */
		size_t len = strlen(p->text) + 2 * strlen(name) + strlen(text) + 96;
		char *grown = malloc(len);
		if (grown == NULL)
			return vb_err_set(e, VB_ERR_RUN, "out of memory");
		snprintf(grown, len, "%s\n; override\n[%s]\n%s = %s\n", p->text, section, key,
			 text);
		if (fn != NULL)
			snprintf(grown + strlen(grown), len - strlen(grown),
				 "[%s]\nform = constant\n", name);
		vb_params *check = parse_text(grown, p->path, e);
		if (check == NULL) {
			free(grown);
			return VB_ERR_INPUT;
		}
		vb_params_free(&check);
		free(p->text);
		p->text = grown;
		p->value[k] = v;
		p->present[k] = 1;
		if (fn != NULL)
			fn->present = 0;
		return VB_OK;
	}
	return vb_err_set(e, VB_ERR_INPUT,
			  "--set %s: unknown parameter (docs/PARAMETERS.md lists them)", name);
}

double vb_params_get(const vb_params *p, const char *name)
{
	for (size_t k = 0; k < N_SCALARS; k++)
		if (strcmp(scalar_keys[k].name, name) == 0 && p->present[k])
			return p->value[k];
	/* a function key (other than the OCP): its value at the initial state,
	 * c_s,0 / c_s,max for the CAM laws, c_e,0 for the electrolyte */
	for (size_t k = 0; k < N_FUNCTIONS; k++) {
		if (strcmp(function_keys[k].name, name) != 0 || !p->fn[k].present ||
		    strcmp(name, "cam.ocp") == 0)
			continue;
		const double x0 =
			function_keys[k].x_kind == VB_UNIT_NONE
				? vb_params_get(p, "cam.c_init") / vb_params_get(p, "cam.c_max")
				: vb_params_get(p, "electrolyte.c_init");
		return vb_params_eval(p, name, x0);
	}
	return NAN;
}

static const function *lookup_fn(const vb_params *p, const char *name)
{
	for (size_t k = 0; k < N_FUNCTIONS; k++)
		if (strcmp(function_keys[k].name, name) == 0 && p->fn[k].present)
			return &p->fn[k];
	return NULL;
}

double vb_params_eval(const vb_params *p, const char *name, double x)
{
	const function *f = lookup_fn(p, name);
	if (f == NULL) {
		/* a scalar is a constant function */
		return vb_params_get(p, name);
	}
	return fn_raw(f, x / f->x_factor, NULL) * f->scale * f->y_factor;
}

double vb_params_eval_with_derivative(const vb_params *p, const char *name, double x,
				      double *deriv)
{
	const function *f = lookup_fn(p, name);
	if (f == NULL) {
		const double v = vb_params_get(p, name);
		*deriv = isnan(v) ? NAN : 0.0;
		return v;
	}
	double d;
	const double y = fn_raw(f, x / f->x_factor, &d) * f->scale * f->y_factor;
	*deriv = d * f->scale * f->y_factor / f->x_factor;
	return y;
}

double vb_params_eval_derivative(const vb_params *p, const char *name, double x)
{
	const function *f = lookup_fn(p, name);
	if (f == NULL)
		return isnan(vb_params_get(p, name)) ? NAN : 0.0;
	double d;
	fn_raw(f, x / f->x_factor, &d);
	return d * f->scale * f->y_factor / f->x_factor;
}

int vb_params_write_h5(const vb_params *p, hid_t loc, const char *name, vb_err *e)
{
	hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	if (g < 0)
		return vb_err_set(e, VB_ERR_RUN, "cannot create group %s", name);
	int rc = vb_h5_attr_write_string(g, "text", p->text, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_string(g, "cell_type", vb_params_cell_type(p), e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_string(g, "source", p->path, e);
	/* every scalar key, and a function standing in for one at its value at
	 * the initial state (the whole function is in the text) */
	for (size_t k = 0; k < N_SCALARS && rc == VB_OK; k++) {
		if (!p->present[k] && lookup_fn(p, scalar_keys[k].name) == NULL)
			continue;
		char unit[128];
		snprintf(unit, sizeof unit, "%s.units", scalar_keys[k].name);
		rc = vb_h5_attr_write_double(g, scalar_keys[k].name,
					     vb_params_get(p, scalar_keys[k].name), e);
		if (rc == VB_OK)
			rc = vb_h5_attr_write_string(g, unit, scalar_keys[k].unit_si, e);
	}
	H5Gclose(g);
	return rc;
}

vb_params *vb_params_read_h5(hid_t loc, const char *name, const char *what, vb_err *e)
{
	if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) {
		vb_err_set(e, VB_ERR_INPUT, "%s: no parameter set /%s (not an assembled cell?)",
			   what, name);
		return NULL;
	}
	hid_t g = H5Gopen2(loc, name, H5P_DEFAULT);
	char *text = NULL;
	char label[1200];
	snprintf(label, sizeof label, "%s:/%s", what, name);
	int rc = g >= 0 ? vb_h5_attr_read_string(g, "text", label, &text, e)
			: vb_err_set(e, VB_ERR_INPUT, "%s: not a group (a parameter set is one)",
				     label);
	if (g >= 0)
		H5Gclose(g);
	if (rc != VB_OK) {
		free(text);
		return NULL;
	}
	vb_params *p = parse_text(text, label, e);
	free(text);
	return p;
}
