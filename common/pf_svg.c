/* pf_svg.c — the SVG plot of a data set (see pareto.h), drawn with svg.h. Geometry is computed
 * here in user units (the objective values as read, maximized ones not negated); the step line is
 * built in the minimized coordinates the rest of the module uses and mapped back. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "pareto.h"
#include "svg.h"

#define C_FRONT "#d1495b"
#define C_DOM "#8d99ae"
#define C_STEP "#2f6690"

/* Labeled points: the k-th one's color and shape. The red and the grey of the palette are left
 * out (they are the front's and the dominated points' colors); 8 colors and 3 shapes give 24
 * distinct markers. */
static const char *lab_color(size_t k)
{
	static const int pick[] = { 0, 3, 2, 4, 5, 6, 7, 8 };
	return svg_color(pick[k % 8]);
}

static enum svg_mark lab_shape(size_t k)
{
	static const enum svg_mark shapes[] = { SVG_DIAMOND, SVG_SQUARE, SVG_TRIANGLE };
	return shapes[k % 3];
}

#define LAB_R 6.0      /* a labeled marker's radius */
#define RING_STEP 3.5  /* each ring around coinciding markers is this much wider */

/* The labeled points, in input order, where they fall on the page and how they are drawn. */
struct lab {
	size_t i;           /* the point */
	double x, y;
	enum svg_mark mark;
	double r;
};

/* lab[0..nl) of the set on the axes; a point within 3 pixels of c earlier ones is a ring of radius
 * LAB_R + c·RING_STEP, so that every marker stays visible. NULL on OOM. */
static struct lab *labs_place(const struct pf_set *s, int jx, int jy, const struct svg_axis *ax,
                              const struct svg_axis *ay, size_t *nl)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->label[i] != NULL;
	struct lab *l = malloc((n ? n : 1) * sizeof *l);
	if (!l) {
		err_oom();
		return NULL;
	}
	n = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (!s->label[i])
			continue;
		struct lab *p = &l[n];
		p->i = i;
		p->x = svg_axis_px(ax, pf_set_value(s, i, jx));
		p->y = svg_axis_px(ay, pf_set_value(s, i, jy));
		int c = 0;
		for (size_t q = 0; q < n; q++)
			c += fabs(l[q].x - p->x) < 3 && fabs(l[q].y - p->y) < 3;
		p->mark = c ? SVG_RING : lab_shape(n);
		p->r = LAB_R + c * RING_STEP;
		n++;
	}
	*nl = n;
	return l;
}

struct box { double x0, y0, x1, y1; };

static int overlaps(const struct box *a, const struct box *b)
{
	return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1;
}

static int same_spot(const struct lab *a, const struct lab *b)
{
	return fabs(a->x - b->x) < 3 && fabs(a->y - b->y) < 3;
}

/* The labels beside their points, where there is room: right, left, above or below the marker
 * (the outermost ring, when markers share the spot), inside the plot area, over no point and no
 * other label or labeled marker. A label that finds no room is left to the legend. */
