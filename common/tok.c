/* tok.c — tokenizer.json: loading, the encode pipeline (added tokens → normalizer → added tokens
 * marked "normalized" → pre-tokenizer → BPE → special tokens) and decoding, with the semantics of
 * Hugging Face tokenizers (tokenizer/added_vocabulary.rs, normalizers/, pre_tokenizers/,
 * decoders/). The BPE model itself is tok_bpe.c.
 *
 * Text flows as "pieces": spans of a byte buffer. Each pre-tokenizer step reads the pieces of one
 * buffer and writes those of another, so a word costs no allocation of its own. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "err.h"
#include "tok_internal.h"

/* ---- UTF-8 and Unicode helpers ---- */

int tok_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < len;) {
		unsigned c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		if (!n || i + n > len)
			return 0;
		unsigned lo = 0x80, hi = 0xbf;
		if (c == 0xe0) lo = 0xa0;
		if (c == 0xed) hi = 0x9f;       /* no surrogates */
		if (c == 0xf0) lo = 0x90;
		if (c == 0xf4) hi = 0x8f;       /* at most U+10FFFF */
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (size_t k = 2; k < n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		i += n;
	}
	return 1;
}

/* The code point at s (valid UTF-8) and its length. */
static int32_t u8_get(const char *s, size_t *len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = tok_u8len(p[0]);
	int32_t c = n == 1 ? p[0] : n == 2 ? p[0] & 0x1f : n == 3 ? p[0] & 0x0f : p[0] & 0x07;
	for (size_t k = 1; k < n; k++)
		c = c << 6 | (p[k] & 0x3f);
	*len = n;
	return c;
}

static size_t u8_put(char *o, int32_t c)
{
	return (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)o);
}

/* The start of the character that ends at s[len] (len > 0). */
static size_t u8_back(const char *s, size_t len)
{
	size_t i = len - 1;
	while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
		i--;
	return i;
}

/* Rust's char::is_whitespace: the Unicode White_Space property. */
static int is_white(int32_t c)
{
	return (c >= 9 && c <= 13) || c == 32 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
	       c == 0x205f || c == 0x3000;
}

/* Rust's char::is_alphanumeric, by general category (letters and numbers). */
static int is_alnum(int32_t c)
{
	utf8proc_category_t k = utf8proc_category(c);
	return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
	       (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
}

/* ---- regexes: Oniguruma's dialect (what tokenizers compiles) run by PCRE2 ---- */

/* Oniguruma's \s in Unicode mode is U+0009..U+000D, U+0085 and the Z categories; PCRE2's lacks
 * U+0085, so the class is spelled out. Its \w is letters, marks, numbers and connector
 * punctuation, its \h a hexadecimal digit. In its Ruby syntax (the default) ^ and $ match at line
 * ends (PCRE2_MULTILINE), "(?m)" is PCRE2's "(?s)", and "[" inside a class opens a nested set. */
#define ONIG_SPACE "\\t-\\r \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"
#define ONIG_WORD "\\p{L}\\p{M}\\p{N}\\p{Pc}"
#define ONIG_HEX "0-9a-fA-F"

static int onig_to_pcre(const char *re, tok_buf *out)
{
	int in_class = 0, rc = 0;
	for (const char *p = re; *p && !rc; p++) {
		if (*p == '\\' && p[1]) {
			char e = p[1];
			const char *cls = e == 's' || e == 'S' ? ONIG_SPACE : e == 'w' || e == 'W' ? ONIG_WORD :
			                  e == 'h' || e == 'H' ? ONIG_HEX : NULL;
			if (e == 'b' || e == 'B')
				return err_set("regex \"%s\": \\%c is not supported", re, e);
			if (!cls) {
				rc = tok_buf_add(out, p, 2);
			} else if (e == 's' || e == 'w' || e == 'h') {
				rc = in_class ? tok_buf_add(out, cls, strlen(cls)) :
				     tok_buf_add(out, "[", 1) || tok_buf_add(out, cls, strlen(cls)) || tok_buf_add(out, "]", 1);
			} else {
				if (in_class)
					return err_set("regex \"%s\": \\%c inside a character class is not supported", re, e);
				rc = tok_buf_add(out, "[^", 2) || tok_buf_add(out, cls, strlen(cls)) || tok_buf_add(out, "]", 1);
			}
			p++;
		} else if (!in_class && p[0] == '(' && p[1] == '?' && strspn(p + 2, "imx-") && strcspn(p + 2, ":)") &&
		           memchr(p + 2, 'm', strcspn(p + 2, ":)"))) {
			return err_set("regex \"%s\": the (?m) option is not supported", re);
		} else if (*p == '[') {
			if (in_class)
				return err_set("regex \"%s\": nested character classes are not supported", re);
			in_class = 1;
			rc = tok_buf_add(out, p, 1);
			if (p[1] == '^')
				rc = rc || tok_buf_add(out, ++p, 1);
			if (p[1] == ']')   /* a ']' first in a class is a literal */
				rc = rc || tok_buf_add(out, ++p, 1);
		} else {
			if (*p == ']')
				in_class = 0;
			rc = tok_buf_add(out, p, 1);
		}
	}
	return rc ? -1 : 0;
}

/* A Split/Replace pattern: a literal string or a compiled regex. */
typedef struct {
	char *str;             /* literal (NULL for a regex) */
	size_t len;
	pcre2_code *re;
	pcre2_match_data *md;
} pattern;

static int pattern_regex(pattern *p, const char *re)
{
	tok_buf b = { 0 };
	if (onig_to_pcre(re, &b) < 0) {
		free(b.p);
		return -1;
	}
	int ec;
	PCRE2_SIZE eo;
	p->re = pcre2_compile((PCRE2_SPTR)b.p, b.n, PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE | PCRE2_NO_UTF_CHECK, &ec, &eo, NULL);
	free(b.p);
	if (!p->re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ec, msg, sizeof msg);
		return err_set("regex \"%s\": %s", re, (char *)msg);
	}
	pcre2_jit_compile(p->re, PCRE2_JIT_COMPLETE);   /* without JIT it still works, slower */
	if (!(p->md = pcre2_match_data_create_from_pattern(p->re, NULL)))
		return err_oom();
	return 0;
}

/* {"String": s} or {"Regex": r}. */
static int pattern_load(pattern *p, json_object *o, const char *what)
{
	json_object *v;
	memset(p, 0, sizeof *p);
	if (o && json_object_object_get_ex(o, "String", &v) && json_object_is_type(v, json_type_string)) {
		p->len = (size_t)json_object_get_string_len(v);
		if (!(p->str = malloc(p->len + 1)))
			return err_oom();
		memcpy(p->str, json_object_get_string(v), p->len + 1);
		return 0;
	}
	if (o && json_object_object_get_ex(o, "Regex", &v) && json_object_is_type(v, json_type_string))
		return pattern_regex(p, json_object_get_string(v));
	return err_set("%s: pattern is neither {\"String\"} nor {\"Regex\"}", what);
}

static void pattern_free(pattern *p)
{
	free(p->str);
	if (p->md)
		pcre2_match_data_free(p->md);
	if (p->re)
		pcre2_code_free(p->re);
}

