// At-least-once delivery: the spool goes first, oldest first, then the new report. A report
// leaves the spool only after the collector acknowledged it (200/202); an ack lost on the way
// means a resend, which the collector answers 200 duplicate (it is idempotent on reportId).
import type { Dispatcher } from 'undici';
import type { Report } from '@dualstack/core';
import { pushDispatcher, pushReport, DEFAULT_PUSH_TIMEOUT_MS, type PushOutcome } from './push.js';
import type { Spool } from './spool.js';

export type RetryOutcome = Extract<PushOutcome, { kind: 'retry' }>;
export type RejectedOutcome = Extract<PushOutcome, { kind: 'rejected' }>;
export type DeliveredOutcome = Extract<PushOutcome, { kind: 'delivered' }>;

export interface DeliverOptions {
  url: string | URL;
  token: string;
  spool: Spool;
  timeoutMs?: number;
  /** One line per event. Default: nothing. */
  log?: (line: string) => void;
  /** Abandons the current push (the report is spooled or stays spooled) and stops the flush. */
  signal?: AbortSignal;
  /**
   * Until this time (ms since the epoch) the collector asked not to be called (Retry-After):
   * the report goes straight to the spool.
   */
  notBefore?: number;
  now?: () => number;
  dispatcher?: Dispatcher;
}

/**
 * Whether a rejection is about the agent rather than the report: a wrong token (401, 403) or
 * a wrong --collector (404, 405, a redirect). Such reports are kept: dropping a whole backlog
 * because of a configuration mistake an operator fixes in a minute would lose data. Any other
 * 4xx (400 bad body, 413 too large, 422, ...) judges the report itself: it is dropped.
 */
export function rejectsAgent(outcome: RejectedOutcome): boolean {
  return outcome.status === 401 || outcome.status === 403 || outcome.status === 404 || outcome.status === 405 || (outcome.status >= 300 && outcome.status < 400);
}

export interface FlushResult {
  /** Spooled reports the collector acknowledged (and that left the spool). */
  delivered: number;
  /** Spooled reports the collector rejected for what they hold (dropped). */
  rejected: number;
  /** Why the flush stopped before the end: a retryable failure or a rejection of the agent. */
  stoppedBy: RetryOutcome | RejectedOutcome | null;
  /** Reports still waiting in the spool. */
  waiting: number;
}

/**
 * What became of the new report:
 * - delivered: the collector acknowledged it;
 * - spooled: it waits in the spool (collector down or busy, or told us to wait, or stopping);
 * - rejected: the collector refused what it holds; dropped, never sent again;
 * - held: the collector refused this agent (token, URL); kept in the spool for when it is fixed;
 * - dropped: it could not even be spooled (larger than the spool's byte bound).
 */
export type ReportFate = 'delivered' | 'spooled' | 'rejected' | 'held' | 'dropped';

export interface DeliveryResult {
  fate: ReportFate;
  /** The collector's answer that decided the fate (for spooled without a try: the flush's). */
  outcome: PushOutcome | null;
  flush: FlushResult;
  /** Retry-After of the last retryable answer, in ms, or null. */
  retryAfterMs: number | null;
  /** Reports waiting in the spool afterwards. */
  waiting: number;
}

/** Sends the spooled reports, oldest first, until the first one the collector cannot take. */
export async function flushSpool(options: DeliverOptions): Promise<FlushResult> {
  return withDispatcher(options, (dispatcher) => flushWith(options, dispatcher));
}

async function flushWith(options: DeliverOptions, dispatcher: Dispatcher): Promise<FlushResult> {
  const { spool } = options;
  const log = options.log ?? (() => undefined);
  const result: FlushResult = { delivered: 0, rejected: 0, stoppedBy: null, waiting: 0 };
  for (const entry of await spool.list()) {
    if (options.signal?.aborted) {
      result.stoppedBy = { kind: 'retry', status: null, code: 'ABORTED', retryAfterMs: null, message: 'stopping' };
      break;
    }
    const report = await spool.read(entry);
    if (report === null) continue; // moved aside as corrupt, or delivered by another agent process
    const outcome = await pushReport(report, pushOptions(options, dispatcher));
    if (outcome.kind === 'delivered') {
      await spool.remove(entry);
      result.delivered += 1;
      log(deliveredLine(report, outcome, 'spooled report'));
    } else if (outcome.kind === 'rejected' && !rejectsAgent(outcome)) {
      await spool.remove(entry);
      result.rejected += 1;
      log(`rejected spooled report ${report.reportId} (collected ${report.collectedAt}): ${outcome.message}; dropped, not retried`);
    } else {
      result.stoppedBy = outcome;
      break;
    }
  }
  result.waiting = (await spool.size()).reports;
  return result;
}

