/* merge_run.c — see merge.h: the streaming driver. Tensors one at a time in the output's order;
 * for each, every input is positioned on the same tensor and read piece by piece, the pieces are
 * merged into one output piece and written. Memory: one output piece and, for mapped inputs, the
 * pages of the current pieces (st.h gives consumed pages back); SLERP and TIES with trimming hold
 * the whole current tensor of each input (st_data). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dtype.h"
#include "err.h"
#include "merge.h"

/* Bytes read from all inputs per piece: each input's piece shrinks as their number grows, so the
 * mapped pages in flight stay about the same for any N. */
#define PIECE_BUDGET (32u << 20)
#define PIECE_MIN (256u << 10)
/* Elements per merge_apply() call over a whole tensor held in memory. */
#define WHOLE_PIECE (1u << 20)

static void fmt_shape(char *buf, size_t cap, const struct st_tensor *t)
{
	size_t k = 0;
	k += snprintf(buf + k, cap - k, "[");
	for (int d = 0; d < t->ndim && k < cap; d++)
		k += snprintf(buf + k, cap - k, "%s%lld", d ? "," : "", (long long)t->shape[d]);
	if (k < cap)
		snprintf(buf + k, cap - k, "]");
}

static int same_shape(const struct st_tensor *a, const struct st_tensor *b)
{
	if (a->ndim != b->ndim)
		return 0;
	for (int d = 0; d < a->ndim; d++)
		if (a->shape[d] != b->shape[d])
			return 0;
	return 1;
}

static int check_one(st_ckpt *ref, st_ckpt *c)
{
	size_t nt = st_count(ref);
	for (size_t j = 0; j < nt; j++) {
		const struct st_tensor *tr = st_at(ref, j), *tc = st_find(c, tr->name);
		char s1[256], s2[256];
		if (!tc)
			return err_set("%s: tensor %s: missing (%s has it)", st_arg(c), tr->name, st_arg(ref));
		/* Float tensors merge across dtypes (converted on the way in); others are copied. */
		if (tc->dtype != tr->dtype && !(dtype_is_float(tc->dtype) && dtype_is_float(tr->dtype)))
			return err_set("%s: tensor %s: dtype %s differs from %s in %s", st_arg(c), tr->name,
			               dtype_name(tc->dtype), dtype_name(tr->dtype), st_arg(ref));
		if (!same_shape(tc, tr)) {
			fmt_shape(s1, sizeof s1, tc);
			fmt_shape(s2, sizeof s2, tr);
			return err_set("%s: tensor %s: shape %s differs from %s in %s", st_arg(c), tr->name,
			               s1, s2, st_arg(ref));
		}
	}
	for (size_t j = 0; j < st_count(c); j++) {
		const struct st_tensor *tc = st_at(c, j);
		if (!st_find(ref, tc->name))
			return err_set("%s: tensor %s: not in %s", st_arg(c), tc->name, st_arg(ref));
	}
	/* Same names now; a stream must also hold them in the output's order. */
	if (!st_seekable(c))
		for (size_t j = 0; j < nt; j++)
			if (strcmp(st_at(c, j)->name, st_at(ref, j)->name) != 0)
				return err_set("%s: tensor %s: out of order: a stream must hold the tensors in the order of %s, which has %s there",
				               st_arg(c), st_at(c, j)->name, st_arg(ref), st_at(ref, j)->name);
	return 0;
}

st_ckpt *merge_check(st_ckpt *const *in, size_t n, st_ckpt *base)
{
	st_ckpt *ref = NULL;
	for (size_t i = 0; i <= n && !ref; i++) {
		st_ckpt *c = i < n ? in[i] : base;
		if (c && !st_seekable(c))
			ref = c;
	}
	if (!ref)
		ref = in[0];
	for (size_t i = 0; i <= n; i++) {
		st_ckpt *c = i < n ? in[i] : base;
		if (c && c != ref && check_one(ref, c) < 0)
			return NULL;
	}
	return ref;
}

struct run {
	merger *m;
	st_ckpt *const *in;
	size_t n;
	st_ckpt *base;
	st_writer *w;
	const struct st_tensor **ti;    /* the current tensor in each input; [n]: base */
	int *dt;                        /* its dtype in each input; [n]: base */
	const void **src;               /* the inputs' current pieces */
	void *out;                      /* one output piece */
	size_t out_cap;
	uint64_t done, total;
	void (*progress)(void *, uint64_t, uint64_t);
	void *ctx;
};

static int out_room(struct run *r, size_t bytes)
{
	if (bytes <= r->out_cap)
		return 0;
	void *p = realloc(r->out, bytes);
	if (!p)
		return err_oom();
	r->out = p;
	r->out_cap = bytes;
	return 0;
}

