/*
 * test_abuse.c - one user must never be able to hurt another: bursts
 * aimed at others' queues, floods, WHO replies nobody reads, slots held by
 * one address or by connections that never log in, text that a terminal
 * would act on, and shutdown under all of it.
 *
 * Each test here failed against the server before these defences (built
 * from commit b1622bd and run with HUBCHAT_SERVER); docs/RELIABILITY.md
 * lists what each proves.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define LISTENERS 50

/* Logs n clients in as name0, name1, ...; they are read by the caller. */
static void
login_many(struct server *srv, struct conn **c, int n, const char *name)
{
	for (int i = 0; i < n; i++) {
		char who[32];
		snprintf(who, sizeof(who), "%s%d", name, i);
		c[i] = conn_login(srv->port, who);
	}
}

/* Reads every line c has for ms, counting the MSG lines from sender;
 * false if c was closed meanwhile. */
static bool
drain_for(struct conn *c, int ms, const char *sender, int *msgs)
{
	char line[2048], prefix[64];
	long long deadline = now_ms() + ms;

	snprintf(prefix, sizeof(prefix), "MSG %s ", sender);
	while (now_ms() < deadline) {
		if (!conn_read_line(c, line, sizeof(line), 20)) {
			struct pollfd pf = { .fd = c->fd, .events = POLLIN };
			char b;
			if (poll(&pf, 1, 0) == 1 &&
			    recv(c->fd, &b, 1, MSG_PEEK) == 0)
				return false;           /* closed */
			continue;
		}
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			(*msgs)++;
		if (line_is_err(line, "slow-consumer"))
			return false;
	}
	return true;
}

/* One pipelined write of 4,000 short lines (60 KB) used to fill every
 * listener's 1,024-line queue before its writer ran, cutting off 50 of 50
 * healthy readers. Whether flood control is on (the default) or off (the
 * byte limit alone), nobody is cut off now. */
