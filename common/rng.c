/* rng.c — see rng.h. */
#include <math.h>

#include "rng.h"

uint64_t rng_splitmix64(uint64_t *x) { return rng_mix64(*x += RNG_GOLDEN); }

void rng_seed(rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = rng_splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_next(rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

uint64_t rng_below(rng *r, uint64_t n)
{
	/* Reject the low (2^64 mod n) values so every residue is equally likely. */
	uint64_t floor = -n % n, x;
	do
		x = rng_next(r);
	while (x < floor);
	return x % n;
}

double rng_uniform(rng *r) { return (double)(rng_next(r) >> 11) * 0x1p-53; }

double rng_normal(rng *r)
{
	/* One normal per two uniforms: no cached spare, so the state stays four words. */
	double u1 = 1.0 - rng_uniform(r), u2 = rng_uniform(r);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
