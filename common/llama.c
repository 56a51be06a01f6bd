/* llama.c — see llama.h: config.json, the tensor table, parameter lookup and initialisation.
 * The arithmetic (and the model's lifetime, which owns the workspace) is in llama_core.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "dtype.h"
#include "err.h"
#include "llama.h"
#include "rec.h"

void llama_config_default(struct llama_config *c)
{
	memset(c, 0, sizeof *c);
	c->max_pos = 2048;
	c->bos_id = c->eos_id = -1;
	c->rope_theta = 10000;
	c->rms_eps = 1e-6;
	strcpy(c->dtype, "float32");
}

int llama_config_check(struct llama_config *c)
{
	if (c->kv_heads == 0)
		c->kv_heads = c->heads;
	if (c->head_dim == 0 && c->heads > 0) {
		if (c->hidden % c->heads)
			return err_set("head_dim: absent, and hidden_size %d is not a multiple of "
			               "num_attention_heads %d", c->hidden, c->heads);
		c->head_dim = c->hidden / c->heads;
	}
	const struct { const char *key; int v; } pos[] = {
		{ "vocab_size", c->vocab }, { "hidden_size", c->hidden },
		{ "num_hidden_layers", c->layers }, { "num_attention_heads", c->heads },
		{ "num_key_value_heads", c->kv_heads }, { "head_dim", c->head_dim },
		{ "intermediate_size", c->ff }, { "max_position_embeddings", c->max_pos },
	};
	for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++)
		if (pos[i].v <= 0)
			return err_set("%s: %d is not a positive size", pos[i].key, pos[i].v);
	if (c->heads % c->kv_heads)
		return err_set("num_key_value_heads: %d does not divide num_attention_heads %d",
		               c->kv_heads, c->heads);
	if (c->head_dim % 2)
		return err_set("head_dim: %d is odd (rotary embedding pairs dimensions)", c->head_dim);
	if (!(c->rope_theta > 0) || !isfinite(c->rope_theta))
		return err_set("rope_theta: %g is not a positive number", c->rope_theta);
	if (!(c->rms_eps > 0) || !isfinite(c->rms_eps))
		return err_set("rms_norm_eps: %g is not a positive number", c->rms_eps);
	/* Sizes must fit the int arithmetic of the forward pass and the int64 of shapes. */
	if ((int64_t)c->vocab * c->hidden > (int64_t)1 << 40 ||
	    (int64_t)c->heads * c->head_dim > (int64_t)1 << 24 || c->hidden > 1 << 24 || c->ff > 1 << 26)
		return err_set("config: sizes too large");
	/* The largest models have about 128 layers; the bound keeps the tensor table (9 entries a
	 * layer) and its int indices small whatever a config claims. */
	if (c->layers > 1 << 14)
		return err_set("num_hidden_layers: %d is more than %d", c->layers, 1 << 14);
	if (c->window < 0)
		return err_set("sliding_window: %d is negative", c->window);
	if (c->rope_type == LLAMA_ROPE_LINEAR && !(c->rope_factor > 0 && isfinite(c->rope_factor)))
		return err_set("rope factor: %g is not a positive number", c->rope_factor);
	if (c->rope_type == LLAMA_ROPE_LLAMA3 &&
	    !(c->rope_factor > 0 && isfinite(c->rope_factor) && c->rope_low > 0 &&
	      c->rope_high > c->rope_low && isfinite(c->rope_high) && c->rope_orig > 0))
		return err_set("rope llama3: factor %g, low_freq_factor %g, high_freq_factor %g, "
		               "original_max_position_embeddings %d: want positive numbers, high above low",
		               c->rope_factor, c->rope_low, c->rope_high, c->rope_orig);
	if (c->bos_id < -1 || c->eos_id < -1)
		return err_set("%s: %d is not a token id", c->bos_id < -1 ? "bos_token_id" : "eos_token_id",
		               c->bos_id < -1 ? c->bos_id : c->eos_id);
	return 0;
}

int llama_config_plain(const struct llama_config *c)
{
	return c->arch == LLAMA_ARCH_LLAMA && c->rope_type == LLAMA_ROPE_DEFAULT && !c->qkv_bias &&
	       !c->o_bias && !c->mlp_bias && !c->qk_norm && !c->window;
}

