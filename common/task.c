/* task.c — see task.h.
 *
 * Loading grows three arrays (examples, choice spans, tokens) while it reads, then packs them with
 * the struct and the names into one block: a 10 000-example file costs a few reallocations while
 * loading and one free afterwards, and the evaluator walks flat int32 arrays. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "rec.h"
#include "rng.h"
#include "task.h"
#include "tok.h"

uint64_t task_hash(const void *p, size_t n, uint64_t h)
{
	const unsigned char *c = p;
	if (!h)
		h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

/* ---- names ------------------------------------------------------------------------------- */

int task_name(const char *path, char *buf, size_t size)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strcmp(path, "-") == 0)
		base = "stdin";
	size_t n = strcspn(base, ".");
	if (n == 0)
		return err_set("%s: empty task name (a task is named by its file name up to the first dot)", path);
	if (n >= size)
		return err_set("%s: task name too long", path);
	memcpy(buf, base, n);
	buf[n] = 0;
	return 0;
}

const char *task_kind_name(int kind)
{
	switch (kind) {
	case TASK_GEN: return "generation";
	case TASK_MC: return "multiple-choice";
	case TASK_TEXT: return "text";
	}
	return "unknown";
}

/* ---- loading ----------------------------------------------------------------------------- */

struct loader {
	const char *file;     /* for messages */
	long line;
	int vocab;
	task_example *ex;
	size_t nex, capex;
	task_span *ch;
	size_t nch, capch;
	int32_t *tok;
	size_t ntok, captok;
	tok *tk;              /* strings are tokenized with it, or NULL: bytes */
	char *str;            /* GEN target texts */
	size_t nstr, capstr;
	tok_ids ids;          /* scratch */
	const char *pstr;     /* this example's prompt string (pair split), its length, the length */
	size_t plen, pkeep;   /* without trailing whitespace, and its ids (npctx) */
	size_t npctx, pctx_off;   /* ... at tok[pctx_off..] */
	int ispair, clean;
	char *pair;           /* scratch: prompt + continuation */
	size_t cappair;
};

static int grow(void **p, size_t *cap, size_t need, size_t elt)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 256;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * elt);
	if (!q)
		return err_oom();
	*p = q;
	*cap = c;
	return 0;
}

static int bad(struct loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct loader *L, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return err_set("%s:%ld: %s", L->file, L->line, why);
}

/* Append the tokenizer's ids of s[0..len) (no special tokens). */
static int add_text(struct loader *L, const char *what, const char *s, size_t len, size_t *n)
{
	L->ids.n = 0;
	if (tok_encode(L->tk, s, len, 0, &L->ids) < 0)
		return bad(L, "%s: %s", what, err_get());
	if (L->ids.n > TASK_MAX_TOKENS)
		return bad(L, "%s is longer than %d tokens", what, TASK_MAX_TOKENS);
	if (grow((void **)&L->tok, &L->captok, L->ntok + L->ids.n, sizeof *L->tok) < 0)
		return -1;
	memcpy(L->tok + L->ntok, L->ids.v, L->ids.n * sizeof *L->tok);
	L->ntok += L->ids.n;
	*n = L->ids.n;
	return 0;
}