static int wrote(struct run *r, const void *p, size_t bytes)
{
	if (st_write(r->w, p, bytes) < 0)
		return -1;
	r->done += bytes;
	if (r->progress)
		r->progress(r->ctx, r->done, r->total);
	return 0;
}

/* Give a consumed piece of a mapped input back to the kernel now: st.h does it only every few MiB
 * per input, which for N inputs would keep N times that mapped. The pages stay in the page cache
 * and the mapping is shared and read-only, so this never changes what a later read sees. */
static void release(st_ckpt *c, const void *p, size_t len)
{
	static uintptr_t page;
	if (!page)
		page = (uintptr_t)sysconf(_SC_PAGESIZE);
	if (!p || !st_seekable(c))
		return;
	uintptr_t a = (uintptr_t)p & ~(page - 1), b = ((uintptr_t)p + len) & ~(page - 1);
	if (b > a)
		madvise((void *)a, b - a, MADV_DONTNEED);
}

static st_ckpt *ck_of(const struct run *r, size_t i) { return i < r->n ? r->in[i] : r->base; }

/* Non-float tensors: identical in every input (and base), copied from the first. */
static int copy_tensor(struct run *r, const struct st_tensor *t)
{
	for (size_t i = 0; i <= r->n; i++)
		if (ck_of(r, i) && st_seek(ck_of(r, i), r->ti[i]) < 0)
			return -1;
	for (uint64_t left = t->nbytes; left > 0;) {
		size_t want = left < ST_CHUNK ? (size_t)left : ST_CHUNK;
		const void *p0, *p;
		if (st_read(r->in[0], &p0, want) != (ssize_t)want)
			return -1;
		for (size_t i = 1; i <= r->n; i++) {
			st_ckpt *c = ck_of(r, i);
			if (!c)
				continue;
			if (st_read(c, &p, want) != (ssize_t)want)
				return -1;
			if (memcmp(p0, p, want) != 0)
				return err_set("%s: tensor %s: differs from %s: %s tensors are copied, not merged, and must be identical",
				               st_arg(c), t->name, st_arg(r->in[0]), dtype_name(t->dtype));
		}
		if (wrote(r, p0, want) < 0)
			return -1;
		left -= want;
	}
	return 0;
}

/* Position every input on tensor t: those the merge reads, and streams (which must move on). */
static int seek_all(struct run *r)
{
	for (size_t i = 0; i <= r->n; i++) {
		st_ckpt *c = ck_of(r, i);
		if (c && (i == r->n || merge_input_used(r->m, i) || !st_seekable(c)) &&
		    st_seek(c, r->ti[i]) < 0)
			return -1;
	}
	return 0;
}

/* Bytes of element dtype of input i (or the base, i = n). */
static size_t isz_of(const struct run *r, size_t i) { return dtype_size(r->dt[i]); }

static int merge_chunked(struct run *r, const struct st_tensor *t, int out_dt)
{
	size_t osz = dtype_size(out_dt), nsrc = r->base ? 1 : 0, isz = 1;
	for (size_t i = 0; i <= r->n; i++)
		if (ck_of(r, i) && (i == r->n || merge_input_used(r->m, i))) {
			nsrc += i < r->n;
			isz = isz_of(r, i) > isz ? isz_of(r, i) : isz;   /* the widest input sizes the piece */
		}
	size_t piece = PIECE_BUDGET / (nsrc ? nsrc : 1);
	piece = piece < PIECE_MIN ? PIECE_MIN : piece > ST_CHUNK ? ST_CHUNK : piece;
	piece /= isz;
	if (seek_all(r) < 0 || merge_begin_tensor(r->m, t->name, r->dt, t->numel, NULL, NULL) < 0 ||
	    out_room(r, piece * osz) < 0)
		return -1;
	const void *basep = NULL;
	for (uint64_t off = 0; off < t->numel;) {
		size_t cnt = t->numel - off < piece ? (size_t)(t->numel - off) : piece;
		for (size_t i = 0; i <= r->n; i++) {
			const void **dst = i < r->n ? &r->src[i] : &basep;
			*dst = NULL;
			if (!ck_of(r, i) || (i < r->n && !merge_input_used(r->m, i)))
				continue;
			ssize_t got = st_read(ck_of(r, i), dst, cnt * isz_of(r, i));
			if (got < 0)
				return -1;
			if ((size_t)got != cnt * isz_of(r, i))
				return err_set("%s: tensor %s: ends early", st_arg(ck_of(r, i)), t->name);
		}
		if (merge_apply(r->m, off, cnt, r->src, basep, out_dt, r->out) < 0)
			return -1;
		for (size_t i = 0; i <= r->n; i++)
			if (ck_of(r, i))
				release(ck_of(r, i), i < r->n ? r->src[i] : basep, cnt * isz_of(r, i));
		if (wrote(r, r->out, cnt * osz) < 0)
			return -1;
		off += cnt;
	}
	return 0;
}

