// The AlertStore on PostgreSQL, on the pool of the PostgresStore (the facts are read from the
// tables ingest writes). The same queries and meaning as db/sqlite-alert-store.ts; what differs
// is what several collectors on one database need:
//   - lead(): only the holder of the leader lease evaluates (postgres/leader-lease.ts);
//   - the outbox is claimed, not just read: nextOutbox() locks the receiver's oldest pending
//     entry with FOR UPDATE SKIP LOCKED in a transaction kept open on its own connection while
//     the worker sends it, and recordAttempt() writes the outcome and commits on that
//     connection. A second collector skips a locked entry (its lane is being drained), so no
//     entry is sent by two collectors at once; a collector that dies mid-send loses its
//     connection, PostgreSQL releases the lock, the entry is still pending and the next
//     collector that drains the lane sends it (at least once, as on SQLite).
import type pg from 'pg';
import type { Paged } from '../../api.js';
import type { AlertEventView, AlertLabels, AttemptView, EvaluationView, Notification } from '../../alerts/api.js';
import type { AlertStatus } from '../../alerts/state.js';
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
  ServiceRegressionFact,
  Severity,
  StaleHostFact,
  StoredAlert,
} from '../../alerts/store.js';
import { duplicateIdentityFacts, type DuplicateKeyRow } from '../../alerts/duplicate-identity-facts.js';
import type { EndpointInput } from '../../endpoints/records.js';
import { alertOf, attemptOf, ATTEMPT_COLUMNS, DUAL_MODES, iso, isoOrNull, regressedMode, SEVERITY_RANK, STATE_COLUMNS, type AttemptRow, type StateRow } from '../alert-rows.js';
import { withTransaction } from './pool.js';
import { LeaderLease } from './leader-lease.js';

interface OutboxRow {
  id: number;
  notification_id: string;
  receiver: string;
  rule: string;
  payload: string;
  created_at: string;
  attempts: number;
  next_attempt_at: string;
}

// Hosts whose services the service-regressed snapshot looks at per round of statements.
const SNAPSHOT_CHUNK = 1000;

const OUTBOX_COLUMNS = 'id, notification_id, receiver, rule, payload, created_at, attempts, next_attempt_at';

