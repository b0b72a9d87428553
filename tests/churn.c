/*
 * churn.c - a bounded churn run against a live server.
 *
 *   churn -p PORT -P SERVER_PID [-w WEB_PORT] [-n SESSIONS]
 *         [-c CONCURRENCY] [-s SEED] [--no-rss]
 *
 * Runs SESSIONS sessions, CONCURRENCY at a time. Each connects, logs in,
 * talks (every other one in one of CHURN_ROOMS rooms it JOINs, so rooms
 * are made, kept for their history and found again), and ends one of six
 * ways, chosen at random: QUIT (and waits for
 * "INFO bye"), vanishing (close), a reset, closing in the middle of a line,
 * a half-close (and waits for the replies and the server's close), or
 * leaving before logging in. Every session checks what it was told.
 * With -w, every third session goes through the web listener instead: an
 * HTTP upgrade, then the same lines as WebSocket text frames and the same
 * endings (closing in the middle of a frame rather than of a line, and a
 * close frame for QUIT every other time); and one in ten of those asks
 * for the page instead and reads it to the end.
 *
 * Then it checks, through /proc/PID, that the server is back to where it
 * was: exactly as many threads and open fds as before the run (after one
 * message in each room, so the history archive has the logs it keeps
 * open already), and an RSS within RSS_SLACK_KIB of what it was after a
 * warm-up of the same concurrency (malloc keeps freed memory for reuse,
 * so the baseline for memory is a warm server, not a cold one).
 * Exit 0 when all holds.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RSS_SLACK_KIB 2048      /* stated tolerance for memory */
#define IO_TIMEOUT_MS 10000     /* per read; every wait is bounded */
#define SETTLE_MS     10000     /* for the server to finish tearing down */

#define CHURN_ROOMS 7            /* beside #lobby */

enum ending { QUIT, VANISH, RESET, MIDLINE, HALFCLOSE, PRELOGIN, ENDINGS };
static const char *ending_names[] = { "quit", "vanish", "reset", "midline",
	"halfclose", "prelogin" };

static int port;
static int web_port;                    /* -w: 0 when no web sessions */
static int server_pid;
static long sessions = 10000;
static int concurrency = 16;
static unsigned seed = 1;
static bool check_rss = true;

static atomic_long next_session;
static long run_limit;                  /* sessions up to this number */
static atomic_long outcomes[ENDINGS];
static atomic_long pages;               /* web sessions that got the page */
static atomic_long failures;

/* ---- One session ------------------------------------------------------- */

static void
fail(long k, const char *what)
{
	if (atomic_fetch_add(&failures, 1) < 10)
		fprintf(stderr, "churn: session %ld: %s\n", k, what);
}

static int
dial(int to)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)to) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* A connection: plain lines, or WebSocket frames after an upgrade. */
struct wire {
	int fd;
	bool ws;
};

