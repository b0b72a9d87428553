# hubchat - see README.md. `make` builds ./server, ./client and ./peer.
#
# One Makefile is the single source of truth for sources and flags: the
# sanitizer run, the demos, the fuzzers and the benchmark all build through
# it. Objects, dependency files, the test binary and the tools go to build/
# (build/$(SAN)/ for a sanitizer build); the only outputs in the source
# tree are the three programs a person runs.
#
#   make                 ./server ./client ./peer
#   make SAN=address     build/address/{server,client,peer,run-tests} with
#                        AddressSanitizer + UndefinedBehaviorSanitizer
#   make SAN=thread      the same with ThreadSanitizer
#
# The usual variables work: CC (as make defines it), CPPFLAGS, CFLAGS,
# LDFLAGS, LDLIBS. -pthread and -D_GNU_SOURCE are added whatever CFLAGS says.

CFLAGS  ?= -std=c11 -O2 -g -Wall -Wextra -Werror
# POSIX and GNU extensions (pthread_setname_np, pthread_timedjoin_np,
# accept4, signalfd), and headers found from the top of the tree.
CPPFLAGS += -D_GNU_SOURCE -I.
PTHREAD  = -pthread

SAN ?=
ifeq ($(SAN),)
B      = build
BIN    = .
# Sanitizer builds run at -O1, where gcc's value ranges are too coarse for
# -Wformat-truncation (it warns of snprintf's whose numbers it cannot
# bound); the -O2 build keeps that check as an error.
else ifeq ($(SAN),address)
B      = build/address
BIN    = $(B)
SANFLAGS = -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
           -fno-sanitize-recover=all -DTHREAD_STACK_KIB=512 \
           -Wno-format-truncation
else ifeq ($(SAN),thread)
B      = build/thread
BIN    = $(B)
SANFLAGS = -O1 -fno-omit-frame-pointer -fsanitize=thread \
           -DTHREAD_STACK_KIB=512 -Wno-format-truncation
else
$(error SAN must be empty, address or thread)
endif

ALL_CFLAGS = $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) $(PTHREAD)
LINK       = $(CC) $(CFLAGS) $(SANFLAGS) $(PTHREAD) $(LDFLAGS)

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
# run-server shows the features: the web page on WEB_PORT, and rooms'
# history kept on disk in DATA_DIR across restarts.
WEB_PORT ?= 8000
DATA_DIR ?= hubchat-data

# ---- Sources: each program's, and what the test binary links ------------

CORE_SRC   = msg.c queue.c hub.c hub_table.c hub_ask.c hub_cluster.c \
             hub_debug.c room.c room_hist.c archive.c proto.c net.c log.c \
             flood.c writer.c die.c
SERVER_SRC = server.c server_open.c server_report.c sigfd.c slots.c \
             refuse.c session.c session_read.c cmd.c transport.c \
             transport_ws.c web.c \
             addrlimit.c stats.c config.c rlimits.c cluster.c cluster_cmd.c \
             cluster_check.c cluster_ask.c \
             cluster_bus.c cluster_lua.c \
             $(CORE_SRC) $(WEB_SRC) $(RESP_SRC)
# The web listener's codecs (HTTP head, WebSocket frames), and what the
# peer's challenge-response uses (HMAC-SHA1).
WEB_SRC    = sha1.c base64.c ws.c http.c http_response.c
# The Redis client, for the cluster (resp.h on bytes, resp_conn.h on a
# socket).
RESP_SRC   = resp.c resp_encode.c resp_conn.c
# The terminal line editor (lineedit.h), for the client and the peer.
LINED_SRC  = lineedit.c lineedit_draw.c lineedit_edit.c keys.c utf8.c \
             linehist.c rawtty.c
CLIENT_SRC = client.c login.c show.c term.c typed.c pending.c proto.c \
             net.c die.c $(LINED_SRC)
PEER_SRC   = peer.c peer_term.c peer_link.c peer_talk.c peeropts.c \
             handshake.c peeraddr.c term.c msg.c queue.c proto.c net.c \
             writer.c die.c sha1.c $(LINED_SRC)
