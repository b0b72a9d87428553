/*
 * rawtty.h - stdin's terminal in raw mode for the line editor, and its
 * saved settings put back on every way out: a call, exit(), and the
 * signals that kill.
 *
 * The signals are SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL and SIGABRT. For each one whose action is still the
 * default when the terminal goes raw, a handler restores the terminal and
 * dies of the signal as before (with its core dump, for a crash). A signal
 * the program handles itself, or blocks and takes with sigwait or a
 * signalfd, never reaches that handler: the program must call
 * rawtty_restore (lined_restore) on that path. _exit() and SIGKILL leave
 * the terminal raw; `stty sane` mends it.
 */
#ifndef HUBCHAT_RAWTTY_H
#define HUBCHAT_RAWTTY_H

#include <stdbool.h>

/* Saves stdin's terminal settings and makes it raw: no echo and no line
 * editing; ^C, ^\ and ^Z arrive as bytes, not signals; no XON/XOFF, no CR
 * to NL. Output processing stays (a newline still returns the carriage).
 * Registers the exit hook (once) and installs the signal handlers first.
 * Returns false with errno set, the terminal untouched. Not twice without
 * rawtty_leave in between. */
bool rawtty_enter(void);

/* If the terminal is raw: clears the cursor's row (the input row) and
 * restores the saved settings. Else does nothing, so it is safe twice. Uses
 * only write and tcsetattr: safe in a signal handler and from any
 * thread. */
void rawtty_restore(void);

/* rawtty_restore, then puts back the default action of the signals
 * rawtty_enter caught (unless the program has replaced it since). Not
 * from a signal handler. */
void rawtty_leave(void);

/* True while the terminal is raw. Async-signal-safe. */
bool rawtty_is_raw(void);

#endif
