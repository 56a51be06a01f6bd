/* cma_internal.h — what cma.c (the optimizer) shares with cma_state.c (its state file) and with
 * nothing else: the allocation and the derived quantities the reader rebuilds and checks. */
#ifndef RECYCLE_CMA_INTERNAL_H
#define RECYCLE_CMA_INTERNAL_H

#include "cma.h"

#define CMA_NMAPS 4
extern const char *const cma_map_names[CMA_NMAPS];   /* by enum cma_map */

/* A run of dimension n with every vector allocated and nothing set (ftarget NaN). */
cma *cma_alloc(int n);
/* Copies n distinct non-empty names (names NULL: none). */
int cma_set_names(cma *c, char *const *names);
/* Allocates and computes the default strategy parameters of population lambda. */
int cma_set_strategy(cma *c, int lambda);
/* How many generations' best f the flatness and tolfun criteria look back at. */
int cma_hist_len(const cma *c);
/* n numbers (non-finite ones as null); the best candidate so far, or NULL (JSON null). */
json_object *cma_vec_json(const double *v, int n);
json_object *cma_best_json(const cma *c);

#endif
