// Runs the collector: listen, the retention job, graceful shutdown on SIGTERM/SIGINT (stop
// accepting, finish in-flight requests, close the database).
import { readFileSync } from 'node:fs';
import cron from 'node-cron';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { parseListen, type CollectorConfig } from './config.js';
import { openStore } from './open-store.js';

export interface RunningCollector {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export async function startCollector(config: CollectorConfig): Promise<RunningCollector> {
  const store = openStore(config);
  const app = await buildApp({
    store,
    config,
    logger: { level: config.logLevel },
    ...(config.tls ? { https: { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) } } : {}),
  });
  const retention = cron.schedule(
    config.retentionSchedule,
    async () => {
      const before = new Date(Date.now() - config.retentionDays * 86_400_000);
      const removed = await store.pruneReports(before);
      app.log.info({ removed, before: before.toISOString() }, 'retention: pruned report history');
    },
    { noOverlap: true, name: 'retention' },
  );
  app.addHook('onClose', async () => {
    await retention.stop();
  });
  const { host, port } = parseListen(config.listen);
  const address = await app.listen({ host, port });
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
