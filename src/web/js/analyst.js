// analyst.js — the school analyst's page: a question builder over the
// purposes the session's credential is bound to (GET /session "purposes",
// each purpose's newest policy from GET /policies), POST /aggregate, the
// answer with its 95% interval as error bars and a table, and the history
// of this page's releases with the budget over time.
//
// Honesty rules (issue 12): every number shown is the one the API returned
// (printed with String(), never rounded); ε and the mechanism are always
// shown; a suppressed answer says why in words; a cached answer is marked
// as costing nothing and its stale budget_remaining is not used.

import {initPage, post, get, errorText} from './api.js';
import {el, replace, table, setStatus, downloadBlob, fmtTime, fmtDuration} from './dom.js';
import {chart} from './chart.js';

const FIELD_NAMES = {
	'statements': 'number of matching statements',
	'result.score.scaled': 'scaled score (−1 to 1)',
	'result.success': 'success (1 or 0)',
	'result.completion': 'completion (1 or 0)',
	'result.duration': 'duration in seconds',
};
const METRIC_NAMES = {
	count: 'Count of learners',
	sum: 'Sum over learners',
	mean: 'Mean over learners',
	histogram: 'Histogram',
	quantile: 'Quantile',
};
const NEEDS_FIELD = new Set(['sum', 'mean', 'quantile']);
const NO_BOUNDS = new Set(['result.success', 'result.completion']);

const state = {
	session: null,
	policies: new Map(), // purpose id -> newest {id, version, sha256, policy}
	history: [],         // answers in the order received
};

const $ = (id) => document.getElementById(id);
const num = (x) => (typeof x === 'number' ? String(x) : x === null || x === undefined ? '—' : String(x));

function policyOf(purpose) {
	return state.policies.get(purpose) || null;
}

function option(value, label, selected) {
	return el('option', {value, selected: selected || null}, label);
}

// What is left to spend, and where that number comes from.
function budgetText(purpose) {
	const p = policyOf(purpose);
	if (!p)
		return 'This purpose has no loaded policy: no question can be asked.';
	const priv = p.policy.privacy || {};
	const last = [...state.history].reverse().find((a) => a.purpose === purpose && !a.cached &&
		typeof a.budget_remaining === 'number');
	if (last) {
		return 'Budget left for ' + purpose + ': ' + num(last.budget_remaining) + ' ε of ' + num(priv.epsilon_budget) +
			' per ' + fmtDuration(last.budget_window_days ?? priv.budget_window_days) + ', from the answer released ' +
			fmtTime(last.released) + ' (questions others asked since then are not counted here).';
	}
	return 'Budget for ' + purpose + ': ' + num(priv.epsilon_budget) + ' ε per ' + fmtDuration(priv.budget_window_days) +
		' (the policy\'s whole budget). No answer for this purpose in this session yet, so what has already been ' +
		'spent is not known here: the first answer says what is left.';
}

function describePolicy(p) {
	const priv = p.policy.privacy || {};
	const data = p.policy.data || {};
	return el('dl', {class: 'kv'},
		el('dt', null, 'Policy'), el('dd', null, String(p.policy.title || p.id) + ' (version ' + p.version + ')'),
		el('dt', null, 'Operations allowed'), el('dd', null, (p.policy.operations || []).join(', ')),
		el('dt', null, 'Result fields allowed'),
		el('dd', null, (data.result_fields || []).length ? data.result_fields.join(', ') : 'none (counts only)'),
		el('dt', null, 'ε per question at most'), el('dd', null, num(priv.epsilon_per_query_max)),
		el('dt', null, 'Smallest group released'), el('dd', null, num(priv.min_cohort) + ' learners (noisy count)'));
}

function onPurpose() {
	const p = policyOf($('purpose').value);
	replace($('policy-facts'), p ? describePolicy(p) : el('p', null, 'No policy is loaded for this purpose.'));
	$('budget').textContent = budgetText($('purpose').value);
	const ops = p ? p.policy.operations || [] : [];
	const metric = $('metric').value;
	replace($('metric'), ops.map((o) => option(o, METRIC_NAMES[o] || o, o === metric)));
	const fields = ['statements'].concat(((p && p.policy.data && p.policy.data.result_fields) || [])
		.filter((f) => FIELD_NAMES[f]));
	const field = $('field').value;
	replace($('field'), fields.map((f) => option(f, f + ' — ' + FIELD_NAMES[f], f === field)));
	const verbs = (p && p.policy.data && p.policy.data.verbs) || [];
	const verb = $('verb').value;
	replace($('verb'), option('', 'Any verb in the policy', !verb), verbs.map((v) => option(v, v, v === verb)));
	const max = p && p.policy.privacy ? p.policy.privacy.epsilon_per_query_max : null;
	const eps = $('epsilon');
	if (typeof max === 'number') {
		eps.max = String(max);
		if (!eps.value || Number(eps.value) > max)
			eps.value = String(Math.min(max, 0.5));
		$('epsilon-hint').textContent = 'At most ' + num(max) + ' for this purpose. A smaller ε means more noise and a ' +
			'smaller share of the budget.';
	}
	$('ask').disabled = !p;
	onMetric();
}

