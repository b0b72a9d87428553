/*
 * test_server.c - the real server on an ephemeral loopback port, spoken to
 * over sockets: every verb, every error, and the policies.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static struct server srv;     /* the "server" suite's, one per test */

static void
start_default(void)
{
	server_start(&srv, NULL);
}

static void
stop_server(void)
{
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

TestSuite(server, .init = start_default, .fini = stop_server, .timeout = 30);

Test(server, welcome_then_login_and_join_notice)
{
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");

	conn_expect(a, "INFO bob joined");
	conn_expect_quiet(b);           /* no notice of its own join */
	cr_assert(server_log_wait(&srv, "[LOGIN] id=2 user=bob", WAIT_MS));
	conn_close(a);
	conn_close(b);
}

Test(server, bare_name_logs_in_before_login)
{
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_open(srv.port);

	conn_send(b, "bob\n");
	conn_expect(b, "OK");
	conn_expect(a, "INFO bob joined");
	conn_send(b, "WHO\n");
	conn_expect(b, "USERS alice bob");
	conn_close(a);
	conn_close(b);
}

Test(server, bad_names_are_refused)
{
	struct conn *c = conn_open(srv.port);
	const char *bad[] = { "LOGIN 1abc", "LOGIN WHO", "LOGIN a b",
		"LOGIN abcdefghijklmnopqrstuvwxyzABCDEFG", "LOGIN _x",
		"n\xc3\xa9", "LOGIN ok", "LOGIN Info", "LOGIN err", "pong",
		"users", "LOGIN help" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		conn_send(c, "%s\n", bad[i]);
		conn_expect_err(c, "bad-name");
	}
	conn_send(c, "LOGIN\n");               /* no name at all */
	conn_expect_err(c, "usage LOGIN <name>");
	conn_send(c, "who\n");                 /* a verb, not a name */
	conn_expect_err(c, "unknown-command try WHO");
	conn_send(c, "LOGIN abcdefghijklmnopqrstuvwxyzABCDEF\n");   /* 32 */
	conn_expect(c, "OK");
	conn_send(c, "LOGIN again\n");
	conn_expect_err(c, "already-logged-in");
	conn_close(c);
}

Test(server, names_are_unique_ignoring_case_and_freed_on_leave)
{
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_open(srv.port);

	conn_send(b, "LOGIN ALICE\n");
	conn_expect_err(b, "username-taken");
	conn_send(b, "alice\n");
	conn_expect_err(b, "username-taken");
	conn_send(a, "QUIT\n");
	conn_expect(a, "INFO bye");
	cr_assert(conn_wait_closed(a, WAIT_MS));
	conn_send(b, "LOGIN Alice\n");
	conn_expect(b, "OK");
	conn_close(a);
	conn_close(b);
}

struct racer {
	int port;
	struct conn *c;
	char reply[64];         /* "" when nothing came: the test says so */
};

static void *
race_login(void *arg)
{
	struct racer *r = arg;

	r->reply[0] = '\0';
	if (conn_try_send(r->c, "LOGIN racer\n"))
		conn_read_line(r->c, r->reply, sizeof(r->reply), WAIT_MS);
	return NULL;
}

Test(server, two_logins_racing_for_one_name_one_wins)
{
	for (int round = 0; round < 20; round++) {
		struct racer r[2];
		pthread_t t[2];
		for (int i = 0; i < 2; i++)
			r[i].c = conn_open(srv.port);
		for (int i = 0; i < 2; i++)
			pthread_create(&t[i], NULL, race_login, &r[i]);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		int ok = 0, taken = 0;
		for (int i = 0; i < 2; i++) {
			ok += strcmp(r[i].reply, "OK") == 0;
			taken += line_is_err(r[i].reply, "username-taken");
		}
		cr_assert(ok == 1 && taken == 1, "round %d: %s / %s", round,
		    r[0].reply, r[1].reply);
		for (int i = 0; i < 2; i++)
			conn_close(r[i].c);
		/* the winner's leave frees the name for the next round */
		cr_assert(server_log_wait_count(&srv, "user=racer reason=eof",
		    round + 1, WAIT_MS));
	}
}

Test(server, before_login_only_login_ping_quit)
{
	struct conn *c = conn_open(srv.port);

	conn_send(c, "MSG hi\nDM bob hi\nWHO\nPING\n");
	conn_expect_err(c, "not-logged-in");
	conn_expect_err(c, "not-logged-in");
	conn_expect_err(c, "not-logged-in");
	conn_expect(c, "PONG");
	conn_send(c, "QUIT\n");
	conn_expect(c, "INFO bye");
	cr_assert(conn_wait_closed(c, WAIT_MS));
	conn_close(c);
}

Test(server, not_logged_in_hears_nothing)
{
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *lurker = conn_open(srv.port);
	struct conn *b = conn_login(srv.port, "bob");

	conn_send(a, "MSG hello\n");
	conn_expect(b, "MSG alice hello");
	conn_close(b);
	conn_expect(a, "INFO bob joined");
	conn_expect(a, "INFO bob disconnected");
	conn_expect_quiet(lurker);      /* no MSG, no join or leave notice */
	conn_close(a);
	conn_close(lurker);
}

Test(server, msg_reaches_everyone_else_without_echo)
{
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");
	struct conn *c = conn_login(srv.port, "carol");

	conn_expect(a, "INFO bob joined");
	conn_expect(a, "INFO carol joined");
	conn_expect(b, "INFO carol joined");
	conn_send(a, "MSG hello, world\n");
	conn_send(a, "a bare line is a message too\n");
	conn_send(a, "\n\n");                    /* ignored */
	conn_expect(b, "MSG alice hello, world");
	conn_expect(c, "MSG alice hello, world");
	conn_expect(b, "MSG alice a bare line is a message too");
	conn_expect(c, "MSG alice a bare line is a message too");
	conn_expect_quiet(a);
	conn_send(a, "MSG\n");
	conn_expect_err(a, "usage MSG <text>");
	conn_expect_quiet(b);
	conn_close(a);
	conn_close(b);
	conn_close(c);
}

Test(server, dm_reaches_only_its_recipient)
{
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");
	struct conn *c = conn_login(srv.port, "carol");

	conn_send(a, "DM BOB psst, bob\n");
	conn_expect(b, "INFO carol joined");
	conn_expect(b, "DM alice psst, bob");
	conn_expect_quiet(c);
	conn_send(a, "DM zed hello\n");
	conn_expect(a, "INFO bob joined");
	conn_expect(a, "INFO carol joined");
	conn_expect_err(a, "no-such-user zed");
	conn_send(a, "DM bob\nDM\n");
	conn_expect_err(a, "usage DM <user> <text>");
	conn_expect_err(a, "usage DM <user> <text>");
	conn_close(a);
	conn_close(b);
	conn_close(c);
}

Test(server, who_lists_everyone_sorted)
{
	struct conn *c = conn_login(srv.port, "carol");
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "Bob");

	conn_send(a, "WHO\n");
	conn_expect(a, "INFO Bob joined");
	conn_expect(a, "USERS alice Bob carol");
	conn_close(a);
	conn_close(b);
	conn_close(c);
}

