/*
 * net.c - socket helpers; see net.h.
 */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Binds and listens on one resolved address; -1 with errno on failure. */
static int
net_listen_on(const struct addrinfo *ai)
{
	int one = 1, zero = 0;
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
	    ai->ai_protocol);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* "::" means every address, IPv4 ones included. */
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	/* A deep backlog absorbs connection bursts while the accept loop
	 * shares the cores with the threads it has just started; the kernel
	 * caps it at net.core.somaxconn. */
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
net_listen(const char *addr, const char *port, char *err, size_t errsz)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
	};
	struct addrinfo *res;

	int rc = getaddrinfo(addr, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errsz, "bad address %s port %s: %s", addr, port,
		    gai_strerror(rc));
		return -1;
	}
	int fd = net_listen_on(res);
	if (fd < 0)
		snprintf(err, errsz, "cannot listen on %s port %s: %s", addr,
		    port, strerror(errno));
	freeaddrinfo(res);
	return fd;
}

/* connect(2) with a deadline: Linux ends a connect that takes longer than
 * the socket's send timeout with EINPROGRESS, reported here as ETIMEDOUT. */
static int
net_connect_one(int fd, const struct addrinfo *ai, int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
		.tv_usec = (timeout_ms % 1000) * 1000 };
	struct timeval none = { 0 };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
	if (rc < 0 && errno == EINPROGRESS)
		errno = ETIMEDOUT;
	int saved = errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
	errno = saved;
	return rc;
}

int
net_connect(const char *host, const char *port, int timeout_ms, char *err,
    size_t errsz)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *res;
	int fd = -1, saved = 0;

	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errsz, "cannot resolve %s: %s", host,
		    gai_strerror(rc));
		errno = EHOSTUNREACH;
		return -1;
	}
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd >= 0 && net_connect_one(fd, ai, timeout_ms) < 0) {
			saved = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errsz, "cannot connect to %s port %s: %s", host,
		    port, strerror(saved));
		errno = saved;
	}
	return fd;
}

int
net_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Formats a socket address as "host:port"; see net_peer_name. */
static void
net_format(const struct sockaddr_storage *ss, char *out, size_t outsz)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	bool v6 = false;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host,
			    sizeof(host));
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			v6 = true;
		}
		port = ntohs(in6->sin6_port);
	}
	snprintf(out, outsz, v6 ? "[%s]:%d" : "%s:%d", host, port);
}

/* Formats the address getname (getpeername or getsockname) gives for fd. */
static void
net_name(int fd, int (*getname)(int, struct sockaddr *, socklen_t *),
    char *out, size_t outsz)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);

	getname(fd, (struct sockaddr *)&ss, &len);
	net_format(&ss, out, outsz);
}

void
net_peer_name(int fd, char *out, size_t outsz)
{
	net_name(fd, getpeername, out, outsz);
}

bool
net_is_loopback(int fd)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return false;
	if (ss.ss_family == AF_INET)
		return ((const unsigned char *)&((const struct sockaddr_in *)
		    (const void *)&ss)->sin_addr)[0] == 127;
	if (ss.ss_family != AF_INET6)
		return false;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)
	    (const void *)&ss)->sin6_addr;
	return IN6_IS_ADDR_LOOPBACK(a) ||
	    (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

void
net_local_name(int fd, char *out, size_t outsz)
{
	net_name(fd, getsockname, out, outsz);
}

void
net_addr_key(int fd, struct net_addr_key *k)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);

	memset(k, 0, sizeof(*k));
	getpeername(fd, (struct sockaddr *)&ss, &len);
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&ss;
		memcpy(k->b + 12, &in->sin_addr, 4);    /* as if v4-mapped */
		k->b[10] = k->b[11] = 0xff;
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)&ss;
		bool v4 = IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr);
		memcpy(k->b, &in6->sin6_addr, v4 ? 16 : 8);     /* v6: the /64 */
	}
}

void
net_addr_key_name(const struct net_addr_key *k, char *out, size_t outsz)
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
	char host[INET6_ADDRSTRLEN] = "?";

	if (memcmp(k->b, mapped, sizeof(mapped)) == 0) {
		inet_ntop(AF_INET, k->b + 12, host, sizeof(host));
		snprintf(out, outsz, "%s", host);
	} else {
		inet_ntop(AF_INET6, k->b, host, sizeof(host));
		snprintf(out, outsz, "%s/64", host);
	}
}

int
net_write_all(int fd, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return net_writev_all(fd, &iov, 1);
}

int
net_writev_all(int fd, struct iovec *iov, int iovcnt)
{
	while (iovcnt > 0) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		/* Skip what was sent; a partly sent iovec is trimmed in place. */
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}