TEST_SRC   = tests/test_queue.c tests/test_hub.c tests/test_proto.c \
             tests/test_server.c tests/test_policies.c tests/test_client.c \
             tests/test_peer.c tests/test_stress.c tests/test_faults.c \
             tests/test_abuse.c tests/test_manners.c tests/test_rooms.c \
             tests/test_history.c tests/test_web.c tests/test_debug.c \
             tests/wsclient.c \
             tests/test_cluster.c tests/redisd.c \
             tests/test_sha1.c tests/test_base64.c tests/test_ws.c \
             tests/test_http.c tests/test_resp.c tests/test_lineedit.c \
             tests/test_client_tty.c tests/test_peer_tty.c tests/pty.c \
             tests/ports.c tests/harness.c

obj = $(patsubst %.c,$(B)/%.o,$(1))

PROGRAMS = $(BIN)/server $(BIN)/client $(BIN)/peer

.PHONY: all run-server run-client run-peer-a run-peer-b test sanitize fuzz \
        churn valgrind demos docs test-netns install uninstall \
        test-install test-container test-tls test-cluster check-criterion \
        bench bench-smoke tools clean go run-go-server test-go demos-go \
        check-go check-excerpts

all: $(PROGRAMS)

$(BIN)/server: $(call obj,$(SERVER_SRC)) $(B)/web_assets.o
	$(LINK) -o $@ $^ $(LDLIBS)

# The web page is built into the server: build/embed writes web/'s files
# as C arrays (web_assets.h), so one binary is the whole deployment.
# web/debug.* are the /debug page, served only with --debug-page.
WEB_FILES = web/index.html web/app.js web/style.css web/debug.html \
            web/debug.js web/debug.css
$(B)/embed: web/embed.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ web/embed.c

$(B)/web_assets.c: $(WEB_FILES) $(B)/embed
	$(B)/embed $(WEB_FILES) > $@

$(B)/web_assets.o: $(B)/web_assets.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BIN)/client: $(call obj,$(CLIENT_SRC))
	$(LINK) -o $@ $^ $(LDLIBS)

$(BIN)/peer: $(call obj,$(PEER_SRC))
	$(LINK) -o $@ $^ $(LDLIBS)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# ---- Running it ---------------------------------------------------------

run-server: $(BIN)/server
	@echo "hubchat: open http://127.0.0.1:$(WEB_PORT)/ in a browser, or" \
	    "run 'make run-client' in another terminal; history is kept in" \
	    "$(DATA_DIR)/. Ctrl-C stops the server."
	$(BIN)/server $(if $(PORT),-p $(PORT)) --web $(WEB_PORT) \
	    --data-dir $(DATA_DIR)

run-client: $(BIN)/client
	$(BIN)/client $(if $(HOST),-H $(HOST)) $(if $(PORT),-p $(PORT)) \
	    $(if $(NAME),-u $(NAME))

# The two-terminal peer demo: run one in each terminal. PORT is this
# side's port and PEER the other side's HOST:PORT (defaults: 8080 and 8081
# on this machine); each listens on loopback only unless ADDR says where.
run-peer-a: $(BIN)/peer
	$(BIN)/peer -a $(or $(ADDR),127.0.0.1) -l $(or $(PORT),8080) \
	    -c $(or $(PEER),127.0.0.1:8081) -n $(or $(NAME),A)

run-peer-b: $(BIN)/peer
	$(BIN)/peer -a $(or $(ADDR),127.0.0.1) -l $(or $(PORT),8081) \
	    -c $(or $(PEER),127.0.0.1:8080) -n $(or $(NAME),B)

# ---- Tests --------------------------------------------------------------

# The tests need Criterion; tests/need-criterion.sh installs it with apt-get
# when it is missing, or says what to run.
check-criterion:
	@sh tests/need-criterion.sh

$(call obj,$(TEST_SRC)): | check-criterion

# One Criterion binary with every suite; the in-process suites (queue, hub,
# proto) link the modules themselves, so a sanitizer build checks them too.
$(B)/run-tests: $(call obj,$(TEST_SRC) $(CORE_SRC) $(WEB_SRC) $(RESP_SRC) \
                $(LINED_SRC))
	$(LINK) -o $@ $^ -lcriterion $(LDLIBS)

