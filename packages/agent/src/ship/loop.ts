// `dualstack-agent run`: a node-cron schedule that scans and delivers (and, with --probe, a
// second one that runs probe rounds and delivers their batches through a spool of their own), a random delay before
// each scan (node-cron's maxRandomDelay) so a fleet started together does not hit the
// collector in the same second, never two cycles at once (node-cron's noOverlap for scans,
// one-at-a-time here for spool retries), and spool retries with backoff between scans.
//
// A tick that comes while the previous scan (or its random delay) still goes is skipped: an
// expected event on a slow scan, not a fault. It is handled here from node-cron's
// 'execution:overlap' event: counted (skippedScans) and logged at debug. node-cron 4 also warns
// about it, always, through the task's logger (by default on the console: "[NODE-CRON] [WARN]
// task still running, new execution blocked by overlap prevention!"); the task's logger here
// puts node-cron's notices at debug, its errors at warn, and nothing on the console. A tick
// node-cron fires too late ('execution:missed': the process was blocked or the host suspended
// past its 1 s tolerance) is skipped by node-cron and handled the same way.
import cron, { type ScheduledTask } from 'node-cron';
import type { Report } from '@dualstack/core';
import { retryDelay, type BackoffPolicy, type RandomSource } from './backoff.js';
import { deliver, flushSpool, rejectsAgent, type DeliverOptions } from './deliver.js';
import type { PushOutcome } from './push.js';

export interface AgentLoopOptions<T = Report> {
  /** node-cron expression (six fields: with seconds). */
  schedule: string;
  /** Upper bound of the random delay before each scan, in ms. */
  jitterMs: number;
  /**
   * One scan (or probe round); what it returns is delivered. Null: nothing to deliver this
   * time (the spool is still flushed).
   */
  scan: () => Promise<T | null>;
  /** What a cycle is called in log lines: 'scan' (default), 'probe round'. */
  cycle?: string;
  /** The token for this cycle (re-read each time, so a rotated token file is picked up). */
  token: () => string;
  delivery: Omit<DeliverOptions<T>, 'token' | 'signal' | 'notBefore' | 'log'>;
  log: (line: string) => void;
  /** Between scans; default from the schedule's interval (see backoffFor). */
  backoff?: BackoffPolicy;
  random?: RandomSource;
  /** How long stop() waits for the current cycle to spool what it holds. Default 10 s. */
  stopGraceMs?: number;
  /**
   * After a 401: get a new credential (re-enroll with the secret); true when one was stored,
   * and the spool is sent again at once with it.
   */
  renewCredential?: (why: string) => Promise<boolean>;
}

/** The shortest gap between the schedule's next runs, in ms (the interval of a regular one). */
export function scheduleInterval(expression: string): number {
  const probe = cron.createTask(expression, () => undefined);
  try {
    const runs = probe.getNextRuns(12).map((d) => d.getTime());
    let gap = Number.POSITIVE_INFINITY;
    for (let i = 1; i < runs.length; i += 1) gap = Math.min(gap, runs[i]! - runs[i - 1]!);
    return Number.isFinite(gap) ? gap : 24 * 3_600_000;
  } finally {
    void probe.destroy();
  }
}

/** Default jitter: a fifth of the interval, at most 30 s. */
export function defaultJitter(intervalMs: number): number {
  return Math.min(30_000, Math.floor(intervalMs / 5));
}

/** Retries between scans: first window a tenth of the interval (0.25..5 s), at most the interval or 5 min. */
export function backoffFor(intervalMs: number): BackoffPolicy {
  const baseMs = Math.max(250, Math.min(5_000, Math.floor(intervalMs / 10)));
  return { baseMs, capMs: Math.max(baseMs, Math.min(300_000, intervalMs)) };
}

export type SkippedScan = 'overlap' | 'missed';

export class AgentLoop<T = Report> {
  private task: ScheduledTask | null = null;
  private readonly skipped: Record<SkippedScan, number> = { overlap: 0, missed: 0 };
  private retryTimer: NodeJS.Timeout | null = null;
  private current: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private attempt = 0;
  /** The collector's Retry-After, as a time: nothing is sent before it. */
  private notBefore = 0;
  private stopping = false;
  private readonly backoff: BackoffPolicy;
  private readonly random: RandomSource;
  private readonly cycle: string;

  constructor(private readonly options: AgentLoopOptions<T>) {
    this.cycle = options.cycle ?? 'scan';
    this.backoff = options.backoff ?? backoffFor(scheduleInterval(options.schedule));
    this.random = options.random ?? Math.random;
  }

  start(): void {
    const log = this.options.log;
    this.task = cron.createTask(this.options.schedule, () => this.exclusive('scan', () => this.scanCycle()), {
      name: `dualstack-${this.cycle.replace(/ /g, '-')}`,
      noOverlap: true,
      maxRandomDelay: this.options.jitterMs,
      logger: {
        info: (message) => log(`scheduler notice: ${message}`),
        warn: (message) => log(`scheduler notice: ${message}`),
        debug: (message) => log(`scheduler notice: ${message instanceof Error ? message.message : message}`),
        error: (message, error) => log(`scheduler: ${message instanceof Error ? message.message : message}${error ? `: ${error.message}` : ''}`),
      },
    });
    this.task.on('execution:overlap', () => {
      this.skipped.overlap += 1;
      log(`skipped a ${this.cycle} (${this.skipped.overlap} so far): the previous one is still running`);
    });
    this.task.on('execution:missed', (context) => {
      this.skipped.missed += 1;
      log(`skipped a ${this.cycle} (${this.skipped.missed} missed so far): its time, ${context.date.toISOString()}, passed while the process was blocked or suspended`);
    });
    void this.task.start();
    // Reports spooled by an earlier run (or a `push`) need not wait for the first scan.
    void this.exclusive('retry', () => this.retryCycle());
  }

