// The daemon-config findings on a real OpenSSH sshd in a namespace: the agent reads the
// sshd_config sshd runs with (--etc-root), the finding names the line, sshd -t judges the file
// as the finding says, real connects and sshd's own log show what the finding predicts, and
// the printed fix, applied, passes sshd -t and changes the behaviour.
//
// Run: node scripts/run-tests.mjs test/netns/config-sshd   (root and openssh-server; skipped otherwise)
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { probeConnect, rootSkipReason, waitFor, type Netns } from '../helpers/netns.js';
import { HOST4, HOST6, twoHosts } from '../helpers/scenarios.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { applyConfigFixes as applyConfigFix, only, scanEtc as scan } from '../helpers/daemon-config.js';

const SSHD = '/usr/sbin/sshd';
const skip = rootSkipReason() || skipUnlessCommands({ sshd: 'openssh-server', 'ssh-keygen': 'openssh-client', ssh: 'openssh-client' }, { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` });

interface Sshd {
  etc: string;
  config: string;
  log(): string;
  restart(): Promise<void>;
}

/** An etc tree with ssh/sshd_config (the given lines plus a host key), and sshd running on it in ns. */
async function startSshd(t: TestContext, ns: Netns, lines: string[]): Promise<Sshd> {
  const etc = mkdtempSync(join(tmpdir(), 'ds-sshd-'));
  t.after(() => rmSync(etc, { recursive: true, force: true }));
  mkdirSync(join(etc, 'ssh'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(etc, 'hostkey')]);
  const config = join(etc, 'ssh', 'sshd_config');
  writeFileSync(config, [...lines, `HostKey ${join(etc, 'hostkey')}`, 'PidFile none', 'UsePAM no', 'LogLevel VERBOSE', ''].join('\n'));
  // sshd's privilege separation directory, made by the package's service on a normal boot.
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  let child: ChildProcess | null = null;
  let log = '';
  const start = async () => {
    log = '';
    child = ns.spawn(SSHD, ['-D', '-e', '-f', config]);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    await waitFor(() => /Server listening on|Cannot bind any address|fatal/.test(log) || null, { timeoutMs: 10_000, message: `sshd did not start: ${log}` });
  };
  const stop = async () => {
    const c = child as ChildProcess | null;
    if (c && c.exitCode === null && c.pid !== undefined) {
      const exited = new Promise((resolve) => c.once('exit', resolve));
      process.kill(c.pid, 'SIGTERM');
      await exited;
    }
  };
  t.after(stop);
  await start();
  return {
    etc,
    config,
    log: () => log,
    restart: async () => {
      await stop();
      await start();
    },
  };
}

async function sshdCheck(config: string): Promise<{ ok: boolean; output: string }> {
  try {
    execFileSync(SSHD, ['-t', '-f', config], { stdio: 'pipe' });
    return { ok: true, output: '' };
  } catch (error) {
    return { ok: false, output: String((error as { stderr?: Buffer }).stderr ?? error) };
  }
}

test('AddressFamily inet: config-ipv6-off names the line and the IPv4-only service; the fix passes sshd -t and sshd takes IPv6', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cs1');
  t.after(destroy);
  const sshd = await startSshd(t, host, ['AddressFamily inet', 'Port 22']);
  assert.equal((await sshdCheck(sshd.config)).ok, true);
  assert.equal((await probeConnect(peer, 'tcp', HOST4, 22)).ok, true);
  assert.equal((await probeConnect(peer, 'tcp', HOST6, 22)).ok, false, 'sshd with AddressFamily inet takes no IPv6');

  const before = await scan(host, sshd.etc);
  const off = only(before, 'config-ipv6-off');
  assert.equal(off.subject, '/etc/ssh/sshd_config:1');
  assert.match(off.message, /^tcp\/22 is IPv4-only because \/etc\/ssh\/sshd_config:1 says AddressFamily inet/);
  assert.ok(before.findings.some((f) => f.rule === 'service-ipv4-only' && f.subject === 'tcp/22'), 'the service finding it explains');

  applyConfigFix(off, sshd.etc);
  assert.match(readFileSync(sshd.config, 'utf8'), /^AddressFamily any$/m);
  const check = await sshdCheck(sshd.config);
  assert.equal(check.ok, true, check.output);
  await sshd.restart();
  assert.equal((await probeConnect(peer, 'tcp', HOST6, 22)).ok, true, 'after the fix sshd takes IPv6');
  const after = await scan(host, sshd.etc);
  assert.deepEqual(after.findings.filter((f) => f.rule === 'config-ipv6-off' || f.rule === 'service-ipv4-only'), []);
});

test('AllowUsers names the IPv4 network only: acl-ipv4-only; sshd refuses the same user from the IPv6 of that network until the fix', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cs2');
  t.after(destroy);
  const sshd = await startSshd(t, host, ['AllowUsers nobody@192.0.2.0/24']);
  assert.equal((await sshdCheck(sshd.config)).ok, true);
  const attempt = async (target: string) => {
    const before = sshd.log().length;
    await peer.exec('ssh', ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'PubkeyAuthentication=no', '-o', 'ConnectTimeout=5', '-l', 'nobody', target, 'true'], { timeoutMs: 15_000 });
    await waitFor(() => /Connection closed|Disconnected|not allowed/.test(sshd.log().slice(before)) || null, { timeoutMs: 5000, message: `no log of the attempt to ${target}: ${sshd.log().slice(before)}` });
    return /not allowed because not listed in AllowUsers/.test(sshd.log().slice(before));
  };
  assert.equal(await attempt(HOST4), false, 'from 192.0.2.1 the user passes AllowUsers');
  assert.equal(await attempt(HOST6), true, 'from 2001:db8:1::1, the same network over IPv6, sshd refuses the user');

  const report = await scan(host, sshd.etc);
  const acl = only(report, 'acl-ipv4-only');
  assert.equal(acl.subject, '/etc/ssh/sshd_config:1');
  assert.match(acl.message, /names IPv4 networks only \(192\.0\.2\.0\/24\); veth0 also has 2001:db8:1::\/64, so IPv6 clients of that network are locked out on tcp\/22/);
  applyConfigFix(acl, sshd.etc);
  assert.match(readFileSync(sshd.config, 'utf8'), /^AllowUsers nobody@192\.0\.2\.0\/24 nobody@2001:db8:1::\/64$/m);
  const check = await sshdCheck(sshd.config);
  assert.equal(check.ok, true, check.output);
  await sshd.restart();
  assert.equal(await attempt(HOST6), false, 'after the fix the IPv6 client of the network passes AllowUsers');
  assert.deepEqual((await scan(host, sshd.etc)).findings.filter((f) => f.rule === 'acl-ipv4-only'), []);
});

test('ListenAddress 2001:db8:1::2:2222 without brackets: config-address-syntax; sshd -t accepts it but sshd cannot bind; the bracketed fix listens on port 2222', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cs3');
  t.after(destroy);
  const sshd = await startSshd(t, host, ['ListenAddress 2001:db8:1::2:2222', 'ListenAddress 192.0.2.2']);
  assert.equal((await sshdCheck(sshd.config)).ok, true, 'valid syntax to sshd: one longer IPv6 address');
  await waitFor(() => /Bind to port 22 on 2001:db8:1::2:2222 failed: Cannot assign requested address/.test(sshd.log()) || null, { message: `sshd should fail to bind the long address: ${sshd.log()}` });
  const report = await scan(host, sshd.etc);
  const syntax = only(report, 'config-address-syntax');
  assert.equal(syntax.severity, 'warning');
  assert.equal(syntax.subject, '/etc/ssh/sshd_config:1');
  assert.match(syntax.message, /is one IPv6 address, not 2001:db8:1::2 port 2222/);
  applyConfigFix(syntax, sshd.etc);
  assert.match(readFileSync(sshd.config, 'utf8'), /^ListenAddress \[2001:db8:1::2\]:2222$/m);
  const check = await sshdCheck(sshd.config);
  assert.equal(check.ok, true, check.output);
  await sshd.restart();
  assert.equal((await probeConnect(peer, 'tcp', HOST6, 2222)).ok, true);
  assert.deepEqual((await scan(host, sshd.etc)).findings.filter((f) => f.rule === 'config-address-syntax'), []);
});

test("Debian 12's own sshd_config gives no finding from the config rules", { skip }, async (t) => {
  const { host, destroy } = await twoHosts('cs4');
  t.after(destroy);
  const debian = readFileSync(fileURLToPath(new URL('../fixtures/config/debian12/ssh/sshd_config', import.meta.url)), 'utf8');
  const sshd = await startSshd(t, host, [debian.replace(/^Include .*$/m, '')]);
  assert.equal((await sshdCheck(sshd.config)).ok, true);
  const report = await scan(host, sshd.etc);
  assert.deepEqual(report.findings.filter((f) => f.rule.startsWith('config-') || f.rule.startsWith('acl-')), []);
  assert.ok(report.configs?.some((c) => c.daemon === 'sshd'));
});
