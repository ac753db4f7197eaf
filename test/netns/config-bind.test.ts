// The daemon-config findings on a real BIND 9 named in a namespace: the agent reads the
// named.conf named runs with (--etc-root), the finding names the file and line, named-checkconf
// (the checker the fix prints) judges the file as the finding says, dig from the peer and
// named's own log show what the finding predicts, and the printed fix, applied as printed,
// passes named-checkconf and changes the behaviour.
//
// Debian's files name each other by absolute path (include "/etc/bind/named.conf.options"),
// so named and named-checkconf run in a mount namespace of their own where the temp tree's
// bind/ is mounted on /etc/bind and a temp directory on /var/cache/bind: they read exactly the
// files the agent reads under --etc-root, and the machine's /etc/bind is never touched.
// named starts as named.service does (`named -f $OPTIONS`, OPTIONS from the tree's
// default/named), with -g instead of -f so that its log comes on stderr.
//
// Run: node scripts/run-tests.mjs test/netns/config-bind   (root, bind9, bind9-utils, bind9-dnsutils; skipped otherwise)
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Finding } from '../../packages/core/src/index.js';
import { rootSkipReason, waitFor, type Netns } from '../helpers/netns.js';
import { HOST4, HOST6, twoHosts } from '../helpers/scenarios.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { applyConfigFixes as applyConfigFix, only, scanEtc as scan } from '../helpers/daemon-config.js';

const NAMED = '/usr/sbin/named';
const skip =
  rootSkipReason() ||
  skipUnlessCommands({ named: 'bind9', 'named-checkconf': 'bind9-utils', dig: 'bind9-dnsutils', unshare: 'util-linux', mount: 'mount' }, { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` });
const DEBIAN = fileURLToPath(new URL('../fixtures/config/debian12/', import.meta.url));
const run = promisify(execFile);

/** sh -c script: mount $1 on /etc/bind and $2 on /var/cache/bind, then exec the rest. */
const MOUNTED = 'mount --bind "$1" /etc/bind && mount --bind "$2" /var/cache/bind && shift 2 && exec "$@"';

const ZONE = ['$TTL 300', '@ IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 300', '@ IN NS ns.example.test.', `ns IN A ${HOST4}`, '@ IN A 192.0.2.80', ''].join('\n');

/**
 * A Debian-shaped tree: named.conf includes the options and the local zones, example.test is a
 * primary zone, default/named is Debian's (named -u bind: as root without it, named drops its
 * capabilities and cannot enter a cache directory owned by bind).
 */
function tree(options: string[], extra: Record<string, string> = {}): Record<string, string> {
  return {
    'default/named': readFileSync(join(DEBIAN, 'default/named'), 'utf8'),
    'bind/named.conf': 'include "/etc/bind/named.conf.options";\ninclude "/etc/bind/named.conf.local";\n',
    'bind/named.conf.options': [...options, ''].join('\n'),
    'bind/named.conf.local': 'zone "example.test" {\n\ttype primary;\n\tfile "/etc/bind/db.example.test";\n};\n',
    'bind/db.example.test': ZONE,
    ...extra,
  };
}

/** The options block of these tests: no recursion, no DNSSEC fetches, no control channel. */
const OPTIONS = ['options {', '\tdirectory "/var/cache/bind";', '\tpid-file none;', '\trecursion no;', '\tdnssec-validation no;'];
const END = ['};', 'controls { };'];

interface Named {
  etc: string;
  path(rel: string): string;
  log(): string;
  restart(): Promise<void>;
}

/** `cmd args` with the tree mounted where named looks for it. */
async function mounted(etc: string, cache: string, cmd: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const r = await run('unshare', ['-m', 'sh', '-c', MOUNTED, 'sh', join(etc, 'bind'), cache, cmd, ...args], { timeout: 20_000 });
    return { ok: true, output: r.stdout + r.stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? e.message}` };
  }
}

