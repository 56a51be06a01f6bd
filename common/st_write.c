/* st_write.c — writing safetensors: one stream (stdout or a file, optionally zstd) or a Hugging
 * Face directory of shards; see st.h. The whole tensor list is declared first, so each header is
 * complete before its data, and data goes out front to back with no seeking: a pipe works. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "dtype.h"
#include "err.h"
#include "st.h"
#include "tmp.h"

enum { OUT_STDOUT, OUT_FILE, OUT_DIR };

struct wt {
	char *name;
	int dtype, ndim;
	int64_t shape[ST_MAX_DIMS];
	uint64_t nbytes, begin;
	int shard;
};

struct st_writer {
	int kind;
	char *path, *tmp;           /* final and temporary path (file or directory) */
	char *config;               /* compact config JSON text, or NULL */
	char *donor;
	json_object *meta;          /* extra metadata (ref) */
	uint64_t shard_size;
	int zlevel, zthreads;
	struct wt *t;
	size_t n, cap;
	int nshards, shard;         /* shard being written */
	uint64_t shard_bytes;
	int fd;
	char *shard_path;           /* the shard being written (in the temporary directory) */
	char *shard_disp;           /* its name once in place, for messages */
	ZSTD_CCtx *z;
	uint8_t *obuf, *zbuf;
	size_t olen;
	size_t cur;                 /* tensor being filled */
	uint64_t left;              /* its bytes still to come */
	int begun;
	int float_dtype;            /* the one float dtype of all float tensors, -1 mixed, -2 none */
	int committed;
};

#define OBUF (1u << 20)

static json_object *config_json(st_writer *w);

