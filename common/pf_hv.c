/* pf_hv.c — exact hypervolume and exclusive contributions (see pareto.h).
 *
 * m = 2: sort on the first objective, sum the strips under the running minimum of the second.
 * m = 3: sweep on the third objective; the area dominated in the first two grows as each point
 *        joins a treap staircase (pf_tree.c), which reports the area each insert adds.
 * m ≥ 4: WFG (While, Bradstreet, Barone 2012). With the points sorted on the last objective from
 *        worst to best, hv = Σ_i exclusive volume of p_i against the later points; the later
 *        points are better in the last objective, so the limit set {max(p_i, q)} shares p_i's
 *        last objective and the exclusive volume is (ref_m − p_m) × (box of p_i in m−1
 *        objectives − hv of the limit set in m−1 objectives). Each level drops one objective
 *        until the 3-D sweep; limit sets are reduced to their non-dominated distinct points. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "pareto.h"
#include "pf_tree.h"

static double box(const double *p, int m, const double *ref)
{
	double v = 1;
	for (int j = 0; j < m; j++)
		v *= ref[j] - p[j];
	return v;
}

struct colctx { int m, j, desc; };

static int cmp_rows(const void *pa, const void *pb, void *pc)
{
	const struct colctx *c = pc;
	const double *a = pa, *b = pb;
	for (int k = 0; k < c->m; k++) {
		int j = (c->j + k) % c->m;
		if (a[j] != b[j])
			return (a[j] < b[j]) != c->desc ? -1 : 1;
	}
	return 0;
}

/* Sort the rows of pts on column j (then the following columns, cyclically). */
static void sort_rows(double *pts, size_t n, int m, int j, int desc)
{
	struct colctx c = { m, j, desc };
	qsort_r(pts, n, (size_t)m * sizeof *pts, cmp_rows, &c);
}