/** The tree in a temp etc, named running on it in `ns` (unless `start: false`, for a file named refuses). */
async function startNamed(t: TestContext, ns: Netns, files: Record<string, string>, opts: { start?: boolean } = {}): Promise<Named & { cache: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-named-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755); // named -u bind reads the zones after giving up root
  const etc = join(dir, 'etc');
  const cache = join(dir, 'cache');
  mkdirSync(cache);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(etc, rel, '..'), { recursive: true });
    writeFileSync(join(etc, rel), text);
  }
  const bind = Number((await run('id', ['-u', 'bind']).catch(() => ({ stdout: String(userInfo().uid) }))).stdout.trim());
  chownSync(cache, bind, bind);
  let child: ChildProcess | null = null;
  let log = '';
  const start = async () => {
    log = '';
    // named.service: EnvironmentFile=-/etc/default/named, ExecStart=/usr/sbin/named -f $OPTIONS
    let options: string[] = [];
    try {
      const m = /^OPTIONS="([^"]*)"/m.exec(readFileSync(join(etc, 'default/named'), 'utf8'));
      options = (m?.[1] ?? '').split(/\s+/).filter(Boolean);
    } catch {
      /* no default/named: no options */
    }
    child = ns.spawn('unshare', ['-m', 'sh', '-c', MOUNTED, 'sh', join(etc, 'bind'), cache, NAMED, '-g', ...options]);
    child.stdout!.resume();
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    await waitFor(() => /^\S+ \S+ running$|exiting \(due to fatal error\)/m.test(log) || null, { timeoutMs: 15_000, message: `named did not start: ${log}` });
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
  if (opts.start !== false) await start();
  return {
    etc,
    cache,
    path: (rel) => join(etc, rel),
    log: () => log,
    restart: async () => {
      await stop();
      await start();
    },
  };
}

