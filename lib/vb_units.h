/* vb_units: physical quantities with unit suffixes at the edges of the
 * toolkit (command line, parameter files), converted to SI inside.
 * "16um" -> 1.6e-05 m, "106x60x60um" -> three lengths, "8mA/cm2" -> 80 A/m^2.
 * Exponents take an optional caret everywhere: "cm^2/s" = "cm2/s". */
#ifndef VB_UNITS_H
#define VB_UNITS_H

#include <stdint.h>

#include "vb_err.h"

typedef enum vb_unit_kind {
	VB_UNIT_LENGTH,		 /* m, cm, mm, um (µm), nm            -> m      */
	VB_UNIT_CURRENT_DENSITY, /* A/m2, mA/cm2, A/cm2, uA/cm2       -> A/m^2  */
	VB_UNIT_VOLTAGE,	 /* V, mV                             -> V      */
	VB_UNIT_TIME,		 /* s, min, h                         -> s      */
	VB_UNIT_CONCENTRATION,	 /* mol/m3, mol/cm3, mol/L, M         -> mol/m^3 */
	VB_UNIT_CONDUCTIVITY,	 /* S/m, S/cm, mS/cm                  -> S/m    */
	VB_UNIT_DIFFUSIVITY,	 /* m2/s, cm2/s                       -> m^2/s  */
	VB_UNIT_DENSITY,	 /* kg/m3, g/cm3                      -> kg/m^3 */
	VB_UNIT_EXCHANGE_FACTOR, /* A*m2.5/mol1.5, A*cm2.5/mol1.5     -> SI (i0 = k c_e^a c_s^a
				    (c_max - c_s)^(1-a), a = 0.5) */
	VB_UNIT_TEMPERATURE,	 /* K                                 -> K      */
	VB_UNIT_NONE,		 /* dimensionless: no unit, or "1"    -> 1      */
} vb_unit_kind;

/* Parses "NUMBER[ ]UNIT" (e.g. "0.5um") into SI. The unit is required (except
 * for VB_UNIT_NONE, which takes a bare number); a bare number or a unit of
 * another kind is VB_ERR_INPUT. what names the option in
 * the message ("--voxel"). */
int vb_units_parse(const char *text, vb_unit_kind kind, const char *what, double *value_si,
		   vb_err *e);

/* Parses "AxBxC[ ]UNIT" (one unit for all three, e.g. "106x60x60um") into SI. */
int vb_units_parse_triple(const char *text, vb_unit_kind kind, const char *what, double value_si[3],
			  vb_err *e);

/* Parses "AxBxC" of positive whole counts (e.g. "100x80x80") into n[3]. */
int vb_units_parse_counts(const char *text, const char *what, int64_t n[3], vb_err *e);

/* 1 if unit names a and b are the same spelling up to carets ("A/m^2" and
 * "A/m2"), else 0. Files write the caret form (docs/FORMAT.md); every
 * parser here accepts both. */
int vb_units_same(const char *a, const char *b);

/* SI factor of unit for kind (e.g. "mS/cm" -> 0.1); -1 if unknown. */
double vb_units_factor(const char *unit, vb_unit_kind kind);

/* Parses a plain finite number (no unit) into *value. */
int vb_units_parse_number(const char *text, const char *what, double *value, vb_err *e);

/* Converts a length in m to a whole number of voxels of size voxel_size (m);
 * VB_ERR_INPUT unless length / voxel_size is within 1e-6 of a positive integer. */
int vb_units_whole_voxels(double length, double voxel_size, const char *what, int64_t *count,
			  vb_err *e);

#endif
