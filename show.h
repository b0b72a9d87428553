/*
 * show.h - the client's view of the server's lines: each one turned into
 * what a person reads, with the protocol's tokens replaced by words.
 *
 *   MSG alice hi                      [15:04:05] alice: hi
 *   DM alice psst                     [15:04:05] [dm] alice: psst
 *   INFO bob joined                   [15:04:05] * bob joined
 *   HIST 2026-11-22T08:58:02Z al hi   [2026-11-22 09:58:02] (history) al: hi
 *   USERS alice bob (WHO #rust)       [15:04:05] * in #rust: alice bob
 *   ROOMS #lobby 3 #rust 1            [15:04:05] * rooms: #lobby 3, #rust 1
 *   ERR username-taken ...            [15:04:05] ! name taken
 *   PONG ...                          (nothing: a heartbeat's reply)
 *
 * A HIST line is a message said before: it is stamped with its own time,
 * in local time (with the date when that is not today), and marked
 * "(history)" so nobody takes it for one said now; on a terminal it is
 * also dimmed (show_set_dim).
 *
 * An error line is "ERR <code>", maybe followed by words for people. The
 * client keys on the code: a code it knows gets the client's own words
 * (which name the client's commands, /dm rather than DM), whatever the
 * server's say; an unknown one gets the server's words, or the code itself
 * when there are none. Every line is made safe for the terminal first
 * (proto_sanitize), whatever its length.
 */
#ifndef HUBCHAT_SHOW_H
#define HUBCHAT_SHOW_H

#include <stdbool.h>
#include <stddef.h>

/* What a refused name is told; proto_name_ok is the rule. */
#define SHOW_NAME_RULE "names are 1-32 characters: a letter, then " \
    "letters, digits, _ or - (and not a protocol word such as INFO)"
/* What a refused room is told; proto_room_ok is the rule. */
#define SHOW_ROOM_RULE "rooms are # and 1-32 letters, digits, _ or -"
/* The client's commands' forms, for usage errors from either side. */
#define SHOW_USAGE_DM "usage: /dm USER TEXT"
#define SHOW_USAGE_JOIN "usage: /join #ROOM"
#define SHOW_USAGE_HISTORY "usage: /history [N], N from 1 to the " \
    "messages the server keeps"

/* Whether HIST lines are dimmed: set it (true only when the output is a
 * terminal that takes ANSI sequences) before any thread shows a line.
 * Off by default. */
void show_set_dim(bool dim);

/* Shows the server's line[0..len) with term_say, as the table above says.
 * Safe from any thread. */
void show_line(const char *line, size_t len);

/* show_line for the line that answers a WHO about room (as the person
 * typed it, with its '#'): a USERS line names the room. */
void show_who(const char *line, size_t len, const char *room);

/* True when line is the error with this code: "ERR <code>", alone or
 * followed by a space and words. */
bool show_is_error(const char *line, const char *code);

#endif
