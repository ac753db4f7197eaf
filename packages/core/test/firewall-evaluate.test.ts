// The firewall evaluator on rule sets written here in nftables' JSON forms (libnftables-json(5),
// the forms `nft -j list ruleset` prints and the iptables-save translation produces): one case
// per piece of netfilter semantics. Core tests must not import the agent, so the captured
// fixtures are judged in packages/agent/test/firewall-evaluate-fixtures.test.ts, through the
// agent's parsers and against what real connects did; here the rule sets are small and exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluatePacket, inboundBaseChains, type FirewallDecision, type FirewallPacket } from '../src/firewall/evaluate.js';
import type { FirewallChain, FirewallRule, FirewallRuleset, FirewallSet, FirewallTable, NftExpr } from '../src/firewall/model.js';
import { icmpv6Firewall, serviceFirewall } from '../src/firewall/services.js';
import type { HostAddress, Service } from '../src/report.js';

// ------------------------------------------------------------------ building rule sets

let handle = 100;
/** A rule; text is the JSON unless given (what matters here is the expressions). */
const rule = (...expr: NftExpr[]): FirewallRule => ({ handle: ++handle, line: null, text: JSON.stringify(expr), expr });
const named = (text: string, ...expr: NftExpr[]): FirewallRule => ({ handle: ++handle, line: null, text, expr });

const m = (left: unknown, right: unknown, op = '=='): NftExpr => ({ match: { op, left, right } });
const payload = (protocol: string, field: string) => ({ payload: { protocol, field } });
const meta = (key: string) => ({ meta: { key } });
const dport = (port: unknown, proto = 'tcp') => m(payload(proto, 'dport'), port);
const saddr = (family: 'ip' | 'ip6', right: unknown, op = '==') => m(payload(family, 'saddr'), right, op);
const prefix = (addr: string, len: number) => ({ prefix: { addr, len } });
const ctState = (right: unknown, op = 'in') => m({ ct: { key: 'state' } }, right, op);
const icmpv6Type = (right: unknown) => m(payload('icmpv6', 'type'), right);
const ACCEPT: NftExpr = { accept: null };
const DROP: NftExpr = { drop: null };
const REJECT: NftExpr = { reject: { type: 'tcp reset' } };
const RETURN: NftExpr = { return: null };
const jump = (target: string): NftExpr => ({ jump: { target } });
const goto = (target: string): NftExpr => ({ goto: { target } });

const base = (name: string, policy: 'accept' | 'drop', rules: FirewallRule[], hook = 'input', priority = 0, type = 'filter'): FirewallChain => ({ name, hook, priority, type, policy, rules });
const regular = (name: string, rules: FirewallRule[]): FirewallChain => ({ name, hook: null, priority: null, type: null, policy: null, rules });
const tbl = (family: string, chains: FirewallChain[], sets: FirewallSet[] = [], name = 'filter'): FirewallTable => ({ family, name, chains, sets });
const nft = (...tables: FirewallTable[]): FirewallRuleset => ({ backend: 'nftables', command: 'nft -j list ruleset', tables });
/** One inet table with an input chain. */
const inet = (policy: 'accept' | 'drop', rules: FirewallRule[], more: FirewallChain[] = [], sets: FirewallSet[] = []): FirewallRuleset[] => [nft(tbl('inet', [base('input', policy, rules), ...more], sets))];

const tcp = (family: 4 | 6, port: number, iif = 'eth0'): FirewallPacket => ({ family, proto: 'tcp', port, icmpType: null, ctState: 'new', pktType: 'unicast', iif });
const udp = (family: 4 | 6, port: number): FirewallPacket => ({ ...tcp(family, port), proto: 'udp' });
const NS: FirewallPacket = { family: 6, proto: 'icmpv6', port: null, icmpType: 135, ctState: 'untracked', pktType: 'multicast', iif: 'eth0' };
const NA: FirewallPacket = { ...NS, icmpType: 136, pktType: 'unicast' };
const PTB: FirewallPacket = { ...NS, icmpType: 2, ctState: 'related', pktType: 'unicast' };

const verdict = (d: FirewallDecision) => d.verdict;
const judge = (rulesets: FirewallRuleset[], packet: FirewallPacket) => evaluatePacket(rulesets, packet);

// ------------------------------------------------------------------ walking order

test('no rule set, or no base chain on the input path: accepted, decided by nothing', () => {
  assert.deepEqual(judge([], tcp(6, 22)), { verdict: 'accepted', by: null, allowedSources: [], unmodelled: null });
  const outputOnly = [nft(tbl('inet', [base('out', 'drop', [rule(DROP)], 'output'), base('fwd', 'drop', [], 'forward'), regular('x', [rule(DROP)])]))];
  assert.deepEqual(judge(outputOnly, tcp(4, 22)), { verdict: 'accepted', by: null, allowedSources: [], unmodelled: null });
});