// Shows the controls the chosen metric uses, hides the others.
function onMetric() {
	const metric = $('metric').value;
	const by = $('hist-by').value;
	const histValue = metric === 'histogram' && by === 'value';
	const usesField = NEEDS_FIELD.has(metric) || histValue;
	$('field-row').hidden = !usesField;
	$('per-row').hidden = !usesField;
	$('bounds-row').hidden = !(NEEDS_FIELD.has(metric));
	$('hist-row').hidden = metric !== 'histogram';
	$('edges-row').hidden = !histValue;
	$('keys-row').hidden = !(metric === 'histogram' && by !== 'value');
	$('maxkeys-row').hidden = $('keys-row').hidden;
	$('quantile-row').hidden = metric !== 'quantile';
	const gauss = metric === 'count' || metric === 'sum' || metric === 'histogram';
	const g = $('mechanism').querySelector('option[value="discrete-gaussian"]');
	g.disabled = !gauss;
	if (!gauss)
		$('mechanism').value = 'discrete-laplace';
	const f = $('field').value;
	$('bounds-hint').textContent = NO_BOUNDS.has(f) ? 'Optional for ' + f + ': 0 to 1 when left empty.'
		: f === 'result.duration' ? 'Required: seconds.' : f === 'statements' ? 'Required: a number of statements.'
			: 'Required: scores lie within −1 and 1.';
}

function numberOf(id, what) {
	const s = $(id).value.trim();
	const x = Number(s);
	if (!s || !Number.isFinite(x))
		throw new Error(what + ' must be a number.');
	return x;
}

function isoDay(v) {
	return v ? v + 'T00:00:00Z' : null;
}

// The query as docs/queries.md specifies it, from the form; throws a
// message naming the control when something is missing.
function buildQuery() {
	const metric = $('metric').value;
	const q = {purpose: $('purpose').value, metric};
	const id = $('query-id').value.trim();
	if (id) {
		if (!/^[A-Za-z0-9._:-]{1,64}$/.test(id))
			throw new Error('Question id: letters, digits and . _ : - only, at most 64.');
		q.id = id;
	}
	const by = $('hist-by').value;
	const histValue = metric === 'histogram' && by === 'value';
	if (NEEDS_FIELD.has(metric) || histValue) {
		q.field = $('field').value;
		if ($('per-learner').value)
			q.per_learner = $('per-learner').value;
	}
	if (NEEDS_FIELD.has(metric)) {
		const lo = $('lo').value.trim(), hi = $('hi').value.trim();
		if (lo || hi || !NO_BOUNDS.has(q.field))
			q.bounds = [numberOf('lo', 'Lowest bound'), numberOf('hi', 'Highest bound')];
	}
	if (metric === 'histogram') {
		if (histValue) {
			const edges = $('edges').value.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
			if (edges.length < 2 || edges.some((x) => !Number.isFinite(x)))
				throw new Error('Bucket edges: at least two numbers separated by commas.');
			q.histogram = {by: 'value', buckets: edges};
		} else {
			const keys = $('keys').value.split('\n').map((s) => s.trim()).filter(Boolean);
			if (!keys.length)
				throw new Error('Keys: name at least one ' + by + ' IRI, one per line.');
			q.histogram = {by, keys, max_keys_per_learner: numberOf('max-keys', 'Keys per learner')};
		}
	}
	if (metric === 'quantile') {
		q.quantile = numberOf('q', 'Quantile');
		if ($('candidates').value.trim())
			q.candidates = numberOf('candidates', 'Candidates');
	}
	const filters = {};
	if ($('verb').value)
		filters.verb = $('verb').value;
	if ($('activity').value.trim())
		filters.activity = $('activity').value.trim();
	if ($('since').value)
		filters.since = isoDay($('since').value);
	if ($('until').value)
		filters.until = isoDay($('until').value);
	if (Object.keys(filters).length)
		q.filters = filters;
	q.epsilon = numberOf('epsilon', 'ε');
	if ($('mechanism').value !== 'discrete-laplace')
		q.mechanism = $('mechanism').value;
	return q;
}

function itemLabel(a, v) {
	if (v.key !== undefined)
		return String(v.key);
	if (Array.isArray(v.bucket))
		return '[' + num(v.bucket[0]) + ', ' + num(v.bucket[1]) + ')';
	return String(a.metric);
}

