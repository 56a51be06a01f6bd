/* lmio.c — see lmio.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvt.h"
#include "dtype.h"
#include "err.h"
#include "lmio.h"

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

/* One tensor of a resident model: a matrix in f32, bf16 or f16 is viewed in place (a mapped file,
 * aligned) or copied as it is; anything else is converted to f32. Errors of st_ name the file
 * already; those of llama_ get it here. */
static int place(struct llama_model *m, st_ckpt *ck, const struct st_tensor *t)
{
	int keep = t->ndim == 2 && (t->dtype == DT_F32 || t->dtype == DT_BF16 || t->dtype == DT_F16);
	const void *p;
	ssize_t n;
	if (keep) {
		int v = st_view(ck, &p);
		if (v < 0)
			return -1;
		if (v > 0 && (uintptr_t)p % dtype_size(t->dtype) == 0)
			return llama_param_view(m, t->name, t->ndim, t->shape, t->dtype, p) < 0 ?
			       err_prefix("%s: ", st_arg(ck)) : 0;
		if (v > 0 && st_seek(ck, t) < 0)   /* misaligned: read it again, as a copy */
			return -1;
		unsigned char *dst = llama_param_own(m, t->name, t->ndim, t->shape, t->dtype);
		if (!dst)
			return err_prefix("%s: ", st_arg(ck));
		while ((n = st_read(ck, &p, ST_CHUNK)) > 0) {
			memcpy(dst, p, (size_t)n);
			dst += n;
		}
		return n < 0 ? -1 : 0;
	}
	float *dst = llama_param_own(m, t->name, t->ndim, t->shape, DT_F32);
	if (!dst)
		return err_prefix("%s: ", st_arg(ck));
	size_t es = dtype_size(t->dtype);
	while ((n = st_read(ck, &p, ST_CHUNK)) > 0) {
		if (cvt_to_f32(dst, t->dtype, p, (size_t)n / es) < 0)
			return -1;
		dst += (size_t)n / es;
	}
	return n < 0 ? -1 : 0;
}

