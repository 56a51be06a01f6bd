/* Conformance with Hugging Face transformers: tests/conformance/ holds seven tiny random bf16
 * checkpoints (plain Llama, tied head with every bias, llama3 and linear rope, Mistral's sliding
 * window, Qwen2, Qwen3; see its README.md) with logits and mean log-likelihoods computed by an
 * independent float32 PyTorch port of the transformers modeling code. Each is loaded both ways
 * (f32 parameters, and resident in bf16 from the mapped file) and must give those logits within
 * 1e-4 max abs, through the packed forward pass and through the KV-cache decoder one token at a
 * time; log-probabilities give the mean log-likelihoods within 1e-4; the greedy argmax is the
 * reference's wherever its top two logits are apart. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "dtype.h"
#include "err.h"
#include "llama.h"
#include "lmio.h"
#include "st.h"
#include "t.h"

#define DIR "tests/conformance/"
#define TOL 1e-4

enum { B = 3, T = 48 };

/* The reference: input_ids (B, T) and logits (B, T, vocab). */
struct ref {
	int ids[B * T];
	float *logits;
	int V;
	double mean_ll[B];
};

static int read_tensor(st_ckpt *ck, const char *name, void *dst, size_t bytes)
{
	const struct st_tensor *t = st_find(ck, name);
	const void *p;
	if (!t || t->nbytes != bytes || st_seek(ck, t) < 0 || st_data(ck, &p) < 0)
		return -1;
	memcpy(dst, p, bytes);
	return 0;
}

static int load_ref(const char *var, struct ref *r)
{
	char path[256];
	snprintf(path, sizeof path, DIR "%s/ref.safetensors", var);
	st_ckpt *ck = st_open(path);
	if (!ck)
		return -1;
	const struct st_tensor *lt = st_find(ck, "logits");
	int64_t ids[B * T];
	int rc = -1;
	if (lt && lt->ndim == 3 && lt->shape[0] == B && lt->shape[1] == T) {
		r->V = (int)lt->shape[2];
		r->logits = malloc(lt->nbytes);
		if (r->logits && read_tensor(ck, "input_ids", ids, sizeof ids) == 0 &&
		    read_tensor(ck, "logits", r->logits, lt->nbytes) == 0)
			rc = 0;
	}
	st_close(ck);
	for (int i = 0; i < B * T; i++)
		r->ids[i] = (int)ids[i];
	snprintf(path, sizeof path, DIR "%s/ref.json", var);
	json_object *j = json_object_from_file(path), *a = NULL;
	if (!j || !json_object_object_get_ex(j, "mean_loglik", &a) || json_object_array_length(a) != B)
		rc = -1;
	for (int b = 0; rc == 0 && b < B; b++)
		r->mean_ll[b] = json_object_get_double(json_object_array_get_idx(a, b));
	json_object_put(j);
	return rc;
}

static double max_abs(const float *a, const float *b, size_t n)
{
	double e = 0;
	for (size_t i = 0; i < n; i++)
		e = fmax(e, fabs((double)a[i] - b[i]));
	return e;
}

