// Shared by the browser flows (flows.mjs): loading the pinned packages,
// launching Debian's chromium, screenshots, axe, the reflow checks, login.
// Test tooling only; nothing here is served or installed.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

// The cache directory tools/dev fills: LV_WEB_NPM_DIR, else the path it
// would have (the first 12 hex digits of the lock file's SHA-256).
export function npmDir() {
  if (process.env.LV_WEB_NPM_DIR) return process.env.LV_WEB_NPM_DIR;
  const sum = createHash('sha256').update(readFileSync(join(here, 'package-lock.json'))).digest('hex').slice(0, 12);
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'learnvault', `npm-web-${sum}`, 'node_modules');
}

export async function loadPackages() {
  const d = npmDir();
  const pw = await import(join(d, 'playwright-core', 'index.mjs'));
  const axe = await import(join(d, '@axe-core', 'playwright', 'dist', 'index.mjs'));
  return { chromium: pw.chromium, AxeBuilder: axe.default ?? axe.AxeBuilder };
}

// --name value pairs after the positional arguments.
export function parseArgs(argv) {
  const pos = [], opt = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) opt[argv[i].slice(2)] = argv[++i];
    else pos.push(argv[i]);
  }
  return { pos, opt };
}

export class FlowError extends Error {}

export function check(cond, msg) {
  if (!cond) throw new FlowError(msg);
}

// The flags of /work's "known to work" recipe: without the background
// networking ones chromium keeps trying hosts this machine cannot reach.
// Playwright's launch() gives every browser a new empty --user-data-dir.
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// The 200% zoom case: a 1280 x 800 window at 200% lays the page out in
// 640 x 400 CSS pixels, each drawn as 2 x 2 device pixels.
export const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 } },
  narrow: { viewport: { width: 320, height: 640 } },
  zoom200: { viewport: { width: 640, height: 400 }, deviceScaleFactor: 2 },
};

export class Flow {
  constructor(opts, pkgs) {
    this.base = opts.base.replace(/\/$/, '');
    this.demo = JSON.parse(readFileSync(opts.demo, 'utf8'));
    this.shots = opts.shots;
    this.chromiumPath = opts.chromium || '/usr/bin/chromium';
    this.bin = opts.bin || 'learnvault';
    this.pkgs = pkgs;
    this.n = 0;
    this.problems = [];   // uncaught page errors and dialogs, across pages
    this.dialogs = [];
    this.console = [];
    mkdirSync(this.shots, { recursive: true });
    // Downloads (a learner's export is personal data, even a demo's) go
    // here, not among the artefacts; removed at the end.
    this.tmp = mkdtempSync(join(tmpdir(), 'lv-web-'));
  }

  async start() {
    this.browser = await this.pkgs.chromium.launch({
      executablePath: this.chromiumPath, headless: true, args: CHROMIUM_ARGS, timeout: 60000,
    });
  }

  async stop() {
    if (this.browser) await this.browser.close();
    rmSync(this.tmp, { recursive: true, force: true });
  }

  log(msg) {
    process.stdout.write(`ok: ${msg}\n`);
  }

  // A new context (its own cookie jar) in one of VIEWPORTS; every page of it
  // reports uncaught errors and dialogs, which fail the flow at the end.
  async context(kind = 'desktop', extra = {}) {
    const ctx = await this.browser.newContext({ ...VIEWPORTS[kind], acceptDownloads: true, ...extra });
    ctx.setDefaultTimeout(15000);
    ctx.on('page', (p) => this.watch(p));
    return ctx;
  }

  watch(page) {
    page.on('pageerror', (e) => this.problems.push(`uncaught error in ${page.url()}: ${e.message}`));
    page.on('dialog', async (d) => {
      this.dialogs.push(`${d.type()}: ${d.message()}`);
      // A confirm() the page asks on purpose is the flow's to answer; any
      // alert is a failure (the XSS payload calls alert).
      if (d.type() === 'alert') this.problems.push(`alert dialog: ${d.message()}`);
      await d.dismiss().catch(() => {});
    });
    page.on('console', (m) => this.console.push(`${m.type()}: ${m.text()}`));
  }

  async page(kind = 'desktop', extra = {}) {
    const ctx = await this.context(kind, extra);
    const p = await ctx.newPage();
    return p;
  }

