/*
 * test_debug.c - the /debug page (--debug-page) on real loopback sockets:
 * off without the flag, refused without --web, its files served with the
 * page's Content-Security-Policy, and /debug.json telling the truth: the
 * limits, who is logged in and where, a queue filling for a client that
 * does not read while another floods it, the eviction that follows, and
 * a flood budget spent by a burst. The JSON is checked by hand: a small
 * validator for its syntax, then the fields looked up by their text.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "harness.h"
#include "wsclient.h"

#define JSON_MAX (1 << 20)

/* The web listener's port, from the [LISTEN] line's web-port=. */
static int
web_port(struct server *s)
{
	char text[4096] = "";
	FILE *f = fopen(s->log_path, "r");

	cr_assert_not_null(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	char *p = strstr(text, " web-port=");
	cr_assert_not_null(p, "no web-port= in the log");
	return atoi(p + 10);
}

/* GETs path: the status, and the body in body (NUL-terminated), the
 * headers in *h when h is not NULL. */
static int
get(int port, const char *path, char *body, size_t size, struct http_head *h)
{
	struct http_head own;
	char req[256], v[32];

	h = h != NULL ? h : &own;
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path);
	struct conn *c = conn_open_raw(port);
	http_exchange(c, req, h);
	cr_assert(http_header(h, "Content-Length", v, sizeof(v)), "%s", path);
	size_t len = (size_t)atol(v);
	cr_assert(len < size, "%s: %zu bytes", path, len);
	cr_assert(http_read_body(c, body, size, len, WAIT_MS), "%s", path);
	conn_close(c);
	return h->status;
}

/* ---- A hand check of JSON ----------------------------------------------- */

static const char *json_value(const char *p);

static const char *
json_space(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
		p++;
	return p;
}

static const char *
json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		if (*p == '\0' || (unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\' && strchr("\"\\/bfnrtu", *++p) == NULL)
			return NULL;
	}
	return p + 1;
}

static const char *
json_number(const char *p)
{
	char *end;

	if (*p != '-' && !isdigit((unsigned char)*p))
		return NULL;
	strtod(p, &end);
	return end;
}

