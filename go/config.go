// config.go - the server's flags: the same names, defaults and ranges as
// config.c's table, read with the standard flag package. Each flag is one
// flag.Value that checks its own range, so a bad value fails in Parse with
// one line, as in the C server.

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
)

const version = "0.2.0" // version.h's HUBCHAT_VERSION

type config struct {
	addr         string
	port         int // 0 asks the kernel for a free port
	maxClients   int // connections at once, logged in or not
	maxPerAddr   int // from one address (an IPv6 /64); 0 = no limit
	loginTimeout int // seconds to log in; 0 = never
	idleTimeout  int // seconds without a complete line; 0 = never
	queueHard    int64
	queueSoft    int64 // 0 = no soft limit
	queueSoftSec int
	floodBurst   int
	floodRate    int // 0 = no flood control
	noticesMax   int
	quiet        bool
	logDM        bool
	statsSec     int // a [STATS] line this often; 0 = on SIGUSR1 only
	trace        bool
	sndbuf       int // test-only: SO_SNDBUF per client; 0 = as is
}

// number is an integer flag within [min, max]; with size set it takes a
// K, M or G suffix (powers of 1024), as config.c's CONFIG_SIZE.
type number struct {
	p        *int64
	min, max int64
	size     bool
}

func (n number) String() string {
	if n.p == nil {
		return ""
	}
	return strconv.FormatInt(*n.p, 10)
}

