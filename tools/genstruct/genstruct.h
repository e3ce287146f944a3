/* genstruct's own operations on voxel images: the random packing generator,
 * perforation, stacking, reversal, raw/TIFF import and export. main.c parses
 * the command line and calls these; they validate their own arguments too. */
#ifndef GENSTRUCT_H
#define GENSTRUCT_H

#include <stdint.h>
#include <stdio.h>

#include "vb_err.h"
#include "vb_units.h"
#include "vb_voxel.h"

typedef struct gs_packing {
	int64_t n[3];		      /* voxels along x, y, z */
	double voxel_size;	      /* m */
	double cam, cbd, electrolyte; /* target volume fractions; void is the rest */
	double diameter_median;	      /* median particle diameter, m */
	double diameter_spread;	      /* standard deviation of ln(diameter) */
	uint64_t seed;
} gs_packing;

typedef struct gs_packing_stats {
	int64_t particles;  /* spheres placed (including those cut by the box) */
	int neck_halfwidth; /* voxels; CBD placement neighbourhood (2w+1)^3 */
} gs_packing_stats;

/* Generates a random packing (docs/genstruct.md): overlapping lognormal
 * spheres of CAM until the CAM target is met exactly, then CBD on the non-CAM
 * voxels most enclosed by CAM (necks), electrolyte on the rest and void where
 * the fractions leave room. Same seed, same image, any thread count.
 * Returns a new image (caller frees) or NULL with e set. */
vb_image *gs_generate_packing(const gs_packing *p, gs_packing_stats *stats, vb_err *e);

/* Assigns CBD, electrolyte and void to the non-CAM voxels of img, as
 * gs_generate_packing does (docs/genstruct.md): t_cbd CBD voxels where the
 * CAM fraction of the (2w+1)^3 neighbourhood is highest, t_electrolyte
 * electrolyte among the rest and void for what remains. */
int gs_fill_pores(vb_image *img, uint64_t seed, int64_t t_cbd, int64_t t_electrolyte, int w,
		  vb_err *e);

/* A quantity along x (the through-thickness axis): points (x[q], v[q]) with
 * x non-decreasing, linear between points, constant before the first and
 * after the last. Two points at one x make a step: the second value holds
 * from that x on. */
#define GS_PROFILE_MAX 256
typedef struct gs_profile {
	int n;			  /* points, >= 1 */
	double x[GS_PROFILE_MAX]; /* m */
	double v[GS_PROFILE_MAX]; /* a fraction, or a length in m */
} gs_profile;

/* Parses a profile (docs/genstruct.md) for a box of thickness length (m):
 * "F" (a constant), "X1:V1,X2:V2,..." (points; X lengths with a unit, or a
 * bare 0; strictly increasing, inside [0, length]), "linear:A:B" (A at x = 0,
 * B at length; "linear A B" too) or "steps:X1:A,X2:B,..." (A on [0, X1), B
 * on [X1, X2), ...; the last X is length or, a bare last value, left out).
 * Values are plain numbers (kind VB_UNIT_NONE) or lengths (VB_UNIT_LENGTH).
 * what names the option in messages; the caller checks the values' range. */
int gs_profile_parse(const char *text, vb_unit_kind kind, double length, const char *what,
		     gs_profile *p, vb_err *e);

/* The profile's value at x (m), and its mean over [a, b] (m, a < b). */
double gs_profile_at(const gs_profile *p, double x);
double gs_profile_mean(const gs_profile *p, double a, double b);

typedef struct gs_graded {
	int64_t n[3];		 /* voxels along x, y, z */
	double voxel_size;	 /* m */
	gs_profile cam;		 /* CAM volume fraction along x, each in [0, 0.95] */
	gs_profile diameter;	 /* median particle diameter along x, m */
	double diameter_spread;	 /* standard deviation of ln(diameter) */
	double cbd, electrolyte; /* fractions of the whole box; electrolyte < 0: the rest */
	uint64_t seed;
} gs_graded;