/** Flushes the spool, then sends `report`; spools it when the collector cannot take it now. */
export async function deliver(report: Report, options: DeliverOptions): Promise<DeliveryResult> {
  return withDispatcher(options, (dispatcher) => deliverWith(report, options, dispatcher));
}

async function deliverWith(report: Report, options: DeliverOptions, dispatcher: Dispatcher): Promise<DeliveryResult> {
  const log = options.log ?? (() => undefined);
  const now = options.now ?? Date.now;
  const { spool } = options;
  const holdUntil = options.notBefore !== undefined && options.notBefore > now() ? options.notBefore : null;

  let flush: FlushResult = { delivered: 0, rejected: 0, stoppedBy: null, waiting: 0 };
  let outcome: PushOutcome | null = null;
  let why: string;
  if (holdUntil !== null) {
    why = `the collector asked to wait until ${new Date(holdUntil).toISOString()}`;
  } else if (options.signal?.aborted) {
    why = 'stopping';
  } else {
    flush = await flushWith(options, dispatcher);
    outcome = flush.stoppedBy;
    if (outcome === null) {
      outcome = await pushReport(report, pushOptions(options, dispatcher));
      if (outcome.kind === 'delivered') {
        log(deliveredLine(report, outcome, 'report'));
        return { fate: 'delivered', outcome, flush, retryAfterMs: null, waiting: flush.waiting };
      }
      if (outcome.kind === 'rejected' && !rejectsAgent(outcome)) {
        log(`rejected report ${report.reportId} (collected ${report.collectedAt}): ${outcome.message}; dropped, not retried`);
        return { fate: 'rejected', outcome, flush, retryAfterMs: null, waiting: flush.waiting };
      }
    }
    why = outcome.kind === 'rejected' ? `the collector refused this agent: ${outcome.message}` : outcome.code === 'ABORTED' ? 'stopping' : `collector unavailable: ${outcome.message}`;
  }

  const { entry } = await spool.add(report);
  const waiting = (await spool.size()).reports;
  const retryAfterMs = outcome?.kind === 'retry' ? outcome.retryAfterMs : null;
  if (entry === null) return { fate: 'dropped', outcome, flush, retryAfterMs, waiting };
  const fate: ReportFate = outcome?.kind === 'rejected' ? 'held' : 'spooled';
  const hint = fate === 'held' ? ' (check the token and --collector)' : '';
  log(`spooled report ${report.reportId} (collected ${report.collectedAt}; ${why}); ${waiting} report${waiting === 1 ? '' : 's'} waiting in ${spool.dir}${hint}`);
  return { fate, outcome, flush, retryAfterMs, waiting };
}

function pushOptions(options: DeliverOptions, dispatcher: Dispatcher) {
  return {
    url: options.url,
    token: options.token,
    timeoutMs: options.timeoutMs ?? DEFAULT_PUSH_TIMEOUT_MS,
    dispatcher,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.now ? { now: options.now } : {}),
  };
}

async function withDispatcher<T>(options: DeliverOptions, run: (dispatcher: Dispatcher) => Promise<T>): Promise<T> {
  if (options.dispatcher) return run(options.dispatcher);
  const dispatcher = pushDispatcher(options.timeoutMs ?? DEFAULT_PUSH_TIMEOUT_MS);
  try {
    return await run(dispatcher);
  } finally {
    await dispatcher.destroy().catch(() => undefined);
  }
}

function deliveredLine(report: Report, outcome: DeliveredOutcome, what: string): string {
  const stored = outcome.duplicate ? 'already stored (duplicate, nothing written again)' : 'stored';
  const ack = outcome.ack;
  const findings = ack ? `; ${ack.findings.open} findings open (${ack.findings.opened} opened, ${ack.findings.resolved} resolved)` : '';
  return `delivered ${what} ${report.reportId} (collected ${report.collectedAt}): ${outcome.status} ${stored}${findings}`;
}