func (n number) Set(s string) error {
	shift := 0
	digits := s
	if n.size && len(s) > 1 {
		switch s[len(s)-1] {
		case 'K', 'k':
			shift = 10
		case 'M', 'm':
			shift = 20
		case 'G', 'g':
			shift = 30
		}
		if shift > 0 {
			digits = s[:len(s)-1]
		}
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || v < 0 || v > n.max>>shift || v<<shift < n.min {
		kind := "number"
		if n.size {
			kind = "size in bytes (K, M, G allowed)"
		}
		return fmt.Errorf("wants a %s from %d to %d", kind, n.min, n.max)
	}
	*n.p = v << shift
	return nil
}

// gone is a flag that was replaced: using it says by what.
type gone string

func (g gone) String() string   { return "" }
func (g gone) Set(string) error { return fmt.Errorf("is gone: use %s", string(g)) }

// flagDef is one row of the table: a flag's names, its value and its help.
type flagDef struct {
	short, long, arg, help string
	value                  flag.Value
}

func parseFlags(args []string) *config {
	var v struct {
		port, maxClients, maxPerAddr, login, idle, hard, soft, softSec,
		burst, rate, notices, stats, sndbuf int64
	}
	cfg := &config{addr: "127.0.0.1"}
	v.port, v.maxClients, v.maxPerAddr, v.login, v.idle = 4000, 1000, 32, 30, 60
	v.hard, v.soft, v.softSec, v.burst, v.rate, v.notices = 1<<20, 256<<10, 10, 32, 10, 500
	const secMax = math.MaxInt32 / 1000
	var help, showVersion bool
	portSet := false
	table := []flagDef{
		{"p", "port", "PORT", "TCP port (default 4000, or $CHAT_PORT; 0 = any)", number{&v.port, 0, 65535, false}},
		{"a", "addr", "ADDR", "listen address (default 127.0.0.1; :: = every IPv4 and IPv6 address)", nil},
		{"", "max-clients", "N", "connections at once, logged in or not (default 1000)", number{&v.maxClients, 1, 1000000, false}},
		{"", "max-per-addr", "N", "connections at once from one address, an IPv6 /64 counting as one (default 32; 0 = no limit)", number{&v.maxPerAddr, 0, 1000000, false}},
		{"", "login-timeout", "SEC", "close a connection not logged in after SEC seconds (default 30; 0 = never)", number{&v.login, 0, secMax, false}},
		{"", "idle-timeout", "SEC", "close a client silent for SEC seconds (default 60; 0 = never)", number{&v.idle, 0, secMax, false}},
		{"", "queue-hard", "SIZE", "bytes queued for one client before it is cut off as a slow consumer (default 1M)", number{&v.hard, 4096, 1 << 40, true}},
		{"", "queue-soft", "SIZE", "... or held above SIZE for longer than --queue-soft-sec (default 256K; 0 = no soft limit)", number{&v.soft, 0, 1 << 40, true}},
		{"", "queue-soft-sec", "SEC", "see --queue-soft (default 10)", number{&v.softSec, 0, secMax, false}},
		{"", "flood-burst", "N", "lines a client may send at once (default 32) ...", number{&v.burst, 1, 1000000, false}},
		{"", "flood-rate", "N", "... and per second after that; more are read later, never dropped (default 10; 0 = no limit)", number{&v.rate, 0, 1000000, false}},
		{"", "notices-max", "N", "join and leave notices only while a room has at most N users (default 500; 0 = none)", number{&v.notices, 0, 1000000, false}},
		{"q", "quiet", "", "do not log each message", nil},
		{"", "log-dm", "", "log the text of private messages too (off: only who wrote to whom)", nil},
		{"", "stats", "SEC", "log a [STATS] line every SEC seconds (default 0: only on SIGUSR1)", number{&v.stats, 0, secMax, false}},
		{"", "trace", "", "accepted for the C server's sake; the Go twin has no trace lines (go/README.md)", nil},
		{"", "sndbuf", "BYTES", "test-only: a small socket send buffer per client, to force short writes", number{&v.sndbuf, 1, 1 << 24, true}},
	}
	fs := flag.NewFlagSet(progName(), flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line, below
	for _, d := range table {
		for _, name := range []string{d.short, d.long} {
			if name == "" {
				continue
			}
			switch d.long {
			case "addr":
				fs.StringVar(&cfg.addr, name, cfg.addr, d.help)
			case "quiet":
				fs.BoolVar(&cfg.quiet, name, false, d.help)
			case "log-dm":
				fs.BoolVar(&cfg.logDM, name, false, d.help)
			case "trace":
				fs.BoolVar(&cfg.trace, name, false, d.help)
			default:
				fs.Var(d.value, name, d.help)
			}
		}
	}
	fs.Var(gone("--queue-hard and --queue-soft"), "queue", "")
	fs.BoolVar(&help, "h", false, "")
	fs.BoolVar(&help, "help", false, "")
	fs.BoolVar(&showVersion, "V", false, "")
	fs.BoolVar(&showVersion, "version", false, "")

	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp) || help:
		printUsage(table)
		os.Exit(0)
	case err != nil:
		die(2, "%v (try --help)", err)
	case showVersion:
		fmt.Printf("hubchat server %s (the Go twin)\n", version)
		os.Exit(0)
	case fs.NArg() > 0:
		die(2, "unexpected argument: %s (try --help)", fs.Arg(0))
	case len(cfg.addr) >= 64:
		die(2, "too long: %s (try --help)", cfg.addr)
	}
	fs.Visit(func(f *flag.Flag) { portSet = portSet || f.Name == "p" || f.Name == "port" })
	if env, ok := os.LookupEnv("CHAT_PORT"); ok && !portSet {
		if err := (number{&v.port, 0, 65535, false}).Set(env); err != nil {
			die(2, "CHAT_PORT %v: %s (try --help)", err, env)
		}
	}
	cfg.port, cfg.maxClients, cfg.maxPerAddr = int(v.port), int(v.maxClients), int(v.maxPerAddr)
	cfg.loginTimeout, cfg.idleTimeout = int(v.login), int(v.idle)
	cfg.queueHard, cfg.queueSoft, cfg.queueSoftSec = v.hard, v.soft, int(v.softSec)
	cfg.floodBurst, cfg.floodRate, cfg.noticesMax = int(v.burst), int(v.rate), int(v.notices)
	cfg.statsSec, cfg.sndbuf = int(v.stats), int(v.sndbuf)
	return cfg
}

// printUsage prints --help from the table.
func printUsage(table []flagDef) {
	fmt.Printf("usage: %s [options]\n", progName())
	for _, d := range table {
		name := "    --" + d.long
		if d.short != "" {
			name = "-" + d.short + ", --" + d.long
		}
		if d.arg != "" {
			name += " " + d.arg
		}
		fmt.Printf("  %-26s%s\n", name, d.help)
	}
	fmt.Printf("  %-26s%s\n  %-26s%s\n", "-h, --help", "show this help",
		"-V, --version", "show the version")
}
