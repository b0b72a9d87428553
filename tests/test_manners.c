/*
 * test_manners.c - the server for the people using it: HELP, hints for a
 * verb typed wrongly, words after each error code, and for the operator:
 * the [STATS] line, SIGHUP, a shutdown that says so first, warnings about
 * settings that will bite, and what the log keeps private.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* HELP works before login, one INFO line a verb; the welcome points at
 * it. */
Test(manners, help_lists_the_verbs_before_login, .timeout = 30)
{
	struct server srv;
	const char *verbs[] = { "LOGIN", "MSG", "DM", "WHO", "JOIN", "ROOMS",
		"HISTORY", "PING", "QUIT", "HELP" };
	char line[512];

	server_start(&srv, NULL);
	struct conn *c = conn_open_raw(srv.port);
	cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS));
	cr_assert(strstr(line, "HELP") != NULL, "welcome: %s", line);
	conn_send(c, "HELP\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		char want[32];
		cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS));
		snprintf(want, sizeof(want), "INFO %s", verbs[i]);
		cr_assert(strncmp(line, want, strlen(want)) == 0, "%s", line);
	}
	conn_expect_quiet(c);
	conn_close(c);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* A verb in the wrong case or after a slash gets a hint, is not sent to
 * anyone, and before login is not taken as a name; text that only starts
 * like a verb is still text. */
Test(manners, a_verb_typed_wrongly_gets_a_hint_not_a_broadcast,
    .timeout = 30)
{
	struct server srv;

	server_start(&srv, NULL);
	struct conn *anon = conn_open(srv.port);
	conn_send(anon, "quit\n");
	conn_expect_err(anon, "unknown-command try QUIT");
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");
	conn_expect(a, "INFO bob joined");
	const char *wrong[][2] = { { "who", "WHO" }, { "/quit", "QUIT" },
		{ "msg hi", "MSG" }, { "/dm alice x", "DM" } };
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		char code[64];
		conn_send(b, "%s\n", wrong[i][0]);
		snprintf(code, sizeof(code), "unknown-command try %s",
		    wrong[i][1]);
		conn_expect_err(b, code);
	}
	conn_send(b, "who is up for lunch?\n");
	conn_expect(a, "MSG bob who is up for lunch?");     /* the first MSG */
	conn_close(anon);
	conn_close(a);
	conn_close(b);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* Every error has words after its code, for a person in ncat. */
Test(manners, errors_carry_words_after_the_code, .timeout = 30)
{
	struct server srv;
	char line[512];
	const char *sends[] = { "LOGIN 1x", "MSG hi", "LOGIN" };
	const char *codes[] = { "bad-name", "not-logged-in", "usage" };

	server_start(&srv, NULL);
	struct conn *c = conn_open(srv.port);
	for (size_t i = 0; i < 3; i++) {
		conn_send(c, "%s\n", sends[i]);
		cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS));
		cr_assert(line_is_err(line, codes[i]), "%s", line);
		cr_assert_gt(strlen(line), 4 + strlen(codes[i]) + 3,
		    "no words: %s", line);
	}
	conn_close(c);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* SIGUSR1 logs one [STATS] line with the counts an operator wants, and
 * the server goes on; --stats SEC logs one every SEC seconds. */
Test(manners, sigusr1_and_stats_log_a_stats_line, .timeout = 30)
{
	struct server srv;

	server_start(&srv, NULL);
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");
	conn_send(a, "MSG one\nMSG two\n");
	conn_expect_eventually(b, "MSG alice two");
	kill(srv.pid, SIGUSR1);
	cr_assert(server_log_wait(&srv, "[STATS] clients=2 logged-in=2 rooms=1 "
	    "messages=2 ", WAIT_MS));
	cr_assert(server_log_wait(&srv, " deliveries=", WAIT_MS));
	cr_assert(server_log_wait(&srv, " rss-kib=", WAIT_MS));
	/* Its threads as /proc counts them: the main thread and two per
	 * client, and any a sanitizer runtime adds. */
	int threads = server_threads(srv.pid);
	char want[32];
	snprintf(want, sizeof(want), " threads=%d", threads);
	cr_assert(server_log_wait(&srv, want, WAIT_MS));
	if (getenv("HUBCHAT_SANITIZED") == NULL)
		cr_assert_eq(threads, 1 + 2 * 2);
	conn_sync(a);                           /* still serving */
	conn_close(a);
	conn_close(b);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);

	server_start(&srv, "--stats", "1", NULL);
	cr_assert(server_log_wait_count(&srv, "[STATS]", 2, 4000));
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* SIGHUP (the terminal that ran it closed) stops the server as SIGTERM
 * does: every client is told, exit 0. */
