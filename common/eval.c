/* eval.c — see eval.h: the built-in evaluator (log-likelihoods, greedy decoding, the task
 * metrics) and the record fields. The external harness is in eval_exec.c.
 *
 * Scoring packs whole sequences (context + continuation) into one llama_logprobs call: no
 * padding, so sequences of any lengths batch together and the order does not matter. Generation
 * keeps every slot of the KV cache busy: a sequence that finishes (done, or off its target) frees
 * its slot for the next prompt in the same step as the others' one-token steps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "eval.h"
#include "lmio.h"
#include "rec.h"

int eval_argmax_f(const float *v, size_t n)
{
	int best = -1;
	for (size_t j = 0; j < n; j++)
		if (!isnan(v[j]) && (best < 0 || v[j] > v[best]))
			best = (int)j;
	return best;
}

int eval_argmax_d(const double *v, size_t n)
{
	int best = -1;
	for (size_t j = 0; j < n; j++)
		if (!isnan(v[j]) && (best < 0 || v[j] > v[best]))
			best = (int)j;
	return best;
}

static int grow_int(int **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 1024;
	while (c < need)
		c *= 2;
	int *q = realloc(*p, c * sizeof *q);
	if (!q)
		return err_oom();
	*p = q;
	*cap = c;
	return 0;
}

int eval_loglik(struct llama_model *m, const struct eval_seq *s, size_t n, int batch, double *ll,
                uint64_t *tokens, struct progress *pg)
{
	int *tok = NULL, *lens = NULL;
	float *logp = NULL;
	size_t cap = 0, lcap = 0;
	int rc = -1;
	if (batch < 1)
		return err_set("batch %d: must be at least 1", batch);
	if (!(lens = malloc((size_t)batch * sizeof *lens)))
		return err_oom();
	for (size_t i0 = 0; i0 < n; ) {
		/* One pass: up to batch sequences and EVAL_PASS_TOKENS tokens (at least one sequence). */
		size_t i1 = i0, N = 0;
		while (i1 < n && i1 - i0 < (size_t)batch) {
			size_t L = s[i1].nctx + s[i1].ncont;
			if (s[i1].nctx < 1 || L > INT32_MAX / 4) {
				err_set("sequence %zu: %zu context and %zu continuation tokens", i1, s[i1].nctx, s[i1].ncont);
				goto out;
			}
			if (i1 > i0 && N + L > EVAL_PASS_TOKENS)
				break;
			N += L;
			i1++;
		}
		if (grow_int(&tok, &cap, N) < 0)
			goto out;
		if (N > lcap) {
			float *q = realloc(logp, N * sizeof *logp);
			if (!q) {
				err_oom();
				goto out;
			}
			logp = q;
			lcap = N;
		}
		size_t at = 0;
		for (size_t i = i0; i < i1; i++) {
			for (size_t j = 0; j < s[i].nctx; j++)
				tok[at++] = s[i].ctx[j];
			for (size_t j = 0; j < s[i].ncont; j++)
				tok[at++] = s[i].cont[j];
			lens[i - i0] = (int)(s[i].nctx + s[i].ncont);
		}
		if (llama_logprobs(m, (int)(i1 - i0), lens, tok, logp) < 0)
			goto out;
		at = 0;
		for (size_t i = i0; i < i1; i++) {
			double sum = 0;
			for (size_t j = 0; j < s[i].ncont; j++)
				sum += logp[at + s[i].nctx + j];
			ll[i] = sum;
			at += s[i].nctx + s[i].ncont;
		}
		if (tokens)
			*tokens += N;
		if (pg)
			progress_add(pg, i1 - i0);
		i0 = i1;
	}
	rc = 0;
out:
	free(tok);
	free(lens);
	free(logp);
	return rc;
}

