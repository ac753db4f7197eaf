// One report written to PostgreSQL in one transaction, safe with any number of collectors on
// the database at once (what sqlite-store.ts describes for one writer, under concurrency):
// - the host's row is locked first (created by this report, or SELECT … FOR UPDATE), so the
//   reports of one host are written one after the other whichever collector got them;
// - "latest wins" is the host update's own condition (last_seen <= this report's receive
//   time): a late, older report finds no row to update and is stored as history only;
// - idempotency is the reports primary key: INSERT … ON CONFLICT DO NOTHING. A report already
//   stored (seen first, or inserted meanwhile by another collector) rolls back whatever this
//   transaction wrote and answers the stored ack with duplicate=true;
// - shared service matrix cells are updated in one key order (matrixDeltas), so two
//   transactions never wait on each other's cells crosswise.
import type pg from 'pg';
import type { Report } from '@dualstack/core';
import type { IngestAck } from '../../api.js';
import { bindingsJson, constraintFields, duplicateAck, findingKey, findingRows, matrixDeltas, namespaceServiceRows, ReportRejectedError, serviceRows, type MatrixService, type PreparedReport, type StoredReportRow, type WriteResult } from '../ingest-rows.js';

interface HostStateRow {
  collected_at: string;
  last_seen: string;
  services_hash: string;
  findings_hash: string;
  findings_critical: number;
  findings_warning: number;
  findings_info: number;
}

const HOST_COLUMNS = `host_id, hostname, distro, kernel, first_seen, last_seen, last_report_id, collected_at,
  ipv6_routable, ipv4_routable, services_exposed, services_dual, findings_critical, findings_warning, findings_info,
  conn_ipv4, conn_ipv6, conn_mapped, service_modes, services_hash, services_updated_at, findings_hash`;

const hostValues = (p: PreparedReport): unknown[] => [
  p.hostId, p.hostname, p.distro, p.kernel, p.receivedAt, p.receivedAt, p.reportId, p.collectedAt,
  p.ipv6Routable, p.ipv4Routable, p.exposed, p.dual, p.critical, p.warning, p.info,
  p.connIpv4, p.connIpv6, p.connMapped, p.serviceModes, p.servicesHash, p.collectedAt, p.findingsHash,
];

