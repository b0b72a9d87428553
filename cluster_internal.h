/*
 * cluster_internal.h - what the cluster's files share, and nothing else
 * includes: cluster_cmd.c (requests and the command thread), cluster_bus.c
 * (the bus thread), cluster_check.c (what is taken from Redis),
 * cluster_ask.c (WHO, ROOMS and a room's history) and cluster.c (making,
 * starting and stopping, and the other calls sessions make). cluster.h
 * has the design.
 *
 * Locks: cluster->lock alone, taken with no hub, room or queue lock held,
 * and nothing is taken under it. No I/O is done under it; the one call
 * that touches a socket there, resp_conn_shutdown, only shuts it down and
 * never blocks.
 */
#ifndef HUBCHAT_CLUSTER_INTERNAL_H
#define HUBCHAT_CLUSTER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "cluster.h"
#include "cluster_lua.h"
#include "proto.h"

struct resp_conn;
struct resp_reply;

#define CHANNEL      "hubchat:bus"
#define KEY_NAME     "hubchat:name:"     /* + name, lowercase */
#define KEY_USERS    "hubchat:users:"    /* + node */
#define KEY_NODES    "hubchat:nodes"
#define KEY_HIST     "hubchat:hist:"     /* + room key */
#define KEY_SEQ      "hubchat:seq:"      /* + room key */
#define KEY_EPOCH    "hubchat:epoch"

#define QUEUE_MAX    1024    /* requests waiting for the command thread */
#define WAIT_MS      2000    /* a reader waits this long for room in it */
#define IO_MS        2000    /* a batch's round trip to Redis, at most */
#define BATCH        64      /* requests sent as one pipeline */
#define BACKOFF_MIN  100     /* ms before reconnecting; doubled each time */
#define BACKOFF_MAX  5000
#define START_MS     5000    /* cluster_start waits this long for the bus */
#define BUS_QUIET_MS 2000    /* a bus this quiet is asked PING ... */
#define BUS_DEAD_MS  4000    /* ... and one that says nothing for this
                                long, PING unanswered, is lost */
#define ORPHANS_MAX  1024    /* names left while Redis was away */
#define EPOCH_LEN    40      /* hubchat:epoch's value, at most */
#define CLUSTER_SAY_MAX 64   /* lines in one cluster_say */
#define CLUSTER_MAX_ARGS 80  /* a script's words, at most (LUA_SAY: 8 and
                                a batch of texts, 64 at most) */

/* One command: a script (EVALSHA <sha> <nkeys> <args>) or, with script
 * -1, a plain command. Its strings live in store. */
struct bus_cmd {
	int script;
	int nkeys;
	int argc;
	const char **argv;
	char *store;
	struct resp_reply *reply;       /* set by the command thread */
};

/* What a reader hands the command thread. A waiting reader owns it and
 * frees it after done; a detached one is freed by the command thread. */
struct bus_req {
	struct bus_req *next;           /* in the queue */
	struct bus_cmd *cmds;
	size_t n, cap;
	bool failed;                    /* no reply: Redis unreachable */
	bool done;                      /* protected by cluster->lock */
	bool detached;
	pthread_cond_t wake;            /* signalled when done */
};

/* A name given back while Redis could not be reached: the next lease
 * renewal gives it back there (LUA_REFRESH). */
struct cluster_orphan {
	char name[PROTO_MAX_NAME + 1];
	char key[PROTO_MAX_ROOM + 1];   /* the room it left */
};

struct cluster {
	struct cluster_config cfg;      /* const after cluster_new */
	struct hub *hub;                /* const after cluster_start */
	pthread_mutex_t lock;           /* protects the queue, orphans,
	                                   stopping, the subscription pointer
	                                   and the start handshake */
	pthread_cond_t work;            /* the queue grew, or stopping: the
	                                   command thread waits on it */
	pthread_cond_t space;           /* the queue shrank */
	pthread_cond_t bus_wake;        /* stopping: the bus thread's backoff
	                                   waits on it */
	pthread_cond_t started;         /* the bus thread's first subscribe */
	struct bus_req *head, *tail;
	size_t queued;
	struct cluster_orphan orphans[ORPHANS_MAX];
	size_t norphans;
	struct cluster_orphan orphans_out[ORPHANS_MAX];  /* the command
	                                   thread's: those a renewal gives back */
	bool stopping;
	int bus_state;                  /* 0 starting, 1 up, -1 failed */
	char bus_error[256];
	struct resp_conn *sub;          /* the bus thread's; the pointer is
	                                   here for cluster_stop's shutdown */
	struct resp_conn *cmd;          /* cluster_start's, then the command
	                                   thread's alone */
	pthread_t cmd_thread, bus_thread;
	bool threads;                   /* both were started */
	char sha[LUA_SCRIPTS][41];      /* the command thread's */
	char epoch[EPOCH_LEN];          /* the bus thread's: Redis's epoch */
	atomic_bool up;                 /* the command connection works */
	atomic_ullong published, heard, gaps, dropped;
};

