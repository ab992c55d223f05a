// tlog.js — checking the audit log in the page, with WebCrypto only.
// No DOM here, so the same code runs under node for a quick self-check.
//
// Exports:
//   parseVkey(text) -> {name, id (8 hex), pk (Uint8Array 32)}       throws Error
//   parseNote(text) -> {body (string, the signed text), sigs: [{name, id, sig}]}
//   parseCheckpoint(body) -> {origin, size (number), root (Uint8Array 32), rootB64}
//   verifyNote(note, vkey) -> Promise<{ok, why}>  ok true | false | null (null: browser can't check)
//   leafHash(entryText) -> Promise<Uint8Array>    SHA-256(0x00 || utf8(entry))
//   treeRoot(leafHashes) -> Promise<Uint8Array>   RFC 9162 MTH over the leaf hashes
//   canonicalPolicyText(obj) -> string            docs/policies.md "Canonical text"
//   sha256Hex(text) -> Promise<string>
//   b64decode(s), b64encode(bytes), hex(bytes), equalBytes(a, b)
//
// Formats (src/audit/note.c, checkpoint.c): a verifier key is
// "name+<8 hex key id>+base64(0x01 || ed25519 pk)", the key id being the first
// 4 bytes of SHA-256(name || "\n" || 0x01 || pk). A signed note is its text,
// a blank line, then lines "— name base64(keyid(4) || signature(64))"; the
// signature covers the text through the newline before the blank line.

const enc = new TextEncoder();

export function b64decode(s) {
	if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new Error('not base64');
	const bin = atob(s);
	const out = new Uint8Array(bin.length);
	for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
	return out;
}

export function b64encode(bytes) {
	let bin = '';
	for (const b of bytes) bin += String.fromCharCode(b);
	return btoa(bin);
}

