// The SQLite side of `copy`: the collector's database opened read-only (never migrated, never
// written), read in key order one batch at a time inside one read transaction, so the whole
// copy sees one moment of the database even if a collector still writes to it (WAL readers do
// not block the writer; rows a collector adds meanwhile are not in this copy).
import { existsSync, realpathSync } from 'node:fs';
import Database from 'better-sqlite3';
import { SCHEMA_VERSION, userVersion } from '../db/migrations.js';
import { CopyError } from './errors.js';
import { COPIED_TABLES, NOT_COPIED } from './tables.js';

export interface SourceTable {
  name: string;
  columns: string[];
  /** Primary key columns in key order: batches are read by (key) > (last key). */
  key: string[];
}

export type Row = Record<string, unknown>;

export class CopySource {
  readonly file: string;
  readonly tables: SourceTable[];
  private readonly db: Database.Database;
  private readonly pages = new Map<string, { first: Database.Statement; next: Database.Statement }>();

  constructor(file: string) {
    if (!existsSync(file)) throw new CopyError(`--from ${file}: no such file (give the collector's SQLite database, e.g. ./data/dualstack.db)`);
    this.file = realpathSync(file);
    let db: Database.Database;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
    } catch (error) {
      throw new CopyError(`--from ${file}: cannot open it read-only: ${(error as Error).message}`);
    }
    this.db = db;
    try {
      this.tables = this.inspect(file);
      // One read transaction for the whole copy: BEGIN alone takes no snapshot, the first read does.
      db.exec('BEGIN');
      db.prepare('SELECT count(*) FROM hosts').get();
    } catch (error) {
      db.close();
      throw error;
    }
  }

  private inspect(file: string): SourceTable[] {
    let version: number;
    let present: Set<string>;
    try {
      version = userVersion(this.db);
      present = new Set(this.db.prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table'").all().map((r) => r.name));
    } catch (error) {
      throw new CopyError(`--from ${file}: not a dualstack database (${(error as Error).message})`);
    }
    if (version === 0 || !present.has('hosts') || !present.has('reports')) throw new CopyError(`--from ${file}: not a dualstack database (no collector tables in it)`);
    if (version !== SCHEMA_VERSION) {
      throw new CopyError(
        `--from ${file}: its schema version is ${version} and this collector's is ${SCHEMA_VERSION}: run 'dualstack-collector migrate --db ${file}' with this version first (stop the collector), then copy; nothing was written`,
      );
    }
    const unknown = [...present].filter((name) => !NOT_COPIED.has(name) && !COPIED_TABLES.some((t) => t.name === name));
    if (unknown.length > 0) throw new Error(`copy: the SQLite schema has tables copy does not know (${unknown.join(', ')}): add them to src/copy/tables.ts`);
    return COPIED_TABLES.map(({ name }) => {
      const info = this.db.prepare<[], { name: string; pk: number }>(`SELECT name, pk FROM pragma_table_info('${name}')`).all();
      const key = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
      if (key.length === 0) throw new Error(`copy: table ${name} has no primary key to copy it in batches by`);
      return { name, columns: info.map((c) => c.name), key };
    });
  }

  /**
   * What this snapshot holds, in a few numbers: every table's count and the latest report
   * times. A resumed copy compares it with the interrupted one's: equal, the rows not yet
   * copied are the ones left; different, a collector wrote meanwhile and rows already copied
   * may have changed in place (hosts, findings, alert states), which a resume would not see.
   */
  state(counts: ReadonlyMap<string, number>): string {
    const latest = this.db.prepare("SELECT (SELECT max(last_seen) FROM hosts) AS lastSeen, (SELECT max(received_at) FROM reports) AS lastReceived").get();
    return JSON.stringify({ counts: Object.fromEntries(counts), ...(latest as object) });
  }

  count(table: string): number {
    return this.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  }

  /** Up to `limit` rows of `table` after `after` (a key, or null for the first), in key order. */
  batch(table: SourceTable, after: unknown[] | null, limit: number, columns: readonly string[]): Row[] {
    let statements = this.pages.get(table.name);
    if (!statements) {
      const list = columns.map((c) => `"${c}"`).join(', ');
      const key = table.key.map((c) => `"${c}"`).join(', ');
      const order = `ORDER BY ${key} LIMIT ?`;
      statements = {
        first: this.db.prepare(`SELECT ${list} FROM ${table.name} ${order}`),
        // A row value: SQLite walks the primary key's b-tree from the last key on.
        next: this.db.prepare(`SELECT ${list} FROM ${table.name} WHERE (${key}) > (${table.key.map(() => '?').join(', ')}) ${order}`),
      };
      this.pages.set(table.name, statements);
    }
    return (after === null ? statements.first.all(limit) : statements.next.all(...after, limit)) as Row[];
  }

  close(): void {
    if (this.db.inTransaction) this.db.exec('COMMIT');
    this.db.close();
  }
}