/* Python's str.isspace, which lm-evaluation-harness's rstrip uses. */
static int py_space(int32_t c)
{
	return (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
	       c == 0x3000;
}

/* Length of s[0..len) without its trailing whitespace (s is valid UTF-8). */
static size_t rstrip_len(const char *s, size_t len)
{
	while (len > 0) {
		size_t i = len - 1;
		while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
			i--;
		const unsigned char *p = (const unsigned char *)s + i;
		int32_t c = p[0] < 0x80 ? p[0] : p[0] < 0xe0 ? (p[0] & 0x1f) << 6 | (p[1] & 0x3f) :
		            p[0] < 0xf0 ? (p[0] & 0x0f) << 12 | (p[1] & 0x3f) << 6 | (p[2] & 0x3f) : 0x10000;
		if (!py_space(c))
			break;
		len = i;
	}
	return len;
}

/* A continuation string after a string prompt, split as lm-evaluation-harness's _encode_pair:
 * the ids of encode(prompt' + ws + cont) past the nctx ids of encode(prompt'), where prompt' is
 * the prompt without its trailing whitespace ws. */
static int add_pair(struct loader *L, const char *what, const char *prompt, size_t plen, size_t nctx,
                    json_object *v, size_t *n)
{
	if (!json_object_is_type(v, json_type_string))
		return bad(L, "%s is not a string", what);
	const char *c = json_object_get_string(v);
	size_t clen = (size_t)json_object_get_string_len(v), need = plen + clen + 1;
	if (need > L->cappair) {
		char *q = realloc(L->pair, need);
		if (!q)
			return err_oom();
		L->pair = q;
		L->cappair = need;
	}
	memcpy(L->pair, prompt, plen);
	memcpy(L->pair + plen, c, clen);
	L->ids.n = 0;
	if (tok_encode(L->tk, L->pair, plen + clen, 0, &L->ids) < 0)
		return bad(L, "%s: %s", what, err_get());
	size_t k = L->ids.n > nctx ? L->ids.n - nctx : 0;
	if (k > TASK_MAX_TOKENS)
		return bad(L, "%s is longer than %d tokens", what, TASK_MAX_TOKENS);
	if (grow((void **)&L->tok, &L->captok, L->ntok + k, sizeof *L->tok) < 0)
		return -1;
	memcpy(L->tok + L->ntok, L->ids.v + nctx, k * sizeof *L->tok);
	L->clean = L->ids.n >= nctx && !memcmp(L->ids.v, L->tok + L->pctx_off, nctx * sizeof *L->tok);
	L->ntok += k;
	*n = k;
	return 0;
}

/* Append the tokens of value v: a string of bytes, or (ids) an integer array. `what` names it in
 * messages ("prompt", "choices"[1]) and `ids_name` is the field to use instead of a string. */
static int add_tokens(struct loader *L, const char *what, const char *ids_name, json_object *v, int ids,
                      size_t *len)
{
	size_t n;
	if (!ids) {
		if (!json_object_is_type(v, json_type_string))
			return bad(L, "%s is not a string", what);
		if (L->tk)
			return add_text(L, what, json_object_get_string(v), (size_t)json_object_get_string_len(v), len);
		if (L->vocab != 256)
			return bad(L, "%s is a string (byte tokens) but the vocabulary has %d entries, not 256: use \"%s\"",
			           what, L->vocab, ids_name);
		n = (size_t)json_object_get_string_len(v);
		const unsigned char *s = (const unsigned char *)json_object_get_string(v);
		if (n > TASK_MAX_TOKENS)
			return bad(L, "%s is longer than %d tokens", what, TASK_MAX_TOKENS);
		if (grow((void **)&L->tok, &L->captok, L->ntok + n, sizeof *L->tok) < 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			L->tok[L->ntok + i] = s[i];
	} else {
		if (!json_object_is_type(v, json_type_array))
			return bad(L, "%s is not an array of token ids", what);
		n = json_object_array_length(v);
		if (n > TASK_MAX_TOKENS)
			return bad(L, "%s is longer than %d tokens", what, TASK_MAX_TOKENS);
		if (grow((void **)&L->tok, &L->captok, L->ntok + n, sizeof *L->tok) < 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			json_object *x = json_object_array_get_idx(v, i);
			if (!json_object_is_type(x, json_type_int))
				return bad(L, "%s[%zu] is not an integer", what, i);
			errno = 0;
			int64_t id = json_object_get_int64(x);
			if (id < 0 || id >= L->vocab || errno)
				return bad(L, "%s[%zu] = %s is outside the vocabulary [0, %d)", what, i,
				           json_object_get_string(x), L->vocab);
			L->tok[L->ntok + i] = (int32_t)id;
		}
	}
	L->ntok += n;
	*len = n;
	return 0;
}

/* The value of `name` or `name_ids` (not both): 0 absent, 1 string form, 2 ids form, -1 error. */
static int field(struct loader *L, json_object *o, const char *name, json_object **v)
{
	char ids[64];
	json_object *a = NULL, *b = NULL;
	snprintf(ids, sizeof ids, "%s_ids", name);
	int has_a = json_object_object_get_ex(o, name, &a);
	int has_b = json_object_object_get_ex(o, ids, &b);
	if (has_a && has_b)
		return bad(L, "both \"%s\" and \"%s\"", name, ids);
	*v = has_a ? a : b;
	return has_a ? 1 : has_b ? 2 : 0;
}

/* The "bos" value of o: -1 for null, else an id checked against the vocabulary. */
static int parse_bos(struct loader *L, json_object *v, int *bos)
{
	if (!v) {
		*bos = -1;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int))
		return bad(L, "\"bos\" is not a token id (an integer) or null");
	errno = 0;
	int64_t id = json_object_get_int64(v);
	if (id < 0 || id >= L->vocab || errno)
		return bad(L, "\"bos\" = %s is outside the vocabulary [0, %d)", json_object_get_string(v), L->vocab);
	*bos = (int)id;
	return 0;
}

/* A context that begins with the tokenizer's BOS twice (the prompt or text spells it, as
 * "<s>Question…" does) keeps one, as lm-evaluation-harness does when the string already starts
 * with it. Only a BOS that the tokenizer's rules added, not one the file asks for, is
 * dropped (from_tok). 1 when it was. */
static int drop_second_bos(struct loader *L, task_example *e, int from_tok)
{
	if (!from_tok || e->bos < 0 || L->ntok < e->ctx.off + 2 || L->tok[e->ctx.off + 1] != e->bos)
		return 0;
	memmove(L->tok + e->ctx.off, L->tok + e->ctx.off + 1, (L->ntok - e->ctx.off - 1) * sizeof *L->tok);
	L->ntok--;
	if (L->pctx_off > e->ctx.off)
		L->pctx_off--;
	return 1;
}

/* One example from record o into the loader; file_bos is the file's default BOS (-1 none);
 * *kind is the file's kind so far (0 before the first example). */
static int parse_example(struct loader *L, json_object *o, int file_bos, int from_tok, int *kind)
{
	json_object *prompt, *target, *choices, *text, *v;
	int fp = field(L, o, "prompt", &prompt), ft, fc, fx;
	if (fp < 0 || (ft = field(L, o, "target", &target)) < 0 || (fc = field(L, o, "choices", &choices)) < 0 ||
	    (fx = field(L, o, "text", &text)) < 0)
		return -1;
	int k = 0;
	if ((ft > 0) + (fc > 0) + (fx > 0) > 1)
		return bad(L, "ambiguous example: it has more than one of \"target\", \"choices\" and \"text\"");
	if (ft)
		k = TASK_GEN;
	else if (fc)
		k = TASK_MC;
	else if (fx)
		k = TASK_TEXT;
	else
		return bad(L, "unknown kind of example: want {\"prompt\",\"target\"}, {\"prompt\",\"choices\",\"answer\"} or {\"text\"} (or their _ids forms)");
	if (k == TASK_TEXT && fp)
		return bad(L, "a text example has no \"prompt\"");
	if (k != TASK_TEXT && !fp)
		return bad(L, "missing \"prompt\"");
	if (k != TASK_MC && json_object_object_get_ex(o, "answer", NULL))
		return bad(L, "\"answer\" without \"choices\"");
	if (*kind && k != *kind)
		return bad(L, "a %s example in a %s task: one kind of example per file", task_kind_name(k),
		           task_kind_name(*kind));
	*kind = k;

	task_example e = { .bos = file_bos, .line = L->line };
	if (json_object_object_get_ex(o, "bos", &v)) {
		if (parse_bos(L, v, &e.bos) < 0)
			return -1;
		from_tok = 0;
	}
	e.ctx.off = L->ntok;
	if (e.bos >= 0) {
		if (grow((void **)&L->tok, &L->captok, L->ntok + 1, sizeof *L->tok) < 0)
			return -1;
		L->tok[L->ntok++] = e.bos;
	}
	size_t n, longest = 0;
	if (k == TASK_TEXT) {
		if (add_tokens(L, fx == 2 ? "\"text_ids\"" : "\"text\"", "text_ids", text, fx == 2, &n) < 0)
			return -1;
		drop_second_bos(L, &e, from_tok);
		e.ctx.len = L->ntok - e.ctx.off;
		if (e.ctx.len < 2)
			return bad(L, "the text needs at least 2 tokens (the first is context only)");
	} else {
		/* With a tokenizer a string prompt is encoded without its trailing whitespace, which
		 * each continuation string takes instead (pair = 1). */
		int pair = L->tk && fp == 1 && json_object_is_type(prompt, json_type_string);
		const char *ps = pair ? json_object_get_string(prompt) : NULL;
		size_t plen = pair ? (size_t)json_object_get_string_len(prompt) : 0, pkeep = 0;
		if (pair && !tok_utf8_valid(ps, plen))
			return bad(L, "\"prompt\": text is not valid UTF-8");
		L->pctx_off = L->ntok;
		if (pair) {
			pkeep = rstrip_len(ps, plen);
			if (add_text(L, "\"prompt\"", ps, pkeep, &n) < 0)
				return -1;
		} else if (add_tokens(L, fp == 2 ? "\"prompt_ids\"" : "\"prompt\"", "prompt_ids", prompt, fp == 2, &n) < 0)
			return -1;
		drop_second_bos(L, &e, from_tok);
		L->npctx = n;
		e.ctx.len = L->ntok - e.ctx.off;
		if (e.ctx.len == 0)
			return bad(L, "empty prompt (and no \"bos\")");
		L->pstr = ps;
		L->plen = plen;
		L->pkeep = pkeep;
		L->ispair = pair;
	}
	if (k == TASK_GEN) {
		e.tgt.off = L->ntok;
		L->clean = 1;
		if (L->ispair && ft == 1) {
			if (add_pair(L, "\"target\"", L->pstr, L->plen, L->npctx, target, &e.tgt.len) < 0)
				return -1;
			e.clean = L->clean;
		} else if (add_tokens(L, ft == 2 ? "\"target_ids\"" : "\"target\"", "target_ids", target, ft == 2, &e.tgt.len) < 0)
			return -1;
		if (L->tk && ft == 1) {
			/* the text greedy decoding must give: the moved whitespace, then the target */
			size_t ws = L->ispair ? L->plen - L->pkeep : 0, tl = (size_t)json_object_get_string_len(target);
			if (grow((void **)&L->str, &L->capstr, L->nstr + ws + tl + 1, 1) < 0)
				return -1;
			e.tstr = L->nstr;
			e.tstr_len = ws + tl;
			e.tstr_set = 1;
			memcpy(L->str + L->nstr, L->pstr + L->pkeep, ws);
			memcpy(L->str + L->nstr + ws, json_object_get_string(target), tl);
			L->nstr += ws + tl;
			L->str[L->nstr++] = 0;
		}
		/* A string target that merges into the prompt's last tokens (Llama 3's "1234" + "5":
		 * encode gives no more tokens than the prompt's) has no tokens of its own: it is
		 * judged by decoding, as text, like any target whose tokens are not the prompt's
		 * followed by its own. */
		if (e.tgt.len == 0 && e.tstr_set && e.tstr_len > 0)
			e.clean = 0;
		else if (e.tgt.len == 0)
			return bad(L, "empty target");
		longest = e.tgt.len;
	} else if (k == TASK_MC) {
		const char *what = fc == 2 ? "choices_ids" : "choices";
		if (!json_object_is_type(choices, json_type_array))
			return bad(L, "\"%s\" is not an array", what);
		size_t nc = json_object_array_length(choices);
		if (nc < 2)
			return bad(L, "\"%s\" has %zu choice%s, fewer than 2", what, nc, nc == 1 ? "" : "s");
		if (nc > TASK_MAX_CHOICES)
			return bad(L, "\"%s\" has more than %d choices", what, TASK_MAX_CHOICES);
		if (grow((void **)&L->ch, &L->capch, L->nch + nc, sizeof *L->ch) < 0)
			return -1;
		e.choice = L->nch;
		e.nchoice = (int)nc;
		for (size_t i = 0; i < nc; i++) {
			char name[48];
			snprintf(name, sizeof name, "\"%s\"[%zu]", what, i);
			task_span *c = &L->ch[L->nch + i];
			c->off = L->ntok;
			json_object *ci = json_object_array_get_idx(choices, i);
			if (L->ispair && fc == 1) {
				if (add_pair(L, name, L->pstr, L->plen, L->npctx, ci, &c->len) < 0)
					return -1;
			} else if (add_tokens(L, name, "choices_ids", ci, fc == 2, &c->len) < 0)
				return -1;
			if (c->len == 0)
				return bad(L, "\"%s\"[%zu] is empty", what, i);
			if (c->len > longest)
				longest = c->len;
		}
		L->nch += nc;
		if (!json_object_object_get_ex(o, "answer", &v))
			return bad(L, "missing \"answer\"");
		if (!json_object_is_type(v, json_type_int))
			return bad(L, "\"answer\" is not an integer");
		errno = 0;
		int64_t a = json_object_get_int64(v);
		if (a < 0 || (uint64_t)a >= nc || errno)
			return bad(L, "\"answer\" = %s is out of range [0, %zu)", json_object_get_string(v), nc);
		e.answer = (int)a;
	}
	if (e.ctx.len + longest > TASK_MAX_TOKENS)
		return bad(L, "example longer than %d tokens", TASK_MAX_TOKENS);
	if (grow((void **)&L->ex, &L->capex, L->nex + 1, sizeof *L->ex) < 0)
		return -1;
	L->ex[L->nex++] = e;
	return 0;
}

/* Only {"bos": …}: the file's BOS line. */
static int is_bos_line(json_object *o)
{
	return json_object_object_length(o) == 1 && json_object_object_get_ex(o, "bos", NULL);
}

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

task *task_load(const char *path, int vocab, long limit) { return task_load_tok(path, vocab, NULL, limit); }

task *task_load_tok(const char *path, int vocab, tok *tk, long limit)
{
	struct loader L = { .file = path, .vocab = vocab, .tk = tk };
	char name[256];
	task *t = NULL;
	int kind = 0, file_bos = -1, bos_from_tok = 0;
	if (task_name(path, name, sizeof name) < 0)
		return NULL;
	if (vocab < 1)
		return err_set("%s: vocabulary size %d: must be at least 1", path, vocab), NULL;
	if (limit < 0)
		return err_set("%s: limit %ld: must be 0 (all) or more", path, limit), NULL;
	if (tk) {
		const int32_t *pre, *post;
		int npre, npost;
		tok_specials(tk, &pre, &npre, &post, &npost);
		if (tok_vocab_size(tk) > vocab)
			return err_set("%s: the tokenizer has %d ids, more than the model's vocabulary of %d", path,
			               tok_vocab_size(tk), vocab), NULL;
		if (npre > 1)
			return err_set("%s: the tokenizer puts %d special tokens before a sequence: task files take one BOS at most",
			               path, npre), NULL;
		file_bos = tok_bos(tk);
		bos_from_tok = 1;
	}
	rec_reader *r = rec_open(path);
	if (!r)
		return NULL;
	L.file = rec_name(r);
	for (;;) {
		json_object *o = NULL;
		if (limit > 0 && L.nex >= (size_t)limit)
			break;
		int rc = rec_next(r, &o);
		if (rc == 0)
			break;
		if (rc < 0)
			goto fail;
		L.line = rec_lineno(r);
		if (is_bos_line(o)) {
			json_object *v = NULL;
			json_object_object_get_ex(o, "bos", &v);
			if (L.nex > 0) {
				bad(&L, "a line holding only \"bos\" sets the file's BOS and must come before the first example");
				rc = -1;
			} else {
				rc = parse_bos(&L, v, &file_bos);
				bos_from_tok = 0;
			}
		} else {
			rc = parse_example(&L, o, file_bos, bos_from_tok, &kind);
		}
		json_object_put(o);
		if (rc < 0)
			goto fail;
	}
	if (L.nex == 0) {
		err_set("%s: no examples", L.file);
		goto fail;
	}

	/* Pack everything into one block. */
	size_t o_ex = align8(sizeof(task)), o_ch = o_ex + align8(L.nex * sizeof *L.ex);
	size_t o_tok = o_ch + align8(L.nch * sizeof *L.ch), o_name = o_tok + L.ntok * sizeof *L.tok;
	size_t o_path = o_name + strlen(name) + 1, o_str = o_path + strlen(path) + 1, total = o_str + L.nstr + 1;
	char *blk = malloc(total);
	if (!blk) {
		err_oom();
		goto fail;
	}
	t = (task *)blk;
	memset(t, 0, sizeof *t);
	t->kind = kind;
	t->vocab = vocab;
	t->n = L.nex;
	t->ntok = L.ntok;
	t->ex = memcpy(blk + o_ex, L.ex, L.nex * sizeof *L.ex);
	t->choice = L.nch ? memcpy(blk + o_ch, L.ch, L.nch * sizeof *L.ch) : (task_span *)(blk + o_ch);
	t->tok = memcpy(blk + o_tok, L.tok, L.ntok * sizeof *L.tok);
	t->name = strcpy(blk + o_name, name);
	t->path = strcpy(blk + o_path, path);
	if (L.nstr)
		memcpy(blk + o_str, L.str, L.nstr);
	blk[o_str + L.nstr] = 0;
	t->str = blk + o_str;
	t->tk = tk;
	for (size_t i = 0; i < t->n; i++) {
		size_t m = task_seq_len(t, i);
		if (m > t->max_seq)
			t->max_seq = m;
	}
fail:
	rec_close(r);
	free(L.ex);
	free(L.ch);
	free(L.tok);
	free(L.str);
	free(L.pair);
	tok_ids_free(&L.ids);
	return t;
}

void task_free(task *t) { free(t); }

void task_limit(task *t, size_t n)
{
	if (n >= t->n)
		return;
	t->n = n;
	t->max_seq = 0;
	for (size_t i = 0; i < n; i++) {
		size_t m = task_seq_len(t, i);
		if (m > t->max_seq)
			t->max_seq = m;
	}
}

/* ---- training sequences ------------------------------------------------------------------ */

/* The span that follows the context in example i's training sequence (len 0 for TEXT). */
static task_span seq_tail(const task *t, size_t i)
{
	const task_example *e = &t->ex[i];
	task_span none = { 0, 0 };
	switch (t->kind) {
	case TASK_GEN: return e->tgt;
	case TASK_MC: return t->choice[e->choice + (size_t)e->answer];
	}
	return none;
}

size_t task_seq_len(const task *t, size_t i) { return t->ex[i].ctx.len + seq_tail(t, i).len; }

size_t task_seq(const task *t, size_t i, int32_t *row, uint8_t *mask)
{
	const task_example *e = &t->ex[i];
	task_span tail = seq_tail(t, i);
	size_t nc = e->ctx.len, n = nc + tail.len;
	if (row) {
		memcpy(row, t->tok + e->ctx.off, nc * sizeof *row);
		memcpy(row + nc, t->tok + tail.off, tail.len * sizeof *row);
	}
	if (mask) {
		if (t->kind == TASK_TEXT) {
			mask[0] = 0;
			memset(mask + 1, 1, nc - 1);
		} else {
			memset(mask, 0, nc);
			memset(mask + nc, 1, tail.len);
		}
	}
	return n;
}

/* ---- the sampler ------------------------------------------------------------------------- */

struct task_sampler {
	int n, flags;
	task **tasks;
	double *cum;         /* cumulative weights */
	size_t **perm;       /* each task's current order of examples */
	size_t *next;        /* position in perm */
	long *count;
	long truncated;
	int pend_k;          /* an example drawn but left for the next row (-1 none) */
	size_t pend_i;
	rng rng;
	int32_t *stok;       /* scratch for one sequence */
	uint8_t *smask;
};

void task_sampler_free(task_sampler *s)
{
	if (!s)
		return;
	if (s->perm)
		for (int k = 0; k < s->n; k++)
			free(s->perm[k]);
	free(s->perm);
	free(s->tasks);
	free(s->cum);
	free(s->next);
	free(s->count);
	free(s->stok);
	free(s->smask);
	free(s);
}

static void shuffle(rng *r, size_t *p, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rng_below(r, i), x = p[i - 1];
		p[i - 1] = p[j];
		p[j] = x;
	}
}

