// The Store on PostgreSQL (node-postgres, one pool per store), for several collectors on one
// database. What it keeps means what the SQLite store's rows mean (postgres/migrations.ts);
// ingest is group commit: the reports that queue up while a batch commits share the next
// transaction (postgres/ingest-batch.ts), a few batches at once, each safe against every other
// collector's (postgres/ingest.ts). Reads are plain queries on the pool.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { compareFindings, type EndpointSpec, type Finding, type ProbeAck, type ProbeBatch, type Report, type Severity } from '@dualstack/core';
import type { DeclaredEndpoint, EndpointInput, ProbeHistoryEntry, ProbeIngestMeta } from '../../endpoints/records.js';
import type { FindingRuleRow, FleetSummary, HostDetail, HostQuery, HostSummary, IngestAck, Paged, ReadinessPoint, Role, ServiceMatrixRow, StoredFinding } from '../../api.js';
import { StoreBusyError, type EnrolledKey, type EnrollInput, type HostKeyChange, type HostKeyRecord, type IngestMeta, type Store, type StoreCounts, type StoreOptions, type TokenRecord } from '../../store.js';
import { modeBit, prepareReport, ReportRejectedError, type PreparedReport } from '../ingest-rows.js';
import { TokenNameTakenError } from '../sqlite-store.js';
import { PostgresEndpointStore } from './endpoint-store.js';
import { PostgresIdentityStore, TOKEN_COLUMNS, tokenOf, type TokenRow } from './identity-store.js';
import { IngestBatcher, ingestWriters, MAX_BATCH } from './ingest-batch.js';
import { connect, writeBatch } from './ingest.js';
import { migratePostgres } from './migrations.js';
import { connectionError, createPool, DEFAULT_POOL_SIZE, redactUrl, type PostgresPoolOptions } from './pool.js';
import { PostgresHistoryBudget } from './history-budget.js';
import { probeWrite } from './write-probe.js';

export interface PostgresStoreOptions extends StoreOptions, PostgresPoolOptions {
  /**
   * Most reports waiting for a connection or their commit (default 2,000); beyond it
   * ingestReport refuses with StoreBusyError (503 + Retry-After) instead of queueing.
   */
  maxQueued?: number;
}

/** Published endpoints on PostgreSQL (the Store's endpoint methods), kept apart like sqlite-endpoint-store.ts: postgres/endpoint-store.ts. */
export interface PostgresEndpoints {
  declareConfig(specs: readonly EndpointSpec[], at: string): Promise<void>;
  add(spec: EndpointSpec, at: string): Promise<DeclaredEndpoint>;
  remove(name: string): Promise<boolean>;
  list(): Promise<DeclaredEndpoint[]>;
  ingest(batch: ProbeBatch, meta: ProbeIngestMeta): Promise<ProbeAck>;
  inputs(staleBefore: string, name?: string): Promise<EndpointInput[]>;
  history(name: string, limit: number): Promise<Map<string, ProbeHistoryEntry[]>>;
  prune(before: string): Promise<number>;
}

const RETRY_AFTER_BUSY_SECONDS = 5;
const RESOLVED_SHOWN_MS = 7 * 24 * 3600 * 1000;
const HISTORY_LIMIT = 100;
const RULE_HOST_IDS = 100;
const PRUNE_CHUNK = 5000;
const TOKEN_TOUCH_MS = 60_000;

const SEVERITY_COLUMN: Record<Severity, string> = { critical: 'findings_critical', warning: 'findings_warning', info: 'findings_info' };
const SEVERITY_ORDER = "CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END";

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

const HOST_SUMMARY_COLUMNS = `h.host_id, h.hostname, h.distro, h.kernel, h.first_seen, h.last_seen, h.ipv6_routable, h.ipv4_routable,
  h.services_exposed, h.services_dual, h.findings_critical, h.findings_warning, h.findings_info`;
const MATRIX_COLUMNS = 'proto, port, process, hosts, dual_separate, dual_mapped, ipv4_only, ipv6_only, loopback_only, firewall_ipv4_filtered, firewall_ipv6_filtered';

