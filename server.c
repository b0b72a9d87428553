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
 *                and is closed; everyone else carries on.
 *   shutdown     closes the stop pipe, which wakes every reader; each says
 *                goodbye, flushes (bounded) and ends; main joins them all.
 *
 * Ownership: the accept loop creates each session and starts it; from then
 * on the session's reader owns it and its fd, and tells the loop when it
 * has finished (server_session_done). The loop joins it and frees it.
 *
 * Signals are blocked in every thread and read from a signalfd by the
 * accept loop: no handler runs, so nothing locks or prints in one. SIGINT,
 * SIGTERM and SIGHUP (a closed terminal) stop the server gracefully;
 * SIGUSR1 logs a [STATS] line.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addrlimit.h"
#include "archive.h"
#include "cluster.h"
#include "config.h"
#include "die.h"
#include "hub.h"
#include "log.h"
#include "msg.h"
#include "net.h"
#include "proto.h"
#include "rlimits.h"
#include "session.h"
#include "stats.h"
#include "sync.h"
#include "web.h"

/*
 * Thread stacks. glibc's default is 8 MiB of address space per thread; at
 * two threads per client, 10,000 clients would reserve 160 GiB. A reader's
 * deepest path is a log line (a 4 KiB buffer and vsnprintf) and a writer's
 * is a WRITER_BATCH of 256 msgs framed for a WebSocket (transport_ws.c:
 * headers and iovecs, about 14 KiB), both under 16 KiB, so 64 KiB leaves
 * a margin of four. Sanitizer builds, whose frames are
 * larger, raise it with -DTHREAD_STACK_KIB=...
 */
#ifndef THREAD_STACK_KIB
#define THREAD_STACK_KIB 64
#endif

#define ACCEPT_BACKOFF_MS 100  /* pause after an accept failure */
#define FULL_WAIT_MS 250       /* when full, how long a newcomer may wait in
                                  the listen backlog for a slot to free */
#define CLIENT_HEARTBEAT 20    /* ./client's default --heartbeat, seconds */

/* What the whole server shares. Written by main before the first session
 * starts, except where a field says otherwise. */
struct server {
	struct config cfg;
	struct session_env env;     /* what each session gets; const */
	struct hub *hub;
	struct archive *archive;    /* --data-dir's, or NULL */
	struct cluster *cluster;    /* --redis's, or NULL */
	struct msg *welcome;        /* shared by every session; const */
	int listen_fd;
	int web_fd;                 /* the web listener's, or -1 */
	struct web *web;            /* its settings, or NULL */
	int signal_fd;              /* SIGINT, SIGTERM, SIGHUP, SIGUSR1 */
	int stop_rd, stop_wr;       /* a pipe: closing stop_wr tells every
	                               reader the server is stopping ... */
	atomic_bool stopping;       /* ... and this tells a reader busy with
	                               buffered lines; set before the close */
	int reap_fd;                /* eventfd: a session finished */
	int spare_fd;               /* held for refusing a connection when
	                               out of fds; accept loop only */
	pthread_attr_t thread_attr; /* joinable, THREAD_STACK_KIB stacks */
	unsigned long next_id;      /* accept loop only */
	size_t live;                /* sessions started, not yet joined;
	                               accept loop only */
	int64_t full_until;         /* full since; refuse after this (ms on
	                               CLOCK_MONOTONIC); 0 = not full. Accept
	                               loop only */
	atomic_size_t in_use;       /* sessions started and not yet ended:
	                               what --max-clients counts. A reader
	                               gives its slot back before it closes
	                               its socket (server_session_done) */
	struct addrlimit *per_addr; /* what --max-per-addr counts; likewise */
	struct stats stats;         /* counted by any thread (stats.h) */
	struct stats_prev stats_prev; /* accept loop only */
	int64_t started_ms;         /* CLOCK_MONOTONIC; const */
	pthread_mutex_t done_lock;  /* protects done and ndone */
	struct session **done;      /* finished sessions waiting for a join;
	                               room for max_clients, as live <= that */
	size_t ndone;
};

