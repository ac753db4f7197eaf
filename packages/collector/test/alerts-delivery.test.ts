// The delivery worker against receivers on 127.0.0.1: retries with exponential backoff, in
// order per receiver, permanent refusals, timeouts, Retry-After, a receiver that is down not
// holding up another, shutdown in the middle of an attempt. Every attempt is recorded. The same
// tests on both AlertStores (SQLite and PostgreSQL: helpers/alert-backends.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { resolveAlerts, type ReceiverInput } from '../src/alerts/config.js';
import { backoffMs, classify, DeliveryWorker } from '../src/alerts/deliver.js';
import { testNotification } from '../src/alerts/notify.js';
import type { WebhookBody } from '../src/alerts/api.js';
import { alertBackends, type AlertBackend, type AlertDatabase } from './helpers/alert-backends.js';
import { sleep, startReceiver, waitFor } from './helpers/alerts.js';

async function setup(t: TestContext, backend: AlertBackend, receivers: ReceiverInput[]) {
  const database = await backend.database(t);
  const settings = resolveAlerts({ rules: [], receivers });
  const open = async () => {
    const db: AlertDatabase = await database.open();
    const worker = new DeliveryWorker({ store: db.alertStore, settings, clock: () => new Date() });
    return { db, worker };
  };
  let current = await open();
  t.after(async () => {
    await current.worker.stop();
    await current.db.close();
  });
  let n = 0;
  return {
    get alertStore() {
      return current.db.alertStore;
    },
    get worker() {
      return current.worker;
    },
    rows<T>(sql: string): Promise<T[]> {
      return current.db.rows<T>(sql);
    },
    /**
     * A collector restart: the worker stopped and the store closed (its connections with it),
     * then a new store and worker opened on the same database. Not started.
     */
    async restart(): Promise<void> {
      await current.worker.stop();
      await current.db.close();
      current = await open();
    },
    /** Queues one notification per receiver named, as an evaluation would. */
    async enqueue(...names: string[]): Promise<string> {
      const id = `n-${++n}`;
      const now = new Date();
      await current.db.alertStore.commitEvaluation({
        at: now.toISOString(),
        upserts: [],
        deletes: [],
        events: [],
        outbox: names.map((receiver) => ({ notificationId: id, receiver, rule: 'test', notification: { ...testNotification(id, receiver, now), rule: 'host-stale', kind: 'host-stale' } })),
        groupsNotified: [],
        references: [],
      });
      return id;
    },
    outbox() {
      return current.db.rows<{ notification_id: string; receiver: string; status: string; attempts: number }>('SELECT notification_id, receiver, status, attempts FROM alert_outbox ORDER BY id');
    },
    async attempts(receiver: string) {
      return (await current.db.alertStore.deliveries({ limit: 100, offset: 0, receiver })).items.reverse();
    },
  };
}

const hook = (name: string, url: string, extra: Partial<ReceiverInput> = {}): ReceiverInput => ({ name, type: 'webhook', url, timeoutMs: 1000, retry: { initialMs: 100, maxMs: 400 }, ...extra });

test('classify and backoff', () => {
  assert.deepEqual([200, 202, 204, 301, 400, 401, 404, 408, 425, 429, 500, 503].map((statusCode) => classify({ statusCode })), [
    'delivered', 'delivered', 'delivered', 'failed', 'failed', 'failed', 'failed', 'retry', 'retry', 'retry', 'retry', 'retry',
  ]);
  assert.equal(classify({ statusCode: null }), 'retry');
  const retry = { initialMs: 1000, maxMs: 300_000 };
  assert.deepEqual([1, 2, 3, 4, 10, 20].map((n) => backoffMs(n, retry, () => 1)), [1000, 2000, 4000, 8000, 300_000, 300_000]);
  assert.deepEqual([1, 2, 3].map((n) => backoffMs(n, retry, () => 0)), [500, 1000, 2000], 'half of it is jitter');
});

