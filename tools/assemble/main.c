/* assemble: make a cathode structure into a cell a simulation can run. Adds,
 * along x, the anode current collector, planar Li metal, the separator, the
 * cathode and the cathode current collector; for ASSB maps CBD to SE; stores
 * the parameter set, the cell type and the layer regions (docs/FORMAT.md). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vb_cli.h"
#include "vb_h5.h"
#include "vb_outfile.h"
#include "vb_params.h"
#include "vb_units.h"
#include "vb_voxel.h"
#include "vb_xdmf.h"

#define PROGRAM "assemble"

static const char usage_text[] =
	"usage: assemble CATHODE.h5 --cell assb|lib [options] -o CELL.h5\n"
	"Builds a cell along x: anode collector | Li metal | separator | cathode |\n"
	"cathode collector. For assb every CBD voxel becomes solid electrolyte.\n\n"
	"  --cell assb|lib     cell type (default: the type of --params)\n"
	"  --params FILE       parameter set ('-': standard input; default:\n"
	"                      params/assb-nmc811-lpscl.ini or params/lib-nmc811-lipf6.ini;\n"
	"                      $VOXBAT_PARAMS overrides the folder)\n"
	"  --separator LEN     separator thickness (default: separator.thickness of the\n"
	"                      set, 20um)\n"
	"  --anode LEN         Li metal thickness (default: one voxel)\n"
	"  --collectors LEN    thickness of each current collector (default: one voxel)\n"
	"  -o, --output FILE   output cell (- for stdout); CELL.h5.xdmf is written\n"
	"                      beside it for ParaView (not for stdout)\n"
	"  -q, --quiet         no messages\n"
	"  -h, --help          this text; --version: the program's version\n"
	"Lengths take units (um, nm, mm) and must be whole numbers of voxels.\n"
	"Exit status: 0 ok, 1 failure while running, 2 invalid usage or input (also an\n"
	"-o that cannot be created: checked before any work).\n";

static int fail(const vb_err *e)
{
	fprintf(stderr, PROGRAM ": %s\n", e->msg);
	return vb_err_exit_code(e->status);
}

static int usage_error(const char *msg)
{
	fprintf(stderr, PROGRAM ": %s (see 'assemble --help')\n", msg);
	return 2;
}

/* Layers along x, in voxels: [start, end) of each. */
enum { L_ANODE_CC, L_LI, L_SEPARATOR, L_CATHODE, L_CATHODE_CC, N_LAYERS };
static const char *const layer_names[N_LAYERS] = {"anode_cc", "li", "separator", "cathode",
						  "cathode_cc"};
static const uint8_t layer_phase[N_LAYERS] = {VB_PHASE_ANODE_CC, VB_PHASE_LI, VB_PHASE_SEPARATOR, 0,
					      VB_PHASE_CATHODE_CC};

typedef struct cell_out {
	const vb_image *cell;
	const vb_params *params;
	const int64_t *bounds;
	hid_t input;
	const char *in_name, *cmdline;
} cell_out;

/* The content of a cell file (docs/FORMAT.md): labels, cell type,
 * parameters, regions and provenance. */
