// The web door's browser flows: `node flows.mjs FLOW --base URL --demo
// demo.json --shots DIR [--chromium PATH] [--parent-pid PID]`.  One flow
// per run, against a node that tests/test-browser.c made with demo-seed and
// serves; prints "ok: ..." lines, exits 0 when every check held, 1 with the
// reason on stderr otherwise.  What each flow asserts: README.md.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';

import { Flow, check, loadPackages, otherVkey, parseArgs, watchdog } from './lib.mjs';

// The contract's policy, directive by directive.
const CSP = {
  'default-src': "'self'", 'script-src': "'self'", 'style-src': "'self'", 'img-src': "'self' data:",
  'connect-src': "'self'", 'object-src': "'none'", 'base-uri': "'none'", 'form-action': "'self'",
  'frame-ancestors': "'none'",
};

const PAGE = { learner: '/learner.html', guardian: '/learner.html', analyst: '/analyst.html',
  auditor: '/auditor.html', admin: '/admin.html' };

function parseCsp(h) {
  const o = {};
  for (const part of (h || '').split(';')) {
    const [k, ...v] = part.trim().split(/\s+/);
    if (k) o[k] = v.join(' ');
  }
  return o;
}

function checkHeaders(r, what) {
  const csp = parseCsp(r.headers.get('content-security-policy'));
  for (const [k, v] of Object.entries(CSP))
    check(csp[k] === v, `${what}: CSP ${k} is "${csp[k]}", want "${v}"`);
  check(!/unsafe-inline|unsafe-eval/.test(r.headers.get('content-security-policy')), `${what}: CSP allows unsafe-*`);
  check(r.headers.get('x-content-type-options') === 'nosniff', `${what}: X-Content-Type-Options`);
  check(r.headers.get('referrer-policy') === 'no-referrer', `${what}: Referrer-Policy`);
  check(r.headers.get('x-frame-options') === 'DENY', `${what}: X-Frame-Options`);
}

