// iptables-save / ip6tables-save output (iptables 1.8.9, nft and legacy backends) translated
// into the evaluator's nft JSON forms: real captures of test/fixtures/firewall (README.md
// there says how each was made, ufw's included), broken variants of them refused with an
// IptablesSaveError naming the line and its text, and combineFirewallOutputs, which takes
// iptables-nft's tables from the save output instead of nft's opaque JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IptablesSaveError, parseIptablesSave, splitWords } from '../src/firewall/iptables-save.js';
import { combineFirewallOutputs } from '../src/firewall/read.js';
import { parseNftJson } from '../src/firewall/nft-json.js';
import { chain, firewallOutput, firewallOutputs, table } from './helpers/firewall-fixtures.js';
import { evaluatePacket } from '@dualstack/core';

const saveOf = (scenario: Parameters<typeof firewallOutput>[0], key: 'iptablesNft' | 'ip6tablesNft' | 'iptablesLegacy' | 'ip6tablesLegacy') => {
  const family = key.startsWith('ip6') ? 'ip6' : 'ip';
  const backend = key.endsWith('Legacy') ? 'iptables-legacy' : 'iptables-nft';
  const binary = `${family === 'ip6' ? 'ip6tables' : 'iptables'}-${backend === 'iptables-legacy' ? 'legacy' : 'nft'}-save`;
  return parseIptablesSave(firewallOutput(scenario, key), family, backend, binary);
};

const lines = (c: { rules: Array<{ line: number | null }> }) => c.rules.map((r) => r.line);
const texts = (c: { rules: Array<{ text: string }> }) => c.rules.map((r) => r.text);

test('iptables-only (iptables-nft-save): filter table, INPUT policy DROP at input/0, four rules on lines 6-9, FORWARD/OUTPUT with their hooks', () => {
  const rs = saveOf('iptables-only', 'iptablesNft');
  assert.equal(rs.backend, 'iptables-nft');
  assert.equal(rs.command, 'iptables-nft-save');
  const filter = table(rs, 'ip', 'filter');
  assert.deepEqual(
    filter.chains.map((c) => [c.name, c.hook, c.priority, c.type, c.policy, c.rules.length]),
    [
      ['INPUT', 'input', 0, 'filter', 'drop', 4],
      ['FORWARD', 'forward', 0, 'filter', 'accept', 0],
      ['OUTPUT', 'output', 0, 'filter', 'accept', 0],
    ],
  );
  const input = chain(filter, 'INPUT');
  assert.deepEqual(lines(input), [6, 7, 8, 9]);
  for (const r of input.rules) assert.equal(r.handle, null);
  assert.deepEqual(texts(input), [
    '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-A INPUT -i lo -j ACCEPT',
    '-A INPUT -p tcp -m multiport --dports 22,80 -j ACCEPT',
    '-A INPUT -s 198.51.100.0/24 -p tcp -m tcp --dport 5432 -j ACCEPT',
  ]);
  assert.deepEqual(input.rules.map((r) => r.expr), [
    [{ match: { op: 'in', left: { ct: { key: 'state' } }, right: ['related', 'established'] } }, { accept: null }],
    [{ match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'lo' } }, { accept: null }],
    [{ match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'tcp' } }, { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: { set: [22, 80] } } }, { accept: null }],
    [
      { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { prefix: { addr: '198.51.100.0', len: 24 } } } },
      { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'tcp' } },
      { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 5432 } },
      { accept: null },
    ],
  ]);
});

test('ip6tables-drop (ip6tables-nft-save): family ip6, INPUT DROP, -p ipv6-icmp kept as the protocol name', () => {
  const rs = saveOf('ip6tables-drop', 'ip6tablesNft');
  const input = chain(table(rs, 'ip6', 'filter'), 'INPUT');
  assert.equal(input.policy, 'drop');
  assert.deepEqual(lines(input), [6, 7, 8]);
  assert.deepEqual(input.rules[1]!.expr, [{ match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'ipv6-icmp' } }, { accept: null }]);
});

test('iptables-legacy (iptables-legacy-save): backend iptables-legacy, INPUT ACCEPT, the DROP rule on line 6', () => {
  const rs = saveOf('iptables-legacy', 'iptablesLegacy');
  assert.equal(rs.backend, 'iptables-legacy');
  const input = chain(table(rs, 'ip', 'filter'), 'INPUT');
  assert.equal(input.policy, 'accept');
  assert.deepEqual(texts(input), ['-A INPUT -p tcp -m tcp --dport 5432 -j DROP']);
  assert.deepEqual(lines(input), [6]);
});

