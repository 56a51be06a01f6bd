/* cma.h — the optimizer of the loop: CMA-ES (Hansen, "The CMA Evolution Strategy: A Tutorial",
 * default parameters, active covariance update with negative weights, optional IPOP restarts)
 * and the random-search baseline, as an ask/tell state machine; the maps from the optimizer's
 * vector x to merge weights; the state file (cma_state.c).
 *
 * Everything the next step depends on — mean, sigma, paths, C and its eigen cache, counters,
 * the pending generation's samples, and the random generator's four words — is in struct cma
 * and is written to the state file so that it reads back bit for bit: a run stopped after any
 * tell and resumed gives the same candidates and the same final state as an uninterrupted one.
 *
 * Internally CMA-ES minimizes f. The user's fitness is maximized unless opts.minimize, so
 * f = -fitness (or fitness); a missing or NaN fitness is f = +inf, ranked last. */
#ifndef RECYCLE_CMA_H
#define RECYCLE_CMA_H

#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

#include "rng.h"

#define CMA_STATE_FORMAT  "recycle-cmaes-state"
#define CMA_STATE_VERSION 1
#define CMA_MAX_DIM       2000   /* C and B: 32 MB each; the state file about 100 MB */

enum cma_method { CMA_CMAES, CMA_RANDOM };
enum cma_map { CMA_MAP_SIMPLEX, CMA_MAP_SOFTMAX, CMA_MAP_BOX, CMA_MAP_NONE };

/* What `cmaes-step init` sets. Zero / NaN / negative fields mean "the default". */
typedef struct {
	int dim;
	char **names;          /* dim names, or NULL: weights are then an array */
	enum cma_method method;
	enum cma_map map;
	const double *x0;      /* dim values, or NULL for the map's uniform-weights point */
	double sigma;          /* <= 0: 0.3 × the map's scale (see cma_default_sigma) */
	int popsize;           /* 0: 4 + floor(3 ln n) */
	uint64_t seed;
	long long maxevals;    /* 0: 1000 (n+5)^2 / sqrt(popsize), as pycma */
	double ftarget;        /* in fitness units; NaN: none */
	int minimize;
	double tolfun;         /* < 0: 1e-12 */
	double tolx;           /* < 0: 1e-12 × sigma0 */
	int tolflat;           /* < 0: 20 flat generations in a row; 0: never stop for flatness */
	int restarts;          /* IPOP restarts, each doubling the population */
} cma_opts;

typedef struct cma {
	/* Set by init, fixed for the run. */
	int n;
	char **names;          /* NULL or n names */
	enum cma_method method;
	enum cma_map map;
	int minimize;
	double *x0;            /* (n) */
	double sigma0;
	int lambda0;
	uint64_t seed;
	long long maxevals;
	double ftarget;        /* fitness units, NaN = none */
	double tolfun, tolx;
	int tolflat, restarts;

	/* Strategy parameters of the current restart (derived from n and lambda). */
	int lambda, mu;
	double *w;             /* (lambda) recombination weights, negative for the worse half */
	double mueff, cc, cs, c1, cmu, damps, chin;

	/* Dynamic state. */
	long long gen;         /* generations told so far, over all restarts; the pending one is gen */
	long long gen_local;   /* generations since the last (re)start */
	long long evals;       /* candidates told a fitness that was evaluated: the budget's count */
	long long told;        /* candidates told, evaluated or a surrogate model's value */
	long long eigen_evals; /* told at the last eigendecomposition */
	int restarts_done;
	double sigma;
	double *mean, *ps, *pc; /* (n) */
	double *C;             /* (n,n) row-major, symmetric */
	double *B;             /* (n,n) row-major, column j = eigenvector j of C at eigen_evals */
	double *D;             /* (n) square roots of the eigenvalues */
	double *hist;          /* (nhist) best f of the last generations, oldest first */
	int nhist, flat;       /* flat: flat generations in a row */
	rng rng;               /* xoshiro256** (rng.h) */
	int pending;           /* a generation has been asked and not told */
	double *z;             /* (lambda,n) the pending samples: N(0,I) for CMA-ES, the point for random */

	int has_best;
	char best_id[32];
	double *best_x;        /* (n) */
	double best_fitness;   /* fitness units */
	const char *stop;      /* NULL while running, else a static reason string */
} cma;

