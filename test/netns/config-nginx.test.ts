// The daemon-config findings on a real nginx in a namespace: the agent reads the nginx.conf
// nginx runs with (--etc-root), the finding names the file and line, `nginx -t` judges the file
// as the finding says, real HTTP requests from the peer show what the finding predicts, and the
// printed fix, applied as printed (the rules print the corrected line without its indent),
// passes `nginx -t` and changes the behaviour.
//
// nginx runs as `nginx -c ETC/nginx/nginx.conf`: its prefix is then ETC/nginx, so the relative
// include patterns of these files mean what they mean under /etc/nginx, which is how the
// agent reads them. `nginx -t` binds the listen addresses, so it runs inside the namespace.
//
// Run: node scripts/run-tests.mjs test/netns/config-nginx   (root and nginx; skipped otherwise)
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { probeConnect, rootSkipReason, waitFor, type Netns } from '../helpers/netns.js';
import { HOST4, HOST6, twoHosts } from '../helpers/scenarios.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { applyConfigFixes as applyConfigFix, only, scanEtc as scan } from '../helpers/daemon-config.js';

const NGINX = '/usr/sbin/nginx';
const skip = rootSkipReason() || skipUnlessCommands({ nginx: 'nginx' }, { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` });

interface Nginx {
  etc: string;
  /** ETC/nginx/FILE */
  path(file: string): string;
  check(): Promise<{ ok: boolean; output: string }>;
  accessLog(): string;
  restart(): Promise<void>;
}

/**
 * An etc tree with nginx/nginx.conf (an http block with the given lines, access log and pid in
 * the temp dir) and the other files given, and nginx running on it in `ns`. `start: false`
 * for a file nginx refuses.
 */
async function startNginx(t: TestContext, ns: Netns, http: string[], files: Record<string, string> = {}, opts: { start?: boolean } = {}): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-nginx-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755); // nginx's workers (not root) read the pages below
  const etc = join(dir, 'etc');
  const www = join(dir, 'www');
  for (const page of ['', 'admin', 'b']) {
    mkdirSync(join(www, page), { recursive: true });
    writeFileSync(join(www, page, 'index.html'), `${page || 'root'}\n`);
  }
  const conf = {
    'nginx/nginx.conf': ['events {}', 'http {', `  access_log ${join(dir, 'access.log')} combined;`, ...http.map((l) => `  ${l.replaceAll('WWW', www)}`), '}', ''].join('\n'),
    ...files,
  };
  for (const [rel, text] of Object.entries(conf)) {
    mkdirSync(join(etc, rel, '..'), { recursive: true });
    writeFileSync(join(etc, rel), text.replaceAll('WWW', www));
  }
  const args = ['-c', join(etc, 'nginx/nginx.conf'), '-e', join(dir, 'error.log'), '-g', `pid ${join(dir, 'nginx.pid')};`];
  let child: ChildProcess | null = null;
  const start = async () => {
    rmSync(join(dir, 'nginx.pid'), { force: true });
    child = ns.spawn(NGINX, [...args.slice(0, -1), `${args[args.length - 1]} daemon off;`]);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // nginx writes its pid file after it has bound every listen socket.
    await waitFor(() => existsSync(join(dir, 'nginx.pid')) || child?.exitCode !== null || null, { timeoutMs: 10_000, message: 'nginx did not start' });
    assert.equal(child.exitCode, null, `nginx exited: ${stderr} ${readFileSync(join(dir, 'error.log'), 'utf8')}`);
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
  if (opts.start !== false) await start();
  return {
    etc,
    path: (file) => join(etc, 'nginx', file),
    check: async () => {
      const r = await ns.exec(NGINX, ['-t', ...args], { timeoutMs: 15_000 });
      return { ok: r.code === 0, output: r.stderr };
    },
    accessLog: () => (existsSync(join(dir, 'access.log')) ? readFileSync(join(dir, 'access.log'), 'utf8') : ''),
    restart: async () => {
      await stop();
      await start();
    },
  };
}

const HTTP_SCRIPT = `
const [host, port, path, name] = process.argv.slice(1);
const req = require('node:http').get({ host, port: Number(port), path, headers: name ? { host: name } : {}, timeout: 3000 }, (res) => {
  let body = '';
  res.setEncoding('utf8').on('data', (d) => (body += d)).on('end', () => { process.stdout.write(JSON.stringify({ status: res.statusCode, body })); });
});
req.on('timeout', () => req.destroy(new Error('ETIMEDOUT')));
req.on('error', (e) => process.stdout.write(JSON.stringify({ status: 0, body: e.code || e.message })));
`;

/** A GET from `ns`: the status (0 when no connection) and the body. */
async function get(ns: Netns, address: string, port: number, path: string, name?: string): Promise<{ status: number; body: string }> {
  const r = await ns.exec(process.execPath, ['-e', HTTP_SCRIPT, address, String(port), path, name ?? ''], { timeoutMs: 10_000 });
  return JSON.parse(r.stdout) as { status: number; body: string };
}

test('listen 80 alone: config-ipv6-off names the line and the IPv4-only service; the fix passes nginx -t and nginx takes IPv6', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cn1');
  t.after(destroy);
  const nginx = await startNginx(t, host, ['include sites-enabled/*;'], { 'nginx/sites-enabled/site': 'server {\n\tlisten 80;\n\troot WWW;\n}\n' });
  assert.equal((await nginx.check()).ok, true);
  assert.equal((await get(peer, HOST4, 80, '/')).status, 200);
  assert.equal((await probeConnect(peer, 'tcp', HOST6, 80)).error, 'ECONNREFUSED', 'listen 80 opens no IPv6 socket');

  const before = await scan(host, nginx.etc);
  const off = only(before, 'config-ipv6-off');
  assert.equal(off.subject, '/etc/nginx/sites-enabled/site:2');
  assert.match(off.message, /^tcp\/80 is IPv4-only because \/etc\/nginx\/sites-enabled\/site:2 says listen 80;: nginx listens on port 80 over IPv4 only/);
  assert.ok(before.findings.some((f) => f.rule === 'service-ipv4-only' && f.subject === 'tcp/80'), 'the service finding it explains');

  applyConfigFix(off, nginx.etc);
  assert.match(readFileSync(nginx.path('sites-enabled/site'), 'utf8'), /^listen 80; listen \[::\]:80;$/m);
  const check = await nginx.check();
  assert.equal(check.ok, true, check.output);
  await nginx.restart();
  assert.equal((await get(peer, HOST6, 80, '/')).status, 200, 'after the fix nginx serves IPv6 clients');
  const after = await scan(host, nginx.etc);
  assert.deepEqual(after.findings.filter((f) => f.rule === 'config-ipv6-off' || f.rule === 'service-ipv4-only'), []);
});

test('a second server block on IPv4 only: its IPv6 clients get the default server; config-ipv6-off says so and its fix serves them', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cn2');
  t.after(destroy);
  const nginx = await startNginx(t, host, [
    'server {', // 4
    '  listen 8080 default_server; listen [::]:8080 default_server;',
    '  server_name a.example;',
    '  return 200 "a\\n";',
    '}',
    'server {', // 9
    '  listen 8080;', // 10
    '  server_name b.example;',
    '  return 200 "b\\n";',
    '}',
  ]);
  assert.deepEqual(await get(peer, HOST4, 8080, '/', 'b.example'), { status: 200, body: 'b\n' });
  assert.deepEqual(await get(peer, HOST6, 8080, '/', 'b.example'), { status: 200, body: 'a\n' }, 'over IPv6 nginx answers b.example from the default server');

  const report = await scan(host, nginx.etc);
  const off = only(report, 'config-ipv6-off');
  assert.equal(off.subject, '/etc/nginx/nginx.conf:10');
  assert.match(off.message, /^\/etc\/nginx\/nginx\.conf:10 says listen 8080;: server b\.example listens on port 8080 over IPv4 only: other server blocks have \[::\]:8080, so IPv6 clients asking for b\.example get the default server of \[::\]:8080 instead\.$/);
  applyConfigFix(off, nginx.etc);
  const check = await nginx.check();
  assert.equal(check.ok, true, check.output);
  await nginx.restart();
  assert.deepEqual(await get(peer, HOST6, 8080, '/', 'b.example'), { status: 200, body: 'b\n' }, 'after the fix b.example is served over IPv6');
  assert.deepEqual((await scan(host, nginx.etc)).findings.filter((f) => f.rule === 'config-ipv6-off'), []);
});

test('allow 192.0.2.0/24; deny all: acl-ipv4-only; nginx answers 403 to the same network over IPv6 until the fix; mapped peers match IPv4 rules', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cn3');
  t.after(destroy);
  const nginx = await startNginx(t, host, [
    'server {', // 4
    '  listen 80; listen [::]:80;',
    '  root WWW;',
    '  location /admin {', // 7
    '    allow 192.0.2.0/24;', // 8
    '    deny all;',
    '  }',
    '}',
    'server {', // 12: one socket for both families, IPv4 clients arrive as ::ffff:192.0.2.1
    '  listen [::]:8081 ipv6only=off;',
    '  root WWW;',
    '  location /admin { allow 192.0.2.0/24; deny all; }', // 15
    '}',
  ]);
  assert.equal((await get(peer, HOST4, 80, '/admin/')).status, 200);
  assert.equal((await get(peer, HOST6, 80, '/admin/')).status, 403, 'the IPv6 client of the same network is refused');
  assert.equal((await get(peer, HOST4, 8081, '/admin/')).status, 200, 'a mapped IPv4 peer matches allow 192.0.2.0/24 (nginx converts it)');
  assert.match(nginx.accessLog(), /^::ffff:192\.0\.2\.1 .*"GET \/admin\/ HTTP\/1\.1" 200/m, '... while $remote_addr logs it mapped');

  const report = await scan(host, nginx.etc);
  const acls = report.findings.filter((f) => f.rule === 'acl-ipv4-only');
  assert.deepEqual(acls.map((f) => f.subject), ['/etc/nginx/nginx.conf:8', '/etc/nginx/nginx.conf:15']);
  assert.match(acls[0]!.message, /names IPv4 networks only \(192\.0\.2\.0\/24\); veth0 also has 2001:db8:1::\/64, so IPv6 clients of that network are locked out on tcp\/80\.$/);
  assert.match(acls[1]!.message, /locked out on tcp\/8081\.$/);
  for (const f of acls) applyConfigFix(f, nginx.etc);
  assert.match(readFileSync(nginx.path('nginx.conf'), 'utf8'), /^allow 192\.0\.2\.0\/24; allow 2001:db8:1::\/64;$/m);
  const check = await nginx.check();
  assert.equal(check.ok, true, check.output);
  await nginx.restart();
  assert.equal((await get(peer, HOST6, 80, '/admin/')).status, 200, 'after the fix the IPv6 client of the network is let in');
  assert.equal((await get(peer, HOST6, 8081, '/admin/')).status, 200);
  assert.equal((await get(peer, HOST4, 8081, '/admin/')).status, 200);
  assert.deepEqual((await scan(host, nginx.etc)).findings.filter((f) => f.rule === 'acl-ipv4-only'), []);
});

test('listen 2001:db8:1::2:8080 without brackets: config-address-syntax (critical); nginx -t refuses it; the bracketed fix listens on port 8080', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cn4');
  t.after(destroy);
  const nginx = await startNginx(t, host, ['server {', '  listen 2001:db8:1::2:8080;', '  return 200 "v6\\n";', '}'], {}, { start: false });
  const refused = await nginx.check();
  assert.equal(refused.ok, false);
  assert.match(refused.output, /invalid port in "2001:db8:1::2:8080" of the "listen" directive in \S+nginx\.conf:5/);
  const report = await scan(host, nginx.etc);
  const syntax = only(report, 'config-address-syntax');
  assert.equal(syntax.severity, 'critical');
  assert.equal(syntax.subject, '/etc/nginx/nginx.conf:5');
  applyConfigFix(syntax, nginx.etc);
  assert.match(readFileSync(nginx.path('nginx.conf'), 'utf8'), /^listen \[2001:db8:1::2\]:8080;$/m);
  const check = await nginx.check();
  assert.equal(check.ok, true, check.output);
  await nginx.restart();
  assert.deepEqual(await get(peer, HOST6, 8080, '/'), { status: 200, body: 'v6\n' });
  assert.deepEqual((await scan(host, nginx.etc)).findings.filter((f) => f.rule === 'config-address-syntax'), []);
});

test("Debian 12's own nginx.conf and default site give no finding from the config rules", { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('cn5');
  t.after(destroy);
  const debian = fileURLToPath(new URL('../fixtures/config/debian12/nginx/', import.meta.url));
  // Debian's files as packaged, with only what would write to this machine's /run and
  // /var/log pointed at the temp dir, and the includes made relative (the same files
  // under the prefix, line numbers unchanged).
  const packaged = readFileSync(join(debian, 'nginx.conf'), 'utf8')
    .replace(/^pid .*$/m, '')
    .replace(/^error_log .*$/m, '')
    .replace(/access_log \/var\/log\/nginx\/access\.log;/, 'access_log off;')
    .replaceAll('include /etc/nginx/', 'include ');
  const files: Record<string, string> = { 'nginx/nginx.conf': packaged };
  for (const rel of ['mime.types', 'sites-enabled/default']) files[`nginx/${rel}`] = readFileSync(join(debian, rel), 'utf8');
  const nginx = await startNginx(t, host, [], files);
  assert.equal((await nginx.check()).ok, true);
  assert.notEqual((await get(peer, HOST4, 80, '/')).status, 0, 'the default site answers over IPv4');
  assert.notEqual((await get(peer, HOST6, 80, '/')).status, 0, '... and over IPv6');
  const report = await scan(host, nginx.etc);
  assert.deepEqual(report.findings.filter((f) => f.rule.startsWith('config-') || f.rule.startsWith('acl-')), []);
  const config = report.configs?.find((c) => c.daemon === 'nginx');
  assert.deepEqual(config?.directives.filter((d) => d.key === 'listen').map((d) => `${d.file}:${d.line} ${d.value}`), ['/etc/nginx/sites-enabled/default:22 80 default_server', '/etc/nginx/sites-enabled/default:23 [::]:80 default_server']);
});
