/* Unit tests of common/task: every kind of example in byte and *_ids form, BOS, names, every bad
 * input with its message, limits, training sequences and the sampler's determinism and weights. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "rng.h"
#include "task.h"
#include "t.h"

static char dir[64];

/* Write text to dir/name and return the path (static buffer, one at a time). */
static const char *put(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static int toks_eq(const task *t, task_span s, const char *bytes)
{
	if (s.len != strlen(bytes))
		return 0;
	for (size_t i = 0; i < s.len; i++)
		if (t->tok[s.off + i] != (unsigned char)bytes[i])
			return 0;
	return 1;
}

static int ids_eq(const task *t, task_span s, const int *ids, size_t n)
{
	if (s.len != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (t->tok[s.off + i] != ids[i])
			return 0;
	return 1;
}

static void test_generation(void)
{
	const char *p = put("add.dev.jsonl",
	                    "{\"prompt\":\"12+345=\",\"target\":\"357\\n\",\"id\":\"x\"}\n"
	                    "\n"
	                    "{\"target\":\"\\u00e9\\n\",\"prompt\":\"9+9=\"}\n");
	task *t = task_load(p, 256, 0);
	CHECK(t, "load: %s", err_get());
	if (!t)
		return;
	CHECK(strcmp(t->name, "add") == 0, "name %s", t->name);
	CHECK(strcmp(t->path, p) == 0, "path %s", t->path);
	CHECK(t->kind == TASK_GEN && t->n == 2, "kind %d n %zu", t->kind, t->n);
	CHECK(toks_eq(t, t->ex[0].ctx, "12+345=") && toks_eq(t, t->ex[0].tgt, "357\n"), "example 0 tokens");
	/* A non-ASCII character is its UTF-8 bytes. */
	CHECK(toks_eq(t, t->ex[1].ctx, "9+9=") && toks_eq(t, t->ex[1].tgt, "\xc3\xa9\n"), "example 1 tokens");
	CHECK(t->ex[0].line == 1 && t->ex[1].line == 3, "lines %ld %ld", t->ex[0].line, t->ex[1].line);
	CHECK(t->ex[0].bos == -1, "no BOS unless asked");
	CHECK(t->max_seq == 11 && task_seq_len(t, 1) == 7, "max_seq %zu", t->max_seq);
	task_free(t);

	p = put("big.jsonl", "{\"prompt_ids\":[1,999,0],\"target_ids\":[5]}\n");
	t = task_load(p, 1000, 0);
	CHECK(t && t->kind == TASK_GEN, "ids load: %s", err_get());
	if (t) {
		int c[] = { 1, 999, 0 }, g[] = { 5 };
		CHECK(ids_eq(t, t->ex[0].ctx, c, 3) && ids_eq(t, t->ex[0].tgt, g, 1), "ids tokens");
		task_free(t);
	}
	/* A string prompt with an ids target is fine for a byte vocabulary. */
	p = put("mixed.jsonl", "{\"prompt\":\"ab\",\"target_ids\":[255]}\n");
	t = task_load(p, 256, 0);
	CHECK(t && t->ex[0].tgt.len == 1 && t->tok[t->ex[0].tgt.off] == 255, "mixed forms: %s", err_get());
	task_free(t);
}

static void test_choice_and_text(void)
{
	const char *p = put("cmp.test.jsonl",
	                    "{\"prompt\":\"cmp:3,5=\",\"choices\":[\"<\\n\",\"=\\n\",\">\\n\"],\"answer\":0}\n"
	                    "{\"prompt\":\"cmp:7,5=\",\"choices\":[\"<\",\"greater\"],\"answer\":1}\n");
	task *t = task_load(p, 256, 0);
	CHECK(t, "mc load: %s", err_get());
	if (t) {
		CHECK(t->kind == TASK_MC && t->n == 2 && strcmp(t->name, "cmp") == 0, "mc kind");
		CHECK(t->ex[0].nchoice == 3 && t->ex[0].answer == 0 && t->ex[1].nchoice == 2 && t->ex[1].answer == 1,
		      "choices/answers");
		CHECK(toks_eq(t, t->choice[t->ex[0].choice + 2], ">\n"), "choice 2 of example 0");
		CHECK(toks_eq(t, t->choice[t->ex[1].choice + 1], "greater"), "choice 1 of example 1");
		CHECK(t->max_seq == strlen("cmp:7,5=greater"), "max_seq %zu", t->max_seq);
		task_free(t);
	}
	p = put("mc2.jsonl", "{\"prompt_ids\":[7],\"choices_ids\":[[1,2],[3]],\"answer\":1}\n");
	t = task_load(p, 10, 0);
	CHECK(t && t->kind == TASK_MC, "mc ids: %s", err_get());
	if (t) {
		int a[] = { 1, 2 }, b[] = { 3 };
		CHECK(ids_eq(t, t->choice[0], a, 2) && ids_eq(t, t->choice[1], b, 1), "choice ids");
		task_free(t);
	}
	p = put("seq.jsonl", "{\"text\":\"seq:1,2,3\\n\"}\n{\"text_ids\":[49,50]}\n");
	t = task_load(p, 256, 0);
	CHECK(t && t->kind == TASK_TEXT && t->n == 2, "text: %s", err_get());
	if (t) {
		CHECK(toks_eq(t, t->ex[0].ctx, "seq:1,2,3\n") && toks_eq(t, t->ex[1].ctx, "12"), "text tokens");
		task_free(t);
	}
}

static void test_bos(void)
{
	const char *p = put("b.jsonl",
	                    "{\"bos\":1}\n"
	                    "{\"prompt_ids\":[5],\"target_ids\":[6]}\n"
	                    "{\"prompt_ids\":[5],\"target_ids\":[6],\"bos\":2}\n"
	                    "{\"prompt_ids\":[5],\"target_ids\":[6],\"bos\":null}\n"
	                    "{\"prompt_ids\":[],\"target_ids\":[6]}\n");
	task *t = task_load(p, 10, 0);
	CHECK(t && t->n == 4, "bos file: %s", err_get());
	if (!t)
		return;
	int a[] = { 1, 5 }, b[] = { 2, 5 }, c[] = { 5 }, d[] = { 1 };
	CHECK(t->ex[0].bos == 1 && ids_eq(t, t->ex[0].ctx, a, 2), "file bos");
	CHECK(t->ex[1].bos == 2 && ids_eq(t, t->ex[1].ctx, b, 2), "example bos");
	CHECK(t->ex[2].bos == -1 && ids_eq(t, t->ex[2].ctx, c, 1), "bos null");
	/* An empty prompt is allowed when a BOS gives the context. */
	CHECK(ids_eq(t, t->ex[3].ctx, d, 1), "bos-only context");
	task_free(t);

	/* A text of one token is enough after a BOS: the BOS is the context. */
	p = put("t.jsonl", "{\"text_ids\":[4],\"bos\":0}\n");
	t = task_load(p, 10, 0);
	CHECK(t && t->ex[0].ctx.len == 2, "text with bos: %s", err_get());
	task_free(t);
}

static void test_names(void)
{
	char b[16];
	CHECK(task_name("a/b/add.dev.jsonl", b, sizeof b) == 0 && strcmp(b, "add") == 0, "add: %s", b);
	CHECK(task_name("rev", b, sizeof b) == 0 && strcmp(b, "rev") == 0, "no dot: %s", b);
	CHECK(task_name("x.y/sort.jsonl", b, sizeof b) == 0 && strcmp(b, "sort") == 0, "dot in dir: %s", b);
	CHECK(task_name("-", b, sizeof b) == 0 && strcmp(b, "stdin") == 0, "stdin: %s", b);
	CHECK(task_name("d/.hidden.jsonl", b, sizeof b) == -1 && strstr(err_get(), "empty task name"), "%s", err_get());
	CHECK(task_name("averyveryverylongname.jsonl", b, sizeof b) == -1 && strstr(err_get(), "too long"), "%s",
	      err_get());
	CHECK(strcmp(task_kind_name(TASK_MC), "multiple-choice") == 0, "kind name");
}

static void test_bad(void)
{
	static const struct { const char *text; int vocab; const char *why; } c[] = {
		{ "{\"foo\":1}\n", 256, ":1: unknown kind of example" },
		{ "{\"prompt\":\"a\"}\n", 256, ":1: unknown kind" },
		{ "{\"target\":\"a\"}\n", 256, ":1: missing \"prompt\"" },
		{ "{\"prompt\":\"a\",\"target\":\"b\",\"text\":\"c\"}\n", 256, ":1: ambiguous example" },
		{ "{\"prompt\":\"a\",\"text\":\"bc\"}\n", 256, ":1: a text example has no \"prompt\"" },
		{ "{\"prompt\":\"a\",\"target\":\"b\",\"answer\":0}\n", 256, "\"answer\" without \"choices\"" },
		{ "{\"prompt\":\"a\",\"prompt_ids\":[1],\"target\":\"b\"}\n", 256, "both \"prompt\" and \"prompt_ids\"" },
		{ "{\"prompt\":\"\",\"target\":\"b\"}\n", 256, ":1: empty prompt" },
		{ "{\"prompt\":\"a\",\"target\":\"\"}\n", 256, ":1: empty target" },
		{ "{\"prompt\":1,\"target\":\"b\"}\n", 256, "\"prompt\" is not a string" },
		{ "{\"prompt\":\"a\",\"target\":[1]}\n", 256, "\"target\" is not a string" },
		{ "{\"prompt\":\"a\",\"target\":\"b\"}\n", 1000, "vocabulary has 1000 entries, not 256: use \"prompt_ids\"" },
		{ "{\"prompt_ids\":[1],\"target\":\"b\"}\n", 1000, "use \"target_ids\"" },
		{ "{\"prompt_ids\":\"ab\",\"target_ids\":[1]}\n", 256, "\"prompt_ids\" is not an array of token ids" },
		{ "{\"prompt_ids\":[1,2.5],\"target_ids\":[1]}\n", 256, "\"prompt_ids\"[1] is not an integer" },
		{ "{\"prompt_ids\":[1],\"target_ids\":[256]}\n", 256, "\"target_ids\"[0] = 256 is outside the vocabulary [0, 256)" },
		{ "{\"prompt_ids\":[-1],\"target_ids\":[1]}\n", 256, "\"prompt_ids\"[0] = -1 is outside" },
		{ "{\"prompt_ids\":[99999999999999999999],\"target_ids\":[1]}\n", 256, "outside the vocabulary" },
		{ "{\"prompt\":\"a\",\"choices\":\"x\",\"answer\":0}\n", 256, "\"choices\" is not an array" },
		{ "{\"prompt\":\"a\",\"choices\":[\"x\"],\"answer\":0}\n", 256, "\"choices\" has 1 choice, fewer than 2" },
		{ "{\"prompt\":\"a\",\"choices\":[\"x\",2],\"answer\":0}\n", 256, "\"choices\"[1] is not a string" },
		{ "{\"prompt\":\"a\",\"choices\":[\"x\",\"\"],\"answer\":0}\n", 256, "\"choices\"[1] is empty" },
		{ "{\"prompt\":\"a\",\"choices\":[\"x\",\"y\"]}\n", 256, ":1: missing \"answer\"" },
		{ "{\"prompt\":\"a\",\"choices\":[\"x\",\"y\"],\"answer\":2}\n", 256, "\"answer\" = 2 is out of range [0, 2)" },
		{ "{\"prompt\":\"a\",\"choices\":[\"x\",\"y\"],\"answer\":-1}\n", 256, "\"answer\" = -1 is out of range" },
		{ "{\"prompt\":\"a\",\"choices\":[\"x\",\"y\"],\"answer\":\"0\"}\n", 256, "\"answer\" is not an integer" },
		{ "{\"prompt\":\"a\",\"choices\":[\"x\",\"y\"],\"answer\":1.0}\n", 256, "\"answer\" is not an integer" },
		{ "{\"prompt_ids\":[1],\"choices_ids\":[[1],[2,300]],\"answer\":0}\n", 256, "\"choices_ids\"[1][1] = 300 is outside" },
		{ "{\"prompt_ids\":[1],\"choices_ids\":[[1],5],\"answer\":0}\n", 256, "\"choices_ids\"[1] is not an array" },
		{ "{\"text\":\"a\"}\n", 256, ":1: the text needs at least 2 tokens" },
		{ "{\"text_ids\":[]}\n", 256, "at least 2 tokens" },
		{ "{\"text\":7}\n", 256, "\"text\" is not a string" },
		{ "{\"prompt\":\"a\",\"target\":\"b\"}\n{\"text\":\"abc\"}\n", 256,
		  ":2: a text example in a generation task: one kind of example per file" },
		{ "{\"prompt\":\"a\",\"target\":\"b\",\"bos\":256}\n", 256, "\"bos\" = 256 is outside the vocabulary" },
		{ "{\"prompt\":\"a\",\"target\":\"b\",\"bos\":\"<s>\"}\n", 256, "\"bos\" is not a token id" },
		{ "{\"prompt\":\"a\",\"target\":\"b\"}\n{\"bos\":1}\n", 256, ":2: a line holding only \"bos\"" },
		{ "{\"bos\":1.5}\n", 256, ":1: \"bos\" is not a token id" },
		{ "{\"bos\":1}\n", 256, "no examples" },
		{ "", 256, "no examples" },
		{ "{\"prompt\":\"a\",\"target\":\"b\"}\n[1]\n", 256, ":2: not a JSON object" },
		{ "{\"prompt\":\"a\",\"target\":\"b\"}\n{\"prompt\":\"a\",\n", 256, ":2: truncated JSON" },
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		const char *p = put("bad.dev.jsonl", c[i].text);
		task *t = task_load(p, c[i].vocab, 0);
		CHECK(!t, "case %zu loaded", i);
		CHECK(strstr(err_get(), c[i].why) && strstr(err_get(), p), "case %zu: want \"%s\", got \"%s\"", i,
		      c[i].why, err_get());
		task_free(t);
	}
	CHECK(!task_load(put("ok.jsonl", "{\"text\":\"ab\"}\n"), 0, 0) && strstr(err_get(), "vocabulary size 0"),
	      "%s", err_get());
	CHECK(!task_load(put("ok.jsonl", "{\"text\":\"ab\"}\n"), 256, -1) && strstr(err_get(), "limit -1"), "%s",
	      err_get());
	char missing[128];
	snprintf(missing, sizeof missing, "%s/none.jsonl", dir);
	CHECK(!task_load(missing, 256, 0) && strstr(err_get(), "No such file"), "%s", err_get());
	CHECK(!task_load(put(".x.jsonl", "{\"text\":\"ab\"}\n"), 256, 0) && strstr(err_get(), "empty task name"),
	      "%s", err_get());

	/* The example length limit. */
	size_t n = TASK_MAX_TOKENS + 1;
	char *big = malloc(n + 64);
	strcpy(big, "{\"text\":\"");
	memset(big + 9, 'a', n);
	strcpy(big + 9 + n, "\"}\n");
	task *t = task_load(put("long.jsonl", big), 256, 0);
	CHECK(!t && strstr(err_get(), ":1: \"text\" is longer than"), "%s", err_get());
	/* A prompt and a target each within the limit, together over it. */
	size_t h = TASK_MAX_TOKENS / 2 + 1;
	strcpy(big, "{\"prompt\":\"");
	memset(big + 11, 'a', h);
	strcpy(big + 11 + h, "\",\"target\":\"");
	size_t o = strlen(big);
	memset(big + o, 'b', h);
	strcpy(big + o + h, "\"}\n");
	t = task_load(put("long.jsonl", big), 256, 0);
	CHECK(!t && strstr(err_get(), ":1: example longer than"), "%s", err_get());
	free(big);
}

static void test_limit(void)
{
	/* limit stops reading: the bad third line is never seen. */
	const char *p = put("l.jsonl", "{\"text\":\"ab\"}\n{\"text\":\"abcd\"}\n{\"bad\":1}\n");
	task *t = task_load(p, 256, 2);
	CHECK(t && t->n == 2 && t->max_seq == 4, "limit 2: %s", err_get());
	task_free(t);
	t = task_load(p, 256, 0);
	CHECK(!t && strstr(err_get(), ":3: unknown kind"), "no limit: %s", err_get());
	t = task_load(p, 256, 1);
	CHECK(t && t->n == 1 && t->max_seq == 2, "limit 1");
	if (t) {
		task_limit(t, 5);
		CHECK(t->n == 1, "task_limit above n changes nothing");
		task_limit(t, 0);
		CHECK(t->n == 0 && t->max_seq == 0, "task_limit 0");
		task_free(t);
	}
}

static void test_seq(void)
{
	const char *p = put("g.jsonl", "{\"prompt\":\"ab=\",\"target\":\"cd\\n\",\"bos\":2}\n");
	task *t = task_load(p, 256, 0);
	int32_t tok[16];
	uint8_t m[16];
	CHECK(t, "%s", err_get());
	if (t) {
		size_t n = task_seq(t, 0, tok, m);
		int32_t want[] = { 2, 'a', 'b', '=', 'c', 'd', '\n' };
		uint8_t wm[] = { 0, 0, 0, 0, 1, 1, 1 };
		CHECK(n == 7 && !memcmp(tok, want, sizeof want) && !memcmp(m, wm, sizeof wm), "generation sequence");
		int tg[7], wt[] = { -1, -1, -1, 'c', 'd', '\n', -1 };
		task_targets(tok, m, 7, tg);
		CHECK(!memcmp(tg, wt, sizeof wt), "targets: the token after each position, where the mask is set");
		task_free(t);
	}
	p = put("m.jsonl", "{\"prompt\":\"q\",\"choices\":[\"xx\",\"y\"],\"answer\":1}\n");
	t = task_load(p, 256, 0);
	if (t) {
		size_t n = task_seq(t, 0, tok, m);
		CHECK(n == 2 && tok[0] == 'q' && tok[1] == 'y' && m[0] == 0 && m[1] == 1, "mc sequence is the right choice");
		CHECK(task_seq(t, 0, NULL, NULL) == 2, "length only");
		task_free(t);
	}
	p = put("x.jsonl", "{\"text\":\"abc\"}\n{\"text\":\"ab\",\"bos\":9}\n");
	t = task_load(p, 256, 0);
	if (t) {
		size_t n = task_seq(t, 0, tok, m);
		CHECK(n == 3 && m[0] == 0 && m[1] == 1 && m[2] == 1, "text: every token but the first");
		n = task_seq(t, 1, tok, m);
		CHECK(n == 3 && tok[0] == 9 && m[0] == 0 && m[1] == 1 && m[2] == 1, "text after bos: every text token");
		task_free(t);
	}
}

static void test_rng(void)
{
	rng a, b;
	rng_seed(&a, 42);
	rng_seed(&b, 42);
	int same = 1, below_ok = 1;
	for (int i = 0; i < 1000; i++)
		same &= rng_next(&a) == rng_next(&b);
	CHECK(same, "same seed, same stream");
	rng_seed(&b, 43);
	CHECK(rng_next(&a) != rng_next(&b), "another seed, another stream");
	long hist[3] = { 0 };
	for (int i = 0; i < 30000; i++) {
		uint64_t x = rng_below(&a, 3);
		below_ok &= x < 3;
		hist[x < 3 ? x : 0]++;
		double u = rng_uniform(&a);
		below_ok &= u >= 0 && u < 1;
	}
	CHECK(below_ok, "ranges");
	for (int i = 0; i < 3; i++)
		CHECK(labs(hist[i] - 10000) < 400, "bucket %d: %ld", i, hist[i]);
	CHECK(task_hash("ab", 2, 0) != task_hash("ba", 2, 0), "hash order");
	CHECK(task_hash("b", 1, task_hash("a", 1, 0)) == task_hash("ab", 2, 0), "hash chains");
}

/* Three tasks of distinct lengths, so a row tells which task each example came from. */
static task *mk(const char *name, const char *fmt, int n)
{
	char *buf = malloc((size_t)n * 64 + 1), *q = buf;
	for (int i = 0; i < n; i++)
		q += sprintf(q, fmt, i, i);
	*q = 0;
	task *t = task_load(put(name, buf), 256, 0);
	free(buf);
	return t;
}

static void test_sampler(void)
{
	task *ts[3] = {
		mk("a.jsonl", "{\"prompt\":\"a%03d=\",\"target\":\"%03d\\n\"}\n", 50),
		mk("b.jsonl", "{\"prompt\":\"bb%03d=\",\"choices\":[\"x\\n\",\"%03d\\n\"],\"answer\":1}\n", 40),
		mk("c.jsonl", "{\"text\":\"c%03d,%03d\\n\"}\n", 30),
	};
	CHECK(ts[0] && ts[1] && ts[2], "fixtures: %s", err_get());
	if (!ts[0] || !ts[1] || !ts[2])
		goto out;
	double w[3] = { 3, 1, 0 };
	enum { T = 40, R = 4000 };
	int32_t tok[T], tok2[T];
	uint8_t m[T], m2[T];
	int src[T], src2[T];

	/* Determinism: the same seed gives the same rows; another seed other rows. */
	task_sampler *s1 = task_sampler_new(ts, w, 3, 7, TASK_PACK), *s2 = task_sampler_new(ts, w, 3, 7, TASK_PACK);
	task_sampler *s3 = task_sampler_new(ts, w, 3, 8, TASK_PACK);
	CHECK(s1 && s2 && s3, "%s", err_get());
	int same = 1, differ = 0;
	for (int r = 0; r < 50; r++) {
		int n1 = task_sampler_next(s1, tok, m, src, T), n2 = task_sampler_next(s2, tok2, m2, src2, T);
		same &= n1 == n2 && !memcmp(tok, tok2, sizeof tok) && !memcmp(m, m2, sizeof m) && !memcmp(src, src2, sizeof src);
		task_sampler_next(s3, tok2, m2, src2, T);
		differ |= memcmp(tok, tok2, sizeof tok) != 0;
	}
	CHECK(same, "same seed, same rows");
	CHECK(differ, "another seed, other rows");
	task_sampler_free(s1);
	task_sampler_free(s2);
	task_sampler_free(s3);

	/* Weights: 3:1:0, one example a row; each row matches the task's training sequence. */
	task_sampler *s = task_sampler_new(ts, w, 3, 1, 0);
	long per[3] = { 0 };
	int rows_ok = 1;
	for (int r = 0; r < R; r++) {
		int n = task_sampler_next(s, tok, m, src, T);
		int k = src[0];
		if (k < 0 || k > 2) {
			rows_ok = 0;
			continue;
		}
		per[k]++;
		/* Find the example by content and compare the whole row. */
		int32_t want[T];
		uint8_t wm[T];
		int found = 0;
		for (size_t i = 0; i < ts[k]->n && !found; i++)
			if ((int)task_seq(ts[k], i, want, wm) == n && !memcmp(want, tok, n * sizeof *tok) &&
			    !memcmp(wm, m, (size_t)n))
				found = 1;
		rows_ok &= found;
		for (int j = 0; j < T; j++)
			rows_ok &= j < n ? src[j] == k : (tok[j] == 0 && m[j] == 0 && src[j] == -1);
	}
	CHECK(rows_ok, "rows are whole training sequences, then padding");
	CHECK(per[2] == 0 && task_sampler_count(s, 2) == 0, "weight 0 is never drawn");
	CHECK(task_sampler_count(s, 0) == per[0] && task_sampler_count(s, 1) == per[1], "counts");
	double frac = (double)per[0] / R;
	CHECK(fabs(frac - 0.75) < 0.03, "task 0 drawn %.3f of the time, want 0.75", frac);
	CHECK(task_sampler_truncated(s) == 0, "nothing truncated");
	task_sampler_free(s);

	/* Each pass over a task visits every example once. */
	double w1[3] = { 0, 0, 1 };
	s = task_sampler_new(ts, w1, 3, 5, 0);
	int seen[30] = { 0 }, once = 1;
	for (int pass = 0; pass < 3; pass++) {
		memset(seen, 0, sizeof seen);
		for (int r = 0; r < 30; r++) {
			task_sampler_next(s, tok, m, NULL, T);
			int i = (tok[1] - '0') * 100 + (tok[2] - '0') * 10 + (tok[3] - '0');
			if (i >= 0 && i < 30)
				seen[i]++;
		}
		for (int i = 0; i < 30; i++)
			once &= seen[i] == 1;
	}
	CHECK(once, "every example once a pass");
	task_sampler_free(s);

	/* Packing: whole examples back to back; an example that does not fit waits for the next row. */
	s = task_sampler_new(ts, NULL, 3, 9, TASK_PACK);
	long placed = 0;
	int packed_ok = 1, multi = 0;
	for (int r = 0; r < 200; r++) {
		int n = task_sampler_next(s, tok, m, src, T), j = 0, ex = 0;
		while (j < n) {
			int k = src[j], len = 0;
			/* An example starts with its task's letter; its length is fixed per task. */
			int L = k == 0 ? 9 : k == 1 ? 10 : 9;
			packed_ok &= tok[j] == "abc"[k];
			while (len < L && j + len < n && src[j + len] == k)
				len++;
			packed_ok &= len == L;
			j += L;
			ex++;
		}
		packed_ok &= n > T - 10 && n <= T;
		multi |= ex > 1;
		placed += ex;
	}
	CHECK(packed_ok, "packed rows hold whole examples and are nearly full");
	CHECK(multi, "rows hold several examples");
	long drawn = task_sampler_count(s, 0) + task_sampler_count(s, 1) + task_sampler_count(s, 2);
	CHECK(drawn == placed || drawn == placed + 1, "drawn %ld, placed %ld: none dropped", drawn, placed);
	task_sampler_free(s);

	/* Truncation: GEN keeps the end (the target), TEXT the start. */
	s = task_sampler_new(ts, (double[]){ 1, 0, 0 }, 3, 1, 0);
	int n = task_sampler_next(s, tok, m, NULL, 4);
	CHECK(n == 4 && tok[3] == '\n' && m[0] == 1 && m[3] == 1, "generation cut from the left");
	CHECK(task_sampler_truncated(s) == 1, "truncated counted");
	task_sampler_free(s);
	s = task_sampler_new(ts, (double[]){ 0, 0, 1 }, 3, 1, 0);
	n = task_sampler_next(s, tok, m, NULL, 3);
	CHECK(n == 3 && tok[0] == 'c' && m[0] == 0 && m[1] == 1, "text cut from the right");
	CHECK(task_sampler_next(s, tok, m, NULL, 0) == -1 && strstr(err_get(), "sequence length 0"), "%s", err_get());
	task_sampler_free(s);

	/* Bad weights. */
	CHECK(!task_sampler_new(ts, (double[]){ 1, -1, 0 }, 3, 1, 0) && strstr(err_get(), "b.jsonl: weight -1"),
	      "%s", err_get());
	CHECK(!task_sampler_new(ts, (double[]){ 1, NAN, 0 }, 3, 1, 0) && strstr(err_get(), "must be finite"), "%s",
	      err_get());
	CHECK(!task_sampler_new(ts, (double[]){ 0, 0, 0 }, 3, 1, 0) && strstr(err_get(), "sum to 0"), "%s",
	      err_get());
	CHECK(!task_sampler_new(ts, w, 0, 1, 0) && strstr(err_get(), "no tasks"), "%s", err_get());
	task_limit(ts[2], 0);
	CHECK(!task_sampler_new(ts, NULL, 3, 1, 0) && strstr(err_get(), "c.jsonl: no examples"), "%s", err_get());
out:
	for (int k = 0; k < 3; k++)
		task_free(ts[k]);
}

/* 10 000 examples load into one block with the right content. */
static void test_many(void)
{
	size_t n = 10000;
	char *buf = malloc(n * 48 + 1), *q = buf;
	for (size_t i = 0; i < n; i++)
		q += sprintf(q, "{\"prompt\":\"%zu+%zu=\",\"target\":\"%zu\\n\"}\n", i, 2 * i, 3 * i);
	task *t = task_load(put("many.train.jsonl", buf), 256, 0);
	free(buf);
	CHECK(t && t->n == n, "%s", err_get());
	if (!t)
		return;
	int ok = 1;
	char p[32], g[32];
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof p, "%zu+%zu=", i, 2 * i);
		snprintf(g, sizeof g, "%zu\n", 3 * i);
		ok &= toks_eq(t, t->ex[i].ctx, p) && toks_eq(t, t->ex[i].tgt, g) && t->ex[i].line == (long)i + 1;
	}
	CHECK(ok, "every example's tokens");
	task_free(t);
}

int main(void)
{
	strcpy(dir, "/tmp/test_task.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	T_RUN(test_generation);
	T_RUN(test_choice_and_text);
	T_RUN(test_bos);
	T_RUN(test_names);
	T_RUN(test_bad);
	T_RUN(test_limit);
	T_RUN(test_seq);
	T_RUN(test_rng);
	T_RUN(test_sampler);
	T_RUN(test_many);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return t_done();
}
