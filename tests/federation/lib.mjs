// Shared pieces of learnvault's npm test tooling (mock aggregators, collector,
// cross-checks).  TEST TOOLING ONLY.  The pinned @divviup packages are loaded
// from LV_NPM_DIR (a node_modules directory that `tools/dev test` fills from
// package-lock.json, outside the repository), or, when that is unset, from the
// cache path tools/dev would use.  @divviup/dap 0.9.1 exports only its client
// (Task); its message classes are imported from their dist files by absolute
// path, which bypasses the package's "exports" map on purpose: the mock decodes
// with the same Parser and re-encodes with the same classes a Janus-compatible
// client uses.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

export function npmDir() {
  let dir = process.env.LV_NPM_DIR;
  if (!dir) {
    const lock = readFileSync(join(here, "package-lock.json"));
    const sum = createHash("sha256").update(lock).digest("hex").slice(0, 12);
    const cache = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
    dir = join(cache, "learnvault", `npm-${sum}`, "node_modules");
  }
  if (!existsSync(join(dir, "@divviup", "dap", "package.json")))
    throw new Error(`@divviup/dap not found under ${dir} (run tools/dev test, or set LV_NPM_DIR)`);
  return dir;
}

async function load(rel) {
  return import(pathToFileURL(join(npmDir(), rel)).href);
}

// Everything the tools use, loaded once.
export async function loadNpm() {
  const [prio3, dap, enc, report, cipher, config, reportId, taskId, hpke] = await Promise.all([
    load("@divviup/prio3/dist/index.js"),
    load("@divviup/dap/dist/index.js"),
    load("@divviup/dap/dist/encoding.js"),
    load("@divviup/dap/dist/report.js"),
    load("@divviup/dap/dist/ciphertext.js"),
    load("@divviup/dap/dist/hpkeConfig.js"),
    load("@divviup/dap/dist/reportId.js"),
    load("@divviup/dap/dist/taskId.js"),
    load("hpke-js/esm/mod.js"),
  ]);
  const suite = new hpke.CipherSuite({
    kem: hpke.KemId.DhkemX25519HkdfSha256,
    kdf: hpke.KdfId.HkdfSha256,
    aead: hpke.AeadId.Aes128Gcm,
  });
  return {
    prio3,
    Task: dap.Task,
    Parser: enc.Parser,
    ...report, // Report, ReportMetadata, PlaintextInputShare, InputShareAad, InputShareInfo
    HpkeCiphertext: cipher.HpkeCiphertext,
    HpkeConfig: config.HpkeConfig,
    HpkeConfigList: config.HpkeConfigList,
    ReportId: reportId.ReportId,
    TaskId: taskId.TaskId,
    hpke,
    suite,
  };
}

export const ROLE = { client: 1, leader: 2, helper: 3 };
export const DAP_ERROR = "urn:ietf:params:ppm:dap:error:";

export const hex = (b) => Buffer.from(b).toString("hex");
export function unhex(s, what = "hex") {
  if (typeof s !== "string" || !/^([0-9a-fA-F]{2})*$/.test(s)) throw new Error(`${what}: not hex`);
  return Buffer.from(s, "hex");
}
export const b64url = (b) => Buffer.from(b).toString("base64url");
export function unb64url(s, len, what = "base64url") {
  if (typeof s !== "string" || !/^[A-Za-z0-9_-]*$/.test(s)) throw new Error(`${what}: not base64url`);
  const b = Buffer.from(s, "base64url");
  if (len !== undefined && b.length !== len) throw new Error(`${what}: expected ${len} bytes, got ${b.length}`);
  return b;
}

// A task's "vdaf" object ({type, bits, length, chunk_length}) as a Prio3
// instance with two shares.
export function vdafFromSpec(npm, spec) {
  const P = npm.prio3;
  switch (spec && spec.type) {
    case "Prio3Count":
      return new P.Prio3Count({ shares: 2 });
    case "Prio3Sum":
      return new P.Prio3Sum({ shares: 2, bits: spec.bits });
    case "Prio3SumVec":
      return new P.Prio3SumVec({ shares: 2, bits: spec.bits, length: spec.length, chunkLength: spec.chunk_length });
    case "Prio3Histogram":
      return new P.Prio3Histogram({ shares: 2, length: spec.length, chunkLength: spec.chunk_length });
    default:
      throw new Error(`unknown vdaf type ${spec && spec.type}`);
  }
}

