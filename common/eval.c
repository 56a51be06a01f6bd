/* eval.c — see eval.h: the built-in evaluator (log-likelihoods, greedy matches, the task
 * metrics) and the record fields. The external harness is in eval_exec.c.
 *
 * Both kinds of pass pack whole sequences (context + continuation) into one llama_logprobs or
 * llama_argmax call: no padding, so sequences of any lengths batch together and the order does
 * not matter. Generation is judged teacher-forced, never decoded: greedy decoding reproduces a
 * target exactly when the argmax after the prompt and after each target token but the last is
 * the next target token, and one pass gives all of those argmaxes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "eval.h"
#include "lmio.h"
#include "rec.h"
#include "tok.h"

static json_object *sub_object(json_object *o, const char *key);

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

/* One packed forward pass: sequence i runs its context and its continuation but the last `drop`
 * tokens (a sequence with fewer continuation tokens does not run). */
struct pass {
	int drop;
	size_t max;               /* tokens a pass takes (eval_pass_tokens), unless one is longer */
	int *tok, *lens, *from;   /* tok grows; lens and from have room for batch sequences */
	size_t cap;
	int n;                    /* sequences in the pass */
	size_t N;                 /* their tokens */
};

size_t eval_pass_tokens(const struct llama_config *c)
{
	size_t t = EVAL_PASS_BYTES / llama_pass_bytes_per_token(c);
	return t < 1 ? 1 : t > EVAL_PASS_TOKENS ? EVAL_PASS_TOKENS : t;
}

static int pass_init(struct pass *p, const struct llama_model *m, int batch, int drop)
{
	memset(p, 0, sizeof *p);
	p->drop = drop;
	p->max = eval_pass_tokens(&m->cfg);
	if (batch < 1)
		return err_set("batch %d: must be at least 1", batch);
	p->lens = malloc((size_t)batch * sizeof *p->lens);
	p->from = malloc((size_t)batch * sizeof *p->from);
	if (!p->lens || !p->from)
		return err_oom();
	return 0;
}

static void pass_free(struct pass *p)
{
	free(p->tok);
	free(p->lens);
	free(p->from);
}

/* Fills p with the sequences from s[i0] on: up to batch that run and p->max tokens (at
 * least one sequence); *i1 is the first sequence left for the next pass. from[k] is the position
 * of the k-th sequence's last context token, the first whose next token is a continuation's. */
static int pass_fill(struct pass *p, const struct eval_seq *s, size_t n, size_t i0, int batch, size_t *i1)
{
	size_t i = i0;
	p->n = 0;
	p->N = 0;
	for (; i < n && p->n < batch; i++) {
		if (s[i].nctx < 1 || s[i].nctx + s[i].ncont > INT32_MAX / 4)
			return err_set("sequence %zu: %zu context and %zu continuation tokens", i, s[i].nctx, s[i].ncont);
		if (s[i].ncont < (size_t)p->drop)
			continue;
		size_t nc = s[i].ncont - p->drop, L = s[i].nctx + nc;
		if (p->n > 0 && p->N + L > p->max)
			break;
		if (grow_int(&p->tok, &p->cap, p->N + L) < 0)
			return -1;
		memcpy(p->tok + p->N, s[i].ctx, s[i].nctx * sizeof *p->tok);
		memcpy(p->tok + p->N + s[i].nctx, s[i].cont, nc * sizeof *p->tok);
		p->lens[p->n] = (int)L;
		p->from[p->n++] = (int)s[i].nctx - 1;
		p->N += L;
	}
	*i1 = i;
	return 0;
}

int eval_loglik(struct llama_model *m, const struct eval_seq *s, size_t n, int batch, double *ll,
                uint64_t *tokens, struct progress *pg)
{
	struct pass p;
	float *logp = NULL;
	size_t lcap = 0;
	int rc = -1;
	if (pass_init(&p, m, batch, 0) < 0)
		goto out;
	for (size_t i0 = 0, i1; i0 < n; i0 = i1) {
		if (pass_fill(&p, s, n, i0, batch, &i1) < 0)
			goto out;
		if (p.N > lcap) {
			float *q = realloc(logp, p.N * sizeof *logp);
			if (!q) {
				err_oom();
				goto out;
			}
			logp = q;
			lcap = p.N;
		}
		if (llama_logprobs(m, p.n, p.lens, p.tok, logp) < 0)
			goto out;
		size_t at = 0;
		for (size_t i = i0; i < i1; i++) {
			double sum = 0;
			for (size_t j = 0; j < s[i].ncont; j++)
				sum += logp[at + s[i].nctx + j];
			ll[i] = sum;
			at += s[i].nctx + s[i].ncont;
		}
		if (tokens)
			*tokens += p.N;
		if (pg)
			progress_add(pg, i1 - i0);
	}
	rc = 0;
out:
	pass_free(&p);
	free(logp);
	return rc;
}

