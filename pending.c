/*
 * pending.c - questions awaiting answers, paired by fences; see pending.h.
 *
 * The list is a ring, oldest question first. Tokens are "q" and a number
 * that grows by one a question, so a PONG names its place in the ring: a
 * fence that passes questions still waiting (the server never answered
 * them, which a working server does not do) drops those, so a broken
 * answer costs one question, never the pairing of all later ones.
 */
#include "pending.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync.h"

struct asked {
	struct pending_question q;
	unsigned long seq;      /* its token's number */
	bool fenced;            /* its PONG came: the next line of its kind
	                           answers it */
};

struct pending {
	pthread_mutex_t lock;   /* protects everything below */
	struct asked ring[PENDING_MAX];
	size_t head;            /* the oldest question's slot */
	size_t n;               /* questions waiting, <= PENDING_MAX; only
	                           the oldest may be fenced */
	unsigned long next_seq; /* the next question's number */
};

struct pending *
pending_new(void)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (p != NULL)
		sync_mutex_init(&p->lock);
	return p;
}

void
pending_free(struct pending *p)
{
	if (p == NULL)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}

bool
pending_ask(struct pending *p, enum pending_kind kind, const char *room,
    char token[PENDING_TOKEN])
{
	assert(room == NULL || proto_room_ok(room));
	sync_lock(&p->lock);
	bool room_left = p->n < PENDING_MAX;
	if (room_left) {
		struct asked *a = &p->ring[(p->head + p->n++) % PENDING_MAX];
		*a = (struct asked){ .q.kind = kind, .seq = p->next_seq++ };
		snprintf(a->q.room, sizeof(a->q.room), "%s", room ? room : "");
		snprintf(token, PENDING_TOKEN, "q%lu", a->seq);
	}
	sync_unlock(&p->lock);
	return room_left;
}

/* Takes the oldest question off the ring. Lock held. */
static void
pending_pop(struct pending *p)
{
	assert(p->n > 0);
	p->head = (p->head + 1) % PENDING_MAX;
	p->n--;
}

/* "PONG q<seq>": fences the question with that number, dropping older
 * ones still waiting. False when the line is no fence of ours. Lock
 * held. */
static bool
pending_fence(struct pending *p, const char *line)
{
	unsigned long seq;
	int end = 0;

	if (sscanf(line, "PONG q%lu%n", &seq, &end) != 1 || line[end] != '\0')
		return false;
	/* The ring holds numbers first, first + 1, ..., first + n - 1. */
	unsigned long first = p->n > 0 ? p->ring[p->head].seq : 0;
	if (p->n == 0 || seq - first >= p->n)
		return false;           /* not a question we are waiting on */
	while (p->ring[p->head].seq != seq)
		pending_pop(p);
	p->ring[p->head].fenced = true;
	return true;
}

/* True when line is the word word, alone or followed by a space. */
static bool
pending_starts(const char *line, const char *word)
{
	size_t n = strlen(word);

	return strncmp(line, word, n) == 0 &&
	    (line[n] == '\0' || line[n] == ' ');
}

/* True when line answers a question of this kind. */
static bool
pending_answers(enum pending_kind kind, const char *line)
{
	if (pending_starts(line, "ERR"))
		return true;
	switch (kind) {
	case PENDING_JOIN:
	case PENDING_HISTORY:
		return strcmp(line, "OK") == 0;
	case PENDING_WHO:
		return pending_starts(line, "USERS");
	case PENDING_ROOMS:
		return pending_starts(line, "ROOMS");
	}
	return false;
}

enum pending_match
pending_match(struct pending *p, const char *line, struct pending_question *q)
{
	enum pending_match m = PENDING_OTHER;
	struct asked *a = NULL;         /* the fenced question, if any */

	sync_lock(&p->lock);
	if (pending_fence(p, line))
		m = PENDING_FENCE;
	else if (p->n > 0 && p->ring[p->head].fenced)
		a = &p->ring[p->head];
	if (a != NULL && pending_answers(a->q.kind, line)) {
		*q = a->q;
		q->refused = pending_starts(line, "ERR");
		pending_pop(p);
		m = PENDING_ANSWER;
	} else if (a != NULL && pending_starts(line, "HIST")) {
		a->q.hist++;
	}
	sync_unlock(&p->lock);
	return m;
}