static int labels_draw(FILE *f, const struct pf_set *s, const struct lab *l, size_t nl,
                       const struct svg_axis *ax, const struct svg_axis *ay)
{
	struct box *placed = malloc((2 * nl + 1) * sizeof *placed), area = { ax->p0, ay->p1, ax->p1, ay->p0 };
	double *px = malloc((s->n + 1) * sizeof *px), *py = malloc((s->n + 1) * sizeof *py);
	size_t np = 0;
	if (!placed || !px || !py) {
		free(placed);
		free(px);
		free(py);
		return err_oom();
	}
	for (size_t i = 0; i < s->n; i++) {
		px[i] = svg_axis_px(ax, pf_set_value(s, i, 0));
		py[i] = svg_axis_px(ay, pf_set_value(s, i, 1));
	}
	/* the markers first: placed[q] is lab q's for q < nl */
	for (size_t k = 0; k < nl; k++)
		placed[np++] = (struct box){ l[k].x - l[k].r, l[k].y - l[k].r, l[k].x + l[k].r, l[k].y + l[k].r };
	for (size_t k = 0; k < nl; k++) {
		const char *text = s->label[l[k].i];
		double R = 0;
		for (size_t q = 0; q < nl; q++)
			if (same_spot(&l[q], &l[k]))
				R = fmax(R, l[q].r);
		double w = svg_text_width(text, 12), d = R + 4, x = l[k].x, y = l[k].y;
		struct { double tx, ty; const char *anchor; struct box b; } c[4] = {
			{ x + d, y + 4, "start", { x + d, y - 6, x + d + w, y + 7 } },
			{ x - d, y + 4, "end", { x - d - w, y - 6, x - d, y + 7 } },
			{ x, y - d - 3, "middle", { x - w / 2, y - d - 13, x + w / 2, y - d } },
			{ x, y + d + 10, "middle", { x - w / 2, y + d, x + w / 2, y + d + 13 } },
		};
		for (int t = 0; t < 4; t++) {
			const struct box *b = &c[t].b;
			int free_ = b->x0 >= area.x0 + 2 && b->x1 <= area.x1 - 2 && b->y0 >= area.y0 + 2 && b->y1 <= area.y1 - 2;
			for (size_t q = 0; q < np && free_; q++)
				free_ = (q < nl && same_spot(&l[q], &l[k])) || !overlaps(b, &placed[q]);
			for (size_t i = 0; i < s->n && free_; i++)
				free_ = !(px[i] + 3 > b->x0 && px[i] - 3 < b->x1 && py[i] + 3 > b->y0 && py[i] - 3 < b->y1);
			if (!free_)
				continue;
			fprintf(f, "<text class=\"label\" x=\"%.2f\" y=\"%.2f\" font-size=\"12\" fill=\"#111\" text-anchor=\"%s\" "
			        "stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">", c[t].tx, c[t].ty, c[t].anchor);
			svg_esc(f, text);
			fputs("</text>\n", f);
			placed[np++] = *b;
			break;
		}
	}
	free(placed);
	free(px);
	free(py);
	return 0;
}

static void range_of(const struct pf_set *s, int j, double *lo, double *hi)
{
	*lo = *hi = pf_set_value(s, 0, j);
	for (size_t i = 1; i < s->n; i++) {
		double v = pf_set_value(s, i, j);
		*lo = fmin(*lo, v);
		*hi = fmax(*hi, v);
	}
}

static char *axis_title(const struct pf_set *s, int j)
{
	const char *dir = s->maximize[j] ? " (higher is better)" : " (lower is better)";
	char *t = malloc(strlen(s->name[j]) + strlen(dir) + 1);
	if (t) {
		strcpy(t, s->name[j]);
		strcat(t, dir);
	}
	return t;
}

struct ordctx { const struct pf_set *s; };

static int cmp_f0(const void *pa, const void *pb, void *pc)
{
	const struct pf_set *s = ((const struct ordctx *)pc)->s;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	const double *x = s->f + a * s->m, *y = s->f + b * s->m;
	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	if (x[1] != y[1])
		return x[1] < y[1] ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* The boundary of the dominated region through the non-dominated points, in minimized
 * coordinates: sorted on objective 1, each point steps along objective 1 to the next point's
 * value, then along objective 2 to it; the ends run to the domain edges on the worse side. */
static int step_line(FILE *f, const struct pf_set *s, const unsigned char *nd,
                     const struct svg_axis *ax, const struct svg_axis *ay)
{
	size_t k = 0, *o = malloc((s->n ? s->n : 1) * sizeof *o);
	if (!o)
		return err_oom();
	for (size_t i = 0; i < s->n; i++)
		if (nd[i])
			o[k++] = i;
	struct ordctx c = { s };
	qsort_r(o, k, sizeof *o, cmp_f0, &c);
	/* worst minimized value on the plot for each objective */
	double w0 = s->maximize[0] ? -ax->lo : ax->hi, w1 = s->maximize[1] ? -ay->lo : ay->hi;
	double sx = s->maximize[0] ? -1 : 1, sy = s->maximize[1] ? -1 : 1;
#define PT(a, b) fprintf(f, "%s%.2f,%.2f", first ? "" : " ", svg_axis_px(ax, sx * (a)), svg_axis_px(ay, sy * (b))), first = 0
	int first = 1;
	fputs("<polyline fill=\"none\" stroke=\"" C_STEP "\" stroke-width=\"1.6\" stroke-linejoin=\"miter\" points=\"", f);
	for (size_t t = 0; t < k; t++) {
		const double *p = s->f + o[t] * s->m;
		if (t == 0)
			PT(p[0], w1);
		else
			PT(p[0], s->f[o[t - 1] * s->m + 1]);
		PT(p[0], p[1]);
		if (t + 1 == k)
			PT(w0, p[1]);
	}
#undef PT
	fputs("\"/>\n", f);
	free(o);
	return 0;
}

/* The legend of a plot: what the point styles mean, then one entry a labeled point (lab may be
 * NULL: the matrix, where a labeled point is its shape in every cell). */
static struct svg_key *keys_make(const struct pf_set *s, const struct lab *lab, size_t nl, int with_step,
                                 const char *nd_text, int *nk)
{
	struct svg_key *k = calloc(3 + nl, sizeof *k);
	int n = 0;
	if (!k) {
		err_oom();
		return NULL;
	}
	k[n++] = (struct svg_key){ .text = nd_text, .color = C_FRONT, .mark = SVG_CIRCLE };
	k[n++] = (struct svg_key){ .text = "dominated", .color = C_DOM, .mark = SVG_DOT };
	if (with_step)
		k[n++] = (struct svg_key){ .text = "front (dominated region boundary)", .color = C_STEP, .line = 1 };
	size_t q = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->label[i]) {
			k[n++] = (struct svg_key){ .text = s->label[i], .color = lab_color(q),
			                           .mark = lab ? lab[q].mark : lab_shape(q) };
			q++;
		}
	*nk = n;
	return k;
}

static int plot2(FILE *f, const struct pf_set *s, const unsigned char *nd, const char *title)
{
	const double PW = 620, PH = 426, T = 48, B = 70, GAP = 28;
	struct svg_axis ax, ay;
	double lo, hi;
	size_t nfront = 0, nl = 0;
	char buf[96];
	int nk = 0, rc = -1;
	for (size_t i = 0; i < s->n; i++)
		nfront += nd[i];
	range_of(s, 0, &lo, &hi);
	svg_axis_fit_x(&ax, lo, hi, 0.05, 7, PW, 12);
	range_of(s, 1, &lo, &hi);
	svg_axis_fit(&ay, lo, hi, 0.05, 6);
	double L = fmax(84, svg_yaxis_room(&ay, 1));
	ax.p0 = L;
	ax.p1 = L + PW;
	ay.p0 = T + PH;
	ay.p1 = T;
	char *xt = axis_title(s, 0), *yt = axis_title(s, 1);
	struct lab *lab = NULL;
	struct svg_key *keys = NULL;
	if (!xt || !yt) {
		err_oom();
		goto out;
	}
	if (!(lab = labs_place(s, 0, 1, &ax, &ay, &nl)) || !(keys = keys_make(s, lab, nl, nfront > 0, "non-dominated", &nk)))
		goto out;
	/* the legend is a column right of the plot area, never over it */
	double lx = L + PW + GAP, W = lx + svg_legend_width(keys, nk) + 12;
	if (title)   /* bold: a tenth wider than the estimate */
		W = fmax(W, L + 1.1 * svg_text_width(title, 16) + 12);
	double H = fmax(T + PH + B, T + 12 + nk * SVG_KEY_ROW + 12);

	svg_begin(f, W, H);
	if (title)
		svg_title(f, L, 28, title);
	else {
		snprintf(buf, sizeof buf, "Pareto front: %zu of %zu points non-dominated", nfront, s->n);
		svg_title(f, L, 28, buf);
	}
	svg_frame(f, &ax, &ay, xt, yt);
	svg_legend_column(f, lx, T + 12, keys, nk);

	/* points: dominated, the step line, non-dominated, then labeled ones on top in input order */
	fputs("<g fill=\"" C_DOM "\" fill-opacity=\"0.7\">\n", f);
	for (size_t i = 0; i < s->n; i++)
		if (!nd[i] && !s->label[i])
			fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\"/>\n",
			        svg_axis_px(&ax, pf_set_value(s, i, 0)), svg_axis_px(&ay, pf_set_value(s, i, 1)));
	fputs("</g>\n", f);
	if (nfront && step_line(f, s, nd, &ax, &ay) < 0)
		goto out;
	fputs("<g fill=\"" C_FRONT "\" stroke=\"#fff\" stroke-width=\"0.8\">\n", f);
	for (size_t i = 0; i < s->n; i++)
		if (nd[i] && !s->label[i])
			fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"4\"/>\n",
			        svg_axis_px(&ax, pf_set_value(s, i, 0)), svg_axis_px(&ay, pf_set_value(s, i, 1)));
	fputs("</g>\n", f);
	for (size_t k = 0; k < nl; k++)
		svg_marker(f, lab[k].mark, lab[k].x, lab[k].y, lab[k].r, lab_color(k));
	rc = labels_draw(f, s, lab, nl, &ax, &ay);
