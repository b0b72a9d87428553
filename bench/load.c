/*
 * load.c - the benchmark's load generator: epoll, non-blocking sockets, one
 * or more threads, speaking hubchat's protocol, enough IRC to drive ngIRCd,
 * or enough RESP3 to drive Redis's pub/sub.
 *
 *   load --proto hub|irc|redis -p PORT[,PORT...] -n CLIENTS [-t THREADS]
 *        [-P SERVER_PID] [-l LABEL] [--hold] [--ws] [--name NAME]
 *        [--keeps-threads] [--usr1]
 *        then either  -s SENDERS -m MESSAGES [-w WINDOW | -r RATE]
 *                     [-R ROOMS]            (hubchat: client i in #r<i%ROOMS>)
 *        or           -c SECONDS            (connect-login-quit churn)
 *   load --free-port | --probe PORT          (helpers for bench/run.sh)
 *
 * Messages: N clients connect and log in (IRC: NICK, USER, JOIN #bench;
 * Redis: HELLO 3, SUBSCRIBE bench).
 * The first S of them each send M messages of 100 bytes, either flat out
 * with at most WINDOW of each sender's messages not yet seen by the last
 * client (the first, for the last sender), or at RATE messages per second
 * in all. Every other client
 * receives; with -R, every other client of the sender's room. Each message carries its sender, sequence number and send
 * time, so every receiver counts deliveries, losses, duplicates and
 * per-sender order violations, and the send-to-receive latency of each
 * delivery is kept for percentiles. Redis, unlike the other two, sends a
 * sender its own messages too: those echoes are counted apart, never as
 * deliveries, so a message always makes CLIENTS - 1 deliveries.
 *
 * Several ports (a cluster's nodes): client i connects to the i-th modulo
 * their number, so clients are spread evenly.
 *
 * --ws: hubchat over its web listener (-p is then --web's port): each
 * client upgrades with GET /ws, then sends every line as one masked text
 * frame and reads each line from one text frame. The mask key is zero, so
 * the tool spends nothing on masking while the server unmasks as always.
 *
 * Churn (-c): N clients at a time each connect, log in, wait for the
 * welcome, quit and wait for the server to close, over and over for
 * SECONDS. Then the tool waits (up to 10 s) for the server's thread count
 * to return to what it was before, and reports sessions per second and
 * the server's threads and RSS before and after.
 *
 * --name NAME labels the server in the output (default: hubchat, ngircd or
 * redis, from --proto): the Go twin speaks hubchat's protocol as "go".
 * --keeps-threads is for a server whose OS threads outlive the load (the
 * Go runtime never gives its threads back): the tool then waits for the
 * server's descriptors alone to return, and churn does not fail on its
 * thread count. --usr1 sends the server SIGUSR1 when all clients are
 * logged in, so one that logs its state on it (the [STATS] line, with
 * goroutines= for the Go twin) says it as it is then.
 *
 * With -P it samples the server's RSS and threads from /proc and its CPU
 * time from its process CPU clock, and reports the server's CPU time during
 * the run and per delivery (churn: per session). It prints a readable
 * summary and one JSON line.
 *
 * Not the bottleneck: the clients are split over THREADS workers (default
 * 2), each with its own epoll set and counters; they share only the
 * senders' progress (atomics). Each worker measures its own CPU time, and
 * the summary reports the busiest worker's share of the run ("tool busy").
 * While that stays well below 100 % the tool is waiting on the server, not
 * the other way round.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF 16384
#define BODY 100                /* bytes of text per message */
#define MAX_THREADS 16
#define MAX_PORTS 8             /* -p: one port per node of a cluster */

/* What a Redis client sends ("Redis pub/sub" below says why): commands as
 * arrays of bulk strings, the form Redis's own clients use. */
#define RESP_LOGIN "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n" \
	"*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nbench\r\n"
#define RESP_QUIT "*1\r\n$4\r\nQUIT\r\n"
#define RESP_PUBLISH "*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$%d\r\n%s\r\n"

enum proto { HUB, IRC, REDIS };
enum cstate { LOGGING_IN, JOINING, READY, QUITTING };

struct client {
	int fd;
	int id;
	enum cstate state;
	char *rbuf;
	size_t rlen;
	char *wbuf;             /* pending output */
	size_t wlen, wcap;
	int *next;              /* per sender: the next sequence expected */
	bool upgraded;          /* --ws: the server's 101 has come */
};

/* One thread's share: clients id % nthreads == index. Only its thread
 * touches it until the run is over. */
struct worker {
	int index;
	int ep;
	long expected;          /* deliveries its clients should see */
	long delivered, dups, reorders;
	long echoes;            /* Redis: a sender's own messages, come back */
	long sessions, failures; /* churn */
	int64_t *lat;           /* ns, one per delivery */
	long nlat;
	double cpu_s;           /* its thread's CPU time during the run */
	int next_open;          /* login: its next client to connect */
	pthread_t tid;
};

static enum proto proto = HUB;
static int port, nclients = 100, nsenders = 10, nmsgs = 1000, nthreads = 2;
static int ports[MAX_PORTS], nports;    /* -p P1,P2,...: client i uses
                                           ports[i % nports] */
static int window = 100, rate = 0, server_pid = 0, churn_s = 0;
static int nrooms = 0;                  /* -R: 0 = everyone in #lobby */
static bool hold, keeps_threads, usr1;
static bool ws;                         /* --ws: hubchat over WebSocket */
static const char *name_flag;           /* --name, or NULL */
static const char *label = "";

