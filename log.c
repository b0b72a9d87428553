/*
 * log.c - event lines on stderr; see log.h.
 */
#include "log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "flood.h"
#include "sync.h"

#define LOG_LINE_MAX 4096

bool log_quiet;          /* written once before threads start, then read */
bool log_tracing;        /* likewise */

static void
log_vline(const char *tag, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	int n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    now.tv_nsec / 1000000, tag);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (n > LOG_LINE_MAX - 2)
		n = LOG_LINE_MAX - 2;     /* truncated; still one line */
	line[n++] = '\n';

	/* Best effort: a log line that cannot be written is not worth dying for. */
	for (ssize_t off = 0, w; off < n; off += w)
		if ((w = write(STDERR_FILENO, line + off, (size_t)(n - off))) <= 0)
			break;
}

void
log_event(const char *tag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(tag, fmt, ap);
	va_end(ap);
}

/* log_limited's budget: a token bucket (flood.h) shared by every thread. */
static pthread_mutex_t log_limit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct flood log_budget;         /* protected by log_limit_lock */
static bool log_budget_ready;           /* likewise */
static unsigned long log_dropped;       /* likewise */

void
log_limited(const char *tag, const char *fmt, ...)
{
	struct timespec now;
	char line[LOG_LINE_MAX];
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	sync_lock(&log_limit_lock);
	if (!log_budget_ready)
		flood_init(&log_budget, LOG_LIMIT_BURST, LOG_LIMIT_RATE, ms);
	log_budget_ready = true;
	bool ok = flood_wait_ms(&log_budget, ms) == 0;
	unsigned long dropped = ok ? log_dropped : 0;
	if (ok) {
		flood_charge(&log_budget, 1);
		log_dropped = 0;
	} else {
		log_dropped++;
	}
	sync_unlock(&log_limit_lock);
	if (!ok)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (dropped > 0)
		log_event(tag, "%s (%lu earlier lines like it were not logged)",
		    line, dropped);
	else
		log_event(tag, "%s", line);
}

char *
log_quote(const char *s, char *out, size_t outsz)
{
	size_t o = 0;

	if (outsz < 3)
		return out;
	out[o++] = '"';
	for (; *s != '\0' && o + 3 < outsz; s++) {
		if (*s == '"' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}
