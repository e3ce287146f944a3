/* genstruct packing: random cathode microstructures (docs/genstruct.md).
 * CAM is a Boolean model of overlapping lognormal spheres, fused into
 * clusters as in a calendered electrode; CBD fills the pore voxels most
 * enclosed by CAM (contacts and necks); electrolyte and void take the rest. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "genstruct.h"
#include "vb_rng.h"

enum { STREAM_SPHERES = 1, STREAM_TIES = 2, STREAM_VOID = 3 };

/* ln-diameters are clipped at 3 standard deviations so that the sampling box
 * margin (the largest radius) stays finite. */
#define SPREAD_CLIP 3.0

typedef struct candidate {
	double dist2;
	int64_t index;
} candidate;

static int by_distance(const void *a, const void *b)
{
	const candidate *x = a, *y = b;
	if (x->dist2 != y->dist2)
		return x->dist2 < y->dist2 ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

static int descending(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x < y) - (x > y);
}

/* Paints CAM spheres until exactly target voxels are CAM. Sphere s has its
 * centre from draw (seed, STREAM_SPHERES, 2s) and its diameter from draw 2s+1;
 * centres are uniform in the box grown by the largest radius on every side,
 * so that coverage is uniform up to the faces (no trend along x). The last
 * sphere is painted from its centre outwards only as far as the target. */
static int paint_cam(vb_image *img, const gs_packing *p, int64_t target, int64_t *particles,
		     vb_err *e)
{
	const double h = img->voxel_size;
	const double r_max = 0.5 * p->diameter_median * exp(SPREAD_CLIP * p->diameter_spread);
	const double len[3] = {img->nx * h, img->ny * h, img->nz * h};
	const int64_t n[3] = {img->nx, img->ny, img->nz};
	const double box = (len[0] + 2 * r_max) * (len[1] + 2 * r_max) * (len[2] + 2 * r_max);
	const double r_min = 0.5 * p->diameter_median * exp(-SPREAD_CLIP * p->diameter_spread);
	/* Enough spheres to cover 1 - 1e-6 of the grown box even if all were the
	 * smallest; reaching it means the target cannot be met. */
	const double limit = 14.0 * box / (4.0 / 3.0 * M_PI * r_min * r_min * r_min) + 1e6;
	int64_t count = 0, s = 0;
	size_t cap = 1024;
	candidate *cand = malloc(cap * sizeof *cand);
	if (cand == NULL)
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	while (count < target) {
		if ((double)s > limit) {
			free(cand);
			return vb_err_set(e, VB_ERR_RUN, "no CAM fraction %g after %lld particles",
					  p->cam, (long long)s);
		}
		double c[3];
		for (int a = 0; a < 3; a++)
			c[a] = -r_max +
			       vb_rng_uniform(p->seed, STREAM_SPHERES, 2 * (uint64_t)s, a) *
				       (len[a] + 2 * r_max);
		double z = vb_rng_normal(p->seed, STREAM_SPHERES, 2 * (uint64_t)s + 1);
		z = fmax(-SPREAD_CLIP, fmin(SPREAD_CLIP, z));
		double r = 0.5 * p->diameter_median * exp(p->diameter_spread * z);
		s++;
		int64_t lo[3], hi[3];
		int empty = 0;
		for (int a = 0; a < 3; a++) {
			lo[a] = (int64_t)ceil((c[a] - r) / h - 0.5);
			hi[a] = (int64_t)floor((c[a] + r) / h - 0.5);
			lo[a] = lo[a] < 0 ? 0 : lo[a];
			hi[a] = hi[a] > n[a] - 1 ? n[a] - 1 : hi[a];
			empty |= lo[a] > hi[a];
		}
		if (empty)
			continue;
		size_t m = 0;
		for (int64_t i = lo[0]; i <= hi[0]; i++) {
			double dx = (i + 0.5) * h - c[0];
			for (int64_t j = lo[1]; j <= hi[1]; j++) {
				double dy = (j + 0.5) * h - c[1];
				for (int64_t k = lo[2]; k <= hi[2]; k++) {
					double dz = (k + 0.5) * h - c[2];
					double d2 = dx * dx + dy * dy + dz * dz;
					int64_t v = vb_voxel_index(img, i, j, k);
					if (d2 > r * r || img->labels[v] == VB_PHASE_CAM)
						continue;
					if (m == cap) {
						candidate *bigger =
							realloc(cand, 2 * cap * sizeof *cand);
						if (bigger == NULL) {
							free(cand);
							return vb_err_set(e, VB_ERR_RUN,
									  "out of memory");
						}
						cand = bigger;
						cap *= 2;
					}
					cand[m++] = (candidate){d2, v};
				}
			}
		}
		if ((int64_t)m > target - count) {
			qsort(cand, m, sizeof *cand, by_distance);
			m = (size_t)(target - count);
		}
		for (size_t q = 0; q < m; q++)
			img->labels[cand[q].index] = VB_PHASE_CAM;
		count += (int64_t)m;
	}
	free(cand);
	*particles = s;
	return VB_OK;
}

