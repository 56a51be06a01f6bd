/* cvt.c — see cvt.h.
 *
 * Every chunk conversion is a plain loop over the scalar helpers of cvt.h, written branch-free
 * (masks, no early returns) so that gcc -O2 vectorizes it; F16 ↔ F32 may use F16C instead.
 * The statistics kernels are written with gcc vector extensions (see below). */
#include <float.h>
#include <math.h>

#include "cvt.h"
#include "err.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CVT_X86 1
#endif

static uint64_t f64_bits(double d) { uint64_t u; memcpy(&u, &d, sizeof u); return u; }
static double f64_from_bits(uint64_t u) { double d; memcpy(&d, &u, sizeof d); return d; }
static uint64_t mask64(int cond) { return -(uint64_t)cond; }

/* Both round the magnitude in three cases, like f32_to_f16: normal results by adding half an
 * ulp (minus one, plus the lowest kept bit: ties to even) to the rebiased bits; subnormal
 * results by letting the FPU add a power of two whose ulp is the target's smallest subnormal;
 * Inf from the first magnitude that rounds up past the largest finite value. */
uint16_t f64_to_bf16(double d)
{
	uint64_t u = f64_bits(d), a = u & 0x7fffffffffffffffULL;
	uint64_t sign = (u >> 48) & 0x8000;
	const double tiny = 0x1p-81;                                   /* ulp 2^-133 */
	uint64_t nan = 0x7fc0 | ((a >> 45) & 0x7f);
	uint64_t r = a - ((uint64_t)(1023 - 127) << 52);
	uint64_t normal = (r + (1ULL << 44) - 1 + ((r >> 45) & 1)) >> 45;
	uint64_t sub = f64_bits(f64_from_bits(a) + tiny) - f64_bits(tiny);
	uint64_t is_nan = mask64(a > 0x7ff0000000000000ULL);
	uint64_t is_inf = mask64(a >= 0x47eff00000000000ULL) & ~is_nan;  /* (2 - 2^-8) · 2^127 */
	uint64_t is_normal = mask64(a >= 0x3810000000000000ULL) & ~(is_nan | is_inf); /* 2^-126 */
	r = (nan & is_nan) | (0x7f80 & is_inf) | (normal & is_normal) |
	    (sub & ~(is_nan | is_inf | is_normal));
	return (uint16_t)(sign | r);
}

uint16_t f64_to_f16(double d)
{
	uint64_t u = f64_bits(d), a = u & 0x7fffffffffffffffULL;
	uint64_t sign = (u >> 48) & 0x8000;
	const double big = 0x1p28;                                     /* ulp 2^-24 */
	uint64_t nan = 0x7e00 | ((a >> 42) & 0x3ff);
	uint64_t r = a - ((uint64_t)(1023 - 15) << 52);
	uint64_t normal = (r + (1ULL << 41) - 1 + ((r >> 42) & 1)) >> 42;
	uint64_t sub = f64_bits(f64_from_bits(a) + big) - f64_bits(big);
	uint64_t is_nan = mask64(a > 0x7ff0000000000000ULL);
	uint64_t is_inf = mask64(a >= 0x40effe0000000000ULL) & ~is_nan;  /* 65520 */
	uint64_t is_normal = mask64(a >= 0x3f10000000000000ULL) & ~(is_nan | is_inf); /* 2^-14 */
	r = (nan & is_nan) | (0x7c00 & is_inf) | (normal & is_normal) |
	    (sub & ~(is_nan | is_inf | is_normal));
	return (uint16_t)(sign | r);
}

/* ---- F16C ---- */

static int f16c_off;

static int have_f16c(void)
{
#ifdef CVT_X86
	return !f16c_off && __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
#else
	return 0;
#endif
}

int cvt_use_f16c(int on)
{
	f16c_off = !on;
	return have_f16c();
}

#ifdef CVT_X86
/* The hardware agrees with f16_to_f32/f32_to_f16 bit for bit (NaNs quieted, payload kept,
 * rounding to nearest even under the default MXCSR); the unit test checks every input. */
__attribute__((target("avx,f16c")))
static void f16_f32_hw(void *restrict dv, const void *restrict sv, size_t n)
{
	char *restrict d = dv;
	const char *restrict s = sv;
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps((float *)(d + 4 * i),
		                 _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + 2 * i))));
	for (; i < n; i++) {
		uint16_t x;
		memcpy(&x, s + 2 * i, 2);
		float y = f16_to_f32(x);
		memcpy(d + 4 * i, &y, 4);
	}
}

