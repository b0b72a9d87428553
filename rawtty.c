/*
 * rawtty.c - raw mode and its undoing; see rawtty.h.
 *
 * Everything here is global, not in a struct, because a signal handler
 * must reach it: the saved settings (written before the raw flag is set,
 * and never while it is) and the flag itself. The flag is a lock-free C11
 * atomic, which a signal handler may use and threads may share; the
 * restore takes it with one exchange, so of two racing calls, from threads
 * or handlers, exactly one restores and the other does nothing.
 */
#include "rawtty.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#define CLEAR_ROW "\r\033[K"

static struct termios rawtty_saved;         /* stdin's settings before */
static atomic_int rawtty_raw;               /* the terminal is raw */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a signal handler uses it");
static const int rawtty_fatal[] = { SIGTERM, SIGHUP, SIGINT, SIGQUIT,
    SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
#define NFATAL (sizeof(rawtty_fatal) / sizeof(rawtty_fatal[0]))
static bool rawtty_caught[NFATAL];          /* our handler is installed */

/* Restores the terminal, then dies of the same signal: SA_RESETHAND put
 * the default action back on entry, and the signal raised here is
 * delivered when the handler returns (a fault simply happens again). */
static void
rawtty_on_signal(int sig)
{
	int saved = errno;

	rawtty_restore();
	raise(sig);
	errno = saved;
}

/* Installs rawtty_on_signal for each fatal signal still at its default
 * (or still ours, after a rawtty_restore without rawtty_leave). */
static void
rawtty_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = rawtty_on_signal,
	    .sa_flags = SA_RESETHAND };
	struct sigaction old;

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NFATAL; i++) {
		rawtty_caught[i] = false;
		if (sigaction(rawtty_fatal[i], NULL, &old) == 0 &&
		    !(old.sa_flags & SA_SIGINFO) &&
		    (old.sa_handler == SIG_DFL ||
		    old.sa_handler == rawtty_on_signal))
			rawtty_caught[i] =
			    sigaction(rawtty_fatal[i], &sa, NULL) == 0;
	}
}

/* Puts back the default action where rawtty_catch_signals installed ours
 * and nobody has replaced it since. */
static void
rawtty_release_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, cur;

	sigemptyset(&dfl.sa_mask);
	for (size_t i = 0; i < NFATAL; i++) {
		if (rawtty_caught[i] &&
		    sigaction(rawtty_fatal[i], NULL, &cur) == 0 &&
		    cur.sa_handler == rawtty_on_signal)
			sigaction(rawtty_fatal[i], &dfl, NULL);
		rawtty_caught[i] = false;
	}
}

bool
rawtty_enter(void)
{
	static bool at_exit;
	struct termios raw;
	int saved;

	if (atomic_load(&rawtty_raw)) {
		errno = EBUSY;
		return false;
	}
	if (tcgetattr(STDIN_FILENO, &rawtty_saved) < 0)
		return false;
	raw = rawtty_saved;
	raw.c_iflag &= ~(tcflag_t)(BRKINT | ICRNL | INLCR | IGNCR | INPCK |
	    ISTRIP | IXON);
	raw.c_oflag |= OPOST | ONLCR;
	raw.c_lflag &= ~(tcflag_t)(ECHO | ICANON | IEXTEN | ISIG);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (!at_exit)
		at_exit = atexit(rawtty_restore) == 0;
	rawtty_catch_signals();
	atomic_store(&rawtty_raw, 1);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
		return true;
	saved = errno;
	atomic_store(&rawtty_raw, 0);
	rawtty_release_signals();
	errno = saved;
	return false;
}

void
rawtty_restore(void)
{
	if (atomic_exchange(&rawtty_raw, 0) == 0)
		return;
	ssize_t n = write(STDOUT_FILENO, CLEAR_ROW, sizeof(CLEAR_ROW) - 1);
	(void)n;                /* nothing better to do on a dead terminal */
	tcsetattr(STDIN_FILENO, TCSANOW, &rawtty_saved);
}

void
rawtty_leave(void)
{
	rawtty_restore();
	rawtty_release_signals();
}

bool
rawtty_is_raw(void)
{
	return atomic_load(&rawtty_raw) != 0;
}
