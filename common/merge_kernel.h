/* merge_kernel.h — merge.c's kernels, written once and compiled once per accumulator type: merge.c
 * includes this file twice, with
 *   T        the accumulator type (float, double)
 *   SUF      its suffix (f32, f64): every function below is named NAME_SUF through F(NAME)
 *   TO, FROM the conversions of a chunk into and out of T (cvt_to_f32, cvt_from_f32, ...)
 *   KEYT, SKEYT, ABSMASK  the unsigned and signed integers of T's size, and the mask of all bits
 *            but the sign: the keys TIES ranks |δ| by
 * defined, and after BLK, HIST_BITS, FOR_J, INLINE, KERNEL_CLONES, struct job, struct merger and
 * the DARE helpers. A template, not a module: nothing else includes it. */

#define F_CAT2(a, b) a##_##b
#define F_CAT(a, b) F_CAT2(a, b)
#define F(name) F_CAT(name, SUF)

static inline KEYT F(key)(T v)
{
	KEYT u;
	memcpy(&u, &v, sizeof u);
	return u & ABSMASK;
}

/* acc += w x over a full block of BF16 x: the loop merging spends its time in. */
static INLINE void F(axpy_bf16)(T *restrict acc, const unsigned char *restrict p, T w)
{
	for (size_t j = 0; j < BLK; j++) {
		uint16_t h;
		memcpy(&h, p + 2 * j, 2);
		acc[j] += w * (T)bf16_bits_f32(h);
	}
}

/* Element j of a block of dtype dt (BF16 or F32, a constant where this is inlined) as T. BF16 is
 * not quieted here: the product with the weight that follows quiets a signaling NaN. */
static INLINE T F(elt)(const unsigned char *p, size_t j, int dt)
{
	if (dt == DT_BF16) {
		uint16_t h;
		memcpy(&h, p + 2 * j, 2);
		return (T)bf16_bits_f32(h);
	}
	float f;
	memcpy(&f, p + 4 * j, 4);
	return (T)f;
}

/* The linear sum over a full block of inputs that all have dtype dt (BF16 or F32), up to four
 * inputs (nk) a pass over acc: acc = (((acc + w0 x0) + w1 x1) + w2 x2) + w3 x3, the additions in
 * the order of the one-input-at-a-time loop (start: the first sum is w0 x0, not acc + w0 x0), so
 * the values are the same. Merging is memory-bound: several input streams in flight per pass keep
 * the loads busy, and acc goes through L1 once a pass. dt, nk and start are constants where this
 * is inlined, so each case is a loop of its own. */
static INLINE void F(sum)(T *restrict acc, const unsigned char *restrict p0,
                          const unsigned char *restrict p1, const unsigned char *restrict p2,
                          const unsigned char *restrict p3, const T *w, int dt, int nk, int start)
{
	T w0 = w[0], w1 = nk > 1 ? w[1] : 0, w2 = nk > 2 ? w[2] : 0, w3 = nk > 3 ? w[3] : 0;
	for (size_t j = 0; j < BLK; j++) {
		T v = start ? w0 * F(elt)(p0, j, dt) : w0 * F(elt)(p0, j, dt) + acc[j];
		if (nk > 1)
			v = w1 * F(elt)(p1, j, dt) + v;
		if (nk > 2)
			v = w2 * F(elt)(p2, j, dt) + v;
		if (nk > 3)
			v = w3 * F(elt)(p3, j, dt) + v;
		acc[j] = v;
	}
}

/* One pass over acc with active inputs k .. k + nk - 1 (nk ≤ 4); start: the first pass. */
static INLINE void F(pass)(const merger *m, const struct job *jb, size_t s, T *restrict acc,
                           int dt, size_t k, size_t nk, int start)
{
	const size_t *a = m->act + k, isz = dt == DT_BF16 ? 2 : 4;
	const unsigned char *p[4];
	T w[4];
	for (size_t i = 0; i < 4; i++) {
		size_t ii = i < nk ? i : 0;
		p[i] = (const unsigned char *)jb->src[a[ii]] + s * isz;
		w[i] = (T)m->coef[a[ii]];
	}
	switch (nk) {
	case 1: F(sum)(acc, p[0], p[1], p[2], p[3], w, dt, 1, start); break;
	case 2: F(sum)(acc, p[0], p[1], p[2], p[3], w, dt, 2, start); break;
	case 3: F(sum)(acc, p[0], p[1], p[2], p[3], w, dt, 3, start); break;
	default: F(sum)(acc, p[0], p[1], p[2], p[3], w, dt, 4, start); break;
	}
}

