/*
 * config.h - the server's settings, from its flags and the environment.
 */
#ifndef HUBCHAT_CONFIG_H
#define HUBCHAT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define HUBCHAT_VERSION "0.1.0"

struct config {
	char addr[64];          /* numeric listen address; "::" = all */
	char port[6];           /* "0" asks the kernel for a free port */
	size_t max_clients;     /* connections at once, logged in or not */
	size_t queue_cap;       /* lines waiting per client before eviction */
	size_t notices_max;     /* join/leave notices up to this room size */
	int idle_timeout;       /* seconds without a complete line; 0 = never */
	bool quiet;             /* no per-message log lines */
	bool trace;             /* [TRACE] lines: threads, queues, evictions */
	int sndbuf;             /* test-only: SO_SNDBUF per client; 0 = as is */
};

/* Fills cfg from argv and CHAT_PORT. Prints help or the version and exits
 * 0 when asked; on a bad flag or value prints one line on stderr and exits
 * 2. Returns only with a valid cfg. */
void config_parse(int argc, char **argv, struct config *cfg);

#endif
