// The daemon-config findings on a real Exim 4.96 (Debian 12's exim4-daemon-light) in
// namespaces: the agent reads the exim4.conf Exim runs with (--etc-root), the finding names the
// line, `exim4 -bV -C` judges the file as the finding says, the daemon's start, real connects
// and SMTP answers from the peer (RCPT TO a remote domain: accepted or refused; no mail is
// sent, the session ends before DATA) and Exim's own log show what the finding predicts, and
// the printed fix, applied, passes -bV and changes the behaviour.
//
// Exim is not installed: exim4-daemon-light conflicts with postfix, which other tests need.
// .ci/run unpacks its .debs (exim4-daemon-light, exim4-base, exim4-config) with dpkg-deb -x into
// /var/cache/dualstack-test/exim4 (DUALSTACK_EXIM_ROOT overrides the place), and every exim4 and
// update-exim4.conf run here is wrapped in `unshare -m` with bind mounts, private to that
// process: a passwd and group that add Debian-exim (the binary's compiled-in exim_user), and the
// test's temp dir over /var/log and /var/spool (the binary's log_file_path and Debian's
// spool_directory), so Debian's own configuration runs unchanged and nothing is written outside
// the temp dir.
//
// Run: node scripts/run-tests.mjs test/netns/config-exim   (root, the unpacked Exim; skipped otherwise)
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { probeConnect, rootSkipReason, waitFor, type Netns } from '../helpers/netns.js';
import { HOST4, HOST6, twoHosts } from '../helpers/scenarios.js';
import { skipUnlessAvailable, skipUnlessCommands } from '../helpers/requirements.js';
import { applyConfigFixes as applyConfigFix, configFindings, only, scanEtc as scan } from '../helpers/daemon-config.js';

const EXIM_ROOT = process.env.DUALSTACK_EXIM_ROOT ?? '/var/cache/dualstack-test/exim4';
const EXIM = join(EXIM_ROOT, 'usr/sbin/exim4');
const UPDATE = join(EXIM_ROOT, 'usr/sbin/update-exim4.conf');
const DEBIAN = fileURLToPath(new URL('../fixtures/config/debian12/exim4/', import.meta.url));

/** Why the unpacked Exim cannot run here (absent, or a shared library missing), or false. */
function eximMissing(): string | false {
  if (!existsSync(EXIM)) return `no Exim unpacked at ${EXIM_ROOT}`;
  const ldd = execFileSync('ldd', [EXIM], { encoding: 'utf8' });
  const lost = [...ldd.matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]);
  return lost.length > 0 ? `${EXIM} needs ${lost.join(', ')}, not found` : false;
}
const skip =
  rootSkipReason() ||
  skipUnlessCommands({ unshare: 'util-linux', mount: 'mount', ldd: 'libc-bin' }) ||
  skipUnlessAvailable(eximMissing(), {
    how: `run .ci/run, which unpacks Exim (apt-get download exim4-daemon-light exim4-base exim4-config; dpkg-deb -x each into ${EXIM_ROOT}, or DUALSTACK_EXIM_ROOT) and installs libidn12, the library it needs`,
  });

// The rest of every test's exim4.conf, after the test's own lines (so their line numbers are
// theirs): a name of its own (no DNS in the namespaces), no TLS (no certificate), and the relay
// rule of Exim's default configuration (acl_check_rcpt: relay_from_hosts may relay, others only
// to local domains, "550 relay not permitted").
const TAIL = [
  'primary_hostname = mail.example.net',
  'keep_environment =',
  'tls_advertise_hosts =',
  'domainlist local_domains = @',
  'acl_smtp_rcpt = acl_check_rcpt',
  'begin acl',
  'acl_check_rcpt:',
  '  accept  hosts = +relay_from_hosts',
  '  require message = relay not permitted',
  '          domains = +local_domains',
  '  accept',
];

