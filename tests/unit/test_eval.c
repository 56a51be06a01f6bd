/* Unit tests of common/eval: log-likelihoods, greedy matches and the three task metrics against
 * a naive Llama forward pass written here (double precision, plain loops, one sequence at a time,
 * no cache, every prefix recomputed), batched against unbatched, a model whose weights make the
 * answers known (all zero: uniform next-token distribution), ties and NaN, the record fields, and
 * the reading of harness outputs (recycle records, lm-evaluation-harness results). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "dtype.h"
#include "eval.h"
#include "lmio.h"
#include "rec.h"
#include "rng.h"
#include "t.h"

/* --- the reference --- */

static const float *par(struct llama_model *m, const char *fmt, int layer)
{
	char name[128];
	snprintf(name, sizeof name, fmt, layer);
	const float *p = llama_param(m, name, NULL);
	if (!p) {
		printf("# no parameter %s\n", name);
		exit(1);
	}
	return p;
}

/* y(out) = W(out, in) · x(in), W in PyTorch's layout. */
static void matvec(double *y, const float *W, const double *x, int out, int in)
{
	for (int o = 0; o < out; o++) {
		double s = 0;
		for (int i = 0; i < in; i++)
			s += (double)W[(size_t)o * in + i] * x[i];
		y[o] = s;
	}
}

static void rmsnorm(double *y, const double *x, const float *w, int C, double eps)
{
	double ss = 0;
	for (int j = 0; j < C; j++)
		ss += x[j] * x[j];
	double r = 1 / sqrt(ss / C + eps);
	for (int j = 0; j < C; j++)
		y[j] = x[j] * r * w[j];
}

/* Rotary embedding of one head vector at position pos: dimension j pairs with j + D/2. */
static void rope(double *h, int D, int pos, double theta)
{
	for (int j = 0; j < D / 2; j++) {
		double a = pos * pow(theta, -2.0 * j / D), c = cos(a), s = sin(a);
		double x1 = h[j], x2 = h[j + D / 2];
		h[j] = x1 * c - x2 * s;
		h[j + D / 2] = x2 * c + x1 * s;
	}
}

/* logits (L, V) of the tokens tok[0..L), every position. */
static void naive_forward(struct llama_model *m, const int *tok, int L, double *logits)
{
	const struct llama_config *c = &m->cfg;
	const int C = c->hidden, H = c->heads, KV = c->kv_heads, D = c->head_dim, F = c->ff, V = c->vocab;
	double *x = calloc((size_t)L * C, sizeof *x), *a = calloc(C, sizeof *a);
	double *q = calloc((size_t)L * H * D, sizeof *q), *k = calloc((size_t)L * KV * D, sizeof *k);
	double *v = calloc((size_t)L * KV * D, sizeof *v), *y = calloc((size_t)H * D, sizeof *y);
	double *o = calloc(C, sizeof *o), *g = calloc(F, sizeof *g), *u = calloc(F, sizeof *u);
	double *p = calloc(L, sizeof *p);
	const float *E = par(m, "model.embed_tokens.weight", 0);
	for (int i = 0; i < L; i++)
		for (int j = 0; j < C; j++)
			x[(size_t)i * C + j] = E[(size_t)tok[i] * C + j];
	for (int l = 0; l < c->layers; l++) {
		for (int i = 0; i < L; i++) {
			rmsnorm(a, x + (size_t)i * C, par(m, "model.layers.%d.input_layernorm.weight", l), C, c->rms_eps);
			matvec(q + (size_t)i * H * D, par(m, "model.layers.%d.self_attn.q_proj.weight", l), a, H * D, C);
			matvec(k + (size_t)i * KV * D, par(m, "model.layers.%d.self_attn.k_proj.weight", l), a, KV * D, C);
			matvec(v + (size_t)i * KV * D, par(m, "model.layers.%d.self_attn.v_proj.weight", l), a, KV * D, C);
			for (int h = 0; h < H; h++)
				rope(q + ((size_t)i * H + h) * D, D, i, c->rope_theta);
			for (int h = 0; h < KV; h++)
				rope(k + ((size_t)i * KV + h) * D, D, i, c->rope_theta);
		}
		/* Each position attends to itself and the ones before; query head h reads kv head
		 * h / (H / KV). The residual is added after every position's attention is computed. */
		double *xa = calloc((size_t)L * C, sizeof *xa);
		for (int i = 0; i < L; i++) {
			for (int h = 0; h < H; h++) {
				int kh = h / (H / KV);
				const double *qi = q + ((size_t)i * H + h) * D;
				double mx = -INFINITY, sum = 0;
				for (int j = 0; j <= i; j++) {
					double s = 0;
					for (int d = 0; d < D; d++)
						s += qi[d] * k[((size_t)j * KV + kh) * D + d];
					p[j] = s / sqrt((double)D);
					if (p[j] > mx)
						mx = p[j];
				}
				for (int j = 0; j <= i; j++)
					sum += p[j] = exp(p[j] - mx);
				for (int d = 0; d < D; d++) {
					double s = 0;
					for (int j = 0; j <= i; j++)
						s += p[j] / sum * v[((size_t)j * KV + kh) * D + d];
					y[h * D + d] = s;
				}
			}
			matvec(o, par(m, "model.layers.%d.self_attn.o_proj.weight", l), y, C, H * D);
			for (int j = 0; j < C; j++)
				xa[(size_t)i * C + j] = x[(size_t)i * C + j] + o[j];
		}
		memcpy(x, xa, (size_t)L * C * sizeof *x);
		free(xa);
		for (int i = 0; i < L; i++) {
			double *xi = x + (size_t)i * C;
			rmsnorm(a, xi, par(m, "model.layers.%d.post_attention_layernorm.weight", l), C, c->rms_eps);
			matvec(g, par(m, "model.layers.%d.mlp.gate_proj.weight", l), a, F, C);
			matvec(u, par(m, "model.layers.%d.mlp.up_proj.weight", l), a, F, C);
			for (int j = 0; j < F; j++)
				g[j] = g[j] / (1 + exp(-g[j])) * u[j];
			matvec(o, par(m, "model.layers.%d.mlp.down_proj.weight", l), g, C, F);
			for (int j = 0; j < C; j++)
				xi[j] += o[j];
		}
	}
	const float *head = c->tie_embeddings ? E : par(m, "lm_head.weight", 0);
	for (int i = 0; i < L; i++) {
		rmsnorm(a, x + (size_t)i * C, par(m, "model.norm.weight", 0), C, c->rms_eps);
		matvec(logits + (size_t)i * V, head, a, V, C);
	}
	free(x); free(a); free(q); free(k); free(v); free(y); free(o); free(g); free(u); free(p);
}

static double log_softmax(const double *z, int V, int t)
{
	double mx = z[0], s = 0;
	for (int j = 1; j < V; j++)
		if (z[j] > mx)
			mx = z[j];
	for (int j = 0; j < V; j++)
		s += exp(z[j] - mx);
	return z[t] - mx - log(s);
}