Test(server, ping_with_and_without_token)
{
	struct conn *c = conn_open(srv.port);

	conn_send(c, "PING\nPING abc 123\nPINGS\n");
	conn_expect(c, "PONG");
	conn_expect(c, "PONG abc 123");
	conn_expect(c, "OK");              /* not a verb: taken as a name */
	conn_close(c);
}

static void
expect_leave_notice(const char *how)
{
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");

	conn_expect(a, "INFO bob joined");
	if (strcmp(how, "QUIT") == 0 || strcmp(how, "!exit") == 0) {
		conn_send(b, "%s\n", how);
		conn_expect(b, "INFO bye");
		cr_assert(conn_wait_closed(b, WAIT_MS));
		conn_close(b);
	} else if (strcmp(how, "reset") == 0) {
		conn_reset(b);
	} else if (strcmp(how, "midline") == 0) {
		conn_send(b, "MSG never finished");    /* no LF: not a line */
		conn_close(b);
	} else {
		conn_close(b);
	}
	conn_expect(a, "INFO bob disconnected");  /* and nothing before it */
	conn_close(a);
}

Test(server, quit_says_bye_and_others_hear) { expect_leave_notice("QUIT"); }
Test(server, bang_exit_says_bye) { expect_leave_notice("!exit"); }
Test(server, eof_is_announced) { expect_leave_notice("eof"); }
Test(server, reset_is_announced) { expect_leave_notice("reset"); }
Test(server, close_mid_line_is_announced_and_the_part_dropped)
{
	expect_leave_notice("midline");
}

