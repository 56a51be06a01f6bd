/* Unit tests of common/llama: config.json parsing and writing, the tensor table, and the forward
 * pass against an independent naive implementation written here (double precision, plain loops,
 * one sequence at a time, no cache), cached decoding against the full forward pass, batched
 * against unbatched, the greedy argmax (ties, NaN, ±inf) against the forward pass's logits. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "llama.h"
#include "llama_internal.h"
#include "t.h"

/* --- config.json --- */

static void test_config_spellings(void)
{
	struct llama_config c;
	const char *old = "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\","
		"\"vocab_size\":256,\"hidden_size\":64,\"intermediate_size\":172,"
		"\"num_hidden_layers\":2,\"num_attention_heads\":4,\"rms_norm_eps\":1e-05,"
		"\"rope_theta\":500000.0,\"torch_dtype\":\"bfloat16\",\"tie_word_embeddings\":true,"
		"\"rope_scaling\":null,\"bos_token_id\":1,\"eos_token_id\":[2,3],\"head_dim\":null}";
	CHECK(llama_config_parse(&c, old) == 0, "old spelling: %s", err_get());
	CHECK(c.vocab == 256 && c.hidden == 64 && c.ff == 172 && c.layers == 2 && c.heads == 4,
	      "sizes %d %d %d %d %d", c.vocab, c.hidden, c.ff, c.layers, c.heads);
	CHECK(c.kv_heads == 4 && c.head_dim == 16, "derived kv_heads %d head_dim %d", c.kv_heads, c.head_dim);
	CHECK(c.rms_eps == 1e-5 && c.rope_theta == 500000 && c.tie_embeddings == 1, "eps theta tie");
	CHECK(strcmp(c.dtype, "bfloat16") == 0 && c.bos_id == 1 && c.eos_id == 2, "dtype %s bos eos", c.dtype);
	CHECK(c.max_pos == 2048, "default max_pos %d", c.max_pos);

	const char *new = "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\","
		"\"vocab_size\":100,\"hidden_size\":48,\"intermediate_size\":96,"
		"\"num_hidden_layers\":3,\"num_attention_heads\":6,\"num_key_value_heads\":2,"
		"\"head_dim\":10,\"rope_parameters\":{\"rope_type\":\"default\",\"rope_theta\":1000000.0},"
		"\"dtype\":\"float32\",\"max_position_embeddings\":4096,\"hidden_act\":\"silu\","
		"\"attention_bias\":false,\"mlp_bias\":false}";
	CHECK(llama_config_parse(&c, new) == 0, "new spelling: %s", err_get());
	CHECK(c.kv_heads == 2 && c.head_dim == 10 && c.rope_theta == 1e6 && c.max_pos == 4096,
	      "kv %d hd %d theta %g", c.kv_heads, c.head_dim, c.rope_theta);
	CHECK(strcmp(c.dtype, "float32") == 0 && c.tie_embeddings == 0 && c.rms_eps == 1e-6,
	      "dtype %s, untied, default eps %g", c.dtype, c.rms_eps);

	const char *minimal = "{\"vocab_size\":10,\"hidden_size\":8,\"intermediate_size\":8,"
		"\"num_hidden_layers\":1,\"num_attention_heads\":2,\"rope_scaling\":{\"rope_type\":\"default\"}}";
	CHECK(llama_config_parse(&c, minimal) == 0 && c.rope_theta == 10000 && c.dtype[0] == 0,
	      "defaults: %s", err_get());
}

/* Each family's switches, from config.json as transformers writes it (both rope spellings). */
static void test_config_families(void)
{
	struct llama_config c;
	const char *base = "\"vocab_size\":10,\"hidden_size\":64,\"intermediate_size\":8,"
	                   "\"num_hidden_layers\":1,\"num_attention_heads\":4,\"num_key_value_heads\":2";
	char buf[1024];
#define PARSE(extra) (snprintf(buf, sizeof buf, "{%s%s}", base, extra), llama_config_parse(&c, buf))
	CHECK(PARSE(",\"model_type\":\"llama\",\"attention_bias\":true,\"mlp_bias\":true") == 0 &&
	      c.arch == LLAMA_ARCH_LLAMA && c.qkv_bias && c.o_bias && c.mlp_bias && !c.qk_norm &&
	      !c.window && !llama_config_plain(&c), "llama biases: %s", err_get());
	CHECK(PARSE(",\"architectures\":[\"LlamaForCausalLM\"],\"rope_scaling\":{\"type\":\"linear\",\"factor\":2.0}") == 0 &&
	      c.rope_type == LLAMA_ROPE_LINEAR && c.rope_factor == 2, "linear, old key \"type\": %s", err_get());
	CHECK(PARSE(",\"rope_parameters\":{\"rope_type\":\"llama3\",\"rope_theta\":500000.0,\"factor\":8.0,"
	            "\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,\"original_max_position_embeddings\":8192}") == 0 &&
	      c.rope_type == LLAMA_ROPE_LLAMA3 && c.rope_theta == 500000 && c.rope_factor == 8 &&
	      c.rope_low == 1 && c.rope_high == 4 && c.rope_orig == 8192, "llama3, v5: %s", err_get());
	CHECK(PARSE(",\"model_type\":\"mistral\",\"sliding_window\":16") == 0 && c.arch == LLAMA_ARCH_MISTRAL &&
	      c.window == 16 && !c.qkv_bias, "mistral: %s", err_get());
	CHECK(PARSE(",\"model_type\":\"mistral\"") == 0 && c.window == 4096, "mistral default window %d", c.window);
	CHECK(PARSE(",\"model_type\":\"mistral\",\"sliding_window\":null") == 0 && c.window == 0,
	      "mistral null window %d", c.window);
	CHECK(PARSE(",\"model_type\":\"qwen2\",\"sliding_window\":4096,\"use_sliding_window\":false,"
	            "\"max_window_layers\":2") == 0 && c.arch == LLAMA_ARCH_QWEN2 && c.qkv_bias && !c.o_bias &&
	      !c.window, "qwen2: %s", err_get());
	CHECK(PARSE(",\"architectures\":[\"Qwen3ForCausalLM\"],\"layer_types\":[\"full_attention\"]") == 0 &&
	      c.arch == LLAMA_ARCH_QWEN3 && c.qk_norm && !c.qkv_bias && c.head_dim == 128,
	      "qwen3 default head_dim 128: %d %s", c.head_dim, err_get());
	CHECK(PARSE(",\"model_type\":\"qwen3\",\"head_dim\":32,\"attention_bias\":true") == 0 &&
	      c.head_dim == 32 && c.qkv_bias && c.o_bias, "qwen3 head_dim, bias: %s", err_get());
	struct llama_tensor *t = NULL;
	int n = llama_tensors(&c, &t);
	CHECK(n == 3 + 15 && t && !strcmp(t[1 + 13].name, "model.layers.0.self_attn.q_norm.weight") &&
	      t[1 + 13].shape[0] == 32 && !strcmp(t[1 + 12].name, "model.layers.0.self_attn.o_proj.bias"),
	      "qwen3 table: %d tensors", n);
	free(t);
#undef PARSE
}

