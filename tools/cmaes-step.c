/* cmaes-step — CMA-ES over merge weights as an exact, resumable ask/tell filter. The optimizer
 * and its state file live in common/cma; this file parses the command line. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cma.h"
#include "err.h"
#include "rec.h"
#include "tmp.h"

#define EXIT_STOPPED 3

static const char usage_text[] =
	"Usage: cmaes-step init (--dim N | --names A,B,...) [OPTION]... > STATE\n"
	"       cmaes-step ask [-q] STATE > CANDIDATES.ndjson\n"
	"       cmaes-step tell STATE [SCORED.ndjson] > TOLD.ndjson\n"
	"       cmaes-step status STATE\n"
	"       cmaes-step extend --maxevals N STATE\n"
	"CMA-ES over merge weights, one generation per ask/tell; the whole run is the STATE file.\n"
	"ask exits 3 (and prints nothing) once a stop criterion holds. extend gives a run a larger\n"
	"budget in place: one that stopped only because its budget ran out goes on.\n"
	"\n"
	"init options:\n"
	"      --dim N           number of weights\n"
	"      --names A,B,...   weight names (their number is the dimension); weights are then\n"
	"                        an object keyed by name, else an array. --names @FILE reads\n"
	"                        them from FILE, a JSON array of strings (any name: commas too)\n"
	"      --x0 V,...|uniform  start mean (default uniform: the point of equal weights)\n"
	"      --sigma S         initial step size (default 0.3; box 0.15; none 0.3/N)\n"
	"  -p, --popsize L       population (default 4 + floor(3 ln N))\n"
	"      --seed N          random seed (default 1)\n"
	"      --maxevals N      stop after N evaluations (default 1000 (N+5)^2 / sqrt(L))\n"
	"      --map M           weights from x: simplex (|x| normalized, default), softmax,\n"
	"                        box (lin-quad into [0,1], normalized), none (x itself)\n"
	"      --minimize        minimize the fitness (default: maximize)\n"
	"  -m, --method M        cmaes (default) or random (uniform on the simplex: the baseline)\n"
	"      --ftarget F       stop when the best fitness reaches F\n"
	"      --tolfun F        stop when the fitness range of recent generations is below F (1e-12)\n"
	"      --tolx F          stop when all steps are below F (default 1e-12 sigma)\n"
	"      --tolflat G       stop after G flat-fitness generations in a row (20; 0: never)\n"
	"      --restarts K      up to K IPOP restarts, each doubling the population (default 0)\n"
	"other options:\n"
	"  -q, --quiet           ask: no message on standard error when stopped\n"
	"  -h, --help            this help\n"
	"      --version         print the version\n"
	"Old spellings, kept for scripts: -n for --dim, -s for --sigma (see recycle(7), OPTIONS).\n"
	"Fitness of a scored record: \"fitness\" if present, else the mean of \"scores\";\n"
	"missing, null or NaN ranks worst. A record with \"surrogate\": true holds a model's value\n"
	"(lq-surr fill): ranked the same, but not an evaluation (--maxevals, status's evals).\n";

enum { O_NAMES = 256, O_X0, O_SEED, O_MAXEVALS, O_MAP, O_MINIMIZE, O_FTARGET, O_TOLFUN,
       O_TOLX, O_TOLFLAT, O_RESTARTS, O_VERSION };

static const struct option longopts[] = {
	{ "dim", required_argument, NULL, 'n' },
	{ "names", required_argument, NULL, O_NAMES },
	{ "x0", required_argument, NULL, O_X0 },
	{ "sigma", required_argument, NULL, 's' },
	{ "popsize", required_argument, NULL, 'p' },
	{ "seed", required_argument, NULL, O_SEED },
	{ "maxevals", required_argument, NULL, O_MAXEVALS },
	{ "map", required_argument, NULL, O_MAP },
	{ "minimize", no_argument, NULL, O_MINIMIZE },
	{ "method", required_argument, NULL, 'm' },
	{ "ftarget", required_argument, NULL, O_FTARGET },
	{ "tolfun", required_argument, NULL, O_TOLFUN },
	{ "tolx", required_argument, NULL, O_TOLX },
	{ "tolflat", required_argument, NULL, O_TOLFLAT },
	{ "restarts", required_argument, NULL, O_RESTARTS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* Splits a comma list in place; returns the count. */
static int split(char *s, char ***out)
{
	int n = 1;
	for (char *p = s; *p; p++)
		n += *p == ',';
	char **v = xcalloc(n, sizeof *v);
	for (int i = 0; i < n; i++) {
		v[i] = s;
		s += strcspn(s, ",");
		if (*s)
			*s++ = 0;
	}
	*out = v;
	return n;
}

