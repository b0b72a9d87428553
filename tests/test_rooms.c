/*
 * test_rooms.c - rooms and history over real sockets: every verb and
 * error, notices scoped to rooms, WHO and ROOMS, history on login, JOIN
 * and HISTORY, and the join guarantee under load: history up to some
 * message, then every later one, none missing, none twice.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct server srv;       /* the "rooms" suite's, one per test */

static void
start(void)
{
	server_start(&srv, "--flood-rate", "0", NULL);
}

static void
stop(void)
{
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

TestSuite(rooms, .init = start, .fini = stop, .timeout = 30);

/* Reads a HIST line and checks its shape and what it says. */
static void
expect_hist(struct conn *c, const char *from, const char *text)
{
	char line[2048], want[1100];

	cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS),
	    "no HIST line");
	cr_assert(strncmp(line, "HIST ", 5) == 0, "%s", line);
	cr_assert_eq(strlen(line) > 26 && line[9] == '-' && line[15] == 'T' &&
	    line[24] == 'Z' && line[25] == ' ', 1, "time: %s", line);
	snprintf(want, sizeof(want), "%s %s", from, text);
	cr_assert_str_eq(line + 26, want);
}

Test(rooms, join_moves_between_rooms_and_notices_stay_in_them)
{
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");
	struct conn *c = conn_login(srv.port, "carol");

	conn_sync(a), conn_sync(b);
	conn_send(b, "JOIN #Rust\n");
	conn_expect(b, "OK");
	conn_expect(a, "INFO bob left");
	conn_expect(c, "INFO bob left");
	conn_send(c, "JOIN #rust\n");           /* the same room, any case */
	conn_expect(c, "OK");
	conn_expect(b, "INFO carol joined");
	conn_expect(a, "INFO carol left");
	conn_send(b, "MSG in rust\n");
	conn_expect(c, "MSG bob in rust");
	conn_send(a, "MSG in the lobby\n");
	conn_send(a, "DM carol across rooms\n");
	conn_expect(c, "DM alice across rooms");   /* not the lobby's MSG */
	conn_expect_quiet(b);
	conn_send(c, "QUIT\n");
	conn_expect(b, "INFO carol disconnected");
	conn_expect_quiet(a);                   /* the lobby hears nothing */
	conn_close(a), conn_close(b), conn_close(c);
}

Test(rooms, room_names_and_usage_are_checked)
{
	struct conn *anon = conn_open(srv.port);
	struct conn *a = conn_login(srv.port, "alice");
	const char *bad[] = { "JOIN rust", "JOIN #", "JOIN #a b", "JOIN ##x",
		"JOIN #abcdefghijklmnopqrstuvwxyzABCDEFG", "JOIN #caf\xc3\xa9",
		"WHO #no!" };

	conn_send(anon, "JOIN #x\n");
	conn_expect_err(anon, "not-logged-in");
	conn_send(anon, "ROOMS\n");
	conn_expect_err(anon, "not-logged-in");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		conn_send(a, "%s\n", bad[i]);
		conn_expect_err(a, "bad-room");
	}
	conn_send(a, "JOIN\n");
	conn_expect_err(a, "usage JOIN <#room>");
	conn_send(a, "JOIN #abcdefghijklmnopqrstuvwxyzABCDEF\n");    /* 32 */
	conn_expect(a, "OK");
	conn_send(a, "HISTORY 0\n");
	conn_expect_err(a, "usage");
	conn_send(a, "HISTORY 51\n");
	conn_expect_err(a, "usage");
	conn_send(a, "HISTORY x\n");
	conn_expect_err(a, "usage");
	conn_close(anon), conn_close(a);
}

Test(rooms, who_and_rooms_list_what_they_should)
{
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");
	struct conn *c = conn_login(srv.port, "carol");

	conn_send(b, "JOIN #Zeta\n");
	conn_expect_eventually(b, "OK");
	conn_send(c, "JOIN #alpha\n");
	conn_expect_eventually(c, "OK");
	conn_sync(a);
	conn_send(a, "WHO\n");
	conn_expect(a, "USERS alice");
	conn_send(a, "WHO #zeta\n");
	conn_expect(a, "USERS bob");
	conn_send(a, "WHO #empty\n");
	conn_expect(a, "USERS");
	conn_send(a, "WHO is here\n");          /* as ever: ignored */
	conn_expect(a, "USERS alice");
	conn_send(a, "ROOMS\n");
	conn_expect(a, "ROOMS #alpha 1 #lobby 1 #Zeta 1");
	conn_send(b, "JOIN #lobby\n");
	conn_expect_eventually(b, "OK");
	conn_expect_eventually(a, "INFO bob joined");
	conn_send(a, "ROOMS\n");
	conn_expect(a, "ROOMS #alpha 1 #lobby 2");      /* #Zeta is gone */
	conn_send(c, "QUIT\n");
	conn_expect(c, "INFO bye");
	cr_assert(conn_wait_closed(c, WAIT_MS));
	cr_assert(server_log_wait(&srv, "user=carol reason=quit", WAIT_MS));
	conn_send(a, "ROOMS\n");
	conn_expect(a, "ROOMS #lobby 2");       /* #lobby always, #alpha gone */
	conn_close(a), conn_close(b), conn_close(c);
}

/* History: MSG lines only, never DMs or notices; after the OK of a LOGIN
 * or a JOIN, oldest first; HISTORY n again; JOIN of one's own room gives
 * OK and the history again. */