function outboxOf(row: OutboxRow): OutboxEntry {
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

const INSERT_ATTEMPT = `
  INSERT INTO alert_delivery_attempts (outbox_id, notification_id, receiver, rule, kind, fingerprints, attempt, at, duration_ms, status_code, outcome, error)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;

// The receiver's oldest pending entry, locked, or nothing when another collector holds it (its
// lane is being drained there: taking the next one instead would send out of order). The outer
// status test is re-checked on the row's newest version once the lock is taken, so an entry
// delivered meanwhile by the other collector is not returned.
const CLAIM_OUTBOX = `
  SELECT ${OUTBOX_COLUMNS} FROM alert_outbox
  WHERE id = (SELECT min(id) FROM alert_outbox WHERE receiver = $1 AND status = 'pending') AND status = 'pending'
  FOR UPDATE SKIP LOCKED`;

/** A claimed outbox entry: its transaction, open on its own connection until the attempt is recorded. */
interface Claim {
  id: number;
  client: pg.PoolClient;
  /** The connection broke while the claim was held (the lock is gone with it). */
  broken: Error | null;
  onError: (error: Error) => void;
}

export interface PostgresAlertStoreOptions {
  /** Facts about published endpoints (the endpoint store on the same pool); none: no endpoint facts. */
  endpointInputs?: (staleBefore: string) => Promise<EndpointInput[]>;
  /** The leader lease (default: one on this pool). */
  lease?: LeaderLease;
}

export class PostgresAlertStore implements AlertStore {
  private readonly claims = new Map<string, Claim>();
  private readonly lease: LeaderLease;
  private closed = false;

  /** `pool` is the migrated pool of the PostgresStore, which closes it (close() here first). */
  constructor(
    private readonly pool: pg.Pool,
    private readonly options: PostgresAlertStoreOptions = {},
  ) {
    this.lease = options.lease ?? new LeaderLease(pool);
  }

  /** Whether this collector holds the leader lease now (taking it when free). */
  lead(): Promise<boolean> {
    return this.lease.hold();
  }

  /** Gives back held outbox claims (rolled back: their entries stay pending) and the lease. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.claims.keys()].map((receiver) => this.unclaim(receiver)));
    await this.lease.release();
  }

  private async rows<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
    return (await this.pool.query<T>(text, values)).rows;
  }

  // --- facts ---------------------------------------------------------------------------------

  async staleHosts(before: Date): Promise<StaleHostFact[]> {
    return this.rows<StaleHostFact>('SELECT host_id AS "hostId", hostname, last_seen AS "lastSeen" FROM hosts WHERE last_seen < $1 ORDER BY host_id', [before.toISOString()]);
  }

  async openFindings(minSeverity: Severity, rules: readonly string[] | null): Promise<OpenFindingFact[]> {
    const severities = (Object.keys(SEVERITY_RANK) as Severity[]).filter((s) => SEVERITY_RANK[s] <= SEVERITY_RANK[minSeverity]);
    const rows = await this.rows<Omit<OpenFindingFact, 'fix'> & { fix: string }>(
      `SELECT f.host_id AS "hostId", h.hostname, f.rule, f.subject, f.severity, f.message, f.fix, f.first_seen AS "firstSeen"
       FROM findings f JOIN hosts h ON h.host_id = f.host_id
       WHERE f.resolved_at IS NULL AND f.severity = ANY ($1::text[]) AND ($2::text[] IS NULL OR f.rule = ANY ($2::text[]))
       ORDER BY f.host_id, f.rule, f.subject`,
      [severities, rules === null ? null : [...rules]],
    );
    return rows.map((row) => ({ ...row, fix: JSON.parse(row.fix) as Fix }));
  }

  /** As on SQLite: host ids with pending host keys, their live key and pending ones, oldest first. */
  async duplicateIdentities(): Promise<DuplicateIdentityFact[]> {
    return duplicateIdentityFacts(
      await this.rows<DuplicateKeyRow>(`
        SELECT k.host_id AS "hostId", k.id, k.state, k.hostname, k.peer, k.created_at AS "createdAt", k.last_used_at AS "lastUsedAt", h.hostname AS reported
        FROM host_keys k LEFT JOIN hosts h ON h.host_id = k.host_id
        WHERE k.state IN ('live', 'pending') AND k.host_id IN (SELECT host_id FROM host_keys WHERE state = 'pending')
        ORDER BY k.host_id, k.created_at, k.id`),
    );
  }

  async serviceRegressions(now: Date, forgetBefore: Date): Promise<ServiceRegressionFact[]> {
    await withTransaction(this.pool, (client) => this.updateSnapshot(client, now.toISOString(), forgetBefore.toISOString()));
    const rows = await this.rows<Omit<ServiceRegressionFact, 'fix' | 'process'> & { process: string; fix: string | null }>(`
      SELECT s.host_id AS "hostId", h.hostname, s.proto, s.port, s.process, s.dual_mode AS "dualMode", s.dual_since AS "dualSince",
        s.regressed_since AS "regressedSince", s.current_mode AS "currentMode",
        (SELECT f.fix FROM findings f WHERE f.host_id = s.host_id AND f.subject = s.proto || '/' || s.port AND f.resolved_at IS NULL
          ORDER BY CASE f.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, f.rule LIMIT 1) AS fix
      FROM alert_service_snapshot s JOIN hosts h ON h.host_id = s.host_id
      WHERE s.regressed_since IS NOT NULL ORDER BY s.host_id, s.proto, s.port, s.process`);
    return rows.map((row) => ({ ...row, process: row.process === '' ? null : row.process, fix: row.fix === null ? null : (JSON.parse(row.fix) as Fix) }));
  }

  /**
   * Looks again only at hosts whose services_hash changed since the snapshot last saw them, as
   * on SQLite, but with a fixed number of statements: their services and snapshot rows read at
   * once, the changes written as arrays (unnest), not one round trip per service.
   */
  private async updateSnapshot(client: pg.PoolClient, now: string, forgetBefore: string): Promise<void> {
    const changed = (
      await client.query<{ host_id: string; services_hash: string }>(`
        SELECT h.host_id, h.services_hash FROM hosts h LEFT JOIN alert_service_hosts s ON s.host_id = h.host_id
        WHERE s.services_hash IS DISTINCT FROM h.services_hash`)
    ).rows;
    // In chunks of hosts, so a first look at a whole fleet does not hold every service row in memory at once.
    for (let start = 0; start < changed.length; start += SNAPSHOT_CHUNK) {
      const chunk = changed.slice(start, start + SNAPSHOT_CHUNK);
      const hostIds = chunk.map((h) => h.host_id);
      const services = (
        await client.query<{ host_id: string; proto: string; port: number; process: string | null; mode: string }>(
          'SELECT host_id, proto, port, process, mode FROM services WHERE host_id = ANY ($1::text[]) ORDER BY host_id, seq',
          [hostIds],
        )
      ).rows;
      const snapshot = (
        await client.query<{ host_id: string; proto: string; port: number; process: string }>(
          'SELECT host_id, proto, port, process FROM alert_service_snapshot WHERE host_id = ANY ($1::text[])',
          [hostIds],
        )
      ).rows;
      // A host may have several services with the same (proto, port, process): dual-stack when any of them is.
      const current = new Map<string, { host: string; proto: string; port: number; process: string; modes: string[] }>();
      for (const s of services) {
        const process = s.process ?? '';
        const key = JSON.stringify([s.host_id, s.proto, s.port, process]);
        let entry = current.get(key);
        if (!entry) current.set(key, (entry = { host: s.host_id, proto: s.proto, port: s.port, process, modes: [] }));
        entry.modes.push(s.mode);
      }
      const dual = { host: [] as string[], proto: [] as string[], port: [] as number[], process: [] as string[], mode: [] as string[] };
      for (const entry of current.values()) {
        const mode = entry.modes.find((m) => DUAL_MODES.has(m));
        if (!mode) continue;
        dual.host.push(entry.host);
        dual.proto.push(entry.proto);
        dual.port.push(entry.port);
        dual.process.push(entry.process);
        dual.mode.push(mode);
      }
      const regressed = { host: [] as string[], proto: [] as string[], port: [] as number[], process: [] as string[], mode: [] as Array<string | null> };
      for (const row of snapshot) {
        const entry = current.get(JSON.stringify([row.host_id, row.proto, row.port, row.process]));
        if (entry?.modes.some((m) => DUAL_MODES.has(m))) continue;
        // The most open single-family mode it has now, or gone.
        const mode = regressedMode(entry?.modes);
        regressed.host.push(row.host_id);
        regressed.proto.push(row.proto);
        regressed.port.push(row.port);
        regressed.process.push(row.process);
        regressed.mode.push(mode);
      }
      if (dual.host.length > 0) {
        await client.query(
          `INSERT INTO alert_service_snapshot (host_id, proto, port, process, dual_mode, dual_since, regressed_since, current_mode)
           SELECT host_id, proto, port, process, dual_mode, $6, NULL, NULL
           FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[]) AS t (host_id, proto, port, process, dual_mode)
           ON CONFLICT (host_id, proto, port, process) DO UPDATE SET dual_mode = excluded.dual_mode, regressed_since = NULL, current_mode = NULL`,
          [dual.host, dual.proto, dual.port, dual.process, dual.mode, now],
        );
      }
      if (regressed.host.length > 0) {
        await client.query(
          `UPDATE alert_service_snapshot s SET regressed_since = coalesce(s.regressed_since, $6), current_mode = t.mode
           FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[]) AS t (host_id, proto, port, process, mode)
           WHERE s.host_id = t.host_id AND s.proto = t.proto AND s.port = t.port AND s.process = t.process`,
          [regressed.host, regressed.proto, regressed.port, regressed.process, regressed.mode, now],
        );
      }
      await client.query(
        `INSERT INTO alert_service_hosts (host_id, services_hash) SELECT * FROM unnest($1::text[], $2::text[])
         ON CONFLICT (host_id) DO UPDATE SET services_hash = excluded.services_hash`,
        [hostIds, chunk.map((h) => h.services_hash)],
      );
    }
    await client.query('DELETE FROM alert_service_snapshot WHERE regressed_since IS NOT NULL AND regressed_since < $1', [forgetBefore]);
  }

  async fleetShares(staleBefore: Date): Promise<FleetShares> {
    const [r] = await this.rows<{ hosts: number; fresh: number; fresh_routable: number; exposed: number; dual: number }>(
      `SELECT count(*) AS hosts, count(*) FILTER (WHERE last_seen >= $1) AS fresh,
         count(*) FILTER (WHERE last_seen >= $1 AND ipv6_routable = 1) AS fresh_routable,
         coalesce(sum(services_exposed), 0) AS exposed, coalesce(sum(services_dual), 0) AS dual
       FROM hosts`,
      [staleBefore.toISOString()],
    );
    return {
      hosts: r!.hosts,
      freshHosts: r!.fresh,
      exposedServices: r!.exposed,
      ipv6RoutableShare: r!.fresh > 0 ? r!.fresh_routable / r!.fresh : null,
      dualStackServiceShare: r!.exposed > 0 ? r!.dual / r!.exposed : null,
    };
  }

  async endpointInputs(staleBefore: Date): Promise<EndpointInput[]> {
    return this.options.endpointInputs ? this.options.endpointInputs(staleBefore.toISOString()) : [];
  }

  async readinessReferences(): Promise<ReadinessReference[]> {
    return this.rows<ReadinessReference>('SELECT rule, metric, value, at, drop_since AS "dropSince" FROM alert_fleet_reference');
  }

  // --- states --------------------------------------------------------------------------------

  async liveAlerts(): Promise<StoredAlert[]> {
    return (await this.rows<StateRow>(`SELECT ${STATE_COLUMNS} FROM alert_states WHERE status <> 'resolved' OR notified_status = 'firing'`)).map(alertOf);
  }

  async groupsNotifiedAt(): Promise<Map<string, string>> {
    return new Map((await this.rows<{ rule: string; last_notified_at: string }>('SELECT rule, last_notified_at FROM alert_groups')).map((r) => [r.rule, r.last_notified_at]));
  }

  /**
   * One transaction, one statement per kind of row (arrays through unnest), so an evaluation
   * that changes thousands of alerts (a fleet going stale) costs a few round trips, not one per row.
   */
  async commitEvaluation(write: EvaluationWrite): Promise<void> {
    // One row per fingerprint (the last write wins, as it would row by row): a statement may not upsert a key twice.
    const upserts = [...new Map(write.upserts.map((alert) => [alert.fingerprint, alert])).values()];
    const column = <T>(rows: readonly T[], value: (row: T) => unknown) => rows.map(value);
    await withTransaction(this.pool, async (client) => {
      if (upserts.length > 0) {
        await client.query(
          `INSERT INTO alert_states (${STATE_COLUMNS}, updated_at)
           SELECT fingerprint, rule, labels, annotations, status, active_since, firing_since, resolved_at, last_active_at, notified_status, last_notified_at, $12
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
             AS t (fingerprint, rule, labels, annotations, status, active_since, firing_since, resolved_at, last_active_at, notified_status, last_notified_at)
           ON CONFLICT (fingerprint) DO UPDATE SET rule = excluded.rule, labels = excluded.labels, annotations = excluded.annotations,
             status = excluded.status, active_since = excluded.active_since, firing_since = excluded.firing_since,
             resolved_at = excluded.resolved_at, last_active_at = excluded.last_active_at, notified_status = excluded.notified_status,
             last_notified_at = excluded.last_notified_at, updated_at = excluded.updated_at`,
          [
            column(upserts, (a) => a.fingerprint),
            column(upserts, (a) => a.rule),
            column(upserts, (a) => JSON.stringify(a.labels)),
            column(upserts, (a) => JSON.stringify(a.annotations)),
            column(upserts, (a) => a.state.status),
            column(upserts, (a) => iso(a.state.activeSince)),
            column(upserts, (a) => isoOrNull(a.state.firingSince)),
            column(upserts, (a) => isoOrNull(a.state.resolvedAt)),
            column(upserts, (a) => iso(a.state.lastActiveAt)),
            column(upserts, (a) => a.state.notifiedStatus),
            column(upserts, (a) => isoOrNull(a.state.lastNotifiedAt)),
            write.at,
          ],
        );
      }
      if (write.deletes.length > 0) await client.query('DELETE FROM alert_states WHERE fingerprint = ANY ($1::text[])', [write.deletes]);
      if (write.events.length > 0) {
        const e = write.events;
        // In the order given (ids follow it): history reads newest id first.
        await client.query(
          `INSERT INTO alert_events (at, fingerprint, rule, labels, from_status, to_status, summary)
           SELECT at, fingerprint, rule, labels, from_status, to_status, summary
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY
             AS t (at, fingerprint, rule, labels, from_status, to_status, summary, n)
           ORDER BY n`,
          [column(e, (x) => x.at), column(e, (x) => x.fingerprint), column(e, (x) => x.rule), column(e, (x) => JSON.stringify(x.labels)), column(e, (x) => x.from), column(e, (x) => x.to), column(e, (x) => x.summary)],
        );
      }
      for (const o of write.outbox) {
        await client.query(
          `INSERT INTO alert_outbox (notification_id, receiver, rule, kind, payload, created_at, status, attempts, next_attempt_at)
           VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $6)`,
          [o.notificationId, o.receiver, o.rule, o.notification.kind === 'test' ? 'test' : 'notification', JSON.stringify(o.notification), write.at],
        );
      }
      for (const rule of write.groupsNotified) {
        await client.query('INSERT INTO alert_groups (rule, last_notified_at) VALUES ($1, $2) ON CONFLICT (rule) DO UPDATE SET last_notified_at = excluded.last_notified_at', [rule, write.at]);
      }
      for (const r of write.references) {
        await client.query(
          `INSERT INTO alert_fleet_reference (rule, metric, value, at, drop_since) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (rule, metric) DO UPDATE SET value = excluded.value, at = excluded.at, drop_since = excluded.drop_since`,
          [r.rule, r.metric, r.value, r.at, r.dropSince],
        );
      }
    });
  }

  async recordEvaluation(record: EvaluationView): Promise<void> {
    await this.pool.query('INSERT INTO alert_evaluations (started_at, duration_ms, active, transitions, notifications, error) VALUES ($1, $2, $3, $4, $5, $6)', [
      record.startedAt,
      record.durationMs,
      record.active,
      record.transitions,
      record.notifications,
      record.error,
    ]);
  }

  // --- delivery ------------------------------------------------------------------------------

  /**
   * Claims the receiver's oldest pending entry (see CLAIM_OUTBOX) until its attempt is recorded
   * or releaseOutbox() is called. null: nothing pending, or another collector holds the lane.
   * A lane is drained one entry at a time, so a claim still held for the receiver (the worker
   * found it not yet due) is given back first.
   */
  async nextOutbox(receiver: string): Promise<OutboxEntry | null> {
    await this.unclaim(receiver);
    if (this.closed) return null;
    const client = await this.pool.connect();
    const claim: Claim = { id: 0, client, broken: null, onError: (error) => (claim.broken = error) };
    // A connection that breaks while idle in the transaction (the server restarted, an admin
    // ended it) emits 'error' on its client: kept for recordAttempt, never an uncaught error.
    client.on('error', claim.onError);
    try {
      await client.query('BEGIN');
      const row = (await client.query<OutboxRow>(CLAIM_OUTBOX, [receiver])).rows[0];
      if (!row) {
        await client.query('ROLLBACK');
        this.releaseClient(claim);
        return null;
      }
      claim.id = row.id;
      this.claims.set(receiver, claim);
      return outboxOf(row);
    } catch (error) {
      claim.broken ??= error as Error;
      this.releaseClient(claim);
      throw error;
    }
  }

  /** Gives back the claim on `entry` without an attempt (it stays pending). */
  async releaseOutbox(entry: OutboxEntry): Promise<void> {
    if (this.claims.get(entry.receiver)?.id === entry.id) await this.unclaim(entry.receiver);
  }

  private async unclaim(receiver: string): Promise<void> {
    const claim = this.claims.get(receiver);
    if (!claim) return;
    this.claims.delete(receiver);
    if (!claim.broken) await claim.client.query('ROLLBACK').catch((error: Error) => (claim.broken = error));
    this.releaseClient(claim);
  }

  private releaseClient(claim: Claim): void {
    claim.client.off('error', claim.onError);
    claim.client.release(claim.broken ?? undefined);
  }

  async recordAttempt(a: AttemptInput): Promise<void> {
    const claim = a.outboxId === null ? undefined : this.claims.get(a.receiver);
    if (claim && claim.id === a.outboxId) {
      // The outcome commits with the claim: the lock is held until the entry is no longer pending.
      this.claims.delete(a.receiver);
      try {
        if (claim.broken) throw claim.broken;
        await this.writeAttempt(claim.client, a);
        await claim.client.query('COMMIT');
      } catch (error) {
        if (!claim.broken) await claim.client.query('ROLLBACK').catch((rollbackError: Error) => (claim.broken = rollbackError));
        claim.broken ??= error as Error;
        throw error;
      } finally {
        this.releaseClient(claim);
      }
      return;
    }
    if (this.closed) return;
    await withTransaction(this.pool, (client) => this.writeAttempt(client, a));
  }

  private async writeAttempt(client: pg.ClientBase, a: AttemptInput): Promise<void> {
    await client.query(INSERT_ATTEMPT, [a.outboxId, a.notificationId, a.receiver, a.rule, a.kind, JSON.stringify(a.fingerprints), a.attempt, a.at, a.durationMs, a.statusCode, a.outcome, a.error]);
    if (a.outboxId === null) return;
    if (a.outcome === 'delivered') {
      await client.query("UPDATE alert_outbox SET status = 'delivered', attempts = attempts + 1, last_error = NULL, finished_at = $1 WHERE id = $2 AND status = 'pending'", [a.at, a.outboxId]);
    } else if (a.outcome === 'failed') {
      await client.query("UPDATE alert_outbox SET status = 'failed', attempts = attempts + 1, last_error = $1, finished_at = $2 WHERE id = $3 AND status = 'pending'", [a.error, a.at, a.outboxId]);
    } else {
      await client.query("UPDATE alert_outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3 AND status = 'pending'", [a.error, a.nextAttemptAt ?? a.at, a.outboxId]);
    }
  }

  async notifiedFiring(rules: readonly string[]): Promise<StoredAlert[]> {
    return (
      await this.rows<StateRow>(`SELECT ${STATE_COLUMNS} FROM alert_states WHERE status = 'firing' AND notified_status = 'firing' AND rule = ANY ($1::text[]) ORDER BY rule, fingerprint`, [[...rules]])
    ).map(alertOf);
  }

  async failOrphans(receivers: readonly string[], at: Date): Promise<number> {
    // SKIP LOCKED: an entry another collector is sending right now is left to it.
    const result = await this.pool.query(
      `UPDATE alert_outbox SET status = 'failed', finished_at = $1, last_error = 'the receiver ' || receiver || ' is no longer configured'
       WHERE id IN (SELECT id FROM alert_outbox WHERE status = 'pending' AND NOT (receiver = ANY ($2::text[])) FOR UPDATE SKIP LOCKED)`,
      [at.toISOString(), [...receivers]],
    );
    return result.rowCount ?? 0;
  }

  // --- reads ---------------------------------------------------------------------------------

  async listAlerts(resolvedSince: Date): Promise<StoredAlert[]> {
    return (
      await this.rows<StateRow>(
        `SELECT ${STATE_COLUMNS} FROM alert_states WHERE status <> 'resolved' OR resolved_at >= $1
         ORDER BY CASE status WHEN 'firing' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END, rule, coalesce(firing_since, active_since) DESC, fingerprint`,
        [resolvedSince.toISOString()],
      )
    ).map(alertOf);
  }

  async history(query: { limit: number; offset: number; rule?: string | undefined; fingerprint?: string | undefined }): Promise<Paged<AlertEventView>> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (query.rule !== undefined) where.push(`rule = $${values.push(query.rule)}`);
    if (query.fingerprint !== undefined) where.push(`fingerprint = $${values.push(query.fingerprint)}`);
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const rows = await this.rows<{ id: number; at: string; fingerprint: string; rule: string; labels: string; from_status: AlertStatus | null; to_status: AlertStatus | 'cancelled'; summary: string }>(
      `SELECT id, at, fingerprint, rule, labels, from_status, to_status, summary FROM alert_events ${clause} ORDER BY id DESC LIMIT $${values.length + 1} OFFSET $${values.length + 2}`,
      [...values, query.limit, query.offset],
    );
    const [count] = await this.rows<{ total: number }>(`SELECT count(*) AS total FROM alert_events ${clause}`, values);
    return {
      total: count?.total ?? 0,
      limit: query.limit,
      offset: query.offset,
      items: rows.map((r) => ({ id: r.id, at: r.at, fingerprint: r.fingerprint, rule: r.rule, labels: JSON.parse(r.labels) as AlertLabels, from: r.from_status, to: r.to_status, summary: r.summary })),
    };
  }

  async deliveries(query: { limit: number; offset: number; receiver?: string | undefined }): Promise<Paged<AttemptView>> {
    const values: unknown[] = query.receiver !== undefined ? [query.receiver] : [];
    const clause = query.receiver !== undefined ? 'WHERE receiver = $1' : '';
    const rows = await this.rows<AttemptRow>(`SELECT ${ATTEMPT_COLUMNS} FROM alert_delivery_attempts ${clause} ORDER BY id DESC LIMIT $${values.length + 1} OFFSET $${values.length + 2}`, [
      ...values,
      query.limit,
      query.offset,
    ]);
    const [count] = await this.rows<{ total: number }>(`SELECT count(*) AS total FROM alert_delivery_attempts ${clause}`, values);
    return { total: count?.total ?? 0, limit: query.limit, offset: query.offset, items: rows.map(attemptOf) };
  }

  async lastEvaluation(): Promise<EvaluationView | null> {
    const [row] = await this.rows<EvaluationView>(
      'SELECT started_at AS "startedAt", duration_ms AS "durationMs", active, transitions, notifications, error FROM alert_evaluations ORDER BY id DESC LIMIT 1',
    );
    return row ?? null;
  }

  async receiverQueues(): Promise<ReceiverQueue[]> {
    return this.rows<ReceiverQueue>(
      `SELECT receiver, count(*) AS pending, min(created_at) AS "oldestPendingAt" FROM alert_outbox WHERE status = 'pending' GROUP BY receiver ORDER BY receiver`,
    );
  }

  async lastAttempts(): Promise<Map<string, AttemptView>> {
    const rows = await this.rows<AttemptRow>(`SELECT ${ATTEMPT_COLUMNS} FROM alert_delivery_attempts WHERE id IN (SELECT max(id) FROM alert_delivery_attempts GROUP BY receiver)`);
    return new Map(rows.map((row) => [row.receiver, attemptOf(row)]));
  }

  async alertCounts(): Promise<Array<{ rule: string; status: AlertStatus; count: number }>> {
    return this.rows("SELECT rule, status, count(*) AS count FROM alert_states WHERE status <> 'resolved' GROUP BY rule, status ORDER BY rule, status");
  }

  async prune(before: Date): Promise<number> {
    if (this.closed) return 0;
    const cutoff = before.toISOString();
    return withTransaction(this.pool, async (client) => {
      let removed = 0;
      for (const statement of [
        'DELETE FROM alert_events WHERE at < $1',
        'DELETE FROM alert_evaluations WHERE started_at < $1',
        "DELETE FROM alert_outbox WHERE status <> 'pending' AND finished_at < $1",
        'DELETE FROM alert_delivery_attempts WHERE outbox_id IS NULL AND at < $1',
        "DELETE FROM alert_states WHERE status = 'resolved' AND (notified_status IS NULL OR notified_status = 'resolved') AND resolved_at < $1",
      ]) {
        removed += (await client.query(statement, [cutoff])).rowCount ?? 0;
      }
      return removed;
    });
  }
}
