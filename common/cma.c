/* cma.c — see cma.h. The algorithm follows the tutorial's summary table (Hansen 2016, Appendix A
 * with the active update of its section on negative weights); variable names follow its notation:
 * y = B D z is a sample before scaling by sigma, x = m + sigma y. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cma.h"
#include "cma_internal.h"
#include "err.h"
#include "rec.h"

/* LAPACK (bundled with OpenBLAS; no lapacke.h on this system). The trailing size_t arguments are
 * the hidden lengths gfortran passes for CHARACTER arguments. */
extern void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
                   double *w, double *work, const int *lwork, int *info, size_t, size_t);


/* ---- maps --------------------------------------------------------------------------------- */

const char *const cma_map_names[CMA_NMAPS] = { "simplex", "softmax", "box", "none" };

int cma_map_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, cma_map_names[i]))
			return i;
	return -1;
}

const char *cma_map_name(enum cma_map m) { return cma_map_names[m]; }

/* Lower bound 0 and upper bound 1 with pycma's widths of the quadratic zones,
 * al = min(1/2, (1+|lb|)/20) and au = min(1/2, (1+|ub|)/20). */
#define BOX_AL 0.05
#define BOX_AU 0.1

double cma_box_transform(double x)
{
	const double lo = -BOX_AL, L = 1.0 + BOX_AL + BOX_AU;   /* reflect into [lo, lo + L] */
	if (!isfinite(x))
		return 0.5;
	if (x < lo || x > lo + L) {
		double y = x - lo;
		y -= 2 * L * floor(y / (2 * L));   /* period 2L: y in [0, 2L) */
		if (y > L)
			y = 2 * L - y;
		x = lo + y;
	}
	if (x < BOX_AL)
		return (x + BOX_AL) * (x + BOX_AL) / (4 * BOX_AL);
	if (x > 1.0 - BOX_AU)
		return 1.0 - (x - 1.0 - BOX_AU) * (x - 1.0 - BOX_AU) / (4 * BOX_AU);
	return x;
}

void cma_map_weights(enum cma_map m, int n, const double *x, double *w)
{
	double s = 0;
	switch (m) {
	case CMA_MAP_SIMPLEX:
	case CMA_MAP_BOX:
		for (int i = 0; i < n; i++)
			s += w[i] = m == CMA_MAP_BOX ? cma_box_transform(x[i]) : fabs(x[i]);
		for (int i = 0; i < n; i++)
			w[i] = s > 0 && isfinite(s) ? w[i] / s : 1.0 / n;
		break;
	case CMA_MAP_SOFTMAX: {
		double mx = x[0];
		for (int i = 1; i < n; i++)
			if (x[i] > mx)
				mx = x[i];
		for (int i = 0; i < n; i++)
			s += w[i] = exp(x[i] - mx);
		for (int i = 0; i < n; i++)
			w[i] /= s;
		break;
	}
	case CMA_MAP_NONE:
		memcpy(w, x, n * sizeof *w);
		break;
	}
}

double cma_uniform_x0(enum cma_map m, int n)
{
	switch (m) {
	case CMA_MAP_SOFTMAX: return 0.0;
	case CMA_MAP_BOX: return 0.5;
	case CMA_MAP_NONE: return 1.0 / n;
	default: return 1.0;
	}
}

double cma_default_sigma(enum cma_map m, int n)
{
	switch (m) {
	case CMA_MAP_BOX: return 0.15;
	case CMA_MAP_NONE: return 0.3 / n;
	default: return 0.3;
	}
}

int cma_default_popsize(int n) { return 4 + (int)floor(3 * log((double)n)); }

/* ---- linear algebra ----------------------------------------------------------------------- */

int cma_eigen(int n, const double *C, double *B, double *ev)
{
	int info = 0, lwork = -1;
	double q = 0;
	double *a = malloc((size_t)n * n * sizeof *a);
	if (!a)
		return err_oom();
	memcpy(a, C, (size_t)n * n * sizeof *a);   /* symmetric: row- and column-major alike */
	dsyev_("V", "U", &n, a, &n, ev, &q, &lwork, &info, 1, 1);
	lwork = info == 0 && q >= 1 ? (int)q : 3 * n;
	double *work = malloc((size_t)lwork * sizeof *work);
	if (!work) {
		free(a);
		return err_oom();
	}
	dsyev_("V", "U", &n, a, &n, ev, work, &lwork, &info, 1, 1);
	free(work);
	if (info != 0) {
		free(a);
		return err_set("eigendecomposition failed (dsyev info %d)", info);
	}
	for (int i = 0; i < n; i++)        /* column-major eigenvectors → B[i][j] = v_j[i] */
		for (int j = 0; j < n; j++)
			B[i * n + j] = a[i + (size_t)j * n];
	free(a);
	return 0;
}

