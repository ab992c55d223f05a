// auditor.js — the auditor's page: the signed checkpoint and key, the log
// verified in the page (every entry's leaf hashed, the RFC 9162 root
// recomputed and compared with the signed root, the Ed25519 signature
// checked with WebCrypto), a summary by entry type, the export document
// built from the same bytes, and the entries browsed page by page.
//
// Everything shown comes from the auditor door (GET /audit/checkpoint,
// /audit/key, /audit/entries) and GET /policies. Entry contents are
// untrusted text: they reach the page through dom.js (text nodes) only.

import {initPage, get, errorText} from './api.js';
import {el, replace, table, setStatus, downloadBlob, fmtTime} from './dom.js';
import * as tlog from './tlog.js';

const PAGE_MAX = 1000; // the door's page limit (LV_AUDIT_PAGE_MAX)

const state = {
	note: null,       // the checkpoint text as served
	cp: null,         // parsed: {origin, size, root, rootB64}
	nodeKey: null,    // GET /audit/key
	entries: [],      // entry texts, a prefix of the log, index = position
	parsed: [],       // JSON.parse of each (null when unreadable)
	loading: null,    // the running loadEntries promise
	browseEnd: 0,     // unfiltered browsing: the page is [browseEnd - size, browseEnd)
	browseOffset: 0,  // filtered browsing: offset into the newest-first matches
};

const $ = (id) => document.getElementById(id);

function describeCheckpoint() {
	const cp = state.cp;
	return el('div', null,
		el('dl', {class: 'kv'},
			el('dt', null, 'Log origin'), el('dd', {'data-testid': 'audit-origin'}, cp.origin),
			el('dt', null, 'Entries covered'), el('dd', {'data-testid': 'audit-size'}, String(cp.size)),
			el('dt', null, 'Tree root (SHA-256, base64)'), el('dd', {class: 'mono', 'data-testid': 'audit-root'}, cp.rootB64),
			el('dt', null, 'Key the node reports'), el('dd', {class: 'mono', 'data-testid': 'audit-key'}, state.nodeKey)),
		el('details', null,
			el('summary', null, 'The checkpoint as signed (C2SP signed note)'),
			el('pre', {class: 'mono', 'data-testid': 'audit-checkpoint-text'}, state.note)));
}

async function loadCheckpoint() {
	const [note, key] = await Promise.all([get('/audit/checkpoint'), get('/audit/key')]);
	const cp = tlog.parseCheckpoint(tlog.parseNote(String(note)).body);
	const keyText = String(key).trim();
	const input = $('trusted-key');
	// Keep a key the auditor typed; follow the node's key otherwise.
	if (!input.value.trim() || input.value.trim() === state.nodeKey)
		input.value = keyText;
	state.note = String(note);
	state.cp = cp;
	state.nodeKey = keyText;
	state.browseEnd = cp.size;
	state.browseOffset = 0;
	replace($('checkpoint'), describeCheckpoint());
}

// Fetches entries [state.entries.length, size) in pages; entries already
// held are kept (the log is append-only, and the root check below catches
// any that were not).
async function loadEntries(size) {
	while (state.loading)
		await state.loading;
	if (state.entries.length >= size)
		return;
	state.loading = (async () => {
		let pages = 0;
		for (let s = state.entries.length; s < size; s = state.entries.length) {
			const e = Math.min(size, s + PAGE_MAX);
			const page = await get('/audit/entries?start=' + s + '&end=' + e);
			if (!page || !Array.isArray(page.entries) || page.entries.length !== e - s)
				throw new Error('the node answered ' + (page && page.entries ? page.entries.length : 0) +
					' entries for ' + s + '..' + e);
			for (const text of page.entries) {
				state.entries.push(String(text));
				let obj = null;
				try {
					obj = JSON.parse(text);
				} catch (err) {
					obj = null;
				}
				state.parsed.push(obj);
			}
			pages += 1;
			if (pages % 10 === 0)
				setStatus('Fetched ' + state.entries.length + ' of ' + size + ' entries…');
		}
	})();
	try {
		await state.loading;
	} finally {
		state.loading = null;
	}
}

