// "A resend is harmless": the agent sends a report again when it cannot know that the collector
// stored it, and the collector answers that resend 200 (stored before) without writing it
// again. Real processes only: the built `dualstack-agent push` and `dualstack-collector serve`
// on a temp SQLite file; between them a TCP relay (fault-proxy.ts) that loses or holds the
// collector's answer AFTER the collector committed. What is checked, for each resend:
//   - the collector's own request log: every POST /api/v1/reports it received and the status it
//     answered (202 the first time, 200 for the resend, and no other POST);
//   - the agent's lines: the resend is "delivered spooled report X: 200 already stored";
//   - the file: one row for the report, with the received_at of the first, acknowledged-but-lost
//     delivery (nothing rewritten), and the agent's spool empty afterwards.
// Needs `npx turbo run build` first. Every process is killed by pid in t.after.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  AGENT_CLI,
  Collector,
  Harness,
  agentEvents,
  createToken,
  linesOf,
  lossLines,
  openReadonly,
  procRootOf,
  spooledIds,
  until,
  type Finished,
} from './harness.js';
import { collectorPosts } from './collector-log.js';
import { FaultProxy } from './fault-proxy.js';

/** The rows of one report id, and all rows of one host, read-only. */
function rowsOf(db: string, reportId: string, hostId: string) {
  const file = openReadonly(db);
  try {
    const report = file.prepare<[string], { report_id: string; received_at: string }>('SELECT report_id, received_at FROM reports WHERE report_id = ?').all(reportId);
    const host = file.prepare<[string], { report_id: string }>('SELECT report_id FROM reports WHERE host_id = ? ORDER BY collected_at').pluck().all(hostId) as unknown as string[];
    return { report, host };
  } finally {
    file.close();
  }
}

/**
 * The statuses of the collector's POSTs once at least `min` are logged with their answer and
 * no further one arrived for 300 ms (the agent has exited by then: nothing more is coming).
 */
async function answered(collector: Collector, min: number, context: () => string): Promise<Array<number | null>> {
  let last = '';
  let stableSince = Date.now();
  await until(
    () => {
      const posts = collectorPosts(collector);
      const now = JSON.stringify(posts);
      if (now !== last) {
        last = now;
        stableSince = Date.now();
      }
      return posts.length >= min && posts.every((p) => p.status !== null) && Date.now() - stableSince >= 300;
    },
    5000,
    `${min} POSTs answered in the collector's log`,
    context,
  );
  return collectorPosts(collector).map((p) => p.status);
}

async function setup(t: TestContext, prefix: string) {
  const h = Harness.create(t, prefix);
  const db = join(h.dir, 'collector.db');
  const { file: tokenFile } = await createToken(h, db, `${prefix}-agent`, 'agent');
  const spool = join(h.dir, 'spool');
  const hostId = `e2e-${prefix}-${randomUUID().slice(0, 8)}`;
  const pushArgs = (url: string) => ['push', '--collector', url, '--token-file', tokenFile, '--spool', spool, '--proc-root', procRootOf('dual-stack-services'), '--host-id', hostId, '--timeout', '5s'];
  const push = (url: string) => h.run('push', AGENT_CLI, pushArgs(url));
  return { h, db, spool, hostId, pushArgs, push };
}

const describeRun = (run: Finished) => `exit ${run.code}/${run.signal} in ${run.ms} ms\n--- stderr:\n${run.stderr}--- stdout:\n${run.stdout}`;

