/*
 * test_lineedit.c - the line editor (lineedit.h) on a pseudo-terminal:
 * tests/lined_demo runs it, the test types keys and plays the network
 * (tests/pty.h), and the assertions are on the screen a person would see,
 * on the lines submitted ("GOT <line>" rows), and on the terminal settings
 * left behind. The key decoder and the history ring are tested on their
 * own first, as the pure functions they are.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "harness.h"
#include "linehist.h"
#include "keys.h"
#include "pty.h"

#define UP    "\033[A"
#define DOWN  "\033[B"
#define RIGHT "\033[C"
#define LEFT  "\033[D"
#define DEL   "\033[3~"
#define HOME  "\001"            /* ^A */
#define END   "\005"            /* ^E */
#define ENTER "\r"

static struct pty pt;

/* The cursor's row reads text, with the cursor at column col. */
#define INPUT(text, col) cr_assert(pty_wait_input(&pt, text, col), \
    "wanted input \"%s\" at column %d; screen:\n%s", text, col, \
    pty_dump(&pt))
/* Some row reads text. */
#define ROW(text) cr_assert(pty_wait_row(&pt, text), \
    "wanted a row \"%s\"; screen:\n%s", text, pty_dump(&pt))
/* At least n bells have rung. */
#define BELLS(n) cr_assert(pty_wait_bells(&pt, n), \
    "wanted %d bells; screen:\n%s", n, pty_dump(&pt))

/* Starts the demo with a line limit of max bytes and waits for its prompt,
 * drawn once the terminal is raw. */
static void
start(const char *max)
{
	struct termios t;

	pty_start(&pt, max, "xterm");
	INPUT("you>", 5);
	cr_assert(tcgetattr(pt.slave, &t) == 0);
	cr_assert((t.c_lflag & (ICANON | ECHO | ISIG)) == 0,
	    "the terminal is not raw");
}

static void
start_default(void)
{
	start("1020");
}

static void
end(void)
{
	pty_end(&pt);
}

/* The rows above the cursor's and its own read rows[0..n), in order. */
static void
expect_rows(const char *const rows[], int n)
{
	for (int i = 0; i < n; i++)
		cr_assert_str_eq(pty_row(&pt, n - 1 - i), rows[i],
		    "row %d of %d; screen:\n%s", i, n, pty_dump(&pt));
}

/* The settings are those from before the demo ran, and the input row is
 * gone: no row holds the prompt, and the cursor is at the start of an
 * empty row. */
static void
expect_restored(void)
{
	struct termios t;

	cr_assert(tcgetattr(pt.slave, &t) == 0);
	cr_assert((t.c_lflag & ICANON) && (t.c_lflag & ECHO),
	    "ICANON or ECHO is still off");
	cr_assert_eq(t.c_lflag, pt.before.c_lflag);
	cr_assert_eq(t.c_iflag, pt.before.c_iflag);
	cr_assert_eq(t.c_oflag, pt.before.c_oflag);
	cr_assert_eq(t.c_cc[VMIN], pt.before.c_cc[VMIN]);
	for (int up = 0; up <= pt.scr.row; up++)
		cr_assert(strncmp(pty_row(&pt, up), "you>", 4) != 0,
		    "a prompt is left; screen:\n%s", pty_dump(&pt));
	cr_assert_str_eq(pty_row(&pt, 0), "");
	cr_assert_eq(pt.scr.col, 0);
}

/* ---- The decoder and the history on their own -------------------------- */

/* Feeds bytes to a new decoder; returns the keys made, at most max. */
static int
decode(const char *bytes, size_t n, struct key *out, int max)
{
	struct keys *k = keys_new();
	int got = 0;

	cr_assert_not_null(k);
	for (size_t i = 0; i < n; i++)
		if (keys_feed(k, (unsigned char)bytes[i], &out[got]) &&
		    ++got == max)
			break;
	keys_free(k);
	return got;
}

