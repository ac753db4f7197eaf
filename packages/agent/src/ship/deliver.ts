// At-least-once delivery: the spool goes first, oldest first, then the new report. A report
// leaves the spool only after the collector acknowledged it (200/202); an ack lost on the way
// means a resend, which the collector answers 200 duplicate (it is idempotent on reportId).
// Probe batches go the same way, through a spool of their kind (payload.ts).
import type { Dispatcher } from 'undici';
import type { Report } from '@dualstack/core';
import { pushDispatcher, pushPayload, DEFAULT_PUSH_TIMEOUT_MS, type PushOutcome } from './push.js';
import type { Spool } from './spool.js';
import type { PayloadKind } from './payload.js';

export type RetryOutcome = Extract<PushOutcome, { kind: 'retry' }>;
export type RejectedOutcome = Extract<PushOutcome, { kind: 'rejected' }>;
export type DeliveredOutcome = Extract<PushOutcome<unknown>, { kind: 'delivered' }>;

export interface DeliverOptions<T = Report> {
  /** The collector endpoint of the spool's kind (/api/v1/reports, /api/v1/probe-results). */
  url: string | URL;
  token: string;
  /** Where payloads of one kind wait; its kind says how they are posted and logged. */
  spool: Spool<T>;
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
  outcome: PushOutcome<unknown> | null;
  flush: FlushResult;
  /** Retry-After of the last retryable answer, in ms, or null. */
  retryAfterMs: number | null;
  /** Reports waiting in the spool afterwards. */
  waiting: number;
}

/** Sends the spooled reports, oldest first, until the first one the collector cannot take. */
export async function flushSpool<T>(options: DeliverOptions<T>): Promise<FlushResult> {
  return withDispatcher(options, (dispatcher) => flushWith(options, dispatcher));
}

/** The spool's kind, as push takes it (every kind's ack has `duplicate`). */
const kindOf = <T>(spool: Spool<T>) => spool.kind as PayloadKind<T, { duplicate: boolean }>;

async function flushWith<T>(options: DeliverOptions<T>, dispatcher: Dispatcher): Promise<FlushResult> {
  const { spool } = options;
  const kind = kindOf(spool);
  const log = options.log ?? (() => undefined);
  const result: FlushResult = { delivered: 0, rejected: 0, stoppedBy: null, waiting: 0 };
  for (const entry of await spool.list()) {
    if (options.signal?.aborted) {
      result.stoppedBy = { kind: 'retry', status: null, code: 'ABORTED', retryAfterMs: null, message: 'stopping' };
      break;
    }
    const payload = await spool.read(entry);
    if (payload === null) continue; // moved aside as corrupt, or delivered by another agent process
    const outcome = await pushPayload(kind, payload, pushOptions(options, dispatcher));
    if (outcome.kind === 'delivered') {
      await spool.remove(entry);
      result.delivered += 1;
      log(deliveredLine(kind, payload, outcome, `spooled ${kind.noun}`));
    } else if (outcome.kind === 'rejected' && !rejectsAgent(outcome)) {
      await spool.remove(entry);
      result.rejected += 1;
      log(`rejected spooled ${kind.noun} ${about(kind, payload)}: ${outcome.message}; dropped, not retried`);
    } else {
      result.stoppedBy = outcome;
      break;
    }
  }
  result.waiting = (await spool.size()).reports;
  return result;
}

/** Flushes the spool, then sends `payload` (a report, or the spool's kind); spools it when the collector cannot take it now. */
export async function deliver<T = Report>(payload: T, options: DeliverOptions<T>): Promise<DeliveryResult> {
  return withDispatcher(options, (dispatcher) => deliverWith(payload, options, dispatcher));
}

