/*
 * test_client_tty.c - the client on a terminal: the real ./client on a
 * pseudo-terminal (tests/pty.h) against a real server, with a raw
 * connection as the other person. Keys go in, and the assertions are on
 * the screen a person would see, on what the server was sent, and on the
 * terminal settings the client leaves behind.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

#include "harness.h"
#include "ports.h"
#include "pty.h"

#define ENTER "\r"

static struct server srv;
static char port[16];
static struct pty pt;

static void
start(void)
{
	server_start(&srv, NULL);
	snprintf(port, sizeof(port), "%d", srv.port);
}

static void
stop(void)
{
	pty_end(&pt);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

TestSuite(client_tty, .init = start, .fini = stop, .timeout = 30);

/* The cursor's row reads text, with the cursor at column col. */
#define INPUT(text, col) cr_assert(pty_wait_input(&pt, text, col), \
    "wanted input \"%s\" at column %d; screen:\n%s", text, col, \
    pty_dump(&pt))
/* Some row holds text. */
#define ROW_HAS(text) cr_assert(pty_wait_row_has(&pt, text), \
    "wanted a row with \"%s\"; screen:\n%s", text, pty_dump(&pt))

/* True when row is "[hh:mm:ss] " and then exactly text. */
static bool
stamped(const char *row, const char *text)
{
	return strlen(row) == 11 + strlen(text) && row[0] == '[' &&
	    row[3] == ':' && row[6] == ':' && row[9] == ']' &&
	    strcmp(row + 11, text) == 0;
}

/* Runs the client on the terminal as name (with -u) against the server
 * on port at, and waits for its prompt, which names the room: #lobby. */
static void
run_client_on(const char *at, const char *name)
{
	char *argv[] = { "CLIENT", "-p", (char *)at, "-u", (char *)name,
		NULL };
	char prompt[64];

	pty_start_argv(&pt, argv, "xterm");
	snprintf(prompt, sizeof(prompt), "%s #lobby>", name);
	INPUT(prompt, (int)strlen(prompt) + 1);
}

static void
run_client(const char *name)
{
	run_client_on(port, name);
}

/* The client has ended with status 0, the terminal's settings are those
 * from before it ran, and no input row is left. */
static void
expect_clean_exit(void)
{
	struct termios t;
	int status = pty_wait_exit(&pt);

	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "status %d; screen:\n%s", status, pty_dump(&pt));
	cr_assert(tcgetattr(pt.slave, &t) == 0);
	cr_assert((t.c_lflag & ICANON) && (t.c_lflag & ECHO),
	    "the terminal is still raw");
	cr_assert_eq(t.c_lflag, pt.before.c_lflag);
	cr_assert_eq(t.c_iflag, pt.before.c_iflag);
	cr_assert_str_eq(pty_row(&pt, 0), "", "%s", pty_dump(&pt));
	cr_assert_eq(pt.scr.col, 0);
}

Test(client_tty, a_message_while_typing_lands_above_the_half_line)
{
	struct conn *alice = conn_login(srv.port, "alice");

	run_client("bob");
	conn_expect(alice, "INFO bob joined");
	pty_type(&pt, "half a li");
	INPUT("bob #lobby> half a li", 21);
	conn_send(alice, "MSG hello from alice\n");
	ROW_HAS("] alice: hello from alice");
	INPUT("bob #lobby> half a li", 21);
	cr_assert(stamped(pty_row(&pt, 1), "alice: hello from alice"),
	    "the message is not on its own row:\n%s", pty_dump(&pt));
	pty_type(&pt, "ne" ENTER);
	conn_expect(alice, "MSG bob half a line");
	ROW_HAS("] bob: half a line");
	INPUT("bob #lobby>", 12);
	cr_assert(stamped(pty_row(&pt, 1), "bob: half a line"), "%s",
	    pty_dump(&pt));
	cr_assert(!pt.scr.unknown, "%s", pty_dump(&pt));
	conn_close(alice);
}