test('a policy decides when no rule does; the reference names the table, chain and policy', () => {
  const d = judge(inet('drop', [rule(dport(22), ACCEPT)]), tcp(4, 80));
  assert.deepEqual(d, {
    verdict: 'dropped',
    by: { backend: 'nftables', family: 'inet', table: 'filter', chain: 'input', handle: null, line: null, position: null, text: 'policy drop' },
    allowedSources: [],
    unmodelled: null,
  });
  const ssh = named('tcp dport 22 accept', dport(22), ACCEPT);
  const ok = judge(inet('drop', [named('counter', { counter: null }), ssh]), tcp(6, 22));
  assert.deepEqual(ok, {
    verdict: 'accepted',
    by: { backend: 'nftables', family: 'inet', table: 'filter', chain: 'input', handle: ssh.handle, line: null, position: 2, text: 'tcp dport 22 accept' },
    allowedSources: [],
    unmodelled: null,
  });
});

test('every base chain must accept: an accept in one is not final, a later chain (by hook, then priority) still drops', () => {
  const early = base('early', 'accept', [rule(dport(22), ACCEPT)], 'input', -10);
  const late = base('late', 'drop', [], 'input', 10);
  const pre = base('pre', 'accept', [rule(dport(25), DROP)], 'prerouting', 50);
  // Listed in the "wrong" order: the evaluator sorts by hook, then priority.
  const rs = [nft(tbl('inet', [late, pre, early]))];
  assert.deepEqual(inboundBaseChains(rs, 4).map((b) => b.chain.name), ['pre', 'early', 'late']);
  assert.equal(judge(rs, tcp(4, 22)).by?.chain, 'late');
  assert.equal(verdict(judge(rs, tcp(4, 22))), 'dropped');
  // prerouting (priority 50) decides before input (priority -10).
  assert.equal(judge(rs, tcp(4, 25)).by?.chain, 'pre');
});

test('tables by family: ip for IPv4, ip6 for IPv6, inet for both; nat/route chains, netdev and bridge are not walked', () => {
  const rs = [
    nft(
      tbl('ip', [base('input', 'drop', [])], [], 'v4'),
      tbl('ip6', [base('input', 'accept', [rule(dport(22), DROP)])], [], 'v6'),
      tbl('inet', [base('nat_pre', 'accept', [rule(DROP)], 'prerouting', -100, 'nat'), base('rt', 'accept', [rule(DROP)], 'input', 0, 'route')], [], 'natty'),
      tbl('netdev', [base('ingress', 'drop', [], 'ingress')], [], 'nd'),
      tbl('bridge', [base('input', 'drop', [])], [], 'br'),
    ),
  ];
  assert.equal(verdict(judge(rs, tcp(4, 80))), 'dropped');
  assert.equal(judge(rs, tcp(4, 80)).by?.table, 'v4');
  assert.equal(verdict(judge(rs, tcp(6, 80))), 'accepted');
  assert.equal(judge(rs, tcp(6, 22)).by?.table, 'v6');
});

// ------------------------------------------------------------------ jumps, gotos, returns, verdict maps

test('jump: a chain that ends (or returns) comes back to the rule after the jump', () => {
  const sub = regular('sub', [rule(m(meta('nfproto'), 'ipv4'), ACCEPT)]);
  const rs = inet('drop', [rule(jump('sub')), rule(dport(22), ACCEPT)], [sub]);
  assert.equal(verdict(judge(rs, tcp(4, 80))), 'accepted', 'IPv4 accepted in sub');
  const v6 = judge(rs, tcp(6, 22));
  assert.equal(v6.verdict, 'accepted', 'IPv6 came back and met tcp dport 22 accept');
  assert.equal(v6.by?.position, 2);
  const withReturn = inet('drop', [rule(jump('sub')), rule(dport(22), ACCEPT)], [regular('sub', [rule(m(meta('nfproto'), 'ipv6'), RETURN), rule(DROP)])]);
  assert.equal(verdict(judge(withReturn, tcp(6, 22))), 'accepted', 'return goes back to the caller');
  assert.equal(verdict(judge(withReturn, tcp(4, 22))), 'dropped', 'IPv4 dropped inside sub');
  assert.equal(judge(withReturn, tcp(4, 22)).by?.chain, 'sub');
});

test('goto: when the target chain ends, the chain that called goto is left too (the base chain\'s policy, or the jumper\'s next rule)', () => {
  const sub = regular('sub', [rule(m(meta('nfproto'), 'ipv4'), ACCEPT)]);
  const rs = inet('drop', [rule(goto('sub')), rule(dport(22), ACCEPT)], [sub]);
  const v6 = judge(rs, tcp(6, 22));
  assert.equal(v6.verdict, 'dropped', 'goto from the base chain: its policy, the next rule is never reached');
  assert.equal(v6.by?.text, 'policy drop');
  // base jump A; A goto B; B ends: back to base after `jump A`, not to A's next rule.
  const a = regular('A', [rule(goto('B')), rule(DROP)]);
  const b = regular('B', []);
  const nested = inet('drop', [rule(jump('A')), rule(dport(22), ACCEPT)], [a, b]);
  assert.equal(verdict(judge(nested, tcp(4, 22))), 'accepted');
  // Same with jump instead of goto: A's DROP is reached.
  const jumped = inet('drop', [rule(jump('A')), rule(dport(22), ACCEPT)], [regular('A', [rule(jump('B')), rule(DROP)]), b]);
  assert.equal(verdict(judge(jumped, tcp(4, 22))), 'dropped');
  assert.equal(judge(jumped, tcp(4, 22)).by?.chain, 'A');
  // return in a base chain: its policy.
  assert.equal(judge(inet('accept', [rule(RETURN), rule(DROP)]), tcp(4, 1)).verdict, 'accepted');
});

