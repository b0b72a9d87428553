// browser_test.js - the page in a real browser: Debian's Chromium driven
// by puppeteer-core. Two pages and a TCP client chat in one room; a DM
// from page to page; the XSS line shown as text; a taken name refused in
// the page; history marked as history; a reconnect after the server
// restarts; a phone-width page with no horizontal scroll.
//
//   node browser_test.js [--screenshot FILE]
//
// CHROMIUM names the browser (default /usr/bin/chromium).
'use strict';

const puppeteer = require('puppeteer-core');
const { Server, TcpClient, runTests, assert, assertEq } = require('./lib');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const XSS = '<img src=x onerror=alert(1)>';

let browser;
const pages = [];       // every page opened, for the checks at the end

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

// A page in a context of its own (its own storage), that records dialogs,
// script errors and console errors.
async function newPage(srv, width, height) {
	const ctx = await browser.createBrowserContext();
	const page = await ctx.newPage();
	page.dialogs = [];
	page.errors = [];
	page.on('dialog', (d) => { page.dialogs.push(d.message()); d.dismiss(); });
	page.on('pageerror', (e) => page.errors.push('pageerror: ' + e.message));
	page.on('console', (m) => {
		// A refused connection while the server is down is expected,
		// and so is the browser's own guess at /favicon.ico.
		const url = (m.location() && m.location().url) || '';
		if (m.type() === 'error' && !/WebSocket connection/.test(m.text()) &&
		    !/ERR_CONNECTION_REFUSED/.test(m.text()) &&
		    !url.endsWith('/favicon.ico'))
			page.errors.push('console: ' + m.text() + ' ' + url);
	});
	await page.setViewport({ width: width || 900, height: height || 600 });
	await page.goto(srv.url, { waitUntil: 'load', timeout: 10000 });
	pages.push(page);
	return page;
}

// Types name into the prompt and presses Enter, as a person would.
async function typeName(page, name) {
	await page.click('#name', { clickCount: 3 });
	await page.keyboard.press('Backspace');
	await page.type('#name', name);
	await page.keyboard.press('Enter');
}

async function loginPage(srv, name, width, height) {
	const page = await newPage(srv, width, height);
	await typeName(page, name);
	await page.waitForFunction(() => !document.getElementById('chat').hidden,
	    { timeout: 5000 });
	page.user = name;
	return page;
}

// Types a line into the message box and presses Enter.
async function typeLine(page, text) {
	await page.focus('#say');
	await page.type('#say', text);
	await page.keyboard.press('Enter');
}

// Waits until the message list has an entry with the given parts (any of
// cls, tag, from, text; each compared exactly), within ms.
function waitEntry(page, want, ms) {
	return page.waitForFunction((w) => {
		const part = (li, sel) => {
			const e = li.querySelector(sel);
			return e === null ? null : e.textContent;
		};
		return [...document.querySelectorAll('#log li')].some((li) =>
		    (w.cls === undefined || li.classList.contains(w.cls)) &&
		    (w.tag === undefined || part(li, '.tag') === w.tag) &&
		    (w.from === undefined || part(li, '.from') === w.from) &&
		    (w.text === undefined || part(li, '.text') === w.text));
	}, { timeout: ms || 5000, polling: 'mutation' }, want).catch((e) => {
		throw new Error(page.user + ' never showed ' + JSON.stringify(want) +
		    ': ' + e.message);
	});
}

function entries(page, sel) {
	return page.$$eval(sel || '#log li', (lis) => lis.map((li) =>
	    li.textContent));
}

function users(page) {
	return page.$$eval('#users button', (bs) => bs.map((b) => b.textContent));
}

async function waitUsers(page, want) {
	await page.waitForFunction((w) => JSON.stringify([...document
	    .querySelectorAll('#users button')].map((b) => b.textContent)) === w,
	    { timeout: 5000, polling: 'mutation' }, JSON.stringify(want))
	    .catch(async () => {
		throw new Error(page.user + "'s people: expected " +
		    JSON.stringify(want) + ', got ' +
		    JSON.stringify(await users(page)));
	});
}

function waitText(page, sel, re, ms) {
	return page.waitForFunction((s, r) => {
		const e = document.querySelector(s);
		return e !== null && new RegExp(r).test(e.textContent);
	}, { timeout: ms || 5000, polling: 'mutation' }, sel, re.source)
	    .catch(async () => {
		const got = await page.$eval(sel, (e) => e.textContent)
		    .catch(() => null);
		throw new Error(page.user + ': ' + sel + ' never matched ' + re +
		    '; it says ' + JSON.stringify(got));
	});
}