int eval_greedy(struct llama_model *m, const struct eval_seq *s, size_t n, int batch, int max_new,
                int32_t *const *out, size_t *nout, uint64_t *tokens, struct progress *pg)
{
	const int V = m->cfg.vocab;
	struct llama_cache *kc = NULL;
	float *logits = NULL;
	int *tok = NULL, *sl = NULL, *lens = NULL, *who = NULL;
	size_t *k = NULL, cap = 0, want_max = 0, len_max = 1;
	int rc = -1;
	if (batch < 1)
		return err_set("batch %d: must be at least 1", batch);
	if (max_new < 0)
		return err_set("max_new %d: must be 0 or more", max_new);
	/* A slot holds the prompt and every decoded token but the last (never fed back). */
	for (size_t i = 0; i < n; i++) {
		size_t want = s[i].cont ? s[i].ncont : (size_t)max_new;
		nout[i] = 0;
		if (s[i].nctx < 1 || s[i].nctx + want > INT32_MAX / 4)
			return err_set("sequence %zu: %zu context and %zu tokens to decode", i, s[i].nctx, want);
		if (want > 0 && s[i].nctx + want - 1 > len_max)
			len_max = s[i].nctx + want - 1;
		if (want > want_max)
			want_max = want;
	}
	int B = (size_t)batch < n ? batch : (int)(n ? n : 1);
	if (want_max == 0) {
		if (pg)
			progress_add(pg, n);
		goto done;
	}
	if (!(kc = llama_cache_new(m, B, (int)len_max)))
		return -1;
	logits = malloc((size_t)B * V * sizeof *logits);
	sl = malloc((size_t)B * sizeof *sl);
	lens = malloc((size_t)B * sizeof *lens);
	who = malloc((size_t)B * sizeof *who);   /* the sequence in each slot, -1 when free */
	k = calloc((size_t)B, sizeof *k);        /* tokens decoded by each slot's sequence */
	if (!logits || !sl || !lens || !who || !k) {
		err_oom();
		goto out;
	}
	for (int b = 0; b < B; b++)
		who[b] = -1;
	size_t next = 0;
	for (;;) {
		/* Fill free slots; sequences with nothing to decode finish at once. */
		for (int b = 0; b < B; b++)
			while (who[b] < 0 && next < n) {
				size_t i = next++;
				size_t want = s[i].cont ? s[i].ncont : (size_t)max_new;
				if (want == 0) {
					if (pg)
						progress_add(pg, 1);
					continue;
				}
				who[b] = (int)i;
				k[b] = 0;
				llama_cache_clear(kc, b);
			}
		/* One step: a prompt for each new sequence, the last decoded token for the others. */
		int ns = 0;
		size_t N = 0;
		for (int b = 0; b < B; b++) {
			if (who[b] < 0)
				continue;
			const struct eval_seq *q = &s[who[b]];
			size_t L = k[b] == 0 ? q->nctx : 1;
			if (grow_int(&tok, &cap, N + L) < 0)
				goto out;
			if (k[b] == 0)
				for (size_t j = 0; j < L; j++)
					tok[N + j] = q->ctx[j];
			else
				tok[N] = out[who[b]][k[b] - 1];
			sl[ns] = b;
			lens[ns++] = (int)L;
			N += L;
		}
		if (ns == 0)
			break;
		if (llama_step(m, kc, ns, sl, lens, tok, logits) < 0)
			goto out;
		if (tokens)
			*tokens += N;
		for (int r = 0; r < ns; r++) {
			int b = sl[r];
			size_t i = (size_t)who[b];
			size_t want = s[i].cont ? s[i].ncont : (size_t)max_new;
			int g = eval_argmax_f(logits + (size_t)r * V, (size_t)V);
			int finished = g < 0;
			if (g >= 0) {
				out[i][k[b]++] = g;
				finished = k[b] == want || (s[i].cont && g != s[i].cont[k[b] - 1]);
			}
			if (finished) {
				nout[i] = k[b];
				who[b] = -1;
				if (pg)
					progress_add(pg, 1);
			}
		}
	}
done:
	rc = 0;
out:
	llama_cache_free(kc);
	free(logits);
	free(tok);
	free(sl);
	free(lens);
	free(who);
	free(k);
	return rc;
}

size_t eval_task_seqs(const task *t)
{
	if (t->kind != TASK_MC)
		return t->n;
	size_t c = 0;
	for (size_t i = 0; i < t->n; i++)
		c += (size_t)t->ex[i].nchoice;
	return c;
}