// A measurement from its JSON/CLI form into what @divviup/prio3 takes.
export function measurementFor(spec, m) {
  switch (spec.type) {
    case "Prio3Count":
      return m === true || m === 1 || m === "1" || m === "true";
    case "Prio3Sum":
      return typeof m === "string" ? BigInt(m) : m;
    case "Prio3SumVec":
      return (typeof m === "string" ? JSON.parse(m) : m).map(Number);
    case "Prio3Histogram":
      return Number(m);
  }
  throw new Error(`unknown vdaf type ${spec.type}`);
}

// The aggregate result as plain JSON (bigints as numbers when exact, else strings).
export function jsonResult(r) {
  const one = (x) => (typeof x === "bigint" ? (x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x.toString()) : x);
  return Array.isArray(r) ? r.map(one) : one(r);
}

// --- Prio3 wire decoding (the npm package encodes but does not decode) ---

const USAGE_MEASUREMENT_SHARE = 1;
const USAGE_PROOF_SHARE = 2;

export function leaderInputShareLen(vdaf) {
  const { flp, proofs } = vdaf;
  const es = flp.field.encodedSize;
  return (flp.measurementLen + flp.proofLen * proofs) * es + (flp.jointRandLen ? vdaf.xof.seedSize : 0);
}

export function helperInputShareLen(vdaf) {
  return vdaf.xof.seedSize * (vdaf.flp.jointRandLen ? 3 : 2);
}

export function decodePublicShare(vdaf, bytes) {
  const ss = vdaf.xof.seedSize;
  const want = vdaf.flp.jointRandLen ? ss * vdaf.shares : 0;
  if (bytes.length !== want) throw new Error(`public share: ${bytes.length} bytes, expected ${want}`);
  const jointRandParts = [];
  for (let i = 0; i < want; i += ss) jointRandParts.push(Buffer.from(bytes.subarray(i, i + ss)));
  return { jointRandParts };
}

// VDAF-08 Prio3 input share of aggregator aggId: the leader's carries the field
// vectors, a helper's the seeds they are expanded from.
export async function decodeInputShare(vdaf, aggId, bytes) {
  const { flp, proofs, xof } = vdaf;
  const field = flp.field;
  const es = field.encodedSize;
  const ss = xof.seedSize;
  const jr = flp.jointRandLen !== 0;
  if (aggId === 0) {
    if (bytes.length !== leaderInputShareLen(vdaf))
      throw new Error(`leader input share: ${bytes.length} bytes, expected ${leaderInputShareLen(vdaf)}`);
    const ml = flp.measurementLen * es;
    const pl = flp.proofLen * proofs * es;
    return {
      measurementShare: field.decode(bytes.subarray(0, ml)),
      proofsShare: field.decode(bytes.subarray(ml, ml + pl)),
      blind: Buffer.from(bytes.subarray(ml + pl)),
    };
  }
  if (bytes.length !== helperInputShareLen(vdaf))
    throw new Error(`helper input share: ${bytes.length} bytes, expected ${helperInputShareLen(vdaf)}`);
  const mseed = bytes.subarray(0, ss);
  const pseed = bytes.subarray(ss, 2 * ss);
  return {
    measurementShare: await xof.expandIntoVec(field, mseed, vdaf.domainSeparationTag(USAGE_MEASUREMENT_SHARE),
      Buffer.of(aggId), flp.measurementLen),
    proofsShare: await xof.expandIntoVec(field, pseed, vdaf.domainSeparationTag(USAGE_PROOF_SHARE),
      Buffer.of(proofs, aggId), flp.proofLen * proofs),
    blind: jr ? Buffer.from(bytes.subarray(2 * ss, 3 * ss)) : Buffer.alloc(0),
  };
}

export function decodePrepShare(vdaf, bytes) {
  const { flp, proofs } = vdaf;
  const vl = flp.verifierLen * proofs * flp.field.encodedSize;
  const jl = flp.jointRandLen ? vdaf.xof.seedSize : 0;
  if (bytes.length !== vl + jl) throw new Error(`prep share: ${bytes.length} bytes, expected ${vl + jl}`);
  return {
    verifiersShare: flp.field.decode(bytes.subarray(0, vl)),
    jointRandomnessPart: Buffer.from(bytes.subarray(vl)),
  };
}