Test(client_tty, own_lines_show_as_everyones_and_help_is_whole)
{
	struct conn *alice = conn_login(srv.port, "alice");

	run_client("bob");
	conn_expect(alice, "INFO bob joined");
	pty_type(&pt, "/dm alice psst" ENTER);
	conn_expect(alice, "DM bob psst");
	ROW_HAS("] [dm → alice] psst");
	pty_type(&pt, "hi all" ENTER);
	conn_expect(alice, "MSG bob hi all");
	ROW_HAS("] bob: hi all");
	pty_type(&pt, "/help" ENTER);
	ROW_HAS("  /who [#ROOM]    who is in your room, or in ROOM");
	INPUT("bob #lobby>", 12);
	for (int up = 0; up <= pt.scr.row; up++)
		cr_assert(strncmp(pty_row(&pt, up), "bob #lobby> ", 12) != 0,
		    "a typed line was left on screen:\n%s", pty_dump(&pt));
	cr_assert(!pt.scr.unknown, "%s", pty_dump(&pt));
	conn_expect_quiet(alice);
	conn_close(alice);
}

Test(client_tty, a_line_too_long_is_refused_in_words)
{
	struct conn *alice = conn_login(srv.port, "alice");
	char line[1022];

	run_client("bob");
	conn_expect(alice, "INFO bob joined");
	memset(line, 'x', 1021);
	line[1021] = '\0';
	pty_type(&pt, line);
	pty_type(&pt, ENTER);
	cr_assert(pty_wait_output(&pt, "! not sent: a message may hold 1020 "
	    "bytes; this one has 1021"), "%s", pty_dump(&pt));
	INPUT("bob #lobby>", 12);
	conn_expect_quiet(alice);
	conn_close(alice);
}

Test(client_tty, ctrl_c_sends_quit_and_restores_the_terminal)
{
	run_client("bob");
	pty_type(&pt, "half");
	INPUT("bob #lobby> half", 16);
	pty_type(&pt, "\003");
	expect_clean_exit();
	cr_assert(server_log_wait(&srv, "user=bob reason=quit", WAIT_MS));
}

Test(client_tty, ctrl_d_on_an_empty_line_quits)
{
	run_client("bob");
	pty_type(&pt, "\004");
	expect_clean_exit();
	cr_assert(server_log_wait(&srv, "user=bob reason=quit", WAIT_MS));
}

Test(client_tty, server_gone_restores_the_terminal)
{
	run_client("bob");
	pty_type(&pt, "half");
	INPUT("bob #lobby> half", 16);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
	expect_clean_exit();
	cr_assert(pty_wait_row_has(&pt, "] * disconnected"), "%s",
	    pty_dump(&pt));
	server_start(&srv, NULL);               /* for the suite's fini */
}

/* A failed assert's abort. (Not SIGSEGV: under make sanitize,
 * AddressSanitizer's own handler takes that one first, and leaves the
 * terminal as it is; test_lineedit.c covers every fatal signal on a plain
 * build.) */
Test(client_tty, a_crash_restores_the_terminal)
{
	struct termios t;

	run_client("bob");
	pty_type(&pt, "half");
	INPUT("bob #lobby> half", 16);
	kill(pt.pid, SIGABRT);
	int status = pty_wait_exit(&pt);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "%d",
	    status);
	cr_assert(tcgetattr(pt.slave, &t) == 0);
	cr_assert_eq(t.c_lflag, pt.before.c_lflag);
}

Test(client_tty, the_name_asked_for_becomes_the_prompt)
{
	char *argv[] = { "CLIENT", "-p", port, NULL };

	pty_start_argv(&pt, argv, "xterm");
	cr_assert(pty_wait_output(&pt, "Enter your nickname: "), "%s",
	    pty_dump(&pt));
	pty_type(&pt, "carol" ENTER);
	INPUT("carol #lobby>", 14);
	ROW_HAS("] * logged in as carol, in #lobby;");
	pty_type(&pt, "/quit" ENTER);
	expect_clean_exit();
}

