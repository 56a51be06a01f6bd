/* pf_sort.c — non-dominated sorting (see pareto.h).
 *
 * Every method starts from the lexicographic order of the points (ties by index). In that order
 * a point can only be dominated by points before it, and equal points sit next to each other, so
 * one sweep assigns each point its rank from the ranks already known: the rank of p is the first
 * rank k holding no point that dominates p. "Rank k holds a dominator of p" is true for every
 * k below p's rank and false from it on (a dominator of rank k+1 has its own dominator of rank k,
 * which dominates p too), so k is found by binary search over the ranks. What differs with m is
 * how one rank answers the question:
 *   m = 2  the smallest second objective seen in the rank (one number),
 *   m = 3  the 2-D staircase of objectives 2 and 3 seen in the rank, a treap (pf_tree.c),
 *   m ≥ 4  a scan of the rank's members. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "pareto.h"
#include "pf_tree.h"

struct lexctx { const double *f; int m; };

static int cmp_lex(const void *pa, const void *pb, void *pc)
{
	const struct lexctx *c = pc;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	const double *x = c->f + a * c->m, *y = c->f + b * c->m;
	for (int j = 0; j < c->m; j++)
		if (x[j] != y[j])
			return x[j] < y[j] ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* For m ≤ 3 the sort moves rows that carry their keys (key…, index) rather than indices that
 * point at them: the comparisons then read memory in order, about twice as fast at n = 10^5. */
struct row3 { double k[3]; size_t i; };

