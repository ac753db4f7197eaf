// Shared helpers for kernel-checked tests: network namespaces, veth pairs, addresses,
// real listening sockets, real connects and real Router Advertisements.
//
// Everything stays inside namespaces created here (names `ds-<prefix>-<pid>-<n>`); nothing
// touches the root namespace's interfaces. Use documentation prefixes only
// (2001:db8::/32, 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24).
//
// Typical use:
//   test('x', { skip: rootSkipReason() }, async (t) => {
//     const a = await Netns.create('x'); t.after(() => a.destroy());
//     ...
//   });
// Namespaces still alive when the process exits (or gets SIGINT/SIGTERM/SIGHUP) are
// destroyed synchronously, processes first (killed by PID).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { findOnPath, skipUnlessAvailable, type Provider } from './requirements.js';

const LISTENER = fileURLToPath(new URL('./listener.mjs', import.meta.url));
const RA_SENDER = fileURLToPath(new URL('./ra-sender.py', import.meta.url));

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code; 128 + signal number when killed by a signal. */
  code: number;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

export interface ExecOptions {
  input?: string;
  /** Default 30000. On timeout the process is SIGKILLed (by PID) and timedOut is set. */
  timeoutMs?: number;
}

// ------------------------------------------------------------------ small utilities

let missingCache: { missing: string; provider: Provider } | false | undefined;

/** Why kernel-checked tests cannot run here, and what provides it; false when they can. */
function netnsMissing(): { missing: string; provider: Provider } | false {
  if (process.platform !== 'linux') return { missing: 'needs Linux network namespaces', provider: { how: 'run the tests on Linux' } };
  if (process.getuid?.() !== 0) return { missing: 'needs root (network namespaces)', provider: { how: 'run the tests as root (.ci/run runs as root)' } };
  // ss: the agent reads V6ONLY through it; python3: ra-sender.py and V6ONLY-less listeners.
  for (const [command, pkg] of [['ip', 'iproute2'], ['ss', 'iproute2'], ['python3', 'python3']] as const) {
    if (findOnPath(command) === null) return { missing: `needs ${command}, not found on PATH`, provider: pkg };
  }
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'pipe', timeout: 5000 });
  } catch (e) {
    const why = (e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message;
    return { missing: `\`ip netns list\` fails (${why})`, provider: { how: 'needs a kernel with network namespaces and a writable /run/netns' } };
  }
  return false;
}

/**
 * For `{ skip: rootSkipReason() }` of kernel-checked tests: false when running as root on Linux
 * with ip, ss and python3 and a working `ip netns`; otherwise the reason locally, and under CI
 * (CI=true) a thrown MissingRequirementError (see requirements.ts), so CI never skips them.
 */
export function rootSkipReason(): string | false {
  missingCache ??= netnsMissing();
  return missingCache ? skipUnlessAvailable(missingCache.missing, missingCache.provider) : false;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

function run(cmd: string, args: string[], opts: ExecOptions = {}, track?: (c: ChildProcess) => void): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    track?.(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) killPid(child.pid, 'SIGKILL');
    }, opts.timeoutMs ?? 30_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code: code ?? 128 + (SIGNALS[signal ?? ''] ?? 0), signal, timedOut });
    });
    child.stdin.on('error', () => {}); // EPIPE when the command does not read stdin
    child.stdin.end(opts.input ?? '');
  });
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

/** True while pid exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

async function waitPidsGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const end = Date.now() + timeoutMs;
  let left = pids.filter(pidAlive);
  while (left.length && Date.now() < end) {
    await delay(20);
    left = left.filter(pidAlive);
  }
  return left;
}

/** Polls fn until it returns a truthy value; throws `message` (plus the last error) on timeout. */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<NonNullable<T>> {
  const end = Date.now() + (opts.timeoutMs ?? 5000);
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() >= end) {
      const why = lastErr instanceof Error ? `: ${lastErr.message}` : '';
      throw new Error(`${opts.message ?? 'condition not met'} within ${opts.timeoutMs ?? 5000} ms${why}`);
    }
    await delay(opts.intervalMs ?? 25);
  }
}

