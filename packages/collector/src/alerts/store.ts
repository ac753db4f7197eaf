// What alerting keeps and reads, behind one asynchronous interface beside the Store (the
// SQLite implementation is db/sqlite-alert-store.ts, on the same database): the fleet facts
// the rules look at, the alert states, their history, the outbox of notifications and
// every delivery attempt. Times are ISO 8601 UTC strings, as in the Store.
import type { ServiceMode, Severity } from '@dualstack/core';
import type { Paged } from '../api.js';
import type { EndpointInput } from '../endpoints/records.js';
import type { AlertEventView, AlertLabels, AttemptView, EvaluationView, Notification } from './api.js';
import type { AlertState, AlertStatus, Transition } from './state.js';

export type { ServiceMode, Severity };

// --- facts -----------------------------------------------------------------------------------

export interface StaleHostFact {
  hostId: string;
  hostname: string;
  /** The collector's time of the host's last report. */
  lastSeen: string;
}

export interface Fix {
  summary: string;
  commands: string[];
}

export interface OpenFindingFact {
  hostId: string;
  hostname: string;
  rule: string;
  subject: string;
  severity: Severity;
  message: string;
  fix: Fix;
  firstSeen: string;
}

export interface ServiceRegressionFact {
  hostId: string;
  hostname: string;
  proto: 'tcp' | 'udp';
  port: number;
  process: string | null;
  /** The dual-stack mode it had. */
  dualMode: ServiceMode;
  /** When it was first seen dual-stack. */
  dualSince: string;
  /** When the evaluation first saw it regressed. */
  regressedSince: string;
  /** Its mode now; null: the service is gone. */
  currentMode: ServiceMode | null;
  /** The fix of an open finding about this service (subject proto/port), if there is one. */
  fix: Fix | null;
}

export interface FleetShares {
  hosts: number;
  freshHosts: number;
  exposedServices: number;
  /** As in the summary: share of fresh hosts whose kernel routes global IPv6. */
  ipv6RoutableShare: number | null;
  /** As in the summary: share of exposed services reachable over both families. */
  dualStackServiceShare: number | null;
}

/** One host id with pending host keys: later enrollments by other machines (duplicate-identity). */
export interface DuplicateIdentityFact {
  hostId: string;
  /** The hostname of its latest report; before any report, what its live (else first pending) key's agent said. */
  hostname: string;
  /** Its live key; null when that was revoked and the pending keys remain. */
  live: { id: string; hostname: string; createdAt: string; lastUsedAt: string | null } | null;
  /** Oldest first. */
  pending: Array<{ id: string; hostname: string; peer: string | null; createdAt: string }>;
}

/** fleet-readiness-drop: the value a metric is compared with, kept between evaluations. */
export interface ReadinessReference {
  rule: string;
  metric: string;
  value: number;
  at: string;
  /** When the current drop was first seen; null: no drop. */
  dropSince: string | null;
}

// --- states, events, outbox ----------------------------------------------------------------

export interface StoredAlert {
  fingerprint: string;
  rule: string;
  labels: AlertLabels;
  /** Always holds summary and fix. */
  annotations: Record<string, string>;
  state: AlertState;
}

export interface AlertEvent {
  at: string;
  fingerprint: string;
  rule: string;
  labels: AlertLabels;
  from: AlertStatus | null;
  to: Transition;
  summary: string;
}

export interface OutboxInput {
  notificationId: string;
  receiver: string;
  rule: string;
  notification: Notification;
}

export interface OutboxEntry extends OutboxInput {
  id: number;
  createdAt: string;
  attempts: number;
  nextAttemptAt: string;
}

/** Everything one evaluation changes, written in one transaction. */
export interface EvaluationWrite {
  at: string;
  upserts: StoredAlert[];
  /** Fingerprints of alerts that no longer exist (pending ones that cleared). */
  deletes: string[];
  events: AlertEvent[];
  outbox: OutboxInput[];
  /** Groups (alert rules) notified at `at`. */
  groupsNotified: string[];
  references: ReadinessReference[];
}

