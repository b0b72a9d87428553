/*
 * server.c - the hubchat server: start-up, the accept loop, and shutdown.
 *
 * The story, in the order this file tells it:
 *   main         parses flags, opens the listening socket, turns SIGINT and
 *                SIGTERM into a readable fd, and runs the accept loop.
 *   accept loop  waits for three things: a connection, a signal, a finished
 *                session. A connection becomes a session (session.h) with
 *                a reader and a writer thread of its own; a finished
 *                session is joined.
 *   refusals     a connection the server cannot serve (full, or out of
 *                descriptors, memory or threads) gets one line saying why
 *                and is closed (refuse.h); everyone else carries on.
 *   shutdown     closes the stop pipe, which wakes every reader; each says
 *                goodbye, flushes (bounded) and ends; main joins them all.
 *
 * Ownership: the accept loop creates each session and starts it; from then
 * on the session's reader owns it and its fd, and tells the loop when it
 * has finished (server_session_done). The loop joins it and frees it.
 *
 * Signals are blocked in every thread and read from a signalfd (sigfd.h)
 * by the accept loop: no handler runs, so nothing locks or prints in one.
 * SIGINT, SIGTERM and SIGHUP (a closed terminal) stop the server
 * gracefully; SIGUSR1 logs a [STATS] line.
 *
 * The server's state is struct server (server_internal.h). This file
 * keeps the story; the parts it calls have files of their own: start-up's
 * sockets, hub and web listener (server_open.c), what the server logs and
 * serves about itself (server_report.c), the slots a session takes
 * (slots.h), refusing (refuse.h) and the signals (sigfd.h).
 */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "cluster.h"
#include "config.h"
#include "die.h"
#include "hub.h"
#include "log.h"
#include "msg.h"
#include "net.h"
#include "proto.h"
#include "refuse.h"
#include "rlimits.h"
#include "server_internal.h"
#include "session.h"
#include "sigfd.h"
#include "slots.h"
#include "stats.h"
#include "sync.h"
#include "web.h"

#define ACCEPT_BACKOFF_MS 100  /* pause after an accept failure */
#define FULL_WAIT_MS 250       /* when full, how long a newcomer may wait in
                                  the listen backlog for a slot to free */

/* In the order they appear; server_now_ms, which the server's other files
 * use too, is declared in server_internal.h with theirs. */
static void server_init(struct server *s, int argc, char **argv);
static void server_accept_loop(struct server *s);
static int server_listen_wait(struct server *s);
static bool server_signal(struct server *s);
static bool server_accept_one(struct server *s, int listen_fd,
    enum session_kind kind);
static bool server_admit(struct server *s, int fd, enum session_kind kind,
    const struct net_addr_key *key);
static bool server_accept_failed(struct server *s, int listen_fd,
    enum session_kind kind, int err);
static void server_session_done(struct session *c, void *arg);
static void server_reap(struct server *s);
static void server_shutdown(struct server *s);

int
main(int argc, char **argv)
{
	struct server s;

	server_init(&s, argc, argv);
	server_accept_loop(&s);
	server_shutdown(&s);
	return 0;
}

/* ---- Start-up ---------------------------------------------------------- */

static void
server_init(struct server *s, int argc, char **argv)
{
	memset(s, 0, sizeof(*s));
	config_parse(argc, argv, &s->cfg);
	sync_futex_buckets(2 * s->cfg.max_clients);   /* a reader, a writer */
	log_quiet = s->cfg.quiet;
	log_tracing = s->cfg.trace;
	s->signal_fd = sigfd_open();
	s->listen_fd = server_open_listen(s->cfg.addr, s->cfg.port);
	s->web_fd = -1;
	if (s->cfg.web_port[0] != '\0')
		server_open_web(s);
	server_open_fds(s);
	server_open_hub(s);
	server_open_env(s, server_session_done);
	s->started_ms = server_now_ms();
	server_report_warnings(s);
	/* The LISTEN line ends start-up: scripts and tests take it to mean
	 * "ready and idle", so start-up work such as the limits check
	 * (which reads /proc) comes before it. */
	server_report_listen(s);
}

/* ---- The accept loop --------------------------------------------------- */

/*
 * Runs until SIGINT, SIGTERM or SIGHUP. After an accept failure the
 * listening socket is left out of the poll for ACCEPT_BACKOFF_MS, so a
 * persistent failure (out of memory, say) costs ten wake-ups a second, not
 * a spinning core. While the server is full it is left out too, for up to
 * FULL_WAIT_MS (server_listen_wait). With --stats the poll also wakes for
 * the next [STATS].
 */
