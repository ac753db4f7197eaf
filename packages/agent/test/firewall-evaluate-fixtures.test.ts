// The evaluator on the captured rule sets of test/fixtures/firewall, read the way a replay
// reads them (the agent's parsers and combineFirewallOutputs) and judged by @dualstack/core.
// These tests live in the agent's package because they need both: core's tests must not
// import the agent, and a parsed-model fixture would freeze the parsers' output instead of
// testing it. Two checks per scenario:
//   - the verdict per (family, proto, port, interface) is the one written here; for the
//     scenarios of test/netns/firewall.test.ts it is copied from there (kernel-checked);
//   - every accepted/dropped/restricted verdict agrees with what a real connect from the peer
//     did in the namespace the rule set was captured in (observed.json), and `unknown` is only
//     ever given where an unmodelled expression decides, naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressInterval, contains, evaluatePacket, prefixInterval, rangeInterval, type FirewallDecision, type FirewallPacket } from '@dualstack/core';
import { FIREWALL_SCENARIOS, firewallRulesets, observed, type FirewallScenario } from './helpers/firewall-fixtures.js';

const format = (d: FirewallDecision): string => `${d.verdict}${d.allowedSources.length ? `[${d.allowedSources.join(', ')}]` : ''}${d.unmodelled ? `(${d.unmodelled})` : ''}`;

const packet = (family: 4 | 6, proto: 'tcp' | 'udp', port: number, iif = 'eth0'): FirewallPacket => ({ family, proto, port, icmpType: null, ctState: 'new', pktType: 'unicast', iif });
const ICMPV6: FirewallPacket[] = [
  { family: 6, proto: 'icmpv6', port: null, icmpType: 135, ctState: 'untracked', pktType: 'multicast', iif: 'eth0' },
  { family: 6, proto: 'icmpv6', port: null, icmpType: 136, ctState: 'untracked', pktType: 'unicast', iif: 'eth0' },
  { family: 6, proto: 'icmpv6', port: null, icmpType: 2, ctState: 'related', pktType: 'unicast', iif: 'eth0' },
];

const RECENT = 'unknown(iptables extension "-m recent --update")';

/** "IPv4 / IPv6" per port arriving on eth0, then the ICMPv6 NS / NA / packet-too-big. */
const EXPECTED: Record<FirewallScenario, Record<string, string>> = {
  empty: { 'tcp/22': 'accepted / accepted', 'tcp/80': 'accepted / accepted', icmpv6: 'accepted / accepted / accepted' },
  // test/netns/firewall.test.ts fw1: 22 a/a, 25 a/d, 80 a/a, 5432 r/r, 8080 d/d
  'nft-inet': {
    'tcp/22': 'accepted / accepted',
    'tcp/25': 'accepted / dropped',
    'tcp/80': 'accepted / accepted',
    'tcp/5432': 'restricted[192.0.2.0/24] / restricted[2001:db8:5::/48]',
    'tcp/8080': 'dropped / dropped',
    icmpv6: 'accepted / accepted / accepted',
  },
  // fw2: 22 a/a, 25 d/a, 80 a/a, 5432 r/a, 8080 d/a
  'iptables-only': {
    'tcp/22': 'accepted / accepted',
    'tcp/25': 'dropped / accepted',
    'tcp/80': 'accepted / accepted',
    'tcp/5432': 'restricted[198.51.100.0/24] / accepted',
    'tcp/8080': 'dropped / accepted',
    icmpv6: 'accepted / accepted / accepted',
  },
  // fw3: 22 a/a, every other port a/d
  'ip6tables-drop': {
    'tcp/22': 'accepted / accepted',
    'tcp/25': 'accepted / dropped',
    'tcp/80': 'accepted / dropped',
    'tcp/5432': 'accepted / dropped',
    'tcp/8080': 'accepted / dropped',
    icmpv6: 'accepted / accepted / accepted',
  },
  // fw4: 5432 d/a, the rest a/a
  'iptables-legacy': {
    'tcp/22': 'accepted / accepted',
    'tcp/25': 'accepted / accepted',
    'tcp/80': 'accepted / accepted',
    'tcp/5432': 'dropped / accepted',
    'tcp/8080': 'accepted / accepted',
    icmpv6: 'accepted / accepted / accepted',
  },
  // fw5: ssh accepted for IPv6 as a port, but NS and NA dropped (packet-too-big related: accepted)
  'ip6-no-nd': { 'tcp/22': 'accepted / accepted', 'tcp/80': 'accepted / dropped', icmpv6: 'dropped / dropped / accepted' },
  'nft-realistic': {
    'tcp/22': 'accepted / accepted', // vmap -> jump ssh_in -> ct state new limit rate 4/minute accept
    'tcp/25': 'accepted / dropped', // vmap -> goto smtp_in: IPv4 only; IPv6 returns past `jump public_in`
    'tcp/53': 'accepted / accepted',
    'tcp/80': 'accepted / accepted',
    'tcp/443': 'accepted / accepted',
    'tcp/3306': 'restricted[192.0.2.0/28, 198.51.100.10-198.51.100.20] / restricted[2001:db8:1::/64, 2001:db8:a::/48]', // past `limit rate over`
    'tcp/5432': 'accepted / restricted[2001:db8::/32]', // ip6 saddr != 2001:db8::/32 drop
    'tcp/6000': 'dropped / dropped',
    'tcp/7000': 'dropped / dropped',
    'tcp/8080': 'accepted / accepted', // web_ports 8000-8099
    'tcp/8443': 'unknown(meta mark) / unknown(meta mark)', // the mark set in mangle_pre is not followed
    'tcp/9100': 'unknown(ip daddr) / unknown(ip6 daddr)',
    'udp/53': 'accepted / accepted',
    'udp/51820': 'accepted / accepted',
    icmpv6: 'accepted / accepted / accepted',
  },
  'iptables-realistic': {
    'tcp/22': `${RECENT} / accepted`,
    'tcp/80': 'accepted / accepted',
    'tcp/443': 'accepted / accepted',
    'tcp/3128': 'unknown(ip daddr) / dropped',
    'tcp/5432': 'unknown(iptables extension "-m set --match-set admins src") / unknown(iptables extension "-m set --match-set admins6 src")',
    'tcp/7000': 'dropped / dropped',
    'tcp/8080': 'restricted[198.51.100.0/24] / restricted[2001:db8:1::/64]',
    'tcp/8081': 'accepted / dropped', // ! -s 203.0.113.0/24: a client from anywhere is let in
    'tcp/9090': 'unknown(iptables extension "-m hashlimit --hashlimit-above 10/sec") / dropped',
    'udp/5060': 'unknown(iptables target NFQUEUE) / dropped',
    icmpv6: 'accepted / accepted / accepted', // ND accepted with hop limit 255, as neighbour discovery always has
  },
  ufw: {
    'tcp/22': 'accepted / accepted',
    'tcp/80': 'accepted / accepted',
    'tcp/2222': `${RECENT} / ${RECENT}`, // ufw limit
    'tcp/5432': 'restricted[192.0.2.0/24] / dropped',
    'tcp/8080': 'dropped / dropped',
    'tcp/8443': 'dropped / restricted[2001:db8:1::/64]',
    icmpv6: 'accepted / accepted / accepted', // ufw accepts ND only with hop limit 255, which ND always has (RFC 4861)
  },
  firewalld: {
    'tcp/22': 'accepted / accepted',
    'tcp/80': 'accepted / accepted',
    'tcp/3306': 'dropped / restricted[2001:db8:1::/64]',
    'tcp/5432': 'restricted[192.0.2.0/24] / dropped',
    'tcp/8080': 'accepted / accepted',
    'tcp/9999': 'dropped / dropped',
    icmpv6: 'accepted / accepted / accepted',
  },
};

