/*
 * harness.c - see harness.h.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
int __lsan_do_recoverable_leak_check(void);

/* LeakSanitizer's defaults for the test binary only (the programs it
 * starts do not have this function, so they keep the exit-time check):
 * Criterion's runner keeps a few allocations of its own until it exits,
 * and a suppression cannot tell them apart from a test's leaks, because
 * every test is called from Criterion's code. Tests check themselves
 * instead (harness_leak_check). */
const char *__lsan_default_options(void);
const char *
__lsan_default_options(void)
{
	return "leak_check_at_exit=0";
}

void
harness_leak_check(void)
{
	if (__lsan_do_recoverable_leak_check() != 0)
		abort();
}
#else
void
harness_leak_check(void)
{
}
#endif

long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
binary(const char *env, const char *fallback)
{
	const char *v = getenv(env);
	return v && *v ? v : fallback;
}

/* Reads the whole log file into a malloc'd string. */
static char *
read_log(struct server *s)
{
	FILE *f = fopen(s->log_path, "r");
	char *text = NULL;
	size_t size = 0;

	cr_assert_not_null(f, "cannot open %s", s->log_path);
	FILE *mem = open_memstream(&text, &size);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	fclose(mem);
	fclose(f);
	return text;
}

bool
server_log_wait_count(struct server *s, const char *text, int n, int ms)
{
	long long deadline = now_ms() + ms;

	while (server_log_count(s, text) < n) {
		if (now_ms() > deadline)
			return false;
		poll(NULL, 0, 5);       /* the log is a file: nothing to wait on */
	}
	return true;
}

bool
server_log_wait(struct server *s, const char *text, int ms)
{
	return server_log_wait_count(s, text, 1, ms);
}

/* The number after field ("Threads:", "VmRSS:") in /proc/<pid>/status,
 * or -1. */
static long
proc_status(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t len = strlen(field);
	long n = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, len) == 0)
			n = atol(line + len);
	fclose(f);
	return n;
}

int
server_threads(pid_t pid)
{
	return (int)proc_status(pid, "Threads:");
}

long
server_rss_kib(pid_t pid)
{
	long kib = proc_status(pid, "VmRSS:");

	cr_assert(kib >= 0, "no VmRSS in /proc/%d/status", (int)pid);
	return kib;
}

bool
server_wait_threads(struct server *s, int n, int ms)
{
	long long deadline = now_ms() + ms;

	while (server_threads(s->pid) != n) {
		if (now_ms() > deadline)
			return false;
		poll(NULL, 0, 5);       /* /proc has nothing to wait on */
	}
	return true;
}

int
server_log_count(struct server *s, const char *text)
{
	char *log = read_log(s);
	int n = 0;

	for (char *p = log; (p = strstr(p, text)) != NULL; p += strlen(text))
		n++;
	free(log);
	return n;
}

/* Sets one resource limit in a child about to exec; value 0 = leave it. */
static void
child_limit(int resource, rlim_t value)
{
	struct rlimit rl = { .rlim_cur = value, .rlim_max = value };

	if (value != 0 && setrlimit(resource, &rl) != 0)
		_exit(126);
}

static void
server_spawn(struct server *s, int nofile, int as_mib, va_list ap)
{
	char *argv[32];
	int argc = 0;

	argv[argc++] = (char *)binary("HUBCHAT_SERVER", "./server");
	argv[argc++] = "-p";
	argv[argc++] = "0";
	for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 31;)
		argv[argc++] = a;
	argv[argc] = NULL;

	snprintf(s->log_path, sizeof(s->log_path), "/tmp/hubchat-test-XXXXXX");
	int logfd = mkstemp(s->log_path);
	cr_assert(logfd >= 0, "mkstemp: %s", strerror(errno));
	s->pid = fork();
	cr_assert(s->pid >= 0, "fork: %s", strerror(errno));
	if (s->pid == 0) {
		/* A test that fails or times out must not leave its server
		 * behind, holding the runner's output pipe open. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(logfd, STDOUT_FILENO);
		dup2(logfd, STDERR_FILENO);
		child_limit(RLIMIT_NOFILE, (rlim_t)nofile);
		child_limit(RLIMIT_AS, (rlim_t)as_mib << 20);
		/* glibc keeps the stacks of joined threads for reuse, so under
		 * an address-space limit a finished session's stack would
		 * never be given back to malloc: keep none. */
		if (as_mib != 0)
			setenv("GLIBC_TUNABLES",
			    "glibc.pthread.stack_cache_size=0", 1);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(logfd);
	cr_assert(server_log_wait(s, "[LISTEN]", WAIT_MS),
	    "server did not start");
	char *log = read_log(s);
	char *p = strstr(log, " port=");
	cr_assert_not_null(p);
	s->port = atoi(p + 6);
	free(log);
	cr_assert(s->port > 0);
}

