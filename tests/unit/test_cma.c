/* Unit tests of common/cma: the generator, the strategy parameters, the eigendecomposition, the
 * maps, convergence on the sphere and ellipsoid, the stop criteria and restarts, the tell
 * validation, the state file's error messages, and resume equivalence — in process through the
 * JSON state and, when $BIN is set, through the cmaes-step binary.
 *
 * `test_cma bench ...` runs the in-process benchmark used by tests/bench/cmaes.sh (see bench()). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cma.h"
#include "err.h"
#include "rec.h"
#include "t.h"

/* ---- objectives ---------------------------------------------------------------------------- */

static double sphere(const double *x, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += x[i] * x[i];
	return s;
}

static double ellipsoid(const double *x, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += pow(10, n > 1 ? 6.0 * i / (n - 1) : 0) * x[i] * x[i];
	return s;
}

/* One generation: ask, evaluate f on every candidate, tell. Returns what cma_ask returned. */
static int step(cma *c, double (*f)(const double *, int), double *fit)
{
	int r = cma_ask(c);
	if (r)
		return r;
	double *x = malloc(c->n * sizeof *x);
	for (int k = 0; k < c->lambda; k++) {
		cma_candidate_x(c, k, x);
		fit[k] = f(x, c->n);
	}
	free(x);
	CHECK(cma_tell(c, fit, NULL) == 0, "tell: %s", err_get());
	return 0;
}

static cma *bench_cma(int n, uint64_t seed)
{
	cma_opts o;
	double *x0 = malloc(n * sizeof *x0);
	for (int i = 0; i < n; i++)
		x0[i] = 1;
	cma_opts_init(&o);
	o.dim = n;
	o.map = CMA_MAP_NONE;
	o.x0 = x0;
	o.sigma = 0.5;
	o.seed = seed;
	o.minimize = 1;
	o.ftarget = 1e-8;
	cma *c = cma_new(&o);
	free(x0);
	return c;
}

/* Evaluations to f <= 1e-8 from (1,…,1), sigma 0.5; -1 when the run stopped otherwise. */
static long long evals_to_target(double (*f)(const double *, int), int n, uint64_t seed)
{
	cma *c = bench_cma(n, seed);
	double *fit = malloc(c->lambda * sizeof *fit);
	while (step(c, f, fit) == 0)
		;
	long long e = !strcmp(c->stop, "ftarget") ? c->evals : -1;
	free(fit);
	cma_free(c);
	return e;
}

/* ---- tests --------------------------------------------------------------------------------- */