static void test_config_refused(void)
{
	const char *base = "\"vocab_size\":10,\"hidden_size\":8,\"intermediate_size\":8,"
	                   "\"num_hidden_layers\":1,\"num_attention_heads\":2";
	static const struct { const char *extra, *msg; } bad[] = {
		{ ",\"rope_scaling\":{\"type\":\"yarn\",\"factor\":2.0}", "rope_scaling: rope type \"yarn\" is not supported" },
		{ ",\"rope_scaling\":{\"rope_type\":\"dynamic\",\"factor\":8.0}", "rope_scaling: rope type \"dynamic\"" },
		{ ",\"rope_scaling\":{\"rope_type\":\"longrope\",\"factor\":8.0}", "rope_scaling: rope type \"longrope\"" },
		{ ",\"rope_scaling\":{\"factor\":8.0}", "rope_scaling: scaling factor" },
		{ ",\"rope_scaling\":{\"type\":\"linear\"}", "rope_scaling: rope type \"linear\": factor: missing" },
		{ ",\"rope_scaling\":{\"type\":\"linear\",\"factor\":0}", "rope factor: 0 is not a positive" },
		{ ",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0}", "rope_scaling: rope type \"llama3\": low_freq_factor: missing" },
		{ ",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0,\"low_freq_factor\":4,\"high_freq_factor\":1,"
		  "\"original_max_position_embeddings\":64}", "rope llama3: factor 8" },
		{ ",\"rope_parameters\":{\"rope_type\":\"yarn\",\"rope_theta\":1e4}", "rope_parameters: rope type \"yarn\"" },
		{ ",\"rope_parameters\":{\"rope_theta\":\"big\"}", "rope_parameters: field \"rope_theta\" is not a number" },
		{ ",\"rope_parameters\":{\"rope_theta\":1e4,\"partial_rotary_factor\":0.5}", "partial_rotary_factor 0.5" },
		{ ",\"attention_bias\":1", "field \"attention_bias\" is not a boolean" },
		{ ",\"hidden_act\":\"gelu\"", "hidden_act: \"gelu\" is not supported" },
		{ ",\"model_type\":\"gemma\"", "model_type: \"gemma\" is not supported" },
		{ ",\"model_type\":\"phi3\"", "model_type: \"phi3\"" },
		{ ",\"architectures\":[\"MixtralForCausalLM\"]", "architectures: \"MixtralForCausalLM\" is not supported" },
		{ ",\"model_type\":\"qwen2\",\"architectures\":[\"MistralForCausalLM\"]", "does not match model_type \"qwen2\"" },
		{ ",\"sliding_window\":4096", "sliding_window: " },
		{ ",\"model_type\":\"mistral\",\"sliding_window\":0", "sliding_window: 0 is not a positive size" },
		{ ",\"use_sliding_window\":true", "use_sliding_window: true" },
		{ ",\"model_type\":\"qwen2\",\"use_sliding_window\":true", "use_sliding_window: true is not supported" },
		{ ",\"model_type\":\"qwen3\",\"layer_types\":[\"sliding_attention\"]", "layer_types: \"sliding_attention\"" },
		{ ",\"quantization_config\":{\"bits\":4}", "quantization_config: " },
		{ ",\"num_key_value_heads\":3", "num_key_value_heads: 3 does not divide" },
		{ ",\"head_dim\":3", "head_dim: 3 is odd" },
		{ ",\"rms_norm_eps\":0", "rms_norm_eps: 0 is not a positive number" },
		{ ",\"tie_word_embeddings\":1", "field \"tie_word_embeddings\" is not a boolean" },
		{ ",\"max_position_embeddings\":2.5", "field \"max_position_embeddings\" is not an integer" },
	};
	char buf[512];
	struct llama_config c;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(buf, sizeof buf, "{%s%s}", base, bad[i].extra);
		int rc = llama_config_parse(&c, buf);
		CHECK(rc == -1 && strstr(err_get(), bad[i].msg), "%s: rc %d, %s", bad[i].extra, rc, err_get());
	}
	CHECK(llama_config_parse(&c, "{\"vocab_size\":10,\"hidden_size\":8,\"intermediate_size\":8,"
	                             "\"num_hidden_layers\":1,\"num_attention_heads\":2,\"model_type\":\"qwen3\","
	                             "\"head_dim\":4}") == 0, "qwen3: %s", err_get());
	char *q3 = llama_config_json(&c);
	struct llama_config d;
	strcpy(c.dtype, "float32");   /* absent: written as float32 */
	CHECK(q3 && llama_config_parse(&d, q3) == 0 && memcmp(&c, &d, sizeof c) == 0, "qwen3 round trip: %s", q3);
	free(q3);
	c.arch = LLAMA_ARCH_LLAMA;
	CHECK(llama_config_json(&c) == NULL && strstr(err_get(), "not a model of one family"), "llama with q/k norms not written");
	CHECK(llama_config_parse(&c, "{\"vocab_size\":10}") == -1 && strstr(err_get(), "missing field \"hidden_size\""),
	      "missing: %s", err_get());
	CHECK(llama_config_parse(&c, "{\"vocab_size\":10,\"hidden_size\":30,\"intermediate_size\":8,"
	                             "\"num_hidden_layers\":1,\"num_attention_heads\":4}") == -1 &&
	      strstr(err_get(), "head_dim: absent, and hidden_size 30"), "underivable head_dim: %s", err_get());
	CHECK(llama_config_parse(&c, "{\"vocab_size\":0,\"hidden_size\":8,\"intermediate_size\":8,"
	                             "\"num_hidden_layers\":1,\"num_attention_heads\":2}") == -1 &&
	      strstr(err_get(), "vocab_size: 0"), "zero vocab: %s", err_get());
	CHECK(llama_config_parse(&c, "{\"vocab_size\":\"x\"}") == -1 && strstr(err_get(), "field \"vocab_size\" is not an integer"),
	      "string size: %s", err_get());
	CHECK(llama_config_parse(&c, "{\"vocab_size\":") == -1 && strstr(err_get(), "invalid JSON"),
	      "broken JSON: %s", err_get());
	CHECK(llama_config_parse(&c, "[1]") == -1 && strstr(err_get(), "not a JSON object"),
	      "array: %s", err_get());
}

static void test_config_json_roundtrip(void)
{
	struct llama_config c, d;
	llama_config_default(&c);
	c.vocab = 256; c.hidden = 96; c.layers = 3; c.heads = 6; c.kv_heads = 3; c.ff = 200;
	c.head_dim = 20; c.rope_theta = 123456.5; c.rms_eps = 1e-5; c.tie_embeddings = 1;
	c.bos_id = 0; c.eos_id = 10; c.max_pos = 512;
	strcpy(c.dtype, "bfloat16");
	CHECK(llama_config_check(&c) == 0, "check: %s", err_get());
	char *s = llama_config_json(&c);
	CHECK(s && strstr(s, "\"LlamaForCausalLM\"") && strstr(s, "\"torch_dtype\": \"bfloat16\"") &&
	      strstr(s, "\"rope_scaling\": null") && strstr(s, "\"hidden_act\": \"silu\"") &&
	      s[strlen(s) - 1] == '\n', "json: %s", s);
	CHECK(llama_config_parse(&d, s) == 0, "reparse: %s", err_get());
	CHECK(memcmp(&c, &d, sizeof c) == 0, "round trip differs: %s", s);
	free(s);
}

/* --- tensor table --- */

static struct llama_config small_config(int tie, int kv_heads, int head_dim)
{
	struct llama_config c;
	llama_config_default(&c);
	c.vocab = 37; c.hidden = 32; c.layers = 2; c.heads = 4; c.kv_heads = kv_heads;
	c.head_dim = head_dim; c.ff = 48; c.tie_embeddings = tie; c.rms_eps = 1e-5;
	return c;
}

