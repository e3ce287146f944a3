/* genstruct profiles: a quantity along x (the through-thickness axis) given
 * as a constant, points joined linearly, linear:A:B or steps:X1:A,...
 * (docs/genstruct.md): the parser and the profile's value and mean. */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "genstruct.h"

#define ITEM_MAX 128

/* A value of the profile: a plain number (kind VB_UNIT_NONE) or a length. */
static int parse_value(const char *text, vb_unit_kind kind, const char *what, double *v, vb_err *e)
{
	return kind == VB_UNIT_NONE ? vb_units_parse_number(text, what, v, e)
				    : vb_units_parse(text, kind, what, v, e);
}

/* A position: a length with its unit; a bare 0 is 0 in any unit. */
static int parse_x(const char *text, const char *what, double *x, vb_err *e)
{
	if (strcmp(text, "0") == 0) {
		*x = 0;
		return VB_OK;
	}
	return vb_units_parse(text, VB_UNIT_LENGTH, what, x, e);
}

/* Copies the n characters at s into item (NUL-terminated); VB_ERR_INPUT if
 * they do not fit or are empty. */
static int take(const char *s, size_t n, char item[ITEM_MAX], const char *what, const char *text,
		vb_err *e)
{
	if (n == 0 || n >= ITEM_MAX)
		return vb_err_set(e, VB_ERR_INPUT, "%s '%s': %s item", what, text,
				  n == 0 ? "an empty" : "a too long");
	memcpy(item, s, n);
	item[n] = '\0';
	return VB_OK;
}

static int add_point(gs_profile *p, double x, double v, const char *what, const char *text,
		     vb_err *e)
{
	if (p->n == GS_PROFILE_MAX)
		return vb_err_set(e, VB_ERR_INPUT, "%s '%s': more than %d points", what, text,
				  GS_PROFILE_MAX);
	p->x[p->n] = x;
	p->v[p->n] = v;
	p->n++;
	return VB_OK;
}

/* Checks a point's x: inside [0, length] and beyond the previous one. */
static int check_x(const gs_profile *p, double x, double length, const char *what, const char *text,
		   vb_err *e)
{
	if (!(x >= 0 && x <= length * (1 + 1e-9)))
		return vb_err_set(e, VB_ERR_INPUT,
				  "%s '%s': x = %g um lies outside the box (0 to %g um)", what,
				  text, x * 1e6, length * 1e6);
	if (p->n > 0 && !(x > p->x[p->n - 1]))
		return vb_err_set(e, VB_ERR_INPUT,
				  "%s '%s': x = %g um after %g um, expected x strictly increasing",
				  what, text, x * 1e6, p->x[p->n - 1] * 1e6);
	return VB_OK;
}

/* x, or length when x is length up to rounding ("100um" is 100 x 1e-6). */
static double near_length(double x, double length)
{
	return fabs(x - length) <= 1e-9 * length ? length : x;
}

/* "X:V" into its two halves. */
static int split_pair(const char *item, char x[ITEM_MAX], char v[ITEM_MAX], const char *what,
		      const char *text, vb_err *e)
{
	const char *colon = strchr(item, ':');
	if (colon == NULL || strchr(colon + 1, ':') != NULL)
		return vb_err_set(e, VB_ERR_INPUT,
				  "%s '%s': '%s' is not X:VALUE (X a length such as 50um)", what,
				  text, item);
	if (take(item, (size_t)(colon - item), x, what, text, e) ||
	    take(colon + 1, strlen(colon + 1), v, what, text, e))
		return VB_ERR_INPUT;
	return VB_OK;
}

/* X1:V1,X2:V2,... (points) or, steps, X1:A,X2:B,...[,V] (A up to X1, ...). */
static int parse_list(const char *list, int steps, vb_unit_kind kind, double length,
		      const char *what, const char *text, gs_profile *p, vb_err *e)
{
	const char *s = list;
	double start = 0;
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		char item[ITEM_MAX], xs[ITEM_MAX], vs[ITEM_MAX];
		double x, v;
		if (take(s, len, item, what, text, e))
			return VB_ERR_INPUT;
		if (steps && comma == NULL && strchr(item, ':') == NULL) {
			/* the last step without its end: up to the box length */
			if (parse_value(item, kind, what, &v, e) ||
			    add_point(p, start, v, what, text, e) ||
			    add_point(p, length, v, what, text, e))
				return VB_ERR_INPUT;
			return VB_OK;
		}
		if (split_pair(item, xs, vs, what, text, e) || parse_x(xs, what, &x, e) ||
		    parse_value(vs, kind, what, &v, e))
			return VB_ERR_INPUT;
		if (steps) {
			/* [start, x) holds v: two points, the first at the previous end */
			if (!(x > start) && p->n > 0)
				return vb_err_set(e, VB_ERR_INPUT,
						  "%s '%s': step end %g um after %g um, expected "
						  "the ends strictly increasing",
						  what, text, x * 1e6, start * 1e6);
			if (!(x > 0))
				return vb_err_set(e, VB_ERR_INPUT,
						  "%s '%s': the first step ends at %g um, expected "
						  "> 0",
						  what, text, x * 1e6);
			if (!(x <= length * (1 + 1e-9)))
				return vb_err_set(e, VB_ERR_INPUT,
						  "%s '%s': step end %g um lies outside the box (0 "
						  "to %g um)",
						  what, text, x * 1e6, length * 1e6);
			x = near_length(x, length);
			if (add_point(p, start, v, what, text, e) ||
			    add_point(p, x, v, what, text, e))
				return VB_ERR_INPUT;
			start = x;
			if (comma == NULL && fabs(x - length) > 1e-9 * length)
				return vb_err_set(e, VB_ERR_INPUT,
						  "%s '%s': the last step ends at %g um, expected "
						  "the box length %g um (or a bare last value)",
						  what, text, x * 1e6, length * 1e6);
		} else {
			if (check_x(p, x, length, what, text, e) ||
			    add_point(p, near_length(x, length), v, what, text, e))
				return VB_ERR_INPUT;
		}
		if (comma == NULL)
			return VB_OK;
		s = comma + 1;
	}
}

