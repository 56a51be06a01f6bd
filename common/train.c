/* train.c — see train.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adamw.h"
#include "err.h"
#include "pool.h"
#include "progress.h"
#include "train.h"

#define MAX_SHARDS 8

void train_opts_default(struct train_opts *o)
{
	memset(o, 0, sizeof *o);
	o->steps = 200;
	o->batch = 16;
	o->seq = 64;
	o->warmup = 20;
	o->lr = 1e-3;
	o->lr_min = -1;
	o->weight_decay = 0.01;
	o->beta1 = 0.9;
	o->beta2 = 0.95;
	o->eps = 1e-8;
	o->clip = 1;
	o->seed = 1;
	o->threads = 1;
	o->pack = 1;
}

int train_opts_check(struct train_opts *o)
{
	if (o->steps < 1)
		return err_set("--steps %ld: must be at least 1", o->steps);
	if (o->batch < 1)
		return err_set("--batch %d: must be at least 1", o->batch);
	if (o->seq < 2)
		return err_set("--seq %d: must be at least 2 (a token and the one it predicts)", o->seq);
	if ((double)o->batch * o->seq > 1 << 24)
		return err_set("--batch × --seq = %.0f tokens a step: at most %d", (double)o->batch * o->seq, 1 << 24);
	if (o->warmup < 0 || o->warmup > o->steps)
		return err_set("--warmup %ld: must be from 0 to --steps (%ld)", o->warmup, o->steps);
	if (!(o->lr > 0) || !isfinite(o->lr))
		return err_set("--lr %g: must be a positive number", o->lr);
	if (o->lr_min < 0)
		o->lr_min = o->lr / 10;
	if (!(o->lr_min <= o->lr) || !isfinite(o->lr_min))
		return err_set("--min-lr %g: must be from 0 to --lr (%g)", o->lr_min, o->lr);
	if (!(o->weight_decay >= 0) || !isfinite(o->weight_decay))
		return err_set("--weight-decay %g: must be a number ≥ 0", o->weight_decay);
	if (!(o->clip >= 0) || !isfinite(o->clip))
		return err_set("--clip %g: must be a number ≥ 0 (0: no clipping)", o->clip);
	if (!(o->beta1 >= 0 && o->beta1 < 1) || !(o->beta2 >= 0 && o->beta2 < 1) || !(o->eps > 0))
		return err_set("AdamW betas must lie in [0, 1) and eps be positive");
	if (o->threads < 1)
		return err_set("--threads %d: must be at least 1", o->threads);
	return 0;
}

int train_shards(int batch) { return batch < MAX_SHARDS ? batch : MAX_SHARDS; }

/* ---- one step's gradient, shard by shard ---- */

struct shard {
	int row0, rows;
	float *grad;          /* n_params */
	double loss;          /* mean over its target tokens */
	long count;           /* target tokens */
	int failed;
	char err[512];
};

struct worker {
	struct llama_model *m;        /* the model itself (worker 0) or a replica */
	struct shard *sh;
	int first, stride, nsh;
	const int *tok, *tgt;         /* the whole batch */
	int T;
};

static void worker_run(struct worker *w)
{
	for (int s = w->first; s < w->nsh; s += w->stride) {
		struct shard *sh = &w->sh[s];
		size_t o = (size_t)sh->row0 * w->T, n = (size_t)sh->rows * w->T;
		sh->count = 0;
		sh->loss = 0;
		for (size_t i = 0; i < n; i++)
			sh->count += w->tgt[o + i] >= 0;
		if (sh->count == 0)
			continue;
		if (llama_loss_grad(w->m, sh->rows, w->T, w->tok + o, w->tgt + o, sh->grad, &sh->loss) < 0) {
			sh->failed = 1;
			snprintf(sh->err, sizeof sh->err, "%s", err_get());
		}
	}
}

/* ---- the loop ---- */

