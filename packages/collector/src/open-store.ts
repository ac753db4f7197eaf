// The store the collector runs on: SQLite (the embedded default).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CollectorConfig } from './config.js';
import type { Store } from './store.js';
import { SqliteStore } from './db/sqlite-store.js';

export function openStore(config: Pick<CollectorConfig, 'db' | 'staleAfterSeconds'>): Store {
  mkdirSync(dirname(config.db), { recursive: true });
  return new SqliteStore(config.db, { staleAfterSeconds: config.staleAfterSeconds });
}
