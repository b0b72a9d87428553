/*
 * client.c - hubchat's interactive client, the `go run client.go` of this
 * project.
 *
 *   ./client [-H host] [-p port] [-u name] [--heartbeat SEC] [--timeout SEC]
 *
 * It logs in (login.h: asking "Enter your nickname:" before connecting when
 * no name is given), and then runs two threads:
 *   terminal (main thread)  reads typed lines, turns them into commands and
 *                           sends them; sends a PING when the person has
 *                           been quiet for a heartbeat, so the server's idle
 *                           timeout does not cut them off.
 *   network                 reads the server's lines and shows them
 *                           (show.h) with a local timestamp, made safe for
 *                           the terminal.
 * Only the terminal thread writes to the socket, so sends need no lock.
 *
 * On a terminal the typing happens in the line editor (lineedit.h): the
 * prompt shows who you are, a line arriving while you type is printed
 * above your half-typed line instead of through it, and your own lines are
 * shown as everyone else's are. On a pipe or a file, lines are read plainly
 * and your own lines are not shown again, so a script's output is what the
 * others said.
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
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "die.h"
#include "lineedit.h"
#include "login.h"
#include "net.h"
#include "proto.h"
#include "show.h"
#include "sync.h"
#include "term.h"
#include "version.h"

#define QUIT_GRACE_MS 2000   /* how long to wait for the server's close */
/* The longest typed line that can still become a line the server takes:
 * "/dm u TEXT" becomes "DM u TEXT", one byte shorter. Each command checks
 * its own limit (typed_dm, typed_msg). */
#define TYPED_MAX     (PROTO_MAX_LINE + 1)
/* Without the editor, lines are read up to this, so that a line a little
 * too long is refused with its length. */
#define TYPED_READ_MAX (4 * PROTO_MAX_LINE)
#define MSG_MAX       (PROTO_MAX_LINE - 4)   /* after "MSG " */

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
	int net_status;          /* exit status the network thread found;
	                            read by main only after joining it */
};