/* Σ log P(cont | ctx) by the reference. */
static double naive_ll(struct llama_model *m, const int32_t *ctx, size_t nctx, const int32_t *cont, size_t ncont)
{
	int L = (int)(nctx + ncont), V = m->cfg.vocab, *tok = malloc(L * sizeof *tok);
	double *z = malloc((size_t)L * V * sizeof *z), s = 0;
	for (size_t i = 0; i < nctx; i++)
		tok[i] = ctx[i];
	for (size_t i = 0; i < ncont; i++)
		tok[nctx + i] = cont[i];
	naive_forward(m, tok, L, z);
	for (int p = (int)nctx; p < L; p++)
		s += log_softmax(z + (size_t)(p - 1) * V, V, tok[p]);
	free(tok);
	free(z);
	return s;
}

/* The reference's next-token logits after tok[0..L): the last row of a full forward pass. */
static void naive_next(struct llama_model *m, const int32_t *tok, int L, double *out)
{
	int V = m->cfg.vocab, *t = malloc(L * sizeof *t);
	double *z = malloc((size_t)L * V * sizeof *z);
	for (int i = 0; i < L; i++)
		t[i] = tok[i];
	naive_forward(m, t, L, z);
	memcpy(out, z + (size_t)(L - 1) * V, V * sizeof *out);
	free(t);
	free(z);
}

/* Gap between the largest and second largest of z. */
static double top_gap(const double *z, int V)
{
	double a = -INFINITY, b = -INFINITY;
	for (int j = 0; j < V; j++) {
		if (z[j] > a) {
			b = a;
			a = z[j];
		} else if (z[j] > b) {
			b = z[j];
		}
	}
	return a - b;
}

/* --- models --- */

static rng trng;

static struct llama_model *model(int vocab, int hidden, int heads, int kv, int head_dim, int tie, uint64_t seed)
{
	struct llama_config c;
	llama_config_default(&c);
	c.vocab = vocab;
	c.hidden = hidden;
	c.layers = 2;
	c.heads = heads;
	c.kv_heads = kv;
	c.head_dim = head_dim;
	c.ff = 3 * hidden / 2;
	c.tie_embeddings = tie;
	c.rope_theta = 500;   /* small: the rotations matter at short positions */
	c.rms_eps = 1e-5;
	struct llama_model *m = llama_new(&c);
	if (!m) {
		printf("# llama_new: %s\n", err_get());
		exit(1);
	}
	llama_init(m, seed, 0.25);
	/* Norm weights away from 1, so that using them wrongly shows. */
	for (int i = 0; i < m->n_tensors; i++) {
		const struct llama_tensor *t = &m->tensors[i];
		if (t->ndim == 1)
			for (size_t j = 0; j < t->numel; j++)
				m->params[t->offset + j] = (float)(0.5 + rng_uniform(&trng));
	}
	return m;
}

static int32_t *rand_tokens(size_t n, int vocab)
{
	int32_t *t = malloc((n ? n : 1) * sizeof *t);
	for (size_t i = 0; i < n; i++)
		t[i] = (int32_t)rng_below(&trng, (uint64_t)vocab);
	return t;
}

static int close_rel(double a, double b, double tol) { return fabs(a - b) <= tol * fmax(1, fabs(b)); }

/* --- log-likelihoods --- */

static void check_loglik(struct llama_model *m, const char *what)
{
	enum { NS = 9 };
	struct eval_seq s[NS];
	double ref[NS], ll[NS], ll1[NS];
	for (int i = 0; i < NS; i++) {
		size_t nc = 1 + rng_below(&trng, 12), nk = i == 0 ? 0 : 1 + rng_below(&trng, 8);
		s[i] = (struct eval_seq){ rand_tokens(nc, m->cfg.vocab), nc, rand_tokens(nk, m->cfg.vocab), nk };
		ref[i] = naive_ll(m, s[i].ctx, nc, s[i].cont, nk);
	}
	int batches[] = { 1, 2, 4, NS };
	for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
		uint64_t tokens = 0, want = 0;
		CHECK(eval_loglik(m, s, NS, batches[b], ll, &tokens, NULL) == 0, "%s: %s", what, err_get());
		for (int i = 0; i < NS; i++) {
			CHECK(close_rel(ll[i], ref[i], 1e-4), "%s batch %d seq %d: %.9g, reference %.9g", what,
			      batches[b], i, ll[i], ref[i]);
			want += s[i].nctx + s[i].ncont;
		}
		CHECK(tokens == want, "%s: tokens %llu, want %llu", what, (unsigned long long)tokens,
		      (unsigned long long)want);
		if (b == 0)
			memcpy(ll1, ll, sizeof ll);
		for (int i = 0; i < NS; i++)
			CHECK(close_rel(ll[i], ll1[i], 1e-5), "%s: batch %d differs from batch 1: %.9g vs %.9g",
			      what, batches[b], ll[i], ll1[i]);
	}
	CHECK(ll1[0] == 0, "empty continuation: %g", ll1[0]);
	for (int i = 0; i < NS; i++) {
		free((void *)s[i].ctx);
		free((void *)s[i].cont);
	}
}

/* The shared-context path (multiple choice: the prompt once, its choices batched after it through
 * the KV cache) against the plain one and the naive reference: runs of 1 to 5 sequences sharing a
 * context, continuations of 0 to 7 tokens, at several batch sizes and on several architectures
 * (a sliding window shorter than the contexts, q/k norms, biases). */
static void check_shared(struct llama_model *m, const char *what)
{
	enum { NR = 7, NS = 40 };
	struct eval_seq s[NS];
	int32_t *ctx[NR];
	double ref[NS], old[NS], ll[NS];
	int n = 0;
	uint64_t want = 0;
	for (int r = 0; r < NR; r++) {
		size_t nc = 1 + rng_below(&trng, 14);
		int k = 1 + (int)rng_below(&trng, 5);
		ctx[r] = rand_tokens(nc, m->cfg.vocab);
		want += nc;
		for (int j = 0; j < k && n < NS; j++, n++) {
			size_t nk = r == 2 && j == 0 ? 0 : 1 + rng_below(&trng, 7);
			s[n] = (struct eval_seq){ ctx[r], nc, rand_tokens(nk, m->cfg.vocab), nk };
			want += nk > 0 ? nk - 1 : 0;
			ref[n] = naive_ll(m, ctx[r], nc, s[n].cont, nk);
		}
	}
	CHECK(eval_loglik(m, s, n, 4, old, NULL, NULL) == 0, "%s: %s", what, err_get());
	int batches[] = { 1, 3, 8, NS };
	for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
		uint64_t tokens = 0;
		CHECK(eval_loglik_shared(m, s, n, batches[b], ll, &tokens, NULL) == 0, "%s: %s", what, err_get());
		for (int i = 0; i < n; i++) {
			CHECK(close_rel(ll[i], old[i], 1e-5), "%s batch %d seq %d: shared %.9g, plain %.9g", what,
			      batches[b], i, ll[i], old[i]);
			CHECK(close_rel(ll[i], ref[i], 1e-4), "%s batch %d seq %d: shared %.9g, reference %.9g",
			      what, batches[b], i, ll[i], ref[i]);
		}
		CHECK(tokens == want, "%s batch %d: tokens %llu, want %llu (each context once)", what,
		      batches[b], (unsigned long long)tokens, (unsigned long long)want);
	}
	for (int i = 0; i < n; i++)
		free((void *)s[i].cont);
	for (int r = 0; r < NR; r++)
		free(ctx[r]);
}