/* ---- cluster_cmd.c: requests and the command thread ---- */

/* A request with room for n commands; NULL when memory runs out. */
struct bus_req *req_new(size_t n);
void req_free(struct bus_req *r);
/* Appends a command with argc strings (copied); script -1 for a plain
 * command. false when memory runs out. */
bool req_add(struct bus_req *r, int script, int nkeys, int argc,
    const char *const *argv);
/*
 * Hands r to the command thread. With wait, blocks until it is done: the
 * command thread finishes a batch within about IO_MS (failing it if Redis
 * does not answer), and a request waits behind at most QUEUE_MAX / BATCH
 * batches. Without, r is the command thread's. CLUSTER_DOWN at once when
 * Redis is unreachable; CLUSTER_BUSY when the queue stayed full for
 * WAIT_MS. Called holding no lock.
 */
enum cluster_status req_submit(struct cluster *cl, struct bus_req *r,
    bool wait);
/* The reply of a script or command that answered with an error, or none:
 * such a reply is a failure, never an answer. */
bool reply_failed(const struct resp_reply *r);

/* Opens the command connection and loads the scripts; NULL with err. */
struct resp_conn *cmd_connect(struct cluster *cl, char *err, size_t errsz);
/* Renews this node's lease (LUA_REFRESH); false when Redis did not answer
 * or refused. */
bool cmd_refresh(struct cluster *cl, struct resp_conn *c);
/* The command thread; cl->cmd is connected when it starts. */
void *cmd_main(void *arg);

/* ---- cluster_bus.c ---- */

/* The bus thread. */
void *bus_main(void *arg);

/* ---- cluster_check.c: what is taken from Redis ---- */

/* What the bus and the history may hold: a time "YYYY-MM-DDTHH:MM:SSZ"
 * as in HIST lines; text a client could have sent (1 to PROTO_MAX_LINE
 * bytes, proto_text_ok); an epoch (1 to EPOCH_LEN - 1 lowercase hex
 * digits). */
bool cluster_time_ok(const char *s);
bool cluster_text_ok(const char *s);
bool cluster_epoch_ok(const char *s);

/* One bus message, parsed in place (cluster_lua.h has the forms). */
struct cluster_event {
	char kind;              /* 'M', 'N', 'D'; 0 when malformed */
	char *key, *epoch, *name, *other, *text;
	struct hub_bus_line lines[CLUSTER_SAY_MAX];     /* 'M': its lines, */
	size_t nlines;                                  /* numbered on */
};

/* Parses the bus message p (len bytes, NUL-terminated) in place into e;
 * anything malformed (not ours, or not our version) has kind 0. */
void cluster_parse(char *p, size_t len, struct cluster_event *e);

/* One history entry "<seq> <time> <from> <text>" as its HIST and MSG
 * lines (out's references, the caller's); false when it is not one, or is
 * numbered 0. */
bool cluster_hist_entry(const char *s, struct hub_hist *out);

/* ---- cluster.c ---- */

/* Milliseconds on CLOCK_MONOTONIC. */
long long cluster_now_ms(void);
/* Runs one script and waits: its reply in *reply (the caller frees it),
 * set only with CLUSTER_OK. */
enum cluster_status cluster_script(struct cluster *cl, int script,
    int nkeys, int argc, const char *const *argv, struct resp_reply **reply);
/* A script's integer reply, or -1 (an error reply, or none). */
long long cluster_integer(const struct resp_reply *r);
/* A name's key in Redis. */
void cluster_name_key(const char *name, char *out, size_t outsz);

#endif
