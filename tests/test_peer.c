/*
 * test_peer.c - two real peer processes on loopback ephemeral ports: the
 * accept/dial race settled on one shared connection, every time; lines both
 * ways at once; every way of leaving; hostile lines from the other side.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* Two peers, A and B, each listening on its own port and dialing the other's. */
struct pair {
	struct proc a, b;
	char port_a[8], port_b[8];
	char target_a[32], target_b[32];
};

static void
pair_ports(struct pair *pp)
{
	int pa = free_port(), pb;

	while ((pb = free_port()) == pa)
		;
	snprintf(pp->port_a, sizeof(pp->port_a), "%d", pa);
	snprintf(pp->port_b, sizeof(pp->port_b), "%d", pb);
	snprintf(pp->target_a, sizeof(pp->target_a), "127.0.0.1:%d", pb);
	snprintf(pp->target_b, sizeof(pp->target_b), "127.0.0.1:%d", pa);
}

static void
start_a(struct pair *pp)
{
	char *argv[] = { "PEER", "-l", pp->port_a, "-c", pp->target_a,
		"-n", "A", NULL };
	proc_start(&pp->a, argv);
}

static void
start_b(struct pair *pp)
{
	char *argv[] = { "PEER", "-l", pp->port_b, "-c", pp->target_b,
		"-n", "B", NULL };
	proc_start(&pp->b, argv);
}

/* Waits for "* connected to <other> (local X, remote Y)" and returns X, Y. */
static void
connected(struct proc *p, const char *other, char *local, char *remote)
{
	char want[64];

	snprintf(want, sizeof(want), "* connected to %s (", other);
	cr_assert(proc_wait_output(p, want, WAIT_MS), "not connected: %s",
	    p->text);
	cr_assert(proc_wait_output(p, ")\n", WAIT_MS));
	const char *s = strstr(p->text, want) + strlen(want);
	cr_assert_eq(sscanf(s, "local %63[^,], remote %63[^)])", local,
	    remote), 2, "%s", s);
}

/* Both sides must report the same TCP connection, seen from each end. */
static void
expect_one_shared_link(struct pair *pp)
{
	char la[64], ra[64], lb[64], rb[64];

	connected(&pp->a, "B", la, ra);
	connected(&pp->b, "A", lb, rb);
	cr_assert_str_eq(la, rb, "A and B kept different connections");
	cr_assert_str_eq(ra, lb, "A and B kept different connections");
}

/* Sends a line each way and waits for both to arrive. */
static void
expect_lines_cross(struct pair *pp, int round)
{
	char line[64], want[64];

	snprintf(line, sizeof(line), "from A %d\n", round);
	proc_write(&pp->a, line);
	snprintf(line, sizeof(line), "from B %d\n", round);
	proc_write(&pp->b, line);
	snprintf(want, sizeof(want), "] A: from A %d\n", round);
	cr_assert(proc_wait_output(&pp->b, want, WAIT_MS), "B: %s", pp->b.text);
	snprintf(want, sizeof(want), "] B: from B %d\n", round);
	cr_assert(proc_wait_output(&pp->a, want, WAIT_MS), "A: %s", pp->a.text);
}

/* A quits by stdin EOF; B must say A left; both exit 0. */
static void
expect_clean_end(struct pair *pp)
{
	proc_close_stdin(&pp->a);
	cr_assert(proc_wait_output(&pp->b, "* A left", WAIT_MS), "%s",
	    pp->b.text);
	cr_assert_eq(proc_wait(&pp->a, WAIT_MS), 0, "%s", pp->a.text);
	cr_assert_eq(proc_wait(&pp->b, WAIT_MS), 0, "%s", pp->b.text);
}

#define ROUNDS 300

Test(peer, simultaneous_starts_always_share_one_connection, .timeout = 240)
{
	srand((unsigned)time(NULL));
	for (int round = 0; round < ROUNDS; round++) {
		struct pair pp;
		/* Half the rounds start both at once; the rest skew the start
		 * by up to 30 ms either way, across the accept/dial race. */
		int skew_us = round % 2 ? rand() % 30000 : 0;
		bool a_first = rand() % 2;

		pair_ports(&pp);
		if (a_first)
			start_a(&pp);
		else
			start_b(&pp);
		if (skew_us)
			usleep((useconds_t)skew_us);    /* the skew itself */
		if (a_first)
			start_b(&pp);
		else
			start_a(&pp);
		expect_one_shared_link(&pp);
		expect_lines_cross(&pp, round);
		expect_clean_end(&pp);
	}
}

