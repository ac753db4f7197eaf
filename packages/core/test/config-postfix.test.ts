// Postfix knowledge: how master splits a service name, the address checker on the syntax
// inet_interfaces and master.cf hosts take (brackets optional, never a port), and what
// inet_protocols and mynetworks mean (the rules on real parsed files are in
// packages/agent/test/config-postfix).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAddressSyntax, postfixConfigKnowledge, postfixServiceAddress, type ConfigKnowledge } from '../src/knowledge/config/index.js';
import type { ConfigDirective, HostAddress } from '../src/report.js';

const main = (line: number, key: string, value: string, context?: string): ConfigDirective => ({ file: '/etc/postfix/main.cf', line, key, value, raw: context ? `    ${value}` : `${key} = ${value}`, ...(context ? { context } : {}) });
const service = (line: number, name: string, command = 'smtpd'): ConfigDirective => ({ file: '/etc/postfix/master.cf', line, key: name, value: `inet n - y - - ${command}`, raw: `${name} inet n - y - - ${command}` });
const host: HostAddress[] = [{ family: 6, address: '2001:db8:1::2', prefixLength: 64, interface: 'veth0', scope: 'global', flags: ['permanent'] }];

test('service names split as master does: [host]:port, else at the last colon; names of /etc/services', () => {
  assert.deepEqual(
    ['smtp', '2525', '192.0.2.2:smtp', '[2001:db8::1]:submission', '2001:db8::1:smtps', '::1:smtp', 'localhost:qmqp', 'foo'].map((n) => [n, postfixServiceAddress(n)]),
    [
      ['smtp', { host: null, port: 25 }],
      ['2525', { host: null, port: 2525 }],
      ['192.0.2.2:smtp', { host: '192.0.2.2', port: 25 }],
      ['[2001:db8::1]:submission', { host: '[2001:db8::1]', port: 587 }],
      ['2001:db8::1:smtps', { host: '2001:db8::1', port: 465 }],
      ['::1:smtp', { host: '::1', port: 25 }],
      ['localhost:qmqp', { host: 'localhost', port: 628 }],
      ['foo', { host: null, port: null }],
    ],
  );
});

test('inet_interfaces and master.cf hosts: bare or bracketed alike; a port, a prefix or a zone is critical', () => {
  const uses = (value: string) => postfixConfigKnowledge.addresses(main(1, 'inet_interfaces', value), [main(1, 'inet_interfaces', value)]);
  const checked = (value: string) => uses(value).map((u) => [u.token, checkAddressSyntax(u, host, null)?.corrected ?? 'ok']);
  assert.deepEqual(checked('all'), []);
  assert.deepEqual(checked('loopback-only'), []);
  assert.deepEqual(checked('127.0.0.1, [::1] 2001:db8:1::2 $myhostname'), [['127.0.0.1', 'ok'], ['[::1]', 'ok'], ['2001:db8:1::2', 'ok']]);
  assert.deepEqual(checked('[2001:db8:1::2]:25, 2001:db8:1::2/64'), [['[2001:db8:1::2]:25', '[2001:db8:1::2]'], ['2001:db8:1::2/64', '2001:db8:1::2']]);
  const port = checkAddressSyntax(uses('[2001:db8:1::2]:25')[0]!, host, null)!;
  assert.equal(port.severity, 'critical');
  assert.match(port.problem, /without a port/);
  assert.equal(checkAddressSyntax(uses('2001:db8:1::2:25')[0]!, host, null), null, 'bare: one longer address, no port to guess (Postfix refuses it: no local interface)');

  const master = (name: string) => postfixConfigKnowledge.addresses(service(1, name), []).map((u) => [u.token, checkAddressSyntax(u, host, null)?.corrected ?? 'ok']);
  assert.deepEqual(master('smtp'), []);
  assert.deepEqual(master('2001:db8:1::2:2525'), [['2001:db8:1::2', 'ok']]);
  assert.deepEqual(master('[2001:db8:1::2]:2525'), [['[2001:db8:1::2]', 'ok']]);
  assert.deepEqual(master('[fe80::1%veth0]:2526'), [['[fe80::1%veth0]', '[fe80::1]']]);
  assert.deepEqual(master('[2001:db8:1::]/64:2529'), [['[2001:db8:1::]/64', '[2001:db8:1::]']]);
});

