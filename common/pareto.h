/* pareto.h — Pareto analysis of multi-objective score points (prefix pf_): non-dominated fronts
 * and ranks, crowding distance, exact hypervolume and exclusive contributions, the knee and the
 * scalarized best point, and the data set behind the pareto program (score records or
 * whitespace matrices read into points), with its text table and SVG plot.
 *
 * Points are n×m row-major doubles with every objective MINIMIZED; a data set stores maximized
 * objectives negated. Point a dominates b when a ≤ b in every objective and a < b in at least
 * one, so equal points never dominate each other. Files: pf_sort.c (ranks), pf_hv.c
 * (hypervolume), pf_pick.c (knee, best), pf_set.c (data set), pf_svg.c (plot), pf_tree.c
 * (private treap). */
#ifndef RECYCLE_PARETO_H
#define RECYCLE_PARETO_H

#include <stddef.h>
#include <stdio.h>
#include <json-c/json.h>

/* ---- fronts (pf_sort.c) ---- */

/* rank[i] = 1 + the longest chain of points dominating point i (1 = non-dominated). m = 2 is a
 * sort and a sweep with binary search, O(n log n); m = 3 a sweep keeping one staircase (a treap)
 * per rank, O(n log² n); m ≥ 4 a sweep testing the earlier members of each rank, O(n² m) at
 * worst. Equal points get equal ranks. 0, or -1 on OOM. */
int pf_rank(size_t n, int m, const double *f, int *rank);
/* nd[i] = 1 when point i is non-dominated; cheaper than pf_rank. 0 or -1. */
int pf_front(size_t n, int m, const double *f, unsigned char *nd);
/* dup[i] = 1 when point i equals an earlier point in every objective. 0 or -1. */
int pf_dups(size_t n, int m, const double *f, unsigned char *dup);
/* NSGA-II crowding distance within each rank: per objective the points of a rank sorted by value
 * (ties by index); the two ends get INFINITY, the others add (next − previous) / (max − min)
 * (objectives with max = min add nothing). A rank of one or two points is all INFINITY. */
int pf_crowding(size_t n, int m, const double *f, const int *rank, double *cd);

/* ---- hypervolume (pf_hv.c) ---- */

#define PF_HV_MAXM 6

/* The volume dominated by the points and bounded by ref (minimization: the region
 * {y : some point ≤ y < ref}); points not strictly below ref in every objective add nothing.
 * Exact: a sweep for m = 2, a sweep over a treap staircase for m = 3 (O(n log n)), and for
 * m = 4…6 the WFG recursion (exclusive volumes of points sorted on the last objective, which
 * drops one objective per level, down to the 3-D sweep). -1 when m is outside 1..PF_HV_MAXM. */
int pf_hv(size_t n, int m, const double *f, const double *ref, double *hv);
/* c[i] = the volume only point i dominates: hv(all) − hv(all but i). Duplicates get 0. */
int pf_hv_contrib(size_t n, int m, const double *f, const double *ref, double *c);
/* The default reference point: per objective the worst value plus 0.1 × its range (0.1 × |worst|
 * when the range is 0, and 0.1 when that is 0 too). n ≥ 1. */
void pf_ref_default(size_t n, int m, const double *f, double *ref);

/* ---- choosing one point (pf_pick.c) ---- */

/* The knee, after pymoo's high trade-off points: objectives min-max normalized over the n given
 * points (u = (f − min)/(max − min), 0 when max = min); for point i and every other point j,
 * sacrifice s = Σ max(0, u_j − u_i) and gain g = Σ max(0, u_i − u_j); the trade-off
 * μ_i = min over j with g > 0 of s / g (+∞ when no j has a gain). The knee is the point with the
 * largest μ, the first one on ties: moving from it to any other point gives up the most per unit
 * gained. O(n² m). mu (n values) may be NULL. *knee = its index; n ≥ 1. 0, or -1 on OOM. */
int pf_knee(size_t n, int m, const double *f, double *mu, size_t *knee);

enum pf_scal_kind { PF_MEAN, PF_MIN, PF_WEIGHTS };
struct pf_scal {
	enum pf_scal_kind kind;
	int nw;
	double *w;    /* PF_WEIGHTS: nw weights */
};
/* "mean", "min" or "W1,W2,…": 0, or -1 (err_set). */
int pf_scal_parse(struct pf_scal *s, const char *text);
void pf_scal_free(struct pf_scal *s);
/* The score of a (minimized) point, higher is better, on goodness g_k = −f_k (the objective's
 * own value when maximized, its negation when minimized): mean Σ g_k / m, min min_k g_k, or the
 * weighted sum Σ w_k g_k (nw must equal m). */