/* The next match of p in s[0..len) at or after *pos: 1 and [*ms, *me), 0 when none, -1 error. An
 * empty match moves the search on by one character, as Rust's find_iter does. */
static int pattern_next(pattern *p, const char *s, size_t len, size_t *pos, size_t *ms, size_t *me)
{
	for (;;) {
		if (*pos > len)
			return 0;
		if (p->str) {
			if (!p->len)
				return 0;
			const char *f = p->len <= len - *pos ? memmem(s + *pos, len - *pos, p->str, p->len) : NULL;
			if (!f)
				return 0;
			*ms = (size_t)(f - s);
			*me = *ms + p->len;
			*pos = *me;
			return 1;
		}
		int rc = pcre2_match(p->re, (PCRE2_SPTR)s, len, *pos, PCRE2_NO_UTF_CHECK, p->md, NULL);
		if (rc == PCRE2_ERROR_NOMATCH)
			return 0;
		if (rc < 0) {
			PCRE2_UCHAR msg[256];
			pcre2_get_error_message(rc, msg, sizeof msg);
			return err_set("regex match: %s", (char *)msg);
		}
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->md);
		*ms = ov[0];
		*me = ov[1];
		if (*me == *ms) {
			*pos = *me < len ? *me + tok_u8len((unsigned char)s[*me]) : len + 1;
			continue;   /* tokenizers drops empty pieces anyway */
		}
		*pos = *me;
		return 1;
	}
}

/* ---- pieces ---- */

typedef struct {
	size_t off, len;
	int first;              /* starts at offset 0 of the original text (Metaspace "first") */
} piece;

typedef struct {
	tok_buf b;
	piece *p;
	size_t n, cap;
} pieces;

static int pieces_add(pieces *ps, const char *s, size_t len, int first)
{
	if (!len)
		return 0;
	if (ps->n == ps->cap) {
		size_t c = ps->cap ? 2 * ps->cap : 64;
		piece *q = realloc(ps->p, c * sizeof *q);
		if (!q)
			return err_oom();
		ps->p = q;
		ps->cap = c;
	}
	ps->p[ps->n++] = (piece){ ps->b.n, len, first };
	return tok_buf_add(&ps->b, s, len);
}

static void pieces_reset(pieces *ps) { ps->n = 0; ps->b.n = 0; }

enum { B_REMOVED, B_ISOLATED, B_PREV, B_NEXT, B_CONTIG };

/* A span of a piece and whether it matched. */
typedef struct { size_t s, e; int m; } span;

/* tokenizers' NormalizedString::split: apply a delimiter behaviour to spans covering s. */
static int split_spans(pieces *out, const char *s, span *sp, size_t n, int behavior, int first)
{
	size_t k = 0;
	if (behavior == B_REMOVED || behavior == B_ISOLATED) {
		for (size_t i = 0; i < n; i++)
			if (!(behavior == B_REMOVED && sp[i].m) &&
			    pieces_add(out, s + sp[i].s, sp[i].e - sp[i].s, first && sp[i].s == 0) < 0)
				return -1;
		return 0;
	}
	/* Merge in place into sp[0..k). */
	if (behavior == B_NEXT) {
		/* Walk right to left: a match joins the piece after it. */
		int prev_match = 0;
		size_t w = n;
		for (size_t i = n; i-- > 0;) {
			if (sp[i].m && !prev_match && w < n)
				sp[w].s = sp[i].s;
			else
				sp[--w] = (span){ sp[i].s, sp[i].e, 0 };
			prev_match = sp[i].m;
		}
		for (size_t i = w; i < n; i++)
			sp[k++] = sp[i];
	} else {
		int prev_match = 0;
		for (size_t i = 0; i < n; i++) {
			int join = behavior == B_PREV ? sp[i].m && !prev_match : sp[i].m == prev_match;
			if (join && k > 0)
				sp[k - 1].e = sp[i].e;
			else
				sp[k++] = (span){ sp[i].s, sp[i].e, 0 };
			prev_match = sp[i].m;
		}
	}
	for (size_t i = 0; i < k; i++)
		if (pieces_add(out, s + sp[i].s, sp[i].e - sp[i].s, first && sp[i].s == 0) < 0)
			return -1;
	return 0;
}

typedef struct {
	span *v;
	size_t n, cap;
} spans;

static int spans_add(spans *a, size_t s, size_t e, int m)
{
	if (a->n == a->cap) {
		size_t c = a->cap ? 2 * a->cap : 64;
		span *q = realloc(a->v, c * sizeof *q);
		if (!q)
			return err_oom();
		a->v = q;
		a->cap = c;
	}
	a->v[a->n++] = (span){ s, e, m };
	return 0;
}

/* Spans of s: the matches of p and the text between them (tokenizers' Pattern::find_matches). */
static int pattern_spans(pattern *p, const char *s, size_t len, spans *a)
{
	size_t pos = 0, prev = 0, ms, me;
	int rc;
	a->n = 0;
	while ((rc = pattern_next(p, s, len, &pos, &ms, &me)) == 1) {
		if (ms > prev && spans_add(a, prev, ms, 0) < 0)
			return -1;
		if (spans_add(a, ms, me, 1) < 0)
			return -1;
		prev = me;
	}
	if (rc < 0)
		return -1;
	return prev < len ? spans_add(a, prev, len, 0) : 0;
}

/* ---- the tokenizer ---- */

enum { N_NFC, N_NFD, N_NFKC, N_NFKD, N_PREPEND, N_REPLACE, N_STRIP };
enum { P_SPLIT, P_BYTELEVEL, P_METASPACE, P_DIGITS };
enum { D_BYTELEVEL, D_REPLACE, D_BYTEFALLBACK, D_FUSE, D_STRIP, D_METASPACE };
enum { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER };

typedef struct {
	int kind;
	pattern pat;            /* N_REPLACE, P_SPLIT, D_REPLACE */
	char *str;              /* N_PREPEND text, N_REPLACE/D_REPLACE content, P_/D_METASPACE replacement */
	int32_t ch;             /* D_STRIP content, P_/D_METASPACE replacement character */
	int a, b, c;            /* N_STRIP left/right; P_SPLIT behavior/invert; P_BYTELEVEL add_prefix_space/
	                           use_regex; P_METASPACE prepend scheme/split; P_DIGITS individual;
	                           D_STRIP start/stop; D_METASPACE prepend scheme */
} step;

typedef struct {
	char *s;
	size_t len;
	int32_t id;
	int special, lstrip, rstrip, single_word, normalized;
} added_tok;

/* A byte trie over added tokens' contents: node → first child, sibling, byte, token or -1. */
typedef struct {
	struct tnode { int32_t child, sib, tok; unsigned char c; } *v;
	size_t n, cap;
	unsigned char first[256];   /* bytes some token starts with */
} trie;

struct tok {
	char *path;
	tok_bpe bpe;
	added_tok *added;
	int nadded;
	int32_t *added_of;      /* id → index into added, or -1 (size nvocab) */
	trie raw, norm;         /* added tokens matched before / after normalization */
	int nvocab;
	step *norm_steps, *pre_steps, *dec_steps;
	int nnorm, npre, ndec, has_decoder;
	pattern gpt2;           /* ByteLevel's own regex */
	int32_t byte_char[256]; /* ByteLevel: byte → code point */
	int16_t char_byte[324]; /* ByteLevel: code point → byte, or -1 */
	int32_t pre_ids[8], post_ids[8];
	int npre_ids, npost_ids;
	const char *spec_err;   /* why TOK_SPECIAL cannot be honoured, or NULL */
	int bos;
	pieces pa, pb;          /* scratch */
	tok_buf nbuf;
	spans sp;
};

