/*
 * keys.h - the bytes a terminal sends for keys, turned back into keys:
 * printable UTF-8 characters, control bytes, and the escape sequences of
 * the cursor and editing keys. Pure: no I/O; the only state is the
 * decoder's, which lets a key arrive split across reads.
 *
 * The keys are the line editor's: each kind below lists the bytes that
 * make it. Escape sequences are CSI (ESC [) or SS3 (ESC O); those with
 * other parameters or finals, with modifiers or not, are swallowed whole,
 * and so is ESC followed by a printable byte (an Alt combination). A
 * control byte in the middle of a sequence ends it and counts as itself,
 * so a stray ESC cannot eat an Enter. Control bytes not listed (TAB, ^Z,
 * ^S, ...), invalid UTF-8 and C1 control characters are dropped. An LF
 * right after a CR is dropped too: CR LF is one Enter.
 */
#ifndef HUBCHAT_KEYS_H
#define HUBCHAT_KEYS_H

#include <stdbool.h>
#include <stddef.h>

struct keys;

enum keys_kind {
	KEYS_CHAR,        /* a printable character, in ch[0..len) */
	KEYS_LEFT,        /* ESC [D, ESC OD, ^B */
	KEYS_RIGHT,       /* ESC [C, ESC OC, ^F */
	KEYS_HOME,        /* ESC [H, ESC OH, ESC [1~, ESC [7~, ^A */
	KEYS_END,         /* ESC [F, ESC OF, ESC [4~, ESC [8~, ^E */
	KEYS_UP,          /* ESC [A, ESC OA, ^P */
	KEYS_DOWN,        /* ESC [B, ESC OB, ^N */
	KEYS_DELETE,      /* ESC [3~ */
	KEYS_BACKSPACE,   /* DEL (0x7F), ^H */
	KEYS_KILL_START,  /* ^U */
	KEYS_KILL_END,    /* ^K */
	KEYS_KILL_WORD,   /* ^W */
	KEYS_REDRAW,      /* ^L */
	KEYS_ENTER,       /* CR, LF, or CR LF */
	KEYS_CTRL_D,      /* ^D */
	KEYS_INTERRUPT,   /* ^C */
};

struct key {
	enum keys_kind kind;
	char ch[4];             /* KEYS_CHAR's bytes: valid UTF-8 */
	size_t len;
};

/* Returns a decoder between keys, or NULL when memory runs out. The caller
 * frees it with keys_free. */
struct keys *keys_new(void);
void keys_free(struct keys *k);

/* Takes the next input byte. Returns true when it completes a key, stored
 * in *key; false while a key is still incomplete or when the bytes so far
 * were swallowed. */
bool keys_feed(struct keys *k, unsigned char b, struct key *key);

#endif
