// The Store on SQLite (better-sqlite3). Statements prepared once, every write synchronous
// inside a transaction (no await between BEGIN and COMMIT).
//
// Ingest is group-committed: ingestReport() turns the report into rows in plain JS
// (db/ingest-rows.ts, so the transaction runs SQL only) and queues it; the queued reports are
// written in ONE transaction (one fsync under synchronous=FULL) by the ingest writer
// (db/ingest-writer.ts), on a worker thread with its own connection (db/ingest-thread.ts), and
// the promises are settled only after that commit. While one batch commits, the next reports
// queue up: the batch is as large as the load makes it. If the transaction fails because of a
// report's data, nothing of it is kept and each report is retried in a transaction of its own,
// so only the bad one fails; if it fails because of the database (busy, full, I/O), all of
// them fail at once. Reads, tokens, retention and the alert store use this thread's own
// connection (WAL: readers see each commit as soon as it is acknowledged).
// Inside the transaction, per report:
// - idempotency: a reportId already in `reports` (also earlier in the same batch) is not
//   written again; its ack is rebuilt from the row, with duplicate=true;
// - order: the report received last is the host's current one (the agent's collectedAt
//   orders nothing: a clock set ahead must not pin a host); see ingest-writer.ts;
// - services: replaced only when the service set's hash changes (see prepareReport for what
//   is hashed); per-service connection counts are kept in the latest report's body only;
// - findings: diffed against the open ones by (rule, subject): new or returning ones are
//   opened (a returning one starts a new open period: first_seen is reset), missing ones are
//   resolved; when the findings' hash is unchanged nothing is written (an open finding's
//   last_seen is the host's collected_at).
import { randomUUID } from 'node:crypto';
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { compareFindings, type EndpointSpec, type Finding, type ProbeAck, type ProbeBatch, type Report, type Severity } from '@dualstack/core';
import type { DeclaredEndpoint, EndpointInput, ProbeHistoryEntry, ProbeIngestMeta } from '../endpoints/records.js';
import { SqliteEndpointStore } from './sqlite-endpoint-store.js';
import { SqliteIdentityStore } from './sqlite-identity-store.js';
import type { FindingRuleRow, FleetSummary, HostDetail, HostQuery, HostSummary, IngestAck, Paged, ReadinessPoint, Role, ServiceMatrixRow, StoredFinding } from '../api.js';
import { StoreBusyError, type EnrolledKey, type EnrollInput, type HostKeyChange, type HostKeyRecord, type IngestMeta, type Store, type StoreCounts, type StoreOptions, type TokenRecord } from '../store.js';
import { DEFAULT_BUSY_TIMEOUT_MS, openDatabase, type OpenDatabaseOptions } from './open.js';
import { backupDatabase } from './backup.js';
import { modeBit, prepareReport, ReportRejectedError, type PreparedReport } from './ingest-rows.js';
import { InlineIngest, IngestThread, type IngestSink } from './ingest-thread.js';
import { rebuildIngestError, type BatchResult } from './ingest-writer.js';

export { prepareReport, ReportRejectedError } from './ingest-rows.js';

export interface SqliteStoreOptions extends StoreOptions, OpenDatabaseOptions {
  /** Most reports written in one transaction; the rest go in the next flush (default 500). */
  maxBatch?: number;
  /**
   * Run the ingest transaction on a worker thread with its own connection (default), or on this
   * thread's connection (always for ':memory:', which another connection cannot see).
   */
  ingestThread?: boolean;
  /**
   * Most reports waiting for their commit (default 2,000, ~60 MB of report text); beyond it
   * ingestReport refuses with StoreBusyError (503 + Retry-After) instead of queueing.
   */
  maxQueued?: number;
}

const RETRY_AFTER_BUSY_SECONDS = 5;

/** Counters since the store was opened; documented so tests and /metrics can observe the writes. */
export interface SqliteStoreStats {
  /** Write transactions run for queued work: one per batch (retries of a failed batch not counted). */
  flushes: number;
  /** Reports taken into batches, and the largest batch. */
  batchedReports: number;
  largestBatch: number;
  /** Batch transactions that failed (and were rolled back). */
  batchFailures: number;
  /** Reports of failed batches written again in a transaction of their own. */
  reportsRetriedAlone: number;
  stored: number;
  duplicates: number;
  rejected: number;
  /** Stored reports older than the host's current state: history only. */
  outOfOrder: number;
  /** Times a host's service rows were replaced (the service set changed). */
  servicesRewritten: number;
  /** Where the ingest transaction runs. */
  ingestOn: 'worker' | 'inline';
  /** Reports refused because maxQueued were waiting (StoreBusyError). */
  refusedBusy: number;
  /** Reports deleted because their host had more than maxReportsPerHost. */
  historyTrimmed: number;
}

