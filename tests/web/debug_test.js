// debug_test.js - the /debug page (--debug-page) in a real browser:
// Debian's Chromium driven by puppeteer-core. Three TCP clients log in
// and the page draws one bar per client; one stops reading while another
// floods the room, and its bar grows; it is cut off as a slow consumer,
// and the page flashes its row and lists the eviction. No script error
// and no CSP violation on the way.
//
//   node debug_test.js
//
// CHROMIUM names the browser (default /usr/bin/chromium).
'use strict';

const puppeteer = require('puppeteer-core');
const { Server, TcpClient, httpGet, runTests, assert, assertEq } =
    require('./lib');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const HARD = 256 * 1024;        // --queue-hard
const GROWN = 32 * 1024;        // a bar this full has visibly grown

let browser;
const ctx = {};                 // what the tests share

function launch() {
	return puppeteer.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: ['--headless=new', '--no-sandbox', '--disable-gpu',
		    '--disable-dev-shm-usage', '--disable-background-networking',
		    '--no-first-run', '--no-default-browser-check',
		    '--disable-extensions', '--mute-audio'],
		protocolTimeout: 20000,
	});
}

// The debug page, recording script errors, console errors (a CSP
// violation is one) and CSP violation events.
async function openPage(srv) {
	const page = await (await browser.createBrowserContext()).newPage();
	page.errors = [];
	page.on('pageerror', (e) => page.errors.push('pageerror: ' + e.message));
	page.on('console', (m) => {
		const url = (m.location() && m.location().url) || '';
		if (m.type() === 'error' && !url.endsWith('/favicon.ico'))
			page.errors.push('console: ' + m.text() + ' ' + url);
	});
	await page.evaluateOnNewDocument(() => {
		document.addEventListener('securitypolicyviolation', (e) =>
		    console.error('CSP: ' + e.violatedDirective));
	});
	await page.setViewport({ width: 900, height: 700 });
	const res = await page.goto(srv.url + 'debug', { waitUntil: 'load',
	    timeout: 10000 });
	assertEq(res.status(), 200, 'GET /debug');
	return page;
}

// The rows the page draws: name, bytes and whether it flashes.
function rows(page) {
	return page.$$eval('#clients li.client', (lis) => lis.map((li) => ({
		name: li.dataset.name, bytes: Number(li.dataset.bytes),
		evicted: li.classList.contains('evicted'),
		fill: li.querySelector('.queue .fill').style.width })));
}

// Waits until the page's rows satisfy pred (run in the page), within ms.
function waitRows(page, pred, what, ms) {
	return page.waitForFunction(pred, { timeout: ms || 5000,
	    polling: 'mutation' }).catch(async (e) => {
		throw new Error('the page never showed ' + what + '; it shows ' +
		    JSON.stringify(await rows(page)) + ' (' + e.message + ')');
	});
}

// What the server says now: /debug.json, parsed.
async function debugJson(srv) {
	const r = await httpGet(srv.webPort, '/debug.json');
	assertEq(r.status, 200, 'GET /debug.json');
	return JSON.parse(r.body);
}

// loud says `count` lines of 1000 bytes and a PING; resolves at its PONG,
// when the lines have been handed to everyone's queues.
let step = 0;
async function flood(loud, count) {
	const text = 'MSG ' + 'z'.repeat(996);
	for (let i = 0; i < count; i++)
		loud.send(text);
	loud.send('PING f' + ++step);
	await loud.until('PONG f' + step);
}

// ---- The tests -------------------------------------------------------------

