// The alerting of one collector: the evaluator, the delivery worker and the test send, on one
// AlertStore and one clock. The schedule is not here: server.ts runs evaluate() on node-cron
// (noOverlap), and tests call it with the time they want.
import { randomUUID } from 'node:crypto';
import type { EvaluationView } from './api.js';
import type { AlertsSettings } from './config.js';
import { DeliveryWorker, backoffMs, classify, post, type DeliveryLog, type Outcome } from './deliver.js';
import { Evaluator, type EvaluationResult } from './evaluate.js';
import { renderFor, testNotification } from './notify.js';
import type { AlertStore } from './store.js';

/** The error of an evaluation skipped because another collector holds the leader lease (not recorded). */
export const STANDBY = 'standby: another collector on this database evaluates alerts (it holds the leader lease)';

export interface AlertHooks {
  evaluated?(result: EvaluationResult | (EvaluationView & { error: string })): void;
  /** At each tick of a store with a leader lease: whether this collector evaluates. */
  leading?(leader: boolean): void;
  attempted?(receiver: string, outcome: Outcome): void;
}

/** Where evaluations run: an Evaluator on this thread, or db/evaluation-thread.ts's worker. */
export interface Evaluations {
  readonly where: 'inline' | 'worker';
  evaluate(now: Date): Promise<EvaluationResult>;
  close?(): Promise<void>;
}

export interface AlertServiceOptions {
  store: AlertStore;
  /**
   * Where evaluations run (default: an Evaluator on `store`, on this thread). It must evaluate
   * the same settings on the same database as `store`.
   */
  evaluations?: Evaluations;
  settings: AlertsSettings;
  /** The time (default: the system clock). Tests pass their own. */
  clock?: () => Date;
  /** Fresh hosts for the readiness shares, as in the summary (default 15 min). */
  staleAfterMs?: number;
  log?: DeliveryLog & { info(obj: object, msg: string): void };
  hooks?: AlertHooks;
}

function inlineEvaluations(evaluator: Evaluator): Evaluations {
  return { where: 'inline', evaluate: (now) => evaluator.evaluate(now) };
}

export interface TestSendResult {
  receiver: string;
  delivered: boolean;
  attempts: Array<{ statusCode: number | null; error: string | null; durationMs: number }>;
}

export class AlertService {
  readonly settings: AlertsSettings;
  readonly store: AlertStore;
  readonly delivery: DeliveryWorker;
  readonly clock: () => Date;
  readonly evaluations: Evaluations;
  private running: Promise<unknown> | null = null;
  /** Whether the last tick held the leader lease (null: no tick yet, or no lease). */
  private leading: boolean | null = null;
  private stopping = false;

  constructor(private readonly options: AlertServiceOptions) {
    this.settings = options.settings;
    this.store = options.store;
    this.clock = options.clock ?? (() => new Date());
    this.evaluations = options.evaluations ?? inlineEvaluations(new Evaluator({ store: options.store, settings: options.settings, staleAfterMs: options.staleAfterMs ?? 15 * 60_000 }));
    this.delivery = new DeliveryWorker({
      store: options.store,
      settings: options.settings,
      clock: this.clock,
      ...(options.log ? { log: options.log } : {}),
      hooks: { attempted: (receiver, outcome) => options.hooks?.attempted?.(receiver, outcome) },
    });
  }

  /**
   * One evaluation at `now` (default: the clock), recorded with its duration, then a kick of
   * the delivery worker. Never throws: a failed evaluation is recorded with its error.
   */
  async evaluate(now: Date = this.clock()): Promise<EvaluationView> {
    if (this.stopping) return { startedAt: now.toISOString(), durationMs: 0, active: 0, transitions: 0, notifications: 0, error: 'stopping' };
    const run = this.evaluateOnce(now);
    this.running = run;
    try {
      return await run;
    } finally {
      if (this.running === run) this.running = null;
    }
  }