static struct client *cl;
static struct worker wk[MAX_THREADS];
static long *sent;                      /* per sender; its worker's only */
static _Atomic long *probe_got;         /* per sender: seen by the last client */
static atomic_int ready;                /* clients logged in */
static atomic_bool stop_churn;
static int64_t start_ns;                /* set by main between barriers */
static pthread_barrier_t phase;

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double
thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct worker *
owner(const struct client *c)
{
	return &wk[c->id % nthreads];
}

/* ---- Connections ------------------------------------------------------- */

static void
watch(struct client *c, int op)
{
	struct epoll_event ev = { .events = EPOLLIN | (c->wlen ? EPOLLOUT : 0),
		.data.u32 = (uint32_t)c->id };
	if (epoll_ctl(owner(c)->ep, op, c->fd, &ev) < 0)
		die("epoll_ctl");
}

static void
flush(struct client *c)
{
	bool had = c->wlen > 0;

	while (c->wlen > 0) {
		ssize_t n = send(c->fd, c->wbuf, c->wlen, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			die("send");
		}
		memmove(c->wbuf, c->wbuf + n, c->wlen - (size_t)n);
		c->wlen -= (size_t)n;
	}
	if (had)
		watch(c, EPOLL_CTL_MOD);
}

static void
out(struct client *c, const char *s, size_t n)
{
	if (c->wlen + n > c->wcap) {
		c->wcap = (c->wlen + n) * 2;
		if ((c->wbuf = realloc(c->wbuf, c->wcap)) == NULL)
			die("realloc");
	}
	memcpy(c->wbuf + c->wlen, s, n);
	c->wlen += n;
}

/* Queues one hubchat line (ending in LF): as it is, or with --ws as one
 * masked text frame without the LF. */
static void
say(struct client *c, const char *line, size_t n)
{
	unsigned char h[8];
	size_t hn = 0;

	if (!ws) {
		out(c, line, n);
		return;
	}
	n--;                                    /* the LF */
	h[hn++] = 0x81;                         /* FIN, text */
	if (n < 126) {
		h[hn++] = (unsigned char)(0x80 | n);
	} else {
		h[hn++] = 0x80 | 126;
		h[hn++] = (unsigned char)(n >> 8);
		h[hn++] = (unsigned char)n;
	}
	memset(h + hn, 0, 4);                   /* the mask key: zero */
	out(c, (const char *)h, hn + 4);
	out(c, line, n);
}

#define WS_UPGRADE "GET /ws HTTP/1.1\r\nHost: localhost\r\n" \
	"Upgrade: websocket\r\nConnection: Upgrade\r\n" \
	"Sec-WebSocket-Key: YmVuY2ggYmVuY2ggYmVuYw==\r\n" \
	"Sec-WebSocket-Version: 13\r\n\r\n"

/* c's login in its protocol, into line; returns its length. */
static int
login_text(const struct client *c, char *line, size_t size)
{
	if (proto == HUB)
		return snprintf(line, size, "LOGIN c%d\n", c->id);
	if (proto == IRC)
		return snprintf(line, size, "NICK c%d\r\nUSER c%d 0 * :bench\r\n",
		    c->id, c->id);
	return snprintf(line, size, "%s", RESP_LOGIN);
}

/* Connects c (blocking: loopback answers at once) and sends its login. */
static void
open_client(struct client *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)ports[c->id % nports]) };
	int one = 1;
	char line[128];
	int n;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket (raise ulimit -n)");
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	c->state = LOGGING_IN;
	c->rlen = c->wlen = 0;
	c->upgraded = false;
	watch(c, EPOLL_CTL_ADD);
	if (ws) {
		out(c, WS_UPGRADE, strlen(WS_UPGRADE));   /* login after 101 */
	} else {
		n = login_text(c, line, sizeof(line));
		out(c, line, (size_t)n);
	}
	flush(c);
}

/* Churn: the server closed c. After its QUIT that is one session done;
 * before, a failure. Then c starts over, until the run is over. */
static void
closed(struct client *c)
{
	struct worker *w = owner(c);

	close(c->fd);
	c->fd = -1;
	if (atomic_load(&stop_churn))
		return;         /* after the deadline: not counted */
	if (c->state == QUITTING)
		w->sessions++;
	else
		w->failures++;
	open_client(c);
}

/* ---- Messages ---------------------------------------------------------- */

static void
send_message(int s)
{
	char line[256];
	char body[BODY + 1];
	int n = snprintf(body, sizeof(body), "s%d %ld %lld ", s, sent[s],
	    (long long)now_ns());

	memset(body + n, 'x', BODY - (size_t)n);
	body[BODY] = '\0';
	if (proto == HUB)
		n = snprintf(line, sizeof(line), "MSG %s\n", body);
	else if (proto == IRC)
		n = snprintf(line, sizeof(line), "PRIVMSG #bench :%s\r\n", body);
	else
		n = snprintf(line, sizeof(line), RESP_PUBLISH, BODY, body);
	if (proto == HUB)
		say(&cl[s], line, (size_t)n);
	else
		out(&cl[s], line, (size_t)n);
	sent[s]++;
}

/* Reads a decimal number and the space after it at *p, moving *p past
 * them; -1 when there is none. */
static int64_t
digits(const char **p)
{
	int64_t v = 0;
	const char *q = *p;

	if (*q < '0' || *q > '9')
		return -1;
	while (*q >= '0' && *q <= '9')
		v = v * 10 + (*q++ - '0');
	if (*q++ != ' ')
		return -1;
	*p = q;
	return v;
}