/* When xavier leaves, the fd number of his connection is free, and the next
 * accept (yvonne's) takes it. A DM to xavier sent at that moment must never
 * reach yvonne: xavier leaves the hub before his fd is closed. */
Test(server, a_reused_fd_never_gets_another_clients_lines)
{
	struct conn *z = conn_login(srv.port, "zed");
	struct conn *x = conn_login(srv.port, "xavier");

	conn_expect(z, "INFO xavier joined");
	conn_close(x);
	/* The server has seen xavier go: from here its fd may be reused. */
	cr_assert(server_log_wait(&srv, "user=xavier reason=eof", WAIT_MS));
	struct conn *y = conn_open(srv.port);
	conn_send(y, "PING accepted\n");            /* y has its fd now */
	conn_expect(y, "PONG accepted");
	conn_send(z, "DM xavier for xavier only\n");
	conn_expect_quiet(y);           /* only replies to its own lines */
	conn_expect_quiet(y);
	conn_close(y);
	conn_close(z);
}

Test(server, half_close_still_gets_replies)
{
	struct conn *c = conn_open(srv.port);

	conn_send(c, "PING\nPING two\n");
	shutdown(c->fd, SHUT_WR);
	conn_expect(c, "PONG");
	conn_expect(c, "PONG two");
	cr_assert(conn_wait_closed(c, WAIT_MS));
	conn_close(c);
}

Test(server, line_too_long_is_refused_once_and_connection_survives)
{
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");
	static char line[200000];

	conn_expect(a, "INFO bob joined");
	memset(line, 'x', 1025);
	line[1025] = '\n';
	conn_send_raw(b, line, 1026);
	conn_expect_err(b, "line-too-long");
	memset(line, 'y', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	conn_send_raw(b, line, sizeof(line));
	conn_expect_err(b, "line-too-long");
	conn_expect_quiet(b);
	conn_expect_quiet(a);

	/* exactly the limit: "MSG " plus 1020 bytes */
	memcpy(line, "MSG ", 4);
	memset(line + 4, 'z', 1020);
	memcpy(line + 1024, "\r\n", 2);
	conn_send_raw(b, line, 1026);
	char got[2048];
	cr_assert(conn_read_line(a, got, sizeof(got), WAIT_MS));
	cr_assert_eq(strlen(got), strlen("MSG bob ") + 1020);
	conn_close(a);
	conn_close(b);
}

Test(server, control_bytes_and_bad_utf8_are_refused_not_forwarded)
{
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");
	const char *bad[] = { "MSG \x1b[2Jgotcha", "MSG bell\x07", "MSG \xff",
		"MSG \xc0\xaf", "DM alice \x1b]0;x\x07", "x\x7fy" };

	conn_expect(a, "INFO bob joined");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		conn_send(b, "%s\n", bad[i]);
		conn_expect_err(b, "bad-text");
	}
	conn_expect_quiet(a);
	conn_send(b, "MSG tab\tand \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80\n");
	conn_expect(a, "MSG bob tab\tand \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80");
	conn_close(a);
	conn_close(b);
}

Test(server, crlf_and_byte_by_byte_input)
{
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_open(srv.port);
	const char *input = "LOGIN bob\r\nMSG one\r\nPING x\r\nMSG two\n";

	for (const char *p = input; *p; p++)
		conn_send_raw(b, p, 1);
	conn_expect(b, "OK");
	conn_expect(b, "PONG x");
	conn_expect(a, "INFO bob joined");
	conn_expect(a, "MSG bob one");
	conn_expect(a, "MSG bob two");
	conn_close(a);
	conn_close(b);
}

/* Its own server, without flood control: 300 lines are more than the
 * default burst (flood control has tests of its own). */
