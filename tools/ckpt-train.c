/* ckpt-train — train a Llama model on task files (common/train.h) and save it as a Hugging Face
 * directory or a safetensors file. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dtype.h"
#include "err.h"
#include "lmio.h"
#include "progress.h"
#include "rec.h"
#include "tmp.h"
#include "train.h"

static const char usage_text[] =
"usage: ckpt-train -t TASKFILE[:WEIGHT]... (--init CKPT | --config SPEC) [options] -o OUT\n"
"Train a Llama model with AdamW on the prompt+target text of task files (loss on the target\n"
"tokens only), tasks drawn by weight, and write it as a Hugging Face directory (OUT) or a\n"
"file (OUT ending in .safetensors). The same options and seed give the same bytes.\n"
"\n"
"  -t, --task FILE[:W]   a task file (JSONL) to train on, drawn with weight W (default 1);\n"
"                        repeat for a mixture\n"
"  -i, --init CKPT       start from this checkpoint (any CKPT form; - for standard input)\n"
"      --config SPEC     or a new model: hidden=64,layers=2,heads=4,kv-heads=2,ff=192,vocab=256\n"
"                        (also head-dim=, rope-theta=, rms-eps=, max-pos=)\n"
"      --tie             with --config: lm_head shares the embedding matrix\n"
"      --steps N         optimizer steps (default 200)\n"
"      --lr LR           peak learning rate (default 1e-3)\n"
"      --min-lr LR       the cosine's end (default LR/10)\n"
"      --warmup N        linear warmup steps (default 20, at most --steps)\n"
"  -b, --batch B         rows per step (default 16)\n"
"  -T, --seq T           tokens per row (default 64); examples are packed into rows\n"
"      --no-pack         one example a row\n"
"      --weight-decay WD AdamW weight decay of the matrices (default 0.01)\n"
"      --clip NORM       global gradient-norm clipping (default 1; 0 turns it off)\n"
"  -s, --seed S          seed of the initial weights and of the data order (default 1)\n"
"  -D, --dtype DTYPE     output dtype: bf16 (default), f32, f16\n"
"  -j, --threads N       threads (default 1); the output does not depend on N\n"
"      --log-every N     progress line every N steps (default: 20 lines a run)\n"
"  -o, --output OUT      where to write the model: a Hugging Face directory, a file ending\n"
"                        in .safetensors, or - (a stream on standard output); missing\n"
"                        parent directories are made\n"
"  -q, --quiet           no progress bar or lines\n"
"  -h, --help            this help\n"
"      --version         print the version\n"
"\n"
"Old spellings, kept for scripts: -c for --config, -n for --steps, -d for --dtype (see\n"
"recycle(7), OPTIONS).\n"
"Exit status: 0 success, 1 bad input or failure, 2 usage.\n";

static void on_report(void *ctx, const struct train_report *r)
{
	struct progress *pg = ctx;
	progress_set(pg, (uint64_t)r->step);
	progress_line(pg, "step %ld/%ld loss %.4f lr %.3g grad-norm %.3g tokens/s %.0f", r->step, r->steps, r->loss,
	              r->lr, r->grad_norm, r->tokens_per_s);
}

/* The parent directory of out is made (as mkdir -p would) and must be writable before hours of
 * training are spent. */
static void check_output(const char *out)
{
	if (strcmp(out, "-") == 0)
		return;
	if (tmp_make_parents(out) < 0)
		die("%s: %s", out, err_get());
	char *d = xstrdup(out), *dir = dirname(d);
	struct stat st;
	if (stat(dir, &st) < 0)
		die("%s: %s:", out, dir);
	if (!S_ISDIR(st.st_mode))
		die("%s: %s: not a directory", out, dir);
	if (access(dir, W_OK) < 0)
		die("%s: %s:", out, dir);
	free(d);
}

