/*
 * test_resp.c - the RESP2 client: the encoder and the parser on bytes alone
 * (every input fed in every chunking), the connection against a scripted
 * loopback server, and then against a real redis-server that each test
 * starts on a free port and kills. Without redis-server those tests skip.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "redisd.h"
#include "net.h"
#include "resp.h"
#include "resp_conn.h"

/* ---- Replies as text, so whole sequences compare with one strcmp ----- */

/* Appends r to out as text: +simple, -error, :int, $bulk (bytes outside
 * printable ASCII as \xNN), nil, and [a,b] for arrays. */
static void
render(const struct resp_reply *r, char *out, size_t outsz)
{
	size_t n = strlen(out), len;
	const char *s = resp_str(r, &len);

	switch (resp_type(r)) {
	case RESP_INTEGER:
		snprintf(out + n, outsz - n, ":%lld", resp_integer(r));
		return;
	case RESP_NIL:
		snprintf(out + n, outsz - n, "nil");
		return;
	case RESP_ARRAY:
		snprintf(out + n, outsz - n, "[");
		for (size_t i = 0; i < resp_count(r); i++) {
			if (i > 0)
				strncat(out, ",", outsz - strlen(out) - 1);
			render(resp_elem(r, i), out, outsz);
		}
		strncat(out, "]", outsz - strlen(out) - 1);
		return;
	default:
		break;
	}
	cr_assert_not_null(s);
	cr_assert_eq(s[len], '\0', "the bytes end with a NUL");
	out[n++] = resp_type(r) == RESP_STRING ? '+' :
	    resp_type(r) == RESP_ERROR ? '-' : '$';
	for (size_t i = 0; i < len && n + 5 < outsz; i++) {
		unsigned char c = (unsigned char)s[i];
		n += (size_t)snprintf(out + n, outsz - n,
		    c >= 0x20 && c < 0x7f && c != '\\' ? "%c" : "\\x%02x", c);
	}
	out[n] = '\0';
}

/* Feeds data to a parser with lim in pieces ending at the given cut points
 * (ascending, each < len; none for all at once). Renders every reply, one
 * per line, and then "ERR <message>" if the parser failed. */
static void
parse_cut(const char *data, size_t len, const size_t *cuts, size_t ncuts,
    const struct resp_limits *lim, char *out, size_t outsz)
{
	struct resp_parser *p = resp_parser_new(lim);
	size_t start = 0;

	cr_assert_not_null(p);
	out[0] = '\0';
	for (size_t k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : len, used;
		struct resp_reply *r;
		enum resp_parse st = RESP_PARSE_MORE;
		while (start < end && st != RESP_PARSE_ERROR) {
			st = resp_parser_feed(p, data + start, end - start,
			    &used, &r);
			cr_assert_leq(used, end - start);
			start += used;
			if (st == RESP_PARSE_REPLY) {
				render(r, out, outsz);
				strncat(out, "\n", outsz - strlen(out) - 1);
				resp_reply_free(r);
			}
		}
		if (st == RESP_PARSE_ERROR)
			break;
	}
	if (resp_parser_error(p)[0] != '\0')
		snprintf(out + strlen(out), outsz - strlen(out), "ERR %s",
		    resp_parser_error(p));
	resp_parser_free(p);
}

/* Asserts that data parses to want in every fixed chunk size and with
 * every single cut point, with limits lim (NULL: the defaults). */
static void
expect_lim(const char *data, size_t len, const struct resp_limits *lim,
    const char *want)
{
	static char got[1 << 16];
	size_t cuts[4096];

	parse_cut(data, len, NULL, 0, lim, got, sizeof(got));
	cr_assert_str_eq(got, want, "all at once");
	for (size_t chunk = 1; chunk < len && len / chunk < 4096; chunk++) {
		size_t n = 0;
		for (size_t c = chunk; c < len; c += chunk)
			cuts[n++] = c;
		parse_cut(data, len, cuts, n, lim, got, sizeof(got));
		cr_assert_str_eq(got, want, "in chunks of %zu", chunk);
	}
	for (size_t c = 1; c < len; c++) {
		parse_cut(data, len, &c, 1, lim, got, sizeof(got));
		cr_assert_str_eq(got, want, "cut at %zu", c);
	}
}

#define EXPECT(lit, want) expect_lim(lit, sizeof(lit) - 1, NULL, want)

/* ---- The parser ------------------------------------------------------ */

