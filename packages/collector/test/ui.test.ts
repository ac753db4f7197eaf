// The dashboard: served by the collector (content types, caching, CSP), then driven in a
// real browser (Debian's Chromium through playwright-core) against a collector on
// 127.0.0.1:0 with a seeded fleet of 20 hosts whose findings are known from the fixtures.
// Screenshots of each page go to test-output/ui/ at the repository root.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { request } from 'undici';
import type { Page } from 'playwright-core';
import { startTestCollector, type TestCollector } from './helpers/collector.js';
import { artifactDir, chromiumMissing, launchBrowser, type Browser } from './helpers/ui-browser.js';
import { seedFleet, XSS_HOSTNAME, XSS_PROCESS, type SeededHost } from './helpers/ui-fleet.js';
import { skipUnlessAvailable } from '../../../test/helpers/requirements.js';

const TOKEN_KEY = 'dualstack.readerToken';

async function fetchRaw(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

describe('the dashboard is served by the collector', () => {
  let c: TestCollector;
  before(async () => {
    c = await startTestCollector();
  });
  after(async () => c.close());

  test('GET / is the page: HTML, a strict CSP, revalidated; it names versioned assets', async () => {
    const res = await fetchRaw(`${c.url}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.match(csp, /connect-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:|\*/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['cache-control'], 'no-cache');
    const html = res.body.toString('utf8');
    const assets = [...html.matchAll(/(?:src|href)="(\/ui\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.length >= 3, html);
    for (const path of assets) {
      assert.match(path, /^\/ui\/v-[0-9a-f]{12}\/[\w.-]+$/, `${path} is versioned`);
      const asset = await fetchRaw(`${c.url}${path}`);
      assert.equal(asset.status, 200, path);
      assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable', path);
      const ext = path.split('.').pop();
      const type = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml' }[ext!];
      assert.equal(asset.headers['content-type'], type, path);
    }
    // Nothing on the page is fetched from elsewhere.
    assert.doesNotMatch(html, /https?:\/\//);
  });

  test('assets: compressed when accepted, 304 on a matching ETag, unversioned URLs revalidate, nothing else', async () => {
    const plain = await fetchRaw(`${c.url}/ui/app.js`);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['cache-control'], 'no-cache');
    assert.equal(plain.headers['content-encoding'], undefined);
    const br = await fetchRaw(`${c.url}/ui/app.js`, { 'accept-encoding': 'gzip, br' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.ok(br.body.length < plain.body.length);
    assert.deepEqual(brotliDecompressSync(br.body), plain.body);
    const etag = String(plain.headers.etag);
    const again = await fetchRaw(`${c.url}/ui/app.js`, { 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    for (const bad of ['/ui/nope.js', '/ui/../app.ts', '/ui/%2e%2e/plugins/ui.ts', '/ui/.hidden', '/ui/v-000000000000/sub/app.js']) {
      const res = await fetchRaw(`${c.url}${bad}`);
      assert.equal(res.status, 404, bad);
    }
    const index = await fetchRaw(`${c.url}/index.html`);
    assert.equal(index.status, 301);
  });

  test('the read API still needs a token: the page gives no data away', async () => {
    const res = await fetchRaw(`${c.url}/api/v1/summary`);
    assert.equal(res.status, 401);
  });
});

const missing = chromiumMissing();

describe('the dashboard in Chromium', { skip: skipUnlessAvailable(missing, 'chromium'), timeout: 300_000 }, () => {
  let c: TestCollector;
  let browser: Browser;
  let fleet: SeededHost[];
  const shots = artifactDir();
  const foreign: string[] = [];
  const consoleErrors: string[] = [];

  before(async () => {
    c = await startTestCollector();
    fleet = await seedFleet(c.store);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await c?.close();
  });

  /** A new tab (new sessionStorage), watched: requests elsewhere and console errors are recorded. */
  async function open(hash: string, ready: string, options: { token?: string | null; origin?: string; before?: (page: Page) => Promise<unknown> } = {}): Promise<Page> {
    const origin = options.origin ?? c.url;
    const page = await browser.context.newPage();
    page.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith(`${origin}/`) && !u.startsWith('data:')) foreign.push(u);
    });
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 40[134]/.test(m.text())) consoleErrors.push(`${hash}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`${hash}: ${e.message}`));
    const token = options.token === undefined ? c.tokens.reader : options.token;
    // As if entered once in this tab: set before the first load only (a reload keeps what the page did).
    if (token) {
      await page.addInitScript(([key, value]) => {
        if (sessionStorage.getItem('test.seeded') === null) {
          sessionStorage.setItem('test.seeded', '1');
          sessionStorage.setItem(key, value);
        }
      }, [TOKEN_KEY, token] as const);
    }
    await options.before?.(page);
    await page.goto(`${origin}/#${hash}`);
    await page.waitForSelector(`main[data-ready="${ready}"]`, { timeout: 20_000 });
    return page;
  }

  const text = (page: Page, selector: string) => page.locator(selector).first().innerText();
  const pct = (share: number | null) => (share === null ? 'n/a' : `${Math.round(share * 100)}%`);

  test('the overview shows the fleet: 18 reporting, 2 stale, the shares, modes and findings of the fixtures', async () => {
    const page = await open('/', 'overview');
    const summary = await c.store.summary(new Date());
    assert.equal(await text(page, '[data-metric="reporting"]'), '18');
    assert.equal(await text(page, '[data-metric="hosts"]'), '20');
    assert.equal(await text(page, '[data-metric="stale"]'), '2');
    // Routable: web-01..07 and app-01..04 of the 18 fresh hosts (edge: no default; legacy: IPv6 off).
    assert.equal(summary.ipv6RoutableShare, 11 / 18);
    assert.equal(await text(page, '[data-metric="ipv6-routable"]'), '61%');
    assert.equal(await text(page, '[data-metric="dual-share"]'), pct(summary.dualStackServiceShare));
    assert.equal(await text(page, '[data-metric="ipv6-connections"]'), pct(summary.ipv6ConnectionShare));
    // dual-stack-services: 3 IPv6 of 10 connections, on 8 hosts (web-07's are the same); ipv6-off: 3 IPv4.
    assert.deepEqual(summary.connections, { ipv4: 8 * 3 + 3 * 3, ipv6: 8 * 3, mapped: 8 * 4 });

    // Services by mode: each bar's count is the number of services in that mode over every host.
    const expected: Record<string, number> = {};
    for (const h of fleet) for (const s of h.report.services) expected[s.mode] = (expected[s.mode] ?? 0) + 1;
    const bars = await page.$$eval('svg.chart g.bar', (gs) => gs.map((g) => [g.getAttribute('data-mode'), Number(g.getAttribute('data-count')), g.querySelector('text.count')!.textContent]));
    assert.equal(bars.length, 5);
    for (const [mode, count, label] of bars) {
      assert.equal(count, expected[mode as string] ?? 0, `${mode}`);
      assert.match(String(label), new RegExp(`^${count} · \\d+%$`), `${mode}: the bar's count and share are written out`);
    }

    // Findings by rule and severity: the rules the fixtures raise, with their host counts.
    const rows = await page.$$eval('table.findings-by-rule tbody tr', (trs: HTMLTableRowElement[]) => trs.map((tr) => [tr.getAttribute('data-rule'), tr.getAttribute('data-severity'), Number(tr.cells[2]!.textContent)]));
    const byRule = Object.fromEntries(rows.map(([rule, sev, hosts]) => [`${rule} ${sev}`, hosts]));
    assert.equal(byRule['ipv6-unroutable critical'], 5);
    assert.equal(byRule['bindv6only-set warning'], 4);
    assert.equal(byRule['ipv6-disabled warning'], 3);
    assert.equal(byRule['service-ipv4-only warning'], 8);
    assert.equal(byRule['service-dual-mapped info'], 8 + 5 + 4);
    assert.equal(rows[0]![1], 'critical', 'critical rules first');
    assert.equal(await text(page, '[data-metric="findings-critical"]'), '5');

    // Alerts: rendered when the collector has them, "not configured" when it has no endpoint.
    const alerts = await fetchRaw(`${c.url}/api/v1/alerts`, { authorization: `Bearer ${c.tokens.reader}` });
    const section = page.locator('section[data-alerts]');
    if (alerts.status === 404) {
      assert.equal(await section.getAttribute('data-alerts'), 'not-configured');
      assert.match(await section.innerText(), /Alerts not configured/);
    } else {
      assert.equal(alerts.status, 200);
      const body = JSON.parse(alerts.body.toString()) as { alerts?: Array<{ status?: string }>; items?: Array<{ status?: string }> };
      const firing = (body.alerts ?? body.items ?? []).filter((a) => a.status === 'firing').length;
      assert.equal(await section.getAttribute('data-alerts'), String(firing));
    }
    assert.equal(await page.locator('#nav a[aria-current="page"]').innerText(), 'Overview');
    await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true });
    await page.close();
  });

  test('firing alerts are listed first, with severity in words, host links and markup kept as text', async () => {
    // The alerts API's shape (packages/collector/src/alerts/api.ts, AlertsResponse), answered
    // in the browser so the page's rendering is checked whatever this collector has configured.
    const alert = (status: string, host: string, summary: string, extra: Record<string, unknown> = {}) => ({
      fingerprint: `fp-${host}-${status}`,
      rule: status === 'resolved' ? 'service-regressed' : 'host-stale',
      status,
      labels: { alertname: 'host-stale', severity: status === 'firing' ? 'critical' : 'warning', host },
      summary,
      fix: 'Check the agent timer: systemctl status dualstack-agent.timer',
      annotations: {},
      activeSince: new Date(Date.now() - 3600_000).toISOString(),
      firingSince: status === 'pending' ? null : new Date(Date.now() - 1800_000).toISOString(),
      resolvedAt: status === 'resolved' ? new Date(Date.now() - 600_000).toISOString() : null,
      notifiedStatus: null,
      lastNotifiedAt: null,
      ...extra,
    });
    const body = {
      alerts: [
        alert('firing', 'web-08', 'web-08 has not reported for 2 h.'),
        alert('firing', 'legacy-03', `${XSS_HOSTNAME} has not reported for 2 h.`),
        alert('pending', 'edge-01', 'edge-01 is late.'),
        alert('resolved', 'web-01', 'tcp/22 is dual-stack again.'),
      ],
      lastEvaluation: null,
      receivers: [],
    };
    const page = await open('/', 'overview', {
      before: (p) => p.route('**/api/v1/alerts', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) })),
    });
    const section = page.locator('section[data-alerts]');
    assert.equal(await section.getAttribute('data-alerts'), '2');
    const rows = await section.locator('table.alerts tbody tr').allInnerTexts();
    assert.equal(rows.length, 2);
    assert.match(rows[0]!, /critical[\s\S]*host-stale[\s\S]*web-08[\s\S]*not reported/);
    assert.ok(rows[1]!.includes(XSS_HOSTNAME));
    assert.equal(await section.locator('img').count(), 0);
    assert.match(await section.innerText(), /1 pending/);
    assert.equal(await section.locator('a[href="#/hosts/web-08"]').count(), 1);
    await section.screenshot({ path: join(shots, 'overview-alerts.png') });
    await page.close();
  });

  test('filtering hosts by a finding lists exactly the affected hosts', async () => {
    const page = await open('/hosts', 'hosts');
    assert.equal(await page.locator('#hosts-status').getAttribute('data-total'), '20');
    await page.screenshot({ path: join(shots, 'hosts.png'), fullPage: true });
    const listed = async () => page.$$eval('table.hosts tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-host-id')).sort());
    const waitTotal = (n: number) => page.waitForSelector(`#hosts-status[data-total="${n}"]`);
    const expectedFor = (pred: (h: SeededHost) => boolean) => fleet.filter(pred).map((h) => h.hostId).sort();

    await page.selectOption('#f-rule', 'ipv6-unroutable');
    await waitTotal(5);
    assert.deepEqual(await listed(), expectedFor((h) => h.report.findings.some((f) => f.rule === 'ipv6-unroutable')));
    assert.deepEqual(await listed(), ['edge-01', 'edge-02', 'edge-03', 'edge-04', 'edge-05']);
    assert.match(page.url(), /#\/hosts\?rule=ipv6-unroutable$/, 'the filter is in the address (shareable, back button)');
    await page.screenshot({ path: join(shots, 'hosts-filtered-ipv6-unroutable.png'), fullPage: true });

    await page.selectOption('#f-rule', 'bindv6only-set');
    await waitTotal(4);
    assert.deepEqual(await listed(), expectedFor((h) => h.fixture === 'bindv6only'));

    // Back to the previous filter with the browser's back button.
    await page.goBack();
    await waitTotal(5);
    assert.equal(await page.locator('#f-rule').inputValue(), 'ipv6-unroutable');

    // Stale hosts, from the overview's link; the markup in a host name stays text.
    await page.goto(`${c.url}/#/hosts?stale=true`);
    await waitTotal(2);
    assert.deepEqual(await listed(), ['legacy-03', 'web-08']);
    assert.ok((await page.locator('table.hosts').innerText()).includes(XSS_HOSTNAME));
    assert.equal(await page.locator('table.hosts img').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);

    // Search by typing (debounced) and a mode filter.
    await page.goto(`${c.url}/#/hosts`);
    await waitTotal(20);
    await page.locator('#f-q').fill('app-0');
    await waitTotal(4);
    assert.equal(await page.locator('#f-q').evaluate((el) => el === document.activeElement), true, 'typing keeps the focus in the search box');
    await page.locator('#f-q').fill('');
    await waitTotal(20);
    await page.selectOption('#f-mode', 'ipv4-only');
    await waitTotal(fleet.filter((h) => h.report.services.some((s) => s.mode === 'ipv4-only')).length);
    assert.deepEqual(await listed(), expectedFor((h) => h.report.services.some((s) => s.mode === 'ipv4-only')));
    await page.close();
  });

  test('the host page shows the socket table as the report has it, with routes, sysctls, findings and history', async () => {
    const web = fleet.find((h) => h.hostId === 'web-07')!;
    const page = await open(`/hosts/${web.hostId}`, 'host');
    assert.equal(await page.locator('h1').innerText(), web.hostname);
    const rows = await page.$$eval('#socket-table tbody tr', (trs: HTMLTableRowElement[]) =>
      trs.map((tr) => ({
        service: tr.getAttribute('data-service'),
        mode: tr.getAttribute('data-mode'),
        process: tr.querySelector('.proc-name')!.textContent,
        bindings: [...tr.querySelectorAll('.bindings li')].map((li) => li.getAttribute('data-address')),
        v6only: [...tr.querySelectorAll('.bindings li')].map((li) => li.querySelector('.v6only')?.firstChild?.textContent ?? null),
        v4: tr.cells[3]!.getAttribute('data-reach'),
        v6: tr.cells[4]!.getAttribute('data-reach'),
        conns: [Number(tr.cells[3]!.querySelector('[data-connections]')!.getAttribute('data-connections')), Number(tr.cells[4]!.querySelector('[data-connections]')!.getAttribute('data-connections'))],
        text: tr.innerText,
      })),
    );
    assert.equal(rows.length, web.report.services.length);
    web.report.services.forEach((s, i) => {
      const row = rows[i]!;
      assert.equal(row.service, `${s.proto}/${s.port}`);
      assert.equal(row.mode, s.mode);
      assert.equal(row.process, s.process ?? 'unknown');
      assert.deepEqual(row.bindings, s.bindings.map((b) => b.address));
      assert.deepEqual(row.v6only, s.bindings.map((b) => (b.family === 4 ? null : b.v6only === true ? 'V6ONLY=1' : b.v6only === false ? 'V6ONLY=0' : 'V6ONLY unknown')));
      assert.equal(row.v4, s.ipv4, `${row.service} IPv4 clients`);
      assert.equal(row.v6, s.ipv6, `${row.service} IPv6 clients`);
      assert.deepEqual(row.conns, [s.connections.ipv4 + s.connections.mapped, s.connections.ipv6]);
    });
    // The field report's three rows, in words.
    const byService = Object.fromEntries(rows.map((r) => [r.service, r.text]));
    assert.match(byService['tcp/22']!, /0\.0\.0\.0[\s\S]*::[\s\S]*V6ONLY=1/);
    assert.match(byService['tcp/80']!, /V6ONLY=0[\s\S]*seen as ::ffff:/);
    assert.match(byService['tcp/25']!, /IPv4 only/);
    assert.ok(byService['tcp/8443']!.includes(XSS_PROCESS), 'a process name with markup is shown as text');
    assert.equal(await page.locator('#socket-table script').count(), 0);

    // Routing: the kernel's answer and the routes; sysctls raw -> effective; findings; history.
    const reach = await page.locator('table.reachability').innerText();
    assert.match(reach, /2001:db8::1[\s\S]*routable[\s\S]*::\/0 via 2001:db8:1::1 dev veth0/);
    assert.equal(await page.locator('table.routes tbody tr').count(), web.report.routes.length);
    assert.equal(await page.locator('table.sysctls tbody tr').count(), web.report.sysctl.interfaces.length);
    const findings = await page.$$eval('#findings article.finding:not(.resolved)', (as) => as.map((a) => `${a.getAttribute('data-rule')} ${a.getAttribute('data-subject')}`).sort());
    assert.deepEqual(findings, web.report.findings.map((f) => `${f.rule} ${f.subject}`).sort());
    assert.equal(await page.locator('#findings button.copy').count(), web.report.findings.filter((f) => f.fix.commands.length > 0).length);
    assert.equal(await page.locator('table.history tbody tr').count(), 2);
    await page.screenshot({ path: join(shots, 'host.png'), fullPage: true });
    await page.screenshot({ path: join(shots, 'host-top.png') });
    // Each section alone, readable at full size.
    for (const section of ['services', 'findings', 'routing', 'sysctls', 'history']) {
      await page.locator(`section#${section}`).screenshot({ path: join(shots, `host-${section}.png`) });
    }
    await page.close();
  });

  test('the unroutable host says why, and its fix commands copy with the keyboard', async () => {
    const edge = fleet.find((h) => h.hostId === 'edge-01')!;
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: c.url });
    const page = await open(`/hosts/${edge.hostId}`, 'host');
    // Keyboard: on a fresh load the first Tab reaches the skip link; Enter moves focus to the content.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
    assert.match(page.url(), /#\/hosts\/edge-01$/, 'the skip link does not leave the page');
    assert.match(await page.locator('table.reachability').innerText(), /unreachable[\s\S]*ENETUNREACH/);
    const finding = edge.report.findings.find((f) => f.rule === 'ipv6-unroutable')!;
    const article = page.locator('article.finding[data-rule="ipv6-unroutable"]');
    assert.equal(await article.locator('pre code').innerText(), finding.fix.commands.join('\n'));
    await article.locator('button.copy').focus();
    await page.keyboard.press('Enter');
    await article.locator('.copy-status', { hasText: 'Copied.' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), finding.fix.commands.join('\n'));
    await page.screenshot({ path: join(shots, 'host-unroutable.png'), fullPage: true });
    await page.close();
  });

  test('the service matrix counts each daemon and port per mode, and a count opens the hosts', async () => {
    const page = await open('/services', 'services');
    const api = (await (await request(`${c.url}/api/v1/services?limit=1000`, { headers: { authorization: `Bearer ${c.tokens.reader}` } })).body.json()) as { total: number; items: Array<{ proto: string; port: number; process: string | null; hosts: number; modes: Record<string, number> }> };
    assert.equal(await page.locator('table.matrix tbody tr').count(), api.total);
    const sshd = api.items.find((r) => r.port === 22 && r.process === 'sshd')!;
    const row = page.locator('table.matrix tbody tr[data-service="tcp/22"][data-process="sshd"]');
    const cells = await row.locator('td').allInnerTexts();
    assert.equal(cells[1], String(sshd.hosts));
    assert.deepEqual(cells.slice(2, 7).map(Number), ['dual-separate', 'dual-mapped', 'ipv4-only', 'ipv6-only', 'loopback-only'].map((m) => sshd.modes[m]));
    assert.equal(sshd.modes['dual-separate'], 8 + 5, 'web and edge hosts run sshd on two sockets');
    await page.screenshot({ path: join(shots, 'services.png'), fullPage: true });
    await row.locator('a[href*="mode=ipv4-only"]').click();
    await page.waitForSelector('main[data-ready="hosts"]');
    assert.match(page.url(), /mode=ipv4-only/);
    assert.match(await page.locator('.note').innerText(), /tcp\/22 sshd/);
    // Exactly the hosts of that cell: sshd on tcp/22 in that mode.
    assert.equal(Number(await page.locator('[role="status"][data-total]').getAttribute('data-total')), sshd.modes['ipv4-only']);
    await page.close();
  });

  test('a wrong token shows a clear message and the token form; the right one opens the dashboard', async () => {
    const page = await open('/', 'token', { token: 'dsk_not-a-real-token' });
    const alert = page.locator('[role="alert"]');
    assert.match(await alert.innerText(), /refused the token: Unknown token/);
    assert.equal(await page.evaluate((k) => sessionStorage.getItem(k), TOKEN_KEY), null, 'the refused token is forgotten');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'token-input');
    await page.screenshot({ path: join(shots, 'token-wrong.png'), fullPage: true });

    await page.locator('#token-input').fill(c.tokens.agent);
    await page.keyboard.press('Enter');
    await page.waitForSelector('main[data-ready="token"] [role="alert"][data-status="403"]');
    assert.match(await page.locator('[role="alert"]').innerText(), /Not allowed[\s\S]*role agent[\s\S]*reader/);

    await page.locator('#token-input').fill(c.tokens.reader);
    await page.keyboard.press('Enter');
    await page.waitForSelector('main[data-ready="overview"]');
    assert.equal(await text(page, '[data-metric="hosts"]'), '20');
    assert.equal(await page.evaluate((k) => sessionStorage.getItem(k), TOKEN_KEY), c.tokens.reader);
    // Kept for this tab: a reload needs no form.
    await page.reload();
    await page.waitForSelector('main[data-ready="overview"]');
    await page.close();

    const none = await open('/hosts', 'token', { token: null });
    assert.match(await none.locator('[role="alert"]').innerText(), /needs a reader token/);
    await none.close();
  });

  test('with openReadsOnLoopback the dashboard works without a token', async () => {
    const open2 = await startTestCollector({ openReadsOnLoopback: true });
    try {
      await seedFleet(open2.store);
      const page = await open('/', 'overview', { token: null, origin: open2.url });
      assert.equal(await text(page, '[data-metric="hosts"]'), '20');
      await page.close();
    } finally {
      await open2.close();
    }
  });

  test('dark colour scheme and a narrow screen stay readable', async () => {
    const page = await open('/', 'overview');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(shots, 'overview-dark.png'), fullPage: true });
    await page.setViewportSize({ width: 420, height: 900 });
    await page.goto(`${c.url}/#/hosts?rule=ipv6-unroutable`);
    await page.waitForSelector('#hosts-status[data-total="5"]');
    await page.screenshot({ path: join(shots, 'hosts-narrow-dark.png'), fullPage: true });
    await page.close();
  });

  test('the page fetched nothing but the collector, and logged no error (CSP included)', () => {
    assert.deepEqual(foreign, []);
    assert.deepEqual(consoleErrors, []);
  });
});