Test(rooms, history_comes_after_the_ok_and_holds_messages_only)
{
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");

	conn_send(a, "MSG one\nMSG two\nDM bob private\n");
	conn_expect_eventually(b, "DM alice private");
	struct conn *c = conn_open(srv.port);
	conn_send(c, "LOGIN carol\n");
	conn_expect(c, "OK");
	expect_hist(c, "alice", "one");
	expect_hist(c, "alice", "two");
	conn_expect_quiet(c);                   /* no DM, no notices */
	conn_send(c, "HISTORY 1\n");
	expect_hist(c, "alice", "two");
	conn_expect(c, "OK");
	conn_send(c, "JOIN #lobby\n");
	conn_expect(c, "OK");
	expect_hist(c, "alice", "one");
	expect_hist(c, "alice", "two");
	conn_send(c, "JOIN #quiet\n");
	conn_expect(c, "OK");
	conn_send(c, "HISTORY\n");
	conn_expect(c, "OK");                   /* a new room has none */
	conn_close(a), conn_close(b), conn_close(c);
}

/* ---- The join guarantee under load ---------------------------------- */

#define FLOOD_MSGS 20000
#define JOINERS 3

struct joiner {
	int port;
	char name[16];
	int joins;              /* completed and checked */
	char error[256];        /* the first broken guarantee, if any */
};

/* Joins #busy, reads OK, the HIST lines and then live MSG lines from the
 * flooder, checking that the numbers run on without a gap or a repeat
 * across the seam; then goes back to the lobby and does it again. Records,
 * asserts nothing (a helper thread). */
static void *
joiner_main(void *arg)
{
	struct joiner *j = arg;
	struct conn *c = conn_login(j->port, j->name);
	char line[2048];

	for (int round = 0; round < 30 && j->error[0] == '\0'; round++) {
		int last = -1, live = 0;
		if (!conn_try_send(c, "JOIN #busy\n"))
			break;
		while (conn_read_line(c, line, sizeof(line), WAIT_MS) &&
		    strcmp(line, "OK") != 0)
			;                       /* lobby lines before the OK */
		while (live < 200 && conn_read_line(c, line, sizeof(line),
		    WAIT_MS)) {
			int seq = -1;
			if (sscanf(line, "HIST %*s flooder %d", &seq) != 1 &&
			    sscanf(line, "MSG flooder %d", &seq) != 1)
				continue;       /* notices */
			live += line[0] == 'M';
			if (last >= 0 && seq != last + 1) {
				snprintf(j->error, sizeof(j->error), "join %d: "
				    "%d after %d (%s)", round, seq, last,
				    line[0] == 'M' ? "live" : "history");
				break;
			}
			last = seq;
			if (seq == FLOOD_MSGS - 1)
				break;
		}
		if (last == FLOOD_MSGS - 1)
			break;                  /* the flood is over */
		j->joins++;
		if (!conn_try_send(c, "JOIN #lobby\n"))
			break;
	}
	conn_close(c);
	return NULL;
}

Test(rooms, a_joiner_sees_history_then_every_later_message_once,
    .timeout = 120)
{
	struct joiner j[JOINERS];
	pthread_t t[JOINERS];
	static char burst[64 * 16];

	struct conn *f = conn_login(srv.port, "flooder");
	conn_send(f, "JOIN #busy\n");
	conn_expect(f, "OK");
	for (int i = 0; i < JOINERS; i++) {
		j[i] = (struct joiner){ .port = srv.port };
		snprintf(j[i].name, sizeof(j[i].name), "joiner%d", i % 1000);
		cr_assert_eq(pthread_create(&t[i], NULL, joiner_main, &j[i]), 0);
	}
	for (int i = 0; i < FLOOD_MSGS;) {      /* bursts: many per hub call */
		int n = 0;
		for (int k = 0; k < 64 && i < FLOOD_MSGS; k++, i++)
			n += sprintf(burst + n, "MSG %d\n", i);
		conn_send_raw(f, burst, (size_t)n);
	}
	int joins = 0;
	for (int i = 0; i < JOINERS; i++) {
		pthread_join(t[i], NULL);
		cr_assert_str_empty(j[i].error, "%s: %s", j[i].name,
		    j[i].error);
		joins += j[i].joins;
	}
	cr_log_info("join guarantee: %d joins during %d messages", joins,
	    FLOOD_MSGS);
	cr_assert_gt(joins, JOINERS);
	conn_close(f);
}

/* HISTORY costs flood budget by the bytes it replays, as WHO does, not a
 * line per message: a client (or a script) asking twice for fifty short
 * messages is not held back for seconds. */
Test(history_cost, asking_for_history_twice_is_not_throttled, .timeout = 30)
{
	struct server own;
	server_start(&own, "--flood-burst", "64", NULL);   /* rate: 10/s */
	struct conn *filler = conn_login(own.port, "filler");
	struct conn *asker = conn_login(own.port, "asker");

	for (int k = 0; k < 50; k++)
		conn_send(filler, "MSG short line %d\n", k);
	conn_sync(filler);
	long long t0 = now_ms();
	conn_send(asker, "HISTORY\nHISTORY\nPING done\n");
	conn_expect_eventually(asker, "PONG done");
	long long took = now_ms() - t0;
	/* Charged a line a message, the second HISTORY alone would wait
	 * (2 x 51 - 64) / 10 = 3.8 s for budget. */
	cr_assert(took < 1500, "PONG after %lld ms: throttled", took);
	conn_close(filler);
	conn_close(asker);
	cr_assert_eq(server_stop(&own, SIGTERM, 3000), 0);
}
