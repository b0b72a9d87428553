/*
 * sync.h - checked wrappers for the pthread calls that must not fail, and
 * the deadline helpers for timed waits and joins.
 *
 * A failing lock, unlock, wait or signal means a bug (a mutex unlocked by the
 * wrong thread, or destroyed while held), not a condition to recover from, so
 * these abort with the call's own error number (pthreads return it; they do
 * not set errno). Builds without NDEBUG make error-checking mutexes, which
 * turn a double lock or a foreign unlock into that abort instead of a hang.
 */
#ifndef HUBCHAT_SYNC_H
#define HUBCHAT_SYNC_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

static inline void
sync_check(int rc, const char *call)
{
	if (rc != 0) {
		fprintf(stderr, "fatal: %s: %s\n", call, strerror(rc));
		abort();
	}
}

static inline void
sync_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t attr;

	sync_check(pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
#ifndef NDEBUG
	sync_check(pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK),
	    "pthread_mutexattr_settype");
#endif
	sync_check(pthread_mutex_init(m, &attr), "pthread_mutex_init");
	pthread_mutexattr_destroy(&attr);
}

static inline void
sync_lock(pthread_mutex_t *m)
{
	sync_check(pthread_mutex_lock(m), "pthread_mutex_lock");
}

static inline void
sync_unlock(pthread_mutex_t *m)
{
	sync_check(pthread_mutex_unlock(m), "pthread_mutex_unlock");
}

static inline void
sync_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	sync_check(pthread_cond_wait(c, m), "pthread_cond_wait");
}

static inline void
sync_signal(pthread_cond_t *c)
{
	sync_check(pthread_cond_signal(c), "pthread_cond_signal");
}

/* A condition variable whose timed waits (sync_cond_wait_until) count on
 * CLOCK_MONOTONIC, which a change of the wall clock does not move. */
static inline void
sync_cond_init(pthread_cond_t *c)
{
	pthread_condattr_t a;

	sync_check(pthread_condattr_init(&a), "pthread_condattr_init");
	sync_check(pthread_condattr_setclock(&a, CLOCK_MONOTONIC),
	    "pthread_condattr_setclock");
	sync_check(pthread_cond_init(c, &a), "pthread_cond_init");
	pthread_condattr_destroy(&a);
}

/* Waits on c (made by sync_cond_init) until it is signalled, or spuriously
 * woken: true; or until the CLOCK_MONOTONIC instant deadline_ms: false. */
static inline bool
sync_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m,
    long long deadline_ms)
{
	struct timespec t = { .tv_sec = deadline_ms / 1000,
	    .tv_nsec = (deadline_ms % 1000) * 1000000L };
	int rc = pthread_cond_timedwait(c, m, &t);

	if (rc == ETIMEDOUT)
		return false;
	sync_check(rc, "pthread_cond_timedwait");
	return true;
}

/* The CLOCK_REALTIME instant ms milliseconds from now: the kind of
 * deadline pthread_cond_timedwait and pthread_timedjoin_np take. */
static inline struct timespec
sync_deadline(int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/* Joins thread t if it ends within ms: true; false if it is still running
 * then (the caller should make it end, then sync_join it). */
static inline bool
sync_join_within(pthread_t t, int ms)
{
	struct timespec until = sync_deadline(ms);
	int rc = pthread_timedjoin_np(t, NULL, &until);

	if (rc == ETIMEDOUT)
		return false;
	sync_check(rc, "pthread_timedjoin_np");
	return true;
}

static inline void
sync_join(pthread_t t)
{
	sync_check(pthread_join(t, NULL), "pthread_join");
}

/*
 * Asks for a futex hash with a bucket for about every `sleepers` threads
 * that may sleep at once. Every mutex or condition variable wait sleeps in
 * the kernel on a bucket of a hash, and every wake-up walks its bucket's
 * list. Since Linux 6.17 a threaded process gets a private hash sized by
 * its CPU count, not its threads: 16 buckets on 2 CPUs. With 10,000 idle
 * writers that is about 600 sleepers per bucket, and a wake-up (a
 * broadcast reaching someone, even a mutex unlock) walks them all. Older
 * kernels do not know the call and keep their global hash; the error is
 * ignored.
 */
#ifndef PR_FUTEX_HASH
#define PR_FUTEX_HASH 78
#define PR_FUTEX_HASH_SET_SLOTS 1
#endif
static inline void
sync_futex_buckets(size_t sleepers)
{
	unsigned long slots = 16;

	while (slots < sleepers && slots < 65536)
		slots *= 2;
	(void)prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS, slots, 0, 0);
}

#endif
