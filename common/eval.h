/* eval.h — scoring a checkpoint (evalrun's library): the built-in evaluator of task files on a
 * Llama model, batched across examples; running an external harness on a checkpoint and reading
 * the scores it writes (a recycle record, or lm-evaluation-harness's results JSON); and the
 * fields it adds to a record ("scores", "n", "eval").
 *
 * The metrics of recycle(7) "TASK FILES", each higher-is-better:
 *   generation       exact match: greedy decoding from the prompt gives the target's tokens, all
 *                    len(target) of them. Greedy picks the largest logit, ties to the lowest token
 *                    id, never a NaN (every logit NaN: no token, a miss). Nothing is decoded: in
 *                    one teacher-forced pass over prompt + target[:-1], the argmax at each of the
 *                    last len(target) positions must be the next target token (eval_match). That
 *                    is decoding's decision, reached without a KV cache or one step a token; the
 *                    two differ only where float rounding of a near tie differs between a packed
 *                    pass and a cached step. A target longer than max_new is a miss, not run.
 *                    A task loaded with a tokenizer is judged as text: a hit when the text greedy
 *                    decoding gives after the prompt begins with the target's text (the text of
 *                    its tokens, or the target string when encode(prompt + target) does not
 *                    begin with the prompt's tokens, or has no more than them). Teacher forcing
 *                    settles most examples; where greedy leaves the target's tokens but not its
 *                    text (or the target has no tokens of its own) it is decoded for
 *                    real with a KV cache (up to max_new tokens, else the target's + 16),
 *                    stopping at a special token.
 *   multiple choice  accuracy: the model's answer is the choice whose tokens have the largest
 *                    summed log-likelihood given the prompt (Σ log P(c_j | prompt, c_<j); no length
 *                    normalization), ties to the lowest index; a NaN sum never wins, and when every
 *                    sum is NaN there is no answer (a miss). The prompt runs once, its choices
 *                    batched after it (eval_loglik_shared).
 *   text             mean log-likelihood per token over the whole task: Σ log P(t_j | t_<j) over
 *                    every token of every example but its first (context only: with a "bos" the
 *                    BOS is that first token), divided by the number of those tokens. NaN when the
 *                    model gives NaN.
 *
 * Functions returning int give 0, or -1 with err_set(). */
#ifndef RECYCLE_EVAL_H
#define RECYCLE_EVAL_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "llama.h"
#include "progress.h"
#include "st.h"
#include "task.h"

/* Tokens in one packed forward pass of eval_loglik, eval_loglik_shared and eval_match, unless a
 * single sequence is longer: at most EVAL_PASS_TOKENS, and at most as many as fit in
 * EVAL_PASS_BYTES of activations (llama_pass_bytes_per_token; eval_loglik_shared counts its KV
 * cache too). That bounds the memory beside the weights whatever the batch: a 1B Llama 3 takes
 * about 3,400 tokens a pass (160 kB a token), a 0.5B Qwen2 about 6,300, a tiny model 16384. */
#define EVAL_PASS_TOKENS 16384
#define EVAL_PASS_BYTES ((size_t)512 << 20)
/* The tokens of one pass for config c, as above. */
size_t eval_pass_tokens(const struct llama_config *c);

/* A context (≥ 1 token) and a continuation: the tokens scored (eval_loglik) or the target greedy
 * decoding must reproduce (eval_match). */
struct eval_seq {
	const int32_t *ctx;
	size_t nctx;
	const int32_t *cont;
	size_t ncont;
};

/* ll[i] = Σ_j log P(cont_i[j] | ctx_i, cont_i[<j]) (a sum of f32 log-probabilities, in double)
 * for each of the n sequences, packed batch at a time (and at most eval_pass_tokens tokens) into
 * each llama_logprobs call. *tokens (may be NULL) grows by the tokens run through the model; pg
 * (may be NULL) advances by one per sequence. */
int eval_loglik(struct llama_model *m, const struct eval_seq *s, size_t n, int batch, double *ll,
                uint64_t *tokens, struct progress *pg);

/* The same ll[i] as eval_loglik, computed without running a context twice: consecutive
 * sequences with the same context (the same ctx pointer and nctx, as a multiple-choice example's
 * choices have) form a run. A group of runs (as many as fit in batch continuations,
 * eval_pass_tokens tokens and EVAL_PASS_BYTES) runs its contexts once, each into a slot of a
 * KV cache (llama_step), whose last logits score each continuation's first token; then all the continuations but their
 * last tokens as one batch after their contexts' slots (llama_logprobs_cont), as llama.cpp's
 * perplexity tool runs HellaSwag. Equal to eval_loglik's sums within float rounding. *tokens
 * grows by each context once plus the continuation tokens run. */
