/* Fuzz target: solve's checkpoint reader (--resume, and the probe that
 * decides whether a --checkpoint path may be replaced or removed) on a
 * fixed small cell (FUZZ_CELL, the corpus's cell): the input is the
 * checkpoint. It is read with the fingerprint it claims, so that mutants
 * reach past that check, and probed with one it does not match. */
#include "fuzz_input.h"

#include <math.h>

#include "discharge.h"
#include "runfile.h"
#include "vb_h5.h"
#include "vb_params.h"
#include "vb_voxel.h"

static vb_echem *model(sv_options *o)
{
	static vb_echem *m; /* with the cell and parameters it keeps, for the run */
	static vb_image *cell;
	static vb_params *p;
	static int tried;
	if (!tried) {
		tried = 1;
		vb_err e;
		vb_err_clear(&e);
		hid_t file = vb_h5_open(FUZZ_CELL, &e);
		if (file >= 0 && vb_h5_read_image(file, FUZZ_CELL, &cell, &e) == VB_OK &&
		    (p = vb_params_read_h5(file, "parameters", FUZZ_CELL, &e)) != NULL)
			m = vb_echem_new(cell, p, NULL, FUZZ_CELL, &e);
		if (m == NULL) {
			fprintf(stderr, "fuzz_checkpoint: %s: %s\n", FUZZ_CELL, e.msg);
			abort();
		}
		vb_h5_close(file, NULL);
	}
	*o = (sv_options){0};
	o->current = 10, o->cutoff = 3, o->max_time = INFINITY, o->step_tol = 1;
	o->dt_init = 0.1, o->dt_min = 1e-6, o->dt_max = 600;
	o->echem = vb_echem_defaults();
	o->subgrid = vb_subgrid_defaults();
	return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sv_options o;
	vb_echem *m = model(&o);
	char path[64];
	int fd = fuzz_file(data, size, path, sizeof path);
	if (fd < 0)
		return 0;
	vb_err e;
	vb_err_clear(&e);
	sv_checkpoint_probe(path, "not this one");
	char *fp = NULL;
	hid_t file = vb_h5_open(path, &e);
	if (file >= 0) {
		vb_h5_attr_read_string(file, "fingerprint", path, &fp, &e);
		vb_h5_close(file, NULL);
	}
	if (fp != NULL) {
		sv_run r;
		if (sv_run_init(&r, m, &o, &e) == VB_OK) {
			sv_checkpoint_read(path, &r, fp, &e);
			sv_run_free(&r);
		}
		free(fp);
	}
	fuzz_done(fd, path);
	return 0;
}
