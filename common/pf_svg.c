/* pf_svg.c — the SVG plot of a data set (see pareto.h). Plain SVG 1.1 with no script and no
 * external resources, so any viewer and rsvg-convert render it the same. Geometry is computed
 * here in user units (the objective values as read, maximized ones not negated); the step line is
 * built in the minimized coordinates the rest of the module uses and mapped back. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "pareto.h"
#include "tmp.h"

#define FONT "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\""
#define C_FRONT "#d1495b"
#define C_DOM "#8d99ae"
#define C_STEP "#2f6690"
#define C_AXIS "#333333"
#define C_GRID "#e6e6e6"

static const char *palette[] = { "#f4a259", "#5b8e7d", "#8c5383", "#3a86ff", "#bc4b51",
                                 "#9c6644", "#6a994e", "#e9c46a" };
#define NPAL (sizeof palette / sizeof palette[0])

static void esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			/* XML 1.0 forbids most control characters even escaped. */
			if ((unsigned char)*s >= 0x20 || *s == '\t')
				putc(*s, f);
		}
	}
}

/* An axis: the data domain padded by 5 % (or ±10 % of the value when all values are equal),
 * and ticks at multiples of 1, 2 or 5 × 10^k, about `want` of them. */
struct axis {
	double lo, hi;         /* domain */
	double step;
	long k0, k1;           /* ticks are k·step for k0 ≤ k ≤ k1 */
	double p0, p1;         /* pixel positions of lo and hi */
};

static void axis_fit(struct axis *a, double lo, double hi, int want)
{
	double pad = hi > lo ? 0.05 * (hi - lo) : (lo != 0 ? 0.1 * fabs(lo) : 1);
	a->lo = lo - pad;
	a->hi = hi + pad;
	double raw = (a->hi - a->lo) / want, p = pow(10, floor(log10(raw))), r = raw / p;
	a->step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * p;
	a->k0 = (long)ceil(a->lo / a->step - 1e-9);
	a->k1 = (long)floor(a->hi / a->step + 1e-9);
}

