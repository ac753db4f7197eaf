// The ingest write transaction: a batch of prepared reports (db/ingest-rows.ts) written in ONE
// transaction on one connection, and, when that fails because of one report's data, each
// report again in a transaction of its own so only the bad one fails. It returns plain data
// (acks, or errors as fields) so it can run on the ingest thread (db/ingest-thread.ts) or on
// the caller's own thread alike. What each report writes is described in sqlite-store.ts.
import type Database from 'better-sqlite3';
import type { Report } from '@dualstack/core';
import type { IngestAck } from '../api.js';
import { asRejection, bindingsJson, duplicateAck, findingKey, findingRows, isReportFault, matrixDeltas, namespaceServiceRows, ReportRejectedError, serviceRows, type MatrixService, type PreparedReport, type StoredReportRow, type WriteResult } from './ingest-rows.js';

/** An error of one report as plain data: a clone would lose the class and its fields. */
export interface SentIngestError {
  message: string;
  /** Set when the report's content is to blame (ReportRejectedError). */
  rejection?: { reportId: string; field: string | null; statusCode: 400 | 409 };
  /** SQLite's extended error code, when SQLite failed. */
  code?: string;
}

export type IngestOutcome = { ok: WriteResult } | { error: SentIngestError };

export interface BatchResult {
  /** One per report, in the order given. */
  outcomes: IngestOutcome[];
  /** The batch transaction failed and was rolled back. */
  batchFailed: boolean;
  /** Reports written again one per transaction after the batch failed. */
  retriedAlone: number;
}

/** Token last_used_at updates: [token id, ISO time]. */
export type TokenTouches = Array<[string, string]>;

type Statements = ReturnType<typeof prepareStatements>;

interface HostStateRow {
  collected_at: string;
  last_seen: string;
  services_hash: string;
  findings_hash: string;
  findings_critical: number;
  findings_warning: number;
  findings_info: number;
}

export function sendIngestError(error: unknown): SentIngestError {
  const message = (error as Error | null)?.message ?? String(error);
  if (error instanceof ReportRejectedError) return { message, rejection: { reportId: error.reportId, field: error.field, statusCode: error.statusCode } };
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? { message, code } : { message };
}

/** The error the caller sees: a ReportRejectedError again, or an Error carrying SQLite's code. */
export function rebuildIngestError(sent: SentIngestError): Error {
  if (sent.rejection) return new ReportRejectedError(sent.rejection.reportId, sent.rejection.field, sent.message, { statusCode: sent.rejection.statusCode });
  const error = new Error(sent.message) as Error & { code?: string };
  if (sent.code !== undefined) error.code = sent.code;
  return error;
}

