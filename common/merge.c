/* merge.c — see merge.h: methods, weights and the element kernels, run on a pool.h thread pool.
 * The streaming driver is in merge_run.c. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cvt.h"
#include "dtype.h"
#include "err.h"
#include "merge.h"
#include "pool.h"
#include "rec.h"
#include "rng.h"

#define BLK 1024                /* elements a kernel call works on: its arrays stay in L1/L2 */
#define HIST_BITS 19            /* TIES threshold: widest radix digit (4 MiB of counts a thread) */
#define SLERP_BLK 65536         /* elements per partial sum of SLERP's dot products */
#define MAX_THREADS 256

static const char *const method_names[MERGE_NMETHODS] = {
	[MERGE_LINEAR] = "linear", [MERGE_TASK_ARITHMETIC] = "task-arithmetic",
	[MERGE_TIES] = "ties", [MERGE_DARE_LINEAR] = "dare-linear",
	[MERGE_DARE_TIES] = "dare-ties", [MERGE_SLERP] = "slerp",
};

int merge_method_parse(const char *s)
{
	for (int i = 0; i < MERGE_NMETHODS; i++)
		if (strcmp(s, method_names[i]) == 0)
			return i;
	return -1;
}

const char *merge_method_name(int m) { return m >= 0 && m < MERGE_NMETHODS ? method_names[m] : "?"; }

int merge_method_uses_base(int m)
{
	return m == MERGE_TASK_ARITHMETIC || m == MERGE_TIES || m == MERGE_DARE_LINEAR ||
	       m == MERGE_DARE_TIES;
}

int merge_method_uses_density(int m)
{
	return m == MERGE_TIES || m == MERGE_DARE_LINEAR || m == MERGE_DARE_TIES;
}

int merge_method_uses_seed(int m) { return m == MERGE_DARE_LINEAR || m == MERGE_DARE_TIES; }

int merge_method_whole_tensor(int m, double density)
{
	return m == MERGE_SLERP || (m == MERGE_TIES && density < 1);
}

/* ---- weights ---- */

static int weight_value(double v, size_t i, const char *name)
{
	if (!isfinite(v))
		return name ? err_set("weights: weight of checkpoint '%s' is not a finite number", name)
		            : err_set("weights: weight %zu is not a finite number", i + 1);
	return 0;
}

static int weights_list(const char *s, size_t n, double *w, size_t *nw)
{
	size_t k = 0;
	for (const char *p = s;;) {
		char *end;
		errno = 0;
		double v = strtod(p, &end);
		while (end != p && (*end == ' ' || *end == '\t'))
			end++;
		if (end == p || (*end != ',' && *end != 0))
			return err_set("weights: '%s': not a comma-separated list of numbers", s);
		if (weight_value(v, k, NULL) < 0)
			return -1;
		if (k >= n)
			return err_set("weights: more weights than the %zu checkpoint%s", n, n == 1 ? "" : "s");
		w[k++] = v;
		if (*end == 0)
			break;
		p = end + 1;
	}
	*nw = k;
	return 0;
}

