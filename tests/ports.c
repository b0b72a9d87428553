/*
 * ports.c - listening ports for the peer tests; see ports.h.
 */
#include "ports.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* True when port can be bound on every address now. */
static bool
ports_free(int port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
		.sin6_port = htons((uint16_t)port), .sin6_addr = in6addr_any };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	cr_assert(fd >= 0);
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

int
ports_listen(void)
{
	static bool seeded;

	if (!seeded) {          /* each test runs in a process of its own */
		srand((unsigned)getpid() ^ (unsigned)time(NULL));
		seeded = true;
	}
	for (int tries = 0; tries < 1000; tries++) {
		int port = PORTS_FIRST + rand() % PORTS_COUNT;
		if (ports_free(port))
			return port;
	}
	cr_assert_fail("no free port from %d to %d", PORTS_FIRST,
	    PORTS_FIRST + PORTS_COUNT - 1);
	return -1;
}

int
ports_listener(char *port_out, size_t size)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	cr_assert(listen(fd, 8) == 0);
	cr_assert(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	snprintf(port_out, size, "%d", ntohs(sa.sin_port));
	return fd;
}
