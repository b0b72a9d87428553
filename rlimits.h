/*
 * rlimits.h - what the operating system lets the server hold, said up front.
 *
 * Each client costs one file descriptor and two threads (a reader and a
 * writer, each stack two memory maps). A limit below --max-clients does not
 * stop the server: past it, accept or pthread_create fails and that
 * connection gets "ERR server-busy" (server.c, accept_failed). But the
 * operator should not learn that from refused users, so the limits are
 * checked once at start and each one that binds is logged with the command
 * that raises it, and a failure's log line names the limits behind it.
 */
#ifndef HUBCHAT_RLIMITS_H
#define HUBCHAT_RLIMITS_H

#include <stddef.h>

/* Raises the soft descriptor limit to the hard one (as Go's runtime does),
 * then logs a [WARN] line for each limit that leaves room for fewer than
 * max_clients clients. Call once, before any client thread starts. */
void rlimits_check(size_t max_clients);

/* For a log line when accept or pthread_create failed with err: which
 * limit that usually is and its value now, e.g. "ulimit -n is 1024";
 * "" when err says nothing about limits. buf holds the text. */
const char *rlimits_hint(int err, char *buf, size_t len);

#endif
