// ws_test.js - an independent WebSocket client (the `ws` package) against
// hubchat's /ws: the handshake, chat both ways with a TCP client, the
// close handshake, ping/pong, a shutdown, and an Origin from elsewhere.
'use strict';

const WebSocket = require('ws');
const { Server, Lines, TcpClient, runTests, assert, assertEq, deadline,
    httpGet } = require('./lib');

const WELCOME = 'INFO welcome to hubchat; log in with LOGIN <name> (or ' +
    'just type your name); HELP lists the commands';

// A WebSocket client of the line protocol: each text message is a line.
class WsClient extends Lines {
	static async open(url, label, options) {
		const c = new WsClient(label || 'ws');
		c.ws = new WebSocket(url, options);
		c.closed = new Promise((resolve) => {
			c.ws.on('close', (code, reason) => {
				c.end();
				resolve({ code: code, reason: reason.toString() });
			});
		});
		c.ws.on('message', (data, isBinary) => {
			c.feed(isBinary ? '<binary>' : data.toString('utf8'));
		});
		c.ws.on('error', () => {});
		await deadline(new Promise((resolve, reject) => {
			c.ws.once('open', resolve);
			c.ws.once('unexpected-response', (req, res) =>
			    reject(new Error('HTTP ' + res.statusCode)));
			c.ws.once('error', reject);
		}), 5000, 'the WebSocket to open');
		return c;
	}

	static async login(url, name, options) {
		const c = await WsClient.open(url, name + '(ws)', options);
		await c.expect(WELCOME);
		await c.logIn(name);
		return c;
	}

	send(line) { this.ws.send(line); }
}

// Chat both ways between a WebSocket and a TCP client, exact lines.
async function chatBothWays(srv) {
	const ws = await WsClient.login(srv.wsUrl, 'webwen');
	const tcp = await TcpClient.login(srv.port, 'tcptom');
	await ws.expect('INFO tcptom joined');
	ws.send('MSG hello from the browser side');
	await tcp.expect('MSG webwen hello from the browser side');
	tcp.send('MSG hello from the terminal side');
	await ws.expect('MSG tcptom hello from the terminal side');
	ws.send('DM tcptom just you, ünïcödé ✓');
	await tcp.expect('DM webwen just you, ünïcödé ✓');
	tcp.send('DM webwen and back');
	await ws.expect('DM tcptom and back');
	ws.send('WHO');
	await ws.expect('USERS tcptom webwen');
	ws.send('PING t1');
	await ws.expect('PONG t1');
	ws.send('MSG ');
	await ws.expect('ERR usage MSG <text>');
	ws.send('DM nobody hi');
	await ws.expect('ERR no-such-user nobody');
	tcp.send('QUIT');
	await tcp.expect('INFO bye');
	await ws.expect('INFO tcptom disconnected');
	ws.send('QUIT');
	await ws.expect('INFO bye');
	const how = await deadline(ws.closed, 5000, 'the close after QUIT');
	assertEq(how.code, 1000, 'close code after QUIT');
}

// Rooms over the WebSocket: JOIN gives OK then the room's history.
async function roomsAndHistory(srv) {
	const tcp = await TcpClient.login(srv.port, 'roomrita');
	tcp.send('JOIN #webtest');
	await tcp.expect('OK');
	tcp.send('MSG kept for later');
	tcp.send('PING sync');
	await tcp.expect('PONG sync');
	const ws = await WsClient.login(srv.wsUrl, 'roomwill');
	ws.send('JOIN #webtest');
	await ws.expect('OK');
	const hist = await ws.next();
	assert(/^HIST \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ roomrita kept for later$/
	    .test(hist), 'a HIST line, got ' + JSON.stringify(hist));
	await tcp.expect('INFO roomwill joined');
	ws.send('ROOMS');
	await ws.until((l) => l.startsWith('ROOMS ') &&
	    l.includes(' #webtest 2'));
	ws.ws.close(1000);
	tcp.close();
}

// The close handshake: our close 1000 is echoed with 1000; the others
// hear that we left.
async function closeHandshake(srv) {
	const tcp = await TcpClient.login(srv.port, 'closecat');
	const ws = await WsClient.login(srv.wsUrl, 'closecora');
	await tcp.expect('INFO closecora joined');
	ws.ws.close(1000, 'done');
	const how = await deadline(ws.closed, 5000, 'the close echo');
	assertEq(how.code, 1000, 'the echoed close code');
	await tcp.expect('INFO closecora disconnected');
	tcp.close();
}

// A ping control frame is answered with a pong carrying the same payload.
async function pingPong(srv) {
	const ws = await WsClient.open(srv.wsUrl, 'pinger');
	await ws.expect(WELCOME);
	const pong = new Promise((resolve) => ws.ws.once('pong', resolve));
	ws.ws.ping(Buffer.from('are you there'));
	const got = await deadline(pong, 5000, 'a pong');
	assertEq(got.toString(), 'are you there', 'the pong payload');
	ws.ws.close(1000);
}

// An Origin that is not the page's own gets 403; the page's own, under
// either loopback name, is let in.
async function origins(srv) {
	let status = null;
	try {
		await WsClient.open(srv.wsUrl, 'evil',
		    { origin: 'http://evil.example' });
	} catch (e) {
		status = e.message;
	}
	assertEq(status, 'HTTP 403', 'a foreign Origin');
	for (const host of ['127.0.0.1', 'localhost']) {
		const ws = await WsClient.open(srv.wsUrl, 'own-' + host,
		    { origin: 'http://' + host + ':' + srv.webPort });
		await ws.expect(WELCOME);
		ws.ws.close(1000);
	}
	const page = await httpGet(srv.webPort, '/');
	assertEq(page.status, 200, 'GET /');
	assert(/script-src 'self'/.test(page.headers['content-security-policy']),
	    'the page has a CSP');
	assert(page.body.includes('src="/app.js"'), 'the page loads /app.js');
}

// SIGTERM: the session hears INFO server shutting down, then close 1001.
async function shutdown(srv) {
	const ws = await WsClient.login(srv.wsUrl, 'lastlou');
	ws.send('PING before');
	await ws.expect('PONG before');
	const stopped = srv.stop('SIGTERM');
	await ws.expect('INFO server shutting down');
	const how = await deadline(ws.closed, 5000, 'the close after shutdown');
	assertEq(how.code, 1001, 'the close code at shutdown');
	const exit = await stopped;
	assertEq(exit.code, 0, 'the server exit status');
}

async function main() {
	const srv = await new Server(['-q']).start();
	let counts;
	try {
		counts = await runTests('ws', [
			['a ws client and a TCP client chat both ways', 10000,
			    () => chatBothWays(srv)],
			['JOIN over ws gives OK, then HIST lines', 10000,
			    () => roomsAndHistory(srv)],
			['close 1000 is echoed with 1000', 10000,
			    () => closeHandshake(srv)],
			['ping is answered with the same payload', 10000,
			    () => pingPong(srv)],
			['a foreign Origin gets 403, our own is let in', 10000,
			    () => origins(srv)],
			['SIGTERM: INFO server shutting down, then close 1001',
			    15000, () => shutdown(srv)],
		]);
	} finally {
		await srv.stop('SIGKILL').catch(() => {});
	}
	if (counts.failed > 0)
		console.log('server log (last lines):\n' + srv.tail());
	console.log('ws: ' + counts.passed + ' passed, ' + counts.failed +
	    ' failed');
	process.exit(counts.failed > 0 ? 1 : 0);
}

main().catch((e) => {
	console.log('FAIL ws: ' + (e && e.stack ? e.stack : e));
	process.exit(1);
});