export function decodeAggShare(vdaf, bytes) {
  const v = vdaf.flp.field.decode(bytes);
  if (v.length !== vdaf.flp.outputLen) throw new Error(`aggregate share: ${v.length} elements, expected ${vdaf.flp.outputLen}`);
  return v;
}

// --- DAP-09 messages: strict decoding with @divviup/dap's Parser, checked by
// re-encoding with @divviup/dap's classes (the bytes must round-trip) ---

function u32(p) {
  return p.slice(4).readUInt32BE(0);
}
function u64(p) {
  const b = p.slice(8);
  const v = b.readBigUInt64BE(0);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error("time out of range");
  return Number(v);
}
function opaque32(p, cap) {
  const n = u32(p);
  if (n > cap) throw new Error(`opaque field of ${n} bytes exceeds ${cap}`);
  return p.slice(n);
}
function ciphertext(npm, p) {
  const configId = p.uint8();
  const enc = p.opaque16();
  const payload = opaque32(p, 1 << 24);
  return new npm.HpkeCiphertext(configId, enc, payload);
}
function ensureEnd(p, what) {
  if (p.index !== p.buffer.length) throw new Error(`${what}: ${p.buffer.length - p.index} trailing bytes`);
}

export function decodeReport(npm, bytes) {
  const p = new npm.Parser(bytes);
  const reportId = new npm.ReportId(p.slice(16));
  const time = u64(p);
  const metadata = new npm.ReportMetadata(reportId, time);
  const publicShare = opaque32(p, 1 << 20);
  const leader = ciphertext(npm, p);
  const helper = ciphertext(npm, p);
  ensureEnd(p, "report");
  const report = new npm.Report(metadata, publicShare, leader, helper);
  if (!report.encode().equals(Buffer.from(bytes))) throw new Error("report does not re-encode to the same bytes");
  return report;
}

export function decodePlaintextInputShare(npm, bytes) {
  const p = new npm.Parser(bytes);
  const extLen = p.uint16();
  const ext = new npm.Parser(p.slice(extLen));
  const types = new Set();
  while (ext.index < ext.buffer.length) {
    const t = ext.uint16();
    ext.opaque16();
    if (types.has(t)) throw new Error(`duplicate extension ${t}`);
    types.add(t);
  }
  const payload = opaque32(p, 1 << 24);
  ensureEnd(p, "plaintext input share");
  return { extensions: [...types], payload };
}

export function inputShareAad(npm, taskId, report) {
  return new npm.InputShareAad(new npm.TaskId(taskId), report.metadata, report.publicShare).encode();
}
export function inputShareInfo(npm, role) {
  return new npm.InputShareInfo(role).encode();
}

// --- HPKE (hpke-js, the library @divviup/dap seals with) ---

export async function hpkeKeygen(npm) {
  const kp = await npm.suite.kem.generateKeyPair();
  return {
    pk: Buffer.from(await npm.suite.kem.serializePublicKey(kp.publicKey)),
    sk: Buffer.from(await npm.suite.kem.serializePrivateKey(kp.privateKey)),
    key: kp.privateKey,
  };
}

export async function hpkeOpen(npm, sk, enc, info, aad, ct) {
  const key = Buffer.isBuffer(sk) ? await npm.suite.kem.deserializePrivateKey(sk) : sk;
  return Buffer.from(await npm.suite.open({ recipientKey: key, enc, info }, ct, aad));
}

export async function hpkeSeal(npm, pk, info, aad, pt) {
  const recipientPublicKey = await npm.suite.kem.deserializePublicKey(pk);
  const { ct, enc } = await npm.suite.seal({ recipientPublicKey, info }, pt, aad);
  return { enc: Buffer.from(enc), ct: Buffer.from(ct) };
}

export function configList(npm, configs) {
  return new npm.HpkeConfigList(configs.map((c) => new npm.HpkeConfig(c.id, 0x0020, 0x0001, 0x0001, c.pk))).encode();
}

export function randomHex(n) {
  return randomBytes(n).toString("hex");
}