export class TokenNameTakenError extends Error {
  readonly statusCode = 409;
  constructor(readonly tokenName: string) {
    super(`a token named '${tokenName}' already exists`);
    this.name = 'TokenNameTakenError';
  }
}

const RESOLVED_SHOWN_MS = 7 * 24 * 3600 * 1000;
const HISTORY_LIMIT = 100;
const RULE_HOST_IDS = 100;
const PRUNE_CHUNK = 5000;
const TOKEN_TOUCH_MS = 60_000;

const SEVERITY_COLUMN: Record<Severity, string> = { critical: 'findings_critical', warning: 'findings_warning', info: 'findings_info' };

interface Pending {
  report: PreparedReport;
  resolve(ack: IngestAck): void;
  reject(error: unknown): void;
}

// --- rows as read ----------------------------------------------------------------------------

interface TokenRow {
  id: string;
  name: string;
  role: Role;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
  host_id: string | null;
}

interface HostSummaryRow {
  host_id: string;
  hostname: string;
  distro: string | null;
  kernel: string | null;
  first_seen: string;
  last_seen: string;
  ipv6_routable: number | null;
  ipv4_routable: number | null;
  services_exposed: number;
  services_dual: number;
  findings_critical: number;
  findings_warning: number;
  findings_info: number;
}

interface FindingReadRow {
  rule: string;
  severity: Severity;
  subject: string;
  message: string;
  evidence: string;
  fix: string;
  first_seen: string;
  last_seen: string;
  resolved_at: string | null;
}

interface HistoryRow {
  report_id: string;
  collected_at: string;
  ipv6_routable: number | null;
  exposed: number;
  dual: number;
  critical: number;
  warning: number;
}

const MATRIX_COLUMNS = 'proto, port, process, hosts, dual_separate, dual_mapped, ipv4_only, ipv6_only, loopback_only, firewall_ipv4_filtered, firewall_ipv6_filtered';

interface MatrixRow {
  scope: 'host' | 'containers';
  proto: 'tcp' | 'udp';
  port: number;
  process: string;
  hosts: number;
  dual_separate: number;
  dual_mapped: number;
  ipv4_only: number;
  ipv6_only: number;
  loopback_only: number;
  firewall_ipv4_filtered: number;
  firewall_ipv6_filtered: number;
}

interface SummaryRow {
  hosts: number;
  stale: number;
  fresh: number;
  fresh_routable: number;
  exposed: number;
  dual: number;
  conn_ipv4: number;
  conn_ipv6: number;
  conn_mapped: number;
  critical: number;
  warning: number;
  info: number;
}

const HOST_SUMMARY_COLUMNS = `h.host_id, h.hostname, h.distro, h.kernel, h.first_seen, h.last_seen, h.ipv6_routable, h.ipv4_routable,
  h.services_exposed, h.services_dual, h.findings_critical, h.findings_warning, h.findings_info`;

// --- pure helpers ----------------------------------------------------------------------------

const toBool = (value: number | null): boolean | null => (value === null ? null : value === 1);

function summaryOf(row: HostSummaryRow, staleBefore: string): HostSummary {
  const exposed = row.services_exposed;
  return {
    hostId: row.host_id,
    hostname: row.hostname,
    distro: row.distro,
    kernel: row.kernel,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    stale: row.last_seen < staleBefore,
    ipv6Routable: toBool(row.ipv6_routable),
    ipv4Routable: toBool(row.ipv4_routable),
    services: { exposed, dual: row.services_dual },
    findings: { critical: row.findings_critical, warning: row.findings_warning, info: row.findings_info },
    readiness: exposed > 0 ? row.services_dual / exposed : row.ipv6_routable === 1 ? 1 : 0,
  };
}

function tokenOf(row: TokenRow): TokenRecord {
  return { id: row.id, name: row.name, role: row.role, createdAt: row.created_at, revokedAt: row.revoked_at, lastUsedAt: row.last_used_at, hostId: row.host_id };
}

const share = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

