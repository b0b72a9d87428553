/*
 * fuzz_text.c - libFuzzer target: the UTF-8 and control-character rule
 * against the sanitiser and against an oracle of its own. Text that passes
 * the rule comes out of proto_sanitize unchanged; whatever proto_sanitize
 * produces passes the rule; text that passes holds no C0 control but TAB,
 * no DEL, no C1 control and no bidi embedding, override or isolate, found
 * here by their byte patterns rather than by the decoder under test; and a
 * name that passes proto_name_ok passes the text rule too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* True when s holds a character the rule must refuse, by its encoding:
 * bytes below 0x20 but TAB, 0x7F, C2 80-C2 9F (U+0080-U+009F), E2 80 AA-AE
 * (U+202A-U+202E) and E2 81 A6-A9 (U+2066-U+2069). */
static int
has_forbidden(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7F)
			return 1;
		if (i + 1 < n && s[i] == 0xC2 && s[i + 1] >= 0x80 &&
		    s[i + 1] <= 0x9F)
			return 1;
		if (i + 2 < n && s[i] == 0xE2 && ((s[i + 1] == 0x80 &&
		    s[i + 2] >= 0xAA && s[i + 2] <= 0xAE) || (s[i + 1] == 0x81 &&
		    s[i + 2] >= 0xA6 && s[i + 2] <= 0xA9)))
			return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[4 * 4096 + 1];
	const char *s = (const char *)data;

	if (size > 4096)
		return 0;
	size_t n = proto_sanitize(s, size, out, sizeof(out));
	if (!proto_text_ok(out, n))
		abort();
	if (proto_text_ok(s, size) && (n != size || memcmp(out, s, n) != 0))
		abort();
	if (proto_text_ok(s, size) && has_forbidden(data, size))
		abort();
	if (has_forbidden((const unsigned char *)out, n))
		abort();

	char name[PROTO_MAX_NAME + 2];
	size_t k = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
	memcpy(name, s, k);
	name[k] = '\0';
	if (proto_name_ok(name) && !proto_text_ok(name, strlen(name)))
		abort();
	return 0;
}
