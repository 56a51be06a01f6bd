/* Unit tests of common/svg and common/lines: axes (ticks inside the domain at 1, 2 or 5 × 10^k,
 * about as many as asked, whole-number ticks), escaping, text widths, legend rows that wrap
 * instead of overlapping; series records read into a chart (defaults, gaps, panels, groups) and
 * refused with their file, line and reason. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "lines.h"
#include "svg.h"
#include "t.h"

static void test_axis(void)
{
	static const double ranges[][2] = { { 0, 1 }, { -5.63, -5.52 }, { 0.8312, 0.8519 }, { 1, 450 },
	                                    { 3, 3 }, { 0, 0 }, { -1e7, 2e7 }, { 1e-7, 3e-7 } };
	for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
		struct svg_axis a;
		double lo = ranges[r][0], hi = ranges[r][1];
		svg_axis_fit(&a, lo, hi, 0.05, 6);
		CHECK(a.lo < lo || (lo == hi && a.lo < lo + 1e-300), "range %zu: lo %g not below %g", r, a.lo, lo);
		CHECK(a.hi > hi, "range %zu: hi %g not above %g", r, a.hi, hi);
		long n = a.k1 - a.k0 + 1;
		CHECK(n >= 3 && n <= 13, "range %zu: %ld ticks for 6 wanted", r, n);
		CHECK(a.k0 * a.step >= a.lo - 1e-12 * fabs(a.lo) && a.k1 * a.step <= a.hi + 1e-12 * fabs(a.hi),
		      "range %zu: ticks %g..%g outside %g..%g", r, a.k0 * a.step, a.k1 * a.step, a.lo, a.hi);
		double m = a.step / pow(10, floor(log10(a.step) + 1e-9));
		CHECK(fabs(m - 1) < 1e-9 || fabs(m - 2) < 1e-9 || fabs(m - 5) < 1e-9, "range %zu: step %g", r, a.step);
	}
	struct svg_axis a;
	svg_axis_fit(&a, 1, 5, 0.02, 7);
	CHECK(a.step < 1, "1..5 in 7 ticks: a step below 1 (%g)", a.step);
	svg_axis_whole(&a);
	CHECK(a.step == 1 && a.k0 == 1 && a.k1 == 5, "whole: step %g, ticks %ld..%ld", a.step, a.k0, a.k1);
	char buf[64];
	svg_axis_fit(&a, 0.83, 0.85, 0.05, 6);
	svg_tick_text(buf, sizeof buf, &a, a.k0);
	CHECK(strcmp(buf, "0.830") == 0 || strcmp(buf, "0.828") == 0 || strlen(buf) == 5, "tick text \"%s\"", buf);
	/* an x axis drops ticks until their labels fit */
	svg_axis_fit_x(&a, 0, 450, 0, 12, 150, 12);
	CHECK((a.k1 - a.k0 + 1) * (svg_text_width("000", 12) + 6) <= 150 && a.k1 - a.k0 + 1 >= 3,
	      "x axis: %ld ticks of 0..450 in 150 pixels", a.k1 - a.k0 + 1);
	a.p0 = 100;
	a.p1 = 300;
	CHECK(fabs(svg_axis_px(&a, a.lo) - 100) < 1e-9 && fabs(svg_axis_px(&a, a.hi) - 300) < 1e-9, "pixels");
}

static char *text_of(void (*fn)(FILE *, const void *), const void *arg)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	fn(f, arg);
	fclose(f);
	return s;
}

static void esc_fn(FILE *f, const void *s) { svg_esc(f, s); }

static void test_text(void)
{
	char *s = text_of(esc_fn, "a<b>&\"c\"\x01\td");
	CHECK(strcmp(s, "a&lt;b&gt;&amp;&quot;c&quot;\td") == 0, "escaped: %s", s);
	free(s);
	CHECK(svg_text_width("", 12) == 0, "empty");
	CHECK(svg_text_width("WWW", 12) > svg_text_width("iii", 12) * 2, "W wider than i");
	CHECK(svg_text_width("\xe2\x80\x93", 12) == 12, "one non-ASCII character is 1 em");
	/* generous: 0.55 em a character at least for ordinary words */
	CHECK(svg_text_width("greedy soup 0.851, 0.825", 12) >= 0.55 * 12 * 24, "a legend text");
}

struct rows { const struct svg_key *k; int n; double w; };
static void rows_fn(FILE *f, const void *a)
{
	const struct rows *r = a;
	svg_legend_rows(f, 10, 50, r->w, r->k, r->n);
}