static void server_init(struct server *s, int argc, char **argv);
static void server_open_fds(struct server *s);
static void server_make_sessions_env(struct server *s);
static void server_warn(struct server *s);
static int server_listen(const char *addr, const char *port);
static void server_open_web(struct server *s);
static void server_metrics(void *arg, FILE *out);
static void server_debug(void *arg, FILE *out);
static void server_open_hub(struct server *s);
static struct cluster *server_cluster(struct server *s);
static void server_log_listen(struct server *s);
static int server_signals_fd(void);
static void server_accept_loop(struct server *s);
static int server_listen_wait(struct server *s);
static bool server_signal(struct server *s);
static int server_stats_due(struct server *s);
static void server_log_stats(struct server *s);
static bool server_accept_one(struct server *s, int listen_fd,
    enum session_kind kind);
static bool server_admit(struct server *s, int fd, enum session_kind kind,
    const struct net_addr_key *key);
static bool server_accept_failed(struct server *s, int listen_fd,
    enum session_kind kind, int err);
static void server_refuse_with_spare(struct server *s, int listen_fd,
    enum session_kind kind);
static void server_refuse(int fd, enum session_kind kind, const char *line);
static void server_session_done(struct session *c, void *arg);
static void server_reap(struct server *s);
static int64_t server_now_ms(void);
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
	s->signal_fd = server_signals_fd();
	s->listen_fd = server_listen(s->cfg.addr, s->cfg.port);
	s->web_fd = -1;
	if (s->cfg.web_port[0] != '\0')
		server_open_web(s);
	server_open_fds(s);
	server_open_hub(s);
	server_make_sessions_env(s);
	s->started_ms = server_now_ms();
	server_warn(s);
	/* The LISTEN line ends start-up: scripts and tests take it to mean
	 * "ready and idle", so start-up work such as the limits check
	 * (which reads /proc) comes before it. */
	server_log_listen(s);
}

/* The descriptors of the server's own signalling: the stop pipe, the
 * "session finished" eventfd, and the spare descriptor for refusing a
 * connection when out of them. */
