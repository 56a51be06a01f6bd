/* Unit tests of common/merge: the weights syntax and checks, every method's kernel against a
 * reference computed here in double precision (written from the formulas, not from merge.c),
 * exactness where the arithmetic is exact, and independence from chunking and thread count. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cvt.h"
#include "dtype.h"
#include "err.h"
#include "merge.h"
#include "t.h"

#define MAXN 12

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* bf16 bits → double, and double → bf16 bits rounded to nearest even, from the definitions
 * (8 significant bits, exponent bias 127); normal numbers only. */
static double bf16_val(uint16_t h)
{
	int s = h >> 15, e = (h >> 7) & 0xff, m = h & 0x7f;
	double v = e ? ldexp(128 + m, e - 127 - 7) : ldexp(m, -126 - 7);
	return s ? -v : v;
}

static uint16_t bf16_round(double v)
{
	if (v == 0)
		return signbit(v) ? 0x8000 : 0;
	int e;
	double m = frexp(fabs(v), &e);          /* |v| = m 2^e, m in [0.5, 1) */
	double r = rint(ldexp(m, 8));           /* 8 significant bits, ties to even */
	if (r == 256) {
		r = 128;
		e++;
	}
	/* value r 2^(e-8) = (1 + f/128) 2^(E-127) with r = 128 + f, E = e - 1 + 127 */
	uint16_t bits = (uint16_t)(((e - 1 + 127) << 7) | ((int)r - 128));
	return v < 0 ? bits | 0x8000 : bits;
}

/* A random normal bf16 in ±[2^-6, 2) (or ±0 now and then). */
static uint16_t rand_bf16(void)
{
	uint64_t r = next();
	if (r % 97 == 0)
		return (r >> 8) & 1 ? 0x8000 : 0;
	int e = 121 + (int)((r >> 8) % 7);
	return (uint16_t)(((r >> 16) & 1) << 15 | e << 7 | ((r >> 24) & 0x7f));
}

static void fill_bf16(uint16_t *a, size_t n)
{
	for (size_t j = 0; j < n; j++)
		a[j] = rand_bf16();
}

static merger *mk(int method, size_t n, const double *w, size_t nw, int acc, int threads)
{
	struct merge_params p = { .method = method, .n = n, .w = w, .nw = nw, .normalize = 1,
	                          .density = 0.5, .seed = 7, .acc = acc, .threads = threads };
	return merge_new(&p);
}