static int weights_json(const char *path, size_t n, const char *const *names, double *w,
                        size_t *nw)
{
	const char *shown = strcmp(path, "-") == 0 ? "<stdin>" : path;
	json_object *o = rec_load(path), *ws;
	int rc = -1;
	if (!o)
		return err_prefix("weights: ");
	if (rec_lookup(o, "weights", &ws) != 1 || !ws) {
		err_set("weights: %s: no \"weights\" field in a JSON object", shown);
		goto out;
	}
	if (json_object_is_type(ws, json_type_array)) {
		size_t k = json_object_array_length(ws);
		if (k > n) {
			err_set("weights: %s: %zu weights for %zu checkpoint%s", shown, k, n, n == 1 ? "" : "s");
			goto out;
		}
		for (size_t i = 0; i < k; i++) {
			if (rec_as_double(json_object_array_get_idx(ws, i), &w[i]) < 0) {
				err_set("weights: %s: weight %zu is not a number", shown, i + 1);
				goto out;
			}
			if (weight_value(w[i], i, NULL) < 0) {
				err_prefix("%s: ", shown);
				goto out;
			}
		}
		*nw = k;
		rc = 0;
	} else if (json_object_is_type(ws, json_type_object)) {
		unsigned char *seen = calloc(n ? n : 1, 1);
		if (!seen) {
			err_oom();
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++)
				if (strcmp(names[i], names[j]) == 0) {
					err_set("weights: %s: checkpoints %zu and %zu are both named '%s': give the weights as an array",
					        shown, i + 1, j + 1, names[i]);
					free(seen);
					goto out;
				}
		json_object_object_foreach(ws, key, val) {
			size_t i = 0;
			while (i < n && strcmp(names[i], key) != 0)
				i++;
			if (i == n) {
				err_set("weights: %s: no checkpoint named '%s' among the inputs", shown, key);
				free(seen);
				goto out;
			}
			if (rec_as_double(val, &w[i]) < 0) {
				err_set("weights: %s: weight of checkpoint '%s' is not a number", shown, key);
				free(seen);
				goto out;
			}
			if (weight_value(w[i], i, key) < 0) {
				err_prefix("%s: ", shown);
				free(seen);
				goto out;
			}
			seen[i] = 1;
		}
		for (size_t i = 0; i < n; i++)
			if (!seen[i]) {
				err_set("weights: %s: no weight for checkpoint '%s'", shown, names[i]);
				free(seen);
				goto out;
			}
		free(seen);
		*nw = n;
		rc = 0;
	} else {
		err_set("weights: %s: \"weights\" is neither an array nor an object", shown);
	}
out:
	json_object_put(o);
	return rc;
}

int merge_weights_parse(const char *arg, size_t n, const char *const *names, double *w, size_t *nw)
{
	if (arg[0] == '@')
		return weights_json(arg + 1, n, names, w, nw);
	return weights_list(arg, n, w, nw);
}

/* ---- the merger ---- */

struct merger {
	int method, normalize, acc, nt;
	size_t n, nw;
	double density;
	uint64_t seed;
	double *given;          /* the weights as given (nw) */
	double *eff;            /* the weights the kernels use (n) */
	double slerp_t;
	pool *pool;
	void **scratch;         /* per thread: (4 + n) × BLK accumulator elements */
	uint64_t **hist;        /* per thread: 2^HIST_BITS counts, for TIES thresholds (on use) */

	/* the current tensor */
	int *dt;                /* (n + 1) the dtype of each input's elements, then the base's */
	uint64_t numel;
	double *coef;           /* the factor of input i's elements (SLERP: per tensor) */
	unsigned char *active;  /* coef[i] != 0: input i is read */
	size_t *act, nact;      /* the active inputs, in argument order */
	int act_dt;             /* their dtype when they all have the same, else -1 */
	uint64_t *dare_key;     /* DARE: per input */
	uint64_t dare_thr;      /* keep when hash >> 11 < dare_thr */
	uint64_t *thr, *last;   /* TIES: keep |δ| key > thr, or == thr at index ≤ last */
	unsigned char *trim;    /* TIES: input i is trimmed in this tensor */
};

const double *merge_weights(const merger *m) { return m->eff; }

int merge_input_used(const merger *m, size_t i)
{
	return i < m->n && (m->method == MERGE_SLERP || m->eff[i] != 0);
}

int merge_whole_tensor(const merger *m) { return merge_method_whole_tensor(m->method, m->density); }

int merge_method_of(const merger *m) { return m->method; }

