/* ln_svg.c — a chart of series drawn as SVG (see lines.h) with svg.h. Each panel is drawn back to
 * front: bands, reference lines, lines, markers. A line is one polyline a run of points between
 * gaps (class "line"), a band one polygon a run (class "band"), a reference line one path
 * (class "hline"): the counts tell a reader what was drawn. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "lines.h"
#include "svg.h"

#define PH 340.0      /* a panel's height */
#define L 84.0        /* left of the first panel at least: tick labels and the y title */
#define GAP 76.0      /* between panels at least: the next panel's tick labels */

static double panel_width(int np)
{
	return np == 1 ? 600 : np == 2 ? 400 : 320;
}

/* Where a series' points go on the page: one run of finite values of v[i0..i1] (band edges or
 * the line), as steps when asked: level until the next x, then to its value. */
static void run_points(FILE *f, const struct ln_series *s, const double *v, size_t i0, size_t i1, int reverse,
                       const struct svg_axis *ax, const struct svg_axis *ay)
{
	for (size_t k = 0; k <= i1 - i0; k++) {
		size_t i = reverse ? i1 - k : i0 + k;
		double x = svg_axis_px(ax, s->x[i]), y = svg_axis_px(ay, v[i]);
		if (s->step && !reverse && i > i0)
			fprintf(f, "%.2f,%.2f ", x, svg_axis_px(ay, v[i - 1]));
		fprintf(f, "%.2f,%.2f", x, y);
		if (s->step && reverse && i > i0)
			fprintf(f, " %.2f,%.2f", x, svg_axis_px(ay, v[i - 1]));
		fputs(k < i1 - i0 ? " " : "", f);
	}
}

/* Whether every array of v[0..nv) is finite at j. */
static int finite_at(const double *const *v, int nv, size_t j)
{
	for (int q = 0; q < nv; q++)
		if (!isfinite(v[q][j]))
			return 0;
	return 1;
}

/* The next run of indexes from *i where every array of v[0..nv) is finite: 1 and [*a, *b], or 0. */
static int next_run(const struct ln_series *s, const double *const *v, int nv, size_t *i, size_t *a, size_t *b)
{
	while (*i < s->n && !finite_at(v, nv, *i))
		(*i)++;
	if (*i >= s->n)
		return 0;
	*a = *i;
	while (*i < s->n && finite_at(v, nv, *i))
		(*i)++;
	*b = *i - 1;
	return 1;
}

static void draw_panel(FILE *f, const struct ln_chart *c, int p, const int *col,
                       const struct svg_axis *ax, const struct svg_axis *ay)
{
	size_t i, a, b;
	for (size_t k = 0; k < c->ns; k++) {
		const struct ln_series *s = &c->s[k];
		if (s->panel != p || !s->lo)
			continue;
		const double *v[2] = { s->lo, s->hi };
		for (i = 0; next_run(s, v, 2, &i, &a, &b);) {
			fprintf(f, "<polygon class=\"band\" fill=\"%s\" fill-opacity=\"0.18\" stroke=\"none\" points=\"",
			        svg_color(col[k]));
			run_points(f, s, s->hi, a, b, 0, ax, ay);
			fputc(' ', f);
			run_points(f, s, s->lo, a, b, 1, ax, ay);
			fputs("\"/>\n", f);
		}
	}
	for (size_t k = 0; k < c->ns; k++) {
		const struct ln_series *s = &c->s[k];
		if (s->panel != p || isnan(s->hline))
			continue;
		fprintf(f, "<path class=\"hline\" d=\"M%.2f %.2fH%.2f\" stroke=\"%s\" stroke-width=\"1.6\" "
		        "stroke-dasharray=\"%s\" fill=\"none\"/>\n", ax->p0, svg_axis_px(ay, s->hline), ax->p1,
		        svg_ref_color(col[k]), svg_dash(col[k]));
	}
	for (size_t k = 0; k < c->ns; k++) {
		const struct ln_series *s = &c->s[k];
		if (s->panel != p || !isnan(s->hline))
			continue;
		const double *v[1] = { s->y };
		for (i = 0; next_run(s, v, 1, &i, &a, &b);) {
			if (a == b) {
				/* a lone point between gaps: a line of one point would not show */
				if (!s->points)
					svg_marker(f, SVG_DOT, svg_axis_px(ax, s->x[a]), svg_axis_px(ay, s->y[a]), 2.5, svg_color(col[k]));
				continue;
			}
			fprintf(f, "<polyline class=\"line\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\"%s points=\"",
			        svg_color(col[k]), s->dash ? " stroke-dasharray=\"7 4\"" : "");
			run_points(f, s, s->y, a, b, 0, ax, ay);
			fputs("\"/>\n", f);
		}
		if (s->points)
			for (size_t j = 0; j < s->n; j++)
				if (isfinite(s->y[j]))
					svg_marker(f, SVG_CIRCLE, svg_axis_px(ax, s->x[j]), svg_axis_px(ay, s->y[j]), 3.5, svg_color(col[k]));
	}
}

