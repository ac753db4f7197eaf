// TCP wrappers knowledge: the addresses of hosts.allow/hosts.deny rules and the syntax libwrap
// wants (brackets; a bare IPv6 is cut at its colons), which rules are IPv4-only access lists
// for which services (by process name, port numbers, vsftpd's tcp_wrappers switch), and the
// line with the IPv6 network added (the real vsftpd behind each point: test/netns/config-tcpwrappers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAddressSyntax, splitOutsideBrackets, tcpwrappersConfigKnowledge as k } from '../src/knowledge/config/index.js';
import { aclIpv4Only } from '../src/rules/config-rules.js';
import type { ConfigDirective, HostAddress, Service } from '../src/report.js';
import { golden, service } from './golden-facts.js';

function rule(file: 'allow' | 'deny', line: number, raw: string): ConfigDirective {
  const [key, value] = splitOutsideBrackets(raw)!;
  return { file: `/etc/hosts.${file}`, line, key: key.trim(), value: value.trim(), raw };
}
const wrappersOn: ConfigDirective = { file: '/etc/vsftpd.conf', line: 3, key: 'tcp_wrappers', value: 'YES', raw: 'tcp_wrappers=YES' };
const host: HostAddress[] = [{ family: 6, address: '2001:db8:1::2', prefixLength: 64, interface: 'veth0', scope: 'global', flags: ['permanent'] }];
const svc = (process: string, port: number): Service => {
  const s = structuredClone(service(golden('dual-stack-services'), 'tcp', 80));
  return { ...s, process, port };
};
const vsftpd = svc('vsftpd', 21);
const sshd = svc('sshd', 22);

const checked = (raw: string) => {
  const d = rule('allow', 1, raw);
  return k.addresses(d, [d]).map((u) => {
    const p = checkAddressSyntax(u, host, k.convertsMappedPeers);
    return [u.token, p?.severity ?? 'ok', p?.corrected ?? null];
  });
};

test('client and server addresses: brackets required; a bare IPv6 (cut at its colons by libwrap) is critical', () => {
  assert.deepEqual(checked('vsftpd: 192.0.2.0/24 [2001:db8:1::]/64, [2001:db8:1::1] .example.net LOCAL'), [
    ['[2001:db8:1::]/64', 'ok', null],
    ['[2001:db8:1::1]', 'ok', null],
  ]);
  assert.deepEqual(checked('vsftpd: 2001:db8:1::/64'), [['2001:db8:1::/64', 'critical', '[2001:db8:1::]/64']]);
  assert.deepEqual(checked('vsftpd: 192.0.2.0/24 2001:db8:1::1 : spawn /bin/true'), [['2001:db8:1::1', 'critical', '[2001:db8:1::1]']]);
  assert.deepEqual(checked('vsftpd: [fe80::1%veth0]'), [['[fe80::1%veth0]', 'critical', '[fe80::1]']]);
  assert.deepEqual(checked('vsftpd@[2001:db8:1::2]: ALL EXCEPT ftp@[2001:db8:1::7]'), [
    ['[2001:db8:1::2]', 'ok', null],
    ['[2001:db8:1::7]', 'ok', null],
  ]);
  assert.deepEqual(checked('vsftpd: [2001:db8:1::]'), [['[2001:db8:1::]', 'warning', '[2001:db8:1::]/64']], 'a network without its length matches one address');
});

test('mapped entries: libwrap converts ::ffff:a.b.c.d peers to IPv4, so [::ffff:192.0.2.0]/120 matches nobody', () => {
  assert.equal(k.convertsMappedPeers, true);
  assert.deepEqual(checked('vsftpd: [::ffff:192.0.2.0]/120'), [['[::ffff:192.0.2.0]/120', 'warning', '192.0.2.0/24']]);
  assert.deepEqual(checked('vsftpd@[::ffff:192.0.2.2]: ALL'), [['[::ffff:192.0.2.2]', 'warning', '192.0.2.2']]);
});

test('a rule continued over lines is not judged (its fix would not be one line)', () => {
  const d: ConfigDirective = { file: '/etc/hosts.allow', line: 1, key: 'vsftpd', value: '2001:db8:1::/64', raw: 'vsftpd: \\\n  2001:db8:1::/64' };
  assert.deepEqual(k.addresses(d, [d]), []);
  assert.equal(k.acl(d, [d, rule('deny', 1, 'ALL: ALL')], [vsftpd, sshd]), null);
});

