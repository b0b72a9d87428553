/*
 * pty.c - a program on a pseudo-terminal, and a model of its screen; see
 * pty.h.
 *
 * The screen is replayed from the first byte at every check rather than
 * kept up to date: the output of a test is a few kilobytes, and a replay
 * needs no state for a sequence cut in two by a read. A cut sequence at the
 * end simply waits for the next check.
 */
#include "pty.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "utf8.h"

/* ---- The screen model -------------------------------------------------- */

static void
screen_blank(struct screen *s, int row, int from)
{
	for (int c = from; c < PTY_COLS; c++) {
		s->cell[row][c][0] = '\0';
		s->dim[row][c] = false;
	}
}

static void
screen_down(struct screen *s)
{
	if (s->row + 1 < PTY_ROWS) {
		s->row++;
		return;
	}
	memmove(s->cell[0], s->cell[1], sizeof(s->cell[0]) * (PTY_ROWS - 1));
	memmove(s->dim[0], s->dim[1], sizeof(s->dim[0]) * (PTY_ROWS - 1));
	screen_blank(s, PTY_ROWS - 1, 0);
}

static void
screen_put(struct screen *s, const char *ch, size_t n)
{
	if (s->col == PTY_COLS) {
		s->wraps++;
		s->col = 0;
		screen_down(s);
	}
	memcpy(s->cell[s->row][s->col], ch, n);
	s->cell[s->row][s->col][n] = '\0';
	s->dim[s->row][s->col] = s->dimming;
	s->col++;
}

/* Applies the sequence after an ESC at p[0..n); returns the bytes it
 * took, or 0 when it is cut off at the end. */
static size_t
screen_csi(struct screen *s, const char *p, size_t n)
{
	size_t i = 1;
	int num = -1;

	if (n == 0)
		return 0;
	if (p[0] != '[') {
		s->unknown = true;
		return 1;
	}
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		num = (num < 0 ? 0 : num * 10) + (p[i] - '0');
	if (i == n)
		return 0;
	int move = num < 0 ? 1 : num, col = s->col < PTY_COLS ? s->col :
	    PTY_COLS - 1;
	if (p[i] == 'K' && num <= 0)
		screen_blank(s, s->row, col);
	else if (p[i] == 'C')
		s->col = col + move >= PTY_COLS ? PTY_COLS - 1 : col + move;
	else if (p[i] == 'D')
		s->col = col - move < 0 ? 0 : col - move;
	else if (p[i] == 'm' && (num == 2 || num <= 0))
		s->dimming = num == 2;
	else
		s->unknown = true;
	return i + 1;
}

/* Applies the byte or sequence at p[0..n); returns the bytes it took, or
 * 0 when it is cut off at the end. */
static size_t
screen_apply(struct screen *s, const char *p, size_t n)
{
	unsigned char b = (unsigned char)p[0];
	size_t len;

	switch (b) {
	case '\033':
		len = screen_csi(s, p + 1, n - 1);
		return len ? len + 1 : 0;
	case '\r':
		s->col = 0;
		return 1;
	case '\n':
		screen_down(s);
		return 1;
	case '\a':
		s->bells++;
		return 1;
	}
	if (b < 0x20 || b == 0x7F) {
		s->unknown = true;
		return 1;
	}
	len = utf8_len(b) == 0 ? 1 : utf8_len(b);
	if (len > n)
		return 0;
	screen_put(s, p, len);
	return len;
}

static void
screen_replay(struct pty *p)
{
	struct screen *s = &p->scr;
	size_t i = 0, used;

	memset(s, 0, sizeof(*s));
	while (i < p->len && (used = screen_apply(s, p->out + i,
	    p->len - i)) > 0)
		i += used;
}

const char *
pty_row(struct pty *p, int up)
{
	static char text[PTY_COLS * 8 + 1];
	int row = p->scr.row - up;
	size_t n = 0;

	text[0] = '\0';
	if (row < 0 || row >= PTY_ROWS)
		return text;
	for (int c = 0; c < PTY_COLS; c++) {
		const char *cell = p->scr.cell[row][c];
		size_t k = cell[0] ? strlen(cell) : 1;
		memcpy(text + n, cell[0] ? cell : " ", k);
		n += k;
	}
	while (n > 0 && text[n - 1] == ' ')
		n--;
	text[n] = '\0';
	return text;
}

