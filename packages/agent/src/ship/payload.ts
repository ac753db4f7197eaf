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
  /** The ack in a 2xx body, checked field by field; null when it is not one. */
  readAck(value: unknown): A | null;
  /** What an ack adds to the "delivered" line, e.g. "; 2 findings open (1 opened, 0 resolved)". */
  describeAck(ack: A): string;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const count = (v: unknown) => (typeof v === 'number' ? v : 0);

export const REPORT_KIND: PayloadKind<Report, IngestAck> = {
  noun: 'report',
  path: '/api/v1/reports',
  filePrefix: '',
  idField: 'reportId',
  timeField: 'collectedAt',
  timeWord: 'collected',
  id: (report) => report.reportId,
  time: (report) => report.collectedAt,
  readAck(value) {
    if (!isObject(value) || typeof value.reportId !== 'string' || typeof value.duplicate !== 'boolean') return null;
    const findings = isObject(value.findings) ? value.findings : {};
    return {
      reportId: value.reportId,
      hostId: typeof value.hostId === 'string' ? value.hostId : '',
      duplicate: value.duplicate,
      receivedAt: typeof value.receivedAt === 'string' ? value.receivedAt : '',
      findings: { open: count(findings.open), opened: count(findings.opened), resolved: count(findings.resolved) },
    };
  },
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
  readAck(value) {
    if (!isObject(value) || typeof value.batchId !== 'string' || typeof value.duplicate !== 'boolean') return null;
    return {
      batchId: value.batchId,
      duplicate: value.duplicate,
      receivedAt: typeof value.receivedAt === 'string' ? value.receivedAt : '',
      results: count(value.results),
      unknown: Array.isArray(value.unknown) ? value.unknown.filter((n): n is string => typeof n === 'string') : [],
    };
  },
  describeAck: (ack) => `; ${ack.results} endpoint results stored${ack.unknown.length > 0 ? `; not declared by the collector: ${ack.unknown.slice(0, 5).join(', ')}${ack.unknown.length > 5 ? ` (+${ack.unknown.length - 5})` : ''}` : ''}`,
};