static void test_shared_context(void)
{
	struct llama_model *m = model(40, 32, 4, 2, 0, 0, 11);
	check_shared(m, "llama GQA");
	llama_free(m);
	m = model(50, 32, 4, 1, 12, 1, 12);
	check_shared(m, "MQA, head_dim 12, tied");
	llama_free(m);
}

/* More tokens than one pass takes (EVAL_PASS_TOKENS): split, same results. */
static void test_pass_split(void)
{
	struct llama_model *m = model(40, 32, 4, 2, 0, 0, 8);
	enum { NS = EVAL_PASS_TOKENS / 10 + 300 };
	struct eval_seq *s = calloc(NS, sizeof *s);
	double *a = calloc(NS, sizeof *a), *b = calloc(NS, sizeof *b);
	int32_t *t = rand_tokens((size_t)NS * 10, 40);
	for (int i = 0; i < NS; i++)
		s[i] = (struct eval_seq){ t + 10 * i, 4, t + 10 * i + 4, 6 };
	uint64_t ta = 0, tb = 0;
	CHECK(eval_loglik(m, s, NS, 4096, a, &ta, NULL) == 0 && eval_loglik(m, s, NS, 7, b, &tb, NULL) == 0, "%s", err_get());
	CHECK(ta == (uint64_t)NS * 10 && tb == ta, "tokens %llu %llu", (unsigned long long)ta, (unsigned long long)tb);
	for (int i = 0; i < NS; i++)
		CHECK(close_rel(a[i], b[i], 1e-5), "seq %d: %g vs %g", i, a[i], b[i]);
	free(s); free(a); free(b); free(t);
	llama_free(m);
}

/* Activation memory: a model with a wide MLP (786 kB of workspace a token) takes fewer tokens a
 * pass than EVAL_PASS_TOKENS, so that a pass holds about EVAL_PASS_BYTES of activations whatever
 * the batch; the workspace after passes of twice that many tokens stays within EVAL_PASS_BYTES
 * plus the fixed parts (lm_head's 16 MB chunk, the conversion tiles, attention scores). It also
 * checks llama_pass_bytes_per_token against what the forward pass allocates. */
static void test_pass_memory(void)
{
	struct llama_config c;
	llama_config_default(&c);
	c.vocab = 64;
	c.hidden = 16;
	c.layers = 1;
	c.heads = 2;
	c.kv_heads = 1;
	c.ff = 65536;
	struct llama_model *m = llama_new(&c);
	CHECK(m, "%s", err_get());
	if (!m)
		return;
	llama_init(m, 5, 0.1);
	size_t bpt = llama_pass_bytes_per_token(&m->cfg), max = eval_pass_tokens(&m->cfg);
	CHECK(max == EVAL_PASS_BYTES / bpt && max < EVAL_PASS_TOKENS, "%zu tokens a pass at %zu bytes a token", max, bpt);
	size_t ns = 2 * max / 8, slack = (size_t)64 << 20;
	struct eval_seq *s = calloc(ns, sizeof *s);
	double *a = calloc(ns, sizeof *a), *b = calloc(ns, sizeof *b);
	int32_t *t = rand_tokens(ns * 8, 64);
	for (size_t i = 0; i < ns; i++)
		s[i] = (struct eval_seq){ t + 8 * i, 4, t + 8 * i + 4, 4 };
	CHECK(eval_loglik(m, s, ns, 4096, a, NULL, NULL) == 0, "%s", err_get());
	size_t ws = llama_ws_bytes(m);
	printf("# %zu tokens a pass, %zu bytes a token: workspace %.0f MB after %zu tokens\n", max, bpt, ws / 1e6, ns * 8);
	CHECK(ws <= EVAL_PASS_BYTES + slack, "workspace %zu bytes, over %zu + %zu", ws, (size_t)EVAL_PASS_BYTES, slack);
	CHECK(ws >= (max - 8) * bpt, "workspace %zu bytes, under the %zu tokens of a pass at %zu", ws, max - 8, bpt);
	/* shared contexts: runs of four continuations */
	for (size_t i = 0; i < ns; i++)
		s[i] = (struct eval_seq){ t + 8 * (i / 4 * 4), 4, t + 8 * i + 4, 4 };
	CHECK(eval_loglik_shared(m, s, ns, 4096, b, NULL, NULL) == 0 && eval_loglik(m, s, ns, 5, a, NULL, NULL) == 0,
	      "%s", err_get());
	CHECK(llama_ws_bytes(m) <= EVAL_PASS_BYTES + slack, "shared: workspace %zu bytes", llama_ws_bytes(m));
	for (size_t i = 0; i < ns; i++)
		CHECK(close_rel(a[i], b[i], 1e-5), "seq %zu: %g vs %g", i, a[i], b[i]);
	free(s); free(a); free(b); free(t);
	llama_free(m);
}

static void test_loglik_reference(void)
{
	struct llama_model *m = model(40, 32, 4, 2, 0, 0, 1);   /* grouped-query attention */
	check_loglik(m, "gqa");
	llama_free(m);
	m = model(40, 32, 4, 4, 0, 1, 2);                       /* tied embeddings, kv = heads */
	check_loglik(m, "tied");
	llama_free(m);
	m = model(30, 24, 2, 1, 10, 0, 3);                      /* head_dim not hidden / heads */
	check_loglik(m, "head_dim");
	llama_free(m);
}

/* --- greedy matches --- */

/* Targets against the reference's greedy continuation (no near ties): the continuation itself
 * (even examples) or off at one token (odd ones), in batches of 1, 3 and all. */
