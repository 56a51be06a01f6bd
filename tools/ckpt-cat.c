/* ckpt-cat — read, inspect, convert and reshard safetensors checkpoints. */
#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvt.h"
#include "stats.h"
#include "dtype.h"
#include "err.h"
#include "progress.h"
#include "rec.h"
#include "st.h"

static const char usage_text[] =
"usage: ckpt-cat [options] CKPT...\n"
"Concatenate checkpoints into one safetensors stream on stdout, or list, check, convert and\n"
"reshard them. CKPT: a .safetensors file, a .safetensors.zst file, a Hugging Face directory, or -\n"
"for standard input.\n"
"\n"
"  -l, --list            print one NDJSON record per tensor: name, dtype, shape, bytes, file\n"
"      --stats           with the list: min, max, mean, std, absmax, nan, inf (implies --list)\n"
"      --meta            print each checkpoint's __metadata__ as one JSON object a line; values\n"
"                        holding JSON (recycle.merge, recycle.train, config) as JSON\n"
"      --select GLOB     only tensors whose name matches GLOB (repeatable)\n"
"  -x, --exclude GLOB    leave out tensors whose name matches GLOB (repeatable)\n"
"  -D, --dtype DTYPE     convert floating tensors to f32, f16 or bf16 (integers untouched)\n"
"  -o, --output PATH     write PATH: *.safetensors or *.safetensors.zst is a file, anything\n"
"                        else a Hugging Face directory (shards, index, config, tokenizer)\n"
"      --shard-size SIZE directory shards of at most SIZE bytes of tensors (default 5GB;\n"
"                        K/M/G/T = powers of 1000, KiB/MiB/GiB/TiB = powers of 1024)\n"
"  -z, --zstd[=LEVEL]    compress the output with zstd (default level 3)\n"
"  -j, --threads N       zstd compression threads (default: all cores for large outputs)\n"
"  -c, --check           validate everything, data included; print nothing\n"
"  -q, --quiet           no progress bar\n"
"  -h, --help            this help\n"
"      --version         print the version\n"
"\n"
"Old spellings, kept for scripts: -t for --dtype, -s for --select (see recycle(7), OPTIONS).\n"
"Exit status: 0 success, 1 bad input or failure, 2 usage.\n";

struct opts {
	int list, stats, meta, check, quiet, dtype, zlevel, zthreads;
	const char **sel, **exc;
	int nsel, nexc;
	const char *out;
	uint64_t shard;
};

static int selected(const struct opts *o, const char *name)
{
	int ok = o->nsel == 0;
	for (int i = 0; i < o->nsel && !ok; i++)
		ok = fnmatch(o->sel[i], name, 0) == 0;
	for (int i = 0; i < o->nexc && ok; i++)
		ok = fnmatch(o->exc[i], name, 0) != 0;
	return ok;
}

static int out_dtype(const struct opts *o, int dt)
{
	return o->dtype >= 0 && dtype_is_float(dt) ? o->dtype : dt;
}

static void list_tensor(st_ckpt *ck, const struct st_tensor *t, const struct opts *o)
{
	json_object *r = json_object_new_object(), *shape = json_object_new_array();
	rec_set(r, "name", json_object_new_string(t->name));
	rec_set(r, "dtype", json_object_new_string(dtype_name(t->dtype)));
	for (int d = 0; d < t->ndim; d++)
		json_object_array_add(shape, json_object_new_int64(t->shape[d]));
	rec_set(r, "shape", shape);
	rec_set(r, "bytes", json_object_new_int64((int64_t)t->nbytes));
	rec_set(r, "file", json_object_new_string(st_file_name(ck, t->file)));
	if (o->stats && dtype_is_float(t->dtype)) {
		struct stats s;
		struct stats_summary m;
		const void *p;
		ssize_t n;
		size_t es = dtype_size(t->dtype);
		stats_init(&s);
		if (st_seek(ck, t) < 0)
			die_err();
		while ((n = st_read(ck, &p, ST_CHUNK)) > 0)
			if (stats_add(&s, t->dtype, p, (size_t)n / es) < 0)
				die_err();
		if (n < 0)
			die_err();
		stats_finish(&s, &m);
		rec_set(r, "min", rec_double(m.min));
		rec_set(r, "max", rec_double(m.max));
		rec_set(r, "mean", rec_double(m.mean));
		rec_set(r, "std", rec_double(m.std));
		rec_set(r, "absmax", rec_double(m.absmax));
		rec_set(r, "nan", json_object_new_int64((int64_t)m.nan));
		rec_set(r, "inf", json_object_new_int64((int64_t)m.inf));
	}
	if (rec_write(stdout, r) < 0)
		die_err();
	json_object_put(r);
}