/* What the run was, as the "recycle.train" metadata (JSON text). */
static json_object *provenance(const char *init, const char *spec, char **paths, const double *w, int n,
                               const struct train_opts *o, const struct train_result *res)
{
	json_object *j = json_object_new_object(), *ts = json_object_new_array();
	for (int k = 0; k < n; k++) {
		json_object *t = json_object_new_object();
		char name[256];
		rec_set(t, "path", json_object_new_string(paths[k]));
		if (task_name(paths[k], name, sizeof name) == 0)
			rec_set(t, "name", json_object_new_string(name));
		rec_set(t, "weight", rec_double(w[k]));
		json_object_array_add(ts, t);
	}
	rec_set(j, "tasks", ts);
	if (init)
		rec_set(j, "init", json_object_new_string(init));
	else
		rec_set(j, "config", json_object_new_string(spec));
	rec_set(j, "steps", json_object_new_int64(o->steps));
	rec_set(j, "lr", rec_double(o->lr));
	rec_set(j, "min_lr", rec_double(o->lr_min));
	rec_set(j, "warmup", json_object_new_int64(o->warmup));
	rec_set(j, "batch", json_object_new_int(o->batch));
	rec_set(j, "seq", json_object_new_int(o->seq));
	rec_set(j, "pack", json_object_new_boolean(o->pack));
	rec_set(j, "weight_decay", rec_double(o->weight_decay));
	rec_set(j, "clip", rec_double(o->clip));
	rec_set(j, "seed", json_object_new_uint64(o->seed));
	rec_set(j, "tokens", json_object_new_int64(res->tokens));
	rec_set(j, "final_loss", rec_double(res->last_loss));
	json_object *meta = json_object_new_object();
	rec_set(meta, "recycle.train", json_object_new_string(rec_str(j)));
	json_object_put(j);
	return meta;
}

