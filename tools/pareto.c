/* pareto — fronts, ranks, hypervolume, knee and plots of multi-task score records; line charts of series records (--lines). */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "lines.h"
#include "pareto.h"
#include "rec.h"

static void help(void)
{
	printf("Usage: %s [OPTION]... [FILE]...\n"
	       "Non-dominated points, ranks, hypervolume, knee and plots of score records (NDJSON) or\n"
	       "whitespace matrices. With no FILE, or FILE -, read standard input.\n"
	       "\n"
	       "Input:\n"
	       "      --objectives=LIST  objectives: dotted paths of records (default: every key of\n"
	       "                         \"scores\") or 1-based columns of a matrix (default: all)\n"
	       "      --min=LIST         minimize these objectives (records are maximized by default)\n"
	       "      --max=LIST         maximize these objectives (matrices are minimized by default)\n"
	       "      --keep-duplicates  keep every one of equal points (the default)\n"
	       "  -u, --unique           keep only the first of equal points\n"
	       "      --skip-bad         drop bad records (missing, non-numeric or NaN objectives,\n"
	       "                         invalid lines) and count them instead of failing\n"
	       "  -q, --quiet            do not report the count of dropped records\n"
	       "\n"
	       "Output (one of them; by default the non-dominated points, in input order):\n"
	       "      --rank             every point with its non-domination rank (1 = the front)\n"
	       "      --crowding         add the crowding distance within each rank (null = infinite)\n"
	       "      --hv[=REF]         hypervolume of the front and the reference point REF\n"
	       "                         (R1,R2,...; default: worst - 0.1 x range of each objective)\n"
	       "      --hv-contrib[=REF] the front with each point's exclusive hypervolume\n"
	       "  -k, --knee             the front point with the largest trade-off (see pareto(1))\n"
	       "      --best=S           the best front point by S: mean, min or weights W1,W2,...\n"
	       "      --table            the front as an aligned text table\n"
	       "      --svg=FILE         plot to FILE (- = standard output); with no output option\n"
	       "                         above nothing else is written\n"
	       "      --title=TEXT       the plot's title\n"
	       "\n"
	       "Line charts:\n"
	       "      --lines            read series records instead of points and draw them as line\n"
	       "                         charts to the --svg FILE: one record a series,\n"
	       "                         {\"name\",\"y\":[...]} with optional \"x\", \"lo\" and \"hi\" (a band),\n"
	       "                         \"panel\", \"group\", \"step\", \"points\", \"dash\"; or a reference\n"
	       "                         line {\"name\",\"hline\":Y}; a null y is a gap (see pareto(1))\n"
	       "      --xlabel=TEXT      the x axis's title (--lines)\n"
	       "      --ylabel=TEXT      the y axis's title (--lines)\n"
	       "  -h, --help             show this help and exit\n"
	       "      --version          show the version and exit\n"
	       "\n"
	       "Old spellings, kept for scripts: -o for --objectives, -r for --rank, -c for --crowding,\n"
	       "-b for --best, -t for --table (see recycle(7), OPTIONS).\n", prog_name);
}

enum { O_MIN = 256, O_MAX, O_KEEP, O_SKIP, O_HV, O_HVC, O_SVG, O_TITLE, O_LINES, O_XLABEL, O_YLABEL, O_VERSION };