function verdict(kind, headline, lines) {
	const box = $('verify-status');
	const look = {verified: ['notice', 'badge ok', 'Verified'], failed: ['notice notice-error', 'badge fail', 'Failed'],
		partial: ['notice notice-warn', 'badge warn', 'Incomplete'], running: ['notice', 'badge neutral', 'Working']}[kind];
	box.dataset.state = kind;
	box.className = look[0];
	replace(box, el('p', null, el('span', {class: look[1]}, look[2]), ' ', headline),
		lines.length ? el('ul', null, lines.map((l) => el('li', null, l))) : null);
}

// Which logged policy loads have their text among GET /policies, by
// recomputing each text's canonical digest here.
async function policyTexts(size) {
	const pols = await get('/policies');
	const loads = new Map();
	for (let i = 0; i < size; i++) {
		const e = state.parsed[i];
		if (e && e.type === 'policy' && typeof e.sha256 === 'string')
			loads.set(e.policy + '\u0000' + e.version, e.sha256);
	}
	const texts = [];
	let mismatched = 0;
	for (const p of Array.isArray(pols) ? pols : []) {
		const logged = loads.get(p.id + '\u0000' + p.version);
		if (!logged)
			continue; // loaded after this checkpoint: not part of this export
		const text = tlog.canonicalPolicyText(p.policy);
		if ((await tlog.sha256Hex(text)) === logged)
			texts.push(text);
		else
			mismatched += 1;
	}
	return {texts, loads: loads.size, mismatched};
}

async function verify() {
	const btn = $('verify');
	btn.disabled = true;
	verdict('running', 'Verifying…', []);
	setStatus('Verifying the log…');
	try {
		await loadCheckpoint();
		const cp = state.cp;
		const sig = await tlog.verifyNote(state.note, $('trusted-key').value);
		await loadEntries(cp.size);
		let misplaced = -1;
		for (let i = 0; i < cp.size && misplaced < 0; i++) {
			const e = state.parsed[i];
			if (!e || e.index !== i)
				misplaced = i;
		}
		// Hashed a page at a time: WebCrypto works in parallel, the page stays responsive.
		const leaves = [];
		for (let s = 0; s < cp.size; s += PAGE_MAX) {
			const chunk = state.entries.slice(s, Math.min(cp.size, s + PAGE_MAX));
			leaves.push(...(await Promise.all(chunk.map((t) => tlog.leafHash(t)))));
		}
		const root = await tlog.treeRoot(leaves);
		const rootOk = tlog.equalBytes(root, cp.root);
		const pol = await policyTexts(cp.size);
		const lines = [
			rootOk ? 'The ' + cp.size + ' entries hash to the signed root.'
				: 'The entries do NOT hash to the signed root (computed ' + tlog.b64encode(root) + ').',
			misplaced < 0 ? 'Every entry names its own position.'
				: 'Entry at position ' + misplaced + ' does not name its own position (or is not JSON).',
			sig.ok === true ? 'Checkpoint signature: valid, ' + sig.why + '.'
				: sig.ok === false ? 'Checkpoint signature: INVALID: ' + sig.why + '.'
					: 'Checkpoint signature: not checked: ' + sig.why + '.',
			pol.mismatched ? pol.mismatched + ' policy text(s) do not match their logged digest.'
				: 'Policy texts: ' + pol.texts.length + ' of ' + pol.loads + ' logged loads found with their digest.',
		];
		if (!rootOk || misplaced >= 0 || sig.ok === false || pol.mismatched) {
			verdict('failed', !rootOk || misplaced >= 0 ? 'Failed: the log does not match its signed checkpoint.'
				: sig.ok === false ? 'Failed: the checkpoint is not signed by the key you trust.'
					: 'Failed: a policy text does not match the digest its load logged.', lines);
			setStatus('Verification failed.', 'error');
		} else if (sig.ok === null) {
			verdict('partial', 'Not fully verified: the entries match the root, but this browser could not check the signature.', lines);
			setStatus('The root matches; the signature could not be checked in this browser.', 'error');
		} else {
			verdict('verified', 'Verified: ' + cp.size + ' entries, signed by the key you trust.', lines);
			setStatus('The log is verified.', 'ok');
		}
		replace($('summary'), summary(cp.size));
	} catch (e) {
		verdict('failed', 'Failed: ' + errorText(e), []);
		setStatus(errorText(e), 'error');
	} finally {
		btn.disabled = false;
	}
}