static void check_model(const char *var, const char *how, struct llama_model *m, const struct ref *r)
{
	const int V = r->V;
	int lens[B] = { T, T, T };
	float *logits = malloc((size_t)B * T * V * sizeof *logits), logp[B * T];
	CHECK(m->cfg.vocab == V, "%s %s: vocab %d, reference %d", var, how, m->cfg.vocab, V);
	if (m->cfg.vocab != V)
		return;

	/* The packed forward pass: all three sequences at once. */
	CHECK(llama_forward(m, B, lens, r->ids, logits) == 0, "%s %s: forward: %s", var, how, err_get());
	double e = max_abs(logits, r->logits, (size_t)B * T * V);
	CHECK(e <= TOL, "%s %s: logits off by %.3g (tolerance %g)", var, how, e, TOL);
	printf("# %-17s %-8s forward: max abs logit error %.2e\n", var, how, e);

	/* Mean log-likelihood of each sequence, token 0 context only. */
	CHECK(llama_logprobs(m, B, lens, r->ids, logp) == 0, "%s %s: logprobs: %s", var, how, err_get());
	for (int b = 0; b < B; b++) {
		double s = 0;
		for (int t = 1; t < T; t++)
			s += logp[b * T + t];
		s /= T - 1;
		CHECK(fabs(s - r->mean_ll[b]) <= TOL, "%s %s: sequence %d: mean log-likelihood %.8f, reference %.8f",
		      var, how, b, s, r->mean_ll[b]);
	}

	/* The KV-cache decoder: sequence 1 as a 5-token prefill, then one token a step, so the
	 * sliding window (16) is crossed by single steps; sequence 2 in two halves. */
	struct llama_cache *kc = llama_cache_new(m, 2, T);
	float *z = malloc(2 * (size_t)V * sizeof *z);
	double ce = 0;
	int slot0 = 0, slot1 = 1, n5 = 5, half = T / 2;
	CHECK(kc && llama_step(m, kc, 1, &slot0, &n5, r->ids + T, z) == 0, "%s %s: prefill: %s", var, how, err_get());
	ce = fmax(ce, max_abs(z, r->logits + ((size_t)T + 4) * V, V));
	for (int t = 5; kc && t < T; t++) {
		int one = 1;
		if (llama_step(m, kc, 1, &slot0, &one, r->ids + T + t, z) < 0)
			break;
		ce = fmax(ce, max_abs(z, r->logits + ((size_t)T + t) * V, V));
	}
	CHECK(kc && llama_cache_len(kc, 0) == T, "%s %s: decoded %d tokens", var, how, kc ? llama_cache_len(kc, 0) : -1);
	for (int k = 0; kc && k < 2; k++) {
		CHECK(llama_step(m, kc, 1, &slot1, &half, r->ids + 2 * T + k * half, z) == 0, "%s %s: half: %s",
		      var, how, err_get());
		ce = fmax(ce, max_abs(z, r->logits + ((size_t)2 * T + (k + 1) * half - 1) * V, V));
	}
	CHECK(ce <= TOL, "%s %s: cached decoding off by %.3g", var, how, ce);
	llama_cache_free(kc);
	free(z);

	/* The greedy argmax, where the reference's top two are apart by more than the tolerance. */
	int best[B * T], bad = 0, judged = 0;
	CHECK(llama_argmax(m, B, lens, r->ids, NULL, best) == 0, "%s %s: argmax: %s", var, how, err_get());
	for (int i = 0; i < B * T; i++) {
		const float *row = r->logits + (size_t)i * V;
		int a = 0;
		for (int j = 1; j < V; j++)
			if (row[j] > row[a])
				a = j;
		double second = -INFINITY;
		for (int j = 0; j < V; j++)
			if (j != a)
				second = fmax(second, row[j]);
		if (row[a] - second > 10 * TOL) {
			judged++;
			bad += best[i] != a;
		}
	}
	CHECK(bad == 0 && judged > B * T / 2, "%s %s: argmax differs at %d of %d positions", var, how, bad, judged);
	free(logits);
}

static void test_variant(const char *var, const char *config_key)
{
	struct ref r = { .logits = NULL };
	char dir[256];
	snprintf(dir, sizeof dir, DIR "%s", var);
	CHECK(load_ref(var, &r) == 0, "%s: reference: %s", var, err_get());
	if (!r.logits)
		return;
	struct llama_model *m = lmio_load_path(dir);
	CHECK(m, "%s: f32 load: %s", var, err_get());
	if (m) {
		CHECK(!config_key || !llama_config_plain(&m->cfg), "%s: %s is not plain", var, config_key);
		check_model(var, "f32", m, &r);
		llama_free(m);
	}
	st_ckpt *ck = st_open(dir);
	m = ck ? lmio_load_resident(ck) : NULL;
	CHECK(m, "%s: resident load: %s", var, err_get());
	if (m) {
		/* Every matrix stays bf16, in place in the mapped file. */
		int views = 0, mats = 0;
		for (int i = 0; i < m->n_tensors; i++) {
			if (m->tensors[i].ndim != 2)
				continue;
			mats++;
			views += m->wdt[i] == DT_BF16 && m->owned[i] == NULL;
		}
		CHECK(views == mats, "%s: %d of %d matrices viewed in bf16", var, views, mats);
		check_model(var, "resident", m, &r);
		llama_free(m);
	}
	st_close(ck);
	free(r.logits);
}

static void test_llama_default(void) { test_variant("llama-default", NULL); }
static void test_llama_tied(void) { test_variant("llama-tied", "attention_bias, mlp_bias"); }
static void test_llama3_rope(void) { test_variant("llama3-rope", "rope llama3"); }
static void test_llama_linear_rope(void) { test_variant("llama-linear-rope", "rope linear"); }
static void test_mistral_sliding(void) { test_variant("mistral-sliding", "sliding_window"); }
static void test_qwen2(void) { test_variant("qwen2", "qkv biases"); }
static void test_qwen3(void) { test_variant("qwen3", "q/k norms"); }

int main(void)
{
	llama_set_threads(2);
	T_RUN(test_llama_default);
	T_RUN(test_llama_tied);
	T_RUN(test_llama3_rope);
	T_RUN(test_llama_linear_rope);
	T_RUN(test_mistral_sliding);
	T_RUN(test_qwen2);
	T_RUN(test_qwen3);
	return t_done();
}
