/* llama.c — see llama.h: config.json, the tensor table, parameter lookup and initialisation.
 * The arithmetic (and the model's lifetime, which owns the workspace) is in llama_core.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

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
	if (c->bos_id < -1 || c->eos_id < -1)
		return err_set("%s: %d is not a token id", c->bos_id < -1 ? "bos_token_id" : "eos_token_id",
		               c->bos_id < -1 ? c->bos_id : c->eos_id);
	return 0;
}

/* --- config.json --- */

static json_object *key(json_object *o, const char *k)
{
	json_object *v = NULL;
	json_object_object_get_ex(o, k, &v);
	return v;   /* NULL for absent and for JSON null */
}

/* An integral JSON number into *v: 1 when present, 0 when absent or null, -1 on error. */
static int get_int(json_object *o, const char *k, int *v)
{
	json_object *x = key(o, k);
	if (!x)
		return 0;
	if (json_object_is_type(x, json_type_int)) {
		int64_t i = json_object_get_int64(x);
		if (i < -1 || i > INT32_MAX)
			return err_set("%s: %lld is out of range", k, (long long)i);
		*v = (int)i;
		return 1;
	}
	if (json_object_is_type(x, json_type_double)) {
		double d = json_object_get_double(x);
		if (d == floor(d) && d >= -1 && d <= INT32_MAX) {
			*v = (int)d;
			return 1;
		}
	}
	return err_set("%s: %s is not an integer", k, json_object_to_json_string(x));
}

static int get_num(json_object *o, const char *k, double *v)
{
	json_object *x = key(o, k);
	if (!x)
		return 0;
	if (!json_object_is_type(x, json_type_int) && !json_object_is_type(x, json_type_double))
		return err_set("%s: %s is not a number", k, json_object_to_json_string(x));
	*v = json_object_get_double(x);
	return 1;
}

static int get_bool(json_object *o, const char *k, int *v)
{
	json_object *x = key(o, k);
	if (!x)
		return 0;
	if (!json_object_is_type(x, json_type_boolean))
		return err_set("%s: %s is not true or false", k, json_object_to_json_string(x));
	*v = json_object_get_boolean(x);
	return 1;
}

static const char *get_str(json_object *o, const char *k)
{
	json_object *x = key(o, k);
	return x && json_object_is_type(x, json_type_string) ? json_object_get_string(x) : NULL;
}

static int need_int(json_object *o, const char *k, int *v)
{
	int r = get_int(o, k, v);
	if (r == 0)
		return err_set("%s: missing", k);
	return r < 0 ? -1 : 0;
}

/* Rotary parameters: "rope_scaling" (old) or "rope_parameters" (new); only the plain rotary
 * embedding ("default" or absent type) is computed here. */
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
	if (type && strcmp(type, "default") != 0)
		return err_set("%s: rope type \"%s\" is not supported (only \"default\")", k, type);
	if (!type && key(r, "factor"))
		return err_set("%s: scaling factor without type is not supported", k);
	if (get_num(r, "rope_theta", &c->rope_theta) < 0)
		return err_prefix("%s: ", k);
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
	int rc = -1, b;
	if (!json_object_is_type(o, json_type_object)) {
		err_set("config: not a JSON object");
		goto out;
	}
	const char *mt = get_str(o, "model_type");
	if (mt && strcmp(mt, "llama") != 0) {
		err_set("model_type: \"%s\" is not supported (only \"llama\")", mt);
		goto out;
	}
	json_object *arch = key(o, "architectures");
	if (arch && json_object_is_type(arch, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(arch); i++) {
			json_object *a = json_object_array_get_idx(arch, i);
			const char *s = a && json_object_is_type(a, json_type_string) ? json_object_get_string(a) : "?";
			if (strncmp(s, "Llama", 5) != 0) {
				err_set("architectures: \"%s\" is not supported (only Llama)", s);
				goto out;
			}
		}
	}
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
	const char *off[] = { "attention_bias", "mlp_bias", "use_sliding_window" };
	for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
		b = 0;
		if (get_bool(o, off[i], &b) < 0)
			goto out;
		if (b) {
			err_set("%s: true is not supported", off[i]);
			goto out;
		}
	}
	if (key(o, "sliding_window")) {
		err_set("sliding_window: a sliding attention window is not supported");
		goto out;
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
	json_object *o = json_object_new_object(), *arch = json_object_new_array();
	char *text = NULL;
	if (!o || !arch) {
		json_object_put(o);
		json_object_put(arch);
		err_oom();
		return NULL;
	}
	json_object_array_add(arch, json_object_new_string("LlamaForCausalLM"));
	int bad = add(o, "architectures", arch) |
		add(o, "model_type", json_object_new_string("llama")) |
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
		add(o, "rope_theta", rec_double(c->rope_theta)) |
		add(o, "attention_bias", json_object_new_boolean(0)) |
		add(o, "attention_dropout", rec_double(0)) |
		add(o, "mlp_bias", json_object_new_boolean(0)) |
		add(o, "initializer_range", rec_double(0.02)) |
		add(o, "pretraining_tp", json_object_new_int(1)) |
		add(o, "use_cache", json_object_new_boolean(1)) |
		add(o, "tie_word_embeddings", json_object_new_boolean(c->tie_embeddings)) |
		add(o, "torch_dtype", json_object_new_string(c->dtype[0] ? c->dtype : "float32"));
	json_object_object_add(o, "rope_scaling", NULL);
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
	[LLAMA_NORM] = "model.norm.weight", [LLAMA_HEAD] = "lm_head.weight",
};
#define PER_LAYER (LLAMA_LN2 - LLAMA_Q + 1)

