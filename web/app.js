/*
 * app.js - hubchat in the browser.
 *
 * The contract. The page speaks exactly the line protocol of
 * docs/PROTOCOL.md over one WebSocket to /ws on the page's own host: one
 * protocol line per text message, no newline, both ways. It assumes:
 *  - the server never echoes MSG or DM, so the page shows what its person
 *    sent itself;
 *  - the server answers one client's lines in order, so each command the
 *    page sends is followed by "PING q<N>": every reply line (OK, ERR,
 *    USERS, ROOMS, HIST) that comes before "PONG q<N>" answers that
 *    command (the terminal client fences its questions the same way);
 *  - everything else (MSG, DM, INFO) comes unasked and is shown as it is;
 *  - a session silent for 60 s is closed, so the page sends PING after 20
 *    quiet seconds.
 * Text from the network only ever reaches the page through textContent.
 * After a drop it reconnects with capped exponential backoff and jitter,
 * logs in with the same name and joins the same room again.
 */
'use strict';

(function () {

const HEARTBEAT_MS = 20000;
const RETRY_BASE_MS = 1000;
const RETRY_CAP_MS = 30000;
const LIST_REFRESH_MS = 1000;   /* at most one WHO and ROOMS a second */
const LOG_MAX = 2000;            /* entries kept in the message list */
const MSG_MAX_BYTES = 1020;      /* a line is 1024 bytes, "MSG " included */
const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
const NOTICE_RE = /^([A-Za-z][A-Za-z0-9_-]{0,31}) (joined|left|disconnected)$/;

const HELP = [
	'Typed lines go to everyone in your room. Commands:',
	'/join #ROOM — move to ROOM (made if new): its last messages come first',
	'/rooms — the rooms in use, and how many are in each',
	'/who [#ROOM] — who is in your room, or in ROOM',
	'/history [N] — your room\'s last N messages again (no N: all kept)',
	'/dm USER TEXT — a private message to USER, in any room',
	'/quit or !exit — leave',
	'/help — this list',
	'//TEXT — sends /TEXT: a line that starts with a slash',
	'Choosing a name under "People here" starts a private message.',
];

const CLOSE_WORDS = {
	1000: 'the connection was closed',
	1001: 'the server is shutting down',
	1002: 'the server saw a protocol error',
	1003: 'the server refused data it does not take',
	1005: 'the connection was closed without a reason',
	1006: 'the connection was lost',
	1007: 'the server refused text that is not UTF-8',
	1008: 'the server refused the connection by its policy',
	1009: 'a message was too big for the server',
	1011: 'the server hit an internal error',
	1013: 'the server is busy',
};

const $ = (id) => document.getElementById(id);
const ui = {
	status: $('status'), login: $('login'), loginForm: $('login-form'),
	name: $('name'), nameError: $('name-error'), chat: $('chat'),
	rooms: $('rooms'), joinForm: $('join-form'), room: $('room'),
	roomTitle: $('room-title'), log: $('log'), sayForm: $('say-form'),
	say: $('say'), users: $('users'),
};

const state = {
	ws: null,
	name: '',            /* the name to log in with, kept for reconnects */
	room: '#lobby',      /* the room we are in, or go back to */
	wanted: false,       /* the person wants to be in; false after /quit */
	loggedIn: false,
	everIn: false,       /* logged in once: a later login is a reconnect */
	attempt: 0,          /* reconnects tried since the last good login */
	retryAt: 0,
	retryTimer: null,
	pending: [],         /* fenced commands awaiting their PONG, oldest first */
	seq: 0,
	lastSend: 0,
	lastWords: '',       /* the server's last INFO/ERR before a close */
	listTimer: null,     /* a refresh of the people and rooms, due */
	seenHist: new Set(), /* HIST lines shown, not shown again on reconnect */
};

/* ---- Showing things ---------------------------------------------------- */

function el(tag, cls, text) {
	const e = document.createElement(tag);
	if (cls)
		e.className = cls;
	if (text !== undefined)
		e.textContent = text;
	return e;
}

function clock(d) {
	const t = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit',
	    second: '2-digit' });
	if (d.toDateString() === new Date().toDateString())
		return t;
	return d.toLocaleDateString([], { month: 'short', day: 'numeric' }) +
	    ' ' + t;
}

/* Appends one entry to the message list: kind is its class (msg, own, dm,
 * notice, info, error, hist), parts its from/text; returns the entry. */
