/*
 * archive.c - rooms' messages on disk; see archive.h for the contract.
 *
 * The writer thread (archive_main) pops everything queued, up to
 * ARCHIVE_BATCH lines, and writes each run of lines for one room with one
 * writev to that room's log. Logs stay open in a small cache (files), so a
 * busy room costs no open(2) per batch. A line in the queue is the room's
 * key, a space, and the log line: the key says which file, and the rest is
 * written as it is. When a write fails the file is cut back to where the
 * write began, so a log only ever holds whole lines.
 *
 * Everything below the queue belongs to the writer thread alone, but the
 * flush count (lock, done), which readers wait on.
 */
#include "archive.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "hub.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "queue.h"
#include "sync.h"

#define ARCHIVE_BATCH 256       /* lines popped at once */
#define ARCHIVE_FILES 32        /* room logs kept open */
#define ARCHIVE_TICK_MS 1000    /* --fsync second */

struct archive_file {
	char key[PROTO_MAX_ROOM + 1];   /* "" when the slot is free */
	int fd;
	bool dirty;                     /* written since the last fsync */
	bool failing;                   /* the last write failed (logged) */
	unsigned long used;             /* for replacing the least used */
};

struct archive {
	char dir[4096];                 /* DIR/rooms; const */
	int dirfd;                      /* of DIR/rooms; const */
	enum archive_fsync mode;        /* const */
	struct queue *q;
	pthread_t thread;
	atomic_ullong taken;            /* lines taken by archive_take */
	pthread_mutex_t lock;           /* protects done */
	pthread_cond_t progress;        /* done grew */
	unsigned long long done;        /* lines written or failed */
	atomic_ullong written, failed;  /* for archive_counts */
	struct archive_file files[ARCHIVE_FILES];   /* the writer's */
	unsigned long clock;            /* the writer's */
	int64_t synced_ms;              /* the writer's: last --fsync second */
	bool open_failing;              /* the writer's: the last open of a
	                                   log failed (and was logged) */
};

static void *archive_main(void *arg);
static void archive_repair_all(struct archive *a);

/* ---- Opening and closing ------------------------------------------------- */

/* Makes path a directory we can read and write, or says why not. */
static bool
archive_usable_dir(const char *path, char *err, size_t errsz)
{
	struct stat st;

	if (mkdir(path, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errsz, "cannot use --data-dir: %s: %s", path,
		    strerror(errno));
		return false;
	}
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    access(path, R_OK | W_OK | X_OK) < 0) {
		snprintf(err, errsz, "cannot use --data-dir: %s: %s", path,
		    S_ISDIR(st.st_mode) ? strerror(errno) : "not a directory");
		return false;
	}
	return true;
}

