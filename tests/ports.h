/*
 * ports.h - ports for the programs under test, and for the tests
 * themselves, to listen on.
 *
 * free_port (harness.h) hands out a port from the kernel's ephemeral
 * range, and releases it; by the time a peer binds it, a connection that
 * another test makes may hold it as its local port, and the bind fails
 * ("Address already in use"). A peer test starts two listeners and makes
 * many connections, and the suite runs several at once, so here ports
 * come from below that range, where no connection's local port ever
 * lies: picked at random (seeded per test process) and checked free.
 */
#ifndef HUBCHAT_TEST_PORTS_H
#define HUBCHAT_TEST_PORTS_H

#include <stddef.h>

#define PORTS_FIRST 20000       /* the range: below 32768, where Linux's */
#define PORTS_COUNT 10000       /* ephemeral ports start by default */

/* A loopback port in the range that nothing is bound to right now. */
int ports_listen(void);

/* A socket listening on 127.0.0.1, on a port the kernel picks, whose
 * number is written to port_out: for a test that plays a server or a
 * peer itself, or stays silent on purpose. */
int ports_listener(char *port_out, size_t size);

#endif
