/* genstruct graded: one packing of whole CAM spheres whose volume fraction
 * (and median diameter) follow profiles along x (docs/genstruct.md). The
 * spheres are a thinned dominating Boolean model whose intensity is
 * corrected slice by slice until every slice meets the profile. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "genstruct.h"
#include "vb_rng.h"

/* Streams 1 to 3 are packing.c's (spheres, ties, void); the candidates of
 * the dominating model have their own, so that the CBD and void draws of
 * gs_fill_pores are the same as homogeneous's. */
enum { STREAM_CANDIDATES = 4 };

#define SPREAD_CLIP 3.0 /* ln-diameters clipped at 3 standard deviations, as packing.c */
#define DOMINATING 4.0	/* lambda_max over the largest first guess of lambda */
#define CORRECTIONS 40	/* slice-by-slice corrections of lambda */
#define GAIN_DECAY 0.2	/* correction k takes 1 / (1 + 0.2 k) of the residual */
#define SMOOTHING 2	/* voxels: half-width of the triangle smoothing a correction */
#define MAX_CANDIDATES 1e8

/* A candidate sphere: centre and radius (m), its thinning uniform, the
 * x-slice whose intensity decides it (the slice of its centre, clamped to
 * the box), and the x-slices [lo, hi] its voxel centres may lie in. */
typedef struct ball {
	double c[3], r, u;
	int64_t slice, lo, hi;
} ball;

/* The candidates and, per x-slice i, the candidates that may paint it:
 * index[start[i] .. start[i+1]) in increasing order. */
typedef struct candidates {
	ball *b;
	int64_t m;
	int64_t *start, *index;
} candidates;

static int check(const gs_graded *g, vb_err *e)
{
	const double h = g->voxel_size;
	const double lx = (double)g->n[0] * h;
	const int64_t longest_n = g->n[0] > g->n[1] ? (g->n[0] > g->n[2] ? g->n[0] : g->n[2])
						    : (g->n[1] > g->n[2] ? g->n[1] : g->n[2]);
	const double longest = (double)longest_n * h;
	for (int q = 0; q < g->cam.n; q++)
		if (!(g->cam.v[q] >= 0 && g->cam.v[q] <= 0.95))
			return vb_err_set(e, VB_ERR_INPUT,
					  "--cam: fraction %g at x = %g um, expected in [0, 0.95] "
					  "(overlapping spheres cannot fill the box)",
					  g->cam.v[q], g->cam.x[q] * 1e6);
	for (int q = 0; q < g->diameter.n; q++) {
		double d = g->diameter.v[q];
		if (!(d >= 2 * h))
			return vb_err_set(e, VB_ERR_INPUT,
					  "--diameter: %g um at x = %g um is less than two voxels "
					  "(2 x %g um); particles would not be resolved",
					  d * 1e6, g->diameter.x[q] * 1e6, h * 1e6);
		if (!(d <= longest))
			return vb_err_set(e, VB_ERR_INPUT,
					  "--diameter: %g um at x = %g um is larger than the box's "
					  "longest edge (%g um)",
					  d * 1e6, g->diameter.x[q] * 1e6, longest * 1e6);
	}
	if (!(g->diameter_spread >= 0 && g->diameter_spread <= 1))
		return vb_err_set(e, VB_ERR_INPUT, "--spread %g: expected in [0, 1]",
				  g->diameter_spread);
	const double cam = gs_profile_mean(&g->cam, 0, lx);
	const double el = g->electrolyte < 0 ? 0 : g->electrolyte;
	if (!(g->cbd >= 0 && el >= 0))
		return vb_err_set(e, VB_ERR_INPUT,
				  "volume fractions must be >= 0 (cbd %g, electrolyte %g)", g->cbd,
				  g->electrolyte);
	if (cam + g->cbd + el > 1.0 + 1e-9)
		return vb_err_set(e, VB_ERR_INPUT,
				  "volume fractions sum to %g (mean cam %g + cbd %g + electrolyte "
				  "%g), expected at most 1",
				  cam + g->cbd + el, cam, g->cbd, el);
	return VB_OK;
}

