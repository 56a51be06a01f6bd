/* llama_core.c — the arithmetic of llama.h: forward pass over packed batches (with or without a
 * KV cache), backward pass of the mean cross-entropy, and the model's lifetime (it owns the
 * workspace these need).
 *
 * The math is written once over the type `real`. The library compiles it as float. The
 * gradient-check test #includes this file with LLAMA_CORE_DOUBLE defined, which turns `real`
 * into double (and sgemm into dgemm) and leaves out the public float entry points, so finite
 * differences run through exactly this code.
 *
 * Activation layout: a batch is N = Σlens tokens packed row after row; every activation is an
 * (N, width) row-major matrix, so each projection is one gemm over all sequences. Attention is
 * done per (sequence, head) with plain loops. For training every layer's activations are kept
 * ([layer][N][width]); for inference one layer's worth is reused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>

#include "err.h"
#include "llama.h"

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

/* The parameters seen through the config and tensor table. */
struct net {
	const struct llama_config *c;
	const struct llama_tensor *t;
	const real *P;
};

static size_t woff(const struct llama_config *c, const struct llama_tensor *t, int kind, int layer)
{
	if (kind == LLAMA_HEAD && c->tie_embeddings)
		kind = LLAMA_EMBED;
	return t[llama_tensor_index(c, kind, layer)].offset;
}
#define W(nt, kind, l) ((nt)->P + woff((nt)->c, (nt)->t, kind, l))

/* Workspace: growable buffers, by role. */
enum {
	B_X, B_INV1, B_A, B_Q, B_K, B_V, B_ATT, B_Y, B_XM, B_INV2, B_B, B_G, B_U, B_H,
	B_INVF, B_XF, B_LOGITS, B_COS, B_SIN, B_ROW,
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

/* --- kernels --- */

/* y(N, out) = beta·y + x(N, in) · w(out, in)ᵀ — a projection with PyTorch's weight layout. */
static void matmul_forward(real *y, const real *x, const real *w, int N, int out, int in, real beta)
{
	GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in, 1, x, in, w, in, beta, y, out);
}

/* Backward of matmul_forward: dx(N, in) = beta·dx + dy(N, out) · w(out, in), and
 * dw(out, in) += dy(N, out)ᵀ · x(N, in). */
static void matmul_backward(real *dx, real beta, real *dw, const real *dy, const real *x,
                            const real *w, int N, int out, int in)
{
	if (dx)
		GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1, dy, out, w, in, beta, dx, in);
	GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, N, 1, dy, out, x, in, 1, dw, in);
}

/* y = x · rsqrt(mean(x²) + eps) · w, row by row, as Hugging Face computes it in f32; inv keeps
 * the rsqrt for the backward pass. */
static void rmsnorm_forward(real *y, real *inv, const real *x, const real *w, int N, int C, double eps)
{
	for (int i = 0; i < N; i++) {
		const real *xi = x + (size_t)i * C;
		real *yi = y + (size_t)i * C;
		double ss = 0;
		for (int j = 0; j < C; j++)
			ss += (double)xi[j] * xi[j];
		real var = (real)(ss / C) + (real)eps, r = 1 / SQRT(var);
		if (inv)
			inv[i] = r;
		for (int j = 0; j < C; j++)
			yi[j] = w[j] * (xi[j] * r);
	}
}

/* dx += d/dx of rmsnorm; dw += d/dw. With n = x·inv: dx = inv·(dy·w − n·mean(dy·w·n)). */
static void rmsnorm_backward(real *dx, real *dw, const real *dy, const real *x, const real *inv,
                             const real *w, int N, int C)
{
	for (int i = 0; i < N; i++) {
		const real *xi = x + (size_t)i * C, *dyi = dy + (size_t)i * C;
		real *dxi = dx + (size_t)i * C, r = inv[i];
		double dot = 0;
		for (int j = 0; j < C; j++)
			dot += (double)dyi[j] * w[j] * xi[j] * r;
		real m = (real)(dot / C);
		for (int j = 0; j < C; j++) {
			real n = xi[j] * r;
			dxi[j] += r * (dyi[j] * w[j] - n * m);
			dw[j] += dyi[j] * n;
		}
	}
}