static int score_gen(struct llama_model *m, const task *t, const struct eval_opts *o, double *each,
                     struct eval_result *r)
{
	size_t n = t->n, room = 0;
	struct eval_seq *s = calloc(n ? n : 1, sizeof *s);
	int32_t **out = calloc(n ? n : 1, sizeof *out), *buf = NULL;
	size_t *nout = calloc(n ? n : 1, sizeof *nout);
	int rc = -1;
	if (!s || !out || !nout)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		const task_example *e = &t->ex[i];
		s[i].ctx = t->tok + e->ctx.off;
		s[i].nctx = e->ctx.len;
		s[i].cont = t->tok + e->tgt.off;
		/* A target longer than max_new cannot match: nothing is decoded for it. */
		s[i].ncont = o->max_new > 0 && e->tgt.len > (size_t)o->max_new ? 0 : e->tgt.len;
		room += s[i].ncont;
	}
	if (!(buf = malloc((room ? room : 1) * sizeof *buf)))
		goto oom;
	room = 0;
	for (size_t i = 0; i < n; i++) {
		out[i] = buf + room;
		room += s[i].ncont;
	}
	if (eval_greedy(m, s, n, o->batch, o->max_new, out, nout, &r->tokens, o->pg) < 0)
		goto out;
	double hits = 0;
	for (size_t i = 0; i < n; i++) {
		int hit = s[i].ncont > 0 && nout[i] == s[i].ncont &&
		          memcmp(out[i], s[i].cont, s[i].ncont * sizeof *out[i]) == 0;
		hits += hit;
		if (each)
			each[i] = hit;
	}
	r->score = hits / (double)n;
	rc = 0;
	goto out;
oom:
	err_oom();
out:
	free(s);
	free(out);
	free(buf);
	free(nout);
	return rc;
}

static int score_mc(struct llama_model *m, const task *t, const struct eval_opts *o, double *each,
                    struct eval_result *r)
{
	size_t ns = eval_task_seqs(t), at = 0;
	struct eval_seq *s = calloc(ns ? ns : 1, sizeof *s);
	double *ll = calloc(ns ? ns : 1, sizeof *ll);
	int rc = -1;
	if (!s || !ll) {
		err_oom();
		goto out;
	}
	for (size_t i = 0; i < t->n; i++) {
		const task_example *e = &t->ex[i];
		for (int c = 0; c < e->nchoice; c++, at++) {
			const task_span *ch = &t->choice[e->choice + c];
			s[at] = (struct eval_seq){ t->tok + e->ctx.off, e->ctx.len, t->tok + ch->off, ch->len };
		}
	}
	if (eval_loglik(m, s, ns, o->batch, ll, &r->tokens, o->pg) < 0)
		goto out;
	double hits = 0;
	at = 0;
	for (size_t i = 0; i < t->n; i++) {
		const task_example *e = &t->ex[i];
		int hit = eval_argmax_d(ll + at, (size_t)e->nchoice) == e->answer;
		hits += hit;
		if (each)
			each[i] = hit;
		at += (size_t)e->nchoice;
	}
	r->score = hits / (double)t->n;
	rc = 0;
out:
	free(s);
	free(ll);
	return rc;
}

static int score_text(struct llama_model *m, const task *t, const struct eval_opts *o, double *each,
                      struct eval_result *r)
{
	size_t n = t->n;
	struct eval_seq *s = calloc(n ? n : 1, sizeof *s);
	double *ll = calloc(n ? n : 1, sizeof *ll);
	int rc = -1;
	if (!s || !ll) {
		err_oom();
		goto out;
	}
	/* The first token is context only (the loader guarantees at least two). */
	for (size_t i = 0; i < n; i++) {
		const task_example *e = &t->ex[i];
		s[i] = (struct eval_seq){ t->tok + e->ctx.off, 1, t->tok + e->ctx.off + 1, e->ctx.len - 1 };
	}
	if (eval_loglik(m, s, n, o->batch, ll, &r->tokens, o->pg) < 0)
		goto out;
	double sum = 0, count = 0;
	for (size_t i = 0; i < n; i++) {
		sum += ll[i];
		count += (double)s[i].ncont;
		if (each)
			each[i] = ll[i] / (double)s[i].ncont;
	}
	r->score = sum / count;
	rc = 0;
out:
	free(s);
	free(ll);
	return rc;
}