static int write_all(int fd, const void *p, size_t n, const char *name)
{
	const char *c = p;
	while (n > 0) {
		ssize_t r = write(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set("%s: write error:", name);
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static const char *out_name(st_writer *w)
{
	return w->kind == OUT_STDOUT ? "<stdout>" : w->kind == OUT_FILE ? w->path : w->shard_disp ? w->shard_disp : w->path;
}

static int raw_out(st_writer *w, const void *p, size_t n)
{
	if (!w->z)
		return write_all(w->fd, p, n, out_name(w));
	ZSTD_inBuffer in = { p, n, 0 };
	while (in.pos < in.size) {
		ZSTD_outBuffer out = { w->zbuf, ZSTD_CStreamOutSize(), 0 };
		size_t r = ZSTD_compressStream2(w->z, &out, &in, ZSTD_e_continue);
		if (ZSTD_isError(r))
			return err_set("%s: zstd: %s", out_name(w), ZSTD_getErrorName(r));
		if (write_all(w->fd, w->zbuf, out.pos, out_name(w)) < 0)
			return -1;
	}
	return 0;
}

static int flush_out(st_writer *w)
{
	int rc = w->olen ? raw_out(w, w->obuf, w->olen) : 0;
	w->olen = 0;
	return rc;
}

static int out(st_writer *w, const void *p, size_t n)
{
	if (w->olen + n <= OBUF) {
		memcpy(w->obuf + w->olen, p, n);
		w->olen += n;
		return 0;
	}
	if (flush_out(w) < 0)
		return -1;
	if (n >= OBUF / 2)          /* big pieces (mapped input) go straight out */
		return raw_out(w, p, n);
	memcpy(w->obuf, p, n);
	w->olen = n;
	return 0;
}

/* ---- JSON text ---- */

struct sbuf { char *s; size_t n, cap; int oom; };

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 4096;
		while (nc < b->n + n + 1)
			nc *= 2;
		char *ns = realloc(b->s, nc);
		if (!ns) {
			b->oom = 1;
			return;
		}
		b->s = ns;
		b->cap = nc;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = 0;
}

static void sb_str(struct sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_fmt(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_fmt(struct sbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void sb_jstr(struct sbuf *b, const char *s)
{
	sb_put(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			char e[2] = { '\\', (char)*p };
			sb_put(b, e, 2);
		} else if (*p < 0x20) {
			sb_fmt(b, "\\u%04x", *p);
		} else {
			sb_put(b, (const char *)p, 1);
		}
	}
	sb_put(b, "\"", 1);
}

/* ---- creating ---- */

st_writer *st_create(const char *path, const struct st_wopts *o)
{
	st_writer *w = calloc(1, sizeof *w);
	static const struct st_wopts none;
	if (!o)
		o = &none;
	if (!w) {
		err_oom();
		return NULL;
	}
	w->fd = -1;
	w->float_dtype = -2;
	w->shard_size = o->shard_size ? o->shard_size : 5000000000ull;
	w->zlevel = o->zstd_level;
	w->zthreads = o->zstd_threads;
	if (!path || strcmp(path, "-") == 0) {
		w->kind = OUT_STDOUT;
	} else {
		size_t l = strlen(path);
		int zsuf = l > 16 && strcmp(path + l - 16, ".safetensors.zst") == 0;
		w->kind = zsuf || (l > 12 && strcmp(path + l - 12, ".safetensors") == 0) ? OUT_FILE : OUT_DIR;
		if (zsuf && !w->zlevel)
			w->zlevel = 3;
		if (!(w->path = strdup(path)))
			goto oom;
	}
	if (w->kind == OUT_DIR && w->zlevel)
		goto fail_z;
	if (o->config) {
		json_object *c = json_tokener_parse(o->config);
		if (!c || !json_object_is_type(c, json_type_object)) {
			json_object_put(c);
			err_set("config is not a JSON object");
			goto fail;
		}
		w->config = strdup(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(c);
		if (!w->config)
			goto oom;
	}
	if (o->donor_dir && !(w->donor = strdup(o->donor_dir)))
		goto oom;
	if (o->meta)
		w->meta = json_object_get(o->meta);
	if (!(w->obuf = malloc(OBUF)))
		goto oom;
	return w;
fail_z:
	err_set("%s: a Hugging Face directory cannot be zstd-compressed (name the output *.safetensors.zst)", path);
	goto fail;
oom:
	err_oom();
fail:
	st_abort(w);
	return NULL;
}

int st_add(st_writer *w, const char *name, int dtype, int ndim, const int64_t *shape)
{
	if (w->begun)
		return err_set("st_add after st_begin");
	if (ndim < 0 || ndim > ST_MAX_DIMS || dtype < 0 || dtype >= DT_COUNT)
		return err_set("tensor %s: bad dtype or rank", name);
	if (!strcmp(name, "__metadata__"))
		return err_set("tensor name __metadata__ is reserved");
	if (w->n == w->cap) {
		size_t nc = w->cap ? 2 * w->cap : 256;
		struct wt *nt = realloc(w->t, nc * sizeof *nt);
		if (!nt)
			return err_oom();
		w->t = nt;
		w->cap = nc;
	}
	struct wt *t = &w->t[w->n];
	memset(t, 0, sizeof *t);
	uint64_t numel = 1;
	for (int d = 0; d < ndim; d++) {
		if (shape[d] < 0)
			return err_set("tensor %s: negative dimension", name);
		if (shape[d] && numel > UINT64_MAX / (uint64_t)shape[d] / 8)
			return err_set("tensor %s: too large", name);
		numel *= (uint64_t)shape[d];
		t->shape[d] = shape[d];
	}
	if (!(t->name = strdup(name)))
		return err_oom();
	t->dtype = dtype;
	t->ndim = ndim;
	t->nbytes = numel * dtype_size(dtype);
	if (dtype_is_float(dtype))
		w->float_dtype = w->float_dtype == -2 || w->float_dtype == dtype ? dtype : -1;
	w->n++;
	return 0;
}

static char *header_text(st_writer *w, int shard, size_t *len)
{
	struct sbuf b = { 0 };
	sb_str(&b, "{\"__metadata__\":{\"format\":\"pt\"");
	if (w->config) {
		sb_str(&b, ",\"config\":");
		sb_jstr(&b, w->config);
	}
	if (w->meta) {
		json_object_object_foreach(w->meta, k, v) {
			if (!strcmp(k, "format") || (w->config && !strcmp(k, "config")))
				continue;
			sb_put(&b, ",", 1);
			sb_jstr(&b, k);
			sb_put(&b, ":", 1);
			sb_jstr(&b, json_object_get_string(v));
		}
	}
	sb_put(&b, "}", 1);
	for (size_t i = 0; i < w->n; i++) {
		struct wt *t = &w->t[i];
		if (t->shard != shard)
			continue;
		sb_put(&b, ",", 1);
		sb_jstr(&b, t->name);
		sb_fmt(&b, ":{\"dtype\":\"%s\",\"shape\":[", dtype_name(t->dtype));
		for (int d = 0; d < t->ndim; d++)
			sb_fmt(&b, "%s%lld", d ? "," : "", (long long)t->shape[d]);
		sb_fmt(&b, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)t->begin,
		       (unsigned long long)(t->begin + t->nbytes));
	}
	sb_put(&b, "}", 1);
	while (b.n % 8)                 /* 8 + length stays 8-aligned, so the data is too */
		sb_put(&b, " ", 1);
	if (b.oom) {
		free(b.s);
		err_oom();
		return NULL;
	}
	*len = b.n;
	return b.s;
}

static void shard_file_name(st_writer *w, int i, char *buf, size_t n)
{
	if (w->nshards == 1)
		snprintf(buf, n, "model.safetensors");
	else
		snprintf(buf, n, "model-%05d-of-%05d.safetensors", i + 1, w->nshards);
}

static int open_shard(st_writer *w, int i)
{
	char name[64];
	size_t hl;
	char *h;
	if (w->kind == OUT_DIR) {
		shard_file_name(w, i, name, sizeof name);
		free(w->shard_path);
		size_t n = strlen(w->tmp) + strlen(name) + 2;
		if (!(w->shard_path = malloc(n)))
			return err_oom();
		snprintf(w->shard_path, n, "%s/%s", w->tmp, name);
		free(w->shard_disp);
		n = strlen(w->path) + strlen(name) + 2;
		if (!(w->shard_disp = malloc(n)))
			return err_oom();
		snprintf(w->shard_disp, n, "%s/%s", w->path, name);
		if (tmp_register(w->shard_path, 0) < 0)
			return -1;
		if ((w->fd = open(w->shard_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
			return err_set("%s:", w->shard_path);
	}
	w->shard = i;
	if (!(h = header_text(w, i, &hl)))
		return -1;
	uint8_t lenb[8];
	for (int k = 0; k < 8; k++)
		lenb[k] = (uint8_t)((uint64_t)hl >> (8 * k));
	int rc = out(w, lenb, 8) < 0 || out(w, h, hl) < 0 ? -1 : 0;
	free(h);
	return rc;
}

static int close_shard(st_writer *w)
{
	if (flush_out(w) < 0)
		return -1;
	if (w->kind == OUT_DIR && w->fd >= 0) {
		if (close(w->fd) < 0) {
			w->fd = -1;
			return err_set("%s: write error:", w->shard_path);
		}
		w->fd = -1;
	}
	return 0;
}

int st_begin(st_writer *w)
{
	if (w->begun)
		return err_set("st_begin twice");
	/* The carried config describes this output: its dtype is the output's. */
	if (w->config && w->float_dtype >= 0) {
		json_object *c = config_json(w);
		if (!c)
			return -1;
		char *t = strdup(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(c);
		if (!t)
			return err_oom();
		free(w->config);
		w->config = t;
	}
	/* Shards: greedy in declaration order, a new one when the next tensor would overflow. */
	uint64_t used = 0;
	int s = 0;
	for (size_t i = 0; i < w->n; i++) {
		struct wt *t = &w->t[i];
		if (w->kind == OUT_DIR && used > 0 && used + t->nbytes > w->shard_size) {
			s++;
			used = 0;
		}
		t->shard = s;
		t->begin = used;
		used += t->nbytes;
	}
	w->nshards = s + 1;
	if (w->kind == OUT_STDOUT) {
		if (stdout_is_tty_refuse() < 0)
			return -1;
		w->fd = STDOUT_FILENO;
	} else {
		if (!(w->tmp = tmp_sibling(w->path)))
			return -1;
		if (w->kind == OUT_DIR) {
			if (tmp_register(w->tmp, 1) < 0)
				return -1;
			if (mkdir(w->tmp, 0755) < 0)
				return err_set("%s:", w->tmp);
		} else {
			if (tmp_register(w->tmp, 0) < 0)
				return -1;
			if ((w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
				return err_set("%s:", w->tmp);
		}
	}
	if (w->zlevel) {
		if (!(w->z = ZSTD_createCCtx()) || !(w->zbuf = malloc(ZSTD_CStreamOutSize())))
			return err_oom();
		ZSTD_CCtx_setParameter(w->z, ZSTD_c_compressionLevel, w->zlevel);
		int th = w->zthreads;
		if (th <= 0) {
			long nc = sysconf(_SC_NPROCESSORS_ONLN);
			uint64_t total = 0;
			for (size_t i = 0; i < w->n; i++)
				total += w->t[i].nbytes;
			th = nc > 1 && total > (32u << 20) ? (int)nc : 0;   /* threads only pay off on big outputs */
		}
		if (th > 1)
			ZSTD_CCtx_setParameter(w->z, ZSTD_c_nbWorkers, th);
	}
	w->begun = 1;
	if (open_shard(w, 0) < 0)
		return -1;
	w->cur = 0;
	w->left = w->n ? w->t[0].nbytes : 0;
	return 0;
}

/* Move past finished (and empty) tensors, opening the next shard where one starts. */
static int advance(st_writer *w)
{
	while (w->left == 0 && w->cur < w->n) {
		w->cur++;
		if (w->cur == w->n)
			break;
		if (w->t[w->cur].shard != w->shard) {
			if (close_shard(w) < 0 || open_shard(w, w->t[w->cur].shard) < 0)
				return -1;
		}
		w->left = w->t[w->cur].nbytes;
	}
	return 0;
}

int st_write(st_writer *w, const void *p, size_t n)
{
	const uint8_t *c = p;
	if (!w->begun)
		return err_set("st_write before st_begin");
	while (n > 0) {
		if (advance(w) < 0)
			return -1;
		if (w->cur >= w->n)
			return err_set("%s: more data than the declared tensors hold", out_name(w));
		size_t k = n < w->left ? n : (size_t)w->left;
		if (out(w, c, k) < 0)
			return -1;
		c += k;
		n -= k;
		w->left -= k;
	}
	return 0;
}

/* ---- finishing a directory ---- */

static int write_text_file(st_writer *w, const char *name, const char *text)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", w->tmp, name);
	if (tmp_register(path, 0) < 0)
		return -1;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set("%s:", path);
	int rc = write_all(fd, text, strlen(text), path);
	if (close(fd) < 0 && rc == 0)
		rc = err_set("%s: write error:", path);
	return rc;
}

static int cmp_wt_name(const void *a, const void *b)
{
	return strcmp((*(struct wt *const *)a)->name, (*(struct wt *const *)b)->name);
}

static int write_index(st_writer *w)
{
	struct sbuf b = { 0 };
	uint64_t total = 0;
	struct wt **s = malloc((w->n ? w->n : 1) * sizeof *s);
	char name[64];
	if (!s)
		return err_oom();
	for (size_t i = 0; i < w->n; i++) {
		s[i] = &w->t[i];
		total += w->t[i].nbytes;
	}
	qsort(s, w->n, sizeof *s, cmp_wt_name);
	sb_fmt(&b, "{\n  \"metadata\": {\n    \"total_size\": %llu\n  },\n  \"weight_map\": {", (unsigned long long)total);
	for (size_t i = 0; i < w->n; i++) {
		sb_str(&b, i ? ",\n    " : "\n    ");
		sb_jstr(&b, s[i]->name);
		shard_file_name(w, s[i]->shard, name, sizeof name);
		sb_str(&b, ": ");
		sb_jstr(&b, name);
	}
	sb_str(&b, "\n  }\n}\n");
	free(s);
	if (b.oom) {
		free(b.s);
		return err_oom();
	}
	int rc = write_text_file(w, "model.safetensors.index.json", b.s);
	free(b.s);
	return rc;
}

/* The config with its dtype ("dtype", "torch_dtype", or both as it has them; "torch_dtype" when
 * it has neither) set to the output's float type, when all float tensors share one. */
static json_object *config_json(st_writer *w)
{
	json_object *c = json_tokener_parse(w->config);
	if (!c) {
		err_set("config is not JSON");
		return NULL;
	}
	if (w->float_dtype >= 0) {
		const char *dn = dtype_torch_name(w->float_dtype);
		int had = 0;
		if (json_object_object_get_ex(c, "dtype", NULL)) {
			json_object_object_add(c, "dtype", json_object_new_string(dn));
			had = 1;
		}
		if (json_object_object_get_ex(c, "torch_dtype", NULL) || !had)
			json_object_object_add(c, "torch_dtype", json_object_new_string(dn));
	}
	return c;
}

static int write_config(st_writer *w)
{
	json_object *c = config_json(w);
	if (!c)
		return -1;
	struct sbuf b = { 0 };
	sb_str(&b, json_object_to_json_string_ext(c, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	                                              JSON_C_TO_STRING_NOSLASHESCAPE));
	sb_str(&b, "\n");
	json_object_put(c);
	if (b.oom) {
		free(b.s);
		return err_oom();
	}
	int rc = write_text_file(w, "config.json", b.s);
	free(b.s);
	return rc;
}

/* The files a Hugging Face directory carries beside its weights. */
static const char *const donor_files[] = {
	"generation_config.json", "tokenizer.json", "tokenizer_config.json", "tokenizer.model",
	"special_tokens_map.json", "added_tokens.json", "vocab.json", "vocab.txt", "merges.txt",
	"chat_template.jinja", "chat_template.json", "preprocessor_config.json", NULL
};

static int copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), outfd, rc = 0;
	char buf[65536];
	if (in < 0)
		return err_set("%s:", from);
	if ((outfd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		close(in);
		return err_set("%s:", to);
	}
	for (;;) {
		ssize_t r = read(in, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = err_set("%s: read error:", from);
			break;
		}
		if (r == 0)
			break;
		if ((rc = write_all(outfd, buf, (size_t)r, to)) < 0)
			break;
	}
	close(in);
	if (close(outfd) < 0 && rc == 0)
		rc = err_set("%s: write error:", to);
	return rc;
}

static int copy_donor(st_writer *w)
{
	char from[PATH_MAX], to[PATH_MAX];
	struct stat sb;
	for (int i = 0; donor_files[i]; i++) {
		snprintf(from, sizeof from, "%s/%s", w->donor, donor_files[i]);
		if (stat(from, &sb) < 0 || !S_ISREG(sb.st_mode))
			continue;
		snprintf(to, sizeof to, "%s/%s", w->tmp, donor_files[i]);
		if (tmp_register(to, 0) < 0 || copy_file(from, to) < 0)
			return -1;
	}
	return 0;
}

int st_commit(st_writer *w)
{
	int rc = -1;
	if (!w->begun && st_begin(w) < 0)
		goto out;
	if (advance(w) < 0)
		goto out;
	if (w->cur < w->n) {
		err_set("%s: tensor %s: %llu bytes of data missing", out_name(w), w->t[w->cur].name,
		        (unsigned long long)w->left);
		goto out;
	}
	if (w->z) {
		ZSTD_inBuffer in = { NULL, 0, 0 };
		if (flush_out(w) < 0)
			goto out;
		for (;;) {
			ZSTD_outBuffer o = { w->zbuf, ZSTD_CStreamOutSize(), 0 };
			size_t r = ZSTD_compressStream2(w->z, &o, &in, ZSTD_e_end);
			if (ZSTD_isError(r)) {
				err_set("%s: zstd: %s", out_name(w), ZSTD_getErrorName(r));
				goto out;
			}
			if (write_all(w->fd, w->zbuf, o.pos, out_name(w)) < 0)
				goto out;
			if (r == 0)
				break;
		}
	}
	if (close_shard(w) < 0)
		goto out;
	if (w->kind == OUT_FILE) {
		int fd = w->fd;
		w->fd = -1;
		if (close(fd) < 0) {
			err_set("%s: write error:", w->tmp);
			goto out;
		}
		if (tmp_commit(w->tmp, w->path, 0) < 0)
			goto out;
	} else if (w->kind == OUT_DIR) {
		if (w->nshards > 1 && write_index(w) < 0)
			goto out;
		if (w->config && write_config(w) < 0)
			goto out;
		if (w->donor && copy_donor(w) < 0)
			goto out;
		if (tmp_commit(w->tmp, w->path, 1) < 0)
			goto out;
	}
	w->committed = 1;
	rc = 0;
out:
	st_abort(w);    /* after a commit this only frees */
	return rc;
}

void st_abort(st_writer *w)
{
	if (!w)
		return;
	if (w->kind != OUT_STDOUT && w->fd >= 0)
		close(w->fd);
	if (w->tmp && !w->committed) {
		if (w->shard_path) {
			unlink(w->shard_path);
			tmp_forget(w->shard_path);
		}
		/* Whatever is still registered under the temporary goes now. */
		tmp_cleanup_under(w->tmp);
	}
	for (size_t i = 0; i < w->n; i++)
		free(w->t[i].name);
	free(w->t);
	ZSTD_freeCCtx(w->z);
	json_object_put(w->meta);
	free(w->zbuf);
	free(w->obuf);
	free(w->shard_path);
	free(w->shard_disp);
	free(w->path);
	free(w->tmp);
	free(w->config);
	free(w->donor);
	free(w);
}
