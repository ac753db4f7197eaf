// The Store contract, ingest: idempotency on reportId, "the report received last wins", the
// finding lifecycle, rejections; and the same under concurrency, with two stores on one
// database as two collectors have them. The single-store cases moved from sqlite-store.test.ts;
// every case runs on each backend.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Report } from '@dualstack/core';
import { ReportRejectedError } from '../../src/db/ingest-rows.js';
import { finding, reportFrom } from '../helpers/reports.js';
import { forEachBackend } from './backends.js';
import { meta, minutesAgo, rejectionOf } from './reports.js';

forEachBackend((backend) => {
  test('stores a report once; a replay returns the same ack with duplicate=true and writes nothing', async (t) => {
    const { store } = await backend.open(t);
    const report = reportFrom('dual-stack-services', { hostId: 'dup-1', collectedAt: minutesAgo(2) });
    const receivedAt = new Date();
    const ack = await store.ingestReport(report, meta(receivedAt));
    assert.deepEqual(ack, {
      reportId: report.reportId,
      hostId: 'dup-1',
      duplicate: false,
      receivedAt: receivedAt.toISOString(),
      findings: { open: 9, opened: 9, resolved: 0 },
    });
    const counts = await store.counts();
    assert.deepEqual(counts, { hosts: 1, reports: 1, services: 11, findings: 9, tokens: 0 });

    const replay = await store.ingestReport(report, meta(new Date(Date.now() + 5000)));
    assert.deepEqual(replay, { ...ack, duplicate: true });
    assert.deepEqual(await store.counts(), counts);
  });
  test('a reportId already stored for another host is rejected', async (t) => {
    const { store } = await backend.open(t);
    const report = reportFrom('bindv6only', { hostId: 'first', collectedAt: minutesAgo(2) });
    await store.ingestReport(report, meta());
    const error = await rejectionOf(store.ingestReport({ ...report, host: { ...report.host, hostId: 'second' } }, meta()));
    assert.equal(error.field, '/reportId');
    assert.equal(error.statusCode, 409);
    assert.deepEqual(await store.counts(), { hosts: 1, reports: 1, services: 2, findings: 3, tokens: 0 });
  });
  test('an ingest naming a token that does not exist is rejected by its foreign key', async (t) => {
    const { store } = await backend.open(t);
    const token = await store.createToken({ name: 'agent', role: 'agent', hash: 'hash-agent' });
    const ok = reportFrom('ipv6-off', { hostId: 'tok-1', collectedAt: minutesAgo(1) });
    const bad = reportFrom('ipv6-off', { hostId: 'tok-2', collectedAt: minutesAgo(1) });
    const [stored, rejected] = await Promise.allSettled([
      store.ingestReport(ok, { ...meta(), tokenId: token.id }),
      store.ingestReport(bad, { ...meta(), tokenId: 'no-such-token' }),
    ]);
    assert.equal(stored.status, 'fulfilled');
    assert.equal(rejected.status, 'rejected');
    assert.ok((rejected as PromiseRejectedResult).reason instanceof ReportRejectedError);
    assert.equal((await store.counts()).reports, 1);
  });
  test('collectedAt a day ahead of the collector clock is stored, with a host-clock-skew finding', async (t) => {
    const { store } = await backend.open(t);
    const report = reportFrom('ipv6-off', { hostId: 'future', collectedAt: new Date(Date.now() + 30 * 3600_000), findings: [] });
    const ack = await store.ingestReport(report, meta());
    assert.deepEqual(ack.findings, { open: 1, opened: 1, resolved: 0 });
    const detail = (await store.getHost('future', new Date()))!;
    assert.deepEqual(detail.findings.map((f) => [f.rule, f.subject, f.severity]), [['host-clock-skew', 'host', 'warning']]);
    assert.match(detail.findings[0]!.message, /1 d 6 h 0 min ahead of the collector's/);
  });
  test('finding lifecycle: open, resolved when gone, reopened when back (first_seen reset)', async (t) => {
    const { store } = await backend.open(t);
    const a = finding('ipv6-unroutable', 'host', 'critical');
    const b = finding('service-ipv4-only', 'tcp/25');
    const t1 = minutesAgo(30);
    const t2 = minutesAgo(20);
    const t3 = minutesAgo(10);

    const ack1 = await store.ingestReport(reportFrom('no-ipv6-default', { hostId: 'life', collectedAt: t1, findings: [a, b] }), meta());
    assert.deepEqual(ack1.findings, { open: 2, opened: 2, resolved: 0 });

    const ack2 = await store.ingestReport(reportFrom('no-ipv6-default', { hostId: 'life', collectedAt: t2, findings: [{ ...a, message: 'reworded' }] }), meta());
    assert.deepEqual(ack2.findings, { open: 1, opened: 0, resolved: 1 });
    let detail = (await store.getHost('life', new Date()))!;
    assert.deepEqual(
      detail.findings.map((f) => [f.rule, f.message, f.firstSeen, f.lastSeen, f.resolvedAt]),
      [
        ['ipv6-unroutable', 'reworded', t1.toISOString(), t2.toISOString(), null],
        ['service-ipv4-only', b.message, t1.toISOString(), t1.toISOString(), t2.toISOString()],
      ],
    );
    assert.deepEqual(detail.host.findings, { critical: 1, warning: 0, info: 0 });

    const ack3 = await store.ingestReport(reportFrom('no-ipv6-default', { hostId: 'life', collectedAt: t3, findings: [a, b] }), meta());
    assert.deepEqual(ack3.findings, { open: 2, opened: 1, resolved: 0 });
    detail = (await store.getHost('life', new Date()))!;
    assert.deepEqual(
      detail.findings.map((f) => [f.rule, f.firstSeen, f.lastSeen, f.resolvedAt]),
      [
        ['ipv6-unroutable', t1.toISOString(), t3.toISOString(), null],
        ['service-ipv4-only', t3.toISOString(), t3.toISOString(), null],
      ],
    );
    assert.deepEqual(detail.host.findings, { critical: 1, warning: 1, info: 0 });
    assert.equal((await store.counts()).findings, 2, 'one row per (host, rule, subject) whatever its history');

    // The same findings again: nothing opened or resolved, last_seen moves on.
    const t4 = minutesAgo(5);
    const ack4 = await store.ingestReport(reportFrom('no-ipv6-default', { hostId: 'life', collectedAt: t4, findings: [b, a] }), meta());
    assert.deepEqual(ack4.findings, { open: 2, opened: 0, resolved: 0 });
    detail = (await store.getHost('life', new Date()))!;
    assert.deepEqual(
      detail.findings.map((f) => f.lastSeen),
      [t4.toISOString(), t4.toISOString()],
    );
  });
  test('the report received last is the current one, whatever its collectedAt; one received before it (collector clock stepped back) is history only', async (t) => {
    const { store } = await backend.open(t);
    const first = reportFrom('dual-stack-services', { hostId: 'ooo', collectedAt: minutesAgo(5) });
    const collectedEarlier = reportFrom('ipv6-off', { hostId: 'ooo', collectedAt: minutesAgo(10) });
    await store.ingestReport(first, meta(minutesAgo(4)));
    const lateArrival = new Date();
    const applied = await store.ingestReport(collectedEarlier, meta(lateArrival));
    let detail = (await store.getHost('ooo', new Date()))!;
    assert.equal((detail.latestReport as Report).reportId, collectedEarlier.reportId, 'received last: applied');
    assert.deepEqual(applied.findings.open, collectedEarlier.findings.length);

    const steppedBack = reportFrom('dual-stack-services', { hostId: 'ooo', collectedAt: minutesAgo(1) });
    const ack = await store.ingestReport(steppedBack, meta(minutesAgo(3)));
    assert.deepEqual(ack.findings, { open: collectedEarlier.findings.length, opened: 0, resolved: 0 }, 'the open findings of the host, unchanged');
    assert.equal(ack.duplicate, false);
    detail = (await store.getHost('ooo', new Date()))!;
    assert.equal((detail.latestReport as Report).reportId, collectedEarlier.reportId);
    assert.deepEqual(detail.services, collectedEarlier.services);
    assert.equal(detail.host.lastSeen, lateArrival.toISOString());
    assert.deepEqual(await store.counts().then((c) => c.reports), 3);
  });

  test('two stores on one database ingesting the same reports at once: one row each, the same ack from both (one duplicate)', async (t) => {
    const [a, b] = await backend.openPair(t);
    const reports = Array.from({ length: 20 }, (_, i) => reportFrom(i % 2 ? 'bindv6only' : 'no-ipv6-default', { hostId: `pair-${i % 5}`, collectedAt: minutesAgo(30 - i) }));
    const receivedAt = new Date();
    // Each report sent to both collectors at the same moment; the hosts' reports one after the other, as agents send them.
    const acks = await Promise.all(reports.map((report) => Promise.all([a.store.ingestReport(report, meta(receivedAt)), b.store.ingestReport(report, meta(new Date(receivedAt.getTime() + 1)))])));
    for (const [index, [first, second]] of acks.entries()) {
      assert.equal([first.duplicate, second.duplicate].filter(Boolean).length, 1, `report ${index}: exactly one of the two acks is the duplicate`);
      assert.deepEqual({ ...first, duplicate: undefined }, { ...second, duplicate: undefined }, `report ${index}: the same ack`);
    }
    const counts = await a.store.counts();
    assert.equal(counts.reports, 20);
    assert.equal(counts.hosts, 5);
    const rows = await a.rows<{ n: number }>('SELECT count(*) AS n FROM reports');
    assert.equal(Number(rows[0]!.n), 20);
  });

  test('two stores, one host: the report received last is the current one, and a late older one never replaces it', async (t) => {
    const [a, b] = await backend.openPair(t);
    const base = Date.now() - 60_000;
    // 30 reports of one host, received at increasing times, sent to alternate collectors all at
    // once: they commit in any order, the host must end on the one received last.
    const reports = Array.from({ length: 30 }, (_, i) => ({ report: reportFrom(i % 2 ? 'bindv6only' : 'ipv6-off', { hostId: 'race', collectedAt: new Date(base + i * 1000) }), receivedAt: new Date(base + i * 1000 + 500) }));
    const shuffled = [...reports].sort((x, y) => (x.report.reportId < y.report.reportId ? -1 : 1));
    await Promise.all(shuffled.map(({ report, receivedAt }, i) => (i % 2 ? a : b).store.ingestReport(report, meta(receivedAt))));
    const newest = reports.at(-1)!;
    for (const opened of [a, b]) {
      const detail = (await opened.store.getHost('race', new Date()))!;
      assert.equal((detail.latestReport as Report).reportId, newest.report.reportId, 'the latest report is the one received last');
      assert.equal(detail.host.lastSeen, newest.receivedAt.toISOString());
      assert.deepEqual(detail.services, newest.report.services);
    }
    // A late arrival, received (by a collector whose clock is behind) before the newest: history only.
    const late = reportFrom('no-ipv6-default', { hostId: 'race', collectedAt: new Date(base) });
    const ack = await a.store.ingestReport(late, meta(new Date(base + 1000)));
    assert.equal(ack.duplicate, false);
    const detail = (await b.store.getHost('race', new Date()))!;
    assert.equal((detail.latestReport as Report).reportId, newest.report.reportId);
    assert.equal((await a.store.counts()).reports, 31);
  });

  test('a report whose data breaks a named limit is refused with the field it guards, and nothing is stored', async (t) => {
    const { store } = await backend.open(t);
    const report = reportFrom('ipv6-off', { hostId: 'x'.repeat(300), collectedAt: minutesAgo(1) });
    const error = await rejectionOf(store.ingestReport(report, meta()));
    assert.ok(error instanceof ReportRejectedError);
    assert.equal(error.field, '/host/hostId');
    assert.equal(error.statusCode, 400);
    assert.deepEqual(await store.counts(), { hosts: 0, reports: 0, services: 0, findings: 0, tokens: 0 });
  });
});
