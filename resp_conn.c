/*
 * resp_conn.c - a blocking Redis connection; see resp_conn.h.
 *
 * The socket is non-blocking underneath, and every wait is a poll bounded
 * by the call's deadline, so no send or read outlasts it. Bytes are read
 * into a buffer and parsed from there: one read may bring the end of one
 * reply and the start of the next, which the next call parses before it
 * reads again. The parser copies what it keeps, so the buffer is reused as
 * soon as it has been parsed.
 *
 * resp_conn_shutdown sets a flag, then calls shutdown(2): that wakes a poll
 * on the socket in any thread, after which recv returns 0 and send fails.
 * The owner sees the flag and reports a shutdown instead of a lost server.
 * Only resp_conn_close closes the fd, so the other thread never touches a
 * closed descriptor, or a reused number that now means something else.
 */
#include "resp_conn.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

#define RESP_CONN_READ  16384       /* bytes asked of one recv */
#define RESP_CONN_KEEP  (64 << 10)  /* output capacity kept between sends */

struct resp_conn {
	int fd;
	atomic_bool stopping;       /* set by resp_conn_shutdown, any thread */
	bool dead;                  /* a failure ended the connection */
	enum resp_fail fail;        /* the last call's failure */
	char err[256];              /* its message; "" for RESP_FAIL_NONE */
	struct resp_parser *parser;
	struct resp_buf out;        /* the command being sent */
	size_t in_start;            /* invariant: in_start <= in_end; bytes */
	size_t in_end;              /* [in_start, in_end) are not parsed yet */
	char in[RESP_CONN_READ];
};

/* When a call must be over: at, in ms of the monotonic clock, or -1 for
 * never; ms is the timeout it came from, for messages. */
struct resp_deadline {
	long long at;
	int ms;
};

static long long
resp_conn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct resp_deadline
resp_conn_deadline(int timeout_ms)
{
	struct resp_deadline d = { .at = -1, .ms = timeout_ms };

	if (timeout_ms >= 0)
		d.at = resp_conn_now() + timeout_ms;
	return d;
}

/* Records a failure of kind, and whether it ends the connection. A
 * shutdown in progress is what any failure after it really is. */
static void __attribute__((format(printf, 4, 5)))
resp_conn_fail(struct resp_conn *c, enum resp_fail kind, bool fatal,
    const char *fmt, ...)
{
	va_list ap;

	if (atomic_load(&c->stopping)) {
		c->fail = RESP_FAIL_SHUTDOWN;
		c->dead = true;
		snprintf(c->err, sizeof(c->err), "connection shut down");
		return;
	}
	c->fail = kind;
	c->dead = c->dead || fatal;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

/* Records a failed send or recv from errno. A reset or a broken pipe is
 * the server closing the connection, as an end of file is. */
static void
resp_conn_fail_errno(struct resp_conn *c, const char *call)
{
	int e = errno;

	if (e == ECONNRESET || e == EPIPE)
		resp_conn_fail(c, RESP_FAIL_CLOSED, true,
		    "connection closed by the server (%s)", strerror(e));
	else
		resp_conn_fail(c, RESP_FAIL_IO, true, "%s: %s", call,
		    strerror(e));
}

/* Starts a call: false when the connection is already dead (its failure
 * is left as it was) or shut down; else clears the last failure. */
static bool
resp_conn_begin(struct resp_conn *c)
{
	assert(c != NULL);
	if (atomic_load(&c->stopping))
		resp_conn_fail(c, RESP_FAIL_SHUTDOWN, true,
		    "connection shut down");
	if (c->dead)
		return false;
	c->fail = RESP_FAIL_NONE;
	c->err[0] = '\0';
	return true;
}

/* Waits until the socket is ready for events, or the deadline passes.
 * Returns 0, or -1 with the failure recorded (a timeout is not fatal here;
 * the caller decides). doing says what was waited for. */
static int
resp_conn_wait(struct resp_conn *c, short events, struct resp_deadline d,
    const char *doing)
{
	for (;;) {
		int ms = -1;
		if (d.at >= 0) {
			long long left = d.at - resp_conn_now();
			if (left <= 0) {
				resp_conn_fail(c, RESP_FAIL_TIMEOUT, false,
				    "timed out after %d ms %s", d.ms, doing);
				return -1;
			}
			ms = left < INT_MAX ? (int)left : INT_MAX;
		}
		struct pollfd pfd = { .fd = c->fd, .events = events };
		int n = poll(&pfd, 1, ms);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR) {
			resp_conn_fail(c, RESP_FAIL_IO, true, "poll: %s",
			    strerror(errno));
			return -1;
		}
	}
}

/* Sends all of c->out within the deadline. Returns 0, or -1 with the
 * failure recorded. */
static int
resp_conn_write(struct resp_conn *c, struct resp_deadline d)
{
	const char *p = c->out.data;
	size_t left = c->out.len;

	while (left > 0) {
		ssize_t n = send(c->fd, p, left, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			left -= (size_t)n;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (resp_conn_wait(c, POLLOUT, d, "sending") < 0)
				return -1;
		} else if (errno != EINTR) {
			resp_conn_fail_errno(c, "send");
			return -1;
		}
	}
	return 0;
}

/* Parses the buffered bytes: returns a reply when they complete one, else
 * NULL, with the buffer empty or (on a protocol error) the failure
 * recorded. */
static struct resp_reply *
resp_conn_parse(struct resp_conn *c)
{
	struct resp_reply *r;
	size_t used;

	enum resp_parse st = resp_parser_feed(c->parser, c->in + c->in_start,
	    c->in_end - c->in_start, &used, &r);
	c->in_start += used;
	assert(c->in_start <= c->in_end);
	if (st == RESP_PARSE_ERROR) {
		resp_conn_fail(c, RESP_FAIL_PROTOCOL, true,
		    "protocol error: %s", resp_parser_error(c->parser));
		return NULL;
	}
	if (st == RESP_PARSE_MORE)
		c->in_start = c->in_end = 0;
	return r;
}