// ------------------------------------------------------------------ process-exit cleanup

const live = new Set<Netns>();
let hooksInstalled = false;
let counter = 0;

function cleanupSync(): void {
  for (const ns of [...live]) {
    try {
      ns.destroySync();
    } catch {
      /* best effort at exit */
    }
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Only when nobody else handles the signal, so default behaviour (dying) is kept.
    if (process.listenerCount(sig) > 0) continue;
    // Stays installed while cleaning up: a second signal (node --test's runner sends
    // SIGTERM again when it aborts) must not kill the process half way through.
    let cleaning = false;
    const onSignal = (): void => {
      if (cleaning) return;
      cleaning = true;
      cleanupSync();
      process.off(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/** Names of the namespaces this process created and has not destroyed yet. */
export function liveNamespaces(): string[] {
  return [...live].map((n) => n.name);
}

/** `ip netns list`, names only. */
export async function listNamespaces(): Promise<string[]> {
  const r = await run('ip', ['netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

// ------------------------------------------------------------------ Netns

export class Netns {
  readonly name: string;
  readonly #children = new Set<ChildProcess>();
  #destroying: Promise<void> | undefined;

  private constructor(name: string) {
    this.name = name;
  }

  /** Creates `ds-<prefix>-<pid>-<n>` and brings its lo up. */
  static async create(prefix: string): Promise<Netns> {
    if (!/^[A-Za-z0-9_.-]{1,40}$/.test(prefix)) throw new Error(`bad namespace prefix: ${JSON.stringify(prefix)}`);
    installHooks();
    for (let attempt = 0; ; attempt++) {
      const name = `ds-${prefix}-${process.pid}-${++counter}`;
      const r = await run('ip', ['netns', 'add', name]);
      if (r.code !== 0) {
        if (/exists/i.test(r.stderr) && attempt < 100) continue;
        throw new Error(`ip netns add ${name} failed (${r.code}): ${r.stderr.trim()}`);
      }
      const ns = new Netns(name);
      live.add(ns);
      try {
        await ns.ip('link', 'set', 'lo', 'up');
      } catch (e) {
        await ns.destroy();
        throw e;
      }
      return ns;
    }
  }

  /** Runs cmd inside the namespace (`ip netns exec NAME cmd ...`). Never throws on exit codes. */
  exec(cmd: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.#assertAlive();
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], opts, (c) => this.#track(c));
  }

  /** `ip -n NAME ...args`; returns stdout, throws with stderr on failure. */
  async ip(...args: string[]): Promise<string> {
    this.#assertAlive();
    const r = await run('ip', ['-n', this.name, ...args], { timeoutMs: 15_000 });
    if (r.code !== 0) throw new Error(`ip -n ${this.name} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  /**
   * Reads (or writes, then reads back) a sysctl inside the namespace. `key` is either dotted
   * (`net.ipv6.conf.veth0.accept_ra`) or a path under /proc/sys (`net/ipv6/conf/veth0.100/accept_ra`,
   * needed when an interface name contains a dot).
   */
  async sysctl(key: string, value?: string): Promise<string> {
    const rel = key.includes('/') ? key.replace(/^\/?(proc\/sys\/)?/, '') : key.replace(/\./g, '/');
    if (rel.split('/').includes('..')) throw new Error(`bad sysctl key: ${key}`);
    const path = `/proc/sys/${rel}`;
    if (value !== undefined) {
      const w = await this.exec('sh', ['-c', 'printf "%s\\n" "$1" > "$2"', 'sh', value, path], { timeoutMs: 10_000 });
      if (w.code !== 0) throw new Error(`sysctl ${key}=${value} in ${this.name} failed: ${w.stderr.trim()}`);
    }
    const r = await this.exec('cat', [path], { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`sysctl ${key} in ${this.name} failed: ${r.stderr.trim()}`);
    return r.stdout.trim();
  }

  /**
   * Starts a long-running process inside the namespace. `ip netns exec` execs the command,
   * so child.pid is the command's own pid. destroy() kills it (by PID) if still running.
   * stdout and stderr are pipes: read them (or .resume()) if the process writes a lot.
   */
  spawn(cmd: string, args: string[]): ChildProcess {
    this.#assertAlive();
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#track(child);
    return child;
  }

  /** Pids of every process whose network namespace is this one (`ip netns pids`). */
  async pids(): Promise<number[]> {
    const r = await run('ip', ['netns', 'pids', this.name], { timeoutMs: 10_000 });
    return r.stdout.split(/\s+/).filter(Boolean).map(Number);
  }

  /** Kills every process it spawned and every process left inside (by PID), then `ip netns del`. */
  destroy(): Promise<void> {
    this.#destroying ??= this.#destroy();
    return this.#destroying;
  }

  async #destroy(): Promise<void> {
    // 1. Our own children: SIGTERM, then SIGKILL after a grace period.
    const kids = [...this.#children].filter((c) => c.pid !== undefined && c.exitCode === null && c.signalCode === null);
    for (const c of kids) killPid(c.pid!, 'SIGTERM');
    const stubborn = await waitPidsGone(kids.map((c) => c.pid!), 2000);
    for (const pid of stubborn) killPid(pid, 'SIGKILL');
    await waitPidsGone(stubborn, 2000);
    // 2. Anything else still inside the namespace (grandchildren, forked workers).
    for (let round = 0; round < 3; round++) {
      const pids = (await this.pids()).filter((p) => p !== process.pid);
      if (pids.length === 0) break;
      for (const pid of pids) killPid(pid, 'SIGKILL');
      await waitPidsGone(pids, 2000);
    }
    // 3. The namespace itself.
    const r = await run('ip', ['netns', 'del', this.name], { timeoutMs: 15_000 });
    if (r.code !== 0 && !/No such file/i.test(r.stderr)) {
      throw new Error(`ip netns del ${this.name} failed (${r.code}): ${r.stderr.trim()}`);
    }
    live.delete(this);
  }

  /** Synchronous variant used at process exit. */
  destroySync(): void {
    for (const c of this.#children) if (c.pid !== undefined) killPid(c.pid, 'SIGKILL');
    try {
      const out = execFileSync('ip', ['netns', 'pids', this.name], { encoding: 'utf8', timeout: 5000 });
      for (const p of out.split(/\s+/).filter(Boolean).map(Number)) if (p !== process.pid) killPid(p, 'SIGKILL');
    } catch {
      /* namespace already gone */
    }
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'ignore', timeout: 5000 });
    } catch {
      /* already gone */
    }
    live.delete(this);
  }

  #track(child: ChildProcess): void {
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
  }

  #assertAlive(): void {
    if (this.#destroying) throw new Error(`namespace ${this.name} is destroyed`);
  }
}

// ------------------------------------------------------------------ links and addresses

/** Creates a veth pair aIf (in a) <-> bIf (in b) without touching the root namespace; sets both up. */
export async function linkVeth(a: Netns, aIf: string, b: Netns, bIf: string): Promise<void> {
  await a.ip('link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', b.name);
  await a.ip('link', 'set', aIf, 'up');
  await b.ip('link', 'set', bIf, 'up');
}

/**
 * `ip addr add CIDR dev IFACE`. For IPv6 `nodad` defaults to true so the address is usable
 * at once; pass `{ nodad: false }` to go through DAD (then see waitForDad()).
 */
export async function addAddress(ns: Netns, iface: string, cidr: string, opts: { nodad?: boolean } = {}): Promise<void> {
  const v6 = isIPv6(cidr.split('/')[0] ?? '');
  const args = ['addr', 'add', cidr, 'dev', iface];
  if (v6 && (opts.nodad ?? true)) args.push('nodad');
  await ns.ip(...args);
}

export interface AddrInfo {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  scope: string;
  tentative?: boolean;
  dadfailed?: boolean;
  deprecated?: boolean;
  dynamic?: boolean;
  [k: string]: unknown;
}

/** Addresses of one interface (`ip -j addr show dev IFACE`). */
export async function addresses(ns: Netns, iface: string): Promise<AddrInfo[]> {
  const links = JSON.parse((await ns.ip('-j', 'addr', 'show', 'dev', iface)) || '[]') as Array<{ addr_info?: AddrInfo[] }>;
  return links.flatMap((l) => l.addr_info ?? []);
}

/**
 * Waits until no IPv6 address of iface is tentative (DAD finished). Throws if one is
 * dadfailed or on timeout. With `{ linkLocal: true }` also waits for a fe80:: address to
 * exist, and returns it; otherwise returns the IPv6 addresses.
 */
export async function waitForDad(
  ns: Netns,
  iface: string,
  opts: { timeoutMs?: number; linkLocal?: boolean } = {},
): Promise<AddrInfo[]> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v6 = (await addresses(ns, iface)).filter((a) => a.family === 'inet6');
    const failed = v6.find((a) => a.dadfailed);
    if (failed) throw new Error(`${ns.name} ${iface}: DAD failed for ${failed.local}`);
    const ll = v6.filter((a) => a.scope === 'link');
    if (!v6.some((a) => a.tentative) && (!opts.linkLocal || ll.length > 0)) return opts.linkLocal ? ll : v6;
    if (Date.now() >= end) {
      throw new Error(`${ns.name} ${iface}: DAD did not finish within ${timeoutMs} ms: ${JSON.stringify(v6.map((a) => [a.local, a.tentative ? 'tentative' : 'ok']))}`);
    }
    await delay(20);
  }
}

// ------------------------------------------------------------------ listeners

export interface ListenerSpec {
  proto: 'tcp' | 'udp';
  address: string;
  port: number;
  ipv6Only?: boolean;
  /** tcp only: fork this many worker processes that inherit the same listening socket. */
  workers?: number;
  /**
   * Process title of the listener (and its workers): sets /proc/PID/comm (first 15 chars),
   * e.g. 'sshd'. All specs of one startListeners() call share one process, so one title.
   */
  title?: string;
}

export interface ListenerEvent {
  kind: 'ACCEPT' | 'RECV';
  proto: 'tcp' | 'udp';
  pid: number;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

export interface Listeners {
  /** The listener process (holds every socket). */
  pid: number;
  /** Bound ports, in spec order (useful with port 0). */
  ports: number[];
  /** Worker pids per spec, in spec order ([] for specs without workers). */
  workers: number[][];
  /** Accepted TCP connections and received UDP datagrams, as reported by the listener. */
  events: ListenerEvent[];
  /** Everything the listener wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM (SIGKILL after 3 s) by PID, resolves once the process has exited. */
  stop(): Promise<void>;
}

/**
 * Starts listener.mjs inside ns with all specs in one process and waits for its READY line.
 * Rejects (after killing it) on timeout or early exit, with its stderr in the message.
 */
export async function startListeners(ns: Netns, specs: ListenerSpec[], opts: { timeoutMs?: number } = {}): Promise<Listeners> {
  const child = ns.spawn(process.execPath, [LISTENER, JSON.stringify(specs)]);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let stderr = '';
  let buf = '';
  const events: ListenerEvent[] = [];
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

  const ready = new Promise<{ ports: number[]; workers: number[][] }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no READY within ${timeoutMs} ms`)), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`listener exited before READY (${code ?? signal})`));
    });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^READY (\d+) (.*)$/.exec(line);
        if (m) {
          clearTimeout(timer);
          const info = JSON.parse(m[2]!) as { ports: number[]; workers: number[][] };
          if (Number(m[1]) !== child.pid) {
            reject(new Error(`READY pid ${m[1]} is not the spawned pid ${child.pid}`));
          }
          resolve(info);
          continue;
        }
        const e = /^(ACCEPT|RECV) (tcp|udp) (\d+) (\S+) (\d+) (\S+) (\d+)$/.exec(line);
        if (e) {
          events.push({
            kind: e[1] as ListenerEvent['kind'],
            proto: e[2] as ListenerEvent['proto'],
            pid: Number(e[3]),
            localAddress: e[4]!,
            localPort: Number(e[5]),
            remoteAddress: e[6]!,
            remotePort: Number(e[7]),
          });
        }
      }
    });
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      killPid(child.pid, 'SIGTERM');
      const t = setTimeout(() => killPid(child.pid!, 'SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
  };

  let info: { ports: number[]; workers: number[][] };
  try {
    info = await ready;
  } catch (e) {
    await stop();
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`startListeners in ${ns.name} ${JSON.stringify(specs)}: ${msg}; stderr: ${stderr.trim() || '(empty)'}`);
  }
  return { pid: child.pid!, ports: info.ports, workers: info.workers, events, stderr: () => stderr, stop };
}

