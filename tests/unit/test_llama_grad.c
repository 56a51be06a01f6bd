/* Gradient check of common/llama's backward pass. The core (common/llama_core.c) is compiled
 * here a second time with real = double, so central finite differences are exact enough to
 * check every element of every parameter tensor tightly:
 *
 *     |analytic − numeric| ≤ 1e-6 · max(|analytic|, |numeric|) + 1e-9,  step h = 1e-5.
 *
 * The float library gradient (the one training uses) is then checked against the double one to
 * 1e-3 of the largest gradient in each tensor, and its loss against llama_logprobs. */
#define LLAMA_CORE_DOUBLE
#include "llama_core.c"

#include <stdio.h>

#include "t.h"

enum { B = 2, T = 7 };

static struct llama_config tiny(int tie)
{
	struct llama_config c;
	llama_config_default(&c);
	c.vocab = 11; c.hidden = 16; c.layers = 2; c.heads = 4; c.kv_heads = 2; c.ff = 24;
	c.tie_embeddings = tie;
	c.rms_eps = 1e-5;
	return c;
}

static void batch(int *tok, int *tgt)
{
	unsigned s = 12345;
	for (int i = 0; i < B * T; i++) {
		s = s * 1103515245u + 12345u;
		tok[i] = (int)((s >> 16) % 11);
	}
	/* Targets: the next token, none at the last position, and a masked-out stretch. */
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++)
			tgt[b * T + t] = t + 1 < T ? tok[b * T + t + 1] : -1;
	tgt[0] = tgt[1] = -1;
	tgt[T + 3] = -1;
}

static double loss_at(const struct net *nt, struct ws *w, size_t np, const int *tok,
                      const int *tgt, double *G)
{
	double loss = NAN;
	if (core_loss_grad(nt, w, np, B, T, tok, tgt, G, &loss))
		printf("# %s\n", err_get());
	return loss;
}

static void grad_check(int tie)
{
	struct llama_config c = tiny(tie);
	struct llama_model *m = llama_new(&c);
	CHECK(m, "model: %s", err_get());
	if (!m)
		return;
	llama_init(m, 42, 0.4);
	for (size_t i = 0; i < m->n_params; i++)   /* norms away from exactly 1 */
		if (m->params[i] == 1)
			m->params[i] = 1 + 0.3f * sinf((float)i);
	size_t np = m->n_params;
	double *Pd = malloc(np * sizeof *Pd), *G = malloc(np * sizeof *G), *Gs = malloc(np * sizeof *Gs);
	float *Gf = malloc(np * sizeof *Gf);
	for (size_t i = 0; i < np; i++)
		Pd[i] = m->params[i];
	int tok[B * T], tgt[B * T];
	batch(tok, tgt);
	struct ws w = { 0 };
	struct net nt = { &m->cfg, m->tensors, Pd, NULL, NULL };
	double loss = loss_at(&nt, &w, np, tok, tgt, G);
	CHECK(isfinite(loss) && loss > 0, "loss %g", loss);

	const double h = 1e-5;
	for (int ti = 0; ti < m->n_tensors; ti++) {
		const struct llama_tensor *t = &m->tensors[ti];
		double worst = 0, gmax = 0, num_at = 0, rel = 0;
		size_t at = 0;
		for (size_t j = 0; j < t->numel; j++) {
			size_t i = t->offset + j;
			double p = Pd[i];
			Pd[i] = p + h;
			double up = loss_at(&nt, &w, np, tok, tgt, Gs);
			Pd[i] = p - h;
			double down = loss_at(&nt, &w, np, tok, tgt, Gs);
			Pd[i] = p;
			double num = (up - down) / (2 * h), ana = G[i];
			double excess = fabs(ana - num) - (1e-6 * fmax(fabs(ana), fabs(num)) + 1e-9);
			if (excess > worst) {
				worst = excess;
				at = j;
				num_at = num;
			}
			rel = fmax(rel, fabs(ana - num) / (fmax(fabs(ana), fabs(num)) + 1e-3));
			gmax = fmax(gmax, fabs(ana));
		}
		CHECK(worst == 0, "%s%s[%zu]: analytic %.10g, numeric %.10g", tie ? "tied: " : "",
		      t->name, at, G[t->offset + at], num_at);
		if (getenv("GRADCHECK_VERBOSE"))
			printf("# %s%s: max relative difference %.3g\n", tie ? "tied: " : "", t->name, rel);
		/* Every tensor must actually receive gradient (tokens never seen aside). */
		CHECK(gmax > 1e-6, "%s: gradient is zero", t->name);
	}

	/* The float build: same gradient to float accuracy, same loss as the scoring path. */
	double lf = 0;
	CHECK(llama_loss_grad(m, B, T, tok, tgt, Gf, &lf) == 0, "float: %s", err_get());
	CHECK(fabs(lf - loss) < 1e-5 * loss, "float loss %.9g vs double %.9g", lf, loss);
	for (int ti = 0; ti < m->n_tensors; ti++) {
		const struct llama_tensor *t = &m->tensors[ti];
		double d = 0, s = 0;
		for (size_t j = 0; j < t->numel; j++) {
			d = fmax(d, fabs(Gf[t->offset + j] - G[t->offset + j]));
			s = fmax(s, fabs(G[t->offset + j]));
		}
		CHECK(d <= 1e-3 * s, "float gradient of %s off by %g (max %g)", t->name, d, s);
	}
	int lens[B] = { T, T };
	float lp[B * T];
	CHECK(llama_logprobs(m, B, lens, tok, lp) == 0, "logprobs: %s", err_get());
	double sum = 0;
	int count = 0;
	for (int i = 0; i < B * T; i++)
		if (tgt[i] >= 0) {
			sum -= lp[i + 1];
			count++;
		}
	CHECK(fabs(sum / count - loss) < 1e-5 * loss, "mean −logprob %.9g vs loss %.9g", sum / count, loss);

	ws_free(&w);
	free(Pd); free(G); free(Gs); free(Gf);
	llama_free(m);
}

static void test_grad_untied(void) { grad_check(0); }
static void test_grad_tied(void) { grad_check(1); }

static void test_no_targets(void)
{
	struct llama_config c = tiny(0);
	struct llama_model *m = llama_new(&c);
	llama_init(m, 1, 0.02);
	int tok[B * T] = { 0 }, tgt[B * T];
	for (int i = 0; i < B * T; i++)
		tgt[i] = -1;
	float *g = malloc(m->n_params * sizeof *g);
	double loss;
	CHECK(llama_loss_grad(m, B, T, tok, tgt, g, &loss) == -1 && strstr(err_get(), "no target"),
	      "no targets: %s", err_get());
	tgt[3] = 11;
	CHECK(llama_loss_grad(m, B, T, tok, tgt, g, &loss) == -1 && strstr(err_get(), "target id 11"),
	      "target out of range: %s", err_get());
	free(g);
	llama_free(m);
}

int main(void)
{
	llama_set_threads(1);
	T_RUN(test_grad_untied);
	T_RUN(test_grad_tied);
	T_RUN(test_no_targets);
	return t_done();
}
