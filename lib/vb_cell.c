/* vb_cell: validation of a cell's layers and type (vb_cell.h). */
#include "vb_cell.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vb_h5.h"

static const char *const names[VB_CELL_LAYERS] = {"anode_cc", "li", "separator", "cathode",
						  "cathode_cc"};

const char *vb_cell_layer_name(int l)
{
	return l >= 0 && l < VB_CELL_LAYERS ? names[l] : "?";
}

/* The only label a layer may hold (-1: the cathode's phases). */
static int layer_phase(int l)
{
	static const int phase[VB_CELL_LAYERS] = {VB_PHASE_ANODE_CC, VB_PHASE_LI,
						  VB_PHASE_SEPARATOR, -1, VB_PHASE_CATHODE_CC};
	return phase[l];
}

static const char *phase_name(int ph)
{
	static const char *const n[VB_PHASE_COUNT] = {
		"void", "CAM", "electrolyte", "CBD", "separator", "Li metal", "cathode collector",
		"anode collector"};
	return ph >= 0 && ph < VB_PHASE_COUNT ? n[ph] : "unknown";
}

int vb_cell_check(hid_t file, const char *path, const vb_image *img, const vb_params *p,
		  vb_cell_regions *r, vb_err *e)
{
	char *type = NULL;
	if (vb_h5_attr_read_string(file, "cell_type", path, &type, e) != VB_OK)
		return e->status;
	int rc = VB_OK;
	if (strcmp(type, "assb") != 0 && strcmp(type, "lib") != 0)
		rc = vb_err_set(e, VB_ERR_INPUT, "%s: cell_type '%s': expected assb or lib", path,
				type);
	else if (strcmp(type, vb_params_cell_type(p)) != 0)
		rc = vb_err_set(e, VB_ERR_INPUT,
				"%s: cell_type %s, but its parameter set is for %s cells", path,
				type, vb_params_cell_type(p));
	const int assb = strcmp(type, "assb") == 0;
	free(type);
	if (rc != VB_OK)
		return rc;
	if (H5Lexists(file, "regions", H5P_DEFAULT) <= 0)
		return vb_err_set(e, VB_ERR_INPUT, "%s: no /regions (a cell has its layers there)",
				  path);
	hid_t g = H5Gopen2(file, "regions", H5P_DEFAULT);
	if (g < 0)
		return vb_err_set(e, VB_ERR_INPUT, "%s:/regions: not a group", path);
	char what[1100];
	snprintf(what, sizeof what, "%s:/regions", path);
	for (int l = 0; l < VB_CELL_LAYERS && rc == VB_OK; l++) {
		int64_t v[2];
		rc = vb_h5_attr_read_int64s(g, names[l], what, v, 2, e);
		if (rc != VB_OK)
			break;
		const int64_t start = l == 0 ? 0 : r->x1[l - 1];
		const int64_t min_len = l == VB_CELL_SEPARATOR ? 0 : 1;
		if (v[0] != start || !(v[1] >= v[0] + min_len) || v[1] > img->nx)
			rc = vb_err_set(e, VB_ERR_INPUT,
					"%s/%s = [%lld, %lld): expected it to start at %lld (where "
					"the layer before ends), to hold %s, and to end by x = %lld",
					what, names[l], (long long)v[0], (long long)v[1],
					(long long)start, min_len ? "at least one slice" : "zero or more slices",
					(long long)img->nx);
		r->x0[l] = v[0], r->x1[l] = v[1];
	}
	H5Gclose(g);
	if (rc == VB_OK && r->x1[VB_CELL_CATHODE_CC] != img->nx)
		rc = vb_err_set(e, VB_ERR_INPUT,
				"%s/cathode_cc ends at x = %lld, but the labels end at %lld", what,
				(long long)r->x1[VB_CELL_CATHODE_CC], (long long)img->nx);
	/* the labels of each layer */
	for (int l = 0; l < VB_CELL_LAYERS && rc == VB_OK; l++) {
		const int want = layer_phase(l);
		const int64_t a = vb_voxel_index(img, r->x0[l], 0, 0),
			      b = vb_voxel_index(img, r->x1[l], 0, 0);
		for (int64_t v = a; v < b; v++) {
			const int ph = img->labels[v];
			const int ok = want >= 0 ? ph == want
						 : (ph == VB_PHASE_CAM || ph == VB_PHASE_ELECTROLYTE ||
						    ph == VB_PHASE_VOID || (ph == VB_PHASE_CBD && !assb));
			if (!ok) {
				const int64_t nyz = img->ny * img->nz;
				rc = vb_err_set(e, VB_ERR_INPUT,
						"%s: voxel (%lld, %lld, %lld) of the %s layer is "
						"%s (label %d)%s",
						path, (long long)(v / nyz),
						(long long)(v / img->nz % img->ny),
						(long long)(v % img->nz), names[l], phase_name(ph),
						ph,
						ph == VB_PHASE_CBD ? ", which an ASSB cell does not have"
								   : "; /regions and /labels disagree");
				break;
			}
		}
	}
	return rc;
}