/* The state's number text (rec_fmt_double): the shortest that reads back, as a linear search finds it. */
static const char *fmt_linear(char *buf, double v)
{
	for (int p = 1; p <= 17; p++) {
		snprintf(buf, 32, "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	char *e = strchr(buf, 'e');           /* plain notation below 1e17, as rec_fmt_double */
	if (e && e[1] == '+' && atoi(e + 2) < 17)
		snprintf(buf, 32, "%.*g", atoi(e + 2) + 1, v);
	if (!strpbrk(buf, ".eEn"))
		strcat(buf, ".0");
	return buf;
}

static void test_fmt(void)
{
	rng s;
	char a[40], b[40];
	int differ = 0, inexact = 0;
	rng_seed(&s, 3);
	for (int i = 0; i < 40000; i++) {
		uint64_t u = rng_next(&s);
		double v;
		switch (i % 4) {
		case 0: memcpy(&v, &u, sizeof v); break;                       /* any bit pattern */
		case 1: v = rng_normal(&s); break;                           /* typical state values */
		case 2: v = ldexp(1.0, (int)(u % 2000) - 1000); break;          /* powers of two */
		default: v = round(rng_normal(&s) * 1e4) / 1e4; break;       /* short decimals */
		}
		if (!isfinite(v))
			continue;
		rec_fmt_double(a, v);
		fmt_linear(b, v);
		inexact += strtod(a, NULL) != v;
		if (strcmp(a, b) && differ++ < 3)
			CHECK(0, "%.17g: rec %s, linear %s", v, a, b);
	}
	CHECK(differ == 0 && inexact == 0, "%d texts differ, %d do not read back", differ, inexact);
	CHECK(!strcmp(rec_fmt_double(a, 2), "2.0") && !strcmp(rec_fmt_double(a, NAN), "null"), "2 and NaN");
}

static void test_strategy(void)
{
	const int dims[] = { 1, 2, 8, 16, 32, 100 };
	for (int d = 0; d < 6; d++) {
		cma_opts o;
		cma_opts_init(&o);
		o.dim = dims[d];
		cma *c = cma_new(&o);
		int n = c->n, lam = c->lambda;
		CHECK(lam == 4 + (int)(3 * log(n)) && c->mu == lam / 2, "n=%d lambda %d mu %d", n, lam, c->mu);
		double sp = 0, sn = 0;
		for (int i = 0; i < lam; i++) {
			if (i > 0)
				CHECK(c->w[i] < c->w[i - 1], "n=%d weights decrease at %d", n, i);
			if (i < c->mu)
				sp += c->w[i];
			else
				sn += c->w[i];
		}
		CHECK(fabs(sp - 1) < 1e-12, "n=%d positive weights sum %.17g", n, sp);
		CHECK(sn < 0 && -sn <= 1 + c->c1 / c->cmu + 1e-12, "n=%d negative sum %g", n, sn);
		CHECK(-sn <= (1 - c->c1 - c->cmu) / (n * c->cmu) * (1 + 1e-12), "n=%d negative sum %g above the posdef bound", n, sn);
		CHECK(c->mueff > 1 && c->mueff < c->mu + 1e-12, "n=%d mueff %g", n, c->mueff);
		CHECK(c->c1 + c->cmu <= 1 && c->cs < 1 && c->cc <= 1 && c->damps > 1, "n=%d learning rates", n);
		cma_free(c);
	}
	int want[] = { 10, 12, 14 };   /* the reference's population sizes for n = 8, 16, 32 */
	for (int i = 0; i < 3; i++)
		CHECK(cma_default_popsize(8 << i) == want[i], "popsize(%d) = %d", 8 << i, cma_default_popsize(8 << i));
}

static void test_eigen(void)
{
	const int n = 12;
	double M[n * n], A[n * n], B[n * n], ev[n];
	rng s;
	rng_seed(&s, 5);
	for (int i = 0; i < n * n; i++)
		M[i] = rng_normal(&s);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			double t = i == j;
			for (int k = 0; k < n; k++)
				t += M[i * n + k] * M[j * n + k];
			A[i * n + j] = t;
		}
	CHECK(cma_eigen(n, A, B, ev) == 0, "dsyev: %s", err_get());
	double e1 = 0, e2 = 0;
	for (int i = 0; i < n; i++) {
		if (i)
			CHECK(ev[i] >= ev[i - 1], "ascending");
		for (int j = 0; j < n; j++) {
			double r = 0, o = 0;
			for (int k = 0; k < n; k++) {
				r += B[i * n + k] * ev[k] * B[j * n + k];
				o += B[k * n + i] * B[k * n + j];
			}
			e1 = fmax(e1, fabs(r - A[i * n + j]));
			e2 = fmax(e2, fabs(o - (i == j)));
		}
	}
	CHECK(e1 < 1e-10 && e2 < 1e-12, "B diag(ev) B^T - A: %g, B^T B - I: %g", e1, e2);
}

static void test_maps(void)
{
	double x[5] = { 0.5, -1.5, 2.0, 0.0, 1.0 }, w[5], w2[5], y[5];
	double s = 0;
	cma_map_weights(CMA_MAP_SIMPLEX, 5, x, w);
	for (int i = 0; i < 5; i++) {
		s += w[i];
		CHECK(w[i] >= 0 && fabs(w[i] - fabs(x[i]) / 5.0) < 1e-15, "simplex %d: %g", i, w[i]);
		y[i] = -3 * x[i];
	}
	CHECK(fabs(s - 1) < 1e-15, "simplex sums to 1: %.17g", s);
	cma_map_weights(CMA_MAP_SIMPLEX, 5, y, w2);
	for (int i = 0; i < 5; i++)
		CHECK(fabs(w2[i] - w[i]) < 1e-15, "simplex ignores scale and sign");
	double zero[3] = { 0, 0, 0 }, wz[3];
	cma_map_weights(CMA_MAP_SIMPLEX, 3, zero, wz);
	CHECK(wz[0] == 1.0 / 3 && wz[2] == 1.0 / 3, "zero vector: uniform");

	cma_map_weights(CMA_MAP_SOFTMAX, 5, x, w);
	for (int i = 0; i < 5; i++)
		y[i] = x[i] + 100;
	cma_map_weights(CMA_MAP_SOFTMAX, 5, y, w2);
	s = 0;
	for (int i = 0; i < 5; i++) {
		s += w[i];
		CHECK(w[i] > 0 && fabs(w[i] - w2[i]) < 1e-14, "softmax shift-invariant at %d", i);
	}
	CHECK(fabs(s - 1) < 1e-15 && fabs(w[2] / w[0] - exp(1.5)) < 1e-12, "softmax sum %g ratio", s);

	double prev = cma_box_transform(-10), maxjump = 0;
	for (double t = -10; t <= 10; t += 1e-4) {
		double b = cma_box_transform(t);
		CHECK(b >= 0 && b <= 1, "box(%g) = %g outside [0,1]", t, b);
		maxjump = fmax(maxjump, fabs(b - prev));
		prev = b;
	}
	CHECK(maxjump < 2e-4, "box transform is continuous with slope <= 1: jump %g", maxjump);
	for (double t = 0.05; t <= 0.9; t += 0.01)
		CHECK(cma_box_transform(t) == t, "box is the identity at %g", t);
	for (double t = 0.01; t < 3; t += 0.1) {
		CHECK(fabs(cma_box_transform(-0.05 - t) - cma_box_transform(-0.05 + t)) < 1e-12, "box mirrors at -0.05");
		CHECK(fabs(cma_box_transform(1.1 - t) - cma_box_transform(1.1 + t)) < 1e-12, "box mirrors at 1.1");
	}
	CHECK(cma_box_transform(-0.05) == 0 && cma_box_transform(1.1) == 1, "box reaches its bounds");
	cma_map_weights(CMA_MAP_BOX, 5, x, w);
	s = 0;
	for (int i = 0; i < 5; i++)
		s += w[i];
	CHECK(fabs(s - 1) < 1e-15, "box weights sum to 1");
	cma_map_weights(CMA_MAP_NONE, 5, x, w);
	CHECK(!memcmp(w, x, sizeof x), "none is x");
	CHECK(cma_map_parse("box") == CMA_MAP_BOX && cma_map_parse("Box") == -1, "map names");
}

/* Correctness, not speed: a CMA-ES with these defaults solves both well inside these budgets
 * (the reference medians at n = 8 are 1080 and 2760). */
static void test_converges(void)
{
	for (uint64_t seed = 1; seed <= 3; seed++) {
		long long e = evals_to_target(sphere, 8, seed);
		CHECK(e > 0 && e < 1600, "sphere n=8 seed %llu: %lld evaluations", (unsigned long long)seed, e);
		e = evals_to_target(ellipsoid, 8, seed);
		CHECK(e > 0 && e < 4000, "ellipsoid n=8 seed %llu: %lld evaluations", (unsigned long long)seed, e);
	}
}

static char *state_str(const cma *c)
{
	json_object *o = cma_to_json(c);
	char *s = strdup(rec_str(o));
	json_object_put(o);
	return s;
}

/* A run through a variety of situations: NaN scores, then a plateau: flat generations, a restart. */
static void fill_fitness(const cma *c, long long g, double *fit)
{
	double *x = malloc(c->n * sizeof *x);
	for (int k = 0; k < c->lambda; k++) {
		cma_candidate_x(c, k, x);
		fit[k] = g < 25 ? sphere(x, c->n) : 1.0;
		if ((g + k) % 7 == 0)
			fit[k] = NAN;
	}
	free(x);
}

static void resume_opts(cma_opts *o, enum cma_method m)
{
	cma_opts_init(o);
	o->dim = 5;
	o->seed = 99;
	o->method = m;
	o->minimize = 1;
	o->tolflat = 3;
	o->restarts = 1;
	o->maxevals = 400;
	o->map = m == CMA_RANDOM ? CMA_MAP_SIMPLEX : CMA_MAP_BOX;
}

static void test_resume_in_process(void)
{
	for (int m = 0; m < 2; m++) {
		cma_opts o;
		resume_opts(&o, m);
		cma *a = cma_new(&o), *b = cma_new(&o);
		double *fit = malloc(64 * sizeof *fit);
		int gens = 0, restarted = 0;
		char path[] = "/tmp/test_cma.XXXXXX";
		int fd = mkstemp(path);
		close(fd);
		for (long long g = 0; g < 200; g++) {
			int ra = cma_ask(a);
			/* b: through the state text, and every third generation through a file too. */
			char *s = state_str(b);
			json_object *j = json_tokener_parse(s);
			cma_free(b);
			b = cma_from_json(j, "mem");
			json_object_put(j);
			free(s);
			CHECK(b != NULL, "reload: %s", err_get());
			if (!b)
				break;
			int rb = cma_ask(b);
			CHECK(ra == rb, "ask agrees");
			if (ra)
				break;
			if (g % 3 == 0) {
				CHECK(cma_save(b, path) == 0, "save: %s", err_get());
				cma_free(b);
				b = cma_load(path);
				CHECK(b != NULL, "load: %s", err_get());
				if (!b)
					break;
			}
			for (int k = 0; k < a->lambda; k++) {
				json_object *ca = cma_candidate(a, k), *cb = cma_candidate(b, k);
				CHECK(!strcmp(rec_str(ca), rec_str(cb)), "gen %lld candidate %d differs", g, k);
				json_object_put(ca);
				json_object_put(cb);
			}
			fill_fitness(a, g, fit);
			CHECK(cma_tell(a, fit, NULL) == 0 && cma_tell(b, fit, NULL) == 0, "tell");
			restarted |= a->restarts_done > 0;
			gens++;
		}
		char *sa = state_str(a), *sb = state_str(b);
		CHECK(!strcmp(sa, sb), "final states differ (method %d)", m);
		CHECK(a->stop && gens > 10, "ran %d generations to a stop (%s)", gens, a->stop ? a->stop : "none");
		if (m == CMA_CMAES)
			CHECK(restarted, "the run went through a restart");
		free(sa);
		free(sb);
		free(fit);
		unlink(path);
		cma_free(a);
		cma_free(b);
	}
}

/* The same run driven through the binary, state file rewritten each generation, against an
 * uninterrupted in-process run: identical candidate lines and final state bytes. */
static void test_resume_cli(void)
{
	const char *bin = getenv("BIN");
	char dir[] = "/tmp/test_cma_cli.XXXXXX", cmd[4096], *line = NULL;
	size_t cap = 0;
	if (!bin) {
		printf("# BIN not set: CLI resume test skipped\n");
		return;
	}
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(cmd, sizeof cmd, "%s/cmaes-step init --dim 5 --seed 99 --minimize --tolflat 3 --restarts 1 "
	         "--maxevals 400 --map box > %s/s.json", bin, dir);
	CHECK(system(cmd) == 0, "init");
	cma_opts o;
	resume_opts(&o, CMA_CMAES);
	cma *a = cma_new(&o);
	double fit[64];
	int gens = 0, stopped = 0;
	for (long long g = 0; g < 200 && !stopped; g++) {
		snprintf(cmd, sizeof cmd, "%s/cmaes-step ask -q %s/s.json", bin, dir);
		FILE *p = popen(cmd, "r");
		int ra = cma_ask(a), k = 0;
		while (getline(&line, &cap, p) > 0) {
			line[strcspn(line, "\n")] = 0;
			json_object *ca = k < a->lambda && !ra ? cma_candidate(a, k) : NULL;
			CHECK(ca && !strcmp(line, rec_str(ca)), "gen %lld candidate %d: %s", g, k, line);
			json_object_put(ca);
			k++;
		}
		int st = pclose(p);
		if (ra) {
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3 && k == 0, "ask exits 3 when stopped");
			stopped = 1;
			break;
		}
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0 && k == a->lambda, "ask gen %lld: %d lines", g, k);
		fill_fitness(a, g, fit);
		snprintf(cmd, sizeof cmd, "%s/cmaes-step tell %s/s.json > /dev/null", bin, dir);
		p = popen(cmd, "w");
		for (k = 0; k < a->lambda; k++) {
			char id[32], num[40];
			cma_candidate_id(a, k, id);
			fprintf(p, "{\"id\":\"%s\",\"fitness\":%s}\n", id, rec_fmt_double(num, fit[k]));
		}
		CHECK(pclose(p) == 0, "tell gen %lld", g);
		CHECK(cma_tell(a, fit, NULL) == 0, "in-process tell");
		gens++;
	}
	char *sa = state_str(a), path[600];
	snprintf(path, sizeof path, "%s/s.json", dir);
	json_object *j = cma_to_json(a);
	FILE *f = fopen(path, "r");
	char *file = NULL;
	size_t fcap = 0;
	ssize_t len = f ? getdelim(&file, &fcap, 0, f) : -1;
	CHECK(stopped && gens > 10, "CLI run stopped after %d generations", gens);
	CHECK(len > 0 && (size_t)len == strlen(sa) + 1 && !strncmp(file, sa, strlen(sa)), "final state file differs");
	if (f)
		fclose(f);
	free(file);
	free(sa);
	free(line);
	json_object_put(j);
	cma_free(a);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "cleanup");
}