Test(client_tty, a_dumb_terminal_keeps_plain_io)
{
	struct conn *alice = conn_login(srv.port, "alice");
	char *argv[] = { "CLIENT", "-p", port, "-u", "bob", NULL };

	pty_start_argv(&pt, argv, "dumb");
	conn_expect(alice, "INFO bob joined");
	pty_type(&pt, "plain hello" ENTER);     /* the terminal echoes */
	conn_expect(alice, "MSG bob plain hello");
	pty_type(&pt, "\004");
	int status = pty_wait_exit(&pt);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_null(memchr(pt.out, '\033', pt.len), "%s", pty_dump(&pt));
	cr_assert(!pty_wait_row_has(&pt, "] bob: plain hello"),
	    "plain I/O showed the typed line again:\n%s", pty_dump(&pt));
	conn_close(alice);
}

Test(client_tty, ctrl_d_while_a_silent_server_is_awaited_ends_it)
{
	char lport[16];
	int lfd = ports_listener(lport, sizeof(lport));
	char *argv[] = { "CLIENT", "-p", lport, "-u", "bob", NULL };

	pty_start_argv(&pt, argv, "xterm");
	pty_type(&pt, "\004");          /* the cooked terminal's end of input */
	int status = pty_wait_exit(&pt);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%d: %s",
	    status, pty_dump(&pt));
	cr_assert(pty_wait_output(&pt, "nothing to send"), "%s",
	    pty_dump(&pt));
	close(lfd);
}

Test(client_tty, a_resize_redraws_the_line_at_once)
{
	struct winsize ws = { .ws_row = PTY_ROWS, .ws_col = 30 };
	const char *digits = "0123456789012345678901234567890123456";

	run_client("bob");
	pty_type(&pt, digits);
	INPUT("bob #lobby> 0123456789012345678901234567890123456", 49);
	cr_assert(ioctl(pt.master, TIOCSWINSZ, &ws) == 0);  /* SIGWINCH */
	INPUT("89012345678901234567890123456", 29);
}

/* Keys are not lines: the server hears nothing of them, so someone typing
 * a long line slowly must still be kept in by the heartbeat. With the
 * server's idle timeout at 2 s and a heartbeat every second, a key every
 * 300 ms for 3.5 s must not get the client cut off. */
Test(client_tty, typing_without_enter_still_sends_the_heartbeat)
{
	struct server own;
	char own_port[16];

	server_start(&own, "--idle-timeout", "2", NULL);
	snprintf(own_port, sizeof(own_port), "%d", own.port);
	char *argv[] = { "CLIENT", "-p", own_port, "-u", "slow",
		"--heartbeat", "1", NULL };
	pty_start_argv(&pt, argv, "xterm");
	INPUT("slow #lobby>", 13);
	long long start = now_ms();
	for (int i = 0; now_ms() - start < 3500; i++) {
		pty_type(&pt, (char[]){ (char)('a' + i % 26), '\0' });
		poll(NULL, 0, 300);             /* the typist's pace */
	}
	cr_assert_eq(server_log_count(&own, "reason=idle-timeout"), 0,
	    "cut off while typing:\n%s", pty_dump(&pt));
	pty_type(&pt, "\r");
	cr_assert(server_log_wait(&own, "from=slow", WAIT_MS));
	pty_type(&pt, "/quit\r");
	expect_clean_exit();
	cr_assert_eq(server_stop(&own, SIGTERM, 3000), 0);
}

/* ---- Rooms ------------------------------------------------------------- */

/* The row up rows above the cursor's is stamped "[hh:mm:ss] " and reads
 * text, dimmed or not. */