/* --- config.json --- */

static json_object *key(json_object *o, const char *k)
{
	json_object *v = NULL;
	json_object_object_get_ex(o, k, &v);
	return v;   /* NULL for absent and for JSON null */
}

/* Typed fields through rec.h's getters: 1 and *v when present, 0 when absent or null, -1 with
 * the getter's message ('field "K" is not an integer'…). Integers are token ids or sizes in
 * -1..INT32_MAX (4096.0 counts as 4096); numbers finite. */
#define OPT (REC_OPTIONAL | REC_NULLABLE)

static int get_int(json_object *o, const char *k, int *v)
{
	long long x;
	int r = rec_get_int(o, k, OPT | REC_INTEGRAL, -1, INT32_MAX, &x);
	if (r > 0)
		*v = (int)x;
	return r;
}

static int get_num(json_object *o, const char *k, double *v)
{
	return rec_get_double(o, k, OPT, -HUGE_VAL, HUGE_VAL, v);
}

static int get_bool(json_object *o, const char *k, int *v)
{
	return rec_get_bool(o, k, OPT, v);
}

/* A string field, or NULL when absent, null or not a string (a model_type of 5 names nothing). */
static const char *get_str(json_object *o, const char *k)
{
	json_object *x = key(o, k);
	return x && json_object_is_type(x, json_type_string) ? json_object_get_string(x) : NULL;
}

static int need_int(json_object *o, const char *k, int *v)
{
	long long x;
	if (rec_get_int(o, k, REC_INTEGRAL, -1, INT32_MAX, &x) < 0)
		return -1;
	*v = (int)x;
	return 0;
}

/* Rotary parameters: "rope_scaling" (old; the type under "rope_type" or the older "type") or
 * "rope_parameters" (new, with rope_theta inside). Types default, linear and llama3 are
 * computed; any other is refused by name. */
static int parse_rope(json_object *o, const char *k, struct llama_config *c)
{
	json_object *r = key(o, k);
	if (!r)
		return 0;
	if (!json_object_is_type(r, json_type_object))
		return err_set("%s: %s is not an object", k, json_object_to_json_string(r));
	const char *type = get_str(r, "rope_type");
	if (!type)
		type = get_str(r, "type");
	if (!type && key(r, "factor"))
		return err_set("%s: scaling factor without type is not supported", k);
	if (!type || !strcmp(type, "default"))
		c->rope_type = LLAMA_ROPE_DEFAULT;
	else if (!strcmp(type, "linear"))
		c->rope_type = LLAMA_ROPE_LINEAR;
	else if (!strcmp(type, "llama3"))
		c->rope_type = LLAMA_ROPE_LLAMA3;
	else
		return err_set("%s: rope type \"%s\" is not supported (only \"default\", \"linear\", "
		               "\"llama3\")", k, type);
	/* The later key says the whole rope: nothing of an earlier one's parameters stays behind. */
	c->rope_factor = c->rope_low = c->rope_high = 0;
	c->rope_orig = 0;
	double prf = 1;
	if (get_num(r, "rope_theta", &c->rope_theta) < 0 || get_num(r, "partial_rotary_factor", &prf) < 0)
		return err_prefix("%s: ", k);
	if (prf != 1)
		return err_set("%s: partial_rotary_factor %g is not supported (only 1)", k, prf);
	if (c->rope_type == LLAMA_ROPE_DEFAULT)
		return 0;
	if (!key(r, "factor"))
		return err_set("%s: rope type \"%s\": factor: missing", k, type);
	if (get_num(r, "factor", &c->rope_factor) < 0)
		return err_prefix("%s: ", k);
	if (c->rope_type == LLAMA_ROPE_LLAMA3) {
		const char *need[] = { "low_freq_factor", "high_freq_factor", "original_max_position_embeddings" };
		for (int i = 0; i < 3; i++)
			if (!key(r, need[i]))
				return err_set("%s: rope type \"llama3\": %s: missing", k, need[i]);
		if (get_num(r, "low_freq_factor", &c->rope_low) < 0 ||
		    get_num(r, "high_freq_factor", &c->rope_high) < 0 ||
		    get_int(r, "original_max_position_embeddings", &c->rope_orig) < 0)
			return err_prefix("%s: ", k);
	}
	return 0;
}

