/*
 * test_client.c - the client program, driven through pipes against the real
 * server, with a raw connection on the other side to see what it sends; and
 * against a listening socket of the test's own, which plays a server that
 * is slow or says nothing. tests/test_client_tty.c drives it on a
 * terminal.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "ports.h"

static struct server srv;
static char port[16];

static void
start(void)
{
	server_start(&srv, NULL);
	snprintf(port, sizeof(port), "%d", srv.port);
}

static void
stop(void)
{
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

TestSuite(client, .init = start, .fini = stop, .timeout = 30);

/* True when text holds "[hh:mm:ss] " followed by want. */
static bool
shown(const char *text, const char *want)
{
	for (const char *p = strstr(text, want); p != NULL;
	    p = strstr(p + 1, want)) {
		if (p - text >= 11 && p[-11] == '[' && p[-8] == ':' &&
		    p[-5] == ':' && p[-2] == ']' && p[-1] == ' ')
			return true;
	}
	return false;
}

Test(client, scripted_through_a_pipe)
{
	struct conn *alice = conn_login(srv.port, "alice");
	struct proc p;
	char *argv[] = { "CLIENT", "-p", port, "-u", "bob", NULL };

	proc_start(&p, argv);
	conn_expect(alice, "INFO bob joined");
	proc_write(&p, "hello there\n/dm alice psst\n/who\n\n/bogus\n");
	conn_expect(alice, "MSG bob hello there");
	conn_expect(alice, "DM bob psst");
	cr_assert(proc_wait_output(&p, "* in #lobby: alice bob", WAIT_MS), "%s",
	    p.text);
	conn_send(alice, "MSG hi bob\nDM bob secret\n");
	cr_assert(proc_wait_output(&p, "[dm] alice: secret", WAIT_MS), "%s",
	    p.text);
	proc_close_stdin(&p);                   /* EOF quits */
	conn_expect(alice, "INFO bob disconnected");
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	cr_assert(shown(p.text, "alice: hi bob"), "%s", p.text);
	cr_assert(shown(p.text, "! unknown command /bogus"), "%s", p.text);
	cr_assert(shown(p.text, "* bye"), "%s", p.text);
	/* Plain input: the script knows what it sent; only others show. */
	cr_assert_null(strstr(p.text, "bob: hello there"), "%s", p.text);
	/* Logged in by -u: the welcome's "log in with LOGIN" is not for us. */
	cr_assert_null(strstr(p.text, "welcome"), "%s", p.text);
	cr_assert(server_log_wait(&srv, "user=bob reason=quit", WAIT_MS));
	conn_close(alice);
}

Test(client, asks_for_a_nickname_and_quits_with_bang_exit)
{
	struct conn *alice = conn_login(srv.port, "alice");
	struct proc p;
	char *argv[] = { "CLIENT", "-p", port, NULL };

	proc_start(&p, argv);
	cr_assert(proc_wait_output(&p, "Enter your nickname:", WAIT_MS));
	proc_write(&p, "carol\nhi from carol\n!exit\nnever sent\n");
	conn_expect(alice, "INFO carol joined");
	conn_expect(alice, "MSG carol hi from carol");
	conn_expect(alice, "INFO carol disconnected");
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	conn_expect_quiet(alice);
	conn_close(alice);
}

Test(client, taken_name_with_u_exits_one)
{
	struct conn *alice = conn_login(srv.port, "alice");
	struct proc p;
	char *argv[] = { "CLIENT", "-p", port, "-username", "ALICE", NULL };

	proc_start(&p, argv);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 1, "%s", p.text);
	cr_assert(shown(p.text, "! name taken"), "%s", p.text);
	cr_assert_null(strstr(p.text, "username-taken"), "%s", p.text);
	conn_close(alice);
}

Test(client, asks_again_after_a_refused_name)
{
	struct proc p;
	char *argv[] = { "CLIENT", "-p", port, NULL };

	proc_start(&p, argv);
	proc_write(&p, "9lives\ndave\n/who\n");
	cr_assert(proc_wait_output(&p, "* in #lobby: dave", WAIT_MS), "%s",
	    p.text);
	cr_assert(shown(p.text, "! names are 1-32 characters: a letter, then "
	    "letters, digits, _ or -"), "%s", p.text);
	cr_assert_null(strstr(p.text, "bad-name"), "%s", p.text);
	proc_close_stdin(&p);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
}