static double axis_px(const struct axis *a, double v)
{
	return a->p0 + (v - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
}

static void tick_text(char *buf, size_t n, const struct axis *a, long k)
{
	double v = k * a->step;
	int d = (int)-floor(log10(a->step) + 1e-9);
	if (fabs(v) >= 1e6 || a->step < 1e-5)
		snprintf(buf, n, "%g", v);
	else
		snprintf(buf, n, "%.*f", d > 0 ? d : 0, k == 0 ? 0.0 : v);
}

/* An x axis whose tick labels fit side by side in len pixels (about char_w pixels a character):
 * fewer ticks while they do not. */
static void axis_fit_x(struct axis *a, double lo, double hi, int want, double len, double char_w)
{
	char buf[64];
	for (; want >= 2; want--) {
		axis_fit(a, lo, hi, want);
		size_t w = 0;
		for (long k = a->k0; k <= a->k1; k++) {
			tick_text(buf, sizeof buf, a, k);
			w = strlen(buf) > w ? strlen(buf) : w;
		}
		if ((a->k1 - a->k0 + 1) * (w * char_w + 6) <= len)
			return;
	}
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

static void diamond(FILE *f, double x, double y, double r, const char *fill)
{
	fprintf(f, "<path d=\"M%.2f %.2fl%.2f %.2fl%.2f %.2fl%.2f %.2fz\" fill=\"%s\" stroke=\"#222\" "
	        "stroke-width=\"1\"/>\n", x, y - r, r, r, -r, r, -r, -r, fill);
}

/* The labeled points get palette colors in input order. */
static const char *label_color(const struct pf_set *s, size_t i)
{
	size_t k = 0;
	for (size_t q = 0; q < i; q++)
		k += s->label[q] != NULL;
	return palette[k % NPAL];
}

static void legend_item(FILE *f, double x, double y, int kind, const char *color, const char *text)
{
	if (kind == 0)
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\" stroke=\"#fff\" stroke-width=\"0.8\"/>\n",
		        x, y - 4, color);
	else if (kind == 1)
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", x, y - 4, color);
	else if (kind == 2)
		fprintf(f, "<path d=\"M%.1f %.1fh14\" stroke=\"%s\" stroke-width=\"1.6\" fill=\"none\"/>\n",
		        x - 7, y - 4, color);
	else
		diamond(f, x, y - 4, 5, color);
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#333\">", x + 10, y);
	esc(f, text);
	fputs("</text>\n", f);
}

static void axis_title(FILE *f, const struct pf_set *s, int j)
{
	esc(f, s->name[j]);
	fputs(s->maximize[j] ? " (higher is better)" : " (lower is better)", f);
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
                     const struct axis *ax, const struct axis *ay)
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
#define PT(a, b) fprintf(f, "%s%.2f,%.2f", first ? "" : " ", axis_px(ax, sx * (a)), axis_px(ay, sy * (b))), first = 0
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

static int plot2(FILE *f, const struct pf_set *s, const unsigned char *nd, const char *title)
{
	const double W = 760, H = 560, L = 84, R = 36, T = 64, B = 70;
	struct axis ax, ay;
	double lo, hi;
	size_t nfront = 0, nlab = 0;
	char buf[64];
	for (size_t i = 0; i < s->n; i++) {
		nfront += nd[i];
		nlab += s->label[i] != NULL;
	}
	range_of(s, 0, &lo, &hi);
	axis_fit_x(&ax, lo, hi, 7, W - L - R, 7.6);
	range_of(s, 1, &lo, &hi);
	axis_fit(&ay, lo, hi, 6);
	ax.p0 = L;
	ax.p1 = W - R;
	ay.p0 = H - B;
	ay.p1 = T;

	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
	        "viewBox=\"0 0 %.0f %.0f\" %s>\n", W, H, W, H, FONT);
	fprintf(f, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>\n", W, H);
	fprintf(f, "<text x=\"%.0f\" y=\"26\" font-size=\"16\" font-weight=\"bold\" fill=\"#222\">", L);
	if (title)
		esc(f, title);
	else
		fprintf(f, "Pareto front: %zu of %zu points non-dominated", nfront, s->n);
	fputs("</text>\n", f);
	/* legend under the title */
	double lx = L + 6;
	legend_item(f, lx, 50, 0, C_FRONT, "non-dominated");
	legend_item(f, lx += 120, 50, 1, C_DOM, "dominated");
	legend_item(f, lx += 100, 50, 2, C_STEP, "front (dominated region boundary)");
	if (nlab)
		legend_item(f, lx += 232, 50, 3, palette[0], "labeled (baselines)");

	/* grid, ticks and tick labels */
	fprintf(f, "<g stroke=\"" C_GRID "\" stroke-width=\"1\">\n");
	for (long k = ax.k0; k <= ax.k1; k++)
		fprintf(f, "<path d=\"M%.2f %.2fV%.2f\"/>\n", axis_px(&ax, k * ax.step), ay.p0, ay.p1);
	for (long k = ay.k0; k <= ay.k1; k++)
		fprintf(f, "<path d=\"M%.2f %.2fH%.2f\"/>\n", ax.p0, axis_px(&ay, k * ay.step), ax.p1);
	fputs("</g>\n", f);
	fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"" C_AXIS "\"/>\n",
	        L, T, W - L - R, H - T - B);
	fprintf(f, "<g stroke=\"" C_AXIS "\">\n");
	for (long k = ax.k0; k <= ax.k1; k++)
		fprintf(f, "<path d=\"M%.2f %.2fv5\"/>\n", axis_px(&ax, k * ax.step), ay.p0);
	for (long k = ay.k0; k <= ay.k1; k++)
		fprintf(f, "<path d=\"M%.2f %.2fh-5\"/>\n", ax.p0, axis_px(&ay, k * ay.step));
	fputs("</g>\n<g font-size=\"12\" fill=\"#333\">\n", f);
	for (long k = ax.k0; k <= ax.k1; k++) {
		tick_text(buf, sizeof buf, &ax, k);
		fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>\n",
		        axis_px(&ax, k * ax.step), ay.p0 + 19, buf);
	}
	for (long k = ay.k0; k <= ay.k1; k++) {
		tick_text(buf, sizeof buf, &ay, k);
		fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n",
		        ax.p0 - 8, axis_px(&ay, k * ay.step) + 4, buf);
	}
	fputs("</g>\n", f);
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" text-anchor=\"middle\" fill=\"#222\">",
	        (ax.p0 + ax.p1) / 2, H - 22);
	axis_title(f, s, 0);
	fputs("</text>\n", f);
	fprintf(f, "<text transform=\"translate(22 %.1f) rotate(-90)\" font-size=\"14\" text-anchor=\"middle\" "
	        "fill=\"#222\">", (ay.p0 + ay.p1) / 2);
	axis_title(f, s, 1);
	fputs("</text>\n", f);

	/* points: dominated, the step line, non-dominated, then labeled ones on top */
	fputs("<g fill=\"" C_DOM "\" fill-opacity=\"0.7\">\n", f);
	for (size_t i = 0; i < s->n; i++)
		if (!nd[i] && !s->label[i])
			fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\"/>\n",
			        axis_px(&ax, pf_set_value(s, i, 0)), axis_px(&ay, pf_set_value(s, i, 1)));
	fputs("</g>\n", f);
	if (nfront && step_line(f, s, nd, &ax, &ay) < 0)
		return -1;
	fputs("<g fill=\"" C_FRONT "\" stroke=\"#fff\" stroke-width=\"0.8\">\n", f);
	for (size_t i = 0; i < s->n; i++)
		if (nd[i] && !s->label[i])
			fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"4\"/>\n",
			        axis_px(&ax, pf_set_value(s, i, 0)), axis_px(&ay, pf_set_value(s, i, 1)));
	fputs("</g>\n", f);
	for (size_t i = 0; i < s->n; i++) {
		if (!s->label[i])
			continue;
		double x = axis_px(&ax, pf_set_value(s, i, 0)), y = axis_px(&ay, pf_set_value(s, i, 1));
		diamond(f, x, y, 6, label_color(s, i));
		/* to the right of the point, or to its left near the right edge */
		int right = x + 10 + 7.0 * strlen(s->label[i]) < W - 4;
		fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"12\" fill=\"#111\" text-anchor=\"%s\" "
		        "stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">",
		        right ? x + 9 : x - 9, y - 6, right ? "start" : "end");
		esc(f, s->label[i]);
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
	return 0;
}