struct run {
	struct llama_model *m;
	struct llama_model *rep[MAX_SHARDS];   /* replicas for workers 1.. */
	struct shard sh[MAX_SHARDS];
	int nsh, nw;
	float *grad;
	int32_t *tok32;
	uint8_t *mask;
	int *tok, *tgt;
	struct adamw *opt;
	task_sampler *smp;
	pool *pool;                            /* nw threads, started once for the run */
	struct worker w[MAX_SHARDS];
};

static void run_free(struct run *r)
{
	for (int i = 0; i < MAX_SHARDS; i++) {
		llama_free(r->rep[i]);
		free(r->sh[i].grad);
	}
	free(r->grad);
	free(r->tok32);
	free(r->mask);
	free(r->tok);
	free(r->tgt);
	adamw_free(r->opt);
	task_sampler_free(r->smp);
	pool_free(r->pool);
}

static int run_setup(struct run *r, struct llama_model *m, task *const *tasks, const double *weights,
                     int ntasks, const struct train_opts *o)
{
	size_t N = (size_t)o->batch * o->seq, P = m->n_params;
	r->m = m;
	r->nsh = train_shards(o->batch);
	r->nw = o->threads < r->nsh ? o->threads : r->nsh;
	for (int k = 0; k < ntasks; k++)
		if (tasks[k]->vocab != m->cfg.vocab)
			return err_set("%s: loaded for a vocabulary of %d, the model has %d", tasks[k]->path,
			               tasks[k]->vocab, m->cfg.vocab);
	if (!(r->smp = task_sampler_new(tasks, weights, ntasks, o->seed, o->pack ? TASK_PACK : 0)))
		return -1;
	if (!(r->grad = malloc(P * sizeof *r->grad)) || !(r->tok32 = malloc(N * sizeof *r->tok32)) ||
	    !(r->mask = malloc(N)) || !(r->tok = malloc(N * sizeof *r->tok)) ||
	    !(r->tgt = malloc(N * sizeof *r->tgt)))
		return err_oom();
	/* Rows split as evenly as the shards allow, the first ones one row longer. */
	for (int s = 0, row = 0; s < r->nsh; s++) {
		r->sh[s].row0 = row;
		r->sh[s].rows = o->batch / r->nsh + (s < o->batch % r->nsh);
		row += r->sh[s].rows;
		if (!(r->sh[s].grad = malloc(P * sizeof *r->sh[s].grad)))
			return err_oom();
	}
	for (int i = 1; i < r->nw; i++)
		if (!(r->rep[i] = llama_new(&m->cfg)))
			return -1;
	if (!(r->pool = pool_new(r->nw)))
		return -1;
	if (!(r->opt = adamw_new(P, o->beta1, o->beta2, o->eps, o->weight_decay)))
		return -1;
	for (int i = 0; i < m->n_tensors; i++)
		if (m->tensors[i].ndim == 1)
			adamw_no_decay(r->opt, m->tensors[i].offset, m->tensors[i].numel);
	return 0;
}

/* Thread tid of nt runs workers tid, tid + nt, ...: each worker (its replica, its shards) on one
 * thread; all of them on the caller when the pool runs single-threaded. */
static void workers_run(void *ctx, int tid, int nt)
{
	struct run *r = ctx;
	for (int i = tid; i < r->nw; i += nt)
		worker_run(&r->w[i]);
}

/* Draws the next batch; returns its real tokens. */
static long next_batch(struct run *r, const struct train_opts *o)
{
	long real = 0;
	const int T = o->seq;
	for (int b = 0; b < o->batch; b++) {
		int32_t *tk = r->tok32 + (size_t)b * T;
		uint8_t *mk = r->mask + (size_t)b * T;
		int n = task_sampler_next(r->smp, tk, mk, NULL, T);
		if (n < 0)
			return -1;
		real += n;
		task_targets(tk, mk, T, r->tgt + (size_t)b * T);
		for (int j = 0; j < T; j++)
			r->tok[(size_t)b * T + j] = tk[j];
	}
	return real;
}

/* The batch's gradient into r->grad (mean over all its target tokens) and loss; the number of
 * target tokens, or -1 on error. */