static void
server_accept_loop(struct server *s)
{
	struct pollfd pf[4] = {
		{ .fd = s->signal_fd, .events = POLLIN },
		{ .fd = s->reap_fd, .events = POLLIN },
		{ .fd = s->listen_fd, .events = POLLIN },
		{ .fd = s->web_fd, .events = POLLIN },
	};
	bool backoff = false;

	for (;;) {
		/* wait > 0: leave the listening sockets alone that long. */
		int timeout = server_report_due(s);
		int wait = backoff ? ACCEPT_BACKOFF_MS : server_listen_wait(s);
		if (wait > 0 && (timeout < 0 || timeout > wait))
			timeout = wait;
		pf[2].fd = wait > 0 ? -1 : s->listen_fd;
		pf[3].fd = wait > 0 ? -1 : s->web_fd;
		if (poll(pf, 4, timeout) < 0) {
			if (errno == EINTR)
				continue;
			die("poll:");
		}
		backoff = false;
		if ((pf[0].revents & POLLIN) && server_signal(s))
			return;
		if (pf[1].revents & POLLIN)
			server_reap(s);
		if (pf[2].revents & POLLIN)
			backoff = server_accept_one(s, s->listen_fd, SESSION_LINES);
		if (pf[3].revents & POLLIN)
			backoff |= server_accept_one(s, s->web_fd, SESSION_WEB);
		if (server_report_due(s) == 0)
			server_report_stats(s);
	}
}

/*
 * Whether to accept now: 0 yes, else the milliseconds to leave the
 * listening socket alone. A full server does not refuse a newcomer at once:
 * a session may be ending at this moment (a client that quit and at once
 * reconnected can be faster than the server seeing it go), and the one
 * that ends writes the reap eventfd, which wakes the loop. So newcomers
 * wait in the kernel's listen backlog for up to FULL_WAIT_MS; after that,
 * while the server stays full, each is refused with ERR server-full.
 */
static int
server_listen_wait(struct server *s)
{
	if (slots_in_use(s->slots) < s->cfg.max_clients) {
		s->full_until = 0;
		return 0;
	}
	int64_t now = server_now_ms();
	if (s->full_until == 0)
		s->full_until = now + FULL_WAIT_MS;
	return now >= s->full_until ? 0 : (int)(s->full_until - now);
}

/* Reads one signal: true when it asks the server to stop. */
static bool
server_signal(struct server *s)
{
	int signo = sigfd_read(s->signal_fd);

	if (signo == 0)
		return false;
	if (signo == SIGUSR1) {
		server_report_stats(s);
		return false;
	}
	log_event(LOG_SHUTDOWN, "signal=%s clients=%zu",
	    strsignal(signo), s->live);
	return true;
}

/* Accepts one connection and starts its session, or refuses it with one
 * line when the server is full or out of resources. Returns true when the
 * accept loop should back off. */
static bool
server_accept_one(struct server *s, int listen_fd, enum session_kind kind)
{
	struct net_addr_key key;
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return server_accept_failed(s, listen_fd, kind, errno);
	net_addr_key(fd, &key);
	if (!server_admit(s, fd, kind, &key))
		return false;
	struct session *c = session_new(&s->env, fd, ++s->next_id, &key, kind);
	if (c == NULL || session_start(c) != 0) {
		if (c == NULL)
			log_event(LOG_ERROR, "refused: out of memory");
		session_free(c);
		slots_give(s->slots, &key);
		stats_count(&s->stats.refused_busy);
		refuse_send(fd, kind, PROTO_ERR_BUSY);
		return true;
	}
	s->live++;
	stats_count(&s->stats.accepted);
	log_event(LOG_CONNECT, "id=%lu peer=%s clients=%zu", session_id(c),
	    session_peer(c), slots_in_use(s->slots));
	return false;
}

/* Takes a slot of --max-clients and one of --max-per-addr for fd (slots.h),
 * or refuses it (logged, told why, closed) and returns false. */