Test(resp_parse, every_reply_type_in_every_chunking)
{
	EXPECT("+OK\r\n-ERR wrong type\r\n:42\r\n:-7\r\n:0\r\n"
	    "$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*-1\r\n*0\r\n+\r\n",
	    "+OK\n-ERR wrong type\n:42\n:-7\n:0\n$hello\n$\nnil\nnil\n[]\n+\n");
	EXPECT("*3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$2\r\nhi\r\n",
	    "[$message,$room,$hi]\n");
	EXPECT("*2\r\n*3\r\n:1\r\n*0\r\n$-1\r\n*2\r\n+a\r\n-b\r\n",
	    "[[:1,[],nil],[+a,-b]]\n");
}

Test(resp_parse, bulk_strings_are_binary_safe)
{
	EXPECT("$8\r\na\r\nb\0c\r\n\r\n$2\r\n\r\n\r\n",
	    "$a\\x0d\\x0ab\\x00c\\x0d\\x0a\n$\\x0d\\x0a\n");
}

Test(resp_parse, integers_fill_a_long_long_and_no_more)
{
	EXPECT(":9223372036854775807\r\n:-9223372036854775808\r\n",
	    ":9223372036854775807\n:-9223372036854775808\n");
	EXPECT(":9223372036854775808\r\n", "ERR bad integer reply");
	EXPECT(":-9223372036854775809\r\n", "ERR bad integer reply");
	EXPECT(":\r\n", "ERR bad integer reply");
	EXPECT(":-\r\n", "ERR bad integer reply");
	EXPECT(":+5\r\n", "ERR bad integer reply");
	EXPECT(": 5\r\n", "ERR bad integer reply");
	EXPECT(":12a\r\n", "ERR bad integer reply");
}

Test(resp_parse, malformed_input_is_a_parse_error)
{
	EXPECT("+OK\r\n?what\r\n", "+OK\nERR unknown type byte 0x3f");
	EXPECT("HTTP/1.1 400\r\n", "ERR unknown type byte 0x48");
	EXPECT("%1\r\n", "ERR unknown type byte 0x25");   /* RESP3 map */
	EXPECT("\0", "ERR unknown type byte 0x00");
	EXPECT("+OK\n", "ERR LF without CR");
	EXPECT("+OK\rX\r\n", "ERR CR without LF");
	EXPECT("+O\rK\r\n", "ERR CR without LF");
	EXPECT("\r\n", "ERR empty line");
	EXPECT("\n", "ERR LF without CR");
	EXPECT("$abc\r\n", "ERR bad length in a bulk string header");
	EXPECT("$\r\n", "ERR bad length in a bulk string header");
	EXPECT("$-2\r\n", "ERR bad length in a bulk string header");
	EXPECT("$ 3\r\n", "ERR bad length in a bulk string header");
	EXPECT("*-5\r\n", "ERR bad length in an array header");
	EXPECT("*1x\r\n", "ERR bad length in an array header");
	EXPECT("$3\r\nabcX\r\n", "ERR bulk string of 3 bytes not followed by "
	    "CR LF");
	EXPECT("$3\r\nabc\n\r", "ERR bulk string of 3 bytes not followed by "
	    "CR LF");
	EXPECT("*2\r\n:1\r\n:x\r\n", "ERR bad integer reply");
}

Test(resp_parse, an_unfinished_reply_is_neither_a_reply_nor_an_error)
{
	EXPECT("+OK", "");
	EXPECT("+OK\r", "");
	EXPECT("$3\r\nabc\r", "");
	EXPECT("*3\r\n:1\r\n*2\r\n", "");
	EXPECT(":1\r\n*2\r\n$1\r\n", ":1\n");
}

Test(resp_parse, an_error_is_final)
{
	struct resp_parser *p = resp_parser_new(NULL);
	struct resp_reply *r;
	size_t used;

	cr_assert_eq(resp_parser_feed(p, "*2\r\n:1\r\n!", 10, &used, &r),
	    RESP_PARSE_ERROR);
	cr_assert_null(r);
	cr_assert_str_eq(resp_parser_error(p), "unknown type byte 0x21");
	cr_assert_eq(resp_parser_feed(p, "+OK\r\n", 5, &used, &r),
	    RESP_PARSE_ERROR);
	cr_assert_eq(resp_parser_feed(p, "", 0, &used, &r), RESP_PARSE_ERROR);
	cr_assert_str_eq(resp_parser_error(p), "unknown type byte 0x21");
	resp_parser_free(p);
}