Test(manners, sighup_stops_gracefully, .timeout = 30)
{
	struct server srv;

	server_start(&srv, NULL);
	struct conn *a = conn_login(srv.port, "alice");
	kill(srv.pid, SIGHUP);
	conn_expect(a, "INFO server shutting down");
	cr_assert(conn_wait_closed(a, WAIT_MS));
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
	conn_close(a);
}

/* Shutdown: each client's next line is the farewell, not a storm of
 * others "disconnected" as everyone leaves at once. */
Test(manners, shutdown_says_so_first_without_a_storm, .timeout = 30)
{
	struct server srv;
	struct conn *c[20];
	char line[256];

	server_start(&srv, NULL);
	for (int i = 0; i < 20; i++) {
		char name[16];
		snprintf(name, sizeof(name), "u%d", i);
		c[i] = conn_login(srv.port, name);
	}
	for (int i = 0; i < 20; i++)            /* past every join notice */
		conn_sync(c[i]);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
	for (int i = 0; i < 20; i++) {
		cr_assert(conn_read_line(c[i], line, sizeof(line), WAIT_MS));
		cr_assert_str_eq(line, "INFO server shutting down");
		conn_close(c[i]);
	}
}

/* An idle timeout the client's heartbeat cannot beat is warned about. */
Test(manners, an_idle_timeout_within_the_heartbeat_is_warned, .timeout = 30)
{
	struct server srv;

	server_start(&srv, "--idle-timeout", "15", NULL);
	cr_assert(server_log_wait(&srv, "[WARN] --idle-timeout 15 is not "
	    "longer than the client's heartbeat", WAIT_MS));
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
	server_start(&srv, NULL);
	cr_assert_eq(server_log_count(&srv, "--idle-timeout"), 0);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* A private message's text stays out of the log unless --log-dm. */
Test(manners, private_messages_stay_out_of_the_log, .timeout = 30)
{
	struct server srv;

	for (int with = 0; with < 2; with++) {
		server_start(&srv, with ? "--log-dm" : "-q", NULL);
		struct conn *a = conn_login(srv.port, "alice");
		struct conn *b = conn_login(srv.port, "bob");
		conn_send(a, "DM bob the secret is 42\n");
		conn_expect_eventually(b, "DM alice the secret is 42");
		if (with) {
			cr_assert(server_log_wait(&srv, "[DM] id=1 from=alice "
			    "to=bob text=\"the secret is 42\"", WAIT_MS));
		} else {
			conn_send(a, "MSG public\n");   /* -q: no [MSG] either */
			conn_expect_eventually(b, "MSG alice public");
			cr_assert_eq(server_log_count(&srv, "secret"), 0);
		}
		conn_close(a);
		conn_close(b);
		cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
	}
	server_start(&srv, NULL);
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");
	conn_send(a, "DM bob the secret is 42\n");
	conn_expect_eventually(b, "DM alice the secret is 42");
	cr_assert(server_log_wait(&srv, "[DM] id=1 from=alice to=bob",
	    WAIT_MS));
	cr_assert_eq(server_log_count(&srv, "secret"), 0);
	conn_close(a);
	conn_close(b);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* Refused names and bad lines are logged, but a flood of them is not:
 * the log keeps LOG_LIMIT_BURST (20) at once and says how many it left
 * out. The server full refusal names the peer. */
Test(manners, refusals_are_logged_and_a_flood_of_them_is_not, .timeout = 30)
{
	struct server srv;
	static char bad[500 * 8];

	server_start(&srv, "--flood-rate", "0", "--max-clients", "1", NULL);
	struct conn *c = conn_open(srv.port);
	for (int i = 0; i < 500; i++)
		memcpy(bad + 8 * i, "LOGIN 1\n", 8);
	conn_send_raw(c, bad, sizeof(bad));
	for (int i = 0; i < 500; i++)
		conn_expect_err(c, "bad-name");
	cr_assert(server_log_wait(&srv, "[REJECT] id=1 peer=127.0.0.1:",
	    WAIT_MS));
	cr_assert(server_log_wait(&srv, "reason=bad-name name=\"1\"",
	    WAIT_MS));
	int logged = server_log_count(&srv, "[REJECT]");
	cr_assert(logged >= 20 && logged < 40, "%d lines logged", logged);
	struct conn *over = conn_open_raw(srv.port);
	conn_expect_err(over, "server-full");
	cr_assert(server_log_wait(&srv, "refused: server full "
	    "(max-clients=1) peer=127.0.0.1:", WAIT_MS));
	conn_close(over);
	conn_close(c);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}
