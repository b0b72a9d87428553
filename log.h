/*
 * log.h - one line per event on stderr: a UTC timestamp, a tag, then
 * key=value pairs, e.g.
 *   2026-11-23T04:44:36.123Z [LOGIN] id=3 user=alice
 * Each line goes out with a single write(2), so lines from different threads
 * never interleave. Safe from any thread; never call it from a signal
 * handler (nothing here does: signals arrive through signalfd).
 */
#ifndef HUBCHAT_LOG_H
#define HUBCHAT_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* Tags, so a typo is a compile error rather than a silent new tag. */
#define LOG_LISTEN     "LISTEN"
#define LOG_CONNECT    "CONNECT"
#define LOG_LOGIN      "LOGIN"
#define LOG_JOIN       "JOIN"
#define LOG_MSG        "MSG"
#define LOG_DM         "DM"
#define LOG_DISCONNECT "DISCONNECT"
#define LOG_ERROR      "ERROR"
#define LOG_WARN       "WARN"
#define LOG_SHUTDOWN   "SHUTDOWN"
#define LOG_REJECT     "REJECT"     /* input refused: bad name, bad text */
#define LOG_STATS      "STATS"
#define LOG_ARCHIVE    "ARCHIVE"    /* the history log on disk */
#define LOG_HTTP       "HTTP"       /* a request to the web listener */
#define LOG_CLUSTER    "CLUSTER"    /* Redis and the bus, with --redis */

#define LOG_TRACE      "TRACE"

/* -q: log_chat lines ([MSG], [DM]) are dropped. Written once before any
 * thread starts, then read. */
extern bool log_quiet;

/* --trace: thread starts and exits, queue depths, evictions, for watching
 * the design work. Written once before any thread starts, then read. */
extern bool log_tracing;

/* Writes a [TRACE] line when tracing; when not, costs one branch and does
 * not even evaluate its arguments. */
#define log_trace(...)                                                  \
	do {                                                            \
		if (log_tracing)                                        \
			log_event(LOG_TRACE, __VA_ARGS__);              \
	} while (0)

/* Writes one event line. */
void log_event(const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Like log_event, for per-message lines that -q silences. When quiet, it
 * costs one branch and does not evaluate its arguments (no log_quote of
 * every message's text). */
#define log_chat(tag, ...)                                              \
	do {                                                            \
		if (!log_quiet)                                         \
			log_event(tag, __VA_ARGS__);                    \
	} while (0)

/* Like log_event, for lines a client can cause at will (a refused name, a
 * line of bad text): at most LOG_LIMIT_BURST at once and LOG_LIMIT_RATE a
 * second across the whole server, so a flood of bad input cannot fill the
 * log. The first line let through after some were dropped says how many. */
#define LOG_LIMIT_BURST 20
#define LOG_LIMIT_RATE 5
void log_limited(const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copies s into out as a double-quoted string with '"' and '\' escaped, for
 * user text inside a log line; truncates to fit. Returns out. */
char *log_quote(const char *s, char *out, size_t outsz);

#endif
