// Real xAPI clients against a running learnvault (tests/test-xclients.c):
// @xapi/xapi 3.0.3, TinCanJS 0.50.0 and adl-xapiwrapper 0.2.3 in node, and
// @xapi/xapi and TinCanJS in headless Chromium on a page of another origin.
// Test tooling only; nothing here is served or installed.
//
//   node tests/web/xclients.mjs CASE --base http://127.0.0.1:PORT --key ID --secret S
//        [--version 1.0.3|2.0.0] [--chromium /usr/bin/chromium]
//
// CASE: xapi | tincan | wrapper | browser.  Prints "ok: ..." per check and
// exits 0, or exits 1 with the reason on stderr.
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { CHROMIUM_ARGS, FlowError, check, loadPackages, npmDir, parseArgs } from './lib.mjs';

const { pos, opt } = parseArgs(process.argv.slice(2));
const kase = pos[0];
const base = (opt.base || '').replace(/\/$/, '');
const endpoint = `${base}/xapi/`;
const version = opt.version || '1.0.3';
// The npm cache's node_modules, for the CommonJS packages.
const require = createRequire(join(npmDir(), '..', 'package.json'));

const VERB = (v) => ({ id: `http://adlnet.gov/expapi/verbs/${v}`, display: { 'en-US': v } });
const sha1 = (text) => createHash('sha1').update(text).digest('hex');
const ok = (msg) => console.log(`ok: ${msg}`);
const run = randomUUID().slice(0, 8);

function agentFor(client) {
  return { objectType: 'Agent', name: `${client} tester`, mbox: `mailto:${client}-${run}@clients.example.org` };
}

function statement(actor, verb, act, extra = {}) {
  return { actor, verb: VERB(verb), object: { objectType: 'Activity', id: act }, ...extra };
}

const basicAuth = () => 'Basic ' + Buffer.from(`${opt.key}:${opt.secret}`).toString('base64');

