/*
 * typed.h - what a line the person typed becomes: a message to their
 * room, a private message, or one of the client's commands (/join, /who,
 * /rooms, /history, /help), sent to the server as protocol lines; or
 * words on the terminal when it cannot be sent as it is.
 *
 * Each command checks what it can before sending (a room's name, a
 * message's length), so the server's refusals are for what only it knows.
 * The questions among them are recorded in a pending list (pending.h)
 * and sent after their fences; the answers are the network thread's.
 */
#ifndef HUBCHAT_TYPED_H
#define HUBCHAT_TYPED_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

struct pending;

/* The longest typed line that can still become a line the server takes:
 * "/dm u TEXT" becomes "DM u TEXT", one byte shorter. Each command checks
 * its own limit. */
#define TYPED_MAX     (PROTO_MAX_LINE + 1)
#define TYPED_MSG_MAX (PROTO_MAX_LINE - 4)      /* after "MSG " */

/* What typed lines need from the client; set before the first line. */
struct typed {
	int fd;                 /* the connection: only the thread that calls
	                           typed_line and typed_send writes to it */
	const char *user;       /* logged in as */
	bool editor;            /* typing is in the line editor: lines sent
	                           are shown as everyone's are, and Up brings
	                           a refused one back */
	struct pending *pending;  /* where questions are recorded */
};

/* Handles one typed line (valid text, not empty); false when the person
 * quits (/quit or !exit). A line that starts with a slash is a command,
 * unless it starts with two: then the first is dropped and the rest is
 * sent as a message. Blocks while the socket does. */
bool typed_line(struct typed *t, char *line, size_t len);

/* Sends one protocol line, adding its LF; the formatted text must fit in
 * two PROTO_MAX_LINEs (callers check). A failure is left for the network
 * thread to notice: the connection is gone, and it will say so. */
void typed_send(struct typed *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