Test(resp_parse, pipelined_replies_come_one_per_call)
{
	struct resp_parser *p = resp_parser_new(NULL);
	const char in[] = "+A\r\n:2\r\n$1\r\nc";
	struct resp_reply *r;
	size_t used;

	cr_assert_str_eq(resp_parser_error(p), "");
	cr_assert_eq(resp_parser_feed(p, in, sizeof(in) - 1, &used, &r),
	    RESP_PARSE_REPLY);
	cr_assert_eq(used, 4, "nothing after the reply is looked at");
	cr_assert(resp_str_eq(r, "A"));
	resp_reply_free(r);
	cr_assert_eq(resp_parser_feed(p, in + 4, sizeof(in) - 5, &used, &r),
	    RESP_PARSE_REPLY);
	cr_assert_eq(used, 4);
	cr_assert_eq(resp_integer(r), 2);
	resp_reply_free(r);
	cr_assert_eq(resp_parser_feed(p, in + 8, sizeof(in) - 9, &used, &r),
	    RESP_PARSE_MORE);
	cr_assert_eq(used, 5);
	cr_assert_null(r);
	resp_parser_free(p);    /* with a bulk string half read */
}

Test(resp_parse, accessors_never_step_outside_a_reply)
{
	struct resp_parser *p = resp_parser_new(NULL);
	const char in[] = "*2\r\n:5\r\n$3\r\na\0b\r\n";
	struct resp_reply *r;
	size_t used, len;

	cr_assert_eq(resp_parser_feed(p, in, sizeof(in) - 1, &used, &r),
	    RESP_PARSE_REPLY);
	cr_assert_eq(resp_type(r), RESP_ARRAY);
	cr_assert_eq(resp_count(r), 2);
	cr_assert_null(resp_str(r, &len));
	cr_assert_eq(len, 0);
	cr_assert_null(resp_elem(r, 2));
	const struct resp_reply *i = resp_elem(r, 0), *b = resp_elem(r, 1);
	cr_assert_eq(resp_integer(i), 5);
	cr_assert_eq(resp_count(i), 0);
	cr_assert_null(resp_elem(i, 0));
	cr_assert_null(resp_str(i, NULL));
	cr_assert_eq(memcmp(resp_str(b, &len), "a\0b", 4), 0);
	cr_assert_eq(len, 3);
	cr_assert(!resp_str_eq(b, "a"), "a NUL inside is not the end");
	cr_assert(!resp_str_eq(NULL, "a"));
	resp_reply_free(r);
	resp_reply_free(NULL);
	resp_parser_free(p);
	resp_parser_free(NULL);
}

/* Parses in, which must be one complete reply, with the default limits. */
static struct resp_reply *
parse_one(const char *in, size_t len)
{
	struct resp_parser *p = resp_parser_new(NULL);
	struct resp_reply *r;
	size_t used;

	cr_assert_eq(resp_parser_feed(p, in, len, &used, &r),
	    RESP_PARSE_REPLY);
	cr_assert_eq(used, len);
	resp_parser_free(p);
	return r;
}

#define PARSE_ONE(lit) parse_one(lit, sizeof(lit) - 1)

Test(resp_parse, pubsub_pushes_read_as_messages)
{
	struct resp_message m;
	struct resp_reply *r = PARSE_ONE("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n"
	    "$3\r\nx\0y\r\n");

	cr_assert(resp_message(r, &m));
	cr_assert_null(m.pattern);
	cr_assert_eq(m.channel_len, 2);
	cr_assert_eq(memcmp(m.channel, "ch", 2), 0);
	cr_assert_eq(m.payload_len, 3);
	cr_assert_eq(memcmp(m.payload, "x\0y", 3), 0);
	resp_reply_free(r);

	r = PARSE_ONE("*4\r\n$8\r\npmessage\r\n$3\r\nc.*\r\n$3\r\nc.1\r\n"
	    "$0\r\n\r\n");
	cr_assert(resp_message(r, &m));
	cr_assert_eq(m.pattern_len, 3);
	cr_assert_eq(memcmp(m.pattern, "c.*", 3), 0);
	cr_assert_eq(memcmp(m.channel, "c.1", 3), 0);
	cr_assert_eq(m.payload_len, 0);
	resp_reply_free(r);
}

Test(resp_parse, other_shapes_are_not_messages)
{
	const char *other[] = {
		"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
		"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n:1\r\n",
		"*3\r\n$7\r\nmessage\r\n$-1\r\n$1\r\nx\r\n",
		"*4\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n$1\r\ny\r\n",
		"*3\r\n$8\r\npmessage\r\n$2\r\nch\r\n$1\r\nx\r\n",
		"*4\r\n$8\r\npmessage\r\n:1\r\n$2\r\nch\r\n$1\r\nx\r\n",
		"*2\r\n$7\r\nmessage\r\n$2\r\nch\r\n",
		"$7\r\nmessage\r\n", ":3\r\n", "*0\r\n", "*-1\r\n",
	};
	struct resp_message m;

	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		struct resp_reply *r = parse_one(other[i], strlen(other[i]));
		cr_assert(!resp_message(r, &m), "%s", other[i]);
		resp_reply_free(r);
	}
}

