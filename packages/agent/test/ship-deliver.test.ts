// deliver(): the spool first, oldest first, then the new report, against a real HTTP server
// that goes down, comes back, rejects, or loses an ack. Each report must be POSTed once, or
// again only when its ack was lost (then answered 200 duplicate), and leave the spool only
// when acknowledged. The fake records every request with its answer (ship-fake-collector.ts);
// that the real collector stores a resent report once is test/e2e/resend.test.ts.
import { before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '@dualstack/core';
import { deliver, flushSpool, type DeliverOptions } from '../src/ship/deliver.js';
import { Spool } from '../src/ship/spool.js';
import { FakeCollector, badBodyProblem, fixtureReport, reportAt } from './ship-fake-collector.js';

let base: Report;
before(async () => {
  base = await fixtureReport();
});

function setup(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-deliver-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  const spool = new Spool({ dir: join(dir, 'spool'), log });
  const options = (url: string, extra: Partial<DeliverOptions> = {}): DeliverOptions => ({ url, token: 't0ken', spool, timeoutMs: 2000, log, ...extra });
  return { spool, lines, options };
}

async function startCollector(t: TestContext, port = 0): Promise<FakeCollector> {
  const collector = await FakeCollector.start(port);
  t.after(() => collector.close());
  return collector;
}

const day = (n: number) => `2025-01-${String(n).padStart(2, '0')}T00:00:00Z`;

test('collector down: the report is spooled, with a line that says so and why', async (t) => {
  const { spool, lines, options } = setup(t);
  const port = await FakeCollector.freePort();
  const report = reportAt(base, day(1));
  const result = await deliver(report, options(`http://127.0.0.1:${port}/api/v1/reports`));
  assert.equal(result.fate, 'spooled');
  assert.equal(result.waiting, 1);
  assert.deepEqual((await spool.list()).map((e) => e.id), [report.reportId]);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, new RegExp(`^spooled report ${report.reportId} \\(collected .*; collector unavailable: .*ECONNREFUSED.*\\); 1 report waiting in `));
});

test('down, then back up: the spool is flushed oldest first, then the new report; each POSTed once and answered 202, none resent', async (t) => {
  const { spool, lines, options } = setup(t);
  const port = await FakeCollector.freePort();
  const url = `http://127.0.0.1:${port}/api/v1/reports`;
  // Collected out of order on purpose: the spool sends by collectedAt, not by arrival.
  const spooled = [day(3), day(1), day(2)].map((time) => reportAt(base, time));
  for (const report of spooled) assert.equal((await deliver(report, options(url))).fate, 'spooled');
  assert.equal((await spool.list()).length, 3);

  const collector = await startCollector(t, port);
  const fresh = reportAt(base, day(4));
  const result = await deliver(fresh, options(url));
  assert.equal(result.fate, 'delivered');
  assert.deepEqual(result.flush, { delivered: 3, rejected: 0, stoppedBy: null, waiting: 0 });
  // Every POST the server got, with its answer: four, one per report, oldest first, all 202.
  assert.deepEqual(collector.answers, [spooled[1]!, spooled[2]!, spooled[0]!, fresh].map((r) => [r.reportId, 202]));
  assert.deepEqual(await spool.list(), []);
  assert.equal(lines.filter((l) => l.startsWith('delivered spooled report ')).length, 3);
  assert.match(lines.at(-1)!, new RegExp(`^delivered report ${fresh.reportId} \\(collected .*\\): 202 stored; 2 findings open \\(1 opened, 0 resolved\\)$`));

  // Nothing left: the next delivery sends only its own report.
  const next = reportAt(base, day(5));
  await deliver(next, options(url));
  assert.deepEqual(collector.answers.slice(4), [[next.reportId, 202]]);
});

test('the flush stops at the first retryable failure; the new report is spooled without a try', async (t) => {
  const { spool, options } = setup(t);
  const collector = await startCollector(t);
  const waiting = [1, 2, 3].map((n) => reportAt(base, day(n)));
  for (const report of waiting) await spool.add(report);
  collector.answer('accept', { status: 503, headers: { 'retry-after': '30' } });
  const fresh = reportAt(base, day(4));
  const result = await deliver(fresh, options(collector.endpoint));
  assert.equal(result.fate, 'spooled');
  assert.equal(result.flush.delivered, 1);
  assert.equal(result.outcome?.kind, 'retry');
  assert.equal(result.retryAfterMs, 30_000);
  assert.deepEqual(collector.answers, [[waiting[0]!.reportId, 202], [waiting[1]!.reportId, 503]], 'one delivered, one 503, the rest (and the new report) not tried');
  assert.equal(result.waiting, 3);
  assert.deepEqual((await spool.list()).map((e) => e.time.slice(0, 10)), ['2025-01-02', '2025-01-03', '2025-01-04']);
});

test('400: the report is rejected with the collector\'s detail, dropped, and never sent again', async (t) => {
  const { spool, lines, options } = setup(t);
  const collector = await startCollector(t);
  collector.answer({ status: 400, body: badBodyProblem });
  const bad = reportAt(base, day(1));
  const result = await deliver(bad, options(collector.endpoint));
  assert.equal(result.fate, 'rejected');
  assert.deepEqual(await spool.list(), []);
  assert.match(lines[0]!, new RegExp(`^rejected report ${bad.reportId} .*: 400 Invalid report: services/0/port must be an integer \\(field /services/0/port\\); dropped, not retried$`));
  await deliver(reportAt(base, day(2)), options(collector.endpoint));
  assert.equal(collector.receivedIds.filter((id) => id === bad.reportId).length, 1);
});