/* With -R, client i is in room i % ROOMS and hears that room's senders
 * only; without, everyone is in #lobby. */
static int
room_of(int i)
{
	return nrooms > 0 ? i % nrooms : 0;
}

/* The client whose progress paces sender s's window: the last client in
 * s's room, or the first when s is that one (a sender never hears
 * itself). */
static int
probe_of(int s)
{
	int step = nrooms > 0 ? nrooms : 1;
	int last = s + (nclients - 1 - s) / step * step;

	return last != s ? last : room_of(s) != s ? room_of(s) : s + step;
}

/* A message body "s<sender> <seq> <ns> xxx...": counts the delivery. */
static void
got_message(struct client *c, const char *body, int64_t now)
{
	struct worker *w = owner(c);
	const char *p = body;
	long s, seq;
	int64_t t;

	/* By hand: sscanf was half of the tool's CPU time at 3 M lines/s. */
	if (*p++ != 's' || (s = digits(&p)) < 0 || s >= nsenders ||
	    (seq = digits(&p)) < 0 || (t = digits(&p)) < 0)
		return;
	if (s == c->id) {
		w->echoes++;    /* Redis: its own message; not a delivery */
		return;
	}
	if (room_of((int)s) != room_of(c->id)) {
		w->reorders++;  /* from another room: misdelivered */
		return;
	}
	if (seq < c->next[s]) {
		w->dups++;
		return;
	}
	if (seq > c->next[s])
		w->reorders++;  /* a gap: lost or out of order */
	c->next[s] = (int)seq + 1;
	w->delivered++;
	if (c->id == probe_of(s))
		atomic_store(&probe_got[s], seq + 1);
	if (w->nlat < w->expected)
		w->lat[w->nlat++] = now - t;
}

/*
 * Logging in, each worker keeps at most LOGIN_WINDOW connections waiting
 * for their welcome and opens the next one as one is welcomed. Connecting
 * all at once would overflow a small listen backlog (ngIRCd's is 10), and
 * every dropped SYN costs that connect a 1 s retransmit: 300 clients took
 * 11 s to join ngIRCd that way. Paced, each server logs clients in as fast
 * as it accepts them.
 */
#define LOGIN_WINDOW 4

static void
open_next(struct worker *w)
{
	if (w->next_open < nclients) {
		open_client(&cl[w->next_open]);
		w->next_open += nthreads;
	}
}

static void
logged_in(struct client *c)
{
	if (churn_s > 0) {
		const char *quit = proto == HUB ? "QUIT\n" :
		    proto == IRC ? "QUIT\r\n" : RESP_QUIT;
		if (proto == HUB)
			say(c, quit, strlen(quit));
		else
			out(c, quit, strlen(quit));
		c->state = QUITTING;
		return;
	}
	c->state = READY;
	atomic_fetch_add(&ready, 1);
	open_next(owner(c));
}

static void
got_line(struct client *c, char *line, int64_t now)
{
	char *p;

	if (proto == HUB) {
		if (c->state == LOGGING_IN && strcmp(line, "OK") == 0 &&
		    nrooms > 0 && churn_s == 0) {
			char join[32];
			int n = snprintf(join, sizeof(join), "JOIN #r%d\n",
			    room_of(c->id));
			say(c, join, (size_t)n);
			c->state = JOINING;
		} else if ((c->state == LOGGING_IN || c->state == JOINING) &&
		    strcmp(line, "OK") == 0)
			logged_in(c);
		else if (strncmp(line, "MSG ", 4) == 0 &&
		    (p = strchr(line + 4, ' ')) != NULL)
			got_message(c, p + 1, now);
		else if (strncmp(line, "ERR ", 4) == 0)
			fprintf(stderr, "load: client %d: %s\n", c->id, line);
		return;
	}
	if (strncmp(line, "PING ", 5) == 0) {
		char pong[128];
		int n = snprintf(pong, sizeof(pong), "PONG %.100s\r\n", line + 5);
		out(c, pong, (size_t)n);
	} else if (c->state == LOGGING_IN && strstr(line, " 001 ") != NULL) {
		if (churn_s > 0)
			logged_in(c);
		else
			out(c, "JOIN #bench\r\n", 13);
	} else if (c->state == LOGGING_IN && strstr(line, " 366 ") != NULL) {
		logged_in(c);
	} else if ((p = strstr(line, " PRIVMSG #bench :")) != NULL) {
		got_message(c, p + 17, now);
	}
}

/* Handles every whole line at the start of c's read buffer; returns the
 * bytes they took. */
static size_t
take_lines(struct client *c, int64_t now)
{
	size_t start = 0;
	char *lf;

	while ((lf = memchr(c->rbuf + start, '\n', c->rlen - start)) != NULL) {
		*lf = '\0';
		if (lf > c->rbuf + start && lf[-1] == '\r')
			lf[-1] = '\0';
		got_line(c, c->rbuf + start, now);
		start = (size_t)(lf - c->rbuf) + 1;
	}
	return start;
}

/* ---- hubchat over WebSocket (--ws) -------------------------------------- */

/* The server's 101 at the start of c's buffer: its length once whole (and
 * the login sent), 0 while it is not. Anything but a 101 ends the run. */
