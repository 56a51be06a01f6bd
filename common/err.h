/* err.h — error messages and the program-level conventions every tool shares.
 *
 * Library code never exits: it records what went wrong with err_set() and returns -1 (or NULL);
 * the caller may add context with err_prefix() and pass the -1 up. Tools decide: die_err()
 * prints "prog: message" and exits 1, usage() exits 2. A format ending in ':' appends
 * ": strerror(errno)", as BSD err(3) does. */
#ifndef RECYCLE_ERR_H
#define RECYCLE_ERR_H

#include <stdarg.h>

#define EXIT_BAD   1   /* bad input or failure */
#define EXIT_USAGE 2   /* bad command line */

extern const char *prog_name;

int err_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int err_vset(const char *fmt, va_list ap);
int err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *err_get(void);
int err_oom(void);  /* err_set("out of memory"), returns -1 */

/* Tools only. */
void prog_init(const char *argv0);   /* prog_name; stdout flushed and checked at exit */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die_err(void);        /* prints err_get() */
_Noreturn void usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warnmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void print_version(void);            /* "prog (recycle) VERSION" on stdout */
int stdout_is_tty_refuse(void);      /* err_set + -1 when stdout is a terminal (binary output) */

/* An integer option argument in [lo, hi], or a usage error naming the option (exit 2):
 * "OPT: 'S' is not an integer in LO..HI". */
long long arg_int(const char *opt, const char *s, long long lo, long long hi);
/* A finite real option argument in [lo, hi] (lo excluded when lo_open), or a usage error:
 * "OPT: 'S' is not a positive number", "… a non-negative number", "… a number in (LO, HI]". */
double arg_double(const char *opt, const char *s, double lo, double hi, int lo_open);

/* Allocation for tools (die on failure). Library code checks malloc itself. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