static void
expect_row(int up, const char *text, bool dim)
{
	cr_assert(up >= 0 && stamped(pty_row(&pt, up), text),
	    "wanted \"%s\" %d rows up; screen:\n%s", text, up, pty_dump(&pt));
	cr_assert_eq(pty_row_dim(&pt, up), dim, "\"%s\" %s dim:\n%s", text,
	    dim ? "is not" : "is", pty_dump(&pt));
}

Test(client_tty, join_moves_the_prompt_and_history_comes_first_dimmed)
{
	struct conn *carol = conn_login(srv.port, "carol");

	conn_send(carol, "JOIN #rust\n");
	conn_expect_eventually(carol, "OK");
	conn_send(carol, "MSG old news\n");
	conn_sync(carol);
	run_client("bob");
	pty_type(&pt, "/join #rust" ENTER);
	INPUT("bob #rust>", 11);
	conn_expect(carol, "INFO bob joined");
	ROW_HAS("] (history) carol: old news");
	conn_send(carol, "MSG live news\n");
	ROW_HAS("] carol: live news");
	int moved = pty_find_row(&pt, "] * you are in #rust now");
	int old = pty_find_row(&pt, "] (history) carol: old news");
	int live = pty_find_row(&pt, "] carol: live news");
	cr_assert(moved > old && old > live, "out of order:\n%s",
	    pty_dump(&pt));
	expect_row(moved, "* you are in #rust now", false);
	expect_row(old, "(history) carol: old news", true);
	expect_row(live, "carol: live news", false);
	pty_type(&pt, "/rooms" ENTER "/history 1" ENTER "/who" ENTER);
	ROW_HAS("] * in #rust: bob carol");
	expect_row(1, "* in #rust: bob carol", false);
	expect_row(2, "(history) carol: live news", true);
	expect_row(3, "* rooms: #lobby 0, #rust 2", false);
	INPUT("bob #rust>", 11);
	cr_assert(!pt.scr.unknown, "%s", pty_dump(&pt));
	pty_type(&pt, "/help" ENTER);
	ROW_HAS("  /join #ROOM     move to ROOM (made if new): its");
	conn_close(carol);
}

/* With --max-rooms 2, #lobby and alice's #busy are all the server holds:
 * a JOIN of a new room fails, and so does one the client refuses itself.
 * Neither moves the prompt, nor does the OK of the HISTORY asked just
 * before; a JOIN that works does. (test_client.c's
 * answers_are_paired_with_the_questions_they_answer makes those answers
 * arrive together, which a real server seldom does.) */
Test(client_tty, a_join_that_fails_leaves_the_prompt_as_it_was)
{
	struct server own;
	char own_port[16];

	server_start(&own, "--max-rooms", "2", NULL);
	snprintf(own_port, sizeof(own_port), "%d", own.port);
	struct conn *alice = conn_login(own.port, "alice");
	conn_send(alice, "JOIN #busy\nMSG busy here\n");
	conn_expect_eventually(alice, "OK");
	run_client_on(own_port, "bob");
	pty_type(&pt, "/history 1" ENTER "/join #other" ENTER);
	ROW_HAS("] ! too many rooms: try an existing one");
	pty_type(&pt, "/join busy" ENTER);
	ROW_HAS("] ! rooms are # and 1-32 letters,");
	INPUT("bob #lobby>", 12);
	cr_assert_lt(pty_find_row(&pt, "] ! too many rooms"),
	    pty_find_row(&pt, "] * no messages kept in #lobby"), "%s",
	    pty_dump(&pt));
	cr_assert_eq(pty_find_row(&pt, "you are in"), -1, "%s", pty_dump(&pt));
	pty_type(&pt, "/join #BUSY" ENTER);
	INPUT("bob #BUSY>", 11);          /* as typed: the server's is #busy */
	ROW_HAS("] (history) alice: busy here");
	pty_type(&pt, "/quit" ENTER);
	expect_clean_exit();
	conn_close(alice);
	cr_assert_eq(server_stop(&own, SIGTERM, 3000), 0);
}