function addEntry(kind, parts, when) {
	const d = when || new Date();
	const li = el('li', 'entry ' + kind);
	const time = el('time', 'when', clock(d));
	time.dateTime = d.toISOString();
	li.append(time);
	if (parts.tag)
		li.append(el('span', 'tag', parts.tag));
	if (parts.from)
		li.append(el('span', 'from', parts.from));
	li.append(el('span', 'text', parts.text));
	const atEnd = ui.log.scrollHeight - ui.log.scrollTop -
	    ui.log.clientHeight < 40;
	ui.log.append(li);
	while (ui.log.childElementCount > LOG_MAX)
		ui.log.firstElementChild.remove();
	if (atEnd)
		ui.log.scrollTop = ui.log.scrollHeight;
	return li;
}

const notice = (text) => addEntry('notice', { text: text });
const info = (text) => addEntry('info', { text: text });
const problem = (text) => addEntry('error', { text: text });

function setStatus(text) {
	ui.status.textContent = text;
}

/* "ERR code words" -> "words" (or the code when there are none). */
function errWords(line) {
	const rest = line.slice(4);
	const sp = rest.indexOf(' ');
	return sp < 0 ? rest : rest.slice(sp + 1);
}

function errCode(line) {
	return line.slice(4).split(' ', 1)[0];
}

/* An error for a person: "ERR no-such-user bob" names the user alone. */
function errSentence(line) {
	if (errCode(line) === 'no-such-user')
		return 'nobody is called ' + errWords(line) + '.';
	return errWords(line);
}

function showHist(line) {
	const m = /^HIST (\S+) (\S+) (.*)$/.exec(line);
	if (m === null)
		return info(line);
	const when = new Date(m[1]);
	return addEntry('hist', { tag: 'history', from: m[2], text: m[3] },
	    isNaN(when) ? undefined : when);
}

function showUsers(names, room) {
	ui.users.replaceChildren();
	for (const n of names) {
		const b = el('button', 'user', n);
		b.type = 'button';
		b.setAttribute('aria-label', 'Private message to ' + n);
		if (n.toLowerCase() === state.name.toLowerCase())
			b.classList.add('me');
		b.addEventListener('click', () => startDm(n));
		const li = el('li');
		li.append(b);
		ui.users.append(li);
	}
	$('users-title').textContent = 'People in ' + room + ' (' +
	    names.length + ')';
}

function showRooms(pairs) {
	ui.rooms.replaceChildren();
	for (const [name, count] of pairs) {
		const b = el('button', 'room', name + ' (' + count + ')');
		b.type = 'button';
		if (sameRoom(name, state.room))
			b.setAttribute('aria-current', 'true');
		b.addEventListener('click', () => join(name));
		const li = el('li');
		li.append(b);
		ui.rooms.append(li);
	}
}

/* Room names are one room in any letter case. */
function sameRoom(a, b) {
	return a.toLowerCase() === b.toLowerCase();
}

/* "ROOMS #a 1 #b 2" -> [["#a", "1"], ["#b", "2"]] */
function parseRooms(line) {
	const w = line.split(' ').slice(1);
	const pairs = [];
	for (let i = 0; i + 1 < w.length; i += 2)
		pairs.push([w[i], w[i + 1]]);
	return pairs;
}

/* ---- Sending ----------------------------------------------------------- */

function connected() {
	return state.ws !== null && state.ws.readyState === WebSocket.OPEN;
}

function send(line) {
	state.ws.send(line);
	state.lastSend = Date.now();
}

/* Sends line, then its fence; the replies before the fence's PONG go to
 * the handler of kind (see REPLIES). Returns the pending record. */
function ask(line, kind, extra) {
	const p = Object.assign({ token: 'q' + (++state.seq), kind: kind,
	    answered: false }, extra);
	send(line);
	send('PING ' + p.token);
	state.pending.push(p);
	return p;
}

function notConnected() {
	const wait = Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000));
	problem('Not sent: not connected' + (state.retryTimer ?
	    '; reconnecting in ' + wait + ' s.' : '.'));
	return false;
}

function byteLength(s) {
	return new TextEncoder().encode(s).length;
}

/* Sends a message to the room and shows it as sent. */
function say(text) {
	if (!state.loggedIn)
		return notConnected();
	const n = byteLength(text);
	if (n > MSG_MAX_BYTES) {
		problem('Not sent: a message may hold ' + MSG_MAX_BYTES +
		    ' bytes; this one has ' + n + '.');
		return false;
	}
	const li = addEntry('own', { from: state.name, text: text });
	ask('MSG ' + text, 'send', { node: li });
	return true;
}

