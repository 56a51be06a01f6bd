/* eval_exec.c — see eval.h: external harnesses. Runs a command on a checkpoint (materialized as a
 * Hugging Face directory when it is not one), with a timeout, and reads the scores it writes: a
 * recycle record or lm-evaluation-harness's results JSON.
 *
 * The command runs in its own process group so that a timeout (or our own SIGINT/SIGTERM/SIGHUP)
 * can end everything it started — sh, python, its workers — and nothing else. Its output goes
 * through a pipe: copied to our stderr as it comes, and its last bytes kept for the message when
 * it fails. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "eval.h"
#include "progress.h"
#include "rec.h"
#include "tmp.h"

/* ---- placeholders ---- */

/* s as one single-quoted shell word: ' becomes '\''. */
static size_t quote(char *dst, const char *s)
{
	size_t n = 0;
	if (dst)
		dst[n] = '\'';
	n++;
	for (; *s; s++) {
		if (*s == '\'') {
			if (dst)
				memcpy(dst + n, "'\\''", 4);
			n += 4;
		} else {
			if (dst)
				dst[n] = *s;
			n++;
		}
	}
	if (dst)
		dst[n] = '\'';
	return n + 1;
}

char *eval_subst(const char *cmd, const char *ckpt, const char *out)
{
	/* Two passes: measure, then write. */
	char *r = NULL;
	for (int pass = 0; pass < 2; pass++) {
		size_t n = 0;
		for (const char *p = cmd; *p; ) {
			if (!strncmp(p, "{ckpt}", 6)) {
				n += quote(r ? r + n : NULL, ckpt);
				p += 6;
			} else if (!strncmp(p, "{out}", 5)) {
				n += quote(r ? r + n : NULL, out);
				p += 5;
			} else {
				if (r)
					r[n] = *p;
				n++;
				p++;
			}
		}
		if (r) {
			r[n] = 0;
			break;
		}
		if (!(r = malloc(n + 1))) {
			err_oom();
			return NULL;
		}
	}
	return r;
}

/* ---- reading scores ---- */

static int is_number(json_object *v)
{
	return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;
	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, k, &v))
		return NULL;
	return v;
}

/* The metric spec for task tname: its own "TASK=…" (the last), else the last global one, else NULL. */
static const char *spec_for(const struct eval_metrics *mt, const char *tname, int *own)
{
	const char *glob = NULL, *mine = NULL;
	for (int i = 0; mt && i < mt->n; i++) {
		const char *s = mt->spec[i], *eq = strchr(s, '=');
		if (!eq)
			glob = s;
		else if ((size_t)(eq - s) == strlen(tname) && !strncmp(s, tname, (size_t)(eq - s)))
			mine = eq + 1;
	}
	*own = mine != NULL;
	return mine ? mine : glob;
}

/* The value for metric spec "NAME[,FILTER]" in an lm-eval task object, and its key. */
static json_object *find_metric(json_object *v, const char *spec, const char **key)
{
	json_object *x;
	if (strchr(spec, ',')) {
		x = get(v, spec);
		*key = spec;
		return x && is_number(x) ? x : NULL;
	}
	size_t l = strlen(spec);
	char k[256];
	snprintf(k, sizeof k, "%s,none", spec);
	json_object_object_foreach(v, kk, vv) {
		if (!strcmp(kk, k) && is_number(vv)) {
			*key = kk;
			return vv;
		}
	}
	json_object_object_foreach(v, k2, v2) {
		if (!strncmp(k2, spec, l) && k2[l] == ',' && is_number(v2)) {
			*key = k2;
			return v2;
		}
	}
	x = get(v, spec);
	*key = spec;
	return x && is_number(x) ? x : NULL;
}

static double number_of(json_object *v)
{
	if (!v)
		return NAN;
	if (is_number(v))
		return json_object_get_double(v);
	if (json_object_is_type(v, json_type_string)) {
		char *end;
		const char *s = json_object_get_string(v);
		double d = strtod(s, &end);
		return end != s && !*end ? d : NAN;
	}
	return NAN;
}

