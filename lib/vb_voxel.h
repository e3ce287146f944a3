/* vb_voxel: the voxel image every program exchanges, its phase ids, and the
 * measurements that need only the labels (counts, fractions, percolation).
 * Layout: labels[(i*ny + j)*nz + k], x (i) through the thickness, z fastest. */
#ifndef VB_VOXEL_H
#define VB_VOXEL_H

#include <stddef.h>
#include <stdint.h>

#include "vb_err.h"

/* Phase ids stored in /labels (docs/FORMAT.md). */
enum {
	VB_PHASE_VOID = 0,
	VB_PHASE_CAM = 1,
	VB_PHASE_ELECTROLYTE = 2,
	VB_PHASE_CBD = 3,
	VB_PHASE_SEPARATOR = 4,
	VB_PHASE_LI = 5,
	VB_PHASE_CATHODE_CC = 6,
	VB_PHASE_ANODE_CC = 7,
	VB_PHASE_COUNT = 8,
};

typedef struct vb_image {
	int64_t nx, ny, nz; /* voxels along x (thickness), y, z */
	double voxel_size;  /* edge length of a cubic voxel, m */
	uint8_t *labels;    /* nx*ny*nz phase ids, owned by the image */
} vb_image;

/* Largest image accepted (voxels), so that a corrupt header cannot make us
 * allocate without bound: 2^34 voxels = 16 GiB of labels. */
#define VB_VOXEL_MAX_COUNT ((int64_t)1 << 34)

/* Linear index of voxel (i, j, k); the one place index arithmetic lives. */
static inline int64_t vb_voxel_index(const vb_image *img, int64_t i, int64_t j, int64_t k)
{
	return (i * img->ny + j) * img->nz + k;
}

/* Number of voxels of img. */
static inline int64_t vb_voxel_count(const vb_image *img)
{
	return img->nx * img->ny * img->nz;
}

/* New image of nx*ny*nz voxels of size voxel_size (m), all labels 0 (void).
 * Returns NULL (and sets e) on bad dimensions or out of memory. Caller frees
 * with vb_voxel_free. */
vb_image *vb_voxel_new(int64_t nx, int64_t ny, int64_t nz, double voxel_size, vb_err *e);

/* Frees *img and sets it to NULL; NULL or *img == NULL is a no-op. */
void vb_voxel_free(vb_image **img);

/* Short name of a phase id ("CAM", "electrolyte", ...); "?" if out of range. */
const char *vb_voxel_phase_name(int phase);

/* Phase id for a name (case-insensitive) or a decimal id; -1 if unknown. */
int vb_voxel_phase_parse(const char *text);

/* The legend as stored in files: "0=void,1=CAM,...,7=anode_cc". */
const char *vb_voxel_legend(void);

/* counts[p] = number of voxels of phase p, p < VB_PHASE_COUNT. Labels outside
 * 0..VB_PHASE_COUNT-1 are counted in *other (may be NULL). */
void vb_voxel_count_phases(const vb_image *img, int64_t counts[VB_PHASE_COUNT], int64_t *other);

/* fractions[i*VB_PHASE_COUNT + p] = volume fraction of phase p in x-slice i.
 * fractions has nx*VB_PHASE_COUNT entries, caller-owned. */
void vb_voxel_slice_fractions(const vb_image *img, double *fractions);

/* Flood fill over face neighbours inside the x-slices [x0, x1): sets the
 * bits flag in mark[v] for every voxel v with pass[v] != 0 that is connected
 * through such voxels to one of slice `start`. pass and mark have one byte
 * per voxel; queue is the caller's scratch of nx*ny*nz int64. Returns the
 * number of voxels newly marked. */
int64_t vb_voxel_flood(const vb_image *img, const uint8_t *pass, int64_t x0, int64_t x1,
		       int64_t start, uint8_t flag, uint8_t *mark, int64_t *queue);

/* 1 if the voxels whose phase has member[phase] != 0 form a face-connected
 * path from the slice i = 0 to the slice i = nx-1, else 0; -1 out of memory. */
int vb_voxel_percolates_x(const vb_image *img, const uint8_t member[VB_PHASE_COUNT]);

/* Checks that every label is a phase id (< VB_PHASE_COUNT); VB_ERR_INPUT
 * naming the first bad voxel otherwise. */
int vb_voxel_check_labels(const vb_image *img, vb_err *e);

#endif