// The answer's numbers as chart items: one per bucket, or one for a scalar.
function chartData(a) {
	if (a.suppressed || a.value === null || a.value === undefined)
		return [];
	if (Array.isArray(a.value)) {
		return a.value.map((v, i) => {
			const ci = Array.isArray(a.ci95) ? a.ci95[i] : null;
			return {label: itemLabel(a, v), value: v.count, low: ci ? ci[0] : undefined, high: ci ? ci[1] : undefined};
		});
	}
	const ci = Array.isArray(a.ci95) ? a.ci95 : null;
	return [{label: (METRIC_NAMES[a.metric] || a.metric) + (a.field ? ' of ' + a.field : ''), value: a.value,
		low: ci ? ci[0] : undefined, high: ci ? ci[1] : undefined}];
}

function headline(a) {
	if (a.suppressed) {
		return el('p', {class: 'notice notice-warn', 'data-testid': 'analyst-suppressed'},
			'No value released: too few learners. The noisy number of learners in the group (' + num(a.noisy_learners) +
			') is below this purpose\'s smallest group, ' + num(a.min_cohort) + ', so the value and its interval are ' +
			'withheld to protect small groups. The noisy count itself is already private, so it is shown. The ε of ' +
			'this question (' + num(a.epsilon) + ') was still spent.');
	}
	if (Array.isArray(a.value))
		return el('p', {'data-testid': 'analyst-value'}, 'One noisy count per bucket, each with its 95% interval (below).');
	if (a.metric === 'quantile') {
		return el('p', {'data-testid': 'analyst-value'}, 'Value: ' + num(a.value) + '. A quantile has no interval: with ' +
			'probability at least 95% the chosen value ranks within ' + num(a.rank_error95) + ' learners of the best one.');
	}
	const ci = Array.isArray(a.ci95) ? a.ci95 : [null, null];
	return el('p', {'data-testid': 'analyst-value'}, 'Value: ' + num(a.value) + ', 95% interval ' + num(ci[0]) + ' to ' +
		num(ci[1]) + ' (the interval covers the noise, not the clamping to the bounds).');
}

function answerFacts(a) {
	const split = a.split && typeof a.split === 'object'
		? Object.entries(a.split).map(([k, v]) => k + ' ' + num(v)).join(', ') : null;
	return el('dl', {class: 'kv'},
		el('dt', null, 'ε spent'), el('dd', {'data-testid': 'analyst-epsilon'}, num(a.epsilon) +
			(a.cached ? ' (cached answer: this request cost nothing)' : '')),
		el('dt', null, 'Mechanism'), el('dd', {'data-testid': 'analyst-mechanism-out'}, String(a.mechanism) +
			(a.delta ? ', δ = ' + num(a.delta) : '')),
		split ? [el('dt', null, 'ε split'), el('dd', null, split)] : null,
		el('dt', null, 'Noisy number of learners'), el('dd', null, num(a.noisy_learners)),
		el('dt', null, 'Smallest group released'), el('dd', null, num(a.min_cohort)),
		el('dt', null, 'Budget left after it'), el('dd', null, num(a.budget_remaining) + ' ε in a ' +
			num(a.budget_window_days) + '-day window' + (a.cached ? ' (as when first answered)' : '')),
		el('dt', null, 'Question id'), el('dd', {class: 'mono'}, String(a.query_id)),
		el('dt', null, 'Purpose and policy version'), el('dd', null, String(a.purpose) + ', version ' + num(a.policy_version)),
		el('dt', null, 'Released'), el('dd', null, fmtTime(a.released) + ' (' + String(a.released) + ')'),
		el('dt', null, 'Cached'), el('dd', {'data-testid': 'analyst-cached'}, a.cached ? 'yes — cached, cost nothing' : 'no'));
}

function showAnswer(a) {
	const data = chartData(a);
	const parts = [
		el('h3', null, (METRIC_NAMES[a.metric] || a.metric) + (a.field ? ' of ' + a.field : '') + ' — ' + a.purpose),
		headline(a),
		answerFacts(a),
	];
	if (data.length) {
		parts.push(chart({
			title: 'Answer to ' + a.query_id + ' with its 95% interval',
			data,
			kind: Array.isArray(a.value) || a.metric === 'count' ? 'bar' : 'point',
			xLabel: Array.isArray(a.value) ? 'Bucket' : 'Answer',
			yLabel: a.metric === 'count' || Array.isArray(a.value) ? 'Learners (noisy)' : 'Value',
			format: (v) => String(v),
			testid: 'analyst-chart',
		}));
	}
	if (typeof a.receipt === 'string') {
		parts.push(el('details', null,
			el('summary', null, 'Release receipt (signed by the node)'),
			el('p', null, 'An auditor checks it against the log with learnvault audit verify --receipt FILE.'),
			el('pre', {class: 'mono', 'data-testid': 'analyst-receipt'}, a.receipt),
			el('button', {type: 'button', class: 'btn', on: {click: () => downloadBlob(
				new Blob([a.receipt], {type: 'text/plain'}), 'receipt-' + a.query_id + '.txt')}}, 'Download the receipt')));
	}
	replace($('answer'), parts);
}

