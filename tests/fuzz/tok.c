/* tok.c — libFuzzer target: the tokenizer (tok.h). The input is a tokenizer.json, a NUL byte,
 * then a text. A tokenizer it loads must encode any valid UTF-8 text (or say why: an unk_token
 * missing from the vocabulary), to ids inside its vocabulary, the same ids a second time (the word
 * cache), with and without its special tokens; the ids must decode, to valid UTF-8; text that is
 * not UTF-8 must be refused. */
#include "fuzz.h"
#include "tok.h"

static void fz_tok(const uint8_t *d, size_t n)
{
	const uint8_t *z = memchr(d, 0, n);
	size_t jn = z ? (size_t)(z - d) : n;
	const char *text = z ? (const char *)z + 1 : "";
	size_t tn = z ? n - jn - 1 : 0;
	char path[256];
	snprintf(path, sizeof path, "%s/tokenizer.json", fz_dir());
	fz_put_file(path, d, jn);
	fz_err_clear();
	tok *t = tok_load(path);
	if (!t) {
		fz_check_error("tok_load", n);
		return;
	}
	int V = tok_vocab_size(t);
	FZ_CHECK(V >= 0, "vocabulary size %d", V);
	int valid = tok_utf8_valid(text, tn);
	for (int flags = 0; flags <= TOK_SPECIAL; flags++) {
		tok_ids a = { 0 }, b = { 0 };
		fz_err_clear();
		int ra = tok_encode(t, text, tn, flags, &a);
		int rb = tok_encode(t, text, tn, flags, &b);
		FZ_CHECK(ra == rb, "encoding twice: %d then %d", ra, rb);
		if (!valid)
			FZ_CHECK(ra < 0 && strstr(err_get(), "not valid UTF-8"), "text that is not UTF-8 accepted");
		if (ra < 0) {
			fz_check_error("tok_encode", n);
		} else {
			FZ_CHECK(a.n == b.n && (a.n == 0 || !memcmp(a.v, b.v, a.n * sizeof *a.v)), "encoding twice differs");
			for (size_t i = 0; i < a.n; i++)
				FZ_CHECK(a.v[i] >= 0 && a.v[i] < V, "id %d outside [0, %d)", a.v[i], V);
			size_t len;
			fz_err_clear();
			char *s = tok_decode(t, a.v, a.n, flags, &len);
			FZ_CHECK(s != NULL, "decoding encoded ids: %s", err_get());
			if (s)
				FZ_CHECK(tok_utf8_valid(s, len), "decoded text is not UTF-8");
			free(s);
		}
		tok_ids_free(&a);
		tok_ids_free(&b);
	}
	tok_free(t);
}
FZ_TARGET(tok)
