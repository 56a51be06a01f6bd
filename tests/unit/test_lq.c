/* Unit tests of common/lq (the lq-CMA-ES surrogate): the model's type schedule, exact fits of
 * linear and quadratic functions, Kendall's tau against a hand count, the archive cap, and the
 * generation rule — the first step's size, growth while the model ranks badly, the shifted model
 * values, failed evaluations, and the replay of an interrupted generation. Also cma_tell's
 * modeled candidates: ranked as usual, not counted, never the best; and the state's "told". */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cma.h"
#include "err.h"
#include "lq.h"
#include "rec.h"
#include "rng.h"
#include "t.h"

static double lin3(const double *x) { return 1.5 + 2 * x[0] - 3 * x[1] + 0.5 * x[2]; }
static double quad3(const double *x)
{
	return 0.25 - x[0] * x[0] + 2 * x[1] * x[2] - 0.5 * x[2] * x[2] + x[0] - 0.3 * x[1];
}

static double quad3_shifted(const double *x) { return quad3(x) + 0.02; }

static void rand_point(rng *r, double *x, int n)
{
	for (int i = 0; i < n; i++)
		x[i] = rng_uniform(r);
}

static void test_types(void)
{
	/* n = 5: diagonal (11 coefficients) once 0.75 size >= 1.1 * 11, i.e. from 17 points; full
	 * (21) from 31, as pycma's table. */
	lq *m = lq_new(5, 8);
	rng r;
	rng_seed(&r, 3);
	double x[5];
	int diag_at = 0, full_at = 0;
	for (int s = 1; s <= 40; s++) {
		rand_point(&r, x, 5);
		CHECK(lq_add(m, x, rng_uniform(&r)) == 0, "add: %s", err_get());
		if (!diag_at && lq_model_type(m) == LQ_DIAGONAL)
			diag_at = s;
		if (!full_at && lq_model_type(m) == LQ_FULL)
			full_at = s;
	}
	CHECK(diag_at == 17 && full_at == 31, "diagonal from %d (17), full from %d (31)", diag_at, full_at);
	CHECK(lq_add(m, x, NAN) == -1, "a NaN value is refused");
	lq_free(m);
	/* The archive keeps max(2 * 21, keep) points: 42 here, the oldest going first. */
	m = lq_new(5, 8);
	for (int s = 0; s < 50; s++) {
		rand_point(&r, x, 5);
		lq_add(m, x, s);
	}
	CHECK(lq_size(m) == 42, "archive of %d points (42)", lq_size(m));
	lq_free(m);
	m = lq_new(2, 100);
	for (int s = 0; s < 120; s++) {
		rand_point(&r, x, 2);
		lq_add(m, x, s);
	}
	CHECK(lq_size(m) == 100, "archive of %d points (keep 100)", lq_size(m));
	lq_free(m);
}

