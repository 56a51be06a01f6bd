/* llama_bench — the driver of tests/bench/llama.sh: times common/llama on a random model.
 *
 *   llama_bench MODE THREADS HIDDEN LAYERS VOCAB BATCH SEQ
 *
 * MODE score: llama_logprobs over BATCH sequences of SEQ tokens; gen: SEQ/2-token prompts into
 * BATCH cache slots, then SEQ/2 decoding steps (tokens/s counts the generated ones); train: llama_loss_grad
 * plus clipping and an AdamW step on a (BATCH, SEQ) batch; sgemm: cblas_sgemm of the shape of
 * the model's MLP projection over BATCH·SEQ rows (OpenBLAS with THREADS threads). Prints
 * "tokens/s GFLOP/s" (FLOPs of the projections and of causal attention; for sgemm, its own), the
 * best of three runs of half a second each. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <cblas.h>

#include "adamw.h"
#include "err.h"
#include "llama.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	prog_init(argv[0]);
	if (argc != 8)
		usage_err("MODE THREADS HIDDEN LAYERS VOCAB BATCH SEQ");
	const char *mode = argv[1];
	int th = atoi(argv[2]), B = atoi(argv[6]), T = atoi(argv[7]);
	struct llama_config c;
	llama_config_default(&c);
	c.hidden = atoi(argv[3]);
	c.layers = atoi(argv[4]);
	c.vocab = atoi(argv[5]);
	c.heads = c.hidden / 32;
	c.kv_heads = c.heads > 1 ? c.heads / 2 : 1;
	c.ff = c.hidden * 8 / 3 / 8 * 8;
	llama_set_threads(th);
	struct llama_model *m = llama_new(&c);
	if (!m)
		die_err();
	llama_init(m, 1, 0.02);
	c = m->cfg;   /* with head_dim derived */
	int N = B * T, *tok = malloc(N * sizeof *tok), *tgt = malloc(N * sizeof *tgt);
	int *lens = malloc(B * sizeof *lens), *slots = malloc(B * sizeof *slots);
	for (int i = 0; i < N; i++) {
		tok[i] = (i * 7 + i / 5) % c.vocab;
		tgt[i] = (i + 1) % T ? tok[i + 1] : -1;
	}
	for (int b = 0; b < B; b++) {
		lens[b] = T;
		slots[b] = b;
	}
	/* Projection FLOPs per token, and attention's at average context T/2 (forward). */
	double C = c.hidden, QD = c.heads * c.head_dim, KD = c.kv_heads * c.head_dim;
	double proj = 2 * (C * (QD + 2 * KD) + QD * C + 3 * C * c.ff) * c.layers + 2 * C * c.vocab;
	double attn = 2 * 2 * (T / 2.0) * QD * c.layers;
	double flop_tok = proj + attn, best_tok = 0, best_flops = 0;
	float *out = malloc((size_t)N * (c.vocab > 1 ? c.vocab : 1) * sizeof *out);
	float *grad = malloc(m->n_params * sizeof *grad);
	struct adamw *opt = adamw_new(m->n_params, 0.9, 0.999, 1e-8, 0.01);
	struct llama_cache *kc = llama_cache_new(m, B, T);
	float *A = NULL, *Wt = NULL, *Y = NULL;
	if (mode[0] == 's' && mode[1] == 'g') {
		A = calloc((size_t)N * c.hidden, sizeof *A);
		Wt = calloc((size_t)c.ff * c.hidden, sizeof *Wt);
		Y = calloc((size_t)N * c.ff, sizeof *Y);
		openblas_set_num_threads(th);
	}
	for (int rep = 0; rep < 3; rep++) {
		double tokens = 0, flops = 0, t0 = now(), t;
		do {
			switch (mode[0] + (mode[1] << 8)) {
			case 's' + ('c' << 8):
				if (llama_logprobs(m, B, lens, tok, out))
					die_err();
				tokens += N;
				flops += N * flop_tok;
				break;
			case 'g' + ('e' << 8): {
				int P = T / 2, one[1024];
				for (int b = 0; b < B; b++) {
					llama_cache_clear(kc, b);
					lens[b] = P;
				}
				if (llama_step(m, kc, B, slots, lens, tok, out))
					die_err();
				for (int b = 0; b < B && b < 1024; b++)
					one[b] = 1;
				for (int s = 0; s < T - P; s++)
					if (llama_step(m, kc, B, slots, one, tok + s * B, out))
						die_err();
				tokens += (double)B * (T - P);   /* generated; the time includes the prompt */
				flops += (double)B * T * flop_tok;
				break;
			}
			case 't' + ('r' << 8): {
				double loss;
				if (llama_loss_grad(m, B, T, tok, tgt, grad, &loss))
					die_err();
				adamw_clip(grad, m->n_params, 1);
				adamw_step(opt, m->params, grad, 1e-4);
				tokens += N;
				flops += 3 * N * flop_tok;
				break;
			}
			case 's' + ('g' << 8):
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, c.ff, c.hidden, 1, A,
				            c.hidden, Wt, c.hidden, 0, Y, c.ff);
				flops += 2.0 * N * c.ff * c.hidden;
				tokens += N;
				break;
			default:
				usage_err("MODE is score, gen, train or sgemm");
			}
			t = now() - t0;
		} while (t < 0.5);
		if (tokens / t > best_tok) {
			best_tok = tokens / t;
			best_flops = flops / t;
		}
	}
	printf("%.0f %.2f\n", best_tok, best_flops / 1e9);
	return 0;
}
