/* tok_internal.h — the parts of the tokenizer module its files share (not for tools): a string →
 * integer hash map, a growable byte buffer, and the BPE model (tok_bpe.c). */
#ifndef RECYCLE_TOK_INTERNAL_H
#define RECYCLE_TOK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tok.h"

/* Growable bytes. */
typedef struct {
	char *p;
	size_t n, cap;
} tok_buf;
int tok_buf_add(tok_buf *b, const void *p, size_t n);   /* -1 on out of memory */

/* Open-addressing map from byte strings to int64 values; keys are copied into an arena. */
typedef struct {
	uint32_t *slot;       /* entry index + 1, 0 = empty */
	size_t nslot;         /* power of two */
	struct tok_ent { size_t off; uint32_t len; uint32_t hash; int64_t val; } *ent;
	size_t n, cap;
	tok_buf keys;
} tok_map;
int tok_map_put(tok_map *m, const char *k, size_t len, int64_t val);   /* replaces; -1 on OOM */
int tok_map_get(const tok_map *m, const char *k, size_t len, int64_t *val);   /* 1 found, 0 not */
void tok_map_clear(tok_map *m);
void tok_map_free(tok_map *m);

/* The BPE model. */
typedef struct {
	tok_map vocab;            /* token string → id */
	char **id_str;            /* id → token string (NULL for ids the vocabulary lacks) */
	uint32_t *id_len;
	int nid;                  /* size of id_str */
	struct tok_merge { uint64_t key; int32_t rank, id; } *merge;   /* open addressing */
	size_t nmerge_slot;
	int unk;                  /* unk_token's id or -1 (-2: named but not in the vocabulary) */
	char *unk_name;
	int byte_fallback, fuse_unk, ignore_merges;
	char *prefix, *suffix;    /* continuing_subword_prefix, end_of_word_suffix, or NULL */
	int32_t byte_tok[256];    /* byte_fallback: the id of "<0xXX>", or -1 */
	tok_map cache;            /* word → offset<<20 | count into cache_ids */
	tok_ids cache_ids;
} tok_bpe;

struct json_object;
/* Load the "model" object of tokenizer.json; -1 with err_set. */
int tok_bpe_load(tok_bpe *m, struct json_object *model);
void tok_bpe_free(tok_bpe *m);
/* Append the ids of one pre-token (a UTF-8 word) to out. */
int tok_bpe_word(tok_bpe *m, const char *w, size_t len, tok_ids *out);

/* The UTF-8 length of the character starting with byte c (1 for a stray byte). */
static inline size_t tok_u8len(unsigned char c)
{
	return c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

#endif
