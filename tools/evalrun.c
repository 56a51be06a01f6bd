/* evalrun — score a checkpoint on task files with the built-in evaluator (Llama, Mistral, Qwen2,
 * Qwen3), or with an external harness; print the (candidate) record with its scores. The work
 * is in common/eval. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "eval.h"
#include "progress.h"
#include "rec.h"
#include "task.h"

static const char usage_text[] =
"usage: evalrun -t TASK... [options] CKPT|-\n"
"       evalrun --exec 'CMD {ckpt} {out}' [options] CKPT|-\n"
"       evalrun --lm-eval-json FILE [-r RECORD] [--metric M]\n"
"Score a Llama, Mistral, Qwen2 or Qwen3 checkpoint on task files (generation exact match,\n"
"multiple-choice accuracy, text mean log-likelihood per token), or run an external harness on\n"
"it, and print one NDJSON record: the -r record (every field kept) or {\"ckpt\"}, plus\n"
"\"scores\", \"n\" and \"eval\" {seconds, tokens}.\n"
"CKPT: a .safetensors file, a .safetensors.zst file, a Hugging Face directory, or - for a\n"
"stream on standard input (e.g. from wmerge).\n"
"\n"
"  -t, --task FILE       a task file (JSONL; repeatable); its score key is its name up to the\n"
"                        first dot (add.dev.jsonl -> add)\n"
"  -r, --record FILE     the candidate record to add the scores to (@- or - : standard input;\n"
"                        @FILE works too)\n"
"      --tokenizer PATH  tokenize the tasks' strings with PATH (a tokenizer.json, or a directory\n"
"                        holding one); default: CKPT's own when CKPT is a directory that has\n"
"                        one, else byte tokens (a 256-entry vocabulary)\n"
"  -n, --limit N         only the first N examples of each task\n"
"  -b, --batch B         sequences in one forward pass (default 16)\n"
"      --max-new N       generate at most N tokens: a longer target is a miss (default: no limit)\n"
"  -j, --threads N       threads of the forward pass (default 1; the scores do not depend on N)\n"
"      --per-example     add every example's outcome: \"examples\": {task: [1, 0, ...]} (for\n"
"                        paired comparisons; \"se\", each score's standard error, is always added)\n"
"      --loglik          add \"ll\": {task: a smooth companion of its score}: the targets' mean\n"
"                        log-likelihood per token (generation), the answer's mean log-probability\n"
"                        among the choices (multiple choice), the score itself (text); and\n"
"                        \"soft\": {task: a soft score}: the mean of min(1, 2 P), P the\n"
"                        probability of the target (generation) or of the answer among the\n"
"                        choices (multiple choice); the score itself (text)\n"
"      --exec CMD        run the harness CMD (sh -c) instead: {ckpt} becomes a Hugging Face\n"
"                        directory of the checkpoint, {out} the path it writes its scores to\n"
"                        (a recycle record or lm-evaluation-harness results JSON)\n"
"      --timeout S       --exec: end the harness after S seconds (an error)\n"
"      --metric M        lm-eval metric: NAME[,FILTER] for all tasks, TASK=NAME[,FILTER] for one\n"
"                        (repeatable; default acc, exact_match, acc_norm, f1, mc2: the first found)\n"
"      --donor DIR       --exec: tokenizer files for a checkpoint that is not a directory\n"
"      --tmpdir DIR      --exec: where a checkpoint is copied for the harness (default $TMPDIR\n"
"                        or /tmp)\n"
"      --lm-eval-json F  turn lm-evaluation-harness results F (a file or an output directory)\n"
"                        into a record; no checkpoint\n"
"      --fail-record     on a failure, still print the record, with \"error\" (exit status 1)\n"
"  -q, --quiet           no progress bar, and no copy of the harness's output\n"
"  -h, --help            this help\n"
"      --version         print the version\n"
"\n"
"Exit status: 0 success, 1 bad input or failure, 2 usage.\n";

static int is_stdin(const char *s) { return s && (!strcmp(s, "-") || !strcmp(s, "@-")); }

/* State for failure records. */
static json_object *out_rec;
static int fail_record;
static double t_start;