static double constant(const double *x, int n) { return 0.5; }

static void test_stops(void)
{
	cma_opts o;
	double fit[64];
	cma_opts_init(&o);
	o.dim = 4;
	o.maxevals = 50;
	cma *c = cma_new(&o);
	int gens = 0;
	while (step(c, sphere, fit) == 0)
		gens++;
	CHECK(c->stop && !strcmp(c->stop, "maxevals") && c->evals >= 50 && c->evals < 50 + c->lambda,
	      "maxevals: %s after %lld", c->stop, c->evals);
	CHECK(cma_ask(c) == 1 && cma_tell(c, fit, NULL) == -1 && strstr(err_get(), "stopped"), "stopped: %s", err_get());
	cma_free(c);

	/* ftarget while maximizing: fitness = -sphere must reach -1e-3. */
	cma_opts_init(&o);
	o.dim = 3;
	o.x0 = (double[]){ 1, 1, 1 };
	o.map = CMA_MAP_NONE;
	o.ftarget = -1e-3;
	c = cma_new(&o);
	while (cma_ask(c) == 0) {
		double x[3];
		for (int k = 0; k < c->lambda; k++) {
			cma_candidate_x(c, k, x);
			fit[k] = -sphere(x, 3);
		}
		cma_tell(c, fit, NULL);
	}
	CHECK(c->stop && !strcmp(c->stop, "ftarget") && c->best_fitness >= -1e-3, "ftarget: %s %g", c->stop, c->best_fitness);
	cma_free(c);

	/* Constant fitness: flat every generation, sigma grows, stop after tolflat of them. */
	cma_opts_init(&o);
	o.dim = 6;
	o.tolflat = 5;
	c = cma_new(&o);
	gens = 0;
	while (step(c, constant, fit) == 0)
		gens++;
	CHECK(c->stop && !strcmp(c->stop, "flatfitness") && gens == 5 && c->sigma > c->sigma0,
	      "flat: %s after %d, sigma %g", c->stop, gens, c->sigma);
	cma_free(c);

	/* tolflat 0 never stops for flatness; tolfun does not fire on flat generations either. */
	o.tolflat = 0;
	o.maxevals = 2000;
	c = cma_new(&o);
	while (step(c, constant, fit) == 0)
		;
	CHECK(c->stop && strcmp(c->stop, "flatfitness") && strcmp(c->stop, "tolfun"), "tolflat 0: %s", c->stop);
	cma_free(c);

	/* No target: the sphere runs into tolfun or tolx. */
	cma_opts_init(&o);
	o.dim = 4;
	o.minimize = 1;
	c = cma_new(&o);
	while (step(c, sphere, fit) == 0)
		;
	CHECK(c->stop && (!strcmp(c->stop, "tolfun") || !strcmp(c->stop, "tolx")) && c->best_fitness < 1e-10,
	      "sphere without target: %s, best %g", c->stop, c->best_fitness);
	cma_free(c);

	/* f depends on x1 only: the other axes grow freely and C's condition explodes. */
	cma_opts_init(&o);
	o.dim = 3;
	o.minimize = 1;
	o.map = CMA_MAP_NONE;
	o.tolfun = 0;
	c = cma_new(&o);
	while (cma_ask(c) == 0) {
		double x[3];
		for (int k = 0; k < c->lambda; k++) {
			cma_candidate_x(c, k, x);
			fit[k] = x[0] * x[0] + 1e-30 * (x[1] * x[1] + x[2] * x[2]);
		}
		cma_tell(c, fit, NULL);
	}
	double dmax = fmax(c->D[0], fmax(c->D[1], c->D[2])), dmin = fmin(c->D[0], fmin(c->D[1], c->D[2]));
	CHECK(c->stop && !strcmp(c->stop, "condition") && dmax * dmax / (dmin * dmin) > 1e14,
	      "condition: %s, cond %g", c->stop, dmax * dmax / (dmin * dmin));
	cma_free(c);
}

