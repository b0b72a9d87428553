// lib.js - what the web tests share: a server of their own on free
// loopback ports, line clients over TCP and WebSocket, deadlines, and a
// runner that prints PASS/FAIL lines and a closing count.
//
// Every wait has a deadline and waits on a condition (a line, an event, a
// port that answers); nothing sleeps for a fixed time and hopes.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const http = require('node:http');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const SERVER = process.env.HUBCHAT_SERVER || path.join(ROOT, 'server');
// run.sh makes (and removes) the scratch directory; run alone, a test
// makes its own and removes it at exit.
const TMP = process.env.HUBCHAT_WEB_TMP || (() => {
	const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(),
	    'hubchat-web-'));
	process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
	return dir;
})();

// Resolves with p's value, or rejects after ms with what was awaited.
function deadline(p, ms, what) {
	let timer;
	const t = new Promise((_, reject) => {
		timer = setTimeout(() => reject(new Error('timed out after ' +
		    ms + ' ms waiting for ' + what)), ms);
	});
	return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// A free TCP port on 127.0.0.1: the kernel picks one, we let it go.
function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const port = s.address().port;
			s.close(() => resolve(port));
		});
	});
}

function tryConnect(port) {
	return new Promise((resolve) => {
		const s = net.connect(port, '127.0.0.1');
		s.once('connect', () => { s.destroy(); resolve(true); });
		s.once('error', () => resolve(false));
	});
}

function httpGet(port, urlPath, headers) {
	return new Promise((resolve, reject) => {
		const req = http.get({ host: '127.0.0.1', port: port,
		    path: urlPath, headers: headers || {} }, (res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (d) => { body += d; });
			res.on('end', () => resolve({ status: res.statusCode,
			    headers: res.headers, body: body }));
		});
		req.on('error', reject);
	});
}

// The server, on its own TCP and web ports, with --data-dir in TMP. It can
// be stopped (by any signal) and started again on the same ports.
class Server {
	constructor(extra) {
		this.extra = extra || [];
		this.proc = null;
		this.dataDir = fs.mkdtempSync(path.join(TMP, 'data-'));
		this.logPath = path.join(TMP, 'server-' + process.pid + '.log');
	}

	async start() {
		if (this.port === undefined) {
			this.port = await freePort();
			this.webPort = await freePort();
		}
		const log = fs.openSync(this.logPath, 'a');
		this.proc = spawn(SERVER, ['--addr', '127.0.0.1', '-p',
		    String(this.port), '--web', String(this.webPort),
		    '--data-dir', this.dataDir, ...this.extra],
		    { stdio: ['ignore', log, log] });
		fs.closeSync(log);
		const proc = this.proc;
		this.exited = new Promise((resolve) => proc.once('exit',
		    (code, sig) => resolve({ code: code, signal: sig })));
		await deadline(this.ready(), 10000, 'the server to listen');
		return this;
	}

	async ready() {
		for (;;) {
			if (this.proc.exitCode !== null)
				throw new Error('the server exited: ' + this.tail());
			if (await tryConnect(this.port) && await tryConnect(this.webPort))
				return;
			await new Promise((r) => setTimeout(r, 50)); // poll interval
		}
	}

	// Sends sig and waits for the process to end.
	async stop(sig) {
		if (this.proc === null)
			return null;
		this.proc.kill(sig || 'SIGTERM');
		const how = await deadline(this.exited, 10000, 'the server to exit');
		this.proc = null;
		return how;
	}

	get url() { return 'http://127.0.0.1:' + this.webPort + '/'; }
	get wsUrl() { return 'ws://127.0.0.1:' + this.webPort + '/ws'; }

	tail() {
		try {
			return fs.readFileSync(this.logPath, 'utf8').split('\n')
			    .slice(-15).join('\n');
		} catch (e) {
			return '(no log)';
		}
	}
}

// Lines as they arrive, and waits for them. feed() takes one line; the
// transport (TCP or WebSocket) calls it. One wait at a time: a wait that
// times out is withdrawn and takes no later line.
class Lines {
	constructor(label) {
		this.label = label;
		this.queue = [];        // received, not yet taken by a wait
		this.all = [];          // everything received
		this.waiter = null;
		this.ended = false;
	}

	feed(line) {
		this.queue.push(line);
		this.all.push(line);
		this.pump();
	}

	end() {
		this.ended = true;
		this.pump();
	}