static void
burst_evicts_nobody(const char *flood_rate)
{
	struct server srv;
	struct conn *l[LISTENERS];
	static char burst[4000 * 16];
	int n = 0, got = 0;

	server_start(&srv, "--max-per-addr", "0", "--flood-rate", flood_rate,
	    "-q", NULL);
	login_many(&srv, l, LISTENERS, "l");
	struct conn *x = conn_login(srv.port, "x");
	for (int i = 0; i < 4000; i++)
		n += sprintf(burst + n, "MSG %d\n", i);
	conn_send_raw(x, burst, (size_t)n);
	for (int i = 0; i < LISTENERS; i++) {
		int msgs = 0;
		cr_assert(drain_for(l[i], i == 0 ? 1000 : 20, "x", &msgs),
		    "listener %d was cut off", i);
		got += msgs;
	}
	cr_assert_eq(server_log_count(&srv, "reason=slow-consumer"), 0);
	cr_assert_gt(got, 0);
	for (int i = 0; i < LISTENERS; i++)
		conn_close(l[i]);
	conn_close(x);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

Test(abuse, a_burst_evicts_no_healthy_reader_with_flood_control, .timeout = 60)
{
	burst_evicts_nobody("10");
}

Test(abuse, a_burst_evicts_no_healthy_reader_by_bytes_alone, .timeout = 60)
{
	burst_evicts_nobody("0");
}

/* 1,030 DMs to one victim in one write (17 KB) cut it off as a slow
 * consumer; now it gets them all (slowed, with flood control on). */
Test(abuse, a_dm_burst_does_not_cut_off_its_target, .timeout = 30)
{
	struct server srv;
	static char burst[1030 * 24];
	int n = 0;
	char line[256], want[64];

	server_start(&srv, "--flood-rate", "0", "-q", NULL);
	struct conn *victim = conn_login(srv.port, "victim");
	struct conn *x = conn_login(srv.port, "x");
	conn_expect(victim, "INFO x joined");
	for (int i = 0; i < 1030; i++)
		n += sprintf(burst + n, "DM victim %d\n", i);
	conn_send_raw(x, burst, (size_t)n);
	for (int i = 0; i < 1030; i++) {
		snprintf(want, sizeof(want), "DM x %d", i);
		cr_assert(conn_read_line(victim, line, sizeof(line), WAIT_MS),
		    "victim got %d of 1030", i);
		cr_assert_str_eq(line, want);
	}
	cr_assert_eq(server_log_count(&srv, "reason=slow-consumer"), 0);
	conn_close(victim);
	conn_close(x);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* Flood control: a paste larger than the burst is slowed to the rate and
 * arrives whole and in order; nobody is cut off for it, and the flooder's
 * own socket fills (TCP pushes back) while others are served at once. */
Test(abuse, flood_control_slows_a_paste_and_loses_nothing, .timeout = 30)
{
	struct server srv;
	char line[256], want[64];
	static char paste[100 * 16];
	int n = 0;

	server_start(&srv, "--flood-burst", "10", "--flood-rate", "50", NULL);
	struct conn *rx = conn_login(srv.port, "rx");
	struct conn *paster = conn_login(srv.port, "paster");
	struct conn *other = conn_login(srv.port, "other");
	conn_expect(rx, "INFO paster joined");
	conn_expect(rx, "INFO other joined");
	conn_expect(paster, "INFO other joined");
	for (int i = 0; i < 100; i++)
		n += sprintf(paste + n, "line %d\n", i);
	long long t0 = now_ms();
	conn_send_raw(paster, paste, (size_t)n);
	conn_send(other, "PING t\n");           /* others are not held up */
	conn_expect_eventually(other, "PONG t");
	cr_assert_lt(now_ms() - t0, 1000);
	for (int i = 0; i < 100; i++) {
		snprintf(want, sizeof(want), "MSG paster line %d", i);
		cr_assert(conn_read_line(rx, line, sizeof(line), WAIT_MS),
		    "got %d of 100", i);
		cr_assert_str_eq(line, want);
	}
	/* 10 at once, then 90 at 50 a second: at least 1.8 s. */
	cr_assert_geq(now_ms() - t0, 1700, "not slowed: %lld ms",
	    now_ms() - t0);
	conn_expect_quiet(paster);              /* still connected */
	conn_close(rx);
	conn_close(paster);
	conn_close(other);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* While a flooder is held back its reader reads nothing, so the bytes pile
 * up in the kernel and the flooder's own sends stop: only it waits. */
Test(abuse, a_flooder_is_pushed_back_by_tcp, .timeout = 30)
{
	struct server srv;
	static char chunk[64 * 1024];
	size_t sent = 0;

	server_start(&srv, "--flood-burst", "1", "--flood-rate", "1", "-q",
	    NULL);
	struct conn *f = conn_login(srv.port, "f");
	struct conn *other = conn_login(srv.port, "other");
	for (size_t i = 0; i + 4 < sizeof(chunk); i += 4)
		memcpy(chunk + i, "a b\n", 4);
	fcntl(f->fd, F_SETFL, O_NONBLOCK);
	long long deadline = now_ms() + WAIT_MS;
	for (;;) {
		ssize_t k = send(f->fd, chunk, sizeof(chunk), MSG_NOSIGNAL);
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;                  /* the window closed on us */
		cr_assert(k > 0, "send: %s", strerror(errno));
		sent += (size_t)k;
		cr_assert(sent < (256u << 20), "256 MB went in: no push-back");
		cr_assert_lt(now_ms(), deadline);
	}
	cr_log_info("push-back after %zu KB", sent >> 10);
	conn_send(other, "PING t\n");           /* others are not held up */
	conn_expect_eventually(other, "PONG t");
	cr_assert_eq(server_log_count(&srv, "reason=slow-consumer"), 0);
	conn_close(f);
	conn_close(other);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

#define WHO_ROOM 300
#define WHO_ASKERS 20
#define WHO_EACH 3000

/* Each USERS reply was a private copy (33 bytes a user), and a client that
 * asked and never read kept up to 1,024 of them: 20 such clients in a room
 * of 600 took the server from 18 MB to 340 MB. Now the line is shared, the
 * byte limit counts it, and (here, with flood control off to make the
 * attack as strong as it can be) the askers are cut off instead. */
Test(abuse, who_replies_nobody_reads_do_not_pin_memory, .timeout = 120)
{
	struct server srv;
	static struct conn *room[WHO_ROOM], *ask[WHO_ASKERS];
	static char whos[WHO_EACH * 4];

	if (getenv("HUBCHAT_SANITIZED") != NULL)
		cr_skip_test("a sanitizer build holds freed memory on purpose");
	server_start(&srv, "--max-per-addr", "0", "--flood-rate", "0",
	    "--notices-max", "0", "-q", NULL);
	login_many(&srv, room, WHO_ROOM, "member");
	login_many(&srv, ask, WHO_ASKERS, "asker");
	long before = server_rss_kib(srv.pid);
	for (int i = 0; i < WHO_EACH; i++)
		memcpy(whos + 4 * i, "WHO\n", 4);
	for (int i = 0; i < WHO_ASKERS; i++)
		send(ask[i]->fd, whos, sizeof(whos), MSG_NOSIGNAL);
	/* Every asker is either cut off or has had all its WHOs run. */
	cr_assert(server_log_wait_count(&srv, "reason=slow-consumer",
	    WHO_ASKERS, 60000), "only %d askers cut off",
	    server_log_count(&srv, "reason=slow-consumer"));
	long after = server_rss_kib(srv.pid);
	cr_log_info("RSS %ld KiB before, %ld KiB after %d x %d WHOs unread",
	    before, after, WHO_ASKERS, WHO_EACH);
	cr_assert_lt(after - before, 64 * 1024, "RSS grew by %ld KiB",
	    after - before);
	for (int i = 0; i < WHO_ROOM; i++)
		conn_close(room[i]);
	for (int i = 0; i < WHO_ASKERS; i++)
		conn_close(ask[i]);
	cr_assert_eq(server_stop(&srv, SIGTERM, 5000), 0);
}

#define STUFFED 300

/* A reader used to run every line it had buffered before it looked at the
 * stop signal: SIGTERM with 1,000 clients each holding ~1,000 WHO lines
 * took 9 to 16 s. It looks between lines now: the 2 s promise holds. */
Test(abuse, shutdown_is_bounded_with_every_reader_stuffed, .timeout = 60)
{
	struct server srv;
	static struct conn *c[STUFFED];
	static char whos[1000 * 4];

	server_start(&srv, "--max-per-addr", "0", "--flood-rate", "0",
	    "--notices-max", "0", "--queue-hard", "1G", "--queue-soft", "0",
	    "-q", NULL);
	login_many(&srv, c, STUFFED, "stuffed");
	for (int i = 0; i < 1000; i++)
		memcpy(whos + 4 * i, "WHO\n", 4);
	for (int i = 0; i < STUFFED; i++)
		send(c[i]->fd, whos, sizeof(whos), MSG_NOSIGNAL);
	long long t0 = now_ms();
	cr_assert_eq(server_stop(&srv, SIGTERM, 10000), 0);
	cr_log_info("shutdown with %d stuffed readers: %lld ms", STUFFED,
	    now_ms() - t0);
	cr_assert_lt(now_ms() - t0, 2000, "shutdown took %lld ms",
	    now_ms() - t0);
	for (int i = 0; i < STUFFED; i++)
		conn_close(c[i]);
}

/* C1 controls are escapes on a terminal that honours 8-bit codes (U+009B
 * is CSI), and bidi overrides reorder what a reader sees: both are refused
 * like C0 controls, never forwarded. Implicit direction marks pass. */
Test(abuse, c1_controls_and_bidi_overrides_are_refused, .timeout = 30)
{
	struct server srv;
	const char *bad[] = {
		"MSG \xc2\x9b" "31mred",        /* U+009B CSI */
		"MSG \xc2\x9d" "0;title\xc2\x9c", /* U+009D OSC */
		"MSG line\xc2\x85" "break",     /* U+0085 NEL */
		"MSG \xe2\x80\xae" "txt.exe",   /* U+202E RLO */
		"MSG \xe2\x81\xa6" "isolated",  /* U+2066 LRI */
		"DM bob \xc2\x9b" "2J",
	};

	server_start(&srv, NULL);
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");
	conn_expect(a, "INFO bob joined");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		conn_send(a, "%s\n", bad[i]);
		conn_expect_err(a, "bad-text");
	}
	conn_send(a, "MSG \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xe2\x80\x8f ok\n");
	conn_expect(b, "MSG alice \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d "
	    "\xe2\x80\x8f ok");                 /* Hebrew and an RLM */
	cr_assert(server_log_wait(&srv, "[REJECT]", WAIT_MS));
	conn_close(a);
	conn_close(b);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* Connects from a chosen loopback address (all of 127/8 is loopback). */
static struct conn *
conn_from(int port, const char *addr)
{
	struct sockaddr_in me = { .sin_family = AF_INET };
	struct sockaddr_in to = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port) };
	struct conn *c = calloc(1, sizeof(*c));

	cr_assert_not_null(c);
	inet_pton(AF_INET, addr, &me.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(bind(c->fd, (struct sockaddr *)&me, sizeof(me)) == 0);
	cr_assert(connect(c->fd, (struct sockaddr *)&to, sizeof(to)) == 0);
	return c;
}

/* One address could take every slot with connections that never log in.
 * Now it gets at most --max-per-addr; another address is still served,
 * and a slot comes back when one of its connections ends. */
Test(abuse, one_address_cannot_take_every_slot, .timeout = 30)
{
	struct server srv;
	struct conn *c[3];
	char line[256];

	server_start(&srv, "--max-per-addr", "3", NULL);
	for (int i = 0; i < 3; i++) {
		c[i] = conn_from(srv.port, "127.0.0.1");
		cr_assert(conn_read_line(c[i], line, sizeof(line), WAIT_MS));
		cr_assert(strncmp(line, "INFO welcome", 12) == 0, "%s", line);
	}
	struct conn *fourth = conn_from(srv.port, "127.0.0.1");
	conn_expect_err(fourth, "too-many-connections");
	cr_assert(conn_wait_closed(fourth, WAIT_MS));
	cr_assert(server_log_wait(&srv, "refused: 3 connections from "
	    "127.0.0.1 already (max-per-addr=3)", WAIT_MS));
	struct conn *neighbour = conn_from(srv.port, "127.0.0.2");
	cr_assert(conn_read_line(neighbour, line, sizeof(line), WAIT_MS));
	cr_assert(strncmp(line, "INFO welcome", 12) == 0, "%s", line);
	conn_send(c[0], "QUIT\n");
	conn_expect(c[0], "INFO bye");
	cr_assert(conn_wait_closed(c[0], WAIT_MS));
	struct conn *again = conn_from(srv.port, "127.0.0.1");
	cr_assert(conn_read_line(again, line, sizeof(line), WAIT_MS));
	cr_assert(strncmp(line, "INFO welcome", 12) == 0, "%s", line);
	conn_close(fourth);
	conn_close(neighbour);
	conn_close(again);
	for (int i = 0; i < 3; i++)
		conn_close(c[i]);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* A connection that never logs in (here: a byte now and then, never a
 * line) is closed at the login deadline, well before the idle timeout;
 * one that logged in is not. */
Test(abuse, a_connection_that_never_logs_in_is_closed, .timeout = 30)
{
	struct server srv;

	server_start(&srv, "--login-timeout", "1", NULL);
	long long t0 = now_ms();                /* before its clock starts */
	struct conn *lurker = conn_open(srv.port);
	struct conn *member = conn_login(srv.port, "member");
	char line[256];

	send(lurker->fd, "L", 1, MSG_NOSIGNAL);
	cr_assert(conn_read_line(lurker, line, sizeof(line), WAIT_MS));
	cr_assert_str_eq(line, "INFO disconnected: no login in time");
	cr_assert(conn_wait_closed(lurker, WAIT_MS));
	cr_assert_geq(now_ms() - t0, 900);
	cr_assert(server_log_wait(&srv, "reason=login-timeout", WAIT_MS));
	conn_expect_quiet(member);
	conn_close(lurker);
	conn_close(member);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* A slot is given back when the session ends, and a full server waits a
 * moment for one before refusing: a client that quits, or just closes, and
 * at once reconnects is never refused for its own old session (it was,
 * now and then, before). */
Test(abuse, a_reconnect_right_after_leaving_is_never_refused, .timeout = 60)
{
	struct server srv;
	char line[256];

	server_start(&srv, "--max-clients", "3", NULL);
	struct conn *a = conn_login(srv.port, "a");
	struct conn *b = conn_login(srv.port, "b");
	for (int round = 0; round < 200; round++) {
		struct conn *c = conn_open_raw(srv.port);
		cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS));
		cr_assert(strncmp(line, "INFO welcome", 12) == 0,
		    "round %d: %s", round, line);
		if (round % 2 == 0)
			conn_send(c, "QUIT\n");
		conn_close(c);          /* and at once the next one */
	}
	conn_close(a);
	conn_close(b);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* Smaller: two spaces after DM leave no user (a usage error, not a search
 * for ""), and names that read as protocol words are refused. */
Test(abuse, dm_without_a_user_and_protocol_words_as_names, .timeout = 30)
{
	struct server srv;
	const char *words[] = { "ok", "INFO", "err", "pong", "users", "help",
		"join", "rooms", "history", "hist" };

	server_start(&srv, NULL);
	struct conn *a = conn_login(srv.port, "alice");
	conn_send(a, "DM  bob hi\n");
	conn_expect_err(a, "usage DM <user> <text>");
	struct conn *n = conn_open(srv.port);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		conn_send(n, "LOGIN %s\n", words[i]);
		conn_expect_err(n, "bad-name");
	}
	conn_close(a);
	conn_close(n);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* A client that has stopped reading is cut off once its queue has been
 * above the soft limit for --queue-soft-sec, long before the hard limit,
 * and the log says what was pending and which limit did it. */
Test(abuse, a_stopped_reader_is_cut_off_by_the_soft_limit, .timeout = 30)
{
	struct server srv;
	static char text[1001];

	server_start(&srv, "--queue-hard", "100M", "--queue-soft", "64K",
	    "--queue-soft-sec", "1", "--sndbuf", "4096", "--flood-rate", "0",
	    "-q", NULL);
	struct conn *deaf = conn_login(srv.port, "deaf");
	struct conn *tx = conn_login(srv.port, "tx");
	int size = 4096;
	setsockopt(deaf->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	memset(text, 'x', 1000);
	long long t0 = now_ms();
	while (server_log_count(&srv, "user=deaf reason=slow-consumer") == 0) {
		cr_assert_lt(now_ms() - t0, 10000, "deaf never cut off");
		for (int i = 0; i < 20; i++)
			conn_send(tx, "MSG %s\n", text);
		poll(NULL, 0, 20);      /* pace: a chatty room, not a flood */
	}
	cr_assert_geq(now_ms() - t0, 900, "cut off before the soft grace");
	cr_assert(server_log_wait(&srv, "limit=soft:65536 for 1 s", WAIT_MS));
	cr_assert(server_log_wait(&srv, "pending=", WAIT_MS));
	conn_close(deaf);
	conn_close(tx);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* A reader that falls behind for a moment, above the soft limit but for
 * less than its grace, survives and gets every line. */
Test(abuse, a_reader_briefly_behind_survives, .timeout = 30)
{
	struct server srv;
	static char text[1001];
	char line[2048];

	server_start(&srv, "--queue-hard", "100M", "--queue-soft", "16K",
	    "--queue-soft-sec", "5", "--sndbuf", "4096", "--flood-rate", "0",
	    "-q", NULL);
	struct conn *slow = conn_login(srv.port, "slow");
	struct conn *tx = conn_login(srv.port, "tx");
	int size = 4096;
	setsockopt(slow->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	conn_expect(slow, "INFO tx joined");
	memset(text, 'y', 1000);
	for (int i = 0; i < 100; i++)           /* 100 KB while it dozes */
		conn_send(tx, "MSG %d %s\n", i, text);
	poll(NULL, 0, 1000);                    /* the doze: 1 s of 5 */
	for (int i = 0; i < 100; i++) {
		int seq;
		cr_assert(conn_read_line(slow, line, sizeof(line), WAIT_MS),
		    "got %d of 100", i);
		cr_assert_eq(sscanf(line, "MSG tx %d", &seq), 1, "%.60s", line);
		cr_assert_eq(seq, i);
	}
	cr_assert_eq(server_log_count(&srv, "reason=slow-consumer"), 0);
	conn_close(slow);
	conn_close(tx);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}
