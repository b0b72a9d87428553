/*
 * test_cluster.c - several nodes as one chat over a real redis-server
 * (--redis), each test with its own Redis and nodes on free loopback
 * ports: chat, WHO, ROOMS, notices and DMs across nodes; one order for
 * every receiver on every node under concurrent senders; the name race;
 * the join guarantee across nodes; and the faults: Redis unreachable at
 * start, Redis gone and back empty, a node killed, a subscriber cut off by
 * Redis's output buffer limit. Skipped when redis-server is not installed
 * (make test-cluster installs it).
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "redisd.h"
#include "resp.h"
#include "resp_conn.h"

static struct redisd rds;
static char redis_addr[64];

static void
cluster_up(void)
{
	redisd_start(&rds);
	snprintf(redis_addr, sizeof(redis_addr), "127.0.0.1:%s", rds.port);
}

static void
cluster_down(void)
{
	redisd_stop(&rds);
}

TestSuite(cluster, .init = cluster_up, .fini = cluster_down, .timeout = 60);

/* A node of this test's cluster, with the extra flags given. Flood
 * control is off: the tests send bursts on purpose. */
#define node_start(s, id, ...) \
	server_start((s), "--redis", redis_addr, "--node-id", (id), \
	    "--flood-rate", "0", "--max-per-addr", "0", ##__VA_ARGS__, NULL)

/* Reads lines until one equals want, skipping the others, within ms. */
static bool
wait_line(struct conn *c, const char *want, int ms)
{
	long long deadline = now_ms() + ms;
	char line[2048];

	while (now_ms() < deadline)
		if (conn_read_line(c, line, sizeof(line), (int)(deadline -
		    now_ms())) && strcmp(line, want) == 0)
			return true;
	return false;
}

/* Asks WHO until the reply is want (the cluster's view settles within a
 * lease), or ms pass. */
static bool
wait_who(struct conn *c, const char *want, int ms)
{
	long long deadline = now_ms() + ms;
	char line[2048];

	while (now_ms() < deadline) {
		conn_send(c, "WHO\n");
		line[0] = '\0';
		while (conn_read_line(c, line, sizeof(line), WAIT_MS) &&
		    strncmp(line, "USERS", 5) != 0)
			;
		if (strcmp(line, want) == 0)
			return true;
		poll(NULL, 0, 100);     /* the lease runs on Redis's clock */
	}
	return false;
}

/* Runs a command on Redis; its reply (the caller frees it). */
static struct resp_reply *
redis_do(int argc, const char **argv)
{
	struct resp_conn *c = redisd_conn(&rds);
	struct resp_reply *r = resp_conn_command(c, WAIT_MS, argc, argv, NULL);

	cr_assert_not_null(r, "%s: %s", argv[0], resp_conn_error(c));
	resp_conn_close(c);
	return r;
}

/* Two nodes, A and B (with --name-lease lease, when not NULL), alice
 * logged in on A and bob on B, and alice told bob joined. */
static void
pair_start(struct server *a, struct server *b, const char *lease,
    struct conn **alice, struct conn **bob)
{
	if (lease != NULL) {
		node_start(a, "A", "--name-lease", lease);
		node_start(b, "B", "--name-lease", lease);
	} else {
		node_start(a, "A");
		node_start(b, "B");
	}
	*alice = conn_login(a->port, "alice");
	*bob = conn_login(b->port, "bob");
	conn_expect(*alice, "INFO bob joined");
}

/* Closes both and stops both nodes, which must exit cleanly. */
static void
pair_stop(struct server *a, struct server *b, struct conn *alice,
    struct conn *bob)
{
	conn_close(alice);
	conn_close(bob);
	cr_assert_eq(server_stop(a, SIGTERM, 5000), 0);
	cr_assert_eq(server_stop(b, SIGTERM, 5000), 0);
}

/* ---- One chat across nodes ------------------------------------------------ */

Test(cluster, three_nodes_are_one_chat)
{
	struct server a, b, c;
	node_start(&a, "A");
	node_start(&b, "B");
	node_start(&c, "C");
	struct conn *alice = conn_login(a.port, "alice");
	struct conn *bob = conn_login(b.port, "bob");
	conn_expect(alice, "INFO bob joined");
	struct conn *carol = conn_login(c.port, "carol");
	conn_expect(alice, "INFO carol joined");
	conn_expect(bob, "INFO carol joined");

	conn_send(alice, "MSG hello from A\n");
	conn_expect(bob, "MSG alice hello from A");
	conn_expect(carol, "MSG alice hello from A");
	conn_expect_quiet(alice);               /* no echo, as on one node */
	kill(a.pid, SIGUSR1);
	cr_assert(server_log_wait(&a, "redis=up published=1 ", WAIT_MS));
	conn_send(carol, "WHO\n");
	conn_expect(carol, "USERS alice bob carol");
	conn_send(carol, "DM alice psst\nDM nobody hi\n");
	conn_expect(alice, "DM carol psst");
	conn_expect(carol, "ERR no-such-user nobody");

	/* The name is the cluster's, ignoring case. */
	struct conn *x = conn_open(c.port);
	conn_send(x, "LOGIN ALICE\n");
	conn_expect_err(x, "username-taken");

	conn_send(bob, "JOIN #Rust\n");
	conn_expect(bob, "OK");
	conn_expect(alice, "INFO bob left");
	conn_expect(carol, "INFO bob left");
	conn_send(alice, "ROOMS\n");
	conn_expect(alice, "ROOMS #lobby 2 #Rust 1");
	conn_send(alice, "WHO #rust\n");
	conn_expect(alice, "USERS bob");
	conn_send(carol, "JOIN #rust\n");
	conn_expect(carol, "OK");
	conn_expect(bob, "INFO carol joined");
	conn_expect(alice, "INFO carol left");
	conn_send(carol, "MSG rust is here\n");
	conn_expect(bob, "MSG carol rust is here");
	conn_expect_quiet(alice);               /* another room */

	/* A name given back is free at once, on any node. */
	conn_send(alice, "QUIT\n");
	conn_expect(alice, "INFO bye");
	conn_send(x, "LOGIN alice\n");
	conn_expect(x, "OK");
	conn_close(alice);
	conn_close(bob);
	conn_close(carol);
	conn_close(x);
	cr_assert_eq(server_stop(&a, SIGTERM, 5000), 0);
	cr_assert_eq(server_stop(&b, SIGTERM, 5000), 0);
	cr_assert_eq(server_stop(&c, SIGTERM, 5000), 0);
}

/* A name given back is free in Redis before its user hears "INFO bye":
 * another node may hand it out at once. The leave used to be queued and
 * not waited for, so a LOGIN elsewhere could beat it to Redis (seen once
 * in CI: three_nodes_are_one_chat got username-taken). With Redis frozen,
 * the old code said INFO bye at once, the name still held; now INFO bye
 * waits for Redis, and the name is free when it comes. */
Test(cluster, a_name_is_free_in_redis_when_its_user_hears_bye, .timeout = 30)
{
	struct server a;
	char line[256];
	node_start(&a, "A");
	struct conn *c = conn_login(a.port, "leaver");

	redisd_signal(&rds, SIGSTOP);
	conn_send(c, "QUIT\n");
	bool early = conn_read_line(c, line, sizeof(line), 300);
	redisd_signal(&rds, SIGCONT);
	cr_assert(!early, "said \"%s\" while Redis, frozen, still held the "
	    "name", line);
	conn_expect(c, "INFO bye");
	const char *exists[] = { "EXISTS", "hubchat:name:leaver" };
	struct resp_reply *v = redis_do(2, exists);
	cr_assert_eq(resp_integer(v), 0, "the name is still held");
	resp_reply_free(v);
	conn_close(c);
	cr_assert_eq(server_stop(&a, SIGTERM, 5000), 0);
}

/* ---- One order -------------------------------------------------------------- */

#define SENDERS 3
#define PER_SENDER 300

struct listener {
	struct conn *c;
	char (*got)[32];        /* "s<i> <k>" of each MSG, in arrival order */
	int n;
};

static void *
listen_all(void *arg)
{
	struct listener *l = arg;
	char line[256];

	while (l->n < SENDERS * PER_SENDER &&
	    conn_read_line(l->c, line, sizeof(line), 20000))
		if (strncmp(line, "MSG ", 4) == 0)
			snprintf(l->got[l->n++], 32, "%s", strchr(line + 4, ' ')
			    + 1);
	return NULL;
}

/* Three senders, one on each node, send at once; a receiver on each node
 * must see all 900 lines in one and the same order, each sender's in the
 * order sent. */
Test(cluster, every_receiver_on_every_node_sees_one_order, .timeout = 90)
{
	struct server node[3];
	struct conn *sender[SENDERS];
	struct listener l[3];
	pthread_t t[3];
	char name[16];

	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "N%d", i);
		node_start(&node[i], name);
	}
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		l[i] = (struct listener){ conn_login(node[i].port, name),
		    calloc(SENDERS * PER_SENDER, 32), 0 };
		cr_assert_not_null(l[i].got);
	}
	for (int i = 0; i < SENDERS; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		sender[i] = conn_login(node[i].port, name);
	}
	for (int i = 0; i < 3; i++)
		conn_sync(l[i].c);              /* past the join notices */
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, listen_all, &l[i]);
	static char burst[SENDERS][PER_SENDER * 24];
	for (int i = 0; i < SENDERS; i++) {
		size_t o = 0;
		for (int k = 0; k < PER_SENDER; k++)
			o += (size_t)sprintf(burst[i] + o, "MSG s%d %d\n", i, k);
	}
	for (int i = 0; i < SENDERS; i++)
		conn_send_raw(sender[i], burst[i], strlen(burst[i]));
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);

	for (int i = 0; i < 3; i++) {
		cr_assert_eq(l[i].n, SENDERS * PER_SENDER, "r%d got %d", i,
		    l[i].n);
		int next[SENDERS] = { 0 };
		for (int j = 0; j < l[i].n; j++) {
			int s, k;
			cr_assert_eq(sscanf(l[i].got[j], "s%d %d", &s, &k), 2);
			cr_assert_eq(k, next[s]++, "r%d: s%d out of order", i, s);
			cr_assert_str_eq(l[i].got[j], l[0].got[j],
			    "r%d and r0 differ at line %d: %s, %s", i, j,
			    l[i].got[j], l[0].got[j]);
		}
	}
	for (int i = 0; i < 3; i++) {
		free(l[i].got);
		conn_close(l[i].c);
	}
	for (int i = 0; i < SENDERS; i++)
		conn_close(sender[i]);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(server_stop(&node[i], SIGTERM, 5000), 0);
}

