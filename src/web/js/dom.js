// dom.js — safe DOM helpers and formatters shared by every page.
//
// Why: statement contents, names, labels and policy texts are untrusted.
// Nothing in this module ever parses HTML: text goes in through text nodes,
// attributes through setAttribute with a deny-list of dangerous names, so a
// value such as `<img src=x onerror=alert(1)>` is shown as those characters.
//
// Exports (stable; other pages build on them):
//   el(tag, attrs?, ...children) -> Element
//       attrs: plain object. `class`, `id`, `for`, `type`, `name`, `value`,
//       `role`, `aria-*`, `data-*` (e.g. data-testid), `hidden`, `disabled`,
//       `checked`, `required`, `min`, `max`, `step`, `href` (relative,
//       http(s), mailto: or blob: only), ... A value of null/undefined/false leaves the
//       attribute out; true sets it to "". `on*` handlers, `style`,
//       `srcdoc` and `innerHTML`-like names throw. Event listeners: pass
//       `{on: {click: fn}}`. Children: strings/numbers become text nodes,
//       Nodes are appended, arrays are flattened, null/undefined/false skipped.
//   svg(tag, attrs?, ...children) -> SVGElement (same rules, SVG namespace)
//   text(value) -> Text node
//   clear(node) -> node (all children removed)
//   replace(node, ...children) -> node (clear, then append as el does)
//   byTestId(id, root?) -> Element|null
//   uid(prefix) -> a fresh id string for label/for pairs
//   field(label, control, hint?) -> <div class="field"> with a <label for>
//       wired to control (given an id if it has none) and an optional hint
//       linked with aria-describedby
//   table({caption, columns, rows, testid, empty}) -> <div class="table-wrap">
//       columns: [{label, value: row => string|number|Node, numeric?}]
//   setStatus(message, kind?) -> writes into the page's aria-live region
//       (#status); kind "error" | "ok" | "info" (default "info")
//   downloadBlob(blob, filename) -> starts a download of blob
//   formatters: fmtTime(iso|ms) (local date+time), fmtDate(iso|ms),
//       fmtDay(iso|ms) ("YYYY-MM-DD", UTC), fmtNumber(x, digits?),
//       fmtPercent(x, digits?) (x in 0..1), fmtDuration(days),
//       shortHash(s, n?) (first n chars + "…")

const FORBIDDEN_ATTR = /^(on|style$|srcdoc$|innerhtml$|outerhtml$|formaction$|action$|xlink:href$)/i;
const SVG_NS = 'http://www.w3.org/2000/svg';

