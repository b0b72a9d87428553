/*
 * session.c - a session's life: its two threads, and the teardown. The
 * reader's loop is in session_read.c and the commands it runs in cmd.c;
 * see session.h for the contract, session_internal.h for the layout.
 *
 * The reader, in the order it runs:
 *   session_reader_main  queues the welcome, runs the loop, ends the
 *                        session, tells the server, closes the fd.
 *   session_read_loop    (session_read.c) handles every buffered line,
 *                        waits for input (or the idle deadline, or the
 *                        server stopping), reads.
 *   session_end          leaves the hub, says goodbye, closes the queue and
 *                        joins the writer: only then may the fd be closed.
 * The writer, session_writer_main, is writer.c's loop with the session's
 * transport as the sender. The hub's kick, session_kick, is how another
 * thread's delivery cuts this client off.
 *
 * Ownership, as session.h says: the reader owns the session once started.
 * It leaves the hub before anything else, closes the queue, joins the
 * writer (forcing a stuck one with shutdown(2) after a grace period), and
 * closes the fd exactly once, so a reused fd number can never receive this
 * client's lines.
 */
#include "session_internal.h"

#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "config.h"
#include "hub.h"
#include "log.h"
#include "msg.h"
#include "net.h"
#include "proto.h"
#include "queue.h"
#include "rlimits.h"
#include "stats.h"
#include "sync.h"
#include "transport.h"
#include "writer.h"

#define FLUSH_GRACE_MS 1000    /* a leaving client's last lines get this
                                  long to drain before the socket is shut */

static const struct {
	const char *log;
	const char *farewell;   /* last line for the client, or NULL */
} session_endings[] = {
	[END_QUIT] = { "quit", "INFO bye" },
	[END_EOF] = { "eof", NULL },
	[END_ERROR] = { "error", NULL },
	[END_IDLE] = { "idle-timeout", "INFO disconnected due to inactivity" },
	[END_SLOW] = { "slow-consumer", NULL },   /* queued at eviction */
	[END_NAME_LOST] = { "name-lost", NULL },  /* queued when cut */
	[END_SHUTDOWN] = { "shutdown", "INFO server shutting down" },
	[END_LOGIN] = { "login-timeout", "INFO disconnected: no login in time" },
	[END_PROTOCOL] = { "protocol-error", NULL },  /* a close frame says */
	[END_SERVED] = { "served", NULL },
};

/* The static functions, in the order they are defined. */
static void *session_reader_main(void *arg);
static enum end_reason session_begin(struct session *c);
static void session_end(struct session *c, enum end_reason why);
static void session_leave(struct session *c);
static void session_overflow_text(struct session *c, char *out,
    size_t outsz);
static void session_log_end(struct session *c, enum end_reason why);
static void session_join_writer(struct session *c);
static void session_close_gently(int fd);
static void *session_writer_main(void *arg);
static int session_send_batch(void *ctx, int fd, struct msg *const *batch,
    size_t n);
static void session_name_thread(const char *role, unsigned long id);

/* ---- Creation and start ------------------------------------------------ */

/* excerpt: session-new */
struct session *
session_new(const struct session_env *env, int fd, unsigned long id,
    const struct net_addr_key *addr, enum session_kind kind)
{
	const struct config *cfg = env->cfg;
	const struct queue_limits lim = { .hard = cfg->queue_hard,
	    .soft = cfg->queue_soft, .soft_ms = cfg->queue_soft_sec * 1000 };
	struct session *c = calloc(1, sizeof(*c));
	int one = 1;

	if (c == NULL)
		return NULL;
	c->env = env;
	c->id = id;
	c->fd = fd;
	c->addr = *addr;
	c->out = queue_new(&lim);
	c->wire = kind == SESSION_WEB ? transport_ws_new(env->web) :
	    transport_lines_new();
	if (c->out == NULL || c->wire == NULL) {
		session_free(c);
		return NULL;
	}
	net_peer_name(fd, c->peer, sizeof(c->peer));
	/* Lines are batched by the writer; Nagle would only add delay. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (cfg->sndbuf > 0) {          /* tests: force short writes */
		int size = (int)cfg->sndbuf;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	int64_t now = session_now_ms();
	c->idle_deadline = now + cfg->idle_timeout * 1000LL;
	if (cfg->login_timeout > 0)
		c->login_deadline = now + cfg->login_timeout * 1000LL;
	flood_init(&c->flood, cfg->flood_burst, cfg->flood_rate, now);
	return c;
}
/* end excerpt */

void
session_free(struct session *c)
{
	if (c == NULL)
		return;
	queue_free(c->out);
	transport_free(c->wire);
	free(c);
}