	// Offers queued lines to the waiter: its judge says 'take' (done),
	// 'skip', or returns an Error (fail).
	pump() {
		const w = this.waiter;
		while (w !== null && this.queue.length > 0) {
			const l = this.queue.shift();
			const verdict = w.judge(l);
			if (verdict === 'skip')
				continue;
			this.waiter = null;
			clearTimeout(w.timer);
			return verdict === 'take' ? w.resolve(l) : w.reject(verdict);
		}
		if (w !== null && this.ended) {
			this.waiter = null;
			clearTimeout(w.timer);
			w.reject(new Error(this.label + ': connection closed while ' +
			    'waiting for ' + w.what));
		}
	}

	wait(judge, ms, what) {
		if (this.waiter !== null)
			throw new Error(this.label + ': two waits at once');
		return new Promise((resolve, reject) => {
			const w = { judge, resolve, reject, what };
			w.timer = setTimeout(() => {
				this.waiter = null;
				reject(new Error(this.label + ': timed out after ' + ms +
				    ' ms waiting for ' + what + '; last lines: ' +
				    JSON.stringify(this.all.slice(-5))));
			}, ms);
			this.waiter = w;
			this.pump();
		});
	}

	// LOGIN name, fenced by a PING: OK, then only HIST lines until the
	// PONG. Returns the HIST lines.
	async logIn(name) {
		this.send('LOGIN ' + name);
		this.send('PING login');
		await this.expect('OK');
		const hist = [];
		await this.wait((l) => l === 'PONG login' ? 'take' :
		    l.startsWith('HIST ') ? (hist.push(l), 'skip') :
		    new Error(this.label + ': after OK, ' + JSON.stringify(l)),
		    5000, 'the end of the history');
		return hist;
	}

	// The next line, whatever it is.
	next(ms) {
		return this.wait(() => 'take', ms || 5000, 'a line');
	}

	// Asserts that the next line is exactly want.
	expect(want, ms) {
		return this.wait((l) => l === want ? 'take' : new Error(
		    this.label + ': expected ' + JSON.stringify(want) + ', got ' +
		    JSON.stringify(l)), ms || 5000, JSON.stringify(want));
	}

	// Skips lines until one is exactly want, or pred(line) is true.
	until(want, ms) {
		const match = typeof want === 'function' ? want :
		    (l) => l === want;
		return this.wait((l) => match(l) ? 'take' : 'skip', ms || 5000,
		    typeof want === 'function' ? 'a matching line' :
		    JSON.stringify(want));
	}
}

// A TCP client of the line protocol (Node's net module).
class TcpClient extends Lines {
	static async open(port, label) {
		const c = new TcpClient(label || 'tcp');
		c.sock = net.connect(port, '127.0.0.1');
		let buf = '';
		c.sock.setEncoding('utf8');
		c.sock.on('data', (d) => {
			buf += d;
			let i;
			while ((i = buf.indexOf('\n')) >= 0) {
				c.feed(buf.slice(0, i));
				buf = buf.slice(i + 1);
			}
		});
		c.sock.on('close', () => c.end());
		c.sock.on('error', () => c.end());
		await deadline(new Promise((resolve, reject) => {
			c.sock.once('connect', resolve);
			c.sock.once('error', reject);
		}), 5000, 'a TCP connection');
		return c;
	}

	send(line) { this.sock.write(line + '\n'); }

	// Connects, reads the welcome and logs in as name; the OK and the
	// lobby's history after it are read too.
	static async login(port, name) {
		const c = await TcpClient.open(port, name + '(tcp)');
		await c.until((l) => l.startsWith('INFO welcome'));
		await c.logIn(name);
		return c;
	}

	close() { this.sock.destroy(); }
}

// Runs the named async tests one after another, each within its own
// deadline; prints PASS/FAIL lines; returns the counts.
async function runTests(suite, tests) {
	const counts = { passed: 0, failed: 0, skipped: 0 };
	for (const [name, ms, fn] of tests) {
		const started = Date.now();
		try {
			await deadline(fn(), ms, 'the test "' + name + '"');
			counts.passed++;
			console.log('PASS ' + suite + ': ' + name + ' (' +
			    (Date.now() - started) + ' ms)');
		} catch (e) {
			counts.failed++;
			console.log('FAIL ' + suite + ': ' + name + ': ' +
			    (e && e.message ? e.message : e));
		}
	}
	return counts;
}

function assert(cond, what) {
	if (!cond)
		throw new Error(what);
}

function assertEq(got, want, what) {
	const g = JSON.stringify(got);
	const w = JSON.stringify(want);
	if (g !== w)
		throw new Error(what + ': expected ' + w + ', got ' + g);
}

module.exports = {
	ROOT, TMP, Server, Lines, TcpClient, deadline, freePort, httpGet,
	runTests, assert, assertEq,
};
