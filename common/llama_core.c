/* llama_core.c — the arithmetic of llama.h: forward pass over packed batches (with or without a
 * KV cache), backward pass of the mean cross-entropy, and the model's lifetime (it owns the
 * workspace these need). Threads come from one common/pool.h pool, set by llama_set_threads.
 *
 * The math is written once over the type `real`. The library compiles it as float. The
 * gradient-check test #includes this file with LLAMA_CORE_DOUBLE defined, which turns `real`
 * into double (and sgemm into dgemm) and leaves out the public float entry points, so finite
 * differences run through exactly this code.
 *
 * Activation layout: a batch is N = Σlens tokens packed row after row; every activation is an
 * (N, width) row-major matrix, so each projection is one gemm over all sequences. Attention is
 * done per (sequence, head), also through gemm. For training every layer's activations are kept
 * ([layer][N][width]); for inference one layer's worth is reused.
 *
 * Threads: every step is cut into items (gemm tiles, blocks of rows, (sequence, head) pairs)
 * whose boundaries depend on the shapes only, never on the thread count, and each value is
 * computed within one item by the same calls. So results are the same bits with any number of
 * threads. OpenBLAS itself is kept single-threaded. */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>

#include "cvt.h"
#include "dtype.h"
#include "err.h"
#include "llama.h"
#include "llama_internal.h"
#include "pool.h"

#ifdef LLAMA_CORE_DOUBLE
typedef double real;
#define GEMM cblas_dgemm
#define GEMV cblas_dgemv
#define EXP exp
#define COS cos
#define SIN sin
#define SQRT sqrt
#else
typedef float real;
#define GEMM cblas_sgemm
#define GEMV cblas_sgemv
#define EXP expf
#define COS cosf
#define SIN sinf
#define SQRT sqrtf
#endif
/* Generic functions a given build may not use (the double build skips the cache). */
#define CORE static __attribute__((unused))

#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* --- threads: parallel_for over items on common/pool.h's pool; the caller is thread 0 --- */

#define MAX_THREADS 64
typedef void item_fn(void *ctx, int item, int tid);

static pool *workers;   /* llama_set_threads's; NULL: everything on the calling thread */

struct items {
	item_fn *fn;
	void *ctx;
};

static void item_run(void *ctx, size_t item, int tid)
{
	const struct items *it = ctx;
	it->fn(it->ctx, (int)item, tid);
}

/* fn(ctx, item, tid) for every item; a call that finds the pool busy (another thread's, or one
 * from inside an item) runs on its own thread. */
static void parallel_for(int items, item_fn *fn, void *ctx)
{
	struct items it = { fn, ctx };
	pool_for(workers, items > 0 ? (size_t)items : 0, item_run, &it);
}

static int nthreads(void) { return pool_threads(workers); }

/* --- the parameters, seen through the config and tensor table --- */

/* P: every parameter in `real` at its table offset (models of llama_new, the gradient check);
 * else wp/wdt: a resident model's tensors, vectors in f32 and matrices in f32, bf16 or f16. */
struct net {
	const struct llama_config *c;
	const struct llama_tensor *t;
	const real *P;
	const void *const *wp;
	const int *wdt;
};

static int widx(const struct llama_config *c, int kind, int layer)
{
	if (kind == LLAMA_HEAD && c->tie_embeddings)
		kind = LLAMA_EMBED;
	return llama_tensor_index(c, kind, layer);
}

static size_t woff(const struct llama_config *c, const struct llama_tensor *t, int kind, int layer)
{
	return t[widx(c, kind, layer)].offset;
}

/* A vector (norm, bias): always `real`. */
static const real *wvec(const struct net *nt, int kind, int layer)
{
	int i = widx(nt->c, kind, layer);
	return nt->P ? nt->P + nt->t[i].offset : (const real *)nt->wp[i];
}
#define W(nt, kind, l) wvec(nt, kind, l)

/* A matrix: `real` values (dt 0), or a resident bf16/f16 one (dt its enum dtype) that the
 * projection converts tile by tile. */
struct mat {
	const void *p;
	int dt;
};

static struct mat wmat(const struct net *nt, int kind, int layer)
{
	int i = widx(nt->c, kind, layer);
	if (nt->P)
		return (struct mat){ nt->P + nt->t[i].offset, 0 };
	return (struct mat){ nt->wp[i], nt->wdt[i] == DT_F32 ? 0 : nt->wdt[i] };
}

/* --- workspace: growable buffers, by role --- */

enum {
	B_X, B_INV1, B_A, B_Q, B_K, B_V, B_ATT, B_Y, B_XM, B_INV2, B_B, B_G, B_U, B_H,
	B_INVF, B_XF, B_LOGITS, B_ROWLOSS, B_COS, B_SIN, B_SCRATCH, B_CVT, B_FREQ,
	B_DX, B_DA, B_DQ, B_DK, B_DV, B_DY, B_DB, B_DG, B_DU, B_DXF,
	B_N
};
enum { I_OFF, I_POS, I_AOFF, I_ROWS, I_LENS, I_N };

struct ws {
	real *b[B_N];
	size_t cap[B_N];
	int *ib[I_N];
	size_t icap[I_N];
	/* the current batch */
	int n, N;             /* sequences, tokens */
	const int *lens;
	int *off;             /* n+1: first row of each sequence */
	int *pos;             /* N: position of each token in its sequence */
	int *aoff;            /* n+1: Σ lens² of the sequences before (attention probabilities) */
	size_t scratch;       /* attention scratch per thread */
	size_t cvt;           /* matrix-conversion scratch per thread (B_CVT) */
};

static void ws_free(struct ws *w)
{
	for (int i = 0; i < B_N; i++)
		free(w->b[i]);
	for (int i = 0; i < I_N; i++)
		free(w->ib[i]);
	memset(w, 0, sizeof *w);
}

static real *wbuf(struct ws *w, int which, size_t n)
{
	if (n > w->cap[which]) {
		free(w->b[which]);
		w->b[which] = n > SIZE_MAX / sizeof(real) ? NULL : malloc(n * sizeof(real));
		w->cap[which] = w->b[which] ? n : 0;
		if (!w->b[which]) {
			err_oom();
			return NULL;
		}
	}
	return w->b[which];
}

static int *wibuf(struct ws *w, int which, size_t n)
{
	if (n > w->icap[which]) {
		free(w->ib[which]);
		w->ib[which] = malloc(n * sizeof(int));
		w->icap[which] = w->ib[which] ? n : 0;
		if (!w->ib[which]) {
			err_oom();
			return NULL;
		}
	}
	return w->ib[which];
}

/* --- gemm, cut into tiles of the output --- */

/* C(rows, cols) = alpha·op(A)·op(B) + beta·C. A is (rows × k), or stored transposed (k × rows)
 * when ta; B is (k × cols), or stored transposed (cols × k) when tb. With cvt_dt (non-zero), B is
 * a resident matrix of that dtype stored transposed with ldb = k: each tile converts its rows of
 * B into the calling thread's part of cvt (cvt_stride values a thread) first. */
struct gemm {
	int ta, tb, rows, cols, k;
	real alpha, beta;
	const real *A, *B;
	real *C;
	int lda, ldb, ldc;
	int cvt_dt;
	const void *Bx;
	real *cvt;
	size_t cvt_stride;
};

/* Up to three gemms into the same C, run in order on each tile (the later ones accumulate with
 * beta 1), cut into tiles of tr × tc. */
struct job {
	struct gemm g[3];
	int n, tr, tc, tiles;
};

/* Tile sizes: large enough to keep gemm efficient, small enough to share among threads. Many
 * rows (scoring, training) are cut into bands of TILE_ROWS full-width rows: each band packs the
 * weights once more, which costs little. Few rows (decoding) are cut by TILE_COLS features. */
#define TILE_ROWS 256
#define TILE_COLS 64
/* Converted matrices are cut by CVT_COLS output features (the f32 copy of their weight rows stays
 * in cache) over bands of up to CVT_ROWS rows: a weight row is converted once a band, and a band
 * has many rows, so conversion costs little beside the multiply. */
#define CVT_ROWS 1024
#define CVT_COLS 64

static void gemm_tile(const struct gemm *g, int r0, int nr, int c0, int nc, int tid)
{
	const real *A = g->ta ? g->A + r0 : g->A + (size_t)r0 * g->lda;
	const real *B = g->tb ? g->B + (size_t)c0 * g->ldb : g->B + c0;
#ifndef LLAMA_CORE_DOUBLE
	if (g->cvt_dt) {
		real *buf = g->cvt + (size_t)tid * g->cvt_stride;
		cvt_to_f32(buf, g->cvt_dt, (const char *)g->Bx + (size_t)c0 * g->k * dtype_size(g->cvt_dt),
		           (size_t)nc * g->k);
		B = buf;
	}
#endif
	GEMM(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
	     nr, nc, g->k, g->alpha, A, g->lda, B, g->ldb, g->beta, g->C + (size_t)r0 * g->ldc + c0,
	     g->ldc);
}

struct jobs {
	struct job *j;
	int n;
};