  private async evaluateOnce(now: Date): Promise<EvaluationView> {
    const started = performance.now();
    if (this.store.lead) {
      const leading = await this.store.lead();
      if (leading !== this.leading) {
        this.options.log?.info({ leader: leading }, leading ? 'alerts: this collector evaluates alerts now (leader lease taken)' : 'alerts: another collector evaluates alerts (it holds the leader lease); standing by');
      }
      this.leading = leading;
      this.options.hooks?.leading?.(leading);
      if (!leading) {
        // Delivery is still kicked: this collector drains whatever lane nobody holds (e.g. the
        // entries of a leader that died mid-send).
        this.delivery.kick();
        return { startedAt: now.toISOString(), durationMs: performance.now() - started, active: 0, transitions: 0, notifications: 0, error: STANDBY };
      }
    }
    let record: EvaluationView;
    try {
      const result = await this.evaluations.evaluate(now);
      record = { startedAt: result.startedAt, durationMs: performance.now() - started, active: result.active, transitions: result.transitions, notifications: result.notifications, error: null };
      this.options.hooks?.evaluated?.({ ...result, durationMs: record.durationMs });
      if (result.transitions > 0 || result.notifications > 0) {
        this.options.log?.info({ active: result.active, transitions: result.transitions, notifications: result.notifications, durationMs: Math.round(record.durationMs) }, 'alerts: evaluated');
      }
    } catch (error) {
      record = { startedAt: now.toISOString(), durationMs: performance.now() - started, active: 0, transitions: 0, notifications: 0, error: (error as Error).message ?? String(error) };
      this.options.hooks?.evaluated?.({ ...record, error: record.error! });
      this.options.log?.error({ err: error }, 'alerts: evaluation failed');
    }
    try {
      await this.store.recordEvaluation(record);
    } catch (error) {
      this.options.log?.error({ err: error }, 'alerts: could not record the evaluation');
    }
    this.delivery.kick();
    return record;
  }

  /** Starts the delivery worker (server.ts; in tests, when delivery is wanted). */
  startDelivery(): Promise<void> {
    return this.delivery.start();
  }

  /**
   * Sends a test notification to one receiver now, outside the outbox (nothing is queued),
   * trying up to `attempts` times with the receiver's backoff (at most 5 s apart). Every
   * attempt is recorded, with kind 'test'.
   */
  async sendTest(receiverName: string, attempts = 3): Promise<TestSendResult> {
    const receiver = this.settings.receivers.find((r) => r.name === receiverName);
    if (!receiver) throw new Error(`no receiver named '${receiverName}' (receivers: ${this.settings.receivers.map((r) => r.name).join(', ') || 'none'})`);
    const id = randomUUID();
    const result: TestSendResult = { receiver: receiverName, delivered: false, attempts: [] };
    for (let n = 1; n <= attempts; n++) {
      const sentAt = this.clock();
      const notification = testNotification(id, receiverName, sentAt);
      const sent = await post(receiver, renderFor(receiver, notification, sentAt));
      const outcome = classify(sent);
      const last = n === attempts || outcome !== 'retry';
      await this.store.recordAttempt({
        outboxId: null,
        notificationId: id,
        receiver: receiverName,
        rule: 'test',
        kind: 'test',
        fingerprints: ['test'],
        attempt: n,
        at: sentAt.toISOString(),
        durationMs: sent.durationMs,
        statusCode: sent.statusCode,
        outcome: outcome === 'retry' && last ? 'failed' : outcome,
        error: sent.error,
      });
      result.attempts.push({ statusCode: sent.statusCode, error: sent.error, durationMs: sent.durationMs });
      if (outcome === 'delivered') {
        result.delivered = true;
        break;
      }
      if (last) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, backoffMs(n, receiver.retry))));
    }
    return result;
  }

  /** Deletes alert history older than `before` (the retention job). */
  prune(before: Date): Promise<number> {
    return this.store.prune(before);
  }

  /** Waits for a running evaluation, then stops delivery and lets the store give back its lease and claims. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running?.catch(() => undefined);
    await this.evaluations.close?.();
    await this.delivery.stop();
    await this.store.close?.();
  }
}