static int check_params(const struct merge_params *p)
{
	size_t n = p->n, nw = p->nw;
	if (p->method < 0 || p->method >= MERGE_NMETHODS)
		return err_set("unknown merge method");
	if (n == 0)
		return err_set("no checkpoints to merge");
	if (p->acc != DT_F32 && p->acc != DT_F64)
		return err_set("the accumulator must be f32 or f64");
	if (p->threads < 1 || p->threads > MAX_THREADS)
		return err_set("threads: %d is not in 1..%d", p->threads, MAX_THREADS);
	for (size_t i = 0; i < nw; i++)
		if (!isfinite(p->w[i]))
			return err_set("weights: weight %zu is not a finite number", i + 1);
	if (merge_method_uses_density(p->method) && !(p->density > 0 && p->density <= 1))
		return err_set("density %g is not in (0, 1]", p->density);
	if (p->method == MERGE_SLERP) {
		if (n != 2)
			return err_set("slerp merges exactly two checkpoints, not %zu", n);
		if (nw == 1 && !(p->w[0] >= 0 && p->w[0] <= 1))
			return err_set("weights: slerp's t = %g is not in [0, 1]", p->w[0]);
		if (nw == 2 && (p->w[0] < 0 || p->w[1] < 0))
			return err_set("weights: slerp's two weights must not be negative");
		if (nw == 2 && !(p->w[0] + p->w[1] >= 1e-12))
			return err_set("weights: slerp's two weights sum to %g", p->w[0] + p->w[1]);
		if (nw != 1 && nw != 2)
			return err_set("weights: slerp takes t, or two weights, not %zu", nw);
		return 0;
	}
	if (nw != n)
		return err_set("weights: %zu weight%s for %zu checkpoints", nw, nw == 1 ? "" : "s", n);
	double sum = 0;
	for (size_t i = 0; i < n; i++) {
		if (p->w[i] < 0 && !p->allow_negative)
			return err_set("weights: weight %zu is negative (%g): use --allow-negative", i + 1, p->w[i]);
		sum += p->w[i];
	}
	if (p->normalize && !(fabs(sum) >= 1e-12))
		return err_set("weights: they sum to %g, which cannot be normalized to 1", sum);
	return 0;
}

merger *merge_new(const struct merge_params *p)
{
	if (check_params(p) < 0)
		return NULL;
	merger *m = calloc(1, sizeof *m);
	if (!m) {
		err_oom();
		return NULL;
	}
	size_t n = p->n;
	m->method = p->method;
	m->normalize = p->normalize;
	m->acc = p->acc;
	m->n = n;
	m->nw = p->nw;
	m->density = merge_method_uses_density(p->method) ? p->density : 1;
	m->seed = p->seed;
	m->given = malloc(p->nw * sizeof *m->given);
	m->eff = malloc(n * sizeof *m->eff);
	m->coef = malloc(n * sizeof *m->coef);
	m->active = calloc(n, 1);
	m->act = calloc(n, sizeof *m->act);
	m->dare_key = calloc(n, sizeof *m->dare_key);
	m->thr = calloc(n, sizeof *m->thr);
	m->last = calloc(n, sizeof *m->last);
	m->trim = calloc(n, 1);
	m->dt = calloc(n + 1, sizeof *m->dt);
	m->nt = p->threads;
	m->scratch = calloc(p->threads, sizeof *m->scratch);
	m->hist = calloc(p->threads, sizeof *m->hist);
	if (!m->given || !m->eff || !m->coef || !m->active || !m->act || !m->dare_key || !m->thr || !m->last ||
	    !m->trim || !m->dt || !m->scratch || !m->hist) {
		err_oom();
		goto fail;
	}
	for (int t = 0; t < p->threads; t++)
		if (!(m->scratch[t] = malloc((4 + n) * BLK * sizeof(double)))) {
			err_oom();
			goto fail;
		}
	memcpy(m->given, p->w, p->nw * sizeof *m->given);
	if (p->method == MERGE_SLERP) {
		m->slerp_t = p->nw == 1 ? p->w[0] : p->w[1] / (p->w[0] + p->w[1]);
		m->eff[0] = 1 - m->slerp_t;
		m->eff[1] = m->slerp_t;
	} else {
		double sum = 0;
		for (size_t i = 0; i < n; i++)
			sum += p->w[i];
		for (size_t i = 0; i < n; i++)
			m->eff[i] = p->normalize ? p->w[i] / sum : p->w[i];
	}
	if (!(m->pool = pool_new(p->threads)))
		goto fail;
	return m;
fail:
	merge_free(m);
	return NULL;
}

void merge_free(merger *m)
{
	if (!m)
		return;
	int nt = m->nt;
	pool_free(m->pool);
	for (int t = 0; m->scratch && t < nt; t++)
		free(m->scratch[t]);
	for (int t = 0; m->hist && t < nt; t++)
		free(m->hist[t]);
	free(m->scratch);
	free(m->hist);
	free(m->given);
	free(m->eff);
	free(m->coef);
	free(m->active);
	free(m->act);
	free(m->dt);
	free(m->dare_key);
	free(m->thr);
	free(m->last);
	free(m->trim);
	free(m);
}