/* The families, by model_type and by architecture name. */
static const struct { const char *type, *arch; } families[] = {
	[LLAMA_ARCH_LLAMA] = { "llama", "LlamaForCausalLM" },
	[LLAMA_ARCH_MISTRAL] = { "mistral", "MistralForCausalLM" },
	[LLAMA_ARCH_QWEN2] = { "qwen2", "Qwen2ForCausalLM" },
	[LLAMA_ARCH_QWEN3] = { "qwen3", "Qwen3ForCausalLM" },
};
#define NFAMILIES (int)(sizeof families / sizeof families[0])
#define SUPPORTED "\"llama\", \"mistral\", \"qwen2\", \"qwen3\""

/* The family from model_type and architectures, which must agree: 0, or -1 naming the key. */
static int parse_family(json_object *o, struct llama_config *c)
{
	const char *mt = get_str(o, "model_type");
	int fam = -1;
	if (mt) {
		for (int i = 0; i < NFAMILIES; i++)
			if (!strcmp(mt, families[i].type))
				fam = i;
		if (fam < 0)
			return err_set("model_type: \"%s\" is not supported (only " SUPPORTED ")", mt);
	}
	json_object *arch = key(o, "architectures");
	if (arch && json_object_is_type(arch, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(arch); i++) {
			json_object *a = json_object_array_get_idx(arch, i);
			const char *s = a && json_object_is_type(a, json_type_string) ? json_object_get_string(a) : "?";
			int f = -1;
			for (int j = 0; j < NFAMILIES; j++)
				if (!strcmp(s, families[j].arch))
					f = j;
			if (f < 0)
				return err_set("architectures: \"%s\" is not supported (only LlamaForCausalLM, "
				               "MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)", s);
			if (fam >= 0 && f != fam)
				return err_set("architectures: \"%s\" does not match model_type \"%s\"", s,
				               families[fam].type);
			fam = f;
		}
	}
	c->arch = fam < 0 ? LLAMA_ARCH_LLAMA : fam;
	return 0;
}

/* Attention layers: the sliding window where the family has one (Mistral), full attention
 * elsewhere; a sliding window anywhere else is refused. */
static int parse_window(json_object *o, struct llama_config *c)
{
	int use = 0;
	if (get_bool(o, "use_sliding_window", &use) < 0)
		return -1;
	json_object *lt = key(o, "layer_types");
	if (lt && json_object_is_type(lt, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(lt); i++) {
			json_object *a = json_object_array_get_idx(lt, i);
			const char *s = a && json_object_is_type(a, json_type_string) ? json_object_get_string(a) : "?";
			if (strcmp(s, "full_attention") != 0)
				return err_set("layer_types: \"%s\" is not supported (only \"full_attention\")", s);
		}
	}
	if (c->arch == LLAMA_ARCH_MISTRAL) {
		json_object *w = NULL;
		if (!json_object_object_get_ex(o, "sliding_window", &w))
			c->window = 4096;   /* MistralConfig's default */
		else if (w && get_int(o, "sliding_window", &c->window) < 0)
			return -1;
		else if (w && c->window < 1)
			return err_set("sliding_window: %d is not a positive size", c->window);
		return 0;
	}
	if (use)
		return err_set("use_sliding_window: true is not supported (only Mistral's sliding_window)");
	/* Qwen2 and Qwen3 ignore sliding_window unless use_sliding_window. */
	if (c->arch == LLAMA_ARCH_LLAMA && key(o, "sliding_window"))
		return err_set("sliding_window: a sliding attention window is not supported for llama");
	return 0;
}