test('iptables-realistic (legacy): user chains have no hook, -g is a goto, RETURN, ! -s, multiport ranges, addrtype, limit+LOG', () => {
  const filter = table(saveOf('iptables-realistic', 'iptablesLegacy'), 'ip', 'filter');
  assert.deepEqual(
    filter.chains.map((c) => [c.name, c.hook, c.priority, c.policy, c.rules.length]),
    [
      ['INPUT', 'input', 0, 'drop', 13],
      ['FORWARD', 'forward', 0, 'drop', 0],
      ['OUTPUT', 'output', 0, 'accept', 0],
      ['LOGDROP', null, null, null, 2],
      ['SSH', null, null, null, 3],
      ['WEB', null, null, null, 5],
    ],
  );
  const input = chain(filter, 'INPUT');
  assert.deepEqual(lines(input), [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]);
  const byLine = (n: number) => filter.chains.flatMap((c) => c.rules).find((r) => r.line === n)!;
  assert.deepEqual(byLine(13).expr, [
    { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'eth*' } },
    { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'tcp' } },
    { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 22 } },
    { goto: { target: 'SSH' } },
  ]);
  assert.deepEqual(byLine(14).expr.at(-1), { jump: { target: 'WEB' } });
  assert.deepEqual(byLine(15).expr[1], { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: { set: [{ range: [5000, 5010] }, 5432] } } });
  assert.deepEqual(byLine(20).expr, [{ match: { op: '==', left: { fib: { result: 'type', flags: ['daddr'] } }, right: 'multicast' } }, { drop: null }]);
  // LOG's options (quoted prefix with a space) are the target's, not matches.
  assert.equal(byLine(22).text, '-A LOGDROP -m limit --limit 3/min -j LOG --log-prefix "iptables-drop: "');
  assert.deepEqual(byLine(22).expr, [{ log: null }]);
  assert.deepEqual(byLine(30).expr[0], { match: { op: '!=', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { prefix: { addr: '203.0.113.0', len: 24 } } } });
  assert.deepEqual(byLine(31).expr, [{ return: null }]);
  assert.deepEqual(byLine(19).expr[0], { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: { prefix: { addr: '192.0.2.2', len: 32 } } } });
});

test('iptables-realistic: what the translation does not model stays, named: -m set, -m recent, -m hashlimit, NFQUEUE (and -m hl becomes ip6 hoplimit)', () => {
  const v4 = table(saveOf('iptables-realistic', 'iptablesLegacy'), 'ip', 'filter');
  const v6 = table(saveOf('iptables-realistic', 'ip6tablesLegacy'), 'ip6', 'filter');
  const rule = (t: typeof v4, n: number) => t.chains.flatMap((c) => c.rules).find((r) => r.line === n)!;
  const opaqueNames = (t: typeof v4, n: number) =>
    rule(t, n).expr.flatMap((e) => {
      const left = (e as { match?: { left?: { xt?: { name: string } } } }).match?.left;
      return left?.xt ? [left.xt.name] : [];
    });
  assert.deepEqual(opaqueNames(v4, 15), ['-m set --match-set admins src']);
  assert.deepEqual(opaqueNames(v4, 24), ['-m recent --update', '-m recent --seconds 60', '-m recent --hitcount 4', '-m recent --name ssh', '-m recent --mask 255.255.255.255', '-m recent --rsource']);
  assert.deepEqual(opaqueNames(v4, 16), ['-m hashlimit --hashlimit-above 10/sec', '-m hashlimit --hashlimit-burst 5', '-m hashlimit --hashlimit-mode srcip', '-m hashlimit --hashlimit-name api']);
  assert.deepEqual(rule(v4, 18).expr.at(-1), { xt: { type: 'target', name: 'NFQUEUE' } });
  // -m hl --hl-eq becomes nft's ip6 hoplimit match (modelled: neighbour discovery carries 255).
  assert.deepEqual(opaqueNames(v6, 9), []);
  assert.ok(rule(v6, 9).expr.some((e) => JSON.stringify(e) === JSON.stringify({ match: { op: '==', left: { payload: { protocol: 'ip6', field: 'hoplimit' } }, right: 255 } })));
  assert.deepEqual(opaqueNames(v6, 15), ['-m set --match-set admins6 src']);
  // rt type 0 becomes nft's exthdr match; the REJECT's --reject-with is the target's option.
  assert.deepEqual(rule(v6, 8).expr, [{ match: { op: '==', left: { exthdr: { name: 'rt', field: 'type' } }, right: 0 } }, { drop: null }]);
  assert.deepEqual(rule(v6, 16).expr, [{ reject: null }]);
  assert.deepEqual(rule(v6, 9).expr[1], { match: { op: '==', left: { payload: { protocol: 'icmpv6', field: 'type' } }, right: 135 } });
});

