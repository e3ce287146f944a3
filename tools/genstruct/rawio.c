/* genstruct rawio: import and export of external voxel images (raw uint8
 * files and multi-page 8- or 16-bit TIFF stacks, in strips or tiles) in any
 * axis order, with a mapping from the file's values to voxbat phase ids, and
 * the voxel size of a TIFF from its ImageJ description or resolution tags. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
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

int gs_parse_map(const char *text, int map[GS_MAP_SIZE], vb_err *e)
{
	for (int v = 0; v < GS_MAP_SIZE; v++)
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
		char *sep = strpbrk(item, ":="), *end = NULL;
		long value = sep ? strtol(item, &end, 10) : -1;
		int phase = sep ? vb_voxel_phase_parse(sep + 1) : -1;
		if (sep == NULL || end != sep || end == item || value < 0 ||
		    value >= GS_MAP_SIZE || phase < 0)
			rc = vb_err_set(e, VB_ERR_INPUT,
					"--map: '%s' is not VALUE:PHASE (or VALUE=PHASE) with "
					"VALUE in 0..65535 and PHASE a phase name or id (%s)",
					item, vb_voxel_legend());
		else
			map[value] = phase;
	}
	free(copy);
	return rc;
}

/* Fills img from data in file order (slowest axis[0]) through map; data
 * holds 1- or 2-byte values (bytes). */
