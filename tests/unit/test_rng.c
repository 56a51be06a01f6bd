/* Unit tests of common/rng: the streams are those cmaes-step's state files and task-gen's task
 * files were made with (known answers), and the distributions look right. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "t.h"

/* Outputs of the generators as they were before rng.c existed (cma.c's and task.c's copies): a
 * change here changes every state file, candidate and generated task. */
static void test_known_answers(void)
{
	static const uint64_t want[4] = { 0x15780b2e0c2ec716ull, 0x6104d9866d113a7eull, 0xae17533239e499a1ull,
	                                  0xecb8ad4703b360a1ull };
	rng r;
	rng_seed(&r, 42);
	for (int i = 0; i < 4; i++)
		CHECK(rng_next(&r) == want[i], "output %d of seed 42", i);
	double z = rng_normal(&r);
	CHECK(z == 0.38346179126769431, "normal %.17g", z);
	rng_seed(&r, 7);
	uint64_t n = rng_next(&r), b = rng_below(&r, 1000);
	CHECK(n == 12923355070828475994ull && b == 674, "below %llu next %llu", (unsigned long long)b,
	      (unsigned long long)n);
	uint64_t x = 0;
	CHECK(rng_splitmix64(&x) == 0xe220a8397b1dcdafull && x == RNG_GOLDEN, "splitmix64(0)");
	CHECK(rng_mix64(0) == 0, "mix64(0)");
}

static void test_distributions(void)
{
	rng s, t;
	double m = 0, v = 0, umin = 1, umax = 0;
	const int N = 200000;
	rng_seed(&s, 42);
	for (int i = 0; i < N; i++) {
		double z = rng_normal(&s);
		m += z;
		v += z * z;
	}
	m /= N;
	v = v / N - m * m;
	CHECK(fabs(m) < 0.01 && fabs(v - 1) < 0.02, "normal mean %g var %g", m, v);
	for (int i = 0; i < N; i++) {
		double u = rng_uniform(&s);
		umin = fmin(umin, u);
		umax = fmax(umax, u);
	}
	CHECK(umin >= 0 && umin < 1e-4 && umax < 1 && umax > 1 - 1e-4, "uniform range [%g, %g]", umin, umax);
	t = s;
	CHECK(rng_next(&s) == rng_next(&t), "a copied state continues the same sequence");
	rng_seed(&s, 1);
	rng_seed(&t, 2);
	CHECK(rng_next(&s) != rng_next(&t), "seeds 1 and 2 differ");
}

static void test_below(void)
{
	rng r;
	int count[3] = { 0 };
	rng_seed(&r, 9);
	for (int i = 0; i < 30000; i++)
		count[rng_below(&r, 3)]++;
	for (int k = 0; k < 3; k++)
		CHECK(abs(count[k] - 10000) < 400, "residue %d: %d of 30000", k, count[k]);
	CHECK(rng_below(&r, 1) == 0, "below 1");
}

int main(void)
{
	T_RUN(test_known_answers);
	T_RUN(test_distributions);
	T_RUN(test_below);
	return t_done();
}
