// Endpoint findings and verdicts through the read API, /metrics and the alert evaluation, on a
// collector listening on 127.0.0.1:0 with a real SQLite file: two vantage points that disagree
// (IPv6-only fails, dual-stack answers over IPv4), a stale third one that is shown but not
// judged, backends looked up in real ingested reports (endpoint-no-aaaa), and an endpoint alert
// firing and resolving.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import type { EndpointProbe, ProbeBatch } from '@dualstack/core';
import { overallVerdict } from '../src/endpoints/evaluate.js';
import { apiCall, fixtureReport, startTestCollector, writerToken, type TestCollector } from './helpers/collector.js';
import { attempt, endpointProbe, probeBatch } from './helpers/probes.js';

const WWW = 'https://www.example.net';
const V4 = '192.0.2.10';
const V6 = '2001:db8::10';
const v6only = { hostId: 'vp-v6only', hostname: 'probe-v6.example', ipv4: false, ipv6: true };
const dual = { hostId: 'vp-dual', hostname: 'probe-dual.example', ipv4: true, ipv6: true };

const wwwProbe = (attempts: EndpointProbe['attempts']) => endpointProbe({ name: 'www', url: WWW, a: [V4], aaaa: [V6], attempts });

// Writes go with the token of the host (or vantage point) the body is about, as deployed.
const call = async (c: TestCollector, method: 'GET' | 'POST', path: string, body?: unknown, token?: string) =>
  apiCall(c, method, path, token ?? (method === 'GET' ? c.tokens.reader : await writerToken(c, body)), body);

async function ingest(c: TestCollector, batch: ProbeBatch): Promise<void> {
  const res = await call(c, 'POST', '/api/v1/probe-results', batch);
  assert.equal(res.status, 202, JSON.stringify(res.body));
}

