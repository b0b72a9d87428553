/*
 * test_peer.c - two real peer processes on loopback ephemeral ports: the
 * accept/dial race settled on one shared connection, every time; lines both
 * ways at once; every way of leaving; hostile lines from the other side;
 * strangers at the port (from another address, trickling a handshake,
 * claiming the other side's place), the shared secret and its handshake
 * played by the test itself (handshake.h), the options and the commands.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "ports.h"
#include "sha1.h"

/* Two peers, A and B, each listening on its own port and dialing the other's. */
struct pair {
	struct proc a, b;
	char port_a[8], port_b[8];
	char target_a[32], target_b[32];
};

static void
pair_ports(struct pair *pp)
{
	int pa = ports_listen(), pb;

	while ((pb = ports_listen()) == pa)
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

/* Waits for "* connected to <other> at REMOTE (...)", then asks /who for
 * this end's address; returns both. */
static void
connected(struct proc *p, const char *other, char *local, char *remote)
{
	char want[64];
	const char *s;

	snprintf(want, sizeof(want), "* connected to %s at ", other);
	cr_assert(proc_wait_output(p, want, WAIT_MS), "not connected: %s",
	    p->text);
	cr_assert(proc_wait_output(p, ")\n", WAIT_MS));
	s = strstr(p->text, want) + strlen(want);
	cr_assert_eq(sscanf(s, "%63s (", remote), 1, "%s", s);
	proc_write(p, "/who\n");
	cr_assert(proc_wait_output(p, "* you are ", WAIT_MS), "%s", p->text);
	cr_assert(proc_wait_output(p, ")\n", WAIT_MS));
	s = strstr(p->text, "* you are ");
	cr_assert_eq(sscanf(s, "* you are %*s at %63[^;];", local), 1, "%s", s);
	cr_assert_not_null(strstr(s, remote), "/who disagrees: %s", s);
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

static int
count(const char *text, const char *what)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, what)) != NULL; p++)
		n++;
	return n;
}

#define ROUNDS 300

Test(peer, simultaneous_starts_always_share_one_connection, .timeout = 240)
{
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
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
	conn_send(evil, "HELLO 0000000000000000 Mallory "
	    "00112233445566778899aabbccddeeff none\n");
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

/* ---- Strangers at the port (issue 11) ---------------------------------- */

/* A connection to 127.0.0.1:port made from address src. */
static struct conn *
conn_from(const char *src, int port)
{
	struct sockaddr_in from = { .sin_family = AF_INET };
	struct sockaddr_in to = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port) };
	struct conn *c = calloc(1, sizeof(*c));

	cr_assert_not_null(c);
	inet_pton(AF_INET, src, &from.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(c->fd >= 0);
	cr_assert(bind(c->fd, (struct sockaddr *)&from, sizeof(from)) == 0);
	cr_assert(connect(c->fd, (struct sockaddr *)&to, sizeof(to)) == 0);
	return c;
}

/* Starts A alone and waits until it dials B's empty port. */
static void
start_a_alone(struct pair *pp)
{
	pair_ports(pp);
	start_a(pp);
	cr_assert(proc_wait_output(&pp->a, "* waiting for", WAIT_MS), "%s",
	    pp->a.text);
}

Test(peer, a_call_from_another_address_is_refused, .timeout = 30)
{
	struct pair pp;
	char line[256];

	start_a_alone(&pp);
	struct conn *stranger = conn_from("127.0.0.2", atoi(pp.port_a));
	cr_assert(!conn_read_line(stranger, line, sizeof(line), WAIT_MS),
	    "a stranger got: %s", line);
	cr_assert(proc_wait_output(&pp.a, "* refused the connection from "
	    "127.0.0.2:", WAIT_MS), "%s", pp.a.text);
	cr_assert(proc_wait_output(&pp.a, ": not from 127.0.0.1, the address "
	    "of 127.0.0.1 (--any-peer takes any)\n", WAIT_MS), "%s",
	    pp.a.text);
	conn_close(stranger);
	proc_close_stdin(&pp.a);
	cr_assert_eq(proc_wait(&pp.a, WAIT_MS), 0, "%s", pp.a.text);

	/* --any-peer: the same call gets a handshake. */
	char *argv[] = { "PEER", "-l", pp.port_a, "-c", pp.target_a,
		"--any-peer", NULL };
	proc_start(&pp.a, argv);
	cr_assert(proc_wait_output(&pp.a, "* waiting for", WAIT_MS));
	stranger = conn_from("127.0.0.2", atoi(pp.port_a));
	cr_assert(conn_read_line(stranger, line, sizeof(line), WAIT_MS));
	cr_assert(strncmp(line, "HELLO ", 6) == 0, "%s", line);
	conn_close(stranger);
	proc_close_stdin(&pp.a);
	cr_assert_eq(proc_wait(&pp.a, WAIT_MS), 0, "%s", pp.a.text);
}

