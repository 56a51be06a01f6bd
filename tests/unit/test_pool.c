/* Unit tests of common/pool: every thread and every item exactly once, work handed out again and
 * again to the same threads, a nested call run inline. */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "t.h"

struct tally {
	atomic_int hits[64];
	atomic_int calls;
	int nt_seen;
	pool *p;
	atomic_int nested;
};

static void each_thread(void *ctx, int tid, int nt)
{
	struct tally *t = ctx;
	atomic_fetch_add(&t->hits[tid], 1);
	atomic_fetch_add(&t->calls, 1);
	t->nt_seen = nt;
}

static void each_item(void *ctx, size_t item, int tid)
{
	struct tally *t = ctx;
	atomic_fetch_add(&t->hits[item], 1);
	(void)tid;
}

static void inner(void *ctx, int tid, int nt)
{
	struct tally *t = ctx;
	atomic_fetch_add(&t->nested, nt);   /* runs inline: nt is 1 */
	(void)tid;
}

static void outer(void *ctx, int tid, int nt)
{
	struct tally *t = ctx;
	pool_run(t->p, inner, t);
	(void)tid;
	(void)nt;
}

static void test_run(void)
{
	for (int n = 1; n <= 5; n++) {
		pool *p = pool_new(n);
		CHECK(p && pool_threads(p) == n, "pool of %d", n);
		struct tally t;
		memset(&t, 0, sizeof t);
		for (int round = 0; round < 200; round++)
			pool_run(p, each_thread, &t);
		CHECK(t.nt_seen == n && atomic_load(&t.calls) == 200 * n, "%d threads: nt %d, %d calls", n, t.nt_seen,
		      atomic_load(&t.calls));
		for (int i = 0; i < n; i++)
			CHECK(atomic_load(&t.hits[i]) == 200, "thread %d ran %d times", i, atomic_load(&t.hits[i]));
		pool_free(p);
	}
	pool_free(NULL);
}

static void test_for(void)
{
	pool *p = pool_new(3);
	for (size_t items = 0; items <= 64; items += 7) {
		struct tally t;
		memset(&t, 0, sizeof t);
		pool_for(p, items, each_item, &t);
		int ok = 1;
		for (size_t i = 0; i < 64; i++)
			ok &= atomic_load(&t.hits[i]) == (i < items);
		CHECK(ok, "%zu items each once", items);
	}
	pool_free(p);
}

static void test_nested(void)
{
	struct tally t;
	memset(&t, 0, sizeof t);
	t.p = pool_new(4);
	pool_run(t.p, outer, &t);
	CHECK(atomic_load(&t.nested) == 4, "4 nested calls, each on one thread: %d", atomic_load(&t.nested));
	pool_free(t.p);
}

/* pool_cores follows the CPU affinity: all of this process's CPUs, then one. */
static void test_cores(void)
{
	cpu_set_t set, one;
	CHECK(sched_getaffinity(0, sizeof set, &set) == 0, "affinity");
	int n = CPU_COUNT(&set);
	CHECK(pool_cores(1024) == n, "pool_cores %d, affinity %d", pool_cores(1024), n);
	CHECK(pool_cores(1) == 1, "capped at 1");
	CPU_ZERO(&one);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set)) {
			CPU_SET(c, &one);
			break;
		}
	if (sched_setaffinity(0, sizeof one, &one) == 0) {
		CHECK(pool_cores(1024) == 1, "on one CPU: %d", pool_cores(1024));
		sched_setaffinity(0, sizeof set, &set);
	}
}

int main(void)
{
	T_RUN(test_run);
	T_RUN(test_for);
	T_RUN(test_nested);
	T_RUN(test_cores);
	return t_done();
}
