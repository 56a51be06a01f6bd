/* test_fuzz_regress.c — the fuzz targets' saved inputs replayed in the normal build (and, under
 * `make test SAN=1`, with AddressSanitizer and UndefinedBehaviorSanitizer): every file of
 * tests/fuzz/regress/TARGET/ (an input that once broke the target: a crash, a leak, UB, a broken
 * invariant, an allocation bomb) and of tests/fuzz/corpus/TARGET/ (the seeds) goes through the
 * target's own driver, included from tests/fuzz/, in a child process each, its invariants counted
 * instead of aborting.
 * Memory is bounded as the fuzzer bounds it: an input that needs more than 512 MB fails; memory
 * is filled with garbage by malloc (MALLOC_PERTURB_), so a read of memory never written shows. */
#define FZ_REPLAY 1
#include "../fuzz/st_file.c"
#include "../fuzz/st_stream.c"
#include "../fuzz/st_index.c"
#include "../fuzz/rec.c"
#include "../fuzz/cma_state.c"
#include "../fuzz/task.c"
#include "../fuzz/config.c"
#include "../fuzz/tok.c"
#include "../fuzz/lines.c"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "t.h"

#define LIMIT_MB 512

#ifdef __SANITIZE_ADDRESS__
#define FZ_ASAN 1
/* ASan reserves terabytes of address space, so it bounds allocations itself. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1:max_allocation_size_mb=512";
}
#endif

/* The address space this process holds now plus LIMIT_MB: a larger allocation fails. */
static void limit_memory(void)
{
#ifndef FZ_ASAN
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long kb = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmSize: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	struct rlimit rl = { (rlim_t)(kb * 1024 + ((unsigned long long)LIMIT_MB << 20)),
	                     (rlim_t)(kb * 1024 + ((unsigned long long)LIMIT_MB << 20)) };
	if (kb && setrlimit(RLIMIT_AS, &rl) < 0)
		perror("setrlimit");
#endif
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every file of DIR through fn; returns the count. */
static int replay_dir(const char *dir, void (*fn)(const uint8_t *, size_t))
{
	DIR *dp = opendir(dir);
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	if (!dp)
		return 0;
	while ((e = readdir(dp)))
		if (e->d_name[0] != '.') {
			names = realloc(names, (n + 1) * sizeof *names);
			names[n++] = strdup(e->d_name);
		}
	closedir(dp);
	if (n)
		qsort(names, n, sizeof *names, cmp_name);
	for (size_t i = 0; i < n; i++) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		FILE *f = fopen(path, "rb");
		uint8_t *buf = NULL;
		size_t len = 0, cap = 0, got;
		CHECK(f != NULL, "%s: cannot open", path);
		while (f) {
			if (len == cap) {
				uint8_t *nb = realloc(buf, cap = cap ? 2 * cap : 65536);
				CHECK(nb != NULL, "out of memory reading %s", path);
				if (!nb)
					break;
				buf = nb;
			}
			if ((got = fread(buf + len, 1, cap - len, f)) == 0)
				break;
			len += got;
		}
		if (f)
			fclose(f);
		/* In a child, so a crash is this input's failure and the others still run. */
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0) {
			fz_in = buf;
			fz_in_len = len;
			fn(buf ? buf : (const uint8_t *)"", len);
			exit(fz_broken ? 3 : 0);
		}
		int st = 0;
		CHECK(pid > 0 && waitpid(pid, &st, 0) == pid, "%s: fork/wait failed", path);
		if (WIFSIGNALED(st))
			CHECK(0, "%s: killed by signal %d (%s)", path, WTERMSIG(st), strsignal(WTERMSIG(st)));
		else if (WEXITSTATUS(st) == 3)
			CHECK(0, "%s: invariants broken (the messages are above)", path);
		else
			CHECK(WEXITSTATUS(st) == 0, "%s: exit status %d (a sanitizer's report is above)", path, WEXITSTATUS(st));
		free(buf);
		free(names[i]);
	}
	free(names);
	return (int)n;
}

#define REPLAY(name) \
	static void replay_##name(void) \
	{ \
		int n = replay_dir("tests/fuzz/regress/" #name, fz_##name); \
		n += replay_dir("tests/fuzz/corpus/" #name, fz_##name); \
		CHECK(n > 0, "no inputs in tests/fuzz/regress/%s or tests/fuzz/corpus/%s", #name, #name); \
	}
REPLAY(st_file)
REPLAY(st_stream)
REPLAY(st_index)
REPLAY(rec)
REPLAY(cma_state)
REPLAY(task)
REPLAY(config)
REPLAY(tok)
REPLAY(lines)

int main(int argc, char **argv)
{
	/* glibc fills what malloc gives with 0x41 and what free takes with 0xbe (ASan does the
	 * like): a read of memory never written then finds garbage, not the zeros of fresh pages. */
	if (!getenv("MALLOC_PERTURB_") && argc > 0) {
		setenv("MALLOC_PERTURB_", "190", 1);
		execv("/proc/self/exe", argv);
	}
	limit_memory();
	T_RUN(replay_st_file);
	T_RUN(replay_st_stream);
	T_RUN(replay_st_index);
	T_RUN(replay_rec);
	T_RUN(replay_cma_state);
	T_RUN(replay_task);
	T_RUN(replay_config);
	T_RUN(replay_tok);
	T_RUN(replay_lines);
	return t_done();
}
