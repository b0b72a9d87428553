/*
 * harness.h - what the integration tests share: the real server started on
 * an ephemeral port, the client program run with pipes, and loopback
 * connections read line by line with deadlines. Every wait here has a
 * deadline and fails the test when it passes. Nothing sleeps to
 * synchronise: a few tests pause on purpose to shape a scenario (a peer
 * started 1.5 s late, a slow-loris byte every 300 ms), never to wait for
 * something to happen.
 *
 * Binaries come from $HUBCHAT_SERVER and $HUBCHAT_CLIENT (default ./server
 * and ./client), so the same tests can drive sanitizer builds; such a run
 * sets HUBCHAT_SANITIZED=1, which skips the one test that limits the
 * server's address space.
 */
#ifndef HUBCHAT_TEST_HARNESS_H
#define HUBCHAT_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define WAIT_MS 5000    /* default deadline for one expected event */

/* A server process; its stderr (the log) goes to a temporary file. */
struct server {
	pid_t pid;
	int port;
	char log_path[64];
};

/* Starts the server with extra arguments (NULL-terminated) and waits for its
 * [LISTEN] line. Fails the test if it does not come up. */
void server_start(struct server *s, ...);
/* The same under resource limits: at most nofile descriptors and as_mib MiB
 * of address space (0 leaves a limit as it is). */
void server_start_limited(struct server *s, int nofile, int as_mib, ...);
/* Sends sig and waits for the exit; returns the exit status (or 128+signal
 * when killed), failing the test if it takes longer than ms. */
int server_stop(struct server *s, int sig, int ms);
/* Waits until the log holds a line containing text; false on timeout. */
bool server_log_wait(struct server *s, const char *text, int ms);
/* Waits until the log holds at least n occurrences of text. */
bool server_log_wait_count(struct server *s, const char *text, int n, int ms);
/* The "Threads:" field of /proc/<pid>/status, or -1; its "VmRSS:" in
 * KiB (asserted to be there). */
int server_threads(pid_t pid);
long server_rss_kib(pid_t pid);
/* Waits until the server process has exactly n threads (its main thread
 * and two per session): proof that finished sessions were joined and their
 * stacks given back. False on timeout. */
bool server_wait_threads(struct server *s, int n, int ms);
/* Counts occurrences of text in the log. */
int server_log_count(struct server *s, const char *text);

/* A line reader on a loopback connection (or any fd, such as a pipe from a
 * child's stdout): bytes [start, len) are unread. */
struct conn {
	int fd;
	size_t start;
	size_t len;
	char buf[65536];
};

/* Connects to 127.0.0.1:port and reads the welcome line. */
struct conn *conn_open(int port);
/* Connects without reading anything. */
struct conn *conn_open_raw(int port);
/* conn_open, then LOGIN name, expecting OK. */
struct conn *conn_login(int port, const char *name);
void conn_close(struct conn *c);
/* Closes with a reset (SO_LINGER 0) instead of a FIN. */
void conn_reset(struct conn *c);

/* Sends bytes as they are / a formatted string. Fails the test on error,
 * so only the test's own thread may call them. */
void conn_send_raw(struct conn *c, const void *data, size_t len);
void conn_send(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* For helper threads, which must not fail the test themselves (they
 * record what went wrong and the test thread asserts after joining them):
 * sends the formatted string, false on any error. */
bool conn_try_send(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reads one line (without LF) into out; false on EOF, error or timeout.
 * Asserts nothing: safe from helper threads. */
bool conn_read_line(struct conn *c, char *out, size_t outsz, int ms);
/* Reads one line and asserts it equals want. */
void conn_expect(struct conn *c, const char *want);
/* True when line is the error code: "ERR <code>", alone or followed by a
 * space and words for people (clients key on the code; docs/PROTOCOL.md).
 * code may hold more than the code itself ("no-such-user zed"). */
bool line_is_err(const char *line, const char *code);
/* Reads one line and asserts line_is_err(line, code). */
void conn_expect_err(struct conn *c, const char *code);
/* Reads lines until one equals want, skipping others; fails at EOF or
 * timeout. For lines whose place among unrelated notices is a race. */
void conn_expect_eventually(struct conn *c, const char *want);
/* Asserts that nothing but want arrives before the reply to a PING: proves
 * the absence of other lines without waiting for a timeout. */
void conn_expect_quiet(struct conn *c);
/* Skips every line that came before the reply to a PING: afterwards the
 * connection's next line is something that happened after this call. */
void conn_sync(struct conn *c);
/* Reads until EOF (true) or the deadline (false), discarding lines. */
bool conn_wait_closed(struct conn *c, int ms);

/* A child process with pipes to its stdin and from its stdout. */
struct proc {
	pid_t pid;
	int in;         /* write end of its stdin; -1 once closed */
	int out;        /* read end of its stdout+stderr */
	char text[65536];
	size_t len;
};

/* Runs argv with pipes; argv[0] "CLIENT", "PEER" or "SERVER" means that
 * binary ($HUBCHAT_CLIENT, $HUBCHAT_PEER, $HUBCHAT_SERVER, or ./client,
 * ./peer, ./server). */
void proc_start(struct proc *p, char *const argv[]);
void proc_write(struct proc *p, const char *s);
/* proc_write for helper threads: false on any error, asserts nothing. */
bool proc_try_write(struct proc *p, const char *s);
void proc_close_stdin(struct proc *p);
/* Reads its output until it contains text; false on timeout or EOF. */
bool proc_wait_output(struct proc *p, const char *text, int ms);
/* Waits for the exit; returns the status, or -1 (after killing) on timeout.
 * Collects remaining output. */
int proc_wait(struct proc *p, int ms);

/* The name the server under test calls itself in --help and in its
 * error lines: the last part of its path ("server" for ./server). */
const char *server_program_name(void);

/* A loopback port nobody listens on right now (the kernel's pick,
 * released; the kernel does not hand it out again at once). */
int free_port(void);

/* A suite's .fini for tests that run the modules in-process (queue, hub,
 * proto): under AddressSanitizer, checks for leaks now and aborts the test
 * if there is one (the report goes where ASAN_OPTIONS says). Criterion
 * ends each test's process with _exit, so the exit-time check never runs
 * there; and the runner's own exit-time check is off (harness.c says why).
 * Does nothing in other builds. */
void harness_leak_check(void);

/* Milliseconds on a monotonic clock. */
long long now_ms(void);

/* Waits until thread tid of this process is asleep (state S in
 * /proc/self/task/<tid>/stat), checking every millisecond; false when ms
 * pass first. For proving that a thread is blocked in a wait before the
 * test does what should wake it. */
bool thread_wait_asleep(pid_t tid, int ms);

#endif
