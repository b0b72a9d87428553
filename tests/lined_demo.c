/*
 * lined_demo.c - the line editor driven as a chat program would drive it,
 * for tests/test_lineedit.c, which runs it on a pseudo-terminal.
 *
*   build/lined_demo [MAX_BYTES]      (default 1020, the client's limit)
 *
 * Each submitted line is printed back as "GOT <line>" through lined_print.
 * Descriptor 3, when open, plays the network: a thread of its own, as in
 * the client, reads lines from it and prints each with lined_print, as a
 * message arriving mid-typing would be, except for these commands from the
 * test:
 *   PROMPT <text>   sets the prompt
 *   ECHO on|off     sets lined_set_echo, then prints "ECHO is on|off"
 *   EXIT            calls exit(0) with the editor still running
 *   ABORT           calls abort()
 * Ctrl-D on an empty line and Ctrl-C end the typing; the main thread stops
 * the network thread, stops the editor, prints "BYE eof" or "BYE
 * interrupt" and exits 0. The prompt starts as "you> ".
 *
 * When lined_wanted() says no (stdin is a pipe, say), it prints "PLAIN"
 * and then "GOT <line>" for each line of stdin, as a program keeping its
 * plain I/O would.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lineedit.h"

#define NET_FD 3

struct demo {
	struct lined *ed;
	int stop[2];            /* main -> network thread: stop now */
};

static int plain(void);
static enum lined_event typing(struct lined *ed);
static void *network_main(void *arg);
static bool network(struct lined *ed);
static void command(struct lined *ed, const char *line);

int
main(int argc, char **argv)
{
	size_t max = argc > 1 ? (size_t)atol(argv[1]) : 1020;
	struct demo d;
	pthread_t net;
	int rc;

	if (!lined_wanted())
		return plain();
	if (pipe2(d.stop, O_CLOEXEC) < 0 || (d.ed = lined_start(max)) == NULL) {
		fprintf(stderr, "lined_demo: %s\n", strerror(errno));
		return 1;
	}
	lined_set_prompt(d.ed, "you> ");
	if ((rc = pthread_create(&net, NULL, network_main, &d)) != 0) {
		lined_stop(d.ed);
		fprintf(stderr, "lined_demo: pthread_create: %s\n",
		    strerror(rc));
		return 1;
	}
	enum lined_event ev = typing(d.ed);
	/* Nobody may print through the editor once it is stopped. */
	if (write(d.stop[1], "x", 1) != 1 || pthread_join(net, NULL) != 0)
		abort();
	lined_stop(d.ed);
	printf("BYE %s\n", ev == LINED_INTERRUPT ? "interrupt" : "eof");
	return 0;
}

/* Reads typed lines until ^D or ^C, and prints each back. */
static enum lined_event
typing(struct lined *ed)
{
	struct pollfd pf = { .fd = STDIN_FILENO, .events = POLLIN };
	enum lined_event ev = LINED_NONE;
	char *line;
	size_t len;

	while (ev == LINED_NONE || ev == LINED_LINE) {
		if (poll(&pf, 1, -1) < 0 && errno != EINTR)
			return LINED_EOF;
		while ((ev = lined_read(ed, &line, &len)) == LINED_LINE)
			lined_printf(ed, "GOT %s", line);
	}
	return ev;
}

/* The network thread: handles descriptor 3's lines until told to stop. */
static void *
network_main(void *arg)
{
	struct demo *d = arg;
	struct pollfd pf[2] = {
		{ .fd = d->stop[0], .events = POLLIN },
		{ .fd = NET_FD, .events = POLLIN },
	};

	for (;;) {
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			return NULL;
		if (pf[0].revents != 0)
			return NULL;
		if (pf[1].revents != 0 && !network(d->ed))
			pf[1].fd = -1;
	}
}

/* Echoes stdin's lines; for when there is no terminal to edit on. */
static int
plain(void)
{
	char line[2048];

	puts("PLAIN");
	while (fgets(line, sizeof(line), stdin) != NULL)
		printf("GOT %s", line);
	return 0;
}

/* Reads what descriptor 3 holds and handles each whole line; false once
 * it has ended. Only the network thread calls it. */
static bool
network(struct lined *ed)
{
	static char buf[4096];
	static size_t len;
	ssize_t n = read(NET_FD, buf + len, sizeof(buf) - 1 - len);
	char *start = buf, *nl;

	if (n <= 0)
		return n < 0 && errno == EINTR;
	len += (size_t)n;
	buf[len] = '\0';
	while ((nl = strchr(start, '\n')) != NULL) {
		*nl = '\0';
		command(ed, start);
		start = nl + 1;
	}
	len -= (size_t)(start - buf);
	memmove(buf, start, len);
	if (len == sizeof(buf) - 1)
		len = 0;        /* longer than any test's line: dropped */
	return true;
}

static void
command(struct lined *ed, const char *line)
{
	if (strncmp(line, "PROMPT ", 7) == 0)
		lined_set_prompt(ed, line + 7);
	else if (strncmp(line, "ECHO o", 6) == 0) {
		lined_set_echo(ed, strcmp(line, "ECHO on") == 0);
		lined_printf(ed, "ECHO is %s", line + 5);
	} else if (strcmp(line, "EXIT") == 0)
		exit(0);
	else if (strcmp(line, "ABORT") == 0)
		abort();
	else
		lined_print(ed, line);
}
