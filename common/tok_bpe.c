/* tok_bpe.c — the BPE model of Hugging Face tokenizers: vocabulary and merge tables, and the
 * merging of one pre-token into ids.
 *
 * A word starts as one symbol per character (continuing_subword_prefix before every character but
 * the first, end_of_word_suffix after the last; a character outside the vocabulary becomes its
 * <0xXX> byte tokens with byte_fallback, else the unknown token, fused with a neighbouring unknown
 * under fuse_unk). Then the adjacent pair of lowest merge rank is merged, leftmost first, until no
 * pair has a rank: a binary heap of (rank, position) candidates, checked against the current
 * symbols when popped, as tokenizers' Word::merge_all does. Merged words are cached. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "err.h"
#include "tok_internal.h"

int tok_buf_add(tok_buf *b, const void *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t c = b->cap ? b->cap : 256;
		while (c < b->n + n + 1)
			c *= 2;
		char *q = realloc(b->p, c);
		if (!q)
			return err_oom();
		b->p = q;
		b->cap = c;
	}
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = 0;
	return 0;
}

int tok_ids_push(tok_ids *a, int32_t id)
{
	if (a->n == a->cap) {
		size_t c = a->cap ? 2 * a->cap : 64;
		int32_t *v = realloc(a->v, c * sizeof *v);
		if (!v)
			return err_oom();
		a->v = v;
		a->cap = c;
	}
	a->v[a->n++] = id;
	return 0;
}

void tok_ids_free(tok_ids *a)
{
	free(a->v);
	*a = (tok_ids){ 0 };
}

/* ---- the string map ---- */

static uint32_t hash_bytes(const char *k, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)k[i]) * 16777619u;
	return h;
}

static size_t map_find(const tok_map *m, const char *k, size_t len, uint32_t h)
{
	size_t mask = m->nslot - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		uint32_t s = m->slot[i];
		if (!s)
			return i;
		const struct tok_ent *e = &m->ent[s - 1];
		if (e->hash == h && e->len == len && !memcmp(m->keys.p + e->off, k, len))
			return i;
	}
}

static int map_grow(tok_map *m)
{
	size_t ns = m->nslot ? 2 * m->nslot : 1024;
	uint32_t *slot = calloc(ns, sizeof *slot);
	if (!slot)
		return err_oom();
	for (size_t j = 0; j < m->n; j++) {
		size_t i = m->ent[j].hash & (ns - 1);
		while (slot[i])
			i = (i + 1) & (ns - 1);
		slot[i] = (uint32_t)j + 1;
	}
	free(m->slot);
	m->slot = slot;
	m->nslot = ns;
	return 0;
}

int tok_map_put(tok_map *m, const char *k, size_t len, int64_t val)
{
	if (len > UINT32_MAX || m->n >= UINT32_MAX - 1)
		return err_set("too many or too long tokens");
	if ((m->n + 1) * 2 > m->nslot && map_grow(m) < 0)
		return -1;
	uint32_t h = hash_bytes(k, len);
	size_t i = map_find(m, k, len, h);
	if (m->slot[i]) {
		m->ent[m->slot[i] - 1].val = val;
		return 0;
	}
	if (m->n == m->cap) {
		size_t c = m->cap ? 2 * m->cap : 512;
		struct tok_ent *e = realloc(m->ent, c * sizeof *e);
		if (!e)
			return err_oom();
		m->ent = e;
		m->cap = c;
	}
	size_t off = m->keys.n;
	if (tok_buf_add(&m->keys, k, len) < 0)
		return -1;
	m->ent[m->n] = (struct tok_ent){ off, (uint32_t)len, h, val };
	m->slot[i] = (uint32_t)++m->n;
	return 0;
}

int tok_map_get(const tok_map *m, const char *k, size_t len, int64_t *val)
{
	if (!m->n)
		return 0;
	size_t i = map_find(m, k, len, hash_bytes(k, len));
	if (!m->slot[i])
		return 0;
	*val = m->ent[m->slot[i] - 1].val;
	return 1;
}

void tok_map_clear(tok_map *m)
{
	if (m->slot)
		memset(m->slot, 0, m->nslot * sizeof *m->slot);
	m->n = 0;
	m->keys.n = 0;
}

void tok_map_free(tok_map *m)
{
	free(m->slot);
	free(m->ent);
	free(m->keys.p);
	*m = (tok_map){ 0 };
}

/* ---- merges: (left id, right id) → (rank, merged id) ---- */

static uint64_t merge_key(int32_t a, int32_t b) { return (uint64_t)(uint32_t)a << 32 | (uint32_t)b; }

