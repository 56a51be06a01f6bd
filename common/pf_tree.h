/* pf_tree.h — private to the pareto module: a 2-D staircase kept in a treap, the balanced tree of
 * the 3-objective sweeps (ranking in pf_sort.c, hypervolume in pf_hv.c).
 *
 * A staircase holds mutually non-dominated points (minimization): in key order x ascends and y
 * strictly descends, so "is (x, y) weakly dominated?" is answered by the one node with the largest
 * x ≤ qx. Several staircases (one per rank) share one node pool; a staircase is just its root
 * index (-1 = empty). Each insert takes one node from the pool and nodes removed as dominated are
 * never reused, so a pool needs as many nodes as there will be inserts. */
#ifndef RECYCLE_PF_TREE_H
#define RECYCLE_PF_TREE_H

#include <stddef.h>

struct pf_node {
	double x, y;
	int l, r;        /* children, -1 = none */
	unsigned pri;    /* heap priority (a hash of the node index: deterministic) */
};

struct pf_pool {
	struct pf_node *t;
	size_t n, cap;
};

int pf_pool_init(struct pf_pool *p, size_t cap);    /* -1 on OOM */
void pf_pool_free(struct pf_pool *p);

/* 1 when some point of the staircase has x' ≤ x and y' ≤ y. */
int pf_stair_covered(const struct pf_pool *p, int root, double x, double y);

/* Insert (x, y) unless it is weakly dominated (then 0, nothing changes); the points it weakly
 * dominates leave the staircase. Returns 1 when inserted. With area non-NULL the region of
 * [x, rx) × [y, ry) newly dominated is added to *area (the staircase must lie below (rx, ry)).
 * -1 (err_set) when the pool is full. */
int pf_stair_insert(struct pf_pool *p, int *root, double x, double y,
                    double rx, double ry, double *area);

#endif
