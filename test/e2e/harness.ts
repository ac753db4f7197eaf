// Real processes for the end-to-end tests: the built `dualstack-collector` and
// `dualstack-agent` binaries (packages/*/dist/cli.js; `npx turbo run build` first), a temp
// directory per test, free ports on 127.0.0.1, and cleanup that kills every child by its pid
// (never by name) even when the test failed. Nothing here runs the collector in-process.
import type { TestContext } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import Database from 'better-sqlite3';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const AGENT_CLI = join(REPO, 'packages/agent/dist/cli.js');
export const COLLECTOR_CLI = join(REPO, 'packages/collector/dist/cli.js');
export const FIXTURES = ['dual-stack-services', 'bindv6only', 'no-ipv6-default', 'ipv6-off'] as const;
export type Fixture = (typeof FIXTURES)[number];
export const procRootOf = (fixture: Fixture) => join(REPO, 'test/fixtures', fixture, 'proc');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Finished extends Exit {
  stdout: string;
  stderr: string;
  ms: number;
}

/** The environment without the operator's DUALSTACK_* defaults (collector URL, db, listen...). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('DUALSTACK_')) delete env[key];
  return env;
}

/** One child process, its output kept in memory. */
export class Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly startedAt = Date.now();
  stdout = '';
  stderr = '';
  exit: Exit | null = null;
  readonly exited: Promise<Exit>;

  constructor(
    readonly name: string,
    script: string,
    readonly args: string[],
  ) {
    this.child = spawn(process.execPath, [script, ...args], { cwd: REPO, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    if (this.child.pid === undefined) throw new Error(`${name}: could not start ${script}`);
    this.pid = this.child.pid;
    this.child.stdout!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise<Exit>((resolve) =>
      this.child.on('close', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      }),
    );
  }

  get running(): boolean {
    return this.exit === null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends a signal to this pid (only while it runs). */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  /** Waits for the exit; past the limit the child is SIGKILLed and this throws. */
  async waitExit(limitMs: number, what = 'exit'): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), limitMs)));
    const result = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.signal('SIGKILL');
      await this.exited;
      throw new Error(`${this.name} (pid ${this.pid}) did not ${what} within ${limitMs} ms; SIGKILLed.\n${this.describe()}`);
    }
    return result;
  }

  /** The tail of its output, for assertion messages. */
  describe(lines = 25): string {
    const tail = (text: string) => text.trimEnd().split('\n').slice(-lines).join('\n');
    return `--- ${this.name} (pid ${this.pid}) ${this.args.join(' ')}\n--- stderr:\n${tail(this.stderr)}\n--- stdout:\n${tail(this.stdout)}`;
  }
}

/** A temp directory and every process of one test; t.after kills them all by pid, then removes the directory. */
export class Harness {
  readonly procs: Proc[] = [];
  private constructor(readonly dir: string) {}

  static create(t: TestContext, prefix: string): Harness {
    const h = new Harness(mkdtempSync(join(tmpdir(), `dualstack-e2e-${prefix}-`)));
    t.after(() => h.cleanup());
    return h;
  }

  spawn(name: string, script: string, args: string[]): Proc {
    const proc = new Proc(name, script, args);
    this.procs.push(proc);
    return proc;
  }

  /** Runs a CLI to its end, bounded: a hung child is killed and this throws. */
  async run(name: string, script: string, args: string[], limitMs = 30_000): Promise<Finished> {
    const proc = this.spawn(name, script, args);
    const exit = await proc.waitExit(limitMs);
    return { ...exit, stdout: proc.stdout, stderr: proc.stderr, ms: Date.now() - proc.startedAt };
  }

