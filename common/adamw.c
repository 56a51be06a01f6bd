/* adamw.c — see adamw.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adamw.h"
#include "err.h"

struct adamw *adamw_new(size_t n, double beta1, double beta2, double eps, double weight_decay)
{
	if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
		err_set("adamw: betas %g, %g outside [0, 1)", beta1, beta2);
		return NULL;
	}
	if (!(eps > 0) || !(weight_decay >= 0) || !isfinite(eps) || !isfinite(weight_decay)) {
		err_set("adamw: eps %g must be positive and weight decay %g not negative", eps, weight_decay);
		return NULL;
	}
	struct adamw *o = calloc(1, sizeof *o);
	if (!o) {
		err_oom();
		return NULL;
	}
	o->n = n;
	o->beta1 = beta1;
	o->beta2 = beta2;
	o->eps = eps;
	o->weight_decay = weight_decay;
	o->m = calloc(n ? n : 1, sizeof *o->m);
	o->v = calloc(n ? n : 1, sizeof *o->v);
	o->decay = malloc(n ? n : 1);
	if (!o->m || !o->v || !o->decay) {
		adamw_free(o);
		err_oom();
		return NULL;
	}
	memset(o->decay, 1, n);
	return o;
}

void adamw_free(struct adamw *o)
{
	if (!o)
		return;
	free(o->m);
	free(o->v);
	free(o->decay);
	free(o);
}

void adamw_no_decay(struct adamw *o, size_t offset, size_t count)
{
	if (offset >= o->n)
		return;
	if (count > o->n - offset)
		count = o->n - offset;
	memset(o->decay + offset, 0, count);
}

void adamw_step(struct adamw *o, float *p, const float *g, double lr)
{
	o->t++;
	const float b1 = (float)o->beta1, b2 = (float)o->beta2, eps = (float)o->eps;
	const float shrink = (float)(1 - lr * o->weight_decay);
	const float step = (float)(lr / (1 - pow(o->beta1, (double)o->t)));
	const float bc2 = (float)sqrt(1 - pow(o->beta2, (double)o->t));
	for (size_t i = 0; i < o->n; i++) {
		if (o->decay[i])
			p[i] *= shrink;
		o->m[i] += (1 - b1) * (g[i] - o->m[i]);
		o->v[i] = b2 * o->v[i] + (1 - b2) * g[i] * g[i];
		p[i] -= step * o->m[i] / (sqrtf(o->v[i]) / bc2 + eps);
	}
}

double adamw_clip(float *g, size_t n, double max_norm)
{
	double ss = 0;
	for (size_t i = 0; i < n; i++)
		ss += (double)g[i] * g[i];
	double norm = sqrt(ss);
	if (!isfinite(norm) || !(max_norm > 0) || norm <= max_norm)
		return norm;
	float f = (float)(max_norm / (norm + 1e-6));
	for (size_t i = 0; i < n; i++)
		g[i] *= f;
	return norm;
}

double adamw_lr(const struct adamw_sched *s, long step)
{
	if (step < s->warmup)
		return s->lr * (double)(step + 1) / (double)s->warmup;
	if (step >= s->total)
		return s->lr_min;
	double progress = (double)(step - s->warmup) / (double)(s->total - s->warmup);
	return s->lr_min + (s->lr - s->lr_min) * 0.5 * (1 + cos(M_PI * progress));
}
