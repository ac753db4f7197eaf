// Notifications: built per group (alert rule) from the alerts that need telling, stored in the
// outbox as they are, and rendered per receiver type when sent (pure functions, so the
// bodies documented in docs/alerts.md are exactly what the tests check).
import type { AlertRule, ReceiverSettings } from './config.js';
import { WEBHOOK_VERSION, type AlertmanagerBody, type Notification, type NotificationAlert, type SlackBody, type WebhookBody } from './api.js';
import type { NotificationNeed } from './state.js';
import type { StoredAlert } from './store.js';

/** Alerts listed by name in a summary line and in a Slack message before "and N more". */
export const LISTED = 10;
export const SLACK_ALERT_BLOCKS = 20;

const iso = (ms: number): string => new Date(ms).toISOString();

export function notificationAlert(alert: StoredAlert, need: NotificationNeed | 'refresh'): NotificationAlert {
  const st = alert.state;
  const firing = st.status !== 'resolved';
  return {
    fingerprint: alert.fingerprint,
    status: firing ? 'firing' : 'resolved',
    repeat: need === 'repeat',
    labels: alert.labels,
    summary: alert.annotations.summary ?? '',
    fix: alert.annotations.fix ?? '',
    annotations: alert.annotations,
    startsAt: iso(st.firingSince ?? st.activeSince),
    endsAt: firing ? null : iso(st.resolvedAt ?? st.lastActiveAt),
  };
}