static int update_eigen(cma *c)
{
	int n = c->n;
	double *ev = malloc(n * sizeof *ev), *Bn = malloc((size_t)n * n * sizeof *Bn);
	int rc = -1;
	if (!ev || !Bn) {
		err_oom();
		goto out;
	}
	for (int i = 0; i < n * n; i++)
		if (!isfinite(c->C[i])) {
			err_set("covariance matrix is not finite");
			goto out;
		}
	if (cma_eigen(n, c->C, Bn, ev) < 0)
		goto out;
	memcpy(c->B, Bn, (size_t)n * n * sizeof *Bn);
	for (int i = 0; i < n; i++)
		c->D[i] = ev[i] > 0 ? sqrt(ev[i]) : 0.0;   /* a zero stops the run: "condition" */
	rc = 0;
out:
	free(ev);
	free(Bn);
	return rc;
}

/* ---- construction ------------------------------------------------------------------------- */

int cma_hist_len(const cma *c) { return 10 + (int)ceil(30.0 * c->n / c->lambda); }

/* The tutorial's default strategy parameters for population lambda. */
int cma_set_strategy(cma *c, int lambda)
{
	int n = c->n;
	double *w = realloc(c->w, lambda * sizeof *w);
	if (!w)
		return err_oom();
	c->w = w;
	double *z = realloc(c->z, (size_t)lambda * n * sizeof *z);
	if (!z)
		return err_oom();
	c->z = z;
	c->lambda = lambda;
	double *h = realloc(c->hist, cma_hist_len(c) * sizeof *h);
	if (!h)
		return err_oom();
	c->hist = h;
	c->nhist = 0;
	c->mu = lambda / 2;

	double sp = 0, sp2 = 0, sn = 0, sn2 = 0;
	for (int i = 0; i < lambda; i++) {
		w[i] = log((lambda + 1) / 2.0) - log(i + 1.0);
		if (i < c->mu) {
			sp += w[i];
			sp2 += w[i] * w[i];
		} else {
			sn += w[i];
			sn2 += w[i] * w[i];
		}
	}
	double mueff = sp * sp / sp2, mueffneg = sn2 > 0 ? sn * sn / sn2 : 0;
	c->mueff = mueff;
	c->cc = (4 + mueff / n) / (n + 4 + 2 * mueff / n);
	c->cs = (mueff + 2) / (n + mueff + 5);
	c->c1 = 2 / ((n + 1.3) * (n + 1.3) + mueff);
	c->cmu = fmin(1 - c->c1, 2 * (mueff - 2 + 1 / mueff) / ((n + 2.0) * (n + 2.0) + mueff));
	c->damps = 1 + 2 * fmax(0, sqrt((mueff - 1) / (n + 1)) - 1) + c->cs;
	c->chin = sqrt((double)n) * (1 - 1 / (4.0 * n) + 1 / (21.0 * n * n));
	/* Negative weights sum to -min(alpha_mu, alpha_mueff, alpha_posdef) (tutorial eq. 50-53). */
	double amu = c->cmu > 0 ? 1 + c->c1 / c->cmu : INFINITY;
	double amueff = 1 + 2 * mueffneg / (mueff + 2);
	double aposdef = c->cmu > 0 ? (1 - c->c1 - c->cmu) / (n * c->cmu) : INFINITY;
	double amin = fmin(amu, fmin(amueff, aposdef));
	for (int i = 0; i < lambda; i++)
		w[i] = i < c->mu ? w[i] / sp : (sn < 0 ? w[i] * amin / -sn : 0);
	return 0;
}

/* Mean x0, step sigma0, C = I, paths zero: the start of a run and of every restart. */
static void start_run(cma *c)
{
	int n = c->n;
	memcpy(c->mean, c->x0, n * sizeof *c->mean);
	c->sigma = c->sigma0;
	memset(c->ps, 0, n * sizeof *c->ps);
	memset(c->pc, 0, n * sizeof *c->pc);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			c->C[i * n + j] = c->B[i * n + j] = i == j;
	for (int i = 0; i < n; i++)
		c->D[i] = 1;
	c->gen_local = 0;
	c->eigen_evals = c->told;
	c->nhist = 0;
	c->flat = 0;
	c->pending = 0;
}