Test(client, server_shutdown_ends_the_client_with_zero)
{
	struct proc p;
	char *argv[] = { "CLIENT", "-p", port, "-u", "erin", NULL };

	proc_start(&p, argv);                   /* stdin stays open */
	cr_assert(server_log_wait(&srv, "user=erin", WAIT_MS));
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	cr_assert(shown(p.text, "* server shutting down"), "%s", p.text);
	cr_assert(shown(p.text, "* disconnected"), "%s", p.text);
	server_start(&srv, NULL);               /* for the suite's fini */
}

Test(client, cannot_connect_exits_one_with_a_message)
{
	struct proc p;
	char *argv[] = { "CLIENT", "-H", "127.0.0.1", "-p", "1", "-u", "x",
		NULL };

	proc_start(&p, argv);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 1);
	cr_assert(strstr(p.text, "client: cannot connect to 127.0.0.1 port 1"),
	    "%s", p.text);
}

Test(client, bad_flag_exits_two)
{
	struct proc p;
	char *argv[] = { "CLIENT", "--bogus", "x", NULL };

	proc_start(&p, argv);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 2);
	cr_assert(strstr(p.text, "client: unknown option: --bogus"), "%s",
	    p.text);
}

Test(client, control_bytes_are_neither_sent_nor_shown)
{
	struct conn *alice = conn_login(srv.port, "alice");
	struct proc p;
	char *argv[] = { "CLIENT", "-p", port, "-u", "bob", NULL };

	proc_start(&p, argv);
	conn_expect(alice, "INFO bob joined");
	proc_write(&p, "evil \x1b[2J\nfine\n");
	conn_expect(alice, "MSG bob fine");
	proc_close_stdin(&p);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0);
	cr_assert(shown(p.text, "! not sent: control characters"), "%s",
	    p.text);
	cr_assert_null(strchr(p.text, '\x1b'));
	conn_close(alice);
}

/* With the server's idle timeout at 2 s and a heartbeat every second, a
 * client whose person types nothing for 3.5 s must stay logged in. */
Test(heartbeat, keeps_a_quiet_client_logged_in, .timeout = 30)
{
	struct server own;
	char own_port[16];
	struct proc p;

	server_start(&own, "--idle-timeout", "2", NULL);
	snprintf(own_port, sizeof(own_port), "%d", own.port);
	char *argv[] = { "CLIENT", "-p", own_port, "-u", "quiet",
		"--heartbeat", "1", NULL };
	proc_start(&p, argv);
	cr_assert(server_log_wait(&own, "user=quiet", WAIT_MS));
	cr_assert(!server_log_wait(&own, "reason=idle-timeout", 3500),
	    "the heartbeat did not keep the client in");
	proc_close_stdin(&p);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	cr_assert(server_log_wait(&own, "user=quiet reason=quit", WAIT_MS));
	cr_assert_eq(server_stop(&own, SIGTERM, 3000), 0);
}

/* ---- Lines of any length the server sends; typed lines it takes -------- */

Test(client, relayed_message_longer_than_1024_bytes_is_shown_whole)
{
	struct conn *alice = conn_login(srv.port, "alice");
	static char text[1021], want[1100];
	struct proc p;
	char *argv[] = { "CLIENT", "-p", port, "-u", "bob", NULL };

	memset(text, 'x', 1017);
	memcpy(text + 1017, "END", 4);          /* 1020 bytes: all of MSG's */
	snprintf(want, sizeof(want), "alice: %s\n", text);
	proc_start(&p, argv);
	conn_expect(alice, "INFO bob joined");
	conn_send(alice, "MSG %s\n", text);     /* relayed: 1030 bytes */
	cr_assert(proc_wait_output(&p, want, WAIT_MS), "%s", p.text);
	cr_assert_null(strstr(p.text, "skipped"), "%s", p.text);
	proc_close_stdin(&p);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	conn_close(alice);
}

#define CROWD 36

