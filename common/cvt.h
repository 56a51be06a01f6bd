/* cvt.h — conversion between the float element types F64, F32, F16 and BF16, one element or a
 * chunk of a tensor at a time (the statistics behind `ckpt-cat --stats` are in stats.h).
 *
 * Rounding, for every narrowing conversion: to nearest, ties to even, exactly once (F64 → F16
 * and F64 → BF16 round directly from the double, never through F32). Subnormals are kept and
 * produced exactly; a finite value that rounds beyond the largest finite value becomes ±Inf;
 * ±Inf stays ±Inf. A NaN stays a NaN of the same sign: the result is always a quiet NaN (quiet
 * bit set) carrying the leading payload bits that fit, so truncating a payload can never turn a
 * NaN into Inf. Widening conversions are exact (payload of a NaN aside: it is quieted too).
 * The results are the same bits on every machine and with or without F16C, given the default
 * floating-point environment (round to nearest, no flush-to-zero) that C programs start with.
 * Everything here is thread-safe except cvt_use_f16c(). */
#ifndef RECYCLE_CVT_H
#define RECYCLE_CVT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dtype.h"

/* n elements of src_dt at src to dst_dt at dst, for any two of DT_F64, DT_F32, DT_F16, DT_BF16
 * (identical types copy). Element arrays in host byte order (little-endian, as safetensors),
 * at any address (no alignment needed: tensors mapped from a file may sit anywhere).
 * dst and src must not overlap. 0, or -1 with err_set() for any other type. Feed a big tensor
 * in chunks of a few hundred KB to a few MB; each call costs only a dispatch. */
int cvt_convert(int dst_dt, void *dst, int src_dt, const void *src, size_t n);
/* The same with an F32 or F64 side, for code that computes in float or double. */
int cvt_to_f32(float *dst, int src_dt, const void *src, size_t n);
int cvt_from_f32(int dst_dt, void *dst, const float *src, size_t n);
int cvt_to_f64(double *dst, int src_dt, const void *src, size_t n);
int cvt_from_f64(int dst_dt, void *dst, const double *src, size_t n);

/* F16 ↔ F32 chunks use the CPU's F16C instructions when it has them (same results, faster).
 * cvt_use_f16c(0) forces the portable loops, cvt_use_f16c(1) asks for F16C again; returns
 * whether F16C is in use afterwards. For tests and benchmarks; not thread-safe. */
int cvt_use_f16c(int on);

/* Single elements. bf16 and f16 values are their 16-bit patterns. The bodies choose between
 * cases with all-ones/all-zeros masks rather than branches or ?: so that gcc -O2 if-converts
 * and vectorizes the loops that call them (it will not speculate float operations across a
 * branch). */
static inline float cvt_f32_from_bits(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }
static inline uint32_t cvt_f32_bits(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }
static inline uint32_t cvt_mask(int cond) { return -(uint32_t)cond; }

static inline float bf16_to_f32(uint16_t h)
{
	uint32_t quiet = cvt_mask((h & 0x7fff) > 0x7f80) & 0x00400000;
	return cvt_f32_from_bits((uint32_t)h << 16 | quiet);
}

static inline uint16_t f32_to_bf16(float f)
{
	uint32_t u = cvt_f32_bits(f);
	/* Adding 0x7fff plus the lowest kept bit rounds to nearest even; a carry out of the
	 * mantissa bumps the exponent, which is right (up to Inf at the top). */
	uint32_t r = (u + 0x7fff + ((u >> 16) & 1)) >> 16;
	uint32_t nan = (u >> 16) | 0x0040;
	uint32_t is_nan = cvt_mask((u & 0x7fffffff) > 0x7f800000);
	return (uint16_t)((nan & is_nan) | (r & ~is_nan));
}

static inline float f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t a = h & 0x7fff;
	/* Normal: rebias the exponent by 127 - 15. Inf/NaN: exponent all ones. Zero and
	 * subnormals: a × 2^-24, exact in float. */
	uint32_t normal = (a << 13) + 0x38000000;
	uint32_t special = (a << 13) | 0x7f800000 | (cvt_mask(a > 0x7c00) & 0x00400000);
	uint32_t sub = cvt_f32_bits((float)(int32_t)a * 0x1p-24f);
	uint32_t is_special = cvt_mask(a >= 0x7c00), is_sub = cvt_mask(a < 0x0400);
	uint32_t u = (special & is_special) | (sub & is_sub) | (normal & ~(is_special | is_sub));
	return cvt_f32_from_bits(u | sign);
}

static inline uint16_t f32_to_f16(float f)
{
	uint32_t u = cvt_f32_bits(f);
	uint32_t a = u & 0x7fffffff;
	uint32_t sign = (u >> 16) & 0x8000;
	/* Normal results: rebias the exponent and round at bit 13 as in f32_to_bf16. Subnormal
	 * results: adding 0.5f lets the FPU round |f| to a multiple of 2^-24 (the ulp of 0.5f),
	 * which lands in the low bits. 0x477ff000 = 65520, the first magnitude that rounds to
	 * Inf; 0x38800000 = 2^-14, the smallest normal. */
	uint32_t normal = (a - 0x38000000 + 0x0fff + ((a >> 13) & 1)) >> 13;
	uint32_t sub = cvt_f32_bits(cvt_f32_from_bits(a) + 0.5f) - 0x3f000000;
	uint32_t nan = 0x7e00 | ((a >> 13) & 0x03ff);
	uint32_t is_nan = cvt_mask(a > 0x7f800000);
	uint32_t is_inf = cvt_mask(a >= 0x477ff000) & ~is_nan;
	uint32_t is_normal = cvt_mask(a >= 0x38800000) & ~(is_nan | is_inf);
	uint32_t r = (nan & is_nan) | (0x7c00 & is_inf) | (normal & is_normal) |
	             (sub & ~(is_nan | is_inf | is_normal));
	return (uint16_t)(r | sign);
}

/* Directly from double, rounded once. */
uint16_t f64_to_bf16(double d);
uint16_t f64_to_f16(double d);

#endif
