// Squid knowledge: http_port forms and which of them leave the proxy IPv4-only (and the fix), the
// address checker on http_port, acl src/dst/localip and tcp_outgoing_address syntax, and which
// acl src lines are access lists (the real files: packages/agent/test/config-squid; the real
// squid: test/netns/config-squid).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAddressSyntax, parseHttpPort, squidConfigKnowledge as sq } from '../src/knowledge/config/index.js';
import type { ConfigDirective, HostAddress } from '../src/report.js';

let n = 0;
const st = (key: string, value: string, comment = ''): ConfigDirective => ({ file: '/etc/squid/squid.conf', line: ++n, key, value: `${value}${comment}`, raw: `${key} ${value}${comment}` });
const host: HostAddress[] = [{ family: 6, address: '2001:db8:1::2', prefixLength: 64, interface: 'veth0', scope: 'global', flags: ['permanent'] }];

test('http_port forms: a port alone and [::] take both families, 0.0.0.0 IPv4 only; bare IPv6 is its own kind (Squid refuses it)', () => {
  const kind = (v: string) => { const p = parseHttpPort(v); return `${p.kind} ${p.address} ${p.port}`; };
  assert.equal(kind('3128'), 'any null 3128');
  assert.equal(kind('[::]:3128'), 'any :: 3128');
  assert.equal(kind('0.0.0.0:3128 intercept'), 'ipv4-any 0.0.0.0 3128');
  assert.equal(kind('192.0.2.2:3128'), 'ipv4 192.0.2.2 3128');
  assert.equal(kind('[2001:db8::1]:3128'), 'ipv6 2001:db8::1 3128');
  assert.equal(kind('2001:db8::1:3128'), 'bare-ipv6 2001:db8::1:3128 null');
  assert.equal(kind('proxy.example.net:3128'), 'host proxy.example.net 3128');
});

test('config-ipv6-off: http_port 0.0.0.0:PORT with nothing taking IPv6 on that port; the fix is the port alone, options kept', () => {
  const off = (d: ConfigDirective, others: ConfigDirective[] = []) => sq.ipv6Off(d, [d, ...others]);
  const p = st('http_port', '0.0.0.0:3128 name=main', ' # proxy');
  assert.deepEqual(off(p), { why: off(p)!.why, fix: 'http_port 3128 name=main # proxy', ports: [3128] });
  assert.match(off(p)!.why, /^0\.0\.0\.0:3128 is the IPv4 wildcard and nothing else: Squid listens on port 3128 over IPv4 only/);
  for (const value of ['3128', '[::]:3128', '192.0.2.2:3128', '[2001:db8::1]:3128']) assert.equal(off(st('http_port', value)), null, value);
  assert.equal(off(p, [st('http_port', '[2001:db8:1::2]:3128')]), null, 'an IPv6 address on the port beside it');
  assert.deepEqual(off(p, [st('http_port', '[2001:db8:1::2]:8080')])!.ports, [3128], 'another port does not count');
  const second = st('http_port', '0.0.0.0:3128 name=other');
  assert.equal(sq.ipv6Off(second, [p, second]), null, 'one finding per port, on the first line');
  assert.equal(off(st('acl', 'office src 0.0.0.0/0')), null);
});