function showHistory() {
	const rows = [...state.history].reverse();
	const interval = (a) => (Array.isArray(a.ci95) && typeof a.ci95[0] === 'number' ? num(a.ci95[0]) + ' to ' +
		num(a.ci95[1]) : Array.isArray(a.ci95) ? 'one per bucket' : a.suppressed ? 'withheld' : 'none');
	const value = (a) => (a.suppressed ? 'suppressed' : Array.isArray(a.value) ? a.value.length + ' buckets' : num(a.value));
	const hist = table({
		caption: 'Releases in this session, newest first',
		testid: 'analyst-history-table',
		empty: 'No answers yet.',
		columns: [
			{label: 'Released', value: (a) => fmtTime(a.released)},
			{label: 'Question id', value: (a) => String(a.query_id)},
			{label: 'Purpose', value: (a) => String(a.purpose)},
			{label: 'Question', value: (a) => String(a.metric) + (a.field ? ' of ' + a.field : '')},
			{label: 'Value', numeric: true, value},
			{label: '95% interval', value: interval},
			{label: 'Cost', value: (a) => (a.cached ? 'cached — cost nothing' : num(a.epsilon) + ' ε')},
			{label: 'Budget left', numeric: true, value: (a) => num(a.budget_remaining) + (a.cached ? ' (then)' : '')},
		],
		rows,
	});
	replace($('history'), hist);
	// The budget over time: what each fresh answer said was left. Cached
	// answers repeat an old number and are left out of the line.
	const fresh = state.history.filter((a) => !a.cached && typeof a.budget_remaining === 'number');
	replace($('budget-chart'), fresh.length ? chart({
		title: 'Budget left after each answer (ε)',
		data: fresh.map((a) => ({label: fmtTime(a.released) + ' ' + a.purpose, value: a.budget_remaining})),
		kind: 'point',
		xLabel: 'Answer',
		yLabel: 'ε left',
		yMin: 0,
		format: (v) => String(v),
		testid: 'analyst-budget-chart',
	}) : el('p', null, 'The budget chart appears after the first answer that spent ε.'));
}

// The form's own error line (role=alert): hidden when empty so no empty box shows.
function formError(msg) {
	const box = $('form-error');
	box.textContent = msg;
	box.hidden = !msg;
}

async function ask(ev) {
	ev.preventDefault();
	formError('');
	let q;
	try {
		q = buildQuery();
	} catch (e) {
		formError(e.message);
		return;
	}
	$('ask').disabled = true;
	setStatus('Asking…');
	try {
		const a = await post('/aggregate', q);
		state.history.push(a);
		showAnswer(a);
		showHistory();
		$('budget').textContent = budgetText($('purpose').value);
		setStatus(a.suppressed ? 'Answer received: suppressed (too few learners).'
			: a.cached ? 'Stored answer returned: it cost nothing.' : 'Answer received.', 'ok');
		$('answer-h').focus();
	} catch (e) {
		const msg = e && e.status === 429
			? 'This purpose has spent its privacy budget for the current window: no more answers until older releases leave it. (' + errorText(e) + ')'
			: errorText(e);
		formError(msg);
		setStatus(msg, 'error');
	} finally {
		$('ask').disabled = false;
	}
}

async function main() {
	state.session = await initPage({roles: ['analyst']});
	const purposes = Array.isArray(state.session.purposes) ? state.session.purposes : [];
	const list = await get('/policies');
	for (const p of Array.isArray(list) ? list : []) {
		const cur = state.policies.get(p.id);
		if (purposes.includes(p.id) && p.policy && (!cur || p.version > cur.version))
			state.policies.set(p.id, p);
	}
	replace($('purpose'), purposes.map((id) => option(id, policyOf(id) ? id + ' — ' + policyOf(id).policy.title : id +
		' (no policy loaded)')));
	if (!purposes.length)
		formError('Your credential is bound to no purpose: ask the administrator to bind one.');
	$('purpose').addEventListener('change', onPurpose);
	$('metric').addEventListener('change', onMetric);
	$('hist-by').addEventListener('change', onMetric);
	$('field').addEventListener('change', onMetric);
	$('ask-form').addEventListener('submit', ask);
	onPurpose();
	showHistory();
}

main().catch((e) => {
	if (!(e && (e.status === 401 || e.status === 403)))
		setStatus(errorText(e), 'error');
});
