/* wmerge — streaming weighted merge of N checkpoints (see common/merge.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "err.h"
#include "merge.h"
#include "pool.h"
#include "progress.h"
#include "st.h"

static const char usage_text[] =
"usage: wmerge -w WEIGHTS [options] CKPT...\n"
"Merge checkpoints of one model into one, tensor by tensor and chunk by chunk, as a safetensors\n"
"stream on stdout or into -o PATH. CKPT: a .safetensors file, a .safetensors.zst file, a Hugging\n"
"Face directory, or - for standard input.\n"
"\n"
"  -w, --weights W       0.2,0.3,0.5 (argument order), or @FILE / @- : a JSON record whose\n"
"                        \"weights\" is an array or an object keyed by checkpoint name\n"
"  -m, --method M        linear (default), task-arithmetic, ties, dare-linear, dare-ties, slerp\n"
"      --base CKPT       the base model of task-arithmetic, ties and dare\n"
"  -d, --density D       ties, dare: fraction of each task vector kept, in (0, 1]\n"
"  -s, --seed S          dare: seed of the random drop (default 0)\n"
"      --no-normalize    use the weights as given (default: scaled to sum 1)\n"
"      --allow-negative  accept negative weights\n"
"  -D, --dtype DTYPE     output dtype of float tensors: f32, f16, bf16, f64 (default: the\n"
"                        first input's; the inputs' float dtypes may differ)\n"
"      --acc f32|f64     accumulator type (default f32)\n"
"  -j, --threads N       threads computing the merge (default: the cores it may run on, at\n"
"                        most 64); the output is the same bytes for any N\n"
"  -o, --output PATH     write PATH: *.safetensors or *.safetensors.zst is a file, anything\n"
"                        else a Hugging Face directory (shards, index, config, tokenizer)\n"
"      --donor CKPT      where config.json and tokenizer files come from (default: the first CKPT)\n"
"      --shard-size SIZE directory shards of at most SIZE bytes (default 5GB)\n"
"  -z, --zstd[=LEVEL]    compress the output with zstd (default level 3)\n"
"  -q, --quiet           no progress bar\n"
"  -h, --help            this help\n"
"      --version         print the version\n"
"\n"
"Old spellings, kept for scripts: -t for --dtype, -b for --base (see recycle(7), OPTIONS).\n"
"Exit status: 0 success, 1 bad input or failure, 2 usage.\n";

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *pg = ctx;
	pg->total = total;
	progress_add(pg, done - pg->done);
}

int main(int argc, char **argv)
{
	enum { O_NONORM = 256, O_NEG, O_ACC, O_DONOR, O_SHARD, O_VERSION };
	static const struct option lo[] = {
		{ "weights", 1, 0, 'w' }, { "method", 1, 0, 'm' }, { "base", 1, 0, 'b' },
		{ "density", 1, 0, 'd' }, { "seed", 1, 0, 's' }, { "no-normalize", 0, 0, O_NONORM },
		{ "allow-negative", 0, 0, O_NEG }, { "dtype", 1, 0, 'D' }, { "acc", 1, 0, O_ACC },
		{ "threads", 1, 0, 'j' }, { "output", 1, 0, 'o' }, { "donor", 1, 0, O_DONOR },
		{ "shard-size", 1, 0, O_SHARD }, { "zstd", 2, 0, 'z' }, { "quiet", 0, 0, 'q' },
		{ "help", 0, 0, 'h' }, { "version", 0, 0, O_VERSION }, { 0 }
	};
	struct merge_params p = { .method = MERGE_LINEAR, .normalize = 1, .acc = DT_F32, .threads = 0,
	                          .density = -1 };
	const char *warg = NULL, *base_arg = NULL, *donor_arg = NULL, *out = NULL;
	int out_dt = -1, quiet = 0, seed_set = 0, c;
	struct st_wopts wo = { 0 };
	char *end;
	prog_init(argv[0]);
	while ((c = getopt_long(argc, argv, "w:m:b:d:s:t:D:j:o:z::qh", lo, NULL)) != -1) {
		switch (c) {
		case 'w': warg = optarg; break;
		case 'm':
			if ((p.method = merge_method_parse(optarg)) < 0)
				usage_err("--method: unknown method '%s'", optarg);
			break;
		case 'b': base_arg = optarg; break;
		case 'd':
p.density = arg_double("--density", optarg, 0, 1, 1); break;
		case 's':
			p.seed = strtoull(optarg, &end, 10);
			if (end == optarg || *end || optarg[0] == '-')
				usage_err("--seed: '%s' is not a non-negative integer", optarg);
			seed_set = 1;
			break;
		case O_NONORM: p.normalize = 0; break;
		case O_NEG: p.allow_negative = 1; break;
		case 't':   /* the old spelling of -D */
		case 'D':
			if ((out_dt = dtype_parse_user(optarg)) < 0)
				usage_err("--dtype: unknown dtype '%s' (f32, f16, bf16 or f64)", optarg);
			break;
		case O_ACC:
			p.acc = dtype_parse_user(optarg);
			if (p.acc != DT_F32 && p.acc != DT_F64)
				usage_err("--acc: '%s' is neither f32 nor f64", optarg);
			break;
		case 'j': p.threads = (int)arg_int("--threads", optarg, 1, 256); break;
		case 'o': out = optarg; break;
		case O_DONOR: donor_arg = optarg; break;
		case O_SHARD:
			if (st_parse_size(optarg, &wo.shard_size) < 0 || wo.shard_size == 0)
				usage_err("--shard-size: bad size '%s'", optarg);
			break;
		case 'z': wo.zstd_level = optarg ? (int)arg_int("--zstd", optarg, 1, 22) : 3; break;
		case 'q': quiet = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case O_VERSION: print_version(); return 0;
		default: usage_err("unknown option");
		}
	}
	if (p.threads == 0)   /* the same bytes for any count: the cores it may use, as users expect */
		p.threads = pool_cores(64);
	p.n = (size_t)(argc - optind);
	if (!warg)
		usage_err("no weights given (-w)");
	if (p.n == 0)
		usage_err("no checkpoint given");
	const char *mname = merge_method_name(p.method);
	if (merge_method_uses_base(p.method) && !base_arg)
		usage_err("%s needs a base checkpoint (--base)", mname);
	if (!merge_method_uses_base(p.method) && base_arg)
		usage_err("--base: %s does not use a base checkpoint", mname);
	if (merge_method_uses_density(p.method) && p.density < 0)
		usage_err("%s needs --density", mname);
	if (!merge_method_uses_density(p.method) && p.density >= 0)
		usage_err("--density: %s does not use it", mname);
	if (!merge_method_uses_seed(p.method) && seed_set)
		usage_err("--seed: %s does not use it", mname);
	if (p.method == MERGE_SLERP && p.n != 2)
		usage_err("slerp merges exactly two checkpoints, not %zu", p.n);

	/* Standard input can be read once: as one checkpoint, or the weights. */
	int nstdin = strcmp(warg, "@-") == 0;
	const char *args[3] = { base_arg, donor_arg, NULL };
	for (int i = 0; i < 2; i++)
		nstdin += args[i] && strcmp(args[i], "-") == 0;
	for (int i = optind; i < argc; i++)
		nstdin += strcmp(argv[i], "-") == 0;
	if (nstdin > 1)
		usage_err("standard input (-) given twice");

	/* Weights in a list can be counted before anything is opened. */
	double *w = xcalloc(p.n, sizeof *w);
	const char **names = xcalloc(p.n, sizeof *names);
	size_t nw;
	if (warg[0] != '@' && merge_weights_parse(warg, p.n, names, w, &nw) < 0)
		usage_err("%s", err_get());

	st_ckpt **in = xcalloc(p.n, sizeof *in), *base = NULL, *donor;
	for (size_t i = 0; i < p.n; i++) {
		if (!(in[i] = st_open(argv[optind + i])))
			die_err();
		names[i] = st_stem(in[i]);
	}
	if (base_arg && !(base = st_open(base_arg)))
		die_err();
	donor = in[0];
	if (donor_arg && !(donor = st_open(donor_arg)))
		die_err();
	if (warg[0] == '@' && merge_weights_parse(warg, p.n, names, w, &nw) < 0)
		usage_err("%s", err_get());
	p.w = w;
	p.nw = nw;
	merger *m = merge_new(&p);
	if (!m)
		usage_err("%s", err_get());

	char *prov = merge_provenance(m, names, base ? st_stem(base) : NULL);
	json_object *meta = json_object_new_object();
	if (!prov || !meta)
		die_err();
	json_object_object_add(meta, "recycle.merge", json_object_new_string(prov));
	wo.meta = meta;
	wo.config = st_config(donor);
	wo.donor_dir = st_dir(donor);
	if (!out && stdout_is_tty_refuse() < 0)
		die_err();
	st_writer *wr = st_create(out, &wo);
	if (!wr)
		die_err();
	struct progress pg;
	progress_start(&pg, "wmerge", 0, quiet);
	if (merge_run(m, in, p.n, base, out_dt, wr, on_progress, &pg) < 0) {
		progress_end(&pg);
		st_abort(wr);
		die_err();
	}
	if (st_commit(wr) < 0)
		die_err();
	progress_end(&pg);
	merge_free(m);
	json_object_put(meta);
	free(prov);
	for (size_t i = 0; i < p.n; i++)
		st_close(in[i]);
	if (donor != in[0])
		st_close(donor);
	st_close(base);
	free(in);
	free(names);
	free(w);
	return 0;
}
