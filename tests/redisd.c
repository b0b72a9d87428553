/*
 * redisd.c - see redisd.h.
 */
#include "redisd.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "resp.h"
#include "resp_conn.h"

/* The redis-server to run: $HUBCHAT_REDIS_SERVER, or the one on PATH, or
 * NULL when there is none. */
static const char *
redisd_binary(void)
{
	static char found[PATH_MAX];
	const char *env = getenv("HUBCHAT_REDIS_SERVER");
	const char *path = getenv("PATH");

	if (env != NULL && *env != '\0')
		return env;
	while (path != NULL && *path != '\0') {
		size_t n = strcspn(path, ":");
		snprintf(found, sizeof(found), "%.*s/redis-server", (int)n,
		    path);
		if (n > 0 && access(found, X_OK) == 0)
			return found;
		path += n + (path[n] == ':');
	}
	return NULL;
}

/* Starts bin on r->port with no persistence, its log in r->dir. */
static void
redisd_spawn(struct redisd *r, const char *bin)
{
	char log[128];

	snprintf(log, sizeof(log), "%s/redis.log", r->dir);
	r->pid = fork();
	cr_assert_geq(r->pid, 0);
	if (r->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (freopen(log, "a", stdout) == NULL ||
		    dup2(fileno(stdout), 2) < 0)
			_exit(126);
		execl(bin, bin, "--port", r->port, "--bind", "127.0.0.1",
		    "--save", "", "--appendonly", "no", "--dir", r->dir,
		    (char *)NULL);
		_exit(127);
	}
}

/* Waits until it answers PING; false if it exits first (its port was
 * taken in the meantime) or the deadline passes. */
static bool
redisd_ready(struct redisd *r)
{
	const char *ping[] = { "PING" };
	long long deadline = now_ms() + WAIT_MS;
	char err[256];

	while (now_ms() < deadline) {
		if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
			r->pid = 0;
			return false;
		}
		struct resp_conn *c = resp_conn_open("127.0.0.1", r->port,
		    500, NULL, err, sizeof(err));
		struct resp_reply *rep = c != NULL ?
		    resp_conn_command(c, 500, 1, ping, NULL) : NULL;
		bool up = resp_str_eq(rep, "PONG");
		resp_reply_free(rep);
		resp_conn_close(c);
		if (up)
			return true;
		poll(NULL, 0, 10);  /* no event says it has begun to listen */
	}
	return false;
}

void
redisd_start(struct redisd *r)
{
	const char *bin = redisd_binary();

	if (bin == NULL)
		cr_skip_test("redis-server is not installed (apt-get install "
		    "-y redis-server): skipping the real-Redis tests");
	snprintf(r->dir, sizeof(r->dir), "/tmp/hubchat-redis-XXXXXX");
	cr_assert_not_null(mkdtemp(r->dir));
	for (int attempt = 0; attempt < 3; attempt++) {
		snprintf(r->port, sizeof(r->port), "%d", free_port());
		redisd_spawn(r, bin);
		if (redisd_ready(r))
			return;
	}
	cr_assert_fail("redis-server did not start; see %s/redis.log", r->dir);
}

void
redisd_restart(struct redisd *r)
{
	cr_assert_eq(r->pid, 0, "redis-server is still running");
	redisd_spawn(r, redisd_binary());
	cr_assert(redisd_ready(r), "redis-server did not start again on port "
	    "%s; see %s/redis.log", r->port, r->dir);
}

void
redisd_signal(struct redisd *r, int sig)
{
	long long deadline = now_ms() + WAIT_MS;

	if (r->pid <= 0)
		return;
	kill(r->pid, sig);
	if (sig == SIGSTOP || sig == SIGCONT)
		return;
	while (waitpid(r->pid, NULL, WNOHANG) != r->pid) {
		if (now_ms() > deadline)
			kill(r->pid, SIGKILL);
		poll(NULL, 0, 5);   /* no fd tells of a child's exit */
	}
	r->pid = 0;
}

void
redisd_stop(struct redisd *r)
{
	redisd_signal(r, SIGTERM);
	if (r->dir[0] == '\0')
		return;
	DIR *d = opendir(r->dir);
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	if (d != NULL)
		closedir(d);
	rmdir(r->dir);
	r->dir[0] = '\0';
}

struct resp_conn *
redisd_conn(const struct redisd *r)
{
	char err[256];
	struct resp_conn *c = resp_conn_open("127.0.0.1", r->port, WAIT_MS,
	    NULL, err, sizeof(err));

	cr_assert_not_null(c, "%s", err);
	return c;
}
