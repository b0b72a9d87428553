/*
 * sigfd.h - the server's signals as data: a signalfd the accept loop
 * polls like any other descriptor.
 *
 * SIGINT, SIGTERM, SIGHUP (a closed terminal) and SIGUSR1 are blocked in
 * every thread and read from the fd, so no handler ever runs: nothing
 * locks, allocates or prints in one. What each signal means is the
 * server's business (server.c: the first three stop it, SIGUSR1 logs a
 * [STATS] line). SIGPIPE is ignored: a peer that went away is an error
 * from send, not the end of the process.
 */
#ifndef HUBCHAT_SIGFD_H
#define HUBCHAT_SIGFD_H

/* Blocks the four signals in the calling thread, ignores SIGPIPE, and
 * returns a close-on-exec signalfd for them. Call it before any thread
 * exists, so every thread inherits the mask. Exits 1 (die.h) on failure. */
int sigfd_open(void);

/* Reads one pending signal from fd: its number, or 0 when none could be
 * read. Blocks unless the caller has polled fd readable first. */
int sigfd_read(int fd);

#endif
