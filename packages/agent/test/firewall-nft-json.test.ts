// `nft -j list ruleset` (nftables 1.0.6) parsed into the evaluator's model: real captures of
// test/fixtures/firewall (README.md there says how each was made), then broken variants of
// them, each refused with a CommandOutputError naming the entry, the field and the raw text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NFT_COMMAND, parseNftJson, printRule } from '../src/firewall/nft-json.js';
import { commandErrorOf } from './helpers/proc-fixtures.js';
import { chain, firewallOutput, table } from './helpers/firewall-fixtures.js';

const nft = (scenario: Parameters<typeof firewallOutput>[0]) => parseNftJson(firewallOutput(scenario, 'nft'));
const texts = (c: { rules: Array<{ text: string }> }) => c.rules.map((r) => r.text);
const handles = (c: { rules: Array<{ handle: number | null }> }) => c.rules.map((r) => r.handle);

test('empty: only the metainfo object: no table, backend nftables, the command named', () => {
  assert.deepEqual(nft('empty'), { backend: 'nftables', command: 'nft -j list ruleset', tables: [] });
  // nft prints nothing at all when it has nothing to say in some versions: read as empty too.
  assert.deepEqual(parseNftJson('').tables, []);
  assert.deepEqual(parseNftJson('\n').tables, []);
});

test('nft-inet: one inet table, input base chain (hook input, priority 0, policy drop), 9 rules in listed order with their handles', () => {
  const rs = nft('nft-inet');
  assert.equal(rs.backend, 'nftables');
  assert.equal(rs.command, NFT_COMMAND);
  assert.deepEqual(rs.tables.map((t) => `${t.family} ${t.name}`), ['inet filter']);
  const input = chain(table(rs, 'inet', 'filter'), 'input');
  assert.deepEqual({ ...input, rules: input.rules.length }, { name: 'input', hook: 'input', priority: 0, type: 'filter', policy: 'drop', rules: 9 });
  assert.deepEqual(handles(input), [3, 4, 6, 7, 9, 10, 11, 12, 13]);
  for (const r of input.rules) assert.equal(r.line, null, 'nftables rules have handles, not lines');
  // Printed as `nft -a list ruleset` prints them (checked against nft 1.0.6's own listing when captured).
  assert.deepEqual(texts(input), [
    'ct state vmap { invalid : drop, established : accept, related : accept }',
    'iifname "lo" accept',
    'icmpv6 type { packet-too-big, echo-request, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept',
    'icmp type echo-request accept',
    'tcp dport { 22, 80 } accept',
    'ip saddr 192.0.2.0/24 tcp dport 5432 accept',
    'ip6 saddr 2001:db8:5::/48 tcp dport 5432 accept',
    'meta nfproto ipv4 tcp dport 25 accept',
    'tcp dport 8080 reject with tcp reset',
  ]);
  // The expressions stay nft's own JSON forms, for the evaluator.
  assert.deepEqual(input.rules[5]!.expr, [
    { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { prefix: { addr: '192.0.2.0', len: 24 } } } },
    { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 5432 } },
    { accept: null },
  ]);
});

test('ip6-no-nd: an ip6 table with priority 0, policy drop and two rules', () => {
  const input = chain(table(nft('ip6-no-nd'), 'ip6', 'f'), 'input');
  assert.deepEqual([input.hook, input.priority, input.policy], ['input', 0, 'drop']);
  assert.deepEqual(texts(input), ['ct state established,related accept', 'tcp dport 22 accept']);
});

