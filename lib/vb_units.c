/* vb_units: parsing of quantities with unit suffixes into SI values. */
#include "vb_units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct unit_entry {
	vb_unit_kind kind;
	const char *name;
	double to_si;
} unit_entry;

static const unit_entry unit_table[] = {
	{VB_UNIT_LENGTH, "m", 1.0},
	{VB_UNIT_LENGTH, "cm", 1e-2},
	{VB_UNIT_LENGTH, "mm", 1e-3},
	{VB_UNIT_LENGTH, "um", 1e-6},
	{VB_UNIT_LENGTH, "\xc2\xb5m", 1e-6}, /* µm in UTF-8 */
	{VB_UNIT_LENGTH, "nm", 1e-9},
	{VB_UNIT_CURRENT_DENSITY, "A/m2", 1.0},
	{VB_UNIT_CURRENT_DENSITY, "A/cm2", 1e4},
	{VB_UNIT_CURRENT_DENSITY, "mA/cm2", 10.0},
	{VB_UNIT_CURRENT_DENSITY, "uA/cm2", 1e-2},
	{VB_UNIT_VOLTAGE, "V", 1.0},
	{VB_UNIT_VOLTAGE, "mV", 1e-3},
	{VB_UNIT_TIME, "s", 1.0},
	{VB_UNIT_TIME, "min", 60.0},
	{VB_UNIT_TIME, "h", 3600.0},
	{VB_UNIT_CONCENTRATION, "mol/m3", 1.0},
	{VB_UNIT_CONCENTRATION, "mol/cm3", 1e6},
	{VB_UNIT_CONCENTRATION, "mol/L", 1e3},
	{VB_UNIT_CONCENTRATION, "M", 1e3},
	{VB_UNIT_CONDUCTIVITY, "S/m", 1.0},
	{VB_UNIT_CONDUCTIVITY, "S/cm", 100.0},
	{VB_UNIT_CONDUCTIVITY, "mS/cm", 0.1},
	{VB_UNIT_DIFFUSIVITY, "m2/s", 1.0},
	{VB_UNIT_DIFFUSIVITY, "cm2/s", 1e-4},
	{VB_UNIT_DENSITY, "kg/m3", 1.0},
	{VB_UNIT_DENSITY, "g/cm3", 1e3},
	{VB_UNIT_EXCHANGE_FACTOR, "A*m2.5/mol1.5", 1.0},
	{VB_UNIT_EXCHANGE_FACTOR, "A*cm2.5/mol1.5", 1e-5},
	{VB_UNIT_TEMPERATURE, "K", 1.0},
	{VB_UNIT_NONE, "1", 1.0},
};

/* Whether unit names a and b are the same unit: files write exponents with a
 * caret (m^2/s, A*m^2.5/mol^1.5), the command line also takes them without
 * (m2/s), so '^' is ignored when comparing. */
static int same_unit(const char *a, const char *b)
{
	for (;;) {
		while (*a == '^')
			a++;
		while (*b == '^')
			b++;
		if (*a != *b)
			return 0;
		if (*a == '\0')
			return 1;
		a++, b++;
	}
}

int vb_units_same(const char *a, const char *b)
{
	return same_unit(a, b);
}

static const char *kind_units(vb_unit_kind kind)
{
	switch (kind) {
	case VB_UNIT_LENGTH: return "m, cm, mm, um, nm";
	case VB_UNIT_CURRENT_DENSITY: return "A/m2, A/cm2, mA/cm2, uA/cm2";
	case VB_UNIT_VOLTAGE: return "V, mV";
	case VB_UNIT_TIME: return "s, min, h";
	case VB_UNIT_CONCENTRATION: return "mol/m3, mol/cm3, mol/L, M";
	case VB_UNIT_CONDUCTIVITY: return "S/m, S/cm, mS/cm";
	case VB_UNIT_DIFFUSIVITY: return "m2/s, cm2/s";
	case VB_UNIT_DENSITY: return "kg/m3, g/cm3";
	case VB_UNIT_EXCHANGE_FACTOR: return "A*m2.5/mol1.5, A*cm2.5/mol1.5";
	case VB_UNIT_TEMPERATURE: return "K";
	case VB_UNIT_NONE: return "no unit";
	}
	return "?";
}

/* Reads a finite number at *s, advancing *s past it and any blanks. */
static int read_number(const char **s, double *value)
{
	char *end;
	errno = 0;
	double v = strtod(*s, &end);
	if (end == *s || errno == ERANGE || !isfinite(v))
		return -1;
	while (*end == ' ')
		end++;
	*s = end;
	*value = v;
	return 0;
}

