# hubchat - see README.md. `make` builds ./server and ./client.

CC      ?= cc
CFLAGS  ?= -std=c11 -O2 -g -Wall -Wextra -Werror -pthread
# Always needed, whatever CFLAGS says: POSIX and GNU extensions
# (pthread_setname_np, pthread_timedjoin_np, accept4, signalfd).
HC_CFLAGS  = -D_GNU_SOURCE -pthread $(CFLAGS)
LDLIBS  += -pthread

# make install: installed names that clash with nothing else.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
MAN1DIR  = $(PREFIX)/share/man/man1
INSTALLED = hubchat-server:server hubchat:client hubchat-peer:peer

# run-server / run-client settings; empty means the program's default.
PORT ?=
HOST ?=
NAME ?=

COMMON  = msg.o queue.o hub.o proto.o net.o log.o writer.o
SERVER  = server.o config.o rlimits.o $(COMMON)
CLIENT  = client.o term.o proto.o net.o
PEER    = peer.o term.o msg.o queue.o proto.o net.o writer.o
# The terminal line editor (lineedit.h), for the client and the peer.
LINED   = lineedit.o keys.o utf8.o history.o rawtty.o
TESTS   = tests/test_queue.o tests/test_hub.o tests/test_proto.o \
          tests/test_server.o tests/test_policies.o tests/test_client.o \
          tests/test_peer.o tests/test_stress.o tests/test_faults.o \
          tests/test_lineedit.o tests/pty.o tests/harness.o

.PHONY: all run-server run-client run-peer-a run-peer-b test sanitize fuzz \
        churn valgrind demos docs test-netns install uninstall \
        test-install test-container check-criterion bench bench-smoke clean

all: server client peer

server: $(SERVER)
	$(CC) $(HC_CFLAGS) $(LDFLAGS) -o $@ $(SERVER) $(LDLIBS)

client: $(CLIENT)
	$(CC) $(HC_CFLAGS) $(LDFLAGS) -o $@ $(CLIENT) $(LDLIBS)

peer: $(PEER)
	$(CC) $(HC_CFLAGS) $(LDFLAGS) -o $@ $(PEER) $(LDLIBS)

%.o: %.c
	$(CC) $(HC_CFLAGS) -MMD -MP -I. -c -o $@ $<

run-server: server
	./server $(if $(PORT),-p $(PORT))

run-client: client
	./client $(if $(HOST),-H $(HOST)) $(if $(PORT),-p $(PORT)) $(if $(NAME),-u $(NAME))

# The two-terminal peer demo: run one in each terminal.
run-peer-a: peer
	./peer -l 8080 -c 127.0.0.1:8081 -n A

run-peer-b: peer
	./peer -l 8081 -c 127.0.0.1:8080 -n B

# The tests need Criterion; tests/need-criterion.sh installs it with apt-get
# when it is missing, or says what to run.
check-criterion:
	@sh tests/need-criterion.sh

$(TESTS): | check-criterion

tests/run-tests: $(TESTS) $(COMMON) $(LINED) | tests/lined_demo
	$(CC) $(HC_CFLAGS) $(LDFLAGS) -o $@ $(TESTS) $(COMMON) $(LINED) -lcriterion $(LDLIBS)

# The program tests/test_lineedit.c runs on a pseudo-terminal.
tests/lined_demo: tests/lined_demo.o $(LINED)
	$(CC) $(HC_CFLAGS) $(LDFLAGS) -o $@ tests/lined_demo.o $(LINED) $(LDLIBS)

# Criterion runs each test in its own process; most integration tests wait
# on sockets, so more jobs than cores keeps the run short.
test: server client peer tests/run-tests
	tests/run-tests --jobs 8

# Sanitizer builds of every program, driven by the whole suite; any report
# fails (tests/sanitize.sh says how).
sanitize: tests/run-tests
	sh tests/sanitize.sh

# libFuzzer targets for the framer, the parser and the text rule, each run
# for FUZZ_SECONDS (tests/fuzz/run.sh; needs clang).
FUZZ_SECONDS ?= 60
fuzz:
	sh tests/fuzz/run.sh $(FUZZ_SECONDS)

# Churn: N sessions that end every way, then the server's threads, fds and
# RSS must be back to baseline (tests/churn.c). valgrind: the same session
# mix under memcheck, with zero errors and zero bytes lost.
CHURN_SESSIONS ?= 3000
CHURN_CONCURRENCY ?= 16
build/churn/churn: tests/churn.c
	@mkdir -p build/churn
	$(CC) $(HC_CFLAGS) -o $@ tests/churn.c $(LDLIBS)

churn: server build/churn/churn
	sh tests/churn.sh $(CHURN_SESSIONS) $(CHURN_CONCURRENCY)

valgrind: server build/churn/churn
	VALGRIND=1 sh tests/churn.sh 300 8

# Broken-vs-fixed demos (demos/README.md): each patch breaks one function;
# the test that exposes it must fail against that build.
demos: tests/run-tests
	sh demos/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MAN1DIR)
	for pair in $(INSTALLED); do \
		install -m 755 $${pair#*:} $(DESTDIR)$(BINDIR)/$${pair%%:*}; \
		install -m 644 man/$${pair%%:*}.1 $(DESTDIR)$(MAN1DIR)/; \
	done

uninstall:
	for pair in $(INSTALLED); do \
		rm -f $(DESTDIR)$(BINDIR)/$${pair%%:*} \
		      $(DESTDIR)$(MAN1DIR)/$${pair%%:*}.1; \
	done

# Installs into a scratch DESTDIR, runs what it installed, uninstalls.
test-install: all
	sh tests/install.sh

# The container image, built and run for real with Podman from a
# debootstrapped base (scripts/test-container.sh; skips when it cannot).
test-container: client
	sh scripts/test-container.sh

# Three hosts in network namespaces: the server on one, clients on two
# (tests/netns.sh; needs root, skips otherwise).
test-netns: server client
	sh tests/netns.sh

# The benchmark (bench/README.md): hubchat against ngIRCd, workloads A-F,
# several rounds; writes bench/RESULTS.md and bench/results.png.
bench: server bench/load bench/wake
	sh bench/run.sh

# CI's check that the benchmark still runs: one quick round, results kept
# out of the committed ones.
bench-smoke: server bench/load bench/wake
	BENCH_ROUNDS=1 BENCH_ONLY="A C E" BENCH_E_CLIENTS=500 \
	BENCH_E_IRC_CLIENTS=200 BENCH_RESULTS=bench/out/smoke/RESULTS.md \
	sh bench/run.sh

# Its load generator, and the thread wake-up cost of this machine.
bench/load: bench/load.c
	$(CC) $(HC_CFLAGS) -o $@ bench/load.c

bench/wake: bench/wake.c
	$(CC) $(HC_CFLAGS) -o $@ bench/wake.c

# The picture in docs/GO-VS-C.md, from its Graphviz source (needs dot).
docs: docs/threads.svg
docs/threads.svg: docs/threads.dot
	dot -Tsvg docs/threads.dot -o $@

clean:
	rm -f server client peer tests/run-tests tests/lined_demo bench/load bench/wake *.o *.d tests/*.o tests/*.d
	rm -rf build

-include *.d tests/*.d
