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
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "die.h"
#include "handshake.h"
#include "lineedit.h"
#include "msg.h"
#include "net.h"
#include "peeraddr.h"
#include "peeropts.h"
#include "proto.h"
#include "queue.h"
#include "sync.h"
#include "term.h"
#include "writer.h"

#define CONNECT_MS     3000    /* one dial attempt gives up after this */
#define DIAL_FIRST_MS  50      /* first retry delay; doubles ... */
#define DIAL_MAX_MS    1000    /* ... up to this */
#define QUIT_GRACE_MS  2000    /* after quitting, wait this long for the
                                  other side to close */
#define QUEUE_BYTES    (1 << 20)  /* typed lines waiting for the link: about
                                  a thousand full-length ones */
#define TYPED_MAX      (PROTO_MAX_LINE + 1)  /* "//" + 1023 sends 1024 */

struct peer {
	/* Set by main before any thread starts, then read-only. */
	struct peeropts opt;    /* what the command line says */
	struct peeraddr *target;        /* -c's host's addresses */
	char target_names[128];         /* ... as text */
	struct handshake_self self;     /* what every handshake brings */
	int listen_fd;
	int wake_rd, wake_wr;   /* -> main thread: stop reading the terminal */
	int stop_rd, stop_wr;   /* main -> dials and handshakes: quit now */
	struct queue *out;      /* typed lines, waiting for the link */
	struct lined *ed;       /* the line editor, or NULL */

	pthread_mutex_t lock;   /* protects every field below */
	pthread_cond_t changed; /* the link came up, or stopping was set */
	int link_fd;            /* -1 until the link is up; then fixed */
	struct framer *link_in; /* what the handshake read past its end */
	char other[PROTO_MAX_NAME + 1];
	bool verified;          /* the other side proved the secret */
	bool stopping;          /* the person quit: stop connecting */
	bool dial_done;         /* our dials will not be kept: stop dialing */
	bool left;              /* the other side left first */
	char last_refusal[2][160];  /* the reason last shown for a call
	                           that came in [0] and one made [1]: a
	                           repeat is not shown again */
};

static void peer_init(struct peer *p);
static void start_listening(struct peer *p);
static void start_editor(struct peer *p);
static pthread_t start_thread(const char *name, void *(*fn)(void *),
    struct peer *p);
static void *signal_main(void *arg);
static void *acceptor_main(void *arg);
static void *dialer_main(void *arg);
static void try_link(struct peer *p, int fd, bool dialed);
static bool wait_for_link(struct peer *p);
static void *writer_main(void *arg);
static void *network_main(void *arg);
static bool typed_line(void *ctx, char *line, size_t len);
static void stop(struct peer *p, pthread_t network, pthread_t writer);
static void peer_free(struct peer *p);

int
main(int argc, char **argv)
{
	struct peer p = { .link_fd = -1 };
	pthread_t signals, acceptor, dialer, writer, network;

	peeropts_parse(argc, argv, &p.opt);
	peer_init(&p);
	start_listening(&p);
	start_editor(&p);               /* before anyone prints */
	signals = start_thread("signals", signal_main, &p);
	acceptor = start_thread("acceptor", acceptor_main, &p);
	dialer = start_thread("dialer", dialer_main, &p);
	writer = start_thread("writer", writer_main, &p);
	network = start_thread("network", network_main, &p);

	struct framer *tty = framer_new(TYPED_MAX);
	struct term_input in = {
		.f = tty, .ed = p.ed, .wake = { p.wake_rd, -1 }, .idle_ms = -1,
		.too_long = "! not sent: a line may hold 1024 bytes",
		.on_line = typed_line, .ctx = &p,
	};
	if (tty == NULL) {
		lined_restore();
		die("out of memory");
	}
	term_read_typed(&in);

	stop(&p, network, writer);
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

	/* Signals become data: a thread sigwaits for them (signal_main), and
	 * a resize comes from a signalfd (term.h). The mask is set before any
	 * thread starts, so every thread inherits it. */
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
	const struct queue_limits lim = { .hard = QUEUE_BYTES };
	if ((p->out = queue_new(&lim)) == NULL)
		die("out of memory");
	sync_mutex_init(&p->lock);
	sync_check(pthread_cond_init(&p->changed, NULL), "pthread_cond_init");
}

/* Starts a thread named name (for top -H and gdb); exits 1 if it cannot. */
static pthread_t
start_thread(const char *name, void *(*fn)(void *), struct peer *p)
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
start_listening(struct peer *p)
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

/* ---- The terminal ------------------------------------------------------ */

/* On a terminal, hands it to the line editor, prompt "NAME> ", and
 * term_say's lines to it; own lines are shown as the other side's are. */
