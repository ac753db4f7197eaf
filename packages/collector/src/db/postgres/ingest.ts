// Reports written to PostgreSQL in batches (group commit: the batches come from
// ingest-batch.ts; one commit, one WAL flush and a few statements for the batch instead of ~7
// round trips and a flush per report), safe with any number of collectors on the database at
// once (what sqlite-store.ts describes for one writer, under concurrency). A batch is:
// - one look, outside any transaction: which reports are stored already (resends, answered
//   with the stored ack and duplicate=true) and what each host's services and findings are;
// - the unchanged reports (services and findings as their host has them: most of them, in
//   steady state) in ONE statement, atomic on its own: each host row updated only if the
//   report is not older than what the host shows (last_seen <= its receive time: latest wins)
//   and the host still has those services and findings, then the applied reports' bodies and
//   history rows. Two round trips for the batch: on 2 cores a transaction's round trips, each
//   waiting on a busy event loop, were most of its time. A report the statement did not apply
//   (late, or its host changed since the look) is written alone below, under a lock;
// - the others (new hosts, changed services or findings) in one transaction that locks their
//   host rows first, all at once in host_id order (SELECT … ORDER BY host_id FOR UPDATE), so
//   one host's reports are written one after the other whichever collector got them and two
//   batches cannot wait on each other's hosts crosswise; shared service matrix cells are
//   updated last, once per cell and in one key order (sumMatrixDeltas), for the same reason;
// - idempotency is the reports primary key. A report stored meanwhile by another collector,
//   or one whose data breaks a constraint, fails its statement or rolls its transaction back,
//   and each report not yet stored is then written in a transaction of its own (writeReport):
//   only that report fails or answers duplicate, the others are stored. No ack is given
//   before the commit that stored it (synchronous_commit stays as the server has it).
import type pg from 'pg';
import type { Report } from '@dualstack/core';
import type { IngestAck } from '../../api.js';
import { bindingsJson, constraintFields, duplicateAck, findingKey, findingRows, matrixDeltas, namespaceServiceRows, ReportRejectedError, serviceRows, sumMatrixDeltas, type MatrixDelta, type MatrixService, type PreparedReport, type StoredReportRow, type WriteResult } from '../ingest-rows.js';
import { named } from './named-statement.js';

