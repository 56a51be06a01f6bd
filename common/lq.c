/* lq.c — see lq.h. Names follow pycma's fitness_models.py where the rule is its: df (the model's
 * coefficients), truncation ratio 0.75, min relative size 1.1, max relative size 2, max weight 20. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "lq.h"

/* LAPACK (bundled with OpenBLAS): minimum-norm least squares through the SVD. */
extern void dgelss_(const int *m, const int *n, const int *nrhs, double *a, const int *lda,
                    double *b, const int *ldb, double *s, const double *rcond, int *rank,
                    double *work, const int *lwork, int *info);

#define TRUNCATION   0.75
#define MIN_RELATIVE 1.1
#define MAX_RELATIVE 2
#define MAX_WEIGHT   20.0
#define RCOND        1e-10   /* singular values below this fraction of the largest are zero */

struct lq {
	int n, cap, size;
	double *x;        /* (cap, n) oldest first */
	double *y;        /* (cap) */
	enum lq_type type;
	int fitted;       /* coef is of the current archive and type */
	int fit_failed;
	double *coef;     /* (df of full) */
	double *phi;      /* (df of full) scratch */
};

static int df_of(int n, enum lq_type t)
{
	switch (t) {
	case LQ_LINEAR: return 1 + n;
	case LQ_DIAGONAL: return 1 + 2 * n;
	default: return 1 + n * (n + 3) / 2;
	}
}

const char *lq_type_name(enum lq_type t)
{
	return t == LQ_LINEAR ? "linear" : t == LQ_DIAGONAL ? "diagonal" : "full";
}

lq *lq_new(int n, int keep)
{
	if (n < 1 || keep < 0)
		return err_set("lq: bad dimension %d", n), NULL;
	lq *m = calloc(1, sizeof *m);
	if (!m)
		return err_oom(), NULL;
	int dff = df_of(n, LQ_FULL);
	m->n = n;
	m->cap = MAX_RELATIVE * dff > keep ? MAX_RELATIVE * dff : keep;
	m->x = malloc((size_t)m->cap * n * sizeof *m->x);
	m->y = malloc((size_t)m->cap * sizeof *m->y);
	m->coef = calloc(dff, sizeof *m->coef);
	m->phi = malloc(dff * sizeof *m->phi);
	if (!m->x || !m->y || !m->coef || !m->phi) {
		lq_free(m);
		return err_oom(), NULL;
	}
	return m;
}

void lq_free(lq *m)
{
	if (!m)
		return;
	free(m->x);
	free(m->y);
	free(m->coef);
	free(m->phi);
	free(m);
}

int lq_size(const lq *m) { return m->size; }
enum lq_type lq_model_type(const lq *m) { return m->type; }

int lq_add(lq *m, const double *x, double y)
{
	if (!isfinite(y))
		return err_set("lq: a model point needs a finite value");
	for (int i = 0; i < m->n; i++)
		if (!isfinite(x[i]))
			return err_set("lq: a model point needs finite weights");
	if (m->size == m->cap) {   /* the oldest point goes */
		memmove(m->x, m->x + m->n, (size_t)(m->cap - 1) * m->n * sizeof *m->x);
		memmove(m->y, m->y + 1, (size_t)(m->cap - 1) * sizeof *m->y);
		m->size--;
	}
	memcpy(m->x + (size_t)m->size * m->n, x, m->n * sizeof *x);
	m->y[m->size++] = y;
	/* A richer model once there are enough points for it; never back. */
	for (enum lq_type t = m->type + 1; t <= LQ_FULL; t++)
		if (TRUNCATION * m->size >= MIN_RELATIVE * df_of(m->n, t))
			m->type = t;
	m->fitted = 0;
	return 0;
}

/* The features of x under the current type: 1, x_i, then x_i^2, then x_i x_j (i < j). */
static void features(const lq *m, const double *x, double *phi)
{
	int n = m->n, p = 0;
	phi[p++] = 1;
	for (int i = 0; i < n; i++)
		phi[p++] = x[i];
	if (m->type == LQ_LINEAR)
		return;
	for (int i = 0; i < n; i++)
		phi[p++] = x[i] * x[i];
	if (m->type == LQ_DIAGONAL)
		return;
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			phi[p++] = x[i] * x[j];
}