static void test_tensor_table(void)
{
	struct llama_config c = small_config(0, 2, 0);
	struct llama_model *m = llama_new(&c);
	CHECK(m && m->n_tensors == 2 + 9 * 2 + 1, "count %d", m ? m->n_tensors : -1);
	if (!m)
		return;
	CHECK(strcmp(m->tensors[0].name, "model.embed_tokens.weight") == 0, "first %s", m->tensors[0].name);
	CHECK(strcmp(m->tensors[m->n_tensors - 1].name, "lm_head.weight") == 0, "last");
	size_t off = 0;
	for (int i = 0; i < m->n_tensors; i++) {
		CHECK(m->tensors[i].offset == off, "%s offset", m->tensors[i].name);
		off += m->tensors[i].numel;
	}
	CHECK(off == m->n_params, "n_params %zu vs %zu", m->n_params, off);
	const struct llama_tensor *t = llama_find(m, "model.layers.1.self_attn.k_proj.weight");
	CHECK(t && t->ndim == 2 && t->shape[0] == 16 && t->shape[1] == 32 && t->layer == 1 &&
	      t->kind == LLAMA_K, "k_proj shape (GQA: kv_heads·head_dim = 16)");
	t = llama_find(m, "model.layers.0.post_attention_layernorm.weight");
	CHECK(t && t->ndim == 1 && t->shape[0] == 32, "norm shape");
	t = llama_find(m, "model.layers.1.mlp.down_proj.weight");
	CHECK(t && t->shape[0] == 32 && t->shape[1] == 48, "down_proj [hidden, ff]");
	const char *unknown[] = { "model.layers.2.mlp.up_proj.weight", "model.layers.01.mlp.up_proj.weight",
	                          "model.layers.0.mlp.up_proj", "lm_head", "model.layers.0.self_attn.rotary_emb.inv_freq" };
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
		CHECK(!llama_find(m, unknown[i]) && strstr(err_get(), "unknown tensor"), "%s found", unknown[i]);

	int64_t good[2] = { 48, 32 }, wrong[2] = { 32, 48 };
	CHECK(llama_check_filled(m) == -1 && strstr(err_get(), "missing tensor model.embed_tokens.weight"),
	      "nothing filled: %s", err_get());
	CHECK(!llama_param_fill(m, "model.layers.0.mlp.gate_proj.weight", 2, wrong) &&
	      strstr(err_get(), "shape [32, 48], config wants [48, 32]"), "wrong shape: %s", err_get());
	CHECK(!llama_param_fill(m, "model.layers.0.mlp.gate_proj.weight", 1, good) &&
	      strstr(err_get(), "shape [48]"), "wrong rank: %s", err_get());
	float *p = llama_param_fill(m, "model.layers.0.mlp.gate_proj.weight", 2, good);
	size_t n = 0;
	CHECK(p && p == llama_param(m, "model.layers.0.mlp.gate_proj.weight", &n) && n == 48 * 32, "fill");
	CHECK(!llama_param_fill(m, "model.layers.0.mlp.gate_proj.weight", 2, good) &&
	      strstr(err_get(), "given twice"), "twice: %s", err_get());
	for (int i = 0; i < m->n_tensors; i++)
		if (strcmp(m->tensors[i].name, "model.norm.weight") != 0)
			llama_param_fill(m, m->tensors[i].name, m->tensors[i].ndim, m->tensors[i].shape);
	CHECK(llama_check_filled(m) == -1 && strstr(err_get(), "missing tensor model.norm.weight"),
	      "one missing: %s", err_get());
	llama_free(m);

	c = small_config(1, 4, 12);
	m = llama_new(&c);
	CHECK(m && m->n_tensors == 2 + 9 * 2 && !llama_find(m, "lm_head.weight"), "tied: no lm_head");
	t = m ? llama_find(m, "model.layers.0.self_attn.o_proj.weight") : NULL;
	CHECK(t && t->shape[0] == 32 && t->shape[1] == 48, "o_proj [hidden, heads·head_dim]");
	llama_free(m);
}

/* --- the naive reference: one sequence, double precision, looked up by name --- */

static const float *P(struct llama_model *m, const char *fmt, ...)
{
	char name[96];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	const float *p = llama_param(m, name, NULL);
	if (!p) {
		printf("# reference: %s\n", err_get());
		exit(1);
	}
	return p;
}

/* out[o] = Σ_i W[o][i] · x[i] for W (out, in) row-major. */
static void ref_linear(double *out, const float *W, const double *x, int nout, int nin)
{
	for (int o = 0; o < nout; o++) {
		double s = 0;
		for (int i = 0; i < nin; i++)
			s += (double)W[(size_t)o * nin + i] * x[i];
		out[o] = s;
	}
}

static void ref_add(double *x, const float *b, int n)
{
	for (int i = 0; i < n; i++)
		x[i] += b[i];
}

static void ref_rmsnorm(double *y, const double *x, const float *w, int C, double eps)
{
	double ss = 0;
	for (int i = 0; i < C; i++)
		ss += x[i] * x[i];
	double r = 1 / sqrt(ss / C + eps);
	for (int i = 0; i < C; i++)
		y[i] = x[i] * r * w[i];
}

/* The frequency of pair j, with Hugging Face's scalings (modeling_rope_utils): linear divides by
 * factor; llama3 keeps short wavelengths (< orig/high), divides long ones (> orig/low) by factor
 * and blends those between. */
static double ref_freq(const struct llama_config *c, int j)
{
	double f = pow(c->rope_theta, -2.0 * j / c->head_dim);
	if (c->rope_type == LLAMA_ROPE_LINEAR)
		return f / c->rope_factor;
	if (c->rope_type != LLAMA_ROPE_LLAMA3)
		return f;
	double wavelen = 2 * M_PI / f;
	if (wavelen < c->rope_orig / c->rope_high)
		return f;
	if (wavelen > c->rope_orig / c->rope_low)
		return f / c->rope_factor;
	double s = (c->rope_orig / wavelen - c->rope_low) / (c->rope_high - c->rope_low);
	return (1 - s) * f / c->rope_factor + s * f;
}

/* Hugging Face rotate_half: out = x·cos + rotate_half(x)·sin, rotate_half(x) = [−x2, x1]. */
static void ref_rope(double *x, const struct llama_config *c, int pos)
{
	int D = c->head_dim;
	for (int j = 0; j < D / 2; j++) {
		double ang = pos * ref_freq(c, j), x1 = x[j], x2 = x[j + D / 2];
		x[j] = x1 * cos(ang) - x2 * sin(ang);
		x[j + D / 2] = x2 * cos(ang) + x1 * sin(ang);
	}
}

