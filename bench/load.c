/*
 * load.c - the benchmark's load generator: one thread, epoll, non-blocking
 * sockets, speaking hubchat's protocol or enough IRC to drive ngIRCd.
 *
 *   load --proto hub|irc -p PORT -n CLIENTS -s SENDERS -m MESSAGES
 *        [-w WINDOW | -r RATE] [-P SERVER_PID] [-l LABEL] [--hold]
 *
 * N clients connect and log in (IRC: NICK, USER, JOIN #bench). The first S
 * of them each send M messages of 100 bytes, either flat out with at most
 * WINDOW of each sender's messages not yet seen by the last client, or at
 * RATE messages per second in all. Every other client receives. Each
 * message carries its sender, sequence number and send time, so every
 * receiver counts deliveries, losses, duplicates and per-sender order
 * violations, and the send-to-receive latency of each delivery is kept for
 * percentiles. With -P it samples the server's RSS, threads and CPU time
 * from /proc. It prints a readable summary and one JSON line.
 *
 * It is not the bottleneck: it reports its own CPU time next to the
 * server's, and a run is only fair while the tool's share stays below one
 * core (it has one thread; the machine has two).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF 16384
#define BODY 100                /* bytes of text per message */

enum proto { HUB, IRC };

struct client {
	int fd;
	int id;
	int state;              /* 0 connecting/logging in, 1 ready */
	char *rbuf;
	size_t rlen;
	char *wbuf;             /* pending output */
	size_t wlen, wcap;
	int *next;              /* per sender: the next sequence expected */
};

static enum proto proto = HUB;
static int port, nclients = 100, nsenders = 10, nmsgs = 1000;
static int window = 100, rate = 0, server_pid = 0;
static bool hold;
static const char *label = "";

static struct client *cl;
static int ep;
static int ready;
static long *sent;              /* per sender */
static long *probe_got;         /* per sender, seen by the last client */
static long delivered, dups, reorders, expected;
static int64_t *lat;            /* ns, one per delivery */
static long nlat;

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
die(const char *what)
{
	fprintf(stderr, "load: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- Output ------------------------------------------------------------ */

static void
flush(struct client *c)
{
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
	struct epoll_event ev = { .events = EPOLLIN | (c->wlen ? EPOLLOUT : 0),
		.data.u32 = (uint32_t)c->id };
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
out(struct client *c, const char *s, size_t n)
{
	if (c->wlen + n > c->wcap) {
		c->wcap = (c->wlen + n) * 2;
		c->wbuf = realloc(c->wbuf, c->wcap);
	}
	memcpy(c->wbuf + c->wlen, s, n);
	c->wlen += n;
}

static void
send_message(int s)
{
	char line[256];
	int n;
	int64_t t = now_ns();
	char body[BODY + 1];

	n = snprintf(body, sizeof(body), "s%d %ld %lld ", s, sent[s],
	    (long long)t);
	memset(body + n, 'x', BODY - (size_t)n);
	body[BODY] = '\0';
	if (proto == HUB)
		n = snprintf(line, sizeof(line), "MSG %s\n", body);
	else
		n = snprintf(line, sizeof(line), "PRIVMSG #bench :%s\r\n", body);
	out(&cl[s], line, (size_t)n);
	sent[s]++;
}

/* ---- Input ------------------------------------------------------------- */

/* A message body "s<sender> <seq> <ns> xxx...": counts the delivery. */
static void
got_message(struct client *c, const char *body, int64_t now)
{
	int s;
	long seq;
	long long t;

	if (sscanf(body, "s%d %ld %lld", &s, &seq, &t) != 3 || s < 0 ||
	    s >= nsenders)
		return;
	if (seq < c->next[s]) {
		dups++;
		return;
	}
	if (seq > c->next[s])
		reorders++;     /* a gap: lost or out of order */
	c->next[s] = (int)seq + 1;
	delivered++;
	if (c->id == nclients - 1)
		probe_got[s] = seq + 1;
	lat[nlat++] = now - t;
}

static void
got_line(struct client *c, char *line, int64_t now)
{
	char *p;

	if (proto == HUB) {
		if (c->state == 0 && strcmp(line, "OK") == 0) {
			c->state = 1;
			ready++;
		} else if (strncmp(line, "MSG ", 4) == 0 &&
		    (p = strchr(line + 4, ' ')) != NULL) {
			got_message(c, p + 1, now);
		}
		return;
	}
	if (strncmp(line, "PING ", 5) == 0) {
		char pong[128];
		int n = snprintf(pong, sizeof(pong), "PONG %.100s\r\n", line + 5);
		out(c, pong, (size_t)n);
		return;
	}
	if (c->state == 0 && strstr(line, " 001 ") != NULL) {
		out(c, "JOIN #bench\r\n", 13);
	} else if (c->state == 0 && strstr(line, " 366 ") != NULL) {
		c->state = 1;
		ready++;
	} else if ((p = strstr(line, " PRIVMSG #bench :")) != NULL) {
		got_message(c, p + 17, now);
	}
}

static void
readable(struct client *c)
{
	int64_t now = now_ns();

	for (;;) {
		ssize_t n = recv(c->fd, c->rbuf + c->rlen, RBUF - c->rlen, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			fprintf(stderr, "load: client %d: the server closed "
			    "the connection\n", c->id);
			exit(1);
		}
		c->rlen += (size_t)n;
		size_t start = 0;
		char *lf;
		while ((lf = memchr(c->rbuf + start, '\n',
		    c->rlen - start)) != NULL) {
			*lf = '\0';
			if (lf > c->rbuf + start && lf[-1] == '\r')
				lf[-1] = '\0';
			got_line(c, c->rbuf + start, now);
			start = (size_t)(lf - c->rbuf) + 1;
		}
		memmove(c->rbuf, c->rbuf + start, c->rlen - start);
		c->rlen -= start;
		if (c->rlen == RBUF)
			c->rlen = 0;    /* an absurd line: drop it */
	}
	if (c->wlen)
		flush(c);
}

/* ---- /proc ------------------------------------------------------------- */

struct usage {
	long rss_kib, threads;
	double cpu_s;
};

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
	snprintf(path, sizeof(path), "/proc/%d/stat", server_pid);
	if ((f = fopen(path, "r")) != NULL) {
		unsigned long ut = 0, st = 0;
		if (fgets(buf, sizeof(buf), f)) {
			char *p = strrchr(buf, ')');
			if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u "
			    "%*u %*u %*u %lu %lu", &ut, &st) == 2)
				u.cpu_s = (double)(ut + st) / sysconf(_SC_CLK_TCK);
		}
		fclose(f);
	}
	return u;
}

