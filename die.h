/*
 * die.h - the one way the programs give up: a line on stderr, then exit.
 *
 * Start-up failures (a port in use, a bad flag, no memory before the first
 * client) end the program with one clear line, named after the program as
 * it was invoked, so an installed hubchat-server says "hubchat-server: ..."
 * and ./server says "server: ...". As in suckless's die(), a message that
 * ends with ':' gets ": " and strerror(errno) appended. Never call it once
 * clients are being served: a failure there ends one connection, not all.
 */
#ifndef HUBCHAT_DIE_H
#define HUBCHAT_DIE_H

/* Prints "<program>: <message>" and exits with status. */
void die_with(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* die_with(1, ...): the usual start-up failure. */
#define die(...) die_with(1, __VA_ARGS__)

#endif