static void job_item(void *ctx, int item, int tid)
{
	struct jobs *js = ctx;
	int k = 0;
	while (item >= js->j[k].tiles)
		item -= js->j[k++].tiles;
	const struct job *jb = &js->j[k];
	int ct = (jb->g[0].cols + jb->tc - 1) / jb->tc;
	int r0 = item / ct * jb->tr, c0 = item % ct * jb->tc;
	int nr = MIN(jb->tr, jb->g[0].rows - r0), nc = MIN(jb->tc, jb->g[0].cols - c0);
	for (int i = 0; i < jb->n; i++)
		gemm_tile(&jb->g[i], r0, nr, c0, nc, tid);
}

static void run_jobs(struct job *j, int n)
{
	int items = 0;
	for (int i = 0; i < n; i++) {
		j[i].tiles = ((j[i].g[0].rows + j[i].tr - 1) / j[i].tr) *
		             ((j[i].g[0].cols + j[i].tc - 1) / j[i].tc);
		items += j[i].tiles;
	}
	struct jobs js = { j, n };
	parallel_for(items, job_item, &js);
}

/* y(N, out) = beta·y + x(N, in)·w(out, in)ᵀ — a projection with PyTorch's weight layout. */
static struct gemm g_proj(real *y, const real *x, const real *w, int N, int out, int in, real beta)
{
	return (struct gemm){ .ta = 0, .tb = 1, .rows = N, .cols = out, .k = in, .alpha = 1, .beta = beta,
	                      .A = x, .B = w, .C = y, .lda = in, .ldb = in, .ldc = out };
}

/* Its backward: dx(N, in) = beta·dx + dy(N, out)·w(out, in) … */
static struct gemm g_dx(real *dx, const real *dy, const real *w, int N, int out, int in, real beta)
{
	return (struct gemm){ .ta = 0, .tb = 0, .rows = N, .cols = in, .k = out, .alpha = 1, .beta = beta,
	                      .A = dy, .B = w, .C = dx, .lda = out, .ldb = in, .ldc = in };
}

/* … and dw(out, in) += dy(N, out)ᵀ·x(N, in). */
static struct job job_dw(real *dw, const real *dy, const real *x, int N, int out, int in)
{
	struct gemm g = { .ta = 1, .tb = 0, .rows = out, .cols = in, .k = N, .alpha = 1, .beta = 1,
	                  .A = dy, .B = x, .C = dw, .lda = out, .ldb = in, .ldc = in };
	return (struct job){ { g }, 1, TILE_COLS, in, 0 };
}

static struct job job1(struct gemm g)
{
	return (struct job){ { g }, 1, TILE_ROWS, g.rows >= 2 * TILE_ROWS ? g.cols : TILE_COLS, 0 };
}

static void matmul_forward(real *y, const real *x, const real *w, int N, int out, int in, real beta)
{
	struct job j = job1(g_proj(y, x, w, N, out, in, beta));
	run_jobs(&j, 1);
}

/* A projection by a matrix of the model: as g_proj/job1 for `real` weights (the same tiles, so
 * the same bits), else converted by CVT_COLS-feature tiles into the workspace's scratch. */
static struct job job_mat(struct ws *w, real *y, const real *x, struct mat m, int N, int out, int in,
                          real beta)
{
	if (!m.dt)
		return job1(g_proj(y, x, m.p, N, out, in, beta));
	struct gemm g = g_proj(y, x, NULL, N, out, in, beta);
	g.ldb = in;
	g.cvt_dt = m.dt;
	g.Bx = m.p;
	g.cvt = w->b[B_CVT];
	g.cvt_stride = w->cvt;
	return (struct job){ { g }, 1, MIN(N, CVT_ROWS), CVT_COLS, 0 };
}

static void matmul_mat(struct ws *w, real *y, const real *x, struct mat m, int N, int out, int in,
                       real beta)
{
	struct job j = job_mat(w, y, x, m, N, out, in, beta);
	run_jobs(&j, 1);
}

/* --- row-parallel kernels --- */

/* The element-wise loops go over blocks of a fixed size (a trip count gcc -O2 vectorizes), then
 * the rest one by one. They are also built for AVX2 (twice the lanes), picked at run time; not
 * with FMA, so that every build gives the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(LLAMA_CORE_DOUBLE)
#define KERNEL_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define KERNEL_CLONES
#endif

#define ROW_BLOCK 32   /* rows per item */

static int row_items(int N) { return (N + ROW_BLOCK - 1) / ROW_BLOCK; }

struct rows {
	real *y, *inv, *dx;
	const real *x, *w, *dy, *cs, *sn;
	real *x2;
	int N, C, nh, nh2, D, dir;
	double eps;
	const int *pos;
	double theta;
};

/* Blocks of NORM_B values (a fixed trip count, which gcc -O2 vectorizes; the rest one by one):
 * ss[k] += x²; y = w·(x·s). Restrict parameters, as gcc needs to vectorize. */
#define NORM_B 8
static inline __attribute__((always_inline)) void sumsq_block(double *restrict ss, const real *restrict x,
                                                               int n)
{
	for (int k = 0; k < n; k++)
		ss[k] += (double)x[k] * x[k];
}

static inline __attribute__((always_inline)) void scale_block(real *restrict y, const real *restrict x,
                                                               const real *restrict w, real s, int n)
{
	for (int k = 0; k < n; k++)
		y[k] = w[k] * (x[k] * s);
}

/* y = x · rsqrt(mean(x²) + eps) · w, row by row, as Hugging Face computes it in f32 (the sum of
 * squares in double, NORM_B partial sums); inv keeps the rsqrt for the backward pass. */
static KERNEL_CLONES void rmsnorm_item(void *ctx, int item, int tid)
{
	const struct rows *r = ctx;
	int C = r->C, end = MIN(r->N, (item + 1) * ROW_BLOCK);
	for (int i = item * ROW_BLOCK; i < end; i++) {
		const real *xi = r->x + (size_t)i * C;
		real *yi = r->y + (size_t)i * C;
		double part[NORM_B] = { 0 }, ss = 0;
		int j = 0;
		for (; j + NORM_B <= C; j += NORM_B)
			sumsq_block(part, xi + j, NORM_B);
		sumsq_block(part, xi + j, C - j);
		for (int k = 0; k < NORM_B; k++)
			ss += part[k];
		real var = (real)(ss / C) + (real)r->eps, s = 1 / SQRT(var);
		if (r->inv)
			r->inv[i] = s;
		for (j = 0; j + NORM_B <= C; j += NORM_B)
			scale_block(yi + j, xi + j, r->w + j, s, NORM_B);
		scale_block(yi + j, xi + j, r->w + j, s, C - j);
	}
}

static void rmsnorm_forward(real *y, real *inv, const real *x, const real *w, int N, int C, double eps)
{
	struct rows r = { .y = y, .inv = inv, .x = x, .w = w, .N = N, .C = C, .eps = eps };
	parallel_for(row_items(N), rmsnorm_item, &r);
}

/* Backward, rows: dx += inv·(dy·w − n·mean(dy·w·n)) with n = x·inv. */
static void rmsnorm_dx_item(void *ctx, int item, int tid)
{
	const struct rows *r = ctx;
	int C = r->C, end = MIN(r->N, (item + 1) * ROW_BLOCK);
	for (int i = item * ROW_BLOCK; i < end; i++) {
		const real *xi = r->x + (size_t)i * C, *dyi = r->dy + (size_t)i * C;
		real *dxi = r->dx + (size_t)i * C, s = r->inv[i];
		double dot = 0;
		for (int j = 0; j < C; j++)
			dot += (double)dyi[j] * r->w[j] * xi[j] * s;
		real m = (real)(dot / C);
		for (int j = 0; j < C; j++)
			dxi[j] += s * (dyi[j] * r->w[j] - xi[j] * s * m);
	}
}

/* Backward, columns: dw += Σ_rows dy·n, each column summed over the rows in order. */
static void rmsnorm_dw_item(void *ctx, int item, int tid)
{
	const struct rows *r = ctx;
	int C = r->C, j0 = item * ROW_BLOCK, j1 = MIN(C, j0 + ROW_BLOCK);
	real *dw = r->y;
	for (int i = 0; i < r->N; i++) {
		const real *xi = r->x + (size_t)i * C, *dyi = r->dy + (size_t)i * C;
		for (int j = j0; j < j1; j++)
			dw[j] += dyi[j] * (xi[j] * r->inv[i]);
	}
}

static void rmsnorm_backward(real *dx, real *dw, const real *dy, const real *x, const real *inv,
                             const real *w, int N, int C)
{
	struct rows r = { .y = dw, .inv = (real *)inv, .dx = dx, .x = x, .w = w, .dy = dy, .N = N, .C = C };
	parallel_for(row_items(N), rmsnorm_dx_item, &r);
	parallel_for(row_items(C), rmsnorm_dw_item, &r);
}

/* The rotary frequencies inv_freq[j], j < D/2: θ^(-2j/D), then scaled as Hugging Face's
 * modeling_rope_utils does: "linear" divides each by factor; "llama3" keeps those of wavelength
 * 2π/f below orig/high_freq_factor, divides by factor those above orig/low_freq_factor, and blends
 * the ones between, (1 − s)·f/factor + s·f with s = (orig/wavelength − low)/(high − low). */
