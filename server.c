/*
 * server.c - the hubchat server: main, the accept loop, and the two threads
 * every client gets.
 *
 * The story, in the order this file tells it:
 *   main         parses flags, opens the listening socket, turns SIGINT and
 *                SIGTERM into a readable fd, and runs the accept loop.
 *   accept loop  waits for three things: a connection, a signal, a finished
 *                session. A connection becomes a session with a reader and
 *                a writer thread; a finished session's reader is joined.
 *   reader       frames the client's lines, runs each command against the
 *                hub, and, when the client leaves, tears the session down.
 *   writer       drains the client's bounded queue to the socket, taking
 *                everything queued at once and sending it with one writev.
 *   shutdown     closes the stop pipe, which wakes every reader; each says
 *                goodbye, flushes (bounded) and ends; main joins them all.
 *
 * Ownership: the accept loop creates a session and starts both threads.
 * From then on the reader owns it: it leaves the hub before anything else,
 * closes the queue, joins the writer (forcing a stuck one with shutdown(2)
 * after a grace period), and closes the fd exactly once, so a reused fd
 * number can never receive this client's lines. The accept loop joins the
 * reader and frees the session.
 *
 * Signals are blocked in every thread and read from a signalfd by the
 * accept loop: no handler runs, so nothing locks or prints in one.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
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

#include "config.h"
#include "hub.h"
#include "log.h"
#include "msg.h"
#include "net.h"
#include "proto.h"
#include "queue.h"
#include "rlimits.h"
#include "sync.h"
#include "writer.h"

/*
 * Thread stacks. glibc's default is 8 MiB of address space per thread; at
 * two threads per client, 10,000 clients would reserve 160 GiB. A reader's
 * deepest path is a log line (a 4 KiB buffer and vsnprintf) and a writer's
 * is a 64-entry iovec batch (writer.c), both well under 16 KiB, so 64 KiB
 * leaves a margin of four or more. Sanitizer builds, whose frames are
 * larger, raise it with -DTHREAD_STACK_KIB=...
 */
#ifndef THREAD_STACK_KIB
#define THREAD_STACK_KIB 64
#endif

#define BROADCAST_BATCH 64     /* broadcasts read before one hub call */
#define FLUSH_GRACE_MS 1000    /* a leaving client's last lines get this
                                  long to drain before the socket is shut */
#define ACCEPT_BACKOFF_MS 100  /* pause after an accept failure */

struct session;

/* What the whole server shares. Written by main before the first session
 * starts, except where a field says otherwise. */
struct server {
	struct config cfg;
	struct hub *hub;
	int listen_fd;
	int signal_fd;              /* SIGINT, SIGTERM */
	int stop_rd, stop_wr;       /* a pipe: closing stop_wr tells every
	                               reader the server is stopping */
	int reap_fd;                /* eventfd: a session finished */
	int spare_fd;               /* held for refusing a connection when
	                               out of fds; accept loop only */
	pthread_attr_t thread_attr; /* joinable, THREAD_STACK_KIB stacks */
	unsigned long next_id;      /* accept loop only */
	size_t live;                /* sessions started, not yet joined;
	                               accept loop only */
	pthread_mutex_t done_lock;  /* protects done */
	struct session *done;       /* finished sessions waiting for a join */
};

/* Why a session ended: what the log says and what the client is told. */
enum end_reason {
	END_NONE,       /* still going */
	END_QUIT,       /* QUIT or !exit */
	END_EOF,        /* the client closed its side */
	END_ERROR,      /* a read or write failed (reset, ...) */
	END_IDLE,       /* no complete line within the idle timeout */
	END_SLOW,       /* its queue overflowed: a slow consumer */
	END_SHUTDOWN,   /* the server is stopping */
};

static const struct {
	const char *log;
	const char *farewell;   /* last line for the client, or NULL */
} endings[] = {
	[END_QUIT] = { "quit", "INFO bye" },
	[END_EOF] = { "eof", NULL },
	[END_ERROR] = { "error", NULL },
	[END_IDLE] = { "idle-timeout", "INFO disconnected due to inactivity" },
	[END_SLOW] = { "slow-consumer", NULL },   /* queued at eviction */
	[END_SHUTDOWN] = { "shutdown", "INFO server shutting down" },
};