/** The checker the finding prints, run as printed (its comment dropped) on the mounted tree. */
async function printedCheck(f: Finding, named: { etc: string; cache: string }): Promise<{ ok: boolean; output: string }> {
  const line = f.fix.commands.find((c) => c.startsWith('named-checkconf'));
  assert.ok(line, `no checker in the fix: ${f.fix.commands.join(' | ')}`);
  const [cmd, ...args] = line.replace(/\s+#.*$/, '').split(/\s+/);
  return mounted(named.etc, named.cache, cmd!, args);
}

/** dig's status for example.test from `peer` (NOERROR, REFUSED), or how it failed. */
async function dig(peer: Netns, server: string, name = 'example.test'): Promise<string> {
  const r = await peer.exec('dig', ['+time=2', '+tries=1', '+norecurse', `@${server}`, name, 'A'], { timeoutMs: 10_000 });
  return /status: ([A-Z]+)/.exec(r.stdout)?.[1] ?? (/connection refused|no servers could be reached|timed out/.exec(r.stdout)?.[0] ?? `dig: ${r.stdout}${r.stderr}`);
}

test('allow-query through an acl naming the IPv4 network only: acl-ipv4-only; named REFUSES the IPv6 client of that network until the fix; localnets takes both', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cb1');
  t.after(destroy);
  const files = tree(['acl internal { 192.0.2.0/24; };', ...OPTIONS, '\tallow-query { internal; };', ...END], {
    'bind/named.conf.local': 'zone "example.test" {\n\ttype primary;\n\tfile "/etc/bind/db.example.test";\n};\nzone "local.test" {\n\ttype primary;\n\tfile "/etc/bind/db.example.test";\n\tallow-query { localnets; };\n};\n',
  });
  const named = await startNamed(t, host, files);
  assert.equal(await dig(peer, HOST4), 'NOERROR');
  assert.equal(await dig(peer, HOST6), 'REFUSED', 'from 2001:db8:1::1, the same network over IPv6, named refuses the query');
  await waitFor(() => /client @\S+ 2001:db8:1::1#\d+ \(example\.test\): query 'example\.test\/A\/IN' denied/.test(named.log()) || null, { message: `named's log does not show the refusal: ${named.log()}` });
  assert.equal(await dig(peer, HOST6, 'local.test'), 'NOERROR', 'localnets matches the IPv6 network of veth0: no finding for that list');

  const report = await scan(host, named.etc);
  const acl = only(report, 'acl-ipv4-only');
  assert.equal(acl.subject, '/etc/bind/named.conf.options:7');
  assert.match(acl.message, /names IPv4 networks only \(192\.0\.2\.0\/24\); veth0 also has 2001:db8:1::\/64, so IPv6 clients of that network are locked out on (udp|tcp)\/53, (udp|tcp)\/53\./);
  applyConfigFix(acl, named.etc);
  assert.match(readFileSync(named.path('bind/named.conf.options'), 'utf8'), /^allow-query \{ internal; 2001:db8:1::\/64; \};$/m);
  const check = await printedCheck(acl, named);
  assert.equal(check.ok, true, check.output);
  await named.restart();
  assert.equal(await dig(peer, HOST6), 'NOERROR', 'after the fix named answers the IPv6 client');
  assert.equal(await dig(peer, HOST4), 'NOERROR');
  assert.deepEqual((await scan(host, named.etc)).findings.filter((f) => f.rule === 'acl-ipv4-only'), []);
});

test('listen-on-v6 { none; }: config-ipv6-off names the line and the IPv4-only port 53; the fix passes named-checkconf and named answers over IPv6', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cb2');
  t.after(destroy);
  const named = await startNamed(t, host, tree([...OPTIONS, '\tlisten-on-v6 { none; };', ...END]));
  assert.equal(await dig(peer, HOST4), 'NOERROR');
  assert.equal(await dig(peer, HOST6), 'connection refused', 'no IPv6 socket on port 53');

  const before = await scan(host, named.etc);
  const off = only(before, 'config-ipv6-off');
  assert.equal(off.subject, '/etc/bind/named.conf.options:6');
  assert.match(off.message, /^(udp|tcp)\/53, (udp|tcp)\/53 are IPv4-only because \/etc\/bind\/named\.conf\.options:6 says listen-on-v6 \{ none; \};/);
  assert.deepEqual(before.findings.filter((f) => f.rule === 'service-ipv4-only').map((f) => f.subject).sort(), ['tcp/53', 'udp/53'], 'the service findings it explains');

  applyConfigFix(off, named.etc);
  assert.match(readFileSync(named.path('bind/named.conf.options'), 'utf8'), /^listen-on-v6 \{ any; \};$/m);
  const check = await printedCheck(off, named);
  assert.equal(check.ok, true, check.output);
  await named.restart();
  assert.equal(await dig(peer, HOST6), 'NOERROR');
  const after = await scan(host, named.etc);
  assert.deepEqual(after.findings.filter((f) => f.rule === 'config-ipv6-off' || (f.rule === 'service-ipv4-only' && f.subject.endsWith('/53'))), []);
});

test('named -4 in /etc/default/named: config-ipv6-off on that line, although named.conf listens on IPv6; without -4 named answers over IPv6', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cb3');
  t.after(destroy);
  const named = await startNamed(t, host, tree([...OPTIONS, '\tlisten-on-v6 { any; };', ...END], { 'default/named': '# startup options for the server\nOPTIONS="-u bind -4"\n' }));
  assert.equal(await dig(peer, HOST4), 'NOERROR');
  assert.equal(await dig(peer, HOST6), 'connection refused', 'named -4 opens no IPv6 socket');

  const off = only(await scan(host, named.etc), 'config-ipv6-off');
  assert.equal(off.subject, '/etc/default/named:2');
  assert.match(off.message, /says OPTIONS="-u bind -4": named -4 uses IPv4 only/);
  applyConfigFix(off, named.etc);
  assert.equal(readFileSync(named.path('default/named'), 'utf8'), '# startup options for the server\nOPTIONS="-u bind"\n');
  await named.restart();
  assert.equal(await dig(peer, HOST6), 'NOERROR'); // (the fixed file gives no finding: packages/agent/test/config-bind)
});