int eval_loglik_shared(struct llama_model *m, const struct eval_seq *s, size_t n, int batch, double *ll,
                       uint64_t *tokens, struct progress *pg);

/* agree[i] = how many leading tokens of cont_i greedy decoding after ctx_i reproduces: ncont_i
 * when it gives them all (an exact match), else the index of the first it gets wrong; 0 for
 * ncont_i = 0. Judged teacher-forced, without decoding: each sequence runs ctx_i + cont_i[:-1]
 * once, packed as in eval_loglik (up to batch of them a pass), and llama_argmax gives the greedy
 * token at each of its last ncont_i positions. tokens and pg as for eval_loglik (a sequence with
 * no continuation runs nothing). */
int eval_match(struct llama_model *m, const struct eval_seq *s, size_t n, int batch, size_t *agree,
               uint64_t *tokens, struct progress *pg);
/* The same, and next[i] (next may be NULL) = the greedy token at cont_i[agree[i]], where it first
 * differs (-1 when it does not, or when every logit is NaN); ll[i] (ll may be NULL) = Σ_j log
 * P(cont_i[j] | ctx_i, cont_i[<j]) as eval_loglik gives it, from the same pass's logits (the
 * target's last token is scored after the pass's last position, without running it). */
int eval_match_next(struct llama_model *m, const struct eval_seq *s, size_t n, int batch, size_t *agree,
                    int *next, double *ll, uint64_t *tokens, struct progress *pg);

/* Index of the largest of v[0..n), ties to the lowest index, NaN never chosen; -1 when all NaN. */
int eval_argmax_d(const double *v, size_t n);

struct eval_opts {
	int batch;              /* sequences a forward pass (≥ 1) */
	int max_new;            /* generation: the longest target that can match; 0 no limit */
	struct progress *pg;    /* eval_task: advanced by one per sequence (eval_task_seqs), or NULL */
	/* eval_builtin only */
	const char *tokenizer;  /* tokenizer.json or a directory holding one (NULL: the checkpoint's
	                         * directory's, if it is a directory with one; else byte tokens) */
	long limit;             /* > 0: only the first examples of each task */
	int threads;            /* > 0: llama_set_threads */
	int quiet;              /* no progress bar */
	int per_example;        /* add every example's outcome to the record ("examples") */
	int loglik;             /* eval_task: also r->ll (below); eval_builtin: the record's "ll" */
};

struct eval_result {
	double score;           /* the task's metric, above */
	size_t n;               /* examples scored */
	uint64_t tokens;        /* tokens run through the model (prompts and continuations; a
	                         * target's or a choice's last token is not run, and a multiple-
	                         * choice prompt runs once for all its choices) */
	double seconds;
	double ll;              /* with o->loglik, a smooth companion of the score, higher better:
	                         * generation: the targets' mean log-likelihood per token (Σ over the
	                         * examples run of log P(target | prompt), over their target tokens);
	                         * multiple choice: the mean over examples of the log-probability of
	                         * the answer among the choices, ll_answer − log Σ_c exp(ll_c);
	                         * text: the score itself. Else 0. */
	double soft;            /* with o->loglik, a soft score, on the score's scale: the mean over
	                         * the examples of min(1, 2 P), P the probability of the whole target
	                         * given the prompt (generation; 0 for a target not run) or of the
	                         * answer among the choices (multiple choice): 1 where P > 1/2, which
	                         * makes every target token, or the answer, the argmax, so the
	                         * example is surely right; text: the score itself. Else 0. */
};

/* Scores task t (loaded for m's vocabulary). each (NULL, or room for t->n) receives every
 * example's part: 1 or 0 (generation, multiple choice), its mean log-likelihood per token (text). */
int eval_task(struct llama_model *m, const task *t, const struct eval_opts *o, double *each,
              struct eval_result *r);
/* The sequences eval_task runs for t: one an example, one a choice for multiple choice. */
size_t eval_task_seqs(const task *t);

/* The built-in evaluator on checkpoint arg (see st_open): the config read first, the tokenizer
 * (o->tokenizer, else arg's own tokenizer.json when arg is a directory with one), every task file
 * loaded for its vocabulary and tokenizer (so a bad task fails before a long load), the model
 * loaded, each task scored; adds to rec "scores", "n" and "se" by task name, and "eval" {seconds
 * (this call), tokens, load_seconds}. "se" is the standard error of a score from its examples
 * (their sample standard deviation over sqrt(n), as lm-evaluation-harness's stderr: for an
 * accuracy, about the binomial sqrt(p(1-p)/n)); with o->per_example, "examples" {task: [each
 * example's outcome]} too; with o->loglik, "ll" {task: r.ll} (the smooth fitness optimize's
 * --fitness loglik searches with). */