/* logits (T, vocab) of one sequence. */
static void ref_logits(struct llama_model *m, const int *tok, int T, double *logits)
{
	const struct llama_config *c = &m->cfg;
	int C = c->hidden, H = c->heads, KH = c->kv_heads, D = c->head_dim, F = c->ff, V = c->vocab;
	double *x = calloc((size_t)T * C, sizeof *x), *a = malloc(C * sizeof *a);
	double *q = malloc((size_t)T * H * D * sizeof *q), *k = malloc((size_t)T * KH * D * sizeof *k);
	double *v = malloc((size_t)T * KH * D * sizeof *v), *y = malloc(H * D * sizeof *y);
	double *o = malloc(C * sizeof *o), *g = malloc(F * sizeof *g), *u = malloc(F * sizeof *u);
	double *sc = malloc(T * sizeof *sc);
	const float *E = P(m, "model.embed_tokens.weight");
	for (int t = 0; t < T; t++)
		for (int i = 0; i < C; i++)
			x[t * C + i] = E[(size_t)tok[t] * C + i];
	for (int l = 0; l < c->layers; l++) {
		for (int t = 0; t < T; t++) {
			ref_rmsnorm(a, x + t * C, P(m, "model.layers.%d.input_layernorm.weight", l), C, c->rms_eps);
			ref_linear(q + t * H * D, P(m, "model.layers.%d.self_attn.q_proj.weight", l), a, H * D, C);
			ref_linear(k + t * KH * D, P(m, "model.layers.%d.self_attn.k_proj.weight", l), a, KH * D, C);
			ref_linear(v + t * KH * D, P(m, "model.layers.%d.self_attn.v_proj.weight", l), a, KH * D, C);
			if (c->qkv_bias) {
				ref_add(q + t * H * D, P(m, "model.layers.%d.self_attn.q_proj.bias", l), H * D);
				ref_add(k + t * KH * D, P(m, "model.layers.%d.self_attn.k_proj.bias", l), KH * D);
				ref_add(v + t * KH * D, P(m, "model.layers.%d.self_attn.v_proj.bias", l), KH * D);
			}
			for (int h = 0; c->qk_norm && h < H; h++)
				ref_rmsnorm(q + (t * H + h) * D, q + (t * H + h) * D,
				            P(m, "model.layers.%d.self_attn.q_norm.weight", l), D, c->rms_eps);
			for (int h = 0; c->qk_norm && h < KH; h++)
				ref_rmsnorm(k + (t * KH + h) * D, k + (t * KH + h) * D,
				            P(m, "model.layers.%d.self_attn.k_norm.weight", l), D, c->rms_eps);
			for (int h = 0; h < H; h++)
				ref_rope(q + (t * H + h) * D, c, t);
			for (int h = 0; h < KH; h++)
				ref_rope(k + (t * KH + h) * D, c, t);
		}
		for (int t = 0; t < T; t++) {
			for (int h = 0; h < H; h++) {
				int kh = h / (H / KH);   /* repeat_kv: query head h reads kv head h / n_rep */
				double mx = -INFINITY, sum = 0;
				/* keys s ≤ t; with a window W only t − W < s */
				int s0 = c->window && t - c->window + 1 > 0 ? t - c->window + 1 : 0;
				for (int s = s0; s <= t; s++) {
					double d = 0;
					for (int j = 0; j < D; j++)
						d += q[(t * H + h) * D + j] * k[(s * KH + kh) * D + j];
					sc[s] = d / sqrt(D);
					mx = fmax(mx, sc[s]);
				}
				for (int s = s0; s <= t; s++)
					sum += sc[s] = exp(sc[s] - mx);
				for (int j = 0; j < D; j++) {
					double acc = 0;
					for (int s = s0; s <= t; s++)
						acc += sc[s] / sum * v[(s * KH + kh) * D + j];
					y[h * D + j] = acc;
				}
			}
			ref_linear(o, P(m, "model.layers.%d.self_attn.o_proj.weight", l), y, C, H * D);
			if (c->o_bias)
				ref_add(o, P(m, "model.layers.%d.self_attn.o_proj.bias", l), C);
			for (int i = 0; i < C; i++)
				x[t * C + i] += o[i];
			ref_rmsnorm(a, x + t * C, P(m, "model.layers.%d.post_attention_layernorm.weight", l), C, c->rms_eps);
			ref_linear(g, P(m, "model.layers.%d.mlp.gate_proj.weight", l), a, F, C);
			ref_linear(u, P(m, "model.layers.%d.mlp.up_proj.weight", l), a, F, C);
			if (c->mlp_bias) {
				ref_add(g, P(m, "model.layers.%d.mlp.gate_proj.bias", l), F);
				ref_add(u, P(m, "model.layers.%d.mlp.up_proj.bias", l), F);
			}
			for (int i = 0; i < F; i++)
				g[i] = g[i] / (1 + exp(-g[i])) * u[i];
			ref_linear(o, P(m, "model.layers.%d.mlp.down_proj.weight", l), g, C, F);
			if (c->mlp_bias)
				ref_add(o, P(m, "model.layers.%d.mlp.down_proj.bias", l), C);
			for (int i = 0; i < C; i++)
				x[t * C + i] += o[i];
		}
	}
	const float *head = c->tie_embeddings ? E : P(m, "lm_head.weight");
	for (int t = 0; t < T; t++) {
		ref_rmsnorm(a, x + t * C, P(m, "model.norm.weight"), C, c->rms_eps);
		ref_linear(logits + (size_t)t * V, head, a, V, C);
	}
	free(x); free(a); free(q); free(k); free(v); free(y); free(o); free(g); free(u); free(sc);
}

/* A model whose weights make attention and norms matter: std 0.3, norms around 1. */
static struct llama_model *random_model(struct llama_config c, uint64_t seed)
{
	struct llama_model *m = llama_new(&c);
	if (!m)
		return NULL;
	llama_init(m, seed, 0.3);
	for (int i = 0; i < m->n_tensors; i++)
		if (m->tensors[i].ndim == 1)
			for (size_t j = 0; j < m->tensors[i].numel; j++)
				m->params[m->tensors[i].offset + j] = 1 + 0.5f * sinf((float)(3 * j + i));
	return m;
}

static void random_tokens(int *tok, int n, int vocab, unsigned seed)
{
	for (int i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		tok[i] = (int)((seed >> 16) % (unsigned)vocab);
	}
}

/* max |a − b| / max |b| over n values. */
static double rel_err(const float *a, const double *b, size_t n)
{
	double num = 0, den = 0;
	for (size_t i = 0; i < n; i++) {
		num = fmax(num, fabs(a[i] - b[i]));
		den = fmax(den, fabs(b[i]));
	}
	return num / (den > 0 ? den : 1);
}

static void check_against_reference(struct llama_config c, const char *what)
{
	struct llama_model *m = random_model(c, 7);
	CHECK(m, "%s: %s", what, err_get());
	if (!m)
		return;
	int lens[3] = { 9, 1, 17 }, tok[27];
	random_tokens(tok, 27, c.vocab, 3);
	int V = c.vocab;
	float *logits = malloc(27 * V * sizeof *logits), *logp = malloc(27 * sizeof *logp);
	double *ref = malloc(27 * V * sizeof *ref);
	CHECK(llama_forward(m, 3, lens, tok, logits) == 0, "%s: forward: %s", what, err_get());
	CHECK(llama_logprobs(m, 3, lens, tok, logp) == 0, "%s: logprobs: %s", what, err_get());
	for (int s = 0, off = 0; s < 3; off += lens[s++]) {
		ref_logits(m, tok + off, lens[s], ref);
		double e = rel_err(logits + (size_t)off * V, ref, (size_t)lens[s] * V), spread = 0;
		CHECK(e < 1e-4, "%s: sequence %d: relative error %g", what, s, e);
		for (int i = 1; i < lens[s] * V; i++)
			spread = fmax(spread, fabs(ref[i] - ref[0]));
		CHECK(spread > 0.5, "%s: logits do not depend on the input (spread %g)", what, spread);
		CHECK(logp[off] == 0, "%s: first token has log-prob %g", what, logp[off]);
		for (int t = 1; t < lens[s]; t++) {
			const double *z = ref + (size_t)(t - 1) * V;
			double mx = z[0], sum = 0;
			for (int j = 1; j < V; j++)
				mx = fmax(mx, z[j]);
			for (int j = 0; j < V; j++)
				sum += exp(z[j] - mx);
			double want = z[tok[off + t]] - mx - log(sum);
			CHECK(fabs(logp[off + t] - want) < 1e-4 * (1 + fabs(want)),
			      "%s: seq %d pos %d: log-prob %g, reference %g", what, s, t, logp[off + t], want);
		}
	}
	free(logits); free(logp); free(ref);
	llama_free(m);
}