export interface AttemptInput {
  /** The outbox entry; null for an Alertmanager refresh or a test. */
  outboxId: number | null;
  notificationId: string | null;
  receiver: string;
  rule: string | null;
  kind: 'notification' | 'refresh' | 'test';
  fingerprints: string[];
  attempt: number;
  at: string;
  durationMs: number;
  statusCode: number | null;
  outcome: 'delivered' | 'retry' | 'failed';
  error: string | null;
  /** For outcome retry: when to try again. */
  nextAttemptAt?: string;
}

export interface ReceiverQueue {
  receiver: string;
  pending: number;
  oldestPendingAt: string | null;
}

export interface AlertStore {
  // facts
  /** Hosts whose last report is older than `before`. */
  staleHosts(before: Date): Promise<StaleHostFact[]>;
  /** Open findings at or above `minSeverity`, of the given rule ids (null: all). */
  openFindings(minSeverity: Severity, rules: readonly string[] | null): Promise<OpenFindingFact[]>;
  /**
   * Brings the snapshot of dual-stack services up to date with the hosts whose services
   * changed since the last call (a service seen dual-stack is remembered; one remembered and
   * now single-family or gone is marked regressed, and unmarked when dual-stack again), forgets
   * regressions older than `forgetBefore`, and returns the current regressions.
   */
  serviceRegressions(now: Date, forgetBefore: Date): Promise<ServiceRegressionFact[]>;
  fleetShares(staleBefore: Date): Promise<FleetShares>;
  /** Every declared endpoint with its vantage points' latest probes (those received before `staleBefore` marked stale) and its backends. */
  endpointInputs(staleBefore: Date): Promise<EndpointInput[]>;
  readinessReferences(): Promise<ReadinessReference[]>;
  /** Host ids that have pending host keys (duplicate identities), by host id. */
  duplicateIdentities(): Promise<DuplicateIdentityFact[]>;

  // states
  /** Alerts that are pending or firing, or resolved with the resolve not yet notified. */
  liveAlerts(): Promise<StoredAlert[]>;
  /** Rule name -> when its group was last notified. */
  groupsNotifiedAt(): Promise<Map<string, string>>;
  /** One transaction: states, events, outbox entries, groups, readiness references. */
  commitEvaluation(write: EvaluationWrite): Promise<void>;
  recordEvaluation(record: EvaluationView): Promise<void>;

  /**
   * Whether this collector evaluates alerts now: with several collectors on one database, only
   * the holder of the leader lease (PostgreSQL), taken when free. Absent: always (SQLite: one
   * collector per database file).
   */
  lead?(): Promise<boolean>;

  // delivery
  /**
   * The oldest undelivered outbox entry of the receiver (delivery is in order per receiver).
   * A store shared by several collectors claims it (null while another collector holds it)
   * until recordAttempt() or releaseOutbox().
   */
  nextOutbox(receiver: string): Promise<OutboxEntry | null>;
  /** Gives back an entry from nextOutbox() that is not attempted now (not yet due). */
  releaseOutbox?(entry: OutboxEntry): Promise<void>;
  /** Records an attempt and, for an outbox entry, its outcome (delivered and failed end it). */
  recordAttempt(attempt: AttemptInput): Promise<void>;
  /** Alerts firing and notified as firing, of these rules (an Alertmanager refresh). */
  notifiedFiring(rules: readonly string[]): Promise<StoredAlert[]>;
  /** Fails the pending entries of receivers no longer configured; returns how many. */
  failOrphans(receivers: readonly string[], at: Date): Promise<number>;

  // reads
  listAlerts(resolvedSince: Date): Promise<StoredAlert[]>;
  history(query: { limit: number; offset: number; rule?: string | undefined; fingerprint?: string | undefined }): Promise<Paged<AlertEventView>>;
  deliveries(query: { limit: number; offset: number; receiver?: string | undefined }): Promise<Paged<AttemptView>>;
  lastEvaluation(): Promise<EvaluationView | null>;
  receiverQueues(): Promise<ReceiverQueue[]>;
  lastAttempts(): Promise<Map<string, AttemptView>>;
  /** Pending and firing alerts by rule and status (for /metrics). */
  alertCounts(): Promise<Array<{ rule: string; status: AlertStatus; count: number }>>;

  /** Deletes history, evaluations, finished outbox entries and settled alerts older than `before`. */
  prune(before: Date): Promise<number>;

  /** Gives back what it holds on the database (the leader lease, outbox claims); AlertService.stop() calls it. */
  close?(): Promise<void>;
}
