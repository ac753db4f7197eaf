// Scale-out on PostgreSQL with real processes only (issue 18, "Prove it"): the built
// `dualstack-collector serve --db postgres://…` and `dualstack-agent run` replaying captured
// /proc trees, one throw-away PostgreSQL cluster for the file (test/helpers/postgres.ts), a
// webhook receiver on 127.0.0.1 recording every notification. Needs `npx turbo run build`.
//
// 1. Two collectors on one database behind a round-robin TCP balancer, four agents pushing
//    through it: SIGKILL the collector evaluating alerts mid-burst. Every acknowledged report
//    is stored once, the spools drain to the survivor, the survivor evaluates from its next
//    tick, and each notification id reaches the receiver exactly once.
// 2. PostgreSQL stopped for real under load (pg_ctl stop -m fast, later pg_ctl start on the same
//    data dir): ingest, reads and /healthz answer 503 (+ Retry-After), the agents spool, and the
//    same collector process recovers by itself; nothing acknowledged is lost.
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import type { WebhookBody } from '../../packages/collector/src/alerts/api.js';
import { PostgresStore } from '../../packages/collector/src/db/postgres/store.js';
import { generateToken, hashToken } from '../../packages/collector/src/tokens.js';
import { startReceiver } from '../../packages/collector/test/helpers/alerts.js';
import { collectorPosts } from '../e2e/collector-log.js';
import {
  AGENT_CLI,
  Collector,
  FIXTURES,
  Harness,
  agentEvents,
  linesOf,
  lossLines,
  procRootOf,
  readApi,
  realisticReport,
  spooledIds,
  until,
  type AgentEvent,
  type Fixture,
  type Proc,
} from '../e2e/harness.js';
import { skipUnlessPostgres, startPostgresCluster, type PostgresCluster } from '../helpers/postgres.js';

/**
 * A layer-4 load balancer on 127.0.0.1:0: each new connection goes to the next upstream in
 * turn. An upstream that refuses `maxFails` connections in a row is taken out (a passive health
 * check, as nginx's max_fails); the connection it refused is closed, so its client sees the
 * collector unavailable, as through a real balancer before its check trips.
 */