/* ---- DARE's random mask: splitmix64 outputs indexed by element ---- */


static uint64_t dare_key(uint64_t seed, size_t input, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;      /* FNV-1a of the tensor name */
	for (const unsigned char *s = (const unsigned char *)name; *s; s++)
		h = (h ^ *s) * 0x100000001b3ull;
	uint64_t k = rng_mix64(seed + RNG_GOLDEN);
	k = rng_mix64(k ^ h);
	return rng_mix64(k + (uint64_t)(input + 1) * RNG_GOLDEN);
}

static inline int dare_keep(uint64_t key, uint64_t index, uint64_t thr)
{
	return (rng_mix64(key + (index + 1) * RNG_GOLDEN) >> 11) < thr;
}

static uint64_t dare_threshold(double density)
{
	return density >= 1 ? (1ull << 53) : (uint64_t)ldexp(density, 53);
}

int merge_dare_keep(uint64_t seed, size_t input, const char *name, uint64_t index, double density)
{
	return dare_keep(dare_key(seed, input, name), index, dare_threshold(density));
}

/* ---- kernels, once for each accumulator type ----
 *
 * kern_T(m, j, s, len, scratch): elements [s, s + len) of the job (len ≤ BLK), written to the
 * output. Scratch: x, acc, bb (BLK elements each), d (n × BLK: TIES's weighted task vectors),
 * e (BLK: TIES's elected weights).
 * Every sum runs over the inputs in argument order and starts from its first term (not from 0:
 * so weights (1, 0, …) give back −0.0 as −0.0). */

struct job {
	merger *m;
	uint64_t off;
	size_t cnt;
	const void *const *src;
	const void *base;
	int out_dt;
	void *out;
};

/* The kernels are also built for AVX2 (twice the lanes), picked at run time. Not with FMA:
 * a fused multiply-add rounds once where the portable code rounds twice, and the bytes must
 * not depend on the machine. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KERNEL_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define KERNEL_CLONES
#endif

/* Helpers of the kernels are inlined into them, so they get the kernels' AVX2 too. */
#define INLINE inline __attribute__((always_inline))

/* bf16 → f32 without quieting a signaling NaN: the product with the weight that follows
 * quiets it, to the same bits bf16_to_f32 would have given. */
static inline float bf16_bits_f32(uint16_t h) { return cvt_f32_from_bits((uint32_t)h << 16); }

/* Loops over a block: a constant trip count (BLK) lets gcc vectorize them even at -O2, whose
 * cost model takes only loops that need no scalar epilogue; the last, short block of a range
 * takes the plain loop. */
#define FOR_J(len, ...) do {                                                                    \
	if ((len) == BLK)                                                                           \
		for (size_t j = 0; j < BLK; j++) {                                                      \
			__VA_ARGS__;                                                                        \
		}                                                                                       \
	else                                                                                        \
		for (size_t j = 0; j < (len); j++) {                                                    \
			__VA_ARGS__;                                                                        \
		}                                                                                       \
} while (0)

#define T float
#define SUF f32
#define TO cvt_to_f32
#define FROM cvt_from_f32
#define KEYT uint32_t
#define SKEYT int32_t
#define ABSMASK 0x7fffffffu
#include "merge_kernel.h"
#undef T
#undef SUF
#undef TO
#undef FROM
#undef KEYT
#undef SKEYT
#undef ABSMASK

#define T double
#define SUF f64
#define TO cvt_to_f64
#define FROM cvt_from_f64
#define KEYT uint64_t
#define SKEYT int64_t
#define ABSMASK 0x7fffffffffffffffull
#include "merge_kernel.h"
#undef T
#undef SUF
#undef TO
#undef FROM
#undef KEYT
#undef SKEYT
#undef ABSMASK

/* Blocks are handed out GRAIN at a time to whichever thread is free, not split in equal shares:
 * on a machine shared with other work a thread that is descheduled holds up only its current
 * GRAIN blocks (64 KiB of each BF16 input), and the others take the rest. Each block is computed
 * alone from the same inputs, so which thread computes it does not change a byte. */