test('jump depth: 16 nested jumps are followed; one more is unknown, as is a loop (nft refuses loops, the evaluator still ends)', () => {
  const chainOf = (depth: number) => Array.from({ length: depth }, (_, i) => regular(`c${i + 1}`, [rule(i + 1 < depth ? jump(`c${i + 2}`) : ACCEPT)]));
  const deep16 = inet('drop', [rule(jump('c1'))], chainOf(16));
  assert.equal(verdict(judge(deep16, tcp(4, 80))), 'accepted');
  const deep17 = judge(inet('drop', [rule(jump('c1'))], chainOf(17)), tcp(4, 80));
  assert.equal(deep17.verdict, 'unknown');
  assert.equal(deep17.unmodelled, 'jumps nested deeper than 16');
  const loop = judge(inet('drop', [rule(jump('a'))], [regular('a', [rule(jump('b'))]), regular('b', [rule(jump('a'))])]), tcp(4, 80));
  assert.equal(loop.verdict, 'unknown');
  assert.equal(loop.unmodelled, 'jumps nested deeper than 16');
  const missing = judge(inet('drop', [rule(jump('nosuch'))]), tcp(4, 80));
  assert.deepEqual([missing.verdict, missing.unmodelled], ['unknown', 'jump to a chain not in the rule set: nosuch (from input)']);
});

test('verdict maps: an entry decides (accept, drop, jump, goto); no entry falls through to the next rule', () => {
  const svc: FirewallSet = { name: 'svc', elements: [[22, { jump: { target: 'ssh' } }], [25, { goto: { target: 'smtp' } }], [{ range: [8000, 8099] }, ACCEPT], [23, DROP]] };
  const rs = inet(
    'drop',
    [rule({ vmap: { key: payload('tcp', 'dport'), data: '@svc' } }), rule(dport(9000), ACCEPT), rule(dport(25), ACCEPT)],
    [regular('ssh', [rule(saddr('ip', prefix('192.0.2.0', 24)), ACCEPT)]), regular('smtp', [rule(m(meta('nfproto'), 'ipv4'), ACCEPT)])],
    [svc],
  );
  assert.equal(verdict(judge(rs, tcp(4, 8080))), 'accepted', 'range entry');
  assert.equal(verdict(judge(rs, tcp(4, 23))), 'dropped');
  assert.equal(verdict(judge(rs, tcp(4, 9000))), 'accepted', 'no entry for 9000: on to the next rule');
  assert.deepEqual(judge(rs, tcp(4, 22)).allowedSources, ['192.0.2.0/24']);
  assert.equal(verdict(judge(rs, tcp(6, 22))), 'dropped', 'jump ssh came back, no later rule for 22');
  assert.equal(verdict(judge(rs, tcp(6, 25))), 'dropped', 'goto smtp ended: tcp dport 25 accept after the map is not reached');
  assert.equal(verdict(judge(rs, udp(4, 8080))), 'dropped', 'no tcp header: the map is skipped');
  // An anonymous vmap on ct state, as `ct state vmap { established : accept, related : accept, invalid : drop }`.
  const ct = inet('drop', [rule({ vmap: { key: { ct: { key: 'state' } }, data: { set: [['established', ACCEPT], ['related', ACCEPT], ['invalid', DROP]] } } }), rule(dport(22), ACCEPT)]);
  assert.equal(verdict(judge(ct, tcp(4, 22))), 'accepted', 'new: no entry, falls through');
  assert.equal(verdict(judge(ct, PTB)), 'accepted', 'related');
  assert.equal(verdict(judge(ct, NS)), 'dropped', 'untracked: no entry');
});

// ------------------------------------------------------------------ source addresses