static void
start_editor(struct peer *p)
{
	char prompt[PROTO_MAX_NAME + 3];

	if (!lined_wanted())
		return;
	if ((p->ed = lined_start(TYPED_MAX)) == NULL) {
		term_say("! no line editor (%s): typing plainly",
		    strerror(errno));
		return;
	}
	lined_set_echo(p->ed, false);
	snprintf(prompt, sizeof(prompt), "%s> ", p->opt.name);
	lined_set_prompt(p->ed, prompt);
	term_set_printer(term_editor_print, p->ed);
}

static const char help[] =
"Typed lines go to the other side. Commands:\n"
"  /who            who you are, and who is at the other end\n"
"  /quit or !exit  leave (so do Ctrl-D and Ctrl-C)\n"
"  /help           this list\n"
"  //TEXT          sends /TEXT: a line that starts with a slash\n";

/* /help, a line at a time, so the editor keeps its row below. */
static void
print_help(void)
{
	for (const char *l = help; *l != '\0'; l += strcspn(l, "\n") + 1)
		term_put("%.*s", (int)strcspn(l, "\n"), l);
}

/* /who: this side, and the link if it is up. */
static void
print_who(struct peer *p)
{
	char local[80], remote[80], other[PROTO_MAX_NAME + 1];

	sync_lock(&p->lock);
	int fd = p->link_fd;
	bool verified = p->verified;
	snprintf(other, sizeof(other), "%s", p->other);
	sync_unlock(&p->lock);
	if (fd < 0) {
		term_say("* you are %s; not connected yet (dialing %s:%s)",
		    p->opt.name, p->opt.host, p->opt.port);
		return;
	}
	net_local_name(fd, local, sizeof(local));
	net_peer_name(fd, remote, sizeof(remote));
	term_say("* you are %s at %s; %s is at %s (%s)", p->opt.name, local,
	    other, remote, verified ? "verified by the shared secret" :
	    "not verified: no --secret");
}

/* Queues text for the link, waiting for room while the link is slow.
 * Before the link is up a full queue refuses the line instead, so nothing
 * blocks for ever. False once the queue is closed. */
static bool
send_text(struct peer *p, const char *text)
{
	struct msg *m = msg_printf("%s", text);

	if (m == NULL)
		return true;
	sync_lock(&p->lock);
	bool up = p->link_fd >= 0;
	sync_unlock(&p->lock);
	enum queue_status st = up ? queue_push_wait(p->out, m) :
	    queue_push(p->out, m);
	msg_unref(m);
	if (st == QUEUE_FULL)
		term_say("! not sent: %d KiB of lines already wait for the "
		    "link", QUEUE_BYTES >> 10);
	else if (st == QUEUE_OK && p->ed != NULL)
		term_say("%s: %s", p->opt.name, text);
	return st != QUEUE_CLOSED;
}

/* One typed line: /quit and !exit leave, /help and /who are answered
 * here, another /word is refused; anything else (with "//" sending one
 * "/") goes to the other side. */
static bool
typed_line(void *ctx, char *line, size_t len)
{
	struct peer *p = ctx;

	if (strcmp(line, "/quit") == 0 || strcmp(line, "!exit") == 0)
		return false;
	if (strcmp(line, "/help") == 0)
		print_help();
	else if (strcmp(line, "/who") == 0)
		print_who(p);
	else if (line[0] == '/' && line[1] != '/')
		term_say("! unknown command %.40s; /help lists them (// sends "
		    "a line that starts with /)", line);
	else if (len - (line[0] == '/') > PROTO_MAX_LINE)
		term_say("! not sent: a line may hold %d bytes; this one has "
		    "%zu", PROTO_MAX_LINE, len - (line[0] == '/'));
	else
		return send_text(p, line + (line[0] == '/'));
	return true;
}

/* ---- Signals ----------------------------------------------------------- */

/* Ctrl+C or SIGTERM: quit as if the person typed /quit. Closing the queue
 * also frees a main thread waiting for room in it. SIGUSR1 comes from main
 * when it is done, and ends this thread. */
static void *
signal_main(void *arg)
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

/* ---- Bringing the link up ---------------------------------------------- */

/* Says why a connection was not kept, unless the last one made, or the
 * last one that came in, said the same: a peer with the wrong secret, or a
 * stranger calling again and again, gets one line, not one a second. */
static void
refused(struct peer *p, int fd, bool dialed, const char *why)
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
static void *
acceptor_main(void *arg)
{
	struct peer *p = arg;
	char why[sizeof(p->last_refusal[0])];

	snprintf(why, sizeof(why), "not from %.60s, the address of %.40s "
	    "(--any-peer takes any)", p->target_names, p->opt.host);
	for (;;) {
		int fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0 && !p->opt.any_peer &&
		    !peeraddr_allowed(p->target, fd)) {
			refused(p, fd, false, why);
			close(fd);
		} else if (fd >= 0) {
			try_link(p, fd, false);
		} else if (errno != EINTR && errno != ECONNABORTED) {
			return NULL;
		}
	}
}