interface HostStateRow {
  host_id?: string;
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
  // The batch's stored reports and its hosts' state, two kinds of rows as json in one answer.
  look: `SELECT 'stored' AS kind, row_to_json(r) AS row
      FROM (SELECT report_id, host_id, received_at, ack_open, ack_opened, ack_resolved FROM reports WHERE report_id = ANY($1::text[])) r
    UNION ALL SELECT 'host', row_to_json(h) FROM (SELECT host_id, services_hash, findings_hash FROM hosts WHERE host_id = ANY($2::text[])) h`,
  // One order for every transaction's host locks: no two batches wait on each other crosswise.
  lockHosts: 'SELECT host_id FROM hosts WHERE host_id = ANY($1::text[]) ORDER BY host_id FOR UPDATE',
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
  matrixServices: (table: string) =>
    `SELECT proto, port, process, mode, ipv4, ipv6, firewall_ipv4 AS "firewallIpv4", firewall_ipv6 AS "firewallIpv6" FROM ${table} WHERE host_id = $1`,
  matrixAdd: (table: string, tuples: string) => `INSERT INTO ${table} AS m (proto, port, process, hosts, dual_separate, dual_mapped, ipv4_only, ipv6_only, loopback_only,
      firewall_ipv4_filtered, firewall_ipv6_filtered)
    VALUES ${tuples}
    ON CONFLICT (proto, port, process) DO UPDATE SET
      hosts = m.hosts + excluded.hosts, dual_separate = m.dual_separate + excluded.dual_separate,
      dual_mapped = m.dual_mapped + excluded.dual_mapped, ipv4_only = m.ipv4_only + excluded.ipv4_only,
      ipv6_only = m.ipv6_only + excluded.ipv6_only, loopback_only = m.loopback_only + excluded.loopback_only,
      firewall_ipv4_filtered = m.firewall_ipv4_filtered + excluded.firewall_ipv4_filtered,
      firewall_ipv6_filtered = m.firewall_ipv6_filtered + excluded.firewall_ipv6_filtered`,
  matrixDropEmpty: (table: string, tuples: string) => `DELETE FROM ${table} WHERE (proto, port, process) IN (VALUES ${tuples}) AND hosts <= 0`,
  openFindingKeys: 'SELECT rule, subject FROM findings WHERE host_id = $1 AND resolved_at IS NULL',
  upsertFindings: (tuples: string) => `INSERT INTO findings AS f (host_id, rule, subject, severity, message, evidence, fix, first_seen, last_seen, resolved_at)
    VALUES ${tuples}
    ON CONFLICT (host_id, rule, subject) DO UPDATE SET
      severity = excluded.severity, message = excluded.message, evidence = excluded.evidence, fix = excluded.fix,
      first_seen = CASE WHEN f.resolved_at IS NULL THEN f.first_seen ELSE excluded.first_seen END,
      last_seen = excluded.last_seen, resolved_at = NULL`,
  resolveFindings:
    'UPDATE findings SET resolved_at = $1, last_seen = $2 WHERE host_id = $3 AND (rule, subject) IN (SELECT * FROM unnest($4::text[], $5::text[])) AND resolved_at IS NULL',
  // The batch's unchanged reports, one statement, atomic on its own (see the top of this file):
  // a host row is updated only while it still shows those services and findings and nothing
  // newer; the applied reports' bodies replace the latest and go to the history with the
  // host's (= their own) findings counted. No ON CONFLICT on reports: a report stored meanwhile
  // fails the whole statement, and nothing of it is written.
  writeUnchanged: (tuples: string) => `WITH v (host_id, hostname, distro, kernel, last_seen, last_report_id, collected_at, ipv6_routable, ipv4_routable,
      services_exposed, services_dual, findings_critical, findings_warning, findings_info, conn_ipv4, conn_ipv6, conn_mapped, service_modes,
      services_hash, findings_hash, body, bytes, token_id) AS (VALUES ${tuples}),
    applied AS (UPDATE hosts AS h SET hostname = v.hostname, distro = v.distro, kernel = v.kernel, last_seen = v.last_seen,
      last_report_id = v.last_report_id, collected_at = v.collected_at, ipv6_routable = v.ipv6_routable, ipv4_routable = v.ipv4_routable,
      services_exposed = v.services_exposed, services_dual = v.services_dual, findings_critical = v.findings_critical,
      findings_warning = v.findings_warning, findings_info = v.findings_info, conn_ipv4 = v.conn_ipv4, conn_ipv6 = v.conn_ipv6,
      conn_mapped = v.conn_mapped, service_modes = v.service_modes
      FROM v WHERE h.host_id = v.host_id AND h.last_seen <= v.last_seen AND h.services_hash = v.services_hash AND h.findings_hash = v.findings_hash
      RETURNING h.host_id),
    latest AS (INSERT INTO latest_reports (host_id, report_id, body)
      SELECT v.host_id, v.last_report_id, v.body FROM v JOIN applied a ON a.host_id = v.host_id
      ON CONFLICT (host_id) DO UPDATE SET report_id = excluded.report_id, body = excluded.body),
    history AS (INSERT INTO reports (report_id, host_id, collected_at, received_at, bytes, token_id, applied, ipv6_routable,
        exposed, dual, critical, warning, ack_open, ack_opened, ack_resolved)
      SELECT v.last_report_id, v.host_id, v.collected_at, v.last_seen, v.bytes, v.token_id, 1, v.ipv6_routable, v.services_exposed,
        v.services_dual, v.findings_critical, v.findings_warning, v.findings_critical + v.findings_warning + v.findings_info, 0, 0
      FROM v JOIN applied a ON a.host_id = v.host_id)
    SELECT host_id FROM applied`,
  insertReports: (tuples: string) => `INSERT INTO reports (report_id, host_id, collected_at, received_at, bytes, token_id, applied, ipv6_routable,
      exposed, dual, critical, warning, ack_open, ack_opened, ack_resolved)
    VALUES ${tuples}
    ON CONFLICT (report_id) DO NOTHING RETURNING report_id`,
};

