/* pool.c — see pool.h. One mutex and two condition variables: workers sleep on `go` until the
 * generation counter moves, the caller sleeps on `done` until the last worker has finished. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "pool.h"

struct worker {
	struct pool *p;
	int tid;
};

struct pool {
	int n;                  /* threads, the caller included */
	pthread_t *th;
	struct worker *wk;
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	unsigned long gen;      /* bumped for each piece of work */
	int busy, quit;
	atomic_int inuse;       /* a call is running: another one runs on its caller alone */
	/* the current work: run (fn_run) or for (fn_for over items, next handed out atomically) */
	void (*fn_run)(void *ctx, int tid, int nt);
	void (*fn_for)(void *ctx, size_t item, int tid);
	void *ctx;
	size_t items;
	atomic_size_t next;
};

static void work(struct pool *p, int tid)
{
	if (p->fn_run) {
		p->fn_run(p->ctx, tid, p->n);
		return;
	}
	size_t i;
	while ((i = atomic_fetch_add(&p->next, 1)) < p->items)
		p->fn_for(p->ctx, i, tid);
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct pool *p = wk->p;
	unsigned long seen = 0;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->gen == seen && !p->quit)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->quit)
			break;
		seen = p->gen;
		pthread_mutex_unlock(&p->mu);
		work(p, wk->tid);
		pthread_mutex_lock(&p->mu);
		if (--p->busy == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Runs the work set in p on every thread; the caller owns p->inuse. */
static void dispatch(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->busy = p->n - 1;
	p->gen++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	work(p, 0);
	pthread_mutex_lock(&p->mu);
	while (p->busy)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	atomic_store(&p->inuse, 0);
}

void pool_run(pool *p, void (*fn)(void *ctx, int tid, int nt), void *ctx)
{
	if (!p || p->n == 1 || atomic_exchange(&p->inuse, 1)) {
		fn(ctx, 0, 1);
		return;
	}
	p->fn_run = fn;
	p->fn_for = NULL;
	p->ctx = ctx;
	dispatch(p);
}

void pool_for(pool *p, size_t items, void (*fn)(void *ctx, size_t item, int tid), void *ctx)
{
	if (!p || p->n == 1 || items <= 1 || atomic_exchange(&p->inuse, 1)) {
		for (size_t i = 0; i < items; i++)
			fn(ctx, i, 0);
		return;
	}
	p->fn_run = NULL;
	p->fn_for = fn;
	p->ctx = ctx;
	p->items = items;
	atomic_store(&p->next, 0);
	dispatch(p);
}

int pool_threads(const pool *p) { return p ? p->n : 1; }

int pool_cores(int max)
{
	cpu_set_t set;
	long n = 0;
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		n = CPU_COUNT(&set);
	if (n < 1)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return n > max ? max : (int)n;
}

void pool_free(pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (int i = 1; i < p->n; i++)
		pthread_join(p->th[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	free(p->th);
	free(p->wk);
	free(p);
}

pool *pool_new(int threads)
{
	pool *p = calloc(1, sizeof *p);
	if (threads < 1)
		threads = 1;
	if (!p || !(p->th = calloc(threads, sizeof *p->th)) || !(p->wk = calloc(threads, sizeof *p->wk))) {
		if (p)
			free(p->th);
		free(p);
		err_oom();
		return NULL;
	}
	p->n = 1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	for (int i = 1; i < threads; i++) {
		p->wk[i] = (struct worker){ p, i };
		int e = pthread_create(&p->th[i], NULL, worker_main, &p->wk[i]);
		if (e) {
			pool_free(p);
			errno = e;
			err_set("cannot start thread %d of %d:", i + 1, threads);
			return NULL;
		}
		p->n = i + 1;
	}
	return p;
}
