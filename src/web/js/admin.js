// admin.js — the administrator's page: the admin API (docs/running.md,
// "HTTP") as forms. Node status; learners (enrol, birth date, a learner or
// guardian token); credentials (list, add, revoke after a confirmation);
// policies (list, load a file); settings (list, set); federation tasks
// (list, add a file, upload).
//
// A secret (token, or a provider's key and secret) is in exactly one API
// response: it is shown once in the #secret panel, beside the form that
// asked for it, with a copy button and a warning, and removed from the page
// when dismissed. It is never stored anywhere else, and never logged.

import {initPage, get, post, put, del, errorText} from './api.js';
import {el, field, replace, table, setStatus, fmtTime, shortHash} from './dom.js';

const POLICY_MAX = 64 * 1024; // the parser's cap (docs/policies.md)
const TASK_MAX = 64 * 1024;

const $ = (id) => document.getElementById(id);

// Runs an action of a form: its submit button disabled meanwhile, errors
// said in the live region.
async function act(button, fn) {
	if (button)
		button.disabled = true;
	try {
		await fn();
	} catch (e) {
		setStatus(errorText(e), 'error');
	} finally {
		if (button)
			button.disabled = false;
	}
}

function submitOf(form) {
	return form.querySelector('button[type="submit"]');
}

function onSubmit(id, fn) {
	const form = $(id);
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		act(submitOf(form), () => fn(form));
	});
}

/* ---- the secret, shown once ---- */

function hideSecret() {
	const box = $('secret');
	replace(box); // the secret leaves the DOM
	box.hidden = true;
}

async function copy(input, button) {
	try {
		await navigator.clipboard.writeText(input.value);
		setStatus('Copied to the clipboard.', 'ok');
	} catch (e) {
		// No clipboard API (e.g. not a secure context): select it for Ctrl+C.
		input.focus();
		input.select();
		setStatus('Copying is not available here: the text is selected, press Ctrl+C (or Cmd+C).', 'info');
	}
	button.textContent = 'Copy again';
}

function secretRow(label, value, testid) {
	const input = el('input', {type: 'text', readonly: true, value, class: 'mono', 'data-testid': testid,
		autocomplete: 'off', spellcheck: 'false'});
	const btn = el('button', {type: 'button', class: 'btn', 'data-testid': testid + '-copy'}, 'Copy');
	btn.addEventListener('click', () => copy(input, btn));
	return el('div', null, field(label, input), el('p', {class: 'row'}, btn));
}

// @what describes whose secret it is; @fields [{label, value, testid}].
function showSecret(afterNode, what, fields) {
	const box = $('secret');
	afterNode.after(box);
	replace(box,
		el('h3', null, 'Shown once: ' + what),
		el('p', null, el('strong', null, 'Copy it now.'), ' learnvault keeps only a hash of it, so it cannot be shown ' +
			'again: if it is lost, revoke this credential and issue a new one. Anyone who holds it can act as this ' +
			'credential, so give it to its holder over a safe channel, never by plain email or chat.'),
		fields.map((f) => secretRow(f.label, f.value, f.testid)),
		el('p', {class: 'row'}, el('button', {type: 'button', class: 'btn btn-primary', 'data-testid': 'admin-secret-dismiss',
			on: {click: () => {
				hideSecret();
				setStatus('The secret was removed from the page.', 'info');
			}}}, 'I have copied it: hide it')));
	box.hidden = false;
	box.focus();
}

/* ---- status ---- */

async function loadStatus() {
	const s = await get('/admin/status');
	replace($('node-status'), el('dl', {class: 'kv'},
		el('dt', null, 'Node'), el('dd', {class: 'mono', 'data-testid': 'admin-status-origin'}, String(s.origin)),
		el('dt', null, 'Version'), el('dd', null, String(s.version)),
		el('dt', null, 'Learners'), el('dd', {'data-testid': 'admin-status-learners'}, String(s.learners)),
		el('dt', null, 'Credentials'), el('dd', {'data-testid': 'admin-status-credentials'}, String(s.credentials)),
		el('dt', null, 'Policies'), el('dd', {'data-testid': 'admin-status-policies'}, String(s.policies)),
		el('dt', null, 'Audit log entries'), el('dd', {'data-testid': 'admin-status-audit'}, String(s.audit_size)),
		el('dt', null, 'Server started'), el('dd', null, fmtTime(s.started) + ' (' + String(s.started) + ')')));
}

/* ---- learners ---- */

function onEnrolKind() {
	const account = $('enrol-kind').value === 'account';
	$('enrol-mbox-row').hidden = account;
	$('enrol-account-row').hidden = !account;
}

