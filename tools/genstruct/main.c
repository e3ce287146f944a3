/* genstruct: generate, modify and inspect cathode microstructures as voxbat
 * HDF5 files. main parses the command line, validates it, calls the
 * operations in genstruct.h and owns the exit code (0 ok, 1 failure, 2 usage). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "genstruct.h"
#include "vb_cli.h"
#include "vb_h5.h"
#include "vb_outfile.h"
#include "vb_units.h"
#include "vb_voxel.h"
#include "vb_xdmf.h"

#define PROGRAM "genstruct"
#define MAX_AXES 64
#define MAX_LAYERS 64

typedef struct command {
	const char *name;
	int (*run)(int argc, char **argv, const char *cmdline);
	const char *help;
	const char *usage;
} command;

/* Reports e on stderr as one line and returns the exit code for it. */
static int fail(const vb_err *e)
{
	fprintf(stderr, PROGRAM ": %s\n", e->msg);
	return vb_err_exit_code(e->status);
}

static int usage_error(const char *sub, const char *fmt, const char *arg)
{
	fprintf(stderr, PROGRAM " %s: ", sub);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see '" PROGRAM " %s --help')\n", sub);
	return 2;
}

/* Writes one step's parameters into its provenance record. */
typedef int (*param_writer)(hid_t record, const void *ctx, vb_err *e);

/* Writes datasets of one step beside /labels (graded's /spheres). */
typedef int (*data_writer)(hid_t file, const void *ctx, vb_err *e);

typedef struct structure_out {
	const vb_image *img;
	const char *operation, *cmdline;
	const hid_t *inputs;
	const char *const *names;
	int n_inputs;
	param_writer params;
	const void *ctx;
	data_writer data; /* NULL: none */
} structure_out;

/* The content of a structure file: /labels, the step's own datasets if
 * any, and this step's provenance. */
static int write_structure(hid_t file, const void *ctx, vb_err *e)
{
	const structure_out *s = ctx;
	if (vb_h5_write_image(file, s->img, e) != VB_OK)
		return e->status;
	if (s->data != NULL && s->data(file, s->ctx, e) != VB_OK)
		return e->status;
	hid_t rec = vb_h5_provenance_begin(file, PROGRAM, s->operation, s->cmdline, s->inputs,
					   s->names, s->n_inputs, e);
	if (rec < 0)
		return e->status;
	int rc = s->params != NULL ? s->params(rec, s->ctx, e) : VB_OK;
	H5Gclose(rec);
	return rc;
}

/* Writes the structure s to out atomically (temp file + rename). */
static int save(const char *out, const structure_out *s, vb_err *e)
{
	int rc = vb_h5_write_atomic(out, "structure", write_structure, s, e);
	/* the XDMF companion, so that ParaView shows the structure (docs/FORMAT.md) */
	if (rc == VB_OK && strcmp(out, "-") != 0)
		rc = vb_xdmf_write(out, s->img, NULL, e);
	return rc;
}

/* Writes img with provenance to out atomically (temp file + rename). */
static int save_structure(const char *out, const vb_image *img, const char *operation,
			  const hid_t *inputs, const char *const *names, int n_inputs,
			  const char *cmdline, param_writer params, const void *ctx, vb_err *e)
{
	structure_out s = {img, operation, cmdline, inputs, names, n_inputs, params, ctx, NULL};
	return save(out, &s, e);
}

/* Opens a voxbat input and reads its image; the file stays open for
 * provenance. The commands that write a structure take only a structure
 * (a cell or run transformed would be labelled one); labels_of_any also
 * takes a cell's or a run's labels (export, info). */
static int load_structure(const char *path, int labels_of_any, hid_t *file, vb_image **img,
			  vb_err *e)
{
	*img = NULL;
	*file = vb_h5_open(path, e);
	if (*file < 0)
		return e->status != VB_OK ? e->status : VB_ERR_RUN;
	char *content = NULL;
	int rc = vb_h5_attr_read_string(*file, "content", path, &content, e);
	if (rc == VB_OK && strcmp(content, "structure") != 0 &&
	    !(labels_of_any && (strcmp(content, "cell") == 0 || strcmp(content, "run") == 0)))
		rc = vb_err_set(e, VB_ERR_INPUT, "%s: content is '%s', expected %s", path, content,
				labels_of_any ? "a structure, a cell or a run"
					      : "a cathode structure (genstruct's own output)");
	free(content);
	if (rc != VB_OK) {
		vb_h5_close(*file, NULL);
		*file = -1;
		return rc;
	}
	if (vb_h5_read_image(*file, path, img, e) != VB_OK || *img == NULL) {
		vb_h5_close(*file, NULL);
		*file = -1;
		return e->status != VB_OK ? e->status : VB_ERR_RUN;
	}
	return VB_OK;
}

/* Warns when a phase set does not connect x = 0 to x = L. */
static void warn_percolation(const vb_image *img, const char *what, const uint8_t member[8])
{
	if (vb_voxel_percolates_x(img, member) == 0)
		fprintf(stderr, PROGRAM ": warning: %s does not percolate along x\n", what);
}

static const uint8_t CAM_SET[VB_PHASE_COUNT] = {[VB_PHASE_CAM] = 1};
static const uint8_t ION_SET[VB_PHASE_COUNT] = {[VB_PHASE_ELECTROLYTE] = 1, [VB_PHASE_CBD] = 1};

/* Options of commands that take only -o, -q and --help: 0 ok, -1 for
 * --help, 2 for a usage error (getopt has printed it). */
static int parse_output_options(int argc, char **argv, const char **out)
{
	static const struct option opts[] = {
		{"output", required_argument, 0, 'o'},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': *out = optarg; break;
		case 'q': break;
		case 'h': return -1;
		default: return 2;
		}
	}
	return 0;
}

/* ---- homogeneous ---------------------------------------------------------------- */

typedef struct homogeneous_ctx {
	gs_packing p;
	gs_packing_stats stats;
	double size[3];
} homogeneous_ctx;

