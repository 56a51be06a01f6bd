/* tokenize — encode records' "text" into "ids" (or decode "ids" into "text") with a checkpoint's
 * Hugging Face tokenizer. The work is in common/tok. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "rec.h"
#include "tok.h"

static const char usage_text[] =
"usage: tokenize [options] TOKENIZER [FILE...]\n"
"Encode each NDJSON record's \"text\" with a Hugging Face tokenizer and add its token ids as\n"
"\"ids\"; with --decode, add the \"text\" of its \"ids\". Every other field passes through.\n"
"TOKENIZER: a checkpoint directory holding tokenizer.json (and tokenizer_config.json), or a\n"
"tokenizer.json file. FILE: NDJSON records (default, or -: standard input).\n"
"\n"
"  -d, --decode          decode \"ids\" into \"text\" instead\n"
"  -s, --special         encode: add the tokenizer's special tokens around the text (BOS/EOS as\n"
"                        tokenizer_config.json's add_bos_token/add_eos_token say, else as the\n"
"                        tokenizer.json post-processor's template); decode: keep special tokens\n"
"                        in the text (by default they are left out)\n"
"  -h, --help            this help\n"
"      --version         print the version\n"
"\n"
"Exit status: 0 success, 1 bad input or failure, 2 usage.\n";

static void run(tok *t, const char *path, int decode, int flags)
{
	rec_reader *r = rec_open(path);
	json_object *o, *v;
	tok_ids ids = { 0 };
	int rc;
	if (!r)
		die_err();
	while ((rc = rec_next(r, &o)) == 1) {
		const char *name = rec_name(r);
		long line = rec_lineno(r);
		if (!decode) {
			if (!json_object_object_get_ex(o, "text", &v) || !json_object_is_type(v, json_type_string))
				die("%s:%ld: no \"text\" string", name, line);
			ids.n = 0;
			if (tok_encode(t, json_object_get_string(v), (size_t)json_object_get_string_len(v), flags, &ids) < 0)
				die("%s:%ld: %s", name, line, err_get());
			json_object *a = json_object_new_array_ext((int)ids.n);
			for (size_t i = 0; i < ids.n; i++)
				json_object_array_add(a, json_object_new_int(ids.v[i]));
			rec_set(o, "ids", a);
		} else {
			if (!json_object_object_get_ex(o, "ids", &v) || !json_object_is_type(v, json_type_array))
				die("%s:%ld: no \"ids\" array", name, line);
			size_t n = json_object_array_length(v);
			ids.n = 0;
			for (size_t i = 0; i < n; i++) {
				json_object *e = json_object_array_get_idx(v, i);
				int64_t id = json_object_get_int64(e);
				if (!json_object_is_type(e, json_type_int) || id < 0 || id > INT32_MAX)
					die("%s:%ld: ids[%zu] is not a token id", name, line, i);
				if (tok_ids_push(&ids, (int32_t)id) < 0)
					die_err();
			}
			size_t len;
			char *s = tok_decode(t, ids.v, ids.n, flags, &len);
			if (!s)
				die("%s:%ld: %s", name, line, err_get());
			rec_set(o, "text", json_object_new_string_len(s, (int)len));
			free(s);
		}
		if (rec_write(stdout, o) < 0)
			die_err();
		json_object_put(o);
	}
	if (rc < 0)
		die_err();
	rec_close(r);
	tok_ids_free(&ids);
}

int main(int argc, char **argv)
{
	enum { O_VERSION = 256 };
	static const struct option lo[] = {
		{ "decode", 0, 0, 'd' }, { "special", 0, 0, 's' }, { "help", 0, 0, 'h' },
		{ "version", 0, 0, O_VERSION }, { 0 }
	};
	int decode = 0, flags = 0, c;
	prog_init(argv[0]);
	while ((c = getopt_long(argc, argv, "dsh", lo, NULL)) != -1) {
		switch (c) {
		case 'd': decode = 1; break;
		case 's': flags |= TOK_SPECIAL; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case O_VERSION: print_version(); return 0;
		default: usage_err("unknown option");
		}
	}
	if (optind >= argc)
		usage_err("no tokenizer given");
	int nstdin = 0;
	for (int i = optind + 1; i < argc; i++)
		nstdin += !strcmp(argv[i], "-");
	if (nstdin > 1)
		usage_err("standard input is given twice");
	tok *t = tok_load(argv[optind++]);
	if (!t)
		die_err();
	if (optind == argc)
		run(t, "-", decode, flags);
	for (int i = optind; i < argc; i++)
		run(t, argv[i], decode, flags);
	tok_free(t);
	return 0;
}