/* The names of --names @FILE: a JSON array of strings. */
static int names_file(const char *path, json_object **keep, char ***out)
{
	json_object *a = rec_load(path);
	if (!a)
		die_err();
	if (!json_object_is_type(a, json_type_array) || json_object_array_length(a) == 0)
		die("%s: --names @FILE: not a non-empty JSON array of names", path);
	int m = (int)json_object_array_length(a);
	char **v = xcalloc(m, sizeof *v);
	for (int i = 0; i < m; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_string))
			die("%s: --names @FILE: element %d is not a string", path, i + 1);
		v[i] = (char *)json_object_get_string(e);
	}
	*keep = a;
	*out = v;
	return m;
}

static int cmd_init(cma_opts *o, char *names, char *x0)
{
	char **nv = NULL, **xv = NULL;
	double *x = NULL;
	json_object *nfile = NULL;
	if (names) {
		int m = names[0] == '@' ? names_file(names + 1, &nfile, &nv) : split(names, &nv);
		if (o->dim && o->dim != m)
			usage_err("--dim %d but %d names", o->dim, m);
		o->dim = m;
		o->names = nv;
	}
	if (!o->dim)
		usage_err("init needs --dim N or --names A,B,...");
	if (o->dim > CMA_MAX_DIM)
		usage_err("--dim: at most %d weights", CMA_MAX_DIM);
	if (x0 && strcmp(x0, "uniform")) {
		int m = split(x0, &xv);
		if (m != o->dim)
			usage_err("--x0: %d values for %d weights", m, o->dim);
		x = xmalloc(m * sizeof *x);
		for (int i = 0; i < m; i++)
			x[i] = arg_double("--x0", xv[i], -INFINITY, INFINITY, 0);
		o->x0 = x;
	}
	cma *c = cma_new(o);
	if (!c)
		usage_err("%s", err_get());
	if (cma_write(c, stdout) < 0)
		die_err();
	cma_free(c);
	free(nv);
	free(xv);
	free(x);
	json_object_put(nfile);
	return 0;
}

static int cmd_ask(const char *path, int quiet)
{
	cma *c = cma_load(path);
	if (!c)
		die_err();
	int was_pending = c->pending;
	if (cma_ask(c)) {
		if (!quiet)
			warnmsg("%s: stopped (%s) after %lld evaluations", path, c->stop, c->evals);
		cma_free(c);
		exit(EXIT_STOPPED);
	}
	/* The samples are saved before they are printed: asking again prints the same ones. */
	if (!was_pending && cma_save(c, path) < 0)
		die_err();
	for (int k = 0; k < c->lambda; k++) {
		json_object *r = cma_candidate(c, k);
		if (!r)
			die("out of memory");
		if (rec_write(stdout, r) < 0)
			die_err();
		json_object_put(r);
	}
	cma_free(c);
	return 0;
}

static int cmd_tell(const char *path, const char *in)
{
	json_object **recs = NULL, *o;
	long *lines = NULL;
	int n = 0, cap = 0, rc;
	char *tmp;
	/* The records are read before the state, so that `cmaes-step ask s | eval | cmaes-step tell s`
	 * works as one pipeline: ask has saved its state before the first record reaches us. */
	rec_reader *r = rec_open(in);
	if (!r)
		die_err();
	while ((rc = rec_next(r, &o)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			recs = xrealloc(recs, cap * sizeof *recs);
			lines = xrealloc(lines, cap * sizeof *lines);
		}
		lines[n] = rec_lineno(r);
		recs[n++] = o;
	}
	if (rc < 0)
		die_err();
	cma *c = cma_load(path);
	if (!c)
		die_err();
	if (cma_tell_records(c, recs, lines, n, rec_name(r)) < 0)
		die("%s: %s", path, err_get());
	/* New state to a temporary, the told records out, then the rename: on any failure the state
	 * file is the one before this tell. */
	if (cma_save_tmp(c, path, &tmp) < 0)
		die_err();
	for (int i = 0; i < n; i++)
		if (rec_write(stdout, recs[i]) < 0)
			die_err();
	if (fflush(stdout) == EOF || ferror(stdout))
		die("standard output:");
	if (tmp_commit(tmp, path, 0) < 0)
		die_err();
	for (int i = 0; i < n; i++)
		json_object_put(recs[i]);
	free(recs);
	free(lines);
	free(tmp);
	rec_close(r);
	cma_free(c);
	return 0;
}

