/*
 * pending.h - the client's questions that await the server's answer, and
 * which of the server's lines answers which.
 *
 * The server answers a connection's lines in order, but counting lines is
 * not enough to pair them: MSG and DM are answered only when they fail
 * ("ERR ..."), and JOIN and HISTORY both end in "OK". So an "OK" or an
 * "ERR" that arrives after a JOIN was sent may answer the JOIN, a MSG sent
 * before it, or a HISTORY. Each question is therefore sent after a fence,
 * "PING <token>": once "PONG <token>" comes back, the server has answered
 * everything sent before the question, and the question's answer is the
 * next line of its kind:
 *
 *   JOIN, HISTORY   "OK" or "ERR ..."   (HISTORY's HIST lines come first;
 *                                        JOIN's come after its OK)
 *   WHO             "USERS ..." or "ERR ..."
 *   ROOMS           "ROOMS ..." or "ERR ..."
 *
 * Lines in between (others' messages, notices, HIST lines) answer nothing.
 * The heartbeat's PING carries no token, so its PONG is no fence.
 *
 * Threads: the terminal thread asks (pending_ask) and the network thread
 * matches (pending_match); one lock inside guards the list. The caller
 * creates the list before either thread starts and frees it after both
 * have stopped.
 */
#ifndef HUBCHAT_PENDING_H
#define HUBCHAT_PENDING_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

/* Questions awaiting answers at once. A person types far fewer; more
 * means the server has stopped answering, and asking on would only grow
 * the list, so the question is refused instead. */
#define PENDING_MAX 32
/* Bytes of a fence's token, its NUL included. */
#define PENDING_TOKEN 24

enum pending_kind {
	PENDING_JOIN,
	PENDING_HISTORY,
	PENDING_WHO,
	PENDING_ROOMS,
};

/* One question, as asked. */
struct pending_question {
	enum pending_kind kind;
	char room[PROTO_MAX_ROOM + 2];  /* JOIN's or WHO's room as typed, with
	                                   its '#'; "" for the others */
	size_t hist;                    /* HIST lines before HISTORY's
	                                   answer; 0 for the others */
	bool refused;                   /* the answer is "ERR ...": nothing
	                                   was done */
};

enum pending_match {
	PENDING_OTHER,  /* the line answers no question: show it */
	PENDING_FENCE,  /* a fence's PONG: show nothing */
	PENDING_ANSWER, /* the answer to the question copied out */
};

struct pending;

/* Returns an empty list, or NULL when memory runs out. */
struct pending *pending_new(void);
void pending_free(struct pending *p);

/* Records a question about room (proto_room_ok, or NULL: none) and
 * writes the token its fence must carry into token (PENDING_TOKEN bytes).
 * The caller then sends "PING <token>" and the question, in that order,
 * after every line sent before. False when PENDING_MAX questions await
 * answers: nothing is recorded, and nothing should be sent. */
bool pending_ask(struct pending *p, enum pending_kind kind, const char *room,
    char token[PENDING_TOKEN]);

/* Looks at the server's next line (NUL-terminated), in the order the
 * server sent them. On PENDING_ANSWER, *q is the question it answers,
 * which is taken off the list. */
enum pending_match pending_match(struct pending *p, const char *line,
    struct pending_question *q);

#endif
