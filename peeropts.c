/*
 * peeropts.c - the peer's command line; see peeropts.h.
 */
#include "peeropts.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "die.h"
#include "version.h"

enum { OPT_ANY_PEER = 1000, OPT_SECRET };

static const struct option peeropts_long[] = {
	{ "listen", required_argument, NULL, 'l' },
	{ "connect", required_argument, NULL, 'c' },
	{ "name", required_argument, NULL, 'n' },
	{ "addr", required_argument, NULL, 'a' },
	{ "any-peer", no_argument, NULL, OPT_ANY_PEER },
	{ "secret", required_argument, NULL, OPT_SECRET },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void
peeropts_usage(void)
{
	printf("usage: %s -l LISTEN_PORT -c HOST:PORT [-n NAME] [-a ADDR] "
	    "[--any-peer]\n       [--secret SECRET]\n",
	    program_invocation_short_name);
	fputs(
"  -l, --listen PORT        listen for the other peer on PORT\n"
"  -c, --connect HOST:PORT  and keep dialing it there ([::1]:PORT for IPv6);\n"
"                           calls are taken only from HOST's addresses\n"
"  -n, --name NAME          your name as the other side sees it (default:\n"
"                           peer)\n"
"  -a, --addr ADDR          listen address (default :: = every IPv4 and\n"
"                           IPv6 one)\n"
"      --any-peer           take calls from any address (behind NAT, where\n"
"                           the other side's calls come from elsewhere)\n"
"      --secret SECRET      a secret both sides share, proved without\n"
"                           sending it; better in $HUBCHAT_PEER_SECRET,\n"
"                           which ps does not show\n"
"  -h, --help               show this help\n"
"  -V, --version            show the version\n"
"Type lines to send them; /help lists the commands; /quit, !exit, Ctrl-D\n"
"or Ctrl-C leaves.\n", stdout);
}

/* A whole decimal port number in [1, 65535]. */
static bool
peeropts_port_ok(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s != '\0' && *end == '\0' && v >= 1 && v <= 65535;
}

/* Splits HOST:PORT (or [HOST]:PORT) into o->host and o->port. */
static void
peeropts_target(struct peeropts *o, const char *target)
{
	const char *colon = strrchr(target, ':');
	const char *host = target;
	size_t hostlen = colon ? (size_t)(colon - target) : 0;

	if (hostlen >= 2 && host[0] == '[' && host[hostlen - 1] == ']') {
		host++;
		hostlen -= 2;
	}
	if (colon == NULL || hostlen == 0 || hostlen >= sizeof(o->host) ||
	    !peeropts_port_ok(colon + 1))
		die_with(2, "bad -c value '%s': want HOST:PORT", target);
	memcpy(o->host, host, hostlen);
	o->host[hostlen] = '\0';
	snprintf(o->port, sizeof(o->port), "%s", colon + 1);
}

/* Keeps a copy of the secret from --secret (arg, which is then blotted
 * out of the command line ps shows) or else from $HUBCHAT_PEER_SECRET. */
static void
peeropts_secret(struct peeropts *o, char *arg)
{
	const char *env = getenv("HUBCHAT_PEER_SECRET");
	const char *s = arg != NULL ? arg : env;

	if (s == NULL)
		return;
	if (*s == '\0')
		die_with(2, "an empty %s", arg != NULL ? "--secret" :
		    "HUBCHAT_PEER_SECRET");
	if ((o->secret = strdup(s)) == NULL)
		die("out of memory");
	if (arg != NULL)
		memset(arg, 'x', strlen(arg));
}

void
peeropts_parse(int argc, char **argv, struct peeropts *o)
{
	const char *target = NULL, *name = "peer";
	char *secret = NULL;
	int c;

	o->listen_addr = "::";
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:c:n:a:hV", peeropts_long,
	    NULL)) != -1) {
		switch (c) {
		case 'l': o->listen_port = optarg; break;
		case 'c': target = optarg; break;
		case 'n': name = optarg; break;
		case 'a': o->listen_addr = optarg; break;
		case OPT_ANY_PEER: o->any_peer = true; break;
		case OPT_SECRET: secret = optarg; break;
		case 'h': peeropts_usage(); exit(0);
		case 'V': printf("hubchat peer %s\n", HUBCHAT_VERSION); exit(0);
		case ':': die_with(2, "missing value for %s (try --help)",
		    argv[optind - 1]);
		default: die_with(2, "unknown option: %s (try --help)",
		    argv[optind - 1]);
		}
	}
	if (o->listen_port == NULL || target == NULL || optind < argc)
		die_with(2, "both -l LISTEN_PORT and -c HOST:PORT are needed "
		    "(try --help)");
	if (!peeropts_port_ok(o->listen_port))
		die_with(2, "bad -l value '%s': want a port from 1 to 65535",
		    o->listen_port);
	peeropts_target(o, target);
	if (!proto_name_ok(name))
		die_with(2, "bad -n value '%s': 1-32 letters, digits, _ or -, "
		    "starting with a letter", name);
	snprintf(o->name, sizeof(o->name), "%s", name);
	peeropts_secret(o, secret);
}

void
peeropts_free(struct peeropts *o)
{
	if (o->secret == NULL)
		return;
	explicit_bzero(o->secret, strlen(o->secret));
	free(o->secret);
	o->secret = NULL;
}
