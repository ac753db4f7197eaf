// BIND knowledge: how an address match list reads (negation, nested lists, named ACLs, the
// built-in names), which ports a listen-on line means, named -4 among the start options, and
// the fixes written on the statement's own line (the rules on real parsed files are in
// packages/agent/test/config-bind).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindConfigKnowledge, checkAddressSyntax } from '../src/knowledge/config/index.js';
import { parseStatement, resolveList, withoutIpv4Only } from '../src/knowledge/config/bind.js';
import type { ConfigDirective } from '../src/report.js';

const at = (line: number, key: string, value: string, raw: string, context?: string): ConfigDirective => ({ file: '/etc/bind/named.conf', line, key, value, raw, ...(context ? { context } : {}) });
const options = (line: number, key: string, value: string) => at(line, key, value, `\t${key} ${value};`, 'options');

test('an address match list: addresses, names, keys, nested lists and ! as named reads them', () => {
  const s = parseStatement('port 5353 tls none { !192.0.2.5; 192.0.2.0/24; ! { 198.51.100.0/24; }; key "k"; "Internal"; 2001:db8:: / 32; geoip country NZ; }')!;
  assert.deepEqual(s.head, ['port', '5353', 'tls', 'none']);
  assert.deepEqual(
    s.list.map((e) => [e.negated, e.kind, e.text]),
    [
      [true, 'address', '192.0.2.5'],
      [false, 'address', '192.0.2.0/24'],
      [true, 'list', '{ ... }'],
      [false, 'key', 'key k'],
      [false, 'name', 'Internal'],
      [false, 'address', '2001:db8:: / 32'],
      [false, 'other', 'geoip country NZ'],
    ],
  );
  assert.equal(parseStatement('5300'), null, 'port 5300: no list');
});

test('what a list lets in: named ACLs resolved case-insensitively, nothing under a !, a loop read once; any and localnets cover both families', () => {
  // named-checkconf accepts these lists but for the loop (outer -> loop -> outer: "acl loop
  // detected"), which must still not hang the reader; it refuses !! (one ! per element).
  const all = [
    at(1, 'acl', 'Lab { 192.0.2.0/24; ! 203.0.113.0/24; 203.0.113.0/24; }', ''),
    at(2, 'acl', 'outer { lab; !{ 198.51.100.0/24; }; !outer; loop; }', ''),
    at(3, 'acl', 'loop { outer; }', ''),
    at(4, 'acl', 'nets { localnets; }', ''),
  ];
  const list = (value: string) => resolveList(parseStatement(value)!.list, all);
  assert.deepEqual(list('{ outer; }'), { networks: ['192.0.2.0/24', '203.0.113.0/24'], bothFamilies: false });
  assert.deepEqual(list('{ !lab; localhost; none; key k; }'), { networks: [], bothFamilies: false });
  assert.deepEqual(list('{ 192.0.2.0/24; nets; }'), { networks: ['192.0.2.0/24'], bothFamilies: true });
  assert.deepEqual(list('{ !any; 192.0.2.0/24; }'), { networks: ['192.0.2.0/24'], bothFamilies: false });
  assert.deepEqual(list('{ 2001:db8:: / 32; }').networks, ['2001:db8::/32']);
});

test('acl(): allow-query, allow-recursion, allow-transfer, allow-update; not acl definitions, listen-on or a continuation line', () => {
  const all = [at(1, 'acl', 'lab { 192.0.2.0/24; }', 'acl lab { 192.0.2.0/24; };'), options(3, 'allow-query', '{ lab; }'), options(4, 'allow-transfer', 'port 5353 { 192.0.2.0/24; }'), options(5, 'listen-on', '{ 192.0.2.2; }')];
  assert.deepEqual(bindConfigKnowledge.acl(all[1]!, all)!.networks, ['192.0.2.0/24']);
  assert.deepEqual(bindConfigKnowledge.acl(all[1]!, all)!.ports, [53]);
  assert.deepEqual(bindConfigKnowledge.acl(all[2]!, all)!.ports, [5353], 'allow-transfer port N guards that port');
  assert.equal(bindConfigKnowledge.acl(all[0]!, all), null);
  assert.equal(bindConfigKnowledge.acl(all[3]!, all), null);
  assert.equal(bindConfigKnowledge.acl(at(7, 'allow-query', '{ 192.0.2.0/24; }', '  { 192.0.2.0/24; };', 'options > allow-query from line 6'), all), null, 'the list of a statement whose key stands alone on line 6: judged there');
  assert.equal(bindConfigKnowledge.acl(options(8, 'allow-query', '{ localnets; 192.0.2.0/24; }'), all), null, 'localnets lets in the IPv6 clients of the same networks');
});

test('the fix on the key line: before the list\'s }, after its { when it goes on below, a note when the { is on another line', () => {
  const add = (raw: string, value: string) => bindConfigKnowledge.acl(at(1, 'allow-query', value, raw, 'options'), [])!.withIpv6(['2001:db8:1::/64']);
  assert.equal(add('  allow-query { 192.0.2.0/24; }; # lab', '{ 192.0.2.0/24; }'), '  allow-query { 192.0.2.0/24; 2001:db8:1::/64; }; # lab');
  assert.equal(add('options { allow-query {192.0.2.0/24;}; };', '{192.0.2.0/24;}'), 'options { allow-query {192.0.2.0/24; 2001:db8:1::/64; }; };');
  assert.equal(add('  allow-query { "lab}"; 192.0.2.0/24; { 198.51.100.0/24; }; };', '{ "lab}"; 192.0.2.0/24; { 198.51.100.0/24; }; }'), '  allow-query { "lab}"; 192.0.2.0/24; { 198.51.100.0/24; }; 2001:db8:1::/64; };', 'quotes and nested lists skipped');
  assert.equal(add('  allow-query {  // lab', '{\n192.0.2.0/24;\n}'), '  allow-query { 2001:db8:1::/64;  // lab');
  assert.equal(add('  allow-query', '\n{ 192.0.2.0/24; }'), '  allow-query // add 2001:db8:1::/64; inside the { } list below');
});

