// Delivery: a worker drains the outbox, one lane per receiver. Within a lane notifications go
// out in order, one at a time (a resolve never overtakes its firing); lanes are independent, so
// a receiver that is down delays only its own lane, and evaluation only writes the outbox, so
// it is never blocked by a receiver at all. At least once: an entry is marked delivered only
// after a 2xx, so a crash or a lost response means it is sent again (receivers deduplicate on
// notificationId). Every attempt is recorded.
//
// Outcomes: 2xx delivered; no response (refused, reset, timeout), 408, 425, 429 and 5xx are
// retried with exponential backoff (initialMs, doubling, at most maxMs, with jitter, never
// sooner than a Retry-After), for as long as it takes; any other status (3xx, 4xx) means the
// receiver refuses this request and retrying will not change it: the entry fails, is recorded
// with the response, and the lane moves on.
import { Agent, request } from 'undici';
import type { AlertsSettings, ReceiverSettings } from './config.js';
import { notificationAlert, renderFor, alertmanagerBody } from './notify.js';
import type { AlertStore, AttemptInput, OutboxEntry } from './store.js';

export interface SendResult {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** From a Retry-After header (seconds or an HTTP date), in ms. */
  retryAfterMs: number | null;
}

export type Outcome = 'delivered' | 'retry' | 'failed';

export function classify(result: Pick<SendResult, 'statusCode'>): Outcome {
  const code = result.statusCode;
  if (code === null) return 'retry';
  if (code >= 200 && code < 300) return 'delivered';
  if (code === 408 || code === 425 || code === 429 || code >= 500) return 'retry';
  return 'failed';
}