const SQL = {
  reportById: 'SELECT host_id, received_at, ack_open, ack_opened, ack_resolved FROM reports WHERE report_id = $1',
  lockHost: 'SELECT collected_at, last_seen, services_hash, findings_hash, findings_critical, findings_warning, findings_info FROM hosts WHERE host_id = $1 FOR UPDATE',
  insertHost: `INSERT INTO hosts (${HOST_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
    ON CONFLICT (host_id) DO NOTHING RETURNING host_id`,
  // The latest-wins condition lives here: no row updated = an older report than the host shows.
  applyHost: `UPDATE hosts SET hostname = $2, distro = $3, kernel = $4, last_seen = $5, last_report_id = $6, collected_at = $7,
      ipv6_routable = $8, ipv4_routable = $9, services_exposed = $10, services_dual = $11,
      findings_critical = $12, findings_warning = $13, findings_info = $14, conn_ipv4 = $15, conn_ipv6 = $16, conn_mapped = $17,
      service_modes = $18,
      services_updated_at = CASE WHEN services_hash = $19 THEN services_updated_at ELSE $7 END,
      services_hash = $19, findings_hash = $20
    WHERE host_id = $1 AND last_seen <= $5`,
  upsertLatest: `INSERT INTO latest_reports (host_id, report_id, body) VALUES ($1, $2, $3)
    ON CONFLICT (host_id) DO UPDATE SET report_id = excluded.report_id, body = excluded.body`,
  insertReport: `INSERT INTO reports (report_id, host_id, collected_at, received_at, bytes, token_id, applied, ipv6_routable,
      exposed, dual, critical, warning, ack_open, ack_opened, ack_resolved)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
    ON CONFLICT (report_id) DO NOTHING RETURNING report_id`,
  matrixServices: (table: string) =>
    `SELECT proto, port, process, mode, ipv4, ipv6, firewall_ipv4 AS "firewallIpv4", firewall_ipv6 AS "firewallIpv6" FROM ${table} WHERE host_id = $1`,
  matrixAdd: (table: string) => `INSERT INTO ${table} AS m (proto, port, process, hosts, dual_separate, dual_mapped, ipv4_only, ipv6_only, loopback_only,
      firewall_ipv4_filtered, firewall_ipv6_filtered)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    ON CONFLICT (proto, port, process) DO UPDATE SET
      hosts = m.hosts + excluded.hosts, dual_separate = m.dual_separate + excluded.dual_separate,
      dual_mapped = m.dual_mapped + excluded.dual_mapped, ipv4_only = m.ipv4_only + excluded.ipv4_only,
      ipv6_only = m.ipv6_only + excluded.ipv6_only, loopback_only = m.loopback_only + excluded.loopback_only,
      firewall_ipv4_filtered = m.firewall_ipv4_filtered + excluded.firewall_ipv4_filtered,
      firewall_ipv6_filtered = m.firewall_ipv6_filtered + excluded.firewall_ipv6_filtered`,
  matrixDropEmpty: (table: string) => `DELETE FROM ${table} WHERE proto = $1 AND port = $2 AND process = $3 AND hosts <= 0`,
  openFindingKeys: 'SELECT rule, subject FROM findings WHERE host_id = $1 AND resolved_at IS NULL',
  upsertFinding: `INSERT INTO findings AS f (host_id, rule, subject, severity, message, evidence, fix, first_seen, last_seen, resolved_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)
    ON CONFLICT (host_id, rule, subject) DO UPDATE SET
      severity = excluded.severity, message = excluded.message, evidence = excluded.evidence, fix = excluded.fix,
      first_seen = CASE WHEN f.resolved_at IS NULL THEN f.first_seen ELSE excluded.first_seen END,
      last_seen = excluded.last_seen, resolved_at = NULL`,
  resolveFinding: 'UPDATE findings SET resolved_at = $1, last_seen = $2 WHERE host_id = $3 AND rule = $4 AND subject = $5 AND resolved_at IS NULL',
};

/** Thrown inside the transaction when the reports constraint finds the report stored meanwhile: roll back, answer the stored ack. */
class StoredMeanwhile extends Error {}


/** PostgreSQL's error for a row the report's data broke (a CHECK, a foreign key) as a 400 naming the field. */
export function rejectionOf(error: unknown, reportId: string): unknown {
  if (error instanceof ReportRejectedError) return error;
  const e = error as { code?: string; constraint?: string; message?: string };
  // 23xxx: integrity constraint violations; 22xxx: data exceptions (a value out of range).
  if (typeof e?.code !== 'string' || !(e.code.startsWith('23') || e.code.startsWith('22'))) return error;
  const field = e.constraint ? (constraintFields[e.constraint] ?? null) : null;
  const why = e.code === '23503' ? `${e.message} (is the ingest token id a stored token?)` : e.message;
  return new ReportRejectedError(reportId, field, `report ${reportId} cannot be stored: ${why}${field ? ` (${field})` : ''}`, { cause: error });
}

/**
 * A connection from the pool. Failing to get one (refused, the socket gone, shutting down, not
 * accepting connections, no free connection in time) is marked connectFailed: the database is
 * unavailable to this collector, and the report should come again later (store.ts, isUnavailable).
 */
export async function connect(pool: pg.Pool): Promise<pg.PoolClient> {
  try {
    return await pool.connect();
  } catch (error) {
    if (error !== null && typeof error === 'object') Object.assign(error, { connectFailed: true });
    throw error;
  }
}

/** Serialization failures and deadlocks: the transaction may simply be run again. */
export function isRetryable(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === '40001' || code === '40P01';
}