/* Options with every field at its default for a run of dim n. */
void cma_opts_init(cma_opts *o);
/* A new run (generation 0, nothing pending). NULL and err_get() on a bad option. */
cma *cma_new(const cma_opts *o);
void cma_free(cma *c);

/* Sample the next generation unless one is pending. 1 when stopped (nothing sampled), else 0. */
int cma_ask(cma *c);
/* The genotype of pending candidate k (n values) and its record {"id","gen","x","weights"}. */
void cma_candidate_x(const cma *c, int k, double *x);
json_object *cma_candidate(const cma *c, int k);
void cma_candidate_id(const cma *c, int k, char buf[32]);
/* Tell the fitness of each pending candidate (fitness units, NaN = missing): updates the
 * distribution, evaluates the stop criteria, restarts when allowed. modeled (NULL: none) marks
 * the candidates whose fitness is a surrogate model's value (lq-surr): ranked the same, but not
 * counted as evaluations (the budget) and never the best. -1 (err) when nothing is pending —
 * the state is then unchanged. */
int cma_tell(cma *c, const double *fitness, const unsigned char *modeled);
/* Tell from scored records in any order (name: for messages; lines: each record's line number
 * or NULL). Every id of the pending generation must appear exactly once; a record of another
 * generation, an unknown id, a duplicate or an "x" of the wrong length is an error and leaves the
 * state unchanged. Records without "fitness" get it set from the fitness rule. A record with
 * "surrogate": true holds a model's value (cma_tell's modeled). */
int cma_tell_records(cma *c, json_object **recs, const long *lines, int nrec, const char *name);
/* The fitness rule: "fitness" if present, else the mean of the numbers in "scores"; NaN when
 * missing or null. -1 (err) when the fields have the wrong type. */
int cma_record_fitness(json_object *rec, double *v);

/* A new evaluation budget for a run: at least the evaluations done. A run that stopped only because
 * its budget ran out goes on (the state is otherwise unchanged); -1 (err) when maxevals is too small. */
int cma_extend(cma *c, long long maxevals);

/* {"method","gen","evals","modeled","lambda","restarts","sigma","mean":{x,weights} (CMA-ES only),
 * "pending","best":{id,x,weights,fitness}|null,"stop"}; modeled: candidates told a model's value */
json_object *cma_status(const cma *c);

/* The state as JSON, and back. cma_from_json checks every field (name is for messages). */
json_object *cma_to_json(const cma *c);
cma *cma_from_json(json_object *o, const char *name);
cma *cma_load(const char *path);
/* Write the state to a registered temporary sibling of path (*tmp, malloc'd); then
 * tmp_commit(*tmp, path, 0) renames it into place. cma_save does both. */
int cma_save_tmp(const cma *c, const char *path, char **tmp);
int cma_save(const cma *c, const char *path);
int cma_write(const cma *c, FILE *f);

/* Maps: weights w (n) from the genotype x (n). simplex: |x| / sum|x|; softmax; box: each x_i
 * into [0,1] by the lin-quad reflection transform, then normalized; none: x itself. An all-zero
 * simplex or box vector gives uniform weights. */
void cma_map_weights(enum cma_map m, int n, const double *x, double *w);
double cma_box_transform(double x);  /* into [0,1]: identity on [0.05, 0.9], quadratic to the bounds */
int cma_map_parse(const char *s);    /* -1 when unknown */
const char *cma_map_name(enum cma_map m);
/* The map's uniform-weights start (simplex 1, softmax 0, box 0.5, none 1/n) and default sigma. */
double cma_uniform_x0(enum cma_map m, int n);
double cma_default_sigma(enum cma_map m, int n);
int cma_default_popsize(int n);

/* Eigendecomposition of the symmetric (n,n) C through LAPACK dsyev: C = B diag(ev) B^T with ev
 * ascending, B row-major with eigenvectors in columns. -1 (err) when LAPACK fails. */
int cma_eigen(int n, const double *C, double *B, double *ev);

#endif
