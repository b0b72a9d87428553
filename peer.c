/*
 * peer.c - two-peer, full-duplex chat with no server.
 *
 *   ./peer -l LISTEN_PORT -c HOST:PORT [-n NAME] [-a LISTEN_ADDR]
 *          [--any-peer] [--secret SECRET]
 *
 * Each peer listens on its own port and, at the same time, keeps dialing the
 * other until one link is up; then both people type and read at once.
 *
 * Who may be the other side. A call that comes in is taken only from an
 * address that -c's HOST resolves to (peeraddr.h), unless --any-peer says
 * any will do; every connection, made or accepted, then starts with a
 * handshake (handshake.h), and with a shared secret (--secret, or better
 * $HUBCHAT_PEER_SECRET, which ps does not show) both sides prove they know
 * it without sending it. Without one, whoever answers from the right
 * address is taken at its word, and the terminal says "not verified".
 *
 * The race, and how it is settled. When both peers start together, the
 * accept and the dial can both succeed, leaving two TCP connections between
 * the same pair. If each side kept a different one, each would write where
 * the other does not read, and lines would vanish. The handshake tells both
 * sides, for each connection, who dialed it and both sides' nonces (64
 * random bits drawn once at start), and they apply one rule: keep the
 * connection dialed by the side with the lower nonce; close every other.
 * The rule depends only on facts both sides share, so they always keep the
 * same connection. The side with the higher nonce stops dialing once it
 * learns it is higher, and waits for the other's call.
 *
 * Threads, next to the Go original's goroutines:
 *   Go                    here
 *   net.Listen + Accept   acceptor: accepts and handshakes until the link
 *                         is up
 *   net.Dial in a loop    dialer: dials with a backoff of 50 ms doubling to
 *                         1 s, and handshakes, until the link is up
 *   stdinReader           main thread: pushes typed lines into the bounded
 *                         queue (waiting when it is full); on a terminal,
 *                         through the line editor
 *   connWriter            writer: waits for the link, then drains the queue
 *                         to it, so lines typed before the link is up go
 *                         out once it is
 *   connReader, printer   network: prints the other side's lines, refusing
 *                         any with control bytes
 *   done channel          link state under one mutex and condition
 *                         variable, and a wake-up pipe to the main thread
 *   signal.Notify         signals: Ctrl+C and SIGTERM quit as /quit does
 *
 * Shutdown. The person quits with /quit, !exit, Ctrl-D (end of stdin) or
 * Ctrl+C: a stop pipe cuts short any dial or handshake in progress (a
 * stranger's call never holds the quit up), the queue is closed, the writer
 * sends what is left and half-closes the link, the other side sees the end,
 * says so and exits 0; here the network thread sees that side close in
 * turn (or the link is shut after a grace period). When the other side
 * leaves first, or dies, the network thread sees it, says "<name> left" and
 * wakes the main thread. Every thread is joined, then the editor gives the
 * terminal back; the exit status is 0 either way.
 *
 * The files: this one is main, from setting up to stopping, and the signal
 * thread; peer_term.c the terminal (the editor, typed lines, commands);
 * peer_link.c bringing the link up (acceptor, dialer, the rule);
 * peer_talk.c talking over it (writer, network). peer_internal.h holds the
 * state they share, struct peer, with its lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "die.h"
#include "lineedit.h"
#include "net.h"
#include "peer_internal.h"
#include "peeraddr.h"
#include "peeropts.h"
#include "proto.h"
#include "queue.h"
#include "sync.h"
#include "term.h"

#define QUIT_GRACE_MS  2000    /* after quitting, wait this long for the
                                  other side to close */

static void peer_init(struct peer *p);
static void peer_start_listening(struct peer *p);
static pthread_t peer_start_thread(const char *name, void *(*fn)(void *),
    struct peer *p);
static void *peer_signal_main(void *arg);
static void peer_stop(struct peer *p, pthread_t network, pthread_t writer);
static void peer_free(struct peer *p);

int
main(int argc, char **argv)
{
	struct peer p = { .link_fd = -1 };
	pthread_t signals, acceptor, dialer, writer, network;

	peeropts_parse(argc, argv, &p.opt);
	peer_init(&p);
	peer_start_listening(&p);
	peer_start_editor(&p);          /* before anyone prints */
	signals = peer_start_thread("signals", peer_signal_main, &p);
	acceptor = peer_start_thread("acceptor", peer_acceptor_main, &p);
	dialer = peer_start_thread("dialer", peer_dialer_main, &p);
	writer = peer_start_thread("writer", peer_writer_main, &p);
	network = peer_start_thread("network", peer_network_main, &p);

	struct framer *tty = framer_new(PEER_TYPED_MAX);
	struct term_input in = {
		.f = tty, .ed = p.ed, .wake = { p.wake_rd, -1 }, .idle_ms = -1,
		.too_long = "! not sent: a line may hold 1024 bytes",
		.on_line = peer_typed_line, .ctx = &p,
	};
	if (tty == NULL) {
		lined_restore();
		die("out of memory");
	}
	term_read_typed(&in);

	peer_stop(&p, network, writer);
	pthread_kill(signals, SIGUSR1);         /* "we are done" */
	sync_join(signals);
	sync_join(acceptor);
	sync_join(dialer);
	if (p.ed != NULL) {                     /* nobody prints any more */
		term_set_printer(NULL, NULL);
		lined_stop(p.ed);
	}
	framer_free(tty);
	peer_free(&p);
	return 0;
}

