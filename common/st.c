/* st.c — safetensors reading and validation; see st.h. Writing is in st_write.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "dtype.h"
#include "err.h"
#include "rec.h"
#include "st.h"
#include "tmp.h"

/* ---- the reader's state ---- */

struct src;

struct st_file {
	char *path;
	int fd, own_fd;
	int stream;                 /* read front to back through src */
	struct src *src;
	const uint8_t *map;         /* mapped: the whole file */
	size_t map_len;
	uint64_t data_start;        /* mapped: 8 + header length */
	uint64_t released;          /* mapped: pages before this were given back */
	json_object *meta;
	size_t first, count;        /* its tensors: ck->t[first .. first+count) */
	uint64_t data_used;         /* end of the last tensor's data */
	uint64_t spos;              /* stream: data bytes consumed */
	uint8_t *buf;               /* stream: read buffer */
	size_t blen, bpos;
	int ended;                  /* stream: end checked */
	int keep;                   /* mapped: st_view handed out pointers; pages are kept */
};

struct st_ckpt {
	char *arg, *stem, *dir, *config;
	struct st_file *files;
	int nfiles, files_cap;
	struct st_tensor *t;
	size_t n, cap;
	size_t *index;              /* open addressing: tensor index + 1, 0 = empty */
	size_t index_cap;
	long cur;                   /* current tensor, -1 before the first */
	uint64_t cur_pos;           /* bytes of it consumed */
	uint8_t *whole;             /* st_data() buffer for streams */
	size_t whole_cap;
	uint64_t max_bytes, total;
};

static int st_push_file(st_ckpt *ck, const char *path);
static int st_push_tensor(st_ckpt *ck, const char *name);
static int st_build_index(st_ckpt *ck);
static const char *st_overlapping(st_ckpt *ck, size_t first, size_t i);

/* ---- byte sources: a file descriptor, optionally through a zstd decoder ---- */

struct src {
	int fd;
	ZSTD_DStream *z;
	uint8_t *in;
	size_t in_len, in_pos;
	int eof;
	int frame_done;                /* the last zstd frame ended cleanly */
	const char *name;
};

#define SRC_IN 131072

static struct src *src_new(int fd, int zstd, const uint8_t *pre, size_t npre, const char *name)
{
	struct src *s = calloc(1, sizeof *s);
	if (!s || !(s->in = malloc(SRC_IN))) {
		free(s);
		err_oom();
		return NULL;
	}
	s->fd = fd;
	s->name = name;
	s->frame_done = 1;
	if (npre)                       /* bytes already read to sniff the magic number */
		memcpy(s->in, pre, npre);
	s->in_len = npre;
	if (zstd && !(s->z = ZSTD_createDStream())) {
		free(s->in);
		free(s);
		err_oom();
		return NULL;
	}
	return s;
}

static void src_free(struct src *s)
{
	if (!s)
		return;
	ZSTD_freeDStream(s->z);
	free(s->in);
	free(s);
}

static int src_fill_in(struct src *s)
{
	ssize_t r;
	if (s->in_pos < s->in_len || s->eof)
		return 0;
	do
		r = read(s->fd, s->in, SRC_IN);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return err_set("%s: read error:", s->name);
	s->in_pos = 0;
	s->in_len = (size_t)r;
	if (r == 0)
		s->eof = 1;
	return 0;
}

/* At least min (≤ n) bytes into buf, more if they are at hand; returns the count (< min only at
 * the end of the input), -1 on error. */
static ssize_t src_read_min(struct src *s, void *buf, size_t n, size_t min)
{
	size_t got = 0;
	while (got < min) {
		/* Plain input and nothing buffered: read straight into the caller's buffer. */
		if (!s->z && s->in_pos == s->in_len && !s->eof && n - got >= SRC_IN) {
			ssize_t r;
			do
				r = read(s->fd, (uint8_t *)buf + got, n - got);
			while (r < 0 && errno == EINTR);
			if (r < 0)
				return err_set("%s: read error:", s->name);
			if (r == 0)
				s->eof = 1;
			got += (size_t)r;
			continue;
		}
		if (src_fill_in(s) < 0)
			return -1;
		if (s->in_pos == s->in_len && s->eof) {
			if (s->z && !s->frame_done)
				return err_set("%s: truncated zstd stream", s->name);
			break;
		}
		if (!s->z) {
			size_t k = s->in_len - s->in_pos;
			if (k > n - got)
				k = n - got;
			memcpy((uint8_t *)buf + got, s->in + s->in_pos, k);
			s->in_pos += k;
			got += k;
			continue;
		}
		ZSTD_inBuffer in = { s->in, s->in_len, s->in_pos };
		ZSTD_outBuffer out = { buf, n, got };
		size_t r = ZSTD_decompressStream(s->z, &out, &in);
		if (ZSTD_isError(r))
			return err_set("%s: zstd: %s", s->name, ZSTD_getErrorName(r));
		s->frame_done = r == 0;
		s->in_pos = in.pos;
		got = out.pos;
	}
	return (ssize_t)got;
}

static ssize_t src_read(struct src *s, void *buf, size_t n) { return src_read_min(s, buf, n, n); }

/* ---- header validation ---- */

/* json-c keeps the last of duplicate keys silently, so the top level of the header is scanned
 * once more for its keys: a skip-only JSON walker (the text is already known to be valid). */
static const char *skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static const char *skip_string(const char *p, const char *e)
{
	for (p++; p < e && *p != '"'; p++)
		if (*p == '\\')
			p++;
	return p + 1;
}

