/* st.h — safetensors (wire format 1): opening a checkpoint in any of its forms, validating it
 * strictly, reading its tensors front to back in chunks, and writing files, pipes and Hugging Face
 * directories.
 *
 * A CKPT is a .safetensors file (mapped: chunks are zero-copy views), a zstd-compressed file
 * (detected by magic number), a Hugging Face directory (model.safetensors, or
 * model.safetensors.index.json + shards), or "-" for standard input. Every header is read and
 * validated at open, so the full tensor list (names, dtypes, shapes) is known before any data is
 * read: that is what lets a writer lay out its header before the first byte of data.
 *
 * Reading is sequential. st_next() visits the tensors in "iteration order" (shard by shard in
 * file-name order, each shard in data-offset order); st_seek() jumps to any tensor on a mapped
 * input, but on a stream only to the tensor that comes next in the stream. Memory does not grow
 * with the checkpoint: a stream keeps one chunk buffer (ST_CHUNK), a mapping gives consumed pages
 * back to the kernel. */
#ifndef RECYCLE_ST_H
#define RECYCLE_ST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#define ST_MAX_DIMS 8
#define ST_CHUNK (4u << 20)                 /* largest st_read() chunk */
#define ST_MAX_HEADER 100000000ull          /* header length limit (100 MB) */

struct st_tensor {
	const char *name;
	int dtype;                  /* enum dtype */
	int ndim;
	int64_t shape[ST_MAX_DIMS];
	uint64_t numel;
	uint64_t nbytes;
	uint64_t begin;             /* data offset within its file's data section */
	int file;                   /* index of the file holding it: st_file_name() */
};

typedef struct st_ckpt st_ckpt;

/* Open and validate every header. NULL on error, with a message naming the file and tensor. */
st_ckpt *st_open(const char *arg);
void st_close(st_ckpt *ck);

const char *st_arg(const st_ckpt *ck);              /* the argument as given ("-" → "<stdin>") */
/* The checkpoint's name for weights and provenance: a directory's basename, a file's name without
 * .safetensors[.zst], "stdin" for "-". */
const char *st_stem(const st_ckpt *ck);
const char *st_dir(const st_ckpt *ck);              /* the HF directory, or NULL */
int st_seekable(const st_ckpt *ck);                 /* 1 when any tensor can be visited any time */

size_t st_count(const st_ckpt *ck);
const struct st_tensor *st_at(const st_ckpt *ck, size_t i);     /* iteration order */
const struct st_tensor *st_find(const st_ckpt *ck, const char *name);
size_t st_index(const st_ckpt *ck, const struct st_tensor *t);  /* inverse of st_at */
const char *st_file_name(const st_ckpt *ck, int file);
uint64_t st_total_bytes(const st_ckpt *ck);         /* sum of tensor bytes */
const char *st_shape_str(const struct st_tensor *t);  /* "[4096,11008]", for messages (per thread) */

/* __metadata__ value (of the first file holding one), or NULL. */
const char *st_meta(const st_ckpt *ck, const char *key);
json_object *st_meta_all(const st_ckpt *ck);        /* the first file's __metadata__, or NULL */
/* config.json text: the directory's config.json, else the "config" metadata key, else NULL. */
const char *st_config(const st_ckpt *ck);

/* Visit the next tensor in iteration order: 1 and *t, 0 after the last, -1 on error. */
int st_next(st_ckpt *ck, const struct st_tensor **t);
/* Make t (a tensor of ck) current. On a stream t must be the next tensor the stream holds. */
int st_seek(st_ckpt *ck, const struct st_tensor *t);
/* Next bytes of the current tensor: *p and exactly min(max, ST_CHUNK, bytes left) — 0 when the
 * tensor is done, -1 on error (a truncated stream names the tensor). *p is valid until the next
 * st_read/st_data/st_next/st_seek on ck. Ask for a multiple of the element size. */
ssize_t st_read(st_ckpt *ck, const void **p, size_t max);
/* The current tensor in place, for a mapped file: 1 and *p, valid until st_close (the file's pages
 * are no longer given back as reading moves on: the caller keeps using them). 0 on a stream
 * (read it instead), -1 on error. */
int st_view(st_ckpt *ck, const void **p);
/* The whole current tensor at once (a view of the mapping, or a buffer the size of the largest
 * tensor on a stream). 0 and *p, -1 on error. */
int st_data(st_ckpt *ck, const void **p);

/* ---- writing ---- */

struct st_wopts {
	uint64_t shard_size;        /* directory output: bytes per shard at most (0: 5 GB) */
	int zstd_level;             /* file or stdout output: 0 none, else 1..22 */
	int zstd_threads;           /* 0: as many as the machine has cores when it helps */
	const char *config;         /* config.json text to write / carry as metadata "config" */
	const char *donor_dir;      /* directory whose tokenizer and generation_config files are copied */
	json_object *meta;          /* further __metadata__ entries, string → string (not owned) */
};

typedef struct st_writer st_writer;

/* path NULL or "-": standard output (refused when a terminal); a name ending in .safetensors or
 * .safetensors.zst: one file; anything else: a Hugging Face directory. Nothing appears at path
 * until st_commit() succeeds. */
st_writer *st_create(const char *path, const struct st_wopts *o);
/* Declare the tensors, in the order their data will be written. */
int st_add(st_writer *w, const char *name, int dtype, int ndim, const int64_t *shape);
/* Lay out the offsets (and shards), write the first header. */
int st_begin(st_writer *w);
/* Data of the declared tensors, front to back; a call may span tensors. */
int st_write(st_writer *w, const void *p, size_t n);
/* Check every byte was written, close, write index/config/copies, rename into place. */
int st_commit(st_writer *w);
/* Remove everything written (also done at exit and on SIGINT/SIGTERM/SIGHUP). Frees w. */
void st_abort(st_writer *w);

/* "5GB", "500MiB", "123" → bytes (K/M/G/T: powers of 1000; KiB/MiB/GiB/TiB: of 1024). -1 when bad. */
int st_parse_size(const char *s, uint64_t *bytes);

#endif
