// Containers' network namespaces (issue 16) in the collector: their findings are the host's
// findings (read API, findings by rule, alerts of kind finding), over real HTTP on 127.0.0.1:0
// and a real SQLite file; the reports carry namespaces as the agent sends them, their findings
// made by core's per-namespace rules (helpers/reports.ts, podNamespace).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveAlerts } from '../src/alerts/config.js';
import { AlertService } from '../src/alerts/service.js';
import { SqliteAlertStore } from '../src/db/sqlite-alert-store.js';
import { reportServicesHash, serviceRows, servicesHash } from '../src/db/ingest-rows.js';
import { SqliteStore } from '../src/db/sqlite-store.js';
import { apiCall, hostToken, startTestCollector, type TestCollector } from './helpers/collector.js';
import { podNamespace, reportFrom, withNamespaces } from './helpers/reports.js';

const POD_SUBJECT = 'pod default/web-7d9 tcp/8080';

let c: TestCollector;
before(async () => {
  c = await startTestCollector();
});
after(async () => c.close());

async function post(report: unknown) {
  const hostId = (report as { host: { hostId: string } }).host.hostId;
  return apiCall(c, 'POST', '/api/v1/reports', await hostToken(c, hostId), report);
}

describe('namespace findings are host findings', () => {
  test('a pod with a 0.0.0.0-only listener gives service-ipv4-only naming the pod; a report without it resolves it', async () => {
    const base = reportFrom('dual-stack-services', { hostId: 'node-1', collectedAt: new Date(Date.now() - 60_000) });
    const withPod = withNamespaces(base, [podNamespace(base)]);
    assert.ok(withPod.namespaces![0]!.findings.some((f) => f.rule === 'service-ipv4-only' && f.subject === POD_SUBJECT), 'core names the pod');

    const first = await post(withPod);
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const detail = await apiCall(c, 'GET', '/api/v1/hosts/node-1', c.tokens.reader);
    const pod = detail.body.findings.find((f: any) => f.subject === POD_SUBJECT);
    assert.ok(pod, `open findings: ${detail.body.findings.map((f: any) => f.subject).join(', ')}`);
    assert.equal(pod.rule, 'service-ipv4-only');
    assert.equal(pod.resolvedAt, null);
    assert.ok(first.body.findings.open >= base.findings.length + 1);

    const byRule = await apiCall(c, 'GET', '/api/v1/findings', c.tokens.reader);
    const row = byRule.body.items.find((r: any) => r.rule === 'service-ipv4-only');
    assert.ok(row?.hostIds.includes('node-1'), JSON.stringify(byRule.body.items));

    const later = withNamespaces(reportFrom('dual-stack-services', { hostId: 'node-1', collectedAt: new Date() }), []);
    const second = await post(later);
    assert.equal(second.status, 202);
    assert.ok(second.body.findings.resolved >= 1);
    const after = await apiCall(c, 'GET', '/api/v1/hosts/node-1', c.tokens.reader);
    const resolved = after.body.findings.find((f: any) => f.subject === POD_SUBJECT);
    assert.ok(resolved?.resolvedAt, 'resolved by the report without the pod');
  });

  test('an alert rule of kind finding fires for a namespace finding', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'dualstack-ns-alerts-'));
    const store = new SqliteStore(join(dir, 'collector.db'), { staleAfterSeconds: 900 });
    const alertStore = new SqliteAlertStore(store.database);
    const now = Date.parse('2030-03-01T12:00:00.000Z');
    const settings = resolveAlerts({
      rules: [{ name: 'pods', kind: 'finding', minSeverity: 'warning', rules: ['service-ipv4-only'], groupWait: '0s' }],
      receivers: [{ name: 'ops', type: 'webhook', url: 'http://127.0.0.1:9/hook' }],
    });
    const service = new AlertService({ store: alertStore, settings, clock: () => new Date(now), staleAfterMs: 900_000 });
    t.after(async () => {
      await service.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const base = reportFrom('dual-stack-services', { hostId: 'node-2', collectedAt: new Date(now - 1000) });
    await store.ingestReport(withNamespaces(base, [podNamespace(base)]), { receivedAt: new Date(now).toISOString(), tokenId: null, bytes: 1000 });
    const result = await service.evaluate(new Date(now + 1000));
    assert.equal(result.error, null);
    const live = await alertStore.liveAlerts();
    assert.deepEqual(
      live.filter((a) => a.labels.subject === POD_SUBJECT).map((a) => [a.rule, a.labels.host, a.labels.rule]),
      [['pods', 'node-2', 'service-ipv4-only']],
    );
  });
});

