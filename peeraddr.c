/*
 * peeraddr.c - the other peer's addresses; see peeraddr.h.
 *
 * A dial is a non-blocking connect and a poll on the socket beside the
 * stop descriptor: net_connect's blocking connect could not be cut short,
 * and the person quitting must never wait on a host that does not answer.
 */
#include "peeraddr.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct peeraddr {
	struct addrinfo *list;  /* from getaddrinfo; never empty */
};

struct peeraddr *
peeraddr_resolve(const char *host, const char *port, char *err,
    size_t errsz)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV,
	};
	struct peeraddr *a = calloc(1, sizeof(*a));
	int rc;

	if (a == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	if ((rc = getaddrinfo(host, port, &hints, &a->list)) != 0) {
		snprintf(err, errsz, "cannot resolve %s: %s", host,
		    gai_strerror(rc));
		free(a);
		return NULL;
	}
	return a;
}

void
peeraddr_free(struct peeraddr *a)
{
	if (a == NULL)
		return;
	freeaddrinfo(a->list);
	free(a);
}

/* The address in sa as the bytes to compare: 4 for IPv4 (an IPv4-mapped
 * IPv6 address included), 16 for IPv6; 0 for any other family. */
static size_t
peeraddr_bytes(const struct sockaddr *sa, unsigned char out[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	const struct in6_addr *a6 =
	    &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a6)) {
		memcpy(out, a6->s6_addr + 12, 4);
		return 4;
	}
	memcpy(out, a6->s6_addr, 16);
	return 16;
}

bool
peeraddr_allowed(const struct peeraddr *a, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned char them[16], one[16];
	size_t n;

	assert(a != NULL && fd >= 0);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    (n = peeraddr_bytes((struct sockaddr *)&ss, them)) == 0)
		return false;
	for (const struct addrinfo *ai = a->list; ai != NULL; ai = ai->ai_next)
		if (peeraddr_bytes(ai->ai_addr, one) == n &&
		    memcmp(one, them, n) == 0)
			return true;
	return false;
}

void
peeraddr_names(const struct peeraddr *a, char *out, size_t outsz)
{
	size_t used = 0;

	out[0] = '\0';
	for (const struct addrinfo *ai = a->list; ai != NULL && used < outsz;
	    ai = ai->ai_next) {
		char host[INET6_ADDRSTRLEN];
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host),
		    NULL, 0, NI_NUMERICHOST) != 0 || strstr(out, host) != NULL)
			continue;       /* one line per socket type: once */
		used += (size_t)snprintf(out + used, outsz - used, "%s%s",
		    used ? ", " : "", host);
	}
}

/* Waits for a non-blocking connect on fd: 0 once connected, else -1 with
 * errno (ETIMEDOUT, ECANCELED when stop_fd became readable, or the
 * connect's own error). */
static int
peeraddr_finish(int fd, int timeout_ms, int stop_fd)
{
	struct pollfd pf[2] = {
		{ .fd = fd, .events = POLLOUT },
		{ .fd = stop_fd, .events = POLLIN },
	};
	int n, soerr = 0;
	socklen_t len = sizeof(soerr);

	while ((n = poll(pf, 2, timeout_ms)) < 0 && errno == EINTR)
		;
	if (n <= 0 || pf[1].revents != 0) {
		errno = n < 0 ? errno : n == 0 ? ETIMEDOUT : ECANCELED;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return -1;
	errno = soerr;
	return soerr == 0 ? 0 : -1;
}

/* Connects a new socket to one address; the fd, or -1 with errno. */
static int
peeraddr_dial_one(const struct addrinfo *ai, int timeout_ms, int stop_fd)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol);
	int saved;

	if (fd < 0)
		return -1;
	if ((connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
	    (errno == EINPROGRESS &&
	    peeraddr_finish(fd, timeout_ms, stop_fd) == 0)) &&
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0)
		return fd;
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
peeraddr_dial(const struct peeraddr *a, int timeout_ms, int stop_fd)
{
	int fd = -1;

	assert(a != NULL && a->list != NULL);
	for (const struct addrinfo *ai = a->list; ai != NULL && fd < 0;
	    ai = ai->ai_next) {
		fd = peeraddr_dial_one(ai, timeout_ms, stop_fd);
		if (fd < 0 && errno == ECANCELED)
			break;
	}
	return fd;
}
