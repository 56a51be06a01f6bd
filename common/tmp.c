/* tmp.c — see tmp.h. The registry is a fixed array read by a signal handler: entries are
 * published by storing the pointer before the count, and the handler only calls unlink/rmdir. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "tmp.h"

#define TMP_REG_MAX 4096

static struct { char *path; int is_dir; } reg[TMP_REG_MAX];
static volatile sig_atomic_t nreg;
static int installed;

static void remove_all(void)
{
	/* Files first (registered after their directory), directories last. */
	for (int pass = 0; pass < 2; pass++)
		for (int i = nreg - 1; i >= 0; i--)
			if (reg[i].path && reg[i].is_dir == pass)
				pass ? rmdir(reg[i].path) : unlink(reg[i].path);
}

static void on_signal(int sig)
{
	remove_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_exit_cleanup(void) { remove_all(); }

void tmp_remove_now(void) { remove_all(); }

static void install(void)
{
	struct sigaction sa;
	if (installed)
		return;
	installed = 1;
	atexit(on_exit_cleanup);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		struct sigaction old;
		/* Respect an inherited "ignore" (nohup, background jobs). */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

char *tmp_sibling(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path + 1) : 0;
	const char *base = slash ? slash + 1 : path;
	size_t n = strlen(path) + 40;
	char *s = malloc(n);
	if (!s) {
		err_oom();
		return NULL;
	}
	snprintf(s, n, "%.*s.%s.tmp.%ld", (int)dlen, path, base, (long)getpid());
	return s;
}

int tmp_register(const char *path, int is_dir)
{
	install();
	if (nreg >= TMP_REG_MAX)
		return err_set("%s: too many temporary files", path);
	char *p = strdup(path);
	if (!p)
		return err_oom();
	reg[nreg].path = p;
	reg[nreg].is_dir = is_dir;
	nreg = nreg + 1;
	return 0;
}

void tmp_forget(const char *path)
{
	for (int i = nreg - 1; i >= 0; i--)
		if (reg[i].path && strcmp(reg[i].path, path) == 0) {
			char *p = reg[i].path;
			reg[i].path = NULL;
			free(p);
			break;
		}
	while (nreg > 0 && !reg[nreg - 1].path)
		nreg = nreg - 1;
}

void tmp_cleanup(void)
{
	remove_all();
	for (int i = nreg - 1; i >= 0; i--) {
		char *p = reg[i].path;
		reg[i].path = NULL;
		free(p);
	}
	nreg = 0;
}

void tmp_cleanup_under(const char *path)
{
	size_t l = strlen(path);
	for (int pass = 0; pass < 2; pass++)
		for (int i = nreg - 1; i >= 0; i--) {
			char *p = reg[i].path;
			if (p && reg[i].is_dir == pass && !strncmp(p, path, l) && (p[l] == 0 || p[l] == '/')) {
				pass ? rmdir(p) : unlink(p);
				reg[i].path = NULL;
				free(p);
			}
		}
	while (nreg > 0 && !reg[nreg - 1].path)
		nreg = nreg - 1;
}

/* An existing directory may be replaced when it is empty or looks like a checkpoint: anything
 * else (a home directory given by mistake) is refused. */
static int replaceable_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int ok = 1;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		size_t l = strlen(n);
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		if ((l > 12 && !strcmp(n + l - 12, ".safetensors")) || (l > 5 && !strcmp(n + l - 5, ".json")) ||
		    !strncmp(n, "tokenizer", 9) || !strcmp(n, "merges.txt") || !strncmp(n, "vocab.", 6) ||
		    (l > 6 && !strcmp(n + l - 6, ".jinja")))
			continue;
		ok = 0;
		break;
	}
	closedir(d);
	return ok;
}

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char buf[4096];
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(buf, sizeof buf, "%s/%s", path, e->d_name);
		unlink(buf);
	}
	closedir(d);
	rmdir(path);
}

int tmp_commit(const char *tmp, const char *path, int is_dir)
{
	struct stat st;
	if (is_dir && lstat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return err_set("%s: exists and is not a directory", path);
		if (!replaceable_dir(path))
			return err_set("%s: directory exists and holds files other than a checkpoint's; not replacing it", path);
		char *old = tmp_sibling(path);
		if (!old)
			return -1;
		size_t n = strlen(old);
		char *o2 = realloc(old, n + 5);
		if (!o2) {
			free(old);
			return err_oom();
		}
		old = o2;
		strcpy(old + n, ".old");
		if (rename(path, old) < 0) {
			err_set("%s: cannot move the old directory aside:", path);
			free(old);
			return -1;
		}
		if (rename(tmp, path) < 0) {
			err_set("%s:", path);
			rename(old, path);
			free(old);
			return -1;
		}
		remove_tree(old);
		free(old);
	} else if (rename(tmp, path) < 0) {
		return err_set("%s:", path);
	}
	/* Forget the directory and everything registered below it. */
	size_t tl = strlen(tmp);
	for (int i = nreg - 1; i >= 0; i--)
		if (reg[i].path && !strncmp(reg[i].path, tmp, tl) && (reg[i].path[tl] == 0 || reg[i].path[tl] == '/')) {
			char *p = reg[i].path;
			reg[i].path = NULL;
			free(p);
		}
	while (nreg > 0 && !reg[nreg - 1].path)
		nreg = nreg - 1;
	return 0;
}

int tmp_make_parents(const char *path)
{
	char *d = strdup(path);
	if (!d)
		return err_oom();
	char *slash = strrchr(d, '/');
	int rc = 0;
	if (!slash || slash == d) {   /* the current or the root directory */
		free(d);
		return 0;
	}
	*slash = 0;
	/* Each prefix in turn, from the top; an existing one is fine when it is a directory. */
	for (char *p = d + 1;; p++) {
		if (*p != '/' && *p != 0)
			continue;
		char c = *p;
		*p = 0;
		struct stat st;
		if (mkdir(d, 0777) < 0 && errno != EEXIST) {
			rc = err_set("%s:", d);
			break;
		}
		if (stat(d, &st) < 0) {
			rc = err_set("%s:", d);
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc = err_set("%s: not a directory", d);
			break;
		}
		*p = c;
		if (!c)
			break;
	}
	free(d);
	return rc;
}
