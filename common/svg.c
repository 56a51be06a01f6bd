/* svg.c — see svg.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "svg.h"
#include "tmp.h"

#define C_AXIS "#333333"
#define C_GRID "#e6e6e6"

void svg_esc(FILE *f, const char *s)
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

/* Advance widths of DejaVu Sans in em, by class, each rounded up a little. */
double svg_text_width(const char *s, double px)
{
	double em = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned c = *p;
		if (c >= 0x80) {
			if ((c & 0xc0) != 0x80)     /* a character's first byte: count it once */
				em += 1.0;
		} else if (strchr("il.,:;'|!ijI `", (int)c)) {
			em += 0.34;
		} else if (strchr("frt()[]{}-\"/\\", (int)c)) {
			em += 0.44;
		} else if (strchr("mwMW@%", (int)c)) {
			em += 1.0;
		} else if (c >= 'A' && c <= 'Z') {
			em += 0.78;
		} else if (c < 0x20) {
			;
		} else {
			em += 0.66;
		}
	}
	return em * px;
}

void svg_axis_fit(struct svg_axis *a, double lo, double hi, double pad, int want)
{
	double d = hi > lo ? pad * (hi - lo) : (lo != 0 ? 0.1 * fabs(lo) : 1);
	a->lo = lo - d;
	a->hi = hi + d;
	double raw = (a->hi - a->lo) / want, p = pow(10, floor(log10(raw))), r = raw / p;
	a->step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * p;
	a->k0 = (long)ceil(a->lo / a->step - 1e-9);
	a->k1 = (long)floor(a->hi / a->step + 1e-9);
}

void svg_axis_whole(struct svg_axis *a)
{
	if (a->step >= 1)
		return;
	a->step = 1;
	a->k0 = (long)ceil(a->lo - 1e-9);
	a->k1 = (long)floor(a->hi + 1e-9);
}

double svg_axis_px(const struct svg_axis *a, double v)
{
	return a->p0 + (v - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
}

void svg_tick_text(char *buf, size_t n, const struct svg_axis *a, long k)
{
	double v = k * a->step;
	int d = (int)-floor(log10(a->step) + 1e-9);
	if (fabs(v) >= 1e6 || a->step < 1e-5)
		snprintf(buf, n, "%g", v);
	else
		snprintf(buf, n, "%.*f", d > 0 ? d : 0, k == 0 ? 0.0 : v);
}

double svg_tick_width(const struct svg_axis *a, double px)
{
	char buf[64];
	double w = 0;
	for (long k = a->k0; k <= a->k1; k++) {
		svg_tick_text(buf, sizeof buf, a, k);
		w = fmax(w, svg_text_width(buf, px));
	}
	return w;
}

/* Tick labels end 8 pixels left of the frame; the y title's baseline is 8 pixels left of them,
 * its glyphs rising 11 pixels further left (size 14, rotated). */
double svg_yaxis_room(const struct svg_axis *ay, int titled)
{
	return 8 + svg_tick_width(ay, 12) + (titled ? 8 + 11 : 0) + 6;
}

void svg_axis_fit_x(struct svg_axis *a, double lo, double hi, double pad, int want, double len, double px)
{
	char buf[64];
	for (; want >= 2; want--) {
		svg_axis_fit(a, lo, hi, pad, want);
		double w = 0;
		for (long k = a->k0; k <= a->k1; k++) {
			svg_tick_text(buf, sizeof buf, a, k);
			w = fmax(w, svg_text_width(buf, px));
		}
		if ((a->k1 - a->k0 + 1) * (w + 6) <= len)
			return;
	}
}

void svg_begin(FILE *f, double W, double H)
{
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
	        "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n", W, H, W, H);
	fprintf(f, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>\n", W, H);
}

int svg_end(FILE *f)
{
	fputs("</svg>\n", f);
	if (fflush(f) == EOF || ferror(f))
		return err_set("write error:");
	return 0;
}

void svg_title(FILE *f, double x, double y, const char *text)
{
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"16\" font-weight=\"bold\" fill=\"#222\">", x, y);
	svg_esc(f, text);
	fputs("</text>\n", f);
}

