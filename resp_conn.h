/*
 * resp_conn.h - one blocking connection to a Redis server: send a command,
 * read a reply, each within a deadline. It knows RESP (resp.h) and sockets,
 * nothing of what the commands mean.
 *
 * Threads: a connection belongs to one thread at a time; every call but
 * resp_conn_shutdown must come from that thread. resp_conn_shutdown may come
 * from any thread, any number of times, until resp_conn_close begins: it
 * wakes the owner if it is blocked in a send or a read, and makes every call
 * after it fail with RESP_FAIL_SHUTDOWN. So a subscriber thread that reads
 * with no deadline is stopped with resp_conn_shutdown, joined, and only
 * then closed. hubchat uses one connection per role (commands; the
 * subscriber read by the bus thread), never one shared by threads.
 *
 * Failures are returned, never fatal to the process: each failing call
 * leaves a kind and a one-line message. Most leave the connection dead, and
 * every later call fails the same way until it is closed; a timeout in
 * resp_conn_read alone does not, since nothing is lost: the reply may still
 * come, and the next read goes on from where this one stopped.
 *
 * Ownership: resp_conn_open's caller closes the connection with
 * resp_conn_close. Replies belong to the caller (resp_reply_free).
 */
#ifndef HUBCHAT_RESP_CONN_H
#define HUBCHAT_RESP_CONN_H

#include <stddef.h>

#include "resp.h"

struct resp_conn;

enum resp_fail {
	RESP_FAIL_NONE,     /* the last call succeeded */
	RESP_FAIL_TIMEOUT,  /* its deadline passed */
	RESP_FAIL_CLOSED,   /* the server closed the connection */
	RESP_FAIL_PROTOCOL, /* the server sent what is not RESP2, or went over
	                       a parser limit */
	RESP_FAIL_IO,       /* a socket error, or memory ran out */
	RESP_FAIL_SHUTDOWN, /* resp_conn_shutdown was called */
};

/* Connects to host:port (a name or a numeric address), waiting at most
 * timeout_ms (positive) for each address it tries. Replies are parsed
 * with lim (NULL for the defaults). Returns the connection, or NULL with a
 * one-line reason in err ("cannot connect to 127.0.0.1 port 6379:
 * Connection refused"). */
struct resp_conn *resp_conn_open(const char *host, const char *port,
    int timeout_ms, const struct resp_limits *lim, char *err, size_t errsz);

/*
 * Sends one command (argv and lens as for resp_encode), blocking at most
 * timeout_ms (negative: no deadline) while the socket is full. Returns 0, or
 * -1 with the connection dead: part of a command may have gone out.
 * Several commands may be sent before their replies are read, in order.
 */
int resp_conn_send(struct resp_conn *c, int timeout_ms, int argc,
    const char *const argv[], const size_t lens[]);

/* Pipelining without a system call per command: resp_conn_queue encodes a
 * command into the connection's buffer, resp_conn_flush sends everything
 * queued (blocking at most timeout_ms while the socket is full). 0, or -1
 * (memory ran out, or the connection is dead: part may have gone out).
 * Flush before any resp_conn_send or resp_conn_command. */
int resp_conn_queue(struct resp_conn *c, int argc, const char *const argv[],
    const size_t lens[]);
int resp_conn_flush(struct resp_conn *c, int timeout_ms);

/* Reads the next reply, waiting at most timeout_ms (negative: no deadline)
 * for it. Returns it, owned by the caller, or NULL on failure. An error
 * reply (RESP_ERROR) is a reply, not a failure. A timeout here keeps the
 * connection usable; every other failure leaves it dead. */
struct resp_reply *resp_conn_read(struct resp_conn *c, int timeout_ms);

/* Sends one command and reads its reply, both within timeout_ms. Replies
 * to commands sent before with resp_conn_send must have been read. A
 * timeout here leaves the connection dead: the late reply would otherwise
 * be taken as the reply to the next command. */
struct resp_reply *resp_conn_command(struct resp_conn *c, int timeout_ms,
    int argc, const char *const argv[], const size_t lens[]);

/* What the last call's failure was, and why, as one line ("" for none). */
enum resp_fail resp_conn_failure(const struct resp_conn *c);
const char *resp_conn_error(const struct resp_conn *c);

/* Wakes and fails the owner's blocked call, and every call after; see the
 * top of this file for who may call it and when. Never blocks. */
void resp_conn_shutdown(struct resp_conn *c);

/* Closes the socket and frees c, with any bytes it held. NULL is allowed. */
void resp_conn_close(struct resp_conn *c);

#endif
