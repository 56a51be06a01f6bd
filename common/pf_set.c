/* pf_set.c — the data set of the pareto program: score records or whitespace matrices read into
 * points, their objectives, and the points and the table written back (see pareto.h). */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "pareto.h"
#include "rec.h"

void pf_set_init(struct pf_set *s, const struct pf_read_opts *o)
{
	memset(s, 0, sizeof *s);
	if (o)
		s->opt = *o;
}

void pf_set_free(struct pf_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->label[i]);
	for (int b = 0; b < s->nbufs; b++)
		free(s->bufs[b]);
	free(s->bufs);
	for (int j = 0; j < s->m; j++) {
		free(s->path[j]);
		free(s->name[j]);
	}
	free(s->f);
	free(s->text);
	free(s->tlen);
	free(s->label);
	free(s->seq);
	free(s->path);
	free(s->name);
	free(s->maximize);
	free(s->bad_first);
	memset(s, 0, sizeof *s);
}

double pf_set_value(const struct pf_set *s, size_t i, int j)
{
	double v = s->f[i * s->m + j];
	return s->maximize[j] ? -v : v;
}

int pf_set_objective(const struct pf_set *s, const char *name)
{
	for (int j = 0; j < s->m; j++)
		if (strcmp(s->path[j], name) == 0 || strcmp(s->name[j], name) == 0)
			return j;
	return -1;
}

/* Split "a,b,c" into a malloc'd array of malloc'd strings; empty items are an error. */
static int split_list(const char *what, const char *text, char ***out, int *count)
{
	char **v = NULL;
	int n = 0;
	for (const char *p = text;; ) {
		size_t l = strcspn(p, ",");
		char **nv = realloc(v, (n + 1) * sizeof *nv);
		if (!nv)
			goto oom;
		v = nv;
		if (l == 0) {
			for (int i = 0; i < n; i++)
				free(v[i]);
			free(v);
			return err_set("%s: empty name in \"%s\"", what, text);
		}
		if (!(v[n] = strndup(p, l)))
			goto oom;
		n++;
		if (!p[l])
			break;
		p += l + 1;
	}
	*out = v;
	*count = n;
	return 0;
oom:
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return err_oom();
}