// ------------------------------------------------------------------ connects

export interface ConnectResult {
  ok: boolean;
  /** errno code (ECONNREFUSED, ENETUNREACH, ETIMEDOUT, ...) when not ok. */
  error?: string;
  /** Local address the connecting socket used. */
  localAddress?: string;
  ms: number;
}

const CONNECT_SCRIPT = `
const [proto, host, portS, msS] = process.argv.slice(1);
const port = Number(portS), ms = Number(msS), t0 = Date.now();
let done = false;
const finish = (ok, error, localAddress, close) => {
  if (done) return; done = true;
  process.stdout.write(JSON.stringify({ ok, error, localAddress, ms: Date.now() - t0 }) + '\\n');
  try { close(); } catch {}
  process.exit(0);
};
setTimeout(() => finish(false, 'ETIMEDOUT', undefined, () => {}), ms);
if (proto === 'tcp') {
  const s = require('node:net').connect({ host, port });
  s.on('connect', () => finish(true, undefined, s.localAddress, () => s.destroy()));
  s.on('error', (e) => finish(false, e.code || e.message, undefined, () => s.destroy()));
} else {
  const dgram = require('node:dgram');
  const s = dgram.createSocket(require('node:net').isIPv6(host) ? 'udp6' : 'udp4');
  const payload = Buffer.from('ds-probe-' + process.pid + '-' + Math.random());
  s.on('error', (e) => finish(false, e.code || e.message, undefined, () => s.close()));
  s.on('message', (m) => { if (m.equals(payload)) finish(true, undefined, s.address().address, () => s.close()); });
  s.connect(port, host, (err) => {
    if (err) return finish(false, err.code || err.message, undefined, () => s.close());
    s.send(payload, (err2) => { if (err2) finish(false, err2.code || err2.message, undefined, () => s.close()); });
  });
}
`;

