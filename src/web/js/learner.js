// learner.js — "My privacy": the page of a student, or of a guardian acting
// for one learner. Every section reads the learner's door (/learner/...) of
// the session's learner; every number shown is what the API returned.
// Untrusted text (statements, policy texts, log entries) only ever goes into
// text nodes (dom.js el), never into HTML.

import {initPage, get, post, del, download, errorText, logout} from './api.js';
import {el, replace, setStatus, table, field, downloadBlob, fmtTime, fmtDate, fmtNumber, fmtPercent,
	fmtDuration, uid} from './dom.js';
import {chart} from './chart.js';
import {parseCheckpoint, verifyInclusion} from './merkle.js';

const PAGE_LIMIT = 100;       // statements per request
const MAX_LOADED = 5000;      // "load all" stops here: the page stays responsive
const ACCESS_SHOWN_STEP = 50; // access-report entries rendered per "show more"

let session = null;
const isGuardian = () => session && session.role === 'guardian';
const mine = (you, them) => (isGuardian() ? them : you);

// ---------------------------------------------------------------- helpers

function langMap(m) {
	// xAPI language maps: prefer the page's language, then en, then any.
	if (!m || typeof m !== 'object')
		return '';
	const want = [navigator.language, 'en-US', 'en-GB', 'en', 'und'];
	for (const k of want) {
		if (typeof m[k] === 'string')
			return m[k];
	}
	const first = Object.values(m).find((v) => typeof v === 'string');
	return first || '';
}

