// The alerts plugin: decorates the app with its AlertService (app.alerts), registers the
// alert metrics on app.metrics.registry and the routes of routes/alerts.ts, and stops
// delivery when the app closes (before the store closes: onClose hooks run in reverse order).
// Neither the schedule nor the delivery worker starts here: server.ts starts both, so an app
// built for a test does nothing on its own.
import fp from 'fastify-plugin';
import { alertRoutes } from '../routes/alerts.js';
import { alertStoreFor, evaluationsFor } from '../open-store.js';
import { resolveAlerts, type AlertsConfig } from './config.js';
import { registerAlertMetrics } from './metrics.js';
import { AlertService } from './service.js';
import type { AlertStore } from './store.js';
import { diskFullAwareLog } from '../plugins/disk-full.js';

declare module 'fastify' {
  interface FastifyInstance {
    alerts: AlertService;
  }
}

export interface AlertsPluginOptions {
  /** The `alerts` key of the configuration (validated by resolveConfig); default rules, no receivers. */
  config?: AlertsConfig | undefined;
  /** Default: the AlertStore on the app's store (SQLite). */
  store?: AlertStore | undefined;
  /** Default: the system clock. */
  clock?: (() => Date) | undefined;
  /** The collector's staleAfterSeconds, for the readiness shares (default 900). */
  staleAfterSeconds?: number | undefined;
  /**
   * Evaluate on a worker thread when the app's store is a SQLite file and no `store` is given
   * (default true; see open-store.ts evaluationsFor).
   */
  evaluationThread?: boolean | undefined;
}

export const alertsPlugin = fp<AlertsPluginOptions>(
  async (app, opts) => {
    const settings = resolveAlerts(opts.config);
    const store = opts.store ?? alertStoreFor(app.store);
    const hooks = registerAlertMetrics(app.metrics.registry, store, settings.receivers);
    const staleAfterMs = (opts.staleAfterSeconds ?? 900) * 1000;
    const evaluations = opts.store || opts.evaluationThread === false ? undefined : evaluationsFor(app.store, settings, staleAfterMs);
    const service = new AlertService({
      store,
      settings,
      ...(evaluations ? { evaluations } : {}),
      ...(opts.clock ? { clock: opts.clock } : {}),
      staleAfterMs,
      // Each evaluation is recorded: on a full disk, one line per change of state, not one per minute.
      log: diskFullAwareLog(app.log, app.diskFull),
      hooks,
    });
    app.decorate('alerts', service);
    app.addHook('onClose', async () => service.stop());
    await app.register(alertRoutes);
  },
  { name: 'alerts', dependencies: ['store', 'auth', 'metrics', 'disk-full'], fastify: '5.x' },
);
