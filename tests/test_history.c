/*
 * test_history.c - history on disk (--data-dir) and rooms held in memory
 * (--max-rooms), with real files and real faults: a restart, SIGTERM,
 * kill -9 under load, a half-written line, malformed lines, a directory
 * that cannot be used, a full disk, an archive that cannot keep up.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* A scratch --data-dir, removed by the test's end. */
static char dir[64];

static void
make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/hubchat-data-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
remove_dir(void)
{
	char cmd[128];

	umount2(dir, MNT_DETACH);       /* the full-disk test's tmpfs */
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", dir);
}

TestSuite(history, .init = make_dir, .fini = remove_dir, .timeout = 60);

/* The lines of a room's log, read whole; the caller frees. */
static char *
read_room_log(const char *key)
{
	char path[128];
	static char none[1];

	snprintf(path, sizeof(path), "%s/rooms/%s.log", dir, key);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return strdup(none);
	char *text = NULL;
	size_t size = 0;
	FILE *mem = open_memstream(&text, &size);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	fclose(mem);
	fclose(f);
	return text;
}

static void
write_room_log(const char *key, const char *text)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/rooms", dir);
	mkdir(path, 0750);
	snprintf(path, sizeof(path), "%s/rooms/%s.log", dir, key);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

/* Reads HIST lines until the next non-HIST line (which must be want, or
 * nothing when want is NULL), writing "from text|..." into out. */
static void
read_hist(struct conn *c, char *out, size_t outsz, const char *want)
{
	char line[2048];
	size_t o = 0;

	out[0] = '\0';
	while (conn_read_line(c, line, sizeof(line), want ? WAIT_MS : 300)) {
		if (strncmp(line, "HIST ", 5) != 0) {
			cr_assert(want != NULL, "after history: %s", line);
			cr_assert_str_eq(line, want);
			return;
		}
		o += (size_t)snprintf(out + o, outsz - o, "%s%s", o ? "|" : "",
		    line + 26);
	}
	cr_assert_null(want, "no %s after history", want);
}