Test(client, users_line_longer_than_1024_bytes_is_shown_whole)
{
	struct server own;
	struct conn *crowd[CROWD];
	char own_port[16], names[CROWD][40];
	struct proc p;

	server_start(&own, "--max-per-addr", "0", NULL);
	snprintf(own_port, sizeof(own_port), "%d", own.port);
	for (int i = 0; i < CROWD; i++) {       /* 36 names of 32 bytes */
		snprintf(names[i], sizeof(names[i]), "u%02d%029d", i % 100, 0);
		crowd[i] = conn_login(own.port, names[i]);
	}
	char *argv[] = { "CLIENT", "-p", own_port, "-u", "bob", NULL };
	proc_start(&p, argv);
	proc_write(&p, "/who\n");
	cr_assert(proc_wait_output(&p, "* in #lobby:", WAIT_MS), "%s", p.text);
	cr_assert(proc_wait_output(&p, " bob", WAIT_MS), "%s", p.text);
	cr_assert(proc_wait_output(&p, "\n", WAIT_MS));
	const char *online = strstr(p.text, "* in #lobby:");
	size_t row = strcspn(online, "\n");
	for (int i = 0; i < CROWD; i++)
		cr_assert_not_null(memmem(online, row, names[i],
		    strlen(names[i])), "%s missing: %s", names[i], p.text);
	proc_close_stdin(&p);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	for (int i = 0; i < CROWD; i++)
		conn_close(crowd[i]);
	cr_assert_eq(server_stop(&own, SIGTERM, 3000), 0);
}

Test(client, typed_lines_are_checked_against_what_the_server_takes)
{
	struct conn *alice = conn_login(srv.port, "alice");
	static char m1020[1021], m1021[1022], d1015[1016], d1016[1017];
	static char want[1100], script[5000];
	struct proc p;
	char *argv[] = { "CLIENT", "-p", port, "-u", "bob", NULL };

	memset(m1020, 'm', 1020);
	memset(m1021, 'n', 1021);
	memset(d1015, 'd', 1015);       /* "DM alice " + 1015 = 1024 */
	memset(d1016, 'e', 1016);
	snprintf(script, sizeof(script), "%s\n%s\n/dm alice %s\n/dm alice %s\n",
	    m1020, m1021, d1015, d1016);
	proc_start(&p, argv);
	conn_expect(alice, "INFO bob joined");
	proc_write(&p, script);
	snprintf(want, sizeof(want), "MSG bob %s", m1020);
	conn_expect(alice, want);
	snprintf(want, sizeof(want), "DM bob %s", d1015);
	conn_expect(alice, want);
	cr_assert(proc_wait_output(&p, "this one has 1016", WAIT_MS), "%s",
	    p.text);
	conn_expect_quiet(alice);               /* the long ones: nothing */
	cr_assert(shown(p.text, "! not sent: a message may hold 1020 bytes; "
	    "this one has 1021"), "%s", p.text);
	cr_assert(shown(p.text, "! not sent: a private message to alice may "
	    "hold 1015 bytes; this one has 1016"), "%s", p.text);
	cr_assert_null(strstr(p.text, "line-too-long"), "%s", p.text);
	proc_close_stdin(&p);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	conn_close(alice);
}

/* ---- A server that is slow, or says nothing ---------------------------- */

/* Accepts one connection within WAIT_MS, as a line reader. */
static struct conn *
accept_conn(int lfd)
{
	struct pollfd pf = { .fd = lfd, .events = POLLIN };
	struct conn *c = calloc(1, sizeof(*c));

	cr_assert_not_null(c);
	cr_assert(poll(&pf, 1, WAIT_MS) == 1, "nobody connected");
	c->fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert(c->fd >= 0);
	return c;
}

Test(client, no_welcome_in_time_exits_one)
{
	char lport[16];
	int lfd = ports_listener(lport, sizeof(lport));
	char *argv[] = { "CLIENT", "-p", lport, "-u", "x", "--timeout", "1",
		NULL };
	struct proc p;

	proc_start(&p, argv);                   /* stdin stays open */
	long long start = now_ms();
	cr_assert_eq(proc_wait(&p, WAIT_MS), 1, "%s", p.text);
	cr_assert(now_ms() - start >= 900, "gave up too soon");
	cr_assert(strstr(p.text, "client: no welcome from 127.0.0.1 port "),
	    "%s", p.text);
	cr_assert(strstr(p.text, " within 1 s"), "%s", p.text);
	close(lfd);
}

