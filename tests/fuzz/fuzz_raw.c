/* Fuzz target: raw uint8 import. The first 3 bytes choose the dimensions
 * (1..16 each) and the 4th the axis order; the rest is the file. */
#include "fuzz_input.h"

#include <stdlib.h>

#include "genstruct.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	static const char *orders[6] = {"xyz", "xzy", "yxz", "yzx", "zxy", "zyx"};
	const int64_t dims[3] = {1 + data[0] % 16, 1 + data[1] % 16, 1 + data[2] % 16};
	static int map[GS_MAP_SIZE];
	vb_err e;
	vb_err_clear(&e);
	int axis[3];
	if (gs_parse_order(orders[data[3] % 6], axis, &e) != VB_OK || gs_parse_map(NULL, map, &e))
		return 0;
	char path[64];
	int fd = fuzz_file(data + 4, size - 4, path, sizeof path);
	if (fd < 0)
		return 0;
	vb_image *img = gs_import_raw(path, dims, axis, 1e-6, map, &e);
	vb_voxel_free(&img);
	fuzz_done(fd, path);
	return 0;
}
