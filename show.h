/*
 * show.h - the client's view of the server's lines: each one turned into
 * what a person reads, with the protocol's tokens replaced by words.
 *
 *   MSG alice hi                      [15:04:05] alice: hi
 *   DM alice psst                     [15:04:05] [dm] alice: psst
 *   INFO bob joined                   [15:04:05] * bob joined
 *   USERS alice bob                   [15:04:05] * online: alice bob
 *   ERR username-taken ...            [15:04:05] ! name taken
 *   PONG ...                          (nothing: a heartbeat's reply)
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

/* Shows the server's line[0..len) with term_say, as the table above says.
 * Safe from any thread. */
void show_line(const char *line, size_t len);

/* True when line is the error with this code: "ERR <code>", alone or
 * followed by a space and words. */
bool show_is_error(const char *line, const char *code);

#endif
