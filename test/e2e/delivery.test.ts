// Delivery end to end, with real processes only: the built `dualstack-collector serve` on a
// SQLite file and `dualstack-agent push|run` replaying captured /proc trees, all on 127.0.0.1.
// The collector is stopped gracefully, restarted, and SIGKILLed in the middle of a burst of
// ingests; every report must arrive exactly once, and every acknowledged one must survive.
// Needs `npx turbo run build` first. Every process is killed by pid in t.after.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Pool } from 'undici';
import {
  AGENT_CLI,
  Collector,
  FIXTURES,
  Harness,
  agentEvents,
  createToken,
  goldenNames,
  linesOf,
  lossLines,
  openReadonly,
  procRootOf,
  readApi,
  realisticReport,
  spooledIds,
  until,
  type Finished,
  type Fixture,
} from './harness.js';
import { collectorPosts } from './collector-log.js';

interface HistoryPoint {
  reportId: string;
  collectedAt: string;
}

interface HostDetail {
  host: { hostId: string };
  history: HistoryPoint[];
  latestReport: { reportId: string };
}

/** Rows of the reports table, per host, as the file holds them (read-only). */
function storedRows(dbFile: string, hostIds: string[]) {
  const db = openReadonly(dbFile);
  try {
    const integrity = db.pragma('integrity_check', { simple: true });
    const foreignKeys = db.pragma('foreign_key_check') as unknown[];
    const perHost = new Map<string, { count: number; distinct: number; ids: string[]; applied: number }>();
    const byHost = db.prepare<[string], { report_id: string; applied: number }>('SELECT report_id, applied FROM reports WHERE host_id = ? ORDER BY collected_at');
    const counts = db.prepare<[string], { n: number; d: number }>('SELECT count(*) AS n, count(DISTINCT report_id) AS d FROM reports WHERE host_id = ?');
    for (const hostId of hostIds) {
      const rows = byHost.all(hostId);
      const c = counts.get(hostId)!;
      perHost.set(hostId, { count: c.n, distinct: c.d, ids: rows.map((r) => r.report_id), applied: rows.filter((r) => r.applied === 1).length });
    }
    const total = db.prepare<[], { n: number; d: number }>('SELECT count(*) AS n, count(DISTINCT report_id) AS d FROM reports').get()!;
    return { integrity, foreignKeys, perHost, total };
  } finally {
    db.close();
  }
}

// --- Scenario A ----------------------------------------------------------------------------

interface AgentSetup {
  fixture: Fixture;
  hostId: string;
  tokenFile: string;
  spool: string;
  /** Report ids this agent generated, in order (one per push). */
  generated: string[];
  /** Every push's event sentences. */
  log: string[][];
}

