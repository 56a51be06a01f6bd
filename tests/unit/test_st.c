/* Unit tests of common/st: writer layout (spanning writes, empty tensors, shards), reader order
 * rules on streams, sizes. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dtype.h"
#include "err.h"
#include "st.h"
#include "t.h"

static char dir[] = "/tmp/test_st.XXXXXX";

static char *path(const char *name)
{
	static char buf[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

/* Three tensors, one empty, written in one st_write call spanning them all. */
static void write_three(const char *out, uint64_t shard)
{
	struct st_wopts o = { .shard_size = shard, .config = "{\"model_type\":\"llama\",\"torch_dtype\":\"float32\"}" };
	st_writer *w = st_create(out, &o);
	float data[10];
	for (int i = 0; i < 10; i++)
		data[i] = (float)i;
	CHECK(w != NULL, "create: %s", err_get());
	CHECK(st_add(w, "a", DT_F32, 2, (int64_t[]){ 2, 3 }) == 0, "add a");
	CHECK(st_add(w, "empty", DT_F32, 2, (int64_t[]){ 0, 5 }) == 0, "add empty");
	CHECK(st_add(w, "b", DT_F32, 1, (int64_t[]){ 4 }) == 0, "add b");
	CHECK(st_begin(w) == 0, "begin: %s", err_get());
	CHECK(st_write(w, data, sizeof data) == 0, "write: %s", err_get());
	CHECK(st_commit(w) == 0, "commit: %s", err_get());
}

static void test_roundtrip_file(void)
{
	write_three(path("x.safetensors"), 0);
	st_ckpt *ck = st_open(path("x.safetensors"));
	CHECK(ck != NULL, "open: %s", err_get());
	if (!ck)
		return;
	CHECK(st_count(ck) == 3, "count %zu", st_count(ck));
	CHECK(strcmp(st_stem(ck), "x") == 0, "stem %s", st_stem(ck));
	CHECK(st_meta(ck, "format") && strcmp(st_meta(ck, "format"), "pt") == 0, "format pt");
	CHECK(st_config(ck) && strstr(st_config(ck), "llama"), "config carried");
	const struct st_tensor *t = st_find(ck, "b");
	const void *p;
	CHECK(t && t->numel == 4 && t->nbytes == 16, "b found");
	CHECK(st_seek(ck, t) == 0 && st_read(ck, &p, 1 << 20) == 16 && ((const float *)p)[0] == 6.0f, "b data");
	CHECK(st_read(ck, &p, 1 << 20) == 0, "b done");
	t = st_find(ck, "a");
	CHECK(st_seek(ck, t) == 0 && st_read(ck, &p, 8) == 8 && ((const float *)p)[1] == 1.0f, "a first chunk");
	CHECK(st_read(ck, &p, 8) == 8 && ((const float *)p)[0] == 2.0f, "a second chunk");
	st_close(ck);
	/* The header is padded so the data starts 8-aligned. */
	int fd = open(path("x.safetensors"), O_RDONLY);
	uint64_t n = 0;
	CHECK(read(fd, &n, 8) == 8 && n % 8 == 0, "header length %llu multiple of 8", (unsigned long long)n);
	close(fd);
}

static void test_shards(void)
{
	write_three(path("d"), 20);    /* a: 24 bytes → shard 1; empty + b: 16 → shard 2 */
	struct stat sb;
	CHECK(stat(path("d/model-00001-of-00002.safetensors"), &sb) == 0, "shard 1");
	CHECK(stat(path("d/model-00002-of-00002.safetensors"), &sb) == 0, "shard 2");
	CHECK(stat(path("d/model.safetensors.index.json"), &sb) == 0, "index");
	CHECK(stat(path("d/config.json"), &sb) == 0, "config");
	st_ckpt *ck = st_open(path("d"));
	CHECK(ck != NULL, "open dir: %s", err_get());
	if (!ck)
		return;
	CHECK(st_count(ck) == 3 && strcmp(st_stem(ck), "d") == 0, "dir tensors and stem");
	const struct st_tensor *t;
	const void *p;
	int k = 0;
	float sum = 0;
	while (st_next(ck, &t) > 0) {
		ssize_t n;
		while ((n = st_read(ck, &p, 4)) > 0)
			sum += *(const float *)p;
		k++;
	}
	CHECK(k == 3 && sum == 45.0f, "iterated %d tensors, sum %g", k, sum);
	st_close(ck);
	write_three(path("one"), 0);
	CHECK(stat(path("one/model.safetensors"), &sb) == 0 && stat(path("one/model.safetensors.index.json"), &sb) != 0,
	      "single shard is model.safetensors without index");
}

