// The AlertStore backends the alert contract tests run against: SQLite (a file in a temp dir,
// the AlertStore on the SqliteStore's connection) and PostgreSQL (one throw-away cluster per
// test file, a new migrated database per test, the PostgresStore and the AlertStore on its
// pool as a collector has). A test gets a database and opens it as many times as it restarts its "collector".
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { AlertStore } from '../../src/alerts/store.js';
import { PostgresAlertStore } from '../../src/db/postgres/alert-store.js';
import { PostgresEndpointStore } from '../../src/db/postgres/endpoint-store.js';
import { PostgresStore } from '../../src/db/postgres/store.js';
import { SqliteAlertStore } from '../../src/db/sqlite-alert-store.js';
import { SqliteStore } from '../../src/db/sqlite-store.js';
import type { Store } from '../../src/store.js';
import { skipUnlessPostgres, startPostgresCluster, type PostgresCluster } from '../../../../test/helpers/postgres.js';

/** One open connection to a test database, as one collector has it. */
export interface AlertDatabase {
  /** The collector's Store on the database (ingest, reads, host keys). */
  store: Store;
  alertStore: AlertStore;
  /** The rows of a query without parameters (the same SQL on both backends). */
  rows<T>(sql: string): Promise<T[]>;
  /** Runs statements without results (SQL the backend understands). */
  exec(sql: string): Promise<void>;
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
  database(t: TestContext, options?: { staleAfterSeconds?: number }): Promise<{ open(): Promise<AlertDatabase> }>;
}

const sqlite: AlertBackend = {
  name: 'sqlite',
  skip: false,
  async start() {},
  async stop() {},
  async database(t, options = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'dualstack-alerts-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'c.db');
    return {
      async open() {
        const store = new SqliteStore(file, { staleAfterSeconds: options.staleAfterSeconds ?? 900 });
        return {
          store,
          alertStore: new SqliteAlertStore(store.database),
          rows: async <T>(sql: string) => store.database.prepare<[], T>(sql).all(),
          exec: async (sql: string) => void store.database.exec(sql),
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
    async database(_t, options = {}) {
      if (!cluster) throw new Error('postgres backend: start() was not called (before() of the describe)');
      // Migrated by the first PostgresStore.open().
      const url = await cluster.createDatabase();
      return {
        async open() {
          const store = await PostgresStore.open(url, { staleAfterSeconds: options.staleAfterSeconds ?? 900 });
          const endpoints = new PostgresEndpointStore(store.pool);
          const alertStore = new PostgresAlertStore(store.pool, { endpointInputs: (staleBefore) => endpoints.inputs(staleBefore) });
          return {
            store,
            alertStore,
            rows: async <T>(sql: string) => (await store.pool.query(sql)).rows as T[],
            exec: async (sql: string) => void (await store.pool.query(sql)),
            close: async () => {
              await alertStore.close();
              await store.close();
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