static void test_legend(void)
{
	struct svg_key k[4] = { { .text = "non-dominated", .color = "#000", .mark = SVG_CIRCLE },
	                        { .text = "dominated", .color = "#000", .mark = SVG_DOT },
	                        { .text = "front (dominated region boundary)", .color = "#000", .line = 1 },
	                        { .text = "a long name that fills a row by itself, or nearly", .color = "#000", .mark = SVG_RING } };
	double wide = svg_legend_rows(NULL, 0, 0, 2000, k, 4), narrow = svg_legend_rows(NULL, 0, 0, 300, k, 4);
	CHECK(wide == SVG_KEY_ROW, "one row when it fits: %g", wide);
	CHECK(narrow >= 3 * SVG_KEY_ROW, "wrapped in 300 pixels: %g", narrow);
	CHECK(svg_legend_rows(NULL, 0, 0, 10, k, 4) == 4 * SVG_KEY_ROW, "one entry a row when nothing fits");
	/* drawn: the texts of one row do not overlap */
	struct rows r = { k, 4, 2000 };
	char *s = text_of(rows_fn, &r), *p = s;
	double prev_end = -1;
	int n = 0;
	for (int i = 0; (p = strstr(p, "<text class=\"legend\" x=\"")); i++, n++) {
		double x = atof(p + 24);
		CHECK(x > prev_end, "entry %d starts at %g, the one before ends at %g", i, x, prev_end);
		prev_end = x + svg_text_width(k[i].text, 12);
		p++;
	}
	CHECK(n == 4, "4 entries drawn, not %d", n);
	free(s);
	CHECK(svg_legend_width(k, 4) == 30 + svg_text_width(k[3].text, 12), "a column is as wide as its widest entry");
}

/* A chart from the records in text (a temporary file, so that messages name it). */
static int chart(struct ln_chart *c, const char *text, char *path)
{
	strcpy(path, "/tmp/test_svg.XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -2;
	close(fd);
	ln_init(c);
	int rc = ln_read(c, path);
	unlink(path);
	return rc;
}

static void test_read(void)
{
	struct ln_chart c;
	char path[64], want[256];
	int rc = chart(&c, "{\"name\":\"a\",\"y\":[1,null,3],\"panel\":\"dev\",\"other\":{\"x\":1}}\n\n"
	                   "{\"name\":\"a, test\",\"group\":\"a\",\"x\":[2,4],\"y\":[0.5,0.25],\"lo\":[0,null],\"hi\":[1,null],\"step\":true,\"dash\":true}\n"
	                   "{\"name\":\"g\",\"hline\":0.5,\"panel\":\"dev\"}\n", path);
	CHECK(rc == 0, "read: %s", err_get());
	if (rc == 0) {
		CHECK(c.ns == 3 && c.np == 2, "%zu series, %d panels", c.ns, c.np);
		CHECK(strcmp(c.panel[0], "dev") == 0 && strcmp(c.panel[1], "") == 0, "panels in order of appearance");
		const struct ln_series *a = &c.s[0], *t = &c.s[1], *g = &c.s[2];
		CHECK(a->n == 3 && a->x[0] == 1 && a->x[2] == 3 && isnan(a->y[1]) && a->y[2] == 3 && !a->lo, "series a");
		CHECK(strcmp(a->group, "a") == 0 && isnan(a->hline) && !a->step && !a->points, "series a's defaults");
		CHECK(t->panel == 1 && strcmp(t->group, "a") == 0 && t->step && t->dash && t->lo && isnan(t->hi[1]) && t->x[1] == 4,
		      "series a, test");
		CHECK(g->hline == 0.5 && g->n == 0 && g->panel == 0, "reference line");
	}
	ln_free(&c);
	static const struct { const char *rec, *why; } bad[] = {
		{ "{\"y\":[1]}", "series record: missing field \"name\"" },
		{ "{\"name\":\"a\",\"y\":[1,true]}", "series \"a\": field \"y\": element 2 is not a finite number" },
		{ "{\"name\":\"a\",\"y\":[1],\"hi\":[2]}", "series \"a\": field \"hi\" without \"lo\" (a band needs both)" },
		{ "{\"name\":\"a\",\"hline\":null}", "reference line \"a\": field \"hline\" is not a number" },
		{ "{\"name\":\"b\",\"y\":[]}\n{\"name\":\"b\",\"y\":[2]}", "series \"b\": a second series of this name" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[256];
		snprintf(text, sizeof text, "{\"name\":\"ok\",\"y\":[1]}\n%s\n", bad[i].rec);
		rc = chart(&c, text, path);
		snprintf(want, sizeof want, "%s:%d: %s", path, strchr(bad[i].rec, '\n') ? 3 : 2, bad[i].why);
		CHECK(rc == -1 && strcmp(err_get(), want) == 0, "%s: got \"%s\", want \"%s\"", bad[i].rec, rc == -1 ? err_get() : "success", want);
		ln_free(&c);
	}
}

int main(void)
{
	T_RUN(test_axis);
	T_RUN(test_text);
	T_RUN(test_legend);
	T_RUN(test_read);
	return t_done();
}