test('lost ack: the collector commits, the answer never reaches the agent; the next push resends the report, the collector answers 200 duplicate, one row, and nothing sent a third time', async (t) => {
  const t0 = Date.now();
  const { h, db, spool, hostId, push } = await setup(t, 'lostack');
  const collector = await Collector.start(h, db);
  const proxy = await FaultProxy.start(collector.port);
  t.after(() => proxy.close());
  const context = (run?: Finished) => `${run ? describeRun(run) : ''}\n${collector.describe(12)}\nrelay: ${JSON.stringify(proxy.answers)}`;

  // 1. The collector stores X and answers 202; the relay drops the connection at that answer.
  proxy.next('drop');
  const first = await push(proxy.url);
  assert.deepEqual([first.code, first.signal], [0, null], context(first));
  const firstEvents = agentEvents(linesOf(first));
  assert.deepEqual(firstEvents.map((e) => e.kind), ['spooled'], context(first));
  const x = firstEvents[0]!.reportId;
  assert.match(firstEvents[0]!.line, /collector unavailable: /, context(first));
  assert.deepEqual(spooledIds(spool), [x], 'the agent kept the report it got no ack for');
  assert.deepEqual(proxy.answers.map((a) => [a.statusLine.slice(9, 12), a.fault]), [['202', 'drop']], context(first));
  assert.deepEqual(await answered(collector, 1, context), [202], `one POST, stored\n${context(first)}`);
  const stored = rowsOf(db, x, hostId);
  assert.equal(stored.report.length, 1, 'the collector committed X before its answer was lost');
  const receivedAt = stored.report[0]!.received_at;

  // 2. The next push resends X (from the spool, first), then sends its own report Y.
  const second = await push(proxy.url);
  assert.deepEqual([second.code, second.signal], [0, null], context(second));
  assert.deepEqual(lossLines(linesOf(second)), [], context(second));
  const secondEvents = agentEvents(linesOf(second));
  assert.deepEqual(
    secondEvents.map((e) => [e.kind, e.reportId, e.status, e.duplicate]),
    [['delivered-spooled', x, 200, true], ['delivered', secondEvents[1]?.reportId, 202, false]],
    context(second),
  );
  const y = secondEvents[1]!.reportId;
  assert.notEqual(y, x);
  assert.deepEqual(spooledIds(spool), [], 'the resent report left the spool once acknowledged');
  assert.deepEqual(await answered(collector, 3, context), [202, 200, 202], `X stored, X resent and answered 200 (duplicate), Y stored\n${context(second)}`);

  // 3. A third push has nothing left to resend: one more POST, its own, 202.
  const third = await push(proxy.url);
  assert.deepEqual([third.code, third.signal], [0, null], context(third));
  assert.deepEqual(agentEvents(linesOf(third)).map((e) => [e.kind, e.status]), [['delivered', 202]], context(third));
  const z = agentEvents(linesOf(third))[0]!.reportId;
  assert.deepEqual(await answered(collector, 4, context), [202, 200, 202, 202], context(third));
  assert.deepEqual(proxy.answers.map((a) => a.statusLine.slice(9, 12)), ['202', '200', '202', '202'], 'the relay saw the same answers');

  // 4. The file: X once, with the first delivery's received_at; the host holds X, Y, Z only.
  assert.deepEqual(await collector.stop(), { code: 0, signal: null }, collector.describe());
  const after = rowsOf(db, x, hostId);
  assert.deepEqual(after.report, [{ report_id: x, received_at: receivedAt }], 'X stored once, not rewritten by the resend');
  assert.deepEqual(after.host, [x, y, z]);
  t.diagnostic(`lost ack: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test('agent killed after the collector stored a spooled report, before it removed it from the spool: the next push resends it, answered 200 duplicate, one row', async (t) => {
  const t0 = Date.now();
  const { h, db, spool, hostId, pushArgs, push } = await setup(t, 'killagent');
  const collector = await Collector.planned(h, db);
  const context = (run?: Finished) => `${run ? describeRun(run) : ''}\n${collector.describe(12)}`;

  // 1. Collector down: X waits in the spool.
  const down = await push(collector.url);
  assert.deepEqual([down.code, down.signal], [0, null], context(down));
  const downEvents = agentEvents(linesOf(down));
  assert.deepEqual(downEvents.map((e) => e.kind), ['spooled'], context(down));
  const x = downEvents[0]!.reportId;
  assert.deepEqual(spooledIds(spool), [x]);

  // 2. Collector up, behind a relay that holds its answer: the agent sends X, the collector
  // commits and answers 202, and the agent is SIGKILLed before that answer reaches it.
  await collector.startHere();
  const proxy = await FaultProxy.start(collector.port);
  t.after(() => proxy.close());
  proxy.next('hold');
  const agent = h.spawn('push (killed)', AGENT_CLI, pushArgs(proxy.url));
  const held = await Promise.race([proxy.held(), agent.exited.then(() => null)]);
  assert.ok(held, `the agent ended before the collector answered\n${agent.describe()}`);
  assert.match(held.statusLine, /^HTTP\/1\.1 202 /, 'the collector stored X');
  agent.signal('SIGKILL');
  assert.deepEqual(await agent.waitExit(5000), { code: null, signal: 'SIGKILL' });
  assert.deepEqual(spooledIds(spool), [x], 'X is still spooled: the agent died before removing it');
  const stored = rowsOf(db, x, hostId);
  assert.equal(stored.report.length, 1);
  const receivedAt = stored.report[0]!.received_at;
  await proxy.close();

  // 3. The next push resends X: 200 duplicate, then its own report.
  const next = await push(collector.url);
  assert.deepEqual([next.code, next.signal], [0, null], context(next));
  const events = agentEvents(linesOf(next));
  assert.deepEqual(
    events.map((e) => [e.kind, e.reportId, e.status, e.duplicate]),
    [['delivered-spooled', x, 200, true], ['delivered', events[1]?.reportId, 202, false]],
    context(next),
  );
  const y = events[1]!.reportId;
  assert.deepEqual(spooledIds(spool), []);
  assert.deepEqual(await answered(collector, 3, context), [202, 200, 202], `X stored, X resent and answered 200 (duplicate), Y stored\n${context(next)}`);

  assert.deepEqual(await collector.stop(), { code: 0, signal: null }, collector.describe());
  const after = rowsOf(db, x, hostId);
  assert.deepEqual(after.report, [{ report_id: x, received_at: receivedAt }], 'X stored once, not rewritten by the resend');
  assert.deepEqual(after.host, [x, y]);
  t.diagnostic(`agent killed: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
