// The daemon-config findings on a real Apache httpd in a namespace: Debian 12's packaged
// /etc/apache2 tree (test/fixtures/config/debian12/apache2) in a temp etc, with the test's own
// ports.conf or site; the agent reads it (--etc-root), the finding names the file and line,
// `apache2ctl -t` judges the file as the finding says, real HTTP requests from the peer show
// what the finding predicts, and the printed fix, applied as printed, passes `apache2ctl -t`
// and changes the behaviour.
//
// httpd runs as `apache2 -d ETC/apache2 -DFOREGROUND` with the variables Debian's envvars sets,
// pointed at the temp dir; `APACHE_CONFDIR=ETC/apache2 apache2ctl -t` is Debian's check on it.
//
// Run: node scripts/run-tests.mjs test/netns/config-apache   (root and apache2; skipped otherwise)
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { probeConnect, rootSkipReason, waitFor, type Netns } from '../helpers/netns.js';
import { HOST4, HOST6, twoHosts } from '../helpers/scenarios.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { applyConfigFixes as applyConfigFix, only, scanEtc as scan } from '../helpers/daemon-config.js';

const APACHE = '/usr/sbin/apache2';
const skip = rootSkipReason() || skipUnlessCommands({ apache2: 'apache2', apache2ctl: 'apache2' }, { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` });
const DEBIAN = fileURLToPath(new URL('../fixtures/config/debian12/apache2/', import.meta.url));

interface Apache {
  etc: string;
  /** ETC/apache2/FILE */
  path(file: string): string;
  check(): Promise<{ ok: boolean; output: string }>;
  accessLog(): string;
  restart(): Promise<void>;
}

/**
 * Debian's apache2 tree under a temp etc, the given files replacing Debian's (WWW: a temp
 * document root with index.html, admin/ and b/), and httpd running on it in `ns`.
 */
async function startApache(t: TestContext, ns: Netns, files: Record<string, string>): Promise<Apache> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-apache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755); // httpd's children (www-data) read the pages below
  const etc = join(dir, 'etc');
  const www = join(dir, 'www');
  const run = join(dir, 'run');
  mkdirSync(run);
  for (const page of ['', 'admin', 'b']) {
    mkdirSync(join(www, page), { recursive: true });
    writeFileSync(join(www, page, 'index.html'), `${page || 'root'}\n`);
  }
  cpSync(DEBIAN, join(etc, 'apache2'), { recursive: true, verbatimSymlinks: true });
  const env = {
    APACHE_RUN_USER: 'www-data',
    APACHE_RUN_GROUP: 'www-data',
    APACHE_PID_FILE: join(run, 'apache2.pid'),
    APACHE_RUN_DIR: run,
    APACHE_LOCK_DIR: run,
    APACHE_LOG_DIR: run,
    LANG: 'C',
  };
  writeFileSync(join(etc, 'apache2/envvars'), Object.entries(env).map(([k, v]) => `export ${k}=${v}\n`).join(''));
  for (const [rel, text] of Object.entries(files)) {
    rmSync(join(etc, rel), { force: true }); // Debian's sites-enabled entries are symlinks
    writeFileSync(join(etc, rel), text.replaceAll('WWW', www));
  }
  let child: ChildProcess | null = null;
  let stderr = '';
  const start = async () => {
    rmSync(env.APACHE_PID_FILE, { force: true });
    stderr = '';
    child = ns.spawn('env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`), APACHE, '-d', join(etc, 'apache2'), '-DFOREGROUND']);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // httpd writes its pid file once its listeners are bound.
    await waitFor(() => existsSync(env.APACHE_PID_FILE) || child?.exitCode !== null || null, { timeoutMs: 15_000, message: 'apache2 did not start' });
    assert.equal(child.exitCode, null, `apache2 exited: ${stderr}`);
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
    path: (file) => join(etc, 'apache2', file),
    check: async () => {
      const r = await ns.exec('env', [`APACHE_CONFDIR=${join(etc, 'apache2')}`, 'apache2ctl', '-t'], { timeoutMs: 15_000 });
      return { ok: r.code === 0, output: `${r.stdout}${r.stderr}` };
    },
    accessLog: () => (existsSync(join(run, 'other_vhosts_access.log')) ? readFileSync(join(run, 'other_vhosts_access.log'), 'utf8') : ''),
    restart: async () => {
      await stop();
      await start();
    },
  };
}