int eval_task(struct llama_model *m, const task *t, const struct eval_opts *o, double *each,
              struct eval_result *r)
{
	double t0 = progress_now();
	memset(r, 0, sizeof *r);
	if (t->vocab != m->cfg.vocab)
		return err_set("%s: loaded for a vocabulary of %d, the model has %d", t->path, t->vocab,
		               m->cfg.vocab);
	if (t->n == 0)
		return err_set("%s: no examples", t->path);
	int rc = t->kind == TASK_GEN ? score_gen(m, t, o, each, r)
	       : t->kind == TASK_MC  ? score_mc(m, t, o, each, r)
	       : t->kind == TASK_TEXT ? score_text(m, t, o, each, r)
	       : err_set("%s: unknown kind of task", t->path);
	if (rc < 0)
		return err_prefix("%s: ", t->path);
	r->n = t->n;
	r->seconds = progress_now() - t0;
	return 0;
}

int eval_vocab(st_ckpt *ck)
{
	struct llama_config c;
	const char *cfg = st_config(ck);
	if (!cfg)
		return err_set("%s: no config.json (a directory's, or a stream's \"config\" metadata)", st_arg(ck));
	if (llama_config_parse(&c, cfg) < 0)
		return err_prefix("%s: config: ", st_arg(ck));
	if (c.vocab < 1)
		return err_set("%s: config: vocab_size: missing or not positive", st_arg(ck));
	return c.vocab;
}

int eval_builtin(const char *arg, const char *const *tasks, int ntasks, const struct eval_opts *o,
                 json_object *rec)
{
	double t0 = progress_now(), tokens = 0, load;
	struct llama_model *m = NULL;
	struct progress pg;
	task **tk = NULL;
	size_t nseq = 0;
	int rc = -1, vocab;
	st_ckpt *ck = st_open(arg);
	if (!ck)
		return -1;
	if ((vocab = eval_vocab(ck)) < 0)
		goto out;
	if (!(tk = calloc(ntasks > 0 ? (size_t)ntasks : 1, sizeof *tk))) {
		err_oom();
		goto out;
	}
	for (int i = 0; i < ntasks; i++) {
		if (!(tk[i] = task_load(tasks[i], vocab, o->limit)))
			goto out;
		nseq += eval_task_seqs(tk[i]);
	}
	if (!(m = lmio_load(ck)))
		goto out;
	load = progress_now() - t0;
	if (o->threads > 0)
		llama_set_threads(o->threads);
	struct eval_opts eo = *o;
	eo.pg = &pg;
	progress_start(&pg, "evalrun", nseq, o->quiet);
	for (int i = 0; i < ntasks; i++) {
		struct eval_result r;
		if (eval_task(m, tk[i], &eo, NULL, &r) < 0) {
			progress_end(&pg);
			goto out;
		}
		eval_rec_score(rec, tk[i]->name, r.score, (long)r.n);
		tokens += (double)r.tokens;
	}
	progress_end(&pg);
	eval_rec_cost(rec, progress_now() - t0, tokens);
	rec_set(json_object_object_get(rec, "eval"), "load_seconds", rec_double(load));
	rc = 0;
out:
	for (int i = 0; tk && i < ntasks; i++)
		task_free(tk[i]);
	free(tk);
	llama_free(m);
	st_close(ck);
	return rc;
}

/* ---- records ---- */

/* o[key], made an empty object when missing or not an object. */
static json_object *sub_object(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object)) {
		v = json_object_new_object();
		rec_set(o, key, v);
	}
	return v;
}

void eval_rec_score(json_object *o, const char *name, double score, long n)
{
	rec_set(sub_object(o, "scores"), name, rec_double(score));
	if (n >= 0)
		rec_set(sub_object(o, "n"), name, json_object_new_int64(n));
}

/* e[key] += v (a number already there that is not finite or not a number is replaced). */
static void add_number(json_object *e, const char *key, double v, int integral)
{
	json_object *x = NULL;
	if (json_object_object_get_ex(e, key, &x) &&
	    (json_object_is_type(x, json_type_int) || json_object_is_type(x, json_type_double))) {
		double old = json_object_get_double(x);
		if (isfinite(old))
			v += old;
	}
	rec_set(e, key, integral && fabs(v) < 9e15 ? json_object_new_int64((int64_t)v) : rec_double(v));
}

void eval_rec_cost(json_object *o, double seconds, double tokens)
{
	json_object *e = sub_object(o, "eval");
	add_number(e, "seconds", seconds, 0);
	if (tokens >= 0)
		add_number(e, "tokens", tokens, 1);
}
