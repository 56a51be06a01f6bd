/* config.c — libFuzzer target: the config.json reader (llama_config_parse). A config it accepts
 * must be a sane architecture (sizes positive, heads a multiple of kv_heads) of one of the
 * families, whose text
 * (llama_config_json, what lmio_save writes) is accepted again as the same architecture, and whose
 * tensor table (llama_tensors, what llama_new lays out next) can be built. */
#include <math.h>

#include "fuzz.h"
#include "llama.h"

static void fz_config(const uint8_t *d, size_t n)
{
	char *text = malloc(n + 1);
	if (!text)
		abort();
	memcpy(text, d, n);
	text[n] = 0;
	struct llama_config c, b;
	fz_err_clear();
	int rc = llama_config_parse(&c, text);
	free(text);
	if (rc < 0) {
		fz_check_error("llama_config_parse", n);
		return;
	}
	FZ_CHECK(c.vocab > 0 && c.hidden > 0 && c.layers > 0 && c.heads > 0 && c.kv_heads > 0 && c.head_dim > 0 &&
	         c.ff > 0 && c.heads % c.kv_heads == 0 && c.head_dim % 2 == 0, "an accepted config has a bad size");
	FZ_CHECK(isfinite(c.rope_theta) && c.rope_theta > 0 && isfinite(c.rms_eps) && c.rms_eps > 0, "rope/eps");
	char *back = llama_config_json(&c);
	FZ_CHECK(back != NULL, "llama_config_json: %s", err_get());
	if (back) {
		fz_err_clear();
		FZ_CHECK(llama_config_parse(&b, back) == 0, "the config written is refused: %s\n%s", err_get(), back);
		FZ_CHECK(b.vocab == c.vocab && b.hidden == c.hidden && b.layers == c.layers && b.heads == c.heads &&
		         b.kv_heads == c.kv_heads && b.head_dim == c.head_dim && b.ff == c.ff && b.max_pos == c.max_pos &&
		         b.tie_embeddings == c.tie_embeddings && b.bos_id == c.bos_id && b.eos_id == c.eos_id &&
		         b.rope_theta == c.rope_theta && b.rms_eps == c.rms_eps && b.arch == c.arch &&
		         b.rope_type == c.rope_type && b.rope_factor == c.rope_factor && b.rope_low == c.rope_low &&
		         b.rope_high == c.rope_high && b.rope_orig == c.rope_orig && b.qkv_bias == c.qkv_bias &&
		         b.o_bias == c.o_bias && b.mlp_bias == c.mlp_bias && b.qk_norm == c.qk_norm &&
		         b.window == c.window,
		         "the config written reads back as another architecture:\n%s", back);
		free(back);
	}
	struct llama_tensor *t;
	fz_err_clear();
	int nt = llama_tensors(&c, &t);
	if (nt < 0) {
		fz_check_error("llama_tensors", n);
		return;
	}
	size_t total = 0;
	for (int i = 0; i < nt; i++) {
		FZ_CHECK(t[i].offset == total, "tensor %d (%s) at offset %zu, not %zu", i, t[i].name, t[i].offset, total);
		total += t[i].numel;
	}
	free(t);
}
FZ_TARGET(config)