cma *cma_alloc(int n)
{
	cma *c = calloc(1, sizeof *c);
	if (!c) {
		err_oom();
		return NULL;
	}
	c->n = n;
	c->x0 = malloc(n * sizeof(double));
	c->mean = malloc(n * sizeof(double));
	c->ps = malloc(n * sizeof(double));
	c->pc = malloc(n * sizeof(double));
	c->D = malloc(n * sizeof(double));
	c->best_x = malloc(n * sizeof(double));
	c->C = malloc((size_t)n * n * sizeof(double));
	c->B = malloc((size_t)n * n * sizeof(double));
	if (!c->x0 || !c->mean || !c->ps || !c->pc || !c->D || !c->best_x || !c->C || !c->B) {
		cma_free(c);
		err_oom();
		return NULL;
	}
	c->ftarget = NAN;
	return c;
}

void cma_free(cma *c)
{
	if (!c)
		return;
	if (c->names)
		for (int i = 0; i < c->n; i++)
			free(c->names[i]);
	free(c->names);
	free(c->x0);
	free(c->w);
	free(c->mean);
	free(c->ps);
	free(c->pc);
	free(c->C);
	free(c->B);
	free(c->D);
	free(c->hist);
	free(c->z);
	free(c->best_x);
	free(c);
}

int cma_set_names(cma *c, char *const *names)
{
	if (!names)
		return 0;
	if (!(c->names = calloc(c->n, sizeof *c->names)))
		return err_oom();
	for (int i = 0; i < c->n; i++) {
		if (!names[i] || !names[i][0])
			return err_set("name %d is empty", i + 1);
		for (int j = 0; j < i; j++)
			if (!strcmp(names[i], names[j]))
				return err_set("name \"%s\" given twice", names[i]);
		if (!(c->names[i] = strdup(names[i])))
			return err_oom();
	}
	return 0;
}

void cma_opts_init(cma_opts *o)
{
	memset(o, 0, sizeof *o);
	o->method = CMA_CMAES;
	o->map = CMA_MAP_SIMPLEX;
	o->seed = 1;
	o->ftarget = NAN;
	o->tolfun = -1;
	o->tolx = -1;
	o->tolflat = -1;
}

cma *cma_new(const cma_opts *o)
{
	int n = o->dim;
	if (n < 1 || n > CMA_MAX_DIM) {
		err_set("dimension %d out of range 1..%d", n, CMA_MAX_DIM);
		return NULL;
	}
	if (o->method == CMA_RANDOM && o->map != CMA_MAP_SIMPLEX) {
		err_set("--method random samples the simplex: its map is simplex");
		return NULL;
	}
	if (o->popsize != 0 && (o->popsize < 2 || o->popsize > 1000000)) {
		err_set("population size %d out of range 2..1000000", o->popsize);
		return NULL;
	}
	if (o->sigma > 0 && !isfinite(o->sigma)) {
		err_set("sigma must be a finite positive number");
		return NULL;
	}
	if (o->maxevals < 0 || o->restarts < 0 || o->restarts > 20) {
		err_set(o->maxevals < 0 ? "maxevals must be positive" : "restarts must be in 0..20");
		return NULL;
	}
	if (isinf(o->ftarget) || (o->tolfun >= 0 && !isfinite(o->tolfun)) || (o->tolx >= 0 && !isfinite(o->tolx))) {
		err_set("ftarget, tolfun and tolx must be finite");
		return NULL;
	}
	cma *c = cma_alloc(n);
	if (!c)
		return NULL;
	if (cma_set_names(c, o->names) < 0) {
		cma_free(c);
		return NULL;
	}
	c->method = o->method;
	c->map = o->map;
	c->minimize = !!o->minimize;
	for (int i = 0; i < n; i++) {
		c->x0[i] = o->x0 ? o->x0[i] : cma_uniform_x0(o->map, n);
		if (!isfinite(c->x0[i])) {
			err_set("x0 value %d is not finite", i + 1);
			cma_free(c);
			return NULL;
		}
	}
	c->sigma0 = o->sigma > 0 ? o->sigma : cma_default_sigma(o->map, n);
	c->lambda0 = o->popsize ? o->popsize : cma_default_popsize(n);
	c->seed = o->seed;
	c->maxevals = o->maxevals ? o->maxevals
	                          : (long long)(1000.0 * (n + 5) * (n + 5) / sqrt((double)c->lambda0));
	c->ftarget = o->ftarget;
	c->tolfun = o->tolfun >= 0 ? o->tolfun : 1e-12;
	c->tolx = o->tolx >= 0 ? o->tolx : 1e-12 * c->sigma0;
	c->tolflat = o->tolflat >= 0 ? o->tolflat : 20;
	c->restarts = o->restarts;
	if (cma_set_strategy(c, c->lambda0) < 0) {
		cma_free(c);
		return NULL;
	}
	rng_seed(&c->rng, c->seed);
	start_run(c);
	return c;
}

