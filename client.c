/*
 * client.c - hubchat's interactive client, the `go run client.go` of this
 * project.
 *
 *   ./client [-H host] [-p port] [-u name] [--heartbeat SEC] [--timeout SEC]
 *
 * It logs in (login.h: asking "Enter your nickname:" before connecting when
 * no name is given), and then runs two threads:
 *   terminal (main thread)  reads typed lines, turns them into commands and
 *                           sends them (typed.h); sends a PING when the
 *                           person has been quiet for a heartbeat, so the
 *                           server's idle timeout does not cut them off.
 *   network                 reads the server's lines and shows them
 *                           (show.h) with a local timestamp, made safe for
 *                           the terminal; keeps the room and the prompt.
 * Only the terminal thread writes to the socket, so sends need no lock.
 *
 * Rooms: the client is in one room at a time, #lobby after logging in.
 * /join, /who, /rooms and /history are questions whose answers must be
 * told apart from other lines (a JOIN's OK from a HISTORY's, an error for
 * a JOIN from one for a message sent before it): pending.h fences each
 * question and pairs it with its answer. The room changes only when the
 * OK of a JOIN comes, so a JOIN that fails leaves it as it was. The OK
 * does not name the room, so the client shows it as the person typed it
 * (#rust), which may differ in case from the server's spelling (#Rust,
 * from whoever made it; /rooms shows that one).
 *
 * On a terminal the typing happens in the line editor (lineedit.h): the
 * prompt shows who you are and your room, a line arriving while you type
 * is printed above your half-typed line instead of through it, and your
 * own lines are shown as everyone else's are; history is dimmed. On a pipe
 * or a file, lines are read plainly and your own lines are not shown
 * again, so a script's output is what the others said, in plain text.
 *
 * How they stop each other: when the person quits (/quit, !exit, Ctrl-C in
 * the editor, or the end of stdin) the terminal thread sends QUIT and waits
 * for the network thread, which ends when the server closes the connection
 * (after "INFO bye"); if the server does not close in time, the terminal
 * thread shuts the socket down, which ends the network thread's read. When
 * the server closes first, the network thread writes to a wake-up pipe
 * that the terminal thread polls beside stdin, and the terminal thread
 * stops reading. The editor is stopped, and the terminal restored, only
 * after the network thread is joined: nothing prints through it after.
 *
 * Exit status: 0 after a quit, when the server closes the connection, or
 * when stdin ends before the server answered with nothing typed; 1 when it
 * cannot connect or log in, the server says nothing in time, or the
 * connection fails; 2 for a bad option.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "die.h"
#include "lineedit.h"
#include "login.h"
#include "pending.h"
#include "proto.h"
#include "show.h"
#include "sync.h"
#include "term.h"
#include "typed.h"
#include "version.h"

#define QUIT_GRACE_MS 2000   /* how long to wait for the server's close */
/* Without the editor, lines are read up to this, so that a line a little
 * too long is refused with its length. */
#define TYPED_READ_MAX (4 * PROTO_MAX_LINE)
/* "alice #rust> ": a name, a room with its '#', a space and "> ". */
#define PROMPT_MAX    (PROTO_MAX_NAME + PROTO_MAX_ROOM + 5)

struct client {
	const char *host;
	const char *port;
	const char *name;        /* from -u, or NULL to ask */
	int heartbeat;           /* seconds of quiet before a PING; 0 = none */
	int timeout;             /* seconds for connecting and logging in */
	char user[PROTO_MAX_NAME + 1];  /* logged in as */
	int fd;
	struct framer *net_in;   /* network thread's (login's before it) */
	struct framer *tty_in;   /* terminal thread's, without the editor */
	struct lined *ed;        /* the line editor, or NULL */
	int wake_rd, wake_wr;    /* network thread -> terminal: it is over */
	struct pending *pending; /* questions asked (terminal thread) that
	                            await answers (network thread) */
	struct typed typed;      /* the terminal thread's, once logged in */
	char room[PROTO_MAX_ROOM + 2];  /* the room we are in, as typed: main's
	                                   until the network thread starts,
	                                   then that thread's alone */
	int net_status;          /* exit status the network thread found;
	                            read by main only after joining it */
};

/* The static functions, in the order they are defined. */
static void client_usage(void);
static int client_number(const char *flag, const char *s, long min,
    long max);
static void client_parse_args(struct client *cl, int argc, char **argv);
static void client_log_in(struct client *cl);
static void client_prompt_for(const struct client *cl, char *out,
    size_t outsz);
static void client_start_editor(struct client *cl);
static void client_stop_editor(struct client *cl);
static void *client_network_main(void *arg);
static void client_moved(struct client *cl, const char *room);
static void client_answered(struct client *cl,
    const struct pending_question *q, const char *line, size_t len);
static void client_network_line(struct client *cl, const char *line,
    size_t len);
static bool client_on_typed(void *ctx, char *line, size_t len);
static void client_send_heartbeat(void *ctx);
static void client_terminal_loop(struct client *cl);