int llama_config_parse(struct llama_config *c, const char *json_text)
{
	llama_config_default(c);
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return err_oom();
	json_object *o = json_tokener_parse_ex(tok, json_text, (int)strlen(json_text));
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (!o || jerr != json_tokener_success) {
		json_object_put(o);
		return err_set("config: invalid JSON: %s", json_tokener_error_desc(jerr));
	}
	int rc = -1;
	if (!json_object_is_type(o, json_type_object)) {
		err_set("config: not a JSON object");
		goto out;
	}
	if (parse_family(o, c) < 0)
		goto out;
	if (c->arch == LLAMA_ARCH_QWEN3)
		c->head_dim = 128;   /* Qwen3Config's default, not hidden / heads */
	if (need_int(o, "vocab_size", &c->vocab) || need_int(o, "hidden_size", &c->hidden) ||
	    need_int(o, "num_hidden_layers", &c->layers) ||
	    need_int(o, "num_attention_heads", &c->heads) ||
	    need_int(o, "intermediate_size", &c->ff) ||
	    get_int(o, "num_key_value_heads", &c->kv_heads) < 0 ||
	    get_int(o, "head_dim", &c->head_dim) < 0 ||
	    get_int(o, "max_position_embeddings", &c->max_pos) < 0 ||
	    get_int(o, "bos_token_id", &c->bos_id) < 0 ||
	    get_num(o, "rms_norm_eps", &c->rms_eps) < 0 ||
	    get_num(o, "rope_theta", &c->rope_theta) < 0 ||
	    get_bool(o, "tie_word_embeddings", &c->tie_embeddings) < 0)
		goto out;
	json_object *eos = key(o, "eos_token_id");
	if (eos && json_object_is_type(eos, json_type_array)) {
		if (json_object_array_length(eos) > 0) {
			json_object *e0 = json_object_array_get_idx(eos, 0);
			if (!json_object_is_type(e0, json_type_int) || json_object_get_int64(e0) < 0 ||
			    json_object_get_int64(e0) > INT32_MAX) {
				err_set("eos_token_id: %s is not a token id", json_object_to_json_string(e0));
				goto out;
			}
			c->eos_id = json_object_get_int(e0);
		}
	} else if (get_int(o, "eos_token_id", &c->eos_id) < 0) {
		goto out;
	}
	if (parse_rope(o, "rope_scaling", c) || parse_rope(o, "rope_parameters", c))
		goto out;
	const char *act = get_str(o, "hidden_act");
	if (!act)
		act = get_str(o, "hidden_activation");
	if (act && strcmp(act, "silu") != 0) {
		err_set("hidden_act: \"%s\" is not supported (only \"silu\")", act);
		goto out;
	}
	int ab = 0, mb = 0;
	if (get_bool(o, "attention_bias", &ab) < 0 || get_bool(o, "mlp_bias", &mb) < 0 ||
	    parse_window(o, c) < 0)
		goto out;
	switch (c->arch) {   /* what each family's modeling code reads */
	case LLAMA_ARCH_LLAMA: c->qkv_bias = c->o_bias = ab; c->mlp_bias = mb; break;
	case LLAMA_ARCH_MISTRAL: break;
	case LLAMA_ARCH_QWEN2: c->qkv_bias = 1; break;
	case LLAMA_ARCH_QWEN3: c->qkv_bias = c->o_bias = ab; c->qk_norm = 1; break;
	}
	if (key(o, "quantization_config")) {
		err_set("quantization_config: quantized weights are not supported");
		goto out;
	}
	const char *dt = get_str(o, "dtype");
	if (!dt)
		dt = get_str(o, "torch_dtype");
	if (dt)
		snprintf(c->dtype, sizeof c->dtype, "%s", dt);
	else
		c->dtype[0] = 0;
	rc = llama_config_check(c);
out:
	json_object_put(o);
	return rc;
}

static int add(json_object *o, const char *k, json_object *v)
{
	if (!v)
		return -1;
	json_object_object_add(o, k, v);
	return 0;
}