/* col[k]: series k's color, the index of its group among the groups (reference lines: of its name
 * among the reference lines' names), in order of first appearance. */
static void colors(const struct ln_chart *c, int *col)
{
	int ng = 0, nr = 0;
	for (size_t k = 0; k < c->ns; k++) {
		const struct ln_series *s = &c->s[k];
		int ref = !isnan(s->hline);
		col[k] = -1;
		for (size_t q = 0; q < k && col[k] < 0; q++)
			if ((!isnan(c->s[q].hline)) == ref && strcmp(ref ? c->s[q].name : c->s[q].group, ref ? s->name : s->group) == 0)
				col[k] = col[q];
		if (col[k] < 0)
			col[k] = ref ? nr++ : ng++;
	}
}

/* The legend: one entry a series name, then one a reference line name with its value in each
 * panel ("–" where it has none). texts[] holds what was allocated. -1 on OOM. */
static int keys_make(const struct ln_chart *c, const int *col, struct svg_key *keys, char **texts, int *nk)
{
	int n = 0;
	for (int ref = 0; ref <= 1; ref++)
		for (size_t k = 0; k < c->ns; k++) {
			const struct ln_series *s = &c->s[k];
			if ((!isnan(s->hline)) != ref)
				continue;
			size_t q;
			for (q = 0; q < k; q++)
				if ((!isnan(c->s[q].hline)) == ref && strcmp(c->s[q].name, s->name) == 0)
					break;
			if (q < k)
				continue;
			struct svg_key *e = &keys[n];
			texts[n] = NULL;
			*e = (struct svg_key){ .text = s->name, .line = 1 };
			if (!ref) {
				e->color = svg_color(col[k]);
				e->dash = s->dash ? "7 4" : NULL;
				for (q = k; q < c->ns; q++)
					if (isnan(c->s[q].hline) && strcmp(c->s[q].name, s->name) == 0) {
						e->band |= c->s[q].lo != NULL;
						e->mark = c->s[q].points ? SVG_CIRCLE : e->mark;
					}
			} else {
				e->color = svg_ref_color(col[k]);
				e->dash = svg_dash(col[k]);
				/* the value in each panel, "–" where the line is not */
				char *t = NULL;
				size_t len = 0;
				FILE *m = open_memstream(&t, &len);
				if (!m) {
					*nk = n;
					return err_oom();
				}
				fprintf(m, "%s ", s->name);
				for (int p = 0; p < c->np; p++) {
					double v = NAN;
					for (q = k; q < c->ns; q++)
						if (c->s[q].panel == p && !isnan(c->s[q].hline) && strcmp(c->s[q].name, s->name) == 0)
							v = c->s[q].hline;
					fputs(p ? ", " : "", m);
					if (isnan(v))
						fputs("\xe2\x80\x93", m);
					else if (v != 0 && (fabs(v) < 0.01 || fabs(v) >= 1e6))   /* 0.000 would hide it */
						fprintf(m, "%.4g", v);
					else
						fprintf(m, "%.3f", v);
				}
				if (fclose(m) == EOF) {
					free(t);
					*nk = n;
					return err_oom();
				}
				e->text = texts[n] = t;
			}
			n++;
		}
	*nk = n;
	return 0;
}

struct plot { const struct ln_chart *c; const struct ln_opts *o; };

static void grow(double v, double *lo, double *hi, int *any)
{
	if (!isfinite(v))
		return;
	*lo = *any ? fmin(*lo, v) : v;
	*hi = *any ? fmax(*hi, v) : v;
	*any = 1;
}

