/* task-gen — write byte-level task files of synthetic skills (train, dev and test splits that
 * never share a prompt), or check task files with the loader evalrun and ckpt-train use. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "rec.h"
#include "rng.h"
#include "task.h"
#include "tmp.h"

struct params {
	int dlo, dhi;         /* --digits: operand digits (add, cmp, seq) */
	int llo, lhi;         /* --len: string length (rev, sort, copy, count) */
	int letters;          /* --letters: the alphabet is the first K lowercase letters */
	int tlo, thi;         /* --terms: terms of a seq text */
};

/* One generated example: GEN uses prompt+target, MC prompt+answer (fixed choices), TEXT text. */
struct gen {
	char prompt[256], target[256], text[1024];
	int answer;
};

typedef void genfn(rng *r, const struct params *p, struct gen *g);

static int range(rng *r, int lo, int hi) { return lo + (int)rng_below(r, (uint64_t)(hi - lo + 1)); }

/* A number of LO..HI digits, each digit count equally likely, uniform within it. */
static unsigned long long number(rng *r, const struct params *p)
{
	int d = range(r, p->dlo, p->dhi);
	unsigned long long lo = 1;
	for (int i = 1; i < d; i++)
		lo *= 10;
	if (d == 1)
		return rng_below(r, 10);
	return lo + rng_below(r, 9 * lo);
}

static void letters(rng *r, const struct params *p, char *s)
{
	int n = range(r, p->llo, p->lhi);
	for (int i = 0; i < n; i++)
		s[i] = (char)('a' + rng_below(r, (uint64_t)p->letters));
	s[n] = 0;
}

static void gen_add(rng *r, const struct params *p, struct gen *g)
{
	unsigned long long a = number(r, p), b = number(r, p);
	snprintf(g->prompt, sizeof g->prompt, "%llu+%llu=", a, b);
	snprintf(g->target, sizeof g->target, "%llu\n", a + b);
}

static void gen_rev(rng *r, const struct params *p, struct gen *g)
{
	char s[208];
	size_t n;
	letters(r, p, s);
	n = strlen(s);
	snprintf(g->prompt, sizeof g->prompt, "rev:%s=", s);
	for (size_t i = 0; i < n; i++)
		g->target[i] = s[n - 1 - i];
	strcpy(g->target + n, "\n");
}

static void gen_sort(rng *r, const struct params *p, struct gen *g)
{
	char s[208];
	int count[26] = { 0 };
	size_t k = 0;
	letters(r, p, s);
	snprintf(g->prompt, sizeof g->prompt, "sort:%s=", s);
	for (char *c = s; *c; c++)
		count[*c - 'a']++;
	for (int c = 0; c < 26; c++)
		while (count[c]--)
			g->target[k++] = (char)('a' + c);
	strcpy(g->target + k, "\n");
}

static void gen_copy(rng *r, const struct params *p, struct gen *g)
{
	char s[208];
	letters(r, p, s);
	snprintf(g->prompt, sizeof g->prompt, "copy:%s=", s);
	snprintf(g->target, sizeof g->target, "%s\n", s);
}

static void gen_count(rng *r, const struct params *p, struct gen *g)
{
	char s[208], c;
	int n = 0;
	letters(r, p, s);
	/* Mostly a letter of the string, so the answers are not nearly always 0. */
	if (rng_below(r, 4))
		c = s[rng_below(r, strlen(s))];
	else
		c = (char)('a' + rng_below(r, (uint64_t)p->letters));
	for (char *q = s; *q; q++)
		n += *q == c;
	snprintf(g->prompt, sizeof g->prompt, "count:%c:%s=", c, s);
	snprintf(g->target, sizeof g->target, "%d\n", n);
}

static const char *const cmp_choices[] = { "<\n", "=\n", ">\n" };

static void gen_cmp(rng *r, const struct params *p, struct gen *g)
{
	unsigned long long a = number(r, p), b = rng_below(r, 8) ? number(r, p) : a;
	snprintf(g->prompt, sizeof g->prompt, "cmp:%llu,%llu=", a, b);
	g->answer = a < b ? 0 : a == b ? 1 : 2;
}

static void gen_seq(rng *r, const struct params *p, struct gen *g)
{
	unsigned long long a = number(r, p), d = 1 + rng_below(r, 9);
	int n = range(r, p->tlo, p->thi), k = snprintf(g->text, sizeof g->text, "seq:");
	for (int i = 0; i < n; i++)
		k += snprintf(g->text + k, sizeof g->text - k, "%s%llu", i ? "," : "", a + (unsigned long long)i * d);
	snprintf(g->text + k, sizeof g->text - k, "\n");
}

