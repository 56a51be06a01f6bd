/* progress.c — see progress.h. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "progress.h"

double progress_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void draw(struct progress *p)
{
	double el = progress_now() - p->t0, frac = p->total ? (double)p->done / (double)p->total : 0;
	int w = 30, fill = (int)(frac * w + 0.5);
	char bar[64];
	for (int i = 0; i < w; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[w] = 0;
	double rate = el > 0 ? (double)p->done / el : 0.0;
	if (p->unit)
		fprintf(stderr, "\r%s [%s] %5.1f%% %8.1f %s/s", p->label, bar, 100 * frac, rate, p->unit);
	else
		fprintf(stderr, "\r%s [%s] %5.1f%% %8.1f MB/s", p->label, bar, 100 * frac, rate / 1e6);
	fflush(stderr);
	p->drawn = 1;
}

void progress_start(struct progress *p, const char *label, uint64_t total, int quiet)
{
	p->on = !quiet && isatty(STDERR_FILENO);
	p->quiet = quiet;
	p->drawn = 0;
	p->label = label;
	p->unit = NULL;
	p->total = total;
	p->done = 0;
	p->t0 = p->last = progress_now();
}

void progress_start_count(struct progress *p, const char *label, uint64_t total, const char *unit, int quiet)
{
	progress_start(p, label, total, quiet);
	p->unit = unit;
}

void progress_add(struct progress *p, uint64_t n)
{
	p->done += n;
	if (!p->on)
		return;
	double t = progress_now();
	if (t - p->last >= 0.1) {
		p->last = t;
		draw(p);
	}
}

void progress_set(struct progress *p, uint64_t done)
{
	if (done > p->done)
		progress_add(p, done - p->done);
}

void progress_line(struct progress *p, const char *fmt, ...)
{
	va_list ap;
	if (p->quiet)
		return;
	if (p->drawn)
		fputs("\r\033[K", stderr);   /* the bar's line, erased; it is drawn again below the text */
	fprintf(stderr, "%s: ", prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (p->drawn)
		draw(p);
	fflush(stderr);
}

void progress_end(struct progress *p)
{
	if (!p->on)
		return;
	draw(p);
	fputc('\n', stderr);
	p->on = 0;
}
