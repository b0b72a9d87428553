/*
 * keys.c - input bytes to keys; see keys.h.
 *
 * A small state machine: outside any key (PLAIN), inside a UTF-8
 * character, after ESC, and inside a CSI or SS3 sequence. Sequences follow
 * ECMA-48's shape: parameter and intermediate bytes 0x20-0x3F, then one
 * final byte 0x40-0x7E. Any other byte ends a sequence unfinished and is
 * then handled as if it came outside one; so one byte still makes at most
 * one key.
 */
#include "keys.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

enum keys_state { KS_PLAIN, KS_UTF8, KS_ESC, KS_CSI, KS_SS3 };

struct keys {
	enum keys_state state;
	unsigned char seq[8];   /* the UTF-8 character so far, or the
	                           sequence's parameters */
	size_t len;             /* bytes in seq; sizeof(seq) + 1 marks
	                           parameters too long to be a known key */
	size_t want;            /* bytes in the UTF-8 character */
	bool after_cr;          /* the byte before was CR */
};

struct keys *
keys_new(void)
{
	return calloc(1, sizeof(struct keys));
}

void
keys_free(struct keys *k)
{
	free(k);
}

/* The key a control byte makes; false for one that makes none. */
static bool
keys_control(unsigned char b, enum keys_kind *kind)
{
	static const signed char by_byte[0x20] = {
		[0x01] = KEYS_HOME,        [0x02] = KEYS_LEFT,
		[0x03] = KEYS_INTERRUPT,   [0x04] = KEYS_CTRL_D,
		[0x05] = KEYS_END,         [0x06] = KEYS_RIGHT,
		[0x08] = KEYS_BACKSPACE,   [0x0A] = KEYS_ENTER,
		[0x0B] = KEYS_KILL_END,    [0x0C] = KEYS_REDRAW,
		[0x0D] = KEYS_ENTER,       [0x0E] = KEYS_DOWN,
		[0x10] = KEYS_UP,          [0x15] = KEYS_KILL_START,
		[0x17] = KEYS_KILL_WORD,
	};

	_Static_assert(KEYS_CHAR == 0, "an unlisted byte reads as KEYS_CHAR");
	if (b == 0x7F) {
		*kind = KEYS_BACKSPACE;
		return true;
	}
	assert(b < 0x20);
	*kind = (enum keys_kind)by_byte[b];
	return *kind != KEYS_CHAR;
}

/* A byte outside any key. */
static bool
keys_plain(struct keys *k, unsigned char b, struct key *key)
{
	k->state = KS_PLAIN;
	if (b == 0x1B) {
		k->state = KS_ESC;
		return false;
	}
	if (b < 0x20 || b == 0x7F) {
		k->after_cr = b == '\r';
		return keys_control(b, &key->kind);
	}
	if (b < 0x80) {
		key->kind = KEYS_CHAR;
		key->ch[0] = (char)b;
		key->len = 1;
		return true;
	}
	k->want = utf8_len(b);
	if (k->want != 0) {                 /* else a stray byte: dropped */
		k->seq[0] = b;
		k->len = 1;
		k->state = KS_UTF8;
	}
	return false;
}

/* The next byte of a UTF-8 character: the whole character is a key if it
 * is valid and printable. A byte that cannot continue it drops it. */
static bool
keys_utf8(struct keys *k, unsigned char b, struct key *key)
{
	uint32_t cp;

	if ((b & 0xC0) != 0x80)
		return keys_plain(k, b, key);
	k->seq[k->len++] = b;
	if (k->len < k->want)
		return false;
	k->state = KS_PLAIN;
	if (utf8_decode((char *)k->seq, k->len, &cp) == 0 ||
	    !utf8_printable(cp))
		return false;
	key->kind = KEYS_CHAR;
	memcpy(key->ch, k->seq, k->len);
	key->len = k->len;
	return true;
}

/* The byte after ESC: '[' or 'O' starts a sequence, another ESC starts
 * over, a control byte counts as itself, and anything else makes an Alt
 * combination, swallowed. */
static bool
keys_esc(struct keys *k, unsigned char b, struct key *key)
{
	k->len = 0;
	if (b == '[' || b == 'O' || b == 0x1B) {
		k->state = b == '[' ? KS_CSI : b == 'O' ? KS_SS3 : KS_ESC;
		return false;
	}
	if (b < 0x20 || b == 0x7F)
		return keys_plain(k, b, key);
	k->state = KS_PLAIN;
	return false;
}

/* The key a sequence names by its parameters and final byte; false for a
 * sequence that names none here. */
static bool
keys_named(const struct keys *k, unsigned char final, enum keys_kind *kind)
{
	static const char finals[] = "ABCDHF";
	static const enum keys_kind by_final[] = { KEYS_UP, KEYS_DOWN,
	    KEYS_RIGHT, KEYS_LEFT, KEYS_HOME, KEYS_END };
	const char *f = strchr(finals, final);

	if (k->len == 0 && f != NULL) {
		*kind = by_final[f - finals];
		return true;
	}
	if (final != '~' || k->len != 1)
		return false;
	switch (k->seq[0]) {
	case '1': case '7': *kind = KEYS_HOME; return true;
	case '4': case '8': *kind = KEYS_END; return true;
	case '3': *kind = KEYS_DELETE; return true;
	default: return false;
	}
}

/* A byte inside a CSI or SS3 sequence. */
static bool
keys_seq(struct keys *k, unsigned char b, struct key *key)
{
	if (b >= 0x20 && b < 0x40) {
		if (k->len < sizeof(k->seq))
			k->seq[k->len] = b;
		if (k->len <= sizeof(k->seq))
			k->len++;
		return false;
	}
	if (b < 0x40 || b > 0x7E)
		return keys_plain(k, b, key);
	k->state = KS_PLAIN;
	return keys_named(k, b, &key->kind);
}

bool
keys_feed(struct keys *k, unsigned char b, struct key *key)
{
	bool after_cr = k->after_cr;

	k->after_cr = false;
	switch (k->state) {
	case KS_UTF8:
		return keys_utf8(k, b, key);
	case KS_ESC:
		return keys_esc(k, b, key);
	case KS_CSI:
	case KS_SS3:
		return keys_seq(k, b, key);
	case KS_PLAIN:
		break;
	}
	if (b == '\n' && after_cr)
		return false;
	return keys_plain(k, b, key);
}