async function enrol(form) {
	const body = {};
	if ($('enrol-kind').value === 'mbox') {
		const mail = $('enrol-mbox').value.trim();
		if (!mail || !mail.includes('@'))
			throw new Error('Enter the learner\'s email address.');
		body.mbox = 'mailto:' + mail.replace(/^mailto:/i, '');
	} else {
		const homePage = $('enrol-homepage').value.trim(), name = $('enrol-account').value.trim();
		if (!homePage || !name)
			throw new Error('Enter both the platform address and the account name.');
		body.account = {homePage, name};
	}
	if ($('enrol-name').value.trim())
		body.name = $('enrol-name').value.trim();
	if ($('enrol-birth').value)
		body.birth_date = $('enrol-birth').value;
	const r = await post('/admin/learners', body);
	// Handy for the next two forms.
	$('birth-learner').value = r.learner;
	$('token-learner').value = r.learner;
	$('cred-learner').value = r.learner;
	replace($('enrol-result'), el('p', {class: 'notice'},
		r.created ? 'Enrolled a new learner: pseudonym ' : 'Already enrolled: pseudonym ',
		el('code', {'data-testid': 'admin-enrol-pseudonym'}, String(r.learner)),
		'. Issue them a login token below.'));
	setStatus(r.created ? 'Learner enrolled.' : 'This learner was already enrolled; nothing changed.', 'ok');
	form.reset();
	onEnrolKind();
	await loadStatus();
}

function pseudonymOf(id) {
	const p = $(id).value.trim();
	if (!p)
		throw new Error('Enter the learner\'s pseudonym (shown when they are enrolled).');
	return p;
}

async function setBirth() {
	const p = pseudonymOf('birth-learner');
	if (!$('birth-date').value)
		throw new Error('Choose the birth date.');
	await put('/admin/learners/' + encodeURIComponent(p) + '/birth-date', {birth_date: $('birth-date').value});
	setStatus('Birth date set for ' + p + '.', 'ok');
}

async function issueToken(form) {
	const p = pseudonymOf('token-learner');
	const body = {role: $('token-role').value};
	if ($('token-label').value.trim())
		body.label = $('token-label').value.trim();
	const r = await post('/admin/learners/' + encodeURIComponent(p) + '/tokens', body);
	showSecret(form, 'a ' + body.role + ' token for ' + p + ' (credential ' + r.id + ')',
		[{label: 'Login token', value: r.token, testid: 'admin-secret-token'}]);
	setStatus('Token issued: copy it now, it is shown once.', 'ok');
	$('token-label').value = '';
	await loadCredentials();
}

/* ---- credentials ---- */

let credentials = [];

function askRevoke(c, button) {
	const box = $('revoke-confirm');
	const self = c.role === 'admin' ? ' If this is the credential you are logged in with, you will be logged out.' : '';
	replace(box,
		el('p', null, el('strong', null, 'Revoke credential ' + c.id + ' (' + c.role + (c.label ? ', ' + c.label : '') + ')?')),
		el('p', null, 'It stops working at once: every request with it is refused, and browser sessions opened with it end ' +
			'at their next request. This cannot be undone; issue a new credential if it is needed again.' + self),
		el('p', {class: 'row'},
			el('button', {type: 'button', class: 'btn btn-danger btn-primary', 'data-testid': 'admin-revoke-confirm',
				on: {click: (ev) => act(ev.currentTarget, async () => {
					await del('/admin/credentials/' + encodeURIComponent(c.id));
					box.hidden = true;
					replace(box);
					setStatus('Credential ' + c.id + ' revoked.', 'ok');
					await Promise.all([loadCredentials(), loadStatus()]);
					$('credentials-h').focus();
				})}}, 'Revoke'),
			el('button', {type: 'button', class: 'btn', 'data-testid': 'admin-revoke-cancel', on: {click: () => {
				box.hidden = true;
				replace(box);
				button.focus();
			}}}, 'Cancel')));
	box.hidden = false;
	box.focus();
}