static int write_cell(hid_t file, const void *ctx, vb_err *e)
{
	const cell_out *c = ctx;
	const vb_image *cell = c->cell;
	const vb_params *params = c->params;
	const int64_t *bounds = c->bounds;
	hid_t input = c->input;
	const char *in_name = c->in_name, *cmdline = c->cmdline;
	int rc = vb_h5_write_image(file, cell, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_string(file, "cell_type", vb_params_cell_type(params), e);
	if (rc == VB_OK)
		rc = vb_params_write_h5(params, file, "parameters", e);
	if (rc == VB_OK) {
		hid_t g = H5Gcreate2(file, "regions", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
		rc = g < 0 ? vb_err_set(e, VB_ERR_RUN, "cannot create /regions") : VB_OK;
		for (int l = 0; l < N_LAYERS && rc == VB_OK; l++) {
			const int64_t range[2] = {bounds[l], bounds[l + 1]};
			char key[64];
			rc = vb_h5_attr_write_int64s(g, layer_names[l], range, 2, e);
			snprintf(key, sizeof key, "%s_thickness_m", layer_names[l]);
			if (rc == VB_OK)
				rc = vb_h5_attr_write_double(
					g, key,
					(double)(bounds[l + 1] - bounds[l]) * cell->voxel_size, e);
		}
		if (rc == VB_OK)
			rc = vb_h5_attr_write_string(
				g, "convention", "[first, end) x-slice of each layer, in voxels",
				e);
		if (g >= 0)
			H5Gclose(g);
	}
	if (rc == VB_OK) {
		const char *names[1] = {in_name};
		hid_t rec = vb_h5_provenance_begin(file, PROGRAM, "assemble", cmdline, &input,
						   names, 1, e);
		if (rec < 0)
			rc = e->status;
		for (int l = 0; l < N_LAYERS && rc == VB_OK; l++) {
			char key[64];
			snprintf(key, sizeof key, "%s_voxels", layer_names[l]);
			rc = vb_h5_attr_write_int64(rec, key, bounds[l + 1] - bounds[l], e);
		}
		if (rc == VB_OK)
			rc = vb_h5_attr_write_string(rec, "cell_type", vb_params_cell_type(params),
						     e);
		if (rec >= 0)
			H5Gclose(rec);
	}
	return rc;
}

/* Thickness option in voxels; one voxel when not given. */
static int layer_voxels(const char *text, double fallback, double h, const char *what, int64_t *n,
			vb_err *e)
{
	double len = fallback;
	if (text != NULL && vb_units_parse(text, VB_UNIT_LENGTH, what, &len, e) != VB_OK)
		return VB_ERR_INPUT;
	if (len == 0 && text != NULL && strcmp(what, "--separator") == 0) {
		*n = 0;
		return VB_OK;
	}
	return vb_units_whole_voxels(len, h, what, n, e);
}

/* cmdline: argv as the user typed it, joined before getopt_long permutes it. */
static int run_program(int argc, char **argv, const char *cmdline)
{
	static const struct option opts[] = {
		{"cell", required_argument, 0, 'c'},
		{"params", required_argument, 0, 'p'},
		{"separator", required_argument, 0, 's'},
		{"anode", required_argument, 0, 'a'},
		{"collectors", required_argument, 0, 'k'},
		{"output", required_argument, 0, 'o'},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, 'V'},
		{0, 0, 0, 0},
	};
	const char *cell_type = NULL, *params_path = NULL, *sep = NULL, *anode = NULL;
	const char *collectors = NULL, *out = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cell_type = optarg; break;
		case 'p': params_path = optarg; break;
		case 's': sep = optarg; break;
		case 'a': anode = optarg; break;
		case 'k': collectors = optarg; break;
		case 'o': out = optarg; break;
		case 'q': break;
		case 'h': fputs(usage_text, stdout); return fflush(stdout) == 0 ? 0 : 1;
		case 'V': printf("assemble (voxbat) %s\n", VB_VERSION); return 0;
		default: return 2;
		}
	}
	if (optind != argc - 1)
		return usage_error("expected one cathode file");
	if (out == NULL)
		return usage_error("-o OUTPUT is required");
	if (cell_type == NULL && params_path == NULL)
		return usage_error("--cell assb|lib is required");
	if (cell_type != NULL && strcmp(cell_type, "assb") != 0 && strcmp(cell_type, "lib") != 0) {
		fprintf(stderr, PROGRAM ": --cell '%s': unknown cell type, expected assb or lib\n",
			cell_type);
		return 2;
	}
	const char *in = argv[optind];
	if (params_path != NULL && strcmp(params_path, "-") == 0 && strcmp(in, "-") == 0)
		return usage_error("the cathode and --params cannot both be standard input");
	vb_err e;
	vb_err_clear(&e);
	if (vb_xdmf_check(out, &in, 1, &e) != VB_OK)
		return fail(&e);
	vb_params *params = params_path ? vb_params_load(params_path, &e)
					: vb_params_load_default(cell_type, &e);
	if (params == NULL)
		return fail(&e);
	if (cell_type != NULL && strcmp(cell_type, vb_params_cell_type(params)) != 0) {
		fprintf(stderr, PROGRAM ": %s: cell.type is %s but --cell is %s\n", params_path,
			vb_params_cell_type(params), cell_type);
		vb_params_free(&params);
		return 2;
	}
	hid_t file = vb_h5_open(in, &e);
	vb_image *cath = NULL, *cell = NULL;
	int rc = file < 0 ? VB_ERR_INPUT : VB_OK;
	char *content = NULL;
	if (rc == VB_OK && (rc = vb_h5_attr_read_string(file, "content", in, &content, &e)) == VB_OK &&
	    strcmp(content, "structure") != 0)
		rc = vb_err_set(&e, VB_ERR_INPUT,
				"%s: content is '%s', expected a cathode structure", in, content);
	free(content);
	if (rc == VB_OK)
		rc = vb_h5_read_image(file, in, &cath, &e);
	int64_t counts[VB_PHASE_COUNT];
	if (rc == VB_OK) {
		vb_voxel_count_phases(cath, counts, NULL);
		if (counts[VB_PHASE_CAM] == 0)
			rc = vb_err_set(&e, VB_ERR_INPUT,
					"%s:/labels: the cathode has no CAM voxels", in);
		for (int p = VB_PHASE_SEPARATOR; p < VB_PHASE_COUNT && rc == VB_OK; p++)
			if (counts[p] > 0)
				rc = vb_err_set(
					&e, VB_ERR_INPUT,
					"%s:/labels: %lld voxels of phase %s; a cathode holds "
					"only void, CAM, electrolyte and CBD",
					in, (long long)counts[p], vb_voxel_phase_name(p));
	}
	int64_t n[N_LAYERS];
	if (rc == VB_OK) {
		const double h = cath->voxel_size;
		if (layer_voxels(collectors, h, h, "--collectors", &n[L_ANODE_CC], &e) ||
		    layer_voxels(anode, h, h, "--anode", &n[L_LI], &e) ||
		    layer_voxels(sep, vb_params_get(params, "separator.thickness"), h,
				 "--separator", &n[L_SEPARATOR], &e))
			rc = VB_ERR_INPUT;
		n[L_CATHODE] = cath->nx;
		n[L_CATHODE_CC] = n[L_ANODE_CC];
	}
	int64_t bounds[N_LAYERS + 1] = {0};
	if (rc == VB_OK) {
		for (int l = 0; l < N_LAYERS; l++)
			bounds[l + 1] = bounds[l] + n[l];
		cell = vb_voxel_new(bounds[N_LAYERS], cath->ny, cath->nz, cath->voxel_size, &e);
		rc = cell ? VB_OK : VB_ERR_RUN;
	}
	if (rc == VB_OK) {
		const size_t slice = (size_t)(cath->ny * cath->nz);
		int assb = strcmp(vb_params_cell_type(params), "assb") == 0;
		for (int l = 0; l < N_LAYERS; l++)
			if (l != L_CATHODE)
				memset(cell->labels + vb_voxel_index(cell, bounds[l], 0, 0),
				       layer_phase[l], slice * (size_t)n[l]);
		uint8_t *dst = cell->labels + vb_voxel_index(cell, bounds[L_CATHODE], 0, 0);
		memcpy(dst, cath->labels, slice * (size_t)cath->nx);
		for (size_t v = 0; assb && v < slice * (size_t)cath->nx; v++)
			if (dst[v] == VB_PHASE_CBD)
				dst[v] = VB_PHASE_ELECTROLYTE;
		cell_out co = {cell, params, bounds, file, in, cmdline};
		rc = vb_h5_write_atomic(out, "cell", write_cell, &co, &e);
		/* the XDMF companion, so that ParaView shows the cell (docs/FORMAT.md) */
		if (rc == VB_OK && strcmp(out, "-") != 0)
			rc = vb_xdmf_write(out, cell, NULL, &e);
	}
	vb_h5_close(file, NULL);
	vb_voxel_free(&cath);
	vb_voxel_free(&cell);
	vb_params_free(&params);
	if (rc != VB_OK)
		return fail(&e);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	char *cmdline = vb_cli_join_argv(argc, argv);
	if (cmdline == NULL) {
		fprintf(stderr, PROGRAM ": out of memory\n");
		return 1;
	}
	/* an option given twice would silently take its second value */
	static const char *const repeatable[] = {NULL};
	vb_err e;
	vb_err_clear(&e);
	if (vb_cli_check_repeats(argc, argv, 1, repeatable, &e) != VB_OK) {
		fprintf(stderr, PROGRAM ": %s\n", e.msg);
		free(cmdline);
		return 2;
	}
	int rc = run_program(argc, argv, cmdline);
	free(cmdline);
	return rc;
}