out:
	free(xt);
	free(yt);
	free(lab);
	free(keys);
	return rc;
}

/* Scatter-plot matrix: cell (r, c) plots objective c across and objective r up; the diagonal
 * names the objective. Tick labels on the left column and the bottom row; the legend above the
 * cells and, for labeled points, in a column right of them. */
static int plot_matrix(FILE *f, const struct pf_set *s, const unsigned char *nd, const char *title)
{
	int m = s->m, nk = 0;
	double cell = m <= 4 ? 190 : m <= 6 ? 150 : 120, gap = 16, L = 70, B = 50;
	size_t nfront = 0, nlab = 0;
	char buf[96];
	for (size_t i = 0; i < s->n; i++) {
		nfront += nd[i];
		nlab += s->label[i] != NULL;
	}
	struct svg_axis *ax = calloc(m, sizeof *ax);
	struct svg_key *keys = keys_make(s, NULL, nlab, 0, "non-dominated (in all objectives)", &nk);
	if (!ax || !keys) {
		free(ax);
		free(keys);
		return keys ? err_oom() : -1;
	}
	double grid = m * cell + (m - 1) * gap;
	double top = svg_legend_rows(NULL, 0, 0, grid, keys, 2), T = 40 + top + 8;
	double legend_w = nlab ? svg_legend_width(keys + 2, nk - 2) + 30 : 0;
	double W = L + grid + 20 + legend_w, H = fmax(T + grid + B, T + 10 + (nk - 2) * SVG_KEY_ROW + 10);
	if (title)
		W = fmax(W, L + 1.1 * svg_text_width(title, 16) + 12);
	for (int j = 0; j < m; j++) {
		double lo, hi;
		range_of(s, j, &lo, &hi);
		svg_axis_fit_x(&ax[j], lo, hi, 0.05, cell >= 150 ? 4 : 3, cell + gap, 10);
	}
	svg_begin(f, W, H);
	if (title)
		svg_title(f, L, 26, title);
	else {
		snprintf(buf, sizeof buf, "Pareto front: %zu of %zu points non-dominated in %d objectives", nfront, s->n, m);
		svg_title(f, L, 26, buf);
	}
	svg_legend_rows(f, L + 6, 50, grid, keys, 2);

	for (int r = 0; r < m; r++)
		for (int c = 0; c < m; c++) {
			double x0 = L + c * (cell + gap), y0 = T + r * (cell + gap);
			struct svg_axis a = ax[c], b = ax[r];
			a.p0 = x0;
			a.p1 = x0 + cell;
			b.p0 = y0 + cell;
			b.p1 = y0;
			fprintf(f, "<rect class=\"plot-area\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" stroke=\"#333333\"/>\n",
			        x0, y0, cell, cell, r == c ? "#f5f5f5" : "#fff");
			if (c == 0)
				for (long k = b.k0; k <= b.k1; k++) {
					svg_tick_text(buf, sizeof buf, &b, k);
					fprintf(f, "<path d=\"M%.2f %.2fh-4\" stroke=\"#333333\"/>"
					        "<text class=\"tick\" x=\"%.2f\" y=\"%.2f\" font-size=\"10\" text-anchor=\"end\" fill=\"#333\">%s</text>\n",
					        x0, svg_axis_px(&b, k * b.step), x0 - 6, svg_axis_px(&b, k * b.step) + 3.5, buf);
				}
			if (r == m - 1)
				for (long k = a.k0; k <= a.k1; k++) {
					double x = svg_axis_px(&a, k * a.step), hw;
					svg_tick_text(buf, sizeof buf, &a, k);
					fprintf(f, "<path d=\"M%.2f %.2fv4\" stroke=\"#333333\"/>\n", x, y0 + cell);
					/* a label reaching into the next cell's half of the gap would touch its label */
					hw = svg_text_width(buf, 10) / 2;
					if ((c > 0 && x - hw < x0 - gap / 2 + 1) || (c < m - 1 && x + hw > x0 + cell + gap / 2 - 1))
						continue;
					fprintf(f, "<text class=\"tick\" x=\"%.2f\" y=\"%.2f\" font-size=\"10\" text-anchor=\"middle\" fill=\"#333\">%s</text>\n",
					        x, y0 + cell + 15, buf);
				}
			if (r == c) {
				fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\" "
				        "text-anchor=\"middle\" fill=\"#222\">", x0 + cell / 2, y0 + cell / 2 - 4);
				svg_esc(f, s->name[r]);
				fprintf(f, "</text>\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" "
				        "fill=\"#555\">%s</text>\n", x0 + cell / 2, y0 + cell / 2 + 14,
				        s->maximize[r] ? "higher is better" : "lower is better");
				continue;
			}
			fputs("<g fill=\"" C_DOM "\" fill-opacity=\"0.7\">\n", f);
			for (size_t i = 0; i < s->n; i++)
				if (!nd[i] && !s->label[i])
					fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"1.8\"/>\n",
					        svg_axis_px(&a, pf_set_value(s, i, c)), svg_axis_px(&b, pf_set_value(s, i, r)));
			fputs("</g>\n<g fill=\"" C_FRONT "\">\n", f);
			for (size_t i = 0; i < s->n; i++)
				if (nd[i] && !s->label[i])
					fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.6\"/>\n",
					        svg_axis_px(&a, pf_set_value(s, i, c)), svg_axis_px(&b, pf_set_value(s, i, r)));
			fputs("</g>\n", f);
			size_t nl;
			struct lab *lab = labs_place(s, c, r, &a, &b, &nl);
			if (!lab) {
				free(ax);
				free(keys);
				return -1;
			}
			/* smaller markers in a cell: a ring keeps its margin around the shape it circles */
			for (size_t k = 0; k < nl; k++)
				svg_marker(f, lab[k].mark, lab[k].x, lab[k].y, lab[k].r - 1.5, lab_color(k));
			free(lab);
		}
	/* labeled points are told apart by marker, named in a legend on the right */
	if (nlab)
		svg_legend_column(f, L + grid + 30, T + 12, keys + 2, nk - 2);
	free(ax);
	free(keys);
	return 0;
}

struct plot { const struct pf_set *s; const unsigned char *nd; const char *title; };

static int draw(FILE *f, const void *ctx)
{
	const struct plot *a = ctx;
	const struct pf_set *s = a->s;
	if (s->n == 0)
		return err_set("no points to plot");
	if (s->m < 2)
		return err_set("a plot needs at least 2 objectives, there is %d", s->m);
	int rc = s->m == 2 ? plot2(f, s, a->nd, a->title) : plot_matrix(f, s, a->nd, a->title);
	return rc < 0 ? rc : svg_end(f);
}

int pf_svg_write(FILE *f, const struct pf_set *s, const unsigned char *nd, const char *title)
{
	struct plot a = { s, nd, title };
	return draw(f, &a);
}

int pf_svg_save(const char *path, const struct pf_set *s, const unsigned char *nd, const char *title)
{
	struct plot a = { s, nd, title };
	return svg_save(path, draw, &a);
}