static double
self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ---- Main -------------------------------------------------------------- */

static void
connect_all(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port) };
	int one = 1;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	for (int i = 0; i < nclients; i++) {
		struct client *c = &cl[i];
		c->id = i;
		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			die("socket (raise ulimit -n)");
		if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die("connect");
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		fcntl(c->fd, F_SETFL, O_NONBLOCK);
		c->rbuf = malloc(RBUF);
		c->next = calloc((size_t)nsenders, sizeof(int));
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
		char line[128];
		int n = proto == HUB ?
		    snprintf(line, sizeof(line), "LOGIN c%d\n", i) :
		    snprintf(line, sizeof(line),
			"NICK c%d\r\nUSER c%d 0 * :bench\r\n", i, i);
		out(c, line, (size_t)n);
		flush(c);
	}
}

/* Runs the event loop until cond() holds or the deadline passes. */
static bool
loop_until(bool (*cond)(void), int64_t deadline, void (*tick)(void))
{
	struct epoll_event evs[256];

	while (!cond()) {
		if (now_ns() > deadline)
			return false;
		if (tick)
			tick();
		int n = epoll_wait(ep, evs, 256, tick ? 1 : 100);
		for (int i = 0; i < n; i++) {
			struct client *c = &cl[evs[i].data.u32];
			if (evs[i].events & EPOLLIN)
				readable(c);
			if (evs[i].events & EPOLLOUT)
				flush(c);
		}
	}
	return true;
}

static bool all_ready(void) { return ready == nclients; }
static bool all_delivered(void) { return delivered + dups >= expected; }

static int64_t start_ns;