/* Print the failure (and, with --fail-record, the record carrying it) and exit 1. */
static _Noreturn void fail(void)
{
	if (fail_record && out_rec) {
		rec_set(out_rec, "error", json_object_new_string(err_get()));
		eval_rec_cost(out_rec, progress_now() - t_start, -1);
		rec_write(stdout, out_rec);
	}
	die_err();
}

int main(int argc, char **argv)
{
	enum { O_MAXNEW = 256, O_EXEC, O_TIMEOUT, O_METRIC, O_DONOR, O_TMPDIR, O_LMJSON, O_FAILREC,
	       O_PEREX, O_VERSION, O_TOKENIZER, O_LOGLIK };
	static const struct option lo[] = {
		{ "task", 1, 0, 't' }, { "record", 1, 0, 'r' }, { "limit", 1, 0, 'n' },
		{ "batch", 1, 0, 'b' }, { "max-new", 1, 0, O_MAXNEW }, { "tokenizer", 1, 0, O_TOKENIZER }, { "threads", 1, 0, 'j' },
		{ "exec", 1, 0, O_EXEC }, { "timeout", 1, 0, O_TIMEOUT }, { "metric", 1, 0, O_METRIC },
		{ "donor", 1, 0, O_DONOR }, { "tmpdir", 1, 0, O_TMPDIR }, { "lm-eval-json", 1, 0, O_LMJSON },
		{ "fail-record", 0, 0, O_FAILREC }, { "per-example", 0, 0, O_PEREX }, { "loglik", 0, 0, O_LOGLIK },
		{ "quiet", 0, 0, 'q' }, { "help", 0, 0, 'h' },
		{ "version", 0, 0, O_VERSION }, { 0 }
	};
	const char **tasks = NULL, **metrics = NULL, *recarg = NULL, *lmjson = NULL, *tokenizer = NULL;
	int ntasks = 0, nmetrics = 0, quiet = 0, threads = 0, per_example = 0, loglik = 0, c;
	long limit = 0, batch = 16, max_new = 0;
	int given_builtin = 0, given_exec = 0;
	struct eval_exec_opts xo = { 0 };
	prog_init(argv[0]);
	t_start = progress_now();
	tasks = xcalloc((size_t)argc, sizeof *tasks);
	metrics = xcalloc((size_t)argc, sizeof *metrics);
	while ((c = getopt_long(argc, argv, "t:r:n:b:j:qh", lo, NULL)) != -1) {
		switch (c) {
		case 't': tasks[ntasks++] = optarg; break;
		case 'r': recarg = optarg; break;
		case 'n': limit = arg_int("--limit", optarg, 1, 1L << 40); given_builtin = 1; break;
		case 'b': batch = arg_int("--batch", optarg, 1, 4096); given_builtin = 1; break;
		case O_MAXNEW: max_new = arg_int("--max-new", optarg, 1, 1 << 20); given_builtin = 1; break;
		case O_TOKENIZER: tokenizer = optarg; given_builtin = 1; break;
		case 'j': threads = (int)arg_int("--threads", optarg, 1, 1024); given_builtin = 1; break;
		case O_EXEC: xo.cmd = optarg; break;
		case O_TIMEOUT: xo.timeout = arg_double("--timeout", optarg, 0, INFINITY, 1); given_exec = 1; break;
		case O_METRIC:
			if (!*optarg || optarg[strlen(optarg) - 1] == '=' || optarg[0] == '=')
				usage_err("--metric: '%s': want NAME[,FILTER] or TASK=NAME[,FILTER]", optarg);
			metrics[nmetrics++] = optarg;
			break;
		case O_DONOR: xo.donor = optarg; given_exec = 1; break;
		case O_TMPDIR: xo.tmpdir = optarg; given_exec = 1; break;
		case O_LMJSON: lmjson = optarg; break;
		case O_FAILREC: fail_record = 1; break;
		case O_PEREX: per_example = 1; given_builtin = 1; break;
		case O_LOGLIK: loglik = 1; given_builtin = 1; break;
		case 'q': quiet = 1; break;
		case 'h':
		case O_VERSION:
			c == 'h' ? (void)fputs(usage_text, stdout) : print_version();
			free(tasks);
			free(metrics);
			return 0;
		default: usage_err("unknown option");
		}
	}
	xo.quiet = quiet;
	xo.metrics = (struct eval_metrics){ metrics, nmetrics };

	/* One mode: built-in tasks, a harness, or a results file. */
	int modes = (ntasks > 0) + (xo.cmd != NULL) + (lmjson != NULL);
	if (modes == 0)
		usage_err("nothing to do: give task files (-t), a harness (--exec) or --lm-eval-json");
	if (modes > 1)
		usage_err("-t, --exec and --lm-eval-json do not go together");
	if (!ntasks && given_builtin)
		usage_err("--limit, --batch, --max-new, --threads, --tokenizer, --per-example and --loglik are for the built-in evaluator (-t)");
	if (!xo.cmd && given_exec)
		usage_err("--timeout, --donor and --tmpdir are for --exec");
	if (ntasks && nmetrics)
		usage_err("--metric is for --exec and --lm-eval-json");
	const char *ckarg = optind < argc ? argv[optind] : NULL;
	if (lmjson && ckarg)
		usage_err("--lm-eval-json takes no checkpoint");
	if (!lmjson && !ckarg)
		usage_err("no checkpoint given");
	if (optind + (ckarg != NULL) < argc)
		usage_err("one checkpoint at a time ('%s' is extra)", argv[optind + 1]);
	int nstdin = is_stdin(ckarg) + is_stdin(recarg) + is_stdin(lmjson);
	for (int i = 0; i < ntasks; i++)
		nstdin += is_stdin(tasks[i]);
	if (nstdin > 1)
		usage_err("standard input is given twice (the checkpoint, -r, a task and --lm-eval-json can't all be -)");
	for (int i = 0; i < ntasks; i++) {
		char a[256], b[256];
		if (task_name(tasks[i], a, sizeof a) < 0)
			usage_err("%s", err_get());
		for (int j = 0; j < i; j++)
			if (task_name(tasks[j], b, sizeof b) == 0 && !strcmp(a, b))
				usage_err("%s and %s both score as \"%s\"", tasks[j], tasks[i], a);
	}

	/* The record first: a failure from here on can still be reported in it. */
	if (recarg) {
		const char *p = recarg[0] == '@' ? recarg + 1 : recarg;
		if (!(out_rec = rec_load(p)))
			die_err();
		if (!json_object_is_type(out_rec, json_type_object))
			die("%s: the record is not a JSON object", is_stdin(recarg) ? "<stdin>" : p);
	} else {
		out_rec = json_object_new_object();
		rec_set(out_rec, lmjson ? "source" : "ckpt", json_object_new_string(lmjson ? lmjson : ckarg));
	}

	if (lmjson) {
		double seconds;
		if (eval_harness_file(lmjson, &xo.metrics, out_rec, &seconds) < 0)
			fail();
		if (isfinite(seconds))
			eval_rec_cost(out_rec, seconds, -1);
	} else if (xo.cmd) {
		if (eval_exec(ckarg, &xo, out_rec) < 0)
			fail();
		eval_rec_cost(out_rec, progress_now() - t_start, -1);
	} else {
		struct eval_opts eo = { .batch = (int)batch, .max_new = (int)max_new, .threads = threads,
		                        .tokenizer = tokenizer,
		                        .limit = limit, .quiet = quiet, .per_example = per_example, .loglik = loglik };
		if (eval_builtin(ckarg, tasks, ntasks, &eo, out_rec) < 0)
			fail();
	}
	if (rec_write(stdout, out_rec) < 0)
		die_err();
	json_object_put(out_rec);
	free(tasks);
	free(metrics);
	return 0;
}