void
server_start(struct server *s, ...)
{
	va_list ap;

	va_start(ap, s);
	server_spawn(s, 0, 0, ap);
	va_end(ap);
}

void
server_start_limited(struct server *s, int nofile, int as_mib, ...)
{
	va_list ap;

	va_start(ap, as_mib);
	server_spawn(s, nofile, as_mib, ap);
	va_end(ap);
}

int
server_stop(struct server *s, int sig, int ms)
{
	long long deadline = now_ms() + ms;
	int status;

	kill(s->pid, sig);
	for (;;) {
		pid_t r = waitpid(s->pid, &status, WNOHANG);
		if (r == s->pid)
			break;
		if (now_ms() > deadline) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &status, 0);
			cr_assert_fail("server did not exit within %d ms", ms);
		}
		poll(NULL, 0, 5);       /* no fd tells of a child's exit */
	}
	unlink(s->log_path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct conn *
conn_open_raw(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port) };
	struct conn *c = calloc(1, sizeof(*c));

	cr_assert_not_null(c);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(c->fd >= 0);
	cr_assert(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
	    "connect: %s", strerror(errno));
	return c;
}

struct conn *
conn_open(int port)
{
	struct conn *c = conn_open_raw(port);
	char line[1024];

	cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS),
	    "no welcome line");
	cr_assert(strncmp(line, "INFO ", 5) == 0, "welcome was: %s", line);
	return c;
}

struct conn *
conn_login(int port, const char *name)
{
	struct conn *c = conn_open(port);

	conn_send(c, "LOGIN %s\n", name);
	conn_expect(c, "OK");
	return c;
}

void
conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c);
}

void
conn_reset(struct conn *c)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	conn_close(c);
}

void
conn_send_raw(struct conn *c, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		cr_assert(n > 0 || errno == EINTR, "send: %s", strerror(errno));
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
	}
}

void
conn_send(struct conn *c, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	cr_assert(n >= 0);
	conn_send_raw(c, s, (size_t)n);
	free(s);
}

/* Sends all of s[0..len); false on any error but EINTR. */
static bool
send_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		s += n;
		len -= (size_t)n;
	}
	return true;
}

bool
conn_try_send(struct conn *c, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	bool ok = send_all(c->fd, s, (size_t)n);
	free(s);
	return ok;
}

bool
conn_read_line(struct conn *c, char *out, size_t outsz, int ms)
{
	long long deadline = now_ms() + ms;

	for (;;) {
		char *s = c->buf + c->start;
		char *lf = memchr(s, '\n', c->len - c->start);
		if (lf != NULL) {
			size_t n = (size_t)(lf - s);
			size_t copy = n < outsz - 1 ? n : outsz - 1;
			memcpy(out, s, copy);
			out[copy] = '\0';
			c->start += n + 1;
			return true;
		}
		memmove(c->buf, s, c->len - c->start);   /* keep the partial */
		c->len -= c->start;
		c->start = 0;
		long long left = deadline - now_ms();
		if (left <= 0 || c->len == sizeof(c->buf))
			return false;
		struct pollfd pf = { .fd = c->fd, .events = POLLIN };
		if (poll(&pf, 1, (int)left) <= 0)
			continue;
		ssize_t got = read(c->fd, c->buf + c->len,
		    sizeof(c->buf) - c->len);
		if (got <= 0 && !(got < 0 && errno == EINTR))
			return false;
		if (got > 0)
			c->len += (size_t)got;
	}
}

void
conn_expect(struct conn *c, const char *want)
{
	char line[8192];

	cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS),
	    "expected \"%s\", got nothing", want);
	cr_assert_str_eq(line, want);
}

bool
line_is_err(const char *line, const char *code)
{
	size_t n = strlen(code);

	return strncmp(line, "ERR ", 4) == 0 && strncmp(line + 4, code, n) == 0 &&
	    (line[4 + n] == '\0' || line[4 + n] == ' ');
}

void
conn_expect_err(struct conn *c, const char *code)
{
	char line[8192];

	cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS),
	    "expected \"ERR %s\", got nothing", code);
	cr_assert(line_is_err(line, code), "expected \"ERR %s ...\", got \"%s\"",
	    code, line);
}

void
conn_expect_eventually(struct conn *c, const char *want)
{
	char line[8192];

	do {
		cr_assert(conn_read_line(c, line, sizeof(line), WAIT_MS),
		    "expected \"%s\" eventually, got nothing", want);
	} while (strcmp(line, want) != 0);
}

