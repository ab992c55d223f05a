// chart.js — a small SVG bar/point chart with optional error bars.
//
// Every chart comes with a <table> of the same numbers beside it (the
// table is the accessible form and the exact one; the drawing is a picture
// of it). Nothing here parses HTML: labels are text nodes.
//
// Exports (stable; other pages build on them):
//   chart(options) -> <figure class="chart">  (SVG + table)
//     options:
//       title      text of the figure caption (required)
//       data       [{label, value, low?, high?}]  numbers; low/high draw an
//                  error bar (e.g. a 95% interval). A null value draws
//                  "n/a" for that item (e.g. a suppressed answer) and the
//                  table shows `missing` for it.
//       kind       "bar" (default) | "point"
//       xLabel, yLabel   axis titles (also the table's column headings)
//       yMin, yMax       fixed scale (default: from the data and 0)
//       format     number -> string for ticks and table (default fmtNumber)
//       intervalLabel    table heading for low/high (default "95% interval")
//       missing    text for a null value (default "not available")
//       testid     data-testid of the figure; the table gets testid + "-table"
//   barChart(options), pointChart(options): chart with kind preset.

import {el, svg, uid, table, fmtNumber} from './dom.js';

const W = 640, H = 300;
const M = {top: 16, right: 16, bottom: 72, left: 64};

function niceStep(span, count) {
	const raw = span / Math.max(1, count);
	const mag = Math.pow(10, Math.floor(Math.log10(raw)));
	const r = raw / mag;
	return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}

function scaleOf(data, opts) {
	const nums = [];
	for (const d of data) {
		for (const v of [d.value, d.low, d.high]) {
			if (typeof v === 'number' && Number.isFinite(v))
				nums.push(v);
		}
	}
	let lo = opts.yMin ?? Math.min(0, ...nums);
	let hi = opts.yMax ?? Math.max(0, ...nums);
	if (!(hi > lo))
		hi = lo + 1;
	const step = niceStep(hi - lo, 5);
	if (opts.yMin === undefined)
		lo = Math.floor(lo / step) * step;
	if (opts.yMax === undefined)
		hi = Math.ceil(hi / step) * step;
	return {lo, hi, step};
}

function truncate(s, n) {
	const t = String(s ?? '');
	return t.length > n ? t.slice(0, n - 1) + '…' : t;
}

function drawAxes(g, sc, y, format, opts) {
	const ticks = [];
	// Bounded: at most ~12 ticks even for an odd fixed scale.
	for (let v = sc.lo, i = 0; v <= sc.hi + sc.step / 1e6 && i < 12; v += sc.step, i++)
		ticks.push(Number(v.toPrecision(12)));
	for (const v of ticks) {
		g.appendChild(svg('line', {class: 'grid', x1: M.left, x2: W - M.right, y1: y(v), y2: y(v)}));
		g.appendChild(svg('text', {class: 'tick', x: M.left - 6, y: y(v) + 4, 'text-anchor': 'end'}, format(v)));
	}
	g.appendChild(svg('line', {class: 'axis', x1: M.left, x2: W - M.right, y1: y(Math.max(sc.lo, Math.min(0, sc.hi))),
		y2: y(Math.max(sc.lo, Math.min(0, sc.hi)))}));
	g.appendChild(svg('line', {class: 'axis', x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom}));
	if (opts.yLabel) {
		g.appendChild(svg('text', {class: 'axis-title', x: 14, y: M.top + (H - M.top - M.bottom) / 2,
			'text-anchor': 'middle', transform: 'rotate(-90 14 ' + (M.top + (H - M.top - M.bottom) / 2) + ')'},
		truncate(opts.yLabel, 40)));
	}
	if (opts.xLabel) {
		g.appendChild(svg('text', {class: 'axis-title', x: M.left + (W - M.left - M.right) / 2, y: H - 6,
			'text-anchor': 'middle'}, truncate(opts.xLabel, 60)));
	}
}

