/* task.c — libFuzzer target: the task-file reader (task_load), with the byte vocabulary (256) and
 * with a 300-entry one (ids only), whole and limited to 2 examples. A task that loads must hold
 * what task.h promises — spans inside the token array, ids inside the vocabulary, MC answers
 * among the choices — and its training sequences are laid out and sampled as ckpt-train does. */
#include "fuzz.h"
#include "task.h"

static void fz_task_check(const task *t)
{
	FZ_CHECK(t->n > 0, "a task without examples loaded");
	for (size_t i = 0; i < t->ntok; i++)
		FZ_CHECK(t->tok[i] >= 0 && t->tok[i] < t->vocab, "token %zu = %d outside the vocabulary %d", i,
		         (int)t->tok[i], t->vocab);
	for (size_t i = 0; i < t->n; i++) {
		const task_example *e = &t->ex[i];
		FZ_CHECK(e->ctx.off <= t->ntok && e->ctx.len <= t->ntok - e->ctx.off, "example %zu: context outside", i);
		if (t->kind == TASK_GEN)
			FZ_CHECK(e->tgt.len > 0 && e->tgt.off <= t->ntok && e->tgt.len <= t->ntok - e->tgt.off,
			         "example %zu: target outside", i);
		if (t->kind == TASK_MC) {
			FZ_CHECK(e->nchoice >= 2 && e->answer >= 0 && e->answer < e->nchoice, "example %zu: answer %d of %d",
			         i, e->answer, e->nchoice);
			for (int k = 0; k < e->nchoice; k++) {
				const task_span *s = &t->choice[e->choice + (size_t)k];
				FZ_CHECK(s->len > 0 && s->off <= t->ntok && s->len <= t->ntok - s->off,
				         "example %zu: choice %d outside", i, k);
			}
		}
		if (t->kind == TASK_TEXT)
			FZ_CHECK(e->ctx.len >= 2, "example %zu: a text of %zu tokens", i, e->ctx.len);
		size_t m = task_seq_len(t, i);
		FZ_CHECK(m <= t->max_seq && m <= TASK_MAX_TOKENS, "example %zu: sequence of %zu tokens", i, m);
	}
}

static void fz_task_sample(task *t)
{
	enum { T = 16 };
	int32_t tok[T];
	uint8_t mask[T];
	int src[T], targets[T];
	int32_t *seq = malloc((t->max_seq ? t->max_seq : 1) * sizeof *seq);
	uint8_t *sm = malloc(t->max_seq ? t->max_seq : 1);
	for (size_t i = 0; seq && sm && i < t->n && i < 64; i++) {
		size_t m = task_seq(t, i, seq, sm);
		FZ_CHECK(m == task_seq_len(t, i), "task_seq gave %zu tokens, task_seq_len %zu", m, task_seq_len(t, i));
	}
	free(seq);
	free(sm);
	for (int flags = 0; flags <= TASK_PACK; flags += TASK_PACK) {
		task *ts[1] = { t };
		task_sampler *s = task_sampler_new(ts, NULL, 1, 7, flags);
		FZ_CHECK(s != NULL, "task_sampler_new: %s", err_get());
		if (!s)
			return;
		for (int r = 0; r < 4; r++) {
			int real = task_sampler_next(s, tok, mask, src, T);
			FZ_CHECK(real >= 1 && real <= T, "a row of %d real tokens", real);
			for (int j = 0; j < T; j++)
				FZ_CHECK(j < real ? src[j] == 0 && tok[j] >= 0 && tok[j] < t->vocab : src[j] == -1 && !mask[j],
				         "row %d: token %d (real %d): tok %d src %d mask %d", r, j, real, (int)tok[j], src[j], mask[j]);
			task_targets(tok, mask, T, targets);
		}
		task_sampler_free(s);
	}
}

static void fz_task(const uint8_t *d, size_t n)
{
	char path[64];
	static const int vocab[2] = { 256, 300 };
	fz_memfile(d, n, path, sizeof path);
	for (int v = 0; v < 2; v++)
		for (long limit = 0; limit <= 2; limit += 2) {
			fz_err_clear();
			task *t = task_load(path, vocab[v], limit);
			if (!t) {
				fz_check_error("task_load", n);
				continue;
			}
			FZ_CHECK(!limit || t->n <= (size_t)limit, "limit %ld kept %zu examples", limit, t->n);
			fz_task_check(t);
			fz_task_sample(t);
			task_free(t);
		}
}
FZ_TARGET(task)