/** Every statement of the store, prepared once per connection. */
function prepareStatements(db: Database.Database) {
  return {
    // tokens
    insertToken: db.prepare<[string, string, string, string, string]>('INSERT INTO tokens (id, name, role, hash, created_at) VALUES (?, ?, ?, ?, ?)'),
    tokenByHash: db.prepare<[string], TokenRow>('SELECT id, name, role, created_at, revoked_at, last_used_at, host_id FROM tokens WHERE hash = ?'),
    listTokens: db.prepare<[], TokenRow>('SELECT id, name, role, created_at, revoked_at, last_used_at, host_id FROM tokens ORDER BY created_at, name'),
    revokeToken: db.prepare<[{ at: string; idOrName: string }]>('UPDATE tokens SET revoked_at = @at WHERE (id = @idOrName OR name = @idOrName) AND revoked_at IS NULL'),
    touchToken: db.prepare<[{ at: string; id: string }]>('UPDATE tokens SET last_used_at = @at WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @at)'),
    bindToken: db.prepare<[string, string]>("UPDATE tokens SET host_id = ? WHERE id = ? AND host_id IS NULL AND role = 'agent'"),
    tokenHost: db.prepare<[string], string | null>('SELECT host_id FROM tokens WHERE id = ?').pluck(),
    // ingest
    // reads
    hostSummary: db.prepare<[string], HostSummaryRow>(`SELECT ${HOST_SUMMARY_COLUMNS} FROM hosts h WHERE h.host_id = ?`),
    latestBody: db.prepare<[string], string>('SELECT body FROM latest_reports WHERE host_id = ?').pluck(),
    hostFindings: db.prepare<[string, string], FindingReadRow>(`
      SELECT f.rule, f.severity, f.subject, f.message, f.evidence, f.fix, f.first_seen,
        CASE WHEN f.resolved_at IS NULL THEN h.collected_at ELSE f.last_seen END AS last_seen, f.resolved_at
      FROM findings f JOIN hosts h ON h.host_id = f.host_id
      WHERE f.host_id = ? AND (f.resolved_at IS NULL OR f.resolved_at >= ?)
      ORDER BY f.resolved_at IS NOT NULL, CASE f.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,
        f.resolved_at DESC, f.rule, f.subject`),
    history: db.prepare<[string, number], HistoryRow>(`
      SELECT report_id, collected_at, ipv6_routable, exposed, dual, critical, warning FROM reports
      WHERE host_id = ? ORDER BY collected_at DESC, received_at DESC LIMIT ?`),
    // Per scope (host: service_matrix; containers: namespace_service_matrix, migration 8; all: both).
    matrixPage: {
      host: db.prepare<[number, number], MatrixRow>(`SELECT 'host' AS scope, ${MATRIX_COLUMNS} FROM service_matrix ORDER BY hosts DESC, proto, port, process LIMIT ? OFFSET ?`),
      containers: db.prepare<[number, number], MatrixRow>(`SELECT 'containers' AS scope, ${MATRIX_COLUMNS} FROM namespace_service_matrix ORDER BY hosts DESC, proto, port, process LIMIT ? OFFSET ?`),
      all: db.prepare<[number, number], MatrixRow>(`
        SELECT 'host' AS scope, ${MATRIX_COLUMNS} FROM service_matrix
        UNION ALL SELECT 'containers' AS scope, ${MATRIX_COLUMNS} FROM namespace_service_matrix
        ORDER BY hosts DESC, proto, port, process, scope DESC LIMIT ? OFFSET ?`),
    },
    matrixTotal: {
      host: db.prepare<[], number>('SELECT count(*) FROM service_matrix').pluck(),
      containers: db.prepare<[], number>('SELECT count(*) FROM namespace_service_matrix').pluck(),
      all: db.prepare<[], number>('SELECT (SELECT count(*) FROM service_matrix) + (SELECT count(*) FROM namespace_service_matrix)').pluck(),
    },
    ruleGroups: db.prepare<[], { rule: string; severity: Severity; findings: number; hosts: number }>(`
      SELECT rule, severity, count(*) AS findings, count(DISTINCT host_id) AS hosts FROM findings
      WHERE resolved_at IS NULL GROUP BY rule, severity
      ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, hosts DESC, rule`),
    ruleHostIds: db.prepare<[string, string, number], string>(`
      SELECT DISTINCT host_id FROM findings WHERE resolved_at IS NULL AND rule = ? AND severity = ? ORDER BY host_id LIMIT ?`).pluck(),
    summary: db.prepare<[{ staleBefore: string }], SummaryRow>(`
      SELECT count(*) AS hosts,
        coalesce(sum(last_seen < @staleBefore), 0) AS stale,
        coalesce(sum(last_seen >= @staleBefore), 0) AS fresh,
        coalesce(sum(last_seen >= @staleBefore AND ipv6_routable = 1), 0) AS fresh_routable,
        coalesce(sum(services_exposed), 0) AS exposed, coalesce(sum(services_dual), 0) AS dual,
        coalesce(sum(conn_ipv4), 0) AS conn_ipv4, coalesce(sum(conn_ipv6), 0) AS conn_ipv6, coalesce(sum(conn_mapped), 0) AS conn_mapped,
        coalesce(sum(findings_critical), 0) AS critical, coalesce(sum(findings_warning), 0) AS warning, coalesce(sum(findings_info), 0) AS info
      FROM hosts`),
    // retention: never a host's current report, whatever its age
    pruneChunk: db.prepare<[{ cutoff: string; chunk: number }]>(`
      DELETE FROM reports WHERE rowid IN (
        SELECT r.rowid FROM reports r WHERE r.collected_at < @cutoff
          AND NOT EXISTS (SELECT 1 FROM hosts h WHERE h.host_id = r.host_id AND h.last_report_id = r.report_id)
        LIMIT @chunk)`),
    pruneResolvedFindings: db.prepare<[string]>('DELETE FROM findings WHERE resolved_at IS NOT NULL AND resolved_at < ?'),
    counts: db.prepare<[], StoreCounts>(`
      SELECT (SELECT count(*) FROM hosts) AS hosts, (SELECT count(*) FROM reports) AS reports,
        (SELECT count(*) FROM services) AS services, (SELECT count(*) FROM findings) AS findings,
        (SELECT count(*) FROM tokens) AS tokens`),
    };
}

