/*
 * peer_internal.h - what the peer's files share, and nothing else includes:
 * the peer's state and the functions one file calls in another. The design
 * (the threads, the race and how it is settled, shutdown) opens peer.c.
 *
 *   peer.c       main: setting up, starting the threads, signals, stopping
 *   peer_term.c  the terminal: the line editor, typed lines and commands
 *   peer_link.c  bringing the link up: acceptor, dialer, the handshake rule
 *   peer_talk.c  talking over the link: the writer and network threads
 */
#ifndef HUBCHAT_PEER_INTERNAL_H
#define HUBCHAT_PEER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "handshake.h"
#include "peeropts.h"
#include "proto.h"

struct framer;
struct lined;
struct peeraddr;
struct queue;

#define PEER_QUEUE_BYTES (1 << 20)  /* typed lines waiting for the link:
                                       about a thousand full-length ones */
#define PEER_TYPED_MAX   (PROTO_MAX_LINE + 1)  /* "//" + 1023 sends 1024 */

struct peer {
	/* Set by main before any thread starts, then read-only. */
	struct peeropts opt;    /* what the command line says */
	struct peeraddr *target;        /* -c's host's addresses */
	char target_names[128];         /* ... as text */
	struct handshake_self self;     /* what every handshake brings */
	int listen_fd;
	int wake_rd, wake_wr;   /* -> main thread: stop reading the terminal */
	int stop_rd, stop_wr;   /* main -> dials and handshakes: quit now */
	struct queue *out;      /* typed lines, waiting for the link */
	struct lined *ed;       /* the line editor, or NULL */

	pthread_mutex_t lock;   /* protects every field below */
	pthread_cond_t changed; /* the link came up, or stopping was set */
	int link_fd;            /* -1 until the link is up; then fixed */
	struct framer *link_in; /* what the handshake read past its end */
	char other[PROTO_MAX_NAME + 1];
	bool verified;          /* the other side proved the secret */
	bool stopping;          /* the person quit: stop connecting */
	bool dial_done;         /* our dials will not be kept: stop dialing */
	bool left;              /* the other side left first */
	char last_refusal[2][160];  /* the reason last shown for a call
	                           that came in [0] and one made [1]: a
	                           repeat is not shown again */
};

/* peer_term.c: the terminal. */
void peer_start_editor(struct peer *p);
bool peer_typed_line(void *ctx, char *line, size_t len);

/* peer_link.c: bringing the link up. The two are thread mains, arg a
 * struct peer. */
void *peer_acceptor_main(void *arg);
void *peer_dialer_main(void *arg);
bool peer_wait_for_link(struct peer *p);

/* peer_talk.c: talking over the link; thread mains, arg a struct peer. */
void *peer_writer_main(void *arg);
void *peer_network_main(void *arg);

#endif