/* log_softmax(z)[t] over V float logits, computed as llama_logprobs does (float max, double sum
 * of float exponentials, rounded to float), so the shared path sums the same values. */
static float logsoftmax_at(const float *z, int V, int t)
{
	float mx = z[0];
	for (int j = 1; j < V; j++)
		if (z[j] > mx)
			mx = z[j];
	double sum = 0, zt = z[t] - mx;
	for (int j = 0; j < V; j++)
		sum += expf(z[j] - mx);
	return (float)(zt - log(sum));
}

static int grow_float(float **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	float *q = realloc(*p, need * sizeof *q);
	if (!q)
		return err_oom();
	*p = q;
	*cap = need;
	return 0;
}

static int same_ctx(const struct eval_seq *a, const struct eval_seq *b)
{
	return a->ctx == b->ctx && a->nctx == b->nctx;
}

/* The shared path's buffers, grown as needed: contexts (tokens, lengths), continuation inputs,
 * targets, slots and lengths, the contexts' last logits and the continuations' log-probs. */
struct shared {
	int *ctok, *clen, *tok, *tgt, *slot, *len;
	float *logits, *logp;
	size_t cap_ctok, cap_clen, cap_tok, cap_tgt, cap_slot, cap_len, cap_logits, cap_logp;
};

