/*
 * net.h - the few socket helpers the server and the client share.
 * Every function is safe from any thread and reports failure through errno
 * (or, for the resolver, in the message it fills).
 */
#ifndef HUBCHAT_NET_H
#define HUBCHAT_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Opens a listening TCP socket on the numeric address addr ("127.0.0.1",
 * "::" for every IPv4 and IPv6 address) and port ("0" for any). Returns the
 * fd, or -1 with a one-line reason in err. */
int net_listen(const char *addr, const char *port, char *err, size_t errsz);

/* Connects to host:port (names are resolved), trying each address in turn,
 * giving each at most timeout_ms. Returns the fd, or -1 with errno set and
 * a one-line reason in err. */
int net_connect(const char *host, const char *port, int timeout_ms, char *err,
    size_t errsz);

/* The local port of a bound socket, or -1. */
int net_local_port(int fd);
/* True when the socket fd is bound to a loopback address (127.0.0.0/8,
 * ::1, or 127.x as a v4-mapped address). */
bool net_is_loopback(int fd);

/* Writes "address:port" of fd's peer, or of fd itself, into out: IPv6 in
 * brackets, IPv4-mapped IPv6 as plain IPv4. */
void net_peer_name(int fd, char *out, size_t outsz);
void net_local_name(int fd, char *out, size_t outsz);

/* What --max-per-addr counts connections by: an IPv4 address, or the /64
 * prefix of an IPv6 one, since one host is usually given a whole /64.
 * IPv4-mapped IPv6 addresses count as IPv4. */
struct net_addr_key {
	unsigned char b[16];
};

/* The key of fd's peer (all zero when it cannot be read). */
void net_addr_key(int fd, struct net_addr_key *k);

/* The key as text: "192.0.2.7" or "2001:db8:1:2::/64". */
void net_addr_key_name(const struct net_addr_key *k, char *out,
    size_t outsz);

/* Writes all of buf, looping over short writes and EINTR; never raises
 * SIGPIPE. Returns 0, or -1 with errno set. Blocks while the socket is full. */
int net_write_all(int fd, const void *buf, size_t len);

/* The same for an iovec array, which it modifies. */
int net_writev_all(int fd, struct iovec *iov, int iovcnt);

#endif