/* ---- Limits ---------------------------------------------------------- */

Test(resp_limits, each_limit_is_exact)
{
	struct resp_limits lim = { .max_bulk = 3, .max_line = 6,
		.max_elems = 2, .max_depth = 2 };

	expect_lim("$3\r\nabc\r\n", 9, &lim, "$abc\n");
	expect_lim("$4\r\nabcd\r\n", 10, &lim,
	    "ERR bulk string of 4 bytes over the limit of 3");
	expect_lim("+abcdef\r\n", 9, &lim, "+abcdef\n");
	expect_lim("-abcdefg", 8, &lim, "ERR line over the limit of 6 bytes");
	expect_lim("*2\r\n:1\r\n:2\r\n", 12, &lim, "[:1,:2]\n");
	expect_lim("*3\r\n", 4, &lim,
	    "ERR array of 3 elements over the limit of 2");
	expect_lim("*1\r\n*1\r\n*0\r\n", 12, &lim,
	    "ERR arrays nested over the limit of 2 deep");
	expect_lim("*1\r\n*1\r\n*-1\r\n", 13, &lim, "[[nil]]\n");
	expect_lim("*1\r\n*2\r\n$-1\r\n:7\r\n", 17, &lim, "[[nil,:7]]\n");
}

Test(resp_limits, huge_lengths_are_refused_before_allocating)
{
	EXPECT("$16777217\r\n", "ERR bulk string of 16777217 bytes over the "
	    "limit of 16777216");
	EXPECT("$9223372036854775807\r\n", "ERR bulk string of "
	    "9223372036854775807 bytes over the limit of 16777216");
	EXPECT("*1048577\r\n", "ERR array of 1048577 elements over the limit "
	    "of 1048576");
	EXPECT("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n",
	    "ERR arrays nested over the limit of 8 deep");
}

/* Eight arrays of 2^20 slots would each be within the element limit; their
 * slots alone (64 MiB) go over the whole-reply limit. */
Test(resp_limits, a_reply_is_bounded_as_a_whole)
{
	static const char one[] = "*1048576\r\n";
	char in[8 * sizeof(one)] = "";

	for (int i = 0; i < 8; i++)
		strcat(in, one);
	expect_lim(in, strlen(in), NULL,
	    "ERR reply over the limit of 67108864 bytes");

	struct resp_limits lim = { .max_reply = 1000 };
	char many[2000] = "*100\r\n";
	for (int i = 0; i < 100; i++)
		strcat(many, ":1\r\n");
	expect_lim(many, strlen(many), &lim,
	    "ERR reply over the limit of 1000 bytes");
}

/* ---- The encoder ----------------------------------------------------- */

Test(resp_encode, commands_are_arrays_of_bulk_strings)
{
	struct resp_buf b = { 0 };
	const char *set[] = { "SET", "k", "v", "NX", "PX", "5000" };
	const char *bin[] = { "PUBLISH", "c", "a\r\n\0b" };
	const size_t lens[] = { 7, 1, 5 };
	const char want[] = "*6\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
	    "$2\r\nNX\r\n$2\r\nPX\r\n$4\r\n5000\r\n"
	    "*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$5\r\na\r\n\0b\r\n";

	cr_assert_eq(resp_encode(&b, 6, set, NULL), 0);
	size_t first = b.len;
	cr_assert_eq(resp_encode(&b, 3, bin, lens), 0, "appends");
	cr_assert_eq(b.len, sizeof(want) - 1);
	cr_assert_eq(memcmp(b.data, want, b.len), 0);
	cr_assert_leq(b.len, b.cap);

	/* Read back as a reply, a command is the array of its arguments. */
	struct resp_reply *r = parse_one(b.data, first);
	cr_assert_eq(resp_count(r), 6);
	for (size_t i = 0; i < 6; i++)
		cr_assert(resp_str_eq(resp_elem(r, i), set[i]));
	resp_reply_free(r);
	resp_buf_free(&b);
	cr_assert(b.data == NULL && b.len == 0 && b.cap == 0);
}

Test(resp_encode, a_big_argument_grows_the_buffer)
{
	static char big[1 << 20];
	struct resp_buf b = { 0 };
	const char *argv[] = { "SET", "k", big };
	const size_t lens[] = { 3, 1, sizeof(big) };

	memset(big, 'x', sizeof(big));
	cr_assert_eq(resp_encode(&b, 3, argv, lens), 0);
	cr_assert_eq(b.len, 4 + 9 + 7 + 10 + sizeof(big) + 2);
	cr_assert_eq(memcmp(b.data + b.len - 10, "xxxxxxxx\r\n", 10), 0);
	resp_buf_free(&b);
}