/* Metrics lm-eval reports lower-is-better, for results that carry no "higher_is_better". */
static int lower_by_name(const char *metric)
{
	static const char *const low[] = { "perplexity", "word_perplexity", "byte_perplexity",
	                                   "bits_per_byte", "ter" };
	for (size_t i = 0; i < sizeof low / sizeof low[0]; i++)
		if (!strcmp(metric, low[i]))
			return 1;
	return 0;
}

/* Adds to subs every task that is a member (at any depth) of a group in "group_subtasks". */
static void collect_subtasks(json_object *gs, json_object *subs)
{
	json_object_object_foreach(gs, g, members) {
		(void)g;
		if (!json_object_is_type(members, json_type_array))
			continue;
		for (size_t i = 0; i < json_object_array_length(members); i++) {
			json_object *m = json_object_array_get_idx(members, i);
			if (json_object_is_type(m, json_type_string))
				rec_set(subs, json_object_get_string(m), json_object_new_boolean(1));
		}
	}
}

/* Scores one lm-eval task object v (name tname) into rec; 1 scored, 0 no such metric, -1 error. */
static int lm_eval_task(json_object *out, const char *src, const struct eval_metrics *mt,
                        const char *tname, json_object *v, json_object *rec, json_object *chosen,
                        json_object *lower, json_object *se)
{
	int own;
	const char *spec = spec_for(mt, tname, &own), *key = NULL;
	static const char *const dflt[] = { "acc", "exact_match", "acc_norm", "f1", "mc2" };
	json_object *x = NULL;
	if (spec)
		x = find_metric(v, spec, &key);
	for (size_t d = 0; !spec && !x && d < sizeof dflt / sizeof dflt[0]; d++)
		x = find_metric(v, dflt[d], &key);
	if (!x) {
		if (own)
			return err_set("%s: task %s has no numeric metric %s", src, tname, spec);
		return 0;
	}
	double s = json_object_get_double(x);
	/* lm-eval's "higher_is_better" is keyed by the metric name without its filter. */
	char name[256], sek[300];
	int nl = (int)strcspn(key, ",");
	snprintf(name, sizeof name, "%.*s", nl, key);
	json_object *h = get(get(get(out, "higher_is_better"), tname), name);
	int low = h && json_object_is_type(h, json_type_boolean) ? !json_object_get_boolean(h)
	                                                          : lower_by_name(name);
	/* The standard error beside it: "acc_stderr,none" for "acc,none". */
	snprintf(sek, sizeof sek, "%s_stderr%s", name, key + nl);
	json_object *e = get(v, sek);
	if (e && is_number(e))
		rec_set(se, tname, rec_double(json_object_get_double(e)));
	if (low) {
		s = -s;
		json_object_array_add(lower, json_object_new_string(tname));
	}
	json_object *nsamp = get(get(out, "n-samples"), tname), *ne = get(nsamp, "effective");
	if (!ne)
		ne = get(nsamp, "original");
	eval_rec_score(rec, tname, s, ne && json_object_is_type(ne, json_type_int) ? (long)json_object_get_int64(ne) : -1);
	rec_set(chosen, tname, json_object_new_string(key));
	return 1;
}

/* lm-eval's alias of a subtask: " - name" (indented). */
static int sub_alias(json_object *v)
{
	json_object *al = get(v, "alias");
	if (!al || !json_object_is_type(al, json_type_string))
		return 0;
	const char *a = json_object_get_string(al);
	size_t sp = strspn(a, " ");
	return sp > 0 && a[sp] == '-';
}

/* Every task of "results" and "groups" scores once: a group by its aggregate, and the tasks of
 * "group_subtasks" (at any depth) not again. Without "group_subtasks", a "results" entry whose
 * alias starts with " - " (lm-eval's indentation of a subtask) is a subtask. */
