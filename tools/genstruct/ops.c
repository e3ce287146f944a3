/* genstruct ops: perforation, layer stacking, reversal and refinement of
 * voxel images. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "genstruct.h"

int64_t gs_perforate(vb_image *img, double radius, const double *axes, int n_axes, double depth)
{
	const double h = img->voxel_size;
	const double r2 = radius * radius * (1.0 + 1e-12);
	int64_t changed = 0;
#pragma omp parallel for reduction(+ : changed) schedule(static)
	for (int64_t i = 0; i < img->nx; i++) {
		if ((i + 0.5) * h > depth)
			continue;
		for (int64_t j = 0; j < img->ny; j++) {
			for (int64_t k = 0; k < img->nz; k++) {
				int inside = 0;
				for (int c = 0; c < n_axes && !inside; c++) {
					double dy = (j + 0.5) * h - axes[2 * c];
					double dz = (k + 0.5) * h - axes[2 * c + 1];
					inside = dy * dy + dz * dz <= r2;
				}
				uint8_t *l = &img->labels[vb_voxel_index(img, i, j, k)];
				if (inside && (*l == VB_PHASE_CAM || *l == VB_PHASE_CBD)) {
					*l = VB_PHASE_ELECTROLYTE;
					changed++;
				}
			}
		}
	}
	return changed;
}

vb_image *gs_stack(vb_image *const *layers, const double *fractions, int n, int64_t *boundaries,
		   vb_err *e)
{
	double sum = 0;
	for (int l = 0; l < n; l++) {
		if (!(fractions[l] >= 0 && fractions[l] <= 1)) {
			vb_err_set(e, VB_ERR_INPUT,
				   "layer %d: thickness fraction %g, expected in [0, 1]", l + 1,
				   fractions[l]);
			return NULL;
		}
		sum += fractions[l];
	}
	if (fabs(sum - 1.0) > 1e-6) {
		vb_err_set(e, VB_ERR_INPUT, "thickness fractions sum to %g, expected 1", sum);
		return NULL;
	}
	const vb_image *first = layers[0];
	for (int l = 1; l < n; l++) {
		const vb_image *o = layers[l];
		int rc = VB_OK;
		if (o->ny != first->ny || o->nz != first->nz)
			rc = vb_err_set(e, VB_ERR_INPUT,
					"layer %d: cross-section %lldx%lld voxels "
					"differs from layer 1's %lldx%lld",
					l + 1, (long long)o->ny, (long long)o->nz,
					(long long)first->ny, (long long)first->nz);
		else if (fabs(o->voxel_size - first->voxel_size) > 1e-9 * first->voxel_size)
			rc = vb_err_set(e, VB_ERR_INPUT,
					"layer %d: voxel size %.10g um differs from "
					"layer 1's %.10g um",
					l + 1, o->voxel_size * 1e6, first->voxel_size * 1e6);
		else if (o->nx != first->nx)
			rc = vb_err_set(e, VB_ERR_INPUT,
					"layer %d: thickness %lld voxels differs from "
					"layer 1's %lld (the stack keeps the total thickness)",
					l + 1, (long long)o->nx, (long long)first->nx);
		if (rc != VB_OK)
			return NULL;
	}
	vb_image *out = vb_voxel_new(first->nx, first->ny, first->nz, first->voxel_size, e);
	if (out == NULL)
		return NULL;
	double cum = 0;
	boundaries[0] = 0;
	const size_t slice = (size_t)(first->ny * first->nz);
	for (int l = 0; l < n; l++) {
		cum += fractions[l];
		boundaries[l + 1] = l == n - 1 ? first->nx : llround(cum * (double)first->nx);
		for (int64_t i = boundaries[l]; i < boundaries[l + 1]; i++)
			memcpy(out->labels + vb_voxel_index(out, i, 0, 0),
			       layers[l]->labels + vb_voxel_index(layers[l], i, 0, 0), slice);
	}
	return out;
}

void gs_reverse(vb_image *img)
{
	const size_t slice = (size_t)(img->ny * img->nz);
	for (int64_t i = 0, m = img->nx - 1; i < m; i++, m--) {
		uint8_t *a = img->labels + vb_voxel_index(img, i, 0, 0);
		uint8_t *b = img->labels + vb_voxel_index(img, m, 0, 0);
		for (size_t v = 0; v < slice; v++) {
			uint8_t t = a[v];
			a[v] = b[v];
			b[v] = t;
		}
	}
}

vb_image *gs_refine(const vb_image *img, int factor, vb_err *e)
{
	const int64_t f = factor;
	if (vb_voxel_count(img) > VB_VOXEL_MAX_COUNT / (f * f * f)) {
		vb_err_set(e, VB_ERR_INPUT,
			   "refine by %d: %lldx%lldx%lld voxels would exceed the largest image "
			   "(%lld voxels)",
			   factor, (long long)(img->nx * f), (long long)(img->ny * f),
			   (long long)(img->nz * f), (long long)VB_VOXEL_MAX_COUNT);
		return NULL;
	}
	vb_image *out = vb_voxel_new(img->nx * f, img->ny * f, img->nz * f, img->voxel_size / f, e);
	if (out == NULL)
		return NULL;
#pragma omp parallel for schedule(static)
	for (int64_t i = 0; i < out->nx; i++)
		for (int64_t j = 0; j < out->ny; j++)
			for (int64_t k = 0; k < out->nz; k++)
				out->labels[vb_voxel_index(out, i, j, k)] =
					img->labels[vb_voxel_index(img, i / f, j / f, k / f)];
	return out;
}