/* Indices of the archive by value, best first; ties: the newer first. */
static const double *sort_y;
static int by_value(const void *a, const void *b)
{
	int i = *(const int *)a, j = *(const int *)b;
	if (sort_y[i] != sort_y[j])
		return sort_y[i] > sort_y[j] ? -1 : 1;
	return j - i;
}

static int fit(lq *m)
{
	int n = m->n, df = df_of(n, m->type), size = m->size;
	int used = (int)fmax(df + 2, floor(TRUNCATION * (size + 1)));
	if (used > size)
		used = size;
	int rows = used, ldb = rows > df ? rows : df, one = 1, rank, info = 0, lwork = -1;
	int *idx = malloc(size * sizeof *idx);
	double *a = malloc((size_t)rows * df * sizeof *a), *b = calloc(ldb, sizeof *b);
	double *s = malloc(((rows < df ? rows : df) + 1) * sizeof *s), q = 0, rcond = RCOND;
	double *work = NULL;
	int rc = -1;
	if (!idx || !a || !b || !s) {
		err_oom();
		goto out;
	}
	for (int i = 0; i < size; i++)
		idx[i] = i;
	sort_y = m->y;
	qsort(idx, size, sizeof *idx, by_value);
	for (int r = 0; r < rows; r++) {
		/* rank weights: 20 for the best down to 1 for the worst used */
		double w = rows > 1 ? MAX_WEIGHT - (MAX_WEIGHT - 1) * r / (rows - 1) : MAX_WEIGHT;
		features(m, m->x + (size_t)idx[r] * n, m->phi);
		for (int j = 0; j < df; j++)
			a[r + (size_t)j * rows] = w * m->phi[j];
		b[r] = w * m->y[idx[r]];
	}
	dgelss_(&rows, &df, &one, a, &rows, b, &ldb, s, &rcond, &rank, &q, &lwork, &info);
	lwork = info == 0 && q >= 1 ? (int)q : 5 * (rows + df) + 64;
	if (!(work = malloc((size_t)lwork * sizeof *work))) {
		err_oom();
		goto out;
	}
	dgelss_(&rows, &df, &one, a, &rows, b, &ldb, s, &rcond, &rank, work, &lwork, &info);
	if (info != 0) {
		err_set("lq: the %s model's least-squares fit failed (dgelss info %d)", lq_type_name(m->type), info);
		goto out;
	}
	for (int j = 0; j < df; j++)
		if (!isfinite(b[j])) {
			err_set("lq: the %s model's fit gave a non-finite coefficient", lq_type_name(m->type));
			goto out;
		}
	memcpy(m->coef, b, df * sizeof *b);
	rc = 0;
out:
	free(idx);
	free(a);
	free(b);
	free(s);
	free(work);
	return rc;
}

double lq_eval(lq *m, const double *x)
{
	if (m->size == 0)
		return NAN;
	if (!m->fitted) {
		m->fit_failed = fit(m) < 0;
		m->fitted = 1;
	}
	if (m->fit_failed)
		return NAN;
	int df = df_of(m->n, m->type);
	features(m, x, m->phi);
	double v = 0;
	for (int j = 0; j < df; j++)
		v += m->coef[j] * m->phi[j];
	return v;
}

double lq_kendall(lq *m, int count)
{
	int c = count < m->size ? count : m->size;
	if (c < 3)
		return 0;
	double *f = malloc(c * sizeof *f);
	if (!f)
		return 0;
	const double *y = m->y + (m->size - c);
	for (int i = 0; i < c; i++)
		f[i] = lq_eval(m, m->x + (size_t)(m->size - c + i) * m->n);
	/* tau-b = (concordant - discordant) / sqrt((pairs - ties in y) (pairs - ties in f)) */
	double con = 0, dis = 0, ty = 0, tf = 0, pairs = 0;
	for (int i = 0; i < c; i++)
		for (int j = i + 1; j < c; j++) {
			double dy = y[i] - y[j], df = f[i] - f[j];
			pairs++;
			ty += dy == 0;
			tf += df == 0;
			if (dy * df > 0)
				con++;
			else if (dy * df < 0)
				dis++;
		}
	free(f);
	double den = sqrt((pairs - ty) * (pairs - tf));
	return den > 0 && isfinite(den) ? (con - dis) / den : 0;
}