static const struct skill {
	const char *name;
	int kind;
	genfn *fn;
	const char *help, *opts;   /* the format; the options that set its difficulty */
} skills[] = {
	{ "add", TASK_GEN, gen_add, "\"12+345=\" -> \"357\\n\": addition", "--digits" },
	{ "rev", TASK_GEN, gen_rev, "\"rev:abc=\" -> \"cba\\n\": reversal", "--len, --letters" },
	{ "sort", TASK_GEN, gen_sort, "\"sort:cab=\" -> \"abc\\n\": sorting letters", "--len, --letters" },
	{ "copy", TASK_GEN, gen_copy, "\"copy:abc=\" -> \"abc\\n\": copying", "--len, --letters" },
	{ "count", TASK_GEN, gen_count, "\"count:a:abca=\" -> \"2\\n\": counting a letter", "--len, --letters" },
	{ "cmp", TASK_MC, gen_cmp, "\"cmp:12,9=\" choices \"<\\n\" \"=\\n\" \">\\n\": comparison, multiple choice", "--digits" },
	{ "seq", TASK_TEXT, gen_seq, "\"seq:4,7,10,13\\n\": arithmetic sequences, text", "--digits, --terms" },
};
#define NSKILLS (int)(sizeof skills / sizeof skills[0])

/* ---- distinct keys (prompts, or texts) across the splits of one skill ---- */

struct set {
	char **slot;
	size_t cap, n;
};

/* 1 if added, 0 if already there. */
static int set_add(struct set *s, const char *key)
{
	if (2 * (s->n + 1) > s->cap) {
		struct set b = { xcalloc(s->cap ? 2 * s->cap : 1024, sizeof *b.slot), s->cap ? 2 * s->cap : 1024, 0 };
		for (size_t i = 0; i < s->cap; i++)
			if (s->slot[i]) {
				size_t j = task_hash(s->slot[i], strlen(s->slot[i]), 0) & (b.cap - 1);
				while (b.slot[j])
					j = (j + 1) & (b.cap - 1);
				b.slot[j] = s->slot[i];
				b.n++;
			}
		free(s->slot);
		*s = b;
	}
	size_t j = task_hash(key, strlen(key), 0) & (s->cap - 1);
	for (; s->slot[j]; j = (j + 1) & (s->cap - 1))
		if (strcmp(s->slot[j], key) == 0)
			return 0;
	s->slot[j] = xstrdup(key);
	s->n++;
	return 1;
}

static void set_free(struct set *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
}

/* ---- output ---- */

struct out {
	char *path, *tmp;
	char *buf;
	size_t len;
};

static const char *const split_name[3] = { "test", "dev", "train" };

/* The lines of one split of one skill, appended to o->buf. The split's stream depends on the seed,
 * the skill and the split only, and test is drawn first, then dev, then train: so --train N does
 * not change dev or test, and adding a skill changes no other skill's files. */
static void gen_split(const struct skill *sk, int split, long n, uint64_t seed, const struct params *p,
                      struct set *seen, struct out *o)
{
	rng r;
	uint64_t h = task_hash(&seed, sizeof seed, 0);
	h = task_hash(sk->name, strlen(sk->name) + 1, h);
	h = task_hash(split_name[split], strlen(split_name[split]), h);
	rng_seed(&r, h);
	size_t cap = 0;
	long miss = 0;
	for (long i = 0; i < n;) {
		struct gen g = { .answer = 0 };
		sk->fn(&r, p, &g);
		if (!set_add(seen, sk->kind == TASK_TEXT ? g.text : g.prompt)) {
			if (++miss > 100000)
				die("%s: found only %ld distinct examples for the %s split after 100000 repeats in a row: "
				    "ask for fewer examples or widen %s", sk->name, i, split_name[split], sk->opts);
			continue;
		}
		miss = 0;
		json_object *e = json_object_new_object();
		if (!e)
			die("out of memory");
		if (sk->kind == TASK_TEXT) {
			rec_set(e, "text", json_object_new_string(g.text));
		} else {
			rec_set(e, "prompt", json_object_new_string(g.prompt));
			if (sk->kind == TASK_GEN) {
				rec_set(e, "target", json_object_new_string(g.target));
			} else {
				json_object *c = json_object_new_array();
				for (size_t k = 0; k < sizeof cmp_choices / sizeof cmp_choices[0]; k++)
					json_object_array_add(c, json_object_new_string(cmp_choices[k]));
				rec_set(e, "choices", c);
				rec_set(e, "answer", json_object_new_int(g.answer));
			}
		}
		const char *s = rec_str(e);
		size_t l = strlen(s);
		if (o->len + l + 2 > cap)
			o->buf = xrealloc(o->buf, cap = 2 * (o->len + l + 2) + 4096);
		memcpy(o->buf + o->len, s, l);
		o->buf[o->len + l] = '\n';
		o->len += l + 1;
		json_object_put(e);
		i++;
	}
}