test('nft-realistic: base chains at raw (-300), mangle (-150) and filter (0); regular chains without hook, priority or policy', () => {
  const t = table(nft('nft-realistic'), 'inet', 'filter');
  assert.deepEqual(
    t.chains.map((c) => [c.name, c.hook, c.priority, c.type, c.policy, c.rules.length]),
    [
      ['prerouting', 'prerouting', -300, 'filter', 'accept', 2],
      ['mangle_pre', 'prerouting', -150, 'filter', 'accept', 1],
      ['input', 'input', 0, 'filter', 'drop', 12],
      ['public_in', null, null, null, null, 14],
      ['ssh_in', null, null, null, null, 4],
      ['smtp_in', null, null, null, null, 1],
    ],
  );
  assert.deepEqual(handles(chain(t, 'ssh_in')), [44, 45, 46, 47]);
  const input = texts(chain(t, 'input'));
  assert.ok(input.includes('tcp flags != syn / fin,syn,rst,ack ct state new counter drop'), input.join('\n'));
  assert.ok(input.includes('iifname "eth*" jump public_in'));
  assert.ok(input.includes('ip saddr @blocklist4 drop'));
  const pub = texts(chain(t, 'public_in'));
  assert.equal(pub[0], 'tcp dport vmap @svc');
  // `over` reverses a limit's meaning: the text must keep it.
  assert.ok(pub.includes('tcp dport 3306 limit rate over 20/second drop'), pub.join('\n'));
  assert.ok(pub.includes('ip6 saddr != 2001:db8::/32 tcp dport 5432 drop'));
  assert.ok(pub.includes('ct state new tcp dport 6000-6010 log prefix "x11: " reject with tcp reset'));
});

test('nft-realistic: named sets and the verdict map keep their elements in nft JSON forms (prefix, range, {"elem"} with timeout or counter, [key, verdict])', () => {
  const t = table(nft('nft-realistic'), 'inet', 'filter');
  const set = (name: string) => t.sets.find((s) => s.name === name)?.elements;
  assert.deepEqual(set('admin4'), [{ prefix: { addr: '192.0.2.0', len: 28 } }, { range: ['198.51.100.10', '198.51.100.20'] }]);
  assert.deepEqual(set('web_ports'), [80, 443, { range: [8000, 8099] }]);
  assert.deepEqual(set('svc'), [[22, { jump: { target: 'ssh_in' } }], [25, { goto: { target: 'smtp_in' } }], [53, { accept: null }]]);
  const blocklist4 = set('blocklist4') as Array<{ elem: { val: string; timeout: number } }>;
  assert.equal(blocklist4.length, 1);
  assert.equal(blocklist4[0]!.elem.val, '203.0.113.66');
  assert.equal(blocklist4[0]!.elem.timeout, 3600);
  assert.deepEqual(set('blocklist6'), [{ elem: { val: { prefix: { addr: '2001:db8:bad::', len: 48 } }, counter: { packets: 0, bytes: 0 } } }]);
});

test('firewalld: 75 chains of one inet table; priorities "filter + 10" (10), "mangle + 10" (-140), "dstnat + 10" (-90); rules in listed order, not handle order', () => {
  const t = table(nft('firewalld'), 'inet', 'firewalld');
  assert.equal(t.chains.length, 75);
  const base = t.chains.filter((c) => c.hook !== null).map((c) => [c.name, c.hook, c.priority, c.type]);
  assert.deepEqual(base, [
    ['mangle_PREROUTING', 'prerouting', -140, 'filter'],
    ['nat_PREROUTING', 'prerouting', -90, 'nat'],
    ['nat_POSTROUTING', 'postrouting', 110, 'nat'],
    ['nat_OUTPUT', 'output', -90, 'nat'],
    ['filter_PREROUTING', 'prerouting', 10, 'filter'],
    ['filter_INPUT', 'input', 10, 'filter'],
    ['filter_FORWARD', 'forward', 10, 'filter'],
    ['filter_OUTPUT', 'output', 10, 'filter'],
  ]);
  const pre = chain(t, 'filter_PREROUTING');
  assert.deepEqual(handles(pre), [54, 52]);
  assert.deepEqual(texts(pre), ['icmpv6 type { nd-router-advert, nd-neighbor-solicit } accept', 'meta nfproto ipv6 fib saddr . mark . iif oif missing drop']);
  assert.deepEqual(texts(chain(t, 'filter_INPUT')), [
    'ct state { established, related } accept',
    'ct status dnat accept',
    'iifname "lo" accept',
    'ct state invalid drop',
    'jump filter_INPUT_ZONES',
    'reject with icmpx admin-prohibited',
  ]);
  assert.deepEqual(texts(chain(t, 'filter_IN_public_allow')), [
    'tcp dport 22 accept',
    'ip6 daddr fe80::/64 udp dport 546 accept',
    'tcp dport 80 accept',
    'tcp dport 8080 accept',
    'ip saddr 192.0.2.0/24 tcp dport 5432 accept',
    'ip6 saddr 2001:db8:1::/64 tcp dport 3306 accept',
  ]);
});

