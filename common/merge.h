/* merge.h — merging N checkpoints of one model into one: the merge methods (linear, task
 * arithmetic, TIES, DARE, SLERP, as mergekit defines them) as kernels over arrays of elements, the
 * merge weights (the -w syntax and its checks), and the streaming driver that reads the inputs
 * tensor by tensor and chunk by chunk through st.h and writes the result.
 *
 * Arithmetic. Every float element is converted to the accumulator type (F32, or F64 on request),
 * combined there in argument order, and rounded once to the output dtype. Each output element
 * depends only on the same element of the inputs (plus, for TIES and SLERP, a few numbers computed
 * from whole tensors before the first chunk), so the result does not depend on chunk sizes or on
 * the number of threads: the bytes are the same for any -j.
 *
 * A merger holds the parameters, the weights the kernels use and a pool of threads. A tensor is
 * merged with merge_begin_tensor() and then merge_apply() over consecutive ranges of elements. */
#ifndef RECYCLE_MERGE_H
#define RECYCLE_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "st.h"

enum merge_method {
	MERGE_LINEAR,           /* Σ wᵢ θᵢ */
	MERGE_TASK_ARITHMETIC,  /* base + Σ wᵢ (θᵢ − base) */
	MERGE_TIES,             /* magnitude trim, sign election, disjoint mean */
	MERGE_DARE_LINEAR,      /* random drop + rescale, then task arithmetic */
	MERGE_DARE_TIES,        /* random drop + rescale, then sign election and disjoint mean */
	MERGE_SLERP,            /* spherical interpolation of two checkpoints */
	MERGE_NMETHODS
};

int merge_method_parse(const char *s);          /* "dare-ties" → MERGE_DARE_TIES, -1 if unknown */
const char *merge_method_name(int method);
int merge_method_uses_base(int method);         /* task vectors against --base */
int merge_method_uses_density(int method);      /* ties and dare */
int merge_method_uses_seed(int method);         /* dare */
/* Whether merge_begin_tensor() needs the whole tensor of every input (TIES with density < 1,
 * SLERP): the other methods work chunk by chunk. */
int merge_method_whole_tensor(int method, double density);

struct merge_params {
	int method;
	size_t n;                /* inputs */
	const double *w;         /* n weights as given, in argument order (SLERP: see below) */
	size_t nw;               /* how many there are (n; for SLERP 1 = t, or 2) */
	int normalize;           /* scale the weights to sum 1 (TIES/DARE-TIES: disjoint mean) */
	int allow_negative;
	double density;          /* TIES, DARE: fraction kept, in (0, 1] */
	uint64_t seed;           /* DARE */
	int acc;                 /* DT_F32 or DT_F64 */
	int threads;             /* ≥ 1 */
};

/* Weights from a -w argument: "0.2,0.3,0.5", or "@FILE" / "@-" naming a JSON record whose
 * "weights" is an array (argument order) or an object keyed by checkpoint name (names[i], the
 * st_stem() of input i). Fills w[0..*nw) (at most n values; for an object exactly n, in argument
 * order). -1 with err_set() for anything malformed, unknown or missing names, and NaN or Inf. */
int merge_weights_parse(const char *arg, size_t n, const char *const *names, double *w,
                        size_t *nw);

typedef struct merger merger;

/* Checks the parameters and weights (count, sign, sum, density) — the messages are meant as
 * usage errors — and starts p->threads - 1 threads. Copies what it needs from p. */
merger *merge_new(const struct merge_params *p);
void merge_free(merger *m);
/* The weight each input's elements are multiplied by: normalized when asked; for SLERP the
 * interpolation parameter t as weight of input 1 and 1 - t of input 0. */
const double *merge_weights(const merger *m);
int merge_method_of(const merger *m);
/* Whether input i's data is read at all: its weight is not 0 (SLERP: always). */
int merge_input_used(const merger *m, size_t i);
/* merge_method_whole_tensor() for this merger's method and density. */
int merge_whole_tensor(const merger *m);

/* Start tensor `name`: n elements in every input and base, of the float dtype dt[i] in input i
 * and dt[n] in the base (ignored by a method without base); the dtypes may differ. For a method
 * that needs the whole tensor (merge_method_whole_tensor()), src[i] and base hold all of it; else
 * they may be NULL. src[i] of an input whose weight is 0 is never read and may be NULL. */
int merge_begin_tensor(merger *m, const char *name, const int *dt, uint64_t n,
                       const void *const *src, const void *base);
/* Elements [off, off + cnt) of the current tensor: src[i] and base point at element off of each
 * input (in its own dtype) (whole-tensor methods: the same pointers as given to merge_begin_tensor, plus off), out
 * receives cnt elements of out_dt (a float dtype). */
int merge_apply(merger *m, uint64_t off, size_t cnt, const void *const *src, const void *base,
                int out_dt, void *out);

/* DARE's keep decision for element `index` of tensor `name` of input `input`: a hash of
 * (seed, input, name, index), so independent of how the tensor is cut into chunks. */
int merge_dare_keep(uint64_t seed, size_t input, const char *name, uint64_t index,
                    double density);

/* ---- the streaming driver ---- */

/* "recycle.merge" metadata: JSON text {method, inputs, weights, normalize, base, density, seed,
 * acc, ...}. names: the inputs' names; base_name NULL without a base. Caller frees. */
char *merge_provenance(const merger *m, const char *const *names, const char *base_name);

/* Check that every input (and base) holds the same tensor names and shapes, and dtypes that are
 * the same or both float; the first difference names the tensor and both checkpoints. The output order is that of the first input
 * that is a stream (or of in[0]); every other stream must hold the tensors in that order. Returns
 * the checkpoint whose order the output follows, NULL on error. */
st_ckpt *merge_check(st_ckpt *const *in, size_t n, st_ckpt *base);

/* Merge in[0..n) (and base) into w, which the caller made with st_create() and will st_commit() or
 * st_abort(): declares the tensors (float ones as out_dt, or when out_dt < 0 as their dtype in in[0]),
 * then writes them in order. Integer and other non-float tensors must be identical in every input
 * and are copied. progress, when not NULL, is called after each piece with the bytes written so
 * far and the total. */
int merge_run(merger *m, st_ckpt *const *in, size_t n, st_ckpt *base, int out_dt, st_writer *w,
              void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx);

#endif