static long batch_grad(struct run *r, const struct train_opts *o, double *loss)
{
	struct worker *w = r->w;
	size_t P = r->m->n_params;
	for (int i = 0; i < r->nw; i++) {
		w[i] = (struct worker){ .m = i ? r->rep[i] : r->m, .sh = r->sh, .first = i, .stride = r->nw,
		                        .nsh = r->nsh, .tok = r->tok, .tgt = r->tgt, .T = o->seq };
		if (i)
			memcpy(r->rep[i]->params, r->m->params, P * sizeof *r->m->params);
	}
	for (int s = 0; s < r->nsh; s++)
		r->sh[s].failed = 0;
	pool_run(r->pool, workers_run, r);

	long count = 0;
	for (int s = 0; s < r->nsh; s++) {
		if (r->sh[s].failed)
			return err_set("%s", r->sh[s].err);
		count += r->sh[s].count;
	}
	if (count == 0)
		return err_set("a batch without target tokens: are --seq %d and the task files right?", o->seq);
	/* Shards summed in order, weighted by their share of the target tokens. */
	double l = 0;
	int first = 1;
	for (int s = 0; s < r->nsh; s++) {
		const struct shard *sh = &r->sh[s];
		if (sh->count == 0)
			continue;
		float f = (float)((double)sh->count / (double)count);
		l += sh->loss * (double)sh->count;
		if (first)
			for (size_t i = 0; i < P; i++)
				r->grad[i] = f * sh->grad[i];
		else
			for (size_t i = 0; i < P; i++)
				r->grad[i] += f * sh->grad[i];
		first = 0;
	}
	*loss = l / (double)count;
	return count;
}

int train_run(struct llama_model *m, task *const *tasks, const double *weights, int ntasks,
              const struct train_opts *opts, long every, train_report_fn *report, void *ctx,
              struct train_result *res)
{
	struct train_opts o = *opts;
	struct run r = { 0 };
	struct train_result rs = { .first_loss = NAN, .last_loss = NAN };
	int rc = -1;
	if (train_opts_check(&o) < 0)
		return -1;
	if (every < 1)
		every = 1;
	if (run_setup(&r, m, tasks, weights, ntasks, &o) < 0)
		goto out;
	/* BLAS single-threaded: parallelism is over shards, and results do not depend on it. */
	llama_set_threads(1);
	struct adamw_sched sc = { o.lr, o.lr_min, o.warmup, o.steps };
	double t0 = progress_now(), tlast = t0, lsum = 0, gn = 0;
	long lcount = 0, tok_last = 0;
	for (long step = 0; step < o.steps; step++) {
		long real = next_batch(&r, &o);
		double loss, lr = adamw_lr(&sc, step);
		if (real < 0)
			goto out;
		rs.tokens += real;
		long count = batch_grad(&r, &o, &loss);
		if (count < 0)
			goto out;
		gn = adamw_clip(r.grad, m->n_params, o.clip > 0 ? o.clip : INFINITY);
		if (!isfinite(gn) || !isfinite(loss)) {
			rs.skipped++;
		} else {
			adamw_step(r.opt, m->params, r.grad, lr);
			lsum += loss;
			lcount++;
		}
		if ((step + 1) % every == 0 || step + 1 == o.steps) {
			double t = progress_now();
			struct train_report rp = { step + 1, o.steps, lcount ? lsum / lcount : NAN, lr, gn, rs.tokens,
			                           t - t0, t > tlast ? (rs.tokens - tok_last) / (t - tlast) : 0 };
			if (isnan(rs.first_loss))
				rs.first_loss = rp.loss;
			rs.last_loss = rp.loss;
			if (report)
				report(ctx, &rp);
			lsum = 0;
			lcount = 0;
			tlast = t;
			tok_last = rs.tokens;
		}
	}
	rs.truncated = task_sampler_truncated(r.smp);
	rs.seconds = progress_now() - t0;
	rc = 0;
out:
	if (res)
		*res = rs;
	run_free(&r);
	return rc;
}