function dm(args) {
	const m = /^([^ ]+) (.+)$/.exec(args);
	if (m === null) {
		problem('Usage: /dm USER TEXT');
		return false;
	}
	if (!state.loggedIn)
		return notConnected();
	const li = addEntry('own dm', { tag: 'private', from: 'you → ' + m[1],
	    text: m[2] });
	ask('DM ' + m[1] + ' ' + m[2], 'send', { node: li });
	return true;
}

function startDm(name) {
	ui.say.value = '/dm ' + name + ' ';
	ui.say.focus();
}

function join(room) {
	if (!/^#[A-Za-z0-9_-]{1,32}$/.test(room)) {
		problem(room === '' ? 'Usage: /join #ROOM' :
		    'Rooms are # and 1-32 characters: letters, digits, _ or -.');
		return false;
	}
	if (!state.loggedIn)
		return notConnected();
	ask('JOIN ' + room, 'join', { room: room });
	return true;
}

/* Asks who is here and which rooms are in use: at once after a move, and
 * at most once a second after notices, so that a crowd coming and going
 * costs little of our flood budget. */
function refreshLists(soon) {
	const ask2 = () => {
		state.listTimer = null;
		if (!state.loggedIn)
			return;
		ask('WHO ' + state.room, 'who', { room: state.room });
		ask('ROOMS', 'rooms', {});
	};
	if (!soon)
		return ask2();
	if (state.listTimer === null)
		state.listTimer = setTimeout(ask2, LIST_REFRESH_MS);
}

function quit() {
	state.wanted = false;
	cancelRetry();
	if (connected())
		send('QUIT');
	else
		backToLogin('You left.');
}

/* ---- What the person types --------------------------------------------- */

function who(arg) {
	if (arg !== '' && !/^#[A-Za-z0-9_-]{1,32}$/.test(arg)) {
		problem('Usage: /who [#ROOM]');
		return false;
	}
	if (!state.loggedIn)
		return notConnected();
	ask(arg ? 'WHO ' + arg : 'WHO', 'who', { room: arg || state.room,
	    show: true });
	return true;
}

function rooms(arg) {
	if (arg !== '') {
		problem('Usage: /rooms');
		return false;
	}
	if (!state.loggedIn)
		return notConnected();
	ask('ROOMS', 'rooms', { show: true });
	return true;
}

function history(arg) {
	if (!/^([1-9][0-9]*)?$/.test(arg)) {
		problem('Usage: /history [N], N a whole number from 1');
		return false;
	}
	if (!state.loggedIn)
		return notConnected();
	ask(arg ? 'HISTORY ' + arg : 'HISTORY', 'history', { count: 0 });
	return true;
}

function help() {
	HELP.forEach((l) => info(l));
	return true;
}

/* The commands that take at most one word, as ./client has them. */
const COMMANDS = {
	'/join': join, '/who': who, '/rooms': rooms, '/history': history,
	'/help': help,
};

/* One typed line; returns whether it was taken (so the input is cleared). */
function typed(line) {
	if (line === '')
		return false;
	if (line === '/quit' || line === '!exit')
		return (quit(), true);
	if (line.startsWith('//'))
		return say(line.slice(1));
	if (line === '/dm' || line.startsWith('/dm '))
		return dm(line.slice(4));
	if (!line.startsWith('/'))
		return say(line);
	const sp = line.indexOf(' ');
	const word = sp < 0 ? line : line.slice(0, sp);
	const arg = sp < 0 ? '' : line.slice(sp + 1).trim();
	if (Object.hasOwn(COMMANDS, word))
		return COMMANDS[word](arg);
	problem('Unknown command ' + word.slice(0, 40) +
	    '; /help lists them (// sends a line starting with /).');
	return false;
}

/* ---- Replies to our commands ------------------------------------------- */

