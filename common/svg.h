/* svg.h — what every SVG plot of recycle is drawn with (prefix svg_): text escaping and an
 * estimate of its width, axes fitted to data with round ticks, a panel's frame (grid, ticks, tick
 * labels, axis titles), markers, legends laid out so that no entry overlaps another, the palettes,
 * and writing a plot to a file under a temporary name. Plain SVG 1.1 with no script and no
 * external resources, so any viewer and rsvg-convert render it the same. The plots themselves:
 * pf_svg.c (pareto.h: the points of a data set and its front) and ln_svg.c (lines.h: line charts
 * of series).
 *
 * The elements a reader (or a test) needs to find carry a class: "plot-area" (a panel's frame),
 * "legend" (the text of a legend entry), "label" (a name written beside a point). */
#ifndef RECYCLE_SVG_H
#define RECYCLE_SVG_H

#include <stddef.h>
#include <stdio.h>

/* s with & < > " escaped; the control characters XML 1.0 forbids are left out. */
void svg_esc(FILE *f, const char *s);
/* The width in pixels of s (UTF-8) at font size px, estimated per character from the advance
 * widths of DejaVu Sans (narrow, digits, lower case, upper case, wide; 1 em for a non-ASCII
 * character), rounded up: legends and labels are laid out with it. */
double svg_text_width(const char *s, double px);

/* An axis: the domain, its ticks, and where it lies on the page. */
struct svg_axis {
	double lo, hi;     /* the domain */
	double step;       /* ticks are k·step for k0 ≤ k ≤ k1 */
	long k0, k1;
	double p0, p1;     /* pixel positions of lo and hi (set by the caller) */
};
/* The data range [lo, hi] widened by pad × (hi − lo) on each side (by 10 % of |lo|, or by 1, when
 * lo = hi), with about want ticks at multiples of 1, 2 or 5 × 10^k. */
void svg_axis_fit(struct svg_axis *a, double lo, double hi, double pad, int want);
/* The same with fewer ticks, down to 2, until their labels fit side by side in len pixels at font
 * size px (an x axis). */
void svg_axis_fit_x(struct svg_axis *a, double lo, double hi, double pad, int want, double len, double px);
/* Ticks at whole numbers only (an axis of counts): a step below 1 becomes 1. */
void svg_axis_whole(struct svg_axis *a);
double svg_axis_px(const struct svg_axis *a, double v);
/* The label of tick k, with as many decimals as the step needs. */
void svg_tick_text(char *buf, size_t n, const struct svg_axis *a, long k);
/* The width of the widest tick label at font size px. */
double svg_tick_width(const struct svg_axis *a, double px);
/* How far left of a panel its y axis reaches: the tick labels of ay, and the y title when there
 * is one. The room a page leaves left of the panel (svg_frame draws into it). */
double svg_yaxis_room(const struct svg_axis *ay, int titled);

/* The document: <?xml?>, <svg> of W × H pixels on white. svg_end closes it and flushes: 0, or -1
 * (err_set) on a write error. */
void svg_begin(FILE *f, double W, double H);
int svg_end(FILE *f);
/* Text at (x, y), escaped: the plot's bold title (size 16), a panel's title (size 13). */
void svg_title(FILE *f, double x, double y, const char *text);
void svg_subtitle(FILE *f, double x, double y, const char *text);
/* A panel from ax->p0..p1 across and ay->p0..p1 up (p0 below p1 on the page): grid lines at the
 * ticks, the frame (class "plot-area"), tick marks and tick labels (size 12), and the axis titles
 * (NULL: none) centred under it and rotated left of its tick labels. */
void svg_frame(FILE *f, const struct svg_axis *ax, const struct svg_axis *ay, const char *xtitle,
               const char *ytitle);

enum svg_mark { SVG_NONE, SVG_CIRCLE, SVG_DOT, SVG_DIAMOND, SVG_SQUARE, SVG_TRIANGLE, SVG_RING };
/* A marker centred at (x, y) of radius r: filled shapes with a thin dark edge (a circle with a
 * white one, a dot with none), a ring as a thick unfilled circle. */
void svg_marker(FILE *f, enum svg_mark m, double x, double y, double r, const char *color);

/* A legend entry: its sample (a translucent swatch, a line, dashed when dash is set, and a
 * marker, each when asked for) and its text, in size 12. */
struct svg_key {
	const char *text;
	const char *color;
	enum svg_mark mark;
	int line;
	const char *dash;    /* stroke-dasharray of the line, or NULL */
	int band;
};
#define SVG_KEY_ROW 18   /* pixels from one entry of a column to the next */
/* The width of a column of the n entries; svg_legend_column draws them one under the other from
 * the baseline y, the samples from x. */
double svg_legend_width(const struct svg_key *k, int n);
void svg_legend_column(FILE *f, double x, double y, const struct svg_key *k, int n);
/* The entries left to right, a new row (SVG_KEY_ROW lower) when the next would pass x + w: the
 * height of the rows. f NULL: measure only. */
double svg_legend_rows(FILE *f, double x, double y, double w, const struct svg_key *k, int n);

/* Palettes: colors of series and labeled points (10, told apart in print and by most color
 * blind readers with the marker or dash that goes with them), colors of reference lines (5) and
 * dash patterns (4). i wraps around. */
const char *svg_color(int i);
const char *svg_ref_color(int i);
const char *svg_dash(int i);

/* Calls draw(f, ctx) on standard output (path "-") or on a temporary sibling of path, renamed
 * onto it when complete and removed otherwise. draw returns 0, or -1 with err_set. 0, or -1
 * (err_set, "path: why"). */
int svg_save(const char *path, int (*draw)(FILE *f, const void *ctx), const void *ctx);

#endif
