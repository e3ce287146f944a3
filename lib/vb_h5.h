/* vb_h5: the HDF5 files voxbat programs exchange (docs/FORMAT.md): opening
 * and validating untrusted inputs, the /labels image, typed attributes, and
 * the provenance chain (/provenance records and the root `history`).
 * HDF5's own error printing is switched off; failures come back as one line. */
#ifndef VB_H5_H
#define VB_H5_H

#include <hdf5.h>
#include <stdint.h>

#include "vb_err.h"
#include "vb_voxel.h"

/* Value of the root attribute voxbat_format in files this version writes. */
#define VB_H5_FORMAT "voxbat/1"

/* Opens an existing voxbat file read-only; "-" reads standard input into
 * memory. VB_ERR_INPUT for a missing file, a non-HDF5 file, or an HDF5 file
 * without the voxbat_format attribute. Returns the file id (>= 0) or -1.
 * The caller closes it with vb_h5_close. */
hid_t vb_h5_open(const char *path, vb_err *e);

/* Creates (truncates) path as a new voxbat file whose root attribute
 * `content` is content ("structure", "cell", "run"). Returns the id or -1. */
hid_t vb_h5_create(const char *path, const char *content, vb_err *e);

/* Fills a newly created file; returns VB_OK or a VB_ERR_* with e set. */
typedef int (*vb_h5_writer)(hid_t file, const void *ctx, vb_err *e);

/* Writes the voxbat file path atomically: creates path.tmp.XXXXXX (see
 * vb_outfile.h) with the root attributes of vb_h5_create, lets write fill
 * it, closes it and renames it into place. On any failure, or a signal, no
 * file is left at path or beside it. "-" writes to standard output. */
int vb_h5_write_atomic(const char *path, const char *content, vb_h5_writer write, const void *ctx,
		       vb_err *e);

/* Closes a file opened by vb_h5_open/vb_h5_create; file < 0 is a no-op.
 * VB_ERR_RUN if HDF5 reports a failure flushing it. */
int vb_h5_close(hid_t file, vb_err *e);

/* Reads /labels and its voxel_size (m) into a new image (caller frees with
 * vb_voxel_free). Checks type (uint8), rank 3, sizes, voxel_size > 0 and that
 * every label is a phase id. path is used in messages only. */
int vb_h5_read_image(hid_t file, const char *path, vb_image **img, vb_err *e);

/* Writes /labels (uint8, chunked, deflate) with attributes voxel_size (m),
 * units and legend. */
int vb_h5_write_image(hid_t file, const vb_image *img, vb_err *e);

/* Starts this step's provenance in out: copies each input's /provenance
 * (one input: its records in order; several: each under input_K of the new
 * record), writes the record /provenance/step_NNN with attributes program,
 * version, operation, command_line, time and input file names, and sets the
 * root `history` to the inputs' history plus one line for this step.
 * Returns the record's group id (>= 0; the caller adds the step's parameters
 * as attributes and closes it with H5Gclose) or -1. */
hid_t vb_h5_provenance_begin(hid_t out, const char *program, const char *operation,
			     const char *command_line, const hid_t *inputs,
			     const char *const *input_names, int n_inputs, vb_err *e);

/* VB_ERR_INPUT if the /provenance of input (name in messages) cannot be
 * carried into an output by vb_h5_provenance_begin: tried on a file in
 * memory, so that a damaged record fails before any work. */
int vb_h5_provenance_check(hid_t input, const char *name, vb_err *e);

/* Attribute writers on any object loc; name must not exist yet. */
int vb_h5_attr_write_double(hid_t loc, const char *name, double value, vb_err *e);
int vb_h5_attr_write_doubles(hid_t loc, const char *name, const double *values, int n, vb_err *e);
int vb_h5_attr_write_int64(hid_t loc, const char *name, int64_t value, vb_err *e);
int vb_h5_attr_write_int64s(hid_t loc, const char *name, const int64_t *values, int n, vb_err *e);
/* Strings are written variable-length UTF-8 (h5py reads them as str). */
int vb_h5_attr_write_string(hid_t loc, const char *name, const char *value, vb_err *e);

/* Reads an attribute of exactly n whole numbers: int64 (or any integer
 * type), or float64 holding whole values as older files have them.
 * VB_ERR_INPUT if missing, of another size, or not whole. */
int vb_h5_attr_read_int64s(hid_t loc, const char *name, const char *what, int64_t *values, int n,
			   vb_err *e);

/* Reads a scalar numeric attribute as double; VB_ERR_INPUT if missing or not
 * a number. what names the object in messages ("cell.h5:/labels"). */
int vb_h5_attr_read_double(hid_t loc, const char *name, const char *what, double *value, vb_err *e);

/* Reads a string attribute (fixed or variable length) into a malloc'd string
 * the caller frees; VB_ERR_INPUT if missing or not a string. */
int vb_h5_attr_read_string(hid_t loc, const char *name, const char *what, char **value, vb_err *e);

/* The columns of a run file's /timeseries group in file order, with the
 * units solve writes and metrics expects (docs/FORMAT.md). */
typedef struct vb_h5_column {
	const char *name, *units;
} vb_h5_column;
#define VB_H5_SERIES_COLUMNS 5
extern const vb_h5_column vb_h5_series[VB_H5_SERIES_COLUMNS];
/* Number of values of the dataset name under loc (any rank); VB_ERR_INPUT
 * if it does not exist or is not a numeric dataset. what names loc. */
int vb_h5_dataset_count(hid_t loc, const char *name, const char *what, int64_t *n, vb_err *e);
/* Reads the numeric dataset name under loc, which must hold exactly n values
 * (any rank, in storage order), as doubles into out. VB_ERR_INPUT otherwise. */
int vb_h5_read_doubles(hid_t loc, const char *name, const char *what, double *out, int64_t n,
		       vb_err *e);
#endif