/** Backoff before attempt `attempt + 1` after `attempt` failures: initial x 2^(attempt-1), capped, half of it jittered. */
export function backoffMs(attempt: number, retry: { initialMs: number; maxMs: number }, random: () => number = Math.random): number {
  const ceiling = Math.min(retry.maxMs, retry.initialMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

function retryAfter(header: string | string[] | undefined, now: number): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : null;
}

/** One POST of a JSON body, with the receiver's headers and timeout (connect to last body byte). */
export async function post(receiver: ReceiverSettings, body: unknown, options: { dispatcher?: Agent; signal?: AbortSignal } = {}): Promise<SendResult> {
  const started = performance.now();
  const timeout = AbortSignal.timeout(receiver.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const response = await request(receiver.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'dualstack-collector', ...receiver.headers },
      body: JSON.stringify(body),
      signal,
      headersTimeout: receiver.timeoutMs,
      bodyTimeout: receiver.timeoutMs,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
    const text = await response.body.text();
    const ok = response.statusCode >= 200 && response.statusCode < 300;
    return {
      statusCode: response.statusCode,
      error: ok ? null : `HTTP ${response.statusCode}${text ? `: ${text.slice(0, 300)}` : ''}`,
      durationMs: performance.now() - started,
      retryAfterMs: retryAfter(response.headers['retry-after'], Date.now()),
    };
  } catch (error) {
    const err = error as Error & { code?: string; cause?: { code?: string; message?: string } };
    let message: string;
    if (timeout.aborted) message = `timeout after ${receiver.timeoutMs} ms`;
    else if (options.signal?.aborted) message = 'aborted: the collector is shutting down';
    else message = [err.code ?? err.cause?.code, err.cause?.message ?? err.message].filter(Boolean).join(': ');
    return { statusCode: null, error: message, durationMs: performance.now() - started, retryAfterMs: null };
  }
}

export interface DeliveryHooks {
  attempted?(receiver: string, outcome: Outcome): void;
}

export interface DeliveryLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface DeliveryOptions {
  store: AlertStore;
  settings: AlertsSettings;
  clock: () => Date;
  log?: DeliveryLog;
  hooks?: DeliveryHooks;
  random?: () => number;
}

interface Lane {
  receiver: ReceiverSettings;
  /** The rules routed to this receiver (for an Alertmanager refresh). */
  rules: string[];
  running: Promise<void> | null;
  again: boolean;
  timer: NodeJS.Timeout | null;
  abort: AbortController;
  lastRefreshAt: number | null;
  /** Failed refreshes in a row, and no refresh before this time (their backoff). */
  refreshFailures: number;
  refreshNotBefore: number;
}

export class DeliveryWorker {
  private readonly lanes = new Map<string, Lane>();
  private readonly dispatcher = new Agent({ keepAliveTimeout: 4000, connections: 4 });
  private started = false;
  private stopped = false;

  constructor(private readonly options: DeliveryOptions) {
    for (const receiver of options.settings.receivers) {
      const rules = [...options.settings.routes].filter(([, names]) => names.includes(receiver.name)).map(([rule]) => rule);
      this.lanes.set(receiver.name, { receiver, rules, running: null, again: false, timer: null, abort: new AbortController(), lastRefreshAt: null, refreshFailures: 0, refreshNotBefore: 0 });
    }
  }

  /** Starts delivering: fails the entries of receivers no longer configured, then drains every lane. */
  async start(): Promise<void> {
    if (this.started || this.stopped) return;
    this.started = true;
    const orphans = await this.options.store.failOrphans([...this.lanes.keys()], this.options.clock());
    if (orphans > 0) this.options.log?.warn({ orphans }, 'alerts: outbox entries of receivers no longer configured were failed');
    this.kick();
  }

  /** Drains every lane now (after an evaluation wrote the outbox). */
  kick(): void {
    if (!this.started || this.stopped) return;
    for (const lane of this.lanes.values()) this.run(lane);
  }

  private stopping: Promise<void> | null = null;

  /** Stops: no new attempts, the ones in flight are aborted (and recorded as to retry). */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    for (const lane of this.lanes.values()) {
      if (lane.timer) clearTimeout(lane.timer);
      lane.timer = null;
      lane.abort.abort();
    }
    await Promise.all([...this.lanes.values()].map((lane) => lane.running));
    await this.dispatcher.close();
  }

  private run(lane: Lane): void {
    if (lane.running) {
      lane.again = true;
      return;
    }
    lane.again = false;
    lane.running = this.drain(lane)
      .catch((error: unknown) => {
        this.options.log?.error({ err: error, receiver: lane.receiver.name }, 'alerts: delivery lane failed; retrying later');
        this.wake(lane, lane.receiver.retry.initialMs);
      })
      .finally(() => {
        lane.running = null;
        if (lane.again && !this.stopped) this.run(lane);
      });
  }

  private wake(lane: Lane, delayMs: number): void {
    if (this.stopped) return;
    if (lane.timer) clearTimeout(lane.timer);
    lane.timer = setTimeout(() => {
      lane.timer = null;
      this.run(lane);
    }, Math.min(2 ** 31 - 1, Math.max(0, delayMs)));
    lane.timer.unref();
  }

  private async drain(lane: Lane): Promise<void> {
    const { store, clock } = this.options;
    while (!this.stopped) {
      const entry = await store.nextOutbox(lane.receiver.name);
      if (!entry) break;
      const wait = Date.parse(entry.nextAttemptAt) - clock().getTime();
      if (wait > 0) {
        await store.releaseOutbox?.(entry);
        this.wake(lane, wait);
        return;
      }
      if ((await this.attempt(lane, entry)) === 'retry') return;
    }
    if (!this.stopped && lane.receiver.type === 'alertmanager') await this.refresh(lane);
  }

  private async attempt(lane: Lane, entry: OutboxEntry): Promise<Outcome> {
    const { store, clock } = this.options;
    const receiver = lane.receiver;
    const sentAt = clock();
    const result = await post(receiver, renderFor(receiver, entry.notification, sentAt), { dispatcher: this.dispatcher, signal: lane.abort.signal });
    const outcome = classify(result);
    const number = entry.attempts + 1;
    const record: AttemptInput = {
      outboxId: entry.id,
      notificationId: entry.notificationId,
      receiver: receiver.name,
      rule: entry.rule,
      kind: 'notification',
      fingerprints: entry.notification.alerts.map((a) => a.fingerprint),
      attempt: number,
      at: sentAt.toISOString(),
      durationMs: result.durationMs,
      statusCode: result.statusCode,
      outcome,
      error: result.error,
    };
    let delay = 0;
    if (outcome === 'retry') {
      // Shutting down: try again as soon as the collector is back.
      delay = this.stopped ? 0 : Math.min(receiver.retry.maxMs, Math.max(backoffMs(number, receiver.retry, this.options.random), result.retryAfterMs ?? 0));
      record.nextAttemptAt = new Date(clock().getTime() + delay).toISOString();
    }
    await store.recordAttempt(record);
    this.options.hooks?.attempted?.(receiver.name, outcome);
    if (outcome === 'retry') {
      if (!this.stopped) this.options.log?.warn({ receiver: receiver.name, attempt: number, error: result.error, retryInMs: delay }, 'alerts: delivery failed; will retry');
      this.wake(lane, delay);
    } else if (outcome === 'failed') {
      this.options.log?.error({ receiver: receiver.name, attempt: number, error: result.error }, 'alerts: receiver refused the notification; not retrying it');
    }
    return outcome;
  }

  /** Alertmanager: sends the alerts it was told are firing again, every resendInterval. */
  private async refresh(lane: Lane): Promise<void> {
    const { store, clock } = this.options;
    const receiver = lane.receiver;
    const now = clock().getTime();
    const next = Math.max(lane.refreshNotBefore, lane.lastRefreshAt === null ? 0 : lane.lastRefreshAt + receiver.resendIntervalMs);
    if (now < next) {
      this.wake(lane, next - now);
      return;
    }
    const firing = await store.notifiedFiring(lane.rules);
    if (firing.length > 0) {
      const sentAt = clock();
      const alerts = firing.map((a) => notificationAlert(a, 'refresh'));
      const result = await post(receiver, alertmanagerBody(alerts, sentAt, receiver.resendIntervalMs), { dispatcher: this.dispatcher, signal: lane.abort.signal });
      const outcome = classify(result) === 'delivered' ? 'delivered' : 'failed';
      await store.recordAttempt({
        outboxId: null,
        notificationId: null,
        receiver: receiver.name,
        rule: null,
        kind: 'refresh',
        fingerprints: alerts.map((a) => a.fingerprint),
        attempt: 1,
        at: sentAt.toISOString(),
        durationMs: result.durationMs,
        statusCode: result.statusCode,
        outcome,
        error: result.error,
      });
      this.options.hooks?.attempted?.(receiver.name, outcome);
      if (outcome !== 'delivered') {
        lane.refreshFailures++;
        const delay = backoffMs(lane.refreshFailures, receiver.retry, this.options.random);
        lane.refreshNotBefore = now + delay;
        this.wake(lane, delay);
        return;
      }
    }
    lane.refreshFailures = 0;
    lane.refreshNotBefore = 0;
    lane.lastRefreshAt = now;
    this.wake(lane, receiver.resendIntervalMs);
  }
}