static void test_fit(void)
{
	rng r;
	rng_seed(&r, 7);
	double x[3];
	/* Linear data: the linear model is exact once it has 4 points (rank weights do not matter). */
	lq *m = lq_new(3, 4);
	for (int s = 0; s < 6; s++) {
		rand_point(&r, x, 3);
		lq_add(m, x, lin3(x));
	}
	double worst = 0;
	for (int t = 0; t < 20; t++) {
		rand_point(&r, x, 3);
		worst = fmax(worst, fabs(lq_eval(m, x) - lin3(x)));
	}
	CHECK(lq_model_type(m) == LQ_LINEAR && worst < 1e-9, "linear fit off by %g", worst);
	lq_free(m);
	/* Quadratic data: wrong while linear, exact once full (10 coefficients: from 15 points). */
	m = lq_new(3, 4);
	for (int s = 0; s < 8; s++) {
		rand_point(&r, x, 3);
		lq_add(m, x, quad3(x));
	}
	double lin_err = 0;
	for (int t = 0; t < 20; t++) {
		rand_point(&r, x, 3);
		lin_err = fmax(lin_err, fabs(lq_eval(m, x) - quad3(x)));
	}
	for (int s = 0; s < 12; s++) {
		rand_point(&r, x, 3);
		lq_add(m, x, quad3(x));
	}
	worst = 0;
	for (int t = 0; t < 20; t++) {
		rand_point(&r, x, 3);
		worst = fmax(worst, fabs(lq_eval(m, x) - quad3(x)));
	}
	CHECK(lq_model_type(m) == LQ_FULL && worst < 1e-9 && lin_err > 1e-3,
	      "full fit off by %g (type %s), linear by %g", worst, lq_type_name(lq_model_type(m)), lin_err);
	lq_free(m);
	/* On the simplex (weights summing to 1: the constant and the weights are collinear) the
	 * minimum-norm fit still reproduces a linear function of the weights. */
	m = lq_new(3, 4);
	for (int s = 0; s < 8; s++) {
		rand_point(&r, x, 3);
		double sum = x[0] + x[1] + x[2];
		for (int i = 0; i < 3; i++)
			x[i] /= sum;
		lq_add(m, x, lin3(x));
	}
	worst = 0;
	for (int t = 0; t < 20; t++) {
		rand_point(&r, x, 3);
		double sum = x[0] + x[1] + x[2];
		for (int i = 0; i < 3; i++)
			x[i] /= sum;
		worst = fmax(worst, fabs(lq_eval(m, x) - lin3(x)));
	}
	CHECK(worst < 1e-8, "simplex fit off by %g", worst);
	lq_free(m);
}

/* The regression by hand: one weight, the (full) quadratic model of y = -|x - 7|^3 / 10 + x / 2
 * over x = 0..9 (not quadratic: the rows' weights matter). The best 8 (max(df + 2,
 * floor(0.75 (10 + 1)))), each row multiplied by its rank weight, 20 for the best down to 1:
 * least squares with weights w^2, solved here by Gaussian elimination. */
