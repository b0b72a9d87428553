/*
 * handshake.h - the first lines on every connection between two peers,
 * made or accepted: who is at the other end, whether it knows the shared
 * secret, and the facts that decide which of two connections is kept.
 *
 * Each side sends, at once:
 *     HELLO <nonce> <name> <challenge> secret|none
 * nonce is 16 hex digits drawn once per run (the keep rule compares
 * them); challenge is 32 hex digits, 128 bits drawn afresh for this
 * connection; the last word says whether the side has a secret. With no
 * secret on either side, that is all. With one on both, each side then
 * proves it knows the secret, the dialer first:
 *     PROOF <40 hex digits>
 * the HMAC-SHA1, keyed with the secret, of the text
 *     hubchat-peer proof <role> <sender's nonce> <receiver's nonce>
 *         <sender's challenge> <receiver's challenge> <sender's name>
 *         <receiver's name>
 * (one line, words separated by single spaces), where role is the
 * sender's on this connection, "dialer" or "acceptor". A secret on one
 * side only ends the handshake on both, each saying why.
 *
 * What that buys:
 *   - The secret never crosses the wire; only HMACs of fresh challenges.
 *   - Replay: a proof covers the receiver's challenge, new on every
 *     connection, so a proof recorded on one fails on any other.
 *   - Reflection: a proof names its sender's nonce and role, and a side
 *     refuses a HELLO that carries its own nonce, so no proof a side made
 *     itself (on another connection, in the other role) is ever one it
 *     accepts from the other end.
 *   - The dialer proves first, and the acceptor answers only a good
 *     proof: a stranger who calls in gets nothing it could test guesses
 *     of the secret against. (Whoever answers our own calls does; a weak
 *     secret can be guessed offline from a recorded handshake, as any
 *     password can. Use a long random one.)
 *   - Names and nonces are inside the proofs: a man in the middle who
 *     does not know the secret cannot change who is shown, or which
 *     connection is kept.
 * Without a secret, the other side is whoever answers and proves nothing;
 * the caller says so ("not verified").
 *
 * The whole handshake has one deadline, HANDSHAKE_MS, however slowly its
 * bytes trickle in, and it ends at once when the person quits.
 */
#ifndef HUBCHAT_HANDSHAKE_H
#define HUBCHAT_HANDSHAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

#define HANDSHAKE_MS 3000       /* for the whole handshake */

/* What this side brings to every handshake; fixed for the run. */
struct handshake_self {
	uint64_t nonce;         /* drawn once at start */
	const char *name;       /* proto_name_ok */
	const char *secret;     /* NUL-terminated, or NULL for none */
	int stop_fd;            /* readable once the person quits */
};

/* What a handshake learnt of the other side. */
struct handshake_peer {
	uint64_t nonce;
	char name[PROTO_MAX_NAME + 1];
	bool verified;          /* it proved it knows the secret */
	struct framer *in;      /* on success: the link's framer, holding
	                           what came after the handshake; the caller
	                           owns it */
	char why[128];          /* on failure: why, for a person */
};

enum handshake_end {
	HANDSHAKE_OK,
	HANDSHAKE_FAILED,       /* them->why says why; fd should be closed */
	HANDSHAKE_STOPPED,      /* the person quit */
};

/* Runs the handshake on connected socket fd, which this side dialed or
 * accepted. Blocks for at most HANDSHAKE_MS. Does not close fd. */
enum handshake_end handshake_run(const struct handshake_self *me, int fd,
    bool dialed, struct handshake_peer *them);

#endif