/* ---- Names ------------------------------------------------------------------ */

/* Two nodes, one name, both LOGINs sent before either is read: exactly
 * one OK, forty times over. */
Test(cluster, two_nodes_one_name_exactly_one_ok)
{
	struct server a, b;
	node_start(&a, "A");
	node_start(&b, "B");
	char line[256], want[64];

	for (int round = 0; round < 40; round++) {
		struct conn *x = conn_open(a.port), *y = conn_open(b.port);
		conn_send(x, "LOGIN Race%d\n", round);
		conn_send(y, "LOGIN race%d\n", round);
		int ok = 0, taken = 0;
		struct conn *both[] = { x, y };
		for (int i = 0; i < 2; i++) {
			cr_assert(conn_read_line(both[i], line, sizeof(line),
			    WAIT_MS));
			ok += strcmp(line, "OK") == 0;
			taken += line_is_err(line, "username-taken");
		}
		cr_assert(ok == 1 && taken == 1, "round %d: %d OK, %d taken",
		    round, ok, taken);
		conn_close(x);
		conn_close(y);
	}
	/* Each winner left when it closed: the names are free again. */
	struct conn *z = conn_open(a.port);
	snprintf(want, sizeof(want), "%s", "OK");
	conn_send(z, "LOGIN race39\n");
	for (int tries = 0; tries < 50; tries++) {
		cr_assert(conn_read_line(z, line, sizeof(line), WAIT_MS));
		if (strcmp(line, want) == 0)
			break;
		poll(NULL, 0, 20);      /* the winner's release is on its way */
		conn_send(z, "LOGIN race39\n");
	}
	cr_assert_str_eq(line, "OK");
	conn_close(z);
	cr_assert_eq(server_stop(&a, SIGTERM, 5000), 0);
	cr_assert_eq(server_stop(&b, SIGTERM, 5000), 0);
}

