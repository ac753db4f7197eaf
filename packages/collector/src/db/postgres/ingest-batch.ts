// Group commit for the PostgreSQL store: reports wait in one queue per collector, and a few
// writers each take whatever has queued up (up to maxBatch) into one transaction
// (ingest.ts's writeBatch); a second one starts beside the first only for a backlog. Under
// light load a report is written at once, alone; under load the reports that arrive while a
// batch commits share the next one, so the commit's WAL flush and the round trips are paid
// once per batch instead of once per report: the same idea as the SQLite store's ingest writer
// (db/ingest-writer.ts), with several writers because PostgreSQL commits transactions of other
// connections (and collectors) in parallel.
//
// A batch holds at most one report per host: two reports of one host (a resend, or two
// collectors' twins) are written one after the other, in the order they came, and
// "several rows for one host" never reaches a multi-row statement.
import type { PreparedReport, WriteResult } from '../ingest-rows.js';
import type { BatchOutcome } from './ingest.js';

interface Waiting {
  report: PreparedReport;
  resolve: (result: WriteResult) => void;
  reject: (error: unknown) => void;
}

export interface IngestBatcherOptions {
  /** Transactions in flight at once (each on its own connection). */
  writers: number;
  /** Most reports in one transaction. */
  maxBatch: number;
}

export class IngestBatcher {
  private readonly queue: Waiting[] = [];
  private running = 0;
  private batches = 0;
  private batched = 0;

  constructor(
    private readonly write: (reports: PreparedReport[]) => Promise<BatchOutcome[]>,
    private readonly options: IngestBatcherOptions,
  ) {}

  /** Resolves with the report's own outcome once the transaction that stored it has committed. */
  submit(report: PreparedReport): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ report, resolve, reject });
      this.pump();
    });
  }

  /** Batches written (transactions attempted) and the reports they carried, since start. */
  stats(): { batches: number; reports: number } {
    return { batches: this.batches, reports: this.batched };
  }

  private pump(): void {
    while (this.running < this.options.writers && this.queue.length > 0) {
      // Another writer starts beside a running one only for a backlog: a few waiting reports
      // wait for the commit in flight and go in the next batch together.
      if (this.running > 0 && this.queue.length < SECOND_WRITER_BACKLOG) break;
      const batch = this.take();
      this.running++;
      void this.run(batch).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  /** The oldest queued reports, one per host, up to maxBatch; the rest keep their places. */
  private take(): Waiting[] {
    const batch: Waiting[] = [];
    const hosts = new Set<string>();
    for (let i = 0; i < this.queue.length && batch.length < this.options.maxBatch; ) {
      const entry = this.queue[i]!;
      if (hosts.has(entry.report.hostId)) {
        i++;
        continue;
      }
      hosts.add(entry.report.hostId);
      batch.push(entry);
      this.queue.splice(i, 1);
    }
    return batch;
  }

  private async run(batch: Waiting[]): Promise<void> {
    this.batches++;
    this.batched += batch.length;
    try {
      const outcomes = await this.write(batch.map((w) => w.report));
      batch.forEach((w, i) => {
        const outcome = outcomes[i]!;
        if ('ok' in outcome) w.resolve(outcome.ok);
        else w.reject(outcome.error);
      });
    } catch (error) {
      for (const w of batch) w.reject(error);
    }
  }
}

/**
 * Reports waiting before a second transaction starts beside one in flight. Starting it for any
 * waiting report split 20 reports in flight into batches of ~3.6 (one collector) and ~2.4 (two);
 * with 8, 5.8 and 4.3, and one collector at 50,000 hosts went from 843-891 to 944-1,024
 * reports/s, 1.50 to 1.34 ms of CPU per report (test/bench/ingest.bench.mjs, 60 s rounds). A
 * batch stuck on a lock still does not stop ingest: the backlog behind it starts the next.
 */
export const SECOND_WRITER_BACKLOG = 8;

/** Most reports in one transaction: a batch's statements stay a few hundred KB of parameters. */
export const MAX_BATCH = 64;

/**
 * Writers for a pool of `poolMax` connections: 2 (1 for a pool under 4), so one batch fills
 * while the other commits and a batch waiting on a lock does not stop ingest. Not more:
 * more transactions in flight split the same load into smaller batches, and PostgreSQL pays
 * per statement and per commit. Measured in-process, 20 reports in flight, 1,000 hosts:
 * database CPU per report 1.04-1.08 ms with 1 writer (batches of ~10), 1.36-1.63 ms with 2,
 * 1.66-1.89 ms with 4 (batches of ~2.4); see docs/operations.md "Scaling out".
 */
export function ingestWriters(poolMax: number): number {
  return poolMax < 4 ? 1 : 2;
}