/* ---- The connection, against a scripted server ------------------------ */

/* A loopback listener playing the server, its accepted socket, and the
 * connection under test. */
struct script {
	int lfd;
	int fd;
	struct resp_conn *c;
};

static void
script_open(struct script *s)
{
	char err[256], port[16];

	s->lfd = net_listen("127.0.0.1", "0", err, sizeof(err));
	cr_assert_geq(s->lfd, 0, "%s", err);
	snprintf(port, sizeof(port), "%d", net_local_port(s->lfd));
	s->c = resp_conn_open("127.0.0.1", port, WAIT_MS, NULL, err,
	    sizeof(err));
	cr_assert_not_null(s->c, "%s", err);
	s->fd = accept(s->lfd, NULL, NULL);     /* already in the backlog */
	cr_assert_geq(s->fd, 0);
}

static void
script_close(struct script *s)
{
	resp_conn_close(s->c);
	close(s->fd);
	close(s->lfd);
}

/* The server side reads exactly want (len bytes) within WAIT_MS. */
static void
script_expect(struct script *s, const char *want, size_t len)
{
	char got[256];
	size_t n = 0;

	cr_assert_leq(len, sizeof(got));
	while (n < len) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1, "nothing came");
		ssize_t r = read(s->fd, got + n, len - n);
		cr_assert_gt(r, 0);
		n += (size_t)r;
	}
	cr_assert_eq(memcmp(got, want, len), 0);
}

static void
script_say(struct script *s, const char *text)
{
	cr_assert_eq(net_write_all(s->fd, text, strlen(text)), 0);
}

Test(resp_conn, replies_arrive_whole_however_the_bytes_are_split)
{
	struct script s;
	const char *ping[] = { "PING" };

	script_open(&s);
	cr_assert_eq(resp_conn_send(s.c, WAIT_MS, 1, ping, NULL), 0);
	cr_assert_eq(resp_conn_send(s.c, WAIT_MS, 1, ping, NULL), 0);
	script_expect(&s, "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n", 28);

	script_say(&s, "+PO");
	long long t0 = now_ms();
	cr_assert_null(resp_conn_read(s.c, 100));
	cr_assert_geq(now_ms() - t0, 100);
	cr_assert_eq(resp_conn_failure(s.c), RESP_FAIL_TIMEOUT);
	cr_assert_str_eq(resp_conn_error(s.c),
	    "timed out after 100 ms waiting for a reply");

	script_say(&s, "NG\r\n+PONG\r\n");      /* a timeout lost nothing */
	struct resp_reply *r = resp_conn_read(s.c, WAIT_MS);
	cr_assert(resp_str_eq(r, "PONG"));
	cr_assert_eq(resp_conn_failure(s.c), RESP_FAIL_NONE);
	resp_reply_free(r);
	r = resp_conn_read(s.c, 0);             /* already buffered */
	cr_assert(resp_str_eq(r, "PONG"));
	resp_reply_free(r);
	script_close(&s);
}

Test(resp_conn, a_protocol_error_ends_the_connection)
{
	struct script s;

	script_open(&s);
	script_say(&s, "HTTP/1.1 400 Bad Request\r\n");
	cr_assert_null(resp_conn_read(s.c, WAIT_MS));
	cr_assert_eq(resp_conn_failure(s.c), RESP_FAIL_PROTOCOL);
	cr_assert_str_eq(resp_conn_error(s.c),
	    "protocol error: unknown type byte 0x48");
	script_say(&s, "+OK\r\n");
	cr_assert_null(resp_conn_read(s.c, WAIT_MS));
	cr_assert_eq(resp_conn_failure(s.c), RESP_FAIL_PROTOCOL, "for good");
	script_close(&s);
}

Test(resp_conn, the_server_closing_mid_reply_is_reported)
{
	struct script s;

	script_open(&s);
	script_say(&s, "*2\r\n$5\r\nab");
	close(s.fd);
	s.fd = -1;
	cr_assert_null(resp_conn_read(s.c, WAIT_MS));
	cr_assert_eq(resp_conn_failure(s.c), RESP_FAIL_CLOSED);
	cr_assert_str_eq(resp_conn_error(s.c),
	    "connection closed by the server");
	script_close(&s);
}

Test(resp_conn, a_refused_connection_says_so)
{
	char err[256], port[16];

	snprintf(port, sizeof(port), "%d", free_port());
	cr_assert_null(resp_conn_open("127.0.0.1", port, WAIT_MS, NULL, err,
	    sizeof(err)));
	cr_assert(strstr(err, "Connection refused") != NULL, "%s", err);
}

