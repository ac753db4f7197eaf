// Online backup of the collector's database with SQLite's backup API (better-sqlite3's
// db.backup): a consistent copy taken while the collector keeps ingesting. The copy is written
// beside the target, checked (PRAGMA integrity_check), turned into a self-contained file
// (journal_mode=DELETE: no -wal to carry along) and only then renamed into place, so FILE is
// either a whole, checked backup or not there at all.
import { chmodSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';

export interface BackupOptions {
  /** Replace an existing file (default: refuse). */
  overwrite?: boolean;
  /**
   * Pages copied per step; the event loop runs between steps. A write by ANOTHER connection
   * (another process) between steps restarts the copy, so a CLI backing up the database of a
   * running collector copies everything in one step ('all'); within the collector's own
   * process, writes through the same connection update the copy and small steps keep ingest
   * flowing. Default 'all'.
   */
  pagesPerStep?: number | 'all';
}

export interface BackupSummary {
  file: string;
  bytes: number;
  /** PRAGMA user_version of the copy. */
  schemaVersion: number;
  hosts: number;
  reports: number;
}

export class BackupError extends Error {
  override name = 'BackupError';
}

const ALL_PAGES = 0x7fffffff;

/** Copies the open database `db` to `file`; resolves when the checked copy is in place. */
export async function backupDatabase(db: Database.Database, file: string, options: BackupOptions = {}): Promise<BackupSummary> {
  const target = resolve(file);
  if (!existsSync(dirname(target))) throw new BackupError(`cannot back up to ${target}: directory ${dirname(target)} does not exist`);
  if (existsSync(target) && !options.overwrite) throw new BackupError(`${target} already exists (remove it, or use --force to replace it)`);
  if (existsSync(target) && statSync(target).isDirectory()) throw new BackupError(`${target} is a directory`);
  const partial = join(dirname(target), `.${basename(target)}.partial-${process.pid}-${Date.now()}`);
  const removePartial = () => {
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${partial}${suffix}`, { force: true });
  };
  const step = options.pagesPerStep === undefined || options.pagesPerStep === 'all' ? ALL_PAGES : Math.max(1, Math.trunc(options.pagesPerStep));
  try {
    await db.backup(partial, { progress: () => step });
    const copy = new Database(partial, { fileMustExist: true });
    let summary: Omit<BackupSummary, 'file' | 'bytes'>;
    try {
      const check = copy.pragma('integrity_check') as Array<{ integrity_check: string }>;
      const problems = check.map((row) => row.integrity_check).filter((line) => line !== 'ok');
      if (problems.length > 0) throw new BackupError(`the copy failed PRAGMA integrity_check: ${problems.slice(0, 3).join('; ')}`);
      copy.pragma('journal_mode = DELETE');
      summary = {
        schemaVersion: copy.pragma('user_version', { simple: true }) as number,
        hosts: countRows(copy, 'hosts'),
        reports: countRows(copy, 'reports'),
      };
    } finally {
      copy.close();
    }
    chmodSync(partial, 0o600); // reports and token hashes: for the collector's user only
    renameSync(partial, target);
    return { file: target, bytes: statSync(target).size, ...summary };
  } catch (error) {
    removePartial();
    if (error instanceof BackupError) throw error;
    throw new BackupError(`backup to ${target} failed: ${(error as Error).message}`, { cause: error });
  }
}

function countRows(db: Database.Database, table: string): number {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
  return exists ? (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n : 0;
}
