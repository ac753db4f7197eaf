// The AlertStore on SQLite: the same better-sqlite3 connection as the SqliteStore (one file,
// one writer, and the facts are read from the tables ingest writes). Statements are prepared
// once; each write is one synchronous transaction (no await inside).
import type Database from 'better-sqlite3';
import type { Paged } from '../api.js';
import type { EndpointInput } from '../endpoints/records.js';
import { SqliteEndpointStore } from './sqlite-endpoint-store.js';
import { alertOf, attemptOf, ATTEMPT_COLUMNS, DUAL_MODES, iso, isoOrNull, regressedMode, SEVERITY_RANK, STATE_COLUMNS, type AttemptRow, type StateRow } from './alert-rows.js';
import { duplicateIdentityFacts, type DuplicateKeyRow } from '../alerts/duplicate-identity-facts.js';
import type { AlertEventView, AlertLabels, AttemptView, EvaluationView, Notification } from '../alerts/api.js';
import type { AlertStatus } from '../alerts/state.js';
import type {
  AlertStore,
  AttemptInput,
  DuplicateIdentityFact,
  EvaluationWrite,
  Fix,
  FleetShares,
  OpenFindingFact,
  OutboxEntry,
  ReadinessReference,
  ReceiverQueue,
  ServiceMode,
  ServiceRegressionFact,
  Severity,
  StaleHostFact,
  StoredAlert,
} from '../alerts/store.js';

interface SnapshotRow {
  proto: string;
  port: number;
  process: string;
  dual_mode: string;
  regressed_since: string | null;
  current_mode: string | null;
}