/**
 * Writes one prepared report in its own transaction on `pool`, retried on a deadlock or
 * serialization failure. Resolves after COMMIT.
 */
export async function writeReport(pool: pg.Pool, p: PreparedReport): Promise<WriteResult> {
  for (let attempt = 1; ; attempt++) {
    const client = await connect(pool);
    let broken: Error | undefined;
    try {
      // Most duplicates are resends of a report stored long ago: answered without a transaction.
      const seen = await client.query<StoredReportRow>(SQL.reportById, [p.reportId]);
      if (seen.rows[0]) return duplicateAck(p, seen.rows[0]);
      await client.query('BEGIN');
      try {
        const result = await writeInTransaction(client, p);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError;
        });
        if (error instanceof StoredMeanwhile) {
          const stored = await client.query<StoredReportRow>(SQL.reportById, [p.reportId]);
          if (stored.rows[0]) return duplicateAck(p, stored.rows[0]);
        }
        throw error;
      }
    } catch (error) {
      if (attempt < 5 && isRetryable(error)) continue;
      throw rejectionOf(error, p.reportId);
    } finally {
      client.release(broken);
    }
  }
}

async function writeInTransaction(client: pg.PoolClient, p: PreparedReport): Promise<WriteResult> {
  // Lock the host row (or create it with this report as its state): every write below for
  // this host happens with no other transaction between.
  let host = (await client.query<HostStateRow>(SQL.lockHost, [p.hostId])).rows[0];
  if (!host) {
    const inserted = await client.query(SQL.insertHost, hostValues(p));
    // Created meanwhile by another transaction (which had to commit first): lock that row.
    if (inserted.rowCount === 0) host = (await client.query<HostStateRow>(SQL.lockHost, [p.hostId])).rows[0];
  }

  if (host) {
    const applied = await client.query(SQL.applyHost, [
      p.hostId, p.hostname, p.distro, p.kernel, p.receivedAt, p.reportId, p.collectedAt,
      p.ipv6Routable, p.ipv4Routable, p.exposed, p.dual, p.critical, p.warning, p.info,
      p.connIpv4, p.connIpv6, p.connMapped, p.serviceModes, p.servicesHash, p.findingsHash,
    ]);
    if (applied.rowCount === 0) {
      // Received before what the host already shows (its last_seen stays the later time): history only.
      const open = host.findings_critical + host.findings_warning + host.findings_info;
      await insertHistory(client, p, false, open, 0, 0);
      return { ack: ackOf(p, open, 0, 0), duplicate: false, applied: false, servicesRewritten: false };
    }
  }

  let servicesRewritten = false;
  let parsed: Report | null = null;
  const report = (): Report => (parsed ??= JSON.parse(p.body) as Report);
  if (!host || host.services_hash !== p.servicesHash) {
    const services = serviceRows(report()).map((k) => k.service);
    await replaceServices(client, 'services', 'service_matrix', p.hostId, host !== undefined, services.map((service) => ({ namespace: null, service })));
    const namespaces = namespaceServiceRows(report());
    await replaceServices(
      client,
      'namespace_services',
      'namespace_service_matrix',
      p.hostId,
      host !== undefined,
      namespaces.flatMap((ns) => ns.rows.map(({ service }) => ({ namespace: ns.namespace, service }))),
    );
    servicesRewritten = true;
  }

  let opened = 0;
  let resolved = 0;
  if (!host || host.findings_hash !== p.findingsHash) {
    const findings = findingRows(report(), p.collectorFindings).rows;
    const openBefore = host ? (await client.query<{ rule: string; subject: string }>(SQL.openFindingKeys, [p.hostId])).rows : [];
    const wasOpen = new Set(openBefore.map((f) => findingKey(f.rule, f.subject)));
    for (const { key, finding: f } of findings) {
      if (!wasOpen.has(key)) opened++;
      await client.query(SQL.upsertFinding, [p.hostId, f.rule, f.subject, f.severity, f.message, JSON.stringify(f.evidence), JSON.stringify(f.fix), p.collectedAt, p.collectedAt]);
    }
    const present = new Set(findings.map((f) => f.key));
    for (const f of openBefore) {
      if (present.has(findingKey(f.rule, f.subject))) continue;
      await client.query(SQL.resolveFinding, [p.collectedAt, host!.collected_at, p.hostId, f.rule, f.subject]);
      resolved++;
    }
  }

  await client.query(SQL.upsertLatest, [p.hostId, p.reportId, p.body]);
  const open = p.critical + p.warning + p.info;
  await insertHistory(client, p, true, open, opened, resolved);
  return { ack: ackOf(p, open, opened, resolved), duplicate: false, applied: true, servicesRewritten };
}

