#!/usr/bin/env node
// Cross-checks of learnvault's C federation code (through tests/fedtool)
// against the pinned @divviup packages.  TEST TOOLING ONLY.
//   node crosscheck.mjs CASE [ARG] --fedtool PATH
// Exits 0 printing "ok: ..." on success; on a mismatch exits 1 with the
// reason on stderr (tests/test-fednpm.c fails the Check test with it).
import { execFileSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  loadNpm, vdafFromSpec, measurementFor, hex, unhex, b64url, ROLE, decodeReport, decodePlaintextInputShare,
  decodeInputShare, decodePublicShare, inputShareAad, inputShareInfo, hpkeKeygen, hpkeOpen, hpkeSeal,
  configList, jsonResult, unb64url, DAP_ERROR,
} from "./lib.mjs";

// The VDAF instances under test.  Histogram's chunk length 4 is what Janus
// (prio-rs optimal_chunk_length) picks for length 10; SumVec is checked with
// chunk length 3 and with prio-rs's choice for 80 encoded elements, 12.
const SPECS = {
  Count: { type: "Prio3Count" },
  Sum: { type: "Prio3Sum", bits: 8 },
  SumVec: { type: "Prio3SumVec", bits: 8, length: 10, chunk_length: 3 },
  SumVec12: { type: "Prio3SumVec", bits: 8, length: 10, chunk_length: 12 },
  Histogram: { type: "Prio3Histogram", length: 10, chunk_length: 4 },
};
const ROUNDS = 6;

class Mismatch extends Error {}
function expect(cond, msg) {
  if (!cond) throw new Mismatch(msg);
}

