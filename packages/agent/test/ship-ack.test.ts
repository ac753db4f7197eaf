// A 2xx counts only when its body is the collector's ack for this very id (issue 17): HTML from
// a proxy, garbage, an ack of another id or a half-filled ack is a failed attempt and the
// payload stays in the spool; an answer's body is read within a size and a time limit (an
// endless body hung `push`). Against a real HTTP server on 127.0.0.1 that misbehaves
// (ship-fake-collector.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProbeBatch, Report } from '@dualstack/core';
import { pushPayload, pushReport } from '../src/ship/push.js';
import { deliver } from '../src/ship/deliver.js';
import { Spool } from '../src/ship/spool.js';
import { PROBE_BATCH_KIND } from '../src/ship/payload.js';
import { FakeCollector, fixtureReport, reportAt } from './ship-fake-collector.js';

let base: Report;
let collector: FakeCollector;
before(async () => {
  base = await fixtureReport();
  collector = await FakeCollector.start();
});
after(() => collector.close());

const push = (report: Report, timeoutMs = 5000) => pushReport(report, { url: collector.endpoint, token: 't0ken', timeoutMs });

test('a 2xx without the ack for this reportId is a retry: HTML, garbage, another id, a half ack, no body', async () => {
  const report = reportAt(base, '2025-03-01T00:00:00Z');
  const otherAck = { reportId: 'e0c1b1f2-0000-4000-8000-000000000000', hostId: 'h', duplicate: false, receivedAt: '2025-03-01T00:00:01Z', findings: { open: 0, opened: 0, resolved: 0 } };
  const cases: Array<[string, { status: number; body?: unknown; headers?: Record<string, string> }, RegExp]> = [
    ['a proxy login page', { status: 200, body: '<html><body>Please log in</body></html>', headers: { 'content-type': 'text/html' } }, /not JSON.*Please log in/],
    ['garbage', { status: 202, body: 'OK' }, /not JSON/],
    ['JSON that is no ack', { status: 202, body: { ok: true } }, /not a report ack/],
    ['the ack of another report', { status: 202, body: otherAck }, new RegExp(`the ack of reportId ${otherAck.reportId}`)],
    ['an ack with a field missing', { status: 202, body: { ...otherAck, reportId: report.reportId, findings: { open: 1 } } }, /not a report ack/],
    ['an empty 204', { status: 204 }, /no body/],
  ];
  for (const [what, answer, message] of cases) {
    collector.answer(answer);
    const outcome = await push(report);
    assert.equal(outcome.kind, 'retry', what);
    assert.ok(outcome.kind === 'retry');
    assert.equal(outcome.code, 'NO_ACK', what);
    assert.equal(outcome.status, answer.status);
    assert.match(outcome.message, message, what);
  }
  collector.answer('accept');
  assert.equal((await push(report)).kind, 'delivered', 'the real ack for this id');
});

test('a probe batch needs the ProbeAck for its batchId', async () => {
  const batch = { schema: 'dualstack.probe/v1', batchId: '6a4f6c1e-5a57-4d0e-9d7e-0f7f2f3f4f5f', startedAt: '2025-03-01T00:00:00.000Z' } as unknown as ProbeBatch;
  collector.answer({ status: 202, body: { batchId: 'another', duplicate: false, receivedAt: '2025-03-01T00:00:01Z', results: 0, unknown: [] } });
  const outcome = await pushPayload(PROBE_BATCH_KIND, batch, { url: `${collector.base}${PROBE_BATCH_KIND.path}`, token: 't', timeoutMs: 5000 });
  assert.equal(outcome.kind, 'retry');
  assert.match(outcome.kind === 'retry' ? outcome.message : '', /ack of batchId another/);
});

test('an endless body (500 or 200) ends the attempt within the size or time limit: a retry, not a hang', async () => {
  const report = reportAt(base, '2025-03-02T00:00:00Z');
  for (const status of [500, 200]) {
    collector.answer({ status, endless: true });
    const outcome = await push(report, 1000);
    assert.equal(outcome.kind, 'retry', `endless ${status}`);
    assert.ok(outcome.kind === 'retry');
    assert.equal(outcome.status, status);
    assert.match(String(outcome.code), /^BODY_(TOO_LARGE|TIMEOUT)$/);
  }
});

test('deliver: a garbage 2xx leaves the report in the spool, and the next real ack takes it out', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-ack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const spool = new Spool({ dir: join(dir, 'spool'), log: (l) => lines.push(l) });
  const options = { url: collector.endpoint, token: 't0ken', spool, timeoutMs: 2000, log: (l: string) => lines.push(l) };
  const report = reportAt(base, '2025-03-03T00:00:00Z');
  collector.answer({ status: 200, body: '<html>Service temporarily unavailable</html>' });
  const first = await deliver(report, options);
  assert.equal(first.fate, 'spooled');
  assert.deepEqual((await spool.list()).map((e) => e.id), [report.reportId]);
  assert.match(lines.join('\n'), /without the collector's ack/);

  collector.answer('accept');
  const next = reportAt(base, '2025-03-03T00:05:00Z');
  const second = await deliver(next, options);
  assert.equal(second.fate, 'delivered');
  assert.equal(second.flush.delivered, 1);
  assert.deepEqual(await spool.list(), []);
});
