// A report turned into the rows the store writes, in plain JS and before any transaction, so
// the write transaction (db/ingest-writer.ts, on the ingest thread) runs SQL only. Pure: no
// database here, and a PreparedReport is plain data, so it crosses to the ingest thread by
// structured clone as it stands.
import { createHash } from 'node:crypto';
import type { Binding, Finding, FirewallVerdict, Reach, Report, Service, ServiceMode } from '@dualstack/core';
import type { IngestAck } from '../api.js';
import type { IngestMeta } from '../store.js';
import { DEFAULT_MAX_CLOCK_SKEW_SECONDS, hostClockSkew } from '../findings/host-clock-skew.js';

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

// The named CHECK constraints of migrations.ts (and postgres/migrations.ts) and the report field each one guards.
export const constraintFields: Readonly<Record<string, string>> = {
  host_id_length: '/host/hostId',
  hostname_length: '/host/hostname',
  report_id_length: '/reportId',
  process_length: '/services/process',
  rule_length: '/findings/rule',
  subject_length: '/findings/subject',
};

export const MODES: readonly ServiceMode[] = ['dual-separate', 'dual-mapped', 'ipv4-only', 'ipv6-only', 'loopback-only'];
export const modeBit = (mode: ServiceMode): number => 1 << MODES.indexOf(mode);

export interface PreparedService {
  proto: 'tcp' | 'udp';
  port: number;
  process: string | null;
  pid: number | null;
  mode: ServiceMode;
  ipv4: Reach;
  ipv6: Reach;
  bindings: readonly Binding[];
  /** The host firewall's verdict per family (null: not judged, e.g. an agent without firewall support). */
  firewallIpv4: FirewallVerdict | null;
  firewallIpv6: FirewallVerdict | null;
}

/**
 * Whether the host firewall filters (drops, or lets in only some sources or interfaces) a
 * family that the socket table lets in from outside: the service matrix's firewall counters.
 */
export function firewallFilters(reach: Reach, verdict: FirewallVerdict | null): boolean {
  return (reach === 'any' || reach === 'addresses') && (verdict === 'dropped' || verdict === 'restricted');
}

/** What the service matrix counts of one service row. */
export interface MatrixService {
  proto: string;
  port: number;
  process: string | null;
  mode: ServiceMode;
  ipv4: Reach;
  ipv6: Reach;
  firewallIpv4: FirewallVerdict | null;
  firewallIpv6: FirewallVerdict | null;
}

/** One service matrix cell's change: added to its counters (a new cell starts from these). */
export interface MatrixDelta {
  proto: string;
  port: number;
  process: string;
  hosts: number;
  dualSeparate: number;
  dualMapped: number;
  ipv4Only: number;
  ipv6Only: number;
  loopbackOnly: number;
  filtered4: number;
  filtered6: number;
}

/**
 * The difference between a host's old and new services as service matrix changes: per
 * (proto, port, process), whether the host has it, in which modes, and whether the firewall
 * filters a family its sockets take from outside (firewallFilters). Unchanged cells are left
 * out; the rest come in (proto, port, process) order, so concurrent writers (PostgreSQL) lock
 * shared cells in one order and cannot deadlock on them.
 */