/* ---- ask ---------------------------------------------------------------------------------- */

int cma_ask(cma *c)
{
	int n = c->n;
	if (c->stop)
		return 1;
	if (c->pending)
		return 0;
	for (int k = 0; k < c->lambda; k++) {
		double *z = c->z + (size_t)k * n;
		if (c->method == CMA_RANDOM) {   /* Dirichlet(1,…,1): normalized exponentials */
			double s = 0;
			for (int i = 0; i < n; i++)
				s += z[i] = -log(1.0 - rng_uniform(&c->rng));
			for (int i = 0; i < n; i++)
				z[i] = s > 0 ? z[i] / s : 1.0 / n;
		} else {
			for (int i = 0; i < n; i++)
				z[i] = rng_normal(&c->rng);
		}
	}
	c->pending = 1;
	return 0;
}

/* y = B (D ∘ z), the sample before the step size; t is scratch (n). */
static void sample_y(const cma *c, const double *z, double *y, double *t)
{
	int n = c->n;
	for (int j = 0; j < n; j++)
		t[j] = c->D[j] * z[j];
	for (int i = 0; i < n; i++) {
		double s = 0;
		const double *b = c->B + (size_t)i * n;
		for (int j = 0; j < n; j++)
			s += b[j] * t[j];
		y[i] = s;
	}
}

void cma_candidate_x(const cma *c, int k, double *x)
{
	int n = c->n;
	const double *z = c->z + (size_t)k * n;
	if (c->method == CMA_RANDOM) {
		memcpy(x, z, n * sizeof *x);
		return;
	}
	double *t = malloc(2 * n * sizeof *t);
	if (!t) {   /* tiny allocation; fall back to a slow but allocation-free sum */
		for (int i = 0; i < n; i++) {
			double s = 0;
			for (int j = 0; j < n; j++)
				s += c->B[(size_t)i * n + j] * (c->D[j] * z[j]);
			x[i] = c->mean[i] + c->sigma * s;
		}
		return;
	}
	sample_y(c, z, t + n, t);
	for (int i = 0; i < n; i++)
		x[i] = c->mean[i] + c->sigma * t[n + i];
	free(t);
}

void cma_candidate_id(const cma *c, int k, char buf[32])
{
	snprintf(buf, 32, "g%04lld-%02d", c->gen, k);
}

json_object *cma_vec_json(const double *v, int n)
{
	json_object *a = json_object_new_array_ext(n);
	for (int i = 0; i < n; i++)
		json_object_array_add(a, rec_double(v[i]));
	return a;
}

static json_object *weights_json(const cma *c, const double *x)
{
	double *w = malloc(c->n * sizeof *w);
	json_object *o;
	if (!w)
		return NULL;
	cma_map_weights(c->map, c->n, x, w);
	if (c->names) {
		o = json_object_new_object();
		for (int i = 0; i < c->n; i++)
			json_object_object_add(o, c->names[i], rec_double(w[i]));
	} else {
		o = cma_vec_json(w, c->n);
	}
	free(w);
	return o;
}

json_object *cma_candidate(const cma *c, int k)
{
	char id[32];
	double *x = malloc(c->n * sizeof *x);
	json_object *o = json_object_new_object();
	if (!x || !o) {
		free(x);
		json_object_put(o);
		return NULL;
	}
	cma_candidate_x(c, k, x);
	cma_candidate_id(c, k, id);
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "gen", json_object_new_int64(c->gen));
	json_object_object_add(o, "x", cma_vec_json(x, c->n));
	json_object_object_add(o, "weights", weights_json(c, x));
	free(x);
	return o;
}

