package main

// Rooms and history are the C server's alone (go/README.md, "Not here"):
// on the built binary, the verbs are known, and answered so that a client
// keyed on error codes reads them right; WHO #room tells the truth about
// the twin's one room.

import "testing"

func TestRoomVerbsAreAnswered(t *testing.T) {
	_, _, port := startTwin(t)

	a, ra := login(t, port, "alice")
	login(t, port, "bob")
	for _, c := range []struct{ send, want string }{
		{"JOIN #rust", errNoRooms},
		{"ROOMS", errNoRooms},
		{"HISTORY 5", errNoRooms},
		{"join #rust", "ERR unknown-command try JOIN (verbs are uppercase; HELP lists them)"},
		{"WHO #Lobby", "USERS alice bob"},
		{"WHO #rust", "USERS"},
		{"WHO #no room", errBadRoom},
		{"WHO everyone", "USERS alice bob"},
	} {
		a.Write([]byte(c.send + "\n"))
		for {
			line, err := ra.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v", c.send, err)
			}
			if line == "INFO bob joined\n" {
				continue
			}
			if line != c.want+"\n" {
				t.Fatalf("%s: got %q, want %q", c.send, line, c.want)
			}
			break
		}
	}
}