/* The keyword kw followed by ':' or blanks: returns what follows, else NULL. */
static const char *keyword(const char *text, const char *kw)
{
	size_t n = strlen(kw);
	if (strncmp(text, kw, n) != 0 || (text[n] != ':' && !isblank((unsigned char)text[n])))
		return NULL;
	const char *s = text + n + 1;
	while (isblank((unsigned char)*s))
		s++;
	return s;
}

int gs_profile_parse(const char *text, vb_unit_kind kind, double length, const char *what,
		     gs_profile *p, vb_err *e)
{
	const char *rest;
	p->n = 0;
	if ((rest = keyword(text, "linear")) != NULL) {
		/* A and B separated by ':' or blanks, nothing else */
		size_t a = strcspn(rest, ": \t");
		const char *b = rest + a;
		while (*b == ':' || isblank((unsigned char)*b))
			b++;
		size_t nb = strcspn(b, ": \t,");
		char as[ITEM_MAX], bs[ITEM_MAX];
		double va, vb;
		int colons = 0;
		for (const char *c = rest + a; c < b; c++)
			colons += *c == ':';
		if (a == 0 || nb == 0 || b[nb] != '\0' || colons > 1 || memchr(rest, ',', a))
			return vb_err_set(e, VB_ERR_INPUT,
					  "%s '%s': expected linear:A:B (A at x = 0, B at the "
					  "box length)",
					  what, text);
		if (take(rest, a, as, what, text, e) || take(b, nb, bs, what, text, e) ||
		    parse_value(as, kind, what, &va, e) || parse_value(bs, kind, what, &vb, e) ||
		    add_point(p, 0, va, what, text, e) || add_point(p, length, vb, what, text, e))
			return VB_ERR_INPUT;
		return VB_OK;
	}
	if ((rest = keyword(text, "steps")) != NULL)
		return parse_list(rest, 1, kind, length, what, text, p, e);
	if (strpbrk(text, ":,") != NULL)
		return parse_list(text, 0, kind, length, what, text, p, e);
	double v;
	if (parse_value(text, kind, what, &v, e))
		return VB_ERR_INPUT;
	return add_point(p, 0, v, what, text, e);
}

/* The value at x of piece q of the profile: q = -1 before the first point,
 * q = n - 1 after the last, else the segment from point q to q + 1 (so that
 * at a step each side keeps its own value). */
static double piece_at(const gs_profile *p, int q, double x)
{
	if (q < 0)
		return p->v[0];
	if (q + 1 >= p->n)
		return p->v[p->n - 1];
	double t = (x - p->x[q]) / (p->x[q + 1] - p->x[q]);
	return p->v[q] + t * (p->v[q + 1] - p->v[q]);
}

double gs_profile_at(const gs_profile *p, double x)
{
	int q = -1; /* the last point at or before x */
	while (q + 1 < p->n && p->x[q + 1] <= x)
		q++;
	return piece_at(p, q, x);
}

/* The integral of the profile over [a, b], piece by piece (trapezoids; a
 * step's zero-width piece adds nothing). */
static double integral(const gs_profile *p, double a, double b)
{
	double sum = 0;
	for (int q = -1; q < p->n; q++) {
		double lo = q < 0 ? -INFINITY : p->x[q];
		double hi = q + 1 < p->n ? p->x[q + 1] : INFINITY;
		double l = fmax(lo, a), r = fmin(hi, b);
		if (r > l)
			sum += 0.5 * (piece_at(p, q, l) + piece_at(p, q, r)) * (r - l);
	}
	return sum;
}

double gs_profile_mean(const gs_profile *p, double a, double b)
{
	return integral(p, a, b) / (b - a);
}