char *llama_config_json(const struct llama_config *c)
{
	/* Only switches a config.json of the family can say. */
	int ab = c->qkv_bias, ok = c->arch >= 0 && c->arch < NFAMILIES;
	if (ok) {
		switch (c->arch) {
		case LLAMA_ARCH_LLAMA: ok = c->o_bias == ab && !c->qk_norm && !c->window; break;
		case LLAMA_ARCH_MISTRAL: ok = !ab && !c->o_bias && !c->mlp_bias && !c->qk_norm; break;
		case LLAMA_ARCH_QWEN2: ok = ab && !c->o_bias && !c->mlp_bias && !c->qk_norm && !c->window; break;
		case LLAMA_ARCH_QWEN3: ok = c->o_bias == ab && !c->mlp_bias && c->qk_norm && !c->window; break;
		}
	}
	if (!ok) {
		err_set("config.json: these switches are not a model of one family (model_type %d)", c->arch);
		return NULL;
	}
	json_object *o = json_object_new_object(), *arch = json_object_new_array();
	char *text = NULL;
	if (!o || !arch) {
		json_object_put(o);
		json_object_put(arch);
		err_oom();
		return NULL;
	}
	json_object_array_add(arch, json_object_new_string(families[c->arch].arch));
	int bad = add(o, "architectures", arch) |
		add(o, "model_type", json_object_new_string(families[c->arch].type)) |
		add(o, "vocab_size", json_object_new_int(c->vocab)) |
		add(o, "hidden_size", json_object_new_int(c->hidden)) |
		add(o, "intermediate_size", json_object_new_int(c->ff)) |
		add(o, "num_hidden_layers", json_object_new_int(c->layers)) |
		add(o, "num_attention_heads", json_object_new_int(c->heads)) |
		add(o, "num_key_value_heads", json_object_new_int(c->kv_heads)) |
		add(o, "head_dim", json_object_new_int(c->head_dim)) |
		add(o, "hidden_act", json_object_new_string("silu")) |
		add(o, "max_position_embeddings", json_object_new_int(c->max_pos)) |
		add(o, "rms_norm_eps", rec_double(c->rms_eps)) |
		add(o, "rope_theta", rec_double(c->rope_theta));
	/* The keys in the order earlier versions wrote a Llama's (the same bytes out of training). */
	int llama = c->arch == LLAMA_ARCH_LLAMA;
	if (llama || c->arch == LLAMA_ARCH_QWEN3)
		bad |= add(o, "attention_bias", json_object_new_boolean(ab));
	bad |= add(o, "attention_dropout", rec_double(0));
	if (llama)
		bad |= add(o, "mlp_bias", json_object_new_boolean(c->mlp_bias));
	bad |= add(o, "initializer_range", rec_double(0.02));
	if (llama)
		bad |= add(o, "pretraining_tp", json_object_new_int(1));
	bad |= add(o, "use_cache", json_object_new_boolean(1)) |
	       add(o, "tie_word_embeddings", json_object_new_boolean(c->tie_embeddings)) |
	       add(o, "torch_dtype", json_object_new_string(c->dtype[0] ? c->dtype : "float32"));
	if (c->arch == LLAMA_ARCH_QWEN2 || c->arch == LLAMA_ARCH_QWEN3)
		bad |= add(o, "use_sliding_window", json_object_new_boolean(0));
	if (c->arch == LLAMA_ARCH_MISTRAL)
		json_object_object_add(o, "sliding_window", c->window ? json_object_new_int(c->window) : NULL);
	if (c->rope_type == LLAMA_ROPE_DEFAULT) {
		json_object_object_add(o, "rope_scaling", NULL);
	} else {
		json_object *r = json_object_new_object();
		bad |= !r || add(r, "rope_type", json_object_new_string(c->rope_type == LLAMA_ROPE_LINEAR ?
		                                                          "linear" : "llama3")) |
		       add(r, "factor", rec_double(c->rope_factor));
		if (r && c->rope_type == LLAMA_ROPE_LLAMA3)
			bad |= add(r, "low_freq_factor", rec_double(c->rope_low)) |
			       add(r, "high_freq_factor", rec_double(c->rope_high)) |
			       add(r, "original_max_position_embeddings", json_object_new_int(c->rope_orig));
		bad |= add(o, "rope_scaling", r);
	}
	if (!bad && c->bos_id >= 0)
		bad = add(o, "bos_token_id", json_object_new_int(c->bos_id));
	if (!bad && c->eos_id >= 0)
		bad = add(o, "eos_token_id", json_object_new_int(c->eos_id));
	const char *s = bad ? NULL : json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	                                                             JSON_C_TO_STRING_SPACED |
	                                                             JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s && (text = malloc(strlen(s) + 2)))
		sprintf(text, "%s\n", s);
	else
		err_oom();
	json_object_put(o);
	return text;
}

/* --- the tensor table --- */

