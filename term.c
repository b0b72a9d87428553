/*
 * term.c - terminal I/O for the client and the peer; see term.h.
 */
#include "term.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "lineedit.h"
#include "proto.h"
#include "sync.h"

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

void
term_editor_print(void *ctx, const char *line)
{
	lined_print(ctx, line);
}

/* Formats pre, the text and post for the printer, into small when they
 * fit and else into a buffer of their own; call with stdout locked.
 * Without memory for a long line, the text is cut to fit small, and post
 * still ends it (it may be what resets the display). */
static void
term_to_printer(const char *pre, const char *post, const char *fmt,
    va_list ap)
{
	char small[1024], *big = NULL, *out = small;
	size_t plen = strlen(post), size = sizeof(small) - plen;
	va_list again;

	assert(strlen(pre) + plen < sizeof(small) / 2);
	va_copy(again, ap);
	int n = snprintf(small, size, "%s", pre);
	int m = vsnprintf(small + n, size - (size_t)n, fmt, ap);
	if (m < 0)
		m = 0;
	if ((size_t)(n + m) >= size &&
	    (big = malloc((size_t)(n + m) + plen + 1)) != NULL) {
		memcpy(big, pre, (size_t)n);
		vsnprintf(big + n, (size_t)m + 1, fmt, again);
		out = big;
	}
	va_end(again);
	strcat(out, post);
	term_printer(term_printer_ctx, out);
	free(big);
}

/* One line: pre, the formatted text, post and a newline. */
static void
term_emit(const char *pre, const char *post, const char *fmt, va_list ap)
{
	flockfile(stdout);
	if (term_printer != NULL) {
		term_to_printer(pre, post, fmt, ap);
	} else {
		fputs(pre, stdout);
		vprintf(fmt, ap);
		fputs(post, stdout);
		putchar('\n');
		fflush(stdout);
	}
	funlockfile(stdout);
}

/* The stamp for when, in local time: "[hh:mm:ss] ", with the date before
 * the hour when that is not now's date. */
static void
term_stamp(time_t when, time_t now, char *out, size_t outsz)
{
	struct tm tm, today;

	localtime_r(&when, &tm);
	localtime_r(&now, &today);
	bool same_day = tm.tm_year == today.tm_year &&
	    tm.tm_yday == today.tm_yday;
	strftime(out, outsz, same_day ? "[%H:%M:%S] " :
	    "[%Y-%m-%d %H:%M:%S] ", &tm);
}

void
term_say(const char *fmt, ...)
{
	char stamp[32];
	time_t now = time(NULL);
	va_list ap;

	term_stamp(now, now, stamp, sizeof(stamp));
	va_start(ap, fmt);
	term_emit(stamp, "", fmt, ap);
	va_end(ap);
}

void
term_say_at(time_t when, bool dim, const char *fmt, ...)
{
	char pre[48];
	va_list ap;

	strcpy(pre, dim ? TERM_DIM : "");
	term_stamp(when, time(NULL), pre + strlen(pre), sizeof(pre) -
	    strlen(pre));
	va_start(ap, fmt);
	term_emit(pre, dim ? TERM_PLAIN : "", fmt, ap);
	va_end(ap);
}

void
term_put(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	term_emit("", "", fmt, ap);
	va_end(ap);
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
term_read_line(int fd, struct framer *f, size_t max, char **line,
    int timeout_ms)
{
	size_t len;

	for (;;) {
		enum framer_event ev = framer_next(f, line, &len);
		if (ev == FRAMER_LINE)
			return (int)len;
		if (ev == FRAMER_TOO_LONG) {
			term_say("! a line over %zu bytes was skipped", max);
			continue;
		}
		if (!term_wait(fd, timeout_ms) || !term_fill(fd, f))
			return -1;
	}
}

void
term_block_winch(void)
{
	sigset_t winch;

	sigemptyset(&winch);
	sigaddset(&winch, SIGWINCH);
	sync_check(pthread_sigmask(SIG_BLOCK, &winch, NULL),
	    "pthread_sigmask");
}

static long long
term_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* term_read_typed's loop: its input, and when on_idle is next due (-1:
 * never). Quiet means no line handed on: keys typed into the editor do
 * not count, since the server hears nothing of them. */