for (const backend of alertBackends()) {
  describe(`delivery (${backend.name})`, { skip: backend.skip }, () => {
    before(() => backend.start());
    after(() => backend.stop());

    test('503, 503, then 200: retried with growing backoff; the next notification waits its turn', async (t) => {
      const r = await startReceiver(t);
      let failures = 2;
      r.respond = (_req, res) => {
        if (failures-- > 0) res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
        else res.writeHead(200).end();
      };
      const d = await setup(t, backend, [hook('ops', `${r.url}/hook`)]);
      const first = await d.enqueue('ops');
      const second = await d.enqueue('ops');
      await d.worker.start();
      await waitFor('both delivered', async () => (await d.outbox()).every((o) => o.status === 'delivered'), 10_000, 20);
      assert.deepEqual(
        r.received.map((x) => (x.body as WebhookBody).notificationId),
        [first, first, first, second],
        'in order: the second only after the first got its 2xx',
      );
      const gaps = [r.received[1]!.at - r.received[0]!.at, r.received[2]!.at - r.received[1]!.at];
      assert.ok(gaps[0]! >= 50 && gaps[1]! >= 100, `backoff 100 ms then 200 ms (half jittered), got ${gaps}`);
      const attempts = await d.attempts('ops');
      assert.deepEqual(
        attempts.map((a) => [a.notificationId, a.attempt, a.statusCode, a.outcome]),
        [
          [first, 1, 503, 'retry'],
          [first, 2, 503, 'retry'],
          [first, 3, 200, 'delivered'],
          [second, 1, 200, 'delivered'],
        ],
      );
      assert.equal(attempts[0]!.error, 'HTTP 503: busy');
      assert.deepEqual(attempts[0]!.fingerprints, ['test']);
      assert.deepEqual((await d.outbox()).map((o) => o.attempts), [3, 1]);
    });

    test('a refusal (4xx) is recorded and not retried; the lane moves on', async (t) => {
      const r = await startReceiver(t);
      let first = true;
      r.respond = (_req, res) => {
        if (first) {
          first = false;
          res.writeHead(400).end('bad payload');
        } else res.writeHead(204).end();
      };
      const d = await setup(t, backend, [hook('ops', `${r.url}/hook`)]);
      await d.enqueue('ops');
      await d.enqueue('ops');
      await d.worker.start();
      await waitFor('the lane to finish', async () => (await d.outbox()).every((o) => o.status !== 'pending'), 10_000, 20);
      assert.deepEqual((await d.outbox()).map((o) => o.status), ['failed', 'delivered']);
      const attempts = await d.attempts('ops');
      assert.deepEqual(attempts.map((a) => [a.statusCode, a.outcome, a.error]), [[400, 'failed', 'HTTP 400: bad payload'], [204, 'delivered', null]]);
    });

    test('a receiver that does not answer in timeoutMs: the attempt times out and is retried', async (t) => {
      const r = await startReceiver(t);
      let hang = true;
      r.respond = (_req, res) => {
        if (hang) hang = false; // never answered
        else res.writeHead(200).end();
      };
      const d = await setup(t, backend, [hook('slow', `${r.url}/hook`, { timeoutMs: 300 })]);
      await d.enqueue('slow');
      await d.worker.start();
      await waitFor('delivered', async () => (await d.outbox())[0]?.status === 'delivered', 10_000, 20);
      const attempts = await d.attempts('slow');
      assert.deepEqual(attempts.map((a) => [a.outcome, a.error]), [['retry', 'timeout after 300 ms'], ['delivered', null]]);
      assert.ok(attempts[0]!.durationMs >= 290 && attempts[0]!.durationMs < 1000);
    });

    test('Retry-After is honoured', async (t) => {
      const r = await startReceiver(t);
      let first = true;
      r.respond = (_req, res) => {
        if (first) {
          first = false;
          res.writeHead(429, { 'retry-after': '1' }).end();
        } else res.writeHead(200).end();
      };
      const d = await setup(t, backend, [hook('rate', `${r.url}/hook`, { retry: { initialMs: 50, maxMs: 5000 } })]);
      await d.enqueue('rate');
      await d.worker.start();
      await waitFor('delivered', async () => (await d.outbox())[0]?.status === 'delivered', 10_000, 20);
      assert.ok(r.received[1]!.at - r.received[0]!.at >= 950, `waited ${r.received[1]!.at - r.received[0]!.at} ms`);
    });

    test('a receiver that is down does not hold up another; it gets everything once it is back', async (t) => {
      const down = await startReceiver(t, { down: true });
      const up = await startReceiver(t);
      const d = await setup(t, backend, [hook('down', `${down.url}/hook`), hook('up', `${up.url}/hook`)]);
      const ids = [await d.enqueue('down', 'up'), await d.enqueue('down', 'up')];
      const started = Date.now();
      await d.worker.start();
      await waitFor('the receiver that is up', () => up.received.length === 2, 5000, 10);
      assert.ok(Date.now() - started < 1000, 'served at once');
      await sleep(600);
      const attempts = await d.attempts('down');
      assert.ok(attempts.length >= 2 && attempts.every((a) => a.outcome === 'retry' && /ECONNREFUSED/.test(a.error ?? '') && a.notificationId === ids[0]), JSON.stringify(attempts));
      await down.up();
      await waitFor('the receiver that was down', () => down.received.length === 2, 5000, 20);
      assert.deepEqual(down.received.map((x) => (x.body as WebhookBody).notificationId), ids);
    });

    test('stop() in the middle of an attempt: aborted, recorded as to retry, still queued; after a restart on the same database it is sent again at once and delivered', async (t) => {
      const r = await startReceiver(t);
      let hang = true;
      r.respond = (_req, res) => {
        if (!hang) res.writeHead(200).end(); // the first request hangs
      };
      const d = await setup(t, backend, [hook('hang', `${r.url}/hook`, { timeoutMs: 30_000 })]);
      const id = await d.enqueue('hang');
      await d.worker.start();
      await waitFor('the request', () => r.received.length === 1, 5000, 10);
      const stopping = Date.now();
      await d.worker.stop();
      assert.ok(Date.now() - stopping < 2000, 'stop does not wait for the timeout');
      assert.deepEqual((await d.attempts('hang')).map((a) => [a.outcome, a.error]), [['retry', 'aborted: the collector is shutting down']]);
      assert.equal((await d.outbox())[0]?.status, 'pending', 'still queued');

      // The restart: store closed and reopened on the same database, a new worker started.
      hang = false;
      await d.restart();
      const restarted = Date.now();
      await d.worker.start();
      await waitFor('delivered after the restart', async () => (await d.outbox())[0]?.status === 'delivered', 5000, 20);
      assert.ok(Date.now() - restarted < 2000, `sent again at once, not after a backoff: ${Date.now() - restarted} ms`);
      assert.deepEqual(r.received.map((x) => (x.body as WebhookBody).notificationId), [id, id], 'the same notification, twice: at least once');
      const attempts = await d.attempts('hang');
      assert.deepEqual(attempts.map((a) => [a.notificationId, a.attempt, a.outcome, a.statusCode]), [
        [id, 1, 'retry', null],
        [id, 2, 'delivered', 200],
      ]);
      assert.deepEqual((await d.outbox()).map((o) => [o.notification_id, o.status, o.attempts]), [[id, 'delivered', 2]]);
    });

    test('entries of receivers no longer configured are failed at start, saying why', async (t) => {
      const r = await startReceiver(t);
      const d = await setup(t, backend, [hook('ops', `${r.url}/hook`)]);
      await d.enqueue('old-receiver');
      await d.worker.start();
      const [row] = await d.rows("SELECT status, last_error FROM alert_outbox WHERE receiver = 'old-receiver'");
      assert.deepEqual(row, { status: 'failed', last_error: 'the receiver old-receiver is no longer configured' });
    });
  });
}