/* ---- The join guarantee across nodes ----------------------------------------- */

struct talker {
	struct conn *c;
	const char *name;
	int sent;
	atomic_bool stop;
};

static void *
talk(void *arg)
{
	struct talker *t = arg;

	/* Until told to stop (bounded all the same), at most about ten
	 * thousand lines a second: the joiners must find them still
	 * talking, however fast the machine. */
	while (!atomic_load(&t->stop) && t->sent < 1000000 &&
	    conn_try_send(t->c, "MSG %s %d\n", t->name, t->sent))
		if (++t->sent % 10 == 0)
			poll(NULL, 0, 1);
	return NULL;
}

/* A joiner's history then live lines: for each talker, its numbers from
 * the first seen on are consecutive, none missing, none twice. With
 * need_hist, some history comes first (the first joiner may come before
 * anything was said). */
static void
check_joiner(struct conn *j, int port_name, bool need_hist)
{
	char line[512], who[16];
	int next[2] = { -1, -1 }, seen = 0, hist = 0, k;

	conn_expect(j, "OK");
	while (seen < 400 && conn_read_line(j, line, sizeof(line), WAIT_MS)) {
		const char *text = NULL;
		if (strncmp(line, "HIST ", 5) == 0) {
			text = strchr(strchr(line + 5, ' ') + 1, ' ') + 1;
			cr_assert(seen == hist++, "joiner %d: %s after a live "
			    "line", port_name, line);
		} else if (strncmp(line, "MSG ", 4) == 0)
			text = strchr(line + 4, ' ') + 1;
		if (text == NULL || sscanf(text, "%15s %d", who, &k) != 2)
			continue;
		int s = who[1] - '1';
		cr_assert(s == 0 || s == 1, "%s", line);
		cr_assert(next[s] < 0 || k == next[s], "joiner %d: %s after "
		    "%d: a gap or a line twice", port_name, line, next[s] - 1);
		next[s] = k + 1;
		seen++;
	}
	cr_assert_eq(seen, 400, "joiner %d saw %d lines", port_name, seen);
	cr_assert(!need_hist || hist > 0, "joiner %d got no history",
	    port_name);
}