static int lm_eval_scores(json_object *out, const char *src, const struct eval_metrics *mt,
                          json_object *rec)
{
	json_object *results = get(out, "results"), *groups = get(out, "groups");
	json_object *gs = get(out, "group_subtasks");
	json_object *chosen = json_object_new_object(), *subs = json_object_new_object();
	json_object *lower = json_object_new_array(), *se = json_object_new_object();
	int count = 0, rc = -1, r;
	const char *missing = NULL;
	if (!chosen || !subs || !lower || !se) {
		err_oom();
		goto out;
	}
	if (gs && json_object_is_type(gs, json_type_object))
		collect_subtasks(gs, subs);
	for (int pass = 0; pass < 2; pass++) {
		json_object *tab = pass ? groups : results;
		if (!tab || !json_object_is_type(tab, json_type_object))
			continue;
		json_object_object_foreach(tab, tname, v) {
			if (!json_object_is_type(v, json_type_object) || get(subs, tname) || get(chosen, tname))
				continue;
			if (!gs && (sub_alias(v) || sub_alias(get(results, tname))))
				continue;
			/* A group's aggregate in "groups" is the one that counts, when both have it. */
			json_object *gv = pass == 0 ? get(groups, tname) : NULL;
			if ((r = lm_eval_task(out, src, mt, tname, gv && json_object_is_type(gv, json_type_object) ? gv : v,
			                      rec, chosen, lower, se)) < 0)
				goto out;
			if (r == 0 && gv && (r = lm_eval_task(out, src, mt, tname, v, rec, chosen, lower, se)) < 0)
				goto out;
			if (r == 0)
				missing = tname;
			count += r;
		}
	}
	if (count == 0) {
		const char *want = mt && mt->n ? mt->spec[mt->n - 1] : "acc, exact_match, acc_norm, f1 or mc2";
		err_set("%s: no task in \"results\" has the metric %s", src, want);
		goto out;
	}
	if (missing)
		warnmsg("%s: task %s (and maybe others) has no such metric: not scored", src, missing);
	json_object *e = get(rec, "eval");
	if (!e || !json_object_is_type(e, json_type_object)) {
		e = json_object_new_object();
		rec_set(rec, "eval", e);
	}
	rec_set(e, "metric", json_object_get(chosen));
	if (json_object_array_length(lower))
		rec_set(e, "lower_is_better", json_object_get(lower));
	if (json_object_object_length(se))
		rec_set(rec, "se", json_object_get(se));
	rc = 0;
out:
	json_object_put(chosen);
	json_object_put(subs);
	json_object_put(lower);
	json_object_put(se);
	return rc;
}

static int record_scores(json_object *out, const char *src, json_object *rec, double *tokens)
{
	json_object *sc = get(out, "scores"), *n = get(out, "n"), *ev = get(out, "eval");
	if (!json_object_is_type(sc, json_type_object))
		return err_set("%s: \"scores\" is not an object", src);
	int count = 0;
	json_object_object_foreach(sc, tname, v) {
		if (v && !is_number(v))
			return err_set("%s: scores.%s is not a number", src, tname);
		json_object *nt = get(n, tname);
		eval_rec_score(rec, tname, v ? json_object_get_double(v) : NAN,
		               nt && json_object_is_type(nt, json_type_int) ? (long)json_object_get_int64(nt) : -1);
		count++;
	}
	if (count == 0)
		return err_set("%s: \"scores\" is empty", src);
	if (ev && json_object_is_type(ev, json_type_object)) {
		json_object *e = get(rec, "eval");
		if (!e || !json_object_is_type(e, json_type_object)) {
			e = json_object_new_object();
			rec_set(rec, "eval", e);
		}
		json_object_object_foreach(ev, k, v2) {
			if (!strcmp(k, "tokens"))
				*tokens = number_of(v2);
			else if (strcmp(k, "seconds"))
				rec_set(e, k, json_object_get(v2));
		}
	}
	return 0;
}

int eval_harness_scores(json_object *out, const char *src, const struct eval_metrics *mt,
                        json_object *rec, double *seconds)
{
	double tokens = NAN;
	*seconds = NAN;
	if (!out || !json_object_is_type(out, json_type_object))
		return err_set("%s: not a JSON object", src);
	int rc;
	if (get(out, "results") && json_object_is_type(get(out, "results"), json_type_object)) {
		rc = lm_eval_scores(out, src, mt, rec);
		*seconds = number_of(get(out, "total_evaluation_time_seconds"));
	} else if (get(out, "scores")) {
		rc = record_scores(out, src, rec, &tokens);
		*seconds = number_of(get(get(out, "eval"), "seconds"));
		if (rc == 0 && isfinite(tokens))
			eval_rec_cost(rec, 0, tokens);
	} else {
		rc = err_set("%s: neither a recycle record (\"scores\") nor lm-evaluation-harness results (\"results\")", src);
	}
	return rc;
}