/** A host's service rows (its own, or its namespaces') replaced, and their matrix moved by the difference. */
async function replaceServices(
  client: pg.PoolClient,
  table: 'services' | 'namespace_services',
  matrix: 'service_matrix' | 'namespace_service_matrix',
  hostId: string,
  known: boolean,
  next: Array<{ namespace: number | null; service: MatrixService & { pid: number | null; bindings: Parameters<typeof bindingsJson>[0] } }>,
): Promise<void> {
  const previous = known ? (await client.query<MatrixService>(SQL.matrixServices(table), [hostId])).rows : [];
  if (previous.length > 0) await client.query(`DELETE FROM ${table} WHERE host_id = $1`, [hostId]);
  if (next.length > 0) {
    // One multi-row INSERT: a round trip per service would dominate the transaction.
    const namespaced = table === 'namespace_services';
    const columns = namespaced ? 13 : 12;
    const values: unknown[] = [];
    const tuples: string[] = [];
    const seqByNamespace = new Map<number | null, number>();
    for (const { namespace, service: v } of next) {
      const seq = seqByNamespace.get(namespace) ?? 0;
      seqByNamespace.set(namespace, seq + 1);
      const row = [hostId, ...(namespaced ? [namespace] : []), seq, v.proto, v.port, v.process, v.pid, v.mode, v.ipv4, v.ipv6, bindingsJson(v.bindings), v.firewallIpv4, v.firewallIpv6];
      const base = values.length;
      values.push(...row);
      tuples.push(`(${Array.from({ length: columns }, (_, i) => `$${base + i + 1}`).join(', ')})`);
    }
    const names = `host_id, ${namespaced ? 'namespace, ' : ''}seq, proto, port, process, pid, mode, ipv4, ipv6, bindings, firewall_ipv4, firewall_ipv6`;
    await client.query(`INSERT INTO ${table} (${names}) VALUES ${tuples.join(', ')}`, values);
  }
  for (const d of matrixDeltas(previous, next.map((n) => n.service))) {
    await client.query(SQL.matrixAdd(matrix), [d.proto, d.port, d.process, d.hosts, d.dualSeparate, d.dualMapped, d.ipv4Only, d.ipv6Only, d.loopbackOnly, d.filtered4, d.filtered6]);
    if (d.hosts < 0) await client.query(SQL.matrixDropEmpty(matrix), [d.proto, d.port, d.process]);
  }
}

async function insertHistory(client: pg.PoolClient, p: PreparedReport, applied: boolean, open: number, opened: number, resolved: number): Promise<void> {
  const result = await client.query(SQL.insertReport, [
    p.reportId, p.hostId, p.collectedAt, p.receivedAt, p.bytes, p.tokenId, applied ? 1 : 0, p.ipv6Routable,
    p.exposed, p.dual, p.critical, p.warning, open, opened, resolved,
  ]);
  // Stored meanwhile by another collector (the constraint, not the earlier look, decides).
  if (result.rowCount === 0) throw new StoredMeanwhile();
}

function ackOf(p: PreparedReport, open: number, opened: number, resolved: number): IngestAck {
  return { reportId: p.reportId, hostId: p.hostId, duplicate: false, receivedAt: p.receivedAt, findings: { open, opened, resolved } };
}
