/* Unit tests of common/pareto: ranks, fronts and duplicates against brute force on random sets
 * with ties; hypervolume and exclusive contributions against inclusion–exclusion and against
 * counting the cells of an integer grid; crowding and knee on hand-worked sets; reading records
 * and matrices. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "pareto.h"
#include "t.h"

static unsigned long long rng = 0x2545f4914f6cdd1dULL;

static unsigned long long next_u64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double unif(void) { return (next_u64() >> 11) * 0x1.0p-53; }

/* n points: integers in [0, levels) (ties and duplicates) or, with levels 0, continuous ones
 * on a slanted band so that fronts are large; some exact copies of earlier points. */
static void random_set(double *f, size_t n, int m, int levels)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && next_u64() % 8 == 0) {
			memcpy(f + i * m, f + (next_u64() % i) * m, m * sizeof *f);
			continue;
		}
		double s = 0;
		for (int j = 0; j < m; j++) {
			f[i * m + j] = levels ? (double)(next_u64() % levels) : unif();
			s += f[i * m + j];
		}
		if (!levels && next_u64() % 2)   /* pull half the points towards the plane Σ = 1 */
			for (int j = 0; j < m; j++)
				f[i * m + j] /= s;
	}
}

static int dominates(const double *a, const double *b, int m)
{
	int lt = 0;
	for (int j = 0; j < m; j++) {
		if (a[j] > b[j])
			return 0;
		lt |= a[j] < b[j];
	}
	return lt;
}

struct sumctx { const double *f; int m; };

static int cmp_sum(const void *pa, const void *pb, void *pc)
{
	const struct sumctx *c = pc;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	double x = 0, y = 0;
	for (int j = 0; j < c->m; j++) {
		x += c->f[a * c->m + j];
		y += c->f[b * c->m + j];
	}
	return x < y ? -1 : x > y;
}

/* Rank by definition: 1 + the largest rank of a dominator. A dominator has a smaller coordinate
 * sum, so in order of the sum every dominator is ranked first. O(n² m). */
static void brute_rank(size_t n, int m, const double *f, int *rank)
{
	size_t *o = malloc(n * sizeof *o);
	for (size_t i = 0; i < n; i++)
		o[i] = i;
	struct sumctx c = { f, m };
	qsort_r(o, n, sizeof *o, cmp_sum, &c);
	for (size_t a = 0; a < n; a++) {
		int r = 1;
		for (size_t b = 0; b < a; b++)
			if (dominates(f + o[b] * m, f + o[a] * m, m) && rank[o[b]] + 1 > r)
				r = rank[o[b]] + 1;
		rank[o[a]] = r;
	}
	free(o);
}

static void test_ranks_brute(void)
{
	static const size_t ns[] = { 1, 2, 3, 17, 100, 600, 2000 };
	static const int levels[] = { 0, 3, 10, 1000 };
	for (int m = 1; m <= 6; m++)
		for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
			for (size_t b = 0; b < sizeof levels / sizeof levels[0]; b++) {
				size_t n = ns[a];
				if (n == 2000 && m > 5)
					continue;
				double *f = malloc(n * m * sizeof *f);
				int *r = malloc(n * sizeof *r), *want = malloc(n * sizeof *want);
				unsigned char *nd = malloc(n), *dup = malloc(n);
				random_set(f, n, m, levels[b]);
				brute_rank(n, m, f, want);
				CHECK(pf_rank(n, m, f, r) == 0, "pf_rank failed: %s", err_get());
				CHECK(pf_front(n, m, f, nd) == 0, "pf_front failed");
				CHECK(pf_dups(n, m, f, dup) == 0, "pf_dups failed");
				int bad_r = 0, bad_nd = 0, bad_dup = 0;
				for (size_t i = 0; i < n; i++) {
					bad_r += r[i] != want[i];
					bad_nd += nd[i] != (want[i] == 1);
					int d = 0;
					for (size_t j = 0; j < i && !d; j++)
						d = memcmp(f + i * m, f + j * m, m * sizeof *f) == 0;
					bad_dup += dup[i] != d;
				}
				CHECK(!bad_r, "n=%zu m=%d levels=%d: %d ranks differ", n, m, levels[b], bad_r);
				CHECK(!bad_nd, "n=%zu m=%d levels=%d: %d front flags differ", n, m, levels[b], bad_nd);
				CHECK(!bad_dup, "n=%zu m=%d levels=%d: %d duplicate flags differ", n, m, levels[b], bad_dup);
				free(f);
				free(r);
				free(want);
				free(nd);
				free(dup);
			}
}