Test(resp_conn, a_command_that_times_out_ends_the_connection)
{
	struct script s;
	const char *argv[] = { "BLPOP", "q", "0" };

	script_open(&s);
	long long t0 = now_ms();
	cr_assert_null(resp_conn_command(s.c, 150, 3, argv, NULL));
	cr_assert_geq(now_ms() - t0, 150);
	cr_assert_lt(now_ms() - t0, WAIT_MS);
	cr_assert_eq(resp_conn_failure(s.c), RESP_FAIL_TIMEOUT);
	script_say(&s, "*-1\r\n");     /* the late reply is never taken */
	cr_assert_null(resp_conn_read(s.c, WAIT_MS));
	cr_assert_eq(resp_conn_failure(s.c), RESP_FAIL_TIMEOUT);
	cr_assert_eq(resp_conn_send(s.c, WAIT_MS, 3, argv, NULL), -1);
	script_close(&s);
}

/* A call made in another thread, with no deadline, to be woken. */
struct blocked {
	struct resp_conn *c;
	atomic_int tid;
	bool send;          /* send a big command, rather than read */
	int rc;             /* 0 for a sent command or a reply read */
};

static void *
blocked_call(void *arg)
{
	static char big[32 << 20];
	struct blocked *b = arg;
	const char *argv[] = { "SET", "k", big };
	const size_t lens[] = { 3, 1, sizeof(big) };

	atomic_store(&b->tid, gettid());
	if (b->send) {
		b->rc = resp_conn_send(b->c, -1, 3, argv, lens);
	} else {
		struct resp_reply *r = resp_conn_read(b->c, -1);
		b->rc = r != NULL ? 0 : -1;
		resp_reply_free(r);
	}
	return NULL;
}

/* True when thread tid is asleep in the kernel (state S in its stat). */
static bool
thread_sleeping(int tid)
{
	char path[64], buf[512];

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *end = strrchr(buf, ')');     /* the name may hold spaces */
	return end != NULL && end[1] == ' ' && end[2] == 'S';
}

/* Starts b's call, waits until it blocks, shuts the connection down from
 * this thread, and asserts the call ends with RESP_FAIL_SHUTDOWN. */
static void
shutdown_wakes(struct blocked *b)
{
	pthread_t t;
	struct timespec until;

	cr_assert_eq(pthread_create(&t, NULL, blocked_call, b), 0);
	long long deadline = now_ms() + WAIT_MS;
	while (atomic_load(&b->tid) == 0 || !thread_sleeping(b->tid)) {
		cr_assert_lt(now_ms(), deadline, "the call never blocked");
		poll(NULL, 0, 1);   /* a thread's state gives no event */
	}
	resp_conn_shutdown(b->c);
	resp_conn_shutdown(b->c);           /* twice is harmless */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_MS / 1000;
	cr_assert_eq(pthread_timedjoin_np(t, NULL, &until), 0,
	    "the blocked call was not woken");
	cr_assert_eq(b->rc, -1);
	cr_assert_eq(resp_conn_failure(b->c), RESP_FAIL_SHUTDOWN);
	cr_assert_null(resp_conn_read(b->c, 0), "and calls after it fail");
	cr_assert_eq(resp_conn_failure(b->c), RESP_FAIL_SHUTDOWN);
}

Test(resp_conn, shutdown_wakes_a_reader_blocked_with_no_deadline)
{
	struct script s;

	script_open(&s);
	shutdown_wakes(&(struct blocked){ .c = s.c });
	script_close(&s);
}

Test(resp_conn, shutdown_wakes_a_sender_blocked_on_a_full_socket)
{
	struct script s;

	script_open(&s);
	shutdown_wakes(&(struct blocked){ .c = s.c, .send = true });
	script_close(&s);
}

Test(resp_conn, a_send_that_times_out_ends_the_connection)
{
	static char big[32 << 20];
	struct script s;
	const char *argv[] = { "SET", "k", big };
	const size_t lens[] = { 3, 1, sizeof(big) };

	script_open(&s);
	cr_assert_eq(resp_conn_send(s.c, 100, 3, argv, lens), -1);
	cr_assert_eq(resp_conn_failure(s.c), RESP_FAIL_TIMEOUT);
	cr_assert_str_eq(resp_conn_error(s.c),
	    "timed out after 100 ms sending");
	cr_assert_null(resp_conn_read(s.c, 0));
	cr_assert_eq(resp_conn_failure(s.c), RESP_FAIL_TIMEOUT, "for good");
	script_close(&s);
}

