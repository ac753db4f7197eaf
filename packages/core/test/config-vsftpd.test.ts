// vsftpd knowledge: which listen/listen_ipv6 lines make it IPv4-only and the fix that changes
// both switches together, the syntax listen_address6 takes, and config-ipv6-off printing every
// line of that fix (the real vsftpd behind each point: test/netns/config-vsftpd).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAddressSyntax, vsftpdConfigKnowledge as k } from '../src/knowledge/config/index.js';
import { configIpv6Off } from '../src/rules/config-rules.js';
import type { ConfigDirective, HostAddress } from '../src/report.js';
import { golden, service } from './golden-facts.js';

const conf = (...lines: string[]): ConfigDirective[] =>
  lines.map((raw, i) => ({ file: '/etc/vsftpd.conf', line: i + 1, key: raw.slice(0, raw.indexOf('=')), value: raw.slice(raw.indexOf('=') + 1), raw }));
const off = (all: ConfigDirective[]) => all.map((d) => k.ipv6Off(d, all)).map((o, i) => (o ? { line: i + 1, ...o } : null)).filter(Boolean);
const host: HostAddress[] = [{ family: 6, address: '2001:db8:1::2', prefixLength: 64, interface: 'veth0', scope: 'global', flags: ['permanent'] }];

test("Debian's listen=NO + listen_ipv6=YES, both YES (refused at start), inetd mode: no config-ipv6-off", () => {
  assert.deepEqual(off(conf('listen=NO', 'listen_ipv6=YES')), []);
  assert.deepEqual(off(conf('listen=YES', 'listen_ipv6=YES')), []);
  assert.deepEqual(off(conf('listen=NO', 'listen_ipv6=NO')), []);
  assert.deepEqual(off(conf('listen=YES', 'listen=NO', 'listen_ipv6=YES')), [], 'a later listen=NO overrides');
  assert.deepEqual(off(conf('listen=YES', 'listen_address=192.0.2.2')), [], 'one IPv4 address chosen on purpose: only the operator can pick the IPv6 one');
});

test('listen=YES without listen_ipv6: the line becomes listen_ipv6=YES (earlier listen=YES lines become NO)', () => {
  const [only] = off(conf('anonymous_enable=NO', 'listen=yes', 'listen_port=2121')) as Array<{ line: number; fix: string; ports: number[]; alsoChange?: unknown }>;
  assert.deepEqual([only!.line, only!.fix, only!.ports, only!.alsoChange], [2, 'listen_ipv6=YES', [2121], undefined]);
  const twice = conf('listen=YES', 'listen=TRUE');
  const found = off(twice) as Array<{ line: number; fix: string; alsoChange?: Array<{ directive: ConfigDirective; fix: string }> }>;
  assert.equal(found.length, 1);
  assert.equal(found[0]!.line, 2);
  assert.deepEqual(found[0]!.alsoChange!.map((a) => [a.directive.line, a.fix]), [[1, 'listen=NO']]);
});

test('listen=YES with listen_ipv6=NO: listen=NO and listen_ipv6=YES together, printed as two line fixes', () => {
  const all = conf('listen_ipv6=NO', 'listen=YES');
  const [found] = off(all) as Array<{ line: number; fix: string; ports: number[]; alsoChange: Array<{ directive: ConfigDirective; fix: string }> }>;
  assert.deepEqual([found!.line, found!.fix, found!.ports], [2, 'listen=NO', [21]]);
  assert.deepEqual(found!.alsoChange.map((a) => [a.directive.line, a.fix]), [[1, 'listen_ipv6=YES']]);

  const facts = golden('dual-stack-services');
  facts.services.push({ ...structuredClone(service(facts, 'tcp', 25)), port: 21, process: 'vsftpd' });
  facts.configs = [{ daemon: 'vsftpd', files: [{ path: '/etc/vsftpd.conf', status: 'read' }], directives: all }];
  const [finding] = configIpv6Off.check(facts);
  assert.match(finding!.message, /^tcp\/21 is IPv4-only because \/etc\/vsftpd\.conf:2 says listen=YES: listen=YES runs vsftpd on one IPv4 socket/);
  assert.deepEqual(finding!.fix.commands, [
    '# /etc/vsftpd.conf, line 2:',
    '#   listen=NO',
    '# /etc/vsftpd.conf, line 1:',
    '#   listen_ipv6=YES',
    "systemctl restart vsftpd && systemctl is-active vsftpd   # the daemon's own syntax check, after editing /etc/vsftpd.conf",
  ]);
  assert.equal(finding!.fix.summary, 'Change the line to: listen=NO and /etc/vsftpd.conf:1 to: listen_ipv6=YES, then restart vsftpd.');
});

test('listen_address6 takes the address bare: brackets and a prefix are critical; ignored without listen_ipv6=YES', () => {
  const uses = (...lines: string[]) => {
    const all = conf(...lines);
    return all.flatMap((d) => k.addresses(d, all)).map((u) => [u.token, checkAddressSyntax(u, host, k.convertsMappedPeers)?.severity ?? 'ok', checkAddressSyntax(u, host, k.convertsMappedPeers)?.corrected ?? null]);
  };
  assert.deepEqual(uses('listen_ipv6=YES', 'listen_address6=[2001:db8:1::2]'), [['[2001:db8:1::2]', 'critical', '2001:db8:1::2']]);
  assert.deepEqual(uses('listen_ipv6=YES', 'listen_address6=2001:db8:1::2/64'), [['2001:db8:1::2/64', 'critical', '2001:db8:1::2']]);
  assert.deepEqual(uses('listen_ipv6=YES', 'listen_address6=fe80::1%veth0'), [['fe80::1%veth0', 'critical', 'fe80::1']]);
  assert.deepEqual(uses('listen_ipv6=YES', 'listen_address6=2001:db8:1::2'), [['2001:db8:1::2', 'ok', null]]);
  assert.deepEqual(uses('listen_ipv6=YES', 'listen_address6=[2001:db8:1::2]', 'listen_address6=2001:db8:1::2'), [['2001:db8:1::2', 'ok', null]], 'only the line vsftpd uses');
  assert.deepEqual(uses('listen=YES', 'listen_address6=[2001:db8:1::2]'), [], 'ignored with listen=YES');
  assert.deepEqual(uses('listen_ipv6=YES', 'listen_address6=::ffff:192.0.2.2'), [], 'binds; the generic IPv4 correction would be refused here');
  assert.equal(k.acl(conf('tcp_wrappers=YES')[0]!, [], []), null, 'its address access control is TCP wrappers');
});
