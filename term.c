/*
 * term.c - terminal I/O for the client and the peer; see term.h.
 */
#include "term.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

/* term_say's printer and its argument, or NULL for stdout. Guarded by
 * stdout's FILE lock (flockfile). */
static void (*term_printer)(void *ctx, const char *line);
static void *term_printer_ctx;

void
term_set_printer(void (*print)(void *ctx, const char *line), void *ctx)
{
	flockfile(stdout);
	term_printer = print;
	term_printer_ctx = ctx;
	funlockfile(stdout);
}

/* Formats the line for the printer; call with stdout locked. The lines
 * said today are a protocol line plus a short label at most, well inside
 * the buffer; a longer one would be cut. */
static void
term_say_printer(const char *stamp, const char *fmt, va_list ap)
{
	char line[2 * PROTO_MAX_LINE];
	int n = snprintf(line, sizeof(line), "[%s] ", stamp);

	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	term_printer(term_printer_ctx, line);
}

void
term_say(const char *fmt, ...)
{
	char stamp[16];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	flockfile(stdout);
	va_start(ap, fmt);
	if (term_printer != NULL) {
		term_say_printer(stamp, fmt, ap);
	} else {
		printf("[%s] ", stamp);
		vprintf(fmt, ap);
		putchar('\n');
		fflush(stdout);
	}
	va_end(ap);
	funlockfile(stdout);
}

/* Waits up to timeout_ms (< 0: for ever) for fd to be readable; false on
 * timeout, with errno ETIMEDOUT. */
static bool
term_wait(int fd, int timeout_ms)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	int n;

	if (timeout_ms < 0)
		return true;
	while ((n = poll(&pf, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	if (n == 0)
		errno = ETIMEDOUT;
	return n != 0;
}

/* One read into the framer; false at the end of input (errno 0) or on an
 * error. */
static bool
term_fill(int fd, struct framer *f)
{
	size_t room;
	char *space = framer_space(f, &room);
	ssize_t n;

	while ((n = read(fd, space, room)) < 0 && errno == EINTR)
		;
	if (n <= 0) {
		if (n == 0)
			errno = 0;
		return false;
	}
	framer_commit(f, (size_t)n);
	return true;
}

int
term_read_line(int fd, struct framer *f, char **line, int timeout_ms)
{
	size_t len;

	for (;;) {
		enum framer_event ev = framer_next(f, line, &len);
		if (ev == FRAMER_LINE)
			return (int)len;
		if (ev == FRAMER_TOO_LONG) {
			term_say("! a line over %d bytes was skipped",
			    PROTO_MAX_LINE);
			continue;
		}
		if (!term_wait(fd, timeout_ms) || !term_fill(fd, f))
			return -1;
	}
}

/* Hands every typed line already buffered to on_line; false once it says
 * to quit. */
static bool
term_drain_typed(const struct term_input *in)
{
	enum framer_event ev;
	char *line;
	size_t len;

	while ((ev = framer_next(in->f, &line, &len)) != FRAMER_NEED_MORE) {
		if (ev == FRAMER_TOO_LONG)
			term_say("! not sent: a line may hold %d bytes",
			    PROTO_MAX_LINE);
		else if (len == 0)
			continue;
		else if (!proto_text_ok(line, len))
			term_say("! not sent: control characters or invalid "
			    "UTF-8");
		else if (!in->on_line(in->ctx, line, len))
			return false;
	}
	return true;
}

enum term_end
term_read_typed(const struct term_input *in)
{
	struct pollfd pf[3] = {
		{ .fd = in->wake[0], .events = POLLIN },
		{ .fd = in->wake[1], .events = POLLIN },
		{ .fd = STDIN_FILENO, .events = POLLIN },
	};

	while (term_drain_typed(in)) {
		int n = poll(pf, 3, in->idle_ms);
		if (n < 0 && errno != EINTR)
			return TERM_EOF;        /* stdin is unusable */
		if (n == 0 && in->on_idle != NULL)
			in->on_idle(in->ctx);
		if (n <= 0)
			continue;
		if (pf[0].revents != 0 || pf[1].revents != 0)
			return TERM_WOKEN;
		if (!term_fill(STDIN_FILENO, in->f))
			return TERM_EOF;
	}
	return TERM_QUIT;
}