Test(client, no_answer_to_login_in_time_exits_one)
{
	char lport[16], line[256];
	int lfd = ports_listener(lport, sizeof(lport));
	char *argv[] = { "CLIENT", "-p", lport, "-u", "x", "--timeout", "1",
		NULL };
	struct proc p;

	proc_start(&p, argv);
	struct conn *c = accept_conn(lfd);
	conn_send(c, "INFO welcome to a server that stops talking\n");
	cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS));
	cr_assert_str_eq(line, "LOGIN x");
	cr_assert_eq(proc_wait(&p, WAIT_MS), 1, "%s", p.text);
	cr_assert(strstr(p.text, "client: no answer to LOGIN from 127.0.0.1 "
	    "port "), "%s", p.text);
	conn_close(c);
	close(lfd);
}

Test(client, end_of_stdin_with_nothing_typed_stops_the_wait)
{
	char lport[16];
	int lfd = ports_listener(lport, sizeof(lport));
	char *argv[] = { "CLIENT", "-p", lport, "-u", "x", NULL };
	struct proc p;

	proc_start(&p, argv);                   /* the default: 10 s */
	proc_close_stdin(&p);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	cr_assert(shown(p.text, "* standard input ended before 127.0.0.1 "
	    "port "), "%s", p.text);
	cr_assert(strstr(p.text, "nothing to send"), "%s", p.text);
	close(lfd);
}

Test(client, lines_typed_before_a_slow_login_are_sent_after_it)
{
	char lport[16], line[256];
	int lfd = ports_listener(lport, sizeof(lport));
	char *argv[] = { "CLIENT", "-p", lport, "-u", "x", NULL };
	struct proc p;

	proc_start(&p, argv);
	proc_write(&p, "typed early\n");
	proc_close_stdin(&p);                   /* ended, but not empty */
	struct conn *c = accept_conn(lfd);
	conn_send(c, "INFO welcome, slowly\n");
	cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS));
	cr_assert_str_eq(line, "LOGIN x");
	conn_send(c, "OK\n");
	cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS));
	cr_assert_str_eq(line, "MSG typed early");
	cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS));
	cr_assert_str_eq(line, "QUIT");
	conn_close(c);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	close(lfd);
}

Test(client, asks_for_the_name_before_connecting)
{
	char lport[16], line[256];
	int lfd = ports_listener(lport, sizeof(lport));
	struct pollfd pf = { .fd = lfd, .events = POLLIN };
	char *argv[] = { "CLIENT", "-p", lport, NULL };
	struct proc p;

	proc_start(&p, argv);
	cr_assert(proc_wait_output(&p, "Enter your nickname:", WAIT_MS), "%s",
	    p.text);
	cr_assert_eq(poll(&pf, 1, 0), 0, "connected before asking");
	proc_write(&p, "carol\n");
	struct conn *c = accept_conn(lfd);
	conn_send(c, "INFO welcome\n");
	cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS));
	cr_assert_str_eq(line, "LOGIN carol");
	conn_send(c, "OK\n");
	cr_assert(proc_wait_output(&p, "* logged in as carol", WAIT_MS), "%s",
	    p.text);
	proc_close_stdin(&p);
	cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS));
	cr_assert_str_eq(line, "QUIT");
	conn_close(c);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	close(lfd);
}

static int
count(const char *text, const char *what)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, what)) != NULL; p++)
		n++;
	return n;
}

Test(client, a_taken_name_is_asked_for_again)
{
	struct conn *alice = conn_login(srv.port, "alice");
	struct proc p;
	char *argv[] = { "CLIENT", "-p", port, NULL };

	proc_start(&p, argv);
	proc_write(&p, "alice\ncarol\n/who\n");
	cr_assert(proc_wait_output(&p, "* in #lobby: alice carol", WAIT_MS),
	    "%s", p.text);
	cr_assert(shown(p.text, "! name taken"), "%s", p.text);
	cr_assert_eq(count(p.text, "Enter your nickname:"), 2, "%s", p.text);
	proc_close_stdin(&p);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	conn_close(alice);
}