describe('services by namespace', () => {
  const web8080 = (row: any) => row.proto === 'tcp' && row.port === 8080 && row.process === 'web';

  test('GET /api/v1/hosts/:id: the host\'s own services as before, and each namespace with its owner, services and findings count', async () => {
    const base = reportFrom('dual-stack-services', { hostId: 'node-3', collectedAt: new Date() });
    const pod = podNamespace(base);
    const res = await post(withNamespaces(base, [pod]));
    assert.equal(res.status, 202);
    const detail = await apiCall(c, 'GET', '/api/v1/hosts/node-3', c.tokens.reader);
    assert.equal(detail.status, 200);
    assert.deepEqual(detail.body.services.map((s: any) => `${s.proto}/${s.port}`), base.services.map((s) => `${s.proto}/${s.port}`), 'the host\'s own services only');
    assert.deepEqual(detail.body.namespaces, [{ inode: pod.inode, owner: pod.owner, services: pod.services, findings: pod.findings.length }]);
    assert.ok(pod.findings.length >= 1);

    const plain = await post(reportFrom('dual-stack-services', { hostId: 'node-5', collectedAt: new Date() }));
    assert.equal(plain.status, 202);
    assert.deepEqual((await apiCall(c, 'GET', '/api/v1/hosts/node-5', c.tokens.reader)).body.namespaces, []);
  });

  test('GET /api/v1/services?scope=host|containers|all: containers rows come from the namespaces, a host counted once however many pods run the service', async () => {
    const at = Date.now();
    const a = reportFrom('dual-stack-services', { hostId: 'node-6', collectedAt: new Date(at) });
    const b = reportFrom('dual-stack-services', { hostId: 'node-7', collectedAt: new Date(at) });
    const podA = podNamespace(a);
    const podB1 = podNamespace(b, { inode: 4026532501, pod: { namespace: 'shop', name: 'web-1', uid: '11111111-2222-3333-4444-555555555555' } });
    const podB2 = podNamespace(b, { inode: 4026532502, pod: { namespace: 'shop', name: 'web-2', uid: '11111111-2222-3333-4444-666666666666' } });
    assert.equal((await post(withNamespaces(a, [podA]))).status, 202);
    assert.equal((await post(withNamespaces(b, [podB1, podB2]))).status, 202);

    const matrix = async (query: string) => {
      const res = await apiCall(c, 'GET', `/api/v1/services?limit=1000${query}`, c.tokens.reader);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body;
    };
    const containers = await matrix('&scope=containers');
    const row = containers.items.find(web8080);
    // node-3 (the previous test) runs the same pod: three hosts, node-7 counted once for its two pods.
    assert.equal(row?.hosts, 3, JSON.stringify(containers.items));
    assert.equal(row.scope, 'containers');
    assert.equal(row.modes['ipv4-only'], 3);
    assert.equal(containers.total, containers.items.length);
    assert.ok(containers.items.every((r: any) => r.scope === 'containers'));

    const host = await matrix('&scope=host');
    assert.equal(host.items.find(web8080), undefined, 'a pod\'s service is not the host\'s');
    assert.ok(host.items.length > 0 && host.items.every((r: any) => r.scope === 'host'));

    const all = await matrix('');
    assert.equal(all.total, host.total + containers.total, 'all (the default): a row per scope');
    assert.deepEqual(all.items.filter(web8080), [row]);
    assert.deepEqual((await matrix('&scope=all')).items, all.items);

    // node-7 without one of its pods still has the service; node-6 without its pod no longer.
    assert.equal((await post(withNamespaces(reportFrom('dual-stack-services', { hostId: 'node-7', collectedAt: new Date(at + 1000) }), [podB2]))).status, 202);
    assert.equal((await post(withNamespaces(reportFrom('dual-stack-services', { hostId: 'node-6', collectedAt: new Date(at + 1000) }), []))).status, 202);
    assert.equal((await matrix('&scope=containers')).items.find(web8080)?.hosts, 2);
  });

  test('an unknown scope is refused, naming the field', async () => {
    const res = await apiCall(c, 'GET', '/api/v1/services?scope=pods', c.tokens.reader);
    assert.equal(res.status, 400);
    assert.match(JSON.stringify(res.body), /scope/);
  });
});

test('services_hash: a report without namespaces hashes as before migration 8 (no rewrite on upgrade); namespaces\' services change it', () => {
  const report = reportFrom('dual-stack-services', { hostId: 'node-9', collectedAt: new Date() });
  const keyed = serviceRows(report);
  assert.equal(reportServicesHash(keyed, report), servicesHash(keyed));
  const pod = podNamespace(report);
  const withPod = withNamespaces(report, [pod]);
  assert.notEqual(reportServicesHash(keyed, withPod), servicesHash(keyed));
  const moved = withNamespaces(report, [{ ...pod, inode: 4026532999 }]);
  assert.notEqual(reportServicesHash(keyed, moved), reportServicesHash(keyed, withPod), 'the same services in another namespace');
});