function lastSegment(iri) {
	const s = String(iri ?? '');
	const m = /[/#]([^/#]+)\/?$/.exec(s);
	return m ? m[1] : s;
}

function verbName(st) {
	const v = st && st.verb;
	return (v && (langMap(v.display) || lastSegment(v.id))) || '';
}

function activityName(st) {
	const o = st && st.object;
	if (!o)
		return '';
	if (o.definition && o.definition.name)
		return langMap(o.definition.name);
	return '';
}

function activityId(st) {
	const o = st && st.object;
	return o && typeof o.id === 'string' ? o.id : (o && o.objectType) || '';
}

function isoDuration(d) {
	// PT19M -> "19 min"; anything unusual is shown as sent.
	const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(String(d));
	if (!m)
		return String(d);
	const parts = [];
	if (m[1]) parts.push(m[1] + ' d');
	if (m[2]) parts.push(m[2] + ' h');
	if (m[3]) parts.push(m[3] + ' min');
	if (m[4]) parts.push(Math.round(Number(m[4])) + ' s');
	return parts.length ? parts.join(' ') : String(d);
}

function resultText(st) {
	const r = st && st.result;
	if (!r || typeof r !== 'object')
		return '';
	const parts = [];
	if (r.score && typeof r.score.scaled === 'number')
		parts.push('score ' + fmtPercent(r.score.scaled));
	else if (r.score && typeof r.score.raw === 'number')
		parts.push('score ' + fmtNumber(r.score.raw) + (typeof r.score.max === 'number' ? ' of ' + fmtNumber(r.score.max) : ''));
	if (r.success === true) parts.push('passed');
	if (r.success === false) parts.push('not passed');
	if (r.completion === true) parts.push('completed');
	if (r.completion === false) parts.push('not completed');
	if (typeof r.duration === 'string') parts.push(isoDuration(r.duration));
	if (typeof r.response === 'string') parts.push('answer: ' + r.response);
	return parts.join(', ');
}

function stTime(st) {
	return (st && (st.timestamp || st.stored)) || '';
}

// The calendar day of a record in the browser's time zone (as the table
// shows times), "YYYY-MM-DD": what the date filters and the timeline use.
function localDay(v) {
	const d = new Date(String(v));
	if (Number.isNaN(d.getTime()))
		return '';
	const p2 = (n) => String(n).padStart(2, '0');
	return d.getFullYear() + '-' + p2(d.getMonth() + 1) + '-' + p2(d.getDate());
}

function sectionError(body, err, retry) {
	replace(body, el('p', {class: 'notice notice-error', role: 'alert'}, errorText(err)),
		retry ? el('button', {type: 'button', class: 'btn', on: {click: retry}}, 'Try again') : null);
}

function busy(button, on) {
	button.disabled = on;
	if (on) button.setAttribute('aria-busy', 'true');
	else button.removeAttribute('aria-busy');
}

// ---------------------------------------------------------------- My records

const records = {all: [], more: '', loading: false};

function recordFilters() {
	const verb = el('select', {'data-testid': 'filter-verb'}, el('option', {value: ''}, 'Any'));
	const q = el('input', {type: 'search', 'data-testid': 'filter-activity', autocomplete: 'off'});
	const from = el('input', {type: 'date', 'data-testid': 'filter-from'});
	const to = el('input', {type: 'date', 'data-testid': 'filter-to'});
	const form = el('form', {class: 'inline-fields', role: 'search', 'aria-label': 'Filter my records',
		on: {submit: (e) => e.preventDefault()}},
	field('What was done (verb)', verb), field('Activity name or id contains', q),
	field('From (date)', from), field('To (date)', to));
	for (const c of [verb, q, from, to])
		c.addEventListener(c === q ? 'input' : 'change', renderRecords);
	return {form, verb, q, from, to};
}

let rf = null;

function filtered() {
	const verb = rf.verb.value, q = rf.q.value.trim().toLowerCase();
	const from = rf.from.value, to = rf.to.value;
	return records.all.filter((st) => {
		if (verb && (st.verb && st.verb.id) !== verb)
			return false;
		if (q && !(activityName(st).toLowerCase().includes(q) || activityId(st).toLowerCase().includes(q)))
			return false;
		const day = localDay(stTime(st));
		if (from && (!day || day < from))
			return false;
		if (to && (!day || day > to))
			return false;
		return true;
	});
}

function refreshVerbOptions() {
	const seen = new Map();
	for (const st of records.all) {
		if (st.verb && typeof st.verb.id === 'string' && !seen.has(st.verb.id))
			seen.set(st.verb.id, verbName(st));
	}
	const keep = rf.verb.value;
	replace(rf.verb, el('option', {value: ''}, 'Any'),
		[...seen.entries()].sort((a, b) => a[1].localeCompare(b[1]))
			.map(([id, name]) => el('option', {value: id}, name)));
	rf.verb.value = seen.has(keep) ? keep : '';
}

function timeline(rows) {
	// Per-day counts; over more than 31 active days, per month (so the chart
	// stays readable at 320 px). The table beside it has the same numbers.
	const perDay = new Map();
	for (const st of rows) {
		const d = localDay(stTime(st));
		if (d)
			perDay.set(d, (perDay.get(d) || 0) + 1);
	}
	let unit = 'Day';
	let counts = perDay;
	if (perDay.size > 31) {
		unit = 'Month';
		counts = new Map();
		for (const [d, n] of perDay)
			counts.set(d.slice(0, 7), (counts.get(d.slice(0, 7)) || 0) + n);
	}
	const data = [...counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([label, value]) => ({label, value}));
	if (!data.length)
		return el('p', {class: 'muted'}, 'No dated records to draw.');
	return chart({title: 'Activity timeline: records per ' + unit.toLowerCase() + ', of the records shown',
		data, xLabel: unit, yLabel: 'Records', format: (v) => fmtNumber(v), testid: 'records-timeline'});
}

function renderRecords() {
	const rows = filtered();
	replace(document.getElementById('records-count'),
		'Showing ' + fmtNumber(rows.length) + ' of ' + fmtNumber(records.all.length) + ' records loaded' +
		(records.more ? ' (more can be loaded)' : ' (all of them)') + '.');
	replace(document.getElementById('records-timeline-slot'), timeline(rows));
	replace(document.getElementById('records-table-slot'), table({
		caption: 'My records (filtered)',
		testid: 'records-table',
		empty: records.all.length ? 'No record matches the filters.' : 'No records yet.',
		columns: [
			{label: 'Time', value: (st) => fmtTime(stTime(st))},
			{label: 'What was done', value: (st) => verbName(st)},
			{label: 'Activity', value: (st) => el('span', null, activityName(st) || '(no name)',
				el('br'), el('span', {class: 'mono muted'}, activityId(st)))},
			{label: 'Result', value: (st) => resultText(st)},
		],
		rows,
	}));
	const moreBtns = document.querySelectorAll('[data-records-more]');
	for (const b of moreBtns)
		b.hidden = !records.more;
}

async function loadPage() {
	// The API's own cursor link: only ever a /learner/statements URL.
	const url = records.more || '/learner/statements?limit=' + PAGE_LIMIT;
	if (!/^\/learner\/statements\?[A-Za-z0-9=&]*$/.test(url))
		throw new Error('unexpected paging link from the server');
	const page = await get(url);
	const list = Array.isArray(page && page.statements) ? page.statements : [];
	records.all.push(...list);
	records.more = page && typeof page.more === 'string' ? page.more : '';
	return list.length;
}

async function loadRecords(all, button) {
	if (records.loading)
		return;
	records.loading = true;
	if (button) busy(button, true);
	try {
		let n = await loadPage();
		while (all && records.more && records.all.length < MAX_LOADED)
			n += await loadPage();
		refreshVerbOptions();
		renderRecords();
		setStatus('Loaded ' + fmtNumber(n) + ' more records (' + fmtNumber(records.all.length) + ' in all).', 'ok');
	} catch (e) {
		setStatus('Could not load records: ' + errorText(e), 'error');
	} finally {
		records.loading = false;
		if (button) busy(button, false);
	}
}

async function initRecords() {
	const body = document.getElementById('records-body');
	rf = recordFilters();
	const more = el('button', {type: 'button', class: 'btn', 'data-records-more': '', 'data-testid': 'records-more',
		on: {click: (e) => loadRecords(false, e.currentTarget)}}, 'Load more records');
	const all = el('button', {type: 'button', class: 'btn', 'data-records-more': '', 'data-testid': 'records-all',
		on: {click: (e) => loadRecords(true, e.currentTarget)}}, 'Load all (up to ' + fmtNumber(MAX_LOADED) + ')');
	replace(body, rf.form,
		el('p', {id: 'records-count', 'aria-live': 'polite', 'data-testid': 'records-count'}),
		el('div', {id: 'records-timeline-slot'}),
		el('div', {id: 'records-table-slot'}),
		el('div', {class: 'row'}, more, all),
		el('p', {class: 'hint'}, 'Filters apply to the records loaded on this page.'));
	try {
		await loadPage();
		refreshVerbOptions();
		renderRecords();
	} catch (e) {
		sectionError(body, e, initRecords);
	}
}

// ---------------------------------------------------------------- My choices

const EVENT_WORDS = {
	ConsentGiven: 'Yes',
	RenewedConsentGiven: 'Yes (renewed)',
	ConsentRefused: 'No',
	ConsentWithdrawn: 'Withdrawn',
	ConsentExpired: 'Expired',
};
const YES = new Set(['ConsentGiven', 'RenewedConsentGiven']);

function newestPolicies(list) {
	const byId = new Map();
	for (const p of Array.isArray(list) ? list : []) {
		if (!p || typeof p.id !== 'string')
			continue;
		const cur = byId.get(p.id);
		if (!cur || p.version > cur.version)
			byId.set(p.id, p);
	}
	return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}

function latestEvents(consents) {
	// Events come in ledger order (oldest first): the last one per policy is current.
	const out = new Map();
	for (const e of (consents && Array.isArray(consents.events)) ? consents.events : [])
		out.set(e.policy_id, e);
	return out;
}

function paragraphs(textValue) {
	return String(textValue ?? '').split('\n').filter((s) => s.trim()).map((s) => el('p', {class: 'pre-wrap'}, s));
}

function plainList(items, map = (x) => x) {
	const arr = Array.isArray(items) ? items : [];
	if (!arr.length)
		return el('span', {class: 'muted'}, 'none');
	return el('ul', null, arr.map((x) => el('li', null, map(x))));
}

function policyFacts(pol) {
	const c = pol.controller || {};
	const d = pol.data || {};
	const contact = typeof c.contact === 'string' ? c.contact : '';
	return el('dl', {class: 'kv'},
		el('dt', null, 'Who is asking'),
		el('dd', null, c.name || '', contact ? el('br') : null,
			contact ? (/^mailto:/.test(contact) ? el('a', {href: contact}, contact.slice(7)) : contact) : null,
			c.address ? el('br') : null, c.address || null),
		el('dt', null, 'Why'),
		el('dd', null, paragraphs(pol.description),
			el('p', {class: 'muted'}, 'Purpose: ', el('span', {class: 'mono'}, pol.purpose || ''),
				pol.legal_basis ? ' · legal basis: ' + pol.legal_basis : '')),
		el('dt', null, 'What data'),
		el('dd', null,
			el('p', null, 'Kinds of activity: ', (d.verbs || []).map(lastSegment).join(', ') || 'none'),
			el('p', null, 'Types of activity: ', (d.activity_types || []).map(lastSegment).join(', ') || 'none'),
			el('p', null, 'Results used: ', (d.result_fields || []).join(', ') || 'none'),
			el('p', null, 'Used for: ', (pol.operations || []).join(', ') || 'nothing'),
			pol.privacy ? el('p', null, 'Only for groups of at least ' + fmtNumber(pol.privacy.min_cohort) +
				' students, with random noise added (differential privacy; at most ε ' +
				fmtNumber(pol.privacy.epsilon_budget) + ' per ' + fmtDuration(pol.privacy.budget_window_days) + ').') : null),
		el('dt', null, 'Who receives results'),
		el('dd', null, plainList(pol.recipients)),
		el('dt', null, 'How long'),
		el('dd', null,
			typeof pol.retention_days === 'number' ? 'Kept for ' + fmtDuration(pol.retention_days) + '. ' : '',
			typeof pol.consent_valid_days === 'number' ? 'A yes lasts ' + fmtDuration(pol.consent_valid_days) +
				', then you are asked again.' : ''),
		el('dt', null, 'Who decides'),
		el('dd', null, typeof pol.guardian_below_age === 'number'
			? 'Below age ' + pol.guardian_below_age + ', a parent or guardian decides; from that age on, only the student does.'
			: 'The student decides.'),
		el('dt', null, 'How to withdraw'),
		el('dd', null, paragraphs(pol.withdrawal)));
}

function currentText(ev, status) {
	if (!ev)
		return 'Not decided yet. Nothing is used for this purpose until ' + mine('you say', 'you or they say') + ' yes.';
	const who = ev.actor_role === 'guardian' ? ' by a parent or guardian' : ev.actor_role === 'learner' ? ' by the student' : '';
	let t = (EVENT_WORDS[ev.event] || ev.event) + who + ', on ' + fmtDate(ev.time) + ' (version ' + ev.policy_version + ')';
	if (YES.has(ev.event) && ev.valid_until)
		t += ', valid until ' + fmtDate(ev.valid_until);
	t += '.';
	if (status)
		t += ' Used now: ' + (status.allowed ? 'yes' : 'no') + ' (' + status.reason + ').';
	return t;
}

async function decide(p, action, button) {
	const title = (p.policy && p.policy.title) || p.id;
	busy(button, true);
	try {
		if (action === 'withdraw')
			await del('/learner/consents/' + encodeURIComponent(p.id));
		else
			await post('/learner/consents', {policy: p.id, version: p.version, decision: action});
		const said = action === 'give' ? 'Yes recorded' : action === 'refuse' ? 'No recorded' : 'Withdrawal recorded';
		setStatus(said + ' for “' + title + '”. It is written to the log.', 'ok');
		await initChoices();
		const again = document.querySelector('[data-policy-card="' + CSS.escape(p.id) + '"] h3');
		if (again) again.focus();
		refreshAccessSoon();
	} catch (e) {
		setStatus('Could not record your choice for “' + title + '”: ' + errorText(e), 'error');
		busy(button, false);
	}
}

function policyCard(p, ev, status) {
	const pol = p.policy || {};
	const title = pol.title || p.id;
	const hid = uid('pol');
	const stale = ev && YES.has(ev.event) && ev.policy_version < p.version;
	const canWithdraw = ev && YES.has(ev.event);
	const btn = (action, label) => el('button', {type: 'button', class: 'btn', 'data-testid': 'consent-' + action,
		'data-policy': p.id, on: {click: (e) => decide(p, action, e.currentTarget)}}, label);
	// Withdraw stays as prominent and as reachable as the other two; with no
	// yes on record it says so instead of calling the server.
	const withdraw = canWithdraw ? btn('withdraw', mine('Withdraw my yes', 'Withdraw the yes'))
		: el('button', {type: 'button', class: 'btn', 'data-testid': 'consent-withdraw', 'data-policy': p.id,
			on: {click: () => setStatus('Nothing to withdraw for “' + title + '”: there is no yes on record.', 'info')}},
		mine('Withdraw my yes', 'Withdraw the yes'));
	return el('article', {class: 'card', 'aria-labelledby': hid, 'data-policy-card': p.id, 'data-testid': 'policy-card'},
		el('h3', {id: hid, tabindex: -1}, title),
		el('p', {class: 'muted'}, 'Version ' + p.version + ' · id ', el('span', {class: 'mono'}, p.id)),
		stale ? el('p', {class: 'notice notice-warn', 'data-testid': 'reconsent'},
			'This purpose has changed since ' + mine('you', 'you or they') + ' said yes (version ' + ev.policy_version +
			' → ' + p.version + '). The earlier yes does not count for the new version: please read it and choose again.') : null,
		ev && ev.event === 'ConsentExpired' ? el('p', {class: 'notice notice-warn', 'data-testid': 'reconsent'},
			'The earlier yes has run out (a yes lasts a limited time). Nothing is used until ' + mine('you', 'you or they') +
			' choose again.') : null,
		el('p', {'data-testid': 'consent-current'}, el('strong', null, 'Current choice: '), currentText(ev, status)),
		el('h4', null, 'What this means, in plain words'),
		policyFacts(pol),
		el('div', {class: 'choices', role: 'group', 'aria-label': mine('Your choice for ', 'Your choice, for them, for ') + title},
			btn('give', mine('Yes, I agree', 'Yes, I agree for them')),
			btn('refuse', mine('No, I do not agree', 'No, I do not agree for them')), withdraw),
		el('p', {class: 'hint'}, 'All three are recorded in the same way and can be changed at any time.'));
}

async function initChoices() {
	const body = document.getElementById('choices-body');
	try {
		const [pols, consents] = await Promise.all([get('/policies'), get('/learner/consents')]);
		const latest = latestEvents(consents);
		const status = (consents && consents.status) || {};
		const list = newestPolicies(pols);
		replace(body,
			el('p', null, isGuardian()
				? 'You are making these choices as the parent or guardian of learner ' + session.learner +
				  '. Below the age each purpose names, only you decide for them; once they reach it, only their own choice counts.'
				: 'For each purpose below you decide yes or no. Nothing is chosen for you: nothing is used until you say yes.'),
			list.length ? list.map((p) => policyCard(p, latest.get(p.id), status[p.id]))
				: el('p', {class: 'muted'}, 'No purposes are set up on this server, so nothing asks to use your data.'));
	} catch (e) {
		sectionError(body, e, initChoices);
	}
}

// ------------------------------------------------------- Who used my data

const ROLE_WORDS = {provider: 'a learning app', analyst: 'a school analyst', auditor: 'an auditor',
	admin: 'an administrator', system: 'the system', operator: 'the server operator'};

// Who a log entry's role is, seen from the person reading the page.
function roleWord(role) {
	if (role === 'learner')
		return mine('you', 'the learner');
	if (role === 'guardian')
		return mine('your parent or guardian', 'you (or another guardian)');
	return ROLE_WORDS[role] || role || 'someone';
}

function describeEntry(e) {
	switch (e.type) {
	case 'access': {
		const who = roleWord(e.role);
		const what = e.resource === 'aggregate' ? 'included your data in a group answer'
			: 'read ' + mine('your ', 'their ') + (e.resource || 'data') + (typeof e.count === 'number' ? ' (' + e.count + ' items)' : '');
		const sentence = who.charAt(0).toUpperCase() + who.slice(1) + ' ' + what;
		return (e.decision === 'deny' ? 'Refused (nothing was read): ' + sentence : sentence) +
			', for ' + (e.purpose || 'an unnamed purpose') + (typeof e.epsilon === 'number' ? ' (ε ' + e.epsilon + ')' : '') + '.';
	}
	case 'consent':
		return 'Consent: ' + (EVENT_WORDS[e.event] || e.event) + ' for ' + e.policy + ' (version ' + e.policy_version + '), by ' +
			roleWord(e.actor_role) + '.';
	case 'enrolment': return mine('You were enrolled.', 'The learner was enrolled.');
	case 'erasure': return 'Erasure.';
	case 'birth_date': return 'Birth date recorded.';
	case 'credential': return 'A ' + (e.role || '') + ' access token was ' + (e.action === 'revoke' ? 'revoked' : 'issued') + '.';
	case 'release': return 'Group answer released for ' + (e.purpose || '') + ': ' + fmtNumber(e.learners_included) +
		' learners included, ε ' + e.epsilon + '.';
	default: return 'Log entry of type ' + (e.type || 'unknown') + '.';
	}
}

function entryItem(item) {
	let parsed = null;
	try {
		parsed = JSON.parse(item.entry);
	} catch (e) {
		parsed = null;
	}
	const badge = el('span', {class: 'badge neutral', 'data-testid': 'proof-status'}, 'checking…');
	const li = el('li', {'data-testid': 'access-entry', 'data-index': item.index},
		el('p', null, el('strong', null, fmtTime(parsed && parsed.time)), ' · ', badge),
		el('p', null, parsed ? describeEntry(parsed) : 'Unreadable entry.'),
		el('details', null, el('summary', null, 'The log entry as written (#' + item.index + ')'),
			el('p', {class: 'mono pre-wrap'}, item.entry)));
	return {li, badge};
}

const access = {items: [], shown: 0, cp: null, ok: 0, bad: 0};

async function checkItem(item, view) {
	const ok = await verifyInclusion(item.index, access.cp.size, item.entry, item.proof, access.cp.root).catch(() => false);
	view.badge.className = 'badge ' + (ok ? 'ok' : 'fail');
	view.badge.textContent = ok ? 'verified' : 'proof failed';
	view.li.classList.add(ok ? 'verified' : 'failed');
	if (ok) access.ok++;
	else access.bad++;
}

async function showMoreAccess() {
	const list = document.getElementById('access-list');
	const next = access.items.slice(access.shown, access.shown + ACCESS_SHOWN_STEP);
	access.shown += next.length;
	const views = next.map(entryItem);
	for (const v of views)
		list.appendChild(v.li);
	await Promise.all(next.map((it, i) => checkItem(it, views[i])));
	const summary = document.getElementById('access-summary');
	replace(summary, el('span', {class: 'badge ' + (access.bad ? 'fail' : 'ok')},
		access.bad ? access.bad + ' failed' : 'all verified'),
	' ' + fmtNumber(access.ok) + ' of ' + fmtNumber(access.shown) + ' entries shown are proven to be in the log (' +
		fmtNumber(access.items.length) + ' in all).');
	document.getElementById('access-more').hidden = access.shown >= access.items.length;
}

function checkpointFacts(cp) {
	return el('dl', {class: 'kv', 'data-testid': 'checkpoint'},
		el('dt', null, 'Log'), el('dd', {class: 'mono'}, cp.origin),
		el('dt', null, 'Entries in the log'), el('dd', null, fmtNumber(Number(cp.size))),
		el('dt', null, 'Root hash'), el('dd', {class: 'mono'}, cp.rootB64));
}

async function initAccess() {
	const body = document.getElementById('access-body');
	try {
		const rep = await get('/learner/access-report');
		access.cp = parseCheckpoint(rep.checkpoint);
		const entries = Array.isArray(rep.entries) ? rep.entries : [];
		const releases = Array.isArray(rep.releases) ? rep.releases : [];
		// Newest first; group answers that included the learner sit among them.
		access.items = entries.concat(releases).sort((a, b) => b.index - a.index);
		access.shown = access.ok = access.bad = 0;
		replace(body,
			el('p', null, 'Every entry about ' + mine('you', 'this learner') + ' in the school\'s log, newest first. Each entry comes with a proof that it is ' +
				'in the log; this page checks every proof itself (SHA-256, RFC 9162) against the root of the checkpoint the server signed for this report.'),
			checkpointFacts(access.cp),
			el('p', {class: 'hint'}, 'The checkpoint\'s signature is checked by auditors with the school\'s published key; ' +
				'a "verified" entry is one whose proof leads to exactly this root.'),
			el('p', {id: 'access-summary', 'data-testid': 'access-summary', 'aria-live': 'polite'}),
			el('ul', {class: 'timeline', id: 'access-list', 'data-testid': 'access-list'}),
			el('div', {class: 'row'},
				el('button', {type: 'button', class: 'btn', id: 'access-more', 'data-testid': 'access-more', hidden: true,
					on: {click: showMoreAccess}}, 'Show older entries'),
				el('button', {type: 'button', class: 'btn btn-quiet', 'data-testid': 'access-refresh',
					on: {click: initAccess}}, 'Refresh')));
		if (!access.items.length)
			replace(document.getElementById('access-summary'), 'No entries yet.');
		else
			await showMoreAccess();
	} catch (e) {
		sectionError(body, e, initAccess);
	}
}

let accessTimer = 0;
function refreshAccessSoon() {
	window.clearTimeout(accessTimer);
	accessTimer = window.setTimeout(initAccess, 300);
}

// --------------------------------------------------- My study suggestions

const KIND_WORDS = {review: 'Review', practice: 'Practise', new: 'Start'};

function nextList(next) {
	const items = Array.isArray(next && next.items) ? next.items : Array.isArray(next) ? next : [];
	if (!items.length)
		return el('p', {class: 'muted'}, 'No suggestion right now.');
	return el('ol', {'data-testid': 'next-list'}, items.map((it) => el('li', null,
		el('strong', null, (KIND_WORDS[it.kind] || it.kind || '') + ': '),
		el('span', {class: 'mono'}, it.activity || ''),
		it.skill ? ' (skill ' + it.skill + ')' : '',
		el('br'), el('span', null, 'Why: ' + (it.reason || '')))));
}

function masteryView(m) {
	const skills = Array.isArray(m && m.skills) ? m.skills : [];
	if (!skills.length)
		return el('p', {class: 'muted'}, 'No skills to show yet.');
	const fig = chart({title: 'Mastery per skill (estimated chance you know it)',
		data: skills.map((s) => ({label: s.name || s.skill, value: typeof s.mastery === 'number' ? s.mastery : null})),
		xLabel: 'Skill', yLabel: 'Mastery', yMin: 0, yMax: 1, format: (v) => fmtPercent(v), testid: 'mastery-chart'});
	const details = table({caption: 'Mastery details', testid: 'mastery-table', rows: skills, columns: [
		{label: 'Skill', value: (s) => s.name || s.skill},
		{label: 'Mastery', numeric: true, value: (s) => fmtPercent(s.mastery)},
		{label: 'Mastered', value: (s) => (s.mastered ? 'yes' : 'no')},
		{label: 'Answers (correct)', numeric: true, value: (s) => fmtNumber(s.responses) + ' (' + fmtNumber(s.correct) + ')'},
		{label: 'Last answer', value: (s) => (s.last_response ? fmtTime(s.last_response) : '')},
	]});
	return el('div', null, fig, details,
		typeof m.mastery_threshold === 'number' ? el('p', {class: 'hint'}, 'A skill counts as mastered from ' +
			fmtPercent(m.mastery_threshold) + '.') : null);
}

function reviewsView(r) {
	const items = Array.isArray(r && r.items) ? r.items : Array.isArray(r && r.reviews) ? r.reviews : Array.isArray(r) ? r : [];
	return el('div', null,
		table({caption: 'Due reviews, earliest first', testid: 'reviews-table', rows: items,
			empty: 'Nothing is due for review.', columns: [
				{label: 'Activity', value: (x) => el('span', {class: 'mono'}, x.activity || '')},
				{label: 'Due', value: (x) => fmtTime(x.due)},
				{label: 'Predicted recall now', numeric: true, value: (x) => fmtPercent(x.recall)},
				{label: 'Reviews (lapses)', numeric: true, value: (x) => fmtNumber(x.reviews) + ' (' + fmtNumber(x.lapses) + ')'},
			]}),
		r && r.next_due ? el('p', null, 'Next review after these: ' + fmtTime(r.next_due) + '.') : null);
}

async function initSuggestions() {
	const body = document.getElementById('suggestions-body');
	const part = async (title, path, view, testid) => {
		try {
			return el('div', {'data-testid': testid}, el('h3', null, title), view(await get(path)));
		} catch (e) {
			return el('div', {'data-testid': testid}, el('h3', null, title),
				el('p', {class: 'notice notice-error'}, errorText(e)));
		}
	};
	// One after another: each read is its own logged access.
	const next = await part('What to study next', '/learner/next', nextList, 'suggestions-next');
	const mastery = await part('How well I know each skill', '/learner/mastery', masteryView, 'suggestions-mastery');
	const reviews = await part('Due reviews', '/learner/reviews', reviewsView, 'suggestions-reviews');
	replace(body, next, mastery, reviews);
}

// ---------------------------------------------------------------- Export

function utf8Len(s) {
	return new TextEncoder().encode(s).length;
}

function vaultForm() {
	const p1 = el('input', {type: 'password', autocomplete: 'new-password', 'data-testid': 'vault-passphrase', required: true,
		minlength: 12, maxlength: 1024});
	const p2 = el('input', {type: 'password', autocomplete: 'new-password', 'data-testid': 'vault-passphrase-confirm',
		required: true});
	const submit = el('button', {type: 'submit', class: 'btn', 'data-testid': 'vault-submit'}, 'Download my encrypted vault');
	const form = el('form', {'data-testid': 'vault-form', novalidate: true},
		field('Passphrase (at least 12 characters)', p1,
			'Several random words are best. Whoever has the file can try to guess it. The school cannot recover a forgotten passphrase.'),
		field('Type the passphrase again', p2), submit);
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		for (const c of [p1, p2]) c.removeAttribute('aria-invalid');
		const n = utf8Len(p1.value);
		if (n < 12 || n > 1024) {
			p1.setAttribute('aria-invalid', 'true');
			setStatus('The passphrase must be at least 12 characters (and at most 1024 bytes).', 'error');
			p1.focus();
			return;
		}
		if (p1.value !== p2.value) {
			p2.setAttribute('aria-invalid', 'true');
			setStatus('The two passphrases are not the same. Type them again.', 'error');
			p2.focus();
			return;
		}
		busy(submit, true);
		setStatus('Preparing your encrypted vault…', 'info');
		try {
			const {blob, filename} = await download('/learner/export/vault', {method: 'POST', body: {passphrase: p1.value}});
			p1.value = p2.value = '';
			downloadBlob(blob, filename || 'learnvault-vault.lvv');
			setStatus('Your encrypted vault (' + fmtNumber(blob.size) + ' bytes) is downloading. Open it with ' +
				'“learnvault vault open FILE --passphrase-file F”. The export is written to your access report.', 'ok');
			refreshAccessSoon();
		} catch (e) {
			setStatus('Could not export the vault: ' + errorText(e), 'error');
		} finally {
			busy(submit, false);
		}
	});
	return form;
}