__attribute__((target("avx,f16c")))
static void f32_f16_hw(void *restrict dv, const void *restrict sv, size_t n)
{
	char *restrict d = dv;
	const char *restrict s = sv;
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(d + 2 * i),
		                 _mm256_cvtps_ph(_mm256_loadu_ps((const float *)(s + 4 * i)),
		                                 _MM_FROUND_TO_NEAREST_INT));
	for (; i < n; i++) {
		float x;
		memcpy(&x, s + 4 * i, 4);
		uint16_t y = f32_to_f16(x);
		memcpy(d + 2 * i, &y, 2);
	}
}
#endif

/* ---- chunk loops, one per (destination, source) pair ----
 * Elements are moved with memcpy: a tensor mapped straight from a file may sit at any address.
 * The inner loop has a fixed trip count because gcc -O2's "very cheap" vectorizer model only
 * takes loops whose count is a known multiple of the vector length. */
#define VB 16

#define ELEM(k, dtype, stype, expr) do { \
		stype x; \
		memcpy(&x, s + (k) * sizeof x, sizeof x); \
		dtype y = (expr); \
		memcpy(d + (k) * sizeof y, &y, sizeof y); \
	} while (0)

#define LOOP(name, dtype, stype, expr) \
	static void name(void *restrict dv, const void *restrict sv, size_t n) \
	{ \
		char *restrict d = dv; \
		const char *restrict s = sv; \
		size_t i = 0; \
		for (; i + VB <= n; i += VB) \
			for (size_t j = 0; j < VB; j++) \
				ELEM(i + j, dtype, stype, expr); \
		for (; i < n; i++) \
			ELEM(i, dtype, stype, expr); \
	}

LOOP(bf16_f32, float, uint16_t, bf16_to_f32(x))
LOOP(f16_f32_sw, float, uint16_t, f16_to_f32(x))
LOOP(f64_f32, float, double, (float)x)
LOOP(f32_bf16, uint16_t, float, f32_to_bf16(x))
LOOP(f32_f16_sw, uint16_t, float, f32_to_f16(x))
LOOP(f32_f64, double, float, (double)x)
LOOP(bf16_f64, double, uint16_t, (double)bf16_to_f32(x))
LOOP(f16_f64_sw, double, uint16_t, (double)f16_to_f32(x))
LOOP(f64_bf16, uint16_t, double, f64_to_bf16(x))
LOOP(f64_f16, uint16_t, double, f64_to_f16(x))
LOOP(bf16_f16_sw, uint16_t, uint16_t, f32_to_f16(bf16_to_f32(x)))
LOOP(f16_bf16_sw, uint16_t, uint16_t, f32_to_bf16(f16_to_f32(x)))

static void f16_f32(void *restrict d, const void *restrict s, size_t n)
{
#ifdef CVT_X86
	if (have_f16c()) {
		f16_f32_hw(d, s, n);
		return;
	}
#endif
	f16_f32_sw(d, s, n);
}

static void f32_f16(void *restrict d, const void *restrict s, size_t n)
{
#ifdef CVT_X86
	if (have_f16c()) {
		f32_f16_hw(d, s, n);
		return;
	}
#endif
	f32_f16_sw(d, s, n);
}

/* Pairs with an F16 side and no F32 side go through F32 in blocks when F16C is there: the F32
 * step is exact (widening F16, or BF16 → F32 before rounding to F16), so the result is the
 * same as the direct loop. F64 → F16 never does: it must round once. */
#define BLK 1024

static void via_f32(void (*to)(void *restrict, const void *restrict, size_t), size_t dsz,
                    void (*from)(void *restrict, const void *restrict, size_t), size_t ssz,
                    void *dv, const void *sv, size_t n)
{
	float buf[BLK];
	char *d = dv;
	const char *s = sv;
	for (size_t i = 0; i < n; i += BLK) {
		size_t m = n - i < BLK ? n - i : BLK;
		from(buf, s + i * ssz, m);
		to(d + i * dsz, buf, m);
	}
}