function countBy(list, keyOf) {
	const m = new Map();
	for (const x of list) {
		const k = keyOf(x);
		if (k !== undefined && k !== null)
			m.set(String(k), (m.get(String(k)) || 0) + 1);
	}
	return [...m.entries()].sort((a, b) => b[1] - a[1]);
}

// The consent-compliance summary: what the log holds, by type, with the
// consent, access and release entries broken down. The rule replay itself
// (each access against a live grant, budgets) is `learnvault audit verify`.
function summary(size) {
	const all = state.parsed.slice(0, size).filter((e) => e);
	const consent = all.filter((e) => e.type === 'consent');
	const access = all.filter((e) => e.type === 'access');
	const release = all.filter((e) => e.type === 'release');
	const eps = new Map();
	for (const r of release) {
		const k = String(r.purpose);
		const cur = eps.get(k) || {n: 0, eps: 0};
		cur.n += 1;
		cur.eps += typeof r.epsilon === 'number' ? r.epsilon : 0;
		eps.set(k, cur);
	}
	const pair = (label) => [{label, value: (r) => r[0]}, {label: 'Entries', numeric: true, value: (r) => String(r[1])}];
	return el('div', {class: 'summary'},
		el('h3', null, 'Consent-compliance summary'),
		el('p', null, 'Counted from the ' + size + ' verified entries. The full replay of every rule (each access against a live grant, the guardian rule, budgets) is done offline by ',
			el('code', null, 'learnvault audit verify'), ' on the downloaded export.'),
		el('ul', {class: 'counts', 'data-testid': 'audit-counts'},
			el('li', {'data-testid': 'audit-count-consent'}, 'Consent entries: ' + consent.length),
			el('li', {'data-testid': 'audit-count-access'}, 'Access entries: ' + access.length +
				' (' + access.filter((e) => e.decision === 'allow').length + ' allowed, ' +
				access.filter((e) => e.decision !== 'allow').length + ' denied, ' +
				access.filter((e) => e.query_id !== undefined).length + ' for aggregate releases)'),
			el('li', {'data-testid': 'audit-count-release'}, 'Releases: ' + release.length)),
		table({caption: 'Entries by type', columns: pair('Type'), rows: countBy(all, (e) => e.type), testid: 'audit-by-type'}),
		table({caption: 'Consent events', columns: pair('Event'), rows: countBy(consent, (e) => e.event),
			testid: 'audit-by-consent-event', empty: 'No consent events.'}),
		table({caption: 'Access decisions by purpose', columns: pair('Decision · purpose'),
			rows: countBy(access, (e) => e.decision + ' · ' + e.purpose), testid: 'audit-by-access',
			empty: 'No access entries.'}),
		table({caption: 'Releases by purpose (ε summed over the whole log, not per budget window)',
			columns: [{label: 'Purpose', value: (r) => r[0]},
				{label: 'Releases', numeric: true, value: (r) => String(r[1].n)},
				{label: 'ε charged', numeric: true, value: (r) => String(Number(r[1].eps.toPrecision(12)))}],
			rows: [...eps.entries()], testid: 'audit-by-release', empty: 'No releases.'}));
}

// The same document as `learnvault audit export`, from the bytes verified
// here: `learnvault audit verify --log FILE --key KEY` replays it offline.
async function downloadExport() {
	const btn = $('download');
	btn.disabled = true;
	try {
		if (!state.cp)
			await loadCheckpoint();
		const cp = state.cp;
		setStatus('Preparing the export of ' + cp.size + ' entries…');
		await loadEntries(cp.size);
		const pol = await policyTexts(cp.size);
		const doc = {format: 'learnvault-audit-log', version: 1, vkey: state.nodeKey, checkpoint: state.note,
			policies: pol.texts, entries: state.entries.slice(0, cp.size)};
		const blob = new Blob([JSON.stringify(doc, null, '\t') + '\n'], {type: 'application/json'});
		downloadBlob(blob, 'audit-log-' + cp.size + '.json');
		setStatus('Export of ' + cp.size + ' entries downloaded' +
			(pol.mismatched ? '; ' + pol.mismatched + ' policy text(s) did not match their digest and were left out.' : '.'),
			pol.mismatched ? 'error' : 'ok');
	} catch (e) {
		setStatus(errorText(e), 'error');
	} finally {
		btn.disabled = false;
	}
}