static void test_restarts(void)
{
	cma_opts o;
	double fit[256];
	cma_opts_init(&o);
	o.dim = 4;
	o.tolflat = 2;
	o.restarts = 2;
	cma *c = cma_new(&o);
	int lam0 = c->lambda, gens = 0, seen[3] = { 0, 0, 0 };
	while (step(c, constant, fit) == 0) {
		gens++;
		if (c->restarts_done <= 2)
			seen[c->restarts_done] = c->lambda;
	}
	CHECK(c->restarts_done == 2 && !strcmp(c->stop, "flatfitness") && gens == 6, "restarts %d, %s, %d gens",
	      c->restarts_done, c->stop, gens);
	CHECK(seen[1] == 2 * lam0 && seen[2] == 4 * lam0, "IPOP doubles lambda: %d %d %d", lam0, seen[1], seen[2]);
	CHECK(c->gen == 6 && c->gen_local == 2 && c->sigma > c->sigma0, "counters after restart");
	cma_free(c);
}

static void test_random(void)
{
	cma_opts o;
	cma_opts_init(&o);
	o.dim = 7;
	o.method = CMA_RANDOM;
	o.maxevals = 30;
	o.minimize = 1;
	cma *c = cma_new(&o), *d = cma_new(&o);
	double fit[64], x[7], best = INFINITY;
	while (cma_ask(c) == 0) {
		cma_ask(d);
		for (int k = 0; k < c->lambda; k++) {
			double s = 0, y[7];
			cma_candidate_x(c, k, x);
			cma_candidate_x(d, k, y);
			CHECK(!memcmp(x, y, sizeof x), "deterministic");
			for (int i = 0; i < 7; i++) {
				CHECK(x[i] > 0, "positive");
				s += x[i];
			}
			CHECK(fabs(s - 1) < 1e-12, "on the simplex: %.17g", s);
			fit[k] = ellipsoid(x, 7);
			best = fmin(best, fit[k]);
		}
		cma_tell(c, fit, NULL);
		cma_tell(d, fit, NULL);
	}
	CHECK(!strcmp(c->stop, "maxevals") && c->best_fitness == best, "random: %s best %g vs %g", c->stop,
	      c->best_fitness, best);
	o.map = CMA_MAP_BOX;
	CHECK(cma_new(&o) == NULL && strstr(err_get(), "simplex"), "random with box: %s", err_get());
	cma_free(c);
	cma_free(d);
}