// ---- The tests -------------------------------------------------------------

const ctx = {};         // what the tests share: the pages and the TCP client

async function threeChat(srv) {
	ctx.alice = await loginPage(srv, 'alice');
	const focused = await ctx.alice.evaluate(() => document.activeElement.id);
	assertEq(focused, 'say', 'focus after login');
	ctx.bob = await loginPage(srv, 'bob');
	ctx.carol = await TcpClient.login(srv.port, 'carol');
	await waitEntry(ctx.alice, { cls: 'notice', text: 'bob joined.' });
	await waitEntry(ctx.bob, { cls: 'notice', text: 'carol joined.' });
	await waitUsers(ctx.alice, ['alice', 'bob', 'carol']);

	await typeLine(ctx.alice, 'hello from alice');
	await waitEntry(ctx.alice, { cls: 'own', from: 'alice',
	    text: 'hello from alice' });
	await waitEntry(ctx.bob, { cls: 'msg', from: 'alice',
	    text: 'hello from alice' });
	await ctx.carol.expect('MSG alice hello from alice');

	ctx.carol.send('MSG hi pages, carol on TCP');
	await waitEntry(ctx.alice, { from: 'carol', text: 'hi pages, carol on TCP' });
	await waitEntry(ctx.bob, { from: 'carol', text: 'hi pages, carol on TCP' });

	await typeLine(ctx.bob, 'bob here');
	await ctx.carol.expect('MSG bob bob here');
	await waitEntry(ctx.alice, { from: 'bob', text: 'bob here' });
	const aliceOwn = (await entries(ctx.alice, '#log li.own')).length;
	assertEq(aliceOwn, 1, "alice's own lines (no echo, shown once)");
}

async function dmByClick() {
	// bob picks alice from the people list, then types the text.
	await ctx.bob.evaluate(() => [...document.querySelectorAll('#users ' +
	    'button')].find((b) => b.textContent === 'alice').click());
	const value = await ctx.bob.$eval('#say', (e) => e.value);
	assertEq(value, '/dm alice ', 'the message box after a click');
	await ctx.bob.type('#say', 'psst, alice');
	await ctx.bob.keyboard.press('Enter');
	await waitEntry(ctx.alice, { cls: 'dm', tag: 'private',
	    from: 'bob → you', text: 'psst, alice' });
	await waitEntry(ctx.bob, { cls: 'own', from: 'you → alice',
	    text: 'psst, alice' });
	// and back with the command
	await typeLine(ctx.alice, '/dm bob got it');
	await waitEntry(ctx.bob, { cls: 'dm', from: 'alice → you',
	    text: 'got it' });
	// carol heard neither: her next line is the next room message.
	await typeLine(ctx.alice, 'back to the room');
	await ctx.carol.expect('MSG alice back to the room');
	await typeLine(ctx.alice, '/dm nobody hello?');
	await waitText(ctx.alice, '#log li.refused:last-child .why',
	    /^Not sent: nobody is called nobody\.$/);
}

async function xssAsText() {
	ctx.carol.send('MSG ' + XSS);
	await typeLine(ctx.alice, XSS);
	await ctx.carol.expect('MSG alice ' + XSS);
	await waitEntry(ctx.bob, { from: 'carol', text: XSS });
	await waitEntry(ctx.bob, { from: 'alice', text: XSS });
	await waitEntry(ctx.alice, { cls: 'own', text: XSS });
	for (const page of [ctx.alice, ctx.bob]) {
		const imgs = await page.$$eval('img', (l) => l.length);
		assertEq(imgs, 0, page.user + "'s img elements");
		// a round trip later, still no dialog
		await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
		assertEq(page.dialogs, [], page.user + "'s dialogs");
	}
}

async function takenName(srv) {
	const page = await newPage(srv);
	page.user = 'late-alice';
	await typeName(page, 'ALICE');
	await waitText(page, '#name-error', /^That name is in use\.$/);
	const invalid = await page.$eval('#name', (e) =>
	    e.getAttribute('aria-invalid'));
	assertEq(invalid, 'true', 'aria-invalid on the name');
	// a name that passes the page's check but not the server's
	await typeName(page, 'info');
	await waitText(page, '#name-error', /not a protocol word/);
	// and then a good one goes in
	await typeName(page, 'dave');
	await page.waitForFunction(() => !document.getElementById('chat')
	    .hidden, { timeout: 5000 });
	await waitEntry(ctx.alice, { cls: 'notice', text: 'dave joined.' });
	await page.close();
	// the others have heard dave go before the next test starts
	await waitEntry(ctx.alice, { cls: 'notice', text: 'dave disconnected.' });
	await ctx.carol.until('INFO dave disconnected');
}

