/* Unit tests of common/cvt: every BF16 and F16 value against values decoded here from the bit
 * fields, rounding checked against an independent reference (a binary search in a table of all
 * representable values, midpoints compared in double), F64 → F16/BF16 on inputs that would
 * double-round through F32, F16C against the portable loops on every input, NaN/Inf/overflow/
 * subnormals, and the statistics against a plain two-pass loop in long double. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cvt.h"
#include "stats.h"
#include "err.h"
#include "t.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define SLOW 1       /* instrumented build: sample the exhaustive loops */
#else
#define SLOW 0
#endif

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bitsf(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint64_t dbits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static double bitsd(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }

/* ---- the reference: formats described by their field widths ---- */

struct fmt {
	const char *name;
	int dt, ebits, mbits;
	double val[0x8000];   /* value of every non-negative encoding; the Inf encoding holds
	                         2^(emax+1), the value it stands for when rounding */
	int top;              /* the Inf encoding */
};
static struct fmt bf16 = { "BF16", DT_BF16, 8, 7, { 0 }, 0 };
static struct fmt f16 = { "F16", DT_F16, 5, 10, { 0 }, 0 };

/* Value of a 16-bit pattern from its fields, with ldexp; NaN for NaN patterns. */
static double decode(const struct fmt *f, uint16_t h)
{
	int bias = (1 << (f->ebits - 1)) - 1, emax = (1 << f->ebits) - 1;
	int sign = h >> 15, e = (h >> f->mbits) & emax, m = h & ((1 << f->mbits) - 1);
	double v;
	if (e == emax)
		v = m ? NAN : INFINITY;
	else if (e == 0)
		v = ldexp(m, 1 - bias - f->mbits);
	else
		v = ldexp(m + (1 << f->mbits), e - bias - f->mbits);
	return sign ? -v : v;
}

static void fmt_init(struct fmt *f)
{
	int emax = (1 << f->ebits) - 1, bias = emax / 2;
	f->top = emax << f->mbits;
	for (int h = 0; h < f->top; h++)
		f->val[h] = decode(f, (uint16_t)h);
	f->val[f->top] = ldexp(1, bias + 1);
}

/* Round x (not NaN) to the format: binary search for the neighbours, compare with their
 * midpoint (exact in double), ties to the even encoding. */
static uint16_t ref_round(const struct fmt *f, double x)
{
	uint16_t sign = signbit(x) ? 0x8000 : 0;
	double a = fabs(x);
	if (a >= f->val[f->top])
		return sign | f->top;
	int lo = 0, hi = f->top;        /* val[lo] <= a < val[hi] */
	while (hi - lo > 1) {
		int mid = (lo + hi) / 2;
		if (f->val[mid] <= a)
			lo = mid;
		else
			hi = mid;
	}
	double m = (f->val[lo] + f->val[hi]) / 2;
	int r = a < m ? lo : a > m ? hi : (lo & 1 ? hi : lo);
	return (uint16_t)(sign | r);
}

/* The NaN a narrowing conversion must give: sign, quiet bit, leading payload bits. */
static uint16_t ref_nan16(const struct fmt *f, uint64_t sign, uint64_t payload, int pbits)
{
	uint16_t q = (uint16_t)(1 << (f->mbits - 1));
	return (uint16_t)((sign ? 0x8000 : 0) | f->top | q | (payload >> (pbits - f->mbits)));
}

static uint16_t want_from_f32(const struct fmt *f, uint32_t u)
{
	float x = bitsf(u);
	if (isnan(x))
		return ref_nan16(f, u >> 31, u & 0x7fffff, 23);
	return ref_round(f, x);
}

static uint16_t want_from_f64(const struct fmt *f, uint64_t u)
{
	double x = bitsd(u);
	if (isnan(x))
		return ref_nan16(f, u >> 63, u & 0xfffffffffffffULL, 52);
	return ref_round(f, x);
}

static uint16_t to16_scalar(const struct fmt *f, float x)
{
	return f->dt == DT_BF16 ? f32_to_bf16(x) : f32_to_f16(x);
}

static uint16_t to16_from_f64_scalar(const struct fmt *f, double x)
{
	return f->dt == DT_BF16 ? f64_to_bf16(x) : f64_to_f16(x);
}

static float from16_scalar(const struct fmt *f, uint16_t h)
{
	return f->dt == DT_BF16 ? bf16_to_f32(h) : f16_to_f32(h);
}

/* ---- every 16-bit value ---- */

static void check_all_16(struct fmt *f)
{
	static uint16_t h[65536];
	static float out32[65536];
	static double out64[65536];
	static char odd[65536 * 8 + 1];   /* unaligned copies */
	for (int i = 0; i < 65536; i++)
		h[i] = (uint16_t)i;
	CHECK(cvt_convert(DT_F32, out32, f->dt, h, 65536) == 0, "%s", err_get());
	CHECK(cvt_to_f64(out64, f->dt, h, 65536) == 0, "%s", err_get());
	int pbits = f->mbits, bad = 0;
	for (int i = 0; i < 65536 && bad < 5; i++) {
		double ref = decode(f, (uint16_t)i);
		uint32_t u = fbits(out32[i]);
		float s = from16_scalar(f, (uint16_t)i);
		if (isnan(ref)) {
			/* quiet NaN, same sign, payload kept in the leading bits */
			uint32_t want = (uint32_t)(i >> 15) << 31 | 0x7fc00000 |
			                (uint32_t)(i & ((1 << pbits) - 1)) << (23 - pbits);
			uint64_t want64 = (uint64_t)(i >> 15) << 63 | 0x7ff8000000000000ULL |
			                  (uint64_t)(i & ((1 << pbits) - 1)) << (52 - pbits);
			if (u != want || fbits(s) != want || dbits(out64[i]) != want64)
				bad++;
			CHECK(u == want && fbits(s) == want, "%s %04x: NaN to F32 %08x, scalar %08x, want %08x",
			      f->name, i, u, fbits(s), want);
			CHECK(dbits(out64[i]) == want64, "%s %04x: NaN to F64 %016llx", f->name, i,
			      (unsigned long long)dbits(out64[i]));
		} else {
			int ok = out32[i] == ref && !signbit(out32[i]) == !signbit(ref) &&
			         out64[i] == ref && !signbit(out64[i]) == !signbit(ref) &&
			         fbits(s) == u;
			bad += !ok;
			CHECK(ok, "%s %04x: want %.17g, got F32 %.9g (scalar %.9g), F64 %.17g", f->name,
			      i, ref, out32[i], s, out64[i]);
		}
	}
	/* any alignment */
	memcpy(odd + 1, h, sizeof h);
	static float o32[65536];
	CHECK(cvt_to_f32(o32, f->dt, odd + 1, 65536) == 0 && memcmp(o32, out32, sizeof o32) == 0,
	      "%s: unaligned source differs", f->name);
	CHECK(cvt_to_f32((float *)(void *)(odd + 3), f->dt, h, 65536) == 0 &&
	      memcmp(odd + 3, out32, sizeof out32) == 0, "%s: unaligned destination differs", f->name);

	/* exact round trips: 16 → F32 → 16 and 16 → F64 → 16; NaN comes back quiet */
	static uint16_t back[65536], back64[65536];
	CHECK(cvt_from_f32(f->dt, back, out32, 65536) == 0, "%s", err_get());
	CHECK(cvt_from_f64(f->dt, back64, out64, 65536) == 0, "%s", err_get());
	bad = 0;
	for (int i = 0; i < 65536 && bad < 5; i++) {
		uint16_t want = (uint16_t)i;
		if (isnan(decode(f, want)))
			want |= (uint16_t)(1 << (f->mbits - 1));
		int ok = back[i] == want && back64[i] == want && to16_scalar(f, out32[i]) == want &&
		         to16_from_f64_scalar(f, out64[i]) == want;
		bad += !ok;
		CHECK(ok, "%s %04x: round trip gives %04x via F32, %04x via F64", f->name, i, back[i],
		      back64[i]);
	}
}

static void test_bf16_all(void) { check_all_16(&bf16); }

static void test_f16_all(void)
{
	cvt_use_f16c(0);
	check_all_16(&f16);
	if (cvt_use_f16c(1)) {
		check_all_16(&f16);
		printf("# F16C checked too\n");
	} else
		printf("# no F16C on this machine: portable loops only\n");
}

/* ---- midpoints: ties to even, and just above and below ---- */

/* For every pair of neighbouring non-negative values lo < hi (hi may be the Inf encoding,
 * standing for 2^(emax+1)): the midpoint goes to the even one, the next float or double above
 * it to hi, the one below to lo; negated likewise. The F64 inputs just beside the midpoint are
 * exactly the ones that double-round through F32 (they round to the midpoint in F32 first). */
static void check_midpoints(struct fmt *f)
{
	size_t n = (size_t)f->top * 6;
	float *x32 = malloc(n * sizeof *x32);
	double *x64 = malloc(n * sizeof *x64);
	uint16_t *want = malloc(n * 2), *got32 = malloc(n * 2), *got64 = malloc(n * 2);
	uint16_t *via32 = malloc(n * 2);
	if (!x32 || !x64 || !want || !got32 || !got64 || !via32) {
		CHECK(0, "out of memory");
		return;
	}
	size_t k = 0;
	for (int lo = 0; lo < f->top; lo++) {
		int hi = lo + 1;
		double m = (f->val[lo] + f->val[hi]) / 2;
		CHECK((double)(float)m == m, "%s: midpoint %.17g not a float", f->name, m);
		uint16_t even = (uint16_t)(lo & 1 ? hi : lo);
		for (int s = 0; s < 2; s++) {
			double sm = s ? -m : m;
			uint16_t sg = s ? 0x8000 : 0;
			x32[k] = (float)sm, x64[k] = sm, want[k++] = sg | even;
			x32[k] = nextafterf((float)sm, s ? -INFINITY : INFINITY);
			x64[k] = nextafter(sm, s ? -INFINITY : INFINITY), want[k++] = (uint16_t)(sg | hi);
			x32[k] = nextafterf((float)sm, 0);
			x64[k] = nextafter(sm, 0), want[k++] = (uint16_t)(sg | lo);
		}
	}
	CHECK(cvt_from_f32(f->dt, got32, x32, n) == 0, "%s", err_get());
	CHECK(cvt_from_f64(f->dt, got64, x64, n) == 0, "%s", err_get());
	int bad = 0;
	size_t differ = 0;
	for (size_t i = 0; i < n && bad < 8; i++) {
		/* the F32 inputs beside a midpoint are the neighbouring floats */
		uint16_t w32 = i % 3 == 0 ? want[i] : ref_round(f, x32[i]);
		int ok = got32[i] == w32 && to16_scalar(f, x32[i]) == w32 && got64[i] == want[i] &&
		         to16_from_f64_scalar(f, x64[i]) == want[i];
		bad += !ok;
		CHECK(ok, "%s: %.9g → %04x (scalar %04x) want %04x; %.17g → %04x want %04x", f->name,
		      x32[i], got32[i], to16_scalar(f, x32[i]), w32, x64[i], got64[i], want[i]);
		CHECK(i % 3 == 0 || w32 == want[i], "%s: float beside midpoint %.9g", f->name, x32[i]);
		via32[i] = to16_scalar(f, (float)x64[i]);
		differ += via32[i] != want[i];
	}
	/* the test would catch a conversion that went through F32: about half the pairs differ */
	CHECK(differ > (size_t)f->top / 2, "%s: only %zu double-rounding cases", f->name, differ);
	free(x32), free(x64), free(want), free(got32), free(got64), free(via32);
}

static void test_midpoints(void)
{
	check_midpoints(&bf16);
	cvt_use_f16c(0);
	check_midpoints(&f16);
	cvt_use_f16c(1);
	check_midpoints(&f16);
}

/* ---- random bit patterns against the reference ---- */

static void test_random_f32(void)
{
	enum { CH = 1 << 16 };
	static uint32_t in[CH];
	static uint16_t ob[CH], oh[CH], ohs[CH];
	long total = SLOW ? 2000000 : 10000000;
	int bad = 0;
	for (long done = 0; done < total; done += CH) {
		for (int i = 0; i < CH; i++) {
			uint64_t r = next();
			/* half fully random, half with the exponent near the F16 range */
			in[i] = (uint32_t)r;
			if (r >> 63)
				in[i] = (in[i] & 0x807fffff) | (uint32_t)(96 + (r >> 40) % 64) << 23;
		}
		cvt_use_f16c(1);
		cvt_from_f32(DT_BF16, ob, (float *)in, CH);
		cvt_from_f32(DT_F16, oh, (float *)in, CH);
		cvt_use_f16c(0);
		cvt_from_f32(DT_F16, ohs, (float *)in, CH);
		cvt_use_f16c(1);
		for (int i = 0; i < CH && bad < 8; i++) {
			uint16_t wb = want_from_f32(&bf16, in[i]), wh = want_from_f32(&f16, in[i]);
			int ok = ob[i] == wb && oh[i] == wh && ohs[i] == wh;
			bad += !ok;
			CHECK(ok, "%08x (%.9g): BF16 %04x want %04x, F16 %04x/%04x want %04x", in[i],
			      bitsf(in[i]), ob[i], wb, oh[i], ohs[i], wh);
		}
	}
}

static void test_random_f64(void)
{
	enum { CH = 1 << 16 };
	static uint64_t in[CH];
	static uint16_t ob[CH], oh[CH];
	static float of[CH];
	long total = SLOW ? 1000000 : 4000000;
	int bad = 0;
	for (long done = 0; done < total; done += CH) {
		for (int i = 0; i < CH; i++) {
			uint64_t r = next(), e;
			switch (i % 4) {
			case 0: e = 1023 - 150 + r % 300; break;    /* BF16/F32 range and beyond */
			case 1: e = 1023 - 30 + r % 50; break;      /* F16 range */
			case 2: e = r % 2048; break;                /* anything, NaN and subnormal too */
			default: e = (i & 64) ? 1023 - 133 - r % 4 : 1023 - 24 - r % 4; break; /* tiny */
			}
			in[i] = (next() & 0x800fffffffffffffULL) | e << 52;
		}
		cvt_from_f64(DT_BF16, ob, (double *)in, CH);
		cvt_from_f64(DT_F16, oh, (double *)in, CH);
		cvt_from_f64(DT_F32, of, (double *)in, CH);
		for (int i = 0; i < CH && bad < 8; i++) {
			double x = bitsd(in[i]);
			uint16_t wb = want_from_f64(&bf16, in[i]), wh = want_from_f64(&f16, in[i]);
			int ok = ob[i] == wb && oh[i] == wh;
			/* F64 → F32: nearest of the two neighbouring floats, ties to an even mantissa */
			float g = of[i];
			if (isnan(x))
				ok &= isnan(g) && !signbit(g) == !signbit(x) && (fbits(g) & 0x400000);
			else if (fabs(x) >= 0x1.ffffffp127)
				ok &= isinf(g) && !signbit(g) == !signbit(x);
			else {
				double e0 = fabs(x - g), eu = fabs((double)nextafterf(g, INFINITY) - x),
				       ed = fabs((double)nextafterf(g, -INFINITY) - x);
				ok &= e0 < eu || (e0 == eu && !(fbits(g) & 1));
				ok &= e0 < ed || (e0 == ed && !(fbits(g) & 1));
				ok &= !signbit(g) == !signbit(x);
			}
			bad += !ok;
			CHECK(ok, "%016llx (%.17g): BF16 %04x want %04x, F16 %04x want %04x, F32 %.9g",
			      (unsigned long long)in[i], x, ob[i], wb, oh[i], wh, g);
		}
	}
}

/* ---- F16C and the portable loops agree on every input ---- */

static void test_f16c_agrees(void)
{
	if (!cvt_use_f16c(1)) {
		printf("# no F16C on this machine: nothing to compare\n");
		CHECK(cvt_use_f16c(0) == 0, "F16C off");
		return;
	}
	enum { CH = 1 << 16 };
	static uint32_t in[CH];
	static uint16_t hw[CH], sw[CH];
	/* F32 → F16: all 2^32 patterns (every 97th chunk under the sanitizers) */
	uint64_t step = SLOW ? (uint64_t)CH * 97 : CH;
	int bad = 0;
	for (uint64_t base = 0; base < (1ULL << 32) && bad < 5; base += step) {
		for (uint32_t i = 0; i < CH; i++)
			in[i] = (uint32_t)base + i;
		cvt_use_f16c(1);
		cvt_from_f32(DT_F16, hw, (float *)in, CH);
		cvt_use_f16c(0);
		cvt_from_f32(DT_F16, sw, (float *)in, CH);
		if (memcmp(hw, sw, sizeof hw)) {
			int i = 0;
			while (hw[i] == sw[i])
				i++;
			bad++;
			CHECK(0, "F32 %08x → F16: F16C %04x, portable %04x", in[i], hw[i], sw[i]);
		}
	}
	/* F16 → F32, F64, BF16 and BF16 → F16: all 65536 */
	static uint16_t h[65536], b1[65536], b2[65536];
	static float f1[65536], f2[65536];
	static double d1[65536], d2[65536];
	for (int i = 0; i < 65536; i++)
		h[i] = (uint16_t)i;
	cvt_use_f16c(1);
	cvt_to_f32(f1, DT_F16, h, 65536);
	cvt_to_f64(d1, DT_F16, h, 65536);
	cvt_convert(DT_BF16, b1, DT_F16, h, 65536);
	cvt_use_f16c(0);
	cvt_to_f32(f2, DT_F16, h, 65536);
	cvt_to_f64(d2, DT_F16, h, 65536);
	cvt_convert(DT_BF16, b2, DT_F16, h, 65536);
	CHECK(memcmp(f1, f2, sizeof f1) == 0, "F16 → F32 differs");
	CHECK(memcmp(d1, d2, sizeof d1) == 0, "F16 → F64 differs");
	CHECK(memcmp(b1, b2, sizeof b1) == 0, "F16 → BF16 differs");
	cvt_use_f16c(1);
	cvt_convert(DT_F16, b1, DT_BF16, h, 65536);
	cvt_use_f16c(0);
	cvt_convert(DT_F16, b2, DT_BF16, h, 65536);
	CHECK(memcmp(b1, b2, sizeof b1) == 0, "BF16 → F16 differs");
	cvt_use_f16c(1);
}

/* ---- F16 ↔ BF16 and every pair, every length ---- */

static void test_pairs(void)
{
	/* F16 ↔ BF16 is rounding the exact F32 value */
	static uint16_t h[65536], o[65536];
	for (int i = 0; i < 65536; i++)
		h[i] = (uint16_t)i;
	cvt_convert(DT_BF16, o, DT_F16, h, 65536);
	int bad = 0;
	for (int i = 0; i < 65536 && bad < 5; i++) {
		uint16_t w = want_from_f32(&bf16, fbits(f16_to_f32((uint16_t)i)));
		bad += o[i] != w;
		CHECK(o[i] == w, "F16 %04x → BF16 %04x, want %04x", i, o[i], w);
	}
	cvt_convert(DT_F16, o, DT_BF16, h, 65536);
	for (int i = 0; i < 65536 && bad < 5; i++) {
		uint16_t w = want_from_f32(&f16, fbits(bf16_to_f32((uint16_t)i)));
		bad += o[i] != w;
		CHECK(o[i] == w, "BF16 %04x → F16 %04x, want %04x", i, o[i], w);
	}
	/* every pair through every length 0..40 (vector bodies and tails), element by element
	 * against the F64 route, which the tests above pin down */
	int dts[4] = { DT_F64, DT_F32, DT_F16, DT_BF16 };
	double src64[40];
	for (int i = 0; i < 40; i++)
		src64[i] = ldexp((double)(int64_t)(next() % 2000001) - 1000000, (int)(next() % 40) - 30);
	src64[5] = NAN, src64[6] = -INFINITY, src64[7] = 1e-7, src64[8] = -0.0, src64[9] = 7e4;
	for (int a = 0; a < 4; a++)
		for (int b = 0; b < 4; b++) {
			unsigned char src[40 * 8], dst[40 * 8 + 8], one[8];
			cvt_from_f64(dts[a], src, src64, 40);
			for (size_t n = 0; n <= 40; n++) {
				memset(dst, 0xa5, sizeof dst);
				CHECK(cvt_convert(dts[b], dst, dts[a], src, n) == 0, "%s", err_get());
				size_t sa = dtype_size(dts[a]), sb = dtype_size(dts[b]);
				for (size_t i = 0; i < n; i++) {
					double x;
					cvt_to_f64(&x, dts[a], src + i * sa, 1);
					cvt_from_f64(dts[b], one, &x, 1);
					CHECK(memcmp(one, dst + i * sb, sb) == 0, "%s → %s, n %zu, element %zu",
					      dtype_name(dts[a]), dtype_name(dts[b]), n, i);
				}
				CHECK(dst[n * sb] == 0xa5, "%s → %s, n %zu: wrote past the end",
				      dtype_name(dts[a]), dtype_name(dts[b]), n);
			}
		}
}

/* ---- named cases ---- */

static void test_special(void)
{
	static const struct { uint32_t in; uint16_t bf, h; } c[] = {
		{ 0x7f800001, 0x7fc0, 0x7e00 },  /* NaN with a low payload: NaN, not Inf */
		{ 0xff800001, 0xffc0, 0xfe00 },
		{ 0x7fc00000, 0x7fc0, 0x7e00 },
		{ 0x7fffffff, 0x7fff, 0x7fff },
		{ 0x7fa00000, 0x7fe0, 0x7f00 },  /* signalling NaN, payload kept, made quiet */
		{ 0x7f800000, 0x7f80, 0x7c00 },
		{ 0xff800000, 0xff80, 0xfc00 },
		{ 0x7f7fffff, 0x7f80, 0x7c00 },  /* FLT_MAX overflows both */
		{ 0x7f7f7fff, 0x7f7f, 0x7c00 },  /* just below the BF16 midpoint to Inf */
		{ 0x7f7f8000, 0x7f80, 0x7c00 },  /* the midpoint: max BF16 is odd, Inf wins */
		{ 0x477fefff, 0x4780, 0x7bff },  /* just below 65520 */
		{ 0x477ff000, 0x4780, 0x7c00 },  /* 65520 */
		{ 0x477fe000, 0x4780, 0x7bff },  /* 65504, F16 max */
		{ 0x33800000, 0x3380, 0x0001 },  /* 2^-24, smallest F16 subnormal */
		{ 0x33000000, 0x3300, 0x0000 },  /* 2^-25: tie, to even (zero) */
		{ 0x33000001, 0x3300, 0x0001 },
		{ 0x33c00000, 0x33c0, 0x0002 },  /* 1.5 · 2^-24: tie, to even (2) */
		{ 0x387fe000, 0x3880, 0x0400 },  /* rounds up from subnormal to the smallest normal */
		{ 0x00000001, 0x0000, 0x0000 },  /* smallest F32 subnormal */
		{ 0x00010000, 0x0001, 0x0000 },  /* 2^-133, smallest BF16 subnormal */
		{ 0x00008000, 0x0000, 0x0000 },  /* 2^-134: tie, to zero */
		{ 0x00018000, 0x0002, 0x0000 },  /* 1.5 · 2^-133: tie, to 2 */
		{ 0x007fffff, 0x0080, 0x0000 },  /* largest F32 subnormal rounds to the smallest normal */
		{ 0x80000000, 0x8000, 0x8000 },
		{ 0x3f808000, 0x3f80, 0x3c04 },  /* 1 + 2^-8: tie in BF16, to even */
		{ 0x3f818000, 0x3f82, 0x3c0c },  /* 1 + 3 · 2^-8: tie, to even (up) */
	};
	cvt_use_f16c(0);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
			float x = bitsf(c[i].in);
			uint16_t b, h;
			cvt_from_f32(DT_BF16, &b, &x, 1);
			cvt_from_f32(DT_F16, &h, &x, 1);
			CHECK(b == c[i].bf && f32_to_bf16(x) == c[i].bf, "%08x → BF16 %04x, want %04x",
			      c[i].in, b, c[i].bf);
			CHECK(h == c[i].h && f32_to_f16(x) == c[i].h, "%08x → F16 %04x, want %04x", c[i].in,
			      h, c[i].h);
			/* the same values as doubles: the F64 paths agree (NaN payloads widen exactly) */
			double d = x;
			if (isnan(x))
				d = bitsd((uint64_t)(c[i].in >> 31) << 63 | 0x7ff0000000000000ULL |
				          (uint64_t)(c[i].in & 0x7fffff) << 29);
			CHECK(f64_to_bf16(d) == c[i].bf && f64_to_f16(d) == c[i].h,
			      "%08x as F64 → BF16 %04x, F16 %04x", c[i].in, f64_to_bf16(d), f64_to_f16(d));
		}
		cvt_use_f16c(1);
	}
	/* F64 only: beyond F32's range, and NaN payloads only below F32's bits */
	CHECK(f64_to_bf16(1e300) == 0x7f80 && f64_to_f16(-1e300) == 0xfc00, "huge to Inf");
	CHECK(f64_to_bf16(1e-300) == 0 && f64_to_f16(-1e-300) == 0x8000, "tiny to zero");
	CHECK(f64_to_bf16(bitsd(0x7ff0000000000001ULL)) == 0x7fc0, "F64 NaN low payload → BF16");
	CHECK(f64_to_f16(bitsd(0xfff0000000000001ULL)) == 0xfe00, "F64 NaN low payload → F16");
	float f;
	double d = bitsd(0x7ff0000000000001ULL);
	cvt_from_f64(DT_F32, &f, &d, 1);
	CHECK(isnan(f), "F64 NaN low payload → F32 %08x", fbits(f));
	d = DBL_MAX;
	cvt_from_f64(DT_F32, &f, &d, 1);
	CHECK(isinf(f) && f > 0, "DBL_MAX → F32 %g", f);
	d = 0x1p-150;
	cvt_from_f64(DT_F32, &f, &d, 1);
	CHECK(f == 0 && !signbit(f), "2^-150 → F32 %g (tie to zero)", f);
	d = 0x1.8p-149;
	cvt_from_f64(DT_F32, &f, &d, 1);
	CHECK(f == 0x1p-148f, "1.5 · 2^-149 → F32 %g (tie to even)", f);
	/* widening sNaN quiets it */
	uint16_t sn = 0x7f81;
	CHECK(fbits(bf16_to_f32(sn)) == 0x7fc10000, "BF16 sNaN → %08x", fbits(bf16_to_f32(sn)));
	sn = 0xfc01;
	CHECK(fbits(f16_to_f32(sn)) == 0xffc02000, "F16 sNaN → %08x", fbits(f16_to_f32(sn)));
}

