/*
 * fuzz_text.c - libFuzzer target: the UTF-8 and control-byte rule against
 * the sanitiser. Text that passes the rule comes out of proto_sanitize
 * unchanged; whatever proto_sanitize produces passes the rule; and a name
 * that passes proto_name_ok passes the text rule too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

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

	char name[PROTO_MAX_NAME + 2];
	size_t k = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
	memcpy(name, s, k);
	name[k] = '\0';
	if (proto_name_ok(name) && !proto_text_ok(name, strlen(name)))
		abort();
	return 0;
}