double pf_scal_value(const struct pf_scal *s, int m, const double *p);

/* ---- the data set (pf_set.c) ---- */

struct pf_read_opts {
	const char *objectives;   /* "a,b" dotted paths (records) or 1-based columns (matrix); NULL = default */
	const char *min, *max;    /* objectives to minimize / maximize, comma lists; NULL = none */
	int skip_bad;             /* drop bad records and count them instead of failing */
};

/* Records (NDJSON) default to every key of the first record's "scores", maximized; matrices (one
 * point a line, numbers separated by blanks, '#' comments) to every column, minimized, as
 * moocore's tools. The format is told by the first non-blank character ('{' = records). */
struct pf_set {
	struct pf_read_opts opt;
	int m;               /* objectives; 0 until the first point fixes them */
	size_t n, cap;       /* points */
	double *f;           /* (n, m) minimized values: maximized objectives negated */
	const char **text;   /* (n) each point's line as read (a record's JSON text, a matrix row), */
	size_t *tlen;        /*     trimmed, not NUL-terminated: it points into bufs */
	char **label;        /* (n) a record's "label" (baselines), or NULL */
	size_t *seq;         /* (n) 1-based position among the points read (kept by pf_set_unique) */
	char **path;         /* (m) dotted path, or column number */
	char **name;         /* (m) display name: the scores key, the path, or "fK" */
	int *maximize;       /* (m) */
	int from_scores;     /* objectives are the keys of "scores" (looked up as keys, not paths) */
	int kind;            /* 0 nothing read yet, 1 records, 2 matrix */
	int ncol;            /* matrix: columns in every line */
	size_t nbad;         /* records dropped by skip_bad */
	char *bad_first;     /* the first dropped record's message */
	char **bufs;         /* the inputs, read whole: records are kept as text, not as json-c */
	int nbufs;           /* objects (a tenth of the memory, and no time spent freeing them) */
};

void pf_set_init(struct pf_set *s, const struct pf_read_opts *o);
void pf_set_free(struct pf_set *s);
/* Append the points of a file ("-" = standard input). 0; -1 bad input (err_get(): "file:LINE:
 * why"); -2 the options do not fit the data (an unknown --min name, a column out of range). */
int pf_set_read(struct pf_set *s, const char *path);
/* Keep only the first of equal points (input order). -1 on OOM. */
int pf_set_unique(struct pf_set *s);
/* Objective j of point i as the user sees it (maximized objectives not negated). */
double pf_set_value(const struct pf_set *s, size_t i, int j);
/* The index of objective "name" (its path, display name, or column number), or -1. */
int pf_set_objective(const struct pf_set *s, const char *name);

/* A field (records) or an extra column (matrix) appended to a point on output. */
struct pf_extra {
	const char *key;
	double v;           /* non-finite: JSON null, "inf"/"nan" in a matrix */
	int is_int;
};
/* Point i as read (byte for byte), with extra columns (matrix) or fields (records: appended to
 * the text; a record that may already hold such a field is parsed again and the field replaced):
 * one line on f. Numbers as rec.h writes them. -1 on a write error. */
int pf_set_write(FILE *f, const struct pf_set *s, size_t i, const struct pf_extra *x, int nx);
/* The points with sel[i] set (all when sel is NULL), in input order, as an aligned table: "#"
 * (seq: the 1-based position among the points read), "id" and "label" when some point has them, the objectives. */
int pf_table_write(FILE *f, const struct pf_set *s, const unsigned char *sel);

/* ---- the plot (pf_svg.c) ---- */

/* An SVG plot of the set (drawn with svg.h): with 2 objectives every point, the non-dominated
 * ones (nd) joined by the step line bounding the dominated region, and axes with ticks and
 * objective names; with 3 or more a scatter-plot matrix. Labeled points (baselines, the answer)
 * get a marker of their own each (shape and color), named in a legend beside the plot and, where
 * there is room, beside the point; one that falls on an earlier labeled point is drawn as a ring
 * around it. pf_svg_save writes to a temporary sibling renamed onto path ("-": standard output).
 * title may be NULL. 0, or -1 (err_set). */
int pf_svg_write(FILE *f, const struct pf_set *s, const unsigned char *nd, const char *title);
int pf_svg_save(const char *path, const struct pf_set *s, const unsigned char *nd, const char *title);

#endif
