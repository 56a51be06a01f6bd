/* pool.h — a pool of worker threads as an object: started once, then handed work again and again
 * (a merge's every chunk, a training run's every step) without creating threads each time.
 *
 * Two ways to hand out work; in both the calling thread takes part as thread 0, and the call
 * returns when every thread is done:
 *   pool_run  fn(ctx, tid, nt) once on each of the nt threads (the caller splits the work by tid:
 *             a static partition, the same for every run);
 *   pool_for  fn(ctx, item, tid) for every item of [0, items), the items handed out one at a
 *             time to whichever thread is free (dynamic: for items of uneven cost).
 * A call made while the pool is busy (from inside a worker, or from another thread) runs on the
 * calling thread alone, so nesting never deadlocks. Results must not depend on which thread ran
 * what; the pool keeps nothing between calls. */
#ifndef RECYCLE_POOL_H
#define RECYCLE_POOL_H

#include <stddef.h>

typedef struct pool pool;

/* A pool of `threads` threads in all (threads - 1 workers; 1: everything runs on the caller).
 * NULL and err_get() when a thread cannot be started or memory runs out. */
pool *pool_new(int threads);
void pool_free(pool *p);   /* stops and joins the workers; NULL is fine */
int pool_threads(const pool *p);
/* The cores this process may run on (its CPU affinity, e.g. under taskset or a Slurm allocation;
 * else the online processors), at least 1 and at most max. */
int pool_cores(int max);

void pool_run(pool *p, void (*fn)(void *ctx, int tid, int nt), void *ctx);
void pool_for(pool *p, size_t items, void (*fn)(void *ctx, size_t item, int tid), void *ctx);

#endif