# The program tests/test_lineedit.c runs on a pseudo-terminal.
$(B)/lined_demo: $(call obj,tests/lined_demo.c $(LINED_SRC))
	$(LINK) -o $@ $^ $(LDLIBS)

# Criterion cannot start under ThreadSanitizer (tests/lite/criterion/
# criterion.h says why), so the suites that run in-process, the ones with
# threads and locks of their own, are also built against a small stand-in
# runner: under SAN=thread that is how they are race-checked.
UNIT_SRC = tests/test_queue.c tests/test_hub.c tests/test_proto.c \
           tests/harness.c tests/lite/runner.c
$(B)/lite/%.o: %.c
	@mkdir -p $(@D)
	$(CC) -Itests/lite $(ALL_CFLAGS) -Wno-format-zero-length -MMD -MP \
	    -c -o $@ $<

$(B)/unit-tests: $(patsubst %.c,$(B)/lite/%.o,$(UNIT_SRC)) \
                 $(call obj,$(CORE_SRC))
	$(LINK) -o $@ $^ $(LDLIBS)

# Criterion runs each test in its own process; most integration tests wait
# on sockets, so more jobs than cores keeps the run short. First, the code
# docs/GO-VS-C.md shows must be the code in the tree (check-excerpts).
test: $(PROGRAMS) $(B)/run-tests $(B)/lined_demo check-excerpts
	$(B)/run-tests --jobs 8

check-excerpts:
	sh tests/check-excerpts.sh

# ---- The Go twin (go/README.md) ------------------------------------------

# The hubchat server as a Go programmer writes it after the chat
# tutorials, standard library only, built with Debian's golang-go
# (tests/need-go.sh installs it when missing, as need-criterion.sh does
# Criterion). Its build cache stays in build/ too; no module is fetched.
GO       ?= go
GO_ENV    = GOCACHE=$(CURDIR)/build/go-cache GOPATH=$(CURDIR)/build/gopath \
            GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local