Test(peer, one_started_late_waits_quietly_then_links, .timeout = 30)
{
	struct pair pp;

	pair_ports(&pp);
	start_a(&pp);
	cr_assert(proc_wait_output(&pp.a, "* waiting for 127.0.0.1:", WAIT_MS),
	    "%s", pp.a.text);
	proc_write(&pp.a, "typed before the link\n");
	/* Let A retry for a while (its backoff reaches 1 s), then start B. */
	usleep(1500 * 1000);
	start_b(&pp);
	expect_one_shared_link(&pp);
	cr_assert(proc_wait_output(&pp.b, "] A: typed before the link\n",
	    WAIT_MS), "%s", pp.b.text);
	expect_lines_cross(&pp, 1);
	char *first = strstr(pp.a.text, "* waiting for");
	cr_assert_null(strstr(first + 1, "* waiting for"),
	    "waiting line repeated: %s", pp.a.text);
	expect_clean_end(&pp);
}

#define FLOOD 10000

/* Helper threads record; the test asserts after joining them. */
struct feeder {
	struct proc *p;
	const char *tag;
	int fed;                /* lines written */
};

static void *
feed(void *arg)
{
	struct feeder *f = arg;
	char line[64];

	for (; f->fed < FLOOD; f->fed++) {
		snprintf(line, sizeof(line), "%s line %d\n", f->tag, f->fed);
		if (!proc_try_write(f->p, line))
			break;
	}
	return NULL;
}

struct drain {
	struct proc *p;
	const char *want;       /* "B: B line " */
	int got;
	char error[128];        /* the first line out of order, if any */
};

/* Reads a peer's stdout as lines and checks the other side's FLOOD lines
 * arrive, all of them, in order. */
static void *
drain_lines(void *arg)
{
	struct drain *d = arg;
	struct conn c = { .fd = d->p->out };
	char line[256];

	while (d->got < FLOOD && conn_read_line(&c, line, sizeof(line), 10000)) {
		char *s = strstr(line, d->want);
		if (s == NULL)
			continue;
		if (atoi(s + strlen(d->want)) != d->got) {
			snprintf(d->error, sizeof(d->error), "order: %.100s", line);
			break;
		}
		d->got++;
	}
	return NULL;
}

Test(peer, ten_thousand_lines_each_way_at_once, .timeout = 60)
{
	struct pair pp;
	pthread_t t[4];

	pair_ports(&pp);
	start_a(&pp);
	start_b(&pp);
	expect_one_shared_link(&pp);
	struct feeder fa = { .p = &pp.a, .tag = "A" };
	struct feeder fb = { .p = &pp.b, .tag = "B" };
	struct drain da = { .p = &pp.a, .want = "] B: B line " };
	struct drain db = { .p = &pp.b, .want = "] A: A line " };
	pthread_create(&t[0], NULL, drain_lines, &da);
	pthread_create(&t[1], NULL, drain_lines, &db);
	pthread_create(&t[2], NULL, feed, &fa);
	pthread_create(&t[3], NULL, feed, &fb);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(fa.fed + fb.fed, 2 * FLOOD, "a feeder failed");
	cr_assert_str_empty(da.error, "%s", da.error);
	cr_assert_str_empty(db.error, "%s", db.error);
	cr_assert_eq(da.got, FLOOD, "A got %d of B's lines", da.got);
	cr_assert_eq(db.got, FLOOD, "B got %d of A's lines", db.got);
	proc_close_stdin(&pp.a);
	cr_assert_eq(proc_wait(&pp.a, WAIT_MS), 0);
	cr_assert_eq(proc_wait(&pp.b, WAIT_MS), 0);
}

static void
expect_other_leaves(const char *how)
{
	struct pair pp;

	pair_ports(&pp);
	start_a(&pp);
	start_b(&pp);
	expect_one_shared_link(&pp);
	if (strcmp(how, "kill") == 0)
		kill(pp.a.pid, SIGKILL);
	else if (strcmp(how, "sigint") == 0)
		kill(pp.a.pid, SIGINT);
	else
		proc_write(&pp.a, how);
	cr_assert(proc_wait_output(&pp.b, "* A left", WAIT_MS), "%s",
	    pp.b.text);
	cr_assert_eq(proc_wait(&pp.b, WAIT_MS), 0, "%s", pp.b.text);
	int status = proc_wait(&pp.a, WAIT_MS);
	cr_assert_eq(status, strcmp(how, "kill") == 0 ? 128 + SIGKILL : 0);
}

Test(peer, quit_command_ends_both, .timeout = 30)
{
	expect_other_leaves("/quit\n");
}

Test(peer, bang_exit_ends_both, .timeout = 30)
{
	expect_other_leaves("!exit\n");
}

