/*
 * log.c - event lines on stderr; see log.h.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

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