static void f16_f64(void *restrict d, const void *restrict s, size_t n)
{
	if (have_f16c())
		via_f32(f32_f64, 8, f16_f32, 2, d, s, n);
	else
		f16_f64_sw(d, s, n);
}

static void f16_bf16(void *restrict d, const void *restrict s, size_t n)
{
	if (have_f16c())
		via_f32(f32_bf16, 2, f16_f32, 2, d, s, n);
	else
		f16_bf16_sw(d, s, n);
}

static void bf16_f16(void *restrict d, const void *restrict s, size_t n)
{
	if (have_f16c())
		via_f32(f32_f16, 2, bf16_f32, 2, d, s, n);
	else
		bf16_f16_sw(d, s, n);
}

static int slot(int dt)
{
	switch (dt) {
	case DT_F64: return 0;
	case DT_F32: return 1;
	case DT_F16: return 2;
	case DT_BF16: return 3;
	default: return -1;
	}
}

int cvt_convert(int dst_dt, void *dst, int src_dt, const void *src, size_t n)
{
	/* [destination][source], in slot() order */
	static void (*const fn[4][4])(void *restrict, const void *restrict, size_t) = {
		{ NULL, f32_f64, f16_f64, bf16_f64 },
		{ f64_f32, NULL, f16_f32, bf16_f32 },
		{ f64_f16, f32_f16, NULL, bf16_f16 },
		{ f64_bf16, f32_bf16, f16_bf16, NULL },
	};
	int d = slot(dst_dt), s = slot(src_dt);
	if (d < 0 || s < 0)
		return err_set("cannot convert %s to %s: only F64, F32, F16 and BF16 convert",
		               dtype_name(src_dt), dtype_name(dst_dt));
	if (n == 0)
		return 0;
	if (d == s)
		memcpy(dst, src, n * dtype_size(dst_dt));
	else
		fn[d][s](dst, src, n);
	return 0;
}

int cvt_to_f32(float *dst, int src_dt, const void *src, size_t n)
{
	return cvt_convert(DT_F32, dst, src_dt, src, n);
}

int cvt_from_f32(int dst_dt, void *dst, const float *src, size_t n)
{
	return cvt_convert(dst_dt, dst, DT_F32, src, n);
}

int cvt_to_f64(double *dst, int src_dt, const void *src, size_t n)
{
	return cvt_convert(DT_F64, dst, src_dt, src, n);
}

int cvt_from_f64(int dst_dt, void *dst, const double *src, size_t n)
{
	return cvt_convert(dst_dt, dst, DT_F64, src, n);
}

/* ---- statistics ---- */

void cvt_stats_init(struct cvt_stats *s)
{
	memset(s, 0, sizeof *s);
	s->min = INFINITY;
	s->max = -INFINITY;
}

void cvt_stats_merge(struct cvt_stats *into, const struct cvt_stats *from)
{
	into->count += from->count;
	into->nan += from->nan;
	into->inf += from->inf;
	if (from->min < into->min)
		into->min = from->min;
	if (from->max > into->max)
		into->max = from->max;
	if (from->finite == 0)
		return;
	if (into->finite == 0) {
		into->finite = from->finite;
		into->sum = from->sum;
		into->mean = from->mean;
		into->m2 = from->m2;
		return;
	}
	/* Chan, Golub & LeVeque: combine two (n, mean, m2) triples. */
	double na = (double)into->finite, nb = (double)from->finite, nt = na + nb;
	double delta = from->mean - into->mean;
	into->mean += delta * (nb / nt);
	into->m2 += from->m2 + delta * delta * (na * nb / nt);
	into->sum += from->sum;
	into->finite += from->finite;
}

/* Blocks of SBLK elements are converted (or copied) to an aligned float or double buffer that
 * stays in L1. Pass 1 gathers min, max and the sum, pass 2 the squared deviations from the
 * block's own mean, and the block is merged in. A block is first tried without any masking;
 * only if its sum comes out NaN or Inf (it holds a NaN or Inf: a sum of SBLK finite floats
 * cannot overflow a double) is it done again with masks that count and skip those values.
 *
 * The kernels use gcc's vector extensions (lowered to whatever SIMD the target has, or to
 * scalar code): gcc -O2 will not vectorize a double sum without -ffast-math, and fixed
 * accumulator lanes make the order of the sums, hence the result, the same on every machine.
 * Min and max are exact, so SSE's minps/maxps may replace the generic select. */