/* ---- tell --------------------------------------------------------------------------------- */

static double to_f(const cma *c, double fitness)
{
	if (!isfinite(fitness))
		return INFINITY;
	return c->minimize ? fitness : -fitness;
}

/* Ranks by f, ties by candidate index. */
static void rank(const double *f, int *idx, int lambda)
{
	for (int i = 0; i < lambda; i++) {
		int j = i;
		while (j > 0 && f[idx[j - 1]] > f[i])
			j--;
		memmove(idx + j + 1, idx + j, (i - j) * sizeof *idx);
		idx[j] = i;
	}
}

/* Mean, paths, C and sigma from the ranked generation (tutorial, Appendix A). */
static int update_cmaes(cma *c, const double *f, const int *idx)
{
	int n = c->n, lam = c->lambda, mu = c->mu;
	double *y = malloc((size_t)lam * n * sizeof *y);
	double *buf = calloc(4 * n, sizeof *buf);
	double *wc = malloc(lam * sizeof *wc);
	if (!y || !buf || !wc) {
		free(y);
		free(buf);
		free(wc);
		return err_oom();
	}
	double *ymean = buf, *zmean = buf + n, *bz = buf + 2 * n, *t = buf + 3 * n;
	for (int k = 0; k < lam; k++)
		sample_y(c, c->z + (size_t)k * n, y + (size_t)k * n, t);
	for (int r = 0; r < mu; r++) {
		const double *yk = y + (size_t)idx[r] * n, *zk = c->z + (size_t)idx[r] * n;
		for (int i = 0; i < n; i++) {
			ymean[i] += c->w[r] * yk[i];
			zmean[i] += c->w[r] * zk[i];
		}
	}
	for (int i = 0; i < n; i++)
		c->mean[i] += c->sigma * ymean[i];   /* c_m = 1 */

	/* C^(-1/2) <y>_w = B D^-1 B^T B D <z>_w = B <z>_w, with the B and D that made the samples. */
	double nps = 0, a = sqrt(c->cs * (2 - c->cs) * c->mueff);
	for (int i = 0; i < n; i++) {
		double s = 0;
		for (int j = 0; j < n; j++)
			s += c->B[(size_t)i * n + j] * zmean[j];
		bz[i] = s;
	}
	for (int i = 0; i < n; i++) {
		c->ps[i] = (1 - c->cs) * c->ps[i] + a * bz[i];
		nps += c->ps[i] * c->ps[i];
	}
	nps = sqrt(nps);
	c->gen_local++;
	int hsig = nps / sqrt(1 - pow(1 - c->cs, 2.0 * c->gen_local)) < (1.4 + 2.0 / (n + 1)) * c->chin;
	double ac = hsig ? sqrt(c->cc * (2 - c->cc) * c->mueff) : 0;
	for (int i = 0; i < n; i++)
		c->pc[i] = (1 - c->cc) * c->pc[i] + ac * ymean[i];

	/* Active rank-mu: a negative weight is rescaled by n / |C^(-1/2) y|^2 = n / |z|^2. */
	double sumw = 0;
	for (int r = 0; r < lam; r++) {
		sumw += c->w[r];
		wc[r] = c->w[r];
		if (c->w[r] < 0) {
			const double *zk = c->z + (size_t)idx[r] * n;
			double zz = 0;
			for (int i = 0; i < n; i++)
				zz += zk[i] * zk[i];
			wc[r] = zz > 0 ? c->w[r] * n / zz : 0;
		}
	}
	double decay = 1 + c->c1 * (hsig ? 0 : c->cc * (2 - c->cc)) - c->c1 - c->cmu * sumw;
	for (int i = 0; i < n; i++)
		for (int j = i; j < n; j++)
			c->C[(size_t)i * n + j] = decay * c->C[(size_t)i * n + j] + c->c1 * c->pc[i] * c->pc[j];
	for (int r = 0; r < lam; r++) {
		double cw = c->cmu * wc[r];
		const double *yk = y + (size_t)idx[r] * n;
		if (cw == 0)
			continue;
		for (int i = 0; i < n; i++) {
			double *Ci = c->C + (size_t)i * n;
			double cy = cw * yk[i];
			for (int j = i; j < n; j++)
				Ci[j] += cy * yk[j];
		}
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < i; j++)
			c->C[(size_t)i * n + j] = c->C[(size_t)j * n + i];

	c->sigma *= exp(c->cs / c->damps * (nps / c->chin - 1));

	/* Flat fitness (coarse scores): the best tied with the 0.7-quantile. Escape by enlarging
	 * the step, as the tutorial's reference code does; --tolflat such generations in a row stop. */
	int q = (int)ceil(0.7 * lam) - 1;
	if (isfinite(f[idx[0]]) && f[idx[0]] == f[idx[q]]) {
		c->sigma *= exp(0.2 + c->cs / c->damps);
		c->flat++;
	} else {
		c->flat = 0;
	}
	free(y);
	free(buf);
	free(wc);

	if (c->told - c->eigen_evals > lam / (c->c1 + c->cmu) / n / 10.0) {
		c->eigen_evals = c->told;
		if (update_eigen(c) < 0)
			return -1;
	}
	return 0;
}

