/*
 * test_peer_tty.c - the peer on a terminal: peer A runs on a
 * pseudo-terminal (tests/pty.h) and types; peer B runs on pipes and
 * answers. The assertions are on A's screen, on what B receives, and on
 * the terminal settings A leaves behind.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>

#include "harness.h"
#include "ports.h"
#include "pty.h"

static struct pty pt;

static void
end(void)
{
	pty_end(&pt);
}

TestSuite(peer_tty, .fini = end, .timeout = 30);

#define INPUT(text, col) cr_assert(pty_wait_input(&pt, text, col), \
    "wanted input \"%s\" at column %d; screen:\n%s", text, col, \
    pty_dump(&pt))
#define ROW_HAS(text) cr_assert(pty_wait_row_has(&pt, text), \
    "wanted a row with \"%s\"; screen:\n%s", text, pty_dump(&pt))

Test(peer_tty, typing_survives_the_other_sides_lines)
{
	char pa[8], pb[8], ta[32], tb[32];
	struct proc b;
	struct termios t;

	snprintf(pa, sizeof(pa), "%d", ports_listen());
	do
		snprintf(pb, sizeof(pb), "%d", ports_listen());
	while (strcmp(pa, pb) == 0);
	snprintf(ta, sizeof(ta), "127.0.0.1:%s", pb);
	snprintf(tb, sizeof(tb), "127.0.0.1:%s", pa);
	char *a_argv[] = { "PEER", "-l", pa, "-c", ta, "-n", "A", NULL };
	char *b_argv[] = { "PEER", "-l", pb, "-c", tb, "-n", "B", NULL };

	pty_start_argv(&pt, a_argv, "xterm");
	INPUT("A>", 3);
	proc_start(&b, b_argv);
	ROW_HAS("] * connected to B at 127.0.0.1:");
	cr_assert(proc_wait_output(&b, "* connected to A", WAIT_MS));
	pty_type(&pt, "half a li");
	INPUT("A> half a li", 12);
	proc_write(&b, "a line from B\n");
	ROW_HAS("] B: a line from B");
	INPUT("A> half a li", 12);
	pty_type(&pt, "ne\r");
	cr_assert(proc_wait_output(&b, "] A: half a line\n", WAIT_MS), "%s",
	    b.text);
	ROW_HAS("] A: half a line");
	INPUT("A>", 3);
	pty_type(&pt, "/who\r");
	ROW_HAS("] * you are A at 127.0.0.1:");
	cr_assert(!pt.scr.unknown, "%s", pty_dump(&pt));

	pty_type(&pt, "\003");                  /* Ctrl-C quits */
	int status = pty_wait_exit(&pt);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%d: %s",
	    status, pty_dump(&pt));
	cr_assert(tcgetattr(pt.slave, &t) == 0);
	cr_assert_eq(t.c_lflag, pt.before.c_lflag);
	cr_assert_str_eq(pty_row(&pt, 0), "", "%s", pty_dump(&pt));
	cr_assert(proc_wait_output(&b, "* A left", WAIT_MS), "%s", b.text);
	cr_assert_eq(proc_wait(&b, WAIT_MS), 0, "%s", b.text);
	cr_assert_null(strstr(b.text, "A: /who"), "%s", b.text);
}
