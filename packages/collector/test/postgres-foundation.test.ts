// The PostgreSQL foundation: the test cluster helper, the pool, and the migrations (numbered,
// under an advisory lock: two collectors starting at once on a new database migrate it once;
// a database newer than the code is refused with nothing written).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createPool, isPostgresUrl, redactUrl, PostgresUrlError } from '../src/db/postgres/pool.js';
import { migratePostgres, postgresSchemaVersion, POSTGRES_SCHEMA_VERSION, PostgresSchemaTooNewError } from '../src/db/postgres/migrations.js';
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
});