int
main(int argc, char **argv)
{
	struct client cl = { .heartbeat = 20, .timeout = 10, .fd = -1,
		.room = "#lobby" };      /* where LOGIN puts everyone */
	pthread_t network;
	int pipefd[2];

	client_parse_args(&cl, argc, argv);
	if ((cl.tty_in = framer_new(TYPED_READ_MAX)) == NULL ||
	    (cl.pending = pending_new()) == NULL)
		die("out of memory");
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		die("pipe:");
	cl.wake_rd = pipefd[0];
	cl.wake_wr = pipefd[1];

	client_log_in(&cl);
	term_block_winch();             /* before the network thread */
	if (lined_wanted())
		client_start_editor(&cl);
	show_set_dim(cl.ed != NULL);    /* the editor means a terminal */
	cl.typed = (struct typed){ .fd = cl.fd, .user = cl.user,
		.editor = cl.ed != NULL, .pending = cl.pending };
	term_say("* logged in as %s, in %s; /help for commands", cl.user,
	    cl.room);
	int rc = pthread_create(&network, NULL, client_network_main, &cl);
	if (rc != 0) {
		lined_restore();
		die("cannot start the network thread: %s", strerror(rc));
	}
	client_terminal_loop(&cl);
	sync_join(network);
	client_stop_editor(&cl);

	close(cl.fd);
	framer_free(cl.net_in);
	framer_free(cl.tty_in);
	pending_free(cl.pending);
	return cl.net_status;
}

/* ---- Flags ------------------------------------------------------------- */

enum { OPT_HEARTBEAT = 1000, OPT_TIMEOUT };

