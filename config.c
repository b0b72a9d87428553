/*
 * config.c - server flags: one table row per flag, from which the parser,
 * the range checks and --help are all made. The defaults and their
 * reasons are in docs/OPERATIONS.md.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "die.h"
#include "http.h"

enum config_kind {
	CONFIG_COUNT,           /* size_t, a whole number */
	CONFIG_SIZE,            /* size_t bytes, with an optional K, M or G */
	CONFIG_SECONDS,         /* int */
	CONFIG_FLAG,            /* bool, no value */
	CONFIG_TEXT,            /* char[], a string that must fit */
	CONFIG_PORT,            /* char[6], a number from 0 to 65535 */
	CONFIG_GONE,            /* a flag that was replaced: say by what */
	CONFIG_ORIGIN,          /* --web-origin: one more of a list */
};

struct config_option {
	const char *name;       /* the long name, without "--" */
	char letter;            /* the short one, or 0 */
	enum config_kind kind;
	size_t offset;          /* of the field in struct config */
	size_t size;            /* CONFIG_TEXT: the field's size */
	long long min, max;     /* numbers, sizes and seconds */
	const char *arg;        /* what --help calls the value */
	const char *help;       /* what --help says; '\n' breaks a line */
};

#define FIELD(f) offsetof(struct config, f)