#define SBLK 4096

typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
typedef double v2d __attribute__((vector_size(16)));
typedef int64_t v2l __attribute__((vector_size(16)));
typedef double v4d __attribute__((vector_size(32)));
typedef int64_t v4l __attribute__((vector_size(32)));

#define SEL(m, a, b) (((m) & (a)) | (~(m) & (b)))   /* bitwise select on integer vectors */

/* a < b ? a : b and a > b ? a : b lane by lane: a NaN in a is skipped. */
static inline v4f min4f(v4f a, v4f b)
{
#ifdef __SSE__
	return (v4f)_mm_min_ps((__m128)a, (__m128)b);
#else
	return (v4f)SEL(a < b, (v4i)a, (v4i)b);
#endif
}

static inline v4f max4f(v4f a, v4f b)
{
#ifdef __SSE__
	return (v4f)_mm_max_ps((__m128)a, (__m128)b);
#else
	return (v4f)SEL(a > b, (v4i)a, (v4i)b);
#endif
}

static inline v2d min2d(v2d a, v2d b)
{
#ifdef __SSE2__
	return (v2d)_mm_min_pd((__m128d)a, (__m128d)b);
#else
	return (v2d)SEL(a < b, (v2l)a, (v2l)b);
#endif
}

static inline v2d max2d(v2d a, v2d b)
{
#ifdef __SSE2__
	return (v2d)_mm_max_pd((__m128d)a, (__m128d)b);
#else
	return (v2d)SEL(a > b, (v2l)a, (v2l)b);
#endif
}

static inline double dmin(double a, double b) { return a < b ? a : b; }
static inline double dmax(double a, double b) { return a > b ? a : b; }

/* Lanes 0-1 and 2-3 of a, widened. (Vectors of the target's width only: gcc keeps wider ones
 * in memory.) */
static inline v2d lo2d(v4f a)
{
#ifdef __SSE2__
	return (v2d)_mm_cvtps_pd((__m128)a);
#else
	return (v2d){ a[0], a[1] };
#endif
}

static inline v2d hi2d(v4f a)
{
#ifdef __SSE2__
	return (v2d)_mm_cvtps_pd(_mm_movehl_ps((__m128)a, (__m128)a));
#else
	return (v2d){ a[2], a[3] };
#endif
}

/* The unmasked try: 1 and b filled, or 0 when the block holds a NaN or an Inf. */
static int fast_f32(struct cvt_stats *b, const float *x, size_t n)
{
	const v4f pinf = { INFINITY, INFINITY, INFINITY, INFINITY };
	v4f mn0 = pinf, mn1 = pinf, mx0 = -pinf, mx1 = -pinf;
	v2d s0 = { 0 }, s1 = { 0 }, s2 = { 0 }, s3 = { 0 };
	size_t i, nv = n & ~(size_t)7;
	for (i = 0; i < nv; i += 8) {
		v4f a, c;
		memcpy(&a, x + i, sizeof a);
		memcpy(&c, x + i + 4, sizeof c);
		mn0 = min4f(a, mn0);
		mn1 = min4f(c, mn1);
		mx0 = max4f(a, mx0);
		mx1 = max4f(c, mx1);
		s0 += lo2d(a);
		s1 += hi2d(a);
		s2 += lo2d(c);
		s3 += hi2d(c);
	}
	double mn = INFINITY, mx = -INFINITY, sum = 0;
	for (int j = 0; j < 4; j++) {
		mn = dmin(dmin(mn0[j], mn1[j]), mn);
		mx = dmax(dmax(mx0[j], mx1[j]), mx);
	}
	for (int j = 0; j < 2; j++) {
		sum += s0[j];
		sum += s1[j];
		sum += s2[j];
		sum += s3[j];
	}
	for (; i < n; i++) {
		mn = dmin(x[i], mn);
		mx = dmax(x[i], mx);
		sum += x[i];
	}
	if (!isfinite(sum) || n == 0)
		return 0;
	double mean = sum / (double)n, m2 = 0;
	v2d vmean = { mean, mean }, q0 = { 0 }, q1 = { 0 }, q2 = { 0 }, q3 = { 0 };
	for (i = 0; i < nv; i += 8) {
		v4f a, c;
		memcpy(&a, x + i, sizeof a);
		memcpy(&c, x + i + 4, sizeof c);
		v2d d0 = lo2d(a) - vmean, d1 = hi2d(a) - vmean;
		v2d d2 = lo2d(c) - vmean, d3 = hi2d(c) - vmean;
		q0 += d0 * d0;
		q1 += d1 * d1;
		q2 += d2 * d2;
		q3 += d3 * d3;
	}
	for (int j = 0; j < 2; j++) {
		m2 += q0[j];
		m2 += q1[j];
		m2 += q2[j];
		m2 += q3[j];
	}
	for (; i < n; i++)
		m2 += (x[i] - mean) * (x[i] - mean);
	b->count = b->finite = n;
	b->min = mn;
	b->max = mx;
	b->sum = sum;
	b->mean = mean;
	b->m2 = m2;
	return 1;
}