static void test_match_reference(void)
{
	struct llama_model *m = model(40, 32, 4, 2, 0, 0, 4);
	enum { NS = 8, MAXNEW = 6 };
	const int V = m->cfg.vocab;
	struct eval_seq s[NS];
	int32_t tg[NS][MAXNEW];
	size_t want[NS], agree[NS];
	double z[64];
	uint64_t ntok = 0;
	for (int i = 0; i < NS; i++) {
		size_t nc, len = i == NS - 1 ? 0 : 1 + (size_t)i % MAXNEW;
		int32_t pre[32], *p;
		double gap;
		do {   /* a prompt whose continuation has no near tie */
			nc = 1 + rng_below(&trng, 9);
			p = rand_tokens(nc, V);
			memcpy(pre, p, nc * sizeof *p);
			gap = INFINITY;
			for (size_t k = 0; k < len; k++) {
				naive_next(m, pre, (int)(nc + k), z);
				gap = fmin(gap, top_gap(z, V));
				int g = 0;
				for (int j = 1; j < V; j++)
					if (z[j] > z[g])
						g = j;
				tg[i][k] = pre[nc + k] = g;
			}
			if (gap < 1e-3)
				free(p);
		} while (gap < 1e-3);
		want[i] = len;
		if (i % 2 && len > 0) {
			want[i] = (size_t)i % len;
			tg[i][want[i]] = (tg[i][want[i]] + 1) % V;
		}
		s[i] = (struct eval_seq){ p, nc, tg[i], len };
		ntok += len ? nc + len - 1 : 0;
	}
	int batches[] = { 1, 3, NS };
	for (int b = 0; b < 3; b++) {
		uint64_t tokens = 0;
		CHECK(eval_match(m, s, NS, batches[b], agree, &tokens, NULL) == 0, "%s", err_get());
		for (int i = 0; i < NS; i++)
			CHECK(agree[i] == want[i], "batch %d seq %d: %zu tokens agree, want %zu", batches[b], i,
			      agree[i], want[i]);
		CHECK(tokens == ntok, "tokens %llu, want %llu", (unsigned long long)tokens, (unsigned long long)ntok);
	}
	CHECK(eval_match(m, s, NS, 0, agree, NULL, NULL) == -1 && strstr(err_get(), "batch 0"), "%s", err_get());
	/* The targets' log-likelihood from the same pass: eval_loglik's, the last token included. */
	double ll[NS], ref[NS];
	int next[NS];
	CHECK(eval_loglik(m, s, NS, NS, ref, NULL, NULL) == 0, "%s", err_get());
	for (int b = 0; b < 3; b++) {
		CHECK(eval_match_next(m, s, NS, batches[b], agree, next, ll, NULL, NULL) == 0, "%s", err_get());
		for (int i = 0; i < NS; i++) {
			CHECK(agree[i] == want[i], "with ll: batch %d seq %d: %zu agree", batches[b], i, agree[i]);
			CHECK(fabs(ll[i] - ref[i]) <= 1e-4 * (1 + fabs(ref[i])) && (s[i].ncont > 0 || ll[i] == 0),
			      "batch %d seq %d: ll %.9g, eval_loglik %.9g", batches[b], i, ll[i], ref[i]);
		}
	}
	for (int i = 0; i < NS; i++)
		free((void *)s[i].ctx);
	llama_free(m);
}

/* Greedy decoding with the KV cache (llama_step), one prompt at a time, as a reference: out gets
 * up to max tokens; it stops early at a step whose logits are all NaN. Bit k of *near is set when
 * token k was chosen over another logit within rounding of it (not equal: exact ties are fine),
 * where another computation of the same logits may choose otherwise. */
static size_t decode(struct llama_model *m, struct llama_cache *kc, const int32_t *p, size_t np,
                     size_t max, int32_t *out, unsigned *near)
{
	const int V = m->cfg.vocab;
	float lg[64];
	int tok[32], slot = 0, len = (int)np;
	size_t k = 0;
	*near = 0;
	for (size_t i = 0; i < np; i++)
		tok[i] = p[i];
	llama_cache_clear(kc, 0);
	while (k < max) {
		CHECK(llama_step(m, kc, 1, &slot, &len, tok, lg) == 0, "%s", err_get());
		int g = -1;
		for (int j = 0; j < V; j++)
			if (!isnan(lg[j]) && (g < 0 || lg[j] > lg[g]))
				g = j;
		if (g < 0)
			break;
		for (int j = 0; j < V; j++)
			if (lg[j] != lg[g] && fabsf(lg[j] - lg[g]) <= 1e-5f * (1 + fabsf(lg[g])))
				*near |= 1u << k;
		out[k++] = tok[0] = g;
		len = 1;
	}
	return k;
}

/* Teacher-forced matching equals greedy decoding with the KV cache, example by example, on many
 * examples: targets that follow the decoder's output in full, up to a changed token, past its
 * end, or not at all, on a random model, a model of exact ties (lm_head row j is one non-zero,
 * s·e_(j mod 12), so that a logit is one product and its copies equal it in any summation), that
 * model with its most chosen row NaN, all weights zero (every logit 0: token 0) and all NaN
 * (nothing decoded, nothing matches). */
static void test_match_equals_decoding(void)
{
	enum { NEX = 150, MAXT = 8, NM = 5 };
	const char *names[NM] = { "random", "ties", "NaN row", "zero", "NaN" };
	struct llama_model *m = model(40, 32, 4, 2, 0, 0, 6);
	const int V = m->cfg.vocab, C = m->cfg.hidden;
	float *head = llama_param(m, "lm_head.weight", NULL);
	struct llama_cache *kc = llama_cache_new(m, 1, 32);
	struct eval_seq s[NEX];
	int32_t tg[NEX][MAXT], out[MAXT];
	size_t want[NEX], agree[NEX];
	int seen[12];
	for (int mi = 0; mi < NM; mi++) {
		if (mi == 1) {
			memset(head, 0, (size_t)V * C * sizeof *head);
			for (int j = 0; j < V; j++)
				head[(size_t)j * C + j % 12] = (j % 12 % 2 ? -1 : 1) * (1 + 0.125f * (j % 12));
			memset(seen, 0, sizeof seen);
		} else if (mi == 2) {
			int d = 0;
			for (int j = 1; j < 12; j++)
				d = seen[j] > seen[d] ? j : d;
			head[(size_t)d * C + d] = NAN;
		} else if (mi == 3) {
			memset(m->params, 0, m->n_params * sizeof *m->params);
		} else if (mi == 4) {
			for (size_t i = 0; i < m->n_params; i++)
				m->params[i] = NAN;
		}
		int near = 0, full = 0, part = 0;
		unsigned char skip[NEX];
		for (int i = 0; i < NEX; i++) {
			size_t np = 1 + rng_below(&trng, 10), len = 1 + rng_below(&trng, MAXT);
			int32_t *p = rand_tokens(np, V), *r = rand_tokens(len, V);
			unsigned nr;
			size_t nout = decode(m, kc, p, np, MAXT, out, &nr);
			/* Kinds of target: 0 the decoder's tokens (random after its end), 1 those with
			 * one changed, 2 random. */
			int kind = (int)rng_below(&trng, 3);
			for (size_t k = 0; k < len; k++)
				tg[i][k] = kind < 2 && k < nout ? out[k] : r[k];
			if (kind == 1) {
				size_t at = rng_below(&trng, len);
				tg[i][at] = (tg[i][at] + 1) % V;
			}
			for (want[i] = 0; want[i] < len && want[i] < nout && out[want[i]] == tg[i][want[i]]; want[i]++)
				;
			/* A near tie among the tokens compared (up to the first wrong one) is not judged. */
			skip[i] = (nr & ((2u << want[i]) - 1)) != 0;
			near += skip[i];
			full += want[i] == len;
			part += want[i] > 0 && want[i] < len;
			if (mi == 1)
				for (size_t k = 0; k < nout; k++)
					seen[out[k] % 12]++;
			s[i] = (struct eval_seq){ p, np, tg[i], len };
			free(r);
		}
		CHECK(near <= 2, "%s: %d decodings with a near tie: pick another seed", names[mi], near);
		for (int b = 1; b <= 16; b *= 16) {
			CHECK(eval_match(m, s, NEX, b, agree, NULL, NULL) == 0, "%s: %s", names[mi], err_get());
			for (int i = 0; i < NEX; i++)
				CHECK(skip[i] || agree[i] == want[i], "%s, batch %d, example %d: %zu tokens agree, decoding %zu",
				      names[mi], b, i, agree[i], want[i]);
		}
		if (mi < 4)
			CHECK(full > NEX / 5 && part > NEX / 10, "%s: %d full and %d partial matches: too few",
			      names[mi], full, part);
		else
			CHECK(full == 0 && part == 0, "NaN model matched");
		for (int i = 0; i < NEX; i++)
			free((void *)s[i].ctx);
	}
	llama_cache_free(kc);
	llama_free(m);
}

