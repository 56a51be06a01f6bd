/* ln_set.c — series records read into a chart (see lines.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "lines.h"
#include "rec.h"

#define MAX_TEXT 4096            /* bytes of a name, group or panel */
#define MAX_POINTS (1u << 24)    /* points of a series */

void ln_init(struct ln_chart *c)
{
	memset(c, 0, sizeof *c);
}

static void series_free(struct ln_series *s)
{
	free(s->name);
	free(s->group);
	free(s->x);
	free(s->y);
	free(s->lo);
	free(s->hi);
}

void ln_free(struct ln_chart *c)
{
	for (size_t i = 0; i < c->ns; i++)
		series_free(&c->s[i]);
	for (int p = 0; p < c->np; p++)
		free(c->panel[p]);
	free(c->s);
	free(c->panel);
	memset(c, 0, sizeof *c);
}

/* The index of panel name, added when new; -1 on OOM. */
static int panel_of(struct ln_chart *c, const char *name)
{
	for (int p = 0; p < c->np; p++)
		if (strcmp(c->panel[p], name) == 0)
			return p;
	char **np = realloc(c->panel, (c->np + 1) * sizeof *np);
	if (!np)
		return err_oom();
	c->panel = np;
	if (!(c->panel[c->np] = strdup(name)))
		return err_oom();
	return c->np++;
}

/* An optional array of n numbers (nulls allowed with REC_NULLABLE) into a new buffer: 1, 0 when
 * absent, -1 (err_set). */
static int numbers(json_object *o, const char *key, int flags, size_t n, const char *ykey, double **out)
{
	json_object *a;
	int r = rec_get_array(o, key, REC_OPTIONAL, 0, SIZE_MAX, &a);
	if (r <= 0)
		return r;
	size_t len = json_object_array_length(a);
	if (len != n)
		return err_set("field \"%s\" has %zu elements, \"%s\" has %zu", key, len, ykey, n);
	if (!(*out = malloc((n ? n : 1) * sizeof **out)))
		return err_oom();
	return rec_doubles(a, key, flags, *out, n) < 0 ? -1 : 1;
}

/* One record into s (zeroed; freed by the caller on error). 0, or -1 (err_set: "what: why"). */
static int series_read(struct ln_chart *c, json_object *o, struct ln_series *s)
{
	const char *name, *panel = "", *group = NULL;
	json_object *ya, *h;
	if (rec_get_str(o, "name", 0, MAX_TEXT, &name) < 0)
		return err_prefix("series record: ");
	if (!(s->name = strdup(name)))
		return err_oom();
	if (rec_get_str(o, "panel", REC_OPTIONAL, MAX_TEXT, &panel) < 0 ||
	    rec_get_str(o, "group", REC_OPTIONAL, MAX_TEXT, &group) < 0 ||
	    rec_get_bool(o, "step", REC_OPTIONAL, &s->step) < 0 ||
	    rec_get_bool(o, "points", REC_OPTIONAL, &s->points) < 0 ||
	    rec_get_bool(o, "dash", REC_OPTIONAL, &s->dash) < 0)
		return -1;
	if (!(s->group = strdup(group ? group : name)))
		return err_oom();
	if ((s->panel = panel_of(c, panel)) < 0)
		return -1;
	s->hline = NAN;
	int has_y = json_object_object_get_ex(o, "y", &ya), has_h = json_object_object_get_ex(o, "hline", &h);
	if (has_y == has_h)
		return err_set(has_y ? "both \"y\" (a series) and \"hline\" (a reference line)"
		                     : "no \"y\" (a series) and no \"hline\" (a reference line)");
	if (has_h) {
		if (rec_get_double(o, "hline", 0, -INFINITY, INFINITY, &s->hline) < 0)
			return -1;
		static const char *const not_here[] = { "x", "lo", "hi" };
		for (int k = 0; k < 3; k++)
			if (json_object_object_get_ex(o, not_here[k], NULL))
				return err_set("field \"%s\" in a reference line (\"hline\")", not_here[k]);
		return 0;
	}
	if (rec_get_array(o, "y", 0, 0, MAX_POINTS, &ya) < 0)
		return -1;
	s->n = json_object_array_length(ya);
	if (!(s->y = malloc((s->n ? s->n : 1) * sizeof *s->y)))
		return err_oom();
	if (rec_doubles(ya, "y", REC_NULLABLE, s->y, s->n) < 0)
		return -1;
	int r = numbers(o, "x", 0, s->n, "y", &s->x);
	if (r < 0)
		return -1;
	if (r == 0) {
		if (!(s->x = malloc((s->n ? s->n : 1) * sizeof *s->x)))
			return err_oom();
		for (size_t i = 0; i < s->n; i++)
			s->x[i] = (double)(i + 1);
	}
	int rl = numbers(o, "lo", REC_NULLABLE, s->n, "y", &s->lo), rh;
	if (rl < 0 || (rh = numbers(o, "hi", REC_NULLABLE, s->n, "y", &s->hi)) < 0)
		return -1;
	if (rl != rh)
		return err_set("field \"%s\" without \"%s\" (a band needs both)", rl ? "lo" : "hi", rl ? "hi" : "lo");
	/* a step series steps from one x to the next: x must not go back */
	for (size_t i = 1; s->step && i < s->n; i++)
		if (s->x[i] < s->x[i - 1])
			return err_set("field \"x\": element %zu (%g) is below the one before (%g) in a step series",
			               i + 1, s->x[i], s->x[i - 1]);
	return 0;
}

int ln_read(struct ln_chart *c, const char *path)
{
	rec_reader *r = rec_open(path);
	json_object *o;
	int rc;
	if (!r)
		return -1;
	while ((rc = rec_next(r, &o)) == 1) {
		if (c->ns == c->cap) {
			size_t cap = c->cap ? 2 * c->cap : 16;
			struct ln_series *ns = realloc(c->s, cap * sizeof *ns);
			if (!ns) {
				json_object_put(o);
				rc = err_oom();
				break;
			}
			c->s = ns;
			c->cap = cap;
		}
		struct ln_series *s = &c->s[c->ns];
		memset(s, 0, sizeof *s);
		rc = series_read(c, o, s);
		/* one name once a panel: a second would be a second line under one legend entry */
		for (size_t i = 0; rc == 0 && i < c->ns; i++)
			if (c->s[i].panel == s->panel && !isnan(c->s[i].hline) == !isnan(s->hline) &&
			    strcmp(c->s[i].name, s->name) == 0)
				rc = err_set("a second %s of this name%s%s%s", isnan(s->hline) ? "series" : "reference line",
				             *c->panel[s->panel] ? " in panel \"" : "", c->panel[s->panel],
				             *c->panel[s->panel] ? "\"" : "");
		const char *what = json_object_object_get_ex(o, "hline", NULL) ? "reference line" : "series";
		if (rc < 0 && s->name)
			err_prefix("%s:%ld: %s \"%s\": ", rec_name(r), rec_lineno(r), what, s->name);
		else if (rc < 0)
			err_prefix("%s:%ld: ", rec_name(r), rec_lineno(r));
		json_object_put(o);
		if (rc < 0) {
			series_free(s);
			break;
		}
		c->ns++;
	}
	rec_close(r);
	return rc < 0 ? -1 : 0;
}