static int fast_f64(struct cvt_stats *b, const double *x, size_t n)
{
	const v2d pinf = { INFINITY, INFINITY };
	v2d mn0 = pinf, mn1 = pinf, mx0 = -pinf, mx1 = -pinf;
	v2d s0 = { 0 }, s1 = { 0 }, s2 = { 0 }, s3 = { 0 };
	size_t i, nv = n & ~(size_t)7;
	for (i = 0; i < nv; i += 8) {
		v2d a, c, e, g;
		memcpy(&a, x + i, sizeof a);
		memcpy(&c, x + i + 2, sizeof c);
		memcpy(&e, x + i + 4, sizeof e);
		memcpy(&g, x + i + 6, sizeof g);
		mn0 = min2d(min2d(a, c), mn0);
		mn1 = min2d(min2d(e, g), mn1);
		mx0 = max2d(max2d(a, c), mx0);
		mx1 = max2d(max2d(e, g), mx1);
		s0 += a;
		s1 += c;
		s2 += e;
		s3 += g;
	}
	double mn = INFINITY, mx = -INFINITY, sum = 0;
	for (int j = 0; j < 2; j++) {
		mn = dmin(dmin(mn0[j], mn1[j]), mn);
		mx = dmax(dmax(mx0[j], mx1[j]), mx);
		sum += s0[j];
		sum += s1[j];
		sum += s2[j];
		sum += s3[j];
	}
	for (; i < n; i++) {
		mn = dmin(x[i], mn);
		mx = dmax(x[i], mx);
		sum += x[i];
	}
	if (!isfinite(sum) || n == 0)
		return 0;
	double mean = sum / (double)n, m2 = 0;
	v2d vmean = { mean, mean }, q0 = { 0 }, q1 = { 0 }, q2 = { 0 }, q3 = { 0 };
	for (i = 0; i < nv; i += 8) {
		v2d a, c, e, g;
		memcpy(&a, x + i, sizeof a);
		memcpy(&c, x + i + 2, sizeof c);
		memcpy(&e, x + i + 4, sizeof e);
		memcpy(&g, x + i + 6, sizeof g);
		a -= vmean;
		c -= vmean;
		e -= vmean;
		g -= vmean;
		q0 += a * a;
		q1 += c * c;
		q2 += e * e;
		q3 += g * g;
	}
	for (int j = 0; j < 2; j++) {
		m2 += q0[j];
		m2 += q1[j];
		m2 += q2[j];
		m2 += q3[j];
	}
	for (; i < n; i++)
		m2 += (x[i] - mean) * (x[i] - mean);
	b->count = b->finite = n;
	b->min = mn;
	b->max = mx;
	b->sum = sum;
	b->mean = mean;
	b->m2 = m2;
	return 1;
}

/* The masked kernels, for blocks with a NaN or Inf. x holds n values and room for 7 more,
 * which are set to NaN (and taken off the NaN count). Written for both types at once. */