/* Rotary tables for every token of the batch: cos/sin (N, D/2) of pos·θ^(-2j/D), in the
 * precision Hugging Face uses (inv_freq and the angle rounded to real). */
static void rope_tables(real *cs, real *sn, const int *pos, int N, int D, double theta)
{
	int h = D / 2;
	for (int j = 0; j < h; j++) {
		real inv = (real)(1.0 / pow(theta, (double)(2 * j) / D));
		for (int i = 0; i < N; i++) {
			real a = (real)pos[i] * inv;
			cs[(size_t)i * h + j] = COS(a);
			sn[(size_t)i * h + j] = SIN(a);
		}
	}
}

/* In place on x (N, nh·D): rotate_half pairing, x[j] with x[j + D/2]. dir -1 applies the
 * transpose (the backward pass). */
static void rope_apply(real *x, int N, int nh, int D, const real *cs, const real *sn, int dir)
{
	int h = D / 2;
	for (int i = 0; i < N; i++) {
		const real *c = cs + (size_t)i * h, *s = sn + (size_t)i * h;
		for (int k = 0; k < nh; k++) {
			real *a = x + ((size_t)i * nh + k) * D, *b = a + h;
			for (int j = 0; j < h; j++) {
				real x1 = a[j], x2 = b[j], sj = dir > 0 ? s[j] : -s[j];
				a[j] = x1 * c[j] - x2 * sj;
				b[j] = x2 * c[j] + x1 * sj;
			}
		}
	}
}

static void axpy(real *y, real a, const real *x, int n)
{
	for (int i = 0; i < n; i++)
		y[i] += a * x[i];
}

/* Where a batch's keys and values live: either this pass's k, v (no cache: every sequence starts
 * at position 0) or cache rows (k[s], v[s] point at sequence s's slot, layers lstride apart,
 * pos0[s] tokens already there). */
struct kv {
	real *const *k, *const *v;
	size_t lstride;
	const int *pos0;
};

/* Causal grouped-query attention of layer l: y (N, H·D) from q (N, H·D) and the keys/values,
 * per (sequence, head) as two gemms: S = q·kᵀ·scale (L, Lk), softmax over each row's first
 * p0+i+1 keys (the rest zeroed), y = S·v. Query head h reads kv head h / (H / kv_heads), as
 * Hugging Face's repeat_kv. The causal upper triangle is computed and discarded: gemm is so much
 * faster than a loop that this wins. With att (training, no cache), the probabilities of
 * sequence s, head h are kept as an (L, L) matrix at att[H·aoff[s] + h·L·L]; otherwise
 * scratch (room for L·Lk) is used. */
static void attention_forward(const struct llama_config *c, struct ws *w, int l, real *y,
                              const real *q, const real *k, const real *v, const struct kv *kc,
                              real *att, real *scratch)
{
	const int H = c->heads, D = c->head_dim, QD = H * D, KD = c->kv_heads * D;
	const int group = H / c->kv_heads;
	const real scale = (real)(1 / sqrt((double)D));
	for (int s = 0; s < w->n; s++) {
		int L = w->lens[s], p0 = kc ? kc->pos0[s] : 0, Lk = p0 + L;
		const real *K = kc ? kc->k[s] + l * kc->lstride : k + (size_t)w->off[s] * KD;
		const real *V = kc ? kc->v[s] + l * kc->lstride : v + (size_t)w->off[s] * KD;
		for (int h = 0; h < H; h++) {
			int g = h / group;
			const real *qh = q + (size_t)w->off[s] * QD + h * D;
			real *yh = y + (size_t)w->off[s] * QD + h * D;
			real *S = att ? att + (size_t)H * w->aoff[s] + (size_t)h * L * L : scratch;
			if (!att && L <= 4) {
				/* Decoding: a few rows against the cache; gemv reads k and v in place,
				 * where gemm would first copy them. */
				for (int i = 0; i < L; i++) {
					int nk = p0 + i + 1;
					real *p = S, mx = -INFINITY, sum = 0;
					GEMV(CblasRowMajor, CblasNoTrans, nk, D, scale, K + g * D, KD,
					     qh + (size_t)i * QD, 1, 0, p, 1);
					for (int j = 0; j < nk; j++)
						if (p[j] > mx)
							mx = p[j];
					for (int j = 0; j < nk; j++)
						sum += p[j] = EXP(p[j] - mx);
					GEMV(CblasRowMajor, CblasTrans, nk, D, 1 / sum, V + g * D, KD, p, 1, 0,
					     yh + (size_t)i * QD, 1);
				}
				continue;
			}
			GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, L, Lk, D, scale, qh, QD,
			     K + g * D, KD, 0, S, Lk);
			for (int i = 0; i < L; i++) {
				real *p = S + (size_t)i * Lk, mx = -INFINITY, sum = 0;
				int nk = p0 + i + 1;
				for (int j = 0; j < nk; j++)
					if (p[j] > mx)
						mx = p[j];
				for (int j = 0; j < nk; j++)
					sum += p[j] = EXP(p[j] - mx);
				for (int j = 0; j < nk; j++)
					p[j] /= sum;
				for (int j = nk; j < Lk; j++)
					p[j] = 0;
			}
			GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, D, Lk, 1, S, Lk,
			     V + g * D, KD, 0, yh, QD);
		}
	}
}