// A plain request to the store (no client library): the checks' own eyes.
async function raw(path, { method = 'GET', headers = {}, body } = {}) {
  const r = await fetch(`${base}${path}`, {
    method, body,
    headers: { Authorization: basicAuth(), 'X-Experience-API-Version': '1.0.3', ...headers },
  });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

async function statementExists(id) {
  return (await raw(`/xapi/statements?statementId=${id}`)).status === 200;
}

// An axios error's status (the @xapi/xapi client rejects on non-2xx).
async function statusOf(promise) {
  try {
    return (await promise).status;
  } catch (e) {
    if (e.response) return e.response.status;
    throw e;
  }
}

// ---- @xapi/xapi ----

async function xapiStatements(XAPI, x, actor, act) {
  const single = await x.sendStatement({ statement: statement(actor, 'experienced', act) });
  const id = single.data[0];
  check((await x.getStatement({ statementId: id })).data.id === id, 'single statement read back');
  ok('@xapi/xapi: a single statement stored and read back');

  const batch = [];
  for (let i = 0; i < 5; i++) batch.push(statement(actor, 'answered', `${act}/q${i}`));
  const ids = (await x.sendStatements({ statements: batch })).data;
  check(ids.length === 5, `batch: ${JSON.stringify(ids)}`);
  ok('@xapi/xapi: a batch of five stored');

  // Filters and `more` paging: two at a time until the list ends.
  const seen = [];
  let page = await x.getStatements({ agent: actor, verb: VERB('answered').id, limit: 2 });
  check(page.data.statements.length === 2 && page.data.more, 'a first page of two with more');
  for (let n = 0; n < 10; n++) {
    seen.push(...page.data.statements.map((s) => s.id));
    if (!page.data.more) break;
    page = await x.getMoreStatements({ more: page.data.more });
  }
  check(seen.length === 5 && ids.every((i) => seen.includes(i)), `paged: ${seen.length} of 5`);
  const one = await x.getStatements({ agent: actor, activity: `${act}/q3` });
  check(one.data.statements.length === 1 && one.data.statements[0].id === ids[3], 'activity filter');
  ok('@xapi/xapi: verb, agent and activity filters; more paging');

  await x.voidStatement({ actor, statementId: id });
  check((await x.getVoidedStatement({ voidedStatementId: id })).data.id === id, 'voided read back');
  check((await statusOf(x.getStatement({ statementId: id }))) === 404, 'voided not served by statementId');
  ok('@xapi/xapi: voiding');

  const text = `notes of run ${run}`;
  const sha2 = createHash('sha256').update(text).digest('hex');
  const withAtt = statement(actor, 'attempted', act, {
    attachments: [{ usageType: 'http://id.tincanapi.com/attachment/supporting_media',
      display: { 'en-US': 'notes' }, contentType: 'text/plain', length: Buffer.byteLength(text), sha2 }],
  });
  // In node, axios replaces the multipart Content-Type with the Blob's
  // (empty) type, a client defect: the client's own fetch adapter keeps it.
  const xf = new XAPI({ endpoint, auth: XAPI.toBasicAuth(opt.key, opt.secret), version, adapter: 'fetch' });
  const attId = (await xf.sendStatement({ statement: withAtt, attachments: [text] })).data[0];
  const back = await xf.getStatement({ statementId: attId, attachments: true });
  check(Array.isArray(back.data) && back.data[0].id === attId && back.data[1] === text,
    `attachment read back: ${JSON.stringify(back.data).slice(0, 300)}`);
  ok('@xapi/xapi: a statement with an attachment, read back as multipart');
}

async function xapiDocuments(x, actor, act) {
  const st = { agent: actor, activityId: act, stateId: 'bookmark' };
  check((await x.setState({ ...st, state: { page: 1 } })).status === 204, 'state PUT');
  let got = await x.getState(st);
  check(got.data.page === 1 && got.headers.etag === `"${sha1(JSON.stringify(got.data))}"`,
    `state ETag is the SHA-1 of the content: ${got.headers.etag}`);
  await x.createState({ ...st, state: { score: 5 } });
  got = await x.getState(st);
  check(got.data.page === 1 && got.data.score === 5, 'state POST merges');
  check((await statusOf(x.setState({ ...st, state: { page: 2 }, etag: '"0000"', matchHeader: 'If-Match' }))) === 412,
    'state PUT with a stale If-Match: 412');
  check((await x.setState({ ...st, state: { page: 2 }, etag: got.headers.etag, matchHeader: 'If-Match' })).status === 204,
    'state PUT with the current If-Match');
  check((await x.getStates({ agent: actor, activityId: act })).data.includes('bookmark'), 'state ids');
  got = await x.getState(st);
  check((await x.deleteState({ ...st, etag: got.headers.etag })).status === 204, 'state DELETE');
  check((await statusOf(x.getState(st))) === 404, 'state gone');
  ok('@xapi/xapi: State with ETag, If-Match, merge and delete');

  const profiles = [
    ['activity', { activityId: act }, 'ActivityProfile'],
    ['agent', { agent: actor }, 'AgentProfile'],
  ];
  for (const [name, key, fn] of profiles) {
    const p = { ...key, profileId: 'settings' };
    // No precondition on a new document: 2.0 creates it; 1.0.3 requires
    // one (the client MUST send it, §3.1.s3.b1): 400, then If-None-Match: *.
    if (version.startsWith('2.')) {
      check((await x[`set${fn}`]({ ...p, profile: { theme: 'dark' } })).status === 204, `${name} profile created`);
    } else {
      check((await statusOf(x[`set${fn}`]({ ...p, profile: { theme: 'dark' } }))) === 400,
        `${name} profile PUT without a precondition onto none (1.0.3): 400`);
      check((await x[`set${fn}`]({ ...p, profile: { theme: 'dark' }, etag: '*', matchHeader: 'If-None-Match' })).status
        === 204, `${name} profile created with If-None-Match: *`);
    }
    check((await statusOf(x[`set${fn}`]({ ...p, profile: { theme: 'light' } }))) === 409,
      `${name} profile PUT without a precondition onto an existing one: 409`);
    check((await statusOf(x[`set${fn}`]({ ...p, profile: { theme: 'light' }, etag: '*', matchHeader: 'If-None-Match' })))
      === 412, `${name} profile If-None-Match: * onto an existing one: 412`);
    const cur = await x[`get${fn}`](p);
    check(cur.data.theme === 'dark' && cur.headers.etag === `"${sha1(JSON.stringify(cur.data))}"`, `${name} profile ETag`);
    check((await x[`set${fn}`]({ ...p, profile: { theme: 'light' }, etag: cur.headers.etag, matchHeader: 'If-Match' }))
      .status === 204, `${name} profile PUT with If-Match`);
    check((await x[`get${fn}s`](key)).data.includes('settings'), `${name} profile ids`);
    const now = await x[`get${fn}`](p);
    check(now.data.theme === 'light', `${name} profile replaced`);
    check((await x[`delete${fn}`]({ ...p, etag: now.headers.etag })).status === 204, `${name} profile deleted`);
    ok(`@xapi/xapi: ${name} profile create, 409, 412, If-Match, list, delete`);
  }
  check((await x.getActivity({ activityId: act })).data.id === act, 'activity');
  check((await x.getAgent({ agent: actor })).data.objectType === 'Person', 'agents: a Person');
  ok('@xapi/xapi: activities and agents');
}

async function caseXapi() {
  const XAPI = require('@xapi/xapi');
  const x = new XAPI({ endpoint, auth: XAPI.toBasicAuth(opt.key, opt.secret), version });
  const about = await x.getAbout();
  check(about.data.version.includes(version), `/about lists ${version}: ${JSON.stringify(about.data.version)}`);
  ok(`@xapi/xapi: /about lists ${version}`);
  const actor = agentFor(`xapi-${version}`);
  const act = `https://clients.example.org/xapi/${run}`;
  await xapiStatements(XAPI, x, actor, act);
  await xapiDocuments(x, actor, act);
}

// ---- TinCanJS ----

// A TinCanJS call as a promise: the last argument is its cfg, whose
// callback gets (err, result); err is the HTTP status or an error.
function tc(lrs, method, ...args) {
  const cfg = args.pop() || {};
  return new Promise((resolve) => {
    lrs[method](...args, { ...cfg, callback: (err, result) => resolve({ err, result }) });
  });
}

async function caseTincan() {
  const TinCan = require('tincanjs');
  // TinCanJS 0.50.0 speaks up to 1.0.2 (TinCan.versions()): a 1.0.x the store serves.
  const tcVersion = TinCan.versions()[0];
  const lrs = new TinCan.LRS({ endpoint, username: opt.key, password: opt.secret, allowFail: false,
    version: tcVersion });
  const actor = new TinCan.Agent(agentFor('tincan'));
  const act = `https://clients.example.org/tincan/${run}`;
  const mk = (verb, id) => new TinCan.Statement({ actor, verb: new TinCan.Verb(VERB(verb)), target: new TinCan.Activity({ id }) });

  let r = await tc(lrs, 'about', {});
  check(!r.err && r.result.version.includes(tcVersion), `about: ${r.err} ${r.result && r.result.version}`);
  ok(`TinCanJS: /about lists ${tcVersion}`);

  const s1 = mk('experienced', act);
  r = await tc(lrs, 'saveStatement', s1, {});
  check(!r.err, `saveStatement: ${r.err}`);
  r = await tc(lrs, 'retrieveStatement', s1.id, {});
  check(!r.err && r.result.id === s1.id, 'retrieveStatement');
  ok('TinCanJS: a single statement');

  const batch = [0, 1, 2, 3, 4].map((i) => mk('answered', `${act}/q${i}`));
  r = await tc(lrs, 'saveStatements', batch, {});
  check(!r.err, `saveStatements: ${r.err}`);
  const seen = [];
  r = await tc(lrs, 'queryStatements', { params: { agent: actor, verb: new TinCan.Verb(VERB('answered')), limit: 2 } });
  check(!r.err && r.result.statements.length === 2 && r.result.more, `queryStatements: ${r.err}`);
  for (let n = 0; n < 10; n++) {
    seen.push(...r.result.statements.map((s) => s.id));
    if (!r.result.more) break;
    r = await tc(lrs, 'moreStatements', { url: r.result.more });
    check(!r.err, `moreStatements: ${r.err}`);
  }
  check(seen.length === 5 && batch.every((s) => seen.includes(s.id)), `paged ${seen.length} of 5`);
  ok('TinCanJS: a batch, filters and more paging');

  const voiding = new TinCan.Statement({ actor, verb: new TinCan.Verb(VERB('voided')),
    target: new TinCan.StatementRef({ id: s1.id }) });
  r = await tc(lrs, 'saveStatement', voiding, {});
  check(!r.err, `voiding: ${r.err}`);
  r = await tc(lrs, 'retrieveVoidedStatement', s1.id, {});
  check(!r.err && r.result.id === s1.id, 'retrieveVoidedStatement');
  ok('TinCanJS: voiding');

  const text = `tincan notes ${run}`;
  const withAtt = mk('attempted', act);
  withAtt.attachments = [new TinCan.Attachment({ usageType: 'http://id.tincanapi.com/attachment/supporting_media',
    display: { 'en-US': 'notes' }, contentType: 'text/plain', content: text })];
  r = await tc(lrs, 'saveStatement', withAtt, {});
  check(!r.err, `saveStatement with an attachment: ${r.err}`);
  r = await tc(lrs, 'retrieveStatement', withAtt.id, { params: { attachments: true } });
  const got = r.result && r.result.attachments && r.result.attachments[0];
  check(!r.err && got && Buffer.from(got.content).toString() === text && got.contentType === 'text/plain',
    `attachment read back: ${r.err} ${got && got.contentType}`);
  ok('TinCanJS: a statement with an attachment, read back as multipart');

  // State: ETag from a read, then If-Match with it (TinCanJS sends the bare SHA-1).
  const scope = { activity: new TinCan.Activity({ id: act }), agent: actor };
  r = await tc(lrs, 'saveState', 'bookmark', 'page=1', { ...scope, contentType: 'text/plain' });
  check(!r.err, `saveState: ${r.err}`);
  r = await tc(lrs, 'retrieveState', 'bookmark', scope);
  check(!r.err && r.result.contents === 'page=1' && r.result.etag.replace(/"/g, '') === sha1('page=1'),
    `retrieveState: ${r.err} ${r.result && r.result.etag}`);
  r = await tc(lrs, 'saveState', 'bookmark', 'page=2', { ...scope, contentType: 'text/plain', lastSHA1: 'f'.repeat(40) });
  check(r.err, 'saveState with a stale lastSHA1 must fail');
  r = await tc(lrs, 'saveState', 'bookmark', 'page=2', { ...scope, contentType: 'text/plain', lastSHA1: sha1('page=1') });
  check(!r.err, `saveState with lastSHA1: ${r.err}`);
  r = await tc(lrs, 'dropState', 'bookmark', scope);
  check(!r.err, `dropState: ${r.err}`);
  ok('TinCanJS: State with ETag and If-Match');

  const pscope = { activity: new TinCan.Activity({ id: act }) };
  const ascope = { agent: actor };
  for (const [name, save, get, scope2] of [['activity', 'saveActivityProfile', 'retrieveActivityProfile', pscope],
    ['agent', 'saveAgentProfile', 'retrieveAgentProfile', ascope]]) {
    r = await tc(lrs, save, 'settings', 'theme=dark', { ...scope2, contentType: 'text/plain' });
    check(!r.err, `${save} (If-None-Match: *): ${r.err}`);
    r = await tc(lrs, get, 'settings', scope2);
    check(!r.err && r.result.contents === 'theme=dark' && r.result.etag.replace(/"/g, '') === sha1('theme=dark'),
      `${get}: ${r.err}`);
    r = await tc(lrs, save, 'settings', 'theme=light', { ...scope2, contentType: 'text/plain', lastSHA1: sha1('theme=dark') });
    check(!r.err, `${save} with lastSHA1: ${r.err}`);
    r = await tc(lrs, save, 'settings', 'theme=x', { ...scope2, contentType: 'text/plain' });
    check(r.err, `${save} with If-None-Match: * onto an existing one must fail`);
    ok(`TinCanJS: ${name} profile with its concurrency headers`);
  }
}

// ---- adl-xapiwrapper ----

function wcall(w, method, ...args) {
  return new Promise((resolve) => w[method](...args, (err, resp, body) => resolve({ err, resp, body })));
}

async function caseWrapper() {
  const adl = require('adl-xapiwrapper');
  const w = new adl.XAPIWrapper({ url: endpoint, auth: { user: opt.key, pass: opt.secret } });
  const actor = agentFor('wrapper');
  const act = `https://clients.example.org/wrapper/${run}`;
  let r = await wcall(w, 'sendStatements', statement(actor, 'experienced', act));
  check(!r.err && r.resp.statusCode === 200, `sendStatements: ${r.err || r.resp.statusCode}`);
  const batch = [0, 1, 2].map((i) => statement(actor, 'answered', `${act}/q${i}`));
  r = await wcall(w, 'sendStatements', batch);
  check(r.resp.statusCode === 200 && JSON.parse(r.body).length === 3, 'batch');
  r = await wcall(w, 'getStatements', { agent: JSON.stringify(actor), verb: VERB('answered').id, limit: 2 }, null);
  let page = JSON.parse(r.body);
  let n = page.statements.length;
  check(n === 2 && page.more, 'first page');
  r = await wcall(w, 'getStatements', null, page.more);
  page = JSON.parse(r.body);
  n += page.statements.length;
  check(n === 3, `paged ${n} of 3`);
  ok('adl-xapiwrapper: statements, a batch, filters, more');

  // The wrapper computes the SHA-1 itself and sends it bare in If-Match.
  const agent = actor;
  r = await wcall(w, 'sendState', act, agent, 'bookmark', null, 'page=1', null, '*');
  check(r.resp.statusCode === 204, `sendState: ${r.resp.statusCode} ${r.body}`);
  r = await wcall(w, 'getState', act, agent, 'bookmark', null, null);
  check(r.body === 'page=1' && r.resp.headers.etag === `"${adl.hash('page=1')}"`, `getState ETag ${r.resp.headers.etag}`);
  r = await wcall(w, 'sendState', act, agent, 'bookmark', null, 'page=2', adl.hash('page=1'), null);
  check(r.resp.statusCode === 204, `sendState with If-Match of its own SHA-1: ${r.resp.statusCode} ${r.body}`);
  r = await wcall(w, 'sendState', act, agent, 'bookmark', null, 'page=3', adl.hash('page=1'), null);
  check(r.resp.statusCode === 412, `sendState with a stale hash: ${r.resp.statusCode}`);
  ok('adl-xapiwrapper: State with its own SHA-1 in If-Match');

  r = await wcall(w, 'sendActivityProfile', act, 'settings', 'theme=dark', null, '*');
  check(r.resp.statusCode === 204, `sendActivityProfile: ${r.resp.statusCode} ${r.body}`);
  r = await wcall(w, 'sendActivityProfile', act, 'settings', 'theme=light', adl.hash('theme=dark'), null);
  check(r.resp.statusCode === 204, `sendActivityProfile If-Match: ${r.resp.statusCode} ${r.body}`);
  r = await wcall(w, 'getActivityProfile', act, 'settings', null);
  check(r.body === 'theme=light', 'activity profile read back');
  r = await wcall(w, 'sendAgentProfile', agent, 'settings', 'theme=dark', null, '*');
  check(r.resp.statusCode === 204, `sendAgentProfile: ${r.resp.statusCode} ${r.body}`);
  r = await wcall(w, 'sendAgentProfile', agent, 'settings', 'theme=light', adl.hash('theme=dark'), null);
  check(r.resp.statusCode === 204, `sendAgentProfile If-Match: ${r.resp.statusCode}`);
  r = await wcall(w, 'getAgentProfile', agent, 'settings', null);
  check(r.body === 'theme=light', 'agent profile read back');
  r = await wcall(w, 'getActivities', act);
  check(r.resp.statusCode === 200 && JSON.parse(r.body).id === act, 'activities');
  r = await wcall(w, 'getAgents', agent);
  check(r.resp.statusCode === 200 && JSON.parse(r.body).objectType === 'Person', 'agents');
  ok('adl-xapiwrapper: profiles with If-Match / If-None-Match, activities, agents');
}

// ---- the browser: a page of another origin ----

// A tiny static server for the page and the two client bundles, on
// another loopback port: its origin is not the store's.
function startStatic() {
  const files = {
    '/page.html': ['text/html', '<!doctype html><html><head><title>content</title>'
      + '<script src="/xapi.umd.js"></script><script src="/tincan.js"></script></head>'
      + '<body><p>a content package</p></body></html>'],
    '/xapi.umd.js': ['text/javascript', readFileSync(join(npmDir(), '@xapi/xapi/dist/XAPI.umd.js'))],
    '/tincan.js': ['text/javascript', readFileSync(join(npmDir(), 'tincanjs/build/tincan.js'))],
  };
  const srv = createServer((req, res) => {
    const f = files[req.url];
    res.writeHead(f ? 200 : 404, { 'Content-Type': f ? f[0] : 'text/plain' });
    res.end(f ? f[1] : 'no');
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

// In the page: posts one statement with each client, reads a State
// document's ETag (an exposed header), and sends a form POST in the
// alternate syntax (a CORS "simple request").  Returns what happened.
async function inPage(page, args) {
  return page.evaluate(async ({ endpoint, key, secret, ids, actor, act, formBody }) => {
    const out = {};
    const x = new XAPI({ endpoint, auth: XAPI.toBasicAuth(key, secret) });
    const stmt = (id) => ({ id, actor, verb: { id: 'http://adlnet.gov/expapi/verbs/launched' },
      object: { objectType: 'Activity', id: act } });
    try {
      out.xapi = (await x.sendStatement({ statement: stmt(ids[0]) })).status;
      await x.setState({ agent: actor, activityId: act, stateId: 'page', state: { n: 1 } });
      out.etag = (await x.getState({ agent: actor, activityId: act, stateId: 'page' })).headers.etag || null;
    } catch (e) {
      out.xapi = `error: ${e.message}`;
    }
    const lrs = new TinCan.LRS({ endpoint, username: key, password: secret, allowFail: false });
    out.tincan = await new Promise((resolve) => {
      lrs.saveStatement(new TinCan.Statement(stmt(ids[1])), {
        // err is the HTTP status, 0 when the browser blocked the call.
        callback: (err, xhr) => resolve(err === null ? 'stored' : `error: status ${err} ${xhr ? xhr.status : ''}`),
      });
    });
    try {
      await fetch(`${endpoint}statements?method=PUT`, { method: 'POST', mode: 'no-cors', body: formBody,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
      out.form = 'sent';
    } catch (e) {
      out.form = `error: ${e.message}`;
    }
    return out;
  }, args);
}

function formFor(id, actor, act) {
  const st = { id, actor, verb: { id: 'http://adlnet.gov/expapi/verbs/launched' }, object: { id: act } };
  return new URLSearchParams({ statementId: id, Authorization: basicAuth(), 'X-Experience-API-Version': '1.0.3',
    'Content-Type': 'application/json', content: JSON.stringify(st) }).toString();
}

async function caseBrowser() {
  const { chromium } = await loadPackages();
  const srv = await startStatic();
  const port = srv.address().port;
  const browser = await chromium.launch({ executablePath: opt.chromium || '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    // Allowed: the node's cors_origins has http://localhost:* (see test-xclients.c).
    // Refused: the same page as http://127.0.0.1:PORT, an origin not in the list.
    for (const [origin, allowed] of [[`http://localhost:${port}`, true], [`http://127.0.0.1:${port}`, false]]) {
      const page = await browser.newPage();
      await page.goto(`${origin}/page.html`);
      const actor = agentFor(`browser-${allowed ? 'allowed' : 'refused'}`);
      const act = `https://clients.example.org/browser/${run}`;
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      const got = await inPage(page, { endpoint, key: opt.key, secret: opt.secret, ids, actor, act,
        formBody: formFor(ids[2], actor, act) });
      const stored = await Promise.all(ids.map(statementExists));
      if (allowed) {
        check(got.xapi === 200 && stored[0], `@xapi/xapi from ${origin}: ${JSON.stringify(got)}`);
        check(/^"[0-9a-f]{40}"$/.test(got.etag || ''), `the page reads the ETag (exposed): ${got.etag}`);
        check(got.tincan === 'stored' && stored[1], `TinCanJS from ${origin}: ${got.tincan}`);
        ok(`browser: a page from ${origin} (allowed) stores with @xapi/xapi and TinCanJS and reads ETag`);
      } else {
        check(String(got.xapi).startsWith('error') && !stored[0], `@xapi/xapi from ${origin} must be blocked: ${JSON.stringify(got)}`);
        check(got.tincan.startsWith('error') && !stored[1], `TinCanJS from ${origin} must be blocked: ${got.tincan}`);
        check(!stored[2], `a form POST (?method=PUT) from ${origin} must change nothing`);
        ok(`browser: a page from ${origin} (not allowed) is blocked; its form POST stores nothing`);
      }
      await page.close();
    }
  } finally {
    await browser.close();
    srv.close();
  }
}

const CASES = { xapi: caseXapi, tincan: caseTincan, wrapper: caseWrapper, browser: caseBrowser };

async function main() {
  const fn = CASES[kase];
  if (!fn || !opt.base || !opt.key || !opt.secret) {
    console.error('usage: xclients.mjs xapi|tincan|wrapper|browser --base URL --key ID --secret S [--version V]');
    process.exit(2);
  }
  const timer = setTimeout(() => {
    console.error(`${kase}: gave up after ${process.env.LV_FLOW_TIMEOUT_MS || 240000} ms`);
    process.exit(1);
  }, Number(process.env.LV_FLOW_TIMEOUT_MS || 240000));
  try {
    await fn();
    clearTimeout(timer);
  } catch (e) {
    console.error(e instanceof FlowError ? `${kase}: ${e.message}` : `${kase}: ${e.stack || JSON.stringify(e)}`);
    process.exit(1);
  }
}

main();