test('iptables-only: iptables-nft\'s ip filter table as nft lists it: xt matches are statements, kept as they are', () => {
  const input = chain(table(nft('iptables-only'), 'ip', 'filter'), 'INPUT');
  assert.deepEqual([input.hook, input.priority, input.policy, input.rules.length], ['input', 0, 'drop', 4]);
  assert.deepEqual(input.rules[0]!.expr, [{ xt: { type: 'match', name: 'conntrack' } }, { counter: { packets: 0, bytes: 0 } }, { accept: null }]);
});

test('printRule: statements the listing spells its own way', () => {
  assert.equal(printRule([{ reject: { type: 'icmpx', expr: 'admin-prohibited' } }]), 'reject with icmpx admin-prohibited');
  assert.equal(printRule([{ reject: null }]), 'reject');
  assert.equal(printRule([{ limit: { rate: 10, burst: 5, per: 'second', inv: true } }, { drop: null }]), 'limit rate over 10/second drop');
  assert.equal(printRule([{ limit: { rate: 10, burst: 5, per: 'second' } }, { accept: null }]), 'limit rate 10/second accept');
  assert.equal(printRule([{ 'ct count': { val: 5, inv: true } }, { reject: null }]), 'ct count over 5 reject');
  assert.equal(printRule([{ match: { op: '==', left: { fib: { result: 'oif', flags: ['saddr', 'iif'] } }, right: false } }, { drop: null }]), 'fib saddr . iif oif missing drop');
  assert.equal(printRule([{ goto: { target: 'smtp_in' } }]), 'goto smtp_in');
});

// ------------------------------------------------------------------ broken output

type Entry = Record<string, Record<string, unknown>>;
const entries = (): Entry[] => (JSON.parse(firewallOutput('nft-inet', 'nft')) as { nftables: Entry[] }).nftables;
const text = (list: unknown[]) => JSON.stringify({ nftables: list });

