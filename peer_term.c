/*
 * peer_term.c - the peer's terminal: the line editor, and what a typed line
 * does (/help, /who, /quit, or a line queued for the other side). The
 * design opens peer.c; the shared state is in peer_internal.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lineedit.h"
#include "msg.h"
#include "net.h"
#include "peer_internal.h"
#include "queue.h"
#include "sync.h"
#include "term.h"

/* On a terminal, hands it to the line editor, prompt "NAME> ", and
 * term_say's lines to it; own lines are shown as the other side's are. */
void
peer_start_editor(struct peer *p)
{
	char prompt[PROTO_MAX_NAME + 3];

	if (!lined_wanted())
		return;
	if ((p->ed = lined_start(PEER_TYPED_MAX)) == NULL) {
		term_say("! no line editor (%s): typing plainly",
		    strerror(errno));
		return;
	}
	lined_set_echo(p->ed, false);
	snprintf(prompt, sizeof(prompt), "%s> ", p->opt.name);
	lined_set_prompt(p->ed, prompt);
	term_set_printer(term_editor_print, p->ed);
}

static const char peer_help[] =
"Typed lines go to the other side. Commands:\n"
"  /who            who you are, and who is at the other end\n"
"  /quit or !exit  leave (so do Ctrl-D and Ctrl-C)\n"
"  /help           this list\n"
"  //TEXT          sends /TEXT: a line that starts with a slash\n";

/* /help, a line at a time, so the editor keeps its row below. */
static void
peer_print_help(void)
{
	for (const char *l = peer_help; *l != '\0'; l += strcspn(l, "\n") + 1)
		term_put("%.*s", (int)strcspn(l, "\n"), l);
}

/* /who: this side, and the link if it is up. */
static void
peer_print_who(struct peer *p)
{
	char local[80], remote[80], other[PROTO_MAX_NAME + 1];

	sync_lock(&p->lock);
	int fd = p->link_fd;
	bool verified = p->verified;
	snprintf(other, sizeof(other), "%s", p->other);
	sync_unlock(&p->lock);
	if (fd < 0) {
		term_say("* you are %s; not connected yet (dialing %s:%s)",
		    p->opt.name, p->opt.host, p->opt.port);
		return;
	}
	net_local_name(fd, local, sizeof(local));
	net_peer_name(fd, remote, sizeof(remote));
	term_say("* you are %s at %s; %s is at %s (%s)", p->opt.name, local,
	    other, remote, verified ? "verified by the shared secret" :
	    "not verified: no --secret");
}

/* Queues text for the link, waiting for room while the link is slow.
 * Before the link is up a full queue refuses the line instead, so nothing
 * blocks for ever. False once the queue is closed. */
static bool
peer_send_text(struct peer *p, const char *text)
{
	struct msg *m = msg_printf("%s", text);

	if (m == NULL)
		return true;
	sync_lock(&p->lock);
	bool up = p->link_fd >= 0;
	sync_unlock(&p->lock);
	enum queue_status st = up ? queue_push_wait(p->out, m) :
	    queue_push(p->out, m);
	msg_unref(m);
	if (st == QUEUE_FULL)
		term_say("! not sent: %d KiB of lines already wait for the "
		    "link", PEER_QUEUE_BYTES >> 10);
	else if (st == QUEUE_OK && p->ed != NULL)
		term_say("%s: %s", p->opt.name, text);
	return st != QUEUE_CLOSED;
}

/* One typed line: /quit and !exit leave, /help and /who are answered
 * here, another /word is refused; anything else (with "//" sending one
 * "/") goes to the other side. */
bool
peer_typed_line(void *ctx, char *line, size_t len)
{
	struct peer *p = ctx;

	if (strcmp(line, "/quit") == 0 || strcmp(line, "!exit") == 0)
		return false;
	if (strcmp(line, "/help") == 0)
		peer_print_help();
	else if (strcmp(line, "/who") == 0)
		peer_print_who(p);
	else if (line[0] == '/' && line[1] != '/')
		term_say("! unknown command %.40s; /help lists them (// sends "
		    "a line that starts with /)", line);
	else if (len - (line[0] == '/') > PROTO_MAX_LINE)
		term_say("! not sent: a line may hold %d bytes; this one has "
		    "%zu", PROTO_MAX_LINE, len - (line[0] == '/'));
	else
		return peer_send_text(p, line + (line[0] == '/'));
	return true;
}