export function hex(bytes) {
	return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function equalBytes(a, b) {
	if (a.length !== b.length) return false;
	let d = 0;
	for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
	return d === 0;
}

function subtle() {
	if (!globalThis.crypto || !globalThis.crypto.subtle)
		throw new Error('WebCrypto is not available here (it needs https or a localhost address)');
	return globalThis.crypto.subtle;
}

async function sha256(bytes) {
	return new Uint8Array(await subtle().digest('SHA-256', bytes));
}

export async function sha256Hex(text) {
	return hex(await sha256(enc.encode(text)));
}

function concat(...parts) {
	const n = parts.reduce((s, p) => s + p.length, 0);
	const out = new Uint8Array(n);
	let o = 0;
	for (const p of parts) {
		out.set(p, o);
		o += p.length;
	}
	return out;
}

async function keyId(name, pk) {
	const d = await sha256(concat(enc.encode(name), new Uint8Array([0x0a, 0x01]), pk));
	return hex(d.subarray(0, 4));
}

export function parseVkey(text) {
	const t = text.trim();
	const p1 = t.indexOf('+');
	const p2 = p1 < 0 ? -1 : t.indexOf('+', p1 + 1);
	if (p1 <= 0 || p2 !== p1 + 9) throw new Error('a verifier key reads name+keyid+base64');
	const name = t.slice(0, p1);
	const id = t.slice(p1 + 1, p2).toLowerCase();
	if (!/^[0-9a-f]{8}$/.test(id)) throw new Error('the key id is not 8 hex digits');
	const blob = b64decode(t.slice(p2 + 1));
	if (blob.length !== 33 || blob[0] !== 0x01) throw new Error('not an Ed25519 verifier key');
	return { name, id, pk: blob.subarray(1) };
}

export function parseNote(text) {
	const blank = text.lastIndexOf('\n\n');
	if (blank < 0 || !text.endsWith('\n')) throw new Error('not a signed note (no blank line before the signatures)');
	const body = text.slice(0, blank + 1);
	const sigs = [];
	for (const line of text.slice(blank + 2, -1).split('\n')) {
		if (!line.startsWith('\u2014 ')) throw new Error('a signature line does not start with an em dash');
		const rest = line.slice(2);
		const sp = rest.indexOf(' ');
		if (sp <= 0) throw new Error('a signature line has no key name');
		const raw = b64decode(rest.slice(sp + 1));
		if (raw.length < 5) throw new Error('a signature is too short');
		sigs.push({ name: rest.slice(0, sp), id: hex(raw.subarray(0, 4)), sig: raw.subarray(4) });
	}
	return { body, sigs };
}

export function parseCheckpoint(body) {
	const lines = body.split('\n');
	if (lines.length < 4 || !/^[0-9]{1,19}$/.test(lines[1])) throw new Error('not a checkpoint');
	const size = Number(lines[1]);
	if (!Number.isSafeInteger(size)) throw new Error('checkpoint size too large for this page');
	const root = b64decode(lines[2]);
	if (root.length !== 32) throw new Error('checkpoint root is not 32 bytes');
	return { origin: lines[0], size, root, rootB64: lines[2] };
}

// ok: true (signed by that key), false (not), null (this browser cannot
// check Ed25519: said, never passed as verified).
export async function verifyNote(note, vkeyText) {
	let v, n;
	try {
		v = parseVkey(vkeyText);
		n = parseNote(note);
	} catch (e) {
		return { ok: false, why: e.message };
	}
	if ((await keyId(v.name, v.pk)) !== v.id) return { ok: false, why: 'the key id does not match the key (corrupt key)' };
	const mine = n.sigs.filter((s) => s.name === v.name && s.id === v.id);
	if (mine.length === 0) return { ok: false, why: 'no signature by this key on the checkpoint' };
	let key;
	try {
		key = await subtle().importKey('raw', v.pk, { name: 'Ed25519' }, false, ['verify']);
	} catch (e) {
		return { ok: null, why: 'this browser cannot verify Ed25519 signatures (WebCrypto Ed25519 is missing)' };
	}
	for (const s of mine) {
		if (s.sig.length !== 64) return { ok: false, why: 'the signature is not 64 bytes' };
		if (!(await subtle().verify({ name: 'Ed25519' }, key, s.sig, enc.encode(n.body))))
			return { ok: false, why: 'the signature does not verify with this key' };
	}
	return { ok: true, why: 'signed by ' + v.name + ' (key ' + v.id + ')' };
}

export async function leafHash(entryText) {
	return sha256(concat(new Uint8Array([0x00]), enc.encode(entryText)));
}

async function nodeHash(l, r) {
	return sha256(concat(new Uint8Array([0x01]), l, r));
}

// RFC 9162 §2.1.1: complete subtrees are merged as soon as two of the same
// size meet; what is left is folded right to left, which is MTH's split at
// the largest power of two below n.
export async function treeRoot(leaves) {
	if (leaves.length === 0) return sha256(new Uint8Array(0));
	const stack = [];
	for (const h of leaves) {
		let cur = { h, n: 1 };
		while (stack.length && stack[stack.length - 1].n === cur.n) {
			const l = stack.pop();
			cur = { h: await nodeHash(l.h, cur.h), n: l.n * 2 };
		}
		stack.push(cur);
	}
	let r = stack.pop().h;
	while (stack.length) r = await nodeHash(stack.pop().h, r);
	return r;
}

// C's printf %.<p>g, as cJSON uses it.
function fmtG(x, p) {
	if (x === 0) return '0';
	const e = Number(x.toExponential(p - 1).split('e')[1]);
	let s;
	if (e < -4 || e >= p) {
		let [m, ex] = x.toExponential(p - 1).split('e');
		if (m.includes('.')) m = m.replace(/0+$/, '').replace(/\.$/, '');
		const sign = ex[0] === '-' ? '-' : '+';
		const digits = ex.replace(/^[-+]/, '').padStart(2, '0');
		s = m + 'e' + sign + digits;
	} else {
		s = x.toFixed(Math.max(0, p - 1 - e));
		if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
	}
	return s;
}

// cJSON 1.7's number printing: an int-valued number as %d, else %1.15g,
// or %1.17g when that does not read back as the same double; -0 is 0.
function cjsonNumber(x) {
	if (!Number.isFinite(x)) return 'null';
	if (Number.isInteger(x) && Math.abs(x) <= 2147483647) return String(x === 0 ? 0 : x);
	const s = fmtG(x, 15);
	return Number(s) === x ? s : fmtG(x, 17);
}

// cJSON escapes only '"', '\\' and C0 controls (\b \f \n \r \t by name,
// others as \u00xx); JSON.stringify does the same for the strings a policy
// may hold (valid UTF-8, no lone surrogates).
function canon(v) {
	if (v === null) return 'null';
	if (typeof v === 'boolean') return v ? 'true' : 'false';
	if (typeof v === 'number') return cjsonNumber(v);
	if (typeof v === 'string') return JSON.stringify(v);
	if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']';
	const keys = Object.keys(v).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
	return '{' + keys.map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}';
}

export function canonicalPolicyText(obj) {
	return canon(obj);
}
