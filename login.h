/*
 * login.h - the client's way in: a name asked for before connecting (so a
 * slow typist is never cut off by the server's login deadline), the
 * connection, the welcome and the login, each wait with a deadline.
 *
 * While it waits for the server it also watches standard input without
 * reading it: when the input ends and nothing typed is waiting in it,
 * there is nothing left to send, so waiting on has no point and the
 * program exits 0 (a script with nothing to say succeeds whether the
 * server was quick or not). Typed-ahead lines stay where they are, to be
 * read once logged in.
 */
#ifndef HUBCHAT_LOGIN_H
#define HUBCHAT_LOGIN_H

#include "proto.h"

struct framer;

struct login {
	/* Set by the caller. */
	const char *host;
	const char *port;
	const char *name;       /* from -u, or NULL to ask on stdin */
	int timeout_ms;         /* for connecting, for the welcome and for
	                           the answer to LOGIN; 0 = no limit */
	struct framer *typed;   /* stdin's framer: a byte that had to be read
	                           to see whether stdin ended is put here */

	/* Set by login_run; the caller owns them afterwards. */
	int fd;                 /* the connection, logged in */
	struct framer *net;     /* its framer (PROTO_MAX_REPLY), which may
	                           hold lines that came after the OK */
	char user[PROTO_MAX_NAME + 1];  /* the name logged in as */

	/* login_run's own: a byte of stdin read ahead, or -1. */
	int held;
};

/*
 * Logs in. With a name from -u it tries once: a refusal exits 1, so a
 * script never speaks under another name. Without, it asks "Enter your
 * nickname:" on stdout and reads a line from stdin before each connection,
 * and asks again when the name breaks the rules or the server refuses it.
 * The welcome ("INFO welcome ...") is not shown; other lines before the
 * answer are, as show_line shows them. Returns once the server said OK,
 * with l->fd, l->net and l->user set.
 * Exits 1 when it cannot connect, the server closes or says nothing within
 * l->timeout_ms, or stdin ends at the name prompt; exits 0 when stdin ends,
 * with nothing typed, while it waits for the server. Blocks.
 */
void login_run(struct login *l);

#endif
