// Where the ingest write transaction runs. On a worker thread with a connection of its own
// (IngestThread): while it commits one batch, the HTTP thread goes on receiving, parsing and
// validating the next reports, which queue up for the next batch. Measured with
// test/bench/ingest.bench.mjs: the batch transaction (SQL, WAL writes, checkpoints, fsync) was
// about half of the HTTP thread's time per report. Or on the caller's connection
// (InlineIngest), for an in-memory database, which a second connection cannot see.
//
// This module is both sides: IngestThread starts a worker on this very file (its own URL, so the
// same code runs from dist/*.js and, under tsx in the tests, from src/*.ts); in the worker, the
// block at the bottom opens the database and answers one message per batch. At most one batch
// is in flight: the store sends the next one when this one has been answered.
import { isMainThread, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { PreparedReport } from './ingest-rows.js';
import { IngestWriter, type BatchResult, type TokenTouches } from './ingest-writer.js';
import { openDatabase, type OpenDatabaseOptions } from './open.js';
import { RequestThread, serveRequests } from './request-thread.js';

export interface IngestSink {
  /** Where the writes run, for stats and logs. */
  readonly where: 'worker' | 'inline';
  write(reports: PreparedReport[], touches: TokenTouches): Promise<BatchResult>;
  close(): Promise<void>;
}

const WORKER_KIND = 'dualstack:ingest-writer';

interface WorkerSetup {
  kind: typeof WORKER_KIND;
  file: string;
  options: OpenDatabaseOptions;
}

interface Batch {
  reports: PreparedReport[];
  touches: TokenTouches;
}

/** The writes on the caller's own connection, synchronously inside write(). */
export class InlineIngest implements IngestSink {
  readonly where = 'inline';
  private readonly writer: IngestWriter;

  constructor(db: Database.Database) {
    this.writer = new IngestWriter(db);
  }

  async write(reports: PreparedReport[], touches: TokenTouches): Promise<BatchResult> {
    return this.writer.writeBatch(reports, touches);
  }

  async close(): Promise<void> {}
}

/**
 * The writes on a worker thread (db/request-thread.ts: started at the first write, and again
 * after it died); a batch in flight when it dies fails, and its reports are not acknowledged
 * (the agents send them again).
 */
export class IngestThread implements IngestSink {
  readonly where = 'worker';
  private readonly thread: RequestThread<Batch, BatchResult>;

  constructor(file: string, options: OpenDatabaseOptions) {
    const setup: WorkerSetup = { kind: WORKER_KIND, file, options };
    this.thread = new RequestThread(new URL(import.meta.url), setup, 'the ingest thread');
  }

  write(reports: PreparedReport[], touches: TokenTouches): Promise<BatchResult> {
    return this.thread.run({ reports, touches }, 'batch');
  }

  close(): Promise<void> {
    return this.thread.close();
  }
}

// --- the worker side -----------------------------------------------------------------------------

if (!isMainThread && (workerData as WorkerSetup | undefined)?.kind === WORKER_KIND) {
  const setup = workerData as WorkerSetup;
  let db: Database.Database | null = null;
  let writer: IngestWriter | null = null;
  serveRequests<Batch, BatchResult>({
    handle({ reports, touches }) {
      // Opened at the first batch rather than at start-up, so an open that fails (file
      // removed, permissions) is answered as that batch's failure.
      if (!writer) {
        db = openDatabase(setup.file, setup.options);
        writer = new IngestWriter(db);
      }
      return writer.writeBatch(reports, touches);
    },
    close() {
      if (db?.open) db.close();
    },
  });
}
