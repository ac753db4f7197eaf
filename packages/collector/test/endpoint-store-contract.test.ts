// The published-endpoint stores side by side (sqlite-endpoint-store.ts on a SQLite file,
// postgres/endpoint-store.ts on a PostgreSQL database): the same cases on both, then what only
// several collectors on one PostgreSQL database do (the same batch received by two at once).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { EndpointSpec, ProbeAck, ProbeBatch } from '@dualstack/core';
import { PostgresEndpointStore } from '../src/db/postgres/endpoint-store.js';
import { migratePostgres } from '../src/db/postgres/migrations.js';
import { createPool } from '../src/db/postgres/pool.js';
import { SqliteEndpointStore } from '../src/db/sqlite-endpoint-store.js';
import { SqliteStore } from '../src/db/sqlite-store.js';
import { EndpointConflictError, ProbeRejectedError, type DeclaredEndpoint, type EndpointInput, type ProbeHistoryEntry, type ProbeIngestMeta } from '../src/endpoints/records.js';
import { waitFor } from './helpers/alerts.js';
import { attempt, endpointProbe, probeBatch } from './helpers/probes.js';
import { skipUnlessPostgres, startPostgresCluster, type PostgresCluster } from '../../../test/helpers/postgres.js';

/** Either store, awaited the same way (SQLite's answers synchronously). */
interface Endpoints {
  declareConfig(specs: readonly EndpointSpec[], at: string): unknown;
  add(spec: EndpointSpec, at: string): DeclaredEndpoint | Promise<DeclaredEndpoint>;
  remove(name: string): boolean | Promise<boolean>;
  list(): DeclaredEndpoint[] | Promise<DeclaredEndpoint[]>;
  ingest(batch: ProbeBatch, meta: ProbeIngestMeta): ProbeAck | Promise<ProbeAck>;
  inputs(staleBefore: string, name?: string): EndpointInput[] | Promise<EndpointInput[]>;
  history(name: string, limit: number): Map<string, ProbeHistoryEntry[]> | Promise<Map<string, ProbeHistoryEntry[]>>;
  prune(before: string): number | Promise<number>;
}

const T0 = Date.parse('2030-03-01T12:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const spec = (name: string, extra: Partial<EndpointSpec> = {}): EndpointSpec => ({ name, url: `https://${name}.example:8443/`, ...extra });
const meta = (minutes: number): ProbeIngestMeta => ({ receivedAt: at(minutes), tokenId: null });
const probe = (name: string, minutes: number) =>
  endpointProbe({ name, url: `https://${name}.example:8443/`, a: ['192.0.2.10'], aaaa: ['2001:db8::10'], attempts: [attempt('192.0.2.10', 8443, 'ok'), attempt('2001:db8::10', 8443, 'refused')], probedAt: new Date(T0 + minutes * 60_000) });

function cases(open: (t: TestContext) => Promise<Endpoints>) {
  test('config and API declarations: conflicts name the key, config ones are not deletable through the API', async (t) => {
    const e = await open(t);
    await e.declareConfig([spec('web'), spec('mail')], at(0));
    assert.deepEqual((await e.add(spec('api-1'), at(1))).source, 'api');
    await assert.rejects(Promise.resolve().then(() => e.add(spec('web'), at(2))), (error: Error) => error instanceof EndpointConflictError && /declared by the configuration/.test(error.message));
    await assert.rejects(Promise.resolve().then(() => e.remove('mail')), (error: Error) => error instanceof EndpointConflictError && /configuration file/.test(error.message));
    assert.equal(await e.remove('nope'), false);
    // A configuration naming an API endpoint is refused whole: nothing changes.
    await assert.rejects(Promise.resolve().then(() => e.declareConfig([spec('web'), spec('api-1')], at(3))), (error: Error) => error instanceof EndpointConflictError && (error as EndpointConflictError).field === 'endpoints.1.name');
    assert.deepEqual((await e.list()).map((d) => [d.spec.name, d.source]), [['api-1', 'api'], ['mail', 'config'], ['web', 'config']]);
    // The next start's configuration: mail gone, web changed, its creation time kept.
    await e.declareConfig([spec('web', { backends: ['h1'] })], at(4));
    assert.deepEqual((await e.list()).map((d) => [d.spec.name, d.createdAt, d.spec.backends ?? null]), [['api-1', at(1), null], ['web', at(0), ['h1']]]);
    assert.equal(await e.remove('api-1'), true);
    assert.deepEqual((await e.list()).map((d) => d.spec.name), ['web']);
  });

  test('probe batches: idempotent on batchId, unknown names listed, the latest probe by probedAt kept, history newest first, prune keeps the latest', async (t) => {
    const e = await open(t);
    await e.declareConfig([spec('web')], at(0));
    const vantage = { hostId: 'vp-1', ipv4: true, ipv6: true };
    const newer = probeBatch(vantage, [probe('web', 10), probe('gone', 10)]);
    const ack = await e.ingest(newer, meta(10));
    assert.deepEqual(ack, { batchId: newer.batchId, duplicate: false, receivedAt: at(10), results: 1, unknown: ['gone'] });
    assert.deepEqual(await e.ingest(newer, meta(11)), { ...ack, duplicate: true, results: 0 }, 'the first ack again');
    // An older probe replayed from a spool afterwards: history, not the latest.
    const older = probeBatch(vantage, [probe('web', 5)]);
    await e.ingest(older, meta(12));
    const [input] = await e.inputs(at(11));
    assert.equal(input!.views.length, 1);
    assert.equal(input!.views[0]!.batchId, newer.batchId);
    assert.equal(input!.views[0]!.stale, true, 'received before staleBefore');
    assert.equal((await e.inputs(at(9)))[0]!.views[0]!.stale, false);
    assert.deepEqual((await e.history('web', 10)).get('vp-1')!.map((h) => h.batchId), [newer.batchId, older.batchId]);
    assert.equal(await e.prune(at(60)), 1, 'the older batch goes; the one holding the latest result stays');
    assert.deepEqual((await e.history('web', 10)).get('vp-1')!.map((h) => h.batchId), [newer.batchId]);
    await assert.rejects(
      Promise.resolve().then(() => e.ingest(probeBatch({ hostId: 'vp-2', hostname: 'x'.repeat(256), ipv4: true, ipv6: false }, [probe('web', 20)]), meta(20))),
      (error: Error) => error instanceof ProbeRejectedError && error.field === '/vantage/hostname',
    );
    assert.deepEqual((await e.inputs(at(0)))[0]!.views.map((v) => v.vantage.hostId), ['vp-1'], 'nothing of the refused batch kept');
  });
}

describe('endpoint store (sqlite)', () => {
  cases(async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'dualstack-endpoints-'));
    const store = new SqliteStore(join(dir, 'c.db'), { staleAfterSeconds: 900 });
    t.after(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return new SqliteEndpointStore(store.database);
  });
});