/* SI factor of the unit suffix of text (unit points into text). */
static int unit_factor(const char *unit, vb_unit_kind kind, const char *text, const char *what,
		       double *factor, vb_err *e)
{
	if (*unit == '\0' && kind == VB_UNIT_NONE) {
		*factor = 1.0;
		return VB_OK;
	}
	if (*unit == '\0')
		return vb_err_set(e, VB_ERR_INPUT, "%s: '%s' has no unit; expected one of %s", what,
				  text, kind_units(kind));
	for (size_t n = 0; n < sizeof unit_table / sizeof unit_table[0]; n++) {
		if (unit_table[n].kind == kind && same_unit(unit_table[n].name, unit)) {
			*factor = unit_table[n].to_si;
			return VB_OK;
		}
	}
	return vb_err_set(e, VB_ERR_INPUT,
			  "%s: unknown unit '%s' in '%s'; expected one of %s (a '^' before an "
			  "exponent is optional: m^2 = m2)",
			  what, unit, text, kind_units(kind));
}

int vb_units_parse(const char *text, vb_unit_kind kind, const char *what, double *value_si,
		   vb_err *e)
{
	const char *s = text;
	double v, factor;
	if (read_number(&s, &v) != 0)
		return vb_err_set(e, VB_ERR_INPUT,
				  "%s: '%s' is not a number with a unit (e.g. '1um')", what, text);
	if (unit_factor(s, kind, text, what, &factor, e) != VB_OK)
		return VB_ERR_INPUT;
	*value_si = v * factor;
	return VB_OK;
}

int vb_units_parse_triple(const char *text, vb_unit_kind kind, const char *what, double value_si[3],
			  vb_err *e)
{
	const char *s = text;
	double v[3], factor;
	for (int n = 0; n < 3; n++) {
		if (read_number(&s, &v[n]) != 0 || (n < 2 && *s != 'x'))
			return vb_err_set(e, VB_ERR_INPUT,
					  "%s: '%s' is not of the form AxBxC with a unit (e.g. "
					  "'106x60x60um')",
					  what, text);
		if (n < 2)
			s++;
	}
	if (unit_factor(s, kind, text, what, &factor, e) != VB_OK)
		return VB_ERR_INPUT;
	for (int n = 0; n < 3; n++)
		value_si[n] = v[n] * factor;
	return VB_OK;
}

int vb_units_parse_counts(const char *text, const char *what, int64_t n[3], vb_err *e)
{
	const char *s = text;
	for (int a = 0; a < 3; a++) {
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		int sep_ok = (a < 2) ? (*end == 'x') : (*end == '\0');
		if (end == s || errno == ERANGE || !sep_ok || !isdigit((unsigned char)*s))
			return vb_err_set(e, VB_ERR_INPUT,
					  "%s: '%s' is not of the form AxBxC of whole numbers "
					  "(e.g. '100x80x80')",
					  what, text);
		if (v <= 0)
			return vb_err_set(e, VB_ERR_INPUT,
					  "%s: '%s' has a count %lld, expected > 0", what, text, v);
		n[a] = (int64_t)v;
		s = end + (a < 2);
	}
	return VB_OK;
}

double vb_units_factor(const char *unit, vb_unit_kind kind)
{
	for (size_t n = 0; n < sizeof unit_table / sizeof unit_table[0]; n++)
		if (unit_table[n].kind == kind && same_unit(unit_table[n].name, unit))
			return unit_table[n].to_si;
	return -1;
}

int vb_units_parse_number(const char *text, const char *what, double *value, vb_err *e)
{
	const char *s = text;
	if (read_number(&s, value) != 0 || *s != '\0')
		return vb_err_set(e, VB_ERR_INPUT, "%s: '%s' is not a number", what, text);
	return VB_OK;
}

int vb_units_whole_voxels(double length, double voxel_size, const char *what, int64_t *count,
			  vb_err *e)
{
	if (!(voxel_size > 0))
		return vb_err_set(e, VB_ERR_INPUT, "voxel size is %g m, expected > 0", voxel_size);
	double q = length / voxel_size;
	double r = nearbyint(q);
	if (!(r >= 1) || fabs(q - r) > 1e-6 * r || r > 1e9)
		return vb_err_set(e, VB_ERR_INPUT,
				  "%s: %g um is not a whole number of %g um voxels (%.6g voxels)",
				  what, length * 1e6, voxel_size * 1e6, q);
	*count = (int64_t)r;
	return VB_OK;
}
