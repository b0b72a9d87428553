/*
 * pty.h - a program run on a pseudo-terminal, for the tests of the line
 * editor and of the programs that use it: keys typed into the terminal's
 * master side, lines sent to the program's descriptor 3 (tests/lined_demo.c
 * takes them as messages from the network; the client and the peer have a
 * real network instead), and what it draws replayed on a model of the
 * screen, so tests assert on what a person would see.
 *
 * The model knows only what the editor may send: printable UTF-8, CR, LF,
 * BEL, and ESC [ K, ESC [ n C, ESC [ n D; and of what the client adds,
 * ESC [ 2 m (dim) and ESC [ 0 m or ESC [ m (plain), which it keeps with
 * each cell. Anything else sets `unknown`.
 * It takes every character as one column wide (a combining mark too); a
 * test of widths checks the cursor column, which the editor sets with
 * ESC [ n C after a CR, so it comes out right anyway.
 *
 * Every wait has a deadline (WAIT_MS) and returns false when it passes;
 * nothing sleeps.
 */
#ifndef HUBCHAT_TEST_PTY_H
#define HUBCHAT_TEST_PTY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <termios.h>

#define PTY_ROWS 24
#define PTY_COLS 50

struct screen {
	char cell[PTY_ROWS][PTY_COLS][8];   /* a character's bytes; "" is
	                                       blank */
	bool dim[PTY_ROWS][PTY_COLS];       /* the cell was written dim */
	bool dimming;           /* ESC [ 2 m is in force */
	int row, col;           /* the cursor; col == PTY_COLS: a wrap is
	                           pending */
	int bells;
	int wraps;              /* rows the text ran over the right edge */
	bool unknown;           /* output the model does not know */
};

struct pty {
	bool started;           /* pty_start ran, pty_end has not */
	pid_t pid;              /* the program; -1 once it has been waited */
	int pidfd;              /* readable when it ends */
	int master;             /* keys in, screen out */
	int slave;              /* kept, to read the settings it leaves */
	int net;                /* the write end of its descriptor 3, or -1 */
	struct termios before;  /* the settings before it ran */
	char out[1 << 18];      /* all it wrote, [0, len) */
	size_t len;
	struct screen scr;      /* out, replayed */
};

/* Runs build/lined_demo (or $HUBCHAT_LINED_DEMO) with argument max on a
 * new PTY_ROWS x PTY_COLS terminal as its controlling one, with TERM set to
 * term. Does not wait for anything. Fails the test on error. */
void pty_start(struct pty *p, const char *max, const char *term);

/* The same for any program: argv (NULL-terminated), where argv[0] "CLIENT"
 * or "PEER" means that binary, as for proc_start (tests/harness.h). It gets
 * no descriptor 3: its network is a real one. */
void pty_start_argv(struct pty *p, char *const argv[], const char *term);

/* Types bytes into the terminal / sends one line to descriptor 3. */
void pty_type(struct pty *p, const char *keys);
void pty_net(struct pty *p, const char *line);

/* Wait until the cursor's row reads text (trailing blanks ignored) with
 * the cursor at column col / until some row reads text / until at least n
 * bells have rung. */
bool pty_wait_input(struct pty *p, const char *text, int col);
bool pty_wait_row(struct pty *p, const char *text);
bool pty_wait_bells(struct pty *p, int n);
/* Wait until some row holds text anywhere in it / until the bytes written
 * so far hold text (for text that wraps, or is drawn over). */
bool pty_wait_row_has(struct pty *p, const char *text);
bool pty_wait_output(struct pty *p, const char *text);

/* The row `up` rows above the cursor's (0: the cursor's own), without
 * trailing blanks; "" above the top. Valid until the next call. */
const char *pty_row(struct pty *p, int up);

/* The row `up` rows above the cursor's is some text, and every character
 * in it was written dim. */
bool pty_row_dim(struct pty *p, int up);

/* How many rows above the cursor's the nearest row holding text is (0:
 * the cursor's own), or -1 when no row holds it. As of the last wait. */
int pty_find_row(struct pty *p, const char *text);

/* The screen as text, one row a line, and the cursor: for failure
 * messages. Valid until the next call. */
const char *pty_dump(struct pty *p);

/* Waits for the program to end, reading what it writes meanwhile; returns
 * its wait status, or -1 (after killing it) when it does not end in
 * time. */
int pty_wait_exit(struct pty *p);

/* How many bytes of input the program has not read yet. */
int pty_unread(struct pty *p);

/* Kills the program if it still runs, and closes everything; does nothing
 * before pty_start or after an earlier pty_end. */
void pty_end(struct pty *p);

#endif