test('restricted: each listed prefix or range is walked as its own client; nested prefixes, sets and ranges', () => {
  const admins: FirewallSet = { name: 'admins', elements: [prefix('192.0.2.0', 28), { range: ['198.51.100.10', '198.51.100.20'] }, '203.0.113.7', prefix('2001:db8::', 32)] };
  const rs = inet('drop', [rule(saddr('ip', '@admins'), dport(22), ACCEPT), rule(saddr('ip', prefix('192.0.2.0', 24)), dport(22), DROP), rule(saddr('ip', prefix('10.0.0.0', 8)), ACCEPT)], [], [admins]);
  const d = judge(rs, tcp(4, 22));
  assert.equal(d.verdict, 'restricted');
  assert.deepEqual(d.allowedSources, ['192.0.2.0/28', '198.51.100.10-198.51.100.20', '203.0.113.7', '10.0.0.0/8']);
  assert.equal(d.by?.text, 'policy drop', 'by: what a client from anywhere meets');
  // The IPv6 element of the set is not an IPv4 class; an ip saddr rule never matches IPv6.
  assert.equal(verdict(judge(rs, tcp(6, 22))), 'dropped');
  // A /24 drop in front of a /28 accept inside it: the /28 is not let in.
  const shadowed = inet('drop', [rule(saddr('ip', prefix('192.0.2.0', 24)), DROP), rule(saddr('ip', prefix('192.0.2.0', 28)), ACCEPT), rule(saddr('ip', prefix('198.51.100.0', 24)), ACCEPT)]);
  assert.deepEqual(judge(shadowed, tcp(4, 22)).allowedSources, ['198.51.100.0/24']);
});

test('!= on a source prefix: "drop all but 2001:db8::/32, then accept" is restricted to 2001:db8::/32; the complement forms read as accepted', () => {
  const onlyDoc = judge(inet('drop', [rule(saddr('ip6', prefix('2001:db8::', 32), '!='), dport(5432), DROP), rule(dport(5432), ACCEPT)]), tcp(6, 5432));
  assert.equal(onlyDoc.verdict, 'restricted');
  assert.deepEqual(onlyDoc.allowedSources, ['2001:db8::/32']);
  assert.equal(onlyDoc.by?.position, 1, 'a client from anywhere is dropped by the != rule');
  // IPv4 never matches an ip6 saddr rule: accepted.
  assert.equal(verdict(judge(inet('drop', [rule(saddr('ip6', prefix('2001:db8::', 32), '!='), dport(5432), DROP), rule(dport(5432), ACCEPT)]), tcp(4, 5432))), 'accepted');
  // "Everyone but 2001:db8::/32" (accept != /32, or drop /32 then accept): a client from
  // anywhere gets in, so the answer is accepted; the excluded prefix is not listed anywhere.
  const allBut = judge(inet('drop', [rule(saddr('ip6', prefix('2001:db8::', 32), '!='), ACCEPT)]), tcp(6, 80));
  assert.deepEqual([allBut.verdict, allBut.allowedSources], ['accepted', []]);
  const dropThenAccept = judge(inet('drop', [rule(saddr('ip6', prefix('2001:db8::', 32)), DROP), rule(ACCEPT)]), tcp(6, 80));
  assert.deepEqual([dropThenAccept.verdict, dropThenAccept.allowedSources], ['accepted', []]);
});

// ------------------------------------------------------------------ unmodelled expressions

/** family: the packet's, where the expression needs one (an ip6 header match is false for IPv4). */
const UNMODELLED: Array<{ what: string; expr: NftExpr; says: string; family?: 4 | 6 }> = [
  { what: 'meta mark', expr: m(meta('mark'), 1), says: 'meta mark' },
  { what: 'ip daddr', expr: m(payload('ip', 'daddr'), '192.0.2.2'), says: 'ip daddr' },
  { what: 'ip6 daddr', expr: m(payload('ip6', 'daddr'), '2001:db8::2'), says: 'ip6 daddr', family: 6 },
  { what: 'an ipset behind -m set (translated from iptables-save)', expr: m({ xt: { type: 'match', name: '-m set --match-set admins src' } }, true), says: 'iptables extension "-m set --match-set admins src"' },
  { what: '-m recent', expr: m({ xt: { type: 'match', name: '-m recent --update' } }, true), says: 'iptables extension "-m recent --update"' },
  { what: 'an iptables-nft xt match in nft\'s JSON', expr: { xt: { type: 'match', name: 'conntrack' } }, says: 'iptables match conntrack' },
  { what: 'meta skuid', expr: m(meta('skuid'), 0), says: 'meta skuid' },
  { what: 'ct mark', expr: m({ ct: { key: 'mark' } }, 1), says: 'ct mark' },
  { what: 'a concatenation', expr: m({ concat: [payload('ip', 'saddr'), payload('tcp', 'dport')] }, '@pairs'), says: 'expression concat' },
  { what: 'ip6 hoplimit', expr: m(payload('ip6', 'hoplimit'), 255), says: 'ip6 hoplimit', family: 6 },
  { what: 'an operator on ports', expr: m(payload('tcp', 'sport'), 1024, '<'), says: 'tcp sport' },
  { what: 'fib daddr oif', expr: m({ fib: { result: 'oif', flags: ['daddr'] } }, false), says: 'fib daddr oif' },
  { what: 'numgen', expr: m({ numgen: { mode: 'random', mod: 2 } }, 0), says: 'expression numgen' },
];

