// The Store on SQLite (better-sqlite3). One connection, statements prepared once, every write
// synchronous inside a transaction (no await between BEGIN and COMMIT).
//
// Ingest is group-committed: ingestReport() turns the report into rows in plain JS (so the
// transaction runs SQL only), queues it and schedules a flush with setImmediate; the flush
// writes every queued report in ONE transaction (one fsync under synchronous=FULL) and only
// then settles the promises. If that transaction fails because of a report's data, nothing of
// it is kept and each report is retried in a transaction of its own, so only the bad one
// fails; if it fails because of the database (busy, full, I/O), all of them fail at once.
// Inside the transaction, per report:
// - idempotency: a reportId already in `reports` (also earlier in the same batch) is not
//   written again; its ack is rebuilt from the row, with duplicate=true;
// - order: a report collected before the host's current report is kept in history only;
// - services: replaced only when the service set's hash changes (see prepareReport for what
//   is hashed); new connection counts alone update the counters of the rows that changed;
// - findings: diffed against the open ones by (rule, subject): new or returning ones are
//   opened (a returning one starts a new open period: first_seen is reset), missing ones are
//   resolved; when the findings' hash is unchanged only last_seen moves.
import { createHash, randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Binding, Finding, Reach, Report, ServiceMode, Severity } from '@dualstack/core';
import type { FindingRuleRow, FleetSummary, HostDetail, HostQuery, HostSummary, IngestAck, Paged, ReadinessPoint, Role, ServiceMatrixRow, StoredFinding } from '../api.js';
import type { IngestMeta, Store, StoreCounts, StoreOptions, TokenRecord } from '../store.js';
import { openDatabase, type OpenDatabaseOptions } from './open.js';
import { backupDatabase } from './backup.js';

export interface SqliteStoreOptions extends StoreOptions, OpenDatabaseOptions {
  /** Most reports written in one transaction; the rest go in the next flush (default 500). */
  maxBatch?: number;
}

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
  /** Service rows whose connection counters were updated in place. */
  serviceCountersUpdated: number;
}

/**
 * A report the store refuses for its content: the caller should answer 4xx and the agent
 * should not send it again. statusCode lets Fastify's error handler answer it as it stands.
 */
export class ReportRejectedError extends Error {
  readonly statusCode: 400 | 409;

  constructor(
    readonly reportId: string,
    /** JSON pointer of the offending report field, when one is to blame. */
    readonly field: string | null,
    message: string,
    options?: { cause?: unknown; statusCode?: 400 | 409 },
  ) {
    super(message, options);
    this.name = 'ReportRejectedError';
    this.statusCode = options?.statusCode ?? 400;
  }
}

export class TokenNameTakenError extends Error {
  readonly statusCode = 409;
  constructor(readonly tokenName: string) {
    super(`a token named '${tokenName}' already exists`);
    this.name = 'TokenNameTakenError';
  }
}

/** A report's collectedAt may run ahead of the collector's clock by this much (clock skew). */
export const MAX_CLOCK_AHEAD_MS = 24 * 3600 * 1000;
const EARLIEST_COLLECTED_AT = Date.parse('2000-01-01T00:00:00Z');
const RESOLVED_SHOWN_MS = 7 * 24 * 3600 * 1000;
const HISTORY_LIMIT = 100;
const RULE_HOST_IDS = 100;
const PRUNE_CHUNK = 5000;
const TOKEN_TOUCH_MS = 60_000;

// The named CHECK constraints of migrations.ts and the report field each one guards.
const constraintFields: Record<string, string> = {
  host_id_length: '/host/hostId',
  hostname_length: '/host/hostname',
  report_id_length: '/reportId',
  process_length: '/services/process',
  rule_length: '/findings/rule',
  subject_length: '/findings/subject',
};

const MODES: readonly ServiceMode[] = ['dual-separate', 'dual-mapped', 'ipv4-only', 'ipv6-only', 'loopback-only'];
const modeBit = (mode: ServiceMode): number => 1 << MODES.indexOf(mode);
const SEVERITY_COLUMN: Record<Severity, string> = { critical: 'findings_critical', warning: 'findings_warning', info: 'findings_info' };

// --- rows as prepared before the transaction -------------------------------------------------

interface PreparedService {
  proto: 'tcp' | 'udp';
  port: number;
  process: string | null;
  pid: number | null;
  mode: ServiceMode;
  ipv4: Reach;
  ipv6: Reach;
  bindings: readonly Binding[];
  connIpv4: number;
  connIpv6: number;
  connMapped: number;
}