void
conn_expect_quiet(struct conn *c)
{
	static int token;
	char want[32];

	snprintf(want, sizeof(want), "PONG quiet%d", ++token);
	conn_send(c, "PING quiet%d\n", token);
	conn_expect(c, want);
}

void
conn_sync(struct conn *c)
{
	static int token;
	char want[32];

	snprintf(want, sizeof(want), "PONG sync%d", ++token);
	conn_send(c, "PING sync%d\n", token);
	conn_expect_eventually(c, want);
}

bool
conn_wait_closed(struct conn *c, int ms)
{
	long long deadline = now_ms() + ms;
	char sink[4096];

	c->start = c->len = 0;
	while (now_ms() < deadline) {
		struct pollfd pf = { .fd = c->fd, .events = POLLIN };
		if (poll(&pf, 1, (int)(deadline - now_ms())) <= 0)
			continue;
		ssize_t n = recv(c->fd, sink, sizeof(sink), 0);
		if (n == 0 || (n < 0 && errno != EINTR))
			return true;
	}
	return false;
}

void
proc_start(struct proc *p, char *const argv[])
{
	int in[2], out[2];

	memset(p, 0, sizeof(*p));
	cr_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
	p->pid = fork();
	cr_assert(p->pid >= 0);
	if (p->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(out[1], STDERR_FILENO);
		const char *prog = strcmp(argv[0], "CLIENT") == 0 ?
		    binary("HUBCHAT_CLIENT", "./client") :
		    strcmp(argv[0], "PEER") == 0 ?
		    binary("HUBCHAT_PEER", "./peer") :
		    strcmp(argv[0], "SERVER") == 0 ?
		    binary("HUBCHAT_SERVER", "./server") : argv[0];
		char *args[64];         /* argv with the real path first: a */
		size_t n = 0;           /* program names itself by argv[0] */
		args[n++] = (char *)prog;
		while (n < 63 && argv[n] != NULL) {
			args[n] = argv[n];
			n++;
		}
		args[n] = NULL;
		execv(prog, args);
		fprintf(stderr, "exec %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->in = in[1];
	p->out = out[0];
	signal(SIGPIPE, SIG_IGN);
}

void
proc_write(struct proc *p, const char *s)
{
	size_t len = strlen(s);

	cr_assert(write(p->in, s, len) == (ssize_t)len);
}

bool
proc_try_write(struct proc *p, const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t n = write(p->in, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		s += n;
		len -= (size_t)n;
	}
	return true;
}

void
proc_close_stdin(struct proc *p)
{
	if (p->in >= 0)
		close(p->in);
	p->in = -1;
}

/* Reads what output is ready within ms; false at EOF or timeout. */
static bool
proc_read_some(struct proc *p, int ms)
{
	struct pollfd pf = { .fd = p->out, .events = POLLIN };

	if (poll(&pf, 1, ms) <= 0)
		return false;
	size_t room = sizeof(p->text) - 1 - p->len;
	ssize_t n = read(p->out, p->text + p->len, room);
	if (n <= 0)
		return false;
	p->len += (size_t)n;
	p->text[p->len] = '\0';
	return true;
}

bool
proc_wait_output(struct proc *p, const char *text, int ms)
{
	long long deadline = now_ms() + ms;

	while (strstr(p->text, text) == NULL) {
		long long left = deadline - now_ms();
		if (left <= 0 || !proc_read_some(p, (int)left))
			return strstr(p->text, text) != NULL;
	}
	return true;
}

int
proc_wait(struct proc *p, int ms)
{
	long long deadline = now_ms() + ms;
	int status;

	for (;;) {
		while (proc_read_some(p, 0))
			;
		if (waitpid(p->pid, &status, WNOHANG) == p->pid)
			break;
		if (now_ms() > deadline) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
			return -1;
		}
		proc_read_some(p, 10);
	}
	while (proc_read_some(p, 0))
		;
	proc_close_stdin(p);
	close(p->out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

const char *
server_program_name(void)
{
	const char *path = binary("HUBCHAT_SERVER", "./server");
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	close(fd);
	return ntohs(sa.sin_port);
}

/* The state letter of thread tid (R, S, D, ...), or '?' when unreadable. */
static char
thread_state(pid_t tid)
{
	char path[64], buf[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	if ((f = fopen(path, "r")) == NULL)
		return '?';
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *paren = strrchr(buf, ')');       /* the name may hold spaces */
	return paren != NULL && paren[1] == ' ' ? paren[2] : '?';
}

bool
thread_wait_asleep(pid_t tid, int ms)
{
	long long deadline = now_ms() + ms;

	while (thread_state(tid) != 'S') {
		if (now_ms() > deadline)
			return false;
		poll(NULL, 0, 1);       /* a thread's state has no fd to wait on */
	}
	return true;
}
