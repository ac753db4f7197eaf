// The AlertStore backends the alert contract tests run against: SQLite (a file in a temp dir,
// the AlertStore on the SqliteStore's connection) and PostgreSQL (one throw-away cluster per
// test file, a new migrated database per test, the AlertStore on its own pool as a collector
// has). A test gets a database and opens it as many times as it restarts its "collector".
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { AlertStore } from '../../src/alerts/store.js';
import { PostgresAlertStore } from '../../src/db/postgres/alert-store.js';
import { migratePostgres } from '../../src/db/postgres/migrations.js';
import { createPool } from '../../src/db/postgres/pool.js';
import { SqliteAlertStore } from '../../src/db/sqlite-alert-store.js';
import { SqliteStore } from '../../src/db/sqlite-store.js';
import { skipUnlessPostgres, startPostgresCluster, type PostgresCluster } from '../../../../test/helpers/postgres.js';

/** One open connection to a test database, as one collector has it. */
export interface AlertDatabase {
  alertStore: AlertStore;
  /** The rows of a query without parameters (the same SQL on both backends). */
  rows<T>(sql: string): Promise<T[]>;
  /** Closes the AlertStore and its connection (a collector stopping). */
  close(): Promise<void>;
}

export interface AlertBackend {
  name: 'sqlite' | 'postgres';
  /** For describe(): false, or why this backend cannot run here (throws under CI). */
  skip: string | false;
  /** Before the backend's tests (the PostgreSQL cluster starts). */
  start(): Promise<void>;
  /** After them (the cluster stops and is removed). */
  stop(): Promise<void>;
  /** A new, migrated, empty database for one test; open() connects to it (again). Cleaned up after the test. */
  database(t: TestContext): Promise<{ open(): Promise<AlertDatabase> }>;
}

const sqlite: AlertBackend = {
  name: 'sqlite',
  skip: false,
  async start() {},
  async stop() {},
  async database(t) {
    const dir = mkdtempSync(join(tmpdir(), 'dualstack-alerts-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'c.db');
    return {
      async open() {
        const store = new SqliteStore(file, { staleAfterSeconds: 900 });
        return {
          alertStore: new SqliteAlertStore(store.database),
          rows: async <T>(sql: string) => store.database.prepare<[], T>(sql).all(),
          close: () => store.close(),
        };
      },
    };
  },
};

function postgres(): AlertBackend {
  let cluster: PostgresCluster | null = null;
  return {
    name: 'postgres',
    skip: skipUnlessPostgres(),
    async start() {
      cluster = await startPostgresCluster();
    },
    async stop() {
      await cluster?.stop();
      cluster = null;
    },
    async database() {
      if (!cluster) throw new Error('postgres backend: start() was not called (before() of the describe)');
      const url = await cluster.createDatabase();
      const pool = createPool(url, { max: 1 });
      try {
        await migratePostgres(pool, url);
      } finally {
        await pool.end();
      }
      return {
        async open() {
          const pool = createPool(url, { max: 6 });
          const alertStore = new PostgresAlertStore(pool);
          return {
            alertStore,
            rows: async <T>(sql: string) => (await pool.query(sql)).rows as T[],
            close: async () => {
              await alertStore.close();
              await pool.end();
            },
          };
        },
      };
    },
  };
}

/** Both backends, each for one describe() of a test file. */
export function alertBackends(): AlertBackend[] {
  return [sqlite, postgres()];
}