bool
pty_row_dim(struct pty *p, int up)
{
	int row = p->scr.row - up, seen = 0;

	if (row < 0 || row >= PTY_ROWS)
		return false;
	for (int c = 0; c < PTY_COLS; c++) {
		const char *cell = p->scr.cell[row][c];
		if (cell[0] == '\0' || strcmp(cell, " ") == 0)
			continue;
		if (!p->scr.dim[row][c])
			return false;
		seen++;
	}
	return seen > 0;
}

int
pty_find_row(struct pty *p, const char *text)
{
	for (int up = 0; up <= p->scr.row; up++)
		if (strstr(pty_row(p, up), text) != NULL)
			return up;
	return -1;
}

const char *
pty_dump(struct pty *p)
{
	static char text[PTY_ROWS * (PTY_COLS * 8 + 8) + 64];
	size_t n = 0;

	for (int r = 0; r < PTY_ROWS; r++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "|%s\n",
		    pty_row(p, p->scr.row - r));
	snprintf(text + n, sizeof(text) - n, "cursor at row %d, column %d%s",
	    p->scr.row, p->scr.col, p->scr.unknown ? "; unknown output" : "");
	return text;
}

/* ---- The program ------------------------------------------------------- */

/* In the child: the terminal becomes stdin, stdout, stderr and the
 * controlling terminal of a new session; net, unless -1, becomes
 * descriptor 3. */
static void
pty_exec(int slave, int net, char *const argv[], const char *term)
{
	struct rlimit no_core = { 0, 0 };

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setrlimit(RLIMIT_CORE, &no_core);   /* the crash tests leave none */
	if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
		_exit(126);
	dup2(slave, STDIN_FILENO);
	dup2(slave, STDOUT_FILENO);
	dup2(slave, STDERR_FILENO);
	if (net == 3)
		fcntl(3, F_SETFD, 0);   /* dup2 onto itself keeps CLOEXEC */
	else if (net >= 0)
		dup2(net, 3);
	setenv("TERM", term, 1);
	execv(argv[0], argv);
	_exit(127);
}

/* The binary argv[0] names: "CLIENT" and "PEER" are the programs under
 * test, from the environment as in harness.c; anything else is itself. */
static const char *
pty_program(const char *name)
{
	const char *env = strcmp(name, "CLIENT") == 0 ? "HUBCHAT_CLIENT" :
	    strcmp(name, "PEER") == 0 ? "HUBCHAT_PEER" :
	    strcmp(name, "DEMO") == 0 ? "HUBCHAT_LINED_DEMO" : NULL;
	const char *fallback = strcmp(name, "CLIENT") == 0 ? "./client" :
	    strcmp(name, "PEER") == 0 ? "./peer" :
	    strcmp(name, "DEMO") == 0 ? "build/lined_demo" : name;
	const char *v = env != NULL ? getenv(env) : NULL;

	return v != NULL && *v ? v : fallback;
}

/* Starts argv on a new terminal; with_net gives it a descriptor 3. */
static void
pty_launch(struct pty *p, char *const argv[], const char *term,
    bool with_net)
{
	struct winsize ws = { .ws_row = PTY_ROWS, .ws_col = PTY_COLS };
	char name[64], *args[64];
	int net[2] = { -1, -1 };
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	args[n++] = (char *)pty_program(argv[0]);
	while (n < 63 && argv[n] != NULL) {
		args[n] = argv[n];
		n++;
	}
	args[n] = NULL;
	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	cr_assert(p->master >= 0, "posix_openpt: %s", strerror(errno));
	cr_assert(grantpt(p->master) == 0 && unlockpt(p->master) == 0);
	cr_assert(ptsname_r(p->master, name, sizeof(name)) == 0);
	p->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	cr_assert(p->slave >= 0, "open %s: %s", name, strerror(errno));
	cr_assert(ioctl(p->master, TIOCSWINSZ, &ws) == 0);
	cr_assert(tcgetattr(p->slave, &p->before) == 0);
	cr_assert(!with_net || pipe2(net, O_CLOEXEC) == 0);
	signal(SIGPIPE, SIG_IGN);
	p->pid = fork();
	cr_assert(p->pid >= 0);
	if (p->pid == 0)
		pty_exec(p->slave, net[0], args, term);
	if (with_net)
		close(net[0]);
	p->net = net[1];
	p->pidfd = pidfd_open(p->pid, 0);
	cr_assert(p->pidfd >= 0, "pidfd_open: %s", strerror(errno));
	p->started = true;
}

void
pty_start(struct pty *p, const char *max, const char *term)
{
	char *argv[] = { "DEMO", (char *)max, NULL };

	pty_launch(p, argv, term, true);
}