static int draw(FILE *f, const void *ctx)
{
	const struct ln_chart *c = ((const struct plot *)ctx)->c;
	const struct ln_opts *o = ((const struct plot *)ctx)->o;
	if (c->ns == 0)
		return err_set("no series to plot");
	int np = c->np, nk = 0, rc = -1, named = 0;
	int *col = malloc(c->ns * sizeof *col);
	struct svg_key *keys = calloc(c->ns, sizeof *keys);
	char **texts = calloc(c->ns, sizeof *texts);
	struct svg_axis *ay = calloc(np, sizeof *ay), ax;
	double *x0 = calloc(np, sizeof *x0);   /* each panel's left edge */
	if (!col || !keys || !texts || !ay || !x0) {
		err_oom();
		goto out;
	}
	colors(c, col);
	if (keys_make(c, col, keys, texts, &nk) < 0)
		goto out;

	/* the axes: x over every series, y over each panel's values, bands and reference lines */
	double PW = panel_width(np), lo = 0, hi = 1;
	int any = 0, whole = 1;
	for (size_t k = 0; k < c->ns; k++)
		for (size_t j = 0; j < c->s[k].n; j++) {
			grow(c->s[k].x[j], &lo, &hi, &any);
			whole &= c->s[k].x[j] == floor(c->s[k].x[j]);
		}
	if (!any)
		lo = 0, hi = 1;
	svg_axis_fit_x(&ax, lo, hi, 0.02, 7, PW, 12);
	if (any && whole)   /* counts (evaluations): no tick between two of them */
		svg_axis_whole(&ax);
	for (int p = 0; p < np; p++) {
		any = 0;
		for (size_t k = 0; k < c->ns; k++) {
			const struct ln_series *s = &c->s[k];
			if (s->panel != p)
				continue;
			grow(s->hline, &lo, &hi, &any);
			for (size_t j = 0; j < s->n; j++) {
				grow(s->y[j], &lo, &hi, &any);
				if (s->lo) {
					grow(s->lo[j], &lo, &hi, &any);
					grow(s->hi[j], &lo, &hi, &any);
				}
			}
		}
		if (!any)
			lo = 0, hi = 1;
		svg_axis_fit(&ay[p], lo, hi, 0.05, 6);
		named |= *c->panel[p] != 0;
	}

	/* the page: title, panel names, panels, then the legend in a column right of them */
	double T = (o->title ? 48 : 20) + (named ? 22 : 0), B = o->xlabel ? 60 : 36;
	for (int p = 0; p < np; p++)
		x0[p] = p == 0 ? fmax(L, svg_yaxis_room(&ay[0], o->ylabel != NULL))
		               : x0[p - 1] + PW + fmax(GAP, svg_yaxis_room(&ay[p], 0) + 14);
	double lx = x0[np - 1] + PW + 28, W = lx + svg_legend_width(keys, nk) + 12;
	if (o->title)   /* bold: a tenth wider than the estimate */
		W = fmax(W, x0[0] + 1.1 * svg_text_width(o->title, 16) + 12);
	double H = fmax(T + PH + B, T + 12 + nk * SVG_KEY_ROW + 10);
	svg_begin(f, W, H);
	if (o->title)
		svg_title(f, x0[0], 28, o->title);
	for (int p = 0; p < np; p++) {
		ax.p0 = x0[p];
		ax.p1 = ax.p0 + PW;
		ay[p].p0 = T + PH;
		ay[p].p1 = T;
		if (*c->panel[p])
			svg_subtitle(f, ax.p0, T - 9, c->panel[p]);
		svg_frame(f, &ax, &ay[p], o->xlabel, p == 0 ? o->ylabel : NULL);
		draw_panel(f, c, p, col, &ax, &ay[p]);
	}
	svg_legend_column(f, lx, T + 12, keys, nk);
	rc = svg_end(f);
out:
	for (int k = 0; texts && k < nk; k++)
		free(texts[k]);
	free(texts);
	free(keys);
	free(col);
	free(ay);
	free(x0);
	return rc;
}

int ln_svg_write(FILE *f, const struct ln_chart *c, const struct ln_opts *o)
{
	struct plot a = { c, o };
	return draw(f, &a);
}

int ln_svg_save(const char *path, const struct ln_chart *c, const struct ln_opts *o)
{
	struct plot a = { c, o };
	return svg_save(path, draw, &a);
}
