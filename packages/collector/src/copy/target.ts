// The PostgreSQL side of `copy`: the target database migrated by its own migrations, then
// filled one batch per transaction. Each batch's transaction also moves the table's row in
// copy_progress (the last key copied), so a copy killed at any point (Ctrl-C, SIGKILL, a lost
// connection) has either written a batch and its progress or neither, and the next run starts
// after the last committed key. ON CONFLICT DO NOTHING on the primary key is a second guard.
import type pg from 'pg';
import { PostgresSchemaTooNewError, migratePostgres } from '../db/postgres/migrations.js';
import { connectionError, createPool, PostgresUrlError, redactUrl, withTransaction } from '../db/postgres/pool.js';
import { isUnavailable } from '../db/postgres/store.js';
import { CopyError } from './errors.js';
import type { Row } from './source.js';

export interface ProgressRow {
  table: string;
  source: string;
  /** The source's state when the copy started (CopySource.state). */
  sourceState: string;
  lastKey: unknown[] | null;
  rowsCopied: number;
  done: boolean;
}

interface TargetColumn {
  column_name: string;
  is_nullable: 'YES' | 'NO';
  column_default: string | null;
  is_identity: 'YES' | 'NO';
}

// Below PostgreSQL's 65,535 bind parameters per statement, whatever the table's width.
const MAX_PARAMETERS = 60_000;

