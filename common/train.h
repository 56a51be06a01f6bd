/* train.h — the training loop of ckpt-train: AdamW (adamw.h) with linear warmup + cosine decay
 * and global gradient clipping over a Llama model (llama.h), fed rows of task examples drawn by
 * weight (task.h's sampler), loss on target tokens only. Also the parsers of its command-line
 * forms (a --config spec, a TASKFILE:WEIGHT argument).
 *
 * Data parallelism without nondeterminism: each step's batch of B rows is cut into a fixed
 * number of shards (train_shards(B), independent of the thread count); each shard's gradient is
 * computed on a replica of the model into its own buffer, and the shards are summed in order. So
 * the same options and seed give the same bits whatever the number of threads. BLAS runs
 * single-threaded inside the shards. */
#ifndef RECYCLE_TRAIN_H
#define RECYCLE_TRAIN_H

#include <stdint.h>

#include "llama.h"
#include "task.h"

struct train_opts {
	long steps;            /* optimizer steps (≥ 1) */
	int batch, seq;        /* rows per step, tokens per row (seq ≥ 2) */
	long warmup;           /* linear warmup steps (≥ 0) */
	double lr, lr_min;     /* peak learning rate; the cosine ends at lr_min */
	double weight_decay;   /* AdamW decoupled decay of the matrices (norm weights are exempt) */
	double beta1, beta2, eps;
	double clip;           /* global gradient-norm limit; 0: none */
	uint64_t seed;         /* the sampler's stream (and train_init's weights) */
	int threads;           /* shards computed at once (≥ 1) */
	int pack;              /* fill rows with several examples (TASK_PACK) */
};

/* Defaults: 200 steps, batch 16, seq 64, warmup 20, lr 1e-3, lr_min lr/10 (set when < 0),
 * weight decay 0.01, betas 0.9 0.95, eps 1e-8, clip 1, seed 1, 1 thread, packing on. */
void train_opts_default(struct train_opts *o);
/* Checks ranges; errors read "--OPTION: why". lr_min < 0 becomes lr / 10. */
int train_opts_check(struct train_opts *o);

/* What the loop reports every `every` steps (and after the last one). loss is the mean over
 * the target tokens of the steps since the previous report. */
struct train_report {
	long step, steps;      /* steps done, of */
	double loss, lr, grad_norm;
	long tokens;           /* real (non-padding) tokens so far */
	double seconds;        /* since the start */
	double tokens_per_s;   /* over the steps since the previous report */
};
typedef void train_report_fn(void *ctx, const struct train_report *r);

/* The outcome of a run. */
struct train_result {
	double first_loss, last_loss;   /* mean loss of the first and of the last report interval */
	long tokens, skipped;           /* real tokens seen; steps skipped for a non-finite gradient */
	long truncated;                 /* examples cut to fit seq */
	double seconds;
};

/* The number of shards a batch of `batch` rows is cut into (min(batch, 8)). */
int train_shards(int batch);

/* Trains m in place for o->steps steps on rows drawn from tasks by weight (NULL: equal).
 * report (may be NULL) is called every `every` ≥ 1 steps and after the last. res may be NULL.
 * 0, or -1 with err_set (a bad option, a task that does not fit the model, out of memory). */
int train_run(struct llama_model *m, task *const *tasks, const double *weights, int ntasks,
              const struct train_opts *o, long every, train_report_fn *report, void *ctx,
              struct train_result *res);

/* The config of a spec "hidden=64,layers=2,heads=4,kv-heads=2,ff=192,vocab=256" (also head-dim=,
 * rope-theta=, rms-eps=, max-pos=; kv-heads defaults to heads), checked by llama_config_check;
 * tie shares lm_head with the embedding. -1 and err_set("--config: why"). */
int train_config_parse(const char *spec, int tie, struct llama_config *c);

/* "PATH[:WEIGHT]": the weight is what follows the last ':' when that is a number; a PATH that
 * exists as given wins (a file named "a:1" is a file). *path is malloc'd. -1 and err_set when the
 * part after ':' is not a finite number ≥ 0 and the whole is not an existing file. */
int train_task_arg(const char *arg, char **path, double *weight);

#endif