static const char *skip_value(const char *p, const char *e)
{
	int depth = 0;
	do {
		p = skip_ws(p, e);
		if (p >= e)
			return e;
		if (*p == '"')
			p = skip_string(p, e);
		else if (*p == '{' || *p == '[')
			depth++, p++;
		else if (*p == '}' || *p == ']')
			depth--, p++;
		else if (depth == 0)
			while (p < e && !strchr(",}] \t\r\n", *p))
				p++;
		else
			p++;
	} while (depth > 0 && p < e);
	return p;
}

static int cmp_str(const void *a, const void *b)
{
	const struct { const char *s; size_t n; } *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->s, y->s, n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int find_duplicate(const char *path, const char *hdr, size_t len)
{
	const char *p = hdr, *e = hdr + len;
	struct key { const char *s; size_t n; } *k = NULL;
	size_t nk = 0, cap = 0;
	int rc = 0;
	p = skip_ws(p, e) + 1;
	for (;;) {
		p = skip_ws(p, e);
		if (p >= e || *p != '"')
			break;
		const char *s = p + 1;
		p = skip_string(p, e);
		if (nk == cap) {
			struct key *nkp = realloc(k, (cap = cap ? 2 * cap : 64) * sizeof *k);
			if (!nkp) {
				free(k);
				return err_oom();
			}
			k = nkp;
		}
		k[nk].s = s;
		k[nk++].n = (size_t)(p - 1 - s);
		p = skip_ws(p, e) + 1;                 /* ':' */
		p = skip_ws(skip_value(p, e), e);
		if (p >= e || *p != ',')
			break;
		p++;
	}
	qsort(k, nk, sizeof *k, cmp_str);
	for (size_t i = 1; i < nk; i++)
		if (k[i].n == k[i - 1].n && !memcmp(k[i].s, k[i - 1].s, k[i].n)) {
			rc = err_set("%s: duplicate tensor name \"%.*s\"", path, (int)(k[i].n > 200 ? 200 : k[i].n), k[i].s);
			break;
		}
	if (!rc)
		rc = err_set("%s: duplicate tensor name (the same name spelled with different escapes)", path);
	free(k);
	return rc;
}

static int get_u64(json_object *v, uint64_t *out)
{
	if (!json_object_is_type(v, json_type_int))
		return -1;
	errno = 0;
	int64_t i = json_object_get_int64(v);
	if (i < 0)
		return -1;
	if (i == INT64_MAX) {            /* json-c saturates: read the text to tell */
		uint64_t u = json_object_get_uint64(v);
		if (errno || u > (uint64_t)INT64_MAX)
			return -1;
	}
	*out = (uint64_t)i;
	return 0;
}

static int cmp_begin(const void *a, const void *b)
{
	const struct st_tensor *x = a, *y = b;
	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return (x->nbytes > y->nbytes) - (x->nbytes < y->nbytes);   /* empty tensors first */
}

/* Phase 1 of parse_header: the header text as one JSON object, *end where the object ends. */
static json_object *header_json(const char *path, const char *hdr, size_t len, size_t *end)
{
	json_tokener *tok = json_tokener_new_ex(64);
	json_object *root;
	if (!tok) {
		err_oom();
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	if (memchr(hdr, 0, len)) {
		json_tokener_free(tok);
		err_set("%s: header contains a NUL byte", path);
		return NULL;
	}
	/* json-c in strict mode rejects anything after the object, so it parses only up to the
	 * object's end (found by a skip-only walk) and the rest is checked here: spaces only. */
	const char *ostart = skip_ws(hdr, hdr + len);
	size_t olen = ostart < hdr + len && *ostart == '{' ? (size_t)(skip_value(ostart, hdr + len) - hdr) : len;
	if (olen > len)
		olen = len;
	root = json_tokener_parse_ex(tok, hdr, (int)olen);
	enum json_tokener_error je = json_tokener_get_error(tok);
	*end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (je != json_tokener_success) {
		json_object_put(root);
		err_set("%s: header is not valid JSON: %s", path,
		        je == json_tokener_continue ? "unexpected end" : json_tokener_error_desc(je));
		return NULL;
	}
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		err_set("%s: header is not a JSON object", path);
		return NULL;
	}
	for (const char *p = hdr + *end; p < hdr + len; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			json_object_put(root);
			err_set("%s: header has trailing bytes after its JSON object", path);
			return NULL;
		}
	return root;
}

/* Phase 2a: "__metadata__", an object of strings, kept as the file's metadata. */
static int header_meta(struct st_file *f, json_object *val)
{
	if (!json_object_is_type(val, json_type_object))
		return err_set("%s: __metadata__ must be an object of strings", f->path);
	json_object_object_foreach(val, mk, mv) {
		(void)mk;
		if (!json_object_is_type(mv, json_type_string))
			return err_set("%s: __metadata__ must be an object of strings", f->path);
	}
	f->meta = json_object_get(val);
	return 0;
}

/* t's shape from the JSON array v: dimensions, element count and byte count (no overflow). */
static int header_shape(const char *path, const char *key, struct st_tensor *t, json_object *v)
{
	if (!json_object_is_type(v, json_type_array))
		return err_set("%s: tensor %s: shape is not an array", path, key);
	t->ndim = (int)json_object_array_length(v);
	if (t->ndim > ST_MAX_DIMS)
		return err_set("%s: tensor %s: %d dimensions (at most %d)", path, key, t->ndim, ST_MAX_DIMS);
	uint64_t numel = 1;
	int overflow = 0, zero = 0;
	for (int d = 0; d < t->ndim; d++) {
		uint64_t s;
		if (get_u64(json_object_array_get_idx(v, d), &s) < 0)
			return err_set("%s: tensor %s: shape[%d] is not a non-negative integer", path, key, d);
		t->shape[d] = (int64_t)s;
		if (s == 0)
			zero = 1;
		else if (numel > UINT64_MAX / s)
			overflow = 1;
		else
			numel *= s;
	}
	if (zero) {          /* an empty tensor, however large its other dimensions */
		numel = 0;
		overflow = 0;
	}
	size_t es = dtype_size(t->dtype);
	if (overflow || numel > UINT64_MAX / es)
		return err_set("%s: tensor %s: shape's byte count overflows", path, key);
	t->numel = numel;
	t->nbytes = numel * es;
	return 0;
}

/* Phase 2b: one tensor entry {dtype, shape, data_offsets}, appended to ck->t. data_len: as for
 * parse_header. */
static int header_tensor(st_ckpt *ck, int fi, const char *key, json_object *val, uint64_t data_len)
{
	const char *path = ck->files[fi].path;
	if (st_push_tensor(ck, key) < 0)
		return -1;
	struct st_tensor *t = &ck->t[ck->n - 1];
	json_object *v;
	t->file = fi;
	if (!json_object_is_type(val, json_type_object))
		return err_set("%s: tensor %s: entry is not an object", path, key);
	if (!json_object_object_get_ex(val, "dtype", &v))
		return err_set("%s: tensor %s: missing dtype", path, key);
	if (!json_object_is_type(v, json_type_string) || (t->dtype = dtype_parse(json_object_get_string(v))) < 0)
		return err_set("%s: tensor %s: unknown dtype %s", path, key, json_object_to_json_string(v));
	if (!json_object_object_get_ex(val, "shape", &v))
		return err_set("%s: tensor %s: missing shape", path, key);
	if (header_shape(path, key, t, v) < 0)
		return -1;
	if (!json_object_object_get_ex(val, "data_offsets", &v))
		return err_set("%s: tensor %s: missing data_offsets", path, key);
	uint64_t b, e;
	if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) != 2 ||
	    get_u64(json_object_array_get_idx(v, 0), &b) < 0 || get_u64(json_object_array_get_idx(v, 1), &e) < 0)
		return err_set("%s: tensor %s: data_offsets is not [begin, end] of non-negative integers", path, key);
	if (e < b)
		return err_set("%s: tensor %s: data_offsets end %llu before begin %llu", path, key,
		               (unsigned long long)e, (unsigned long long)b);
	if (e - b != t->nbytes)
		return err_set("%s: tensor %s: data_offsets hold %llu bytes but %s%s needs %llu", path, key,
		               (unsigned long long)(e - b), dtype_name(t->dtype), st_shape_str(t),
		               (unsigned long long)t->nbytes);
	if (data_len != UINT64_MAX && e > data_len)
		return err_set("%s: tensor %s: data_offsets end %llu past the data section (%llu bytes; file truncated?)",
		               path, key, (unsigned long long)e, (unsigned long long)data_len);
	t->begin = b;
	return 0;
}