/* ---- Words for people -------------------------------------------------- */

Test(client, errors_in_words_help_and_a_slash_sent_as_text)
{
	struct conn *alice = conn_login(srv.port, "alice");
	struct proc p;
	char *argv[] = { "CLIENT", "-p", port, "-u", "bob", NULL };

	proc_start(&p, argv);
	conn_expect(alice, "INFO bob joined");
	proc_write(&p, "/dm\n/dm alice\n//etc/motd\n/dm zed hi\n/help\n");
	conn_expect(alice, "MSG bob /etc/motd");
	cr_assert(proc_wait_output(&p, "! nobody called zed is online",
	    WAIT_MS), "%s", p.text);
	cr_assert(proc_wait_output(&p, "\n  //TEXT ", WAIT_MS), "%s", p.text);
	conn_expect_quiet(alice);               /* no "/dm" went as text */
	proc_close_stdin(&p);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	cr_assert_eq(count(p.text, "] ! usage: /dm USER TEXT\n"), 2, "%s",
	    p.text);
	cr_assert(strstr(p.text, "\n  /dm USER TEXT "), "%s", p.text);
	cr_assert_null(strstr(p.text, "no-such-user"), "%s", p.text);
	conn_close(alice);
}

/* ---- Options ----------------------------------------------------------- */

Test(client, bad_ports_are_usage_errors)
{
	char *bad[][4] = {
		{ "CLIENT", "-p", "abc", NULL },
		{ "CLIENT", "-p", "99999", NULL },
		{ "CLIENT", "--port=0", NULL },
		{ "CLIENT", "--heartbeat", "-1", NULL },
	};
	struct proc p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		proc_start(&p, bad[i]);
		cr_assert_eq(proc_wait(&p, WAIT_MS), 2, "%zu: %s", i, p.text);
		cr_assert(strncmp(p.text, "client: bad ", 12) == 0, "%s",
		    p.text);
	}
	setenv("CHAT_PORT", "4x", 1);
	char *env[] = { "CLIENT", NULL };
	proc_start(&p, env);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 2, "%s", p.text);
	cr_assert(strstr(p.text, "CHAT_PORT"), "%s", p.text);
	unsetenv("CHAT_PORT");
}

Test(client, help_version_and_long_options)
{
	struct conn *alice = conn_login(srv.port, "alice");
	char *help[] = { "CLIENT", "--help", NULL };
	char *version[] = { "CLIENT", "--version", NULL };
	char port_eq[32];
	struct proc p;

	proc_start(&p, help);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	cr_assert(strncmp(p.text, "usage: client ", 14) == 0, "%s", p.text);
	cr_assert(strstr(p.text, "--username NAME"), "%s", p.text);
	cr_assert(strstr(p.text, "0 = never"), "%s", p.text);
	proc_start(&p, version);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	cr_assert(strncmp(p.text, "hubchat client ", 15) == 0, "%s", p.text);

	snprintf(port_eq, sizeof(port_eq), "--port=%s", port);
	char *longs[] = { "CLIENT", port_eq, "--username=bob", "--heartbeat",
		"0", "--host", "127.0.0.1", NULL };
	proc_start(&p, longs);
	conn_expect(alice, "INFO bob joined");
	proc_write(&p, "hi\n");
	conn_expect(alice, "MSG bob hi");
	proc_close_stdin(&p);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	conn_close(alice);
}

/* ---- Rooms and history ------------------------------------------------- */

/* Where want first is in text, for checking the order of lines; fails the
 * test when it is not there. */
static size_t
at(const char *text, const char *want)
{
	const char *p = strstr(text, want);

	cr_assert_not_null(p, "no \"%s\" in:\n%s", want, text);
	return (size_t)(p - text);
}

