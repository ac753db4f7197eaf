// One POST of one report (or probe batch, see payload.ts) to the collector, turned into an outcome the caller can act on
// without looking at HTTP: delivered (stored, or stored before), rejected (the collector
// refused it; sending it again cannot help) or retry (the collector or the path to it is
// down or busy; the report must wait and go again).
import { Agent, request, type Dispatcher } from 'undici';
import type { Report } from '@dualstack/core';
import { AGENT_VERSION } from '../scan.js';
import type { IngestAck, Problem } from '@dualstack/core';
import { REPORT_KIND, type PayloadKind } from './payload.js';

/**
 * The collector's answer to a stored report (IngestAck in packages/collector/src/api.ts; the
 * agent does not depend on the collector, so only the fields it reads are typed here, and
 * checked before use).
 */
/** The ack as the collector sends it (the shared wire schema). */
export type CollectorAck = IngestAck;

/** RFC 9457 problem details as the collector sends them with a 4xx; read defensively, every field may be missing. */
export type CollectorProblem = Partial<Problem>;

export type PushOutcome<A = CollectorAck> =
  | {
      kind: 'delivered';
      status: number;
      /** True on 200: this reportId (batchId) was stored before (a resend after a lost ack). */
      duplicate: boolean;
      /** The collector's ack for this very payload (a 2xx without one is a retry). */
      ack: A;
    }
  | {
      kind: 'rejected';
      status: number;
      problem: CollectorProblem | null;
      /** One line for the log: the collector's own words where it sent any. */
      message: string;
    }
  | {
      kind: 'retry';
      /** HTTP status, or null when no answer came (connection refused, reset, timed out). */
      status: number | null;
      /** Error code of a network failure (ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT, ...). */
      code: string | null;
      /** What the collector asked for with Retry-After, in ms, or null. */
      retryAfterMs: number | null;
      message: string;
    };

export interface PushOptions {
  /** The ingest endpoint, e.g. http://collector:8080/api/v1/reports (see collectorEndpoint). */
  url: string | URL;
  token: string;
  /** Each of connect, response headers and response body gets this long. Default 30 s. */
  timeoutMs?: number;
  /** Reused across a flush; without one a dispatcher is made for this push and closed after. */
  dispatcher?: Dispatcher;
  /** Abandons the push (outcome retry, code ABORTED): the report stays wherever it was. */
  signal?: AbortSignal;
  /** Clock for an HTTP-date Retry-After. */
  now?: () => number;
}

export const DEFAULT_PUSH_TIMEOUT_MS = 30_000;
/** A Retry-After beyond this is taken as this: a broken header must not park a host for days. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;
/** How much of an answer's body is read: acks and problems are small. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** A dispatcher whose connect timeout is `timeoutMs` (undici sets that per connection pool). */
export function pushDispatcher(timeoutMs = DEFAULT_PUSH_TIMEOUT_MS): Agent {
  return new Agent({ connect: { timeout: timeoutMs } });
}

/** Statuses that mean "later", not "never": RFC 9110 408 Request Timeout and 6585 429. */
const RETRYABLE_4XX = new Set([408, 429]);

export async function pushReport(report: Report, options: PushOptions): Promise<PushOutcome> {
  return pushPayload(REPORT_KIND, report, options);
}

/** POSTs one payload of `kind` to options.url (that kind's collector endpoint). */
export async function pushPayload<T, A extends { duplicate: boolean }>(kind: PayloadKind<T, A>, payload: T, options: PushOptions): Promise<PushOutcome<A>> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PUSH_TIMEOUT_MS;
  const dispatcher = options.dispatcher ?? pushDispatcher(timeoutMs);
  try {
    return await pushWith(kind, dispatcher, payload, options, timeoutMs);
  } finally {
    if (options.dispatcher === undefined) await (dispatcher as Agent).destroy().catch(() => undefined);
  }
}