static void rope_freqs(const struct llama_config *c, real *inv)
{
	const int D = c->head_dim;
	for (int j = 0; j < D / 2; j++) {
		double f = 1.0 / pow(c->rope_theta, (double)(2 * j) / D);
		if (c->rope_type == LLAMA_ROPE_LINEAR) {
			f /= c->rope_factor;
		} else if (c->rope_type == LLAMA_ROPE_LLAMA3) {
			double wl = 2 * M_PI / f, orig = c->rope_orig;
			if (wl > orig / c->rope_low) {
				f /= c->rope_factor;
			} else if (!(wl < orig / c->rope_high)) {
				double sm = (orig / wl - c->rope_low) / (c->rope_high - c->rope_low);
				f = (1 - sm) * f / c->rope_factor + sm * f;
			}
		}
		inv[j] = (real)f;
	}
}

/* Rotary tables for every token of the batch: cos/sin (N, D/2) of pos·inv_freq[j] (r->w), in the
 * precision Hugging Face uses (inv_freq and the angle rounded to real). */
static void rope_table_item(void *ctx, int item, int tid)
{
	const struct rows *r = ctx;
	int h = r->D / 2, end = MIN(r->N, (item + 1) * ROW_BLOCK);
	for (int j = 0; j < h; j++) {
		real inv = r->w[j];
		for (int i = item * ROW_BLOCK; i < end; i++) {
			real a = (real)r->pos[i] * inv;
			r->y[(size_t)i * h + j] = COS(a);
			r->inv[(size_t)i * h + j] = SIN(a);
		}
	}
}

/* In place on y (N, nh·D) and x2 (N, nh2·D): rotate_half pairing, dimension j with j + D/2.
 * dir -1 applies the transpose (the backward pass). */
static void rope_item(void *ctx, int item, int tid)
{
	const struct rows *r = ctx;
	int h = r->D / 2, end = MIN(r->N, (item + 1) * ROW_BLOCK);
	for (int i = item * ROW_BLOCK; i < end; i++) {
		const real *c = r->cs + (size_t)i * h, *s = r->sn + (size_t)i * h;
		for (int k = 0; k < r->nh + r->nh2; k++) {
			real *a = k < r->nh ? r->y + ((size_t)i * r->nh + k) * r->D
			                    : r->x2 + ((size_t)i * r->nh2 + k - r->nh) * r->D;
			real *b = a + h;
			for (int j = 0; j < h; j++) {
				real x1 = a[j], x2 = b[j], sj = r->dir > 0 ? s[j] : -s[j];
				a[j] = x1 * c[j] - x2 * sj;
				b[j] = x2 * c[j] + x1 * sj;
			}
		}
	}
}

static void rope_apply(real *q, int nq, real *k, int nk, int N, int D, const real *cs,
                       const real *sn, int dir)
{
	struct rows r = { .y = q, .x2 = k, .nh = nq, .nh2 = nk, .N = N, .D = D, .cs = cs, .sn = sn,
	                  .dir = dir };
	parallel_for(row_items(N), rope_item, &r);
}

/* y (N, C) += the bias w (C) on every row. */
static void bias_item(void *ctx, int item, int tid)
{
	const struct rows *r = ctx;
	int end = MIN(r->N, (item + 1) * ROW_BLOCK);
	for (int i = item * ROW_BLOCK; i < end; i++) {
		real *y = r->y + (size_t)i * r->C;
		for (int j = 0; j < r->C; j++)
			y[j] += r->w[j];
	}
}

static void add_bias(real *y, const real *b, int N, int C)
{
	struct rows r = { .y = y, .w = b, .N = N, .C = C };
	parallel_for(row_items(N), bias_item, &r);
}

/* The logistic sigmoid σ(x) = 1/(1 + e^−x), for silu(x) = x·σ(x): llama_internal.h's in float. */
#ifdef LLAMA_CORE_DOUBLE
static real sigmoid(real x) { return 1 / (1 + EXP(-x)); }
#else
#define sigmoid llama_sigmoid
#endif


#define SIG_B 8   /* swiglu's blocks */

/* One block: h = silu(g)·u = g·σ(g)·u; backward, with dh in dg: du = dh·silu(g), and dg =
 * dh·u·silu'(g) where silu'(g) = σ(g)·(1 + g·(1 − σ(g))). Restrict parameters: gcc honours them
 * in inlined functions, and needs them to vectorize. */
static inline __attribute__((always_inline)) void swiglu_block(const real *restrict g, const real *restrict u,
                                                                real *restrict h, int n)
{
	for (int k = 0; k < n; k++)
		h[k] = g[k] * sigmoid(g[k]) * u[k];
}

static inline __attribute__((always_inline)) void swiglu_back_block(const real *restrict g,
                                                                     const real *restrict u,
                                                                     real *restrict du,
                                                                     real *restrict dg, int n)
{
	for (int k = 0; k < n; k++) {
		real sg = sigmoid(g[k]), dh = dg[k];
		du[k] = dh * g[k] * sg;
		dg[k] = dh * u[k] * sg * (1 + g[k] * (1 - sg));
	}
}

/* silu(g)·u over N rows of C (= ff) values: y = h, x = g, x2 = u. */
static KERNEL_CLONES void swiglu_item(void *ctx, int item, int tid)
{
	const struct rows *r = ctx;
	size_t i = (size_t)item * ROW_BLOCK * r->C, b = (size_t)MIN(r->N, (item + 1) * ROW_BLOCK) * r->C;
	for (; i + SIG_B <= b; i += SIG_B)
		swiglu_block(r->x + i, r->x2 + i, r->y + i, SIG_B);
	swiglu_block(r->x + i, r->x2 + i, r->y + i, (int)(b - i));
}

/* Backward: with dh in dx, du into y and dg into dx. */
static KERNEL_CLONES void swiglu_back_item(void *ctx, int item, int tid)
{
	const struct rows *r = ctx;
	size_t i = (size_t)item * ROW_BLOCK * r->C, b = (size_t)MIN(r->N, (item + 1) * ROW_BLOCK) * r->C;
	for (; i + SIG_B <= b; i += SIG_B)
		swiglu_back_block(r->x + i, r->x2 + i, r->y + i, r->dx + i, SIG_B);
	swiglu_back_block(r->x + i, r->x2 + i, r->y + i, r->dx + i, (int)(b - i));
}

/* --- attention --- */

/* Where a batch's keys and values live: either this pass's k, v (no cache: every sequence starts
 * at position 0) or cache rows (k[s], v[s] point at sequence s's slot, layers lstride apart,
 * pos0[s] tokens already there). */
struct kv {
	real *const *k, *const *v;
	size_t lstride;
	const int *pos0;
	int prefix;   /* the cache rows are a read-only prefix: the batch's own keys and values stay
	               * in this pass's k, v (continuations of a shared context, none appended) */
};

struct attn {
	const struct llama_config *c;
	struct ws *w;
	int l;
	const struct kv *kc;
	real *y, *att, *dq, *dk, *dv;
	const real *q, *k, *v, *dy;
};

/* Causal grouped-query attention of one (sequence, head): S = q·kᵀ·scale (L, Lk), softmax over
 * each row's first p0+i+1 keys (the rest zeroed), y = S·v. Query head h reads kv head
 * h / (H / kv_heads), as Hugging Face's repeat_kv. The causal upper triangle is computed and
 * discarded: gemm is so much faster than a loop that this wins. With att (training, no cache)
 * the probabilities of sequence s, head h are kept as an (L, L) matrix at
 * att[H·aoff[s] + h·L·L]; otherwise the thread's scratch (room for L·Lk) is used. */