void
pty_start_argv(struct pty *p, char *const argv[], const char *term)
{
	pty_launch(p, argv, term, false);
}

static void
pty_write(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		cr_assert(w > 0 || errno == EINTR, "write: %s",
		    strerror(errno));
		if (w > 0) {
			s += w;
			n -= (size_t)w;
		}
	}
}

void
pty_type(struct pty *p, const char *keys)
{
	pty_write(p->master, keys, strlen(keys));
}

void
pty_net(struct pty *p, const char *line)
{
	cr_assert(p->net >= 0, "this program has no descriptor 3");
	pty_write(p->net, line, strlen(line));
	pty_write(p->net, "\n", 1);
}

/* Reads what the program writes within ms; false if nothing came. */
static bool
pty_read(struct pty *p, int ms)
{
	struct pollfd pf = { .fd = p->master, .events = POLLIN };
	ssize_t n;

	if (poll(&pf, 1, ms) <= 0)
		return false;
	n = read(p->master, p->out + p->len, sizeof(p->out) - p->len);
	if (n <= 0)
		return false;
	p->len += (size_t)n;
	return true;
}

/* Replays and reads until ok(p, a, b) holds; false at the deadline. */
static bool
pty_until(struct pty *p, bool (*ok)(struct pty *, const char *, int),
    const char *a, int b)
{
	long long deadline = now_ms() + WAIT_MS;

	for (;;) {
		screen_replay(p);
		if (ok(p, a, b))
			return true;
		long long left = deadline - now_ms();
		if (left <= 0)
			return false;
		pty_read(p, (int)left);
	}
}

static bool
input_is(struct pty *p, const char *text, int col)
{
	return p->scr.col == col && strcmp(pty_row(p, 0), text) == 0;
}

static bool
some_row_is(struct pty *p, const char *text, int unused)
{
	(void)unused;
	for (int up = 0; up <= p->scr.row; up++)
		if (strcmp(pty_row(p, up), text) == 0)
			return true;
	return false;
}

static bool
bells_reach(struct pty *p, const char *unused, int n)
{
	(void)unused;
	return p->scr.bells >= n;
}

static bool
some_row_has(struct pty *p, const char *text, int unused)
{
	(void)unused;
	for (int up = 0; up <= p->scr.row; up++)
		if (strstr(pty_row(p, up), text) != NULL)
			return true;
	return false;
}

static bool
output_has(struct pty *p, const char *text, int unused)
{
	(void)unused;
	return memmem(p->out, p->len, text, strlen(text)) != NULL;
}

bool
pty_wait_row_has(struct pty *p, const char *text)
{
	return pty_until(p, some_row_has, text, 0);
}

bool
pty_wait_output(struct pty *p, const char *text)
{
	return pty_until(p, output_has, text, 0);
}

bool
pty_wait_input(struct pty *p, const char *text, int col)
{
	return pty_until(p, input_is, text, col);
}

bool
pty_wait_row(struct pty *p, const char *text)
{
	return pty_until(p, some_row_is, text, 0);
}

bool
pty_wait_bells(struct pty *p, int n)
{
	return pty_until(p, bells_reach, NULL, n);
}

int
pty_wait_exit(struct pty *p)
{
	struct pollfd pf = { .fd = p->pidfd, .events = POLLIN };
	long long deadline = now_ms() + WAIT_MS;
	int status;

	while (poll(&pf, 1, 0) == 0) {
		long long left = deadline - now_ms();
		if (left <= 0) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
			p->pid = -1;
			return -1;
		}
		/* Output, or the end, whichever comes first. */
		struct pollfd both[2] = { pf, { .fd = p->master,
		    .events = POLLIN } };
		if (poll(both, 2, (int)left) > 0 && both[1].revents != 0)
			pty_read(p, 0);
	}
	cr_assert_eq(waitpid(p->pid, &status, 0), p->pid);
	p->pid = -1;
	while (pty_read(p, 0))
		;
	screen_replay(p);
	return status;
}

int
pty_unread(struct pty *p)
{
	int n = -1;

	cr_assert(ioctl(p->slave, FIONREAD, &n) == 0);
	return n;
}

void
pty_end(struct pty *p)
{
	int status;

	if (!p->started)
		return;
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &status, 0);
		p->pid = -1;
	}
	close(p->pidfd);
	if (p->net >= 0)
		close(p->net);
	close(p->slave);
	close(p->master);
	p->started = false;
}