static int trie_node(trie *t)
{
	if (t->n == t->cap) {
		size_t c = t->cap ? 2 * t->cap : 256;
		struct tnode *q = realloc(t->v, c * sizeof *q);
		if (!q)
			return err_oom();
		t->v = q;
		t->cap = c;
	}
	t->v[t->n] = (struct tnode){ -1, -1, -1, 0 };
	return (int)t->n++;
}

static int trie_add(trie *t, const char *s, size_t len, int32_t tokidx)
{
	if (!t->n && trie_node(t) < 0)
		return -1;
	if (!len)
		return 0;
	int node = 0;
	t->first[(unsigned char)s[0]] = 1;
	for (size_t i = 0; i < len; i++) {
		int c = t->v[node].child;
		while (c >= 0 && t->v[c].c != (unsigned char)s[i])
			c = t->v[c].sib;
		if (c < 0) {
			if ((c = trie_node(t)) < 0)
				return -1;
			t->v[c].c = (unsigned char)s[i];
			t->v[c].sib = t->v[node].child;
			t->v[node].child = c;
		}
		node = c;
	}
	t->v[node].tok = tokidx;
	return 0;
}

/* The longest token starting at s[0..len): its index, or -1. */
static int trie_longest(const trie *t, const char *s, size_t len, size_t *mlen)
{
	int node = 0, best = -1;
	for (size_t i = 0; i < len; i++) {
		int c = t->v[node].child;
		while (c >= 0 && t->v[c].c != (unsigned char)s[i])
			c = t->v[c].sib;
		if (c < 0)
			break;
		node = c;
		if (t->v[node].tok >= 0) {
			best = t->v[node].tok;
			*mlen = i + 1;
		}
	}
	return best;
}

/* ---- loading ---- */

static json_object *get(json_object *o, const char *k)
{
	json_object *v;
	return o && json_object_object_get_ex(o, k, &v) && !json_object_is_type(v, json_type_null) ? v : NULL;
}