/* Each handler gets the pending record and one reply line. */
const REPLIES = {
	login(p, line) {
		if (line.startsWith('OK'))
			loggedIn(p);
		else if (line.startsWith('ERR '))
			loginRefused(line);
		else if (line.startsWith('HIST ') && !p.skipHist)
			histOnce(line, p.reconnect);
	},
	join(p, line) {
		if (line === 'OK')
			moved(p.room, p.rejoin);
		else if (line.startsWith('HIST '))
			histOnce(line, p.rejoin);
		else if (line.startsWith('ERR '))
			problem('Could not join ' + p.room + ': ' + errWords(line));
	},
	who(p, line) {
		if (line.startsWith('USERS')) {
			const names = line.split(' ').slice(1);
			if (sameRoom(p.room, state.room))
				showUsers(names, p.room);
			if (p.show)
				info(names.length === 0 ? 'Nobody is in ' + p.room + '.' :
				    'In ' + p.room + ': ' + names.join(', '));
		} else if (line.startsWith('ERR ')) {
			problem(errWords(line));
		}
	},
	rooms(p, line) {
		if (!line.startsWith('ROOMS'))
			return line.startsWith('ERR ') && problem(errWords(line));
		const pairs = parseRooms(line);
		showRooms(pairs);
		if (p.show)
			info('Rooms: ' + pairs.map(([r, n]) => r + ' (' + n + ')')
			    .join(', '));
	},
	history(p, line) {
		if (line.startsWith('HIST ')) {
			p.count++;
			showHist(line);
		} else if (line.startsWith('ERR ')) {
			problem(errWords(line));
			p.count = -1;
		}
	},
	send(p, line) {
		if (!line.startsWith('ERR '))
			return;
		p.node.classList.add('refused');
		p.node.append(el('span', 'why', 'Not sent: ' + errSentence(line)));
	},
};

/* The lines that answer a command; anything else comes unasked. */
const REPLY_VERBS = ['OK', 'ERR', 'USERS', 'ROOMS', 'HIST'];

/* The fence of the oldest command came back: it has had all its replies. */
function fenced(p) {
	if (p.kind === 'history' && p.count === 0)
		info('No messages kept in ' + state.room + '.');
}

function histOnce(line, dedupe) {
	if (dedupe && state.seenHist.has(line))
		return;
	state.seenHist.add(line);
	showHist(line);
}

/* ---- Logging in, rooms, reconnecting ----------------------------------- */

function loggedIn(p) {
	const wasReconnect = p.reconnect;
	state.loggedIn = true;
	state.everIn = true;
	state.attempt = 0;
	ui.login.hidden = true;
	ui.chat.hidden = false;
	if (wasReconnect)
		notice('Reconnected as ' + state.name + '.');
	if (wasReconnect && state.room !== '#lobby')
		ask('JOIN ' + state.room, 'join', { room: state.room, rejoin: true });
	else
		moved('#lobby', wasReconnect);
	if (!wasReconnect)
		ui.say.focus();
}

function moved(room, back) {
	state.room = room;
	ui.roomTitle.textContent = room;
	notice((back ? 'Back in ' : 'You are in ') + room + '.');
	setStatus('Connected as ' + state.name + ', in ' + room + '.');
	refreshLists(false);
}

function loginRefused(line) {
	const ws = state.ws;
	state.ws = null;        /* its close event is ours, not news */
	state.pending = [];
	ws.close(1000);
	if (state.everIn && errCode(line) === 'username-taken') {
		/* Our old session may not have ended yet on the server. */
		scheduleRetry('the name ' + state.name + ' is still held by ' +
		    'the old connection');
		return;
	}
	state.wanted = false;
	backToLogin('Not connected.');
	const words = errWords(line);
	ui.nameError.textContent = words.charAt(0).toUpperCase() +
	    words.slice(1) + '.';
	ui.name.setAttribute('aria-invalid', 'true');
	ui.name.focus();
}

function backToLogin(why) {
	state.loggedIn = false;
	state.everIn = false;
	state.room = '#lobby';
	ui.chat.hidden = true;
	ui.login.hidden = false;
	ui.name.value = state.name;
	if (why !== null)
		setStatus(why);
}

function connect(reconnect) {
	const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
	const ws = new WebSocket(scheme + '//' + location.host + '/ws');
	state.ws = ws;
	state.lastWords = '';
	setStatus(reconnect ? 'Reconnecting…' : 'Connecting…');
	ws.addEventListener('open', () => {
		if (ws === state.ws)
			ask('LOGIN ' + state.name, 'login', { reconnect: reconnect,
			    skipHist: reconnect && state.room !== '#lobby' });
	});
	ws.addEventListener('message', (ev) => {
		if (ws === state.ws)
			line(String(ev.data));
	});
	ws.addEventListener('close', (ev) => {
		if (ws === state.ws)
			closed(ev.code);
	});
}

function closeWords(code) {
	const why = state.lastWords || CLOSE_WORDS[code] ||
	    'the connection closed';
	return why + ' (code ' + code + ')';
}

function closed(code) {
	const wasIn = state.loggedIn;
	state.ws = null;
	state.loggedIn = false;
	state.pending = [];
	if (!state.wanted) {
		backToLogin(state.everIn ? 'You left. Enter a name to come ' +
		    'back.' : 'Not connected.');
		return;
	}
	if (!state.everIn) {
		state.wanted = false;
		backToLogin('Not connected.');
		ui.nameError.textContent = 'Could not log in: ' +
		    closeWords(code) + '.';
		return;
	}
	if (wasIn)
		notice('Disconnected: ' + closeWords(code) + '.');
	scheduleRetry(closeWords(code));
}

