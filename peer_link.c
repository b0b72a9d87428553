/*
 * peer_link.c - bringing the peer's link up: the acceptor and the dialer
 * threads, the handshake on each connection, and the rule that keeps one
 * (peer.c's opening comment says why that rule always keeps the same
 * connection on both sides). The shared state is in peer_internal.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "handshake.h"
#include "net.h"
#include "peer_internal.h"
#include "peeraddr.h"
#include "sync.h"
#include "term.h"

#define CONNECT_MS     3000    /* one dial attempt gives up after this */
#define DIAL_FIRST_MS  50      /* first retry delay; doubles ... */
#define DIAL_MAX_MS    1000    /* ... up to this */

static void peer_try_link(struct peer *p, int fd, bool dialed);

/* Says why a connection was not kept, unless the last one made, or the
 * last one that came in, said the same: a peer with the wrong secret, or a
 * stranger calling again and again, gets one line, not one a second. */
static void
peer_refused(struct peer *p, int fd, bool dialed, const char *why)
{
	char addr[80];

	char *last = p->last_refusal[dialed];

	net_peer_name(fd, addr, sizeof(addr));
	sync_lock(&p->lock);
	bool repeat = strcmp(last, why) == 0;
	snprintf(last, sizeof(p->last_refusal[0]), "%s", why);
	sync_unlock(&p->lock);
	if (!repeat)
		term_say("* refused the connection %s %s: %s",
		    dialed ? "to" : "from", addr, why);
}

/* Accepts calls and handshakes each one from an address it may come from,
 * until the listening socket is shut down (the link is up, or the person
 * quit). */
void *
peer_acceptor_main(void *arg)
{
	struct peer *p = arg;
	char why[sizeof(p->last_refusal[0])];

	snprintf(why, sizeof(why), "not from %.60s, the address of %.40s "
	    "(--any-peer takes any)", p->target_names, p->opt.host);
	for (;;) {
		int fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0 && !p->opt.any_peer &&
		    !peeraddr_allowed(p->target, fd)) {
			peer_refused(p, fd, false, why);
			close(fd);
		} else if (fd >= 0) {
			peer_try_link(p, fd, false);
		} else if (errno != EINTR && errno != ECONNABORTED) {
			return NULL;
		}
	}
}

/* True while the dialer should go on. */
static bool
peer_still_dialing(struct peer *p)
{
	sync_lock(&p->lock);
	bool go = p->link_fd < 0 && !p->stopping && !p->dial_done;
	sync_unlock(&p->lock);
	return go;
}

/* Sleeps ms, or less if the link comes up or the person quits. */
static void
peer_dial_pause(struct peer *p, int ms)
{
	struct timespec until = sync_deadline(ms);

	sync_lock(&p->lock);
	int rc = 0;
	while (rc == 0 && p->link_fd < 0 && !p->stopping)
		rc = pthread_cond_timedwait(&p->changed, &p->lock, &until);
	if (rc != 0 && rc != ETIMEDOUT)
		sync_check(rc, "pthread_cond_timedwait");
	sync_unlock(&p->lock);
}

/* Dials the other peer until the link is up, saying once that it waits. */
void *
peer_dialer_main(void *arg)
{
	struct peer *p = arg;
	int delay = DIAL_FIRST_MS;
	bool said = false;

	while (peer_still_dialing(p)) {
		int fd = peeraddr_dial(p->target, CONNECT_MS, p->stop_rd);
		if (fd >= 0) {
			peer_try_link(p, fd, true);
		} else if (errno != ECANCELED && !said) {
			term_say("* waiting for %s:%s (%s)", p->opt.host,
			    p->opt.port, strerror(errno));
			said = true;
		}
		peer_dial_pause(p, delay);
		delay = delay * 2 > DIAL_MAX_MS ? DIAL_MAX_MS : delay * 2;
	}
	return NULL;
}

/* Makes fd the link if keep says so and there is none yet; takes the
 * framer with it. Returns whether it did. A dialed connection that is not
 * kept tells the dialer to stop: none of its calls will ever be kept. */
static bool
peer_offer_link(struct peer *p, int fd, struct handshake_peer *them,
    bool dialed, bool keep)
{
	bool taken = false;

	sync_lock(&p->lock);
	if (dialed && !keep)
		p->dial_done = true;
	if (keep && p->link_fd < 0 && !p->stopping) {
		p->link_fd = fd;
		p->link_in = them->in;
		snprintf(p->other, sizeof(p->other), "%s", them->name);
		p->verified = them->verified;
		taken = true;
	}
	sync_check(pthread_cond_broadcast(&p->changed), "cond_broadcast");
	sync_unlock(&p->lock);
	if (taken)
		shutdown(p->listen_fd, SHUT_RDWR);  /* no more calls */
	return taken;
}

/*
 * One connection, made or accepted: the handshake, then the rule (keep it
 * if it was dialed by the side with the lower nonce). A kept connection
 * becomes the link; any other is closed. Blocks for at most HANDSHAKE_MS,
 * less if the person quits.
 */
static void
peer_try_link(struct peer *p, int fd, bool dialed)
{
	struct handshake_peer them;
	enum handshake_end end = handshake_run(&p->self, fd, dialed, &them);
	bool keep = dialed ? p->self.nonce < them.nonce :
	    them.nonce < p->self.nonce;

	if (end == HANDSHAKE_FAILED)
		peer_refused(p, fd, dialed, them.why);
	if (end != HANDSHAKE_OK ||
	    !peer_offer_link(p, fd, &them, dialed, keep)) {
		if (end == HANDSHAKE_OK)
			framer_free(them.in);
		close(fd);
	}
}

/* Waits until the link is up (true) or the person quit first (false). */
bool
peer_wait_for_link(struct peer *p)
{
	sync_lock(&p->lock);
	while (p->link_fd < 0 && !p->stopping)
		sync_wait(&p->changed, &p->lock);
	bool up = p->link_fd >= 0;
	sync_unlock(&p->lock);
	return up;
}
