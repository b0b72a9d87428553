/*
 * lined_demo.c - the line editor driven as a chat program would drive it,
 * for tests/test_lineedit.c, which runs it on a pseudo-terminal.
 *
 *   tests/lined_demo [MAX_BYTES]      (default 1020, the client's limit)
 *
 * Each submitted line is printed back as "GOT <line>" through lined_print.
 * Descriptor 3, when open, plays the network: each line read from it is
 * printed with lined_print, as a message arriving mid-typing would be,
 * except for these commands from the test:
 *   PROMPT <text>   sets the prompt
 *   EXIT            calls exit(0) with the editor still running
 *   ABORT           calls abort()
 * Ctrl-D on an empty line and Ctrl-C stop the editor, print "BYE eof" or
 * "BYE interrupt" and exit 0. The prompt starts as "you> ".
 *
 * When lined_wanted() says no (stdin is a pipe, say), it prints "PLAIN"
 * and then "GOT <line>" for each line of stdin, as a program keeping its
 * plain I/O would.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lineedit.h"

#define NET_FD 3

static int plain(void);
static bool network(struct lined *ed);
static void command(struct lined *ed, const char *line);

int
main(int argc, char **argv)
{
	size_t max = argc > 1 ? (size_t)atol(argv[1]) : 1020;
	struct pollfd pf[2] = {
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = NET_FD, .events = POLLIN },
	};
	enum lined_event ev = LINED_NONE;
	struct lined *ed;
	char *line;
	size_t len;

	if (!lined_wanted())
		return plain();
	if ((ed = lined_start(max)) == NULL) {
		fprintf(stderr, "lined_demo: lined_start: %s\n", strerror(errno));
		return 1;
	}
	lined_set_prompt(ed, "you> ");
	while (ev == LINED_NONE || ev == LINED_LINE) {
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[1].revents != 0 && !network(ed))
			pf[1].fd = -1;
		if (pf[0].revents == 0)
			continue;
		while ((ev = lined_read(ed, &line, &len)) == LINED_LINE)
			lined_printf(ed, "GOT %s", line);
	}
	lined_stop(ed);
	printf("BYE %s\n", ev == LINED_INTERRUPT ? "interrupt" : "eof");
	return 0;
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

/* Reads what the network descriptor holds and handles each whole line;
 * false once it has ended. */
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
	else if (strcmp(line, "EXIT") == 0)
		exit(0);
	else if (strcmp(line, "ABORT") == 0)
		abort();
	else
		lined_print(ed, line);
}
