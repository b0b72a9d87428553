/*
 * test_client.c - the client program, driven through pipes against the real
 * server, with a raw connection on the other side to see what it sends.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

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
	cr_assert(proc_wait_output(&p, "* online: alice bob", WAIT_MS), "%s",
	    p.text);
	conn_send(alice, "MSG hi bob\nDM bob secret\n");
	cr_assert(proc_wait_output(&p, "[dm] alice: secret", WAIT_MS), "%s",
	    p.text);
	proc_close_stdin(&p);                   /* EOF quits */
	conn_expect(alice, "INFO bob disconnected");
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	cr_assert(shown(p.text, "alice: hi bob"), "%s", p.text);
	cr_assert(shown(p.text, "! unknown command"), "%s", p.text);
	cr_assert(shown(p.text, "* bye"), "%s", p.text);
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
	cr_assert(strstr(p.text, "! error: username-taken"), "%s", p.text);
	conn_close(alice);
}

Test(client, asks_again_after_a_refused_name)
{
	struct proc p;
	char *argv[] = { "CLIENT", "-p", port, NULL };

	proc_start(&p, argv);
	proc_write(&p, "9lives\ndave\n/who\n");
	cr_assert(proc_wait_output(&p, "* online: dave", WAIT_MS), "%s",
	    p.text);
	cr_assert(strstr(p.text, "! error: bad-name"), "%s", p.text);
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
	cr_assert(strstr(p.text, "client: bad option"), "%s", p.text);
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