/* Keep the non-dominated distinct rows, in place: the new count, or (size_t)-1 on OOM. */
static size_t compact(double *pts, size_t n, int m)
{
	if (n <= 1)
		return n;
	unsigned char *nd = malloc(2 * n);
	if (!nd) {
		err_oom();
		return (size_t)-1;
	}
	if (pf_front(n, m, pts, nd) < 0 || pf_dups(n, m, pts, nd + n) < 0) {
		free(nd);
		return (size_t)-1;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (nd[i] && !nd[n + i])
			memmove(pts + k++ * m, pts + i * m, (size_t)m * sizeof *pts);
	free(nd);
	return k;
}

static double hv2(double *pts, size_t n, const double *ref)
{
	sort_rows(pts, n, 2, 0, 0);
	double v = 0, y = ref[1];
	for (size_t i = 0; i < n; i++) {
		if (pts[2 * i + 1] < y)
			y = pts[2 * i + 1];
		v += ((i + 1 < n ? pts[2 * i + 2] : ref[0]) - pts[2 * i]) * (ref[1] - y);
	}
	return v;
}

static int hv3(double *pts, size_t n, const double *ref, double *out)
{
	struct pf_pool pool;
	int root = -1;
	double area = 0, v = 0;
	if (pf_pool_init(&pool, n) < 0)
		return -1;
	sort_rows(pts, n, 3, 2, 0);
	for (size_t i = 0; i < n; i++) {
		const double *p = pts + 3 * i;
		if (pf_stair_insert(&pool, &root, p[0], p[1], ref[0], ref[1], &area) < 0) {
			pf_pool_free(&pool);
			return -1;
		}
		v += area * ((i + 1 < n ? pts[3 * i + 5] : ref[2]) - p[2]);
	}
	pf_pool_free(&pool);
	*out = v;
	return 0;
}

/* pts: n rows strictly below ref, reordered; for m ≥ 4 distinct and mutually non-dominated. */
static int hv_rec(double *pts, size_t n, int m, const double *ref, double *out)
{
	if (n == 0) {
		*out = 0;
		return 0;
	}
	if (n == 1) {
		*out = box(pts, m, ref);
		return 0;
	}
	if (m == 1) {
		double lo = pts[0];
		for (size_t i = 1; i < n; i++)
			lo = pts[i] < lo ? pts[i] : lo;
		*out = ref[0] - lo;
		return 0;
	}
	if (m == 2) {
		*out = hv2(pts, n, ref);
		return 0;
	}
	if (m == 3)
		return hv3(pts, n, ref, out);
	int d = m - 1;
	double *lim = malloc(n * d * sizeof *lim), total = 0;
	if (!lim)
		return err_oom();
	sort_rows(pts, n, m, d, 1);
	for (size_t i = 0; i < n; i++) {
		const double *p = pts + i * m;
		size_t k = 0;
		for (size_t q = i + 1; q < n; q++, k++)
			for (int j = 0; j < d; j++)
				lim[k * d + j] = fmax(p[j], pts[q * m + j]);
		double inner;
		if ((k = compact(lim, k, d)) == (size_t)-1 || hv_rec(lim, k, d, ref, &inner) < 0) {
			free(lim);
			return -1;
		}
		total += (box(p, d, ref) - inner) * (ref[d] - p[d]);
	}
	free(lim);
	*out = total;
	return 0;
}

/* The points strictly below ref, copied: their count, or (size_t)-1 on OOM. idx (may be NULL)
 * gets their indices. */
static size_t inside(size_t n, int m, const double *f, const double *ref, double **out, size_t *idx)
{
	double *p = malloc((n ? n : 1) * m * sizeof *p);
	size_t k = 0;
	if (!p) {
		err_oom();
		return (size_t)-1;
	}
	for (size_t i = 0; i < n; i++) {
		int in = 1;
		for (int j = 0; j < m && in; j++)
			in = f[i * m + j] < ref[j];
		if (!in)
			continue;
		memcpy(p + k * m, f + i * m, (size_t)m * sizeof *p);
		if (idx)
			idx[k] = i;
		k++;
	}
	*out = p;
	return k;
}

static int check_m(int m)
{
	if (m < 1 || m > PF_HV_MAXM)
		return err_set("hypervolume of %d objectives: supported are 1 to %d", m, PF_HV_MAXM);
	return 0;
}

int pf_hv(size_t n, int m, const double *f, const double *ref, double *hv)
{
	double *p;
	size_t k;
	if (check_m(m) < 0 || (k = inside(n, m, f, ref, &p, NULL)) == (size_t)-1)
		return -1;
	/* the sweeps of m ≤ 3 take dominated and equal points in their stride */
	if (m >= 4 && (k = compact(p, k, m)) == (size_t)-1) {
		free(p);
		return -1;
	}
	int rc = hv_rec(p, k, m, ref, hv);
	free(p);
	return rc;
}

/* Exclusive contributions. Removing p can uncover the points only p dominated, so the points
 * that matter are those of rank 1 and 2 (a point of rank 3 or more keeps a dominator of rank 2).
 * With m = 2 each distinct front point u owns the rectangle between its neighbours on the front,
 * [u.x, next.x) × [u.y, prev.y), less what the rank-2 points dominated by u alone cover inside
 * it; those points are exactly the ones whose dominators on the front are u only, found by two
 * binary searches (the front sorted on x has y descending). */

struct xctx { const double *p; };

static int cmp_x(const void *pa, const void *pb, void *pc)
{
	const double *p = ((const struct xctx *)pc)->p;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	if (p[2 * a] != p[2 * b])
		return p[2 * a] < p[2 * b] ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* p: k points (x, y), rank[i] 1 or 2 (others absent); idx maps them to c[]. */
static int contrib2(size_t k, const double *p, const unsigned char *rank, const size_t *idx,
                    const double *ref, double *c)
{
	size_t *u = malloc((k ? k : 1) * sizeof *u), *owner = malloc((k ? k : 1) * sizeof *owner);
	size_t *start = calloc(k + 2, sizeof *start), *by = malloc((k ? k : 1) * sizeof *by), nu = 0;
	double *tmp = malloc((k ? k : 1) * 2 * sizeof *tmp);
	unsigned char *twin = calloc(k ? k : 1, 1);
	int rc = -1;
	if (!u || !owner || !start || !by || !tmp || !twin) {
		err_oom();
		goto out;
	}
	for (size_t i = 0; i < k; i++)
		if (rank[i] == 1)
			u[nu++] = i;
	struct xctx ctx = { p };
	qsort_r(u, nu, sizeof *u, cmp_x, &ctx);
	/* distinct front points: equal ones are adjacent (same x means same point on a front) */
	size_t d = 0;
	for (size_t t = 0; t < nu; t++) {
		if (d > 0 && p[2 * u[t]] == p[2 * u[d - 1]]) {
			twin[d - 1] = 1;
			continue;
		}
		u[d++] = u[t];
	}
	nu = d;
	/* owner of each rank-2 point: the only front point dominating it, else none (nu) */
	for (size_t i = 0; i < k; i++) {
		owner[i] = nu;
		if (rank[i] != 2)
			continue;
		size_t lo = 0, hi = nu;       /* a = #front points with x ≤ q.x */
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (p[2 * u[mid]] <= p[2 * i])
				lo = mid + 1;
			else
				hi = mid;
		}
		size_t a = lo;
		lo = 0, hi = nu;              /* b = first front point with y ≤ q.y */
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (p[2 * u[mid] + 1] <= p[2 * i + 1])
				hi = mid;
			else
				lo = mid + 1;
		}
		if (a == lo + 1)
			owner[i] = lo;
	}
	/* bucket the owned points by owner */
	for (size_t i = 0; i < k; i++)
		start[owner[i] + 1]++;
	for (size_t t = 1; t <= nu + 1; t++)
		start[t] += start[t - 1];
	for (size_t i = 0; i < k; i++)
		by[start[owner[i]]++] = i;
	for (size_t t = nu + 1; t > 0; t--)
		start[t] = start[t - 1];
	start[0] = 0;
	for (size_t t = 0; t < nu; t++) {
		if (twin[t])
			continue;
		const double *q = p + 2 * u[t];
		double r[2] = { t + 1 < nu ? p[2 * u[t + 1]] : ref[0], t > 0 ? p[2 * u[t - 1] + 1] : ref[1] };
		size_t n2 = 0;
		for (size_t s = start[t]; s < start[t + 1]; s++, n2++)
			memcpy(tmp + 2 * n2, p + 2 * by[s], 2 * sizeof *tmp);
		c[idx[u[t]]] = (r[0] - q[0]) * (r[1] - q[1]) - hv2(tmp, n2, r);
	}
	rc = 0;
out:
	free(u);
	free(owner);
	free(start);
	free(by);
	free(tmp);
	free(twin);
	return rc;
}

