/* rng.h — the project's one random generator: xoshiro256** (Blackman and Vigna) seeded through
 * splitmix64, plus splitmix64's mixer as a hash for streams indexed by position (DARE's masks).
 *
 * The state is four words, written as such in cmaes-step's state file; the same seed gives the
 * same stream on every machine. Never all zero: splitmix64 seeding cannot produce that. */
#ifndef RECYCLE_RNG_H
#define RECYCLE_RNG_H

#include <stdint.h>

#define RNG_GOLDEN 0x9e3779b97f4a7c15ull   /* splitmix64's increment: 2^64 / golden ratio */

typedef struct rng {
	uint64_t s[4];
} rng;

/* splitmix64's finalizer: a bijective mix of z, a good 64-bit hash of a counter (inline: DARE
 * calls it for every element). */
static inline uint64_t rng_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
/* The next splitmix64 output of the counter *x (advanced by RNG_GOLDEN). */
uint64_t rng_splitmix64(uint64_t *x);

void rng_seed(rng *r, uint64_t seed);       /* the four words are splitmix64(seed)'s first four */
uint64_t rng_next(rng *r);
uint64_t rng_below(rng *r, uint64_t n);     /* uniform in [0, n), n ≥ 1, unbiased (rejection) */
double rng_uniform(rng *r);                 /* uniform in [0, 1), 53 bits */
double rng_normal(rng *r);                  /* N(0,1) by Box–Muller, cosine branch, no spare kept */

#endif
