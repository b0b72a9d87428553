package main

// The [STATS] line, on the built binary: what tests/test_manners.c's
// sigusr1_and_stats_log_a_stats_line checks of the C server, but for its
// threads=5 (the C's main thread and two per client), which make test-go
// leaves out. Here the line must count the same things and end with the
// Go twin's goroutines=.

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startTwin starts the built twin ($HUBCHAT_SERVER, or make go's) on a
// free port, its log in a file, killed when the test ends; it skips the
// test when the binary is not built.
func startTwin(t *testing.T) (cmd *exec.Cmd, logPath, port string) {
	t.Helper()
	bin := os.Getenv("HUBCHAT_SERVER")
	if bin == "" {
		bin = "../build/hubchat-go"
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s not built (make go)", bin)
	}
	logPath = t.TempDir() + "/log"
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(bin, "-p", "0")
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); logFile.Close() })
	port = waitLog(t, logPath, regexp.MustCompile(`\[LISTEN\] .* port=(\d+) `))[1]
	return cmd, logPath, port
}

// waitLog waits up to 5 s for the log to match re; it returns the match.
func waitLog(t *testing.T, path string, re *regexp.Regexp) []string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		data, _ := os.ReadFile(path)
		if m := re.FindStringSubmatch(string(data)); m != nil {
			return m
		}
		time.Sleep(5 * time.Millisecond)
	}
	data, _ := os.ReadFile(path)
	t.Fatalf("no %v in the log:\n%s", re, data)
	return nil
}

func login(t *testing.T, port, name string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	r.ReadString('\n') // the welcome
	c.Write([]byte("LOGIN " + name + "\n"))
	if line, _ := r.ReadString('\n'); line != "OK\n" {
		t.Fatalf("%s: %q", name, line)
	}
	return c, r
}

func TestStatsLineOnSIGUSR1(t *testing.T) {
	cmd, logPath, port := startTwin(t)

	a, _ := login(t, port, "alice")
	_, rb := login(t, port, "bob")
	a.Write([]byte("MSG one\nMSG two\n"))
	for {
		line, err := rb.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "MSG alice two\n" {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGUSR1)
	waitLog(t, logPath, regexp.MustCompile(`\[STATS\] clients=2 logged-in=2 rooms=1 messages=2 `+
		`messages/s=\d+ deliveries=\d+ deliveries/s=\d+ dms=0 evictions=0 `+
		`refused-full=0 refused-addr=0 refused-busy=0 rejected-lines=0 `+
		`idle-timeouts=0 login-timeouts=0 rss-kib=\d+ threads=\d+ goroutines=\d+\n`))

	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	data, _ := os.ReadFile(logPath)
	if !strings.Contains(string(data), "[SHUTDOWN] signal=Terminated clients=2") {
		t.Fatalf("no shutdown line:\n%s", data)
	}
}
