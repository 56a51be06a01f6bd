/* cvt_bench — throughput of common/cvt on one core, as markdown table rows:
 * | what | GB/s of input | goal |. Inputs are MB megabytes of weight-like values (normal
 * distribution, std 0.02, with a few NaN/Inf/subnormals); each figure is the best of several
 * timed passes. Usage: cvt_bench [MB]  (default 64). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cvt.h"
#include "stats.h"
#include "err.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static size_t nelem;
static void *src[DT_COUNT], *dst;

/* Best of 5 passes over the whole input, each pass in 1 MiB-of-input chunks (as the tools
 * feed it). */
static double run(int ddt, int sdt, int stats)
{
	size_t esz = dtype_size(sdt), chunk = (1 << 20) / esz, best_ok = 0;
	double best = 1e30;
	struct stats st;
	for (int rep = 0; rep < 5; rep++) {
		double t0 = now();
		stats_init(&st);
		for (size_t i = 0; i < nelem; i += chunk) {
			size_t m = nelem - i < chunk ? nelem - i : chunk;
			const char *s = (const char *)src[sdt] + i * esz;
			int rc = stats ? stats_add(&st, sdt, s, m)
			               : cvt_convert(ddt, (char *)dst + i * dtype_size(ddt), sdt, s, m);
			if (rc < 0) {
				fprintf(stderr, "cvt_bench: %s\n", err_get());
				exit(1);
			}
		}
		double t = now() - t0;
		if (t < best)
			best = t, best_ok = 1;
	}
	return best_ok ? nelem * esz / best / 1e9 : 0;
}

static void row(const char *what, double gbs, double goal)
{
	if (goal > 0)
		printf("| %s | %.2f | ≥ %.0f %s |\n", what, gbs, goal, gbs >= goal ? "✓" : "✗ below");
	else
		printf("| %s | %.2f | — |\n", what, gbs);
}

int main(int argc, char **argv)
{
	size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	nelem = mb * 1000000 / 8;   /* MB megabytes of F64, 2·MB of F32 … */
	float *f = malloc(nelem * sizeof *f);
	double *d = malloc(nelem * sizeof *d);
	dst = malloc(nelem * sizeof(double));
	src[DT_F32] = f;
	src[DT_F64] = d;
	src[DT_F16] = malloc(nelem * 2);
	src[DT_BF16] = malloc(nelem * 2);
	if (!f || !d || !dst || !src[DT_F16] || !src[DT_BF16]) {
		fprintf(stderr, "cvt_bench: out of memory\n");
		return 1;
	}
	unsigned long long s = 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i < nelem; i++) {
		double u[2];
		for (int k = 0; k < 2; k++) {
			s ^= s << 13; s ^= s >> 7; s ^= s << 17;
			u[k] = ((s >> 11) + 0.5) * 0x1p-53;
		}
		d[i] = 0.02 * sqrt(-2 * log(u[0])) * cos(6.283185307179586 * u[1]);
		if (i % 100003 == 0)
			d[i] = i % 3 == 0 ? NAN : i % 3 == 1 ? INFINITY : 1e-41;
	}
	cvt_from_f64(DT_F32, f, d, nelem);
	cvt_from_f64(DT_F16, src[DT_F16], d, nelem);
	cvt_from_f64(DT_BF16, src[DT_BF16], d, nelem);
	memset(dst, 0, nelem * sizeof(double));

	static const struct { int d, s; double goal; } conv[] = {
		{ DT_BF16, DT_F32, 2 }, { DT_F32, DT_BF16, 2 },
		{ DT_F16, DT_F32, 2 }, { DT_F32, DT_F16, 2 },
		{ DT_F64, DT_F32, 0 }, { DT_F32, DT_F64, 0 },
		{ DT_BF16, DT_F64, 0 }, { DT_F16, DT_F64, 0 },
		{ DT_F64, DT_BF16, 0 }, { DT_F64, DT_F16, 0 },
		{ DT_BF16, DT_F16, 0 }, { DT_F16, DT_BF16, 0 },
	};
	int hw = cvt_use_f16c(1);
	printf("| conversion (one core, %zu MB of F64 input, less for narrower types) | GB/s of input | goal |\n", mb);
	printf("| --- | ---: | --- |\n");
	char what[80];
	for (size_t k = 0; k < sizeof conv / sizeof conv[0]; k++) {
		int has16 = conv[k].d == DT_F16 || conv[k].s == DT_F16;
		snprintf(what, sizeof what, "%s → %s%s", dtype_name(conv[k].s), dtype_name(conv[k].d),
		         has16 && hw ? " (F16C)" : "");
		row(what, run(conv[k].d, conv[k].s, 0), conv[k].goal);
		if (has16 && hw) {
			cvt_use_f16c(0);
			snprintf(what, sizeof what, "%s → %s (portable)", dtype_name(conv[k].s),
			         dtype_name(conv[k].d));
			row(what, run(conv[k].d, conv[k].s, 0), 0);
			cvt_use_f16c(1);
		}
	}
	static const struct { int s; double goal; } stat[] = {
		{ DT_BF16, 1 }, { DT_F16, 0 }, { DT_F32, 0 }, { DT_F64, 0 },
	};
	for (size_t k = 0; k < sizeof stat / sizeof stat[0]; k++) {
		snprintf(what, sizeof what, "stats of %s", dtype_name(stat[k].s));
		row(what, run(0, stat[k].s, 1), stat[k].goal);
	}
	return 0;
}