describe('two vantage points that disagree', () => {
  let c: TestCollector;
  before(async () => {
    c = await startTestCollector({ endpoints: { config: [{ name: 'www', url: WWW }] } });
    // The IPv6-only vantage point: AAAA answers, IPv6 times out; it has no IPv4 route, so it makes no IPv4 attempt.
    await ingest(c, probeBatch(v6only, [wwwProbe([attempt(V6, 443, 'timeout')])]));
    // The dual-stack one: IPv4 answers, IPv6 is refused.
    await ingest(c, probeBatch(dual, [wwwProbe([attempt(V4, 443, 'ok'), attempt(V6, 443, 'refused')])]));
    // A third, stale one (its batch arrived an hour ago, staleAfterSeconds is 900) saw IPv4 broken
    // and IPv6 working: shown, never judged.
    const stale = probeBatch({ hostId: 'vp-stale', ipv4: true, ipv6: true }, [wwwProbe([attempt(V4, 443, 'refused'), attempt(V6, 443, 'ok')])]);
    await c.store.ingestProbeBatch(stale, { receivedAt: new Date(Date.now() - 3600_000).toISOString(), tokenId: null });
  });
  after(async () => c.close());

  test('GET /api/v1/endpoints/:name: endpoint-ipv6-broken with both vantage points as evidence; no IPv4 finding', async () => {
    const res = await call(c, 'GET', '/api/v1/endpoints/www');
    assert.equal(res.status, 200);
    const d = res.body;
    assert.deepEqual(d.families, { ipv4: 'works', ipv6: 'broken' });
    assert.deepEqual(
      d.findings.map((f: any) => [f.rule, f.severity, f.subject]),
      [['endpoint-ipv6-broken', 'critical', 'www']],
    );
    const [broken] = d.findings;
    assert.match(broken.message, /AAAA 2001:db8::10 published, but no IPv6 address answers on tcp\/443/);
    assert.match(broken.message, /while IPv4 answers from probe-dual\.example/);
    assert.ok(broken.evidence.some((line: string) => line.startsWith('probe-v6.example, probed') && /IPv4 not tested/.test(line) && /2001:db8::10 timeout/.test(line)), broken.evidence.join('\n'));
    assert.ok(broken.evidence.some((line: string) => line.startsWith('probe-dual.example, probed') && /192\.0\.2\.10 ok/.test(line) && /2001:db8::10 refused/.test(line)), broken.evidence.join('\n'));
    assert.ok(!broken.evidence.some((line: string) => line.includes('vp-stale')), 'the stale vantage point is evidence');

    const byHost = new Map(d.vantages.map((v: any) => [v.hostId, v]));
    assert.deepEqual([...byHost.keys()], ['vp-dual', 'vp-stale', 'vp-v6only']);
    const v6 = byHost.get('vp-v6only') as any;
    assert.deepEqual([v6.stale, v6.ipv4.verdict, v6.ipv6.verdict, v6.ipv6.answering, v6.ipv6.total], [false, 'untested', 'broken', 0, 1]);
    assert.deepEqual(v6.probe.attempts.map((a: any) => [a.address, a.outcome]), [[V6, 'timeout']]);
    const dv = byHost.get('vp-dual') as any;
    assert.deepEqual([dv.ipv4.verdict, dv.ipv6.verdict], ['works', 'broken']);
    assert.deepEqual(dv.ipv4.addresses, [{ address: V4, outcome: 'ok', detail: 'HTTP 200' }]);
    const stale = byHost.get('vp-stale') as any;
    assert.deepEqual([stale.stale, stale.ipv4.verdict, stale.ipv6.verdict], [true, 'broken', 'works']);

    assert.deepEqual(
      d.history.map((h: any) => [h.hostId, h.results.map((r: any) => [r.ipv4.verdict, r.ipv6.verdict])]),
      [
        ['vp-dual', [['works', 'broken']]],
        ['vp-stale', [['broken', 'works']]],
        ['vp-v6only', [['untested', 'broken']]],
      ],
    );
  });

  test('GET /api/v1/endpoints: the overall verdicts, per vantage point, the findings by severity', async () => {
    const res = await call(c, 'GET', '/api/v1/endpoints');
    assert.equal(res.status, 200);
    const [www] = res.body.items;
    assert.deepEqual([www.name, www.source, www.families, www.findings], ['www', 'config', { ipv4: 'works', ipv6: 'broken' }, { critical: 1, warning: 0, info: 0 }]);
    assert.deepEqual(
      www.vantages.map((v: any) => [v.hostId, v.stale, v.ipv4.verdict, v.ipv6.verdict]),
      [
        ['vp-dual', false, 'works', 'broken'],
        ['vp-stale', true, 'broken', 'works'],
        ['vp-v6only', false, 'untested', 'broken'],
      ],
    );
    assert.equal(typeof www.lastProbed, 'string');
    assert.equal((await call(c, 'GET', '/api/v1/endpoints', undefined, c.tokens.agent)).status, 403);
    assert.equal((await call(c, 'GET', '/api/v1/endpoints/nope')).status, 404);
  });

  test('/metrics: answering per endpoint, family and fresh vantage point; open findings by rule', async () => {
    const metrics = await (await request(`${c.url}/metrics`)).body.text();
    assert.match(metrics, /^dualstack_endpoint_answering\{endpoint="www",family="ipv4",vantage="vp-dual"\} 1$/m);
    assert.match(metrics, /^dualstack_endpoint_answering\{endpoint="www",family="ipv6",vantage="vp-dual"\} 0$/m);
    assert.match(metrics, /^dualstack_endpoint_answering\{endpoint="www",family="ipv6",vantage="vp-v6only"\} 0$/m);
    assert.doesNotMatch(metrics, /family="ipv4",vantage="vp-v6only"/, 'an untested family has a series');
    assert.doesNotMatch(metrics, /vantage="vp-stale"/, 'a stale vantage point has a series');
    assert.match(metrics, /^dualstack_endpoint_open_findings\{rule="endpoint-ipv6-broken",severity="critical"\} 1$/m);
    assert.match(metrics, /^dualstack_endpoint_open_findings\{rule="endpoint-no-aaaa",severity="warning"\} 0$/m);
  });
});

test('the overall verdict of a family is the worst a fresh vantage point saw; untested when none tested it', () => {
  assert.equal(overallVerdict(['works', 'broken', 'untested']), 'broken');
  assert.equal(overallVerdict(['works', 'partial']), 'partial');
  assert.equal(overallVerdict(['works', 'unpublished']), 'unpublished');
  assert.equal(overallVerdict(['unresolved', 'partial']), 'unresolved');
  assert.equal(overallVerdict(['untested', 'works']), 'works');
  assert.equal(overallVerdict(['untested']), 'untested');
  assert.equal(overallVerdict([]), 'untested');
});

