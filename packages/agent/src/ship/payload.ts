// What the ship code delivers: reports (POST /api/v1/reports) and probe batches
// (POST /api/v1/probe-results). Both are posted, acknowledged, spooled and replayed the same
// way; a kind says where one goes, what names its spool file, and how its ack reads.
import type { ProbeAck, ProbeBatch, Report } from '@dualstack/core';
import type { IngestAck } from '@dualstack/core';

export interface PayloadKind<T, A> {
  /** In log lines: 'report', 'probe batch'. */
  noun: string;
  /** The collector's path for it (appended to the --collector base). */
  path: string;
  /** Spool files of this kind start with it; reports have none (the names older agents wrote). */
  filePrefix: string;
  /** The JSON fields holding the id (the collector is idempotent on it) and the time that orders the spool. */
  idField: string;
  timeField: string;
  /** 'collected', 'started': the time's word in log lines. */
  timeWord: string;
  id(payload: T): string;
  time(payload: T): string;
  /** The ack in a 2xx body, checked field by field against the wire schema; null when it is not one. */
  readAck(value: unknown): A | null;
  /** The id an ack is for: a 2xx counts only when it is the payload's own (push.ts). */
  ackId(ack: A): string;
  /** What an ack adds to the "delivered" line, e.g. "; 2 findings open (1 opened, 0 resolved)". */
  describeAck(ack: A): string;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

export const REPORT_KIND: PayloadKind<Report, IngestAck> = {
  noun: 'report',
  path: '/api/v1/reports',
  filePrefix: '',
  idField: 'reportId',
  timeField: 'collectedAt',
  timeWord: 'collected',
  id: (report) => report.reportId,
  time: (report) => report.collectedAt,
  // Every field of IngestAck (core's wire.ts), typed: a proxy's or another server's JSON is no ack.
  readAck(value) {
    if (!isObject(value) || typeof value.reportId !== 'string' || typeof value.hostId !== 'string' || typeof value.duplicate !== 'boolean' || typeof value.receivedAt !== 'string') return null;
    const findings = value.findings;
    if (!isObject(findings) || !isCount(findings.open) || !isCount(findings.opened) || !isCount(findings.resolved)) return null;
    return {
      reportId: value.reportId,
      hostId: value.hostId,
      duplicate: value.duplicate,
      receivedAt: value.receivedAt,
      findings: { open: findings.open, opened: findings.opened, resolved: findings.resolved },
    };
  },
  ackId: (ack) => ack.reportId,
  describeAck: (ack) => `; ${ack.findings.open} findings open (${ack.findings.opened} opened, ${ack.findings.resolved} resolved)`,
};

export const PROBE_BATCH_KIND: PayloadKind<ProbeBatch, ProbeAck> = {
  noun: 'probe batch',
  path: '/api/v1/probe-results',
  filePrefix: 'probe-',
  idField: 'batchId',
  timeField: 'startedAt',
  timeWord: 'started',
  id: (batch) => batch.batchId,
  time: (batch) => batch.startedAt,
  // Every field of ProbeAck (core's probe.ts), typed.
  readAck(value) {
    if (!isObject(value) || typeof value.batchId !== 'string' || typeof value.duplicate !== 'boolean' || typeof value.receivedAt !== 'string' || !isCount(value.results)) return null;
    if (!Array.isArray(value.unknown) || !value.unknown.every((n) => typeof n === 'string')) return null;
    return { batchId: value.batchId, duplicate: value.duplicate, receivedAt: value.receivedAt, results: value.results, unknown: value.unknown as string[] };
  },
  ackId: (ack) => ack.batchId,
  describeAck: (ack) => `; ${ack.results} endpoint results stored${ack.unknown.length > 0 ? `; not declared by the collector: ${ack.unknown.slice(0, 5).join(', ')}${ack.unknown.length > 5 ? ` (+${ack.unknown.length - 5})` : ''}` : ''}`,
};
