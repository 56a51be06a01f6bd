/* llama.h — the Llama-family transformer: its config.json, its parameters under their Hugging
 * Face names, the forward pass (batched scoring: logits, log-probs or the greedy argmax at every
 * position; incremental decoding with a KV cache) and the backward pass of the mean cross-entropy
 * for training.
 *
 * The arithmetic is Hugging Face's LlamaForCausalLM: RMSNorm x·rsqrt(mean(x²)+eps)·w; rotary
 * embedding with rotate_half pairing (dimension j with j + head_dim/2, inv_freq = θ^(-2j/head_dim));
 * grouped-query attention with a causal mask; SwiGLU MLP down(silu(gate(x))·up(x)); lm_head or
 * tied embeddings. Projections go through OpenBLAS sgemm. Loading and saving tensors is the
 * caller's business.
 *
 * One forward pass with switches covers four Hugging Face families (struct llama_config says
 * which parts are on): LlamaForCausalLM (rope scaling "linear" and "llama3", attention_bias on
 * q, k, v and o, mlp_bias on gate, up and down), MistralForCausalLM (a sliding window: query t
 * sees key j when t − W < j ≤ t), Qwen2ForCausalLM (q, k, v biases) and Qwen3ForCausalLM (q_norm
 * and k_norm: an RMSNorm over head_dim, one weight shared by the heads, before the rotary
 * embedding). The backward pass covers the plain Llama only (llama_config_plain).
 *
 * Weights: a model of llama_new holds every parameter in f32 in one flat buffer (training,
 * initialisation). A resident model (llama_new_resident) holds each matrix where the loader puts
 * it, in f32, bf16 or f16 (a view of a mapped file, or a buffer it owns), and every vector in f32;
 * arithmetic is f32 throughout: matrices are converted tile by tile inside the projection.
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
	int arch;             /* enum llama_arch, from model_type / architectures */
	int rope_type;        /* enum llama_rope */
	double rope_factor;   /* linear, llama3: factor */
	double rope_low, rope_high;  /* llama3: low_freq_factor, high_freq_factor */
	int rope_orig;        /* llama3: original_max_position_embeddings */
	int qkv_bias;         /* q, k, v projections have biases (attention_bias; always for Qwen2) */
	int o_bias;           /* o projection has a bias (attention_bias, not Qwen2) */
	int mlp_bias;         /* gate, up and down projections have biases (Llama's mlp_bias) */
	int qk_norm;          /* Qwen3's q_norm and k_norm */
	int window;           /* sliding window W (> 0: query t sees key j when t − W < j ≤ t); 0 none */
};

enum llama_arch { LLAMA_ARCH_LLAMA, LLAMA_ARCH_MISTRAL, LLAMA_ARCH_QWEN2, LLAMA_ARCH_QWEN3 };
enum llama_rope { LLAMA_ROPE_DEFAULT, LLAMA_ROPE_LINEAR, LLAMA_ROPE_LLAMA3 };

/* 1 when c is the plain Llama (no rope scaling, biases, q/k norms or window): what training
 * handles. */
int llama_config_plain(const struct llama_config *c);

/* Hugging Face's defaults for the optional fields (rope_theta 10000, rms_eps 1e-6, max_pos 2048,
 * untied, no bos/eos, dtype "float32"); sizes 0, to be set by the caller before llama_config_check. */
void llama_config_default(struct llama_config *c);
/* Derives kv_heads and head_dim when left 0, then validates: every size positive, heads a multiple
 * of kv_heads, head_dim even, rope_theta and rms_eps positive. */
int llama_config_check(struct llama_config *c);
/* Parses config.json text: model_type "llama", "mistral", "qwen2" or "qwen3" (or, without one,
 * the architectures LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM).
 * Accepts old and new spellings ("rope_theta" at top level or inside "rope_parameters";
 * "rope_scaling" with "rope_type" or the older "type"; "torch_dtype" or "dtype"; "head_dim"
 * present, null or derived) and the families' defaults (Mistral's sliding_window 4096, Qwen3's
 * head_dim 128). Refuses, naming the key, what this module would not compute exactly: another
 * model_type or architecture, rope types other than default, linear and llama3 (yarn, dynamic,
 * longrope…), partial rotary, hidden_act other than silu, a sliding window outside Mistral
 * (use_sliding_window, sliding layer_types), quantized weights. Errors name the key ("KEY: why",
 * or rec.h's "field \"KEY\" is not an integer" for a field of the wrong type). */
int llama_config_parse(struct llama_config *c, const char *json_text);
/* config.json text for c that transformers loads as the same model, in the 4.x spelling
 * (malloc'd, ends in "\n"); NULL with an error when c's switches are not a model of its family
 * (say, a Qwen2 without q/k/v biases). */
char *llama_config_json(const struct llama_config *c);