/* Backward of attention_forward without cache, per (sequence, head): with P the kept
 * probabilities, dP = dy·vᵀ, dv += Pᵀ·dy, dS = P∘(dP − rowsum(P∘dP)), dq = scale·dS·k,
 * dk += scale·dSᵀ·q. dq is written whole; dk and dv are zeroed here and accumulated over the
 * heads that share them. dp: scratch of L·L. */
static void attention_backward(const struct llama_config *c, struct ws *w, real *dq, real *dk,
                               real *dv, const real *dy, const real *q, const real *k,
                               const real *v, const real *att, real *dp)
{
	const int H = c->heads, D = c->head_dim, QD = H * D, KD = c->kv_heads * D;
	const int group = H / c->kv_heads;
	const real scale = (real)(1 / sqrt((double)D));
	memset(dk, 0, (size_t)w->N * KD * sizeof *dk);
	memset(dv, 0, (size_t)w->N * KD * sizeof *dv);
	for (int s = 0; s < w->n; s++) {
		int L = w->lens[s];
		size_t o = w->off[s];
		for (int h = 0; h < H; h++) {
			int g = h / group;
			const real *P = att + (size_t)H * w->aoff[s] + (size_t)h * L * L;
			const real *dyh = dy + o * QD + h * D, *qh = q + o * QD + h * D;
			const real *kg = k + o * KD + g * D, *vg = v + o * KD + g * D;
			GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, D, 1, dyh, QD, vg, KD, 0, dp, L);
			GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, L, D, L, 1, P, L, dyh, QD, 1,
			     dv + o * KD + g * D, KD);
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
			     dq + o * QD + h * D, QD);
			GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, L, D, L, scale, dp, L, qh, QD, 1,
			     dk + o * KD + g * D, KD);
		}
	}
}

static real silu(real x) { return x / (1 + EXP(-x)); }

/* --- passes --- */

/* Lays out a batch of n sequences (starting at positions pos0[s], or 0) in the workspace and
 * sizes every buffer: per layer when train. */