task_sampler *task_sampler_new(task *const *tasks, const double *weights, int ntasks,
                               uint64_t seed, int flags)
{
	task_sampler *s;
	double total = 0;
	size_t maxseq = 1;
	if (ntasks < 1)
		return err_set("sampler: no tasks"), NULL;
	for (int k = 0; k < ntasks; k++) {
		double w = weights ? weights[k] : 1;
		if (!tasks[k])
			return err_set("sampler: task %d is missing", k), NULL;
		if (!isfinite(w) || w < 0)
			return err_set("%s: weight %g: must be finite and at least 0", tasks[k]->path, w), NULL;
		if (w > 0 && tasks[k]->n == 0)
			return err_set("%s: no examples to sample", tasks[k]->path), NULL;
		total += w;
		if (tasks[k]->max_seq > maxseq)
			maxseq = tasks[k]->max_seq;
	}
	if (!(total > 0) || !isfinite(total))
		return err_set("sampler: the task weights sum to %g: need a positive finite sum", total), NULL;
	if (!(s = calloc(1, sizeof *s)))
		return err_oom(), NULL;
	s->n = ntasks;
	s->flags = flags;
	s->pend_k = -1;
	if (!(s->tasks = malloc(ntasks * sizeof *s->tasks)) || !(s->cum = malloc(ntasks * sizeof *s->cum)) ||
	    !(s->perm = calloc(ntasks, sizeof *s->perm)) || !(s->next = calloc(ntasks, sizeof *s->next)) ||
	    !(s->count = calloc(ntasks, sizeof *s->count)) || !(s->stok = malloc(maxseq * sizeof *s->stok)) ||
	    !(s->smask = malloc(maxseq)))
		goto oom;
	rng_seed(&s->rng, seed);
	double c = 0;
	for (int k = 0; k < ntasks; k++) {
		s->tasks[k] = tasks[k];
		c += weights ? weights[k] : 1;
		s->cum[k] = c;
		size_t n = tasks[k]->n;
		if (!(s->perm[k] = malloc((n ? n : 1) * sizeof **s->perm)))
			goto oom;
		for (size_t i = 0; i < n; i++)
			s->perm[k][i] = i;
		/* next = n: the first draw shuffles. */
		s->next[k] = n;
	}
	return s;
oom:
	task_sampler_free(s);
	err_oom();
	return NULL;
}