Test(peer, a_trickled_handshake_ends_after_three_seconds_in_all,
    .timeout = 30)
{
	static const char hello[] = "HELLO 0000000000000000 Slowpoke";
	struct pair pp;
	char buf[256];
	bool closed = false;

	start_a_alone(&pp);
	long long start = now_ms();
	struct conn *s = conn_open_raw(atoi(pp.port_a));
	/* A byte every 500 ms: each read comes well within 3 s. */
	for (size_t i = 0; !closed && now_ms() - start < 8000; i++) {
		send(s->fd, &hello[i % (sizeof(hello) - 1)], 1, MSG_NOSIGNAL);
		struct pollfd pf = { .fd = s->fd, .events = POLLIN };
		if (poll(&pf, 1, 500) > 0)      /* the pause itself */
			closed = recv(s->fd, buf, sizeof(buf), 0) <= 0;
	}
	long long took = now_ms() - start;
	cr_assert(closed, "the trickle held the handshake for 8 s");
	cr_assert(took >= 2500 && took <= 4500, "closed after %lld ms", took);
	cr_assert(proc_wait_output(&pp.a, "no HELLO within 3 s", WAIT_MS),
	    "%s", pp.a.text);
	conn_close(s);
	proc_close_stdin(&pp.a);
	cr_assert_eq(proc_wait(&pp.a, WAIT_MS), 0, "%s", pp.a.text);
}

Test(peer, quitting_does_not_wait_for_a_strangers_handshake, .timeout = 30)
{
	struct pair pp;
	char line[256];

	start_a_alone(&pp);
	struct conn *s = conn_open_raw(atoi(pp.port_a));
	cr_assert(conn_read_line(s, line, sizeof(line), WAIT_MS));
	cr_assert(strncmp(line, "HELLO ", 6) == 0, "%s", line);
	long long start = now_ms();             /* the handshake waits */
	proc_close_stdin(&pp.a);
	cr_assert_eq(proc_wait(&pp.a, WAIT_MS), 0, "%s", pp.a.text);
	cr_assert(now_ms() - start < 1000, "quitting took %lld ms",
	    now_ms() - start);
	conn_close(s);
}

/* ---- The shared secret ------------------------------------------------- */

/* Starts A and B with the given secrets in $HUBCHAT_PEER_SECRET (NULL:
 * none). */
static void
start_with_secrets(struct pair *pp, const char *sa, const char *sb)
{
	pair_ports(pp);
	if (sa != NULL)
		setenv("HUBCHAT_PEER_SECRET", sa, 1);
	start_a(pp);
	unsetenv("HUBCHAT_PEER_SECRET");
	if (sb != NULL)
		setenv("HUBCHAT_PEER_SECRET", sb, 1);
	start_b(pp);
	unsetenv("HUBCHAT_PEER_SECRET");
}

Test(peer, a_shared_secret_verifies_both_sides, .timeout = 30)
{
	struct pair pp;

	start_with_secrets(&pp, "correct horse", "correct horse");
	expect_one_shared_link(&pp);
	cr_assert(strstr(pp.a.text, "* connected to B at 127.0.0.1:"), "%s",
	    pp.a.text);
	cr_assert(strstr(pp.a.text, " (verified by the shared secret)\n"),
	    "%s", pp.a.text);
	cr_assert(strstr(pp.b.text, " (verified by the shared secret)\n"),
	    "%s", pp.b.text);
	expect_lines_cross(&pp, 1);
	expect_clean_end(&pp);
}

Test(peer, without_a_secret_the_link_says_it_is_not_verified, .timeout = 30)
{
	struct pair pp;

	start_with_secrets(&pp, NULL, NULL);
	expect_one_shared_link(&pp);
	cr_assert(strstr(pp.a.text, " (not verified: no --secret)\n"), "%s",
	    pp.a.text);
	expect_clean_end(&pp);
}