/* The linear merge of a full block whose active inputs all have dtype dt: passes of four inputs
 * (the last of one to four), in argument order. */
static INLINE void F(linear_blk)(const merger *m, const struct job *jb, size_t s, T *restrict acc,
                                 int dt)
{
	size_t na = m->nact, k = na < 4 ? na : 4;
	F(pass)(m, jb, s, acc, dt, 0, k, 1);
	for (; k < na; k += 4)
		F(pass)(m, jb, s, acc, dt, k, na - k < 4 ? na - k : 4, 0);
}

/* len elements of dtype dt at src into x (BF16, the common case, inline). */
static INLINE void F(load)(T *restrict x, int dt, const void *src, size_t len)
{
	const unsigned char *restrict p = src;
	if (dt == DT_BF16 && len == BLK)
		for (size_t j = 0; j < BLK; j++) {
			uint16_t h;
			memcpy(&h, p + 2 * j, 2);
			x[j] = (T)bf16_to_f32(h);
		}
	else
		TO(x, dt, src, len);
}

/* acc (len elements) to the output dtype; F32 → BF16, the common case, inline. */
static INLINE void F(store)(int out_dt, void *out, const T *restrict acc, size_t len)
{
	unsigned char *restrict o = out;
	if (sizeof(T) == 4 && out_dt == DT_BF16 && len == BLK)
		for (size_t j = 0; j < BLK; j++) {
			uint16_t h = f32_to_bf16((float)acc[j]);
			memcpy(o + 2 * j, &h, 2);
		}
	else
		FROM(out_dt, out, acc, len);
}

/* Element-wise steps; restrict parameters, so gcc knows the arrays apart and vectorizes. */
static INLINE void F(vscale)(T *restrict y, const T *restrict x, T w, size_t len)
{
	FOR_J(len, y[j] = w * x[j]);
}
static INLINE void F(vaxpy)(T *restrict y, const T *restrict x, T w, size_t len)
{
	FOR_J(len, y[j] += w * x[j]);
}
static INLINE void F(vsub)(T *restrict x, const T *restrict b, size_t len)
{
	FOR_J(len, x[j] = x[j] - b[j]);
}
static INLINE void F(vadd)(T *restrict y, const T *restrict x, size_t len)
{
	FOR_J(len, y[j] += x[j]);
}
/* acc = base + acc (in that order: the bits of a NaN result follow the first operand). */
static INLINE void F(vbase)(T *restrict acc, const T *restrict bb, size_t len)
{
	FOR_J(len, acc[j] = bb[j] + acc[j]);
}
/* acc / e, with e = 0 read as 1 (branch-free: e + (e == 0)). */
static INLINE void F(vnorm)(T *restrict acc, const T *restrict e, size_t len)
{
	FOR_J(len, acc[j] = acc[j] / (e[j] + (T)(e[j] == 0)));
}

/* DARE: δ · mask / density, as mergekit computes it (a dropped NaN stays NaN). */
static INLINE void F(dare)(T *restrict x, T *restrict mk, uint64_t key, uint64_t g0,
                              uint64_t thr, T dens, size_t len)
{
	FOR_J(len, mk[j] = (T)(int32_t)dare_keep(key, g0 + j, thr));   /* two loops vectorize */
	FOR_J(len, x[j] = x[j] * mk[j] / dens);
}

/* TIES trim: δ · keep, keep = |δ| above the threshold key, or equal to it at an index of the
 * block below jl. Keys compare as signed integers (their sign bit is clear), which vectorizes. */
static INLINE void F(trim)(T *restrict x, SKEYT thr, SKEYT jl, size_t len)
{
	FOR_J(len, x[j] = x[j] * (T)((int)((SKEYT)F(key)(x[j]) > thr) |
	                             ((int)((SKEYT)F(key)(x[j]) == thr) & (int)((SKEYT)j < jl))));
}