int llama_tensor_index(const struct llama_config *c, int kind, int layer)
{
	switch (kind) {
	case LLAMA_EMBED: return 0;
	case LLAMA_NORM: return 1 + PER_LAYER * c->layers;
	case LLAMA_HEAD: return c->tie_embeddings ? -1 : 2 + PER_LAYER * c->layers;
	default:
		if (kind < LLAMA_Q || kind > LLAMA_LN2 || layer < 0 || layer >= c->layers)
			return -1;
		return 1 + PER_LAYER * layer + (kind - LLAMA_Q);
	}
}

int llama_tensors(const struct llama_config *c, struct llama_tensor **out)
{
	int n = 2 + PER_LAYER * c->layers + !c->tie_embeddings;
	struct llama_tensor *t = calloc(n, sizeof *t);
	if (!t)
		return err_oom();
	int64_t C = c->hidden, Q = (int64_t)c->heads * c->head_dim,
		KV = (int64_t)c->kv_heads * c->head_dim, F = c->ff, V = c->vocab;
	const int64_t shape[LLAMA_NKINDS][2] = {
		[LLAMA_EMBED] = { V, C }, [LLAMA_Q] = { Q, C }, [LLAMA_K] = { KV, C },
		[LLAMA_V] = { KV, C }, [LLAMA_O] = { C, Q }, [LLAMA_GATE] = { F, C },
		[LLAMA_UP] = { F, C }, [LLAMA_DOWN] = { C, F }, [LLAMA_LN1] = { C, 0 },
		[LLAMA_LN2] = { C, 0 }, [LLAMA_NORM] = { C, 0 }, [LLAMA_HEAD] = { V, C },
	};
	size_t off = 0;
	for (int kind = 0; kind < LLAMA_NKINDS; kind++) {
		for (int l = -1; l < c->layers; l++) {
			int per_layer = kind >= LLAMA_Q && kind <= LLAMA_LN2;
			if ((l >= 0) != per_layer)
				continue;
			int i = llama_tensor_index(c, kind, l);
			if (i < 0)
				continue;
			if (per_layer)
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
		for (int k = LLAMA_Q; k <= LLAMA_LN2; k++)
			if (strcmp(name + pos, kind_name[k]) == 0)
				kind = k;
	} else {
		layer = -1;
		for (int k = 0; k < LLAMA_NKINDS; k++)
			if ((k < LLAMA_Q || k > LLAMA_LN2) && strcmp(name, kind_name[k]) == 0)
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

float *llama_param_fill(struct llama_model *m, const char *name, int ndim, const int64_t *shape)
{
	const struct llama_tensor *t = llama_find(m, name);
	if (!t)
		return NULL;
	int same = ndim == t->ndim;
	for (int i = 0; same && i < ndim; i++)
		same = shape[i] == t->shape[i];
	if (!same) {
		char got[128], want[64];
		fmt_shape(got, sizeof got, ndim < 0 ? 0 : ndim > 8 ? 8 : ndim, shape);
		fmt_shape(want, sizeof want, t->ndim, t->shape);
		err_set("tensor %s: shape %s, config wants %s", name, got, want);
		return NULL;
	}
	size_t i = t - m->tensors;
	if (m->filled[i]) {
		err_set("tensor %s: given twice", name);
		return NULL;
	}
	m->filled[i] = 1;
	return m->params + t->offset;
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
		if (t->ndim == 1) {
			for (size_t j = 0; j < t->numel; j++)
				p[j] = 1;
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