Test(peer, ctrl_c_ends_both, .timeout = 30)
{
	expect_other_leaves("sigint");
}

Test(peer, abrupt_death_is_noticed, .timeout = 30)
{
	expect_other_leaves("kill");
}

Test(peer, typed_line_over_the_limit_is_not_sent, .timeout = 30)
{
	struct pair pp;
	static char big[2002];     /* 2000 x, LF, NUL */

	pair_ports(&pp);
	start_a(&pp);
	start_b(&pp);
	expect_one_shared_link(&pp);
	memset(big, 'x', 2000);
	big[2000] = '\n';
	proc_write(&pp.a, big);
	proc_write(&pp.a, "after the long one\n");
	cr_assert(proc_wait_output(&pp.a, "! not sent: a line may hold 1024",
	    WAIT_MS), "%s", pp.a.text);
	cr_assert(proc_wait_output(&pp.b, "] A: after the long one\n",
	    WAIT_MS), "%s", pp.b.text);
	cr_assert_null(strstr(pp.b.text, "xxxxxxxx"));
	expect_clean_end(&pp);
}

static int
count(const char *text, const char *what)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, what)) != NULL; p++)
		n++;
	return n;
}

/*
 * The test plays the other peer over a raw socket: it dials, says HELLO with
 * nonce 0 (the lowest, so its own call is kept), and sends what a hostile
 * peer might: escapes, a bell, a line over the limit.
 */
Test(peer, hostile_lines_from_the_other_side_are_never_shown_raw,
    .timeout = 30)
{
	struct pair pp;
	static char big[3001];

	pair_ports(&pp);
	start_a(&pp);
	cr_assert(proc_wait_output(&pp.a, "* waiting for", WAIT_MS));
	struct conn *evil = conn_open_raw(atoi(pp.port_a));
	conn_send(evil, "HELLO 0000000000000000 Mallory\n");
	char hello[128];
	cr_assert(conn_read_line(evil, hello, sizeof(hello), WAIT_MS));
	cr_assert(strncmp(hello, "HELLO ", 6) == 0, "%s", hello);
	cr_assert(proc_wait_output(&pp.a, "* connected to Mallory", WAIT_MS));
	conn_send(evil, "\x1b[2Jcleared\n\x1b]0;title\x07\ninvalid \xff\n");
	memset(big, 'y', 3000);
	big[3000] = '\n';
	conn_send_raw(evil, big, sizeof(big));
	conn_send(evil, "last\n");
	cr_assert(proc_wait_output(&pp.a, "] Mallory: last\n", WAIT_MS), "%s",
	    pp.a.text);
	cr_assert_eq(count(pp.a.text, "! Mallory sent a line with control "
	    "bytes or invalid UTF-8; not shown"), 3, "%s", pp.a.text);
	cr_assert_null(strstr(pp.a.text, "cleared"));
	cr_assert(strstr(pp.a.text, "! a line over 1024 bytes was skipped"));
	cr_assert_null(strchr(pp.a.text, '\x1b'));
	cr_assert_null(strchr(pp.a.text, '\x07'));
	conn_close(evil);
	cr_assert(proc_wait_output(&pp.a, "* Mallory left", WAIT_MS));
	cr_assert_eq(proc_wait(&pp.a, WAIT_MS), 0);
}

Test(peer, bad_arguments_and_port_in_use_are_clear_errors, .timeout = 30)
{
	struct proc p;
	char *bad[][8] = {
		{ "PEER", "-l", "8080", "-c", "nocolon", NULL },
		{ "PEER", "-l", "8080", "-c", "host:99999", NULL },
		{ "PEER", "-l", "8080", "-c", ":8081", NULL },
		{ "PEER", "-l", "0", "-c", "127.0.0.1:8081", NULL },
		{ "PEER", "-c", "127.0.0.1:8081", NULL },
		{ "PEER", "-l", "8080", "-c", "127.0.0.1:8081", "-n", "1bad" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		proc_start(&p, bad[i]);
		cr_assert_eq(proc_wait(&p, WAIT_MS), 2, "%zu: %s", i, p.text);
		cr_assert(strncmp(p.text, "peer: ", 6) == 0, "%s", p.text);
	}

	struct server srv;
	char port[16];
	server_start(&srv, NULL);
	snprintf(port, sizeof(port), "%d", srv.port);
	char *taken[] = { "PEER", "-a", "127.0.0.1", "-l", port, "-c",
		"127.0.0.1:9", NULL };
	proc_start(&p, taken);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 1, "%s", p.text);
	cr_assert(strstr(p.text, "Address already in use"), "%s", p.text);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}