static size_t
ws_head(struct client *c)
{
	char line[128];
	char *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);

	if (end == NULL)
		return 0;
	if (strncmp(c->rbuf, "HTTP/1.1 101 ", 13) != 0) {
		fprintf(stderr, "load: client %d: the upgrade was refused: "
		    "%.40s\n", c->id, c->rbuf);
		exit(1);
	}
	c->upgraded = true;
	int n = login_text(c, line, sizeof(line));
	say(c, line, (size_t)n);
	return (size_t)(end - c->rbuf) + 4;
}

/* Handles the 101 and then every whole frame at the start of c's read
 * buffer: each text frame is one line. Returns the bytes they took. */
static size_t
ws_take(struct client *c, int64_t now)
{
	size_t start = c->upgraded ? 0 : ws_head(c);

	if (!c->upgraded)
		return 0;
	for (;;) {
		const unsigned char *f = (unsigned char *)c->rbuf + start;
		size_t left = c->rlen - start, head = 2, n;
		if (left < 2)
			break;
		n = f[1] & 0x7F;
		if (n == 126) {
			if (left < 4)
				break;
			n = (size_t)f[2] << 8 | f[3];
			head = 4;
		} else if (n == 127) {
			fprintf(stderr, "load: client %d: a 64-bit frame\n",
			    c->id);
			exit(1);
		}
		if (left < head + n)
			break;
		char *text = c->rbuf + start + head, keep = text[n];
		if ((f[0] & 0x0F) == 0x1) {             /* a text frame */
			text[n] = '\0';
			got_line(c, text, now);
			text[n] = keep;
		}
		start += head + n;
	}
	return start;
}

/* ---- Redis pub/sub (RESP3) --------------------------------------------- */

/*
 * Redis is driven as a pub/sub server. Each client sends HELLO 3 and
 * SUBSCRIBE bench (RESP_LOGIN); the subscribe confirmation is its login.
 * With RESP3 what is published reaches a client as a push frame on the
 * connection it also publishes on; RESP2 would refuse PUBLISH on a
 * subscribed connection, and each sender would need a second one. A
 * sender's PUBLISH bench carries the same body as hubchat's MSG, and its
 * reply (the number of receivers) is skipped. Redis delivers a message to
 * its sender too: got_message counts those echoes apart.
 *
 * Frames are parsed by hand from the read buffer, as lines are (a library
 * would cost time and copies): one whole frame at a time, and a frame not
 * all there yet stays in the buffer for the next read. Every RESP3 type is
 * understood well enough to be skipped whole, but for the streamed forms
 * ("$?", "*?"), which Redis does not send.
 */

/* One RESP3 item: its type byte, and its number (an integer, a string's
 * length, an aggregate's count) or its string. */
struct resp_item {
	char type;
	long n;
	const char *s;          /* into the read buffer; not NUL-terminated */
};

static bool
resp_among(char type, const char *types)
{
	return type != '\0' && strchr(types, type) != NULL;
}