/* excerpt: session-start */
int
session_start(struct session *c)
{
	const pthread_attr_t *attr = c->env->thread_attr;
	char hint[128];

	int rc = pthread_create(&c->writer, attr, session_writer_main, c);
	if (rc != 0) {
		log_event(LOG_ERROR, "id=%lu refused: cannot start writer: %s "
		    "(%s)", c->id, strerror(rc), rlimits_hint(rc, hint,
		    sizeof(hint)));
		return -1;
	}
	rc = pthread_create(&c->reader, attr, session_reader_main, c);
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
/* end excerpt */

void
session_join(struct session *c)
{
	sync_join(c->reader);
	session_free(c);
}

unsigned long
session_id(const struct session *c)
{
	return c->id;
}

const char *
session_peer(const struct session *c)
{
	return c->peer;
}

const struct net_addr_key *
session_addr(const struct session *c)
{
	return &c->addr;
}

/* ---- The reader -------------------------------------------------------- */

/* The fd is closed last, after the server has been told: by the time the
 * client sees the connection close, its slot is already being freed. */
static void *
session_reader_main(void *arg)
{
	struct session *c = arg;
	int fd = c->fd;

	session_name_thread("rd", c->id);
	log_trace("thread rd/%lu starts: reads %s", c->id, c->peer);
	enum end_reason why = session_begin(c);
	/* The welcome is queued here, once both threads exist, so a client
	 * refused for want of threads hears only the refusal. Nothing else
	 * reaches a queue before login, so it is still the first line. */
	if (why == END_NONE)
		why = session_send(c, msg_ref(c->env->welcome));
	session_end(c, why != END_NONE ? why : session_read_loop(c));
	log_trace("thread rd/%lu exits; the accept loop joins it", c->id);
	c->env->finished(c, c->env->finished_arg);
	session_close_gently(fd);   /* c stays valid until this thread is
	                               joined */
	return NULL;
}

/* The transport's handshake, if it has one (a web connection's HTTP
 * request): END_NONE when a chat session follows, END_SERVED when a
 * request was answered, END_EOF when the peer left or was too slow. */
static enum end_reason
session_begin(struct session *c)
{
	struct transport_io io = { .fd = c->fd, .out = c->out,
	    .stop_fd = c->env->stop_fd, .id = c->id, .peer = c->peer };

	switch (transport_begin(c->wire, &io)) {
	case TRANSPORT_CHAT:
		c->chatting = true;
		return END_NONE;
	case TRANSPORT_SERVED:
		return END_SERVED;
	default:
		return END_EOF;
	}
}

/* ---- What the reader queues, and why a session ends -------------------- */

enum end_reason
session_why(struct session *c, enum end_reason seen)
{
	int cut = atomic_load(&c->cut);

	if (cut != 0)
		return cut - 1 == HUB_CUT_NAME_LOST ? END_NAME_LOST : END_SLOW;
	if (atomic_load(&c->write_errno) != 0)
		return END_ERROR;
	return seen;
}

enum end_reason
session_send(struct session *c, struct msg *m)
{
	if (m == NULL)
		return END_NONE;
	enum queue_status st = queue_push(c->out, m);
	msg_unref(m);
	if (st == QUEUE_OK)
		return END_NONE;
	if (st == QUEUE_FULL) {
		struct msg *err = msg_printf(PROTO_ERR_SLOW);
		queue_abort(c->out, err);
		msg_unref(err);
		return END_SLOW;
	}
	return session_why(c, END_ERROR);
}

enum end_reason
session_reply(struct session *c, const char *line)
{
	return session_send(c, msg_printf("%s", line));
}

/* ---- Ending a session -------------------------------------------------- */

/* excerpt: session-end */
/*
 * The reader's last duty, in an order that matters: leave the hub first (no
 * line can reach the queue after that, and the others hear of it now), say
 * goodbye, close the queue so the writer drains and stops, and join the
 * writer. Only then may the fd be closed (session_reader_main does it).
 */
static void
session_end(struct session *c, enum end_reason why)
{
	why = session_why(c, why);
	assert(why != END_NONE);
	if (c->chatting)        /* a served request has its [HTTP] line */
		session_log_end(c, why);
	if (why == END_IDLE)
		stats_count(&c->env->stats->idle_timeouts);
	else if (why == END_LOGIN)
		stats_count(&c->env->stats->login_timeouts);
	if (c->member != NULL)
		session_leave(c);
	if (session_endings[why].farewell != NULL)
		session_reply(c, session_endings[why].farewell);
	if (c->chatting && session_endings[why].farewell != NULL)
		session_send(c, transport_farewell(c->wire, why ==
		    END_SHUTDOWN));     /* a WebSocket's close frame */
	queue_close(c->out);
	session_join_writer(c);
}
/* end excerpt */

/* Leaves the hub and, in a cluster, gives the name back (cluster.h). */
static void
session_leave(struct session *c)
{
	char name[PROTO_MAX_NAME + 1], room[PROTO_MAX_ROOM + 2];

	snprintf(name, sizeof(name), "%s", hub_member_name(c->member));
	snprintf(room, sizeof(room), "%s", hub_member_room(c->member));
	hub_leave(c->env->hub, c->member);
	c->member = NULL;
	if (c->env->cluster != NULL)
		cluster_release(c->env->cluster, name, room);
}

/* For a slow consumer's [DISCONNECT] line: what its queue held when a
 * push was refused, and the limit that refused it, e.g. "pending=812
 * lines/1048100 bytes limit=hard:1048576". */
static void
session_overflow_text(struct session *c, char *out, size_t outsz)
{
	const struct config *cfg = c->env->cfg;
	struct queue_usage u;

	if (!queue_refusal(c->out, &u)) {
		snprintf(out, outsz, "%s", "");
		return;
	}
	int n = snprintf(out, outsz, " pending=%zu lines/%zu bytes limit=",
	    u.lines, u.bytes);
	if (u.limit == 's')
		snprintf(out + n, outsz - (size_t)n, "soft:%zu for %d s",
		    cfg->queue_soft, cfg->queue_soft_sec);
	else if (u.limit == 'h')
		snprintf(out + n, outsz - (size_t)n, "hard:%zu",
		    cfg->queue_hard);
	else
		snprintf(out + n, outsz - (size_t)n, "no-memory");
}

static void
session_log_end(struct session *c, enum end_reason why)
{
	int err = why == END_ERROR ? c->read_errno : 0;
	char detail[128] = "";

	if (why == END_SLOW) {
		session_overflow_text(c, detail, sizeof(detail));
		log_trace("evicted id=%lu: its queue was over its limit; "
		    "rd/%lu was woken by shutdown(SHUT_RD)", c->id, c->id);
	}
	if (err == 0 && why == END_ERROR)
		err = atomic_load(&c->write_errno);
	log_event(LOG_DISCONNECT, "id=%lu user=%s reason=%s%s%s%s", c->id,
	    c->member ? hub_member_name(c->member) : "-",
	    session_endings[why].log, detail, err ? " error=" : "",
	    err ? strerror(err) : "");
}

/* excerpt: join-writer */
/* Waits up to FLUSH_GRACE_MS for the writer to send what is queued, then
 * shuts the socket down so a send stuck on a client that does not read
 * fails at once, and joins the writer. */
static void
session_join_writer(struct session *c)
{
	if (!sync_join_within(c->writer, FLUSH_GRACE_MS)) {
		shutdown(c->fd, SHUT_RDWR);
		sync_join(c->writer);
	}
}
/* end excerpt */

/* Closes after a FIN, first reading what the client already sent: closing
 * with unread input makes the kernel send a reset, which can destroy the
 * client's copy of our last lines before it reads them. */
static void
session_close_gently(int fd)
{
	char sink[1024];

	shutdown(fd, SHUT_WR);
	for (int i = 0; i < 64; i++)
		if (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) <= 0)
			break;
	close(fd);
}

