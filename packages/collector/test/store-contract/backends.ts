// The Store contract suite's backends: every case in this folder runs once per backend through
// forEachBackend(). SQLite runs with its ingest transaction inline (what the ingest worker
// thread adds is SQLite's own, tested in sqlite-store.test.ts; a worker per store costs ~5 s
// per case under tsx); PostgreSQL
// starts one throw-away cluster per test file (test/helpers/postgres.ts), migrates a template
// database once, and gives each test a fresh copy of it (CREATE DATABASE … TEMPLATE: ~50 ms).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/db/sqlite-store.js';
import { PostgresStore } from '../../src/db/postgres/store.js';
import { createPool } from '../../src/db/postgres/pool.js';
import { migratePostgres } from '../../src/db/postgres/migrations.js';
import type { Store } from '../../src/store.js';
import { skipUnlessPostgres, startPostgresCluster, type PostgresCluster } from '../../../../test/helpers/postgres.js';

export const STALE_AFTER_SECONDS = 900;

export interface OpenedStore {
  store: Store;
  /** Rows of a read-only SQL query on the store's database, for what the Store interface does not show. */
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Resolves when the store's background writes (token last use) are done. */
  idle(): Promise<void>;
}

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** A new, empty store, closed (and removed) after the test. */
  open(t: TestContext): Promise<OpenedStore>;
  /** Two stores on one new database, as two collectors have them. */
  openPair(t: TestContext): Promise<[OpenedStore, OpenedStore]>;
}

function sqliteBackend(): Backend {
  const openFile = (t: TestContext, file: string): OpenedStore => {
      const store = new SqliteStore(file, { staleAfterSeconds: STALE_AFTER_SECONDS, ingestThread: false });
      t.after(() => store.close());
      return {
        store,
        idle: () => store.idle(),
        async rows<T>(sql: string) {
          await store.idle();
          const db = new Database(file, { readonly: true, fileMustExist: true });
          try {
            return db.prepare(sql).all() as T[];
          } finally {
            db.close();
          }
        },
      };
  };
  const tempFile = (t: TestContext): string => {
    const dir = mkdtempSync(join(tmpdir(), 'dualstack-contract-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    return join(dir, 'collector.db');
  };
  return {
    name: 'sqlite',
    async open(t) {
      return openFile(t, tempFile(t));
    },
    async openPair(t) {
      const file = tempFile(t);
      return [openFile(t, file), openFile(t, file)];
    },
  };
}

function postgresBackend(cluster: () => PostgresCluster, template: () => string): Backend {
  const openUrl = async (t: TestContext, url: string): Promise<OpenedStore> => {
      const store = await PostgresStore.open(url, { staleAfterSeconds: STALE_AFTER_SECONDS, max: 8 });
      t.after(() => store.close());
      return {
        store,
        idle: () => store.idle(),
        async rows<T>(sql: string) {
          return (await store.pool.query(sql)).rows as T[];
        },
      };
  };
  return {
    name: 'postgres',
    async open(t) {
      return openUrl(t, await cluster().createDatabase({ template: template() }));
    },
    async openPair(t) {
      const url = await cluster().createDatabase({ template: template() });
      return [await openUrl(t, url), await openUrl(t, url)];
    },
  };
}

/**
 * Declares `cases` once per backend, each in a describe named for it. The PostgreSQL cluster
 * starts before its describe's first case and stops after its last; under CI a cluster that
 * cannot start fails the file (skipUnlessPostgres).
 */
export function forEachBackend(cases: (backend: Backend) => void): void {
  describe('sqlite', () => cases(sqliteBackend()));
  describe('postgres', { skip: skipUnlessPostgres() }, () => {
    let cluster: PostgresCluster | undefined;
    let templateName = '';
    before(async () => {
      cluster = await startPostgresCluster();
      templateName = `contract_template_${process.pid}`;
      const url = await cluster.createDatabase({ name: templateName });
      const pool = createPool(url);
      try {
        await migratePostgres(pool, url);
      } finally {
        await pool.end();
      }
    });
    after(async () => {
      await cluster?.stop();
    });
    cases(
      postgresBackend(
        () => cluster!,
        () => templateName,
      ),
    );
  });
}
