/* rec.c — see rec.h. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
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

/* ---- typed fields ---- */

static const char *type_name(json_type t)
{
	switch (t) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double: return "a number";
	case json_type_int: return "an integer";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "?";
}

/* The field of type t: 1 and *x, 0 when absent or null as the flags allow, -1 with a message.
 * A number of either kind is a json_type_double here, and with REC_INTEGRAL a json_type_int. */
static int field(json_object *o, const char *key, int flags, json_type t, json_object **x)
{
	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, x))
		return flags & REC_OPTIONAL ? 0 : err_set("missing field \"%s\"", key);
	if (!*x)
		return flags & REC_NULLABLE ? 0 : err_set("field \"%s\" is not %s", key, type_name(t));
	if (json_object_is_type(*x, t) || (t == json_type_double && json_object_is_type(*x, json_type_int)) ||
	    (t == json_type_int && (flags & REC_INTEGRAL) && json_object_is_type(*x, json_type_double)))
		return 1;
	return err_set("field \"%s\" is not %s", key, type_name(t));
}

int rec_get_int(json_object *o, const char *key, int flags, long long lo, long long hi, long long *v)
{
	json_object *x;
	int r = field(o, key, flags, json_type_int, &x);
	if (r <= 0)
		return r;
	long long t;
	if (json_object_is_type(x, json_type_double)) {
		double d = json_object_get_double(x);
		if (d != floor(d))
			return err_set("field \"%s\" is not an integer", key);
		if (!(d >= (double)lo && d <= (double)hi))
			return err_set("field \"%s\" is out of range %lld..%lld", key, lo, hi);
		t = (long long)d;
	} else {
		/* json-c keeps a positive integer above INT64_MAX as unsigned and clamps it here. */
		errno = 0;
		t = json_object_get_int64(x);
		if (errno || (t == INT64_MAX && json_object_get_uint64(x) != (uint64_t)INT64_MAX))
			return err_set("field \"%s\" is out of range %lld..%lld", key, lo, hi);
	}
	if (t < lo || t > hi)
		return err_set("field \"%s\" is out of range %lld..%lld", key, lo, hi);
	*v = t;
	return 1;
}

int rec_get_double(json_object *o, const char *key, int flags, double lo, double hi, double *v)
{
	json_object *x;
	int r = field(o, key, flags, json_type_double, &x);
	if (r <= 0)
		return r;
	double d = json_object_get_double(x);
	if (!isfinite(d))
		return err_set("field \"%s\" is not a finite number", key);
	if (d < lo || d > hi || ((flags & REC_OPEN_LO) && d == lo))
		return err_set("field \"%s\" is out of range %c%g, %g]", key, (flags & REC_OPEN_LO) ? '(' : '[', lo, hi);
	*v = d;
	return 1;
}

int rec_get_bool(json_object *o, const char *key, int flags, int *v)
{
	json_object *x;
	int r = field(o, key, flags, json_type_boolean, &x);
	if (r > 0)
		*v = json_object_get_boolean(x);
	return r;
}

int rec_get_str(json_object *o, const char *key, int flags, size_t maxlen, const char **v)
{
	json_object *x;
	int r = field(o, key, flags, json_type_string, &x);
	if (r <= 0)
		return r;
	if ((size_t)json_object_get_string_len(x) > maxlen)
		return err_set("field \"%s\" is longer than %zu bytes", key, maxlen);
	*v = json_object_get_string(x);
	return 1;
}

int rec_get_enum(json_object *o, const char *key, int flags, const char *const *names, int count, int *v)
{
	const char *s;
	int r = rec_get_str(o, key, flags, SIZE_MAX, &s);
	if (r <= 0)
		return r;
	for (int i = 0; i < count; i++)
		if (strcmp(s, names[i]) == 0) {
			*v = i;
			return 1;
		}
	return err_set("field \"%s\": unknown value \"%s\"", key, s);
}

int rec_get_object(json_object *o, const char *key, int flags, json_object **v)
{
	json_object *x;
	int r = field(o, key, flags, json_type_object, &x);
	if (r > 0)
		*v = x;
	return r;
}

int rec_get_array(json_object *o, const char *key, int flags, size_t minlen, size_t maxlen, json_object **v)
{
	json_object *x;
	int r = field(o, key, flags, json_type_array, &x);
	if (r <= 0)
		return r;
	size_t n = json_object_array_length(x);
	if (n < minlen || n > maxlen) {
		if (minlen == maxlen)
			return err_set("field \"%s\" does not have %zu elements", key, minlen);
		return err_set("field \"%s\" has %zu elements, not %zu..%zu", key, n, minlen, maxlen);
	}
	*v = x;
	return 1;
}

int rec_as_double(json_object *x, double *v)
{
	if (!json_object_is_type(x, json_type_double) && !json_object_is_type(x, json_type_int))
		return -1;
	*v = json_object_get_double(x);
	return 0;
}

int rec_doubles(json_object *a, const char *key, int flags, double *v, size_t n)
{
	if (!json_object_is_type(a, json_type_array) || json_object_array_length(a) != n)
		return err_set("field \"%s\" is not an array of %zu numbers", key, n);
	for (size_t i = 0; i < n; i++) {
		json_object *x = json_object_array_get_idx(a, i);
		if (!x && (flags & REC_NULLABLE)) {
			v[i] = NAN;
			continue;
		}
		if (rec_as_double(x, &v[i]) < 0 || !isfinite(v[i]))
			return err_set("field \"%s\": element %zu is not a finite number", key, i + 1);
	}
	return 0;
}

int rec_get_doubles(json_object *o, const char *key, int flags, double *v, size_t n)
{
	json_object *a;
	int r = field(o, key, flags & ~REC_NULLABLE, json_type_array, &a);
	if (r <= 0)
		return r;
	return rec_doubles(a, key, flags, v, n) < 0 ? -1 : 1;
}
