/* st_internal.h — the reader's private state, shared by st.c's parts. Not for tools. */
#ifndef RECYCLE_ST_INTERNAL_H
#define RECYCLE_ST_INTERNAL_H

#include <stdint.h>
#include "st.h"

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

int st_push_file(st_ckpt *ck, const char *path);
int st_push_tensor(st_ckpt *ck, const char *name);
int st_build_index(st_ckpt *ck);
const char *st_overlapping(st_ckpt *ck, size_t first, size_t i);

#endif
