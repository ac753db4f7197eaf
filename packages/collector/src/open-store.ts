// The store the collector runs on: SQLite (the embedded default), and the AlertStore beside it.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CollectorConfig } from './config.js';
import type { Store } from './store.js';
import type { AlertStore } from './alerts/store.js';
import { SqliteStore } from './db/sqlite-store.js';
import { SqliteAlertStore } from './db/sqlite-alert-store.js';

export function openStore(config: Pick<CollectorConfig, 'db' | 'staleAfterSeconds'> & Partial<Pick<CollectorConfig, 'maxClockSkewSeconds'>>): Store {
  mkdirSync(dirname(config.db), { recursive: true });
  return new SqliteStore(config.db, { staleAfterSeconds: config.staleAfterSeconds, ...(config.maxClockSkewSeconds !== undefined ? { maxClockSkewSeconds: config.maxClockSkewSeconds } : {}) });
}

/** The AlertStore on the same database as `store` (closed with it). */
export function alertStoreFor(store: Store): AlertStore {
  if (store instanceof SqliteStore) return new SqliteAlertStore(store.database);
  throw new Error('alerts: no AlertStore for this kind of Store; pass one to the alerts plugin (AppOptions.alerts.store)');
}
