/*
 * peeropts.h - the peer's command line: its flags, their checks, and the
 * shared secret taken from --secret or $HUBCHAT_PEER_SECRET.
 */
#ifndef HUBCHAT_PEEROPTS_H
#define HUBCHAT_PEEROPTS_H

#include <stdbool.h>

#include "proto.h"

struct peeropts {
	char name[PROTO_MAX_NAME + 1];  /* -n: proto_name_ok */
	const char *listen_addr;        /* -a: numeric; "::" = every one */
	const char *listen_port;        /* -l: 1-65535 */
	char host[256];                 /* -c's HOST: whom to dial */
	char port[8];                   /* -c's PORT: 1-65535 */
	char *secret;                   /* shared with the other side, or
	                                   NULL; owned, wiped when freed */
	bool any_peer;                  /* take calls from any address */
};

/* Fills o from argv and the environment. Prints the usage or the version
 * to stdout and exits 0 when asked; on a bad flag or value, prints one
 * line naming the program on stderr and exits 2. A --secret value is
 * copied and then blotted out of argv, so ps shows x's. */
void peeropts_parse(int argc, char **argv, struct peeropts *o);

/* Wipes and frees the secret. */
void peeropts_free(struct peeropts *o);

#endif
