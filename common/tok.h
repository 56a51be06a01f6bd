/* tok.h — Hugging Face tokenizers in C: reading a checkpoint's tokenizer.json (and its
 * tokenizer_config.json) and encoding and decoding exactly as the `tokenizers` library does.
 *
 * Supported: the BPE model (merges as "a b" strings or ["a", "b"] pairs, byte_fallback, fuse_unk,
 * ignore_merges, unk_token, continuing_subword_prefix, end_of_word_suffix); the normalizers NFC,
 * NFD, NFKC, NFKD (utf8proc), Prepend, Replace, Strip and Sequence; the pre-tokenizers ByteLevel,
 * Split (regexes run by PCRE2, translated from Oniguruma's dialect), Metaspace, Digits and
 * Sequence; added and special tokens, matched before normalization (or after it, for tokens marked
 * "normalized") with their lstrip, rstrip and single_word flags; the post-processors
 * TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing and Sequence; the decoders
 * ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace and Sequence. Anything else (another
 * model type, an unknown normalizer, pre-tokenizer or decoder) is refused at load with its name.
 *
 * Special tokens on encode (TOK_SPECIAL): when tokenizer_config.json has "add_bos_token" or
 * "add_eos_token", those decide (BOS and EOS are its "bos_token" and "eos_token"), as the
 * transformers Llama-family tokenizers do; otherwise the tokenizer.json post-processor's template
 * for a single sequence. Without TOK_SPECIAL, nothing is added (text that spells a special token
 * still encodes to it, as Hugging Face does).
 *
 * Text must be valid UTF-8; anything else is refused (Hugging Face takes Rust strings, which
 * cannot hold it). Decoding follows tokenizers' Tokenizer::decode: special tokens are skipped
 * unless TOK_SPECIAL is given; transformers' clean_up_tokenization_spaces is not applied. */
#ifndef RECYCLE_TOK_H
#define RECYCLE_TOK_H

#include <stddef.h>
#include <stdint.h>

typedef struct tok tok;

#define TOK_SPECIAL 1   /* encode: add the special tokens; decode: keep them */
/* Token ids are below this (real vocabularies hold well under a million): the id tables are
 * arrays indexed by id. */
#define TOK_MAX_IDS (1 << 22)

/* A growable array of token ids. */
typedef struct {
	int32_t *v;
	size_t n, cap;
} tok_ids;

/* path: a directory holding tokenizer.json (and optionally tokenizer_config.json), or a
 * tokenizer.json file (a tokenizer_config.json beside it is read too). NULL on error, with
 * err_get() = "PATH: why". */
tok *tok_load(const char *path);
void tok_free(tok *t);
/* 1 when path is a directory with a tokenizer.json, or a file: what tok_load accepts. */
int tok_present(const char *path);
/* 1 when path is a directory holding a tokenizer.json. */
int tok_present_dir(const char *path);

int tok_vocab_size(const tok *t);     /* highest id + 1, added tokens included */
int tok_bos(const tok *t);            /* the BOS id TOK_SPECIAL puts first, or -1 */
int tok_is_special(const tok *t, int32_t id);   /* 1 for an added token marked special */
/* The ids TOK_SPECIAL puts before and after a sequence. */
void tok_specials(const tok *t, const int32_t **pre, int *npre, const int32_t **post, int *npost);

/* Append the ids of text[0..len) to out. -1 with err_set on error (invalid UTF-8, out of
 * memory). Not thread-safe on one tok (it caches words). */
int tok_encode(tok *t, const char *text, size_t len, int flags, tok_ids *out);
/* The text of ids as a malloc'ed NUL-terminated string (length in *len if not NULL); NULL with
 * err_set when an id is outside [0, tok_vocab_size) or on out of memory. An id inside that range
 * that names no token (a gap in the vocabulary) decodes to nothing, as in tokenizers. */
char *tok_decode(tok *t, const int32_t *ids, size_t n, int flags, size_t *len);

int tok_ids_push(tok_ids *a, int32_t id);   /* -1 on out of memory */
void tok_ids_free(tok_ids *a);

/* 1 when s[0..len) is valid UTF-8 (no surrogates, no overlong forms, at most U+10FFFF). */
int tok_utf8_valid(const char *s, size_t len);

#endif