static int batch_prepare(const struct llama_config *c, struct ws *w, int n, const int *lens,
                         const int *pos0, int train)
{
	const int C = c->hidden, QD = c->heads * c->head_dim, KD = c->kv_heads * c->head_dim;
	const int F = c->ff, D = c->head_dim;
	size_t N = 0, att = 0;
	size_t scratch = 1;   /* attention scores of one (sequence, head) */
	for (int s = 0; s < n; s++) {
		N += lens[s];
		att += (size_t)lens[s] * lens[s];
		size_t sc = (size_t)lens[s] * ((pos0 ? pos0[s] : 0) + lens[s]);
		if (sc > scratch)
			scratch = sc;
	}
	if (N > INT32_MAX / 2 || (train && att > INT32_MAX))
		return err_set("batch too large");
	w->n = n;
	w->N = (int)N;
	w->lens = lens;
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
		{ B_ROW, scratch },
	};
	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
		if (need[i].n && !wbuf(w, need[i].b, need[i].n))
			return -1;
	rope_tables(w->b[B_COS], w->b[B_SIN], w->pos, w->N, D, c->rope_theta);
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
	const int F = c->ff, N = w->N;
	const real *E = W(nt, LLAMA_EMBED, -1);
	for (int i = 0; i < N; i++)
		memcpy(w->b[B_X] + (size_t)i * C, E + (size_t)tokens[i] * C, C * sizeof(real));
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
		matmul_forward(q, a, W(nt, LLAMA_Q, l), N, QD, C, 0);
		matmul_forward(k, a, W(nt, LLAMA_K, l), N, KD, C, 0);
		matmul_forward(v, a, W(nt, LLAMA_V, l), N, KD, C, 0);
		rope_apply(q, N, c->heads, c->head_dim, w->b[B_COS], w->b[B_SIN], 1);
		rope_apply(k, N, c->kv_heads, c->head_dim, w->b[B_COS], w->b[B_SIN], 1);
		if (kc) {
			for (int s = 0; s < w->n; s++) {
				size_t at = (size_t)kc->pos0[s] * KD, o = (size_t)w->off[s] * KD;
				size_t len = (size_t)w->lens[s] * KD * sizeof(real);
				memcpy(kc->k[s] + l * kc->lstride + at, k + o, len);
				memcpy(kc->v[s] + l * kc->lstride + at, v + o, len);
			}
		}
		attention_forward(c, w, l, y, q, k, v, kc, att, w->b[B_ROW]);
		if (xm != x)
			memcpy(xm, x, (size_t)N * C * sizeof(real));
		matmul_forward(xm, y, W(nt, LLAMA_O, l), N, C, QD, 1);

		rmsnorm_forward(b, inv2, xm, W(nt, LLAMA_LN2, l), N, C, c->rms_eps);
		matmul_forward(g, b, W(nt, LLAMA_GATE, l), N, F, C, 0);
		matmul_forward(u, b, W(nt, LLAMA_UP, l), N, F, C, 0);
		for (size_t i = 0; i < (size_t)N * F; i++)
			h[i] = silu(g[i]) * u[i];
		if (xn != xm)
			memcpy(xn, xm, (size_t)N * C * sizeof(real));
		matmul_forward(xn, h, W(nt, LLAMA_DOWN, l), N, C, F, 1);
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
	matmul_forward(logits, w->b[B_XF], W(nt, LLAMA_HEAD, -1), w->N, c->vocab, c->hidden, 0);
	return 0;
}

/* log-softmax of row z (V) at index t, in double. */
static double log_softmax_at(const real *z, int V, int t)
{
	real mx = z[0];
	for (int j = 1; j < V; j++)
		if (z[j] > mx)
			mx = z[j];
	double sum = 0;
	for (int j = 0; j < V; j++)
		sum += EXP(z[j] - mx);
	return (double)(z[t] - mx) - log(sum);
}

