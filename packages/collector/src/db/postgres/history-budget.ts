// The history budget (maxReportsPerHost) on PostgreSQL, seen from one collector. The trim itself
// is migration 4's trigger, run inside whatever transaction ingest writes a report in; the budget
// reaches it as a setting every connection of the pool starts with. What SQLite's store keeps in
// its counters comes back as the trigger's NOTICE (reportId, hostId, trimmed) on the connection
// that did it: noted per report until that report's ingest settles, then counted, and the
// over/under event raised as SQLite raises it, once per change of state and host. A notice of a
// transaction that rolled back is dropped when its report settles as not stored.
import type pg from 'pg';
import type { StoreOptions } from '../../store.js';

/** The session setting migration 4's trigger reads (unset: count, never trim). */
export const MAX_REPORTS_SETTING = 'dualstack.max_reports_per_host';
const NOTICE = 'dualstack history trimmed';

export class PostgresHistoryBudget {
  /** Trims noted by notices, by report id, until the report's ingest settles. */
  private readonly noted = new Map<string, number>();
  /** Hosts whose last stored report trimmed their history. */
  private readonly over = new Set<string>();
  private total = 0;

  constructor(
    private readonly maxReportsPerHost: number | undefined,
    private readonly onHistoryBudget: StoreOptions['onHistoryBudget'],
  ) {}

  /** The pool's connection settings: the budget, and notices sent to the client whatever the role's default. */
  settings(): Record<string, string> {
    return this.maxReportsPerHost === undefined ? {} : { [MAX_REPORTS_SETTING]: String(this.maxReportsPerHost), client_min_messages: 'notice' };
  }

  /** Listens for the trigger's notices on every connection `pool` opens. */
  watch(pool: pg.Pool): void {
    if (this.maxReportsPerHost === undefined) return;
    pool.on('connect', (client) => {
      client.on('notice', (notice) => {
        if (notice.message !== NOTICE || notice.detail === undefined) return;
        const { reportId, trimmed } = JSON.parse(notice.detail) as { reportId: string; trimmed: number };
        // A transaction run again (deadlock) notices again: the last attempt's count is the one committed.
        this.noted.set(reportId, trimmed);
      });
    });
  }

  /** A report's ingest settled: stored (a new report committed), or not (duplicate, refused, failed). */
  settle(reportId: string, hostId: string, stored: boolean): void {
    const trimmed = this.noted.get(reportId) ?? 0;
    this.noted.delete(reportId);
    if (!stored || this.maxReportsPerHost === undefined) return;
    this.total += trimmed;
    const over = trimmed > 0;
    if (over === this.over.has(hostId)) return;
    if (over) this.over.add(hostId);
    else this.over.delete(hostId);
    this.onHistoryBudget?.({ hostId, state: over ? 'over' : 'under', trimmed, maxReportsPerHost: this.maxReportsPerHost });
  }

  /** Reports this collector's ingest trimmed since start. */
  trimmed(): number {
    return this.total;
  }
}
