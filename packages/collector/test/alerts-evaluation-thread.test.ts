// Where a SQLite collector evaluates its alerts: on a worker thread with its own connection
// (db/evaluation-thread.ts), so the HTTP thread goes on answering while an evaluation runs (at
// 200,000 hosts one took 17-37 s of every minute on the HTTP thread). The rest of the alert
// tests run on this thread's defaults too (a file database: the worker), so the rules' results
// on the thread are theirs; these tests show it is another thread and another connection.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { buildApp } from '../src/app.js';
import { SqliteStore } from '../src/db/sqlite-store.js';
import { generateToken, hashToken } from '../src/tokens.js';
import { reportFrom } from './helpers/reports.js';

const M = 60_000;
const T0 = Date.parse('2030-06-01T08:00:00.000Z');

async function collector(t: TestContext, options: { file?: string; busyTimeoutMs?: number; evaluationThread?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-evaluation-thread-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new SqliteStore(options.file ?? join(dir, 'c.db'), { staleAfterSeconds: 900, busyTimeoutMs: options.busyTimeoutMs ?? 60_000 });
  const reader = generateToken();
  await store.createToken({ name: 'reader', role: 'reader', hash: hashToken(reader) });
  const app = await buildApp({
    store,
    config: { bodyLimitBytes: 1024 * 1024, openReadsOnLoopback: false },
    alerts: { clock: () => new Date(T0), config: { rules: [{ name: 'host-stale', interval: '5m', groupWait: '0s' }] }, evaluationThread: options.evaluationThread },
  });
  t.after(() => app.close());
  await store.ingestReport(reportFrom('dual-stack-services', { hostId: 'quiet-1', collectedAt: new Date(T0) }), { receivedAt: new Date(T0).toISOString(), tokenId: null, bytes: 1 });
  return { app, store, reader };
}

test('a SQLite file evaluates on a worker thread; :memory: and evaluationThread: false on this one', async (t) => {
  assert.equal((await collector(t)).app.alerts.evaluations.where, 'worker');
  assert.equal((await collector(t, { evaluationThread: false })).app.alerts.evaluations.where, 'inline');
  assert.equal((await collector(t, { file: ':memory:' })).app.alerts.evaluations.where, 'inline');
});

test('while an evaluation waits for the write lock this thread holds, this thread answers HTTP; it commits once the lock is free', async (t) => {
  const { app, store, reader } = await collector(t);
  const db = store.database;
  db.exec('BEGIN IMMEDIATE'); // this connection holds SQLite's write lock
  let settled = false;
  const evaluation = app.alerts.evaluate(new Date(T0 + 20 * M)).finally(() => {
    settled = true;
  });
  for (let i = 0; i < 3; i++) {
    const hosts = await app.inject({ method: 'GET', url: '/api/v1/hosts', headers: { authorization: `Bearer ${reader}` } });
    assert.equal(hosts.statusCode, 200, hosts.body);
  }
  // On this thread, the evaluation would have committed inside this connection's open
  // transaction (a savepoint) before the requests were answered.
  assert.equal(settled, false, 'the evaluation finished while this thread held the write lock');
  db.exec('COMMIT');
  const record = await evaluation;
  assert.equal(record.error, null);
  assert.equal(record.active, 1, 'host-stale for the one host last seen 20 minutes ago');
  const alerts = await app.inject({ method: 'GET', url: '/api/v1/alerts', headers: { authorization: `Bearer ${reader}` } });
  assert.deepEqual(
    alerts.json().alerts.map((a: { rule: string; labels: { host?: string } }) => [a.rule, a.labels.host]),
    [['host-stale', 'quiet-1']],
  );
});

test('an evaluation that fails on the thread (the lock not free within the busy timeout) fails with its error; the next one runs', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'dualstack-evaluation-thread-')), 'c.db');
  t.after(() => rmSync(dirname(file), { recursive: true, force: true }));
  const { app } = await collector(t, { file, busyTimeoutMs: 300 });
  // A third connection holds the write lock (not this thread's: the failed evaluation is
  // recorded on it, and must not be rolled back with the lock).
  const db = new Database(file);
  t.after(() => db.close());
  db.exec('BEGIN IMMEDIATE');
  const failed = await app.alerts.evaluate(new Date(T0 + 20 * M));
  db.exec('ROLLBACK');
  assert.match(failed.error ?? '', /database is locked/);
  assert.deepEqual(await app.alerts.store.liveAlerts(), [], 'nothing of the failed evaluation written');
  const next = await app.alerts.evaluate(new Date(T0 + 21 * M));
  assert.equal(next.error, null);
  assert.equal(next.active, 1);
});
