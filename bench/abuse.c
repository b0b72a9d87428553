/*
 * abuse.c - measures what one hostile user can do to a hubchat server, for
 * docs/RELIABILITY.md: the largest burst that cuts off none of the healthy
 * readers, the server's memory while clients ask WHO and never read, and
 * how long a SIGTERM takes with all of that buffered.
 *
 *   abuse burst -p PORT [-n LISTENERS] [-l LINES]
 *       LISTENERS clients read flat out while one more sends LINES short
 *       MSG lines in one write; after 3 s, prints how many listeners were
 *       cut off (ERR slow-consumer, or their connection closed).
 *   abuse who -p PORT -P PID [-n MEMBERS] [-a ASKERS] [-w WHOS] [-s]
 *       MEMBERS clients log in and stay, with names of 32 characters (the
 *       longest, so each USERS reply is as long as it can be); ASKERS more
 *       each send WHOS WHO lines and never read. Prints the server's RSS before, its peak over
 *       the next 10 s, and with -s then sends SIGTERM and prints how long
 *       the server took to exit.
 *
 * It speaks the protocol both the current server and the old one
 * understand, so the same run measures either (bench/README.md, "Abuse").
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 2000

static int port;

static long long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
fail(const char *what)
{
	fprintf(stderr, "abuse: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Connects and logs in as name; reads the welcome and the OK (and
 * whatever else came with them). Exits on failure. */
static int
login(const char *name)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port) };
	char buf[4096], line[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail("connect");
	int n = snprintf(line, sizeof(line), "LOGIN %s\n", name);
	if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n)
		fail("send");
	for (size_t got = 0; got < sizeof(buf) - 1;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (poll(&pf, 1, 5000) != 1)
			fail("no OK");
		ssize_t k = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (k <= 0)
			fail("closed before OK");
		got += (size_t)k;
		buf[got] = '\0';
		if (strstr(buf, "\nOK\n") != NULL || strncmp(buf, "OK\n", 3) == 0)
			break;
		if (strstr(buf, "ERR") != NULL) {
			fprintf(stderr, "abuse: login %s: %s", name, buf);
			exit(1);
		}
	}
	return fd;
}

/* Reads everything the listeners get for ms; marks each that is cut off. */
static void
drain(int *fd, bool *cut, int n, int ms)
{
	static char buf[65536];
	struct pollfd pf[MAX_CLIENTS];
	long long end = ms_now() + ms;

	for (int i = 0; i < n; i++)
		pf[i] = (struct pollfd){ .fd = fd[i], .events = POLLIN };
	while (ms_now() < end) {
		if (poll(pf, (nfds_t)n, 50) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t k = recv(fd[i], buf, sizeof(buf) - 1, 0);
			if (k > 0) {
				buf[k] = '\0';
				cut[i] = cut[i] || strstr(buf, "slow-consumer");
			} else {
				cut[i] = true;
				pf[i].fd = -1;
			}
		}
	}
}

static int
burst(int listeners, int lines)
{
	static int fd[MAX_CLIENTS];
	static bool cut[MAX_CLIENTS];
	char name[32];

	for (int i = 0; i < listeners; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		fd[i] = login(name);
	}
	int x = login("x");
	char *data = malloc((size_t)lines * 16);
	size_t len = 0;
	for (int i = 0; i < lines; i++)
		len += (size_t)sprintf(data + len, "MSG %d\n", i);
	/* One write, as far as the server takes it: with flood control its
	 * reader stops reading and TCP stops the rest. */
	ssize_t sent = send(x, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (sent < 0 && errno != EAGAIN)
		fail("send the burst");
	drain(fd, cut, listeners, 3000);
	int n = 0;
	for (int i = 0; i < listeners; i++)
		n += cut[i];
	printf("burst: %d lines (%zu bytes) in one write, %zd bytes taken: %d "
	    "of %d listeners cut off\n", lines, len, sent, n, listeners);
	free(data);
	return 0;
}

/* The VmRSS of pid in KiB, or -1 once it is gone. */
static long
rss(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = atol(line + 6);
	fclose(f);
	return kib;
}

static int
who(pid_t pid, int members, int askers, int whos, bool stop)
{
	char name[40];
	char *lots = malloc((size_t)whos * 4);

	for (int i = 0; i < members; i++) {
		snprintf(name, sizeof(name), "m%031d", i);
		login(name);
	}
	long before = rss(pid), peak = before;
	for (int i = 0; i < whos; i++)
		memcpy(lots + 4 * i, "WHO\n", 4);
	for (int i = 0; i < askers; i++) {
		snprintf(name, sizeof(name), "a%d", i);
		int fd = login(name);
		send(fd, lots, (size_t)whos * 4, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	for (long long end = ms_now() + 10000; ms_now() < end;) {
		long now = rss(pid);
		peak = now > peak ? now : peak;
		poll(NULL, 0, 50);
	}
	printf("who: %d members, %d askers x %d WHOs unread: RSS %ld KiB "
	    "before, peak %ld KiB\n", members, askers, whos, before, peak);
	if (stop) {
		long long t0 = ms_now();
		kill(pid, SIGTERM);
		while (rss(pid) >= 0 && ms_now() - t0 < 60000)
			poll(NULL, 0, 5);
		printf("who: SIGTERM to exit: %lld ms\n", ms_now() - t0);
	}
	free(lots);
	return 0;
}

int
main(int argc, char **argv)
{
	int n = 50, lines = 4000, askers = 20, whos = 1000, c;
	pid_t pid = 0;
	bool stop = false;

	if (argc < 2 || (strcmp(argv[1], "burst") && strcmp(argv[1], "who"))) {
		fprintf(stderr, "usage: abuse burst|who -p PORT [options]\n");
		return 2;
	}
	optind = 2;
	while ((c = getopt(argc, argv, "p:n:l:P:a:w:s")) != -1) {
		switch (c) {
		case 'p': port = atoi(optarg); break;
		case 'n': n = atoi(optarg); break;
		case 'l': lines = atoi(optarg); break;
		case 'P': pid = atoi(optarg); break;
		case 'a': askers = atoi(optarg); break;
		case 'w': whos = atoi(optarg); break;
		case 's': stop = true; break;
		default: return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (port <= 0 || n > MAX_CLIENTS - 1 || (argv[1][0] == 'w' && pid <= 0)) {
		fprintf(stderr, "abuse: bad arguments\n");
		return 2;
	}
	return argv[1][0] == 'b' ? burst(n, lines) :
	    who(pid, n, askers, whos, stop);
}