/* Phase 3: json-c merged duplicate keys, so the object holds fewer than the text's nkeys keys:
 * count the keys of the text hdr[0, end) and name the duplicate. */
static int header_duplicates(const char *path, const char *hdr, size_t len, size_t end, size_t nkeys)
{
	size_t scanned = 0;
	const char *p = skip_ws(hdr, hdr + len) + 1, *e = hdr + end;
	for (;;) {
		p = skip_ws(p, e);
		if (p >= e || *p != '"')
			break;
		scanned++;
		p = skip_ws(skip_string(p, e), e) + 1;
		p = skip_ws(skip_value(p, e), e);
		if (p >= e || *p != ',')
			break;
		p++;
	}
	if (scanned != nkeys)
		return find_duplicate(path, hdr, end);
	return 0;
}

/* Phase 4: the file's tensors ck->t[first ..) sorted by offset must tile its data section, each
 * starting where the last ended. */
static int header_tiling(st_ckpt *ck, int fi, size_t first, uint64_t data_len)
{
	struct st_file *f = &ck->files[fi];
	if (ck->n > first)
		qsort(ck->t + first, ck->n - first, sizeof *ck->t, cmp_begin);
	uint64_t pos = 0;
	for (size_t i = first; i < ck->n; i++) {
		struct st_tensor *t = &ck->t[i];
		if (t->begin > pos)
			return err_set("%s: tensor %s: gap of %llu bytes before its data", f->path, t->name,
			               (unsigned long long)(t->begin - pos));
		if (t->begin < pos)
			return err_set("%s: tensor %s: data overlaps tensor %s", f->path, t->name,
			               st_overlapping(ck, first, i));
		pos = t->begin + t->nbytes;
	}
	f->first = first;
	f->count = ck->n - first;
	f->data_used = pos;
	if (data_len != UINT64_MAX && pos != data_len)
		return err_set("%s: %llu trailing bytes after the last tensor's data", f->path,
		               (unsigned long long)(data_len - pos));
	return 0;
}

/* Parse and validate one file's header; append its tensors (sorted by offset) to ck->t.
 * data_len is the size of the data section, or UINT64_MAX for a stream (checked at its end). */
static int parse_header(st_ckpt *ck, int fi, const char *hdr, size_t len, uint64_t data_len)
{
	size_t first = ck->n, end, nkeys = 0;
	json_object *root = header_json(ck->files[fi].path, hdr, len, &end);
	if (!root)
		return -1;
	json_object_object_foreach(root, key, val) {
		nkeys++;
		int rc = strcmp(key, "__metadata__") == 0 ? header_meta(&ck->files[fi], val)
		                                          : header_tensor(ck, fi, key, val, data_len);
		if (rc < 0) {
			json_object_put(root);
			return -1;
		}
	}
	json_object_put(root);
	if (header_duplicates(ck->files[fi].path, hdr, len, end, nkeys) < 0)
		return -1;
	return header_tiling(ck, fi, first, data_len);
}