function initExport() {
	const json = el('button', {type: 'button', class: 'btn', 'data-testid': 'export-json', on: {click: async (e) => {
		const b = e.currentTarget;
		busy(b, true);
		try {
			const {blob, filename} = await download('/learner/export');
			downloadBlob(blob, filename || 'learnvault-export.json');
			setStatus('Your export (' + fmtNumber(blob.size) + ' bytes) is downloading. It is written to your access report.', 'ok');
			refreshAccessSoon();
		} catch (err) {
			setStatus('Could not export: ' + errorText(err), 'error');
		} finally {
			busy(b, false);
		}
	}}}, 'Download everything (JSON)');
	replace(document.getElementById('export-body'),
		el('h3', null, 'Everything, readable'),
		el('p', null, 'One JSON file with ' + mine('your', 'their') + ' records, consent history and access report.'),
		json,
		el('h3', null, 'The whole vault, encrypted'),
		el('p', null, mine('Your', 'Their') + ' whole vault as one encrypted file that only the passphrase you choose here opens, ' +
			'on any computer, without the school\'s server. The passphrase is sent once to make the file and is not kept.'),
		vaultForm());
}

// ---------------------------------------------------------------- Erase

const ERASE_WORD = 'ERASE';

function eraseConfirm(panel, start) {
	const word = el('input', {type: 'text', autocomplete: 'off', spellcheck: 'false', 'data-testid': 'erase-word'});
	const go = el('button', {type: 'submit', class: 'btn btn-danger btn-primary', 'data-testid': 'erase-confirm'},
		'Erase everything now');
	const cancel = el('button', {type: 'button', class: 'btn btn-quiet', 'data-testid': 'erase-cancel', on: {click: () => {
		panel.hidden = true;
		start.hidden = false;
		start.focus();
	}}}, 'Cancel');
	const form = el('form', {novalidate: true}, field('To confirm, type ' + ERASE_WORD, word), el('div', {class: 'row'}, go, cancel));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		if (word.value.trim() !== ERASE_WORD) {
			word.setAttribute('aria-invalid', 'true');
			setStatus('Type ' + ERASE_WORD + ' (in capitals) to confirm, or choose Cancel.', 'error');
			word.focus();
			return;
		}
		busy(go, true);
		setStatus('Erasing…', 'info');
		try {
			await del('/learner');
			setStatus('Erased. The vault key is destroyed and the vault deleted. Returning to the login page…', 'ok');
			window.setTimeout(logout, 2500);
		} catch (e) {
			setStatus('Could not erase: ' + errorText(e), 'error');
			busy(go, false);
		}
	});
	return form;
}

