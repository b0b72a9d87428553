/*
 * utf8.h - UTF-8 characters for the line editor: decoding with every rule
 * checked, stepping over characters in a valid string, and the columns a
 * character takes on a terminal.
 */
#ifndef HUBCHAT_UTF8_H
#define HUBCHAT_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How many bytes a character starting with byte b has: 1 to 4, or 0 when
 * b cannot start one (a continuation byte, 0xC0, 0xC1, 0xF5-0xFF). */
size_t utf8_len(unsigned char b);

/* Decodes the character at s[0..n): returns its length with *cp set, or 0
 * when the bytes do not start a whole, valid character (overlong forms,
 * surrogates and values past U+10FFFF are invalid). */
size_t utf8_decode(const char *s, size_t n, uint32_t *cp);

/* True for a character that may be shown: not C0, DEL or C1. */
bool utf8_printable(uint32_t cp);

/* In valid UTF-8 s[0..n): the start of the character after the one at i
 * (i < n), and of the one before i (i > 0). */
size_t utf8_next(const char *s, size_t n, size_t i);
size_t utf8_prev(const char *s, size_t i);

/* Copies the printable UTF-8 of s (NUL-terminated) to out, which holds n
 * bytes, each other byte as '?', by whole characters as far as they fit;
 * returns the bytes copied (no NUL is added). */
size_t utf8_clean(const char *s, char *out, size_t n);

/* Columns the character takes: wcwidth()'s answer in the C.UTF-8 locale,
 * so 0 for a combining mark and 2 for a wide East Asian character,
 * whatever the program's locale; 1 for anything it does not know. Safe from
 * any thread. */
int utf8_width(uint32_t cp);

#endif
