/* pf_pick.c — choosing one point of a front: the knee and the scalarized best (see pareto.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "pareto.h"

int pf_knee(size_t n, int m, const double *f, double *mu, size_t *knee)
{
	double *lo = malloc(2 * m * sizeof *lo), *hi;
	size_t best = 0;
	double bestmu = -INFINITY;
	if (!lo)
		return err_oom();
	hi = lo + m;
	for (int k = 0; k < m; k++) {
		lo[k] = hi[k] = f[k];
		for (size_t i = 1; i < n; i++) {
			lo[k] = fmin(lo[k], f[i * m + k]);
			hi[k] = fmax(hi[k], f[i * m + k]);
		}
	}
	for (size_t i = 0; i < n; i++) {
		double mi = INFINITY;
		for (size_t j = 0; j < n; j++) {
			double s = 0, g = 0;
			if (j == i)
				continue;
			for (int k = 0; k < m; k++) {
				if (hi[k] == lo[k])
					continue;
				double d = (f[j * m + k] - f[i * m + k]) / (hi[k] - lo[k]);
				if (d > 0)
					s += d;
				else
					g -= d;
			}
			if (g > 0 && s / g < mi)
				mi = s / g;
		}
		if (mu)
			mu[i] = mi;
		if (mi > bestmu) {
			bestmu = mi;
			best = i;
		}
	}
	free(lo);
	*knee = best;
	return 0;
}

int pf_scal_parse(struct pf_scal *s, const char *text)
{
	memset(s, 0, sizeof *s);
	if (strcmp(text, "mean") == 0) {
		s->kind = PF_MEAN;
		return 0;
	}
	if (strcmp(text, "min") == 0) {
		s->kind = PF_MIN;
		return 0;
	}
	s->kind = PF_WEIGHTS;
	for (const char *p = text;;) {
		char *end;
		errno = 0;
		double w = strtod(p, &end);
		if (end == p || (*end && *end != ',') || !isfinite(w) || isspace((unsigned char)*p)) {
			pf_scal_free(s);
			return err_set("\"%s\": expected mean, min or comma-separated weights", text);
		}
		double *nw = realloc(s->w, (s->nw + 1) * sizeof *nw);
		if (!nw) {
			pf_scal_free(s);
			return err_oom();
		}
		s->w = nw;
		s->w[s->nw++] = w;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

void pf_scal_free(struct pf_scal *s)
{
	free(s->w);
	s->w = NULL;
	s->nw = 0;
}

double pf_scal_value(const struct pf_scal *s, int m, const double *p)
{
	double v = s->kind == PF_MIN ? INFINITY : 0;
	for (int k = 0; k < m; k++) {
		double g = -p[k];
		if (s->kind == PF_MIN)
			v = fmin(v, g);
		else if (s->kind == PF_MEAN)
			v += g / m;
		else
			v += s->w[k] * g;
	}
	return v;
}

