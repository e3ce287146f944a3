/* Fuzz target: TIFF stack import (libtiff's reading of the pages, the
 * voxel size from resolution tags or an ImageJ description, the checks). */
#include "fuzz_input.h"

#include <math.h>
#include <stdlib.h>

#include "genstruct.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int map[GS_MAP_SIZE];
	vb_err e;
	vb_err_clear(&e);
	int axis[3];
	if (gs_parse_order("xyz", axis, &e) != VB_OK || gs_parse_map(NULL, map, &e))
		return 0;
	char path[64];
	int fd = fuzz_file(data, size, path, sizeof path);
	if (fd < 0)
		return 0;
	const char *source = NULL;
	vb_image *img = gs_import_tiff(path, axis, NAN, map, &source, &e);
	vb_voxel_free(&img);
	fuzz_done(fd, path);
	return 0;
}
