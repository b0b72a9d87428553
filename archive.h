/*
 * archive.h - rooms' messages on disk, so history survives a restart.
 *
 * With --data-dir DIR each room's messages are appended to
 * DIR/rooms/<key>.log (key: the room's name in lowercase, without '#'),
 * one line per message: "<time> <from> <text>", time in UTC as
 * YYYY-MM-DDTHH:MM:SSZ. The chat path never touches a file: a room hands
 * its lines to the archive (archive_take) under the room's lock, without
 * blocking, into a bounded queue (queue.h) that a thread of the archive's
 * own drains, as a client's writer drains its queue: everything queued at
 * once, one write per room per batch. When the queue is full the lines are
 * refused, and the room delivers them to nobody (never a silent gap on
 * disk). A write that fails (a full disk, EIO) is undone (the file is cut
 * back to where the write began, so no half line is left), logged once,
 * and the room goes on from memory; the first write that works again says
 * so.
 *
 * --fsync: always (after every batch), second (at most a second after a
 * write: like Redis's appendfsync everysec), no (the system decides).
 * archive_close writes what is queued and fsyncs every file whatever the
 * setting: SIGTERM loses nothing.
 *
 * A crash can leave a half-written last line; archive_open cuts every log
 * back to its last whole line. A malformed line is skipped when read, with
 * one [WARN] per file.
 *
 * Threads: archive_take from any thread (room locks held); archive_flush
 * and archive_load from readers holding no lock; archive_open and
 * archive_close from main.
 */
#ifndef HUBCHAT_ARCHIVE_H
#define HUBCHAT_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>

struct archive;
struct hub_line;
struct msg;
struct queue_wakes;

enum archive_fsync {
	ARCHIVE_FSYNC_NO,
	ARCHIVE_FSYNC_SECOND,
	ARCHIVE_FSYNC_ALWAYS,
};

/* Opens DIR, making DIR/rooms if need be, cuts every room log back to its
 * last whole line (logged), and starts the writer thread, whose queue holds
 * at most queue_bytes. NULL with a one-line reason in err when DIR cannot
 * be read or written, or the thread cannot start. */
struct archive *archive_open(const char *dir, enum archive_fsync mode,
    size_t queue_bytes, char *err, size_t errsz);

/* Takes the archive lines of lines[0..n), all or none, without blocking:
 * false when its queue has no room for them. Call with the room's lock
 * held, so they are written in the room's order; the writer's wake-up is
 * put off into w. */
bool archive_take(struct archive *a, const struct hub_line *lines, size_t n,
    struct queue_wakes *w);

/* Waits until everything taken so far has been written (or has failed).
 * Holds no lock of the caller's. */
void archive_flush(struct archive *a);

/* The last n messages of room key as HIST lines, oldest first, read after
 * archive_flush: sets *out to a malloc'd array (the caller drops each
 * line's reference and frees it) and returns how many; 0, *out NULL, when
 * there are none. Does file I/O: call it holding no lock. */
size_t archive_load(struct archive *a, const char *key, size_t n,
    struct msg ***out);

/* Writes everything still queued, fsyncs every file, stops the thread,
 * frees a. NULL is ignored. */
void archive_close(struct archive *a);

/* Lines written and refused so far, for [STATS]. */
void archive_counts(struct archive *a, unsigned long long *written,
    unsigned long long *failed);

#endif
