// The Store contract, reads: summary, host list and filters, host detail, service matrix,
// findings by rule. Moved from sqlite-store.test.ts; every case runs on each backend.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Store } from '../../src/store.js';
import { finding, golden, reportFrom } from '../helpers/reports.js';
import { forEachBackend, type OpenedStore } from './backends.js';
import { meta, minutesAgo } from './reports.js';

forEachBackend((backend) => {
  // web-1: dual-stack-services (9 exposed, 5 dual, 6 warning + 3 info, IPv6 routes)
  // bind-1: bindv6only (2 exposed, 1 dual, 2 warning + 1 info, IPv6 routes)
  // off-1: ipv6-off (5 exposed, 0 dual, 1 warning, no IPv6 answer)
  // nodef-1: no-ipv6-default (2 exposed, 2 dual, 1 critical + 1 info, IPv6 does not route)
  // old-1: dual-stack-services last heard from 2 hours ago (stale)
  async function fleet(t: TestContext): Promise<OpenedStore> {
    const opened = await backend.open(t);
    const store = opened.store;
    await store.ingestReport(reportFrom('dual-stack-services', { hostId: 'web-1', hostname: 'WEB-1.example', collectedAt: minutesAgo(2) }), meta());
    await store.ingestReport(reportFrom('bindv6only', { hostId: 'bind-1', collectedAt: minutesAgo(2) }), meta());
    await store.ingestReport(reportFrom('ipv6-off', { hostId: 'off-1', collectedAt: minutesAgo(2) }), meta());
    await store.ingestReport(reportFrom('no-ipv6-default', { hostId: 'nodef-1', collectedAt: minutesAgo(2) }), meta());
    await store.ingestReport(reportFrom('dual-stack-services', { hostId: 'old-1', collectedAt: minutesAgo(121) }), meta(minutesAgo(120)));
    return opened;
  }

  test('summary: an empty fleet has no shares', async (t) => {
    const { store } = await backend.open(t);
    const now = new Date();
    assert.deepEqual(await store.summary(now), {
      hosts: 0,
      staleHosts: 0,
      ipv6RoutableShare: null,
      dualStackServiceShare: null,
      ipv6ConnectionShare: null,
      connections: { ipv4: 0, ipv6: 0, mapped: 0 },
      findings: { critical: 0, warning: 0, info: 0 },
      generatedAt: now.toISOString(),
    });
  });

  test('summary: fleet shares, stale hosts excluded from the IPv6 routing share', async (t) => {
    const { store } = await fleet(t);
    const now = new Date();
    assert.deepEqual(await store.summary(now), {
      hosts: 5,
      staleHosts: 1,
      ipv6RoutableShare: 2 / 4,
      dualStackServiceShare: (5 + 1 + 0 + 2 + 5) / (9 + 2 + 5 + 2 + 9),
      ipv6ConnectionShare: 6 / (9 + 6 + 8),
      connections: { ipv4: 6 + 3, ipv6: 6, mapped: 8 },
      findings: { critical: 1, warning: 6 + 2 + 1 + 6, info: 3 + 1 + 1 + 3 },
      generatedAt: now.toISOString(),
    });
  });

  test('listHosts: summaries, filters and pages', async (t) => {
    const { store } = await fleet(t);
    const now = new Date();
    const ids = async (query: Parameters<Store['listHosts']>[0]) => {
      const page = await store.listHosts(query, now);
      return { total: page.total, ids: page.items.map((h) => h.hostId) };
    };

    const all = await store.listHosts({ limit: 100, offset: 0 }, now);
    assert.equal(all.total, 5);
    assert.deepEqual(
      all.items.map((h) => h.hostname),
      ['WEB-1.example', 'bind-1.example', 'nodef-1.example', 'off-1.example', 'old-1.example'],
    );
    const web = all.items[0]!;
    assert.deepEqual(
      { ...web, firstSeen: undefined, lastSeen: undefined },
      {
        hostId: 'web-1',
        hostname: 'WEB-1.example',
        distro: 'Debian GNU/Linux',
        kernel: golden('dual-stack-services').host.os.kernel,
        firstSeen: undefined,
        lastSeen: undefined,
        stale: false,
        ipv6Routable: true,
        ipv4Routable: true,
        services: { exposed: 9, dual: 5 },
        findings: { critical: 0, warning: 6, info: 3 },
        readiness: 5 / 9,
      },
    );
    const byId = new Map(all.items.map((h) => [h.hostId, h]));
    assert.equal(byId.get('off-1')!.ipv6Routable, null);
    assert.equal(byId.get('off-1')!.readiness, 0);
    assert.equal(byId.get('nodef-1')!.ipv6Routable, false);
    assert.equal(byId.get('nodef-1')!.readiness, 1);
    assert.equal(byId.get('old-1')!.stale, true);

    assert.deepEqual(await ids({ rule: 'ipv6-unroutable' }), { total: 1, ids: ['nodef-1'] });
    assert.deepEqual(await ids({ rule: 'service-dual-mapped' }), { total: 4, ids: ['web-1', 'bind-1', 'nodef-1', 'old-1'] });
    assert.deepEqual(await ids({ severity: 'critical' }), { total: 1, ids: ['nodef-1'] });
    assert.deepEqual(await ids({ severity: 'warning' }), { total: 4, ids: ['web-1', 'bind-1', 'off-1', 'old-1'] });
    assert.deepEqual(await ids({ mode: 'ipv4-only' }), { total: 3, ids: ['web-1', 'off-1', 'old-1'] });
    assert.deepEqual(await ids({ mode: 'dual-separate' }), { total: 3, ids: ['web-1', 'nodef-1', 'old-1'] });
    assert.deepEqual(await ids({ stale: true }), { total: 1, ids: ['old-1'] });
    assert.deepEqual(await ids({ stale: false }), { total: 4, ids: ['web-1', 'bind-1', 'nodef-1', 'off-1'] });
    assert.deepEqual(await ids({ q: 'web' }), { total: 1, ids: ['web-1'] });
    assert.deepEqual(await ids({ q: 'OFF-' }), { total: 1, ids: ['off-1'] });
    assert.deepEqual(await ids({ q: 'nothing-like-it' }), { total: 0, ids: [] });
    assert.deepEqual(await ids({ mode: 'dual-mapped', severity: 'warning', stale: false }), { total: 2, ids: ['web-1', 'bind-1'] });
    assert.deepEqual(await ids({ limit: 2, offset: 0 }), { total: 5, ids: ['web-1', 'bind-1'] });
    assert.deepEqual(await ids({ limit: 2, offset: 4 }), { total: 5, ids: ['old-1'] });
    const page = await store.listHosts({ limit: 2, offset: 2 }, now);
    assert.deepEqual([page.limit, page.offset, page.items.length], [2, 2, 2]);
  });

  test('readiness is 1 without exposed services when IPv6 routes, 0 when it does not', async (t) => {
    const { store } = await backend.open(t);
    await store.ingestReport(reportFrom('bindv6only', { hostId: 'quiet-v6', collectedAt: minutesAgo(1), services: [] }), meta());
    await store.ingestReport(reportFrom('no-ipv6-default', { hostId: 'quiet-v4', collectedAt: minutesAgo(1), services: [] }), meta());
    const page = await store.listHosts({}, new Date());
    assert.deepEqual(
      page.items.map((h) => [h.hostId, h.services.exposed, h.readiness]),
      [
        ['quiet-v4', 0, 0],
        ['quiet-v6', 0, 1],
      ],
    );
  });

  test('getHost: summary, services, open then recently resolved findings, history, latest report', async (t) => {
    const { store } = await backend.open(t);
    assert.equal(await store.getHost('nobody', new Date()), null);
    const a = finding('bindv6only-set', 'host');
    const b = finding('service-ipv6-only', 'tcp/8000');
    const c = finding('service-dual-mapped', 'tcp/8081', 'info');
    const d = finding('kernel-ipv6-advisory', 'kernel', 'critical');
    const send = (collectedAt: Date, findings: ReturnType<typeof finding>[]) => {
      const report = reportFrom('bindv6only', { hostId: 'detail', collectedAt, findings });
      return store.ingestReport(report, meta()).then(() => report);
    };
    await send(minutesAgo(60 * 24 * 10), [a, b, c, d]); // 10 days ago
    await send(minutesAgo(60 * 24 * 9), [a, b, c]); // d resolved 9 days ago: not shown
    await send(minutesAgo(60 * 24 * 2), [a, c]); // b resolved 2 days ago: shown
    for (let i = 0; i < 102; i++) await send(minutesAgo(60 * 24 - i), [a, c]);
    const last = await send(minutesAgo(1), [c, a]);

    const detail = (await store.getHost('detail', new Date()))!;
    assert.equal(detail.host.hostId, 'detail');
    assert.deepEqual(detail.host.findings, { critical: 0, warning: 1, info: 1 });
    assert.deepEqual(detail.services, last.services);
    assert.deepEqual(detail.latestReport, last);
    assert.deepEqual(
      detail.findings.map((f) => [f.rule, f.resolvedAt === null ? 'open' : 'resolved']),
      [
        ['bindv6only-set', 'open'],
        ['service-dual-mapped', 'open'],
        ['service-ipv6-only', 'resolved'],
      ],
    );
    assert.deepEqual(detail.findings[0]!.evidence, a.evidence);
    assert.deepEqual(detail.findings[0]!.fix, a.fix);
    assert.equal(detail.history.length, 100);
    assert.equal(detail.history[0]!.reportId, last.reportId);
    const times = detail.history.map((h) => h.collectedAt);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
    assert.deepEqual(
      { ...detail.history[0]!, reportId: undefined, collectedAt: undefined },
      { reportId: undefined, collectedAt: undefined, ipv6Routable: true, exposed: 2, dual: 1, critical: 0, warning: 1 },
    );
    assert.deepEqual(await store.counts(), { hosts: 1, reports: 106, services: 2, findings: 4, tokens: 0 });
  });

  test('servicesMatrix: hosts per (proto, port, process) and per mode, kept in step with service changes', async (t) => {
    const opened = await fleet(t);
    const store = opened.store;
    // nodef-1 loses apache2 and gains a udp service: the matrix follows.
    const changed = reportFrom('no-ipv6-default', { hostId: 'nodef-1', collectedAt: minutesAgo(1) });
    changed.services = [changed.services[0]!, { ...changed.services[0]!, proto: 'udp', port: 5000, process: null, pid: null }];
    await store.ingestReport(changed, meta());

    const matrix = await store.servicesMatrix({ limit: 1000, offset: 0 });
    const recomputed = await opened.rows<{ proto: string; port: number; process: string | null; hosts: number; ds: number; dm: number; v4: number; v6: number; lo: number }>(`
          SELECT proto, port, process, count(DISTINCT host_id) AS hosts,
            count(DISTINCT CASE WHEN mode = 'dual-separate' THEN host_id END) AS ds,
            count(DISTINCT CASE WHEN mode = 'dual-mapped' THEN host_id END) AS dm,
            count(DISTINCT CASE WHEN mode = 'ipv4-only' THEN host_id END) AS v4,
            count(DISTINCT CASE WHEN mode = 'ipv6-only' THEN host_id END) AS v6,
            count(DISTINCT CASE WHEN mode = 'loopback-only' THEN host_id END) AS lo
          FROM services GROUP BY proto, port, process`);
    assert.equal(matrix.total, recomputed.length);
    const key = (r: { proto: string; port: number; process: string | null }) => `${r.proto}/${r.port}/${r.process ?? '-'}`;
    assert.deepEqual(
      new Map(matrix.items.map((r) => [key(r), [r.hosts, r.modes['dual-separate'], r.modes['dual-mapped'], r.modes['ipv4-only'], r.modes['ipv6-only'], r.modes['loopback-only']]])),
      new Map(recomputed.map((r) => [key(r), [r.hosts, r.ds, r.dm, r.v4, r.v6, r.lo]])),
    );
    const apache80 = matrix.items.find((r) => key(r) === 'tcp/80/apache2')!;
    assert.deepEqual([apache80.hosts, apache80.modes['dual-mapped']], [2, 2], 'web-1 and old-1; nodef-1 dropped it');
    const anonymous = matrix.items.find((r) => key(r) === 'udp/5000/-')!;
    assert.equal(anonymous.process, null);
    const sshd = matrix.items.find((r) => key(r) === 'tcp/22/sshd')!;
    assert.deepEqual(sshd.modes, { 'dual-separate': 3, 'dual-mapped': 0, 'ipv4-only': 1, 'ipv6-only': 0, 'loopback-only': 0 });
    const hosts = matrix.items.map((r) => r.hosts);
    assert.deepEqual(hosts, [...hosts].sort((x, y) => y - x), 'most common first');

    const page = await store.servicesMatrix({ limit: 3, offset: 3 });
    assert.deepEqual([page.total, page.items.length], [matrix.total, 3]);
    assert.deepEqual(page.items, matrix.items.slice(3, 6));
  });

  test('findingsByRule: open findings per rule with host counts and host ids', async (t) => {
    const { store } = await fleet(t);
    // off-1 is fixed: ipv6-disabled resolves and is no longer counted.
    await store.ingestReport(reportFrom('ipv6-off', { hostId: 'off-1', collectedAt: minutesAgo(1), findings: [] }), meta());
    const rows = await store.findingsByRule();
    const byRule = new Map(rows.map((r) => [r.rule, r]));
    assert.equal(byRule.has('ipv6-disabled'), false);
    assert.deepEqual(byRule.get('ipv6-unroutable'), { rule: 'ipv6-unroutable', severity: 'critical', hosts: 1, findings: 1, hostIds: ['nodef-1'] });
    assert.deepEqual(byRule.get('service-ipv4-only'), { rule: 'service-ipv4-only', severity: 'warning', hosts: 2, findings: 4, hostIds: ['old-1', 'web-1'] });
    assert.deepEqual(byRule.get('service-dual-mapped'), { rule: 'service-dual-mapped', severity: 'info', hosts: 4, findings: 6, hostIds: ['bind-1', 'nodef-1', 'old-1', 'web-1'] });
    assert.equal(rows[0]!.severity, 'critical', 'critical rules first');
    assert.equal(rows.reduce((sum, r) => sum + r.findings, 0), 9 + 3 + 2 + 9);
  });

  test('findingsByRule lists at most 100 host ids', async (t) => {
    const { store } = await backend.open(t);
    await Promise.all(Array.from({ length: 120 }, (_, i) => store.ingestReport(reportFrom('no-ipv6-default', { hostId: `h-${String(i).padStart(3, '0')}`, collectedAt: minutesAgo(1) }), meta())));
    const row = (await store.findingsByRule()).find((r) => r.rule === 'ipv6-unroutable')!;
    assert.equal(row.hosts, 120);
    assert.equal(row.hostIds.length, 100);
    assert.equal(row.hostIds[0], 'h-000');
  });
});
