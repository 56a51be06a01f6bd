/* fuzz.h — what the libFuzzer targets in tests/fuzz/ share: feeding the input to a reader as a
 * file, a pipe or a directory entry; draining a checkpoint; the invariants every target checks.
 *
 * Each target file (st_file.c, rec.c, …) defines one driver `static void fz_NAME(const uint8_t *,
 * size_t)` and names it with FZ_TARGET(NAME). Built by tests/fuzz/run with clang
 * -fsanitize=fuzzer, FZ_TARGET makes the libFuzzer entry point and a broken invariant aborts (a
 * crash libFuzzer saves). Included by tests/unit/test_fuzz_regress.c with FZ_REPLAY defined, the
 * same drivers replay the saved inputs in the normal build, a broken invariant counted instead. */
#ifndef RECYCLE_FUZZ_H
#define RECYCLE_FUZZ_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dtype.h"
#include "err.h"
#include "st.h"

#define FZ_MAX_DRAIN (64u << 20)   /* data bytes read from one input at most (zstd can expand) */

static int fz_broken;              /* invariants broken so far (replay mode) */

static inline void fz_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline void fz_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%d: fuzz invariant broken: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fz_broken++;
#ifndef FZ_REPLAY
	abort();
#endif
}
#define FZ_CHECK(cond, ...) do { if (!(cond)) fz_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)

#ifdef FZ_REPLAY
#define FZ_TARGET(name)
#else
#define FZ_TARGET(name) \
	int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n); \
	int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) \
	{ \
		fz_in = d; \
		fz_in_len = n; \
		fz_##name(d, n); \
		return 0; \
	}
#endif

/* Clear the message before a call, so a failure without one shows. */
static inline void fz_err_clear(void) { err_set("%s", ""); }

static const uint8_t *fz_in;      /* the current input */
static size_t fz_in_len;

/* A failing reader must say why, and an input of a few KB must not exhaust memory (unless the
 * input itself holds the words, which then reach the message). */
static inline void fz_check_error(const char *what, size_t n)
{
	const char *e = err_get(), *oom = "out of memory";
	FZ_CHECK(strcmp(e, "unknown error") != 0, "%s failed without a message", what);
	FZ_CHECK(!strstr(e, oom) || (fz_in && memmem(fz_in, fz_in_len, oom, strlen(oom))),
	         "%s: an input of %zu bytes ran out of memory: %s", what, n, e);
}

volatile uint8_t fz_sink;         /* where fz_touch puts what it read, so the reads stay */

static inline void fz_touch(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t x = 0;
	for (size_t i = 0; i < n; i++)
		x ^= b[i];
	fz_sink ^= x;
}

static inline void fz_write_all(int fd, const uint8_t *d, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, d, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			perror("fuzz: write");
			abort();
		}
		d += w;
		n -= (size_t)w;
	}
}

/* A memory file holding exactly the input; its name is /proc/self/fd/FD (put in path). */
static inline int fz_memfile(const uint8_t *d, size_t n, char *path, size_t size)
{
	static int fd = -1;
	if (fd < 0 && (fd = memfd_create("fuzz-input", MFD_CLOEXEC)) < 0) {
		perror("fuzz: memfd_create");
		abort();
	}
	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		perror("fuzz: ftruncate");
		abort();
	}
	fz_write_all(fd, d, n);
	snprintf(path, size, "/proc/self/fd/%d", fd);
	return fd;
}

/* A file's whole contents replaced (created when missing). */
static inline void fz_put_file(const char *path, const void *d, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(path);
		abort();
	}
	fz_write_all(fd, d, n);
	close(fd);
}

/* A scratch directory for the life of the process, removed at exit with what the targets put in
 * it (flat: files only). */
