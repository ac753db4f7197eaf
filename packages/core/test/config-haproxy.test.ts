// HAProxy knowledge: bind addresses as str2sa_range() reads them, which bind lines leave a
// frontend IPv4-only (and the fix), the address checker on bind and acl src syntax, and which
// acl / http-request / tcp-request combinations are access lists (the real files:
// packages/agent/test/config-haproxy; the real haproxy: test/netns/config-haproxy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAddressSyntax, haproxyConfigKnowledge as hx, parseBindAddress } from '../src/knowledge/config/index.js';
import type { ConfigDirective, HostAddress } from '../src/report.js';

let n = 0;
const st = (key: string, value: string, context = 'frontend web', comment = ''): ConfigDirective => ({ file: '/etc/haproxy/haproxy.cfg', line: ++n, key, value, raw: `  ${key} ${value}${comment}`, context });
const host: HostAddress[] = [{ family: 6, address: '2001:db8:1::2', prefixLength: 64, interface: 'veth0', scope: 'global', flags: ['permanent'] }];

test('bind addresses: the port after the last colon; :80 and *:80 IPv4, :::80, [::]:80 and ipv6@:80 IPv6; prefixes and ranges', () => {
  const kind = (e: string) => { const a = parseBindAddress(e); return `${a.kind} ${a.host} ${a.port} ${a.ports.join('+')}`; };
  assert.equal(kind(':80'), 'ipv4-any  80 80');
  assert.equal(kind('*:80'), 'ipv4-any * 80 80');
  assert.equal(kind('0.0.0.0:80'), 'ipv4-any 0.0.0.0 80 80');
  assert.equal(kind('ipv4@:80'), 'ipv4-any  80 80');
  assert.equal(kind(':::80'), 'ipv6-any :: 80 80');
  assert.equal(kind('[::]:80'), 'ipv6-any [::] 80 80');
  assert.equal(kind('ipv6@:80'), 'ipv6-any  80 80');
  assert.equal(kind('2001:db8::1:8080'), 'ipv6 2001:db8::1 8080 8080');
  assert.equal(kind('[2001:db8::1]'), 'ipv6 [2001:db8::1] null ');
  assert.equal(kind('192.0.2.2:8000-8002'), 'ipv4 192.0.2.2 8000-8002 8000+8001+8002');
  assert.equal(kind('localhost:80'), 'host localhost 80 80');
  assert.equal(kind('unix@/run/x.sock'), 'other unix@/run/x.sock null ');
  assert.equal(kind('/run/x.sock'), 'other /run/x.sock null ');
});

test('config-ipv6-off: a frontend whose binds are IPv4 wildcards only; the fix keeps the line and adds :::PORT v6only with its options', () => {
  const off = (d: ConfigDirective, others: ConfigDirective[] = []) => hx.ipv6Off(d, [d, ...others]);
  const b = st('bind', ':80');
  assert.deepEqual(off(b), { why: off(b)!.why, fix: 'bind :80\n#   bind :::80 v6only', ports: [80] });
  assert.match(off(b)!.why, /^":80" is the IPv4 wildcard \(0\.0\.0\.0\) only and no bind takes IPv6 on port 80: frontend web takes no IPv6 client there/);
  const tls = st('bind', '*:443,:8443 ssl crt /etc/haproxy/site.pem alpn h2 name web id 3');
  assert.equal(off(tls)!.fix, 'bind *:443,:8443 ssl crt /etc/haproxy/site.pem alpn h2 name web id 3\n#   bind :::443,:::8443 v6only ssl crt /etc/haproxy/site.pem alpn h2');
  assert.deepEqual(off(tls)!.ports, [443, 8443]);
  assert.equal(off(st('bind', '0.0.0.0:80', 'listen stats'))!.ports[0], 80);
  for (const value of [':::80', '[::]:80', ':::80 v4v6', 'ipv6@:80', '192.0.2.2:80', 'localhost:80', '/run/h.sock', '"${ADDR}:80"']) assert.equal(off(st('bind', value)), null, value);
  assert.equal(off(b, [st('bind', ':::80 v6only')]), null, 'an IPv6 bind on the port beside it');
  assert.equal(off(b, [st('bind', ':::80', 'frontend other')]), null, 'another frontend takes IPv6 on that port');
  assert.equal(off(st('bind', ':80', 'backend b')), null, 'bind means nothing in a backend');
  assert.equal(off(st('bind', ':80', 'peers p')), null);
  const first = st('bind', ':80');
  const second = st('bind', '*:80 process 1');
  assert.equal(hx.ipv6Off(second, [first, second]), null, 'one finding per port, on the first line');
  assert.deepEqual(hx.ipv6Off(first, [first, second])!.ports, [80]);
});

