/*
 * client.c - hubchat's interactive client, the `go run client.go` of this
 * project.
 *
 *   ./client [-H host] [-p port] [-u name] [--heartbeat SEC]
 *
 * It connects, logs in (asking "Enter your nickname:" when no name is
 * given), and then runs two threads:
 *   terminal (main thread)  reads typed lines, turns them into commands and
 *                           sends them; sends a PING when the person has
 *                           been quiet for a heartbeat, so the server's idle
 *                           timeout does not cut them off.
 *   network                 reads the server's lines and prints them with a
 *                           local timestamp, made safe for the terminal.
 * Only the terminal thread writes to the socket, so sends need no lock.
 *
 * How they stop each other: when the person quits (/quit, !exit, or the end
 * of stdin) the terminal thread sends QUIT and waits for the network thread,
 * which ends when the server closes the connection (after "INFO bye"); if
 * the server does not close in time, the terminal thread shuts the socket
 * down, which ends the network thread's read. When the server closes first,
 * the network thread writes to a wake-up pipe that the terminal thread
 * polls beside stdin, and the terminal thread stops reading.
 *
 * Exit status: 0 after a quit or when the server closes the connection;
 * 1 when it cannot connect or log in, or the connection fails; 2 for a bad
 * flag.
 */
#include <errno.h>
#include <fcntl.h>
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
#include "net.h"
#include "proto.h"
#include "sync.h"
#include "term.h"

#define QUIT_GRACE_MS 2000   /* how long to wait for the server's close */
#define CONNECT_MS    10000  /* give up connecting after this long */

struct client {
	const char *host;
	const char *port;
	const char *name;        /* from -u, or NULL to ask */
	int heartbeat;           /* seconds of quiet before a PING */
	int fd;
	struct framer *net_in;   /* network thread's (login's before it) */
	struct framer *tty_in;   /* terminal thread's */
	int wake_rd, wake_wr;    /* network thread -> terminal: it is over */
	int net_status;          /* exit status the network thread found;
	                            read by main only after joining it */
};

static void parse_args(struct client *cl, int argc, char **argv);
static void connect_and_login(struct client *cl);
static void *network_main(void *arg);
static void terminal_loop(struct client *cl);
static bool handle_typed(void *ctx, char *line, size_t len);
static void show_line(const char *line, size_t len);
static void send_line(struct client *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

int
main(int argc, char **argv)
{
	struct client cl = { .heartbeat = 20, .fd = -1 };
	pthread_t network;
	int pipefd[2];

	parse_args(&cl, argc, argv);
	cl.net_in = framer_new(PROTO_MAX_REPLY);
	cl.tty_in = framer_new(PROTO_MAX_LINE);
	if (cl.net_in == NULL || cl.tty_in == NULL)
		die("out of memory");
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		die("pipe:");
	cl.wake_rd = pipefd[0];
	cl.wake_wr = pipefd[1];

	connect_and_login(&cl);
	int rc = pthread_create(&network, NULL, network_main, &cl);
	if (rc != 0)
		die("cannot start the network thread: %s", strerror(rc));
	terminal_loop(&cl);
	sync_join(network);

	close(cl.fd);
	framer_free(cl.net_in);
	framer_free(cl.tty_in);
	return cl.net_status;
}

/* ---- Flags ------------------------------------------------------------- */

static const char usage[] =
"usage: client [-H host] [-p port] [-u name] [--heartbeat SEC]\n"
"  -H, --host HOST       server host (default 127.0.0.1)\n"
"  -p, --port PORT       server port (default 4000, or $CHAT_PORT)\n"
"  -u, -username NAME    log in as NAME (default: ask)\n"
"      --heartbeat SEC   PING after SEC quiet seconds (default 20)\n";

static const char help[] =
"Typed lines go to everyone. Commands:\n"
"  /dm USER TEXT   a private message to USER\n"
"  /who            who is online\n"
"  /quit or !exit  leave (so does Ctrl-D)\n"
"  /help           this list\n";

static void
parse_args(struct client *cl, int argc, char **argv)
{
	cl->host = "127.0.0.1";
	cl->port = getenv("CHAT_PORT") ? getenv("CHAT_PORT") : "4000";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage, stdout);
			exit(0);
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "client: unknown option or missing value: "
			    "%s (try --help)\n", a);
			exit(2);
		}
		const char *v = argv[++i];
		if (strcmp(a, "-H") == 0 || strcmp(a, "--host") == 0)
			cl->host = v;
		else if (strcmp(a, "-p") == 0 || strcmp(a, "--port") == 0)
			cl->port = v;
		else if (strcmp(a, "-u") == 0 || strcmp(a, "-username") == 0 ||
		    strcmp(a, "--username") == 0)
			cl->name = v;
		else if (strcmp(a, "--heartbeat") == 0 && atoi(v) > 0)
			cl->heartbeat = atoi(v);
		else {
			fprintf(stderr, "client: bad option: %s %s (try --help)\n",
			    a, v);
			exit(2);
		}
	}
}