/* --- task metrics --- */

static char dir[64];

static const char *write_file(const char *name, const char *text)
{
	static char path[128];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

/* A growing string. */
struct sb { char *s; size_t n, cap; };
static void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (b->n + k + 1 > b->cap) {
		b->cap = 2 * (b->n + k + 1);
		b->s = realloc(b->s, b->cap);
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->n, k + 1, fmt, ap);
	va_end(ap);
	b->n += k;
}
static void sb_ids(struct sb *b, const int32_t *t, size_t n)
{
	sb_printf(b, "[");
	for (size_t i = 0; i < n; i++)
		sb_printf(b, "%s%d", i ? "," : "", t[i]);
	sb_printf(b, "]");
}

static void test_task_metrics(void)
{
	struct llama_model *m = model(40, 32, 4, 2, 0, 0, 5);
	const int V = m->cfg.vocab;
	struct eval_result r;
	double each[16];
	struct sb b = { 0 };

	/* Text: the mean over all tokens but each example's first. */
	double sum = 0, cnt = 0, per[16];
	uint64_t ntok = 0;
	for (int i = 0; i < 10; i++) {
		size_t n = 2 + rng_below(&trng, 14);
		int32_t *t = rand_tokens(n, V);
		sb_printf(&b, "{\"text_ids\":");
		sb_ids(&b, t, n);
		sb_printf(&b, "}\n");
		per[i] = naive_ll(m, t, 1, t + 1, n - 1);
		sum += per[i];
		cnt += (double)(n - 1);
		per[i] /= (double)(n - 1);
		ntok += n;
		free(t);
	}
	task *tk = task_load(write_file("txt.jsonl", b.s), V, 0);
	CHECK(tk, "%s", err_get());
	for (int batch = 1; tk && batch <= 8; batch *= 8) {
		struct eval_opts o = { .batch = batch };
		CHECK(eval_task(m, tk, &o, each, &r) == 0, "%s", err_get());
		CHECK(close_rel(r.score, sum / cnt, 1e-4), "text: %.9g, reference %.9g", r.score, sum / cnt);
		CHECK(r.n == 10 && r.tokens == ntok, "text: n %zu tokens %llu", r.n, (unsigned long long)r.tokens);
		for (int i = 0; i < 10; i++)
			CHECK(close_rel(each[i], per[i], 1e-4), "text example %d: %g vs %g", i, each[i], per[i]);
		CHECK(r.ll == 0, "text: ll %g without loglik", r.ll);
		o.loglik = 1;
		CHECK(eval_task(m, tk, &o, NULL, &r) == 0 && r.ll == r.score && r.soft == r.score,
		      "text: ll %g, soft %g, score %g", r.ll, r.soft, r.score);
	}
	task_free(tk);

	/* Multiple choice: the reference's argmax is the answer of every even example, some other
	 * choice of every odd one. */
	b.n = 0;
	ntok = 0;
	int nex = 0;
	double mcll = 0, mcs = 0;   /* Σ log P(answer among the choices), Σ min(1, 2 P(answer)) */
	int mcsure = 0;             /* examples with P(answer) > 1/2 */
	while (nex < 12) {
		size_t np = 1 + rng_below(&trng, 8);
		int nc = 2 + (int)rng_below(&trng, 3);
		int32_t *p = rand_tokens(np, V), *ch[4];
		size_t cl[4];
		double ll[4];
		for (int c = 0; c < nc; c++) {
			cl[c] = 1 + rng_below(&trng, 4);
			ch[c] = rand_tokens(cl[c], V);
			ll[c] = naive_ll(m, p, np, ch[c], cl[c]);
		}
		int best = eval_argmax_d(ll, nc);
		double gap = INFINITY;
		for (int c = 0; c < nc; c++)
			if (c != best)
				gap = fmin(gap, ll[best] - ll[c]);
		if (gap > 1e-3) {
			int ans = nex % 2 ? (best + 1) % nc : best;
			double z = 0;
			for (int c = 0; c < nc; c++)
				z += exp(ll[c]);
			mcll += ll[ans] - log(z);
			mcs += fmin(1, 2 * exp(ll[ans]) / z);
			mcsure += exp(ll[ans]) / z > 0.5;
			sb_printf(&b, "{\"prompt_ids\":");
			sb_ids(&b, p, np);
			sb_printf(&b, ",\"choices_ids\":[");
			ntok += np;   /* the prompt runs once, each choice but its last token after it */
			for (int c = 0; c < nc; c++) {
				sb_printf(&b, c ? "," : "");
				sb_ids(&b, ch[c], cl[c]);
				ntok += cl[c] - 1;
			}
			sb_printf(&b, "],\"answer\":%d}\n", ans);
			nex++;
		}
		free(p);
		for (int c = 0; c < nc; c++)
			free(ch[c]);
	}
	CHECK(mcsure > 0, "mc: no answer with P > 1/2, so soft's clamp goes untested");
	tk = task_load(write_file("mc.jsonl", b.s), V, 0);
	CHECK(tk, "%s", err_get());
	for (int batch = 1; tk && batch <= 32; batch *= 4) {
		struct eval_opts o = { .batch = batch };
		CHECK(eval_task(m, tk, &o, each, &r) == 0, "%s", err_get());
		CHECK(r.score == 0.5 && r.n == 12 && r.tokens == ntok, "mc batch %d: %g, n %zu tokens %llu (want %llu)",
		      batch, r.score, r.n, (unsigned long long)r.tokens, (unsigned long long)ntok);
		for (int i = 0; i < 12; i++)
			CHECK(each[i] == (i % 2 == 0), "mc example %d: %g", i, each[i]);
		o.loglik = 1;
		CHECK(eval_task(m, tk, &o, NULL, &r) == 0 && close_rel(r.ll, mcll / 12, 1e-4) && r.score == 0.5,
		      "mc batch %d: ll %.9g, reference %.9g", batch, r.ll, mcll / 12);
		CHECK(close_rel(r.soft, mcs / 12, 1e-4) && r.soft > 0 && r.soft < 1,
		      "mc batch %d: soft %.9g, reference %.9g", batch, r.soft, mcs / 12);
	}
	task_free(tk);

	/* Generation: targets that are the reference's greedy continuation (even examples) or that
	 * differ from it at one token (odd ones); with max_new 3, longer targets miss. */
	b.n = 0;
	nex = 0;
	int hits3 = 0;
	double gll = 0, gll3 = 0, gn = 0, gn3 = 0;   /* Σ log P(target | prompt) and target tokens */
	double gs = 0, gs3 = 0;                        /* Σ min(1, 2 P(target | prompt)) */
	while (nex < 10) {
		size_t np = 1 + rng_below(&trng, 8), len = 1 + rng_below(&trng, 5);
		int32_t pre[16], tgt[8];
		double z[64], gap = INFINITY;
		int32_t *p = rand_tokens(np, V);
		memcpy(pre, p, np * sizeof *p);
		for (size_t k = 0; k < len; k++) {
			naive_next(m, pre, (int)(np + k), z);
			gap = fmin(gap, top_gap(z, V));
			double mx = -INFINITY;
			int g = 0;
			for (int j = 0; j < V; j++)
				if (z[j] > mx)
					mx = z[j], g = j;
			tgt[k] = pre[np + k] = g;
		}
		if (gap > 1e-3) {
			if (nex % 2)
				tgt[nex % len] = (tgt[nex % len] + 1) % V;
			else
				hits3 += len <= 3;
			double l = naive_ll(m, p, np, tgt, len);
			gll += l;
			gn += (double)len;
			gll3 += len <= 3 ? l : 0;
			gn3 += len <= 3 ? (double)len : 0;
			gs += fmin(1, 2 * exp(l));
			gs3 += len <= 3 ? fmin(1, 2 * exp(l)) : 0;
			sb_printf(&b, "{\"prompt_ids\":");
			sb_ids(&b, p, np);
			sb_printf(&b, ",\"target_ids\":");
			sb_ids(&b, tgt, len);
			sb_printf(&b, "}\n");
			nex++;
		}
		free(p);
	}
	tk = task_load(write_file("gen.jsonl", b.s), V, 0);
	CHECK(tk, "%s", err_get());
	for (int batch = 1; tk && batch <= 16; batch *= 4) {
		struct eval_opts o = { .batch = batch };
		CHECK(eval_task(m, tk, &o, each, &r) == 0, "%s", err_get());
		CHECK(r.score == 0.5 && r.n == 10, "gen batch %d: %g", batch, r.score);
		for (int i = 0; i < 10; i++)
			CHECK(each[i] == (i % 2 == 0), "gen example %d: %g", i, each[i]);
		o.max_new = 3;
		CHECK(eval_task(m, tk, &o, NULL, &r) == 0 && r.score == hits3 / 10.0, "gen max_new 3: %g, want %g",
		      r.score, hits3 / 10.0);
		o.loglik = 1;
		CHECK(eval_task(m, tk, &o, NULL, &r) == 0 && r.score == hits3 / 10.0 && close_rel(r.ll, gll3 / gn3, 1e-4),
		      "gen max_new 3 batch %d: ll %.9g, reference %.9g", batch, r.ll, gll3 / gn3);
		/* A target longer than max_new counts 0, over all the examples. */
		CHECK(close_rel(r.soft, gs3 / 10, 1e-4), "gen max_new 3 batch %d: soft %.9g, reference %.9g",
		      batch, r.soft, gs3 / 10);
		o.max_new = 0;
		CHECK(eval_task(m, tk, &o, each, &r) == 0 && r.score == 0.5 && close_rel(r.ll, gll / gn, 1e-4),
		      "gen batch %d: ll %.9g, reference %.9g", batch, r.ll, gll / gn);
		CHECK(close_rel(r.soft, gs / 10, 1e-4) && r.soft > 0 && r.soft < 1,
		      "gen batch %d: soft %.9g, reference %.9g", batch, r.soft, gs / 10);
	}
	/* The whole built-in run from a checkpoint file: the model saved, loaded back, all three
	 * tasks scored into a record. */
	char path[128], tp[3][128];
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	CHECK(lmio_save(m, path, DT_F32, NULL, NULL) == 0, "%s", err_get());
	const char *const names[] = { "txt", "mc", "gen" };
	const char *tasks[3];
	for (int i = 0; i < 3; i++) {
		snprintf(tp[i], sizeof tp[i], "%s/%s.jsonl", dir, names[i]);
		tasks[i] = tp[i];
	}
	json_object *rec = json_object_new_object();
	struct eval_opts ob = { .batch = 5, .quiet = 1 };
	CHECK(eval_builtin(path, tasks, 3, &ob, rec) == 0, "%s", err_get());
	double v;
	CHECK(rec_number(rec, "scores.txt", &v) == 0 && close_rel(v, sum / cnt, 1e-4), "builtin text %g", v);
	CHECK(rec_number(rec, "scores.mc", &v) == 0 && v == 0.5, "builtin mc %g", v);
	CHECK(rec_number(rec, "scores.gen", &v) == 0 && v == 0.5, "builtin gen %g", v);
	CHECK(rec_number(rec, "n.gen", &v) == 0 && v == 10 && rec_number(rec, "eval.tokens", &v) == 0 && v > 0 &&
	      rec_number(rec, "eval.load_seconds", &v) == 0, "%s", rec_str(rec));
	CHECK(!json_object_object_get_ex(rec, "ll", NULL), "ll without loglik: %s", rec_str(rec));
	json_object_put(rec);
	rec = json_object_new_object();
	ob.loglik = 1;
	CHECK(eval_builtin(path, tasks, 3, &ob, rec) == 0, "%s", err_get());
	CHECK(rec_number(rec, "ll.txt", &v) == 0 && close_rel(v, sum / cnt, 1e-4), "builtin ll text %g", v);
	CHECK(rec_number(rec, "ll.mc", &v) == 0 && close_rel(v, mcll / 12, 1e-4), "builtin ll mc %g", v);
	CHECK(rec_number(rec, "ll.gen", &v) == 0 && close_rel(v, gll / gn, 1e-4), "builtin ll gen %g", v);
	CHECK(rec_number(rec, "scores.gen", &v) == 0 && v == 0.5, "builtin gen with loglik %g", v);
	json_object_put(rec);

	/* --limit's way: only the first examples. */
	task_limit(tk, 4);
	struct eval_opts o = { .batch = 3 };
	CHECK(eval_task(m, tk, &o, NULL, &r) == 0 && r.n == 4 && r.score == 0.5, "limited: n %zu %g", r.n, r.score);
	task_free(tk);
	free(b.s);
	llama_free(m);
}