const UNMODELLED_STATEMENTS: Array<{ what: string; expr: NftExpr; says: string; family?: 4 | 6 }> = [
  { what: 'queue', expr: { queue: { num: 1 } }, says: 'statement "queue"' },
  { what: 'quota', expr: { quota: { val: 10, val_unit: 'mbytes', inv: true } }, says: 'statement "quota"' },
  { what: 'an iptables target (NFQUEUE)', expr: { xt: { type: 'target', name: 'NFQUEUE' } }, says: 'iptables target NFQUEUE' },
  { what: 'fwd', expr: { fwd: { dev: 'eth1' } }, says: 'statement "fwd"' },
];

test('every unmodelled match gives unknown naming it, whether the rule would accept or drop, and never accepted/dropped', () => {
  for (const u of UNMODELLED) {
    for (const [policy, action] of [['drop', ACCEPT], ['accept', DROP], ['accept', REJECT]] as const) {
      const d = judge(inet(policy, [named('the rule', dport(22), u.expr, action)]), tcp(u.family ?? 4, 22));
      assert.equal(d.verdict, 'unknown', `${u.what} ${JSON.stringify(action)}: ${d.verdict}`);
      assert.equal(d.unmodelled, u.says, u.what);
      assert.equal(d.by?.text, 'the rule', u.what);
    }
  }
});

test('unmodelled statements in a rule that applies give unknown naming them', () => {
  for (const u of UNMODELLED_STATEMENTS) {
    for (const policy of ['accept', 'drop'] as const) {
      const d = judge(inet(policy, [rule(dport(22), u.expr), rule(ACCEPT)]), tcp(6, 22));
      assert.deepEqual([d.verdict, d.unmodelled], ['unknown', u.says], u.what);
    }
  }
});

test('...except when another match of the same rule is certainly false: the rule is skipped, whatever else it holds', () => {
  for (const u of [...UNMODELLED, ...UNMODELLED_STATEMENTS]) {
    // dport 22 in front of or behind the unknown: the packet goes to port 80.
    for (const order of ['before', 'after'] as const) {
      const exprs = order === 'before' ? [dport(22), u.expr, DROP] : [u.expr, dport(22), DROP];
      const d = judge(inet('accept', [rule(...exprs)]), tcp(u.family ?? 4, 80));
      assert.equal(d.verdict, 'accepted', `${u.what} (${order}): ${d.verdict} ${d.unmodelled}`);
    }
    // A header the packet does not have is a certainly false match too (udp dport for TCP).
    const d = judge(inet('drop', [rule(dport(22, 'udp'), u.expr, ACCEPT)]), tcp(u.family ?? 4, 22));
    assert.equal(d.verdict, 'dropped', u.what);
  }
});

test('an unknown rule that cannot decide (no verdict, or a jump into a chain that decides nothing) leaves the answer modelled', () => {
  const mark = m(meta('mark'), 1);
  assert.equal(verdict(judge(inet('drop', [rule(mark, { counter: null }), rule(dport(22), ACCEPT)]), tcp(4, 22))), 'accepted');
  const logOnly = regular('logit', [rule({ log: { prefix: 'x' } })]);
  assert.equal(verdict(judge(inet('drop', [rule(mark, jump('logit')), rule(dport(22), ACCEPT)], [logOnly]), tcp(4, 22))), 'accepted');
  // A goto is different: taken, the chain is left.
  const g = judge(inet('drop', [rule(mark, goto('logit')), rule(dport(22), ACCEPT)], [logOnly]), tcp(4, 22));
  assert.deepEqual([g.verdict, g.unmodelled], ['unknown', 'meta mark']);
  // And a jump into a chain that decides is unknown.
  const j = judge(inet('accept', [rule(mark, jump('d'))], [regular('d', [rule(DROP)])]), tcp(4, 22));
  assert.deepEqual([j.verdict, j.unmodelled], ['unknown', 'meta mark']);
});

test('marks set in an earlier chain are not followed: the later meta mark match is unknown, the mangle statement itself decides nothing', () => {
  const pre = base('mangle', 'accept', [rule(dport(8443), { mangle: { key: meta('mark'), value: 2 } })], 'prerouting', -150);
  const input = base('input', 'drop', [rule(dport(8443), m(meta('mark'), 2), ACCEPT), rule(dport(80), ACCEPT)]);
  const rs = [nft(tbl('inet', [pre, input]))];
  assert.deepEqual([judge(rs, tcp(4, 8443)).verdict, judge(rs, tcp(4, 8443)).unmodelled], ['unknown', 'meta mark']);
  assert.equal(verdict(judge(rs, tcp(4, 80))), 'accepted');
});

// ------------------------------------------------------------------ statements that act as matches

test('limit: the first packet is within any rate (limit rate 5/second accept accepts); `limit rate over` does not match it', () => {
  const over = { limit: { rate: 10, burst: 5, per: 'second', inv: true } };
  const under = { limit: { rate: 5, burst: 5, per: 'second' } };
  assert.equal(verdict(judge(inet('accept', [rule(dport(3306), over, DROP)]), tcp(4, 3306))), 'accepted');
  assert.equal(verdict(judge(inet('drop', [rule(dport(3306), under, ACCEPT)]), tcp(4, 3306))), 'accepted');
  assert.equal(verdict(judge(inet('accept', [rule(dport(3306), under, DROP)]), tcp(4, 3306))), 'dropped');
});

