/*
 * test_policies.c - the server's limits and policies on real sockets: slow
 * consumers, idle timeout, max clients, shutdown, flags and addresses.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* ---- Slow consumers ---------------------------------------------------- */

#define FLOOD 20000             /* lines of ~1000 bytes: 20 MB, far past any
                                   socket buffer */
#define WINDOW 32               /* lines alice may be ahead of bob: well
                                   inside bob's queue of 64 */

/* bob's reader thread. It asserts nothing: it records, and the test
 * thread checks after joining it. lock and more let the sender wait for
 * bob's progress instead of spinning. */
struct reader {
	struct conn *c;
	pthread_mutex_t lock;   /* protects msgs and done */
	pthread_cond_t more;    /* msgs grew, or done became true */
	int msgs;               /* MSG lines, checked to be 0, 1, 2, ... */
	bool done;              /* the thread has stopped reading */
	bool gap;               /* a MSG arrived out of order */
	int notices;            /* "INFO slow disconnected" */
};

static void
reader_progress(struct reader *r, bool done)
{
	pthread_mutex_lock(&r->lock);
	r->msgs += !done;
	r->done = done;
	pthread_cond_broadcast(&r->more);
	pthread_mutex_unlock(&r->lock);
}

static void *
read_flood(void *arg)
{
	struct reader *r = arg;
	char line[2048];
	int next = 0;

	while (next < FLOOD && conn_read_line(r->c, line, sizeof(line), 10000)) {
		int seq;
		if (sscanf(line, "MSG alice %d", &seq) == 1) {
			if (seq != next) {
				r->gap = true;
				break;
			}
			next++;
			reader_progress(r, false);
		} else if (strcmp(line, "INFO slow disconnected") == 0) {
			r->notices++;
		}
	}
	reader_progress(r, true);
	return NULL;
}

/* Waits until bob has read more than i - WINDOW lines (or stopped); false
 * when WAIT_MS pass first. */
static bool
reader_wait(struct reader *r, int i)
{
	struct timespec until;
	bool ok = true;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&r->lock);
	while (ok && !r->done && i - r->msgs >= WINDOW)
		ok = pthread_cond_timedwait(&r->more, &r->lock, &until) == 0;
	pthread_mutex_unlock(&r->lock);
	return ok;
}

/*
 * alice floods, keeping at most WINDOW lines ahead of what bob has read, so
 * bob is a healthy reader; slow never reads. slow alone must be cut off,
 * bob must get every line in order, and what slow got must be a gap-free
 * prefix ended at most by the error line.
 */