/* begin + apply in pieces of `piece` elements. */
static int run(merger *m, const char *name, int dt, size_t n, const void *const *src,
               const void *base, int out_dt, void *out, size_t piece, size_t nin)
{
	size_t isz = dtype_size(dt), osz = dtype_size(out_dt);
	const void *s[MAXN];
	int dts[MAXN + 1];
	for (size_t i = 0; i <= MAXN; i++)
		dts[i] = dt;
	if (merge_begin_tensor(m, name, dts, n, src, base) < 0)
		return -1;
	for (size_t off = 0; off < n; off += piece) {
		size_t cnt = n - off < piece ? n - off : piece;
		for (size_t i = 0; i < nin; i++)
			s[i] = (const char *)src[i] + off * isz;
		if (merge_apply(m, off, cnt, s, base ? (const char *)base + off * isz : NULL, out_dt,
		                (char *)out + off * osz) < 0)
			return -1;
	}
	return 0;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void test_weights_list(void)
{
	double w[4];
	size_t nw = 0;
	CHECK(merge_weights_parse("0.2,0.3, 0.5", 3, NULL, w, &nw) == 0 && nw == 3 && w[0] == 0.2 &&
	      w[1] == 0.3 && w[2] == 0.5, "list: %s", err_get());
	CHECK(merge_weights_parse("0.1", 2, NULL, w, &nw) == 0 && nw == 1, "one weight");
	const char *bad[] = { "", "0.5,", ",0.5", "0.5,,0.5", "a", "0.5x", "nan,1", "1,inf", "1,2,3" };
	const char *why[] = { "not a comma", "not a comma", "not a comma", "not a comma", "not a comma",
	                      "not a comma", "not a finite", "not a finite", "more weights than the 2" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(merge_weights_parse(bad[i], 2, NULL, w, &nw) < 0 && strstr(err_get(), why[i]),
		      "'%s' -> %s", bad[i], err_get());
}

static void test_weights_json(void)
{
	char dir[] = "/tmp/test_merge.XXXXXX", path[64];
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof path, "%s/w.json", dir);
	const char *names[] = { "a", "b", "c" }, *dup[] = { "a", "b", "a" };
	double w[3];
	size_t nw;
	write_file(path, "{\"id\":\"g1\",\"weights\":[0.25,0.5,0.25]}\n");
	char arg[80];
	snprintf(arg, sizeof arg, "@%s", path);
	CHECK(merge_weights_parse(arg, 3, names, w, &nw) == 0 && nw == 3 && w[1] == 0.5, "array");
	write_file(path, "{\"weights\":{\"c\":0.125,\"a\":0.5,\"b\":0.375}}");
	CHECK(merge_weights_parse(arg, 3, names, w, &nw) == 0 && nw == 3 && w[0] == 0.5 &&
	      w[1] == 0.375 && w[2] == 0.125, "object in argument order: %s", err_get());
	CHECK(merge_weights_parse(arg, 3, dup, w, &nw) < 0 && strstr(err_get(), "both named 'a'"),
	      "ambiguous names: %s", err_get());
	const char *bad[] = {
		"{\"weights\":{\"a\":1,\"b\":1}}", "{\"weights\":{\"a\":1,\"b\":1,\"c\":1,\"d\":1}}",
		"{\"weights\":[1,2,3,4]}", "{\"weights\":[1,null,3]}", "{\"weights\":{\"a\":1,\"b\":\"x\",\"c\":1}}",
		"{\"w\":[1,2,3]}", "[1,2,3]", "{\"weights\":3}", "{\"weights\":[1,2",
	};
	const char *why[] = {
		"no weight for checkpoint 'c'", "no checkpoint named 'd'", "4 weights for 3 checkpoints",
		"weight 2 is not a number", "checkpoint 'b' is not a number", "no \"weights\"",
		"no \"weights\"", "neither an array nor an object", "w.json",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		write_file(path, bad[i]);
		CHECK(merge_weights_parse(arg, 3, names, w, &nw) < 0 && strstr(err_get(), why[i]),
		      "%s -> %s", bad[i], err_get());
	}
	CHECK(merge_weights_parse("@/nonexistent/w.json", 3, names, w, &nw) < 0 &&
	      strstr(err_get(), "/nonexistent/w.json"), "missing file: %s", err_get());
	unlink(path);
	rmdir(dir);
}

static void test_params(void)
{
	double w3[] = { 1, 1, 2 }, neg[] = { 1, -0.5 }, zero[] = { 1, -1 }, t[] = { 0.3 }, t2[] = { 1.5 };
	merger *m = mk(MERGE_LINEAR, 3, w3, 3, DT_F32, 1);
	CHECK(m && merge_weights(m)[0] == 0.25 && merge_weights(m)[2] == 0.5, "normalized");
	merge_free(m);
	CHECK(!mk(MERGE_LINEAR, 3, w3, 2, DT_F32, 1) && strstr(err_get(), "2 weights for 3"), "%s", err_get());
	CHECK(!mk(MERGE_LINEAR, 2, neg, 2, DT_F32, 1) && strstr(err_get(), "--allow-negative"), "%s", err_get());
	struct merge_params p = { .method = MERGE_LINEAR, .n = 2, .w = neg, .nw = 2, .normalize = 1,
	                          .allow_negative = 1, .acc = DT_F32, .threads = 1 };
	m = merge_new(&p);
	CHECK(m && merge_weights(m)[1] == -1, "negative allowed: %s", m ? "" : err_get());
	merge_free(m);
	p.w = zero;
	CHECK(!merge_new(&p) && strstr(err_get(), "cannot be normalized"), "%s", err_get());
	p.normalize = 0;
	m = merge_new(&p);
	CHECK(m && merge_weights(m)[1] == -1, "sum 0 without normalizing");
	merge_free(m);
	CHECK(!mk(MERGE_SLERP, 3, w3, 3, DT_F32, 1) && strstr(err_get(), "exactly two"), "%s", err_get());
	CHECK(!mk(MERGE_SLERP, 2, t2, 1, DT_F32, 1) && strstr(err_get(), "not in [0, 1]"), "%s", err_get());
	m = mk(MERGE_SLERP, 2, t, 1, DT_F32, 1);
	CHECK(m && merge_weights(m)[1] == 0.3, "slerp t");
	merge_free(m);
	p = (struct merge_params){ .method = MERGE_TIES, .n = 2, .w = w3, .nw = 2, .normalize = 1,
	                           .density = 0, .acc = DT_F32, .threads = 1 };
	CHECK(!merge_new(&p) && strstr(err_get(), "density"), "density 0: %s", err_get());
	CHECK(merge_method_parse("dare-ties") == MERGE_DARE_TIES && merge_method_parse("x") < 0, "names");
}

/* Weights (1, 0, 0) give input 0 back bit for bit (−0 included); (0.5, 0.5) the midpoint,
 * rounded once to bf16. */
static void test_linear_exact(void)
{
	enum { N = 5000 };
	static uint16_t a[N], b[N], c[N], out[N];
	static float of[N];
	fill_bf16(a, N);
	fill_bf16(b, N);
	fill_bf16(c, N);
	a[0] = 0x8000;
	const void *src[] = { a, b, c };
	double w100[] = { 1, 0, 0 }, half[] = { 3, 3 };
	merger *m = mk(MERGE_LINEAR, 3, w100, 3, DT_F32, 2);
	CHECK(m && run(m, "x", DT_BF16, N, src, NULL, DT_BF16, out, 777, 3) == 0, "%s", err_get());
	CHECK(memcmp(out, a, sizeof a) == 0, "(1,0,0) reproduces input 1");
	merge_free(m);
	m = mk(MERGE_LINEAR, 2, half, 2, DT_F32, 1);
	CHECK(m && run(m, "x", DT_BF16, N, src, NULL, DT_BF16, out, N, 2) == 0, "%s", err_get());
	CHECK(m && run(m, "x", DT_BF16, N, src, NULL, DT_F32, of, N, 2) == 0, "%s", err_get());
	int bad = 0, badf = 0;
	for (size_t j = 0; j < N; j++) {
		double mid = (bf16_val(a[j]) + bf16_val(b[j])) / 2;   /* exact in double */
		uint16_t want = bf16_round(mid);
		if (out[j] != want && !(mid == 0 && (out[j] & 0x7fff) == 0) && bad++ < 3)
			CHECK(0, "element %zu: %04x + %04x -> %04x, want %04x", j, a[j], b[j], out[j], want);
		if (of[j] != mid && badf++ < 3)
			CHECK(0, "element %zu: f32 midpoint %.9g, want %.9g", j, of[j], mid);
	}
	merge_free(m);
	/* f64 accumulator, f64 output: 0.5 a + 0.5 b exactly. */
	static double od[N];
	m = mk(MERGE_LINEAR, 2, half, 2, DT_F64, 1);
	CHECK(m && run(m, "x", DT_BF16, N, src, NULL, DT_F64, od, 1000, 2) == 0, "%s", err_get());
	for (size_t j = 0; j < N; j++)
		if (od[j] != (bf16_val(a[j]) + bf16_val(b[j])) / 2 && bad++ < 3)
			CHECK(0, "f64 element %zu", j);
	merge_free(m);
}

/* Linear with general weights, every input dtype: within the rounding of f32 accumulation. */
static void test_linear_general(void)
{
	enum { N = 3000, K = 4 };
	int dts[] = { DT_BF16, DT_F16, DT_F32, DT_F64 };
	double w[K] = { 0.1, 0.7, 0.05, 0.15 };
	static double ref[N], xin[K][N];
	static unsigned char raw[K][N * 8];
	static float out[N];
	for (size_t d = 0; d < 4; d++) {
		int dt = dts[d];
		const void *src[K];
		for (size_t i = 0; i < K; i++) {
			for (size_t j = 0; j < N; j++)
				xin[i][j] = bf16_val(rand_bf16()) * (i + 1);
			cvt_from_f64(dt, raw[i], xin[i], N);
			cvt_to_f64(xin[i], dt, raw[i], N);     /* the values as stored */
			src[i] = raw[i];
		}
		for (size_t j = 0; j < N; j++) {
			ref[j] = 0;
			for (size_t i = 0; i < K; i++)
				ref[j] += w[i] * xin[i][j];
		}
		merger *m = mk(MERGE_LINEAR, K, w, K, DT_F32, 1);
		CHECK(m && run(m, "x", dt, N, src, NULL, DT_F32, out, 1024, K) == 0, "%s", err_get());
		int bad = 0;
		for (size_t j = 0; j < N; j++) {
			double mag = 0;
			for (size_t i = 0; i < K; i++)
				mag += fabs(w[i] * xin[i][j]);
			if (fabs(out[j] - ref[j]) > 10 * 0x1p-24 * mag && bad++ < 3)
				CHECK(0, "%s element %zu: %.9g, want %.9g", dtype_name(dt), j, out[j], ref[j]);
		}
		merge_free(m);
	}
}

/* base + Σ wᵢ (θᵢ − base), with dyadic weights so every step is exact in f64. */
/* The linear merge of N = 1..11 inputs of one dtype (BF16 or F32), some weighted 0, bit for bit
 * against the arithmetic the manual states: each element times its (normalized) weight in f32,
 * added in argument order starting from the first term, rounded once. Full blocks take the
 * kernel's fused path (four inputs a pass), the tail of each piece the plain one. */
static void test_linear_blocks(void)
{
	enum { N = 3 * 1024 + 77, K = 11 };
	static unsigned char raw[K][N * 4];
	static float xin[K][N], of[N];
	static uint16_t ob[N];
	const int dts[] = { DT_BF16, DT_F32 };
	for (size_t d = 0; d < 2; d++) {
		int dt = dts[d];
		for (size_t i = 0; i < K; i++)
			for (size_t j = 0; j < N; j++) {
				uint16_t h = rand_bf16();
				float v = (float)bf16_val(h);
				if (dt == DT_F32) {   /* all 24 bits of the significand */
					v *= 1 + (float)ldexp((double)(next() >> 41), -24);
					memcpy(raw[i] + 4 * j, &v, 4);
				} else {
					memcpy(raw[i] + 2 * j, &h, 2);
				}
				xin[i][j] = v;
			}
		for (size_t n = 1; n <= K; n++) {
			double w[K], sum = 0;
			float wf[K];
			const void *src[K];
			for (size_t i = 0; i < n; i++) {
				w[i] = i % 5 == 3 ? 0 : 0.05 + (double)(next() % 1000) / 1000;
				src[i] = raw[i];
				sum += w[i];
			}
			for (size_t i = 0; i < n; i++)
				wf[i] = (float)(w[i] / sum);
			for (int j1 = 0; j1 < 2; j1++) {
				merger *m = mk(MERGE_LINEAR, n, w, n, DT_F32, j1 ? 3 : 1);
				size_t piece = j1 ? 1500 : N;
				CHECK(m && run(m, "x", dt, N, src, NULL, DT_F32, of, piece, n) == 0 &&
				      run(m, "x", dt, N, src, NULL, DT_BF16, ob, piece, n) == 0, "%s", err_get());
				int bad = 0;
				for (size_t j = 0; j < N; j++) {
					float acc = 0;
					for (size_t i = 0, first = 1; i < n; i++) {
						if (w[i] == 0)
							continue;
						float t = wf[i] * xin[i][j];
						acc = first ? t : acc + t;
						first = 0;
					}
					uint16_t want = bf16_round(acc);
					if ((memcmp(&of[j], &acc, 4) != 0 || (ob[j] != want && !(acc == 0 && (ob[j] & 0x7fff) == 0))) &&
					    bad++ < 3)
						CHECK(0, "%s, %zu inputs, -j %d, element %zu: %.9g (bf16 %04x), want %.9g (%04x)",
						      dtype_name(dt), n, j1 ? 3 : 1, j, of[j], ob[j], acc, want);
				}
				merge_free(m);
			}
		}
	}
}

static void test_task_arithmetic(void)
{
	enum { N = 2500, K = 3 };
	static uint16_t x[K][N], base[N];
	static double out[N];
	double w[K] = { 0.25, 0.5, 0.25 }, w2[K] = { 1, 2, -1 };
	fill_bf16(base, N);
	const void *src[K] = { x[0], x[1], x[2] };
	for (size_t i = 0; i < K; i++)
		fill_bf16(x[i], N);
	merger *m = mk(MERGE_TASK_ARITHMETIC, K, w, K, DT_F64, 2);
	CHECK(m && run(m, "t", DT_BF16, N, src, base, DT_F64, out, 999, K) == 0, "%s", err_get());
	int bad = 0;
	for (size_t j = 0; j < N; j++) {
		double b = bf16_val(base[j]), want = b;
		for (size_t i = 0; i < K; i++)
			want += w[i] * (bf16_val(x[i][j]) - b);
		if (fabs(out[j] - want) > 1e-15 && bad++ < 3)
			CHECK(0, "element %zu: %.17g, want %.17g", j, out[j], want);
	}
	merge_free(m);
	/* --no-normalize, negative weights: base + δ0 + 2 δ1 − δ2. */
	struct merge_params p = { .method = MERGE_TASK_ARITHMETIC, .n = K, .w = w2, .nw = K,
	                          .allow_negative = 1, .acc = DT_F64, .threads = 1 };
	m = merge_new(&p);
	CHECK(m && run(m, "t", DT_BF16, N, src, base, DT_F64, out, N, K) == 0, "%s", err_get());
	for (size_t j = 0; j < N; j++) {
		double b = bf16_val(base[j]), want = b;
		for (size_t i = 0; i < K; i++)
			want += w2[i] * (bf16_val(x[i][j]) - b);
		if (fabs(out[j] - want) > 1e-15 && bad++ < 3)
			CHECK(0, "no-normalize element %zu: %.17g, want %.17g", j, out[j], want);
	}
	merge_free(m);
}

/* Reference TIES/DARE-TIES on doubles: d[i][j] are the (trimmed or dropped) task vectors. */
static double ref_elect(size_t k, const double *w, double d[][4096], size_t j, double b, int normalize)
{
	double sum = 0, mixed = 0, div = 0;
	for (size_t i = 0; i < k; i++)
		sum += w[i] * d[i][j];
	for (size_t i = 0; i < k; i++) {
		double v = w[i] * d[i][j];
		if ((sum >= 0 && v > 0) || (sum < 0 && v < 0)) {
			mixed += v;
			div += w[i];
		}
	}
	if (normalize)
		mixed /= div == 0 ? 1 : div;
	return b + mixed;
}

/* Index order among equal magnitudes, for the reference's sort. */
static const double *sort_mag;
static int by_mag(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	double ma = fabs(sort_mag[a]), mb = fabs(sort_mag[b]);
	if (ma != mb)
		return ma > mb ? -1 : 1;
	return a < b ? -1 : a > b;
}

static void test_ties(void)
{
	enum { N = 4096, K = 3 };
	static uint16_t x[K][N], base[N];
	static double d[K][4096], out[N];
	static size_t idx[N];
	double w[K] = { 0.5, 0.25, 0.25 }, dens[] = { 0.3, 0.5, 0.01, 1 };
	const void *src[K] = { x[0], x[1], x[2] };
	/* Values from a small set, so many magnitudes tie and the trim must break ties by index. */
	for (size_t j = 0; j < N; j++) {
		base[j] = bf16_round((double)(next() % 5) / 8);
		for (size_t i = 0; i < K; i++)
			x[i][j] = bf16_round((double)(next() % 9) / 8);
	}
	for (size_t q = 0; q < sizeof dens / sizeof *dens; q++) {
		size_t keep = (size_t)(dens[q] * N);
		for (size_t i = 0; i < K; i++) {
			for (size_t j = 0; j < N; j++) {
				d[i][j] = bf16_val(x[i][j]) - bf16_val(base[j]);
				idx[j] = j;
			}
			sort_mag = d[i];
			qsort(idx, N, sizeof *idx, by_mag);
			for (size_t r = keep; r < N && dens[q] < 1; r++)
				d[i][idx[r]] = 0;
		}
		struct merge_params p = { .method = MERGE_TIES, .n = K, .w = w, .nw = K, .normalize = 1,
		                          .density = dens[q], .acc = DT_F64, .threads = 1 };
		for (int v = 0; v < 4; v++) {
			int norm = v & 1, f32 = v >> 1;     /* both accumulators: their keys differ */
			p.normalize = norm;
			p.threads = 1 + norm;
			p.acc = f32 ? DT_F32 : DT_F64;
			merger *m = merge_new(&p);
			CHECK(m && run(m, "t", DT_BF16, N, src, base, DT_F64, out, 1000, K) == 0, "%s", err_get());
			int bad = 0;
			for (size_t j = 0; j < N; j++) {
				double want = ref_elect(K, w, d, j, bf16_val(base[j]), norm);
				if (fabs(out[j] - want) > (f32 ? 1e-6 : 1e-15) && bad++ < 3)
					CHECK(0, "density %g normalize %d acc %s element %zu: %.17g, want %.17g",
					      dens[q], norm, f32 ? "f32" : "f64", j, out[j], want);
			}
			merge_free(m);
		}
	}
	/* f32 accumulator on random values: same result within f32 rounding, and bytes
	 * independent of threads and piece size. */
	for (size_t j = 0; j < N; j++) {
		base[j] = rand_bf16();
		for (size_t i = 0; i < K; i++)
			x[i][j] = rand_bf16();
	}
	struct merge_params p = { .method = MERGE_TIES, .n = K, .w = w, .nw = K, .normalize = 1,
	                          .density = 0.4, .acc = DT_F32, .threads = 1 };
	static float of[N], of2[N];
	merger *m = merge_new(&p);
	CHECK(m && run(m, "t", DT_BF16, N, src, base, DT_F32, of, N, K) == 0, "%s", err_get());
	merge_free(m);
	p.threads = 3;
	m = merge_new(&p);
	CHECK(m && run(m, "t", DT_BF16, N, src, base, DT_F32, of2, 333, K) == 0, "%s", err_get());
	CHECK(memcmp(of, of2, sizeof of) == 0, "threads and pieces change nothing");
	merge_free(m);
}

static void test_dare(void)
{
	enum { N = 4096, K = 3 };
	static uint16_t x[K][N], base[N];
	static double d[K][4096], out[N], out2[N];
	double w[K] = { 0.5, 0.25, 0.25 }, dens = 0.3;
	const void *src[K] = { x[0], x[1], x[2] };
	fill_bf16(base, N);
	for (size_t i = 0; i < K; i++)
		fill_bf16(x[i], N);
	/* The mask: its rate, and that it depends on seed, input and tensor name. */
	size_t kept = 0, same_seed = 0, same_input = 0, same_name = 0, M = 200000;
	for (size_t j = 0; j < M; j++) {
		int k = merge_dare_keep(7, 0, "t", j, dens);
		kept += k;
		same_seed += k == merge_dare_keep(8, 0, "t", j, dens);
		same_input += k == merge_dare_keep(7, 1, "t", j, dens);
		same_name += k == merge_dare_keep(7, 0, "u", j, dens);
	}
	CHECK(fabs((double)kept / M - dens) < 0.005, "keep rate %g", (double)kept / M);
	/* Independent masks agree with probability d² + (1−d)² = 0.58. */
	CHECK(fabs((double)same_seed / M - 0.58) < 0.01 && fabs((double)same_input / M - 0.58) < 0.01 &&
	      fabs((double)same_name / M - 0.58) < 0.01, "masks independent: %zu %zu %zu", same_seed,
	      same_input, same_name);
	CHECK(merge_dare_keep(7, 0, "t", 5, 1.0) == 1, "density 1 keeps everything");
	dens = 0.5;                 /* mk()'s */
	for (int method = MERGE_DARE_LINEAR; method <= MERGE_DARE_TIES; method++) {
		for (size_t i = 0; i < K; i++)
			for (size_t j = 0; j < N; j++)
				d[i][j] = merge_dare_keep(7, i, "t", j, dens) ?
				          (bf16_val(x[i][j]) - bf16_val(base[j])) / dens : 0;
		merger *m = mk(method, K, w, K, DT_F64, 1);
		CHECK(m && run(m, "t", DT_BF16, N, src, base, DT_F64, out, N, K) == 0, "%s", err_get());
		merge_free(m);
		m = mk(method, K, w, K, DT_F64, 3);
		CHECK(m && run(m, "t", DT_BF16, N, src, base, DT_F64, out2, 501, K) == 0, "%s", err_get());
		merge_free(m);
		CHECK(memcmp(out, out2, sizeof out) == 0, "%s: chunks and threads change nothing",
		      merge_method_name(method));
		int bad = 0;
		for (size_t j = 0; j < N; j++) {
			double b = bf16_val(base[j]), want = b;
			if (method == MERGE_DARE_TIES)
				want = ref_elect(K, w, d, j, b, 1);
			else
				for (size_t i = 0; i < K; i++)
					want += w[i] * d[i][j];
			if (fabs(out[j] - want) > 1e-14 * (1 + fabs(want)) && bad++ < 3)
				CHECK(0, "%s element %zu: %.17g, want %.17g", merge_method_name(method), j,
				      out[j], want);
		}
	}
}

/* mergekit's slerp, from its definition: directions, angle, fallback to lerp. */
static void ref_slerp(double t, const double *a, const double *b, size_t n, double *out)
{
	double na = 0, nb = 0, dot = 0;
	for (size_t j = 0; j < n; j++) {
		na += a[j] * a[j];
		nb += b[j] * b[j];
	}
	na = sqrt(na);
	nb = sqrt(nb);
	for (size_t j = 0; j < n; j++)
		dot += (na > 1e-8 ? a[j] / na : a[j]) * (nb > 1e-8 ? b[j] / nb : b[j]);
	if (fabs(dot) > 0.9995) {
		for (size_t j = 0; j < n; j++)
			out[j] = (1 - t) * a[j] + t * b[j];
		return;
	}
	double th = acos(dot);
	for (size_t j = 0; j < n; j++)
		out[j] = sin((1 - t) * th) / sin(th) * a[j] + sin(t * th) / sin(th) * b[j];
}

static void test_slerp(void)
{
	enum { N = 70000 };          /* more than one block of partial sums */
	static double a[N], b[N], out[N], want[N];
	for (size_t j = 0; j < N; j++) {
		a[j] = bf16_val(rand_bf16());
		b[j] = bf16_val(rand_bf16());
	}
	const void *src[] = { a, b };
	double ts[] = { 0.3, 0, 1, 0.75 };
	for (size_t q = 0; q < 4; q++) {
		merger *m = mk(MERGE_SLERP, 2, &ts[q], 1, DT_F64, 1 + q % 2);
		CHECK(m && run(m, "s", DT_F64, N, src, NULL, DT_F64, out, 12345, 2) == 0, "%s", err_get());
		merge_free(m);
		ref_slerp(ts[q], a, b, N, want);
		int bad = 0;
		for (size_t j = 0; j < N; j++)
			if (fabs(out[j] - want[j]) > 1e-12 && bad++ < 3)
				CHECK(0, "t %g element %zu: %.17g, want %.17g", ts[q], j, out[j], want[j]);
		if (ts[q] == 0)
			CHECK(memcmp(out, a, sizeof a) == 0, "t = 0 gives the first input");
	}
	/* Orthogonal unit vectors: the result is a unit vector at angle t·90°. */
	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	a[0] = 1;
	b[1] = 1;
	double t = 0.25;
	merger *m = mk(MERGE_SLERP, 2, &t, 1, DT_F64, 1);
	CHECK(m && run(m, "s", DT_F64, N, src, NULL, DT_F64, out, N, 2) == 0, "%s", err_get());
	CHECK(fabs(out[0] - cos(M_PI / 8)) < 1e-12 && fabs(out[1] - sin(M_PI / 8)) < 1e-12,
	      "orthogonal: %.17g %.17g", out[0], out[1]);
	/* Nearly colinear: lerp. */
	for (size_t j = 0; j < N; j++) {
		a[j] = bf16_val(rand_bf16());
		b[j] = a[j] * 2 + (j == 3 ? 1e-3 : 0);
	}
	CHECK(run(m, "s", DT_F64, N, src, NULL, DT_F64, out, N, 2) == 0, "%s", err_get());
	int bad = 0;
	for (size_t j = 0; j < N; j++)
		if (out[j] != 0.75 * a[j] + 0.25 * b[j] && bad++ < 3)
			CHECK(0, "lerp element %zu: %.17g, want %.17g", j, out[j], 0.75 * a[j] + 0.25 * b[j]);
	merge_free(m);
}

/* Every method: -j 1 and -j 3, whole and in odd pieces, give the same bytes (f32 accumulator,
 * bf16 output, the tool's default path). */
static void test_threads(void)
{
	enum { N = 10007, K = 4 };
	static uint16_t x[K][N], base[N], o1[N], o2[N];
	double w[K] = { 0.1, 0.2, 0.3, 0.4 };
	const void *src[K] = { x[0], x[1], x[2], x[3] };
	fill_bf16(base, N);
	for (size_t i = 0; i < K; i++)
		fill_bf16(x[i], N);
	for (int method = 0; method < MERGE_NMETHODS; method++) {
		size_t k = method == MERGE_SLERP ? 2 : K;
		double *ww = method == MERGE_SLERP ? (double[]){ 0.4 } : w;
		size_t nw = method == MERGE_SLERP ? 1 : K;
		const void *bp = merge_method_uses_base(method) ? base : NULL;
		merger *m1 = mk(method, k, ww, nw, DT_F32, 1), *m3 = mk(method, k, ww, nw, DT_F32, 3);
		CHECK(m1 && m3 && run(m1, "w", DT_BF16, N, src, bp, DT_BF16, o1, N, k) == 0 &&
		      run(m3, "w", DT_BF16, N, src, bp, DT_BF16, o2, 4099, k) == 0, "%s", err_get());
		CHECK(memcmp(o1, o2, sizeof o1) == 0, "%s: -j 1 and -j 3 differ", merge_method_name(method));
		merge_free(m1);
		merge_free(m3);
	}
}

static void test_provenance(void)
{
	double w[] = { 0.1, 0.2 };
	const char *names[] = { "run-a", "run-b" };
	struct merge_params p = { .method = MERGE_DARE_TIES, .n = 2, .w = w, .nw = 2, .normalize = 1,
	                          .density = 0.25, .seed = 18446744073709551615ull, .acc = DT_F64,
	                          .threads = 1 };
	merger *m = merge_new(&p);
	char *s = m ? merge_provenance(m, names, "base") : NULL;
	CHECK(s && strcmp(s, "{\"method\":\"dare-ties\",\"inputs\":[\"run-a\",\"run-b\"],\"weights\":[0.1,0.2],\"normalize\":true,\"base\":\"base\",\"density\":0.25,\"seed\":18446744073709551615,\"acc\":\"f64\"}") == 0,
	      "got %s", s ? s : err_get());
	free(s);
	merge_free(m);
}

int main(void)
{
	T_RUN(test_weights_list);
	T_RUN(test_weights_json);
	T_RUN(test_params);
	T_RUN(test_linear_exact);
	T_RUN(test_linear_general);
	T_RUN(test_linear_blocks);
	T_RUN(test_task_arithmetic);
	T_RUN(test_ties);
	T_RUN(test_dare);
	T_RUN(test_slerp);
	T_RUN(test_threads);
	T_RUN(test_provenance);
	return t_done();
}
