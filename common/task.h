/* task.h — task files (recycle(7), TASK FILES): loading a JSONL task into token arrays for the
 * evaluator (evalrun) and the trainer (ckpt-train), and the trainer's weighted sampler of training
 * sequences. Also the small deterministic PRNG both the sampler and task-gen use.
 *
 * A task file holds one example a line, all of one kind, told apart by their fields:
 *   generation       {"prompt": s, "target": s}                    or "prompt_ids", "target_ids"
 *   multiple choice  {"prompt": s, "choices": [s, ...], "answer": i} or "choices_ids": [[id...]...]
 *   text             {"text": s}                                     or "text_ids"
 * Strings are tokenized with the checkpoint's tokenizer when task_load_tok is given one (tok.h);
 * without one they are byte tokens (token = byte, 0..255), accepted only when the vocabulary has
 * 256 entries. Any vocabulary can use the *_ids integer arrays, checked against [0, vocab).
 *
 * With a tokenizer, a prompt and its target or choice split as lm-evaluation-harness's
 * _encode_pair splits them: whitespace ending the prompt moves to the start of the continuation,
 * context = encode(prompt), continuation = encode(prompt + continuation) past the context's
 * token count; a generation target that adds no tokens that way (it merges into the prompt's last
 * token) is kept with tgt.len 0 and clean 0, to be judged as text. The tokenizer's BOS (tok_bos:
 * what its rules put before a sequence) starts every context once (not again when the prompt or
 * text begins with it), unless the file's "bos" says otherwise (below).
 * Mixing kinds in one file is refused: a task scores one metric. Other fields are ignored.
 *
 * Without a tokenizer no BOS is added unless the file says so: "bos": id on an example, or a first
 * line holding only {"bos": id} for every example of the file ("bos": null on an example, or as
 * that first line, turns it off). The BOS id
 * is then stored as the first token of the example's context, so consumers need not add it.
 *
 * A task's name is its file's basename up to the first dot: add.dev.jsonl → "add". */
#ifndef RECYCLE_TASK_H
#define RECYCLE_TASK_H

#include <stddef.h>
#include <stdint.h>

enum task_kind { TASK_GEN = 1, TASK_MC, TASK_TEXT };

#define TASK_MAX_TOKENS  (1 << 20)   /* tokens in one example (context + target or a choice) */
#define TASK_MAX_CHOICES 1024

typedef struct {
	size_t off, len;                 /* tokens tok[off .. off+len) */
} task_span;

typedef struct {
	task_span ctx;    /* GEN, MC: BOS (if any) + prompt. TEXT: BOS (if any) + text */
	task_span tgt;    /* GEN: the target (len 0 only for a string target with a tokenizer that
	                     adds no tokens to the prompt's: judged by its text) */
	size_t choice;    /* MC: its choices are choice[this .. this+nchoice) of the task */
	int nchoice;      /* MC: ≥ 2 */
	int answer;       /* MC: index of the right choice */
	int bos;          /* the BOS id that starts ctx, or -1 */
	size_t tstr, tstr_len;  /* GEN with a tokenizer and a string target: the target text
	                           (with the whitespace moved from the prompt) at str[tstr..] */
	int tstr_set;     /* tstr holds it */
	int clean;        /* encode(prompt + target) began with the prompt's tokens */
	long line;        /* line in the file, for messages */
} task_example;

/* One allocation holds the struct, the name, the examples, the choice spans and the tokens. */
typedef struct {
	const char *name;        /* "add" */
	const char *path;        /* as given */
	int kind;                /* enum task_kind */
	int vocab;               /* the vocabulary it was checked against */
	size_t n;                /* examples */
	const task_example *ex;
	const task_span *choice; /* MC choice spans */
	const int32_t *tok;      /* every token of the file */
	size_t ntok;
	size_t max_seq;          /* longest training sequence (task_seq_len) */
	const char *str;         /* GEN target texts (task_example.tstr) */
	struct tok *tk;          /* the tokenizer it was loaded with (not owned), or NULL */
} task;

/* Load a task file ("-" = standard input) checked against a vocabulary of `vocab` ids. limit > 0
 * keeps the first `limit` examples and stops reading there; 0 keeps all. NULL on error, with
 * err_get() = "FILE:LINE: why" (or "FILE: why"). */
task *task_load(const char *path, int vocab, long limit);
/* The same, strings tokenized with tk (NULL: byte tokens, as task_load). tk must outlive the task
 * and have at most vocab ids. */
struct tok;
task *task_load_tok(const char *path, int vocab, struct tok *tk, long limit);
void task_free(task *t);
/* Keep only the first n examples (n ≥ 0; more than there are changes nothing). */
void task_limit(task *t, size_t n);

/* The task name of a path into buf: basename up to the first dot; "stdin" for "-". -1 with
 * err_set when it is empty or does not fit. */
int task_name(const char *path, char *buf, size_t size);
const char *task_kind_name(int kind);    /* "generation", "multiple-choice", "text" */

/* The training sequence of example i: GEN context+target, MC context+right choice, TEXT the text.
 * Its length, and (when tok/mask are not NULL) its tokens and loss mask: mask[j] = 1 when token j
 * is one the loss predicts (-log p(tok[j] | tok[<j])): the target, the right choice, every text
 * token but the first. */
size_t task_seq_len(const task *t, size_t i);
size_t task_seq(const task *t, size_t i, int32_t *tok, uint8_t *mask);

uint64_t task_hash(const void *p, size_t n, uint64_t h);   /* FNV-1a 64 (h = 0 to start) */

/* The trainer's sampler: picks a task by weight, then the next example of that task's own
 * shuffled order (reshuffled after each pass), and lays training sequences into rows of T
 * tokens. Deterministic for a seed. */
typedef struct task_sampler task_sampler;

#define TASK_PACK 1   /* fill a row with as many whole examples as fit, not just one */

/* Weights ≥ 0, finite, not all 0; NULL weights = all 1. The tasks must outlive the sampler.
 * NULL on error (err_get()). */
task_sampler *task_sampler_new(task *const *tasks, const double *weights, int ntasks,
                               uint64_t seed, int flags);
void task_sampler_free(task_sampler *s);
/* One row: tok[0..T), mask[0..T) as in task_seq, src[0..T) (if not NULL) the index of the task
 * each token came from. Returns the number of real tokens; the rest of the row is padding (token
 * 0, mask 0, src -1), harmless at the end of a causal sequence. An example longer than T keeps
 * its last T tokens (GEN, MC: the target end) or its first T (TEXT), and is counted in
 * task_sampler_truncated(). With TASK_PACK, examples follow each other until the next does not
 * fit (a row holds at least one). */
int task_sampler_next(task_sampler *s, int32_t *tok, uint8_t *mask, int *src, int T);
long task_sampler_truncated(const task_sampler *s);
/* A row's mask as next-token targets (llama_loss_grad's form): targets[j] = tok[j+1] when
 * mask[j+1] is set, else -1 (and -1 at j = T-1). */
void task_targets(const int32_t *tok, const uint8_t *mask, int T, int *targets);
/* Examples drawn so far from task k. */
long task_sampler_count(const task_sampler *s, int k);

#endif
