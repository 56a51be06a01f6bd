/* models_bench — the measurements of tests/bench/models.sh that evalrun cannot make itself:
 *
 *   models_bench sgemm TH M N K          GFLOP/s of cblas_sgemm C(M,N) = A(M,K)·B(N,K)ᵀ (the
 *                                        projections' shape), best of 5 runs of 0.3 s: "per wall
 *                                        second, per CPU second"
 *   models_bench sbgemm TH M N K         the same for cblas_sbgemm (bf16 A and B, f32 C) when this
 *                                        OpenBLAS exports it, else "absent"
 *   models_bench mc CKPT TH N P K L      N multiple-choice examples (a P-token prompt, K choices of
 *                                        L tokens) scored the plain way (eval_loglik: prompt +
 *                                        choice, each choice a sequence) and the shared way
 *                                        (eval_loglik_shared), --batch 16: "plain_wall_s
 *                                        plain_cpu_s plain_tokens shared_wall_s shared_cpu_s
 *                                        shared_tokens max_abs_diff"
 *
 * Random tokens come from a fixed LCG, so runs are comparable. */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cblas.h>

#include "err.h"
#include "eval.h"
#include "llama.h"
#include "lmio.h"
#include "st.h"

static double now(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static unsigned lcg = 12345;
static int rnd(int n)
{
	lcg = lcg * 1103515245u + 12345u;
	return (int)((lcg >> 8) % (unsigned)n);
}

typedef void sbgemm_fn(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, blasint, blasint,
                       blasint, float, const void *, blasint, const void *, blasint, float, float *, blasint);

static int gemm_rate(int th, int M, int N, int K, sbgemm_fn *sb)
{
	size_t es = sb ? 2 : 4;
	char *a = calloc((size_t)M * K, es), *b = calloc((size_t)N * K, es);
	float *c = calloc((size_t)M * N, sizeof *c);
	if (!a || !b || !c)
		return 1;
	for (size_t i = 0; i < (size_t)M * K * es; i += es)
		a[i + es - 1] = 0x3c;   /* about 0.01 in either format's top byte */
	for (size_t i = 0; i < (size_t)N * K * es; i += es)
		b[i + es - 1] = 0x3c;
	openblas_set_num_threads(th);
	double best = 1e30, bcpu = 1e30;
	for (int r = 0; r < 5; r++) {
		double t = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
		int reps = 0;
		do {
			if (sb)
				sb(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, a, K, b, K, 0, c, N);
			else
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, (float *)a, K,
				            (float *)b, K, 0, c, N);
			reps++;
		} while (now(CLOCK_MONOTONIC) - t < 0.3);
		double s = (now(CLOCK_MONOTONIC) - t) / reps, c = (now(CLOCK_PROCESS_CPUTIME_ID) - c0) / reps;
		best = fmin(best, s);
		bcpu = fmin(bcpu, c);
	}
	/* per wall second, and per CPU second of all threads (a shared machine moves the first) */
	printf("%.1f %.1f\n", 2.0 * M * N * K / best / 1e9, 2.0 * M * N * K / bcpu / 1e9);
	free(a);
	free(b);
	free(c);
	return 0;
}

static struct llama_model *load(const char *path, st_ckpt **ck, double *secs)
{
	double t = now(CLOCK_MONOTONIC);
	*ck = st_open(path);
	struct llama_model *m = *ck ? lmio_load_resident(*ck) : NULL;
	if (!m) {
		fprintf(stderr, "models_bench: %s\n", err_get());
		exit(1);
	}
	*secs = now(CLOCK_MONOTONIC) - t;
	return m;
}

static int mc(const char *path, int th, int n, int P, int K, int L)
{
	st_ckpt *ck;
	double load_s;
	struct llama_model *m = load(path, &ck, &load_s);
	llama_set_threads(th);
	int V = m->cfg.vocab;
	int32_t *tok = malloc((size_t)n * (P + K * L) * sizeof *tok);
	struct eval_seq *s = malloc((size_t)n * K * sizeof *s);
	double *a = malloc((size_t)n * K * sizeof *a), *b = malloc((size_t)n * K * sizeof *b);
	for (size_t i = 0; i < (size_t)n * (P + K * L); i++)
		tok[i] = rnd(V);
	for (int e = 0; e < n; e++) {
		int32_t *p = tok + (size_t)e * (P + K * L);
		for (int k = 0; k < K; k++)
			s[e * K + k] = (struct eval_seq){ p, (size_t)P, p + P + k * L, (size_t)L };
	}
	uint64_t na = 0, nb = 0;
	double t = now(CLOCK_MONOTONIC), c = now(CLOCK_PROCESS_CPUTIME_ID);
	if (eval_loglik(m, s, (size_t)n * K, 16, a, &na, NULL) < 0)
		goto fail;
	double ta = now(CLOCK_MONOTONIC) - t, ca = now(CLOCK_PROCESS_CPUTIME_ID) - c;
	t = now(CLOCK_MONOTONIC);
	c = now(CLOCK_PROCESS_CPUTIME_ID);
	if (eval_loglik_shared(m, s, (size_t)n * K, 16, b, &nb, NULL) < 0)
		goto fail;
	double tb = now(CLOCK_MONOTONIC) - t, cb = now(CLOCK_PROCESS_CPUTIME_ID) - c;
	double d = 0;
	for (int i = 0; i < n * K; i++)
		d = fmax(d, fabs(a[i] - b[i]));
	printf("%.3f %.3f %llu %.3f %.3f %llu %.3g\n", ta, ca, (unsigned long long)na, tb, cb,
	       (unsigned long long)nb, d);
	llama_free(m);
	st_close(ck);
	return 0;
fail:
	fprintf(stderr, "models_bench: %s\n", err_get());
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "sgemm"))
		return gemm_rate(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), NULL);
	if (argc == 6 && !strcmp(argv[1], "sbgemm")) {
		sbgemm_fn *sb = (sbgemm_fn *)dlsym(RTLD_DEFAULT, "cblas_sbgemm");
		if (!sb) {
			printf("absent\n");
			return 0;
		}
		return gemm_rate(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), sb);
	}
	if (argc == 8 && !strcmp(argv[1], "mc"))
		return mc(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), atoi(argv[7]));
	fprintf(stderr, "usage: see the comment at the top of tests/bench/models_bench.c\n");
	return 2;
}
