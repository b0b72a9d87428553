/*
 * peer.c - two-peer, full-duplex chat with no server.
 *
 *   ./peer -l LISTEN_PORT -c HOST:PORT [-n NAME]
 *
 * Each peer listens on its own port and, at the same time, keeps dialing the
 * other until one link is up; then both people type and read at once.
 *
 * The race, and how it is settled. When both peers start together, the
 * accept and the dial can both succeed, leaving two TCP connections between
 * the same pair. If each side kept a different one, each would write where
 * the other does not read, and lines would vanish. So every connection, made
 * or accepted, starts with a handshake: each side sends
 *     HELLO <nonce> <name>
 * where nonce is 64 random bits drawn once at start. After it, both sides
 * know, for that connection, who dialed it and both nonces, and they apply
 * one rule: keep the connection dialed by the side with the lower nonce;
 * close every other. The rule depends only on facts both sides share, so
 * they always keep the same connection. The side with the higher nonce
 * stops dialing once it learns it is higher, and waits for the other's call.
 *
 * Threads, next to the Go original's goroutines:
 *   Go                    here
 *   net.Listen + Accept   acceptor: accepts and handshakes until the link
 *                         is up
 *   net.Dial in a loop    dialer: dials with a backoff of 50 ms doubling to
 *                         1 s, and handshakes, until the link is up
 *   stdinReader           main thread: pushes typed lines into the bounded
 *                         queue (waiting when it is full)
 *   connWriter            writer: waits for the link, then drains the queue
 *                         to it, so lines typed before the link is up go
 *                         out once it is
 *   connReader, printer   network: prints the other side's lines, refusing
 *                         any with control bytes
 *   done channel          link state under one mutex and condition
 *                         variable, and a wake-up pipe to the main thread
 *
 * Shutdown. The person quits with /quit, !exit, Ctrl-D (end of stdin) or
 * Ctrl+C: the queue is closed, the writer sends what is left and half-closes
 * the link, the other side sees the end, says so and exits 0; here the
 * network thread sees that side close in turn (or the link is shut after a
 * grace period). When the other side leaves first, or dies, the network
 * thread sees it, says "<name> left" and wakes the main thread. Every thread
 * is joined; the exit status is 0 either way.
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
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "die.h"
#include "msg.h"
#include "net.h"
#include "proto.h"
#include "queue.h"
#include "sync.h"
#include "term.h"
#include "writer.h"

#define HANDSHAKE_MS   3000    /* the other side's HELLO must come by then */
#define CONNECT_MS     3000    /* one dial attempt gives up after this */
#define DIAL_FIRST_MS  50      /* first retry delay; doubles ... */
#define DIAL_MAX_MS    1000    /* ... up to this */
#define QUIT_GRACE_MS  2000    /* after quitting, wait this long for the
                                  other side to close */
#define QUEUE_BYTES    (1 << 20)  /* typed lines waiting for the link: about
                                  a thousand full-length ones */

struct peer {
	/* Set by main before any thread starts, then read-only. */
	char name[PROTO_MAX_NAME + 1];
	const char *listen_addr;
	const char *listen_port;
	char host[256];         /* whom to dial */
	char port[8];
	uint64_t nonce;
	int listen_fd;
	int wake_rd, wake_wr;   /* -> main thread: stop reading the terminal */
	struct queue *out;      /* typed lines, waiting for the link */

	pthread_mutex_t lock;   /* protects every field below */
	pthread_cond_t changed; /* the link came up, or stopping was set */
	int link_fd;            /* -1 until the link is up; then fixed */
	struct framer *link_in; /* what the handshake read past the HELLO */
	char other[PROTO_MAX_NAME + 1];
	bool stopping;          /* the person quit: stop connecting */
	bool dial_done;         /* our dials will not be kept: stop dialing */
	bool left;              /* the other side left first */
};

static void parse_args(struct peer *p, int argc, char **argv);
static void peer_init(struct peer *p);
static void start_listening(struct peer *p);
static pthread_t start_thread(const char *name, void *(*fn)(void *),
    struct peer *p);
static void *signal_main(void *arg);
static void *acceptor_main(void *arg);
static void *dialer_main(void *arg);
static void handshake(struct peer *p, int fd, bool dialed);
static bool offer_link(struct peer *p, int fd, struct framer *in,
    const char *other, bool dialed, bool keep);
static bool wait_for_link(struct peer *p);
static void *writer_main(void *arg);
static void *network_main(void *arg);
static bool typed_line(void *ctx, char *line, size_t len);
static void stop(struct peer *p, pthread_t network);