describe('endpoint store (postgres)', { skip: skipUnlessPostgres() }, () => {
  let cluster: PostgresCluster;
  before(async () => {
    cluster = await startPostgresCluster();
  });
  after(async () => {
    await cluster?.stop();
  });
  async function database(t: TestContext): Promise<string> {
    const url = await cluster.createDatabase();
    const pool = createPool(url, { max: 1 });
    t.after(() => pool.end());
    await migratePostgres(pool, url);
    return url;
  }
  function storeOn(t: TestContext, url: string): PostgresEndpointStore {
    const pool = createPool(url, { max: 4 });
    t.after(() => pool.end());
    return new PostgresEndpointStore(pool);
  }

  cases(async (t) => storeOn(t, await database(t)));

  test('two collectors receive the same batch at once: stored once, both answer the same ack', async (t) => {
    const url = await database(t);
    const [a, b] = [storeOn(t, url), storeOn(t, url)];
    await a.declareConfig([spec('web')], at(0));
    const batch = probeBatch({ hostId: 'vp-1', ipv4: true, ipv6: true }, [probe('web', 10)]);
    // "At once", made certain: a third session holds probe_batches so both inserts wait on it,
    // then lets them go together.
    const gate = createPool(url, { max: 1 });
    t.after(() => gate.end());
    const holder = await gate.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE probe_batches IN EXCLUSIVE MODE');
    const ingests = Promise.all([a.ingest(batch, meta(10)), b.ingest(batch, meta(10))]);
    const db = new URL(url).pathname.slice(1);
    await waitFor('both inserts waiting', async () => (await cluster.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'", [db])).rows[0]!.n === 2, 10_000, 10);
    await holder.query('COMMIT');
    holder.release();
    const acks = await ingests;
    assert.deepEqual(acks.map((ack) => ack.duplicate).sort(), [false, true]);
    assert.deepEqual(acks.map((ack) => [ack.batchId, ack.receivedAt]), [[batch.batchId, at(10)], [batch.batchId, at(10)]]);
    const counts = await cluster.query<{ batches: number; results: number }>(
      'SELECT (SELECT count(*)::int FROM probe_batches) AS batches, (SELECT count(*)::int FROM probe_results) AS results',
      [],
      db,
    );
    assert.deepEqual(counts.rows[0], { batches: 1, results: 1 });
  });

  test('two collectors starting at once on one configuration: declared once', async (t) => {
    const url = await database(t);
    const [a, b] = [storeOn(t, url), storeOn(t, url)];
    await Promise.all([a.declareConfig([spec('web'), spec('mail')], at(0)), b.declareConfig([spec('web'), spec('mail')], at(0))]);
    assert.deepEqual((await a.list()).map((d) => d.spec.name), ['mail', 'web']);
  });
});
