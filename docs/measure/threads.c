/*
 * threads.c - memory per parked pthread: starts N threads with hubchat's
 * 64 KiB stacks (or STACK_KIB, 0 = glibc's default) that each block on a
 * condition variable (like a writer waiting in queue_pop) and prints the
 * growth of RSS and of address space, divided by N.
 *
 *   threads [N [STACK_KIB]]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int started;

/* A field of /proc/self/status in KiB ("VmRSS:", "VmSize:"). */
static long
status_kib(const char *field)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			kib = atol(line + strlen(field));
	if (f)
		fclose(f);
	return kib;
}

static void *
park(void *arg)
{
	pthread_mutex_lock(&lock);
	started++;
	pthread_cond_broadcast(&never);
	for (;;)
		pthread_cond_wait(&never, &lock);
	return arg;
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000;
	int stack_kib = argc > 2 ? atoi(argv[2]) : 64;
	pthread_attr_t attr;
	pthread_t t;

	pthread_attr_init(&attr);
	if (stack_kib > 0)
		pthread_attr_setstacksize(&attr, (size_t)stack_kib * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	long before = status_kib("VmRSS:"), vbefore = status_kib("VmSize:");
	for (int i = 0; i < n; i++)
		if (pthread_create(&t, &attr, park, NULL) != 0)
			return 1;
	pthread_mutex_lock(&lock);
	while (started < n)
		pthread_cond_wait(&never, &lock);
	pthread_mutex_unlock(&lock);
	long after = status_kib("VmRSS:"), vafter = status_kib("VmSize:");
	printf("threads=%d stack=%s rss_before=%ldKiB rss_after=%ldKiB "
	    "per_thread=%.1fKiB address_space_per_thread=%.0fKiB\n", n,
	    stack_kib > 0 ? "set" : "default", before, after,
	    (double)(after - before) / n, (double)(vafter - vbefore) / n);
	return 0;
}