static const char *check_stop(cma *c, const double *f, const int *idx)
{
	int n = c->n, lam = c->lambda;
	if (!isnan(c->ftarget) && c->has_best &&
	    (c->minimize ? c->best_fitness <= c->ftarget : c->best_fitness >= c->ftarget))
		return "ftarget";
	if (c->evals >= c->maxevals)
		return "maxevals";
	if (c->method == CMA_RANDOM)
		return NULL;

	/* tolfun: range of the last hist_len generations' best and of this generation, unless this
	 * generation is flat (the flat rule governs plateaus of coarse scores). */
	if (c->flat == 0 && c->nhist >= cma_hist_len(c)) {
		double lo = f[idx[0]], hi = f[idx[lam - 1]];
		for (int i = 0; i < c->nhist; i++) {
			lo = fmin(lo, c->hist[i]);
			hi = fmax(hi, c->hist[i]);
		}
		if (isfinite(hi) && hi - lo < c->tolfun)
			return "tolfun";
	}
	int small = 1;
	for (int i = 0; i < n && small; i++)
		small = c->sigma * fabs(c->pc[i]) < c->tolx && c->sigma * sqrt(c->C[(size_t)i * n + i]) < c->tolx;
	if (small)
		return "tolx";
	double dmax = c->D[0], dmin = c->D[0];
	for (int i = 1; i < n; i++) {
		dmax = fmax(dmax, c->D[i]);
		dmin = fmin(dmin, c->D[i]);
	}
	if (!(dmin > 0) || (dmax / dmin) * (dmax / dmin) > 1e14)
		return "condition";
	int a = (int)(c->gen_local % n), moved = 0;
	for (int i = 0; i < n && !moved; i++)
		moved = c->mean[i] + 0.1 * c->sigma * c->D[a] * c->B[(size_t)i * n + a] != c->mean[i];
	if (!moved)
		return "noeffectaxis";
	for (int i = 0; i < n; i++)
		if (c->mean[i] + 0.2 * c->sigma * sqrt(c->C[(size_t)i * n + i]) == c->mean[i])
			return "noeffectcoord";
	if (c->tolflat > 0 && c->flat >= c->tolflat)
		return "flatfitness";
	return NULL;
}

