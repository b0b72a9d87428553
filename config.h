/*
 * config.h - the server's settings, from its flags and the environment.
 *
 * Every flag is one row of a table in config.c, which parses it, checks its
 * range and prints it in --help, so the three never disagree. The defaults
 * and their reasons are in docs/OPERATIONS.md.
 */
#ifndef HUBCHAT_CONFIG_H
#define HUBCHAT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "version.h"

struct config {
	char addr[64];          /* numeric listen address; "::" = all */
	char port[6];           /* "0" asks the kernel for a free port */
	char web_port[6];       /* the web listener's; "" = none */
	char web_addr[64];      /* its address; "" = the same as addr */
	char web_origins[8][256];   /* --web-origin, n_web_origins of them */
	size_t n_web_origins;
	bool metrics;           /* GET /metrics on the web listener */
	bool debug_page;        /* GET /debug on it: queues drawn live */
	size_t max_clients;     /* connections at once, logged in or not */
	size_t max_per_addr;    /* connections at once from one address (an
	                           IPv6 /64); 0 = no limit */
	size_t queue_hard;      /* bytes a client's queue may hold */
	size_t queue_soft;      /* bytes it may hold for queue_soft_sec */
	int queue_soft_sec;
	size_t flood_burst;     /* lines a client may send at once ... */
	size_t flood_rate;      /* ... and per second after that; 0 = off */
	size_t notices_max;     /* join/leave notices up to this room size */
	size_t history;         /* messages kept per room; 0 = none */
	size_t max_rooms;       /* rooms held in memory */
	char data_dir[1024];    /* where room logs go; "" = memory only */
	char fsync[16];         /* "always", "second" or "no" */
	char redis[280];        /* --redis HOST:PORT; "" = one node alone */
	char node_id[64];       /* --node-id; "" = <hostname>:<port> */
	int name_lease;         /* seconds a name outlives its node's death */
	int idle_timeout;       /* seconds without a complete line; 0 = never */
	int login_timeout;      /* seconds to log in; 0 = never */
	bool quiet;             /* no per-message log lines */
	bool log_dm;            /* private messages' text in the log too */
	int stats_sec;          /* a [STATS] line this often; 0 = on SIGUSR1 */
	bool trace;             /* [TRACE] lines: threads, queues, evictions */
	size_t sndbuf;          /* test-only: SO_SNDBUF per client; 0 = as is */
	size_t archive_queue;   /* bytes of lines waiting for the disk */
};

/* Fills cfg from argv and CHAT_PORT. Prints help or the version and exits
 * 0 when asked; on a bad flag or value prints one line on stderr and exits
 * 2. Returns only with a valid cfg. */
void config_parse(int argc, char **argv, struct config *cfg);

#endif
