/*
 * refuse.h - turning a connection away: one line saying why, then close.
 *
 * A connection the server cannot serve (full, too many from one address,
 * out of descriptors, memory or threads) is told why in one line and
 * closed; everyone else carries on. Which line, and when to refuse, is
 * the accept loop's decision (server.c); this is how.
 *
 * Out of descriptors, accept cannot take the connection to refuse it and
 * the listening socket stays readable: a spinning loop. So the accept loop
 * holds a spare descriptor (refuse_spare_open) and gives it up for a moment
 * to accept and refuse one connection (refuse_with_spare).
 *
 * Everything here is best effort and never blocks: the line is sent with
 * MSG_DONTWAIT, and a peer that cannot take it simply misses it.
 */
#ifndef HUBCHAT_REFUSE_H
#define HUBCHAT_REFUSE_H

#include "session.h"    /* enum session_kind */

/* Tells the connection fd why we will not serve it, and closes it: line as
 * it is (without its "\n"), or, from the web listener (SESSION_WEB), as
 * the body of a 503. */
void refuse_send(int fd, enum session_kind kind, const char *line);

/* The spare descriptor: /dev/null opened close-on-exec, or -1 (errno
 * set). */
int refuse_spare_open(void);

/* Out of descriptors: closes *spare_fd, accepts one connection on
 * listen_fd and refuses it with PROTO_ERR_BUSY, then opens the spare
 * again (*spare_fd is -1 if that fails; then this does nothing). Accept
 * loop only: it owns the spare. */
void refuse_with_spare(int *spare_fd, int listen_fd, enum session_kind kind);

#endif