/* The newest results*.json in dir or one level below (ties: the last name). */
static int newest_results(const char *dir, int depth, char *best, size_t size, struct timespec *bt)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d)
		return err_set("%s:", dir);
	while ((e = readdir(d))) {
		char p[4096];
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= sizeof p || stat(p, &st) < 0)
			continue;
		size_t l = strlen(e->d_name);
		if (S_ISDIR(st.st_mode) && depth > 0) {
			newest_results(p, depth - 1, best, size, bt);
		} else if (S_ISREG(st.st_mode) && !strncmp(e->d_name, "results", 7) && l > 5 &&
		           !strcmp(e->d_name + l - 5, ".json")) {
			int newer = !best[0] || st.st_mtim.tv_sec > bt->tv_sec ||
			            (st.st_mtim.tv_sec == bt->tv_sec && st.st_mtim.tv_nsec > bt->tv_nsec) ||
			            (st.st_mtim.tv_sec == bt->tv_sec && st.st_mtim.tv_nsec == bt->tv_nsec &&
			             strcmp(p, best) > 0);
			if (newer) {
				snprintf(best, size, "%s", p);
				*bt = st.st_mtim;
			}
		}
	}
	closedir(d);
	return 0;
}

int eval_harness_file(const char *path, const struct eval_metrics *mt, json_object *rec,
                      double *seconds)
{
	struct stat st;
	char file[4096] = "";
	if (strcmp(path, "-") && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		struct timespec bt = { 0, 0 };
		if (newest_results(path, 2, file, sizeof file, &bt) < 0)
			return -1;
		if (!file[0])
			return err_set("%s: a directory with no results*.json in it", path);
		path = file;
	}
	json_object *o = rec_load(path);
	if (!o)
		return -1;
	int rc = eval_harness_scores(o, strcmp(path, "-") ? path : "<stdin>", mt, rec, seconds);
	json_object_put(o);
	return rc;
}

/* ---- materializing a checkpoint ---- */

/* Copies ck's tensors (unchanged) into a new Hugging Face directory dir, with its config and
 * metadata, and the tokenizer files of donor (or of ck's own directory). */
static int materialize(st_ckpt *ck, const char *dir, const char *donor, int quiet)
{
	const char *cfg = st_config(ck);
	if (!cfg)
		return err_set("%s: no config.json (a directory's, or a stream's \"config\" metadata) to give the harness", st_arg(ck));
	json_object *meta = json_object_new_object(), *m = st_meta_all(ck);
	if (m) {
		json_object_object_foreach(m, k, v) {
			if (strcmp(k, "format") && strcmp(k, "config"))
				json_object_object_add(meta, k, json_object_get(v));
		}
	}
	struct st_wopts wo = { .config = cfg, .donor_dir = donor ? donor : st_dir(ck), .meta = meta };
	st_writer *w = st_create(dir, &wo);
	int rc = -1;
	if (!w)
		goto out;
	for (size_t i = 0; i < st_count(ck); i++) {
		const struct st_tensor *t = st_at(ck, i);
		if (st_add(w, t->name, t->dtype, t->ndim, t->shape) < 0)
			goto abort;
	}
	if (st_begin(w) < 0)
		goto abort;
	struct progress pg;
	progress_start(&pg, "evalrun: copying the checkpoint", st_total_bytes(ck), quiet);
	for (size_t i = 0; i < st_count(ck); i++) {
		const void *p;
		ssize_t n;
		if (st_seek(ck, st_at(ck, i)) < 0)
			goto abort;
		while ((n = st_read(ck, &p, ST_CHUNK)) > 0) {
			if (st_write(w, p, (size_t)n) < 0)
				goto abort;
			progress_add(&pg, (uint64_t)n);
		}
		if (n < 0)
			goto abort;
	}
	progress_end(&pg);
	/* A stream must end after its last tensor. */
	const struct st_tensor *t;
	if (st_next(ck, &t) < 0)
		goto abort;
	rc = st_commit(w);
	goto out;
abort:
	st_abort(w);
out:
	json_object_put(meta);
	return rc;
}