// --- the store -------------------------------------------------------------------------------

/** Free space /healthz wants besides a committed page before it calls a full disk recovered (several reports' worth). */
const PROBE_FREE_BYTES = 1024 * 1024;

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly staleAfterMs: number;
  private readonly maxClockSkewMs: number | undefined;
  private readonly maxReportsPerHost: number | undefined;
  private readonly onHistoryBudget: SqliteStoreOptions['onHistoryBudget'];
  /** Hosts whose last report trimmed their history (see onHistoryBudget). */
  private readonly overHistoryBudget = new Set<string>();
  private readonly maxBatch: number;
  private readonly maxQueued: number;
  private readonly threadOptions: OpenDatabaseOptions;
  private queue: Pending[] = [];
  private pendingTouches = new Map<string, string>();
  private flushScheduled = false;
  private closing = false;
  private readonly counters: SqliteStoreStats = {
    flushes: 0,
    batchedReports: 0,
    largestBatch: 0,
    batchFailures: 0,
    reportsRetriedAlone: 0,
    stored: 0,
    duplicates: 0,
    rejected: 0,
    outOfOrder: 0,
    servicesRewritten: 0,
    ingestOn: 'inline',
    refusedBusy: 0,
    historyTrimmed: 0,
  };
  private readonly listHostStatements = new Map<string, { page: Database.Statement<[Record<string, unknown>], HostSummaryRow>; total: Database.Statement<[Record<string, unknown>], number> }>();
  private readonly s: ReturnType<typeof prepareStatements>;
  private readonly ingest: IngestSink;
  private readonly endpoints: SqliteEndpointStore;
  private readonly identity: SqliteIdentityStore;
  private inFlight: Promise<void> | null = null;

  /** Opens (creating and migrating when needed) the database file. */
  constructor(
    private readonly file: string,
    options: SqliteStoreOptions,
  ) {
    this.staleAfterMs = options.staleAfterSeconds * 1000;
    this.maxClockSkewMs = options.maxClockSkewSeconds === undefined ? undefined : options.maxClockSkewSeconds * 1000;
    this.maxReportsPerHost = options.maxReportsPerHost;
    this.onHistoryBudget = options.onHistoryBudget;
    this.maxBatch = Math.max(1, options.maxBatch ?? 500);
    this.maxQueued = Math.max(1, options.maxQueued ?? 2000);
    const db = openDatabase(file, options);
    this.db = db;
    try {
      this.s = prepareStatements(db);
      this.endpoints = new SqliteEndpointStore(db);
      this.identity = new SqliteIdentityStore(db);
    } catch (error) {
      db.close();
      throw error;
    }
    this.threadOptions = { busyTimeoutMs: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS, synchronous: options.synchronous ?? 'FULL' };
    const onWorker = (options.ingestThread ?? true) && !db.memory;
    this.ingest = onWorker ? new IngestThread(file, this.threadOptions) : new InlineIngest(db);
    this.counters.ingestOn = this.ingest.where;
  }

  /**
   * The file and options a worker thread opens a connection of its own with (the alert
   * evaluation: db/evaluation-thread.ts), or null for an in-memory database, which no other
   * connection can see.
   */
  get threadConnection(): { file: string; options: OpenDatabaseOptions } | null {
    return this.db.memory ? null : { file: this.file, options: this.threadOptions };
  }

  /**
   * The connection, for stores of other concerns that live in the same file and share its
   * single writer (db/sqlite-alert-store.ts). They must not close it: close() does.
   */
  get database(): Database.Database {
    return this.db;
  }

  private noteHistoryBudget(hostId: string, trimmed: number): void {
    const over = trimmed > 0;
    if (over === this.overHistoryBudget.has(hostId)) return;
    if (over) this.overHistoryBudget.add(hostId);
    else this.overHistoryBudget.delete(hostId);
    this.onHistoryBudget?.({ hostId, state: over ? 'over' : 'under', trimmed, maxReportsPerHost: this.maxReportsPerHost ?? 0 });
  }

  historyTrimmed(): number {
    return this.counters.historyTrimmed;
  }

  ingestBatches(): { transactions: number; reports: number } {
    return { transactions: this.counters.flushes, reports: this.counters.batchedReports };
  }

  /** Write counters since open (see SqliteStoreStats). */
  stats(): SqliteStoreStats {
    return { ...this.counters };
  }

  // --- tokens --------------------------------------------------------------------------------

  async createToken(input: { name: string; role: Role; hash: string; expiresAt?: string | null; maxHosts?: number | null }): Promise<TokenRecord> {
    const id = randomUUID();
    const createdAt = new Date().toISOString();
    if (input.role === 'host') throw new Error('host keys are issued by enrollment (POST /api/v1/enroll), not created as tokens');
    try {
      if (input.role === 'enroll') return this.identity.createSecret({ name: input.name, hash: input.hash, expiresAt: input.expiresAt ?? null, maxHosts: input.maxHosts ?? null }, createdAt);
      if (this.identity.secretNamed(input.name)) throw new TokenNameTakenError(input.name);
      this.s.insertToken.run(id, input.name, input.role, input.hash, createdAt);
    } catch (error) {
      const taken = (error as { nameTaken?: boolean }).nameTaken === true || /\.name/.test((error as Error).message);
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && taken) throw new TokenNameTakenError(input.name);
      throw error;
    }
    return { id, name: input.name, role: input.role, createdAt, revokedAt: null, lastUsedAt: null, hostId: null };
  }

  /**
   * The token with this hash, revoked or not (the caller tells them apart). Its last_used_at
   * is refreshed at most once a minute, and written with the next ingest batch rather than
   * by a commit of its own: a lookup per request must not cost an fsync.
   */
  async findTokenByHash(hash: string): Promise<TokenRecord | null> {
    const row = this.s.tokenByHash.get(hash);
    // Enroll secrets are touched when they enroll; host keys like tokens (live ones: a pending
    // key is refused, not used).
    const token = row ? tokenOf(row) : this.identity.findByHash(hash);
    if (!token) return null;
    const now = Date.now();
    const touched = token.role !== 'enroll' && token.revokedAt === null && token.keyState !== 'pending';
    if (!this.closing && touched && (token.lastUsedAt === null || Date.parse(token.lastUsedAt) < now - TOKEN_TOUCH_MS)) {
      this.pendingTouches.set(token.id, new Date(now).toISOString());
      this.scheduleFlush();
    }
    return token;
  }

  /** Tokens, then enroll secrets. */
  async listTokens(): Promise<TokenRecord[]> {
    return [...this.s.listTokens.all().map(tokenOf), ...this.identity.listSecrets()];
  }

  async revokeToken(idOrName: string): Promise<boolean> {
    const at = new Date().toISOString();
    return this.s.revokeToken.run({ at, idOrName }).changes > 0 || this.identity.revokeSecret(idOrName, at);
  }

  async enrollHost(input: EnrollInput): Promise<EnrolledKey> {
    if (this.closing) throw new Error('the store is closed');
    return this.identity.enroll(input, new Date().toISOString());
  }

  async listHostKeys(): Promise<HostKeyRecord[]> {
    return this.identity.listKeys();
  }

  async hostKeysOf(hostId: string): Promise<HostKeyRecord[]> {
    return this.identity.keysOf(hostId);
  }

  async revokeHostKey(hostId: string, keyId?: string): Promise<HostKeyChange> {
    if (this.closing) throw new Error('the store is closed');
    const at = new Date().toISOString();
    return keyId === undefined ? this.identity.revokeLive(hostId, at) : this.identity.revokeKey(hostId, keyId, at);
  }

  async hostsWithPendingKeys(): Promise<string[]> {
    return this.identity.hostsWithPendingKeys();
  }

  async acceptHostKey(hostId: string, keyId: string): Promise<HostKeyChange> {
    if (this.closing) throw new Error('the store is closed');
    return this.identity.accept(hostId, keyId, new Date().toISOString());
  }

  // Once per token's life, so a commit of its own on this connection is fine.
  async bindToken(tokenId: string, hostId: string): Promise<string> {
    try {
      this.s.bindToken.run(hostId, tokenId);
    } catch (error) {
      // The writer (or a backup) held the lock past the busy timeout: the agent keeps the
      // report and sends it again, as when too many reports wait (503, not a 500).
      if ((error as { code?: string }).code === 'SQLITE_BUSY') {
        throw new StoreBusyError(this.queue.length, RETRY_AFTER_BUSY_SECONDS, `the database is busy: token ${tokenId} could not be bound to host ${hostId} yet; send again in ${RETRY_AFTER_BUSY_SECONDS} s`);
      }
      throw error;
    }
    const bound = this.s.tokenHost.get(tokenId);
    if (bound === undefined || bound === null) throw new Error(`token ${tokenId} cannot be bound (no such agent token)`);
    return bound;
  }

  // --- ingest --------------------------------------------------------------------------------

  ingestReport(report: Report, meta: IngestMeta): Promise<IngestAck> {
    if (this.closing) return Promise.reject(new Error('the store is closed'));
    if (this.queue.length >= this.maxQueued) {
      this.counters.refusedBusy++;
      return Promise.reject(new StoreBusyError(this.queue.length, RETRY_AFTER_BUSY_SECONDS));
    }
    let prepared: PreparedReport;
    try {
      prepared = prepareReport(report, meta, this.maxClockSkewMs);
      if (this.maxReportsPerHost !== undefined) prepared.maxHostReports = this.maxReportsPerHost;
    } catch (error) {
      // Data the schema should have refused (the store may be called without the route).
      this.counters.rejected++;
      const reportId = String((report as { reportId?: unknown } | null)?.reportId);
      return Promise.reject(error instanceof ReportRejectedError ? error : new ReportRejectedError(reportId, null, `report ${reportId} cannot be stored: ${(error as Error).message}`, { cause: error }));
    }
    return new Promise<IngestAck>((resolve, reject) => {
      this.queue.push({ report: prepared, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Sends the queued reports (up to maxBatch) and token touches to the ingest writer as one
   * transaction, unless a batch is in flight: its answer flushes again, so what queued during
   * its commit becomes the next batch. Settles the reports' promises after the commit.
   */
  private flush(): void {
    this.flushScheduled = false;
    if (this.inFlight || !this.db.open) return;
    const batch = this.queue.splice(0, this.maxBatch);
    const touches = [...this.pendingTouches];
    this.pendingTouches.clear();
    if (batch.length === 0 && touches.length === 0) return;
    if (batch.length > 0) {
      this.counters.flushes++;
      this.counters.batchedReports += batch.length;
      this.counters.largestBatch = Math.max(this.counters.largestBatch, batch.length);
    }
    this.inFlight = this.ingest
      .write(
        batch.map((p) => p.report),
        touches,
      )
      .then(
        (result) => this.settle(batch, result),
        (error: unknown) => {
          // The writer itself failed (its thread died, the database could not be opened):
          // nothing of the batch was acknowledged, and the agents send it again.
          if (batch.length > 0) this.counters.batchFailures++;
          for (const pending of batch) pending.reject(error);
        },
      )
      .finally(() => {
        this.inFlight = null;
        if (this.queue.length > 0 || this.pendingTouches.size > 0) this.scheduleFlush();
      });
  }

  private settle(batch: Pending[], result: BatchResult): void {
    if (result.batchFailed) this.counters.batchFailures++;
    this.counters.reportsRetriedAlone += result.retriedAlone;
    batch.forEach((pending, index) => {
      const outcome = result.outcomes[index];
      if (!outcome) {
        pending.reject(new Error(`the ingest writer returned no outcome for report ${pending.report.reportId}`));
        return;
      }
      if ('error' in outcome) {
        const error = rebuildIngestError(outcome.error);
        if (error instanceof ReportRejectedError) this.counters.rejected++;
        pending.reject(error);
        return;
      }
      const ok = outcome.ok;
      if (ok.duplicate) this.counters.duplicates++;
      else this.counters.stored++;
      if (!ok.duplicate && !ok.applied) this.counters.outOfOrder++;
      if (ok.servicesRewritten) this.counters.servicesRewritten++;
      this.counters.historyTrimmed += ok.trimmed ?? 0;
      if (!ok.duplicate) this.noteHistoryBudget(pending.report.hostId, ok.trimmed ?? 0);
      pending.resolve(ok.ack);
    });
  }

  // --- reads ---------------------------------------------------------------------------------

  private staleBefore(now: Date): string {
    return new Date(now.getTime() - this.staleAfterMs).toISOString();
  }

  async listHosts(query: HostQuery, now: Date): Promise<Paged<HostSummary>> {
    const limit = query.limit ?? 100;
    const offset = query.offset ?? 0;
    const where: string[] = [];
    if (query.rule !== undefined) where.push('h.host_id IN (SELECT host_id FROM findings WHERE rule = @rule AND resolved_at IS NULL)');
    if (query.severity !== undefined) where.push(`h.${SEVERITY_COLUMN[query.severity]} > 0`);
    if (query.mode !== undefined) where.push('(h.service_modes & @modeBit) != 0');
    if (query.stale !== undefined) where.push(query.stale ? 'h.last_seen < @staleBefore' : 'h.last_seen >= @staleBefore');
    if (query.q !== undefined && query.q !== '') where.push('(instr(lower(h.hostname), @q) > 0 OR instr(lower(h.host_id), @q) > 0)');
    if (query.port !== undefined) {
      // One service, in the given mode when there is one: the service matrix's cell.
      const service = ['port = @port'];
      if (query.proto !== undefined) service.push('proto = @proto');
      if (query.process !== undefined) service.push('process = @process');
      if (query.mode !== undefined) service.push('mode = @mode');
      // The matrix's firewall counts: that family taken by the sockets, filtered by the firewall.
      if (query.filtered === 'ipv4') service.push("ipv4 IN ('any', 'addresses') AND firewall_ipv4 IN ('dropped', 'restricted')");
      if (query.filtered === 'ipv6') service.push("ipv6 IN ('any', 'addresses') AND firewall_ipv6 IN ('dropped', 'restricted')");
      where.push(`h.host_id IN (SELECT host_id FROM services WHERE ${service.join(' AND ')})`);
    }
    // One statement pair per combination of filters, prepared on first use and kept.
    const shape = where.join(' AND ');
    let statements = this.listHostStatements.get(shape);
    if (!statements) {
      const clause = where.length > 0 ? `WHERE ${shape}` : '';
      statements = {
        page: this.db.prepare<[Record<string, unknown>], HostSummaryRow>(`SELECT ${HOST_SUMMARY_COLUMNS} FROM hosts h ${clause} ORDER BY h.hostname, h.host_id LIMIT @limit OFFSET @offset`),
        total: this.db.prepare<[Record<string, unknown>], number>(`SELECT count(*) FROM hosts h ${clause}`).pluck(),
      };
      this.listHostStatements.set(shape, statements);
    }
    const staleBefore = this.staleBefore(now);
    const params = {
      rule: query.rule,
      mode: query.mode,
      modeBit: query.mode === undefined ? 0 : modeBit(query.mode),
      staleBefore,
      q: query.q?.toLowerCase(),
      port: query.port,
      proto: query.proto,
      process: query.process,
      limit,
      offset,
    };
    const items = statements.page.all(params).map((row) => summaryOf(row, staleBefore));
    return { total: statements.total.get(params) ?? 0, limit, offset, items };
  }

  async getHost(hostId: string, now: Date): Promise<HostDetail | null> {
    const row = this.s.hostSummary.get(hostId);
    if (!row) return null;
    const body = this.s.latestBody.get(hostId);
    const latestReport = body === undefined ? null : (JSON.parse(body) as Report);
    const resolvedSince = new Date(now.getTime() - RESOLVED_SHOWN_MS).toISOString();
    const rows: StoredFinding[] = this.s.hostFindings.all(hostId, resolvedSince).map((f) => ({
      rule: f.rule,
      severity: f.severity,
      subject: f.subject,
      message: f.message,
      evidence: JSON.parse(f.evidence) as Finding['evidence'],
      fix: JSON.parse(f.fix) as Finding['fix'],
      firstSeen: f.first_seen,
      lastSeen: f.last_seen,
      resolvedAt: f.resolved_at,
    }));
    // Open findings in the scan's order (severity, the rule list, subject numerically: what
    // `dualstack-agent scan` prints), which SQL cannot express; the recently resolved ones
    // after them, in the query's order (severity, most recently resolved first).
    const findings = [...rows.filter((f) => f.resolvedAt === null).sort(compareFindings), ...rows.filter((f) => f.resolvedAt !== null)];
    const history: ReadinessPoint[] = this.s.history.all(hostId, HISTORY_LIMIT).map((r) => ({
      reportId: r.report_id,
      collectedAt: r.collected_at,
      ipv6Routable: toBool(r.ipv6_routable),
      exposed: r.exposed,
      dual: r.dual,
      critical: r.critical,
      warning: r.warning,
    }));
    // The services as the agent sent them (current connection counts, workers, units): the
    // services table holds the fleet-query columns of the same list.
    // Each other namespace (container, pod) with its services; its findings are among the
    // host's (ingest-rows.ts, findingRows), counted here as the latest report has them.
    const namespaces = (latestReport?.namespaces ?? []).map((ns) => ({ inode: ns.inode, owner: ns.owner, services: ns.services, findings: ns.findings.length }));
    return { host: summaryOf(row, this.staleBefore(now)), services: latestReport?.services ?? [], namespaces, findings, history, latestReport };
  }

  async servicesMatrix(page: { limit: number; offset: number; scope?: 'host' | 'containers' | 'all' }): Promise<Paged<ServiceMatrixRow>> {
    const scope = page.scope ?? 'all';
    const items = this.s.matrixPage[scope].all(page.limit, page.offset).map((r) => ({
      scope: r.scope,
      proto: r.proto,
      port: r.port,
      process: r.process === '' ? null : r.process,
      hosts: r.hosts,
      modes: { 'dual-separate': r.dual_separate, 'dual-mapped': r.dual_mapped, 'ipv4-only': r.ipv4_only, 'ipv6-only': r.ipv6_only, 'loopback-only': r.loopback_only },
      firewallFiltered: { ipv4: r.firewall_ipv4_filtered, ipv6: r.firewall_ipv6_filtered },
    }));
    return { total: this.s.matrixTotal[scope].get() ?? 0, limit: page.limit, offset: page.offset, items };
  }

  async findingsByRule(): Promise<FindingRuleRow[]> {
    return this.s.ruleGroups.all().map((g) => ({
      rule: g.rule,
      severity: g.severity,
      hosts: g.hosts,
      findings: g.findings,
      hostIds: this.s.ruleHostIds.all(g.rule, g.severity, RULE_HOST_IDS),
    }));
  }

  async summary(now: Date): Promise<FleetSummary> {
    const r = this.s.summary.get({ staleBefore: this.staleBefore(now) })!;
    const connections = r.conn_ipv4 + r.conn_ipv6 + r.conn_mapped;
    return {
      hosts: r.hosts,
      staleHosts: r.stale,
      // Fresh hosts only; a host that could not tell (no IPv6 reachability answer, e.g. IPv6
      // off) counts as not routable.
      ipv6RoutableShare: share(r.fresh_routable, r.fresh),
      dualStackServiceShare: share(r.dual, r.exposed),
      ipv6ConnectionShare: share(r.conn_ipv6, connections),
      connections: { ipv4: r.conn_ipv4, ipv6: r.conn_ipv6, mapped: r.conn_mapped },
      findings: { critical: r.critical, warning: r.warning, info: r.info },
      generatedAt: now.toISOString(),
    };
  }

  // --- published endpoints (db/sqlite-endpoint-store.ts) -------------------------------------

  async declareConfigEndpoints(specs: readonly EndpointSpec[]): Promise<void> {
    this.endpoints.declareConfig(specs, new Date().toISOString());
  }

  async addEndpoint(spec: EndpointSpec): Promise<DeclaredEndpoint> {
    return this.endpoints.add(spec, new Date().toISOString());
  }

  async removeEndpoint(name: string): Promise<boolean> {
    return this.endpoints.remove(name);
  }

  async listEndpoints(): Promise<DeclaredEndpoint[]> {
    return this.endpoints.list();
  }

  async ingestProbeBatch(batch: ProbeBatch, meta: ProbeIngestMeta): Promise<ProbeAck> {
    if (this.closing) throw new Error('the store is closed');
    return this.endpoints.ingest(batch, meta);
  }

  async endpointInputs(now: Date, name?: string): Promise<EndpointInput[]> {
    return this.endpoints.inputs(this.staleBefore(now), name);
  }

  async probeHistory(name: string, limit: number): Promise<Map<string, ProbeHistoryEntry[]>> {
    return this.endpoints.history(name, limit);
  }

  async pruneProbes(before: Date): Promise<number> {
    if (!this.db.open) return 0;
    return this.endpoints.prune(before.toISOString());
  }

  // --- maintenance ---------------------------------------------------------------------------

  /**
   * Deletes history rows collected before `before`, except each host's current report, in
   * chunks with a turn of the event loop between them so ingest keeps flowing. Findings
   * resolved before `before` go too. A pruned reportId sent again is stored again (as out of
   * order): idempotency lasts as long as the retention.
   */
  async pruneReports(before: Date): Promise<number> {
    const cutoff = before.toISOString();
    let deleted = 0;
    for (;;) {
      if (!this.db.open) break;
      const changes = this.s.pruneChunk.run({ cutoff, chunk: PRUNE_CHUNK }).changes;
      deleted += changes;
      if (changes < PRUNE_CHUNK) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (this.db.open) this.s.pruneResolvedFindings.run(cutoff);
    return deleted;
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async probeWrite(): Promise<void> {
    // Room for several reports first: a disk that refused a ~120 KB report may still take one
    // page, and a probe that passed on that would flap between full and recovered.
    const { bavail, bsize } = statfsSync(dirname(this.file));
    const free = bavail * bsize;
    if (free < PROBE_FREE_BYTES) throw Object.assign(new Error(`${free} bytes free where the database lives (under ${PROBE_FREE_BYTES})`), { code: 'ENOSPC' });
    // Rewriting the schema version with its own value commits one page to the WAL: SQLITE_FULL
    // while the disk is full, and nothing changed when it is not.
    const version = Number(this.db.pragma('user_version', { simple: true }));
    this.db.pragma(`user_version = ${version}`);
  }

  /**
   * Online backup through this connection: its own writes between steps are carried into the
   * copy (no restart), and 1024 pages (4 MiB) per step keep the event loop, and ingest, moving.
   */
  async backup(path: string): Promise<void> {
    if (this.closing || !this.db.open) throw new Error('the store is closed');
    await backupDatabase(this.db, path, { pagesPerStep: 1024 });
  }

  async counts(): Promise<StoreCounts> {
    return this.s.counts.get()!;
  }

  /** Writes what is queued, then closes the database. Later ingests are refused. */
  /** Resolves when every write queued so far (reports and token touches) has been committed. */
  async idle(): Promise<void> {
    while (this.db.open && (this.inFlight || this.queue.length > 0 || this.pendingTouches.size > 0)) {
      if (!this.inFlight) this.flush();
      await this.inFlight;
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // Every queued report is written (and answered) before the connections close.
    await this.idle();
    await this.ingest.close();
    if (this.db.open) {
      try {
        this.db.pragma('optimize');
      } catch {
        // Statistics only; on a full disk it fails (SQLITE_FULL) and the close must still happen.
      }
      this.db.close();
    }
  }
}
