/* adamw.h — the optimizer for training: AdamW as PyTorch's torch.optim.AdamW computes it
 * (decoupled weight decay, bias-corrected moments), global gradient-norm clipping as
 * torch.nn.utils.clip_grad_norm_, and a linear-warmup + cosine learning-rate schedule.
 *
 * Parameters and gradients are flat float arrays (e.g. llama_model.params and a gradient buffer
 * of the same layout). The whole state is t, m and v: to save it, write m and v (n floats each,
 * e.g. as F32 safetensors tensors) and t; to resume, copy them back into a fresh adamw_new(). */
#ifndef RECYCLE_ADAMW_H
#define RECYCLE_ADAMW_H

#include <stddef.h>

struct adamw {
	size_t n;
	double beta1, beta2, eps, weight_decay;
	long t;                 /* steps taken */
	float *m, *v;           /* first and second moment estimates, n each, zero at start */
	unsigned char *decay;   /* per element: 1 = weight decay applies (the default) */
};

/* NULL and err_set on bad hyperparameters (betas in [0, 1), eps > 0, weight_decay ≥ 0) or out of
 * memory. PyTorch's defaults are 0.9, 0.999, 1e-8, 0.01. */
struct adamw *adamw_new(size_t n, double beta1, double beta2, double eps, double weight_decay);
void adamw_free(struct adamw *opt);
/* Exempts elements [offset, offset + count) from weight decay (e.g. the norm weights). */
void adamw_no_decay(struct adamw *opt, size_t offset, size_t count);
/* One step with learning rate lr: t += 1; p ← p·(1 − lr·wd); m ← β1·m + (1 − β1)·g;
 * v ← β2·v + (1 − β2)·g²; p ← p − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + eps). Gradients must be
 * finite: check adamw_clip()'s return first. */
void adamw_step(struct adamw *opt, float *params, const float *grad, double lr);

/* The global L2 norm of grad (computed in double), returned as it was before clipping; when it
 * exceeds max_norm > 0, grad is scaled by max_norm / (norm + 1e-6). A non-finite norm is returned
 * and grad left alone: the caller should skip that step. */
double adamw_clip(float *grad, size_t n, double max_norm);

/* Learning rate at step (0-based) of a run of `total` steps: linear warmup lr·(step+1)/warmup for
 * the first `warmup` steps, then a cosine from lr down to lr_min at step total; lr_min after. */
struct adamw_sched {
	double lr, lr_min;
	long warmup, total;
};
double adamw_lr(const struct adamw_sched *s, long step);

#endif