test('ufw (iptables-nft-save, ip6tables-nft-save): 35 and 34 chains (as declared by their ":" lines), the jumps of INPUT, its limit and recent rules, quoted log prefixes', () => {
  const v4 = table(saveOf('ufw', 'iptablesNft'), 'ip', 'filter');
  const v6 = table(saveOf('ufw', 'ip6tablesNft'), 'ip6', 'filter');
  assert.equal(v4.chains.length, 35);
  assert.equal(v6.chains.length, 34);
  const input = chain(v4, 'INPUT');
  assert.equal(input.policy, 'drop');
  assert.deepEqual(lines(input), [38, 39, 40, 41, 42, 43]);
  assert.deepEqual(input.rules.map((r) => r.expr), ['ufw-before-logging-input', 'ufw-before-input', 'ufw-after-input', 'ufw-after-logging-input', 'ufw-reject-input', 'ufw-track-input'].map((target) => [{ jump: { target } }]));
  const user = chain(v4, 'ufw-user-input');
  assert.deepEqual(lines(user), [100, 101, 102, 103, 104, 105]);
  assert.equal(user.rules[5]!.text, '-A ufw-user-input -s 192.0.2.0/24 -p tcp -m tcp --dport 5432 -j ACCEPT');
  assert.deepEqual(user.rules[4]!.expr.at(-1), { jump: { target: 'ufw-user-limit-accept' } });
  const notLocal = chain(v4, 'ufw-not-local');
  assert.deepEqual(notLocal.rules.map((r) => r.expr[0]), [
    { match: { op: '==', left: { fib: { result: 'type', flags: ['daddr'] } }, right: 'local' } },
    { match: { op: '==', left: { fib: { result: 'type', flags: ['daddr'] } }, right: 'multicast' } },
    { match: { op: '==', left: { fib: { result: 'type', flags: ['daddr'] } }, right: 'broadcast' } },
    { jump: { target: 'ufw-logging-deny' } },
    { drop: null },
  ]);
  assert.equal(chain(v6, 'ufw6-user-input').rules.at(-1)!.text, '-A ufw6-user-input -s 2001:db8:1::/64 -p tcp -m tcp --dport 8443 -j ACCEPT');
});

test('splitWords keeps quoted strings whole and unescapes them', () => {
  assert.deepEqual(splitWords('-A INPUT -j LOG --log-prefix "[UFW BLOCK] "'), ['-A', 'INPUT', '-j', 'LOG', '--log-prefix', '[UFW BLOCK] ']);
  assert.deepEqual(splitWords('-m comment --comment "say \\"hi\\""'), ['-m', 'comment', '--comment', 'say "hi"']);
});

// ------------------------------------------------------------------ broken output

const ONLY = firewallOutput('iptables-only', 'iptablesNft');

function saveErrorOf(text: string, family: 'ip' | 'ip6' = 'ip'): IptablesSaveError {
  try {
    parseIptablesSave(text, family, 'iptables-nft', 'iptables-nft-save');
  } catch (error) {
    assert.ok(error instanceof IptablesSaveError, `expected an IptablesSaveError, got ${String(error)}`);
    assert.equal(error.command, 'iptables-nft-save');
    assert.equal(error.message, `iptables-nft-save line ${error.line}: ${error.reason}: ${error.raw.slice(0, 200)}`);
    return error;
  }
  assert.fail('expected an IptablesSaveError, nothing was thrown');
}

const replaceLine = (text: string, n: number, line: string | null) => {
  const all = text.split('\n');
  if (line === null) all.splice(n - 1, 1);
  else all[n - 1] = line;
  return all.join('\n');
};

test('broken: -A for a chain the table did not declare -> its line, the rule as raw', () => {
  const text = replaceLine(ONLY, 7, '-A INPTU -i lo -j ACCEPT');
  const e = saveErrorOf(text);
  assert.equal(e.line, 7);
  assert.equal(e.raw, '-A INPTU -i lo -j ACCEPT');
  assert.equal(e.reason, 'rule for chain INPTU, which the table did not declare');
});

