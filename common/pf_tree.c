/* pf_tree.c — see pf_tree.h. A treap by split and merge: expected depth O(log n) whatever the
 * insertion order, with priorities hashed from the node index so runs are reproducible. */
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "pf_tree.h"
#include "rng.h"

int pf_pool_init(struct pf_pool *p, size_t cap)
{
	p->n = 0;
	p->cap = cap;
	p->t = malloc((cap ? cap : 1) * sizeof *p->t);
	return p->t ? 0 : err_oom();
}

void pf_pool_free(struct pf_pool *p)
{
	free(p->t);
	p->t = NULL;
	p->n = p->cap = 0;
}

static unsigned hash_pri(size_t i) { return (unsigned)rng_mix64((uint64_t)i + RNG_GOLDEN); }

static int merge(struct pf_node *t, int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	if (t[a].pri > t[b].pri) {
		t[a].r = merge(t, t[a].r, b);
		return a;
	}
	t[b].l = merge(t, a, t[b].l);
	return b;
}

/* *lo gets the nodes with x < key, *hi the rest. */
static void split_x(struct pf_node *t, int v, double key, int *lo, int *hi)
{
	if (v < 0) {
		*lo = *hi = -1;
	} else if (t[v].x < key) {
		split_x(t, t[v].r, key, &t[v].r, hi);
		*lo = v;
	} else {
		split_x(t, t[v].l, key, lo, &t[v].l);
		*hi = v;
	}
}

/* On a staircase y descends in key order: *lo gets the nodes with y ≥ key, *hi the rest. */
static void split_y(struct pf_node *t, int v, double key, int *lo, int *hi)
{
	if (v < 0) {
		*lo = *hi = -1;
	} else if (t[v].y >= key) {
		split_y(t, t[v].r, key, &t[v].r, hi);
		*lo = v;
	} else {
		split_y(t, t[v].l, key, lo, &t[v].l);
		*hi = v;
	}
}

static int first(const struct pf_node *t, int v)
{
	if (v >= 0)
		while (t[v].l >= 0)
			v = t[v].l;
	return v;
}

static int last(const struct pf_node *t, int v)
{
	if (v >= 0)
		while (t[v].r >= 0)
			v = t[v].r;
	return v;
}

int pf_stair_covered(const struct pf_pool *p, int root, double x, double y)
{
	const struct pf_node *t = p->t;
	int best = -1;
	for (int v = root; v >= 0;) {
		if (t[v].x <= x) {
			best = v;
			v = t[v].r;
		} else {
			v = t[v].l;
		}
	}
	return best >= 0 && t[best].y <= y;
}

/* The region below the staircase step by step, over the removed nodes in key order. */
struct sweep { double a, top, y; double area; };

static void sweep_removed(const struct pf_node *t, int v, struct sweep *s)
{
	while (v >= 0) {
		sweep_removed(t, t[v].l, s);
		s->area += (t[v].x - s->a) * (s->top - s->y);
		s->a = t[v].x;
		s->top = t[v].y;
		v = t[v].r;
	}
}

int pf_stair_insert(struct pf_pool *p, int *root, double x, double y,
                    double rx, double ry, double *area)
{
	struct pf_node *t = p->t;
	int lo, hi, gone, keep;
	split_x(t, *root, x, &lo, &hi);
	int a = last(t, lo), b = first(t, hi);
	if ((b >= 0 && t[b].x == x && t[b].y <= y) || (a >= 0 && t[a].y <= y)) {
		*root = merge(t, lo, hi);
		return 0;
	}
	if (p->n >= p->cap) {
		*root = merge(t, lo, hi);
		return err_set("staircase pool exhausted (%zu nodes)", p->cap);
	}
	split_y(t, hi, y, &gone, &keep);
	if (area) {
		struct sweep s = { x, a >= 0 ? t[a].y : ry, y, 0 };
		sweep_removed(t, gone, &s);
		int k = first(t, keep);
		s.area += ((k >= 0 ? t[k].x : rx) - s.a) * (s.top - y);
		*area += s.area;
	}
	size_t v = p->n++;
	t[v] = (struct pf_node){ x, y, -1, -1, hash_pri(v) };
	*root = merge(t, merge(t, lo, (int)v), keep);
	return 1;
}