Test(keys, sequences_and_characters)
{
	static const char in[] = "\033[D\033OH\033[4~\033[1;5Ca\033xb\303\251"
	    "\302\205\377\033\r\r\n\177";
	static const enum keys_kind want[] = { KEYS_LEFT, KEYS_HOME, KEYS_END,
	    KEYS_CHAR, KEYS_CHAR, KEYS_CHAR, KEYS_ENTER, KEYS_ENTER,
	    KEYS_BACKSPACE };
	struct key got[16];
	int n = decode(in, sizeof(in) - 1, got, 16);

	cr_assert_eq(n, (int)(sizeof(want) / sizeof(want[0])));
	for (int i = 0; i < n; i++)
		cr_assert_eq(got[i].kind, want[i], "key %d", i);
	cr_assert(got[3].len == 1 && got[3].ch[0] == 'a');
	cr_assert(got[4].len == 1 && got[4].ch[0] == 'b');  /* after Alt-x */
	cr_assert(got[5].len == 2 && memcmp(got[5].ch, "\303\251", 2) == 0);
}

Test(linehist, bounded_and_without_repeats)
{
	struct linehist *h = linehist_new(3);
	char line[8];

	cr_assert_not_null(h);
	linehist_add(h, "", 0);
	linehist_add(h, "a", 1);
	linehist_add(h, "a", 1);
	cr_assert_eq(linehist_count(h), 1);
	for (int i = 0; i < 5; i++) {
		snprintf(line, sizeof(line), "l%d", i);
		linehist_add(h, line, strlen(line));
	}
	cr_assert_eq(linehist_count(h), 3);
	cr_assert_str_eq(linehist_get(h, 0), "l2");
	cr_assert_str_eq(linehist_get(h, 2), "l4");
	linehist_free(h);
}

/* ---- Output while typing ----------------------------------------------- */

TestSuite(lineedit, .init = start_default, .fini = end, .timeout = 30);
/* Tests that start the demo themselves. */
TestSuite(lineedit_own_start, .fini = end, .timeout = 30);

Test(lineedit, message_arrives_mid_typing)
{
	static const char *const after[] = {
		"bob: interrupting you mid-line",
		"you> I am typing a long half-finished line",
		"GOT I am typing a long half-finished line",
		"you>",
	};

	pty_type(&pt, "I am typing a long half-fini");
	INPUT("you> I am typing a long half-fini", 33);
	pty_net(&pt, "bob: interrupting you mid-line");
	ROW("bob: interrupting you mid-line");
	INPUT("you> I am typing a long half-fini", 33);
	/* Exactly: clear the row, the message, then prompt and line again. */
	cr_assert_not_null(memmem(pt.out, pt.len, "\r\033[Kbob: interrupting "
	    "you mid-line\r\n\ryou> I am typing a long half-fini\033[K\r"
	    "\033[33C", 74));
	pty_type(&pt, "shed line" ENTER);
	ROW("GOT I am typing a long half-finished line");
	INPUT("you>", 5);
	expect_rows(after, 4);
	cr_assert(!pt.scr.unknown && pt.scr.wraps == 0, "%s", pty_dump(&pt));
}

Test(lineedit, many_messages_while_typing)
{
	char msg[32], typed[41] = "", want[64], row[48];

	/* The network thread prints while the main thread handles keys:
	 * the editor's lock keeps each message whole and the line intact. */
	for (int i = 0; i < 200; i++) {
		snprintf(msg, sizeof(msg), "msg %d", i);
		pty_net(&pt, msg);
		if (i % 5 == 0) {
			typed[i / 5] = (char)('a' + i / 5 % 26);
			pty_type(&pt, typed + i / 5);
		}
	}
	snprintf(row, sizeof(row), "you> %s", typed);
	ROW("msg 199");
	INPUT(row, 45);
	for (int i = 0; i < 200; i++) {
		int n = snprintf(want, sizeof(want), "\r\033[Kmsg %d\r\n", i);
		cr_assert_not_null(memmem(pt.out, pt.len, want, (size_t)n),
		    "msg %d is not whole", i);
	}
	pty_type(&pt, ENTER);
	snprintf(row, sizeof(row), "GOT %s", typed);
	ROW(row);
	cr_assert(!pt.scr.unknown && pt.scr.wraps == 0, "%s", pty_dump(&pt));
}

