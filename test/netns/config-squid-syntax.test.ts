// config-address-syntax on a real Squid 5 in a namespace (test/helpers/squid.ts): a bare IPv6
// address in http_port, which squid -k parse and squid refuse, and a zone with a mask in an acl,
// which squid -k parse passes with a warning while the entry lets every client in; the printed
// fixes pass the printed checker and change what the proxy does. The other rules:
// config-squid.test.ts.
//
// Run: node scripts/run-tests.mjs test/netns/config-squid-syntax   (root, squid and curl; skipped otherwise)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rootSkipReason } from '../helpers/netns.js';
import { HOST4, HOST6, twoHosts } from '../helpers/scenarios.js';
import { applyConfigFixes, configFindings, only, scanEtc as scan } from '../helpers/daemon-config.js';
import { listening3128, printedSquidCheck, squidConf, squidSkip, startSquid, viaProxy } from '../helpers/squid.js';

const skip = rootSkipReason() || squidSkip();

test('http_port 2001:db8:1::2:3128 without brackets: squid -k parse and squid refuse it, config-address-syntax (critical); the printed [2001:db8:1::2]:3128 passes and serves', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('csqs1');
  t.after(destroy);
  const squid = await startSquid(t, host, squidConf(['http_port 2001:db8:1::2:3128', 'http_access allow all']));
  assert.equal(squid.up, false);
  assert.match(squid.log(), /FATAL: Bungled \/etc\/squid\/squid\.conf line 2: http_port 2001:db8:1::2:3128/);

  const syntax = only(await scan(host, squid.etc), 'config-address-syntax');
  assert.equal(syntax.severity, 'critical');
  assert.equal(syntax.subject, '/etc/squid/squid.conf:2');
  const before = await printedSquidCheck(host, syntax, squid.etc);
  assert.equal(before.ok, false, 'the checker refuses the line as written');
  assert.match(before.output, /No digits were found in the input value 'db8:1::2:3128'/);
  assert.deepEqual(syntax.fix.commands.slice(0, 2), ['# /etc/squid/squid.conf, line 2:', '#   http_port [2001:db8:1::2]:3128']);
  applyConfigFixes(syntax, squid.etc);
  const check = await printedSquidCheck(host, syntax, squid.etc);
  assert.equal(check.ok, true, check.output);
  await squid.restart();
  assert.equal(squid.up, true, squid.log());
  assert.match(await listening3128(host), /\[2001:db8:1::2\]:3128/);
  assert.equal(await viaProxy(peer, HOST6), 503);
  assert.deepEqual(configFindings(await scan(host, squid.etc)), []);
});

test('an acl network with a zone and a mask (fe80::%veth0/64): squid -k parse passes it with a warning, and alone in its list it lets every client in; config-address-syntax (critical), the printed fe80::/64 keeps the others out', { skip }, async (t) => {
  const { host, peer, destroy } = await twoHosts('csqs2');
  t.after(destroy);
  const squid = await startSquid(t, host, squidConf(['http_port 3128', 'acl lan src fe80::%veth0/64', 'http_access allow lan', 'http_access deny all']));
  assert.equal(squid.up, true, squid.log());
  assert.equal(await viaProxy(peer, HOST6), 503, 'let in by the zoned entry');
  assert.equal(await viaProxy(peer, HOST4), 503, 'let in by the zoned entry');

  const syntax = only(await scan(host, squid.etc), 'config-address-syntax');
  assert.equal(syntax.severity, 'critical');
  assert.match(syntax.message, /"fe80::%veth0\/64": a zone index/);
  assert.deepEqual(syntax.fix.commands.slice(0, 2), ['# /etc/squid/squid.conf, line 3:', '#   acl lan src fe80::/64']);
  const before = await printedSquidCheck(host, syntax, squid.etc);
  assert.equal(before.ok, true, 'squid -k parse lets it pass');
  assert.match(before.output, /Netmask masks away part of the specified IP in 'fe80::%veth0\/64'/);
  applyConfigFixes(syntax, squid.etc);
  const check = await printedSquidCheck(host, syntax, squid.etc);
  assert.equal(check.ok, true, check.output);
  assert.doesNotMatch(check.output, /Netmask masks away/);
  await squid.restart();
  assert.equal(await viaProxy(peer, HOST6), 403);
  assert.equal(await viaProxy(peer, HOST4), 403);
});