test('addresses: http_port IPv6 in brackets (bare + :port is cut at the port), acls bare with a /len, tcp_outgoing_address bare; ::ffff: and zone-only tokens not judged', () => {
  const check = (d: ConfigDirective) => sq.addresses(d, [d]).map((u) => [u.token, checkAddressSyntax(u, host, sq.convertsMappedPeers)?.corrected ?? null]);
  assert.deepEqual(check(st('http_port', '2001:db8:1::2:3128')), [['2001:db8:1::2', '[2001:db8:1::2]']]);
  assert.deepEqual(check(st('http_port', '[2001:db8:1::2]:3128')), [['[2001:db8:1::2]', null]]);
  assert.deepEqual(check(st('http_port', '[fe80::1%veth0]:3128')), [['[fe80::1%veth0]', null]], 'Squid takes a zone here');
  assert.deepEqual(check(st('http_port', '3128')), []);
  assert.deepEqual(check(st('acl', 'office src 192.0.2.0/24 [2001:db8:1::]/64 2001:db8:1:: ::ffff:192.0.2.0/24')), [['192.0.2.0/24', null], ['[2001:db8:1::]/64', '2001:db8:1::/64'], ['2001:db8:1::', '2001:db8:1::/64']]);
  assert.deepEqual(check(st('acl', 'lan src fe80::%veth0/64 fe80::1%veth0')), [['fe80::%veth0/64', 'fe80::/64']], 'a zone with a mask matches every client; a zone alone is not judged');
  assert.deepEqual(check(st('acl', 'mine localip [2001:db8:1::2]')), [['[2001:db8:1::2]', '2001:db8:1::2']]);
  assert.deepEqual(check(st('acl', 'site dstdomain .example.net')), [], 'not an address acl');
  assert.deepEqual(check(st('tcp_outgoing_address', '[2001:db8:1::2] office')), [['[2001:db8:1::2]', '2001:db8:1::2']]);
  assert.deepEqual(check(st('tcp_outgoing_address', '2001:db8:1::2/64')), [['2001:db8:1::2/64', '2001:db8:1::2']]);
  assert.equal(sq.convertsMappedPeers, true);
});

test('acl-ipv4-only: a src acl that http_access allows (or denies with !), the networks of every line of the name, the fix on the last line before its comment', () => {
  const port = st('http_port', '3128');
  const a1 = st('acl', 'office src 192.0.2.0/24');
  const a2 = st('acl', 'Office src 198.51.100.7', ' # the VPN');
  const allow = st('http_access', 'allow office');
  const deny = st('http_access', 'deny all');
  const all = [port, a1, a2, allow, deny];
  assert.equal(sq.acl(a1, all), null, 'one finding per name, on its last line');
  const use = sq.acl(a2, all)!;
  assert.deepEqual([use.networks, use.otherwise, use.ports], [['192.0.2.0/24', '198.51.100.7'], 'denied', [3128]]);
  assert.equal(use.withIpv6(['2001:db8:1::/64']), 'acl Office src 198.51.100.7 2001:db8:1::/64 # the VPN');
  const continued: ConfigDirective = { ...a2, value: 'Office src 198.51.100.7 192.0.2.9', raw: 'acl Office src 198.51.100.7 \\' };
  assert.equal(sq.acl(continued, [port, a1, continued, allow])!.withIpv6(['2001:db8:1::/64']), 'acl Office src 198.51.100.7 2001:db8:1::/64 \\');
  const guards = (rules: ConfigDirective[]) => sq.acl(a2, [port, a1, a2, ...rules])?.otherwise ?? null;
  assert.equal(guards([st('http_access', 'deny !office')]), 'denied');
  assert.equal(guards([st('http_access', 'allow office Safe_ports'), deny]), 'denied');
  assert.equal(guards([st('http_access', 'deny office')]), null, 'a block list');
  assert.equal(guards([allow, st('http_access', 'allow all')]), null, 'everyone gets in anyway');
  assert.equal(guards([]), null, 'not used by http_access');
  assert.equal(sq.acl(st('acl', 'office src "/etc/squid/office.txt"'), [port, st('http_access', 'allow office')]), null, 'a list in a file is not read');
  assert.equal(sq.acl(st('acl', 'office dst 192.0.2.0/24'), [port, st('http_access', 'allow office')]), null, 'dst is the server, not the client');
  const d = st('acl', 'localnet src 10.0.0.0/8');
  const v6 = st('acl', 'localnet src fc00::/7');
  assert.deepEqual(sq.acl(v6, [port, d, v6, st('http_access', 'allow localnet')])!.networks, ['10.0.0.0/8', 'fc00::/7'], 'IPv6 on another line of the name: the rule sees it');
});