Test(lineedit, cursor_stays_put_under_a_message)
{
	pty_type(&pt, "helo" LEFT);
	INPUT("you> helo", 8);
	pty_net(&pt, "carol: hi");
	ROW("carol: hi");
	INPUT("you> helo", 8);
	pty_type(&pt, "l" ENTER);
	ROW("GOT hello");
}

Test(lineedit, prompt_changes_while_typing)
{
	pty_type(&pt, "half");
	INPUT("you> half", 9);
	pty_net(&pt, "PROMPT alice #café> ");
	INPUT("alice #café> half", 17);
	pty_net(&pt, "PROMPT a\001b> ");     /* a control byte shows as ? */
	INPUT("a?b> half", 9);
	pty_type(&pt, ENTER);
	ROW("GOT half");
	ROW("a?b> half");
}

Test(lineedit, echo_off_leaves_no_submitted_line)
{
	static const char *const rows[] = { "before", "ECHO is off",
	    "GOT hello", "you>" };

	pty_net(&pt, "before");
	ROW("before");
	pty_net(&pt, "ECHO off");
	ROW("ECHO is off");
	pty_type(&pt, "hello" ENTER);
	ROW("GOT hello");
	INPUT("you>", 5);
	expect_rows(rows, 4);           /* no "you> hello" row */
	pty_net(&pt, "ECHO on");
	ROW("ECHO is on");
	pty_type(&pt, "again" ENTER);
	ROW("GOT again");
	ROW("you> again");
}

/* ---- Editing ----------------------------------------------------------- */

Test(lineedit, backspace_over_utf8)
{
	pty_type(&pt, "aé€");         /* 1, 2 and 3 bytes */
	INPUT("you> aé€", 8);
	pty_type(&pt, "\177");          /* DEL */
	INPUT("you> aé", 7);
	pty_type(&pt, "\b");            /* ^H */
	INPUT("you> a", 6);
	pty_type(&pt, "b" ENTER);
	ROW("GOT ab");
}

Test(lineedit, keys_split_across_reads)
{
	pty_type(&pt, "x\342");         /* the first byte of € */
	INPUT("you> x", 6);
	cr_assert_eq(pty_unread(&pt), 0);
	pty_type(&pt, "\202\254");
	INPUT("you> x€", 7);
	pty_type(&pt, "y\033[");        /* the start of Left */
	INPUT("you> x€y", 8);
	cr_assert_eq(pty_unread(&pt), 0);
	pty_type(&pt, "D");
	INPUT("you> x€y", 7);
	pty_type(&pt, "z" ENTER);
	ROW("GOT x€zy");
}

Test(lineedit, kill_keys)
{
	pty_type(&pt, "hello brave new world");
	INPUT("you> hello brave new world", 26);
	pty_type(&pt, "\027");          /* ^W */
	INPUT("you> hello brave new", 21);
	pty_type(&pt, "\027");
	INPUT("you> hello brave", 17);
	pty_type(&pt, HOME RIGHT RIGHT RIGHT RIGHT RIGHT RIGHT "\013"); /* ^K */
	INPUT("you> hello", 11);
	pty_type(&pt, "\025");          /* ^U */
	INPUT("you>", 5);
	pty_type(&pt, "abc def" LEFT LEFT LEFT "\025");
	INPUT("you> def", 5);
	pty_type(&pt, ENTER);
	ROW("GOT def");
}