test('broken: no COMMIT (output cut short) -> the last line the output has, naming the table and where it began', () => {
  const text = replaceLine(ONLY, 10, null); // "COMMIT"; the "# Completed" comment and final newline stay
  const e = saveErrorOf(text);
  assert.equal(e.line, 9, 'the last non-comment line, not one past the end');
  assert.equal(e.raw, '-A INPUT -s 198.51.100.0/24 -p tcp -m tcp --dport 5432 -j ACCEPT');
  assert.equal(e.reason, 'table filter (line 2) has no COMMIT (output cut short?)');
  // Cut in the middle of a rule line, no newline at the end.
  const cut = ONLY.slice(0, ONLY.indexOf('--dports 22,80') + 6);
  const e2 = saveErrorOf(cut);
  assert.equal(e2.line, 8);
  assert.equal(e2.raw, '-A INPUT -p tcp -m multiport --dpor');
});

test('broken: an unknown policy, or a chain line without one -> its line', () => {
  const e = saveErrorOf(replaceLine(ONLY, 3, ':INPUT REJECT [0:0]'));
  assert.deepEqual([e.line, e.raw, e.reason], [3, ':INPUT REJECT [0:0]', 'unknown policy REJECT']);
  const e2 = saveErrorOf(replaceLine(ONLY, 3, ':INPUT'));
  assert.deepEqual([e2.line, e2.reason], [3, 'expected ":CHAIN POLICY [packets:bytes]"']);
});

test('broken: an option without its value -> "<option> without a value" on its line', () => {
  for (const [rule, option] of [
    ['-A INPUT -p', '-p'],
    ['-A INPUT -p tcp -m tcp --dport', '--dport'],
    ['-A INPUT -s', '-s'],
    ['-A INPUT -i', '-i'],
    ['-A INPUT -p tcp -m tcp --dport 22 -j', '-j'],
    ['-A INPUT -m conntrack --ctstate', '--ctstate'],
    // --tcp-flags takes two values: the missing second one is named by the first
    ['-A INPUT -p tcp --tcp-flags FIN,SYN,RST,ACK', 'FIN,SYN,RST,ACK'],
  ] as const) {
    const e = saveErrorOf(replaceLine(ONLY, 8, rule));
    assert.equal(e.line, 8, rule);
    assert.equal(e.raw, rule);
    assert.equal(e.reason, `${option} without a value`, rule);
  }
});

test('broken: a rule or chain before any *table line, COMMIT outside a table, a line of nothing known', () => {
  const e = saveErrorOf(`-A INPUT -j ACCEPT\n${ONLY}`);
  assert.deepEqual([e.line, e.raw, e.reason], [1, '-A INPUT -j ACCEPT', 'a chain or rule outside a table (no *table line before it)']);
  const e2 = saveErrorOf(`:INPUT ACCEPT [0:0]\n${ONLY}`);
  assert.equal(e2.line, 1);
  const e3 = saveErrorOf(`${ONLY}COMMIT\n`);
  assert.deepEqual([e3.line, e3.reason], [12, 'COMMIT outside a table']);
  const e4 = saveErrorOf(replaceLine(ONLY, 7, 'Chain INPUT (policy DROP)'));
  assert.deepEqual([e4.line, e4.reason], [7, 'expected *table, :CHAIN, -A or COMMIT']);
  const e5 = saveErrorOf(replaceLine(ONLY, 7, '-A INPUT -z -j ACCEPT'));
  assert.deepEqual([e5.line, e5.reason], [7, 'unknown option -z']);
  const e6 = saveErrorOf(replaceLine(ONLY, 7, '-A INPUT tcp -j ACCEPT'));
  assert.deepEqual([e6.line, e6.reason], [7, 'unexpected word "tcp"']);
});

test('an empty save output (no table loaded) is an empty rule set, not an error', () => {
  assert.deepEqual(parseIptablesSave('', 'ip6', 'iptables-legacy', 'ip6tables-legacy-save').tables, []);
  assert.deepEqual(parseIptablesSave('# Generated by ip6tables-save v1.8.9\n', 'ip6', 'iptables-legacy', 'ip6tables-legacy-save').tables, []);
});

// ------------------------------------------------------------------ combineFirewallOutputs

test('combine: iptables-only — nft\'s opaque ip filter table is dropped for iptables-nft-save\'s, nftables first', () => {
  const outputs = firewallOutputs('iptables-only');
  assert.deepEqual(Object.keys(outputs).sort(), ['iptablesNft', 'nft']);
  assert.deepEqual(parseNftJson(outputs.nft!).tables.map((t) => `${t.family} ${t.name}`), ['ip filter'], 'nft lists the iptables-nft table');
  const rulesets = combineFirewallOutputs(outputs);
  assert.deepEqual(rulesets.map((r) => [r.backend, r.command, r.tables.map((t) => `${t.family} ${t.name}`)]), [
    ['nftables', 'nft -j list ruleset', []],
    ['iptables-nft', 'iptables-nft-save', ['ip filter']],
  ]);
  assert.equal(chain(rulesets[1]!.tables[0]!, 'INPUT').rules[2]!.text, '-A INPUT -p tcp -m multiport --dports 22,80 -j ACCEPT');
});