test('mynetworks: IPv6 in brackets; bare is critical; Debian\'s mapped loopback entry passes (Postfix never sees mapped peers)', () => {
  const d = main(3, 'mynetworks', '127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128 !2001:db8::/64, hash:/etc/postfix/network_table $config_directory/mynetworks');
  const uses = postfixConfigKnowledge.addresses(d, [d]);
  assert.deepEqual(uses.map((u) => u.token), ['127.0.0.0/8', '[::ffff:127.0.0.0]/104', '[::1]/128', '2001:db8::/64', 'hash:/etc/postfix/network_table']);
  assert.deepEqual(
    uses.map((u) => checkAddressSyntax(u, host, postfixConfigKnowledge.convertsMappedPeers)),
    [null, null, null, { severity: 'critical', problem: checkAddressSyntax(uses[3]!, host, null)!.problem, corrected: '[2001:db8::]/64' }, null],
  );
  assert.equal(postfixConfigKnowledge.convertsMappedPeers, null);
  const overridden = [main(1, 'mynetworks', '2001:db8::/64'), main(2, 'mynetworks', '[2001:db8::]/64')];
  assert.deepEqual(postfixConfigKnowledge.addresses(overridden[0]!, overridden), [], 'a line a later one overrides is not read by Postfix');
});

test('inet_protocols: only ipv4 switches IPv6 off, on the last line that sets it, over continuation lines', () => {
  const off = (...lines: ConfigDirective[]) => postfixConfigKnowledge.ipv6Off(lines[0]!, lines);
  assert.equal(off(main(1, 'inet_protocols', 'ipv4'))?.fix, 'inet_protocols = all');
  assert.deepEqual(off(main(1, 'inet_protocols', 'ipv4'))?.ports, [25], 'no master.cf read: smtp');
  assert.deepEqual(off(main(1, 'inet_protocols', 'ipv4'), service(1, 'smtp'), service(2, 'submission'), service(3, '127.0.0.1:2525'), service(4, 'smtp'))?.ports, [25, 587]);
  for (const value of ['all', 'ipv6', 'ipv4, ipv6', 'ipv4 ipv6', '$protocols', '']) assert.equal(off(main(1, 'inet_protocols', value)), null, value);
  assert.equal(off(main(1, 'inet_protocols', 'ipv4'), main(2, 'inet_protocols', 'ipv4,'), main(3, 'inet_protocols', 'ipv6', 'inet_protocols from line 2')), null, 'line 1 is overridden');
  assert.equal(off(main(1, 'inet_protocols', 'ipv4,'), main(2, 'inet_protocols', 'ipv6', 'inet_protocols from line 1')), null, 'ipv6 on the continuation line');
});

test('mynetworks as an access list: IPv4 networks without loopback, null when a file or table may hold more; the ports of smtpd and postscreen services', () => {
  // Postfix's list names its own ports: the host's services (a third argument of acl() for
  // daemons whose lists do not) are not needed, an empty list is passed.
  const acl = (...lines: ConfigDirective[]) => postfixConfigKnowledge.acl(...([lines[0]!, lines, []] as unknown as Parameters<ConfigKnowledge['acl']>));
  const lan = acl(main(1, 'mynetworks', '127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128 192.0.2.0/24 !192.0.2.9'), service(1, 'smtp', 'postscreen'), service(2, 'submission'), service(3, '2525', 'lmtp'))!;
  assert.deepEqual([lan.networks, lan.ports, lan.otherwise], [['192.0.2.0/24'], [25, 587], 'denied']);
  assert.equal(lan.withIpv6(['2001:db8:1::/64', '2001:db8:2::/64']), 'mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128 192.0.2.0/24 !192.0.2.9 [2001:db8:1::]/64 [2001:db8:2::]/64');
  assert.deepEqual(acl(main(1, 'mynetworks', '127.0.0.0/8 [::1]/128'))!.networks, [], 'loopback only: nothing to extend');
  for (const value of ['192.0.2.0/24 /etc/postfix/mynetworks', '192.0.2.0/24 cidr:/etc/postfix/network.cidr', '192.0.2.0/24 $extra', '192.0.2.0/24 lan.example']) {
    assert.equal(acl(main(1, 'mynetworks', value)), null, value);
  }
  const continued = acl(main(1, 'mynetworks', '192.0.2.0/24'), main(2, 'mynetworks', '198.51.100.0/24', 'mynetworks from line 1'))!;
  assert.deepEqual(continued.networks, ['192.0.2.0/24', '198.51.100.0/24']);
  assert.equal(continued.withIpv6(['2001:db8:1::/64']), 'mynetworks = 192.0.2.0/24 [2001:db8:1::]/64', 'added to the first line: the continuation lines stay as they are');
  assert.equal(acl(main(2, 'mynetworks', '198.51.100.0/24', 'mynetworks from line 1')), null, 'a continuation line is part of its parameter');
});
