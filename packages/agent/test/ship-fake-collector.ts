// A real HTTP server on 127.0.0.1 that plays the collector's ingest endpoints for the ship
// tests (POST /api/v1/reports; for probing, GET /api/v1/probe-targets from `probeTargets` and
// POST /api/v1/probe-results, acked like reports but keyed on batchId), answering from a script: accept (202 the first time a reportId comes, 200 duplicate
// after, like the real one), a status with a body, close the connection, or stall. It records
// EVERY request with the answer it got (`received[i].answer`), without deduplicating anything,
// so a test says "sent once" by counting requests and "the resend was answered 200" by reading
// the answers. Whether the real collector stores a report once is checked against the real
// collector (test/e2e/resend.test.ts), not here.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import type { Report } from '@dualstack/core';
import { scan } from '../src/scan.js';
import { fixtureProc } from './helpers/proc-fixtures.js';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** reportId of the body (batchId for probe results), when it parsed. */
  reportId: string | null;
  /**
   * What this request got: the HTTP status sent, 'stored-then-closed' (stored, then the
   * connection dropped before any answer: a lost ack), 'closed' (dropped, nothing stored) or
   * 'stalled' (never answered).
   */
  answer: number | 'stored-then-closed' | 'closed' | 'stalled';
}

export type Answer =
  | 'accept'
  /** Stores the report, then drops the connection before answering: a lost ack. */
  | 'store-then-close'
  | 'close'
  | 'stall'
  | { status: number; body?: unknown; headers?: Record<string, string> }
  /** The status line, then a body that never ends (a chunk every few ms until the client hangs up). */
  | { status: number; endless: true };

export class FakeCollector {
  /** Every request, in arrival order, each with the answer it got. */
  readonly received: ReceivedRequest[] = [];
  /** The reportIds this fake holds: what makes it answer 202 the first time and 200 after. */
  readonly stored = new Set<string>();
  private readonly queue: Answer[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly waiters: Array<{ count: number; resolve: () => void }> = [];
  fallback: Answer = 'accept';
  /** What GET /api/v1/probe-targets answers (200 with it), or null for 404 (a collector without probing). */
  probeTargets: unknown = null;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on 127.0.0.1:`port` (0: any free port). */
  static async start(port = 0): Promise<FakeCollector> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const collector = new FakeCollector(server, address.port);
    server.on('connection', (socket) => {
      collector.sockets.add(socket);
      socket.on('close', () => collector.sockets.delete(socket));
    });
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => collector.handle(req.method ?? '', req.url ?? '', req.headers, Buffer.concat(chunks).toString('utf8'), res));
    });
    return collector;
  }

  /** A port nothing listens on (bound, then released): a collector that is down. */
  static async freePort(): Promise<number> {
    const probe = await FakeCollector.start();
    await probe.close();
    return probe.port;
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get endpoint(): string {
    return `${this.base}/api/v1/reports`;
  }

  /** Answers for the next requests, in order; after them, `fallback`. */
  answer(...answers: Answer[]): this {
    this.queue.push(...answers);
    return this;
  }

  /** reportIds in the order they arrived. */
  get receivedIds(): string[] {
    return this.received.map((r) => r.reportId ?? '?');
  }

  /** [reportId, answer] of every request, in arrival order. */
  get answers(): Array<[string, ReceivedRequest['answer']]> {
    return this.received.map((r) => [r.reportId ?? '?', r.answer]);
  }

  /** Resolves once `count` requests have arrived. */
  waitForRequests(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) {
      if (this.received.length >= waiter.count) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  /** Requests of one path (e.g. '/api/v1/probe-results'), in arrival order. */
  requestsTo(path: string): ReceivedRequest[] {
    return this.received.filter((r) => r.path === path);
  }

  private handle(method: string, path: string, headers: IncomingHttpHeaders, body: string, res: ServerResponse): void {
    if (method === 'GET' && path === '/api/v1/probe-targets') {
      // A read: recorded, answered from probeTargets, no scripted answer used up.
      const found = this.probeTargets !== null;
      this.received.push({ method, path, headers, body, reportId: null, answer: found ? 200 : 404 });
      this.wake();
      res.writeHead(found ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(found ? this.probeTargets : { title: 'Not Found' }));
      return;
    }
    const probe = path === '/api/v1/probe-results';
    let reportId: string | null = null;
    try {
      const parsed = JSON.parse(body) as { reportId?: unknown; batchId?: unknown };
      const id = probe ? parsed.batchId : parsed.reportId;
      if (typeof id === 'string') reportId = id;
    } catch {
      /* not JSON: reportId stays null */
    }
    const answer = this.queue.shift() ?? this.fallback;
    const request: ReceivedRequest = { method, path, headers, body, reportId, answer: 'stalled' };
    this.received.push(request);
    this.wake();
    if (answer === 'stall') return;
    if (answer === 'close') {
      request.answer = 'closed';
      res.socket?.destroy();
      return;
    }
    if (answer === 'accept' || answer === 'store-then-close') {
      const duplicate = reportId !== null && this.stored.has(reportId);
      if (reportId !== null) this.stored.add(reportId);
      if (answer === 'store-then-close') {
        request.answer = 'stored-then-closed';
        res.socket?.destroy();
        return;
      }
      const receivedAt = new Date().toISOString();
      const ack = probe
        ? { batchId: reportId, duplicate, receivedAt, results: duplicate ? 0 : ((JSON.parse(body) as { results?: unknown[] }).results?.length ?? 0), unknown: [] }
        : { reportId, hostId: 'fake-host', duplicate, receivedAt, findings: { open: 2, opened: duplicate ? 0 : 1, resolved: 0 } };
      request.answer = duplicate ? 200 : 202;
      res.writeHead(request.answer, { 'content-type': 'application/json' }).end(JSON.stringify(ack));
      return;
    }
    if ('endless' in answer) {
      request.answer = answer.status;
      res.writeHead(answer.status, { 'content-type': 'text/html' });
      const timer = setInterval(() => res.write('<p>still going</p>'.repeat(64)), 5);
      res.on('close', () => clearInterval(timer));
      return;
    }
    const payload = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    const type = typeof answer.body === 'object' ? { 'content-type': 'application/problem+json' } : {};
    request.answer = answer.status;
    res.writeHead(answer.status, { ...type, ...answer.headers }).end(payload);
  }
}

/** A copy of `base` with a fresh reportId and the given collectedAt. */
export function reportAt(base: Report, collectedAt: string | Date): Report {
  return { ...base, reportId: randomUUID(), collectedAt: new Date(collectedAt).toISOString() };
}

/** The problem body the collector sends with a 400. */
export const badBodyProblem = {
  type: 'https://dualstack.dev/problems/invalid-report',
  title: 'Invalid report',
  status: 400,
  detail: 'services/0/port must be an integer',
  field: '/services/0/port',
  problems: [{ path: '/services/0/port', message: 'must be an integer' }],
};

/** A real report: a scan of the dual-stack-services fixture. */
export async function fixtureReport(): Promise<Report> {
  const root = fixtureProc('dual-stack-services');
  const { report } = await scan({ procRoot: root, captureDir: dirname(root.path) });
  return report;
}
