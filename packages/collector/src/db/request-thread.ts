// A worker thread on a module of ours that answers one request at a time, with its own SQLite
// connection: the ingest writer (db/ingest-thread.ts) and the alert evaluation
// (db/evaluation-thread.ts). Both sides are here: RequestThread on the caller's thread,
// serveRequests in the worker.
//
// The worker starts at the first request (so the CLI's short commands never start one) and
// again after it died; a request in flight when it dies fails. An idle worker does not keep the
// process alive, a request in flight does.
import { parentPort, type Worker } from 'node:worker_threads';
import { startWorker } from '@dualstack/core/worker';

type Envelope<Request> = { type: 'request'; request: Request } | { type: 'close' };
type Reply<Result> = { type: 'result'; result: Result } | { type: 'failed'; message: string; code?: string } | { type: 'closed' };

export class RequestThread<Request, Result> {
  private worker: Worker | null = null;
  private waiting: { resolve(reply: Reply<Result>): void; reject(error: Error): void } | null = null;

  /**
   * @param module the module the worker runs (its serveRequests answers)
   * @param workerData what the worker side reads to set itself up (structured-cloned)
   * @param name how errors name the thread, e.g. 'the ingest thread'
   */
  constructor(
    private readonly module: URL,
    private readonly workerData: unknown,
    private readonly name: string,
  ) {}

  /** Runs one request on the worker; rejects with the worker's error (its code kept). */
  run(request: Request, what = 'request'): Promise<Result> {
    return this.send({ type: 'request', request }, what).then((reply) => {
      if (reply.type === 'result') return reply.result;
      if (reply.type === 'failed') throw Object.assign(new Error(reply.message), reply.code !== undefined ? { code: reply.code } : {});
      throw new Error(`${this.name} answered '${reply.type}' to a ${what}`);
    });
  }

  /** Lets the worker close its connection, then ends it. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    await this.send({ type: 'close' }, 'close').catch(() => undefined);
    this.worker = null;
    await worker.terminate();
  }

  private send(message: Envelope<Request>, what: string): Promise<Reply<Result>> {
    if (this.waiting) return Promise.reject(new Error(`${this.name} is busy with another ${what}`));
    const worker = this.worker ?? this.start();
    return new Promise<Reply<Result>>((resolve, reject) => {
      this.waiting = { resolve, reject };
      worker.ref();
      worker.postMessage(message);
    });
  }

  private start(): Worker {
    const worker = startWorker(this.module, { workerData: this.workerData });
    worker.unref();
    const settle = (how: (waiting: NonNullable<RequestThread<Request, Result>['waiting']>) => void) => {
      const waiting = this.waiting;
      this.waiting = null;
      worker.unref();
      if (waiting) how(waiting);
    };
    worker.on('message', (reply: Reply<Result>) => settle((w) => w.resolve(reply)));
    worker.on('error', (error) => {
      if (this.worker === worker) this.worker = null;
      settle((w) => w.reject(new Error(`${this.name} failed: ${error.message}`, { cause: error })));
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = null;
      settle((w) => w.reject(new Error(`${this.name} exited (code ${code}) before answering`)));
    });
    this.worker = worker;
    return worker;
  }
}

export interface RequestHandler<Request, Result> {
  handle(request: Request): Result | Promise<Result>;
  /** Closes what handle() opened (called once, on the close message). */
  close(): void;
}

/** The worker side: answers each request with its result, or its error's message and code. */
export function serveRequests<Request, Result>(handler: RequestHandler<Request, Result>): void {
  const port = parentPort;
  if (!port) throw new Error('serveRequests runs on a worker thread');
  port.on('message', async (message: Envelope<Request>) => {
    if (message.type === 'close') {
      handler.close();
      port.postMessage({ type: 'closed' } satisfies Reply<Result>);
      return;
    }
    try {
      port.postMessage({ type: 'result', result: await handler.handle(message.request) } satisfies Reply<Result>);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      port.postMessage({ type: 'failed', message: (error as Error).message ?? String(error), ...(typeof code === 'string' ? { code } : {}) } satisfies Reply<Result>);
    }
  });
}