Test(cluster, a_joiner_on_any_node_gets_history_then_every_line_once,
    .timeout = 90)
{
	struct server node[3];
	struct talker t[2] = { { .name = "t1" }, { .name = "t2" } };
	pthread_t th[2];

	node_start(&node[0], "N0", "--history", "50");
	node_start(&node[1], "N1", "--history", "50");
	node_start(&node[2], "N2", "--history", "50");
	for (int i = 0; i < 2; i++) {
		t[i].c = conn_login(node[i].port, t[i].name);
		conn_send(t[i].c, "JOIN #busy\n");
		conn_expect(t[i].c, "OK");
	}
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, talk, &t[i]);
	for (int round = 0; round < 6; round++) {
		char name[16];
		snprintf(name, sizeof(name), "j%d", round);
		struct conn *j = conn_login(node[round % 3].port, name);
		conn_sync(j);
		conn_send(j, "JOIN #busy\n");
		check_joiner(j, round, round > 0);
		conn_close(j);
	}
	for (int i = 0; i < 2; i++) {
		atomic_store(&t[i].stop, true);
		shutdown(t[i].c->fd, SHUT_RDWR);
		pthread_join(th[i], NULL);
		conn_close(t[i].c);
	}
	for (int i = 0; i < 3; i++)
		cr_assert_eq(server_stop(&node[i], SIGTERM, 5000), 0);
}

/* ---- Faults --------------------------------------------------------------------- */

Test(cluster, redis_unreachable_at_start_is_a_clear_error)
{
	char addr[64], line[512] = "";
	int fds[2];

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", free_port());
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		const char *bin = getenv("HUBCHAT_SERVER");
		dup2(fds[1], 2);
		execl(bin != NULL ? bin : "./server", "server", "-p", "0",
		    "--redis", addr, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	struct conn err = { .fd = fds[0] };
	cr_assert(conn_read_line(&err, line, sizeof(line), WAIT_MS));
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	    "status %d", status);
	cr_assert(strstr(line, "--redis") != NULL && strstr(line, addr) !=
	    NULL && strstr(line, "cannot connect") != NULL, "%s", line);
	close(fds[0]);
}

/* Redis goes away: senders and logins are refused in words, clients stay
 * connected and are told; Redis comes back empty: the names are held
 * again (no one can take them), the clients are told, chat works. */
