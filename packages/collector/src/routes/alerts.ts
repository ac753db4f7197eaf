// The alert API (role reader): alerts firing, pending and recently resolved with the last
// evaluation and each receiver's queue; the history of status changes; every delivery attempt.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Page, Problem } from '../api.js';
import { AlertEventView, AlertsResponse, AttemptView, DeliveriesQuery, HistoryQuery, type AlertView } from '../alerts/api.js';
import type { StoredAlert } from '../alerts/store.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function viewOf(alert: StoredAlert): AlertView {
  const st = alert.state;
  return {
    fingerprint: alert.fingerprint,
    rule: alert.rule,
    status: st.status,
    labels: alert.labels,
    summary: alert.annotations.summary ?? '',
    fix: alert.annotations.fix ?? '',
    annotations: alert.annotations,
    activeSince: iso(st.activeSince)!,
    firingSince: iso(st.firingSince),
    resolvedAt: iso(st.resolvedAt),
    notifiedStatus: st.notifiedStatus,
    lastNotifiedAt: iso(st.lastNotifiedAt),
  };
}

export const alertRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const common = { tags: ['alerts'], security: [{ bearer: [] }] };
  const preHandler = app.authorize('reader');

  app.get('/api/v1/alerts', { preHandler, schema: { ...common, summary: 'Alerts firing, pending and recently resolved; the last evaluation; receiver queues', response: { 200: AlertsResponse, 401: Problem, 403: Problem } } }, async () => {
    const alerts = app.alerts;
    const since = new Date(alerts.clock().getTime() - alerts.settings.recentResolvedMs);
    const [list, lastEvaluation, queues, lastAttempts] = await Promise.all([alerts.store.listAlerts(since), alerts.store.lastEvaluation(), alerts.store.receiverQueues(), alerts.store.lastAttempts()]);
    const receivers = alerts.settings.receivers.map((r) => {
      const queue = queues.find((q) => q.receiver === r.name);
      return { name: r.name, type: r.type, pending: queue?.pending ?? 0, oldestPendingAt: queue?.oldestPendingAt ?? null, lastAttempt: lastAttempts.get(r.name) ?? null };
    });
    return { alerts: list.map(viewOf), lastEvaluation, receivers };
  });

  app.get('/api/v1/alerts/history', { preHandler, schema: { ...common, summary: 'Alert status changes, newest first', querystring: HistoryQuery, response: { 200: Page(AlertEventView), 400: Problem, 401: Problem, 403: Problem } } }, async (request) =>
    app.alerts.store.history({ limit: request.query.limit ?? 100, offset: request.query.offset ?? 0, rule: request.query.rule, fingerprint: request.query.fingerprint }),
  );

  app.get('/api/v1/alerts/deliveries', { preHandler, schema: { ...common, summary: 'Delivery attempts to receivers, newest first', querystring: DeliveriesQuery, response: { 200: Page(AttemptView), 400: Problem, 401: Problem, 403: Problem } } }, async (request) =>
    app.alerts.store.deliveries({ limit: request.query.limit ?? 100, offset: request.query.offset ?? 0, receiver: request.query.receiver }),
  );
};