static bool
send_all(int fd, const void *p, size_t n)
{
	return send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* One masked text frame holding text[0..len), of which only the first
 * sent bytes of the payload are sent (sent < len: a frame cut short). */
static bool
ws_frame(int fd, const char *text, size_t len, size_t sent)
{
	static const unsigned char key[4] = { 0x11, 0x22, 0x33, 0x44 };
	unsigned char f[256];
	size_t h = 0;

	if (len > sizeof(f) - 8)
		return false;
	f[h++] = 0x81;                          /* FIN, text */
	f[h++] = (unsigned char)(0x80 | len);   /* masked; len < 126 */
	memcpy(f + h, key, 4);
	h += 4;
	for (size_t i = 0; i < sent; i++)
		f[h + i] = (unsigned char)text[i] ^ key[i & 3];
	return send_all(fd, f, h + sent);
}

/* Sends s: as it is on a plain connection; over a WebSocket, each line as
 * one text frame, and a last piece without LF as a frame cut in half. */
static bool
say(const struct wire *w, const char *s)
{
	if (!w->ws)
		return send_all(w->fd, s, strlen(s));
	while (*s != '\0') {
		size_t n = strcspn(s, "\n");
		bool whole = s[n] == '\n';
		if (!ws_frame(w->fd, s, n, whole ? n : n / 2))
			return false;
		s += n + whole;
	}
	return true;
}

/* Takes the first whole server frame from buf[0..*len): 1 and its payload
 * NUL-terminated in place at *text when it is a text frame, 0 when it is
 * another frame, -1 when none is whole yet. Consumed bytes are removed. */
static int
ws_take(char *buf, size_t *len, char *text, size_t textsz)
{
	const unsigned char *b = (unsigned char *)buf;
	size_t head = 2, n;

	if (*len < 2)
		return -1;
	n = b[1] & 0x7F;
	if (n == 126) {
		if (*len < 4)
			return -1;
		n = (size_t)b[2] << 8 | b[3];
		head = 4;
	} else if (n == 127) {
		return 0;               /* never sent to us: chat lines are short */
	}
	if (*len < head + n)
		return -1;
	int text_frame = (b[0] & 0x0F) == 0x1;
	size_t copy = n < textsz - 1 ? n : textsz - 1;
	memcpy(text, buf + head, copy);
	text[copy] = '\0';
	*len -= head + n;
	memmove(buf, buf + head + n, *len);
	return text_frame;
}

/* read_until over a WebSocket: text frames instead of lines. */
static bool
ws_read_until(int fd, const char *want)
{
	char buf[8192], text[1100];
	size_t len = 0;

	for (;;) {
		int got;
		while ((got = ws_take(buf, &len, text, sizeof(text))) >= 0)
			if (got == 1 && want != NULL && strcmp(text, want) == 0)
				return true;
		if (len == sizeof(buf))
			return false;   /* no frame of ours is this long */
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (poll(&pf, 1, IO_TIMEOUT_MS) <= 0)
			return false;
		ssize_t n = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (n <= 0)
			return want == NULL && n == 0;
		len += (size_t)n;
	}
}

/* read_until over plain lines. */
static bool
lines_read_until(int fd, const char *want)
{
	char buf[8192];
	size_t len = 0;

	for (;;) {
		char *lf;
		while ((lf = memchr(buf, '\n', len)) != NULL) {
			*lf = '\0';
			if (want != NULL && strcmp(buf, want) == 0)
				return true;
			len -= (size_t)(lf + 1 - buf);
			memmove(buf, lf + 1, len);
		}
		if (len == sizeof(buf))
			len = 0;        /* a line longer than we care about */
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (poll(&pf, 1, IO_TIMEOUT_MS) <= 0)
			return false;
		ssize_t n = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (n <= 0)
			return want == NULL && n == 0;
		len += (size_t)n;
	}
}

/* Reads until a line equal to want arrives (true), or EOF, an error or the
 * timeout (false). Other lines (broadcasts from other sessions) are
 * skipped. With want NULL, reads until EOF and returns true then. */
static bool
read_until(const struct wire *w, const char *want)
{
	return w->ws ? ws_read_until(w->fd, want) :
	    lines_read_until(w->fd, want);
}

/* The opening handshake on fd: true when the server answered 101. */
static bool
ws_upgrade(int fd)
{
	char head[1024];
	size_t len = 0;

	if (!say(&(struct wire){ fd, false }, "GET /ws HTTP/1.1\r\n"
	    "Host: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: Y2h1cm4gY2h1cm4gY2h1cg==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n"))
		return false;
	/* Byte by byte, so no frame after the head is read with it. */
	while (len < sizeof(head) - 1 && (len < 4 ||
	    memcmp(head + len - 4, "\r\n\r\n", 4) != 0)) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (poll(&pf, 1, IO_TIMEOUT_MS) <= 0 ||
		    recv(fd, head + len, 1, 0) != 1)
			return false;
		len++;
	}
	head[len] = '\0';
	return strncmp(head, "HTTP/1.1 101 ", 13) == 0;
}

/* A plain HTTP request for the page, read to the server's close. */
static void
fetch_page(long k, int fd)
{
	char sink[4096];
	size_t total = 0;
	ssize_t n;

	if (!say(&(struct wire){ fd, false },
	    "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"))
		fail(k, "send failed");
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (poll(&pf, 1, IO_TIMEOUT_MS) <= 0 ||
		    (n = recv(fd, sink, sizeof(sink), 0)) < 0) {
			fail(k, "the page did not come");
			return;
		}
		if (n == 0)
			break;
		if (total == 0 && strncmp(sink, "HTTP/1.1 200 ", 13) != 0)
			fail(k, "the page was not 200");
		total += (size_t)n;
	}
}