/* Many ranks and one huge front, the shapes that break a wrong binary search over ranks. */
static void test_ranks_shapes(void)
{
	enum { N = 400 };
	for (int m = 2; m <= 4; m++) {
		double f[N * 4];
		int r[N], want[N];
		for (int shape = 0; shape < 3; shape++) {
			for (int i = 0; i < N; i++)
				for (int j = 0; j < m; j++)
					f[i * m + j] = shape == 0 ? (double)(i / 2)                  /* a chain with pairs */
					             : shape == 1 ? (j == 0 ? i : j == 1 ? N - i : (i * 7) % 13) /* one front */
					             : (double)((i * (j + 3)) % 17);                 /* a lattice */
			brute_rank(N, m, f, want);
			CHECK(pf_rank(N, m, f, r) == 0, "pf_rank");
			int bad = 0;
			for (int i = 0; i < N; i++)
				bad += r[i] != want[i];
			CHECK(!bad, "m=%d shape %d: %d ranks differ", m, shape, bad);
		}
	}
}

/* Hypervolume by inclusion–exclusion over every non-empty subset (n ≤ 14). */
static double hv_ie(size_t n, int m, const double *f, const double *ref)
{
	double v = 0;
	for (unsigned long s = 1; s < (1UL << n); s++) {
		double corner[8], box = 1;
		int k = 0;
		for (int j = 0; j < m; j++)
			corner[j] = -INFINITY;
		for (size_t i = 0; i < n; i++)
			if (s >> i & 1) {
				k++;
				for (int j = 0; j < m; j++)
					corner[j] = fmax(corner[j], f[i * m + j]);
			}
		for (int j = 0; j < m; j++)
			box *= fmax(0, ref[j] - corner[j]);
		v += k % 2 ? box : -box;
	}
	return v;
}

static int close_to(double a, double b) { return fabs(a - b) <= 1e-9 * fmax(1, fabs(b)); }

static void test_hv_inclusion_exclusion(void)
{
	for (int m = 1; m <= 6; m++)
		for (int trial = 0; trial < 60; trial++) {
			size_t n = 1 + next_u64() % 11;
			double f[12 * 6], ref[6], c[12], hv = -1;
			random_set(f, n, m, trial % 3 ? 0 : 5);
			for (int j = 0; j < m; j++)   /* sometimes cutting through the points */
				ref[j] = trial % 4 == 0 ? 0.7 * (trial % 3 ? 1 : 5) : (trial % 3 ? 1.1 : 5.5);
			CHECK(pf_hv(n, m, f, ref, &hv) == 0, "pf_hv: %s", err_get());
			double want = hv_ie(n, m, f, ref);
			CHECK(close_to(hv, want), "m=%d n=%zu: hv %.17g, inclusion-exclusion %.17g", m, n, hv, want);
			CHECK(pf_hv_contrib(n, m, f, ref, c) == 0, "pf_hv_contrib: %s", err_get());
			for (size_t i = 0; i < n; i++) {
				double rest[12 * 6];
				size_t k = 0;
				for (size_t q = 0; q < n; q++)
					if (q != i)
						memcpy(rest + k++ * m, f + q * m, m * sizeof *f);
				double ex = want - hv_ie(k, m, rest, ref);
				CHECK(close_to(c[i], ex), "m=%d n=%zu point %zu: contribution %.17g, wanted %.17g",
				      m, n, i, c[i], ex);
			}
		}
}