/* Both peers say why, link nothing, and quit cleanly. */
static void
expect_no_link(struct pair *pp, const char *why_a, const char *why_b)
{
	cr_assert(proc_wait_output(&pp->a, why_a, WAIT_MS), "%s", pp->a.text);
	cr_assert(proc_wait_output(&pp->b, why_b, WAIT_MS), "%s", pp->b.text);
	proc_write(&pp->a, "never sent\n");
	proc_close_stdin(&pp->a);
	proc_close_stdin(&pp->b);
	cr_assert_eq(proc_wait(&pp->a, WAIT_MS), 0, "%s", pp->a.text);
	cr_assert_eq(proc_wait(&pp->b, WAIT_MS), 0, "%s", pp->b.text);
	cr_assert_null(strstr(pp->a.text, "* connected"), "%s", pp->a.text);
	cr_assert_null(strstr(pp->b.text, "* connected"), "%s", pp->b.text);
	cr_assert_null(strstr(pp->b.text, "never sent"), "%s", pp->b.text);
	cr_assert_leq(count(pp->a.text, why_a), 2, "said again and again "
	    "(once for a call in, once for one out is enough): %s", pp->a.text);
}

Test(peer, different_secrets_link_nothing, .timeout = 30)
{
	struct pair pp;

	start_with_secrets(&pp, "one secret", "another secret");
	expect_no_link(&pp, "wrong secret: its proof did not match\n",
	    "wrong secret: its proof did not match\n");
}

Test(peer, a_secret_on_one_side_only_links_nothing, .timeout = 30)
{
	struct pair pp;

	start_with_secrets(&pp, "only mine", NULL);
	expect_no_link(&pp, "it has no shared secret, and this side has one",
	    "it has a shared secret, and this side has none");
}

/* ---- The handshake, played by the test (handshake.h) ------------------- */

/* The fields of a HELLO. */
struct hello {
	char nonce[17], name[33], challenge[33], auth[8];
};

static void
read_hello(struct conn *c, struct hello *h)
{
	char line[256];

	cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS), "no HELLO");
	cr_assert_eq(sscanf(line, "HELLO %16s %32s %32s %7s", h->nonce,
	    h->name, h->challenge, h->auth), 4, "%s", line);
}

/* The PROOF line's hex, as handshake.h defines it. */
static void
proof(const char *secret, const char *role, const struct hello *from,
    const struct hello *to, char out[41])
{
	char text[256];
	unsigned char mac[SHA1_LEN];
	int n = snprintf(text, sizeof(text), "hubchat-peer proof %s %s %s %s "
	    "%s %s %s", role, from->nonce, to->nonce, from->challenge,
	    to->challenge, from->name, to->name);

	sha1_hmac(secret, strlen(secret), text, (size_t)n, mac);
	for (int i = 0; i < SHA1_LEN; i++)
		sprintf(out + 2 * i, "%02x", mac[i]);
}

/* Starts A with secret and a -c port of the test's choosing. */
static void
start_a_secret(struct pair *pp, const char *secret)
{
	pair_ports(pp);
	setenv("HUBCHAT_PEER_SECRET", secret, 1);
	start_a(pp);
	unsetenv("HUBCHAT_PEER_SECRET");
	cr_assert(proc_wait_output(&pp->a, "* waiting for", WAIT_MS));
}

static const struct hello tess = { "0000000000000000", "Tess",
	"0123456789abcdef0123456789abcdef", "secret" };

Test(peer, the_handshake_is_the_documented_one, .timeout = 30)
{
	struct pair pp;
	struct hello a;
	char mine[41], want[41], line[256];

	start_a_secret(&pp, "s3cret");
	struct conn *c = conn_open_raw(atoi(pp.port_a));
	read_hello(c, &a);
	cr_assert_str_eq(a.auth, "secret");
	conn_send(c, "HELLO %s %s %s %s\n", tess.nonce, tess.name,
	    tess.challenge, tess.auth);
	proof("s3cret", "dialer", &tess, &a, mine);
	conn_send(c, "PROOF %s\n", mine);
	proof("s3cret", "acceptor", &a, &tess, want);
	cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS));
	cr_assert(strncmp(line, "PROOF ", 6) == 0, "%s", line);
	cr_assert_str_eq(line + 6, want);
	cr_assert(proc_wait_output(&pp.a, "* connected to Tess at 127.0.0.1:",
	    WAIT_MS), "%s", pp.a.text);
	cr_assert(proc_wait_output(&pp.a, "(verified by the shared secret)",
	    WAIT_MS), "%s", pp.a.text);
	conn_send(c, "hello from Tess\n");
	cr_assert(proc_wait_output(&pp.a, "] Tess: hello from Tess\n",
	    WAIT_MS), "%s", pp.a.text);
	proc_write(&pp.a, "for Tess\n");
	cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS));
	cr_assert_str_eq(line, "for Tess");
	conn_close(c);
	cr_assert(proc_wait_output(&pp.a, "* Tess left", WAIT_MS));
	cr_assert_eq(proc_wait(&pp.a, WAIT_MS), 0, "%s", pp.a.text);
}