// A tiny page server on another port of loopback, for the CSRF flow: it
// answers every request with @html.
function attacker(html) {
  return new Promise((resolve) => {
    const s = createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(html);
    });
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

const flows = {
  // The login page (mouse and keyboard), a refused token, every role's
  // landing page, logout, and the login controls at 320 px and 200%.
  async login(f) {
    const page = await f.page();
    await page.goto(f.base + '/');
    await f.look(page, 'login');
    await page.getByTestId('login-token').fill('AAAAAAAAAAAAAAAA.notarealsecret');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('status').filter({ hasText: /not accepted/i }).waitFor();
    check(new URL(page.url()).pathname === '/', 'a refused token left the login page');
    check((await page.context().cookies()).every((c) => c.name !== 'lv_session'), 'a refused token set a cookie');
    await f.shot(page, 'login-refused');
    f.log('a bad token is refused and sets no cookie');

    // Keyboard only: Tab to the token field, type, Enter.
    await page.goto(f.base + '/');
    for (let i = 0; i < 6; i++) {
      if (await page.evaluate(() => document.activeElement?.dataset?.testid) === 'login-token') break;
      await page.keyboard.press('Tab');
    }
    check(await page.evaluate(() => document.activeElement?.dataset?.testid) === 'login-token',
      'Tab does not reach the token field');
    await page.keyboard.type(f.token('learner', 'Ada'));
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.pathname === PAGE.learner);
    await page.getByTestId('session-role').waitFor();
    f.log('a learner logs in with the keyboard alone');
    await page.context().close();

    for (const [role, who] of [['learner', 'Ada'], ['guardian', 'Emma'], ['analyst'], ['auditor'], ['admin']]) {
      const p = await f.page();
      await f.login(p, f.token(role, who), PAGE[role]);
      await p.waitForLoadState('networkidle');
      await f.look(p, `${role}-home`);
      await p.getByTestId('logout').click();
      await p.waitForURL((u) => u.pathname === '/');
      const s = await p.evaluate(async () => (await fetch('/session')).status);
      check(s === 401, `${role}: after Log out GET /session answers ${s}`);
      f.log(`${role} logs in at ${PAGE[role]} and out again`);
      await p.context().close();
    }
    await f.reflow('login', (p) => p.goto(f.base + '/'),
      (p) => ({ token: p.getByTestId('login-token'), submit: p.getByTestId('login-submit') }));
  },

  // The session cookie is HttpOnly and SameSite=Strict, script cannot read
  // it, the token is kept nowhere in the page, and Log out ends the session
  // on the server (the old cookie is refused afterwards).
  async cookie(f) {
    const page = await f.page();
    const token = f.token('learner', 'Ada');
    await f.login(page, token, PAGE.learner);
    const c = (await page.context().cookies()).find((x) => x.name === 'lv_session');
    check(c, 'no lv_session cookie after login');
    check(c.httpOnly, 'lv_session is not HttpOnly');
    check(c.sameSite === 'Strict', `lv_session SameSite is ${c.sameSite}`);
    check(c.path === '/', `lv_session Path is ${c.path}`);
    check(!c.secure, 'lv_session is Secure on a plain-HTTP node');
    check(/^[A-Za-z0-9_-]{43}$/.test(c.value), 'lv_session is not 43 base64url characters');
    const seen = await page.evaluate(() => ({
      cookie: document.cookie,
      stores: JSON.stringify([{ ...localStorage }, { ...sessionStorage }]),
      url: location.href,
    }));
    check(!seen.cookie.includes('lv_session') && !seen.cookie.includes(c.value), `document.cookie shows the session: ${seen.cookie}`);
    const secret = token.split('.')[1];
    for (const [k, v] of Object.entries(seen))
      check(!v.includes(secret), `the token's secret is in the page's ${k}`);
    f.log('document.cookie does not show lv_session; the token is in no storage or URL');
    const me = await page.evaluate(async () => { const r = await fetch('/session'); return [r.status, await r.json()]; });
    check(me[0] === 200 && me[1].role === 'learner', `GET /session with the cookie: ${JSON.stringify(me)}`);
    await page.getByTestId('logout').click();
    await page.waitForURL((u) => u.pathname === '/');
    for (const path of ['/session', '/learner/consents']) {
      const r = await f.http(path, { headers: { Cookie: `lv_session=${c.value}` } });
      check(r.status === 401, `the old cookie after Log out: ${path} answers ${r.status}`);
    }
    f.log('after Log out the old cookie is refused by the server');
  },

  // The security headers on static files and the API, no inline script or
  // handler in the pages, and a script injected through devtools is
  // blocked by CSP (with a securitypolicyviolation event).
  async csp(f) {
    for (const path of ['/', '/index.html', '/css/app.css', '/js/api.js', '/learner.html', '/xapi/about', '/no-such-page'])
      checkHeaders(await f.http(path), path);
    f.log('CSP, nosniff, no-referrer and DENY on static files, the API and a 404');
    for (const [role, who] of [['learner', 'Ada'], ['analyst'], ['auditor'], ['admin']]) {
      const page = await f.page();
      await f.login(page, f.token(role, who), PAGE[role]);
      await page.waitForLoadState('networkidle');
      const inline = await page.evaluate(() => {
        const bad = [];
        for (const s of document.scripts) if (!s.src) bad.push(`inline <script>: ${s.textContent.slice(0, 60)}`);
        for (const e of document.querySelectorAll('*'))
          for (const a of e.attributes)
            if (/^on/i.test(a.name) || a.name === 'style') bad.push(`<${e.tagName.toLowerCase()} ${a.name}>`);
        return bad;
      });
      check(inline.length === 0, `${PAGE[role]} has inline script or style: ${inline.join(', ')}`);
      const r = await page.evaluate(() => new Promise((resolve) => {
        const seen = [];
        document.addEventListener('securitypolicyviolation', (e) => seen.push(e.effectiveDirective));
        const s = document.createElement('script');
        s.textContent = 'window.__lvInjected = 1';
        document.head.append(s);
        const img = document.createElement('img');
        img.setAttribute('onerror', 'window.__lvInjected2 = 1');
        img.alt = '';
        img.src = 'data:image/png;base64,AAAA';
        document.body.append(img);
        setTimeout(() => resolve({ ran: window.__lvInjected, ran2: window.__lvInjected2, seen }), 500);
      }));
      check(r.ran === undefined, `${PAGE[role]}: an injected inline script ran`);
      check(r.ran2 === undefined, `${PAGE[role]}: an injected inline handler ran`);
      check(r.seen.some((d) => d.startsWith('script-src')), `${PAGE[role]}: no CSP violation reported (${r.seen})`);
      f.log(`${PAGE[role]}: no inline script; injected script and handler blocked (${r.seen.join(', ')})`);
      await page.context().close();
    }
  },

  // A form on another origin of the same site (another loopback port: the
  // SameSite=Strict cookie IS sent) posts a consent without X-CSRF-Token:
  // 403 csrf, and the consents are as they were.  From another site
  // (localhost) the cookie is not even sent.
  async csrf(f) {
    const page = await f.page();
    await f.login(page, f.token('learner', 'Ada'), PAGE.learner);
    const consents = () => page.evaluate(async () => JSON.stringify(await (await fetch('/learner/consents')).json()));
    const before = await consents();
    // text/plain turns the field into a JSON body: {"policy":"course-improvement","x":"="}
    const html = `<!doctype html><html lang="en"><title>prize</title><body>
      <form id="f" method="post" enctype="text/plain" action="${f.base}/learner/consents">
      <input type="hidden" name='{"policy":"course-improvement","x":"' value='"}'></form>
      <button id="go" form="f">Win</button></body></html>`;
    const srv = await attacker(html);
    const port = srv.address().port;
    try {
      for (const host of ['127.0.0.1', 'localhost']) {
        const evil = await page.context().newPage();
        await evil.goto(`http://${host}:${port}/`);
        const resp = evil.waitForResponse((r) => r.url().startsWith(f.base + '/learner/consents'));
        await evil.click('#go');
        const r = await resp;
        const body = await r.text();
        if (host === '127.0.0.1')
          check(r.status() === 403 && /"csrf"/.test(body), `same-site form POST: ${r.status()} ${body}`);
        else
          check(r.status() === 401 || r.status() === 403, `cross-site form POST: ${r.status()} ${body}`);
        await f.shot(evil, `csrf-${host}`);
        f.log(`a form POST from http://${host}:${port} without the header: ${r.status()}`);
        await evil.close();
      }
    } finally {
      srv.close();
    }
    check(await consents() === before, 'the refused POSTs changed the consents');
    f.log('the consents are unchanged');
  },

  // The auditor verifies the log in the page (status verified, the
  // compliance counts shown), a wrong trusted key makes it fail, the
  // downloaded export passes `learnvault audit verify`, entries browse by
  // type.
  async 'auditor-verify'(f) {
    const page = await f.page();
    await f.login(page, f.token('auditor'), PAGE.auditor);
    await page.getByTestId('audit-root').waitFor();
    const size = Number(await page.getByTestId('audit-size').textContent());
    check(size > 40, `the checkpoint covers ${size} entries`);
    await f.look(page, 'auditor');
    const status = page.getByTestId('audit-verify-status');
    const verify = async () => {
      await page.getByTestId('audit-verify').click();
      await page.waitForFunction(() => ['verified', 'failed', 'partial']
        .includes(document.querySelector('[data-testid=audit-verify-status]').dataset.state), null, { timeout: 60000 });
      return status.getAttribute('data-state');
    };
    check(await verify() === 'verified', `verify: ${await status.textContent()}`);
    check(/Verified/.test(await status.textContent()), 'the verified status says so in words');
    const consents = await page.getByTestId('audit-count-consent').textContent();
    check(Number(/(\d+)/.exec(consents)[1]) >= 35, `consent count: ${consents}`);
    await f.look(page, 'auditor-verified');
    f.log(`the log of ${size} entries is verified in the page (${consents})`);

    const dl = page.waitForEvent('download');
    await page.getByTestId('audit-download').click();
    const file = join(f.shots, 'audit-export.json');
    await (await dl).saveAs(file);
    const key = (await page.getByTestId('audit-key').textContent()).trim();
    const out = execFileSync(f.bin, ['audit', 'verify', '--log', file, '--key', key], { encoding: 'utf8' });
    f.log(`the downloaded export passes learnvault audit verify: ${out.trim().split('\n')[0].slice(0, 120)}`);

    // Another key (a valid one: of a second node's) must not verify.
    await page.getByTestId('audit-trusted-key').fill(otherVkey(key));
    check(await verify() === 'failed', `verify with a wrong key: ${await status.textContent()}`);
    await f.shot(page, 'auditor-wrong-key');
    f.log('with another trusted key the log does not verify');

    await page.getByTestId('audit-filter-type').selectOption('consent');
    await page.getByTestId('audit-browse').click();
    const rows = page.getByTestId('audit-entries-table').locator('tbody tr');
    await rows.first().waitFor();
    const text = await page.getByTestId('audit-entries-table').locator('tbody').textContent();
    check(/consent/.test(text) && !/\benrolment\b/.test(text), 'the consent filter shows other entries');
    f.log(`browsing by type: ${await rows.count()} consent entries on the first page`);
    await f.reflow('auditor', (p) => f.login(p, f.token('auditor'), PAGE.auditor),
      (p) => ({ verify: p.getByTestId('audit-verify'), download: p.getByTestId('audit-download'),
        key: p.getByTestId('audit-trusted-key') }));
  },
};

async function main() {
  const { pos, opt } = parseArgs(process.argv.slice(2));
  const name = pos[0];
  if (!flows[name] || !opt.base || !opt.demo || !opt.shots) {
    process.stderr.write(`usage: node flows.mjs ${Object.keys(flows).join('|')} --base URL --demo FILE --shots DIR\n`);
    process.exit(2);
  }
  watchdog(opt['parent-pid'], Number(process.env.LV_FLOW_TIMEOUT_MS || 240000));
  const f = new Flow(opt, await loadPackages());
  let rc = 0;
  try {
    await f.start();
    await flows[name](f);
    f.finish();
    process.stdout.write(`flow ${name}: passed\n`);
  } catch (e) {
    rc = 1;
    process.stderr.write(`flow ${name}: ${e instanceof Error ? e.stack : e}\n`);
    for (const ctx of f.browser ? f.browser.contexts() : [])
      for (const p of ctx.pages())
        await f.shot(p, 'failure').catch(() => {});
    if (f.console.length) process.stderr.write(`browser console:\n  ${f.console.slice(-20).join('\n  ')}\n`);
  } finally {
    await f.stop().catch(() => {});
  }
  process.exit(rc);
}

await main();