static void attention_item(void *ctx, int item, int tid)
{
	const struct attn *a = ctx;
	const struct llama_config *c = a->c;
	const struct ws *w = a->w;
	const int H = c->heads, D = c->head_dim, QD = H * D, KD = c->kv_heads * D;
	const int s = item / H, h = item % H, g = h / (H / c->kv_heads);
	const real scale = (real)(1 / sqrt((double)D));
	const struct kv *kc = a->kc;
	int L = w->lens[s], p0 = kc ? kc->pos0[s] : 0, Lk = p0 + L, prefix = kc && kc->prefix;
	const real *K = (kc ? kc->k[s] + a->l * kc->lstride : a->k + (size_t)w->off[s] * KD) + g * D;
	const real *V = (kc ? kc->v[s] + a->l * kc->lstride : a->v + (size_t)w->off[s] * KD) + g * D;
	/* With a prefix, keys 0..p0 are K, V (the cache) and p0.. the pass's own. */
	const real *Ko = a->k + (size_t)w->off[s] * KD + g * D, *Vo = a->v + (size_t)w->off[s] * KD + g * D;
	const real *qh = a->q + (size_t)w->off[s] * QD + h * D;
	real *yh = a->y + (size_t)w->off[s] * QD + h * D;
	real *S = a->att ? a->att + (size_t)H * w->aoff[s] + (size_t)h * L * L
	                 : w->b[B_SCRATCH] + (size_t)tid * w->scratch;
	/* Query i (position p0 + i) sees keys j0 ≤ j < nk: nk = p0 + i + 1 (causal), and with a
	 * sliding window W, j0 = nk − W (keys p − W < j ≤ p); else 0. */
	const int W = c->window;
	if (!a->att && L <= 4 && !prefix) {
		/* Decoding: a few rows against the cache; gemv reads k and v in place, where gemm
		 * would first copy them. */
		for (int i = 0; i < L; i++) {
			int nk = p0 + i + 1, j0 = W && nk > W ? nk - W : 0, m = nk - j0;
			real mx = -INFINITY, sum = 0;
			GEMV(CblasRowMajor, CblasNoTrans, m, D, scale, K + (size_t)j0 * KD, KD,
			     qh + (size_t)i * QD, 1, 0, S, 1);
			for (int j = 0; j < m; j++)
				if (S[j] > mx)
					mx = S[j];
			for (int j = 0; j < m; j++)
				sum += S[j] = EXP(S[j] - mx);
			for (int j = 0; j < m; j++)
				S[j] /= sum;
			GEMV(CblasRowMajor, CblasTrans, m, D, 1, V + (size_t)j0 * KD, KD, S, 1, 0,
			     yh + (size_t)i * QD, 1);
		}
		return;
	}
	if (!prefix)
		GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, L, Lk, D, scale, qh, QD, K, KD, 0, S, Lk);
	else {
		if (p0 > 0)
			GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, L, p0, D, scale, qh, QD, K, KD, 0, S, Lk);
		GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, D, scale, qh, QD, Ko, KD, 0, S + p0, Lk);
	}
	for (int i = 0; i < L; i++) {
		real *p = S + (size_t)i * Lk, mx = -INFINITY, sum = 0;
		int nk = p0 + i + 1, j0 = W && nk > W ? nk - W : 0;
		for (int j = j0; j < nk; j++)
			if (p[j] > mx)
				mx = p[j];
		for (int j = j0; j < nk; j++)
			sum += p[j] = EXP(p[j] - mx);
		for (int j = j0; j < nk; j++)
			p[j] /= sum;
		for (int j = 0; j < j0; j++)
			p[j] = 0;
		for (int j = nk; j < Lk; j++)
			p[j] = 0;
	}
	if (!prefix) {
		GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, D, Lk, 1, S, Lk, V, KD, 0, yh, QD);
		return;
	}
	GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, D, L, 1, S + p0, Lk, Vo, KD, 0, yh, QD);
	if (p0 > 0)
		GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, D, p0, 1, S, Lk, V, KD, 1, yh, QD);
}

/* Backward without cache, for one (sequence, kv head) and the query heads sharing it: with P
 * the kept probabilities, dP = dy·vᵀ, dv += Pᵀ·dy, dS = P∘(dP − rowsum(P∘dP)),
 * dq = scale·dS·k, dk += scale·dSᵀ·q. */
static void attention_back_item(void *ctx, int item, int tid)
{
	const struct attn *a = ctx;
	const struct llama_config *c = a->c;
	const struct ws *w = a->w;
	const int H = c->heads, KH = c->kv_heads, D = c->head_dim, QD = H * D, KD = KH * D;
	const int s = item / KH, g = item % KH, group = H / KH;
	const real scale = (real)(1 / sqrt((double)D));
	int L = w->lens[s];
	size_t o = w->off[s];
	real *dp = w->b[B_SCRATCH] + (size_t)tid * w->scratch;
	const real *kg = a->k + o * KD + g * D, *vg = a->v + o * KD + g * D;
	real *dkg = a->dk + o * KD + g * D, *dvg = a->dv + o * KD + g * D;
	for (int i = 0; i < L; i++) {
		memset(dkg + (size_t)i * KD, 0, D * sizeof(real));
		memset(dvg + (size_t)i * KD, 0, D * sizeof(real));
	}
	for (int h = g * group; h < (g + 1) * group; h++) {
		const real *P = a->att + (size_t)H * w->aoff[s] + (size_t)h * L * L;
		const real *dyh = a->dy + o * QD + h * D, *qh = a->q + o * QD + h * D;
		GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, D, 1, dyh, QD, vg, KD, 0, dp, L);
		GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, L, D, L, 1, P, L, dyh, QD, 1, dvg, KD);
		for (int i = 0; i < L; i++) {
			const real *pi = P + (size_t)i * L;
			real *di = dp + (size_t)i * L, sum = 0;
			for (int j = 0; j <= i; j++)
				sum += pi[j] * di[j];
			for (int j = 0; j <= i; j++)
				di[j] = pi[j] * (di[j] - sum);
			for (int j = i + 1; j < L; j++)
				di[j] = 0;
		}
		GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, D, L, scale, dp, L, kg, KD, 0,
		     a->dq + o * QD + h * D, QD);
		GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, L, D, L, scale, dp, L, qh, QD, 1, dkg, KD);
	}
}

/* --- passes --- */

/* Lays out a batch of n sequences (starting at positions pos0[s], or 0) in the workspace and
 * sizes every buffer: per layer when train. */
static int batch_prepare(const struct llama_config *c, struct ws *w, int n, const int *lens,
                         const int *pos0, int train)
{
	const int C = c->hidden, QD = c->heads * c->head_dim, KD = c->kv_heads * c->head_dim;
	const int F = c->ff, D = c->head_dim;
	size_t N = 0, att = 0, scratch = 1;   /* scratch: attention scores of one (sequence, head) */
	for (int s = 0; s < n; s++) {
		N += lens[s];
		att += (size_t)lens[s] * lens[s];
		size_t sc = (size_t)lens[s] * ((pos0 ? pos0[s] : 0) + lens[s]);
		if (sc > scratch)
			scratch = sc;
	}
	if (N > INT32_MAX / 2 || N * c->heads > INT32_MAX || (train && att > INT32_MAX))
		return err_set("batch too large");
	w->n = n;
	w->N = (int)N;
	w->lens = lens;
	w->scratch = scratch;
	size_t maxk = (size_t)C > (size_t)F ? (size_t)C : (size_t)F;
	w->cvt = CVT_COLS * (maxk > (size_t)QD ? maxk : (size_t)QD);
	if (!(w->off = wibuf(w, I_OFF, n + 1)) || !(w->pos = wibuf(w, I_POS, N)) ||
	    !(w->aoff = wibuf(w, I_AOFF, n + 1)))
		return -1;
	w->off[0] = w->aoff[0] = 0;
	for (int s = 0; s < n; s++) {
		w->off[s + 1] = w->off[s] + lens[s];
		w->aoff[s + 1] = train ? w->aoff[s] + lens[s] * lens[s] : 0;
		for (int i = 0; i < lens[s]; i++)
			w->pos[w->off[s] + i] = (pos0 ? pos0[s] : 0) + i;
	}
	size_t L = train ? c->layers : 1;
	const struct { int b; size_t n; } need[] = {
		{ B_X, (L + 1) * N * C }, { B_INV1, L * N }, { B_A, L * N * C }, { B_Q, L * N * QD },
		{ B_K, L * N * KD }, { B_V, L * N * KD }, { B_ATT, train ? L * c->heads * att : 0 },
		{ B_Y, L * N * QD }, { B_XM, train ? L * N * C : 0 }, { B_INV2, L * N },
		{ B_B, L * N * C }, { B_G, L * N * F }, { B_U, L * N * F }, { B_H, L * N * F },
		{ B_INVF, N }, { B_XF, N * C }, { B_COS, N * D / 2 }, { B_SIN, N * D / 2 },
		{ B_SCRATCH, scratch * nthreads() }, { B_FREQ, (size_t)D / 2 + 1 },
		{ B_CVT, w->cvt * nthreads() },
	};
	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
		if (need[i].n && !wbuf(w, need[i].b, need[i].n))
			return -1;
	rope_freqs(c, w->b[B_FREQ]);
	struct rows r = { .y = w->b[B_COS], .inv = w->b[B_SIN], .w = w->b[B_FREQ], .pos = w->pos,
	                  .N = w->N, .D = D };
	parallel_for(row_items(w->N), rope_table_item, &r);
	return 0;
}

/* Embedding lookup and every layer. The result, the residual stream after the last layer, is at
 * w->b[B_X] + (train ? layers : 0)·N·C. With kc, the batch's keys/values are appended to the
 * cache rows kc points at. */