int cma_tell(cma *c, const double *fitness, const unsigned char *modeled)
{
	int lam = c->lambda;
	if (!c->pending)
		return err_set(c->stop ? "the run has stopped (%s); nothing to tell" :
		               "no generation pending: run 'cmaes-step ask' first", c->stop);
	double *f = malloc(lam * sizeof *f);
	int *idx = malloc(lam * sizeof *idx);
	if (!f || !idx) {
		free(f);
		free(idx);
		return err_oom();
	}
	for (int k = 0; k < lam; k++)
		f[k] = to_f(c, fitness[k]);
	rank(f, idx, lam);
	/* Best so far among the evaluated, before the mean moves (the candidates are functions of
	 * the mean). */
	int b = 0, evaluated = lam;
	while (modeled && b < lam && modeled[idx[b]])
		b++;
	for (int k = 0; modeled && k < lam; k++)
		evaluated -= modeled[k] != 0;
	if (b < lam && isfinite(f[idx[b]]) && (!c->has_best || f[idx[b]] < to_f(c, c->best_fitness))) {
		c->has_best = 1;
		c->best_fitness = fitness[idx[b]];
		cma_candidate_x(c, idx[b], c->best_x);
		cma_candidate_id(c, idx[b], c->best_id);
	}
	c->evals += evaluated;
	c->told += lam;
	int rc = 0;
	if (c->method == CMA_CMAES && update_cmaes(c, f, idx) < 0) {
		c->stop = "eigenfailure";
		rc = 1;
	}
	c->gen++;
	c->pending = 0;
	if (c->method == CMA_CMAES) {
		int H = cma_hist_len(c);
		if (c->nhist == H)
			memmove(c->hist, c->hist + 1, (H - 1) * sizeof *c->hist);
		else
			c->nhist++;
		c->hist[c->nhist - 1] = f[idx[0]];
	}
	if (!rc)
		c->stop = check_stop(c, f, idx);
	free(f);
	free(idx);
	/* A state that would not load again is never written: the caller keeps the old one. */
	int finite = isfinite(c->sigma) && c->sigma > 0;
	for (int i = 0; i < c->n && finite; i++)
		finite = isfinite(c->mean[i]) && isfinite(c->ps[i]) && isfinite(c->pc[i]) && isfinite(c->D[i]);
	for (int i = 0; i < c->n * c->n && finite; i++)
		finite = isfinite(c->C[i]) && isfinite(c->B[i]);
	if (!finite)
		return err_set("numerical failure: the update gave non-finite values (the state is left as it was)");
	/* IPOP: a local stop with restarts left starts over from x0 with twice the population. */
	if (c->stop && c->method == CMA_CMAES && strcmp(c->stop, "ftarget") && strcmp(c->stop, "maxevals") &&
	    c->restarts_done < c->restarts) {
		if (cma_set_strategy(c, c->lambda0 << (c->restarts_done + 1)) < 0)
			return -1;
		c->restarts_done++;
		c->stop = NULL;
		start_run(c);
	}
	return 0;
}

int cma_extend(cma *c, long long maxevals)
{
	if (maxevals < 1 || maxevals < c->evals)
		return err_set("a budget of %lld evaluations is less than the %lld done", maxevals,
		               c->evals);
	c->maxevals = maxevals;
	if (c->stop && !strcmp(c->stop, "maxevals") && c->evals < maxevals)
		c->stop = NULL;
	return 0;
}

int cma_record_fitness(json_object *rec, double *v)
{
	json_object *o;
	*v = NAN;
	if (rec_lookup(rec, "fitness", &o)) {
		if (o && !json_object_is_type(o, json_type_double) && !json_object_is_type(o, json_type_int))
			return err_set("\"fitness\" is not a number");
		if (o)
			*v = json_object_get_double(o);
		return 0;
	}
	if (!rec_lookup(rec, "scores", &o) || !o)
		return 0;
	if (!json_object_is_type(o, json_type_object))
		return err_set("\"scores\" is not an object");
	double s = 0;
	int m = 0;
	json_object_object_foreach(o, key, val) {
		if (val && !json_object_is_type(val, json_type_double) && !json_object_is_type(val, json_type_int))
			return err_set("score \"%s\" is not a number", key);
		s += val ? json_object_get_double(val) : NAN;
		m++;
	}
	if (m)
		*v = s / m;
	return 0;
}

/* The candidate index of id in the pending generation, or -1 with err_set. */
static int id_index(const cma *c, const char *id)
{
	long long g;
	int k, end = 0;
	char want[32];
	if (sscanf(id, "g%lld-%d%n", &g, &k, &end) == 2 && id[end] == 0 && g != c->gen && g >= 0)
		return err_set("id \"%s\" is of generation %lld, not of the pending generation %lld", id, g, c->gen);
	if (sscanf(id, "g%lld-%d%n", &g, &k, &end) == 2 && id[end] == 0 && k >= 0 && k < c->lambda) {
		cma_candidate_id(c, k, want);
		if (!strcmp(want, id))
			return k;
	}
	return err_set("unknown id \"%s\" (not a candidate of generation %lld)", id, c->gen);
}

