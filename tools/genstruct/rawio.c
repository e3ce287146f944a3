/* genstruct rawio: import and export of external voxel images (raw uint8
 * files and multi-page 8-bit TIFF stacks) in any axis order, with a mapping
 * from the file's values to voxbat phase ids. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>

#include "genstruct.h"

static const char axis_names[] = "xyz";

int gs_parse_order(const char *text, int axis[3], vb_err *e)
{
	int seen[3] = {0, 0, 0};
	if (strlen(text) != 3)
		return vb_err_set(e, VB_ERR_INPUT,
				  "--order '%s': expected a permutation of xyz "
				  "(slowest axis first, e.g. 'xyz' or 'zyx')",
				  text);
	for (int a = 0; a < 3; a++) {
		const char *c = strchr(axis_names, text[a]);
		if (c == NULL || text[a] == '\0' || seen[c - axis_names]++)
			return vb_err_set(e, VB_ERR_INPUT,
					  "--order '%s': expected a permutation of xyz "
					  "(slowest axis first, e.g. 'xyz' or 'zyx')",
					  text);
		axis[a] = (int)(c - axis_names);
	}
	return VB_OK;
}

int gs_parse_map(const char *text, int map[256], vb_err *e)
{
	for (int v = 0; v < 256; v++)
		map[v] = text == NULL && v < VB_PHASE_COUNT ? v : -1;
	if (text == NULL)
		return VB_OK;
	char *copy = strdup(text), *save = NULL;
	if (copy == NULL)
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	int rc = VB_OK;
	for (char *item = strtok_r(copy, ",", &save); item && rc == VB_OK;
	     item = strtok_r(NULL, ",", &save)) {
		/* VALUE:PHASE, or VALUE=PHASE as the legend writes it */
		char *colon = strpbrk(item, ":="), *end;
		long value = colon ? strtol(item, &end, 10) : -1;
		int phase = colon ? vb_voxel_phase_parse(colon + 1) : -1;
		if (colon == NULL || end != colon || value < 0 || value > 255 || phase < 0)
			rc = vb_err_set(e, VB_ERR_INPUT,
					"--map: '%s' is not VALUE:PHASE (or VALUE=PHASE) with VALUE in "
					"0..255 and PHASE a phase name or id (%s)",
					item, vb_voxel_legend());
		else
			map[value] = phase;
	}
	free(copy);
	return rc;
}

/* Fills img from data in file order (slowest axis[0]) through map. */
static int reorder_into(vb_image *img, const uint8_t *data, const int64_t d[3], const int axis[3],
			const int map[256], const char *path, vb_err *e)
{
	int64_t c[3] = {0, 0, 0};
	int64_t pos = 0;
	for (int64_t a0 = 0; a0 < d[0]; a0++) {
		for (int64_t a1 = 0; a1 < d[1]; a1++) {
			for (int64_t a2 = 0; a2 < d[2]; a2++, pos++) {
				int phase = map[data[pos]];
				if (phase < 0)
					return vb_err_set(
						e, VB_ERR_INPUT,
						"%s: value %u at file position (%lld,%lld,%lld) "
						"has no phase; give --map VALUE:PHASE,...",
						path, data[pos], (long long)a0, (long long)a1,
						(long long)a2);
				c[axis[0]] = a0, c[axis[1]] = a1, c[axis[2]] = a2;
				img->labels[vb_voxel_index(img, c[0], c[1], c[2])] = (uint8_t)phase;
			}
		}
	}
	return VB_OK;
}

static vb_image *image_for(const int64_t d[3], const int axis[3], double voxel_size, vb_err *e)
{
	int64_t n[3];
	for (int a = 0; a < 3; a++)
		n[axis[a]] = d[a];
	return vb_voxel_new(n[0], n[1], n[2], voxel_size, e);
}

