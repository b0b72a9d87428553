/*
 * refuse.c - one line saying why, then close; and the spare descriptor
 * that lets the server do so when it has run out of them. The design in
 * refuse.h.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"
#include "refuse.h"

/* Best effort: tells a connection we will not serve it why, and closes
 * it: the error line as it is, or for the web listener as the body of a
 * 503. */
void
refuse_send(int fd, enum session_kind kind, const char *line)
{
	char buf[512];
	int n = kind == SESSION_WEB ? snprintf(buf, sizeof(buf),
	    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "\r\n%s\n", strlen(line) + 1, line) :
	    snprintf(buf, sizeof(buf), "%s\n", line);

	send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

int
refuse_spare_open(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/*
 * Out of fds, accept cannot even take the connection to refuse it, and the
 * listening socket stays readable: a spinning loop. The spare fd is given
 * up for a moment so that one connection can be accepted and refused.
 */
void
refuse_with_spare(int *spare_fd, int listen_fd, enum session_kind kind)
{
	if (*spare_fd < 0)
		return;
	close(*spare_fd);
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		refuse_send(fd, kind, PROTO_ERR_BUSY);
	*spare_fd = refuse_spare_open();
}