int cma_tell_records(cma *c, json_object **recs, const long *lines, int nrec, const char *name)
{
	int lam = c->lambda;
	if (!c->pending)
		return cma_tell(c, NULL, NULL);
	double *fit = malloc(lam * sizeof *fit);
	int *seen = calloc(lam, sizeof *seen);
	unsigned char *modeled = calloc(lam, 1);
	if (!fit || !seen || !modeled) {
		free(fit);
		free(seen);
		free(modeled);
		return err_oom();
	}
	int rc = -1;
	char where[64];
	for (int r = 0; r < nrec; r++) {
		json_object *o, *id;
		double v;
		if (lines)
			snprintf(where, sizeof where, ":%ld", lines[r]);
		else
			snprintf(where, sizeof where, ": record %d", r + 1);
		if (!rec_lookup(recs[r], "id", &id) || !json_object_is_type(id, json_type_string)) {
			err_set("%s%s: record has no string \"id\"", name, where);
			goto out;
		}
		if (rec_lookup(recs[r], "gen", &o)) {
			if (!json_object_is_type(o, json_type_int)) {
				err_set("%s%s: \"gen\" is not an integer", name, where);
				goto out;
			}
			if (json_object_get_int64(o) != c->gen) {
				err_set("%s%s: record of generation %" PRId64 ", not of the pending generation %lld",
				        name, where, json_object_get_int64(o), c->gen);
				goto out;
			}
		}
		int k = id_index(c, json_object_get_string(id));
		if (k < 0) {
			err_prefix("%s%s: ", name, where);
			goto out;
		}
		if (seen[k]) {
			err_set("%s%s: duplicate id \"%s\"", name, where, json_object_get_string(id));
			goto out;
		}
		seen[k] = 1;
		if (rec_lookup(recs[r], "x", &o)) {
			if (!json_object_is_type(o, json_type_array) || (int)json_object_array_length(o) != c->n) {
				err_set("%s%s: \"x\" has the wrong dimension (%d expected)", name, where, c->n);
				goto out;
			}
		}
		if (cma_record_fitness(recs[r], &v) < 0) {
			err_prefix("%s%s: ", name, where);
			goto out;
		}
		fit[k] = v;
		int sur = 0;
		if (rec_get_bool(recs[r], "surrogate", REC_OPTIONAL | REC_NULLABLE, &sur) < 0) {
			err_prefix("%s%s: ", name, where);
			goto out;
		}
		modeled[k] = sur != 0;
	}
	for (int k = 0; k < lam; k++)
		if (!seen[k]) {
			char id[32];
			cma_candidate_id(c, k, id);
			err_set("%s: no record for id \"%s\" (every candidate of generation %lld needs one; "
			        "give a failed evaluation a record without scores)", name, id, c->gen);
			goto out;
		}
	for (int r = 0; r < nrec; r++)
		if (!rec_lookup(recs[r], "fitness", NULL)) {
			double v;
			cma_record_fitness(recs[r], &v);
			rec_set(recs[r], "fitness", rec_double(v));
		}
	rc = cma_tell(c, fit, modeled);
out:
	free(fit);
	free(seen);
	free(modeled);
	return rc;
}

/* ---- status and state --------------------------------------------------------------------- */

json_object *cma_best_json(const cma *c)
{
	if (!c->has_best)
		return NULL;
	json_object *b = json_object_new_object();
	json_object_object_add(b, "id", json_object_new_string(c->best_id));
	json_object_object_add(b, "x", cma_vec_json(c->best_x, c->n));
	json_object_object_add(b, "weights", weights_json(c, c->best_x));
	json_object_object_add(b, "fitness", rec_double(c->best_fitness));
	return b;
}

json_object *cma_status(const cma *c)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "method", json_object_new_string(c->method == CMA_RANDOM ? "random" : "cmaes"));
	json_object_object_add(o, "gen", json_object_new_int64(c->gen));
	json_object_object_add(o, "evals", json_object_new_int64(c->evals));
	json_object_object_add(o, "modeled", json_object_new_int64(c->told - c->evals));
	json_object_object_add(o, "lambda", json_object_new_int(c->lambda));
	json_object_object_add(o, "restarts", json_object_new_int(c->restarts_done));
	json_object_object_add(o, "sigma", rec_double(c->sigma));
	if (c->method == CMA_CMAES) {   /* the distribution's mean: CMA-ES's own estimate of the best */
		json_object *m = json_object_new_object();
		json_object_object_add(m, "x", cma_vec_json(c->mean, c->n));
		json_object_object_add(m, "weights", weights_json(c, c->mean));
		json_object_object_add(o, "mean", m);
	}
	json_object_object_add(o, "pending", json_object_new_boolean(c->pending));
	json_object_object_add(o, "best", cma_best_json(c));
	json_object_object_add(o, "stop", c->stop ? json_object_new_string(c->stop) : NULL);
	return o;
}