#define GRAIN 32

static void apply_worker(void *ctx, size_t item, int tid)
{
	struct job *jb = ctx;
	merger *m = jb->m;
	size_t nb = (jb->cnt + BLK - 1) / BLK;
	size_t b0 = item * GRAIN, b1 = b0 + GRAIN < nb ? b0 + GRAIN : nb;
	for (size_t b = b0; b < b1; b++) {
		size_t s = b * BLK, len = jb->cnt - s < BLK ? jb->cnt - s : BLK;
		if (m->acc == DT_F64)
			kern_f64(m, jb, s, len, m->scratch[tid]);
		else
			kern_f32(m, jb, s, len, m->scratch[tid]);
	}
}

int merge_apply(merger *m, uint64_t off, size_t cnt, const void *const *src, const void *base,
                int out_dt, void *out)
{
	if (!dtype_is_float(out_dt))
		return err_set("cannot merge into %s elements", dtype_name(out_dt));
	if (off + cnt > m->numel)
		return err_set("elements %llu..%llu are beyond the tensor's %llu",
		               (unsigned long long)off, (unsigned long long)(off + cnt),
		               (unsigned long long)m->numel);
	struct job jb = { m, off, cnt, src, base, out_dt, out };
	if (cnt)
		pool_for(m->pool, ((cnt + BLK - 1) / BLK + GRAIN - 1) / GRAIN, apply_worker, &jb);
	return 0;
}

/* Whole-tensor passes run on the pool too: TIES one input per thread, SLERP fixed blocks whose
 * partial sums are added in block order, so the numbers do not depend on the thread count. */
struct prep {
	merger *m;
	const void *const *src;
	const void *base;
	double *part;           /* SLERP: 3 per block */
	uint64_t nblk;
};

static void ties_worker(void *ctx, int tid, int nt)
{
	struct prep *pp = ctx;
	merger *m = pp->m;
	for (size_t i = tid; i < m->n; i += nt) {
		if (!m->active[i])
			continue;
		if (m->acc == DT_F64)
			ties_threshold_f64(m, i, pp->src[i], pp->base, m->scratch[tid], m->hist[tid]);
		else
			ties_threshold_f32(m, i, pp->src[i], pp->base, m->scratch[tid], m->hist[tid]);
	}
}

static void slerp_worker(void *ctx, int tid, int nt)
{
	struct prep *pp = ctx;
	merger *m = pp->m;
	double *a = m->scratch[tid], *b = a + BLK;
	size_t isz0 = dtype_size(m->dt[0]), isz1 = dtype_size(m->dt[1]);
	for (uint64_t k = pp->nblk * tid / nt; k < pp->nblk * (tid + 1) / nt; k++) {
		double aa = 0, bb = 0, ab = 0;
		uint64_t end = (k + 1) * SLERP_BLK < m->numel ? (k + 1) * SLERP_BLK : m->numel;
		for (uint64_t s = k * SLERP_BLK; s < end; s += BLK) {
			size_t len = end - s < BLK ? (size_t)(end - s) : BLK;
			cvt_to_f64(a, m->dt[0], (const char *)pp->src[0] + s * isz0, len);
			cvt_to_f64(b, m->dt[1], (const char *)pp->src[1] + s * isz1, len);
			for (size_t j = 0; j < len; j++) {
				aa += a[j] * a[j];
				bb += b[j] * b[j];
				ab += a[j] * b[j];
			}
		}
		pp->part[3 * k] = aa;
		pp->part[3 * k + 1] = bb;
		pp->part[3 * k + 2] = ab;
	}
}

/* mergekit's slerp(t, v0, v1): the directions' cosine; when |cos| > 0.9995 the vectors are
 * nearly colinear and it falls back to lerp; else sin((1-t)θ)/sin θ and sin(tθ)/sin θ. */