static const struct config_option config_options[] = {
	{ "port", 'p', CONFIG_PORT, FIELD(port), 0, 0, 0, "PORT",
	  "TCP port (default 4000, or $CHAT_PORT; 0 = any)" },
	{ "addr", 'a', CONFIG_TEXT, FIELD(addr), sizeof(((struct config *)0)->addr),
	  0, 0, "ADDR", "listen address (default 127.0.0.1; :: = every\n"
	  "IPv4 and IPv6 address)" },
	{ "web", 0, CONFIG_PORT, FIELD(web_port), 0, 0, 0, "PORT",
	  "serve the web page and WebSocket chat on PORT\n"
	  "(default: no web listener; 0 = any port)" },
	{ "web-addr", 0, CONFIG_TEXT, FIELD(web_addr),
	  sizeof(((struct config *)0)->web_addr), 0, 0, "ADDR",
	  "the web listener's address (default: --addr's)" },
	{ "web-origin", 0, CONFIG_ORIGIN, 0, 0, 0, 0, "ORIGIN",
	  "let pages from ORIGIN (http://host:port) use the\n"
	  "WebSocket too; up to 8 times (default: the page's\n"
	  "own origin only)" },
	{ "metrics", 0, CONFIG_FLAG, FIELD(metrics), 0, 0, 0, NULL,
	  "GET /metrics on the web listener: counters in\n"
	  "Prometheus's text format" },
	{ "debug-page", 0, CONFIG_FLAG, FIELD(debug_page), 0, 0, 0, NULL,
	  "GET /debug on the web listener: every client's\n"
	  "queue, flood budget and evictions, drawn live\n"
	  "(for learning; needs --web)" },
	{ "max-clients", 0, CONFIG_COUNT, FIELD(max_clients), 0, 1, 1000000,
	  "N", "connections at once, logged in or not (default 1000)" },
	{ "max-per-addr", 0, CONFIG_COUNT, FIELD(max_per_addr), 0, 0, 1000000,
	  "N", "connections at once from one address, an IPv6 /64\n"
	  "counting as one (default 32; 0 = no limit)" },
	{ "login-timeout", 0, CONFIG_SECONDS, FIELD(login_timeout), 0, 0,
	  INT_MAX / 1000, "SEC", "close a connection not logged in after SEC\n"
	  "seconds (default 30; 0 = never)" },
	{ "idle-timeout", 0, CONFIG_SECONDS, FIELD(idle_timeout), 0, 0,
	  INT_MAX / 1000, "SEC", "close a client silent for SEC seconds\n"
	  "(default 60; 0 = never)" },
	{ "queue-hard", 0, CONFIG_SIZE, FIELD(queue_hard), 0, 4096,
	  (long long)1 << 40, "SIZE", "bytes queued for one client before it\n"
	  "is cut off as a slow consumer (default 1M)" },
	{ "queue-soft", 0, CONFIG_SIZE, FIELD(queue_soft), 0, 0,
	  (long long)1 << 40, "SIZE", "... or held above SIZE for longer than\n"
	  "--queue-soft-sec (default 256K; 0 = no soft limit)" },
	{ "queue-soft-sec", 0, CONFIG_SECONDS, FIELD(queue_soft_sec), 0, 0,
	  INT_MAX / 1000, "SEC", "see --queue-soft (default 10)" },
	{ "flood-burst", 0, CONFIG_COUNT, FIELD(flood_burst), 0, 1, 1000000,
	  "N", "lines a client may send at once (default 32) ..." },
	{ "flood-rate", 0, CONFIG_COUNT, FIELD(flood_rate), 0, 0, 1000000,
	  "N", "... and per second after that; more are read\n"
	  "later, never dropped (default 10; 0 = no limit)" },
	{ "notices-max", 0, CONFIG_COUNT, FIELD(notices_max), 0, 0, 1000000,
	  "N", "join and leave notices only while a room has at\n"
	  "most N users (default 500; 0 = none)" },
	{ "history", 0, CONFIG_COUNT, FIELD(history), 0, 0, 100000, "N",
	  "messages each room keeps for newcomers and HISTORY\n"
	  "(default 50; 0 = none)" },
	{ "max-rooms", 0, CONFIG_COUNT, FIELD(max_rooms), 0, 1, 1000000, "N",
	  "rooms held in memory, #lobby included (default\n"
	  "1000)" },
	{ "data-dir", 0, CONFIG_TEXT, FIELD(data_dir),
	  sizeof(((struct config *)0)->data_dir), 0, 0, "DIR",
	  "keep every room's messages in DIR/rooms/, so\n"
	  "history survives a restart (default: memory only)" },
	{ "fsync", 0, CONFIG_TEXT, FIELD(fsync),
	  sizeof(((struct config *)0)->fsync), 0, 0, "WHEN",
	  "always, second or no: when --data-dir's writes\n"
	  "reach the disk (default second)" },
	{ "redis", 0, CONFIG_TEXT, FIELD(redis),
	  sizeof(((struct config *)0)->redis), 0, 0, "HOST:PORT",
	  "join the cluster that meets in this Redis: one\n"
	  "chat across every node (docs/CLUSTER.md; default:\n"
	  "this node alone)" },
	{ "node-id", 0, CONFIG_TEXT, FIELD(node_id),
	  sizeof(((struct config *)0)->node_id), 0, 0, "NAME",
	  "this node's name in the cluster (default\n"
	  "<hostname>:<port>)" },
	{ "name-lease", 0, CONFIG_SECONDS, FIELD(name_lease), 0, 1, 3600,
	  "SEC", "a dead node's names are free after SEC seconds\n"
	  "(default 30)" },
	{ "quiet", 'q', CONFIG_FLAG, FIELD(quiet), 0, 0, 0, NULL,
	  "do not log each message" },
	{ "log-dm", 0, CONFIG_FLAG, FIELD(log_dm), 0, 0, 0, NULL,
	  "log the text of private messages too (off: only\n"
	  "who wrote to whom)" },
	{ "stats", 0, CONFIG_SECONDS, FIELD(stats_sec), 0, 0, INT_MAX / 1000,
	  "SEC", "log a [STATS] line every SEC seconds (default 0:\n"
	  "only on SIGUSR1)" },
	{ "trace", 0, CONFIG_FLAG, FIELD(trace), 0, 0, 0, NULL,
	  "log thread starts and exits, the queue depth at\n"
	  "each delivery, and evictions (off: no cost)" },
	{ "sndbuf", 0, CONFIG_SIZE, FIELD(sndbuf), 0, 1, 1 << 24, "BYTES",
	  "test-only: a small socket send buffer per client,\n"
	  "to force short writes" },
	{ "archive-queue", 0, CONFIG_SIZE, FIELD(archive_queue), 0, 4096,
	  (long long)1 << 32, "SIZE", "for tests: bytes of lines waiting for\n"
	  "--data-dir's disk; past it a message is refused\n"
	  "(default 8M)" },
	{ "queue", 0, CONFIG_GONE, 0, 0, 0, 0, "N",
	  "--queue-hard and --queue-soft" },
};

