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

struct queue;

/* Sends everything q yields to fd, up to 64 lines per writev, until q is
 * closed and drained (returns 0) or a write fails (-1, errno set). Blocks in
 * queue_pop while q is empty, and in the write while the socket is full.
 * Drops each msg's reference once it is sent. */
int writer_run(int fd, struct queue *q);

#endif