static void write_out(struct out *o)
{
	FILE *f;
	if (!(o->tmp = tmp_sibling(o->path)) || tmp_register(o->tmp, 0) < 0)
		die_err();
	if (!(f = fopen(o->tmp, "w")))
		die("%s:", o->tmp);
	if (fwrite(o->buf, 1, o->len, f) != o->len || fflush(f) == EOF || ferror(f)) {
		fclose(f);
		die("%s: write error:", o->tmp);
	}
	if (fclose(f) == EOF)
		die("%s: write error:", o->tmp);
}

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: task-gen [OPTION]... -o DIR SKILL...\n"
	        "       task-gen --check [-V VOCAB] [--limit N] FILE...\n"
	        "       task-gen --list\n"
	        "Write DIR/SKILL.train.jsonl, SKILL.dev.jsonl and SKILL.test.jsonl: byte-level task files\n"
	        "whose splits never share a prompt. SKILL is a name from --list, or all.\n"
	        "\n"
	        "  -o, --output DIR     directory to write (made if missing)\n"
	        "  -s, --seed S         random seed (default 1); the same seed gives the same bytes\n"
	        "      --train N        training examples a skill (default 2000; 0 writes no file)\n"
	        "      --dev N          dev examples a skill (default 200)\n"
	        "      --test N         test examples a skill (default 200)\n"
	        "      --digits LO[-HI] digits of each number: add, cmp, seq (default 1-3)\n"
	        "      --len LO[-HI]    letters of each string: rev, sort, copy, count (default 2-6)\n"
	        "      --letters K      alphabet of the first K lowercase letters (default 26)\n"
	        "      --terms LO[-HI]  terms of a seq text (default 3-5)\n"
	        "  -l, --list           list the skills and their formats\n"
	        "  -c, --check          load each FILE as evalrun and ckpt-train would and summarize it\n"
	        "  -V, --vocab N        with --check: vocabulary size (default 256: byte tokens)\n"
	        "  -n, --limit N        with --check: only the first N examples\n"
	        "  -h, --help           this help\n"
	        "      --version        print the version\n");
}

/* An integer in [lo, hi]; `arg` is the whole option argument for the message. */
static long num_in(const char *opt, const char *arg, const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi)
		usage_err("%s '%s': want an integer from %ld to %ld", opt, arg, lo, hi);
	return v;
}

static long num(const char *opt, const char *s, long lo, long hi) { return num_in(opt, s, s, lo, hi); }

/* "N" (exactly N) or "LO-HI". */
static void range_opt(const char *opt, const char *s, int lo, int hi, int *a, int *b)
{
	char buf[64];
	const char *dash = strchr(s, '-');
	if (!dash || dash == s) {
		*a = *b = (int)num(opt, s, lo, hi);
		return;
	}
	snprintf(buf, sizeof buf, "%.*s", (int)(dash - s), s);
	*a = (int)num_in(opt, s, buf, lo, hi);
	*b = (int)num_in(opt, s, dash + 1, lo, hi);
	if (*a > *b)
		usage_err("%s '%s': LO is larger than HI", opt, s);
}

static int check_files(char **files, int n, int vocab, long limit)
{
	int rc = 0;
	for (int i = 0; i < n; i++) {
		task *t = task_load(files[i], vocab, limit);
		if (!t) {
			warnmsg("%s", err_get());
			rc = EXIT_BAD;
			continue;
		}
		printf("%s: %s: %zu %s examples, %zu tokens, longest %zu\n", files[i], t->name, t->n,
		       task_kind_name(t->kind), t->ntok, t->max_seq);
		task_free(t);
	}
	return rc;
}