/* The __metadata__ of ck as one record: a value that is the text of a JSON object or array (the
 * provenance and the config recycle writes) is given as that JSON, so a reader needs no second
 * parse; every other value stays a string. */
static void print_meta(st_ckpt *ck)
{
	json_object *m = st_meta_all(ck), *r = json_object_new_object();
	if (!r)
		die("out of memory");
	if (m) {
		json_object_object_foreach(m, k, v) {
			const char *text = json_object_get_string(v);
			json_object *j = NULL;
			if (text[strspn(text, " \t\r\n")] == '{' || text[strspn(text, " \t\r\n")] == '[') {
				json_tokener *tok = json_tokener_new();
				if (!tok)
					die("out of memory");
				json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
				j = json_tokener_parse_ex(tok, text, (int)strlen(text));
				if (json_tokener_get_error(tok) != json_tokener_success ||
				    json_tokener_get_parse_end(tok) != strlen(text)) {
					json_object_put(j);
					j = NULL;
				}
				json_tokener_free(tok);
			}
			json_object_object_add(r, k, j ? j : json_object_get(v));
		}
	}
	if (rec_write(stdout, r) < 0)
		die_err();
	json_object_put(r);
}

/* Copy (and convert) the current tensor of ck to w, chunk by chunk. */
static void copy_tensor(st_ckpt *ck, const struct st_tensor *t, int dt, st_writer *w, void *cbuf,
                        struct progress *pg)
{
	const void *p;
	ssize_t n;
	size_t es = dtype_size(t->dtype), ds = dtype_size(dt);
	/* Chunks sized so the converted chunk fits in cbuf (ST_CHUNK bytes). */
	size_t max = ds > es ? ST_CHUNK / ds * es : ST_CHUNK;
	if (st_seek(ck, t) < 0)
		die_err();
	while ((n = st_read(ck, &p, max)) > 0) {
		if (dt == t->dtype) {
			if (st_write(w, p, (size_t)n) < 0)
				die_err();
		} else {
			if (cvt_convert(dt, cbuf, t->dtype, p, (size_t)n / es) < 0 ||
			    st_write(w, cbuf, (size_t)n / es * ds) < 0)
				die_err();
		}
		progress_add(pg, (uint64_t)n);
	}
	if (n < 0)
		die_err();
}