/* Everything but the listening socket and the editor: signals, the pipes,
 * the nonce, the queue and the lock. Exits 1 on failure. */
static void
peer_init(struct peer *p)
{
	int wake[2], stopper[2];
	sigset_t sigs;

	/* Signals become data: a thread sigwaits for them (peer_signal_main),
	 * and a resize comes from a signalfd (term.h). The mask is set before
	 * any thread starts, so every thread inherits it. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGUSR1);
	sync_check(pthread_sigmask(SIG_BLOCK, &sigs, NULL), "pthread_sigmask");
	term_block_winch();
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(wake, O_CLOEXEC) < 0 || pipe2(stopper, O_CLOEXEC) < 0)
		die("pipe:");
	p->wake_rd = wake[0];
	p->wake_wr = wake[1];
	p->stop_rd = stopper[0];
	p->stop_wr = stopper[1];
	p->self = (struct handshake_self){ .name = p->opt.name,
	    .secret = p->opt.secret, .stop_fd = p->stop_rd };
	if (getrandom(&p->self.nonce, sizeof(p->self.nonce), 0) !=
	    sizeof(p->self.nonce))
		die("getrandom:");
	const struct queue_limits lim = { .hard = PEER_QUEUE_BYTES };
	if ((p->out = queue_new(&lim)) == NULL)
		die("out of memory");
	sync_mutex_init(&p->lock);
	sync_check(pthread_cond_init(&p->changed, NULL), "pthread_cond_init");
}

/* Starts a thread named name (for top -H and gdb); exits 1 if it cannot. */
static pthread_t
peer_start_thread(const char *name, void *(*fn)(void *), struct peer *p)
{
	pthread_t t;
	int rc = pthread_create(&t, NULL, fn, p);

	if (rc != 0) {
		lined_restore();
		die("cannot start the %s thread: %s", name, strerror(rc));
	}
	pthread_setname_np(t, name);
	return t;
}

/* What main frees once every thread is joined. */
static void
peer_free(struct peer *p)
{
	if (p->link_fd >= 0)
		close(p->link_fd);
	close(p->listen_fd);
	framer_free(p->link_in);
	queue_free(p->out);
	peeraddr_free(p->target);
	peeropts_free(&p->opt);
}

/* Resolves -c's host, then listens on -a (default "::"; a machine without
 * IPv6 falls back to 0.0.0.0). Exits 1 with a clear message when the host
 * is unknown or the port is taken. */
static void
peer_start_listening(struct peer *p)
{
	char err[256];

	if ((p->target = peeraddr_resolve(p->opt.host, p->opt.port, err,
	    sizeof(err))) == NULL)
		die("%s", err);
	peeraddr_names(p->target, p->target_names, sizeof(p->target_names));
	p->listen_fd = net_listen(p->opt.listen_addr, p->opt.listen_port, err,
	    sizeof(err));
	if (p->listen_fd < 0 && errno == EAFNOSUPPORT &&
	    strcmp(p->opt.listen_addr, "::") == 0)
		p->listen_fd = net_listen("0.0.0.0", p->opt.listen_port, err,
		    sizeof(err));
	if (p->listen_fd < 0)
		die("%s", err);
}

/* ---- Signals ----------------------------------------------------------- */

/* Ctrl+C or SIGTERM: quit as if the person typed /quit. Closing the queue
 * also frees a main thread waiting for room in it. SIGUSR1 comes from main
 * when it is done, and ends this thread. */
static void *
peer_signal_main(void *arg)
{
	struct peer *p = arg;
	sigset_t sigs;
	int sig;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGUSR1);
	while (sigwait(&sigs, &sig) == 0 && sig != SIGUSR1) {
		queue_close(p->out);
		if (write(p->wake_wr, "s", 1) < 0)
			term_say("! wake-up pipe: %s", strerror(errno));
	}
	return NULL;
}

/* ---- Stopping ---------------------------------------------------------- */

/* Joins t, shutting the link down first if t has not ended within
 * QUIT_GRACE_MS: a side that stops reading cannot hold the quit up. */
static void
peer_join_or_shut(struct peer *p, pthread_t t)
{
	if (!sync_join_within(t, QUIT_GRACE_MS)) {
		shutdown(p->link_fd, SHUT_RDWR);
		sync_join(t);
	}
}

/* Stops everything: no more connecting (a dial or handshake in progress
 * ends at once), the writer sends what is queued and half-closes, and the
 * network thread ends when the other side closes (at once if it left
 * first; else within QUIT_GRACE_MS, after which the link is shut down).
 * Joins the network and writer threads. */
static void
peer_stop(struct peer *p, pthread_t network, pthread_t writer)
{
	sync_lock(&p->lock);
	p->stopping = true;
	bool left = p->left;
	sync_check(pthread_cond_broadcast(&p->changed), "cond_broadcast");
	sync_unlock(&p->lock);
	if (write(p->stop_wr, "q", 1) < 0)
		term_say("! stop pipe: %s", strerror(errno));
	shutdown(p->listen_fd, SHUT_RDWR);     /* wakes the acceptor */
	queue_close(p->out);
	if (!left)
		term_say("* bye");
	peer_join_or_shut(p, network);
	peer_join_or_shut(p, writer);
}
