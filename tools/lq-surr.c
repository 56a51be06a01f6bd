/* lq-surr — the surrogate layer of lq-CMA-ES between `cmaes-step ask` and `cmaes-step tell`:
 * which of a generation's candidates to evaluate, and a model's fitness for the others. The model
 * and the rule live in common/lq; this file reads the records and prints the answer. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cma.h"
#include "err.h"
#include "lq.h"
#include "rec.h"

static const char usage_text[] =
	"Usage: lq-surr next [OPTION]... CANDIDATES [SCORED]... > IDS\n"
	"       lq-surr fill [OPTION]... CANDIDATES [SCORED]... > TOLD.ndjson\n"
	"The surrogate of lq-CMA-ES (Hansen 2019) for one generation of cmaes-step: a linear, then\n"
	"quadratic model of the fitness over the merge weights, fitted to the evaluated records of the\n"
	"earlier generations (--archive) and to this generation's as they come. CANDIDATES is the\n"
	"generation (cmaes-step ask's output); SCORED are files of its scored records so far.\n"
	"\n"
	"  next   print the ids of the candidates to evaluate now, one a line (the best by the model\n"
	"         first); nothing once the generation is decided: the model then ranks the\n"
	"         latest points as the true values do (Kendall tau >= --tau), or all are evaluated\n"
	"  fill   print every candidate's record for cmaes-step tell: a scored record as it is, any\n"
	"         other the candidate with the model's \"fitness\" and \"surrogate\": true (tell ranks\n"
	"         it and does not count it as an evaluation); fails while next would print an id\n"
	"\n"
	"  -a, --archive FILE  evaluated records of the earlier generations, oldest first (repeatable;\n"
	"                      \"-\": standard input); records without a finite fitness are skipped\n"
	"      --tau T         Kendall tau the model must reach on the latest points (default 0.85;\n"
	"                      above 1: evaluate every candidate)\n"
	"  -b, --batch N       every step evaluates at least N candidates (or all that are left), for\n"
	"                      evaluations that run N at once (default 1: lq-CMA-ES's rule)\n"
	"      --minimize      lower fitness is better (default: higher, as cmaes-step)\n"
	"  -q, --quiet         fill: no summary line on standard error\n"
	"  -h, --help          this help\n"
	"      --version       print the version\n"
	"Fitness of a record: \"fitness\" if present, else the mean of \"scores\" (cmaes-step's rule).\n"
	"Weights: \"weights\", an object by name (a missing name is 0) or an array. The same files give\n"
	"the same answer, so a generation interrupted between evaluations replays to where it was.\n";

enum { O_TAU = 256, O_MINIMIZE, O_VERSION };
static const struct option longopts[] = {
	{ "archive", required_argument, NULL, 'a' },
	{ "batch", required_argument, NULL, 'b' },
	{ "tau", required_argument, NULL, O_TAU },
	{ "minimize", no_argument, NULL, O_MINIMIZE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* The weight names: the first candidate's weights object's keys (NULL: weights are arrays). */
static char **names;
static int dim;

/* The record's weights into w (dim values); dies naming where on a bad record. */
static void weights_of(json_object *r, const char *where, double *w)
{
	json_object *o;
	if (!rec_lookup(r, "weights", &o) || !o)
		die("%s: record has no \"weights\"", where);
	if (json_object_is_type(o, json_type_array)) {
		if (names && (int)json_object_array_length(o) != dim)
			die("%s: \"weights\" has %zu elements for %d names", where, json_object_array_length(o), dim);
		if (rec_doubles(o, "weights", 0, w, dim) < 0)
			die("%s: %s", where, err_get());
		return;
	}
	if (!json_object_is_type(o, json_type_object) || !names)
		die("%s: \"weights\" is not %s", where, names ? "an object or an array" : "an array (as the candidates')");
	int found = 0;
	for (int i = 0; i < dim; i++) {
		json_object *v;
		w[i] = 0;
		if (json_object_object_get_ex(o, names[i], &v)) {
			if (rec_as_double(v, &w[i]) < 0 || !isfinite(w[i]))
				die("%s: weight \"%s\" is not a finite number", where, names[i]);
			found++;
		}
	}
	if (found != json_object_object_length(o))
		die("%s: \"weights\" names a checkpoint that is not one of the candidates'", where);
}

