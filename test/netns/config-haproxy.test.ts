// The daemon-config findings on a real HAProxy 2.6 in a namespace: the agent reads the
// haproxy.cfg haproxy runs with (--etc-root), the finding names the file and line, the checker
// the fix prints (`haproxy -c -f`) judges the file as the finding says, curl from the peer shows
// what the finding predicts, and the printed fix, applied as printed, passes the checker and
// changes the behaviour.
//
// Run: node scripts/run-tests.mjs test/netns/config-haproxy   (root, haproxy and curl; skipped otherwise)
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { haproxyConfigKnowledge } from '../../packages/core/src/index.js';
import { probeConnect, rootSkipReason, type Netns } from '../helpers/netns.js';
import { HOST4, HOST6, twoHosts } from '../helpers/scenarios.js';
import { skipUnlessCommands } from '../helpers/requirements.js';
import { applyConfigFixes, configFindings, only, scanEtc as scan } from '../helpers/daemon-config.js';

const skip = rootSkipReason() || skipUnlessCommands({ haproxy: 'haproxy', curl: 'curl' }, { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` });
const HAPROXY = '/usr/sbin/haproxy';

const DEFAULTS = ['defaults', '  mode http', '  timeout connect 5s', '  timeout client 5s', '  timeout server 5s'];
/** A frontend that answers every request itself with the client address HAProxy sees. */
const frontend = (name: string, lines: string[]) => [`frontend ${name}`, ...lines.map((l) => `  ${l}`), '  http-request return status 200 content-type text/plain lf-string "%[src]\\n"'];

interface Haproxy {
  etc: string;
  config: string;
  /** The checker the fix prints, run as printed on this file. */
  check(): Promise<{ ok: boolean; output: string }>;
  restart(): Promise<void>;
}

/** An etc tree with haproxy/haproxy.cfg holding `lines`, and haproxy running on it in `ns` (daemon mode, pid file in the temp dir). */
async function startHaproxy(t: TestContext, ns: Netns, lines: string[], opts: { start?: boolean } = {}): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-haproxy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const etc = join(dir, 'etc');
  mkdirSync(join(etc, 'haproxy'), { recursive: true });
  const config = join(etc, 'haproxy', 'haproxy.cfg');
  writeFileSync(config, `${lines.join('\n')}\n`);
  const pidFile = join(dir, 'haproxy.pid');
  const stop = async () => {
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    rmSync(pidFile);
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const start = async () => {
    // -D: the parent returns once every listener is bound, and exits non-zero when one cannot be.
    const r = await ns.exec(HAPROXY, ['-D', '-p', pidFile, '-f', config], { timeoutMs: 15_000 });
    assert.equal(r.code, 0, `haproxy did not start: ${r.stderr}`);
  };
  t.after(stop);
  if (opts.start !== false) await start();
  return {
    etc,
    config,
    check: async () => {
      const r = await ns.exec('sh', ['-c', `PATH="$PATH:/usr/sbin"; ${haproxyConfigKnowledge.checker.replace('/etc/haproxy/haproxy.cfg', config)}`], { timeoutMs: 15_000 });
      return { ok: r.code === 0, output: r.stdout + r.stderr };
    },
    restart: async () => {
      await stop();
      await start();
    },
  };
}

/** curl from `ns`: the HTTP status and body, or status 0 and curl's exit code when there is no answer. */
async function get(ns: Netns, address: string, port: number): Promise<{ status: number; body: string }> {
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}/`;
  const r = await ns.exec('curl', ['-sS', '-m', '3', '-o', '-', '-w', '\n%{http_code}', url], { timeoutMs: 10_000 });
  const lines = r.stdout.split('\n');
  const status = Number(lines.pop());
  return status === 0 ? { status: 0, body: `curl exit ${r.code}` } : { status, body: lines.join('\n').trim() };
}

test('bind :8080 alone: config-ipv6-off names the line and the IPv4-only service; the printed fix (bind :::8080 v6only added) passes haproxy -c and takes IPv6', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('hx1');
  t.after(destroy);
  const hx = await startHaproxy(t, host, [...DEFAULTS, ...frontend('web', ['bind :8080'])]); // bind on line 7
  assert.equal((await hx.check()).ok, true);
  assert.deepEqual(await get(peer, HOST4, 8080), { status: 200, body: '192.0.2.1' });
  assert.equal((await probeConnect(peer, 'tcp', HOST6, 8080)).error, 'ECONNREFUSED', 'bind :8080 opens 0.0.0.0 only');

  const before = await scan(host, hx.etc);
  const off = only(before, 'config-ipv6-off');
  assert.equal(off.subject, '/etc/haproxy/haproxy.cfg:7');
  assert.match(off.message, /^tcp\/8080 is IPv4-only because \/etc\/haproxy\/haproxy\.cfg:7 says bind :8080: ":8080" is the IPv4 wildcard \(0\.0\.0\.0\) only and no bind takes IPv6 on port 8080: frontend web takes no IPv6 client there/);
  assert.ok(before.findings.some((f) => f.rule === 'service-ipv4-only' && f.subject === 'tcp/8080'), 'the service finding it explains');

  applyConfigFixes(off, hx.etc);
  assert.match(readFileSync(hx.config, 'utf8'), /^bind :8080\nbind :::8080 v6only\n/m);
  const check = await hx.check();
  assert.equal(check.ok, true, check.output);
  await hx.restart();
  assert.deepEqual(await get(peer, HOST6, 8080), { status: 200, body: '2001:db8:1::1' }, 'after the fix IPv6 clients are served');
  assert.deepEqual(await get(peer, HOST4, 8080), { status: 200, body: '192.0.2.1' }, '... and IPv4 ones still on their own socket, not mapped');
  const after = await scan(host, hx.etc);
  assert.deepEqual(after.findings.filter((f) => f.rule === 'config-ipv6-off' || f.rule === 'service-ipv4-only'), []);
});