/** Like tryConnect, with the reason for a failure. */
export async function probeConnect(
  ns: Netns,
  proto: 'tcp' | 'udp',
  address: string,
  port: number,
  timeoutMs = 1500,
): Promise<ConnectResult> {
  const r = await ns.exec(process.execPath, ['-e', CONNECT_SCRIPT, proto, address, String(port), String(timeoutMs)], {
    timeoutMs: timeoutMs + 10_000,
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ConnectResult;
  } catch {
    throw new Error(`connect probe in ${ns.name} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  }
}

/**
 * Connects from inside ns. TCP: true when the handshake completes; false when refused,
 * unreachable or timed out. UDP: sends one datagram, true only if the same bytes come back.
 */
export async function tryConnect(
  ns: Netns,
  proto: 'tcp' | 'udp',
  address: string,
  port: number,
  timeoutMs = 1500,
): Promise<boolean> {
  return (await probeConnect(ns, proto, address, port, timeoutMs)).ok;
}

// ------------------------------------------------------------------ router advertisements

export interface RaOptions {
  /** Prefix Information option(s), e.g. '2001:db8:2::/64'; none when omitted or []. */
  prefix?: string | string[];
  /** Seconds; 0 = "not a default router" (withdraws a learned default). Default 1800. */
  routerLifetime?: number;
  count?: number;
  /** Between RAs, milliseconds. Default 1000. */
  intervalMs?: number;
  validLifetime?: number;
  preferredLifetime?: number;
  onLink?: boolean;
  autonomous?: boolean;
  preference?: 'low' | 'medium' | 'high';
  mtu?: number;
  /** Wait for the router interface's link-local address to leave DAD first (default 5000 ms). */
  dadTimeoutMs?: number;
}

export interface RaResult {
  /** The link-local source address the RAs were sent from. */
  source: string;
  sent: number;
  /** Time spent waiting for the router's link-local address to finish DAD. */
  dadWaitMs: number;
}

/** Sends real ICMPv6 RAs (ra-sender.py) out of iface inside routerNs to ff02::1. */
export async function sendRouterAdvertisement(routerNs: Netns, iface: string, opts: RaOptions = {}): Promise<RaResult> {
  const t0 = Date.now();
  await waitForDad(routerNs, iface, { linkLocal: true, timeoutMs: opts.dadTimeoutMs ?? 5000 });
  const dadWaitMs = Date.now() - t0;
  const args = [RA_SENDER, '--iface', iface];
  const prefixes = opts.prefix === undefined ? [] : Array.isArray(opts.prefix) ? opts.prefix : [opts.prefix];
  for (const p of prefixes) args.push('--prefix', p);
  args.push('--router-lifetime', String(opts.routerLifetime ?? 1800));
  args.push('--count', String(opts.count ?? 1));
  args.push('--interval', String((opts.intervalMs ?? 1000) / 1000));
  if (opts.validLifetime !== undefined) args.push('--valid-lifetime', String(opts.validLifetime));
  if (opts.preferredLifetime !== undefined) args.push('--preferred-lifetime', String(opts.preferredLifetime));
  if (opts.onLink === false) args.push('--no-onlink');
  if (opts.autonomous === false) args.push('--no-autonomous');
  if (opts.preference) args.push('--preference', opts.preference);
  if (opts.mtu) args.push('--mtu', String(opts.mtu));
  const count = opts.count ?? 1;
  const r = await routerNs.exec('python3', args, { timeoutMs: 15_000 + count * (opts.intervalMs ?? 1000) });
  if (r.code !== 0) throw new Error(`ra-sender in ${routerNs.name} failed (${r.code}): ${r.stderr.trim()}`);
  const lines = r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { sent: number; src: string });
  const last = lines[lines.length - 1];
  if (!last) throw new Error(`ra-sender in ${routerNs.name} sent nothing: ${r.stderr.trim()}`);
  return { source: last.src, sent: last.sent, dadWaitMs };
}

/** Per-interface ICMPv6/IPv6 counters from /proc/net/dev_snmp6/IFACE inside ns. */
export async function snmp6(ns: Netns, iface: string): Promise<Record<string, number>> {
  const r = await ns.exec('cat', [`/proc/net/dev_snmp6/${iface}`], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`dev_snmp6/${iface} in ${ns.name}: ${r.stderr.trim()}`);
  const out: Record<string, number> = {};
  for (const line of r.stdout.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

/** SIGTERM to a child still running, resolved once it has exited (a daemon's stop in a test). */
export async function stopChild(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    /* it stopped itself; its exit event is on its way */
  }
  await exited;
}