test('an acl line with a bracketed IPv6 network: config-address-syntax (critical) on that line; named-checkconf and named refuse the file, the corrected line passes', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cb4');
  t.after(destroy);
  const named = await startNamed(t, host, tree(['acl internal {', '\t192.0.2.0/24;', '\t[2001:db8:1::]/64;', '};', ...OPTIONS, '\tallow-query { internal; };', ...END]), { start: false });

  const report = await scan(host, named.etc);
  const syntax = only(report, 'config-address-syntax');
  assert.equal(syntax.severity, 'critical');
  assert.equal(syntax.subject, '/etc/bind/named.conf.options:3');
  const check = await printedCheck(syntax, named);
  assert.equal(check.ok, false);
  assert.match(check.output, /named\.conf\.options:3: missing ';' before '\/'/, 'named-checkconf refuses the same line');
  await named.restart();
  assert.match(named.log(), /named\.conf\.options:3: missing ';' before '\/'[\s\S]*loading configuration: unexpected token[\s\S]*exiting \(due to fatal error\)/, 'named does not start on it');

  applyConfigFix(syntax, named.etc);
  assert.match(readFileSync(named.path('bind/named.conf.options'), 'utf8'), /^2001:db8:1::\/64;$/m);
  const fixed = await printedCheck(syntax, named);
  assert.equal(fixed.ok, true, fixed.output);
  await named.restart();
  assert.equal(await dig(peer, HOST6), 'NOERROR', 'the fixed acl lets the IPv6 network in');
});

test("Debian 12's own configuration gives no finding; named listens on each address, IPv6 ones with V6ONLY, never on [::]", { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cb5');
  t.after(destroy);
  const files: Record<string, string> = {};
  for (const dir of ['bind', 'default']) for (const name of readdirSync(join(DEBIAN, dir))) files[`${dir}/${name}`] = readFileSync(join(DEBIAN, dir, name), 'utf8');
  const named = await startNamed(t, host, files);
  assert.match(named.log(), /running as: named -g -u bind/);
  const check = await mounted(named.etc, named.cache, 'named-checkconf', ['/etc/bind/named.conf']);
  assert.equal(check.ok, true, check.output);
  assert.equal(await dig(peer, HOST4, 'localhost'), 'NOERROR');
  assert.equal(await dig(peer, HOST6, 'localhost'), 'NOERROR');

  const ss = await host.exec('ss', ['-Hlnue', '-A', 'inet', 'sport = :53']);
  const locals = [...new Set(ss.stdout.split('\n').filter(Boolean).map((l) => `${l.split(/\s+/)[0]} ${l.split(/\s+/)[4]}${/v6only:1/.test(l) ? ' v6only' : ''}`))].sort();
  assert.deepEqual(
    locals.filter((l) => !l.includes('fe80')),
    ['tcp 127.0.0.1:53', 'tcp 192.0.2.2:53', 'tcp 192.0.2.3:53', 'tcp [2001:db8:1::2]:53 v6only', 'tcp [2001:db8:1::3]:53 v6only', 'tcp [::1]:53 v6only', 'udp 127.0.0.1:53', 'udp 192.0.2.2:53', 'udp 192.0.2.3:53', 'udp [2001:db8:1::2]:53 v6only', 'udp [2001:db8:1::3]:53 v6only', 'udp [::1]:53 v6only'],
    'one socket (per listener thread) for each address, no wildcard: named never sees ::ffff: peers',
  );

  const report = await scan(host, named.etc);
  assert.deepEqual(report.findings.filter((f) => f.rule.startsWith('config-') || f.rule.startsWith('acl-')), []);
  const config = report.configs?.find((c) => c.daemon === 'named');
  assert.deepEqual(config?.directives.map((d) => `${d.file}:${d.line} ${d.raw.trim()}`), ['/etc/bind/named.conf.options:23 listen-on-v6 { any; };', '/etc/default/named:6 OPTIONS="-u bind"']);
});