static size_t merge_slot(const tok_bpe *m, uint64_t key)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ull;
	size_t mask = m->nmerge_slot - 1;
	for (size_t i = (size_t)(h >> 20) & mask;; i = (i + 1) & mask)
		if (m->merge[i].id < 0 || m->merge[i].key == key)
			return i;
}

static const struct tok_merge *merge_get(const tok_bpe *m, int32_t a, int32_t b)
{
	if (!m->nmerge_slot)
		return NULL;
	const struct tok_merge *g = &m->merge[merge_slot(m, merge_key(a, b))];
	return g->id < 0 ? NULL : g;
}

/* ---- loading ---- */

static int vocab_id(tok_bpe *m, const char *s, size_t len, int32_t *id)
{
	int64_t v;
	if (!tok_map_get(&m->vocab, s, len, &v))
		return 0;
	*id = (int32_t)v;
	return 1;
}

static int opt_str(json_object *model, const char *key, char **out)
{
	json_object *v;
	*out = NULL;
	if (!json_object_object_get_ex(model, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return err_set("model.%s is not a string", key);
	if (!(*out = strdup(json_object_get_string(v))))
		return err_oom();
	return 0;
}

static int opt_bool(json_object *model, const char *key, int *out)
{
	json_object *v;
	*out = 0;
	if (!json_object_object_get_ex(model, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return err_set("model.%s is not a boolean", key);
	*out = json_object_get_boolean(v);
	return 0;
}

int tok_bpe_load(tok_bpe *m, json_object *model)
{
	json_object *v, *vocab, *merges;
	memset(m, 0, sizeof *m);
	m->unk = -1;
	if (!json_object_object_get_ex(model, "type", &v) || !json_object_is_type(v, json_type_string))
		return err_set("model has no \"type\"");
	if (strcmp(json_object_get_string(v), "BPE"))
		return err_set("model type \"%s\" is not supported (only BPE)", json_object_get_string(v));
	if (json_object_object_get_ex(model, "dropout", &v) && !json_object_is_type(v, json_type_null) &&
	    json_object_get_double(v) != 0)
		return err_set("BPE dropout is not supported (it makes encoding random)");
	if (opt_str(model, "unk_token", &m->unk_name) < 0 || opt_str(model, "continuing_subword_prefix", &m->prefix) < 0 ||
	    opt_str(model, "end_of_word_suffix", &m->suffix) < 0 || opt_bool(model, "byte_fallback", &m->byte_fallback) < 0 ||
	    opt_bool(model, "fuse_unk", &m->fuse_unk) < 0 || opt_bool(model, "ignore_merges", &m->ignore_merges) < 0)
		return -1;
	if (!json_object_object_get_ex(model, "vocab", &vocab) || !json_object_is_type(vocab, json_type_object))
		return err_set("model.vocab is missing or not an object");
	if (!json_object_object_get_ex(model, "merges", &merges) || !json_object_is_type(merges, json_type_array))
		return err_set("model.merges is missing or not an array");

	int maxid = -1;
	json_object_object_foreach(vocab, key, val) {
		if (!json_object_is_type(val, json_type_int))
			return err_set("model.vocab[\"%s\"] is not an integer", key);
		int64_t id = json_object_get_int64(val);
		if (id < 0 || id >= TOK_MAX_IDS)
			return err_set("model.vocab[\"%s\"] = %lld is out of range [0, %d)", key, (long long)id, TOK_MAX_IDS);
		if (tok_map_put(&m->vocab, key, strlen(key), id) < 0)
			return -1;
		if (id > maxid)
			maxid = (int)id;
	}
	m->nid = maxid + 1;
	if (!(m->id_str = calloc((size_t)m->nid + 1, sizeof *m->id_str)) ||
	    !(m->id_len = calloc((size_t)m->nid + 1, sizeof *m->id_len)))
		return err_oom();
	for (size_t i = 0; i < m->vocab.n; i++) {
		const struct tok_ent *e = &m->vocab.ent[i];
		/* keys live in one arena: point into it (it no longer grows) */
		m->id_str[e->val] = m->vocab.keys.p + e->off;
		m->id_len[e->val] = e->len;
	}
	if (m->unk_name) {
		int32_t id;
		m->unk = vocab_id(m, m->unk_name, strlen(m->unk_name), &id) ? id : -2;
	}
	for (int b = 0; b < 256; b++) {
		char s[8];
		int32_t id;
		snprintf(s, sizeof s, "<0x%02X>", b);
		m->byte_tok[b] = m->byte_fallback && vocab_id(m, s, 6, &id) ? id : -1;
	}

	size_t nm = json_object_array_length(merges), ns = 1024;
	while (ns < 2 * nm + 2)
		ns *= 2;
	if (!(m->merge = malloc(ns * sizeof *m->merge)))
		return err_oom();
	for (size_t i = 0; i < ns; i++)
		m->merge[i].id = -1;
	m->nmerge_slot = ns;
	size_t plen = m->prefix ? strlen(m->prefix) : 0;
	tok_buf nb = { 0 };
	for (size_t r = 0; r < nm; r++) {
		json_object *e = json_object_array_get_idx(merges, r);
		const char *a, *b;
		size_t alen, blen;
		if (json_object_is_type(e, json_type_string)) {
			a = json_object_get_string(e);
			const char *sp = strchr(a, ' ');
			if (!sp) {
				free(nb.p);
				return err_set("model.merges[%zu] \"%s\" is not two tokens separated by a space", r, a);
			}
			alen = (size_t)(sp - a);
			b = sp + 1;
			blen = strlen(b);
		} else if (json_object_is_type(e, json_type_array) && json_object_array_length(e) == 2 &&
		           json_object_is_type(json_object_array_get_idx(e, 0), json_type_string) &&
		           json_object_is_type(json_object_array_get_idx(e, 1), json_type_string)) {
			a = json_object_get_string(json_object_array_get_idx(e, 0));
			b = json_object_get_string(json_object_array_get_idx(e, 1));
			alen = strlen(a);
			blen = strlen(b);
		} else {
			free(nb.p);
			return err_set("model.merges[%zu] is neither \"a b\" nor [\"a\", \"b\"]", r);
		}
		int32_t ia, ib, in;
		if (!vocab_id(m, a, alen, &ia) || !vocab_id(m, b, blen, &ib)) {
			free(nb.p);
			return err_set("model.merges[%zu]: a token is not in the vocabulary", r);
		}
		/* The merged token drops the right part's continuing_subword_prefix. */
		size_t cut = plen && blen >= plen && !memcmp(b, m->prefix, plen) ? plen : 0;
		nb.n = 0;
		if (tok_buf_add(&nb, a, alen) < 0 || tok_buf_add(&nb, b + cut, blen - cut) < 0) {
			free(nb.p);
			return -1;
		}
		if (!vocab_id(m, nb.p, nb.n, &in)) {
			free(nb.p);
			return err_set("model.merges[%zu]: the merged token is not in the vocabulary", r);
		}
		/* A pair listed twice keeps its last rank, as tokenizers' hash map does. */
		struct tok_merge *g = &m->merge[merge_slot(m, merge_key(ia, ib))];
		*g = (struct tok_merge){ merge_key(ia, ib), (int32_t)r, in };
	}
	free(nb.p);
	return 0;
}

void tok_bpe_free(tok_bpe *m)
{
	tok_map_free(&m->vocab);
	tok_map_free(&m->cache);
	tok_ids_free(&m->cache_ids);
	free(m->id_str);
	free(m->id_len);
	free(m->merge);
	free(m->unk_name);
	free(m->prefix);
	free(m->suffix);
}

/* ---- merging one word ---- */

struct sym { int32_t id, prev, next; };
struct cand { int32_t rank, pos; };

static int cand_less(struct cand x, struct cand y)
{
	return x.rank < y.rank || (x.rank == y.rank && x.pos < y.pos);
}

static void heap_push(struct cand *h, size_t *n, struct cand c)
{
	size_t i = (*n)++;
	while (i > 0 && cand_less(c, h[(i - 1) / 2])) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = c;
}

static struct cand heap_pop(struct cand *h, size_t *n)
{
	struct cand top = h[0], last = h[--*n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && cand_less(h[c + 1], h[c]))
			c++;
		if (!cand_less(h[c], last))
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n)
		h[i] = last;
	return top;
}

static int word_symbols(tok_bpe *m, const char *w, size_t len, tok_ids *sy)
{
	tok_buf s = { 0 };
	int32_t unk = -1;         /* a pending unknown token (fused with the next under fuse_unk) */
	int rc = 0;
	for (size_t i = 0; i < len && rc == 0;) {
		size_t cl = tok_u8len((unsigned char)w[i]), j = i + cl;
		int32_t id;
		s.n = 0;
		if (i > 0 && m->prefix)
			rc |= tok_buf_add(&s, m->prefix, strlen(m->prefix));
		rc |= tok_buf_add(&s, w + i, cl);
		if (j >= len && m->suffix)
			rc |= tok_buf_add(&s, m->suffix, strlen(m->suffix));
		if (rc)
			break;
		if (vocab_id(m, s.p, s.n, &id)) {
			if (unk >= 0)
				rc |= tok_ids_push(sy, unk);
			unk = -1;
			rc |= tok_ids_push(sy, id);
		} else {
			int all = m->byte_fallback;
			for (size_t k = 0; k < s.n && all; k++)
				all = m->byte_tok[(unsigned char)s.p[k]] >= 0;
			if (all) {
				/* tokenizers adds the bytes before a pending unknown token */
				for (size_t k = 0; k < s.n; k++)
					rc |= tok_ids_push(sy, m->byte_tok[(unsigned char)s.p[k]]);
			} else if (m->unk_name) {
				if (m->unk < 0) {
					free(s.p);
					return err_set("unk_token \"%s\" is not in the vocabulary", m->unk_name);
				}
				if (unk >= 0 && !m->fuse_unk)
					rc |= tok_ids_push(sy, unk);
				unk = m->unk;
			}
			/* no unk_token: the character is dropped, as tokenizers does */
		}
		i = j;
	}
	if (!rc && unk >= 0)
		rc = tok_ids_push(sy, unk);
	free(s.p);
	return rc ? -1 : 0;
}

static int bpe_merge(tok_bpe *m, const char *w, size_t len, tok_ids *out)
{
	tok_ids ids = { 0 };
	if (word_symbols(m, w, len, &ids) < 0) {
		tok_ids_free(&ids);
		return -1;
	}
	size_t n = ids.n, nh = 0;
	if (n < 2) {
		for (size_t i = 0; i < n; i++)
			if (tok_ids_push(out, ids.v[i]) < 0)
				return tok_ids_free(&ids), -1;
		tok_ids_free(&ids);
		return 0;
	}
	struct sym *s = malloc(n * sizeof *s);
	/* every merge adds at most two candidates */
	struct cand *h = malloc(3 * n * sizeof *h);
	if (!s || !h) {
		free(s), free(h), tok_ids_free(&ids);
		return err_oom();
	}
	for (size_t i = 0; i < n; i++)
		s[i] = (struct sym){ ids.v[i], (int32_t)i - 1, i + 1 < n ? (int32_t)i + 1 : -1 };
	for (size_t i = 0; i + 1 < n; i++) {
		const struct tok_merge *g = merge_get(m, s[i].id, s[i + 1].id);
		if (g)
			heap_push(h, &nh, (struct cand){ g->rank, (int32_t)i });
	}
	while (nh) {
		struct cand c = heap_pop(h, &nh);
		struct sym *a = &s[c.pos];
		if (a->id < 0 || a->next < 0)
			continue;
		const struct tok_merge *g = merge_get(m, a->id, s[a->next].id);
		if (!g || g->rank != c.rank)
			continue;
		struct sym *b = &s[a->next];
		a->id = g->id;
		a->next = b->next;
		if (b->next >= 0)
			s[b->next].prev = c.pos;
		b->id = -1;
		if (a->prev >= 0 && (g = merge_get(m, s[a->prev].id, a->id)))
			heap_push(h, &nh, (struct cand){ g->rank, a->prev });
		if (a->next >= 0 && (g = merge_get(m, a->id, s[a->next].id)))
			heap_push(h, &nh, (struct cand){ g->rank, c.pos });
	}
	int rc = 0;
	for (int32_t i = 0; i >= 0 && rc == 0; i = s[i].next)
		rc = tok_ids_push(out, s[i].id);
	free(s), free(h), tok_ids_free(&ids);
	return rc;
}

#define CACHE_MAX 200000   /* words; the cache is emptied when it is full */

int tok_bpe_word(tok_bpe *m, const char *w, size_t len, tok_ids *out)
{
	int64_t v;
	int32_t id;
	if (!len)
		return 0;
	if (m->ignore_merges && vocab_id(m, w, len, &id))
		return tok_ids_push(out, id);
	if (tok_map_get(&m->cache, w, len, &v)) {
		size_t off = (size_t)(v >> 20), cnt = (size_t)(v & 0xfffff);
		for (size_t i = 0; i < cnt; i++)
			if (tok_ids_push(out, m->cache_ids.v[off + i]) < 0)
				return -1;
		return 0;
	}
	size_t start = out->n;
	if (bpe_merge(m, w, len, out) < 0)
		return -1;
	size_t cnt = out->n - start;
	if (len > 256 || cnt >= 0xfffff)
		return 0;   /* long words are rare: not worth the memory */
	if (m->cache.n >= CACHE_MAX) {
		tok_map_clear(&m->cache);
		m->cache_ids.n = 0;
	}
	size_t off = m->cache_ids.n;
	for (size_t i = 0; i < cnt; i++)
		if (tok_ids_push(&m->cache_ids, out->v[start + i]) < 0)
			return -1;
	return tok_map_put(&m->cache, w, len, (int64_t)off << 20 | (int64_t)cnt);
}
