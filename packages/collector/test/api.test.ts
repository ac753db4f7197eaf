// The collector's HTTP API over real HTTP (undici) on 127.0.0.1:0 with a real SQLite file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request } from 'undici';
import type { Report, Service } from '@dualstack/core';
import { fixtureReport, hostToken, startTestCollector, type TestCollector } from './helpers/collector.js';
import { withFirewallNotRead } from './helpers/reports.js';
import { expectedFirewallFiltered, matrixKey, type FilteredCounts } from './helpers/firewall.js';

let c: TestCollector;
before(async () => {
  c = await startTestCollector({ bodyLimitBytes: 256 * 1024 });
});
after(async () => c.close());

/** Posts a report with the given token, by default its host's own agent token (helpers/collector.ts). */
async function post(body: unknown, token?: string | null, raw?: string) {
  const hostId = (body as { host?: { hostId?: unknown } } | null)?.host?.hostId;
  if (token === undefined) token = typeof hostId === 'string' ? await hostToken(c, hostId) : c.tokens.agent;
  const res = await request(`${c.url}/api/v1/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: raw ?? JSON.stringify(body),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, any> };
}

async function get(path: string, token: string | null = c.tokens.reader) {
  const res = await request(`${c.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.body.text();
  return { status: res.statusCode, body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text, type: String(res.headers['content-type']) };
}

/** Each bad request must leave every table as it was. */
async function assertUnchanged<T>(run: () => Promise<T>): Promise<T> {
  const beforeCounts = await c.store.counts();
  const result = await run();
  assert.deepEqual(await c.store.counts(), beforeCounts, 'a rejected request changed the database');
  return result;
}

test('a report is stored once: 202, then the same ack with 200 on a replay', async () => {
  const report = fixtureReport('dual-stack-services', 'host-a');
  const first = await post(report);
  assert.equal(first.status, 202);
  assert.equal(first.body.reportId, report.reportId);
  assert.equal(first.body.hostId, 'host-a');
  assert.equal(first.body.duplicate, false);
  const counts = await c.store.counts();
  const again = await post(report);
  assert.equal(again.status, 200);
  assert.deepEqual({ ...again.body, duplicate: false }, first.body);
  assert.equal(again.body.duplicate, true);
  assert.deepEqual(await c.store.counts(), counts);
});

test('bad input gets a clear 4xx naming the field, and nothing is stored', async () => {
  const good = fixtureReport('dual-stack-services', 'host-bad');
  await hostToken(c, 'host-bad'); // created before the counts are taken
  const cases: Array<[string, () => Promise<{ status: number; body: Record<string, any> }>, number, RegExp | string | null]> = [
    ['malformed JSON', () => post(null, c.tokens.agent, '{"schema": "dualstack.report/v1",'), 400, null],
    ['wrong type', () => post({ ...good, services: [{ ...good.services[0], port: 'ssh' }] }), 400, '/services/0/port'],
    ['missing field', () => { const { host: _h, ...rest } = good; return post(rest); }, 400, '/host'],
    ['bad reportId', () => post({ ...good, reportId: 'not-a-uuid' }), 400, '/reportId'],
    ['unknown schema version', () => post({ ...good, schema: 'dualstack.report/v2' }), 400, '/schema'],
    ['oversized body', () => post({ ...good, padding: 'x'.repeat(300 * 1024) }), 413, null],
    ['no token', () => post(good, null), 401, null],
    ['wrong role', () => post(good, c.tokens.reader), 403, null],
    ['revoked token', () => post(good, c.tokens.revoked), 401, null],
    ['unknown token', () => post(good, 'dsk_nope'), 401, null],
  ];
  for (const [name, send, status, field] of cases) {
    const res = await assertUnchanged(send);
    assert.equal(res.status, status, `${name}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.status, status, `${name}: problem body`);
    assert.ok(typeof res.body.detail === 'string' && res.body.detail.length > 0, `${name}: detail`);
    if (typeof field === 'string') assert.equal(res.body.field, field, `${name}: ${res.body.detail}`);
  }
  const unsupported = await post({ ...good, schema: 'dualstack.report/v2' });
  assert.match(unsupported.body.detail, /dualstack\.report\/v1.*dualstack\.report\/v2/);
});

test('read API: hosts with filters, one host, services matrix, findings, summary', async () => {
  await post(fixtureReport('dual-stack-services', 'web-1'));
  await post(fixtureReport('no-ipv6-default', 'web-2'));
  await post(fixtureReport('bindv6only', 'web-3'));
  const hosts = await get('/api/v1/hosts?limit=50');
  assert.equal(hosts.status, 200);
  assert.ok(hosts.body.total >= 3);
  const unroutable = await get('/api/v1/hosts?rule=ipv6-unroutable');
  assert.deepEqual(unroutable.body.items.map((h: { hostId: string }) => h.hostId), ['web-2']);
  assert.equal(unroutable.body.items[0].ipv6Routable, false);
  const paged = await get('/api/v1/hosts?limit=1&offset=1');
  assert.equal(paged.body.items.length, 1);
  assert.equal(paged.body.limit, 1);
  const badQuery = await get('/api/v1/hosts?limit=zero');
  assert.equal(badQuery.status, 400);
  assert.equal(badQuery.body.field, '/limit');

  const detail = await get('/api/v1/hosts/web-1');
  assert.equal(detail.status, 200);
  const ssh = detail.body.services.find((s: { port: number; proto: string }) => s.port === 22 && s.proto === 'tcp');
  assert.equal(ssh.mode, 'dual-separate');
  assert.equal((await get('/api/v1/hosts/nope')).status, 404);

  const matrix = await get('/api/v1/services?limit=1000');
  const apache = matrix.body.items.find((r: { port: number; process: string }) => r.port === 80 && r.process === 'apache2');
  assert.ok(apache.modes['dual-mapped'] >= 1);
  const findings = await get('/api/v1/findings');
  const rule = findings.body.items.find((r: { rule: string }) => r.rule === 'ipv6-unroutable');
  assert.deepEqual(rule.hostIds, ['web-2']);
  const summary = await get('/api/v1/summary');
  assert.ok(summary.body.hosts >= 3);
  assert.ok(summary.body.ipv6RoutableShare > 0 && summary.body.ipv6RoutableShare < 1);
});

test('read API needs a reader token; an agent token is refused', async () => {
  assert.equal((await get('/api/v1/summary', null)).status, 401);
  assert.equal((await get('/api/v1/summary', c.tokens.agent)).status, 403);
  assert.equal((await get('/api/v1/summary', c.tokens.admin)).status, 200);
});

test('health, metrics and the OpenAPI document', async () => {
  const health = await get('/healthz', null);
  assert.equal(health.status, 200);
  assert.equal(health.body.status, 'ok');
  const metrics = await get('/metrics', null);
  assert.match(metrics.body, /dualstack_ingest_reports_total\{result="stored"\} \d+/);
  assert.match(metrics.body, /dualstack_fleet_hosts \d+/);
  // Group commit is observable: transactions and the reports they carried (earlier tests stored some).
  const transactions = Number(/^dualstack_ingest_transactions_total (\d+)/m.exec(metrics.body)?.[1]);
  const batched = Number(/^dualstack_ingest_batched_reports_total (\d+)/m.exec(metrics.body)?.[1]);
  const stored = Number(/^dualstack_ingest_reports_total\{result="stored"\} (\d+)/m.exec(metrics.body)?.[1]);
  assert.ok(transactions > 0 && transactions <= batched, `${transactions} transactions, ${batched} reports`);
  assert.ok(batched >= stored, `every stored report went through a transaction: ${batched} >= ${stored}`);
  const openapi = await get('/docs/json', null);
  assert.ok(openapi.body.paths['/api/v1/reports'].post);
  assert.ok(openapi.body.paths['/api/v1/hosts'].get);
});

test('the latest report is kept as the agent sent it (its JSON text, not a re-serialization)', async () => {
  const report = fixtureReport('bindv6only', 'raw-body');
  // Indented as no serializer of the collector would write it; no property unknown to the
  // schema (those are removed, which does re-serialize: ingest-bodies.test.ts).
  const text = JSON.stringify(report, null, 3);
  assert.equal((await post(null, c.tokens.agent, text)).status, 202);
  const detail = await get('/api/v1/hosts/raw-body');
  assert.equal(detail.body.latestReport.reportId, report.reportId);
  const db = new Database(join(c.dir, 'dualstack.db'), { readonly: true });
  try {
    assert.equal(db.prepare<[string], string>('SELECT body FROM latest_reports WHERE host_id = ?').pluck().get('raw-body'), text);
  } finally {
    db.close();
  }
});

test('hosts of one service: port, protocol, process and mode together', async () => {
  await post(fixtureReport('dual-stack-services', 'svc-1'));
  await post(fixtureReport('bindv6only', 'svc-2'));
  const ids = async (query: string) => ((await get(`/api/v1/hosts?limit=1000&${query}`)).body.items as Array<{ hostId: string }>).map((h) => h.hostId);
  const sshd = await ids('proto=tcp&port=22&process=sshd&mode=dual-separate');
  assert.ok(sshd.includes('svc-1'));
  assert.ok(!sshd.includes('svc-2'), 'the bindv6only capture runs no sshd');
  assert.ok(!(await ids('proto=tcp&port=22&process=sshd&mode=ipv4-only')).includes('svc-1'), 'its sshd is dual-stack');
  assert.ok((await ids('port=8000&mode=ipv6-only')).includes('svc-2'), 'python on :: with bindv6only=1');
  assert.ok(!(await ids('proto=udp&port=22')).includes('svc-1'));
  assert.equal((await get('/api/v1/hosts?port=70000')).status, 400);
});

test('firewall over HTTP: verdicts kept in the host detail, per-cell counts in /api/v1/services, the hosts of a count, all in the OpenAPI document', async (t) => {
  // A collector of its own: the counts are exact.
  const own = await startTestCollector();
  t.after(() => own.close());
  const send = async (report: Report) => {
    const res = await request(`${own.url}/api/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await hostToken(own, report.host.hostId)}` }, body: JSON.stringify(report) });
    assert.equal(res.statusCode, 202, await res.body.text());
    await res.body.dump();
    return report;
  };
  const read = async (path: string) => {
    const res = await request(`${own.url}${path}`, { headers: { authorization: `Bearer ${own.tokens.reader}` } });
    return { status: res.statusCode, body: (await res.body.json()) as any };
  };
  const reports = [
    await send(fixtureReport('fw-iptables-realistic', 'fw-ipt')),
    await send(fixtureReport('fw-firewalld', 'fw-fwd')),
    await send(fixtureReport('fw-ip6-no-nd', 'fw-nd')),
    await send(withFirewallNotRead(fixtureReport('dual-stack-services', 'fw-caps'))),
    await send(fixtureReport('dual-stack-services', 'no-fw')),
  ];

  const detail = await read('/api/v1/hosts/fw-ipt');
  assert.deepEqual(detail.body.services.map((s: Service) => s.firewall), reports[0]!.services.map((s) => s.firewall), 'the response schema keeps services[].firewall');
  assert.deepEqual(detail.body.latestReport.firewall, reports[0]!.firewall);
  assert.equal((await read('/api/v1/hosts/no-fw')).body.services.some((s: Service) => 'firewall' in s), false, 'none invented for an agent without it');

  const matrix = await read('/api/v1/services?limit=1000');
  assert.equal(matrix.status, 200);
  const served = new Map((matrix.body.items as Array<{ proto: string; port: number; process: string | null; firewallFiltered: FilteredCounts }>).map((r) => [matrixKey(r), r.firewallFiltered]));
  assert.deepEqual(served, expectedFirewallFiltered(reports));
  assert.deepEqual(served.get('tcp/8080/nginx'), { ipv4: 1, ipv6: 2 });

  const ids = async (query: string) => ((await read(`/api/v1/hosts?limit=100&${query}`)).body.items as Array<{ hostId: string }>).map((h) => h.hostId);
  assert.deepEqual(await ids('proto=tcp&port=8080&process=nginx&filtered=ipv6'), ['fw-ipt', 'fw-nd']);
  assert.deepEqual(await ids('proto=tcp&port=8080&process=nginx&filtered=ipv4'), ['fw-ipt']);
  assert.deepEqual(await ids('proto=tcp&port=8080&process=nginx'), ['fw-caps', 'fw-fwd', 'fw-ipt', 'fw-nd', 'no-fw']);
  const bad = await read('/api/v1/hosts?port=8080&filtered=ipv5');
  assert.deepEqual([bad.status, bad.body.field], [400, '/filtered']);

  const openapi = (await request(`${own.url}/docs/json`)).body;
  const doc = (await openapi.json()) as any;
  const row = doc.paths['/api/v1/services'].get.responses['200'].content['application/json'].schema.properties.items.items;
  assert.deepEqual(Object.keys(row.properties.firewallFiltered.properties), ['ipv4', 'ipv6']);
  assert.ok(row.required.includes('firewallFiltered'));
  const filtered = doc.paths['/api/v1/hosts'].get.parameters.find((p: { name: string }) => p.name === 'filtered');
  assert.deepEqual(filtered.schema.anyOf.map((s: { const?: string; enum?: string[] }) => s.const ?? s.enum?.[0]), ['ipv4', 'ipv6']);
});

test('offset and limit beyond range on the read API are a 400 naming the field, not a 500 from SQLite', async () => {
  await post(fixtureReport('dual-stack-services', 'page-1'));
  const paths = ['/api/v1/hosts', '/api/v1/services', '/api/v1/alerts/history', '/api/v1/alerts/deliveries'];
  const cases: Array<[string, string]> = [
    ['offset=100000000000000000000', '/offset'],
    ['offset=9223372036854775808', '/offset'],
    ['offset=-1', '/offset'],
    ['limit=100000000000000000000', '/limit'],
    ['limit=0', '/limit'],
  ];
  for (const path of paths) {
    for (const [query, field] of cases) {
      const res = await assertUnchanged(() => get(`${path}?${query}`, path.includes('alerts') ? c.tokens.admin : c.tokens.reader));
      assert.equal(res.status, 400, `${path}?${query}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.field, field, `${path}?${query}`);
    }
  }
  // The largest offset allowed still pages (an empty page past the end).
  const last = await get('/api/v1/hosts?offset=1000000000');
  assert.equal(last.status, 200);
  assert.deepEqual(last.body.items, []);
});

test('report ids are compared in canonical lower case: the same report with an upper-case reportId is a duplicate', async () => {
  const report = fixtureReport('dual-stack-services', 'case-1');
  const upper = { ...report, reportId: report.reportId.toUpperCase() };
  assert.notEqual(upper.reportId, report.reportId);
  const first = await post(upper);
  assert.equal(first.status, 202);
  assert.equal(first.body.reportId, report.reportId, 'the ack names the id in lower case');
  const again = await assertUnchanged(() => post(report));
  assert.equal(again.status, 200);
  assert.equal(again.body.duplicate, true);
  const mixed = await assertUnchanged(() => post({ ...report, reportId: report.reportId.replace(/[a-f]/, (c) => c.toUpperCase()) }));
  assert.equal(mixed.status, 200);
  assert.equal(mixed.body.duplicate, true);
});