static void test_errors(void)
{
	int32_t i32[4] = { 1, 2, 3, 4 };
	float out[4];
	CHECK(cvt_convert(DT_F32, out, DT_I32, i32, 4) == -1 && strstr(err_get(), "I32") &&
	      strstr(err_get(), "F32"), "I32 → F32: %s", err_get());
	CHECK(cvt_convert(DT_F8_E4M3, out, DT_F32, out, 1) == -1 && strstr(err_get(), "F8_E4M3"),
	      "F32 → F8: %s", err_get());
	CHECK(cvt_convert(DT_F32, out, 99, out, 1) == -1, "bad dtype");
	CHECK(cvt_convert(DT_BF16, NULL, DT_F32, NULL, 0) == 0, "n = 0");
	CHECK(cvt_convert(DT_F32, NULL, DT_F32, NULL, 0) == 0, "n = 0, same type");
	struct stats st;
	stats_init(&st);
	CHECK(stats_add(&st, DT_U8, i32, 4) == -1 && strstr(err_get(), "U8"), "stats of U8: %s",
	      err_get());
	CHECK(st.count == 0, "nothing added");
	/* identical types copy */
	float a[5] = { 1, NAN, -0.0f, INFINITY, 0x1p-149f }, b[5];
	CHECK(cvt_convert(DT_F32, b, DT_F32, a, 5) == 0 && memcmp(a, b, sizeof a) == 0, "copy");
}