static void test_forward_reference(void)
{
	check_against_reference(small_config(0, 2, 0), "GQA untied");
	check_against_reference(small_config(1, 4, 0), "MHA tied");
	check_against_reference(small_config(0, 1, 12), "MQA, head_dim 12 ≠ hidden/heads");
	struct llama_config c = small_config(0, 2, 0);
	c.rope_theta = 500000;
	c.layers = 3;
	check_against_reference(c, "theta 5e5, 3 layers");

	/* The switches of the other families, each against the reference. */
	c = small_config(1, 2, 0);
	c.qkv_bias = c.o_bias = c.mlp_bias = 1;
	check_against_reference(c, "Llama attention_bias + mlp_bias, tied");
	c = small_config(1, 2, 0);
	c.arch = LLAMA_ARCH_QWEN2;
	c.qkv_bias = 1;
	check_against_reference(c, "Qwen2: q/k/v biases, tied");
	c = small_config(0, 2, 12);
	c.arch = LLAMA_ARCH_QWEN3;
	c.qk_norm = 1;
	check_against_reference(c, "Qwen3: q/k norms, head_dim 12");
	c = small_config(0, 2, 0);
	c.arch = LLAMA_ARCH_MISTRAL;
	c.window = 5;   /* the 17-token sequence crosses it */
	check_against_reference(c, "Mistral: sliding window 5");
	c.window = 1;
	check_against_reference(c, "sliding window 1 (itself only)");
	c = small_config(0, 2, 16);
	c.rope_type = LLAMA_ROPE_LINEAR;
	c.rope_factor = 3;
	check_against_reference(c, "linear rope, factor 3");
	c.rope_type = LLAMA_ROPE_LLAMA3;
	c.rope_theta = 500000;
	c.rope_factor = 8;
	c.rope_low = 1;
	c.rope_high = 4;
	c.rope_orig = 64;   /* head_dim 16: 8 frequencies over the three regimes */
	int kept = 0, blended = 0, divided = 0;
	for (int j = 0; j < 8; j++) {
		double wl = 2 * M_PI * pow(c.rope_theta, 2.0 * j / 16);
		kept += wl < 64 / 4.0;
		divided += wl > 64 / 1.0;
		blended += !(wl < 64 / 4.0) && !(wl > 64 / 1.0);
	}
	CHECK(kept && blended && divided, "llama3 regimes: %d kept, %d blended, %d divided", kept,
	      blended, divided);
	check_against_reference(c, "llama3 rope");
}

/* Continuations of cached contexts (llama_logprobs_cont) equal the full sequences' log-probs: three
 * contexts in a cache, five continuations sharing them (two on slot 0, two on slot 2), the cache
 * unchanged after. */
static void check_cont(struct llama_config c, const char *what)
{
	struct llama_model *m = random_model(c, 5);
	struct llama_cache *kc = m ? llama_cache_new(m, 3, 16) : NULL;
	CHECK(m && kc, "%s: %s", what, err_get());
	if (!kc) {
		llama_free(m);
		return;
	}
	int clen[3] = { 9, 1, 12 }, slots[3] = { 0, 1, 2 }, ctok[22], V = c.vocab;
	int cslot[5] = { 0, 0, 1, 2, 2 }, len[5] = { 4, 1, 6, 3, 7 }, tok[21], tgt[21];
	random_tokens(ctok, 22, V, 11);
	random_tokens(tok, 21, V, 12);
	float *z = malloc(3 * (size_t)V * sizeof *z), lp[21], full[32];
	CHECK(llama_step(m, kc, 3, slots, clen, ctok, z) == 0, "%s: prefill: %s", what, err_get());
	for (int i = 0, at = 0; i < 5; at += len[i++])
		for (int j = 0; j < len[i]; j++)
			tgt[at + j] = j + 1 < len[i] ? tok[at + j + 1] : -1;
	CHECK(llama_logprobs_cont(m, kc, 5, cslot, len, tok, tgt, lp) == 0, "%s: cont: %s", what, err_get());
	CHECK(llama_cache_len(kc, 0) == 9 && llama_cache_len(kc, 2) == 12, "%s: the cache changed", what);
	double worst = 0;
	for (int i = 0, at = 0; i < 5; at += len[i++]) {
		int s = cslot[i], off = s == 0 ? 0 : s == 1 ? 9 : 10, seq[32], L = clen[s] + len[i];
		memcpy(seq, ctok + off, clen[s] * sizeof *seq);
		memcpy(seq + clen[s], tok + at, len[i] * sizeof *seq);
		CHECK(llama_logprobs(m, 1, &L, seq, full) == 0, "%s: %s", what, err_get());
		for (int j = 0; j < len[i]; j++) {
			double want = j + 1 < len[i] ? full[clen[s] + j + 1] : 0;
			worst = fmax(worst, fabs(lp[at + j] - want));
		}
	}
	CHECK(worst < 1e-5, "%s: continuation log-probs off by %g", what, worst);
	free(z);
	llama_cache_free(kc);
	llama_free(m);
}

static void test_cont_equals_full(void)
{
	check_cont(small_config(0, 2, 0), "GQA untied");
	struct llama_config c = small_config(1, 2, 0);
	c.arch = LLAMA_ARCH_MISTRAL;
	c.window = 4;   /* shorter than the contexts and than context + continuation */
	check_cont(c, "sliding window 4");
	c = small_config(0, 2, 12);
	c.arch = LLAMA_ARCH_QWEN3;
	c.qk_norm = c.qkv_bias = c.o_bias = 1;
	check_cont(c, "q/k norms and biases");
}

/* Batched (packed, different lengths) equals each sequence alone. */
static void test_batched_equals_unbatched(void)
{
	struct llama_config c = small_config(0, 2, 0);
	struct llama_model *m = random_model(c, 11);
	int lens[4] = { 5, 12, 1, 8 }, tok[26], V = c.vocab;
	random_tokens(tok, 26, V, 9);
	float *all = malloc(26 * V * sizeof *all), *one = malloc(26 * V * sizeof *one);
	float lp_all[26], lp_one[26];
	CHECK(llama_forward(m, 4, lens, tok, all) == 0 && llama_logprobs(m, 4, lens, tok, lp_all) == 0,
	      "batch: %s", err_get());
	double worst = 0, scale = 0;
	for (int s = 0, off = 0; s < 4; off += lens[s++]) {
		CHECK(llama_forward(m, 1, &lens[s], tok + off, one) == 0, "one: %s", err_get());
		CHECK(llama_logprobs(m, 1, &lens[s], tok + off, lp_one) == 0, "one: %s", err_get());
		for (int i = 0; i < lens[s] * V; i++) {
			worst = fmax(worst, fabs(one[i] - all[(size_t)off * V + i]));
			scale = fmax(scale, fabs(one[i]));
		}
		for (int i = 0; i < lens[s]; i++)
			worst = fmax(worst, fabs(lp_one[i] - lp_all[off + i]));
	}
	CHECK(worst <= 1e-5 * scale, "batched vs unbatched: max difference %g (scale %g)", worst, scale);
	free(all); free(one);
	llama_free(m);
}

/* Prefill + one token at a time through the cache gives the full forward pass's logits, for
 * several slots at once with different prompt lengths, slots given out of order. */