/* Sends what the window or the rate allows now. */
static void
pump(void)
{
	if (rate > 0) {
		long due = (long)((double)(now_ns() - start_ns) * rate / 1e9);
		long total = 0;
		for (int s = 0; s < nsenders; s++)
			total += sent[s];
		for (int s = 0; total < due && total < (long)nsenders * nmsgs;
		    s = (s + 1) % nsenders) {
			if (sent[s] < nmsgs) {
				send_message(s);
				total++;
			}
		}
	} else {
		for (int s = 0; s < nsenders; s++)
			while (sent[s] < nmsgs && sent[s] - probe_got[s] < window)
				send_message(s);
	}
	for (int s = 0; s < nsenders; s++)
		if (cl[s].wlen)
			flush(&cl[s]);
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static double
pct(double p)
{
	if (nlat == 0)
		return 0;
	long i = (long)(p / 100.0 * (double)(nlat - 1));
	return (double)lat[i] / 1e3;    /* µs */
}

static void
parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "0";
		if (strcmp(a, "--hold") == 0) {
			hold = true;
			continue;
		}
		if (strcmp(a, "--proto") == 0)
			proto = strcmp(v, "irc") == 0 ? IRC : HUB;
		else if (strcmp(a, "-p") == 0)
			port = atoi(v);
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
		else if (strcmp(a, "-P") == 0)
			server_pid = atoi(v);
		else if (strcmp(a, "-l") == 0)
			label = v;
		else {
			fprintf(stderr, "load: unknown option %s\n", a);
			exit(2);
		}
		i++;
	}
	if (port <= 0 || nsenders >= nclients) {
		fprintf(stderr, "load: -p PORT needed, and SENDERS < CLIENTS\n");
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	parse_args(argc, argv);
	cl = calloc((size_t)nclients, sizeof(*cl));
	sent = calloc((size_t)nsenders, sizeof(long));
	probe_got = calloc((size_t)nsenders, sizeof(long));
	expected = (long)nsenders * nmsgs * (nclients - 1);
	lat = malloc(sizeof(int64_t) * (size_t)(expected + 1));
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll");

	struct usage idle = server_usage();
	int64_t t0 = now_ns();
	connect_all();
	if (!loop_until(all_ready, t0 + 120000000000LL, NULL)) {
		fprintf(stderr, "load: only %d of %d logged in\n", ready, nclients);
		return 1;
	}
	double login_s = (double)(now_ns() - t0) / 1e9;
	struct usage loaded = server_usage();
	double tool0 = self_cpu();

	start_ns = now_ns();
	bool done = loop_until(all_delivered, start_ns + 300000000000LL, pump);
	double secs = (double)(now_ns() - start_ns) / 1e9;
	struct usage after = server_usage();
	double tool_cpu = self_cpu() - tool0;

	qsort(lat, (size_t)nlat, sizeof(lat[0]), cmp64);
	long lost = expected - delivered - dups;
	double rss_per_client = nclients ? (double)(loaded.rss_kib -
	    idle.rss_kib) / nclients : 0;
	printf("%s %s: clients=%d senders=%d x %d%s: %ld of %ld delivered in "
	    "%.2f s = %.0f/s; lost=%ld dup=%ld reorder=%ld%s\n", label,
	    proto == HUB ? "hubchat" : "ngircd", nclients, nsenders, nmsgs,
	    rate ? " (rate)" : "", delivered, expected, secs,
	    delivered / secs, lost, dups, reorders, done ? "" : " TIMEOUT");
	printf("  latency us: p50=%.0f p90=%.0f p99=%.0f p99.9=%.0f max=%.0f; "
	    "server rss %ld KiB (%+.1f KiB/client), threads %ld, cpu %.2f s; "
	    "tool cpu %.2f s\n", pct(50), pct(90), pct(99), pct(99.9),
	    pct(100), after.rss_kib, rss_per_client, after.threads,
	    after.cpu_s - loaded.cpu_s, tool_cpu);
	printf("{\"label\":\"%s\",\"server\":\"%s\",\"clients\":%d,"
	    "\"senders\":%d,\"messages\":%d,\"rate\":%d,\"delivered\":%ld,"
	    "\"expected\":%ld,\"lost\":%ld,\"dup\":%ld,\"reorder\":%ld,"
	    "\"seconds\":%.4f,\"per_second\":%.1f,\"p50_us\":%.1f,"
	    "\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,"
	    "\"rss_kib\":%ld,\"rss_per_client_kib\":%.2f,\"threads\":%ld,"
	    "\"server_cpu_s\":%.2f,\"tool_cpu_s\":%.2f,\"login_s\":%.2f,"
	    "\"complete\":%s}\n", label, proto == HUB ? "hubchat" : "ngircd",
	    nclients, nsenders, nmsgs, rate, delivered, expected, lost, dups,
	    reorders, secs, delivered / secs, pct(50), pct(90), pct(99),
	    pct(99.9), pct(100), after.rss_kib, rss_per_client, after.threads,
	    after.cpu_s - loaded.cpu_s, tool_cpu, login_s,
	    done ? "true" : "false");
	if (hold)
		pause();
	return done && lost == 0 && dups == 0 && reorders == 0 ? 0 : 1;
}