void svg_subtitle(FILE *f, double x, double y, const char *text)
{
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" fill=\"#222\">", x, y);
	svg_esc(f, text);
	fputs("</text>\n", f);
}

void svg_frame(FILE *f, const struct svg_axis *ax, const struct svg_axis *ay, const char *xtitle,
               const char *ytitle)
{
	char buf[64];
	fputs("<g stroke=\"" C_GRID "\" stroke-width=\"1\">\n", f);
	for (long k = ax->k0; k <= ax->k1; k++)
		fprintf(f, "<path d=\"M%.2f %.2fV%.2f\"/>\n", svg_axis_px(ax, k * ax->step), ay->p0, ay->p1);
	for (long k = ay->k0; k <= ay->k1; k++)
		fprintf(f, "<path d=\"M%.2f %.2fH%.2f\"/>\n", ax->p0, svg_axis_px(ay, k * ay->step), ax->p1);
	fputs("</g>\n", f);
	fprintf(f, "<rect class=\"plot-area\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" "
	        "stroke=\"" C_AXIS "\"/>\n", ax->p0, ay->p1, ax->p1 - ax->p0, ay->p0 - ay->p1);
	fputs("<g stroke=\"" C_AXIS "\">\n", f);
	for (long k = ax->k0; k <= ax->k1; k++)
		fprintf(f, "<path d=\"M%.2f %.2fv5\"/>\n", svg_axis_px(ax, k * ax->step), ay->p0);
	for (long k = ay->k0; k <= ay->k1; k++)
		fprintf(f, "<path d=\"M%.2f %.2fh-5\"/>\n", ax->p0, svg_axis_px(ay, k * ay->step));
	fputs("</g>\n<g font-size=\"12\" fill=\"#333\">\n", f);
	for (long k = ax->k0; k <= ax->k1; k++) {
		svg_tick_text(buf, sizeof buf, ax, k);
		fprintf(f, "<text class=\"tick\" font-size=\"12\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>\n",
		        svg_axis_px(ax, k * ax->step), ay->p0 + 19, buf);
	}
	for (long k = ay->k0; k <= ay->k1; k++) {
		svg_tick_text(buf, sizeof buf, ay, k);
		fprintf(f, "<text class=\"tick\" font-size=\"12\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n",
		        ax->p0 - 8, svg_axis_px(ay, k * ay->step) + 4, buf);
	}
	fputs("</g>\n", f);
	if (xtitle) {
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" text-anchor=\"middle\" fill=\"#222\">",
		        (ax->p0 + ax->p1) / 2, ay->p0 + 44);
		svg_esc(f, xtitle);
		fputs("</text>\n", f);
	}
	if (ytitle) {
		fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" font-size=\"14\" text-anchor=\"middle\" "
		        "fill=\"#222\">", ax->p0 - 8 - svg_tick_width(ay, 12) - 8, (ay->p0 + ay->p1) / 2);
		svg_esc(f, ytitle);
		fputs("</text>\n", f);
	}
}

void svg_marker(FILE *f, enum svg_mark m, double x, double y, double r, const char *color)
{
	switch (m) {
	case SVG_NONE:
		break;
	case SVG_CIRCLE:
		fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\" fill=\"%s\" stroke=\"#fff\" stroke-width=\"0.8\"/>\n",
		        x, y, r, color);
		break;
	case SVG_DOT:
		fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\" fill=\"%s\"/>\n", x, y, r, color);
		break;
	case SVG_DIAMOND:
		fprintf(f, "<path d=\"M%.2f %.2fl%.2f %.2fl%.2f %.2fl%.2f %.2fz\" fill=\"%s\" stroke=\"#222\" "
		        "stroke-width=\"1\"/>\n", x, y - r, r, r, -r, r, -r, -r, color);
		break;
	case SVG_SQUARE:
		r *= 0.8;
		fprintf(f, "<path d=\"M%.2f %.2fh%.2fv%.2fh%.2fz\" fill=\"%s\" stroke=\"#222\" stroke-width=\"1\"/>\n",
		        x - r, y - r, 2 * r, 2 * r, -2 * r, color);
		break;
	case SVG_TRIANGLE:
		fprintf(f, "<path d=\"M%.2f %.2fL%.2f %.2fL%.2f %.2fz\" fill=\"%s\" stroke=\"#222\" stroke-width=\"1\"/>\n",
		        x, y - r, x + 0.9 * r, y + 0.7 * r, x - 0.9 * r, y + 0.7 * r, color);
		break;
	case SVG_RING:
		fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\" fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\"/>\n",
		        x, y, r, color);
		break;
	}
}

