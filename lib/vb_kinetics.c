/* vb_kinetics: Butler-Volmer face law (vb_kinetics.h). */
#include "vb_kinetics.h"

#include <math.h>

double vb_kinetics_current(double i0, double alpha, double f, double eta, double *di_deta)
{
	double xa = alpha * f * eta, xc = -(1 - alpha) * f * eta;
	xa = xa > 200 ? 200 : xa, xc = xc > 200 ? 200 : xc;
	const double ea = exp(xa), ec = exp(xc);
	*di_deta = i0 * f * (alpha * ea + (1 - alpha) * ec);
	return i0 * (ea - ec);
}

double vb_kinetics_cam_exchange(double i00, double alpha, double ce, double cs, double cmax,
				double *dln_dcs)
{
	if (!(cs > 0 && cs < cmax)) {
		*dln_dcs = 0;
		return 0;
	}
	*dln_dcs = alpha / cs - (1 - alpha) / (cmax - cs);
	if (alpha == 0.5) /* the shipped sets: one sqrt for three pow */
		return i00 * sqrt(ce * cs * (cmax - cs));
	return i00 * pow(ce, alpha) * pow(cs, alpha) * pow(cmax - cs, 1 - alpha);
}
