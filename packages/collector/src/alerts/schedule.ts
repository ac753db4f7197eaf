// The collector's node-cron jobs (alert evaluations, retention), each never overlapping itself:
// noOverlap makes a tick that comes while the previous run still goes a skipped tick, not a
// second run piling up behind the first, so a slow evaluation on a big fleet cannot snowball.
//
// A skipped tick is expected (a run longer than the schedule's interval), not a fault, and is
// handled here: counted (skipped(), and onSkip for /metrics) and logged at debug. node-cron 4
// announces it twice: the 'execution:overlap' event, handled below, and, with noOverlap, always
// a warning through the task's logger, by default console.warn ("[NODE-CRON] [WARN] task still
// running, new execution blocked by overlap prevention!"). So every task gets its own logger:
// node-cron's notices go to the collector's log at debug (the events below are how it tells
// what happened), its errors at error, and nothing to the console. A tick node-cron fires too
// late ('execution:missed': the event loop blocked longer than its tolerance) is handled the
// same way; node-cron warns about it only when nobody listens.
import cron, { type Logger, type ScheduledTask } from 'node-cron';

export type SkipReason = 'overlap' | 'missed';
export const SKIP_REASONS: readonly SkipReason[] = ['overlap', 'missed'];

/** The collector's logger (pino/Fastify): what the jobs write to. */
export interface JobLog {
  debug(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface JobOptions {
  log?: JobLog;
  /** Each skipped tick (e.g. a /metrics counter). */
  onSkip?: (reason: SkipReason) => void;
}

export interface ScheduledJob {
  readonly name: string;
  readonly task: ScheduledTask;
  /** Ticks skipped so far for this reason. */
  skipped(reason: SkipReason): number;
  /** No tick after it (a run in progress goes on: AlertService.stop() waits for an evaluation). */
  stop(): Promise<void>;
}

const quiet: JobLog = { debug: () => undefined, error: () => undefined };

export function scheduleJob(name: string, expression: string, run: () => Promise<unknown>, options: JobOptions = {}): ScheduledJob {
  const log = options.log ?? quiet;
  const counts: Record<SkipReason, number> = { overlap: 0, missed: 0 };
  const logger: Logger = {
    info: (message) => log.debug({ job: name }, `node-cron: ${message}`),
    warn: (message) => log.debug({ job: name }, `node-cron: ${message}`),
    debug: (message, error) => log.debug({ job: name, ...(error ? { err: error } : {}) }, `node-cron: ${message instanceof Error ? message.message : message}`),
    error: (message, error) => log.error({ job: name, err: error ?? message }, `${name}: ${message instanceof Error ? message.message : message}`),
  };
  const task = cron.schedule(
    expression,
    async () => {
      await run();
    },
    { name, noOverlap: true, logger },
  );
  const skip = (reason: SkipReason, at: Date) => {
    counts[reason] += 1;
    options.onSkip?.(reason);
    const why = reason === 'overlap' ? 'the previous run is still going' : 'node-cron fired it too late (event loop blocked)';
    log.debug({ job: name, reason, at: at.toISOString(), skipped: counts[reason] }, `${name}: tick skipped: ${why}`);
  };
  task.on('execution:overlap', (context) => skip('overlap', context.date));
  task.on('execution:missed', (context) => skip('missed', context.date));
  return {
    name,
    task,
    skipped: (reason) => counts[reason],
    stop: async () => {
      await task.stop();
    },
  };
}

/** The alert evaluations, on alerts.schedule. */
export function scheduleEvaluations(schedule: string, evaluate: () => Promise<unknown>, options: JobOptions = {}): ScheduledJob {
  return scheduleJob('alerts', schedule, evaluate, options);
}
