/* Unit tests of common/adamw: the update against the textbook AdamW recurrence written here in
 * double, its first step (a step of lr against the gradient's sign), weight decay and its mask,
 * convergence on a quadratic, resuming from saved state, clipping and the schedule. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adamw.h"
#include "err.h"
#include "t.h"

static void test_recurrence(void)
{
	enum { N = 5, STEPS = 30 };
	const double b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
	struct adamw *o = adamw_new(N, b1, b2, eps, wd);
	float p[N] = { 0.5f, -1, 2, 0, 0.25f }, g[N];
	double P[N], M[N] = { 0 }, V[N] = { 0 };
	for (int i = 0; i < N; i++)
		P[i] = p[i];
	double worst = 0;
	for (int t = 1; t <= STEPS; t++) {
		double lr = 0.01 * (1 + 0.1 * t);
		for (int i = 0; i < N; i++)
			g[i] = (float)(sin(t * 0.7 + i) * (i + 1));
		adamw_step(o, p, g, lr);
		for (int i = 0; i < N; i++) {
			P[i] -= lr * wd * P[i];
			M[i] = b1 * M[i] + (1 - b1) * g[i];
			V[i] = b2 * V[i] + (1 - b2) * (double)g[i] * g[i];
			double mh = M[i] / (1 - pow(b1, t)), vh = V[i] / (1 - pow(b2, t));
			P[i] -= lr * mh / (sqrt(vh) + eps);
			worst = fmax(worst, fabs(p[i] - P[i]));
		}
	}
	CHECK(worst < 1e-5, "AdamW drifts from the recurrence by %g", worst);
	CHECK(o->t == STEPS, "t = %ld", o->t);
	adamw_free(o);
}

static void test_first_step_and_decay(void)
{
	struct adamw *o = adamw_new(4, 0.9, 0.999, 1e-8, 0.5);
	float p[4] = { 1, 1, 1, 1 }, g[4] = { 3, -0.001f, 0, 0 };
	adamw_no_decay(o, 3, 10);   /* clamped to the end */
	adamw_step(o, p, g, 0.1);
	/* Bias correction makes the first step lr·sign(g); decay shrinks by 1 − lr·wd first. */
	CHECK(fabsf(p[0] - (0.95f - 0.1f)) < 1e-6, "p0 = %.9g", p[0]);
	CHECK(fabsf(p[1] - (0.95f + 0.1f)) < 1e-4, "p1 = %.9g (small gradient, same step)", p[1]);
	CHECK(p[2] == 0.95f, "zero gradient: decay only, %.9g", p[2]);
	CHECK(p[3] == 1, "exempt from decay: %.9g", p[3]);
	adamw_free(o);
	CHECK(!adamw_new(3, 1.0, 0.9, 1e-8, 0) && strstr(err_get(), "betas"), "beta1 = 1: %s", err_get());
	CHECK(!adamw_new(3, 0.9, 0.9, 0, 0) && strstr(err_get(), "eps"), "eps = 0: %s", err_get());
	CHECK(!adamw_new(3, 0.9, 0.9, 1e-8, -1) && strstr(err_get(), "weight decay"), "wd < 0: %s", err_get());
}

/* Minimizes Σ c_i (p_i − target_i)² with the schedule; checks it gets there. */
static void test_converges(void)
{
	enum { N = 8, STEPS = 400 };
	struct adamw *o = adamw_new(N, 0.9, 0.999, 1e-8, 0);
	struct adamw_sched s = { 0.1, 0.001, 20, STEPS };
	float p[N] = { 0 }, g[N], target[N];
	for (int i = 0; i < N; i++)
		target[i] = (float)(i - 3.5) * (i % 2 ? 1 : 0.1f);
	for (int t = 0; t < STEPS; t++) {
		for (int i = 0; i < N; i++)
			g[i] = 2 * (i + 1) * (p[i] - target[i]);
		adamw_clip(g, N, 5);
		adamw_step(o, p, g, adamw_lr(&s, t));
	}
	double worst = 0;
	for (int i = 0; i < N; i++)
		worst = fmax(worst, fabs(p[i] - target[i]));
	CHECK(worst < 1e-2, "distance to the minimum %g", worst);
	adamw_free(o);
}