/* Reads what the socket has into the empty buffer, waiting for it within
 * the deadline. Returns 0, or -1 with the failure recorded. */
static int
resp_conn_fill(struct resp_conn *c, struct resp_deadline d)
{
	assert(c->in_start == 0 && c->in_end == 0);
	for (;;) {
		ssize_t n = recv(c->fd, c->in, sizeof(c->in), 0);
		if (n > 0) {
			c->in_end = (size_t)n;
			return 0;
		}
		if (n == 0) {
			resp_conn_fail(c, RESP_FAIL_CLOSED, true,
			    "connection closed by the server");
			return -1;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (resp_conn_wait(c, POLLIN, d,
			    "waiting for a reply") < 0)
				return -1;
		} else if (errno != EINTR) {
			resp_conn_fail_errno(c, "recv");
			return -1;
		}
	}
}

/* Reads one reply within the deadline; see resp_conn_read. */
static struct resp_reply *
resp_conn_read_by(struct resp_conn *c, struct resp_deadline d)
{
	for (;;) {
		struct resp_reply *r = resp_conn_parse(c);
		if (r != NULL || c->fail != RESP_FAIL_NONE)
			return r;
		if (resp_conn_fill(c, d) < 0)
			return NULL;
	}
}

/* Encodes and sends one command; see resp_conn_send. */
static int
resp_conn_send_by(struct resp_conn *c, struct resp_deadline d, int argc,
    const char *const argv[], const size_t lens[])
{
	int rc = 0;

	c->out.len = 0;
	if (resp_encode(&c->out, argc, argv, lens) < 0) {
		resp_conn_fail(c, RESP_FAIL_IO, true,
		    "out of memory for a command");
		rc = -1;
	} else if (resp_conn_write(c, d) < 0) {
		c->dead = true;     /* part of the command may have gone */
		rc = -1;
	}
	c->out.len = 0;         /* sent: nothing is left for resp_conn_flush */
	if (c->out.cap > RESP_CONN_KEEP)
		resp_buf_free(&c->out);     /* one huge command is not kept */
	return rc;
}

struct resp_conn *
resp_conn_open(const char *host, const char *port, int timeout_ms,
    const struct resp_limits *lim, char *err, size_t errsz)
{
	struct resp_conn *c = calloc(1, sizeof(*c));
	int one = 1;

	assert(timeout_ms > 0);
	if (c != NULL)
		c->fd = -1;
	if (c == NULL || (c->parser = resp_parser_new(lim)) == NULL) {
		snprintf(err, errsz, "out of memory for a connection");
		goto fail;
	}
	atomic_init(&c->stopping, false);
	c->fd = net_connect(host, port, timeout_ms, err, errsz);
	if (c->fd < 0)
		goto fail;
	int flags = fcntl(c->fd, F_GETFL);
	if (flags < 0 || fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		snprintf(err, errsz, "fcntl: %s", strerror(errno));
		goto fail;
	}
	/* Commands go out whole; waiting to coalesce them only adds delay. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return c;
fail:
	resp_conn_close(c);
	return NULL;
}

int
resp_conn_queue(struct resp_conn *c, int argc, const char *const argv[],
    const size_t lens[])
{
	if (!resp_conn_begin(c))
		return -1;
	if (resp_encode(&c->out, argc, argv, lens) < 0) {
		resp_conn_fail(c, RESP_FAIL_IO, true,
		    "out of memory for a command");
		return -1;
	}
	return 0;
}

int
resp_conn_flush(struct resp_conn *c, int timeout_ms)
{
	int rc = 0;

	if (!resp_conn_begin(c))
		return -1;
	if (resp_conn_write(c, resp_conn_deadline(timeout_ms)) < 0) {
		c->dead = true;     /* part of what was queued may have gone */
		rc = -1;
	}
	c->out.len = 0;
	if (c->out.cap > RESP_CONN_KEEP)
		resp_buf_free(&c->out);
	return rc;
}

int
resp_conn_send(struct resp_conn *c, int timeout_ms, int argc,
    const char *const argv[], const size_t lens[])
{
	if (!resp_conn_begin(c))
		return -1;
	return resp_conn_send_by(c, resp_conn_deadline(timeout_ms), argc, argv,
	    lens);
}

struct resp_reply *
resp_conn_read(struct resp_conn *c, int timeout_ms)
{
	if (!resp_conn_begin(c))
		return NULL;
	return resp_conn_read_by(c, resp_conn_deadline(timeout_ms));
}

struct resp_reply *
resp_conn_command(struct resp_conn *c, int timeout_ms, int argc,
    const char *const argv[], const size_t lens[])
{
	struct resp_deadline d = resp_conn_deadline(timeout_ms);

	if (!resp_conn_begin(c) ||
	    resp_conn_send_by(c, d, argc, argv, lens) < 0)
		return NULL;
	struct resp_reply *r = resp_conn_read_by(c, d);
	if (r == NULL)
		c->dead = true;     /* a late reply would answer the next one */
	return r;
}

enum resp_fail
resp_conn_failure(const struct resp_conn *c)
{
	return c->fail;
}

const char *
resp_conn_error(const struct resp_conn *c)
{
	return c->err;
}

void
resp_conn_shutdown(struct resp_conn *c)
{
	atomic_store(&c->stopping, true);
	shutdown(c->fd, SHUT_RDWR);
}

void
resp_conn_close(struct resp_conn *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	resp_parser_free(c->parser);
	resp_buf_free(&c->out);
	free(c);
}