/* All weights zero: every hidden state is 0, every logit 0, so the next token is uniform: text
 * scores -log V, every choice of equal length ties (the lowest index wins), greedy decoding
 * gives token 0 (the lowest id of a tie). */
static void test_known_model(void)
{
	struct llama_config c;
	llama_config_default(&c);
	c.vocab = 256;
	c.hidden = 16;
	c.layers = 1;
	c.heads = 2;
	c.ff = 24;
	struct llama_model *m = llama_new(&c);
	struct eval_result r;
	struct eval_opts o = { .batch = 4 };
	double each[8];
	task *tk = task_load(write_file("z.jsonl", "{\"text\":\"hello\"}\n{\"text\":\"ab\"}\n{\"bos\":1,\"text_ids\":[5,6,7]}\n"), 256, 0);
	CHECK(tk && eval_task(m, tk, &o, NULL, &r) == 0, "%s", err_get());
	CHECK(fabs(r.score + log(256)) < 1e-6 && r.tokens == 5 + 2 + 4, "text: %.9g (want %.9g), tokens %llu",
	      r.score, -log(256), (unsigned long long)r.tokens);
	task_free(tk);
	tk = task_load(write_file("zmc.jsonl",
		"{\"prompt\":\"q\",\"choices\":[\"ab\",\"cd\",\"ef\"],\"answer\":0}\n"
		"{\"prompt\":\"q\",\"choices\":[\"ab\",\"cd\"],\"answer\":1}\n"
		"{\"prompt\":\"q\",\"choices\":[\"abc\",\"cd\",\"e\"],\"answer\":2}\n"
		"{\"prompt\":\"q\",\"choices\":[\"abc\",\"d\",\"e\"],\"answer\":2}\n"), 256, 0);
	CHECK(tk && eval_task(m, tk, &o, each, &r) == 0, "%s", err_get());
	CHECK(each[0] == 1 && each[1] == 0 && each[2] == 1 && each[3] == 0 && r.score == 0.5,
	      "ties: %g %g %g %g", each[0], each[1], each[2], each[3]);
	task_free(tk);
	tk = task_load(write_file("zgen.jsonl",
		"{\"prompt\":\"q\",\"target_ids\":[0,0,0]}\n{\"prompt\":\"q\",\"target_ids\":[0,1]}\n"
		"{\"prompt\":\"q\",\"target\":\"a\"}\n{\"prompt\":\"xy\",\"target_ids\":[0]}\n"), 256, 0);
	CHECK(tk && eval_task(m, tk, &o, each, &r) == 0, "%s", err_get());
	CHECK(each[0] == 1 && each[1] == 0 && each[2] == 0 && each[3] == 1, "gen: %g %g %g %g",
	      each[0], each[1], each[2], each[3]);
	/* Tokens: prompt + target but its last: 1+2, 1+1, 1+0, 2+0. */
	CHECK(r.tokens == 3 + 2 + 1 + 2, "gen tokens %llu", (unsigned long long)r.tokens);
	o.max_new = 2;
	CHECK(eval_task(m, tk, &o, each, &r) == 0 && each[0] == 0 && each[3] == 1, "max_new: %g %g", each[0], each[3]);
	task_free(tk);

	/* NaN weights: text scores NaN, no choice wins, no target matches. */
	memset(m->params, 0xff, m->n_params * sizeof *m->params);
	tk = task_load(write_file("zmc2.jsonl", "{\"prompt\":\"q\",\"choices\":[\"a\",\"b\"],\"answer\":0}\n"), 256, 0);
	CHECK(tk && eval_task(m, tk, &o, each, &r) == 0 && r.score == 0, "NaN model: mc %g", r.score);
	task_free(tk);
	tk = task_load(write_file("zgen2.jsonl", "{\"prompt\":\"q\",\"target_ids\":[0]}\n"), 256, 0);
	CHECK(tk && eval_task(m, tk, &o, each, &r) == 0 && r.score == 0, "NaN model: gen %g", r.score);
	task_free(tk);
	tk = task_load(write_file("z.jsonl", "{\"text\":\"hello\"}\n"), 256, 0);
	CHECK(tk && eval_task(m, tk, &o, each, &r) == 0 && isnan(r.score), "NaN model: text %g", r.score);
	task_free(tk);
	llama_free(m);
}

