/* st_file.c — libFuzzer target: the safetensors header and offset parser on a regular file (the
 * mapped path; a zstd input is streamed through the decoder). The input is the whole file, put
 * in a memory file and opened by name as any CKPT argument is. A valid file is read front to back
 * in chunks, then tensor by tensor from the last to the first (st_seek, st_data views) on a fresh
 * open, and the first once more after the end. */
#include "fuzz.h"

/* Seek to t on a mapped input and view its data. */
static void fz_view(st_ckpt *ck, const struct st_tensor *t)
{
	const void *p;
	FZ_CHECK(st_seek(ck, t) == 0, "st_seek to %s failed: %s", t->name, err_get());
	FZ_CHECK(st_data(ck, &p) == 0, "st_data of %s failed: %s", t->name, err_get());
	fz_touch(p, (size_t)t->nbytes);
}

static void fz_st_file(const uint8_t *d, size_t n)
{
	char path[64];
	fz_memfile(d, n, path, sizeof path);
	fz_err_clear();
	st_ckpt *ck = st_open(path);
	if (!ck) {
		fz_check_error("st_open (file)", n);
		return;
	}
	int seek = st_seekable(ck);      /* a plain file is mapped; zstd is streamed */
	fz_err_clear();
	if (fz_drain(ck, seek ? n : 0, seek ? UINT64_MAX : n, fz_hash(d, n)) < 0) {
		fz_check_error("reading a file", n);
		FZ_CHECK(!seek, "reading a validated mapped file failed: %s", err_get());
	} else if (seek) {
		/* Random access on a fresh open: from the last tensor to the first. */
		st_ckpt *ck2 = st_open(path);
		FZ_CHECK(ck2 != NULL, "a file that opened once does not open again: %s", err_get());
		for (size_t i = ck2 ? st_count(ck2) : 0; i-- > 0;)
			fz_view(ck2, st_at(ck2, i));
		st_close(ck2);
		/* Back to the first tensor after st_next reached the end (once read ck->t[ck->n]). */
		if (st_count(ck))
			fz_view(ck, st_at(ck, 0));
	}
	st_close(ck);
}
FZ_TARGET(st_file)