/** The writeUnchanged VALUES columns' types (hostUpdateRow's, then body, bytes, token id): a VALUES list outside INSERT does not take them from the tables. */
const UNCHANGED_TYPES = ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'int', 'int', 'int', 'int', 'int', 'int', 'int', 'int', 'int', 'int', 'int', 'text', 'text', 'text', 'int', 'text'];
const MATRIX_KEY_TYPES = ['text', 'int', 'text'];

/** Appends `rows` to `values` and returns their placeholders, `($1, $2), ($3, $4)`, cast to `types` when given. */
function tuples(values: unknown[], rows: readonly (readonly unknown[])[], types?: readonly string[]): string {
  return rows
    .map((row) => {
      const base = values.length;
      values.push(...row);
      return `(${row.map((_, i) => `$${base + i + 1}${types ? `::${types[i]}` : ''}`).join(', ')})`;
    })
    .join(', ');
}

type MatrixTable = 'service_matrix' | 'namespace_service_matrix';
/** The matrix changes of a transaction's reports, written together after every host row. */
type PendingDeltas = Record<MatrixTable, MatrixDelta[][]>;
const noDeltas = (): PendingDeltas => ({ service_matrix: [], namespace_service_matrix: [] });

/** Thrown inside the transaction when the reports constraint finds a report stored meanwhile: roll back, answer the stored ack. */
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

/** One report's result in a batch: its write, or the error it alone answers. */
export type BatchOutcome = { ok: WriteResult } | { error: unknown };

/**
 * Writes `reports` (at most one per host: ingest-batch.ts forms them so) on one connection, as
 * the top of this file says, retried on a deadlock or serialization failure; resolves after the
 * commits, one outcome per report in the order given. When one report cannot be stored with
 * the others (its data breaks a constraint, or another collector stored it meanwhile), and for
 * an unchanged report the batch statement did not apply, each such report is written alone
 * (writeReport): it answers its own error, duplicate ack or late ack, and the others are
 * stored. Rejects (every report failing alike) only when the database fails.
 */
export async function writeBatch(pool: pg.Pool, reports: readonly PreparedReport[]): Promise<BatchOutcome[]> {
  const outcomes: Array<BatchOutcome | undefined> = new Array(reports.length);
  for (let attempt = 1; ; attempt++) {
    const client = await connect(pool);
    let broken: Error | undefined;
    try {
      const todo = reports.flatMap((_, i) => (outcomes[i] === undefined ? [i] : []));
      const { stored, hosts } = await look(client, todo.map((i) => reports[i]!));
      const unchanged: number[] = [];
      const changed: number[] = [];
      for (const i of todo) {
        const p = reports[i]!;
        const row = stored.get(p.reportId);
        const host = hosts.get(p.hostId);
        if (row) outcomes[i] = settle(() => duplicateAck(p, row));
        else if (host && host.services_hash === p.servicesHash && host.findings_hash === p.findingsHash) unchanged.push(i);
        else changed.push(i);
      }
      let spoiled = false;
      if (unchanged.length > 0) {
        try {
          const applied = await writeUnchanged(client, unchanged.map((i) => reports[i]!));
          // Not applied: late, or its host changed since the look; written alone below, under a lock.
          for (const i of unchanged) if (applied.has(reports[i]!.hostId)) outcomes[i] = { ok: unchangedResult(reports[i]!) };
        } catch (error) {
          if (!(rejectionOf(error, '') instanceof ReportRejectedError)) throw error;
          spoiled = true;
        }
      }
      if (changed.length > 0 && !spoiled) {
        await client.query('BEGIN');
        try {
          const results = await writeGroup(
            client,
            changed.map((i) => reports[i]!),
          );
          await client.query('COMMIT');
          changed.forEach((i, k) => (outcomes[i] = { ok: results[k]! }));
        } catch (error) {
          await client.query('ROLLBACK').catch((rollbackError: Error) => {
            broken = rollbackError;
          });
          if (!(error instanceof StoredMeanwhile) && !(rejectionOf(error, '') instanceof ReportRejectedError)) throw error;
        }
      }
      break;
    } catch (error) {
      if (attempt < 5 && isRetryable(error)) continue;
      throw error;
    } finally {
      client.release(broken);
    }
  }
  // What the batch left (a report that spoiled it, one not applied): each in a transaction of its own.
  for (let i = 0; i < reports.length; i++) {
    if (outcomes[i] !== undefined) continue;
    try {
      outcomes[i] = { ok: await writeReport(pool, reports[i]!) };
    } catch (error) {
      outcomes[i] = { error };
    }
  }
  return outcomes as BatchOutcome[];
}