static int cmp_row3(const void *pa, const void *pb, void *pc)
{
	const struct row3 *a = pa, *b = pb;
	int m = *(const int *)pc;
	for (int j = 0; j < m; j++)
		if (a->k[j] != b->k[j])
			return a->k[j] < b->k[j] ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

static size_t *lex_order(size_t n, int m, const double *f)
{
	size_t *o = malloc((n ? n : 1) * sizeof *o);
	if (!o) {
		err_oom();
		return NULL;
	}
	struct row3 *r = m <= 3 ? malloc((n ? n : 1) * sizeof *r) : NULL;
	if (r) {
		for (size_t i = 0; i < n; i++) {
			memcpy(r[i].k, f + i * m, (size_t)m * sizeof *f);
			r[i].i = i;
		}
		qsort_r(r, n, sizeof *r, cmp_row3, &m);
		for (size_t i = 0; i < n; i++)
			o[i] = r[i].i;
		free(r);
		return o;
	}
	for (size_t i = 0; i < n; i++)
		o[i] = i;
	struct lexctx c = { f, m };
	qsort_r(o, n, sizeof *o, cmp_lex, &c);
	return o;
}

static int same(const double *a, const double *b, int m)
{
	for (int j = 0; j < m; j++)
		if (a[j] != b[j])
			return 0;
	return 1;
}

/* a ≤ b everywhere (dominance, for a ≠ b). */
static int weakly_le(const double *a, const double *b, int m)
{
	for (int j = 0; j < m; j++)
		if (a[j] > b[j])
			return 0;
	return 1;
}

/* The sweep. With first_only, ranks above 1 are all reported as 2 and never stored. */
static int sweep_ranks(size_t n, int m, const double *f, int *rank, int first_only)
{
	size_t *o = lex_order(n, m, f);
	double *last = NULL;          /* m = 2: per rank the smallest objective 2 */
	int *root = NULL;             /* m = 3: per rank its staircase */
	size_t *head = NULL, *next = NULL;  /* m ≥ 4: per rank a list of members */
	struct pf_pool pool = { 0 };
	size_t nranks = 0;
	int rc = -1;
	if (!o)
		return -1;
	if (m == 2)
		last = malloc((n ? n : 1) * sizeof *last);
	else if (m == 3)
		root = malloc((n ? n : 1) * sizeof *root);
	else if (!(head = malloc((n ? n : 1) * sizeof *head)) || !(next = malloc((n ? n : 1) * sizeof *next)))
		goto oom;
	if ((m == 2 && !last) || (m == 3 && (!root || pf_pool_init(&pool, n) < 0)))
		goto oom;

	for (size_t s = 0; s < n; s++) {
		size_t i = o[s];
		const double *p = f + i * m;
		if (s > 0 && same(p, f + o[s - 1] * m, m)) {
			rank[i] = rank[o[s - 1]];
			continue;
		}
		size_t lo = 0, hi = first_only && nranks > 1 ? 1 : nranks;
		while (lo < hi) {   /* first rank without a dominator of p */
			size_t k = lo + (hi - lo) / 2, covered = 0;
			if (m == 2) {
				covered = last[k] <= p[1];
			} else if (m == 3) {
				covered = pf_stair_covered(&pool, root[k], p[1], p[2]);
			} else {
				for (size_t q = head[k]; q != (size_t)-1 && !covered; q = next[q])
					covered = weakly_le(f + q * m, p, m);
			}
			if (covered)
				lo = k + 1;
			else
				hi = k;
		}
		if (first_only && lo > 0) {
			rank[i] = 2;
			continue;
		}
		if (lo == nranks) {
			nranks++;
			if (m == 2)
				last[lo] = INFINITY;
			else if (m == 3)
				root[lo] = -1;
			else
				head[lo] = (size_t)-1;
		}
		rank[i] = (int)lo + 1;
		if (m == 2) {
			last[lo] = p[1];
		} else if (m == 3) {
			if (pf_stair_insert(&pool, &root[lo], p[1], p[2], 0, 0, NULL) < 0)
				goto out;
		} else {
			next[i] = head[lo];
			head[lo] = i;
		}
	}
	rc = 0;
	goto out;
oom:
	err_oom();
out:
	free(o);
	free(last);
	free(root);
	free(head);
	free(next);
	pf_pool_free(&pool);
	return rc;
}

int pf_rank(size_t n, int m, const double *f, int *rank)
{
	return sweep_ranks(n, m, f, rank, 0);
}

int pf_front(size_t n, int m, const double *f, unsigned char *nd)
{
	int *r = malloc((n ? n : 1) * sizeof *r);
	if (!r)
		return err_oom();
	if (sweep_ranks(n, m, f, r, 1) < 0) {
		free(r);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		nd[i] = r[i] == 1;
	free(r);
	return 0;
}

int pf_dups(size_t n, int m, const double *f, unsigned char *dup)
{
	size_t *o = lex_order(n, m, f);
	if (!o)
		return -1;
	for (size_t s = 0; s < n; s++)
		dup[o[s]] = s > 0 && same(f + o[s] * m, f + o[s - 1] * m, m);
	free(o);
	return 0;
}

struct objctx { const double *f; int m, j; };

static int cmp_obj(const void *pa, const void *pb, void *pc)
{
	const struct objctx *c = pc;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	double x = c->f[a * c->m + c->j], y = c->f[b * c->m + c->j];
	if (x != y)
		return x < y ? -1 : 1;
	return a < b ? -1 : a > b;
}

int pf_crowding(size_t n, int m, const double *f, const int *rank, double *cd)
{
	int maxr = 0;
	for (size_t i = 0; i < n; i++)
		if (rank[i] > maxr)
			maxr = rank[i];
	size_t *start = calloc((size_t)maxr + 2, sizeof *start);
	size_t *by = malloc((n ? n : 1) * sizeof *by);
	if (!start || !by) {
		free(start);
		free(by);
		return err_oom();
	}
	/* Counting sort by rank: by[start[r] .. start[r+1]) are the members of rank r, in index order. */
	for (size_t i = 0; i < n; i++)
		start[rank[i] + 1]++;
	for (int r = 1; r <= maxr + 1; r++)
		start[r] += start[r - 1];
	for (size_t i = 0; i < n; i++)
		by[start[rank[i]]++] = i;
	for (int r = maxr; r >= 1; r--)
		start[r] = start[r - 1];
	start[0] = 0;
	for (size_t i = 0; i < n; i++)
		cd[i] = 0;
	for (int r = 1; r <= maxr; r++) {
		size_t *g = by + start[r], k = start[r + 1] - start[r];
		if (k <= 2) {
			for (size_t a = 0; a < k; a++)
				cd[g[a]] = INFINITY;
			continue;
		}
		for (int j = 0; j < m; j++) {
			struct objctx c = { f, m, j };
			qsort_r(g, k, sizeof *g, cmp_obj, &c);
			double lo = f[g[0] * m + j], hi = f[g[k - 1] * m + j];
			cd[g[0]] = cd[g[k - 1]] = INFINITY;
			if (hi > lo)
				for (size_t a = 1; a + 1 < k; a++)
					cd[g[a]] += (f[g[a + 1] * m + j] - f[g[a - 1] * m + j]) / (hi - lo);
		}
	}
	free(start);
	free(by);
	return 0;
}