/* A must hang up on c without a PROOF, saying why. */
static void
expect_hung_up(struct pair *pp, struct conn *c, const char *why)
{
	char line[256];

	cr_assert(!conn_read_line(c, line, sizeof(line), WAIT_MS),
	    "A answered: %s", line);
	cr_assert(proc_wait_output(&pp->a, why, WAIT_MS), "%s", pp->a.text);
	conn_close(c);
}

Test(peer, a_stranger_cannot_claim_the_other_sides_place, .timeout = 30)
{
	struct pair pp;
	struct hello a;

	start_a_secret(&pp, "s3cret");
	/* The lowest nonce, which wins the keep rule; but no secret. */
	struct conn *c = conn_open_raw(atoi(pp.port_a));
	read_hello(c, &a);
	conn_send(c, "HELLO 0000000000000000 Mallory %s none\n",
	    tess.challenge);
	expect_hung_up(&pp, c, "it has no shared secret, and this side has "
	    "one");
	/* Claiming one, with a made-up proof. */
	c = conn_open_raw(atoi(pp.port_a));
	read_hello(c, &a);
	conn_send(c, "HELLO 0000000000000000 Mallory %s secret\nPROOF "
	    "%040d\n", tess.challenge, 0);
	expect_hung_up(&pp, c, "wrong secret: its proof did not match");
	proc_write(&pp.a, "typed for B alone\n");
	proc_close_stdin(&pp.a);
	cr_assert_eq(proc_wait(&pp.a, WAIT_MS), 0, "%s", pp.a.text);
	cr_assert_null(strstr(pp.a.text, "* connected"), "%s", pp.a.text);
}

Test(peer, a_recorded_proof_cannot_be_replayed, .timeout = 30)
{
	static const struct hello high = { "ffffffffffffffff", "Tess",
		"0123456789abcdef0123456789abcdef", "secret" };
	struct pair pp;
	struct hello a;
	char mine[41], line[256];

	start_a_secret(&pp, "s3cret");
	/* A good handshake, not kept (the caller's nonce is the higher). */
	struct conn *c = conn_open_raw(atoi(pp.port_a));
	read_hello(c, &a);
	proof("s3cret", "dialer", &high, &a, mine);
	conn_send(c, "HELLO %s %s %s %s\nPROOF %s\n", high.nonce, high.name,
	    high.challenge, high.auth, mine);
	cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS));
	cr_assert(strncmp(line, "PROOF ", 6) == 0, "%s", line);
	cr_assert(conn_wait_closed(c, WAIT_MS), "A kept the higher caller");
	conn_close(c);
	/* The same lines again: the proof was for the old challenge. */
	c = conn_open_raw(atoi(pp.port_a));
	read_hello(c, &a);
	conn_send(c, "HELLO %s %s %s %s\nPROOF %s\n", high.nonce, high.name,
	    high.challenge, high.auth, mine);
	expect_hung_up(&pp, c, "wrong secret: its proof did not match");
	proc_close_stdin(&pp.a);
	cr_assert_eq(proc_wait(&pp.a, WAIT_MS), 0, "%s", pp.a.text);
}

/*
 * The test sits where A dials (B's port) and also calls A. It hands A's
 * own challenge from its call to A's dial, so that A proves, as dialer,
 * something over that challenge, and offers that proof back on its call.
 * A proof names its sender's nonce and role, so A must refuse it.
 */