export function matrixDeltas(previous: readonly MatrixService[], next: readonly MatrixService[]): MatrixDelta[] {
  const group = (rows: readonly MatrixService[]) => {
    const byKey = new Map<string, { proto: string; port: number; process: string; modes: Set<ServiceMode>; filtered4: boolean; filtered6: boolean }>();
    for (const row of rows) {
      const process = row.process ?? '';
      const key = `${row.proto}/${row.port}/${process}`;
      let entry = byKey.get(key);
      if (!entry) byKey.set(key, (entry = { proto: row.proto, port: row.port, process, modes: new Set(), filtered4: false, filtered6: false }));
      entry.modes.add(row.mode);
      if (firewallFilters(row.ipv4, row.firewallIpv4)) entry.filtered4 = true;
      if (firewallFilters(row.ipv6, row.firewallIpv6)) entry.filtered6 = true;
    }
    return byKey;
  };
  const before = group(previous);
  const after = group(next);
  const flag = (value: boolean | undefined): number => (value ? 1 : 0);
  const deltas: MatrixDelta[] = [];
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const b = before.get(key);
    const a = after.get(key);
    const entry = (a ?? b)!;
    const hosts = (a ? 1 : 0) - (b ? 1 : 0);
    const modes = MODES.map((m) => flag(a?.modes.has(m)) - flag(b?.modes.has(m)));
    const filtered4 = flag(a?.filtered4) - flag(b?.filtered4);
    const filtered6 = flag(a?.filtered6) - flag(b?.filtered6);
    if (hosts === 0 && filtered4 === 0 && filtered6 === 0 && modes.every((d) => d === 0)) continue;
    const [dualSeparate, dualMapped, ipv4Only, ipv6Only, loopbackOnly] = modes as [number, number, number, number, number];
    deltas.push({ proto: entry.proto, port: entry.port, process: entry.process, hosts, dualSeparate, dualMapped, ipv4Only, ipv6Only, loopbackOnly, filtered4, filtered6 });
  }
  return deltas.sort((x, y) => compareText(x.proto, y.proto) || x.port - y.port || compareText(x.process, y.process));
}

const MATRIX_COUNTS = ['hosts', 'dualSeparate', 'dualMapped', 'ipv4Only', 'ipv6Only', 'loopbackOnly', 'filtered4', 'filtered6'] as const;

/**
 * Several hosts' deltas of one transaction (a PostgreSQL ingest batch) summed per cell, in the
 * same (proto, port, process) order: each cell is written once, and every transaction locks
 * the cells it touches in one global order after all its host rows.
 */
export function sumMatrixDeltas(lists: ReadonlyArray<readonly MatrixDelta[]>): MatrixDelta[] {
  const byKey = new Map<string, MatrixDelta>();
  for (const list of lists) {
    for (const d of list) {
      const key = `${d.proto}/${d.port}/${d.process}`;
      const sum = byKey.get(key);
      if (!sum) {
        byKey.set(key, { ...d });
        continue;
      }
      for (const field of MATRIX_COUNTS) sum[field] += d[field];
    }
  }
  // Cells whose changes cancel out (one host left it, another joined) are not written.
  return [...byKey.values()].filter((d) => MATRIX_COUNTS.some((f) => d[f] !== 0)).sort((x, y) => compareText(x.proto, y.proto) || x.port - y.port || compareText(x.process, y.process));
}

export interface PreparedFinding {
  key: string;
  finding: Finding;
}

export interface PreparedReport {
  reportId: string;
  /** The most reports kept per host (the oldest beyond it are deleted at this ingest); absent: no budget. */
  maxHostReports?: number;
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
  servicesHash: string;
  exposed: number;
  dual: number;
  /** Bit i set when a service has mode MODES[i]. */
  serviceModes: number;
  connIpv4: number;
  connIpv6: number;
  connMapped: number;
  findingsHash: string;
  /** Findings the collector adds to the report's own (host-clock-skew), stored with them. */
  collectorFindings: Finding[];
  critical: number;
  warning: number;
  info: number;
  /**
   * The report's JSON text. The service and finding rows are not carried: the writer needs
   * them only when a hash differs from the host's stored one, and then rebuilds them from this
   * text (serviceRows, findingRows). Carrying them cost more to clone to the ingest thread
   * than JSON.parse of the whole report.
   */
  body: string;
}

export interface WriteResult {
  ack: IngestAck;
  duplicate: boolean;
  applied: boolean;
  servicesRewritten: boolean;
  /** The host's oldest reports deleted for its history budget (maxReportsPerHost). */
  trimmed?: number;
}

/** What a stored report keeps to answer a resend: its host, when it came, and its ack's counts. */
export interface StoredReportRow {
  host_id: string;
  received_at: string;
  ack_open: number;
  ack_opened: number;
  ack_resolved: number;
}

/**
 * A resend of a stored report: the ack it got, marked duplicate, on either backend; a reportId
 * stored for another host is a 409 naming both.
 */
