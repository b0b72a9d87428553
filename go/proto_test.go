package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The C server's error lines for its rooms, history and cluster, which
// the Go twin does not have (go/README.md, "Not here"); it answers JOIN, ROOMS
// and HISTORY with errNoRooms instead.
var cOnlyErrors = map[string]string{
	"USAGE_JOIN":    "JOIN is the C server's alone",
	"USAGE_HISTORY": "HISTORY is the C server's alone",
	"ROOMS":         "the Go twin holds one room, never too many",
	"ARCHIVE":       "no history, so no archive to fall behind",
	"CLUSTER":       "the cluster (--redis) is the C server's alone",
	"NAME_LOST":     "the cluster (--redis) is the C server's alone",
}

// The Go twin's error lines are proto.h's, byte for byte: every
// PROTO_ERR_* macro but cOnlyErrors has a constant here with the same
// text, and the other way round.
func TestErrorLinesAreProtoH(t *testing.T) {
	src, err := os.ReadFile("../proto.h")
	if err != nil {
		t.Fatal(err)
	}
	goLines := map[string]string{
		"BAD_NAME": errBadName, "NAME_TAKEN": errNameTaken,
		"LOGGED_IN": errLoggedIn, "NOT_IN": errNotIn, "TOO_LONG": errTooLong,
		"BAD_TEXT": errBadText, "UNKNOWN": errUnknown, "BUSY": errBusy,
		"FULL": errFull, "PER_ADDR": errPerAddr, "SLOW": errSlow,
		"USAGE_LOGIN": errUsageLogin, "USAGE_MSG": errUsageMsg,
		"USAGE_DM": errUsageDM, "BAD_ROOM": errBadRoom,
	}
	define := regexp.MustCompile(`#define PROTO_ERR_(\w+)((?:\s*(?:\\\n)?\s*"[^"]*")+)`)
	piece := regexp.MustCompile(`"([^"]*)"`)
	seen := 0
	for _, m := range define.FindAllStringSubmatch(string(src), -1) {
		var c strings.Builder
		for _, p := range piece.FindAllStringSubmatch(m[2], -1) {
			c.WriteString(p[1])
		}
		g, ok := goLines[m[1]]
		if _, cOnly := cOnlyErrors[m[1]]; cOnly && !ok {
			continue
		}
		if !ok {
			t.Errorf("PROTO_ERR_%s has no Go twin", m[1])
			continue
		}
		if g != c.String() {
			t.Errorf("PROTO_ERR_%s:\n C: %q\nGo: %q", m[1], c.String(), g)
		}
		seen++
	}
	if seen != len(goLines) {
		t.Errorf("proto.h has %d PROTO_ERR_ lines, the Go twin %d", seen, len(goLines))
	}
}

func TestVersionIsVersionH(t *testing.T) {
	src, err := os.ReadFile("../version.h")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), `"`+version+`"`) {
		t.Errorf("version.h does not say %q", version)
	}
}

func TestTextRules(t *testing.T) {
	for _, s := range []string{"tab\tand \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80",
		"\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xe2\x80\x8f ok", "\xef\xbf\xbd"} {
		if !textOK([]byte(s)) {
			t.Errorf("refused %q", s)
		}
	}
	for _, s := range []string{"\x1b[2J", "bell\x07", "\xff", "\xc0\xaf",
		"x\x7fy", "\xc2\x9b", "\xc2\x85", "\xe2\x80\xae", "\xe2\x81\xa6",
		"\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe0\x80\xaf"} {
		if textOK([]byte(s)) {
			t.Errorf("allowed %q", s)
		}
	}
}

func TestParse(t *testing.T) {
	cases := []struct {
		line string
		want command
	}{
		{"PING", command{verb: verbPing}},
		{"PING abc 123", command{verb: verbPing, text: "abc 123"}},
		{"PINGS", command{verb: verbNone, text: "PINGS"}},
		{"who", command{verb: verbMistyped, text: "WHO"}},
		{"who is up for lunch?", command{verb: verbNone, text: "who is up for lunch?"}},
		{"/quit", command{verb: verbMistyped, text: "QUIT"}},
		{"!EXIT", command{verb: verbMistyped, text: "QUIT"}},
		{"msg hi", command{verb: verbMistyped, text: "MSG"}},
		{"msg ", command{verb: verbNone, text: "msg "}},
		{"m\u017fg hi", command{verb: verbNone, text: "m\u017fg hi"}},
		{"DM bob hi there", command{verb: verbDM, user: "bob", text: "hi there", hasUser: true, hasText: true}},
		{"DM  bob hi", command{verb: verbDM, text: "bob hi", hasText: true}},
		{"DM bob", command{verb: verbDM, user: "bob", hasUser: true}},
		{"!exit", command{verb: verbQuit}},
		{"JOIN #rust", command{verb: verbRooms, text: "#rust"}},
		{"rooms", command{verb: verbMistyped, text: "ROOMS"}},
		{"history 5", command{verb: verbMistyped, text: "HISTORY"}},
		{"WHO #lobby", command{verb: verbWho, text: "#lobby"}},
	}
	for _, c := range cases {
		if got := parse(c.line); got != c.want {
			t.Errorf("parse(%q) = %+v, want %+v", c.line, got, c.want)
		}
	}
}

func TestRooms(t *testing.T) {
	for _, r := range []string{"#lobby", "#a", "#1-x_Y", "#abcdefghijklmnopqrstuvwxyzABCDEF"} {
		if !roomOK(r) {
			t.Errorf("refused %q", r)
		}
	}
	for _, r := range []string{"", "#", "lobby", "#a b", "#\xc3\xa9", "#abcdefghijklmnopqrstuvwxyzABCDEFG"} {
		if roomOK(r) {
			t.Errorf("allowed %q", r)
		}
	}
}

func TestNames(t *testing.T) {
	for _, n := range []string{"alice", "Bob", "a", "abcdefghijklmnopqrstuvwxyzABCDEF", "x-1_y"} {
		if !nameOK(n) {
			t.Errorf("refused %q", n)
		}
	}
	for _, n := range []string{"", "1abc", "_x", "a b", "abcdefghijklmnopqrstuvwxyzABCDEFG",
		"n\xc3\xa9", "ok", "Info", "history", "HIST", "pong"} {
		if nameOK(n) {
			t.Errorf("allowed %q", n)
		}
	}
}