const PROGRESS_TABLE = `CREATE TABLE IF NOT EXISTS copy_progress (
  table_name  TEXT PRIMARY KEY,
  source      TEXT NOT NULL,
  source_state TEXT NOT NULL,
  last_key    TEXT,
  rows_copied BIGINT NOT NULL,
  done        INTEGER NOT NULL CHECK (done IN (0, 1)),
  updated_at  TEXT NOT NULL
)`;

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export class CopyTarget {
  readonly pool: pg.Pool;
  readonly shown: string;

  private constructor(readonly url: string) {
    try {
      this.pool = createPool(url, { max: 2, applicationName: 'dualstack-collector copy' });
    } catch (error) {
      if (error instanceof PostgresUrlError) throw new CopyError(error.message.replace(/^--db /, '--to '));
      throw error;
    }
    this.shown = redactUrl(url);
  }

  /** Connects and brings the target to this code's schema (its own migrations). */
  static async open(url: string, options: { migrate: boolean }): Promise<CopyTarget> {
    const target = new CopyTarget(url);
    try {
      if (options.migrate) await migratePostgres(target.pool, url);
      else await target.pool.query('SELECT 1');
    } catch (error) {
      await target.pool.end().catch(() => {});
      if (error instanceof PostgresSchemaTooNewError) throw error;
      throw connectionError(url, error);
    }
    return target;
  }

  async columns(table: string): Promise<TargetColumn[]> {
    const result = await this.pool.query<TargetColumn>(
      `SELECT column_name, is_nullable, column_default, is_identity FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
      [table],
    );
    return result.rows;
  }

  async tables(): Promise<string[]> {
    const result = await this.pool.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'");
    return result.rows.map((r) => r.table_name);
  }

  /** The copy under way or done into this database (null: none was ever started). */
  async progress(): Promise<ProgressRow[] | null> {
    const exists = await this.pool.query<{ present: boolean }>("SELECT to_regclass('copy_progress') IS NOT NULL AS present");
    if (!exists.rows[0]?.present) return null;
    const result = await this.pool.query<{ table_name: string; source: string; source_state: string; last_key: string | null; rows_copied: number; done: number }>(
      'SELECT table_name, source, source_state, last_key, rows_copied, done FROM copy_progress',
    );
    if (result.rows.length === 0) return null;
    return result.rows.map((r) => ({ table: r.table_name, source: r.source, sourceState: r.source_state, lastKey: r.last_key === null ? null : (JSON.parse(r.last_key) as unknown[]), rowsCopied: Number(r.rows_copied), done: r.done === 1 }));
  }

  /** Fleet tables that hold rows, with their counts (empty: a fresh database). */
  async rowsHeld(tables: readonly string[]): Promise<Array<{ table: string; rows: number }>> {
    const held: Array<{ table: string; rows: number }> = [];
    for (const table of tables) {
      const any = await this.pool.query(`SELECT 1 FROM ${quote(table)} LIMIT 1`);
      if (any.rowCount) held.push({ table, rows: await this.count(table) });
    }
    return held;
  }

  /** Records the start of a copy of `source` (one progress row per table, in one transaction). */
  async begin(source: string, sourceState: string, tables: readonly string[]): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      await client.query(PROGRESS_TABLE);
      const at = new Date().toISOString();
      for (const table of tables) {
        await client.query(
          'INSERT INTO copy_progress (table_name, source, source_state, last_key, rows_copied, done, updated_at) VALUES ($1, $2, $3, NULL, 0, 0, $4) ON CONFLICT (table_name) DO NOTHING',
          [table, source, sourceState, at],
        );
      }
    });
  }

  /**
   * Inserts `rows` (already in key order) and records `lastKey` as copied, in one transaction.
   * Returns how many rows were new (a row already there from an earlier run is left as it is).
   */
  async writeBatch(table: string, key: readonly string[], columns: readonly string[], rows: readonly Row[], lastKey: unknown[]): Promise<number> {
    const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / columns.length));
    const list = columns.map(quote).join(', ');
    const conflict = `ON CONFLICT (${key.map(quote).join(', ')}) DO NOTHING`;
    try {
      return await withTransaction(this.pool, async (client) => {
        let inserted = 0;
        for (let start = 0; start < rows.length; start += perStatement) {
          const chunk = rows.slice(start, start + perStatement);
          const values: unknown[] = [];
          const tuples = chunk.map((row) => `(${columns.map((c) => `$${values.push(row[c] ?? null)}`).join(', ')})`);
          const result = await client.query(`INSERT INTO ${quote(table)} (${list}) VALUES ${tuples.join(', ')} ${conflict}`, values);
          inserted += result.rowCount ?? 0;
        }
        await client.query('UPDATE copy_progress SET last_key = $2, rows_copied = rows_copied + $3, updated_at = $4 WHERE table_name = $1', [
          table,
          JSON.stringify(lastKey),
          rows.length,
          new Date().toISOString(),
        ]);
        return inserted;
      });
    } catch (error) {
      throw this.failed(error, `copying ${table} after key ${JSON.stringify(lastKey)}`);
    }
  }

  async finishTable(table: string): Promise<void> {
    await this.pool.query('UPDATE copy_progress SET done = 1, updated_at = $2 WHERE table_name = $1', [table, new Date().toISOString()]);
  }

  /** Each identity column's sequence set past the largest copied id, so the next insert does not collide. */
  async advanceIdentities(table: string, columns: readonly TargetColumn[]): Promise<void> {
    for (const column of columns.filter((c) => c.is_identity === 'YES')) {
      await this.pool.query(`SELECT setval(pg_get_serial_sequence($1, $2), coalesce(max(${quote(column.column_name)}), 0) + 1, false) FROM ${quote(table)}`, [table, column.column_name]);
    }
  }

  async run(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async count(table: string): Promise<number> {
    const result = await this.pool.query<{ n: number }>(`SELECT count(*) AS n FROM ${quote(table)}`);
    return Number(result.rows[0]?.n ?? 0);
  }

  /** A lost connection says to run again (the copy resumes); anything else names what failed. */
  failed(error: unknown, doing: string): Error {
    const message = (error as Error).message ?? String(error);
    // pg's "Client has encountered a connection error and is not queryable": a query sent on a
    // connection the server had already closed (terminated while this client sat between queries).
    const gone = isUnavailable(error) || /connection error and is not queryable/.test(message);
    if (gone) return new CopyError(`--to ${this.shown}: the database went away while ${doing} (${message}): run the same copy command again, it resumes after the last committed batch`);
    return new CopyError(`--to ${this.shown}: ${doing} failed: ${message}`);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