int
main(int argc, char **argv)
{
	struct peer p = { .link_fd = -1 };
	pthread_t signals, acceptor, dialer, writer, network;

	parse_args(&p, argc, argv);
	peer_init(&p);
	start_listening(&p);
	signals = start_thread("signals", signal_main, &p);
	acceptor = start_thread("acceptor", acceptor_main, &p);
	dialer = start_thread("dialer", dialer_main, &p);
	writer = start_thread("writer", writer_main, &p);
	network = start_thread("network", network_main, &p);

	struct framer *tty = framer_new(PROTO_MAX_LINE);
	struct term_input in = {
		.f = tty, .wake = { p.wake_rd, -1 }, .idle_ms = -1,
		.too_long = "! not sent: a line may hold 1024 bytes",
		.on_line = typed_line, .ctx = &p,
	};
	if (tty == NULL)
		die("out of memory");
	term_read_typed(&in);

	stop(&p, network);
	pthread_kill(signals, SIGUSR1);         /* "we are done" */
	sync_join(signals);
	sync_join(acceptor);
	sync_join(dialer);
	sync_join(writer);
	if (p.link_fd >= 0)
		close(p.link_fd);
	close(p.listen_fd);
	framer_free(p.link_in);
	framer_free(tty);
	queue_free(p.out);
	return 0;
}

/* Everything but the listening socket: signals, the wake-up pipe, the
 * nonce, the queue and the lock. Exits 1 on failure. */