static void free_list(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* m objectives named; allocates the per-objective arrays. */
static int alloc_objectives(struct pf_set *s, int m, int maximize)
{
	s->path = calloc(m, sizeof *s->path);
	s->name = calloc(m, sizeof *s->name);
	s->maximize = calloc(m, sizeof *s->maximize);
	if (!s->path || !s->name || !s->maximize)
		return err_oom();
	s->m = m;
	for (int j = 0; j < m; j++)
		s->maximize[j] = maximize;
	return 0;
}

/* --min / --max once the objectives are known. -2 for a name that is none of them. */
static int apply_senses(struct pf_set *s)
{
	const char *lists[2] = { s->opt.min, s->opt.max };
	for (int w = 0; w < 2; w++) {
		char **v;
		int n;
		if (!lists[w])
			continue;
		if (split_list(w ? "--max" : "--min", lists[w], &v, &n) < 0)
			return -2;
		for (int i = 0; i < n; i++) {
			int j = pf_set_objective(s, v[i]);
			if (j < 0) {
				char all[1024] = "";
				for (int k = 0; k < s->m; k++)
					snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", k ? ", " : "", s->name[k]);
				err_set("%s: no objective \"%s\" (objectives: %s)", w ? "--max" : "--min", v[i], all);
				free_list(v, n);
				return -2;
			}
			s->maximize[j] = w;
		}
		free_list(v, n);
	}
	return 0;
}

static int grow(struct pf_set *s)
{
	if (s->n < s->cap)
		return 0;
	size_t cap = s->cap ? 2 * s->cap : 256;
	double *f = realloc(s->f, cap * s->m * sizeof *f);
	if (f)
		s->f = f;
	char **label = realloc(s->label, cap * sizeof *label);
	if (label)
		s->label = label;
	size_t *seq = realloc(s->seq, cap * sizeof *seq);
	if (seq)
		s->seq = seq;
	if (!f || !label || !seq)
		return err_oom();
	const char **t = realloc(s->text, cap * sizeof *t);
	if (t)
		s->text = t;
	size_t *tl = realloc(s->tlen, cap * sizeof *tl);
	if (tl)
		s->tlen = tl;
	if (!t || !tl)
		return err_oom();
	s->cap = cap;
	return 0;
}

/* A dropped record: counted with skip_bad (the message kept), else the error. */
static int bad(struct pf_set *s)
{
	if (!s->opt.skip_bad)
		return -1;
	if (!s->nbad++ && !(s->bad_first = strdup(err_get())))
		return err_oom();
	return 0;
}

static int record_objectives(struct pf_set *s, json_object *o, const char *name, long line)
{
	if (s->opt.objectives) {
		char **v;
		int n;
		if (split_list("-o", s->opt.objectives, &v, &n) < 0)
			return -2;
		if (alloc_objectives(s, n, 1) < 0) {
			free_list(v, n);
			return -1;
		}
		for (int j = 0; j < n; j++) {
			s->path[j] = v[j];
			if (!(s->name[j] = strdup(v[j]))) {
				free(v);
				return err_oom();
			}
		}
		free(v);
	} else {
		json_object *sc = rec_path(o, "scores");
		int n = sc && json_object_is_type(sc, json_type_object) ? json_object_object_length(sc) : 0;
		if (n == 0)
			return err_set("%s:%ld: no \"scores\" object to take the objectives from (name them with -o)",
			               name, line);
		if (alloc_objectives(s, n, 1) < 0)
			return -1;
		s->from_scores = 1;
		int j = 0;
		json_object_object_foreach(sc, key, val) {
			(void)val;
			size_t l = strlen(key) + 8;
			if (!(s->path[j] = malloc(l)) || !(s->name[j] = strdup(key)))
				return err_oom();
			snprintf(s->path[j], l, "scores.%s", key);
			j++;
		}
	}
	return apply_senses(s) < 0 ? -2 : 0;
}

static int add_record(struct pf_set *s, json_object *o, const char *name, long line,
                      const char *text, size_t tlen)
{
	int rc;
	if (!s->m && (rc = record_objectives(s, o, name, line)) < 0)
		return rc;
	if (grow(s) < 0)
		return -1;
	double *p = s->f + s->n * s->m;
	json_object *sc = s->from_scores ? rec_path(o, "scores") : NULL;
	for (int j = 0; j < s->m; j++) {
		json_object *x = NULL;
		int found = s->from_scores ? sc && json_object_is_type(sc, json_type_object) &&
		                             json_object_object_get_ex(sc, s->name[j], &x)
		                           : rec_lookup(o, s->path[j], &x);
		if (!found)
			return err_set("%s:%ld: missing objective \"%s\"", name, line, s->path[j]);
		if (!json_object_is_type(x, json_type_double) && !json_object_is_type(x, json_type_int))
			return err_set("%s:%ld: objective \"%s\" is not a number", name, line, s->path[j]);
		double v = json_object_get_double(x);
		if (!isfinite(v))
			return err_set("%s:%ld: objective \"%s\" is %s", name, line, s->path[j],
			               isnan(v) ? "NaN" : "infinite");
		p[j] = s->maximize[j] ? -v : v;
	}
	json_object *lab = rec_path(o, "label");
	s->label[s->n] = NULL;
	if (lab && !(s->label[s->n] = strdup(json_object_get_string(lab))))
		return err_oom();
	s->text[s->n] = text;
	s->tlen[s->n] = tlen;
	s->seq[s->n] = s->n ? s->seq[s->n - 1] + 1 : 1;
	s->n++;
	return 0;
}

static int read_records(struct pf_set *s, char *buf, size_t len, const char *name)
{
	FILE *mf = fmemopen(buf, len, "r");
	rec_reader *r;
	int rc = 0;
	if (!mf)
		return err_set("%s: fmemopen:", name);
	if (!(r = rec_open_file(mf, name))) {
		fclose(mf);
		return -1;
	}
	/* The record's text is found in buf by its line number: cur is the start of line curline. */
	const char *cur = buf, *end = buf + len;
	long curline = 1;
	for (;;) {
		json_object *o = NULL;
		int got = rec_next(r, &o);
		if (got == 0)
			break;
		if (got > 0) {
			for (; curline < rec_lineno(r); curline++)
				cur = (const char *)memchr(cur, '\n', end - cur) + 1;
			const char *e = memchr(cur, '\n', end - cur), *t = cur;
			e = e ? e : end;
			while (t < e && isspace((unsigned char)*t))
				t++;
			while (e > t && isspace((unsigned char)e[-1]))
				e--;
			rc = add_record(s, o, name, rec_lineno(r), t, e - t);
			json_object_put(o);
			if (rc == 0)
				continue;
		} else {
			rc = -1;
		}
		if (rc == -2 || (rc = bad(s)) < 0)
			break;
	}
	rec_close(r);
	fclose(mf);
	return rc;
}

static int matrix_objectives(struct pf_set *s, int ncol, const char *name, long line)
{
	s->ncol = ncol;
	if (!s->opt.objectives) {
		if (alloc_objectives(s, ncol, 0) < 0)
			return -1;
		for (int j = 0; j < ncol; j++) {
			if (!(s->path[j] = malloc(16)) || !(s->name[j] = malloc(16)))
				return err_oom();
			snprintf(s->path[j], 16, "%d", j + 1);
			snprintf(s->name[j], 16, "f%d", j + 1);
		}
		return apply_senses(s) < 0 ? -2 : 0;
	}
	char **v;
	int n;
	if (split_list("-o", s->opt.objectives, &v, &n) < 0)
		return -2;
	if (alloc_objectives(s, n, 0) < 0) {
		free_list(v, n);
		return -1;
	}
	for (int j = 0; j < n; j++) {
		char *end;
		long c = strtol(v[j], &end, 10);
		if (*end || c < 1 || c > ncol) {
			err_set("-o: \"%s\" is not a column number of %s (1 to %d, from line %ld)", v[j], name, ncol, line);
			free_list(v, n);
			return -2;
		}
		s->path[j] = v[j];
		if (!(s->name[j] = malloc(24))) {
			free(v);
			return err_oom();
		}
		snprintf(s->name[j], 24, "f%ld", c);
	}
	free(v);
	return apply_senses(s) < 0 ? -2 : 0;
}

/* One data line of a matrix (NUL-terminated, no newline). */
static int add_row(struct pf_set *s, char *text, const char *name, long line)
{
	double row[256];
	char *tok[256];
	int nt = 0, rc;
	for (char *p = text; *p;) {
		p += strspn(p, " \t\r\f\v");
		if (!*p)
			break;
		if (nt == 256)
			return err_set("%s:%ld: more than 256 columns", name, line);
		tok[nt++] = p;
		p += strcspn(p, " \t\r\f\v");
	}
	if (!s->m && (rc = matrix_objectives(s, nt, name, line)) < 0)
		return rc;
	if (nt != s->ncol)
		return err_set("%s:%ld: %d columns, expected %d as on the first line", name, line, nt, s->ncol);
	for (int c = 0; c < nt; c++) {
		char *end;
		size_t l = strcspn(tok[c], " \t\r\f\v");
		row[c] = strtod(tok[c], &end);
		if (end != tok[c] + l)
			return err_set("%s:%ld: column %d: \"%.*s\" is not a number", name, line, c + 1, (int)l, tok[c]);
	}
	if (grow(s) < 0)
		return -1;
	double *p = s->f + s->n * s->m;
	for (int j = 0; j < s->m; j++) {
		int c = atoi(s->path[j]) - 1;
		if (!isfinite(row[c]))
			return err_set("%s:%ld: column %d is %s", name, line, c + 1, isnan(row[c]) ? "NaN" : "infinite");
		p[j] = s->maximize[j] ? -row[c] : row[c];
	}
	size_t l = strlen(text);
	while (l > 0 && isspace((unsigned char)text[l - 1]))
		l--;
	s->label[s->n] = NULL;
	s->text[s->n] = text;
	s->tlen[s->n] = l;
	s->seq[s->n] = s->n ? s->seq[s->n - 1] + 1 : 1;
	s->n++;
	return 0;
}

static int read_matrix(struct pf_set *s, char *buf, size_t len, const char *name)
{
	long line = 0;
	int rc = 0;
	for (char *p = buf; p < buf + len;) {
		char *nl = memchr(p, '\n', buf + len - p), *e = nl ? nl : buf + len;
		line++;
		*e = 0;
		char *t = p + strspn(p, " \t\r");
		p = e + 1;
		if (!*t || *t == '#')
			continue;
		if (strlen(t) != (size_t)(e - t))
			rc = err_set("%s:%ld: NUL byte in line", name, line);
		else
			rc = add_row(s, t, name, line);
		if (rc == -2 || (rc < 0 && (rc = bad(s)) < 0))
			return rc;
	}
	return 0;
}

static int slurp(const char *path, const char *name, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *buf = NULL;
	size_t n = 0, cap = 0;
	if (!f)
		return err_set("%s:", path);
	for (;;) {
		if (cap - n < 65536) {
			char *nb = realloc(buf, cap = 2 * cap + 65536);
			if (!nb) {
				free(buf);
				if (f != stdin)
					fclose(f);
				return err_oom();
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	int e = ferror(f);
	if (f != stdin)
		fclose(f);
	else
		clearerr(stdin);
	if (e) {
		free(buf);
		return err_set("%s: read error:", name);
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

int pf_set_read(struct pf_set *s, const char *path)
{
	const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	char *buf = NULL;
	size_t len = 0;
	if (slurp(path, name, &buf, &len) < 0)
		return -1;
	size_t i = 0;
	while (i < len && isspace((unsigned char)buf[i]))
		i++;
	int rc = 0;
	if (i < len) {
		int kind = buf[i] == '{' ? 1 : 2;
		if (s->kind && kind != s->kind)
			rc = err_set("%s: %s, but the input before was %s", name,
			             kind == 1 ? "NDJSON records" : "a matrix", kind == 1 ? "a matrix" : "NDJSON records");
		else {
			s->kind = kind;
			rc = kind == 1 ? read_records(s, buf, len, name) : read_matrix(s, buf, len, name);
		}
	}
	char **nb = realloc(s->bufs, (s->nbufs + 1) * sizeof *nb);
	if (!nb) {
		free(buf);
		return err_oom();
	}
	s->bufs = nb;
	s->bufs[s->nbufs++] = buf;
	return rc;
}

int pf_set_unique(struct pf_set *s)
{
	unsigned char *dup = malloc(s->n ? s->n : 1);
	if (!dup || pf_dups(s->n, s->m, s->f, dup) < 0) {
		free(dup);
		return dup ? -1 : err_oom();
	}
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (dup[i]) {
			free(s->label[i]);
			continue;
		}
		memmove(s->f + k * s->m, s->f + i * s->m, s->m * sizeof *s->f);
		s->text[k] = s->text[i];
		s->tlen[k] = s->tlen[i];
		s->label[k] = s->label[i];
		s->seq[k] = s->seq[i];
		k++;
	}
	s->n = k;
	free(dup);
	return 0;
}

/* Shortest text that reads back as v; "inf", "-inf", "nan" for the others (matrix output). */
static void fmt_plain(char *buf, double v)
{
	if (!isfinite(v)) {
		strcpy(buf, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
		return;
	}
	for (int p = 1; p <= 17; p++) {
		snprintf(buf, 32, "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			break;
	}
}

/* Record i parsed again (it parsed when read). */
static json_object *parse_record(const struct pf_set *s, size_t i)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = tok ? json_tokener_parse_ex(tok, s->text[i], (int)s->tlen[i]) : NULL;
	json_tokener_free(tok);
	if (!o)
		err_oom();
	return o;
}

int pf_set_write(FILE *f, const struct pf_set *s, size_t i, const struct pf_extra *x, int nx)
{
	int reparse = 0;
	for (int k = 0; k < nx && s->kind == 1; k++) {
		char key[64];
		snprintf(key, sizeof key, "\"%s\"", x[k].key);
		reparse |= memmem(s->text[i], s->tlen[i], key, strlen(key)) != NULL;
	}
	if (s->kind == 1 && nx > 0 && !reparse) {
		/* the text is one JSON object: the fields go in before its closing brace */
		size_t l = s->tlen[i] - 1;
		const char *t = s->text[i];
		while (l > 1 && isspace((unsigned char)t[l - 1]))
			l--;
		int empty = t[l - 1] == '{';
		if (fwrite(t, 1, l, f) != l)
			return err_set("write error:");
		for (int k = 0; k < nx; k++) {
			char buf[40];
			if (x[k].is_int)
				snprintf(buf, sizeof buf, "%lld", (long long)x[k].v);
			else
				rec_fmt_double(buf, x[k].v);
			if (fprintf(f, "%s\"%s\":%s", empty && k == 0 ? "" : ",", x[k].key, buf) < 0)
				return err_set("write error:");
		}
		if (fputs("}\n", f) == EOF)
			return err_set("write error:");
		return 0;
	}
	if (s->kind == 1 && nx > 0) {
		json_object *o = parse_record(s, i);
		if (!o)
			return -1;
		for (int k = 0; k < nx; k++)
			rec_set(o, x[k].key, x[k].is_int ? json_object_new_int64((int64_t)x[k].v) : rec_double(x[k].v));
		int rc = rec_write(f, o);
		json_object_put(o);
		return rc;
	}
	if (fwrite(s->text[i], 1, s->tlen[i], f) != s->tlen[i])
		return err_set("write error:");
	for (int k = 0; k < nx; k++) {
		char buf[40];
		if (x[k].is_int)
			snprintf(buf, sizeof buf, "%lld", (long long)x[k].v);
		else
			fmt_plain(buf, x[k].v);
		if (fprintf(f, " %s", buf) < 0)
			return err_set("write error:");
	}
	if (putc('\n', f) == EOF)
		return err_set("write error:");
	return 0;
}

/* A record's "id" as text for the table, or "" (malloc'd; NULL on OOM). */
static char *id_text(const struct pf_set *s, size_t i)
{
	json_object *o = s->kind == 1 ? parse_record(s, i) : NULL, *v = o ? rec_path(o, "id") : NULL;
	const char *t = v ? json_object_get_string(v) : "";
	char *r = strdup(t ? t : "");
	json_object_put(o);
	return r;
}

int pf_table_write(FILE *f, const struct pf_set *s, const unsigned char *sel)
{
	int has_id = 0, has_label = 0, nc;
	size_t rows = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (sel && !sel[i])
			continue;
		rows++;
		/* a cheap look first: a record without the text "id" has no id field */
		if (!has_id && s->kind == 1 && memmem(s->text[i], s->tlen[i], "\"id\"", 4)) {
			json_object *o = parse_record(s, i);
			has_id = o && rec_path(o, "id") != NULL;
			json_object_put(o);
		}
		has_label |= s->label[i] != NULL;
	}
	nc = 1 + has_id + has_label + s->m;
	/* cell[r][c], row 0 the header */
	char **cell = calloc((rows + 1) * nc, sizeof *cell);
	int *w = calloc(nc, sizeof *w), rc = 0;
	if (!cell || !w) {
		free(cell);
		free(w);
		return err_oom();
	}
	int c = 0;
	cell[c++] = strdup("#");
	if (has_id)
		cell[c++] = strdup("id");
	if (has_label)
		cell[c++] = strdup("label");
	for (int j = 0; j < s->m; j++) {
		size_t l = strlen(s->name[j]) + 8;
		if ((cell[c] = malloc(l)))
			snprintf(cell[c], l, "%s%s", s->name[j], s->maximize[j] ? "" : " (min)");
		c++;
	}
	size_t r = 1;
	for (size_t i = 0; i < s->n; i++) {
		if (sel && !sel[i])
			continue;
		char **row = cell + r++ * nc;
		c = 0;
		if ((row[c] = malloc(24)))
			snprintf(row[c], 24, "%zu", s->seq[i]);
		c++;
		if (has_id)
			row[c++] = id_text(s, i);
		if (has_label)
			row[c++] = strdup(s->label[i] ? s->label[i] : "");
		for (int j = 0; j < s->m; j++, c++)
			if ((row[c] = malloc(32)))
				snprintf(row[c], 32, "%.6g", pf_set_value(s, i, j));
	}
	for (size_t k = 0; k < (rows + 1) * nc; k++) {
		if (!cell[k]) {
			rc = err_oom();
			goto out;
		}
		int l = (int)strlen(cell[k]);
		if (l > w[k % nc])
			w[k % nc] = l;
	}
	/* Text columns (id, label) left-aligned, numbers right-aligned, two spaces apart. */
	for (size_t k = 0; k <= rows && rc == 0; k++) {
		for (c = 0; c < nc; c++) {
			int left = c > 0 && c < 1 + has_id + has_label;
			const char *t = cell[k * nc + c];
			if (c + 1 == nc)
				rc = fprintf(f, "%*s\n", w[c], t) < 0;
			else if (left)
				rc = fprintf(f, "%-*s  ", w[c], t) < 0;
			else
				rc = fprintf(f, "%*s  ", w[c], t) < 0;
			if (rc) {
				rc = err_set("write error:");
				break;
			}
		}
	}
out:
	for (size_t k = 0; k < (rows + 1) * nc; k++)
		free(cell[k]);
	free(cell);
	free(w);
	return rc;
}