static void layers_forward(const struct net *nt, struct ws *w, const int *tokens,
                           const struct kv *kc, int train)
{
	const struct llama_config *c = nt->c;
	const int C = c->hidden, QD = c->heads * c->head_dim, KD = c->kv_heads * c->head_dim;
	const int F = c->ff, N = w->N, D = c->head_dim;
	const struct mat E = wmat(nt, LLAMA_EMBED, -1);
	for (int i = 0; i < N; i++) {
		real *xi = w->b[B_X] + (size_t)i * C;
#ifndef LLAMA_CORE_DOUBLE
		if (E.dt) {
			size_t es = dtype_size(E.dt);
			cvt_to_f32(xi, E.dt, (const char *)E.p + (size_t)tokens[i] * C * es, C);
			continue;
		}
#endif
		memcpy(xi, (const real *)E.p + (size_t)tokens[i] * C, C * sizeof(real));
	}
	for (int l = 0; l < c->layers; l++) {
		size_t li = train ? l : 0;
		real *x = w->b[B_X] + li * N * C;
		real *xm = train ? w->b[B_XM] + li * N * C : x;
		real *xn = train ? x + (size_t)N * C : x;
		real *inv1 = w->b[B_INV1] + li * N, *inv2 = w->b[B_INV2] + li * N;
		real *a = w->b[B_A] + li * N * C, *b = w->b[B_B] + li * N * C;
		real *q = w->b[B_Q] + li * N * QD, *y = w->b[B_Y] + li * N * QD;
		real *k = w->b[B_K] + li * N * KD, *v = w->b[B_V] + li * N * KD;
		real *g = w->b[B_G] + li * N * F, *u = w->b[B_U] + li * N * F;
		real *h = w->b[B_H] + li * N * F;
		real *att = train ? w->b[B_ATT] + li * c->heads * w->aoff[w->n] : NULL;

		rmsnorm_forward(a, inv1, x, W(nt, LLAMA_LN1, l), N, C, c->rms_eps);
		struct job qkv[3] = { job_mat(w, q, a, wmat(nt, LLAMA_Q, l), N, QD, C, 0),
		                      job_mat(w, k, a, wmat(nt, LLAMA_K, l), N, KD, C, 0),
		                      job_mat(w, v, a, wmat(nt, LLAMA_V, l), N, KD, C, 0) };
		run_jobs(qkv, 3);
		if (c->qkv_bias) {
			add_bias(q, W(nt, LLAMA_QB, l), N, QD);
			add_bias(k, W(nt, LLAMA_KB, l), N, KD);
			add_bias(v, W(nt, LLAMA_VB, l), N, KD);
		}
		if (c->qk_norm) {   /* each head's D values, one weight for all heads; y is free */
			rmsnorm_forward(y, NULL, q, W(nt, LLAMA_QN, l), N * c->heads, D, c->rms_eps);
			memcpy(q, y, (size_t)N * QD * sizeof(real));
			rmsnorm_forward(y, NULL, k, W(nt, LLAMA_KN, l), N * c->kv_heads, D, c->rms_eps);
			memcpy(k, y, (size_t)N * KD * sizeof(real));
		}
		rope_apply(q, c->heads, k, c->kv_heads, N, c->head_dim, w->b[B_COS], w->b[B_SIN], 1);
		if (kc && !kc->prefix) {
			for (int s = 0; s < w->n; s++) {
				size_t at = (size_t)kc->pos0[s] * KD, o = (size_t)w->off[s] * KD;
				size_t len = (size_t)w->lens[s] * KD * sizeof(real);
				memcpy(kc->k[s] + l * kc->lstride + at, k + o, len);
				memcpy(kc->v[s] + l * kc->lstride + at, v + o, len);
			}
		}
		struct attn at = { .c = c, .w = w, .l = l, .kc = kc, .y = y, .att = att, .q = q, .k = k, .v = v };
		parallel_for(w->n * c->heads, attention_item, &at);
		if (xm != x)
			memcpy(xm, x, (size_t)N * C * sizeof(real));
		matmul_mat(w, xm, y, wmat(nt, LLAMA_O, l), N, C, QD, 1);
		if (c->o_bias)
			add_bias(xm, W(nt, LLAMA_OB, l), N, C);

		rmsnorm_forward(b, inv2, xm, W(nt, LLAMA_LN2, l), N, C, c->rms_eps);
		struct job gu[2] = { job_mat(w, g, b, wmat(nt, LLAMA_GATE, l), N, F, C, 0),
		                     job_mat(w, u, b, wmat(nt, LLAMA_UP, l), N, F, C, 0) };
		run_jobs(gu, 2);
		if (c->mlp_bias) {
			add_bias(g, W(nt, LLAMA_GB, l), N, F);
			add_bias(u, W(nt, LLAMA_UB, l), N, F);
		}
		struct rows sw = { .y = h, .x = g, .x2 = u, .N = N, .C = F };
		parallel_for(row_items(N), swiglu_item, &sw);
		if (xn != xm)
			memcpy(xn, xm, (size_t)N * C * sizeof(real));
		matmul_mat(w, xn, h, wmat(nt, LLAMA_DOWN, l), N, C, F, 1);
		if (c->mlp_bias)
			add_bias(xn, W(nt, LLAMA_DB, l), N, C);
	}
}

static real *final_x(const struct llama_config *c, struct ws *w, int train)
{
	return w->b[B_X] + (train ? (size_t)c->layers : 0) * w->N * c->hidden;
}

/* Rows per lm_head chunk: bounds the logits scratch to about 4M values. */
static int head_chunk(const struct llama_config *c)
{
	int r = (1 << 22) / c->vocab;
	return r < 16 ? 16 : r;
}

/* Full logits (N, vocab) of a batch without cache. */
CORE int core_forward(const struct net *nt, struct ws *w, int n, const int *lens,
                      const int *tokens, real *logits)
{
	const struct llama_config *c = nt->c;
	if (batch_prepare(c, w, n, lens, NULL, 0))
		return -1;
	layers_forward(nt, w, tokens, NULL, 0);
	rmsnorm_forward(w->b[B_XF], NULL, final_x(c, w, 0), W(nt, LLAMA_NORM, -1), w->N, c->hidden,
	                c->rms_eps);
	matmul_mat(w, logits, w->b[B_XF], wmat(nt, LLAMA_HEAD, -1), w->N, c->vocab, c->hidden, 0);
	return 0;
}

/* Rows of logits z (nr, V): the log-softmax at targets t[r] into out[r] (t[r] < 0: skipped). With
 * grad, each row of z becomes (softmax − onehot(t))·scale (0 where no target). */
struct head {
	real *z, *out;
	const int *t;
	int V, grad;
	double scale;
};

/* The largest of one row of V logits. */
static real row_max(const real *z, int V)
{
	real mx = z[0];
	for (int j = 1; j < V; j++)
		if (z[j] > mx)
			mx = z[j];
	return mx;
}

/* log_softmax(z)[t] of one row of V logits: the max subtracted, the exponentials summed in
 * double. */
static real row_logp(const real *z, int V, int t)
{
	real mx = row_max(z, V);
	double sum = 0, zt = z[t] - mx;
	for (int j = 0; j < V; j++)
		sum += EXP(z[j] - mx);
	return (real)(zt - log(sum));
}

static void head_item(void *ctx, int item, int tid)
{
	const struct head *hd = ctx;
	const int V = hd->V;
	real *z = hd->z + (size_t)item * V;
	int t = hd->t[item];
	if (t < 0) {
		if (hd->grad)
			memset(z, 0, V * sizeof *z);
		return;
	}
	if (!hd->grad) {
		hd->out[item] = row_logp(z, V, t);
		return;
	}
	real mx = row_max(z, V);
	double sum = 0, zt = z[t] - mx;
	for (int j = 0; j < V; j++)
		sum += z[j] = EXP(z[j] - mx);
	hd->out[item] = (real)(zt - log(sum));
	real f = (real)(hd->scale / sum);
	for (int j = 0; j < V; j++)
		z[j] *= f;
	z[t] -= (real)hd->scale;
}

CORE int core_logprobs(const struct net *nt, struct ws *w, int n, const int *lens,
                       const int *tokens, real *logp)
{
	const struct llama_config *c = nt->c;
	const int C = c->hidden, V = c->vocab, R = head_chunk(c);
	if (batch_prepare(c, w, n, lens, NULL, 0))
		return -1;
	real *z = wbuf(w, B_LOGITS, (size_t)R * V), *lp = wbuf(w, B_ROWLOSS, R);
	int *rows = wibuf(w, I_ROWS, 2 * R);
	if (!z || !lp || !rows)
		return -1;
	layers_forward(nt, w, tokens, NULL, 0);
	rmsnorm_forward(w->b[B_XF], NULL, final_x(c, w, 0), W(nt, LLAMA_NORM, -1), w->N, C, c->rms_eps);
	/* Only rows that predict a token of their own sequence go through lm_head: gathered into
	 * the rows after xf's N (chunk by chunk, in order). */
	const real *xf = w->b[B_XF];
	const struct mat hw = wmat(nt, LLAMA_HEAD, -1);
	real *xs = w->b[B_X];   /* the residual stream is no longer needed: room for R rows */
	int k = 0;
	for (int s = 0; s < n; s++) {
		logp[w->off[s]] = 0;
		for (int i = w->off[s]; i < w->off[s + 1]; i++) {
			if (i + 1 < w->off[s + 1]) {
				memcpy(xs + (size_t)k * C, xf + (size_t)i * C, C * sizeof(real));
				rows[k] = i;
				rows[R + k] = tokens[i + 1];
				k++;
			}
			if (k > 0 && (k == R || i == w->N - 1)) {
				matmul_mat(w, z, xs, hw, k, V, C, 0);
				struct head hd = { z, lp, rows + R, V, 0, 0 };
				parallel_for(k, head_item, &hd);
				for (int r = 0; r < k; r++)
					logp[rows[r] + 1] = lp[r];
				k = 0;
			}
		}
	}
	return 0;
}

/* Rows of logits z (nr, V): the greedy choice of row r into best[rows[r]]: the largest logit,
 * ties to the lowest index (strict >), never a NaN (no comparison with it is true); -1 when every
 * logit is NaN. With targets, logp[rows[r]] = log P(targets[rows[r]]) under the row's softmax
 * where that target is ≥ 0 (row_logp, as llama_logprobs computes it), else 0. */