static void
peer_init(struct peer *p)
{
	int pipefd[2];
	sigset_t sigs;

	/* Signals become data: a thread sigwaits for them (signal_main). The
	 * mask is set before any thread starts, so every thread inherits it. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGUSR1);
	sync_check(pthread_sigmask(SIG_BLOCK, &sigs, NULL), "pthread_sigmask");
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		die("pipe:");
	p->wake_rd = pipefd[0];
	p->wake_wr = pipefd[1];
	if (getrandom(&p->nonce, sizeof(p->nonce), 0) != sizeof(p->nonce))
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

	if (rc != 0)
		die("cannot start the %s thread: %s", name, strerror(rc));
	pthread_setname_np(t, name);
	return t;
}

/* ---- Flags ------------------------------------------------------------- */

static const char usage[] =
"usage: peer -l LISTEN_PORT -c HOST:PORT [-n NAME] [-a LISTEN_ADDR]\n"
"  -l PORT       listen for the other peer on PORT\n"
"  -c HOST:PORT  and keep dialing it there ([::1]:PORT for IPv6)\n"
"  -n NAME       your name as the other side sees it (default: peer)\n"
"  -a ADDR       listen address (default :: = every IPv4 and IPv6 one)\n"
"Type lines to send them; /quit, !exit, Ctrl-D or Ctrl+C leaves.\n";

/* A whole decimal port number in [1, 65535]. */
static bool
port_ok(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s != '\0' && *end == '\0' && v >= 1 && v <= 65535;
}

/* Splits HOST:PORT (or [HOST]:PORT) into p->host and p->port. */
static void
parse_target(struct peer *p, const char *target)
{
	const char *colon = strrchr(target, ':');
	const char *host = target;
	size_t hostlen = colon ? (size_t)(colon - target) : 0;

	if (hostlen >= 2 && host[0] == '[' && host[hostlen - 1] == ']') {
		host++;
		hostlen -= 2;
	}
	if (colon == NULL || hostlen == 0 || hostlen >= sizeof(p->host) ||
	    !port_ok(colon + 1))
		die_with(2, "bad -c value '%s': want HOST:PORT", target);
	memcpy(p->host, host, hostlen);
	p->host[hostlen] = '\0';
	snprintf(p->port, sizeof(p->port), "%s", colon + 1);
}

static void
parse_args(struct peer *p, int argc, char **argv)
{
	const char *target = NULL, *name = "peer";
	int c;

	p->listen_addr = "::";
	while ((c = getopt(argc, argv, ":l:c:n:a:h")) != -1) {
		switch (c) {
		case 'l': p->listen_port = optarg; break;
		case 'c': target = optarg; break;
		case 'n': name = optarg; break;
		case 'a': p->listen_addr = optarg; break;
		case 'h': fputs(usage, stdout); exit(0);
		default: die_with(2, "bad option or missing value: %s (try -h)",
		    argv[optind - 1]);
		}
	}
	if (p->listen_port == NULL || target == NULL || optind < argc)
		die_with(2, "both -l LISTEN_PORT and -c HOST:PORT are needed "
		    "(try -h)");
	if (!port_ok(p->listen_port))
		die_with(2, "bad -l value '%s': want a port from 1 to 65535",
		    p->listen_port);
	parse_target(p, target);
	if (!proto_name_ok(name))
		die_with(2, "bad -n value '%s': 1-32 letters, digits, _ or -, "
		    "starting with a letter", name);
	snprintf(p->name, sizeof(p->name), "%s", name);
}

/* Listens on -a (default "::"); a machine without IPv6 falls back to
 * 0.0.0.0. Exits 1 with a clear message when the port is taken. */
static void
start_listening(struct peer *p)
{
	char err[256];

	p->listen_fd = net_listen(p->listen_addr, p->listen_port, err,
	    sizeof(err));
	if (p->listen_fd < 0 && errno == EAFNOSUPPORT &&
	    strcmp(p->listen_addr, "::") == 0)
		p->listen_fd = net_listen("0.0.0.0", p->listen_port, err,
		    sizeof(err));
	if (p->listen_fd < 0)
		die("%s", err);
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

/* Accepts calls and handshakes each, until the listening socket is shut
 * down (the link is up, or the person quit). */
static void *
acceptor_main(void *arg)
{
	struct peer *p = arg;

	for (;;) {
		int fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			handshake(p, fd, false);
		else if (errno != EINTR && errno != ECONNABORTED)
			return NULL;
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
	char err[256];

	while (still_dialing(p)) {
		int fd = net_connect(p->host, p->port, CONNECT_MS, err,
		    sizeof(err));
		if (fd >= 0) {
			handshake(p, fd, true);
		} else if (!said) {
			term_say("* waiting for %s:%s (%s)", p->host, p->port,
			    strerror(errno));
			said = true;
		}
		dial_pause(p, delay);
		delay = delay * 2 > DIAL_MAX_MS ? DIAL_MAX_MS : delay * 2;
	}
	return NULL;
}

/* Reads "HELLO <16 hex digits> <name>"; false if the line is not one. */
static bool
hello_parse(const char *line, uint64_t *nonce, char *name)
{
	int end = 0;

	return sscanf(line, "HELLO %16" SCNx64 " %32s%n", nonce, name,
	    &end) == 2 && line[end] == '\0' && proto_name_ok(name);
}

/*
 * The handshake on one connection, made or accepted: send our HELLO, read
 * theirs, and apply the rule (keep it if it was dialed by the side with the
 * lower nonce). A kept connection becomes the link; any other is closed.
 * Blocks for at most HANDSHAKE_MS.
 */
static void
handshake(struct peer *p, int fd, bool dialed)
{
	struct framer *in = framer_new(PROTO_MAX_LINE);
	char hello[80], other[PROTO_MAX_NAME + 1], *line = NULL;
	uint64_t theirs = 0;
	int n = -1;

	snprintf(hello, sizeof(hello), "HELLO %016" PRIx64 " %s\n", p->nonce,
	    p->name);
	if (in != NULL && net_write_all(fd, hello, strlen(hello)) == 0)
		n = term_read_line(fd, in, PROTO_MAX_LINE, &line, HANDSHAKE_MS);
	bool valid = n >= 0 && hello_parse(line, &theirs, other) &&
	    theirs != p->nonce;     /* equal nonces: 1 in 2^64; nobody keeps */
	bool keep = dialed ? p->nonce < theirs : theirs < p->nonce;
	if (!valid || !offer_link(p, fd, in, other, dialed, keep)) {
		close(fd);
		framer_free(in);
	}
}

/* Makes fd the link if keep says so and there is none yet; takes in with
 * it. Returns whether it did. A dialed connection that is not kept tells
 * the dialer to stop: none of its calls will ever be kept. */
static bool
offer_link(struct peer *p, int fd, struct framer *in, const char *other,
    bool dialed, bool keep)
{
	bool taken = false;

	sync_lock(&p->lock);
	if (dialed && !keep)
		p->dial_done = true;
	if (keep && p->link_fd < 0 && !p->stopping) {
		p->link_fd = fd;
		p->link_in = in;
		snprintf(p->other, sizeof(p->other), "%s", other);
		taken = true;
	}
	sync_check(pthread_cond_broadcast(&p->changed), "cond_broadcast");
	sync_unlock(&p->lock);
	if (taken)
		shutdown(p->listen_fd, SHUT_RDWR);  /* no more calls */
	return taken;
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
	char local[80], remote[80], *line;
	int n;

	if (!wait_for_link(p))
		return NULL;
	net_local_name(p->link_fd, local, sizeof(local));
	net_peer_name(p->link_fd, remote, sizeof(remote));
	term_say("* connected to %s (local %s, remote %s)", p->other, local,
	    remote);
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

/* ---- The terminal, and stopping ---------------------------------------- */

/* One typed line: /quit and !exit leave; anything else is queued for the
 * link, waiting for room while the link is slow. Before the link is up a
 * full queue refuses the line instead, so nothing blocks for ever. */
static bool
typed_line(void *ctx, char *line, size_t len)
{
	struct peer *p = ctx;

	(void)len;
	if (strcmp(line, "/quit") == 0 || strcmp(line, "!exit") == 0)
		return false;
	struct msg *m = msg_printf("%s", line);
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
	return st != QUEUE_CLOSED;
}

/* Stops everything: no more connecting, the writer sends what is queued
 * and half-closes, and the network thread ends when the other side closes
 * (at once if it left first; else within QUIT_GRACE_MS, after which the
 * link is shut down). Joins the network thread. */
static void
stop(struct peer *p, pthread_t network)
{
	sync_lock(&p->lock);
	p->stopping = true;
	bool left = p->left;
	sync_check(pthread_cond_broadcast(&p->changed), "cond_broadcast");
	sync_unlock(&p->lock);
	shutdown(p->listen_fd, SHUT_RDWR);     /* wakes the acceptor */
	queue_close(p->out);
	if (!left)
		term_say("* bye");

	if (!sync_join_within(network, QUIT_GRACE_MS)) {
		shutdown(p->link_fd, SHUT_RDWR);
		sync_join(network);
	}
}

