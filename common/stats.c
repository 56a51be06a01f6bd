/* stats.c — see stats.h.
 *
 * The kernels are written with gcc vector extensions (see below). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "cvt.h"
#include "err.h"
#include "stats.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

void stats_init(struct stats *s)
{
	memset(s, 0, sizeof *s);
	s->min = INFINITY;
	s->max = -INFINITY;
}

void stats_merge(struct stats *into, const struct stats *from)
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
static int fast_f32(struct stats *b, const float *x, size_t n)
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

static int fast_f64(struct stats *b, const double *x, size_t n)
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
static void name(struct stats *b, T *x, size_t n) \
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

static void stats_block_f32(struct stats *st, float *x, size_t n)
{
	struct stats b;
	stats_init(&b);
	if (!fast_f32(&b, x, n))
		masked_f32(&b, x, n);
	stats_merge(st, &b);
}

static void stats_block_f64(struct stats *st, double *x, size_t n)
{
	struct stats b;
	stats_init(&b);
	if (!fast_f64(&b, x, n))
		masked_f64(&b, x, n);
	stats_merge(st, &b);
}

int stats_add(struct stats *st, int dt, const void *src, size_t n)
{
	static _Thread_local union { float f[SBLK + 8]; double d[SBLK + 8]; } buf;
	const char *p = src;
	size_t esz = dtype_size(dt);
	if (!dtype_is_float(dt))
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

void stats_finish(const struct stats *s, struct stats_summary *out)
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