static double cubic1(double x) { return -fabs(x - 7) * (x - 7) * (x - 7) / 10 + x / 2; }
static void test_weighted_fit(void)
{
	lq *m = lq_new(1, 10);   /* keep 10: more than 2 df */
	double xs[10], ys[10];
	int order[10];
	for (int i = 0; i < 10; i++) {
		xs[i] = i;
		ys[i] = cubic1(i);
		lq_add(m, &xs[i], ys[i]);
		order[i] = i;
	}
	for (int i = 1; i < 10; i++)   /* best first, ties the newer first */
		for (int j = i; j > 0 && (ys[order[j]] > ys[order[j - 1]] ||
		                          (ys[order[j]] == ys[order[j - 1]] && order[j] > order[j - 1])); j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	double A[3][4] = { { 0 } };
	for (int r = 0; r < 8; r++) {
		double w = 20 - 19.0 * r / 7, x = xs[order[r]], phi[3] = { 1, x, x * x };
		for (int i = 0; i < 3; i++) {
			for (int j = 0; j < 3; j++)
				A[i][j] += w * w * phi[i] * phi[j];
			A[i][3] += w * w * phi[i] * ys[order[r]];
		}
	}
	for (int i = 0; i < 3; i++)
		for (int k = i + 1; k < 3; k++) {
			double f = A[k][i] / A[i][i];
			for (int j = i; j < 4; j++)
				A[k][j] -= f * A[i][j];
		}
	double c[3];
	for (int i = 2; i >= 0; i--) {
		c[i] = A[i][3];
		for (int j = i + 1; j < 3; j++)
			c[i] -= A[i][j] * c[j];
		c[i] /= A[i][i];
	}
	for (double x = 0; x <= 10; x += 2.5) {
		double v = lq_eval(m, &x), want = c[0] + c[1] * x + c[2] * x * x;
		CHECK(fabs(v - want) < 1e-8 * (1 + fabs(want)), "model at %g: %.12g, by hand %.12g", x, v, want);
	}
	lq_free(m);
}

static void test_kendall(void)
{
	/* One weight, the model linear in it: the model's order is x's. y against x over 5 points:
	 * x = 0..4, y = 0, 2, 1, 4, 3: concordant 8, discordant 2, tau = 6 / 10. */
	lq *m = lq_new(1, 4);
	double y[5] = { 0, 2, 1, 4, 3 };
	for (int i = 0; i < 5; i++) {
		double x = i;
		lq_add(m, &x, y[i]);
	}
	double t = lq_kendall(m, 15);
	CHECK(fabs(t - 0.6) < 1e-12, "tau %g (0.6)", t);
	/* The latest 3 points only: x = 2, 3, 4, y = 1, 4, 3: 2 concordant, 1 discordant. */
	t = lq_kendall(m, 3);
	CHECK(fabs(t - 1.0 / 3) < 1e-12, "tau of the latest 3: %g (1/3)", t);
	CHECK(lq_kendall(m, 2) == 0, "fewer than 3 points: 0");
	lq_free(m);
	/* Ties in y: tau-b. x = 0..3, y = 1, 1, 2, 3: pairs 6, ties in y 1, concordant 5. */
	m = lq_new(1, 4);
	double y2[4] = { 1, 1, 2, 3 };
	for (int i = 0; i < 4; i++) {
		double x = i;
		lq_add(m, &x, y2[i]);
	}
	t = lq_kendall(m, 15);
	CHECK(fabs(t - 5 / sqrt(5.0 * 6)) < 1e-9, "tau-b %g (%g)", t, 5 / sqrt(30.0));
	lq_free(m);
}

static lq *model_of(int n, int keep, int points, double (*f)(const double *), rng *r)
{
	lq *m = lq_new(n, keep);
	double x[8];
	for (int s = 0; s < points; s++) {
		rand_point(r, x, n);
		lq_add(m, x, f(x));
	}
	return m;
}

/* The archive must be the same at each replay: a copy made fresh each call. */
static struct { int n, keep, points; uint64_t seed; double (*f)(const double *); } arch;
static int plan_batch = 1;   /* lq_plan's batch in plan_fresh */
static lq *fresh(void)
{
	rng r;
	rng_seed(&r, arch.seed);
	return model_of(arch.n, arch.keep, arch.points, arch.f, &r);
}

static int plan_fresh(int lambda, const double *x, const double *y, const unsigned char *have, struct lq_plan *p)
{
	lq *m = fresh();
	int rc = lq_plan(m, lambda, x, y, have, LQ_TAU_DEFAULT, plan_batch, p);
	lq_free(m);
	return rc;
}

/* A generation of lambda candidates with values f(x) (or NaN where bad[k]), replayed as lq-surr
 * does (each call on a fresh model of the archive) and evaluating, step by step, whatever it asks
 * for; the plan's rc. *steps: the number of steps, *asked_first: the first step's size. */
static int run_plan(int lambda, int n, const double *x, double (*f)(const double *),
                    const unsigned char *bad, struct lq_plan *p, int *steps, int *asked_first)
{
	double *y = malloc(lambda * sizeof *y);
	unsigned char *have = calloc(lambda, 1);
	int rc;
	*steps = 0;
	for (;;) {
		rc = plan_fresh(lambda, x, y, have, p);
		if (rc != 0)
			break;
		if (!*steps && asked_first)
			*asked_first = p->nnext;
		(*steps)++;
		for (int k = 0; k < lambda; k++)
			if (p->next[k]) {
				have[k] = 1;
				y[k] = bad && bad[k] ? NAN : f(x + (size_t)k * n);
			}
		if (*steps > 100)
			break;
	}
	free(y);
	free(have);
	return rc;
}

static double noise_f(const double *x)
{
	/* a value unrelated to any low-order model: hash-like */
	double s = sin(12345.678 * x[0] + 789.1 * x[1] * x[1] + 31.7 * x[2]);
	return s;
}

static void test_plan(void)
{
	int lambda = 10, n = 3, steps = 0, first = 0;
	double x[10 * 3];
	rng r;
	rng_seed(&r, 11);
	for (int k = 0; k < lambda; k++)
		rand_point(&r, x + k * n, n);
	struct lq_plan p;
	p.next = calloc(lambda, 1);
	p.evaluated = calloc(lambda, 1);
	p.told = malloc(lambda * sizeof *p.told);

	/* An empty archive: the first step is int(1 + max(0.2, 4)) = 5 candidates, in order. */
	lq *m = lq_new(n, lambda);
	double y[10];
	unsigned char have[10] = { 0 };
	CHECK(lq_plan(m, lambda, x, y, have, LQ_TAU_DEFAULT, 1, &p) == 0 && p.nnext == 5, "first step: %d (5)", p.nnext);
	for (int k = 0; k < 5; k++)
		CHECK(p.next[k] == 1, "candidate %d is in the first step", k);
	lq_free(m);

	/* A quadratic function and a full model: one evaluation, the model's best; the others get the
	 * model's value, which is the function's. */
	arch.n = 3, arch.keep = lambda, arch.points = 30, arch.seed = 5, arch.f = quad3;
	int rc = run_plan(lambda, n, x, quad3, NULL, &p, &steps, &first);
	CHECK(rc == 1 && p.nevaluated == 1 && steps == 1, "exact model: rc %d, %d evaluated in %d steps", rc,
	      p.nevaluated, steps);
	int best = 0;
	for (int k = 1; k < lambda; k++)
		if (quad3(x + k * n) > quad3(x + best * n))
			best = k;
	CHECK(p.evaluated[best], "the evaluated one is the true best (%d)", best);
	for (int k = 0; k < lambda; k++)
		CHECK(fabs(p.told[k] - quad3(x + k * n)) < 1e-8, "told[%d] %g, f %g", k, p.told[k], quad3(x + k * n));

	/* Values no model follows (and a population of 40, so that the archive of 40 points is not
	 * all fitted by the quadratic model's 10 coefficients): the steps grow 1, 2, 3, 5, 8, 12, 18,
	 * 27, 40 (k += ceil(k / 2), capped) until every candidate is evaluated, and then every told
	 * value is the true one. */
	{
		int L = 40;
		double *X = malloc(L * n * sizeof *X);
		struct lq_plan q;
		q.next = calloc(L, 1);
		q.evaluated = calloc(L, 1);
		q.told = malloc(L * sizeof *q.told);
		for (int k = 0; k < L; k++)
			rand_point(&r, X + k * n, n);
		arch.f = noise_f, arch.points = 40, arch.keep = L;
		rc = run_plan(L, n, X, noise_f, NULL, &q, &steps, &first);
		CHECK(rc == 1 && q.nevaluated == L && first == 1 && steps == 9, "bad model: rc %d, %d evaluated, "
		      "first step %d, %d steps (9)", rc, q.nevaluated, first, steps);
		for (int k = 0; k < L; k++)
			CHECK(q.told[k] == noise_f(X + k * n), "told[%d] is the true value", k);
		free(X);
		free(q.next);
		free(q.evaluated);
		free(q.told);
		arch.keep = lambda, arch.points = 30;
	}

	/* Replay: after the first step's candidate is evaluated, the plan asks for the same next
	 * step as an uninterrupted run, whatever order the records come in. */
	double yy[10];
	unsigned char hv[10] = { 0 };
	CHECK(plan_fresh(lambda, x, yy, hv, &p) == 0 && p.nnext == 1, "first step of 1");
	int k0 = 0;
	while (!p.next[k0])
		k0++;
	hv[k0] = 1, yy[k0] = noise_f(x + k0 * n);
	CHECK(plan_fresh(lambda, x, yy, hv, &p) == 0 && p.nnext == 1, "second step: %d to evaluate (1)", p.nnext);
	int k1 = 0;
	while (!p.next[k1])
		k1++;
	CHECK(k1 != k0, "the second step is another candidate");
	/* Evaluating another candidate first (out of the rule) changes nothing in the replay. */
	int other = (k0 + 1) % lambda == k1 ? (k0 + 2) % lambda : (k0 + 1) % lambda;
	hv[other] = 1, yy[other] = noise_f(x + other * n);
	CHECK(plan_fresh(lambda, x, yy, hv, &p) == 0 && p.nnext == 1 && p.next[k1], "replay asks for %d again", k1);

	/* The model's values are shifted to agree with the generation's evaluated ones on average: an
	 * archive of f + 0.02 and a generation of f. told[k] = m(x_k) + mean over the evaluated e of
	 * (f(x_e) - m(x_e)), m the model with the evaluated added. */
	arch.f = quad3_shifted, arch.points = 30;
	rc = run_plan(lambda, n, x, quad3, NULL, &p, &steps, &first);
	CHECK(rc == 1 && p.nevaluated < lambda, "shifted: rc %d, %d evaluated", rc, p.nevaluated);
	{
		lq *m2 = fresh();
		double off = 0;
		for (int k = 0; k < lambda; k++)
			if (p.evaluated[k])
				lq_add(m2, x + k * n, quad3(x + k * n));
		for (int k = 0; k < lambda; k++)
			if (p.evaluated[k])
				off += (quad3(x + k * n) - lq_eval(m2, x + k * n)) / p.nevaluated;
		CHECK(fabs(off) > 1e-4, "shifted: the offset %g is not 0", off);
		for (int k = 0; k < lambda; k++)
			if (!p.evaluated[k])
				CHECK(fabs(p.told[k] - (lq_eval(m2, x + k * n) + off)) < 1e-12, "shifted: told[%d] %.15g, "
				      "m + offset %.15g", k, p.told[k], lq_eval(m2, x + k * n) + off);
		lq_free(m2);
	}

	/* A batch of 3: the exact model's single evaluation becomes a step of 3 (the model's best
	 * three); with the bad model the steps are 3, 3 (6), 9 (at least k + ceil(k / 2)), 10. */
	plan_batch = 3;
	arch.f = quad3, arch.points = 30;
	rc = run_plan(lambda, n, x, quad3, NULL, &p, &steps, &first);
	CHECK(rc == 1 && p.nevaluated == 3 && steps == 1 && first == 3 && p.evaluated[best], "batch 3, exact model: "
	      "rc %d, %d evaluated in %d steps", rc, p.nevaluated, steps);
	arch.f = noise_f;
	rc = run_plan(lambda, n, x, noise_f, NULL, &p, &steps, &first);
	CHECK(rc == 1 && p.nevaluated == lambda && first == 3, "batch 3, bad model: rc %d, %d evaluated, first %d",
	      rc, p.nevaluated, first);
	plan_batch = 1;

	/* The exact model's one evaluation failing: the generation is not decided on it; the next step
	 * (2 in all) evaluates the next best, and then the tau decides. */
	{
		unsigned char b1[10] = { 0 };
		b1[best] = 1;
		arch.f = quad3, arch.points = 30;
		rc = run_plan(lambda, n, x, quad3, b1, &p, &steps, &first);
		CHECK(rc == 1 && first == 1 && p.nevaluated == 2 && p.evaluated[best] && isnan(p.told[best]),
		      "a failed first step: rc %d, first %d, %d evaluated", rc, first, p.nevaluated);
		memset(b1, 1, sizeof b1);
		rc = run_plan(lambda, n, x, quad3, b1, &p, &steps, &first);
		CHECK(rc == 1 && p.nevaluated == lambda, "every evaluation failing: %d of %d evaluated", p.nevaluated, lambda);
	}

	/* Failed evaluations (NaN) are evaluated but not modeled, and told NaN. */
	unsigned char bad[10] = { 0 };
	for (int k = 0; k < lambda; k += 2)
		bad[k] = 1;
	arch.f = quad3;
	rc = run_plan(lambda, n, x, quad3, bad, &p, &steps, &first);
	int nan_ok = 1;
	for (int k = 0; k < lambda; k++)
		if (p.evaluated[k] && bad[k])
			nan_ok &= isnan(p.told[k]);
		else
			nan_ok &= isfinite(p.told[k]);
	CHECK(rc == 1 && nan_ok, "failed evaluations told NaN, the rest finite");
	free(p.next);
	free(p.evaluated);
	free(p.told);
}

/* cma_tell with modeled candidates: the update is the same as with every value evaluated; only the
 * count and the best differ. */
static void test_tell_modeled(void)
{
	cma_opts o;
	cma_opts_init(&o);
	o.dim = 4;
	o.seed = 9;
	o.maxevals = 1000;
	cma *a = cma_new(&o), *b = cma_new(&o);
	int lam = a->lambda;
	double *fit = malloc(lam * sizeof *fit);
	unsigned char *mod = calloc(lam, 1);
	long long modeled = 0;
	for (int g = 0; g < 6; g++) {
		cma_ask(a);
		cma_ask(b);
		double x[4];
		int best = 0;
		for (int k = 0; k < lam; k++) {
			cma_candidate_x(a, k, x);
			fit[k] = -(x[0] - 1) * (x[0] - 1) - x[1] * x[1] - x[2] * x[2] - x[3] * x[3];
			if (fit[k] > fit[best])
				best = k;
		}
		/* The generation's best and every other candidate are modeled. */
		for (int k = 0; k < lam; k++) {
			mod[k] = k == best || k % 2;
			modeled += mod[k];
		}
		CHECK(cma_tell(a, fit, NULL) == 0 && cma_tell(b, fit, mod) == 0, "tell: %s", err_get());
		if (b->has_best) {
			char id[32];
			for (int k = 0; k < lam; k++)
				if (mod[k]) {
					snprintf(id, sizeof id, "g%04d-%02d", g, k);
					CHECK(strcmp(b->best_id, id), "generation %d: the best is modeled candidate %s", g, id);
				}
		}
	}
	CHECK(a->evals == 6LL * lam && b->evals == 6LL * lam - modeled && b->told == a->told, "evals %lld and %lld, "
	      "told %lld and %lld", a->evals, b->evals, a->told, b->told);
	int same = a->sigma == b->sigma;
	for (int i = 0; i < 4; i++)
		same &= a->mean[i] == b->mean[i];
	for (int i = 0; i < 16; i++)
		same &= a->C[i] == b->C[i] && a->B[i] == b->B[i];
	CHECK(same && a->eigen_evals == b->eigen_evals, "the distribution does not depend on what was modeled");
	/* The state keeps "told"; one without it (from before) reads told = evals. */
	json_object *j = cma_to_json(b);
	cma *c = cma_from_json(j, "b");
	CHECK(c && c->told == b->told && c->evals == b->evals, "told round trip");
	cma_free(c);
	json_object_object_del(j, "told");
	json_object_object_add(j, "eigen_evals", json_object_new_int64(0));
	c = cma_from_json(j, "b");
	CHECK(c && c->told == b->evals, "a state without told: told = evals (%s)", c ? "" : err_get());
	cma_free(c);
	json_object_put(j);
	json_object *s = cma_status(b);
	double v;
	CHECK(rec_number(s, "modeled", &v) == 0 && v == (double)modeled, "status: modeled %g (%lld)", v, modeled);
	json_object_put(s);
	cma_free(a);
	cma_free(b);
	free(fit);
	free(mod);
}

int main(void)
{
	T_RUN(test_types);
	T_RUN(test_fit);
	T_RUN(test_weighted_fit);
	T_RUN(test_kendall);
	T_RUN(test_plan);
	T_RUN(test_tell_modeled);
	return t_done();
}