let FEDTOOL = null;
function fedtool(...args) {
  try {
    return JSON.parse(execFileSync(FEDTOOL, args.map(String), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
  } catch (e) {
    const err = (e.stderr || "").toString().trim();
    throw new Mismatch(`fedtool ${args[0]} failed (${e.status ?? e.message}): ${err}`);
  }
}

// A random valid measurement in its JSON form (what fedtool takes) and the
// plain sum it contributes.
function randomMeasurement(spec) {
  switch (spec.type) {
    case "Prio3Count":
      return randomInt(2);
    case "Prio3Sum":
      return randomInt(1 << spec.bits);
    case "Prio3SumVec":
      return Array.from({ length: spec.length }, () => randomInt(1 << spec.bits));
    case "Prio3Histogram":
      return randomInt(spec.length);
  }
}
function addPlain(spec, acc, m) {
  if (spec.type === "Prio3SumVec") return (acc || new Array(spec.length).fill(0)).map((x, i) => x + m[i]);
  if (spec.type === "Prio3Histogram") {
    const a = acc || new Array(spec.length).fill(0);
    a[m]++;
    return a;
  }
  return (acc || 0) + Number(m);
}
const measArg = (m) => (Array.isArray(m) ? JSON.stringify(m) : String(m));

function specFor(name) {
  const s = SPECS[name];
  if (!s) throw new Error(`unknown vdaf ${name} (one of ${Object.keys(SPECS).join(", ")})`);
  return s;
}

// Both aggregators' prep of one report from encoded shares: the output
// shares, or a thrown error when prep rejects.
async function prepare(vdaf, verifyKey, nonce, publicShare, inputShares) {
  const states = [];
  for (let agg = 0; agg < 2; agg++) {
    const input = await decodeInputShare(vdaf, agg, inputShares[agg]);
    states.push(await vdaf.prepareInit(verifyKey, agg, null, nonce, decodePublicShare(vdaf, publicShare), input));
  }
  const msg = await vdaf.unshardPreparationShares(null, states.map((s) => s.preparationShare));
  return states.map((s) => vdaf.prepareNext(s.preparationState, msg).outputShare);
}

function sameResult(a, b) {
  return JSON.stringify(jsonResult(a)) === JSON.stringify(jsonResult(b));
}

// C's shards are byte-identical to @divviup/prio3's for the same inputs.
async function caseShard(npm, name) {
  const spec = specFor(name);
  const vdaf = vdafFromSpec(npm, spec);
  for (let i = 0; i < ROUNDS; i++) {
    const m = randomMeasurement(spec);
    const nonce = randomBytes(16);
    const rand = randomBytes(vdaf.randSize);
    const c = fedtool("shard", JSON.stringify(spec), measArg(m), hex(nonce), hex(rand));
    const js = await vdaf.shardEncoded(measurementFor(spec, m), nonce, rand);
    const ctx = `${name} measurement ${measArg(m)} nonce ${hex(nonce)} rand ${hex(rand)}`;
    expect(c.public_share === hex(js.publicShare), `${ctx}: public share differs\n C  ${c.public_share}\n js ${hex(js.publicShare)}`);
    expect(c.input_shares.length === 2, `${ctx}: C gave ${c.input_shares.length} input shares`);
    for (let j = 0; j < 2; j++)
      expect(c.input_shares[j] === hex(js.inputShares[j]),
        `${ctx}: input share ${j} differs\n C  ${c.input_shares[j]}\n js ${hex(js.inputShares[j])}`);
  }
  return `${name}: ${ROUNDS} shards byte-identical`;
}

// C's shares (fresh randomness inside C) prepare with @divviup/prio3 and
// aggregate to the right result; a share with one flipped proof byte fails.
async function casePrep(npm, name) {
  const spec = specFor(name);
  const vdaf = vdafFromSpec(npm, spec);
  const verifyKey = randomBytes(16);
  const outs = [[], []];
  let plain = null;
  for (let i = 0; i < ROUNDS; i++) {
    const m = randomMeasurement(spec);
    const nonce = randomBytes(16);
    const rand = randomBytes(vdaf.randSize);
    const c = fedtool("shard", JSON.stringify(spec), measArg(m), hex(nonce), hex(rand));
    const shares = c.input_shares.map((s) => unhex(s));
    let out;
    try {
      out = await prepare(vdaf, verifyKey, nonce, unhex(c.public_share), shares);
    } catch (e) {
      throw new Mismatch(`${name} measurement ${measArg(m)}: prep of C's shares failed: ${e.message}`);
    }
    outs[0].push(out[0]);
    outs[1].push(out[1]);
    plain = addPlain(spec, plain, m);
    if (i === 0) {
      // The leader share's last field element of the proof (just before the
      // blind, if any): a changed proof must make prep reject.
      const bad = Buffer.from(shares[0]);
      const at = bad.length - (vdaf.flp.jointRandLen ? 16 : 0) - 1;
      bad[at] ^= 0x01;
      let rejected = false;
      try {
        await prepare(vdaf, verifyKey, nonce, unhex(c.public_share), [bad, shares[1]]);
      } catch {
        rejected = true;
      }
      expect(rejected, `${name}: a C share with a flipped proof byte was accepted by prep`);
    }
  }
  const aggs = outs.map((o) => vdaf.aggregate(null, o));
  const result = vdaf.unshard(null, aggs, ROUNDS);
  expect(sameResult(result, plain), `${name}: aggregate of C's shares is ${JSON.stringify(jsonResult(result))}, expected ${JSON.stringify(plain)}`);
  return `${name}: ${ROUNDS} C reports prepared and aggregated to ${JSON.stringify(plain)}`;
}

// HPKE: sealed by C, opened by hpke-js; sealed by hpke-js, opened by C.
async function caseHpkeC2Npm(npm) {
  for (let i = 0; i < ROUNDS; i++) {
    const kp = await hpkeKeygen(npm);
    const info = randomBytes(randomInt(40)), aad = randomBytes(randomInt(80)), pt = randomBytes(randomInt(300));
    const c = fedtool("hpke-seal", hex(kp.pk), hex(info), hex(aad), hex(pt));
    let opened;
    try {
      opened = await hpkeOpen(npm, kp.sk, unhex(c.enc), info, aad, unhex(c.ct));
    } catch (e) {
      throw new Mismatch(`hpke-js could not open C's ciphertext (pt ${pt.length} bytes): ${e.message}`);
    }
    expect(opened.equals(pt), "hpke-js opened C's ciphertext to different bytes");
    const bad = unhex(c.ct);
    bad[0] ^= 1;
    let refused = false;
    await hpkeOpen(npm, kp.sk, unhex(c.enc), info, aad, bad).catch(() => (refused = true));
    expect(refused, "hpke-js opened a tampered C ciphertext");
  }
  // An explicit ephemeral key gives C's deterministic seal, which still opens.
  const kp = await hpkeKeygen(npm);
  const eph = await hpkeKeygen(npm);
  const c1 = fedtool("hpke-seal", hex(kp.pk), "01", "02", "0304", hex(eph.sk));
  const c2 = fedtool("hpke-seal", hex(kp.pk), "01", "02", "0304", hex(eph.sk));
  expect(c1.enc === hex(eph.pk), `C's enc with a given ephemeral key is ${c1.enc}, expected its public key ${hex(eph.pk)}`);
  expect(c1.ct === c2.ct, "C's seal with a given ephemeral key is not deterministic");
  expect((await hpkeOpen(npm, kp.sk, unhex(c1.enc), unhex("01"), unhex("02"), unhex(c1.ct))).equals(unhex("0304")),
    "hpke-js did not open C's seal with a given ephemeral key");
  return `HPKE: ${ROUNDS} C seals opened by hpke-js`;
}

async function caseHpkeNpm2C(npm) {
  for (let i = 0; i < ROUNDS; i++) {
    const k = fedtool("hpke-keygen");
    const info = randomBytes(randomInt(40)), aad = randomBytes(randomInt(80)), pt = randomBytes(randomInt(300));
    const { enc, ct } = await hpkeSeal(npm, unhex(k.pk), info, aad, pt);
    const c = fedtool("hpke-open", k.sk, hex(enc), hex(info), hex(aad), hex(ct));
    expect(c.pt === hex(pt), `C opened hpke-js's ciphertext to ${c.pt}, expected ${hex(pt)}`);
    const bad = Buffer.from(ct);
    bad[bad.length - 1] ^= 0x80;
    let refused = false;
    try {
      execFileSync(FEDTOOL, ["hpke-open", k.sk, hex(enc), hex(info), hex(aad), hex(bad)], { stdio: "ignore" });
    } catch {
      refused = true;
    }
    expect(refused, "C opened a tampered hpke-js ciphertext");
  }
  return `HPKE: ${ROUNDS} hpke-js seals opened by C`;
}

function nowRounded(precision) {
  return Math.floor(Date.now() / 1000 / precision) * precision;
}

// A report built by C decodes with @divviup/dap's codec, both shares open
// with the aggregators' keys and prepare to the measurement.
async function caseReportC2Npm(npm, name = "Histogram") {
  const spec = specFor(name);
  const vdaf = vdafFromSpec(npm, spec);
  const keys = [await hpkeKeygen(npm), await hpkeKeygen(npm)];
  const lists = [configList(npm, [{ id: 7, pk: keys[0].pk }]), configList(npm, [{ id: 201, pk: keys[1].pk }])];
  for (let i = 0; i < ROUNDS; i++) {
    const taskId = randomBytes(32);
    const reportId = randomBytes(16);
    const time = nowRounded(300);
    const m = randomMeasurement(spec);
    const s = fedtool("shard", JSON.stringify(spec), measArg(m), hex(reportId), hex(randomBytes(vdaf.randSize)));
    const r = fedtool("report", b64url(taskId), hex(reportId), time, s.public_share, s.input_shares[0],
      s.input_shares[1], hex(lists[0]), hex(lists[1]));
    let report;
    try {
      report = decodeReport(npm, unhex(r.report));
    } catch (e) {
      throw new Mismatch(`C's report does not decode with @divviup/dap's codec: ${e.message}`);
    }
    expect(hex(report.metadata.reportId.bytes) === hex(reportId), "report id differs");
    expect(report.metadata.time === time, `time ${report.metadata.time}, expected ${time}`);
    expect(hex(report.publicShare) === s.public_share, "public share differs");
    const cts = [report.leaderCiphertext, report.helperCiphertext];
    expect(cts[0].configId === 7 && cts[1].configId === 201, `config ids ${cts[0].configId}, ${cts[1].configId}`);
    const aad = inputShareAad(npm, taskId, report);
    const payloads = [];
    for (let agg = 0; agg < 2; agg++) {
      let plain;
      try {
        plain = await hpkeOpen(npm, keys[agg].sk, cts[agg].encapsulatedContext,
          inputShareInfo(npm, agg ? ROLE.helper : ROLE.leader), aad, cts[agg].payload);
      } catch (e) {
        throw new Mismatch(`the ${agg ? "helper" : "leader"} share of C's report does not open: ${e.message}`);
      }
      const p = decodePlaintextInputShare(npm, plain);
      expect(p.extensions.length === 0, "C's plaintext input share has extensions");
      expect(hex(p.payload) === s.input_shares[agg], `opened input share ${agg} differs from the shard`);
      payloads.push(p.payload);
    }
    const out = await prepare(vdaf, randomBytes(16), reportId, report.publicShare, payloads);
    const res = vdaf.unshard(null, out.map((o) => vdaf.aggregate(null, [o])), 1);
    expect(sameResult(res, addPlain(spec, null, m)), `C's report prepared to ${JSON.stringify(jsonResult(res))}`);
  }
  return `${name}: ${ROUNDS} C reports decoded by @divviup/dap and opened by hpke-js`;
}

// A report built by @divviup/dap's Task.generateReport, sealed to configs
// whose keys C generated, decodes and opens in C; C's opened shares prepare
// (with @divviup/prio3) to the measurement.
async function caseReportNpm2C(npm, name = "Sum") {
  const spec = specFor(name);
  const vdaf = vdafFromSpec(npm, spec);
  const keys = [fedtool("hpke-keygen"), fedtool("hpke-keygen")];
  const lists = [configList(npm, [{ id: 3, pk: unhex(keys[0].pk) }]), configList(npm, [{ id: 4, pk: unhex(keys[1].pk) }])];
  const daptype = { Prio3Count: "count", Prio3Sum: "sum", Prio3SumVec: "sumVec", Prio3Histogram: "histogram" }[spec.type];
  for (let i = 0; i < ROUNDS; i++) {
    const taskId = randomBytes(32);
    const task = new npm.Task({ type: daptype, bits: spec.bits, length: spec.length, chunkLength: spec.chunk_length,
      id: b64url(taskId), leader: "http://leader.invalid/", helper: "http://helper.invalid/", timePrecisionSeconds: 300 });
    // Task's test hook: serve the configs instead of a network fetch.
    task.fetch = async (url) => new Response(url.startsWith("http://leader") ? lists[0] : lists[1],
      { headers: { "Content-Type": "application/dap-hpke-config-list" } });
    const m = randomMeasurement(spec);
    const report = await task.generateReport(measurementFor(spec, m));
    const bytes = report.encode();
    const opened = [];
    for (let agg = 0; agg < 2; agg++) {
      const o = fedtool("report-open", keys[agg].sk, agg ? "helper" : "leader", b64url(taskId), hex(bytes));
      expect(o.report_id === hex(report.metadata.reportId.bytes), "C decoded a different report id");
      expect(o.time === report.metadata.time, `C decoded time ${o.time}, expected ${report.metadata.time}`);
      expect(o.public_share === hex(report.publicShare), "C decoded a different public share");
      opened.push(unhex(o.input_share));
    }
    let out;
    try {
      out = await prepare(vdaf, randomBytes(16), report.metadata.reportId.bytes, report.publicShare, opened);
    } catch (e) {
      throw new Mismatch(`shares opened by C do not prepare: ${e.message}`);
    }
    const res = vdaf.unshard(null, out.map((o) => vdaf.aggregate(null, [o])), 1);
    expect(sameResult(res, addPlain(spec, null, m)), `shares opened by C prepared to ${JSON.stringify(jsonResult(res))}`);
    // C refuses the report with one byte of the helper's ciphertext changed.
    const bad = Buffer.from(bytes);
    bad[bad.length - 1] ^= 1;
    let refused = false;
    try {
      execFileSync(FEDTOOL, ["report-open", keys[1].sk, "helper", b64url(taskId), hex(bad)], { stdio: "ignore" });
    } catch {
      refused = true;
    }
    expect(refused, "C opened a report whose helper ciphertext was changed");
  }
  return `${name}: ${ROUNDS} @divviup/dap reports decoded and opened by C`;
}

// --- against the mock aggregators (tests/test-fednpm.c starts them) ---

function mockTask(npm, o) {
  const tasks = JSON.parse(readFileSync(o.tasks, "utf8"));
  const t = tasks.find((x) => x.task_id === o["task-id"]);
  if (!t) throw new Error(`task ${o["task-id"]} not in ${o.tasks}`);
  return { spec: t.vdaf, vdaf: vdafFromSpec(npm, t.vdaf), precision: t.time_precision, id: unb64url(t.task_id, 32) };
}
const slash = (u) => (u.endsWith("/") ? u : u + "/");

async function fetchConfig(base, taskId) {
  const r = await fetch(new URL(`hpke_config?task_id=${b64url(taskId)}`, slash(base)));
  const body = Buffer.from(await r.arrayBuffer());
  expect(r.status === 200, `GET hpke_config: HTTP ${r.status}`);
  expect(r.headers.get("content-type") === "application/dap-hpke-config-list", `hpke_config content type ${r.headers.get("content-type")}`);
  expect(/max-age=\d+/.test(r.headers.get("cache-control") || ""), "hpke_config without Cache-Control max-age");
  return body;
}

async function put(o, taskId, bytes) {
  const r = await fetch(new URL(`tasks/${b64url(taskId)}/reports`, slash(o.leader)), { method: "PUT",
    headers: { "Content-Type": "application/dap-report" }, body: bytes });
  const text = await r.text();
  let type = null;
  if ((r.headers.get("content-type") || "").startsWith("application/problem+json")) type = JSON.parse(text).type;
  return { status: r.status, type };
}

// One report built by C (fedtool shard + report) for the task.
async function cReport(npm, o, t, m, { time, taskId } = {}) {
  const lists = [await fetchConfig(o.leader, t.id), await fetchConfig(o.helper, t.id)];
  const reportId = randomBytes(16);
  const s = fedtool("shard", JSON.stringify(t.spec), measArg(m), hex(reportId), hex(randomBytes(t.vdaf.randSize)));
  const r = fedtool("report", b64url(taskId || t.id), hex(reportId), time ?? nowRounded(t.precision), s.public_share,
    s.input_shares[0], s.input_shares[1], hex(lists[0]), hex(lists[1]));
  return unhex(r.report);
}

// Uploads each measurement, by @divviup/dap's client or by C's reports.
async function caseUpload(npm, o, ms) {
  const t = mockTask(npm, o);
  if (o.via === "dap") {
    const daptype = { Prio3Count: "count", Prio3Sum: "sum", Prio3SumVec: "sumVec", Prio3Histogram: "histogram" }[t.spec.type];
    const task = new npm.Task({ type: daptype, bits: t.spec.bits, length: t.spec.length, chunkLength: t.spec.chunk_length,
      id: b64url(t.id), leader: o.leader, helper: o.helper, timePrecisionSeconds: t.precision });
    for (const m of ms) await task.sendMeasurement(measurementFor(t.spec, JSON.parse(m)));
  } else if (o.via === "fedtool") {
    for (const m of ms) {
      const r = await put(o, t.id, await cReport(npm, o, t, JSON.parse(m)));
      expect(r.status === 201, `upload of a C report: HTTP ${r.status} ${r.type}`);
    }
  } else throw new Error("--via dap|fedtool");
  return `${ms.length} reports uploaded via ${o.via}`;
}

// The leader's refusals: each bad upload gets its DAP-09 problem type.  The
// one good report (measurement MEAS) and one whose helper share is damaged
// (which only prep at collection time can notice) are accepted.
async function caseBadUploads(npm, o, [meas]) {
  const t = mockTask(npm, o);
  const m = JSON.parse(meas);
  const want = async (what, bytes, status, type, taskId = t.id) => {
    const r = await put(o, taskId, bytes);
    expect(r.status === status && r.type === (type && DAP_ERROR + type),
      `${what}: HTTP ${r.status} ${r.type}, expected ${status} ${type}`);
  };
  const good = await cReport(npm, o, t, m);
  await want("good report", good, 201, null);
  await want("replayed report", good, 400, "reportRejected");
  // Last byte of the report: the helper's ciphertext; the byte before the
  // helper ciphertext's header: the leader's.
  const report = decodeReport(npm, await cReport(npm, o, t, m));
  const leaderEnd = report.encode().length - report.helperCiphertext.encode().length;
  const badLeader = report.encode();
  badLeader[leaderEnd - 1] ^= 1;
  await want("report with a damaged leader share", badLeader, 400, "reportRejected");
  const badHelper = await cReport(npm, o, t, m);
  badHelper[badHelper.length - 1] ^= 1;
  await want("report with a damaged helper share", badHelper, 201, null);
  await want("truncated report", good.subarray(0, good.length - 1), 400, "invalidMessage");
  await want("report from the future", await cReport(npm, o, t, m, { time: nowRounded(t.precision) + 10 * t.precision }),
    400, "reportTooEarly");
  const other = randomBytes(32);
  await want("report for an unknown task", await cReport(npm, o, t, m, { taskId: other }), 400, "unrecognizedTask", other);
  return "bad uploads refused with their DAP-09 problem types";
}

const CASES = {
  shard: caseShard,
  prep: casePrep,
  "hpke-c2npm": caseHpkeC2Npm,
  "hpke-npm2c": caseHpkeNpm2C,
  "report-c2npm": caseReportC2Npm,
  "report-npm2c": caseReportNpm2C,
  upload: caseUpload,
  "bad-uploads": caseBadUploads,
};
const MOCK_CASES = new Set(["upload", "bad-uploads"]);

async function main() {
  const o = {};
  const args = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith("--")) {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      o[argv[i].slice(2)] = argv[++i];
    } else args.push(argv[i]);
  }
  const [name, ...rest] = args;
  const fn = CASES[name];
  if (!fn) throw new Error(`usage: node crosscheck.mjs CASE [ARGS] --fedtool PATH [--leader URL --helper URL --tasks FILE --task-id ID --via dap|fedtool]\ncases: ${Object.keys(CASES).join(", ")}`);
  FEDTOOL = o.fedtool || null;
  if (!FEDTOOL && !(name === "upload" && o.via === "dap")) throw new Error("--fedtool PATH is required");
  if (MOCK_CASES.has(name) && !(o.leader && o.helper && o.tasks && o["task-id"]))
    throw new Error(`${name} needs --leader, --helper, --tasks and --task-id`);
  const npm = await loadNpm();
  process.stdout.write(`ok: ${await (MOCK_CASES.has(name) ? fn(npm, o, rest) : fn(npm, rest[0]))}\n`);
}

main().catch((e) => {
  process.stderr.write(`crosscheck: ${e instanceof Mismatch ? "" : "error: "}${e.message}\n`);
  process.exit(1);
});
