/*
 * sync.h - checked wrappers for the pthread calls that must not fail.
 *
 * A failing lock, unlock, wait or signal means a bug (a mutex unlocked by the
 * wrong thread, or destroyed while held), not a condition to recover from, so
 * these abort with the call's own error number (pthreads return it; they do
 * not set errno). Builds without NDEBUG make error-checking mutexes, which
 * turn a double lock or a foreign unlock into that abort instead of a hang.
 */
#ifndef HUBCHAT_SYNC_H
#define HUBCHAT_SYNC_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#endif
