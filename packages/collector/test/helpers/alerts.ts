// Helpers of the alert tests: a webhook receiver on 127.0.0.1 that records what it gets (and
// can answer errors, hang, or go down and come back on the same port), waiting for a
// condition, a free loopback port, and a real collector process on a config file.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from '../../src/db/sqlite-store.js';
import { generateToken, hashToken } from '../../src/tokens.js';

export interface Received {
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** Answers a request (default 200 {}); may delay or never answer. */
  respond: (request: Received, response: ServerResponse) => void;
  /** Stops listening (and drops open connections): the receiver is down. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

export async function startReceiver(t: TestContext, options: { down?: boolean; port?: number } = {}): Promise<Receiver> {
  const received: Received[] = [];
  let server: Server | null = null;
  const make = () =>
    createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // kept as text
        }
        const entry: Received = { at: Date.now(), path: request.url ?? '', headers: request.headers, body };
        received.push(entry);
        receiver.respond(entry, response);
      });
    });
  const receiver: Receiver = {
    url: '',
    port: options.port ?? 0,
    received,
    respond: (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    },
    async down() {
      const s = server;
      server = null;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async up() {
      if (server) return;
      server = make();
      receiver.port = await listen(server, receiver.port);
      receiver.url = `http://127.0.0.1:${receiver.port}`;
    },
  };
  if (options.down) {
    receiver.port = options.port ?? (await freePort());
    receiver.url = `http://127.0.0.1:${receiver.port}`;
  } else {
    await receiver.up();
  }
  t.after(() => receiver.down());
  return receiver;
}

/** A loopback port nothing listens on (right now). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function waitFor<T>(what: string, check: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const collectorCli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
export const agentCli = fileURLToPath(new URL('../../../agent/dist/cli.js', import.meta.url));
export const fixturesDir = fileURLToPath(new URL('../../../../test/fixtures/', import.meta.url));

/** Kills the process by its PID (SIGTERM, then SIGKILL after 5 s) and waits for its exit. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid!, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  }, 5000);
  await exited;
  clearTimeout(timer);
}

export interface CollectorProcess {
  url: string;
  dir: string;
  db: string;
  configFile: string;
  tokens: { agent: string; reader: string; admin: string };
  child: ChildProcess;
  output: string[];
  stop(): Promise<void>;
}

/**
 * A real `dualstack-collector serve` (the built dist/cli.js) on 127.0.0.1:0 with a JSON config
 * file holding `alerts`; tokens are created in its database first. Killed by PID at the end.
 */
export async function startCollectorProcess(t: TestContext, config: Record<string, unknown>): Promise<CollectorProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-alerts-e2e-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'dualstack.db');
  const store = new SqliteStore(db, { staleAfterSeconds: 900 });
  const tokens = { agent: generateToken(), reader: generateToken(), admin: generateToken() };
  await store.createToken({ name: 'agent', role: 'agent', hash: hashToken(tokens.agent) });
  await store.createToken({ name: 'reader', role: 'reader', hash: hashToken(tokens.reader) });
  // Writes reports of any host (an agent token is bound to the first host it reports): for
  // tests that post as many synthetic hosts.
  await store.createToken({ name: 'admin', role: 'admin', hash: hashToken(tokens.admin) });
  await store.close();
  const configFile = join(dir, 'collector.json');
  writeFileSync(configFile, JSON.stringify({ listen: '127.0.0.1:0', db, logLevel: 'info', ...config }, null, 2));
  const child = spawn(process.execPath, [collectorCli, 'serve', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Stopped at the end even when it never says it listens: a collector left running (a start
  // slower than the timeout below, under load) kept the test file, and so `npm test`, from ending.
  t.after(() => stopProcess(child));
  const output: string[] = [];
  let buffer = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start: ${output.join('\n')}`)), 15_000);
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        output.push(line);
        const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`collector exited with ${code}: ${output.join('\n')}`));
    });
  });
  return { url, dir, db, configFile, tokens, child, output, stop: () => stopProcess(child) };
}

/**
 * A real `dualstack-agent run` replaying a captured fixture as host `hostId`, every second,
 * delivering to the collector. Stopped (SIGTERM by PID) by stop() or at the end of the test.
 */
export function startAgent(t: TestContext, collector: CollectorProcess, hostId: string, fixture: string): { child: ChildProcess; stop(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'dualstack-agent-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${collector.tokens.agent}\n`, { mode: 0o600 });
  const child = spawn(
    process.execPath,
    [
      agentCli,
      'run',
      '--collector',
      collector.url,
      '--token-file',
      tokenFile,
      '--spool',
      join(dir, 'spool'),
      '--interval',
      '1s',
      '--jitter',
      '0s',
      '--proc-root',
      join(fixturesDir, fixture, 'proc'),
      '--host-id',
      hostId,
      '--hostname',
      `${hostId}.example`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr!.resume();
  const agent = { child, stop: () => stopProcess(child) };
  t.after(() => agent.stop());
  return agent;
}