/* The record's fitness, higher is better; NaN when missing or null. */
static double value_of(json_object *r, const char *where, int minimize)
{
	double v;
	if (cma_record_fitness(r, &v) < 0)
		die("%s: %s", where, err_get());
	return minimize ? -v : v;
}

struct recs {
	json_object **r;
	char **where;
	int n, cap;
};

static void read_all(struct recs *s, const char *path)
{
	rec_reader *rd = rec_open(path);
	json_object *o;
	int rc;
	if (!rd)
		die_err();
	while ((rc = rec_next(rd, &o)) == 1) {
		if (s->n == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 64;
			s->r = xrealloc(s->r, s->cap * sizeof *s->r);
			s->where = xrealloc(s->where, s->cap * sizeof *s->where);
		}
		char buf[4200];
		snprintf(buf, sizeof buf, "%s:%ld", rec_name(rd), rec_lineno(rd));
		s->where[s->n] = xstrdup(buf);
		s->r[s->n++] = o;
	}
	if (rc < 0)
		die_err();
	rec_close(rd);
}

static const char *id_of(json_object *r, const char *where)
{
	json_object *o;
	if (!rec_lookup(r, "id", &o) || !o || !json_object_is_type(o, json_type_string))
		die("%s: record has no string \"id\"", where);
	return json_object_get_string(o);
}

