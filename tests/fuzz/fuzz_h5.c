/* Fuzz target: the readers of voxbat HDF5 files (a cathode, a cell, a run)
 * as metrics runs them: open and format, /labels and their storage, the
 * parameter set, the cell's layers and type, a run's time series and
 * snapshots. */
#include "fuzz_input.h"

#include <math.h>
#include <stdlib.h>

#include "run.h"
#include "vb_cell.h"
#include "vb_h5.h"
#include "vb_params.h"
#include "vb_voxel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = fuzz_file(data, size, path, sizeof path);
	if (fd < 0)
		return 0;
	vb_err e;
	vb_err_clear(&e);
	hid_t file = vb_h5_open(path, &e);
	vb_image *img = NULL;
	vb_params *p = NULL;
	if (file >= 0 && vb_h5_read_image(file, path, &img, &e) == VB_OK &&
	    (p = vb_params_read_h5(file, "parameters", path, &e)) != NULL) {
		vb_cell_regions r;
		if (vb_cell_check(file, path, img, p, &r, &e) == VB_OK) {
			mr_series s = {0};
			if (mr_series_read(file, path, &s, &e) == VB_OK)
				mr_series_free(&s);
			mr_discharge d = {0};
			if (mr_discharge_read(file, path, img, p, r.x0[VB_CELL_SEPARATOR],
					      r.x0[VB_CELL_CATHODE], r.x1[VB_CELL_CATHODE], NAN, &d,
					      &e) == VB_OK)
				mr_discharge_free(&d);
		}
		vb_h5_provenance_check(file, path, &e);
	}
	vb_params_free(&p);
	vb_voxel_free(&img);
	if (file >= 0)
		vb_h5_close(file, NULL);
	fuzz_done(fd, path);
	return 0;
}