int pf_hv_contrib(size_t n, int m, const double *f, const double *ref, double *c)
{
	size_t *idx = malloc((n ? n : 1) * sizeof *idx), k, s = 0;
	unsigned char *rank = malloc(2 * (n ? n : 1));
	double *p = NULL, *rest = NULL, *lim = NULL;
	int rc = -1;
	if (check_m(m) < 0)
		goto out;
	if (!idx || !rank) {
		err_oom();
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		c[i] = 0;
	if ((k = inside(n, m, f, ref, &p, idx)) == (size_t)-1 || pf_front(k, m, p, rank) < 0)
		goto out;
	/* rank 2: the front of what is left */
	if (!(rest = malloc((k ? k : 1) * m * sizeof *rest))) {
		err_oom();
		goto out;
	}
	size_t *ri = malloc((k ? k : 1) * sizeof *ri), nr = 0;
	if (!ri) {
		err_oom();
		goto out;
	}
	for (size_t i = 0; i < k; i++)
		if (!rank[i]) {
			memcpy(rest + nr * m, p + i * m, (size_t)m * sizeof *p);
			ri[nr++] = i;
		}
	if (pf_front(nr, m, rest, rank + n) < 0) {
		free(ri);
		goto out;
	}
	for (size_t i = 0; i < nr; i++)
		rank[ri[i]] = rank[n + i] ? 2 : 0;
	free(ri);
	/* keep ranks 1 and 2, indices alongside */
	for (size_t i = 0; i < k; i++)
		if (rank[i]) {
			memmove(p + s * m, p + i * m, (size_t)m * sizeof *p);
			idx[s] = idx[i];
			rank[s++] = rank[i];
		}
	k = s;
	if (m == 2) {
		rc = contrib2(k, p, rank, idx, ref, c);
		goto out;
	}
	if (!(lim = malloc((k ? k : 1) * m * sizeof *lim))) {
		err_oom();
		goto out;
	}
	for (size_t i = 0; i < k; i++) {
		if (rank[i] != 1)
			continue;
		const double *q = p + i * m;
		size_t l = 0;
		for (size_t j = 0; j < k; j++) {
			if (j == i)
				continue;
			for (int d = 0; d < m; d++)
				lim[l * m + d] = fmax(q[d], p[j * m + d]);
			l++;
		}
		double inner;
		if ((l = compact(lim, l, m)) == (size_t)-1 || hv_rec(lim, l, m, ref, &inner) < 0)
			goto out;
		c[idx[i]] = box(q, m, ref) - inner;
	}
	rc = 0;
out:
	free(idx);
	free(rank);
	free(p);
	free(rest);
	free(lim);
	return rc;
}

void pf_ref_default(size_t n, int m, const double *f, double *ref)
{
	for (int j = 0; j < m; j++) {
		double lo = f[j], hi = f[j];
		for (size_t i = 1; i < n; i++) {
			double v = f[i * m + j];
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
		double off = 0.1 * (hi - lo);
		if (off == 0)
			off = hi != 0 ? 0.1 * fabs(hi) : 0.1;
		ref[j] = hi + off;
	}
}