Test(policy, slow_consumer_is_cut_off_and_others_get_everything,
    .timeout = 60)
{
	struct server srv;
	server_start(&srv, "--queue-hard", "64K", "--queue-soft", "0", "--flood-rate", "0",
	    "-q", NULL);
	struct conn *alice = conn_login(srv.port, "alice");
	struct reader bob = { .c = conn_login(srv.port, "bob"),
		.lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER };
	struct conn *slow = conn_login(srv.port, "slow");    /* never reads */
	static char text[1001];
	pthread_t t;

	memset(text, 'x', 990);
	pthread_create(&t, NULL, read_flood, &bob);
	for (int i = 0; i < FLOOD; i++) {
		cr_assert(reader_wait(&bob, i), "bob stalled at %d", i);
		conn_send(alice, "MSG %d %.990s\n", i, text);
	}
	pthread_join(t, NULL);
	cr_assert(!bob.gap, "gap or reorder for a reader");
	cr_assert_eq(bob.msgs, FLOOD);
	cr_assert(server_log_wait(&srv, "user=slow reason=slow-consumer",
	    WAIT_MS));
	cr_assert_eq(server_log_count(&srv, "reason=slow-consumer"), 1);
	cr_assert_eq(bob.notices, 1);

	char line[2048];
	int seq, next = 0;
	bool err = false;
	while (conn_read_line(slow, line, sizeof(line), WAIT_MS)) {
		cr_assert(!err, "a line after ERR slow-consumer: %.40s", line);
		if (sscanf(line, "MSG alice %d", &seq) == 1)
			cr_assert_eq(seq, next++, "gap in slow's stream");
		else
			cr_assert(line_is_err(line, "slow-consumer"), "%s",
			    line);
		err = err || line_is_err(line, "slow-consumer");
	}
	cr_assert_lt(next, FLOOD);
	conn_close(alice);
	conn_close(bob.c);
	conn_close(slow);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

Test(policy, client_that_never_reads_its_replies_is_cut_off, .timeout = 30)
{
	struct server srv;
	server_start(&srv, "--queue-hard", "4K", "--flood-rate", "0", NULL);
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");
	static char pings[5 * 200000];

	for (size_t i = 0; i < sizeof(pings); i += 5)
		memcpy(pings + i, "PING\n", 5);
	/* The server closes b long before all of this is sent. */
	for (size_t off = 0; off < sizeof(pings);) {
		ssize_t n = send(b->fd, pings + off, sizeof(pings) - off,
		    MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	cr_assert(server_log_wait(&srv, "user=bob reason=slow-consumer",
	    WAIT_MS));
	conn_expect(a, "INFO bob joined");
	conn_expect(a, "INFO bob disconnected");
	conn_close(a);
	conn_close(b);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* 60 MB sent towards a client that never reads: the server must not keep
 * it. The bounded queue cuts that client off after 1024 lines, so the
 * server's memory stays small whatever is sent. */
Test(policy, memory_stays_bounded_while_a_client_never_reads, .timeout = 60)
{
	struct server srv;

	if (getenv("HUBCHAT_SANITIZED") != NULL)
		cr_skip_test("a sanitizer build holds freed memory on purpose");
	server_start(&srv, "--flood-rate", "0", "-q", NULL);
	struct conn *deaf = conn_login(srv.port, "deaf");   /* never reads */
	struct conn *tx = conn_login(srv.port, "tx");
	static char line[1002];

	memset(line, 'x', 1000);
	memcpy(line, "MSG ", 4);
	line[1000] = '\n';
	for (int i = 0; i < 60000; i++)
		conn_send_raw(tx, line, 1001);
	conn_send(tx, "PING done\n");
	conn_expect_eventually(tx, "PONG done");  /* every line is handled */
	long kib = server_rss_kib(srv.pid);
	cr_log_info("server RSS after 60 MB towards a deaf client: %ld KiB",
	    kib);
	cr_assert_lt(kib, 32 * 1024, "the server holds %ld KiB", kib);
	cr_assert(server_log_wait(&srv, "user=deaf reason=slow-consumer",
	    WAIT_MS));
	conn_close(deaf);
	conn_close(tx);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* ---- Idle timeout ------------------------------------------------------ */

/* Sends without failing the test: the server may already have closed. */
static void
try_send(struct conn *c, const char *s)
{
	send(c->fd, s, strlen(s), MSG_NOSIGNAL);
}

Test(policy, notices_stop_in_a_room_larger_than_notices_max, .timeout = 30)
{
	struct server srv;
	server_start(&srv, "--notices-max", "2", NULL);
	const char *off = "INFO more than 2 users online: join and leave "
	    "notices are off";
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");
	conn_expect(a, "INFO bob joined");
	struct conn *c = conn_login(srv.port, "carol");     /* says "off" */
	conn_expect(a, off);
	conn_expect(b, off);
	conn_expect(c, off);
	struct conn *d = conn_login(srv.port, "dave");
	conn_expect(d, off);
	conn_send(d, "QUIT\n");
	conn_expect(d, "INFO bye");
	conn_send(c, "QUIT\n");
	conn_expect(c, "INFO bye");
	conn_expect(a, "INFO 2 users online: join and leave notices are on");
	conn_send(b, "MSG hi\n");                   /* nothing came between */
	conn_expect(a, "MSG bob hi");
	conn_close(a), conn_close(b), conn_close(c), conn_close(d);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

Test(policy, idle_clients_are_closed_and_ping_counts_as_activity,
    .timeout = 30)
{
	struct server srv;
	server_start(&srv, "--idle-timeout", "1", NULL);
	struct conn *busy = conn_login(srv.port, "busy");
	struct conn *idle = conn_login(srv.port, "idle");
	struct conn *loris = conn_login(srv.port, "loris");
	struct conn *anon = conn_open(srv.port);
	long long start = now_ms();
	int gone = 0;
	char line[256];

	/* busy PINGs every 200 ms; loris sends a byte as often but never
	 * ends a line, which does not count as activity. */
	while (gone < 2) {
		cr_assert_lt(now_ms() - start, 4000, "idle clients not closed");
		conn_send(busy, "PING\n");
		try_send(loris, "x");
		while (conn_read_line(busy, line, sizeof(line), 200))
			gone += strcmp(line, "INFO idle disconnected") == 0 ||
			    strcmp(line, "INFO loris disconnected") == 0;
	}
	cr_assert_geq(now_ms() - start, 900, "closed too early");
	conn_expect_eventually(idle, "INFO disconnected due to inactivity");
	cr_assert(conn_wait_closed(idle, WAIT_MS));
	conn_expect_eventually(loris, "INFO disconnected due to inactivity");
	conn_expect(anon, "INFO disconnected due to inactivity");
	cr_assert(conn_wait_closed(anon, WAIT_MS));
	cr_assert(server_log_wait_count(&srv, "reason=idle-timeout", 3, WAIT_MS));
	conn_send(busy, "WHO\n");
	conn_expect(busy, "USERS busy");
	cr_assert_eq(server_log_count(&srv, "reason=idle-timeout"), 3);
	conn_close(busy);
	conn_close(idle);
	conn_close(loris);
	conn_close(anon);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* ---- Max clients ------------------------------------------------------- */

Test(policy, over_max_clients_is_refused_until_a_slot_frees, .timeout = 30)
{
	struct server srv;
	server_start(&srv, "--max-clients", "2", NULL);
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_open(srv.port);
	struct conn *c = conn_open_raw(srv.port);

	conn_expect_err(c, "server-full");
	cr_assert(conn_wait_closed(c, WAIT_MS));
	cr_assert(server_log_wait(&srv, "server full", WAIT_MS));
	conn_send(a, "QUIT\n");
	conn_expect(a, "INFO bye");
	cr_assert(conn_wait_closed(a, WAIT_MS));
	struct conn *d = conn_login(srv.port, "dave");
	conn_close(a);
	conn_close(b);
	conn_close(c);
	conn_close(d);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* ---- Out of resources -------------------------------------------------- */

/* Opens n connections; returns how many got the welcome (the others must
 * have been refused with one line, then closed). */
static int
open_many(int port, struct conn **c, int n, const char *refusal)
{
	int served = 0;

	for (int i = 0; i < n; i++) {
		char line[256];
		c[i] = conn_open_raw(port);
		cr_assert(conn_read_line(c[i], line, sizeof(line), WAIT_MS),
		    "connection %d got nothing", i);
		if (strncmp(line, "INFO welcome", 12) == 0) {
			served++;
			continue;
		}
		cr_assert(line_is_err(line, refusal), "%s", line);
		cr_assert(conn_wait_closed(c[i], WAIT_MS));
		conn_close(c[i]);
		c[i] = NULL;
	}
	return served;
}

/* Checks that served connections still work, then frees one slot and
 * checks that a newcomer is served again. */
static void
still_serving(struct server *srv, struct conn **c, int n)
{
	struct conn *a = NULL, *b = NULL;

	for (int i = 0; i < n; i++) {
		if (c[i] == NULL)
			continue;
		if (a == NULL) {
			a = c[i];
			conn_send(a, "LOGIN alice\n");
			conn_expect(a, "OK");
		} else if (b == NULL) {
			b = c[i];
			conn_send(b, "LOGIN bob\nMSG still here\n");
			conn_expect(b, "OK");
			conn_expect(a, "INFO bob joined");
			conn_expect(a, "MSG bob still here");
		}
	}
	cr_assert_not_null(b, "fewer than two connections were served");
	conn_send(b, "QUIT\n");
	conn_expect(b, "INFO bye");
	cr_assert(conn_wait_closed(b, WAIT_MS));
	cr_assert(server_log_wait(srv, "user=bob reason=quit", WAIT_MS));
	struct conn *again = conn_login(srv->port, "carol");
	conn_expect(a, "INFO bob disconnected");
	conn_expect(a, "INFO carol joined");
	conn_close(again);
}

Test(policy, out_of_descriptors_refuses_cleanly_and_recovers, .timeout = 30)
{
	struct server srv;
	struct conn *c[20];

	server_start_limited(&srv, 16, 0, NULL);
	/* said at start, with the way out */
	cr_assert(server_log_wait(&srv, "[WARN] ulimit -n is 16: room for "
	    "about 6 clients, not --max-clients=1000; raise it: ulimit -n 1010",
	    WAIT_MS));
	int served = open_many(srv.port, c, 20, "server-busy");
	cr_assert(served >= 2 && served < 20, "served %d of 20", served);
	cr_assert(server_log_wait(&srv, "accept: Too many open files",
	    WAIT_MS));
	cr_assert(server_log_wait(&srv, "; ulimit -n is 16)", WAIT_MS));
	still_serving(&srv, c, 20);
	for (int i = 0; i < 20; i++)
		conn_close(c[i]);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

Test(policy, thread_creation_failure_refuses_cleanly_and_recovers,
    .timeout = 30)
{
	struct server srv;
	struct conn *c[60];

	/* 6 MiB of address space (the server starts in 2.5): thread stacks
	 * run out after a couple of dozen clients. */
	if (getenv("HUBCHAT_SANITIZED") != NULL)
		cr_skip_test("sanitizer builds need more address space than this");
	server_start_limited(&srv, 0, 6, "--max-per-addr", "0", NULL);
	int served = open_many(srv.port, c, 60, "server-busy");
	cr_assert(served >= 2 && served < 60, "served %d of 60", served);
	cr_assert(server_log_wait(&srv, "cannot start", WAIT_MS));
	cr_assert(server_log_wait(&srv, ", ulimit -v 6291456,", WAIT_MS));
	/* With memory exhausted nothing can work; give back all but two
	 * served connections' threads, and the server must serve again. */
	int kept = 0, freed = 0;
	for (int i = 0; i < 60; i++) {
		if (c[i] != NULL && kept++ >= 2) {
			conn_close(c[i]);
			c[i] = NULL;
			freed++;
		}
	}
	cr_assert(server_log_wait_count(&srv, "[DISCONNECT]", freed, WAIT_MS));
	/* Memory is back only once their threads are joined. */
	cr_assert(server_wait_threads(&srv, 1 + 2 * 2, WAIT_MS));
	still_serving(&srv, c, 60);
	for (int i = 0; i < 60; i++)
		conn_close(c[i]);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* ---- Shutdown ---------------------------------------------------------- */

static void
shutdown_says_goodbye(int sig)
{
	struct server srv;
	server_start(&srv, NULL);
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");
	struct conn *anon = conn_open(srv.port);

	conn_expect(a, "INFO bob joined");
	long long start = now_ms();
	cr_assert_eq(server_stop(&srv, sig, 2000), 0);
	cr_assert_lt(now_ms() - start, 2000);
	struct conn *all[] = { a, b, anon };
	for (int i = 0; i < 3; i++) {
		char line[256];
		bool seen = false;
		while (conn_read_line(all[i], line, sizeof(line), WAIT_MS))
			seen = seen || strcmp(line, "INFO server shutting down") == 0;
		cr_assert(seen, "client %d heard no shutdown notice", i);
		conn_close(all[i]);
	}
}

Test(policy, sigterm_shuts_down_cleanly, .timeout = 30)
{
	shutdown_says_goodbye(SIGTERM);
}

Test(policy, sigint_shuts_down_cleanly, .timeout = 30)
{
	shutdown_says_goodbye(SIGINT);
}

Test(policy, shutdown_is_bounded_even_with_clients_that_do_not_read,
    .timeout = 30)
{
	struct server srv;
	server_start(&srv, "--queue-hard", "1G", "--queue-soft", "0",
	    "--flood-rate", "0", "-q", NULL);
	struct conn *talker = conn_login(srv.port, "talker");
	struct conn *stuck[3];
	static char text[1001];

	for (int i = 0; i < 3; i++) {
		char name[24], joined[48];
		snprintf(name, sizeof(name), "stuck%d", i);
		snprintf(joined, sizeof(joined), "INFO %s joined", name);
		stuck[i] = conn_login(srv.port, name);
		conn_expect(talker, joined);
	}
	memset(text, 'x', 990);
	for (int i = 0; i < 10000; i++)   /* 10 MB queued for each */
		conn_send(talker, "MSG %.990s\n", text);
	conn_expect_quiet(talker);        /* the server has taken it all in */
	cr_assert_eq(server_stop(&srv, SIGTERM, 2000), 0);
	for (int i = 0; i < 3; i++)
		conn_close(stuck[i]);
	conn_close(talker);
}

/* ---- --trace ----------------------------------------------------------- */

Test(policy, trace_shows_threads_queue_depths_and_evictions, .timeout = 30)
{
	struct server srv;
	/* A small send buffer, so that deaf's queue surely fills below. */
	server_start(&srv, "--trace", "--queue-hard", "4K", "--sndbuf", "4096",
	    "--flood-rate", "0", NULL);
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");
	struct conn *deaf = conn_login(srv.port, "deaf");   /* never reads */
	static char big[200001];

	cr_assert(server_log_wait(&srv, "[TRACE] thread rd/1 starts", WAIT_MS));
	cr_assert(server_log_wait(&srv, "[TRACE] thread wr/1 starts", WAIT_MS));
	conn_expect(a, "INFO bob joined");
	conn_expect(a, "INFO deaf joined");
	conn_send(a, "MSG hi\n");
	conn_expect(b, "INFO deaf joined");
	conn_expect(b, "MSG alice hi");
	cr_assert(server_log_wait(&srv, "deliver MSG from=alice via rd/1 "
	    "lines=1 to: bob(depth=", WAIT_MS));
	/* 400 KB: far more than deaf's socket buffers hold, so its queue of 2
	 * fills whatever the timing. */
	memset(big, 'x', sizeof(big) - 1);
	for (int i = 0; i < 400; i++)
		conn_send(a, "MSG %.1000s\n", big);
	cr_assert(server_log_wait(&srv, "deaf(full: EVICTED)", WAIT_MS));
	cr_assert(server_log_wait(&srv, "[TRACE] evicted id=3", WAIT_MS));
	conn_close(b);
	cr_assert(server_log_wait(&srv, "[TRACE] thread wr/2 exits", WAIT_MS));
	cr_assert(server_log_wait(&srv, "[TRACE] thread rd/2 exits", WAIT_MS));
	conn_close(a);
	conn_close(deaf);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

Test(policy, no_trace_lines_without_the_flag, .timeout = 30)
{
	struct server srv;
	server_start(&srv, NULL);
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");

	conn_send(a, "MSG hi\n");
	conn_expect(b, "MSG alice hi");
	conn_close(a);
	conn_close(b);
	cr_assert(server_log_wait_count(&srv, "[DISCONNECT]", 2, WAIT_MS));
	cr_assert_eq(server_log_count(&srv, "[TRACE]"), 0);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* ---- Flags and addresses ----------------------------------------------- */

static int
run_server(char *const argv[], char *out, size_t outsz)
{
	struct proc p;

	proc_start(&p, argv);
	int status = proc_wait(&p, WAIT_MS);
	size_t n = strlen(p.text) < outsz - 1 ? strlen(p.text) : outsz - 1;
	memcpy(out, p.text, n);
	out[n] = '\0';
	return status;
}

Test(flags, help_and_version_exit_zero)
{
	char out[4096];
	char *help[] = { "SERVER", "--help", NULL };
	char *version[] = { "SERVER", "--version", NULL };
	char usage[128];

	snprintf(usage, sizeof(usage), "usage: %s", server_program_name());
	cr_assert_eq(run_server(help, out, sizeof(out)), 0);
	cr_assert(strstr(out, usage) && strstr(out, "--idle-timeout"), "%s",
	    out);
	cr_assert_eq(run_server(version, out, sizeof(out)), 0);
	cr_assert(strncmp(out, "hubchat server ", 15) == 0, "%s", out);
}

Test(flags, bad_flags_give_one_line_and_exit_two)
{
	char *bad[][4] = {
		{ "SERVER", "--bogus", NULL },
		{ "SERVER", "-p", "abc", NULL },
		{ "SERVER", "-p", "70000", NULL },
		{ "SERVER", "--queue", "0", NULL },
		{ "SERVER", "--max-clients", "-3", NULL },
		{ "SERVER", "--notices-max", "x", NULL },
		{ "SERVER", "--idle-timeout", NULL },
		{ "SERVER", "extra", NULL },
	};
	char out[4096], prefix[128];

	snprintf(prefix, sizeof(prefix), "%s: ", server_program_name());
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(run_server(bad[i], out, sizeof(out)), 2, "%s %s",
		    bad[i][1], bad[i][2] ? bad[i][2] : "");
		char *nl = strchr(out, '\n');
		cr_assert(nl != NULL && nl[1] == '\0', "not one line: %s", out);
		cr_assert(strncmp(out, prefix, strlen(prefix)) == 0, "%s", out);
	}
}

Test(flags, port_in_use_is_a_clear_error)
{
	struct server srv;
	char port[8], out[4096];

	server_start(&srv, NULL);
	snprintf(port, sizeof(port), "%d", srv.port);
	char *argv[] = { "SERVER", "-p", port, NULL };
	cr_assert_eq(run_server(argv, out, sizeof(out)), 1);
	cr_assert(strstr(out, "cannot listen") &&
	    strstr(out, "Address already in use"), "%s", out);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

Test(flags, chat_port_is_used_when_no_flag_is_given, .timeout = 30)
{
	struct proc p;
	char port[8], want[32];
	char *argv[] = { "SERVER", NULL };

	snprintf(port, sizeof(port), "%d", free_port());
	setenv("CHAT_PORT", port, 1);
	proc_start(&p, argv);
	snprintf(want, sizeof(want), "port=%s ", port);
	cr_assert(proc_wait_output(&p, want, WAIT_MS), "%s", p.text);
	struct conn *c = conn_open(atoi(port));
	conn_close(c);
	kill(p.pid, SIGTERM);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0);

	setenv("CHAT_PORT", "not-a-port", 1);   /* a flag wins over it */
	struct server srv;
	server_start(&srv, NULL);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

Test(flags, ipv6_loopback_and_dual_stack, .timeout = 30)
{
	struct server srv;
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };

	if (access("/proc/net/if_inet6", F_OK) != 0)
		cr_skip_test("no IPv6 on this machine");
	server_start(&srv, "-a", "::", NULL);
	sa.sin6_port = htons((uint16_t)srv.port);
	inet_pton(AF_INET6, "::1", &sa.sin6_addr);
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct conn v6 = { .fd = fd };
	char line[256];
	cr_assert(conn_read_line(&v6, line, sizeof(line), WAIT_MS));
	cr_assert(strncmp(line, "INFO ", 5) == 0);
	struct conn *v4 = conn_open(srv.port);   /* IPv4 on "::" too */
	cr_assert(server_log_wait(&srv, "peer=[::1]:", WAIT_MS));
	close(fd);
	conn_close(v4);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}