static void
server_open_fds(struct server *s)
{
	int pipefd[2];

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		die("pipe:");
	s->stop_rd = pipefd[0];
	s->stop_wr = pipefd[1];
	if ((s->reap_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		die("eventfd:");
	if ((s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		die("/dev/null:");
}

/* What every session shares: the welcome line, the per-address counts,
 * the list for reaping, thread attributes, and the session_env naming
 * them all. */
static void
server_make_sessions_env(struct server *s)
{
	s->done = calloc(s->cfg.max_clients, sizeof(*s->done));
	s->per_addr = addrlimit_new(s->cfg.max_clients, s->cfg.max_per_addr);
	s->welcome = msg_printf("INFO welcome to hubchat; log in with LOGIN "
	    "<name> (or just type your name); HELP lists the commands");
	if (s->hub == NULL || s->done == NULL || s->per_addr == NULL ||
	    s->welcome == NULL)
		die("out of memory");
	sync_mutex_init(&s->done_lock);
	sync_check(pthread_attr_init(&s->thread_attr), "pthread_attr_init");
	sync_check(pthread_attr_setstacksize(&s->thread_attr,
	    THREAD_STACK_KIB * 1024), "pthread_attr_setstacksize");
	s->env = (struct session_env){ .hub = s->hub, .cfg = &s->cfg,
	    .stop_fd = s->stop_rd, .stopping = &s->stopping,
	    .thread_attr = &s->thread_attr, .welcome = s->welcome,
	    .stats = &s->stats, .web = s->web, .cluster = s->cluster,
	    .finished = server_session_done,
	    .finished_arg = s };
}

/* Settings that will bite, said at start: the system's limits against
 * --max-clients, an idle timeout within the client's heartbeat. */
static void
server_warn(struct server *s)
{
	rlimits_check(s->cfg.max_clients);
	if (s->cfg.idle_timeout > 0 && s->cfg.idle_timeout <= CLIENT_HEARTBEAT)
		log_event(LOG_WARN, "--idle-timeout %d is not longer than the "
		    "client's heartbeat of %d s: quiet ./client users will be cut "
		    "off (give them --heartbeat, or raise --idle-timeout)",
		    s->cfg.idle_timeout, CLIENT_HEARTBEAT);
}

/* A non-blocking listening socket on addr and port; exits 1 when there is
 * none. */
static int
server_listen(const char *addr, const char *port)
{
	char err[256];
	int fd = net_listen(addr, port, err, sizeof(err));

	if (fd < 0)
		die("%s", err);
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		die("fcntl:");
	return fd;
}

/* --web: the web listener and its settings (web.h). */
static void
server_open_web(struct server *s)
{
	struct web_config wc = { .metrics = s->cfg.metrics,
	    .metrics_fn = server_metrics, .metrics_arg = s,
	    .debug = s->cfg.debug_page, .debug_fn = server_debug,
	    .debug_arg = s, .head_ms = WEB_HEAD_MS };

	for (size_t i = 0; i < s->cfg.n_web_origins; i++)
		wc.origins[wc.norigins++] = s->cfg.web_origins[i];
	if (s->cfg.login_timeout > 0 && s->cfg.login_timeout * 1000 < wc.head_ms)
		wc.head_ms = s->cfg.login_timeout * 1000;
	s->web_fd = server_listen(s->cfg.web_addr, s->cfg.web_port);
	wc.loopback = net_is_loopback(s->web_fd);
	if ((s->web = web_new(&wc)) == NULL)
		die("out of memory");
}

/* Opens --data-dir's archive, if any, and makes the hub, with #lobby's
 * history read back from the archive. Exits 1 when the directory cannot
 * be used. */
static void
server_open_hub(struct server *s)
{
	static const char *const modes[] = { "no", "second", "always" };
	struct hub_config hc = { .notices_max = s->cfg.notices_max,
	    .history = s->cfg.history, .max_rooms = s->cfg.max_rooms };
	struct msg **lobby = NULL;
	char err[512];
	size_t n = 0;

	if (s->cfg.data_dir[0] != '\0') {
		enum archive_fsync mode = ARCHIVE_FSYNC_NO;
		for (size_t i = 0; i < 3; i++)
			if (strcmp(s->cfg.fsync, modes[i]) == 0)
				mode = (enum archive_fsync)i;
		s->archive = archive_open(s->cfg.data_dir, mode,
		    s->cfg.archive_queue, err, sizeof(err));
		if (s->archive == NULL)
			die("%s", err);
		n = archive_load(s->archive, "lobby", s->cfg.history, &lobby);
	}
	hc.archive = s->archive;
	if (s->cfg.redis[0] != '\0') {
		s->cluster = server_cluster(s);
		hc.clustered = true;
		hc.load = cluster_load;
		hc.load_arg = s->cluster;
	}
	s->hub = hub_new(&hc, lobby, n);
	for (size_t i = 0; i < n; i++)
		msg_unref(lobby[i]);
	free(lobby);
	if (s->cluster != NULL && s->hub != NULL &&
	    !cluster_start(s->cluster, s->hub, err, sizeof(err)))
		die("--redis %s: %s", s->cfg.redis, err);
}

/* --redis: the cluster's settings; --node-id is <hostname>:<port> unless
 * given. Not yet connected: server_open_hub starts it. */
static struct cluster *
server_cluster(struct server *s)
{
	struct cluster_config cc = { .lease_ms = s->cfg.name_lease * 1000,
	    .history = s->cfg.history };
	const char *colon = strrchr(s->cfg.redis, ':');
	char host[200] = "localhost";

	snprintf(cc.host, sizeof(cc.host), "%.*s", (int)(colon - s->cfg.redis),
	    s->cfg.redis);
	snprintf(cc.port, sizeof(cc.port), "%s", colon + 1);
	if (s->cfg.node_id[0] != '\0') {
		snprintf(cc.node, sizeof(cc.node), "%s", s->cfg.node_id);
	} else {
		gethostname(host, sizeof(host) - 1);
		snprintf(cc.node, sizeof(cc.node), "%.40s:%d", host,
		    net_local_port(s->listen_fd));
	}
	struct cluster *cl = cluster_new(&cc);
	if (cl == NULL)
		die("out of memory");
	return cl;
}

/* The LISTEN line: where, and every limit in force. */
static void
server_log_listen(struct server *s)
{
	const struct config *c = &s->cfg;

	log_event(LOG_LISTEN, "addr=%s port=%d max-clients=%zu max-per-addr=%zu "
	    "queue-hard=%zu queue-soft=%zu queue-soft-sec=%d flood-burst=%zu "
	    "flood-rate=%zu notices-max=%zu idle-timeout=%d login-timeout=%d "
	    "history=%zu max-rooms=%zu data-dir=%s fsync=%s web-addr=%s "
	    "web-port=%d redis=%s",
	    c->addr, net_local_port(s->listen_fd), c->max_clients,
	    c->max_per_addr, c->queue_hard, c->queue_soft, c->queue_soft_sec,
	    c->flood_burst, c->flood_rate, c->notices_max, c->idle_timeout,
	    c->login_timeout, c->history, c->max_rooms,
	    c->data_dir[0] ? c->data_dir : "-", c->data_dir[0] ? c->fsync : "-",
	    s->web_fd >= 0 ? c->web_addr : "-",
	    s->web_fd >= 0 ? net_local_port(s->web_fd) : 0,
	    c->redis[0] ? c->redis : "-");
}

/* excerpt: signals */
/* Signals become data: block them here, before any thread exists, so every
 * thread inherits the mask, and read them from a signalfd. */
static int
server_signals_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (rc != 0)
		die("pthread_sigmask: %s", strerror(rc));
	signal(SIGPIPE, SIG_IGN);   /* every send also says MSG_NOSIGNAL */
	int fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fd < 0)
		die("signalfd:");
	return fd;
}
/* end excerpt */

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
		int timeout = server_stats_due(s);
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
		if (server_stats_due(s) == 0)
			server_log_stats(s);
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
	if (atomic_load(&s->in_use) < s->cfg.max_clients) {
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
	struct signalfd_siginfo si;

	if (read(s->signal_fd, &si, sizeof(si)) != sizeof(si))
		return false;
	if (si.ssi_signo == SIGUSR1) {
		server_log_stats(s);
		return false;
	}
	log_event(LOG_SHUTDOWN, "signal=%s clients=%zu",
	    strsignal((int)si.ssi_signo), s->live);
	return true;
}

/* Milliseconds until the next periodic [STATS] line: 0 when it is due,
 * -1 when there are none (--stats 0). */
static int
server_stats_due(struct server *s)
{
	if (s->cfg.stats_sec <= 0)
		return -1;
	int64_t last = s->stats_prev.at_ms ? s->stats_prev.at_ms :
	    s->started_ms;
	int64_t left = last + s->cfg.stats_sec * 1000LL - server_now_ms();
	return left > 0 ? (int)left : 0;
}

/* --metrics: web.h's metrics_fn, on a reader thread, holding no lock. */
static void
server_metrics(void *arg, FILE *out)
{
	struct server *s = arg;
	struct hub_stats hub;

	struct cluster_stats cs;

	hub_stats(s->hub, &hub);
	hub_stats_queues(s->hub, &hub);
	if (s->cluster != NULL)
		cluster_stats(s->cluster, &cs);
	stats_metrics(out, &s->stats, &hub, s->archive, s->cluster != NULL ?
	    &cs : NULL, atomic_load(&s->in_use));
}

/* --debug-page: web.h's debug_fn, /debug.json's object, on a reader
 * thread holding no lock: the limits, the server's threads (from /proc)
 * and sessions, the evictions so far, then each member (hub_debug). */
static void
server_debug(void *arg, FILE *out)
{
	struct server *s = arg;
	const struct config *c = &s->cfg;
	struct hub_stats hub;
	long rss, threads;

	hub_stats(s->hub, &hub);
	stats_self(&rss, &threads);
	fprintf(out, "{\"queue_hard\":%zu,\"queue_soft\":%zu,"
	    "\"queue_soft_sec\":%d,\"flood_burst\":%zu,\"flood_rate\":%zu,\n"
	    "\"threads\":%ld,\"sessions\":%zu,\"evictions\":%llu,\n",
	    c->queue_hard, c->queue_soft, c->queue_soft_sec, c->flood_burst,
	    c->flood_rate, threads, atomic_load(&s->in_use), hub.evictions);
	hub_debug(s->hub, out, c->flood_burst, c->flood_rate);
	fputs("}\n", out);
}

static void
server_log_stats(struct server *s)
{
	struct hub_stats hub;

	struct cluster_stats cs;

	hub_stats(s->hub, &hub);
	if (s->cluster != NULL)
		cluster_stats(s->cluster, &cs);
	stats_log(&s->stats, &hub, s->archive, s->cluster != NULL ? &cs :
	    NULL, atomic_load(&s->in_use), s->started_ms, server_now_ms(),
	    &s->stats_prev);
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
		addrlimit_give(s->per_addr, &key);
		atomic_fetch_sub(&s->in_use, 1);
		stats_count(&s->stats.refused_busy);
		server_refuse(fd, kind, PROTO_ERR_BUSY);
		return true;
	}
	s->live++;
	stats_count(&s->stats.accepted);
	log_event(LOG_CONNECT, "id=%lu peer=%s clients=%zu", session_id(c),
	    session_peer(c), atomic_load(&s->in_use));
	return false;
}

/* Takes a slot of --max-clients and one of --max-per-addr for fd, or
 * refuses it (logged, told why, closed) and returns false. */
static bool
server_admit(struct server *s, int fd, enum session_kind kind,
    const struct net_addr_key *key)
{
	char peer[64], addr[64];

	if (atomic_load(&s->in_use) >= s->cfg.max_clients) {
		stats_count(&s->stats.refused_full);
		net_peer_name(fd, peer, sizeof(peer));
		log_event(LOG_ERROR, "refused: server full (max-clients=%zu) "
		    "peer=%s", s->cfg.max_clients, peer);
		server_refuse(fd, kind, PROTO_ERR_FULL);
		return false;
	}
	if (!addrlimit_take(s->per_addr, key)) {
		stats_count(&s->stats.refused_addr);
		net_addr_key_name(key, addr, sizeof(addr));
		log_event(LOG_ERROR, "refused: %zu connections from %s already "
		    "(max-per-addr=%zu)", s->cfg.max_per_addr, addr,
		    s->cfg.max_per_addr);
		server_refuse(fd, kind, PROTO_ERR_PER_ADDR);
		return false;
	}
	atomic_fetch_add(&s->in_use, 1);
	return true;
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
		server_refuse_with_spare(s, listen_fd, kind);
		return true;
	default:
		log_event(LOG_ERROR, "accept: %s", strerror(err));
		return true;
	}
}

/*
 * Out of fds, accept cannot even take the connection to refuse it, and the
 * listening socket stays readable: a spinning loop. The spare fd is given
 * up for a moment so that one connection can be accepted and refused.
 */
static void
server_refuse_with_spare(struct server *s, int listen_fd,
    enum session_kind kind)
{
	if (s->spare_fd < 0)
		return;
	close(s->spare_fd);
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		server_refuse(fd, kind, PROTO_ERR_BUSY);
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Best effort: tells a connection we will not serve it why, and closes
 * it: the error line as it is, or for the web listener as the body of a
 * 503. */
static void
server_refuse(int fd, enum session_kind kind, const char *line)
{
	char buf[512];
	int n = kind == SESSION_WEB ? snprintf(buf, sizeof(buf),
	    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "\r\n%s\n", strlen(line) + 1, line) :
	    snprintf(buf, sizeof(buf), "%s\n", line);

	send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
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

	addrlimit_give(s->per_addr, session_addr(c));
	atomic_fetch_sub(&s->in_use, 1);

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

static int64_t
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
	addrlimit_free(s->per_addr);
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