const HTTP_SCRIPT = `
const [host, port, path] = process.argv.slice(1);
const req = require('node:http').get({ host, port: Number(port), path, timeout: 3000 }, (res) => {
  let body = '';
  res.setEncoding('utf8').on('data', (d) => (body += d)).on('end', () => { process.stdout.write(JSON.stringify({ status: res.statusCode, body })); });
});
req.on('timeout', () => req.destroy(new Error('ETIMEDOUT')));
req.on('error', (e) => process.stdout.write(JSON.stringify({ status: 0, body: e.code || e.message })));
`;

async function get(ns: Netns, address: string, port: number, path: string): Promise<{ status: number; body: string }> {
  const r = await ns.exec(process.execPath, ['-e', HTTP_SCRIPT, address, String(port), path], { timeoutMs: 10_000 });
  return JSON.parse(r.stdout) as { status: number; body: string };
}

const site = (inside: string[]) =>
  ['<VirtualHost *:80>', '  DocumentRoot WWW', '  <Directory WWW>', '    Require all granted', '  </Directory>', ...inside.map((l) => `  ${l}`), '</VirtualHost>', ''].join('\n');

test('Listen 0.0.0.0:80: config-ipv6-off names the line and the IPv4-only service; the fix (Listen 80) passes apache2ctl -t and httpd takes IPv6', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('ca1');
  t.after(destroy);
  const apache = await startApache(t, host, { 'apache2/ports.conf': 'Listen 0.0.0.0:80\n', 'apache2/sites-enabled/000-default.conf': site([]) });
  assert.equal((await apache.check()).ok, true);
  assert.equal((await get(peer, HOST4, 80, '/')).status, 200);
  assert.equal((await probeConnect(peer, 'tcp', HOST6, 80)).error, 'ECONNREFUSED');

  const before = await scan(host, apache.etc);
  const off = only(before, 'config-ipv6-off');
  assert.equal(off.subject, '/etc/apache2/ports.conf:1');
  assert.match(off.message, /^tcp\/80 is IPv4-only because \/etc\/apache2\/ports\.conf:1 says Listen 0\.0\.0\.0:80: Listen 0\.0\.0\.0:80 opens an IPv4 socket only/);
  assert.ok(before.findings.some((f) => f.rule === 'service-ipv4-only' && f.subject === 'tcp/80'), 'the service finding it explains');

  applyConfigFix(off, apache.etc);
  assert.equal(readFileSync(apache.path('ports.conf'), 'utf8'), 'Listen 80\n');
  const check = await apache.check();
  assert.equal(check.ok, true, check.output);
  await apache.restart();
  assert.equal((await get(peer, HOST6, 80, '/')).status, 200, 'after the fix httpd serves IPv6 clients');
  assert.equal((await get(peer, HOST4, 80, '/')).status, 200, '... and IPv4 ones, on the same socket');
  const after = await scan(host, apache.etc);
  assert.deepEqual(after.findings.filter((f) => f.rule === 'config-ipv6-off' || f.rule === 'service-ipv4-only'), []);
  assert.ok(after.services.some((s) => s.port === 80 && s.mode === 'dual-mapped'), 'one [::]:80 socket that takes IPv4 mapped');
});