/* ---- command-line forms ---- */

static int parse_int(const char *key, const char *v, long lo, long hi, int *out)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (!*v || *end || errno || x < lo || x > hi)
		return err_set("--config: %s=%s: want an integer from %ld to %ld", key, v, lo, hi);
	*out = (int)x;
	return 0;
}

static int parse_pos(const char *key, const char *v, double *out)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (!*v || *end || errno || !(x > 0) || !isfinite(x))
		return err_set("--config: %s=%s: want a positive number", key, v);
	*out = x;
	return 0;
}

int train_config_parse(const char *spec, int tie, struct llama_config *c)
{
	static const char *const need[] = { "hidden", "layers", "heads", "ff", "vocab" };
	int seen[5] = { 0 };
	char *s = strdup(spec), *save = NULL;
	if (!s)
		return err_oom();
	llama_config_default(c);
	c->tie_embeddings = tie;
	int rc = -1;
	for (char *kv = strtok_r(s, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq) {
			err_set("--config: '%s': want KEY=VALUE", kv);
			goto out;
		}
		*eq = 0;
		const char *k = kv, *v = eq + 1;
		int r;
		const int big = 1 << 20;
		if (!strcmp(k, "hidden")) r = parse_int(k, v, 1, big, &c->hidden), seen[0] = 1;
		else if (!strcmp(k, "layers")) r = parse_int(k, v, 1, 4096, &c->layers), seen[1] = 1;
		else if (!strcmp(k, "heads")) r = parse_int(k, v, 1, 4096, &c->heads), seen[2] = 1;
		else if (!strcmp(k, "ff")) r = parse_int(k, v, 1, big, &c->ff), seen[3] = 1;
		else if (!strcmp(k, "vocab")) r = parse_int(k, v, 1, 1 << 24, &c->vocab), seen[4] = 1;
		else if (!strcmp(k, "kv-heads")) r = parse_int(k, v, 1, 4096, &c->kv_heads);
		else if (!strcmp(k, "head-dim")) r = parse_int(k, v, 2, big, &c->head_dim);
		else if (!strcmp(k, "max-pos")) r = parse_int(k, v, 1, 1 << 30, &c->max_pos);
		else if (!strcmp(k, "rope-theta")) r = parse_pos(k, v, &c->rope_theta);
		else if (!strcmp(k, "rms-eps")) r = parse_pos(k, v, &c->rms_eps);
		else {
			err_set("--config: unknown key '%s' (hidden, layers, heads, kv-heads, ff, vocab, head-dim, "
			        "rope-theta, rms-eps, max-pos)", k);
			goto out;
		}
		if (r < 0)
			goto out;
	}
	for (int i = 0; i < 5; i++)
		if (!seen[i]) {
			err_set("--config: %s= is missing (hidden, layers, heads, ff and vocab are required)", need[i]);
			goto out;
		}
	if (c->head_dim == 0 && c->hidden % c->heads) {
		err_set("--config: hidden=%d is not a multiple of heads=%d (give head-dim=)", c->hidden, c->heads);
		goto out;
	}
	if (llama_config_check(c) < 0) {
		err_prefix("--config: ");
		goto out;
	}
	rc = 0;
out:
	free(s);
	return rc;
}

int train_task_arg(const char *arg, char **path, double *weight)
{
	const char *colon = strrchr(arg, ':');
	*weight = 1;
	if (!colon || access(arg, F_OK) == 0) {
		*path = strdup(arg);
		return *path ? 0 : err_oom();
	}
	char *end;
	errno = 0;
	double w = strtod(colon + 1, &end);
	if (!colon[1] || *end || errno || !isfinite(w) || w < 0)
		return err_set("%s: weight '%s' is not a finite number ≥ 0", arg, colon + 1);
	if (colon == arg)
		return err_set("%s: no task file before the weight", arg);
	if (!(*path = strndup(arg, colon - arg)))
		return err_oom();
	*weight = w;
	return 0;
}