const SUMMARY_KEYS = ['event', 'action', 'decision', 'role', 'actor_role', 'policy', 'purpose', 'version',
	'policy_version', 'resource', 'learner', 'credential', 'query_id', 'epsilon', 'learners_included', 'birth_date'];

function entrySummary(e) {
	if (!e)
		return 'unreadable entry';
	return SUMMARY_KEYS.filter((k) => e[k] !== undefined && e[k] !== null && typeof e[k] !== 'object')
		.map((k) => k + ': ' + String(e[k])).join(' · ');
}

function showEntries(rows, caption) {
	replace($('entries'), table({
		caption,
		testid: 'audit-entries-table',
		empty: 'No entries.',
		columns: [
			{label: 'Index', numeric: true, value: (r) => String(r.i)},
			{label: 'Time', value: (r) => (r.e && r.e.time ? fmtTime(r.e.time) : '')},
			{label: 'Type', value: (r) => (r.e ? String(r.e.type) : '?')},
			{label: 'Details', value: (r) => el('details', null,
				el('summary', null, entrySummary(r.e) || 'entry ' + r.i),
				el('pre', {class: 'mono'}, r.text))},
		],
		rows,
	}));
}

async function browse() {
	const type = $('type-filter').value;
	const size = Number($('page-size').value) || 50;
	if (!state.cp)
		await loadCheckpoint();
	const total = state.cp.size;
	if (!type) {
		// Straight from the door, newest first.
		const end = Math.max(0, Math.min(state.browseEnd, total));
		const start = Math.max(0, end - size);
		const page = end > start ? await get('/audit/entries?start=' + start + '&end=' + end) : {entries: []};
		const rows = page.entries.map((text, k) => {
			let e = null;
			try {
				e = JSON.parse(text);
			} catch (err) {
				e = null;
			}
			return {i: start + k, e, text: String(text)};
		}).reverse();
		showEntries(rows, 'Entries ' + start + ' to ' + Math.max(start, end - 1) + ' of ' + total + ', newest first');
		$('newer').disabled = end >= total;
		$('older').disabled = start === 0;
		return;
	}
	// A type filter needs the whole log: fetched once, shared with Verify.
	await loadEntries(total);
	const matches = [];
	for (let i = total - 1; i >= 0; i--) {
		const e = state.parsed[i];
		if (e && e.type === type)
			matches.push(i);
	}
	const off = Math.min(state.browseOffset, Math.max(0, matches.length - 1));
	const rows = matches.slice(off, off + size).map((i) => ({i, e: state.parsed[i], text: state.entries[i]}));
	showEntries(rows, matches.length + ' ' + type + ' entries, newest first; showing ' +
		(rows.length ? off + 1 : 0) + ' to ' + (off + rows.length));
	$('newer').disabled = off === 0;
	$('older').disabled = off + size >= matches.length;
}

async function guarded(fn) {
	try {
		await fn();
	} catch (e) {
		setStatus(errorText(e), 'error');
	}
}

function wire() {
	$('refresh').addEventListener('click', () => guarded(async () => {
		await loadCheckpoint();
		setStatus('Fetched a checkpoint of ' + state.cp.size + ' entries.', 'ok');
	}));
	$('verify').addEventListener('click', verify);
	$('download').addEventListener('click', downloadExport);
	$('browse-form').addEventListener('submit', (ev) => {
		ev.preventDefault();
		state.browseEnd = state.cp ? state.cp.size : 0;
		state.browseOffset = 0;
		guarded(browse);
	});
	$('type-filter').addEventListener('change', () => {
		state.browseOffset = 0;
	});
	$('newer').addEventListener('click', () => guarded(async () => {
		const size = Number($('page-size').value) || 50;
		if ($('type-filter').value)
			state.browseOffset = Math.max(0, state.browseOffset - size);
		else
			state.browseEnd = Math.min(state.cp.size, state.browseEnd + size);
		await browse();
	}));
	$('older').addEventListener('click', () => guarded(async () => {
		const size = Number($('page-size').value) || 50;
		if ($('type-filter').value)
			state.browseOffset += size;
		else
			state.browseEnd = Math.max(size, state.browseEnd - size);
		await browse();
	}));
}

async function main() {
	await initPage({roles: ['auditor']});
	wire();
	await loadCheckpoint();
	await browse();
}

main().catch((e) => {
	if (!(e && (e.status === 401 || e.status === 403)))
		setStatus(errorText(e), 'error');
});