Test(server, many_lines_in_one_packet)
{
	struct server own;
	server_start(&own, "--flood-rate", "0", NULL);
	struct conn *c = conn_open(own.port);
	char *burst = malloc(300 * 16), want[32];
	size_t len = 0;

	for (int i = 0; i < 300; i++)
		len += (size_t)sprintf(burst + len, "PING %d\n", i);
	conn_send_raw(c, burst, len);
	for (int i = 0; i < 300; i++) {
		snprintf(want, sizeof(want), "PONG %d", i);
		conn_expect(c, want);
	}
	free(burst);
	conn_close(c);
	cr_assert_eq(server_stop(&own, SIGTERM, 3000), 0);
}

#define SENDERS 4
#define PER_SENDER 500

struct sender {
	struct conn *c;
	int id;
	int sent;               /* read by the test after the join */
};

static void *
send_lines(void *arg)
{
	struct sender *s = arg;

	while (s->sent < PER_SENDER && conn_try_send(s->c, "MSG %d\n", s->sent))
		s->sent++;
	return NULL;
}

/* Reads n MSG lines from c into seen (other lines are skipped). */
static void
read_msgs(struct conn *c, char (*seen)[64], int n)
{
	char line[64];

	for (int k = 0; k < n;) {
		cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS),
		    "only %d of %d messages", k, n);
		if (strncmp(line, "MSG ", 4) == 0)
			memcpy(seen[k++], line, sizeof(line));
	}
}

/* Its own server: with four senders flat out on two cores, a listener's
 * writer can fall more than the default 1024 lines behind for a moment and
 * be cut off as a slow consumer; this test is about order, not that. */
Test(order, all_receivers_see_one_global_order, .timeout = 30)
{
	struct server own;
	server_start(&own, "--queue-hard", "1G", "--queue-soft", "0", "--flood-rate", "0", "-q", NULL);
	struct sender s[SENDERS];
	pthread_t t[SENDERS];
	struct conn *l1 = conn_login(own.port, "listener1");
	struct conn *l2 = conn_login(own.port, "listener2");
	static char seen1[SENDERS * PER_SENDER][64];
	static char seen2[SENDERS * PER_SENDER][64];

	for (int i = 0; i < SENDERS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "s%d", i);
		s[i] = (struct sender){ .c = conn_login(own.port, name), .id = i };
	}
	for (int i = 0; i < SENDERS; i++)
		pthread_create(&t[i], NULL, send_lines, &s[i]);
	read_msgs(l1, seen1, SENDERS * PER_SENDER);
	read_msgs(l2, seen2, SENDERS * PER_SENDER);
	for (int i = 0; i < SENDERS; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(s[i].sent, PER_SENDER, "sender %d failed", i);
	}

	int next[SENDERS] = { 0 };
	for (int k = 0; k < SENDERS * PER_SENDER; k++) {
		int id, seq;
		cr_assert_str_eq(seen1[k], seen2[k], "orders differ at %d", k);
		cr_assert_eq(sscanf(seen1[k], "MSG s%d %d", &id, &seq), 2);
		cr_assert_eq(seq, next[id]++, "sender s%d out of order", id);
	}
	for (int i = 0; i < SENDERS; i++)
		conn_close(s[i].c);
	conn_close(l1);
	conn_close(l2);
	cr_assert_eq(server_stop(&own, SIGTERM, 3000), 0);
}

/* Counts the server's threads whose name is name. */
static int
threads_named(const char *name)
{
	char path[320], comm[32];
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)srv.pid);
	DIR *d = opendir(path);
	cr_assert_not_null(d);
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm",
		    (int)srv.pid, e->d_name);
		FILE *f = e->d_name[0] == '.' ? NULL : fopen(path, "r");
		if (f != NULL && fgets(comm, sizeof(comm), f) != NULL) {
			comm[strcspn(comm, "\n")] = '\0';
			n += strcmp(comm, name) == 0;
		}
		if (f != NULL)
			fclose(f);
	}
	closedir(d);
	return n;
}

Test(server, threads_are_named)
{
	struct conn *c = conn_open(srv.port);
	long long deadline = now_ms() + WAIT_MS;

	while (threads_named("rd/1") + threads_named("wr/1") < 2)
		cr_assert(now_ms() < deadline, "no rd/1 and wr/1 threads");
	cr_assert_eq(threads_named("rd/1"), 1);
	cr_assert_eq(threads_named("wr/1"), 1);
	conn_close(c);
}