/** The batch's reports already stored, and its hosts' services and findings, in one round trip. */
async function look(client: pg.PoolClient, batch: readonly PreparedReport[]): Promise<{ stored: Map<string, StoredReportRow>; hosts: Map<string, { services_hash: string; findings_hash: string }> }> {
  const { rows } = await client.query<{ kind: 'stored' | 'host'; row: StoredReportRow & { report_id: string; services_hash: string; findings_hash: string } }>(
    named('look', SQL.look, [batch.map((p) => p.reportId), batch.map((p) => p.hostId)]),
  );
  const stored = new Map<string, StoredReportRow>();
  const hosts = new Map<string, { services_hash: string; findings_hash: string }>();
  for (const { kind, row } of rows) {
    if (kind === 'stored') stored.set(row.report_id, row);
    else hosts.set(row.host_id, row);
  }
  return { stored, hosts };
}

/** The unchanged reports' one statement; resolves with the hosts it applied (committed: the statement is its own transaction). */
async function writeUnchanged(client: pg.PoolClient, batch: readonly PreparedReport[]): Promise<Set<string>> {
  const values: unknown[] = [];
  const rows = batch.map((p) => [...hostUpdateRow(p), p.body, p.bytes, p.tokenId]);
  const applied = await client.query<{ host_id: string }>(named(`write-unchanged/${rows.length}`, SQL.writeUnchanged(tuples(values, rows, UNCHANGED_TYPES)), values));
  return new Set(applied.rows.map((row) => row.host_id));
}

/** An applied unchanged report's result: its own counts (its findings are the host's already: none opened or resolved). */
function unchangedResult(p: PreparedReport): WriteResult {
  return { ack: ackOf(p, p.critical + p.warning + p.info, 0, 0), duplicate: false, applied: true, servicesRewritten: false };
}

function settle(write: () => WriteResult): BatchOutcome {
  try {
    return { ok: write() };
  } catch (error) {
    return { error };
  }
}

