/* vb_params: material and cell parameter sets (PHYSICS.md §3): loading the
 * plain-text files under params/, validating units and ranges, overrides,
 * evaluating the functional forms, and storing a set inside a cell file.
 * All values are SI inside: mol/m^3, S/m, m^2/s, A/m^2, kg/m^3, V, m. */
#ifndef VB_PARAMS_H
#define VB_PARAMS_H

#include <hdf5.h>

#include "vb_err.h"

typedef struct vb_params vb_params; /* opaque */

/* Loads and validates a parameter file ("-": standard input), read whole
 * (at most 1 MiB). Every key PHYSICS.md §3 needs for the
 * file's cell type must be present with a unit of the right kind and a value
 * in its physical range; otherwise VB_ERR_INPUT naming file, key and value.
 * Caller frees with vb_params_free. */
vb_params *vb_params_load(const char *path, vb_err *e);

/* Loads the shipped default set for cell_type "assb" or "lib" (from
 * $VOXBAT_PARAMS if set, else the installed/source params/ directory). */
vb_params *vb_params_load_default(const char *cell_type, vb_err *e);

/* Frees *p and sets it to NULL; NULL is a no-op. */
void vb_params_free(vb_params **p);

/* "assb" or "lib". */
const char *vb_params_cell_type(const vb_params *p);

/* The set's canonical INI text, overrides appended (what the files store). */
const char *vb_params_text(const vb_params *p);

/* Overrides one scalar value, e.g. name "cam.diffusivity", value "1e-13 cm2/s"
 * (unit optional: without one the file's unit of that key is assumed).
 * VB_ERR_INPUT for an unknown key, a non-numeric value, a wrong unit or a
 * value out of range. */
int vb_params_set(vb_params *p, const char *name, const char *value, vb_err *e);

/* SI value of a scalar key such as "cam.c_max" (the key names are listed in
 * docs/PARAMETERS.md). Returns NAN for an unknown key. */
double vb_params_get(const vb_params *p, const char *name);

/* Evaluates a function key at x (SI), e.g. "cam.ocv" at the stoichiometry
 * c_s / c_s,max, or "electrolyte.conductivity" at c_e in mol/m^3. Returns
 * NAN for an unknown key. Thread-safe (no hidden state). */
double vb_params_eval(const vb_params *p, const char *name, double x);

/* Derivative d/dx of a function key at x (analytic for closed forms,
 * piecewise for tables). */
double vb_params_eval_derivative(const vb_params *p, const char *name, double x);

/* Both at once: returns the value and sets *deriv (one evaluation). */
double vb_params_eval_with_derivative(const vb_params *p, const char *name, double x,
				      double *deriv);

/* Stores the set (canonical text and each value with its units) in group
 * name under loc, e.g. "/parameters" of a cell file. */
int vb_params_write_h5(const vb_params *p, hid_t loc, const char *name, vb_err *e);

/* Reads a set stored by vb_params_write_h5; what names the file in messages. */
vb_params *vb_params_read_h5(hid_t loc, const char *name, const char *what, vb_err *e);

#endif
