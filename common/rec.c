/* rec.c — see rec.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "rec.h"

struct rec_reader {
	FILE *f;
	int own;
	char *name;
	long line;
	char *buf;
	size_t cap;
	json_tokener *tok;
};

/* Strict mode fails on anything after the object with a generic message; a lenient parse tells
 * "a whole object, then more" apart. */
static int trailing_after_object(const char *s, size_t n)
{
	json_tokener *t = json_tokener_new();
	int yes = 0;
	if (!t)
		return 0;
	json_object *o = json_tokener_parse_ex(t, s, (int)n);
	yes = json_tokener_get_error(t) == json_tokener_success && json_tokener_get_parse_end(t) < n;
	json_object_put(o);
	json_tokener_free(t);
	return yes;
}

/* json-c reads NaN, Infinity and 1e999 even in strict mode: they are refused here. */
static int has_nonfinite(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_double:
		return !isfinite(json_object_get_double(o));
	case json_type_array:
		for (size_t i = 0, n = json_object_array_length(o); i < n; i++)
			if (has_nonfinite(json_object_array_get_idx(o, i)))
				return 1;
		return 0;
	case json_type_object: {
		json_object_object_foreach(o, k, v) {
			(void)k;
			if (has_nonfinite(v))
				return 1;
		}
		return 0;
	}
	default:
		return 0;
	}
}

rec_reader *rec_open_file(FILE *f, const char *name)
{
	rec_reader *r = calloc(1, sizeof *r);
	if (!r || !(r->name = strdup(name)) || !(r->tok = json_tokener_new())) {
		if (r)
			free(r->name);
		free(r);
		err_oom();
		return NULL;
	}
	/* Strict JSON: a bare NaN or Infinity (Python's json.dumps writes them) is refused, not read
	 * as a number no other tool would accept. */
	json_tokener_set_flags(r->tok, JSON_TOKENER_STRICT);
	r->f = f;
	return r;
}

rec_reader *rec_open(const char *path)
{
	FILE *f;
	rec_reader *r;
	if (strcmp(path, "-") == 0)
		return rec_open_file(stdin, "<stdin>");
	if (!(f = fopen(path, "r"))) {
		err_set("%s:", path);
		return NULL;
	}
	if (!(r = rec_open_file(f, path))) {
		fclose(f);
		return NULL;
	}
	r->own = 1;
	return r;
}

int rec_next(rec_reader *r, json_object **out)
{
	ssize_t n;
	for (;;) {
		errno = 0;
		n = getline(&r->buf, &r->cap, r->f);
		if (n < 0) {
			if (ferror(r->f))
				return err_set("%s: read error:", r->name);
			return 0;
		}
		r->line++;
		while (n > 0 && (r->buf[n - 1] == '\n' || r->buf[n - 1] == '\r' ||
		                 r->buf[n - 1] == ' ' || r->buf[n - 1] == '\t'))
			r->buf[--n] = 0;
		size_t i = strspn(r->buf, " \t");
		if (r->buf[i] == 0)
			continue;
		if (memchr(r->buf, 0, n))
			return err_set("%s:%ld: NUL byte in record", r->name, r->line);
		json_tokener_reset(r->tok);
		json_object *o = json_tokener_parse_ex(r->tok, r->buf + i, (int)(n - i));
		enum json_tokener_error e = json_tokener_get_error(r->tok);
		if (e != json_tokener_success && trailing_after_object(r->buf + i, (size_t)(n - i))) {
			json_object_put(o);
			return err_set("%s:%ld: trailing text after the JSON object", r->name, r->line);
		}
		if (e != json_tokener_success) {
			json_object_put(o);
			if (e == json_tokener_continue)
				return err_set("%s:%ld: truncated JSON", r->name, r->line);
			return err_set("%s:%ld: invalid JSON: %s", r->name, r->line,
			               json_tokener_error_desc(e));
		}
		if (json_tokener_get_parse_end(r->tok) != (size_t)(n - i)) {
			json_object_put(o);
			return err_set("%s:%ld: trailing text after the JSON object", r->name, r->line);
		}
		if (has_nonfinite(o)) {
			json_object_put(o);
			return err_set("%s:%ld: a non-finite number (NaN, Infinity or out of range): JSON has none; write null",
			               r->name, r->line);
		}
		if (!json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			return err_set("%s:%ld: not a JSON object", r->name, r->line);
		}
		*out = o;
		return 1;
	}
}

long rec_lineno(const rec_reader *r) { return r->line; }
const char *rec_name(const rec_reader *r) { return r->name; }

void rec_close(rec_reader *r)
{
	if (!r)
		return;
	if (r->own)
		fclose(r->f);
	json_tokener_free(r->tok);
	free(r->buf);
	free(r->name);
	free(r);
}