#define CONFIG_NOPTIONS (sizeof(config_options) / sizeof(config_options[0]))
#define CONFIG_FIRST 1000       /* getopt_long's value for config_options[0] */
#define CONFIG_HELP 999         /* ... and for --help, --version */
#define CONFIG_VERSION 998

static void
config_fail(const char *what, const char *value)
{
	die_with(2, "%s: %s (try --help)", what, value);
}

/* Parses a whole decimal number in [min, max], with a K, M or G suffix
 * (powers of 1024) when size is set; fails naming the flag. */
static long long
config_number(const char *flag, const char *s, long long min, long long max,
    bool size)
{
	char *end;
	int shift = 0;

	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (size && *end != '\0' && end[1] == '\0' && end != s)
		shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' ||
		    *end == 'm' ? 20 : *end == 'G' || *end == 'g' ? 30 : -1;
	bool bad = *s == '\0' || errno != 0 || shift < 0 ||
	    (*end != '\0' && shift == 0) || v < 0 || v > (max >> shift);
	if (!bad)
		v <<= shift;
	if (bad || v < min || v > max) {
		char what[128];
		snprintf(what, sizeof(what), "%s wants a %s from %lld to %lld",
		    flag, size ? "size in bytes (K, M, G allowed)" : "number",
		    min, max);
		config_fail(what, s);
	}
	return v;
}

/* Stores one flag's value into cfg. */
static void
config_set(struct config *cfg, const struct config_option *o, const char *v)
{
	char *field = (char *)cfg + o->offset;
	char flag[64];

	snprintf(flag, sizeof(flag), "--%s", o->name);
	switch (o->kind) {
	case CONFIG_COUNT:
	case CONFIG_SIZE:
		*(size_t *)field = (size_t)config_number(flag, v, o->min,
		    o->max, o->kind == CONFIG_SIZE);
		break;
	case CONFIG_SECONDS:
		*(int *)field = (int)config_number(flag, v, o->min, o->max,
		    false);
		break;
	case CONFIG_FLAG:
		*(bool *)field = true;
		break;
	case CONFIG_TEXT:
		if (strlen(v) >= o->size) {
			char what[96];
			snprintf(what, sizeof(what), "%s is too long (at most %zu "
			    "bytes)", flag, o->size - 1);
			config_fail(what, v);
		}
		memcpy(field, v, strlen(v) + 1);
		break;
	case CONFIG_PORT:
		snprintf(field, 6, "%lld", config_number(flag, v, 0, 65535,
		    false));
		break;
	case CONFIG_GONE:
		die_with(2, "--%s is gone: use %s (see --help)", o->name,
		    o->help);
	case CONFIG_ORIGIN:
		if (cfg->n_web_origins == 8)
			config_fail("--web-origin given more than 8 times", v);
		if (!http_origin_valid(v))
			config_fail("--web-origin wants http(s)://host[:port]", v);
		snprintf(cfg->web_origins[cfg->n_web_origins++],
		    sizeof(cfg->web_origins[0]), "%s", v);
		break;
	}
}

static void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->addr, sizeof(cfg->addr), "127.0.0.1");
	snprintf(cfg->port, sizeof(cfg->port), "4000");
	cfg->max_clients = 1000;        /* fits ulimit -n 1024 (rlimits.c) */
	cfg->max_per_addr = 32;
	cfg->login_timeout = 30;
	cfg->idle_timeout = 60;
	cfg->queue_hard = 1 << 20;
	cfg->queue_soft = 256 << 10;
	cfg->queue_soft_sec = 10;
	cfg->flood_burst = 32;
	cfg->flood_rate = 10;
	cfg->notices_max = 500;         /* room.c, room_announce_join: why */
	cfg->history = 50;
	cfg->archive_queue = 8 << 20;
	cfg->max_rooms = 1000;
	cfg->name_lease = 30;
	snprintf(cfg->fsync, sizeof(cfg->fsync), "second");
}