Test(lineedit, home_and_end_in_every_form)
{
	/* Each Home is tried from the end and inserts a letter; each End
	 * from the start and inserts a digit. A key that did not move would
	 * leave its letter or digit out of place. */
	pty_type(&pt, "x" END "\033[H" "a" END "\033OH" "b" END "\033[1~" "c"
	    END "\033[7~" "d" END HOME "e");
	INPUT("you> edcbax", 6);
	pty_type(&pt, HOME "\033[F" "1" HOME "\033OF" "2" HOME "\033[4~" "3"
	    HOME "\033[8~" "4" HOME END "5" ENTER);
	ROW("GOT edcbax12345");
}

Test(lineedit, left_and_right_in_every_form)
{
	pty_type(&pt, "abc" LEFT "X" "\033OD" "Y" "\002" "Z");  /* ^B */
	INPUT("you> abZYXc", 8);
	pty_type(&pt, HOME RIGHT "1" "\033OC" "2" "\006" "3");  /* ^F */
	INPUT("you> a1b2Z3YXc", 11);
	pty_type(&pt, ENTER);
	ROW("GOT a1b2Z3YXc");
}

Test(lineedit, delete_and_ctrl_d_on_text)
{
	pty_type(&pt, "abc" HOME DEL);
	INPUT("you> bc", 5);
	pty_type(&pt, "\004");          /* ^D on text deletes */
	INPUT("you> c", 5);
	pty_type(&pt, DEL DEL);         /* the second has nothing to delete */
	INPUT("you>", 5);
	pty_type(&pt, "q\004");         /* at the end: nothing */
	INPUT("you> q", 6);
	pty_type(&pt, ENTER);
	ROW("GOT q");
}

Test(lineedit, history_up_and_down)
{
	int bells;

	pty_type(&pt, "first" ENTER "second" ENTER "third" ENTER);
	ROW("GOT third");
	INPUT("you>", 5);
	pty_type(&pt, UP);
	INPUT("you> third", 10);
	pty_type(&pt, UP);
	INPUT("you> second", 11);
	pty_type(&pt, "\177");          /* an edit to a recalled line ... */
	INPUT("you> secon", 10);
	pty_type(&pt, UP);
	INPUT("you> first", 10);
	bells = pt.scr.bells;
	pty_type(&pt, UP);              /* nothing older */
	BELLS(bells + 1);
	INPUT("you> first", 10);
	pty_type(&pt, DOWN);            /* ... is dropped, the entry kept */
	INPUT("you> second", 11);
	pty_type(&pt, DOWN DOWN);
	INPUT("you>", 5);
	pty_type(&pt, "dra\020");       /* ^P; the draft comes back with ^N */
	INPUT("you> third", 10);
	pty_type(&pt, "\016");
	INPUT("you> dra", 8);
	pty_type(&pt, "\025" UP UP "!" ENTER);
	ROW("GOT second!");
	pty_type(&pt, UP);
	INPUT("you> second!", 12);
	pty_type(&pt, UP);
	INPUT("you> third", 10);
}

Test(lineedit, history_keeps_the_last_100)
{
	char lines[1024] = "", ups[512] = "";
	size_t n = 0;
	int bells;

	for (int i = 0; i < 105; i++)
		n += (size_t)snprintf(lines + n, sizeof(lines) - n, "l%d\r", i);
	pty_type(&pt, lines);
	ROW("GOT l104");
	INPUT("you>", 5);
	for (int i = 0; i < 100; i++)
		strcat(ups, UP);
	pty_type(&pt, ups);
	INPUT("you> l5", 7);
	bells = pt.scr.bells;
	pty_type(&pt, UP);
	BELLS(bells + 1);
	INPUT("you> l5", 7);
}

