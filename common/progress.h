/* progress.h — the one way programs report progress: a one-line bar on standard error, drawn only
 * when stderr is a terminal and the program was not told -q, redrawn at most ten times a second;
 * and log lines ("prog: step 20/400 loss …") that go to standard error whether or not it is a
 * terminal (not with -q), printed above the bar when one is drawn. */
#ifndef RECYCLE_PROGRESS_H
#define RECYCLE_PROGRESS_H

#include <stdint.h>

struct progress {
	int on, quiet, drawn;
	const char *label;
	const char *unit;           /* NULL: bytes, shown as MB/s; else a count of these */
	uint64_t total, done;
	double t0, last;
};

/* total bytes (shown as MB/s), or with progress_start_count total things of a unit ("seq"). */
void progress_start(struct progress *p, const char *label, uint64_t total, int quiet);
void progress_start_count(struct progress *p, const char *label, uint64_t total, const char *unit, int quiet);
void progress_add(struct progress *p, uint64_t n);
void progress_set(struct progress *p, uint64_t done);
/* "prog: " and the formatted text as a line of its own, unless quiet. */
void progress_line(struct progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void progress_end(struct progress *p);
double progress_now(void);   /* monotonic seconds */

#endif
