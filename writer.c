/*
 * writer.c - the writer's loop; see writer.h.
 */
#include "writer.h"

#include <assert.h>
#include <errno.h>
#include <sys/uio.h>

#include "msg.h"
#include "net.h"
#include "queue.h"

int
writer_send_lines(void *ctx, int fd, struct msg *const *batch, size_t n)
{
	assert(n >= 1 && n <= WRITER_BATCH);
	/* Sized by n, not WRITER_BATCH: an idle writer's stack stays as
	 * shallow as its few lines need. 4 KiB of iovecs on every stack made
	 * each client's resident memory a page bigger (workload E). */
	struct iovec iov[n];

	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		iov[i].iov_base = (void *)msg_data(batch[i]);
		iov[i].iov_len = msg_len(batch[i]);
	}
	return net_writev_all(fd, iov, (int)n);
}

/* excerpt: writer-run */
int
writer_run(int fd, struct queue *q, writer_send_fn *send, void *ctx)
{
	struct msg *batch[WRITER_BATCH];
	size_t n;

	while ((n = queue_pop(q, batch, WRITER_BATCH)) > 0) {
		int rc = send(ctx, fd, batch, n);
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
/* end excerpt */