/* Scatter-plot matrix: cell (r, c) plots objective c across and objective r up; the diagonal
 * names the objective. Tick labels on the left column and the bottom row. */
static int plot_matrix(FILE *f, const struct pf_set *s, const unsigned char *nd, const char *title)
{
	int m = s->m;
	double cell = m <= 4 ? 190 : m <= 6 ? 150 : 120, gap = 16, L = 70, T = 70, B = 50;
	size_t nfront = 0, nlab = 0;
	for (size_t i = 0; i < s->n; i++) {
		nfront += nd[i];
		nlab += s->label[i] != NULL;
	}
	double legend_w = nlab ? 200 : 0;
	double W = L + m * cell + (m - 1) * gap + 20 + legend_w, H = T + m * cell + (m - 1) * gap + B;
	struct axis *ax = calloc(m, sizeof *ax);
	char buf[64];
	if (!ax)
		return err_oom();
	for (int j = 0; j < m; j++) {
		double lo, hi;
		range_of(s, j, &lo, &hi);
		axis_fit_x(&ax[j], lo, hi, cell >= 150 ? 4 : 3, cell + gap, 6.4);
	}
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
	        "viewBox=\"0 0 %.0f %.0f\" %s>\n", W, H, W, H, FONT);
	fprintf(f, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>\n", W, H);
	fprintf(f, "<text x=\"%.0f\" y=\"26\" font-size=\"16\" font-weight=\"bold\" fill=\"#222\">", L);
	if (title)
		esc(f, title);
	else
		fprintf(f, "Pareto front: %zu of %zu points non-dominated in %d objectives", nfront, s->n, m);
	fputs("</text>\n", f);
	legend_item(f, L + 6, 50, 0, C_FRONT, "non-dominated (in all objectives)");
	legend_item(f, L + 246, 50, 1, C_DOM, "dominated");

	for (int r = 0; r < m; r++)
		for (int c = 0; c < m; c++) {
			double x0 = L + c * (cell + gap), y0 = T + r * (cell + gap);
			struct axis a = ax[c], b = ax[r];
			a.p0 = x0;
			a.p1 = x0 + cell;
			b.p0 = y0 + cell;
			b.p1 = y0;
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" stroke=\"" C_AXIS "\"/>\n",
			        x0, y0, cell, cell, r == c ? "#f5f5f5" : "#fff");
			if (c == 0)
				for (long k = b.k0; k <= b.k1; k++) {
					tick_text(buf, sizeof buf, &b, k);
					fprintf(f, "<path d=\"M%.2f %.2fh-4\" stroke=\"" C_AXIS "\"/>"
					        "<text x=\"%.2f\" y=\"%.2f\" font-size=\"10\" text-anchor=\"end\" fill=\"#333\">%s</text>\n",
					        x0, axis_px(&b, k * b.step), x0 - 6, axis_px(&b, k * b.step) + 3.5, buf);
				}
			if (r == m - 1)
				for (long k = a.k0; k <= a.k1; k++) {
					tick_text(buf, sizeof buf, &a, k);
					fprintf(f, "<path d=\"M%.2f %.2fv4\" stroke=\"" C_AXIS "\"/>"
					        "<text x=\"%.2f\" y=\"%.2f\" font-size=\"10\" text-anchor=\"middle\" fill=\"#333\">%s</text>\n",
					        axis_px(&a, k * a.step), y0 + cell, axis_px(&a, k * a.step), y0 + cell + 15, buf);
				}
			if (r == c) {
				fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\" "
				        "text-anchor=\"middle\" fill=\"#222\">", x0 + cell / 2, y0 + cell / 2 - 4);
				esc(f, s->name[r]);
				fprintf(f, "</text>\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" "
				        "fill=\"#555\">%s</text>\n", x0 + cell / 2, y0 + cell / 2 + 14,
				        s->maximize[r] ? "higher is better" : "lower is better");
				continue;
			}
			fputs("<g fill=\"" C_DOM "\" fill-opacity=\"0.7\">\n", f);
			for (size_t i = 0; i < s->n; i++)
				if (!nd[i] && !s->label[i])
					fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"1.8\"/>\n",
					        axis_px(&a, pf_set_value(s, i, c)), axis_px(&b, pf_set_value(s, i, r)));
			fputs("</g>\n<g fill=\"" C_FRONT "\">\n", f);
			for (size_t i = 0; i < s->n; i++)
				if (nd[i] && !s->label[i])
					fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.6\"/>\n",
					        axis_px(&a, pf_set_value(s, i, c)), axis_px(&b, pf_set_value(s, i, r)));
			fputs("</g>\n", f);
			for (size_t i = 0; i < s->n; i++)
				if (s->label[i])
					diamond(f, axis_px(&a, pf_set_value(s, i, c)), axis_px(&b, pf_set_value(s, i, r)), 4.5,
					        label_color(s, i));
		}
	/* labeled points are told apart by color, named in a legend on the right */
	double lx = L + m * (cell + gap) + 10, ly = T + 10;
	for (size_t i = 0; i < s->n && nlab; i++)
		if (s->label[i]) {
			legend_item(f, lx + 6, ly, 3, label_color(s, i), s->label[i]);
			ly += 20;
		}
	fputs("</svg>\n", f);
	free(ax);
	return 0;
}