static int homogeneous_params(hid_t rec, const void *ctx, vb_err *e)
{
	const homogeneous_ctx *c = ctx;
	int rc = vb_h5_attr_write_int64(rec, "seed", (int64_t)c->p.seed, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_doubles(rec, "size_m", c->size, 3, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_double(rec, "voxel_size_m", c->p.voxel_size, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_double(rec, "target_cam", c->p.cam, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_double(rec, "target_cbd", c->p.cbd, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_double(rec, "target_electrolyte", c->p.electrolyte, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_double(rec, "diameter_median_m", c->p.diameter_median, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_double(rec, "diameter_spread", c->p.diameter_spread, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_int64(rec, "particles", c->stats.particles, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_int64(rec, "neck_halfwidth_voxels", c->stats.neck_halfwidth,
					    e);
	return rc;
}

/* The options `homogeneous` and `graded` share; the required ones are
 * checked here, with an example of each in the message. */
typedef struct packing_args {
	const char *size, *voxel, *cam, *cbd, *el, *diameter, *spread, *seed, *out;
} packing_args;

/* 0 when parsed, -1 for --help, else the exit status of a usage error. */
static int parse_packing_args(int argc, char **argv, const char *sub, const char *size_example,
			      const char *cam_required, packing_args *a)
{
	static const struct option opts[] = {
		{"size", required_argument, 0, 's'},
		{"voxel", required_argument, 0, 'v'},
		{"cam", required_argument, 0, 'c'},
		{"cbd", required_argument, 0, 'b'},
		{"electrolyte", required_argument, 0, 'e'},
		{"diameter", required_argument, 0, 'd'},
		{"spread", required_argument, 0, 'w'},
		{"seed", required_argument, 0, 'r'},
		{"output", required_argument, 0, 'o'},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	*a = (packing_args){
		.voxel = "1um", .cbd = "0", .diameter = "8um", .spread = "0.25", .seed = "1"};
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 's': a->size = optarg; break;
		case 'v': a->voxel = optarg; break;
		case 'c': a->cam = optarg; break;
		case 'b': a->cbd = optarg; break;
		case 'e': a->el = optarg; break;
		case 'd': a->diameter = optarg; break;
		case 'w': a->spread = optarg; break;
		case 'r': a->seed = optarg; break;
		case 'o': a->out = optarg; break;
		case 'q': break;
		case 'h': return -1;
		default: return 2;
		}
	}
	if (optind != argc)
		return usage_error(sub, "unexpected argument '%s'", argv[optind]);
	if (a->size == NULL)
		return usage_error(sub, "--size is required (e.g. --size %s)", size_example);
	if (a->cam == NULL)
		return usage_error(sub, "%s", cam_required);
	if (a->out == NULL)
		return usage_error(sub, "%s", "-o OUTPUT is required");
	return 0;
}

static int run_homogeneous(int argc, char **argv, const char *cmdline)
{
	packing_args args;
	int prc = parse_packing_args(argc, argv, "homogeneous", "106x60x60um",
				     "--cam is required (e.g. --cam 0.65)", &args);
	if (prc != 0)
		return prc;
	vb_err e;
	vb_err_clear(&e);
	homogeneous_ctx ctx;
	memset(&ctx, 0, sizeof ctx);
	gs_packing *p = &ctx.p;
	double seed_value = 0;
	if (vb_units_parse_triple(args.size, VB_UNIT_LENGTH, "--size", ctx.size, &e) ||
	    vb_units_parse(args.voxel, VB_UNIT_LENGTH, "--voxel", &p->voxel_size, &e) ||
	    vb_units_parse_number(args.cam, "--cam", &p->cam, &e) ||
	    vb_units_parse_number(args.cbd, "--cbd", &p->cbd, &e) ||
	    vb_units_parse(args.diameter, VB_UNIT_LENGTH, "--diameter", &p->diameter_median, &e) ||
	    vb_units_parse_number(args.spread, "--spread", &p->diameter_spread, &e) ||
	    vb_units_parse_number(args.seed, "--seed", &seed_value, &e))
		return fail(&e);
	if (args.el != NULL && vb_units_parse_number(args.el, "--electrolyte", &p->electrolyte, &e))
		return fail(&e);
	if (args.el == NULL)
		p->electrolyte = fmax(0.0, 1.0 - p->cam - p->cbd);
	if (!(seed_value >= 0 && seed_value <= 9007199254740992.0 &&
	      seed_value == floor(seed_value))) {
		vb_err_set(&e, VB_ERR_INPUT, "--seed: '%s' is not a whole number >= 0", args.seed);
		return fail(&e);
	}
	p->seed = (uint64_t)seed_value;
	if (!(p->voxel_size > 0)) {
		vb_err_set(&e, VB_ERR_INPUT, "--voxel: %s, expected > 0", args.voxel);
		return fail(&e);
	}
	static const char *const axis_opt[3] = {"--size (x)", "--size (y)", "--size (z)"};
	for (int a = 0; a < 3; a++)
		if (vb_units_whole_voxels(ctx.size[a], p->voxel_size, axis_opt[a], &p->n[a], &e))
			return fail(&e);
	if (vb_xdmf_check(args.out, NULL, 0, &e))
		return fail(&e);
	vb_image *img = gs_generate_packing(p, &ctx.stats, &e);
	if (img == NULL)
		return fail(&e);
	warn_percolation(img, "CAM", CAM_SET);
	warn_percolation(img, "the ion-conducting phase (electrolyte + CBD)", ION_SET);
	int rc = save_structure(args.out, img, "homogeneous", NULL, NULL, 0, cmdline,
				homogeneous_params, &ctx, &e);
	vb_voxel_free(&img);
	return rc == VB_OK ? 0 : fail(&e);
}

/* ---- graded --------------------------------------------------------------------- */

typedef struct graded_ctx {
	gs_graded g;
	gs_graded_stats stats;
	double size[3];
	const char *cam_text, *diameter_text;
} graded_ctx;

/* A profile as three attributes: the text given, its points' x and values. */
static int write_profile(hid_t rec, const char *name, const char *text, const gs_profile *p,
			 const char *values, vb_err *e)
{
	char key[64];
	int rc = vb_h5_attr_write_string(rec, name, text, e);
	snprintf(key, sizeof key, "%s_x_m", name);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_doubles(rec, key, p->x, p->n, e);
	snprintf(key, sizeof key, "%s_%s", name, values);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_doubles(rec, key, p->v, p->n, e);
	return rc;
}

static int graded_params(hid_t rec, const void *ctx, vb_err *e)
{
	const graded_ctx *c = ctx;
	const gs_graded *g = &c->g;
	const double lx = c->size[0];
	const double cam = gs_profile_mean(&g->cam, 0, lx);
	const double el = g->electrolyte < 0 ? fmax(0.0, 1.0 - cam - g->cbd) : g->electrolyte;
	int rc = vb_h5_attr_write_int64(rec, "seed", (int64_t)g->seed, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_doubles(rec, "size_m", c->size, 3, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_double(rec, "voxel_size_m", g->voxel_size, e);
	if (rc == VB_OK)
		rc = write_profile(rec, "cam_profile", c->cam_text, &g->cam, "values", e);
	if (rc == VB_OK)
		rc = write_profile(rec, "diameter_profile", c->diameter_text, &g->diameter, "m", e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_double(rec, "target_cam", cam, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_double(rec, "target_cbd", g->cbd, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_double(rec, "target_electrolyte", el, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_double(rec, "diameter_spread", g->diameter_spread, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_int64(rec, "candidates", c->stats.candidates, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_int64(rec, "particles", c->stats.particles, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_int64(rec, "neck_halfwidth_voxels", c->stats.neck_halfwidth,
					    e);
	return rc;
}

/* /spheres: the CAM spheres, one row x, y, z, r (m) each (docs/FORMAT.md). */
static int graded_spheres(hid_t file, const void *ctx, vb_err *e)
{
	const graded_ctx *c = ctx;
	hsize_t dims[2] = {(hsize_t)c->stats.particles, 4};
	hid_t space = H5Screate_simple(2, dims, NULL);
	hid_t d = space < 0 ? -1
			    : H5Dcreate2(file, "spheres", H5T_IEEE_F64LE, space, H5P_DEFAULT,
					 H5P_DEFAULT, H5P_DEFAULT);
	int rc = VB_OK;
	if (d < 0 || (dims[0] > 0 && H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
					      c->stats.spheres) < 0))
		rc = vb_err_set(e, VB_ERR_RUN, "cannot write /spheres");
	if (rc == VB_OK)
		rc = vb_h5_attr_write_string(d, "units", "m", e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_string(d, "columns", "x, y, z, radius", e);
	if (d >= 0)
		H5Dclose(d);
	if (space >= 0)
		H5Sclose(space);
	return rc;
}

static int run_graded(int argc, char **argv, const char *cmdline)
{
	packing_args args;
	int prc = parse_packing_args(argc, argv, "graded", "100x80x80um",
				     "--cam PROFILE is required (e.g. --cam 0:0.55,100um:0.75)",
				     &args);
	if (prc != 0)
		return prc;
	vb_err e;
	vb_err_clear(&e);
	graded_ctx *ctx = calloc(1, sizeof *ctx); /* two profiles: 8 kB, not for the stack */
	if (ctx == NULL) {
		fprintf(stderr, PROGRAM ": out of memory\n");
		return 1;
	}
	gs_graded *g = &ctx->g;
	ctx->cam_text = args.cam;
	ctx->diameter_text = args.diameter;
	double seed_value = 0;
	static const char *const axis_opt[3] = {"--size (x)", "--size (y)", "--size (z)"};
	int rc = VB_OK;
	if (vb_units_parse_triple(args.size, VB_UNIT_LENGTH, "--size", ctx->size, &e) ||
	    vb_units_parse(args.voxel, VB_UNIT_LENGTH, "--voxel", &g->voxel_size, &e) ||
	    vb_units_parse_number(args.cbd, "--cbd", &g->cbd, &e) ||
	    vb_units_parse_number(args.spread, "--spread", &g->diameter_spread, &e) ||
	    vb_units_parse_number(args.seed, "--seed", &seed_value, &e) ||
	    (args.el != NULL &&
	     vb_units_parse_number(args.el, "--electrolyte", &g->electrolyte, &e)))
		rc = e.status;
	if (rc == VB_OK && !(seed_value >= 0 && seed_value <= 9007199254740992.0 &&
			     seed_value == floor(seed_value)))
		rc = vb_err_set(&e, VB_ERR_INPUT, "--seed: '%s' is not a whole number >= 0",
				args.seed);
	if (rc == VB_OK && !(g->voxel_size > 0))
		rc = vb_err_set(&e, VB_ERR_INPUT, "--voxel: %s, expected > 0", args.voxel);
	for (int a = 0; a < 3 && rc == VB_OK; a++)
		rc = vb_units_whole_voxels(ctx->size[a], g->voxel_size, axis_opt[a], &g->n[a], &e);
	if (rc == VB_OK && args.el != NULL && !(g->electrolyte >= 0))
		rc = vb_err_set(&e, VB_ERR_INPUT, "--electrolyte %g: expected >= 0",
				g->electrolyte);
	if (rc == VB_OK &&
	    (gs_profile_parse(args.cam, VB_UNIT_NONE, ctx->size[0], "--cam", &g->cam, &e) ||
	     gs_profile_parse(args.diameter, VB_UNIT_LENGTH, ctx->size[0], "--diameter",
			      &g->diameter, &e)))
		rc = e.status;
	g->seed = (uint64_t)seed_value;
	if (args.el == NULL)
		g->electrolyte = -1; /* the rest */
	if (rc == VB_OK)
		rc = vb_xdmf_check(args.out, NULL, 0, &e);
	vb_image *img = rc == VB_OK ? gs_generate_graded(g, &ctx->stats, &e) : NULL;
	if (rc == VB_OK && img == NULL)
		rc = e.status;
	if (rc == VB_OK) {
		warn_percolation(img, "CAM", CAM_SET);
		warn_percolation(img, "the ion-conducting phase (electrolyte + CBD)", ION_SET);
		structure_out s = {img, "graded", cmdline, NULL, NULL, 0, graded_params, ctx, NULL};
		s.data = graded_spheres;
		rc = save(args.out, &s, &e);
	}
	vb_voxel_free(&img);
	free(ctx->stats.spheres);
	free(ctx);
	return rc == VB_OK ? 0 : fail(&e);
}

/* ---- perforate ------------------------------------------------------------------ */

typedef struct perforate_ctx {
	double radius, depth;
	double axes[2 * MAX_AXES];
	int n_axes;
	int64_t changed;
} perforate_ctx;

static int perforate_params(hid_t rec, const void *ctx, vb_err *e)
{
	const perforate_ctx *c = ctx;
	int rc = vb_h5_attr_write_double(rec, "radius_m", c->radius, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_double(rec, "depth_m", c->depth, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_doubles(rec, "axes_yz_m", c->axes, 2 * c->n_axes, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_int64(rec, "voxels_changed", c->changed, e);
	return rc;
}

static int parse_axis(const char *text, double yz[2], vb_err *e)
{
	const char *comma = strchr(text, ',');
	char first[128];
	if (comma == NULL || (size_t)(comma - text) >= sizeof first)
		return vb_err_set(e, VB_ERR_INPUT,
				  "--axis '%s': expected Y,Z with units (e.g. 30um,30um)", text);
	memcpy(first, text, (size_t)(comma - text));
	first[comma - text] = '\0';
	if (vb_units_parse(first, VB_UNIT_LENGTH, "--axis (y)", &yz[0], e) ||
	    vb_units_parse(comma + 1, VB_UNIT_LENGTH, "--axis (z)", &yz[1], e))
		return e->status;
	return VB_OK;
}

static int run_perforate(int argc, char **argv, const char *cmdline)
{
	static const struct option opts[] = {
		{"radius", required_argument, 0, 'r'},
		{"axis", required_argument, 0, 'a'},
		{"depth", required_argument, 0, 'd'},
		{"output", required_argument, 0, 'o'},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	const char *radius = NULL, *depth = NULL, *out = NULL;
	const char *axes[MAX_AXES];
	int n_axes = 0, c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'r': radius = optarg; break;
		case 'a':
			if (n_axes == MAX_AXES)
				return usage_error("perforate", "%s", "too many --axis options");
			axes[n_axes++] = optarg;
			break;
		case 'd': depth = optarg; break;
		case 'o': out = optarg; break;
		case 'q': break;
		case 'h': return -1;
		default: return 2;
		}
	}
	if (optind != argc - 1)
		return usage_error("perforate", "%s", "expected one input file");
	if (radius == NULL)
		return usage_error("perforate", "%s", "--radius is required (e.g. --radius 16um)");
	if (out == NULL)
		return usage_error("perforate", "%s", "-o OUTPUT is required");
	const char *in = argv[optind];
	vb_err e;
	vb_err_clear(&e);
	perforate_ctx ctx;
	memset(&ctx, 0, sizeof ctx);
	if (vb_units_parse(radius, VB_UNIT_LENGTH, "--radius", &ctx.radius, &e))
		return fail(&e);
	for (int a = 0; a < n_axes; a++)
		if (parse_axis(axes[a], &ctx.axes[2 * a], &e))
			return fail(&e);
	ctx.n_axes = n_axes > 0 ? n_axes : 1; /* default: the y = 0, z = 0 edge */
	if (depth != NULL && vb_units_parse(depth, VB_UNIT_LENGTH, "--depth", &ctx.depth, &e))
		return fail(&e);
	if (vb_xdmf_check(out, &in, 1, &e))
		return fail(&e);
	hid_t file;
	vb_image *img;
	if (load_structure(in, 0, &file, &img, &e) != VB_OK)
		return fail(&e);
	const double h = img->voxel_size, ly = img->ny * h, lz = img->nz * h, lx = img->nx * h;
	if (depth == NULL)
		ctx.depth = lx;
	int rc = VB_OK;
	if (ctx.radius < 0 || ctx.radius > fmin(ly, lz))
		rc = vb_err_set(&e, VB_ERR_INPUT,
				"--radius %g um: expected between 0 and the box "
				"cross-section %g x %g um",
				ctx.radius * 1e6, ly * 1e6, lz * 1e6);
	for (int a = 0; a < ctx.n_axes && rc == VB_OK; a++)
		if (ctx.axes[2 * a] < 0 || ctx.axes[2 * a] > ly || ctx.axes[2 * a + 1] < 0 ||
		    ctx.axes[2 * a + 1] > lz)
			rc = vb_err_set(&e, VB_ERR_INPUT,
					"--axis %g,%g um lies outside the cross-section "
					"0..%g x 0..%g um",
					ctx.axes[2 * a] * 1e6, ctx.axes[2 * a + 1] * 1e6, ly * 1e6,
					lz * 1e6);
	if (rc == VB_OK && !(ctx.depth > 0 && ctx.depth <= lx * (1 + 1e-9)))
		rc = vb_err_set(&e, VB_ERR_INPUT,
				"--depth %g um: expected > 0 and at most the "
				"thickness %g um",
				ctx.depth * 1e6, lx * 1e6);
	if (rc == VB_OK) {
		ctx.changed = gs_perforate(img, ctx.radius, ctx.axes, ctx.n_axes, ctx.depth);
		const char *names[1] = {in};
		rc = save_structure(out, img, "perforate", &file, names, 1, cmdline,
				    perforate_params, &ctx, &e);
	}
	vb_h5_close(file, NULL);
	vb_voxel_free(&img);
	return rc == VB_OK ? 0 : fail(&e);
}

/* ---- stack ---------------------------------------------------------------------- */

typedef struct stack_ctx {
	double fractions[MAX_LAYERS];
	int64_t boundaries[MAX_LAYERS + 1];
	int n;
} stack_ctx;

static int stack_params(hid_t rec, const void *ctx, vb_err *e)
{
	const stack_ctx *c = ctx;
	double b[MAX_LAYERS + 1];
	for (int l = 0; l <= c->n; l++)
		b[l] = (double)c->boundaries[l];
	int rc = vb_h5_attr_write_doubles(rec, "thickness_fractions", c->fractions, c->n, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_doubles(rec, "layer_boundaries_voxels", b, c->n + 1, e);
	return rc;
}

static int run_stack(int argc, char **argv, const char *cmdline)
{
	const char *out = NULL;
	int rc = parse_output_options(argc, argv, &out);
	if (rc != 0)
		return rc;
	int n = argc - optind;
	if (n < 2 || n > MAX_LAYERS)
		return usage_error("stack", "%s", "expected 2 to 64 layers FILE:FRACTION");
	if (out == NULL)
		return usage_error("stack", "%s", "-o OUTPUT is required");
	vb_err e;
	vb_err_clear(&e);
	stack_ctx ctx;
	memset(&ctx, 0, sizeof ctx);
	ctx.n = n;
	char paths[MAX_LAYERS][4096];
	const char *names[MAX_LAYERS];
	for (int l = 0; l < n; l++) {
		if (vb_cli_split_path_number(argv[optind + l], "stack", paths[l], sizeof paths[l],
					     &ctx.fractions[l], &e))
			return fail(&e);
		names[l] = paths[l];
	}
	if (vb_xdmf_check(out, names, n, &e))
		return fail(&e);
	hid_t files[MAX_LAYERS];
	vb_image *layers[MAX_LAYERS];
	int loaded = 0;
	for (; loaded < n && rc == VB_OK; loaded++) {
		rc = load_structure(paths[loaded], 0, &files[loaded], &layers[loaded], &e);
		if (rc != VB_OK)
			break;
	}
	vb_image *img = NULL;
	if (rc == VB_OK) {
		img = gs_stack(layers, ctx.fractions, n, ctx.boundaries, &e);
		if (img == NULL) {
			rc = e.status;
			vb_err_prefix(&e, "stack");
		}
	}
	if (rc == VB_OK)
		rc = save_structure(out, img, "stack", files, names, n, cmdline, stack_params, &ctx,
				    &e);
	for (int l = 0; l < loaded; l++) {
		vb_h5_close(files[l], NULL);
		vb_voxel_free(&layers[l]);
	}
	vb_voxel_free(&img);
	return rc == VB_OK ? 0 : fail(&e);
}

/* ---- reverse -------------------------------------------------------------------- */

static int run_reverse(int argc, char **argv, const char *cmdline)
{
	const char *out = NULL;
	int rc = parse_output_options(argc, argv, &out);
	if (rc != 0)
		return rc;
	if (optind != argc - 1)
		return usage_error("reverse", "%s", "expected one input file");
	if (out == NULL)
		return usage_error("reverse", "%s", "-o OUTPUT is required");
	const char *in = argv[optind];
	vb_err e;
	vb_err_clear(&e);
	if (vb_xdmf_check(out, &in, 1, &e))
		return fail(&e);
	hid_t file;
	vb_image *img;
	if (load_structure(in, 0, &file, &img, &e) != VB_OK)
		return fail(&e);
	gs_reverse(img);
	const char *names[1] = {in};
	rc = save_structure(out, img, "reverse", &file, names, 1, cmdline, NULL, NULL, &e);
	vb_h5_close(file, NULL);
	vb_voxel_free(&img);
	return rc == VB_OK ? 0 : fail(&e);
}

/* ---- refine --------------------------------------------------------------------- */

static int refine_params(hid_t rec, const void *ctx, vb_err *e)
{
	return vb_h5_attr_write_int64(rec, "factor", *(const int *)ctx, e);
}

static int run_refine(int argc, char **argv, const char *cmdline)
{
	static const struct option opts[] = {
		{"factor", required_argument, 0, 'f'},
		{"output", required_argument, 0, 'o'},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	const char *out = NULL, *factor_s = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': factor_s = optarg; break;
		case 'o': out = optarg; break;
		case 'q': break;
		case 'h': return -1;
		default: return 2;
		}
	}
	if (optind != argc - 1)
		return usage_error("refine", "%s", "expected one input file");
	if (out == NULL)
		return usage_error("refine", "%s", "-o OUTPUT is required");
	if (factor_s == NULL)
		return usage_error("refine", "%s", "--factor N is required");
	vb_err e;
	vb_err_clear(&e);
	double fv = 0;
	if (vb_units_parse_number(factor_s, "--factor", &fv, &e) != VB_OK)
		return fail(&e);
	if (!(fv >= 2 && fv <= 16 && fv == floor(fv)))
		return usage_error("refine", "--factor %s: expected a whole number from 2 to 16",
				   factor_s);
	const int factor = (int)fv;
	const char *in = argv[optind];
	if (vb_xdmf_check(out, &in, 1, &e))
		return fail(&e);
	hid_t file;
	vb_image *img;
	if (load_structure(in, 0, &file, &img, &e) != VB_OK)
		return fail(&e);
	vb_image *fine = gs_refine(img, factor, &e);
	int rc = fine ? VB_OK : e.status;
	const char *names[1] = {in};
	if (rc == VB_OK)
		rc = save_structure(out, fine, "refine", &file, names, 1, cmdline, refine_params,
				    &factor, &e);
	vb_h5_close(file, NULL);
	vb_voxel_free(&img);
	vb_voxel_free(&fine);
	return rc == VB_OK ? 0 : fail(&e);
}

/* ---- import / export ------------------------------------------------------------ */

typedef struct import_ctx {
	const char *source, *format, *order, *map, *voxel_source;
} import_ctx;

static int import_params(hid_t rec, const void *ctx, vb_err *e)
{
	const import_ctx *c = ctx;
	int rc = vb_h5_attr_write_string(rec, "source", c->source, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_string(rec, "source_format", c->format, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_string(rec, "axis_order", c->order, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_string(rec, "value_map", c->map ? c->map : "identity", e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_string(rec, "voxel_size_from", c->voxel_source, e);
	return rc;
}

/* Copies standard input into a new file under $TMPDIR (or /tmp) and puts
 * its name in path; the caller removes it. */
static int spool_stdin(char *path, size_t size, vb_err *e)
{
	const char *dir = getenv("TMPDIR");
	if (snprintf(path, size, "%s/genstruct-stdin.XXXXXX", dir && dir[0] ? dir : "/tmp") >=
	    (int)size)
		return vb_err_set(e, VB_ERR_INPUT, "$TMPDIR too long");
	int fd = mkstemp(path);
	if (fd < 0) {
		path[0] = '\0';
		return vb_err_set(e, VB_ERR_RUN, "-: cannot spool standard input: %s",
				  strerror(errno));
	}
	char buf[1 << 16];
	size_t n;
	int rc = VB_OK;
	while (rc == VB_OK && (n = fread(buf, 1, sizeof buf, stdin)) > 0)
		if (write(fd, buf, n) != (ssize_t)n)
			rc = vb_err_set(e, VB_ERR_RUN, "-: cannot spool standard input: %s",
					strerror(errno));
	if (rc == VB_OK && ferror(stdin))
		rc = vb_err_set(e, VB_ERR_INPUT, "-: cannot read standard input");
	close(fd);
	if (rc != VB_OK) {
		unlink(path);
		path[0] = '\0';
	}
	return rc;
}

/* The spool file's name in a message replaced by "-", the name the user gave. */
static void name_as_stdin(vb_err *e, const char *spool)
{
	char out[sizeof e->msg];
	size_t o = 0, len = strlen(spool);
	for (const char *c = e->msg; *c && o + 2 < sizeof out;) {
		if (strncmp(c, spool, len) == 0)
			out[o++] = '-', c += len;
		else
			out[o++] = *c++;
	}
	out[o] = '\0';
	memcpy(e->msg, out, o + 1);
}

static int run_import(int argc, char **argv, const char *cmdline)
{
	static const struct option opts[] = {
		{"raw", required_argument, 0, 'r'},    {"tiff", required_argument, 0, 't'},
		{"dims", required_argument, 0, 'd'},   {"order", required_argument, 0, 'a'},
		{"voxel", required_argument, 0, 'v'},  {"map", required_argument, 0, 'm'},
		{"output", required_argument, 0, 'o'}, {"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},	       {0, 0, 0, 0},
	};
	const char *raw = NULL, *tiff = NULL, *dims = NULL, *voxel = NULL, *out = NULL;
	import_ctx ctx = {NULL, NULL, "xyz", NULL, NULL};
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'r': raw = optarg; break;
		case 't': tiff = optarg; break;
		case 'd': dims = optarg; break;
		case 'a': ctx.order = optarg; break;
		case 'v': voxel = optarg; break;
		case 'm': ctx.map = optarg; break;
		case 'o': out = optarg; break;
		case 'q': break;
		case 'h': return -1;
		default: return 2;
		}
	}
	if (optind != argc)
		return usage_error("import", "unexpected argument '%s'", argv[optind]);
	if ((raw == NULL) == (tiff == NULL))
		return usage_error("import", "%s", "give exactly one of --raw FILE or --tiff FILE");
	if (raw != NULL && dims == NULL)
		return usage_error("import", "%s",
				   "--raw needs --dims AxBxC (e.g. --dims 100x80x80)");
	if (tiff != NULL && dims != NULL)
		return usage_error("import", "%s",
				   "--dims is for --raw; a TIFF stack has its own size");
	if (voxel == NULL && raw != NULL)
		return usage_error("import", "%s", "--raw needs --voxel (e.g. --voxel 1um)");
	if (out == NULL)
		return usage_error("import", "%s", "-o OUTPUT is required");
	vb_err e;
	vb_err_clear(&e);
	int axis[3];
	static int map[GS_MAP_SIZE];
	int64_t n[3];
	double h = NAN; /* a TIFF without --voxel: from its tags */
	if (gs_parse_order(ctx.order, axis, &e) || gs_parse_map(ctx.map, map, &e) ||
	    (voxel && vb_units_parse(voxel, VB_UNIT_LENGTH, "--voxel", &h, &e)) ||
	    (dims && vb_units_parse_counts(dims, "--dims", n, &e)))
		return fail(&e);
	if (voxel && !(h > 0))
		return usage_error("import", "--voxel %s: expected a length > 0", voxel);
	ctx.source = raw ? raw : tiff;
	ctx.format = raw ? "raw uint8" : "TIFF";
	if (vb_xdmf_check(out, &ctx.source, 1, &e))
		return fail(&e);
	ctx.voxel_source = "--voxel";
	/* "-": standard input, spooled to a file (libtiff seeks; a raw file's
	 * size is checked against --dims), whose name messages show as "-" */
	char spool[PATH_MAX] = "";
	const char *src = raw ? raw : tiff;
	if (strcmp(src, "-") == 0 && spool_stdin(spool, sizeof spool, &e) != VB_OK)
		return fail(&e);
	if (spool[0])
		src = spool;
	vb_image *img = raw ? gs_import_raw(src, n, axis, h, map, &e)
			    : gs_import_tiff(src, axis, h, map, &ctx.voxel_source, &e);
	if (spool[0]) {
		unlink(spool);
		if (img == NULL)
			name_as_stdin(&e, spool);
	}
	if (img == NULL)
		return fail(&e);
	int rc =
		save_structure(out, img, "import", NULL, NULL, 0, cmdline, import_params, &ctx, &e);
	vb_voxel_free(&img);
	return rc == VB_OK ? 0 : fail(&e);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int run_export(int argc, char **argv, const char *cmdline)
{
	(void)cmdline;
	static const struct option opts[] = {
		{"order", required_argument, 0, 'a'},  {"format", required_argument, 0, 'f'},
		{"output", required_argument, 0, 'o'}, {"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},	       {0, 0, 0, 0},
	};
	const char *order = "xyz", *format = NULL, *out = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'a': order = optarg; break;
		case 'f': format = optarg; break;
		case 'o': out = optarg; break;
		case 'q': break;
		case 'h': return -1;
		default: return 2;
		}
	}
	if (optind != argc - 1)
		return usage_error("export", "%s", "expected one input file");
	if (out == NULL)
		return usage_error("export", "%s", "-o OUTPUT is required");
	if (format == NULL && (ends_with(out, ".tif") || ends_with(out, ".tiff")))
		format = "tiff";
	else if (format == NULL && (ends_with(out, ".raw") || strcmp(out, "-") == 0))
		format = "raw";
	else if (format == NULL)
		return usage_error("export",
				   "-o %s: the name does not say raw or TIFF; end it in .raw, "
				   ".tif or .tiff, or give --format raw|tiff",
				   out);
	if (strcmp(format, "raw") != 0 && strcmp(format, "tiff") != 0)
		return usage_error("export", "--format '%s': expected raw or tiff", format);
	if (strcmp(format, "tiff") == 0 && strcmp(out, "-") == 0)
		return usage_error("export", "%s", "TIFF cannot be written to standard output");
	const char *in = argv[optind];
	vb_err e;
	vb_err_clear(&e);
	int axis[3];
	if (gs_parse_order(order, axis, &e) || vb_outfile_check(out, &in, 1, &e))
		return fail(&e);
	hid_t file;
	vb_image *img;
	if (load_structure(in, 1, &file, &img, &e) != VB_OK)
		return fail(&e);
	vb_h5_close(file, NULL);
	vb_outfile of;
	int rc = vb_outfile_begin(&of, out, &e);
	if (rc == VB_OK && strcmp(format, "tiff") == 0) {
		rc = gs_export_tiff(img, axis, of.tmp_path, &e);
	} else if (rc == VB_OK) {
		FILE *f = fopen(of.tmp_path, "wb");
		rc = f ? gs_export_raw(img, axis, f, &e)
		       : vb_err_set(&e, VB_ERR_RUN, "%s: cannot write", of.tmp_path);
		if (f != NULL && fclose(f) != 0 && rc == VB_OK)
			rc = vb_err_set(&e, VB_ERR_RUN, "%s: write failed", out);
	}
	if (rc == VB_OK)
		rc = vb_outfile_commit(&of, &e);
	else
		vb_outfile_abort(&of);
	vb_voxel_free(&img);
	return rc == VB_OK ? 0 : fail(&e);
}

/* ---- info ----------------------------------------------------------------------- */

static int print_profile(const vb_image *img)
{
	double *f = malloc((size_t)img->nx * VB_PHASE_COUNT * sizeof *f);
	if (f == NULL) {
		fprintf(stderr, PROGRAM ": out of memory\n");
		return 1;
	}
	vb_voxel_slice_fractions(img, f);
	printf("x_um");
	for (int p = 0; p < VB_PHASE_COUNT; p++)
		printf(",%s", vb_voxel_phase_name(p));
	printf("\n");
	for (int64_t i = 0; i < img->nx; i++) {
		printf("%.6g", (i + 0.5) * img->voxel_size * 1e6);
		for (int p = 0; p < VB_PHASE_COUNT; p++)
			printf(",%.6f", f[i * VB_PHASE_COUNT + p]);
		printf("\n");
	}
	free(f);
	return 0;
}

static int run_info(int argc, char **argv, const char *cmdline)
{
	(void)cmdline;
	static const struct option opts[] = {
		{"json", no_argument, 0, 'j'},
		{"profile", no_argument, 0, 'p'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int json = 0, profile = 0, c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'p': profile = 1; break;
		case 'h': return -1;
		default: return 2;
		}
	}
	if (optind != argc - 1)
		return usage_error("info", "%s", "expected one input file");
	if (json && profile)
		return usage_error("info", "%s", "--json and --profile are exclusive");
	const char *in = argv[optind];
	vb_err e;
	vb_err_clear(&e);
	hid_t file;
	vb_image *img;
	if (load_structure(in, 1, &file, &img, &e) != VB_OK)
		return fail(&e);
	vb_h5_close(file, NULL);
	if (profile) {
		int rc = print_profile(img);
		vb_voxel_free(&img);
		return rc;
	}
	int64_t counts[VB_PHASE_COUNT];
	vb_voxel_count_phases(img, counts, NULL);
	const double total = (double)vb_voxel_count(img), h = img->voxel_size;
	int cam_perc = vb_voxel_percolates_x(img, CAM_SET);
	int ion_perc = vb_voxel_percolates_x(img, ION_SET);
	if (cam_perc < 0 || ion_perc < 0) {
		/* not a "no": the check itself could not run (it was reported as
		 * one); it needs 10 bytes per voxel */
		const int64_t mb = vb_voxel_count(img) / 100000 + 1; /* 10 bytes a voxel */
		vb_voxel_free(&img);
		vb_err_set(&e, VB_ERR_RUN,
			   "%s: out of memory for the percolation check (about %lld MB)", in,
			   (long long)mb);
		return fail(&e);
	}
	if (json) {
		json_t *root = json_object(), *phases = json_object();
		json_object_set_new(root, "file", json_string(in));
		json_object_set_new(root, "dims",
				    json_pack("[III]", (json_int_t)img->nx, (json_int_t)img->ny,
					      (json_int_t)img->nz));
		json_object_set_new(root, "voxel_size_m", json_real(h));
		json_object_set_new(root, "size_um",
				    json_pack("[fff]", img->nx * h * 1e6, img->ny * h * 1e6,
					      img->nz * h * 1e6));
		for (int p = 0; p < VB_PHASE_COUNT; p++)
			json_object_set_new(phases, vb_voxel_phase_name(p),
					    json_pack("{s:i,s:I,s:f}", "id", p, "count",
						      (json_int_t)counts[p], "fraction",
						      (double)counts[p] / total));
		json_object_set_new(root, "phases", phases);
		json_object_set_new(root, "percolates_x",
				    json_pack("{s:b,s:b}", "CAM", cam_perc == 1, "ion_conductor",
					      ion_perc == 1));
		char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
						      JSON_REAL_PRECISION(10));
		if (text != NULL)
			printf("%s\n", text);
		free(text);
		json_decref(root);
	} else {
		printf("file        %s\n", in);
		printf("voxels      %lld x %lld x %lld (x, y, z)\n", (long long)img->nx,
		       (long long)img->ny, (long long)img->nz);
		printf("size        %g x %g x %g um, voxel %g um\n", img->nx * h * 1e6,
		       img->ny * h * 1e6, img->nz * h * 1e6, h * 1e6);
		printf("%-12s %2s %12s %10s\n", "phase", "id", "voxels", "fraction");
		for (int p = 0; p < VB_PHASE_COUNT; p++)
			if (p <= VB_PHASE_CBD || counts[p] > 0)
				printf("%-12s %2d %12lld %10.6f\n", vb_voxel_phase_name(p), p,
				       (long long)counts[p], (double)counts[p] / total);
		printf("percolates along x: CAM %s, ion conductor (electrolyte + CBD) %s\n",
		       cam_perc == 1 ? "yes" : "no", ion_perc == 1 ? "yes" : "no");
	}
	vb_voxel_free(&img);
	return 0;
}

/* ---- dispatch ------------------------------------------------------------------- */

static const command commands[] = {
	{"homogeneous", run_homogeneous, "random packing of CAM particles, CBD and electrolyte",
	 "usage: genstruct homogeneous --size XxYxZ[unit] --cam F [options] -o OUT.h5\n"
	 "  --size XxYxZunit    box size, e.g. 106x60x60um (a whole number of voxels)\n"
	 "  --voxel LEN         voxel edge length (default 1um)\n"
	 "  --cam F             CAM volume fraction (required, at most 0.95)\n"
	 "  --cbd F             carbon-binder volume fraction (default 0)\n"
	 "  --electrolyte F     electrolyte volume fraction (default: 1 - cam - cbd)\n"
	 "                      void is 1 - cam - cbd - electrolyte\n"
	 "  --diameter LEN      median particle diameter (default 8um)\n"
	 "  --spread S          standard deviation of ln(diameter) (default 0.25)\n"
	 "  --seed N            random seed (default 1); same seed, same image\n"
	 "  -o, --output FILE   output structure (- for stdout)\n"},
	{"graded", run_graded, "random packing whose CAM fraction follows a profile along x",
	 "usage: genstruct graded --size XxYxZ[unit] --cam PROFILE [options] -o OUT.h5\n"
	 "  --size XxYxZunit    box size, e.g. 100x80x80um (a whole number of voxels)\n"
	 "  --voxel LEN         voxel edge length (default 1um)\n"
	 "  --cam PROFILE       CAM volume fraction along x (required, each at most 0.95)\n"
	 "  --diameter PROFILE  median particle diameter along x (default 8um)\n"
	 "  --spread S          standard deviation of ln(diameter) (default 0.25)\n"
	 "  --cbd F             carbon-binder volume fraction of the box (default 0)\n"
	 "  --electrolyte F     electrolyte volume fraction of the box (default: the rest)\n"
	 "  --seed N            random seed (default 1); same seed, same image\n"
	 "  -o, --output FILE   output structure (- for stdout)\n"
	 "  PROFILE is one of (x from the separator side x = 0, lengths with a unit):\n"
	 "    F                    a constant (for --diameter a length, e.g. 8um)\n"
	 "    X1:V1,X2:V2,...      points joined linearly, constant before the first and\n"
	 "                         after the last; x strictly increasing in [0, length]\n"
	 "                         (a bare 0 is allowed), e.g. 0:0.55,100um:0.75\n"
	 "    linear:A:B           A at x = 0, B at the box length\n"
	 "    steps:X1:A,X2:B,...  A on [0, X1), B on [X1, X2), ...; the last X is the\n"
	 "                         box length or left out (steps:50um:0.6,0.7)\n"
	 "  Particles are whole spheres; their density varies along x (the sphere\n"
	 "  list is /spheres of OUT.h5). CBD and electrolyte as in homogeneous.\n"},
	{"perforate", run_perforate, "cut cylindrical electrolyte channels along x",
	 "usage: genstruct perforate --radius LEN [--axis Y,Z]... [--depth LEN] IN.h5 -o OUT.h5\n"
	 "  --radius LEN        channel radius, 0 to the box width (e.g. 16um)\n"
	 "  --axis Y,Z          channel axis position (default 0um,0um: the quarter hole\n"
	 "                      on the y = 0, z = 0 edge); repeat for more channels\n"
	 "  --depth LEN         channel length from the separator side x = 0\n"
	 "                      (default: the whole thickness)\n"
	 "  CAM and CBD voxels inside become electrolyte.\n"},
	{"stack", run_stack, "stack layers cut from structures, keeping the thickness",
	 "usage: genstruct stack A.h5:FA B.h5:FB [...] -o OUT.h5\n"
	 "  Layer l takes the x-slices of file l between the cumulative thickness\n"
	 "  fractions (they must sum to 1); the first file is at the separator side\n"
	 "  (x = 0). All files need the same voxel size and dimensions. A layer\n"
	 "  from standard input: -:F after '--' (genstruct stack -o OUT.h5 -- -:0.5 B.h5:0.5).\n"},
	{"reverse", run_reverse, "mirror a structure along x",
	 "usage: genstruct reverse IN.h5 -o OUT.h5\n"},
	{"refine", run_refine, "the same structure on voxels N times smaller",
	 "usage: genstruct refine --factor N IN.h5 -o OUT.h5\n"
	 "  --factor N          split every voxel into N^3 (2..16); the voxel size\n"
	 "                      becomes h/N and the shape stays exactly the same, so\n"
	 "                      that a simulation on it tests the discretisation alone\n"},
	{"import", run_import, "read a raw uint8 or TIFF voxel image",
	 "usage: genstruct import (--raw FILE --dims AxBxC --voxel LEN | --tiff FILE\n"
	 "                        [--voxel LEN]) [--order xyz] [--map V:PHASE,...] -o OUT.h5\n"
	 "  FILE                '-' reads standard input\n"
	 "  --dims AxBxC        raw file extents, slowest axis first\n"
	 "  --voxel LEN         voxel edge length; for a TIFF without it, from the\n"
	 "                      file's ImageJ unit and spacing or its resolution\n"
	 "                      tags (cm or inch), which must describe cubes\n"
	 "  --order ABC         which of x,y,z the file's axes are, slowest first\n"
	 "                      (default xyz: x slowest, z fastest, as /labels);\n"
	 "                      for TIFF: pages, rows, columns\n"
	 "  --map V:PHASE,...   file value (0..255, 16-bit TIFF 0..65535) to phase\n"
	 "                      (name or id; V=PHASE too); default: values are\n"
	 "                      phase ids 0=void 1=CAM 2=electrolyte 3=CBD ...\n"
	 "  TIFF: 8- or 16-bit unsigned grey, in strips or tiles, one page per slice\n"},
	{"export", run_export, "write the labels as raw uint8 or TIFF",
	 "usage: genstruct export IN.h5 [--order xyz] [--format raw|tiff] -o OUT\n"
	 "  --format            raw or tiff; without it OUT must end in .raw, .tif or\n"
	 "                      .tiff, or be - (raw to standard output)\n"
	 "  A TIFF carries the voxel size: resolution tags in pixels per cm and an\n"
	 "  ImageJ description (unit, spacing) that ImageJ/Fiji read\n"},
	{"info", run_info, "phase counts, volume fractions and percolation",
	 "usage: genstruct info [--json | --profile] IN.h5\n"
	 "  --json              machine-readable summary\n"
	 "  --profile           CSV of volume fractions per x-slice\n"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
	fprintf(out, "usage: genstruct COMMAND [options] ...\n"
		     "Generate, modify and inspect voxel cathode microstructures (voxbat HDF5).\n\n"
		     "commands:\n");
	for (size_t n = 0; n < N_COMMANDS; n++)
		fprintf(out, "  %-12s %s\n", commands[n].name, commands[n].help);
	fprintf(out, "\nLengths take units (m, mm, um, nm). '-' as a file means stdin/stdout.\n"
		     "Each OUT.h5 gets OUT.h5.xdmf beside it, which ParaView opens.\n"
		     "'genstruct COMMAND --help' for a command's options; 'genstruct\n"
		     "--version' the program's version. Exit status: 0 ok, 1 failure while\n"
		     "running, 2 invalid usage or input (also an -o that cannot be created:\n"
		     "checked before any work).\n");
}

static int finish(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROGRAM ": error writing standard output\n");
		return rc ? rc : 1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: genstruct COMMAND [options] ...\n" PROGRAM
				": no command given; 'genstruct --help' lists them\n");
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return finish(0);
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("genstruct (voxbat) %s\n", VB_VERSION);
		return finish(0);
	}
	for (size_t n = 0; n < N_COMMANDS; n++) {
		if (strcmp(argv[1], commands[n].name) != 0)
			continue;
		/* an option given twice would silently take its second value;
		 * perforate's --axis adds a channel each time */
		static const char *const repeatable[] = {"axis", NULL};
		vb_err re;
		vb_err_clear(&re);
		if (vb_cli_check_repeats(argc, argv, 2, repeatable, &re) != VB_OK) {
			fprintf(stderr, PROGRAM " %s: %s\n", argv[1], re.msg);
			return 2;
		}
		char *cmdline = vb_cli_join_argv(argc, argv);
		if (cmdline == NULL) {
			fprintf(stderr, PROGRAM ": out of memory\n");
			return 1;
		}
		/* getopt names the program by argv[0] of what it parses: "genstruct
		 * homogeneous: unrecognized option", not "homogeneous: ..." */
		char prog[64];
		snprintf(prog, sizeof prog, PROGRAM " %s", commands[n].name);
		argv[1] = prog;
		int rc = commands[n].run(argc - 1, argv + 1, cmdline);
		free(cmdline);
		if (rc == -1) {
			fputs(commands[n].usage, stdout);
			rc = 0;
		}
		return finish(rc);
	}
	fprintf(stderr, PROGRAM ": unknown command '%s' (see 'genstruct --help')\n", argv[1]);
	return 2;
}