static struct llama_model *load(st_ckpt *ck, int resident)
{
	struct llama_config c;
	struct llama_model *m;
	const struct st_tensor *t;
	const char *cfg = st_config(ck);
	int r;
	if (!cfg) {
		err_set("%s: no config.json (a directory's, or a stream's \"config\" metadata)", st_arg(ck));
		return NULL;
	}
	if (llama_config_parse(&c, cfg) < 0) {
		err_prefix("%s: config: ", st_arg(ck));
		return NULL;
	}
	/* The tensors the config calls for must be in the checkpoint, with their shapes, before the
	 * model is allocated: a config claiming a 7B model over one tiny tensor fails as bad input,
	 * not by asking for 28 GB. The layer count is bounded by the tensor count first (the table
	 * itself is 9 entries a layer). */
	if (llama_config_check(&c) < 0) {
		err_prefix("%s: config: ", st_arg(ck));
		return NULL;
	}
	if ((size_t)c.layers > st_count(ck) / 9) {   /* a layer has at least 9 tensors */
		err_set("%s: config: %d layers, but the checkpoint holds %zu tensors", st_arg(ck), c.layers,
		        st_count(ck));
		return NULL;
	}
	struct llama_tensor *tab = NULL;
	int nt = llama_tensors(&c, &tab);
	if (nt < 0) {
		err_prefix("%s: ", st_arg(ck));
		return NULL;
	}
	for (int i = 0; i < nt; i++) {
		const struct st_tensor *ct = st_find(ck, tab[i].name);
		if (!ct) {
			err_set("%s: missing tensor %s", st_arg(ck), tab[i].name);
			free(tab);
			return NULL;
		}
		int same = ct->ndim == tab[i].ndim;
		for (int d = 0; d < ct->ndim && same; d++)
			same = ct->shape[d] == tab[i].shape[d];
		if (!same) {
			char have[160], want[64];
			size_t k = 0;
			for (int d = 0; d < ct->ndim && k < sizeof have - 24; d++)
				k += (size_t)snprintf(have + k, sizeof have - k, "%s%lld", d ? ", " : "", (long long)ct->shape[d]);
			have[k] = 0;
			if (tab[i].ndim == 2)
				snprintf(want, sizeof want, "%lld, %lld", (long long)tab[i].shape[0], (long long)tab[i].shape[1]);
			else
				snprintf(want, sizeof want, "%lld", (long long)tab[i].shape[0]);
			err_set("%s: tensor %s: shape [%s], config wants [%s]", st_arg(ck), ct->name, have, want);
			free(tab);
			return NULL;
		}
	}
	free(tab);
	if (!(m = resident ? llama_new_resident(&c) : llama_new(&c))) {
		err_prefix("%s: ", st_arg(ck));
		return NULL;
	}
	while ((r = st_next(ck, &t)) > 0) {
		if (ends_with(t->name, "rotary_emb.inv_freq") || (c.tie_embeddings && !strcmp(t->name, "lm_head.weight")))
			continue;
		if (!dtype_is_float(t->dtype)) {
			err_set("%s: tensor %s: dtype %s is not a float type", st_arg(ck), t->name, dtype_name(t->dtype));
			goto fail;
		}
		if (resident) {
			if (place(m, ck, t) < 0)
				goto fail;
			continue;
		}
		float *dst = llama_param_fill(m, t->name, t->ndim, t->shape);
		if (!dst) {
			err_prefix("%s: ", st_arg(ck));
			goto fail;
		}
		size_t es = dtype_size(t->dtype);
		const void *p;
		ssize_t n;
		while ((n = st_read(ck, &p, ST_CHUNK)) > 0) {
			if (cvt_to_f32(dst, t->dtype, p, (size_t)n / es) < 0)
				goto fail;
			dst += (size_t)n / es;
		}
		if (n < 0)
			goto fail;
	}
	if (r < 0)
		goto fail;
	if (llama_check_filled(m) < 0) {
		err_prefix("%s: ", st_arg(ck));
		goto fail;
	}
	return m;
fail:
	llama_free(m);
	return NULL;
}

struct llama_model *lmio_load(st_ckpt *ck)
{
	return load(ck, 0);
}

struct llama_model *lmio_load_resident(st_ckpt *ck)
{
	return load(ck, 1);
}

struct llama_model *lmio_load_path(const char *arg)
{
	st_ckpt *ck = st_open(arg);
	if (!ck)
		return NULL;
	struct llama_model *m = lmio_load(ck);
	st_close(ck);
	return m;
}

int lmio_save(const struct llama_model *m, const char *path, int dtype, const char *donor_dir,
              json_object *meta)
{
	struct llama_config c = m->cfg;
	snprintf(c.dtype, sizeof c.dtype, "%s", dtype_torch_name(dtype));
	char *cfg = llama_config_json(&c);
	if (!cfg)
		return -1;
	struct st_wopts o = { .config = cfg, .donor_dir = donor_dir, .meta = meta };
	st_writer *w = st_create(path, &o);
	free(cfg);
	if (!w)
		return -1;
	for (int i = 0; i < m->n_tensors; i++) {
		const struct llama_tensor *t = &m->tensors[i];
		if (st_add(w, t->name, dtype, t->ndim, t->shape) < 0)
			goto fail;
	}
	if (st_begin(w) < 0)
		goto fail;
	enum { CH = 1 << 16 };
	size_t es = dtype_size(dtype);
	void *buf = malloc(CH * es);
	if (!buf) {
		err_oom();
		goto fail;
	}
	for (int i = 0; i < m->n_tensors; i++) {
		const struct llama_tensor *t = &m->tensors[i];
		const float *src = m->params + t->offset;
		for (size_t done = 0; done < t->numel; done += CH) {
			size_t k = t->numel - done < CH ? t->numel - done : CH;
			if (cvt_from_f32(dtype, buf, src + done, k) < 0 || st_write(w, buf, k * es) < 0) {
				free(buf);
				goto fail;
			}
		}
	}
	free(buf);
	return st_commit(w);
fail:
	st_abort(w);
	return -1;
}
