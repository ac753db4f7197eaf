// Runs the collector: listen, the retention job, the alert evaluation job and the delivery of
// its notifications, graceful shutdown on SIGTERM/SIGINT (stop accepting, finish in-flight
// requests, finish the running evaluation, stop delivery, close the database).
import { readFileSync } from 'node:fs';
import { Counter } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { parseListen, type CollectorConfig } from './config.js';
import { connectStore } from './open-store.js';
import { SKIP_REASONS, scheduleEvaluations, scheduleJob, type JobOptions } from './alerts/schedule.js';

export interface RunningCollector {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  /** The alerts' time (default: the system clock). */
  clock?: () => Date;
}

export async function startCollector(config: CollectorConfig, options: StartOptions = {}): Promise<RunningCollector> {
  // The store exists before the app and its log: a host's history budget is logged once per
  // change of state (over / under), through the app's log once there is one.
  let log: FastifyInstance['log'] | null = null;
  const store = await connectStore(config, {
    onHistoryBudget: (event) =>
      event.state === 'over'
        ? log?.warn(event, 'host history budget: the oldest reports of this host are deleted as new ones arrive (maxReportsPerHost); it sends far more often than its interval')
        : log?.info(event, 'host history budget: the host is back under maxReportsPerHost'),
  });
  // buildApp can refuse (an endpoints: name the API declared): close the store, or its ingest
  // thread would keep a collector that cannot start alive.
  const app = await buildApp({
    store,
    config,
    logger: { level: config.logLevel },
    ...(config.tls ? { https: { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) } } : {}),
    alerts: { config: config.alerts, clock: options.clock, staleAfterSeconds: config.staleAfterSeconds },
    endpoints: { config: config.endpoints, probeTimeoutMs: config.probe?.timeoutMs },
  }).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  log = app.log;
  // Both jobs never overlap themselves: a tick while the previous run still goes is skipped,
  // counted here and logged at debug (alerts/schedule.ts), never a console warning.
  const skippedTicks = new Counter({
    name: 'dualstack_schedule_skipped_ticks_total',
    help: 'Ticks of the collector\'s cron jobs that did not run, by job (alerts, retention) and reason: overlap (the previous run was still going), missed (fired too late).',
    labelNames: ['job', 'reason'],
    registers: [app.metrics.registry],
  });
  const jobOptions = (job: string): JobOptions => {
    for (const reason of SKIP_REASONS) skippedTicks.inc({ job, reason }, 0);
    return { log: app.log, onSkip: (reason) => skippedTicks.inc({ job, reason }) };
  };
  const retention = scheduleJob(
    'retention',
    config.retentionSchedule,
    async () => {
      const before = new Date(Date.now() - config.retentionDays * 86_400_000);
      const removed = await store.pruneReports(before);
      const probeBatches = await store.pruneProbes(before);
      const alertRows = await app.alerts.prune(before);
      app.log.info({ removed, probeBatches, alertRows, before: before.toISOString() }, 'retention: pruned report, probe and alert history');
    },
    jobOptions('retention'),
  );
  // Alerts: evaluated on the schedule, never two at once (a tick while one runs is skipped).
  // Delivery runs on its own (kicked after each evaluation), so a slow receiver never delays it.
  const alerting = scheduleEvaluations(app.alerts.settings.schedule, () => app.alerts.evaluate(), jobOptions('alerts'));
  await app.alerts.startDelivery();
  // Added after buildApp, so it runs before the plugins' onClose hooks (alerts, then store).
  app.addHook('onClose', async () => {
    await retention.stop();
    await alerting.stop();
  });
  const { host, port } = parseListen(config.listen);
  let address: string;
  try {
    address = await app.listen({ host, port });
  } catch (error) {
    // The port taken (EADDRINUSE), an address not on this host...: stop the jobs, the delivery
    // and the database, or they would keep a collector that cannot serve alive.
    await app.close();
    throw error;
  }
  return { app, url: address, close: () => app.close() };
}

/** Closes the collector on the first SIGTERM/SIGINT; a second one exits at once. */
export function closeOnSignals(collector: RunningCollector): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) process.exit(1);
    closing = true;
    collector.app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    collector.close().then(
      () => process.exit(0),
      (error: unknown) => {
        collector.app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