static void test_argmax(void)
{
	double f[] = { 1, 3, NAN, 3, 2 };
	double d[] = { NAN, -INFINITY, -INFINITY };
	double e[] = { NAN, NAN };
	double g[] = { NAN, 0 };
	CHECK(eval_argmax_d(f, 5) == 1, "ties to the lowest, NaN skipped");
	CHECK(eval_argmax_d(d, 3) == 1, "-inf beats NaN: %d", eval_argmax_d(d, 3));
	CHECK(eval_argmax_d(e, 2) == -1, "all NaN");
	CHECK(eval_argmax_d(g, 2) == 1, "NaN first");
}

/* --- records and harness outputs --- */

static void test_records(void)
{
	json_object *o = json_tokener_parse("{\"id\":\"g1\",\"scores\":{\"old\":0.25},\"eval\":{\"seconds\":1.5,\"tokens\":10,\"gpu\":\"x\"}}");
	eval_rec_score(o, "add", 0.5, 20);
	eval_rec_score(o, "bad", NAN, -1);
	eval_rec_cost(o, 2.25, 5);
	CHECK(!strcmp(rec_str(o), "{\"id\":\"g1\",\"scores\":{\"old\":0.25,\"add\":0.5,\"bad\":null},"
	              "\"eval\":{\"seconds\":3.75,\"tokens\":15,\"gpu\":\"x\"},\"n\":{\"add\":20}}"), "%s", rec_str(o));
	eval_rec_score(o, "add", 0.75, 21);
	CHECK(!strcmp(rec_str(rec_path(o, "scores")), "{\"old\":0.25,\"add\":0.75,\"bad\":null}"),
	      "replaced: %s", rec_str(rec_path(o, "scores")));
	json_object_put(o);
}

static json_object *harness(const char *json, const char *const *spec, int n, int *rc, double *sec)
{
	json_object *out = json_tokener_parse(json), *rec = json_object_new_object();
	struct eval_metrics mt = { spec, n };
	*rc = eval_harness_scores(out, "res.json", &mt, rec, sec);
	json_object_put(out);
	return rec;
}

