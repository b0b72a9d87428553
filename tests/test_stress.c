/*
 * test_stress.c - many threads at once against one server: senders that
 * join, talk and leave in every way while listeners check what arrives, and
 * a shutdown while the traffic flows. `make sanitize` runs it against the
 * ThreadSanitizer build of the server, where it is the race hunt.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define SENDERS     8
#define SESSIONS    12      /* per sender thread */
#define LINES       40      /* per session */
#define LISTENERS   3

static struct server srv;
static atomic_int stop_senders;

struct sender {
	int id;
	int sessions;           /* completed */
};

/* A connection without assertions: after the shutdown, connects and sends
 * fail, and a helper thread must not fail the test for that. -1 when the
 * server is gone. */
static int
try_connect(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)srv.port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One session, pipelined: log in, send LINES numbered lines, and leave by
 * QUIT, by closing, or by a reset, in turn. Returns false once the server
 * is gone. */
static bool
one_session(struct sender *s, int k)
{
	char buf[64];
	int fd = try_connect();
	bool ok = fd >= 0;

	if (!ok)
		return false;
	int n = snprintf(buf, sizeof(buf), "LOGIN s%d-%d\n", s->id, k);
	ok = send(fd, buf, (size_t)n, MSG_NOSIGNAL) == n;
	for (int i = 0; ok && i < LINES; i++) {
		n = snprintf(buf, sizeof(buf), "MSG %d %d\n", k, i);
		ok = send(fd, buf, (size_t)n, MSG_NOSIGNAL) == n;
	}
	if (ok && k % 3 == 0)
		send(fd, "QUIT\n", 5, MSG_NOSIGNAL);
	if (k % 3 == 2) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(fd);
	return ok;
}

static void *
sender_main(void *arg)
{
	struct sender *s = arg;

	for (int k = 0; k < SESSIONS && !atomic_load(&stop_senders); k++) {
		if (!one_session(s, k))
			break;
		s->sessions++;
	}
	return NULL;
}

struct listener {
	struct conn *c;
	atomic_int lines;       /* MSG lines seen */
	bool shutdown_notice;
	char error[128];        /* the first problem seen, for the main thread */
	int next[SENDERS][SESSIONS];
};

/* Reads until the server closes. Every sender session's lines must come in
 * order: a prefix of them, since a session's last lines may be refused
 * once it has been reset. Problems are recorded, not asserted: this runs
 * in its own thread. */
static void *
listener_main(void *arg)
{
	struct listener *l = arg;
	char line[256];

	while (conn_read_line(l->c, line, sizeof(line), 10000)) {
		int id, k, seq, i;
		if (sscanf(line, "MSG s%d-%d %d %d", &id, &k, &seq, &i) == 4) {
			bool fits = id >= 0 && id < SENDERS && k >= 0 &&
			    k < SESSIONS && seq == k;
			if (!fits || i != l->next[id][k]) {
				if (l->error[0] == '\0')
					snprintf(l->error, sizeof(l->error),
					    "out of order: %.80s", line);
				continue;
			}
			l->next[id][k]++;
			atomic_fetch_add(&l->lines, 1);
		} else if (strcmp(line, "INFO server shutting down") == 0) {
			l->shutdown_notice = true;
		}
	}
	return NULL;
}

Test(stress, racing_sessions_then_shutdown_under_traffic, .timeout = 120)
{
	struct sender s[SENDERS];
	struct listener l[LISTENERS];
	pthread_t ts[SENDERS], tl[LISTENERS];

	server_start(&srv, "-q", "--queue-hard", "1G", "--queue-soft", "0", "--flood-rate", "0", "--max-per-addr", "0",
	    NULL);
	memset(l, 0, sizeof(l));
	for (int i = 0; i < LISTENERS; i++) {
		char name[24];
		snprintf(name, sizeof(name), "listener%d", i);
		l[i].c = conn_login(srv.port, name);
		pthread_create(&tl[i], NULL, listener_main, &l[i]);
	}
	for (int i = 0; i < SENDERS; i++) {
		s[i] = (struct sender){ .id = i };
		pthread_create(&ts[i], NULL, sender_main, &s[i]);
	}
	/* Shut down while traffic flows: once each listener has seen some
	 * lines, but before the senders are done. */
	long long deadline = now_ms() + 60000;
	for (int i = 0; i < LISTENERS; i++)
		while (atomic_load(&l[i].lines) < SENDERS * LINES)
			cr_assert(now_ms() < deadline, "listener %d starved", i);
	long long start = now_ms();
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
	cr_assert_lt(now_ms() - start, 2500, "shutdown took too long");
	atomic_store(&stop_senders, 1);
	for (int i = 0; i < SENDERS; i++)
		pthread_join(ts[i], NULL);
	for (int i = 0; i < LISTENERS; i++) {
		pthread_join(tl[i], NULL);
		cr_assert_str_eq(l[i].error, "", "listener %d", i);
		cr_assert(l[i].shutdown_notice, "listener %d: no notice", i);
		conn_close(l[i].c);
	}
}