/* ---- opening ---- */

/* A zstd frame or skippable frame starts the input: detected by magic number, never by name. */
static int is_zstd(const uint8_t *m)
{
	uint32_t v = (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
	return v == 0xFD2FB528u || (v & 0xFFFFFFF0u) == 0x184D2A50u;
}

static int has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

static ssize_t read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int open_stream(st_ckpt *ck, int fi, int fd, const uint8_t *pre, size_t npre, int zstd)
{
	struct st_file *f = &ck->files[fi];
	uint8_t lenb[8];
	char *hdr = NULL;
	size_t cap = 0, got = 0;
	if (!(f->src = src_new(fd, zstd, pre, npre, f->path)))
		return -1;
	f->stream = 1;
	ssize_t r = src_read(f->src, lenb, 8);
	if (r < 0)
		return -1;
	if (r < 8)
		return err_set("%s: %s", f->path, r == 0 ? "empty input" : "too short for a safetensors header");
	uint64_t n = 0;
	for (int i = 7; i >= 0; i--)
		n = n << 8 | lenb[i];
	if (n > ST_MAX_HEADER)
		return err_set("%s: header length %llu exceeds the %llu-byte limit", f->path,
		               (unsigned long long)n, ST_MAX_HEADER);
	if (n < 2)
		return err_set("%s: header length %llu is too small for a JSON object", f->path, (unsigned long long)n);
	/* Grow with what arrives, so a lying length costs at most twice the real input. */
	while (got < n) {
		size_t want = n - got < 1048576 ? n - got : 1048576;
		if (got + want > cap) {
			size_t nc = cap ? 2 * cap : 65536;
			while (nc < got + want)
				nc *= 2;
			if (nc > n)
				nc = n;
			char *nh = realloc(hdr, nc);
			if (!nh) {
				free(hdr);
				return err_oom();
			}
			hdr = nh;
			cap = nc;
		}
		r = src_read(f->src, hdr + got, want);
		if (r < 0) {
			free(hdr);
			return -1;
		}
		got += (size_t)r;
		if ((size_t)r < want) {
			free(hdr);
			return err_set("%s: header length %llu runs past the end of the input (%llu bytes)", f->path,
			               (unsigned long long)n, (unsigned long long)(8 + got));
		}
	}
	int rc = parse_header(ck, fi, hdr, n, UINT64_MAX);
	free(hdr);
	return rc;
}

/* A mapped file that shrinks while it is read (truncated by another program, or a failing disk)
 * makes the next access raise SIGBUS. The mappings are kept in a table the handler reads, so it
 * can name the file, remove the temporaries and exit 1 like any other read error. */
#define MAPS_MAX 4096
static struct { const uint8_t *base; size_t len; const char *path; } maps[MAPS_MAX];

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	const char *path = NULL;
	for (int i = 0; i < MAPS_MAX; i++)
		if (maps[i].base && (const uint8_t *)si->si_addr >= maps[i].base &&
		    (const uint8_t *)si->si_addr < maps[i].base + maps[i].len)
			path = maps[i].path;
	if (!path) {            /* not ours: the default action, when the access is retried */
		signal(sig, SIG_DFL);
		return;
	}
	const char *parts[] = { prog_name, ": ", path, ": read error: the file shrank or could not be read while mapped\n" };
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		if (write(STDERR_FILENO, parts[i], strlen(parts[i])) < 0)
			break;
	tmp_remove_now();
	_exit(EXIT_BAD);
}

static void map_register(const uint8_t *base, size_t len, const char *path)
{
	static int installed;
	if (!installed) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = on_sigbus;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGBUS, &sa, NULL);
		installed = 1;
	}
	for (int i = 0; i < MAPS_MAX; i++)
		if (!maps[i].base) {
			maps[i].path = path;
			maps[i].len = len;
			maps[i].base = base;
			return;
		}
}

static void map_forget(const uint8_t *base)
{
	for (int i = 0; i < MAPS_MAX; i++)
		if (maps[i].base == base)
			maps[i].base = NULL;
}

static int open_mapped(st_ckpt *ck, int fi, int fd, uint64_t size)
{
	struct st_file *f = &ck->files[fi];
	if (size < 8)
		return err_set("%s: %s", f->path, size == 0 ? "empty file" : "too short for a safetensors header");
	void *m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return err_set("%s: mmap:", f->path);
	f->map = m;
	f->map_len = size;
	map_register(m, size, f->path);
	madvise(m, size, MADV_SEQUENTIAL);
	uint64_t n = 0;
	for (int i = 7; i >= 0; i--)
		n = n << 8 | f->map[i];
	if (n > ST_MAX_HEADER)
		return err_set("%s: header length %llu exceeds the %llu-byte limit", f->path,
		               (unsigned long long)n, ST_MAX_HEADER);
	if (n > size - 8)
		return err_set("%s: header length %llu runs past the end of the file (%llu bytes)", f->path,
		               (unsigned long long)n, (unsigned long long)size);
	if (n < 2)
		return err_set("%s: header length %llu is too small for a JSON object", f->path, (unsigned long long)n);
	f->data_start = 8 + n;
	return parse_header(ck, fi, (const char *)f->map + 8, n, size - 8 - n);
}