/* Prints --help, made from the table. */
static void
config_usage(void)
{
	printf("usage: %s [options]\n", program_invocation_short_name);
	for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
		const struct config_option *o = &config_options[i];
		char flag[48];
		if (o->kind == CONFIG_GONE)
			continue;
		snprintf(flag, sizeof(flag), "%c%c%s--%s%s%s", o->letter ? '-' : ' ',
		    o->letter ? o->letter : ' ', o->letter ? ", " : "  ", o->name,
		    o->arg ? " " : "", o->arg ? o->arg : "");
		printf("  %-26s", flag);
		for (const char *h = o->help; *h != '\0'; h++)
			fputs(*h == '\n' ? "\n                            " :
			    (char[]){ *h, '\0' }, stdout);
		putchar('\n');
	}
	printf("  %-26s%s\n  %-26s%s\n", "-h, --help", "show this help",
	    "-V, --version", "show the version");
}

/* The getopt_long table and short options, made from config_options. */
static void
config_getopt_tables(struct option *longs, char *shorts)
{
	size_t n = 0, s = 0;

	shorts[s++] = ':';
	for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
		const struct config_option *o = &config_options[i];
		longs[n++] = (struct option){ o->name, o->kind == CONFIG_FLAG ?
		    no_argument : required_argument, NULL,
		    CONFIG_FIRST + (int)i };
		if (o->letter) {
			shorts[s++] = o->letter;
			if (o->kind != CONFIG_FLAG)
				shorts[s++] = ':';
		}
	}
	longs[n++] = (struct option){ "help", no_argument, NULL, CONFIG_HELP };
	longs[n++] = (struct option){ "version", no_argument, NULL,
	    CONFIG_VERSION };
	longs[n] = (struct option){ NULL, 0, NULL, 0 };
	strcpy(shorts + s, "hV");
}

/* The table row for a short option letter; NULL when there is none. */
static const struct config_option *
config_by_letter(int c)
{
	for (size_t i = 0; i < CONFIG_NOPTIONS; i++)
		if (config_options[i].letter == c)
			return &config_options[i];
	return NULL;
}

void
config_parse(int argc, char **argv, struct config *cfg)
{
	struct option longs[CONFIG_NOPTIONS + 3];
	char shorts[2 * CONFIG_NOPTIONS + 4];
	const char *env = getenv("CHAT_PORT");
	bool port_given = false;
	int c;

	config_defaults(cfg);
	config_getopt_tables(longs, shorts);
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		const struct config_option *o = c >= CONFIG_FIRST ?
		    &config_options[c - CONFIG_FIRST] : config_by_letter(c);
		if (c == 'h' || c == CONFIG_HELP) {
			config_usage();
			exit(0);
		} else if (c == 'V' || c == CONFIG_VERSION) {
			printf("hubchat server %s\n", HUBCHAT_VERSION);
			exit(0);
		} else if (c == ':') {
			config_fail("missing value for", argv[optind - 1]);
		} else if (o == NULL) {
			config_fail("unknown option", argv[optind - 1]);
		}
		config_set(cfg, o, optarg);
		port_given = port_given || o->kind == CONFIG_PORT;
	}
	if (optind < argc)
		config_fail("unexpected argument", argv[optind]);
	if (strcmp(cfg->fsync, "always") != 0 &&
	    strcmp(cfg->fsync, "second") != 0 && strcmp(cfg->fsync, "no") != 0)
		config_fail("--fsync wants always, second or no", cfg->fsync);
	if (cfg->redis[0] != '\0' && cfg->data_dir[0] != '\0')
		config_fail("--data-dir and --redis do not go together (a "
		    "cluster keeps history in Redis)", cfg->data_dir);
	const char *colon = strrchr(cfg->redis, ':');
	if (cfg->redis[0] != '\0' && (colon == NULL || colon == cfg->redis ||
	    colon[1] == '\0'))
		config_fail("--redis wants HOST:PORT", cfg->redis);
	if (colon != NULL)
		config_number("--redis's port", colon + 1, 1, 65535, false);
	if (cfg->debug_page && cfg->web_port[0] == '\0')
		config_fail("--debug-page needs --web PORT",
		    "the page is served on the web listener");
	if (cfg->web_addr[0] == '\0')
		snprintf(cfg->web_addr, sizeof(cfg->web_addr), "%s", cfg->addr);
	if (!port_given && env != NULL)
		snprintf(cfg->port, sizeof(cfg->port), "%lld",
		    config_number("CHAT_PORT", env, 0, 65535, false));
}