CORE int core_logprobs(const struct net *nt, struct ws *w, int n, const int *lens,
                       const int *tokens, real *logp)
{
	const struct llama_config *c = nt->c;
	const int C = c->hidden, V = c->vocab, R = head_chunk(c);
	if (batch_prepare(c, w, n, lens, NULL, 0))
		return -1;
	real *z = wbuf(w, B_LOGITS, (size_t)R * V);
	int *rows = wibuf(w, I_ROWS, R);
	if (!z || !rows)
		return -1;
	layers_forward(nt, w, tokens, NULL, 0);
	/* Only rows that predict a token of their own sequence go through lm_head. */
	const real *x = final_x(c, w, 0), *nw = W(nt, LLAMA_NORM, -1), *hw = W(nt, LLAMA_HEAD, -1);
	int k = 0;
	for (int s = 0; s < n; s++) {
		logp[w->off[s]] = 0;
		for (int i = w->off[s]; i < w->off[s + 1]; i++) {
			if (i + 1 < w->off[s + 1]) {
				rmsnorm_forward(w->b[B_XF] + (size_t)k * C, NULL, x + (size_t)i * C, nw, 1, C,
				                c->rms_eps);
				rows[k++] = i;
			}
			if (k == R || (k > 0 && s == n - 1 && i == w->off[s + 1] - 1)) {
				matmul_forward(z, w->b[B_XF], hw, k, V, C, 0);
				for (int r = 0; r < k; r++)
					logp[rows[r] + 1] = (real)log_softmax_at(z + (size_t)r * V, V,
					                                         tokens[rows[r] + 1]);
				k = 0;
			}
		}
	}
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
	for (int s = 0; s < n; s++)
		rmsnorm_forward(w->b[B_XF] + (size_t)s * C, NULL, x + (size_t)(w->off[s + 1] - 1) * C,
		                W(nt, LLAMA_NORM, -1), 1, C, c->rms_eps);
	matmul_forward(logits, w->b[B_XF], W(nt, LLAMA_HEAD, -1), n, c->vocab, C, 0);
	return 0;
}

/* Mean cross-entropy of a (B, T) batch and its gradient G (the parameters' layout). */
CORE int core_loss_grad(const struct net *nt, struct ws *w, size_t n_params, int B, int T,
                        const int *tokens, const int *targets, real *G, double *loss)
{
	const struct llama_config *c = nt->c;
	const int C = c->hidden, QD = c->heads * c->head_dim, KD = c->kv_heads * c->head_dim;
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
	real *z = wbuf(w, B_LOGITS, (size_t)R * V);
	real *dx = wbuf(w, B_DX, (size_t)N * C), *da = wbuf(w, B_DA, (size_t)N * C);
	real *dq = wbuf(w, B_DQ, (size_t)N * QD), *dy = wbuf(w, B_DY, (size_t)N * QD);
	real *dk = wbuf(w, B_DK, (size_t)N * KD), *dv = wbuf(w, B_DV, (size_t)N * KD);
	real *dg = wbuf(w, B_DG, (size_t)N * F), *du = wbuf(w, B_DU, (size_t)N * F);
	real *dxf = wbuf(w, B_DXF, (size_t)N * C), *db = wbuf(w, B_DB, (size_t)N * C);
	if (!z || !dx || !da || !dq || !dy || !dk || !dv || !dg || !du || !dxf || !db)
		return -1;
	layers_forward(nt, w, tokens, NULL, 1);
	memset(G, 0, n_params * sizeof *G);
#define GW(kind, l) (G + woff(c, nt->t, kind, l))

	/* Head: logits chunk by chunk, dlogits = (softmax − onehot)/count in place. */
	real *xL = final_x(c, w, 1), *xf = w->b[B_XF], *invf = w->b[B_INVF];
	rmsnorm_forward(xf, invf, xL, W(nt, LLAMA_NORM, -1), N, C, c->rms_eps);
	double total = 0;
	for (int r0 = 0; r0 < N; r0 += R) {
		int nr = N - r0 < R ? N - r0 : R;
		matmul_forward(z, xf + (size_t)r0 * C, W(nt, LLAMA_HEAD, -1), nr, V, C, 0);
		for (int r = 0; r < nr; r++) {
			real *zr = z + (size_t)r * V;
			int t = targets[r0 + r];
			if (t < 0) {
				memset(zr, 0, V * sizeof *zr);
				continue;
			}
			real mx = zr[0];
			for (int j = 1; j < V; j++)
				if (zr[j] > mx)
					mx = zr[j];
			double sum = 0, zt = zr[t] - mx;
			for (int j = 0; j < V; j++)
				sum += zr[j] = EXP(zr[j] - mx);
			total += log(sum) - zt;
			real f = (real)(1 / (sum * count));
			for (int j = 0; j < V; j++)
				zr[j] *= f;
			zr[t] -= (real)(1.0 / count);
		}
		matmul_backward(dxf + (size_t)r0 * C, 0, GW(LLAMA_HEAD, -1), z, xf + (size_t)r0 * C,
		                W(nt, LLAMA_HEAD, -1), nr, V, C);
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
		real *att = w->b[B_ATT] + li * c->heads * w->aoff[w->n];

		/* MLP: dh = dx·Wdown into dg, then split through silu(g)·u. */
		matmul_backward(dg, 0, GW(LLAMA_DOWN, l), dx, h, W(nt, LLAMA_DOWN, l), N, C, F);
		for (size_t i = 0; i < (size_t)N * F; i++) {
			real sg = 1 / (1 + EXP(-g[i])), dh = dg[i];
			du[i] = dh * g[i] * sg;
			dg[i] = dh * u[i] * sg * (1 + g[i] * (1 - sg));
		}
		matmul_backward(db, 0, GW(LLAMA_GATE, l), dg, b, W(nt, LLAMA_GATE, l), N, F, C);
		matmul_backward(db, 1, GW(LLAMA_UP, l), du, b, W(nt, LLAMA_UP, l), N, F, C);
		rmsnorm_backward(dx, GW(LLAMA_LN2, l), db, xm, inv2, W(nt, LLAMA_LN2, l), N, C);

		/* Attention. */
		matmul_backward(dy, 0, GW(LLAMA_O, l), dx, y, W(nt, LLAMA_O, l), N, C, QD);
		attention_backward(c, w, dq, dk, dv, dy, q, k, v, att, w->b[B_ROW]);
		rope_apply(dq, N, c->heads, c->head_dim, w->b[B_COS], w->b[B_SIN], -1);
		rope_apply(dk, N, c->kv_heads, c->head_dim, w->b[B_COS], w->b[B_SIN], -1);
		matmul_backward(da, 0, GW(LLAMA_Q, l), dq, a, W(nt, LLAMA_Q, l), N, QD, C);
		matmul_backward(da, 1, GW(LLAMA_K, l), dk, a, W(nt, LLAMA_K, l), N, KD, C);
		matmul_backward(da, 1, GW(LLAMA_V, l), dv, a, W(nt, LLAMA_V, l), N, KD, C);
		rmsnorm_backward(dx, GW(LLAMA_LN1, l), da, x, inv1, W(nt, LLAMA_LN1, l), N, C);
	}
	real *GE = GW(LLAMA_EMBED, -1);
	for (int i = 0; i < N; i++)
		axpy(GE + (size_t)tokens[i] * C, 1, dx + (size_t)i * C, C);
#undef GW
	return 0;
}

