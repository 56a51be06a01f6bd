/* llama.h — the Llama-family transformer in f32: its config.json, its parameters under their
 * Hugging Face names in one flat buffer, the forward pass (batched scoring: logits, log-probs or
 * the greedy argmax at every position; incremental decoding with a KV cache) and the backward
 * pass of the mean cross-entropy for training.
 *
 * The arithmetic is Hugging Face's LlamaForCausalLM: RMSNorm x·rsqrt(mean(x²)+eps)·w; rotary
 * embedding with rotate_half pairing (dimension j with j + head_dim/2, inv_freq = θ^(-2j/head_dim));
 * grouped-query attention with a causal mask; SwiGLU MLP down(silu(gate(x))·up(x)); lm_head or
 * tied embeddings. Projections go through OpenBLAS sgemm. Loading and saving tensors is the
 * caller's business: this module only takes and gives f32 arrays.
 *
 * Batches are packed: n sequences of lengths lens[0..n-1] are given as one array of Σlens tokens,
 * sequence after sequence, with no padding. Each sequence attends only to itself.
 *
 * Threads: llama_set_threads(n) runs each call on n threads, with the same results as on one.
 * A model owns one scratch workspace, so it must not be used from two threads at once; separate
 * models may be (a call that finds the thread pool busy runs on its own thread).
 *
 * Functions returning int give 0 on success and -1 with err_set() on error; NULL likewise for
 * pointers. */
#ifndef RECYCLE_LLAMA_H
#define RECYCLE_LLAMA_H

#include <stddef.h>
#include <stdint.h>

/* The architecture, as config.json spells it. */
struct llama_config {
	int vocab;            /* vocab_size */
	int hidden;           /* hidden_size */
	int layers;           /* num_hidden_layers */
	int heads;            /* num_attention_heads */
	int kv_heads;         /* num_key_value_heads (absent: = heads) */
	int head_dim;         /* head_dim (absent: hidden / heads) */
	int ff;               /* intermediate_size */
	int max_pos;          /* max_position_embeddings (not enforced: rotary has no table) */
	int tie_embeddings;   /* tie_word_embeddings: lm_head is model.embed_tokens.weight */
	int bos_id, eos_id;   /* bos_token_id, eos_token_id (first of a list); -1 when absent */
	double rope_theta;    /* rope_theta, top level or in rope_parameters */
	double rms_eps;       /* rms_norm_eps */
	char dtype[16];       /* "torch_dtype" or "dtype", e.g. "bfloat16"; "" when absent */
};

/* Hugging Face's defaults for the optional fields (rope_theta 10000, rms_eps 1e-6, max_pos 2048,
 * untied, no bos/eos, dtype "float32"); sizes 0, to be set by the caller before llama_config_check. */
void llama_config_default(struct llama_config *c);
/* Derives kv_heads and head_dim when left 0, then validates: every size positive, heads a multiple
 * of kv_heads, head_dim even, rope_theta and rms_eps positive. */
int llama_config_check(struct llama_config *c);
/* Parses config.json text. Accepts old and new spellings ("rope_theta" at top level or inside
 * "rope_parameters", "torch_dtype" or "dtype", "head_dim" present, null or derived) and refuses,
 * naming the key, what this module would not compute exactly: another model_type or
 * architecture, rope scaling other than "default", attention_bias/mlp_bias, hidden_act other
 * than silu, a sliding window, quantized weights. Errors read "KEY: why". */
int llama_config_parse(struct llama_config *c, const char *json_text);
/* config.json text for c that transformers' LlamaForCausalLM loads (malloc'd, ends in "\n"). */
char *llama_config_json(const struct llama_config *c);

/* The parameter tensors. Per layer N: q, k, v, o projections, gate, up, down projections, then
 * the two norms. */
enum llama_kind {
	LLAMA_EMBED,    /* model.embed_tokens.weight                      [vocab, hidden] */
	LLAMA_Q,        /* model.layers.N.self_attn.q_proj.weight          [heads·head_dim, hidden] */
	LLAMA_K,        /* model.layers.N.self_attn.k_proj.weight          [kv_heads·head_dim, hidden] */
	LLAMA_V,        /* model.layers.N.self_attn.v_proj.weight          [kv_heads·head_dim, hidden] */
	LLAMA_O,        /* model.layers.N.self_attn.o_proj.weight          [hidden, heads·head_dim] */
	LLAMA_GATE,     /* model.layers.N.mlp.gate_proj.weight             [ff, hidden] */
	LLAMA_UP,       /* model.layers.N.mlp.up_proj.weight               [ff, hidden] */
	LLAMA_DOWN,     /* model.layers.N.mlp.down_proj.weight             [hidden, ff] */
	LLAMA_LN1,      /* model.layers.N.input_layernorm.weight           [hidden] */
	LLAMA_LN2,      /* model.layers.N.post_attention_layernorm.weight  [hidden] */
	LLAMA_NORM,     /* model.norm.weight                               [hidden] */
	LLAMA_HEAD,     /* lm_head.weight (absent when tied)               [vocab, hidden] */
	LLAMA_NKINDS
};

/* One parameter tensor: shapes as PyTorch gives them ([out, in] row-major for projections). */
struct llama_tensor {
	char name[64];        /* Hugging Face name */
	int kind, layer;      /* enum llama_kind; layer -1 for embed, norm and head */
	int ndim;             /* 1 or 2 */
	int64_t shape[2];
	size_t numel;
	size_t offset;        /* where it starts in the flat parameter (and gradient) buffer */
};