test('acl src 192.0.2.0/24 guarding http-request deny and tcp-request reject: acl-ipv4-only; IPv6 clients of the network refused until the fix; a mapped peer matches the IPv4 acl', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('hx2');
  t.after(destroy);
  const hx = await startHaproxy(t, host, [
    ...DEFAULTS,
    ...frontend('web', ['bind :8080', 'bind :::8080 v6only', 'acl lan src 192.0.2.0/24 # office', 'http-request deny unless lan']), // acl: line 9
    ...frontend('mapped', ['bind :::8081 v4v6', 'acl lan src 192.0.2.0/24', 'http-request deny if !lan']), // 12: one socket, IPv4 clients arrive as ::ffff:192.0.2.1; acl: line 14
    ...frontend('tcp', ['bind :8082,:::8082 v6only', 'tcp-request connection reject unless { src 192.0.2.0/24 }']), // 17: reject on line 19
  ]);
  assert.equal((await get(peer, HOST4, 8080)).status, 200);
  assert.equal((await get(peer, HOST6, 8080)).status, 403, 'the IPv6 client of the same network is refused');
  assert.deepEqual(await get(peer, HOST4, 8081), { status: 200, body: '::ffff:192.0.2.1' }, 'a mapped IPv4 peer matches acl src 192.0.2.0/24 (pat_match_ip converts it), while src shows it mapped');
  assert.equal((await get(peer, HOST6, 8081)).status, 403);
  assert.equal((await get(peer, HOST4, 8082)).status, 200);
  assert.equal((await get(peer, HOST6, 8082)).status, 0, 'tcp-request connection reject closes the IPv6 connection');

  const report = await scan(host, hx.etc);
  const acls = report.findings.filter((f) => f.rule === 'acl-ipv4-only');
  assert.deepEqual(acls.map((f) => f.subject), ['/etc/haproxy/haproxy.cfg:9', '/etc/haproxy/haproxy.cfg:14', '/etc/haproxy/haproxy.cfg:19']);
  assert.match(acls[0]!.message, /names IPv4 networks only \(192\.0\.2\.0\/24\); veth0 also has 2001:db8:1::\/64, so IPv6 clients of that network are locked out on tcp\/8080\.$/);
  assert.match(acls[1]!.message, /locked out on tcp\/8081\.$/);
  assert.match(acls[2]!.message, /locked out on tcp\/8082\.$/);
  for (const f of acls) applyConfigFixes(f, hx.etc);
  const text = readFileSync(hx.config, 'utf8');
  assert.match(text, /^acl lan src 192\.0\.2\.0\/24 2001:db8:1::\/64 # office$/m);
  assert.match(text, /^tcp-request connection reject unless \{ src 192\.0\.2\.0\/24 2001:db8:1::\/64 \}$/m);
  const check = await hx.check();
  assert.equal(check.ok, true, check.output);
  await hx.restart();
  for (const port of [8080, 8081, 8082]) assert.deepEqual(await get(peer, HOST6, port), { status: 200, body: '2001:db8:1::1' }, `after the fix the IPv6 client is let in on ${port}`);
  assert.deepEqual(configFindings(await scan(host, hx.etc)), []);
});