/* The candidates not yet evaluated, best by the model first (in index order while the model has
 * at most one point, as pycma). */
static void model_order(lq *m, int lambda, const double *x, const unsigned char *done, int *order, int *count,
                        double *val)
{
	int c = 0;
	for (int k = 0; k < lambda; k++)
		if (!done[k]) {
			order[c++] = k;
			val[k] = m->size > 1 ? lq_eval(m, x + (size_t)k * m->n) : 0;
			if (isnan(val[k]))
				val[k] = -INFINITY;
		}
	/* insertion sort: stable, and lambda is small */
	for (int i = 1; i < c; i++) {
		int k = order[i], j = i;
		while (j > 0 && val[order[j - 1]] < val[k]) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = k;
	}
	*count = c;
}

int lq_plan(lq *m, int lambda, const double *x, const double *y, const unsigned char *have,
            double tau_threshold, int batch, struct lq_plan *p)
{
	if (batch < 1)
		return err_set("lq: a batch of %d evaluations", batch);
	int n = m->n, rc = -1, c;
	int *order = malloc(lambda * sizeof *order);
	double *val = malloc(lambda * sizeof *val);
	if (!order || !val) {
		err_oom();
		goto out;
	}
	memset(p->next, 0, lambda);
	memset(p->evaluated, 0, lambda);
	p->nnext = p->nevaluated = 0;
	p->tau = NAN;
	int k = (int)(1 + fmax(0.02 * lambda, 4.0 - m->size));
	for (;;) {
		int want = k > p->nevaluated + batch ? k : p->nevaluated + batch;
		if (want > lambda)
			want = lambda;
		model_order(m, lambda, x, p->evaluated, order, &c, val);
		int step = want - p->nevaluated;
		for (int i = 0; i < step && i < c; i++)
			if (!have[order[i]]) {
				p->next[order[i]] = 1;
				p->nnext++;
			}
		if (p->nnext)
			break;   /* rc 0: evaluate these first */
		for (int i = 0; i < step && i < c; i++) {
			int j = order[i];
			p->evaluated[j] = 1;
			p->nevaluated++;
			if (isfinite(y[j]) && lq_add(m, x + (size_t)j * n, y[j]) < 0)
				goto out;
		}
		if (p->nevaluated == lambda)
			break;
		/* A generation is not decided on failed evaluations alone: while none of its evaluations
		 * gave a value, the next step goes on (every candidate failing is then a common cause). */
		int ok = 0;
		for (int j = 0; j < lambda && !ok; j++)
			ok = p->evaluated[j] && isfinite(y[j]);
		if (!ok) {
			if (k < want)
				k = want;
			k += (k + 1) / 2;
			continue;
		}
		int ntau = (int)fmax(15, fmin(1.2 * p->nevaluated, 0.75 * lambda));
		p->tau = lq_kendall(m, ntau);
		if (m->fit_failed && m->fitted)
			goto out;
		if (p->tau >= tau_threshold)
			break;
		if (k < want)
			k = want;
		k += (k + 1) / 2;
	}
	if (p->nnext) {
		rc = 0;
		goto out;
	}
	/* Decided: the true values of the evaluated, the model's (shifted to agree with the evaluated
	 * on average) of the others. */
	double off = 0;
	int noff = 0;
	for (int j = 0; j < lambda; j++)
		if (p->evaluated[j] && isfinite(y[j])) {
			double v = lq_eval(m, x + (size_t)j * n);
			if (isfinite(v)) {
				off += y[j] - v;
				noff++;
			}
		}
	if (noff)
		off /= noff;
	for (int j = 0; j < lambda; j++) {
		p->told[j] = p->evaluated[j] ? y[j] : lq_eval(m, x + (size_t)j * n) + off;
		if (!p->evaluated[j] && m->fit_failed)
			goto out;
	}
	rc = 1;
out:
	free(order);
	free(val);
	return rc;
}