static void test_fitness_rule(void)
{
	const char *in[] = {
		"{\"fitness\":0.25,\"scores\":{\"a\":1}}", "{\"scores\":{\"a\":0.5,\"b\":0.25}}", "{\"scores\":{}}",
		"{\"scores\":{\"a\":null,\"b\":1}}", "{\"fitness\":null}", "{}", "{\"scores\":null}",
	};
	double want[] = { 0.25, 0.375, NAN, NAN, NAN, NAN, NAN };
	for (int i = 0; i < 7; i++) {
		json_object *o = json_tokener_parse(in[i]);
		double v = 0;
		CHECK(cma_record_fitness(o, &v) == 0 && (isnan(want[i]) ? isnan(v) : v == want[i]), "%s -> %g", in[i], v);
		json_object_put(o);
	}
	const char *bad[] = { "{\"fitness\":\"1\"}", "{\"scores\":[1]}", "{\"scores\":{\"a\":\"x\"}}" };
	const char *why[] = { "\"fitness\" is not a number", "\"scores\" is not an object", "score \"a\" is not a number" };
	for (int i = 0; i < 3; i++) {
		json_object *o = json_tokener_parse(bad[i]);
		double v;
		CHECK(cma_record_fitness(o, &v) == -1 && strstr(err_get(), why[i]), "%s: %s", bad[i], err_get());
		json_object_put(o);
	}
}