/* Copying t, m, v into a fresh optimizer continues bit for bit. */
static void test_resume(void)
{
	enum { N = 6 };
	struct adamw *a = adamw_new(N, 0.9, 0.99, 1e-6, 0.01), *b = NULL;
	float pa[N], pb[N], g[N];
	for (int i = 0; i < N; i++)
		pa[i] = (float)i / 3;
	for (int t = 0; t < 20; t++) {
		if (t == 7) {
			b = adamw_new(N, 0.9, 0.99, 1e-6, 0.01);
			b->t = a->t;
			memcpy(b->m, a->m, sizeof(float) * N);
			memcpy(b->v, a->v, sizeof(float) * N);
			memcpy(pb, pa, sizeof pb);
		}
		for (int i = 0; i < N; i++)
			g[i] = (float)cos(t + i * 1.3);
		adamw_step(a, pa, g, 0.05);
		if (b)
			adamw_step(b, pb, g, 0.05);
	}
	CHECK(b && memcmp(pa, pb, sizeof pa) == 0, "resumed run differs");
	adamw_free(a);
	adamw_free(b);
}

static void test_clip(void)
{
	float g[4] = { 3, 0, -4, 0 };
	CHECK(adamw_clip(g, 4, 10) == 5 && g[0] == 3 && g[2] == -4, "below the limit: unchanged");
	CHECK(adamw_clip(g, 4, 0) == 5 && g[0] == 3, "max 0: no clipping");
	CHECK(adamw_clip(g, 4, 1) == 5, "norm before clipping");
	double n = sqrt((double)g[0] * g[0] + (double)g[2] * g[2]);
	CHECK(fabs(n - 1) < 1e-6 && fabs(g[0] / g[2] + 0.75) < 1e-6, "clipped to norm %g, direction kept", n);
	float bad[2] = { NAN, 1 };
	CHECK(isnan(adamw_clip(bad, 2, 1)) && bad[1] == 1, "NaN gradient: reported, left alone");
}

static void test_schedule(void)
{
	struct adamw_sched s = { 1e-3, 1e-5, 10, 110 };
	CHECK(fabs(adamw_lr(&s, 0) - 1e-4) < 1e-15, "warmup start %g", adamw_lr(&s, 0));
	CHECK(fabs(adamw_lr(&s, 4) - 5e-4) < 1e-15, "warmup middle %g", adamw_lr(&s, 4));
	CHECK(adamw_lr(&s, 9) == 1e-3 && adamw_lr(&s, 10) == 1e-3, "peak");
	CHECK(fabs(adamw_lr(&s, 60) - (1e-5 + (1e-3 - 1e-5) / 2)) < 1e-15, "cosine half way %g", adamw_lr(&s, 60));
	CHECK(adamw_lr(&s, 110) == 1e-5 && adamw_lr(&s, 500) == 1e-5, "floor");
	int mono = 1;
	for (long t = 10; t < 110; t++)
		mono &= adamw_lr(&s, t + 1) <= adamw_lr(&s, t);
	CHECK(mono, "decreasing after warmup");
	struct adamw_sched nw = { 2, 0, 0, 4 };
	CHECK(adamw_lr(&nw, 0) == 2 && adamw_lr(&nw, 2) == 1, "no warmup: %g %g", adamw_lr(&nw, 0), adamw_lr(&nw, 2));
}

int main(void)
{
	T_RUN(test_recurrence);
	T_RUN(test_first_step_and_decay);
	T_RUN(test_converges);
	T_RUN(test_resume);
	T_RUN(test_clip);
	T_RUN(test_schedule);
	return t_done();
}