async function roomWithHistory(srv) {
	const tcp = await TcpClient.login(srv.port, 'erin');
	tcp.send('JOIN #ops');
	await tcp.expect('OK');
	tcp.send('MSG the deploy is at five');
	tcp.send('PING said');
	await tcp.expect('PONG said');
	await typeLine(ctx.alice, '/join #ops');
	await waitText(ctx.alice, '#room-title', /^#ops$/);
	await waitEntry(ctx.alice, { cls: 'hist', tag: 'history', from: 'erin',
	    text: 'the deploy is at five' });
	await waitUsers(ctx.alice, ['alice', 'erin']);
	await ctx.alice.waitForFunction(() => {
		const b = document.querySelector('#rooms button[aria-current]');
		return b !== null && b.textContent === '#ops (2)';
	}, { timeout: 5000 });
	// the live line after the history is no history
	tcp.send('MSG now live');
	await waitEntry(ctx.alice, { cls: 'msg', from: 'erin', text: 'now live' });
	// bob's room list was made before #ops existed: /rooms asks again;
	// then he joins by the list, by keyboard alone
	await typeLine(ctx.bob, '/rooms');
	await waitEntry(ctx.bob, { cls: 'info', text: 'Rooms: #lobby (2), ' +
	    '#ops (2)' });
	await ctx.bob.waitForFunction(() => [...document.querySelectorAll(
	    '#rooms button')].some((b) => b.textContent === '#ops (2)'),
	    { timeout: 5000 });
	await ctx.bob.evaluate(() => [...document.querySelectorAll('#rooms ' +
	    'button')].find((b) => b.textContent.startsWith('#ops')).focus());
	await ctx.bob.keyboard.press('Enter');
	await waitText(ctx.bob, '#room-title', /^#ops$/);
	await waitEntry(ctx.alice, { cls: 'notice', text: 'bob joined.' });
	ctx.erin = tcp;
}

async function reconnect(srv, sig, words) {
	const page = ctx.alice;
	const how = await srv.stop(sig);
	if (sig === 'SIGTERM')
		assertEq(how.code, 0, 'the exit status after SIGTERM');
	await waitText(page, '#status', new RegExp('^Disconnected: ' + words),
	    5000);
	await srv.start();
	// the backoff's first step is at most 1 s, the second 2 s
	await waitEntry(page, { cls: 'notice', text: 'Reconnected as alice.' },
	    10000);
	await waitEntry(page, { cls: 'notice', text: 'Back in #ops.' });
	await waitText(page, '#status', /^Connected as alice, in #ops\.$/);
	const tcp = await TcpClient.login(srv.port, 'frank-' + sig.slice(3));
	tcp.send('JOIN #ops');
	// The other pages reconnect on their own backoff: "INFO bob joined"
	// may come in #lobby before the OK.
	await tcp.until('OK');
	await typeLine(page, 'still here after ' + sig);
	await tcp.until('MSG alice still here after ' + sig);
	tcp.close();
	// history from the data dir was shown once, not again
	const hist = (await entries(page, '#log li.hist')).filter((t) =>
	    t.includes('the deploy is at five'));
	assertEq(hist.length, 1, 'the history line, after reconnecting');
}

async function phoneWidth(srv) {
	const page = await loginPage(srv, 'phoebe', 360, 740);
	await typeLine(page, 'x'.repeat(300));
	await typeLine(page, 'a normal line with words that wrap at the edge ' +
	    'of a small screen');
	await waitEntry(page, { cls: 'own', text: 'x'.repeat(300) });
	const widths = await page.evaluate(() => ({
		doc: document.documentElement.scrollWidth,
		body: document.body.scrollWidth,
		view: document.documentElement.clientWidth,
	}));
	if (process.env.PHONE_SHOT)
		await page.screenshot({ path: process.env.PHONE_SHOT });
	assert(widths.doc <= widths.view && widths.body <= widths.view,
	    'a horizontal scroll at 360px: ' + JSON.stringify(widths));
	const login = await newPage(srv, 360, 740);
	const w2 = await login.evaluate(() => document.documentElement
	    .scrollWidth);
	assert(w2 <= 360, 'the name prompt is ' + w2 + 'px wide at 360px');
	await login.close();
	await page.close();
}

async function accessibility() {
	const a = ctx.alice;
	const live = await a.$eval('#log', (e) => e.getAttribute('aria-live'));
	assertEq(live, 'polite', "the message list's aria-live");
	const unlabelled = await a.$$eval('input', (l) => l.filter((i) =>
	    i.labels === null || i.labels.length === 0).map((i) => i.id));
	assertEq(unlabelled, [], 'inputs without a label');
	// Tab from the message box reaches Send, then the people.
	await a.focus('#say');
	await a.keyboard.press('Tab');
	const next = await a.evaluate(() => document.activeElement.textContent);
	assertEq(next, 'Send', 'the control after the message box');
	const histText = await a.$eval('#log li.hist', (li) => li.textContent);
	assert(/history/.test(histText), 'a history line says "history" in ' +
	    'its text: ' + histText);
}

async function noScriptErrors() {
	for (const page of pages) {
		if (page.isClosed())
			continue;
		assertEq(page.errors, [], (page.user || 'a page') + "'s errors");
	}
}

// ---- A screenshot of a conversation ----------------------------------------

async function screenshot(srv, file) {
	const carol = await TcpClient.login(srv.port, 'carol');
	carol.send('MSG morning! the nightly build is green again');
	carol.send('PING s');
	await carol.expect('PONG s');
	const dave = await TcpClient.login(srv.port, 'dave');
	dave.send('JOIN #ops');
	await dave.expect('OK');
	const alice = await loginPage(srv, 'alice', 900, 600);
	await waitEntry(alice, { cls: 'hist' });
	const bob = await loginPage(srv, 'bob', 900, 600);
	await waitEntry(alice, { text: 'bob joined.' });
	await typeLine(bob, 'hi all, bob here from the browser');
	await waitEntry(alice, { from: 'bob' });
	carol.send('MSG welcome bob! that is ./client on my side');
	await waitEntry(alice, { from: 'carol', text: 'welcome bob! that is ' +
	    './client on my side' });
	await typeLine(alice, 'nice, one hub for all of us');
	carol.send('DM alice lunch at 12?');
	await waitEntry(alice, { cls: 'dm' });
	await typeLine(alice, '/dm carol yes, see you there');
	await waitEntry(alice, { cls: 'own', from: 'you → carol' });
	await waitUsers(alice, ['alice', 'bob', 'carol']);
	await waitText(alice, '#rooms', /^#lobby \(3\)#ops \(1\)$/);
	await alice.focus('#say');
	await alice.type('#say', 'typing…');
	await alice.screenshot({ path: file });
	console.log('wrote ' + file);
}

async function main() {
	const shot = process.argv.indexOf('--screenshot');
	browser = await launch();
	console.log('browser: ' + await browser.version());
	const srv = await new Server(['-q']).start();
	let counts = { passed: 0, failed: 0 };
	try {
		if (shot > 0)
			await screenshot(srv, process.argv[shot + 1]);
		else
			counts = await runTests('browser', [
				['two pages and a TCP client chat in one room', 20000,
				    () => threeChat(srv)],
				['a DM by clicking a name, and by /dm', 15000,
				    () => dmByClick()],
				['the XSS line is text: no img, no dialog', 15000,
				    () => xssAsText()],
				['a taken or bad name: the server\'s words, inline',
				    15000, () => takenName(srv)],
				['/join #room: history marked as history', 20000,
				    () => roomWithHistory(srv)],
				['SIGTERM and restart: says so, reconnects, rejoins',
				    30000, () => reconnect(srv, 'SIGTERM',
				    'the server is shutting down \\(code 1001\\)')],
				['SIGKILL and restart: says so, reconnects, rejoins',
				    30000, () => reconnect(srv, 'SIGKILL',
				    'the connection was lost \\(code 1006\\)')],
				['360px wide: no horizontal scroll', 15000,
				    () => phoneWidth(srv)],
				['labels, aria-live, tab order', 10000,
				    () => accessibility()],
				['no script errors, no CSP violations', 5000,
				    () => noScriptErrors()],
			]);
	} finally {
		await browser.close().catch(() => {});
		await srv.stop('SIGKILL').catch(() => {});
	}
	if (counts.failed > 0)
		console.log('server log (last lines):\n' + srv.tail());
	if (shot < 0)
		console.log('browser: ' + counts.passed + ' passed, ' +
		    counts.failed + ' failed');
	process.exit(counts.failed > 0 ? 1 : 0);
}

main().catch((e) => {
	console.log('FAIL browser: ' + (e && e.stack ? e.stack : e));
	process.exit(1);
});
