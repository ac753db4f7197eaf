// Probe batches go through the reports' delivery machinery (ship/*, with the probe-batch
// kind): a batch made by a real round against a loopback server is spooled while the
// collector is down, replayed exactly once when it is back, and judged like a report (400
// dropped, 401 kept). The collector is ship-fake-collector.ts on 127.0.0.1, the agent's double
// of the collector's HTTP surface.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateProbeBatch } from '@dualstack/core/schema';
import type { ProbeBatch } from '@dualstack/core';
import { deliver, flushSpool } from '../src/ship/deliver.js';
import { Spool } from '../src/ship/spool.js';
import { PROBE_BATCH_KIND } from '../src/ship/payload.js';
import { probeRound } from '../src/probe/round.js';
import { systemResolver } from '../src/probe/resolve.js';
import { targetFromUrl } from '../src/probe/targets.js';
import { FakeCollector, badBodyProblem } from './ship-fake-collector.js';
import { listen } from './helpers/probe-servers.js';

const RESULTS = '/api/v1/probe-results';

async function realBatch(t: TestContext): Promise<ProbeBatch> {
  const port = await listen(t, createServer((socket) => socket.end()), '127.0.0.1');
  const targets = [targetFromUrl(`tcp://127.0.0.1:${port}`, 'db'), targetFromUrl('tcp://[::1]:1', 'nothing')];
  return probeRound(targets, { hostId: 'vantage-1', hostname: 'vantage-1', ipv4: true, ipv6: true }, '0.1.0', { resolver: systemResolver(1000), timeoutMs: 2000 });
}

function setup(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-probe-delivery-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  const spoolDir = join(dir, 'spool');
  const spool = new Spool({ dir: spoolDir, log, kind: PROBE_BATCH_KIND });
  return { spool, spoolDir, lines, log };
}

test('a round makes one valid batch: both endpoints, the answering one ok, the closed port refused', async (t) => {
  const batch = await realBatch(t);
  const check = validateProbeBatch(batch);
  assert.ok(check.ok, JSON.stringify(!check.ok && check.problems));
  assert.deepEqual(
    batch.results.map((r) => [r.name, r.attempts.map((a) => a.outcome)]),
    [
      ['db', ['ok']],
      ['nothing', ['refused']],
    ],
  );
});

test('collector down: the batch is spooled beside reports; back up: replayed exactly once, then gone', async (t) => {
  const { spool, spoolDir, lines, log } = setup(t);
  const batch = await realBatch(t);
  const port = await FakeCollector.freePort();
  const url = `http://127.0.0.1:${port}${RESULTS}`;
  const down = await deliver(batch, { url, token: 't0ken', spool, timeoutMs: 2000, log });
  assert.equal(down.fate, 'spooled');
  assert.deepEqual(
    readdirSync(spoolDir).filter((n) => n.endsWith('.json')),
    [`probe-${batch.startedAt.replace(/[-:]/g, '')}_${batch.batchId}.json`],
  );
  assert.match(lines.at(-1)!, new RegExp(`^spooled probe batch ${batch.batchId} \\(started .*collector unavailable: .*ECONNREFUSED.*\\); 1 probe batch waiting in `));
  assert.deepEqual(await new Spool({ dir: spoolDir }).list(), [], "the reports' spool does not list probe batches");

  const collector = await FakeCollector.start(port);
  t.after(() => collector.close());
  const flushed = await flushSpool({ url, token: 't0ken', spool, timeoutMs: 2000, log });
  assert.equal(flushed.delivered, 1);
  assert.equal(flushed.waiting, 0);
  const again = await flushSpool({ url, token: 't0ken', spool, timeoutMs: 2000, log });
  assert.equal(again.delivered, 0);
  assert.deepEqual(collector.answers, [[batch.batchId, 202]], 'POSTed once, stored');
  const [request] = collector.requestsTo(RESULTS);
  assert.equal(request!.headers.authorization, 'Bearer t0ken');
  assert.deepEqual(JSON.parse(request!.body), batch);
  assert.match(lines.at(-1)!, new RegExp(`^delivered spooled probe batch ${batch.batchId} \\(started .*\\): 202 stored; 2 endpoint results stored$`));
});

test('a batch the collector rejects (400) is dropped; one refused for the token (401) stays spooled', async (t) => {
  const { spool, lines, log } = setup(t);
  const collector = await FakeCollector.start();
  t.after(() => collector.close());
  const url = `${collector.base}${RESULTS}`;
  const bad = await realBatch(t);
  collector.answer({ status: 400, body: badBodyProblem });
  assert.equal((await deliver(bad, { url, token: 't', spool, timeoutMs: 2000, log })).fate, 'rejected');
  assert.match(lines.at(-1)!, new RegExp(`^rejected probe batch ${bad.batchId} .*dropped, not retried$`));
  const refused = await realBatch(t);
  collector.answer({ status: 401, body: { title: 'Unauthorized', status: 401, detail: 'unknown token' } });
  assert.equal((await deliver(refused, { url, token: 't', spool, timeoutMs: 2000, log })).fate, 'held');
  assert.deepEqual((await spool.list()).map((e) => e.id), [refused.batchId]);
});