/** New hosts' and changed reports' writes inside their transaction; results in the order of `batch`. */
async function writeGroup(client: pg.PoolClient, batch: readonly PreparedReport[]): Promise<WriteResult[]> {
  // Every host row of the batch locked before anything is written, in one order.
  await client.query(named('lock-hosts', SQL.lockHosts, [batch.map((p) => p.hostId)]));
  const results: WriteResult[] = new Array(batch.length);
  const deltas = noDeltas();
  const order = batch.map((_, i) => i).sort((a, b) => (batch[a]!.hostId < batch[b]!.hostId ? -1 : batch[a]!.hostId > batch[b]!.hostId ? 1 : 0));
  for (const i of order) results[i] = await writeInTransaction(client, batch[i]!, deltas);
  await applyMatrix(client, deltas);
  return results;
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
      const seen = await client.query<StoredReportRow>(named('report-by-id', SQL.reportById, [p.reportId]));
      if (seen.rows[0]) return duplicateAck(p, seen.rows[0]);
      await client.query('BEGIN');
      try {
        const deltas = noDeltas();
        const result = await writeInTransaction(client, p, deltas);
        await applyMatrix(client, deltas);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError;
        });
        if (error instanceof StoredMeanwhile) {
          const stored = await client.query<StoredReportRow>(named('report-by-id', SQL.reportById, [p.reportId]));
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

/** One report's rows, its matrix changes left in `deltas` for the end of the transaction. */
async function writeInTransaction(client: pg.PoolClient, p: PreparedReport, deltas: PendingDeltas): Promise<WriteResult> {
  // Lock the host row (or create it with this report as its state): every write below for
  // this host happens with no other transaction between.
  let host = (await client.query<HostStateRow>(named('lock-host', SQL.lockHost, [p.hostId]))).rows[0];
  if (!host) {
    const inserted = await client.query(named('insert-host', SQL.insertHost, hostValues(p)));
    // Created meanwhile by another transaction (which had to commit first): lock that row.
    if (inserted.rowCount === 0) host = (await client.query<HostStateRow>(named('lock-host', SQL.lockHost, [p.hostId]))).rows[0];
  }

  if (host) {
    const applied = await client.query(named('apply-host', SQL.applyHost, hostUpdateRow(p)));
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
    deltas.service_matrix.push(await replaceServices(client, 'services', p.hostId, host !== undefined, services.map((service) => ({ namespace: null, service }))));
    const namespaces = namespaceServiceRows(report());
    deltas.namespace_service_matrix.push(
      await replaceServices(
        client,
        'namespace_services',
        p.hostId,
        host !== undefined,
        namespaces.flatMap((ns) => ns.rows.map(({ service }) => ({ namespace: ns.namespace, service }))),
      ),
    );
    servicesRewritten = true;
  }

  let opened = 0;
  let resolved = 0;
  if (!host || host.findings_hash !== p.findingsHash) {
    const findings = findingRows(report(), p.collectorFindings).rows;
    const openBefore = host ? (await client.query<{ rule: string; subject: string }>(named('open-finding-keys', SQL.openFindingKeys, [p.hostId]))).rows : [];
    const wasOpen = new Set(openBefore.map((f) => findingKey(f.rule, f.subject)));
    for (const { key } of findings) if (!wasOpen.has(key)) opened++;
    if (findings.length > 0) {
      // One statement for all of them (findingRows has one row per key, as ON CONFLICT needs).
      const values: unknown[] = [];
      const rows = findings.map(({ finding: f }) => [p.hostId, f.rule, f.subject, f.severity, f.message, JSON.stringify(f.evidence), JSON.stringify(f.fix), p.collectedAt, p.collectedAt, null]);
      await client.query(SQL.upsertFindings(tuples(values, rows)), values);
    }
    const present = new Set(findings.map((f) => f.key));
    const gone = openBefore.filter((f) => !present.has(findingKey(f.rule, f.subject)));
    if (gone.length > 0) {
      await client.query(SQL.resolveFindings, [p.collectedAt, host!.collected_at, p.hostId, gone.map((f) => f.rule), gone.map((f) => f.subject)]);
      resolved = gone.length;
    }
  }

  await client.query(named('upsert-latest', SQL.upsertLatest, [p.hostId, p.reportId, p.body]));
  const open = p.critical + p.warning + p.info;
  await insertHistory(client, p, true, open, opened, resolved);
  return { ack: ackOf(p, open, opened, resolved), duplicate: false, applied: true, servicesRewritten };
}

/** A host's service rows (its own, or its namespaces') replaced; returns how its matrix moves. */
async function replaceServices(
  client: pg.PoolClient,
  table: 'services' | 'namespace_services',
  hostId: string,
  known: boolean,
  next: Array<{ namespace: number | null; service: MatrixService & { pid: number | null; bindings: Parameters<typeof bindingsJson>[0] } }>,
): Promise<MatrixDelta[]> {
  const previous = known ? (await client.query<MatrixService>(named(`matrix-services/${table}`, SQL.matrixServices(table), [hostId]))).rows : [];
  if (previous.length > 0) await client.query(named(`delete-services/${table}`, `DELETE FROM ${table} WHERE host_id = $1`, [hostId]));
  if (next.length > 0) {
    // One multi-row INSERT: a round trip per service would dominate the transaction.
    const namespaced = table === 'namespace_services';
    const values: unknown[] = [];
    const seqByNamespace = new Map<number | null, number>();
    const rows = next.map(({ namespace, service: v }) => {
      const seq = seqByNamespace.get(namespace) ?? 0;
      seqByNamespace.set(namespace, seq + 1);
      return [hostId, ...(namespaced ? [namespace] : []), seq, v.proto, v.port, v.process, v.pid, v.mode, v.ipv4, v.ipv6, bindingsJson(v.bindings), v.firewallIpv4, v.firewallIpv6];
    });
    const names = `host_id, ${namespaced ? 'namespace, ' : ''}seq, proto, port, process, pid, mode, ipv4, ipv6, bindings, firewall_ipv4, firewall_ipv6`;
    await client.query(`INSERT INTO ${table} (${names}) VALUES ${tuples(values, rows)}`, values);
  }
  return matrixDeltas(previous, next.map((n) => n.service));
}

/** The transaction's matrix changes, summed per cell, in key order: one upsert and one clean-up per matrix. */
async function applyMatrix(client: pg.PoolClient, pending: PendingDeltas): Promise<void> {
  for (const matrix of ['service_matrix', 'namespace_service_matrix'] as const) {
    const cells = sumMatrixDeltas(pending[matrix]);
    if (cells.length === 0) continue;
    const values: unknown[] = [];
    const rows = cells.map((d) => [d.proto, d.port, d.process, d.hosts, d.dualSeparate, d.dualMapped, d.ipv4Only, d.ipv6Only, d.loopbackOnly, d.filtered4, d.filtered6]);
    await client.query(SQL.matrixAdd(matrix, tuples(values, rows)), values);
    const shrunk = cells.filter((d) => d.hosts < 0);
    if (shrunk.length > 0) {
      const keys: unknown[] = [];
      await client.query(SQL.matrixDropEmpty(matrix, tuples(keys, shrunk.map((d) => [d.proto, d.port, d.process]), MATRIX_KEY_TYPES)), keys);
    }
  }
}

function historyRow(p: PreparedReport, applied: boolean, open: number, opened: number, resolved: number): unknown[] {
  return [p.reportId, p.hostId, p.collectedAt, p.receivedAt, p.bytes, p.tokenId, applied ? 1 : 0, p.ipv6Routable, p.exposed, p.dual, p.critical, p.warning, open, opened, resolved];
}

async function insertHistory(client: pg.PoolClient, p: PreparedReport, applied: boolean, open: number, opened: number, resolved: number): Promise<void> {
  const values: unknown[] = [];
  const result = await client.query(named('insert-reports/1', SQL.insertReports(tuples(values, [historyRow(p, applied, open, opened, resolved)])), values));
  // Stored meanwhile by another collector (the constraint, not the earlier look, decides).
  if (result.rowCount === 0) throw new StoredMeanwhile();
}

/** A report's host update: applyHost's parameters, the start of a writeUnchanged VALUES row (UNCHANGED_TYPES). */
function hostUpdateRow(p: PreparedReport): unknown[] {
  return [
    p.hostId, p.hostname, p.distro, p.kernel, p.receivedAt, p.reportId, p.collectedAt,
    p.ipv6Routable, p.ipv4Routable, p.exposed, p.dual, p.critical, p.warning, p.info,
    p.connIpv4, p.connIpv6, p.connMapped, p.serviceModes, p.servicesHash, p.findingsHash,
  ];
}

function ackOf(p: PreparedReport, open: number, opened: number, resolved: number): IngestAck {
  return { reportId: p.reportId, hostId: p.hostId, duplicate: false, receivedAt: p.receivedAt, findings: { open, opened, resolved } };
}
