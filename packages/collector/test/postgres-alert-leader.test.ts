// The alert leader lease on a real PostgreSQL (postgres/leader-lease.ts): several collectors on
// one database, exactly one evaluates alerts. Two AlertServices, each on its own pool as two
// collector processes would be, tick at the same time; the one holding the lease evaluates, the
// other stands by (dualstack_alert_leader says which). When the holder's session ends (its backend terminated, as when its process
// dies or its connection is cut) the other takes over at its next tick.
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { Registry } from 'prom-client';
import { resolveAlerts } from '../src/alerts/config.js';
import { registerAlertMetrics } from '../src/alerts/metrics.js';
import { AlertService, STANDBY } from '../src/alerts/service.js';
import { PostgresAlertStore } from '../src/db/postgres/alert-store.js';
import { ALERT_LEADER_LOCK } from '../src/db/postgres/leader-lease.js';
import { migratePostgres } from '../src/db/postgres/migrations.js';
import { createPool } from '../src/db/postgres/pool.js';
import { skipUnlessPostgres, startPostgresCluster, type PostgresCluster } from '../../../test/helpers/postgres.js';

const T0 = Date.parse('2030-03-01T12:00:00.000Z');
const M = 60_000;

describe('alert leader lease on PostgreSQL', { skip: skipUnlessPostgres() }, () => {
  let cluster: PostgresCluster;
  before(async () => {
    cluster = await startPostgresCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  /** A migrated database with one host whose last report is at T0 (stale 15 min later). */
  async function database(): Promise<{ url: string; name: string }> {
    const url = await cluster.createDatabase();
    const pool = createPool(url, { max: 1 });
    try {
      await migratePostgres(pool, url);
      const at = new Date(T0).toISOString();
      await pool.query(
        `INSERT INTO hosts (host_id, hostname, first_seen, last_seen, last_report_id, collected_at, services_exposed, services_dual,
           findings_critical, findings_warning, findings_info, conn_ipv4, conn_ipv6, conn_mapped, services_hash, service_modes,
           services_updated_at, findings_hash)
         VALUES ('h1', 'web-1', $1, $1, 'r1', $1, 0, 0, 0, 0, 0, 0, 0, 0, '', 0, $1, '')`,
        [at],
      );
    } finally {
      await pool.end();
    }
    return { url, name: new URL(url).pathname.slice(1) };
  }

  /** One collector's alerting: its own pool, AlertStore and AlertService (delivery not started). */
  function collector(t: TestContext, url: string) {
    const pool = createPool(url, { max: 4 });
    const store = new PostgresAlertStore(pool);
    const registry = new Registry();
    const service = new AlertService({
      store,
      hooks: registerAlertMetrics(registry, store, []),
      settings: resolveAlerts({ rules: [{ name: 'host-stale', interval: '5m', missedIntervals: 3 }], receivers: [{ name: 'ops', type: 'webhook', url: 'http://127.0.0.1:9/hook' }] }),
      clock: () => new Date(T0 + 20 * M),
    });
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await service.stop();
      await pool.end();
    };
    t.after(close);
    /** dualstack_alert_leader as /metrics shows it. */
    const leader = async () => (await registry.getSingleMetric('dualstack_alert_leader')!.get()).values[0]!.value;
    return { pool, store, service, close, leader };
  }

  /** The backend holding the leader lock, if any. */
  async function holderPid(db: string): Promise<number | null> {
    const rows = await cluster.query<{ pid: number }>(
      "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND l.objid = $1 AND l.granted AND d.datname = $2",
      [ALERT_LEADER_LOCK, db],
    );
    return rows.rows[0]?.pid ?? null;
  }

  test('two alert services tick together: one evaluates, one stands by; the holder\'s session ends and the other takes over at its next tick', async (t) => {
    const db = await database();
    const a = collector(t, db.url);
    const b = collector(t, db.url);
    const count = async (table: string) => Number((await cluster.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`, [], db.name)).rows[0]!.n);

    // Three ticks, both services at once (as two collectors on the same cron schedule).
    const leaders: string[] = [];
    for (let tick = 0; tick < 3; tick++) {
      const [ra, rb] = await Promise.all([a.service.evaluate(new Date(T0 + (20 + tick) * M)), b.service.evaluate(new Date(T0 + (20 + tick) * M))]);
      const evaluated = [ra, rb].filter((r) => r.error === null);
      assert.equal(evaluated.length, 1, `exactly one evaluates per tick, got ${JSON.stringify([ra.error, rb.error])}`);
      assert.equal([ra, rb].find((r) => r.error !== null)!.error, STANDBY);
      leaders.push(ra.error === null ? 'a' : 'b');
    }
    assert.equal(new Set(leaders).size, 1, `the lease stays with its holder: ${leaders}`);
    assert.deepEqual([await a.leader(), await b.leader()], leaders[0] === 'a' ? [1, 0] : [0, 1], 'dualstack_alert_leader');
    assert.equal(await count('alert_evaluations'), 3, 'one recorded evaluation per tick');
    assert.equal(await count('alert_outbox'), 1, 'host-stale fired once, notified once (two evaluators would each have written one)');

    // The holder's session ends (its process died, its connection was cut): the lock is gone with it.
    const [holder, other] = leaders[0] === 'a' ? [a, b] : [b, a];
    const pid = await holderPid(db.name);
    assert.ok(pid !== null, 'the lease is a granted advisory lock');
    assert.equal((await cluster.query<{ ok: boolean }>('SELECT pg_terminate_backend($1, 5000) AS ok', [pid])).rows[0]!.ok, true);
    const takeover = await other.service.evaluate(new Date(T0 + 23 * M));
    assert.equal(takeover.error, null, 'the other collector evaluates at its next tick');
    assert.equal((await holder.service.evaluate(new Date(T0 + 23 * M))).error, STANDBY, 'the old holder, its connection back, now stands by');
    assert.notEqual(await holderPid(db.name), pid);
    assert.deepEqual([await other.leader(), await holder.leader()], [1, 0], 'dualstack_alert_leader follows the lease');
    assert.equal(await count('alert_evaluations'), 4);
    assert.equal(await count('alert_outbox'), 1, 'the new leader read the states: no second notification');

    // A collector that stops gives the lease back: the other evaluates at once.
    await other.close();
    assert.equal((await holder.service.evaluate(new Date(T0 + 24 * M))).error, null);
    assert.equal(await count('alert_evaluations'), 5);
  });
});
