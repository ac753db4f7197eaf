// pushReport against a real HTTP server on 127.0.0.1 answering as scripted: each collector
// answer (and each way the network fails) becomes the outcome the spool logic acts on.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Report } from '@dualstack/core';
import { parseRetryAfter, pushReport, MAX_RETRY_AFTER_MS } from '../src/ship/push.js';
import { FakeCollector, badBodyProblem, fixtureReport, reportAt } from './ship-fake-collector.js';

let base: Report;
let collector: FakeCollector;
const token = 'agent-token-0123456789';

before(async () => {
  base = await fixtureReport();
  collector = await FakeCollector.start();
});
after(() => collector.close());

const push = (report: Report, extra: { timeoutMs?: number; signal?: AbortSignal; now?: () => number; url?: string } = {}) =>
  pushReport(report, { url: extra.url ?? collector.endpoint, token, timeoutMs: extra.timeoutMs ?? 5000, ...(extra.signal ? { signal: extra.signal } : {}), ...(extra.now ? { now: extra.now } : {}) });

test('202: delivered with the ack; the request is a POST of the report as JSON with the bearer token', async () => {
  const report = reportAt(base, '2025-01-01T00:00:00Z');
  collector.answer('accept');
  const outcome = await push(report);
  assert.equal(outcome.kind, 'delivered');
  assert.ok(outcome.kind === 'delivered');
  assert.equal(outcome.status, 202);
  assert.equal(outcome.duplicate, false);
  assert.deepEqual(outcome.ack?.findings, { open: 2, opened: 1, resolved: 0 });
  assert.equal(outcome.ack?.reportId, report.reportId);
  const request = collector.received.at(-1)!;
  assert.equal(request.method, 'POST');
  assert.equal(request.path, '/api/v1/reports');
  assert.equal(request.headers.authorization, `Bearer ${token}`);
  assert.match(String(request.headers['content-type']), /^application\/json/);
  assert.match(String(request.headers['user-agent']), /^dualstack-agent\//);
  assert.deepEqual(JSON.parse(request.body), report);
});

test("the request carries a Date header, this host's clock when sending (the collector's host-clock-skew compares it)", async () => {
  collector.answer('accept');
  await push(reportAt(base, '2025-01-01T00:00:00Z'), { now: () => Date.parse('2031-02-03T04:05:06Z') });
  assert.equal(collector.received.at(-1)!.headers.date, 'Mon, 03 Feb 2031 04:05:06 GMT');
});

test('200 for a reportId stored before: delivered, duplicate', async () => {
  const report = reportAt(base, '2025-01-01T00:01:00Z');
  collector.answer('accept', 'accept');
  const before = collector.received.length;
  const first = await push(report);
  assert.ok(first.kind === 'delivered');
  assert.equal(first.duplicate, false);
  const outcome = await push(report);
  assert.ok(outcome.kind === 'delivered');
  assert.equal(outcome.status, 200);
  assert.equal(outcome.duplicate, true);
  assert.equal(outcome.ack?.duplicate, true);
  assert.deepEqual(collector.answers.slice(before), [[report.reportId, 202], [report.reportId, 200]], 'one POST per push, answered 202 then 200');
});

test('500 and 503: retry, with the status and the body in the message', async () => {
  collector.answer({ status: 500, body: 'database is locked' }, { status: 503 });
  const first = await push(reportAt(base, '2025-01-01T00:02:00Z'));
  assert.deepEqual(first, { kind: 'retry', status: 500, code: null, retryAfterMs: null, message: '500: database is locked' });
  const second = await push(reportAt(base, '2025-01-01T00:02:00Z'));
  assert.ok(second.kind === 'retry');
  assert.equal(second.status, 503);
});

test('429 with Retry-After in seconds, and as an HTTP date: retry after that long', async () => {
  collector.answer({ status: 429, headers: { 'retry-after': '7' } });
  const seconds = await push(reportAt(base, '2025-01-01T00:03:00Z'));
  assert.ok(seconds.kind === 'retry');
  assert.equal(seconds.status, 429);
  assert.equal(seconds.retryAfterMs, 7000);

  const now = Date.parse('2025-01-01T12:00:00Z');
  collector.answer({ status: 429, headers: { 'retry-after': 'Wed, 01 Jan 2025 12:01:30 GMT' } });
  const date = await push(reportAt(base, '2025-01-01T00:03:00Z'), { now: () => now });
  assert.ok(date.kind === 'retry');
  assert.equal(date.retryAfterMs, 90_000);
});

test('408: retry (the collector timed out reading, the report is fine)', async () => {
  collector.answer({ status: 408 });
  const outcome = await push(reportAt(base, '2025-01-01T00:04:00Z'));
  assert.equal(outcome.kind, 'retry');
});

test("400 with a problem body: rejected, carrying the collector's detail and field", async () => {
  collector.answer({ status: 400, body: badBodyProblem });
  const outcome = await push(reportAt(base, '2025-01-01T00:05:00Z'));
  assert.ok(outcome.kind === 'rejected');
  assert.equal(outcome.status, 400);
  assert.deepEqual(outcome.problem, badBodyProblem);
  assert.equal(outcome.message, '400 Invalid report: services/0/port must be an integer (field /services/0/port)');
});

test('401, 403 and 413: rejected after one POST, not retried', async () => {
  for (const status of [401, 403, 413]) {
    collector.answer({ status, body: { type: 'about:blank', title: `status ${status}`, status, detail: `because ${status}` } });
    const before = collector.received.length;
    const report = reportAt(base, '2025-01-01T00:06:00Z');
    const outcome = await push(report);
    assert.ok(outcome.kind === 'rejected', String(status));
    assert.equal(outcome.status, status);
    assert.equal(outcome.problem?.detail, `because ${status}`);
    assert.deepEqual(collector.answers.slice(before), [[report.reportId, status]], `${status}: one POST`);
  }
});

test('the collector closes the connection without answering: retry with the network error code', async () => {
  collector.answer('close');
  const outcome = await push(reportAt(base, '2025-01-01T00:07:00Z'));
  assert.ok(outcome.kind === 'retry');
  assert.equal(outcome.status, null);
  assert.ok(outcome.code === 'UND_ERR_SOCKET' || outcome.code === 'ECONNRESET', String(outcome.code));
});

test('the collector stalls past the timeout: retry (headers timeout), in about the timeout', async () => {
  collector.answer('stall');
  const started = Date.now();
  const outcome = await push(reportAt(base, '2025-01-01T00:08:00Z'), { timeoutMs: 300 });
  const took = Date.now() - started;
  assert.ok(outcome.kind === 'retry');
  assert.equal(outcome.code, 'UND_ERR_HEADERS_TIMEOUT');
  assert.ok(took >= 250 && took < 3000, `took ${took} ms`);
});

test('nothing listens: retry, ECONNREFUSED', async () => {
  const port = await FakeCollector.freePort();
  const outcome = await push(reportAt(base, '2025-01-01T00:09:00Z'), { url: `http://127.0.0.1:${port}/api/v1/reports` });
  assert.ok(outcome.kind === 'retry');
  assert.equal(outcome.code, 'ECONNREFUSED');
});

test('an aborted push (the agent is stopping) is a retry with code ABORTED, not a rejection (so deliver keeps the report)', async () => {
  collector.answer('stall');
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const outcome = await push(reportAt(base, '2025-01-01T00:10:00Z'), { signal: controller.signal });
  assert.ok(outcome.kind === 'retry');
  assert.equal(outcome.code, 'ABORTED');
});

test('parseRetryAfter: seconds, HTTP date, past date, garbage, and a cap', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  assert.equal(parseRetryAfter(undefined, now), null);
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now), 10_000);
  assert.equal(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), null);
  assert.equal(parseRetryAfter('-5', now), null);
  assert.equal(parseRetryAfter('999999999', now), MAX_RETRY_AFTER_MS);
});
