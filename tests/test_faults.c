/*
 * test_faults.c - faults and abuse, bounded in count and time: short
 * writes, resets in the middle of a write, slow-loris connections by the
 * hundred, a flood that must not starve anyone, and shutdown under load.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* A line of len bytes whose content says which line it is: "MSG <i> "
 * followed by the letter 'a' + i % 26, repeated. */
static int
make_line(char *buf, int i, int len)
{
	int n = sprintf(buf, "MSG %d ", i);
	memset(buf + n, 'a' + i % 26, (size_t)(len - n));
	buf[len] = '\n';
	return len + 1;
}

Test(faults, short_writes_still_deliver_every_byte_in_order, .timeout = 60)
{
	struct server srv;
	/* A 4 KiB send buffer: each 64-line writev goes out in pieces. */
	server_start(&srv, "--sndbuf", "4096", "--queue-hard", "1G", "--queue-soft", "0", "--flood-rate", "0",
	    "-q", NULL);
	struct conn *rx = conn_login(srv.port, "rx");
	struct conn *tx = conn_login(srv.port, "tx");
	char line[1100], got[1200], want[1200];

	conn_expect(rx, "INFO tx joined");
	for (int i = 0; i < 3000; i++) {
		int n = make_line(line, i, 900);
		conn_send_raw(tx, line, (size_t)n);
	}
	for (int i = 0; i < 3000; i++) {
		cr_assert(conn_read_line(rx, got, sizeof(got), WAIT_MS),
		    "line %d missing", i);
		make_line(want, i, 900);
		want[900] = '\0';
		/* The receiver sees "MSG tx <text>" for "MSG <text>". */
		cr_assert_str_eq(got + 7, want + 4, "line %d damaged", i);
	}
	conn_close(rx);
	conn_close(tx);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

Test(faults, reset_in_the_middle_of_a_write_harms_nobody, .timeout = 60)
{
	struct server srv;
	server_start(&srv, "--queue-hard", "1G", "--queue-soft", "0", "--flood-rate", "0", "-q", NULL);
	struct conn *victim = conn_login(srv.port, "victim");
	struct conn *tx = conn_login(srv.port, "tx");
	struct conn *other = conn_login(srv.port, "other");
	char line[1100], got[1200];

	conn_expect(victim, "INFO tx joined");
	/* 5 MB towards the victim, which reads a little and then resets. */
	for (int i = 0; i < 5000; i++)
		conn_send_raw(tx, line, (size_t)make_line(line, i, 1000));
	cr_assert(conn_read_line(victim, got, sizeof(got), WAIT_MS));
	conn_reset(victim);
	conn_expect_eventually(tx, "INFO victim disconnected");
	cr_assert(server_log_wait(&srv, "user=victim reason=", WAIT_MS));
	/* The server is alive (no SIGPIPE) and still serves everyone. */
	conn_send(tx, "DM other still here\n");
	conn_expect_eventually(other, "DM tx still here");
	conn_expect_quiet(tx);
	conn_close(tx);
	conn_close(other);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

#define LORIS 300

/* True when the server has closed fd: whatever it sent is read, and then
 * the end. Does not block. */
static bool
closed_now(int fd)
{
	char sink[512];
	ssize_t n;

	while ((n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0)
		;
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* Hundreds of connections that send a byte now and then but never end a
 * line: the idle timeout must close them all, while a normal client's
 * round trips stay fast. */
Test(faults, slow_loris_connections_are_closed_and_others_see_no_delay,
    .timeout = 60)
{
	struct server srv;
	server_start(&srv, "--idle-timeout", "2", "--max-per-addr", "0", "-q", NULL);
	struct conn *loris[LORIS];
	long long start = now_ms(), worst = 0;
	int open = LORIS;

	for (int i = 0; i < LORIS; i++)
		loris[i] = conn_open(srv.port);
	/* Logged in last: opening the others may take a while on a slow
	 * build, and this one must not reach its own idle timeout. */
	struct conn *normal = conn_login(srv.port, "normal");
	while (open > 0) {
		cr_assert_lt(now_ms() - start, 8000, "%d loris still open", open);
		/* one byte from each, then one round trip for the normal one */
		for (int i = 0; i < LORIS; i++)
			if (loris[i] != NULL)
				send(loris[i]->fd, "x", 1, MSG_NOSIGNAL);
		long long t0 = now_ms();
		conn_send(normal, "PING rtt\n");
		conn_expect(normal, "PONG rtt");
		long long rtt = now_ms() - t0;
		worst = rtt > worst ? rtt : worst;
		for (int i = 0; i < LORIS; i++) {
			if (loris[i] == NULL)
				continue;
			if (closed_now(loris[i]->fd)) {
				conn_close(loris[i]);
				loris[i] = NULL;
				open--;
			}
		}
		poll(NULL, 0, 300);     /* the loris pace: a byte every 300 ms */
	}
	cr_log_info("slow loris: %d closed in %lld ms; worst normal round "
	    "trip %lld ms", LORIS, now_ms() - start, worst);
	cr_assert_geq(now_ms() - start, 1800, "closed before the timeout");
	cr_assert_lt(worst, 250, "a normal round trip took %lld ms", worst);
	cr_assert(server_log_wait_count(&srv, "reason=idle-timeout", LORIS,
	    WAIT_MS));
	conn_close(normal);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* ---- A flood must not starve the others -------------------------------- */

#define FLOOD_LINES 100000

struct drainer {
	struct conn *c;
	atomic_long worst_ms;   /* the longest a DM took to arrive */
	atomic_int dms;
	atomic_int msgs;
};

static void *
drain_main(void *arg)
{
	struct drainer *d = arg;
	char line[256];

	while (conn_read_line(d->c, line, sizeof(line), 10000)) {
		long long sent;
		if (sscanf(line, "DM a %lld", &sent) == 1) {
			long long took = now_ms() - sent;
			if (took > atomic_load(&d->worst_ms))
				atomic_store(&d->worst_ms, took);
			atomic_fetch_add(&d->dms, 1);
		} else if (strncmp(line, "MSG flooder ", 12) == 0 &&
		    atomic_fetch_add(&d->msgs, 1) + 1 == FLOOD_LINES) {
			break;
		}
	}
	return NULL;
}

static void *
flood_main(void *arg)
{
	struct conn *c = arg;
	static char burst[100 * 64];
	int n = 0;

	for (int i = 0; i < FLOOD_LINES; i++) {
		n += sprintf(burst + n, "MSG flood %06d %060d\n", i, 0);
		if (n > (int)sizeof(burst) - 100 || i == FLOOD_LINES - 1) {
			if (send(c->fd, burst, (size_t)n, MSG_NOSIGNAL) != n)
				break;
			n = 0;
		}
	}
	return NULL;
}

Test(faults, a_flood_does_not_starve_other_clients, .timeout = 60)
{
	struct server srv;
	/* a does not read, and must not be cut off while the flood passes */
	server_start(&srv, "--queue-hard", "1G", "--queue-soft", "0", "--flood-rate", "0", "-q", NULL);
	struct conn *flooder = conn_login(srv.port, "flooder");
	struct conn *a = conn_login(srv.port, "a");
	struct drainer b = { .c = conn_login(srv.port, "b") };
	pthread_t tf, tb;

	conn_expect(a, "INFO b joined");
	pthread_create(&tb, NULL, drain_main, &b);
	pthread_create(&tf, NULL, flood_main, flooder);
	/* While the flood runs, a sends b a stamped DM every 10 ms. */
	int sent = 0;
	while (atomic_load(&b.msgs) < FLOOD_LINES) {
		conn_send(a, "DM b %lld\n", now_ms());
		sent++;
		poll(NULL, 0, 10);
		cr_assert_lt(sent, 5000, "the flood never finished");
	}
	pthread_join(tf, NULL);
	pthread_join(tb, NULL);
	long worst = atomic_load(&b.worst_ms);
	cr_log_info("flood: %d DMs during %d flood lines, worst wait %ld ms",
	    atomic_load(&b.dms), FLOOD_LINES, worst);
	cr_assert_geq(atomic_load(&b.dms), 1, "no DM arrived during the flood");
	/* A DM waits behind what is already queued for b; b reads as fast as
	 * it can, so that is never more than a moment: 500 ms, or 5 s for a
	 * sanitizer build, which runs 5 to 15 times slower. The DMs counted
	 * all arrived before the flood's last line: the flood starved none. */
	long bound = getenv("HUBCHAT_SANITIZED") ? 5000 : 500;
	cr_assert_lt(worst, bound, "a DM waited %ld ms behind the flood", worst);
	conn_close(flooder);
	conn_close(a);
	conn_close(b.c);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* ---- Shutdown under full load ------------------------------------------ */

#define LOADED 200

struct load {
	struct conn *c[LOADED];
	atomic_int stop;
};

/* Every client talks in turn, and every client's input is drained, until
 * the server is gone. No assertions here: this is a helper thread. */
static void *
load_main(void *arg)
{
	struct load *l = arg;
	char sink[65536];

	for (int round = 0; !atomic_load(&l->stop); round++) {
		for (int i = 0; i < LOADED; i++) {
			char line[64];
			int n = snprintf(line, sizeof(line), "MSG %d %d\n", i,
			    round);
			send(l->c[i]->fd, line, (size_t)n, MSG_NOSIGNAL |
			    MSG_DONTWAIT);
			while (recv(l->c[i]->fd, sink, sizeof(sink),
			    MSG_DONTWAIT) > 0)
				;
		}
	}
	return NULL;
}

Test(faults, sigterm_with_200_clients_talking_exits_cleanly_in_time,
    .timeout = 60)
{
	struct server srv;
	server_start(&srv, "--max-per-addr", "0", "--flood-rate", "0", "-q", NULL);
	static struct load l;
	pthread_t t;

	for (int i = 0; i < LOADED; i++) {
		char name[16];
		snprintf(name, sizeof(name), "load%d", i);
		l.c[i] = conn_login(srv.port, name);
	}
	pthread_create(&t, NULL, load_main, &l);
	cr_assert(server_log_wait_count(&srv, "[LOGIN]", LOADED, WAIT_MS));
	long long start = now_ms();
	cr_assert_eq(server_stop(&srv, SIGTERM, 2000), 0,
	    "not a clean exit within 2 s");
	cr_log_info("shutdown with %d clients talking: %lld ms", LOADED,
	    now_ms() - start);
	atomic_store(&l.stop, 1);
	pthread_join(t, NULL);
	for (int i = 0; i < LOADED; i++)
		conn_close(l.c[i]);
}