/* ---- Against a real redis-server -------------------------------------- */

/* The redis-server of the current test (tests/redisd.h). */
static struct redisd rds;

static void
redis_up(void)
{
	redisd_start(&rds);
}

static void
redis_down(void)
{
	redisd_stop(&rds);
}

TestSuite(redis, .init = redis_up, .fini = redis_down, .timeout = 30);

static struct resp_conn *
redis_conn(void)
{
	return redisd_conn(&rds);
}

/* Runs a command and checks its reply as render() writes it; a want that
 * ends with '*' is a prefix. */
static void
command_is(struct resp_conn *c, const char *want, const char **argv,
    int argc, const size_t *lens)
{
	struct resp_reply *r = resp_conn_command(c, WAIT_MS, argc, argv, lens);
	char got[4096] = "";
	size_t n = strlen(want);

	cr_assert_not_null(r, "%s: %s", argv[0], resp_conn_error(c));
	render(r, got, sizeof(got));
	if (n > 0 && want[n - 1] == '*')
		cr_assert(strncmp(got, want, n - 1) == 0, "%s: %s", argv[0],
		    got);
	else
		cr_assert_str_eq(got, want, "%s", argv[0]);
	resp_reply_free(r);
}

#define ARGV(...) (const char *[]){ __VA_ARGS__ }
#define ARGC(...) (int)(sizeof(ARGV(__VA_ARGS__)) / sizeof(const char *))
#define COMMAND_IS(c, want, ...) \
	command_is(c, want, ARGV(__VA_ARGS__), ARGC(__VA_ARGS__), NULL)

Test(redis, leases_counters_lists_errors_and_nils)
{
	struct resp_conn *c = redis_conn();

	COMMAND_IS(c, "+OK", "SET", "name:alice", "node-1", "NX", "PX", "5000");
	COMMAND_IS(c, "nil", "SET", "name:alice", "node-2", "NX", "PX", "5000");
	COMMAND_IS(c, "$node-1", "GET", "name:alice");
	struct resp_reply *r = resp_conn_command(c, WAIT_MS, 2,
	    ARGV("PTTL", "name:alice"), NULL);
	cr_assert_eq(resp_type(r), RESP_INTEGER);
	cr_assert(resp_integer(r) > 0 && resp_integer(r) <= 5000);
	resp_reply_free(r);
	COMMAND_IS(c, ":1", "DEL", "name:alice");
	COMMAND_IS(c, ":0", "DEL", "name:alice");
	COMMAND_IS(c, "nil", "GET", "name:alice");

	COMMAND_IS(c, ":1", "INCR", "seq");
	COMMAND_IS(c, ":2", "INCR", "seq");
	COMMAND_IS(c, "+OK", "SET", "text", "abc");
	COMMAND_IS(c, "-ERR value is not an integer*", "INCR", "text");
	COMMAND_IS(c, "-ERR unknown command*", "NOSUCHCOMMAND", "x");
	COMMAND_IS(c, "+PONG", "PING");     /* an error reply harms nothing */

	COMMAND_IS(c, ":3", "RPUSH", "room:1", "a", "b", "c");
	COMMAND_IS(c, "+OK", "LTRIM", "room:1", "-2", "-1");
	COMMAND_IS(c, "[$b,$c]", "LRANGE", "room:1", "0", "-1");
	COMMAND_IS(c, "nil", "BLPOP", "empty", "0.05");     /* a nil array */
	resp_conn_close(c);
}

Test(redis, binary_values_and_pipelined_commands)
{
	struct resp_conn *c = redis_conn();
	const char value[] = "line\r\nwith NUL\0and CR LF\r\n";
	const size_t lens[] = { 3, 3, sizeof(value) - 1 };

	command_is(c, "+OK", ARGV("SET", "bin", value), 3, lens);
	struct resp_reply *r = resp_conn_command(c, WAIT_MS, 2,
	    ARGV("GET", "bin"), NULL);
	size_t len;
	const char *got = resp_str(r, &len);
	cr_assert_eq(resp_type(r), RESP_BULK);
	cr_assert_eq(len, sizeof(value) - 1);
	cr_assert_eq(memcmp(got, value, len), 0);
	resp_reply_free(r);

	for (int i = 0; i < 3; i++)
		cr_assert_eq(resp_conn_send(c, WAIT_MS, 2, ARGV("INCR", "n"),
		    NULL), 0);
	for (long long i = 1; i <= 3; i++) {
		r = resp_conn_read(c, WAIT_MS);
		cr_assert_not_null(r, "%s", resp_conn_error(c));
		cr_assert_eq(resp_integer(r), i, "in order");
		resp_reply_free(r);
	}
	resp_conn_close(c);
}

