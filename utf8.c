/*
 * utf8.c - UTF-8 characters; see utf8.h.
 *
 * utf8_width measures in C.UTF-8, not in the program's locale: the chat is
 * UTF-8 whatever LANG says, and calling setlocale() would change the whole
 * program. The locale is made once and set around each wcwidth() call for
 * the calling thread only (uselocale), so other threads are not touched.
 */
#include "utf8.h"

#include <assert.h>
#include <locale.h>
#include <pthread.h>
#include <string.h>
#include <wchar.h>

static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;
static locale_t utf8_locale;    /* C.UTF-8, or 0 when there is none;
                                   set once, never freed */

size_t
utf8_len(unsigned char b)
{
	return b < 0x80 ? 1 : b < 0xC2 ? 0 : b < 0xE0 ? 2 : b < 0xF0 ? 3 :
	    b < 0xF5 ? 4 : 0;
}

size_t
utf8_decode(const char *s, size_t n, uint32_t *cp)
{
	static const uint32_t least[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	const unsigned char *u = (const unsigned char *)s;
	size_t len = n == 0 ? 0 : utf8_len(u[0]);
	uint32_t c;

	if (len == 0 || len > n)
		return 0;
	c = len == 1 ? u[0] : u[0] & (0x7Fu >> len);
	for (size_t i = 1; i < len; i++) {
		if ((u[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (u[i] & 0x3F);
	}
	if (c < least[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

bool
utf8_printable(uint32_t cp)
{
	return cp >= 0x20 && cp != 0x7F && !(cp >= 0x80 && cp < 0xA0);
}

size_t
utf8_next(const char *s, size_t n, size_t i)
{
	assert(i < n);
	while (++i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
		;
	return i;
}

size_t
utf8_prev(const char *s, size_t i)
{
	assert(i > 0);
	while (--i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
		;
	return i;
}

size_t
utf8_clean(const char *s, char *out, size_t n)
{
	size_t o = 0, len = strlen(s), k;
	uint32_t cp;

	for (size_t i = 0; i < len; i += k) {
		const char *c = s + i;
		size_t take = k = utf8_decode(c, len - i, &cp);
		if (k == 0 || !utf8_printable(cp)) {
			c = "?";
			take = 1;
			k = k == 0 ? 1 : k;
		}
		if (o + take > n)
			break;
		memcpy(out + o, c, take);
		o += take;
	}
	return o;
}

static void
utf8_make_locale(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

int
utf8_width(uint32_t cp)
{
	int w;

	if (cp >= 0x20 && cp < 0x7F)
		return 1;
	pthread_once(&utf8_once, utf8_make_locale);
	if (utf8_locale == (locale_t)0)
		return 1;
	locale_t old = uselocale(utf8_locale);
	w = wcwidth((wchar_t)cp);
	uselocale(old);
	return w < 0 ? 1 : w;
}