function prepareStatements(db: Database.Database) {
  return {
    touchToken: db.prepare<[{ at: string; id: string }]>('UPDATE tokens SET last_used_at = @at WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @at)'),
    // A touched id is a token's or a host key's (UUIDs both): the one that matches is updated.
    touchHostKey: db.prepare<[{ at: string; id: string }]>('UPDATE host_keys SET last_used_at = @at WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @at)'),
    reportById: db.prepare<[string], StoredReportRow>('SELECT host_id, received_at, ack_open, ack_opened, ack_resolved FROM reports WHERE report_id = ?'),
    hostState: db.prepare<[string], HostStateRow>(
      'SELECT collected_at, last_seen, services_hash, findings_hash, findings_critical, findings_warning, findings_info FROM hosts WHERE host_id = ?',
    ),
    upsertHost: db.prepare<[PreparedReport]>(`
      INSERT INTO hosts (host_id, hostname, distro, kernel, first_seen, last_seen, last_report_id, collected_at,
        ipv6_routable, ipv4_routable, services_exposed, services_dual, findings_critical, findings_warning, findings_info,
        conn_ipv4, conn_ipv6, conn_mapped, service_modes, services_hash, services_updated_at, findings_hash)
      VALUES (@hostId, @hostname, @distro, @kernel, @receivedAt, @receivedAt, @reportId, @collectedAt,
        @ipv6Routable, @ipv4Routable, @exposed, @dual, @critical, @warning, @info,
        @connIpv4, @connIpv6, @connMapped, @serviceModes, @servicesHash, @collectedAt, @findingsHash)
      ON CONFLICT (host_id) DO UPDATE SET
        hostname = excluded.hostname, distro = excluded.distro, kernel = excluded.kernel,
        last_seen = max(last_seen, excluded.last_seen),
        last_report_id = excluded.last_report_id, collected_at = excluded.collected_at,
        ipv6_routable = excluded.ipv6_routable, ipv4_routable = excluded.ipv4_routable,
        services_exposed = excluded.services_exposed, services_dual = excluded.services_dual,
        findings_critical = excluded.findings_critical, findings_warning = excluded.findings_warning, findings_info = excluded.findings_info,
        conn_ipv4 = excluded.conn_ipv4, conn_ipv6 = excluded.conn_ipv6, conn_mapped = excluded.conn_mapped, service_modes = excluded.service_modes,
        services_updated_at = CASE WHEN services_hash = excluded.services_hash THEN services_updated_at ELSE excluded.services_updated_at END,
        services_hash = excluded.services_hash, findings_hash = excluded.findings_hash`),
    hostSeen: db.prepare<[string, string]>('UPDATE hosts SET last_seen = max(last_seen, ?) WHERE host_id = ?'),
    upsertLatest: db.prepare<[string, string, string]>(
      'INSERT INTO latest_reports (host_id, report_id, body) VALUES (?, ?, ?) ON CONFLICT (host_id) DO UPDATE SET report_id = excluded.report_id, body = excluded.body',
    ),
    historyCount: db.prepare<[string], number>('SELECT history_reports FROM hosts WHERE host_id = ?').pluck(),
    // Oldest first by collectedAt (the index's order), never the report just written nor the
    // host's current one.
    trimHistory: db.prepare<[{ hostId: string; keep: string; excess: number }]>(`
      DELETE FROM reports WHERE rowid IN (
        SELECT rowid FROM reports WHERE host_id = @hostId AND report_id != @keep
          AND report_id != coalesce((SELECT last_report_id FROM hosts WHERE host_id = @hostId), '')
        ORDER BY collected_at LIMIT @excess)`),
    insertReport: db.prepare<[Record<string, unknown>]>(`
      INSERT INTO reports (report_id, host_id, collected_at, received_at, bytes, token_id, applied, ipv6_routable,
        exposed, dual, critical, warning, ack_open, ack_opened, ack_resolved)
      VALUES (@reportId, @hostId, @collectedAt, @receivedAt, @bytes, @tokenId, @applied, @ipv6Routable,
        @exposed, @dual, @critical, @warning, @open, @opened, @resolved)`),
    matrixServices: db.prepare<[string], MatrixService>(
      'SELECT proto, port, process, mode, ipv4, ipv6, firewall_ipv4 AS firewallIpv4, firewall_ipv6 AS firewallIpv6 FROM services WHERE host_id = ?',
    ),
    deleteServices: db.prepare<[string]>('DELETE FROM services WHERE host_id = ?'),
    insertService: db.prepare<[string, number, string, number, string | null, number | null, string, string, string, string, string | null, string | null]>(`
      INSERT INTO services (host_id, seq, proto, port, process, pid, mode, ipv4, ipv6, bindings, firewall_ipv4, firewall_ipv6)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    matrixAdd: db.prepare<[string, number, string, number, number, number, number, number, number, number, number]>(`
      INSERT INTO service_matrix (proto, port, process, hosts, dual_separate, dual_mapped, ipv4_only, ipv6_only, loopback_only,
        firewall_ipv4_filtered, firewall_ipv6_filtered)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (proto, port, process) DO UPDATE SET
        hosts = hosts + excluded.hosts, dual_separate = dual_separate + excluded.dual_separate,
        dual_mapped = dual_mapped + excluded.dual_mapped, ipv4_only = ipv4_only + excluded.ipv4_only,
        ipv6_only = ipv6_only + excluded.ipv6_only, loopback_only = loopback_only + excluded.loopback_only,
        firewall_ipv4_filtered = firewall_ipv4_filtered + excluded.firewall_ipv4_filtered,
        firewall_ipv6_filtered = firewall_ipv6_filtered + excluded.firewall_ipv6_filtered`),
    matrixDropEmpty: db.prepare<[string, number, string]>('DELETE FROM service_matrix WHERE proto = ? AND port = ? AND process = ? AND hosts <= 0'),
    namespaceMatrixServices: db.prepare<[string], MatrixService>(
      'SELECT proto, port, process, mode, ipv4, ipv6, firewall_ipv4 AS firewallIpv4, firewall_ipv6 AS firewallIpv6 FROM namespace_services WHERE host_id = ?',
    ),
    deleteNamespaceServices: db.prepare<[string]>('DELETE FROM namespace_services WHERE host_id = ?'),
    insertNamespaceService: db.prepare<[string, number, number, string, number, string | null, number | null, string, string, string, string, string | null, string | null]>(`
      INSERT INTO namespace_services (host_id, namespace, seq, proto, port, process, pid, mode, ipv4, ipv6, bindings, firewall_ipv4, firewall_ipv6)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    namespaceMatrixAdd: db.prepare<[string, number, string, number, number, number, number, number, number, number, number]>(`
      INSERT INTO namespace_service_matrix (proto, port, process, hosts, dual_separate, dual_mapped, ipv4_only, ipv6_only, loopback_only,
        firewall_ipv4_filtered, firewall_ipv6_filtered)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (proto, port, process) DO UPDATE SET
        hosts = hosts + excluded.hosts, dual_separate = dual_separate + excluded.dual_separate,
        dual_mapped = dual_mapped + excluded.dual_mapped, ipv4_only = ipv4_only + excluded.ipv4_only,
        ipv6_only = ipv6_only + excluded.ipv6_only, loopback_only = loopback_only + excluded.loopback_only,
        firewall_ipv4_filtered = firewall_ipv4_filtered + excluded.firewall_ipv4_filtered,
        firewall_ipv6_filtered = firewall_ipv6_filtered + excluded.firewall_ipv6_filtered`),
    namespaceMatrixDropEmpty: db.prepare<[string, number, string]>('DELETE FROM namespace_service_matrix WHERE proto = ? AND port = ? AND process = ? AND hosts <= 0'),
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
    resolveFinding: db.prepare<[string, string, string, string, string]>(
      'UPDATE findings SET resolved_at = ?, last_seen = ? WHERE host_id = ? AND rule = ? AND subject = ? AND resolved_at IS NULL',
    ),
  };
}

export class IngestWriter {
  private readonly s: Statements;
  private readonly writeBatchTransaction: Database.Transaction<(reports: PreparedReport[], touches: TokenTouches) => WriteResult[]>;
  private readonly touchTransaction: Database.Transaction<(touches: TokenTouches) => void>;

  constructor(db: Database.Database) {
    this.s = prepareStatements(db);
    this.writeBatchTransaction = db.transaction((reports: PreparedReport[], touches: TokenTouches) => {
      const results = reports.map((report) => this.writeReport(report));
      for (const [id, at] of touches) this.touch(id, at);
      return results;
    });
    this.touchTransaction = db.transaction((touches: TokenTouches) => {
      for (const [id, at] of touches) this.touch(id, at);
    });
  }

  /**
   * Writes the reports and the token touches in one IMMEDIATE transaction. When it fails: if a
   * report is to blame, each report is retried alone so only that one fails; if the database
   * is (busy, full, I/O error), every report would fail the same way, and each retry could wait
   * busy_timeout: all fail now, and the agents retry later.
   */
  private touch(id: string, at: string): void {
    if (this.s.touchToken.run({ at, id }).changes === 0) this.s.touchHostKey.run({ at, id });
  }

  writeBatch(reports: PreparedReport[], touches: TokenTouches): BatchResult {
    try {
      return { outcomes: this.writeBatchTransaction.immediate(reports, touches).map((ok) => ({ ok })), batchFailed: false, retriedAlone: 0 };
    } catch (batchError) {
      const reportFault = isReportFault(batchError);
      let outcomes: IngestOutcome[];
      let retriedAlone = 0;
      if (reports.length > 1 && reportFault) {
        retriedAlone = reports.length;
        outcomes = reports.map((report) => {
          try {
            return { ok: this.writeBatchTransaction.immediate([report], [])[0]! };
          } catch (error) {
            return { error: sendIngestError(asRejection(error, report.reportId)) };
          }
        });
      } else {
        outcomes = reports.map((report) => ({ error: sendIngestError(asRejection(batchError, report.reportId)) }));
      }
      try {
        if (touches.length > 0 && reportFault) this.touchTransaction.immediate(touches);
      } catch {
        // last_used_at is advisory: the next request touches the token again
      }
      return { outcomes, batchFailed: reports.length > 0, retriedAlone };
    }
  }

  /** One report's writes; runs inside the batch transaction, so it throws rather than recovers. */
  private writeReport(p: PreparedReport): WriteResult {
    const s = this.s;
    const stored = s.reportById.get(p.reportId);
    if (stored) return duplicateAck(p, stored);

    const host = s.hostState.get(p.hostId);
    // The host's current report is the one received last, by the collector's clock: a
    // collectedAt set ahead (a wrong clock, or a forged report) must not pin the host and make
    // every later report history only. Agents send their spool oldest first, so the last one
    // received is their newest. Only a collector clock stepped back lands here.
    if (host && p.receivedAt < host.last_seen) {
      // Received before what the host already shows: history only. The host was still heard from.
      s.hostSeen.run(p.receivedAt, p.hostId);
      const open = host.findings_critical + host.findings_warning + host.findings_info;
      this.insertHistory(p, false, open, 0, 0);
      return { ack: this.ack(p, open, 0, 0), duplicate: false, applied: false, servicesRewritten: false, trimmed: this.trimHistory(p) };
    }

    s.upsertHost.run(p);

    let servicesRewritten = false;
    // The rows themselves are rebuilt from the body only when a set changed (ingest-rows.ts).
    let parsed: Report | null = null;
    const report = (): Report => (parsed ??= JSON.parse(p.body) as Report);
    if (!host || host.services_hash !== p.servicesHash) {
      const services = serviceRows(report()).map((k) => k.service);
      const previous = host ? s.matrixServices.all(p.hostId) : [];
      if (host) s.deleteServices.run(p.hostId);
      services.forEach((v, seq) =>
        s.insertService.run(p.hostId, seq, v.proto, v.port, v.process, v.pid, v.mode, v.ipv4, v.ipv6, bindingsJson(v.bindings), v.firewallIpv4, v.firewallIpv6),
      );
      this.updateMatrix(previous, services, s.matrixAdd, s.matrixDropEmpty);
      // The containers' services: their own rows and matrix (migration 8), so the host's mean what they meant.
      const namespaces = namespaceServiceRows(report());
      const previousInNamespaces = host ? s.namespaceMatrixServices.all(p.hostId) : [];
      if (host && previousInNamespaces.length > 0) s.deleteNamespaceServices.run(p.hostId);
      for (const ns of namespaces) {
        ns.rows.forEach(({ service: v }, seq) =>
          s.insertNamespaceService.run(p.hostId, ns.namespace, seq, v.proto, v.port, v.process, v.pid, v.mode, v.ipv4, v.ipv6, bindingsJson(v.bindings), v.firewallIpv4, v.firewallIpv6),
        );
      }
      this.updateMatrix(previousInNamespaces, namespaces.flatMap((ns) => ns.rows.map((k) => k.service)), s.namespaceMatrixAdd, s.namespaceMatrixDropEmpty);
      servicesRewritten = true;
    }

    let opened = 0;
    let resolved = 0;
    // The same findings as the host's current report (exactly its open ones): nothing to write.
    // An open finding's last_seen is read as the host's collected_at (see migration 4).
    if (!host || host.findings_hash !== p.findingsHash) {
      const findings = findingRows(report(), p.collectorFindings).rows;
      const openBefore = host ? s.openFindingKeys.all(p.hostId) : [];
      const wasOpen = new Set(openBefore.map(([rule, subject]) => findingKey(rule, subject)));
      for (const { key, finding: f } of findings) {
        if (!wasOpen.has(key)) opened++;
        s.upsertFinding.run(p.hostId, f.rule, f.subject, f.severity, f.message, JSON.stringify(f.evidence), JSON.stringify(f.fix), p.collectedAt, p.collectedAt);
      }
      const present = new Set(findings.map((f) => f.key));
      for (const [rule, subject] of openBefore) {
        if (present.has(findingKey(rule, subject))) continue;
        // Last seen in the report that was the host's current one until now.
        s.resolveFinding.run(p.collectedAt, host!.collected_at, p.hostId, rule, subject);
        resolved++;
      }
    }

    s.upsertLatest.run(p.hostId, p.reportId, p.body);
    const open = p.critical + p.warning + p.info;
    this.insertHistory(p, true, open, opened, resolved);
    return { ack: this.ack(p, open, opened, resolved), duplicate: false, applied: true, servicesRewritten, trimmed: this.trimHistory(p) };
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

  /** The host's history budget: its oldest reports beyond maxHostReports go, in this transaction. */
  private trimHistory(p: PreparedReport): number {
    if (p.maxHostReports === undefined) return 0;
    const excess = this.s.historyCount.get(p.hostId)! - p.maxHostReports;
    return excess > 0 ? this.s.trimHistory.run({ hostId: p.hostId, keep: p.reportId, excess }).changes : 0;
  }

  private ack(p: PreparedReport, open: number, opened: number, resolved: number): IngestAck {
    return { reportId: p.reportId, hostId: p.hostId, duplicate: false, receivedAt: p.receivedAt, findings: { open, opened, resolved } };
  }

  /**
   * Applies the difference between a host's old and new services to a service matrix (the
   * host's, or its namespaces' one): see matrixDeltas.
   */
  private updateMatrix(
    previous: readonly MatrixService[],
    next: readonly MatrixService[],
    add: Statements['matrixAdd'] | Statements['namespaceMatrixAdd'],
    dropEmpty: Statements['matrixDropEmpty'] | Statements['namespaceMatrixDropEmpty'],
  ): void {
    for (const d of matrixDeltas(previous, next)) {
      add.run(d.proto, d.port, d.process, d.hosts, d.dualSeparate, d.dualMapped, d.ipv4Only, d.ipv6Only, d.loopbackOnly, d.filtered4, d.filtered6);
      if (d.hosts < 0) dropEmpty.run(d.proto, d.port, d.process);
    }
  }
}
