// proto.go - the wire protocol as pure functions: the error lines, the
// text and name rules, and command parsing. The twin of proto.c; the
// tests in proto_test.go hold the two to the same bytes.

package main

import (
	"strings"
	"unicode/utf8"
)

const (
	maxLine = 1024 // bytes in a client's line, without CR and LF
	maxName = 32   // bytes in a user name
	maxRoom = 32   // bytes in a room's name, without its '#'
)

// Every error the server sends: "ERR <code>", then words for a person.
// Byte for byte the PROTO_ERR_* lines of proto.h (proto_test.go checks).
const (
	errBadName    = "ERR bad-name names are 1-32 characters: a letter, then letters, digits, _ or -, and not a protocol word"
	errNameTaken  = "ERR username-taken that name is in use"
	errLoggedIn   = "ERR already-logged-in you are logged in already"
	errNotIn      = "ERR not-logged-in log in first: LOGIN <name>"
	errTooLong    = "ERR line-too-long a line holds at most 1024 bytes"
	errBadText    = "ERR bad-text control characters, bidi controls and invalid UTF-8 are not allowed"
	errUnknown    = "ERR unknown-command try HELP"
	errBusy       = "ERR server-busy try again later"
	errFull       = "ERR server-full try again later"
	errPerAddr    = "ERR too-many-connections from your address"
	errSlow       = "ERR slow-consumer you fell too far behind; reconnect"
	errUsageLogin = "ERR usage LOGIN <name>"
	errUsageMsg   = "ERR usage MSG <text>"
	errUsageDM    = "ERR usage DM <user> <text>"
	errBadRoom    = "ERR bad-room rooms are # and 1-32 characters: letters, digits, _ or -"
)

// The Go twin's own error line, for JOIN, ROOMS and HISTORY: it has one
// room, #lobby, and no history. The code is the C's for a command the
// server does not know, so a client keyed on codes reads it right.
const errNoRooms = "ERR unknown-command the Go twin has no rooms or history: everyone is in #lobby"

type verb int

const (
	verbNone     verb = iota // not a verb: a bare name before login, a message after
	verbLogin                // LOGIN <name>
	verbMsg                  // MSG <text>
	verbDM                   // DM <user> <text>
	verbWho                  // WHO [#room]
	verbPing                 // PING [token]
	verbQuit                 // QUIT or !exit
	verbHelp                 // HELP
	verbRooms                // JOIN, ROOMS, HISTORY: the C server's alone
	verbMistyped             // a verb in the wrong case or after a '/'
)

var verbs = []struct {
	word string
	verb verb
	args bool // takes an argument (see mistyped)
}{
	{"LOGIN", verbLogin, true}, {"MSG", verbMsg, true},
	{"DM", verbDM, true}, {"WHO", verbWho, false},
	{"PING", verbPing, true}, {"QUIT", verbQuit, false},
	{"HELP", verbHelp, false}, {"JOIN", verbRooms, true},
	{"ROOMS", verbRooms, false}, {"HISTORY", verbRooms, true},
	{"!exit", verbQuit, false},
}

// command is one parsed line. For verbDM, hasUser and hasText say whether
// the line had them; text is the whole line for verbNone, and the verb as
// it should be written for verbMistyped.
type command struct {
	verb    verb
	user    string
	text    string
	hasUser bool
	hasText bool
}

// parse splits one line (already checked by textOK) into a command, by the
// rules of proto.h's proto_parse: verbs are exact and uppercase and end at
// a space or the line's end; a line that looks like a verb typed wrongly
// is verbMistyped, not text.
func parse(line string) command {
	word, arg, _ := strings.Cut(line, " ")
	for _, v := range verbs {
		if word != v.word {
			continue
		}
		if v.verb == verbDM {
			return parseDM(arg)
		}
		return command{verb: v.verb, text: arg}
	}
	if v, ok := mistyped(line); ok {
		return command{verb: verbMistyped, text: v}
	}
	return command{verb: verbNone, text: line}
}

// parseDM splits "DM <user> <text>"'s argument. Two spaces after the verb
// leave no user: a usage error, not a search for the user "".
func parseDM(arg string) command {
	user, text, _ := strings.Cut(arg, " ")
	return command{verb: verbDM, user: user, text: text,
		hasUser: user != "", hasText: text != ""}
}

// mistyped says which verb a line that is no verb was meant to be: its
// first word, a leading '/' dropped, is a verb ignoring case, and either
// it had the '/', or the line is that word alone, or the verb takes an
// argument and one follows. "who is here?" stays text.
func mistyped(line string) (string, bool) {
	slash := strings.HasPrefix(line, "/")
	w := strings.TrimPrefix(line, "/")
	word, rest, spaced := strings.Cut(w, " ")
	for _, v := range verbs {
		// Equal lengths first: a Unicode letter that folds to an ASCII
		// one (U+017F, U+212A) is longer in bytes, and C's strncasecmp
		// would not match it either.
		if len(word) != len(v.word) || !strings.EqualFold(word, v.word) {
			continue
		}
		if slash || !spaced || (v.args && rest != "") {
			if v.word == "!exit" {
				return "QUIT", true
			}
			return v.word, true
		}
	}
	return "", false
}

// forbidden reports the characters no line may hold, because a terminal or
// a text display acts on them (proto.c says why each): C0 controls but
// TAB, DEL, C1 controls, and the bidi embeddings, overrides and isolates.
func forbidden(r rune) bool {
	return (r < 0x20 && r != '\t') || (r >= 0x7F && r <= 0x9F) ||
		(r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// excerpt: text-ok

// textOK reports whether b is valid UTF-8 without forbidden characters.
// Go's decoder already refuses overlong forms, surrogates and code points
// past U+10FFFF: they decode as RuneError with size 1.
func textOK(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if (r == utf8.RuneError && n == 1) || forbidden(r) {
			return false
		}
		b = b[n:]
	}
	return true
}

// end excerpt

// Words a name may not be, in any letter case: every verb, every word that
// starts a server line, and words set aside for later verbs.
var reserved = []string{
	"LOGIN", "MSG", "DM", "WHO", "PING", "QUIT", "HELP", "JOIN", "ROOMS",
	"HISTORY", "OK", "ERR", "INFO", "PONG", "USERS", "HIST",
}

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// nameOK: 1-32 ASCII letters, digits, '_' or '-', starting with a letter,
// and not a protocol word.
func nameOK(name string) bool {
	if name == "" || len(name) > maxName || !isAlpha(name[0]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if !isAlpha(c) && !(c >= '0' && c <= '9') && c != '_' && c != '-' {
			return false
		}
	}
	for _, w := range reserved {
		if strings.EqualFold(name, w) {
			return false
		}
	}
	return true
}

// roomOK: '#', then 1-32 of the characters a name may hold (proto.c's
// proto_room_ok). The Go twin has one room, but WHO #room is answered.
func roomOK(room string) bool {
	if len(room) < 2 || len(room) > maxRoom+1 || room[0] != '#' {
		return false
	}
	for i := 1; i < len(room); i++ {
		c := room[i]
		if !isAlpha(c) && !(c >= '0' && c <= '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}