/* The voxel range [lo, hi] along each axis whose centres may lie in ball b
 * (clipped to the box); 0 if there is none. */
static int extent(const vb_image *img, const ball *b, int64_t lo[3], int64_t hi[3])
{
	const double h = img->voxel_size;
	const int64_t n[3] = {img->nx, img->ny, img->nz};
	for (int a = 0; a < 3; a++) {
		lo[a] = (int64_t)ceil((b->c[a] - b->r) / h - 0.5);
		hi[a] = (int64_t)floor((b->c[a] + b->r) / h - 0.5);
		lo[a] = lo[a] < 0 ? 0 : lo[a];
		hi[a] = hi[a] > n[a] - 1 ? n[a] - 1 : hi[a];
		if (lo[a] > hi[a])
			return 0;
	}
	return 1;
}

/* Draws the m candidates of the dominating model: centres uniform in the
 * box grown by r_max on every side (as homogeneous), diameters lognormal
 * around the median at the centre's x. Candidate s is draw 2s (centre,
 * thinning uniform) and 2s + 1 (diameter) of STREAM_CANDIDATES. Then lists
 * the candidates of each x-slice. */
static int draw(const gs_graded *g, const vb_image *img, double r_max, candidates *c, vb_err *e)
{
	const double h = g->voxel_size;
	const double len[3] = {g->n[0] * h, g->n[1] * h, g->n[2] * h};
	const int64_t nx = g->n[0], m = c->m;
	ball *b = c->b;
#pragma omp parallel for schedule(static)
	for (int64_t s = 0; s < m; s++) {
		uint32_t w[4];
		vb_rng_philox(g->seed, STREAM_CANDIDATES, 2 * (uint64_t)s, w);
		for (int a = 0; a < 3; a++)
			b[s].c[a] = -r_max + vb_rng_to_unit(w[a]) * (len[a] + 2 * r_max);
		b[s].u = vb_rng_to_unit(w[3]);
		double z = vb_rng_normal(g->seed, STREAM_CANDIDATES, 2 * (uint64_t)s + 1);
		z = fmax(-SPREAD_CLIP, fmin(SPREAD_CLIP, z));
		double x = fmax(0, fmin(len[0], b[s].c[0]));
		b[s].r = 0.5 * gs_profile_at(&g->diameter, x) * exp(g->diameter_spread * z);
		int64_t i = (int64_t)floor(b[s].c[0] / h);
		b[s].slice = i < 0 ? 0 : (i > nx - 1 ? nx - 1 : i);
		int64_t lo[3], hi[3];
		if (extent(img, &b[s], lo, hi))
			b[s].lo = lo[0], b[s].hi = hi[0];
		else
			b[s].lo = 1, b[s].hi = 0; /* paints nothing */
	}
	c->start = calloc((size_t)nx + 1, sizeof *c->start);
	if (c->start == NULL)
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	for (int64_t s = 0; s < m; s++)
		for (int64_t i = b[s].lo; i <= b[s].hi; i++)
			c->start[i + 1]++;
	for (int64_t i = 0; i < nx; i++)
		c->start[i + 1] += c->start[i];
	c->index = malloc((size_t)(c->start[nx] > 0 ? c->start[nx] : 1) * sizeof *c->index);
	int64_t *fill = malloc((size_t)nx * sizeof *fill);
	if (c->index == NULL || fill == NULL) {
		free(fill);
		return vb_err_set(e, VB_ERR_RUN, "out of memory for %lld candidate spheres",
				  (long long)m);
	}
	memcpy(fill, c->start, (size_t)nx * sizeof *fill);
	for (int64_t s = 0; s < m; s++)
		for (int64_t i = b[s].lo; i <= b[s].hi; i++)
			c->index[fill[i]++] = s;
	free(fill);
	return VB_OK;
}

/* Paints CAM every voxel whose centre lies in a kept candidate (u <
 * keep[slice]) onto void, and counts CAM per x-slice into cam. Slice by
 * slice: each is its own, so the image is the same on any thread count. */
