// Dovecot knowledge: `listen = *` (and an inet_listener's `address = *`) as IPv4-only with the
// ports of the listeners it covers, the address syntax of listen and login_trusted_networks,
// and login_trusted_networks as an access list only where the trust is the one way to log in
// (the real Dovecot behind each point: test/netns/config-dovecot).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAddressSyntax, dovecotConfigKnowledge as k } from '../src/knowledge/config/index.js';
import type { ConfigDirective, HostAddress } from '../src/report.js';

let n = 0;
const set = (key: string, value: string, context?: string): ConfigDirective => ({ file: '/etc/dovecot/dovecot.conf', line: ++n, key, value, raw: `${context ? '  ' : ''}${key} = ${value}`, ...(context ? { context } : {}) });
const section = (key: string, value: string, context?: string): ConfigDirective => ({ file: '/etc/dovecot/conf.d/10-master.conf', line: ++n, key, value, raw: `${key} ${value} {`, ...(context ? { context } : {}) });
const host: HostAddress[] = [{ family: 6, address: '2001:db8:1::2', prefixLength: 64, interface: 'veth0', scope: 'global', flags: ['permanent'] }];

test('listen = * is IPv4-only for every listener without its own address; *, :: and :: and one address are not judged', () => {
  const listen = set('listen', '*');
  const all = [listen, section('inet_listener', 'imap', 'service imap-login'), set('port', '1143', 'service imap-login > inet_listener imap'), section('inet_listener', 'pop3s', 'service pop3-login'), set('address', '192.0.2.2', 'service pop3-login > inet_listener pop3s')];
  const off = k.ipv6Off(listen, all)!;
  assert.equal(off.fix, 'listen = *, ::');
  assert.deepEqual(off.ports, [110, 587, 993, 1143, 4190], 'imap moved to 1143, pop3s has its own address');
  const any4 = set('listen', '0.0.0.0');
  assert.equal(k.ipv6Off(any4, [any4])!.fix, 'listen = *, ::');
  for (const value of ['*, ::', '::', '192.0.2.2', '[::]']) {
    const d = set('listen', value);
    assert.equal(k.ipv6Off(d, [d]), null, value);
  }
  const overridden = [set('listen', '*'), set('listen', '*, ::')];
  assert.equal(k.ipv6Off(overridden[0]!, overridden), null, 'a later listen line overrides');
  const address = set('address', '*', 'service imap-login > inet_listener imaps');
  assert.deepEqual(k.ipv6Off(address, [set('listen', '*, ::'), address]), { why: k.ipv6Off(address, [address])!.why, fix: '  address = *, ::', ports: [993] });
});

test('listen and inet_listener address: bare or bracketed alike; a prefix or a zone is critical; the obsolete [addr]:port form is read as its address', () => {
  const uses = (d: ConfigDirective) => k.addresses(d, [d]).map((u) => [u.token, checkAddressSyntax(u, host, k.convertsMappedPeers)?.severity ?? 'ok', checkAddressSyntax(u, host, k.convertsMappedPeers)?.corrected ?? null]);
  assert.deepEqual(uses(set('listen', '*, ::, [::]')), []);
  assert.deepEqual(uses(set('listen', '192.0.2.2, 2001:db8:1::2 [2001:db8:1::3]')), [['192.0.2.2', 'ok', null], ['2001:db8:1::2', 'ok', null], ['[2001:db8:1::3]', 'ok', null]]);
  assert.deepEqual(uses(set('listen', '[2001:db8:1::2]:143')), [['[2001:db8:1::2]', 'ok', null]]);
  assert.deepEqual(uses(set('listen', '2001:db8:1::2/64')), [['2001:db8:1::2/64', 'critical', '2001:db8:1::2']]);
  assert.deepEqual(uses(set('listen', 'fe80::1%veth0')), [['fe80::1%veth0', 'critical', 'fe80::1']]);
  assert.deepEqual(uses(set('address', '[2001:db8:1::2]/64', 'service imap-login > inet_listener imap')), [['[2001:db8:1::2]/64', 'critical', '[2001:db8:1::2]']]);
  assert.deepEqual(uses(set('listen', '*', 'protocol imap')), [], 'only the top-level listen');
  assert.deepEqual(uses(set('login_trusted_networks', '192.0.2.0/24 [2001:db8:1::]/64, 2001:db8:2::/48 fe80::1%veth0/64')), [
    ['192.0.2.0/24', 'ok', null],
    ['[2001:db8:1::]/64', 'ok', null],
    ['2001:db8:2::/48', 'ok', null],
    ['fe80::1%veth0/64', 'critical', 'fe80::1/64'],
  ]);
  assert.equal(k.convertsMappedPeers, null, 'Dovecot sets V6ONLY on its own IPv6 sockets');
});

test('login_trusted_networks is an access list only with ssl = no, plaintext disabled and plaintext mechanisms only', () => {
  const trusted = set('login_trusted_networks', '192.0.2.0/24');
  const noTls = set('ssl', 'no');
  const acl = k.acl(trusted, [trusted, noTls], [])!;
  assert.deepEqual(acl.networks, ['192.0.2.0/24']);
  assert.equal(acl.otherwise, 'denied');
  assert.deepEqual(acl.ports, [110, 143, 587, 4190], 'the listeners without TLS');
  assert.equal(acl.withIpv6(['2001:db8:1::/64']), 'login_trusted_networks = 192.0.2.0/24 2001:db8:1::/64');
  assert.equal(k.acl(trusted, [trusted], []), null, 'ssl = yes (Debian): IPv6 clients log in over TLS');
  assert.equal(k.acl(trusted, [trusted, noTls, set('disable_plaintext_auth', 'no')], []), null, 'plaintext allowed for everyone');
  assert.equal(k.acl(trusted, [trusted, noTls, set('auth_mechanisms', 'plain scram-sha-256')], []), null, 'a mechanism that needs no trust');
  assert.equal(k.acl(trusted, [trusted, noTls, set('auth_mechanisms', 'plain login')], [])?.otherwise, 'denied');
});