function initErase() {
	const start = el('button', {type: 'button', class: 'btn btn-danger', 'data-testid': 'erase-start'},
		mine('Erase my data…', 'Erase this learner\'s data…'));
	const panel = el('div', {class: 'notice notice-error', hidden: true, 'data-testid': 'erase-panel', tabindex: -1},
		el('h3', null, 'What erasing does'),
		el('ul', null,
			el('li', null, 'The key to ' + mine('your', 'their') + ' vault is destroyed and the vault file is deleted. ' +
				'The records cannot be brought back, by anyone.'),
			el('li', null, 'Copies of the vault in backups can no longer be opened. Old backups of the server\'s index still hold the ' +
				'locked key until the school rotates the server\'s master key; ask the school how often it does that.'),
			el('li', null, 'Every consent ' + mine('you gave (or your guardian gave for you)', 'given for them') +
				' ends, for every purpose, and the consent history is removed from the server\'s index.'),
			el('li', null, 'The log keeps a record that the erasure happened and which consents it ended, under the learner\'s code ' +
				'(never a name). The privacy budget already used stays counted.'),
			el('li', null, 'This access token stops working, and ' + mine('you are', 'you are') + ' logged out.'),
			el('li', null, 'If an app sends a new record for the same account later, or the school enrols ' + mine('you', 'them') +
				' again, ' + mine('you start', 'they start') + ' again with no records and no consent at all.'),
			el('li', null, 'Export first if you want to keep a copy (see Export above).')));
	panel.appendChild(eraseConfirm(panel, start));
	start.addEventListener('click', () => {
		start.hidden = true;
		panel.hidden = false;
		panel.focus();
	});
	replace(document.getElementById('erase-body'), start, panel);
}

// ---------------------------------------------------------------- start

async function main() {
	try {
		session = await initPage({roles: ['learner', 'guardian']});
	} catch (e) {
		return;
	}
	replace(document.getElementById('whose'), isGuardian()
		? 'You are acting as the parent or guardian of learner ' + session.learner + '. Everything on this page is about them.'
		: 'Your learner code is ' + session.learner + '. learnvault knows you by this code, not by your name.');
	initExport();
	initErase();
	// The access report last, so it already shows the reads this page made.
	await Promise.all([initRecords(), initChoices(), initSuggestions()]);
	await initAccess();
}

main();