static json_object **gen_records(cma *c, int *n)
{
	json_object **r = calloc(c->lambda + 1, sizeof *r);
	for (int k = 0; k < c->lambda; k++) {
		r[k] = cma_candidate(c, k);
		rec_set(r[k], "scores", json_object_new_object());
		json_object_object_add(json_object_object_get(r[k], "scores"), "t", rec_double(k));
	}
	*n = c->lambda;
	return r;
}

static void free_records(json_object **r, int n)
{
	for (int i = 0; i < n; i++)
		json_object_put(r[i]);
	free(r);
}

static void test_tell_records(void)
{
	cma_opts o;
	cma_opts_init(&o);
	o.dim = 4;
	o.names = (char *[]){ "a", "b", "c", "d" };
	cma *c = cma_new(&o);
	int n;
	CHECK(cma_tell_records(c, NULL, NULL, 0, "in") == -1 && strstr(err_get(), "run 'cmaes-step ask' first"),
	      "nothing pending: %s", err_get());
	cma_ask(c);
	char *before = state_str(c), dupmsg[64];
	struct { const char *what, *field, *value, *why; int drop, dup; } cases[] = {
		{ "wrong gen", "gen", "3", "record of generation 3, not of the pending generation 0", 0, 0 },
		{ "gen not int", "gen", "\"0\"", "\"gen\" is not an integer", 0, 0 },
		{ "other generation's id", "id", "\"g0002-01\"", "id \"g0002-01\" is of generation 2", 0, 0 },
		{ "unknown id", "id", "\"g0000-99\"", "unknown id \"g0000-99\"", 0, 0 },
		{ "id not canonical", "id", "\"g0-1\"", "unknown id \"g0-1\"", 0, 0 },
		{ "no id", "id", "5", "record has no string \"id\"", 0, 0 },
		{ "x dimension", "x", "[1,2]", "\"x\" has the wrong dimension (4 expected)", 0, 0 },
		{ "bad fitness", "fitness", "\"high\"", "\"fitness\" is not a number", 0, 0 },
		{ "missing record", NULL, NULL, "no record for id \"g0000-02\"", 1, 0 },
		{ "duplicate", NULL, NULL, "duplicate id \"g0000-02\"", 0, 1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_object **r = gen_records(c, &n);
		long lines[64];
		for (int k = 0; k <= n; k++)
			lines[k] = k + 1;
		if (cases[i].field)
			rec_set(r[1], cases[i].field, json_tokener_parse(cases[i].value));
		if (cases[i].drop) {
			json_object_put(r[2]);
			r[2] = r[--n];
		}
		if (cases[i].dup) {
			json_object_put(r[n - 1]);
			r[n - 1] = json_object_get(r[2]);
			snprintf(dupmsg, sizeof dupmsg, "in:%d: duplicate id \"g0000-02\"", n);
			cases[i].why = dupmsg;
		}
		int rc = cma_tell_records(c, r, lines, n, "in");
		CHECK(rc == -1 && strstr(err_get(), cases[i].why), "%s: %s", cases[i].what, err_get());
		char *after = state_str(c);
		CHECK(!strcmp(before, after), "%s: state changed", cases[i].what);
		free(after);
		free_records(r, n);
	}
	/* Good records, out of order, one missing its scores: it ranks worst; fitness fields added. */
	json_object **r = gen_records(c, &n);
	json_object_object_del(r[n - 1], "scores");
	json_object *t = r[0];
	r[0] = r[n - 1];
	r[n - 1] = t;
	CHECK(cma_tell_records(c, r, NULL, n, "in") == 0, "good tell: %s", err_get());
	char want[32];
	int lam = c->lambda;
	c->gen--;   /* the id of the second-highest score, which must win over the missing highest */
	cma_candidate_id(c, lam - 2, want);
	c->gen++;
	CHECK(c->gen == 1 && c->has_best && !strcmp(c->best_id, want) && c->best_fitness == lam - 2,
	      "best %s %g, want %s", c->best_id, c->best_fitness, want);
	CHECK(json_object_is_type(json_object_object_get(r[1], "fitness"), json_type_double) &&
	      json_object_object_get_ex(r[0], "fitness", NULL) && !json_object_object_get(r[0], "fitness"),
	      "fitness set: number, or null when missing");
	json_object *st = cma_status(c);
	CHECK(json_object_object_get(json_object_object_get(json_object_object_get(st, "best"), "weights"), "c") != NULL,
	      "status best weights keyed by name: %s", rec_str(st));
	json_object_put(st);
	free_records(r, n);
	free(before);
	cma_free(c);
}

static void test_state_errors(void)
{
	cma_opts o;
	cma_opts_init(&o);
	o.dim = 3;
	cma *c = cma_new(&o);
	cma_ask(c);
	char *good = state_str(c);
	struct { const char *field, *value, *why; } cases[] = {
		{ "version", "2", "state format version 2 is newer than this cmaes-step reads (1)" },
		{ "format", "\"x\"", "not a cmaes-step state file" },
		{ "mean", "[1,2]", "field \"mean\" is not an array of 3 numbers" },
		{ "sigma", "-1", "field \"sigma\" is out of range" },
		{ "C", "[[1,0,0],[0,1,0]]", "field \"C\" does not have 3 rows" },
		{ "rng", "[\"1\",\"2\",\"3\",\"zz\"]", "field \"rng\" is not a hexadecimal 64-bit number" },
		{ "stop", "\"bored\"", "field \"stop\": unknown value \"bored\"" },
		{ "gen", "1.5", "field \"gen\" is not an integer" },
		{ "strategy", "{}", "field \"strategy\": missing field \"lambda\"" },
		{ "map", "\"cube\"", "field \"map\": unknown value \"cube\"" },
		{ "D", "[1,-1,1]", "field \"D\": negative element" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_object *j = json_tokener_parse(good);
		rec_set(j, cases[i].field, json_tokener_parse(cases[i].value));
		cma *d = cma_from_json(j, "s.json");
		CHECK(d == NULL && strstr(err_get(), cases[i].why) && !strncmp(err_get(), "s.json: ", 8), "%s: %s",
		      cases[i].field, err_get());
		json_object_put(j);
	}
	json_object *j = json_tokener_parse(good);
	json_object_object_del(j, "pc");
	CHECK(cma_from_json(j, "s.json") == NULL && strstr(err_get(), "missing field \"pc\""), "missing: %s", err_get());
	json_object_put(j);

	char path[] = "/tmp/test_cma_state.XXXXXX";
	int fd = mkstemp(path);
	CHECK(write(fd, good, strlen(good) / 2) > 0, "write");
	close(fd);
	CHECK(cma_load(path) == NULL && strstr(err_get(), "truncated"), "truncated: %s", err_get());
	unlink(path);
	free(good);
	cma_free(c);
}

/* ---- benchmark mode ----------------------------------------------------------------------- */

/* A merge-like objective: T tasks, each scoring 1 - (w - c_t)^T H_t (w - c_t) for merge weights
 * w; fitness = mean score, maximized. Dense: every c_t inside the simplex (the paper's finding
 * that good merges use almost every checkpoint); sparse: half of each c_t's entries zero. Coarse:
 * scores rounded to 1/200 as an accuracy on 200 examples. */
#define MT 4
typedef struct {
	int n, coarse;
	double c[MT][64], h[MT][64];
	double hm[64], cm[64], fstar;
} merge_obj;

static double merge_score(const merge_obj *m, const double *w, int coarse)
{
	double s = 0;
	for (int t = 0; t < MT; t++) {
		double q = 0;
		for (int i = 0; i < m->n; i++)
			q += m->h[t][i] * (w[i] - m->c[t][i]) * (w[i] - m->c[t][i]);
		s += coarse ? round(200 * (1 - q)) / 200 : 1 - q;
	}
	return s / MT;
}

static void merge_init(merge_obj *m, int n, int sparse, int coarse, uint64_t seed)
{
	rng r;
	double u[64], sq = 0;
	rng_seed(&r, seed + 1000003);
	m->n = n;
	m->coarse = coarse;
	for (int i = 0; i < n; i++)
		u[i] = 1.0 / n;
	for (int t = 0; t < MT; t++) {
		double s = 0;
		for (int i = 0; i < n; i++) {
			int zero = sparse && rng_uniform(&r) < 0.5;
			s += m->c[t][i] = zero ? 0 : -log(1 - rng_uniform(&r));
			m->h[t][i] = 1 + 9 * rng_uniform(&r);
		}
		for (int i = 0; i < n; i++)
			m->c[t][i] = s > 0 ? m->c[t][i] / s : 1.0 / n;
	}
	/* Scale H so that the uniform soup loses 0.3 of the score on average. */
	for (int t = 0; t < MT; t++)
		for (int i = 0; i < n; i++)
			sq += m->h[t][i] * (u[i] - m->c[t][i]) * (u[i] - m->c[t][i]) / MT;
	for (int t = 0; t < MT; t++)
		for (int i = 0; i < n; i++)
			m->h[t][i] *= 0.3 / sq;
	/* The optimum on the simplex: the mean score is -sum_i H_i (w_i - cm_i)^2 + const, so
	 * w_i = max(0, cm_i - nu / H_i) with nu found by bisection so that sum w = 1. */
	for (int i = 0; i < n; i++) {
		double g = 0;
		m->hm[i] = 0;
		for (int t = 0; t < MT; t++) {
			m->hm[i] += m->h[t][i];
			g += m->h[t][i] * m->c[t][i];
		}
		m->cm[i] = g / m->hm[i];
	}
	double lo = -1e6, hi = 1e6, w[64];
	for (int it = 0; it < 200; it++) {
		double nu = (lo + hi) / 2, s = 0;
		for (int i = 0; i < n; i++)
			s += fmax(0, m->cm[i] - nu / m->hm[i]);
		if (s > 1)
			lo = nu;
		else
			hi = nu;
	}
	for (int i = 0; i < n; i++)
		w[i] = fmax(0, m->cm[i] - (lo + hi) / 2 / m->hm[i]);
	m->fstar = merge_score(m, w, 0);
}

static int bench(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[2], "conv")) {
		double (*f)(const double *, int) = !strcmp(argv[3], "sphere") ? sphere : ellipsoid;
		int n;
		unsigned long long seed;
		if (sscanf(argv[4], "%d:%llu", &n, &seed) != 2)
			return 2;
		printf("%lld\n", evals_to_target(f, n, seed));
		return 0;
	}
	/* bench merge MAP|random dense|sparse fine|coarse N SEED BUDGET: regret of the best found. */
	if (argc == 9 && !strcmp(argv[2], "merge")) {
		merge_obj m;
		cma_opts o;
		int n = atoi(argv[6]);
		uint64_t seed = strtoull(argv[7], NULL, 10);
		if (n < 2 || n > 64)
			return 2;
		merge_init(&m, n, !strcmp(argv[4], "sparse"), !strcmp(argv[5], "coarse"), seed);
		cma_opts_init(&o);
		o.dim = n;
		o.seed = seed;
		o.maxevals = atoll(argv[8]);
		if (!strcmp(argv[3], "random"))
			o.method = CMA_RANDOM;
		else if ((int)(o.map = cma_map_parse(argv[3])) < 0)
			return 2;
		cma *c = cma_new(&o);
		double fit[1024], x[64], w[64];
		while (cma_ask(c) == 0) {
			for (int k = 0; k < c->lambda; k++) {
				cma_candidate_x(c, k, x);
				cma_map_weights(c->map, n, x, w);
				fit[k] = merge_score(&m, w, m.coarse);
			}
			cma_tell(c, fit, NULL);
		}
		cma_map_weights(c->map, n, c->best_x, w);
		printf("%.3e\n", m.fstar - merge_score(&m, w, 0));
		cma_free(c);
		return 0;
	}
	fprintf(stderr, "usage: test_cma bench conv sphere|ellipsoid N:SEED\n"
	                "       test_cma bench merge simplex|softmax|box|random dense|sparse fine|coarse N SEED BUDGET\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "bench"))
		return bench(argc, argv);
	T_RUN(test_fmt);
	T_RUN(test_strategy);
	T_RUN(test_eigen);
	T_RUN(test_maps);
	T_RUN(test_converges);
	T_RUN(test_resume_in_process);
	T_RUN(test_resume_cli);
	T_RUN(test_stops);
	T_RUN(test_restarts);
	T_RUN(test_random);
	T_RUN(test_fitness_rule);
	T_RUN(test_tell_records);
	T_RUN(test_state_errors);
	return t_done();
}