test('ct count: the new connection is the client\'s first, so `ct count over 5` does not match and `ct count 5` does', () => {
  assert.equal(verdict(judge(inet('accept', [rule(dport(22), { 'ct count': { val: 5, inv: true } }, DROP)]), tcp(4, 22))), 'accepted');
  assert.equal(verdict(judge(inet('drop', [rule(dport(22), { 'ct count': { val: 5 } }, ACCEPT)]), tcp(4, 22))), 'accepted');
  assert.equal(verdict(judge(inet('accept', [rule(dport(22), { 'ct count': { val: 0, inv: true } }, DROP)]), tcp(4, 22))), 'dropped', 'over 0: even one is over');
});

test('tcp flags: a SYN; `tcp flags & (fin|syn|rst|ack) != syn` does not match it, `== syn` does, and the mask form is skipped for UDP', () => {
  const masked = (op: string, right: unknown) => m({ '&': [payload('tcp', 'flags'), ['fin', 'syn', 'rst', 'ack']] }, right, op);
  const rs = inet('accept', [rule(masked('!=', 'syn'), ctState('new'), DROP), rule(masked('==', ['syn', 'ack']), DROP), rule(dport(22), masked('==', 'syn'), REJECT)]);
  assert.equal(verdict(judge(rs, tcp(4, 80))), 'accepted', 'a SYN is not "not syn", nor syn|ack');
  assert.equal(verdict(judge(rs, tcp(4, 22))), 'dropped', 'masked == syn matches a SYN');
  assert.equal(verdict(judge(rs, udp(6, 53))), 'accepted', 'no tcp header: none of them applies');
  assert.equal(verdict(judge(inet('drop', [rule(m(payload('tcp', 'flags'), 'syn', 'in'), ACCEPT)]), tcp(6, 1))), 'accepted', '`tcp flags syn`');
  assert.equal(verdict(judge(inet('drop', [rule(m(payload('tcp', 'flags'), 'ack', 'in'), ACCEPT)]), tcp(6, 1))), 'dropped');
});

test('ct status: a new connection has no status bit, so `ct status dnat accept` (firewalld) does not accept it; unknown when the rule sets can DNAT', () => {
  const dnatAccept = rule(m({ ct: { key: 'status' } }, 'dnat', 'in'), ACCEPT);
  assert.equal(verdict(judge(inet('drop', [dnatAccept, rule(dport(22), ACCEPT)]), tcp(4, 80))), 'dropped');
  assert.equal(verdict(judge(inet('drop', [dnatAccept, rule(dport(22), ACCEPT)]), tcp(4, 22))), 'accepted');
  const withDnat = [nft(tbl('inet', [base('input', 'drop', [dnatAccept]), base('nat_pre', 'accept', [rule(dport(8080), { dnat: { addr: '192.0.2.9', port: 80 } })], 'prerouting', -100, 'nat')]))];
  const d = judge(withDnat, tcp(4, 80));
  assert.deepEqual([d.verdict, d.unmodelled], ['unknown', 'ct status (the rule sets hold dnat/redirect rules)']);
  const iptablesDnat: FirewallRuleset = { backend: 'iptables-legacy', command: 'iptables-legacy-save', tables: [tbl('ip', [base('PREROUTING', 'accept', [rule(dport(8080), { xt: { type: 'target', name: 'DNAT' } })], 'prerouting', -100, 'nat')], [], 'nat')] };
  assert.equal(verdict(judge([...inet('drop', [dnatAccept]), iptablesDnat], tcp(4, 80))), 'unknown');
  assert.equal(verdict(judge([...inet('drop', [dnatAccept]), iptablesDnat], tcp(6, 80))), 'dropped', 'an ip (IPv4) nat table does not DNAT IPv6');
});

test('set elements with timeouts or counters ({"elem": {"val": ...}}) are matched by their value', () => {
  const blocklist: FirewallSet = { name: 'bl', elements: [{ elem: { val: '203.0.113.66', timeout: 3600, expires: 3599 } }, { elem: { val: prefix('198.51.100.0', 24), counter: { packets: 0, bytes: 0 } } }] };
  const ports: FirewallSet = { name: 'p', elements: [{ elem: { val: 22, comment: 'ssh' } }] };
  const rs = inet('accept', [rule(saddr('ip', '@bl'), DROP), rule(dport('@p'), REJECT)], [], [blocklist, ports]);
  const d = judge(rs, tcp(4, 80));
  assert.equal(d.verdict, 'accepted', `${d.verdict} ${d.unmodelled}`);
  assert.equal(verdict(judge(rs, tcp(4, 22))), 'dropped');
  const allow = judge(inet('drop', [rule(saddr('ip', '@bl'), ACCEPT)], [], [blocklist]), tcp(4, 80));
  assert.deepEqual(allow.allowedSources, ['203.0.113.66', '198.51.100.0/24']);
});

