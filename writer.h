/*
 * writer.h - the writer's loop: drain a bounded queue to a socket.
 *
 * The server gives each client a writer thread and the peer has one for its
 * link; both run this loop. Batching is what makes a thread per client
 * fast: the writer takes everything queued at once and sends it with one
 * writev, so a burst of lines costs one system call, not one each.
 */
#ifndef HUBCHAT_WRITER_H
#define HUBCHAT_WRITER_H

#include <stddef.h>

struct msg;
struct queue;

/* Sends n msgs to fd, all of them: 0, or -1 with errno set. Blocks while
 * the socket is full. ctx is the sender's own (a transport, say). */
typedef int writer_send_fn(void *ctx, int fd, struct msg *const *batch,
    size_t n);

/* Sends everything q yields to fd with send, up to WRITER_BATCH msgs at a
 * time, until q is closed and drained (returns 0) or a send fails (-1,
 * errno set). Blocks in queue_pop while q is empty, and in send while the
 * socket is full. Drops each msg's reference once it is sent. */
int writer_run(int fd, struct queue *q, writer_send_fn *send, void *ctx);

/* Msgs per send, below IOV_MAX (1024). 256 rather than 64: a reader far
 * behind (workloads A and B of bench/README.md) is caught up with a
 * quarter of the writev calls, which cut the CPU per delivery by a fifth
 * there; 512 measured no better (bench/README.md, "What each change
 * bought"). */
#define WRITER_BATCH 256

/* A writer_send_fn for plain lines: the msgs' bytes as they are, with one
 * writev (looping over short writes and EINTR). ctx is unused. */
int writer_send_lines(void *ctx, int fd, struct msg *const *batch, size_t n);

#endif