int eval_loglik_shared(struct llama_model *m, const struct eval_seq *s, size_t n, int batch, double *ll,
                       uint64_t *tokens, struct progress *pg)
{
	struct shared w = { 0 };
	struct llama_cache *kc = NULL;
	const size_t V = (size_t)m->cfg.vocab, maxtok = eval_pass_tokens(&m->cfg);
	const size_t act = llama_pass_bytes_per_token(&m->cfg);
	const size_t kvb = (size_t)m->cfg.layers * 2 * m->cfg.kv_heads * m->cfg.head_dim * sizeof(float);
	int rc = -1;
	if (batch < 1)
		return err_set("batch %d: must be at least 1", batch);
	for (size_t i0 = 0, i1; i0 < n; i0 = i1) {
		/* A group: runs of sequences sharing a context, as many runs as fit in batch
		 * continuations, eval_pass_tokens tokens and EVAL_PASS_BYTES of activations and KV
		 * cache (a slot of the longest context's length a run), at least one run. */
		size_t nrun = 0, nseq = 0, ntok = 0, nctx = 0, ncont = 0, maxctx = 1;
		for (i1 = i0; i1 < n;) {
			size_t j = i1, c = 0;
			if (s[i1].nctx < 1 || s[i1].nctx > INT32_MAX / 4) {
				err_set("sequence %zu: %zu context tokens", i1, s[i1].nctx);
				goto out;
			}
			for (; j < n && same_ctx(&s[j], &s[i1]); j++) {
				if (s[j].ncont > INT32_MAX / 4) {
					err_set("sequence %zu: %zu continuation tokens", j, s[j].ncont);
					goto out;
				}
				c += s[j].ncont > 1 ? s[j].ncont - 1 : 0;
			}
			size_t mc = s[i1].nctx > maxctx ? s[i1].nctx : maxctx;
			if (nrun > 0 && (nseq + (j - i1) > (size_t)batch || ntok + s[i1].nctx + c > maxtok ||
			                 (ntok + s[i1].nctx + c) * act + (nrun + 1) * mc * kvb > EVAL_PASS_BYTES))
				break;
			nrun++;
			nseq += j - i1;
			ntok += s[i1].nctx + c;
			nctx += s[i1].nctx;
			ncont += c;
			if (s[i1].nctx > maxctx)
				maxctx = s[i1].nctx;
			i1 = j;
		}
		if (grow_int(&w.ctok, &w.cap_ctok, nctx) < 0 || grow_int(&w.clen, &w.cap_clen, nrun) < 0 ||
		    grow_int(&w.tok, &w.cap_tok, ncont) < 0 || grow_int(&w.tgt, &w.cap_tgt, ncont) < 0 ||
		    grow_int(&w.slot, &w.cap_slot, nrun + nseq) < 0 || grow_int(&w.len, &w.cap_len, nseq) < 0 ||
		    grow_float(&w.logits, &w.cap_logits, nrun * V) < 0 || grow_float(&w.logp, &w.cap_logp, ncont) < 0)
			goto out;
		/* Contexts: one slot each, run once; their last logits score each first token. */
		size_t at = 0, r = 0;
		for (size_t i = i0; i < i1; i++) {
			if (i > i0 && same_ctx(&s[i], &s[i - 1]))
				continue;
			memcpy(w.ctok + at, s[i].ctx, s[i].nctx * sizeof *w.ctok);
			at += s[i].nctx;
			w.clen[r] = (int)s[i].nctx;
			w.slot[r] = (int)r;
			r++;
		}
		llama_cache_free(kc);
		if (!(kc = llama_cache_new(m, (int)nrun, (int)maxctx)) ||
		    llama_step(m, kc, (int)nrun, w.slot, w.clen, w.ctok, w.logits) < 0)
			goto out;
		/* Continuations: each but its last token, after its context's slot. */
		size_t nt = 0, nc = 0;
		r = 0;
		for (size_t i = i0; i < i1; i++) {
			if (i > i0 && !same_ctx(&s[i], &s[i - 1]))
				r++;
			ll[i] = s[i].ncont > 0 ? logsoftmax_at(w.logits + r * V, (int)V, s[i].cont[0]) : 0;
			if (s[i].ncont < 2)
				continue;
			for (size_t j = 0; j + 1 < s[i].ncont; j++) {
				w.tok[nt + j] = s[i].cont[j];
				w.tgt[nt + j] = s[i].cont[j + 1];
			}
			w.slot[nrun + nc] = (int)r;
			w.len[nc++] = (int)s[i].ncont - 1;
			nt += s[i].ncont - 1;
		}
		if (nc > 0) {
			if (llama_logprobs_cont(m, kc, (int)nc, w.slot + nrun, w.len, w.tok, w.tgt, w.logp) < 0)
				goto out;
			size_t k = 0;
			for (size_t i = i0; i < i1; i++) {
				if (s[i].ncont < 2)
					continue;
				double sum = ll[i];
				for (size_t j = 0; j + 1 < s[i].ncont; j++)
					sum += w.logp[k++];
				ll[i] = sum;
			}
		}
		if (tokens)
			*tokens += nctx + nt;
		if (pg)
			progress_add(pg, i1 - i0);
	}
	rc = 0;
out:
	llama_cache_free(kc);
	free(w.ctok);
	free(w.clen);
	free(w.tok);
	free(w.tgt);
	free(w.slot);
	free(w.len);
	free(w.logits);
	free(w.logp);
	return rc;
}

int eval_match(struct llama_model *m, const struct eval_seq *s, size_t n, int batch, size_t *agree,
               uint64_t *tokens, struct progress *pg)
{
	return eval_match_next(m, s, n, batch, agree, NULL, NULL, tokens, pg);
}