static char fz_dir_path[64];
static inline void fz_dir_remove(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_dir_path);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", fz_dir_path);
}
static inline const char *fz_dir(void)
{
	if (!fz_dir_path[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(fz_dir_path, sizeof fz_dir_path, "%s/recycle-fuzz.XXXXXX", t && strlen(t) < 32 ? t : "/tmp");
		if (!mkdtemp(fz_dir_path)) {
			perror("fuzz: mkdtemp");
			abort();
		}
		atexit(fz_dir_remove);
	}
	return fz_dir_path;
}

/* A small deterministic choice from the input, so one input always takes the same path. */
static inline uint32_t fz_hash(const uint8_t *d, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 16777619u;
	return h;
}

/* The input starts with a zstd frame or skippable frame (then its data may expand). */
static inline int fz_is_zstd(const uint8_t *d, size_t n)
{
	if (n < 4)
		return 0;
	uint32_t v = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
	return v == 0xFD2FB528u || (v & 0xFFFFFFF0u) == 0x184D2A50u;
}

/* Read an opened checkpoint front to back and check what st.h promises: every tensor is found by
 * its name, st_read gives exactly min(max, ST_CHUNK, bytes left) and the tensor's byte count in
 * all, the byte counts add up to st_total_bytes. whole_limit: st_data is used on a tensor (and
 * only then) when it holds at most that many bytes (a stream's st_data allocates the tensor).
 * limit: the data of an uncompressed input lies inside it, so the tensors cannot claim more bytes
 * than the input holds (0: no bound, e.g. zstd). Returns 0, or -1 when a read failed (with a
 * message). */
static inline int fz_drain(st_ckpt *ck, uint64_t limit, uint64_t whole_limit, uint32_t h)
{
	const struct st_tensor *t;
	uint64_t total = 0, drained = 0;
	size_t count = st_count(ck);
	for (size_t i = 0; i < count; i++) {
		const struct st_tensor *u = st_at(ck, i);
		FZ_CHECK(u && st_find(ck, u->name) == u, "tensor %zu is not found by its name", i);
		FZ_CHECK(st_index(ck, u) == i, "st_index is not the inverse of st_at at %zu", i);
		FZ_CHECK(u->ndim >= 0 && u->ndim <= ST_MAX_DIMS, "tensor %s: %d dimensions", u->name, u->ndim);
		FZ_CHECK(u->dtype >= 0 && u->dtype < DT_COUNT, "tensor %s: dtype %d", u->name, u->dtype);
		FZ_CHECK(u->nbytes == u->numel * dtype_size(u->dtype), "tensor %s: nbytes", u->name);
		total += u->nbytes;
	}
	FZ_CHECK(st_total_bytes(ck) == total, "st_total_bytes %llu, tensors hold %llu",
	         (unsigned long long)st_total_bytes(ck), (unsigned long long)total);
	FZ_CHECK(!limit || total <= limit, "tensors claim %llu bytes in an input of %llu",
	         (unsigned long long)total, (unsigned long long)limit);
	st_meta(ck, "format");
	st_config(ck);
	st_stem(ck);
	int r;
	size_t seen = 0;
	while ((r = st_next(ck, &t)) > 0) {
		FZ_CHECK(t == st_at(ck, seen), "st_next skipped to %s", t->name);
		seen++;
		size_t es = dtype_size(t->dtype);
		if (drained > FZ_MAX_DRAIN)
			continue;            /* enough read: the rest is skipped, which st_next also checks */
		if (t->nbytes <= whole_limit && (h & 1)) {
			const void *p;
			if (st_data(ck, &p) < 0)
				return -1;
			fz_touch(p, (size_t)t->nbytes);
			drained += t->nbytes;
			continue;
		}
		size_t max = es * (1 + (h >> 1) % 4096);   /* a multiple of the element size */
		uint64_t got = 0;
		const void *p;
		ssize_t k;
		while ((k = st_read(ck, &p, max)) > 0) {
			uint64_t left = t->nbytes - got, want = max < ST_CHUNK ? max : ST_CHUNK;
			if (want > left)
				want = left;
			FZ_CHECK((uint64_t)k == want, "tensor %s: st_read gave %zd bytes, wanted %llu", t->name, k,
			         (unsigned long long)want);
			fz_touch(p, (size_t)k);
			got += (uint64_t)k;
			drained += (uint64_t)k;
			if (drained > FZ_MAX_DRAIN)
				break;
		}
		if (k < 0)
			return -1;
		FZ_CHECK(drained > FZ_MAX_DRAIN || got == t->nbytes, "tensor %s: read %llu of %llu bytes", t->name,
		         (unsigned long long)got, (unsigned long long)t->nbytes);
	}
	if (r < 0)
		return -1;
	FZ_CHECK(seen == count, "st_next visited %zu of %zu tensors", seen, count);
	return 0;
}

#endif