/* One client. The reader owns it once started (see the top of the file). */
struct session {
	struct server *srv;
	unsigned long id;
	int fd;
	char peer[64];
	struct queue *out;          /* the writer drains it */
	struct framer *in;          /* reader only */
	struct hub_member *member;  /* reader only; NULL until logged in */
	int64_t idle_deadline;      /* reader only; ms on CLOCK_MONOTONIC */
	struct msg *batch[BROADCAST_BATCH]; /* reader only: broadcasts read
	                               but not yet delivered; empty outside
	                               handle_buffered */
	size_t nbatch;
	int read_errno;             /* reader only */
	atomic_int write_errno;     /* set by the writer when a write fails */
	atomic_bool evicted;        /* set by the hub's kick */
	pthread_t reader;
	pthread_t writer;
	struct session *next_done;  /* protected by srv->done_lock */
};

static void server_init(struct server *s, int argc, char **argv);
static void accept_loop(struct server *s);
static void server_shutdown(struct server *s);
static bool accept_one(struct server *s);
static void refuse(int fd, const char *line);
static struct session *session_new(struct server *s, int fd);
static int session_start(struct session *c);
static void session_free(struct session *c);
static void reap_finished(struct server *s);
static void *reader_main(void *arg);
static enum end_reason reader_loop(struct session *c);
static enum end_reason handle_buffered(struct session *c);
static enum end_reason wait_for_input(struct session *c);
static enum end_reason read_input(struct session *c);
static enum end_reason handle_line(struct session *c, char *line, size_t len);
static enum end_reason reply(struct session *c, const char *line);
static void flush_broadcasts(struct session *c);
static void session_end(struct session *c, enum end_reason why);
static void close_gently(int fd);
static void *writer_main(void *arg);
static void session_kick(void *arg);
static void name_thread(const char *role, unsigned long id);
static int64_t now_ms(void);
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int
main(int argc, char **argv)
{
	struct server s;

	server_init(&s, argc, argv);
	accept_loop(&s);
	server_shutdown(&s);
	return 0;
}

/* ---- Start-up ---------------------------------------------------------- */

/* Signals become data: block them here, before any thread exists, so every
 * thread inherits the mask, and read them from a signalfd. */
static int
signals_to_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (rc != 0)
		die("pthread_sigmask: %s", strerror(rc));
	signal(SIGPIPE, SIG_IGN);   /* every send also says MSG_NOSIGNAL */
	int fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fd < 0)
		die("signalfd: %s", strerror(errno));
	return fd;
}

