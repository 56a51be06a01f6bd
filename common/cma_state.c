/* cma_state.c — the cmaes-step state file: struct cma as one JSON object and back, every field
 * checked on the way in (see cma.h), and the write-to-a-temporary-then-rename of a state. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cma.h"
#include "cma_internal.h"
#include "err.h"
#include "rec.h"
#include "tmp.h"

static const char *const stop_reasons[] = {
	"maxevals", "ftarget", "tolfun", "tolx", "condition", "noeffectaxis", "noeffectcoord",
	"flatfitness", "eigenfailure",
};
#define NSTOP (int)(sizeof stop_reasons / sizeof stop_reasons[0])

static json_object *mat_json(const double *m, int rows, int cols)
{
	json_object *a = json_object_new_array_ext(rows);
	for (int i = 0; i < rows; i++)
		json_object_array_add(a, cma_vec_json(m + (size_t)i * cols, cols));
	return a;
}

json_object *cma_to_json(const cma *c)
{
	int n = c->n;
	char hex[4][20];
	json_object *o = json_object_new_object(), *a;
#define ADD(k, v) json_object_object_add(o, k, v)
	ADD("format", json_object_new_string(CMA_STATE_FORMAT));
	ADD("version", json_object_new_int(CMA_STATE_VERSION));
	ADD("method", json_object_new_string(c->method == CMA_RANDOM ? "random" : "cmaes"));
	ADD("map", json_object_new_string(cma_map_name(c->map)));
	ADD("minimize", json_object_new_boolean(c->minimize));
	ADD("dim", json_object_new_int(n));
	if (c->names) {
		a = json_object_new_array_ext(n);
		for (int i = 0; i < n; i++)
			json_object_array_add(a, json_object_new_string(c->names[i]));
		ADD("names", a);
	} else {
		ADD("names", NULL);
	}
	snprintf(hex[0], sizeof hex[0], "%016" PRIx64, c->seed);
	ADD("seed", json_object_new_string(hex[0]));
	ADD("x0", cma_vec_json(c->x0, n));
	ADD("sigma0", rec_double(c->sigma0));
	ADD("popsize", json_object_new_int(c->lambda0));
	ADD("maxevals", json_object_new_int64(c->maxevals));
	ADD("ftarget", rec_double(c->ftarget));
	ADD("tolfun", rec_double(c->tolfun));
	ADD("tolx", rec_double(c->tolx));
	ADD("tolflat", json_object_new_int(c->tolflat));
	ADD("restarts", json_object_new_int(c->restarts));

	json_object *s = json_object_new_object();
	json_object_object_add(s, "lambda", json_object_new_int(c->lambda));
	json_object_object_add(s, "mu", json_object_new_int(c->mu));
	json_object_object_add(s, "weights", cma_vec_json(c->w, c->lambda));
	json_object_object_add(s, "mueff", rec_double(c->mueff));
	json_object_object_add(s, "cc", rec_double(c->cc));
	json_object_object_add(s, "cs", rec_double(c->cs));
	json_object_object_add(s, "c1", rec_double(c->c1));
	json_object_object_add(s, "cmu", rec_double(c->cmu));
	json_object_object_add(s, "damps", rec_double(c->damps));
	json_object_object_add(s, "chin", rec_double(c->chin));
	ADD("strategy", s);

	ADD("gen", json_object_new_int64(c->gen));
	ADD("gen_local", json_object_new_int64(c->gen_local));
	ADD("evals", json_object_new_int64(c->evals));
	ADD("told", json_object_new_int64(c->told));
	ADD("eigen_evals", json_object_new_int64(c->eigen_evals));
	ADD("restarts_done", json_object_new_int(c->restarts_done));
	ADD("sigma", rec_double(c->sigma));
	ADD("mean", cma_vec_json(c->mean, n));
	ADD("ps", cma_vec_json(c->ps, n));
	ADD("pc", cma_vec_json(c->pc, n));
	ADD("C", mat_json(c->C, n, n));
	ADD("B", mat_json(c->B, n, n));
	ADD("D", cma_vec_json(c->D, n));
	/* A generation whose every score was missing has best f = +inf: written as null. */
	ADD("hist", cma_vec_json(c->hist, c->nhist));
	ADD("flat", json_object_new_int(c->flat));
	a = json_object_new_array_ext(4);
	for (int i = 0; i < 4; i++) {
		snprintf(hex[i], sizeof hex[i], "%016" PRIx64, c->rng.s[i]);
		json_object_array_add(a, json_object_new_string(hex[i]));
	}
	ADD("rng", a);
	if (c->pending) {
		json_object *p = json_object_new_object(), *ids = json_object_new_array_ext(c->lambda);
		char id[32];
		for (int k = 0; k < c->lambda; k++) {
			cma_candidate_id(c, k, id);
			json_object_array_add(ids, json_object_new_string(id));
		}
		json_object_object_add(p, "gen", json_object_new_int64(c->gen));
		json_object_object_add(p, "ids", ids);
		json_object_object_add(p, "z", mat_json(c->z, c->lambda, n));
		ADD("pending", p);
	} else {
		ADD("pending", NULL);
	}
	ADD("best", cma_best_json(c));
	ADD("stop", c->stop ? json_object_new_string(c->stop) : NULL);