test('broken: output cut short -> bad output (not JSON), the text as raw', () => {
  const whole = firewallOutput('nft-inet', 'nft');
  const cut = whole.slice(0, Math.floor(whole.length / 2));
  const e = commandErrorOf(() => parseNftJson(cut));
  assert.equal(e.command, 'nft -j list ruleset');
  assert.equal(e.entry, null);
  assert.equal(e.field, 'output');
  assert.equal(e.raw, cut);
  assert.match(e.message, /^nft -j list ruleset: bad output \(not JSON: /);
});

test('broken: JSON without the "nftables" array -> bad nftables', () => {
  for (const raw of ['[]', '{"nftables": {}}', '{"ruleset": []}']) {
    const e = commandErrorOf(() => parseNftJson(raw));
    assert.equal(e.field, 'nftables');
    assert.equal(e.entry, null);
    assert.equal(e.raw, raw);
  }
});

test('broken: a rule naming a chain its table does not have -> entry N, bad chain, the rule as raw', () => {
  const list = entries();
  const i = list.findIndex((x) => x.rule?.handle === 9);
  list[i]!.rule!.chain = 'inptu';
  const e = commandErrorOf(() => parseNftJson(text(list)));
  assert.equal(e.entry, i);
  assert.equal(e.field, 'chain');
  assert.match(e.raw, /"chain":"inptu"/);
  assert.match(e.raw, /"handle":9/);
  assert.match(e.message, new RegExp(`entry ${i} bad chain \\(names chain inptu, which was not listed in table inet filter\\)`));
});

test('broken: a rule listed before its table -> entry N, bad table', () => {
  const list = entries();
  const rule = list.find((x) => x.rule?.handle === 4)!;
  list.splice(list.indexOf(rule), 1);
  list.splice(1, 0, rule); // after metainfo, before `table`
  const e = commandErrorOf(() => parseNftJson(text(list)));
  assert.equal(e.entry, 1);
  assert.equal(e.field, 'table');
  assert.match(e.raw, /"handle":4/);
  assert.match(e.message, /names table inet filter, which was not listed before it/);
});

test('broken: a chain listed before its table, and a set before its table -> bad table', () => {
  const list = entries();
  const chainEntry = list.find((x) => 'chain' in x)!;
  list.splice(list.indexOf(chainEntry), 1);
  list.splice(0, 0, chainEntry);
  const e = commandErrorOf(() => parseNftJson(text(list)));
  assert.deepEqual([e.entry, e.field], [0, 'table']);
  assert.match(e.raw, /"name":"input"/);
  const set = { set: { family: 'inet', name: 's', table: 'nosuch', type: 'ipv4_addr', handle: 2 } };
  const e2 = commandErrorOf(() => parseNftJson(text([set])));
  assert.deepEqual([e2.entry, e2.field], [0, 'table']);
  assert.match(e2.message, /names table inet nosuch/);
});

test('broken: an unknown chain policy -> bad policy, with the value quoted', () => {
  const list = entries();
  const i = list.findIndex((x) => 'chain' in x);
  list[i]!.chain!.policy = 'reject';
  const e = commandErrorOf(() => parseNftJson(text(list)));
  assert.deepEqual([e.entry, e.field], [i, 'policy']);
  assert.match(e.message, /expected accept or drop, got "reject"/);
  assert.match(e.raw, /"policy":"reject"/);
});

test('broken: fields of the wrong type -> the field named (prio, handle, expr, expr[i], family, entry)', () => {
  const cases: Array<[string, (list: Entry[]) => number, RegExp]> = [
    ['prio', (l) => { const i = l.findIndex((x) => 'chain' in x); l[i]!.chain!.prio = 'filter'; return i; }, /expected an integer, got "filter"/],
    ['handle', (l) => { const i = l.findIndex((x) => x.rule?.handle === 4); l[i]!.rule!.handle = 4.5; return i; }, /expected an integer, got 4\.5/],
    ['expr', (l) => { const i = l.findIndex((x) => x.rule?.handle === 4); l[i]!.rule!.expr = { accept: null }; return i; }, /expected an array/],
    ['expr[1]', (l) => { const i = l.findIndex((x) => x.rule?.handle === 4); (l[i]!.rule!.expr as unknown[])[1] = 'accept'; return i; }, /expected an object/],
    ['family', (l) => { const i = l.findIndex((x) => 'table' in x); delete l[i]!.table!.family; return i; }, /expected a string, got undefined/],
    ['entry', (l) => { l.splice(2, 0, 'rule' as unknown as Entry); return 2; }, /expected an object/],
  ];
  for (const [field, breakIt, reason] of cases) {
    const list = entries();
    const index = breakIt(list);
    const e = commandErrorOf(() => parseNftJson(text(list)));
    assert.equal(e.field, field, `${field}: ${e.message}`);
    assert.equal(e.entry, index, field);
    assert.match(e.message, reason, field);
  }
});

test('objects that do not filter (flowtables, counters, quotas, ct helpers, future kinds) are skipped, not refused', () => {
  const list: unknown[] = entries();
  list.push({ flowtable: { family: 'inet', name: 'ft', table: 'filter', hook: 'ingress', prio: 0, dev: 'eth0' } });
  list.push({ counter: { family: 'inet', name: 'c', table: 'filter', packets: 0, bytes: 0 } });
  list.push({ 'ct helper': { family: 'inet', name: 'ftp', table: 'filter', type: 'ftp', protocol: 'tcp' } });
  list.push({ 'synproxy': { family: 'inet', name: 'sp', table: 'filter', mss: 1460 } });
  const rs = parseNftJson(text(list));
  assert.deepEqual(rs, nft('nft-inet'));
});
