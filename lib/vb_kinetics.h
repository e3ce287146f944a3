/* vb_kinetics: the Butler-Volmer law of PHYSICS.md §2 at one interface face:
 * the current density and its derivatives, and the exchange current density
 * of the CAM with its dependence on the surface concentration. */
#ifndef VB_KINETICS_H
#define VB_KINETICS_H

/* Current density (A/m^2, positive anodic: Li leaving the electrode) at
 * overpotential eta (V) for exchange current density i0 (A/m^2), transfer
 * coefficient alpha and f = F / (R T) (1/V); *di_deta receives di/deta
 * (S/m^2). The exponents are capped at 200 so that a wild Newton iterate
 * stays finite. */
double vb_kinetics_current(double i0, double alpha, double f, double eta, double *di_deta);

/* Exchange current density of the CAM (A/m^2): i00 c_e^alpha c_s^alpha
 * (c_max - c_s)^(1 - alpha), concentrations in mol/m^3, i00 in
 * A m^2.5/mol^1.5. *dln_dcs receives d ln i0 / d c_s (m^3/mol). Outside
 * 0 < c_s < c_max the exchange current is 0 (and so is its derivative). */
double vb_kinetics_cam_exchange(double i00, double alpha, double ce, double cs, double cmax,
				double *dln_dcs);

#endif
