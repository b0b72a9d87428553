/*
 * sigfd.c - the server's signals as a readable fd. The design, and which
 * signals, in sigfd.h.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "die.h"
#include "sigfd.h"

/* excerpt: signals */
/* Signals become data: block them here, before any thread exists, so every
 * thread inherits the mask, and read them from a signalfd. */
int
sigfd_open(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (rc != 0)
		die("pthread_sigmask: %s", strerror(rc));
	signal(SIGPIPE, SIG_IGN);   /* every send also says MSG_NOSIGNAL */
	int fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fd < 0)
		die("signalfd:");
	return fd;
}
/* end excerpt */

int
sigfd_read(int fd)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}