static const char *get_str(json_object *o, const char *k)
{
	json_object *v = get(o, k);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int get_bool(json_object *o, const char *k, int def)
{
	json_object *v = get(o, k);
	return v && json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : def;
}

static int steps_push(step **v, int *n, step s)
{
	step *q = realloc(*v, (size_t)(*n + 1) * sizeof *q);
	if (!q)
		return err_oom();
	*v = q;
	(*v)[(*n)++] = s;
	return 0;
}

static int one_char(const char *s, int32_t *c, const char *what)
{
	size_t l;
	if (!s || !*s || !tok_utf8_valid(s, strlen(s)) || (*c = u8_get(s, &l), s[l]))
		return err_set("%s is not one character", what);
	return 0;
}

static int dup_str(const char *s, char **out)
{
	return (*out = strdup(s ? s : "")) ? 0 : err_oom();
}

static int load_normalizer(tok *t, json_object *o)
{
	const char *ty = get_str(o, "type");
	step s = { 0 };
	if (!ty)
		return err_set("normalizer has no \"type\"");
	if (!strcmp(ty, "Sequence")) {
		json_object *l = get(o, "normalizers");
		if (!l || !json_object_is_type(l, json_type_array))
			return err_set("normalizer Sequence has no \"normalizers\" array");
		for (size_t i = 0; i < json_object_array_length(l); i++)
			if (load_normalizer(t, json_object_array_get_idx(l, i)) < 0)
				return -1;
		return 0;
	}
	if (!strcmp(ty, "NFC")) s.kind = N_NFC;
	else if (!strcmp(ty, "NFD")) s.kind = N_NFD;
	else if (!strcmp(ty, "NFKC")) s.kind = N_NFKC;
	else if (!strcmp(ty, "NFKD")) s.kind = N_NFKD;
	else if (!strcmp(ty, "Prepend")) {
		s.kind = N_PREPEND;
		if (!get_str(o, "prepend"))
			return err_set("normalizer Prepend has no \"prepend\" string");
		if (dup_str(get_str(o, "prepend"), &s.str) < 0)
			return -1;
	} else if (!strcmp(ty, "Replace")) {
		s.kind = N_REPLACE;
		if (pattern_load(&s.pat, get(o, "pattern"), "normalizer Replace") < 0 ||
		    dup_str(get_str(o, "content"), &s.str) < 0)
			return pattern_free(&s.pat), -1;
	} else if (!strcmp(ty, "Strip")) {
		s.kind = N_STRIP;
		s.a = get_bool(o, "strip_left", 1);
		s.b = get_bool(o, "strip_right", 1);
	} else
		return err_set("normalizer \"%s\" is not supported", ty);
	if (steps_push(&t->norm_steps, &t->nnorm, s) < 0) {
		free(s.str);
		pattern_free(&s.pat);
		return -1;
	}
	return 0;
}

static int behavior_of(const char *b)
{
	return !b ? -1 : !strcmp(b, "Removed") ? B_REMOVED : !strcmp(b, "Isolated") ? B_ISOLATED :
	       !strcmp(b, "MergedWithPrevious") ? B_PREV : !strcmp(b, "MergedWithNext") ? B_NEXT :
	       !strcmp(b, "Contiguous") ? B_CONTIG : -1;
}

static int prepend_scheme(json_object *o)
{
	const char *ps = get_str(o, "prepend_scheme");
	if (ps)
		return !strcmp(ps, "always") ? PREPEND_ALWAYS : !strcmp(ps, "first") ? PREPEND_FIRST :
		       !strcmp(ps, "never") ? PREPEND_NEVER : -1;
	/* the older spelling */
	return get_bool(o, "add_prefix_space", 1) ? PREPEND_ALWAYS : PREPEND_NEVER;
}

static int load_pretok(tok *t, json_object *o)
{
	const char *ty = get_str(o, "type");
	step s = { 0 };
	if (!ty)
		return err_set("pre_tokenizer has no \"type\"");
	if (!strcmp(ty, "Sequence")) {
		json_object *l = get(o, "pretokenizers");
		if (!l || !json_object_is_type(l, json_type_array))
			return err_set("pre_tokenizer Sequence has no \"pretokenizers\" array");
		for (size_t i = 0; i < json_object_array_length(l); i++)
			if (load_pretok(t, json_object_array_get_idx(l, i)) < 0)
				return -1;
		return 0;
	}
	if (!strcmp(ty, "Split")) {
		s.kind = P_SPLIT;
		if ((s.a = behavior_of(get_str(o, "behavior"))) < 0)
			return err_set("pre_tokenizer Split: behavior \"%s\" is not known",
			               get_str(o, "behavior") ? get_str(o, "behavior") : "(none)");
		s.b = get_bool(o, "invert", 0);
		if (pattern_load(&s.pat, get(o, "pattern"), "pre_tokenizer Split") < 0)
			return pattern_free(&s.pat), -1;
	} else if (!strcmp(ty, "ByteLevel")) {
		s.kind = P_BYTELEVEL;
		s.a = get_bool(o, "add_prefix_space", 1);
		s.b = get_bool(o, "use_regex", 1);
		if (s.b && !t->gpt2.re &&
		    pattern_regex(&t->gpt2, "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+") < 0)
			return -1;
	} else if (!strcmp(ty, "Metaspace")) {
		s.kind = P_METASPACE;
		const char *r = get_str(o, "replacement");
		if (one_char(r, &s.ch, "pre_tokenizer Metaspace: replacement") < 0 || dup_str(r, &s.str) < 0)
			return -1;
		if ((s.a = prepend_scheme(o)) < 0) {
			free(s.str);
			return err_set("pre_tokenizer Metaspace: prepend_scheme \"%s\" is not known", get_str(o, "prepend_scheme"));
		}
		s.b = get_bool(o, "split", 1);
	} else if (!strcmp(ty, "Digits")) {
		s.kind = P_DIGITS;
		s.a = get_bool(o, "individual_digits", 0);
	} else
		return err_set("pre_tokenizer \"%s\" is not supported", ty);
	if (steps_push(&t->pre_steps, &t->npre, s) < 0) {
		free(s.str);
		pattern_free(&s.pat);
		return -1;
	}
	return 0;
}

static int load_decoder(tok *t, json_object *o)
{
	const char *ty = get_str(o, "type");
	step s = { 0 };
	if (!ty)
		return err_set("decoder has no \"type\"");
	if (!strcmp(ty, "Sequence")) {
		json_object *l = get(o, "decoders");
		if (!l || !json_object_is_type(l, json_type_array))
			return err_set("decoder Sequence has no \"decoders\" array");
		for (size_t i = 0; i < json_object_array_length(l); i++)
			if (load_decoder(t, json_object_array_get_idx(l, i)) < 0)
				return -1;
		return 0;
	}
	if (!strcmp(ty, "ByteLevel")) s.kind = D_BYTELEVEL;
	else if (!strcmp(ty, "ByteFallback")) s.kind = D_BYTEFALLBACK;
	else if (!strcmp(ty, "Fuse")) s.kind = D_FUSE;
	else if (!strcmp(ty, "Replace")) {
		s.kind = D_REPLACE;
		if (pattern_load(&s.pat, get(o, "pattern"), "decoder Replace") < 0 ||
		    dup_str(get_str(o, "content"), &s.str) < 0)
			return pattern_free(&s.pat), -1;
	} else if (!strcmp(ty, "Strip")) {
		s.kind = D_STRIP;
		json_object *a = get(o, "start"), *b = get(o, "stop");
		if (one_char(get_str(o, "content"), &s.ch, "decoder Strip: content") < 0)
			return -1;
		s.a = a ? json_object_get_int(a) : 0;
		s.b = b ? json_object_get_int(b) : 0;
		if (s.a < 0 || s.b < 0)
			return err_set("decoder Strip: start and stop must not be negative");
	} else if (!strcmp(ty, "Metaspace")) {
		s.kind = D_METASPACE;
		const char *r = get_str(o, "replacement");
		if (one_char(r, &s.ch, "decoder Metaspace: replacement") < 0)
			return -1;
		if ((s.a = prepend_scheme(o)) < 0)
			return err_set("decoder Metaspace: prepend_scheme \"%s\" is not known", get_str(o, "prepend_scheme"));
	} else
		return err_set("decoder \"%s\" is not supported", ty);
	if (steps_push(&t->dec_steps, &t->ndec, s) < 0) {
		free(s.str);
		pattern_free(&s.pat);
		return -1;
	}
	return 0;
}

/* The id of a token string: an added token's, else the vocabulary's; -1 when neither. */
static int32_t token_id(const tok *t, const char *s)
{
	size_t len = strlen(s);
	int64_t v;
	for (int i = 0; i < t->nadded; i++)
		if (t->added[i].len == len && !memcmp(t->added[i].s, s, len))
			return t->added[i].id;
	return tok_map_get(&t->bpe.vocab, s, len, &v) ? (int32_t)v : -1;
}

static int add_special(int32_t *v, int *n, int32_t id)
{
	if (*n >= 8)
		return err_set("post_processor: more than 8 special tokens around a sequence");
	v[(*n)++] = id;
	return 0;
}

/* The ids a post-processor puts around a single sequence. */
static int load_post(tok *t, json_object *o)
{
	const char *ty = get_str(o, "type");
	if (!ty)
		return err_set("post_processor has no \"type\"");
	if (!strcmp(ty, "Sequence")) {
		json_object *l = get(o, "processors");
		if (!l || !json_object_is_type(l, json_type_array))
			return err_set("post_processor Sequence has no \"processors\" array");
		for (size_t i = 0; i < json_object_array_length(l); i++)
			if (load_post(t, json_object_array_get_idx(l, i)) < 0)
				return -1;
		return 0;
	}
	if (!strcmp(ty, "ByteLevel"))
		return 0;   /* offsets only */
	if (!strcmp(ty, "BertProcessing") || !strcmp(ty, "RobertaProcessing")) {
		json_object *cls = get(o, "cls"), *sep = get(o, "sep");
		if (!cls || !sep || json_object_array_length(cls) != 2 || json_object_array_length(sep) != 2)
			return err_set("post_processor %s: cls or sep is not [token, id]", ty);
		return add_special(t->pre_ids, &t->npre_ids, json_object_get_int(json_object_array_get_idx(cls, 1))) ||
		       add_special(t->post_ids, &t->npost_ids, json_object_get_int(json_object_array_get_idx(sep, 1)));
	}
	if (!strcmp(ty, "TemplateProcessing")) {
		json_object *single = get(o, "single"), *sp = get(o, "special_tokens");
		int seen = 0;
		if (!single || !json_object_is_type(single, json_type_array))
			return err_set("post_processor TemplateProcessing has no \"single\" template");
		for (size_t i = 0; i < json_object_array_length(single); i++) {
			json_object *it = json_object_array_get_idx(single, i), *st;
			if (get(it, "Sequence")) {
				seen = 1;
				continue;
			}
			const char *name = get_str(get(it, "SpecialToken"), "id");
			json_object *ids = name ? get(get(sp, name), "ids") : NULL;
			if (!ids || !json_object_is_type(ids, json_type_array))
				return err_set("post_processor TemplateProcessing: special token \"%s\" has no ids",
				               name ? name : "?");
			for (size_t k = 0; k < json_object_array_length(ids); k++) {
				st = json_object_array_get_idx(ids, k);
				if (seen ? add_special(t->post_ids, &t->npost_ids, json_object_get_int(st)) :
				           add_special(t->pre_ids, &t->npre_ids, json_object_get_int(st)))
					return -1;
			}
		}
		return 0;
	}
	t->spec_err = "post_processor is not supported";
	return 0;
}

/* "bos_token": "<s>" or {"content": "<s>", ...}. */
static const char *config_token(json_object *cfg, const char *key)
{
	json_object *v = get(cfg, key);
	if (v && json_object_is_type(v, json_type_object))
		return get_str(v, "content");
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int load_config(tok *t, json_object *cfg)
{
	json_object *ab = get(cfg, "add_bos_token"), *ae = get(cfg, "add_eos_token");
	if (!ab && !ae)
		return 0;
	/* transformers' Llama-family tokenizers rebuild the template from these two */
	t->npre_ids = t->npost_ids = 0;
	t->spec_err = NULL;
	const char *keys[2] = { "bos_token", "eos_token" };
	json_object *flags[2] = { ab, ae };
	for (int k = 0; k < 2; k++) {
		if (!flags[k] || !json_object_get_boolean(flags[k]))
			continue;
		const char *s = config_token(cfg, keys[k]);
		int32_t id = s ? token_id(t, s) : -1;
		if (id < 0)
			return err_set("tokenizer_config.json: add_%s is true but %s is %s%s%s", keys[k],
			               keys[k], s ? "\"" : "", s ? s : "missing", s ? "\", not a token" : "");
		if (k == 0 ? add_special(t->pre_ids, &t->npre_ids, id) : add_special(t->post_ids, &t->npost_ids, id))
			return -1;
	}
	return 0;
}

static int load_added(tok *t, json_object *l)
{
	size_t n = l ? json_object_array_length(l) : 0;
	if (l && !json_object_is_type(l, json_type_array))
		return err_set("added_tokens is not an array");
	if (!(t->added = calloc(n + 1, sizeof *t->added)))
		return err_oom();
	for (size_t i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(l, i), *idv = get(a, "id");
		const char *c = get_str(a, "content");
		if (!c || !idv || !json_object_is_type(idv, json_type_int) || json_object_get_int64(idv) < 0 ||
		    json_object_get_int64(idv) >= TOK_MAX_IDS)
			return err_set("added_tokens[%zu]: no content or no valid id", i);
		added_tok *d = &t->added[t->nadded++];
		if (dup_str(c, &d->s) < 0)
			return -1;
		d->len = strlen(c);
		d->id = (int32_t)json_object_get_int64(idv);
		d->special = get_bool(a, "special", 0);
		d->lstrip = get_bool(a, "lstrip", 0);
		d->rstrip = get_bool(a, "rstrip", 0);
		d->single_word = get_bool(a, "single_word", 0);
		d->normalized = get_bool(a, "normalized", !d->special);
		if (!d->len)
			continue;   /* tokenizers never matches an empty token */
		if (trie_add(d->normalized ? &t->norm : &t->raw, d->s, d->len, t->nadded - 1) < 0)
			return -1;
	}
	return 0;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	tok_buf b = { 0 };
	char chunk[65536];
	size_t n;
	if (!f) {
		err_set("%s:", path);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (tok_buf_add(&b, chunk, n) < 0) {
			fclose(f);
			free(b.p);
			return NULL;
		}
	if (ferror(f)) {
		err_set("%s:", path);
		fclose(f);
		free(b.p);
		return NULL;
	}
	fclose(f);
	*len = b.n;
	return b.p ? b.p : strdup("");
}

static json_object *parse_json(const char *path)
{
	size_t len;
	char *s = slurp(path, &len);
	if (!s)
		return NULL;
	if (!tok_utf8_valid(s, len)) {   /* JSON text is UTF-8; tokenizers refuses anything else */
		free(s);
		err_set("%s: not valid UTF-8", path);
		return NULL;
	}
	json_tokener *tk = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
	if (!tk) {
		free(s);
		err_oom();
		return NULL;
	}
	json_object *o = json_tokener_parse_ex(tk, s, (int)len);
	enum json_tokener_error e = json_tokener_get_error(tk);
	if (!o || e != json_tokener_success || tk->char_offset != (int)len) {
		err_set("%s: not valid JSON (%s)", path, o ? "trailing data" :
		        e == json_tokener_continue ? "unexpected end of data" : json_tokener_error_desc(e));
		json_object_put(o);
		o = NULL;
	} else if (!json_object_is_type(o, json_type_object)) {
		err_set("%s: not a JSON object", path);
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tk);
	free(s);
	return o;
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int tok_present(const char *path)
{
	struct stat st;
	char buf[4096];
	if (stat(path, &st) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return S_ISREG(st.st_mode);
	snprintf(buf, sizeof buf, "%s/tokenizer.json", path);
	return stat(buf, &st) == 0;
}

int tok_present_dir(const char *path)
{
	return is_dir(path) && tok_present(path);
}

static void byte_level_tables(tok *t)
{
	int n = 0;
	for (int c = 0; c < 324; c++)
		t->char_byte[c] = -1;
	for (int b = 0; b < 256; b++) {
		int keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
		t->byte_char[b] = keep ? b : 256 + n++;
		t->char_byte[t->byte_char[b]] = (int16_t)b;
	}
}

static int tok_init(tok *t, json_object *tj, json_object *cfg)
{
	json_object *v;
	byte_level_tables(t);
	t->bos = -1;
	if ((v = get(tj, "truncation")))
		return err_set("truncation is set: not supported");
	if ((v = get(tj, "padding")) && get_str(v, "strategy") == NULL && get(v, "strategy") &&
	    json_object_is_type(get(v, "strategy"), json_type_object))
		return err_set("padding to a fixed length is set: not supported");
	if (!(v = get(tj, "model")))
		return err_set("no \"model\"");
	if (tok_bpe_load(&t->bpe, v) < 0)
		return err_prefix("model: "), -1;
	if (load_added(t, get(tj, "added_tokens")) < 0)
		return -1;
	t->nvocab = t->bpe.nid;
	for (int i = 0; i < t->nadded; i++)
		if (t->added[i].id >= t->nvocab)
			t->nvocab = t->added[i].id + 1;
	if (!(t->added_of = malloc((size_t)t->nvocab * sizeof *t->added_of)))
		return err_oom();
	for (int i = 0; i < t->nvocab; i++)
		t->added_of[i] = -1;
	for (int i = 0; i < t->nadded; i++)
		t->added_of[t->added[i].id] = i;
	if (!t->raw.n && trie_node(&t->raw) < 0)
		return -1;
	if (!t->norm.n && trie_node(&t->norm) < 0)
		return -1;
	if ((v = get(tj, "normalizer")) && load_normalizer(t, v) < 0)
		return -1;
	if ((v = get(tj, "pre_tokenizer")) && load_pretok(t, v) < 0)
		return -1;
	if ((v = get(tj, "decoder"))) {
		t->has_decoder = 1;
		if (load_decoder(t, v) < 0)
			return -1;
	}
	if ((v = get(tj, "post_processor")) && load_post(t, v) < 0)
		return -1;
	if (cfg && load_config(t, cfg) < 0)
		return -1;
	for (int i = 0; i < t->npre_ids + t->npost_ids; i++) {
		int32_t id = i < t->npre_ids ? t->pre_ids[i] : t->post_ids[i - t->npre_ids];
		if (id < 0 || id >= t->nvocab)
			return err_set("post_processor: special token id %d is outside the vocabulary", id);
	}
	t->bos = t->npre_ids ? t->pre_ids[0] : -1;
	return 0;
}

tok *tok_load(const char *path)
{
	char tj_path[4096], cfg_path[4096];
	if (is_dir(path)) {
		snprintf(tj_path, sizeof tj_path, "%s/tokenizer.json", path);
		snprintf(cfg_path, sizeof cfg_path, "%s/tokenizer_config.json", path);
	} else {
		const char *sl = strrchr(path, '/');
		snprintf(tj_path, sizeof tj_path, "%s", path);
		if (sl)
			snprintf(cfg_path, sizeof cfg_path, "%.*s/tokenizer_config.json", (int)(sl - path), path);
		else
			snprintf(cfg_path, sizeof cfg_path, "tokenizer_config.json");
	}
	json_object *tj = parse_json(tj_path), *cfg = NULL;
	if (!tj)
		return NULL;
	struct stat st;
	if (stat(cfg_path, &st) == 0 && !(cfg = parse_json(cfg_path))) {
		json_object_put(tj);
		return NULL;
	}
	tok *t = calloc(1, sizeof *t);
	if (!t || !(t->path = strdup(tj_path))) {
		free(t);
		json_object_put(tj);
		json_object_put(cfg);
		err_oom();
		return NULL;
	}
	int rc = tok_init(t, tj, cfg);
	json_object_put(tj);
	json_object_put(cfg);
	if (rc < 0) {
		err_prefix("%s: ", tj_path);
		tok_free(t);
		return NULL;
	}
	return t;
}

static void steps_free(step *s, int n)
{
	for (int i = 0; i < n; i++) {
		free(s[i].str);
		pattern_free(&s[i].pat);
	}
	free(s);
}

void tok_free(tok *t)
{
	if (!t)
		return;
	tok_bpe_free(&t->bpe);
	for (int i = 0; i < t->nadded; i++)
		free(t->added[i].s);
	free(t->added);
	free(t->added_of);
	free(t->raw.v);
	free(t->norm.v);
	steps_free(t->norm_steps, t->nnorm);
	steps_free(t->pre_steps, t->npre);
	steps_free(t->dec_steps, t->ndec);
	pattern_free(&t->gpt2);
	free(t->pa.b.p), free(t->pa.p), free(t->pb.b.p), free(t->pb.p);
	free(t->nbuf.p);
	free(t->sp.v);
	free(t->path);
	free(t);
}

int tok_vocab_size(const tok *t) { return t->nvocab; }
int tok_bos(const tok *t) { return t->bos; }

int tok_is_special(const tok *t, int32_t id)
{
	int k = id >= 0 && id < t->nvocab ? t->added_of[id] : -1;
	return k >= 0 && t->added[k].special;
}

void tok_specials(const tok *t, const int32_t **pre, int *npre, const int32_t **post, int *npost)
{
	*pre = t->pre_ids;
	*npre = t->npre_ids;
	*post = t->post_ids;
	*npost = t->npost_ids;
}

/* ---- encoding ---- */

/* tokenizers' AddedVocabulary::find_matches: segments of s, an added token (index) or text (-1). */
typedef struct { size_t s, e; int tok; } seg;

static int find_added(const tok *t, const trie *tr, const char *s, size_t len, seg **out, size_t *nout)
{
	size_t n = 0, cap = 8, start = 0;
	seg *v = malloc(cap * sizeof *v);
	if (!v)
		return err_oom();
	for (size_t i = 0; tr->v[0].child >= 0 && i < len;) {
		size_t ml = 0;
		int k = tr->first[(unsigned char)s[i]] ? trie_longest(tr, s + i, len - i, &ml) : -1;
		if (k < 0) {
			i++;
			continue;
		}
		const added_tok *a = &t->added[k];
		size_t ms = i, me = i + ml;
		i = me;
		if (a->single_word) {
			size_t l;
			int before = ms > 0 && is_alnum(u8_get(s + u8_back(s, ms), &l));
			int after = me < len && is_alnum(u8_get(s + me, &l));
			if (before || after)
				continue;
		}
		if (a->lstrip) {
			while (ms > start) {
				size_t p = u8_back(s, ms), l;
				if (!is_white(u8_get(s + p, &l)))
					break;
				ms = p;
			}
		}
		if (a->rstrip) {
			size_t l;
			while (me < len && is_white(u8_get(s + me, &l)))
				me += l;
			i = me;
		}
		if (n + 2 > cap) {
			cap *= 2;
			seg *q = realloc(v, cap * sizeof *q);
			if (!q)
				return free(v), err_oom();
			v = q;
		}
		if (ms > start)
			v[n++] = (seg){ start, ms, -1 };
		v[n++] = (seg){ ms, me, k };
		start = me;
	}
	if (start < len) {
		if (n + 1 > cap) {
			seg *q = realloc(v, (cap + 1) * sizeof *q);
			if (!q)
				return free(v), err_oom();
			v = q;
		}
		v[n++] = (seg){ start, len, -1 };
	}
	*out = v;
	*nout = n;
	return 0;
}

static int replace_all(pattern *p, const char *content, const char *s, size_t len, tok_buf *out)
{
	size_t pos = 0, prev = 0, ms, me;
	int rc;
	out->n = 0;
	while ((rc = pattern_next(p, s, len, &pos, &ms, &me)) == 1) {
		if (tok_buf_add(out, s + prev, ms - prev) < 0 || tok_buf_add(out, content, strlen(content)) < 0)
			return -1;
		prev = me;
	}
	if (rc < 0)
		return -1;
	return tok_buf_add(out, s + prev, len - prev);
}

/* Run the normalizer over s into t->nbuf. */
static int normalize(tok *t, const char *s, size_t len)
{
	tok_buf tmp = { 0 };
	t->nbuf.n = 0;
	if (tok_buf_add(&t->nbuf, s, len) < 0)
		return -1;
	for (int i = 0; i < t->nnorm; i++) {
		step *st = &t->norm_steps[i];
		const char *cur = t->nbuf.p;
		size_t n = t->nbuf.n;
		tmp.n = 0;
		switch (st->kind) {
		case N_NFC: case N_NFD: case N_NFKC: case N_NFKD: {
			/* ASCII is the same in every normalization form */
			size_t k = 0;
			while (k < n && !((unsigned char)cur[k] & 0x80))
				k++;
			if (k == n) {
				if (tok_buf_add(&tmp, cur, n) < 0)
					return free(tmp.p), -1;
				break;
			}
			int opt = UTF8PROC_STABLE | (st->kind == N_NFC || st->kind == N_NFKC ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE) |
			          (st->kind >= N_NFKC ? UTF8PROC_COMPAT : 0);
			utf8proc_uint8_t *o = NULL;
			utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)cur, (utf8proc_ssize_t)n, &o, (utf8proc_option_t)opt);
			if (r < 0) {
				free(tmp.p);
				return err_set("normalizer: %s", utf8proc_errmsg(r));
			}
			int rc = tok_buf_add(&tmp, o, (size_t)r);
			free(o);
			if (rc < 0)
				return free(tmp.p), -1;
			break;
		}
		case N_PREPEND:
			if (n && (tok_buf_add(&tmp, st->str, strlen(st->str)) < 0 || tok_buf_add(&tmp, cur, n) < 0))
				return free(tmp.p), -1;
			break;
		case N_REPLACE:
			if (replace_all(&st->pat, st->str, cur, n, &tmp) < 0)
				return free(tmp.p), -1;
			break;
		case N_STRIP: {
			size_t a = 0, b = n, l;
			while (st->a && a < b && is_white(u8_get(cur + a, &l)))
				a += l;
			while (st->b && b > a && is_white(u8_get(cur + u8_back(cur, b), &l)))
				b = u8_back(cur, b);
			if (tok_buf_add(&tmp, cur + a, b - a) < 0)
				return free(tmp.p), -1;
			break;
		}
		}
		tok_buf sw = t->nbuf;
		t->nbuf = tmp;
		tmp = sw;
	}
	free(tmp.p);
	return 0;
}

/* One pre-tokenizer step over every piece of in, into out. */
static int pretok_step(tok *t, step *st, pieces *in, pieces *out)
{
	tok_buf b = { 0 }, m = { 0 };
	int rc = 0;
	pieces_reset(out);
	for (size_t i = 0; i < in->n && rc == 0; i++) {
		const char *s = in->b.p + in->p[i].off;
		size_t len = in->p[i].len, l;
		int first = in->p[i].first;
		spans *sp = &t->sp;
		switch (st->kind) {
		case P_SPLIT:
			if ((rc = pattern_spans(&st->pat, s, len, sp)) < 0)
				break;
			if (st->b)
				for (size_t k = 0; k < sp->n; k++)
					sp->v[k].m = !sp->v[k].m;
			rc = split_spans(out, s, sp->v, sp->n, st->a, first);
			break;
		case P_BYTELEVEL: {
			b.n = 0;
			if (st->a && s[0] != ' ')
				rc = tok_buf_add(&b, " ", 1);
			rc = rc || tok_buf_add(&b, s, len);
			if (rc)
				break;
			if (st->b) {
				if ((rc = pattern_spans(&t->gpt2, b.p, b.n, sp)) < 0)
					break;
			} else {
				sp->n = 0;
				rc = spans_add(sp, 0, b.n, 0);
			}
			/* Each span's bytes become their code points of the byte-level alphabet. */
			for (size_t k = 0; k < sp->n && rc == 0; k++) {
				m.n = 0;
				for (size_t j = sp->v[k].s; j < sp->v[k].e && rc == 0; j++) {
					char c8[4];
					rc = tok_buf_add(&m, c8, u8_put(c8, t->byte_char[(unsigned char)b.p[j]]));
				}
				rc = rc || pieces_add(out, m.p, m.n, first && sp->v[k].s == 0);
			}
			break;
		}
		case P_METASPACE: {
			b.n = 0;
			if ((st->a == PREPEND_ALWAYS || (st->a == PREPEND_FIRST && first)) &&
			    !(len >= strlen(st->str) && !memcmp(s, st->str, strlen(st->str))))
				rc = tok_buf_add(&b, st->str, strlen(st->str));
			for (size_t j = 0; j < len && rc == 0; j++)
				rc = s[j] == ' ' ? tok_buf_add(&b, st->str, strlen(st->str)) : tok_buf_add(&b, s + j, 1);
			if (rc)
				break;
			sp->n = 0;
			if (st->b) {
				size_t prev = 0, rl = strlen(st->str);
				for (size_t j = 0; j + rl <= b.n && rc == 0;) {
					if (!memcmp(b.p + j, st->str, rl)) {
						if (j > prev)
							rc = spans_add(sp, prev, j, 0);
						rc = rc || spans_add(sp, j, j + rl, 1);
						j += rl;
						prev = j;
					} else
						j++;
				}
				if (!rc && prev < b.n)
					rc = spans_add(sp, prev, b.n, 0);
				if (!rc)
					rc = split_spans(out, b.p, sp->v, sp->n, B_NEXT, first);
			} else
				rc = pieces_add(out, b.p, b.n, first);
			break;
		}
		case P_DIGITS: {
			sp->n = 0;
			for (size_t j = 0; j < len && rc == 0; j += l) {
				utf8proc_category_t k = utf8proc_category(u8_get(s + j, &l));
				rc = spans_add(sp, j, j + l, k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
			}
			if (!rc && st->a) {   /* Isolated: non-digit runs stay whole */
				size_t w = 0;
				for (size_t k = 0; k < sp->n; k++)
					if (w > 0 && !sp->v[k].m && !sp->v[w - 1].m)
						sp->v[w - 1].e = sp->v[k].e;
					else
						sp->v[w++] = sp->v[k];
				sp->n = w;
			}
			rc = rc || split_spans(out, s, sp->v, sp->n, st->a ? B_ISOLATED : B_CONTIG, first);
			break;
		}
		}
	}
	free(b.p);
	free(m.p);
	return rc ? -1 : 0;
}

/* Pre-tokenize and model one stretch of normalized text. */
static int encode_text(tok *t, const char *s, size_t len, int first, tok_ids *out)
{
	pieces_reset(&t->pa);
	if (pieces_add(&t->pa, s, len, first) < 0)
		return -1;
	for (int i = 0; i < t->npre; i++) {
		if (pretok_step(t, &t->pre_steps[i], &t->pa, &t->pb) < 0)
			return -1;
		pieces sw = t->pa;
		t->pa = t->pb;
		t->pb = sw;
	}
	for (size_t i = 0; i < t->pa.n; i++)
		if (tok_bpe_word(&t->bpe, t->pa.b.p + t->pa.p[i].off, t->pa.p[i].len, out) < 0)
			return -1;
	return 0;
}

int tok_encode(tok *t, const char *text, size_t len, int flags, tok_ids *out)
{
	seg *raw = NULL, *nrm = NULL;
	size_t nraw = 0, nnrm = 0;
	int rc = 0;
	if (!tok_utf8_valid(text, len))
		return err_set("text is not valid UTF-8");
	if (flags & TOK_SPECIAL) {
		if (t->spec_err)
			return err_set("%s: %s", t->path, t->spec_err);
		for (int i = 0; i < t->npre_ids; i++)
			if (tok_ids_push(out, t->pre_ids[i]) < 0)
				return -1;
	}
	if (find_added(t, &t->raw, text, len, &raw, &nraw) < 0)
		return -1;
	for (size_t i = 0; i < nraw && rc == 0; i++) {
		if (raw[i].tok >= 0) {
			rc = tok_ids_push(out, t->added[raw[i].tok].id);
			continue;
		}
		if ((rc = normalize(t, text + raw[i].s, raw[i].e - raw[i].s)) < 0)
			break;
		/* normalize() reuses nbuf: keep this segment's text while its pieces are encoded */
		tok_buf norm = t->nbuf;
		t->nbuf = (tok_buf){ 0 };
		if ((rc = find_added(t, &t->norm, norm.p, norm.n, &nrm, &nnrm)) == 0)
			for (size_t k = 0; k < nnrm && rc == 0; k++)
				rc = nrm[k].tok >= 0 ? tok_ids_push(out, t->added[nrm[k].tok].id) :
				     encode_text(t, norm.p + nrm[k].s, nrm[k].e - nrm[k].s, raw[i].s == 0 && nrm[k].s == 0, out);
		free(nrm);
		nrm = NULL;
		free(t->nbuf.p);
		t->nbuf = norm;
	}
	free(raw);
	if (rc == 0 && (flags & TOK_SPECIAL))
		for (int i = 0; i < t->npost_ids && rc == 0; i++)
			rc = tok_ids_push(out, t->post_ids[i]);
	return rc;
}

/* ---- decoding ---- */

typedef struct {
	tok_buf b;
	struct { size_t off, len; } *v;
	size_t n, cap;
} strs;

static int strs_add(strs *a, const char *s, size_t len)
{
	if (a->n == a->cap) {
		size_t c = a->cap ? 2 * a->cap : 64;
		void *q = realloc(a->v, c * sizeof *a->v);
		if (!q)
			return err_oom();
		a->v = q;
		a->cap = c;
	}
	a->v[a->n].off = a->b.n;
	a->v[a->n++].len = len;
	return tok_buf_add(&a->b, s, len);
}

static void strs_free(strs *a)
{
	free(a->b.p);
	free(a->v);
}

/* Rust's String::from_utf8_lossy: each maximal invalid subpart becomes one U+FFFD. */
static int utf8_lossy(const char *str, size_t len, tok_buf *out)
{
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < len;) {
		unsigned c = s[i];
		size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		size_t k = 1;
		if (n > 1) {
			unsigned lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
			unsigned hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
			if (i + 1 < len && s[i + 1] >= lo && s[i + 1] <= hi) {
				k = 2;
				while (k < n && i + k < len && (s[i + k] & 0xc0) == 0x80)
					k++;
			}
		}
		if (n && k == n) {
			if (tok_buf_add(out, s + i, n) < 0)
				return -1;
		} else if (tok_buf_add(out, "\xef\xbf\xbd", 3) < 0)
			return -1;
		i += n && k == n ? n : k;
	}
	return 0;
}

static int decode_step(tok *t, step *st, strs *in, strs *out)
{
	tok_buf b = { 0 };
	int rc = 0;
	out->n = 0;
	out->b.n = 0;
	switch (st->kind) {
	case D_BYTELEVEL:
		for (size_t i = 0; i < in->n && rc == 0; i++) {
			const char *s = in->b.p + in->v[i].off;
			size_t len = in->v[i].len, l, start = b.n;
			for (size_t j = 0; j < len && rc == 0; j += l) {
				int32_t c = u8_get(s + j, &l);
				if (c >= 324 || t->char_byte[c] < 0) {
					/* a character outside the alphabet: the token's own bytes */
					b.n = start;
					rc = tok_buf_add(&b, s, len);
					break;
				}
				char ch = (char)t->char_byte[c];
				rc = tok_buf_add(&b, &ch, 1);
			}
		}
		if (!rc) {
			tok_buf o = { 0 };
			rc = utf8_lossy(b.p ? b.p : "", b.n, &o) || strs_add(out, o.p ? o.p : "", o.n);
			free(o.p);
		}
		break;
	case D_REPLACE:
		for (size_t i = 0; i < in->n && rc == 0; i++)
			rc = replace_all(&st->pat, st->str, in->b.p + in->v[i].off, in->v[i].len, &b) ||
			     strs_add(out, b.p, b.n);
		break;
	case D_BYTEFALLBACK: {
		tok_buf bytes = { 0 };
		for (size_t i = 0; i <= in->n && rc == 0; i++) {
			const char *s = i < in->n ? in->b.p + in->v[i].off : NULL;
			size_t len = i < in->n ? in->v[i].len : 0;
			unsigned v;
			char hex[3];
			if (s && len == 6 && !memcmp(s, "<0x", 3) && s[5] == '>' &&
			    (memcpy(hex, s + 3, 2), hex[2] = 0, sscanf(hex, "%2x", &v) == 1) &&
			    strspn(hex, "0123456789abcdefABCDEF") == 2) {
				char c = (char)v;
				rc = tok_buf_add(&bytes, &c, 1);
				continue;
			}
			if (bytes.n) {
				if (tok_utf8_valid(bytes.p, bytes.n))
					rc = strs_add(out, bytes.p, bytes.n);
				else
					for (size_t k = 0; k < bytes.n && rc == 0; k++)
						rc = strs_add(out, "\xef\xbf\xbd", 3);
				bytes.n = 0;
			}
			if (s && rc == 0)
				rc = strs_add(out, s, len);
		}
		free(bytes.p);
		break;
	}
	case D_FUSE:
		for (size_t i = 0; i < in->n && rc == 0; i++)
			rc = tok_buf_add(&b, in->b.p + in->v[i].off, in->v[i].len);
		rc = rc || strs_add(out, b.p ? b.p : "", b.n);
		break;
	case D_STRIP:
		for (size_t i = 0; i < in->n && rc == 0; i++) {
			const char *s = in->b.p + in->v[i].off;
			size_t a = 0, e = in->v[i].len, l;
			for (int k = 0; k < st->a && a < e && u8_get(s + a, &l) == st->ch; k++)
				a += l;
			for (int k = 0; k < st->b && e > a && u8_get(s + u8_back(s, e), &l) == st->ch; k++)
				e = u8_back(s, e);
			rc = strs_add(out, s + a, e - a);
		}
		break;
	case D_METASPACE:
		/* tokenizers drops every replacement character of the first token (not only a leading
		 * one) unless the prepend scheme is "never", and turns the others into spaces */
		for (size_t i = 0; i < in->n && rc == 0; i++) {
			const char *s = in->b.p + in->v[i].off;
			size_t len = in->v[i].len, l;
			b.n = 0;
			for (size_t j = 0; j < len && rc == 0; j += l) {
				if (u8_get(s + j, &l) != st->ch)
					rc = tok_buf_add(&b, s + j, l);
				else if (!(i == 0 && st->a != PREPEND_NEVER))
					rc = tok_buf_add(&b, " ", 1);
			}
			rc = rc || strs_add(out, b.p ? b.p : "", b.n);
		}
		break;
	}
	free(b.p);
	return rc ? -1 : 0;
}

char *tok_decode(tok *t, const int32_t *ids, size_t n, int flags, size_t *outlen)
{
	strs a = { 0 }, b = { 0 };
	tok_buf o = { 0 };
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int32_t id = ids[i];
		int k = id >= 0 && id < t->nvocab ? t->added_of[id] : -1;
		if (k >= 0) {
			if (!t->added[k].special || (flags & TOK_SPECIAL))
				rc = strs_add(&a, t->added[k].s, t->added[k].len);
		} else if (id >= 0 && id < t->bpe.nid && t->bpe.id_str[id]) {
			rc = strs_add(&a, t->bpe.id_str[id], t->bpe.id_len[id]);
		} else if (id < 0 || id >= t->nvocab)
			rc = err_set("token id %d is not in the vocabulary (%d ids)", id, t->nvocab);
		/* an id inside the range that names no token decodes to nothing, as in tokenizers */
	}
	for (int i = 0; i < t->ndec && rc == 0; i++) {
		rc = decode_step(t, &t->dec_steps[i], &a, &b);
		strs sw = a;
		a = b;
		b = sw;
	}
	/* no decoder: tokens joined by spaces */
	for (size_t i = 0; i < a.n && rc == 0; i++)
		rc = (!t->has_decoder && i > 0 && tok_buf_add(&o, " ", 1)) || tok_buf_add(&o, a.b.p + a.v[i].off, a.v[i].len);
	if (rc == 0 && !o.p)
		rc = tok_buf_add(&o, "", 0);
	strs_free(&a);
	strs_free(&b);
	if (rc) {
		free(o.p);
		return NULL;
	}
	if (outlen)
		*outlen = o.n;
	return o.p;
}
