/* vb_xdmf: the XDMF 3 companion of a voxbat file, which ParaView opens
 * directly: /labels (with the phase legend) as cell data on a 3DCoRectMesh,
 * and for a run a temporal collection of the field snapshots. */
#ifndef VB_XDMF_H
#define VB_XDMF_H

#include <stdint.h>

#include "vb_err.h"
#include "vb_voxel.h"

/* The field snapshots of a run: /fields/0001 ... /fields/NNNN, each with
 * the float64 datasets fields[0..n_fields) of the shape of /labels. */
typedef struct vb_xdmf_series {
	int64_t n;		   /* snapshots */
	const double *times;	   /* s, n values */
	const char *const *fields; /* dataset names inside each snapshot */
	int n_fields;
} vb_xdmf_series;

/* Name of the XDMF file of h5_path: h5_path with ".xdmf" appended
 * (r8.h5 -> r8.h5.xdmf), so that no two outputs share one. Writes at most
 * size bytes to xdmf; VB_ERR_INPUT if the name does not fit. */
int vb_xdmf_name(const char *h5_path, char *xdmf, size_t size, vb_err *e);

/* vb_outfile_check for an output that gets an XDMF file beside it: the
 * output and its vb_xdmf_name (none for "-"), before any work. */
int vb_xdmf_check(const char *h5_path, const char *const inputs[], int n_inputs, vb_err *e);

/* Writes the XDMF file of the voxbat file h5_path (which holds img's
 * /labels, voxel size in m) beside it, at vb_xdmf_name(h5_path), atomically.
 * The HDF5 file is referred to by its base name, XML-escaped. series NULL:
 * the labels alone (structures, cells). VB_ERR_RUN on I/O failure. */
int vb_xdmf_write(const char *h5_path, const vb_image *img, const vb_xdmf_series *series,
		  vb_err *e);

#endif