GO_SRC    = go/go.mod $(filter-out %_test.go,$(wildcard go/*.go))

check-go:
	@sh tests/need-go.sh

go: build/hubchat-go

build/hubchat-go: $(GO_SRC) | check-go
	@mkdir -p build
	cd go && $(GO_ENV) $(GO) build -o $(CURDIR)/$@ .

run-go-server: build/hubchat-go
	build/hubchat-go $(if $(PORT),-p $(PORT))

# The integration suites that cover the core protocol, in a binary of
# their own: make test-go runs them against build/hubchat-go (which tests,
# and which not and why: tests/test-go.sh).
CORE_TEST_SRC = tests/test_server.c tests/test_policies.c \
                tests/test_faults.c tests/test_stress.c tests/test_abuse.c \
                tests/test_manners.c tests/harness.c
$(B)/core-tests: $(call obj,$(CORE_TEST_SRC))
	$(LINK) -o $@ $^ -lcriterion $(LDLIBS)

test-go: build/hubchat-go $(B)/core-tests
	$(GO_ENV) sh tests/test-go.sh

# The Go shapes of the classic bugs (go/demos/README.md): each test passes
# when the broken variant misbehaves as documented.
demos-go: | check-go
	cd go && $(GO_ENV) $(GO) test -count=1 -v ./demos/

# Sanitizer builds of every program and of the test binary, driven by the
# whole suite; any report fails (tests/sanitize.sh says how).
sanitize:
	sh tests/sanitize.sh

# libFuzzer targets for the framer, the parser, the text rule, the WebSocket
# frame parser, the HTTP head parser, the RESP reply parser and what a
# cluster node takes from Redis (bus messages, history entries), each run
# for FUZZ_SECONDS
# (tests/fuzz/run.sh), built here with clang (installed by .ci/run;
# apt-get install clang libclang-rt-14-dev).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS  = framer parse text ws http resp bus
FUZZ_SRC      = proto.c $(WEB_SRC) resp.c resp_encode.c cluster_check.c msg.c
FUZZ_FLAGS    = -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRC)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_SRC)

fuzz: $(patsubst %,build/fuzz/fuzz_%,$(FUZZ_TARGETS))
	sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Churn: N sessions that end every way, then the server's threads, fds and
# RSS must be back to baseline (tests/churn.c). valgrind: the same session
# mix under memcheck, with zero errors and zero bytes lost.
CHURN_SESSIONS ?= 3000
CHURN_CONCURRENCY ?= 16
$(B)/churn: $(B)/tests/churn.o
	$(LINK) -o $@ $^ $(LDLIBS)

churn: $(BIN)/server $(B)/churn
	sh tests/churn.sh $(CHURN_SESSIONS) $(CHURN_CONCURRENCY)

valgrind: $(BIN)/server $(B)/churn
	VALGRIND=1 sh tests/churn.sh 300 8

# Broken-vs-fixed demos (demos/README.md): each patch breaks one function
# in a scratch copy of the tree, built with this Makefile; the test that
# exposes it must fail against that build.
demos: $(B)/run-tests
	sh demos/run.sh

# Installs into a scratch DESTDIR, runs what it installed, uninstalls.
test-install: all
	sh tests/install.sh

# The container image, built and run for real with Podman from a
# debootstrapped base (scripts/test-container.sh; skips when it cannot).
test-container: $(BIN)/client
	sh scripts/test-container.sh

# The cluster over a real Redis (docs/CLUSTER.md): the cluster suite of the
# test binary, with redis-server installed first when it is missing. (make
# test runs the suite too, and skips it without redis-server.)
test-cluster: $(PROGRAMS) $(B)/run-tests
	@sh tests/need-pkg.sh redis-server redis-server
	$(B)/run-tests --jobs 4 --filter 'cluster/*'

# TLS in front, as docs/OPERATIONS.md's recipe has it: stunnel4 before the
# chat and web ports, ./client through stunnel, openssl s_client.
test-tls: $(BIN)/server $(BIN)/client $(B)/load
	sh tests/tls.sh

# Three hosts in network namespaces: the server on one, clients on two
# (tests/netns.sh; needs root, skips otherwise).
test-netns: $(BIN)/server $(BIN)/client
	sh tests/netns.sh

# The web page: an independent WebSocket client (ws) and a real browser
# (Debian's Chromium driven by puppeteer-core), versions pinned in
# tests/web/package-lock.json and installed there by npm when missing;
# the browser part is skipped, and says so, when Chromium cannot be had.
.PHONY: test-web
test-web: $(BIN)/server
	SERVER=$(abspath $(BIN)/server) bash tests/web/run.sh

# ---- Install ------------------------------------------------------------

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

# ---- Benchmark ----------------------------------------------------------

# The benchmark (bench/README.md): hubchat against ngIRCd, Redis and its
# Go twin (build/hubchat-go), workloads A-F, several rounds; writes
# bench/RESULTS.md and bench/results.png.
tools: $(B)/load $(B)/wake $(B)/abuse

$(B)/load: $(B)/bench/load.o
	$(LINK) -o $@ $^ $(LDLIBS)

$(B)/wake: $(B)/bench/wake.o
	$(LINK) -o $@ $^ $(LDLIBS)

# What one hostile user can do (bench/abuse.c; docs/RELIABILITY.md).
$(B)/abuse: $(B)/bench/abuse.o
	$(LINK) -o $@ $^ $(LDLIBS)

bench: $(BIN)/server tools
	sh bench/run.sh

# CI's check that the benchmark still runs: one quick round of A, C and E
# against all four servers (about 8 s before the Go twin joined), results
# kept out of the committed ones.
bench-smoke: $(BIN)/server tools
	BENCH_ROUNDS=1 BENCH_ONLY="A C E" BENCH_E_CLIENTS=500 \
	BENCH_E_IRC_CLIENTS=200 BENCH_RESULTS=bench/out/smoke/RESULTS.md \
	sh bench/run.sh

# The picture in docs/GO-VS-C.md, from its Graphviz source (needs dot).
docs: docs/threads.svg
docs/threads.svg: docs/threads.dot
	dot -Tsvg docs/threads.dot -o $@

clean:
	rm -f server client peer
	rm -rf build
