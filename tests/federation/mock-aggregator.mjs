#!/usr/bin/env node
// A mock DAP-09 aggregator (leader or helper) for learnvault's tests.  TEST
// TOOLING ONLY: it speaks the DAP-09 upload protocol (hpke_config, reports)
// like Janus does, and replaces DAP's aggregation and collection protocols by
// a documented shortcut (/mock/collect on the leader, /mock/prep and
// /mock/aggregate on the helper).  See README.md for the CLI and the API.
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import {
  loadNpm, vdafFromSpec, hex, unhex, b64url, unb64url, ROLE, DAP_ERROR, decodeReport,
  decodePlaintextInputShare, decodeInputShare, decodePublicShare, decodePrepShare, inputShareAad,
  inputShareInfo, hpkeKeygen, hpkeOpen, configList, leaderInputShareLen, randomHex,
} from "./lib.mjs";

const USAGE = "usage: node mock-aggregator.mjs --role leader|helper --port N --tasks FILE [--helper URL]\n" +
  "       [--host ADDR] [--fail-first N] [--outdated-config] [--parent-pid PID]";
const MAX_BODY = 1 << 20;

function parseArgs(argv) {
  const o = { role: null, port: null, tasks: null, helper: null, host: "127.0.0.1", failFirst: 0,
    outdatedConfig: false, parentPid: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--role") o.role = val();
    else if (a === "--port") o.port = Number(val());
    else if (a === "--tasks") o.tasks = val();
    else if (a === "--helper") o.helper = val();
    else if (a === "--host") o.host = val();
    else if (a === "--fail-first") o.failFirst = Number(val());
    else if (a === "--outdated-config") o.outdatedConfig = true;
    else if (a === "--parent-pid") o.parentPid = Number(val());
    else throw new Error(`unknown option ${a}`);
  }
  if (o.role !== "leader" && o.role !== "helper") throw new Error("--role must be leader or helper");
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new Error("--port must be 0..65535");
  if (!o.tasks) throw new Error("--tasks FILE is required");
  if (o.role === "leader" && !o.helper) throw new Error("the leader needs --helper URL");
  if (!Number.isInteger(o.failFirst) || o.failFirst < 0) throw new Error("--fail-first must be >= 0");
  if (o.helper && !o.helper.endsWith("/")) o.helper += "/";
  return o;
}

function loadTasks(npm, file) {
  const list = JSON.parse(readFileSync(file, "utf8"));
  if (!Array.isArray(list)) throw new Error("tasks file: expected a JSON list");
  const tasks = new Map();
  for (const t of list) {
    const id = unb64url(t.task_id, 32, "task_id");
    const verifyKey = unhex(t.verify_key, "verify_key");
    if (verifyKey.length !== 16) throw new Error("verify_key: expected 16 bytes");
    if (!Number.isInteger(t.time_precision) || t.time_precision <= 0) throw new Error("time_precision: positive integer");
    tasks.set(b64url(id), { id, spec: t.vdaf, vdaf: vdafFromSpec(npm, t.vdaf), verifyKey,
      timePrecision: t.time_precision, reports: [], seen: new Set() });
  }
  return tasks;
}

class HttpError extends Error {
  constructor(status, type, detail, taskId) {
    super(detail);
    this.status = status;
    this.type = type;
    this.taskId = taskId;
  }
}
const problem = (type, detail, taskId) => new HttpError(400, type, detail, taskId);

function send(res, status, type, body, extra = {}) {
  res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body), ...extra });
  res.end(body);
}
const sendJson = (res, obj, status = 200) => send(res, status, "application/json", JSON.stringify(obj) + "\n");

function sendProblem(res, e) {
  const body = { type: DAP_ERROR + e.type, title: e.message, status: e.status, detail: e.message };
  if (e.taskId) body.taskid = e.taskId;
  send(res, e.status, "application/problem+json", JSON.stringify(body));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let n = 0;
    req.on("data", (c) => {
      n += c.length;
      if (n > MAX_BODY) {
        reject(new HttpError(413, "invalidMessage", "body too large"));
        req.destroy();
      } else parts.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
  });
}