Test(lineedit, unknown_sequences_are_swallowed)
{
	/* Ctrl-Right, bracketed paste's marker, F5, F1, Alt-x, and a
	 * sequence too long to be anything. */
	pty_type(&pt, "a\033[1;5C\033[200~\033[15~\033OP\033x"
	    "\033[99999999999999999999~b");
	INPUT("you> ab", 7);
	pty_type(&pt, "c\033" ENTER);   /* a stray ESC does not eat Enter */
	ROW("GOT abc");
	cr_assert(!pt.scr.unknown, "%s", pty_dump(&pt));
}

Test(lineedit, control_bytes_are_not_inserted)
{
	/* TAB, ^Z, ^S, ^Q, ^\, BEL, a C1 control (U+0085), a stray 0xFF and
	 * an overlong '/'. */
	pty_type(&pt, "a\t\032\023\021\034\007b\302\205\377\300\257c");
	INPUT("you> abc", 8);
	pty_type(&pt, ENTER);
	ROW("GOT abc");
}

Test(lineedit, cr_lf_is_one_enter)
{
	static const char *const rows[] = { "you> a", "GOT a", "you> b",
	    "GOT b", "you> c", "GOT c", "you>" };

	pty_type(&pt, "a\r\nb\rc\n");
	ROW("GOT c");
	INPUT("you>", 5);
	expect_rows(rows, 7);
}

Test(lineedit_own_start, max_length_refused_with_a_bell)
{
	int bells;

	start("10");
	pty_type(&pt, "0123456789");
	INPUT("you> 0123456789", 15);
	bells = pt.scr.bells;
	pty_type(&pt, "X");
	BELLS(bells + 1);
	INPUT("you> 0123456789", 15);
	pty_type(&pt, "\177é");         /* 9 bytes + 2 is too many */
	BELLS(bells + 2);
	INPUT("you> 012345678", 14);
	pty_type(&pt, "Y" ENTER);
	ROW("GOT 012345678Y");
}

/* ---- The row's width --------------------------------------------------- */

Test(lineedit, long_line_scrolls_on_one_row)
{
	char line[81], tail[50], head[50], got[51];
	size_t typing;

	for (int i = 0; i < 80; i++)
		line[i] = (char)('A' + i % 26);
	line[80] = '\0';
	snprintf(tail, sizeof(tail), "%s", line + 80 - 49);
	snprintf(head, sizeof(head), "you> %.44s", line);
	pty_net(&pt, "before");
	ROW("before");
	INPUT("you>", 5);
	typing = pt.len;
	pty_type(&pt, line);
	INPUT(tail, 49);                /* the prompt has scrolled away */
	cr_assert_str_eq(pty_row(&pt, 1), "before");
	pty_type(&pt, HOME);
	INPUT(head, 5);
	pty_type(&pt, END);
	INPUT(tail, 49);
	pty_type(&pt, LEFT LEFT LEFT LEFT LEFT LEFT LEFT LEFT LEFT LEFT);
	INPUT(tail, 39);                /* moving back does not scroll */
	cr_assert_str_eq(pty_row(&pt, 1), "before");
	cr_assert(memchr(pt.out + typing, '\n', pt.len - typing) == NULL,
	    "a newline while editing");
	cr_assert(pt.scr.wraps == 0 && !pt.scr.unknown, "%s", pty_dump(&pt));
	pty_type(&pt, ENTER);           /* GOT and the line: wrapped */
	snprintf(got, sizeof(got), "GOT %.46s", line);
	ROW(got);
}

Test(lineedit, wide_and_combining_characters)
{
	char wide[3 * 30 + 1] = "", shown[3 * 24 + 1] = "";

	pty_type(&pt, "日本");          /* two columns each */
	INPUT("you> 日本", 9);
	pty_type(&pt, "e\314\201");     /* e and a combining acute: one */
	INPUT("you> 日本e\314\201", 10);
	pty_type(&pt, LEFT);            /* onto the mark: the same column */
	INPUT("you> 日本e\314\201", 10);
	pty_type(&pt, LEFT LEFT "\177");
	INPUT("you> 本e\314\201", 5);
	pty_type(&pt, END "\025");
	INPUT("you>", 5);
	for (int i = 0; i < 30; i++)
		strcat(wide, "日");
	for (int i = 0; i < 24; i++)
		strcat(shown, "日");
	pty_type(&pt, wide);            /* 60 columns: 24 fit in 49 */
	INPUT(shown, 48);
}