export function duplicateAck(p: PreparedReport, stored: StoredReportRow): WriteResult {
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
  return { ack, duplicate: true, applied: false, servicesRewritten: false };
}

const isOutside = (reach: Reach): boolean => reach === 'any' || reach === 'addresses';
const bit = (value: boolean | null | undefined): 0 | 1 | null => (value === null || value === undefined ? null : value ? 1 : 0);
export const findingKey = (rule: string, subject: string): string => `${rule}\u0000${subject}`;
const digest = (text: string): string => createHash('sha1').update(text).digest('base64url');

/** The hash of a service set (hosts.services_hash): of the identities in canonical order. */
export const servicesHash = (keyed: ReadonlyArray<{ identity: string }>): string => digest(keyed.map((k) => k.identity).join('\n'));

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The bindings as stored: a fixed key order, sorted, so equal sets give equal text. */
export function bindingsJson(bindings: readonly Binding[]): string {
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

/** The verdicts a service row stores; null for a family the report does not judge. */
export function firewallVerdicts(s: Pick<Service, 'firewall'>): { ipv4: FirewallVerdict | null; ipv6: FirewallVerdict | null } {
  return { ipv4: s.firewall?.ipv4?.verdict ?? null, ipv6: s.firewall?.ipv6?.verdict ?? null };
}

/**
 * The report's services as rows, in canonical order (seq in the services table is the index),
 * each with its identity: everything a service row stores (the per-service connection
 * counters, which change with every report, are only in the latest report's body). pid and
 * the sockets' inodes are in: a restarted daemon is a changed service (new pid, maybe new
 * bindings), and a row must never keep a stale pid. The agent's order is not part of it. The
 * firewall's verdicts are in only when the report has them (the deciding rules' text is only
 * in the body), so a service judged by no firewall keeps the identity it had before
 * firewall verdicts were stored (migration 5), and a host's rows are not rewritten for it.
 */
export function serviceRows(report: Pick<Report, 'services'>): Array<{ service: PreparedService; identity: string }> {
  const keyed = report.services.map((s) => {
    let identity = `${s.proto}${FIELD}${s.port}${FIELD}${s.process ?? ''}${FIELD}${s.process === null ? 0 : 1}${FIELD}${s.pid ?? ''}${FIELD}${s.mode}${FIELD}${s.ipv4}${FIELD}${s.ipv6}`;
    const firewall = firewallVerdicts(s);
    if (s.firewall) identity += `${FIELD}firewall${FIELD}${firewall.ipv4 ?? ''}${FIELD}${firewall.ipv6 ?? ''}`;
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
      firewallIpv4: firewall.ipv4,
      firewallIpv6: firewall.ipv6,
    };
    return { service, identity };
  });
  return keyed.sort(
    (a, b) =>
      compareText(a.service.proto, b.service.proto) ||
      a.service.port - b.service.port ||
      compareText(a.service.process ?? '', b.service.process ?? '') ||
      (a.service.pid ?? -1) - (b.service.pid ?? -1) ||
      compareText(a.identity, b.identity),
  );
}

/**
 * The services of the report's other network namespaces (containers, pods) as rows: per
 * namespace (by inode, in the report's order), its services as serviceRows orders them.
 */
export function namespaceServiceRows(report: Pick<Report, 'namespaces'>): Array<{ namespace: number; rows: Array<{ service: PreparedService; identity: string }> }> {
  return (report.namespaces ?? []).map((ns) => ({ namespace: ns.inode, rows: serviceRows(ns) }));
}

/**
 * hosts.services_hash of a report: its own services, then each namespace's (a host without
 * namespaces keeps the hash it had before namespaces were stored, so its rows are not
 * rewritten for them).
 */
export function reportServicesHash(keyed: ReadonlyArray<{ identity: string }>, report: Pick<Report, 'namespaces'>): string {
  const namespaces = namespaceServiceRows(report);
  if (namespaces.length === 0) return servicesHash(keyed);
  const all = [...keyed];
  for (const ns of namespaces) all.push({ identity: `namespace${FIELD}${ns.namespace}` }, ...ns.rows);
  return servicesHash(all);
}