/* TIES election, one input: where wᵢδᵢ (di) has the sign of the sum s (+ for s ≥ 0), add it
 * to acc and its weight to e; elsewhere add +0, which leaves acc's bits as they were (the
 * kept terms are never zero, so no −0 arises). The choice is a bit mask, which vectorizes. */
static INLINE void F(elect)(T *restrict acc, T *restrict e, const T *restrict s,
                               const T *restrict di, T w, size_t len)
{
	KEYT wb;
	memcpy(&wb, &w, sizeof wb);
	FOR_J(len, {
		T v = di[j], kv, kw;
		KEYT sel = (KEYT)0 - (KEYT)(((s[j] >= 0) & (v > 0)) | (!(s[j] >= 0) & (v < 0)));
		KEYT vb;
		memcpy(&vb, &v, sizeof vb);
		vb &= sel;
		KEYT kb = wb & sel;
		memcpy(&kv, &vb, sizeof kv);
		memcpy(&kw, &kb, sizeof kw);
		acc[j] += kv;
		e[j] += kw;
	});
}

KERNEL_CLONES
static void F(kern)(const merger *m, const struct job *jb, size_t s, size_t len, T *scratch)
{
	T *restrict x = scratch, *restrict acc = x + BLK, *restrict bb = acc + BLK;
	T *restrict d = bb + BLK, *restrict e = d + m->n * BLK;
	size_t n = m->n, na = 0;
	uint64_t g0 = jb->off + s;
	int ties = m->method == MERGE_TIES || m->method == MERGE_DARE_TIES;
	int dare = m->method == MERGE_DARE_LINEAR || m->method == MERGE_DARE_TIES;
	T dens = (T)m->density;
	void *out = (char *)jb->out + s * dtype_size(jb->out_dt);
	if (m->method == MERGE_LINEAR || m->method == MERGE_SLERP) {
		if (len == BLK && m->nact > 0 && (m->act_dt == DT_BF16 || m->act_dt == DT_F32)) {
			if (m->act_dt == DT_BF16)
				F(linear_blk)(m, jb, s, acc, DT_BF16);
			else
				F(linear_blk)(m, jb, s, acc, DT_F32);
			F(store)(jb->out_dt, out, acc, len);
			return;
		}
		for (size_t i = 0; i < n; i++) {
			if (!m->active[i])
				continue;
			T w = (T)m->coef[i];
			const unsigned char *restrict p = (const unsigned char *)jb->src[i] + s * dtype_size(m->dt[i]);
			if (na++ > 0 && m->dt[i] == DT_BF16 && len == BLK) {   /* the hot loop, fused */
				F(axpy_bf16)(acc, p, w);
				continue;
			}
			F(load)(x, m->dt[i], p, len);
			if (na == 1)
				F(vscale)(acc, x, w, len);
			else
				F(vaxpy)(acc, x, w, len);
		}
		if (na == 0)
			memset(acc, 0, len * sizeof *acc);
		F(store)(jb->out_dt, out, acc, len);
		return;
	}
	F(load)(bb, m->dt[n], (const char *)jb->base + s * dtype_size(m->dt[n]), len);
	for (size_t i = 0; i < n; i++) {
		if (!m->active[i])
			continue;
		T w = (T)m->coef[i];
		F(load)(x, m->dt[i], (const char *)jb->src[i] + s * dtype_size(m->dt[i]), len);
		F(vsub)(x, bb, len);                       /* the task vector δ */
		if (dare)
			F(dare)(x, e, m->dare_key[i], g0, m->dare_thr, dens, len);
		else if (m->method == MERGE_TIES && m->trim[i]) {
			uint64_t last = m->last[i];
			size_t jl = last == UINT64_MAX ? len : last < g0 ? 0
			          : last - g0 + 1 < len ? (size_t)(last - g0 + 1) : len;
			F(trim)(x, (SKEYT)m->thr[i], (SKEYT)jl, len);
		}
		if (ties)                                     /* keep wᵢδᵢ for the election */
			F(vscale)(d + na * BLK, x, w, len);
		else if (na == 0)
			F(vscale)(acc, x, w, len);
		else
			F(vaxpy)(acc, x, w, len);
		na++;
	}
	if (!ties) {
		if (na == 0)
			memcpy(acc, bb, len * sizeof *acc);
		else
			F(vbase)(acc, bb, len);
		F(store)(jb->out_dt, out, acc, len);
		return;
	}
	/* TIES: elect the sign of Σ wᵢδᵢ (≥ 0: +), keep the terms of that sign (their sum in acc,
	 * their weights' in e) and divide by the weights' sum (0 → 1) when normalizing. */
	if (na == 0)
		memset(x, 0, len * sizeof *x);
	else
		memcpy(x, d, len * sizeof *x);
	for (size_t a = 1; a < na; a++)
		F(vadd)(x, d + a * BLK, len);
	memset(acc, 0, len * sizeof *acc);
	memset(e, 0, len * sizeof *e);
	for (size_t i = 0, a = 0; i < n; i++) {
		if (!m->active[i])
			continue;
		F(elect)(acc, e, x, d + a++ * BLK, (T)m->coef[i], len);
	}
	if (m->normalize)
		F(vnorm)(acc, e, len);
	F(vbase)(acc, bb, len);
	F(store)(jb->out_dt, out, acc, len);
}

