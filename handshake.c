/*
 * handshake.c - the peers' handshake; see handshake.h for the protocol
 * and why it is shaped so.
 *
 * One handshake is a short script of steps (hs_steps), each returning
 * HANDSHAKE_OK to go on. Every read waits on the socket and on the stop
 * descriptor, with whatever is left of the one deadline.
 */
#include "handshake.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "sha1.h"

#define HS_CHALLENGE 16         /* bytes: 128 bits, fresh per connection */
#define HS_NONCE_HEX 16
#define HS_CHALLENGE_HEX (2 * HS_CHALLENGE)

/* One handshake in progress. */
struct hs {
	const struct handshake_self *me;
	struct handshake_peer *them;
	int fd;
	bool dialed;            /* this side made the connection */
	long long deadline;     /* on hs_now_ms's clock */
	struct framer *in;
	char mine[HS_CHALLENGE_HEX + 1];        /* the challenges, in hex */
	char theirs[HS_CHALLENGE_HEX + 1];
};

static long long
hs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
hs_hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* True when s is exactly n lowercase hex digits. */
static bool
hs_is_hex(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

/* Records why the handshake failed, for the caller to show. */
static enum handshake_end __attribute__((format(printf, 2, 3)))
hs_fail(struct hs *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->them->why, sizeof(h->them->why), fmt, ap);
	va_end(ap);
	return HANDSHAKE_FAILED;
}

static enum handshake_end __attribute__((format(printf, 2, 3)))
hs_send(struct hs *h, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	assert(n > 0 && n < (int)sizeof(line) - 1);    /* HELLO and PROOF fit */
	line[n++] = '\n';
	if (net_write_all(h->fd, line, (size_t)n) < 0)
		return hs_fail(h, "%s", strerror(errno));
	return HANDSHAKE_OK;
}

/* One read into the framer, once the socket or the stop descriptor is
 * readable or the deadline has passed. */
static enum handshake_end
hs_fill(struct hs *h, const char *what)
{
	long long left = h->deadline - hs_now_ms();
	struct pollfd pf[2] = {
		{ .fd = h->fd, .events = POLLIN },
		{ .fd = h->me->stop_fd, .events = POLLIN },
	};
	size_t room;
	char *space;
	ssize_t n;

	if (left <= 0 || poll(pf, 2, (int)left) == 0)
		return hs_fail(h, "no %s within %d s", what,
		    HANDSHAKE_MS / 1000);
	if (pf[1].revents != 0)
		return HANDSHAKE_STOPPED;
	if (pf[0].revents == 0)
		return HANDSHAKE_OK;    /* EINTR: try again */
	space = framer_space(h->in, &room);
	if ((n = read(h->fd, space, room)) == 0)
		return hs_fail(h, "it hung up before its %s", what);
	if (n < 0 && errno != EINTR)
		return hs_fail(h, "%s", strerror(errno));
	framer_commit(h->in, n > 0 ? (size_t)n : 0);
	return HANDSHAKE_OK;
}

/* Reads the next line, which should be the other side's what. */
static enum handshake_end
hs_read(struct hs *h, char **line, const char *what)
{
	enum handshake_end end = HANDSHAKE_OK;
	enum framer_event ev;
	size_t len;

	while (end == HANDSHAKE_OK &&
	    (ev = framer_next(h->in, line, &len)) != FRAMER_LINE) {
		if (ev == FRAMER_TOO_LONG)
			return hs_fail(h, "its %s was over %d bytes", what,
			    PROTO_MAX_LINE);
		end = hs_fill(h, what);
	}
	return end;
}

/* Takes the other side's HELLO apart into h and h->them, and checks that
 * the two sides can go on: different nonces, and a secret on both or on
 * neither. */
static enum handshake_end
hs_hello(struct hs *h, char *line)
{
	char *word[6], *save = NULL;
	int n = 0;

	for (char *w = strtok_r(line, " ", &save); w != NULL && n < 6;
	    w = strtok_r(NULL, " ", &save))
		word[n++] = w;
	if (n == 0 || strcmp(word[0], "HELLO") != 0)
		return hs_fail(h, "it is not a hubchat peer");
	if (n == 3)
		return hs_fail(h, "it runs an older hubchat-peer: update it");
	if (n != 5 || !hs_is_hex(word[1], HS_NONCE_HEX) ||
	    !proto_name_ok(word[2]) || !hs_is_hex(word[3], HS_CHALLENGE_HEX) ||
	    (strcmp(word[4], "secret") != 0 && strcmp(word[4], "none") != 0))
		return hs_fail(h, "its HELLO is malformed");
	h->them->nonce = strtoull(word[1], NULL, 16);
	snprintf(h->them->name, sizeof(h->them->name), "%s", word[2]);
	memcpy(h->theirs, word[3], sizeof(h->theirs));
	bool secret = strcmp(word[4], "secret") == 0;
	if (h->them->nonce == h->me->nonce)
		return hs_fail(h, "it has this side's own nonce (a call to "
		    "itself?)");
	if (h->me->secret != NULL && !secret)
		return hs_fail(h, "it has no shared secret, and this side has "
		    "one");
	if (h->me->secret == NULL && secret)
		return hs_fail(h, "it has a shared secret, and this side has "
		    "none (set HUBCHAT_PEER_SECRET)");
	return HANDSHAKE_OK;
}

