// The daemon-config findings on a real Postfix in a namespace: the agent reads the main.cf and
// master.cf Postfix runs with (--etc-root; the queue and data directories are in the same temp
// dir), the finding names the line, `postfix check` judges the file as the finding says, real
// connects and SMTP answers from the peer (RCPT TO a remote domain: relayed or refused; no
// mail leaves, the session ends before DATA) and smtpd's own log show what the finding
// predicts, and the printed fix, applied, passes `postfix check` and changes the behaviour.
//
// Run: node scripts/run-tests.mjs test/netns/config-postfix   (root and postfix; skipped otherwise)
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Report } from '../../packages/core/src/index.js';
import { probeConnect, rootSkipReason, waitFor, type Netns } from '../helpers/netns.js';
import { HOST4, HOST6, HOST6_SECOND, twoHosts } from '../helpers/scenarios.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { applyConfigFixes as applyConfigFix, only, scanEtc as scan } from '../helpers/daemon-config.js';

const MASTER = '/usr/lib/postfix/sbin/master';
const skip = rootSkipReason() || skipUnlessCommands({ postfix: 'postfix', postconf: 'postfix', script: 'bsdutils' }, { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` });
const DEBIAN = fileURLToPath(new URL('../fixtures/config/debian12/postfix/', import.meta.url));

interface Postfix {
  etc: string;
  main: string;
  master: string;
  log(): string;
  restart(): Promise<void>;
}

/**
 * An etc tree with postfix/main.cf (the given lines first, so their line numbers are theirs,
 * then the instance's own directories and logging to master's stdout) and postfix/master.cf
 * (Debian's unless given), and Postfix's master running on it in ns.
 */
async function startPostfix(t: TestContext, ns: Netns, lines: string[], master?: string): Promise<Postfix> {
  const base = mkdtempSync(join(tmpdir(), 'ds-postfix-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  chmodSync(base, 0o755); // the postfix user walks into its queue (mkdtemp makes 0700)
  const etc = join(base, 'etc');
  const dir = join(etc, 'postfix');
  mkdirSync(dir, { recursive: true });
  for (const sub of ['spool', 'lib']) mkdirSync(join(base, sub));
  // master takes its lock in data_directory as the postfix user (postfix check makes the queue).
  const uid = Number(execFileSync('id', ['-u', 'postfix'], { encoding: 'utf8' }));
  chownSync(join(base, 'lib'), uid, -1);
  const mainCf = join(dir, 'main.cf');
  // Logging to a file of the test (postlogd cannot open /dev/stdout when it is node's socket);
  // a host name of its own and no client name lookup (the namespaces have no DNS: Postfix
  // would wait for the resolver's timeouts).
  const maillog = join(base, 'maillog');
  const own = [`queue_directory = ${base}/spool`, `data_directory = ${base}/lib`, `maillog_file = ${maillog}`, `maillog_file_prefixes = ${base}`, 'smtpd_peername_lookup = no'];
  // Debian's main.cf.debian sets compatibility_level (without it smtpd refuses to start: the
  // old default smtpd_relay_restrictions is empty).
  for (const [key, value] of [['myhostname', 'mail.example.net'], ['compatibility_level', '3.6']] as const) {
    if (!lines.some((l) => l.startsWith(key))) own.push(`${key} = ${value}`);
  }
  writeFileSync(mainCf, [...lines, ...own, ''].join('\n'));
  const masterCf = join(dir, 'master.cf');
  writeFileSync(masterCf, master ?? readFileSync(join(DEBIAN, 'master.cf'), 'utf8'));
  const check = await postfixCheck(ns, dir);
  assert.equal(check.ok, true, `postfix check refused the test's own setup: ${check.output}`);
  let child: ChildProcess | null = null;
  let logStart = 0;
  const log = () => {
    try {
      return readFileSync(maillog, 'utf8').slice(logStart);
    } catch {
      return '';
    }
  };
  const start = async () => {
    logStart += log().length;
    const c = ns.spawn(MASTER, ['-c', dir, '-d', '-s']);
    child = c;
    let output = '';
    c.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
    c.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    // master's own fatal errors go to syslog, not to maillog_file: an exit is all we see of them.
    await waitFor(() => /daemon started/.test(log()) || c.exitCode !== null || null, { timeoutMs: 15_000, message: `postfix did not start: ${log()}${output}` });
    assert.equal(c.exitCode, null, `master exited (${c.exitCode}): ${log()}${output}`);
  };
  const stop = async () => {
    const c = child as ChildProcess | null;
    if (c && c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      const exited = new Promise((resolve) => c.once('exit', resolve));
      process.kill(c.pid, 'SIGTERM');
      await exited;
    }
  };
  t.after(stop);
  await start();
  return {
    etc,
    main: mainCf,
    master: masterCf,
    log,
    restart: async () => {
      await stop();
      await start();
    },
  };
}

/**
 * `postfix -c DIR check` in ns (inet_interfaces is judged against ns's addresses). It prints its
 * reasons only to a terminal (else to syslog), so it runs under script(1), which gives it one
 * and passes its exit code on (-e).
 */
async function postfixCheck(ns: Netns, dir: string): Promise<{ ok: boolean; output: string }> {
  const r = await ns.exec('script', ['-qec', `postfix -c ${dir} check`, '/dev/null'], { timeoutMs: 30_000 });
  return { ok: r.code === 0, output: `exit ${r.code}: ${r.stdout}${r.stderr}` };
}

/** An SMTP session from ns to host:25 up to RCPT TO: the final line of each reply. */
const SMTP_SCRIPT = `
const [host, rcpt] = process.argv.slice(1);
const steps = ['EHLO peer.example.net', 'MAIL FROM:<a@example.net>', 'RCPT TO:<' + rcpt + '>', 'QUIT'];
const replies = [];
const s = require('node:net').connect({ host, port: 25 });
const done = (extra) => { process.stdout.write(JSON.stringify(extra ? [...replies, extra] : replies) + '\\n'); process.exit(0); };
setTimeout(() => done('timeout'), 10000);
s.on('error', (e) => done(e.code || e.message));
let buf = '';
s.setEncoding('utf8').on('data', (d) => {
  buf += d;
  for (let i = buf.indexOf('\\n'); i >= 0; i = buf.indexOf('\\n')) {
    const line = buf.slice(0, i).replace(/\\r$/, '');
    buf = buf.slice(i + 1);
    if (line[3] === '-') continue;
    replies.push(line);
    const next = steps.shift();
    if (next === undefined) { s.end(); done(); }
    s.write(next + '\\r\\n');
  }
});
`;

/** The answer to RCPT TO:<x@example.org> (a domain this Postfix does not serve: relaying). */
async function relay(peer: Netns, host: string, postfix: Postfix): Promise<string> {
  const r = await peer.exec(process.execPath, ['-e', SMTP_SCRIPT, host, 'x@example.org'], { timeoutMs: 20_000 });
  const replies = JSON.parse(r.stdout.trim().split('\n').pop() ?? '[]') as string[];
  assert.match(replies[0] ?? '', /^220 /, `no SMTP greeting from ${host}: ${r.stdout} ${r.stderr}; Postfix's log: ${postfix.log()}`);
  return replies[3] ?? replies.join(' | ');
}

const configFindings = (r: Report) => r.findings.filter((f) => f.rule.startsWith('config-') || f.rule.startsWith('acl-'));

// Four Postfix instances side by side (each in its own pair of namespaces): the file mostly
// waits for postfix check, master and the scans.
describe('Postfix in namespaces', { skip, concurrency: true }, () => {
  test('inet_protocols = ipv4: config-ipv6-off names the line and tcp/25; postfix check accepts it; the fix takes IPv6 after a restart', async (t) => {
    const { host, peer, destroy } = await twoHosts('cp1');
    t.after(destroy);
    const postfix = await startPostfix(t, host, ['inet_protocols = ipv4', 'mynetworks = 192.0.2.0/24 [2001:db8:1::]/64']);
    assert.equal((await probeConnect(peer, 'tcp', HOST4, 25)).ok, true);
    assert.equal((await probeConnect(peer, 'tcp', HOST6, 25)).error, 'ECONNREFUSED', 'inet_protocols = ipv4: no IPv6 socket');

    const before = await scan(host, postfix.etc);
    const off = only(before, 'config-ipv6-off');
    assert.equal(off.subject, '/etc/postfix/main.cf:1');
    assert.match(off.message, /^tcp\/25 is IPv4-only because \/etc\/postfix\/main\.cf:1 says inet_protocols = ipv4: /);
    assert.ok(before.findings.some((f) => f.rule === 'service-ipv4-only' && f.subject === 'tcp/25'), 'the service finding it explains');
    assert.deepEqual(before.configs?.find((c) => c.daemon === 'postfix')?.files.map((f) => `${f.path} ${f.status}`), ['/etc/postfix/main.cf read', '/etc/postfix/master.cf read']);

    applyConfigFix(off, postfix.etc);
    assert.match(readFileSync(postfix.main, 'utf8'), /^inet_protocols = all$/m);
    const check = await postfixCheck(host, join(postfix.etc, 'postfix'));
    assert.equal(check.ok, true, check.output);
    await postfix.restart(); // postconf(5): a reload does not apply inet_protocols
    assert.equal((await probeConnect(peer, 'tcp', HOST6, 25)).ok, true, 'after the fix Postfix takes IPv6');
    assert.match(await relay(peer, HOST6, postfix), /^250 /, 'and relays for the IPv6 network it lists');
    const after = await scan(host, postfix.etc);
    assert.deepEqual(after.findings.filter((f) => f.rule === 'config-ipv6-off' || f.rule === 'service-ipv4-only'), []);
  });

  test('mynetworks names the IPv4 network only: acl-ipv4-only; smtpd refuses to relay for the IPv6 of that network until the fix; bare and bracketed IPv6 master.cf hosts both listen', async (t) => {
    const { host, peer, destroy } = await twoHosts('cp2');
    t.after(destroy);
    const master = `${readFileSync(join(DEBIAN, 'master.cf'), 'utf8')}${HOST6}:2525 inet n - y - - smtpd\n[${HOST6_SECOND}]:2526 inet n - y - - smtpd\n`;
    const postfix = await startPostfix(t, host, ['mynetworks = 127.0.0.0/8 [::1]/128 192.0.2.0/24'], master);
    assert.match(await relay(peer, HOST4, postfix), /^250 2\.1\.5 /, 'from 192.0.2.1 Postfix relays');
    assert.match(await relay(peer, HOST6, postfix), /^454 4\.7\.1 <x@example\.org>: Relay access denied$/, 'from 2001:db8:1::1, the same network over IPv6, it does not');
    assert.match(postfix.log(), /reject: RCPT from unknown\[2001:db8:1::1\]: 454 4\.7\.1 <x@example\.org>: Relay access denied/);
    // master.cf(5) asks for brackets, but master splits a bare name at its last colon.
    assert.equal((await probeConnect(peer, 'tcp', HOST6, 2525)).ok, true, `${HOST6}:2525 without brackets listens`);
    assert.equal((await probeConnect(peer, 'tcp', HOST6_SECOND, 2526)).ok, true);

    const report = await scan(host, postfix.etc);
    assert.deepEqual(report.findings.filter((f) => f.rule === 'config-address-syntax'), [], 'bare and bracketed master.cf hosts are both fine');
    const acl = only(report, 'acl-ipv4-only');
    assert.equal(acl.subject, '/etc/postfix/main.cf:1');
    assert.match(acl.message, /names IPv4 networks only \(192\.0\.2\.0\/24\); veth0 also has 2001:db8:1::\/64, so IPv6 clients of that network are locked out on tcp\/25, tcp\/2525, tcp\/2526\./);
    applyConfigFix(acl, postfix.etc);
    assert.match(readFileSync(postfix.main, 'utf8'), /^mynetworks = 127\.0\.0\.0\/8 \[::1\]\/128 192\.0\.2\.0\/24 \[2001:db8:1::\]\/64$/m);
    const check = await postfixCheck(host, join(postfix.etc, 'postfix'));
    assert.equal(check.ok, true, check.output);
    await postfix.restart();
    assert.match(await relay(peer, HOST6, postfix), /^250 2\.1\.5 /, 'after the fix the IPv6 client of the network may relay');
    assert.deepEqual(configFindings(await scan(host, postfix.etc)), []);
  });

  test('a bare IPv6 network in mynetworks: config-address-syntax, critical; postfix check accepts it, smtpd reads it as a table and defers every IPv6 RCPT; the bracketed fix relays', async (t) => {
    const { host, peer, destroy } = await twoHosts('cp3');
    t.after(destroy);
    const postfix = await startPostfix(t, host, ['mynetworks = 192.0.2.0/24 2001:db8:1::/64']);
    assert.match(await relay(peer, HOST4, postfix), /^250 /, 'an IPv4 client of the first entry still matches before the broken one');
    assert.match(await relay(peer, HOST6, postfix), /^451 4\.3\.0 <x@example\.org>: Temporary lookup failure$/);
    assert.match(postfix.log(), /unsupported dictionary type: 2001/);
    assert.match(postfix.log(), /warning: mynetworks: 2001:db8:1::\/64: table lookup problem/);

    const report = await scan(host, postfix.etc);
    const syntax = only(report, 'config-address-syntax');
    assert.equal(syntax.severity, 'critical');
    assert.equal(syntax.subject, '/etc/postfix/main.cf:1');
    assert.match(syntax.message, /"2001:db8:1::\/64": this directive takes IPv6 addresses in brackets/);
    applyConfigFix(syntax, postfix.etc);
    assert.match(readFileSync(postfix.main, 'utf8'), /^mynetworks = 192\.0\.2\.0\/24 \[2001:db8:1::\]\/64$/m);
    const check = await postfixCheck(host, join(postfix.etc, 'postfix'));
    assert.equal(check.ok, true, check.output);
    await postfix.restart();
    assert.match(await relay(peer, HOST6, postfix), /^250 2\.1\.5 /);
    assert.deepEqual(configFindings(await scan(host, postfix.etc)), []);
  });

  test("Debian 12's own main.cf and master.cf give no finding from the config rules; Postfix listens on both families, IPv6 with V6ONLY", async (t) => {
    const { host, peer, destroy } = await twoHosts('cp4');
    t.after(destroy);
    const debian = readFileSync(join(DEBIAN, 'main.cf'), 'utf8').trimEnd().split('\n');
    const postfix = await startPostfix(t, host, debian);
    assert.equal((await probeConnect(peer, 'tcp', HOST4, 25)).ok, true);
    assert.equal((await probeConnect(peer, 'tcp', HOST6, 25)).ok, true);
    const report = await scan(host, postfix.etc);
    assert.deepEqual(configFindings(report), []);
    const smtp = report.services.find((s) => s.proto === 'tcp' && s.port === 25);
    assert.equal(smtp?.mode, 'dual-separate', 'two sockets: 0.0.0.0 and :: with V6ONLY set by Postfix itself');
    assert.deepEqual(report.configs?.find((c) => c.daemon === 'postfix')?.directives.map((d) => `${d.line} ${d.key}`), ['32 mynetworks', '35 inet_interfaces', '36 inet_protocols', '12 smtp']);
  });
});