/* Registers the files of dir (one level) with tmp.h, so a signal removes them too. */
static void register_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d)
		return;
	tmp_register(dir, 1);
	while ((e = readdir(d))) {
		char p[4096];
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    (size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < sizeof p)
			tmp_register(p, 0);
	}
	closedir(d);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	remove(p);
	return 0;
}

/* ---- running the command ---- */

static volatile sig_atomic_t child_pg;
static const int fwd_sigs[] = { SIGINT, SIGTERM, SIGHUP };
static struct sigaction fwd_old[3];
static int fwd_on[3];

/* Ends the harness's process group, then lets the handler that was there (tmp.h's: remove the
 * temporaries, die of the signal) run. */
static void on_signal(int sig)
{
	if (child_pg > 0)
		kill(-child_pg, SIGTERM);
	for (int i = 0; i < 3; i++)
		if (fwd_sigs[i] == sig && fwd_on[i]) {
			sigaction(sig, &fwd_old[i], NULL);
			fwd_on[i] = 0;
		}
	raise(sig);
}

static void forward_signals(int on)
{
	for (int i = 0; i < 3; i++) {
		if (on) {
			struct sigaction sa;
			memset(&sa, 0, sizeof sa);
			sa.sa_handler = on_signal;
			sigemptyset(&sa.sa_mask);
			if (sigaction(fwd_sigs[i], NULL, &fwd_old[i]) == 0 && fwd_old[i].sa_handler != SIG_IGN &&
			    sigaction(fwd_sigs[i], &sa, NULL) == 0)
				fwd_on[i] = 1;
		} else if (fwd_on[i]) {
			sigaction(fwd_sigs[i], &fwd_old[i], NULL);
			fwd_on[i] = 0;
		}
	}
}

enum { TAIL = 600 };

struct tail {
	char b[TAIL + 1];
	size_t n;
};

static void tail_add(struct tail *t, const char *p, size_t n)
{
	if (n >= TAIL) {
		memcpy(t->b, p + n - TAIL, TAIL);
		t->n = TAIL;
		return;
	}
	if (t->n + n > TAIL) {
		size_t drop = t->n + n - TAIL;
		memmove(t->b, t->b + drop, t->n - drop);
		t->n -= drop;
	}
	memcpy(t->b + t->n, p, n);
	t->n += n;
}

/* "; its output ended with:\n…" from the kept bytes (starting at a line), or "". */
static const char *tail_text(struct tail *t, char *buf, size_t size)
{
	size_t s = 0;
	while (t->n > 0 && (t->b[t->n - 1] == '\n' || t->b[t->n - 1] == ' '))
		t->n--;
	if (t->n == 0)
		return "";
	t->b[t->n] = 0;
	if (t->n == TAIL) {
		char *nl = memchr(t->b, '\n', t->n);
		if (nl && nl + 1 < t->b + t->n)
			s = (size_t)(nl + 1 - t->b);
	}
	snprintf(buf, size, "; its output ended with:\n%s", t->b + s);
	return buf;
}

static void relay(int fd, struct tail *t, int quiet, int *open_fd)
{
	char buf[4096];
	ssize_t got = read(fd, buf, sizeof buf);
	if (got > 0) {
		if (!quiet) {
			ssize_t w = 0;
			while (w < got) {
				ssize_t k = write(STDERR_FILENO, buf + w, (size_t)(got - w));
				if (k <= 0)
					break;
				w += k;
			}
		}
		tail_add(t, buf, (size_t)got);
	} else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
		close(fd);
		*open_fd = -1;
	}
}

