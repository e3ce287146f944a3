/* vb_voxel: voxel images, phase names and label-only measurements. */
#include "vb_voxel.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const phase_names[VB_PHASE_COUNT] = {
	"void", "CAM", "electrolyte", "CBD", "separator", "Li", "cathode_cc", "anode_cc",
};

vb_image *vb_voxel_new(int64_t nx, int64_t ny, int64_t nz, double voxel_size, vb_err *e)
{
	if (nx <= 0 || ny <= 0 || nz <= 0 || nx > VB_VOXEL_MAX_COUNT / ny / nz) {
		vb_err_set(e, VB_ERR_INPUT,
			   "image of %lldx%lldx%lld voxels: each must be > 0 and the "
			   "total at most %lld",
			   (long long)nx, (long long)ny, (long long)nz,
			   (long long)VB_VOXEL_MAX_COUNT);
		return NULL;
	}
	if (!(voxel_size > 0) || !(voxel_size < 1.0)) {
		vb_err_set(e, VB_ERR_INPUT, "voxel_size is %g m, expected > 0 and < 1 m",
			   voxel_size);
		return NULL;
	}
	vb_image *img = calloc(1, sizeof *img);
	if (img == NULL) {
		vb_err_set(e, VB_ERR_RUN, "out of memory for an image header");
		return NULL;
	}
	img->nx = nx, img->ny = ny, img->nz = nz;
	img->voxel_size = voxel_size;
	img->labels = calloc((size_t)nx * (size_t)ny * (size_t)nz, 1);
	if (img->labels == NULL) {
		free(img);
		vb_err_set(e, VB_ERR_RUN, "out of memory for %lld voxels",
			   (long long)(nx * ny * nz));
		return NULL;
	}
	return img;
}

void vb_voxel_free(vb_image **img)
{
	if (img == NULL || *img == NULL)
		return;
	free((*img)->labels);
	free(*img);
	*img = NULL;
}

const char *vb_voxel_phase_name(int phase)
{
	return (phase >= 0 && phase < VB_PHASE_COUNT) ? phase_names[phase] : "?";
}

int vb_voxel_phase_parse(const char *text)
{
	if (text == NULL || text[0] == '\0')
		return -1;
	if (isdigit((unsigned char)text[0])) {
		char *end;
		long v = strtol(text, &end, 10);
		return (*end == '\0' && v >= 0 && v < VB_PHASE_COUNT) ? (int)v : -1;
	}
	for (int p = 0; p < VB_PHASE_COUNT; p++)
		if (strcasecmp(text, phase_names[p]) == 0)
			return p;
	return -1;
}

const char *vb_voxel_legend(void)
{
	return "0=void,1=CAM,2=electrolyte,3=CBD,4=separator,5=Li,6=cathode_cc,7=anode_cc";
}

void vb_voxel_count_phases(const vb_image *img, int64_t counts[VB_PHASE_COUNT], int64_t *other)
{
	int64_t c[256] = {0};
	int64_t n = vb_voxel_count(img);
	for (int64_t v = 0; v < n; v++)
		c[img->labels[v]]++;
	int64_t rest = 0;
	for (int p = 0; p < 256; p++) {
		if (p < VB_PHASE_COUNT)
			counts[p] = c[p];
		else
			rest += c[p];
	}
	if (other != NULL)
		*other = rest;
}

void vb_voxel_slice_fractions(const vb_image *img, double *fractions)
{
	const int64_t area = img->ny * img->nz;
#pragma omp parallel for schedule(static)
	for (int64_t i = 0; i < img->nx; i++) {
		int64_t c[256] = {0};
		const uint8_t *slice = img->labels + vb_voxel_index(img, i, 0, 0);
		for (int64_t v = 0; v < area; v++)
			c[slice[v]]++;
		for (int p = 0; p < VB_PHASE_COUNT; p++)
			fractions[i * VB_PHASE_COUNT + p] = (double)c[p] / (double)area;
	}
}

int64_t vb_voxel_flood(const vb_image *img, const uint8_t *pass, int64_t x0, int64_t x1,
		       int64_t start, uint8_t flag, uint8_t *mark, int64_t *queue)
{
	int64_t head = 0, tail = 0;
	for (int64_t j = 0; j < img->ny; j++)
		for (int64_t k = 0; k < img->nz; k++) {
			int64_t v = vb_voxel_index(img, start, j, k);
			if (pass[v] && !(mark[v] & flag)) {
				mark[v] |= flag;
				queue[tail++] = v;
			}
		}
	const int64_t sx = img->ny * img->nz, sy = img->nz;
	while (head < tail) {
		int64_t v = queue[head++];
		int64_t i = v / sx, j = (v / sy) % img->ny, k = v % sy;
		int64_t nb[6];
		int m = 0;
		if (i > x0)
			nb[m++] = v - sx;
		if (i < x1 - 1)
			nb[m++] = v + sx;
		if (j > 0)
			nb[m++] = v - sy;
		if (j < img->ny - 1)
			nb[m++] = v + sy;
		if (k > 0)
			nb[m++] = v - 1;
		if (k < img->nz - 1)
			nb[m++] = v + 1;
		for (int q = 0; q < m; q++) {
			if (pass[nb[q]] && !(mark[nb[q]] & flag)) {
				mark[nb[q]] |= flag;
				queue[tail++] = nb[q];
			}
		}
	}
	return tail;
}

int vb_voxel_percolates_x(const vb_image *img, const uint8_t member[VB_PHASE_COUNT])
{
	const int64_t n = vb_voxel_count(img);
	uint8_t *pass = calloc((size_t)n, 1), *mark = calloc((size_t)n, 1);
	int64_t *queue = malloc((size_t)n * sizeof *queue);
	if (pass == NULL || mark == NULL || queue == NULL) {
		free(pass), free(mark), free(queue);
		return -1;
	}
	for (int64_t v = 0; v < n; v++)
		pass[v] = img->labels[v] < VB_PHASE_COUNT && member[img->labels[v]];
	vb_voxel_flood(img, pass, 0, img->nx, 0, 1, mark, queue);
	int found = 0;
	for (int64_t v = vb_voxel_index(img, img->nx - 1, 0, 0); v < n && !found; v++)
		found = mark[v];
	free(pass), free(mark), free(queue);
	return found;
}

int vb_voxel_check_labels(const vb_image *img, vb_err *e)
{
	int64_t n = vb_voxel_count(img);
	for (int64_t v = 0; v < n; v++) {
		if (img->labels[v] >= VB_PHASE_COUNT) {
			int64_t k = v % img->nz, j = (v / img->nz) % img->ny,
				i = v / (img->ny * img->nz);
			return vb_err_set(
				e, VB_ERR_INPUT,
				"label %u at voxel (%lld,%lld,%lld) is not a phase id (0..%d)",
				img->labels[v], (long long)i, (long long)j, (long long)k,
				VB_PHASE_COUNT - 1);
		}
	}
	return VB_OK;
}