static bool
server_admit(struct server *s, int fd, enum session_kind kind,
    const struct net_addr_key *key)
{
	char peer[64], addr[64];

	switch (slots_take(s->slots, key)) {
	case SLOTS_TAKEN:
		return true;
	case SLOTS_FULL:
		stats_count(&s->stats.refused_full);
		net_peer_name(fd, peer, sizeof(peer));
		log_event(LOG_ERROR, "refused: server full (max-clients=%zu) "
		    "peer=%s", s->cfg.max_clients, peer);
		refuse_send(fd, kind, PROTO_ERR_FULL);
		return false;
	case SLOTS_PER_ADDR:
		stats_count(&s->stats.refused_addr);
		net_addr_key_name(key, addr, sizeof(addr));
		log_event(LOG_ERROR, "refused: %zu connections from %s already "
		    "(max-per-addr=%zu)", s->cfg.max_per_addr, addr,
		    s->cfg.max_per_addr);
		refuse_send(fd, kind, PROTO_ERR_PER_ADDR);
		return false;
	}
	assert(!"slots_take: no such verdict");
	return false;
}

/* Deals with accept's errno; returns true when the loop should back off. */
static bool
server_accept_failed(struct server *s, int listen_fd, enum session_kind kind,
    int err)
{
	char hint[128];

	switch (err) {
	case EAGAIN:            /* the connection went away before accept */
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
		return false;
	case EMFILE:
	case ENFILE:
		stats_count(&s->stats.refused_busy);
		log_event(LOG_ERROR, "accept: %s; refusing a connection "
		    "(clients=%zu; %s)", strerror(err), s->live,
		    rlimits_hint(err, hint, sizeof(hint)));
		refuse_with_spare(&s->spare_fd, listen_fd, kind);
		return true;
	default:
		log_event(LOG_ERROR, "accept: %s", strerror(err));
		return true;
	}
}

/* ---- Finished sessions ------------------------------------------------- */

/* session_env.finished, run by a reader as its last act before it closes
 * the socket: gives back the session's slot and its address's count, so
 * a client that has seen its connection close is never refused for its
 * own old session; then lists the session for the accept loop to join,
 * and wakes the loop. */
static void
server_session_done(struct session *c, void *arg)
{
	struct server *s = arg;
	uint64_t one = 1;

	slots_give(s->slots, session_addr(c));

	sync_lock(&s->done_lock);
	assert(s->ndone < s->cfg.max_clients);
	s->done[s->ndone++] = c;
	sync_unlock(&s->done_lock);
	if (write(s->reap_fd, &one, sizeof(one)) < 0)
		log_event(LOG_ERROR, "eventfd: %s", strerror(errno));
}

/* Joins and frees every finished session. Accept loop only. */
static void
server_reap(struct server *s)
{
	struct session *batch[64];
	uint64_t count;
	size_t n;

	if (read(s->reap_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_event(LOG_ERROR, "eventfd: %s", strerror(errno));
	do {
		sync_lock(&s->done_lock);
		for (n = 0; n < 64 && s->ndone > 0; n++)
			batch[n] = s->done[--s->ndone];
		sync_unlock(&s->done_lock);
		for (size_t i = 0; i < n; i++) {
			session_join(batch[i]);
			s->live--;
		}
	} while (n > 0);
}

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t
server_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- Shutdown ---------------------------------------------------------- */

/* excerpt: server-shutdown */
/* Stops accepting, turns join and leave notices off (so every client's
 * next line is the farewell, not a storm of others leaving), wakes every
 * reader through the stop pipe, and joins them all as they finish; each
 * reader's own teardown is bounded (see session.c, FLUSH_GRACE_MS). Then
 * frees everything. */
static void
server_shutdown(struct server *s)
{
	close(s->listen_fd);
	if (s->web_fd >= 0)
		close(s->web_fd);
	hub_close(s->hub);
	atomic_store(&s->stopping, true);
	close(s->stop_wr);
	while (s->live > 0) {
		struct pollfd pf = { .fd = s->reap_fd, .events = POLLIN };
		if (poll(&pf, 1, -1) < 0 && errno != EINTR)
			die("poll:");
		server_reap(s);
	}
	cluster_stop(s->cluster);       /* sends the names' releases first */
	cluster_free(s->cluster);
	hub_free(s->hub);
	web_free(s->web);
	archive_close(s->archive);      /* writes what is queued, fsyncs */
	slots_free(s->slots);
	msg_unref(s->welcome);
	free(s->done);
	pthread_attr_destroy(&s->thread_attr);
	pthread_mutex_destroy(&s->done_lock);
	close(s->stop_rd);
	close(s->reap_fd);
	close(s->signal_fd);
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	log_event(LOG_SHUTDOWN, "done");
}
/* end excerpt */