static const struct option client_options[] = {
	{ "host", required_argument, NULL, 'H' },
	{ "port", required_argument, NULL, 'p' },
	{ "username", required_argument, NULL, 'u' },
	{ "heartbeat", required_argument, NULL, OPT_HEARTBEAT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void
client_usage(void)
{
	printf("usage: %s [-H HOST] [-p PORT] [-u NAME] [--heartbeat SEC] "
	    "[--timeout SEC]\n", program_invocation_short_name);
	fputs(
"  -H, --host HOST       server host (default 127.0.0.1)\n"
"  -p, --port PORT       server port (default 4000, or $CHAT_PORT)\n"
"  -u, --username NAME   log in as NAME (default: ask); -username works too\n"
"      --heartbeat SEC   PING after SEC quiet seconds (default 20;\n"
"                        0 = never)\n"
"      --timeout SEC     give up when connecting, the welcome or the\n"
"                        answer to the login takes longer (default 10;\n"
"                        0 = wait for ever)\n"
"  -h, --help            show this help\n"
"  -V, --version         show the version\n"
"Exit status: 0 after /quit, !exit, Ctrl-D, Ctrl-C, the end of input\n"
"(even before the server answered, when nothing was typed) or when the\n"
"server closes; 1 when it cannot connect or log in; 2 for a bad option.\n",
	    stdout);
}

/* A whole decimal number in [min, max] from flag's value s; exits 2 if
 * it is not one. */
static int
client_number(const char *flag, const char *s, long min, long max)
{
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		die_with(2, "bad %s value '%s': want a number from %ld to %ld "
		    "(try --help)", flag, s, min, max);
	return (int)v;
}

static void
client_parse_args(struct client *cl, int argc, char **argv)
{
	const char *env = getenv("CHAT_PORT");
	int c;

	cl->host = "127.0.0.1";
	cl->port = env != NULL ? env : "4000";
	opterr = 0;
	/* _only: "-username NAME", as the Go seed spelt it, still works. */
	while ((c = getopt_long_only(argc, argv, ":H:p:u:hV", client_options,
	    NULL)) != -1) {
		switch (c) {
		case 'H': cl->host = optarg; break;
		case 'p': cl->port = optarg; break;
		case 'u': cl->name = optarg; break;
		case OPT_HEARTBEAT:
			cl->heartbeat = client_number("--heartbeat", optarg, 0, 86400);
			break;
		case OPT_TIMEOUT:
			cl->timeout = client_number("--timeout", optarg, 0, 86400);
			break;
		case 'h': client_usage(); exit(0);
		case 'V':
			printf("hubchat client %s\n", HUBCHAT_VERSION);
			exit(0);
		case ':': die_with(2, "missing value for %s (try --help)",
		    argv[optind - 1]);
		default: die_with(2, "unknown option: %s (try --help)",
		    argv[optind - 1]);
		}
	}
	if (optind < argc)
		die_with(2, "unexpected argument: %s (try --help)",
		    argv[optind]);
	client_number(cl->port == env ? "CHAT_PORT" : "-p", cl->port, 1, 65535);
	if (*cl->host == '\0')
		die_with(2, "an empty -H value (try --help)");
}

/* ---- Logging in, and the editor ---------------------------------------- */

/* Logs in (login.h), taking the connection and its framer. */
static void
client_log_in(struct client *cl)
{
	struct login l = {
		.host = cl->host, .port = cl->port, .name = cl->name,
		.timeout_ms = cl->timeout * 1000, .typed = cl->tty_in,
	};

	login_run(&l);
	cl->fd = l.fd;
	cl->net_in = l.net;
	snprintf(cl->user, sizeof(cl->user), "%s", l.user);
}

/* The prompt: who you are and where ("alice #games> "). Call on the
 * thread that owns cl->room. */
static void
client_prompt_for(const struct client *cl, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s %s> ", cl->user, cl->room);
}

/* Hands the terminal to the line editor, and term_say's lines to it. A
 * terminal that cannot go raw keeps plain input, with a word why. */
static void
client_start_editor(struct client *cl)
{
	char prompt[PROMPT_MAX];

	cl->ed = lined_start(TYPED_MAX);
	if (cl->ed == NULL) {
		term_say("! no line editor (%s): typing plainly",
		    strerror(errno));
		return;
	}
	lined_set_echo(cl->ed, false);  /* typed lines are shown as sent */
	client_prompt_for(cl, prompt, sizeof(prompt));
	lined_set_prompt(cl->ed, prompt);
	term_set_printer(term_editor_print, cl->ed);
}

/* Gives the terminal back. Call once nothing else prints. */
static void
client_stop_editor(struct client *cl)
{
	if (cl->ed == NULL)
		return;
	term_set_printer(NULL, NULL);
	lined_stop(cl->ed);
	cl->ed = NULL;
}

/* ---- The network thread ------------------------------------------------ */

/* Shows the server's lines until it closes the connection, then wakes the
 * terminal thread. */
static void *
client_network_main(void *arg)
{
	struct client *cl = arg;
	char *line;
	int n;

	while ((n = term_read_line(cl->fd, cl->net_in, PROTO_MAX_REPLY, &line,
	    -1)) >= 0)
		client_network_line(cl, line, (size_t)n);
	if (errno != 0) {
		term_say("! connection lost: %s", strerror(errno));
		cl->net_status = 1;
	} else {
		term_say("* disconnected");
	}
	if (write(cl->wake_wr, "x", 1) < 0)
		term_say("! wake-up pipe: %s", strerror(errno));
	return NULL;
}

/* The OK of a JOIN: we are in room now. */
static void
client_moved(struct client *cl, const char *room)
{
	char prompt[PROMPT_MAX];

	snprintf(cl->room, sizeof(cl->room), "%s", room);
	term_say("* you are in %s now", room);
	if (cl->ed != NULL) {
		client_prompt_for(cl, prompt, sizeof(prompt));
		lined_set_prompt(cl->ed, prompt);
	}
}

/* What the answer line to question q means: an error (and nothing was
 * done), or what q asked for. */
static void
client_answered(struct client *cl, const struct pending_question *q,
    const char *line, size_t len)
{
	if (q->refused)
		show_line(line, len);   /* a JOIN's: the room stays */
	else if (q->kind == PENDING_JOIN)
		client_moved(cl, q->room);
	else if (q->kind == PENDING_HISTORY && q->hist == 0)
		term_say("* no messages kept in %s", cl->room);
	else if (q->kind == PENDING_WHO)
		show_who(line, len, q->room[0] != '\0' ? q->room : cl->room);
	else if (q->kind == PENDING_ROOMS)
		show_line(line, len);
}

/* One line from the server: a fence of ours, the answer to a question,
 * or something to show. */
static void
client_network_line(struct client *cl, const char *line, size_t len)
{
	struct pending_question q;

	switch (pending_match(cl->pending, line, &q)) {
	case PENDING_OTHER:
		show_line(line, len);
		break;
	case PENDING_FENCE:
		break;
	case PENDING_ANSWER:
		client_answered(cl, &q, line, len);
		break;
	}
}

/* ---- The terminal thread ----------------------------------------------- */

static bool
client_on_typed(void *ctx, char *line, size_t len)
{
	return typed_line(ctx, line, len);
}

static void
client_send_heartbeat(void *ctx)
{
	typed_send(ctx, "PING");
}

/* Reads typed lines until the person quits (or stdin ends) or the network
 * thread says the connection is over; then makes sure the network thread
 * will end. Sends a PING after each quiet heartbeat. */
static void
client_terminal_loop(struct client *cl)
{
	struct term_input in = {
		.f = cl->tty_in,
		.ed = cl->ed,
		.too_long = "! not sent: over 4096 bytes; a message may hold "
		    "1020",
		.wake = { cl->wake_rd, -1 },
		.idle_ms = cl->heartbeat > 0 ? cl->heartbeat * 1000 : -1,
		.on_line = client_on_typed,
		.on_idle = client_send_heartbeat,
		.ctx = &cl->typed,
	};

	if (term_read_typed(&in) == TERM_WOKEN)
		return;                 /* the server closed first */

	/* Quitting: ask the server to close, and wait for it a while. */
	struct pollfd pf = { .fd = cl->wake_rd, .events = POLLIN };
	typed_send(&cl->typed, "QUIT");
	if (poll(&pf, 1, QUIT_GRACE_MS) == 0)
		shutdown(cl->fd, SHUT_RDWR);
}