class RoundRobin {
  private turn = 0;
  private readonly fails: number[];
  private readonly sockets = new Set<Socket>();
  /** Connections relayed to each upstream. */
  readonly relayed: number[];

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly upstreams: number[],
    private readonly maxFails: number,
  ) {
    this.fails = upstreams.map(() => 0);
    this.relayed = upstreams.map(() => 0);
  }

  static async start(upstreams: number[], maxFails = 3): Promise<RoundRobin> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const lb = new RoundRobin(server, `http://127.0.0.1:${(server.address() as { port: number }).port}`, upstreams, maxFails);
    server.on('connection', (client) => lb.relay(client));
    return lb;
  }

  /** Whether upstream i is still in the rotation. */
  live(i: number): boolean {
    return this.fails[i]! < this.maxFails;
  }

  private relay(client: Socket): void {
    this.sockets.add(client);
    client.on('error', () => undefined);
    client.on('close', () => this.sockets.delete(client));
    client.pause();
    let i = this.turn++ % this.upstreams.length;
    for (let n = 0; n < this.upstreams.length && !this.live(i); n++) i = (i + 1) % this.upstreams.length;
    const upstream = connect(this.upstreams[i]!, '127.0.0.1');
    this.sockets.add(upstream);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') this.fails[i]! += 1;
    });
    upstream.once('connect', () => {
      this.fails[i] = 0;
      this.relayed[i]! += 1;
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Migrates the database and creates tokens in it, in this process (as `token create` does:
 * on a loaded machine six CLI processes took over 30 s); each written to a 0600 file.
 */
type Role = 'agent' | 'reader' | 'admin';
async function createTokens(h: Harness, url: string, tokens: Record<string, Role>): Promise<(name: string) => { token: string; file: string }> {
  const store = await PostgresStore.open(url, { staleAfterSeconds: 900 });
  try {
    const made = new Map<string, { token: string; file: string }>();
    for (const [name, role] of Object.entries(tokens)) {
      const token = generateToken();
      await store.createToken({ name, role, hash: hashToken(token) });
      const file = join(h.dir, `${name}.token`);
      writeFileSync(file, `${token}\n`, { mode: 0o600 });
      chmodSync(file, 0o600);
      made.set(name, { token, file });
    }
    return (name) => made.get(name)!;
  } finally {
    await store.close();
  }
}

/** One `dualstack-agent run` (every second, no jitter) with its own spool, host id and token. */
interface Agent {
  fixture: Fixture;
  hostId: string;
  spool: string;
  proc: Proc;
}

function startAgents(h: Harness, collectorUrl: string, tokenFiles: string[], fixtures: readonly Fixture[], prefix: string): Agent[] {
  return fixtures.map((fixture, i) => {
    const hostId = `${prefix}-${fixture}`;
    const spool = join(h.dir, `spool-${fixture}`);
    const args = ['run', '--interval', '1s', '--jitter', '0s', '--collector', collectorUrl, '--token-file', tokenFiles[i]!, '--spool', spool, '--proc-root', procRootOf(fixture), '--host-id', hostId, '--timeout', '3s'];
    return { fixture, hostId, spool, proc: h.spawn(`agent ${fixture}`, AGENT_CLI, args) };
  });
}

const eventsOf = (agent: Agent): AgentEvent[] => agentEvents(linesOf(agent.proc));
/** Acknowledged by a collector: delivered (202 stored, or 200 already stored). */
const acked = (events: AgentEvent[]) => events.filter((e) => e.kind !== 'spooled' && e.status !== null);

/** Stops the agents (SIGTERM by pid, exit 0) and checks their reports against the database's rows. */
async function stopAndReconcile(agents: Agent[], rowsOf: () => Promise<Map<string, string>>): Promise<{ acked: number; rows: number; leftInSpools: number }> {
  for (const agent of agents) agent.proc.signal('SIGTERM');
  for (const agent of agents) assert.deepEqual(await agent.proc.waitExit(10_000, 'exit after SIGTERM'), { code: 0, signal: null }, agent.proc.describe(40));
  const rows = await rowsOf();
  let ackedCount = 0;
  let left = 0;
  for (const agent of agents) {
    const lines = linesOf(agent.proc);
    const log = agent.proc.describe(60);
    assert.deepEqual(lossLines(lines), [], log);
    const events = agentEvents(lines);
    const stored = acked(events).filter((e) => e.status === 202).map((e) => e.reportId);
    assert.equal(new Set(stored).size, stored.length, `a report was acknowledged as stored (202) twice:\n${log}`);
    const ackedIds = new Set(acked(events).map((e) => e.reportId));
    ackedCount += ackedIds.size;
    // report_id is the primary key: present means present once.
    for (const id of ackedIds) assert.equal(rows.get(id), agent.hostId, `report ${id} was acknowledged to ${agent.fixture} but is not stored\n${log}`);
    // Everything the agent made is stored or still waits in its spool (the push SIGTERM abandoned).
    const spooled = new Set(spooledIds(agent.spool));
    left += spooled.size;
    for (const e of events) assert.ok(rows.has(e.reportId) || spooled.has(e.reportId), `report ${e.reportId} of ${agent.fixture} is neither stored nor spooled\n${log}`);
    const ofHost = [...rows].filter(([, host]) => host === agent.hostId).map(([id]) => id);
    for (const id of ofHost) assert.ok(events.some((e) => e.reportId === id), `row ${id} was never made by ${agent.fixture}`);
  }
  return { acked: ackedCount, rows: rows.size, leftInSpools: left };
}

/** `serve` on a free port; a minute to become healthy (Collector.start's 15 s is short on a loaded 2-core machine). */
async function startCollector(h: Harness, db: string, args: string[] = []): Promise<Collector> {
  const collector = await Collector.planned(h, db, args);
  await collector.startHere(60_000);
  return collector;
}

/** Rethrows with the processes' output appended. */
async function explained<T>(run: () => Promise<T>, context: () => string): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${context()}`, { cause: error });
  }
}

async function metricsOf(url: string, token: string): Promise<string> {
  const res = await request(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.statusCode, 200);
  return res.body.text();
}
const metricValue = (text: string, series: RegExp): number => Number(series.exec(text)?.[1] ?? 'NaN');
const LEADER = /^dualstack_alert_leader (\d+)$/m;
const MISSED_TICKS = /^dualstack_schedule_skipped_ticks_total\{job="alerts",reason="missed"\} (\d+)$/m;

async function post(url: string, token: string, body: unknown): Promise<{ status: number; retryAfter: string | undefined; text: string }> {
  const res = await request(`${url}/api/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const retryAfter = res.headers['retry-after'];
  return { status: res.statusCode, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, text: await res.body.text() };
}

describe('collectors on one PostgreSQL, real processes', { skip: skipUnlessPostgres() }, () => {
  let cluster: PostgresCluster;
  before(async () => {
    cluster = await startPostgresCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  test('two collectors, four agents through a round-robin balancer; SIGKILL of the alert leader mid-burst: acknowledged reports stored once, spools drain to the survivor, it evaluates from its next tick, each notification delivered once', async (t) => {
    const t0 = Date.now();
    const h = Harness.create(t, 'pg-multi');
    const db = await cluster.createDatabase();
    const dbName = new URL(db).pathname.slice(1);
    const sql = async <R extends Record<string, unknown>>(text: string, params: unknown[] = []) => (await cluster.query<R>(text, params, dbName)).rows;
    const tokens = await createTokens(h, db, { reader: 'reader', admin: 'admin', ...Object.fromEntries(FIXTURES.map((f) => [f, 'agent'])) });
    const [reader, admin] = [tokens('reader'), tokens('admin')];

    // The receiver holds each answer 1.5 s at first: both collectors tick (and kick their
    // delivery) while one of them is sending, so an entry not locked by its sender is sent twice.
    const hook = await startReceiver(t);
    let holdMs = 1500;
    hook.respond = (_request, response) => void setTimeout(() => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'), holdMs);
    const config = join(h.dir, 'collector.json');
    writeFileSync(
      config,
      JSON.stringify({
        alerts: {
          schedule: '* * * * * *',
          rules: [{ name: 'finding', groupWait: '1s', groupInterval: '1s' }],
          receivers: [{ name: 'hook', type: 'webhook', url: `${hook.url}/hook`, timeoutMs: 30_000, retry: { initialMs: 200, maxMs: 500 } }],
        },
      }),
    );
    const collectors = await Promise.all([startCollector(h, db, ['--config', config]), startCollector(h, db, ['--config', config])]);
    const lb = await RoundRobin.start(collectors.map((c) => c.port));
    t.after(() => lb.close());
    const agents = startAgents(h, lb.url, FIXTURES.map((f) => tokens(f).file), FIXTURES, 'pg-multi');
    const context = () => `${collectors.map((c) => c.describe(6)).join('\n')}\n${agents.map((a) => a.proc.describe(6)).join('\n')}`;
    const outbox = () => sql<{ notification_id: string; status: string }>('SELECT notification_id, status FROM alert_outbox ORDER BY id');

    // 1. Both collectors store reports; the agents' critical findings fire one notification,
    //    delivered (slowly) while both collectors run.
    await until(
      // Every entry delivered, none in flight: the receiver going down next must not cut a send.
      async () => collectors.every((c) => collectorPosts(c).filter((p) => p.status === 202).length >= 2) && (await outbox()).length > 0 && (await outbox()).every((o) => o.status === 'delivered'),
      60_000,
      'both collectors storing reports and the first notification delivered',
      context,
    );
    const leaders = await Promise.all(collectors.map(async (c) => metricValue(await metricsOf(c.url, reader.token), LEADER)));
    assert.deepEqual([...leaders].sort(), [0, 1], `one leader: ${leaders}`);
    const [leader, survivor] = leaders[0] === 1 ? [collectors[0]!, collectors[1]!] : [collectors[1]!, collectors[0]!];

    // 2. The receiver goes down and a new host's critical finding fires: its notification waits
    //    in the outbox, retried (nothing reaches the receiver).
    await hook.down();
    holdMs = 0;
    const late1 = realisticReport('no-ipv6-default', 'pg-multi-late-1', new Date());
    assert.equal((await post(leader.url, admin.token, late1)).status, 202);
    await until(async () => (await sql("SELECT 1 FROM alert_outbox WHERE status = 'pending' AND attempts > 0")).length > 0, 60_000, 'a notification retried', context);
    const pendingAtKill = (await outbox()).filter((o) => o.status === 'pending').map((o) => o.notification_id);
    assert.equal(pendingAtKill.length, 1, 'one notification waits for the receiver');

    // 3. SIGKILL the leader by pid, the agents still pushing.
    const missedBefore = metricValue(await metricsOf(survivor.url, reader.token), MISSED_TICKS);
    const eventsAtKill = agents.map((a) => eventsOf(a).length);
    const killedAt = Date.now();
    leader.proc.signal('SIGKILL');
    assert.deepEqual(await leader.proc.waitExit(5000, 'die of SIGKILL'), { code: null, signal: 'SIGKILL' });
    await hook.up();

    // The survivor evaluates from its next tick: its first recorded evaluation after the kill
    // comes at most one tick late (one tick may see the dead holder's session not yet ended),
    // not counting ticks node-cron itself missed.
    await until(async () => metricValue(await metricsOf(survivor.url, reader.token), LEADER) === 1, 60_000, 'the survivor taking the lease', context);
    assert.match(survivor.proc.stdout, /this collector evaluates alerts now \(leader lease taken\)/);
    // (The gauge is set at the tick, before that tick's evaluation is recorded.)
    const firstEvaluation = async () => (await sql<{ started_at: string }>('SELECT started_at FROM alert_evaluations WHERE started_at > $1 ORDER BY started_at LIMIT 1', [new Date(killedAt).toISOString()]))[0];
    await until(async () => (await firstEvaluation()) !== undefined, 60_000, 'the survivor recording an evaluation', context);
    const firstAfter = (await firstEvaluation())!;
    const missed = metricValue(await metricsOf(survivor.url, reader.token), MISSED_TICKS) - missedBefore;
    const ticksWithout = Math.floor(Date.parse(firstAfter.started_at) / 1000) - Math.ceil(killedAt / 1000) - missed;
    assert.ok(ticksWithout <= 1, `${ticksWithout} ticks of the survivor after the kill evaluated nothing (first evaluation ${firstAfter.started_at}, kill ${new Date(killedAt).toISOString()}, ${missed} missed)`);

    // 4. The survivor sends what the dead leader left, and notifies a finding it evaluates itself.
    const late2 = realisticReport('no-ipv6-default', 'pg-multi-late-2', new Date());
    assert.equal((await post(survivor.url, admin.token, late2)).status, 202);
    const hostsIn = (body: WebhookBody) => body.alerts.map((a) => a.labels.host);
    await until(
      async () => (await outbox()).every((o) => o.status === 'delivered') && hook.received.some((r) => hostsIn(r.body as WebhookBody).includes('pg-multi-late-2')),
      60_000,
      'the outbox drained by the survivor',
      context,
    );

    // 5. The agents' spools drain to the survivor: the balancer took the dead collector out after
    //    it refused connections (those deliveries were spooled), and every agent delivered twice since.
    const sinceKill = (a: Agent) => eventsOf(a).slice(eventsAtKill[agents.indexOf(a)]);
    await until(() => agents.every((a) => acked(sinceKill(a)).length >= 2 && spooledIds(a.spool).length === 0), 60_000, 'every agent delivering to the survivor, its spool empty', context);
    assert.equal(lb.live(collectors.indexOf(leader)), false, 'the balancer took the killed collector out');
    const spooledAfterKill = agents.flatMap((a) => sinceKill(a).filter((e) => e.kind === 'spooled').map((e) => ({ a, e })));
    assert.ok(spooledAfterKill.length > 0, 'deliveries failed with the collector killed');
    for (const { a, e } of spooledAfterKill) assert.ok(acked(sinceKill(a)).some((x) => x.reportId === e.reportId), `spooled report ${e.reportId} was delivered from the spool\n${a.proc.describe(30)}`);

    // 6. Every acknowledged report stored once (both collectors stored some).
    const byCollector = collectors.map((c) => collectorPosts(c).filter((p) => p.status === 202).length);
    assert.ok(byCollector.every((n) => n > 0), `both collectors stored reports: ${byCollector}`);
    const reports = await stopAndReconcile(agents, async () => new Map((await sql<{ report_id: string; host_id: string }>('SELECT report_id, host_id FROM reports')).map((r) => [r.report_id, r.host_id])));

    // 7. Notifications: the expected ones come from the database (the outbox, and the alert
    //    states it was written with); the receiver saw each id exactly once.
    const entries = await outbox();
    assert.deepEqual(entries.filter((o) => o.status !== 'delivered'), [], 'the outbox is drained');
    const bodies = hook.received.map((r) => r.body as WebhookBody);
    assert.deepEqual(bodies.map((b) => b.notificationId).sort(), [...new Set(entries.map((o) => o.notification_id))].sort(), 'each notification id received once, none missing');
    assert.ok(bodies.some((b) => b.notificationId === pendingAtKill[0]), 'the notification pending at the kill was delivered');
    // Each alert was told as often as its state says: firing once (and resolved once if it resolved).
    const states = await sql<{ fingerprint: string; status: string; notified_status: string | null }>('SELECT fingerprint, status, notified_status FROM alert_states ORDER BY fingerprint');
    const expected = Object.fromEntries(states.filter((s) => s.notified_status !== null).map((s) => [s.fingerprint, s.notified_status === 'resolved' ? ['firing', 'resolved'] : ['firing']]));
    const told: Record<string, string[]> = {};
    for (const body of bodies) for (const alert of body.alerts) (told[alert.fingerprint] ??= []).push(alert.status);
    assert.deepEqual(told, expected, 'each alert told once per status');
    assert.ok(Object.keys(expected).length >= 3, `the agents' and both late hosts' findings: ${JSON.stringify(states)}`);
    const evaluations = await sql<{ n: string }>('SELECT count(*) AS n FROM alert_evaluations');

    t.diagnostic(
      `reports: ${reports.acked} acknowledged, ${reports.rows} rows (${byCollector.join(' + ')} stored by each collector), ${spooledAfterKill.length} spooled at the kill and delivered to the survivor, ${reports.leftInSpools} left at SIGTERM; ` +
        `notifications: ${entries.length} (${bodies.length} received), ${evaluations[0]!.n} evaluations, survivor's first ${Date.parse(firstAfter.started_at) - killedAt} ms after the kill; ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  });

  test('PostgreSQL stopped under load: ingest, reads and /healthz answer 503 with Retry-After, agents spool, the same collector recovers when PostgreSQL is back; nothing acknowledged is lost', async (t) => {
    const t0 = Date.now();
    const h = Harness.create(t, 'pg-down');
    const db = await cluster.createDatabase();
    const dbName = new URL(db).pathname.slice(1);
    const fixtures = ['dual-stack-services', 'no-ipv6-default'] as const;
    const tokens = await createTokens(h, db, { reader: 'reader', admin: 'admin', ...Object.fromEntries(fixtures.map((f) => [f, 'agent'])) });
    const [reader, admin] = [tokens('reader'), tokens('admin')];
    const collector = await startCollector(h, db);
    const agents = startAgents(h, collector.url, fixtures.map((f) => tokens(f).file), fixtures, 'pg-down');
    const context = () => `${collector.describe(80)}\n${agents.map((a) => a.proc.describe(8)).join('\n')}`;
    await until(() => agents.every((a) => acked(eventsOf(a)).length >= 2), 60_000, 'two deliveries per agent', context);

    // PostgreSQL stops for real (fast shutdown: sessions aborted), the agents still pushing.
    const eventsAtStop = agents.map((a) => eventsOf(a).length);
    await cluster.down();
    const ingest = await explained(() => post(collector.url, admin.token, realisticReport('bindv6only', 'pg-down-direct', new Date())), context);
    assert.equal(ingest.status, 503, ingest.text);
    assert.match(ingest.retryAfter ?? '', /^\d+$/, 'Retry-After in seconds');
    assert.match(JSON.parse(ingest.text).detail, /unavailable/);
    const read = await explained(() => readApi(collector.url, '/api/v1/hosts', reader.token), context);
    assert.equal(read.status, 503, JSON.stringify(read.body));
    const health = await explained(() => request(`${collector.url}/healthz`), context);
    assert.equal(health.statusCode, 503, await health.body.text());
    assert.ok(health.headers['retry-after'], '/healthz says when to ask again');
    await until(() => agents.every((a, i) => eventsOf(a).slice(eventsAtStop[i]).filter((e) => e.kind === 'spooled').length >= 2), 60_000, 'two reports spooled per agent', context);
    const spooledDown = agents.flatMap((a, i) => eventsOf(a).slice(eventsAtStop[i]).filter((e) => e.kind === 'spooled'));
    // A push in flight at the shutdown may have failed otherwise; the ones after it met the 503.
    for (const a of agents) assert.ok(spooledDown.some((e) => e.line.includes(a.spool) && /\b503\b/.test(e.line)), `${a.fixture} spooled on the collector's 503\n${a.proc.describe(20)}`);

    // PostgreSQL back on the same data dir and socket: the same process serves again.
    await cluster.up();
    await until(() => collector.healthy(), 60_000, '/healthz ok again', context);
    const sinceStop = (a: Agent) => eventsOf(a).slice(eventsAtStop[agents.indexOf(a)]);
    await until(
      () => agents.every((a) => spooledIds(a.spool).length === 0 && sinceStop(a).filter((e) => e.kind === 'spooled').every((e) => acked(sinceStop(a)).some((x) => x.reportId === e.reportId))),
      60_000,
      'the spools drained',
      context,
    );
    assert.equal((await post(collector.url, admin.token, realisticReport('bindv6only', 'pg-down-direct', new Date()))).status, 202);
    assert.equal((await readApi(collector.url, '/api/v1/hosts', reader.token)).status, 200);
    assert.deepEqual([collector.incarnations.length, collector.proc.running], [1, true], 'no restart');

    const reports = await stopAndReconcile(agents, async () => new Map((await cluster.query<{ report_id: string; host_id: string }>("SELECT report_id, host_id FROM reports WHERE host_id LIKE 'pg-down-%' AND host_id <> 'pg-down-direct'", [], dbName)).rows.map((r) => [r.report_id, r.host_id])));
    t.diagnostic(`${spooledDown.length} reports spooled while PostgreSQL was down; ${reports.acked} acknowledged, ${reports.rows} rows, ${reports.leftInSpools} left at SIGTERM; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
});