  async cleanup(): Promise<void> {
    for (const proc of this.procs) proc.signal('SIGKILL');
    await Promise.all(this.procs.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 5000))])));
    if (process.env.DUALSTACK_E2E_KEEP === '1') process.stderr.write(`kept ${this.dir}\n`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A port nobody listens on right now: bind 127.0.0.1:0, read it, close (retried on EADDRINUSE). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await new Promise<number>((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          const { port } = server.address() as AddressInfo;
          server.close(() => resolve(port));
        });
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 10) throw error;
    }
  }
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 50 ms; throws with `what` (and `context()`) past the limit. */
export async function until(condition: () => boolean | Promise<boolean>, limitMs: number, what: string, context: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs} ms waiting for ${what}\n${context()}`);
    await sleep(50);
  }
}

/** `dualstack-collector token create`: the token is stdout; written to a 0600 file. */
export async function createToken(h: Harness, db: string, name: string, role: 'agent' | 'reader' | 'admin'): Promise<{ token: string; file: string }> {
  const run = await h.run(`token create ${name}`, COLLECTOR_CLI, ['token', 'create', '--db', db, '--name', name, '--role', role]);
  if (run.code !== 0) throw new Error(`token create ${name} exited ${run.code}: ${run.stderr}`);
  const token = run.stdout.trim();
  if (!/^\S+$/.test(token)) throw new Error(`token create ${name} printed '${run.stdout}', not one token`);
  const file = join(h.dir, `${name}.token`);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { token, file };
}

/** A `dualstack-collector serve` process on one db file and one port, restartable on both. */
export class Collector {
  /** Every incarnation, oldest first. */
  readonly incarnations: Proc[] = [];

  private constructor(
    private readonly h: Harness,
    readonly db: string,
    public port: number,
    /** More arguments of `serve` (e.g. --config FILE). */
    private readonly serveArgs: string[] = [],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get proc(): Proc {
    const proc = this.incarnations.at(-1);
    if (!proc) throw new Error('the collector was never started');
    return proc;
  }

  /** Not started: the port is chosen (free right now) so agents can be pointed at it first. */
  static async planned(h: Harness, db: string, serveArgs: string[] = []): Promise<Collector> {
    return new Collector(h, db, await freePort(), serveArgs);
  }

  /** Starts on a fresh free port, trying another one when the port was taken meanwhile. */
  static async start(h: Harness, db: string, serveArgs: string[] = []): Promise<Collector> {
    const collector = await Collector.planned(h, db, serveArgs);
    for (let attempt = 0; ; attempt += 1) {
      try {
        await collector.startHere();
        return collector;
      } catch (error) {
        if (!(error instanceof PortTakenError) || attempt >= 5) throw error;
        collector.port = await freePort();
      }
    }
  }

  /** Starts (again) on this db and this port; resolves once it logged "listening" and /healthz answered ok. */
  async startHere(limitMs = 15_000): Promise<Proc> {
    const proc = this.h.spawn(`collector#${this.incarnations.length + 1}`, COLLECTOR_CLI, ['serve', '--db', this.db, '--listen', `127.0.0.1:${this.port}`, ...this.serveArgs]);
    this.incarnations.push(proc);
    const listening = `Server listening at http://127.0.0.1:${this.port}`;
    const deadline = Date.now() + limitMs;
    for (;;) {
      if (!proc.running) {
        await proc.exited;
        if (/EADDRINUSE/.test(proc.stderr + proc.stdout)) throw new PortTakenError(`port ${this.port} was taken`);
        throw new Error(`the collector exited ${JSON.stringify(proc.exit)} while starting\n${proc.describe()}`);
      }
      // The log line first: a /healthz answer alone could come from someone else on the port.
      if (proc.stdout.includes(listening) && (await this.healthy())) return proc;
      if (Date.now() > deadline) throw new Error(`the collector did not become healthy within ${limitMs} ms\n${proc.describe()}`);
      await sleep(50);
    }
  }

  async healthy(): Promise<boolean> {
    try {
      const res = await request(`${this.url}/healthz`, { headersTimeout: 1000, bodyTimeout: 1000 });
      const body = await res.body.text();
      return res.statusCode === 200 && JSON.parse(body).status === 'ok';
    } catch {
      return false;
    }
  }

  /** Graceful stop: SIGTERM by pid, then the exit (bounded). */
  async stop(limitMs = 10_000): Promise<Exit> {
    const proc = this.proc;
    proc.signal('SIGTERM');
    return proc.waitExit(limitMs, 'stop after SIGTERM');
  }

  /** All incarnations' output, for assertion messages. */
  describe(lines = 15): string {
    return this.incarnations.map((p) => p.describe(lines)).join('\n');
  }
}

class PortTakenError extends Error {}