static const char *const kind_name[LLAMA_NKINDS] = {
	[LLAMA_EMBED] = "model.embed_tokens.weight",
	[LLAMA_Q] = "self_attn.q_proj.weight", [LLAMA_K] = "self_attn.k_proj.weight",
	[LLAMA_V] = "self_attn.v_proj.weight", [LLAMA_O] = "self_attn.o_proj.weight",
	[LLAMA_GATE] = "mlp.gate_proj.weight", [LLAMA_UP] = "mlp.up_proj.weight",
	[LLAMA_DOWN] = "mlp.down_proj.weight",
	[LLAMA_LN1] = "input_layernorm.weight", [LLAMA_LN2] = "post_attention_layernorm.weight",
	[LLAMA_QB] = "self_attn.q_proj.bias", [LLAMA_KB] = "self_attn.k_proj.bias",
	[LLAMA_VB] = "self_attn.v_proj.bias", [LLAMA_OB] = "self_attn.o_proj.bias",
	[LLAMA_GB] = "mlp.gate_proj.bias", [LLAMA_UB] = "mlp.up_proj.bias",
	[LLAMA_DB] = "mlp.down_proj.bias",
	[LLAMA_QN] = "self_attn.q_norm.weight", [LLAMA_KN] = "self_attn.k_norm.weight",
	[LLAMA_NORM] = "model.norm.weight", [LLAMA_HEAD] = "lm_head.weight",
};

static int per_layer(int kind) { return kind >= LLAMA_LAYER_FIRST && kind <= LLAMA_LAYER_LAST; }

int llama_has(const struct llama_config *c, int kind)
{
	switch (kind) {
	case LLAMA_QB: case LLAMA_KB: case LLAMA_VB: return c->qkv_bias;
	case LLAMA_OB: return c->o_bias;
	case LLAMA_GB: case LLAMA_UB: case LLAMA_DB: return c->mlp_bias;
	case LLAMA_QN: case LLAMA_KN: return c->qk_norm;
	case LLAMA_HEAD: return !c->tie_embeddings;
	default: return kind >= 0 && kind < LLAMA_NKINDS;
	}
}

/* Tensors a layer has, and the place of kind among them (-1 when it has none). */
static int layer_count(const struct llama_config *c)
{
	int n = 0;
	for (int k = LLAMA_LAYER_FIRST; k <= LLAMA_LAYER_LAST; k++)
		n += llama_has(c, k);
	return n;
}

static int layer_rank(const struct llama_config *c, int kind)
{
	if (!llama_has(c, kind))
		return -1;
	int r = 0;
	for (int k = LLAMA_LAYER_FIRST; k < kind; k++)
		r += llama_has(c, k);
	return r;
}

int llama_tensor_index(const struct llama_config *c, int kind, int layer)
{
	int per = layer_count(c);
	switch (kind) {
	case LLAMA_EMBED: return 0;
	case LLAMA_NORM: return 1 + per * c->layers;
	case LLAMA_HEAD: return c->tie_embeddings ? -1 : 2 + per * c->layers;
	default: {
		int r = per_layer(kind) ? layer_rank(c, kind) : -1;
		if (r < 0 || layer < 0 || layer >= c->layers)
			return -1;
		return 1 + per * layer + r;
	}
	}
}