/* The proof this side sends (from_me) or expects from the other. */
static void
hs_proof(const struct hs *h, bool from_me, unsigned char out[SHA1_LEN])
{
	const struct handshake_self *me = h->me;
	const struct handshake_peer *them = h->them;
	char text[256];
	int n = snprintf(text, sizeof(text), "hubchat-peer proof %s %016"
	    PRIx64 " %016" PRIx64 " %s %s %s %s",
	    from_me == h->dialed ? "dialer" : "acceptor",
	    from_me ? me->nonce : them->nonce,
	    from_me ? them->nonce : me->nonce,
	    from_me ? h->mine : h->theirs, from_me ? h->theirs : h->mine,
	    from_me ? me->name : them->name, from_me ? them->name : me->name);

	assert(n > 0 && n < (int)sizeof(text));        /* names are short */
	sha1_hmac(me->secret, strlen(me->secret), text, (size_t)n, out);
}

static enum handshake_end
hs_prove(struct hs *h)
{
	unsigned char mac[SHA1_LEN];
	char hex[2 * SHA1_LEN + 1];

	hs_proof(h, true, mac);
	hs_hex(mac, SHA1_LEN, hex);
	return hs_send(h, "PROOF %s", hex);
}

/* Reads the other side's proof and checks it, in constant time. */
static enum handshake_end
hs_check(struct hs *h)
{
	unsigned char want[SHA1_LEN], got[SHA1_LEN];
	enum handshake_end end;
	char *line;

	if ((end = hs_read(h, &line, "PROOF")) != HANDSHAKE_OK) {
		/* An acceptor hangs up on a dialer's proof it cannot check. */
		if (end == HANDSHAKE_FAILED && h->dialed &&
		    strncmp(h->them->why, "it hung up", 10) == 0)
			hs_fail(h, "it hung up on this side's proof (a "
			    "different secret?)");
		return end;
	}
	if (strncmp(line, "PROOF ", 6) != 0 ||
	    !hs_is_hex(line + 6, 2 * SHA1_LEN))
		return hs_fail(h, "it sent no PROOF");
	for (size_t i = 0; i < SHA1_LEN; i++)
		sscanf(line + 6 + 2 * i, "%2hhx", &got[i]);
	hs_proof(h, false, want);
	if (!sha1_equal(got, want))
		return hs_fail(h, "wrong secret: its proof did not match");
	return HANDSHAKE_OK;
}

/* The handshake's steps, in order; see handshake.h. */
static enum handshake_end
hs_steps(struct hs *h)
{
	enum handshake_end end;
	char *line;

	if ((end = hs_send(h, "HELLO %016" PRIx64 " %s %s %s", h->me->nonce,
	    h->me->name, h->mine, h->me->secret ? "secret" : "none")) !=
	    HANDSHAKE_OK ||
	    (end = hs_read(h, &line, "HELLO")) != HANDSHAKE_OK ||
	    (end = hs_hello(h, line)) != HANDSHAKE_OK ||
	    h->me->secret == NULL)
		return end;
	if (h->dialed && (end = hs_prove(h)) != HANDSHAKE_OK)
		return end;
	if ((end = hs_check(h)) != HANDSHAKE_OK)
		return end;
	if (!h->dialed)
		end = hs_prove(h);      /* only once the dialer has proved */
	h->them->verified = end == HANDSHAKE_OK;
	return end;
}

enum handshake_end
handshake_run(const struct handshake_self *me, int fd, bool dialed,
    struct handshake_peer *them)
{
	struct hs h = { .me = me, .them = them, .fd = fd, .dialed = dialed,
	    .deadline = hs_now_ms() + HANDSHAKE_MS };
	unsigned char challenge[HS_CHALLENGE];
	enum handshake_end end;

	assert(me != NULL && me->name != NULL && them != NULL && fd >= 0);
	assert(me->secret == NULL || *me->secret != '\0');
	memset(them, 0, sizeof(*them));
	if (getrandom(challenge, sizeof(challenge), 0) != sizeof(challenge))
		return hs_fail(&h, "getrandom: %s", strerror(errno));
	hs_hex(challenge, sizeof(challenge), h.mine);
	if ((h.in = framer_new(PROTO_MAX_LINE)) == NULL)
		return hs_fail(&h, "out of memory");
	end = hs_steps(&h);
	if (end == HANDSHAKE_OK)
		them->in = h.in;
	else
		framer_free(h.in);
	return end;
}