struct amax {
	const real *z;
	const int *rows;
	int *best;
	int V;
	const int *targets;
	real *logp;
};

static void argmax_item(void *ctx, int item, int tid)
{
	const struct amax *a = ctx;
	const real *z = a->z + (size_t)item * a->V;
	real mx = -INFINITY;
	int b = -1;
	for (int j = 0; j < a->V; j++)
		if (z[j] > mx) {
			mx = z[j];
			b = j;
		}
	/* Nothing above -inf: the first logit that is not NaN (a -inf), if any. */
	for (int j = 0; b < 0 && j < a->V; j++)
		if (!isnan(z[j]))
			b = j;
	int i = a->rows[item];
	a->best[i] = b;
	if (!a->targets)
		return;
	int t = a->targets[i];
	a->logp[i] = t < 0 ? 0 : row_logp(z, a->V, t);
}

/* The final norm (into xf), lm_head and argmax of k residual rows gathered in xs. */
static void argmax_rows(const struct net *nt, struct ws *w, const real *xs, real *xf, real *z,
                        const int *rows, int k, int *best, const int *targets, real *logp)
{
	const struct llama_config *c = nt->c;
	rmsnorm_forward(xf, NULL, xs, W(nt, LLAMA_NORM, -1), k, c->hidden, c->rms_eps);
	matmul_mat(w, z, xf, wmat(nt, LLAMA_HEAD, -1), k, c->vocab, c->hidden, 0);
	struct amax a = { z, rows, best, c->vocab, targets, logp };
	parallel_for(k, argmax_item, &a);
}

CORE int core_argmax(const struct net *nt, struct ws *w, int n, const int *lens, const int *tokens,
                     const int *from, int *best, const int *targets, real *logp)
{
	const struct llama_config *c = nt->c;
	const int C = c->hidden, V = c->vocab, R = head_chunk(c);
	size_t want = 0;
	for (int s = 0; s < n; s++)
		want += lens[s] - (from ? from[s] : 0);
	if (batch_prepare(c, w, n, lens, NULL, 0))
		return -1;
	real *z = wbuf(w, B_LOGITS, (size_t)R * V);
	int *rows = wibuf(w, I_ROWS, R);
	if (!z || !rows)
		return -1;
	if (want > 0)
		layers_forward(nt, w, tokens, NULL, 0);
	/* The rows wanted are gathered, chunk by chunk in order, into a (free after the layers):
	 * only they go through the final norm and lm_head. */
	const real *x = final_x(c, w, 0);
	real *xs = w->b[B_A], *xf = w->b[B_XF];
	int k = 0;
	for (int s = 0; s < n; s++) {
		int i0 = w->off[s] + (from ? from[s] : 0);
		for (int i = w->off[s]; i < i0; i++) {
			best[i] = -1;
			if (targets)
				logp[i] = 0;
		}
		for (int i = i0; i < w->off[s + 1]; i++) {
			memcpy(xs + (size_t)k * C, x + (size_t)i * C, C * sizeof(real));
			rows[k++] = i;
			if (k == R) {
				argmax_rows(nt, w, xs, xf, z, rows, k, best, targets, logp);
				k = 0;
			}
		}
	}
	if (k > 0)
		argmax_rows(nt, w, xs, xf, z, rows, k, best, targets, logp);
	return 0;
}

/* Appends the batch to cache rows and gives the logits after each sequence's last token. */
CORE int core_step(const struct net *nt, struct ws *w, int n, const int *lens, const int *tokens,
                   const struct kv *kc, real *logits)
{
	const struct llama_config *c = nt->c;
	const int C = c->hidden;
	if (batch_prepare(c, w, n, lens, kc->pos0, 0))
		return -1;
	layers_forward(nt, w, tokens, kc, 0);
	const real *x = final_x(c, w, 0);
	real *last = w->b[B_A];   /* free after the layers: the last row of each sequence */
	for (int s = 0; s < n; s++)
		memcpy(last + (size_t)s * C, x + (size_t)(w->off[s + 1] - 1) * C, C * sizeof(real));
	rmsnorm_forward(w->b[B_XF], NULL, last, W(nt, LLAMA_NORM, -1), n, C, c->rms_eps);
	matmul_mat(w, logits, w->b[B_XF], wmat(nt, LLAMA_HEAD, -1), n, c->vocab, C, 0);
	return 0;
}

/* Continuations of cached prefixes (kc->prefix): logp[i] = log P(targets[i] | prefix, the
 * sequence up to row i) where targets[i] ≥ 0, else 0; only those rows go through lm_head. */
CORE int core_cont(const struct net *nt, struct ws *w, int n, const int *lens, const int *tokens,
                   const int *targets, const struct kv *kc, real *logp)
{
	const struct llama_config *c = nt->c;
	const int C = c->hidden, V = c->vocab, R = head_chunk(c);
	if (batch_prepare(c, w, n, lens, kc->pos0, 0))
		return -1;
	real *z = wbuf(w, B_LOGITS, (size_t)R * V), *lp = wbuf(w, B_ROWLOSS, R);
	int *rows = wibuf(w, I_ROWS, 2 * R);
	if (!z || !lp || !rows)
		return -1;
	layers_forward(nt, w, tokens, kc, 0);
	rmsnorm_forward(w->b[B_XF], NULL, final_x(c, w, 0), W(nt, LLAMA_NORM, -1), w->N, C, c->rms_eps);
	const real *xf = w->b[B_XF];
	const struct mat hw = wmat(nt, LLAMA_HEAD, -1);
	real *xs = w->b[B_X];   /* free after the layers: room for R rows */
	int k = 0;
	for (int i = 0; i < w->N; i++) {
		logp[i] = 0;
		if (targets[i] >= 0) {
			memcpy(xs + (size_t)k * C, xf + (size_t)i * C, C * sizeof(real));
			rows[k] = i;
			rows[R + k] = targets[i];
			k++;
		}
		if (k > 0 && (k == R || i == w->N - 1)) {
			matmul_mat(w, z, xs, hw, k, V, C, 0);
			struct head hd = { z, lp, rows + R, V, 0, 0 };
			parallel_for(k, head_item, &hd);
			for (int r = 0; r < k; r++)
				logp[rows[r]] = lp[r];
			k = 0;
		}
	}
	return 0;
}