int eval_builtin(const char *arg, const char *const *tasks, int ntasks, const struct eval_opts *o,
                 json_object *rec);

/* The vocabulary size ck's config declares, read from the headers before any tensor (so task
 * files can be checked before a long load); -1 with the message lmio_load would give. */
int eval_vocab(st_ckpt *ck);

/* ---- records ---- */

/* o.scores[name] = score (JSON null when not finite), and o.n[name] = n when n ≥ 0; the objects
 * are created when missing, and other tasks' entries stay. */
void eval_rec_score(json_object *o, const char *name, double score, long n);
/* o.se[name] = the standard error of the mean of each[0..n) (n > 1), and, when all,
 * o.examples[name] = each as an array. */
void eval_rec_examples(json_object *o, const char *name, const double *each, size_t n, int all);
/* o.eval.seconds += seconds, and o.eval.tokens += tokens when tokens ≥ 0 (a record scored
 * before keeps the total cost). */
void eval_rec_cost(json_object *o, double seconds, double tokens);

/* ---- external harnesses ---- */

/* Which lm-evaluation-harness metric scores a task: specs are "NAME[,FILTER]" for every task or
 * "TASK=NAME[,FILTER]" for one (a task's own spec first, else the last global one; the last of
 * each kind wins). Without a spec the first present of
 * acc, exact_match, acc_norm, f1, mc2 is used. A NAME without FILTER takes "NAME,none", else
 * the first "NAME,…" key of the task, else a bare "NAME" key (old versions). */
struct eval_metrics {
	const char *const *spec;
	int n;
};

/* Adds the scores of a harness's output `out` (its file name `src` for messages) to rec: a
 * recycle record ({"scores": {task: number}, "n": …, "eval": …}: scores and n copied, eval's
 * fields other than seconds merged) or lm-evaluation-harness results
 * ({"results": {task: {"METRIC,FILTER": number, …}}, "n-samples": {task: {"effective": n}},
 * "higher_is_better": …}: one metric a task, negated when lm-eval marks it lower-is-better;
 * non-numeric values such as "N/A" are skipped; rec.eval.metric records the key chosen per
 * task). *seconds gets the run time the file reports, or NAN. */
int eval_harness_scores(json_object *out, const char *src, const struct eval_metrics *mt,
                        json_object *rec, double *seconds);
/* The same from a file; a directory is searched (two levels down, as lm_eval --output_path
 * writes DIR/MODEL/results_DATE.json) for its newest results*.json. */
int eval_harness_file(const char *path, const struct eval_metrics *mt, json_object *rec,
                      double *seconds);

/* cmd with every {ckpt} and {out} replaced by ckpt and out as single-quoted shell words
 * (malloc'd; NULL on OOM). */
char *eval_subst(const char *cmd, const char *ckpt, const char *out);

struct eval_exec_opts {
	const char *cmd;        /* shell command with {ckpt} and {out} placeholders */
	double timeout;         /* seconds; ≤ 0 none */
	const char *tmpdir;     /* where a checkpoint is materialized (NULL: $TMPDIR, else /tmp) */
	const char *donor;      /* tokenizer files for a materialized checkpoint (NULL: none) */
	int quiet;              /* do not copy the command's output to stderr */
	struct eval_metrics metrics;
};

/* Runs the harness on checkpoint arg and adds the scores it writes to rec. {ckpt} is arg itself
 * when it is a directory (not opened: the harness may read formats other than safetensors), else
 * (file, zstd, "-" stream) a temporary Hugging Face directory its tensors are copied into first; {out} a path in a temporary directory, which the command writes (a file or
 * a directory). The command runs under /bin/sh -c in its own process group with stdin from
 * /dev/null and stdout and stderr copied to ours, with RECYCLE_CKPT and RECYCLE_OUT set too; on
 * timeout the group gets SIGTERM, then SIGKILL 5 s later. A non-zero exit, a signal, a timeout
 * or a missing or unreadable output is an error naming the command, with the end of its output.
 * Temporaries are removed when it returns (and at exit or on a signal, as tmp.h does). */
int eval_exec(const char *arg, const struct eval_exec_opts *o, json_object *rec);

#endif
