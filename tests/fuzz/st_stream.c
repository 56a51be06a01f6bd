/* st_stream.c — libFuzzer target: the safetensors header and offset parser on a stream. The input
 * goes through a pipe that is standard input, and st_open("-") reads it as `cat x | ckpt-cat -`
 * does: header read as it arrives, offsets in stream order, the end checked after the last
 * tensor. The pipe is made as large as the input (up to 1 MiB; a longer input is cut there). */
#include "fuzz.h"

static void fz_st_stream(const uint8_t *d, size_t n)
{
	static int saved = -2;
	int p[2];
	if (saved == -2)
		saved = dup(0);
	if (pipe(p) < 0) {
		perror("fuzz: pipe");
		abort();
	}
	int cap = fcntl(p[1], F_SETPIPE_SZ, n > 65536 ? (n < 1048576 ? (int)n : 1048576) : 65536);
	if (cap > 0 && n > (size_t)cap)
		n = (size_t)cap;
	fz_write_all(p[1], d, n);
	close(p[1]);
	if (dup2(p[0], 0) < 0) {
		perror("fuzz: dup2");
		abort();
	}
	close(p[0]);
	fz_err_clear();
	st_ckpt *ck = st_open("-");
	if (!ck) {
		fz_check_error("st_open (stream)", n);
	} else {
		FZ_CHECK(!st_seekable(ck), "a stream is seekable");
		fz_err_clear();
		if (fz_drain(ck, 0, n, fz_hash(d, n)) < 0)
			fz_check_error("reading a stream", n);
		else
			FZ_CHECK(fz_is_zstd(d, n) || st_total_bytes(ck) <= n, "a stream of %zu bytes was read whole with %llu data bytes",
			         n, (unsigned long long)st_total_bytes(ck));
		st_close(ck);
	}
	if (saved >= 0)
		dup2(saved, 0);
	else
		close(0);
}
FZ_TARGET(st_stream)