/* out = sum of in over the window [x-w, x+w] along one axis, clipped to the box. */
static void box_sum_axis(const uint16_t *in, uint16_t *out, const int64_t n[3], int axis, int w)
{
	const int64_t stride[3] = {n[1] * n[2], n[2], 1};
	const int64_t len = n[axis];
	const int a1 = (axis + 1) % 3, a2 = (axis + 2) % 3;
#pragma omp parallel for collapse(2) schedule(static)
	for (int64_t u = 0; u < n[a1]; u++) {
		for (int64_t v = 0; v < n[a2]; v++) {
			const int64_t base = u * stride[a1] + v * stride[a2];
			const int64_t st = stride[axis];
			uint32_t sum = 0;
			for (int64_t x = 0; x < w && x < len; x++)
				sum += in[base + x * st];
			for (int64_t x = 0; x < len; x++) {
				if (x + w < len)
					sum += in[base + (x + w) * st];
				if (x - w - 1 >= 0)
					sum -= in[base + (x - w - 1) * st];
				out[base + x * st] = (uint16_t)sum;
			}
		}
	}
}

static int64_t window(int64_t x, int64_t n, int w)
{
	int64_t lo = x - w < 0 ? 0 : x - w, hi = x + w > n - 1 ? n - 1 : x + w;
	return hi - lo + 1;
}

/* Assigns CBD, electrolyte and void to the non-CAM voxels. The neck score of
 * a voxel is the CAM fraction of its (2w+1)^3 neighbourhood (clipped to the
 * box); CBD takes the highest scores, ties broken by a per-voxel random word. */
int gs_fill_pores(vb_image *img, uint64_t seed, int64_t t_cbd, int64_t t_el, int w, vb_err *e)
{
	const int64_t total = vb_voxel_count(img);
	const int64_t n[3] = {img->nx, img->ny, img->nz};
	uint16_t *a = malloc((size_t)total * sizeof *a), *b = malloc((size_t)total * sizeof *b);
	if (a == NULL || b == NULL) {
		free(a);
		free(b);
		return vb_err_set(e, VB_ERR_RUN, "out of memory for %lld voxels", (long long)total);
	}
#pragma omp parallel for schedule(static)
	for (int64_t v = 0; v < total; v++)
		a[v] = img->labels[v] == VB_PHASE_CAM;
	box_sum_axis(a, b, n, 2, w);
	box_sum_axis(b, a, n, 1, w);
	box_sum_axis(a, b, n, 0, w);
	free(a);
	int64_t pores = 0;
	for (int64_t v = 0; v < total; v++)
		pores += img->labels[v] != VB_PHASE_CAM;
	uint64_t *keys = malloc((size_t)(pores > 0 ? pores : 1) * sizeof *keys);
	if (keys == NULL) {
		free(b);
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	}
	/* key = score (19 bits) | random (11 bits) | index (34 bits): unique, so
	 * the order and hence the image are fully determined by the seed. */
	int64_t m = 0;
	for (int64_t i = 0; i < n[0]; i++) {
		int64_t wi = window(i, n[0], w);
		for (int64_t j = 0; j < n[1]; j++) {
			int64_t wij = wi * window(j, n[1], w);
			for (int64_t k = 0; k < n[2]; k++) {
				int64_t v = vb_voxel_index(img, i, j, k);
				if (img->labels[v] == VB_PHASE_CAM)
					continue;
				double frac = (double)b[v] / (double)(wij * window(k, n[2], w));
				uint64_t score = (uint64_t)(frac * 524287.0 + 0.5);
				uint32_t rnd[4];
				vb_rng_philox(seed, STREAM_TIES, (uint64_t)v, rnd);
				keys[m++] =
					score << 45 | (uint64_t)(rnd[0] >> 21) << 34 | (uint64_t)v;
			}
		}
	}
	free(b);
	qsort(keys, (size_t)m, sizeof *keys, descending);
	const uint64_t index_mask = ((uint64_t)1 << 34) - 1;
	for (int64_t q = 0; q < m; q++)
		img->labels[keys[q] & index_mask] = q < t_cbd ? VB_PHASE_CBD : VB_PHASE_ELECTROLYTE;
	/* Void, if any, replaces electrolyte voxels chosen uniformly at random. */
	int64_t rest = m - t_cbd;
	if (t_el < rest) {
		int64_t r = 0;
		for (int64_t q = t_cbd; q < m; q++) {
			uint64_t v = keys[q] & index_mask;
			uint32_t rnd[4];
			vb_rng_philox(seed, STREAM_VOID, v, rnd);
			keys[r++] = (uint64_t)rnd[0] << 34 | v;
		}
		qsort(keys, (size_t)r, sizeof *keys, descending);
		for (int64_t q = t_el; q < r; q++)
			img->labels[keys[q] & index_mask] = VB_PHASE_VOID;
	}
	free(keys);
	return VB_OK;
}

