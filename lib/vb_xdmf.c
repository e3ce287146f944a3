/* vb_xdmf: XDMF 3 descriptions of voxbat files (docs/FORMAT.md, "XDMF"). */
#include "vb_xdmf.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "vb_outfile.h"

int vb_xdmf_name(const char *h5_path, char *xdmf, size_t size, vb_err *e)
{
	if ((size_t)snprintf(xdmf, size, "%s.xdmf", h5_path) >= size)
		return vb_err_set(e, VB_ERR_INPUT, "%s: name too long for its XDMF file", h5_path);
	return VB_OK;
}

/* Writes s with the five XML special characters escaped. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* One uniform grid: the mesh, the labels and (snapshot > 0) the fields of
 * /fields/NNNN. XDMF lists Dimensions, Origin and DxDyDz slowest axis
 * first; /labels is (nx, ny, nz) with z fastest, and VTK takes the fastest
 * axis as X, so ParaView's X, Y, Z are voxbat's z, y, x. Reordering the
 * data is the only way round that, so it is documented instead. */
static void put_grid(FILE *f, const char *name, const char *ref, const vb_image *img,
		     const vb_xdmf_series *s, int64_t snapshot)
{
	const long long nx = (long long)img->nx, ny = (long long)img->ny, nz = (long long)img->nz;
	const double h = img->voxel_size;
	fprintf(f, "   <Grid Name=\"%s\" GridType=\"Uniform\">\n", name);
	if (s != NULL)
		fprintf(f, "    <Time Value=\"%.17g\"/>\n", s->times[snapshot - 1]);
	fprintf(f,
		"    <Topology TopologyType=\"3DCoRectMesh\" Dimensions=\"%lld %lld %lld\"/>\n"
		"    <Geometry GeometryType=\"ORIGIN_DXDYDZ\">\n"
		"     <DataItem Dimensions=\"3\" Format=\"XML\">0 0 0</DataItem>\n"
		"     <DataItem Dimensions=\"3\" Format=\"XML\">%.17g %.17g %.17g</DataItem>\n"
		"    </Geometry>\n"
		"    <Attribute Name=\"labels\" Center=\"Cell\">\n"
		"     <DataItem Dimensions=\"%lld %lld %lld\" NumberType=\"UChar\" "
		"Precision=\"1\" Format=\"HDF\">",
		nx + 1, ny + 1, nz + 1, h, h, h, nx, ny, nz);
	put_escaped(f, ref);
	fputs(":/labels</DataItem>\n    </Attribute>\n", f);
	for (int q = 0; s != NULL && q < s->n_fields; q++) {
		fprintf(f,
			"    <Attribute Name=\"%s\" Center=\"Cell\">\n"
			"     <DataItem Dimensions=\"%lld %lld %lld\" NumberType=\"Float\" "
			"Precision=\"8\" Format=\"HDF\">",
			s->fields[q], nx, ny, nz);
		put_escaped(f, ref);
		fprintf(f, ":/fields/%04lld/%s</DataItem>\n    </Attribute>\n",
			(long long)snapshot, s->fields[q]);
	}
	fputs("   </Grid>\n", f);
}

int vb_xdmf_check(const char *h5_path, const char *const inputs[], int n_inputs, vb_err *e)
{
	char xdmf[PATH_MAX];
	if (vb_outfile_check(h5_path, inputs, n_inputs, e) != VB_OK)
		return e->status;
	if (strcmp(h5_path, "-") == 0)
		return VB_OK;
	if (vb_xdmf_name(h5_path, xdmf, sizeof xdmf, e) != VB_OK)
		return e->status;
	return vb_outfile_check(xdmf, inputs, n_inputs, e);
}

int vb_xdmf_write(const char *h5_path, const vb_image *img, const vb_xdmf_series *series,
		  vb_err *e)
{
	char path[4096];
	if (vb_xdmf_name(h5_path, path, sizeof path, e) != VB_OK)
		return e->status;
	const char *slash = strrchr(h5_path, '/');
	const char *ref = slash ? slash + 1 : h5_path; /* the XDMF sits beside it */
	vb_outfile o;
	if (vb_outfile_begin(&o, path, e) != VB_OK)
		return VB_ERR_RUN;
	FILE *f = fopen(o.tmp_path, "w");
	if (f == NULL) {
		vb_outfile_abort(&o);
		return vb_err_set(e, VB_ERR_RUN, "%s: cannot write", path);
	}
	fputs("<?xml version=\"1.0\" ?>\n<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n"
	      "<Xdmf Version=\"3.0\">\n <Domain>\n",
	      f);
	fprintf(f, "  <Information Name=\"legend\" Value=\"%s\"/>\n", vb_voxel_legend());
	fputs("  <Information Name=\"axes\" Value=\"ParaView X, Y, Z are the file's z, y, x: "
	      "Z is through the thickness (x); lengths in m\"/>\n",
	      f);
	if (series == NULL) {
		put_grid(f, "labels", ref, img, NULL, 0);
	} else {
		fputs("  <Grid Name=\"run\" GridType=\"Collection\" CollectionType=\"Temporal\">\n",
		      f);
		for (int64_t k = 1; k <= series->n; k++) {
			char name[32];
			snprintf(name, sizeof name, "t%04lld", (long long)k);
			put_grid(f, name, ref, img, series, k);
		}
		fputs("  </Grid>\n", f);
	}
	fputs(" </Domain>\n</Xdmf>\n", f);
	int bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		vb_outfile_abort(&o);
		return vb_err_set(e, VB_ERR_RUN, "%s: write failed", path);
	}
	return vb_outfile_commit(&o, e);
}
