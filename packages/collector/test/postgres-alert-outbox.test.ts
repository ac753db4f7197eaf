// The alert outbox on a real PostgreSQL shared by two collectors (postgres/alert-store.ts):
// each has its own pool, AlertStore and delivery worker, and both drain one outbox into one
// webhook receiver on 127.0.0.1 that counts notification ids. Entries are claimed with
// FOR UPDATE SKIP LOCKED: no notification is sent by both, none is left behind, each
// receiver's lane stays in order; a collector that dies while sending (its session ended)
// leaves its entry to the other.
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { WebhookBody } from '../src/alerts/api.js';
import { resolveAlerts, type ReceiverInput } from '../src/alerts/config.js';
import { DeliveryWorker } from '../src/alerts/deliver.js';
import { testNotification } from '../src/alerts/notify.js';
import { PostgresAlertStore } from '../src/db/postgres/alert-store.js';
import { migratePostgres } from '../src/db/postgres/migrations.js';
import { createPool } from '../src/db/postgres/pool.js';
import { startReceiver, waitFor, type Receiver } from './helpers/alerts.js';
import { skipUnlessPostgres, startPostgresCluster, type PostgresCluster } from '../../../test/helpers/postgres.js';

describe('alert outbox shared by two collectors on PostgreSQL', { skip: skipUnlessPostgres() }, () => {
  let cluster: PostgresCluster;
  before(async () => {
    cluster = await startPostgresCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  async function database(): Promise<{ url: string; name: string }> {
    const url = await cluster.createDatabase();
    const pool = createPool(url, { max: 1 });
    try {
      await migratePostgres(pool, url);
    } finally {
      await pool.end();
    }
    return { url, name: new URL(url).pathname.slice(1) };
  }

  const hook = (name: string, r: Receiver): ReceiverInput => ({ name, type: 'webhook', url: `${r.url}/${name}`, timeoutMs: 5000, retry: { initialMs: 50, maxMs: 200 } });

  /** One collector's delivery: its own pool, AlertStore and worker (not started). */
  function collector(t: TestContext, url: string, receivers: ReceiverInput[]) {
    const pool = createPool(url, { max: 6 });
    const store = new PostgresAlertStore(pool);
    const sent = { delivered: 0 };
    const worker = new DeliveryWorker({
      store,
      settings: resolveAlerts({ rules: [], receivers }),
      clock: () => new Date(),
      hooks: { attempted: (_receiver, outcome) => void (outcome === 'delivered' && sent.delivered++) },
    });
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await worker.stop();
      await store.close();
      await pool.end();
    };
    t.after(close);
    return { pool, store, worker, close, sent };
  }

  /** Queues notifications as evaluations would: `count` ids, one entry per receiver each. */
  async function enqueue(store: PostgresAlertStore, prefix: string, count: number, receivers: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = `${prefix}-${i}`;
      ids.push(id);
      const now = new Date();
      await store.commitEvaluation({
        at: now.toISOString(),
        upserts: [],
        deletes: [],
        events: [],
        outbox: receivers.map((receiver) => ({ notificationId: id, receiver, rule: 'host-stale', notification: { ...testNotification(id, receiver, now), rule: 'host-stale', kind: 'host-stale' } })),
        groupsNotified: [],
        references: [],
      });
    }
    return ids;
  }

  const pendingOf = async (db: string) => Number((await cluster.query<{ n: string }>("SELECT count(*) AS n FROM alert_outbox WHERE status = 'pending'", [], db)).rows[0]!.n);
  const idsAt = (r: Receiver, path: string) => r.received.filter((x) => x.path === path).map((x) => (x.body as WebhookBody).notificationId);

  test('two workers race on one outbox: every notification delivered exactly once, in order per receiver', async (t) => {
    const db = await database();
    const r = await startReceiver(t);
    const receivers = [hook('ops', r), hook('audit', r)];
    const a = collector(t, db.url, receivers);
    const b = collector(t, db.url, receivers);
    const ids = await enqueue(a.store, 'n', 40, ['ops', 'audit']);
    // Every request received kicks both workers again, so both keep asking for the lanes'
    // next entry while the other holds one: the race a claim must win.
    r.respond = (_request, response) => {
      a.worker.kick();
      b.worker.kick();
      setImmediate(() => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    };
    await Promise.all([a.worker.start(), b.worker.start()]);
    await waitFor('the outbox drained', async () => (await pendingOf(db.name)) === 0, 30_000, 20);
    t.diagnostic(`delivered by A: ${a.sent.delivered}, by B: ${b.sent.delivered}`);
    assert.equal(a.sent.delivered + b.sent.delivered, 80);
    assert.deepEqual(idsAt(r, '/ops'), ids, 'ops: each id once, in order');
    assert.deepEqual(idsAt(r, '/audit'), ids, 'audit: each id once, in order');
    const attempts = await cluster.query<{ n: string; sent: string }>("SELECT count(*) AS n, count(DISTINCT (outbox_id)) AS sent FROM alert_delivery_attempts WHERE outcome = 'delivered'", [], db.name);
    assert.deepEqual(attempts.rows[0], { n: '80', sent: '80' }, 'one delivered attempt per entry');
    const byApp = await cluster.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM alert_outbox GROUP BY status', [], db.name);
    assert.deepEqual(byApp.rows, [{ status: 'delivered', n: '80' }]);
  });

  test('a collector dies while sending: the other sends its entry and the rest of the lane', async (t) => {
    const db = await database();
    const r = await startReceiver(t);
    const receivers = [hook('ops', r)];
    const a = collector(t, db.url, receivers);
    const ids = await enqueue(a.store, 'd', 5, ['ops']);
    // The receiver holds A's first request open: A is mid-send, its claim's transaction open.
    let hold = true;
    r.respond = (_request, response) => {
      if (hold) return; // never answered: A dies before it would be
      response.writeHead(200).end();
    };
    await a.worker.start();
    await waitFor('A sending the first entry', () => r.received.length === 1);
    const b = collector(t, db.url, receivers);
    await b.worker.start();
    assert.equal(await pendingOf(db.name), 5, 'B skips the entry A holds: nothing sent twice, the lane stays in order');
    assert.equal(r.received.length, 1);

    // A dies: its session ends (as when its process is killed), its lock with it.
    const held = await cluster.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND state = 'idle in transaction'", [db.name]);
    assert.equal(held.rows.length, 1, 'one open claim: A\'s');
    await cluster.query('SELECT pg_terminate_backend($1, 5000)', [held.rows[0]!.pid]);
    hold = false;
    await a.worker.stop();
    // B is kicked by its next evaluation tick (AlertService.evaluate kicks delivery on every collector).
    b.worker.kick();
    await waitFor('B drained the lane', async () => (await pendingOf(db.name)) === 0, 20_000, 20);
    assert.deepEqual(idsAt(r, '/ops'), [ids[0], ...ids], 'the first id again (A never got its answer, so it was never recorded delivered), then the rest once, in order');
    const delivered = await cluster.query<{ notification_id: string }>("SELECT notification_id FROM alert_delivery_attempts WHERE outcome = 'delivered' ORDER BY id", [], db.name);
    assert.deepEqual(delivered.rows.map((row) => row.notification_id), ids, 'each recorded delivered once');
  });
});