/* Runs sh -c cmd; 0 when it exits 0, else -1 with the reason. */
static int run(const char *cmd, const char *shown, const char *ckpt, const char *outp,
               const struct eval_exec_opts *o)
{
	int fds[2], status = 0, killed = 0, reaped = 0;
	struct tail tl = { .n = 0 };
	char tb[TAIL + 64];
	if (pipe(fds) < 0)
		return err_set("--exec: pipe:");
	fflush(stdout);
	fflush(stderr);
	forward_signals(1);
	pid_t pid = fork();
	if (pid < 0) {
		forward_signals(0);
		close(fds[0]);
		close(fds[1]);
		return err_set("--exec: fork:");
	}
	if (pid == 0) {
		/* The child: no atexit handlers (they would remove the parent's temporaries). */
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0) {
			dup2(nul, STDIN_FILENO);
			close(nul);
		}
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		setenv("RECYCLE_CKPT", ckpt, 1);
		setenv("RECYCLE_OUT", outp, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);   /* also done by the child: whichever runs first */
	child_pg = pid;
	close(fds[1]);
	int fd = fds[0];
	double start = progress_now(), kill_at = 0;
	while (!reaped) {
		if (fd >= 0) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			if (poll(&p, 1, 100) > 0)
				relay(fd, &tl, o->quiet, &fd);
		} else {
			struct timespec ts = { 0, 20 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			reaped = 1;
		else if (w < 0 && errno != EINTR)
			break;
		double now = progress_now();
		if (o->timeout > 0 && !killed && now - start > o->timeout) {
			kill(-pid, SIGTERM);
			killed = 1;
			kill_at = now + 5;
		} else if (killed == 1 && now > kill_at) {
			kill(-pid, SIGKILL);
			killed = 2;
		}
	}
	/* What is left in the pipe (a process the command left behind may hold it open). */
	if (fd >= 0) {
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		while (fd >= 0)
			relay(fd, &tl, o->quiet, &fd);
	}
	if (killed)
		kill(-pid, SIGKILL);
	child_pg = 0;
	forward_signals(0);
	if (!reaped)
		return err_set("--exec '%s': waiting for it failed:", shown);
	if (killed)
		return err_set("--exec '%s': timed out after %g s%s", shown, o->timeout, tail_text(&tl, tb, sizeof tb));
	if (WIFSIGNALED(status))
		return err_set("--exec '%s': killed by signal %d (%s)%s", shown, WTERMSIG(status),
		               strsignal(WTERMSIG(status)), tail_text(&tl, tb, sizeof tb));
	if (WEXITSTATUS(status) == 127)
		return err_set("--exec '%s': exited with status 127 (command not found?)%s", shown,
		               tail_text(&tl, tb, sizeof tb));
	if (WEXITSTATUS(status))
		return err_set("--exec '%s': exited with status %d%s", shown, WEXITSTATUS(status),
		               tail_text(&tl, tb, sizeof tb));
	return 0;
}

int eval_exec(const char *arg, const struct eval_exec_opts *o, json_object *rec)
{
	struct stat st;
	st_ckpt *ck = NULL;
	const char *base = o->tmpdir ? o->tmpdir : getenv("TMPDIR");
	char work[4096], model[4200], outp[4200], shown[160], *cmd = NULL;
	double seconds;
	int rc = -1;
	if (!base || !*base)
		base = "/tmp";
	/* The command as given, shortened for messages. */
	if (strlen(o->cmd) < sizeof shown)
		snprintf(shown, sizeof shown, "%s", o->cmd);
	else
		snprintf(shown, sizeof shown, "%.*s...", (int)sizeof shown - 4, o->cmd);
	if ((size_t)snprintf(work, sizeof work, "%s/evalrun.XXXXXX", base) >= sizeof work)
		return err_set("%s: path too long", base);
	if (!mkdtemp(work))
		return err_set("%s: cannot make a temporary directory:", base);
	if (tmp_register(work, 1) < 0) {
		rmdir(work);
		return -1;
	}
	snprintf(outp, sizeof outp, "%s/out", work);
	const char *dir = arg;
	if (strcmp(arg, "-") == 0 || stat(arg, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(model, sizeof model, "%s/model", work);
		if (!(ck = st_open(arg)) || materialize(ck, model, o->donor, o->quiet) < 0)
			goto out;
		register_files(model);
		dir = model;
	}
	if (!(cmd = eval_subst(o->cmd, dir, outp)))
		goto out;
	if (run(cmd, shown, dir, outp, o) < 0)
		goto out;
	if (access(outp, F_OK) < 0) {
		err_set("--exec '%s': wrote no output at {out} (%s)", shown, outp);
		goto out;
	}
	if (eval_harness_file(outp, &o->metrics, rec, &seconds) < 0) {
		err_prefix("--exec '%s': ", shown);
		goto out;
	}
	rc = 0;
out:
	free(cmd);
	st_close(ck);
	/* The command may have left anything in the work directory. */
	nftw(work, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	tmp_cleanup_under(work);
	return rc;
}
