/* Fuzz target: the parameter-file reader (INI text, units, functions,
 * cross-checks) and an override of the parsed set. */
#include "fuzz_input.h"

#include <stdlib.h>

#include "vb_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = fuzz_file(data, size, path, sizeof path);
	if (fd < 0)
		return 0;
	vb_err e;
	vb_err_clear(&e);
	vb_params *p = vb_params_load(path, &e);
	if (p != NULL) {
		vb_params_eval(p, "cam.ocp", 0.5);
		vb_params_set(p, "cam.diffusivity", "1e-13 cm2/s", &e);
		vb_params_free(&p);
	}
	fuzz_done(fd, path);
	return 0;
}