int eval_match_next(struct llama_model *m, const struct eval_seq *s, size_t n, int batch, size_t *agree,
                    int *next, double *ll, uint64_t *tokens, struct progress *pg)
{
	struct pass p;
	int *best = NULL, *tgt = NULL;
	float *lp = NULL;
	size_t bcap = 0, tcap = 0, lcap = 0;
	int rc = -1;
	if (pass_init(&p, m, batch, 1) < 0)
		goto out;
	for (size_t i0 = 0, i1; i0 < n; i0 = i1) {
		if (pass_fill(&p, s, n, i0, batch, &i1) < 0)
			goto out;
		/* The argmax after the context's last token and after each target token but the last:
		 * the tokens greedy decoding gives, as long as it follows the target. */
		if (p.n > 0) {
			if (grow_int(&best, &bcap, p.N) < 0)
				goto out;
			if (ll) {
				/* The target after each position: the continuation's tokens, from the last
				 * context token on (the last one is not in the pass). */
				if (grow_int(&tgt, &tcap, p.N) < 0 || grow_float(&lp, &lcap, p.N) < 0)
					goto out;
				size_t at = 0;
				for (size_t i = i0; i < i1; i++) {
					if (s[i].ncont == 0)
						continue;
					size_t L = s[i].nctx + s[i].ncont - 1;
					for (size_t j = 0; j < L; j++)
						tgt[at + j] = j + 1 < s[i].nctx ? -1 : s[i].cont[j + 1 - s[i].nctx];
					at += L;
				}
			}
			if (llama_argmax_lp(m, p.n, p.lens, p.tok, p.from, best, ll ? tgt : NULL, ll ? lp : NULL) < 0)
				goto out;
		}
		size_t at = 0;
		for (size_t i = i0; i < i1; i++) {
			agree[i] = 0;
			if (next)
				next[i] = -1;
			if (ll)
				ll[i] = 0;
			if (s[i].ncont == 0)
				continue;
			const int *b = best + at + s[i].nctx - 1;
			while (agree[i] < s[i].ncont && b[agree[i]] == s[i].cont[agree[i]])
				agree[i]++;
			if (next)
				next[i] = agree[i] < s[i].ncont ? b[agree[i]] : -1;
			for (size_t j = 0; ll && j < s[i].ncont; j++)
				ll[i] += lp[at + s[i].nctx - 1 + j];
			at += s[i].nctx + s[i].ncont - 1;
		}
		if (tokens)
			*tokens += p.N;
		if (pg)
			progress_add(pg, i1 - i0);
	}
	rc = 0;
out:
	pass_free(&p);
	free(best);
	free(tgt);
	free(lp);
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

/* The text tokens cont[0..n) decode to after ctx: decode(ctx + cont) past decode(ctx) (so a
 * decoder that strips a leading space sees the context), or decode(cont) when the context's text
 * is not a prefix of it. Special tokens are left out. malloc'ed; NULL on error. */
static char *cont_text(tok *tk, const int32_t *ctx, size_t nctx, const int32_t *cont, size_t n, size_t *len)
{
	int32_t *all = malloc((nctx + n + 1) * sizeof *all);
	char *a = NULL, *b = NULL;
	size_t la, lb;
	if (!all)
		return err_oom(), NULL;
	memcpy(all, ctx, nctx * sizeof *all);
	memcpy(all + nctx, cont, n * sizeof *all);
	if ((a = tok_decode(tk, all, nctx, 0, &la)) && (b = tok_decode(tk, all, nctx + n, 0, &lb))) {
		if (lb >= la && !memcmp(a, b, la)) {
			memmove(b, b + la, lb - la + 1);
			*len = lb - la;
		} else {
			free(b);
			b = tok_decode(tk, cont, n, 0, len);
		}
	}
	free(all);
	free(a);
	return b;
}

/* The greedy token of V logits: the largest, ties to the lowest id, NaN never; -1 if all NaN. */
static int argmax_f(const float *z, int V)
{
	int best = -1;
	for (int j = 0; j < V; j++)
		if (!isnan(z[j]) && (best < 0 || z[j] > z[best]))
			best = j;
	return best;
}

/* Generation judged as text, for a task with a tokenizer: a hit when the text greedy decoding
 * gives after the prompt begins with the target's text ref. Teacher forcing settles the common
 * cases without running anything: greedy gave the target's tokens (agree = ncont) and they spell
 * ref, or its first other token g (next) takes the text off ref. What is left (g spells ref
 * another way, or the target's tokens do not spell it) is decoded for real, with a KV cache, until
 * the text covers ref, leaves it, or ends (a special token, or limit tokens in all). */
static int gen_text_hit(struct llama_model *m, tok *tk, const struct eval_seq *s, const char *ref, size_t rl,
                        size_t agree, int g, size_t limit, int *hit, uint64_t *tokens)
{
	size_t dl, n = agree, cap = limit > agree ? limit : agree;
	char *d = NULL;
	int32_t *cont = malloc((cap + 1) * sizeof *cont);
	float *logits = NULL;
	struct llama_cache *kc = NULL;
	const int V = m->cfg.vocab;
	int rc = -1, slot = 0, len;
	*hit = 0;
	if (!cont)
		return err_oom();
	memcpy(cont, s->cont, agree * sizeof *cont);
	for (;;) {
		free(d);
		if (!(d = cont_text(tk, s->ctx, s->nctx, cont, n, &dl)))
			goto out;
		if (dl >= rl && !memcmp(d, ref, rl)) {
			*hit = 1;
			break;
		}
		/* An incomplete character at the end decodes to U+FFFD: compare what comes before. */
		size_t cmp = dl;
		while (cmp >= 3 && !memcmp(d + cmp - 3, "\xef\xbf\xbd", 3))
			cmp -= 3;
		if (cmp > rl || memcmp(d, ref, cmp) || n >= cap)
			break;
		if (g < 0) {
			/* the next greedy token: the prompt and the continuation so far in one prefill,
			 * then a token a step */
			if (!kc) {
				int32_t *all = malloc((s->nctx + n + 1) * sizeof *all);
				if (!all || !(logits = malloc((size_t)V * sizeof *logits))) {
					free(all);
					err_oom();
					goto out;
				}
				if (!(kc = llama_cache_new(m, 1, (int)(s->nctx + cap + 1)))) {
					free(all);
					goto out;
				}
				memcpy(all, s->ctx, s->nctx * sizeof *all);
				memcpy(all + s->nctx, cont, n * sizeof *all);
				len = (int)(s->nctx + n);
				int st = llama_step(m, kc, 1, &slot, &len, all, logits);
				free(all);
				if (st < 0)
					goto out;
			} else {
				len = 1;
				if (llama_step(m, kc, 1, &slot, &len, &cont[n - 1], logits) < 0)
					goto out;
			}
			*tokens += (uint64_t)len;
			g = argmax_f(logits, V);
		}
		if (g < 0 || tok_is_special(tk, g))
			break;
		cont[n++] = g;
		g = -1;
	}
	rc = 0;
out:
	llama_cache_free(kc);
	free(logits);
	free(cont);
	free(d);
	return rc;
}

static int score_gen(struct llama_model *m, const task *t, const struct eval_opts *o, double *each,
                     struct eval_result *r)
{
	size_t n = t->n;
	struct eval_seq *s = calloc(n ? n : 1, sizeof *s);
	size_t *agree = calloc(n ? n : 1, sizeof *agree);
	int *next = NULL;
	double *ll = NULL;
	int rc = -1;
	if (!s || !agree || (o->loglik && !(ll = calloc(n ? n : 1, sizeof *ll)))) {
		err_oom();
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const task_example *e = &t->ex[i];
		s[i].ctx = t->tok + e->ctx.off;
		s[i].nctx = e->ctx.len;
		s[i].cont = t->tok + e->tgt.off;
		/* A target longer than max_new cannot match: it is not run. */
		s[i].ncont = o->max_new > 0 && e->tgt.len > (size_t)o->max_new ? 0 : e->tgt.len;
	}
	if (t->tk && !(next = calloc(n ? n : 1, sizeof *next))) {
		err_oom();
		goto out;
	}
	if (eval_match_next(m, s, n, o->batch, agree, next, ll, &r->tokens, o->pg) < 0)
		goto out;
	double hits = 0, lsum = 0, lcount = 0, ssum = 0;
	for (size_t i = 0; ll && i < n; i++) {
		lsum += ll[i];
		lcount += (double)s[i].ncont;
		ssum += s[i].ncont > 0 ? fmin(1, 2 * exp(ll[i])) : 0;
	}
	if (ll) {
		r->ll = lcount > 0 ? lsum / lcount : NAN;
		r->soft = ssum / (double)n;
	}
	for (size_t i = 0; i < n; i++) {
		int hit = s[i].ncont > 0 && agree[i] == s[i].ncont;
		/* A task with a tokenizer is judged as text, the target's (the text of its tokens, or the
		 * target string itself when encode(prompt + target) did not begin with the prompt's
		 * tokens, or gave no more than them: tgt.len 0): greedy decoding may spell it with
		 * other tokens. At most max_new tokens (else the target's count + 16) are decoded. */
		const task_example *e = &t->ex[i];
		if (t->tk && (s[i].ncont > 0 || e->tgt.len == 0)) {
			size_t limit = o->max_new > 0 ? (size_t)o->max_new : s[i].ncont + 16, rl;
			char *ref = NULL;
			if (e->tstr_set && !e->clean) {
				rl = e->tstr_len;
				ref = malloc(rl + 1);
				if (ref)
					memcpy(ref, t->str + e->tstr, rl + 1);
				else
					err_oom();
			} else
				ref = cont_text(t->tk, s[i].ctx, s[i].nctx, s[i].cont, s[i].ncont, &rl);
			int ok = ref && gen_text_hit(m, t->tk, &s[i], ref, rl, agree[i], next[i], limit, &hit, &r->tokens) == 0;
			free(ref);
			if (!ok)
				goto out;
		}
		hits += hit;
		if (each)
			each[i] = hit;
	}
	r->score = hits / (double)n;
	rc = 0;
out:
	free(s);
	free(agree);
	free(next);
	free(ll);
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
	if (eval_loglik_shared(m, s, ns, o->batch, ll, &r->tokens, o->pg) < 0)
		goto out;
	double hits = 0, lsum = 0, ssum = 0;
	at = 0;
	for (size_t i = 0; i < t->n; i++) {
		const task_example *e = &t->ex[i];
		int hit = eval_argmax_d(ll + at, (size_t)e->nchoice) == e->answer;
		hits += hit;
		if (o->loglik) {
			/* log P(answer) among the choices: a log-sum-exp from the largest */
			double mx = ll[at];
			for (int c = 1; c < e->nchoice; c++)
				if (ll[at + c] > mx)
					mx = ll[at + c];
			double z = 0;
			for (int c = 0; c < e->nchoice; c++)
				z += exp(ll[at + c] - mx);
			lsum += ll[at + e->answer] - mx - log(z);
			ssum += fmin(1, 2 * exp(ll[at + e->answer] - mx) / z);
		}
		if (each)
			each[i] = hit;
		at += (size_t)e->nchoice;
	}
	r->score = hits / (double)t->n;
	if (o->loglik) {
		r->ll = lsum / (double)t->n;
		r->soft = ssum / (double)t->n;
	}
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
	if (o->loglik)
		r->ll = r->soft = r->score;
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
	tok *tz = NULL;
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
	if (o->tokenizer ? !(tz = tok_load(o->tokenizer)) : tok_present_dir(arg) && !(tz = tok_load(arg)))
		goto out;
	for (int i = 0; i < ntasks; i++) {
		if (!(tk[i] = task_load_tok(tasks[i], vocab, tz, o->limit)))
			goto out;
		nseq += eval_task_seqs(tk[i]);
	}
	if (!(m = lmio_load_resident(ck)))
		goto out;
	load = progress_now() - t0;
	if (o->threads > 0)
		llama_set_threads(o->threads);
	struct eval_opts eo = *o;
	eo.pg = &pg;
	progress_start(&pg, "evalrun", nseq, o->quiet);
	for (int i = 0; i < ntasks; i++) {
		struct eval_result r;
		double *each = malloc((tk[i]->n ? tk[i]->n : 1) * sizeof *each);
		if (!each) {
			err_oom();
			progress_end(&pg);
			goto out;
		}
		if (eval_task(m, tk[i], &eo, each, &r) < 0) {
			free(each);
			progress_end(&pg);
			goto out;
		}
		eval_rec_score(rec, tk[i]->name, r.score, (long)r.n);
		eval_rec_examples(rec, tk[i]->name, each, r.n, o->per_example);
		if (o->loglik) {
			rec_set(sub_object(rec, "ll"), tk[i]->name,
			        isfinite(r.ll) ? rec_double(r.ll) : NULL);
			rec_set(sub_object(rec, "soft"), tk[i]->name,
			        isfinite(r.soft) ? rec_double(r.soft) : NULL);
		}
		free(each);
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
	tok_free(tz);
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
void eval_rec_examples(json_object *o, const char *name, const double *each, size_t n, int all)
{
	double mean = 0, m2 = 0;
	for (size_t i = 0; i < n; i++) {   /* Welford: one pass, no cancellation */
		double d = each[i] - mean;
		mean += d / (double)(i + 1);
		m2 += d * (each[i] - mean);
	}
	if (n > 1)
		rec_set(sub_object(o, "se"), name, rec_double(sqrt(m2 / (double)(n - 1) / (double)n)));
	if (all) {
		json_object *a = json_object_new_array_ext((int)n);
		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, rec_double(each[i]));
		rec_set(sub_object(o, "examples"), name, a);
	}
}

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