static void paint(vb_image *img, const candidates *c, const double *keep, int64_t *cam)
{
	const double h = img->voxel_size;
	const size_t slice = (size_t)(img->ny * img->nz);
#pragma omp parallel for schedule(dynamic, 1)
	for (int64_t i = 0; i < img->nx; i++) {
		memset(img->labels + vb_voxel_index(img, i, 0, 0), VB_PHASE_VOID, slice);
		int64_t count = 0;
		for (int64_t q = c->start[i]; q < c->start[i + 1]; q++) {
			const ball *b = &c->b[c->index[q]];
			int64_t lo[3], hi[3];
			if (!(b->u < keep[b->slice]) || !extent(img, b, lo, hi))
				continue;
			const double dx = (i + 0.5) * h - b->c[0], r2 = b->r * b->r;
			for (int64_t j = lo[1]; j <= hi[1]; j++) {
				double dy = (j + 0.5) * h - b->c[1];
				for (int64_t k = lo[2]; k <= hi[2]; k++) {
					double dz = (k + 0.5) * h - b->c[2];
					uint8_t *l = &img->labels[vb_voxel_index(img, i, j, k)];
					if (dx * dx + dy * dy + dz * dz <= r2 &&
					    *l != VB_PHASE_CAM) {
						*l = VB_PHASE_CAM;
						count++;
					}
				}
			}
		}
		cam[i] = count;
	}
}

/* The kept candidates that hold a voxel centre, as rows x, y, z, r of list
 * (4 m doubles); returns their number. */
static int64_t list_spheres(const vb_image *img, const candidates *c, const double *keep,
			    double *list)
{
	const double h = img->voxel_size;
	int64_t rows = 0;
	for (int64_t s = 0; s < c->m; s++) {
		const ball *b = &c->b[s];
		int64_t lo[3], hi[3], inside = 0;
		if (!(b->u < keep[b->slice]) || !extent(img, b, lo, hi))
			continue;
		for (int64_t i = lo[0]; i <= hi[0] && !inside; i++)
			for (int64_t j = lo[1]; j <= hi[1] && !inside; j++)
				for (int64_t k = lo[2]; k <= hi[2] && !inside; k++) {
					double dx = (i + 0.5) * h - b->c[0];
					double dy = (j + 0.5) * h - b->c[1];
					double dz = (k + 0.5) * h - b->c[2];
					inside = dx * dx + dy * dy + dz * dz <= b->r * b->r;
				}
		if (inside) {
			memcpy(&list[4 * rows], b->c, 3 * sizeof *list);
			list[4 * rows + 3] = b->r;
			rows++;
		}
	}
	return rows;
}

/* keep[i] = the thinning probability of slice i at intensity scale * lambda. */
static void thinning(const double *lambda, int64_t nx, double lambda_max, double scale,
		     double *keep)
{
	for (int64_t i = 0; i < nx; i++)
		keep[i] = fmin(1.0, scale * lambda[i] / lambda_max);
}

/* -ln(1 - f): the mean number of spheres covering a point of a Boolean
 * model of coverage f; f is kept below 1 by half a voxel of the slice. */
static double coverage_depth(double f, double slice_voxels)
{
	return -log(fmax(1.0 - f, 0.5 / slice_voxels));
}

/* Work arrays of one x-slice each. */
typedef struct slices {
	double *target, *volume, *lambda, *keep, *res, *best;
	int64_t *cam;
} slices;

/* Allocates sl's arrays of nx zeros; 0 if out of memory (sl then holds
 * what was allocated, for slices_free). */
static int slices_new(slices *sl, int64_t nx)
{
	sl->target = calloc((size_t)nx, sizeof(double));
	sl->volume = calloc((size_t)nx, sizeof(double));
	sl->lambda = calloc((size_t)nx, sizeof(double));
	sl->keep = calloc((size_t)nx, sizeof(double));
	sl->res = calloc((size_t)nx, sizeof(double));
	sl->best = calloc((size_t)nx, sizeof(double));
	sl->cam = calloc((size_t)nx, sizeof(int64_t));
	return sl->target && sl->volume && sl->lambda && sl->keep && sl->res && sl->best && sl->cam;
}

static void slices_free(slices *sl)
{
	free(sl->target);
	free(sl->volume);
	free(sl->lambda);
	free(sl->keep);
	free(sl->res);
	free(sl->best);
	free(sl->cam);
}