Test(cluster, redis_gone_then_back_empty, .timeout = 60)
{
	struct server a, b;
	struct conn *alice, *bob;
	pair_start(&a, &b, NULL, &alice, &bob);

	redisd_signal(&rds, SIGKILL);
	cr_assert(wait_line(alice, "INFO the cluster cannot be reached: some "
	    "messages may be missing until it is back", WAIT_MS));
	conn_send(alice, "MSG into the void\n");
	conn_expect_err(alice, "cluster-unavailable");
	struct conn *late = conn_open(a.port);
	conn_send(late, "LOGIN latecomer\n");
	conn_expect_err(late, "cluster-unavailable");
	conn_send(alice, "WHO\nROOMS\nWHO #lobby\n");
	conn_expect_err(alice, "cluster-unavailable");
	conn_expect_err(alice, "cluster-unavailable");
	conn_expect_err(alice, "cluster-unavailable");
	conn_send(alice, "PING still here\n");
	conn_expect(alice, "PONG still here");
	cr_assert(server_log_wait(&a, "[CLUSTER] lost Redis", WAIT_MS));
	kill(a.pid, SIGUSR1);
	cr_assert(server_log_wait(&a, " redis=down ", WAIT_MS));

	redisd_restart(&rds);                   /* empty: no persistence */
	cr_assert(wait_line(alice, "INFO the cluster is back: some messages "
	    "may be missing", 15000));
	cr_assert(wait_line(bob, "INFO the cluster is back: some messages may "
	    "be missing", 15000));
	cr_assert(server_log_wait(&a, "is back; the names held here", WAIT_MS));
	conn_send(late, "LOGIN bob\n");         /* bob's, again */
	conn_expect_err(late, "username-taken");
	conn_send(alice, "MSG hello again\n");
	conn_expect(bob, "MSG alice hello again");
	conn_send(bob, "WHO\n");
	conn_expect(bob, "USERS alice bob");
	conn_close(alice);
	conn_close(bob);
	conn_close(late);
	cr_assert_eq(server_stop(&a, SIGTERM, 5000), 0);
	cr_assert_eq(server_stop(&b, SIGTERM, 5000), 0);
}

/* A node killed with SIGKILL: within its lease (2 s here), its users are
 * gone from WHO, announced gone, and their names free. */
Test(cluster, a_killed_nodes_users_vanish_within_the_lease, .timeout = 60)
{
	struct server a, b;
	struct conn *alice, *bob;
	pair_start(&a, &b, "2", &alice, &bob);
	long long t0 = now_ms();

	kill(b.pid, SIGKILL);
	cr_assert(wait_line(alice, "INFO bob disconnected", 10000));
	cr_assert(wait_who(alice, "USERS alice", 10000));
	struct conn *x = conn_open(a.port);
	conn_send(x, "LOGIN bob\n");
	conn_expect(x, "OK");
	cr_assert(now_ms() - t0 < 2 * 2000 + 2000, "took %lld ms",
	    now_ms() - t0);
	conn_close(alice);
	conn_close(bob);
	conn_close(x);
	server_stop(&b, SIGKILL, 5000);
	cr_assert_eq(server_stop(&a, SIGTERM, 5000), 0);
}

/* A node frozen while the bus runs on: Redis cuts its subscriber at the
 * pub/sub output buffer limit. Thawed, the node says so, tells its
 * clients some messages may be missing, reads its rooms back and goes
 * on. */
Test(cluster, a_subscriber_cut_by_the_output_limit_recovers, .timeout = 60)
{
	struct server a, b;
	node_start(&a, "A");
	node_start(&b, "B", "--queue-hard", "64M", "--queue-soft", "0");
	const char *limit[] = { "CONFIG", "SET", "client-output-buffer-limit",
	    "pubsub 64kb 0 0" };
	resp_reply_free(redis_do(4, limit));
	struct conn *alice = conn_login(a.port, "alice");
	struct conn *bob = conn_login(b.port, "bob");
	conn_expect(alice, "INFO bob joined");
	/* 12 MB: past what the frozen node's socket buffers take, so the
	 * rest piles up in Redis's output buffer for it. */
	static char burst[12000 * 1010];
	size_t o = 0;
	for (int k = 0; k < 12000; k++)
		o += (size_t)sprintf(burst + o, "MSG %01000d\n", k);

	kill(b.pid, SIGSTOP);
	conn_send_raw(alice, burst, o);
	conn_sync(alice);                       /* Redis has taken them all */
	kill(b.pid, SIGCONT);
	cr_assert(server_log_wait(&b, "[CLUSTER] lost the bus", 10000));
	cr_assert(wait_line(bob, "INFO the cluster cannot be reached: some "
	    "messages may be missing until it is back", 10000));
	cr_assert(wait_line(bob, "INFO the cluster is back: some messages may "
	    "be missing", 10000));
	conn_send(alice, "MSG after the gap\n");
	cr_assert(wait_line(bob, "MSG alice after the gap", 10000));
	pair_stop(&a, &b, alice, bob);
}

/* Redis comes back from an older snapshot (a restore, or a crash with
 * appendfsync everysec): its numbers go back. The nodes see it when they
 * read their rooms back, start from what Redis has, and deliver what is
 * said after it, where they would have taken the new lines, numbered as
 * lines they had, for lines already had. */
