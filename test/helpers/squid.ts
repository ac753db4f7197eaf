// A real Squid in a network namespace for the daemon-config tests (config-squid,
// config-squid-syntax; the scan and fix helpers are in daemon-config.ts). Its squid.conf lives in
// a temp etc tree, the very tree the agent scans with --etc-root. Debian's squid.conf includes
// /etc/squid/conf.d/*.conf by absolute path, so squid and its checker run in a mount namespace of
// their own with the tree's squid/ mounted on /etc/squid: they read exactly the files the agent
// read. The test's own settings are in conf.d/zz-test.conf: pid file and logs in a directory the
// proxy user may write (squid drops to it), no cache, no shutdown delay, and a visible_hostname
// (without one squid looks up the name of an http_port address in DNS, which the namespace has not).
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Finding } from '../../packages/core/src/index.js';
import { squidConfigKnowledge } from '../../packages/core/src/index.js';
import { stopChild, waitFor, type Netns } from './netns.js';
import { PEER4 } from './scenarios.js';
import { skipUnlessCommands } from './requirements.js';

export const SQUID = '/usr/sbin/squid';
export const squidSkip = () => skipUnlessCommands({ squid: 'squid', curl: 'curl', unshare: 'util-linux', mount: 'mount' }, { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` });

/** sh -c script: mount $1 on /etc/squid, then exec the rest. */
const MOUNTED = 'mount --bind "$1" /etc/squid && shift && exec "$@"';

/**
 * A URL the proxy may fetch: a closed port on the peer (one of Debian's Safe_ports). Squid answers 503 (TCP_MISS/503, it
 * tried to connect) to a request it lets through, 403 (TCP_DENIED/403) to one http_access denies.
 */
export const CLOSED_URL = `http://${PEER4}:8000/`;

export interface Squid {
  etc: string;
  conf: string;
  /** Whether the last start got to accepting connections (false: squid refused the file). */
  up: boolean;
  /** squid's output and cache.log of the last start. */
  log(): string;
  access(): string;
  restart(): Promise<void>;
}

/** squid.conf with the test settings included first: `include` on line 1, `lines` from line 2. */
export const squidConf = (lines: string[]) => ['include /etc/squid/conf.d/*.conf', ...lines, ''].join('\n');

/** An etc tree with squid/squid.conf (`text`), `extra` files under squid/, conf.d/zz-test.conf, and squid -N running on it in `ns`. */
export async function startSquid(t: TestContext, ns: Netns, text: string, extra: Record<string, string> = {}): Promise<Squid> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-squid-'));
  chmodSync(dir, 0o755);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const etc = join(dir, 'etc');
  const run = join(dir, 'run');
  mkdirSync(join(etc, 'squid', 'conf.d'), { recursive: true });
  mkdirSync(run);
  const proxy = Number(execFileSync('id', ['-u', 'proxy']).toString());
  chownSync(run, proxy, proxy);
  const conf = join(etc, 'squid', 'squid.conf');
  writeFileSync(conf, text);
  for (const [rel, body] of Object.entries(extra)) writeFileSync(join(etc, 'squid', rel), body);
  const settings = [`pid_filename ${run}/squid.pid`, `access_log stdio:${run}/access.log`, `cache_log ${run}/cache.log`, 'cache deny all', 'shutdown_lifetime 0 seconds', 'visible_hostname squid.test', ''];
  writeFileSync(join(etc, 'squid', 'conf.d', 'zz-test.conf'), settings.join('\n'));
  const read = (file: string) => {
    try {
      return readFileSync(join(run, file), 'utf8');
    } catch {
      return '';
    }
  };
  let child: ChildProcess | null = null;
  let log = '';
  const server: Squid = { etc, conf, up: false, log: () => log, access: () => read('access.log'), restart: async () => {} };
  const start = async () => {
    log = '';
    rmSync(join(run, 'cache.log'), { force: true });
    child = ns.spawn('unshare', ['-m', 'sh', '-c', MOUNTED, 'sh', join(etc, 'squid'), SQUID, '-N', '-f', '/etc/squid/squid.conf']);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    const c = child;
    await waitFor(() => /Accepting HTTP Socket connections/.test(read('cache.log')) || c.exitCode !== null || null, { timeoutMs: 15_000, message: `squid did not start: ${log}` });
    log += read('cache.log');
    server.up = c.exitCode === null;
  };
  const stop = () => stopChild(child);
  t.after(stop);
  await start();
  server.restart = async () => {
    await stop();
    await start();
  };
  return server;
}

/** The checker a finding prints, run as printed (its comment dropped) on the mounted tree. */
export async function printedSquidCheck(ns: Netns, f: Finding, etc: string): Promise<{ ok: boolean; output: string }> {
  const line = f.fix.commands.find((c) => c.startsWith('squid ')) ?? '';
  assert.ok(line.startsWith(squidConfigKnowledge.checker), `no squid checker in ${f.fix.commands.join(' | ')}`);
  const args = line.split('#')[0]!.trim().split(/\s+/).slice(1);
  const r = await ns.exec('unshare', ['-m', 'sh', '-c', MOUNTED, 'sh', join(etc, 'squid'), SQUID, ...args], { timeoutMs: 20_000 });
  return { ok: r.code === 0, output: r.stderr + r.stdout };
}

/** curl -x from `ns` through the proxy at `address`:3128: the HTTP status Squid answers (0: no answer). */
export async function viaProxy(ns: Netns, address: string, url = CLOSED_URL): Promise<number> {
  const host = address.includes(':') ? `[${address}]` : address;
  const r = await ns.exec('curl', ['-s', '-m', '5', '-o', '/dev/null', '-w', '%{http_code}', '-x', `http://${host}:3128`, url], { timeoutMs: 10_000 });
  return Number(r.stdout.trim() || 0);
}

/** ss -e of the listening TCP sockets on port 3128 in `ns`. */
export const listening3128 = async (ns: Netns) => (await ns.exec('ss', ['-Hlnte', 'sport = 3128'], { timeoutMs: 10_000 })).stdout;
