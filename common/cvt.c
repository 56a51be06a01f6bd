/* cvt.c — see cvt.h.
 *
 * Every chunk conversion is a plain loop over the scalar helpers of cvt.h, written branch-free
 * (masks, no early returns) so that gcc -O2 vectorizes it; F16 ↔ F32 may use F16C instead. */
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