/* True while the dialer should go on. */
static bool
still_dialing(struct peer *p)
{
	sync_lock(&p->lock);
	bool go = p->link_fd < 0 && !p->stopping && !p->dial_done;
	sync_unlock(&p->lock);
	return go;
}

/* Sleeps ms, or less if the link comes up or the person quits. */
static void
dial_pause(struct peer *p, int ms)
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
static void *
dialer_main(void *arg)
{
	struct peer *p = arg;
	int delay = DIAL_FIRST_MS;
	bool said = false;

	while (still_dialing(p)) {
		int fd = peeraddr_dial(p->target, CONNECT_MS, p->stop_rd);
		if (fd >= 0) {
			try_link(p, fd, true);
		} else if (errno != ECANCELED && !said) {
			term_say("* waiting for %s:%s (%s)", p->opt.host,
			    p->opt.port, strerror(errno));
			said = true;
		}
		dial_pause(p, delay);
		delay = delay * 2 > DIAL_MAX_MS ? DIAL_MAX_MS : delay * 2;
	}
	return NULL;
}

/* Makes fd the link if keep says so and there is none yet; takes the
 * framer with it. Returns whether it did. A dialed connection that is not
 * kept tells the dialer to stop: none of its calls will ever be kept. */
static bool
offer_link(struct peer *p, int fd, struct handshake_peer *them,
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
try_link(struct peer *p, int fd, bool dialed)
{
	struct handshake_peer them;
	enum handshake_end end = handshake_run(&p->self, fd, dialed, &them);
	bool keep = dialed ? p->self.nonce < them.nonce :
	    them.nonce < p->self.nonce;

	if (end == HANDSHAKE_FAILED)
		refused(p, fd, dialed, them.why);
	if (end != HANDSHAKE_OK || !offer_link(p, fd, &them, dialed, keep)) {
		if (end == HANDSHAKE_OK)
			framer_free(them.in);
		close(fd);
	}
}

/* Waits until the link is up (true) or the person quit first (false). */
static bool
wait_for_link(struct peer *p)
{
	sync_lock(&p->lock);
	while (p->link_fd < 0 && !p->stopping)
		sync_wait(&p->changed, &p->lock);
	bool up = p->link_fd >= 0;
	sync_unlock(&p->lock);
	return up;
}

/* ---- Talking over the link --------------------------------------------- */

/* Sends the queue's lines, a batch per writev, once the link is up; when
 * the queue is closed and drained, half-closes the link so the other side
 * sees the end. A failed write closes the queue, which frees a main thread
 * waiting for room. */
static void *
writer_main(void *arg)
{
	struct peer *p = arg;

	if (!wait_for_link(p))
		return NULL;
	if (writer_run(p->link_fd, p->out, writer_send_lines, NULL) < 0)
		queue_abort(p->out, NULL);
	else
		shutdown(p->link_fd, SHUT_WR);
	return NULL;
}

/* Prints the other side's lines until the link ends. If the other side
 * left first, says so and stops the main thread. */
static void *
network_main(void *arg)
{
	struct peer *p = arg;
	char remote[80], *line;
	int n;

	if (!wait_for_link(p))
		return NULL;
	net_peer_name(p->link_fd, remote, sizeof(remote));
	term_say("* connected to %s at %s (%s)", p->other, remote,
	    p->verified ? "verified by the shared secret" :
	    "not verified: no --secret");
	/* The server's text rules: a line with control bytes or invalid UTF-8
	 * is refused, so no escape sequence ever reaches the terminal. */
	while ((n = term_read_line(p->link_fd, p->link_in, PROTO_MAX_LINE,
	    &line, -1)) >= 0) {
		if (proto_text_ok(line, (size_t)n))
			term_say("%s: %s", p->other, line);
		else
			term_say("! %s sent a line with control bytes or "
			    "invalid UTF-8; not shown", p->other);
	}

	sync_lock(&p->lock);
	p->left = !p->stopping;
	bool left = p->left;
	sync_unlock(&p->lock);
	if (left) {
		term_say("* %s left", p->other);
		queue_close(p->out);
		if (write(p->wake_wr, "l", 1) < 0)
			term_say("! wake-up pipe: %s", strerror(errno));
	}
	return NULL;
}

/* ---- Stopping ---------------------------------------------------------- */

/* Joins t, shutting the link down first if t has not ended within
 * QUIT_GRACE_MS: a side that stops reading cannot hold the quit up. */
static void
join_or_shut(struct peer *p, pthread_t t)
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
stop(struct peer *p, pthread_t network, pthread_t writer)
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
	join_or_shut(p, network);
	join_or_shut(p, writer);
}
