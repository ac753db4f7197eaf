// The dashboard's Endpoints view in a real browser (Debian's Chromium through playwright-core)
// against a collector on 127.0.0.1:0 with a temp SQLite file. Endpoints are declared in the
// configuration and through the admin API; two vantage points deliver real probe batches
// through POST /api/v1/probe-results (an IPv6-only one whose IPv6 attempt times out, a
// dual-stack one that answers over IPv4 and is refused over IPv6), a third one's batch is an
// hour old (stale); the backends are real reports (a golden replay, and the agent's scan of the
// socket-units capture, whose services carry their systemd socket unit).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type { ProbeBatch, Report } from '@dualstack/core';
import { apiCall, fixtureReport, startTestCollector, type TestCollector } from './helpers/collector.js';
import { attempt, endpointProbe, probeBatch } from './helpers/probes.js';
import { generateToken, hashToken } from '../src/tokens.js';
import { artifactDir, chromiumMissing, launchBrowser, type Browser } from './helpers/ui-browser.js';
import { contrast, offScreen, openPage, type PageWatch } from './helpers/ui-page.js';
import { skipUnlessAvailable } from '../../../test/helpers/requirements.js';

const WWW = 'https://www.example.net:8443';
const MX = 'smtp://mx.example.net';
const V4 = '192.0.2.10';
const V6 = '2001:db8::10';
const MX4 = '192.0.2.25';
const dual = { hostId: 'vp-dual', hostname: 'probe-dual.example', ipv4: true, ipv6: true };
const v6only = { hostId: 'vp-v6only', hostname: 'probe-v6.example', ipv4: false, ipv6: true };
const FINGERPRINT = 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89';
const BANNER = '220 mx.example.net ESMTP Postfix (Debian/GNU)';

/** An answering HTTPS attempt as the prober records it: TLS facts and the HTTP answer. */
const httpsOk = (address: string) =>
  attempt(address, 8443, 'ok', {
    tls: { protocol: 'TLSv1.3', subject: 'www.example.net', san: ['DNS:www.example.net'], issuer: 'Example Issuing CA', validTo: '2031-03-01T12:00:00.000Z', fingerprint256: FINGERPRINT, authorized: true },
    http: { status: 200, server: 'nginx/1.22.1', location: null },
  });

const www = (attempts: ProbeBatch['results'][number]['attempts'], probedAt?: Date) => endpointProbe({ name: 'www', url: WWW, a: [V4], aaaa: [V6], attempts, ...(probedAt ? { probedAt } : {}) });
const mx = (attempts: ProbeBatch['results'][number]['attempts']) => endpointProbe({ name: 'mx', url: MX, a: [MX4], aaaa: [], attempts });

const call = (c: TestCollector, method: 'GET' | 'POST', path: string, token: string, body?: unknown) => apiCall(c, method, path, token, body);

/** The agent's own scan of the socket-units capture (PID 1 holds ssh.socket, webhook.socket, metrics.socket), as host sock-1. */
function socketUnitsReport(): Report {
  const cli = fileURLToPath(new URL('../../agent/dist/cli.js', import.meta.url));
  const proc = fileURLToPath(new URL('../../../test/fixtures/socket-units/proc', import.meta.url));
  const report = JSON.parse(execFileSync(process.execPath, [cli, 'scan', '--proc-root', proc, '--json'], { encoding: 'utf8' })) as Report;
  return { ...report, reportId: randomUUID(), collectedAt: new Date().toISOString(), host: { ...report.host, hostId: 'sock-1', hostname: 'sock-1.example.net' } };
}

const missing = chromiumMissing();