/* Integer points in [0, G)^m with ref = (G, …, G): the hypervolume is the number of unit cells
 * whose lower corner some point weakly dominates, and point i's contribution the number of cells
 * that it alone dominates. */
static void test_hv_grid(void)
{
	static const struct { int m, g; size_t n; } cases[] = {
		{ 2, 60, 2000 }, { 3, 20, 2000 }, { 3, 12, 300 }, { 4, 8, 200 }, { 5, 6, 80 }, { 6, 5, 40 },
	};
	for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
		int m = cases[t].m, g = cases[t].g;
		size_t n = cases[t].n, cells = 1;
		double *f = malloc(n * m * sizeof *f), *c = malloc(n * sizeof *c), ref[6], hv = -1;
		size_t *own = calloc(n, sizeof *own);
		for (int j = 0; j < m; j++) {
			ref[j] = g;
			cells *= g;
		}
		random_set(f, n, m, g);
		/* lift a third of the points so that the front is large */
		for (size_t i = 0; i < n; i += 3) {
			double s = 0;
			for (int j = 0; j < m; j++)
				s += f[i * m + j];
			if (s < (g - 1) * (m - 1) / 2.0)
				for (int j = 0; j < m; j++)
					f[i * m + j] = g - 1 - f[i * m + j];
		}
		size_t count = 0;
		for (size_t cell = 0; cell < cells; cell++) {
			double x[6];
			size_t v = cell, who = 0, k = 0;
			for (int j = 0; j < m; j++, v /= g)
				x[j] = v % g;
			for (size_t i = 0; i < n && k < 2; i++) {
				int le = 1;
				for (int j = 0; j < m && le; j++)
					le = f[i * m + j] <= x[j];
				if (le) {
					k++;
					who = i;
				}
			}
			count += k > 0;
			if (k == 1)
				own[who]++;
		}
		CHECK(pf_hv(n, m, f, ref, &hv) == 0 && hv == (double)count,
		      "m=%d n=%zu: hv %.17g, grid %zu", m, n, hv, count);
		if (m <= 4 || n <= 80) {
			CHECK(pf_hv_contrib(n, m, f, ref, c) == 0, "contrib");
			int bad = 0;
			for (size_t i = 0; i < n; i++)
				bad += c[i] != (double)own[i];
			CHECK(!bad, "m=%d n=%zu: %d contributions differ from the grid", m, n, bad);
		}
		free(f);
		free(c);
		free(own);
	}
}

static void test_hv_edges(void)
{
	double hv = -1, ref[7] = { 1, 1, 1, 1, 1, 1, 1 };
	double f[] = { 0.5, 0.5, 2, 0, 1, 0 };   /* (2,0) and (1,0) are outside or on the boundary */
	CHECK(pf_hv(3, 2, f, ref, &hv) == 0 && hv == 0.25, "points on or past ref add nothing: %g", hv);
	CHECK(pf_hv(0, 3, f, ref, &hv) == 0 && hv == 0, "empty set");
	CHECK(pf_hv(1, 7, f, ref, &hv) == -1 && strstr(err_get(), "1 to 6"), "7 objectives: %s", err_get());
	double g[] = { 0, 0, 2, 2, 4, 4 }, r[2];
	pf_ref_default(3, 2, g, r);
	CHECK(r[0] == 4.4 && r[1] == 4.4, "default ref = worst + 0.1 range: %g %g", r[0], r[1]);
	double h[] = { 3, 0, 3, 0 };
	pf_ref_default(2, 2, h, r);
	CHECK(r[0] == 3.3 && r[1] == 0.1, "zero range: %g %g", r[0], r[1]);
}

