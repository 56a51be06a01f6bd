/* Unit tests of common/rec: record reading, field pass-through, exact numbers. */
#include <math.h>
#include <stdint.h>
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

/* Each typed getter: the value, absent and null as the flags allow, the wrong type, the bounds. */
static void test_getters(void)
{
	json_object *o = json_tokener_parse("{\"i\":7,\"big\":12345678901234567890,\"f\":2.5,\"whole\":4096.0,"
	                                    "\"b\":true,\"s\":\"abc\",\"n\":null,\"a\":[1,2.5,null],\"o\":{}}");
	long long i = -1;
	double d = -1, v[3];
	int b = -1, e = -1;
	const char *s = NULL;
	json_object *x = NULL;
	static const char *const names[] = { "xyz", "abc" };
#define ERR(call, want) CHECK((call) == -1 && strstr(err_get(), want), "%s: %s", #call, err_get())
	CHECK(rec_get_int(o, "i", 0, 0, 10, &i) == 1 && i == 7, "int %lld", i);
	ERR(rec_get_int(o, "i", 0, 8, 10, &i), "field \"i\" is out of range 8..10");
	ERR(rec_get_int(o, "big", 0, 0, INT64_MAX, &i), "field \"big\" is out of range");
	ERR(rec_get_int(o, "f", 0, 0, 10, &i), "field \"f\" is not an integer");
	ERR(rec_get_int(o, "whole", 0, 0, 10000, &i), "field \"whole\" is not an integer");
	CHECK(rec_get_int(o, "whole", REC_INTEGRAL, 0, 10000, &i) == 1 && i == 4096, "integral %lld", i);
	ERR(rec_get_int(o, "f", REC_INTEGRAL, 0, 10, &i), "field \"f\" is not an integer");
	ERR(rec_get_int(o, "whole", REC_INTEGRAL, 0, 100, &i), "field \"whole\" is out of range 0..100");
	ERR(rec_get_int(o, "gone", 0, 0, 10, &i), "missing field \"gone\"");
	i = 3;
	CHECK(rec_get_int(o, "gone", REC_OPTIONAL, 0, 10, &i) == 0 && i == 3, "absent, optional");
	ERR(rec_get_int(o, "n", REC_OPTIONAL, 0, 10, &i), "field \"n\" is not an integer");
	CHECK(rec_get_int(o, "n", REC_NULLABLE, 0, 10, &i) == 0 && i == 3, "null, nullable");
	ERR(rec_get_int(o, "gone", REC_NULLABLE, 0, 10, &i), "missing field");

	CHECK(rec_get_double(o, "f", 0, 0, 10, &d) == 1 && d == 2.5, "double %g", d);
	CHECK(rec_get_double(o, "i", 0, 0, 10, &d) == 1 && d == 7, "an integer is a number");
	ERR(rec_get_double(o, "f", 0, 3, 10, &d), "field \"f\" is out of range [3, 10]");
	ERR(rec_get_double(o, "f", REC_OPEN_LO, 2.5, 10, &d), "field \"f\" is out of range (2.5, 10]");
	CHECK(rec_get_double(o, "f", 0, 2.5, 2.5, &d) == 1, "closed bounds");
	ERR(rec_get_double(o, "s", 0, 0, 10, &d), "field \"s\" is not a number");

	CHECK(rec_get_bool(o, "b", 0, &b) == 1 && b == 1, "bool");
	ERR(rec_get_bool(o, "i", 0, &b), "field \"i\" is not a boolean");
	CHECK(rec_get_str(o, "s", 0, 3, &s) == 1 && strcmp(s, "abc") == 0, "string");
	ERR(rec_get_str(o, "s", 0, 2, &s), "field \"s\" is longer than 2 bytes");
	ERR(rec_get_str(o, "b", 0, 9, &s), "field \"b\" is not a string");
	CHECK(rec_get_enum(o, "s", 0, names, 2, &e) == 1 && e == 1, "enum %d", e);
	ERR(rec_get_enum(o, "s", 0, names, 1, &e), "field \"s\": unknown value \"abc\"");
	CHECK(rec_get_object(o, "o", 0, &x) == 1 && x, "object");
	ERR(rec_get_object(o, "a", 0, &x), "field \"a\" is not an object");
	CHECK(rec_get_array(o, "a", 0, 1, 3, &x) == 1 && json_object_array_length(x) == 3, "array");
	ERR(rec_get_array(o, "a", 0, 4, 4, &x), "field \"a\" does not have 4 elements");
	ERR(rec_get_array(o, "a", 0, 0, 2, &x), "field \"a\" has 3 elements, not 0..2");
	ERR(rec_get_doubles(o, "a", 0, v, 3), "field \"a\": element 3 is not a finite number");
	CHECK(rec_get_doubles(o, "a", REC_NULLABLE, v, 3) == 1 && v[0] == 1 && v[1] == 2.5 && isnan(v[2]), "doubles");
	ERR(rec_get_doubles(o, "a", 0, v, 2), "field \"a\" is not an array of 2 numbers");
	CHECK(rec_as_double(json_object_object_get(o, "s"), &d) == -1, "a string is no number");
#undef ERR
	json_object_put(o);
}

int main(void)
{
	T_RUN(test_roundtrip_doubles);
	T_RUN(test_passthrough);
	T_RUN(test_bad_lines);
	T_RUN(test_path);
	T_RUN(test_getters);
	return t_done();
}