int main(int argc, char **argv)
{
	enum { O_TRAIN = 256, O_DEV, O_TEST, O_DIGITS, O_LEN, O_LETTERS, O_TERMS, O_VERSION };
	static const struct option lo[] = {
		{ "output", required_argument, 0, 'o' },   { "seed", required_argument, 0, 's' },
		{ "train", required_argument, 0, O_TRAIN }, { "dev", required_argument, 0, O_DEV },
		{ "test", required_argument, 0, O_TEST },   { "digits", required_argument, 0, O_DIGITS },
		{ "len", required_argument, 0, O_LEN },     { "letters", required_argument, 0, O_LETTERS },
		{ "terms", required_argument, 0, O_TERMS }, { "list", no_argument, 0, 'l' },
		{ "check", no_argument, 0, 'c' },           { "vocab", required_argument, 0, 'V' },
		{ "limit", required_argument, 0, 'n' }, { "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, O_VERSION },   { 0, 0, 0, 0 },
	};
	struct params p = { .dlo = 1, .dhi = 3, .llo = 2, .lhi = 6, .letters = 26, .tlo = 3, .thi = 5 };
	long count[3] = { 200, 200, 2000 };   /* test, dev, train */
	const char *dir = NULL;
	uint64_t seed = 1;
	int list = 0, check = 0, vocab = 256, c;
	long limit = 0;
	prog_init(argv[0]);
	while ((c = getopt_long(argc, argv, "o:s:lcV:n:h", lo, NULL)) != -1) {
		switch (c) {
		case 'o': dir = optarg; break;
		case 's': {
			char *end;
			errno = 0;
			seed = strtoull(optarg, &end, 10);
			if (!*optarg || *end || errno || optarg[0] == '-')
				usage_err("--seed '%s': want a non-negative integer", optarg);
			break;
		}
		case O_TRAIN: count[2] = num("--train", optarg, 0, 10000000); break;
		case O_DEV: count[1] = num("--dev", optarg, 0, 10000000); break;
		case O_TEST: count[0] = num("--test", optarg, 0, 10000000); break;
		case O_DIGITS: range_opt("--digits", optarg, 1, 18, &p.dlo, &p.dhi); break;
		case O_LEN: range_opt("--len", optarg, 1, 200, &p.llo, &p.lhi); break;
		case O_LETTERS: p.letters = (int)num("--letters", optarg, 1, 26); break;
		case O_TERMS: range_opt("--terms", optarg, 2, 20, &p.tlo, &p.thi); break;
		case 'l': list = 1; break;
		case 'c': check = 1; break;
		case 'V': vocab = (int)num("--vocab", optarg, 1, 1 << 30); break;
		case 'n': limit = num("--limit", optarg, 0, 1L << 40); break;
		case 'h': usage(stdout); return 0;
		case O_VERSION: print_version(); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (list) {
		for (int i = 0; i < NSKILLS; i++)
			printf("%-6s %-16s %s (%s)\n", skills[i].name, task_kind_name(skills[i].kind), skills[i].help,
			       skills[i].opts);
		return 0;
	}
	if (check) {
		if (optind == argc)
			usage_err("--check: no task files");
		return check_files(argv + optind, argc - optind, vocab, limit);
	}
	if (!dir)
		usage_err("no output directory (-o DIR)");
	if (optind == argc)
		usage_err("no skills (task-gen --list shows them; 'all' means every one)");

	int want[NSKILLS] = { 0 };
	for (int i = optind; i < argc; i++) {
		int k = 0;
		if (strcmp(argv[i], "all") == 0) {
			for (k = 0; k < NSKILLS; k++)
				want[k] = 1;
			continue;
		}
		while (k < NSKILLS && strcmp(argv[i], skills[k].name) != 0)
			k++;
		if (k == NSKILLS)
			usage_err("unknown skill '%s' (task-gen --list shows them)", argv[i]);
		want[k] = 1;
	}
	if (mkdir(dir, 0777) < 0 && errno != EEXIST)
		die("%s:", dir);
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		die("%s: not a directory", dir);

	/* Everything is generated before anything is written, then renamed into place together. */
	struct out outs[NSKILLS * 3];
	int nout = 0;
	for (int k = 0; k < NSKILLS; k++) {
		if (!want[k])
			continue;
		struct set seen = { 0 };
		for (int s = 0; s < 3; s++) {
			struct out o = { 0 };
			gen_split(&skills[k], s, count[s], seed, &p, &seen, &o);
			if (count[s] == 0)
				continue;
			size_t n = strlen(dir) + strlen(skills[k].name) + 32;
			o.path = xmalloc(n);
			snprintf(o.path, n, "%s/%s.%s.jsonl", dir, skills[k].name, split_name[s]);
			outs[nout++] = o;
		}
		set_free(&seen);
	}
	for (int i = 0; i < nout; i++)
		write_out(&outs[i]);
	for (int i = 0; i < nout; i++) {
		if (tmp_commit(outs[i].tmp, outs[i].path, 0) < 0)
			die_err();
		free(outs[i].tmp);
		free(outs[i].path);
		free(outs[i].buf);
	}
	return 0;
}
