// A collector that receives faster than it commits must not queue without bound: beyond
// maxQueued waiting reports it answers 503 with Retry-After (the agent keeps the report in its
// spool), and every report it accepted is still stored once the writer can go on. The writer
// is held up for real: another connection keeps SQLite's write lock, as a backup or the
// sqlite3 shell would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { buildApp } from '../src/app.js';
import { SqliteStore } from '../src/db/sqlite-store.js';
import { StoreBusyError } from '../src/store.js';
import { generateToken, hashToken } from '../src/tokens.js';
import { fixtureReport } from './helpers/collector.js';

const meta = () => ({ receivedAt: new Date().toISOString(), tokenId: null, bytes: 1 });

function tempDb(t: { after(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-busy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'collector.db');
}

test('beyond maxQueued waiting reports the store refuses with StoreBusyError; the accepted ones are all stored', async (t) => {
  const file = tempDb(t);
  const store = new SqliteStore(file, { staleAfterSeconds: 900, maxQueued: 3, busyTimeoutMs: 10_000 });
  t.after(() => store.close());
  await store.ingestReport(fixtureReport('ipv6-off', 'warm'), meta()); // the ingest thread runs
  const lock = new Database(file);
  lock.exec('BEGIN IMMEDIATE');
  const accepted = [store.ingestReport(fixtureReport('ipv6-off', 'in-flight'), meta())];
  await new Promise((resolve) => setTimeout(resolve, 100)); // that batch is now waiting for the lock
  for (let i = 0; i < 3; i++) accepted.push(store.ingestReport(fixtureReport('ipv6-off', `queued-${i}`), meta()));
  await assert.rejects(store.ingestReport(fixtureReport('ipv6-off', 'one-too-many'), meta()), (error: unknown) => {
    assert.ok(error instanceof StoreBusyError);
    assert.equal(error.statusCode, 503);
    assert.equal(error.waiting, 3);
    assert.ok(error.retryAfterSeconds > 0);
    return true;
  });
  assert.equal(store.stats().refusedBusy, 1);
  lock.exec('ROLLBACK');
  lock.close();
  const acks = await Promise.all(accepted);
  assert.deepEqual(acks.map((a) => a.duplicate), [false, false, false, false]);
  assert.equal((await store.counts()).hosts, 5, 'warm, in-flight and the three queued; not the refused one');
});

test('over HTTP: 503 with Retry-After and a problem body; the agent-facing contract', async (t) => {
  const file = tempDb(t);
  const store = new SqliteStore(file, { staleAfterSeconds: 900, maxQueued: 1, busyTimeoutMs: 10_000 });
  // One agent token per host, as deployed, bound before the lock (the first report of a token
  // binds it: a write of its own, which the lock below would hold up).
  const tokens = new Map<string, string>();
  for (const hostId of ['warm', 'in-flight', 'queued', 'refused']) {
    const token = generateToken();
    tokens.set(hostId, token);
    const record = await store.createToken({ name: `agent-${hostId}`, role: 'agent', hash: hashToken(token) });
    await store.bindToken(record.id, hostId);
  }
  const app = await buildApp({ store, config: { bodyLimitBytes: 2 * 1024 * 1024, openReadsOnLoopback: false } });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const post = (hostId: string) =>
    request(`${url}/api/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${tokens.get(hostId)!}`, 'content-type': 'application/json' }, body: JSON.stringify(fixtureReport('ipv6-off', hostId)) });
  assert.equal((await post('warm')).statusCode, 202);
  const lock = new Database(file);
  lock.exec('BEGIN IMMEDIATE');
  const first = post('in-flight');
  await new Promise((resolve) => setTimeout(resolve, 150));
  const second = post('queued');
  await new Promise((resolve) => setTimeout(resolve, 150));
  const refused = await post('refused');
  assert.equal(refused.statusCode, 503);
  assert.equal(refused.headers['retry-after'], '5');
  assert.match(String(refused.headers['content-type']), /application\/problem\+json/);
  const body = (await refused.body.json()) as { type: string; status: number; detail: string };
  assert.equal(body.type, 'urn:dualstack:problem:busy');
  assert.equal(body.status, 503);
  assert.match(body.detail, /waiting to be stored/);
  lock.exec('ROLLBACK');
  lock.close();
  assert.equal((await first).statusCode, 202);
  assert.equal((await second).statusCode, 202);
  assert.equal((await store.counts()).hosts, 3);
});

test('a token bound while the database is locked: 503 with Retry-After (the agent spools and resends), not a 500; nothing stored', async (t) => {
  const file = tempDb(t);
  const store = new SqliteStore(file, { staleAfterSeconds: 900, busyTimeoutMs: 200 });
  const token = generateToken();
  await store.createToken({ name: 'agent-new', role: 'agent', hash: hashToken(token) });
  const app = await buildApp({ store, config: { bodyLimitBytes: 2 * 1024 * 1024, openReadsOnLoopback: false } });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const lock = new Database(file);
  lock.exec('BEGIN IMMEDIATE');
  const post = () =>
    request(`${url}/api/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(fixtureReport('ipv6-off', 'new-host')) });
  const refused = await post();
  assert.equal(refused.statusCode, 503);
  assert.ok(Number(refused.headers['retry-after']) > 0);
  const body = (await refused.body.json()) as { detail: string };
  assert.match(body.detail, /could not be bound to host new-host/);
  lock.exec('ROLLBACK');
  lock.close();
  assert.equal((await store.counts()).hosts, 0);
  assert.equal((await post()).statusCode, 202, 'the resend binds and is stored');
});