int main(int argc, char **argv)
{
	enum { O_TIE = 256, O_LR, O_MINLR, O_WARMUP, O_NOPACK, O_WD, O_CLIP, O_LOG, O_VERSION };
	static const struct option lo[] = {
		{ "task", 1, 0, 't' },         { "init", 1, 0, 'i' },        { "config", 1, 0, 'c' },
		{ "tie", 0, 0, O_TIE },        { "steps", 1, 0, 'n' },       { "lr", 1, 0, O_LR },
		{ "min-lr", 1, 0, O_MINLR },   { "warmup", 1, 0, O_WARMUP }, { "batch", 1, 0, 'b' },
		{ "seq", 1, 0, 'T' },          { "no-pack", 0, 0, O_NOPACK }, { "weight-decay", 1, 0, O_WD },
		{ "clip", 1, 0, O_CLIP },      { "seed", 1, 0, 's' },        { "dtype", 1, 0, 'D' },
		{ "threads", 1, 0, 'j' },      { "log-every", 1, 0, O_LOG }, { "output", 1, 0, 'o' },
		{ "quiet", 0, 0, 'q' },        { "help", 0, 0, 'h' },        { "version", 0, 0, O_VERSION },
		{ 0, 0, 0, 0 }
	};
	struct train_opts o;
	const char *init = NULL, *spec = NULL, *out = NULL;
	char **paths = NULL;
	double *w = NULL;
	int ntask = 0, tie = 0, dt = DT_BF16, warmup_set = 0, c;
	long every = 0;
	int quiet = 0;
	prog_init(argv[0]);
	train_opts_default(&o);
	while ((c = getopt_long(argc, argv, "t:i:c:n:b:T:s:d:D:j:o:qh", lo, NULL)) != -1) {
		switch (c) {
		case 't':
			paths = xrealloc(paths, (ntask + 1) * sizeof *paths);
			w = xrealloc(w, (ntask + 1) * sizeof *w);
			if (train_task_arg(optarg, &paths[ntask], &w[ntask]) < 0)
				usage_err("--task %s", err_get());
			ntask++;
			break;
		case 'i': init = optarg; break;
		case 'c': spec = optarg; break;
		case O_TIE: tie = 1; break;
		case 'n': o.steps = arg_int("--steps", optarg, 1, 1L << 40); break;
		case O_LR: o.lr = arg_double("--lr", optarg, 0, INFINITY, 1); break;
		case O_MINLR: o.lr_min = arg_double("--min-lr", optarg, 0, INFINITY, 0); break;
		case O_WARMUP: o.warmup = arg_int("--warmup", optarg, 0, 1L << 40); warmup_set = 1; break;
		case 'b': o.batch = (int)arg_int("--batch", optarg, 1, 1 << 20); break;
		case 'T': o.seq = (int)arg_int("--seq", optarg, 2, 1 << 20); break;
		case O_NOPACK: o.pack = 0; break;
		case O_WD: o.weight_decay = arg_double("--weight-decay", optarg, 0, INFINITY, 0); break;
		case O_CLIP: o.clip = arg_double("--clip", optarg, 0, INFINITY, 0); break;
		case 's': {
			char *end;
			errno = 0;
			o.seed = strtoull(optarg, &end, 10);
			if (!*optarg || *end || errno || optarg[0] == '-')
				usage_err("--seed '%s': want a non-negative integer", optarg);
			break;
		}
		case 'd':   /* the old spelling of -D */
		case 'D':
			dt = dtype_parse_user(optarg);
			if (dt != DT_F32 && dt != DT_BF16 && dt != DT_F16)
				usage_err("--dtype '%s': want bf16, f32 or f16", optarg);
			break;
		case 'j': o.threads = (int)arg_int("--threads", optarg, 1, 256); break;
		case O_LOG: every = arg_int("--log-every", optarg, 1, 1L << 40); break;
		case 'o': out = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case O_VERSION: print_version(); return 0;
		default: fputs(usage_text, stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		usage_err("unexpected argument '%s' (task files go with -t)", argv[optind]);
	if (ntask == 0)
		usage_err("no task files (-t FILE[:WEIGHT])");
	double wsum = 0;
	for (int k = 0; k < ntask; k++)
		wsum += w[k];
	if (!(wsum > 0) || !isfinite(wsum))
		usage_err("--task: the weights sum to %g: at least one must be positive", wsum);
	if (!init == !spec)
		usage_err(init ? "--init and --config: give one, not both" : "no model: give --init CKPT or --config SPEC");
	int nstdin = init && strcmp(init, "-") == 0;
	for (int k = 0; k < ntask; k++)
		nstdin += strcmp(paths[k], "-") == 0;
	if (nstdin > 1)
		usage_err("standard input (-) given twice");
	if (tie && init)
		usage_err("--tie: only with --config (an --init model keeps its own tying)");
	if (!out)
		usage_err("no output (-o OUT)");
	size_t ol = strlen(out);
	if (ol >= 4 && strcmp(out + ol - 4, ".zst") == 0)
		usage_err("--output '%s': ckpt-train does not compress; write - and pipe it to ckpt-cat -z", out);
	if (strcmp(out, "-") == 0 && isatty(STDOUT_FILENO))
		usage_err("--output -: standard output is a terminal");
	if (!warmup_set && o.warmup > o.steps)
		o.warmup = o.steps / 10;
	if (train_opts_check(&o) < 0)
		usage_err("%s", err_get());
	if (every == 0)
		every = o.steps >= 20 ? o.steps / 20 : 1;

	struct llama_model *m;
	if (init) {
		if (!(m = lmio_load_path(init)))
			die_err();
	} else {
		struct llama_config cfg;
		if (train_config_parse(spec, tie, &cfg) < 0)
			usage_err("%s", err_get());
		if (!(m = llama_new(&cfg)))
			die_err();
		llama_init(m, o.seed, 0.02);
	}
	check_output(out);
	task **tasks = xcalloc(ntask, sizeof *tasks);
	for (int k = 0; k < ntask; k++)
		if (!(tasks[k] = task_load(paths[k], m->cfg.vocab, 0)))
			die_err();

	struct train_result res;
	struct progress pg;
	progress_start_count(&pg, "ckpt-train", (uint64_t)o.steps, "step", quiet);
	int rc = train_run(m, tasks, w, ntask, &o, every, on_report, &pg, &res);
	progress_end(&pg);
	if (rc < 0)
		die_err();
	if (res.skipped)
		warnmsg("%ld of %ld steps skipped: non-finite gradient (try a lower --lr)", res.skipped, o.steps);
	if (res.truncated && !quiet)
		warnmsg("%ld examples longer than --seq %d were cut", res.truncated, o.seq);

	json_object *meta = provenance(init, spec, paths, w, ntask, &o, &res);
	struct stat st;
	const char *donor = init && stat(init, &st) == 0 && S_ISDIR(st.st_mode) ? init : NULL;
	if (lmio_save(m, out, dt, donor, meta) < 0)
		die_err();
	if (!quiet)
		fprintf(stderr, "%s: %s: %ld steps, %ld tokens in %.1f s (%.0f tokens/s), loss %.4f -> %.4f\n",
		        prog_name, out, o.steps, res.tokens, res.seconds, res.seconds > 0 ? res.tokens / res.seconds : 0,
		        res.first_loss, res.last_loss);
	json_object_put(meta);
	for (int k = 0; k < ntask; k++) {
		task_free(tasks[k]);
		free(paths[k]);
	}
	free(tasks);
	free(paths);
	free(w);
	llama_free(m);
	return 0;
}
