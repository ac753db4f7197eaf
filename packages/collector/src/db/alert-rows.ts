// Alert rows as both AlertStores read and write them (sqlite-alert-store.ts,
// postgres/alert-store.ts: the same tables and columns, times as ISO 8601 text), and the
// service modes the service-regressed snapshot tells apart.
import type { AlertLabels, AttemptView } from '../alerts/api.js';
import type { AlertState, AlertStatus, NotifiedStatus } from '../alerts/state.js';
import type { Severity, StoredAlert } from '../alerts/store.js';

export const DUAL_MODES: ReadonlySet<string> = new Set(['dual-separate', 'dual-mapped']);
export const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

export const iso = (ms: number): string => new Date(ms).toISOString();
export const ms = (text: string): number => Date.parse(text);
export const msOrNull = (text: string | null): number | null => (text === null ? null : Date.parse(text));
export const isoOrNull = (value: number | null): string | null => (value === null ? null : iso(value));

export interface StateRow {
  fingerprint: string;
  rule: string;
  labels: string;
  annotations: string;
  status: AlertStatus;
  active_since: string;
  firing_since: string | null;
  resolved_at: string | null;
  last_active_at: string;
  notified_status: NotifiedStatus | null;
  last_notified_at: string | null;
}

export interface AttemptRow {
  id: number;
  at: string;
  receiver: string;
  kind: AttemptView['kind'];
  notification_id: string | null;
  rule: string | null;
  fingerprints: string;
  attempt: number;
  duration_ms: number;
  status_code: number | null;
  outcome: AttemptView['outcome'];
  error: string | null;
}

export const STATE_COLUMNS = 'fingerprint, rule, labels, annotations, status, active_since, firing_since, resolved_at, last_active_at, notified_status, last_notified_at';
export const ATTEMPT_COLUMNS = 'id, at, receiver, kind, notification_id, rule, fingerprints, attempt, duration_ms, status_code, outcome, error';

export function alertOf(row: StateRow): StoredAlert {
  const state: AlertState = {
    status: row.status,
    activeSince: ms(row.active_since),
    firingSince: msOrNull(row.firing_since),
    resolvedAt: msOrNull(row.resolved_at),
    lastActiveAt: ms(row.last_active_at),
    notifiedStatus: row.notified_status,
    lastNotifiedAt: msOrNull(row.last_notified_at),
  };
  return { fingerprint: row.fingerprint, rule: row.rule, labels: JSON.parse(row.labels) as AlertLabels, annotations: JSON.parse(row.annotations) as Record<string, string>, state };
}

export function attemptOf(row: AttemptRow): AttemptView {
  return {
    id: row.id,
    at: row.at,
    receiver: row.receiver,
    kind: row.kind,
    notificationId: row.notification_id,
    rule: row.rule,
    fingerprints: JSON.parse(row.fingerprints) as string[],
    attempt: row.attempt,
    durationMs: row.duration_ms,
    statusCode: row.status_code,
    outcome: row.outcome,
    error: row.error,
  };
}

/** The most open single-family mode among a service's current modes (it is no longer dual-stack), or null: gone. */
export function regressedMode(modes: readonly string[] | undefined): string | null {
  if (!modes) return null;
  return ['ipv4-only', 'ipv6-only', 'loopback-only'].find((m) => modes.includes(m)) ?? modes[0] ?? null;
}
