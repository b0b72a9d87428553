/*
 * writer.c - the writer's loop; see writer.h.
 */
#include "writer.h"

#include <errno.h>
#include <sys/uio.h>

#include "msg.h"
#include "net.h"
#include "queue.h"

#define WRITER_BATCH 64   /* msgs per writev: far below IOV_MAX (1024) */

int
writer_run(int fd, struct queue *q)
{
	struct msg *batch[WRITER_BATCH];
	struct iovec iov[WRITER_BATCH];
	size_t n;

	while ((n = queue_pop(q, batch, WRITER_BATCH)) > 0) {
		for (size_t i = 0; i < n; i++) {
			iov[i].iov_base = (void *)msg_data(batch[i]);
			iov[i].iov_len = msg_len(batch[i]);
		}
		int rc = net_writev_all(fd, iov, (int)n);
		int err = errno;
		for (size_t i = 0; i < n; i++)
			msg_unref(batch[i]);
		if (rc < 0) {
			errno = err;
			return -1;
		}
	}
	return 0;
}