test('a spooled report the collector rejects is dropped and the flush goes on', async (t) => {
  const { spool, lines, options } = setup(t);
  const collector = await startCollector(t);
  const [bad, good] = [reportAt(base, day(1)), reportAt(base, day(2))];
  await spool.add(bad);
  await spool.add(good);
  collector.answer({ status: 413, body: { type: 'about:blank', title: 'Payload Too Large', status: 413, detail: 'body over 1 MiB' } });
  const fresh = reportAt(base, day(3));
  const result = await deliver(fresh, options(collector.endpoint));
  assert.equal(result.fate, 'delivered');
  assert.deepEqual([result.flush.delivered, result.flush.rejected], [1, 1]);
  assert.deepEqual(collector.answers, [[bad.reportId, 413], [good.reportId, 202], [fresh.reportId, 202]]);
  assert.ok(lines.some((l) => l.startsWith(`rejected spooled report ${bad.reportId}`) && l.includes('body over 1 MiB')));
  assert.deepEqual(await spool.list(), []);
});

test('a lost ack: the report stays spooled; the flush resends it once, it is answered 200 duplicate and leaves the spool', async (t) => {
  const { spool, lines, options } = setup(t);
  const collector = await startCollector(t);
  collector.answer('store-then-close');
  const report = reportAt(base, day(1));
  assert.equal((await deliver(report, options(collector.endpoint))).fate, 'spooled');
  assert.deepEqual(collector.answers, [[report.reportId, 'stored-then-closed']]);
  assert.deepEqual((await spool.list()).map((e) => e.id), [report.reportId]);

  const flush = await flushSpool(options(collector.endpoint));
  assert.deepEqual(flush, { delivered: 1, rejected: 0, stoppedBy: null, waiting: 0 });
  // Two POSTs in all: the first (stored, ack lost), the resend answered 200; no third.
  assert.deepEqual(collector.answers, [
    [report.reportId, 'stored-then-closed'],
    [report.reportId, 200],
  ]);
  assert.match(lines.at(-1)!, new RegExp(`^delivered spooled report ${report.reportId} \\(collected .*\\): 200 already stored \\(duplicate, nothing written again\\)`));
  assert.deepEqual(await spool.list(), []);
  // A later flush has nothing to send.
  assert.deepEqual(await flushSpool(options(collector.endpoint)), { delivered: 0, rejected: 0, stoppedBy: null, waiting: 0 });
  assert.equal(collector.received.length, 2);
});

test('401: the collector refuses this agent; the spool is kept and the new report held in it', async (t) => {
  const { spool, lines, options } = setup(t);
  const collector = await startCollector(t);
  const waiting = reportAt(base, day(1));
  await spool.add(waiting);
  collector.answer({ status: 401, body: { type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'unknown token' } });
  const fresh = reportAt(base, day(2));
  const result = await deliver(fresh, options(collector.endpoint));
  assert.equal(result.fate, 'held');
  assert.equal(collector.received.length, 1);
  assert.deepEqual((await spool.list()).map((e) => e.id), [waiting.reportId, fresh.reportId]);
  assert.match(lines.at(-1)!, /the collector refused this agent: 401 Unauthorized: unknown token\); 2 reports waiting in .* \(check the token and --collector\)$/);
});

test('while the collector asked to wait (Retry-After), nothing is sent: straight to the spool', async (t) => {
  const { spool, lines, options } = setup(t);
  const collector = await startCollector(t);
  const result = await deliver(reportAt(base, day(1)), options(collector.endpoint, { notBefore: Date.now() + 60_000 }));
  assert.equal(result.fate, 'spooled');
  assert.equal(collector.received.length, 0);
  assert.equal((await spool.list()).length, 1);
  assert.match(lines[0]!, /the collector asked to wait until /);
});

test('a corrupt spooled file is moved aside and the flush goes on', async (t) => {
  const { spool, lines, options } = setup(t);
  const collector = await startCollector(t);
  await spool.init();
  writeFileSync(join(spool.dir, '20240101T000000.000Z_33333333-3333-4333-8333-333333333333.json'), '{"schema":');
  const good = reportAt(base, day(1));
  await spool.add(good);
  const result = await deliver(reportAt(base, day(2)), options(collector.endpoint));
  assert.equal(result.fate, 'delivered');
  assert.equal(result.flush.delivered, 1);
  assert.deepEqual(readdirSync(join(spool.dir, 'corrupt')), ['20240101T000000.000Z_33333333-3333-4333-8333-333333333333.json']);
  assert.ok(lines[0]!.startsWith('moved corrupt spool file'));
});

test('an aborted delivery (stopping) keeps the report: spooled, not lost', async (t) => {
  const { spool, options } = setup(t);
  const collector = await startCollector(t);
  collector.answer('stall');
  const controller = new AbortController();
  const report = reportAt(base, day(1));
  const pending = deliver(report, options(collector.endpoint, { signal: controller.signal, timeoutMs: 30_000 }));
  await collector.waitForRequests(1);
  controller.abort();
  const result = await pending;
  assert.equal(result.fate, 'spooled');
  assert.deepEqual((await spool.list()).map((e) => e.id), [report.reportId]);
});