json_object *rec_load(const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	const char *name = f == stdin ? "<stdin>" : path;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	json_object *o = NULL;
	if (!f) {
		err_set("%s:", path);
		return NULL;
	}
	for (;;) {
		if (len + 65536 > cap) {
			char *nb = realloc(buf, cap = 2 * cap + 65536);
			if (!nb) {
				err_oom();
				goto out;
			}
			buf = nb;
		}
		size_t got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		err_set("%s: read error:", name);
		goto out;
	}
	buf[len] = 0;
	if (strlen(buf) != len) {
		err_set("%s: NUL byte in JSON", name);
		goto out;
	}
	json_tokener *tok = json_tokener_new();
	if (!tok) {
		err_oom();
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error e = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (e != json_tokener_success) {
		json_object_put(o);
		o = NULL;
		err_set("%s: invalid JSON: %s", name,
		        e == json_tokener_continue ? "truncated" : json_tokener_error_desc(e));
		goto out;
	}
	if (buf[end + strspn(buf + end, " \t\r\n")] != 0) {
		json_object_put(o);
		o = NULL;
		err_set("%s: trailing text after JSON value", name);
		goto out;
	}
	if (!o) {
		err_set("%s: JSON value is null", name);
	}
out:
	if (f != stdin)
		fclose(f);
	free(buf);
	return o;
}

const char *rec_str(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

int rec_write(FILE *f, json_object *o)
{
	const char *s = rec_str(o);
	if (fputs(s, f) == EOF || putc('\n', f) == EOF)
		return err_set("write error:");
	return 0;
}

/* The shortest %.*g that reads back to v, by bisection on the precision: if p digits read back,
 * so do p + 1 (the nearest (p+1)-digit decimal is at least as near as the p-digit one), so 2-5
 * conversions find it instead of up to 17 — the CMA-ES state of a 128-weight run holds 35,000
 * numbers. The precision returned is always one that was checked to read back. */
static int roundtrips(char *buf, int p, double v)
{
	snprintf(buf, 32, "%.*g", p, v);
	return strtod(buf, NULL) == v;
}

const char *rec_fmt_double(char *buf, double v)
{
	if (!isfinite(v))
		return strcpy(buf, "null");
	if (!roundtrips(buf, 15, v)) {
		if (!roundtrips(buf, 16, v))
			roundtrips(buf, 17, v);
	} else {
		int lo = 1, hi = 15;
		while (lo < hi) {   /* hi reads back; lo - 1 does not */
			int mid = (lo + hi) / 2;
			if (roundtrips(buf, mid, v))
				hi = mid;
			else
				lo = mid + 1;
		}
		roundtrips(buf, hi, v);
	}
	/* %g switches to an exponent once it is ≥ the precision: 420 → 4.2e+02. Up to 1e17 the
	 * plain form is at most as long, so take it (more digits read back too). */
	char *e = strchr(buf, 'e');
	if (e && e[1] == '+') {
		int x = atoi(e + 2);
		if (x < 17)
			roundtrips(buf, x + 1, v);
	}
	/* Keep it a JSON number that reads back as a double: 1 → 1.0, 1e+20 stays. */
	if (!strpbrk(buf, ".eEn"))
		strcat(buf, ".0");
	return buf;
}

static int double_serializer(json_object *o, struct printbuf *pb, int level, int flags)
{
	char buf[40];
	rec_fmt_double(buf, json_object_get_double(o));
	return printbuf_memappend(pb, buf, (int)strlen(buf));
}

json_object *rec_double(double v)
{
	json_object *o;
	if (!isfinite(v))
		return NULL;
	o = json_object_new_double(v);
	if (o)
		json_object_set_serializer(o, double_serializer, NULL, NULL);
	return o;
}

int rec_lookup(json_object *o, const char *path, json_object **out)
{
	char key[256];
	const char *p = path;
	for (;;) {
		size_t n = strcspn(p, ".");
		if (n >= sizeof key || !o || !json_object_is_type(o, json_type_object))
			return 0;
		memcpy(key, p, n);
		key[n] = 0;
		if (!json_object_object_get_ex(o, key, &o))
			return 0;
		p += n;
		if (!*p)
			break;
		p++;
	}
	if (out)
		*out = o;
	return 1;
}

json_object *rec_path(json_object *o, const char *path)
{
	json_object *x = NULL;
	return rec_lookup(o, path, &x) ? x : NULL;
}

int rec_number(json_object *o, const char *path, double *v)
{
	json_object *x;
	if (!rec_lookup(o, path, &x))
		return err_set("missing field \"%s\"", path);
	if (!x) {
		*v = NAN;
		return 0;
	}
	switch (json_object_get_type(x)) {
	case json_type_double:
	case json_type_int:
		*v = json_object_get_double(x);
		return 0;
	default:
		return err_set("field \"%s\" is not a number", path);
	}
}

void rec_set(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, v);
}