test('acl src with a bracketed IPv6 network: config-address-syntax (critical); haproxy -c refuses it; the corrected line passes and lets the IPv6 client in', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('hx3');
  t.after(destroy);
  const lines = [...DEFAULTS, ...frontend('web', ['bind :8080,:::8080 v6only', 'acl lan src 192.0.2.0/24 [2001:db8:1::]/64', 'http-request deny unless lan'])]; // acl: line 8
  const hx = await startHaproxy(t, host, lines, { start: false });
  const refused = await hx.check();
  assert.equal(refused.ok, false);
  assert.match(refused.output, /parsing \[\S+haproxy\.cfg:8\] : error detected while parsing ACL 'lan' : '\[2001:db8:1::\]\/64' is not a valid IPv4 or IPv6 address/);
  const report = await scan(host, hx.etc);
  const syntax = only(report, 'config-address-syntax');
  assert.equal(syntax.severity, 'critical');
  assert.equal(syntax.subject, '/etc/haproxy/haproxy.cfg:8');
  applyConfigFixes(syntax, hx.etc);
  assert.match(readFileSync(hx.config, 'utf8'), /^acl lan src 192\.0\.2\.0\/24 2001:db8:1::\/64$/m);
  const check = await hx.check();
  assert.equal(check.ok, true, check.output);
  await hx.restart();
  assert.deepEqual(await get(peer, HOST6, 8080), { status: 200, body: '2001:db8:1::1' });
  assert.deepEqual(configFindings(await scan(host, hx.etc)), []);
});

test("Debian 12's own haproxy.cfg and /etc/default/haproxy: haproxy -c accepts them and they give no finding from the config rules", { skip }, async (t) => {
  const { host, destroy } = await twoHosts('hx4');
  t.after(destroy);
  const debian = fileURLToPath(new URL('../fixtures/config/debian12/', import.meta.url));
  const hx = await startHaproxy(t, host, [], { start: false });
  // The packaged file, with only its errorfile paths pointed at the package's own pages copied into the tree (line numbers unchanged).
  writeFileSync(hx.config, readFileSync(join(debian, 'haproxy/haproxy.cfg'), 'utf8').replaceAll('/etc/haproxy/errors/', `${join(hx.etc, 'haproxy/errors')}/`));
  mkdirSync(join(hx.etc, 'haproxy/errors'));
  for (const page of readdirSync('/etc/haproxy/errors')) copyFileSync(join('/etc/haproxy/errors', page), join(hx.etc, 'haproxy/errors', page));
  mkdirSync(join(hx.etc, 'default'));
  copyFileSync(join(debian, 'default/haproxy'), join(hx.etc, 'default/haproxy'));
  const check = await hx.check();
  assert.equal(check.ok, true, check.output);
  const report = await scan(host, hx.etc);
  assert.deepEqual(configFindings(report), []);
  const config = report.configs?.find((c) => c.daemon === 'haproxy');
  assert.deepEqual(config?.files.map((f) => `${f.path} ${f.status}`), ['/etc/default/haproxy read', '/etc/haproxy/haproxy.cfg read']);
});