/* An object ('{', '}') or an array ('[', ']') of values. */
static const char *
json_list(const char *p, char open, char close)
{
	if (*p++ != open)
		return NULL;
	if (*(p = json_space(p)) == close)
		return p + 1;
	for (;;) {
		if (open == '{') {
			p = json_string(json_space(p));
			if (p == NULL || *(p = json_space(p)) != ':')
				return NULL;
			p++;
		}
		if ((p = json_value(p)) == NULL)
			return NULL;
		p = json_space(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *
json_value(const char *p)
{
	p = json_space(p);
	if (*p == '{' || *p == '[')
		return json_list(p, *p, *p == '{' ? '}' : ']');
	if (*p == '"')
		return json_string(p);
	if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0)
		return p + 4;
	if (strncmp(p, "false", 5) == 0)
		return p + 5;
	return json_number(p);
}

static bool
json_ok(const char *text)
{
	const char *end = json_value(text);

	return end != NULL && *json_space(end) == '\0';
}

/* The number after "key": in text (the first), or -1 when absent. */
static double
json_num(const char *text, const char *key)
{
	char pat[64];

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(text, pat);
	return p != NULL ? strtod(p + strlen(pat), NULL) : -1;
}

/* The object {"name":"<name>",...} in the array named list, copied into
 * out; false when it is not there. */
static bool
json_entry(const char *text, const char *list, const char *name, char *out,
    size_t size)
{
	char pat[96];

	snprintf(pat, sizeof(pat), "\"%s\":[", list);
	const char *in = strstr(text, pat);
	if (in == NULL)
		return false;
	const char *end = strchr(in, ']');
	snprintf(pat, sizeof(pat), "{\"name\":\"%s\",", name);
	const char *p = strstr(in, pat);
	if (p == NULL || p > end)
		return false;
	size_t n = (size_t)(strchr(p, '}') - p) + 1;
	cr_assert(n < size);
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/* Asks for /debug.json until pred says yes or ms pass; each answer must
 * be 200 and valid JSON. The last answer is left in text. */
static bool
debug_until(int port, char *text, bool (*pred)(const char *, void *),
    void *arg, int ms)
{
	long long deadline = now_ms() + ms;

	for (;;) {
		struct http_head h;
		char type[64];
		cr_assert_eq(get(port, "/debug.json", text, JSON_MAX, &h), 200);
		cr_assert(http_header(&h, "Content-Type", type, sizeof(type)));
		cr_assert_str_eq(type, "application/json");
		cr_assert(json_ok(text), "not JSON:\n%s", text);
		if (pred == NULL || pred(text, arg))
			return true;
		if (now_ms() > deadline)
			return false;
	}
}

/* "name":"…" in #room, as members[] lists it. */
struct in_room {
	const char *name, *room;
};

static bool
is_in_room(const char *text, void *arg)
{
	struct in_room *w = arg;
	char entry[512], want[96];

	snprintf(want, sizeof(want), "\"room\":\"%s\"", w->room);
	return json_entry(text, "members", w->name, entry, sizeof(entry)) &&
	    strstr(entry, want) != NULL;
}

/* ---- Tests --------------------------------------------------------------- */

Test(debug, the_page_is_not_there_without_the_flag, .timeout = 30)
{
	struct server srv;
	static char body[JSON_MAX];
	const char *paths[] = { "/debug", "/debug.html", "/debug.js",
	    "/debug.css", "/debug.json" };

	server_start(&srv, "-q", "--web", "0", NULL);
	int port = web_port(&srv);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		cr_assert_eq(get(port, paths[i], body, sizeof(body), NULL), 404,
		    "%s", paths[i]);
	cr_assert_eq(get(port, "/", body, sizeof(body), NULL), 200);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

Test(debug, the_flag_without_web_is_refused_with_a_reason, .timeout = 30)
{
	struct proc p;

	proc_start(&p, (char *const[]){ "SERVER", "--debug-page", NULL });
	cr_assert(proc_wait_output(&p, "--debug-page needs --web PORT", WAIT_MS),
	    "%s", p.text);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 2);
}

Test(debug, the_page_and_its_files_are_served_with_the_csp, .timeout = 30)
{
	struct server srv;
	static char body[JSON_MAX];
	struct {
		const char *path, *type, *has;
	} want[] = {
		{ "/debug", "text/html; charset=utf-8", "<script src=\"/debug.js\"" },
		{ "/debug.js", "text/javascript; charset=utf-8", "/debug.json" },
		{ "/debug.css", "text/css; charset=utf-8", ".track" },
	};

	server_start(&srv, "-q", "--web", "0", "--debug-page", NULL);
	int port = web_port(&srv);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct http_head h;
		char v[512];
		cr_assert_eq(get(port, want[i].path, body, sizeof(body), &h), 200);
		cr_assert(http_header(&h, "Content-Type", v, sizeof(v)));
		cr_assert_str_eq(v, want[i].type);
		cr_assert(http_header(&h, "Content-Security-Policy", v,
		    sizeof(v)));
		cr_assert(strstr(v, "script-src 'self'") != NULL, "%s", v);
		cr_assert(strstr(body, want[i].has) != NULL, "%s", want[i].path);
		cr_assert(strstr(body, "innerHTML") == NULL, "%s", want[i].path);
	}
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

Test(debug, json_has_the_limits_and_every_client_in_its_room, .timeout = 30)
{
	struct server srv;
	static char text[JSON_MAX];

	server_start(&srv, "-q", "--web", "0", "--debug-page", "--queue-hard",
	    "64K", "--queue-soft", "16K", "--flood-burst", "20", NULL);
	int port = web_port(&srv);
	struct conn *alice = conn_login(srv.port, "alice");
	struct conn *bob = conn_login(srv.port, "bob");
	conn_send(bob, "JOIN #ops\n");
	conn_expect(bob, "OK");

	cr_assert(debug_until(port, text, is_in_room, &(struct in_room){
	    "bob", "#ops" }, WAIT_MS), "%s", text);
	cr_assert(is_in_room(text, &(struct in_room){ "alice", "#lobby" }),
	    "%s", text);
	cr_assert_eq(json_num(text, "queue_hard"), 65536);
	cr_assert_eq(json_num(text, "queue_soft"), 16384);
	cr_assert_eq(json_num(text, "flood_burst"), 20);
	cr_assert_eq(json_num(text, "flood_rate"), 10);
	cr_assert_eq(json_num(text, "evictions"), 0);
	/* The main thread, and a reader and a writer for alice, bob and
	 * this request. */
	cr_assert_geq(json_num(text, "threads"), 7, "%s", text);
	cr_assert_geq(json_num(text, "sessions"), 3, "%s", text);
	cr_assert(strstr(text, "\"evicted\":[]") != NULL, "%s", text);
	conn_close(alice);
	conn_close(bob);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* slow's queue in members[], as bytes; -1 when it is not listed. */
static double
queued(const char *text, const char *name)
{
	char entry[512];

	return json_entry(text, "members", name, entry, sizeof(entry)) ?
	    json_num(entry, "bytes") : -1;
}

static bool
evicted(const char *text, void *arg)
{
	char entry[512];

	return json_num(text, "evictions") >= 1 &&
	    json_entry(text, "evicted", arg, entry, sizeof(entry)) &&
	    queued(text, arg) < 0;
}

/* slow never reads; loud floods the lobby (no flood control) in steps,
 * each delivered (a PING's answer comes after the lines before it were
 * handed to the hub). slow's queue is seen filling, short of the limit,
 * then it is cut off: counted, listed as evicted with what it held, and
 * gone from the members. */
Test(debug, a_queue_fills_for_a_client_that_does_not_read_then_is_evicted,
    .timeout = 60)
{
	struct server srv;
	static char text[JSON_MAX], line[1000];
	double most = 0;

	server_start(&srv, "-q", "--web", "0", "--debug-page", "--queue-hard",
	    "64K", "--queue-soft", "0", "--flood-rate", "0", "--sndbuf", "4096",
	    NULL);
	int port = web_port(&srv);
	struct conn *slow = conn_login(srv.port, "slow");
	setsockopt(slow->fd, SOL_SOCKET, SO_RCVBUF, &(int){ 4096 },
	    sizeof(int));
	struct conn *loud = conn_login(srv.port, "loud");
	memset(line, 'z', sizeof(line) - 2);
	memcpy(line, "MSG ", 4);
	line[sizeof(line) - 2] = '\n';

	for (int step = 0; step < 2000; step++) {
		char pong[32];
		for (int i = 0; i < 4; i++)
			conn_send_raw(loud, line, sizeof(line) - 1);
		conn_send(loud, "PING %d\n", step);
		snprintf(pong, sizeof(pong), "PONG %d", step);
		conn_expect_eventually(loud, pong);
		debug_until(port, text, NULL, NULL, 0);
		double bytes = queued(text, "slow");
		if (bytes < 0)
			break;                  /* cut off */
		cr_assert_lt(bytes, 65536, "over the hard limit:\n%s", text);
		most = bytes > most ? bytes : most;
	}
	cr_assert_gt(most, 8192, "the queue never filled (most %.0f)", most);
	cr_assert(debug_until(port, text, evicted, "slow", WAIT_MS), "%s",
	    text);
	char entry[512];
	cr_assert(json_entry(text, "evicted", "slow", entry, sizeof(entry)));
	cr_assert(strstr(entry, "\"room\":\"#lobby\"") != NULL, "%s", entry);
	cr_assert(strstr(entry, "\"limit\":\"hard\"") != NULL, "%s", entry);
	cr_assert_gt(json_num(entry, "bytes"), most - 1, "%s", entry);
	cr_assert_geq(json_num(entry, "age_ms"), 0, "%s", entry);
	cr_assert_eq(json_num(text, "evictions"), 1);
	cr_assert_geq(queued(text, "loud"), 0, "loud is still here");
	conn_close(slow);
	conn_close(loud);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* alice's budget, as members[] has it; -1 when she is not listed. */
static double
budget(const char *text, const char *name)
{
	char entry[512];

	return json_entry(text, "members", name, entry, sizeof(entry)) ?
	    json_num(entry, "budget") : -1;
}

static bool
spent(const char *text, void *arg)
{
	double b = budget(text, arg);

	return b >= 0 && b < 8;
}

/* With a burst of 20 and a token a second, a client that sends 16 lines
 * at once has at most 4 left, plus what a second or two refilled; one
 * that sent only its LOGIN still has nearly all. */
Test(debug, a_burst_spends_the_flood_budget, .timeout = 30)
{
	struct server srv;
	static char text[JSON_MAX];

	server_start(&srv, "-q", "--web", "0", "--debug-page", "--flood-burst",
	    "20", "--flood-rate", "1", NULL);
	int port = web_port(&srv);
	struct conn *alice = conn_login(srv.port, "alice");
	struct conn *bob = conn_login(srv.port, "bob");

	debug_until(port, text, NULL, NULL, 0);
	cr_assert_geq(budget(text, "alice"), 18, "%s", text);
	cr_assert_leq(budget(text, "alice"), 20, "%s", text);
	for (int i = 0; i < 15; i++)
		conn_send(alice, "MSG burst %d\n", i);
	conn_send(alice, "PING b\n");
	conn_expect_eventually(alice, "PONG b");
	cr_assert(debug_until(port, text, spent, "alice", WAIT_MS), "%s", text);
	cr_assert_geq(budget(text, "bob"), 18, "%s", text);
	conn_close(alice);
	conn_close(bob);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}