function listed(alerts: readonly NotificationAlert[]): string {
  const names = alerts.slice(0, LISTED).map((a) => a.annotations.title ?? a.labels.host ?? a.fingerprint);
  const more = alerts.length - names.length;
  return `${names.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** One line saying what the notification is about, by kind. */
export function groupSummary(rule: Pick<AlertRule, 'name' | 'kind'> | { name: string; kind: 'test' }, alerts: readonly NotificationAlert[]): string {
  const firing = alerts.filter((a) => a.status === 'firing');
  const resolved = alerts.filter((a) => a.status === 'resolved');
  const parts: string[] = [];
  const say = (list: NotificationAlert[], text: (n: number) => string) => {
    if (list.length > 0) parts.push(`${text(list.length)}: ${listed(list)}`);
  };
  switch (rule.kind) {
    case 'host-stale':
      say(firing, (n) => `${plural(n, 'host', 'hosts')} stopped reporting`);
      say(resolved, (n) => `${plural(n, 'host', 'hosts')} reporting again`);
      break;
    case 'finding':
      say(firing, (n) => `${plural(n, 'finding', 'findings')} open`);
      say(resolved, (n) => `${plural(n, 'finding', 'findings')} resolved`);
      break;
    case 'service-regressed':
      say(firing, (n) => `${plural(n, 'service', 'services')} no longer dual-stack`);
      say(resolved, (n) => `${plural(n, 'service', 'services')} dual-stack again or accepted`);
      break;
    case 'fleet-readiness-drop':
      for (const a of firing) parts.push(a.summary);
      say(resolved, (n) => `${plural(n, 'readiness share', 'readiness shares')} recovered`);
      break;
    case 'duplicate-identity':
      say(firing, (n) => `${plural(n, 'host id', 'host ids')} enrolled by more than one machine`);
      say(resolved, (n) => `${plural(n, 'duplicate identity', 'duplicate identities')} settled`);
      break;
    case 'test':
      for (const a of firing) parts.push(a.summary);
      break;
  }
  return `[${rule.name}] ${parts.join('; ')}`;
}

/** The notification of a group: firing alerts first, then resolved, each sorted by labels. */
export function buildNotification(
  notificationId: string,
  rule: Pick<AlertRule, 'name' | 'kind'>,
  due: ReadonlyArray<{ alert: StoredAlert; need: NotificationNeed }>,
  groupFiring: number,
  now: Date,
): Notification {
  const alerts = due.map(({ alert, need }) => notificationAlert(alert, need));
  const key = (a: NotificationAlert) => `${a.status === 'firing' ? 0 : 1}\u0000${JSON.stringify(Object.entries(a.labels).sort())}`;
  alerts.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const firing = alerts.filter((a) => a.status === 'firing').length;
  return {
    notificationId,
    rule: rule.name,
    kind: rule.kind,
    status: firing > 0 ? 'firing' : 'resolved',
    summary: groupSummary(rule, alerts),
    counts: { firing, resolved: alerts.length - firing },
    groupFiring,
    alerts,
    createdAt: now.toISOString(),
  };
}

// --- rendering -------------------------------------------------------------------------------

export function webhookBody(receiver: string, n: Notification, sentAt: Date): WebhookBody {
  return { version: WEBHOOK_VERSION, receiver, ...n, sentAt: sentAt.toISOString() };
}

/** Slack's mrkdwn needs &, < and > escaped (https://api.slack.com/reference/surfaces/formatting#escaping). */
const slackEscape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** A Slack-compatible message: a header, the group summary, one section per alert (at most 20). */
export function slackBody(n: Notification): SlackBody {
  const title = `${n.status === 'firing' ? 'FIRING' : 'RESOLVED'}: ${n.rule} (${n.counts.firing} firing, ${n.counts.resolved} resolved)`;
  const blocks: SlackBody['blocks'] = [
    { type: 'header', text: { type: 'plain_text', text: cut(title, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: cut(slackEscape(n.summary), 3000) } },
  ];
  for (const a of n.alerts.slice(0, SLACK_ALERT_BLOCKS)) {
    const head = `*${a.status === 'firing' ? (a.repeat ? 'still firing' : 'firing') : 'resolved'}* ${slackEscape(a.summary)}`;
    const fix = a.status === 'firing' && a.fix ? `\n*Fix:* ${slackEscape(a.fix)}` : '';
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(head + fix, 3000) } });
  }
  const more = n.alerts.length - SLACK_ALERT_BLOCKS;
  const footer = `${more > 0 ? `…and ${more} more alerts (GET /api/v1/alerts lists them all). ` : ''}dualstack-collector, notification ${n.notificationId}`;
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: cut(slackEscape(footer), 3000) }] });
  return { text: cut(`${title}\n${n.summary}`, 3000), blocks };
}

/**
 * Alertmanager's postableAlerts: a firing alert gets endsAt = now + 4 x resendInterval and is
 * sent again every resendInterval while it fires (as Prometheus does), so Alertmanager
 * resolves it by itself if the collector goes away; a resolved one carries its resolve time.
 * Empty label values are left out (Alertmanager treats them as absent).
 */
export function alertmanagerBody(alerts: readonly NotificationAlert[], sentAt: Date, resendIntervalMs: number): AlertmanagerBody {
  const firingEndsAt = new Date(sentAt.getTime() + 4 * resendIntervalMs).toISOString();
  return alerts.map((a) => ({
    labels: Object.fromEntries(Object.entries(a.labels).filter(([, value]) => value !== '')),
    annotations: { ...a.annotations, summary: a.summary, fix: a.fix },
    startsAt: a.startsAt,
    endsAt: a.status === 'firing' ? firingEndsAt : (a.endsAt ?? sentAt.toISOString()),
  }));
}

/** The body a receiver gets for a notification, sent at `sentAt`. */
export function renderFor(receiver: ReceiverSettings, n: Notification, sentAt: Date): unknown {
  switch (receiver.type) {
    case 'webhook':
      return webhookBody(receiver.name, n, sentAt);
    case 'slack':
      return slackBody(n);
    case 'alertmanager':
      return alertmanagerBody(n.alerts, sentAt, receiver.resendIntervalMs);
  }
}

/** The notification `alerts test` sends. */
export function testNotification(notificationId: string, receiver: string, now: Date): Notification {
  const alert: NotificationAlert = {
    fingerprint: 'test',
    status: 'firing',
    repeat: false,
    labels: { alertname: 'dualstack-test', severity: 'info', receiver },
    summary: `Test notification from dualstack-collector to receiver '${receiver}': if you read this, delivery works.`,
    fix: 'Nothing to fix: sent by dualstack-collector alerts test.',
    annotations: { title: 'test', summary: '', fix: '' },
    startsAt: now.toISOString(),
    endsAt: null,
  };
  alert.annotations = { title: 'test', summary: alert.summary, fix: alert.fix };
  return {
    notificationId,
    rule: 'test',
    kind: 'test',
    status: 'firing',
    summary: groupSummary({ name: 'test', kind: 'test' }, [alert]),
    counts: { firing: 1, resolved: 0 },
    groupFiring: 1,
    alerts: [alert],
    createdAt: now.toISOString(),
  };
}