struct archive *
archive_open(const char *dir, enum archive_fsync mode, size_t queue_bytes,
    char *err, size_t errsz)
{
	const struct queue_limits lim = { .hard = queue_bytes };
	struct archive *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	snprintf(a->dir, sizeof(a->dir), "%s/rooms", dir);
	if (!archive_usable_dir(dir, err, errsz) ||
	    !archive_usable_dir(a->dir, err, errsz)) {
		free(a);
		return NULL;
	}
	a->dirfd = open(a->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	a->mode = mode;
	a->q = queue_new(&lim);
	if (a->dirfd < 0 || a->q == NULL) {
		snprintf(err, errsz, "cannot use --data-dir: %s: %s", a->dir,
		    a->q == NULL ? "out of memory" : strerror(errno));
		archive_close(a);
		return NULL;
	}
	sync_mutex_init(&a->lock);
	sync_check(pthread_cond_init(&a->progress, NULL), "pthread_cond_init");
	archive_repair_all(a);
	int rc = pthread_create(&a->thread, NULL, archive_main, a);
	if (rc != 0) {
		snprintf(err, errsz, "cannot start the archive: %s",
		    strerror(rc));
		pthread_cond_destroy(&a->progress);
		pthread_mutex_destroy(&a->lock);
		queue_free(a->q);
		close(a->dirfd);
		free(a);
		return NULL;
	}
	return a;
}

void
archive_close(struct archive *a)
{
	if (a == NULL)
		return;
	if (a->q != NULL && a->thread != 0) {
		queue_close(a->q);      /* the writer drains it, fsyncs, ends */
		sync_join(a->thread);
		pthread_cond_destroy(&a->progress);
		pthread_mutex_destroy(&a->lock);
	}
	queue_free(a->q);
	if (a->dirfd >= 0)
		close(a->dirfd);
	free(a);
}

void
archive_counts(struct archive *a, unsigned long long *written,
    unsigned long long *failed)
{
	*written = atomic_load(&a->written);
	*failed = atomic_load(&a->failed);
}

/* ---- Taking lines, and waiting for them ------------------------------- */

bool
archive_take(struct archive *a, const struct hub_line *lines, size_t n,
    struct queue_wakes *w)
{
	struct msg *batch[64];

	assert(n <= 64);
	for (size_t i = 0; i < n; i++)
		batch[i] = lines[i].archive;
	if (queue_push_batch(a->q, batch, n, queue_cost(batch, n), w) !=
	    QUEUE_OK)
		return false;
	atomic_fetch_add(&a->taken, n);
	return true;
}

void
archive_flush(struct archive *a)
{
	unsigned long long want = atomic_load(&a->taken);

	sync_lock(&a->lock);
	while (a->done < want)
		sync_wait(&a->progress, &a->lock);
	sync_unlock(&a->lock);
}

/* The writer has dealt with n more lines. */
static void
archive_progress(struct archive *a, size_t n)
{
	sync_lock(&a->lock);
	a->done += n;
	sync_unlock(&a->lock);
	sync_check(pthread_cond_broadcast(&a->progress),
	    "pthread_cond_broadcast");
}

/* ---- The writer thread ------------------------------------------------- */

/* The open log of key, opening it (and closing the least used one) when
 * need be; NULL when it cannot be opened (logged once until an open works
 * again, not once a batch). */
static struct archive_file *
archive_file(struct archive *a, const char *key, size_t keylen)
{
	struct archive_file *f = NULL, *lru = &a->files[0];
	char name[PROTO_MAX_ROOM + 8];

	for (size_t i = 0; i < ARCHIVE_FILES && f == NULL; i++) {
		struct archive_file *e = &a->files[i];
		if (strlen(e->key) == keylen && memcmp(e->key, key, keylen) == 0)
			f = e;
		else if (e->used < lru->used)
			lru = e;
	}
	if (f != NULL) {
		f->used = ++a->clock;
		return f;
	}
	if (lru->key[0] != '\0') {
		if (lru->dirty)
			fsync(lru->fd);
		close(lru->fd);
	}
	snprintf(name, sizeof(name), "%.*s.log", (int)keylen, key);
	int fd = openat(a->dirfd, name, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0640);
	*lru = (struct archive_file){ .fd = fd, .used = ++a->clock };
	if (fd < 0) {
		if (!a->open_failing)
			log_event(LOG_ARCHIVE, "%s/%s: %s; history goes on in "
			    "memory", a->dir, name, strerror(errno));
		a->open_failing = true;
		return NULL;
	}
	if (a->open_failing)
		log_event(LOG_ARCHIVE, "%s/%s: opening works again", a->dir,
		    name);
	a->open_failing = false;
	snprintf(lru->key, sizeof(lru->key), "%.*s", (int)keylen, key);
	return lru;
}

/* writev of iov[0..n) to a file, over short writes and EINTR. */
static int
archive_writev_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t k = writev(fd, iov, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		while (n > 0 && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return 0;
}

/* Appends one run of lines to f; on failure cuts the file back to where
 * the run began, and says so once until a write works again. */
static void
archive_append(struct archive *a, struct archive_file *f, struct iovec *iov,
    int n)
{
	off_t start = lseek(f->fd, 0, SEEK_END);

	if (archive_writev_all(f->fd, iov, n) == 0) {
		atomic_fetch_add(&a->written, (unsigned)n);
		f->dirty = true;
		if (f->failing)
			log_event(LOG_ARCHIVE, "%s/%s.log: writing works again",
			    a->dir, f->key);
		f->failing = false;
		return;
	}
	int err = errno;
	atomic_fetch_add(&a->failed, (unsigned)n);
	if (start >= 0 && ftruncate(f->fd, start) < 0)
		err = errno;
	if (!f->failing)
		log_event(LOG_ARCHIVE, "%s/%s.log: %s; history goes on in memory",
		    a->dir, f->key, strerror(err));
	f->failing = true;
}

/* Writes a batch: each run of lines for one room with one writev. */
static void
archive_write(struct archive *a, struct msg **batch, size_t n)
{
	struct iovec iov[ARCHIVE_BATCH];

	for (size_t i = 0; i < n;) {
		const char *line = msg_data(batch[i]);
		size_t keylen = strcspn(line, " ");
		size_t j = i;
		for (; j < n; j++) {
			const char *d = msg_data(batch[j]);
			if (strncmp(d, line, keylen + 1) != 0)
				break;
			iov[j - i].iov_base = (char *)d + keylen + 1;
			iov[j - i].iov_len = msg_len(batch[j]) - keylen - 1;
		}
		struct archive_file *f = archive_file(a, line, keylen);
		if (f != NULL)
			archive_append(a, f, iov, (int)(j - i));
		else
			atomic_fetch_add(&a->failed, j - i);
		if (f != NULL && a->mode == ARCHIVE_FSYNC_ALWAYS && f->dirty) {
			fsync(f->fd);
			f->dirty = false;
		}
		i = j;
	}
}

/* fsyncs every file written since the last time. */
static void
archive_sync_all(struct archive *a)
{
	for (size_t i = 0; i < ARCHIVE_FILES; i++) {
		if (a->files[i].key[0] != '\0' && a->files[i].dirty) {
			fsync(a->files[i].fd);
			a->files[i].dirty = false;
		}
	}
}

static int64_t
archive_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *
archive_main(void *arg)
{
	struct archive *a = arg;
	struct msg *batch[ARCHIVE_BATCH];
	bool ended = false;

	pthread_setname_np(pthread_self(), "archive");
	while (!ended) {
		size_t n = queue_pop_timed(a->q, batch, ARCHIVE_BATCH,
		    ARCHIVE_TICK_MS, &ended);
		archive_write(a, batch, n);
		for (size_t i = 0; i < n; i++)
			msg_unref(batch[i]);
		if (a->mode == ARCHIVE_FSYNC_SECOND &&
		    archive_now_ms() - a->synced_ms >= ARCHIVE_TICK_MS) {
			archive_sync_all(a);
			a->synced_ms = archive_now_ms();
		}
		if (n > 0)
			archive_progress(a, n);
	}
	archive_sync_all(a);            /* whatever --fsync says */
	for (size_t i = 0; i < ARCHIVE_FILES; i++)
		if (a->files[i].key[0] != '\0')
			close(a->files[i].fd);
	return NULL;
}

/* ---- Reading logs back --------------------------------------------------- */

/* Cuts a log back to its last whole line: a crash mid-write leaves half of
 * one. Start-up only. */
static void
archive_repair(struct archive *a, const char *name)
{
	char buf[4096];
	int fd = openat(a->dirfd, name, O_RDWR | O_CLOEXEC);
	off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;

	if (end <= 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	off_t at = end;                 /* just after the last LF found */
	for (bool lf = false; !lf && at > 0;) {
		off_t from = at > (off_t)sizeof(buf) ? at - (off_t)sizeof(buf) : 0;
		ssize_t k = pread(fd, buf, (size_t)(at - from), from);
		if (k <= 0)
			break;
		for (; k > 0 && buf[k - 1] != '\n'; k--)
			at--;
		lf = k > 0;
	}
	if (at < end && ftruncate(fd, at) == 0)
		log_event(LOG_WARN, "%s/%s: cut off a half-written last line "
		    "(%lld bytes)", a->dir, name, (long long)(end - at));
	close(fd);
}

static void
archive_repair_all(struct archive *a)
{
	DIR *d = opendir(a->dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n > 4 && strcmp(e->d_name + n - 4, ".log") == 0)
			archive_repair(a, e->d_name);
	}
	closedir(d);
}

/* Whether line ("<time> <from> <text>", NUL-terminated) is well formed. */
static bool
archive_line_ok(char *line)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ ";
	size_t len = strlen(line);

	if (len < sizeof(shape) + 2)
		return false;
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? line[i] < '0' || line[i] > '9' :
		    line[i] != shape[i])
			return false;
	char *from = line + sizeof(shape) - 1;
	char *space = strchr(from, ' ');
	if (space == NULL || space[1] == '\0')
		return false;
	*space = '\0';
	bool ok = proto_name_ok(from) &&
	    proto_text_ok(space + 1, strlen(space + 1));
	*space = ' ';
	return ok;
}