/* The tensor table of a config, in checkpoint order: embed, layer 0 (q k v o gate up down ln1
 * ln2), layer 1…, norm, head. *out is malloc'd; returns the count or -1. */
int llama_tensors(const struct llama_config *c, struct llama_tensor **out);
/* Index into that table of (kind, layer), or -1 (the head of a tied model, a layer out of range). */
int llama_tensor_index(const struct llama_config *c, int kind, int layer);

struct llama_ws;   /* scratch memory, private to llama_core.c */

/* Writers walk the table: for (i = 0; i < m->n_tensors; i++) the tensor m->tensors[i].name of
 * shape m->tensors[i].shape is at m->params + m->tensors[i].offset (and a gradient buffer of
 * n_params floats has the same layout). */
struct llama_model {
	struct llama_config cfg;
	struct llama_tensor *tensors;   /* the table above */
	int n_tensors;
	float *params;                  /* n_params floats, every tensor at its offset */
	size_t n_params;
	unsigned char *filled;          /* per tensor: written by llama_param_fill / llama_init */
	struct llama_ws *ws;
};

/* A model with parameters zeroed and marked unfilled; the config is checked (llama_config_check). */
struct llama_model *llama_new(const struct llama_config *c);
void llama_free(struct llama_model *m);

/* The tensor named name (a Hugging Face name), or NULL and err_set("unknown tensor NAME"). */
const struct llama_tensor *llama_find(const struct llama_model *m, const char *name);
/* Pointer to the parameter named name and its element count (numel may be NULL); NULL when
 * unknown. Does not mark the tensor filled. */
float *llama_param(struct llama_model *m, const char *name, size_t *numel);
/* For loaders: the place to convert tensor name of the given shape into. Checks that the name
 * is known ("unknown tensor"), the shape equals the config's ("shape [a, b], config wants [c, d]")
 * and that it was not filled before ("given twice"), then marks it filled. */
float *llama_param_fill(struct llama_model *m, const char *name, int ndim, const int64_t *shape);
/* 0 when every tensor was filled, else -1 and err_set("missing tensor NAME"). */
int llama_check_filled(const struct llama_model *m);
/* Deterministic initialisation from seed: matrices and embeddings normal(0, std) (Hugging Face
 * uses std 0.02), norms 1. Marks everything filled. */
void llama_init(struct llama_model *m, uint64_t seed, double std);

/* Threads for every computation of this module (global for the process; default 1). The work
 * is cut the same way whatever the count, so results are the same bits for any n. OpenBLAS is
 * set to one thread (by llama_new and by this call): the parallelism is this module's. Call it
 * while no computation is running. */
void llama_set_threads(int n);

/* --- Scoring: whole sequences, no cache. Tokens must be in [0, vocab), lengths ≥ 1. --- */

/* logits: (Σlens, vocab), the next-token logits at every position. */
int llama_forward(struct llama_model *m, int n, const int *lens, const int *tokens, float *logits);
/* logp: Σlens values; logp[i] = log P(tokens[i] | the tokens before it in its sequence), and 0 at
 * the first token of each sequence (it is context only). Computed in chunks: memory does not
 * grow with vocab × tokens. */
int llama_logprobs(struct llama_model *m, int n, const int *lens, const int *tokens, float *logp);
/* best: Σlens values; best[i] = the token with the largest next-token logit after tokens[i] of
 * its sequence (the greedy choice: ties to the lowest id, a NaN logit never wins, -1 when every
 * logit is NaN), at the positions from from[s] on of each sequence s (0 ≤ from[s] ≤ lens[s]; from
 * NULL: every position). Earlier positions get -1 and skip lm_head, so a prompt costs only the
 * layers. Computed in chunks: memory does not grow with vocab × tokens. */
int llama_argmax(struct llama_model *m, int n, const int *lens, const int *tokens, const int *from,
                 int *best);

/* --- Generation: a KV cache of `slots` independent sequences of up to max_len tokens each. --- */

struct llama_cache;
struct llama_cache *llama_cache_new(const struct llama_model *m, int slots, int max_len);
void llama_cache_free(struct llama_cache *kc);
void llama_cache_clear(struct llama_cache *kc, int slot);    /* forget the slot's tokens */
int llama_cache_len(const struct llama_cache *kc, int slot);  /* tokens held */
/* Appends lens[i] ≥ 1 tokens to slot slots[i] (distinct slots) for each of the n sequences, the
 * tokens packed as for scoring, and gives the next-token logits after the last of them:
 * logits (n, vocab). A prompt goes in as one call (prefill), then one token a call. Fails,
 * changing nothing, when a slot would exceed max_len. */
int llama_step(struct llama_model *m, struct llama_cache *kc, int n, const int *slots,
               const int *lens, const int *tokens, float *logits);

/* --- Training. --- */

/* The mean cross-entropy over the positions of a (B, T) batch that have a target
 * (targets[b·T + t] ≥ 0 is the token to predict after tokens[b·T + t]; -1: no loss there) into
 * *loss, and its gradient with respect to every parameter into grad (n_params floats, the layout
 * of m->params; overwritten). Fails when no position has a target. */
int llama_loss_grad(struct llama_model *m, int B, int T, const int *tokens, const int *targets,
                    float *grad, double *loss);

#endif