static const struct option longopts[] = {
	{ "objectives", required_argument, NULL, 'o' },
	{ "min", required_argument, NULL, O_MIN },
	{ "max", required_argument, NULL, O_MAX },
	{ "keep-duplicates", no_argument, NULL, O_KEEP },
	{ "unique", no_argument, NULL, 'u' },
	{ "skip-bad", no_argument, NULL, O_SKIP },
	{ "quiet", no_argument, NULL, 'q' },
	{ "rank", no_argument, NULL, 'r' },
	{ "crowding", no_argument, NULL, 'c' },
	{ "hv", optional_argument, NULL, O_HV },
	{ "hv-contrib", optional_argument, NULL, O_HVC },
	{ "knee", no_argument, NULL, 'k' },
	{ "best", required_argument, NULL, 'b' },
	{ "table", no_argument, NULL, 't' },
	{ "svg", required_argument, NULL, O_SVG },
	{ "title", required_argument, NULL, O_TITLE },
	{ "lines", no_argument, NULL, O_LINES },
	{ "xlabel", required_argument, NULL, O_XLABEL },
	{ "ylabel", required_argument, NULL, O_YLABEL },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

enum mode { M_FILTER, M_RANK, M_HV, M_HVC, M_KNEE, M_BEST, M_TABLE };
static const char *mode_opt[] = { "", "--rank", "--hv", "--hv-contrib", "--knee", "--best", "--table" };

/* REF as m user-facing values, turned into minimized coordinates. */
static void parse_ref(const char *text, const struct pf_set *s, double *ref)
{
	const char *p = text;
	for (int j = 0; j < s->m; j++) {
		char *end;
		double v = strtod(p, &end);
		if (end == p || !isfinite(v) || (*end != ',' && *end) || (j + 1 < s->m) != (*end == ','))
			usage_err("reference point \"%s\": expected %d comma-separated numbers", text, s->m);
		ref[j] = s->maximize[j] ? -v : v;
		p = end + 1;
	}
}

/* A plot that could not be written. On standard output, the check at exit (err.h) says it once. */
static _Noreturn void svg_failed(const char *svg)
{
	if (strcmp(svg, "-") == 0 && ferror(stdout))
		exit(EXIT_BAD);
	die_err();
}

/* --lines: the series of the files drawn to svg. */
static int lines(const char *svg, char **files, int nfiles, const struct ln_opts *o)
{
	struct ln_chart c;
	ln_init(&c);
	for (int i = 0; i < nfiles; i++)
		if (ln_read(&c, files[i]) < 0)
			die_err();
	if (c.ns == 0)
		die("no series in the input");
	if (ln_svg_save(svg, &c, o) < 0)
		svg_failed(svg);
	ln_free(&c);
	return 0;
}

static void put(FILE *f, const struct pf_set *s, size_t i, const struct pf_extra *x, int nx)
{
	if (pf_set_write(f, s, i, x, nx) < 0)
		die_err();
}

int main(int argc, char **argv)
{
	struct pf_read_opts ro = { 0 };
	enum mode mode = M_FILTER;
	const char *ref_text = NULL, *best_text = NULL, *svg = NULL, *title = NULL, *xlabel = NULL, *ylabel = NULL;
	const char *point_opt = NULL;   /* an option about points, which --lines does not read */
	int crowding = 0, unique = 0, quiet = 0, line_mode = 0, c;

	prog_init(argv[0]);
	while ((c = getopt_long(argc, argv, "o:uqrckb:th", longopts, NULL)) != -1) {
		enum mode want = M_FILTER;
		switch (c) {
		case 'o': ro.objectives = optarg; break;
		case O_MIN: ro.min = optarg; break;
		case O_MAX: ro.max = optarg; break;
		case O_KEEP: unique = 0; break;
		case 'u': unique = 1; break;
		case O_SKIP: ro.skip_bad = 1; break;
		case 'q': quiet = 1; break;
		case 'r': want = M_RANK; break;
		case 'c': crowding = 1; break;
		case O_HV: want = M_HV; ref_text = optarg ? optarg : ref_text; break;
		case O_HVC: want = M_HVC; ref_text = optarg ? optarg : ref_text; break;
		case 'k': want = M_KNEE; break;
		case 'b': want = M_BEST; best_text = optarg; break;
		case 't': want = M_TABLE; break;
		case O_SVG: svg = optarg; break;
		case O_TITLE: title = optarg; break;
		case O_LINES: line_mode = 1; break;
		case O_XLABEL: xlabel = optarg; break;
		case O_YLABEL: ylabel = optarg; break;
		case 'h': help(); return 0;
		case O_VERSION: print_version(); return 0;
		default: usage_err("unknown option");
		}
		if (want != M_FILTER && mode != M_FILTER && want != mode)
			usage_err("%s and %s cannot be combined", mode_opt[mode], mode_opt[want]);
		if (want != M_FILTER)
			mode = want;
		if ((c < 256 && strchr("oukb", c)) || c == O_MIN || c == O_MAX || c == O_KEEP || c == O_SKIP)
			point_opt = argv[optind - 1];
	}
	char *stdin_only[] = { "-" };
	char **files = optind < argc ? argv + optind : stdin_only;
	int nfiles = optind < argc ? argc - optind : 1;
	if (line_mode) {
		if (mode != M_FILTER || crowding)
			usage_err("--lines draws a chart: %s is an output of points", crowding ? "--crowding" : mode_opt[mode]);
		if (point_opt)
			usage_err("--lines reads series, not points: %s does not apply", point_opt);
		if (!svg)
			usage_err("--lines needs --svg FILE");
		return lines(svg, files, nfiles, &(struct ln_opts){ title, xlabel, ylabel });
	}
	if (xlabel || ylabel)
		usage_err("%s goes with --lines (a plot of points names its axes after the objectives)",
		          xlabel ? "--xlabel" : "--ylabel");
	if (crowding && mode != M_FILTER && mode != M_RANK)
		usage_err("--crowding goes with --rank or the default output, not %s", mode_opt[mode]);
	if (svg && strcmp(svg, "-") == 0 && (mode != M_FILTER || crowding))
		usage_err("--svg - writes the plot to standard output: no other output option");
	if (ro.objectives && !*ro.objectives)
		usage_err("-o: no objectives named");

	struct pf_scal scal = { 0 };
	if (best_text && pf_scal_parse(&scal, best_text) < 0)
		usage_err("--best: %s", err_get());

	struct pf_set s;
	pf_set_init(&s, &ro);
	for (int i = 0; i < nfiles; i++) {
		int rc = pf_set_read(&s, files[i]);
		if (rc == -2)
			usage_err("%s", err_get());
		if (rc < 0)
			die_err();
	}
	if (s.nbad && !quiet)
		warnmsg("skipped %zu bad record%s (the first: %s)", s.nbad, s.nbad == 1 ? "" : "s", s.bad_first);
	if (unique && pf_set_unique(&s) < 0)
		die_err();
	if (s.n == 0 && (svg || mode == M_HV || mode == M_KNEE || mode == M_BEST))
		die("no points in the input");
	if (scal.kind == PF_WEIGHTS && scal.nw != s.m)
		usage_err("--best: %d weights for %d objectives", scal.nw, s.m);

	size_t n = s.n;
	int m = s.m;
	unsigned char *nd = xmalloc(n ? n : 1);
	int *rank = xmalloc((n ? n : 1) * sizeof *rank);
	double *val = xmalloc((n ? n : 1) * sizeof *val);
	if (mode == M_RANK) {
		if (pf_rank(n, m, s.f, rank) < 0)
			die_err();
		for (size_t i = 0; i < n; i++)
			nd[i] = rank[i] == 1;
	} else {
		if (pf_front(n, m, s.f, nd) < 0)
			die_err();
		for (size_t i = 0; i < n; i++)
			rank[i] = nd[i] ? 1 : 2;
	}

	if (svg) {
		if (pf_svg_save(svg, &s, nd, title) < 0)
			svg_failed(svg);
		if (mode == M_FILTER && !crowding)
			goto done;
	}

	double *ref = xmalloc((m ? m : 1) * sizeof *ref);
	if (mode == M_HV || mode == M_HVC) {
		if (ref_text)
			parse_ref(ref_text, &s, ref);
		else if (n)
			pf_ref_default(n, m, s.f, ref);
	}
	switch (mode) {
	case M_FILTER:
	case M_RANK:
		if (crowding && pf_crowding(n, m, s.f, rank, val) < 0)
			die_err();
		for (size_t i = 0; i < n; i++) {
			struct pf_extra x[2] = { { "rank", rank[i], 1 }, { "crowding", val[i], 0 } };
			if (mode == M_RANK)
				put(stdout, &s, i, x, 1 + crowding);
			else if (nd[i])
				put(stdout, &s, i, x + 1, crowding);
		}
		break;
	case M_HV: {
		double hv;
		size_t nfront = 0;
		if (pf_hv(n, m, s.f, ref, &hv) < 0)
			die_err();
		for (size_t i = 0; i < n; i++)
			nfront += nd[i];
		json_object *o = json_object_new_object(), *r = json_object_new_array(),
		            *names = json_object_new_array();
		for (int j = 0; j < m; j++) {
			json_object_array_add(r, rec_double(s.maximize[j] ? -ref[j] : ref[j]));
			json_object_array_add(names, json_object_new_string(s.path[j]));
		}
		rec_set(o, "hv", rec_double(hv));
		rec_set(o, "ref", r);
		rec_set(o, "objectives", names);
		rec_set(o, "front", json_object_new_int64((int64_t)nfront));
		rec_set(o, "points", json_object_new_int64((int64_t)n));
		if (rec_write(stdout, o) < 0)
			die_err();
		json_object_put(o);
		break;
	}
	case M_HVC:
		if (n && pf_hv_contrib(n, m, s.f, ref, val) < 0)
			die_err();
		for (size_t i = 0; i < n; i++)
			if (nd[i])
				put(stdout, &s, i, &(struct pf_extra){ "hv_contrib", val[i], 0 }, 1);
		break;
	case M_KNEE:
	case M_BEST: {
		/* the front, packed; at[] maps it back to input positions */
		size_t k = 0, *at = xmalloc(n * sizeof *at), pick = 0;
		double *fr = xmalloc(n * m * sizeof *fr);
		for (size_t i = 0; i < n; i++)
			if (nd[i]) {
				memcpy(fr + k * m, s.f + i * m, m * sizeof *fr);
				at[k++] = i;
			}
		if (mode == M_KNEE) {
			if (pf_knee(k, m, fr, NULL, &pick) < 0)
				die_err();
		} else {
			for (size_t i = 1; i < k; i++)
				if (pf_scal_value(&scal, m, fr + i * m) > pf_scal_value(&scal, m, fr + pick * m))
					pick = i;
		}
		put(stdout, &s, at[pick], NULL, 0);
		free(at);
		free(fr);
		break;
	}
	case M_TABLE:
		if (pf_table_write(stdout, &s, nd) < 0)
			die_err();
		break;
	}
	free(ref);
done:
	free(nd);
	free(rank);
	free(val);
	pf_scal_free(&scal);
	pf_set_free(&s);
	return 0;
}