  // A screenshot (full page) as NN-name.png in the flow's artefact dir.
  async shot(page, name) {
    this.n += 1;
    const file = join(this.shots, `${String(this.n).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  }

  // axe-core (WCAG 2.0/2.1 A and AA rules) on the page as it is now: no
  // serious or critical violation; the minor ones are printed.
  async axe(page, name) {
    const r = await new this.pkgs.AxeBuilder({ page })
      .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
      .analyze();
    const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    for (const v of r.violations.filter((x) => !bad.includes(x)))
      process.stdout.write(`note: axe ${name}: ${v.impact} ${v.id} (${v.nodes.length})\n`);
    check(bad.length === 0, `axe on ${name}: ${bad.map((v) => `${v.impact} ${v.id}: ${v.help} at ` +
      v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')).join('; ')}`);
    this.log(`axe ${name}: no serious or critical violation (${r.passes.length} rules passed)`);
  }

  // Screenshot + axe of the page as it is.
  async look(page, name) {
    await this.shot(page, name);
    await this.axe(page, name);
  }

  // WCAG 1.4.10 / 1.4.4 for the main controls: at 320 CSS px and at 200%
  // zoom each locator from @controls(page) is visible and lies within the
  // viewport's width (reachable without scrolling sideways).  @open(page)
  // brings the page to the state to check (e.g. logs in).
  async reflow(name, open, controls) {
    for (const kind of ['narrow', 'zoom200']) {
      const page = await this.page(kind);
      await open(page);
      const width = VIEWPORTS[kind].viewport.width;
      for (const [what, loc] of Object.entries(controls(page))) {
        await loc.first().scrollIntoViewIfNeeded();
        check(await loc.first().isVisible(), `${name} at ${kind}: ${what} is not visible`);
        const b = await loc.first().boundingBox();
        check(b && b.x >= -1 && b.x + b.width <= width + 1,
          `${name} at ${kind}: ${what} lies outside the ${width} px viewport (x ${b && b.x}, width ${b && b.width})`);
      }
      await this.shot(page, `${name}-${kind}`);
      this.log(`${name} at ${kind}: ${Object.keys(controls(page)).join(', ')} visible`);
      await page.context().close();
    }
  }

  // The flow fails on any uncaught page error or alert seen on the way.
  finish() {
    check(this.problems.length === 0, `page problems: ${this.problems.join('; ')}`);
  }

  // Direct HTTP to the server (setup and checks that a page cannot make).
  async http(path, { method, headers = {}, body, bearer, basic } = {}) {
    method ??= body === undefined ? 'GET' : 'POST';
    const h = { ...headers };
    if (bearer) h.Authorization = `Bearer ${bearer}`;
    if (basic) h.Authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
    if (body !== undefined && typeof body !== 'string') {
      body = JSON.stringify(body);
      h['Content-Type'] ??= 'application/json';
    }
    const r = await fetch(this.base + path, { method, headers: h, body, redirect: 'manual' });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, headers: r.headers, text, json };
  }

  // Logs in through the page at "/" with @token; waits for the role's page
  // (@path, e.g. "/learner.html") and its session header.
  async login(page, token, path) {
    await page.goto(this.base + '/');
    await page.getByTestId('login-token').fill(token);
    await page.getByTestId('login-submit').click();
    await page.waitForURL((u) => u.pathname === path);
    await page.getByTestId('session-role').waitFor();
  }

  // Tokens of the demo node (tools/dev demo's demo.json).
  token(role, who) {
    const d = this.demo;
    if (role === 'learner') return d.learners.find((l) => !who || l.name.startsWith(who)).token;
    if (role === 'guardian') return d.learners.find((l) => l.guardian && (!who || l.name.startsWith(who))).guardian.token;
    return d[role].token;
  }

  learner(who) {
    return this.demo.learners.find((l) => l.name.startsWith(who));
  }
}

// A verifier key (C2SP signed note: name+hash+base64(0x01 || Ed25519
// public key)) with the same name as @vkey but a fresh key pair: valid in
// form, yet no signature of the node's verifies with it.
export function otherVkey(vkey) {
  const name = vkey.split('+')[0];
  const der = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  const key = Buffer.concat([Buffer.from([1]), der.subarray(der.length - 32)]);
  const hash = createHash('sha256').update(Buffer.concat([Buffer.from(name + '\n'), key])).digest().subarray(0, 4);
  return `${name}+${hash.toString('hex')}+${key.toString('base64')}`;
}

// Kills the flow when the C test that started it is gone (a crashed test
// leaves no browser behind) and after @ms in any case.
export function watchdog(parentPid, ms) {
  const t = setTimeout(() => {
    process.stderr.write(`flow timed out after ${ms / 1000} s\n`);
    process.exit(3);
  }, ms);
  t.unref();
  if (parentPid) {
    const i = setInterval(() => {
      try { process.kill(Number(parentPid), 0); } catch { process.exit(4); }
    }, 1000);
    i.unref();
  }
}
