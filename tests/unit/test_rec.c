/* Unit tests of common/rec: record reading, field pass-through, exact numbers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "rec.h"
#include "t.h"

static void test_roundtrip_doubles(void)
{
	char buf[40];
	unsigned long long s = 88172645463325252ULL;
	for (int i = 0; i < 200000; i++) {
		s ^= s << 13; s ^= s >> 7; s ^= s << 17;
		double v;
		memcpy(&v, &s, sizeof v);
		if (!isfinite(v))
			continue;
		rec_fmt_double(buf, v);
		CHECK(strtod(buf, NULL) == v, "%.17g printed as %s", v, buf);
		CHECK(strlen(buf) <= 24, "%s too long", buf);
	}
	CHECK(strcmp(rec_fmt_double(buf, 0.1), "0.1") == 0, "0.1 -> %s", buf);
	CHECK(strcmp(rec_fmt_double(buf, 1), "1.0") == 0, "1 -> %s", buf);
	CHECK(strcmp(rec_fmt_double(buf, 420), "420.0") == 0, "420 -> %s", buf);
	CHECK(strcmp(rec_fmt_double(buf, 1e16), "10000000000000000.0") == 0, "1e16 -> %s", buf);
	CHECK(strcmp(rec_fmt_double(buf, 1e20), "1e+20") == 0, "1e20 -> %s", buf);
	CHECK(strcmp(rec_fmt_double(buf, 1234.5), "1234.5") == 0, "1234.5 -> %s", buf);
	CHECK(strcmp(rec_fmt_double(buf, 1e-7), "1e-07") == 0, "1e-7 -> %s", buf);
	CHECK(strcmp(rec_fmt_double(buf, NAN), "null") == 0, "nan -> %s", buf);
	CHECK(rec_double(INFINITY) == NULL, "inf is null");
}

static void test_passthrough(void)
{
	const char *line = "{\"id\":\"g0001-02\",\"x\":[0.10000000000000001,1e-300],\"keep\":{\"a\":[1,2,\"s\"]},\"big\":12345678901234567890}\n\n  \n{\"b\":null}\n";
	FILE *f = fmemopen((void *)line, strlen(line), "r");
	rec_reader *r = rec_open_file(f, "mem");
	json_object *o;
	CHECK(rec_next(r, &o) == 1, "first record");
	rec_set(o, "fitness", rec_double(0.25));
	CHECK(strcmp(rec_str(o), "{\"id\":\"g0001-02\",\"x\":[0.10000000000000001,1e-300],\"keep\":{\"a\":[1,2,\"s\"]},\"big\":12345678901234567890,\"fitness\":0.25}") == 0,
	      "got %s", rec_str(o));
	json_object_put(o);
	CHECK(rec_next(r, &o) == 1 && rec_lineno(r) == 4, "blank lines skipped, line %ld", rec_lineno(r));
	double v = 0;
	CHECK(rec_number(o, "b", &v) == 0 && isnan(v), "null reads as NaN");
	CHECK(rec_number(o, "c", &v) == -1 && strstr(err_get(), "missing"), "missing: %s", err_get());
	json_object_put(o);
	CHECK(rec_next(r, &o) == 0, "end");
	rec_close(r);
	fclose(f);
}

static void test_bad_lines(void)
{
	const char *bad[] = { "[1,2]\n", "{\"a\":\n", "{\"a\":1} x\n", "nonsense\n" };
	const char *why[] = { "not a JSON object", "truncated", "trailing", "invalid JSON" };
	for (int i = 0; i < 4; i++) {
		FILE *f = fmemopen((void *)bad[i], strlen(bad[i]), "r");
		rec_reader *r = rec_open_file(f, "in");
		json_object *o = NULL;
		CHECK(rec_next(r, &o) == -1 && strstr(err_get(), why[i]) && strstr(err_get(), "in:1:"),
		      "%s -> %s", bad[i], err_get());
		rec_close(r);
		fclose(f);
	}
}

static void test_path(void)
{
	json_object *o = json_tokener_parse("{\"scores\":{\"add\":0.5,\"s\":\"x\"}}");
	double v;
	CHECK(rec_number(o, "scores.add", &v) == 0 && v == 0.5, "dotted path");
	CHECK(rec_number(o, "scores.s", &v) == -1 && strstr(err_get(), "not a number"), "string");
	CHECK(rec_path(o, "scores.add.x") == NULL, "past a leaf");
	json_object_put(o);
}

int main(void)
{
	T_RUN(test_roundtrip_doubles);
	T_RUN(test_passthrough);
	T_RUN(test_bad_lines);
	T_RUN(test_path);
	return t_done();
}