static void test_cache_equals_full(void)
{
	struct llama_config c = small_config(0, 2, 0);
	struct llama_model *m = random_model(c, 5);
	const int V = c.vocab, NS = 3, STEPS = 6;
	int plen[3] = { 4, 1, 7 }, slots[3] = { 2, 0, 1 }, seq[3][16];
	for (int s = 0; s < NS; s++)
		random_tokens(seq[s], 16, V, 100 + s);
	struct llama_cache *kc = llama_cache_new(m, 3, 16);
	CHECK(kc != NULL, "cache: %s", err_get());
	float *lg = malloc(NS * V * sizeof *lg), *full = malloc(16 * V * sizeof *full);
	int packed[16 * 3], lens[3], n = 0;
	for (int s = 0; s < NS; s++) {
		memcpy(packed + n, seq[s], plen[s] * sizeof(int));
		n += lens[s] = plen[s];
	}
	double worst = 0;
	for (int step = 0; step <= STEPS; step++) {
		CHECK(llama_step(m, kc, NS, slots, lens, packed, lg) == 0, "step %d: %s", step, err_get());
		for (int s = 0; s < NS; s++) {
			int len = plen[s] + step;
			CHECK(llama_cache_len(kc, slots[s]) == len, "cache len %d", llama_cache_len(kc, slots[s]));
			llama_forward(m, 1, &len, seq[s], full);
			for (int j = 0; j < V; j++)
				worst = fmax(worst, fabs(lg[s * V + j] - full[(size_t)(len - 1) * V + j]) /
				                    (1 + fabs(full[(size_t)(len - 1) * V + j])));
			packed[s] = seq[s][len];
			lens[s] = 1;
		}
	}
	CHECK(worst < 1e-5, "cached vs full logits: %g", worst);

	/* Refusals change nothing. */
	int one = 1, tok = 3, big = 20, s0 = 0, twice[2] = { 1, 1 }, ones[2] = { 1, 1 }, t2[2] = { 1, 2 };
	int before = llama_cache_len(kc, 0);
	CHECK(llama_step(m, kc, 1, &s0, &big, seq[0], lg) == -1 && strstr(err_get(), "exceed"),
	      "overflow: %s", err_get());
	CHECK(llama_step(m, kc, 2, twice, ones, t2, lg) == -1 && strstr(err_get(), "given twice"),
	      "slot twice: %s", err_get());
	tok = V;
	CHECK(llama_step(m, kc, 1, &s0, &one, &tok, lg) == -1 && strstr(err_get(), "outside the vocabulary"),
	      "token id: %s", err_get());
	CHECK(llama_cache_len(kc, 0) == before, "refusals kept the cache");
	llama_cache_clear(kc, 0);
	CHECK(llama_cache_len(kc, 0) == 0, "cleared");
	free(lg); free(full);
	llama_cache_free(kc);
	llama_free(m);
}

/* Greedy generation with the cache picks the same tokens as recomputing every prefix. */
static void test_greedy_generation(void)
{
	struct llama_config c = small_config(1, 2, 0);
	struct llama_model *m = random_model(c, 21);
	const int V = c.vocab, NEW = 10;
	int prompt[5] = { 1, 5, 9, 2, 30 }, a[16], b[16], len = 5, slot = 0, one = 1;
	float *lg = malloc(16 * V * sizeof *lg);
	struct llama_cache *kc = llama_cache_new(m, 1, 16);
	memcpy(a, prompt, sizeof prompt);
	memcpy(b, prompt, sizeof prompt);
	CHECK(llama_step(m, kc, 1, &slot, &len, prompt, lg) == 0, "prefill: %s", err_get());
	for (int t = 0; t < NEW; t++) {
		int best = 0;
		for (int j = 1; j < V; j++)
			if (lg[j] > lg[best])
				best = j;
		a[len + t] = best;
		if (t + 1 < NEW)
			llama_step(m, kc, 1, &slot, &one, &a[len + t], lg);
	}
	for (int t = 0; t < NEW; t++) {
		int n = len + t, best = 0;
		llama_forward(m, 1, &n, b, lg);
		const float *z = lg + (size_t)(n - 1) * V;
		for (int j = 1; j < V; j++)
			if (z[j] > z[best])
				best = j;
		b[n] = best;
	}
	CHECK(memcmp(a, b, (len + NEW) * sizeof(int)) == 0, "greedy tokens differ");
	int distinct = 0;
	for (int t = len; t < len + NEW; t++)
		distinct += a[t] != a[len];
	CHECK(distinct > 0, "generation is one repeated token");
	free(lg);
	llama_cache_free(kc);
	llama_free(m);
}

/* --- the sigmoid of silu --- */

/* Distance in units in the last place of float between a and b (same sign, finite). */
static double ulps(float a, double b)
{
	int e;
	frexp(b, &e);
	double ulp = ldexp(1, (e - 24 < -149 ? -149 : e - 24));
	return fabs(a - b) / ulp;
}

/* llama_sigmoid against 1/(1 + e^−x) in double over a dense sweep of [-100, 100] and the edges:
 * a few ulp where σ is a normal float, under 2e-38 absolute below (−87: it gives 0); ±0 give
 * 0.5, ±inf 1 and 0, NaN NaN. Through a loop of fixed trip count too, as the forward pass
 * vectorizes it: the same bits. */
static void test_sigmoid(void)
{
	double worst = 0, tiny = 0;
	float xs[8], ys[8];
	int same = 1;
	for (long i = -400000; i <= 400000; i++) {
		float x = (float)(i * 2.5e-4);
		double want = 1 / (1 + exp(-(double)x));
		float got = llama_sigmoid(x);
		if (x >= -87)
			worst = fmax(worst, ulps(got, want));
		else
			tiny = fmax(tiny, fabs(got - want));
		xs[i & 7] = x;
		if ((i & 7) == 7) {
			for (int k = 0; k < 8; k++)
				ys[k] = llama_sigmoid(xs[k]);
			for (int k = 0; k < 8; k++)
				same &= ys[k] == llama_sigmoid(xs[k]);
		}
	}
	CHECK(worst <= 4, "max error %.2f ulp", worst);
	CHECK(tiny < 2e-38, "below -87: error %g", tiny);
	CHECK(same, "a block gives other bits");
	CHECK(llama_sigmoid(0.0f) == 0.5f && llama_sigmoid(-0.0f) == 0.5f, "σ(±0)");
	CHECK(llama_sigmoid(INFINITY) == 1 && llama_sigmoid(-INFINITY) == 0, "σ(±inf)");
	CHECK(llama_sigmoid(1e30f) == 1 && llama_sigmoid(-1e30f) == 0, "σ(±1e30)");
	CHECK(isnan(llama_sigmoid(NAN)) && isnan(llama_sigmoid(-NAN)), "σ(NaN)");
	float edges[] = { 86.99f, 87.0f, 87.01f, -86.99f, -87.0f, -87.01f, 1e-30f, -1e-30f, 1e-45f };
	for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
		double want = 1 / (1 + exp(-(double)edges[i]));
		float got = llama_sigmoid(edges[i]);
		CHECK(ulps(got, want) <= 4 || fabs(got - want) < 2e-38, "σ(%g) = %g, want %g", edges[i], got, want);
	}
	printf("# sigmoid: max %.2f ulp\n", worst);
}

/* --- the greedy argmax --- */

/* The greedy rule, written here: the largest value, ties to the lowest index, never a NaN; -1
 * when every value is NaN. */
static int ref_argmax(const float *z, int V)
{
	int b = -1;
	for (int j = 0; j < V; j++)
		if (!isnan(z[j]) && (b < 0 || z[j] > z[b]))
			b = j;
	return b;
}

/* Another value within tol of z[b] but not equal to it: float rounding may pick either. */
static int near_tie(const float *z, int V, int b, double tol)
{
	for (int j = 0; b >= 0 && j < V; j++)
		if (z[j] != z[b] && fabs(z[j] - z[b]) <= tol * (1 + fabs(z[b])))
			return 1;
	return 0;
}