typedef struct gs_graded_stats {
	int64_t candidates; /* spheres of the dominating Boolean model drawn */
	int64_t particles;  /* spheres kept that hold a voxel centre: rows of spheres */
	double *spheres;    /* particles x 4: centre x, y, z and radius, m (caller frees) */
	int neck_halfwidth; /* voxels; CBD placement neighbourhood (2w+1)^3 */
} gs_graded_stats;

/* Generates one packing of whole CAM spheres whose fraction per x-slice
 * follows g->cam (and their median diameter g->diameter) by thinning a
 * dominating Boolean model with an intensity corrected slice by slice
 * (docs/genstruct.md); no sphere is cut: CAM is exactly the voxels whose
 * centre lies in a sphere of stats->spheres. CBD, electrolyte and void as
 * gs_generate_packing. Same seed, same image, any thread count. Returns a
 * new image (caller frees) or NULL with e set; stats->spheres is set only
 * on success. */
vb_image *gs_generate_graded(const gs_graded *g, gs_graded_stats *stats, vb_err *e);

/* Turns CAM and CBD into electrolyte in cylinders along x of radius (m) whose
 * axes are at (axes[2c], axes[2c+1]) (y, z in m), from x = 0 to depth (m).
 * Returns the number of voxels changed. */
int64_t gs_perforate(vb_image *img, double radius, const double *axes, int n_axes, double depth);

/* Builds a stacked image: layer l takes the x-slices [b_l, b_{l+1}) of
 * layers[l], b_l = round(nx * sum of fractions before l). All layers must
 * have the same dimensions and voxel size; fractions in [0,1] summing to 1.
 * boundaries (n+1 entries, caller's) receives b. */
vb_image *gs_stack(vb_image *const *layers, const double *fractions, int n, int64_t *boundaries,
		   vb_err *e);

/* Mirrors img along x in place. */
void gs_reverse(vb_image *img);

/* The same structure on voxels factor times smaller along every axis: each
 * voxel becomes factor^3 voxels of its phase (the shape is unchanged, so a
 * simulation on it measures the discretisation, not the image resolution).
 * Returns a new image (caller frees) or NULL with e set (too large). */
vb_image *gs_refine(const vb_image *img, int factor, vb_err *e);

/* Axis order of an external file: axis[0] is the slowest, axis[2] the fastest;
 * each entry 0 (x), 1 (y) or 2 (z). */
int gs_parse_order(const char *text, int axis[3], vb_err *e);

/* Maps external values (8- or 16-bit) to phase ids: map[v] = phase, or -1
 * if v is not allowed. gs_parse_map fills it from "V:PHASE,..." (or the
 * legend's "V=PHASE"), or identity (text NULL). */
#define GS_MAP_SIZE 65536
int gs_parse_map(const char *text, int map[GS_MAP_SIZE], vb_err *e);

/* Reads a raw uint8 file of dims (file order, slowest first) into a new image. */
vb_image *gs_import_raw(const char *path, const int64_t dims[3], const int axis[3],
			double voxel_size, const int map[GS_MAP_SIZE], vb_err *e);

/* Reads a multi-page 8- or 16-bit grey TIFF, in strips or tiles (pages
 * slowest, then rows, then columns). voxel_size NAN: take it from the
 * file's ImageJ description (unit, spacing) and resolution tags, which must
 * describe cubic voxels (the image's voxel_size is the one taken); *source
 * says where it came from ("--voxel", "ImageJ description", "TIFF
 * resolution tags"). */
vb_image *gs_import_tiff(const char *path, const int axis[3], double voxel_size,
			 const int map[GS_MAP_SIZE], const char **source, vb_err *e);

/* Writes img as raw uint8 in the given axis order to out. */
int gs_export_raw(const vb_image *img, const int axis[3], FILE *out, vb_err *e);

/* Writes img as a multi-page 8-bit TIFF (pages = axis[0]) to path, with its
 * voxel size as resolution tags (pixels per centimetre) and an ImageJ
 * description (unit, spacing) that ImageJ/Fiji and gs_import_tiff read. */
int gs_export_tiff(const vb_image *img, const int axis[3], const char *path, vb_err *e);

#endif
