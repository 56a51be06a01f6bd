/* err.c — see err.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

const char *prog_name = "recycle";
static _Thread_local char errbuf[2048];

int err_vset(const char *fmt, va_list ap)
{
	int e = errno;
	int n = vsnprintf(errbuf, sizeof errbuf, fmt, ap);
	if (n > 0 && (size_t)n < sizeof errbuf && fmt[0] && fmt[strlen(fmt) - 1] == ':')
		snprintf(errbuf + n, sizeof errbuf - n, " %s", strerror(e));
	errno = e;
	return -1;
}

int err_set(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(fmt, ap);
	va_end(ap);
	return -1;
}

int err_prefix(const char *fmt, ...)
{
	char pre[1024], old[sizeof errbuf];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	memcpy(old, errbuf, sizeof old);
	size_t n = strlen(pre), m = strlen(old);
	if (n >= sizeof errbuf)
		n = sizeof errbuf - 1;
	if (m > sizeof errbuf - 1 - n)
		m = sizeof errbuf - 1 - n;
	memcpy(errbuf, pre, n);
	memcpy(errbuf + n, old, m);
	errbuf[n + m] = 0;
	return -1;
}

const char *err_get(void) { return errbuf[0] ? errbuf : "unknown error"; }

int err_oom(void) { return err_set("out of memory"); }

/* sbase's fshut: a write error on stdout (full disk, closed pipe) is an error, not silence. */
static void check_stdout(void)
{
	/* With SIGPIPE at its default a closed pipe ends the program before this; when SIGPIPE is
	 * ignored the write fails with EPIPE and is reported like any other write error. */
	if (fflush(stdout) == EOF || ferror(stdout) || fclose(stdout) == EOF) {
		fprintf(stderr, "%s: standard output: write error: %s\n", prog_name, strerror(errno ? errno : EIO));
		_exit(EXIT_BAD);
	}
}

void prog_init(const char *argv0)
{
	const char *s = argv0 ? strrchr(argv0, '/') : NULL;
	prog_name = s ? s + 1 : (argv0 && *argv0 ? argv0 : prog_name);
	atexit(check_stdout);
}

static void vmsg(const char *fmt, va_list ap)
{
	int e = errno;
	fflush(stdout);
	fprintf(stderr, "%s: ", prog_name);
	vfprintf(stderr, fmt, ap);
	if (fmt[0] && fmt[strlen(fmt) - 1] == ':')
		fprintf(stderr, " %s", strerror(e));
	fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(EXIT_BAD);
}

void die_err(void)
{
	fflush(stdout);
	fprintf(stderr, "%s: %s\n", prog_name, err_get());
	exit(EXIT_BAD);
}

void usage_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", prog_name);
	exit(EXIT_USAGE);
}

void warnmsg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void print_version(void) { printf("%s (recycle) %s\n", prog_name, RECYCLE_VERSION); }

int stdout_is_tty_refuse(void)
{
	if (isatty(STDOUT_FILENO))
		return err_set("refusing to write binary data to a terminal (redirect or use -o)");
	return 0;
}

long long arg_int(const char *opt, const char *s, long long lo, long long hi)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		usage_err("%s: '%s' is not an integer in %lld..%lld", opt, s, lo, hi);
	return v;
}

double arg_double(const char *opt, const char *s, double lo, double hi, int lo_open)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (!errno && end != s && !*end && isfinite(v) && v >= lo && v <= hi && !(lo_open && v == lo))
		return v;
	if (lo == 0 && isinf(hi))
		usage_err("%s: '%s' is not a %s number", opt, s, lo_open ? "positive" : "non-negative");
	if (isinf(lo) && isinf(hi))
		usage_err("%s: '%s' is not a number", opt, s);
	usage_err("%s: '%s' is not a number in %c%g, %g]", opt, s, lo_open ? '(' : '[', lo, hi);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (!p)
		die("out of memory");
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		die("out of memory");
	return p;
}