/* Mean cross-entropy of a (B, T) batch and its gradient G (the parameters' layout). */
CORE int core_loss_grad(const struct net *nt, struct ws *w, size_t n_params, int B, int T,
                        const int *tokens, const int *targets, real *G, double *loss)
{
	const struct llama_config *c = nt->c;
	const int C = c->hidden, H = c->heads, QD = H * c->head_dim, KD = c->kv_heads * c->head_dim;
	const int F = c->ff, V = c->vocab, L = c->layers, R = head_chunk(c);
	long count = 0;
	for (size_t i = 0; i < (size_t)B * T; i++)
		count += targets[i] >= 0;
	if (count == 0)
		return err_set("no target positions in the batch");
	int *lens = wibuf(w, I_LENS, B);
	if (!lens)
		return -1;
	for (int b = 0; b < B; b++)
		lens[b] = T;
	if (batch_prepare(c, w, B, lens, NULL, 1))
		return -1;
	const int N = w->N;
	real *z = wbuf(w, B_LOGITS, (size_t)R * V), *rl = wbuf(w, B_ROWLOSS, R);
	real *dx = wbuf(w, B_DX, (size_t)N * C), *da = wbuf(w, B_DA, (size_t)N * C);
	real *dq = wbuf(w, B_DQ, (size_t)N * QD), *dy = wbuf(w, B_DY, (size_t)N * QD);
	real *dk = wbuf(w, B_DK, (size_t)N * KD), *dv = wbuf(w, B_DV, (size_t)N * KD);
	real *dg = wbuf(w, B_DG, (size_t)N * F), *du = wbuf(w, B_DU, (size_t)N * F);
	real *dxf = wbuf(w, B_DXF, (size_t)N * C), *db = wbuf(w, B_DB, (size_t)N * C);
	if (!z || !rl || !dx || !da || !dq || !dy || !dk || !dv || !dg || !du || !dxf || !db)
		return -1;
	layers_forward(nt, w, tokens, NULL, 1);
	memset(G, 0, n_params * sizeof *G);
#define GW(kind, l) (G + woff(c, nt->t, kind, l))

	/* Head, chunk by chunk: dlogits = (softmax − onehot)/count in place of the logits. */
	real *xL = final_x(c, w, 1), *xf = w->b[B_XF], *invf = w->b[B_INVF];
	const real *hw = W(nt, LLAMA_HEAD, -1);
	rmsnorm_forward(xf, invf, xL, W(nt, LLAMA_NORM, -1), N, C, c->rms_eps);
	double total = 0;
	for (int r0 = 0; r0 < N; r0 += R) {
		int nr = MIN(N - r0, R);
		matmul_forward(z, xf + (size_t)r0 * C, hw, nr, V, C, 0);
		struct head hd = { z, rl, targets + r0, V, 1, 1.0 / count };
		parallel_for(nr, head_item, &hd);
		for (int r = 0; r < nr; r++)
			if (targets[r0 + r] >= 0)
				total -= rl[r];
		struct job back[2] = { job1(g_dx(dxf + (size_t)r0 * C, z, hw, nr, V, C, 0)),
		                       job_dw(GW(LLAMA_HEAD, -1), z, xf + (size_t)r0 * C, nr, V, C) };
		run_jobs(back, 2);
	}
	*loss = total / count;
	memset(dx, 0, (size_t)N * C * sizeof *dx);
	rmsnorm_backward(dx, GW(LLAMA_NORM, -1), dxf, xL, invf, W(nt, LLAMA_NORM, -1), N, C);

	/* dx is the gradient of the residual stream; each block adds its part. */
	for (int l = L - 1; l >= 0; l--) {
		size_t li = l;
		real *x = w->b[B_X] + li * N * C, *xm = w->b[B_XM] + li * N * C;
		real *inv1 = w->b[B_INV1] + li * N, *inv2 = w->b[B_INV2] + li * N;
		real *a = w->b[B_A] + li * N * C, *b = w->b[B_B] + li * N * C;
		real *q = w->b[B_Q] + li * N * QD, *y = w->b[B_Y] + li * N * QD;
		real *k = w->b[B_K] + li * N * KD, *v = w->b[B_V] + li * N * KD;
		real *g = w->b[B_G] + li * N * F, *u = w->b[B_U] + li * N * F;
		real *h = w->b[B_H] + li * N * F;
		real *att = w->b[B_ATT] + li * H * w->aoff[w->n];
		const real *Wg = W(nt, LLAMA_GATE, l), *Wu = W(nt, LLAMA_UP, l);
		const real *Wq = W(nt, LLAMA_Q, l), *Wk = W(nt, LLAMA_K, l), *Wv = W(nt, LLAMA_V, l);

		/* MLP: dh = dx·Wdown (into dg), split through silu(g)·u, then into the norm. */
		struct job down[2] = { job1(g_dx(dg, dx, W(nt, LLAMA_DOWN, l), N, C, F, 0)),
		                       job_dw(GW(LLAMA_DOWN, l), dx, h, N, C, F) };
		run_jobs(down, 2);
		struct rows sb = { .y = du, .dx = dg, .x = g, .x2 = u, .N = N, .C = F };
		parallel_for(row_items(N), swiglu_back_item, &sb);
		struct job gu[3] = { job1(g_dx(db, dg, Wg, N, F, C, 0)),
		                     job_dw(GW(LLAMA_GATE, l), dg, b, N, F, C),
		                     job_dw(GW(LLAMA_UP, l), du, b, N, F, C) };
		gu[0].g[gu[0].n++] = g_dx(db, du, Wu, N, F, C, 1);
		run_jobs(gu, 3);
		rmsnorm_backward(dx, GW(LLAMA_LN2, l), db, xm, inv2, W(nt, LLAMA_LN2, l), N, C);

		/* Attention. */
		struct job o[2] = { job1(g_dx(dy, dx, W(nt, LLAMA_O, l), N, C, QD, 0)),
		                    job_dw(GW(LLAMA_O, l), dx, y, N, C, QD) };
		run_jobs(o, 2);
		struct attn at = { .c = c, .w = w, .att = att, .dq = dq, .dk = dk, .dv = dv, .q = q,
		                   .k = k, .v = v, .dy = dy };
		parallel_for(w->n * c->kv_heads, attention_back_item, &at);
		rope_apply(dq, H, dk, c->kv_heads, N, c->head_dim, w->b[B_COS], w->b[B_SIN], -1);
		struct job qkv[4] = { job1(g_dx(da, dq, Wq, N, QD, C, 0)),
		                      job_dw(GW(LLAMA_Q, l), dq, a, N, QD, C),
		                      job_dw(GW(LLAMA_K, l), dk, a, N, KD, C),
		                      job_dw(GW(LLAMA_V, l), dv, a, N, KD, C) };
		qkv[0].g[qkv[0].n++] = g_dx(da, dk, Wk, N, KD, C, 1);
		qkv[0].g[qkv[0].n++] = g_dx(da, dv, Wv, N, KD, C, 1);
		run_jobs(qkv, 4);
		rmsnorm_backward(dx, GW(LLAMA_LN1, l), da, x, inv1, W(nt, LLAMA_LN1, l), N, C);
	}
	real *GE = GW(LLAMA_EMBED, -1);
	for (int i = 0; i < N; i++) {
		real *ge = GE + (size_t)tokens[i] * C;
		const real *d = dx + (size_t)i * C;
		for (int j = 0; j < C; j++)
			ge[j] += d[j];
	}
#undef GW
	return 0;
}

#ifndef LLAMA_CORE_DOUBLE
/* --- the public float API --- */

struct llama_ws {
	struct ws w;
};

/* OpenBLAS on one thread: the parallelism is ours (see the top of this file). Its own idle
 * threads, which it starts when it loads, are stopped too, once: each would spin for a while
 * (some 0.05 s of a core) waiting for work that never comes. blas_thread_shutdown_ is OpenBLAS's,
 * exported though not in cblas.h (OpenBLAS restarts the threads if asked for more later); weak,
 * for a BLAS without it. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

static void blas_one_thread(void)
{
	static atomic_int stopped;
	openblas_set_num_threads(1);
	if (blas_thread_shutdown_ && !atomic_exchange(&stopped, 1))
		blas_thread_shutdown_();
}

static void stop_workers(void)
{
	pool_free(workers);
	workers = NULL;
}

void llama_set_threads(int n)
{
	blas_one_thread();
	if (n < 1)
		n = 1;
	if (n > MAX_THREADS)
		n = MAX_THREADS;
	if (n == nthreads())
		return;
	static int registered;
	if (!registered)   /* the workers are joined at exit: no thread outlives the program's end */
		registered = atexit(stop_workers) == 0;
	pool_free(workers);
	/* A pool that cannot be started leaves the work to the calling thread (the same results). */
	workers = n > 1 ? pool_new(n) : NULL;
}

struct llama_model *llama_new(const struct llama_config *cfg)
{
	struct llama_model *m = calloc(1, sizeof *m);
	if (!m) {
		err_oom();
		return NULL;
	}
	m->cfg = *cfg;
	blas_one_thread();
	if (llama_config_check(&m->cfg) || (m->n_tensors = llama_tensors(&m->cfg, &m->tensors)) < 0)
		goto fail;
	const struct llama_tensor *last = &m->tensors[m->n_tensors - 1];
	m->n_params = last->offset + last->numel;
	m->params = calloc(m->n_params, sizeof *m->params);
	m->filled = calloc(m->n_tensors, 1);
	m->ws = calloc(1, sizeof *m->ws);
	if (!m->params || !m->filled || !m->ws) {
		err_oom();
		goto fail;
	}
	return m;
fail:
	llama_free(m);
	return NULL;
}

struct llama_model *llama_new_resident(const struct llama_config *cfg)
{
	struct llama_model *m = calloc(1, sizeof *m);
	if (!m) {
		err_oom();
		return NULL;
	}
	m->cfg = *cfg;
	blas_one_thread();
	if (llama_config_check(&m->cfg) || (m->n_tensors = llama_tensors(&m->cfg, &m->tensors)) < 0)
		goto fail;
	m->filled = calloc(m->n_tensors, 1);
	m->wp = calloc(m->n_tensors, sizeof *m->wp);
	m->wdt = calloc(m->n_tensors, sizeof *m->wdt);
	m->owned = calloc(m->n_tensors, sizeof *m->owned);
	m->ws = calloc(1, sizeof *m->ws);
	if (!m->filled || !m->wp || !m->wdt || !m->owned || !m->ws) {
		err_oom();
		goto fail;
	}
	return m;
fail:
	llama_free(m);
	return NULL;
}

void llama_free(struct llama_model *m)
{
	if (!m)
		return;
	if (m->ws)
		ws_free(&m->ws->w);
	for (int i = 0; m->owned && i < m->n_tensors; i++)
		free(m->owned[i]);
	free(m->owned);
	free(m->wp);
	free(m->wdt);
	free(m->ws);
	free(m->params);
	free(m->filled);
	free(m->tensors);
	free(m);
}

static struct net net_of(const struct llama_model *m)
{
	if (m->params)
		return (struct net){ &m->cfg, m->tensors, m->params, NULL, NULL };
	return (struct net){ &m->cfg, m->tensors, NULL, m->wp, m->wdt };
}

static int check_tokens(const struct llama_model *m, int n, const int *lens, const int *tokens)
{
	if (n < 1)
		return err_set("empty batch");
	size_t N = 0;
	for (int s = 0; s < n; s++) {
		if (lens[s] < 1)
			return err_set("sequence %d: length %d", s, lens[s]);
		N += lens[s];
	}
	for (size_t i = 0; i < N; i++)
		if (tokens[i] < 0 || tokens[i] >= m->cfg.vocab)
			return err_set("token id %d outside the vocabulary [0, %d)", tokens[i], m->cfg.vocab);
	return 0;
}

int llama_forward(struct llama_model *m, int n, const int *lens, const int *tokens, float *logits)
{
	struct net nt = net_of(m);
	if (check_tokens(m, n, lens, tokens))
		return -1;
	return core_forward(&nt, &m->ws->w, n, lens, tokens, logits);
}