int llama_tensors(const struct llama_config *c, struct llama_tensor **out)
{
	int n = 2 + layer_count(c) * c->layers + !c->tie_embeddings;
	struct llama_tensor *t = calloc(n, sizeof *t);
	if (!t)
		return err_oom();
	int64_t C = c->hidden, Q = (int64_t)c->heads * c->head_dim,
		KV = (int64_t)c->kv_heads * c->head_dim, F = c->ff, V = c->vocab, D = c->head_dim;
	const int64_t shape[LLAMA_NKINDS][2] = {
		[LLAMA_EMBED] = { V, C }, [LLAMA_Q] = { Q, C }, [LLAMA_K] = { KV, C },
		[LLAMA_V] = { KV, C }, [LLAMA_O] = { C, Q }, [LLAMA_GATE] = { F, C },
		[LLAMA_UP] = { F, C }, [LLAMA_DOWN] = { C, F }, [LLAMA_LN1] = { C, 0 },
		[LLAMA_LN2] = { C, 0 }, [LLAMA_QB] = { Q, 0 }, [LLAMA_KB] = { KV, 0 },
		[LLAMA_VB] = { KV, 0 }, [LLAMA_OB] = { C, 0 }, [LLAMA_GB] = { F, 0 },
		[LLAMA_UB] = { F, 0 }, [LLAMA_DB] = { C, 0 }, [LLAMA_QN] = { D, 0 },
		[LLAMA_KN] = { D, 0 }, [LLAMA_NORM] = { C, 0 }, [LLAMA_HEAD] = { V, C },
	};
	size_t off = 0;
	for (int kind = 0; kind < LLAMA_NKINDS; kind++) {
		for (int l = -1; l < c->layers; l++) {
			int pl = per_layer(kind);
			if ((l >= 0) != pl)
				continue;
			int i = llama_tensor_index(c, kind, l);
			if (i < 0)
				continue;
			if (pl)
				snprintf(t[i].name, sizeof t[i].name, "model.layers.%d.%s", l, kind_name[kind]);
			else
				snprintf(t[i].name, sizeof t[i].name, "%s", kind_name[kind]);
			t[i].kind = kind;
			t[i].layer = l;
			t[i].ndim = shape[kind][1] ? 2 : 1;
			t[i].shape[0] = shape[kind][0];
			t[i].shape[1] = shape[kind][1];
			t[i].numel = (size_t)shape[kind][0] * (shape[kind][1] ? (size_t)shape[kind][1] : 1);
		}
	}
	/* Offsets in table order, which is the order checkpoints list them in. */
	for (int i = 0; i < n; i++) {
		t[i].offset = off;
		off += t[i].numel;
	}
	*out = t;
	return n;
}

/* --- lookup --- */

const struct llama_tensor *llama_find(const struct llama_model *m, const char *name)
{
	/* Parse the name instead of scanning: a 100-layer model has 900 tensors. */
	int layer = -1, kind = -1, pos = 0;
	if (sscanf(name, "model.layers.%d.%n", &layer, &pos) == 1 && pos > 0) {
		for (int k = LLAMA_LAYER_FIRST; k <= LLAMA_LAYER_LAST; k++)
			if (strcmp(name + pos, kind_name[k]) == 0)
				kind = k;
	} else {
		layer = -1;
		for (int k = 0; k < LLAMA_NKINDS; k++)
			if (!per_layer(k) && strcmp(name, kind_name[k]) == 0)
				kind = k;
	}
	int i = kind < 0 ? -1 : llama_tensor_index(&m->cfg, kind, layer);
	if (i < 0 || strcmp(m->tensors[i].name, name) != 0) {   /* also catches "layers.01" */
		err_set("unknown tensor %s", name);
		return NULL;
	}
	return &m->tensors[i];
}

float *llama_param(struct llama_model *m, const char *name, size_t *numel)
{
	const struct llama_tensor *t = llama_find(m, name);
	if (!t)
		return NULL;
	if (!m->params) {
		err_set("tensor %s: the model is resident, without f32 parameters", name);
		return NULL;
	}
	if (numel)
		*numel = t->numel;
	return m->params + t->offset;
}

static void fmt_shape(char *buf, size_t n, int ndim, const int64_t *shape)
{
	size_t k = snprintf(buf, n, "[");
	for (int i = 0; i < ndim && k < n; i++)
		k += snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
	if (k < n)
		snprintf(buf + k, n - k, "]");
}

/* The tensor named name, checked against the given shape and marked filled: its index, or -1. */
static int take(struct llama_model *m, const char *name, int ndim, const int64_t *shape)
{
	const struct llama_tensor *t = llama_find(m, name);
	if (!t)
		return -1;
	int same = ndim == t->ndim;
	for (int i = 0; same && i < ndim; i++)
		same = shape[i] == t->shape[i];
	if (!same) {
		char got[128], want[64];
		fmt_shape(got, sizeof got, ndim < 0 ? 0 : ndim > 8 ? 8 : ndim, shape);
		fmt_shape(want, sizeof want, t->ndim, t->shape);
		return err_set("tensor %s: shape %s, config wants %s", name, got, want);
	}
	int i = (int)(t - m->tensors);
	if (m->filled[i])
		return err_set("tensor %s: given twice", name);
	m->filled[i] = 1;
	return i;
}

