/*
 * debug.js - the /debug page (--debug-page): the server's queues drawn
 * live.
 *
 * Every POLL_MS it asks GET /debug.json (one short request; the next is
 * asked only after the last one is answered, so a slow server is never
 * asked twice at once) and draws what it says: a row per logged-in client
 * with its queue against --queue-hard (the soft limit marked) and its
 * flood budget against --flood-burst, the server's threads, and the last
 * evictions. A client evicted between two polls has left by the next one,
 * so its row is kept for FLASH_MS, flashing, at what its queue held when
 * it was cut off. Names reach the page through textContent only, and bars
 * are sized through the CSSOM (element.style), which the page's
 * Content-Security-Policy allows: no inline style or script.
 */
'use strict';

(function () {

const POLL_MS = 250;
const FLASH_MS = 3000;          /* an evicted client's row stays this long */
const GONE_SHOWN = 8;           /* evictions listed */

const $ = (id) => document.getElementById(id);
const rows = new Map();         /* name -> its <li> */
const ghosts = new Map();       /* name -> { until, entry }: evicted */
let gone = [];                  /* { name, room, at, bytes, limit } */

function kib(bytes) {
	if (bytes < 1024)
		return bytes + ' B';
	if (bytes < 1024 * 1024)
		return (bytes / 1024).toFixed(1) + ' KiB';
	return (bytes / 1024 / 1024).toFixed(2) + ' MiB';
}

function clock(ms) {
	return new Date(ms).toLocaleTimeString([], { hour12: false });
}

function pct(part, whole) {
	return Math.max(0, Math.min(100, whole > 0 ? 100 * part / whole : 0));
}

function el(tag, cls, text) {
	const e = document.createElement(tag);
	if (cls)
		e.className = cls;
	if (text !== undefined)
		e.textContent = text;
	return e;
}

/* A bar: a track with a fill, an optional mark, and words beside it. */
function makeBar(cls, label) {
	const wrap = el('div', 'bar ' + cls);
	wrap.appendChild(el('span', 'what', label));
	const track = el('div', 'track');
	track.setAttribute('role', 'meter');
	track.setAttribute('aria-valuemin', '0');
	track.setAttribute('aria-label', label);
	track.appendChild(el('div', 'fill'));
	track.appendChild(el('div', 'mark'));
	wrap.appendChild(track);
	wrap.appendChild(el('span', 'words'));
	return wrap;
}

function setBar(bar, value, max, mark, words, warn) {
	const track = bar.querySelector('.track');
	track.setAttribute('aria-valuemax', String(max));
	track.setAttribute('aria-valuenow', String(value));
	track.setAttribute('aria-valuetext', words);
	bar.querySelector('.fill').style.width = pct(value, max) + '%';
	const m = bar.querySelector('.mark');
	m.hidden = mark === null;
	if (mark !== null)
		m.style.left = pct(mark, max) + '%';
	bar.querySelector('.words').textContent = words;
	bar.classList.toggle('warn', warn);
}

function makeRow(name) {
	const li = el('li', 'client');
	li.dataset.name = name;
	const head = el('div', 'head');
	head.appendChild(el('span', 'name', name));
	head.appendChild(el('span', 'room'));
	const threads = el('span', 'threads');
	threads.setAttribute('aria-label', 'two threads: reader and writer');
	threads.appendChild(el('span', 'thread', 'rd'));
	threads.appendChild(el('span', 'thread', 'wr'));
	head.appendChild(threads);
	li.appendChild(head);
	li.appendChild(makeBar('queue', 'queue'));
	li.appendChild(makeBar('budget', 'flood budget'));
	return li;
}

/* Draws one client (m: a member of /debug.json, or a ghost's entry). */
function drawRow(li, m, d, evicted) {
	li.querySelector('.room').textContent = m.room;
	li.dataset.bytes = String(m.bytes);
	li.dataset.budget = String(m.budget);
	li.classList.toggle('evicted', evicted);
	const soft = d.queue_soft > 0 ? d.queue_soft : null;
	setBar(li.querySelector('.queue'), m.bytes, d.queue_hard, soft,
	    evicted ? 'evicted with ' + kib(m.bytes) + ' (' + m.limit +
	    ' limit)' : kib(m.bytes) + ' of ' + kib(d.queue_hard) + ', ' +
	    m.lines + (m.lines === 1 ? ' line' : ' lines'),
	    soft !== null && m.bytes > soft);
	const b = li.querySelector('.budget');
	if (d.flood_rate === 0 || evicted) {
		setBar(b, 0, d.flood_burst, null, evicted ? '' : 'off', false);
		return;
	}
	const tokens = Math.max(0, m.budget);
	setBar(b, tokens, d.flood_burst, null, tokens.toFixed(1) + ' of ' +
	    d.flood_burst + ' lines', tokens < 1);
}

/* New evictions (not seen before) become ghosts if their client was
 * drawn, and join the list of the last few. */
function noteGone(d, now) {
	for (const g of d.evicted.slice().reverse()) {
		const at = now - g.age_ms;
		if (gone.some((k) => k.name === g.name &&
		    Math.abs(k.at - at) < 2000))
			continue;
		const entry = { name: g.name, room: g.room, at: at,
		    bytes: g.bytes, limit: g.limit, lines: 0, budget: 0 };
		gone.unshift(entry);
		if (rows.has(g.name))
			ghosts.set(g.name, { until: now + FLASH_MS, entry: entry });
	}
	gone = gone.slice(0, GONE_SHOWN);
}

function drawClients(d, now) {
	const list = $('clients');
	const live = new Set(d.members.map((m) => m.name));
	for (const [name, g] of ghosts)
		if (g.until < now || live.has(name))
			ghosts.delete(name);
	const shown = d.members.map((m) => ({ m: m, evicted: m.evicted }));
	for (const [, g] of ghosts)
		shown.push({ m: g.entry, evicted: true });
	shown.sort((a, b) => a.m.name.toLowerCase() < b.m.name.toLowerCase() ?
	    -1 : 1);
	const keep = new Set();
	for (const s of shown) {
		let li = rows.get(s.m.name);
		if (li === undefined) {
			li = makeRow(s.m.name);
			rows.set(s.m.name, li);
		}
		drawRow(li, s.m, d, s.evicted);
		list.appendChild(li);           /* in order: moves it */
		keep.add(s.m.name);
	}
	for (const [name, li] of rows)
		if (!keep.has(name)) {
			li.remove();
			rows.delete(name);
		}
	$('nobody').hidden = shown.length > 0;
}

function drawGone() {
	const list = $('gone');
	list.replaceChildren(...gone.map((g) => el('li', null, clock(g.at) +
	    ' ' + g.name + ' in ' + g.room + ': ' + kib(g.bytes) +
	    ' queued, over the ' + g.limit + ' limit')));
	$('none-gone').hidden = gone.length > 0;
}

function draw(d) {
	const now = Date.now();
	$('threads').textContent = d.threads + ' (' + d.members.length +
	    ' logged in × 2 = ' + 2 * d.members.length + ' of them readers ' +
	    'and writers)';
	$('sessions').textContent = String(d.sessions);
	$('evictions').textContent = String(d.evictions);
	$('limits').textContent = 'queue hard ' + kib(d.queue_hard) +
	    (d.queue_soft > 0 ? ', soft ' + kib(d.queue_soft) + ' for ' +
	    d.queue_soft_sec + ' s' : ', no soft limit') + '; flood ' +
	    (d.flood_rate > 0 ? 'burst ' + d.flood_burst + ', ' +
	    d.flood_rate + ' lines/s' : 'control off');
	noteGone(d, now);
	drawClients(d, now);
	drawGone();
	$('status').textContent = 'Updated ' + clock(now) + '.';
}

async function poll() {
	try {
		const r = await fetch('/debug.json', { cache: 'no-store' });
		if (!r.ok)
			throw new Error('HTTP ' + r.status);
		draw(await r.json());
	} catch (e) {
		$('status').textContent = 'Cannot ask the server (' + e.message +
		    '); trying again.';
	}
	setTimeout(poll, POLL_MS);
}

poll();

})();
