// Exim's knowledge: colon lists (an IPv6 address needs doubled colons or another separator),
// local_interfaces and disable_ipv6 switching IPv6 off, relay_from_hosts and dc_relay_nets as
// the relay access list, Debian's dc_ lines standing for their macros.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAddressSyntax, eximConfigKnowledge as k } from '../src/knowledge/config/index.js';
import type { ConfigDirective, HostAddress } from '../src/report.js';

const host: HostAddress[] = [{ family: 6, address: '2001:db8:1::2', prefixLength: 64, interface: 'veth0', scope: 'global', flags: ['permanent'] }];
const line = (raw: string, n = 1, file = '/etc/exim4/exim4.conf'): ConfigDirective => {
  const hostlist = /^hostlist\s+(\S+)\s*=\s*(.*)$/.exec(raw);
  if (hostlist) return { file, line: n, key: 'hostlist', value: `${hostlist[1]} = ${hostlist[2]}`, raw };
  const dc = /^(dc_\w+)='(.*)'$/.exec(raw);
  if (dc) return { file: '/etc/exim4/update-exim4.conf.conf', line: n, key: dc[1]!, value: dc[2]!, raw };
  const m = /^(\w+)\s*=\s*(.*)$/.exec(raw)!;
  return { file, line: n, key: m[1]!, value: m[2]!, raw };
};
const problems = (raw: string, all: ConfigDirective[] = []) => {
  const d = line(raw);
  return k.addresses(d, [...all, d]).map((u) => {
    const p = checkAddressSyntax(u, host, k.convertsMappedPeers);
    return p && `${p.severity} ${d.raw.replace(u.token, p.corrected ?? '?')}`;
  });
};

test('an IPv6 address with single colons in a colon list is cut: critical, corrected to doubled colons', () => {
  assert.deepEqual(problems('local_interfaces = 127.0.0.1 : ::1'), [null, 'critical local_interfaces = 127.0.0.1 : ::::1']);
  assert.deepEqual(problems('hostlist relay_from_hosts = 192.0.2.0/24 : 2001:db8:1::/64'), [null, 'critical hostlist relay_from_hosts = 192.0.2.0/24 : 2001::db8::1::::/64']);
  assert.deepEqual(problems("dc_local_interfaces='::1'", [line('local_interfaces = MAIN_LOCAL_INTERFACES')]), ["critical dc_local_interfaces='::::1'"]);
});

test('doubled colons and a changed separator are read as addresses; their own mistakes still show', () => {
  assert.deepEqual(problems('local_interfaces = 127.0.0.1 : ::::1 : [::::1]:2525 : ::::1.2526'), [null, null, null, null]);
  assert.deepEqual(problems('hostlist relay_from_hosts = <; 192.0.2.0/24 ; 2001:db8:1::/64'), [null, null]);
  assert.deepEqual(problems("dc_relay_nets='192.0.2.0/24 ; 2001:db8:1::/64'", [line('hostlist relay_from_hosts = MAIN_RELAY_NETS')]), [null, null]);
  assert.deepEqual(problems('hostlist relay_from_hosts = <; [2001:db8:1::]/64'), ['critical hostlist relay_from_hosts = <; 2001:db8:1::/64']);
  assert.deepEqual(problems('hostlist relay_from_hosts = 2001::db8::1::::'), ['warning hostlist relay_from_hosts = 2001::db8::1::::/64']);
});

test('disable_ipv6 and local_interfaces with IPv4 addresses only switch IPv6 off; loopback alone and the Debian default do not', () => {
  const off = (raw: string, all: ConfigDirective[] = []) => {
    const d = line(raw);
    const o = k.ipv6Off(d, [...all, d]);
    return o && `${o.fix} ${o.ports.join(',')}`;
  };
  assert.equal(off('disable_ipv6 = true'), 'disable_ipv6 = false 25');
  assert.equal(off('disable_ipv6 = false'), null);
  assert.equal(off('local_interfaces = 0.0.0.0', [line('daemon_smtp_ports = smtp : 587')]), 'local_interfaces = <; 0.0.0.0 ; ::0 25,587');
  assert.equal(off('local_interfaces = <; 192.0.2.2.2525'), 'local_interfaces = <; 192.0.2.2.2525 ; ::0 2525,25');
  assert.equal(off('local_interfaces = 127.0.0.1'), null);
  assert.equal(off('local_interfaces = 0.0.0.0 : ::::0'), null);
  const user = line('local_interfaces = MAIN_LOCAL_INTERFACES');
  assert.equal(off("dc_local_interfaces='127.0.0.1 ; ::1'", [user]), null);
  assert.equal(off("dc_local_interfaces='192.0.2.2'", [user]), "dc_local_interfaces='192.0.2.2 ; ::0' 25");
  assert.equal(off("dc_local_interfaces='192.0.2.2'"), null, 'no local_interfaces line uses the macro');
  assert.equal(off("dc_local_interfaces='192.0.2.2'", [user, line('MAIN_LOCAL_INTERFACES = <; ::0')]), null, 'a macro defined in the configuration wins');
  assert.equal(off('local_interfaces = MAIN_LOCAL_INTERFACES'), null);
});

test('relay_from_hosts and dc_relay_nets: the relay list, IPv6 added in the list\'s own syntax', () => {
  const acl = (raw: string, all: ConfigDirective[] = []) => {
    const d = line(raw);
    return k.acl(d, [...all, d]);
  };
  const colon = acl('hostlist relay_from_hosts = 192.0.2.0/24 : 198.51.100.7')!;
  assert.deepEqual(colon.networks, ['192.0.2.0/24', '198.51.100.7']);
  assert.equal(colon.otherwise, 'denied');
  assert.deepEqual(colon.ports, [25]);
  assert.equal(colon.withIpv6(['2001:db8:1::/64']), 'hostlist relay_from_hosts = 192.0.2.0/24 : 198.51.100.7 : 2001::db8::1::::/64');
  assert.equal(acl('hostlist relay_from_hosts = <; 192.0.2.0/24')!.withIpv6(['2001:db8:1::/64']), 'hostlist relay_from_hosts = <; 192.0.2.0/24 ; 2001:db8:1::/64');
  const dc = acl("dc_relay_nets='192.0.2.0/24 : 198.51.100.7'", [line('hostlist relay_from_hosts = MAIN_RELAY_NETS')])!;
  assert.equal(dc.withIpv6(['2001:db8:1::/64']), "dc_relay_nets='192.0.2.0/24 ; 198.51.100.7 ; 2001:db8:1::/64'");
  assert.equal(acl('hostlist other = 192.0.2.0/24'), null);
  assert.equal(acl("dc_relay_nets=''", [line('hostlist relay_from_hosts = MAIN_RELAY_NETS')]), null);
  assert.equal(k.convertsMappedPeers, null, 'Exim sets V6ONLY on its IPv6 sockets');
});
