// The real collector and agents inside the endpoint topology (endpoint-topology.ts): the built
// `dualstack-collector serve` runs in the router namespace (every vantage point and backend
// reaches it over its own link), agents run in the prober and backend namespaces with the test
// CAs trusted through NODE_EXTRA_CA_CERTS, as an operator would give them a private CA. Every
// process is a child of `ip netns exec` and is ended by its pid (Netns.destroy() ends anything
// left in the namespace, also by pid). The API is read from inside the router namespace (the
// test process lives in the root namespace, which nothing here touches).
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EndpointSpec } from '../../packages/core/src/index.js';
import { pidAlive, waitFor, type Netns } from './netns.js';

export const AGENT_CLI = fileURLToPath(new URL('../../packages/agent/dist/cli.js', import.meta.url));
export const COLLECTOR_CLI = fileURLToPath(new URL('../../packages/collector/dist/cli.js', import.meta.url));
/** Any port is free in a namespace made for the test. */
export const COLLECTOR_PORT = 8080;

/** `env -u` for the operator's DUALSTACK_* defaults, which must not leak into the processes under test. */
function cleanEnvArgs(extra: Record<string, string> = {}): string[] {
  const unset = Object.keys(process.env).filter((k) => k.startsWith('DUALSTACK_')).flatMap((k) => ['-u', k]);
  return [...unset, ...Object.entries(extra).map(([k, v]) => `${k}=${v}`)];
}

export interface NsProc {
  name: string;
  pid: number;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  output(): string;
  stop(): Promise<void>;
}

/** `node SCRIPT ARGS` in ns through env (so extra variables are set), its output kept. */
export function spawnNode(ns: Netns, name: string, script: string, args: string[], env: Record<string, string> = {}): NsProc {
  const child: ChildProcess = ns.spawn('env', [...cleanEnvArgs(env), process.execPath, script, ...args]);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = child.pid!;
  return {
    name,
    pid,
    exited,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(pid, 'SIGTERM');
      const hard = setTimeout(() => pidAlive(pid) && process.kill(pid, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(hard);
    },
  };
}

/** `dualstack-collector token create` on the db (run here: it only writes the SQLite file); the token in a 0600 file. */
export function createToken(dir: string, db: string, name: string, role: 'agent' | 'reader' | 'admin'): { token: string; file: string } {
  const token = execFileSync(process.execPath, [COLLECTOR_CLI, 'token', 'create', '--db', db, '--name', name, '--role', role], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  if (!/^\S+$/.test(token)) throw new Error(`token create ${name} printed '${token}', not one token`);
  const file = join(dir, `${name}.token`);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, file };
}

export interface NamespacedCollector {
  proc: NsProc;
  /** http://[router address on that link]:PORT for a process in the namespace behind `routerAddress`. */
  urlVia(routerAddress: string): string;
  /** GET path with the reader token, from inside the router namespace: status and JSON body. */
  get<T = unknown>(path: string): Promise<{ status: number; body: T }>;
  /** The agent token file of one of `agents`. */
  tokenFile(agent: string): string;
  stop(): Promise<void>;
}

/**
 * Writes a configuration declaring `endpoints` (probe.timeoutMs as given), creates a reader
 * token and one agent token per name of `agents`,
 * and runs the collector in `router` on [::]:PORT until /healthz answers there.
 */
export async function startCollectorIn(router: Netns, dir: string, opts: { endpoints: EndpointSpec[]; probeTimeoutMs: number; agents: string[] }): Promise<NamespacedCollector> {
  mkdirSync(dir, { recursive: true });
  const db = join(dir, 'collector.db');
  const config = join(dir, 'collector.json');
  writeFileSync(config, JSON.stringify({ endpoints: opts.endpoints, probe: { timeoutMs: opts.probeTimeoutMs } }, null, 2));
  const agents = new Map(opts.agents.map((name) => [name, createToken(dir, db, name, 'agent').file]));
  const reader = createToken(dir, db, 'reader', 'reader');
  const proc = spawnNode(router, 'collector', COLLECTOR_CLI, ['serve', '--config', config, '--db', db, '--listen', `[::]:${COLLECTOR_PORT}`, '--log-level', 'warn']);
  const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const r = await router.exec('curl', ['-sS', '--max-time', '10', '-H', `authorization: Bearer ${reader.token}`, '-w', '\n%{http_code}', `http://[::1]:${COLLECTOR_PORT}${path}`], { timeoutMs: 15_000 });
    if (r.code !== 0) throw new Error(`GET ${path} in ${router.name}: curl exit ${r.code}: ${r.stderr}`);
    const nl = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(nl + 1)), body: JSON.parse(r.stdout.slice(0, nl) || 'null') as T };
  };
  await waitFor(async () => (await get<{ status?: string }>('/healthz')).body?.status === 'ok', {
    timeoutMs: 20_000,
    intervalMs: 100,
    message: `the collector in ${router.name} did not answer /healthz: ${proc.output()}`,
  });
  return {
    proc,
    urlVia: (address) => `http://[${address}]:${COLLECTOR_PORT}`,
    get,
    tokenFile: (name) => {
      const file = agents.get(name);
      if (!file) throw new Error(`no agent token '${name}' (known: ${[...agents.keys()].join(', ')})`);
      return file;
    },
    stop: () => proc.stop(),
  };
}