static int merge_whole(struct run *r, const struct st_tensor *t, int out_dt)
{
	size_t osz = dtype_size(out_dt);
	const void *basep = NULL, **whole = calloc(r->n, sizeof *whole);
	int rc = -1;
	if (!whole)
		return err_oom();
	if (seek_all(r) < 0)
		goto out;
	for (size_t i = 0; i <= r->n; i++) {
		st_ckpt *c = ck_of(r, i);
		if (c && (i == r->n || merge_input_used(r->m, i)) &&
		    st_data(c, i < r->n ? &whole[i] : &basep) < 0)
			goto out;
	}
	size_t piece = t->numel < WHOLE_PIECE ? (size_t)t->numel : WHOLE_PIECE;
	if (merge_begin_tensor(r->m, t->name, r->dt, t->numel, whole, basep) < 0 ||
	    out_room(r, piece * osz) < 0)
		goto out;
	for (uint64_t off = 0; off < t->numel; off += piece) {
		size_t cnt = t->numel - off < piece ? (size_t)(t->numel - off) : piece;
		for (size_t i = 0; i < r->n; i++)
			r->src[i] = whole[i] ? (const char *)whole[i] + off * isz_of(r, i) : NULL;
		if (merge_apply(r->m, off, cnt, r->src, basep ? (const char *)basep + off * isz_of(r, r->n) : NULL,
		                out_dt, r->out) < 0 ||
		    wrote(r, r->out, cnt * osz) < 0)
			goto out;
	}
	for (size_t i = 0; i <= r->n; i++)
		if (ck_of(r, i))
			release(ck_of(r, i), i < r->n ? whole[i] : basep, t->numel * isz_of(r, i));
	rc = 0;
out:
	free(whole);
	return rc;
}

/* The output dtype of tensor t: out_dt for a float tensor when given (>= 0), else its dtype in the
 * first input (the inputs' float dtypes may differ); a non-float tensor keeps its own. */
static int out_dtype(st_ckpt *first, const struct st_tensor *t, int out_dt)
{
	if (!dtype_is_float(t->dtype))
		return t->dtype;
	if (out_dt >= 0)
		return out_dt;
	return st_find(first, t->name)->dtype;
}

int merge_run(merger *m, st_ckpt *const *in, size_t n, st_ckpt *base, int out_dt, st_writer *w,
              void (*progress)(void *, uint64_t, uint64_t), void *ctx)
{
	const char *method = merge_method_name(merge_method_of(m));
	if (merge_method_uses_base(merge_method_of(m)) && !base)
		return err_set("%s needs a base checkpoint", method);
	if (!merge_method_uses_base(merge_method_of(m)) && base)
		return err_set("%s: %s does not use a base checkpoint", st_arg(base), method);
	if (out_dt >= 0 && !dtype_is_float(out_dt))
		return err_set("cannot merge into %s elements", dtype_name(out_dt));
	st_ckpt *ref = merge_check(in, n, base);
	if (!ref)
		return -1;
	struct run r = { m, in, n, base, w, NULL, NULL, NULL, NULL, 0, 0, 0, progress, ctx };
	size_t nt = st_count(ref);
	int rc = -1;
	for (size_t j = 0; j < nt; j++) {
		const struct st_tensor *t = st_at(ref, j);
		int dt = out_dtype(in[0], t, out_dt);
		if (st_add(w, t->name, dt, t->ndim, t->shape) < 0)
			return -1;
		r.total += t->numel * dtype_size(dt);
	}
	if (st_begin(w) < 0)
		return -1;
	if (!(r.ti = calloc(n + 1, sizeof *r.ti)) || !(r.dt = calloc(n + 1, sizeof *r.dt)) ||
	    !(r.src = calloc(n, sizeof *r.src))) {
		err_oom();
		goto out;
	}
	for (size_t j = 0; j < nt; j++) {
		const struct st_tensor *t = st_at(ref, j);
		for (size_t i = 0; i <= n; i++) {
			r.ti[i] = ck_of(&r, i) ? st_find(ck_of(&r, i), t->name) : NULL;
			r.dt[i] = r.ti[i] ? r.ti[i]->dtype : DT_F32;
		}
		int odt = out_dtype(in[0], t, out_dt);
		if (!dtype_is_float(t->dtype) ? copy_tensor(&r, t) < 0
		    : merge_whole_tensor(m) ? merge_whole(&r, t, odt) < 0
		    : merge_chunked(&r, t, odt) < 0)
			goto out;
	}
	rc = 0;
out:
	free(r.ti);
	free(r.dt);
	free(r.src);
	free(r.out);
	return rc;
}