float *llama_param_fill(struct llama_model *m, const char *name, int ndim, const int64_t *shape)
{
	if (!m->params) {
		err_set("tensor %s: the model is resident (llama_param_view, llama_param_own)", name);
		return NULL;
	}
	int i = take(m, name, ndim, shape);
	return i < 0 ? NULL : m->params + m->tensors[i].offset;
}

/* A resident tensor's dtype: matrices f32, bf16 or f16, vectors f32. */
static int resident_dtype(const struct llama_model *m, const char *name, int ndim, int dtype)
{
	if (m->params)
		return err_set("tensor %s: the model is not resident (llama_param_fill)", name);
	if (dtype == DT_F32 || (ndim == 2 && (dtype == DT_BF16 || dtype == DT_F16)))
		return 0;
	return err_set("tensor %s: %s is not a dtype a resident %s can hold", name, dtype_name(dtype),
	               ndim == 2 ? "matrix" : "vector (only F32)");
}

int llama_param_view(struct llama_model *m, const char *name, int ndim, const int64_t *shape,
                     int dtype, const void *data)
{
	if (resident_dtype(m, name, ndim, dtype) < 0)
		return -1;
	if ((uintptr_t)data % dtype_size(dtype))
		return err_set("tensor %s: data not aligned to its %zu-byte elements", name, dtype_size(dtype));
	int i = take(m, name, ndim, shape);
	if (i < 0)
		return -1;
	m->wp[i] = data;
	m->wdt[i] = dtype;
	return 0;
}

void *llama_param_own(struct llama_model *m, const char *name, int ndim, const int64_t *shape,
                      int dtype)
{
	if (resident_dtype(m, name, ndim, dtype) < 0)
		return NULL;
	int i = take(m, name, ndim, shape);
	if (i < 0)
		return NULL;
	size_t n = m->tensors[i].numel;
	if (!(m->owned[i] = malloc(n ? n * dtype_size(dtype) : 1))) {
		m->filled[i] = 0;
		err_oom();
		return NULL;
	}
	m->wp[i] = m->owned[i];
	m->wdt[i] = dtype;
	return m->owned[i];
}

size_t llama_weight_bytes(const struct llama_model *m)
{
	if (m->params)
		return m->n_params * sizeof *m->params;
	size_t b = 0;
	for (int i = 0; i < m->n_tensors; i++)
		if (m->wp[i])
			b += m->tensors[i].numel * dtype_size(m->wdt[i]);
	return b;
}

int llama_check_filled(const struct llama_model *m)
{
	for (int i = 0; i < m->n_tensors; i++)
		if (!m->filled[i])
			return err_set("missing tensor %s", m->tensors[i].name);
	return 0;
}

/* --- initialisation --- */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1): 53 random bits, never 0. */
static double uniform(uint64_t *s)
{
	return ((splitmix64(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

void llama_init(struct llama_model *m, uint64_t seed, double std)
{
	for (int i = 0; i < m->n_tensors; i++) {
		const struct llama_tensor *t = &m->tensors[i];
		float *p = m->params + t->offset;
		/* Each tensor its own stream: adding a layer does not change the others' values. */
		uint64_t s = seed ^ (0x51ed270b27a3c4f1ULL * (uint64_t)(i + 1));
		if (t->ndim == 1) {   /* norms 1, biases 0 */
			int norm = t->kind == LLAMA_LN1 || t->kind == LLAMA_LN2 || t->kind == LLAMA_NORM ||
			           t->kind == LLAMA_QN || t->kind == LLAMA_KN;
			for (size_t j = 0; j < t->numel; j++)
				p[j] = norm;
		} else {
			for (size_t j = 0; j < t->numel; j += 2) {   /* Box–Muller, two at a time */
				double r = sqrt(-2 * log(uniform(&s))), a = 2 * M_PI * uniform(&s);
				p[j] = (float)(std * r * cos(a));
				if (j + 1 < t->numel)
					p[j + 1] = (float)(std * r * sin(a));
			}
		}
		m->filled[i] = 1;
	}
}