// ------------------------------------------------------------------ interfaces, protocols, fib

test('interfaces: iifname with a wildcard ("eth*", iptables\' "eth+" translated), iif exact, oifname never on the way in', () => {
  const rs = inet('drop', [rule(m(meta('iifname'), 'eth*'), dport(80), ACCEPT), rule(m(meta('iif'), 'wg0'), ACCEPT), rule(m(meta('oifname'), 'eth0'), ACCEPT), rule(m(meta('iifname'), 'lo'), ACCEPT)]);
  assert.equal(verdict(judge(rs, tcp(4, 80, 'eth0'))), 'accepted');
  assert.equal(verdict(judge(rs, tcp(4, 80, 'eth10'))), 'accepted');
  assert.equal(verdict(judge(rs, tcp(4, 80, 'ens3'))), 'dropped');
  assert.equal(verdict(judge(rs, tcp(4, 22, 'wg0'))), 'accepted');
  assert.equal(verdict(judge(rs, tcp(4, 22, 'wg0x'))), 'dropped', 'iif is not a pattern');
  assert.equal(verdict(judge(rs, tcp(6, 22, 'eth0'))), 'dropped', 'oifname is absent for input');
});

test('protocols: meta l4proto / ip protocol / ip6 nexthdr by name or number; sets and ranges of ports; th dport', () => {
  const rs = inet('drop', [
    rule(m(meta('l4proto'), 'udp'), m(payload('th', 'dport'), { set: [53, { range: [60000, 61000] }] }), ACCEPT),
    rule(m(payload('ip', 'protocol'), 6), dport({ set: [22, 80] }), ACCEPT),
    rule(m(payload('ip6', 'nexthdr'), 'tcp'), dport({ range: [8000, 8099] }), ACCEPT),
    rule(m(payload('sctp', 'dport'), 5060), ACCEPT),
  ]);
  assert.equal(verdict(judge(rs, udp(6, 60500))), 'accepted');
  assert.equal(verdict(judge(rs, udp(6, 123))), 'dropped');
  assert.equal(verdict(judge(rs, tcp(4, 80))), 'accepted');
  assert.equal(verdict(judge(rs, tcp(6, 80))), 'dropped', 'ip protocol: not an IPv4 packet');
  assert.equal(verdict(judge(rs, tcp(6, 8050))), 'accepted');
  assert.equal(verdict(judge(rs, tcp(4, 5060))), 'dropped', 'sctp header absent');
});

test('fib: a reverse-path filter passes a real client; fib daddr type is local for unicast, multicast for a neighbour solicitation', () => {
  const rpf = rule(m({ fib: { result: 'oif', flags: ['saddr', 'mark', 'iif'] } }, false), DROP);
  const rs = inet('accept', [rpf, rule(m({ fib: { result: 'type', flags: ['daddr'] } }, { set: ['broadcast', 'multicast'] }), DROP), rule(m({ fib: { result: 'type', flags: ['daddr'] } }, 'local', '!='), DROP)]);
  assert.equal(verdict(judge(rs, tcp(6, 22))), 'accepted');
  assert.equal(verdict(judge(rs, NS)), 'dropped', 'NS goes to a solicited-node multicast address');
  assert.equal(verdict(judge(rs, NA)), 'accepted');
  assert.equal(verdict(judge(inet('drop', [rule({ match: { op: '==', left: { exthdr: { name: 'rt', field: 'type' } }, right: 0 } }, DROP), rule(ACCEPT)]), tcp(6, 22))), 'accepted', 'no routing header');
});

// ------------------------------------------------------------------ ICMPv6

test('ICMPv6: ND is untracked (ct state established,related does not let it in), packet-too-big is related; types by name or number', () => {
  const ctOnly = inet('drop', [rule(ctState(['established', 'related'])), rule(ctState(['established', 'related']), ACCEPT), rule(dport(22), ACCEPT)]);
  assert.deepEqual([NS, NA, PTB].map((p) => verdict(judge(ctOnly, p))), ['dropped', 'dropped', 'accepted']);
  assert.equal(judge(ctOnly, NS).by?.text, 'policy drop');
  const byName = inet('drop', [rule(icmpv6Type({ set: ['nd-neighbor-solicit', 'nd-neighbor-advert'] }), ACCEPT)]);
  assert.deepEqual([NS, NA, PTB].map((p) => verdict(judge(byName, p))), ['accepted', 'accepted', 'dropped']);
  const byNumber = inet('drop', [rule(m(meta('l4proto'), 'ipv6-icmp'), icmpv6Type({ set: [135, 136, 2] }), ACCEPT)]);
  assert.deepEqual([NS, NA, PTB].map((p) => verdict(judge(byNumber, p))), ['accepted', 'accepted', 'accepted']);
  const untracked = inet('drop', [rule(ctState(['new', 'untracked']), m(meta('l4proto'), 58), ACCEPT)]);
  assert.deepEqual([NS, NA, PTB].map((p) => verdict(judge(untracked, p))), ['accepted', 'accepted', 'dropped']);
  // ip6tables' spellings, as the iptables-save translation keeps them.
  const ip6t = inet('drop', [rule(m(meta('l4proto'), 'ipv6-icmp'), icmpv6Type('neighbour-solicitation'), ACCEPT), rule(m(meta('l4proto'), 'icmpv6'), icmpv6Type('neighbour-advertisement'), ACCEPT)]);
  assert.deepEqual([NS, NA].map((p) => verdict(judge(ip6t, p))), ['accepted', 'accepted']);
  // An IPv4 table never sees ICMPv6.
  assert.equal(verdict(judge([nft(tbl('ip', [base('input', 'drop', [])]))], NS)), 'accepted');
  // meta pkttype: NS is multicast.
  assert.equal(verdict(judge(inet('accept', [rule(m(meta('pkttype'), 'multicast'), DROP)]), NS)), 'dropped');
});