/* ---- statistics ---- */

struct ref {
	long double sum, mean, m2, absmean;
	double min, max;
	uint64_t count, finite, nan, inf;
};

static void ref_stats(struct ref *r, const double *x, size_t n)
{
	memset(r, 0, sizeof *r);
	r->min = INFINITY, r->max = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		r->count++;
		if (isnan(x[i]))
			r->nan++;
		else if (isinf(x[i]))
			r->inf++;
		else {
			r->finite++;
			r->sum += x[i];
			r->absmean += fabs(x[i]);
			if (x[i] < r->min)
				r->min = x[i];
			if (x[i] > r->max)
				r->max = x[i];
		}
	}
	r->mean = r->finite ? r->sum / r->finite : 0;
	r->absmean = r->finite ? r->absmean / r->finite : 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i]))
			r->m2 += (x[i] - r->mean) * (x[i] - r->mean);
}

/* |got - want| ≤ rel · (|want| + scale): scale keeps a sum that cancels to near zero from
 * demanding more than the terms' own precision. */
static int close_to(double got, long double want, double rel, long double scale)
{
	if (isnan(got) || isnan((double)want))
		return isnan(got) && isnan((double)want);
	return fabsl(got - want) <= rel * (fabsl(want) + scale) + 1e-300;
}

