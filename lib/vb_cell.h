/* vb_cell: the one validation of an assembled cell (or the cell of a run)
 * that every reader shares (docs/FORMAT.md, "Cells"): its layers in
 * /regions against its labels, and its cell_type against its parameter
 * set, so that no program computes with a cell whose parts disagree. */
#ifndef VB_CELL_H
#define VB_CELL_H

#include <stdint.h>

#include <hdf5.h>

#include "vb_err.h"
#include "vb_params.h"
#include "vb_voxel.h"

/* The layers along x, in order. */
enum { VB_CELL_ANODE_CC, VB_CELL_LI, VB_CELL_SEPARATOR, VB_CELL_CATHODE, VB_CELL_CATHODE_CC,
       VB_CELL_LAYERS };

/* Name of layer l in /regions (anode_cc, li, separator, cathode, cathode_cc). */
const char *vb_cell_layer_name(int l);

/* [first, end) x-slices of each layer. */
typedef struct vb_cell_regions {
	int64_t x0[VB_CELL_LAYERS], x1[VB_CELL_LAYERS];
} vb_cell_regions;

/* Reads /regions of file (path names it in messages) and checks, with
 * VB_ERR_INPUT and a message naming what disagrees: every layer present as
 * two whole numbers; the layers in order, each starting where the last
 * ends, from x = 0 to the end of the labels, every layer but the separator
 * at least one slice; the labels of each layer its own (anode
 * collector, Li metal, separator, collector: only their phase; the cathode:
 * only CAM, electrolyte, CBD and void, and no CBD in an ASSB cell); the
 * root attribute cell_type "assb" or "lib" and that of p. */
int vb_cell_check(hid_t file, const char *path, const vb_image *img, const vb_params *p,
		  vb_cell_regions *r, vb_err *e);

#endif