test('combine: ufw — both families\' tables come from the save outputs; nothing of them is left in nftables', () => {
  const rulesets = combineFirewallOutputs(firewallOutputs('ufw'));
  assert.deepEqual(rulesets.map((r) => [r.backend, r.command, r.tables.map((t) => `${t.family} ${t.name}`)]), [
    ['nftables', 'nft -j list ruleset', []],
    ['iptables-nft', 'iptables-nft-save', ['ip filter']],
    ['iptables-nft', 'ip6tables-nft-save', ['ip6 filter']],
  ]);
});

test('combine: only the tables a save output covers are dropped (same family and name); inet tables and the other family stay', () => {
  const nftEntries = (s: 'nft-inet' | 'ufw') => (JSON.parse(firewallOutput(s, 'nft')) as { nftables: unknown[] }).nftables;
  // nft's inet filter beside iptables-nft's ip and ip6 filter tables; only ip's save output given.
  const ufwNft = nftEntries('ufw').filter((e) => !('metainfo' in (e as object)));
  const nft = JSON.stringify({ nftables: [...nftEntries('nft-inet'), ...ufwNft] });
  const rulesets = combineFirewallOutputs({ nft, iptablesNft: firewallOutput('ufw', 'iptablesNft') });
  assert.deepEqual(rulesets[0]!.tables.map((t) => `${t.family} ${t.name}`), ['inet filter', 'ip6 filter']);
  assert.deepEqual(rulesets.slice(1).map((r) => r.tables.map((t) => `${t.family} ${t.name}`)), [['ip filter']]);
});

test('combine: legacy tables are never in nftables; an empty legacy save adds no rule set', () => {
  const rulesets = combineFirewallOutputs({ ...firewallOutputs('iptables-legacy'), ip6tablesLegacy: '' });
  assert.deepEqual(rulesets.map((r) => [r.backend, r.command, r.tables.length]), [
    ['nftables', 'nft -j list ruleset', 0],
    ['iptables-legacy', 'iptables-legacy-save', 1],
  ]);
  const both = combineFirewallOutputs(firewallOutputs('iptables-realistic'));
  assert.deepEqual(both.map((r) => r.command), ['nft -j list ruleset', 'iptables-legacy-save', 'ip6tables-legacy-save']);
});

test('combine: a broken save output is refused naming its binary; nft\'s errors stay CommandOutputErrors', () => {
  assert.throws(
    () => combineFirewallOutputs({ nft: firewallOutput('iptables-only', 'nft'), iptablesNft: replaceLine(ONLY, 10, null) }),
    (e: unknown) => e instanceof IptablesSaveError && e.command === 'iptables-nft-save' && e.line === 9,
  );
  assert.throws(
    () => combineFirewallOutputs({ ip6tablesLegacy: '*filter\n:INPUT DROP [0:0]\n-A INPUT -p\nCOMMIT\n' }),
    (e: unknown) => e instanceof IptablesSaveError && e.command === 'ip6tables-legacy-save' && e.line === 3 && e.reason === '-p without a value',
  );
  assert.throws(() => combineFirewallOutputs({ nft: '{"nftables": [' }), (e: unknown) => (e as Error).name === 'CommandOutputError' && /bad output/.test((e as Error).message));
});

test('MARK and CONNMARK set a mark and go on: the rule after them decides; their options are not matches', () => {
  const text = ['*mangle', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', '-A INPUT -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x1/0xffffffff', '-A INPUT -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff', 'COMMIT', '*filter', ':INPUT DROP [0:0]', '-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT', 'COMMIT', ''].join('\n');
  const ruleset = parseIptablesSave(text, 'ip', 'iptables-nft', 'iptables-nft-save');
  const mark = ruleset.tables[0]!.chains[1]!.rules[0]!;
  assert.deepEqual(mark.expr.at(-1), { mangle: { key: { meta: { key: 'mark' } }, target: 'MARK' } });
  assert.ok(!mark.expr.some((e) => JSON.stringify(e).includes('set-xmark')), 'the target\'s options are not matches');
  const decide = (port: number) => evaluatePacket([ruleset], { family: 4, proto: 'tcp', port, icmpType: null, ctState: 'new', pktType: 'unicast', iif: 'eth0' }).verdict;
  assert.equal(decide(80), 'accepted');
  assert.equal(decide(81), 'dropped');
});