/* x: n values, stored as dt (rounded) and added in random chunks from an odd address (and
 * half into a second accumulator, merged); the reference is taken of the stored values. */
static void check_stats(const char *what, int dt, const double *x0, size_t n, double rel)
{
	size_t sz = dtype_size(dt);
	unsigned char *raw = malloc(n * sz + 1);
	double *x = malloc(n * sizeof *x + 1);
	if (!raw || !x) {
		CHECK(0, "out of memory");
		return;
	}
	cvt_from_f64(dt, raw + 1, x0, n);
	cvt_to_f64(x, dt, raw + 1, n);
	struct ref r;
	ref_stats(&r, x, n);
	struct stats st, half;
	stats_init(&st);
	stats_init(&half);
	for (size_t i = 0; i < n;) {
		size_t m = next() % 9000;
		if (m > n - i)
			m = n - i;
		CHECK(stats_add(i < n / 2 ? &st : &half, dt, raw + 1 + i * sz, m) == 0, "%s",
		      err_get());
		i += m;
	}
	stats_merge(&st, &half);
	struct stats_summary s;
	stats_finish(&st, &s);
	double std = r.finite ? sqrtl(r.m2 / r.finite) : NAN;
	double amax = r.finite ? fmax(fabs(r.min), fabs(r.max)) : NAN;
	CHECK(s.count == r.count && s.finite == r.finite && s.nan == r.nan && s.inf == r.inf,
	      "%s %s: counts %llu/%llu/%llu/%llu, want %llu/%llu/%llu/%llu", what, dtype_name(dt),
	      (unsigned long long)s.count, (unsigned long long)s.finite,
	      (unsigned long long)s.nan, (unsigned long long)s.inf, (unsigned long long)r.count,
	      (unsigned long long)r.finite, (unsigned long long)r.nan, (unsigned long long)r.inf);
	if (r.finite) {
		CHECK(s.min == r.min && s.max == r.max && s.absmax == amax,
		      "%s %s: min %g max %g absmax %g, want %g %g %g", what, dtype_name(dt), s.min,
		      s.max, s.absmax, r.min, r.max, amax);
		CHECK(close_to(s.mean, r.mean, rel, r.absmean) &&
		      close_to(s.sum, r.sum, rel, r.absmean * r.finite),
		      "%s %s: mean %.17g sum %.17g, want %.17Lg %.17Lg", what, dtype_name(dt), s.mean,
		      s.sum, r.mean, r.sum);
	} else
		CHECK(isnan(s.min) && isnan(s.max) && isnan(s.mean) && isnan(s.absmax) && s.sum == 0,
		      "%s %s: no finite values: min %g max %g mean %g", what, dtype_name(dt), s.min,
		      s.max, s.mean);
	CHECK(close_to(s.std, std, rel, 0), "%s %s: std %.17g, want %.17g", what, dtype_name(dt), s.std,
	      std);
	free(raw);
	free(x);
}