async function loadCredentials() {
	credentials = await get('/admin/credentials');
	const rows = Array.isArray(credentials) ? [...credentials].reverse() : [];
	replace($('credentials'), table({
		caption: 'Credentials, newest first (secrets are never shown here: only their holders have them)',
		testid: 'admin-cred-table',
		empty: 'No credentials.',
		columns: [
			{label: 'Id', value: (c) => el('code', null, String(c.id))},
			{label: 'Role', value: (c) => String(c.role)},
			{label: 'Learner', value: (c) => (c.learner ? el('code', {title: String(c.learner)}, shortHash(c.learner, 10)) : '')},
			{label: 'Purposes', value: (c) => (Array.isArray(c.purposes) ? c.purposes.join(', ') : '')},
			{label: 'Label', value: (c) => (c.label ? String(c.label) : '')},
			{label: 'Created', value: (c) => fmtTime(c.created)},
			// State and action in one cell keeps the table narrow enough for a phone.
			{label: 'State', value: (c) => (c.revoked
				? el('span', {class: 'badge neutral'}, 'revoked ' + fmtTime(c.revoked))
				: el('span', {class: 'row'}, el('span', {class: 'badge ok'}, 'active'),
					el('button', {type: 'button', class: 'btn btn-danger', 'data-testid': 'admin-cred-revoke',
						'data-id': String(c.id), 'aria-label': 'Revoke credential ' + c.id + ' (' + c.role + ')',
						on: {click: (ev) => askRevoke(c, ev.currentTarget)}}, 'Revoke')))},
		],
		rows,
	}));
}

function onCredRole() {
	const role = $('cred-role').value;
	$('cred-learner-row').hidden = !(role === 'learner' || role === 'guardian');
	$('cred-purposes-row').hidden = role !== 'analyst';
}

async function addCredential(form) {
	const role = $('cred-role').value;
	const body = {role};
	if (role === 'learner' || role === 'guardian')
		body.learner = pseudonymOf('cred-learner');
	if (role === 'analyst') {
		body.purposes = [...$('cred-purposes').querySelectorAll('input:checked')].map((i) => i.value);
		if (!body.purposes.length)
			throw new Error('An analyst needs at least one purpose: tick the purposes it may ask about.');
	}
	if ($('cred-label').value.trim())
		body.label = $('cred-label').value.trim();
	const r = await post('/admin/credentials', body);
	if (role === 'provider') {
		showSecret(form, 'the provider credential ' + r.id + ' (HTTP Basic: key and secret)', [
			{label: 'Key', value: r.key, testid: 'admin-secret-key'},
			{label: 'Secret', value: r.secret, testid: 'admin-secret-secret'}]);
	} else {
		showSecret(form, 'the ' + role + ' credential ' + r.id,
			[{label: 'Login token', value: r.token, testid: 'admin-secret-token'}]);
	}
	setStatus('Credential added: copy its secret now, it is shown once.', 'ok');
	$('cred-label').value = '';
	await Promise.all([loadCredentials(), loadStatus()]);
}

/* ---- policies ---- */

async function loadPolicies() {
	const list = await get('/admin/policies');
	const rows = Array.isArray(list) ? list : [];
	replace($('policies'), table({
		caption: 'Loaded policies (every version)',
		testid: 'admin-policies-table',
		empty: 'No policy is loaded: no learner data can be used for any purpose.',
		columns: [
			{label: 'Id', value: (p) => String(p.id)},
			{label: 'Version', numeric: true, value: (p) => String(p.version)},
			{label: 'Title', value: (p) => (p.policy && p.policy.title ? String(p.policy.title) : '')},
			{label: 'Operations', value: (p) => (p.policy && Array.isArray(p.policy.operations) ? p.policy.operations.join(', ') : '')},
			{label: 'SHA-256', value: (p) => el('code', {title: String(p.sha256)}, shortHash(p.sha256, 16))},
			{label: 'Loaded', value: (p) => fmtTime(p.loaded)},
		],
		rows,
	}));
	// The analyst purposes to choose from: each policy id once.
	const ids = [...new Set(rows.map((p) => String(p.id)))];
	const prev = new Set([...$('cred-purposes').querySelectorAll('input:checked')].map((i) => i.value));
	replace($('cred-purposes'), ids.length ? ids.map((id) => el('label', {class: 'row'},
		el('input', {type: 'checkbox', name: 'purpose', value: id, checked: prev.has(id) || null}), ' ' + id))
		: el('p', null, 'Load a policy first: an analyst is bound to policy purposes.'));
}

async function readFile(inputId, max, what) {
	const f = $(inputId).files && $(inputId).files[0];
	if (!f)
		throw new Error('Choose a ' + what + ' file first.');
	if (f.size > max)
		throw new Error('That file is ' + f.size + ' bytes; a ' + what + ' file has at most ' + max + '.');
	return f.text();
}

async function loadPolicy(form) {
	const text = await readFile('policy-file', POLICY_MAX, 'policy');
	const r = await post('/admin/policies', text);
	setStatus(r.added ? 'Policy ' + r.id + ' version ' + r.version + ' loaded.'
		: 'Policy ' + r.id + ' version ' + r.version + ' was already loaded with this text; nothing changed.', 'ok');
	form.reset();
	await Promise.all([loadPolicies(), loadStatus()]);
}