#undef ADD
	return o;
}

/* Field readers for cma_from_json beyond rec.h's typed getters; each message names the field. */
static int jint32(json_object *o, const char *key, int lo, int hi, int *v)
{
	long long t;
	if (rec_get_int(o, key, 0, lo, hi, &t) < 0)
		return -1;
	*v = (int)t;
	return 0;
}

static int jmat(json_object *o, const char *key, double *m, int rows, int cols)
{
	json_object *a;
	if (rec_get_array(o, key, 0, 0, SIZE_MAX, &a) < 0)
		return -1;
	if ((int)json_object_array_length(a) != rows)
		return err_set("field \"%s\" does not have %d rows", key, rows);
	for (int i = 0; i < rows; i++)
		if (rec_doubles(json_object_array_get_idx(a, i), key, 0, m + (size_t)i * cols, cols) < 0)
			return -1;
	return 0;
}

static int jhex(const char *t, const char *key, uint64_t *v)
{
	char *end;
	size_t len = strlen(t);
	if (len < 1 || len > 16 || strspn(t, "0123456789abcdefABCDEF") != len)
		return err_set("field \"%s\" is not a hexadecimal 64-bit number", key);
	*v = strtoull(t, &end, 16);
	return 0;
}

static int read_state(cma *c, json_object *o)
{
	static const char *const methods[] = { "cmaes", "random" };
	int n = c->n, v = 0, lambda = 0;
	json_object *x = NULL, *s;
	double d;
	if (rec_get_enum(o, "method", 0, methods, 2, &v) < 0)
		return -1;
	c->method = v;
	if (rec_get_enum(o, "map", 0, cma_map_names, CMA_NMAPS, &v) < 0)
		return -1;
	c->map = v;
	if (rec_get_bool(o, "minimize", 0, &c->minimize) < 0)
		return -1;
	if (rec_get_array(o, "names", REC_NULLABLE, 0, SIZE_MAX, &x) < 0)
		return -1;
	if (x) {
		char **names = calloc(n, sizeof *names);
		if (!names)
			return err_oom();
		int bad = (int)json_object_array_length(x) != n;
		for (int i = 0; i < n && !bad; i++) {
			json_object *e = json_object_array_get_idx(x, i);
			bad = !json_object_is_type(e, json_type_string);
			names[i] = bad ? NULL : (char *)json_object_get_string(e);
		}
		int rc = bad ? err_set("field \"names\" is not an array of %d strings", n) : cma_set_names(c, names);
		free(names);
		if (rc < 0)
			return err_prefix("field \"names\": ");
	}
	const char *seed;
	if (rec_get_str(o, "seed", 0, SIZE_MAX, &seed) < 0 || jhex(seed, "seed", &c->seed) < 0)
		return -1;
	if (rec_get_doubles(o, "x0", 0, c->x0, n) < 0 ||
	    rec_get_double(o, "sigma0", REC_OPEN_LO, 0, INFINITY, &c->sigma0) < 0 ||
	    jint32(o, "popsize", 2, 1000000, &c->lambda0) < 0 ||
	    rec_get_int(o, "maxevals", 0, 1, INT64_MAX, &c->maxevals) < 0)
		return -1;
	c->ftarget = NAN;
	if (rec_get_double(o, "ftarget", REC_NULLABLE, -INFINITY, INFINITY, &c->ftarget) < 0)
		return -1;
	if (rec_get_double(o, "tolfun", 0, 0, INFINITY, &c->tolfun) < 0 ||
	    rec_get_double(o, "tolx", 0, 0, INFINITY, &c->tolx) < 0 ||
	    jint32(o, "tolflat", 0, INT32_MAX, &c->tolflat) < 0 || jint32(o, "restarts", 0, 20, &c->restarts) < 0)
		return -1;

	if (rec_get_object(o, "strategy", 0, &s) < 0 || jint32(s, "lambda", 2, 1 << 30, &lambda) < 0)
		return err_prefix("field \"strategy\": ");
	/* lambda sizes every allocation below: the file must really hold lambda weights first, so a
	 * few hundred bytes claiming a population of 40 million cannot make it allocate gigabytes. */
	{
		json_object *wa;
		if (!json_object_object_get_ex(s, "weights", &wa) || !json_object_is_type(wa, json_type_array) ||
		    (int)json_object_array_length(wa) != lambda)
			return err_set("field \"strategy\": field \"weights\" is not an array of %d numbers", lambda);
	}
	if (cma_set_strategy(c, lambda) < 0)   /* allocates and computes the strategy of this population */
		return -1;
	/* The strategy is a function of n and lambda: the stored copy (for readers of the file) must
	 * agree with it, or the file was edited into values the update cannot survive (a cc above 1,
	 * weights of 1e20 end in NaN). */
	{
		int mu;
		double st[7], *w = malloc(lambda * sizeof *w);
		const double want[7] = { c->mueff, c->cc, c->cs, c->c1, c->cmu, c->damps, c->chin };
		static const char *const key[7] = { "mueff", "cc", "cs", "c1", "cmu", "damps", "chin" };
		if (!w)
			return err_oom();
		int rc = jint32(s, "mu", 1, lambda, &mu) < 0 || rec_get_doubles(s, "weights", 0, w, lambda) < 0 ? -1 : 0;
		for (int i = 0; i < 7 && rc == 0; i++)   /* cmu may be 0, the others are positive */
			rc = rec_get_double(s, key[i], i == 4 ? 0 : REC_OPEN_LO, 0, INFINITY, &st[i]) < 0 ? -1 : 0;
		if (rc == 0 && mu != c->mu)
			rc = err_set("field \"mu\" is %d, not %d as lambda %d gives", mu, c->mu, lambda);
		for (int i = 0; i < 7 && rc == 0; i++)
			if (fabs(st[i] - want[i]) > 1e-9 * fabs(want[i]))
				rc = err_set("field \"%s\" is %.17g, not %.17g as lambda %d gives", key[i], st[i], want[i], lambda);
		for (int k = 0; k < lambda && rc == 0; k++)
			if (fabs(w[k] - c->w[k]) > 1e-9 * fabs(c->w[k]) + 1e-15)
				rc = err_set("field \"weights\": element %d is %.17g, not %.17g as lambda %d gives", k + 1,
				             w[k], c->w[k], lambda);
		free(w);
		if (rc < 0)
			return err_prefix("field \"strategy\": ");
	}

	if (rec_get_int(o, "gen", 0, 0, INT64_MAX, &c->gen) < 0 ||
	    rec_get_int(o, "gen_local", 0, 0, c->gen, &c->gen_local) < 0 ||
	    rec_get_int(o, "evals", 0, 0, INT64_MAX, &c->evals) < 0)
		return -1;
	/* "told" is new with surrogate models (lq-surr): a state from before told only evaluations. */
	c->told = c->evals;
	if (rec_get_int(o, "told", REC_OPTIONAL, c->evals, INT64_MAX, &c->told) < 0 ||
	    rec_get_int(o, "eigen_evals", 0, 0, c->told, &c->eigen_evals) < 0 ||
	    jint32(o, "restarts_done", 0, c->restarts, &c->restarts_done) < 0)
		return -1;
	if (rec_get_double(o, "sigma", REC_OPEN_LO, 0, INFINITY, &c->sigma) < 0 ||
	    rec_get_doubles(o, "mean", 0, c->mean, n) < 0 || rec_get_doubles(o, "ps", 0, c->ps, n) < 0 ||
	    rec_get_doubles(o, "pc", 0, c->pc, n) < 0 || jmat(o, "C", c->C, n, n) < 0 || jmat(o, "B", c->B, n, n) < 0 ||
	    rec_get_doubles(o, "D", 0, c->D, n) < 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (c->D[i] < 0)
			return err_set("field \"D\": negative element");
	if (rec_get_array(o, "hist", 0, 0, SIZE_MAX, &x) < 0)
		return -1;
	c->nhist = (int)json_object_array_length(x);
	if (c->nhist > cma_hist_len(c))
		return err_set("field \"hist\" is longer than %d", cma_hist_len(c));
	/* A generation whose every score was missing has best f = +inf, written as null. */
	if (rec_doubles(x, "hist", REC_NULLABLE, c->hist, c->nhist) < 0 || jint32(o, "flat", 0, INT32_MAX, &c->flat) < 0)
		return -1;
	for (int i = 0; i < c->nhist; i++)
		if (isnan(c->hist[i]))
			c->hist[i] = INFINITY;

	if (rec_get_array(o, "rng", 0, 0, SIZE_MAX, &x) < 0)
		return -1;
	if (json_object_array_length(x) != 4)
		return err_set("field \"rng\" is not an array of 4 hexadecimal strings");
	for (int i = 0; i < 4; i++) {
		json_object *e = json_object_array_get_idx(x, i);
		if (jhex(json_object_is_type(e, json_type_string) ? json_object_get_string(e) : "", "rng", &c->rng.s[i]) < 0)
			return -1;
	}
	if (!(c->rng.s[0] | c->rng.s[1] | c->rng.s[2] | c->rng.s[3]))
		return err_set("field \"rng\" is all zero");

	x = NULL;
	if (rec_get_object(o, "pending", REC_NULLABLE, &x) < 0)
		return -1;
	if (x) {
		long long g;
		json_object *ids;
		if (rec_get_int(x, "gen", 0, c->gen, c->gen, &g) < 0 || rec_get_array(x, "ids", 0, lambda, lambda, &ids) < 0 ||
		    jmat(x, "z", c->z, lambda, n) < 0)
			return err_prefix("field \"pending\": ");
		for (int k = 0; k < lambda; k++) {
			char id[32];
			json_object *e = json_object_array_get_idx(ids, k);
			cma_candidate_id(c, k, id);
			if (!json_object_is_type(e, json_type_string) || strcmp(json_object_get_string(e), id))
				return err_set("field \"pending\": id %d is not \"%s\"", k + 1, id);
		}
		c->pending = 1;
	}

	x = NULL;
	if (rec_get_object(o, "best", REC_NULLABLE, &x) < 0)
		return -1;
	if (x) {
		const char *id;
		if (rec_get_str(x, "id", 0, sizeof c->best_id - 1, &id) < 0 || rec_get_doubles(x, "x", 0, c->best_x, n) < 0 ||
		    rec_get_double(x, "fitness", 0, -INFINITY, INFINITY, &d) < 0)
			return err_prefix("field \"best\": ");
		strcpy(c->best_id, id);
		c->best_fitness = d;
		c->has_best = 1;
	}
	int stopped = rec_get_enum(o, "stop", REC_NULLABLE, stop_reasons, NSTOP, &v);
	if (stopped < 0)
		return -1;
	if (stopped) {
		c->stop = stop_reasons[v];
		if (c->pending)
			return err_set("field \"stop\" is set while a generation is pending");
	}
	return 0;
}

cma *cma_from_json(json_object *o, const char *name)
{
	json_object *x;
	long long n, ver;
	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "format", &x) ||
	    !json_object_is_type(x, json_type_string) || strcmp(json_object_get_string(x), CMA_STATE_FORMAT)) {
		err_set("%s: not a cmaes-step state file (no \"format\": \"%s\")", name, CMA_STATE_FORMAT);
		return NULL;
	}
	if (rec_get_int(o, "version", 0, 1, INT32_MAX, &ver) < 0) {
		err_prefix("%s: ", name);
		return NULL;
	}
	if (ver > CMA_STATE_VERSION) {
		err_set("%s: state format version %lld is newer than this cmaes-step reads (%d); use a newer cmaes-step",
		        name, ver, CMA_STATE_VERSION);
		return NULL;
	}
	if (rec_get_int(o, "dim", 0, 1, CMA_MAX_DIM, &n) < 0) {
		err_prefix("%s: ", name);
		return NULL;
	}
	cma *c = cma_alloc((int)n);
	if (!c || read_state(c, o) < 0) {
		err_prefix("%s: ", name);
		cma_free(c);
		return NULL;
	}
	return c;
}

