/* lines.c — libFuzzer target: series records (pareto --lines). The input is read with ln_read as
 * a file; a failure must name the file and line; a chart read must hold what lines.h promises
 * (finite x, a band's two edges, a reference line without points, panels in range) and draw
 * (ln_svg_write) to an SVG document whose every '<' opens an element: names reach the page
 * escaped. */
#include <math.h>

#include "fuzz.h"
#include "lines.h"

static void fz_lines(const uint8_t *d, size_t n)
{
	char path[64];
	fz_memfile(d, n, path, sizeof path);
	struct ln_chart c;
	ln_init(&c);
	fz_err_clear();
	int rc = ln_read(&c, path);
	if (rc < 0) {
		fz_check_error("ln_read", n);
		FZ_CHECK(strncmp(err_get(), path, strlen(path)) == 0 && err_get()[strlen(path)] == ':',
		         "the message does not name the input and line: %s", err_get());
		ln_free(&c);
		return;
	}
	for (size_t k = 0; k < c.ns; k++) {
		const struct ln_series *s = &c.s[k];
		FZ_CHECK(s->name && s->group && s->panel >= 0 && s->panel < c.np, "series %zu: name, group or panel", k);
		FZ_CHECK(isnan(s->hline) || (s->n == 0 && isfinite(s->hline)), "series %zu: a reference line with points", k);
		FZ_CHECK(!s->lo == !s->hi, "series %zu: one edge of a band", k);
		for (size_t j = 0; j < s->n; j++)
			FZ_CHECK(isfinite(s->x[j]) && !isinf(s->y[j]), "series %zu: point %zu not finite", k, j);
	}
	if (c.ns > 0) {
		char *svg = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&svg, &len);
		if (!f)
			abort();
		int w = ln_svg_write(f, &c, &(struct ln_opts){ "t<", "x&", "y\"" });
		fclose(f);
		FZ_CHECK(w == 0, "ln_svg_write failed: %s", err_get());
		for (char *p = svg; w == 0 && (p = strchr(p, '<')); p++)
			FZ_CHECK(p[1] == '/' || p[1] == '?' || (p[1] >= 'a' && p[1] <= 'z'), "an unescaped '<' at byte %zu", (size_t)(p - svg));
		FZ_CHECK(w != 0 || (len > 7 && strcmp(svg + len - 7, "</svg>\n") == 0), "the document is not closed");
		free(svg);
	}
	ln_free(&c);
}
FZ_TARGET(lines)