/* One file (or fd 0): sniff the zstd magic, then map a regular file or stream anything else. */
static int open_one(st_ckpt *ck, const char *path, int fd_in)
{
	int fi = st_push_file(ck, path);
	if (fi < 0)
		return -1;
	struct st_file *f = &ck->files[fi];
	int fd = fd_in >= 0 ? fd_in : open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	uint8_t magic[4];
	if (fd < 0)
		return err_set("%s:", path);
	f->fd = fd;
	f->own_fd = fd_in < 0;
	if (fstat(fd, &sb) < 0)
		return err_set("%s:", path);
	if (S_ISDIR(sb.st_mode))
		return err_set("%s: is a directory", path);
	if (S_ISREG(sb.st_mode)) {
		off_t here = lseek(fd, 0, SEEK_CUR);
		ssize_t r = pread(fd, magic, 4, here < 0 ? 0 : here);
		if (r < 0)
			return err_set("%s: read error:", path);
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		if (r == 4 && is_zstd(magic)) {
			return open_stream(ck, fi, fd, NULL, 0, 1);
		}
		if (here > 0)   /* stdin redirected from a file read partly already: stream the rest */
			return open_stream(ck, fi, fd, NULL, 0, 0);
		return open_mapped(ck, fi, fd, (uint64_t)sb.st_size);
	}
	ssize_t r = read_full(fd, magic, 4);
	if (r < 0)
		return err_set("%s: read error:", path);
	return open_stream(ck, fi, fd, magic, (size_t)r, r == 4 && is_zstd(magic));
}

static char *read_text(const char *path, size_t limit)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	char *s;
	if (fd < 0) {
		err_set("%s:", path);
		return NULL;
	}
	if (fstat(fd, &sb) < 0 || (uint64_t)sb.st_size > limit) {
		err_set(sb.st_size > 0 ? "%s: larger than %zu bytes" : "%s:", path, limit);
		close(fd);
		return NULL;
	}
	if (!(s = malloc((size_t)sb.st_size + 1))) {
		close(fd);
		err_oom();
		return NULL;
	}
	ssize_t r = read_full(fd, s, (size_t)sb.st_size);
	close(fd);
	if (r < 0) {
		err_set("%s: read error:", path);
		free(s);
		return NULL;
	}
	s[r] = 0;
	return s;
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int open_dir(st_ckpt *ck, const char *dir)
{
	char path[PATH_MAX];
	struct stat sb;
	snprintf(path, sizeof path, "%s/config.json", dir);
	if (stat(path, &sb) == 0) {
		if (!(ck->config = read_text(path, 64u << 20)))
			return -1;
		json_object *c = json_tokener_parse(ck->config);
		if (!c || !json_object_is_type(c, json_type_object)) {
			json_object_put(c);
			return err_set("%s: not a valid JSON object", path);
		}
		json_object_put(c);
	}
	snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
	if (stat(path, &sb) != 0) {
		snprintf(path, sizeof path, "%s/model.safetensors", dir);
		if (stat(path, &sb) != 0) {
			snprintf(path, sizeof path, "%s/pytorch_model.bin", dir);
			if (stat(path, &sb) == 0)
				return err_set("%s: holds a PyTorch pickle checkpoint, not safetensors (convert it first)", dir);
			return err_set("%s: no model.safetensors or model.safetensors.index.json", dir);
		}
		return open_one(ck, path, -1);
	}
	json_object *idx = rec_load(path), *wm;
	if (!idx)
		return -1;
	if (!json_object_is_type(idx, json_type_object) || !json_object_object_get_ex(idx, "weight_map", &wm) ||
	    !json_object_is_type(wm, json_type_object)) {
		json_object_put(idx);
		return err_set("%s: no \"weight_map\" object", path);
	}
	/* The distinct shard names, sorted: the iteration order. */
	size_t nmap = (size_t)json_object_object_length(wm), ns = 0;
	char **shards = calloc(nmap ? nmap : 1, sizeof *shards);
	if (!shards) {
		json_object_put(idx);
		return err_oom();
	}
	int rc = 0;
	json_object_object_foreach(wm, name, val) {
		const char *s;
		if (!json_object_is_type(val, json_type_string)) {
			rc = err_set("%s: weight_map: tensor %s: shard name is not a string", path, name);
			break;
		}
		s = json_object_get_string(val);
		if (!*s || strchr(s, '/') || !strcmp(s, ".") || !strcmp(s, "..")) {
			rc = err_set("%s: weight_map: tensor %s: shard name \"%s\" is not a file in the directory", path, name, s);
			break;
		}
		shards[ns++] = (char *)s;
	}
	if (rc == 0) {
		qsort(shards, ns, sizeof *shards, cmp_cstr);
		size_t u = 0;
		for (size_t i = 0; i < ns; i++)
			if (u == 0 || strcmp(shards[i], shards[u - 1]))
				shards[u++] = shards[i];
		ns = u;
		for (size_t i = 0; i < ns && rc == 0; i++) {
			char sp[PATH_MAX];
			snprintf(sp, sizeof sp, "%s/%s", dir, shards[i]);
			rc = open_one(ck, sp, -1);
		}
	}
	if (rc == 0)
		rc = st_build_index(ck);
	/* Shards agree with the index: every mapped tensor in its shard, none extra. */
	if (rc == 0) {
		json_object_object_foreach(wm, name2, val2) {
			const struct st_tensor *t = st_find(ck, name2);
			const char *want = json_object_get_string(val2);
			if (!t) {
				rc = err_set("%s: tensor %s is mapped to %s, which does not hold it", path, name2, want);
				break;
			}
			const char *have = strrchr(ck->files[t->file].path, '/') + 1;
			if (strcmp(have, want)) {
				rc = err_set("%s: tensor %s is mapped to %s but found in %s", path, name2, want, have);
				break;
			}
		}
	}
	if (rc == 0 && ck->n != nmap) {
		for (size_t i = 0; i < ck->n; i++) {
			json_object *v;
			if (!json_object_object_get_ex(wm, ck->t[i].name, &v)) {
				rc = err_set("%s: tensor %s is not in the index %s", ck->files[ck->t[i].file].path,
				             ck->t[i].name, path);
				break;
			}
		}
	}
	free(shards);
	json_object_put(idx);
	return rc;
}