/**
 * The report's findings as rows: one per (rule, subject), the first wins, and the identity of
 * the set, which covers everything stored, so an unchanged set needs no per-finding write.
 * The namespaces' findings (containers, pods) are the host's too: their subjects name the
 * owner (`pod default/web-7d9 tcp/8080`), so they are rows of their own, and the read API,
 * metrics and finding alerts see them with no special case.
 */
export function findingRows(report: Report, collectorFindings: readonly Finding[] = []): { rows: PreparedFinding[]; identity: string } {
  const rows: PreparedFinding[] = [];
  const seen = new Set<string>();
  let identity = '';
  const namespaceFindings = (report.namespaces ?? []).flatMap((ns) => ns.findings);
  for (const f of [...report.findings, ...namespaceFindings, ...collectorFindings]) {
    const key = findingKey(f.rule, f.subject);
    if (seen.has(key)) continue;
    seen.add(key);
    rows.push({ key, finding: f });
    identity += `${key}${FIELD}${f.severity}${FIELD}${f.message}${FIELD}${f.evidence.join(ITEM)}${FIELD}${f.fix.summary}${FIELD}${f.fix.commands.join(ITEM)}\n`;
  }
  return { rows, identity };
}

/**
 * Everything of a report that goes to SQL, computed before the transaction so the transaction
 * does only SQL. Throws ReportRejectedError for a report that cannot be stored sensibly.
 */
export function prepareReport(report: Report, meta: IngestMeta, maxClockSkewMs = DEFAULT_MAX_CLOCK_SKEW_SECONDS * 1000): PreparedReport {
  // A UUID is case-insensitive (RFC 9562): compared and stored in lower case, so a resend that
  // spells it in upper case is the duplicate it is, not a second row.
  const reportId = report.reportId.toLowerCase();
  const received = isoTime(meta.receivedAt, reportId, 'receivedAt');
  const collected = isoTime(report.collectedAt, reportId, '/collectedAt');
  // Never refused for its clock (wrong clocks are common, and the host's state is ordered by
  // receive time: ingest-writer.ts): a skewed report is stored, with a finding that says so.
  const sent = meta.sentAt === undefined ? NaN : Date.parse(meta.sentAt);
  const skew = hostClockSkew({ collectedMs: collected.ms, sentMs: Number.isFinite(sent) ? sent : null, receivedMs: received.ms }, maxClockSkewMs);
  const collectorFindings = skew ? [skew] : [];

  const keyed = serviceRows(report);
  let exposed = 0;
  let dual = 0;
  let connIpv4 = 0;
  let connIpv6 = 0;
  let connMapped = 0;
  let serviceModes = 0;
  for (const { service: s } of keyed) {
    serviceModes |= modeBit(s.mode);
    const v4 = isOutside(s.ipv4);
    const v6 = isOutside(s.ipv6);
    if (v4 || v6) exposed++;
    if (v4 && v6) dual++;
  }
  for (const s of report.services) {
    connIpv4 += s.connections.ipv4;
    connIpv6 += s.connections.ipv6;
    connMapped += s.connections.mapped;
  }
  const findings = findingRows(report, collectorFindings);
  const bySeverity = { critical: 0, warning: 0, info: 0 };
  for (const { finding } of findings.rows) bySeverity[finding.severity]++;

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
    servicesHash: reportServicesHash(keyed, report),
    exposed,
    dual,
    serviceModes,
    connIpv4,
    connIpv6,
    connMapped,
    findingsHash: digest(findings.identity),
    collectorFindings,
    critical: bySeverity.critical,
    warning: bySeverity.warning,
    info: bySeverity.info,
    body: meta.body ?? JSON.stringify(report),
  };
}

/** SQLite constraint errors are the report's fault (4xx); anything else is the store's (5xx). */
export function asRejection(error: unknown, reportId: string): unknown {
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
export function isReportFault(error: unknown): boolean {
  if (error instanceof ReportRejectedError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return true;
  return code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_TOOBIG' || code === 'SQLITE_MISMATCH';
}