/* llama_argmax of the batch against ref_argmax of llama_forward's logits: -1 before from[s],
 * the same token after (exact ties included), except at near ties, whose count is returned (-1
 * on a failed call). */
static int check_argmax(struct llama_model *m, int n, const int *lens, const int *tok, const int *from,
                        const char *what)
{
	int N = 0, V = m->cfg.vocab, near = 0;
	for (int s = 0; s < n; s++)
		N += lens[s];
	float *z = malloc((size_t)N * V * sizeof *z);
	int *best = malloc(N * sizeof *best);
	for (int i = 0; i < N; i++)
		best[i] = -2;
	int ok = llama_forward(m, n, lens, tok, z) == 0 && llama_argmax(m, n, lens, tok, from, best) == 0;
	CHECK(ok, "%s: %s", what, err_get());
	for (int s = 0, off = 0; ok && s < n; off += lens[s++])
		for (int t = 0; t < lens[s]; t++) {
			const float *zt = z + (size_t)(off + t) * V;
			int want = from && t < from[s] ? -1 : ref_argmax(zt, V), got = best[off + t];
			if (want >= 0 && near_tie(zt, V, want, 1e-5)) {
				near++;
				continue;
			}
			CHECK(got == want, "%s: sequence %d position %d: %d, want %d (logits %g, %g)", what, s, t,
			      got, want, got >= 0 ? zt[got] : NAN, want >= 0 ? zt[want] : NAN);
		}
	free(z);
	free(best);
	return ok ? near : -1;
}

/* The argmax at every position, or from a start in each sequence, is the greedy choice among the
 * logits llama_forward gives. First on the random head (near ties are skipped), then with exact
 * ties and a NaN row: lm_head row j has one non-zero, s·e_(j mod 12), so that its logit is one
 * product, the same bits whatever way gemm sums (equal rows in general are not: gemm's edge
 * columns may round differently); every maximum is shared by the copies of its row, and the
 * lowest id must win. */
static void test_argmax_forward(void)
{
	struct llama_config c = small_config(0, 2, 0);
	struct llama_model *m = random_model(c, 13);
	const int V = c.vocab, C = c.hidden, B = 12;
	float *head = llama_param(m, "lm_head.weight", NULL);
	int lens[4] = { 9, 1, 17, 4 }, tok[31], best[31], all[4] = { 0, 0, 0, 0 };
	int from[4] = { 3, 1, 0, 4 };
	random_tokens(tok, 31, V, 17);
	CHECK(check_argmax(m, 4, lens, tok, NULL, "random head") == 0, "near ties: pick another seed");
	CHECK(check_argmax(m, 4, lens, tok, from, "random head, from") == 0, "from");
	memset(head, 0, (size_t)V * C * sizeof *head);
	for (int j = 0; j < V; j++)
		head[(size_t)j * C + j % B] = (j % B % 2 ? -1 : 1) * (1 + 0.125f * (j % B));
	CHECK(check_argmax(m, 4, lens, tok, NULL, "ties") == 0, "near ties: pick another seed");
	CHECK(check_argmax(m, 4, lens, tok, all, "from 0") == 0, "from 0");
	CHECK(check_argmax(m, 4, lens, tok, from, "from") == 0, "from");
	CHECK(llama_argmax(m, 4, lens, tok, NULL, best) == 0, "%s", err_get());
	int seen[12] = { 0 }, d = 0, after[31];
	for (int i = 0; i < 31; i++) {
		CHECK(best[i] >= 0 && best[i] < B, "position %d: %d, not the lowest of its copies", i, best[i]);
		if (best[i] >= 0 && best[i] < B && ++seen[best[i]] > seen[d])
			d = best[i];
	}
	/* Row d (the most chosen) NaN: its first copy takes its place. */
	memset(head + (size_t)d * C, 0, C * sizeof *head);
	head[(size_t)d * C] = NAN;
	CHECK(check_argmax(m, 4, lens, tok, from, "NaN row") == 0, "NaN row");
	CHECK(llama_argmax(m, 4, lens, tok, NULL, after) == 0, "%s", err_get());
	for (int i = 0; i < 31; i++)
		CHECK(after[i] == (best[i] == d ? d + B : best[i]), "NaN row %d: position %d: %d, was %d", d, i,
		      after[i], best[i]);
	CHECK(seen[d] > 1, "token %d chosen %d times", d, seen[d]);
	llama_free(m);
}

/* Logits made known through lm_head: all equal but a NaN (the lowest other id), all NaN (-1), and
 * ±inf (row j = −inf at dimension 0: every logit −inf where the normed state is positive there,
 * +inf elsewhere; token 0 either way). */
static void test_argmax_special(void)
{
	struct llama_config c = small_config(0, 2, 0);
	struct llama_model *m = random_model(c, 14);
	const int V = c.vocab, C = c.hidden;
	float *head = llama_param(m, "lm_head.weight", NULL), *z = malloc(20 * V * sizeof *z);
	int lens[2] = { 7, 13 }, tok[20], best[20];
	random_tokens(tok, 20, V, 3);
	memset(head, 0, (size_t)V * C * sizeof *head);
	head[C] = NAN;   /* row 1 */
	CHECK(llama_argmax(m, 2, lens, tok, NULL, best) == 0, "%s", err_get());
	for (int i = 0; i < 20; i++)
		CHECK(best[i] == 0, "zero logits, NaN at 1: position %d: %d", i, best[i]);
	head[0] = NAN;   /* rows 0 and 1 */
	CHECK(llama_argmax(m, 2, lens, tok, NULL, best) == 0, "%s", err_get());
	for (int i = 0; i < 20; i++)
		CHECK(best[i] == 2, "NaN at 0 and 1: position %d: %d", i, best[i]);
	for (size_t i = 0; i < (size_t)V * C; i++)
		head[i] = NAN;
	CHECK(llama_argmax(m, 2, lens, tok, NULL, best) == 0, "%s", err_get());
	for (int i = 0; i < 20; i++)
		CHECK(best[i] == -1, "all NaN: position %d: %d", i, best[i]);
	memset(head, 0, (size_t)V * C * sizeof *head);
	for (int j = 0; j < V; j++)
		head[(size_t)j * C] = -INFINITY;
	CHECK(llama_forward(m, 2, lens, tok, z) == 0 && llama_argmax(m, 2, lens, tok, NULL, best) == 0, "%s", err_get());
	int neg = 0;
	for (int i = 0; i < 20; i++) {
		int all_neg = 1;
		for (int j = 0; j < V; j++)
			all_neg &= z[(size_t)i * V + j] == -INFINITY;
		neg += all_neg;
		CHECK(best[i] == 0, "±inf: position %d: %d", i, best[i]);
	}
	CHECK(neg > 0 && neg < 20, "%d of 20 positions with every logit -inf: pick another seed", neg);
	free(z);
	llama_free(m);
}

/* Every result is the same bits with 1 or 3 threads (the work is cut by shape, not by thread
 * count). Sizes give several gemm tiles (row bands and feature tiles) and many items. */