interface Exim {
  etc: string;
  config: string;
  /** mainlog and paniclog since the last (re)start, and what the daemon wrote to stderr. */
  log(): string;
  /** Starts the daemon: true when it listens, false when it exited (its reasons in log()). */
  start(): Promise<boolean>;
  restart(): Promise<boolean>;
  /** `exim4 -bV -C config`. */
  check(): Promise<{ ok: boolean; output: string }>;
  /** A command of the unpacked Exim (exim4, update-exim4.conf) with its passwd, group, log and spool. */
  run(args: string[]): Promise<{ code: number; output: string }>;
}

/**
 * A temp dir with etc/exim4/exim4.conf (the given lines, then TAIL; or `etcFrom` copied to
 * etc/exim4), the passwd/group/log/spool the wrapper binds, and Exim to run on it in ns with
 * `config` (default: etc/exim4/exim4.conf).
 */
function eximOn(t: TestContext, ns: Netns, lines: string[] | null, opts: { etcFrom?: string; config?: (base: string) => string; args?: string[] } = {}): Exim {
  const base = mkdtempSync(join(tmpdir(), 'ds-exim-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  chmodSync(base, 0o755); // Exim receives mail as Debian-exim (mkdtemp makes 0700)
  const etc = join(base, 'etc');
  const dir = join(etc, 'exim4');
  if (opts.etcFrom) cpSync(opts.etcFrom, dir, { recursive: true });
  else mkdirSync(dir, { recursive: true });
  const config = opts.config?.(base) ?? join(dir, 'exim4.conf');
  if (lines) {
    const relay = lines.some((l) => /relay_from_hosts/.test(l)) ? [] : ['hostlist relay_from_hosts = <; 127.0.0.1 ; ::1'];
    writeFileSync(config, [...lines, ...relay, ...TAIL, ''].join('\n'));
  }
  // Debian-exim: a uid no account of this machine has, in this process's passwd and group only.
  const passwd = readFileSync('/etc/passwd', 'utf8');
  const group = readFileSync('/etc/group', 'utf8');
  let uid = 60025;
  while (new RegExp(`^[^:]*:[^:]*:${uid}:`, 'm').test(passwd) || new RegExp(`^[^:]*:[^:]*:${uid}:`, 'm').test(group)) uid++;
  writeFileSync(join(base, 'passwd'), `${passwd.trimEnd()}\nDebian-exim:x:${uid}:${uid}::/nonexistent:/usr/sbin/nologin\n`);
  writeFileSync(join(base, 'group'), `${group.trimEnd()}\nDebian-exim:x:${uid}:\n`);
  for (const sub of ['log', 'spool']) {
    mkdirSync(join(base, sub, 'exim4'), { recursive: true });
    chownSync(join(base, sub, 'exim4'), uid, uid);
  }
  const wrapper = (cmd: string, args: string[]) => [
    '-m',
    'sh',
    '-ec',
    'b=$1; shift; mount --bind "$b/passwd" /etc/passwd; mount --bind "$b/group" /etc/group; mount --bind "$b/log" /var/log; mount --bind "$b/spool" /var/spool; exec "$@"',
    'sh',
    base,
    cmd,
    ...args,
  ];
  let child: ChildProcess | null = null;
  let stderr = '';
  const logFiles = ['mainlog', 'paniclog'].map((f) => join(base, 'log/exim4', f));
  let logStart = logFiles.map(() => 0);
  const logs = () => logFiles.map((f) => (existsSync(f) ? readFileSync(f, 'utf8') : ''));
  const log = () => logs().map((text, i) => text.slice(logStart[i])).join('') + stderr;
  const start = async () => {
    logStart = logs().map((text) => text.length);
    stderr = '';
    // -bdf: the daemon in the foreground (child.pid is Exim's: ip netns exec, unshare and sh
    // exec it); no -q, so no queue runner (it would re-exec /usr/sbin/exim4, absent here).
    const c = ns.spawn('unshare', wrapper(EXIM, ['-bdf', ...(opts.args ?? []), '-C', config]));
    child = c;
    c.stdout!.resume();
    c.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await waitFor(() => /daemon started/.test(log()) || c.exitCode !== null || null, { timeoutMs: 10_000, message: 'exim neither started nor exited' }).catch((e: Error) => {
      throw new Error(`${e.message}: ${log()}`);
    });
    return c.exitCode === null;
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
  const run = async (args: string[]) => {
    const [cmd, ...rest] = args;
    const r = await ns.exec('unshare', wrapper(cmd!, rest), { timeoutMs: 20_000 });
    return { code: r.code, output: `${r.stdout}${r.stderr}` };
  };
  return {
    etc,
    config,
    log,
    start,
    restart: async () => {
      await stop();
      return start();
    },
    check: async () => {
      const r = await run([EXIM, '-bV', '-C', config]);
      return { ok: r.code === 0, output: `exit ${r.code}: ${r.output}` };
    },
    run,
  };
}

/** An SMTP session from ns to host:25 up to RCPT TO (Python's smtplib): each reply as "CODE text". */
const SMTP_SCRIPT = `
import json, smtplib, sys
host, rcpt = sys.argv[1:3]
replies = []
try:
    s = smtplib.SMTP(local_hostname='peer.example.net', timeout=10)
    for reply in (lambda: s.connect(host, 25), s.ehlo, lambda: s.mail('a@example.net'), lambda: s.rcpt(rcpt)):
        code, text = reply()
        replies.append('%d %s' % (code, text.decode().splitlines()[0]))
    s.quit()
except Exception as e:
    replies.append(type(e).__name__ + ': ' + str(e))
print(json.dumps(replies))
`;

/** The greeting and the answer to RCPT TO:<x@example.org> (a domain this Exim does not serve: relaying). */
async function relay(peer: Netns, host: string, exim: Exim): Promise<{ greeting: string; rcpt: string }> {
  const r = await peer.exec('python3', ['-c', SMTP_SCRIPT, host, 'x@example.org'], { timeoutMs: 20_000 });
  const replies = JSON.parse(r.stdout.trim().split('\n').pop() || '[]') as string[];
  assert.match(replies[0] ?? '', /^220 /, `no SMTP greeting from ${host}: ${r.stdout} ${r.stderr}; Exim's log: ${exim.log()}`);
  return { greeting: replies[0]!, rcpt: replies[3] ?? replies.join(' | ') };
}

// Four Exim instances side by side (each in its own pair of namespaces).
describe('Exim in namespaces', { skip, concurrency: true }, () => {
  test('an IPv6 address with single colons in local_interfaces: config-address-syntax; exim -bV accepts it, the daemon refuses to start; the doubled colons listen', async (t) => {
    const { host, peer, destroy } = await twoHosts('ce1');
    t.after(destroy);
    const exim = eximOn(t, host, [`local_interfaces = ${HOST4} : ${HOST6}`]);
    const check = await exim.check();
    assert.equal(check.ok, true, `-bV does not read local_interfaces' addresses: ${check.output}`);
    assert.equal(await exim.start(), false, `the daemon should refuse ${HOST6} cut at its colons: ${exim.log()}`);
    assert.match(exim.log(), /Malformed IP address "2001" in local_interfaces/);

    const report = await scan(host, exim.etc);
    const syntax = only(report, 'config-address-syntax');
    assert.equal(syntax.subject, '/etc/exim4/exim4.conf:1');
    assert.match(syntax.message, /2001:db8:1::2/);
    assert.deepEqual(report.findings.filter((f) => f.rule === 'config-ipv6-off'), [], 'the cut address is no IPv4-only list');
    applyConfigFix(syntax, exim.etc);
    assert.match(readFileSync(exim.config, 'utf8'), /^local_interfaces = 192\.0\.2\.2 : 2001::db8::1::::2$/m);
    const fixed = await exim.check();
    assert.equal(fixed.ok, true, fixed.output);
    assert.equal(await exim.start(), true, `after the fix the daemon starts: ${exim.log()}`);
    assert.match(exim.log(), /listening for SMTP on \[192\.0\.2\.2\]:25 \[2001:db8:1::2\]:25/);
    assert.match((await relay(peer, HOST6, exim)).greeting, /^220 mail\.example\.net ESMTP Exim 4\.96/);
    assert.deepEqual(configFindings(await scan(host, exim.etc)), []);
  });

  test('local_interfaces = 0.0.0.0: config-ipv6-off names the line and tcp/25; the IPv6 connect is refused; the printed fix listens on IPv6 and greets the peer', async (t) => {
    const { host, peer, destroy } = await twoHosts('ce2');
    t.after(destroy);
    const exim = eximOn(t, host, ['local_interfaces = 0.0.0.0']);
    assert.equal((await exim.check()).ok, true);
    assert.equal(await exim.start(), true, exim.log());
    assert.match(exim.log(), /listening for SMTP on port 25 \(IPv4\)/);
    assert.match((await relay(peer, HOST4, exim)).greeting, /^220 /);
    assert.equal((await probeConnect(peer, 'tcp', HOST6, 25)).error, 'ECONNREFUSED', 'no IPv6 socket');

    const before = await scan(host, exim.etc);
    const off = only(before, 'config-ipv6-off');
    assert.equal(off.subject, '/etc/exim4/exim4.conf:1');
    assert.match(off.message, /^tcp\/25 is IPv4-only because \/etc\/exim4\/exim4\.conf:1 says local_interfaces = 0\.0\.0\.0: /);
    assert.ok(before.findings.some((f) => f.rule === 'service-ipv4-only' && f.subject === 'tcp/25'), 'the service finding it explains');
    assert.deepEqual(before.configs?.find((c) => c.daemon === 'exim')?.files.map((f) => `${f.path} ${f.status}`), ['/etc/exim4/exim4.conf read']);

    applyConfigFix(off, exim.etc);
    assert.match(readFileSync(exim.config, 'utf8'), /^local_interfaces = <; 0\.0\.0\.0 ; ::0$/m);
    const check = await exim.check();
    assert.equal(check.ok, true, check.output);
    assert.equal(await exim.restart(), true, exim.log());
    assert.match((await relay(peer, HOST6, exim)).greeting, /^220 mail\.example\.net ESMTP Exim 4\.96/, 'after the fix Exim greets IPv6 clients');
    const after = await scan(host, exim.etc);
    assert.deepEqual(after.findings.filter((f) => f.rule === 'config-ipv6-off' || f.rule === 'service-ipv4-only'), []);
    const smtp = after.services.find((s) => s.proto === 'tcp' && s.port === 25);
    assert.equal(smtp?.mode, 'dual-separate', 'two sockets: 0.0.0.0 and :: with V6ONLY set by Exim');
  });

  test('relay_from_hosts names the IPv4 network only: acl-ipv4-only; Exim refuses to relay for the IPv6 of that network (550) until the fix', async (t) => {
    const { host, peer, destroy } = await twoHosts('ce3');
    t.after(destroy);
    const exim = eximOn(t, host, ['hostlist relay_from_hosts = 192.0.2.0/24']);
    assert.equal((await exim.check()).ok, true);
    assert.equal(await exim.start(), true, exim.log());
    assert.match((await relay(peer, HOST4, exim)).rcpt, /^250 Accepted$/, 'from 192.0.2.1 Exim relays');
    assert.match((await relay(peer, HOST6, exim)).rcpt, /^550 relay not permitted$/, 'from 2001:db8:1::1, the same network over IPv6, it does not');
    assert.match(exim.log(), /H=\(peer\.example\.net\) \[2001:db8:1::1\] .*rejected RCPT <x@example\.org>: relay not permitted/);

    const report = await scan(host, exim.etc);
    // local_interfaces unset: "listening for SMTP on port 25 (IPv6 and IPv4)", 0.0.0.0 and a V6ONLY [::].
    assert.equal(report.services.find((s) => s.proto === 'tcp' && s.port === 25)?.mode, 'dual-separate');
    const acl = only(report, 'acl-ipv4-only');
    assert.equal(acl.subject, '/etc/exim4/exim4.conf:1');
    assert.match(acl.message, /names IPv4 networks only \(192\.0\.2\.0\/24\); veth0 also has 2001:db8:1::\/64, so IPv6 clients of that network are locked out on tcp\/25\./);
    applyConfigFix(acl, exim.etc);
    assert.match(readFileSync(exim.config, 'utf8'), /^hostlist relay_from_hosts = 192\.0\.2\.0\/24 : 2001::db8::1::::\/64$/m);
    const check = await exim.check();
    assert.equal(check.ok, true, check.output);
    assert.equal(await exim.restart(), true, exim.log());
    assert.match((await relay(peer, HOST6, exim)).rcpt, /^250 Accepted$/, 'after the fix the IPv6 client of the network may relay');
    assert.deepEqual(configFindings(await scan(host, exim.etc)), []);
  });

  test("Debian 12's own configuration (update-exim4.conf.conf, exim4.conf.template) gives no finding from the config rules; the generated file listens on 127.0.0.1 and ::1", async (t) => {
    const { host, destroy } = await twoHosts('ce4');
    t.after(destroy);
    // Its primary_hostname is the machine's, looked up at start (an IPv6 lookup goes to DNS,
    // which the namespaces do not reach: seconds of timeouts), unless the template's own
    // MAIN_HARDCODE_PRIMARY_HOSTNAME is defined, here on the command line (root may -D).
    const exim = eximOn(t, host, null, { etcFrom: DEBIAN, config: (base) => join(base, 'config.autogenerated'), args: ['-DMAIN_HARDCODE_PRIMARY_HOSTNAME=mail.example.net'] });
    // What exim4.service runs before the daemon, with the temp tree as its input (its mktemp
    // file in the temp dir too).
    const update = await exim.run(['env', `TMPDIR=${dirname(exim.etc)}`, 'sh', UPDATE, '-d', join(exim.etc, 'exim4'), '-o', exim.config]);
    assert.equal(update.code, 0, update.output);
    assert.match(readFileSync(exim.config, 'utf8'), /^MAIN_LOCAL_INTERFACES=<; 127\.0\.0\.1 ; ::1$/m);
    const check = await exim.check();
    assert.equal(check.ok, true, check.output);
    assert.equal(await exim.start(), true, exim.log());
    assert.match(exim.log(), /listening for SMTP on \[127\.0\.0\.1\]:25 \[::1\]:25/);
    assert.equal((await probeConnect(host, 'tcp', '::1', 25)).ok, true);

    const report = await scan(host, exim.etc);
    assert.deepEqual(configFindings(report), []);
    assert.deepEqual(report.configs?.find((c) => c.daemon === 'exim')?.directives.map((d) => `${d.file.replace('/etc/exim4/', '')}:${d.line} ${d.key}`), [
      'update-exim4.conf.conf:21 dc_local_interfaces',
      'update-exim4.conf.conf:25 dc_relay_nets',
      'exim4.conf.template:50 hostlist',
      'exim4.conf.template:68 local_interfaces',
      'exim4.conf.template:467 hosts',
      'exim4.conf.template:475 hosts',
      'exim4.conf.template:544 hosts',
      'exim4.conf.template:702 hosts',
      'exim4.conf.template:770 hosts',
    ]);
    assert.equal(report.services.find((s) => s.proto === 'tcp' && s.port === 25)?.mode, 'loopback-only');
  });
});