/* The corrections (docs/genstruct.md): paint, then lambda += gain x (depth
 * of the target - depth achieved) / expected sphere volume, smoothed by a
 * triangle and clamped to [0, lambda_max]; the gain falls as 1 / (1 + 0.2 k)
 * because each correction also redraws which spheres are kept. lambda ends
 * as the one whose image came closest to the targets (least squares over
 * the slices). */
static void correct(vb_image *img, const candidates *c, double lambda_max, slices *sl)
{
	const int64_t nx = img->nx;
	const double slice = (double)(img->ny * img->nz);
	const int w = SMOOTHING;
	double best = INFINITY;
	for (int it = 0;; it++) {
		thinning(sl->lambda, nx, lambda_max, 1.0, sl->keep);
		paint(img, c, sl->keep, sl->cam);
		double score = 0;
		for (int64_t i = 0; i < nx; i++) {
			double f = (double)sl->cam[i] / slice;
			score += (f - sl->target[i]) * (f - sl->target[i]);
			sl->res[i] =
				coverage_depth(sl->target[i], slice) - coverage_depth(f, slice);
		}
		if (score < best) {
			best = score;
			memcpy(sl->best, sl->lambda, (size_t)nx * sizeof *sl->best);
		}
		if (it == CORRECTIONS)
			break;
		const double gain = 1.0 / (1.0 + GAIN_DECAY * it);
		for (int64_t i = 0; i < nx; i++) {
			double sum = 0, weight = 0;
			for (int64_t q = i - w; q <= i + w; q++) {
				if (q < 0 || q >= nx)
					continue;
				double t = (double)(w + 1 - llabs(q - i));
				sum += t * sl->res[q];
				weight += t;
			}
			double l = sl->lambda[i] + gain * sum / weight / sl->volume[i];
			sl->lambda[i] = fmax(0.0, fmin(lambda_max, l));
		}
	}
	memcpy(sl->lambda, sl->best, (size_t)nx * sizeof *sl->best);
}

/* CAM voxels of the image at intensity scale * lambda. */
static int64_t cam_at(vb_image *img, const candidates *c, double lambda_max, double scale,
		      slices *sl)
{
	thinning(sl->lambda, img->nx, lambda_max, scale, sl->keep);
	paint(img, c, sl->keep, sl->cam);
	int64_t n = 0;
	for (int64_t i = 0; i < img->nx; i++)
		n += sl->cam[i];
	return n;
}

/* The scale of lambda whose image has the CAM voxel count nearest total.
 * The count grows with the scale (a fixed candidate sequence): bracket
 * from 1 in steps of 2 %, then bisect to 1e-7 (below one sphere's flip). */
static double match_total(vb_image *img, const candidates *c, double lambda_max, int64_t total,
			  slices *sl)
{
	double lo = 1, hi = 1;
	int64_t c_lo = cam_at(img, c, lambda_max, 1, sl), c_hi = c_lo;
	if (c_lo == total)
		return 1;
	while (c_lo > total && lo > 1e-3)
		hi = lo, c_hi = c_lo, lo /= 1.02, c_lo = cam_at(img, c, lambda_max, lo, sl);
	while (c_hi < total && hi < 1e3)
		lo = hi, c_lo = c_hi, hi *= 1.02, c_hi = cam_at(img, c, lambda_max, hi, sl);
	while (hi - lo > 1e-7 * hi && c_lo < total && c_hi > total) {
		double mid = 0.5 * (lo + hi);
		int64_t c_mid = cam_at(img, c, lambda_max, mid, sl);
		if (c_mid >= total)
			hi = mid, c_hi = c_mid;
		else
			lo = mid, c_lo = c_mid;
	}
	return total - c_lo <= c_hi - total ? lo : hi;
}

