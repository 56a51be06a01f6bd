/* stats.h — running statistics of tensors (`ckpt-cat --stats`): count, NaN and Inf counts, min,
 * max, sum, mean and standard deviation of the finite values, fed chunk by chunk in any float
 * dtype. */
#ifndef RECYCLE_STATS_H
#define RECYCLE_STATS_H

#include <stddef.h>
#include <stdint.h>

/* The statistics of a tensor, fed in chunks of any float type and accumulated in double.
 * NaN and ±Inf are counted (nan, inf) and otherwise left out: min, max, sum, mean and std are
 * over the finite values only. The variance is kept as m2 = Σ (x - mean)², computed two-pass
 * per block of a few thousand elements and merged across blocks with Chan et al.'s update, so
 * it stays accurate when |mean| ≫ std (a plain Σx² would cancel). The result does not depend
 * on the CPU it runs on, but does (in the last bits) on how the elements are cut into chunks.
 * Only F64 data can overflow the double sums (|x| beyond ~1e154 makes std Inf). */
struct stats {
	uint64_t count;        /* elements added */
	uint64_t nan, inf;     /* NaN, ±Inf among them */
	uint64_t finite;       /* count - nan - inf */
	double min, max;       /* of finite values; +Inf / -Inf while there are none */
	double sum, mean, m2;  /* of finite values */
};

struct stats_summary {
	double min, max, mean, std, absmax;  /* over finite values; NaN when there are none */
	double sum;                          /* 0 when there are none */
	uint64_t count, finite, nan, inf;
};

void stats_init(struct stats *s);
/* n elements of a float dtype, at any address; -1 with err_set() for another type. */
int stats_add(struct stats *s, int dt, const void *src, size_t n);
/* into += from, as if from's elements had been added to into (e.g. one accumulator a thread). */
void stats_merge(struct stats *into, const struct stats *from);
/* std is the population standard deviation sqrt(m2 / finite); absmax = max(|min|, |max|). */
void stats_finish(const struct stats *s, struct stats_summary *out);

#endif