static void test_threads_same_bits(void)
{
	struct llama_config c;
	llama_config_default(&c);
	c.vocab = 300; c.hidden = 128; c.layers = 2; c.heads = 4; c.kv_heads = 2; c.ff = 160;
	struct llama_model *m = random_model(c, 3);
	CHECK(m, "model: %s", err_get());
	if (!m)
		return;
	enum { NS = 5, B = 3, T = 200 };
	int lens[NS] = { 200, 3, 150, 180, 90 }, N = 623, tok[623], tgt[B * T], slots[NS] = { 4, 3, 2, 1, 0 };
	int one[NS] = { 1, 1, 1, 1, 1 };
	random_tokens(tok, N, c.vocab, 77);
	for (int i = 0; i < B * T; i++)
		tgt[i] = i % 7 ? tok[(i + 1) % N] : -1;
	size_t V = c.vocab, np = m->n_params;
	float *out[2], *lp[2], *step[2], *grad[2];
	int *best[2], from[NS] = { 0, 3, 10, 179, 90 };
	double loss[2];
	for (int r = 0; r < 2; r++) {
		llama_set_threads(r ? 3 : 1);
		out[r] = malloc(N * V * sizeof(float));
		lp[r] = malloc(N * sizeof(float));
		step[r] = malloc(2 * NS * V * sizeof(float));
		grad[r] = malloc(np * sizeof(float));
		best[r] = malloc(N * sizeof(int));
		struct llama_cache *kc = llama_cache_new(m, NS, 256);
		CHECK(llama_forward(m, NS, lens, tok, out[r]) == 0 && llama_logprobs(m, NS, lens, tok, lp[r]) == 0 &&
		      llama_argmax(m, NS, lens, tok, from, best[r]) == 0 &&
		      llama_step(m, kc, NS, slots, lens, tok, step[r]) == 0 &&
		      llama_step(m, kc, NS, slots, one, tok, step[r] + NS * V) == 0 &&
		      llama_loss_grad(m, B, T, tok, tgt, grad[r], &loss[r]) == 0, "threads %d: %s", r ? 3 : 1, err_get());
		llama_cache_free(kc);
	}
	llama_set_threads(1);
	CHECK(memcmp(out[0], out[1], N * V * sizeof(float)) == 0, "forward logits differ");
	CHECK(memcmp(lp[0], lp[1], N * sizeof(float)) == 0, "log-probs differ");
	CHECK(memcmp(best[0], best[1], N * sizeof(int)) == 0, "argmax differs");
	CHECK(memcmp(step[0], step[1], 2 * NS * V * sizeof(float)) == 0, "cached steps differ");
	CHECK(memcmp(grad[0], grad[1], np * sizeof(float)) == 0 && loss[0] == loss[1], "gradients differ");
	for (int r = 0; r < 2; r++) {
		free(out[r]); free(lp[r]); free(step[r]); free(grad[r]); free(best[r]);
	}
	llama_free(m);
}

/* A large vocabulary sends lm_head through several row chunks (about 4M logits each): scoring,
 * the argmax and the training head must give what one-chunk batches give. */
static void test_head_chunks(void)
{
	struct llama_config c;
	llama_config_default(&c);
	c.vocab = 40000; c.hidden = 16; c.layers = 1; c.heads = 2; c.ff = 16;
	struct llama_model *m = random_model(c, 9);
	enum { B = 3, T = 50 };   /* 150 rows: chunks of 104 */
	int tok[B * T], tgt[B * T], lens[B] = { T, T, T };
	random_tokens(tok, B * T, c.vocab, 5);
	for (int i = 0; i < B * T; i++)
		tgt[i] = (i % T) + 1 < T && i % 3 ? tok[i + 1] : -1;
	float lp[B * T], one[T], *g = malloc(m->n_params * sizeof *g), *gb = malloc(m->n_params * sizeof *gb);
	double *sum = calloc(m->n_params, sizeof *sum), loss, lb, lsum = 0, worst = 0, lpw = 0;
	long count = 0;
	CHECK(llama_logprobs(m, B, lens, tok, lp) == 0, "logprobs: %s", err_get());
	CHECK(llama_loss_grad(m, B, T, tok, tgt, g, &loss) == 0, "loss: %s", err_get());
	for (int b = 0; b < B; b++) {
		int cb = 0;
		for (int t = 0; t < T; t++)
			cb += tgt[b * T + t] >= 0;
		CHECK(llama_logprobs(m, 1, &lens[b], tok + b * T, one) == 0, "one: %s", err_get());
		for (int t = 0; t < T; t++)
			lpw = fmax(lpw, fabs(one[t] - lp[b * T + t]));
		CHECK(llama_loss_grad(m, 1, T, tok + b * T, tgt + b * T, gb, &lb) == 0, "one loss: %s", err_get());
		for (size_t i = 0; i < m->n_params; i++)
			sum[i] += (double)cb * gb[i];
		lsum += lb * cb;
		count += cb;
	}
	double scale = 0;
	for (size_t i = 0; i < m->n_params; i++) {
		worst = fmax(worst, fabs(g[i] - sum[i] / count));
		scale = fmax(scale, fabs(g[i]));
	}
	CHECK(lpw < 1e-5, "chunked log-probs differ by %g", lpw);
	int from[B] = { 0, 20, 49 };   /* the argmax of 150 and of 81 rows: 2 and 1 chunks */
	int near = check_argmax(m, B, lens, tok, NULL, "chunked argmax");
	CHECK(near >= 0 && near < 3, "chunked argmax: %d near ties", near);
	near = check_argmax(m, B, lens, tok, from, "chunked argmax from");
	CHECK(near >= 0 && near < 3, "chunked argmax from: %d near ties", near);
	CHECK(fabs(loss - lsum / count) < 1e-5 * loss, "chunked loss %.9g vs %.9g", loss, lsum / count);
	CHECK(worst < 1e-4 * scale, "chunked gradient differs by %g (scale %g)", worst, scale);
	free(g); free(gb); free(sum);
	llama_free(m);
}

static void test_bad_input(void)
{
	struct llama_config c = small_config(0, 2, 0);
	struct llama_model *m = random_model(c, 1);
	float out[2 * 37];
	int tok[2] = { 3, 37 }, lens[1] = { 2 }, zero = 0;
	CHECK(llama_forward(m, 1, lens, tok, out) == -1 && strstr(err_get(), "token id 37 outside"),
	      "token: %s", err_get());
	tok[1] = -1;
	CHECK(llama_logprobs(m, 1, lens, tok, out) == -1 && strstr(err_get(), "token id -1"), "negative token");
	CHECK(llama_forward(m, 1, &zero, tok, out) == -1 && strstr(err_get(), "length 0"), "empty sequence");
	CHECK(llama_forward(m, 0, lens, tok, out) == -1 && strstr(err_get(), "empty batch"), "empty batch");
	int best[2], from = 3;
	tok[1] = 4;
	CHECK(llama_argmax(m, 1, lens, tok, &from, best) == -1 && strstr(err_get(), "sequence 0: from 3 outside [0, 2]"),
	      "from: %s", err_get());
	from = -1;
	CHECK(llama_argmax(m, 1, lens, tok, &from, best) == -1 && strstr(err_get(), "from -1"), "from: %s", err_get());
	c.heads = 3;
	c.head_dim = 8;
	CHECK(!llama_new(&c) && strstr(err_get(), "num_key_value_heads"), "bad config: %s", err_get());
	llama_free(m);
}

int main(void)
{
	llama_set_threads(1);
	T_RUN(test_config_spellings);
	T_RUN(test_config_families);
	T_RUN(test_config_refused);
	T_RUN(test_config_json_roundtrip);
	T_RUN(test_tensor_table);
	T_RUN(test_forward_reference);
	T_RUN(test_batched_equals_unbatched);
	T_RUN(test_cache_equals_full);
	T_RUN(test_cont_equals_full);
	T_RUN(test_greedy_generation);
	T_RUN(test_sigmoid);
	T_RUN(test_argmax_forward);
	T_RUN(test_argmax_special);
	T_RUN(test_threads_same_bits);
	T_RUN(test_head_chunks);
	T_RUN(test_bad_input);
	return t_done();
}
