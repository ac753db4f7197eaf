// The daemon-config findings on a real Redis 7.0 in a namespace: the agent reads the redis.conf
// redis-server runs with (--etc-root), the finding names the file and line, the check the fix
// prints (redis-server loading the file with no port and no socket) judges the file, connects
// and redis-cli from the peer show what the finding predicts, and the printed fix, applied as
// printed, changes it.
//
// Run: node scripts/run-tests.mjs test/netns/config-redis   (root and redis-server; skipped otherwise)
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { redisConfigKnowledge } from '../../packages/core/src/index.js';
import { probeConnect, rootSkipReason, stopChild, waitFor, type Netns } from '../helpers/netns.js';
import { HOST4, HOST6, twoHosts } from '../helpers/scenarios.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { applyConfigFixes as applyConfigFix, only, scanEtc as scan } from '../helpers/daemon-config.js';

const skip = rootSkipReason() || skipUnlessCommands({ 'redis-server': 'redis-server', 'redis-cli': 'redis-tools' });

interface Redis {
  etc: string;
  config: string;
  log(): string;
  up: boolean;
  restart(): Promise<void>;
}

/** An etc tree with redis/redis.conf, and redis-server running on it in `ns` (pid file, log and data in the temp dir). */
async function startRedis(t: TestContext, ns: Netns, text: string): Promise<Redis> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-redis-'));
  chmodSync(dir, 0o755);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const etc = join(dir, 'etc');
  mkdirSync(join(etc, 'redis'), { recursive: true });
  const config = join(etc, 'redis', 'redis.conf');
  writeFileSync(config, text);
  let child: ChildProcess | null = null;
  let log = '';
  const server: Redis = { etc, config, log: () => log, up: false, restart: async () => {} };
  const start = async () => {
    log = '';
    // Command-line options come after the file's: Debian's paths and daemonize give way.
    child = ns.spawn('redis-server', [config, '--daemonize', 'no', '--supervised', 'no', '--pidfile', join(dir, 'redis.pid'), '--logfile', '', '--dir', dir, '--save', '']);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    const c = child;
    await waitFor(() => /Ready to accept connections/.test(log) || c.exitCode !== null || null, { timeoutMs: 15_000, message: `redis-server did not start: ${log}` });
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

/** The checker the fix prints, run as printed on the test's file (its path in place of /etc/redis/redis.conf). */
async function redisCheck(ns: Netns, config: string): Promise<{ ok: boolean; output: string }> {
  const command = redisConfigKnowledge.checker.replace('/etc/redis/redis.conf', config);
  const r = await ns.exec('sh', ['-c', command], { timeoutMs: 15_000 });
  return { ok: /Configured to not listen anywhere, exiting\./.test(r.stdout), output: r.stdout };
}

async function ping(ns: Netns, address: string): Promise<string> {
  const r = await ns.exec('redis-cli', ['-h', address, '-p', '6379', 'PING'], { timeoutMs: 10_000 });
  return `${r.stdout}${r.stderr}`.trim();
}

const listening = async (ns: Netns) => (await ns.exec('ss', ['-Hlnte', 'sport = 6379'], { timeoutMs: 10_000 })).stdout;

test('bind 0.0.0.0: config-ipv6-off names the line and the IPv4-only service; the printed fix (-::*) loads and Redis answers IPv6 clients', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cr1');
  t.after(destroy);
  const redis = await startRedis(t, host, 'protected-mode no\nbind 0.0.0.0\nport 6379\n');
  assert.equal(redis.up, true, redis.log());
  assert.equal((await redisCheck(host, redis.config)).ok, true);
  assert.equal(await ping(peer, HOST4), 'PONG');
  assert.equal((await probeConnect(peer, 'tcp', HOST6, 6379)).error, 'ECONNREFUSED');

  const report = await scan(host, redis.etc);
  const off = only(report, 'config-ipv6-off');
  assert.equal(off.subject, '/etc/redis/redis.conf:2');
  assert.match(off.message, /^tcp\/6379 is IPv4-only because \/etc\/redis\/redis\.conf:2 says bind 0\.0\.0\.0: 0\.0\.0\.0 is every IPv4 address and nothing else/);
  assert.ok(report.findings.some((f) => f.rule === 'service-ipv4-only' && f.subject === 'tcp/6379'));

  applyConfigFix(off, redis.etc);
  assert.match(readFileSync(redis.config, 'utf8'), /^bind 0\.0\.0\.0 -::\*$/m);
  const check = await redisCheck(host, redis.config);
  assert.equal(check.ok, true, check.output);
  await redis.restart();
  assert.match(await listening(host), /0\.0\.0\.0:6379[\s\S]*\[::\]:6379 .* v6only:1/, 'two sockets, the IPv6 one V6ONLY (set by Redis)');
  assert.equal(await ping(peer, HOST6), 'PONG');
  assert.deepEqual((await scan(host, redis.etc)).findings.filter((f) => f.rule === 'config-ipv6-off' || f.rule === 'service-ipv4-only'), []);
});

test('bind 127.0.0.1 -[::1]: config-address-syntax (critical); the file loads but Redis cannot listen, even with -; the printed fix listens on ::1', { skip }, async (t) => {
  const { host, destroy } = await twoHosts('cr2');
  t.after(destroy);
  const redis = await startRedis(t, host, 'bind 127.0.0.1 -[::1]\n');
  assert.equal((await redisCheck(host, redis.config)).ok, true, 'a string until Redis listens');
  assert.equal(redis.up, false);
  assert.match(redis.log(), /Could not create server TCP listening socket \[::1\]:6379: Name or service not known/);

  const report = await scan(host, redis.etc);
  const syntax = only(report, 'config-address-syntax');
  assert.equal(syntax.severity, 'critical');
  assert.deepEqual(syntax.fix.commands.slice(0, 2), ['# /etc/redis/redis.conf, line 1:', '#   bind 127.0.0.1 -::1']);
  applyConfigFix(syntax, redis.etc);
  assert.equal((await redisCheck(host, redis.config)).ok, true);
  await redis.restart();
  assert.equal(redis.up, true, redis.log());
  assert.match(await listening(host), /127\.0\.0\.1:6379[\s\S]*\[::1\]:6379/);
  assert.deepEqual((await scan(host, redis.etc)).findings.filter((f) => f.rule === 'config-address-syntax'), []);
});

test("Debian 12's redis.conf gives no finding from the config rules: loopback on both families, one socket each", { skip }, async (t) => {
  const { host, destroy } = await twoHosts('cr3');
  t.after(destroy);
  const debian = readFileSync(fileURLToPath(new URL('../fixtures/config/debian12/redis/redis.conf', import.meta.url)), 'utf8');
  const redis = await startRedis(t, host, debian);
  assert.equal(redis.up, true, redis.log());
  assert.equal((await redisCheck(host, redis.config)).ok, true);
  assert.match(await listening(host), /127\.0\.0\.1:6379[\s\S]*\[::1\]:6379 .* v6only:1/);
  const report = await scan(host, redis.etc);
  assert.deepEqual(report.findings.filter((f) => f.rule.startsWith('config-') || f.rule.startsWith('acl-')), []);
  assert.deepEqual(report.configs?.find((c) => c.daemon === 'redis')?.directives.map((d) => `${d.line} ${d.key} ${d.value}`), ['87 bind 127.0.0.1 -::1', '138 port 6379']);
});
