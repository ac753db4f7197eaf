// The store the collector runs on, chosen by --db (or DUALSTACK_DB): a postgres:// or
// postgresql:// URL is PostgreSQL (several collectors on one database), anything else a SQLite
// file (the embedded default); and the AlertStore beside it on the same database.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CollectorConfig } from './config.js';
import type { Store, StoreOptions } from './store.js';
import type { AlertStore } from './alerts/store.js';
import type { AlertsSettings } from './alerts/config.js';
import type { Evaluations } from './alerts/service.js';
import { EvaluationThread } from './db/evaluation-thread.js';
import { SqliteStore } from './db/sqlite-store.js';
import { SqliteAlertStore } from './db/sqlite-alert-store.js';
import { isPostgresUrl, redactUrl } from './db/postgres/pool.js';
import { PostgresStore } from './db/postgres/store.js';
import { PostgresAlertStore } from './db/postgres/alert-store.js';

type StoreConfig = Pick<CollectorConfig, 'db' | 'staleAfterSeconds'> & Partial<Pick<CollectorConfig, 'maxClockSkewSeconds' | 'maxReportsPerHost' | 'dbPoolSize'>>;

/** What the running collector hands the store beside its configuration (the log's callbacks). */
export type StoreHooks = Pick<StoreOptions, 'onHistoryBudget'>;

const storeOptions = (config: StoreConfig, hooks: StoreHooks = {}) => ({
  ...hooks,
  staleAfterSeconds: config.staleAfterSeconds,
  ...(config.maxClockSkewSeconds !== undefined ? { maxClockSkewSeconds: config.maxClockSkewSeconds } : {}),
  ...(config.maxReportsPerHost !== undefined ? { maxReportsPerHost: config.maxReportsPerHost } : {}),
});

/** A SQLite store on the file config.db (created and migrated when needed). */
export function openStore(config: StoreConfig, hooks: StoreHooks = {}): Store {
  if (isPostgresUrl(config.db)) throw new Error(`${redactUrl(config.db)} is a PostgreSQL URL: open it with connectStore()`);
  mkdirSync(dirname(config.db), { recursive: true });
  return new SqliteStore(config.db, storeOptions(config, hooks));
}

/**
 * The store config.db names: PostgreSQL for a postgres:// or postgresql:// URL (connected and
 * migrated before this resolves; a bad URL, a refused login, a missing database or one migrated
 * by a newer collector is an error naming the URL without its password), else SQLite.
 */
export async function connectStore(config: StoreConfig, hooks: StoreHooks = {}): Promise<Store> {
  if (isPostgresUrl(config.db)) return PostgresStore.open(config.db, { ...storeOptions(config, hooks), ...(config.dbPoolSize !== undefined ? { max: config.dbPoolSize } : {}) });
  return openStore(config, hooks);
}

/** The AlertStore on the same database as `store` (closed with it). */
export function alertStoreFor(store: Store): AlertStore {
  if (store instanceof SqliteStore) return new SqliteAlertStore(store.database);
  if (store instanceof PostgresStore) return new PostgresAlertStore(store.pool, { endpointInputs: (staleBefore) => store.endpointInputsBefore(staleBefore) });
  throw new Error('alerts: no AlertStore for this kind of Store; pass one to the alerts plugin (AppOptions.alerts.store)');
}

/**
 * Where the alert evaluations of `store` run: for a SQLite file, on a worker thread with its own
 * connection (db/evaluation-thread.ts: on this thread, an evaluation of 200,000 hosts stopped
 * the HTTP thread for 17-37 s a minute); otherwise undefined: an Evaluator on this thread
 * (PostgreSQL, whose reads are awaited rather than blocking; its JS part is measured at 50,000
 * hosts, not 200,000).
 */
export function evaluationsFor(store: Store, settings: AlertsSettings, staleAfterMs: number): Evaluations | undefined {
  const connection = store instanceof SqliteStore ? store.threadConnection : null;
  return connection ? new EvaluationThread({ ...connection, settings, staleAfterMs }) : undefined;
}