Test(cluster, redis_back_from_an_older_snapshot_loses_no_new_line,
    .timeout = 60)
{
	struct server a, b;
	struct conn *alice, *bob;
	pair_start(&a, &b, NULL, &alice, &bob);
	const char *save[] = { "SAVE" };

	conn_send(alice, "MSG one\nMSG two\n");
	conn_expect(bob, "MSG alice one");
	conn_expect(bob, "MSG alice two");
	resp_reply_free(redis_do(1, save));     /* the snapshot: two lines */
	conn_send(alice, "MSG three\nMSG four\nMSG five\n");
	conn_expect(bob, "MSG alice three");
	conn_expect(bob, "MSG alice four");
	conn_expect(bob, "MSG alice five");
	redisd_signal(&rds, SIGKILL);
	redisd_restart(&rds);                   /* reads the snapshot back */
	cr_assert(wait_line(bob, "INFO the cluster is back: some messages may "
	    "be missing", 15000));
	cr_assert(wait_line(alice, "INFO the cluster is back: some messages "
	    "may be missing", 15000));
	conn_send(alice, "MSG six\nMSG seven\n");
	conn_expect(bob, "MSG alice six");
	conn_expect(bob, "MSG alice seven");
	conn_send(bob, "HISTORY\n");           /* as Redis has it */
	char line[512];
	const char *want[] = { "one", "two", "six", "seven" };
	for (int i = 0; i < 4; i++) {
		cr_assert(conn_read_line(bob, line, sizeof(line), WAIT_MS));
		cr_assert(strncmp(line, "HIST ", 5) == 0 &&
		    strstr(line, " alice ") != NULL &&
		    strcmp(strrchr(line, ' ') + 1, want[i]) == 0, "%s", line);
	}
	conn_expect(bob, "OK");
	pair_stop(&a, &b, alice, bob);
}

/* Anyone who can reach Redis can publish on the bus. Lines that are not
 * Redis's own (numbered far ahead, past the next one, another epoch, too
 * long, malformed, a batch with an empty text or too many texts, a batch
 * numbered far ahead) are dropped: the room goes on, its members hear
 * none of them, and the drops are counted: a malformed message once, a
 * line out of sequence once each. A line numbered far ahead used
 * to be taken as the newest, and every real line after it dropped as one
 * the room had: the room fell silent. */
Test(cluster, forged_bus_lines_are_dropped_and_silence_no_room)
{
	struct server a, b;
	struct conn *alice, *bob;
	pair_start(&a, &b, NULL, &alice, &bob);
	conn_send(alice, "MSG real one\n");
	conn_expect(bob, "MSG alice real one");
	const char *get[] = { "GET", "hubchat:epoch" };
	struct resp_reply *r = redis_do(2, get);
	char epoch[64], big[2001], forged[9][2200];
	snprintf(epoch, sizeof(epoch), "%s", resp_str(r, NULL));
	resp_reply_free(r);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	const char *at = "2026-11-29T10:00:00Z mallory";
	snprintf(forged[0], sizeof(forged[0]), "M lobby %s 99999999999 %s far "
	    "ahead", epoch, at);
	snprintf(forged[1], sizeof(forged[1]), "M lobby %s 3 %s one past the "
	    "next", epoch, at);
	snprintf(forged[2], sizeof(forged[2]), "M lobby %s 2 %s %s", epoch, at,
	    big);
	snprintf(forged[3], sizeof(forged[3]), "M lobby 0ff1ce 2 %s another "
	    "epoch", at);
	snprintf(forged[4], sizeof(forged[4]), "M lobby %s 2x %s a bad number",
	    epoch, at);
	snprintf(forged[5], sizeof(forged[5]), "M lobby %s 2 yesterday mallory "
	    "a bad time", epoch);
	/* Batches: one with an empty text, one of 65 texts (64 at most). */
	snprintf(forged[6], sizeof(forged[6]), "M lobby %s 2 %s one\n\ntwo",
	    epoch, at);
	int len = snprintf(forged[7], sizeof(forged[7]), "M lobby %s 2 %s t",
	    epoch, at);
	for (int i = 1; i < 65; i++)
		len += snprintf(forged[7] + len, sizeof(forged[7]) - len, "\nt");
	/* A batch of 64 numbered far ahead: each line is dropped, counted. */
	len = snprintf(forged[8], sizeof(forged[8]), "M lobby %s 88888888888 "
	    "%s t", epoch, at);
	for (int i = 1; i < 64; i++)
		len += snprintf(forged[8] + len, sizeof(forged[8]) - len, "\nt");
	for (int i = 0; i < 9; i++) {
		const char *pub[] = { "PUBLISH", "hubchat:bus", forged[i] };
		resp_reply_free(redis_do(3, pub));
	}

	conn_send(alice, "MSG real two\n");
	conn_expect(bob, "MSG alice real two");         /* and nothing else */
	conn_send(bob, "MSG and back\n");
	conn_expect(alice, "MSG bob and back");
	kill(b.pid, SIGUSR1);
	cr_assert(server_log_wait(&b, " bus-dropped=72", WAIT_MS));
	cr_assert(server_log_wait(&b, "room=#lobby dropped a bus line",
	    WAIT_MS));
	cr_assert(server_log_wait(&b, "dropped a bus message: ", WAIT_MS));
	pair_stop(&a, &b, alice, bob);
}