struct term_loop {
	const struct term_input *in;
	long long idle_at;
};

/* Hands one typed line on if it may be sent; false once on_line says to
 * quit. */
static bool
term_hand_on(struct term_loop *lp, char *line, size_t len)
{
	const struct term_input *in = lp->in;

	if (len == 0)
		return true;
	if (!proto_text_ok(line, len)) {
		term_say("! not sent: control characters (bidi controls "
		    "among them) or invalid UTF-8");
		return true;
	}
	if (in->idle_ms >= 0)
		lp->idle_at = term_now_ms() + in->idle_ms;
	return in->on_line(in->ctx, line, len);
}

/* Hands every typed line already buffered in f on; false once on_line
 * says to quit. */
static bool
term_drain_typed(struct term_loop *lp)
{
	const struct term_input *in = lp->in;
	enum framer_event ev;
	char *line;
	size_t len;

	while (in->f != NULL &&
	    (ev = framer_next(in->f, &line, &len)) != FRAMER_NEED_MORE) {
		if (ev == FRAMER_TOO_LONG)
			term_say("%s", in->too_long);
		else if (!term_hand_on(lp, line, len))
			return false;
	}
	return true;
}

/* Hands on the lines the editor has after stdin became readable. Returns
 * the end it reached, or -1 to go on polling. */
static int
term_edited(struct term_loop *lp)
{
	enum lined_event ev;
	char *line;
	size_t len;

	while ((ev = lined_read(lp->in->ed, &line, &len)) == LINED_LINE)
		if (!term_hand_on(lp, line, len))
			return TERM_QUIT;
	if (ev == LINED_EOF)
		return TERM_EOF;
	return ev == LINED_INTERRUPT ? TERM_INTERRUPT : -1;
}

/* A signalfd for SIGWINCH, when there is an editor to redraw; -1 if not
 * (poll ignores it). */
static int
term_winch_fd(const struct term_input *in)
{
	sigset_t winch;

	if (in->ed == NULL)
		return -1;
	sigemptyset(&winch);
	sigaddset(&winch, SIGWINCH);
	return signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* A resize: takes the signal and draws the input row for the new width. */
static void
term_resized(const struct term_input *in, int fd)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	lined_refresh(in->ed);
}

/* stdin is readable: reads and hands on what came. Returns the end it
 * reached, or -1 to go on. */
static int
term_typed_input(struct term_loop *lp)
{
	if (lp->in->ed != NULL)
		return term_edited(lp);
	if (!term_fill(STDIN_FILENO, lp->in->f))
		return TERM_EOF;
	return term_drain_typed(lp) ? -1 : TERM_QUIT;
}

/* How long poll may wait before on_idle is due, calling it first if it
 * is due now. */
static int
term_idle_wait(struct term_loop *lp)
{
	const struct term_input *in = lp->in;
	long long now = term_now_ms();

	if (lp->idle_at < 0)
		return -1;
	if (now >= lp->idle_at) {
		if (in->on_idle != NULL)
			in->on_idle(in->ctx);
		lp->idle_at = now + in->idle_ms;
	}
	return (int)(lp->idle_at - now);
}

enum term_end
term_read_typed(const struct term_input *in)
{
	struct pollfd pf[4] = {
		{ .fd = in->wake[0], .events = POLLIN },
		{ .fd = in->wake[1], .events = POLLIN },
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = term_winch_fd(in), .events = POLLIN },
	};
	struct term_loop lp = { .in = in, .idle_at = in->idle_ms < 0 ? -1 :
	    term_now_ms() + in->idle_ms };
	int end = term_drain_typed(&lp) ? -1 : TERM_QUIT;

	while (end < 0) {
		int n = poll(pf, 4, term_idle_wait(&lp));
		if (n < 0 && errno != EINTR)
			end = TERM_EOF;         /* stdin is unusable */
		else if (n <= 0)
			continue;       /* term_idle_wait calls on_idle */
		else if (pf[0].revents != 0 || pf[1].revents != 0)
			end = TERM_WOKEN;
		else if (pf[3].revents != 0)
			term_resized(in, pf[3].fd);
		else
			end = term_typed_input(&lp);
	}
	if (pf[3].fd >= 0)
		close(pf[3].fd);
	return (enum term_end)end;
}