st_ckpt *st_open(const char *arg)
{
	st_ckpt *ck = calloc(1, sizeof *ck);
	struct stat sb;
	int rc;
	if (!ck) {
		err_oom();
		return NULL;
	}
	ck->cur = -1;
	if (!(ck->arg = strdup(strcmp(arg, "-") ? arg : "<stdin>")))
		goto oom;
	if (strcmp(arg, "-") == 0) {
		ck->stem = strdup("stdin");
		rc = ck->stem ? open_one(ck, "<stdin>", 0) : err_oom();
	} else if (stat(arg, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		size_t n = strlen(arg);
		while (n > 1 && arg[n - 1] == '/')
			n--;
		ck->dir = strndup(arg, n);
		const char *b = ck->dir ? strrchr(ck->dir, '/') : NULL;
		ck->stem = strdup(b && b[1] ? b + 1 : ck->dir ? ck->dir : "");
		rc = ck->dir && ck->stem ? open_dir(ck, ck->dir) : err_oom();
	} else {
		const char *b = strrchr(arg, '/');
		ck->stem = strdup(b ? b + 1 : arg);
		if (ck->stem) {
			if (has_suffix(ck->stem, ".zst"))
				ck->stem[strlen(ck->stem) - 4] = 0;
			if (has_suffix(ck->stem, ".safetensors"))
				ck->stem[strlen(ck->stem) - 12] = 0;
		}
		rc = ck->stem ? open_one(ck, arg, -1) : err_oom();
	}
	if (rc == 0 && !ck->index)
		rc = st_build_index(ck);
	if (rc == 0 && !ck->config) {
		const char *c = st_meta(ck, "config");
		if (c && !(ck->config = strdup(c)))
			rc = err_oom();
	}
	if (rc == 0) {
		for (size_t i = 0; i < ck->n; i++) {
			if (ck->t[i].nbytes > ck->max_bytes)
				ck->max_bytes = ck->t[i].nbytes;
			ck->total += ck->t[i].nbytes;
		}
		return ck;
	}
	st_close(ck);
	return NULL;
oom:
	err_oom();
	st_close(ck);
	return NULL;
}

/* ---- bookkeeping ---- */

static int st_push_file(st_ckpt *ck, const char *path)
{
	if (ck->nfiles == ck->files_cap) {
		int nc = ck->files_cap ? 2 * ck->files_cap : 4;
		struct st_file *nf = realloc(ck->files, (size_t)nc * sizeof *nf);
		if (!nf)
			return err_oom();
		ck->files = nf;
		ck->files_cap = nc;
	}
	struct st_file *f = &ck->files[ck->nfiles];
	memset(f, 0, sizeof *f);
	f->fd = -1;
	if (!(f->path = strdup(path)))
		return err_oom();
	return ck->nfiles++;
}

static int st_push_tensor(st_ckpt *ck, const char *name)
{
	if (ck->n == ck->cap) {
		size_t nc = ck->cap ? 2 * ck->cap : 256;
		struct st_tensor *nt = realloc(ck->t, nc * sizeof *nt);
		if (!nt)
			return err_oom();
		ck->t = nt;
		ck->cap = nc;
	}
	struct st_tensor *t = &ck->t[ck->n];
	memset(t, 0, sizeof *t);
	if (!(t->name = strdup(name)))
		return err_oom();
	ck->n++;
	return 0;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

static int st_build_index(st_ckpt *ck)
{
	size_t cap = 16;
	while (cap < 2 * ck->n + 1)
		cap *= 2;
	free(ck->index);
	if (!(ck->index = calloc(cap, sizeof *ck->index)))
		return err_oom();
	ck->index_cap = cap;
	for (size_t i = 0; i < ck->n; i++) {
		size_t h = hash_str(ck->t[i].name) & (cap - 1);
		while (ck->index[h]) {
			const struct st_tensor *o = &ck->t[ck->index[h] - 1];
			if (strcmp(o->name, ck->t[i].name) == 0)
				return err_set("%s: tensor %s is in both %s and %s", ck->arg, o->name,
				               ck->files[o->file].path, ck->files[ck->t[i].file].path);
			h = (h + 1) & (cap - 1);
		}
		ck->index[h] = i + 1;
	}
	return 0;
}

const char *st_shape_str(const struct st_tensor *t)
{
	static _Thread_local char buf[256];
	size_t n = 0;
	buf[n++] = '[';
	for (int d = 0; d < t->ndim && n < sizeof buf - 32; d++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%lld", d ? "," : "", (long long)t->shape[d]);
	snprintf(buf + n, sizeof buf - n, "]");
	return buf;
}

static const char *st_overlapping(st_ckpt *ck, size_t first, size_t i)
{
	const struct st_tensor *t = &ck->t[i];
	for (size_t j = first; j < i; j++)
		if (ck->t[j].begin + ck->t[j].nbytes > t->begin)
			return ck->t[j].name;
	return "?";
}

void st_close(st_ckpt *ck)
{
	if (!ck)
		return;
	for (int i = 0; i < ck->nfiles; i++) {
		struct st_file *f = &ck->files[i];
		if (f->map) {
			map_forget(f->map);
			munmap((void *)f->map, f->map_len);
		}
		if (f->own_fd && f->fd >= 0)
			close(f->fd);
		src_free(f->src);
		json_object_put(f->meta);
		free(f->buf);
		free(f->path);
	}
	for (size_t i = 0; i < ck->n; i++)
		free((char *)ck->t[i].name);
	free(ck->files);
	free(ck->t);
	free(ck->index);
	free(ck->whole);
	free(ck->arg);
	free(ck->stem);
	free(ck->dir);
	free(ck->config);
	free(ck);
}

const char *st_arg(const st_ckpt *ck) { return ck->arg; }
const char *st_stem(const st_ckpt *ck) { return ck->stem; }
const char *st_dir(const st_ckpt *ck) { return ck->dir; }
size_t st_count(const st_ckpt *ck) { return ck->n; }
const struct st_tensor *st_at(const st_ckpt *ck, size_t i) { return i < ck->n ? &ck->t[i] : NULL; }
size_t st_index(const st_ckpt *ck, const struct st_tensor *t) { return (size_t)(t - ck->t); }
const char *st_file_name(const st_ckpt *ck, int file) { return file >= 0 && file < ck->nfiles ? ck->files[file].path : "?"; }
uint64_t st_total_bytes(const st_ckpt *ck) { return ck->total; }
const char *st_config(const st_ckpt *ck) { return ck->config; }

int st_seekable(const st_ckpt *ck)
{
	for (int i = 0; i < ck->nfiles; i++)
		if (ck->files[i].stream)
			return 0;
	return 1;
}

const struct st_tensor *st_find(const st_ckpt *ck, const char *name)
{
	if (!ck->index_cap)
		return NULL;
	size_t h = hash_str(name) & (ck->index_cap - 1);
	while (ck->index[h]) {
		const struct st_tensor *t = &ck->t[ck->index[h] - 1];
		if (strcmp(t->name, name) == 0)
			return t;
		h = (h + 1) & (ck->index_cap - 1);
	}
	return NULL;
}

json_object *st_meta_all(const st_ckpt *ck)
{
	for (int i = 0; i < ck->nfiles; i++)
		if (ck->files[i].meta)
			return ck->files[i].meta;
	return NULL;
}

const char *st_meta(const st_ckpt *ck, const char *key)
{
	json_object *m = st_meta_all(ck), *v;
	if (m && json_object_object_get_ex(m, key, &v))
		return json_object_get_string(v);
	return NULL;
}

/* ---- reading data ---- */

#define STREAM_BUF (ST_CHUNK + SRC_IN)
#define RELEASE_STEP (16ull << 20)

/* Make at least need (≤ ST_CHUNK) buffered bytes of a stream available at f->buf + f->bpos. */
static int stream_need(st_ckpt *ck, struct st_file *f, size_t need, const char *tname)
{
	if (f->blen - f->bpos >= need)
		return 0;
	if (!f->buf && !(f->buf = malloc(STREAM_BUF)))
		return err_oom();
	memmove(f->buf, f->buf + f->bpos, f->blen - f->bpos);
	f->blen -= f->bpos;
	f->bpos = 0;
	ssize_t r = src_read_min(f->src, f->buf + f->blen, STREAM_BUF - f->blen, need - f->blen);
	if (r < 0)
		return -1;
	f->blen += (size_t)r;
	if (f->blen < need)
		return tname ? err_set("%s: truncated in tensor %s", f->path, tname)
		             : err_set("%s: truncated", f->path);
	return 0;
}

static int stream_skip(st_ckpt *ck, struct st_file *f, uint64_t k, const char *tname)
{
	while (k > 0) {
		size_t step = k < ST_CHUNK ? (size_t)k : ST_CHUNK;
		if (stream_need(ck, f, step, tname) < 0)
			return -1;
		f->bpos += step;
		f->spos += step;
		k -= step;
	}
	return 0;
}

/* After a stream's last tensor: nothing may follow. */
static int stream_end(st_ckpt *ck, struct st_file *f)
{
	if (f->ended)
		return 0;
	if (stream_skip(ck, f, f->data_used - f->spos, ck->t[f->first + f->count - 1].name) < 0)
		return -1;
	if (f->blen > f->bpos)
		return err_set("%s: trailing bytes after the last tensor's data", f->path);
	uint8_t c;
	ssize_t r = src_read(f->src, &c, 1);
	if (r < 0)
		return -1;
	if (r > 0)
		return err_set("%s: trailing bytes after the last tensor's data", f->path);
	f->ended = 1;
	return 0;
}

static void release_behind(struct st_file *f, uint64_t off)
{
	static long page;
	if (!page)
		page = sysconf(_SC_PAGESIZE);
	if (f->keep || off < f->released + RELEASE_STEP)
		return;
	uint64_t end = off & ~(uint64_t)(page - 1), start = f->released & ~(uint64_t)(page - 1);
	if (end > start)
		madvise((void *)(f->map + start), end - start, MADV_DONTNEED);
	f->released = end;
}

int st_seek(st_ckpt *ck, const struct st_tensor *t)
{
	size_t i = st_index(ck, t);
	struct st_file *f = &ck->files[t->file];
	if (i >= ck->n)
		return err_set("%s: st_seek: not a tensor of this checkpoint", ck->arg);
	/* Leaving a stream file for another: its end is checked. */
	if (ck->cur >= 0 && (size_t)ck->cur < ck->n && ck->t[ck->cur].file != t->file &&
	    ck->files[ck->t[ck->cur].file].stream &&
	    stream_end(ck, &ck->files[ck->t[ck->cur].file]) < 0)
		return -1;
	if (f->stream) {
		if (t->begin < f->spos || (ck->cur == (long)i && ck->cur_pos > 0))
			return err_set("%s: tensor %s is needed out of the stream's order (a stream is read front to back: write it to a file first)",
			               f->path, t->name);
		if (stream_skip(ck, f, t->begin - f->spos, t->name) < 0)
			return -1;
	}
	ck->cur = (long)i;
	ck->cur_pos = 0;
	return 0;
}

int st_next(st_ckpt *ck, const struct st_tensor **t)
{
	size_t i = (size_t)(ck->cur + 1);
	if (i >= ck->n) {
		for (int k = 0; k < ck->nfiles; k++)
			if (ck->files[k].stream && ck->files[k].count && stream_end(ck, &ck->files[k]) < 0)
				return -1;
		ck->cur = (long)ck->n;
		return 0;
	}
	if (st_seek(ck, &ck->t[i]) < 0)
		return -1;
	*t = &ck->t[i];
	return 1;
}

ssize_t st_read(st_ckpt *ck, const void **p, size_t max)
{
	if (ck->cur < 0 || (size_t)ck->cur >= ck->n)
		return err_set("%s: no current tensor", ck->arg);
	const struct st_tensor *t = &ck->t[ck->cur];
	struct st_file *f = &ck->files[t->file];
	uint64_t left = t->nbytes - ck->cur_pos;
	size_t n = max < ST_CHUNK ? max : ST_CHUNK;
	if (n > left)
		n = (size_t)left;
	if (n == 0)
		return 0;
	if (f->stream) {
		if (stream_need(ck, f, n, t->name) < 0)
			return -1;
		*p = f->buf + f->bpos;
		f->bpos += n;
		f->spos += n;
	} else {
		uint64_t off = f->data_start + t->begin + ck->cur_pos;
		release_behind(f, off);
		*p = f->map + off;
	}
	ck->cur_pos += n;
	return (ssize_t)n;
}

int st_view(st_ckpt *ck, const void **p)
{
	if (ck->cur < 0 || (size_t)ck->cur >= ck->n)
		return err_set("%s: no current tensor", ck->arg);
	const struct st_tensor *t = &ck->t[ck->cur];
	struct st_file *f = &ck->files[t->file];
	if (f->stream)
		return 0;
	if (ck->cur_pos != 0)
		return err_set("%s: tensor %s: st_view after a partial read", ck->arg, t->name);
	if (!f->keep) {   /* read again and again from now on, not once front to back */
		madvise((void *)f->map, f->map_len, MADV_NORMAL);
		f->keep = 1;
	}
	*p = f->map + f->data_start + t->begin;
	ck->cur_pos = t->nbytes;
	return 1;
}

int st_data(st_ckpt *ck, const void **p)
{
	if (ck->cur < 0 || (size_t)ck->cur >= ck->n)
		return err_set("%s: no current tensor", ck->arg);
	const struct st_tensor *t = &ck->t[ck->cur];
	struct st_file *f = &ck->files[t->file];
	if (ck->cur_pos != 0)
		return err_set("%s: tensor %s: st_data after a partial read", ck->arg, t->name);
	if (!f->stream) {
		uint64_t off = f->data_start + t->begin;
		release_behind(f, off);
		*p = f->map + off;
		ck->cur_pos = t->nbytes;
		return 0;
	}
	if (t->nbytes > SIZE_MAX)
		return err_set("%s: tensor %s: too large for memory", f->path, t->name);
	/* The buffer grows with the data that arrives, so a header that claims more than the stream
	 * holds ends as "truncated" having cost at most twice what was really read. */
	size_t n = (size_t)t->nbytes, got = 0;
	while (got < n) {
		if (got == ck->whole_cap) {
			size_t nc = ck->whole_cap ? 2 * ck->whole_cap : ST_CHUNK;
			if (nc > n || nc < ck->whole_cap)
				nc = n;
			uint8_t *nw = realloc(ck->whole, nc);
			if (!nw)
				return err_set("%s: tensor %s: out of memory for %zu bytes", f->path, t->name, nc);
			ck->whole = nw;
			ck->whole_cap = nc;
		}
		size_t want = (n < ck->whole_cap ? n : ck->whole_cap) - got;
		size_t have = f->blen - f->bpos;
		if (have) {
			if (have > want)
				have = want;
			memcpy(ck->whole + got, f->buf + f->bpos, have);
			f->bpos += have;
			got += have;
			continue;
		}
		ssize_t r = src_read(f->src, ck->whole + got, want);
		if (r < 0)
			return -1;
		got += (size_t)r;
		if ((size_t)r < want)
			return err_set("%s: truncated in tensor %s", f->path, t->name);
	}
	f->spos += n;
	ck->cur_pos = n;
	*p = ck->whole;
	return 0;
}

int st_parse_size(const char *s, uint64_t *bytes)
{
	char *end;
	errno = 0;
	if (!*s || *s == '-')
		return -1;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	static const struct { const char *suf; double mul; } u[] = {
		{ "", 1 }, { "B", 1 },
		{ "K", 1e3 }, { "KB", 1e3 }, { "M", 1e6 }, { "MB", 1e6 }, { "G", 1e9 }, { "GB", 1e9 }, { "T", 1e12 }, { "TB", 1e12 },
		{ "KiB", 1024.0 }, { "MiB", 1048576.0 }, { "GiB", 1073741824.0 }, { "TiB", 1099511627776.0 },
	};
	for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
		if (strcasecmp(end, u[i].suf) == 0 && (strlen(u[i].suf) < 3 || strcmp(end, u[i].suf) == 0)) {
			v *= u[i].mul;
			if (v >= 1.8e19)
				return -1;
			*bytes = (uint64_t)v;
			return 0;
		}
	return -1;
}