/* FLUSHALL (or a Redis that restarts empty while the bus stays up): the
 * numbers start again at 1. The nodes see Redis's epoch change, forget
 * every room's history, say so, and the chat goes on: the first line
 * after the flush is delivered, not taken for one already had. */
Test(cluster, redis_flushed_under_the_nodes_loses_history_not_the_chat)
{
	struct server a, b;
	struct conn *alice, *bob;
	pair_start(&a, &b, "2", &alice, &bob);
	conn_send(alice, "MSG before\nMSG the flush\n");
	conn_expect(bob, "MSG alice before");
	conn_expect(bob, "MSG alice the flush");
	const char *flush[] = { "FLUSHALL" };
	resp_reply_free(redis_do(1, flush));

	conn_send(alice, "MSG after the flush\n");
	conn_expect(bob, "INFO the cluster lost its history: some messages may "
	    "be missing");
	conn_expect(bob, "MSG alice after the flush");
	conn_send(alice, "MSG and again\n");
	conn_expect(bob, "MSG alice and again");
	conn_send(bob, "HISTORY\n");
	char line[512];
	const char *want[] = { "after the flush", "and again" };
	for (int i = 0; i < 2; i++) {
		cr_assert(conn_read_line(bob, line, sizeof(line), WAIT_MS));
		cr_assert(strncmp(line, "HIST ", 5) == 0 && strcmp(line +
		    strlen(line) - strlen(want[i]), want[i]) == 0, "%s", line);
	}
	conn_expect(bob, "OK");
	cr_assert(wait_who(bob, "USERS alice bob", 10000));     /* re-held */
	pair_stop(&a, &b, alice, bob);
}

/* A Redis that hangs (frozen with SIGSTOP: its sockets stay open and say
 * nothing, as a half-open connection would) is found out by the bus
 * alone, with nobody talking: a quiet bus is asked PING, and one that
 * stays silent is lost. The clients are told; thawed, it is back. */
Test(cluster, a_hung_redis_is_noticed_by_a_quiet_bus, .timeout = 60)
{
	struct server a;
	node_start(&a, "A");
	struct conn *alice = conn_login(a.port, "alice");

	redisd_signal(&rds, SIGSTOP);
	cr_assert(wait_line(alice, "INFO the cluster cannot be reached: some "
	    "messages may be missing until it is back", 10000));
	cr_assert(server_log_wait(&a, "said nothing for", WAIT_MS));
	kill(rds.pid, SIGCONT);
	cr_assert(wait_line(alice, "INFO the cluster is back: some messages "
	    "may be missing", 20000));
	conn_close(alice);
	cr_assert_eq(server_stop(&a, SIGTERM, 5000), 0);
}

/* SCRIPT FLUSH (or a failover to a Redis that never loaded them): the
 * scripts are gone. The line that finds out fails in words; the node
 * connects again, loads them, and the next line goes through. They used
 * to fail for good. */
Test(cluster, scripts_flushed_from_redis_are_loaded_again)
{
	struct server a, b;
	struct conn *alice, *bob;
	pair_start(&a, &b, NULL, &alice, &bob);
	const char *flush[] = { "SCRIPT", "FLUSH" };
	resp_reply_free(redis_do(2, flush));

	conn_send(alice, "MSG lost\n");
	conn_expect_err(alice, "cluster-unavailable");
	cr_assert(server_log_wait(&a, "is back; the names held here", WAIT_MS));
	conn_send(alice, "MSG found\n");
	conn_expect(bob, "MSG alice found");
	pair_stop(&a, &b, alice, bob);
}

/* A user who leaves while Redis cannot be reached: the name is given back
 * there as soon as it answers again (and the others hear the user has
 * gone), not only when its lease runs out, 30 s here. */