Test(client, join_who_rooms_and_history_on_a_pipe)
{
	struct conn *alice = conn_login(srv.port, "alice");
	struct conn *carol = conn_login(srv.port, "carol");
	struct proc p;
	char *argv[] = { "CLIENT", "-p", port, "-u", "bob", NULL };

	conn_send(carol, "JOIN #rust\n");
	conn_expect_eventually(carol, "OK");
	conn_send(carol, "MSG old news\n");
	conn_sync(carol);
	conn_send(alice, "MSG in the lobby\n");
	conn_sync(alice);
	proc_start(&p, argv);
	conn_expect(alice, "INFO bob joined");
	cr_assert(proc_wait_output(&p, "(history) alice: in the lobby\n",
	    WAIT_MS), "%s", p.text);
	proc_write(&p, "/join #rust\n");
	conn_expect(carol, "INFO bob joined");
	conn_expect(alice, "INFO bob left");
	cr_assert(proc_wait_output(&p, "(history) carol: old news\n", WAIT_MS),
	    "%s", p.text);
	conn_send(carol, "MSG live news\n");
	cr_assert(proc_wait_output(&p, "] carol: live news\n", WAIT_MS), "%s",
	    p.text);
	proc_write(&p, "hello rust\n/who\n/who #lobby\n/rooms\n/history 2\n");
	conn_expect(carol, "MSG bob hello rust");       /* to the room */
	cr_assert(proc_wait_output(&p, "(history) bob: hello rust\n",
	    WAIT_MS), "%s", p.text);
	proc_close_stdin(&p);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	cr_assert(shown(p.text, "(history) alice: in the lobby"), "%s", p.text);
	cr_assert(shown(p.text, "* you are in #rust now"), "%s", p.text);
	cr_assert(shown(p.text, "* in #rust: bob carol"), "%s", p.text);
	cr_assert(shown(p.text, "* in #lobby: alice"), "%s", p.text);
	cr_assert(shown(p.text, "* rooms: #lobby 1, #rust 2"), "%s", p.text);
	/* History after the move, before what is said live; then again. */
	cr_assert_lt(at(p.text, "* you are in #rust now"),
	    at(p.text, "] (history) carol: old news"));
	cr_assert_lt(at(p.text, "] (history) carol: old news"),
	    at(p.text, "] carol: live news"));
	cr_assert_lt(at(p.text, "] carol: live news"),
	    at(p.text, "] (history) carol: live news"));
	cr_assert_lt(at(p.text, "] (history) carol: live news"),
	    at(p.text, "] (history) bob: hello rust"));
	cr_assert_null(strchr(p.text, '\033'), "styled on a pipe: %s", p.text);
	cr_assert_null(strstr(p.text, "PONG"), "%s", p.text);
	conn_expect_quiet(alice);               /* "hello rust" stayed there */
	conn_close(alice), conn_close(carol);
}

Test(client, room_errors_in_words_and_a_failed_join_moves_nobody)
{
	struct server own;
	char own_port[16];
	struct proc p;

	server_start(&own, "--max-rooms", "2", NULL);   /* #lobby and one */
	snprintf(own_port, sizeof(own_port), "%d", own.port);
	struct conn *alice = conn_login(own.port, "alice");
	conn_send(alice, "JOIN #busy\n");
	conn_expect_eventually(alice, "OK");
	char *argv[] = { "CLIENT", "-p", own_port, "-u", "bob", NULL };
	proc_start(&p, argv);
	proc_write(&p, "/join\n/join rust\n/join #a b\n/who #no!\n"
	    "/history x\n/history 0\n/history 51\n/rooms now\n/join #other\n"
	    "/history 1\n/who\n");
	cr_assert(proc_wait_output(&p, "* in #lobby: bob", WAIT_MS), "%s",
	    p.text);
	proc_close_stdin(&p);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	cr_assert_eq(count(p.text, "] ! usage: /join #ROOM\n"), 1, "%s",
	    p.text);
	cr_assert_eq(count(p.text, "] ! rooms are # and 1-32 letters, "
	    "digits, _ or -\n"), 3, "%s", p.text);
	/* x and 0 refused here; 51 by the server, which keeps 50. */
	cr_assert_eq(count(p.text, "] ! usage: /history [N], N from 1 to the "
	    "messages the server keeps\n"), 3, "%s", p.text);
	cr_assert_eq(count(p.text, "] ! usage: /rooms\n"), 1, "%s", p.text);
	cr_assert(shown(p.text, "! too many rooms: try an existing one"),
	    "%s", p.text);
	cr_assert(shown(p.text, "* no messages kept in #lobby"), "%s", p.text);
	cr_assert_null(strstr(p.text, "you are in"), "%s", p.text);
	cr_assert_null(strstr(p.text, "too-many-rooms"), "%s", p.text);
	cr_assert_null(strstr(p.text, "usage HISTORY"), "%s", p.text);
	cr_assert_null(strstr(p.text, "bad-room"), "%s", p.text);
	conn_close(alice);
	cr_assert_eq(server_stop(&own, SIGTERM, 3000), 0);
}