// A, B and C run at once: each has its own harness directory, database and collector; one
// after the other they took ~57 s of the suite.
describe('delivery end to end', { concurrency: true }, () => {
  test('A: 4 agents, collector stopped (SIGTERM) while they push, then restarted: every report stored exactly once, spools flushed oldest first', async (t) => {
    const t0 = Date.now();
    const h = Harness.create(t, 'restart');
    const db = join(h.dir, 'collector.db');
    // The first token creates (and migrates) the file; the others run at once.
    const reader = await createToken(h, db, 'reader', 'reader');
    const tokens = await Promise.all(FIXTURES.map((fixture) => createToken(h, db, `agent-${fixture}`, 'agent')));
    const agents: AgentSetup[] = FIXTURES.map((fixture, i) => ({
      fixture,
      hostId: `e2e-a-${fixture}-${randomUUID().slice(0, 8)}`,
      tokenFile: tokens[i]!.file,
      spool: join(h.dir, `spool-${fixture}`),
      generated: [],
      log: [],
    }));
    const tSetup = Date.now();
    const collector = await Collector.start(h, db);

    const push = (a: AgentSetup) =>
      h.run(`push ${a.fixture}`, AGENT_CLI, ['push', '--collector', collector.url, '--token-file', a.tokenFile, '--spool', a.spool, '--proc-root', procRootOf(a.fixture), '--host-id', a.hostId, '--timeout', '5s']);
    const context = (a: AgentSetup, run: Finished) => `agent ${a.fixture} (${a.hostId}) exit ${run.code}/${run.signal}:\n${run.stderr}${run.stdout}\n${collector.describe(8)}`;
    /** All agents push at once; each run's event sentences are checked by `check`. */
    const roundMs: number[] = [];
    const round = async (check: (a: AgentSetup, run: Finished, events: ReturnType<typeof agentEvents>) => void) => {
      const tRound = Date.now();
      const runs = await Promise.all(agents.map(push));
      roundMs.push(Date.now() - tRound);
      runs.forEach((run, i) => {
        const a = agents[i]!;
        const lines = linesOf(run);
        a.log.push(lines);
        assert.equal(run.signal, null, context(a, run));
        assert.equal(run.code, 0, context(a, run));
        assert.deepEqual(lossLines(lines), [], context(a, run));
        check(a, run, agentEvents(lines));
      });
    };

    // 1. Collector up: two pushes each, delivered and stored at once.
    for (let n = 0; n < 2; n += 1) {
      await round((a, run, events) => {
        assert.deepEqual(events.map((e) => [e.kind, e.status, e.duplicate]), [['delivered', 202, false]], context(a, run));
        a.generated.push(events[0]!.reportId);
        assert.deepEqual(spooledIds(a.spool), [], context(a, run));
      });
    }

    // 2. Graceful stop: SIGTERM, exit 0.
    const stopped = await collector.stop();
    assert.deepEqual(stopped, { code: 0, signal: null }, collector.describe());
    assert.match(collector.proc.stdout, /"signal":"SIGTERM".*shutting down/);

    // 3. Collector down: three pushes each, spooled (exit 0), the spool grows by one each time.
    for (let n = 1; n <= 3; n += 1) {
      await round((a, run, events) => {
        assert.deepEqual(events.map((e) => [e.kind, e.status]), [['spooled', null]], context(a, run));
        assert.match(events[0]!.line, /collector unavailable: .*ECONNREFUSED/, context(a, run));
        assert.match(events[0]!.line, new RegExp(`; ${n} reports? waiting in `), context(a, run));
        a.generated.push(events[0]!.reportId);
        assert.deepEqual(spooledIds(a.spool), a.generated.slice(2), `spool of ${a.fixture} holds the reports spooled so far, oldest first`);
      });
    }

    // 4. Restart on the same db and port; one more push each sends the 3 spooled reports, oldest
    // first, then the new one.
    await collector.startHere();
    await round((a, run, events) => {
      const spooled = a.generated.slice(2);
      assert.deepEqual(
        events.map((e) => [e.kind, e.reportId, e.status, e.duplicate]),
        [...spooled.map((id) => ['delivered-spooled', id, 202, false]), ['delivered', events.at(-1)?.reportId, 202, false]],
        context(a, run),
      );
      a.generated.push(events.at(-1)!.reportId);
      assert.deepEqual(spooledIds(a.spool), [], `the spool of ${a.fixture} is empty`);
    });

    // 5. Every generated id is unique, and each agent saw each of its ids stored (202) exactly once.
    const all = agents.flatMap((a) => a.generated);
    assert.equal(all.length, agents.length * 6);
    assert.equal(new Set(all).size, all.length, 'every push generated a new report id');
    for (const a of agents) {
      const stored = a.log.flatMap((lines) => agentEvents(lines)).filter((e) => e.kind !== 'spooled' && e.status === 202).map((e) => e.reportId);
      assert.deepEqual([...stored].sort(), [...a.generated].sort(), `${a.fixture}: each report acknowledged as stored exactly once`);
    }

    // 6. The reader API: each host's history (newest first) is exactly its 6 reports.
    for (const a of agents) {
      const { status, body } = await readApi<HostDetail>(collector.url, `/api/v1/hosts/${encodeURIComponent(a.hostId)}`, reader.token);
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.host.hostId, a.hostId);
      assert.deepEqual(body.history.map((p) => p.reportId), [...a.generated].reverse(), `${a.fixture}: history newest first`);
      assert.equal(body.latestReport.reportId, a.generated.at(-1));
    }

    // 7. The file itself, read-only, after a graceful stop.
    assert.deepEqual(await collector.stop(), { code: 0, signal: null }, collector.describe());
    const rows = storedRows(db, agents.map((a) => a.hostId));
    assert.equal(rows.integrity, 'ok');
    assert.deepEqual(rows.foreignKeys, []);
    for (const a of agents) {
      const r = rows.perHost.get(a.hostId)!;
      assert.equal(r.count, 6, `${a.fixture}: 6 rows`);
      assert.equal(r.distinct, 6, `${a.fixture}: 6 distinct report ids`);
      assert.deepEqual(r.ids, a.generated, `${a.fixture}: the rows are the generated reports`);
      assert.equal(r.applied, 6, `${a.fixture}: every report, sent in order, became the host's current state`);
    }
    assert.deepEqual(rows.total, { n: all.length, d: all.length }, 'no other rows');
    t.diagnostic(`A: ${agents.length} agents x 6 pushes = ${all.length} reports generated, ${all.length} stored (${agents.length * 3} through the spool); setup ${tSetup - t0} ms, rounds of pushes ${roundMs.join('/')} ms, total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  // --- Scenario B ----------------------------------------------------------------------------

  const N = 2000;
  const CONNECTIONS = 32;
  const KILL_AFTER_ACKS = 500;
  const BURST_HOSTS = 100;

  interface Outcome {
    status: number | null;
    ack: { reportId?: string; duplicate?: boolean; receivedAt?: string } | null;
    error: string | null;
    text: string;
  }

  function errorCode(error: unknown): string {
    let e: any = error;
    for (let i = 0; e && i < 5; i += 1) {
      if (typeof e.code === 'string') return e.code;
      e = e.cause ?? e.errors?.[0];
    }
    return String((error as Error)?.message ?? error);
  }

  async function burst(pool: Pool, token: string, bodies: string[], onOutcome: (i: number, o: Outcome) => void = () => undefined): Promise<Outcome[]> {
    const outcomes: Outcome[] = new Array(bodies.length);
    let next = 0;
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= bodies.length) return;
        let outcome: Outcome;
        try {
          const res = await pool.request({
            path: '/api/v1/reports',
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: bodies[i]!,
          });
          const text = await res.body.text();
          let ack: Outcome['ack'] = null;
          try {
            ack = JSON.parse(text);
          } catch {
            // not JSON: kept as text
          }
          outcome = { status: res.statusCode, ack, error: null, text: text.slice(0, 300) };
        } catch (error) {
          outcome = { status: null, ack: null, error: errorCode(error), text: '' };
        }
        outcomes[i] = outcome;
        onOutcome(i, outcome);
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, worker));
    return outcomes;
  }

  const newPool = (t: TestContext, url: string) => {
    const pool = new Pool(url, { connections: CONNECTIONS, pipelining: 1, headersTimeout: 20_000, bodyTimeout: 20_000, connect: { timeout: 3000 } });
    t.after(() => pool.destroy());
    return pool;
  };

  test(`B: SIGKILL of the collector during a burst of ${N} ingests: the file passes integrity_check and keeps every acknowledged report; a full resend stores each once`, async (t) => {
    const t0 = Date.now();
    const h = Harness.create(t, 'crash');
    const db = join(h.dir, 'collector.db');
    // One token posts as 100 hosts: an admin token (an agent token is bound to the first host it reports).
    const agent = await createToken(h, db, 'burst-agent', 'admin');
    const collector = await Collector.start(h, db);

    // Realistic reports: every golden replay, 100 hosts, each host's reports 100 s apart and its
    // replay changing between them (services and findings rewritten, not only history).
    const goldens = goldenNames();
    const start = Date.now() - 6 * 3600_000;
    const reports = Array.from({ length: N }, (_, i) =>
      realisticReport(goldens[(i + Math.floor(i / BURST_HOSTS)) % goldens.length]!, `e2e-burst-${String(i % BURST_HOSTS).padStart(3, '0')}`, new Date(start + i * 1000)),
    );
    const ids = reports.map((r) => r.reportId);
    const bodies = reports.map((r) => JSON.stringify(r));

    // 1. The burst; SIGKILL by pid once 500 acks came back.
    const acked = new Map<string, NonNullable<Outcome['ack']>>();
    const badAnswers: string[] = [];
    let killedAt: number | null = null;
    let acksAtKill = 0;
    const pool1 = newPool(t, collector.url);
    const tBurst = Date.now();
    const first = await burst(pool1, agent.token, bodies, (i, o) => {
      if (o.status === null) return;
      if (o.status !== 202 && o.status !== 200) {
        badAnswers.push(`#${i} ${o.status} ${o.text}`);
        return;
      }
      if (o.ack?.reportId !== ids[i] || o.status !== 202 || o.ack?.duplicate !== false) badAnswers.push(`#${i} ${o.status} ${o.text}`);
      acked.set(ids[i]!, o.ack!);
      if (killedAt === null && acked.size >= KILL_AFTER_ACKS) {
        killedAt = Date.now();
        acksAtKill = acked.size;
        collector.proc.signal('SIGKILL');
      }
    });
    const burstMs = Date.now() - tBurst;
    const killed = await collector.proc.waitExit(5000, 'die of SIGKILL');
    assert.ok(killedAt !== null, `the burst never reached ${KILL_AFTER_ACKS} acks: ${acked.size}\n${collector.describe()}`);
    assert.deepEqual(killed, { code: null, signal: 'SIGKILL' });
    assert.deepEqual(badAnswers.slice(0, 10), [], 'every answer before the kill was a 202 ack of the report sent');
    const failed = first.filter((o) => o.status === null);
    const failCodes = [...new Set(failed.map((o) => o.error))];
    assert.equal(acked.size + failed.length, N, 'every request was either acknowledged or failed');
    assert.ok(failed.length > 0, 'requests after the kill failed');

    // 2. The file as the killed process left it (its WAL included), read-only.
    const afterCrash = openReadonly(db);
    let storedAfterCrash: Set<string>;
    try {
      assert.equal(afterCrash.pragma('integrity_check', { simple: true }), 'ok');
      assert.deepEqual(afterCrash.pragma('foreign_key_check'), []);
      storedAfterCrash = new Set(afterCrash.prepare('SELECT report_id FROM reports').pluck().all() as string[]);
    } finally {
      afterCrash.close();
    }
    const lost = [...acked.keys()].filter((id) => !storedAfterCrash.has(id));
    assert.deepEqual(lost, [], `${lost.length} acknowledged reports are missing after the SIGKILL`);
    const strangers = [...storedAfterCrash].filter((id) => !ids.includes(id));
    assert.deepEqual(strangers, []);
    const storedUnacked = [...storedAfterCrash].filter((id) => !acked.has(id)).length;

    // 3. Restart on the same file and port; resend everything. Stored before the kill -> 200
    // duplicate with the original ack; never stored -> 202.
    await collector.startHere();
    const pool2 = newPool(t, collector.url);
    const tResend = Date.now();
    const second = await burst(pool2, agent.token, bodies);
    const resendMs = Date.now() - tResend;
    const wrong: string[] = [];
    second.forEach((o, i) => {
      const id = ids[i]!;
      const expected = storedAfterCrash.has(id) ? 200 : 202;
      if (o.status !== expected || o.ack?.reportId !== id || o.ack?.duplicate !== (expected === 200)) {
        wrong.push(`#${i} ${id} expected ${expected}, got ${o.status ?? o.error} ${o.text}`);
        return;
      }
      const original = acked.get(id);
      if (original && original.receivedAt !== o.ack?.receivedAt) wrong.push(`#${i} ${id}: duplicate ack receivedAt ${o.ack?.receivedAt} != original ${original.receivedAt}`);
    });
    assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} wrong answers to the resend\n${collector.proc.describe(10)}`);

    // 4. Exactly N rows, each report once; each host's current state is its newest report.
    const check = openReadonly(db);
    try {
      assert.deepEqual(check.prepare('SELECT count(*) AS n, count(DISTINCT report_id) AS d FROM reports').get(), { n: N, d: N });
      assert.equal(check.prepare('SELECT count(*) FROM hosts').pluck().get(), BURST_HOSTS);
      const stale = check
        .prepare(
          `SELECT h.host_id, h.last_report_id, l.report_id AS latest,
                  (SELECT report_id FROM reports r WHERE r.host_id = h.host_id ORDER BY collected_at DESC LIMIT 1) AS newest
           FROM hosts h LEFT JOIN latest_reports l ON l.host_id = h.host_id
           WHERE h.last_report_id IS NOT newest OR l.report_id IS NOT newest`,
        )
        .all();
      assert.deepEqual(stale, [], 'hosts.last_report_id and latest_reports name each host\'s newest report');
    } finally {
      check.close();
    }
    assert.deepEqual(await collector.stop(), { code: 0, signal: null }, collector.describe());
    const final = openReadonly(db);
    try {
      assert.equal(final.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      final.close();
    }
    t.diagnostic(
      `B: ${N} reports over ${CONNECTIONS} connections; SIGKILL after ${acksAtKill} acks; acked ${acked.size}, failed ${failed.length} (${failCodes.join(', ')}); ` +
        `stored after the kill ${storedAfterCrash.size} (${storedUnacked} committed without an ack reaching the client); ` +
        `resend: ${second.filter((o) => o.status === 200).length} x 200 duplicate, ${second.filter((o) => o.status === 202).length} x 202; rows ${N}; ` +
        `burst ${burstMs} ms, resend ${resendMs} ms, total ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  });

  // --- Scenario C ----------------------------------------------------------------------------

  test('C: run --interval 1s against a collector that is down, then up: the spooled reports arrive once each; SIGTERM exits 0', async (t) => {
    const t0 = Date.now();
    const h = Harness.create(t, 'run');
    const db = join(h.dir, 'collector.db');
    const reader = await createToken(h, db, 'reader', 'reader');
    const { file: tokenFile } = await createToken(h, db, 'run-agent', 'agent');
    const collector = await Collector.planned(h, db);
    const spool = join(h.dir, 'spool');
    const hostId = `e2e-run-${randomUUID().slice(0, 8)}`;
    const agent = h.spawn('agent run', AGENT_CLI, [
      'run', '--interval', '1s', '--collector', collector.url, '--token-file', tokenFile, '--spool', spool,
      '--proc-root', procRootOf('no-ipv6-default'), '--host-id', hostId, '--timeout', '2s',
    ]);

    // 1. Down: the reports pile up in the spool.
    await until(() => spooledIds(spool).length >= 3, 10_000, 'three reports spooled while the collector is down', () => agent.describe());
    assert.ok(agent.running, agent.describe());
    const downEvents = agentEvents(linesOf(agent));
    assert.ok(downEvents.every((e) => e.kind === 'spooled'), agent.describe());

    // 2. Up: the spool drains and fresh reports go straight through.
    await collector.startHere();
    const spooledBeforeUp = new Set(agentEvents(linesOf(agent)).filter((e) => e.kind === 'spooled').map((e) => e.reportId));
    await until(
      () => spooledIds(spool).length === 0 && agentEvents(linesOf(agent)).filter((e) => e.kind === 'delivered').length >= 2,
      12_000,
      'the spool flushed and two fresh reports delivered',
      () => `${agent.describe(40)}\n${collector.describe(10)}`,
    );

    // 3. SIGTERM by pid: exit 0.
    agent.signal('SIGTERM');
    const exit = await agent.waitExit(5000, 'exit after SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, agent.describe(40));
    const lines = linesOf(agent);
    const log = lines.join('\n');
    assert.ok(lines.some((l) => l.startsWith('stopping (SIGTERM)')), log);
    assert.ok(lines.includes('stopped'), log);
    assert.deepEqual(lossLines(lines), [], log);

    // 4. What the agent says: every report it made was stored (202) at most once, and none twice.
    const events = agentEvents(lines);
    const generated = new Set(events.filter((e) => e.kind === 'spooled' || e.kind === 'delivered').map((e) => e.reportId));
    const stores = events.filter((e) => e.kind !== 'spooled' && e.status === 202).map((e) => e.reportId);
    const duplicates = events.filter((e) => e.kind !== 'spooled' && e.duplicate === true);
    assert.equal(new Set(stores).size, stores.length, `a report was stored twice:\n${log}`);
    assert.deepEqual(duplicates.map((e) => e.line), [], 'no report was sent again after it was acknowledged');
    for (const id of spooledBeforeUp) assert.ok(stores.includes(id), `spooled report ${id} was delivered after the collector came up\n${log}`);
    const leftInSpool = spooledIds(spool);

    // 5. The collector's view: API history and the file agree with the agent.
    const { status, body } = await readApi<HostDetail>(collector.url, `/api/v1/hosts/${encodeURIComponent(hostId)}`, reader.token);
    assert.equal(status, 200, JSON.stringify(body));
    const history = body.history.map((p) => p.reportId);
    assert.equal(new Set(history).size, history.length, 'history lists each report once');
    assert.deepEqual(await collector.stop(), { code: 0, signal: null }, collector.describe());
    const rows = storedRows(db, [hostId]);
    assert.equal(rows.integrity, 'ok');
    const r = rows.perHost.get(hostId)!;
    assert.equal(r.count, r.distinct);
    // report_id is the table's primary key, so the rows alone cannot show a report sent twice;
    // the collector's own request log can: every POST it got, with its answer. No report was
    // resent (no 200 duplicate) and each 202 is one of the rows.
    const posts = collectorPosts(collector);
    assert.deepEqual(posts.filter((p) => p.status === 200), [], `a report reached the collector twice\n${collector.describe(40)}`);
    assert.equal(posts.filter((p) => p.status === 202).length, r.count, `one 202 per row\n${JSON.stringify(posts)}`);
    assert.deepEqual([...history].sort(), [...r.ids].sort(), 'API history = rows');
    for (const id of stores) assert.ok(r.ids.includes(id), `report ${id} was acknowledged as stored but has no row`);
    // A row without a 202 in the log can only be the push SIGTERM abandoned (committed, ack
    // never read): it stays spooled and its resend will be a harmless duplicate.
    const unlogged = r.ids.filter((id) => !stores.includes(id));
    assert.ok(unlogged.every((id) => leftInSpool.includes(id)), `rows not acknowledged to the agent: ${unlogged.join(', ')}\n${log}`);
    for (const id of generated) assert.ok(r.ids.includes(id) || leftInSpool.includes(id), `report ${id} is neither stored nor spooled`);
    assert.deepEqual(rows.total, { n: r.count, d: r.count });
    t.diagnostic(
      `C: ${generated.size} reports generated (${spooledBeforeUp.size} spooled while down), ${r.count} stored, ${leftInSpool.length} left in the spool at SIGTERM; ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  });
});