test('listen-on-v6 ports: port N, tls (853), http (443, 80 with tls none), else options port or 53; only in options', () => {
  const off = (value: string, more: ConfigDirective[] = []) => {
    const d = options(2, 'listen-on-v6', value);
    return bindConfigKnowledge.ipv6Off(d, [d, ...more]);
  };
  assert.deepEqual(off('{ none; }')!.ports, [53]);
  assert.deepEqual(off('port 5353 { none; }')!.ports, [5353]);
  assert.deepEqual(off('tls ephemeral { none; }')!.ports, [853]);
  assert.deepEqual(off('tls t http h { none; }')!.ports, [443]);
  assert.deepEqual(off('tls none http h { none; }')!.ports, [80]);
  assert.deepEqual(off('{ none; }', [options(1, 'port', '5300')])!.ports, [5300]);
  assert.equal(off('{ !any; }')!.fix, '\tlisten-on-v6 { any; };');
  assert.equal(off('{ any; }'), null);
  assert.equal(off('{ ::1; }'), null, 'loopback only is not IPv6 off');
  assert.equal(off('{ none; }', [at(1, 'acl', 'v6 { 2001:db8:1::2; }', ''), options(3, 'listen-on-v6', '{ v6; }')]), null, 'another listen-on-v6 on port 53 listens');
  assert.equal(bindConfigKnowledge.ipv6Off(at(2, 'listen-on-v6', '{ none; }', 'listen-on-v6 { none; };', 'view "v"'), []), null);
  assert.deepEqual(bindConfigKnowledge.ipv6Off(at(2, 'Listen-On-V6', '{ None; }', 'Listen-On-V6 { None; };', 'Options'), [])?.ports, [53], 'keywords in any case');
});

test('named -4 among the start options, grouped or not; -4 as the argument of another option is not one', () => {
  assert.equal(withoutIpv4Only('-u bind -4'), '-u bind');
  assert.equal(withoutIpv4Only('-4'), '');
  assert.equal(withoutIpv4Only('-f4 -u bind'), '-f -u bind');
  assert.equal(withoutIpv4Only('-4u bind'), '-u bind');
  assert.equal(withoutIpv4Only('-u bind'), null);
  assert.equal(withoutIpv4Only('-u -4'), null, '-4 is the user name here');
  assert.equal(withoutIpv4Only('-n4 -6'), null, '-n takes 4 as its argument');
  const d: ConfigDirective = { file: '/etc/default/named', line: 6, key: 'OPTIONS', value: '-u bind -4', raw: 'OPTIONS="-u bind -4"' };
  const off = bindConfigKnowledge.ipv6Off(d, [d])!;
  assert.equal(off.fix, 'OPTIONS="-u bind"');
  assert.deepEqual(off.ports, [53]);
  assert.equal(bindConfigKnowledge.ipv6Off({ ...d, file: '/etc/bind/named.conf' }, []), null, 'only the OPTIONS of /etc/default/named');
});

test('addresses(): the elements on the directive\'s own line, checked as bare networks with a zone allowed', () => {
  const head = at(1, 'acl', 'v6 {\n[2001:db8::]/32; 192.0.2.0/24;\nfe80::1%lo;\n}', 'acl v6 {');
  const line2 = at(2, 'acl', '[2001:db8::]/32; 192.0.2.0/24;', '  [2001:db8::]/32; 192.0.2.0/24;', 'acl from line 1');
  const line3 = at(3, 'acl', 'fe80::1%lo;', '  fe80::1%lo;', 'acl from line 1');
  const all = [head, line2, line3];
  assert.deepEqual(bindConfigKnowledge.addresses(head, all), []);
  assert.deepEqual(bindConfigKnowledge.addresses(line2, all).map((u) => u.token), ['[2001:db8::]/32', '192.0.2.0/24']);
  const [bracketed] = bindConfigKnowledge.addresses(line2, all);
  assert.deepEqual(checkAddressSyntax(bracketed!, [], null), { severity: 'critical', problem: checkAddressSyntax(bracketed!, [], null)!.problem, corrected: '2001:db8::/32' });
  assert.equal(checkAddressSyntax(bindConfigKnowledge.addresses(line3, all)[0]!, [], null), null, 'named takes fe80::1%lo');
  const listen = options(4, 'listen-on', 'port 53 { 192.0.2.2; ::ffff:192.0.2.2; }');
  assert.deepEqual(bindConfigKnowledge.addresses(listen, [listen]).map((u) => u.token), ['192.0.2.2', '::ffff:192.0.2.2'], 'port 53 is not an address');
  assert.equal(checkAddressSyntax(bindConfigKnowledge.addresses(listen, [listen])[1]!, [], bindConfigKnowledge.convertsMappedPeers), null, 'named never sees mapped peers: nothing to say');
});