function prepare(db: Database.Database) {
  return {
    staleHosts: db.prepare<[string], { hostId: string; hostname: string; lastSeen: string }>(
      'SELECT host_id AS hostId, hostname, last_seen AS lastSeen FROM hosts WHERE last_seen < ? ORDER BY host_id',
    ),
    openFindings: db.prepare<[{ severities: string; rules: string | null }], { hostId: string; hostname: string; rule: string; subject: string; severity: Severity; message: string; fix: string; firstSeen: string }>(`
      SELECT f.host_id AS hostId, h.hostname, f.rule, f.subject, f.severity, f.message, f.fix, f.first_seen AS firstSeen
      FROM findings f JOIN hosts h ON h.host_id = f.host_id
      WHERE f.resolved_at IS NULL AND f.severity IN (SELECT value FROM json_each(@severities))
        AND (@rules IS NULL OR f.rule IN (SELECT value FROM json_each(@rules)))
      ORDER BY f.host_id, f.rule, f.subject`),
    changedServiceHosts: db.prepare<[], { host_id: string; services_hash: string }>(`
      SELECT h.host_id, h.services_hash FROM hosts h LEFT JOIN alert_service_hosts s ON s.host_id = h.host_id
      WHERE s.services_hash IS NOT h.services_hash`),
    hostServices: db.prepare<[string], { proto: string; port: number; process: string | null; mode: string }>('SELECT proto, port, process, mode FROM services WHERE host_id = ? ORDER BY seq'),
    snapshotOf: db.prepare<[string], SnapshotRow>('SELECT proto, port, process, dual_mode, regressed_since, current_mode FROM alert_service_snapshot WHERE host_id = ?'),
    snapshotDual: db.prepare<[string, string, number, string, string, string]>(`
      INSERT INTO alert_service_snapshot (host_id, proto, port, process, dual_mode, dual_since, regressed_since, current_mode)
      VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)
      ON CONFLICT (host_id, proto, port, process) DO UPDATE SET dual_mode = excluded.dual_mode, regressed_since = NULL, current_mode = NULL`),
    snapshotRegressed: db.prepare<[string | null, string | null, string, string, number, string]>(`
      UPDATE alert_service_snapshot SET regressed_since = coalesce(regressed_since, ?), current_mode = ?
      WHERE host_id = ? AND proto = ? AND port = ? AND process = ?`),
    snapshotHost: db.prepare<[string, string]>(
      'INSERT INTO alert_service_hosts (host_id, services_hash) VALUES (?, ?) ON CONFLICT (host_id) DO UPDATE SET services_hash = excluded.services_hash',
    ),
    snapshotForget: db.prepare<[string]>('DELETE FROM alert_service_snapshot WHERE regressed_since IS NOT NULL AND regressed_since < ?'),
    regressions: db.prepare<[], { hostId: string; hostname: string; proto: 'tcp' | 'udp'; port: number; process: string; dualMode: ServiceMode; dualSince: string; regressedSince: string; currentMode: ServiceMode | null; fix: string | null }>(`
      SELECT s.host_id AS hostId, h.hostname, s.proto, s.port, s.process, s.dual_mode AS dualMode, s.dual_since AS dualSince,
        s.regressed_since AS regressedSince, s.current_mode AS currentMode,
        (SELECT f.fix FROM findings f WHERE f.host_id = s.host_id AND f.subject = s.proto || '/' || s.port AND f.resolved_at IS NULL
          ORDER BY CASE f.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, f.rule LIMIT 1) AS fix
      FROM alert_service_snapshot s JOIN hosts h ON h.host_id = s.host_id
      WHERE s.regressed_since IS NOT NULL ORDER BY s.host_id, s.proto, s.port, s.process`),
    shares: db.prepare<[{ staleBefore: string }], { hosts: number; fresh: number; fresh_routable: number; exposed: number; dual: number }>(`
      SELECT count(*) AS hosts, coalesce(sum(last_seen >= @staleBefore), 0) AS fresh,
        coalesce(sum(last_seen >= @staleBefore AND ipv6_routable = 1), 0) AS fresh_routable,
        coalesce(sum(services_exposed), 0) AS exposed, coalesce(sum(services_dual), 0) AS dual
      FROM hosts`),
    // Live and pending keys of every host id with a pending key (host_keys_by_host), with the
    // host's reported name when it has reported.
    duplicateKeys: db.prepare<[], DuplicateKeyRow>(`
      SELECT k.host_id AS hostId, k.id, k.state, k.hostname, k.peer, k.created_at AS createdAt, k.last_used_at AS lastUsedAt, h.hostname AS reported
      FROM host_keys k LEFT JOIN hosts h ON h.host_id = k.host_id
      WHERE k.state IN ('live', 'pending') AND k.host_id IN (SELECT host_id FROM host_keys WHERE state = 'pending')
      ORDER BY k.host_id, k.created_at, k.id`),
    references: db.prepare<[], { rule: string; metric: string; value: number; at: string; dropSince: string | null }>(
      'SELECT rule, metric, value, at, drop_since AS dropSince FROM alert_fleet_reference',
    ),
    upsertReference: db.prepare<[string, string, number, string, string | null]>(`
      INSERT INTO alert_fleet_reference (rule, metric, value, at, drop_since) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (rule, metric) DO UPDATE SET value = excluded.value, at = excluded.at, drop_since = excluded.drop_since`),
    liveAlerts: db.prepare<[], StateRow>(`SELECT ${STATE_COLUMNS} FROM alert_states WHERE status != 'resolved' OR notified_status = 'firing'`),
    groups: db.prepare<[], [string, string]>('SELECT rule, last_notified_at FROM alert_groups').raw(),
    upsertState: db.prepare<[Record<string, unknown>]>(`
      INSERT INTO alert_states (${STATE_COLUMNS}, updated_at)
      VALUES (@fingerprint, @rule, @labels, @annotations, @status, @activeSince, @firingSince, @resolvedAt, @lastActiveAt, @notifiedStatus, @lastNotifiedAt, @at)
      ON CONFLICT (fingerprint) DO UPDATE SET rule = excluded.rule, labels = excluded.labels, annotations = excluded.annotations,
        status = excluded.status, active_since = excluded.active_since, firing_since = excluded.firing_since,
        resolved_at = excluded.resolved_at, last_active_at = excluded.last_active_at, notified_status = excluded.notified_status,
        last_notified_at = excluded.last_notified_at, updated_at = excluded.updated_at`),
    deleteState: db.prepare<[string]>('DELETE FROM alert_states WHERE fingerprint = ?'),
    insertEvent: db.prepare<[string, string, string, string, string | null, string, string]>(
      'INSERT INTO alert_events (at, fingerprint, rule, labels, from_status, to_status, summary) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    insertOutbox: db.prepare<[string, string, string, string, string, string, string, string]>(`
      INSERT INTO alert_outbox (notification_id, receiver, rule, kind, payload, created_at, status, attempts, next_attempt_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)`),
    upsertGroup: db.prepare<[string, string]>(
      'INSERT INTO alert_groups (rule, last_notified_at) VALUES (?, ?) ON CONFLICT (rule) DO UPDATE SET last_notified_at = excluded.last_notified_at',
    ),
    insertEvaluation: db.prepare<[string, number, number, number, number, string | null]>(
      'INSERT INTO alert_evaluations (started_at, duration_ms, active, transitions, notifications, error) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    lastEvaluation: db.prepare<[], { startedAt: string; durationMs: number; active: number; transitions: number; notifications: number; error: string | null }>(`
      SELECT started_at AS startedAt, duration_ms AS durationMs, active, transitions, notifications, error FROM alert_evaluations ORDER BY id DESC LIMIT 1`),
    nextOutbox: db.prepare<[string], { id: number; notification_id: string; receiver: string; rule: string; payload: string; created_at: string; attempts: number; next_attempt_at: string }>(`
      SELECT id, notification_id, receiver, rule, payload, created_at, attempts, next_attempt_at FROM alert_outbox
      WHERE receiver = ? AND status = 'pending' ORDER BY id LIMIT 1`),
    insertAttempt: db.prepare<[number | null, string | null, string, string | null, string, string, number, string, number, number | null, string, string | null]>(`
      INSERT INTO alert_delivery_attempts (outbox_id, notification_id, receiver, rule, kind, fingerprints, attempt, at, duration_ms, status_code, outcome, error)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    outboxDelivered: db.prepare<[string, number]>("UPDATE alert_outbox SET status = 'delivered', attempts = attempts + 1, last_error = NULL, finished_at = ? WHERE id = ? AND status = 'pending'"),
    outboxFailed: db.prepare<[string | null, string, number]>("UPDATE alert_outbox SET status = 'failed', attempts = attempts + 1, last_error = ?, finished_at = ? WHERE id = ? AND status = 'pending'"),
    outboxRetry: db.prepare<[string | null, string, number]>("UPDATE alert_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ? AND status = 'pending'"),
    notifiedFiring: db.prepare<[string], StateRow>(`
      SELECT ${STATE_COLUMNS} FROM alert_states WHERE status = 'firing' AND notified_status = 'firing'
        AND rule IN (SELECT value FROM json_each(?)) ORDER BY rule, fingerprint`),
    failOrphans: db.prepare<[{ at: string; receivers: string }]>(`
      UPDATE alert_outbox SET status = 'failed', finished_at = @at, last_error = 'the receiver ' || receiver || ' is no longer configured'
      WHERE status = 'pending' AND receiver NOT IN (SELECT value FROM json_each(@receivers))`),
    listAlerts: db.prepare<[string], StateRow>(`
      SELECT ${STATE_COLUMNS} FROM alert_states WHERE status != 'resolved' OR resolved_at >= ?
      ORDER BY CASE status WHEN 'firing' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END, rule, coalesce(firing_since, active_since) DESC, fingerprint`),
    receiverQueues: db.prepare<[], ReceiverQueue>(`
      SELECT receiver, count(*) AS pending, min(created_at) AS oldestPendingAt FROM alert_outbox WHERE status = 'pending' GROUP BY receiver ORDER BY receiver`),
    lastAttempts: db.prepare<[], AttemptRow>(`
      SELECT ${ATTEMPT_COLUMNS} FROM alert_delivery_attempts WHERE id IN (SELECT max(id) FROM alert_delivery_attempts GROUP BY receiver)`),
    alertCounts: db.prepare<[], { rule: string; status: AlertStatus; count: number }>(
      "SELECT rule, status, count(*) AS count FROM alert_states WHERE status != 'resolved' GROUP BY rule, status ORDER BY rule, status",
    ),
    pruneEvents: db.prepare<[string]>('DELETE FROM alert_events WHERE at < ?'),
    pruneEvaluations: db.prepare<[string]>('DELETE FROM alert_evaluations WHERE started_at < ?'),
    pruneOutbox: db.prepare<[string]>("DELETE FROM alert_outbox WHERE status != 'pending' AND finished_at < ?"),
    pruneAttempts: db.prepare<[string]>('DELETE FROM alert_delivery_attempts WHERE outbox_id IS NULL AND at < ?'),
    pruneStates: db.prepare<[string]>("DELETE FROM alert_states WHERE status = 'resolved' AND (notified_status IS NULL OR notified_status = 'resolved') AND resolved_at < ?"),
  };
}

export class SqliteAlertStore implements AlertStore {
  private readonly s: ReturnType<typeof prepare>;
  private readonly endpoints: SqliteEndpointStore;
  private readonly commitTransaction: Database.Transaction<(write: EvaluationWrite) => void>;
  private readonly snapshotTransaction: Database.Transaction<(now: string, forgetBefore: string) => void>;
  private readonly attemptTransaction: Database.Transaction<(attempt: AttemptInput) => void>;
  private readonly pruneTransaction: Database.Transaction<(cutoff: string) => number>;
  private readonly pagedStatements = new Map<string, { page: Database.Statement<[Record<string, unknown>], unknown>; total: Database.Statement<[Record<string, unknown>], number> }>();

  /** `db` is an open, migrated connection (SqliteStore.database); the SqliteStore closes it. */
  constructor(private readonly db: Database.Database) {
    this.s = prepare(db);
    this.endpoints = new SqliteEndpointStore(db);
    this.commitTransaction = db.transaction((write: EvaluationWrite) => this.writeEvaluation(write));
    this.snapshotTransaction = db.transaction((now: string, forgetBefore: string) => this.updateSnapshot(now, forgetBefore));
    this.attemptTransaction = db.transaction((attempt: AttemptInput) => this.writeAttempt(attempt));
    this.pruneTransaction = db.transaction((cutoff: string) => {
      let removed = 0;
      removed += this.s.pruneEvents.run(cutoff).changes;
      removed += this.s.pruneEvaluations.run(cutoff).changes;
      removed += this.s.pruneOutbox.run(cutoff).changes;
      removed += this.s.pruneAttempts.run(cutoff).changes;
      removed += this.s.pruneStates.run(cutoff).changes;
      return removed;
    });
  }

  // --- facts ---------------------------------------------------------------------------------

  async staleHosts(before: Date): Promise<StaleHostFact[]> {
    return this.s.staleHosts.all(before.toISOString());
  }

  async openFindings(minSeverity: Severity, rules: readonly string[] | null): Promise<OpenFindingFact[]> {
    const severities = (Object.keys(SEVERITY_RANK) as Severity[]).filter((s) => SEVERITY_RANK[s] <= SEVERITY_RANK[minSeverity]);
    return this.s.openFindings
      .all({ severities: JSON.stringify(severities), rules: rules === null ? null : JSON.stringify(rules) })
      .map((row) => ({ ...row, fix: JSON.parse(row.fix) as Fix }));
  }

  async duplicateIdentities(): Promise<DuplicateIdentityFact[]> {
    return duplicateIdentityFacts(this.s.duplicateKeys.all());
  }

  async serviceRegressions(now: Date, forgetBefore: Date): Promise<ServiceRegressionFact[]> {
    this.snapshotTransaction.immediate(now.toISOString(), forgetBefore.toISOString());
    return this.s.regressions.all().map((row) => ({
      ...row,
      process: row.process === '' ? null : row.process,
      fix: row.fix === null ? null : (JSON.parse(row.fix) as Fix),
    }));
  }

  /** Looks again only at hosts whose services_hash changed since the snapshot last saw them. */
  private updateSnapshot(now: string, forgetBefore: string): void {
    for (const host of this.s.changedServiceHosts.all()) {
      // A host may have several services with the same (proto, port, process): dual-stack
      // when any of them is.
      const current = new Map<string, { proto: string; port: number; process: string; modes: string[] }>();
      for (const service of this.s.hostServices.all(host.host_id)) {
        const process = service.process ?? '';
        const key = `${service.proto}/${service.port}/${process}`;
        let entry = current.get(key);
        if (!entry) current.set(key, (entry = { proto: service.proto, port: service.port, process, modes: [] }));
        entry.modes.push(service.mode);
      }
      for (const entry of current.values()) {
        const dualMode = entry.modes.find((m) => DUAL_MODES.has(m));
        if (dualMode) this.s.snapshotDual.run(host.host_id, entry.proto, entry.port, entry.process, dualMode, now);
      }
      for (const row of this.s.snapshotOf.all(host.host_id)) {
        const entry = current.get(`${row.proto}/${row.port}/${row.process}`);
        if (entry?.modes.some((m) => DUAL_MODES.has(m))) continue;
        // The most open single-family mode it has now, or gone.
        const mode = regressedMode(entry?.modes);
        this.s.snapshotRegressed.run(now, mode, host.host_id, row.proto, row.port, row.process);
      }
      this.s.snapshotHost.run(host.host_id, host.services_hash);
    }
    this.s.snapshotForget.run(forgetBefore);
  }

  async fleetShares(staleBefore: Date): Promise<FleetShares> {
    const r = this.s.shares.get({ staleBefore: staleBefore.toISOString() })!;
    return {
      hosts: r.hosts,
      freshHosts: r.fresh,
      exposedServices: r.exposed,
      ipv6RoutableShare: r.fresh > 0 ? r.fresh_routable / r.fresh : null,
      dualStackServiceShare: r.exposed > 0 ? r.dual / r.exposed : null,
    };
  }

  async endpointInputs(staleBefore: Date): Promise<EndpointInput[]> {
    return this.endpoints.inputs(staleBefore.toISOString());
  }

  async readinessReferences(): Promise<ReadinessReference[]> {
    return this.s.references.all();
  }

  // --- states --------------------------------------------------------------------------------

  async liveAlerts(): Promise<StoredAlert[]> {
    return this.s.liveAlerts.all().map(alertOf);
  }

  async groupsNotifiedAt(): Promise<Map<string, string>> {
    return new Map(this.s.groups.all());
  }

  async commitEvaluation(write: EvaluationWrite): Promise<void> {
    this.commitTransaction.immediate(write);
  }

  private writeEvaluation(write: EvaluationWrite): void {
    const s = this.s;
    for (const alert of write.upserts) {
      const st = alert.state;
      s.upsertState.run({
        fingerprint: alert.fingerprint,
        rule: alert.rule,
        labels: JSON.stringify(alert.labels),
        annotations: JSON.stringify(alert.annotations),
        status: st.status,
        activeSince: iso(st.activeSince),
        firingSince: isoOrNull(st.firingSince),
        resolvedAt: isoOrNull(st.resolvedAt),
        lastActiveAt: iso(st.lastActiveAt),
        notifiedStatus: st.notifiedStatus,
        lastNotifiedAt: isoOrNull(st.lastNotifiedAt),
        at: write.at,
      });
    }
    for (const fingerprint of write.deletes) s.deleteState.run(fingerprint);
    for (const e of write.events) s.insertEvent.run(e.at, e.fingerprint, e.rule, JSON.stringify(e.labels), e.from, e.to, e.summary);
    for (const o of write.outbox) s.insertOutbox.run(o.notificationId, o.receiver, o.rule, o.notification.kind === 'test' ? 'test' : 'notification', JSON.stringify(o.notification), write.at, 'pending', write.at);
    for (const rule of write.groupsNotified) s.upsertGroup.run(rule, write.at);
    for (const r of write.references) s.upsertReference.run(r.rule, r.metric, r.value, r.at, r.dropSince);
  }

  async recordEvaluation(record: EvaluationView): Promise<void> {
    this.s.insertEvaluation.run(record.startedAt, record.durationMs, record.active, record.transitions, record.notifications, record.error);
  }

  // --- delivery ------------------------------------------------------------------------------

  async nextOutbox(receiver: string): Promise<OutboxEntry | null> {
    const row = this.s.nextOutbox.get(receiver);
    if (!row) return null;
    return {
      id: row.id,
      notificationId: row.notification_id,
      receiver: row.receiver,
      rule: row.rule,
      notification: JSON.parse(row.payload) as Notification,
      createdAt: row.created_at,
      attempts: row.attempts,
      nextAttemptAt: row.next_attempt_at,
    };
  }

  async recordAttempt(attempt: AttemptInput): Promise<void> {
    if (!this.db.open) return;
    this.attemptTransaction.immediate(attempt);
  }

  private writeAttempt(a: AttemptInput): void {
    this.s.insertAttempt.run(a.outboxId, a.notificationId, a.receiver, a.rule, a.kind, JSON.stringify(a.fingerprints), a.attempt, a.at, a.durationMs, a.statusCode, a.outcome, a.error);
    if (a.outboxId === null) return;
    if (a.outcome === 'delivered') this.s.outboxDelivered.run(a.at, a.outboxId);
    else if (a.outcome === 'failed') this.s.outboxFailed.run(a.error, a.at, a.outboxId);
    else this.s.outboxRetry.run(a.error, a.nextAttemptAt ?? a.at, a.outboxId);
  }

  async notifiedFiring(rules: readonly string[]): Promise<StoredAlert[]> {
    return this.s.notifiedFiring.all(JSON.stringify(rules)).map(alertOf);
  }

  async failOrphans(receivers: readonly string[], at: Date): Promise<number> {
    return this.s.failOrphans.run({ at: at.toISOString(), receivers: JSON.stringify(receivers) }).changes;
  }

  // --- reads ---------------------------------------------------------------------------------

  async listAlerts(resolvedSince: Date): Promise<StoredAlert[]> {
    return this.s.listAlerts.all(resolvedSince.toISOString()).map(alertOf);
  }

  /** A page statement and a count statement per filter combination, prepared on first use and kept. */
  private paged<Row>(table: string, columns: string, clause: string): { page: Database.Statement<[Record<string, unknown>], Row>; total: Database.Statement<[Record<string, unknown>], number> } {
    const key = `${table} ${clause}`;
    let statements = this.pagedStatements.get(key);
    if (!statements) {
      statements = {
        page: this.db.prepare(`SELECT ${columns} FROM ${table} ${clause} ORDER BY id DESC LIMIT @limit OFFSET @offset`),
        total: this.db.prepare<[Record<string, unknown>], number>(`SELECT count(*) FROM ${table} ${clause}`).pluck(),
      };
      this.pagedStatements.set(key, statements);
    }
    return statements as { page: Database.Statement<[Record<string, unknown>], Row>; total: Database.Statement<[Record<string, unknown>], number> };
  }

  async history(query: { limit: number; offset: number; rule?: string | undefined; fingerprint?: string | undefined }): Promise<Paged<AlertEventView>> {
    const where: string[] = [];
    if (query.rule !== undefined) where.push('rule = @rule');
    if (query.fingerprint !== undefined) where.push('fingerprint = @fingerprint');
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const params = { rule: query.rule, fingerprint: query.fingerprint, limit: query.limit, offset: query.offset };
    const statements = this.paged<{ id: number; at: string; fingerprint: string; rule: string; labels: string; from_status: AlertStatus | null; to_status: AlertStatus | 'cancelled'; summary: string }>(
      'alert_events',
      'id, at, fingerprint, rule, labels, from_status, to_status, summary',
      clause,
    );
    const rows = statements.page.all(params);
    const total = statements.total.get(params) ?? 0;
    return {
      total,
      limit: query.limit,
      offset: query.offset,
      items: rows.map((r) => ({ id: r.id, at: r.at, fingerprint: r.fingerprint, rule: r.rule, labels: JSON.parse(r.labels) as AlertLabels, from: r.from_status, to: r.to_status, summary: r.summary })),
    };
  }

  async deliveries(query: { limit: number; offset: number; receiver?: string | undefined }): Promise<Paged<AttemptView>> {
    const clause = query.receiver !== undefined ? 'WHERE receiver = @receiver' : '';
    const params = { receiver: query.receiver, limit: query.limit, offset: query.offset };
    const statements = this.paged<AttemptRow>('alert_delivery_attempts', ATTEMPT_COLUMNS, clause);
    const rows = statements.page.all(params);
    const total = statements.total.get(params) ?? 0;
    return { total, limit: query.limit, offset: query.offset, items: rows.map(attemptOf) };
  }

  async lastEvaluation(): Promise<EvaluationView | null> {
    return this.s.lastEvaluation.get() ?? null;
  }

  async receiverQueues(): Promise<ReceiverQueue[]> {
    return this.s.receiverQueues.all();
  }

  async lastAttempts(): Promise<Map<string, AttemptView>> {
    return new Map(this.s.lastAttempts.all().map((row) => [row.receiver, attemptOf(row)]));
  }

  async alertCounts(): Promise<Array<{ rule: string; status: AlertStatus; count: number }>> {
    return this.s.alertCounts.all();
  }

  async prune(before: Date): Promise<number> {
    if (!this.db.open) return 0;
    return this.pruneTransaction.immediate(before.toISOString());
  }
}

