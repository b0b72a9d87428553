/*
 * config.c - server flags. The defaults and their reasons are in README.md
 * ("Limits and policies").
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "die.h"

static const char usage[] =
"usage: server [options]\n"
"  -p, --port PORT         TCP port (default 4000, or $CHAT_PORT; 0 = any)\n"
"  -a, --addr ADDR         listen address (default 127.0.0.1; :: = all,\n"
"                          IPv4 and IPv6)\n"
"      --max-clients N     connections at once (default 1024)\n"
"      --queue N           lines queued per client before it is cut off\n"
"                          as a slow consumer (default 1024)\n"
"      --notices-max N     join and leave notices only while at most N\n"
"                          users are online (default 500; 0 = none)\n"
"      --idle-timeout SEC  close a client silent for SEC seconds\n"
"                          (default 60; 0 = never)\n"
"  -q, --quiet             do not log each message\n"
"      --trace             log thread starts and exits, the queue depth at\n"
"                          each delivery, and evictions (off: no cost)\n"
"      --sndbuf BYTES      test-only: a small socket send buffer per client,\n"
"                          to force short writes\n"
"  -h, --help              show this help\n"
"  -V, --version           show the version\n";

static void
config_fail(const char *what, const char *value)
{
	die_with(2, "%s: %s (try --help)", what, value);
}

/* Parses a whole decimal number in [min, max], or fails naming the flag. */
static long
config_number(const char *flag, const char *s, long min, long max)
{
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
		char what[96];
		snprintf(what, sizeof(what), "%s wants a number from %ld to %ld",
		    flag, min, max);
		config_fail(what, s);
	}
	return v;
}

static void
config_port(struct config *cfg, const char *flag, const char *s)
{
	long port = config_number(flag, s, 0, 65535);
	snprintf(cfg->port, sizeof(cfg->port), "%ld", port);
}

static void
config_defaults(struct config *cfg)
{
	snprintf(cfg->addr, sizeof(cfg->addr), "127.0.0.1");
	snprintf(cfg->port, sizeof(cfg->port), "4000");
	cfg->max_clients = 1024;
	cfg->queue_cap = 1024;
	cfg->notices_max = 500;         /* hub.c, hub_announce_join: why */
	cfg->idle_timeout = 60;
	cfg->quiet = false;
}

enum { OPT_MAX_CLIENTS = 256, OPT_QUEUE, OPT_NOTICES, OPT_IDLE, OPT_SNDBUF,
	OPT_TRACE };

static const struct option options[] = {
	{ "port", required_argument, NULL, 'p' },
	{ "addr", required_argument, NULL, 'a' },
	{ "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
	{ "queue", required_argument, NULL, OPT_QUEUE },
	{ "notices-max", required_argument, NULL, OPT_NOTICES },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE },
	{ "sndbuf", required_argument, NULL, OPT_SNDBUF },
	{ "trace", no_argument, NULL, OPT_TRACE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

void
config_parse(int argc, char **argv, struct config *cfg)
{
	const char *env = getenv("CHAT_PORT");
	bool port_given = false;
	int c;

	config_defaults(cfg);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:a:qhV", options, NULL)) != -1) {
		switch (c) {
		case 'p':
			config_port(cfg, "--port", optarg);
			port_given = true;
			break;
		case 'a':
			if (strlen(optarg) >= sizeof(cfg->addr))
				config_fail("--addr is too long", optarg);
			snprintf(cfg->addr, sizeof(cfg->addr), "%s", optarg);
			break;
		case OPT_MAX_CLIENTS:
			cfg->max_clients = (size_t)config_number("--max-clients",
			    optarg, 1, 1000000);
			break;
		case OPT_QUEUE:
			cfg->queue_cap = (size_t)config_number("--queue", optarg,
			    1, 1000000);
			break;
		case OPT_NOTICES:
			cfg->notices_max = (size_t)config_number("--notices-max",
			    optarg, 0, 1000000);
			break;
		case OPT_IDLE:
			cfg->idle_timeout = (int)config_number("--idle-timeout",
			    optarg, 0, INT_MAX / 1000);
			break;
		case OPT_SNDBUF:
			cfg->sndbuf = (int)config_number("--sndbuf", optarg, 1,
			    1 << 24);
			break;
		case 'q':
			cfg->quiet = true;
			break;
		case OPT_TRACE:
			cfg->trace = true;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case 'V':
			printf("hubchat server %s\n", HUBCHAT_VERSION);
			exit(0);
		case ':':
			config_fail("missing value for", argv[optind - 1]);
			break;
		default:
			config_fail("unknown option", argv[optind - 1]);
		}
	}
	if (optind < argc)
		config_fail("unexpected argument", argv[optind]);
	if (!port_given && env != NULL)
		config_port(cfg, "CHAT_PORT", env);
}