// ------------------------------------------------------------------ per service and interface (services.ts)

const addr = (family: 4 | 6, address: string, iface: string, scope: HostAddress['scope'] = 'global'): HostAddress => ({ family, address, prefixLength: family === 4 ? 24 : 64, interface: iface, scope, flags: [] });
const ADDRESSES = [addr(4, '192.0.2.2', 'eth0'), addr(6, '2001:db8:1::2', 'eth0'), addr(4, '10.0.0.2', 'wg0'), addr(6, '2001:db8:77::2', 'wg0'), addr(6, 'fe80::1', 'eth0', 'link'), addr(4, '127.0.0.1', 'lo', 'host')];
const svc = (bindings: Array<{ family: 4 | 6; address: string; v6only?: boolean }>, port = 22): Service =>
  ({ proto: 'tcp', port, process: 'sshd', ipv4: 'any', ipv6: 'any', bindings: bindings.map((b) => ({ family: b.family, address: b.address, v6only: b.v6only ?? null })) }) as unknown as Service;

test('per service: every outside interface of a wildcard binding is judged; accepted on some only is restricted, naming them', () => {
  const rs = inet('drop', [rule(m(meta('iifname'), 'wg0'), ACCEPT), rule(saddr('ip6', prefix('2001:db8:9::', 48)), ACCEPT)]);
  const fw = serviceFirewall(rs, svc([{ family: 4, address: '0.0.0.0' }, { family: 6, address: '::', v6only: true }]), ADDRESSES);
  assert.deepEqual(fw.ipv4 && { verdict: fw.ipv4.verdict, interfaces: fw.ipv4.interfaces, acceptedOn: fw.ipv4.acceptedOn, by: fw.ipv4.by?.text }, { verdict: 'restricted', interfaces: ['eth0', 'wg0'], acceptedOn: ['wg0'], by: 'policy drop' });
  assert.deepEqual(fw.ipv6 && { verdict: fw.ipv6.verdict, acceptedOn: fw.ipv6.acceptedOn, allowedSources: fw.ipv6.allowedSources }, { verdict: 'restricted', acceptedOn: ['wg0'], allowedSources: ['2001:db8:9::/48'] });
  // Bound to eth0's address only: wg0 is not judged.
  const specific = serviceFirewall(rs, svc([{ family: 4, address: '192.0.2.2' }]), ADDRESSES);
  assert.deepEqual([specific.ipv4?.verdict, specific.ipv4?.interfaces, specific.ipv6], ['dropped', ['eth0'], null]);
  // [::] V6ONLY=0 serves IPv4 too (on every IPv4 interface).
  const dual = serviceFirewall(rs, svc([{ family: 6, address: '::', v6only: false }]), ADDRESSES);
  assert.deepEqual(dual.ipv4?.interfaces, ['eth0', 'wg0']);
  // An unknown on one interface makes the whole answer unknown.
  const unk = serviceFirewall(inet('drop', [rule(m(meta('iifname'), 'wg0'), m(meta('mark'), 1), ACCEPT)]), svc([{ family: 4, address: '0.0.0.0' }]), ADDRESSES);
  assert.deepEqual([unk.ipv4?.verdict, unk.ipv4?.unmodelled], ['unknown', 'meta mark']);
});

test('per interface, the ICMPv6 IPv6 needs: NS (multicast, untracked), NA (untracked), packet-too-big (related), on every IPv6 outside interface', () => {
  const out = icmpv6Firewall(inet('drop', [rule(ctState(['established', 'related']), ACCEPT)]), ADDRESSES);
  assert.deepEqual(out.map((o) => `${o.interface} ${o.name} ${o.type} ${o.verdict}`), [
    'eth0 nd-neighbor-solicit 135 dropped',
    'eth0 nd-neighbor-advert 136 dropped',
    'eth0 packet-too-big 2 accepted',
    'wg0 nd-neighbor-solicit 135 dropped',
    'wg0 nd-neighbor-advert 136 dropped',
    'wg0 packet-too-big 2 accepted',
  ]);
});