/* A sample is 24 pixels wide, then 6 of space, then the text. */
#define SAMPLE_W 24
#define TEXT_GAP 6
#define ENTRY_GAP 18

static double key_width(const struct svg_key *k)
{
	return SAMPLE_W + TEXT_GAP + svg_text_width(k->text, 12);
}

/* One entry: the sample from x, the text's baseline at y. */
static void key_draw(FILE *f, double x, double y, const struct svg_key *k)
{
	double cy = y - 4;
	if (k->band)
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"10\" fill=\"%s\" fill-opacity=\"0.18\"/>\n",
		        x, cy - 5, SAMPLE_W, k->color);
	if (k->line) {
		fprintf(f, "<path d=\"M%.1f %.1fh%d\" stroke=\"%s\" stroke-width=\"2\" fill=\"none\"", x, cy, SAMPLE_W, k->color);
		if (k->dash)
			fprintf(f, " stroke-dasharray=\"%s\"", k->dash);
		fputs("/>\n", f);
	}
	svg_marker(f, k->mark, x + SAMPLE_W / 2.0, cy, k->mark == SVG_DOT ? 2.5 : k->mark == SVG_RING ? 5 : 4.5, k->color);
	fprintf(f, "<text class=\"legend\" x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#222\">", x + SAMPLE_W + TEXT_GAP, y);
	svg_esc(f, k->text);
	fputs("</text>\n", f);
}

double svg_legend_width(const struct svg_key *k, int n)
{
	double w = 0;
	for (int i = 0; i < n; i++)
		w = fmax(w, key_width(&k[i]));
	return w;
}

void svg_legend_column(FILE *f, double x, double y, const struct svg_key *k, int n)
{
	for (int i = 0; i < n; i++)
		key_draw(f, x, y + i * SVG_KEY_ROW, &k[i]);
}

double svg_legend_rows(FILE *f, double x, double y, double w, const struct svg_key *k, int n)
{
	double cx = x, rows = n ? 1 : 0;
	for (int i = 0; i < n; i++) {
		double kw = key_width(&k[i]);
		if (cx > x && cx + kw > x + w) {
			cx = x;
			y += SVG_KEY_ROW;
			rows++;
		}
		if (f)
			key_draw(f, cx, y, &k[i]);
		cx += kw + ENTRY_GAP;
	}
	return rows * SVG_KEY_ROW;
}

static const char *colors[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#17becf", "#e377c2", "#8c564b", "#bcbd22", "#7f7f7f" };
static const char *ref_colors[] = { "#2a9d8f", "#8c564b", "#000000", "#b5838d", "#6c757d" };
static const char *dashes[] = { "6 4", "2 3", "10 3 2 3", "12 5" };
#define COUNT(a) ((int)(sizeof a / sizeof a[0]))

const char *svg_color(int i) { return colors[(unsigned)i % COUNT(colors)]; }
const char *svg_ref_color(int i) { return ref_colors[(unsigned)i % COUNT(ref_colors)]; }
const char *svg_dash(int i) { return dashes[(unsigned)i % COUNT(dashes)]; }

int svg_save(const char *path, int (*draw)(FILE *f, const void *ctx), const void *ctx)
{
	if (strcmp(path, "-") == 0)
		return draw(stdout, ctx);
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
	if ((rc = draw(f, ctx)) < 0)
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
