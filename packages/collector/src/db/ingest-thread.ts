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
import { isMainThread, parentPort, workerData, type Worker } from 'node:worker_threads';
import { startWorker } from '@dualstack/core/worker';
import type Database from 'better-sqlite3';
import type { PreparedReport } from './ingest-rows.js';
import { IngestWriter, type BatchResult, type TokenTouches } from './ingest-writer.js';
import { openDatabase, type OpenDatabaseOptions } from './open.js';

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

type Request = { type: 'write'; reports: PreparedReport[]; touches: TokenTouches } | { type: 'close' };
type Reply = { type: 'result'; result: BatchResult } | { type: 'failed'; message: string; code?: string } | { type: 'closed' };

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
 * The writes on a worker thread, started at the first write (so the CLI's short commands never
 * start one) and started again after it died; a batch in flight when it dies fails, and its
 * reports are not acknowledged (the agents send them again).
 */
export class IngestThread implements IngestSink {
  readonly where = 'worker';
  private worker: Worker | null = null;
  private waiting: { resolve(reply: Reply): void; reject(error: Error): void } | null = null;

  constructor(
    private readonly file: string,
    private readonly options: OpenDatabaseOptions,
  ) {}

  write(reports: PreparedReport[], touches: TokenTouches): Promise<BatchResult> {
    return this.request({ type: 'write', reports, touches }).then((reply) => {
      if (reply.type === 'result') return reply.result;
      if (reply.type === 'failed') throw Object.assign(new Error(reply.message), reply.code !== undefined ? { code: reply.code } : {});
      throw new Error(`the ingest thread answered '${reply.type}' to a write`);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    // The worker closes its connection and answers; then nothing of it is left to wait for.
    await this.request({ type: 'close' }).catch(() => undefined);
    this.worker = null;
    await worker.terminate();
  }

  private request(message: Request): Promise<Reply> {
    if (this.waiting) return Promise.reject(new Error('the ingest thread is busy with another batch'));
    const worker = this.worker ?? this.start();
    return new Promise<Reply>((resolve, reject) => {
      this.waiting = { resolve, reject };
      worker.ref(); // a batch in flight keeps the process alive; an idle thread does not
      worker.postMessage(message);
    });
  }

  private start(): Worker {
    const setup: WorkerSetup = { kind: WORKER_KIND, file: this.file, options: this.options };
    const worker = startWorker(new URL(import.meta.url), { workerData: setup });
    worker.unref();
    const settle = (how: (waiting: NonNullable<IngestThread['waiting']>) => void) => {
      const waiting = this.waiting;
      this.waiting = null;
      worker.unref();
      if (waiting) how(waiting);
    };
    worker.on('message', (reply: Reply) => settle((w) => w.resolve(reply)));
    worker.on('error', (error) => {
      if (this.worker === worker) this.worker = null;
      settle((w) => w.reject(new Error(`the ingest thread failed: ${error.message}`, { cause: error })));
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = null;
      settle((w) => w.reject(new Error(`the ingest thread exited (code ${code}) before answering`)));
    });
    this.worker = worker;
    return worker;
  }
}

// --- the worker side -----------------------------------------------------------------------------

if (!isMainThread && (workerData as WorkerSetup | undefined)?.kind === WORKER_KIND) {
  const setup = workerData as WorkerSetup;
  const port = parentPort!;
  let db: Database.Database | null = null;
  let writer: IngestWriter | null = null;
  port.on('message', (message: Request) => {
    if (message.type === 'close') {
      if (db?.open) db.close();
      port.postMessage({ type: 'closed' } satisfies Reply);
      return;
    }
    try {
      // Opened at the first message rather than at start-up, so an open that fails (file
      // removed, permissions) is answered as that batch's failure.
      if (!writer) {
        db = openDatabase(setup.file, setup.options);
        writer = new IngestWriter(db);
      }
      port.postMessage({ type: 'result', result: writer.writeBatch(message.reports, message.touches) } satisfies Reply);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      port.postMessage({ type: 'failed', message: (error as Error).message, ...(typeof code === 'string' ? { code } : {}) } satisfies Reply);
    }
  });
}