async function pushWith<T, A extends { duplicate: boolean }>(kind: PayloadKind<T, A>, dispatcher: Dispatcher, payload: T, options: PushOptions, timeoutMs: number): Promise<PushOutcome<A>> {
  let response: Dispatcher.ResponseData;
  try {
    response = await request(options.url, {
      method: 'POST',
      dispatcher,
      headers: {
        authorization: `Bearer ${options.token}`,
        'content-type': 'application/json',
        accept: 'application/json, application/problem+json',
        'user-agent': `dualstack-agent/${AGENT_VERSION}`,
        // The time of sending on this host's clock: the collector compares it with its own to
        // tell a wrong clock (host-clock-skew) from a report that waited in the spool.
        date: new Date(options.now?.() ?? Date.now()).toUTCString(),
      },
      body: JSON.stringify(payload),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    return networkFailure(error, options.signal);
  }
  const { statusCode: status } = response;
  let text: string;
  try {
    text = await readLimited(response.body, timeoutMs);
  } catch (error) {
    return networkFailure(error, options.signal, status);
  }
  const json = parseJson(text);

  if (status >= 200 && status < 300) {
    // Only the collector's ack for this very id says it is stored: a 2xx from a proxy's error
    // page, a captive portal or another server says nothing, and the payload must stay spooled.
    const ack = kind.readAck(json);
    const id = kind.id(payload);
    if (ack === null || kind.ackId(ack) !== id) {
      const what = ack === null ? (json === null ? 'not JSON' : `not a ${kind.noun} ack`) : `the ack of ${kind.idField} ${kind.ackId(ack)}`;
      return { kind: 'retry', status, code: 'NO_ACK', retryAfterMs: null, message: `${status} without the collector's ack for ${kind.idField} ${id} (${what}): ${snippet(text) || '(no body)'}` };
    }
    return { kind: 'delivered', status, duplicate: ack.duplicate, ack };
  }
  const problem = asProblem(json);
  if (status >= 500 || RETRYABLE_4XX.has(status)) {
    const retryAfterMs = parseRetryAfter(headerValue(response.headers['retry-after']), options.now?.() ?? Date.now());
    return { kind: 'retry', status, code: null, retryAfterMs, message: describeAnswer(status, problem, text) };
  }
  if (status >= 300 && status < 400) {
    const location = headerValue(response.headers.location);
    return { kind: 'rejected', status, problem: null, message: `${status} redirect${location ? ` to ${location}` : ''}: check --collector` };
  }
  return { kind: 'rejected', status, problem, message: describeAnswer(status, problem, text) };
}

/** Error codes of failures where nothing (or nothing complete) reached the collector. */
function networkFailure(error: unknown, signal: AbortSignal | undefined, status: number | null = null): Extract<PushOutcome, { kind: 'retry' }> {
  if (signal?.aborted) return { kind: 'retry', status, code: 'ABORTED', retryAfterMs: null, message: 'push abandoned (stopping)' };
  const code = errorCode(error);
  // A bad URL or option is a bug or a configuration error, not a collector outage: spooling
  // the report would only hide it.
  if (code === 'UND_ERR_INVALID_ARG' || code === 'ERR_INVALID_URL') throw error;
  const message = (error as Error)?.message || String(error);
  return { kind: 'retry', status, code, retryAfterMs: null, message: code && !message.includes(code) ? `${code} ${message}` : message };
}

/** `code` of a Node or undici error, looking into AggregateError (happy eyeballs) and `cause`. */
export function errorCode(error: unknown): string | null {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    const inner = (current as { errors?: unknown[] }).errors;
    if (Array.isArray(inner) && inner.length > 0) current = inner[0];
    else current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * The answer's body, at most MAX_ANSWER_BYTES of it and within `timeoutMs` in all: acks and
 * problems are small, and an endless body (a broken proxy streaming forever, measured: `push`
 * hung) must not hold the agent. Beyond either limit the rest is not read (the connection is
 * dropped) and it is an error, so the attempt counts as failed.
 */
async function readLimited(body: Dispatcher.ResponseData['body'], timeoutMs: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  const timer = setTimeout(() => body.destroy(Object.assign(new Error(`the answer's body took longer than ${timeoutMs} ms`), { code: 'BODY_TIMEOUT' })), timeoutMs);
  try {
    for await (const chunk of body) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > MAX_ANSWER_BYTES) {
        body.destroy();
        throw Object.assign(new Error(`the answer's body is larger than ${MAX_ANSWER_BYTES} bytes`), { code: 'BODY_TOO_LARGE' });
      }
      chunks.push(buffer);
    }
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asProblem(value: unknown): CollectorProblem | null {
  if (!isObject(value)) return null;
  const problem: CollectorProblem = {};
  if (typeof value.type === 'string') problem.type = value.type;
  if (typeof value.title === 'string') problem.title = value.title;
  if (typeof value.status === 'number') problem.status = value.status;
  if (typeof value.detail === 'string') problem.detail = value.detail;
  if (typeof value.field === 'string') problem.field = value.field;
  if (Array.isArray(value.problems)) {
    problem.problems = value.problems
      .filter(isObject)
      .map((p) => ({ path: String(p.path ?? ''), message: String(p.message ?? '') }));
  }
  return problem.title !== undefined || problem.detail !== undefined ? problem : null;
}

/** "400 Bad Request: services/0/port must be an integer (field /services/0/port)". */
function describeAnswer(status: number, problem: CollectorProblem | null, text: string): string {
  if (problem) {
    const head = problem.title ? `${status} ${problem.title}` : String(status);
    const parts = [problem.detail && problem.detail !== problem.title ? `${head}: ${problem.detail}` : head];
    if (problem.field) parts.push(`(field ${problem.field})`);
    const more = (problem.problems ?? []).filter((p) => !problem.detail?.includes(p.message));
    if (more.length > 0) parts.push(`[${more.slice(0, 3).map((p) => `${p.path} ${p.message}`).join('; ')}${more.length > 3 ? `; +${more.length - 3} more` : ''}]`);
    return parts.join(' ');
  }
  const shown = snippet(text);
  return shown ? `${status}: ${shown}` : `${status} (no body)`;
}

/** The start of an answer's text on one line, for log lines. */
function snippet(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 200);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from `now`; capped. */
export function parseRetryAfter(value: string | undefined, now: number): number | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    // An HTTP-date names its month ("Wed, 21 Oct 2015 07:28:00 GMT"); Date.parse would also
    // take "-5" or "2025" as dates.
    if (!/[a-z]{3}/i.test(trimmed)) return null;
    const date = Date.parse(trimmed);
    if (Number.isNaN(date)) return null;
    ms = Math.max(0, date - now);
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}