test('acl: a granting rule that names IPv4 only, with a catch-all deny after it, guards the wrapped services it names', () => {
  const allow = rule('allow', 1, 'vsftpd, sshd: 192.0.2.0/255.255.255.0 192.0.2. EXCEPT 192.0.2.7 : spawn /bin/true');
  const all = [allow, rule('deny', 1, 'ALL: ALL'), wrappersOn];
  const acl = k.acl(allow, all, [vsftpd, sshd, svc('apache2', 80)])!;
  assert.deepEqual(acl.networks, ['192.0.2.0/24', '192.0.2.0/24']);
  assert.equal(acl.otherwise, 'denied');
  assert.deepEqual(acl.ports, [21, 22], 'apache2 does not use libwrap');
  assert.equal(acl.withIpv6(['2001:db8:1::/64']), 'vsftpd, sshd: 192.0.2.0/255.255.255.0 192.0.2. [2001:db8:1::]/64 EXCEPT 192.0.2.7 : spawn /bin/true');
  assert.deepEqual(k.acl(allow, all.slice(0, 2), [vsftpd, sshd])!.ports, [22], 'vsftpd without tcp_wrappers=YES never reads the files');
  const byPort = rule('allow', 1, '21: 192.0.2.0/24');
  assert.deepEqual(k.acl(byPort, [byPort, rule('deny', 1, 'vsftpd: ALL'), wrappersOn], [vsftpd, sshd])!.ports, [21], 'a port number names the daemon on that port');
});

test('acl: no finding where naming IPv4 only changes nothing for IPv6 clients, or where that cannot be told', () => {
  const allow = rule('allow', 2, 'vsftpd: 192.0.2.0/24');
  const services = [vsftpd];
  assert.equal(k.acl(allow, [allow, wrappersOn], services), null, 'nothing denies: unlisted clients get in anyway');
  assert.equal(k.acl(allow, [rule('allow', 1, 'ALL: ALL'), allow, rule('deny', 1, 'ALL: ALL'), wrappersOn], services), null, 'an earlier catch-all decides first');
  assert.equal(k.acl(allow, [allow, rule('allow', 3, 'vsftpd: [2001:db8:1::]/64'), rule('deny', 1, 'ALL: ALL'), wrappersOn], services), null, 'a later rule names the IPv6 network');
  assert.equal(k.acl(allow, [allow, rule('deny', 1, 'vsftpd: .example.net'), rule('deny', 2, 'ALL: ALL'), wrappersOn], services), null, 'a host name may match IPv6 clients');
  assert.notEqual(k.acl(allow, [allow, rule('deny', 1, 'sshd: ALL'), rule('deny', 2, 'ALL EXCEPT sshd: ALL'), wrappersOn], services), null, 'rules for other daemons are skipped');
  const names = rule('allow', 1, 'vsftpd: 192.0.2.0/24 LOCAL');
  assert.equal(k.acl(names, [names, rule('deny', 1, 'ALL: ALL'), wrappersOn], services), null, 'not only addresses');
  const server = rule('allow', 1, 'vsftpd@192.0.2.2: 192.0.2.0/24');
  assert.equal(k.acl(server, [server, rule('deny', 1, 'ALL: ALL'), wrappersOn], services), null, 'a server-address rule never applies to an IPv6 connection');
  assert.equal(k.acl(wrappersOn, [wrappersOn], services), null);
});

test('acl: a denying rule naming IPv4 only lets IPv6 clients of that network in; options turn allow into deny', () => {
  const deny = rule('deny', 1, 'vsftpd: 192.0.2.0/24');
  const acl = k.acl(deny, [deny, wrappersOn], [vsftpd])!;
  assert.equal(acl.otherwise, 'allowed');
  assert.equal(acl.withIpv6(['2001:db8:1::/64']), 'vsftpd: 192.0.2.0/24 [2001:db8:1::]/64');
  const allowDeny = rule('allow', 1, 'vsftpd: 192.0.2.0/24 : deny');
  assert.equal(k.acl(allowDeny, [allowDeny, rule('allow', 2, 'ALL: ALL'), wrappersOn], [vsftpd])!.otherwise, 'allowed');
  assert.equal(k.acl(allowDeny, [allowDeny, wrappersOn], [vsftpd])!.otherwise, 'allowed');
  const denyAllow = rule('deny', 1, 'vsftpd: 192.0.2.0/24 : allow');
  assert.equal(k.acl(denyAllow, [denyAllow, rule('deny', 2, 'ALL: ALL'), wrappersOn], [vsftpd])!.otherwise, 'denied');
});

test('acl-ipv4-only on hosts.allow: the finding names the line, the services by port, and the bracketed fix', () => {
  const facts = golden('dual-stack-services');
  facts.services.push({ ...structuredClone(service(facts, 'tcp', 80)), process: 'vsftpd', port: 21 });
  const allow = rule('allow', 1, 'vsftpd: 192.0.2.0/255.255.255.0');
  facts.configs = [{ daemon: 'tcpwrappers', files: [], directives: [allow, rule('deny', 1, 'vsftpd: ALL'), wrappersOn] }];
  const [finding, ...rest] = aclIpv4Only.check(facts);
  assert.deepEqual(rest, []);
  assert.equal(finding!.subject, '/etc/hosts.allow:1');
  assert.match(finding!.message, /\(tcpwrappers\) names IPv4 networks only \(192\.0\.2\.0\/24\); veth0 also has 2001:db8:1::\/64, so IPv6 clients of that network are locked out on tcp\/21\./);
  assert.deepEqual(finding!.fix.commands.slice(0, 2), ['# /etc/hosts.allow, line 1:', '#   vsftpd: 192.0.2.0/255.255.255.0 [2001:db8:1::]/64']);
});