static void test_crowding(void)
{
	/* rank 1: (1,2) (0,4) (4,0) (2,1); rank 2: (5,5); rank 3: (6,6) (5,7) (7,5) (6,6) */
	double f[] = { 1, 2, 0, 4, 4, 0, 2, 1, 5, 5, 6, 6, 5, 7, 7, 5, 6, 6 };
	int rank[9];
	double cd[9];
	CHECK(pf_rank(9, 2, f, rank) == 0, "rank");
	CHECK(rank[0] == 1 && rank[3] == 1 && rank[4] == 2 && rank[5] == 3 && rank[6] == 3 && rank[8] == 3,
	      "ranks %d %d %d %d %d %d", rank[0], rank[3], rank[4], rank[5], rank[6], rank[8]);
	CHECK(pf_crowding(9, 2, f, rank, cd) == 0, "crowding");
	/* (1,2): (2-0)/4 + (4-1)/4; (2,1): (4-1)/4 + (2-0)/4 */
	CHECK(close_to(cd[0], 2.0 / 4 + 3.0 / 4) && close_to(cd[3], 3.0 / 4 + 2.0 / 4), "interior %g %g", cd[0], cd[3]);
	CHECK(isinf(cd[1]) && isinf(cd[2]) && isinf(cd[4]), "ends and singletons are infinite");
	/* rank 3: (6,6) (5,7) (7,5) (6,6): the ends (5,7) and (7,5); the copies of (6,6) are interior
	 * twice: sorted by x the first copy sits between 5 and the second copy (6 - 5)/2, the second
	 * between the first copy and 7 (7 - 6)/2, the same in y */
	CHECK(isinf(cd[6]) && isinf(cd[7]), "rank 3 ends");
	CHECK(close_to(cd[5] + cd[8], 2.0), "the copies share: %g + %g", cd[5], cd[8]);
}

static void test_knee(void)
{
	double f[] = { 0, 10, 1, 1, 10, 0 }, mu[3];
	size_t k = 9;
	CHECK(pf_knee(3, 2, f, mu, &k) == 0 && k == 1, "knee of an L: %zu", k);
	/* normalized: A(0,1) B(.1,.1) C(1,0); from B every move gives .9 for .1 */
	CHECK(close_to(mu[1], 9) && close_to(mu[0], 1.0 / 9) && close_to(mu[2], 1.0 / 9),
	      "mu %g %g %g", mu[0], mu[1], mu[2]);
	/* invariant under scaling and shifting an objective */
	double g[3 * 3], scale[3] = { 1000, -3, 0.01 };
	for (int trial = 0; trial < 20; trial++) {
		size_t n = 3;
		for (size_t i = 0; i < n; i++) {
			double a = unif();
			g[i * 3] = a;
			g[i * 3 + 1] = (1 - a) * (1 - a);
			g[i * 3 + 2] = unif();
		}
		size_t k1, k2;
		pf_knee(n, 3, g, NULL, &k1);
		for (size_t i = 0; i < n; i++)
			for (int j = 0; j < 3; j++)
				g[i * 3 + j] = g[i * 3 + j] * fabs(scale[j]) + scale[j];
		pf_knee(n, 3, g, NULL, &k2);
		CHECK(k1 == k2, "knee moved under scaling: %zu %zu", k1, k2);
	}
	double one[] = { 3, 4 };
	CHECK(pf_knee(1, 2, one, mu, &k) == 0 && k == 0 && isinf(mu[0]), "a single point");
	double same[] = { 1, 2, 1, 2 };
	CHECK(pf_knee(2, 2, same, NULL, &k) == 0 && k == 0, "equal points: the first");
}