static int reorder_into(vb_image *img, const void *data, int bytes, const int64_t d[3],
			const int axis[3], const int map[GS_MAP_SIZE], const char *path, vb_err *e)
{
	int64_t c[3] = {0, 0, 0};
	int64_t pos = 0;
	for (int64_t a0 = 0; a0 < d[0]; a0++) {
		for (int64_t a1 = 0; a1 < d[1]; a1++) {
			for (int64_t a2 = 0; a2 < d[2]; a2++, pos++) {
				const unsigned value = bytes == 2 ? ((const uint16_t *)data)[pos]
								  : ((const uint8_t *)data)[pos];
				const int phase = map[value];
				if (phase < 0)
					return vb_err_set(
						e, VB_ERR_INPUT,
						"%s: value %u at file position (%lld,%lld,%lld) "
						"has no phase; give --map VALUE:PHASE,...",
						path, value, (long long)a0, (long long)a1,
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
			double voxel_size, const int map[GS_MAP_SIZE], vb_err *e)
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
		rc = reorder_into(img, data, 1, dims, axis, map, path, e);
	free(data);
	if (rc != VB_OK)
		vb_voxel_free(&img);
	return img;
}

/* libtiff reports a damaged or truncated file through its error handler and
 * may go on with what it could read (fewer pages, a page of zeros): the
 * reader counts those reports and refuses the file when there are any.
 * Warnings (unknown tags, say) are not counted. */
static int tiff_errors;
static char tiff_error_msg[256];

static void tiff_error(const char *module, const char *fmt, va_list ap)
{
	if (tiff_errors++ == 0) {
		int n = snprintf(tiff_error_msg, sizeof tiff_error_msg, "%s: ", module ? module : "");
		if (n < 0 || (size_t)n >= sizeof tiff_error_msg)
			n = 0;
		vsnprintf(tiff_error_msg + n, sizeof tiff_error_msg - (size_t)n, fmt, ap);
	}
}

static void quiet_tiff(void)
{
	TIFFSetWarningHandler(NULL);
	TIFFSetErrorHandler(tiff_error);
	tiff_errors = 0;
	tiff_error_msg[0] = '\0';
}

static int tiff_damaged(const char *path, vb_err *e)
{
	return vb_err_set(e, VB_ERR_INPUT, "%s: damaged or truncated TIFF (libtiff: %s)", path,
			  tiff_error_msg);
}

/* Length in um of a unit named in an ImageJ description; 0 if unknown (um,
 * so that the common units are exact and 1 um comes out as 1e-6 m). */
static double unit_um(const char *u)
{
	static const struct {
		const char *name;
		double um;
	} units[] = {
		{"micron", 1},	    {"microns", 1},	  {"um", 1},	{"\\u00B5m", 1},
		{"\xC2\xB5m", 1},   {"\xB5m", 1},	  {"nm", 1e-3}, {"nanometer", 1e-3},
		{"mm", 1e3},	    {"cm", 1e4},	  {"m", 1e6},	{"meter", 1e6},
		{"inch", 25400},
	};
	for (size_t k = 0; k < sizeof units / sizeof *units; k++)
		if (strcmp(u, units[k].name) == 0)
			return units[k].um;
	return 0;
}

/* x um to m, rounded to 6 significant digits (the resolution tags are
 * single-precision floats: 1/0.3 um comes back as 0.30000001 um) */
static double um_to_m(double x)
{
	char text[32];
	snprintf(text, sizeof text, "%.6g", x);
	return strtod(text, NULL) * 1e-6;
}

/* The value of "key=value" on its own line of an ImageJ description, into
 * out; 0 if the key is not there. */
static int imagej_value(const char *desc, const char *key, char *out, size_t size)
{
	const size_t n = strlen(key);
	for (const char *line = desc; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, key, n) != 0 || line[n] != '=')
			continue;
		const char *v = line + n + 1;
		size_t len = strcspn(v, "\r\n");
		if (len >= size)
			len = size - 1;
		memcpy(out, v, len);
		out[len] = '\0';
		return 1;
	}
	return 0;
}

/* The voxel size (m) a TIFF's first page gives: the ImageJ description's unit
 * and spacing (z) with the resolution tags in pixels per that unit, or the
 * resolution tags with their own unit (cm, inch; pages spaced like pixels).
 * The voxels must be cubic to 1e-4. */
static int tiff_voxel_size(TIFF *tif, const char *path, double *h, const char **source, vb_err *e)
{
	float xres = 0, yres = 0;
	uint16_t resunit = RESUNIT_NONE;
	const char *desc = NULL;
	const int has_x = TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xres) && xres > 0;
	const int has_y = TIFFGetField(tif, TIFFTAG_YRESOLUTION, &yres) && yres > 0;
	TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &resunit);
	const int imagej = TIFFGetField(tif, TIFFTAG_IMAGEDESCRIPTION, &desc) && desc != NULL &&
			   strncmp(desc, "ImageJ=", 7) == 0;
	char text[64];
	double unit = 0, spacing = NAN; /* um */
	if (imagej && imagej_value(desc, "unit", text, sizeof text)) {
		unit = unit_um(text);
		if (unit == 0)
			return vb_err_set(e, VB_ERR_INPUT,
					  "%s: ImageJ unit '%s' is not a length voxbat knows "
					  "(micron, um, nm, mm, cm, m, inch); give --voxel",
					  path, text);
		if (imagej_value(desc, "spacing", text, sizeof text)) {
			char *end;
			spacing = strtod(text, &end);
			if (end == text || !(spacing > 0) || !isfinite(spacing))
				return vb_err_set(e, VB_ERR_INPUT,
						  "%s: ImageJ spacing '%s' is not a length > 0", path,
						  text);
			spacing *= unit;
		}
		*source = "ImageJ description";
	} else if (resunit == RESUNIT_CENTIMETER || resunit == RESUNIT_INCH) {
		unit = resunit == RESUNIT_CENTIMETER ? 1e4 : 25400;
		*source = "TIFF resolution tags";
	}
	if (unit == 0 || !has_x)
		return vb_err_set(e, VB_ERR_INPUT,
				  "%s: the file gives no voxel size (no ImageJ unit, no resolution "
				  "tags in cm or inch); give --voxel",
				  path);
	const double dx = unit / xres, dy = has_y ? unit / yres : dx,
		     dz = isnan(spacing) ? dx : spacing;
	if (!(dx > 0) || !isfinite(dx) || fabs(dy / dx - 1) > 1e-4 || fabs(dz / dx - 1) > 1e-4)
		return vb_err_set(e, VB_ERR_INPUT,
				  "%s: voxels of %.6g x %.6g x %.6g um (%s) are not cubes; "
				  "resample the stack, or give --voxel",
				  path, dx, dy, dz, *source);
	*h = um_to_m(dx);
	return VB_OK;
}