describe('backends from real reports', () => {
  let c: TestCollector;
  before(async () => {
    c = await startTestCollector({
      endpoints: {
        config: [
          // apache2 on tcp/80 serves both families in the dual-stack-services capture; sendmail on tcp/25 IPv4 only.
          { name: 'web', url: 'http://web.example.net', backends: ['web-1', 'nowhere'] },
          { name: 'mx', url: 'smtp://mx.example.net', backends: ['web-1.example'] },
          // web-2's firewall drops IPv6 on tcp/80 (the ip6-no-nd capture), though apache2 listens on [::].
          { name: 'web2', url: 'http://web2.example.net', backends: ['web-2'] },
        ],
      },
    });
    const report = await call(c, 'POST', '/api/v1/reports', fixtureReport('dual-stack-services', 'web-1'));
    assert.equal(report.status, 202);
    assert.equal((await call(c, 'POST', '/api/v1/reports', fixtureReport('fw-ip6-no-nd', 'web-2'))).status, 202);
    const noAaaa = (name: string, url: string, port: number) => endpointProbe({ name, url, a: ['192.0.2.20'], aaaa: [], attempts: [attempt('192.0.2.20', port, 'ok')] });
    await ingest(c, probeBatch(dual, [noAaaa('web', 'http://web.example.net', 80), noAaaa('mx', 'smtp://mx.example.net', 25), noAaaa('web2', 'http://web2.example.net', 80)]));
  });
  after(async () => c.close());

  test('no AAAA while a declared backend serves the port over IPv6: endpoint-no-aaaa, backends linked to their hosts', async () => {
    const web = (await call(c, 'GET', '/api/v1/endpoints/web')).body;
    assert.deepEqual(web.families, { ipv4: 'works', ipv6: 'unpublished' });
    assert.deepEqual(web.findings.map((f: any) => [f.rule, f.severity]), [['endpoint-no-aaaa', 'warning']]);
    assert.match(web.findings[0].message, /web-1\.example serves tcp\/80 over IPv6/);
    assert.deepEqual(web.backends, [
      { declared: 'web-1', hostId: 'web-1', hostname: 'web-1.example', found: true, ipv4: true, ipv6: true, link: '/api/v1/hosts/web-1' },
      { declared: 'nowhere', hostId: null, hostname: null, found: false, ipv4: null, ipv6: null, link: null },
    ]);
    assert.equal((await call(c, 'GET', web.backends[0].link)).status, 200);
  });

  test('a backend found by hostname that serves the port over IPv4 only: no finding', async () => {
    const mx = (await call(c, 'GET', '/api/v1/endpoints/mx')).body;
    assert.deepEqual(mx.backends, [{ declared: 'web-1.example', hostId: 'web-1', hostname: 'web-1.example', found: true, ipv4: true, ipv6: false, link: '/api/v1/hosts/web-1' }]);
    assert.deepEqual(mx.findings, []);
  });

  test('a backend whose host firewall drops IPv6 on the port does not serve IPv6: no finding', async () => {
    const web2 = (await call(c, 'GET', '/api/v1/endpoints/web2')).body;
    assert.deepEqual(web2.backends, [{ declared: 'web-2', hostId: 'web-2', hostname: 'web-2.example', found: true, ipv4: true, ipv6: false, link: '/api/v1/hosts/web-2' }]);
    assert.deepEqual(web2.findings, []);
  });
});

describe('the endpoint alert kind', () => {
  let c: TestCollector;
  let now = Date.parse('2030-05-01T10:00:00Z');
  before(async () => {
    c = await startTestCollector({
      endpoints: { config: [{ name: 'www', url: WWW }] },
      alerts: {
        config: { rules: [{ name: 'endpoint' }], receivers: [{ name: 'ops', type: 'webhook', url: 'http://127.0.0.1:9/hook' }] },
        clock: () => new Date(now),
      },
    });
  });
  after(async () => c.close());

  test('an open endpoint finding fires one alert (alertname, endpoint, rule, severity) and resolves when IPv6 answers', async () => {
    await ingest(c, probeBatch(dual, [wwwProbe([attempt(V4, 443, 'ok'), attempt(V6, 443, 'timeout')])]));
    // The probes were received now; the alert evaluation judges staleness by the real receive time.
    now = Date.now();
    await c.app.alerts.evaluate(new Date(now));
    let alerts = (await call(c, 'GET', '/api/v1/alerts')).body.alerts;
    assert.deepEqual(
      alerts.map((a: any) => [a.status, a.labels]),
      [['firing', { alertname: 'endpoint', severity: 'critical', endpoint: 'www', rule: 'endpoint-ipv6-broken' }]],
    );
    assert.match(alerts[0].summary, /no IPv6 address answers on tcp\/443/);
    assert.match(alerts[0].fix, /traceroute -6 -T -p 443 2001:db8::10/);

    // After groupWait (30 s) the notification is in the receiver's outbox, like every kind's.
    now += 31_000;
    await c.app.alerts.evaluate(new Date(now));
    const db = (c.store as unknown as { database: import('better-sqlite3').Database }).database;
    const outbox = db.prepare("SELECT receiver, payload FROM alert_outbox WHERE rule = 'endpoint' ORDER BY id").all() as Array<{ receiver: string; payload: string }>;
    assert.equal(outbox.length, 1);
    assert.deepEqual(JSON.parse(outbox[0]!.payload).alerts.map((a: any) => [a.status, a.labels.endpoint, a.labels.rule]), [['firing', 'www', 'endpoint-ipv6-broken']]);

    await ingest(c, probeBatch(dual, [wwwProbe([attempt(V4, 443, 'ok'), attempt(V6, 443, 'ok')])]));
    now += 60_000;
    await c.app.alerts.evaluate(new Date(now));
    alerts = (await call(c, 'GET', '/api/v1/alerts')).body.alerts;
    assert.deepEqual(alerts.map((a: any) => [a.status, a.labels.rule]), [['resolved', 'endpoint-ipv6-broken']]);
  });
});