Test(lineedit, redraw_follows_a_resize)
{
	struct winsize ws = { .ws_row = PTY_ROWS, .ws_col = 30 };
	const char *digits = "0123456789012345678901234567890123456789";

	pty_type(&pt, digits);
	INPUT("you> 0123456789012345678901234567890123456789", 45);
	cr_assert(ioctl(pt.master, TIOCSWINSZ, &ws) == 0);
	pty_type(&pt, "\014");          /* ^L */
	INPUT("12345678901234567890123456789", 29);
}

/* ---- Ending ------------------------------------------------------------ */

Test(lineedit, ctrl_d_on_an_empty_line_restores)
{
	pty_type(&pt, "half\025\004");
	int status = pty_wait_exit(&pt);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%d", status);
	expect_restored();
	cr_assert_str_eq(pty_row(&pt, 1), "BYE eof");
	cr_assert(pt.len > 9 && memcmp(pt.out + pt.len - 9, "BYE eof\r\n", 9)
	    == 0, "output after the end");
}

Test(lineedit, ctrl_c_restores)
{
	pty_type(&pt, "half");
	INPUT("you> half", 9);
	pty_type(&pt, "\003");
	int status = pty_wait_exit(&pt);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%d", status);
	expect_restored();
	cr_assert_str_eq(pty_row(&pt, 1), "BYE interrupt");
}

Test(lineedit, exit_restores)
{
	pty_type(&pt, "half");
	INPUT("you> half", 9);
	pty_net(&pt, "EXIT");           /* exit(0) with the editor running */
	int status = pty_wait_exit(&pt);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%d", status);
	expect_restored();
}

/* Types half a line, sends sig, and expects death by it and a restored
 * terminal. */
static void
killed_by(int sig)
{
	pty_type(&pt, "half");
	INPUT("you> half", 9);
	kill(pt.pid, sig);
	int status = pty_wait_exit(&pt);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == sig,
	    "status %d, wanted death by %s", status, strsignal(sig));
	expect_restored();
}

Test(lineedit, sigterm_restores)
{
	killed_by(SIGTERM);
}

Test(lineedit, sigsegv_restores)
{
	killed_by(SIGSEGV);
}

Test(lineedit_own_start, every_fatal_signal_restores)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGBUS, SIGFPE,
	    SIGILL, SIGABRT };

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		start("1020");
		killed_by(sigs[i]);
		pty_end(&pt);
	}
}

Test(lineedit, abort_restores)
{
	pty_type(&pt, "half");
	INPUT("you> half", 9);
	pty_net(&pt, "ABORT");
	int status = pty_wait_exit(&pt);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "%d",
	    status);
	expect_restored();
}

/* ---- Without a terminal ------------------------------------------------ */

Test(lineedit_own_start, pipes_keep_plain_io)
{
	char *argv[] = { "build/lined_demo", NULL };
	struct proc p;

	proc_start(&p, argv);
	proc_write(&p, "hello\n");
	proc_close_stdin(&p);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 0);
	cr_assert_str_eq(p.text, "PLAIN\nGOT hello\n");
}

Test(lineedit_own_start, dumb_terminal_keeps_plain_io)
{
	pty_start(&pt, "1020", "dumb");
	ROW("PLAIN");
	pty_type(&pt, "hi\r");          /* the terminal echoes, cooked */
	ROW("GOT hi");
	pty_type(&pt, "\004");
	cr_assert_eq(pty_wait_exit(&pt), 0);
	cr_assert(memchr(pt.out, '\033', pt.len) == NULL);
}