static void draw(task_sampler *s, int *k, size_t *i)
{
	double u = rng_uniform(&s->rng) * s->cum[s->n - 1];
	int j = 0;
	while (j < s->n - 1 && !(u < s->cum[j]))
		j++;
	/* Rounding could land u on a zero-weight tail: step back to a task with weight. */
	while (j > 0 && s->cum[j] == s->cum[j - 1])
		j--;
	const task *t = s->tasks[j];
	if (s->next[j] >= t->n) {
		shuffle(&s->rng, s->perm[j], t->n);
		s->next[j] = 0;
	}
	*k = j;
	*i = s->perm[j][s->next[j]++];
	s->count[j]++;
}

int task_sampler_next(task_sampler *s, int32_t *row, uint8_t *mask, int *src, int T)
{
	int pos = 0;
	if (T < 1)
		return err_set("sampler: sequence length %d: must be at least 1", T);
	for (;;) {
		int k;
		size_t i;
		if (s->pend_k >= 0) {
			k = s->pend_k;
			i = s->pend_i;
			s->pend_k = -1;
		} else {
			draw(s, &k, &i);
		}
		const task *t = s->tasks[k];
		size_t len = task_seq_len(t, i), from = 0;
		if (pos > 0 && len > (size_t)(T - pos)) {
			s->pend_k = k;
			s->pend_i = i;
			break;
		}
		task_seq(t, i, s->stok, s->smask);
		if (len > (size_t)T) {
			s->truncated++;
			if (t->kind != TASK_TEXT)
				from = len - (size_t)T;
			len = (size_t)T;
		}
		memcpy(row + pos, s->stok + from, len * sizeof *row);
		memcpy(mask + pos, s->smask + from, len);
		if (src)
			for (size_t j = 0; j < len; j++)
				src[pos + j] = k;
		pos += (int)len;
		if (!(s->flags & TASK_PACK) || pos == T)
			break;
	}
	for (int j = pos; j < T; j++) {
		row[j] = 0;
		mask[j] = 0;
		if (src)
			src[j] = -1;
	}
	return pos;
}

long task_sampler_truncated(const task_sampler *s) { return s->truncated; }

long task_sampler_count(const task_sampler *s, int k) { return k >= 0 && k < s->n ? s->count[k] : 0; }

void task_targets(const int32_t *row, const uint8_t *mask, int T, int *targets)
{
	for (int j = 0; j + 1 < T; j++)
		targets[j] = mask[j + 1] ? row[j + 1] : -1;
	if (T > 0)
		targets[T - 1] = -1;
}