static int slerp_coefs(merger *m, const void *const *src)
{
	struct prep pp = { m, src, NULL, NULL, (m->numel + SLERP_BLK - 1) / SLERP_BLK };
	if (!(pp.part = malloc((pp.nblk ? pp.nblk : 1) * 3 * sizeof *pp.part)))
		return err_oom();
	pool_run(m->pool, slerp_worker, &pp);
	double aa = 0, bb = 0, ab = 0, t = m->slerp_t;
	for (uint64_t k = 0; k < pp.nblk; k++) {
		aa += pp.part[3 * k];
		bb += pp.part[3 * k + 1];
		ab += pp.part[3 * k + 2];
	}
	free(pp.part);
	double na = sqrt(aa), nb = sqrt(bb), dot = ab;
	if (na > 1e-8)
		dot /= na;
	if (nb > 1e-8)
		dot /= nb;
	if (fabs(dot) > 0.9995) {
		m->coef[0] = 1 - t;
		m->coef[1] = t;
	} else {
		double th0 = acos(dot), s0 = sin(th0), tht = th0 * t;
		m->coef[0] = sin(th0 - tht) / s0;
		m->coef[1] = sin(tht) / s0;
	}
	return 0;
}

int merge_begin_tensor(merger *m, const char *name, const int *dt, uint64_t n, const void *const *src,
                       const void *base)
{
	for (size_t i = 0; i <= m->n; i++) {
		if (i == m->n && !merge_method_uses_base(m->method)) {
			m->dt[i] = DT_F32;   /* no base: never read */
			continue;
		}
		if (!dtype_is_float(dt[i]))
			return err_set("tensor %s: %s elements cannot be merged", name, dtype_name(dt[i]));
		m->dt[i] = dt[i];
	}
	m->numel = n;
	m->dare_thr = dare_threshold(m->density);
	for (size_t i = 0; i < m->n; i++) {
		m->coef[i] = m->eff[i];
		m->active[i] = m->eff[i] != 0;
		m->dare_key[i] = merge_method_uses_seed(m->method) ? dare_key(m->seed, i, name) : 0;
		m->trim[i] = 0;
	}
	if (m->method == MERGE_SLERP) {
		if (slerp_coefs(m, src) < 0)
			return -1;
		for (size_t i = 0; i < m->n; i++)
			m->active[i] = m->coef[i] != 0;
	} else if (merge_method_whole_tensor(m->method, m->density)) {
		for (int t = 0; t < pool_threads(m->pool); t++)
			if (!m->hist[t] && !(m->hist[t] = malloc(sizeof **m->hist << HIST_BITS)))
				return err_oom();
		struct prep pp = { m, src, base, NULL, 0 };
		pool_run(m->pool, ties_worker, &pp);
	}
	m->nact = 0;
	m->act_dt = -1;
	for (size_t i = 0; i < m->n; i++)
		if (m->active[i]) {
			m->act_dt = m->nact == 0 || m->act_dt == m->dt[i] ? m->dt[i] : -1;
			m->act[m->nact++] = i;
		}
	return 0;
}

/* ---- provenance ---- */

char *merge_provenance(const merger *m, const char *const *names, const char *base_name)
{
	json_object *o = json_object_new_object(), *in = json_object_new_array(),
	            *w = json_object_new_array();
	if (!o || !in || !w) {
		json_object_put(o);
		json_object_put(in);
		json_object_put(w);
		err_oom();
		return NULL;
	}
	rec_set(o, "method", json_object_new_string(method_names[m->method]));
	for (size_t i = 0; i < m->n; i++)
		json_object_array_add(in, json_object_new_string(names[i]));
	rec_set(o, "inputs", in);
	for (size_t i = 0; i < m->nw; i++)
		json_object_array_add(w, rec_double(m->given[i]));
	rec_set(o, "weights", w);
	if (m->method == MERGE_SLERP)
		rec_set(o, "t", rec_double(m->slerp_t));
	else
		rec_set(o, "normalize", json_object_new_boolean(m->normalize));
	if (base_name)
		rec_set(o, "base", json_object_new_string(base_name));
	if (merge_method_uses_density(m->method))
		rec_set(o, "density", rec_double(m->density));
	if (merge_method_uses_seed(m->method))
		rec_set(o, "seed", json_object_new_uint64(m->seed));
	rec_set(o, "acc", json_object_new_string(m->acc == DT_F64 ? "f64" : "f32"));
	char *s = strdup(rec_str(o));
	json_object_put(o);
	if (!s)
		err_oom();
	return s;
}
