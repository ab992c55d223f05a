// The web door's browser flows: `node flows.mjs FLOW --base URL --demo
// demo.json --shots DIR [--chromium PATH] [--parent-pid PID]`.  One flow
// per run, against a node that tests/test-browser.c made with demo-seed and
// serves; prints "ok: ..." lines, exits 0 when every check held, 1 with the
// reason on stderr otherwise.  What each flow asserts: README.md.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
    await f.shot(page, 'learner-logged-in');
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
    await f.shot(page, 'learner-logged-in');
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

  // Ada (who said yes through the API beforehand) withdraws her consent on
  // the page: the card says Withdrawn, the server's ledger agrees, and her
  // access report shows the withdrawal as its newest entry, proof verified.
  async 'consent-withdraw'(f) {
    const token = f.token('learner', 'Ada');
    const yes = await f.http('/learner/consents', { bearer: token, body: { policy: 'course-improvement' } });
    check(yes.status === 200 || yes.status === 201, `setup: consent POST ${yes.status} ${yes.text}`);
    const page = await f.page();
    await f.login(page, token, PAGE.learner);
    const card = page.locator('[data-policy-card="course-improvement"]');
    await card.getByTestId('consent-current').filter({ hasText: /Yes/ }).waitFor();
    await page.getByTestId('access-summary').filter({ hasText: /verified|failed/ }).waitFor();
    await f.look(page, 'learner-before');
    await card.getByTestId('consent-withdraw').click();
    await page.getByTestId('status').filter({ hasText: /Withdrawal recorded/ }).waitFor();
    const again = page.locator('[data-policy-card="course-improvement"]');
    await again.getByTestId('consent-current').filter({ hasText: /Withdrawn/ }).waitFor();
    f.log('the card shows the withdrawal');
    const ledger = await f.http('/learner/consents', { bearer: token });
    const last = ledger.json.events.filter((e) => e.policy_id === 'course-improvement').at(-1);
    check(last && last.event === 'ConsentWithdrawn' && last.actor_role === 'learner',
      `the ledger's last event: ${JSON.stringify(last)}`);
    f.log('the server recorded ConsentWithdrawn by the learner');
    // Withdraw stays as reachable as yes and no; with no yes left it
    // records nothing.
    await again.getByTestId('consent-withdraw').click();
    await page.getByTestId('status').filter({ hasText: /Nothing to withdraw/ }).waitFor();
    const after = await f.http('/learner/consents', { bearer: token });
    check(after.json.events.length === ledger.json.events.length, 'a second withdraw wrote to the ledger');
    // The page reloads the access report after a decision; wait for the
    // withdrawal to be its newest entry with its proof checked.
    const newest = page.getByTestId('access-entry').first();
    await page.waitForFunction(() => {
      const li = document.querySelector('[data-testid=access-entry]');
      return li && /withdrawn for course-improvement/i.test(li.textContent) &&
        /verified/.test(li.querySelector('[data-testid=proof-status]').textContent);
    }, null, { timeout: 20000 });
    check(await newest.getByTestId('proof-status').textContent() === 'verified', 'the withdrawal entry is not verified');
    check(!/failed/.test(await page.getByTestId('access-summary').textContent()), 'some access-report proofs failed');
    await f.look(page, 'learner-withdrawn');
    f.log('the access report shows the withdrawal, its inclusion proof verified in the page');
    await f.reflow('learner', (p) => f.login(p, token, PAGE.learner),
      (p) => ({ logout: p.getByTestId('logout'), 'filter-activity': p.getByTestId('filter-activity'),
        'consent-give': p.getByTestId('consent-give').first(), 'consent-withdraw': p.getByTestId('consent-withdraw').first(),
        'export-json': p.getByTestId('export-json'), 'erase-start': p.getByTestId('erase-start') }));
  },

  // Emma is 10: her own yes is refused; her guardian's page says whose
  // choices they make, and the guardian's yes is recorded as the guardian's.
  async 'guardian-grant'(f) {
    const kid = await f.page();
    await f.login(kid, f.token('learner', 'Emma'), PAGE.learner);
    const kcard = kid.locator('[data-policy-card="course-improvement"]');
    await kcard.getByTestId('consent-give').click();
    await kid.getByTestId('status').filter({ hasText: /Could not record/ }).waitFor();
    await f.shot(kid, 'minor-refused');
    f.log(`the minor's own yes is refused: ${await kid.getByTestId('status').textContent()}`);
    await kid.context().close();

    const page = await f.page();
    await f.login(page, f.token('guardian', 'Emma'), PAGE.guardian);
    await page.getByTestId('whose').filter({ hasText: /guardian/ }).waitFor();
    const card = page.locator('[data-policy-card="course-improvement"]');
    await card.getByTestId('consent-current').filter({ hasText: /Not decided/ }).waitFor();
    await f.look(page, 'guardian-before');
    await card.getByTestId('consent-give').click();
    await page.getByTestId('status').filter({ hasText: /Yes recorded/ }).waitFor();
    await page.locator('[data-policy-card="course-improvement"]').getByTestId('consent-current')
      .filter({ hasText: /Yes by a parent or guardian/ }).waitFor();
    const ledger = await f.http('/learner/consents', { bearer: f.token('learner', 'Emma') });
    const last = ledger.json.events.filter((e) => e.policy_id === 'course-improvement').at(-1);
    check(last && last.event === 'ConsentGiven' && last.actor_role === 'guardian', `ledger: ${JSON.stringify(last)}`);
    await page.waitForFunction(() => {
      const li = document.querySelector('[data-testid=access-entry]');
      return li && /course-improvement/.test(li.textContent) && /guardian/.test(li.textContent) &&
        /verified/.test(li.querySelector('[data-testid=proof-status]').textContent);
    }, null, { timeout: 20000 });
    await f.look(page, 'guardian-granted');
    f.log('the guardian grants for the minor; the ledger and the access report say by the guardian');
  },

  // Ada downloads her JSON export (her records in it) and erases herself:
  // the page explains first, wants the word typed, then returns to login;
  // her token no longer logs in.
  async 'export-erase'(f) {
    const token = f.token('learner', 'Ada');
    const page = await f.page();
    await f.login(page, token, PAGE.learner);
    await page.getByTestId('export-json').waitFor();
    const dl = page.waitForEvent('download');
    await page.getByTestId('export-json').click();
    const d = await dl;
    const file = join(f.tmp, 'learner-export.json');
    await d.saveAs(file);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    const text = JSON.stringify(doc);
    check(text.includes('ada@students.example.org') || text.includes(f.learner('Ada').learner),
      'the export does not name Ada or her pseudonym');
    check(/statements/.test(Object.keys(doc).join(' ')), `the export has no statements: keys ${Object.keys(doc)}`);
    f.log(`the JSON export downloads as ${d.suggestedFilename()} (${text.length} bytes, keys ${Object.keys(doc).join(', ')})`);

    await page.getByTestId('erase-start').click();
    const panel = page.getByTestId('erase-panel');
    await panel.waitFor();
    check(/backups/.test(await panel.textContent()) && /enrol/.test(await panel.textContent()),
      'the erase step does not say what happens to backups and re-enrolment');
    await f.look(page, 'erase-confirm');
    await page.getByTestId('erase-word').fill('erase');
    await page.getByTestId('erase-confirm').click();
    await page.getByTestId('status').filter({ hasText: /Type ERASE/ }).waitFor();
    check((await f.http('/learner/consents', { bearer: token })).status === 200, 'a wrong confirmation word erased');
    f.log('a wrong confirmation word erases nothing');
    await page.getByTestId('erase-word').fill('ERASE');
    await page.getByTestId('erase-confirm').click();
    await page.waitForURL((u) => u.pathname === '/', { timeout: 20000 });
    f.log('after erasing the page returns to the login form');
    await page.getByTestId('login-token').fill(token);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('status').filter({ hasText: /not accepted/ }).waitFor();
    check(new URL(page.url()).pathname === '/', 'the erased learner left the login page');
    await f.shot(page, 'erased-login-refused');
    const r = await f.http('/learner/consents', { bearer: token });
    check(r.status === 401, `the erased learner's token over the API: ${r.status}`);
    f.log('the erased learner\'s token no longer logs in');
  },

  // A statement whose activity name is markup renders as that text: no
  // dialog, no <img> made from it, the text visible in the records table.
  async xss(f) {
    const p = f.demo.provider;
    const payload = '<img src=x onerror=alert(1)>';
    const st = { actor: { objectType: 'Agent', mbox: 'mailto:ada@students.example.org' },
      verb: { id: 'http://adlnet.gov/expapi/verbs/experienced', display: { 'en-US': payload } },
      object: { id: 'https://lms.example.org/xss-probe', definition: { name: { 'en-US': payload },
        description: { 'en-US': payload } } },
      timestamp: new Date().toISOString() };
    const r = await f.http('/xapi/statements', { basic: `${p.key}:${p.secret}`, body: st,
      headers: { 'X-Experience-API-Version': '1.0.3' } });
    check(r.status === 200, `ingest: ${r.status} ${r.text}`);
    const page = await f.page();
    await f.login(page, f.token('learner', 'Ada'), PAGE.learner);
    await page.getByTestId('records-count').filter({ hasText: /Showing/ }).waitFor();
    if (await page.getByTestId('records-all').isVisible()) {
      await page.getByTestId('records-all').click();
      await page.getByTestId('records-count').filter({ hasText: /all of them/ }).waitFor();
    }
    await page.getByTestId('filter-activity').fill('xss-probe');
    const table = page.getByTestId('records-table');
    await table.getByText(payload, { exact: true }).first().waitFor();
    check(await table.getByText(payload, { exact: true }).first().isVisible(), 'the payload text is not visible');
    const imgs = await page.evaluate(() => [...document.querySelectorAll('img[src="x"], [onerror]')].map((i) => i.outerHTML));
    check(imgs.length === 0, `the page made <img> elements: ${imgs.join(' ')}`);
    await page.waitForTimeout(500);
    check(f.dialogs.length === 0, `dialogs opened: ${f.dialogs.join('; ')}`);
    await f.look(page, 'xss-as-text');
    f.log('the activity name <img src=x onerror=alert(1)> renders as text; no dialog, no <img>');
  },

  // The analyst asks the demo's mean quiz score: the budget is shown before
  // asking, the answer shows exactly the API's value, interval and ε, the
  // chart draws the interval as error bars; asking the same id again is
  // cached and costs nothing.
  async 'analyst-question'(f) {
    const page = await f.page();
    await f.login(page, f.token('analyst'), PAGE.analyst);
    await page.getByTestId('analyst-purpose').selectOption('course-improvement');
    const budget = page.getByTestId('analyst-budget');
    await budget.filter({ hasText: /\d/ }).waitFor();
    const budgetBefore = await budget.textContent();
    await f.look(page, 'analyst');
    await page.getByTestId('analyst-metric').selectOption('mean');
    await page.getByTestId('analyst-field').selectOption('result.score.scaled');
    await page.getByTestId('analyst-lo').fill('0');
    await page.getByTestId('analyst-hi').fill('1');
    await page.getByTestId('analyst-activity').fill('https://lms.example.org/course/fractions');
    await page.getByTestId('analyst-epsilon-input').fill('0.5');
    await page.getByTestId('analyst-query-id').fill('w4-mean-quiz');
    const ask = async () => {
      const resp = page.waitForResponse((r) => r.url() === f.base + '/aggregate' && r.request().method() === 'POST');
      await page.getByTestId('analyst-ask').click();
      const r = await resp;
      check(r.status() === 200, `POST /aggregate from the page: ${r.status()} ${await r.text()}`);
      const a = await r.json();
      await page.getByTestId('analyst-value').filter({ hasText: String(a.value) }).waitFor();
      return a;
    };
    const a = await ask();
    check(Array.isArray(a.ci95) && a.ci95.length === 2 && a.epsilon === 0.5 && !a.suppressed, `the answer: ${JSON.stringify(a)}`);
    const shown = await page.getByTestId('analyst-value').textContent();
    check(shown.includes(String(a.value)) && shown.includes(String(a.ci95[0])) && shown.includes(String(a.ci95[1])),
      `the page shows "${shown}" for value ${a.value}, interval ${a.ci95}`);
    check((await page.getByTestId('analyst-epsilon').textContent()).includes('0.5'), 'ε is not shown');
    const chart = page.getByTestId('analyst-chart');
    const bars = chart.locator('svg line.errorbar');
    check(await bars.count() === 3, `error bars in the chart: ${await bars.count()} lines`);
    // A vertical line has an empty box, which Playwright calls invisible:
    // check what draws it instead (stroke, width, display) and its length.
    check(await chart.isVisible(), 'the chart is not visible');
    const bar = await bars.first().evaluate((l) => {
      const cs = getComputedStyle(l);
      return { stroke: cs.stroke, width: parseFloat(cs.strokeWidth), display: cs.display, vis: cs.visibility,
        len: Math.abs(l.y2.baseVal.value - l.y1.baseVal.value) };
    });
    check(bar.stroke !== 'none' && bar.width > 0 && bar.display !== 'none' && bar.vis === 'visible',
      `the error bar is not drawn: ${JSON.stringify(bar)}`);
    check(a.ci95[0] === a.ci95[1] || bar.len > 1, 'the error bar has no length');
    const tableText = await page.getByTestId('analyst-chart-table').textContent();
    check(tableText.includes(String(a.ci95[0])) && tableText.includes(String(a.ci95[1])), 'the chart\'s table lacks the interval');
    await budget.filter({ hasNotText: budgetBefore }).waitFor();
    await f.look(page, 'analyst-answer');
    f.log(`the answer ${a.value} with 95% interval ${a.ci95[0]}..${a.ci95[1]} and ε ${a.epsilon} is shown and drawn with error bars`);
    f.log(`budget before: "${budgetBefore.trim()}"; after: "${(await budget.textContent()).trim()}"`);

    const b = await ask();
    check(b.cached === true && b.value === a.value, `asked again: ${JSON.stringify(b)}`);
    await page.getByTestId('analyst-epsilon').filter({ hasText: /cached/ }).waitFor();
    const rows = page.getByTestId('analyst-history-table').locator('tbody tr');
    check(await rows.count() === 2, `history rows: ${await rows.count()}`);
    await f.shot(page, 'analyst-cached');
    f.log('the same question again is the cached answer, at no cost, and both are in the history');
    await f.reflow('analyst', (p) => f.login(p, f.token('analyst'), PAGE.analyst),
      (p) => ({ purpose: p.getByTestId('analyst-purpose'), metric: p.getByTestId('analyst-metric'),
        epsilon: p.getByTestId('analyst-epsilon-input'), ask: p.getByTestId('analyst-ask') }));
  },

  // With session_idle_minutes = 1 (set by the C test before serving) a page
  // left alone for over a minute goes back to the login form at its next
  // request, and the server refuses the old cookie.
  async 'session-expiry'(f) {
    const page = await f.page();
    await f.login(page, f.token('learner', 'Ada'), PAGE.learner);
    await page.waitForLoadState('networkidle');
    const s = await page.evaluate(async () => (await fetch('/session')).json());
    const idle = (Date.parse(s.idle_expires) - Date.now()) / 1000;
    check(idle > 0 && idle <= 61, `idle expiry is ${idle} s away, not at most a minute (session_idle_minutes unused?)`);
    await page.getByTestId('access-refresh').waitFor();
    const c = (await page.context().cookies()).find((x) => x.name === 'lv_session');
    await f.shot(page, 'before-expiry');
    f.log(`logged in; the session's idle expiry is ${Math.round(idle)} s away; waiting it out`);
    await page.waitForTimeout(Math.max(0, Date.parse(s.idle_expires) - Date.now()) + 3000);
    await page.getByTestId('access-refresh').click();
    await page.waitForURL((u) => u.pathname === '/', { timeout: 15000 });
    await page.getByTestId('login-token').waitFor();
    await f.look(page, 'after-expiry');
    f.log('after the idle expiry the next request sends the page back to the login form');
    const r = await f.http('/session', { headers: { Cookie: `lv_session=${c.value}` } });
    check(r.status === 401, `the expired cookie: GET /session ${r.status}`);
    f.log('the server refuses the expired session');
  },

  // While the server runs, the admin enrols a learner and issues their
  // token, adds an analyst credential, and revokes it: the new tokens log
  // in at once; the revoked analyst's open page goes back to login.
  async 'admin-live'(f) {
    const page = await f.page();
    await f.login(page, f.token('admin'), PAGE.admin);
    const learners = page.getByTestId('admin-status-learners');
    await learners.waitFor();
    const before = Number(await learners.textContent());
    check(before === 45, `learners at start: ${before}`);
    await f.look(page, 'admin');

    await page.getByTestId('admin-enrol-kind').selectOption('mbox');
    await page.getByTestId('admin-enrol-mbox').fill('mailto:newcomer@students.example.org');
    await page.getByTestId('admin-enrol-name').fill('New Comer');
    await page.getByTestId('admin-enrol-birth').fill('2006-05-04');
    await page.getByTestId('admin-enrol-submit').click();
    const pseudonym = (await page.getByTestId('admin-enrol-pseudonym').textContent()).trim();
    check(/^[0-9a-f]{32}$/.test(pseudonym), `enrolled pseudonym: ${pseudonym}`);
    await learners.filter({ hasText: String(before + 1) }).waitFor();
    f.log(`enrolled a learner (${pseudonym}); the status counts ${before + 1}`);
    await page.getByTestId('admin-token-learner').fill(pseudonym);
    await page.getByTestId('admin-token-role').selectOption('learner');
    await page.getByTestId('admin-token-submit').click();
    const ltoken = await page.getByTestId('admin-secret-token').inputValue();
    check(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(ltoken), 'no learner token shown');
    await f.look(page, 'admin-secret');
    await page.getByTestId('admin-secret-dismiss').click();
    check(await page.getByTestId('admin-secret-token').count() === 0, 'the secret stays in the page after dismissing');
    const lp = await f.page();
    await f.login(lp, ltoken, PAGE.learner);
    await lp.getByTestId('whose').filter({ hasText: pseudonym }).waitFor();
    await f.shot(lp, 'new-learner');
    await lp.context().close();
    f.log('the new learner\'s token logs in at once, as that learner');

    await page.getByTestId('admin-cred-role').selectOption('analyst');
    await page.getByTestId('admin-cred-purposes').locator('input[value="course-improvement"]').check();
    await page.getByTestId('admin-cred-label').fill('w4 analyst');
    await page.getByTestId('admin-cred-submit').click();
    const atoken = await page.getByTestId('admin-secret-token').inputValue();
    await page.getByTestId('admin-secret-dismiss').click();
    const ap = await f.page();
    await f.login(ap, atoken, PAGE.analyst);
    await ap.getByTestId('analyst-purpose').locator('option[value="course-improvement"]').waitFor({ state: 'attached' });
    f.log('the new analyst credential logs in at once, bound to course-improvement');

    const id = atoken.split('.')[0];
    const revoke = page.locator(`[data-testid=admin-cred-revoke][data-id="${id}"]`);
    await revoke.click();
    await page.getByTestId('admin-revoke-dialog').waitFor();
    await f.look(page, 'admin-revoke-dialog');
    await page.getByTestId('admin-revoke-confirm').click();
    await page.locator(`[data-testid=admin-cred-revoke][data-id="${id}"]`).waitFor({ state: 'detached' });
    await ap.reload();
    await ap.waitForURL((u) => u.pathname === '/');
    await ap.getByTestId('login-token').fill(atoken);
    await ap.getByTestId('login-submit').click();
    await ap.getByTestId('status').filter({ hasText: /not accepted/ }).waitFor();
    f.log('revoked: the analyst\'s open session ends and the token no longer logs in');
    await f.reflow('admin', (p) => f.login(p, f.token('admin'), PAGE.admin),
      (p) => ({ enrol: p.getByTestId('admin-enrol-submit'), token: p.getByTestId('admin-token-submit'),
        credential: p.getByTestId('admin-cred-submit'), logout: p.getByTestId('logout') }));
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
    const file = join(f.tmp, 'audit-export.json');
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