/* Commands queued and sent with one flush, after a command sent the usual
 * way: only the queued ones go out, and their replies come in order. */
Test(redis, queued_commands_go_out_in_one_flush)
{
	struct resp_conn *c = redis_conn();

	COMMAND_IS(c, "+PONG", "PING");
	cr_assert_eq(resp_conn_queue(c, 3, ARGV("SET", "q", "1"), NULL), 0);
	cr_assert_eq(resp_conn_queue(c, 2, ARGV("INCR", "q"), NULL), 0);
	cr_assert_eq(resp_conn_queue(c, 2, ARGV("GET", "q"), NULL), 0);
	cr_assert_eq(resp_conn_flush(c, WAIT_MS), 0);
	const char *want[] = { "+OK", ":2", "$2" };
	for (int i = 0; i < 3; i++) {
		struct resp_reply *r = resp_conn_read(c, WAIT_MS);
		char got[64] = "";
		cr_assert_not_null(r, "%s", resp_conn_error(c));
		render(r, got, sizeof(got));
		cr_assert_str_eq(got, want[i], "reply %d", i);
		resp_reply_free(r);
	}
	struct resp_reply *r = resp_conn_read(c, 200);
	cr_assert_null(r, "a reply too many: the PING went out twice");
	cr_assert_eq(resp_conn_failure(c), RESP_FAIL_TIMEOUT);
	resp_conn_close(c);
}

Test(redis, a_subscriber_reads_messages_and_pattern_messages)
{
	struct resp_conn *sub = redis_conn(), *pub = redis_conn();
	const char payload[] = "hi\r\n\0there";
	const size_t lens[] = { 7, 6, sizeof(payload) - 1 };
	struct resp_message m;
	bool plain = false, pattern = false;

	COMMAND_IS(sub, "[$subscribe,$room.1,:1]", "SUBSCRIBE", "room.1");
	COMMAND_IS(sub, "[$psubscribe,$room.*,:2]", "PSUBSCRIBE", "room.*");
	cr_assert_null(resp_conn_read(sub, 50), "nothing published yet");
	cr_assert_eq(resp_conn_failure(sub), RESP_FAIL_TIMEOUT);

	command_is(pub, ":2", ARGV("PUBLISH", "room.1", payload), 3, lens);
	for (int i = 0; i < 2; i++) {
		struct resp_reply *r = resp_conn_read(sub, WAIT_MS);
		cr_assert_not_null(r, "%s", resp_conn_error(sub));
		cr_assert(resp_message(r, &m));
		cr_assert_eq(m.channel_len, 6);
		cr_assert_eq(memcmp(m.channel, "room.1", 6), 0);
		cr_assert_eq(m.payload_len, sizeof(payload) - 1);
		cr_assert_eq(memcmp(m.payload, payload, m.payload_len), 0);
		if (m.pattern != NULL)
			cr_assert_eq(memcmp(m.pattern, "room.*", 6), 0);
		plain = plain || m.pattern == NULL;
		pattern = pattern || m.pattern != NULL;
		resp_reply_free(r);
	}
	cr_assert(plain && pattern);
	COMMAND_IS(pub, ":1", "PUBLISH", "room.2", "x");   /* the pattern's */
	struct resp_reply *r = resp_conn_read(sub, WAIT_MS);
	cr_assert(resp_message(r, &m) && m.pattern != NULL);
	resp_reply_free(r);
	resp_conn_close(sub);
	resp_conn_close(pub);
}

Test(redis, a_killed_client_and_a_stopped_subscriber_are_reported)
{
	struct resp_conn *c = redis_conn(), *admin = redis_conn();
	char id[32];

	struct resp_reply *r = resp_conn_command(c, WAIT_MS, 2,
	    ARGV("CLIENT", "ID"), NULL);
	snprintf(id, sizeof(id), "%lld", resp_integer(r));
	resp_reply_free(r);
	COMMAND_IS(admin, ":1", "CLIENT", "KILL", "ID", id);
	cr_assert_null(resp_conn_command(c, WAIT_MS, 1, ARGV("PING"), NULL));
	cr_assert_eq(resp_conn_failure(c), RESP_FAIL_CLOSED, "%s",
	    resp_conn_error(c));
	resp_conn_close(c);

	struct resp_conn *sub = redis_conn();
	COMMAND_IS(sub, "[$subscribe,$bus,:1]", "SUBSCRIBE", "bus");
	shutdown_wakes(&(struct blocked){ .c = sub });
	resp_conn_close(sub);
	resp_conn_close(admin);
}