/* Turns the lines of buf[0..len) (whole lines, each ending in LF) into HIST
 * msgs, keeping the last n; a malformed line is skipped, with one [WARN]
 * per file. Returns how many. */
static size_t
archive_parse(struct archive *a, const char *key, char *buf, size_t len,
    size_t n, struct msg **out)
{
	size_t got = 0, bad = 0;

	for (char *line = buf; line < buf + len;) {
		char *lf = memchr(line, '\n', (size_t)(buf + len - line));
		*lf = '\0';
		if (!archive_line_ok(line)) {
			bad++;
		} else {
			struct msg *m = msg_printf("HIST %s", line);
			if (got == n) {         /* keep the newest n */
				msg_unref(out[0]);
				memmove(out, out + 1, (n - 1) * sizeof(*out));
				got--;
			}
			if (m != NULL)
				out[got++] = m;
		}
		line = lf + 1;
	}
	if (bad > 0)
		log_event(LOG_WARN, "%s/%s.log: skipped %zu malformed lines",
		    a->dir, key, bad);
	return got;
}

size_t
archive_load(struct archive *a, const char *key, size_t n, struct msg ***out)
{
	char name[PROTO_MAX_ROOM + 8];
	struct stat st;

	*out = NULL;
	if (n == 0)
		return 0;
	archive_flush(a);
	snprintf(name, sizeof(name), "%s.log", key);
	int fd = openat(a->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	/* The last n lines are within n of the longest: read that much. */
	size_t want = n * (PROTO_MAX_LINE + 64) + 1;
	size_t len = (size_t)st.st_size < want ? (size_t)st.st_size : want;
	char *buf = malloc(len + 1);
	*out = calloc(n, sizeof(**out));
	ssize_t k = buf && *out ? pread(fd, buf, len, st.st_size - (off_t)len) :
	    -1;
	close(fd);
	size_t got = 0;
	if (k == (ssize_t)len) {
		char *start = buf;              /* skip a line cut by the read */
		char *lf = memchr(buf, '\n', len);
		if (len < (size_t)st.st_size)
			start = lf != NULL ? lf + 1 : buf + len;
		char *end = buf + len;          /* whole lines only */
		while (end > start && end[-1] != '\n')
			end--;
		got = archive_parse(a, key, start, (size_t)(end - start), n,
		    *out);
	}
	free(buf);
	if (got == 0) {
		free(*out);
		*out = NULL;
	}
	return got;
}
