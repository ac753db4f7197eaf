// Alerting on /metrics, registered on the app's registry (plugins/metrics.ts): counters of
// evaluations, status changes, notifications and delivery attempts; gauges of live alerts and
// of the outbox, read from the store at scrape time; whether this collector evaluates.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AlertHooks } from './service.js';
import type { AlertStore } from './store.js';

export function registerAlertMetrics(registry: Registry, store: AlertStore, receivers: ReadonlyArray<{ name: string }>): AlertHooks {
  const evaluations = new Counter({ name: 'dualstack_alert_evaluations_total', help: 'Alert evaluations, by result: ok or error.', labelNames: ['result'], registers: [registry] });
  const evaluationSeconds = new Histogram({
    name: 'dualstack_alert_evaluation_duration_seconds',
    help: 'Duration of an alert evaluation (rules, state machine, one commit).',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
    registers: [registry],
  });
  const transitions = new Counter({
    name: 'dualstack_alert_transitions_total',
    help: 'Alert status changes, by alert rule and new status (pending, firing, resolved, cancelled).',
    labelNames: ['rule', 'to'],
    registers: [registry],
  });
  const notifications = new Counter({
    name: 'dualstack_alert_notifications_total',
    help: 'Notifications queued in the outbox, by alert rule and receiver.',
    labelNames: ['rule', 'receiver'],
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'dualstack_alert_delivery_attempts_total',
    help: 'Delivery attempts, by receiver and outcome: delivered, retry, failed.',
    labelNames: ['receiver', 'outcome'],
    registers: [registry],
  });
  new Gauge({
    name: 'dualstack_alerts',
    help: 'Alerts pending or firing, by alert rule and status.',
    labelNames: ['rule', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const row of await store.alertCounts()) this.set({ rule: row.rule, status: row.status }, row.count);
    },
  });
  new Gauge({
    name: 'dualstack_alert_outbox_pending',
    help: 'Notifications waiting for delivery, by receiver.',
    labelNames: ['receiver'],
    registers: [registry],
    async collect() {
      const queues = new Map((await store.receiverQueues()).map((q) => [q.receiver, q.pending]));
      for (const r of receivers) this.set({ receiver: r.name }, queues.get(r.name) ?? 0);
    },
  });
  // A store without a leader lease (SQLite: one collector per database) always evaluates.
  const leader = new Gauge({
    name: 'dualstack_alert_leader',
    help: 'Whether this collector evaluates alerts: 1 while it holds the leader lease of a shared database (PostgreSQL), 0 while another one does; always 1 on SQLite.',
    registers: [registry],
  });
  leader.set(store.lead ? 0 : 1);
  // Known series at 0 from the start, so rate() works from the first failure.
  evaluations.inc({ result: 'ok' }, 0);
  evaluations.inc({ result: 'error' }, 0);
  for (const r of receivers) for (const outcome of ['delivered', 'retry', 'failed']) attempts.inc({ receiver: r.name, outcome }, 0);

  return {
    evaluated(result) {
      evaluations.inc({ result: result.error === null ? 'ok' : 'error' });
      evaluationSeconds.observe(result.durationMs / 1000);
      if ('changes' in result) {
        for (const change of result.changes) transitions.inc({ rule: change.rule, to: change.to });
        for (const q of result.enqueued) notifications.inc({ rule: q.rule, receiver: q.receiver });
      }
    },
    leading(leading) {
      leader.set(leading ? 1 : 0);
    },
    attempted(receiver, outcome) {
      attempts.inc({ receiver, outcome });
    },
  };
}