#ifndef LLAMA_CORE_DOUBLE
/* --- the public float API --- */

struct llama_ws {
	struct ws w;
};

struct llama_model *llama_new(const struct llama_config *cfg)
{
	struct llama_model *m = calloc(1, sizeof *m);
	if (!m) {
		err_oom();
		return NULL;
	}
	m->cfg = *cfg;
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

void llama_free(struct llama_model *m)
{
	if (!m)
		return;
	if (m->ws)
		ws_free(&m->ws->w);
	free(m->ws);
	free(m->params);
	free(m->filled);
	free(m->tensors);
	free(m);
}

static struct net net_of(const struct llama_model *m)
{
	return (struct net){ &m->cfg, m->tensors, m->params };
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

int llama_logprobs(struct llama_model *m, int n, const int *lens, const int *tokens, float *logp)
{
	struct net nt = net_of(m);
	if (check_tokens(m, n, lens, tokens))
		return -1;
	return core_logprobs(&nt, &m->ws->w, n, lens, tokens, logp);
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
	struct kv kv = { kc->pk, kc->pv, (size_t)kc->max_len * kc->kd, kc->pos0 };
	if (core_step(&nt, &m->ws->w, n, lens, tokens, &kv, logits))
		return -1;
	for (int s = 0; s < n; s++)
		kc->len[slots[s]] += lens[s];
	return 0;
}

int llama_loss_grad(struct llama_model *m, int B, int T, const int *tokens, const int *targets,
                    float *grad, double *loss)
{
	if (B < 1 || T < 1)
		return err_set("batch of %d × %d tokens", B, T);
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