static void test_write_errors(void)
{
	st_writer *w = st_create(path("e.safetensors"), NULL);
	float f[4] = { 0 };
	struct stat sb;
	CHECK(st_add(w, "a", DT_F32, 1, (int64_t[]){ 2 }) == 0, "add");
	CHECK(st_add(w, "__metadata__", DT_F32, 1, (int64_t[]){ 2 }) == -1, "reserved name");
	CHECK(st_begin(w) == 0, "begin");
	CHECK(st_write(w, f, sizeof f) == -1 && strstr(err_get(), "more data"), "too much: %s", err_get());
	st_abort(w);
	CHECK(stat(path("e.safetensors"), &sb) != 0, "nothing left after abort");
	w = st_create(path("e.safetensors"), NULL);
	st_add(w, "a", DT_F32, 1, (int64_t[]){ 2 });
	st_begin(w);
	st_write(w, f, 4);
	CHECK(st_commit(w) == -1 && strstr(err_get(), "tensor a: 4 bytes of data missing"), "short: %s", err_get());
	CHECK(stat(path("e.safetensors"), &sb) != 0, "nothing left after failed commit");
	CHECK(st_create(path("dz"), &(struct st_wopts){ .zstd_level = 3 }) == NULL, "zstd directory refused");
}

static void test_stream_order(void)
{
	/* A stream (pipe) can only move forward. */
	write_three(path("s.safetensors"), 0);
	int fds[2];
	CHECK(pipe(fds) == 0, "pipe");
	if (fork() == 0) {
		int in = open(path("s.safetensors"), O_RDONLY);
		char buf[4096];
		ssize_t n;
		close(fds[0]);
		while ((n = read(in, buf, sizeof buf)) > 0)
			if (write(fds[1], buf, (size_t)n) != n)
				_exit(1);
		_exit(0);
	}
	close(fds[1]);
	int save = dup(0);
	dup2(fds[0], 0);
	close(fds[0]);
	st_ckpt *ck = st_open("-");
	dup2(save, 0);
	close(save);
	CHECK(ck != NULL, "open stream: %s", err_get());
	if (!ck)
		return;
	CHECK(!st_seekable(ck), "stream not seekable");
	const void *p;
	CHECK(st_seek(ck, st_find(ck, "b")) == 0 && st_read(ck, &p, 64) == 16, "skip forward to b");
	CHECK(st_seek(ck, st_find(ck, "a")) == -1 && strstr(err_get(), "out of the stream's order"), "back: %s", err_get());
	st_close(ck);
}

static void test_sizes(void)
{
	uint64_t b;
	CHECK(st_parse_size("5GB", &b) == 0 && b == 5000000000ull, "5GB");
	CHECK(st_parse_size("500MiB", &b) == 0 && b == 500ull << 20, "500MiB");
	CHECK(st_parse_size("2K", &b) == 0 && b == 2000, "2K");
	CHECK(st_parse_size("1.5G", &b) == 0 && b == 1500000000ull, "1.5G");
	CHECK(st_parse_size("123", &b) == 0 && b == 123, "123");
	CHECK(st_parse_size("12XB", &b) == -1 && st_parse_size("", &b) == -1 && st_parse_size("-5", &b) == -1, "bad sizes");
	CHECK(st_parse_size("5gib", &b) == -1, "binary suffixes are case-sensitive");
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	T_RUN(test_roundtrip_file);
	T_RUN(test_shards);
	T_RUN(test_write_errors);
	T_RUN(test_stream_order);
	T_RUN(test_sizes);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return t_done();
}
