// Opens the collector's SQLite file with the pragmas every connection needs, then migrates it.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrate, SCHEMA_VERSION, SchemaTooNewError, userVersion } from './migrations.js';

export interface OpenDatabaseOptions {
  /** Open without writing: no migration, no journal-mode change. */
  readonly?: boolean;
  /** How long a statement waits for another connection's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
  /**
   * FULL (default): every commit fsyncs the WAL, so an acknowledged report survives a power
   * loss or kernel crash, not only a process crash. NORMAL is for benchmarks and throwaway
   * databases. See the comment in openDatabase.
   */
  synchronous?: 'FULL' | 'NORMAL';
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;
export const PAGE_SIZE = 8192;

export function openDatabase(file: string, options: OpenDatabaseOptions = {}): Database.Database {
  const readonly = options.readonly ?? false;
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (!readonly && file !== ':memory:' && file !== '') mkdirSync(dirname(file), { recursive: true });
  if (!readonly && file !== ':memory:' && file !== '') createPrivate(file);
  const db = new Database(file, { readonly, fileMustExist: readonly, timeout: busyTimeoutMs });
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
    db.pragma('foreign_keys = ON');
    if (!readonly) {
      // A new file gets 8 KiB pages instead of 4 KiB: a 31 KB latest report is 4 overflow pages
      // instead of 8, and the ingest transaction's CPU per report drops ~20%
      // (test/bench/ingest.bench.mjs). It must be set before the first table and before WAL; an
      // existing file keeps the page size it was created with.
      if ((db.pragma('page_count', { simple: true }) as number) === 0) db.pragma(`page_size = ${PAGE_SIZE}`);
      // WAL: readers never block the writer, and a commit is one sequential append.
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal' && !db.memory) throw new Error(`${file}: could not switch to WAL journal mode (got '${String(mode)}')`);
      // Durability. SQLite's documentation (pragma.html#pragma_synchronous, wal.html): in WAL
      // mode, transactions are durable across application crashes whatever the synchronous
      // setting, because a commit has been written to the WAL file (the OS keeps it after
      // SIGKILL). With NORMAL the WAL is fsynced only at checkpoints, so "a transaction
      // committed in WAL mode with synchronous=NORMAL might roll back following a power loss
      // or system crash" - the database stays consistent, but recent commits can vanish.
      // With FULL, "writers sync the WAL on every transaction commit". We acknowledge a report
      // only after its commit, and acknowledged must mean durable (the agent then drops it
      // from its spool), so FULL. The cost is one fsync per commit, and ingest batches all
      // concurrent reports into one commit, so it is one fsync per batch, not per report.
      db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
      // After a burst, truncate the WAL back to this size at the next checkpoint instead of
      // keeping a large file forever.
      db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
      // 64 MiB of page cache instead of SQLite's 2 MiB: the hosts, services and findings pages an
      // ingest touches stay in memory (test/bench/ingest.bench.mjs: ~5% less CPU per report).
      db.pragma('cache_size = -65536');
      migrate(db);
    } else {
      const found = userVersion(db);
      if (found > SCHEMA_VERSION) throw new SchemaTooNewError(file, found, SCHEMA_VERSION);
    }
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * Creates a missing database file 0600 (the hosts' listeners and the token hashes are in it):
 * SQLite would create it under the process umask (0644 under 022), and it gives the -wal and
 * -shm files the database file's mode, so this covers all three. An existing file keeps its mode.
 */
function createPrivate(file: string): void {
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