cma *cma_load(const char *path)
{
	json_object *o = rec_load(path);
	if (!o)
		return NULL;
	cma *c = cma_from_json(o, path);
	json_object_put(o);
	return c;
}

int cma_write(const cma *c, FILE *f)
{
	json_object *o = cma_to_json(c);
	if (!o)
		return err_oom();
	int rc = rec_write(f, o);
	json_object_put(o);
	return rc;
}

int cma_save_tmp(const cma *c, const char *path, char **tmp)
{
	struct stat st;
	char *t = tmp_sibling(path);
	FILE *f;
	*tmp = NULL;
	if (!t)
		return -1;
	if (tmp_register(t, 0) < 0 || !(f = fopen(t, "w"))) {
		err_set("%s:", t);
		free(t);
		return -1;
	}
	/* Keep the mode of the file being replaced. */
	if (stat(path, &st) == 0)
		fchmod(fileno(f), st.st_mode & 07777);
	int rc = cma_write(c, f);
	if (fflush(f) == EOF || fsync(fileno(f)) < 0)
		rc = err_set("%s:", t);
	if (fclose(f) == EOF && rc == 0)
		rc = err_set("%s:", t);
	if (rc < 0) {
		err_prefix("%s: ", path);
		unlink(t);
		tmp_forget(t);
		free(t);
		return -1;
	}
	*tmp = t;
	return 0;
}

int cma_save(const cma *c, const char *path)
{
	char *tmp;
	if (cma_save_tmp(c, path, &tmp) < 0)
		return -1;
	int rc = tmp_commit(tmp, path, 0);
	if (rc < 0) {
		unlink(tmp);
		tmp_forget(tmp);
	}
	free(tmp);
	return rc;
}
