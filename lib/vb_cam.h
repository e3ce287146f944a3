/* vb_cam: the transport laws of the cathode active material as functions of
 * its Li concentration c_s, tabulated once from a parameter set for the inner
 * loops of a discharge: the solid diffusivity D(c) with its Kirchhoff
 * potential Phi(c) = integral of D from 0 to c, and the electronic
 * conductivity sigma(c) (PHYSICS.md §2-3; docs/solve.md, "Lithiation-dependent
 * CAM properties"). */
#ifndef VB_CAM_H
#define VB_CAM_H

#include "vb_err.h"
#include "vb_params.h"

/* Tables on n + 1 equally spaced concentrations 0, dc, ..., c_max. D and
 * sigma are linear between the nodes (their values there are the parameter
 * set's), and Phi is the exact integral of that piecewise-linear D, so that
 * a flux Phi(c1) - Phi(c2) and its derivatives D(c1), -D(c2) agree to
 * rounding. Outside [0, c_max] D and sigma keep their end values. */
typedef struct vb_cam {
	double cmax;		     /* mol/m^3 */
	int n;			     /* intervals */
	double dc;		     /* cmax / n, mol/m^3 */
	double *d, *phi, *sigma;     /* n + 1 values: m^2/s, mol/(m s), S/m */
	int d_constant, sigma_constant; /* 1: the set gives a constant (tables unused) */
	double d0, sigma0;		/* the constants then */
} vb_cam;

/* Tabulates the CAM laws of p (cam.diffusivity and cam.conductivity, each a
 * constant or a function of the stoichiometry c/c_max). Caller frees with
 * vb_cam_free. NULL (e set) when out of memory. */
vb_cam *vb_cam_new(const vb_params *p, vb_err *e);

/* Frees *m and sets it to NULL; NULL is a no-op. */
void vb_cam_free(vb_cam **m);

/* Kirchhoff potential Phi(c) (mol/(m s)); *d receives D(c) = dPhi/dc (m^2/s).
 * The Li flux from concentration c1 to c2 across a link of geometric
 * conductance g (area / length, m) is g (Phi(c1) - Phi(c2)) mol/s. */
static inline double vb_cam_kirchhoff(const vb_cam *m, double c, double *d)
{
	if (m->d_constant) {
		*d = m->d0;
		return m->d0 * c;
	}
	if (c <= 0) {
		*d = m->d[0];
		return m->d[0] * c;
	}
	if (c >= m->cmax) {
		*d = m->d[m->n];
		return m->phi[m->n] + m->d[m->n] * (c - m->cmax);
	}
	int i = (int)(c / m->dc);
	if (i >= m->n)
		i = m->n - 1;
	const double t = c - i * m->dc, s = (m->d[i + 1] - m->d[i]) / m->dc;
	*d = m->d[i] + s * t;
	return m->phi[i] + (m->d[i] + 0.5 * s * t) * t;
}

/* Electronic conductivity sigma(c) (S/m); *dsigma receives dsigma/dc
 * (S m^2/mol; 0 outside [0, c_max] and for a constant). */
static inline double vb_cam_conductivity(const vb_cam *m, double c, double *dsigma)
{
	if (m->sigma_constant) {
		*dsigma = 0;
		return m->sigma0;
	}
	if (c <= 0 || c >= m->cmax) {
		*dsigma = 0;
		return c <= 0 ? m->sigma[0] : m->sigma[m->n];
	}
	int i = (int)(c / m->dc);
	if (i >= m->n)
		i = m->n - 1;
	const double s = (m->sigma[i + 1] - m->sigma[i]) / m->dc;
	*dsigma = s;
	return m->sigma[i] + s * (c - i * m->dc);
}

#endif