/* The decimal number (perhaps negative) in [p, end). */
static long
resp_number(const char *p, const char *end)
{
	bool minus = p < end && *p == '-';
	long v = 0;

	for (p += minus; p < end && *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (*p - '0');
	return minus ? -v : v;
}

/* Reads the item at p, up to end: its header line and, for a blob, its
 * bytes. Returns the byte after them (where an aggregate's elements
 * begin), or NULL when the buffer does not hold them all yet. */
static const char *
resp_item(const char *p, const char *end, struct resp_item *it)
{
	const char *cr = memchr(p, '\r', (size_t)(end - p));

	if (cr == NULL || end - cr < 2)
		return NULL;
	it->type = *p;
	it->s = p + 1;
	it->n = cr - it->s;             /* a simple string's length */
	if (resp_among(it->type, ":$!=*%~>|"))  /* a number, not a string */
		it->n = resp_number(it->s, cr);
	p = cr + 2;
	if (resp_among(it->type, "$!=") && it->n >= 0) {       /* a blob */
		if (end - p < it->n + 2)
			return NULL;
		it->s = p;
		p += it->n + 2;
	}
	return p;
}

/* How many values follow it as its parts: an aggregate's elements (a map's
 * and an attribute's pairs count twice, and an attribute is followed by
 * the value it describes); none for anything else. */
static long
resp_parts(const struct resp_item *it)
{
	switch (it->type) {
	case '*': case '~': case '>':
		return it->n > 0 ? it->n : 0;
	case '%':
		return 2 * it->n;
	case '|':
		return 2 * it->n + 1;
	default:
		return 0;
	}
}

/* Skips the whole value at p; returns the byte after it, or NULL when it is
 * not all there yet. */
static const char *
resp_skip(const char *p, const char *end)
{
	struct resp_item it;

	if ((p = resp_item(p, end, &it)) == NULL)
		return NULL;
	for (long k = resp_parts(&it); k > 0 && p != NULL; k--)
		p = resp_skip(p, end);
	return p;
}

static bool
resp_is(const struct resp_item *it, const char *s)
{
	size_t len = strlen(s);

	return it->type == '$' && it->n == (long)len &&
	    memcmp(it->s, s, len) == 0;
}

/* Handles the frame at p: a message push (got_message), the subscribe
 * confirmation (the login), an error (reported); anything else, such as
 * HELLO's map or PUBLISH's count, is skipped. Returns the byte after it,
 * or NULL when it is not all there yet. */
static const char *
resp_frame(struct client *c, const char *p, const char *end, int64_t now)
{
	struct resp_item head, kind, channel, last;
	const char *q = resp_item(p, end, &head);

	if (q != NULL && head.type == '-')
		fprintf(stderr, "load: client %d: %.*s\n", c->id, (int)head.n,
		    head.s);
	if (q == NULL || head.type != '>' || head.n != 3)
		return resp_skip(p, end);
	if ((q = resp_item(q, end, &kind)) == NULL ||
	    (q = resp_item(q, end, &channel)) == NULL ||
	    (q = resp_item(q, end, &last)) == NULL)
		return NULL;
	if (resp_parts(&kind) + resp_parts(&channel) + resp_parts(&last) > 0)
		return resp_skip(p, end);       /* not pub/sub's shape */
	if (resp_is(&kind, "message") && last.type == '$')
		got_message(c, last.s, now);    /* stops at the CR after it */
	else if (resp_is(&kind, "subscribe") && c->state == LOGGING_IN)
		logged_in(c);
	return q;
}

/* Handles every whole frame at the start of c's read buffer; returns the
 * bytes they took. */
static size_t
resp_take(struct client *c, int64_t now)
{
	const char *p = c->rbuf, *end = c->rbuf + c->rlen, *q;

	while (p < end && (q = resp_frame(c, p, end, now)) != NULL)
		p = q;
	return (size_t)(p - c->rbuf);
}

/* ---- Reading ----------------------------------------------------------- */

/* Reads and handles everything c has; false when the server closed it. */
static bool
readable(struct client *c)
{
	int64_t now = now_ns();

	for (;;) {
		ssize_t n = recv(c->fd, c->rbuf + c->rlen, RBUF - c->rlen, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0)
			return false;
		c->rlen += (size_t)n;
		size_t used = proto == REDIS ? resp_take(c, now) :
		    ws ? ws_take(c, now) : take_lines(c, now);
		memmove(c->rbuf, c->rbuf + used, c->rlen - used);
		c->rlen -= used;
		if (c->rlen == RBUF && proto == REDIS) {
			fprintf(stderr, "load: client %d: a frame over %d "
			    "bytes\n", c->id, RBUF);
			exit(1);
		}
		if (c->rlen == RBUF)
			c->rlen = 0;    /* an absurd line: drop it */
	}
	if (c->wlen)
		flush(c);
	return true;
}

/* ---- One worker's event loop ------------------------------------------ */

/* Handles events until cond(w) holds or the deadline passes; runs tick(w)
 * before each wait when given. */
static bool
loop_until(struct worker *w, bool (*cond)(struct worker *), int64_t deadline,
    void (*tick)(struct worker *))
{
	struct epoll_event evs[256];

	while (!cond(w)) {
		if (now_ns() > deadline)
			return false;
		if (tick)
			tick(w);
		int n = epoll_wait(w->ep, evs, 256, tick ? 1 : 50);
		for (int i = 0; i < n; i++) {
			struct client *c = &cl[evs[i].data.u32];
			if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
			    !readable(c)) {
				if (churn_s == 0) {
					fprintf(stderr, "load: client %d: the "
					    "server closed the connection\n",
					    c->id);
					exit(1);
				}
				closed(c);
				continue;
			}
			if (evs[i].events & EPOLLOUT)
				flush(c);
		}
	}
	return true;
}

static bool all_ready(struct worker *w) { (void)w; return atomic_load(&ready) == nclients; }
/* Its clients have seen all they should, and its senders sent all. */
static bool
all_seen(struct worker *w)
{
	for (int s = w->index; s < nsenders; s += nthreads)
		if (sent[s] < nmsgs || cl[s].wlen > 0)
			return false;
	return w->delivered + w->dups >= w->expected;
}
static bool churn_over(struct worker *w) { (void)w; return now_ns() - start_ns >= (int64_t)churn_s * 1000000000; }

static bool
all_closed(struct worker *w)
{
	for (int i = w->index; i < nclients; i += nthreads)
		if (cl[i].fd >= 0)
			return false;
	return true;
}

/* Sends what the window or the rate allows now, for w's senders. */
static void
pump(struct worker *w)
{
	/* At a rate, message j of the whole run is due at j / RATE and goes
	 * from sender j % SENDERS: evenly spaced, never a burst from all. */
	double due = rate > 0 ? (double)(now_ns() - start_ns) * rate / 1e9 : 0;

	for (int s = w->index; s < nsenders; s += nthreads) {
		if (rate > 0)
			while (sent[s] < nmsgs &&
			    (double)(sent[s] * nsenders + s) < due)
				send_message(s);
		else
			while (sent[s] < nmsgs &&
			    sent[s] - atomic_load(&probe_got[s]) < window)
				send_message(s);
		if (cl[s].wlen)
			flush(&cl[s]);
	}
}

/* Phases, each ended by the barrier: log in; (main samples); run. */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	w->next_open = w->index;
	for (int i = 0; i < LOGIN_WINDOW && churn_s == 0; i++)
		open_next(w);
	if (churn_s == 0 && !loop_until(w, all_ready, now_ns() + 300000000000LL,
	    NULL)) {
		fprintf(stderr, "load: only %d of %d logged in\n",
		    atomic_load(&ready), nclients);
		exit(1);
	}
	pthread_barrier_wait(&phase);
	pthread_barrier_wait(&phase);   /* main took its sample */
	double cpu0 = thread_cpu();
	if (churn_s > 0) {
		for (int i = w->index; i < nclients; i += nthreads)
			open_client(&cl[i]);
		loop_until(w, churn_over, INT64_MAX, NULL);
		atomic_store(&stop_churn, true);
		/* let the sessions in flight finish, then drop any left */
		loop_until(w, all_closed, now_ns() + 2000000000LL, NULL);
		for (int i = w->index; i < nclients; i += nthreads)
			if (cl[i].fd >= 0) {
				close(cl[i].fd);
				cl[i].fd = -1;
			}
	} else {
		loop_until(w, all_seen, start_ns + 300000000000LL, pump);
	}
	w->cpu_s = thread_cpu() - cpu0;
	return NULL;
}