async function oneBarEach(srv) {
	ctx.page = await openPage(srv);
	await waitRows(ctx.page, () => document.getElementById('nobody')
	    .hidden === false, '"Nobody is logged in."');
	ctx.alice = await TcpClient.login(srv.port, 'alice');
	ctx.slow = await TcpClient.login(srv.port, 'slow');
	ctx.loud = await TcpClient.login(srv.port, 'loud');
	await waitRows(ctx.page, () => JSON.stringify([...document
	    .querySelectorAll('#clients li.client')].map((li) =>
	    li.dataset.name)) === '["alice","loud","slow"]',
	    'a row each for alice, loud and slow');
	const bars = await ctx.page.$$eval('#clients li.client', (lis) =>
	    lis.map((li) => li.querySelectorAll('.queue .track').length));
	assertEq(bars, [1, 1, 1], 'queue bars per row');
	const threads = await ctx.page.$eval('#threads', (e) => e.textContent);
	assert(/^\d+ \(3 logged in × 2 = 6/.test(threads), 'threads: ' +
	    threads);
	const limits = await ctx.page.$eval('#limits', (e) => e.textContent);
	assert(limits.includes('256.0 KiB'), 'limits: ' + limits);
}

// slow stops reading (its socket is paused: the kernel's buffers fill,
// then its queue); loud floods the lobby in steps until the server says
// slow's queue holds GROWN bytes; the page must then show slow's bar that
// full, and alice's (she reads) near empty.
async function barGrows(srv) {
	ctx.slow.sock.pause();
	for (;;) {
		await flood(ctx.loud, 8);
		const d = await debugJson(srv);
		const m = d.members.find((x) => x.name === 'slow');
		assert(m !== undefined, 'slow was cut off before its queue ' +
		    'was seen to grow');
		if (m.bytes >= GROWN)
			break;
	}
	await waitRows(ctx.page, () => {
		const li = document.querySelector('li.client[data-name="slow"]');
		return li !== null && Number(li.dataset.bytes) >= 32 * 1024 &&
		    parseFloat(li.querySelector('.queue .fill').style.width) >= 12;
	}, "slow's bar at 32 KiB or more");
	if (process.env.DEBUG_SHOT)
		await ctx.page.screenshot({ path: process.env.DEBUG_SHOT });
	const alice = (await rows(ctx.page)).find((r) => r.name === 'alice');
	assert(alice.bytes < GROWN, 'alice reads, but her queue shows ' +
	    alice.bytes + ' bytes');
}

// loud goes on until the server counts an eviction; the page flashes
// slow's row, lists the eviction with its time, and then draws a row for
// each client left.
async function evictionShows(srv) {
	for (;;) {
		await flood(ctx.loud, 8);
		if ((await debugJson(srv)).evictions > 0)
			break;
	}
	await waitRows(ctx.page, () => document.querySelector(
	    'li.client.evicted[data-name="slow"]') !== null,
	    "slow's row flashing as evicted");
	await waitRows(ctx.page, () => /^\d\d:\d\d:\d\d slow in #lobby: .* over the hard limit$/
	    .test((document.querySelector('#gone li') || {}).textContent),
	    'the eviction listed');
	await waitRows(ctx.page, () => document.getElementById('evictions')
	    .textContent === '1', 'one eviction counted');
	await waitRows(ctx.page, () => JSON.stringify([...document
	    .querySelectorAll('#clients li.client')].map((li) =>
	    li.dataset.name)) === '["alice","loud"]',
	    'a row each for alice and loud, once the flash is over', 10000);
}

async function noScriptErrors() {
	assertEq(ctx.page.errors, [], "the debug page's errors");
}

async function main() {
	browser = await launch();
	console.log('browser: ' + await browser.version());
	const srv = await new Server(['-q', '--debug-page', '--queue-hard',
	    String(HARD), '--queue-soft', '0', '--flood-rate', '0',
	    '--sndbuf', '4096']).start();
	let counts = { passed: 0, failed: 0 };
	try {
		counts = await runTests('debug', [
			['one bar per client', 15000, () => oneBarEach(srv)],
			['a bar grows when a client stops reading and another ' +
			    'floods it', 30000, () => barGrows(srv)],
			['the eviction shows: a flash, the list, the count', 30000,
			    () => evictionShows(srv)],
			['no script errors, no CSP violations', 5000,
			    () => noScriptErrors()],
		]);
	} finally {
		for (const c of [ctx.alice, ctx.slow, ctx.loud])
			if (c !== undefined)
				c.close();
		await browser.close().catch(() => {});
		await srv.stop('SIGKILL').catch(() => {});
	}
	if (counts.failed > 0)
		console.log('server log (last lines):\n' + srv.tail());
	console.log('debug: ' + counts.passed + ' passed, ' + counts.failed +
	    ' failed');
	process.exit(counts.failed > 0 ? 1 : 0);
}

main().catch((e) => {
	console.log('FAIL debug: ' + (e && e.stack ? e.stack : e));
	process.exit(1);
});
