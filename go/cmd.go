// cmd.go - the commands a session runs: one line in, replies into the
// session's own outbox, everything else through the hub. The twin of
// cmd.c. Every function here runs on the session's reader goroutine.

package main

import "strings"

// handleLine runs one line. Before login only LOGIN, PING, HELP and QUIT
// work, and a line that is no verb is taken as the name; after it, such a
// line is a MSG. A verb typed wrongly is never taken as a name or sent.
func (s *session) handleLine(line []byte) endReason {
	if len(line) == 0 {
		return endNone // empty lines are ignored
	}
	if !textOK(line) {
		return s.refuse(errBadText, "bad-text", "")
	}
	cmd := parse(string(line))
	in := s.member != nil
	if !in || (cmd.verb != verbMsg && cmd.verb != verbNone) {
		s.flush() // what came before goes out first
	}
	if !in && (cmd.verb == verbMsg || cmd.verb == verbDM || cmd.verb == verbWho ||
		cmd.verb == verbRooms) {
		return s.reply(errNotIn)
	}
	switch cmd.verb {
	case verbPing:
		if cmd.text == "" {
			return s.reply("PONG")
		}
		return s.reply("PONG " + cmd.text)
	case verbQuit:
		return endQuit // end says "INFO bye"
	case verbHelp:
		return s.help()
	case verbMistyped:
		return s.reply("ERR unknown-command try " + cmd.text + " (verbs are uppercase; HELP lists them)")
	case verbLogin:
		return s.login(cmd.text)
	case verbNone:
		if in {
			return s.msg(cmd.text)
		}
		return s.login(cmd.text)
	case verbMsg:
		return s.msg(cmd.text)
	case verbDM:
		return s.dm(cmd)
	case verbWho:
		return s.who(cmd.text)
	case verbRooms:
		return s.reply(errNoRooms)
	}
	return endNone
}

// refuse replies with an error and logs why, rate-limited so that a
// flood of bad input cannot fill the log.
func (s *session) refuse(line, why, name string) endReason {
	s.srv.count.rejected.Add(1)
	extra := ""
	if name != "" {
		extra = " name=" + quote(name)
	}
	logLimited("REJECT", "id=%d peer=%s reason=%s%s", s.id, s.peer, why, extra)
	return s.reply(line)
}

func (s *session) login(name string) endReason {
	switch {
	case s.member != nil:
		return s.reply(errLoggedIn)
	case name == "":
		return s.reply(errUsageLogin)
	case !nameOK(name):
		return s.refuse(errBadName, "bad-name", name)
	}
	m, failure := s.srv.hub.join(name, s.out, s.kick)
	switch failure {
	case "":
		s.member = m
		logf("LOGIN", "id=%d user=%s", s.id, name)
		return endNone
	case "taken":
		return s.refuse(errNameTaken, "username-taken", name)
	default: // its own outbox took no "OK"
		return s.reply(errBusy)
	}
}

// The C server's HELP, verb for verb and in its order; the lines for its
// rooms and history say they are not here (everyone is in #lobby).
var helpLines = newChunk([]byte("INFO LOGIN <name>: log in (or just type your name)\n"+
	"INFO MSG <text>: say text to your room (or just type it)\n"+
	"INFO DM <user> <text>: say text to user alone\n"+
	"INFO WHO [#room]: who is in your room, or in that room\n"+
	"INFO JOIN <#room>: not on the Go twin: its one room is #lobby\n"+
	"INFO ROOMS: not on the Go twin: its one room is #lobby\n"+
	"INFO HISTORY [n]: not on the Go twin: it keeps no history\n"+
	"INFO PING [token]: the server answers PONG [token]\n"+
	"INFO QUIT: leave (!exit works too)\n"+
	"INFO HELP: this list\n"), 10)

// help: one INFO line a verb, costing the flood budget a line each.
func (s *session) help() endReason {
	s.flood.charge(10)
	return s.send(helpLines)
}

// excerpt: cmd-msg

// msg adds "MSG <name> <text>" to the batch; flush delivers the batch
// before any other command runs and before the reader could block, so a
// sender's lines keep their order.
func (s *session) msg(text string) endReason {
	if text == "" {
		return s.reply(errUsageMsg)
	}
	if s.nbatch == batchLines {
		s.flush()
	}
	s.batch = append(s.batch, "MSG "...)
	s.batch = append(s.batch, s.member.name...)
	s.batch = append(s.batch, ' ')
	s.batch = append(s.batch, text...)
	s.batch = append(s.batch, '\n')
	s.nbatch++
	logChat("MSG", "id=%d from=%s room=#lobby text=%s", s.id, s.member.name, quote(text))
	return endNone
}

// flush hands the batch to the hub in one call. The hub shares the chunk
// with every recipient, so the next batch is a new slice.
func (s *session) flush() {
	if s.nbatch == 0 {
		return
	}
	s.srv.hub.broadcast(s.member, s.batch, s.nbatch)
	s.batch, s.nbatch = nil, 0
}

// end excerpt

func (s *session) dm(cmd command) endReason {
	if !cmd.hasUser || !cmd.hasText {
		return s.reply(errUsageDM)
	}
	if !s.srv.hub.dm(s.member, cmd.user, cmd.text) {
		return s.reply("ERR no-such-user " + cmd.user)
	}
	// A private message's text is private: logged only with --log-dm.
	if logDM {
		logChat("DM", "id=%d from=%s to=%s text=%s", s.id, s.member.name, cmd.user, quote(cmd.text))
	} else {
		logChat("DM", "id=%d from=%s to=%s", s.id, s.member.name, cmd.user)
	}
	return endNone
}

// who replies with the shared USERS line. It may be far longer than a
// line, so it costs the flood budget a line per maxLine bytes of it.
// WHO #lobby is everyone, as plain WHO; any other room is held by nobody
// here, so it is empty, as a room not held is on the C server. Anything
// else after WHO is ignored.
func (s *session) who(arg string) endReason {
	if strings.HasPrefix(arg, "#") {
		if !roomOK(arg) {
			return s.reply(errBadRoom)
		}
		if !strings.EqualFold(arg, "#lobby") {
			return s.reply("USERS")
		}
	}
	users := s.srv.hub.whoLine()
	s.flood.charge(float64(len(users.data) / maxLine))
	return s.send(users)
}

func (s *session) tooLong() endReason {
	s.srv.count.rejected.Add(1)
	logLimited("REJECT", "id=%d peer=%s reason=line-too-long", s.id, s.peer)
	return s.reply(errTooLong)
}