/* ---- /proc ------------------------------------------------------------- */

struct usage {
	long rss_kib, threads;
	double cpu_s;
};

/*
 * The server's CPU time, user and system, of every thread it has had
 * (threads that have exited too): from its process CPU clock, to the
 * nanosecond. Where that clock cannot be read, from /proc/PID/stat, in
 * clock ticks (10 ms): too coarse for a run that costs the server a few
 * tens of ms.
 */
static double
server_cpu(void)
{
	clockid_t clock;
	struct timespec ts;
	char path[64], buf[1024];
	unsigned long ut = 0, st = 0;
	FILE *f;

	if (clock_getcpuclockid(server_pid, &clock) == 0 &&
	    clock_gettime(clock, &ts) == 0)
		return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	snprintf(path, sizeof(path), "/proc/%d/stat", server_pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f)) {
		char *p = strrchr(buf, ')');
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u "
		    "%*u %*u %*u %lu %lu", &ut, &st) != 2)
			ut = st = 0;
	}
	fclose(f);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static struct usage
server_usage(void)
{
	struct usage u = { 0 };
	char path[64], buf[1024];
	FILE *f;

	if (server_pid <= 0)
		return u;
	snprintf(path, sizeof(path), "/proc/%d/status", server_pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(buf, sizeof(buf), f)) {
			if (strncmp(buf, "VmRSS:", 6) == 0)
				u.rss_kib = atol(buf + 6);
			if (strncmp(buf, "Threads:", 8) == 0)
				u.threads = atol(buf + 8);
		}
		fclose(f);
	}
	u.cpu_s = server_cpu();
	return u;
}

/* The server's open fds: its connections, plus a few of its own. */
static long
server_fds(void)
{
	char path[64];
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", server_pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* After the run: closes every connection, then waits up to 30 s for the
 * server to be back where it started (as many fds, and for churn as many
 * threads), so that the next run starts on an idle server. */
static struct usage
settle(long base_fds, long base_threads)
{
	int64_t deadline = now_ns() + 30000000000LL;
	struct usage u = server_usage();

	for (int i = 0; i < nclients; i++)
		if (cl[i].fd >= 0)
			close(cl[i].fd);
	while (server_pid > 0 && now_ns() < deadline &&
	    (server_fds() > base_fds ||
	    (!keeps_threads && u.threads > base_threads))) {
		usleep(10000);
		u = server_usage();
	}
	return u;
}

/* ---- Main -------------------------------------------------------------- */

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* For bench/run.sh: "--free-port" prints a port nobody listens on now;
 * "--probe PORT" exits 0 when something accepts connections there. */
static void
port_helpers(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd;

	if (argc != 2 && argc != 3)
		return;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (argc == 2 && strcmp(argv[1], "--free-port") == 0) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
		    bind(fd, (struct sockaddr *)&sa, len) < 0 ||
		    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
			die("--free-port");
		printf("%d\n", ntohs(sa.sin_port));
		exit(0);
	}
	if (argc == 3 && strcmp(argv[1], "--probe") == 0) {
		sa.sin_port = htons((uint16_t)atoi(argv[2]));
		fd = socket(AF_INET, SOCK_STREAM, 0);
		exit(fd >= 0 && connect(fd, (struct sockaddr *)&sa, len) == 0 ?
		    0 : 1);
	}
}

/* -p PORT or PORT,PORT,...: the ports, clients spread over them in turn
 * (a cluster's nodes); returns the first. */
static int
ports_named(const char *list)
{
	for (const char *p = list; *p != '\0' && nports < MAX_PORTS;) {
		ports[nports++] = atoi(p);
		p += strcspn(p, ",");
		p += *p == ',';
	}
	for (int i = 0; i < nports; i++)
		if (ports[i] <= 0)
			return 0;
	return nports > 0 ? ports[0] : 0;
}

static enum proto
proto_named(const char *name)
{
	if (strcmp(name, "hub") == 0)
		return HUB;
	if (strcmp(name, "irc") == 0)
		return IRC;
	if (strcmp(name, "redis") == 0)
		return REDIS;
	fprintf(stderr, "load: --proto is hub, irc or redis, not %s\n", name);
	exit(2);
}