#define MASKED(name, T, VT, VI, W, ABS, BIG) \
static void name(struct cvt_stats *b, T *x, size_t n) \
{ \
	const VI abs_mask = { ABS, ABS, ABS, ABS }; \
	const VT big = { BIG, BIG, BIG, BIG }, pinf = { INFINITY, INFINITY, INFINITY, INFINITY }; \
	size_t nv = (n + 7) & ~(size_t)7; \
	for (size_t i = n; i < nv; i++) \
		x[i] = NAN; \
	VT mn = pinf, mx = -pinf; \
	v4d s0 = { 0 }, s1 = { 0 }; \
	VI bad = { 0 }, nan = { 0 }; \
	for (size_t i = 0; i < nv; i += 4) { \
		VT v; \
		memcpy(&v, x + i, sizeof v); \
		VI bits = (VI)v; \
		VI fin = (VT)(bits & abs_mask) <= big; \
		VT lo = (VT)SEL(fin, bits, (VI)pinf), hi = (VT)SEL(fin, bits, (VI)-pinf); \
		mn = (VT)SEL(lo < mn, (VI)lo, (VI)mn); \
		mx = (VT)SEL(hi > mx, (VI)hi, (VI)mx); \
		if (i & 4) \
			s1 += W((VT)(bits & fin)); \
		else \
			s0 += W((VT)(bits & fin)); \
		bad -= ~fin; \
		nan -= v != v; \
	} \
	uint64_t nbad = 0; \
	for (int j = 0; j < 4; j++) { \
		b->min = dmin(mn[j], b->min); \
		b->max = dmax(mx[j], b->max); \
		b->sum += s0[j]; \
		b->sum += s1[j]; \
		nbad += (uint64_t)bad[j]; \
		b->nan += (uint64_t)nan[j]; \
	} \
	b->nan -= nv - n; \
	nbad -= nv - n; \
	b->count = n; \
	b->inf = nbad - b->nan; \
	b->finite = n - nbad; \
	if (b->finite == 0) \
		return; \
	b->mean = b->sum / (double)b->finite; \
	v4d mean = { b->mean, b->mean, b->mean, b->mean }, q = { 0 }; \
	for (size_t i = 0; i < nv; i += 4) { \
		VT v; \
		memcpy(&v, x + i, sizeof v); \
		v4l fin = __builtin_convertvector((VT)((VI)v & abs_mask) <= big, v4l); \
		v4d d = (v4d)((v4l)(W(v) - mean) & fin); \
		q += d * d; \
	} \
	for (int j = 0; j < 4; j++) \
		b->m2 += q[j]; \
}

#define WIDEN_F32(v) __builtin_convertvector(v, v4d)
#define WIDEN_F64(v) (v)
MASKED(masked_f32, float, v4f, v4i, WIDEN_F32, 0x7fffffff, FLT_MAX)
MASKED(masked_f64, double, v4d, v4l, WIDEN_F64, 0x7fffffffffffffffLL, DBL_MAX)

static void stats_block_f32(struct cvt_stats *st, float *x, size_t n)
{
	struct cvt_stats b;
	cvt_stats_init(&b);
	if (!fast_f32(&b, x, n))
		masked_f32(&b, x, n);
	cvt_stats_merge(st, &b);
}

static void stats_block_f64(struct cvt_stats *st, double *x, size_t n)
{
	struct cvt_stats b;
	cvt_stats_init(&b);
	if (!fast_f64(&b, x, n))
		masked_f64(&b, x, n);
	cvt_stats_merge(st, &b);
}

int cvt_stats_add(struct cvt_stats *st, int dt, const void *src, size_t n)
{
	static _Thread_local union { float f[SBLK + 8]; double d[SBLK + 8]; } buf;
	const char *p = src;
	size_t esz = dtype_size(dt);
	if (slot(dt) < 0)
		return err_set("cannot take statistics of %s: only F64, F32, F16 and BF16 are floats",
		               dtype_name(dt));
	for (size_t i = 0; i < n; i += SBLK) {
		size_t m = n - i < SBLK ? n - i : SBLK;
		if (dt == DT_F64) {
			memcpy(buf.d, p + i * esz, m * esz);
			stats_block_f64(st, buf.d, m);
		} else {
			cvt_convert(DT_F32, buf.f, dt, p + i * esz, m);
			stats_block_f32(st, buf.f, m);
		}
	}
	return 0;
}

void cvt_stats_finish(const struct cvt_stats *s, struct cvt_summary *out)
{
	out->count = s->count;
	out->finite = s->finite;
	out->nan = s->nan;
	out->inf = s->inf;
	out->sum = s->sum;
	if (s->finite == 0) {
		out->min = out->max = out->mean = out->std = out->absmax = NAN;
		return;
	}
	out->min = s->min;
	out->max = s->max;
	out->mean = s->mean;
	out->std = sqrt(s->m2 / (double)s->finite);
	out->absmax = fmax(fabs(s->min), fabs(s->max));
}