function actual(scenario: FirewallScenario): Record<string, string> {
  const rulesets = firewallRulesets(scenario);
  const out: Record<string, string> = {};
  for (const key of Object.keys(observed(scenario).connects)) {
    const [proto, port] = key.split('/') as ['tcp' | 'udp', string];
    out[key] = ([4, 6] as const).map((family) => format(evaluatePacket(rulesets, packet(family, proto, Number(port))))).join(' / ');
  }
  out.icmpv6 = ICMPV6.map((p) => format(evaluatePacket(rulesets, p))).join(' / ');
  return out;
}

function allowedFor(d: FirewallDecision, source: string): boolean {
  const client = addressInterval(source);
  return d.allowedSources.some((text) => {
    const slash = text.indexOf('/');
    if (slash > 0) return contains(prefixInterval(text.slice(0, slash), Number(text.slice(slash + 1))), client);
    const dash = text.indexOf('-');
    if (dash > 0) return contains(rangeInterval(text.slice(0, dash), text.slice(dash + 1)), client);
    return contains(addressInterval(text), client);
  });
}

test('every scenario has its expectations and its observed connects (no fixture left unjudged)', () => {
  assert.deepEqual(Object.keys(EXPECTED).sort(), [...FIREWALL_SCENARIOS].sort());
  for (const s of FIREWALL_SCENARIOS) assert.deepEqual(Object.keys(EXPECTED[s]).filter((k) => k !== 'icmpv6').sort(), Object.keys(observed(s).connects).sort(), s);
});