Test(peer, a_proof_cannot_be_reflected, .timeout = 30)
{
	struct pair pp;
	struct hello a_dialing, a_called, x;
	char lport[16], target[32], line[256];
	int lfd = ports_listener(lport, sizeof(lport));

	pair_ports(&pp);
	snprintf(target, sizeof(target), "127.0.0.1:%s", lport);
	char *argv[] = { "PEER", "-l", pp.port_a, "-c", target, "-n", "A",
		NULL };
	setenv("HUBCHAT_PEER_SECRET", "s3cret", 1);
	proc_start(&pp.a, argv);
	unsetenv("HUBCHAT_PEER_SECRET");
	struct pollfd pf = { .fd = lfd, .events = POLLIN };
	cr_assert(poll(&pf, 1, WAIT_MS) == 1, "A did not dial");
	struct conn *dialed = calloc(1, sizeof(*dialed));
	dialed->fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	read_hello(dialed, &a_dialing);
	struct conn *call = conn_open_raw(atoi(pp.port_a));
	read_hello(call, &a_called);
	x = tess;
	memcpy(x.challenge, a_called.challenge, sizeof(x.challenge));
	conn_send(dialed, "HELLO %s %s %s %s\n", x.nonce, x.name, x.challenge,
	    x.auth);
	cr_assert(conn_read_line(dialed, line, sizeof(line), WAIT_MS));
	cr_assert(strncmp(line, "PROOF ", 6) == 0, "%s", line);
	conn_send(call, "HELLO %s %s %s %s\n%s\n", tess.nonce, tess.name,
	    tess.challenge, tess.auth, line);
	expect_hung_up(&pp, call, "wrong secret: its proof did not match");
	conn_close(dialed);
	close(lfd);
	proc_close_stdin(&pp.a);
	cr_assert_eq(proc_wait(&pp.a, WAIT_MS), 0, "%s", pp.a.text);
	cr_assert_null(strstr(pp.a.text, "* connected"), "%s", pp.a.text);
}

/* ---- Options and commands (issue 13) ----------------------------------- */

Test(peer, help_version_and_bad_options, .timeout = 30)
{
	char *help[] = { "PEER", "--help", NULL };
	char *version[] = { "PEER", "--version", NULL };
	char *bogus[] = { "PEER", "--bogus", NULL };
	char *empty[] = { "PEER", "-l", "8080", "-c", "127.0.0.1:8081",
		"--secret", "", NULL };
	struct proc p;

	proc_start(&p, help);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	cr_assert(strncmp(p.text, "usage: peer -l ", 15) == 0, "%s", p.text);
	cr_assert(strstr(p.text, "--any-peer"), "%s", p.text);
	cr_assert(strstr(p.text, "$HUBCHAT_PEER_SECRET"), "%s", p.text);
	proc_start(&p, version);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0, "%s", p.text);
	cr_assert(strncmp(p.text, "hubchat peer ", 13) == 0, "%s", p.text);
	proc_start(&p, bogus);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 2, "%s", p.text);
	cr_assert(strncmp(p.text, "peer: unknown option: --bogus", 29) == 0,
	    "%s", p.text);
	proc_start(&p, empty);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 2, "%s", p.text);
	cr_assert(strstr(p.text, "peer: an empty --secret"), "%s", p.text);
}

Test(peer, long_options_link_too, .timeout = 30)
{
	struct pair pp;
	char la[32], ca[48], lb[32], cb[48];

	pair_ports(&pp);
	snprintf(la, sizeof(la), "--listen=%s", pp.port_a);
	snprintf(ca, sizeof(ca), "--connect=%s", pp.target_a);
	snprintf(lb, sizeof(lb), "--listen=%s", pp.port_b);
	snprintf(cb, sizeof(cb), "--connect=%s", pp.target_b);
	char *a[] = { "PEER", la, ca, "--name=A", "--addr", "127.0.0.1", NULL };
	char *b[] = { "PEER", lb, cb, "--name", "B", NULL };
	proc_start(&pp.a, a);
	proc_start(&pp.b, b);
	expect_one_shared_link(&pp);
	expect_lines_cross(&pp, 1);
	expect_clean_end(&pp);
}

Test(peer, help_and_who_are_answered_here, .timeout = 30)
{
	struct pair pp;

	pair_ports(&pp);
	start_a(&pp);
	start_b(&pp);
	expect_one_shared_link(&pp);
	proc_write(&pp.a, "/help\n/bogus\n//slashed\n");
	cr_assert(proc_wait_output(&pp.b, "] A: /slashed\n", WAIT_MS), "%s",
	    pp.b.text);
	cr_assert(proc_wait_output(&pp.a, "\n  /who ", WAIT_MS), "%s",
	    pp.a.text);
	cr_assert(proc_wait_output(&pp.a, "! unknown command /bogus", WAIT_MS),
	    "%s", pp.a.text);
	cr_assert(strstr(pp.a.text, " is at 127.0.0.1:"), "%s", pp.a.text);
	cr_assert_null(strstr(pp.b.text, "A: /help"), "%s", pp.b.text);
	cr_assert_null(strstr(pp.b.text, "A: /who"), "%s", pp.b.text);
	cr_assert_null(strstr(pp.b.text, "A: /bogus"), "%s", pp.b.text);
	expect_clean_end(&pp);
}
