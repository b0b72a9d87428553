/*
 * redisd.h - a real redis-server for a test: started on a port of its own
 * with no persistence and a scratch directory, killed with the test (even
 * one killed by its timeout), and stopped, restarted or frozen by the test
 * to make the faults it wants. Tests that need one skip, saying why, when
 * redis-server is not installed.
 */
#ifndef HUBCHAT_TEST_REDISD_H
#define HUBCHAT_TEST_REDISD_H

#include <stdbool.h>
#include <sys/types.h>

struct resp_conn;

struct redisd {
	pid_t pid;              /* 0 when not running */
	char port[16];
	char dir[64];
};

/* Starts one on a free port (skipping the test when redis-server is not
 * installed) and waits until it answers PING. */
void redisd_start(struct redisd *r);
/* Starts it again on the same port, empty (no persistence). */
void redisd_restart(struct redisd *r);
/* Sends sig and, unless it is SIGSTOP, waits for the exit. */
void redisd_signal(struct redisd *r, int sig);
/* Stops it and removes its directory. */
void redisd_stop(struct redisd *r);
/* A connection to it; the test closes it (resp_conn_close). */
struct resp_conn *redisd_conn(const struct redisd *r);

#endif