/* Reads the current page (width x height values of bytes each, in strips or
 * tiles) into out. */
static int read_page(TIFF *tif, uint8_t *out, uint32_t width, uint32_t height, int bytes,
		     const char *path, int64_t page, vb_err *e)
{
	if (!TIFFIsTiled(tif)) {
		for (uint32_t row = 0; row < height; row++)
			if (TIFFReadScanline(tif, out + (size_t)row * width * bytes, row, 0) < 0)
				return vb_err_set(e, VB_ERR_INPUT,
						  "%s: page %lld row %u cannot be read", path,
						  (long long)page, row);
		return VB_OK;
	}
	uint32_t tw = 0, th = 0;
	TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
	TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
	const tmsize_t size = TIFFTileSize(tif);
	if (tw == 0 || th == 0 || size < (tmsize_t)tw * th * bytes)
		return vb_err_set(e, VB_ERR_INPUT, "%s: page %lld: bad tile layout", path,
				  (long long)page);
	uint8_t *tile = malloc((size_t)size);
	if (tile == NULL)
		return vb_err_set(e, VB_ERR_RUN, "%s: out of memory", path);
	int rc = VB_OK;
	for (uint32_t y = 0; y < height && rc == VB_OK; y += th) {
		for (uint32_t x = 0; x < width && rc == VB_OK; x += tw) {
			if (TIFFReadTile(tif, tile, x, y, 0, 0) < 0) {
				rc = vb_err_set(e, VB_ERR_INPUT,
						"%s: page %lld tile at (%u,%u) cannot be read", path,
						(long long)page, y, x);
				break;
			}
			const uint32_t rows = height - y < th ? height - y : th,
				       cols = width - x < tw ? width - x : tw;
			for (uint32_t r = 0; r < rows; r++)
				memcpy(out + ((size_t)(y + r) * width + x) * bytes,
				       tile + (size_t)r * tw * bytes, (size_t)cols * bytes);
		}
	}
	free(tile);
	return rc;
}