const toBool = (value: number | null): boolean | null => (value === null ? null : value === 1);
const share = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

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

/**
 * The database cannot be reached (down, restarting, refusing connections, no free connection
 * in time): the caller answers 503 with Retry-After, and agents keep the report in their spool.
 */
export function isUnavailable(error: unknown): boolean {
  const e = error as { code?: string; message?: string; connectFailed?: boolean } | null;
  if (e?.connectFailed === true) return true;
  const code = e?.code ?? '';
  if (['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH'].includes(code)) return true;
  // 08: connection exception; 57P01-03: admin shutdown, crash shutdown, cannot connect now; 53300: too many connections.
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') return true;
  return /timeout exceeded when trying to connect|Connection terminated/i.test(e?.message ?? '');
}

export class PostgresStore implements Store {
  readonly pool: pg.Pool;
  private readonly poolMax: number;
  private readonly staleAfterMs: number;
  private readonly maxClockSkewMs: number | undefined;
  private readonly maxQueued: number;
  private readonly identity: PostgresIdentityStore;
  private readonly budget: PostgresHistoryBudget;
  private endpoints: PostgresEndpoints;
  private waiting = 0;
  private readonly batcher: IngestBatcher;
  private readonly background = new Set<Promise<unknown>>();
  private readonly ingesting = new Set<Promise<unknown>>();
  private closing = false;

  private constructor(
    readonly url: string,
    options: PostgresStoreOptions,
  ) {
    this.budget = new PostgresHistoryBudget(options.maxReportsPerHost, options.onHistoryBudget);
    // Only the named statements (named-statement.ts) are prepared, and each is an insert, an
    // update or a key lookup whose plan does not depend on its values: planned once per
    // connection, not first 5 times over for every row count a batch had.
    const planning = { plan_cache_mode: 'force_generic_plan' };
    this.pool = createPool(url, { ...options, settings: { ...planning, ...options.settings, ...this.budget.settings() } });
    this.budget.watch(this.pool);
    this.poolMax = options.max ?? DEFAULT_POOL_SIZE;
    this.batcher = new IngestBatcher((reports) => writeBatch(this.pool, reports), { writers: ingestWriters(this.poolMax), maxBatch: MAX_BATCH });
    this.staleAfterMs = options.staleAfterSeconds * 1000;
    this.maxClockSkewMs = options.maxClockSkewSeconds === undefined ? undefined : options.maxClockSkewSeconds * 1000;
    this.maxQueued = Math.max(1, options.maxQueued ?? 2000);
    this.identity = new PostgresIdentityStore(this.pool);
    this.endpoints = new PostgresEndpointStore(this.pool);
  }

  /**
   * Connects, migrates the database to this code's schema (refusing a newer one, with nothing
   * written) and returns the store. Errors name the URL without its password.
   */
  static async open(url: string, options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(url, options);
    try {
      await migratePostgres(store.pool, url);
    } catch (error) {
      await store.pool.end().catch(() => {});
      if ((error as Error).name === 'PostgresSchemaTooNewError') throw error;
      throw connectionError(url, error);
    }
    return store;
  }

  /** Replaces the published-endpoint store (tests). */
  useEndpoints(endpoints: PostgresEndpoints): void {
    this.endpoints = endpoints;
  }