static void
server_init(struct server *s, int argc, char **argv)
{
	char err[256];
	int pipefd[2];

	memset(s, 0, sizeof(*s));
	config_parse(argc, argv, &s->cfg);
	sync_futex_buckets(2 * s->cfg.max_clients);   /* a reader, a writer */
	log_quiet = s->cfg.quiet;
	log_tracing = s->cfg.trace;
	s->signal_fd = signals_to_fd();
	s->listen_fd = net_listen(s->cfg.addr, s->cfg.port, err, sizeof(err));
	if (s->listen_fd < 0)
		die("%s", err);
	if (fcntl(s->listen_fd, F_SETFL, O_NONBLOCK) < 0)
		die("fcntl: %s", strerror(errno));
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	s->stop_rd = pipefd[0];
	s->stop_wr = pipefd[1];
	if ((s->reap_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		die("eventfd: %s", strerror(errno));
	if ((s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		die("/dev/null: %s", strerror(errno));
	if ((s->hub = hub_new(s->cfg.notices_max)) == NULL)
		die("out of memory");
	sync_mutex_init(&s->done_lock);
	sync_check(pthread_attr_init(&s->thread_attr), "pthread_attr_init");
	sync_check(pthread_attr_setstacksize(&s->thread_attr,
	    THREAD_STACK_KIB * 1024), "pthread_attr_setstacksize");
	rlimits_check(s->cfg.max_clients);
	/* The LISTEN line ends start-up: scripts and tests take it to mean
	 * "ready and idle", so start-up work such as the limits check above
	 * (which reads /proc) comes before it. */
	log_event(LOG_LISTEN, "addr=%s port=%d max-clients=%zu queue=%zu "
	    "notices-max=%zu idle-timeout=%d", s->cfg.addr,
	    net_local_port(s->listen_fd), s->cfg.max_clients, s->cfg.queue_cap,
	    s->cfg.notices_max, s->cfg.idle_timeout);
}

/* ---- The accept loop --------------------------------------------------- */

/*
 * Runs until SIGINT or SIGTERM. After an accept failure the listening socket
 * is left out of the poll for ACCEPT_BACKOFF_MS, so a persistent failure
 * (out of memory, say) costs ten wake-ups a second, not a spinning core.
 */
static void
accept_loop(struct server *s)
{
	struct pollfd pf[3] = {
		{ .fd = s->signal_fd, .events = POLLIN },
		{ .fd = s->reap_fd, .events = POLLIN },
		{ .fd = s->listen_fd, .events = POLLIN },
	};
	bool backoff = false;

	for (;;) {
		pf[2].fd = backoff ? -1 : s->listen_fd;
		if (poll(pf, 3, backoff ? ACCEPT_BACKOFF_MS : -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		backoff = false;
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(s->signal_fd, &si, sizeof(si)) == sizeof(si)) {
				log_event(LOG_SHUTDOWN, "signal=%s clients=%zu",
				    strsignal((int)si.ssi_signo), s->live);
				return;
			}
		}
		if (pf[1].revents & POLLIN)
			reap_finished(s);
		if (pf[2].revents & POLLIN)
			backoff = accept_one(s);
	}
}

/*
 * Out of fds, accept cannot even take the connection to refuse it, and the
 * listening socket stays readable: a spinning loop. The spare fd is given
 * up for a moment so that one connection can be accepted and refused.
 */
static void
refuse_with_spare(struct server *s)
{
	if (s->spare_fd < 0)
		return;
	close(s->spare_fd);
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		refuse(fd, "ERR server-busy");
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Deals with accept's errno; returns true when the loop should back off. */
static bool
accept_failed(struct server *s, int err)
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
		log_event(LOG_ERROR, "accept: %s; refusing a connection "
		    "(clients=%zu; %s)", strerror(err), s->live,
		    rlimits_hint(err, hint, sizeof(hint)));
		refuse_with_spare(s);
		return true;
	default:
		log_event(LOG_ERROR, "accept: %s", strerror(err));
		return true;
	}
}

/* Accepts one connection and starts its session, or refuses it with one
 * line when the server is full or out of resources. Returns true when the
 * accept loop should back off. */
static bool
accept_one(struct server *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return accept_failed(s, errno);

	if (s->live >= s->cfg.max_clients) {
		log_event(LOG_ERROR, "refused: server full (max-clients=%zu)",
		    s->cfg.max_clients);
		refuse(fd, "ERR server-full");
		return false;
	}
	struct session *c = session_new(s, fd);
	if (c == NULL) {
		log_event(LOG_ERROR, "refused: out of memory");
		refuse(fd, "ERR server-busy");
		return true;
	}
	if (session_start(c) != 0) {
		session_free(c);
		refuse(fd, "ERR server-busy");
		return true;
	}
	s->live++;
	log_event(LOG_CONNECT, "id=%lu peer=%s clients=%zu", c->id, c->peer,
	    s->live);
	return false;
}

/* Best effort: tells a connection we will not serve it why, and closes it. */
static void
refuse(int fd, const char *line)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);

	send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* ---- Sessions: creation, start, reaping -------------------------------- */

/* A session for fd; NULL when memory runs out. Does not start threads. */
static struct session *
session_new(struct server *s, int fd)
{
	struct session *c = calloc(1, sizeof(*c));
	int one = 1;

	if (c == NULL)
		return NULL;
	c->srv = s;
	c->id = ++s->next_id;
	c->fd = fd;
	c->out = queue_new(s->cfg.queue_cap);
	c->in = framer_new();
	if (c->out == NULL || c->in == NULL) {
		session_free(c);
		return NULL;
	}
	net_peer_name(fd, c->peer, sizeof(c->peer));
	/* Lines are batched by the writer; Nagle would only add delay. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (s->cfg.sndbuf > 0)          /* tests: force short writes */
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &s->cfg.sndbuf,
		    sizeof(s->cfg.sndbuf));
	c->idle_deadline = now_ms() + s->cfg.idle_timeout * 1000LL;
	return c;
}

/* Frees what session_new made. Does not close the fd. */
static void
session_free(struct session *c)
{
	if (c == NULL)
		return;
	queue_free(c->out);
	framer_free(c->in);
	free(c);
}

/* Starts the writer, then the reader. Returns 0, or -1 (logged) with no
 * thread left running. */
static int
session_start(struct session *c)
{
	pthread_attr_t *attr = &c->srv->thread_attr;
	char hint[128];

	int rc = pthread_create(&c->writer, attr, writer_main, c);
	if (rc != 0) {
		log_event(LOG_ERROR, "id=%lu refused: cannot start writer: %s "
		    "(%s)", c->id, strerror(rc), rlimits_hint(rc, hint,
		    sizeof(hint)));
		return -1;
	}
	rc = pthread_create(&c->reader, attr, reader_main, c);
	if (rc != 0) {
		log_event(LOG_ERROR, "id=%lu refused: cannot start reader: %s "
		    "(%s)", c->id, strerror(rc), rlimits_hint(rc, hint,
		    sizeof(hint)));
		queue_close(c->out);
		sync_join(c->writer);
		return -1;
	}
	return 0;
}

/* Called by a reader as its last act: queues its session for the accept
 * loop to join, and wakes the loop. */
static void
session_finished(struct session *c)
{
	struct server *s = c->srv;
	uint64_t one = 1;

	sync_lock(&s->done_lock);
	c->next_done = s->done;
	s->done = c;
	sync_unlock(&s->done_lock);
	if (write(s->reap_fd, &one, sizeof(one)) < 0)
		log_event(LOG_ERROR, "eventfd: %s", strerror(errno));
}

/* Joins and frees every finished session. Accept loop only. */
static void
reap_finished(struct server *s)
{
	uint64_t count;

	if (read(s->reap_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_event(LOG_ERROR, "eventfd: %s", strerror(errno));
	sync_lock(&s->done_lock);
	struct session *c = s->done;
	s->done = NULL;
	sync_unlock(&s->done_lock);

	while (c != NULL) {
		struct session *next = c->next_done;
		sync_join(c->reader);
		session_free(c);
		s->live--;
		c = next;
	}
}

/* ---- The reader -------------------------------------------------------- */

/* The fd is closed last, after the accept loop has been told: by the time
 * the client sees the connection close, its slot is already being freed. */
static void *
reader_main(void *arg)
{
	struct session *c = arg;
	int fd = c->fd;

	name_thread("rd", c->id);
	log_trace("thread rd/%lu starts: reads %s", c->id, c->peer);
	/* The welcome is queued here, once both threads exist, so a client
	 * refused for want of threads hears only the refusal. Nothing else
	 * reaches a queue before login, so it is still the first line. */
	enum end_reason why = reply(c, "INFO welcome to hubchat; log in with "
	    "LOGIN <name> (or just type your name)");
	session_end(c, why != END_NONE ? why : reader_loop(c));
	log_trace("thread rd/%lu exits; the accept loop joins it", c->id);
	session_finished(c);
	close_gently(fd);       /* c stays valid until this thread is joined */
	return NULL;
}

/* Frames and handles lines until the session must end; returns why. */
static enum end_reason
reader_loop(struct session *c)
{
	enum end_reason why = END_NONE;

	while (why == END_NONE) {
		why = handle_buffered(c);
		if (why == END_NONE)
			why = wait_for_input(c);
		if (why == END_NONE)
			why = read_input(c);
	}
	return why;
}

/* Handles every complete line the framer holds. Broadcasts among them are
 * delivered in batches (flush_broadcasts), all before this returns: a
 * burst of lines from one read costs one hub call, not one each. */
static enum end_reason
handle_buffered(struct session *c)
{
	enum end_reason why = END_NONE;
	enum framer_event ev;
	char *line;
	size_t len;

	while (why == END_NONE &&
	    (ev = framer_next(c->in, &line, &len)) != FRAMER_NEED_MORE) {
		if (atomic_load(&c->evicted)) {
			why = END_SLOW;
			break;
		}
		c->idle_deadline = now_ms() + c->srv->cfg.idle_timeout * 1000LL;
		if (ev == FRAMER_TOO_LONG)
			why = reply(c, "ERR line-too-long");
		else
			why = handle_line(c, line, len);
	}
	flush_broadcasts(c);
	return why;
}

/* Waits until the socket has bytes (or EOF) to read; END_NONE then, or
 * END_IDLE when the idle deadline passes, or END_SHUTDOWN when the server
 * stops. */
static enum end_reason
wait_for_input(struct session *c)
{
	struct pollfd pf[2] = {
		{ .fd = c->srv->stop_rd, .events = POLLIN },
		{ .fd = c->fd, .events = POLLIN },
	};

	for (;;) {
		int timeout = -1;
		if (c->srv->cfg.idle_timeout > 0) {
			int64_t left = c->idle_deadline - now_ms();
			if (left <= 0)
				return END_IDLE;
			timeout = (int)left;
		}
		if (poll(pf, 2, timeout) < 0 && errno != EINTR) {
			c->read_errno = errno;
			return END_ERROR;
		}
		if (pf[0].revents != 0)
			return END_SHUTDOWN;
		if (pf[1].revents != 0)  /* data, EOF or an error: recv says */
			return END_NONE;
	}
}

/* Why input ended when the socket says EOF or fails: an eviction or a
 * failed write shut it down from inside, else the client left. */
static enum end_reason
input_ended(struct session *c, enum end_reason seen)
{
	if (atomic_load(&c->evicted))
		return END_SLOW;
	if (atomic_load(&c->write_errno) != 0)
		return END_ERROR;
	return seen;
}

/* One recv into the framer. Does not block: wait_for_input said readable. */
static enum end_reason
read_input(struct session *c)
{
	size_t room;
	char *space = framer_space(c->in, &room);

	ssize_t n = recv(c->fd, space, room, 0);
	if (n > 0) {
		framer_commit(c->in, (size_t)n);
		return END_NONE;
	}
	if (n == 0)
		return input_ended(c, END_EOF);
	if (errno == EINTR)
		return END_NONE;
	c->read_errno = errno;
	return input_ended(c, END_ERROR);
}

/* ---- Commands ---------------------------------------------------------- */

/* Queues m for this client, consuming the caller's reference (NULL, from
 * an allocation that failed, is skipped). Returns END_NONE, or why the
 * session is over: the client's own queue is full (it does not read its
 * replies), or was already closed by an eviction or a failed write. */
static enum end_reason
send_msg(struct session *c, struct msg *m)
{
	if (m == NULL)
		return END_NONE;
	enum queue_status st = queue_push(c->out, m);
	msg_unref(m);
	if (st == QUEUE_OK)
		return END_NONE;
	if (st == QUEUE_FULL) {
		struct msg *err = msg_printf("ERR slow-consumer");
		queue_abort(c->out, err);
		msg_unref(err);
		return END_SLOW;
	}
	return input_ended(c, END_ERROR);
}

static enum end_reason
reply(struct session *c, const char *line)
{
	return send_msg(c, msg_printf("%s", line));
}

static enum end_reason
do_login(struct session *c, const char *name)
{
	struct server *s = c->srv;

	if (c->member != NULL)
		return reply(c, "ERR already-logged-in");
	if (!proto_name_ok(name))
		return reply(c, "ERR bad-name");
	switch (hub_join(s->hub, name, c->out, session_kick, c, &c->member)) {
	case HUB_OK:
		log_event(LOG_LOGIN, "id=%lu user=%s", c->id, name);
		return END_NONE;
	case HUB_NAME_TAKEN:
		return reply(c, "ERR username-taken");
	default:        /* its own queue is full or closed, or memory ran out */
		return reply(c, "ERR server-busy");
	}
}

/* --trace: a zeroed delivery record for the hub to fill, or NULL when not
 * tracing, so a message costs nothing more than this branch. */
static struct hub_trace *
trace_start(struct hub_trace *t)
{
	if (!log_tracing)
		return NULL;
	memset(t, 0, sizeof(*t));
	return t;
}

/* --trace: one line for a delivery, listing each recipient's queue depth
 * after the push, or its eviction. Called after the hub lock is released,
 * from the record the hub filled. */
static void
trace_deliveries(struct session *c, const char *verb, size_t lines,
    const struct hub_trace *t)
{
	char list[HUB_TRACE_MAX * 48 + 32];
	size_t o = 0;

	list[0] = '\0';
	for (size_t i = 0; i < t->n; i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o,
		    t->to[i].evicted ? " %s(full: EVICTED)" : " %s(depth=%zu)",
		    t->to[i].name, t->to[i].depth);
	if (t->more > 0)
		snprintf(list + o, sizeof(list) - o, " +%zu more", t->more);
	log_trace("deliver %s from=%s via rd/%lu lines=%zu to:%s", verb,
	    hub_member_name(c->member), c->id, lines, t->n ? list : " nobody");
}

/* Delivers the broadcasts read so far in one hub call, in order. */
static void
flush_broadcasts(struct session *c)
{
	struct hub_trace trace;
	struct hub_trace *t;

	if (c->nbatch == 0)
		return;
	t = trace_start(&trace);
	hub_broadcast_lines(c->srv->hub, c->member, c->batch, c->nbatch, t);
	if (t != NULL)
		trace_deliveries(c, "MSG", c->nbatch, t);
	for (size_t i = 0; i < c->nbatch; i++)
		msg_unref(c->batch[i]);
	c->nbatch = 0;
}

/* Formats a broadcast and adds it to the batch; flush_broadcasts delivers
 * it before any other command runs and before the reader waits for more
 * input, so a sender's lines keep their order. */
static enum end_reason
do_msg(struct session *c, const char *text)
{
	char quoted[2 * PROTO_MAX_LINE + 3];

	if (*text == '\0')
		return reply(c, "ERR usage MSG <text>");
	struct msg *line = hub_msg_line(c->member, text);
	if (line == NULL)
		return reply(c, "ERR server-busy");
	if (c->nbatch == BROADCAST_BATCH)
		flush_broadcasts(c);
	c->batch[c->nbatch++] = line;
	log_chat(LOG_MSG, "id=%lu from=%s text=%s", c->id,
	    hub_member_name(c->member), log_quote(text, quoted, sizeof(quoted)));
	return END_NONE;
}

static enum end_reason
do_dm(struct session *c, const char *user, const char *text)
{
	char quoted[2 * PROTO_MAX_LINE + 3];

	if (user == NULL || text == NULL)
		return reply(c, "ERR usage DM <user> <text>");
	struct hub_trace trace;
	struct hub_trace *t = trace_start(&trace);

	switch (hub_dm(c->srv->hub, c->member, user, text, t)) {
	case HUB_NO_SUCH_USER:
		return send_msg(c, msg_printf("ERR no-such-user %s", user));
	case HUB_REFUSED:
		return reply(c, "ERR server-busy");
	default:
		break;
	}
	if (t != NULL)
		trace_deliveries(c, "DM", 1, t);
	log_chat(LOG_DM, "id=%lu from=%s to=%s text=%s", c->id,
	    hub_member_name(c->member), user,
	    log_quote(text, quoted, sizeof(quoted)));
	return END_NONE;
}

static enum end_reason
do_ping(struct session *c, const char *token)
{
	if (*token == '\0')
		return reply(c, "PONG");
	return send_msg(c, msg_printf("PONG %s", token));
}

/* Runs one line. Before login only LOGIN, PING and QUIT work, and a line
 * that is no verb is taken as the name; after it, such a line is a MSG. */
static enum end_reason
handle_line(struct session *c, char *line, size_t len)
{
	struct command cmd;

	if (len == 0)
		return END_NONE;                /* empty lines are ignored */
	if (!proto_text_ok(line, len))
		return reply(c, "ERR bad-text");
	proto_parse(line, &cmd);
	bool in = c->member != NULL;
	bool broadcast = in && (cmd.verb == VERB_MSG || cmd.verb == VERB_NONE);

	if (!broadcast)
		flush_broadcasts(c);    /* what came before goes out first */
	switch (cmd.verb) {
	case VERB_PING:
		return do_ping(c, cmd.text);
	case VERB_QUIT:
		return END_QUIT;                /* session_end says "INFO bye" */
	case VERB_LOGIN:
		return do_login(c, cmd.text);
	case VERB_NONE:
		return in ? do_msg(c, cmd.text) : do_login(c, cmd.text);
	case VERB_MSG:
		return in ? do_msg(c, cmd.text) : reply(c, "ERR not-logged-in");
	case VERB_DM:
		return in ? do_dm(c, cmd.user, cmd.text) :
		    reply(c, "ERR not-logged-in");
	case VERB_WHO:
		return in ? send_msg(c, hub_who(c->srv->hub)) :
		    reply(c, "ERR not-logged-in");
	}
	return END_NONE;
}

/* ---- Ending a session -------------------------------------------------- */

/* Waits up to FLUSH_GRACE_MS for the writer to send what is queued, then
 * shuts the socket down so a send stuck on a client that does not read
 * fails at once, and joins the writer. */
static void
join_writer(struct session *c)
{
	if (!sync_join_within(c->writer, FLUSH_GRACE_MS)) {
		shutdown(c->fd, SHUT_RDWR);
		sync_join(c->writer);
	}
}

/* Closes after a FIN, first reading what the client already sent: closing
 * with unread input makes the kernel send a reset, which can destroy the
 * client's copy of our last lines before it reads them. */
static void
close_gently(int fd)
{
	char sink[1024];

	shutdown(fd, SHUT_WR);
	for (int i = 0; i < 64; i++)
		if (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) <= 0)
			break;
	close(fd);
}

static void
log_disconnect(struct session *c, enum end_reason why)
{
	int err = why == END_ERROR ? c->read_errno : 0;

	if (err == 0 && why == END_ERROR)
		err = atomic_load(&c->write_errno);
	log_event(LOG_DISCONNECT, "id=%lu user=%s reason=%s%s%s", c->id,
	    c->member ? hub_member_name(c->member) : "-", endings[why].log,
	    err ? " error=" : "", err ? strerror(err) : "");
}

/*
 * The reader's last duty, in an order that matters: leave the hub first (no
 * line can reach the queue after that, and the others hear of it now), say
 * goodbye, close the queue so the writer drains and stops, and join the
 * writer. Only then may the fd be closed (reader_main does it).
 */
static void
session_end(struct session *c, enum end_reason why)
{
	if (atomic_load(&c->evicted))
		why = END_SLOW;
	if (why == END_SLOW)
		log_trace("evicted id=%lu: its queue of %zu lines was full; "
		    "rd/%lu was woken by shutdown(SHUT_RD)", c->id,
		    c->srv->cfg.queue_cap, c->id);
	log_disconnect(c, why);
	if (c->member != NULL) {
		hub_leave(c->srv->hub, c->member);
		c->member = NULL;
	}
	if (endings[why].farewell != NULL)
		reply(c, endings[why].farewell);
	queue_close(c->out);
	join_writer(c);
}

/* ---- The writer -------------------------------------------------------- */

/* A write failed: stop taking lines, and wake the reader (its recv returns
 * 0), which ends the session. The fd is still open: the reader closes it
 * only after joining this thread. */
static void
writer_failed(struct session *c, int err)
{
	atomic_store(&c->write_errno, err);
	queue_abort(c->out, NULL);
	shutdown(c->fd, SHUT_RD);
}

/* Sends everything the queue yields, a batch per writev (writer_run),
 * until the queue is closed and drained or a write fails. */
static void *
writer_main(void *arg)
{
	struct session *c = arg;

	name_thread("wr", c->id);
	log_trace("thread wr/%lu starts: drains queue %lu", c->id, c->id);
	if (writer_run(c->fd, c->out) < 0)
		writer_failed(c, errno);
	log_trace("thread wr/%lu exits; rd/%lu joins it", c->id, c->id);
	return NULL;
}

/* The hub's eviction callback, run with the hub lock held: marks the
 * session and wakes its reader. shutdown(2) changes socket state and never
 * waits, and the fd is open: the reader closes it only after leaving the
 * hub, which needs the lock held here. */
static void
session_kick(void *arg)
{
	struct session *c = arg;

	atomic_store(&c->evicted, true);
	shutdown(c->fd, SHUT_RD);
}

/* ---- Shutdown ---------------------------------------------------------- */

/* Stops accepting, wakes every reader through the stop pipe, and joins
 * them all as they finish; each reader's own teardown is bounded by
 * FLUSH_GRACE_MS. Then frees everything. */
static void
server_shutdown(struct server *s)
{
	close(s->listen_fd);
	close(s->stop_wr);
	while (s->live > 0) {
		struct pollfd pf = { .fd = s->reap_fd, .events = POLLIN };
		if (poll(&pf, 1, -1) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		reap_finished(s);
	}
	hub_free(s->hub);
	pthread_attr_destroy(&s->thread_attr);
	pthread_mutex_destroy(&s->done_lock);
	close(s->stop_rd);
	close(s->reap_fd);
	close(s->signal_fd);
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	log_event(LOG_SHUTDOWN, "done");
}

/* ---- Helpers ----------------------------------------------------------- */

/* Names the calling thread role/id (rd/17, wr/17), so top -H, gdb and
 * sanitizer reports show who is who. Linux allows 15 characters. */
static void
name_thread(const char *role, unsigned long id)
{
	char name[16];

	snprintf(name, sizeof(name), "%s/%lu", role, id % 100000000000UL);
	pthread_setname_np(pthread_self(), name);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A start-up failure: one line on stderr, exit 1. */
static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("server: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}