function safeUrl(v) {
	const s = String(v);
	// Relative paths, fragments, http(s), mailto: and blob: URLs only: never javascript: or data:.
	if (/^(\/(?!\/)|#|\.\/|\?)/.test(s))
		return s;
	try {
		const u = new URL(s, location.href);
		if (u.protocol === 'https:' || u.protocol === 'http:' || u.protocol === 'blob:' || u.protocol === 'mailto:')
			return s;
	} catch (e) {
		// fall through
	}
	throw new Error('el: refused URL ' + s.slice(0, 40));
}

function setAttrs(node, attrs) {
	if (!attrs)
		return;
	for (const [k, v] of Object.entries(attrs)) {
		if (k === 'on') {
			for (const [ev, fn] of Object.entries(v || {}))
				node.addEventListener(ev, fn);
			continue;
		}
		if (FORBIDDEN_ATTR.test(k))
			throw new Error('el: attribute not allowed: ' + k);
		if (v === null || v === undefined || v === false)
			continue;
		if (k === 'value' && 'value' in node && node.tagName !== 'BUTTON') {
			node.value = String(v);
			continue;
		}
		if (k === 'href' || k === 'src')
			node.setAttribute(k, safeUrl(v));
		else
			node.setAttribute(k === 'className' ? 'class' : k === 'htmlFor' ? 'for' : k, v === true ? '' : String(v));
	}
}

function append(node, children) {
	for (const c of children) {
		if (c === null || c === undefined || c === false)
			continue;
		if (Array.isArray(c))
			append(node, c);
		else if (c instanceof Node)
			node.appendChild(c);
		else
			node.appendChild(document.createTextNode(String(c)));
	}
	return node;
}

export function el(tag, attrs, ...children) {
	if (/^(script|style|iframe|object|embed|template)$/i.test(tag))
		throw new Error('el: tag not allowed: ' + tag);
	const node = document.createElement(tag);
	setAttrs(node, attrs);
	return append(node, children);
}

export function svg(tag, attrs, ...children) {
	if (/^(script|style|foreignObject|a)$/i.test(tag))
		throw new Error('svg: tag not allowed: ' + tag);
	const node = document.createElementNS(SVG_NS, tag);
	setAttrs(node, attrs);
	return append(node, children);
}

export function text(value) {
	return document.createTextNode(value === null || value === undefined ? '' : String(value));
}

export function clear(node) {
	while (node.firstChild)
		node.removeChild(node.firstChild);
	return node;
}

export function replace(node, ...children) {
	clear(node);
	return append(node, children);
}

export function byTestId(id, root = document) {
	return root.querySelector('[data-testid="' + CSS.escape(id) + '"]');
}

let uidCounter = 0;
export function uid(prefix = 'lv') {
	uidCounter += 1;
	return prefix + '-' + uidCounter;
}

export function field(label, control, hint) {
	if (!control.id)
		control.id = uid('f');
	const parts = [el('label', {for: control.id}, label), control];
	if (hint) {
		const hid = uid('hint');
		parts.push(el('p', {class: 'hint', id: hid}, hint));
		const prev = control.getAttribute('aria-describedby');
		control.setAttribute('aria-describedby', prev ? prev + ' ' + hid : hid);
	}
	return el('div', {class: 'field'}, parts);
}

export function table({caption, columns, rows, testid, empty = 'Nothing to show.'}) {
	const head = el('tr', null, columns.map((c) => el('th', {scope: 'col', class: c.numeric ? 'num' : null}, c.label)));
	const body = el('tbody');
	for (const r of rows) {
		body.appendChild(el('tr', null, columns.map((c) => {
			const v = c.value(r);
			return el('td', {class: c.numeric ? 'num' : null}, v === null || v === undefined ? '—' : v);
		})));
	}
	if (!rows.length)
		body.appendChild(el('tr', null, el('td', {colspan: columns.length}, empty)));
	// A focusable, labelled scroll container: wide tables scroll inside it at
	// 320 px instead of widening the page.
	const capId = uid('cap');
	return el('div', {class: 'table-wrap', tabindex: 0, role: 'region', 'aria-labelledby': capId},
		el('table', {'data-testid': testid},
			el('caption', {id: capId}, caption), el('thead', null, head), body));
}

export function setStatus(message, kind = 'info') {
	const region = document.getElementById('status');
	if (!region)
		return;
	region.dataset.kind = kind;
	// Cleared first so that the same message said twice is announced twice.
	region.textContent = '';
	window.setTimeout(() => {
		region.textContent = message;
	}, 50);
}

export function downloadBlob(blob, filename) {
	const url = URL.createObjectURL(blob);
	const a = el('a', {href: url, download: filename, class: 'visually-hidden'}, filename);
	document.body.appendChild(a);
	a.click();
	a.remove();
	// Revoked later: revoking at once can cancel the download in some browsers.
	window.setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function toDate(v) {
	if (v === null || v === undefined || v === '')
		return null;
	const d = typeof v === 'number' ? new Date(v) : new Date(String(v));
	return Number.isNaN(d.getTime()) ? null : d;
}

export function fmtTime(v) {
	const d = toDate(v);
	if (!d)
		return v === null || v === undefined ? '' : String(v);
	return d.toLocaleString(undefined, {year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit',
		minute: '2-digit'});
}

export function fmtDate(v) {
	const d = toDate(v);
	if (!d)
		return v === null || v === undefined ? '' : String(v);
	return d.toLocaleDateString(undefined, {year: 'numeric', month: 'short', day: 'numeric'});
}

export function fmtDay(v) {
	const d = toDate(v);
	return d ? d.toISOString().slice(0, 10) : '';
}

export function fmtNumber(x, digits) {
	if (typeof x !== 'number' || !Number.isFinite(x))
		return x === null || x === undefined ? '' : String(x);
	if (digits === undefined)
		return x.toLocaleString();
	return x.toLocaleString(undefined, {minimumFractionDigits: digits, maximumFractionDigits: digits});
}

export function fmtPercent(x, digits = 0) {
	if (typeof x !== 'number' || !Number.isFinite(x))
		return '';
	return fmtNumber(x * 100, digits) + '%';
}

export function fmtDuration(days) {
	if (typeof days !== 'number' || !Number.isFinite(days))
		return '';
	if (days % 365 === 0)
		return days / 365 === 1 ? '1 year' : days / 365 + ' years';
	if (days % 30 === 0 && days >= 60)
		return days / 30 + ' months';
	return days === 1 ? '1 day' : days + ' days';
}

export function shortHash(s, n = 12) {
	const t = String(s ?? '');
	return t.length > n ? t.slice(0, n) + '…' : t;
}
