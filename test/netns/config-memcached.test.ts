// The daemon-config findings on a real memcached 1.6 in a namespace, started as Debian starts
// it: systemd-memcached-wrapper turning the memcached.conf the agent reads (--etc-root) into the
// command line. The finding names the file and line, connects from the peer and memcached's own
// exit show what the finding predicts, and the printed fix, applied as printed, changes it
// (memcached has no check mode: the restart the printed check does is the check).
//
// Run: node scripts/run-tests.mjs test/netns/config-memcached   (root and memcached; skipped otherwise)
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { probeConnect, rootSkipReason, stopChild, waitFor, type Netns } from '../helpers/netns.js';
import { HOST4, HOST6, twoHosts } from '../helpers/scenarios.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { applyConfigFixes as applyConfigFix, only, scanEtc as scan } from '../helpers/daemon-config.js';

const WRAPPER = '/usr/share/memcached/scripts/systemd-memcached-wrapper';
const skip = rootSkipReason() || skipUnlessCommands({ memcached: 'memcached', 'systemd-memcached-wrapper': 'memcached' }, { ...process.env, PATH: `${process.env.PATH}:/usr/share/memcached/scripts` });

interface Memcached {
  etc: string;
  config: string;
  output(): string;
  up: boolean;
  restart(): Promise<void>;
}

/** An etc tree with memcached.conf, and memcached started from it by Debian's wrapper in `ns`. */
async function startMemcached(t: TestContext, ns: Netns, text: string): Promise<Memcached> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-memcached-'));
  chmodSync(dir, 0o755);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const etc = join(dir, 'etc');
  const config = join(etc, 'memcached.conf');
  mkdirSync(etc);
  writeFileSync(config, text.replaceAll('TMP', dir));
  let child: ChildProcess | null = null;
  let output = '';
  const server: Memcached = { etc, config, output: () => output, up: false, restart: async () => {} };
  const start = async () => {
    output = '';
    // The wrapper execs memcached, so child.pid is memcached's own.
    child = ns.spawn(WRAPPER, [config]);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    const c = child;
    const port = /^-p (\d+)/m.exec(readFileSync(config, 'utf8'))?.[1] ?? '11211';
    await waitFor(async () => c.exitCode !== null || /LISTEN/.test((await ns.exec('ss', ['-Hltn', `sport = ${port}`], { timeoutMs: 5000 })).stdout) || null, { timeoutMs: 10_000, message: `memcached did not start: ${output}` });
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

const listening = async (ns: Netns, port = 11211) => (await ns.exec('ss', ['-Hlnte', `sport = ${port}`], { timeoutMs: 10_000 })).stdout;

test('-l 0.0.0.0: config-ipv6-off names the line and the IPv4-only service; the printed fix (,[::]) gives memcached its IPv6 socket', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cc1');
  t.after(destroy);
  const mc = await startMemcached(t, host, '# memcached\n-u memcache\n-p 11211\n-l 0.0.0.0\n');
  assert.equal(mc.up, true, mc.output());
  assert.equal((await probeConnect(peer, 'tcp', HOST4, 11211)).ok, true);
  assert.equal((await probeConnect(peer, 'tcp', HOST6, 11211)).error, 'ECONNREFUSED');

  const report = await scan(host, mc.etc);
  const off = only(report, 'config-ipv6-off');
  assert.equal(off.subject, '/etc/memcached.conf:4');
  assert.match(off.message, /^tcp\/11211 is IPv4-only because \/etc\/memcached\.conf:4 says -l 0\.0\.0\.0: 0\.0\.0\.0 is every IPv4 address and nothing else/);
  assert.ok(report.findings.some((f) => f.rule === 'service-ipv4-only' && f.subject === 'tcp/11211'));

  applyConfigFix(off, mc.etc);
  assert.match(readFileSync(mc.config, 'utf8'), /^-l 0\.0\.0\.0,\[::\]$/m);
  await mc.restart(); // the printed check: the restart, then ss
  assert.equal(mc.up, true, mc.output());
  assert.match(await listening(host), /0\.0\.0\.0:11211[\s\S]*\[::\]:11211 .* v6only:1/, 'two sockets, the IPv6 one V6ONLY (set by memcached)');
  assert.equal((await probeConnect(peer, 'tcp', HOST6, 11211)).ok, true);
  assert.deepEqual((await scan(host, mc.etc)).findings.filter((f) => f.rule === 'config-ipv6-off' || f.rule === 'service-ipv4-only'), []);
});

test('-l 2001:db8:1::2:11212 without brackets: config-address-syntax (critical); memcached exits; the printed fix listens on [2001:db8:1::2]:11212', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cc2');
  t.after(destroy);
  const mc = await startMemcached(t, host, '-u memcache\n-p 11211\n-l 127.0.0.1,2001:db8:1::2:11212\n');
  assert.equal(mc.up, false);
  assert.match(mc.output(), /getaddrinfo\(\): Name or service not known\nfailed to listen on one of interface\(s\) 127\.0\.0\.1,2001:db8:1::2:11212/);

  const report = await scan(host, mc.etc);
  const syntax = only(report, 'config-address-syntax');
  assert.equal(syntax.severity, 'critical');
  assert.deepEqual(syntax.fix.commands.slice(0, 2), ['# /etc/memcached.conf, line 3:', '#   -l 127.0.0.1,[2001:db8:1::2]:11212']);
  applyConfigFix(syntax, mc.etc);
  await mc.restart();
  assert.equal(mc.up, true, mc.output());
  assert.match(await listening(host, 11212), /\[2001:db8:1::2\]:11212/);
  assert.equal((await probeConnect(peer, 'tcp', HOST6, 11212)).ok, true);
  assert.deepEqual((await scan(host, mc.etc)).findings.filter((f) => f.rule === 'config-address-syntax'), []);
});

test("Debian 12's memcached.conf gives no finding from the config rules; memcached listens on 127.0.0.1 only", { skip }, async (t) => {
  const { host, destroy } = await twoHosts('cc3');
  t.after(destroy);
  const debian = readFileSync(fileURLToPath(new URL('../fixtures/config/debian12/memcached.conf', import.meta.url)), 'utf8');
  // Its pid file goes to the test's folder; every other line is Debian's.
  const mc = await startMemcached(t, host, debian.replace('-P /var/run/memcached/memcached.pid', '-P TMP/memcached.pid'));
  assert.equal(mc.up, true, mc.output());
  assert.match(await listening(host), /^LISTEN .*127\.0\.0\.1:11211 /);
  const report = await scan(host, mc.etc);
  assert.deepEqual(report.findings.filter((f) => f.rule.startsWith('config-') || f.rule.startsWith('acl-')), []);
  assert.deepEqual(report.configs?.find((c) => c.daemon === 'memcached')?.directives.map((d) => `${d.line} ${d.key} ${d.value}`), ['26 -p 11211', '35 -l 127.0.0.1']);
});
