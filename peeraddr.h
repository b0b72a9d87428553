/*
 * peeraddr.h - where the other peer is: HOST:PORT from -c, resolved once
 * at start; dialed address by address with a deadline that the person
 * quitting cuts short; and the test whether a call that came in is from
 * one of those addresses, which is how a peer tells the other side from a
 * stranger who found its port (unless --any-peer says any address will
 * do).
 *
 * The list is made before any thread starts and is read-only after, so
 * every function here is safe from any thread.
 */
#ifndef HUBCHAT_PEERADDR_H
#define HUBCHAT_PEERADDR_H

#include <stdbool.h>
#include <stddef.h>

struct peeraddr;

/* Resolves host (a name or a numeric address) and port. Returns the list,
 * owned by the caller (peeraddr_free), or NULL with a one-line reason in
 * err. Blocks on the resolver. */
struct peeraddr *peeraddr_resolve(const char *host, const char *port,
    char *err, size_t errsz);
void peeraddr_free(struct peeraddr *a);

/* True when the remote end of connected socket fd has one of a's
 * addresses, whatever its port: a peer's call comes from an ephemeral
 * port, not the one it listens on. An IPv4-mapped IPv6 address counts as
 * the IPv4 one. */
bool peeraddr_allowed(const struct peeraddr *a, int fd);

/* The addresses as text, "127.0.0.1" or "192.0.2.7, 2001:db8::7", cut to
 * fit outsz. */
void peeraddr_names(const struct peeraddr *a, char *out, size_t outsz);

/* Connects to each address in turn, giving each at most timeout_ms, and
 * gives up at once when stop_fd becomes readable (errno ECANCELED).
 * Returns the connected socket (blocking, close-on-exec), or -1 with errno
 * set from the last address tried. */
int peeraddr_dial(const struct peeraddr *a, int timeout_ms, int stop_fd);

#endif
