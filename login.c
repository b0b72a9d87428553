/*
 * login.c - asking for a name, connecting and logging in; see login.h.
 *
 * Each wait for the server is a poll on the socket and on stdin with a
 * deadline. Stdin is watched, not read: FIONREAD says whether anything
 * waits in it when poll calls it readable, and nothing waiting then means
 * it has ended. Only where FIONREAD does not work (a device such as
 * /dev/null) is one byte read to find out, and kept for later.
 *
 * The name is read one byte at a time, so that nothing typed after it is
 * taken from stdin before its turn: lines typed ahead go to the server
 * once logged in, in order, and a second name asked for after a refusal
 * is the next line.
 */
#include "login.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "die.h"
#include "net.h"
#include "show.h"
#include "term.h"

#define LOGIN_NAME_BYTES 256   /* a typed name is refused past this */

static long long
login_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The next byte of stdin, or -1 at its end. Blocks. */
static int
login_getc(struct login *l)
{
	unsigned char c;
	ssize_t n;

	if (l->held >= 0) {
		int b = l->held;
		l->held = -1;
		return b;
	}
	while ((n = read(STDIN_FILENO, &c, 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? c : -1;
}

/* Reads one typed line into name (size bytes); false at the end of stdin
 * before a whole line. A longer line is read to its end and cut, with
 * *over set. */
static bool
login_read_name(struct login *l, char *name, size_t size, bool *over)
{
	size_t n = 0;
	int c;

	*over = false;
	while ((c = login_getc(l)) >= 0 && c != '\n') {
		if (n + 1 < size)
			name[n++] = (char)c;
		else
			*over = true;
	}
	if (n > 0 && name[n - 1] == '\r')
		n--;
	name[n] = '\0';
	return c == '\n';
}

/* Asks for a nickname until one keeps the rules; exits 1 at the end of
 * stdin. */
static void
login_ask(struct login *l, char *name, size_t size)
{
	bool tty = isatty(STDIN_FILENO), over;

	for (;;) {
		/* A script's stdin gets the prompt on a line of its own. */
		fputs(tty ? "Enter your nickname: " : "Enter your nickname:\n",
		    stdout);
		fflush(stdout);
		if (!login_read_name(l, name, size, &over)) {
			if (tty)
				putchar('\n');
			die("no nickname given");
		}
		if (!over && proto_name_ok(name))
			return;
		if (over || name[0] != '\0')
			term_say("! %s", SHOW_NAME_RULE);
	}
}

/* Stdin is readable: true when it has ended with nothing left in it. */
static bool
login_stdin_ended(struct login *l)
{
	int waiting = 0;

	if (ioctl(STDIN_FILENO, FIONREAD, &waiting) == 0)
		return waiting == 0;
	if (l->held >= 0)
		return false;
	l->held = login_getc(l);
	return l->held < 0;
}

/* Gives up on the server: whatever it would say, stdin has nothing more
 * to send. */
static void
login_nothing_to_send(struct login *l)
{
	term_say("* standard input ended before %s port %s answered; "
	    "nothing to send", l->host, l->port);
	exit(0);
}

/* One read from the server into l->net; exits when it has closed. */
static void
login_fill(struct login *l)
{
	size_t room;
	char *space = framer_space(l->net, &room);
	ssize_t n;

	while ((n = read(l->fd, space, room)) < 0 && errno == EINTR)
		;
	if (n < 0)
		die("connection to %s port %s lost:", l->host, l->port);
	if (n == 0)
		die("%s port %s closed the connection", l->host, l->port);
	framer_commit(l->net, (size_t)n);
}

/* The server's next line, waiting until deadline (ms on login_now_ms's
 * clock; 0 = none) while watching stdin. what names the awaited line for
 * the message that ends the program when the deadline passes. */
static char *
login_wait(struct login *l, long long deadline, const char *what)
{
	struct pollfd pf[2] = {
		{ .fd = l->fd, .events = POLLIN },
		{ .fd = STDIN_FILENO, .events = POLLIN },
	};
	char *line;
	size_t len;
	enum framer_event ev;

	while ((ev = framer_next(l->net, &line, &len)) != FRAMER_LINE) {
		if (ev == FRAMER_TOO_LONG)
			continue;       /* past PROTO_MAX_REPLY: not for us */
		long long left = deadline ? deadline - login_now_ms() : -1;
		if (deadline && left <= 0)
			die("no %s from %s port %s within %d s; is it a "
			    "hubchat server?", what, l->host, l->port,
			    l->timeout_ms / 1000);
		int n = poll(pf, 2, (int)left);
		if (n < 0 && errno != EINTR)
			die("poll:");
		if (n > 0 && pf[1].revents != 0) {
			if (login_stdin_ended(l))
				login_nothing_to_send(l);
			pf[1].fd = -1;  /* something is typed: stop looking */
		}
		if (n > 0 && pf[0].revents != 0)
			login_fill(l);
	}
	return line;
}

static long long
login_deadline(const struct login *l)
{
	return l->timeout_ms > 0 ? login_now_ms() + l->timeout_ms : 0;
}

/* Connects and takes the welcome, which is not shown: it tells a person
 * at a raw connection how to log in, and this client does that for them.
 * Any other first line is shown; an error (the server is full, say) ends
 * the program. */
static void
login_connect(struct login *l)
{
	char err[256];

	l->fd = net_connect(l->host, l->port, l->timeout_ms, err, sizeof(err));
	if (l->fd < 0)
		die("%s", err);
	if ((l->net = framer_new(PROTO_MAX_REPLY)) == NULL)
		die("out of memory");
	char *line = login_wait(l, login_deadline(l), "welcome");
	if (strncmp(line, "INFO welcome", 12) == 0)
		return;
	show_line(line, strlen(line));
	if (strncmp(line, "ERR ", 4) == 0)
		exit(1);
}

/* Sends LOGIN name and waits for the answer: true for OK, false when the
 * name is refused (taken, or against the rules); exits on any other
 * error. */
static bool
login_try(struct login *l, const char *name)
{
	char buf[PROTO_MAX_LINE + 2];
	int n = snprintf(buf, sizeof(buf), "LOGIN %s\n", name);
	long long deadline = login_deadline(l);

	if (net_write_all(l->fd, buf, (size_t)n) < 0)
		die("connection to %s port %s lost:", l->host, l->port);
	for (;;) {
		char *line = login_wait(l, deadline, "answer to LOGIN");
		if (strcmp(line, "OK") == 0)
			return true;
		show_line(line, strlen(line));
		if (show_is_error(line, "username-taken") ||
		    show_is_error(line, "bad-name"))
			return false;
		if (strncmp(line, "ERR ", 4) == 0)
			exit(1);
	}
}

/* Ends a connection whose name was refused, for a fresh one after the
 * next name. */
static void
login_hang_up(struct login *l)
{
	close(l->fd);
	framer_free(l->net);
	l->fd = -1;
	l->net = NULL;
}

void
login_run(struct login *l)
{
	char asked[LOGIN_NAME_BYTES];
	const char *name = l->name;

	assert(l->host != NULL && l->port != NULL && l->typed != NULL);
	assert(l->timeout_ms >= 0);
	l->held = -1;
	for (;;) {
		if (l->name == NULL) {
			login_ask(l, asked, sizeof(asked));
			name = asked;
		}
		login_connect(l);
		if (login_try(l, name))
			break;
		if (l->name != NULL)
			exit(1);
		login_hang_up(l);
	}
	snprintf(l->user, sizeof(l->user), "%.*s", PROTO_MAX_NAME, name);
	if (l->held >= 0) {
		size_t room;
		*framer_space(l->typed, &room) = (char)l->held;
		framer_commit(l->typed, 1);
	}
}