static double normal(void)
{
	double u = ((next() >> 11) + 0.5) * 0x1p-53, v = ((next() >> 11) + 0.5) * 0x1p-53;
	return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static void test_stats(void)
{
	int dts[4] = { DT_F64, DT_F32, DT_F16, DT_BF16 };
	size_t sizes[] = { 0, 1, 7, 8, 9, 4095, 4096, 4097, 100003 };
	size_t nmax = 300000;
	double *x = malloc(nmax * sizeof *x);
	if (!x) {
		CHECK(0, "out of memory");
		return;
	}
	for (int d = 0; d < 4; d++) {
		int dt = dts[d];
		for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
			size_t n = sizes[k];
			for (size_t i = 0; i < n; i++)
				x[i] = 0.02 * normal() + 0.001;
			check_stats("finite", dt, x, n, 1e-12);
			if (n > 8) {
				x[n / 3] = NAN, x[n / 2] = INFINITY, x[n - 1] = -INFINITY, x[1] = -NAN;
				check_stats("with NaN and Inf", dt, x, n, 1e-12);
			}
		}
	}
	/* large mean, small spread: a plain Σx² would lose every digit of the variance */
	size_t n = nmax;
	for (size_t i = 0; i < n; i++)
		x[i] = 1000 + ldexp((double)(int)(next() % 2001) - 1000, -20);
	check_stats("offset", DT_F32, x, n, 1e-9);
	check_stats("offset", DT_F64, x, n, 1e-9);
	/* only NaN and Inf */
	for (size_t i = 0; i < 100; i++)
		x[i] = i % 2 ? NAN : -INFINITY;
	check_stats("non-finite", DT_BF16, x, 100, 1e-12);
	check_stats("non-finite", DT_F64, x, 100, 1e-12);
	/* extremes of each type */
	double ext[] = { 65504, -65504, 0x1p-24, -0.0, 3, NAN };
	check_stats("extremes", DT_F16, ext, 6, 1e-12);
	double extb[] = { 0x1.fcp127, -0x1.fcp127, 0x1p-133, 1, NAN, INFINITY };
	check_stats("extremes", DT_BF16, extb, 6, 1e-12);
	double extd[] = { 1e150, -1e150, 4.9e-324, 1, 2 };
	check_stats("extremes", DT_F64, extd, 5, 1e-12);
	/* a block whose masked and unmasked runs must agree: the same values with one NaN more */
	for (size_t i = 0; i < 5000; i++)
		x[i] = (float)normal();
	struct stats a, b;
	struct stats_summary sa, sb;
	stats_init(&a);
	stats_init(&b);
	float *xf = malloc(5001 * sizeof *xf);
	cvt_from_f64(DT_F32, xf, x, 5000);
	stats_add(&a, DT_F32, xf, 5000);
	memmove(xf + 1, xf, 5000 * sizeof *xf);
	xf[0] = NAN;
	stats_add(&b, DT_F32, xf, 5001);
	stats_finish(&a, &sa);
	stats_finish(&b, &sb);
	CHECK(sa.min == sb.min && sa.max == sb.max && sb.nan == 1 && sb.count == 5001 &&
	      close_to(sa.mean, sb.mean, 1e-13, 0) && close_to(sa.std, sb.std, 1e-13, 0),
	      "masked path: mean %.17g/%.17g std %.17g/%.17g", sa.mean, sb.mean, sa.std, sb.std);
	free(xf);
	free(x);
}

int main(void)
{
	fmt_init(&bf16);
	fmt_init(&f16);
	T_RUN(test_bf16_all);
	T_RUN(test_f16_all);
	T_RUN(test_midpoints);
	T_RUN(test_random_f32);
	T_RUN(test_random_f64);
	T_RUN(test_f16c_agrees);
	T_RUN(test_pairs);
	T_RUN(test_special);
	T_RUN(test_errors);
	T_RUN(test_stats);
	return t_done();
}