vb_image *gs_import_raw(const char *path, const int64_t dims[3], const int axis[3],
			double voxel_size, const int map[256], vb_err *e)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		vb_err_set(e, VB_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (dims[0] > VB_VOXEL_MAX_COUNT / dims[1] / dims[2]) {
		vb_err_set(e, VB_ERR_INPUT, "%s: --dims too large", path);
		return NULL;
	}
	int64_t expected = dims[0] * dims[1] * dims[2];
	if ((int64_t)st.st_size != expected) {
		vb_err_set(e, VB_ERR_INPUT,
			   "%s: %lld bytes, expected %lld for %lldx%lldx%lld uint8 "
			   "voxels (%s)",
			   path, (long long)st.st_size, (long long)expected, (long long)dims[0],
			   (long long)dims[1], (long long)dims[2],
			   (int64_t)st.st_size < expected ? "file is truncated"
							  : "file is too long");
		return NULL;
	}
	vb_image *img = image_for(dims, axis, voxel_size, e);
	uint8_t *data = img ? malloc((size_t)expected) : NULL;
	FILE *f = data ? fopen(path, "rb") : NULL;
	int rc = VB_OK;
	if (img == NULL)
		return NULL;
	if (data == NULL)
		rc = vb_err_set(e, VB_ERR_RUN, "%s: out of memory", path);
	else if (f == NULL)
		rc = vb_err_set(e, VB_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
	else if (fread(data, 1, (size_t)expected, f) != (size_t)expected)
		rc = vb_err_set(e, VB_ERR_INPUT, "%s: short read (file changed or truncated)",
				path);
	if (f != NULL)
		fclose(f);
	if (rc == VB_OK)
		rc = reorder_into(img, data, dims, axis, map, path, e);
	free(data);
	if (rc != VB_OK)
		vb_voxel_free(&img);
	return img;
}

static void quiet_tiff(void)
{
	TIFFSetWarningHandler(NULL);
	TIFFSetErrorHandler(NULL);
}

vb_image *gs_import_tiff(const char *path, const int axis[3], double voxel_size, const int map[256],
			 vb_err *e)
{
	quiet_tiff();
	struct stat st;
	if (stat(path, &st) != 0) {
		vb_err_set(e, VB_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	TIFF *tif = TIFFOpen(path, "r");
	if (tif == NULL) {
		vb_err_set(e, VB_ERR_INPUT, "%s: not a readable TIFF file", path);
		return NULL;
	}
	uint32_t width = 0, height = 0;
	uint16_t bits = 0, spp = 1;
	TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &width);
	TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &height);
	int64_t pages = TIFFNumberOfDirectories(tif);
	int64_t d[3] = {pages, height, width};
	vb_image *img = NULL;
	uint8_t *data = NULL;
	int rc = VB_OK;
	if (width == 0 || height == 0 || pages == 0 ||
	    pages > VB_VOXEL_MAX_COUNT / (int64_t)width / (int64_t)height)
		rc = vb_err_set(e, VB_ERR_INPUT,
				"%s: %lld pages of %ux%u pixels: empty or too large", path,
				(long long)pages, width, height);
	if (rc == VB_OK && (img = image_for(d, axis, voxel_size, e)) == NULL)
		rc = (e != NULL && e->status != VB_OK) ? e->status : VB_ERR_RUN;
	if (rc == VB_OK && (data = malloc((size_t)(pages * width * height))) == NULL)
		rc = vb_err_set(e, VB_ERR_RUN, "%s: out of memory", path);
	for (int64_t p = 0; p < pages && rc == VB_OK; p++) {
		uint32_t w = 0, h = 0;
		if (!TIFFSetDirectory(tif, (uint16_t)p)) {
			rc = vb_err_set(e, VB_ERR_INPUT, "%s: page %lld cannot be read", path,
					(long long)p);
			break;
		}
		TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
		TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
		TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
		TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
		if (w != width || h != height)
			rc = vb_err_set(e, VB_ERR_INPUT, "%s: page %lld is %ux%u, page 0 is %ux%u",
					path, (long long)p, w, h, width, height);
		else if (bits != 8 || spp != 1)
			rc = vb_err_set(e, VB_ERR_INPUT,
					"%s: page %lld has %u bits x %u samples per "
					"pixel, expected 8-bit grey",
					path, (long long)p, bits, spp);
		else if (TIFFIsTiled(tif))
			rc = vb_err_set(e, VB_ERR_INPUT,
					"%s: tiled TIFF is not supported; use strips", path);
		for (uint32_t row = 0; row < height && rc == VB_OK; row++)
			if (TIFFReadScanline(tif, data + (p * height + row) * width, row, 0) < 0)
				rc = vb_err_set(e, VB_ERR_INPUT,
						"%s: page %lld row %u cannot be read", path,
						(long long)p, row);
	}
	TIFFClose(tif);
	if (rc == VB_OK)
		rc = reorder_into(img, data, d, axis, map, path, e);
	free(data);
	if (rc != VB_OK)
		vb_voxel_free(&img);
	return img;
}

/* Value of the voxel at file position (a0, a1, a2). */
static uint8_t at(const vb_image *img, const int axis[3], int64_t a0, int64_t a1, int64_t a2)
{
	int64_t c[3] = {0, 0, 0};
	c[axis[0]] = a0, c[axis[1]] = a1, c[axis[2]] = a2;
	return img->labels[vb_voxel_index(img, c[0], c[1], c[2])];
}

static void file_dims(const vb_image *img, const int axis[3], int64_t d[3])
{
	const int64_t n[3] = {img->nx, img->ny, img->nz};
	for (int a = 0; a < 3; a++)
		d[a] = n[axis[a]];
}

int gs_export_raw(const vb_image *img, const int axis[3], FILE *out, vb_err *e)
{
	int64_t d[3];
	file_dims(img, axis, d);
	uint8_t *row = malloc((size_t)d[2]);
	if (row == NULL)
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	for (int64_t a0 = 0; a0 < d[0]; a0++) {
		for (int64_t a1 = 0; a1 < d[1]; a1++) {
			for (int64_t a2 = 0; a2 < d[2]; a2++)
				row[a2] = at(img, axis, a0, a1, a2);
			if (fwrite(row, 1, (size_t)d[2], out) != (size_t)d[2]) {
				free(row);
				return vb_err_set(e, VB_ERR_RUN, "write failed: %s",
						  strerror(errno));
			}
		}
	}
	free(row);
	return VB_OK;
}

int gs_export_tiff(const vb_image *img, const int axis[3], const char *path, vb_err *e)
{
	quiet_tiff();
	int64_t d[3];
	file_dims(img, axis, d);
	TIFF *tif = TIFFOpen(path, "w");
	if (tif == NULL)
		return vb_err_set(e, VB_ERR_RUN, "%s: cannot create TIFF", path);
	uint8_t *row = malloc((size_t)d[2]);
	if (row == NULL) {
		TIFFClose(tif);
		return vb_err_set(e, VB_ERR_RUN, "out of memory");
	}
	int rc = VB_OK;
	for (int64_t a0 = 0; a0 < d[0] && rc == VB_OK; a0++) {
		TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)d[2]);
		TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)d[1]);
		TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 8);
		TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
		TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
		TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
		TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_DEFLATE);
		TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, (uint32_t)d[1]);
		TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
		TIFFSetField(tif, TIFFTAG_PAGENUMBER, (uint16_t)a0, (uint16_t)d[0]);
		for (int64_t a1 = 0; a1 < d[1] && rc == VB_OK; a1++) {
			for (int64_t a2 = 0; a2 < d[2]; a2++)
				row[a2] = at(img, axis, a0, a1, a2);
			if (TIFFWriteScanline(tif, row, (uint32_t)a1, 0) < 0)
				rc = vb_err_set(e, VB_ERR_RUN, "%s: TIFF write failed", path);
		}
		if (rc == VB_OK && !TIFFWriteDirectory(tif))
			rc = vb_err_set(e, VB_ERR_RUN, "%s: TIFF write failed", path);
	}
	free(row);
	TIFFClose(tif);
	return rc;
}