  poolUsage(): { max: number; open: number; idle: number; waiting: number } {
    return { max: this.poolMax, open: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  historyTrimmed(): number {
    return this.budget.trimmed();
  }

  ingestBatches(): { transactions: number; reports: number } {
    const { batches, reports } = this.batcher.stats();
    return { transactions: batches, reports };
  }

  /**
   * A query on the pool; the database being unreachable is StoreBusyError (503 + Retry-After)
   * for reads and writes alike, so a load balancer or the dashboard sees "try again", not a 500.
   */
  private async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    let client: pg.PoolClient | undefined;
    try {
      client = await connect(this.pool);
      const result = await client.query<R>(text, values);
      client.release();
      return result;
    } catch (error) {
      // A connection that broke is not given back to the pool.
      client?.release(isUnavailable(error) ? (error as Error) : undefined);
      throw this.unavailable(error, 'the query was not answered');
    }
  }

  private unavailable(error: unknown, what: string): Error {
    if (isUnavailable(error)) {
      return new StoreBusyError(this.waiting, RETRY_AFTER_BUSY_SECONDS, `the database ${redactUrl(this.url)} is unavailable (${(error as Error).message}): ${what}; send again in ${RETRY_AFTER_BUSY_SECONDS} s`);
    }
    return error as Error;
  }

  // --- tokens --------------------------------------------------------------------------------

  async createToken(input: { name: string; role: Role; hash: string; expiresAt?: string | null; maxHosts?: number | null }): Promise<TokenRecord> {
    const id = randomUUID();
    const createdAt = new Date().toISOString();
    if (input.role === 'host') throw new Error('host keys are issued by enrollment (POST /api/v1/enroll), not created as tokens');
    try {
      if (input.role === 'enroll') return await this.identity.createSecret({ name: input.name, hash: input.hash, expiresAt: input.expiresAt ?? null, maxHosts: input.maxHosts ?? null }, createdAt);
      const result = await this.query(
        `INSERT INTO tokens (id, name, role, hash, created_at) SELECT $1, $2, $3, $4, $5
         WHERE NOT EXISTS (SELECT 1 FROM enroll_secrets WHERE name = $2)`,
        [id, input.name, input.role, input.hash, createdAt],
      );
      if (result.rowCount === 0) throw new TokenNameTakenError(input.name);
    } catch (error) {
      const e = error as { code?: string; constraint?: string; nameTaken?: boolean };
      if (e.nameTaken === true || (e.code === '23505' && /name/.test(e.constraint ?? ''))) throw new TokenNameTakenError(input.name);
      throw error;
    }
    return { id, name: input.name, role: input.role, createdAt, revokedAt: null, lastUsedAt: null, hostId: null };
  }

  /** The token with this hash, revoked or not; last_used_at refreshed at most once a minute, off the request's path. */
  async findTokenByHash(hash: string): Promise<TokenRecord | null> {
    let token: TokenRecord | null;
    try {
      token = await this.identity.findCredential(hash);
    } catch (error) {
      throw this.unavailable(error, 'the query was not answered');
    }
    if (!token) return null;
    const now = Date.now();
    const touched = token.role !== 'enroll' && token.revokedAt === null && token.keyState !== 'pending';
    if (!this.closing && touched && (token.lastUsedAt === null || Date.parse(token.lastUsedAt) < now - TOKEN_TOUCH_MS)) {
      const at = new Date(now).toISOString();
      const table = token.role === 'host' ? 'host_keys' : 'tokens';
      this.track(this.query(`UPDATE ${table} SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)`, [at, token.id]));
    }
    return token;
  }

  /** Advisory writes that nobody waits for (close() does). Their failure is harmless: the next request touches again. */
  private track(promise: Promise<unknown>): void {
    const settled = promise.catch(() => {}).finally(() => this.background.delete(settled));
    this.background.add(settled);
  }

  async listTokens(): Promise<TokenRecord[]> {
    const tokens = (await this.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens ORDER BY created_at, name`)).rows.map(tokenOf);
    return [...tokens, ...(await this.identity.listSecrets())];
  }

  async revokeToken(idOrName: string): Promise<boolean> {
    const at = new Date().toISOString();
    const revoked = await this.query('UPDATE tokens SET revoked_at = $1 WHERE (id = $2 OR name = $2) AND revoked_at IS NULL', [at, idOrName]);
    return revoked.rowCount! > 0 || (await this.identity.revokeSecret(idOrName, at));
  }

  /** Atomic: of two first reports at once (on any collectors), the UPDATE's condition lets one bind. */
  async bindToken(tokenId: string, hostId: string): Promise<string> {
    let bound: string | null | undefined;
    try {
      await this.query("UPDATE tokens SET host_id = $1 WHERE id = $2 AND host_id IS NULL AND role = 'agent'", [hostId, tokenId]);
      bound = (await this.query<{ host_id: string | null }>('SELECT host_id FROM tokens WHERE id = $1', [tokenId])).rows[0]?.host_id;
    } catch (error) {
      throw this.unavailable(error, `token ${tokenId} could not be bound to host ${hostId} yet`);
    }
    if (bound === undefined || bound === null) throw new Error(`token ${tokenId} cannot be bound (no such agent token)`);
    return bound;
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

  /** Host ids with pending keys (duplicate identities), sorted. */
  async hostsWithPendingKeys(): Promise<string[]> {
    return this.identity.hostsWithPendingKeys();
  }

  async acceptHostKey(hostId: string, keyId: string): Promise<HostKeyChange> {
    if (this.closing) throw new Error('the store is closed');
    return this.identity.accept(hostId, keyId, new Date().toISOString());
  }

  // --- ingest --------------------------------------------------------------------------------

  async ingestReport(report: Report, meta: IngestMeta): Promise<IngestAck> {
    if (this.closing) throw new Error('the store is closed');
    if (this.waiting >= this.maxQueued) throw new StoreBusyError(this.waiting, RETRY_AFTER_BUSY_SECONDS);
    let prepared: PreparedReport;
    try {
      prepared = prepareReport(report, meta, this.maxClockSkewMs);
    } catch (error) {
      const reportId = String((report as { reportId?: unknown } | null)?.reportId);
      throw error instanceof ReportRejectedError ? error : new ReportRejectedError(reportId, null, `report ${reportId} cannot be stored: ${(error as Error).message}`, { cause: error });
    }
    this.waiting++;
    const write = this.batcher.submit(prepared); // group commit: postgres/ingest-batch.ts
    const settled = write.catch(() => {}).finally(() => this.ingesting.delete(settled));
    this.ingesting.add(settled);
    try {
      const result = await write;
      this.budget.settle(prepared.reportId, prepared.hostId, !result.duplicate);
      return result.ack;
    } catch (error) {
      this.budget.settle(prepared.reportId, prepared.hostId, false);
      throw this.unavailable(error, `report ${prepared.reportId} was not stored`);
    } finally {
      this.waiting--;
    }
  }

  // --- reads ---------------------------------------------------------------------------------

  private staleBefore(now: Date): string {
    return new Date(now.getTime() - this.staleAfterMs).toISOString();
  }

  async listHosts(query: HostQuery, now: Date): Promise<Paged<HostSummary>> {
    const limit = query.limit ?? 100;
    const offset = query.offset ?? 0;
    const staleBefore = this.staleBefore(now);
    const params: unknown[] = [];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    const where: string[] = [];
    if (query.rule !== undefined) where.push(`h.host_id IN (SELECT host_id FROM findings WHERE rule = ${param(query.rule)} AND resolved_at IS NULL)`);
    if (query.severity !== undefined) where.push(`h.${SEVERITY_COLUMN[query.severity]} > 0`);
    if (query.mode !== undefined) where.push(`(h.service_modes & ${param(modeBit(query.mode))}) != 0`);
    if (query.stale !== undefined) where.push(query.stale ? `h.last_seen < ${param(staleBefore)}` : `h.last_seen >= ${param(staleBefore)}`);
    if (query.q !== undefined && query.q !== '') {
      const q = param(query.q.toLowerCase());
      where.push(`(strpos(lower(h.hostname), ${q}) > 0 OR strpos(lower(h.host_id), ${q}) > 0)`);
    }
    if (query.port !== undefined) {
      const service = [`port = ${param(query.port)}`];
      if (query.proto !== undefined) service.push(`proto = ${param(query.proto)}`);
      if (query.process !== undefined) service.push(`process = ${param(query.process)}`);
      if (query.mode !== undefined) service.push(`mode = ${param(query.mode)}`);
      if (query.filtered === 'ipv4') service.push("ipv4 IN ('any', 'addresses') AND firewall_ipv4 IN ('dropped', 'restricted')");
      if (query.filtered === 'ipv6') service.push("ipv6 IN ('any', 'addresses') AND firewall_ipv6 IN ('dropped', 'restricted')");
      where.push(`h.host_id IN (SELECT host_id FROM services WHERE ${service.join(' AND ')})`);
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const filterParams = [...params];
    const page = await this.query<HostSummaryRow>(
      `SELECT ${HOST_SUMMARY_COLUMNS} FROM hosts h ${clause} ORDER BY h.hostname COLLATE "C", h.host_id COLLATE "C" LIMIT ${param(limit)} OFFSET ${param(offset)}`,
      params,
    );
    const total = await this.query<{ n: number }>(`SELECT count(*) AS n FROM hosts h ${clause}`, filterParams);
    return { total: total.rows[0]?.n ?? 0, limit, offset, items: page.rows.map((row) => summaryOf(row, staleBefore)) };
  }

  async getHost(hostId: string, now: Date): Promise<HostDetail | null> {
    const row = (await this.query<HostSummaryRow>(`SELECT ${HOST_SUMMARY_COLUMNS} FROM hosts h WHERE h.host_id = $1`, [hostId])).rows[0];
    if (!row) return null;
    const resolvedSince = new Date(now.getTime() - RESOLVED_SHOWN_MS).toISOString();
    const [latest, findingRows, historyRows] = await Promise.all([
      this.query<{ body: string }>('SELECT body FROM latest_reports WHERE host_id = $1', [hostId]),
      this.query<{ rule: string; severity: Severity; subject: string; message: string; evidence: string; fix: string; first_seen: string; last_seen: string; resolved_at: string | null }>(
        `SELECT f.rule, f.severity, f.subject, f.message, f.evidence, f.fix, f.first_seen,
           CASE WHEN f.resolved_at IS NULL THEN h.collected_at ELSE f.last_seen END AS last_seen, f.resolved_at
         FROM findings f JOIN hosts h ON h.host_id = f.host_id
         WHERE f.host_id = $1 AND (f.resolved_at IS NULL OR f.resolved_at >= $2)
         ORDER BY f.resolved_at IS NOT NULL, CASE f.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,
           f.resolved_at DESC, f.rule COLLATE "C", f.subject COLLATE "C"`,
        [hostId, resolvedSince],
      ),
      this.query<{ report_id: string; collected_at: string; ipv6_routable: number | null; exposed: number; dual: number; critical: number; warning: number }>(
        'SELECT report_id, collected_at, ipv6_routable, exposed, dual, critical, warning FROM reports WHERE host_id = $1 ORDER BY collected_at DESC, received_at DESC LIMIT $2',
        [hostId, HISTORY_LIMIT],
      ),
    ]);
    const body = latest.rows[0]?.body;
    const latestReport = body === undefined ? null : (JSON.parse(body) as Report);
    const rows: StoredFinding[] = findingRows.rows.map((f) => ({
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
    const findings = [...rows.filter((f) => f.resolvedAt === null).sort(compareFindings), ...rows.filter((f) => f.resolvedAt !== null)];
    const history: ReadinessPoint[] = historyRows.rows.map((r) => ({
      reportId: r.report_id,
      collectedAt: r.collected_at,
      ipv6Routable: toBool(r.ipv6_routable),
      exposed: r.exposed,
      dual: r.dual,
      critical: r.critical,
      warning: r.warning,
    }));
    const namespaces = (latestReport?.namespaces ?? []).map((ns) => ({ inode: ns.inode, owner: ns.owner, services: ns.services, findings: ns.findings.length }));
    return { host: summaryOf(row, this.staleBefore(now)), services: latestReport?.services ?? [], namespaces, findings, history, latestReport };
  }

  async servicesMatrix(page: { limit: number; offset: number; scope?: 'host' | 'containers' | 'all' }): Promise<Paged<ServiceMatrixRow>> {
    const scope = page.scope ?? 'all';
    const host = `SELECT 'host' AS scope, ${MATRIX_COLUMNS} FROM service_matrix`;
    const containers = `SELECT 'containers' AS scope, ${MATRIX_COLUMNS} FROM namespace_service_matrix`;
    const source = scope === 'host' ? host : scope === 'containers' ? containers : `${host} UNION ALL ${containers}`;
    const [rows, total] = await Promise.all([
      this.query<MatrixRow>(`SELECT * FROM (${source}) m ORDER BY hosts DESC, proto COLLATE "C", port, process COLLATE "C", scope DESC LIMIT $1 OFFSET $2`, [page.limit, page.offset]),
      this.query<{ n: number }>(`SELECT count(*) AS n FROM (${source}) m`),
    ]);
    const items = rows.rows.map((r) => ({
      scope: r.scope,
      proto: r.proto,
      port: r.port,
      process: r.process === '' ? null : r.process,
      hosts: r.hosts,
      modes: { 'dual-separate': r.dual_separate, 'dual-mapped': r.dual_mapped, 'ipv4-only': r.ipv4_only, 'ipv6-only': r.ipv6_only, 'loopback-only': r.loopback_only },
      firewallFiltered: { ipv4: r.firewall_ipv4_filtered, ipv6: r.firewall_ipv6_filtered },
    }));
    return { total: total.rows[0]?.n ?? 0, limit: page.limit, offset: page.offset, items };
  }

  async findingsByRule(): Promise<FindingRuleRow[]> {
    const groups = await this.query<{ rule: string; severity: Severity; findings: number; hosts: number }>(`
      SELECT rule, severity, sum(n)::int AS findings, count(*)::int AS hosts FROM (
        -- Per host first, in findings_open_by_rule's order: two streaming aggregates instead of
        -- count(DISTINCT), which sorted (340 -> 248 ms at 50,000 hosts, 500,000 open findings).
        SELECT rule, severity, host_id, count(*) AS n FROM findings WHERE resolved_at IS NULL GROUP BY rule, severity, host_id
      ) per_host GROUP BY rule, severity
      ORDER BY ${SEVERITY_ORDER}, hosts DESC, rule COLLATE "C"`);
    return Promise.all(
      groups.rows.map(async (g) => ({
        rule: g.rule,
        severity: g.severity,
        hosts: g.hosts,
        findings: g.findings,
        hostIds: (
          await this.query<{ host_id: string }>(
            'SELECT host_id FROM findings WHERE resolved_at IS NULL AND rule = $1 AND severity = $2 GROUP BY host_id ORDER BY host_id COLLATE "C" LIMIT $3',
            [g.rule, g.severity, RULE_HOST_IDS],
          )
        ).rows.map((r) => r.host_id),
      })),
    );
  }

  async summary(now: Date): Promise<FleetSummary> {
    const r = (
      await this.query<{ hosts: number; stale: number; fresh: number; fresh_routable: number; exposed: number; dual: number; conn_ipv4: number; conn_ipv6: number; conn_mapped: number; critical: number; warning: number; info: number }>(
        `SELECT count(*) AS hosts,
          count(*) FILTER (WHERE last_seen < $1) AS stale,
          count(*) FILTER (WHERE last_seen >= $1) AS fresh,
          count(*) FILTER (WHERE last_seen >= $1 AND ipv6_routable = 1) AS fresh_routable,
          coalesce(sum(services_exposed), 0) AS exposed, coalesce(sum(services_dual), 0) AS dual,
          coalesce(sum(conn_ipv4), 0) AS conn_ipv4, coalesce(sum(conn_ipv6), 0) AS conn_ipv6, coalesce(sum(conn_mapped), 0) AS conn_mapped,
          coalesce(sum(findings_critical), 0) AS critical, coalesce(sum(findings_warning), 0) AS warning, coalesce(sum(findings_info), 0) AS info
        FROM hosts`,
        [this.staleBefore(now)],
      )
    ).rows[0]!;
    const connections = r.conn_ipv4 + r.conn_ipv6 + r.conn_mapped;
    return {
      hosts: r.hosts,
      staleHosts: r.stale,
      ipv6RoutableShare: share(r.fresh_routable, r.fresh),
      dualStackServiceShare: share(r.dual, r.exposed),
      ipv6ConnectionShare: share(r.conn_ipv6, connections),
      connections: { ipv4: r.conn_ipv4, ipv6: r.conn_ipv6, mapped: r.conn_mapped },
      findings: { critical: r.critical, warning: r.warning, info: r.info },
      generatedAt: now.toISOString(),
    };
  }

  // --- published endpoints (PostgresEndpoints) -----------------------------------------------

  async declareConfigEndpoints(specs: readonly EndpointSpec[]): Promise<void> {
    await this.endpoints.declareConfig(specs, new Date().toISOString());
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

  /** endpointInputs by a stale-before time (the AlertStore's endpoint facts, postgres/alert-store.ts). */
  async endpointInputsBefore(staleBefore: string): Promise<EndpointInput[]> {
    return this.endpoints.inputs(staleBefore);
  }

  async probeHistory(name: string, limit: number): Promise<Map<string, ProbeHistoryEntry[]>> {
    return this.endpoints.history(name, limit);
  }

  async pruneProbes(before: Date): Promise<number> {
    return this.endpoints.prune(before.toISOString());
  }

  // --- maintenance ---------------------------------------------------------------------------

  /**
   * Deletes history collected before `before`, except each host's current report, in chunks
   * (each its own short transaction), then findings resolved before it.
   */
  async pruneReports(before: Date): Promise<number> {
    const cutoff = before.toISOString();
    let deleted = 0;
    for (;;) {
      if (this.closing) break;
      const result = await this.query(
        `DELETE FROM reports WHERE report_id IN (
           SELECT r.report_id FROM reports r WHERE r.collected_at < $1
             AND NOT EXISTS (SELECT 1 FROM hosts h WHERE h.host_id = r.host_id AND h.last_report_id = r.report_id)
           LIMIT $2)`,
        [cutoff, PRUNE_CHUNK],
      );
      deleted += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) < PRUNE_CHUNK) break;
    }
    if (!this.closing) await this.query('DELETE FROM findings WHERE resolved_at IS NOT NULL AND resolved_at < $1', [cutoff]);
    return deleted;
  }

  async counts(): Promise<StoreCounts> {
    return (
      await this.query<StoreCounts>(`
        SELECT (SELECT count(*) FROM hosts) AS hosts, (SELECT count(*) FROM reports) AS reports,
          (SELECT count(*) FROM services) AS services, (SELECT count(*) FROM findings) AS findings,
          (SELECT count(*) FROM tokens) AS tokens`)
    ).rows[0]!;
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  /** /healthz while the disk is full: ~1 MiB written and rolled back (postgres/write-probe.ts), refused (53100) while the database has no room. */
  async probeWrite(): Promise<void> {
    try {
      await probeWrite(this.pool);
    } catch (error) {
      throw this.unavailable(error, 'the write probe was not answered');
    }
  }

  /** No file copy of a server database from here: the connection is checked, then pg_dump is named. */
  async backup(path: string): Promise<void> {
    await this.ping();
    throw new Error(
      `backup to ${path}: the database is PostgreSQL (${redactUrl(this.url)}), reached and healthy; back it up with PostgreSQL's own tools: ` +
        `pg_dump --format=custom --file=dualstack.dump '${redactUrl(this.url)}' (a consistent logical copy while collectors run), or pg_basebackup for a physical copy with WAL`,
    );
  }

  /** Resolves when the writes nobody waits for (token last use) are done. */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  /** Waits for the ingests under way and the background writes, then closes the pool. Later ingests are refused. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.all([...this.ingesting]);
    await this.idle();
    await this.pool.end();
  }
}