int main(int argc, char **argv)
{
	enum { O_STATS = 256, O_META, O_SHARD, O_VERSION };
	static const struct option lo[] = {
		{ "list", 0, 0, 'l' }, { "stats", 0, 0, O_STATS }, { "meta", 0, 0, O_META }, { "select", 1, 0, 's' },
		{ "exclude", 1, 0, 'x' }, { "dtype", 1, 0, 'D' }, { "output", 1, 0, 'o' },
		{ "shard-size", 1, 0, O_SHARD }, { "zstd", 2, 0, 'z' }, { "threads", 1, 0, 'j' },
		{ "check", 0, 0, 'c' }, { "quiet", 0, 0, 'q' }, { "help", 0, 0, 'h' },
		{ "version", 0, 0, O_VERSION }, { 0 }
	};
	struct opts o = { .dtype = -1 };
	int c, nin = 0, nstdin = 0;
	st_ckpt **in = NULL;
	json_object *meta = NULL;
	void *cbuf = NULL;
	prog_init(argv[0]);
	o.sel = xcalloc((size_t)argc, sizeof *o.sel);
	o.exc = xcalloc((size_t)argc, sizeof *o.exc);
	while ((c = getopt_long(argc, argv, "ls:x:t:D:o:z::j:cqh", lo, NULL)) != -1) {
		switch (c) {
		case 'l': o.list = 1; break;
		case O_STATS: o.stats = o.list = 1; break;
		case O_META: o.meta = 1; break;
		case 's': o.sel[o.nsel++] = optarg; break;
		case 'x': o.exc[o.nexc++] = optarg; break;
		case 't':   /* the old spelling of -D */
		case 'D':
			o.dtype = dtype_parse_user(optarg);
			if (o.dtype != DT_F32 && o.dtype != DT_F16 && o.dtype != DT_BF16)
				usage_err("--dtype: unknown dtype '%s' (f32, f16 or bf16)", optarg);
			break;
		case 'o': o.out = optarg; break;
		case O_SHARD:
			if (st_parse_size(optarg, &o.shard) < 0 || o.shard == 0)
				usage_err("--shard-size: bad size '%s'", optarg);
			break;
		case 'z': {
			char *end;
			o.zlevel = optarg ? (int)strtol(optarg, &end, 10) : 3;
			if (optarg && (*end || o.zlevel < 1 || o.zlevel > 22))
				usage_err("-z: level must be 1..22, not '%s'", optarg);
			break;
		}
		case 'j': {
			char *end;
			o.zthreads = (int)strtol(optarg, &end, 10);
			if (*end || o.zthreads < 1 || o.zthreads > 256)
				usage_err("--threads: bad count '%s'", optarg);
			break;
		}
		case 'c': o.check = 1; break;
		case 'q': o.quiet = 1; break;
		case 'h': fputs(usage_text, stdout); goto done;
		case O_VERSION: print_version(); goto done;
		default: usage_err("unknown option");
		}
	}
	if (optind >= argc)
		usage_err("no checkpoint given");
	if (o.list && o.out)
		usage_err("--list and -o do not go together");
	if (o.check && (o.list || o.out))
		usage_err("--check prints nothing: it does not go with --list or -o");
	if (o.meta && (o.list || o.out || o.check || o.dtype >= 0 || o.nsel || o.nexc))
		usage_err("--meta prints the metadata only: it does not go with --list, --check, -o, -t, -s or -x");

	nin = argc - optind;
	in = xcalloc((size_t)nin, sizeof *in);
	for (int i = 0; i < nin; i++)
		if (strcmp(argv[optind + i], "-") == 0 && nstdin++)
			usage_err("standard input (-) given twice");
	for (int i = 0; i < nin; i++) {
		if (!(in[i] = st_open(argv[optind + i])))
			die_err();
	}

	if (o.check) {
		for (int i = 0; i < nin; i++) {
			const struct st_tensor *t;
			const void *p;
			int r;
			ssize_t n = 0;
			while (n >= 0 && (r = st_next(in[i], &t)) > 0)
				while ((n = st_read(in[i], &p, ST_CHUNK)) > 0)
					;
			if (n < 0)
				die_err();
			if (r < 0)
				die_err();
		}
		goto done;
	}

	if (o.meta) {
		for (int i = 0; i < nin; i++)
			print_meta(in[i]);
		goto done;
	}

	if (o.list) {
		for (int i = 0; i < nin; i++)
			for (size_t k = 0; k < st_count(in[i]); k++) {
				const struct st_tensor *t = st_at(in[i], k);
				if (selected(&o, t->name))
					list_tensor(in[i], t, &o);
			}
		goto done;
	}

	/* The output's tensors: every selected tensor of every input, names unique. */
	struct st_wopts wo = { .shard_size = o.shard, .zstd_level = o.zlevel, .zstd_threads = o.zthreads };
	for (int i = 0; i < nin && !wo.config; i++)
		wo.config = st_config(in[i]);
	for (int i = 0; i < nin && !wo.donor_dir; i++)
		wo.donor_dir = st_dir(in[i]);
	meta = json_object_new_object();
	for (int i = 0; i < nin; i++) {
		json_object *m = st_meta_all(in[i]);
		if (!m)
			continue;
		json_object_object_foreach(m, k, v) {
			if (strcmp(k, "format") && strcmp(k, "config") && !json_object_object_get_ex(meta, k, NULL))
				json_object_object_add(meta, k, json_object_get(v));
		}
	}
	wo.meta = meta;
	if (!o.out && stdout_is_tty_refuse() < 0)
		die_err();
	st_writer *w = st_create(o.out, &wo);
	if (!w)
		die_err();
	uint64_t total = 0;
	for (int i = 0; i < nin; i++)
		for (size_t k = 0; k < st_count(in[i]); k++) {
			const struct st_tensor *t = st_at(in[i], k);
			if (!selected(&o, t->name))
				continue;
			for (int j = 0; j < i; j++)
				if (st_find(in[j], t->name) && selected(&o, t->name))
					die("tensor %s is in both %s and %s", t->name, st_arg(in[j]), st_arg(in[i]));
			if (st_add(w, t->name, out_dtype(&o, t->dtype), t->ndim, t->shape) < 0)
				die_err();
			total += t->nbytes;
		}
	if (st_begin(w) < 0)
		die_err();
	cbuf = xmalloc(ST_CHUNK);
	struct progress pg;
	progress_start(&pg, "ckpt-cat", total, o.quiet);
	for (int i = 0; i < nin; i++)
		for (size_t k = 0; k < st_count(in[i]); k++) {
			const struct st_tensor *t = st_at(in[i], k);
			if (selected(&o, t->name))
				copy_tensor(in[i], t, out_dtype(&o, t->dtype), w, cbuf, &pg);
		}
	progress_end(&pg);
	/* Every input read to its end: a stream must end there, with no trailing bytes, even when
	 * the last tensors were not selected. */
	for (int i = 0; i < nin; i++) {
		const struct st_tensor *t;
		int r;
		while ((r = st_next(in[i], &t)) > 0)
			;
		if (r < 0)
			die_err();
	}
	if (st_commit(w) < 0)
		die_err();
done:
	for (int i = 0; i < nin; i++)
		st_close(in[i]);
	json_object_put(meta);
	free(cbuf);
	free(in);
	free(o.sel);
	free(o.exc);
	return 0;
}