Test(history, survives_a_restart)
{
	struct server srv;
	char hist[4096];

	server_start(&srv, "--data-dir", dir, NULL);
	struct conn *a = conn_login(srv.port, "alice");
	conn_send(a, "MSG one\nMSG two\nJOIN #Rust\n");
	conn_expect(a, "OK");
	conn_send(a, "MSG in rust\n");
	conn_sync(a);
	conn_close(a);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
	server_start(&srv, "--data-dir", dir, NULL);
	struct conn *c = conn_open(srv.port);
	conn_send(c, "LOGIN carol\n");
	conn_expect(c, "OK");
	conn_send(c, "JOIN #rust\n");
	read_hist(c, hist, sizeof(hist), "OK");
	cr_assert_str_eq(hist, "alice one|alice two");
	read_hist(c, hist, sizeof(hist), NULL);
	cr_assert_str_eq(hist, "alice in rust");
	conn_close(c);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* SIGTERM writes and fsyncs everything first, even with --fsync no. */
Test(history, sigterm_writes_everything)
{
	struct server srv;
	static char burst[1000 * 16];
	int n = 0;

	server_start(&srv, "--data-dir", dir, "--fsync", "no", "--flood-rate",
	    "0", NULL);
	struct conn *a = conn_login(srv.port, "alice");
	for (int i = 0; i < 1000; i++)
		n += sprintf(burst + n, "MSG %d\n", i);
	conn_send_raw(a, burst, (size_t)n);
	conn_sync(a);                   /* the server has read them all */
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
	char *log = read_room_log("lobby");
	int lines = 0, seq;
	for (char *p = log; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	cr_assert_eq(lines, 1000);
	cr_assert(strstr(log, " alice 999\n") != NULL);
	cr_assert_eq(sscanf(log, "%*s alice %d", &seq), 1);
	cr_assert_eq(seq, 0);
	free(log);
	conn_close(a);
}

/* kill -9 in the middle of a flood: what is on disk is whole lines, a
 * prefix of what was said, and the restarted server serves its tail. */
Test(history, kill_9_under_load_leaves_whole_lines)
{
	struct server srv;
	static char burst[64 * 16];
	char hist[65536];

	server_start(&srv, "--data-dir", dir, "--flood-rate", "0", NULL);
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");
	int sent = 0;
	char path[128];
	struct stat st = { 0 };
	snprintf(path, sizeof(path), "%s/rooms/lobby.log", dir);
	/* Kill it mid-flood, once the log holds a thousand lines or so
	 * (33 bytes each), so there is something to check. */
	while (sent < 500000 && (stat(path, &st) != 0 || st.st_size < 33000)) {
		int n = 0;
		for (int k = 0; k < 64; k++)
			n += sprintf(burst + n, "MSG %d\n", sent++);
		conn_send_raw(a, burst, (size_t)n);
	}
	kill(srv.pid, SIGKILL);
	waitpid(srv.pid, NULL, 0);
	conn_close(a), conn_close(b);
	server_start(&srv, "--data-dir", dir, NULL);
	char *log = read_room_log("lobby");
	int next = 0, seq;
	for (char *p = log; *p != '\0';) {
		char *lf = strchr(p, '\n');
		cr_assert_not_null(lf, "a half line survived");
		cr_assert_eq(sscanf(p, "%*4d-%*2d-%*2dT%*2d:%*2d:%*2dZ alice %d",
		    &seq), 1, "%.60s", p);
		cr_assert_eq(seq, next++, "not a prefix: %d", seq);
		p = lf + 1;
	}
	cr_log_info("kill -9 after %d sent: %d on disk", sent, next);
	cr_assert_leq(next, sent);
	cr_assert_geq(next, 1000, "the log had grown past 1000 lines");
	struct conn *c = conn_open(srv.port);
	conn_send(c, "LOGIN carol\n");
	conn_expect(c, "OK");
	read_hist(c, hist, sizeof(hist), NULL);
	if (next > 0) {                 /* the last 50 of them */
		char want[64];
		snprintf(want, sizeof(want), "alice %d", next - 1);
		cr_assert(strstr(hist, want) != NULL, "%.80s", hist);
	}
	free(log);
	conn_close(c);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

Test(history, a_half_written_line_is_cut_off_at_start)
{
	struct server srv;
	char hist[4096];

	write_room_log("lobby", "2026-11-29T10:00:00Z alice one\n"
	    "2026-11-29T10:00:01Z alice two\n2026-11-29T10:00:02Z ali");
	server_start(&srv, "--data-dir", dir, NULL);
	cr_assert(server_log_wait(&srv, "lobby.log: cut off a half-written "
	    "last line (24 bytes)", WAIT_MS));
	char *log = read_room_log("lobby");
	cr_assert_str_eq(log, "2026-11-29T10:00:00Z alice one\n"
	    "2026-11-29T10:00:01Z alice two\n");
	free(log);
	struct conn *c = conn_open(srv.port);
	conn_send(c, "LOGIN carol\n");
	conn_expect(c, "OK");
	read_hist(c, hist, sizeof(hist), NULL);
	cr_assert_str_eq(hist, "alice one|alice two");
	conn_close(c);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

Test(history, malformed_lines_are_skipped_with_one_warning)
{
	struct server srv;
	char hist[4096];

	write_room_log("lobby", "2026-11-29T10:00:00Z alice one\n"
	    "garbage\n2026-11-29T10:00:01Z 9bad name\n"
	    "2026-11-29T10:00:02Z alice \x1b[2Jescape\n"
	    "2026-11-29T10:00:03Z alice two\n");
	server_start(&srv, "--data-dir", dir, NULL);
	cr_assert(server_log_wait(&srv, "lobby.log: skipped 3 malformed lines",
	    WAIT_MS));
	cr_assert_eq(server_log_count(&srv, "[WARN]"), 1);
	struct conn *c = conn_open(srv.port);
	conn_send(c, "LOGIN carol\n");
	conn_expect(c, "OK");
	read_hist(c, hist, sizeof(hist), NULL);
	cr_assert_str_eq(hist, "alice one|alice two");
	conn_close(c);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

Test(history, a_data_dir_that_cannot_be_used_is_a_startup_error)
{
	struct proc p;
	char bad[128];

	snprintf(bad, sizeof(bad), "%s/file", dir);
	write_room_log("x", "");                /* makes dir/rooms */
	FILE *f = fopen(bad, "w");
	cr_assert_not_null(f);
	fclose(f);
	strcat(bad, "/under-a-file");
	char *argv[] = { "SERVER", "-p", "0", "--data-dir", bad, NULL };
	argv[0] = getenv("HUBCHAT_SERVER") ? getenv("HUBCHAT_SERVER") :
	    "./server";
	proc_start(&p, argv);
	cr_assert_eq(proc_wait(&p, WAIT_MS), 1);
	cr_assert(strstr(p.text, "cannot use --data-dir") != NULL, "%s",
	    p.text);
	cr_assert(strstr(p.text, "Not a directory") != NULL, "%s", p.text);
}

/* The archive's queue is tiny here, so a burst overflows it: each message
 * is either delivered and on disk, or refused to its sender and given to
 * nobody; never delivered without being kept, never lost in silence. */
Test(history, what_the_archive_cannot_take_is_refused_not_lost)
{
	struct server srv;
	static char burst[300 * 16];
	char line[256];
	int n = 0, refused = 0, delivered = 0;

	server_start(&srv, "--data-dir", dir, "--archive-queue", "4K",
	    "--flood-rate", "0", NULL);
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");
	conn_expect(a, "INFO bob joined");
	for (int i = 0; i < 300; i++)
		n += sprintf(burst + n, "MSG %d\n", i);
	conn_send_raw(a, burst, (size_t)n);
	conn_send(a, "PING done\n");
	while (conn_read_line(a, line, sizeof(line), WAIT_MS) &&
	    strcmp(line, "PONG done") != 0)
		refused += line_is_err(line, "server-busy");
	conn_send(b, "PING done\n");
	while (conn_read_line(b, line, sizeof(line), WAIT_MS) &&
	    strcmp(line, "PONG done") != 0)
		delivered += strncmp(line, "MSG alice ", 10) == 0;
	cr_log_info("archive full: %d delivered, %d refused", delivered,
	    refused);
	cr_assert_gt(refused, 0);
	cr_assert_eq(delivered + refused, 300);
	cr_assert(server_log_wait(&srv, "reason=archive-full", WAIT_MS));
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
	char *log = read_room_log("lobby");
	int lines = 0;
	for (char *p = log; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	cr_assert_eq(lines, delivered, "on disk %d, delivered %d", lines,
	    delivered);
	free(log);
	conn_close(a), conn_close(b);
}

/* A full disk: the failing write is undone and logged once, chat goes on
 * from memory, and the first write that works again says so. Needs a
 * tmpfs of our own (root); skipped with a message otherwise. */
Test(history, a_full_disk_is_survived_and_recovered)
{
	struct server srv;
	char filler[128], text[900];

	if (mount("tmpfs", dir, "tmpfs", 0, "size=64k") != 0)
		cr_skip_test("cannot mount a tiny tmpfs here (not root?): "
		    "skipping the full-disk test");
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	server_start(&srv, "--data-dir", dir, "--fsync", "always", NULL);
	int fd = open(filler, O_WRONLY | O_CREAT, 0600);
	memset(text, 'f', sizeof(text));
	while (write(fd, text, sizeof(text)) > 0)
		;                       /* the disk is full now */
	close(fd);
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");
	conn_expect(a, "INFO bob joined");
	memset(text, 'x', 800);
	text[800] = '\0';
	for (int i = 0; i < 20; i++)
		conn_send(a, "MSG %d %s\n", i, text);
	for (int i = 0; i < 20; i++) {          /* chat goes on */
		char line[2048], want[32];
		snprintf(want, sizeof(want), "MSG alice %d ", i);
		cr_assert(conn_read_line(b, line, sizeof(line), WAIT_MS));
		cr_assert(strncmp(line, want, strlen(want)) == 0, "%.40s",
		    line);
	}
	cr_assert(server_log_wait(&srv, "lobby.log: No space left on device; "
	    "history goes on in memory", WAIT_MS));
	cr_assert_eq(server_log_count(&srv, "No space left"), 1);
	unlink(filler);
	conn_send(a, "MSG after %s\n", "the cleanup");
	conn_expect_eventually(b, "MSG alice after the cleanup");
	cr_assert(server_log_wait(&srv, "lobby.log: writing works again",
	    WAIT_MS));
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
	char *log = read_room_log("lobby");
	cr_assert(strstr(log, "alice after the cleanup\n") != NULL);
	for (char *p = log; *p != '\0'; p = strchr(p, '\n') + 1)
		cr_assert_not_null(strchr(p, '\n'), "a half line on disk");
	free(log);
	conn_close(a), conn_close(b);
}

/* --max-rooms: an empty room is forgotten to make room for a new one,
 * least recently used first, and its history is read back from disk when
 * someone joins it again; when every room held has someone in it, a new
 * room is refused. */
Test(history, max_rooms_forgets_the_least_recently_used_empty_room)
{
	struct server srv;
	char hist[4096];

	server_start(&srv, "--data-dir", dir, "--max-rooms", "3", NULL);
	struct conn *x = conn_login(srv.port, "x");
	struct conn *y = conn_login(srv.port, "y");
	conn_send(x, "JOIN #a\n");
	conn_expect_eventually(x, "OK");
	conn_send(y, "JOIN #b\nMSG kept on disk\nJOIN #lobby\n");
	conn_expect_eventually(y, "OK");
	conn_expect_eventually(y, "OK");        /* #b: empty, with history */
	struct conn *z = conn_login(srv.port, "z");
	conn_send(z, "JOIN #c\n");              /* #b goes to make room */
	conn_expect_eventually(z, "OK");
	conn_send(y, "JOIN #d\n");              /* lobby, #a, #c: all used */
	conn_expect_eventually(y, "ERR too-many-rooms every room held has "
	    "someone in it; try an existing room");
	conn_send(z, "JOIN #lobby\n");          /* #c: empty, no history */
	conn_expect_eventually(z, "OK");
	conn_sync(y);
	conn_send(y, "JOIN #b\n");              /* read back from disk */
	read_hist(y, hist, sizeof(hist), "OK");
	cr_assert_str_eq(hist, "");
	read_hist(y, hist, sizeof(hist), NULL);
	cr_assert_str_eq(hist, "y kept on disk");
	conn_close(x), conn_close(y), conn_close(z);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* A room's log that cannot be opened (here a directory sits where it
 * should be) is reported once, not once a batch; history goes on in
 * memory; when the log can be opened again, that is reported too. */
Test(history, a_log_that_cannot_be_opened_is_reported_once)
{
	struct server srv;
	char path[128];

	snprintf(path, sizeof(path), "%s/rooms", dir);
	mkdir(path, 0750);
	snprintf(path, sizeof(path), "%s/rooms/lobby.log", dir);
	cr_assert_eq(mkdir(path, 0750), 0);
	server_start(&srv, "--data-dir", dir, "--flood-rate", "0", NULL);
	struct conn *a = conn_login(srv.port, "alice");
	struct conn *b = conn_login(srv.port, "bob");
	for (int k = 0; k < 20; k++) {          /* twenty batches, at least */
		conn_send(a, "MSG %d\n", k);
		char want[32];
		snprintf(want, sizeof(want), "MSG alice %d", k);
		conn_expect_eventually(b, want);
		conn_sync(a);
	}
	conn_send(b, "HISTORY 1\n");
	conn_expect_eventually(b, "OK");        /* kept in memory */
	cr_assert(server_log_wait(&srv, "[ARCHIVE]", WAIT_MS));
	cr_assert_eq(server_log_count(&srv, "[ARCHIVE]"), 1);
	cr_assert_eq(rmdir(path), 0);
	conn_send(a, "MSG back on disk\n");
	cr_assert(server_log_wait(&srv, "opening works again", WAIT_MS));
	conn_close(a);
	conn_close(b);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
	char *log = read_room_log("lobby");
	cr_assert(strstr(log, "alice back on disk\n") != NULL, "%s", log);
	free(log);
}
