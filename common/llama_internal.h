/* llama_internal.h — what llama_core.c shares with its tests only: the element-wise function of
 * the forward pass that is written for gcc's vectorizer. */
#ifndef RECYCLE_LLAMA_INTERNAL_H
#define RECYCLE_LLAMA_INTERNAL_H

#include <stdint.h>

/* σ(x) = 1/(1 + e^−x), for silu(x) = x·σ(x), written so that gcc -O2 vectorizes a loop of calls
 * with a fixed trip count: no calls, bit masks instead of branches. With t = e^−|x|, σ = 1/(1+t)
 * for x ≥ 0 and t/(1+t) below; t by range reduction −|x| = n·ln2 + r (|r| ≤ ln2/2, ln2 in two
 * parts), Cephes expf's polynomial for e^r and 2^n put in the exponent bits. Within a few ulp of
 * 1/(1 + expf(−x)). For |x| > 87 (±inf too) t is 0: 1 + t is then 1, and t/(1+t) would be under
 * 1e-37. A NaN stays NaN. The same operations vectorized or not, so the same bits (given no
 * fused multiply-add: the callers are not built with FMA). */
static inline __attribute__((always_inline)) float llama_sigmoid(float x)
{
	union { float f; uint32_t u; } xb = { x }, c, z, e, t, num;
	uint32_t ab = xb.u & 0x7fffffffu;
	uint32_t big = 0u - ((ab > 0x42ae0000u) & (ab <= 0x7f800000u));   /* 87 < |x| ≤ inf */
	c.u = (big & 0xc2ae0000u) | (~big & (ab | 0x80000000u));         /* max(−|x|, −87) */
	z.f = c.f * 1.44269504f + 12582912.0f;   /* + 1.5·2^23: round(c·log2 e) in the low bits */
	float n = z.f - 12582912.0f;
	float r = c.f - n * 0.693359375f;
	r = r + n * 2.12194440e-4f;
	float p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * (r * r) + r + 1.0f;
	e.u = (z.u - 0x4b400000u + 127u) << 23;   /* 2^n */
	t.f = p * e.f;
	t.u &= ~big;
	uint32_t neg = 0u - (xb.u >> 31);
	num.u = (neg & t.u) | (~neg & 0x3f800000u);   /* t below 0 (and at −0), else 1 */
	return num.f / (1.0f + t.f);
}

#endif