test('addresses: bind takes IPv6 bare or bracketed, no zone or prefix; acl src takes it bare; ::ffff: patterns are not reported', () => {
  const check = (d: ConfigDirective) => hx.addresses(d, [d]).map((u) => [u.token, checkAddressSyntax(u, host, hx.convertsMappedPeers)?.corrected ?? null]);
  assert.deepEqual(check(st('bind', '2001:db8:1::2:80,[2001:db8:1::3]:80,:::81,:82')), [['2001:db8:1::2', null], ['[2001:db8:1::3]', null]]);
  assert.deepEqual(check(st('bind', 'fe80::1%veth0:80')), [['fe80::1%veth0', 'fe80::1']]);
  assert.deepEqual(check(st('bind', '[2001:db8:1::]/64:80')), [['[2001:db8:1::]/64', '[2001:db8:1::]']]);
  assert.deepEqual(check(st('bind', '::ffff:192.0.2.2:80')), [['::ffff:192.0.2.2', '192.0.2.2']]);
  assert.deepEqual(check(st('acl', 'lan src 192.0.2.0/24 [2001:db8:1::]/64 2001:db8:1:: ::ffff:192.0.2.0/120')), [['192.0.2.0/24', null], ['[2001:db8:1::]/64', '2001:db8:1::/64'], ['2001:db8:1::', '2001:db8:1::/64']]);
  assert.deepEqual(check(st('acl', 'lan src -m ip fe80::%veth0/64')), [['fe80::%veth0/64', 'fe80::/64']]);
  assert.deepEqual(check(st('acl', 'h hdr(host) -i 2001:db8::1')), [], 'not a src acl');
  assert.deepEqual(check(st('http-request', 'deny unless { src [2001:db8:1::1] }')), [['[2001:db8:1::1]', '2001:db8:1::1']]);
  assert.equal(hx.convertsMappedPeers, true);
});

test('acl-ipv4-only: src acls that guard a deny, the networks of every line of the name, the fix on the last line before its comment', () => {
  const bind = st('bind', ':80,:::80 v6only');
  const a1 = st('acl', 'lan src 192.0.2.0/24');
  const a2 = st('acl', 'lan src 198.51.100.7', 'frontend web', ' # the VPN');
  const deny = st('http-request', 'deny unless lan');
  const all = [bind, a1, a2, deny];
  assert.equal(hx.acl(a1, all), null, 'one finding per name, on its last line');
  const use = hx.acl(a2, all)!;
  assert.deepEqual([use.networks, use.otherwise, use.ports], [['192.0.2.0/24', '198.51.100.7'], 'denied', [80]]);
  assert.equal(use.withIpv6(['2001:db8:1::/64']), '  acl lan src 198.51.100.7 2001:db8:1::/64 # the VPN');
  const guards = (rules: ConfigDirective[]) => hx.acl(a2, [bind, a1, a2, ...rules])?.otherwise ?? null;
  assert.equal(guards([st('http-request', 'deny if !lan')]), 'denied');
  assert.equal(guards([st('tcp-request', 'connection reject unless lan')]), 'denied');
  assert.equal(guards([st('http-request', 'allow if lan'), st('http-request', 'deny')]), 'denied');
  assert.equal(guards([st('http-request', 'deny if lan')]), 'allowed');
  assert.equal(guards([st('use_backend', 'admin if lan')]), null);
  assert.equal(guards([st('http-request', 'deny unless lan other')]), null, 'a compound condition is not judged');
  assert.equal(guards([st('http-request', 'deny unless lan', 'frontend other')]), null, 'another section');
  assert.equal(hx.acl(a2, [bind, st('acl', 'lan src -f /etc/haproxy/lan.lst'), a2, deny]), null, 'patterns from a file');
  const inline = st('http-request', 'deny unless { src 192.0.2.0/24 }');
  const use2 = hx.acl(inline, [bind, inline])!;
  assert.deepEqual([use2.networks, use2.otherwise], [['192.0.2.0/24'], 'denied']);
  assert.equal(use2.withIpv6(['2001:db8:1::/64']), '  http-request deny unless { src 192.0.2.0/24 2001:db8:1::/64 }');
  assert.equal(hx.acl(st('http-request', 'deny if { src 192.0.2.0/24 }'), [bind])!.otherwise, 'allowed');
  assert.equal(hx.acl(st('http-request', 'deny if ! { src 192.0.2.0/24 }'), [bind])!.otherwise, 'denied');
  assert.equal(hx.acl(st('http-request', 'deny if !{ src 192.0.2.0/24 } || { path /x }'), [bind]), null, 'a compound condition is not judged');
});
