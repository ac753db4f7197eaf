// The PostgreSQL foundation: the test cluster helper, the pool, and the migrations (numbered,
// under an advisory lock: two collectors starting at once on a new database migrate it once;
// a database newer than the code is refused with nothing written).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createPool, isPostgresUrl, redactUrl, PostgresUrlError } from '../src/db/postgres/pool.js';
import { migratePostgres, postgresSchemaVersion, POSTGRES_SCHEMA_VERSION, PostgresSchemaTooNewError } from '../src/db/postgres/migrations.js';
import { PostgresStore } from '../src/db/postgres/store.js';
import { StoreBusyError } from '../src/store.js';
import { reportFrom } from './helpers/reports.js';
import { skipUnlessPostgres, startPostgresCluster, type PostgresCluster } from '../../../test/helpers/postgres.js';

test('postgres URLs: recognised by scheme, redacted without the password, refused without a database', () => {
  assert.equal(isPostgresUrl('postgres://u@h/db'), true);
  assert.equal(isPostgresUrl('postgresql://u@h/db'), true);
  assert.equal(isPostgresUrl('./data/dualstack.db'), false);
  assert.equal(redactUrl('postgres://u:s3cret@h:5432/db'), 'postgres://u:***@h:5432/db');
  assert.throws(() => createPool('postgres://u:s3cret@h:5432/'), (error: Error) => error instanceof PostgresUrlError && /names no database/.test(error.message) && !error.message.includes('s3cret'));
  assert.throws(() => createPool('postgres://u@h/db', { max: 0 }), /pool size/);
});

describe('on a real PostgreSQL', { skip: skipUnlessPostgres() }, () => {
  let cluster: PostgresCluster;
  before(async () => {
    cluster = await startPostgresCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  test('two pools migrating one new database at once: each step applied once, both at the newest version', async () => {
    const url = await cluster.createDatabase();
    const a = createPool(url);
    const b = createPool(url);
    try {
      const [ra, rb] = await Promise.all([migratePostgres(a, url), migratePostgres(b, url)]);
      assert.equal(ra.to, POSTGRES_SCHEMA_VERSION);
      assert.equal(rb.to, POSTGRES_SCHEMA_VERSION);
      const rows = await a.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(rows.rows.map((r) => r.version), Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1));
      assert.equal((await a.query("SELECT to_regclass('hosts') IS NOT NULL AS t")).rows[0].t, true);
      // Migration 6: Debian's PostgreSQL 15 has lz4, so the latest report bodies use it ('l').
      const compression = await a.query("SELECT attcompression AS c FROM pg_attribute WHERE attrelid = 'latest_reports'::regclass AND attname = 'body'");
      assert.equal(compression.rows[0].c, 'l');
      assert.deepEqual(await migratePostgres(a, url), { from: POSTGRES_SCHEMA_VERSION, to: POSTGRES_SCHEMA_VERSION });
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  test('a database migrated by a newer collector is refused, nothing written', async () => {
    const url = await cluster.createDatabase();
    const pool = createPool(url);
    try {
      await migratePostgres(pool, url);
      await pool.query("INSERT INTO schema_migrations VALUES ($1, 'from the future', 'x')", [POSTGRES_SCHEMA_VERSION + 1]);
      await assert.rejects(migratePostgres(pool, url), (error: Error) => error instanceof PostgresSchemaTooNewError && error.message.includes(`version ${POSTGRES_SCHEMA_VERSION + 1}`));
      assert.equal(await postgresSchemaVersion(pool), POSTGRES_SCHEMA_VERSION + 1);
    } finally {
      await pool.end();
    }
  });

  test('a missing database and a wrong user are errors that name the database', async () => {
    const pool = createPool(cluster.url('nope'), { connectionTimeoutMs: 5000 });
    try {
      await assert.rejects(pool.query('SELECT 1'), /database "nope" does not exist/);
    } finally {
      await pool.end();
    }
  });

  test('a checked-out connection whose backend ends while no query runs does not end the process: its next query fails, release drops it', async () => {
    const pool = createPool(await cluster.createDatabase(), { max: 2 });
    try {
      const client = await pool.connect();
      const { pid } = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!;
      // Held between two queries, as a transaction's or an outbox claim's connection is, when
      // PostgreSQL stops: its 57P01 arrives with no query to fail (it ended the collector).
      assert.equal((await cluster.query<{ ok: boolean }>('SELECT pg_terminate_backend($1, 5000) AS ok', [pid])).rows[0]!.ok, true);
      await new Promise((resolve) => setTimeout(resolve, 300)); // the FATAL message read off the socket
      await assert.rejects(client.query('SELECT 1'), /terminat|not queryable/);
      client.release();
      assert.equal((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1);
      assert.equal(pool.totalCount, 1, 'the broken connection was dropped, a new one opened');
    } finally {
      await pool.end();
    }
  });

  test('a database that refuses connections: ingest and reads are StoreBusyError (503 + Retry-After), and work again by itself when it is back', async () => {
    const url = await cluster.createDatabase();
    const name = new URL(url).pathname.slice(1);
    const store = await PostgresStore.open(url, { staleAfterSeconds: 900, max: 2, connectionTimeoutMs: 5000 });
    try {
      await store.ingestReport(reportFrom('ipv6-off', { hostId: 'down-1', collectedAt: new Date(Date.now() - 60_000) }), { receivedAt: new Date().toISOString(), tokenId: null, bytes: 1 });
      // No new connection is let in (55000, superusers included), and the store's open ones are ended (57P01).
      await cluster.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
      await cluster.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid != pg_backend_pid()', [name]);
      const report = reportFrom('ipv6-off', { hostId: 'down-2', collectedAt: new Date(Date.now() - 30_000) });
      const meta = { receivedAt: new Date().toISOString(), tokenId: null, bytes: 1 };
      await assert.rejects(store.ingestReport(report, meta), (error: Error) => error instanceof StoreBusyError && error.statusCode === 503 && error.retryAfterSeconds > 0 && !/s3cret/.test(error.message));
      await assert.rejects(store.listHosts({}, new Date()), StoreBusyError, 'reads too: 503, not 500');
      await cluster.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
      const ack = await store.ingestReport(report, meta);
      assert.equal(ack.duplicate, false);
      assert.equal((await store.counts()).reports, 2);
    } finally {
      await store.close();
    }
  });
});
