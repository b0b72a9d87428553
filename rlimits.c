/*
 * rlimits.c - descriptor and thread limits against --max-clients; see
 * rlimits.h.
 */
#include "rlimits.h"

#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>

#include "log.h"

#define OWN_FDS 10      /* the server's own: stdio 3, listener, signalfd,
                           eventfd, stop pipe 2, spare, and one to grow */
#define OWN_MAPS 1000   /* code, libraries, heap and malloc arenas */

/* A number from a /proc file; -1 when it cannot be read. */
static long
rlimits_proc_number(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f != NULL) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Logs that limit, now `have`, leaves room for `room` clients only. */
static void
rlimits_warn(const char *limit, long have, long room, size_t want,
    const char *raise, long need)
{
	log_event(LOG_WARN, "%s is %ld: room for about %ld clients, not "
	    "--max-clients=%zu; raise it: %s%ld", limit, have, room < 0 ? 0 :
	    room, want, raise, need);
}

static void
rlimits_fds(size_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want + OWN_FDS)
		rlimits_warn("ulimit -n", (long)rl.rlim_cur,
		    (long)rl.rlim_cur - OWN_FDS, want, "ulimit -n ",
		    (long)(want + OWN_FDS));
}

static void
rlimits_threads(size_t want)
{
	struct rlimit rl;
	long threads = 2 * (long)want + 1;
	long v;

	if (getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (long)rl.rlim_cur < threads)
		rlimits_warn("ulimit -u (threads)", (long)rl.rlim_cur,
		    ((long)rl.rlim_cur - 1) / 2, want, "ulimit -u ", threads);
	v = rlimits_proc_number("/proc/sys/kernel/threads-max");
	if (v > 0 && v < threads)
		rlimits_warn("kernel.threads-max", v, (v - 1) / 2, want,
		    "sysctl kernel.threads-max=", threads);
	v = rlimits_proc_number("/proc/sys/vm/max_map_count");
	if (v > 0 && v < 2 * threads + OWN_MAPS)
		rlimits_warn("vm.max_map_count (two per thread)", v,
		    (v - OWN_MAPS) / 4, want, "sysctl vm.max_map_count=",
		    2 * threads + OWN_MAPS);
	v = rlimits_proc_number("/sys/fs/cgroup/pids.max");     /* "max": no limit */
	if (v > 0 && v < threads)
		rlimits_warn("the cgroup's pids.max", v, (v - 1) / 2, want,
		    "pids.max=", threads);
}

void
rlimits_check(size_t max_clients)
{
	rlimits_fds(max_clients);
	rlimits_threads(max_clients);
}

/* The soft limit of resource r, as text: a number or "unlimited". */
static const char *
rlimits_text(int r, char *buf, size_t len)
{
	struct rlimit rl;

	if (getrlimit(r, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return "unlimited";
	snprintf(buf, len, "%lu", (unsigned long)rl.rlim_cur);
	return buf;
}

const char *
rlimits_hint(int err, char *buf, size_t len)
{
	char a[24], b[24];

	if (err == EMFILE)
		snprintf(buf, len, "ulimit -n is %s", rlimits_text(RLIMIT_NOFILE,
		    a, sizeof(a)));
	else if (err == ENFILE)
		snprintf(buf, len, "the system's open files are at fs.file-max");
	else if (err == EAGAIN)         /* threads, or their stacks' memory */
		snprintf(buf, len, "ulimit -u is %s, ulimit -v %s, "
		    "kernel.threads-max %ld, vm.max_map_count %ld",
		    rlimits_text(RLIMIT_NPROC, a, sizeof(a)),
		    rlimits_text(RLIMIT_AS, b, sizeof(b)),
		    rlimits_proc_number("/proc/sys/kernel/threads-max"),
		    rlimits_proc_number("/proc/sys/vm/max_map_count"));
	else if (err == ENOMEM)
		snprintf(buf, len, "ulimit -v is %s", rlimits_text(RLIMIT_AS, b,
		    sizeof(b)));
	else
		snprintf(buf, len, "%s", "");
	return buf;
}
