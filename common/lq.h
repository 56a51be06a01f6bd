/* lq.h — the surrogate of lq-CMA-ES (Hansen, "A Global Surrogate Assisted CMA-ES", GECCO 2019;
 * pycma's fmin_lq_surr), for tools/lq-surr.c: a model of the fitness over the merge weights, and
 * the rule that decides, one generation at a time, which candidates are truly evaluated and what
 * fitness the others are told.
 *
 * The model: linear in the weights, then with their squares (diagonal quadratic) once the archive
 * holds 1.1 / 0.75 times its 2n + 1 coefficients, then full quadratic at 1.1 / 0.75 times
 * 1 + n (n + 3) / 2. It is fitted by least squares (minimum norm, LAPACK dgelss) to the best
 * three quarters of the archive (never fewer than its coefficients + 2), each row weighted by its
 * rank, 20 for the best down to 1. The archive keeps the latest max(2 (full's coefficients),
 * lambda) points.
 *
 * A generation (lq_plan): evaluate first int(1 + max(0.02 lambda, 4 - archive size)) candidates,
 * the best by the model first; add them to the model; while Kendall's tau between the true values
 * and the model's on the latest max(15, min(1.2 k, 0.75 lambda)) points is below the threshold
 * (0.85), evaluate ceil(k / 2) more (k the number evaluated), best by the updated model first.
 * The candidates left are told the model's value, shifted by the mean of (true − model) over the
 * generation's evaluated ones. Unlike pycma, the evaluated candidates keep their true values, and
 * the model's optimum is not injected: the CMA-ES is cmaes-step's, unchanged.
 *
 * Everything is deterministic: the same archive, candidates and records give the same plan, so a
 * generation interrupted between evaluations replays to the same point. Values are maximized
 * (negate them to minimize). */
#ifndef RECYCLE_LQ_H
#define RECYCLE_LQ_H

#define LQ_TAU_DEFAULT 0.85

enum lq_type { LQ_LINEAR, LQ_DIAGONAL, LQ_FULL };

typedef struct lq lq;

/* An empty model over n weights whose archive keeps at least keep points (lambda). NULL (err). */
lq *lq_new(int n, int keep);
void lq_free(lq *m);
/* Add an evaluated point (x: n weights, y finite, higher is better); the oldest point goes when
 * the archive is full. -1 (err) for a non-finite y. */
int lq_add(lq *m, const double *x, double y);
int lq_size(const lq *m);
enum lq_type lq_model_type(const lq *m);
const char *lq_type_name(enum lq_type t);   /* "linear", "diagonal", "full" */
/* The model's value at x (fitted on first use after a change); NaN with an empty archive or when
 * the fit failed (err). */
double lq_eval(lq *m, const double *x);
/* Kendall's tau-b between the true and the model's values of the latest min(count, size) points;
 * 0 with fewer than 3 points or when either side is constant. */
double lq_kendall(lq *m, int count);

/* One generation's decision, replayed from the start of the generation. x: (lambda, n) the
 * candidates' weights; y: (lambda) their true values where have[k] is set (NaN: a failed
 * evaluation, ranked last and not added to the model; a generation is not decided before one of
 * its evaluations gave a value, unless all failed). The model m is the archive before this
 * generation; the evaluated candidates are added to it as the replay goes.
 *
 * Returns 0 when more evaluations are needed: next[k] set for each candidate to evaluate now
 * (those of the current step that have no value yet), *nnext their number. Returns 1 when the
 * generation is decided: told[k] is every candidate's value (the true one when evaluated[k], else
 * the model's, shifted) and *tau the last tau computed (NaN when every candidate was evaluated
 * before a tau was needed). batch (>= 1): every step evaluates at least that many (or all that
 * are left), for evaluations that run batch at once; 1 is lq-CMA-ES's rule. -1 (err) on a failed
 * fit. */
struct lq_plan {
	unsigned char *next, *evaluated;   /* (lambda) each */
	int nnext, nevaluated;
	double *told;                      /* (lambda) */
	double tau;
};
int lq_plan(lq *m, int lambda, const double *x, const double *y, const unsigned char *have,
            double tau_threshold, int batch, struct lq_plan *p);

#endif