int pf_svg_write(FILE *f, const struct pf_set *s, const unsigned char *nd, const char *title)
{
	if (s->n == 0)
		return err_set("no points to plot");
	if (s->m < 2)
		return err_set("a plot needs at least 2 objectives, there is %d", s->m);
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	int rc = s->m == 2 ? plot2(f, s, nd, title) : plot_matrix(f, s, nd, title);
	if (rc == 0 && (fflush(f) == EOF || ferror(f)))
		return err_set("write error:");
	return rc;
}

int pf_svg_save(const char *path, const struct pf_set *s, const unsigned char *nd, const char *title)
{
	char *tmp = tmp_sibling(path);
	FILE *f;
	int rc = -1;
	if (!tmp)
		return -1;
	if (tmp_register(tmp, 0) < 0) {
		free(tmp);
		return -1;
	}
	if (!(f = fopen(tmp, "w"))) {
		err_set("%s:", path);
		goto out;
	}
	if ((rc = pf_svg_write(f, s, nd, title)) < 0)
		err_prefix("%s: ", path);
	if (fclose(f) == EOF && rc == 0)
		rc = err_set("%s: write error:", path);
	if (rc == 0)
		rc = tmp_commit(tmp, path, 0);
out:
	if (rc < 0) {
		unlink(tmp);
		tmp_forget(tmp);
	}
	free(tmp);
	return rc;
}
