/* vb_cam: tabulation of the CAM transport laws (vb_cam.h). The tables are
 * fine enough (4096 intervals in c) that the linear interpolation of D and
 * sigma is within about 1e-6 of the parameter set's functions, which vary by
 * decades over the lithiation. */
#include "vb_cam.h"

#include <stdlib.h>
#include <string.h>

#define TABLE_INTERVALS 4096

void vb_cam_free(vb_cam **mp)
{
	if (mp == NULL || *mp == NULL)
		return;
	free((*mp)->d), free((*mp)->phi), free((*mp)->sigma);
	free(*mp);
	*mp = NULL;
}

vb_cam *vb_cam_new(const vb_params *p, vb_err *e)
{
	vb_cam *m = calloc(1, sizeof *m);
	const int n = TABLE_INTERVALS;
	if (m == NULL || (m->d = malloc((n + 1) * sizeof *m->d)) == NULL ||
	    (m->phi = malloc((n + 1) * sizeof *m->phi)) == NULL ||
	    (m->sigma = malloc((n + 1) * sizeof *m->sigma)) == NULL) {
		vb_cam_free(&m);
		vb_err_set(e, VB_ERR_RUN, "out of memory for the CAM tables");
		return NULL;
	}
	m->cmax = vb_params_get(p, "cam.c_max");
	m->n = n;
	m->dc = m->cmax / n;
	/* a law is constant when its derivative vanishes everywhere: a scalar
	 * key, or a function section overridden by one */
	m->d_constant = m->sigma_constant = 1;
	for (int i = 0; i <= n; i++) {
		const double x = (double)i / n;
		m->d[i] = vb_params_eval(p, "cam.diffusivity", x);
		m->sigma[i] = vb_params_eval(p, "cam.conductivity", x);
		if (vb_params_eval_derivative(p, "cam.diffusivity", x) != 0 || m->d[i] != m->d[0])
			m->d_constant = 0;
		if (vb_params_eval_derivative(p, "cam.conductivity", x) != 0 ||
		    m->sigma[i] != m->sigma[0])
			m->sigma_constant = 0;
	}
	m->d0 = m->d[0], m->sigma0 = m->sigma[0];
	m->phi[0] = 0;
	for (int i = 0; i < n; i++)
		m->phi[i + 1] = m->phi[i] + 0.5 * (m->d[i] + m->d[i + 1]) * m->dc;
	return m;
}