static void test_scal(void)
{
	struct pf_scal s;
	double p[] = { -0.5, -0.1, 0.2 };   /* goodness 0.5, 0.1, -0.2 */
	CHECK(pf_scal_parse(&s, "mean") == 0 && close_to(pf_scal_value(&s, 3, p), 0.4 / 3), "mean");
	CHECK(pf_scal_parse(&s, "min") == 0 && pf_scal_value(&s, 3, p) == -0.2, "min");
	CHECK(pf_scal_parse(&s, "1,2,-1") == 0 && s.nw == 3 && close_to(pf_scal_value(&s, 3, p), 0.9), "weights");
	pf_scal_free(&s);
	const char *bad[] = { "", "avg", "1,,2", "1,x", "1,", ",1", "nan", "1 ,2" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(pf_scal_parse(&s, bad[i]) == -1 && strstr(err_get(), "expected"), "\"%s\" accepted", bad[i]);
		pf_scal_free(&s);
	}
}

static char *tmpfile_with(const char *text)
{
	char *path = strdup("/tmp/test_pareto.XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	return path;
}

static int read_text(struct pf_set *s, const struct pf_read_opts *o, const char *text)
{
	char *p = tmpfile_with(text);
	pf_set_init(s, o);
	int rc = pf_set_read(s, p);
	unlink(p);
	free(p);
	return rc;
}

static void test_read(void)
{
	struct pf_set s;
	struct pf_read_opts o = { 0 };
	CHECK(read_text(&s, &o, "{\"scores\":{\"b\":1,\"a\":2.5},\"label\":\"soup\"}\n\n{\"scores\":{\"a\":3,\"b\":-1}}\n") == 0,
	      "records: %s", err_get());
	CHECK(s.n == 2 && s.m == 2 && strcmp(s.name[0], "b") == 0 && strcmp(s.path[1], "scores.a") == 0,
	      "objectives in key order of the first record");
	CHECK(s.f[0] == -1 && s.f[1] == -2.5 && pf_set_value(&s, 1, 1) == 3, "maximized: stored negated");
	CHECK(s.label[0] && strcmp(s.label[0], "soup") == 0 && !s.label[1], "labels");
	pf_set_free(&s);

	o.objectives = "x,scores.a";
	o.min = "x";
	CHECK(read_text(&s, &o, "{\"x\":4,\"scores\":{\"a\":1}}\n") == 0 && s.m == 2 && !s.maximize[0] &&
	      s.maximize[1] && s.f[0] == 4, "-o and --min");
	pf_set_free(&s);
	o.min = "nope";
	CHECK(read_text(&s, &o, "{\"x\":4,\"scores\":{\"a\":1}}\n") == -2 && strstr(err_get(), "no objective \"nope\""),
	      "unknown --min: %s", err_get());
	pf_set_free(&s);

	static const struct { const char *text, *msg; } bad[] = {
		{ "{\"scores\":{\"a\":1,\"b\":2}}\n{\"scores\":{\"a\":1}}\n", ":2: missing objective \"scores.b\"" },
		{ "{\"scores\":{\"a\":1}}\n\n{\"scores\":{\"a\":\"x\"}}\n", ":3: objective \"scores.a\" is not a number" },
		{ "{\"scores\":{\"a\":NaN}}\n", ":1: a non-finite number" },
		{ "{\"scores\":{\"a\":null}}\n", ":1: objective \"scores.a\" is not a number" },
		{ "{\"id\":1}\n", ":1: no \"scores\" object" },
		{ "{\"scores\":{\"a\":1}}\n{\"scores\":\n", ":2: truncated JSON" },
	};
	o = (struct pf_read_opts){ 0 };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(read_text(&s, &o, bad[i].text) == -1 && strstr(err_get(), bad[i].msg), "%s -> %s", bad[i].msg, err_get());
		pf_set_free(&s);
	}
	o.skip_bad = 1;
	CHECK(read_text(&s, &o, "{\"id\":0}\n{\"scores\":{\"a\":1}}\nxx\n{\"scores\":{\"a\":NaN}}\n{\"scores\":{\"a\":2}}\n") == 0 &&
	      s.n == 2 && s.nbad == 3 && strstr(s.bad_first, ":1: no \"scores\""), "skip_bad: n=%zu bad=%zu", s.n, s.nbad);
	pf_set_free(&s);

	o = (struct pf_read_opts){ 0 };
	CHECK(read_text(&s, &o, "# a comment\n1 2 3\n\n  4\t5 6  \n") == 0 && s.n == 2 && s.m == 3 && !s.maximize[0] &&
	      s.f[3] == 4 && s.tlen[1] == 5 && memcmp(s.text[1], "4\t5 6", 5) == 0, "matrix");
	pf_set_free(&s);
	o.objectives = "3,1";
	o.max = "3";
	CHECK(read_text(&s, &o, "1 2 3\n4 5 6\n") == 0 && s.m == 2 && s.f[0] == -3 && s.f[1] == 1 && s.maximize[0],
	      "matrix columns");
	pf_set_free(&s);
	o.objectives = "4";
	CHECK(read_text(&s, &o, "1 2 3\n") == -2 && strstr(err_get(), "column"), "column out of range: %s", err_get());
	pf_set_free(&s);
	o = (struct pf_read_opts){ 0 };
	CHECK(read_text(&s, &o, "1 2\n3\n") == -1 && strstr(err_get(), ":2: 1 columns, expected 2"), "%s", err_get());
	pf_set_free(&s);
	CHECK(read_text(&s, &o, "1 2\n3 x\n") == -1 && strstr(err_get(), ":2: column 2: \"x\" is not a number"), "%s", err_get());
	pf_set_free(&s);
	CHECK(read_text(&s, &o, "1 nan\n") == -1 && strstr(err_get(), ":1: column 2 is NaN"), "%s", err_get());
	pf_set_free(&s);

	CHECK(read_text(&s, &o, "1 2\n1 2\n0 3\n1 2\n") == 0 && pf_set_unique(&s) == 0 && s.n == 2 &&
	      s.seq[0] == 1 && s.seq[1] == 3, "unique keeps the first, seq the input position");
	pf_set_free(&s);
}