vb_image *gs_generate_packing(const gs_packing *p, gs_packing_stats *stats, vb_err *e)
{
	if (!(p->cam >= 0 && p->cbd >= 0 && p->electrolyte >= 0)) {
		vb_err_set(e, VB_ERR_INPUT,
			   "volume fractions must be >= 0 (cam %g, cbd %g, "
			   "electrolyte %g)",
			   p->cam, p->cbd, p->electrolyte);
		return NULL;
	}
	double sum = p->cam + p->cbd + p->electrolyte;
	if (sum > 1.0 + 1e-9) {
		vb_err_set(e, VB_ERR_INPUT,
			   "volume fractions sum to %g (cam %g + cbd %g + "
			   "electrolyte %g), expected at most 1",
			   sum, p->cam, p->cbd, p->electrolyte);
		return NULL;
	}
	if (p->cam > 0.95) {
		vb_err_set(e, VB_ERR_INPUT,
			   "cam fraction %g: expected at most 0.95 (overlapping "
			   "spheres cannot fill the box)",
			   p->cam);
		return NULL;
	}
	if (!(p->diameter_median > 0) || !(p->diameter_spread >= 0 && p->diameter_spread <= 1)) {
		vb_err_set(e, VB_ERR_INPUT,
			   "particle diameter %g um, spread %g: expected diameter "
			   "> 0 and spread in [0, 1]",
			   p->diameter_median * 1e6, p->diameter_spread);
		return NULL;
	}
	if (p->diameter_median < 2 * p->voxel_size) {
		vb_err_set(e, VB_ERR_INPUT,
			   "particle diameter %g um is less than two voxels "
			   "(2 x %g um); particles would not be resolved",
			   p->diameter_median * 1e6, p->voxel_size * 1e6);
		return NULL;
	}
	/* centres are drawn in the box grown by the largest radius: particles
	 * much larger than the box almost never touch it, and the painting
	 * would not end (a diameter of 1e300 m looped for ever) */
	const double longest =
		(double)(p->n[0] > p->n[1] ? (p->n[0] > p->n[2] ? p->n[0] : p->n[2])
					   : (p->n[1] > p->n[2] ? p->n[1] : p->n[2])) *
		p->voxel_size;
	if (!(p->diameter_median <= longest)) {
		vb_err_set(e, VB_ERR_INPUT,
			   "particle diameter %g um is larger than the box's longest edge (%g "
			   "um); such particles do not pack in it",
			   p->diameter_median * 1e6, longest * 1e6);
		return NULL;
	}
	vb_image *img = vb_voxel_new(p->n[0], p->n[1], p->n[2], p->voxel_size, e);
	if (img == NULL)
		return NULL;
	const int64_t total = vb_voxel_count(img);
	int64_t t_cam = llround(p->cam * (double)total);
	int64_t t_cbd = llround(p->cbd * (double)total);
	int64_t t_el = llround(p->electrolyte * (double)total);
	if (t_cam + t_cbd > total)
		t_cbd = total - t_cam;
	if (t_cam + t_cbd + t_el > total)
		t_el = total - t_cam - t_cbd;
	/* Neighbourhood for the neck score: a quarter of the median radius. */
	int w = (int)lround(0.125 * p->diameter_median / p->voxel_size);
	w = w < 1 ? 1 : (w > 19 ? 19 : w);
	int64_t particles = 0;
	if (paint_cam(img, p, t_cam, &particles, e) != VB_OK ||
	    gs_fill_pores(img, p->seed, t_cbd, t_el, w, e) != VB_OK) {
		vb_voxel_free(&img);
		return NULL;
	}
	if (stats != NULL) {
		stats->particles = particles;
		stats->neck_halfwidth = w;
	}
	return img;
}
