/* lines.h — line charts of series (prefix ln_): series records (NDJSON, one series a line) read
 * into a chart, and the chart drawn as SVG with svg.h. Files: ln_set.c (reading), ln_svg.c
 * (drawing).
 *
 * A series record: {"name": s, "y": [number or null, …]} with optional "x" (numbers, as many as
 * "y"; default 1, 2, …), "lo" and "hi" (a band, as many as "y", nulls allowed), "panel" (a string:
 * series of one panel share its y axis; panels stand side by side and share the x axis), "group"
 * (series of one group share a color; default: the name), "step" (true: a running best, drawn as
 * steps: level until the next x, then up or down), "points" (true: a marker at each point), and
 * "dash" (true: a dashed line). A null y is a gap in the line. Or a horizontal reference line:
 * {"name": s, "hline": number} with an optional "panel", drawn dashed across the panel, its value
 * in the legend (3 decimals; 4 significant digits below 0.01 or from 10^6). Other fields are passed over. Series of one name share a color and one legend
 * entry whatever their panel; a reference line of one name in several panels gets one legend
 * entry with its value in each panel, in panel order. */
#ifndef RECYCLE_LINES_H
#define RECYCLE_LINES_H

#include <stddef.h>
#include <stdio.h>

struct ln_series {
	char *name;
	char *group;          /* the color's key: "group", or the name */
	int panel;            /* index into ln_chart.panel */
	size_t n;             /* points */
	double *x, *y;        /* (n) y NaN: a gap */
	double *lo, *hi;      /* (n) the band, NaN: a gap; NULL when there is none */
	double hline;         /* a reference line's value; NaN for a series */
	int step, points, dash;
};

struct ln_chart {
	struct ln_series *s;
	size_t ns, cap;
	char **panel;         /* panel names in order of first appearance ("" for a series without) */
	int np;
};

void ln_init(struct ln_chart *c);
void ln_free(struct ln_chart *c);
/* Append the series of a file ("-" = standard input). 0, or -1 with err_get() = "FILE:LINE:
 * what: why", e.g. `s.ndjson:3: series "CMA-ES": field "x" has 4 elements, "y" has 5`. */
int ln_read(struct ln_chart *c, const char *path);

struct ln_opts {
	const char *title, *xlabel, *ylabel;   /* each may be NULL */
};
/* The chart: the title, the panels left to right (each its name above it, its own y axis fitted
 * to its series, bands and reference lines, the x axis fitted to every series), and the legend
 * in a column right of the last panel. ln_svg_save writes to a temporary sibling renamed onto
 * path ("-": standard output). 0, or -1 (err_set). */
int ln_svg_write(FILE *f, const struct ln_chart *c, const struct ln_opts *o);
int ln_svg_save(const char *path, const struct ln_chart *c, const struct ln_opts *o);

#endif
