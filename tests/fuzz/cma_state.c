/* cma_state.c — libFuzzer target: the cmaes-step state reader (cma_load, which checks every
 * field). A state that loads must write back to text that loads again to the same text (the
 * state reads back bit for bit); a small one is then stepped as cmaes-step would: ask, the
 * candidate records, tell (one fitness missing), a few generations, and written back again. */
#include <math.h>
#include <json-c/json.h>

#include "cma.h"
#include "fuzz.h"
#include "rec.h"

static char *fz_state_text(const cma *c)
{
	json_object *o = cma_to_json(c);
	FZ_CHECK(o != NULL, "cma_to_json failed: %s", err_get());
	char *s = o ? strdup(rec_str(o)) : NULL;
	json_object_put(o);
	return s;
}

/* The state's text reads back to a state of the same text. */
static void fz_state_roundtrip(const cma *c, const char *when)
{
	char *a = fz_state_text(c);
	if (!a)
		return;
	json_object *o = json_tokener_parse(a);
	FZ_CHECK(o != NULL, "%s: the state's text is not JSON", when);
	fz_err_clear();
	cma *back = o ? cma_from_json(o, "back") : NULL;
	FZ_CHECK(back != NULL, "%s: the state written does not load: %s", when, err_get());
	if (back) {
		char *b = fz_state_text(back);
		FZ_CHECK(b && !strcmp(a, b), "%s: the state changes when written, read and written again", when);
		free(b);
		cma_free(back);
	}
	json_object_put(o);
	free(a);
}

static void fz_cma_state(const uint8_t *d, size_t n)
{
	char path[64];
	fz_memfile(d, n, path, sizeof path);
	fz_err_clear();
	cma *c = cma_load(path);
	if (!c) {
		fz_check_error("cma_load", n);
		return;
	}
	fz_state_roundtrip(c, "loaded");
	json_object_put(cma_status(c));
	/* Stepping costs lambda·n² per generation: only small states. */
	if (c->n <= 64 && c->lambda <= 4096) {
		for (int g = 0; g < 3; g++) {
			if (cma_ask(c))
				break;
			double *f = malloc((size_t)c->lambda * sizeof *f), *x = malloc((size_t)c->n * sizeof *x);
			FZ_CHECK(f && x, "out of memory for %d candidates", c->lambda);
			if (!f || !x) {
				free(f);
				free(x);
				break;
			}
			for (int k = 0; k < c->lambda; k++) {
				json_object_put(cma_candidate(c, k));
				cma_candidate_x(c, k, x);
				double s = 0;
				for (int i = 0; i < c->n; i++)
					s -= (x[i] - 0.5) * (x[i] - 0.5);
				f[k] = k == 1 ? NAN : s;
			}
			fz_err_clear();
			int rc = cma_tell(c, f, NULL);
			free(f);
			free(x);
			if (rc < 0) {
				fz_check_error("cma_tell", n);
				break;
			}
			fz_state_roundtrip(c, "after tell");
		}
	}
	cma_free(c);
}
FZ_TARGET(cma_state)