describe('the Endpoints view in Chromium', { skip: skipUnlessAvailable(missing, 'chromium'), timeout: 300_000 }, () => {
  let c: TestCollector;
  let browser: Browser;
  let sock: Report;
  const shots = artifactDir();
  const watch: PageWatch = { foreign: [], consoleErrors: [] };
  const open = (hash: string, ready: string, options: { origin?: string; token?: string; before?: (page: Page) => Promise<unknown> } = {}) =>
    openPage(browser, watch, hash, ready, { origin: options.origin ?? c.url, token: options.token ?? c.tokens.reader, ...(options.before ? { before: options.before } : {}) });

  before(async () => {
    c = await startTestCollector({ endpoints: { config: [{ name: 'www', url: WWW, expect: { status: 200, tlsName: 'www.example.net' }, backends: ['web-1', 'sock-1.example.net', 'gone-1'] }] } });
    const declared = await call(c, 'POST', '/api/v1/endpoints', c.tokens.admin, { name: 'mx', url: MX, backends: ['web-1'] });
    assert.equal(declared.status, 201, JSON.stringify(declared.body));
    sock = socketUnitsReport();
    // Each host and vantage point with its own agent token, as deployed.
    const tokens = new Map<string, string>();
    for (const name of ['web-1', 'sock-1', dual.hostId, v6only.hostId]) {
      const token = generateToken();
      await c.store.createToken({ name: `agent-${name}`, role: 'agent', hash: hashToken(token) });
      tokens.set(name, token);
    }
    for (const report of [fixtureReport('dual-stack-services', 'web-1'), sock]) {
      const res = await call(c, 'POST', '/api/v1/reports', tokens.get(report.host.hostId)!, report);
      assert.equal(res.status, 202, JSON.stringify(res.body));
    }
    const deliver = async (batch: ProbeBatch) => {
      const res = await call(c, 'POST', '/api/v1/probe-results', tokens.get(batch.vantage.hostId)!, batch);
      assert.equal(res.status, 202, JSON.stringify(res.body));
    };
    // The dual-stack vantage point: ten minutes ago both families answered; now IPv6 is refused.
    await deliver(probeBatch(dual, [www([httpsOk(V4), httpsOk(V6)], new Date(Date.now() - 600_000))]));
    await deliver(probeBatch(dual, [www([httpsOk(V4), attempt(V6, 8443, 'refused')]), mx([attempt(MX4, 25, 'ok', { banner: BANNER })])]));
    // The IPv6-only one: no IPv4 route (no IPv4 attempt), the AAAA address times out; mx has no AAAA.
    await deliver(probeBatch(v6only, [www([attempt(V6, 8443, 'timeout')]), mx([])]));
    // A third one whose batch arrived an hour ago (staleAfterSeconds is 900): it cannot be
    // delivered late through the API, so it goes to the store with its receive time.
    await c.store.ingestProbeBatch(probeBatch({ hostId: 'vp-stale', hostname: 'probe-old.example', ipv4: true, ipv6: true }, [www([httpsOk(V4), httpsOk(V6)])]), { receivedAt: new Date(Date.now() - 3600_000).toISOString(), tokenId: null });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await c?.close();
  });

  test('#/endpoints: per endpoint and family the overall verdict in words, per vantage point its two, findings by severity, the stale one marked', async () => {
    const page = await open('/endpoints', 'endpoints');
    assert.equal(await page.locator('#nav a[aria-current="page"]').innerText(), 'Endpoints');
    const rows = await page.$$eval('#endpoint-table tbody tr', (trs: HTMLTableRowElement[]) =>
      trs.map((tr) => ({
        endpoint: tr.dataset.endpoint,
        cells: [...tr.cells].map((td) => (td as HTMLElement).innerText.trim()),
        vantages: [...tr.querySelectorAll('li[data-vantage]')].map((li) => [(li as HTMLElement).dataset.vantage, (li as HTMLElement).innerText.replace(/\s+/g, ' ').trim()]),
      })),
    );
    const api = (await call(c, 'GET', '/api/v1/endpoints', c.tokens.reader)).body.items as Array<{ name: string; families: { ipv4: string; ipv6: string } }>;
    assert.deepEqual(rows.map((r) => r.endpoint), api.map((e) => e.name));
    const byName = Object.fromEntries(rows.map((r) => [r.endpoint, r]));
    // www: IPv4 answers, IPv6 answers nowhere; one critical finding.
    assert.deepEqual(byName.www!.cells.slice(0, 4), ['www\nfrom the configuration file', WWW, '✔ works', '✖ broken']);
    assert.deepEqual(byName.www!.vantages, [
      ['vp-dual', 'probe-dual.example IPv4 ✔ works 1/1 · IPv6 ✖ broken 0/1'],
      ['vp-stale', 'probe-old.example stale IPv4 ✔ works 1/1 · IPv6 ✔ works 1/1'],
      ['vp-v6only', 'probe-v6.example IPv4 – untested · IPv6 ✖ broken 0/1'],
    ]);
    assert.match(byName.www!.cells[5]!, /^✖ critical 1$/);
    // mx: declared through the API; no AAAA anywhere; no finding (its backend serves tcp/25 over IPv4 only).
    assert.deepEqual(byName.mx!.cells.slice(0, 4), ['mx\ndeclared through the API', MX, '✔ works', '∅ unpublished']);
    assert.deepEqual(byName.mx!.vantages, [
      ['vp-dual', 'probe-dual.example IPv4 ✔ works 1/1 · IPv6 ∅ unpublished'],
      ['vp-v6only', 'probe-v6.example IPv4 – untested · IPv6 ∅ unpublished'],
    ]);
    assert.equal(byName.mx!.cells[5], '✔ none');
    for (const e of api) {
      const cells = await page.$$eval(`#endpoint-table tr[data-endpoint="${e.name}"] td.family .verdict`, (spans) => spans.map((s) => (s as HTMLElement).dataset.verdict));
      assert.deepEqual(cells, [e.families.ipv4, e.families.ipv6], `${e.name}: the overall verdicts of the API`);
    }
    // The stale vantage point is said to be left out, not only drawn differently.
    assert.match(await page.locator('[data-stale-vantages]').innerText(), /1 stale vantage point: shown with its last verdicts, not judged/);
    assert.equal(await page.locator('#endpoint-table li[data-stale="true"] .badge.stale').count(), 1);
    await page.screenshot({ path: join(shots, 'endpoints.png'), fullPage: true });
    await page.close();
  });

  test('#/endpoints/www: the verdict grid per vantage point and family, every address with its outcome, TLS and HTTP facts', async () => {
    const page = await open('/endpoints', 'endpoints');
    await page.locator('#endpoint-table a', { hasText: 'www' }).click();
    await page.waitForSelector('main[data-ready="endpoint"]');
    assert.equal(await page.locator('h1').innerText(), 'www');
    assert.equal(await page.locator('dd[data-fact="IPv4"]').innerText(), '✔ works');
    assert.equal(await page.locator('dd[data-fact="IPv6"]').innerText(), '✖ broken');
    assert.equal(await page.locator('dd[data-fact="Expects"]').innerText(), 'HTTP 200, certificate for www.example.net');

    const grid = await page.$$eval('#verdict-grid tbody tr', (trs: HTMLTableRowElement[]) =>
      trs.map((tr) => ({
        vantage: tr.dataset.vantage,
        stale: tr.dataset.stale,
        families: [1, 2].map((i) => {
          const td = tr.cells[i] as HTMLElement;
          return {
            verdict: (td.querySelector('.family-verdict') as HTMLElement).innerText.trim(),
            addresses: [...td.querySelectorAll('li[data-address]')].map((li) => [(li as HTMLElement).dataset.address, (li as HTMLElement).dataset.outcome]),
            text: td.innerText,
          };
        }),
      })),
    );
    assert.deepEqual(grid.map((r) => [r.vantage, r.stale]), [['vp-dual', 'false'], ['vp-stale', 'true'], ['vp-v6only', 'false']]);
    const [d, , v6] = grid;
    assert.deepEqual(d!.families.map((f) => f.verdict), ['✔ works — 1 of 1 answering', '✖ broken — 0 of 1 answering']);
    assert.deepEqual(d!.families.map((f) => f.addresses), [[[V4, 'ok']], [[V6, 'refused']]]);
    // The answering attempt: connect time, TLS (subject, issuer, expiry, short fingerprint), HTTP.
    const ok = d!.families[0]!.text;
    assert.match(ok, /A answered: 1 address, TTL 300/);
    assert.match(ok, /connect 2\.5 ms · total 3\.0 ms · port 8443/);
    assert.match(ok, /TLS TLSv1\.3 · subject www\.example\.net · issuer Example Issuing CA · expires 2031-03-01 · SHA-256 AB:CD:EF:01… · ✔ certificate valid/);
    assert.match(ok, /HTTP 200 · server nginx\/1\.22\.1/);
    assert.match(d!.families[1]!.text, /2001:db8::10 ✖ refused ECONNREFUSED/);
    // The IPv6-only vantage point: IPv4 untested (no route), never broken; IPv6 timed out.
    assert.deepEqual(v6!.families.map((f) => f.verdict), ['– untested', '✖ broken — 0 of 1 answering']);
    assert.match(v6!.families[0]!.text, /No IPv4 attempt from this vantage point \(it has no IPv4 route\): not counted as broken/);
    assert.deepEqual(v6!.families[1]!.addresses, [[V6, 'timeout']]);
    assert.match(v6!.families[1]!.text, /timeout ETIMEDOUT[\s\S]*connect – · total 5000 ms/);
    assert.match(await page.locator('#verdict-grid tr[data-vantage="vp-stale"] th').innerText(), /stale: not judged/);
    await page.screenshot({ path: join(shots, 'endpoint.png'), fullPage: true });
    await page.locator('section#vantages').screenshot({ path: join(shots, 'endpoint-grid.png') });
    await page.close();
  });

  test('#/endpoints/www: endpoint-ipv6-broken with its evidence per vantage point and the fix to copy; the history strip per vantage point', async () => {
    const page = await open('/endpoints/www', 'endpoint');
    const api = (await call(c, 'GET', '/api/v1/endpoints/www', c.tokens.reader)).body;
    const finding = api.findings[0];
    assert.deepEqual(api.findings.map((f: any) => f.rule), ['endpoint-ipv6-broken']);
    const article = page.locator('#findings article.finding[data-rule="endpoint-ipv6-broken"]');
    assert.equal(await article.count(), 1);
    assert.match(await article.locator('h3').innerText(), /^✖ critical endpoint-ipv6-broken · www$/);
    assert.equal(await article.locator('h3 + p').innerText(), finding.message);
    // The evidence is open: the vantage points that saw it, each with its addresses and outcomes.
    const evidence = await article.locator('ul.evidence li').allInnerTexts();
    assert.deepEqual(evidence, finding.evidence);
    assert.ok(evidence.some((line) => line.startsWith('probe-v6.example') && /2001:db8::10 timeout/.test(line)), evidence.join('\n'));
    assert.ok(evidence.some((line) => line.startsWith('probe-dual.example') && /192\.0\.2\.10 ok/.test(line) && /2001:db8::10 refused/.test(line)), evidence.join('\n'));
    assert.ok(await article.locator('ul.evidence').isVisible(), 'the evidence is shown without a click');
    assert.equal(await article.locator('.fix pre').innerText(), finding.fix.commands.join('\n'));
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: c.url });
    await article.locator('button.copy').click();
    await article.locator('.copy-status', { hasText: 'Copied.' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), finding.fix.commands.join('\n'));

    // History: oldest left; the dual-stack vantage point's IPv6 worked ten minutes ago, now it does not.
    const strips = await page.$$eval('#history li.history-vantage', (lis) =>
      lis.map((li) => [(li as HTMLElement).dataset.vantage, [...li.querySelectorAll('ol.strip')].map((ol) => [...ol.querySelectorAll('li')].map((x) => (x as HTMLElement).dataset.verdict))]),
    );
    assert.deepEqual(strips, [
      ['vp-dual', [['works', 'works'], ['works', 'broken']]],
      ['vp-stale', [['works'], ['works']]],
      ['vp-v6only', [['untested'], ['broken']]],
    ]);
    // Each mark says its time and verdict in words (title, and text for a screen reader).
    const last = page.locator('#history li[data-vantage="vp-dual"] ol.strip').nth(1).locator('li').last();
    assert.match(await last.getAttribute('title') ?? '', /^\d{4}-\d\d-\d\dT[\d:.]+Z: IPv6 broken \(0\/1\)$/);
    assert.equal(await last.locator('.sr-only').textContent(), await last.getAttribute('title'));
    await page.locator('section#findings').screenshot({ path: join(shots, 'endpoint-findings.png') });
    await page.locator('section#history').screenshot({ path: join(shots, 'endpoint-history.png') });
    await page.close();
  });

  test("#/endpoints/www: backends linked to their host pages, the service row for the port marked with its socket unit", async () => {
    const page = await open('/endpoints/www', 'endpoint');
    const rows = await page.$$eval('section#backends table.backends tbody tr', (trs: HTMLTableRowElement[]) =>
      trs.map((tr) => ({ backend: tr.dataset.backend, cells: [...tr.cells].map((td) => (td as HTMLElement).innerText.trim()), links: [...tr.querySelectorAll('a')].map((a) => a.getAttribute('href')) })),
    );
    assert.deepEqual(rows, [
      { backend: 'web-1', cells: ['web-1', 'web-1.example\nweb-1', 'tcp/8443', '✖ does not serve', '✔ serves'], links: ['#/hosts/web-1', '#/hosts/web-1?service=tcp%2F8443&endpoint=www'] },
      { backend: 'sock-1.example.net', cells: ['sock-1.example.net', 'sock-1.example.net\nsock-1', 'tcp/8443', '✖ does not serve', '✔ serves'], links: ['#/hosts/sock-1', '#/hosts/sock-1?service=tcp%2F8443&endpoint=www'] },
      { backend: 'gone-1', cells: ['gone-1', '? no host reports under this name', '–', '–', '–'], links: [] },
    ]);
    await page.locator('section#backends').screenshot({ path: join(shots, 'endpoint-backends.png') });

    // The service link opens the host page on that service's row, marked, with its socket unit.
    await page.locator('tr[data-backend="sock-1.example.net"] a.service-link').click();
    await page.waitForSelector('main[data-ready="host"]');
    assert.equal(await page.locator('h1').innerText(), 'sock-1.example.net');
    const row = page.locator('#socket-table tr[data-target="true"]');
    assert.equal(await row.count(), 1);
    assert.equal(await row.getAttribute('data-service'), 'tcp/8443');
    assert.match(await row.locator('th').innerText(), /serves endpoint www/);
    assert.equal(await row.locator('.socket-unit').innerText(), 'webhook.socket: ListenStream=8443 BindIPv6Only=ipv6-only (/etc/systemd/system/webhook.socket:5)');
    assert.ok(await row.evaluate((tr) => document.activeElement === tr), 'the row has the focus');
    const box = (await row.boundingBox())!;
    assert.ok(box.y >= 0 && box.y + box.height <= page.viewportSize()!.height, `the row is on screen: ${JSON.stringify(box)}`);
    assert.match(await page.locator('p.note[data-from="endpoint"]').innerText(), /^A backend of endpoint www: its service on tcp\/8443 is marked in the socket table\.$/);
    await page.screenshot({ path: join(shots, 'endpoint-backend-host.png') });
    // Back to the endpoint, then its host link: the host page from the top, nothing marked.
    await page.locator('p.note a', { hasText: 'www' }).click();
    await page.waitForSelector('main[data-ready="endpoint"]');
    await page.locator('tr[data-backend="web-1"] a.host-link').click();
    await page.waitForSelector('main[data-ready="host"]');
    assert.equal(await page.locator('h1').innerText(), 'web-1.example');
    assert.equal(await page.locator('#socket-table tr[data-target]').count(), 0);
    await page.close();
  });

  test('the host page shows the systemd socket unit of each socket-activated service: unit, Listen line, file and line', async () => {
    const page = await open('/hosts/sock-1', 'host');
    const units = await page.$$eval('#socket-table tbody tr', (trs: HTMLTableRowElement[]) => trs.map((tr) => [tr.dataset.service, (tr.querySelector('.socket-unit') as HTMLElement | null)?.innerText ?? null]));
    assert.deepEqual(
      units,
      sock.services.map((s) => [`${s.proto}/${s.port}`, s.socketUnit ? `${s.socketUnit.unit}: ${s.socketUnit.listen}${s.socketUnit.bindIpv6Only === 'default' ? '' : ` BindIPv6Only=${s.socketUnit.bindIpv6Only}`} (${s.socketUnit.file}:${s.socketUnit.line})` : null]),
    );
    assert.deepEqual(units[0], ['tcp/22', 'ssh.socket: ListenStream=22 (/usr/lib/systemd/system/ssh.socket:7)']);
    // The cgroup's unit is the socket unit here: said once, with its line.
    assert.equal(await page.locator('#socket-table tr[data-service="tcp/22"] td.process').innerText(), 'sshd pid 1\nssh.socket: ListenStream=22 (/usr/lib/systemd/system/ssh.socket:7)');
    await page.locator('section#services').screenshot({ path: join(shots, 'host-socket-units.png') });
    await page.close();
  });

  test('mx: the banner of the answering attempt; no AAAA is "unpublished" with the DNS answer in words', async () => {
    const page = await open('/endpoints/mx', 'endpoint');
    const cell = page.locator('#verdict-grid tr[data-vantage="vp-dual"] td[data-family="4"]');
    assert.match(await cell.innerText(), new RegExp(`192\\.0\\.2\\.25 ✔ ok[\\s\\S]*banner ${BANNER.replace(/[()/]/g, '\\$&')}`));
    const v6 = page.locator('#verdict-grid tr[data-vantage="vp-dual"] td[data-family="6"]');
    assert.equal(await v6.getAttribute('data-verdict'), 'unpublished');
    assert.match(await v6.innerText(), /∅ unpublished\s+AAAA no record \(NODATA\)/);
    assert.match(await page.locator('section#findings').innerText(), /No open findings/);
    await page.close();
  });

  test('an unknown endpoint says so; a collector without endpoints says how to declare one, then lists the first one declared', async () => {
    const page = await open('/endpoints/nope', 'endpoint');
    assert.equal(await page.locator('h1').innerText(), 'Endpoint not found');
    assert.match(await page.locator('[role="alert"]').innerText(), /No endpoint named 'nope' is declared/);
    await page.close();

    const empty = await startTestCollector();
    try {
      const first = await open('/endpoints', 'endpoints', { origin: empty.url, token: empty.tokens.reader });
      const state = first.locator('[data-empty="endpoints"]');
      assert.equal(await state.locator('h2').innerText(), 'No endpoint is declared');
      const text = await state.innerText();
      assert.match(text, /endpoints:\n {2}- name: www\n {4}url: https:\/\/www\.example\.net/);
      assert.ok(text.includes(`-d '{"name":"www","url":"https://www.example.net"}' ${empty.url}/api/v1/endpoints`), text);
      assert.match(text, /dualstack-agent run --probe/);
      assert.equal(await first.locator('#endpoint-table').count(), 0);
      await first.screenshot({ path: join(shots, 'endpoints-empty.png'), fullPage: true });
      // The command shown, run as it says: the endpoint is listed, not probed yet.
      assert.equal((await call(empty, 'POST', '/api/v1/endpoints', empty.tokens.admin, { name: 'www', url: 'https://www.example.net' })).status, 201);
      await first.reload();
      await first.waitForSelector('main[data-ready="endpoints"]');
      assert.equal(await first.locator('[data-empty]').count(), 0);
      assert.deepEqual(await first.$$eval('#endpoint-table tbody tr td', (tds) => tds.map((td) => (td as HTMLElement).innerText.trim())), ['https://www.example.net', '– untested', '– untested', 'not probed yet: no agent runs with --probe', '✔ none', 'never']);
      await first.close();
    } finally {
      await empty.close();
    }
  });

  test('at phone size (390x844) the endpoints list and one endpoint fit the screen: each value under its column name, the navigation reachable', async () => {
    const phone = { width: 390, height: 844 };
    const list = await open('/endpoints', 'endpoints', { before: (p) => p.setViewportSize(phone) });
    assert.deepEqual(await offScreen(list), { scrollWidth: phone.width, innerWidth: phone.width, outside: [] }, 'nothing wider than the screen, no horizontal scrolling');
    const labels = await list.$$eval('#endpoint-table tbody tr', (trs: HTMLTableRowElement[]) => trs.map((tr) => [...tr.cells].slice(1).map((td) => getComputedStyle(td, '::before').content)));
    for (const l of labels) assert.deepEqual(l, ['"URL"', '"IPv4"', '"IPv6"', '"Vantage points"', '"Open findings"', '"Last probed"']);
    const nav = await list.$$eval('#nav a', (as) => as.map((a) => ({ text: a.textContent, ...a.getBoundingClientRect().toJSON() })));
    assert.equal(nav.length, 4);
    for (const a of nav) assert.ok(a.left >= 0 && a.right <= phone.width && a.width >= 24 && a.height >= 24, `${a.text}: ${JSON.stringify(a)}`);
    await list.screenshot({ path: join(shots, 'phone-endpoints.png'), fullPage: true });
    await list.close();

    const page = await open('/endpoints/www', 'endpoint', { before: (p) => p.setViewportSize(phone) });
    assert.deepEqual(await offScreen(page), { scrollWidth: phone.width, innerWidth: phone.width, outside: [] }, 'nothing wider than the screen, no horizontal scrolling');
    const cells = await page.$$eval('#verdict-grid tbody tr', (trs: HTMLTableRowElement[]) => trs.map((tr) => [1, 2].map((i) => ({ label: getComputedStyle(tr.cells[i]!, '::before').content, width: tr.cells[i]!.getBoundingClientRect().width }))));
    assert.equal(cells.length, 3);
    for (const row of cells) {
      assert.deepEqual(row.map((cell) => cell.label), ['"IPv4"', '"IPv6"']);
      for (const cell of row) assert.ok(cell.width > phone.width * 0.8, `a family takes the row's width (${cell.width} px)`);
    }
    const commands = await page.$eval('#findings .fix pre', (pre) => ({ hidden: pre.scrollWidth - pre.clientWidth, px: parseFloat(getComputedStyle(pre).fontSize) }));
    assert.ok(commands.hidden <= 1 && commands.px >= 12, JSON.stringify(commands));
    await page.screenshot({ path: join(shots, 'phone-endpoint.png'), fullPage: true });
    // A backend's service link, followed on the phone: the marked row with its socket unit fits too.
    await page.locator('tr[data-backend="sock-1.example.net"] a.service-link').click();
    await page.waitForSelector('main[data-ready="host"]');
    assert.equal(await page.locator('#socket-table tr[data-target="true"] .socket-unit').count(), 1);
    assert.deepEqual(await offScreen(page), { scrollWidth: phone.width, innerWidth: phone.width, outside: [] }, 'the host page with socket units fits');
    await page.screenshot({ path: join(shots, 'phone-endpoint-backend-host.png') });
    await page.goBack();
    await page.waitForSelector('main[data-ready="endpoint"]');
    // The contents stay on screen and lead to each section.
    await page.locator('nav.toc a', { hasText: 'Backends' }).click();
    const heading = (await page.locator('#backends-h').boundingBox())!;
    const toc = (await page.locator('nav.toc').boundingBox())!;
    assert.ok(heading.y >= toc.y + toc.height - 1 && heading.y + heading.height <= phone.height, JSON.stringify({ heading, toc }));
    await page.close();
  });

  test('every text of the endpoint pages keeps WCAG AA contrast, light and dark', async () => {
    for (const hash of ['/endpoints', '/endpoints/www']) {
      const page = await open(hash, hash === '/endpoints' ? 'endpoints' : 'endpoint');
      const light = await contrast(page);
      assert.ok(light.checked > 30, `${hash}: ${light.checked} texts measured`);
      assert.deepEqual(light.low, [], `${hash}, light: texts below 4.5:1 (3:1 when large)`);
      await page.emulateMedia({ colorScheme: 'dark' });
      const dark = await contrast(page);
      assert.ok(dark.background < 0.05, `${hash}: the page is dark`);
      assert.deepEqual(dark.low, [], `${hash}, dark: texts below 4.5:1 (3:1 when large)`);
      await page.screenshot({ path: join(shots, `${hash === '/endpoints' ? 'endpoints' : 'endpoint'}-dark.png`), fullPage: true });
      await page.close();
    }
  });

  test('the pages fetched nothing but the collector, and logged no error (CSP included)', () => {
    assert.deepEqual(watch.foreign, []);
    assert.deepEqual(watch.consoleErrors, []);
  });
});