for (const scenario of FIREWALL_SCENARIOS) {
  test(`${scenario}: the verdict per port and family on eth0, and for the ICMPv6 IPv6 needs`, () => {
    assert.deepEqual(actual(scenario), EXPECTED[scenario]);
  });

  test(`${scenario}: every verdict that is not unknown agrees with the real connect from the peer`, () => {
    const rulesets = firewallRulesets(scenario);
    const seen = observed(scenario);
    // Neighbour discovery dropped: no IPv6 connect can work, whatever the port's verdict.
    const ndDropped = ICMPV6.slice(0, 2).some((p) => evaluatePacket(rulesets, p).verdict === 'dropped');
    const mismatches: string[] = [];
    let checked = 0;
    for (const [key, connects] of Object.entries(seen.connects)) {
      const [proto, port] = key.split('/') as ['tcp' | 'udp', string];
      for (const family of [4, 6] as const) {
        const d = evaluatePacket(rulesets, packet(family, proto, Number(port), seen.interface));
        const got = family === 4 ? connects.ipv4 : connects.ipv6;
        if (d.verdict === 'unknown') {
          assert.ok(d.unmodelled && d.by, `${key} IPv${family}: unknown must name the expression and the rule`);
          continue;
        }
        const expected = (family === 6 && ndDropped) ? false : d.verdict === 'accepted' || (d.verdict === 'restricted' && allowedFor(d, family === 4 ? seen.peer.ipv4 : seen.peer.ipv6));
        checked++;
        if ((got === 'ok') !== expected) mismatches.push(`${key} IPv${family}: ${format(d)} but the connect gave ${got}`);
      }
    }
    assert.deepEqual(mismatches, []);
    assert.ok(checked > 0, 'no verdict was checked against a connect');
  });
}

test('ip6-no-nd: the port is accepted, but neighbour discovery is dropped and no IPv6 connect worked at all', () => {
  const seen = observed('ip6-no-nd');
  assert.deepEqual(Object.values(seen.connects).map((c) => c.ipv6 === 'ok'), [false, false]);
  const d = evaluatePacket(firewallRulesets('ip6-no-nd'), ICMPV6[0]!);
  assert.deepEqual([d.by?.table, d.by?.chain, d.by?.text], ['f', 'input', 'policy drop']);
});

test('interfaces: nft-realistic opens its services on "eth*" only; wg0 takes IPv6 from 2001:db8:77::/64 only; ens3 nothing', () => {
  const rs = firewallRulesets('nft-realistic');
  const at = (family: 4 | 6, port: number, iif: string) => format(evaluatePacket(rs, packet(family, 'tcp', port, iif)));
  assert.equal(at(4, 80, 'eth1'), 'accepted');
  assert.equal(at(4, 80, 'ens3'), 'dropped');
  assert.equal(at(6, 80, 'ens3'), 'dropped');
  assert.equal(at(6, 80, 'wg0'), 'restricted[2001:db8:77::/64]');
  assert.equal(at(4, 80, 'wg0'), 'dropped');
  assert.equal(at(6, 9100, 'wg0'), 'restricted[2001:db8:77::/64]', 'the unmodelled ip6 daddr rule is in public_in, not reached from wg0');
  assert.equal(at(4, 22, 'lo'), 'accepted');
});

test('interfaces: iptables-realistic sends "-i eth+" to WEB and SSH; from ens3 web ports meet the multiport/set rule or LOGDROP', () => {
  const rs = firewallRulesets('iptables-realistic');
  const at = (family: 4 | 6, port: number, iif: string) => format(evaluatePacket(rs, packet(family, 'tcp', port, iif)));
  assert.equal(at(4, 80, 'eth7'), 'accepted');
  assert.equal(at(4, 80, 'ens3'), 'dropped');
  assert.equal(at(4, 22, 'ens3'), 'dropped', 'no -g SSH off eth+: the recent rules are not reached');
  assert.equal(at(4, 5432, 'ens3'), 'unknown(iptables extension "-m set --match-set admins src")');
  assert.equal(at(6, 80, 'ens3'), 'accepted', 'ip6tables has no interface match');
});

test('what decided is quoted: chain and handle for nftables, chain and line for iptables-save', () => {
  const ref = (s: FirewallScenario, family: 4 | 6, port: number) => evaluatePacket(firewallRulesets(s), packet(family, 'tcp', port)).by;
  assert.deepEqual(ref('nft-inet', 4, 8080), { backend: 'nftables', family: 'inet', table: 'filter', chain: 'input', handle: 13, line: null, position: 9, text: 'tcp dport 8080 reject with tcp reset' });
  assert.deepEqual(ref('iptables-legacy', 4, 5432), { backend: 'iptables-legacy', family: 'ip', table: 'filter', chain: 'INPUT', handle: null, line: 6, position: 1, text: '-A INPUT -p tcp -m tcp --dport 5432 -j DROP' });
  assert.deepEqual(ref('ip6tables-drop', 6, 80), { backend: 'iptables-nft', family: 'ip6', table: 'filter', chain: 'INPUT', handle: null, line: null, position: null, text: 'policy drop' });
  assert.deepEqual(ref('firewalld', 6, 5432), { backend: 'nftables', family: 'inet', table: 'firewalld', chain: 'filter_IN_public', handle: 72, line: null, position: 9, text: 'reject with icmpx admin-prohibited' });
  assert.deepEqual(ref('nft-realistic', 6, 25)?.text, 'policy drop');
  assert.deepEqual(ref('ufw', 6, 5432), { backend: 'iptables-nft', family: 'ip6', table: 'filter', chain: 'INPUT', handle: null, line: null, position: null, text: 'policy drop' });
  const unknown = evaluatePacket(firewallRulesets('ufw'), packet(4, 'tcp', 2222)).by;
  assert.deepEqual([unknown?.chain, unknown?.line, unknown?.position], ['ufw-user-input', 103, 4]);
});
