// The daemon-config findings on a real Squid 5 in a namespace (test/helpers/squid.ts): the agent
// reads the temp etc tree squid runs with (--etc-root), the finding names the file and line, the
// checker the fix prints (squid -k parse) judges the file, curl -x from the peer and Squid's
// access log show what the finding predicts (403 TCP_DENIED for a client http_access keeps out,
// 503 for one it lets through to a closed port on the peer), and the printed fix, applied as
// printed, changes it. Address syntax: config-squid-syntax.test.ts.
//
// Run: node scripts/run-tests.mjs test/netns/config-squid   (root, squid and curl; skipped otherwise)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { squidConfigKnowledge } from '../../packages/core/src/index.js';
import { probeConnect, rootSkipReason, waitFor } from '../helpers/netns.js';
import { HOST4, HOST6, twoHosts } from '../helpers/scenarios.js';
import { applyConfigFixes, configFindings, only, scanEtc as scan } from '../helpers/daemon-config.js';
import { listening3128, printedSquidCheck, squidConf, squidSkip, startSquid, viaProxy } from '../helpers/squid.js';

const skip = rootSkipReason() || squidSkip();
const debian = fileURLToPath(new URL('../fixtures/config/debian12/squid/', import.meta.url));

test('acl office src 192.0.2.0/24 with http_access allow office: the IPv6 client gets 403 TCP_DENIED, acl-ipv4-only names the acl line; the printed fix passes squid -k parse and lets it in', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('csq1');
  t.after(destroy);
  const squid = await startSquid(t, host, squidConf(['http_port 3128', 'acl office src 192.0.2.0/24   # the office LAN', 'http_access allow office', 'http_access deny all']));
  assert.equal(squid.up, true, squid.log());
  // http_port 3128: one [::] socket without V6ONLY; the IPv4 client arrives as ::ffff:192.0.2.1,
  // matches the IPv4 acl and is logged as 192.0.2.1 (convertsMappedPeers).
  assert.match(await listening3128(host), /^LISTEN .* \*:3128 .* v6only:0/m);
  assert.equal(await viaProxy(peer, HOST4), 503, 'let through (to a closed port)');
  assert.equal(await viaProxy(peer, HOST6), 403);
  await waitFor(() => /TCP_DENIED\/403/.test(squid.access()) || null, { timeoutMs: 5_000, message: squid.access() });
  assert.match(squid.access(), /\s192\.0\.2\.1 TCP_MISS\/503 /);
  assert.match(squid.access(), /\s2001:db8:1::1 TCP_DENIED\/403 /);
  assert.equal(squidConfigKnowledge.convertsMappedPeers, true);

  const report = await scan(host, squid.etc);
  const acl = only(report, 'acl-ipv4-only');
  assert.equal(acl.subject, '/etc/squid/squid.conf:3');
  assert.match(acl.message, /names IPv4 networks only \(192\.0\.2\.0\/24\); veth0 also has 2001:db8:1::\/64, so IPv6 clients of that network are locked out on tcp\/3128/);
  assert.deepEqual(acl.fix.commands.slice(0, 2), ['# /etc/squid/squid.conf, line 3:', '#   acl office src 192.0.2.0/24 2001:db8:1::/64   # the office LAN']);
  applyConfigFixes(acl, squid.etc);
  const check = await printedSquidCheck(host, acl, squid.etc);
  assert.equal(check.ok, true, check.output);
  await squid.restart();
  assert.equal(await viaProxy(peer, HOST6), 503);
  assert.equal(await viaProxy(peer, HOST4), 503);
  assert.deepEqual(configFindings(await scan(host, squid.etc)), []);
});

test('http_port 0.0.0.0:3128: config-ipv6-off names the line and the IPv4-only service; the printed fix (the port alone) passes squid -k parse and serves both families on one socket', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('csq2');
  t.after(destroy);
  const squid = await startSquid(t, host, squidConf(['http_port 0.0.0.0:3128', 'http_access allow all']));
  assert.equal(squid.up, true, squid.log());
  assert.match(await listening3128(host), /0\.0\.0\.0:3128/);
  assert.equal((await probeConnect(peer, 'tcp', HOST6, 3128)).error, 'ECONNREFUSED');

  const report = await scan(host, squid.etc);
  const off = only(report, 'config-ipv6-off');
  assert.equal(off.subject, '/etc/squid/squid.conf:2');
  assert.match(off.message, /^tcp\/3128 is IPv4-only because \/etc\/squid\/squid\.conf:2 says http_port 0\.0\.0\.0:3128: 0\.0\.0\.0:3128 is the IPv4 wildcard and nothing else/);
  assert.ok(report.findings.some((f) => f.rule === 'service-ipv4-only' && f.subject === 'tcp/3128'));
  assert.deepEqual(off.fix.commands.slice(0, 2), ['# /etc/squid/squid.conf, line 2:', '#   http_port 3128']);
  applyConfigFixes(off, squid.etc);
  const check = await printedSquidCheck(host, off, squid.etc);
  assert.equal(check.ok, true, check.output);
  await squid.restart();
  assert.match(await listening3128(host), /^LISTEN .* \*:3128 .* v6only:0/m);
  assert.equal(await viaProxy(peer, HOST6), 503);
  assert.equal(await viaProxy(peer, HOST4), 503);
  // (squid's DNS client keeps UDP sockets of its own on 0.0.0.0 and [::]: not the proxy's port.)
  assert.deepEqual((await scan(host, squid.etc)).findings.filter((f) => f.rule === 'config-ipv6-off' || (f.rule === 'service-ipv4-only' && f.subject === 'tcp/3128')), []);
});

test("Debian 12's squid.conf and conf.d/debian.conf: squid -k parse accepts them, one [::]:3128 socket without V6ONLY, localhost only, no finding", { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('csq3');
  t.after(destroy);
  const squid = await startSquid(t, host, readFileSync(join(debian, 'squid.conf'), 'utf8'), { 'conf.d/debian.conf': readFileSync(join(debian, 'conf.d/debian.conf'), 'utf8') });
  assert.equal(squid.up, true, squid.log());
  assert.match(await listening3128(host), /^LISTEN .* \*:3128 .* v6only:0/m);
  assert.equal(await viaProxy(peer, HOST4), 403, 'http_access allow localhost, then deny all');
  assert.equal(await viaProxy(host, '::1'), 503);
  const report = await scan(host, squid.etc);
  assert.deepEqual(configFindings(report), []);
  const config = report.configs?.find((c) => c.daemon === 'squid');
  assert.deepEqual(config?.files.map((f) => `${f.path} ${f.status}`), ['/etc/squid/squid.conf read', '/etc/squid/conf.d/debian.conf read', '/etc/squid/conf.d/zz-test.conf read']);
  assert.deepEqual(config?.directives.filter((d) => d.key === 'http_port').map((d) => `${d.line} ${d.value}`), ['2106 3128']);
});
