// A TCP relay on 127.0.0.1 between an agent and a REAL collector process, for the e2e tests that
// need an answer to go missing after the collector acted on the request. It does not answer
// anything itself and does not parse HTTP beyond the first line of each answer: every byte the
// agent sends reaches the collector unchanged. Per answer it can
//   - pass it on (default);
//   - drop it: both connections are closed once the collector's answer starts to arrive, so the
//     collector has committed (it answers after the commit) and the agent never sees the ack;
//   - hold it: nothing is passed on, the connection stays open, and `held` resolves with the
//     answer's status line, so the test can kill the agent while its request is acknowledged
//     but the acknowledgement has not reached it.
// Closing the relay destroys every connection it holds.
import { createServer, connect, type Server, type Socket } from 'node:net';

export type Fault = 'pass' | 'drop' | 'hold';

export interface RelayedAnswer {
  /** The collector's status line, e.g. "HTTP/1.1 202 Accepted". */
  statusLine: string;
  /** What the relay did with it. */
  fault: Fault;
}

export class FaultProxy {
  /** Every answer the collector started to send through the relay, in order. */
  readonly answers: RelayedAnswer[] = [];
  private readonly faults: Fault[] = [];
  private readonly sockets = new Set<Socket>();
  private heldWaiters: Array<(answer: RelayedAnswer) => void> = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly upstreamPort: number,
  ) {}

  /** Listens on 127.0.0.1:0 and relays every connection to 127.0.0.1:`upstreamPort`. */
  static async start(upstreamPort: number): Promise<FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const proxy = new FaultProxy(server, address.port, upstreamPort);
    server.on('connection', (client) => proxy.relay(client));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What to do with the next answers, in order; after them, answers pass. */
  next(...faults: Fault[]): this {
    this.faults.push(...faults);
    return this;
  }

  /** Resolves with the next answer the relay holds (or one it held already and nobody awaited). */
  held(): Promise<RelayedAnswer> {
    const already = this.answers.find((a) => a.fault === 'hold' && !this.claimed.has(a));
    if (already) {
      this.claimed.add(already);
      return Promise.resolve(already);
    }
    return new Promise((resolve) =>
      this.heldWaiters.push((answer) => {
        this.claimed.add(answer);
        resolve(answer);
      }),
    );
  }

  private readonly claimed = new Set<RelayedAnswer>();

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
  }

  private relay(client: Socket): void {
    const upstream = connect(this.upstreamPort, '127.0.0.1');
    this.track(client);
    this.track(upstream);
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    // The fault applies from the first byte of an answer to the end of the connection: a held
    // or dropped answer ends what this connection carries back.
    let fault: Fault | null = null;
    upstream.on('data', (chunk: Buffer) => {
      if (fault !== null) return;
      // An answer starts with its status line at the start of a chunk: the agent (undici, no
      // pipelining) sends one request at a time on a connection and waits for its whole answer,
      // so the next answer's first byte is always the first byte of a chunk.
      const statusLine = /^HTTP\/1\.[01] \d{3}[^\r\n]*/.exec(chunk.toString('latin1', 0, Math.min(chunk.length, 200)))?.[0];
      if (statusLine !== undefined) {
        const chosen = this.faults.shift() ?? 'pass';
        const answer: RelayedAnswer = { statusLine, fault: chosen };
        this.answers.push(answer);
        if (chosen === 'drop') {
          fault = 'drop';
          client.destroy();
          upstream.destroy();
          return;
        }
        if (chosen === 'hold') {
          fault = 'hold';
          const waiter = this.heldWaiters.shift();
          if (waiter) waiter(answer);
          return;
        }
      }
      client.write(chunk);
    });
  }
}