Test(cluster, a_name_left_while_redis_was_away_is_freed_when_it_is_back,
    .timeout = 60)
{
	struct server a, b;
	node_start(&a, "A", "--name-lease", "30");
	node_start(&b, "B", "--name-lease", "30");
	struct conn *alice = conn_login(a.port, "alice");
	struct conn *carol = conn_login(a.port, "carol");
	struct conn *bob = conn_login(b.port, "bob");
	conn_expect(alice, "INFO carol joined");
	conn_expect(alice, "INFO bob joined");

	redisd_signal(&rds, SIGSTOP);
	conn_send(alice, "MSG anyone?\n");     /* fails: A knows it is down */
	conn_expect_err(alice, "cluster-unavailable");
	conn_send(carol, "QUIT\n");
	conn_expect_eventually(carol, "INFO bye");
	conn_close(carol);
	kill(rds.pid, SIGCONT);
	cr_assert(wait_line(bob, "INFO carol disconnected", 15000));
	struct conn *x = conn_open(b.port);
	conn_send(x, "LOGIN carol\n");
	conn_expect(x, "OK");
	conn_close(x);
	pair_stop(&a, &b, alice, bob);
}

/* Only the epoch key is lost (deleted, or overwritten with something that
 * is not an epoch): Redis's rooms and numbers are all there. The nodes
 * take the new epoch, read their rooms back, find nothing missing, and
 * replay nothing: the members get the next line, not the room's whole
 * history again, and no "lost its history". */
Test(cluster, an_epoch_lost_alone_replays_nothing)
{
	struct server a, b;
	struct conn *alice, *bob;
	pair_start(&a, &b, NULL, &alice, &bob);
	conn_send(alice, "MSG one\nMSG two\nMSG three\n");
	conn_expect(bob, "MSG alice one");
	conn_expect(bob, "MSG alice two");
	conn_expect(bob, "MSG alice three");
	const char *del[] = { "DEL", "hubchat:epoch" };
	resp_reply_free(redis_do(2, del));
	conn_send(alice, "MSG four\n");
	conn_expect(bob, "MSG alice four");
	const char *bad[] = { "SET", "hubchat:epoch", "not an epoch" };
	resp_reply_free(redis_do(3, bad));
	conn_send(alice, "MSG five\n");
	conn_expect(bob, "MSG alice five");
	conn_sync(bob);                         /* and nothing else */
	cr_assert(server_log_wait(&b, "Redis's epoch changed", WAIT_MS));
	conn_send(bob, "HISTORY\n");
	const char *want[] = { "one", "two", "three", "four", "five" };
	char line[512];
	for (int i = 0; i < 5; i++) {
		cr_assert(conn_read_line(bob, line, sizeof(line), WAIT_MS));
		cr_assert(strncmp(line, "HIST ", 5) == 0 &&
		    strcmp(strrchr(line, ' ') + 1, want[i]) == 0, "%s", line);
	}
	conn_expect(bob, "OK");
	pair_stop(&a, &b, alice, bob);
}

/* A key of the wrong type where a room's history belongs: that room's
 * history reads as empty, logged; the bus, and every other room, go on.
 * It used to fail every read-back, so the bus was lost for every room. */
Test(cluster, a_history_key_of_the_wrong_type_costs_one_room_only)
{
	struct server a, b;
	struct conn *alice, *bob;
	pair_start(&a, &b, NULL, &alice, &bob);
	const char *set[] = { "SET", "hubchat:hist:lobby", "x" };
	resp_reply_free(redis_do(3, set));
	const char *pub[] = { "PUBLISH", "hubchat:bus",
	    "M lobby 0ff1ce 1 2026-11-29T10:00:00Z mallory another epoch" };
	resp_reply_free(redis_do(3, pub));      /* a read-back, on B too */
	const char *del[] = { "DEL", "hubchat:epoch" };
	resp_reply_free(redis_do(2, del));
	conn_send(alice, "JOIN #side\n");      /* reads #side: a read-back */
	conn_expect(alice, "OK");
	conn_send(bob, "JOIN #side\n");
	conn_expect_eventually(bob, "OK");
	conn_send(alice, "MSG still here\n");
	conn_expect_eventually(bob, "MSG alice still here");
	cr_assert(server_log_wait(&b, "room=#lobby: its history in Redis "
	    "cannot be read", WAIT_MS));
	cr_assert_eq(server_log_count(&b, "lost the bus"), 0);
	pair_stop(&a, &b, alice, bob);
}