/* ---- The writer -------------------------------------------------------- */

/* Sends everything the queue yields through the session's transport, a
 * batch at a time, until the queue is closed and drained or a send fails.
 * Then, on failure: stop taking lines, and wake the reader (its recv
 * returns 0), which ends the session. The fd is still open: the reader
 * closes it only after joining this thread. */
static void *
session_writer_main(void *arg)
{
	struct session *c = arg;

	session_name_thread("wr", c->id);
	log_trace("thread wr/%lu starts: drains queue %lu", c->id, c->id);
	if (writer_run(c->fd, c->out, session_send_batch, c) < 0) {
		atomic_store(&c->write_errno, errno);
		queue_abort(c->out, NULL);
		shutdown(c->fd, SHUT_RD);
	}
	log_trace("thread wr/%lu exits; rd/%lu joins it", c->id, c->id);
	return NULL;
}

static int
session_send_batch(void *ctx, int fd, struct msg *const *batch, size_t n)
{
	struct session *c = ctx;

	return transport_send(c->wire, fd, batch, n);
}

/* ---- The kick ---------------------------------------------------------- */

/* Runs with the lock of the session's room held (room_cut_off), so it
 * must not block: shutdown(2) changes socket state and never waits. The
 * fd is still open: the reader closes it only after hub_leave, which
 * takes that room's lock. */
void
session_kick(void *arg, enum hub_cut why)
{
	struct session *c = arg;

	atomic_store(&c->cut, 1 + (int)why);
	shutdown(c->fd, SHUT_RD);
}

/* ---- Helpers ----------------------------------------------------------- */

/* Names the calling thread role/id (rd/17, wr/17), so top -H, gdb and
 * sanitizer reports show who is who. Linux allows 15 characters. */
static void
session_name_thread(const char *role, unsigned long id)
{
	char name[16];

	snprintf(name, sizeof(name), "%s/%lu", role, id % 100000000000UL);
	pthread_setname_np(pthread_self(), name);
}

int64_t
session_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
