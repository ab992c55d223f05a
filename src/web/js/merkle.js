// merkle.js — RFC 9162 inclusion proofs checked in the browser with WebCrypto.
//
// The audit log's leaves are the exact bytes of each entry (compact JSON,
// UTF-8): leaf hash = SHA-256(0x00 || entry), node hash =
// SHA-256(0x01 || left || right). The proof of entry `index` in the tree of
// `size` entries is the list of sibling hashes, leaf upwards, each base64
// (standard alphabet), as GET /learner/access-report and
// /audit/proof/inclusion return them. The walk is RFC 9162 section 2.1.3.2,
// the same as lv_merkle_verify_inclusion in src/audit/merkle.c, including
// its final "sn == 0" check (without it a proof for a smaller tree could
// pass).
//
// Exports (stable):
//   parseCheckpoint(note) -> {origin, size (BigInt), root (Uint8Array 32),
//       rootB64, signatures: [string]}   throws Error on a malformed note
//   leafHash(entryText) -> Promise<Uint8Array>
//   verifyInclusion(index, size, entryText, proofB64[], root) -> Promise<boolean>
//   b64decode(s) -> Uint8Array   (throws on bad input)

const HLEN = 32;
const MAX_PROOF = 64;

export function b64decode(s) {
	if (typeof s !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0)
		throw new Error('bad base64');
	const bin = atob(s);
	const out = new Uint8Array(bin.length);
	for (let i = 0; i < bin.length; i++)
		out[i] = bin.charCodeAt(i);
	return out;
}

async function sha256(...parts) {
	let len = 0;
	for (const p of parts)
		len += p.length;
	const buf = new Uint8Array(len);
	let off = 0;
	for (const p of parts) {
		buf.set(p, off);
		off += p.length;
	}
	return new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
}

const ZERO = new Uint8Array([0x00]);
const ONE = new Uint8Array([0x01]);

export function leafHash(entryText) {
	return sha256(ZERO, new TextEncoder().encode(entryText));
}

function nodeHash(left, right) {
	return sha256(ONE, left, right);
}

function equal(a, b) {
	if (a.length !== b.length)
		return false;
	let d = 0;
	for (let i = 0; i < a.length; i++)
		d |= a[i] ^ b[i];
	return d === 0;
}

// C2SP tlog-checkpoint: "origin\nsize\nroot-base64\n[extensions]\n\n— signatures".
export function parseCheckpoint(note) {
	if (typeof note !== 'string')
		throw new Error('checkpoint missing');
	const blank = note.indexOf('\n\n');
	const body = blank >= 0 ? note.slice(0, blank) : note;
	const lines = body.split('\n');
	if (lines.length < 3 || !lines[0] || !/^(0|[1-9][0-9]{0,19})$/.test(lines[1]))
		throw new Error('malformed checkpoint');
	const root = b64decode(lines[2]);
	if (root.length !== HLEN)
		throw new Error('malformed checkpoint root');
	const sigs = blank >= 0 ? note.slice(blank + 2).split('\n').filter((l) => l.length) : [];
	return {origin: lines[0], size: BigInt(lines[1]), root, rootB64: lines[2], signatures: sigs};
}

export async function verifyInclusion(index, size, entryText, proofB64, root) {
	let fn, sn;
	try {
		fn = BigInt(index);
		sn = BigInt(size) - 1n;
	} catch (e) {
		return false;
	}
	if (!Array.isArray(proofB64) || proofB64.length > MAX_PROOF || fn < 0n || sn < 0n || fn > sn)
		return false;
	let proof;
	try {
		proof = proofB64.map(b64decode);
	} catch (e) {
		return false;
	}
	if (proof.some((p) => p.length !== HLEN))
		return false;
	let r = await leafHash(entryText);
	for (const p of proof) {
		if (sn === 0n)
			return false;
		if ((fn & 1n) === 1n || fn === sn) {
			r = await nodeHash(p, r);
			while ((fn & 1n) === 0n && fn !== 0n) {
				fn >>= 1n;
				sn >>= 1n;
			}
		} else {
			r = await nodeHash(r, p);
		}
		fn >>= 1n;
		sn >>= 1n;
	}
	return sn === 0n && equal(r, root);
}