/* bench N M SHAPE: library times for make bench (tests/bench/pareto.sh), printed as
 * "front_s rank_s hv_s front_size ranks". SHAPE random: uniform in the unit cube; plane: every
 * point scaled onto Σ = 1, so all are non-dominated. */
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static int bench(size_t n, int m, const char *shape)
{
	double *f = malloc(n * m * sizeof *f), ref[PF_HV_MAXM], hv;
	int *r = malloc(n * sizeof *r), maxr = 0;
	unsigned char *nd = malloc(n);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		double s = 0;
		for (int j = 0; j < m; j++)
			s += f[i * m + j] = unif();
		if (strcmp(shape, "plane") == 0)
			for (int j = 0; j < m; j++)
				f[i * m + j] /= s;
	}
	for (int j = 0; j < m; j++)
		ref[j] = 1.1;
	double t0 = now();
	if (pf_front(n, m, f, nd) < 0)
		return 1;
	double t1 = now();
	if (pf_rank(n, m, f, r) < 0)
		return 1;
	double t2 = now();
	if (m <= PF_HV_MAXM && pf_hv(n, m, f, ref, &hv) < 0)
		return 1;
	double t3 = now();
	for (size_t i = 0; i < n; i++) {
		k += nd[i];
		maxr = r[i] > maxr ? r[i] : maxr;
	}
	printf("%.4f %.4f %.4f %zu %d\n", t1 - t0, t2 - t1, t3 - t2, k, maxr);
	free(f);
	free(r);
	free(nd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "bench") == 0)
		return bench(strtoul(argv[2], NULL, 10), atoi(argv[3]), argv[4]);
	T_RUN(test_ranks_brute);
	T_RUN(test_ranks_shapes);
	T_RUN(test_hv_inclusion_exclusion);
	T_RUN(test_hv_grid);
	T_RUN(test_hv_edges);
	T_RUN(test_crowding);
	T_RUN(test_knee);
	T_RUN(test_scal);
	T_RUN(test_read);
	return t_done();
}