/* The parameter tensors. Per layer N: q, k, v, o projections, gate, up, down projections, the
 * two norms, then those of the optional ones the config has. */
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
	LLAMA_QB,       /* model.layers.N.self_attn.q_proj.bias            [heads·head_dim] (qkv_bias) */
	LLAMA_KB,       /* model.layers.N.self_attn.k_proj.bias            [kv_heads·head_dim] */
	LLAMA_VB,       /* model.layers.N.self_attn.v_proj.bias            [kv_heads·head_dim] */
	LLAMA_OB,       /* model.layers.N.self_attn.o_proj.bias            [hidden] (o_bias) */
	LLAMA_GB,       /* model.layers.N.mlp.gate_proj.bias               [ff] (mlp_bias) */
	LLAMA_UB,       /* model.layers.N.mlp.up_proj.bias                 [ff] */
	LLAMA_DB,       /* model.layers.N.mlp.down_proj.bias               [hidden] */
	LLAMA_QN,       /* model.layers.N.self_attn.q_norm.weight          [head_dim] (qk_norm) */
	LLAMA_KN,       /* model.layers.N.self_attn.k_norm.weight          [head_dim] */
	LLAMA_NORM,     /* model.norm.weight                               [hidden] */
	LLAMA_HEAD,     /* lm_head.weight (absent when tied)               [vocab, hidden] */
	LLAMA_NKINDS
};
#define LLAMA_LAYER_FIRST LLAMA_Q
#define LLAMA_LAYER_LAST LLAMA_KN
/* 1 when config c has tensors of this kind. */
int llama_has(const struct llama_config *c, int kind);

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
 * ln2, then the optional kinds it has), layer 1…, norm, head. *out is malloc'd; returns the
 * count or -1. */
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
	float *params;                  /* n_params floats, every tensor at its offset (NULL and 0
	                                 * for a resident model) */
	size_t n_params;
	unsigned char *filled;          /* per tensor: written by llama_param_fill / llama_init */
	const void **wp;                /* per tensor: where its values are … */
	int *wdt;                       /* … in which enum dtype (DT_F32, DT_BF16, DT_F16) */
	void **owned;                   /* per tensor: a buffer of a resident model, or NULL */
	struct llama_ws *ws;
};

/* A model with parameters zeroed and marked unfilled; the config is checked (llama_config_check). */
struct llama_model *llama_new(const struct llama_config *c);
/* A model without parameters: the loader places each tensor with llama_param_view or
 * llama_param_own. */
struct llama_model *llama_new_resident(const struct llama_config *c);
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
/* Resident models. Both check name and shape as llama_param_fill does and mark the tensor
 * filled. A matrix keeps dtype (DT_F32, DT_BF16 or DT_F16); a vector (ndim 1) must be given as
 * DT_F32. llama_param_view makes the model read the tensor at data (not copied: it must outlive
 * the model, and be aligned to its element size); llama_param_own gives a buffer, owned by the
 * model, for the loader to fill with numel values of dtype. */
int llama_param_view(struct llama_model *m, const char *name, int ndim, const int64_t *shape,
                     int dtype, const void *data);
void *llama_param_own(struct llama_model *m, const char *name, int ndim, const int64_t *shape,
                      int dtype);
/* Bytes the model's weights take (views and owned buffers; or the f32 parameters). */
size_t llama_weight_bytes(const struct llama_model *m);
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

/* Workspace memory (activations) of a scoring pass (llama_logprobs, llama_argmax,
 * llama_logprobs_cont; llama_forward's logits are the caller's): llama_pass_bytes_per_token(c)
 * for each token of the batch, plus lm_head's chunk of rows (about 16 MB of logits), the weight
 * conversion tiles and the attention scores of one sequence a thread (its length × its keys
 * floats): what a caller bounds its passes by. A model keeps the workspace of its largest pass;
 * llama_ws_bytes tells its size now. */
size_t llama_pass_bytes_per_token(const struct llama_config *c);
size_t llama_ws_bytes(const struct llama_model *m);

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
/* The same, and where targets[i] ≥ 0 (targets and logp: Σlens values, both or neither), logp[i] =
 * log P(targets[i] | tokens[..i] of its sequence) from the same logits (0 elsewhere, and at the
 * positions before from[s]): an exact match's decision and its target's likelihood in one pass. */
int llama_argmax_lp(struct llama_model *m, int n, const int *lens, const int *tokens, const int *from,
                    int *best, const int *targets, float *logp);

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

/* Scoring continuations of cached contexts (multiple choice: the prompt once, its choices after
 * it): sequence i, lens[i] ≥ 1 tokens packed as for scoring, continues the tokens slot slots[i]
 * holds, which any number of sequences may share; the cache does not change. logp: Σlens values;
 * logp[j] = log P(targets[j] | the slot's tokens and the sequence's up to and including token j)
 * where targets[j] ≥ 0; 0 where it is -1 (no lm_head there). */
int llama_logprobs_cont(struct llama_model *m, const struct llama_cache *kc, int n, const int *slots,
                        const int *lens, const int *tokens, const int *targets, float *logp);

/* --- Training. --- */

/* The mean cross-entropy over the positions of a (B, T) batch that have a target
 * (targets[b·T + t] ≥ 0 is the token to predict after tokens[b·T + t]; -1: no loss there) into
 * *loss, and its gradient with respect to every parameter into grad (n_params floats, the layout
 * of m->params; overwritten). Fails when no position has a target, and for a model that is not
 * the plain Llama or not f32 (llama_new). */
int llama_loss_grad(struct llama_model *m, int B, int T, const int *tokens, const int *targets,
                    float *grad, double *loss);

#endif