static void test_harness_scores(void)
{
	const char *lm =
		"{\"results\":{\"arc\":{\"alias\":\"arc\",\"acc,none\":0.5,\"acc_stderr,none\":\"N/A\",\"acc_norm,none\":0.625},"
		"\"gsm8k\":{\"exact_match,strict-match\":0.25,\"exact_match_stderr,strict-match\":0.01,\"exact_match,flexible-extract\":0.375},"
		"\"wiki\":{\"word_perplexity,none\":12.5,\"bits_per_byte,none\":0.75},"
		"\"old\":{\"acc\":0.125}},"
		"\"higher_is_better\":{\"wiki\":{\"word_perplexity\":false,\"bits_per_byte\":false}},"
		"\"n-samples\":{\"arc\":{\"original\":100,\"effective\":40},\"gsm8k\":{\"original\":50}},"
		"\"total_evaluation_time_seconds\":\"12.5\"}";
	int rc;
	double sec;
	json_object *r = harness(lm, NULL, 0, &rc, &sec);
	CHECK(rc == 0 && sec == 12.5, "default: %s", err_get());
	CHECK(!strcmp(rec_str(r), "{\"scores\":{\"arc\":0.5,\"gsm8k\":0.25,\"old\":0.125},\"n\":{\"arc\":40,\"gsm8k\":50},"
	              "\"eval\":{\"metric\":{\"arc\":\"acc,none\",\"gsm8k\":\"exact_match,strict-match\",\"old\":\"acc\"}},"
	              "\"se\":{\"gsm8k\":0.01}}"),
	      "default metrics (a numeric stderr beside the metric goes in se): %s", rec_str(r));
	json_object_put(r);

	const char *s1[] = { "acc_norm", "gsm8k=exact_match,flexible-extract", "wiki=word_perplexity" };
	r = harness(lm, s1, 3, &rc, &sec);
	CHECK(rc == 0, "%s", err_get());
	double v;
	CHECK(rec_number(r, "scores.arc", &v) == 0 && v == 0.625, "acc_norm: %s", rec_str(r));
	CHECK(rec_number(r, "scores.gsm8k", &v) == 0 && v == 0.375, "per task with filter: %s", rec_str(r));
	CHECK(rec_number(r, "scores.wiki", &v) == 0 && v == -12.5, "lower is better negated: %s", rec_str(r));
	CHECK(!rec_path(r, "scores.old"), "no acc_norm in old: %s", rec_str(r));
	json_object_put(r);

	const char *s2[] = { "f1" };
	r = harness(lm, s2, 1, &rc, &sec);
	CHECK(rc == -1 && strstr(err_get(), "res.json: no task in \"results\" has the metric f1"), "%s", err_get());
	json_object_put(r);
	const char *s3[] = { "arc=f1" };
	r = harness(lm, s3, 1, &rc, &sec);
	CHECK(rc == -1 && strstr(err_get(), "task arc has no numeric metric f1"), "%s", err_get());
	json_object_put(r);
	const char *s4[] = { "acc_stderr" };
	r = harness(lm, s4, 1, &rc, &sec);
	CHECK(rc == -1, "\"N/A\" is not a score: %s", rec_str(r));
	json_object_put(r);

	r = harness("{\"id\":\"x\",\"scores\":{\"a\":0.5,\"b\":null},\"n\":{\"a\":3},\"eval\":{\"seconds\":2,\"tokens\":7,\"gpu\":\"h100\"}}",
	            NULL, 0, &rc, &sec);
	CHECK(rc == 0 && sec == 2, "%s", err_get());
	CHECK(!strcmp(rec_str(r), "{\"scores\":{\"a\":0.5,\"b\":null},\"n\":{\"a\":3},\"eval\":{\"gpu\":\"h100\",\"seconds\":0.0,\"tokens\":7}}"),
	      "record: %s", rec_str(r));
	json_object_put(r);
	static const struct { const char *json, *msg; } bad[] = {
		{ "[1]", "res.json: not a JSON object" },
		{ "{\"x\":1}", "neither a recycle record" },
		{ "{\"scores\":[1]}", "\"scores\" is not an object" },
		{ "{\"scores\":{\"a\":\"high\"}}", "scores.a is not a number" },
		{ "{\"scores\":{}}", "\"scores\" is empty" },
		{ "{\"results\":{}}", "no task in \"results\"" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r = harness(bad[i].json, NULL, 0, &rc, &sec);
		CHECK(rc == -1 && strstr(err_get(), bad[i].msg), "%s: %s", bad[i].json, err_get());
		json_object_put(r);
	}
}

static void test_harness_file(void)
{
	char sub[128], p[200];
	snprintf(sub, sizeof sub, "%s/out", dir);
	mkdir(sub, 0777);
	snprintf(sub, sizeof sub, "%s/out/model__x", dir);
	mkdir(sub, 0777);
	json_object *r = json_object_new_object();
	double sec;
	CHECK(eval_harness_file(sub, NULL, r, &sec) == -1 && strstr(err_get(), "no results*.json"), "%s", err_get());
	write_file("out/model__x/results_2024-01-01.json", "{\"results\":{\"a\":{\"acc,none\":0.25}}}");
	write_file("out/model__x/samples_a.jsonl", "{}");
	write_file("out/model__x/results_2024-01-02.json", "{\"results\":{\"a\":{\"acc,none\":0.5}}}");
	snprintf(p, sizeof p, "%s/out", dir);
	double v;
	CHECK(eval_harness_file(p, NULL, r, &sec) == 0 && rec_number(r, "scores.a", &v) == 0 && v == 0.5,
	      "newest results file: %s %s", err_get(), rec_str(r));
	json_object_put(r);
	r = json_object_new_object();
	snprintf(p, sizeof p, "%s/none.json", dir);
	CHECK(eval_harness_file(p, NULL, r, &sec) == -1 && strstr(err_get(), "none.json"), "%s", err_get());
	json_object_put(r);
}

static void test_subst(void)
{
	char *s = eval_subst("run --model {ckpt} -o {out} {ckpt}{x} '{out}'", "/a b/it's", "/o");
	CHECK(!strcmp(s, "run --model '/a b/it'\\''s' -o '/o' '/a b/it'\\''s'{x} ''/o''"), "%s", s);
	free(s);
	/* The shell gives back the exact words. */
	s = eval_subst("test \"$(printf %s {ckpt})\" = \"$RECYCLE_X\"", "a 'b' $c \\d\n\"e\"", "");
	setenv("RECYCLE_X", "a 'b' $c \\d\n\"e\"", 1);
	CHECK(system(s) == 0, "round trip through sh: %s", s);
	free(s);
}

int main(void)
{
	rng_seed(&trng, 7);
	snprintf(dir, sizeof dir, "/tmp/test_eval.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	T_RUN(test_loglik_reference);
	T_RUN(test_pass_split);
	T_RUN(test_pass_memory);
	T_RUN(test_shared_context);
	T_RUN(test_match_reference);
	T_RUN(test_match_equals_decoding);
	T_RUN(test_task_metrics);
	T_RUN(test_known_model);
	T_RUN(test_argmax);
	T_RUN(test_records);
	T_RUN(test_harness_scores);
	T_RUN(test_harness_file);
	T_RUN(test_subst);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return t_done();
}
