/*
 * wake.c - what one thread wake-up costs on this machine, the price a
 * thread-per-client server pays per delivery when there is nothing to
 * batch (workload D). Two threads hand a turn back and forth through a
 * mutex and a condition variable, N times: each hand-over is one
 * pthread_cond_signal waking a thread asleep in pthread_cond_wait. Run on
 * two CPUs (the wake-up usually crosses to the other, possibly idle, CPU)
 * and pinned to one (it never does). Prints one line and one JSON line.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>

#define ROUNDS 50000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int turn;                /* protected by lock: whose move, 0 or 1 */

/* Waits for `me`'s turn and passes it on, ROUNDS times. */
static void
play(int me)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < ROUNDS; i++) {
		while (turn != me)
			pthread_cond_wait(&changed, &lock);
		turn = !me;
		pthread_cond_signal(&changed);
	}
	pthread_mutex_unlock(&lock);
}

static void *
other(void *arg)
{
	(void)arg;
	play(1);
	return NULL;
}

/* Microseconds per wake-up, with both threads on cpus (NULL: any). */
static double
measure(cpu_set_t *cpus)
{
	pthread_t t;
	struct timespec a, b;

	if (cpus != NULL)
		sched_setaffinity(0, sizeof(*cpus), cpus);
	turn = 0;
	pthread_create(&t, NULL, other, NULL);  /* inherits the affinity */
	clock_gettime(CLOCK_MONOTONIC, &a);
	play(0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	pthread_join(t, NULL);
	return ((double)(b.tv_sec - a.tv_sec) * 1e9 +
	    (double)(b.tv_nsec - a.tv_nsec)) / 1e3 / (2.0 * ROUNDS);
}

int
main(void)
{
	cpu_set_t one;
	double any = measure(NULL);

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	double pinned = measure(&one);
	printf("wake-up: %.1f us across CPUs, %.1f us on one CPU\n", any,
	    pinned);
	printf("{\"label\":\"wake\",\"any_cpu_us\":%.2f,\"one_cpu_us\":%.2f}\n",
	    any, pinned);
	return 0;
}