/* Capped exponential backoff with jitter: the nth retry waits between
 * half and all of min(cap, base * 2^n), so a restarted server is not met
 * by every page at the same moment. */
function retryDelay(attempt) {
	const ceiling = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt);
	return ceiling / 2 + Math.random() * ceiling / 2;
}

function scheduleRetry(why) {
	const delay = retryDelay(state.attempt++);
	state.retryAt = Date.now() + delay;
	setStatus('Disconnected: ' + why + '. Reconnecting in ' +
	    Math.ceil(delay / 1000) + ' s (attempt ' + state.attempt + ')…');
	state.retryTimer = setTimeout(retryNow, delay);
}

function retryNow() {
	cancelRetry();
	if (state.wanted && state.ws === null)
		connect(true);
}

function cancelRetry() {
	clearTimeout(state.retryTimer);
	state.retryTimer = null;
}

/* ---- Lines from the server --------------------------------------------- */

function line(l) {
	const verb = l.split(' ', 1)[0];
	if (verb === 'PONG')
		return pong(l);
	const p = state.pending[0];
	if (p !== undefined && REPLY_VERBS.includes(verb) &&
	    !l.startsWith('ERR slow-consumer'))
		return REPLIES[p.kind](p, l);
	if (verb === 'MSG')
		return chatLine(l);
	if (verb === 'DM')
		return dmLine(l);
	if (verb === 'INFO')
		return infoLine(l.slice(5));
	if (verb === 'ERR')
		return unaskedError(l);
	if (verb === 'HIST')
		return showHist(l);
	info(l);
}

function pong(l) {
	const p = state.pending[0];
	if (p !== undefined && l === 'PONG ' + p.token) {
		state.pending.shift();
		fenced(p);
	}
}

function chatLine(l) {
	const m = /^MSG (\S+) (.*)$/.exec(l);
	if (m !== null)
		addEntry('msg', { from: m[1], text: m[2] });
}

function dmLine(l) {
	const m = /^DM (\S+) (.*)$/.exec(l);
	if (m !== null)
		addEntry('dm', { tag: 'private', from: m[1] + ' → you',
		    text: m[2] });
}

function infoLine(text) {
	const m = NOTICE_RE.exec(text);
	if (m !== null) {
		notice(m[1] + ' ' + (m[2] === 'left' ? 'left the room' : m[2]) +
		    '.');
		return refreshLists(true);
	}
	if (text.startsWith('welcome to hubchat'))
		return;
	if (text === 'server shutting down' || text.startsWith('disconnected'))
		state.lastWords = text === 'server shutting down' ?
		    'the server is shutting down' : text;
	if (text === 'bye')
		return notice('You left the chat.');
	info(text);
}

function unaskedError(l) {
	state.lastWords = errWords(l);
	problem(errWords(l));
}

/* ---- Wiring ------------------------------------------------------------ */

function onLogin(ev) {
	ev.preventDefault();
	const name = ui.name.value.trim();
	ui.nameError.textContent = '';
	ui.name.removeAttribute('aria-invalid');
	if (!NAME_RE.test(name)) {
		ui.nameError.textContent = name === '' ? 'Type a name first.' :
		    'Names are 1-32 characters: a letter, then letters, ' +
		    'digits, _ or -.';
		ui.name.setAttribute('aria-invalid', 'true');
		return;
	}
	if (state.ws !== null)
		return;
	state.name = name;
	state.wanted = true;
	state.everIn = false;
	connect(false);
}

function onSay(ev) {
	ev.preventDefault();
	if (typed(ui.say.value))
		ui.say.value = '';
}

function onJoin(ev) {
	ev.preventDefault();
	let room = ui.room.value.trim();
	if (room !== '' && !room.startsWith('#'))
		room = '#' + room;
	if (join(room))
		ui.room.value = '';
}

function heartbeat() {
	if (state.loggedIn && Date.now() - state.lastSend >= HEARTBEAT_MS)
		send('PING');
}

ui.loginForm.addEventListener('submit', onLogin);
ui.sayForm.addEventListener('submit', onSay);
ui.joinForm.addEventListener('submit', onJoin);
window.addEventListener('online', () => {
	if (state.retryTimer !== null)
		retryNow();
});
setInterval(heartbeat, 2000);
ui.name.focus();

}());