  /** Scheduled scans that did not run: the previous one still running, or their time missed. */
  skippedScans(reason: SkippedScan): number {
    return this.skipped[reason];
  }

  /** When the next scan is due (before its random delay), or null once stopped. */
  nextScan(): Date | null {
    return this.task?.getNextRun() ?? null;
  }

  /** Resolves when no scan or retry is running. */
  async idle(): Promise<void> {
    while (this.current) await this.current;
  }

  /**
   * Stops scheduling, abandons the push in flight (its report is spooled: nothing is lost, and
   * a resend is a harmless duplicate) and waits, up to the grace time, for the cycle to end.
   */
  async stop(reason: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.clearRetry();
    await this.task?.destroy();
    const busy = this.current;
    this.options.log(`stopping (${reason})${busy ? ': abandoning the current cycle; undelivered reports stay in the spool' : ''}`);
    this.abort.abort();
    if (busy) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.options.stopGraceMs ?? 10_000);
      });
      await Promise.race([busy, grace]);
      clearTimeout(timer);
    }
  }

  /** One cycle at a time: a scan waits for a running retry; a retry never waits for a scan. */
  private async exclusive(kind: 'scan' | 'retry', run: () => Promise<void>): Promise<void> {
    if (this.stopping) return;
    if (kind === 'retry' && this.current) return;
    while (this.current) await this.current;
    if (this.stopping) return;
    const cycle = run().catch((error: unknown) => this.options.log(`${kind === 'scan' ? this.cycle : kind} failed: ${(error as Error)?.message ?? String(error)}`));
    this.current = cycle;
    try {
      await cycle;
    } finally {
      if (this.current === cycle) this.current = null;
    }
  }

  private async scanCycle(): Promise<void> {
    this.clearRetry();
    const payload = await this.options.scan();
    if (payload === null) return this.retryCycle();
    const result = await deliver(payload, this.deliverOptions());
    if (await this.renewed(result.outcome)) return this.retryCycle();
    this.afterCycle(result.waiting, result.outcome, result.retryAfterMs);
  }

  private async retryCycle(): Promise<void> {
    this.retryTimer = null;
    let result = await flushSpool(this.deliverOptions());
    if (await this.renewed(result.stoppedBy)) result = await flushSpool(this.deliverOptions());
    this.afterCycle(result.waiting, result.stoppedBy, result.stoppedBy?.kind === 'retry' ? result.stoppedBy.retryAfterMs : null);
  }

  /** A 401 and a way to a new credential: true when one was got (once per cycle, so no loop). */
  private async renewed(outcome: PushOutcome<unknown> | null): Promise<boolean> {
    if (outcome?.kind !== 'rejected' || outcome.status !== 401 || !this.options.renewCredential || this.stopping) return false;
    return this.options.renewCredential(outcome.message);
  }

  private deliverOptions(): DeliverOptions<T> {
    return { ...this.options.delivery, token: this.options.token(), signal: this.abort.signal, notBefore: this.notBefore, log: this.options.log };
  }

  /** Plans the next retry of what is left in the spool. */
  private afterCycle(waiting: number, outcome: PushOutcome<unknown> | null, retryAfterMs: number | null): void {
    if (waiting === 0 || outcome?.kind === 'delivered') {
      this.attempt = 0;
      this.notBefore = 0;
      return;
    }
    if (this.stopping) return;
    const now = Date.now();
    if (retryAfterMs !== null) this.notBefore = now + retryAfterMs;
    const next = this.nextScan();
    const at = next ? ` at ${next.toISOString()}` : '';
    const noun = this.options.delivery.spool.kind.noun;
    const reports = `${waiting} spooled ${noun}${waiting === 1 ? '' : 's'}`;
    const wait = waiting === 1 ? 'waits' : 'wait';
    if (outcome?.kind === 'rejected' && rejectsAgent(outcome)) {
      // Retrying a refused token every few seconds helps nobody: the next scan tries again.
      this.options.log(`${reports} ${wait} for the next ${this.cycle}${at} (the collector refused this agent)`);
      return;
    }
    const asked = this.notBefore > now ? this.notBefore - now : null;
    const delay = retryDelay(this.attempt, this.backoff, asked, this.random);
    this.attempt += 1;
    if (next && now + delay >= next.getTime()) {
      this.options.log(`${reports} ${wait} for the next ${this.cycle}${at}`);
      return;
    }
    this.options.log(`retrying ${reports} in ${formatSeconds(delay)} (attempt ${this.attempt}${asked !== null ? `, the collector asked for ${formatSeconds(asked)}` : ''})`);
    this.retryTimer = setTimeout(() => void this.exclusive('retry', () => this.retryCycle()), delay);
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}

function formatSeconds(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