/* Reads the client's next line, which must be a fence, "PING <token>",
 * and keeps the token. */
static void
expect_fence(struct conn *c, char *token, size_t size)
{
	char line[256];

	cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS), "no fence");
	cr_assert(strncmp(line, "PING ", 5) == 0 && line[5] != '\0', "%s",
	    line);
	snprintf(token, size, "%s", line + 5);
}

/* A server of the test's own answers every question at once, after all
 * were asked, so that what answers what is decided by the client alone:
 * an error for a message that came before a HISTORY, the HISTORY's OK
 * before a JOIN's error, a JOIN's OK. A client that took the first OK
 * after sending a JOIN for the JOIN's would move to #nope. */
Test(client, answers_are_paired_with_the_questions_they_answer)
{
	char lport[16], t[4][256];
	int lfd = ports_listener(lport, sizeof(lport));
	char *argv[] = { "CLIENT", "-p", lport, "-u", "bob", NULL };
	struct proc p;

	setenv("TZ", "XXX-2", 1);       /* two hours east of UTC, all year */
	proc_start(&p, argv);
	struct conn *c = accept_conn(lfd);
	conn_send(c, "INFO welcome\n");
	conn_expect(c, "LOGIN bob");
	conn_send(c, "OK\n");
	proc_write(&p, "hello\n/history\n/join #nope\n/join #rust\n/who\n");
	conn_expect(c, "MSG hello");
	expect_fence(c, t[0], sizeof(t[0]));
	conn_expect(c, "HISTORY");
	expect_fence(c, t[1], sizeof(t[1]));
	conn_expect(c, "JOIN #nope");
	expect_fence(c, t[2], sizeof(t[2]));
	conn_expect(c, "JOIN #rust");
	expect_fence(c, t[3], sizeof(t[3]));
	conn_expect(c, "WHO");
	conn_send(c, "ERR server-busy the history cannot keep up\n"
	    "PONG %s\nHIST 2020-01-01T23:30:00Z carol before midnight\nOK\n"
	    "PONG %s\nERR too-many-rooms every room held has someone\n"
	    "PONG %s\nOK\nHIST 2020-06-30T10:00:00Z carol in summer\n"
	    "PONG %s\nUSERS bob carol\n", t[0], t[1], t[2], t[3]);
	cr_assert(proc_wait_output(&p, "* in #rust: bob carol", WAIT_MS), "%s",
	    p.text);
	proc_close_stdin(&p);
	conn_expect(c, "QUIT");
	conn_close(c);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	cr_assert_eq(count(p.text, "! the server is busy"), 1, "%s", p.text);
	cr_assert_eq(count(p.text, "you are in"), 1, "%s", p.text);
	/* UTC to local time, with the date: it is not today. */
	size_t busy = at(p.text, "] ! the server is busy"),
	    old = at(p.text, "[2020-01-02 01:30:00] (history) carol: before "
	    "midnight\n"),
	    refused = at(p.text, "] ! too many rooms: try an existing one\n"),
	    moved = at(p.text, "] * you are in #rust now\n"),
	    summer = at(p.text, "[2020-06-30 12:00:00] (history) carol: in "
	    "summer\n"),
	    who = at(p.text, "] * in #rust: bob carol\n");
	cr_assert(busy < old && old < refused && refused < moved &&
	    moved < summer && summer < who, "%s", p.text);
	cr_assert_null(strstr(p.text, "no messages kept"), "%s", p.text);
	cr_assert_null(strstr(p.text, "] OK"), "%s", p.text);
	cr_assert_null(strstr(p.text, "PONG"), "%s", p.text);
	close(lfd);
}