/* The keys of |δ| for elements [s, s + len) of one input (of dtype dt; the base's: bdt). */
static INLINE void F(keys)(KEYT *restrict key, T *restrict x, T *restrict bb, int dt, int bdt,
                           const void *src, const void *base, uint64_t s, size_t len)
{
	F(load)(x, dt, (const char *)src + s * dtype_size(dt), len);
	F(load)(bb, bdt, (const char *)base + s * dtype_size(bdt), len);
	FOR_J(len, key[j] = F(key)(x[j] - bb[j]));
}

/* TIES trimming of input i: the key (bits of |δ|) of the k-th largest |δ| and, when several
 * elements share it, the index of the last one kept (elements are kept in index order).
 * A radix selection over the keys, recomputed from the inputs at each pass, so no copy of
 * the tensor is needed. */
KERNEL_CLONES
static void F(ties_threshold)(merger *m, size_t i, const void *src, const void *base,
                                 T *x, uint64_t *hist)
{
	T *bb = x + BLK;
	KEYT *key = (KEYT *)(bb + BLK);
	uint64_t n = m->numel, k = (uint64_t)(m->density * (double)n), need, prefix = 0;
	int bits = (int)sizeof(KEYT) * 8 - 1, wd = 0;    /* keys: |δ|'s bits, the sign bit clear */
	uint64_t digit = 0;
	m->trim[i] = 0;
	if (m->density >= 1 || k >= n)
		return;
	if (k == 0)
		k = 1;
	need = k;
	/* Digits from the top: 12 bits first (a histogram that stays in L1 while every element
	 * is counted), then up to HIST_BITS (only the elements under the prefix are counted). */
	for (int done = 0; done < bits; done += wd) {
		wd = done == 0 ? 12 : bits - done < HIST_BITS ? bits - done : HIST_BITS;
		int lo = bits - done - wd;
		uint64_t nb = 1ull << wd;
		memset(hist, 0, nb * sizeof *hist);
		for (uint64_t s = 0; s < n; s += BLK) {
			size_t len = n - s < BLK ? (size_t)(n - s) : BLK;
			F(keys)(key, x, bb, m->dt[i], m->dt[m->n], src, base, s, len);
			if (done == 0)
				for (size_t j = 0; j < len; j++)
					hist[key[j] >> lo]++;
			else
				for (size_t j = 0; j < len; j++)
					if ((uint64_t)(key[j] >> (lo + wd)) == prefix)
						hist[(key[j] >> lo) & (nb - 1)]++;
		}
		for (digit = nb - 1; digit > 0 && hist[digit] < need; digit--)
			need -= hist[digit];
		prefix = prefix << wd | digit;
	}
	m->thr[i] = prefix;
	m->last[i] = UINT64_MAX;
	m->trim[i] = 1;
	if (need == hist[digit])
		return;
	for (uint64_t s = 0, seen = 0; s < n; s += BLK) {
		size_t len = n - s < BLK ? (size_t)(n - s) : BLK;
		F(keys)(key, x, bb, m->dt[i], m->dt[m->n], src, base, s, len);
		for (size_t j = 0; j < len; j++)
			if (key[j] == prefix && ++seen == need) {
				m->last[i] = s + j;
				return;
			}
	}
}

#undef F
#undef F_CAT
#undef F_CAT2