interface PreparedFinding {
  key: string;
  finding: Finding;
}

interface PreparedReport {
  reportId: string;
  hostId: string;
  hostname: string;
  distro: string | null;
  kernel: string | null;
  collectedAt: string;
  receivedAt: string;
  bytes: number;
  tokenId: string | null;
  ipv4Routable: 0 | 1 | null;
  ipv6Routable: 0 | 1 | null;
  /** In canonical order: seq in the services table is the index here. */
  services: PreparedService[];
  servicesHash: string;
  connectionsHash: string;
  exposed: number;
  dual: number;
  /** Bit i set when a service has mode MODES[i]. */
  serviceModes: number;
  connIpv4: number;
  connIpv6: number;
  connMapped: number;
  findings: PreparedFinding[];
  findingsHash: string;
  critical: number;
  warning: number;
  info: number;
  body: string;
}

interface WriteResult {
  ack: IngestAck;
  duplicate: boolean;
  applied: boolean;
  servicesRewritten: boolean;
  countersUpdated: number;
}

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
}

interface StoredReportRow {
  host_id: string;
  received_at: string;
  ack_open: number;
  ack_opened: number;
  ack_resolved: number;
}

interface HostStateRow {
  collected_at: string;
  services_hash: string;
  connections_hash: string;
  findings_hash: string;
  findings_critical: number;
  findings_warning: number;
  findings_info: number;
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

interface MatrixRow {
  proto: 'tcp' | 'udp';
  port: number;
  process: string;
  hosts: number;
  dual_separate: number;
  dual_mapped: number;
  ipv4_only: number;
  ipv6_only: number;
  loopback_only: number;
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

const isOutside = (reach: Reach): boolean => reach === 'any' || reach === 'addresses';
const bit = (value: boolean | null | undefined): 0 | 1 | null => (value === null || value === undefined ? null : value ? 1 : 0);
const toBool = (value: number | null): boolean | null => (value === null ? null : value === 1);
const findingKey = (rule: string, subject: string): string => `${rule}\u0000${subject}`;
const digest = (text: string): string => createHash('sha1').update(text).digest('base64url');

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The bindings as stored: a fixed key order, sorted, so equal sets give equal text. */
function bindingsJson(bindings: readonly Binding[]): string {
  const sorted = bindings
    .map((b) => ({ address: b.address, family: b.family, v6only: b.v6only, v6onlySource: b.v6onlySource, inode: b.inode }))
    .sort((a, b) => a.family - b.family || compareText(a.address, b.address) || a.inode - b.inode);
  return JSON.stringify(sorted);
}

// Separators that do not occur in the values hashed (NUL between fields, SOH between list items).
const FIELD = '\u0000';
const ITEM = '\u0001';

function isoTime(value: string, reportId: string, field: string): { ms: number; iso: string } {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new ReportRejectedError(reportId, field, `${field} is not a date-time: '${value}'`);
  return { ms, iso: new Date(ms).toISOString() };
}

/**
 * Everything of a report that goes to SQL, computed before the transaction so the transaction
 * does only SQL. Throws ReportRejectedError for a report that cannot be stored sensibly.
 */
export function prepareReport(report: Report, meta: IngestMeta): PreparedReport {
  const reportId = report.reportId;
  const received = isoTime(meta.receivedAt, reportId, 'receivedAt');
  const collected = isoTime(report.collectedAt, reportId, '/collectedAt');
  // A collectedAt far in the future would make this report the host's "latest" until the
  // clock catches up, and every real report after it would count as out of order.
  if (collected.ms > received.ms + MAX_CLOCK_AHEAD_MS) {
    const hours = Math.round((collected.ms - received.ms) / 3600_000);
    throw new ReportRejectedError(reportId, '/collectedAt', `collectedAt ${report.collectedAt} is ${hours} h ahead of the collector's clock (${received.iso}): fix the host's clock`);
  }
  if (collected.ms < EARLIEST_COLLECTED_AT) {
    throw new ReportRejectedError(reportId, '/collectedAt', `collectedAt ${report.collectedAt} is before 2000: fix the host's clock`);
  }

  // The service set's identity: everything a service row stores except the connection
  // counters, which change with every report and are updated in place instead. pid and the
  // sockets' inodes are in: a restarted daemon is a changed service (new pid, maybe new
  // bindings), and a row must never keep a stale pid. The agent's order is not part of it.
  const keyed = report.services.map((s) => {
    let identity = `${s.proto}${FIELD}${s.port}${FIELD}${s.process ?? ''}${FIELD}${s.process === null ? 0 : 1}${FIELD}${s.pid ?? ''}${FIELD}${s.mode}${FIELD}${s.ipv4}${FIELD}${s.ipv6}`;
    const bindings = s.bindings.map((b) => `${b.family}${FIELD}${b.address}${FIELD}${String(b.v6only)}${FIELD}${b.v6onlySource}${FIELD}${b.inode}`).sort();
    for (const b of bindings) identity += ITEM + b;
    const service: PreparedService = {
      proto: s.proto,
      port: s.port,
      process: s.process,
      pid: s.pid,
      mode: s.mode,
      ipv4: s.ipv4,
      ipv6: s.ipv6,
      bindings: s.bindings,
      connIpv4: s.connections.ipv4,
      connIpv6: s.connections.ipv6,
      connMapped: s.connections.mapped,
    };
    return { service, identity };
  });
  keyed.sort(
    (a, b) =>
      compareText(a.service.proto, b.service.proto) ||
      a.service.port - b.service.port ||
      compareText(a.service.process ?? '', b.service.process ?? '') ||
      (a.service.pid ?? -1) - (b.service.pid ?? -1) ||
      compareText(a.identity, b.identity),
  );
  const services = keyed.map((k) => k.service);
  let exposed = 0;
  let dual = 0;
  let connIpv4 = 0;
  let connIpv6 = 0;
  let connMapped = 0;
  let counters = '';
  let serviceModes = 0;
  for (const s of services) {
    serviceModes |= modeBit(s.mode);
    const v4 = isOutside(s.ipv4);
    const v6 = isOutside(s.ipv6);
    if (v4 || v6) exposed++;
    if (v4 && v6) dual++;
    connIpv4 += s.connIpv4;
    connIpv6 += s.connIpv6;
    connMapped += s.connMapped;
    counters += `${s.connIpv4},${s.connIpv6},${s.connMapped};`;
  }

  // Findings: one per (rule, subject), the first wins. The hash covers everything stored, so
  // an unchanged set needs no per-finding write.
  const findings: PreparedFinding[] = [];
  const seen = new Set<string>();
  const bySeverity = { critical: 0, warning: 0, info: 0 };
  let findingsIdentity = '';
  for (const f of report.findings) {
    const key = findingKey(f.rule, f.subject);
    if (seen.has(key)) continue;
    seen.add(key);
    bySeverity[f.severity]++;
    findings.push({ key, finding: f });
    findingsIdentity += `${key}${FIELD}${f.severity}${FIELD}${f.message}${FIELD}${f.evidence.join(ITEM)}${FIELD}${f.fix.summary}${FIELD}${f.fix.commands.join(ITEM)}\n`;
  }

  const reach = (family: 4 | 6) => bit(report.reachability.find((r) => r.family === family)?.reachable);
  return {
    reportId,
    hostId: report.host.hostId,
    hostname: report.host.hostname,
    distro: report.host.os.distro,
    kernel: report.host.os.kernel,
    collectedAt: collected.iso,
    receivedAt: received.iso,
    bytes: Math.max(0, Math.trunc(meta.bytes)),
    tokenId: meta.tokenId,
    ipv4Routable: reach(4),
    ipv6Routable: reach(6),
    services,
    servicesHash: digest(keyed.map((k) => k.identity).join('\n')),
    connectionsHash: digest(counters),
    exposed,
    dual,
    serviceModes,
    connIpv4,
    connIpv6,
    connMapped,
    findings,
    findingsHash: digest(findingsIdentity),
    critical: bySeverity.critical,
    warning: bySeverity.warning,
    info: bySeverity.info,
    body: meta.body ?? JSON.stringify(report),
  };
}

/** SQLite constraint errors are the report's fault (4xx); anything else is the store's (5xx). */
function asRejection(error: unknown, reportId: string): unknown {
  if (error instanceof ReportRejectedError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_CONSTRAINT')) return error;
  const message = (error as Error).message;
  const name = /CHECK constraint failed: (\w+)/.exec(message)?.[1];
  const field = name ? (constraintFields[name] ?? null) : null;
  const why = code === 'SQLITE_CONSTRAINT_FOREIGNKEY' ? `${message} (is the ingest token id a stored token?)` : message;
  return new ReportRejectedError(reportId, field, `report ${reportId} cannot be stored: ${why}${field ? ` (${field})` : ''}`, { cause: error });
}

/**
 * Whether an error inside the batch comes from one report's data (a constraint, a STRICT type
 * mismatch, a value too big, or a JS error on its values) rather than from the database.
 */
function isReportFault(error: unknown): boolean {
  if (error instanceof ReportRejectedError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return true;
  return code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_TOOBIG' || code === 'SQLITE_MISMATCH';
}

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
  return { id: row.id, name: row.name, role: row.role, createdAt: row.created_at, revokedAt: row.revoked_at, lastUsedAt: row.last_used_at };
}

const share = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

/** Every statement of the store, prepared once per connection. */
function prepareStatements(db: Database.Database) {
  return {
    // tokens
    insertToken: db.prepare<[string, string, string, string, string]>('INSERT INTO tokens (id, name, role, hash, created_at) VALUES (?, ?, ?, ?, ?)'),
    tokenByHash: db.prepare<[string], TokenRow>('SELECT id, name, role, created_at, revoked_at, last_used_at FROM tokens WHERE hash = ?'),
    listTokens: db.prepare<[], TokenRow>('SELECT id, name, role, created_at, revoked_at, last_used_at FROM tokens ORDER BY created_at, name'),
    revokeToken: db.prepare<[{ at: string; idOrName: string }]>('UPDATE tokens SET revoked_at = @at WHERE (id = @idOrName OR name = @idOrName) AND revoked_at IS NULL'),
    touchToken: db.prepare<[{ at: string; id: string }]>('UPDATE tokens SET last_used_at = @at WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @at)'),
    // ingest
    reportById: db.prepare<[string], StoredReportRow>('SELECT host_id, received_at, ack_open, ack_opened, ack_resolved FROM reports WHERE report_id = ?'),
    hostState: db.prepare<[string], HostStateRow>(
      'SELECT collected_at, services_hash, connections_hash, findings_hash, findings_critical, findings_warning, findings_info FROM hosts WHERE host_id = ?',
    ),
    upsertHost: db.prepare<[PreparedReport]>(`
      INSERT INTO hosts (host_id, hostname, distro, kernel, first_seen, last_seen, last_report_id, collected_at,
        ipv6_routable, ipv4_routable, services_exposed, services_dual, findings_critical, findings_warning, findings_info,
        conn_ipv4, conn_ipv6, conn_mapped, service_modes, services_hash, services_updated_at, connections_hash, findings_hash)
      VALUES (@hostId, @hostname, @distro, @kernel, @receivedAt, @receivedAt, @reportId, @collectedAt,
        @ipv6Routable, @ipv4Routable, @exposed, @dual, @critical, @warning, @info,
        @connIpv4, @connIpv6, @connMapped, @serviceModes, @servicesHash, @collectedAt, @connectionsHash, @findingsHash)
      ON CONFLICT (host_id) DO UPDATE SET
        hostname = excluded.hostname, distro = excluded.distro, kernel = excluded.kernel,
        last_seen = max(last_seen, excluded.last_seen),
        last_report_id = excluded.last_report_id, collected_at = excluded.collected_at,
        ipv6_routable = excluded.ipv6_routable, ipv4_routable = excluded.ipv4_routable,
        services_exposed = excluded.services_exposed, services_dual = excluded.services_dual,
        findings_critical = excluded.findings_critical, findings_warning = excluded.findings_warning, findings_info = excluded.findings_info,
        conn_ipv4 = excluded.conn_ipv4, conn_ipv6 = excluded.conn_ipv6, conn_mapped = excluded.conn_mapped, service_modes = excluded.service_modes,
        services_updated_at = CASE WHEN services_hash = excluded.services_hash THEN services_updated_at ELSE excluded.services_updated_at END,
        services_hash = excluded.services_hash, connections_hash = excluded.connections_hash, findings_hash = excluded.findings_hash`),
    hostSeen: db.prepare<[string, string]>('UPDATE hosts SET last_seen = max(last_seen, ?) WHERE host_id = ?'),
    upsertLatest: db.prepare<[string, string, string]>(
      'INSERT INTO latest_reports (host_id, report_id, body) VALUES (?, ?, ?) ON CONFLICT (host_id) DO UPDATE SET report_id = excluded.report_id, body = excluded.body',
    ),
    insertReport: db.prepare<[Record<string, unknown>]>(`
      INSERT INTO reports (report_id, host_id, collected_at, received_at, bytes, token_id, applied, ipv6_routable,
        exposed, dual, critical, warning, ack_open, ack_opened, ack_resolved)
      VALUES (@reportId, @hostId, @collectedAt, @receivedAt, @bytes, @tokenId, @applied, @ipv6Routable,
        @exposed, @dual, @critical, @warning, @open, @opened, @resolved)`),
    serviceModes: db.prepare<[string], { proto: 'tcp' | 'udp'; port: number; process: string | null; mode: ServiceMode }>(
      'SELECT proto, port, process, mode FROM services WHERE host_id = ?',
    ),
    deleteServices: db.prepare<[string]>('DELETE FROM services WHERE host_id = ?'),
    insertService: db.prepare<[string, number, string, number, string | null, number | null, string, string, string, string, number, number, number]>(`
      INSERT INTO services (host_id, seq, proto, port, process, pid, mode, ipv4, ipv6, bindings, conn_ipv4, conn_ipv6, conn_mapped)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    serviceCounters: db.prepare<[string], [number, number, number, number]>('SELECT seq, conn_ipv4, conn_ipv6, conn_mapped FROM services WHERE host_id = ?').raw(),
    updateServiceCounters: db.prepare<[number, number, number, string, number]>(
      'UPDATE services SET conn_ipv4 = ?, conn_ipv6 = ?, conn_mapped = ? WHERE host_id = ? AND seq = ?',
    ),
    matrixAdd: db.prepare<[string, number, string, number, number, number, number, number, number]>(`
      INSERT INTO service_matrix (proto, port, process, hosts, dual_separate, dual_mapped, ipv4_only, ipv6_only, loopback_only)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (proto, port, process) DO UPDATE SET
        hosts = hosts + excluded.hosts, dual_separate = dual_separate + excluded.dual_separate,
        dual_mapped = dual_mapped + excluded.dual_mapped, ipv4_only = ipv4_only + excluded.ipv4_only,
        ipv6_only = ipv6_only + excluded.ipv6_only, loopback_only = loopback_only + excluded.loopback_only`),
    matrixDropEmpty: db.prepare<[string, number, string]>('DELETE FROM service_matrix WHERE proto = ? AND port = ? AND process = ? AND hosts <= 0'),
    openFindingKeys: db.prepare<[string], [string, string]>('SELECT rule, subject FROM findings WHERE host_id = ? AND resolved_at IS NULL').raw(),
    // A finding that comes back after being resolved starts a new open period: first_seen
    // is reset (see migrations.ts). SET expressions read the row as it was before.
    upsertFinding: db.prepare<[string, string, string, string, string, string, string, string, string]>(`
      INSERT INTO findings (host_id, rule, subject, severity, message, evidence, fix, first_seen, last_seen, resolved_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
      ON CONFLICT (host_id, rule, subject) DO UPDATE SET
        severity = excluded.severity, message = excluded.message, evidence = excluded.evidence, fix = excluded.fix,
        first_seen = CASE WHEN resolved_at IS NULL THEN first_seen ELSE excluded.first_seen END,
        last_seen = excluded.last_seen, resolved_at = NULL`),
    touchOpenFindings: db.prepare<[string, string]>('UPDATE findings SET last_seen = ? WHERE host_id = ? AND resolved_at IS NULL'),
    resolveFinding: db.prepare<[string, string, string, string]>(
      'UPDATE findings SET resolved_at = ? WHERE host_id = ? AND rule = ? AND subject = ? AND resolved_at IS NULL',
    ),
    // reads
    hostSummary: db.prepare<[string], HostSummaryRow>(`SELECT ${HOST_SUMMARY_COLUMNS} FROM hosts h WHERE h.host_id = ?`),
    latestBody: db.prepare<[string], string>('SELECT body FROM latest_reports WHERE host_id = ?').pluck(),
    hostFindings: db.prepare<[string, string], FindingReadRow>(`
      SELECT rule, severity, subject, message, evidence, fix, first_seen, last_seen, resolved_at FROM findings
      WHERE host_id = ? AND (resolved_at IS NULL OR resolved_at >= ?)
      ORDER BY resolved_at IS NOT NULL, CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,
        resolved_at DESC, rule, subject`),
    history: db.prepare<[string, number], HistoryRow>(`
      SELECT report_id, collected_at, ipv6_routable, exposed, dual, critical, warning FROM reports
      WHERE host_id = ? ORDER BY collected_at DESC, received_at DESC LIMIT ?`),
    matrixPage: db.prepare<[number, number], MatrixRow>(`
      SELECT proto, port, process, hosts, dual_separate, dual_mapped, ipv4_only, ipv6_only, loopback_only FROM service_matrix
      ORDER BY hosts DESC, proto, port, process LIMIT ? OFFSET ?`),
    matrixTotal: db.prepare<[], number>('SELECT count(*) FROM service_matrix').pluck(),
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

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly staleAfterMs: number;
  private readonly maxBatch: number;
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
    serviceCountersUpdated: 0,
  };
  private readonly listHostStatements = new Map<string, { page: Database.Statement<[Record<string, unknown>], HostSummaryRow>; total: Database.Statement<[Record<string, unknown>], number> }>();
  private readonly s: ReturnType<typeof prepareStatements>;
  private readonly writeBatchTransaction: Database.Transaction<(reports: PreparedReport[], touches: Array<[string, string]>) => WriteResult[]>;
  private readonly touchTransaction: Database.Transaction<(touches: Array<[string, string]>) => void>;

  /** Opens (creating and migrating when needed) the database file. */
  constructor(file: string, options: SqliteStoreOptions) {
    this.staleAfterMs = options.staleAfterSeconds * 1000;
    this.maxBatch = Math.max(1, options.maxBatch ?? 500);
    const db = openDatabase(file, options);
    this.db = db;
    try {
      this.s = prepareStatements(db);
    } catch (error) {
      db.close();
      throw error;
    }
    this.writeBatchTransaction = db.transaction((reports: PreparedReport[], touches: Array<[string, string]>) => {
      const results = reports.map((report) => this.writeReport(report));
      for (const [id, at] of touches) this.s.touchToken.run({ at, id });
      return results;
    });
    this.touchTransaction = db.transaction((touches: Array<[string, string]>) => {
      for (const [id, at] of touches) this.s.touchToken.run({ at, id });
    });
  }

  /**
   * The connection, for stores of other concerns that live in the same file and share its
   * single writer (db/sqlite-alert-store.ts). They must not close it: close() does.
   */
  get database(): Database.Database {
    return this.db;
  }

  /** Write counters since open (see SqliteStoreStats). */
  stats(): SqliteStoreStats {
    return { ...this.counters };
  }

  // --- tokens --------------------------------------------------------------------------------

  async createToken(input: { name: string; role: Role; hash: string }): Promise<TokenRecord> {
    const id = randomUUID();
    const createdAt = new Date().toISOString();
    try {
      this.s.insertToken.run(id, input.name, input.role, input.hash, createdAt);
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && /tokens\.name/.test((error as Error).message)) {
        throw new TokenNameTakenError(input.name);
      }
      throw error;
    }
    return { id, name: input.name, role: input.role, createdAt, revokedAt: null, lastUsedAt: null };
  }

  /**
   * The token with this hash, revoked or not (the caller tells them apart). Its last_used_at
   * is refreshed at most once a minute, and written with the next ingest batch rather than
   * by a commit of its own: a lookup per request must not cost an fsync.
   */
  async findTokenByHash(hash: string): Promise<TokenRecord | null> {
    const row = this.s.tokenByHash.get(hash);
    if (!row) return null;
    const now = Date.now();
    if (!this.closing && row.revoked_at === null && (row.last_used_at === null || Date.parse(row.last_used_at) < now - TOKEN_TOUCH_MS)) {
      this.pendingTouches.set(row.id, new Date(now).toISOString());
      this.scheduleFlush();
    }
    return tokenOf(row);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return this.s.listTokens.all().map(tokenOf);
  }

  async revokeToken(idOrName: string): Promise<boolean> {
    return this.s.revokeToken.run({ at: new Date().toISOString(), idOrName }).changes > 0;
  }

  // --- ingest --------------------------------------------------------------------------------

  ingestReport(report: Report, meta: IngestMeta): Promise<IngestAck> {
    if (this.closing) return Promise.reject(new Error('the store is closed'));
    let prepared: PreparedReport;
    try {
      prepared = prepareReport(report, meta);
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

  /** Writes the queued reports (up to maxBatch) in one transaction; settles their promises after it. */
  private flush(): void {
    this.flushScheduled = false;
    if (!this.db.open) return;
    const batch = this.queue.splice(0, this.maxBatch);
    if (this.queue.length > 0) this.scheduleFlush();
    const touches = [...this.pendingTouches];
    this.pendingTouches.clear();
    if (batch.length === 0 && touches.length === 0) return;
    if (batch.length > 0) {
      this.counters.flushes++;
      this.counters.batchedReports += batch.length;
      this.counters.largestBatch = Math.max(this.counters.largestBatch, batch.length);
    }

    let outcomes: Array<{ ok: WriteResult } | { error: unknown }>;
    try {
      outcomes = this.writeBatchTransaction.immediate(batch.map((p) => p.report), touches).map((ok) => ({ ok }));
    } catch (batchError) {
      // The whole transaction rolled back. When a report is to blame, retry report by report
      // so that only that one fails. When the database is at fault (busy, full, I/O error),
      // every report would fail the same way, and each retry could wait busy_timeout with the
      // event loop blocked: fail them all now; the agents retry later.
      if (batch.length > 0) this.counters.batchFailures++;
      const reportFault = isReportFault(batchError);
      if (batch.length > 1 && reportFault) {
        this.counters.reportsRetriedAlone += batch.length;
        outcomes = batch.map((p) => {
          try {
            return { ok: this.writeBatchTransaction.immediate([p.report], [])[0]! };
          } catch (error) {
            return { error };
          }
        });
      } else {
        outcomes = batch.map(() => ({ error: batchError }));
      }
      try {
        if (touches.length > 0 && reportFault) this.touchTransaction.immediate(touches);
      } catch {
        // last_used_at is advisory: the next request touches the token again
      }
    }

    batch.forEach((pending, index) => {
      const outcome = outcomes[index]!;
      if ('error' in outcome) {
        const error = asRejection(outcome.error, pending.report.reportId);
        if (error instanceof ReportRejectedError) this.counters.rejected++;
        pending.reject(error);
        return;
      }
      const result = outcome.ok;
      if (result.duplicate) this.counters.duplicates++;
      else this.counters.stored++;
      if (!result.duplicate && !result.applied) this.counters.outOfOrder++;
      if (result.servicesRewritten) this.counters.servicesRewritten++;
      this.counters.serviceCountersUpdated += result.countersUpdated;
      pending.resolve(result.ack);
    });
  }

  /** One report's writes; runs inside the batch transaction, so it throws rather than recovers. */
  private writeReport(p: PreparedReport): WriteResult {
    const s = this.s;
    const stored = s.reportById.get(p.reportId);
    if (stored) {
      if (stored.host_id !== p.hostId) {
        throw new ReportRejectedError(p.reportId, '/reportId', `reportId ${p.reportId} was stored before for host '${stored.host_id}', not '${p.hostId}'`, { statusCode: 409 });
      }
      const ack: IngestAck = {
        reportId: p.reportId,
        hostId: stored.host_id,
        duplicate: true,
        receivedAt: stored.received_at,
        findings: { open: stored.ack_open, opened: stored.ack_opened, resolved: stored.ack_resolved },
      };
      return { ack, duplicate: true, applied: false, servicesRewritten: false, countersUpdated: 0 };
    }

    const host = s.hostState.get(p.hostId);
    if (host && p.collectedAt < host.collected_at) {
      // Older than what the host already shows: history only. The host was still heard from.
      s.hostSeen.run(p.receivedAt, p.hostId);
      const open = host.findings_critical + host.findings_warning + host.findings_info;
      this.insertHistory(p, false, open, 0, 0);
      return { ack: this.ack(p, open, 0, 0), duplicate: false, applied: false, servicesRewritten: false, countersUpdated: 0 };
    }

    s.upsertHost.run(p);

    let servicesRewritten = false;
    let countersUpdated = 0;
    if (!host || host.services_hash !== p.servicesHash) {
      const previous = host ? s.serviceModes.all(p.hostId) : [];
      if (host) s.deleteServices.run(p.hostId);
      p.services.forEach((v, seq) =>
        s.insertService.run(p.hostId, seq, v.proto, v.port, v.process, v.pid, v.mode, v.ipv4, v.ipv6, bindingsJson(v.bindings), v.connIpv4, v.connIpv6, v.connMapped),
      );
      this.updateMatrix(previous, p.services);
      servicesRewritten = true;
    } else if (host.connections_hash !== p.connectionsHash) {
      for (const [seq, ipv4, ipv6, mapped] of s.serviceCounters.all(p.hostId)) {
        const v = p.services[seq];
        if (v && (v.connIpv4 !== ipv4 || v.connIpv6 !== ipv6 || v.connMapped !== mapped)) {
          s.updateServiceCounters.run(v.connIpv4, v.connIpv6, v.connMapped, p.hostId, seq);
          countersUpdated++;
        }
      }
    }

    let opened = 0;
    let resolved = 0;
    if (host && host.findings_hash === p.findingsHash) {
      // The same findings as the host's current report, which are exactly its open ones.
      s.touchOpenFindings.run(p.collectedAt, p.hostId);
    } else {
      const openBefore = host ? s.openFindingKeys.all(p.hostId) : [];
      const wasOpen = new Set(openBefore.map(([rule, subject]) => findingKey(rule, subject)));
      for (const { key, finding: f } of p.findings) {
        if (!wasOpen.has(key)) opened++;
        s.upsertFinding.run(p.hostId, f.rule, f.subject, f.severity, f.message, JSON.stringify(f.evidence), JSON.stringify(f.fix), p.collectedAt, p.collectedAt);
      }
      const present = new Set(p.findings.map((f) => f.key));
      for (const [rule, subject] of openBefore) {
        if (present.has(findingKey(rule, subject))) continue;
        s.resolveFinding.run(p.collectedAt, p.hostId, rule, subject);
        resolved++;
      }
    }

    s.upsertLatest.run(p.hostId, p.reportId, p.body);
    const open = p.findings.length;
    this.insertHistory(p, true, open, opened, resolved);
    return { ack: this.ack(p, open, opened, resolved), duplicate: false, applied: true, servicesRewritten, countersUpdated };
  }

  private insertHistory(p: PreparedReport, applied: boolean, open: number, opened: number, resolved: number): void {
    this.s.insertReport.run({
      reportId: p.reportId,
      hostId: p.hostId,
      collectedAt: p.collectedAt,
      receivedAt: p.receivedAt,
      bytes: p.bytes,
      tokenId: p.tokenId,
      applied: applied ? 1 : 0,
      ipv6Routable: p.ipv6Routable,
      exposed: p.exposed,
      dual: p.dual,
      critical: p.critical,
      warning: p.warning,
      open,
      opened,
      resolved,
    });
  }

  private ack(p: PreparedReport, open: number, opened: number, resolved: number): IngestAck {
    return { reportId: p.reportId, hostId: p.hostId, duplicate: false, receivedAt: p.receivedAt, findings: { open, opened, resolved } };
  }

  /** Applies the difference between a host's old and new services to service_matrix. */
  private updateMatrix(previous: ReadonlyArray<{ proto: string; port: number; process: string | null; mode: ServiceMode }>, next: readonly PreparedService[]): void {
    const group = (rows: ReadonlyArray<{ proto: string; port: number; process: string | null; mode: ServiceMode }>) => {
      const byKey = new Map<string, { proto: string; port: number; process: string; modes: Set<ServiceMode> }>();
      for (const row of rows) {
        const process = row.process ?? '';
        const key = `${row.proto}/${row.port}/${process}`;
        let entry = byKey.get(key);
        if (!entry) byKey.set(key, (entry = { proto: row.proto, port: row.port, process, modes: new Set() }));
        entry.modes.add(row.mode);
      }
      return byKey;
    };
    const before = group(previous);
    const after = group(next);
    for (const key of new Set([...before.keys(), ...after.keys()])) {
      const b = before.get(key);
      const a = after.get(key);
      const entry = (a ?? b)!;
      const hosts = (a ? 1 : 0) - (b ? 1 : 0);
      const modes = MODES.map((m) => (a?.modes.has(m) ? 1 : 0) - (b?.modes.has(m) ? 1 : 0));
      if (hosts === 0 && modes.every((d) => d === 0)) continue;
      const [dualSeparate, dualMapped, ipv4Only, ipv6Only, loopbackOnly] = modes as [number, number, number, number, number];
      this.s.matrixAdd.run(entry.proto, entry.port, entry.process, hosts, dualSeparate, dualMapped, ipv4Only, ipv6Only, loopbackOnly);
      if (hosts < 0) this.s.matrixDropEmpty.run(entry.proto, entry.port, entry.process);
    }
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
    const findings: StoredFinding[] = this.s.hostFindings.all(hostId, resolvedSince).map((f) => ({
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
    return { host: summaryOf(row, this.staleBefore(now)), services: latestReport?.services ?? [], findings, history, latestReport };
  }

  async servicesMatrix(page: { limit: number; offset: number }): Promise<Paged<ServiceMatrixRow>> {
    const items = this.s.matrixPage.all(page.limit, page.offset).map((r) => ({
      proto: r.proto,
      port: r.port,
      process: r.process === '' ? null : r.process,
      hosts: r.hosts,
      modes: { 'dual-separate': r.dual_separate, 'dual-mapped': r.dual_mapped, 'ipv4-only': r.ipv4_only, 'ipv6-only': r.ipv6_only, 'loopback-only': r.loopback_only },
    }));
    return { total: this.s.matrixTotal.get() ?? 0, limit: page.limit, offset: page.offset, items };
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
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    while (this.db.open && (this.queue.length > 0 || this.pendingTouches.size > 0)) this.flush();
    if (this.db.open) {
      this.db.pragma('optimize');
      this.db.close();
    }
  }
}
