// /healthz's write while the database's disk is full (disk-full.ts), on PostgreSQL: does the
// server have room for reports again? PostgreSQL refuses a write when a table must grow and its
// tablespace's filesystem is full (53100), not while the row fits in a page it already has, so
// rewriting a one-row table passes on a full disk (measured: postgres-disk-full.test.ts's
// tmpfs, the upsert committed while every report was refused) and would flap the state. So the
// probe stores ~1 MiB that cannot be compressed, out of line (migration 5's EXTERNAL column),
// and rolls it back: new pages of the table's TOAST relation, as several reports need (SQLite's
// probe asks for 1 MiB free too). Nothing is committed; the dead pages go with the next vacuum.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { withTransaction } from './pool.js';

/** Bytes the probe writes: room for several reports, a few pages of each of their tables. */
export const WRITE_PROBE_BYTES = 1024 * 1024;

class RolledBack extends Error {}

/** Resolves when the database took WRITE_PROBE_BYTES (then rolled back); rejects with the server's error (53100 while full). */
export async function probeWrite(pool: pg.Pool): Promise<void> {
  try {
    await withTransaction(pool, async (client) => {
      await client.query('INSERT INTO write_probe (payload) VALUES ($1)', [randomBytes(WRITE_PROBE_BYTES)]);
      throw new RolledBack();
    });
  } catch (error) {
    if (!(error instanceof RolledBack)) throw error;
  }
}