static void
parse_args(int argc, char **argv)
{
	port_helpers(argc, argv);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "0";
		if (strcmp(a, "--hold") == 0 || strcmp(a, "--ws") == 0) {
			hold = hold || strcmp(a, "--hold") == 0;
			ws = ws || strcmp(a, "--ws") == 0;
			continue;
		}
		if (strcmp(a, "--keeps-threads") == 0) {
			keeps_threads = true;
			continue;
		}
		if (strcmp(a, "--usr1") == 0) {
			usr1 = true;
			continue;
		}
		if (strcmp(a, "--name") == 0)
			name_flag = v;
		else if (strcmp(a, "--proto") == 0)
			proto = proto_named(v);
		else if (strcmp(a, "-p") == 0)
			port = ports_named(v);
		else if (strcmp(a, "-n") == 0)
			nclients = atoi(v);
		else if (strcmp(a, "-s") == 0)
			nsenders = atoi(v);
		else if (strcmp(a, "-m") == 0)
			nmsgs = atoi(v);
		else if (strcmp(a, "-w") == 0)
			window = atoi(v);
		else if (strcmp(a, "-r") == 0)
			rate = atoi(v);
		else if (strcmp(a, "-t") == 0)
			nthreads = atoi(v);
		else if (strcmp(a, "-c") == 0)
			churn_s = atoi(v);
		else if (strcmp(a, "-P") == 0)
			server_pid = atoi(v);
		else if (strcmp(a, "-l") == 0)
			label = v;
		else if (strcmp(a, "-R") == 0)
			nrooms = atoi(v);
		else {
			fprintf(stderr, "load: unknown option %s\n", a);
			exit(2);
		}
		i++;
	}
	if (churn_s > 0)
		nsenders = nmsgs = 0;
	if (port <= 0 || nclients < 2 || nthreads < 1 ||
	    nthreads > MAX_THREADS || (churn_s == 0 && nsenders > nclients)) {
		fprintf(stderr, "load: -p PORT needed, 2 or more clients, 1..%d "
		    "threads, and SENDERS <= CLIENTS\n", MAX_THREADS);
		exit(2);
	}
}