/** GET on the reader API with a bearer token; the JSON body. */
export async function readApi<T = any>(url: string, path: string, token: string): Promise<{ status: number; body: T }> {
  const res = await request(`${url}${path}`, { headers: { authorization: `Bearer ${token}` }, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const text = await res.body.text();
  return { status: res.statusCode, body: JSON.parse(text) as T };
}

/** The database file, read-only (no migration, no write), for checks after or beside the collector. */
export function openReadonly(db: string): Database.Database {
  return new Database(db, { readonly: true, fileMustExist: true });
}

// --- the agent's output ----------------------------------------------------------------------

/**
 * The agent's event sentences, from both streams and either format: `push` prints plain lines
 * on stderr; `run` prints pino JSON lines on stdout whose `msg` is the same sentence (older
 * builds printed `<ISO time> <sentence>` on stderr). Order: stdout's, then stderr's.
 */
export function agentLines(stdout: string, stderr: string): string[] {
  const lines: string[] = [];
  for (const raw of `${stdout}\n${stderr}`.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('{')) {
      try {
        const value = JSON.parse(line) as { msg?: unknown };
        if (typeof value.msg === 'string') {
          lines.push(value.msg);
          continue;
        }
      } catch {
        // not JSON after all: kept as it is
      }
    }
    lines.push(line.replace(/^\d{4}-\d{2}-\d{2}T\S+Z /, ''));
  }
  return lines;
}

/** agentLines of a finished run or a live process. */
export const linesOf = (p: { stdout: string; stderr: string }) => agentLines(p.stdout, p.stderr);

/**
 * One delivery event sentence of `push` or `run`:
 *   delivered report ID (collected T): 202 stored; ...
 *   delivered spooled report ID (collected T): 200 already stored (duplicate, nothing written again)
 *   spooled report ID (collected T; why); N reports waiting in DIR
 */
export interface AgentEvent {
  kind: 'delivered' | 'delivered-spooled' | 'spooled';
  reportId: string;
  collectedAt: string;
  status: number | null;
  duplicate: boolean | null;
  line: string;
}

const EVENT = /^(delivered spooled report|delivered report|spooled report) ([0-9A-Za-z-]+) \(collected ([^);]+)[^)]*\)(?::\s(\d{3}) (already stored|stored))?/;

export function agentEvents(lines: string[]): AgentEvent[] {
  const events: AgentEvent[] = [];
  for (const line of lines) {
    const m = EVENT.exec(line);
    if (!m) continue;
    const kind = m[1] === 'delivered spooled report' ? 'delivered-spooled' : m[1] === 'delivered report' ? 'delivered' : 'spooled';
    events.push({ kind, reportId: m[2]!, collectedAt: m[3]!, status: m[4] ? Number(m[4]) : null, duplicate: m[5] ? m[5] === 'already stored' : null, line });
  }
  return events;
}

/** Sentences that mean a report was lost on the agent's side: dropped or rejected. */
export function lossLines(lines: string[]): string[] {
  return lines.filter((line) => /^(dropped|rejected)\b/.test(line) || /\b(dropped|rejected) spooled report\b/.test(line));
}

/** The report ids waiting in a spool directory (file names `<time>_<reportId>.json`), oldest first. */
export function spooledIds(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .filter((n) => /^\d{8}T\d{6}\.\d{3}Z_[0-9A-Za-z-]+\.json$/.test(n))
    .sort()
    .map((n) => n.slice(n.indexOf('_') + 1, -'.json'.length));
}

// --- reports for the burst ---------------------------------------------------------------------

const goldenCache = new Map<string, Record<string, any>>();

/** The golden replays (test/golden/*.json), which drop reportId, collectedAt and sources[].durationMs. */
export function goldenNames(): string[] {
  return readdirSync(join(REPO, 'test/golden'))
    .filter((n) => n.endsWith('.json'))
    .map((n) => n.slice(0, -'.json'.length))
    .sort();
}

/** A golden report as a host would send it: fresh reportId, its host id and time, durations. */
export function realisticReport(golden: string, hostId: string, collectedAt: Date): Record<string, any> & { reportId: string } {
  let base = goldenCache.get(golden);
  if (!base) {
    base = JSON.parse(readFileSync(join(REPO, 'test/golden', `${golden}.json`), 'utf8')) as Record<string, any>;
    goldenCache.set(golden, base);
  }
  return {
    ...base,
    reportId: randomUUID(),
    collectedAt: collectedAt.toISOString(),
    host: { ...base.host, hostId, hostname: `${hostId}.example` },
    sources: (base.sources as Array<Record<string, unknown>>).map((s, i) => ({ ...s, durationMs: s.durationMs ?? 0.25 + i * 0.5 })),
  };
}