/* ---- settings ---- */

async function loadSettings() {
	const s = await get('/admin/settings');
	const rows = s && typeof s === 'object' ? Object.entries(s) : [];
	replace($('settings'), table({
		caption: 'Node settings (docs/running.md, "Settings")',
		testid: 'admin-settings-table',
		columns: [
			{label: 'Name', value: (r) => el('code', null, r[0])},
			{label: 'Value', value: (r) => String(r[1])},
		],
		rows,
	}));
	const sel = $('setting-name');
	const cur = sel.value;
	replace(sel, rows.map((r) => el('option', {value: r[0], selected: r[0] === cur || null}, r[0])));
	onSettingName(s);
}

let settingValues = {};
function onSettingName(s) {
	if (s)
		settingValues = s;
	const v = settingValues[$('setting-name').value];
	$('setting-value').value = v === undefined ? '' : String(v);
}

async function setSetting() {
	const name = $('setting-name').value;
	if (!name)
		throw new Error('Choose a setting.');
	await put('/admin/settings/' + encodeURIComponent(name), {value: $('setting-value').value});
	setStatus('Setting ' + name + ' set to ' + $('setting-value').value + '.', 'ok');
	await loadSettings();
}

/* ---- federation ---- */

async function upload(task, button) {
	await act(button, async () => {
		setStatus('Uploading for task ' + task.task_id + '…');
		const r = await post('/admin/federation/tasks/' + encodeURIComponent(task.task_id) + '/upload', {});
		replace($('upload-result'), el('div', {class: 'notice'},
			el('h3', null, 'Upload for ' + String(r.task_id)),
			el('pre', {class: 'mono pre-wrap', 'data-testid': 'admin-upload-summary'}, JSON.stringify(r, null, 2))));
		setStatus('Upload done: ' + String(r.learners_included) + ' learners included.', 'ok');
	});
}

async function loadTasks() {
	const list = await get('/admin/federation/tasks');
	const rows = Array.isArray(list) ? list : [];
	replace($('tasks'), table({
		caption: 'Federation tasks',
		testid: 'admin-tasks-table',
		empty: 'No federation task.',
		columns: [
			{label: 'Task id', value: (t) => el('code', null, shortHash(t.task_id, 16))},
			{label: 'Purpose', value: (t) => String(t.purpose ?? '')},
			{label: 'Question', value: (t) => String(t.metric ?? '') + (t.field ? ' of ' + t.field : '')},
			{label: 'ε', numeric: true, value: (t) => String(t.epsilon ?? '')},
			{label: 'Leader', value: (t) => String(t.leader ?? '')},
			{label: 'Details', value: (t) => el('details', null, el('summary', null, 'Task file'),
				el('pre', {class: 'mono pre-wrap'}, JSON.stringify(t, null, 2)))},
			{label: 'Action', value: (t) => el('button', {type: 'button', class: 'btn', 'data-testid': 'admin-task-upload',
				'data-task': String(t.task_id), 'aria-label': 'Upload now for task ' + t.task_id,
				on: {click: (ev) => upload(t, ev.currentTarget)}}, 'Upload now')},
		],
		rows,
	}));
}

async function addTask(form) {
	const text = await readFile('task-file', TASK_MAX, 'task');
	const r = await post('/admin/federation/tasks', text);
	setStatus('Task ' + String(r && r.task_id) + ' is on the node.', 'ok');
	form.reset();
	await loadTasks();
}

/* ---- the page ---- */

async function main() {
	await initPage({roles: ['admin']});
	$('status-refresh').addEventListener('click', (ev) => act(ev.currentTarget, loadStatus));
	$('enrol-kind').addEventListener('change', onEnrolKind);
	$('cred-role').addEventListener('change', onCredRole);
	$('setting-name').addEventListener('change', () => onSettingName());
	onSubmit('enrol-form', enrol);
	onSubmit('birth-form', setBirth);
	onSubmit('token-form', issueToken);
	onSubmit('cred-form', addCredential);
	onSubmit('policy-form', loadPolicy);
	onSubmit('setting-form', setSetting);
	onSubmit('task-form', addTask);
	onEnrolKind();
	onCredRole();
	// Each part loads on its own: one failing says so and leaves the others.
	const parts = [loadStatus, loadCredentials, loadPolicies, loadSettings, loadTasks];
	const results = await Promise.allSettled(parts.map((f) => f()));
	const failed = results.filter((r) => r.status === 'rejected');
	if (failed.length)
		setStatus(errorText(failed[0].reason), 'error');
}

main().catch((e) => {
	if (!(e && (e.status === 401 || e.status === 403)))
		setStatus(errorText(e), 'error');
});
