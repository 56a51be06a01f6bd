/* t.h — the unit-test harness: CHECK counts, T_RUN prints one TAP-style line per test function
 * ("ok - name" or "not ok - name" with the first failures), t_done() gives the exit status. */
#ifndef RECYCLE_T_H
#define RECYCLE_T_H

#include <stdio.h>

static int t_fails_now, t_fails_total, t_shown;

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		t_fails_now++; \
		if (t_shown++ < 10) { \
			printf("#   %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__); \
			printf("\n"); \
		} \
	} \
} while (0)

#define T_RUN(fn) do { \
	t_fails_now = 0; t_shown = 0; \
	fn(); \
	printf("%s - %s\n", t_fails_now ? "not ok" : "ok", #fn); \
	t_fails_total += t_fails_now; \
	fflush(stdout); \
} while (0)

static inline int t_done(void) { return t_fails_total ? 1 : 0; }

#endif