/* What batch_prepare sizes per token of an inference batch: the residual stream twice, the
 * normed input, q, k, v, the attention output, the MLP's input, gate, up and product, the final
 * norm's output, the rotary tables and four scalars (three norms' and the position). */
size_t llama_pass_bytes_per_token(const struct llama_config *c)
{
	size_t C = (size_t)c->hidden, QD = (size_t)c->heads * c->head_dim, KD = (size_t)c->kv_heads * c->head_dim;
	return (5 * C + 2 * QD + 2 * KD + 3 * (size_t)c->ff + (size_t)c->head_dim + 3) * sizeof(real) + sizeof(int);
}

size_t llama_ws_bytes(const struct llama_model *m)
{
	size_t b = 0;
	if (!m->ws)
		return 0;
	for (int i = 0; i < B_N; i++)
		b += m->ws->w.cap[i] * sizeof(real);
	for (int i = 0; i < I_N; i++)
		b += m->ws->w.icap[i] * sizeof(int);
	return b;
}

int llama_logprobs(struct llama_model *m, int n, const int *lens, const int *tokens, float *logp)
{
	struct net nt = net_of(m);
	if (check_tokens(m, n, lens, tokens))
		return -1;
	return core_logprobs(&nt, &m->ws->w, n, lens, tokens, logp);
}

int llama_argmax(struct llama_model *m, int n, const int *lens, const int *tokens, const int *from,
                 int *best)
{
	return llama_argmax_lp(m, n, lens, tokens, from, best, NULL, NULL);
}

int llama_argmax_lp(struct llama_model *m, int n, const int *lens, const int *tokens, const int *from,
                    int *best, const int *targets, float *logp)
{
	struct net nt = net_of(m);
	if (check_tokens(m, n, lens, tokens))
		return -1;
	if (!targets != !logp)
		return err_set("targets and logp: both or neither");
	size_t N = 0;
	for (int s = 0; s < n; s++) {
		if (from && (from[s] < 0 || from[s] > lens[s]))
			return err_set("sequence %d: from %d outside [0, %d]", s, from[s], lens[s]);
		N += lens[s];
	}
	for (size_t i = 0; targets && i < N; i++)
		if (targets[i] >= m->cfg.vocab)
			return err_set("target id %d outside the vocabulary [0, %d)", targets[i], m->cfg.vocab);
	return core_argmax(&nt, &m->ws->w, n, lens, tokens, from, best, targets, logp);
}

/* Cache rows: [slot][layer][max_len][kv_heads·head_dim], keys and values apart. */
struct llama_cache {
	int slots, max_len, layers;
	size_t kd;
	int *len;
	float *k, *v;
	/* per-call scratch: n pointers and positions */
	float **pk, **pv;
	int *pos0;
	unsigned char *seen;
};

struct llama_cache *llama_cache_new(const struct llama_model *m, int slots, int max_len)
{
	if (slots < 1 || max_len < 1) {
		err_set("cache of %d slots × %d tokens", slots, max_len);
		return NULL;
	}
	struct llama_cache *kc = calloc(1, sizeof *kc);
	if (!kc) {
		err_oom();
		return NULL;
	}
	kc->slots = slots;
	kc->max_len = max_len;
	kc->layers = m->cfg.layers;
	kc->kd = (size_t)m->cfg.kv_heads * m->cfg.head_dim;
	size_t n = (size_t)slots * kc->layers * max_len * kc->kd;
	kc->len = calloc(slots, sizeof *kc->len);
	kc->k = n / slots / max_len == kc->layers * kc->kd ? malloc(n * sizeof(float)) : NULL;
	kc->v = kc->k ? malloc(n * sizeof(float)) : NULL;
	kc->pk = calloc(slots, sizeof *kc->pk);
	kc->pv = calloc(slots, sizeof *kc->pv);
	kc->pos0 = calloc(slots, sizeof *kc->pos0);
	kc->seen = calloc(slots, 1);
	if (!kc->len || !kc->k || !kc->v || !kc->pk || !kc->pv || !kc->pos0 || !kc->seen) {
		llama_cache_free(kc);
		err_oom();
		return NULL;
	}
	return kc;
}

void llama_cache_free(struct llama_cache *kc)
{
	if (!kc)
		return;
	free(kc->len);
	free(kc->k);
	free(kc->v);
	free(kc->pk);
	free(kc->pv);
	free(kc->pos0);
	free(kc->seen);
	free(kc);
}

void llama_cache_clear(struct llama_cache *kc, int slot)
{
	if (slot >= 0 && slot < kc->slots)
		kc->len[slot] = 0;
}

int llama_cache_len(const struct llama_cache *kc, int slot)
{
	return slot >= 0 && slot < kc->slots ? kc->len[slot] : 0;
}

int llama_step(struct llama_model *m, struct llama_cache *kc, int n, const int *slots,
               const int *lens, const int *tokens, float *logits)
{
	if (check_tokens(m, n, lens, tokens))
		return -1;
	if (n > kc->slots)
		return err_set("%d sequences for a cache of %d slots", n, kc->slots);
	if (kc->layers != m->cfg.layers || kc->kd != (size_t)m->cfg.kv_heads * m->cfg.head_dim)
		return err_set("cache made for another model");
	memset(kc->seen, 0, kc->slots);
	int rc = 0;
	for (int s = 0; s < n && !rc; s++) {
		int sl = slots[s];
		if (sl < 0 || sl >= kc->slots)
			rc = err_set("slot %d outside the cache's %d", sl, kc->slots);
		else if (kc->seen[sl]++)
			rc = err_set("slot %d given twice", sl);
		else if (lens[s] > kc->max_len - kc->len[sl])
			rc = err_set("slot %d: %d + %d tokens exceed the cache's %d", sl, kc->len[sl],
			             lens[s], kc->max_len);
		else {
			size_t base = (size_t)sl * kc->layers * kc->max_len * kc->kd;
			kc->pk[s] = kc->k + base;
			kc->pv[s] = kc->v + base;
			kc->pos0[s] = kc->len[sl];
		}
	}
	if (rc)
		return rc;
	struct net nt = net_of(m);
	struct kv kv = { kc->pk, kc->pv, (size_t)kc->max_len * kc->kd, kc->pos0, 0 };
	if (core_step(&nt, &m->ws->w, n, lens, tokens, &kv, logits))
		return -1;
	for (int s = 0; s < n; s++)
		kc->len[slots[s]] += lens[s];
	return 0;
}

int llama_logprobs_cont(struct llama_model *m, const struct llama_cache *kc, int n, const int *slots,
                        const int *lens, const int *tokens, const int *targets, float *logp)
{
	if (check_tokens(m, n, lens, tokens))
		return -1;
	if (kc->layers != m->cfg.layers || kc->kd != (size_t)m->cfg.kv_heads * m->cfg.head_dim)
		return err_set("cache made for another model");
	int N = 0;
	for (int s = 0; s < n; s++)
		N += lens[s];
	for (int i = 0; i < N; i++)
		if (targets[i] < -1 || targets[i] >= m->cfg.vocab)
			return err_set("target id %d outside the vocabulary [0, %d)", targets[i], m->cfg.vocab);
	float **pk = malloc((size_t)n * sizeof *pk), **pv = malloc((size_t)n * sizeof *pv);
	int *pos0 = malloc((size_t)n * sizeof *pos0), rc = 0;
	if (!pk || !pv || !pos0)
		rc = err_oom();
	for (int s = 0; s < n && !rc; s++) {
		int sl = slots[s];
		if (sl < 0 || sl >= kc->slots)
			rc = err_set("slot %d outside the cache's %d", sl, kc->slots);
		else {
			size_t base = (size_t)sl * kc->layers * kc->max_len * kc->kd;
			pk[s] = kc->k + base;
			pv[s] = kc->v + base;
			pos0[s] = kc->len[sl];
		}
	}
	if (!rc) {
		struct net nt = net_of(m);
		struct kv kv = { pk, pv, (size_t)kc->max_len * kc->kd, pos0, 1 };
		rc = core_cont(&nt, &m->ws->w, n, lens, tokens, targets, &kv, logp);
	}
	free(pk);
	free(pv);
	free(pos0);
	return rc;
}

int llama_loss_grad(struct llama_model *m, int B, int T, const int *tokens, const int *targets,
                    float *grad, double *loss)
{
	if (B < 1 || T < 1)
		return err_set("batch of %d × %d tokens", B, T);
	if (!m->params || !llama_config_plain(&m->cfg))
		return err_set("training: only a plain Llama in f32 is trained");
	for (size_t i = 0; i < (size_t)B * T; i++) {
		if (tokens[i] < 0 || tokens[i] >= m->cfg.vocab)
			return err_set("token id %d outside the vocabulary [0, %d)", tokens[i], m->cfg.vocab);
		if (targets[i] < -1 || targets[i] >= m->cfg.vocab)
			return err_set("target id %d outside the vocabulary [0, %d)", targets[i], m->cfg.vocab);
	}
	struct net nt = net_of(m);
	return core_loss_grad(&nt, &m->ws->w, m->n_params, B, T, tokens, targets, grad, loss);
}
#endif