/* Connects: over the web listener for every third session when -w was
 * given (a WebSocket, or the page), else plainly. fd -1 on failure. */
static struct wire
connect_for(long k, bool *page)
{
	bool web = web_port > 0 && k % 3 == 2;
	struct wire w = { dial(web ? web_port : port), web };

	*page = web && k % 10 == 5;
	if (w.fd >= 0 && web && !*page && !ws_upgrade(w.fd)) {
		fail(k, "the WebSocket upgrade failed");
		close(w.fd);
		w.fd = -1;
	}
	return w;
}

/* The goodbye: QUIT and its INFO bye, or over a WebSocket every other
 * time a close frame and its echo (then the server's close). */
static void
quit(long k, const struct wire *w)
{
	static const unsigned char close_1000[] = { 0x88, 0x82, 1, 2, 3, 4,
	    0x03 ^ 1, 0xe8 ^ 2 };

	say(w, "MSG bye all\n");
	if (w->ws && k % 2 == 0) {
		send_all(w->fd, close_1000, sizeof(close_1000));
		if (!read_until(w, NULL))
			fail(k, "no close after a close frame");
		return;
	}
	say(w, "QUIT\n");
	if (!read_until(w, "INFO bye"))
		fail(k, "no INFO bye after QUIT");
}

static void
session(long k, unsigned *rnd)
{
	enum ending how = (enum ending)(rand_r(rnd) % ENDINGS);
	char line[96];
	bool page;
	struct wire w = connect_for(k, &page);

	if (w.fd < 0) {
		fail(k, "cannot connect");
		return;
	}
	if (page) {
		fetch_page(k, w.fd);
		close(w.fd);
		atomic_fetch_add(&pages, 1);
		return;
	}
	if (how != PRELOGIN && k % 2 == 1) {
		snprintf(line, sizeof(line), "LOGIN u%ld\nJOIN #c%ld\nMSG hi "
		    "%ld\n", k, k % CHURN_ROOMS, k);
		if (!say(&w, line))
			fail(k, "send failed");
	} else if (how != PRELOGIN) {
		snprintf(line, sizeof(line), "LOGIN u%ld\nMSG hello %ld\n", k, k);
		if (!say(&w, line))
			fail(k, "send failed");
	}
	switch (how) {
	case QUIT:
		quit(k, &w);
		break;
	case VANISH:
		break;
	case RESET: {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(w.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		break;
	}
	case MIDLINE:
		say(&w, "MSG this line never ends");
		break;
	case HALFCLOSE:
		snprintf(line, sizeof(line), "PING half%ld\n", k);
		say(&w, line);
		shutdown(w.fd, SHUT_WR);
		snprintf(line, sizeof(line), "PONG half%ld", k);
		if (!read_until(&w, line))
			fail(k, "no PONG after a half-close");
		else if (!read_until(&w, NULL))
			fail(k, "the server did not close after a half-close");
		break;
	case PRELOGIN:
	case ENDINGS:
		break;
	}
	close(w.fd);
	atomic_fetch_add(&outcomes[how], 1);
}

/* One message in #lobby and in each room before anything is measured, so
 * the archive has every log it will use open from the start: a steady
 * server's open fds are then the same before the run and after it. */
static void
prime_rooms(void)
{
	char line[96];
	struct wire w = { dial(port), false };

	if (w.fd < 0) {
		fprintf(stderr, "churn: cannot connect\n");
		exit(1);
	}
	say(&w, "LOGIN primer\nMSG priming #lobby\n");
	for (int r = 0; r < CHURN_ROOMS; r++) {
		snprintf(line, sizeof(line), "JOIN #c%d\nMSG priming\n", r);
		say(&w, line);
	}
	say(&w, "QUIT\n");
	if (!read_until(&w, "INFO bye")) {
		fprintf(stderr, "churn: the primer got no INFO bye\n");
		exit(1);
	}
	close(w.fd);
}

static void *
worker(void *arg)
{
	unsigned rnd = seed ^ (unsigned)(uintptr_t)arg;
	long k;

	while ((k = atomic_fetch_add(&next_session, 1)) < run_limit)
		session(k, &rnd);
	return NULL;
}

/* Runs sessions [next_session, limit) with `concurrency` threads. */
static void
run_until(long limit)
{
	pthread_t t[256];
	int n = concurrency < 256 ? concurrency : 256;

	run_limit = limit;
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

/* ---- What /proc says of the server ------------------------------------- */

struct usage {
	long threads;
	long fds;
	long rss_kib;
};

static long
status_field(const char *name)
{
	char path[64], line[256];
	long v = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", server_pid);
	FILE *f = fopen(path, "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, strlen(name)) == 0)
			v = atol(line + strlen(name));
	if (f != NULL)
		fclose(f);
	return v;
}

static struct usage
measure(void)
{
	struct usage u = { status_field("Threads:"), 0,
		status_field("VmRSS:") };
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd", server_pid);
	DIR *d = opendir(path);
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
		u.fds += e->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	return u;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the server has as many threads and fds as base. */
static struct usage
settle(struct usage base, bool fds_too)
{
	long long deadline = now_ms() + SETTLE_MS;
	struct usage u;

	while ((u = measure()).threads != base.threads ||
	    (fds_too && u.fds != base.fds)) {
		if (now_ms() > deadline)
			break;
		poll(NULL, 0, 20);      /* /proc has nothing to wait on */
	}
	return u;
}

/* ---- main -------------------------------------------------------------- */

static void
parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
		if (strcmp(a, "--no-rss") == 0) {
			check_rss = false;
			continue;
		}
		if (strcmp(a, "-p") == 0)
			port = atoi(v);
		else if (strcmp(a, "-w") == 0)
			web_port = atoi(v);
		else if (strcmp(a, "-P") == 0)
			server_pid = atoi(v);
		else if (strcmp(a, "-n") == 0)
			sessions = atol(v);
		else if (strcmp(a, "-c") == 0)
			concurrency = atoi(v);
		else if (strcmp(a, "-s") == 0)
			seed = (unsigned)atol(v);
		else {
			fprintf(stderr, "usage: churn -p PORT -P PID [-w PORT] "
			    "[-n N] [-c C] [-s SEED] [--no-rss]\n");
			exit(2);
		}
		i++;
	}
	if (port <= 0 || server_pid <= 0 || sessions <= 0 || concurrency <= 0) {
		fprintf(stderr, "churn: -p PORT and -P PID are needed\n");
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	parse_args(argc, argv);
	struct usage fresh = measure();
	prime_rooms();
	struct usage cold = settle(fresh, false);       /* the primer gone */
	long warmup = sessions / 10 < 500 ? sessions / 10 : 500;
	run_until(warmup);
	struct usage warm = settle(cold, true);

	long long start = now_ms();
	run_until(sessions);
	double secs = (double)(now_ms() - start) / 1000.0;
	struct usage end = settle(cold, true);

	printf("churn: sessions=%ld concurrency=%d seed=%u in %.1f s "
	    "(%.0f sessions/s after warm-up)\n", sessions, concurrency, seed,
	    secs, (double)(sessions - warmup) / (secs > 0 ? secs : 1));
	printf("churn: endings:");
	for (int i = 0; i < ENDINGS; i++)
		printf(" %s=%ld", ending_names[i], atomic_load(&outcomes[i]));
	printf(" (and pages=%ld) failures=%ld\n", atomic_load(&pages),
	    atomic_load(&failures));
	printf("churn: threads before=%ld after=%ld; fds before=%ld warm=%ld "
	    "after=%ld; rss warm=%ld KiB after=%ld KiB (%+ld KiB, allowed "
	    "+%d)\n", cold.threads, end.threads, cold.fds, warm.fds, end.fds,
	    warm.rss_kib, end.rss_kib, end.rss_kib - warm.rss_kib,
	    RSS_SLACK_KIB);

	bool ok = atomic_load(&failures) == 0 && end.threads == cold.threads &&
	    end.fds == cold.fds &&
	    (!check_rss || end.rss_kib <= warm.rss_kib + RSS_SLACK_KIB);
	printf("churn: %s\n", ok ? "OK: back to baseline" : "FAILED");
	return ok ? 0 : 1;
}