static void parse_args(struct client *cl, int argc, char **argv);
static void log_in(struct client *cl);
static void start_editor(struct client *cl);
static void stop_editor(struct client *cl);
static void *network_main(void *arg);
static void terminal_loop(struct client *cl);
static bool handle_typed(void *ctx, char *line, size_t len);
static void send_line(struct client *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

int
main(int argc, char **argv)
{
	struct client cl = { .heartbeat = 20, .timeout = 10, .fd = -1 };
	pthread_t network;
	int pipefd[2];

	parse_args(&cl, argc, argv);
	if ((cl.tty_in = framer_new(TYPED_READ_MAX)) == NULL)
		die("out of memory");
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		die("pipe:");
	cl.wake_rd = pipefd[0];
	cl.wake_wr = pipefd[1];

	log_in(&cl);
	term_block_winch();             /* before the network thread */
	if (lined_wanted())
		start_editor(&cl);
	term_say("* logged in as %s; /help for commands", cl.user);
	int rc = pthread_create(&network, NULL, network_main, &cl);
	if (rc != 0) {
		lined_restore();
		die("cannot start the network thread: %s", strerror(rc));
	}
	terminal_loop(&cl);
	sync_join(network);
	stop_editor(&cl);

	close(cl.fd);
	framer_free(cl.net_in);
	framer_free(cl.tty_in);
	return cl.net_status;
}

/* ---- Flags ------------------------------------------------------------- */

enum { OPT_HEARTBEAT = 1000, OPT_TIMEOUT };

static const struct option options[] = {
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
usage(void)
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

static const char help[] =
"Typed lines go to everyone. Commands:\n"
"  /dm USER TEXT   a private message to USER\n"
"  /who            who is online\n"
"  /quit or !exit  leave (so do Ctrl-D and, while typing, Ctrl-C)\n"
"  /help           this list\n"
"  //TEXT          sends /TEXT: a line that starts with a slash\n";

/* A whole decimal number in [min, max] from flag's value s; exits 2 if
 * it is not one. */
static int
number(const char *flag, const char *s, long min, long max)
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
parse_args(struct client *cl, int argc, char **argv)
{
	const char *env = getenv("CHAT_PORT");
	int c;

	cl->host = "127.0.0.1";
	cl->port = env != NULL ? env : "4000";
	opterr = 0;
	/* _only: "-username NAME", as the Go seed spelt it, still works. */
	while ((c = getopt_long_only(argc, argv, ":H:p:u:hV", options,
	    NULL)) != -1) {
		switch (c) {
		case 'H': cl->host = optarg; break;
		case 'p': cl->port = optarg; break;
		case 'u': cl->name = optarg; break;
		case OPT_HEARTBEAT:
			cl->heartbeat = number("--heartbeat", optarg, 0, 86400);
			break;
		case OPT_TIMEOUT:
			cl->timeout = number("--timeout", optarg, 0, 86400);
			break;
		case 'h': usage(); exit(0);
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
	number(cl->port == env ? "CHAT_PORT" : "-p", cl->port, 1, 65535);
	if (*cl->host == '\0')
		die_with(2, "an empty -H value (try --help)");
}

/* ---- Logging in, and the editor ---------------------------------------- */

/* Logs in (login.h), taking the connection and its framer. */
static void
log_in(struct client *cl)
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

/* The prompt: who you are. Rooms, when they come, go here too ("alice
 * #games> "). */
static void
prompt_for(const struct client *cl, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s> ", cl->user);
}

/* Hands the terminal to the line editor, and term_say's lines to it. A
 * terminal that cannot go raw keeps plain input, with a word why. */
static void
start_editor(struct client *cl)
{
	char prompt[64];

	cl->ed = lined_start(TYPED_MAX);
	if (cl->ed == NULL) {
		term_say("! no line editor (%s): typing plainly",
		    strerror(errno));
		return;
	}
	lined_set_echo(cl->ed, false);  /* typed lines are shown as sent */
	prompt_for(cl, prompt, sizeof(prompt));
	lined_set_prompt(cl->ed, prompt);
	term_set_printer(term_editor_print, cl->ed);
}

/* Gives the terminal back. Call once nothing else prints. */
static void
stop_editor(struct client *cl)
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
network_main(void *arg)
{
	struct client *cl = arg;
	char *line;
	int n;

	while ((n = term_read_line(cl->fd, cl->net_in, PROTO_MAX_REPLY, &line,
	    -1)) >= 0)
		show_line(line, (size_t)n);
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

/* ---- The terminal thread ----------------------------------------------- */

static void
send_heartbeat(void *ctx)
{
	send_line(ctx, "PING");
}

/* Reads typed lines until the person quits (or stdin ends) or the network
 * thread says the connection is over; then makes sure the network thread
 * will end. Sends a PING after each quiet heartbeat. */
static void
terminal_loop(struct client *cl)
{
	struct term_input in = {
		.f = cl->tty_in,
		.ed = cl->ed,
		.too_long = "! not sent: over 4096 bytes; a message may hold "
		    "1020",
		.wake = { cl->wake_rd, -1 },
		.idle_ms = cl->heartbeat > 0 ? cl->heartbeat * 1000 : -1,
		.on_line = handle_typed,
		.on_idle = send_heartbeat,
		.ctx = cl,
	};

	if (term_read_typed(&in) == TERM_WOKEN)
		return;                 /* the server closed first */

	/* Quitting: ask the server to close, and wait for it a while. */
	struct pollfd pf = { .fd = cl->wake_rd, .events = POLLIN };
	send_line(cl, "QUIT");
	if (poll(&pf, 1, QUIT_GRACE_MS) == 0)
		shutdown(cl->fd, SHUT_RDWR);
}

/* A message to everyone, if it fits. */
static void
typed_msg(struct client *cl, const char *text, size_t len)
{
	if (len > MSG_MAX) {
		term_say("! not sent: a message may hold %d bytes; this one "
		    "has %zu%s", MSG_MAX, len, cl->ed ? " (Up brings it back)" :
		    "");
		return;
	}
	send_line(cl, "MSG %s", text);
	if (cl->ed != NULL)
		term_say("%s: %s", cl->user, text);
}

/* "/dm USER TEXT", args pointing after "/dm": a private message, if the
 * line has both parts and "DM USER TEXT" fits in a line. */
static void
typed_dm(struct client *cl, const char *args)
{
	size_t ulen = strcspn(args, " ");
	const char *text = args[ulen] == ' ' ? args + ulen + 1 : args + ulen;
	size_t used = strlen("DM  ") + ulen;
	size_t room = used < PROTO_MAX_LINE ? PROTO_MAX_LINE - used : 0;

	if (ulen == 0 || *text == '\0') {
		term_say("! usage: /dm USER TEXT");
		return;
	}
	if (strlen(text) > room) {
		term_say("! not sent: a private message to %.*s may hold %zu "
		    "bytes; this one has %zu%s", (int)ulen, args, room,
		    strlen(text), cl->ed ? " (Up brings it back)" : "");
		return;
	}
	send_line(cl, "DM %.*s %s", (int)ulen, args, text);
	if (cl->ed != NULL)
		term_say("[dm → %.*s] %s", (int)ulen, args, text);
}

/* /help, a line at a time, so the editor keeps its row below. */
static void
print_help(void)
{
	for (const char *l = help; *l != '\0'; l += strcspn(l, "\n") + 1)
		term_put("%.*s", (int)strcspn(l, "\n"), l);
}

/* Turns one typed line (valid text, not empty) into a command; false when
 * the person quits. A line that starts with a slash is a command, unless
 * it starts with two: then the first is dropped and the rest is sent. */
static bool
handle_typed(void *ctx, char *line, size_t len)
{
	struct client *cl = ctx;

	if (strcmp(line, "/quit") == 0 || strcmp(line, "!exit") == 0)
		return false;
	if (line[0] != '/')
		typed_msg(cl, line, len);
	else if (line[1] == '/')
		typed_msg(cl, line + 1, len - 1);
	else if (strcmp(line, "/who") == 0)
		send_line(cl, "WHO");
	else if (strcmp(line, "/help") == 0)
		print_help();
	else if (strcmp(line, "/dm") == 0 || strncmp(line, "/dm ", 4) == 0)
		typed_dm(cl, line + 3 + (line[3] == ' '));
	else
		term_say("! unknown command %.40s; /help lists them (// sends "
		    "a line that starts with /)", line);
	return true;
}

/* ---- Helpers ----------------------------------------------------------- */

/* Sends one protocol line. A failure is left for the network thread to
 * notice: the connection is gone, and it will say so. */
static void
send_line(struct client *cl, const char *fmt, ...)
{
	char buf[2 * PROTO_MAX_LINE];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	assert(n >= 0 && n < (int)sizeof(buf) - 1);  /* callers check sizes */
	buf[n++] = '\n';
	net_write_all(cl->fd, buf, (size_t)n);
}