async function readJson(req) {
  try {
    return JSON.parse((await readBody(req)).toString("utf8"));
  } catch (e) {
    if (e instanceof HttpError) throw e;
    throw new HttpError(400, "invalidMessage", "body is not JSON");
  }
}

async function postJson(url, obj) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(obj) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${text}`);
  return JSON.parse(text);
}

class Aggregator {
  constructor(npm, opts, tasks) {
    this.npm = npm;
    this.opts = opts;
    this.tasks = tasks;
    this.role = opts.role === "leader" ? ROLE.leader : ROLE.helper;
    this.config = null; // {id, pk, key}
    this.rotated = !opts.outdatedConfig; // nothing left to rotate unless asked
    this.failed = 0;
    this.stats = { accepted: 0, rejected: {}, rejected_detail: {}, unavailable: 0, hpke_config_fetches: 0 };
    this.jobs = new Map(); // helper: job id -> {task, pending: Map(report id -> state), outShares: []}
  }

  async newConfig(previousId) {
    const kp = await hpkeKeygen(this.npm);
    const id = previousId === undefined ? (Math.random() * 256) | 0 : (previousId + 1) & 0xff;
    this.config = { id, pk: kp.pk, key: kp.key };
  }

  task(idText) {
    let key;
    try {
      key = b64url(unb64url(idText, 32, "task id"));
    } catch {
      throw problem("unrecognizedTask", "malformed task id");
    }
    const t = this.tasks.get(key);
    if (!t) throw problem("unrecognizedTask", "unknown task", idText);
    return t;
  }

  reject(type, detail, why, taskId) {
    this.stats.rejected[type] = (this.stats.rejected[type] || 0) + 1;
    this.stats.rejected_detail[why] = (this.stats.rejected_detail[why] || 0) + 1;
    return problem(type, detail, taskId);
  }

  async hpkeConfig(url, res) {
    const tid = url.searchParams.get("task_id");
    if (tid !== null) this.task(tid);
    this.stats.hpke_config_fetches++;
    const body = configList(this.npm, [this.config]);
    res.writeHead(200, { "Content-Type": "application/dap-hpke-config-list", "Cache-Control": "max-age=3600",
      "Content-Length": body.length });
    res.end(body);
    // --outdated-config: the config just served becomes outdated at once, so
    // a report sealed to it gets outdatedConfig and the client must refetch.
    if (!this.rotated) {
      this.rotated = true;
      await this.newConfig(this.config.id);
    }
  }

  async upload(taskText, req, res) {
    if (this.failed < this.opts.failFirst) {
      this.failed++;
      this.stats.unavailable++;
      await readBody(req).catch(() => {});
      return send(res, 503, "text/plain", "mock: unavailable (--fail-first)\n", { "Retry-After": "0" });
    }
    const t = this.task(taskText);
    const tid = b64url(t.id);
    const ctype = (req.headers["content-type"] || "").split(";")[0].trim();
    const body = await readBody(req);
    if (ctype !== "application/dap-report")
      throw this.reject("invalidMessage", `content type ${ctype || "(none)"}`, "content_type", tid);
    let report;
    try {
      report = decodeReport(this.npm, body);
    } catch (e) {
      throw this.reject("invalidMessage", `undecodable report: ${e.message}`, "undecodable", tid);
    }
    if (report.leaderCiphertext.configId !== this.config.id)
      throw this.reject("outdatedConfig", `config id ${report.leaderCiphertext.configId} is not current`,
        "outdated_config", tid);
    const now = Math.floor(Date.now() / 1000);
    if (report.metadata.time > now + t.timePrecision)
      throw this.reject("reportTooEarly", "report time is in the future", "too_early", tid);
    let plain;
    try {
      plain = await hpkeOpen(this.npm, this.config.key, report.leaderCiphertext.encapsulatedContext,
        inputShareInfo(this.npm, ROLE.leader), inputShareAad(this.npm, t.id, report), report.leaderCiphertext.payload);
    } catch {
      throw this.reject("reportRejected", "leader input share does not open", "undecryptable", tid);
    }
    let share;
    try {
      share = decodePlaintextInputShare(this.npm, plain);
      if (share.extensions.length) throw new Error("unrecognized extension");
      if (share.payload.length !== leaderInputShareLen(t.vdaf))
        throw new Error(`leader input share of ${share.payload.length} bytes`);
    } catch (e) {
      throw this.reject("invalidMessage", `leader input share: ${e.message}`, "bad_input_share", tid);
    }
    const rid = hex(report.metadata.reportId.bytes);
    if (t.seen.has(rid)) throw this.reject("reportRejected", "report id already uploaded", "replayed", tid);
    t.seen.add(rid);
    t.reports.push({ report, leaderShare: share.payload });
    this.stats.accepted++;
    send(res, 201, "text/plain", "");
  }

  // The leader's collection shortcut: prep every stored report with the helper.
  async collect(req, res) {
    const { task_id: taskText } = await readJson(req);
    const t = this.task(taskText);
    const job = randomHex(8);
    const helper = (p) => new URL(p, this.opts.helper).toString();
    const outShares = [];
    let rejected = 0;
    for (const { report, leaderShare } of t.reports) {
      const nonce = report.metadata.reportId.bytes;
      const rid = hex(nonce);
      let leader;
      try {
        const input = await decodeInputShare(t.vdaf, 0, leaderShare);
        leader = await t.vdaf.prepareInit(t.verifyKey, 0, null, nonce, decodePublicShare(t.vdaf, report.publicShare), input);
      } catch {
        rejected++;
        continue;
      }
      const init = await postJson(helper("mock/prep"), { task_id: taskText, job, report_id: rid,
        time: report.metadata.time, public_share: hex(report.publicShare),
        helper_share: hex(report.helperCiphertext.encode()) });
      if (!init.prep_share) {
        rejected++;
        continue;
      }
      let msg = null;
      let out = null;
      try {
        const hs = decodePrepShare(t.vdaf, unhex(init.prep_share));
        const pm = await t.vdaf.unshardPreparationShares(null, [leader.preparationShare, hs]);
        out = t.vdaf.prepareNext(leader.preparationState, pm).outputShare;
        msg = hex(t.vdaf.encodePreparationMessage(pm));
      } catch {
        out = null;
      }
      const fin = await postJson(helper("mock/prep"), { task_id: taskText, job, report_id: rid, prep_message: msg });
      if (!out || !fin.ok) {
        rejected++;
        continue;
      }
      outShares.push(out);
    }
    const agg = await postJson(helper("mock/aggregate"), { task_id: taskText, job });
    if (agg.report_count !== outShares.length)
      throw new HttpError(500, "invalidMessage", `helper aggregated ${agg.report_count}, leader ${outShares.length}`);
    sendJson(res, { report_count: outShares.length, rejected_count: rejected,
      leader_agg_share: hex(t.vdaf.encodeAggregatorShare(t.vdaf.aggregate(null, outShares))),
      helper_agg_share: agg.agg_share });
  }

  // Helper: step 1 (helper_share given) opens and prepares, answering the prep
  // share; step 2 (prep_message given, null to reject) finishes the report.
  async prep(req, res) {
    const b = await readJson(req);
    const t = this.task(b.task_id);
    if (typeof b.job !== "string" || typeof b.report_id !== "string") throw problem("invalidMessage", "job, report_id");
    let job = this.jobs.get(b.job);
    if (!job) this.jobs.set(b.job, (job = { task: t, pending: new Map(), outShares: [] }));
    if ("helper_share" in b) {
      try {
        const nonce = unhex(b.report_id, "report_id");
        const metadata = new this.npm.ReportMetadata(new this.npm.ReportId(nonce), b.time);
        const publicShare = unhex(b.public_share, "public_share");
        const p = new this.npm.Parser(unhex(b.helper_share, "helper_share"));
        const configId = p.uint8();
        const enc = p.opaque16();
        const ct = p.slice(p.slice(4).readUInt32BE(0));
        if (p.index !== p.buffer.length) throw new Error("trailing bytes");
        if (configId !== this.config.id) throw new Error("unknown config id");
        const aad = new this.npm.InputShareAad(new this.npm.TaskId(t.id), metadata, publicShare).encode();
        const plain = await hpkeOpen(this.npm, this.config.key, enc, inputShareInfo(this.npm, ROLE.helper), aad, ct);
        const share = decodePlaintextInputShare(this.npm, plain);
        const input = await decodeInputShare(t.vdaf, 1, share.payload);
        const r = await t.vdaf.prepareInit(t.verifyKey, 1, null, nonce, decodePublicShare(t.vdaf, publicShare), input);
        job.pending.set(b.report_id, r.preparationState);
        return sendJson(res, { prep_share: hex(t.vdaf.encodePreparationShare(r.preparationShare)) });
      } catch (e) {
        return sendJson(res, { prep_share: null, error: e.message });
      }
    }
    const state = job.pending.get(b.report_id);
    job.pending.delete(b.report_id);
    if (!state || b.prep_message === null || b.prep_message === undefined) return sendJson(res, { ok: false });
    try {
      const out = t.vdaf.prepareNext(state, { jointRand: unhex(b.prep_message, "prep_message") });
      job.outShares.push(out.outputShare);
      sendJson(res, { ok: true });
    } catch (e) {
      sendJson(res, { ok: false, error: e.message });
    }
  }

  async aggregate(req, res) {
    const b = await readJson(req);
    const t = this.task(b.task_id);
    const job = this.jobs.get(b.job) || { outShares: [] };
    this.jobs.delete(b.job);
    sendJson(res, { report_count: job.outShares.length,
      agg_share: hex(t.vdaf.encodeAggregatorShare(t.vdaf.aggregate(null, job.outShares))) });
  }

  async route(req, res) {
    const url = new URL(req.url, "http://mock/");
    const path = url.pathname;
    const leader = this.role === ROLE.leader;
    if (req.method === "GET" && path === "/hpke_config") return this.hpkeConfig(url, res);
    if (req.method === "GET" && path === "/mock/stats") return sendJson(res, this.stats);
    const m = path.match(/^\/tasks\/([^/]+)\/reports$/);
    if (m && leader) {
      if (req.method !== "PUT") return send(res, 405, "text/plain", "PUT only\n", { Allow: "PUT" });
      return this.upload(m[1], req, res);
    }
    if (req.method === "POST" && path === "/mock/collect" && leader) return this.collect(req, res);
    if (req.method === "POST" && path === "/mock/prep" && !leader) return this.prep(req, res);
    if (req.method === "POST" && path === "/mock/aggregate" && !leader) return this.aggregate(req, res);
    send(res, 404, "text/plain", "not found\n");
  }
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`mock-aggregator: ${e.message}\n${USAGE}\n`);
    process.exit(2);
  }
  const npm = await loadNpm();
  const agg = new Aggregator(npm, opts, loadTasks(npm, opts.tasks));
  await agg.newConfig();
  const server = createServer((req, res) => {
    agg.route(req, res).catch((e) => {
      if (res.headersSent) return res.destroy();
      if (e instanceof HttpError) return sendProblem(res, e);
      process.stderr.write(`mock-aggregator: ${e.stack || e}\n`);
      send(res, 500, "text/plain", `mock: ${e.message}\n`);
    });
  });
  server.listen(opts.port, opts.host, () => {
    process.stdout.write(`listening ${server.address().port}\n`);
  });
  // close() waits for keep-alive connections to go idle; do not wait long.
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // A test that dies without stopping us must not leave us running.
  if (opts.parentPid > 0)
    setInterval(() => {
      try {
        process.kill(opts.parentPid, 0);
      } catch {
        process.exit(0);
      }
    }, 1000).unref();
}

main().catch((e) => {
  process.stderr.write(`mock-aggregator: ${e.stack || e}\n`);
  process.exit(1);
});