vb_image *gs_import_tiff(const char *path, const int axis[3], double voxel_size,
			 const int map[GS_MAP_SIZE], const char **source, vb_err *e)
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
	uint16_t bits0 = 0;
	TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &width);
	TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &height);
	TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits0);
	const int bytes = bits0 == 16 ? 2 : 1;
	int rc = VB_OK;
	*source = "--voxel";
	if (isnan(voxel_size))
		rc = tiff_voxel_size(tif, path, &voxel_size, source, e);
	const int64_t pages = rc == VB_OK ? TIFFNumberOfDirectories(tif) : 0;
	if (rc == VB_OK && tiff_errors > 0)
		rc = tiff_damaged(path, e);
	/* a page number tag (page, of total) that promises more pages than
	 * the chain of directories holds: pages lost at the end */
	uint16_t page_no = 0, page_total = 0;
	if (rc == VB_OK && TIFFGetField(tif, TIFFTAG_PAGENUMBER, &page_no, &page_total) &&
	    page_total > 0 && pages < 65535 && page_total != pages) /* a 16-bit tag */
		rc = vb_err_set(e, VB_ERR_INPUT,
				"%s: %lld pages can be read, but the file says it has %u "
				"(truncated?)",
				path, (long long)pages, page_total);
	/* what the pages claim against what the file can hold: uncompressed,
	 * every byte is in the file; compressed, no codec libtiff reads packs
	 * more than 4096 bytes into one (a 158-byte file claiming 60000x60000
	 * pixels allocated 7 GB) */
	uint16_t compression = COMPRESSION_NONE;
	TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
	const double claimed = (double)pages * (double)width * (double)height * bytes;
	const double room = (double)st.st_size * (compression == COMPRESSION_NONE ? 1.0 : 4096.0);
	if (rc == VB_OK && claimed > room)
		rc = vb_err_set(e, VB_ERR_INPUT,
				"%s: %lld pages of %ux%u pixels (%.3g bytes) cannot be in a file of "
				"%lld bytes",
				path, (long long)pages, width, height, claimed,
				(long long)st.st_size);
	int64_t d[3] = {pages, height, width};
	vb_image *img = NULL;
	uint8_t *data = NULL;
	if (rc == VB_OK && (width == 0 || height == 0 || pages == 0 ||
			    pages > VB_VOXEL_MAX_COUNT / (int64_t)width / (int64_t)height))
		rc = vb_err_set(e, VB_ERR_INPUT,
				"%s: %lld pages of %ux%u pixels: empty or too large", path,
				(long long)pages, width, height);
	if (rc == VB_OK && (img = image_for(d, axis, voxel_size, e)) == NULL)
		rc = (e != NULL && e->status != VB_OK) ? e->status : VB_ERR_RUN;
	if (rc == VB_OK && (data = malloc((size_t)(pages * width * height) * bytes)) == NULL)
		rc = vb_err_set(e, VB_ERR_RUN, "%s: out of memory", path);
	/* the pages in file order, each directory read once after the other */
	if (rc == VB_OK && !TIFFSetDirectory(tif, 0))
		rc = vb_err_set(e, VB_ERR_INPUT, "%s: page 0 cannot be read", path);
	for (int64_t p = 0; p < pages && rc == VB_OK; p++) {
		if (p > 0 && !TIFFReadDirectory(tif)) {
			rc = vb_err_set(e, VB_ERR_INPUT, "%s: page %lld cannot be read", path,
					(long long)p);
			break;
		}
		uint32_t w = 0, h = 0;
		uint16_t bits = 0, spp = 1, format = SAMPLEFORMAT_UINT;
		TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
		TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
		TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
		TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
		TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
		if (w != width || h != height)
			rc = vb_err_set(e, VB_ERR_INPUT, "%s: page %lld is %ux%u, page 0 is %ux%u",
					path, (long long)p, w, h, width, height);
		else if ((bits != 8 && bits != 16) || bits != bits0 || spp != 1 ||
			 format != SAMPLEFORMAT_UINT)
			rc = vb_err_set(e, VB_ERR_INPUT,
					"%s: page %lld has %u bits x %u samples per pixel "
					"(sample format %u), expected 8- or 16-bit unsigned grey "
					"labels like page 0 (%u bits)",
					path, (long long)p, bits, spp, format, bits0);
		else
			rc = read_page(tif, data + (size_t)(p * height * width) * bytes, width,
				       height, bytes, path, p, e);
	}
	if (rc == VB_OK && tiff_errors > 0)
		rc = tiff_damaged(path, e);
	TIFFClose(tif);
	if (rc == VB_OK)
		rc = reorder_into(img, data, bytes, d, axis, map, path, e);
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
	/* ImageJ's stack description, in the unit of the resolution tags */
	char description[160];
	snprintf(description, sizeof description,
		 "ImageJ=1.11a\nimages=%lld\nslices=%lld\nunit=cm\nspacing=%.9g\nloop=false\n",
		 (long long)d[0], (long long)d[0], img->voxel_size * 100);
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
		TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER);
		TIFFSetField(tif, TIFFTAG_XRESOLUTION, (float)(1e-2 / img->voxel_size));
		TIFFSetField(tif, TIFFTAG_YRESOLUTION, (float)(1e-2 / img->voxel_size));
		if (a0 == 0)
			TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION, description);
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