function drawItem(g, d, i, x0, band, y, sc, kind, format) {
	const cx = x0 + band / 2;
	const has = typeof d.value === 'number' && Number.isFinite(d.value);
	const tip = d.label + ': ' + (has ? format(d.value) : 'not available') +
		(typeof d.low === 'number' && typeof d.high === 'number' ? ' (' + format(d.low) + ' to ' + format(d.high) + ')' : '');
	const item = svg('g', {class: 'item'}, svg('title', null, tip));
	if (has && kind === 'bar') {
		const base = y(Math.max(sc.lo, Math.min(0, sc.hi)));
		const top = y(d.value);
		const bw = Math.max(2, band * 0.7);
		item.appendChild(svg('rect', {class: 'bar', x: cx - bw / 2, y: Math.min(base, top), width: bw,
			height: Math.max(1, Math.abs(base - top))}));
	} else if (has) {
		item.appendChild(svg('circle', {class: 'point', cx, cy: y(d.value), r: 5}));
	} else {
		// A missing value (e.g. a suppressed answer) is marked, not left as a gap
		// that reads like zero.
		item.appendChild(svg('text', {class: 'tick missing', x: cx, y: y(Math.max(sc.lo, Math.min(0, sc.hi))) - 6,
			'text-anchor': 'middle'}, 'n/a'));
	}
	if (typeof d.low === 'number' && typeof d.high === 'number' && Number.isFinite(d.low) && Number.isFinite(d.high)) {
		const cap = Math.min(10, band * 0.3);
		item.appendChild(svg('line', {class: 'errorbar', x1: cx, x2: cx, y1: y(d.low), y2: y(d.high)}));
		item.appendChild(svg('line', {class: 'errorbar', x1: cx - cap, x2: cx + cap, y1: y(d.low), y2: y(d.low)}));
		item.appendChild(svg('line', {class: 'errorbar', x1: cx - cap, x2: cx + cap, y1: y(d.high), y2: y(d.high)}));
	}
	g.appendChild(item);
}

export function chart(opts) {
	const data = Array.isArray(opts.data) ? opts.data : [];
	const kind = opts.kind === 'point' ? 'point' : 'bar';
	const format = opts.format || ((v) => fmtNumber(v));
	const sc = scaleOf(data, opts);
	const plotH = H - M.top - M.bottom;
	const y = (v) => M.top + plotH - ((Math.min(sc.hi, Math.max(sc.lo, v)) - sc.lo) / (sc.hi - sc.lo)) * plotH;
	const band = (W - M.left - M.right) / Math.max(1, data.length);
	const titleId = uid('chart');
	const root = svg('svg', {viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-labelledby': titleId,
		preserveAspectRatio: 'xMidYMid meet', focusable: 'false'});
	root.appendChild(svg('title', {id: titleId}, opts.title + ' (the table below gives the same numbers)'));
	const g = svg('g');
	drawAxes(g, sc, y, format, opts);
	// Label every k-th item so labels never overlap (at most ~12 shown).
	const every = Math.max(1, Math.ceil(data.length / 12));
	data.forEach((d, i) => {
		const x0 = M.left + i * band;
		drawItem(g, d, i, x0, band, y, sc, kind, format);
		if (i % every === 0) {
			const lx = x0 + band / 2, ly = H - M.bottom + 14;
			g.appendChild(svg('text', {class: 'tick', x: lx, y: ly, 'text-anchor': 'end',
				transform: 'rotate(-35 ' + lx + ' ' + ly + ')'}, truncate(d.label, 14)));
		}
	});
	root.appendChild(g);

	const hasInterval = data.some((d) => typeof d.low === 'number' || typeof d.high === 'number');
	const ilabel = opts.intervalLabel || '95% interval';
	const missing = opts.missing || 'not available';
	const cols = [
		{label: opts.xLabel || 'Item', value: (d) => String(d.label ?? '')},
		{label: opts.yLabel || 'Value', numeric: true,
			value: (d) => (typeof d.value === 'number' ? format(d.value) : missing)},
	];
	if (hasInterval) {
		cols.push({label: ilabel + ' (low)', numeric: true, value: (d) => (typeof d.low === 'number' ? format(d.low) : '')});
		cols.push({label: ilabel + ' (high)', numeric: true, value: (d) => (typeof d.high === 'number' ? format(d.high) : '')});
	}
	const tbl = table({caption: opts.title + ': the numbers', columns: cols, rows: data,
		testid: opts.testid ? opts.testid + '-table' : null});
	return el('figure', {class: 'chart', 'data-testid': opts.testid},
		el('figcaption', null, opts.title),
		el('div', {class: 'chart-svg'}, root),
		tbl);
}

export const barChart = (opts) => chart(Object.assign({}, opts, {kind: 'bar'}));
export const pointChart = (opts) => chart(Object.assign({}, opts, {kind: 'point'}));
