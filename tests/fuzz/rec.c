/* rec.c — libFuzzer target: the NDJSON record reader. The input is a record stream read with
 * rec_next (as pareto, cmaes-step tell and evalrun -r read theirs); each record is printed back
 * with rec_str, which must read back and print the same text (a record passes through a tool
 * unchanged) and hold only finite numbers, then looked up and scored as the tools do (rec_number,
 * the fitness rule). */
#include <math.h>
#include <json-c/json.h>

#include "cma.h"
#include "fuzz.h"
#include "rec.h"

/* Every number in o is finite: records never hold a bare NaN or Infinity (recycle(7), WIRE
 * FORMAT 2). */
static int fz_finite(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_double:
		return isfinite(json_object_get_double(o));
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (!fz_finite(json_object_array_get_idx(o, i)))
				return 0;
		return 1;
	case json_type_object: {
		json_object_object_foreach(o, k, v) {
			(void)k;
			if (!fz_finite(v))
				return 0;
		}
		return 1;
	}
	default:
		return 1;
	}
}

static void fz_rec(const uint8_t *d, size_t n)
{
	static FILE *null;
	if (!null && !(null = fopen("/dev/null", "w"))) {
		perror("/dev/null");
		abort();
	}
	if (n == 0)
		return;
	FILE *f = fmemopen((void *)d, n, "r");
	if (!f) {
		perror("fuzz: fmemopen");
		abort();
	}
	rec_reader *r = rec_open_file(f, "fuzz");
	FZ_CHECK(r != NULL, "rec_open_file: %s", err_get());
	json_object *o;
	int rc;
	long last = 0;
	fz_err_clear();
	while ((rc = rec_next(r, &o)) > 0) {
		FZ_CHECK(json_object_is_type(o, json_type_object), "rec_next gave a non-object");
		FZ_CHECK(rec_lineno(r) > last, "line numbers do not grow: %ld after %ld", rec_lineno(r), last);
		last = rec_lineno(r);
		FZ_CHECK(fz_finite(o), "line %ld: a record with a non-finite number was accepted: %s", last, rec_str(o));
		char *text = strdup(rec_str(o));
		json_tokener *tok = json_tokener_new();
		json_object *back = json_tokener_parse_ex(tok, text, (int)strlen(text));
		FZ_CHECK(json_tokener_get_error(tok) == json_tokener_success && back,
		         "line %ld: printed record does not read back: %s", last, text);
		if (back)
			FZ_CHECK(!strcmp(text, rec_str(back)), "line %ld: printed twice differs:\n%s\n%s", last, text,
			         rec_str(back));
		json_tokener_free(tok);
		json_object_put(back);
		free(text);
		FZ_CHECK(rec_write(null, o) == 0, "rec_write to /dev/null failed");
		double v;
		json_object *x;
		rec_number(o, "fitness", &v);
		rec_number(o, "scores.add", &v);
		rec_lookup(o, "eval.seconds", &x);
		rec_path(o, "weights");
		cma_record_fitness(o, &v);
		rec_set(o, "fitness", rec_double(v));
		rec_str(o);
		json_object_put(o);
		fz_err_clear();
	}
	if (rc < 0) {
		fz_check_error("rec_next", n);
		FZ_CHECK(strncmp(err_get(), "fuzz:", 5) == 0, "the message does not name the input and line: %s", err_get());
	}
	rec_close(r);
	fclose(f);
}
FZ_TARGET(rec)