int main(int argc, char **argv)
{
	struct recs arch = { 0 }, cand = { 0 }, scored = { 0 };
	double tau = LQ_TAU_DEFAULT;
	int minimize = 0, quiet = 0, ch, narch = 0, batch = 1;
	const char **archives = NULL;
	prog_init(argv[0]);
	/* Options anywhere (GNU getopt permutes): the first operand is the command. */
	while ((ch = getopt_long(argc, argv, "a:b:qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			archives = xrealloc(archives, (narch + 1) * sizeof *archives);
			archives[narch++] = optarg;
			break;
		case O_TAU: tau = arg_double("--tau", optarg, -1, INFINITY, 0); break;
		case 'b': batch = (int)arg_int("--batch", optarg, 1, 1000000); break;
		case O_MINIMIZE: minimize = 1; break;
		case 'q': quiet = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case O_VERSION: print_version(); return 0;
		default: usage_err("unknown option");
		}
	}
	if (optind >= argc)
		usage_err("missing command: next or fill");
	const char *cmd = argv[optind++];
	if (strcmp(cmd, "next") && strcmp(cmd, "fill"))
		usage_err("unknown command '%s' (next or fill)", cmd);
	if (optind >= argc)
		usage_err("%s needs a CANDIDATES file", cmd);
	int stdin_uses = 0;
	for (int i = 0; i < narch; i++)
		stdin_uses += !strcmp(archives[i], "-");
	for (int i = optind; i < argc; i++)
		stdin_uses += !strcmp(argv[i], "-");
	if (stdin_uses > 1)
		usage_err("standard input (-) can be read once");

	read_all(&cand, argv[optind]);
	int lambda = cand.n;
	if (lambda == 0)
		die("%s: no candidate", argv[optind]);
	/* The weights' names and dimension from the first candidate. */
	json_object *w0;
	if (!rec_lookup(cand.r[0], "weights", &w0) || !w0)
		die("%s: record has no \"weights\"", cand.where[0]);
	if (json_object_is_type(w0, json_type_object)) {
		dim = json_object_object_length(w0);
		names = xcalloc(dim > 0 ? dim : 1, sizeof *names);
		int i = 0;
		json_object_object_foreach(w0, key, val) {
			(void)val;
			names[i++] = key;
		}
	} else if (json_object_is_type(w0, json_type_array)) {
		dim = (int)json_object_array_length(w0);
	} else {
		die("%s: \"weights\" is not an object or an array", cand.where[0]);
	}
	if (dim < 1)
		die("%s: no weights", cand.where[0]);
	for (int i = 0; i < narch; i++)
		read_all(&arch, archives[i]);
	for (int i = optind + 1; i < argc; i++)
		read_all(&scored, argv[i]);

	lq *m = lq_new(dim, lambda);
	if (!m)
		die_err();
	double *w = xmalloc(dim * sizeof *w);
	for (int r = 0; r < arch.n; r++) {
		double v = value_of(arch.r[r], arch.where[r], minimize);
		if (!isfinite(v))
			continue;
		weights_of(arch.r[r], arch.where[r], w);
		if (lq_add(m, w, v) < 0)
			die("%s: %s", arch.where[r], err_get());
	}

	double *x = xmalloc((size_t)lambda * dim * sizeof *x), *y = xmalloc(lambda * sizeof *y);
	unsigned char *have = xcalloc(lambda, 1);
	int *rec_of = xmalloc(lambda * sizeof *rec_of);
	const char **ids = xmalloc(lambda * sizeof *ids);
	for (int k = 0; k < lambda; k++) {
		ids[k] = id_of(cand.r[k], cand.where[k]);
		for (int j = 0; j < k; j++)
			if (!strcmp(ids[k], ids[j]))
				die("%s: duplicate candidate id \"%s\"", cand.where[k], ids[k]);
		weights_of(cand.r[k], cand.where[k], x + (size_t)k * dim);
		y[k] = NAN;
		rec_of[k] = -1;
	}
	for (int r = 0; r < scored.n; r++) {
		const char *id = id_of(scored.r[r], scored.where[r]);
		int k = 0;
		while (k < lambda && strcmp(id, ids[k]))
			k++;
		if (k == lambda)
			die("%s: id \"%s\" is not one of the candidates of %s", scored.where[r], id, argv[optind]);
		if (have[k])
			die("%s: a second record of candidate \"%s\"", scored.where[r], id);
		have[k] = 1;
		rec_of[k] = r;
		y[k] = value_of(scored.r[r], scored.where[r], minimize);
	}

	struct lq_plan p;
	p.next = xcalloc(lambda, 1);
	p.evaluated = xcalloc(lambda, 1);
	p.told = xmalloc(lambda * sizeof *p.told);
	int rc = lq_plan(m, lambda, x, y, have, tau, batch, &p);
	if (rc < 0)
		die("%s: %s", argv[optind], err_get());
	if (!strcmp(cmd, "next")) {
		for (int k = 0; k < lambda; k++)
			if (p.next[k])
				printf("%s\n", ids[k]);
	} else {
		if (rc == 0) {
			for (int k = 0; k < lambda; k++)
				if (p.next[k])
					die("%s: the generation is not decided: candidate \"%s\" is to be evaluated first "
					    "(lq-surr next)", argv[optind], ids[k]);
		}
		int modeled = 0;
		for (int k = 0; k < lambda; k++) {
			if (have[k]) {   /* a true value, whether or not the rule asked for it */
				if (rec_write(stdout, scored.r[rec_of[k]]) < 0)
					die_err();
				continue;
			}
			json_object *o = json_object_get(cand.r[k]);
			rec_set(o, "fitness", rec_double(minimize ? -p.told[k] : p.told[k]));
			rec_set(o, "surrogate", json_object_new_boolean(1));
			if (rec_write(stdout, o) < 0)
				die_err();
			json_object_put(o);
			modeled++;
		}
		if (!quiet) {
			char t[32];
			if (isnan(p.tau))
				snprintf(t, sizeof t, "not needed");
			else
				snprintf(t, sizeof t, "%.2f", p.tau);
			warnmsg("evaluated %d of %d, %d from the %s model (on %d points; Kendall tau %s)",
			        lambda - modeled, lambda, modeled, lq_type_name(lq_model_type(m)), lq_size(m), t);
		}
	}
	lq_free(m);
	free(w);
	free(x);
	free(y);
	free(have);
	free(rec_of);
	free(ids);
	free(p.next);
	free(p.evaluated);
	free(p.told);
	free(names);
	free(archives);
	for (int i = 0; i < arch.n; i++) {
		json_object_put(arch.r[i]);
		free(arch.where[i]);
	}
	for (int i = 0; i < cand.n; i++) {
		json_object_put(cand.r[i]);
		free(cand.where[i]);
	}
	for (int i = 0; i < scored.n; i++) {
		json_object_put(scored.r[i]);
		free(scored.where[i]);
	}
	free(arch.r);
	free(arch.where);
	free(cand.r);
	free(cand.where);
	free(scored.r);
	free(scored.where);
	return 0;
}