static void
setup(void)
{
	cl = calloc((size_t)nclients, sizeof(*cl));
	sent = calloc((size_t)nsenders + 1, sizeof(long));
	probe_got = calloc((size_t)nsenders + 1, sizeof(*probe_got));
	if (cl == NULL || sent == NULL || probe_got == NULL)
		die("calloc");
	for (int i = 0; i < nclients; i++) {
		cl[i].id = i;
		cl[i].fd = -1;
		cl[i].rbuf = malloc(RBUF);
		cl[i].next = calloc((size_t)nsenders + 1, sizeof(int));
		if (cl[i].rbuf == NULL || cl[i].next == NULL)
			die("malloc");
		/* every sender's messages reach every client of its room
		 * but itself */
		for (int s = 0; s < nsenders; s++)
			if (s != i && room_of(s) == room_of(i))
				wk[i % nthreads].expected += nmsgs;
	}
	for (int t = 0; t < nthreads; t++) {
		wk[t].index = t;
		if ((wk[t].ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
			die("epoll");
		wk[t].lat = malloc(sizeof(int64_t) * (size_t)(wk[t].expected + 1));
		if (wk[t].lat == NULL)
			die("malloc");
	}
	pthread_barrier_init(&phase, NULL, (unsigned)nthreads + 1);
}

/* The totals of all workers, latencies merged and sorted. */
static struct worker
merge(void)
{
	struct worker all = { 0 };

	for (int t = 0; t < nthreads; t++) {
		all.expected += wk[t].expected;
		all.delivered += wk[t].delivered;
		all.dups += wk[t].dups;
		all.reorders += wk[t].reorders;
		all.echoes += wk[t].echoes;
		all.sessions += wk[t].sessions;
		all.failures += wk[t].failures;
		all.nlat += wk[t].nlat;
		if (wk[t].cpu_s > all.cpu_s)
			all.cpu_s = wk[t].cpu_s;        /* the busiest */
	}
	all.lat = malloc(sizeof(int64_t) * (size_t)(all.nlat + 1));
	long k = 0;
	for (int t = 0; t < nthreads; t++) {
		memcpy(all.lat + k, wk[t].lat, sizeof(int64_t) * (size_t)wk[t].nlat);
		k += wk[t].nlat;
	}
	qsort(all.lat, (size_t)all.nlat, sizeof(int64_t), cmp64);
	return all;
}

static double
pct(const struct worker *all, double p)
{
	if (all->nlat == 0)
		return 0;
	long i = (long)(p / 100.0 * (double)(all->nlat - 1));
	return (double)all->lat[i] / 1e3;       /* µs */
}

static const char *
server_name(void)
{
	if (name_flag != NULL)
		return name_flag;
	return proto == HUB ? (ws ? "hubchat-ws" : "hubchat") : proto == IRC ? "ngircd" : "redis";
}

/* µs of server CPU for each of n (deliveries, sessions); 0 for none. */
static double
us_each(double cpu_s, long n)
{
	return n > 0 ? cpu_s * 1e6 / (double)n : 0;
}

static int
report_churn(const struct worker *all, double secs, struct usage base,
    double cpu_s, struct usage after)
{
	double per_s = (double)all->sessions / secs;
	double us = us_each(cpu_s, all->sessions);

	printf("%s %s: churn clients=%d: %ld sessions in %.2f s = %.0f/s; "
	    "failed=%ld; server threads %ld -> %ld, rss %ld -> %ld KiB, "
	    "cpu %.3f s = %.1f us/session; tool busy %.0f%%\n", label,
	    server_name(), nclients, all->sessions, secs, per_s,
	    all->failures, base.threads, after.threads, base.rss_kib,
	    after.rss_kib, cpu_s, us, 100 * all->cpu_s / secs);
	printf("{\"label\":\"%s\",\"server\":\"%s\",\"clients\":%d,"
	    "\"sessions\":%ld,\"failed\":%ld,\"seconds\":%.3f,"
	    "\"per_second\":%.1f,\"threads_before\":%ld,\"threads_after\":%ld,"
	    "\"rss_before_kib\":%ld,\"rss_after_kib\":%ld,"
	    "\"server_cpu_s\":%.3f,\"server_cpu_us_per_session\":%.2f,"
	    "\"tool_busy\":%.3f}\n", label, server_name(), nclients,
	    all->sessions, all->failures, secs, per_s, base.threads,
	    after.threads, base.rss_kib, after.rss_kib, cpu_s, us,
	    all->cpu_s / secs);
	return all->failures == 0 &&
	    (keeps_threads || after.threads == base.threads) ? 0 : 1;
}

/* What a message run measured, for its two reports. */
struct outcome {
	const struct worker *all;       /* the workers' totals (merge) */
	double secs, per_s, login_s;
	double cpu_s;                   /* the server's, during the run */
	double rss_per_client;          /* KiB: logged in against idle */
	struct usage loaded;            /* the server, all logged in */
	long lost;
	bool done;                      /* all expected deliveries came */
};

static void
print_summary(const struct outcome *o)
{
	const struct worker *all = o->all;

	printf("%s %s: clients=%d senders=%d x %d%s: %ld of %ld delivered in "
	    "%.2f s = %.0f/s; lost=%ld dup=%ld reorder=%ld%s\n", label,
	    server_name(), nclients, nsenders, nmsgs, rate ? " (rate)" : "",
	    all->delivered, all->expected, o->secs, o->per_s, o->lost,
	    all->dups, all->reorders, o->done ? "" : " TIMEOUT");
	printf("  latency us: p50=%.0f p90=%.0f p99=%.0f p99.9=%.0f max=%.0f; "
	    "login %.2f s; tool busy %.0f%%\n", pct(all, 50), pct(all, 90),
	    pct(all, 99), pct(all, 99.9), pct(all, 100), o->login_s,
	    100 * all->cpu_s / o->secs);
	printf("  server: rss %ld KiB (%+.1f KiB/client), threads %ld, cpu "
	    "%.3f s = %.3f us/delivery\n", o->loaded.rss_kib,
	    o->rss_per_client, o->loaded.threads, o->cpu_s,
	    us_each(o->cpu_s, all->delivered));
	if (all->echoes > 0)
		printf("  %ld echoes of a sender's own messages, not counted\n",
		    all->echoes);
}

static void
print_json(const struct outcome *o)
{
	const struct worker *all = o->all;

	printf("{\"label\":\"%s\",\"server\":\"%s\",\"clients\":%d,"
	    "\"senders\":%d,\"messages\":%d,\"rate\":%d,\"delivered\":%ld,"
	    "\"expected\":%ld,\"lost\":%ld,\"dup\":%ld,\"reorder\":%ld,"
	    "\"echoes\":%ld,\"seconds\":%.4f,\"per_second\":%.1f,"
	    "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
	    "\"max_us\":%.1f,\"rss_kib\":%ld,\"rss_per_client_kib\":%.2f,"
	    "\"threads\":%ld,\"server_cpu_s\":%.3f,"
	    "\"server_cpu_us_per_delivery\":%.3f,\"tool_busy\":%.3f,"
	    "\"login_s\":%.2f,\"complete\":%s}\n", label, server_name(),
	    nclients, nsenders, nmsgs, rate, all->delivered, all->expected,
	    o->lost, all->dups, all->reorders, all->echoes, o->secs, o->per_s,
	    pct(all, 50), pct(all, 90), pct(all, 99), pct(all, 99.9),
	    pct(all, 100), o->loaded.rss_kib, o->rss_per_client,
	    o->loaded.threads, o->cpu_s, us_each(o->cpu_s, all->delivered),
	    all->cpu_s / o->secs, o->login_s, o->done ? "true" : "false");
}

static int
report_messages(const struct worker *all, double secs, struct usage idle,
    struct usage loaded, struct usage after, double login_s)
{
	struct outcome o = { .all = all, .secs = secs, .login_s = login_s,
		.per_s = (double)all->delivered / secs,
		.cpu_s = after.cpu_s - loaded.cpu_s,
		.rss_per_client = (double)(loaded.rss_kib - idle.rss_kib) /
		    nclients,
		.loaded = loaded,
		.lost = all->expected - all->delivered - all->dups,
		.done = all->delivered + all->dups >= all->expected };

	print_summary(&o);
	print_json(&o);
	return o.done && o.lost == 0 && all->dups == 0 &&
	    all->reorders == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	parse_args(argc, argv);
	setup();

	struct usage idle = server_usage();
	long idle_fds = server_fds();
	int64_t t0 = now_ns();
	for (int t = 0; t < nthreads; t++)
		if (pthread_create(&wk[t].tid, NULL, worker_main, &wk[t]) != 0)
			die("pthread_create");
	pthread_barrier_wait(&phase);           /* all logged in */
	double login_s = (double)(now_ns() - t0) / 1e9;
	struct usage loaded = server_usage();
	if (usr1 && server_pid > 0)
		kill(server_pid, SIGUSR1);
	start_ns = now_ns();
	pthread_barrier_wait(&phase);           /* go */
	for (int t = 0; t < nthreads; t++)
		pthread_join(wk[t].tid, NULL);
	double secs = (double)(now_ns() - start_ns) / 1e9;
	struct usage after = server_usage();   /* before the sort in merge */
	struct worker all = merge();

	if (churn_s > 0)
		return report_churn(&all, churn_s, idle,
		    after.cpu_s - loaded.cpu_s, settle(idle_fds, idle.threads));
	int rc = report_messages(&all, secs, idle, loaded, after, login_s);
	fflush(stdout);
	if (hold)
		pause();
	settle(idle_fds, idle.threads);
	return rc;
}