vb_image *gs_generate_graded(const gs_graded *g, gs_graded_stats *stats, vb_err *e)
{
	if (check(g, e) != VB_OK)
		return NULL;
	vb_image *img = vb_voxel_new(g->n[0], g->n[1], g->n[2], g->voxel_size, e);
	if (img == NULL)
		return NULL;
	const int64_t nx = img->nx, total = vb_voxel_count(img);
	const double h = g->voxel_size, lx = nx * h, sigma = g->diameter_spread;
	double d_max = 0;
	for (int q = 0; q < g->diameter.n; q++)
		d_max = fmax(d_max, g->diameter.v[q]);
	const double r_max = 0.5 * d_max * exp(SPREAD_CLIP * sigma);
	slices sl;
	int rc = slices_new(&sl, nx) ? VB_OK : vb_err_set(e, VB_ERR_RUN, "out of memory");
	/* first guess: each slice a homogeneous Boolean model of its own target,
	 * lambda = -ln(1 - f) / E[sphere volume] (lognormal d: E[d^3] =
	 * d_median^3 exp(9 sigma^2 / 2)) */
	double lambda_first = 0, cam_mean = 0;
	for (int64_t i = 0; rc == VB_OK && i < nx; i++) {
		sl.target[i] = gs_profile_mean(&g->cam, i * h, (i + 1) * h);
		double d = gs_profile_mean(&g->diameter, i * h, (i + 1) * h);
		sl.volume[i] = M_PI / 6 * d * d * d * exp(4.5 * sigma * sigma);
		sl.lambda[i] = -log(1 - sl.target[i]) / sl.volume[i];
		lambda_first = fmax(lambda_first, sl.lambda[i]);
		cam_mean += sl.target[i] / (double)nx;
	}
	const double lambda_max = DOMINATING * lambda_first;
	const double grown =
		(lx + 2 * r_max) * (img->ny * h + 2 * r_max) * (img->nz * h + 2 * r_max);
	const double m = ceil(lambda_max * grown);
	if (rc == VB_OK && m > MAX_CANDIDATES)
		rc = vb_err_set(e, VB_ERR_INPUT,
				"graded: %.3g candidate spheres, expected at most %.3g (particles "
				"too small for the box)",
				m, MAX_CANDIDATES);
	candidates c = {NULL, (int64_t)m, NULL, NULL};
	double *list = NULL;
	if (rc == VB_OK) {
		c.b = malloc((size_t)(c.m > 0 ? c.m : 1) * sizeof *c.b);
		list = malloc((size_t)(c.m > 0 ? c.m : 1) * 4 * sizeof *list);
		if (c.b == NULL || list == NULL)
			rc = vb_err_set(e, VB_ERR_RUN, "out of memory for %lld candidate spheres",
					(long long)c.m);
	}
	if (rc == VB_OK)
		rc = draw(g, img, r_max, &c, e);
	int64_t rows = 0, n_cam = 0;
	if (rc == VB_OK && c.m > 0) {
		correct(img, &c, lambda_max, &sl);
		int64_t want = llround(cam_mean * (double)total);
		n_cam = cam_at(img, &c, lambda_max, match_total(img, &c, lambda_max, want, &sl),
			       &sl);
		rows = list_spheres(img, &c, sl.keep, list);
	}
	/* CBD, electrolyte and void as homogeneous, from the box's fractions */
	int64_t t_cbd = llround(g->cbd * (double)total);
	if (n_cam + t_cbd > total)
		t_cbd = total - n_cam;
	int64_t t_el = g->electrolyte < 0 ? total - n_cam - t_cbd
					  : llround(g->electrolyte * (double)total);
	if (n_cam + t_cbd + t_el > total)
		t_el = total - n_cam - t_cbd;
	/* the neck neighbourhood as homogeneous's, from the mean median diameter */
	int w = (int)lround(0.125 * gs_profile_mean(&g->diameter, 0, lx) / h);
	w = w < 1 ? 1 : (w > 19 ? 19 : w);
	if (rc == VB_OK)
		rc = gs_fill_pores(img, g->seed, t_cbd, t_el, w, e);
	slices_free(&sl);
	free(c.b);
	free(c.start);
	free(c.index);
	if (rc != VB_OK) {
		free(list);
		vb_voxel_free(&img);
		return NULL;
	}
	if (stats != NULL) {
		stats->candidates = c.m;
		stats->particles = rows;
		stats->spheres = list;
		stats->neck_halfwidth = w;
	} else {
		free(list);
	}
	return img;
}
