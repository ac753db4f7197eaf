// Alert shapes, schema first: the API responses, and the bodies sent to receivers (the
// generic webhook body is documented in docs/alerts.md and checked against these schemas by
// the tests). Types are derived from the schemas.
import Type, { type Static } from 'typebox';
import { Pagination } from '../api.js';

const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const AlertLabels = Type.Record(Type.String(), Type.String(), {
  description: 'alertname (the alert rule), severity, and per kind: host, rule and subject (the finding), service, metric.',
});
export const AlertStatus = Type.Union([Type.Literal('pending'), Type.Literal('firing'), Type.Literal('resolved')]);
export const NotifiedStatus = Type.Union([Type.Literal('firing'), Type.Literal('resolved')]);

/** One alert inside a notification. */
export const NotificationAlert = Type.Object(
  {
    fingerprint: Type.String({ description: 'Stable id of the alert: a hash of its labels.' }),
    status: NotifiedStatus,
    repeat: Type.Boolean({ description: 'A reminder of an alert already notified as firing (after repeatInterval).' }),
    labels: AlertLabels,
    summary: Type.String(),
    fix: Type.String(),
    annotations: Type.Record(Type.String(), Type.String()),
    startsAt: Type.String({ description: 'When the alert started firing.' }),
    endsAt: Nullable(Type.String({ description: 'When it resolved; null while firing.' })),
  },
  { additionalProperties: false },
);

/** A notification as stored in the outbox: one per group (alert rule) and evaluation. */
export const Notification = Type.Object(
  {
    notificationId: Type.String({ description: 'The same for every receiver and every retry of this notification: deduplicate on it.' }),
    rule: Type.String({ description: 'The alert rule (the group).' }),
    kind: Type.String({ description: 'host-stale, finding, service-regressed, fleet-readiness-drop, endpoint, duplicate-identity, or test.' }),
    status: NotifiedStatus,
    summary: Type.String(),
    counts: Type.Object({ firing: Type.Integer(), resolved: Type.Integer() }, { additionalProperties: false }),
    groupFiring: Type.Integer({ description: 'Alerts of this rule firing when the notification was made (also those not in it).' }),
    alerts: Type.Array(NotificationAlert),
    createdAt: Type.String(),
  },
  { additionalProperties: false },
);

export const WEBHOOK_VERSION = 'dualstack.alerts/v1';

/** The body POSTed to a `webhook` receiver. */
export const WebhookBody = Type.Object(
  {
    version: Type.Literal(WEBHOOK_VERSION),
    receiver: Type.String(),
    ...Notification.properties,
    sentAt: Type.String({ description: 'When this attempt was sent.' }),
  },
  { additionalProperties: false },
);

/** The body POSTed to a `slack` receiver (Slack incoming webhooks and compatible ones). */
export const SlackBody = Type.Object(
  {
    text: Type.String({ description: 'Fallback text (notifications, clients without blocks).' }),
    blocks: Type.Array(
      Type.Object({
        type: Type.String(),
        text: Type.Optional(Type.Object({ type: Type.String(), text: Type.String() })),
        elements: Type.Optional(Type.Array(Type.Object({ type: Type.String(), text: Type.String() }))),
      }),
      { maxItems: 50 },
    ),
  },
  { additionalProperties: false },
);

/** The body POSTed to Alertmanager's /api/v2/alerts (its postableAlerts). */
export const AlertmanagerBody = Type.Array(
  Type.Object(
    {
      labels: Type.Record(Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' }), Type.String({ minLength: 1 })),
      annotations: Type.Record(Type.String(), Type.String()),
      startsAt: Type.String(),
      endsAt: Type.String(),
    },
    { additionalProperties: false },
  ),
);

// --- API responses ---------------------------------------------------------------------------

export const AlertView = Type.Object({
  fingerprint: Type.String(),
  rule: Type.String(),
  status: AlertStatus,
  labels: AlertLabels,
  summary: Type.String(),
  fix: Type.String(),
  annotations: Type.Record(Type.String(), Type.String()),
  activeSince: Type.String({ description: 'When the condition started to hold.' }),
  firingSince: Nullable(Type.String()),
  resolvedAt: Nullable(Type.String()),
  notifiedStatus: Nullable(NotifiedStatus),
  lastNotifiedAt: Nullable(Type.String()),
});

export const EvaluationView = Type.Object({
  startedAt: Type.String(),
  durationMs: Type.Number(),
  active: Type.Integer({ description: 'Alert conditions that held.' }),
  transitions: Type.Integer(),
  notifications: Type.Integer({ description: 'Outbox entries written (one per notification and receiver).' }),
  error: Nullable(Type.String()),
});

export const AttemptView = Type.Object({
  id: Type.Integer(),
  at: Type.String(),
  receiver: Type.String(),
  kind: Type.Union([Type.Literal('notification'), Type.Literal('refresh'), Type.Literal('test')]),
  notificationId: Nullable(Type.String()),
  rule: Nullable(Type.String()),
  fingerprints: Type.Array(Type.String(), { description: 'The alerts the attempt carried.' }),
  attempt: Type.Integer(),
  durationMs: Type.Number(),
  statusCode: Nullable(Type.Integer()),
  outcome: Type.Union([Type.Literal('delivered'), Type.Literal('retry'), Type.Literal('failed')]),
  error: Nullable(Type.String()),
});

export const ReceiverView = Type.Object({
  name: Type.String(),
  type: Type.String(),
  pending: Type.Integer({ description: 'Notifications waiting for delivery.' }),
  oldestPendingAt: Nullable(Type.String()),
  lastAttempt: Nullable(AttemptView),
});

export const AlertsResponse = Type.Object({
  alerts: Type.Array(AlertView, { description: 'Firing, then pending, then resolved within recentResolved (default 24h).' }),
  lastEvaluation: Nullable(EvaluationView),
  receivers: Type.Array(ReceiverView),
});

export const AlertEventView = Type.Object({
  id: Type.Integer(),
  at: Type.String(),
  fingerprint: Type.String(),
  rule: Type.String(),
  labels: AlertLabels,
  from: Nullable(AlertStatus),
  to: Type.Union([AlertStatus, Type.Literal('cancelled')]),
  summary: Type.String(),
});

export const HistoryQuery = Type.Object({
  ...Pagination.properties,
  rule: Type.Optional(Type.String({ description: 'Only this alert rule.' })),
  fingerprint: Type.Optional(Type.String({ description: 'Only this alert.' })),
});

export const DeliveriesQuery = Type.Object({
  ...Pagination.properties,
  receiver: Type.Optional(Type.String()),
});

export type AlertLabels = Static<typeof AlertLabels>;
export type NotificationAlert = Static<typeof NotificationAlert>;
export type Notification = Static<typeof Notification>;
export type WebhookBody = Static<typeof WebhookBody>;
export type SlackBody = Static<typeof SlackBody>;
export type AlertmanagerBody = Static<typeof AlertmanagerBody>;
export type AlertView = Static<typeof AlertView>;
export type EvaluationView = Static<typeof EvaluationView>;
export type AttemptView = Static<typeof AttemptView>;
export type ReceiverView = Static<typeof ReceiverView>;
export type AlertEventView = Static<typeof AlertEventView>;
export type HistoryQuery = Static<typeof HistoryQuery>;
export type DeliveriesQuery = Static<typeof DeliveriesQuery>;