test('Require ip 192.0.2.0/24: acl-ipv4-only; httpd refuses the same network over IPv6 until the fix; the mapped IPv4 peer matches the IPv4 network', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('ca2');
  t.after(destroy);
  const apache = await startApache(t, host, {
    'apache2/sites-enabled/000-default.conf': site(['<Location /admin>', '  Require ip 192.0.2.0/24', '</Location>']), // Require: line 7
  });
  assert.equal((await get(peer, HOST4, 80, '/admin/')).status, 200, 'on the one [::]:80 socket 192.0.2.1 arrives as ::ffff:192.0.2.1 and still matches');
  // httpd logs the mapped peer as plain IPv4 (%h of Debian's vhost_combined format).
  await waitFor(() => /^\S+:80 192\.0\.2\.1 .*"GET \/admin\/ HTTP\/1\.1" 200/m.test(apache.accessLog()) || null, { message: `no plain-IPv4 log line: ${apache.accessLog()}` });
  assert.equal((await get(peer, HOST6, 80, '/admin/')).status, 403, 'the IPv6 client of the same network is refused');

  const report = await scan(host, apache.etc);
  assert.ok(report.services.some((s) => s.port === 80 && s.mode === 'dual-mapped'));
  const acl = only(report, 'acl-ipv4-only');
  assert.equal(acl.subject, '/etc/apache2/sites-enabled/000-default.conf:7');
  assert.match(acl.message, /names IPv4 networks only \(192\.0\.2\.0\/24\); veth0 also has 2001:db8:1::\/64, so IPv6 clients of that network are locked out on tcp\/80\.$/);
  applyConfigFix(acl, apache.etc);
  assert.match(readFileSync(apache.path('sites-enabled/000-default.conf'), 'utf8'), /^Require ip 192\.0\.2\.0\/24 2001:db8:1::\/64$/m);
  const check = await apache.check();
  assert.equal(check.ok, true, check.output);
  await apache.restart();
  assert.equal((await get(peer, HOST6, 80, '/admin/')).status, 200, 'after the fix the IPv6 client of the network is let in');
  assert.deepEqual((await scan(host, apache.etc)).findings.filter((f) => f.rule === 'acl-ipv4-only'), []);
});

test('<VirtualHost 2001:db8:1::2> without brackets: config-address-syntax; apache2ctl -t passes but httpd ignores the address; the bracketed fix serves the site', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('ca3');
  t.after(destroy);
  const apache = await startApache(t, host, {
    'apache2/sites-enabled/000-default.conf': site([]),
    // ServerName: without one httpd looks the address up in the DNS, which has no answer here.
    'apache2/sites-enabled/v6.conf': ['<VirtualHost 2001:db8:1::2>', '  ServerName v6.example', '  DocumentRoot WWW/b', '  <Directory WWW/b>', '    Require all granted', '  </Directory>', '</VirtualHost>', ''].join('\n'),
  });
  const check = await apache.check();
  assert.equal(check.ok, true, 'apache2ctl -t lets it pass ...');
  assert.match(check.output, /Could not resolve host name 2001:db8:1: -- ignoring!/, '... saying it ignores the address');
  assert.deepEqual(await get(peer, HOST6, 80, '/'), { status: 200, body: 'root\n' }, 'the default site answers for 2001:db8:1::2');

  const report = await scan(host, apache.etc);
  const syntax = only(report, 'config-address-syntax');
  assert.equal(syntax.severity, 'critical');
  assert.equal(syntax.subject, '/etc/apache2/sites-enabled/v6.conf:1');
  applyConfigFix(syntax, apache.etc);
  assert.match(readFileSync(apache.path('sites-enabled/v6.conf'), 'utf8'), /^<VirtualHost \[2001:db8:1::2\]>$/m);
  const fixed = await apache.check();
  assert.equal(fixed.ok, true, fixed.output);
  assert.doesNotMatch(fixed.output, /ignoring/);
  await apache.restart();
  assert.deepEqual(await get(peer, HOST6, 80, '/'), { status: 200, body: 'b\n' }, 'after the fix the site answers for its address');
  assert.deepEqual(await get(peer, HOST4, 80, '/'), { status: 200, body: 'root\n' });
  assert.deepEqual((await scan(host, apache.etc)).findings.filter((f) => f.rule === 'config-address-syntax'), []);
});

test("Debian 12's own apache2 configuration gives no finding from the config rules", { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('ca4');
  t.after(destroy);
  const apache = await startApache(t, host, {});
  assert.equal((await apache.check()).ok, true);
  assert.notEqual((await get(peer, HOST4, 80, '/')).status, 0);
  assert.notEqual((await get(peer, HOST6, 80, '/')).status, 0);
  const report = await scan(host, apache.etc);
  assert.deepEqual(report.findings.filter((f) => f.rule.startsWith('config-') || f.rule.startsWith('acl-')), []);
  const config = report.configs?.find((c) => c.daemon === 'apache');
  assert.deepEqual(config?.directives.filter((d) => d.key === 'Listen').map((d) => `${d.file}:${d.line} ${d.value}`), ['/etc/apache2/ports.conf:5 80', '/etc/apache2/ports.conf:8 443', '/etc/apache2/ports.conf:12 443']);
});
