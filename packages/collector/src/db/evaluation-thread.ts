// The alert evaluation of a SQLite collector, on a worker thread with a connection of its own.
// On the HTTP thread an evaluation stopped everything else while it ran: at 200,000 hosts
// (276,000-400,000 live alerts) it took 17-37 s of every minute, reading the open findings,
// diffing them against the live alerts in JS and committing the changes, and no report was
// received meanwhile (test/bench/ingest.bench.mjs --hosts 200000). On its own thread it reads
// from a WAL snapshot while ingest goes on, and its write transactions take their turn with the
// ingest thread's through SQLite's lock (busy timeout).
//
// The same Evaluator, rules and SqliteAlertStore run there as on the HTTP thread: only where
// they run changes, on a structured clone of the service's settings.
// This module is both sides, like db/ingest-thread.ts: EvaluationThread starts a worker on this
// very file, whose block at the bottom answers one evaluation at a time.
import { isMainThread, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { AlertsSettings } from '../alerts/config.js';
import { Evaluator, type EvaluationResult } from '../alerts/evaluate.js';
import type { Evaluations } from '../alerts/service.js';
import { openDatabase, type OpenDatabaseOptions } from './open.js';
import { RequestThread, serveRequests } from './request-thread.js';
import { SqliteAlertStore } from './sqlite-alert-store.js';

const WORKER_KIND = 'dualstack:alert-evaluation';

interface WorkerSetup {
  kind: typeof WORKER_KIND;
  file: string;
  options: OpenDatabaseOptions;
  settings: AlertsSettings;
  staleAfterMs: number;
}

export interface EvaluationThreadOptions {
  /** The database file (a file: ':memory:' cannot be seen from another connection). */
  file: string;
  options: OpenDatabaseOptions;
  /** The AlertService's settings (plain data: they are cloned to the worker). */
  settings: AlertsSettings;
  staleAfterMs: number;
}

/** Evaluations on a worker thread (started at the first, and again after it died). */
export class EvaluationThread implements Evaluations {
  readonly where = 'worker';
  private readonly thread: RequestThread<Date, EvaluationResult>;

  constructor(options: EvaluationThreadOptions) {
    if (options.file === ':memory:' || options.file === '') throw new Error('EvaluationThread: an in-memory database cannot be read from another thread');
    const setup: WorkerSetup = { kind: WORKER_KIND, file: options.file, options: options.options, settings: options.settings, staleAfterMs: options.staleAfterMs };
    this.thread = new RequestThread(new URL(import.meta.url), setup, 'the alert evaluation thread');
  }

  evaluate(now: Date): Promise<EvaluationResult> {
    return this.thread.run(now, 'evaluation');
  }

  close(): Promise<void> {
    return this.thread.close();
  }
}

// --- the worker side -----------------------------------------------------------------------------

if (!isMainThread && (workerData as WorkerSetup | undefined)?.kind === WORKER_KIND) {
  const setup = workerData as WorkerSetup;
  let db: Database.Database | null = null;
  let evaluator: Evaluator | null = null;
  serveRequests<Date, EvaluationResult>({
    handle(now) {
      // Opened at the first evaluation, so an open that fails is that evaluation's error.
      if (!evaluator) {
        db = openDatabase(setup.file, setup.options);
        evaluator = new Evaluator({ store: new SqliteAlertStore(db), settings: setup.settings, staleAfterMs: setup.staleAfterMs });
      }
      return evaluator.evaluate(now);
    },
    close() {
      if (db?.open) db.close();
    },
  });
}