async function deliverWith<T>(payload: T, options: DeliverOptions<T>, dispatcher: Dispatcher): Promise<DeliveryResult> {
  const log = options.log ?? (() => undefined);
  const now = options.now ?? Date.now;
  const { spool } = options;
  const kind = kindOf(spool);
  const holdUntil = options.notBefore !== undefined && options.notBefore > now() ? options.notBefore : null;

  let flush: FlushResult = { delivered: 0, rejected: 0, stoppedBy: null, waiting: 0 };
  let outcome: PushOutcome<unknown> | null = null;
  let why: string;
  if (holdUntil !== null) {
    why = `the collector asked to wait until ${new Date(holdUntil).toISOString()}`;
  } else if (options.signal?.aborted) {
    why = 'stopping';
  } else {
    flush = await flushWith(options, dispatcher);
    outcome = flush.stoppedBy;
    if (outcome === null) {
      outcome = await pushPayload(kind, payload, pushOptions(options, dispatcher));
      if (outcome.kind === 'delivered') {
        log(deliveredLine(kind, payload, outcome, kind.noun));
        return { fate: 'delivered', outcome, flush, retryAfterMs: null, waiting: flush.waiting };
      }
      if (outcome.kind === 'rejected' && !rejectsAgent(outcome)) {
        log(`rejected ${kind.noun} ${about(kind, payload)}: ${outcome.message}; dropped, not retried`);
        return { fate: 'rejected', outcome, flush, retryAfterMs: null, waiting: flush.waiting };
      }
    }
    why = outcome.kind === 'rejected' ? `the collector refused this agent: ${outcome.message}` : outcome.code === 'ABORTED' ? 'stopping' : `collector unavailable: ${outcome.message}`;
  }

  const { entry } = await spool.add(payload);
  const waiting = (await spool.size()).reports;
  const retryAfterMs = outcome?.kind === 'retry' ? outcome.retryAfterMs : null;
  if (entry === null) return { fate: 'dropped', outcome, flush, retryAfterMs, waiting };
  const fate: ReportFate = outcome?.kind === 'rejected' ? 'held' : 'spooled';
  const hint = fate === 'held' ? ' (check the token and --collector)' : '';
  log(`spooled ${kind.noun} ${kind.id(payload)} (${kind.timeWord} ${kind.time(payload)}; ${why}); ${waiting} ${kind.noun}${waiting === 1 ? '' : 's'} waiting in ${spool.dir}${hint}`);
  return { fate, outcome, flush, retryAfterMs, waiting };
}

function pushOptions<T>(options: DeliverOptions<T>, dispatcher: Dispatcher) {
  return {
    url: options.url,
    token: options.token,
    timeoutMs: options.timeoutMs ?? DEFAULT_PUSH_TIMEOUT_MS,
    dispatcher,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.now ? { now: options.now } : {}),
  };
}

async function withDispatcher<T>(options: DeliverOptions<never> | DeliverOptions<unknown>, run: (dispatcher: Dispatcher) => Promise<T>): Promise<T> {
  if (options.dispatcher) return run(options.dispatcher);
  const dispatcher = pushDispatcher(options.timeoutMs ?? DEFAULT_PUSH_TIMEOUT_MS);
  try {
    return await run(dispatcher);
  } finally {
    await dispatcher.destroy().catch(() => undefined);
  }
}

/** "<id> (collected <time>)": how log lines name a payload (log.ts reads the id back). */
function about<T>(kind: PayloadKind<T, unknown>, payload: T): string {
  return `${kind.id(payload)} (${kind.timeWord} ${kind.time(payload)})`;
}

function deliveredLine<T, A>(kind: PayloadKind<T, A>, payload: T, outcome: DeliveredOutcome, what: string): string {
  const stored = outcome.duplicate ? 'already stored (duplicate, nothing written again)' : 'stored';
  // The ack came from kind.readAck: it is the kind's.
  const detail = outcome.ack ? kind.describeAck(outcome.ack as A) : '';
  return `delivered ${what} ${about(kind, payload)}: ${outcome.status} ${stored}${detail}`;
}