static int cmd_status(const char *path)
{
	cma *c = cma_load(path);
	if (!c)
		die_err();
	json_object *s = cma_status(c);
	if (rec_write(stdout, s) < 0)
		die_err();
	json_object_put(s);
	cma_free(c);
	return 0;
}

static int cmd_extend(const char *path, long long maxevals)
{
	cma *c = cma_load(path);
	if (!c)
		die_err();
	if (cma_extend(c, maxevals) < 0)
		die("%s: %s", path, err_get());
	if (cma_save(c, path) < 0)
		die_err();
	cma_free(c);
	return 0;
}

int main(int argc, char **argv)
{
	cma_opts o;
	char *names = NULL, *x0 = NULL;
	const char *init_opt = NULL;
	int quiet = 0, ch;
	prog_init(argv[0]);
	cma_opts_init(&o);
	while ((ch = getopt_long(argc, argv, "n:s:p:m:qh", longopts, NULL)) != -1) {
		const char *name = NULL;
		for (const struct option *l = longopts; l->name; l++)
			if (l->val == ch)
				name = l->name;
		if (ch != 'q' && ch != 'h' && ch != O_VERSION && ch != '?')
			init_opt = name;
		char dname[48];
		snprintf(dname, sizeof dname, "--%s", name ? name : "?");
		switch (ch) {
		case 'n': o.dim = (int)arg_int(dname, optarg, 1, CMA_MAX_DIM); break;
		case O_NAMES: names = optarg; break;
		case O_X0: x0 = optarg; break;
		case 's': o.sigma = arg_double(dname, optarg, 0, INFINITY, 1); break;
		case 'p': o.popsize = (int)arg_int(dname, optarg, 2, 1000000); break;
		case O_SEED: o.seed = (uint64_t)arg_int(dname, optarg, 0, INT64_MAX); break;
		case O_MAXEVALS: o.maxevals = arg_int(dname, optarg, 1, INT64_MAX); break;
		case O_MAP: {
			int m = cma_map_parse(optarg);
			if (m < 0)
				usage_err("--map: '%s' is not simplex, softmax, box or none", optarg);
			o.map = m;
			break;
		}
		case O_MINIMIZE: o.minimize = 1; break;
		case 'm':
			if (!strcmp(optarg, "cmaes"))
				o.method = CMA_CMAES;
			else if (!strcmp(optarg, "random"))
				o.method = CMA_RANDOM;
			else
				usage_err("--method: '%s' is not cmaes or random", optarg);
			break;
		case O_FTARGET: o.ftarget = arg_double(dname, optarg, -INFINITY, INFINITY, 0); break;
		case O_TOLFUN: o.tolfun = arg_double(dname, optarg, 0, INFINITY, 0); break;
		case O_TOLX: o.tolx = arg_double(dname, optarg, 0, INFINITY, 0); break;
		case O_TOLFLAT: o.tolflat = (int)arg_int(dname, optarg, 0, INT32_MAX); break;
		case O_RESTARTS: o.restarts = (int)arg_int(dname, optarg, 0, 20); break;
		case 'q': quiet = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case O_VERSION: print_version(); return 0;
		default: usage_err("unknown option");
		}
	}
	if (optind >= argc)
		usage_err("missing command: init, ask, tell, status or extend");
	const char *cmd = argv[optind++];
	int nargs = argc - optind;
	if (strcmp(cmd, "init") && strcmp(cmd, "ask") && strcmp(cmd, "tell") && strcmp(cmd, "status") &&
	    strcmp(cmd, "extend"))
		usage_err("unknown command '%s' (init, ask, tell, status or extend)", cmd);
	if (!strcmp(cmd, "extend")) {
		if (!init_opt || strcmp(init_opt, "maxevals") || !o.maxevals)
			usage_err("extend takes --maxevals N and no other init option");
		if (nargs != 1)
			usage_err("extend needs one STATE file");
		return cmd_extend(argv[optind], o.maxevals);
	}
	if (strcmp(cmd, "init") && init_opt)
		usage_err("--%s is an option of init, not of %s", init_opt, cmd);
	if (!strcmp(cmd, "init")) {
		if (nargs)
			usage_err("init takes no file (it writes the state to standard output)");
		return cmd_init(&o, names, x0);
	}
	if (nargs < 1)
		usage_err("%s needs a STATE file", cmd);
	if (nargs > (strcmp(cmd, "tell") ? 1 : 2))
		usage_err("too many arguments for %s", cmd);
	if (!strcmp(cmd, "ask"))
		return cmd_ask(argv[optind], quiet);
	if (!strcmp(cmd, "tell"))
		return cmd_tell(argv[optind], nargs > 1 ? argv[optind + 1] : "-");
	return cmd_status(argv[optind]);
}
