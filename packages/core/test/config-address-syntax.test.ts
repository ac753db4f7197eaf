// The address-syntax checker: each way a configuration line can write an IPv6 address wrong,
// for a directive that wants it bare, bracketed, or bracketed only before a port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAddressSyntax, type AddressUse, type Ipv6Syntax } from '../src/knowledge/config/index.js';
import type { HostAddress } from '../src/report.js';

const BARE: Ipv6Syntax = { brackets: 'forbidden', prefix: true, zone: false };
const BRACKETED: Ipv6Syntax = { brackets: 'required', prefix: true, zone: false };
const LISTEN: Ipv6Syntax = { brackets: 'with-port', prefix: false, zone: true };
const host: HostAddress[] = [
  { family: 6, address: '2001:db8:1::2', prefixLength: 64, interface: 'veth0', scope: 'global', flags: ['permanent'] },
  { family: 4, address: '192.0.2.2', prefixLength: 24, interface: 'veth0', scope: 'global', flags: ['permanent'] },
];
const use = (token: string, syntax: Ipv6Syntax, role: 'listen' | 'acl' = 'acl'): AddressUse => ({
  token,
  role,
  syntax,
  directive: { file: '/etc/x.conf', line: 1, key: 'K', value: token, raw: `K ${token}` },
});
const check = (token: string, syntax: Ipv6Syntax, role: 'listen' | 'acl' = 'acl', converts: boolean | null = null) => checkAddressSyntax(use(token, syntax, role), host, converts);

test('IPv4 addresses, host names and wildcards are not this checker\'s business', () => {
  for (const token of ['192.0.2.0/24', '0.0.0.0', 'example.net', '*', 'localhost']) {
    assert.equal(check(token, BARE), null, token);
    assert.equal(check(token, BRACKETED), null, token);
  }
});

test('brackets where the directive wants bare addresses, and the reverse: critical, with the corrected token', () => {
  assert.deepEqual(check('[2001:db8::]/32', BARE), { severity: 'critical', problem: check('[2001:db8::]/32', BARE)!.problem, corrected: '2001:db8::/32' });
  assert.equal(check('2001:db8::/32', BARE), null);
  const bare = check('2001:db8::/32', BRACKETED)!;
  assert.equal(bare.severity, 'critical');
  assert.equal(bare.corrected, '[2001:db8::]/32');
  assert.equal(check('[2001:db8::]/32', BRACKETED), null);
});

test('bare address then :port where brackets are needed before a port: a warning only when the head is this host\'s address', () => {
  const p = check('2001:db8:1::2:2222', LISTEN, 'listen')!;
  assert.equal(p.severity, 'warning');
  assert.equal(p.corrected, '[2001:db8:1::2]:2222');
  assert.match(p.problem, /one IPv6 address, not 2001:db8:1::2 port 2222/);
  assert.equal(check('2001:db8:1::2', LISTEN, 'listen'), null, 'the host\'s own address, bare, no port');
  assert.equal(check('[2001:db8:1::2]:2222', LISTEN, 'listen'), null);
  assert.equal(check('2001:db8:9::7:2222', LISTEN, 'listen'), null, 'not the host\'s: nothing says a port was meant');
});

test('zone index, prefix length on a listen address, IPv4-mapped literals, networks without a length', () => {
  assert.equal(check('fe80::1%eth0', BARE)!.corrected, 'fe80::1');
  assert.equal(check('fe80::1%eth0', LISTEN, 'listen'), null, 'ListenAddress takes a zone');
  assert.equal(check('2001:db8:1::2/64', LISTEN, 'listen')!.corrected, '2001:db8:1::2');
  assert.equal(check('::ffff:192.0.2.2', LISTEN, 'listen')!.corrected, '192.0.2.2');
  assert.equal(check('::ffff:192.0.2.0/120', BARE, 'acl', true)!.corrected, '192.0.2.0/24');
  assert.equal(check('::ffff:192.0.2.0/120', BARE, 'acl', false), null, 'a daemon that compares mapped peers as they come needs that form');
  const network = check('2001:db8:1::', BARE)!;
  assert.equal(network.severity, 'warning');
  assert.equal(network.corrected, '2001:db8:1::/64', 'the host\'s own prefix length on that network');
  assert.equal(check('2001:db8:7::', BARE)!.corrected, null, 'a network the host is not on: only the operator knows its length');
});