/* ---- Connecting and logging in ----------------------------------------- */

/* Asks for a nickname on the terminal; exits 1 at the end of stdin. */
static char *
ask_name(struct client *cl)
{
	char *line;

	for (;;) {
		/* A script's stdin gets the prompt on a line of its own. */
		fputs(isatty(STDIN_FILENO) ? "Enter your nickname: " :
		    "Enter your nickname:\n", stdout);
		fflush(stdout);
		int n = term_read_line(STDIN_FILENO, cl->tty_in, PROTO_MAX_LINE, &line,
		    -1);
		if (n < 0) {
			putchar('\n');
			die("no nickname given");
		}
		if (n > 0)
			return line;
	}
}

/*
 * Connects, shows the welcome, and logs in: with -u once (a refusal is
 * fatal, so a script never sends its lines under another name), else asking
 * again until the server says OK. Exits 1 on failure.
 */
static void
connect_and_login(struct client *cl)
{
	char err[256], *line;

	cl->fd = net_connect(cl->host, cl->port, CONNECT_MS, err, sizeof(err));
	if (cl->fd < 0)
		die("%s", err);
	if (term_read_line(cl->fd, cl->net_in, PROTO_MAX_REPLY, &line, -1) < 0)
		die("the server closed the connection");
	show_line(line, strlen(line));

	for (;;) {
		const char *name = cl->name ? cl->name : ask_name(cl);
		send_line(cl, "LOGIN %s", name);
		if (term_read_line(cl->fd, cl->net_in, PROTO_MAX_REPLY, &line, -1) < 0)
			die("the server closed the connection");
		if (strcmp(line, "OK") == 0) {
			term_say("* logged in as %s; /help for commands", name);
			return;
		}
		show_line(line, strlen(line));
		if (cl->name != NULL)
			exit(1);
	}
}

/* ---- The network thread ------------------------------------------------ */

/* Prints the server's lines until it closes the connection, then wakes the
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

/* Prints one server line as a person wants to read it. */
static void
show_line(const char *line, size_t len)
{
	char safe[PROTO_MAX_LINE + 1], name[PROTO_MAX_NAME + 1];
	int skip = 0;

	proto_sanitize(line, len, safe, sizeof(safe));
	if (strcmp(safe, "PONG") == 0 || strncmp(safe, "PONG ", 5) == 0)
		return;                         /* heartbeat replies */
	if (sscanf(safe, "MSG %32s %n", name, &skip) == 1 && skip > 0)
		term_say("%s: %s", name, safe + skip);
	else if (sscanf(safe, "DM %32s %n", name, &skip) == 1 && skip > 0)
		term_say("[dm] %s: %s", name, safe + skip);
	else if (strncmp(safe, "INFO ", 5) == 0)
		term_say("* %s", safe + 5);
	else if (strncmp(safe, "USERS", 5) == 0)
		term_say("* online:%s", safe + 5);
	else if (strncmp(safe, "ERR ", 4) == 0)
		term_say("! error: %s", safe + 4);
	else
		term_say("%s", safe);
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
		.too_long = "! not sent: a line may hold 1024 bytes",
		.wake = { cl->wake_rd, -1 },
		.idle_ms = cl->heartbeat * 1000,
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

/* Turns one typed line (valid text, not empty) into a command; false when
 * the person quits. */
static bool
handle_typed(void *ctx, char *line, size_t len)
{
	struct client *cl = ctx;
	char user[PROTO_MAX_LINE + 1];
	int skip = 0;

	(void)len;
	if (strcmp(line, "/quit") == 0 || strcmp(line, "!exit") == 0)
		return false;
	if (strcmp(line, "/who") == 0)
		send_line(cl, "WHO");
	else if (strcmp(line, "/help") == 0)
		fputs(help, stdout);
	else if (sscanf(line, "/dm %1024s %n", user, &skip) == 1 && skip > 0 &&
	    line[skip] != '\0')
		send_line(cl, "DM %s %s", user, line + skip);
	else if (line[0] == '/')
		term_say("! unknown command; /help lists them");
	else
		send_line(cl, "MSG %s", line);
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
	if (n < 0 || n >= (int)sizeof(buf) - 1)
		return;
	buf[n++] = '\n';
	net_write_all(cl->fd, buf, (size_t)n);
}
