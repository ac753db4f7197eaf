// Firewall rules on the replayed dual-stack-services report (test/golden) with service.firewall
// filled by the evaluator from rule sets written here in nftables' JSON forms, the way the
// agent fills it (serviceFirewall / icmpv6Firewall): one rule set per story (iptables never
// written for IPv6, an ip6tables DROP nobody opened, ...), the exact fix commands, and the
// tie-break of asymmetryKind on hand-made verdicts.
//
// The golden host: veth0 192.0.2.2, .3, 2001:db8:1::2, ::3. Services exposed in both families:
// sshd tcp/22, apache2 tcp/80 ([::] V6ONLY=0), nginx tcp/8080, named udp/53, avahi udp/5353;
// IPv4 only: sendmail tcp/25, postgres tcp/5432 (192.0.2.2); IPv6 only: v6daemon tcp/8443,
// mariadbd tcp/3306 (2001:db8:1::2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { icmpv6Firewall, serviceFirewall, unreadServiceFirewall } from '../src/firewall/services.js';
import type { FirewallBackend, FirewallChain, FirewallRule, FirewallRuleset, NftExpr } from '../src/firewall/model.js';
import type { FamilyFirewall, FirewallRuleRef } from '../src/report.js';
import {
  asymmetryKind,
  firewallIcmpv6Blocked,
  firewallIpv4Blocked,
  firewallIpv4Open,
  firewallIpv6Blocked,
  firewallIpv6Open,
  firewallUnknown,
  refText,
} from '../src/rules/firewall-rules.js';
import type { RuleFacts } from '../src/rules/rule.js';
import { golden, only, runRuleCases, service } from './golden-facts.js';

// ------------------------------------------------------------------ rule sets

const m = (left: unknown, right: unknown, op = '=='): NftExpr => ({ match: { op, left, right } });
const l4 = (proto: string) => m({ meta: { key: 'l4proto' } }, proto);
const dport = (port: unknown, proto = 'tcp') => m({ payload: { protocol: proto, field: 'dport' } }, port);
const nfproto = (v: 'ipv4' | 'ipv6') => m({ meta: { key: 'nfproto' } }, v);
const saddr = (family: 'ip' | 'ip6', addr: string, len: number) => m({ payload: { protocol: family, field: 'saddr' } }, { prefix: { addr, len } });
const ctEstablished = m({ ct: { key: 'state' } }, ['related', 'established'], 'in');
const ACCEPT: NftExpr = { accept: null };
const DROP: NftExpr = { drop: null };

const input = (policy: 'accept' | 'drop', rules: FirewallRule[]): FirewallChain => ({ name: 'input', hook: 'input', priority: 0, type: 'filter', policy, rules });

/** An nftables table: rules as [handle, text, ...expr]. */
function nftTable(family: string, name: string, policy: 'accept' | 'drop', rules: Array<[number, string, ...NftExpr[]]>): FirewallRuleset {
  return { backend: 'nftables', command: 'nft -j list ruleset', tables: [{ family, name, sets: [], chains: [input(policy, rules.map(([handle, text, ...expr]) => ({ handle, line: null, text, expr })))] }] };
}

/** An iptables-save table (filter, INPUT), rules as [text, ...expr], numbered from line 6 as iptables-save prints them. */
function saveTable(family: 'ip' | 'ip6', backend: Exclude<FirewallBackend, 'nftables'>, policy: 'accept' | 'drop', rules: Array<[string, ...NftExpr[]]>): FirewallRuleset {
  const binary = `${family === 'ip6' ? 'ip6tables' : 'iptables'}-${backend === 'iptables-legacy' ? 'legacy' : 'nft'}-save`;
  const chain: FirewallChain = { ...input(policy, rules.map(([text, ...expr], i) => ({ handle: null, line: 6 + i, text, expr }))), name: 'INPUT' };
  return { backend, command: binary, tables: [{ family, name: 'filter', sets: [], chains: [chain] }] };
}

/** The golden report with the firewall as the agent would fill it from these rule sets. */
function withFirewall(...rulesets: FirewallRuleset[]): RuleFacts {
  const facts = golden('dual-stack-services');
  for (const s of facts.services) s.firewall = serviceFirewall(rulesets, s, facts.addresses);
  facts.firewall = {
    read: true,
    why: null,
    rulesets: rulesets.map((r) => ({ backend: r.backend, command: r.command, tables: r.tables.length, rules: r.tables.flatMap((t) => t.chains.flatMap((c) => c.rules)).length })),
    icmpv6: icmpv6Firewall(rulesets, facts.addresses),
  };
  return facts;
}

const verdicts = (facts: RuleFacts) =>
  Object.fromEntries(facts.services.filter((s) => s.firewall?.ipv4 || s.firewall?.ipv6).map((s) => [`${s.proto}/${s.port}`, `${s.firewall?.ipv4?.verdict ?? '-'}/${s.firewall?.ipv6?.verdict ?? '-'}`]));

// test/netns/firewall.test.ts fw2: iptables (nft backend) written, ip6tables never.
const IPTABLES_ONLY = saveTable('ip', 'iptables-nft', 'drop', [
  ['-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', ctEstablished, ACCEPT],
  ['-A INPUT -i lo -j ACCEPT', m({ meta: { key: 'iifname' } }, 'lo'), ACCEPT],
  ['-A INPUT -p tcp -m multiport --dports 22,80 -j ACCEPT', l4('tcp'), dport({ set: [22, 80] }), ACCEPT],
  ['-A INPUT -s 198.51.100.0/24 -p tcp -m tcp --dport 8080 -j ACCEPT', saddr('ip', '198.51.100.0', 24), l4('tcp'), dport(8080), ACCEPT],
]);

// fw3: an ip6tables policy DROP that only opened ssh; IPv4 unfiltered.
const IP6TABLES_DROP = saveTable('ip6', 'iptables-nft', 'drop', [
  ['-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', ctEstablished, ACCEPT],
  ['-A INPUT -p ipv6-icmp -j ACCEPT', l4('ipv6-icmp'), ACCEPT],
  ['-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT', l4('tcp'), dport(22), ACCEPT],
]);

test('the stories\' verdicts, as the rules will read them', () => {
  assert.deepEqual(verdicts(withFirewall(IPTABLES_ONLY)), {
    'tcp/22': 'accepted/accepted',
    'tcp/25': 'dropped/-',
    'tcp/80': 'accepted/accepted',
    'tcp/3306': '-/accepted',
    'tcp/5432': 'dropped/-',
    'tcp/8080': 'restricted/accepted',
    'tcp/8443': '-/accepted',
    'udp/53': 'dropped/accepted',
    'udp/5353': 'dropped/accepted',
  });
  assert.deepEqual(verdicts(withFirewall(IP6TABLES_DROP)), {
    'tcp/22': 'accepted/accepted',
    'tcp/25': 'accepted/-',
    'tcp/80': 'accepted/dropped',
    'tcp/3306': '-/dropped',
    'tcp/5432': 'accepted/-',
    'tcp/8080': 'accepted/dropped',
    'tcp/8443': '-/dropped',
    'udp/53': 'accepted/dropped',
    'udp/5353': 'accepted/dropped',
  });
});

// ------------------------------------------------------------------ firewall-ipv6-open

runRuleCases([
  {
    name: 'iptables written, ip6tables never: every service IPv4 filters is open over IPv6; no ip6 table, so the fix creates the rule with ip6tables -A',
    rule: firewallIpv6Open,
    facts: () => withFirewall(IPTABLES_ONLY),
    expect: ['tcp/8080', 'udp/53', 'udp/5353'],
    check(findings) {
      const named = only(findings, 'udp/53');
      assert.equal(named.severity, 'critical');
      assert.equal(named.message, 'udp/53 (named) is dropped for IPv4 but accepted for IPv6 from anywhere: the IPv4 policy was never written for IPv6.');
      assert.deepEqual(named.evidence, [
        'IPv4: dropped by iptables-nft iptables -t filter chain INPUT: policy drop',
        'IPv6: accepted from anywhere (no firewall rule (no base chain on the input path))',
        'interfaces: veth0',
      ]);
      assert.deepEqual(named.fix.commands, [
        'ip6tables -A INPUT -p udp --dport 53 -j DROP',
        '# keep it across reboots: ip6tables-save > /etc/iptables/rules.v6 (iptables-persistent), or the rules file of your firewall manager',
      ]);
      // IPv4 restricted to 198.51.100.0/24: the fix says to let the same clients in over IPv6 first.
      const nginx = only(findings, 'tcp/8080');
      assert.match(nginx.message, /is restricted for IPv4 but accepted for IPv6/);
      assert.equal(nginx.evidence[0], 'IPv4: accepted only from 198.51.100.0/24, otherwise iptables-nft iptables -t filter chain INPUT: policy drop');
      assert.deepEqual(nginx.fix.commands.slice(0, 2), [
        '# IPv4 lets in only 198.51.100.0/24: to let the same clients in over IPv6, put an accept for their IPv6 prefix in front of the drop below',
        'ip6tables -A INPUT -p tcp --dport 8080 -j DROP',
      ]);
    },
  },
  {
    name: 'an nft ip table (not inet) drops 8080 for IPv4; no ip6 table exists: the fix creates one (table, chain, rule)',
    rule: firewallIpv6Open,
    facts: () => withFirewall(nftTable('ip', 'filter', 'accept', [[7, 'tcp dport 8080 drop', dport(8080), DROP]])),
    expect: ['tcp/8080'],
    check(findings) {
      assert.deepEqual(findings[0]!.fix.commands, [
        'nft add table ip6 filter',
        "nft add chain ip6 filter input '{ type filter hook input priority 0; policy accept; }'",
        'nft add rule ip6 filter input tcp dport 8080 drop',
        '# keep it across reboots: add the rule to /etc/nftables.conf (Debian, RHEL) or to your firewall manager (firewalld, ufw), which may rewrite the rule set',
      ]);
      assert.equal(findings[0]!.evidence[0], 'IPv4: dropped by ip filter chain input handle 7: tcp dport 8080 drop');
    },
  },
  {
    name: 'an inet table: IPv4 restricted by `ip saddr`, IPv6 accepted by its own rule: restricted wins the tie-break (open), the drop goes in front of that rule by handle',
    rule: firewallIpv6Open,
    facts: () =>
      withFirewall(
        nftTable('inet', 'filter', 'drop', [
          [4, 'ip saddr 192.0.2.0/24 tcp dport 8080 accept', saddr('ip', '192.0.2.0', 24), dport(8080), ACCEPT],
          [5, 'meta nfproto ipv6 tcp dport 8080 accept', nfproto('ipv6'), dport(8080), ACCEPT],
          [6, 'tcp dport { 22, 80 } accept', l4('tcp'), dport({ set: [22, 80] }), ACCEPT],
          [8, 'udp dport { 53, 5353 } accept', dport({ set: [53, 5353] }, 'udp'), ACCEPT],
        ]),
      ),
    expect: ['tcp/8080'],
    check(findings) {
      assert.deepEqual(findings[0]!.fix.commands.slice(0, 2), [
        '# IPv4 lets in only 192.0.2.0/24: to let the same clients in over IPv6, put an accept for their IPv6 prefix in front of the drop below',
        'nft insert rule inet filter input position 5 meta nfproto ipv6 tcp dport 8080 drop',
      ]);
    },
  },
  {
    name: 'the same port filtered alike in both families: nothing',
    rule: firewallIpv6Open,
    facts: () => withFirewall(IPTABLES_ONLY, saveTable('ip6', 'iptables-nft', 'drop', [['-A INPUT -p tcp -m multiport --dports 22,80 -j ACCEPT', l4('tcp'), dport({ set: [22, 80] }), ACCEPT]])),
    expect: [],
  },
]);

// ------------------------------------------------------------------ firewall-ipv6-blocked

runRuleCases([
  {
    name: 'an ip6tables policy DROP nobody opened: every dual-stack service but ssh, fixed with ip6tables -A INPUT',
    rule: firewallIpv6Blocked,
    facts: () => withFirewall(IP6TABLES_DROP),
    expect: ['tcp/80', 'tcp/8080', 'udp/53', 'udp/5353'],
    check(findings) {
      const apache = only(findings, 'tcp/80');
      assert.equal(apache.severity, 'warning');
      assert.equal(apache.message, 'tcp/80 (apache2) is accepted for IPv4 but dropped for IPv6 (iptables-nft ip6tables -t filter chain INPUT: policy drop): IPv6 clients time out.');
      assert.deepEqual(apache.fix.commands, [
        'ip6tables -A INPUT -p tcp --dport 80 -j ACCEPT',
        '# keep it across reboots: ip6tables-save > /etc/iptables/rules.v6 (iptables-persistent), or the rules file of your firewall manager',
      ]);
    },
  },
  {
    name: 'an explicit ip6tables REJECT at position 2 while iptables accepts: ip6tables -I INPUT 2',
    rule: firewallIpv6Blocked,
    facts: () =>
      withFirewall(
        saveTable('ip', 'iptables-nft', 'drop', [['-A INPUT -j ACCEPT', ACCEPT]]),
        saveTable('ip6', 'iptables-nft', 'accept', [
          ['-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', ctEstablished, ACCEPT],
          ['-A INPUT -p tcp -m tcp --dport 8080 -j REJECT --reject-with icmp6-port-unreachable', l4('tcp'), dport(8080), { reject: null }],
        ]),
      ),
    expect: ['tcp/8080'],
    check(findings) {
      assert.equal(findings[0]!.fix.commands[0], 'ip6tables -I INPUT 2 -p tcp --dport 8080 -j ACCEPT');
      assert.equal(findings[0]!.evidence[1], 'IPv6: dropped by iptables-nft ip6tables -t filter chain INPUT line 7: -A INPUT -p tcp -m tcp --dport 8080 -j REJECT --reject-with icmp6-port-unreachable');
    },
  },
  {
    name: 'the legacy backend: the fix is in ip6tables-legacy, -A for a policy drop',
    rule: firewallIpv6Blocked,
    facts: () => withFirewall(saveTable('ip6', 'iptables-legacy', 'drop', [['-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT', l4('tcp'), dport(22), ACCEPT]])),
    expect: ['tcp/80', 'tcp/8080', 'udp/53', 'udp/5353'],
    check(findings) {
      assert.deepEqual(only(findings, 'udp/53').fix.commands, [
        'ip6tables-legacy -A INPUT -p udp --dport 53 -j ACCEPT',
        '# keep it across reboots: ip6tables-legacy-save > /etc/iptables/rules.v6 (iptables-persistent), or the rules file of your firewall manager',
      ]);
    },
  },
  {
    name: 'nft inet table, SMTP-like port opened with `meta nfproto ipv4` only (fw1): nft insert in front of the policy is an add',
    rule: firewallIpv6Blocked,
    facts: () =>
      withFirewall(
        nftTable('inet', 'filter', 'drop', [
          [3, 'tcp dport { 22, 80 } accept', dport({ set: [22, 80] }), ACCEPT],
          [12, 'meta nfproto ipv4 tcp dport 8080 accept', nfproto('ipv4'), dport(8080), ACCEPT],
          [13, 'udp dport { 53, 5353 } accept', dport({ set: [53, 5353] }, 'udp'), ACCEPT],
        ]),
      ),
    expect: ['tcp/8080'],
    check(findings) {
      assert.deepEqual(findings[0]!.fix.commands[0], 'nft add rule inet filter input meta nfproto ipv6 tcp dport 8080 accept');
    },
  },
  {
    name: 'an nft rule drops IPv6 by handle while IPv4 is accepted by its own rule: nft insert ... position HANDLE',
    rule: firewallIpv6Blocked,
    facts: () =>
      withFirewall(
        nftTable('inet', 'filter', 'accept', [
          [20, 'meta nfproto ipv4 tcp dport 8080 accept', nfproto('ipv4'), dport(8080), ACCEPT],
          [21, 'meta nfproto ipv6 tcp dport 8080 drop', nfproto('ipv6'), dport(8080), DROP],
        ]),
      ),
    expect: ['tcp/8080'],
    check(findings) {
      assert.equal(findings[0]!.fix.commands[0], 'nft insert rule inet filter input position 21 meta nfproto ipv6 tcp dport 8080 accept');
    },
  },
]);

// ------------------------------------------------------------------ the IPv4 mirrors

runRuleCases([
  {
    name: 'ip6tables drops 8080, IPv4 has no rules at all: firewall-ipv4-open (the IPv6 drop is explicit), iptables -A to create it',
    rule: firewallIpv4Open,
    facts: () => withFirewall(saveTable('ip6', 'iptables-nft', 'accept', [['-A INPUT -p tcp -m tcp --dport 8080 -j DROP', l4('tcp'), dport(8080), DROP]])),
    expect: ['tcp/8080'],
    check(findings) {
      assert.equal(findings[0]!.message, 'tcp/8080 (nginx) is dropped for IPv6 but accepted for IPv4 from anywhere: the IPv6 policy was never written for IPv4.');
      assert.deepEqual(findings[0]!.fix.commands, [
        'iptables -A INPUT -p tcp --dport 8080 -j DROP',
        '# keep it across reboots: iptables-save > /etc/iptables/rules.v4 (iptables-persistent), or the rules file of your firewall manager',
      ]);
    },
  },
  {
    name: 'IPv6 restricted by `ip6 saddr`, IPv4 accepted by default in an inet table: firewall-ipv4-open, the drop added for IPv4',
    rule: firewallIpv4Open,
    facts: () => withFirewall(nftTable('inet', 'filter', 'accept', [[9, 'ip6 saddr 2001:db8:9::/48 tcp dport 8080 accept', saddr('ip6', '2001:db8:9::', 48), dport(8080), ACCEPT], [10, 'meta nfproto ipv6 tcp dport 8080 drop', nfproto('ipv6'), dport(8080), DROP]])),
    expect: ['tcp/8080'],
    check(findings) {
      assert.deepEqual(findings[0]!.fix.commands.slice(0, 2), [
        '# IPv6 lets in only 2001:db8:9::/48: to let the same clients in over IPv4, put an accept for their IPv4 prefix in front of the drop below',
        'nft add rule inet filter input meta nfproto ipv4 tcp dport 8080 drop',
      ]);
    },
  },
  {
    name: 'IPv6 opened by its own rule, IPv4 dropped by the inet policy: firewall-ipv4-blocked, the accept added for IPv4',
    rule: firewallIpv4Blocked,
    facts: () =>
      withFirewall(
        nftTable('inet', 'filter', 'drop', [
          [3, 'tcp dport { 22, 80 } accept', dport({ set: [22, 80] }), ACCEPT],
          [4, 'meta nfproto ipv6 tcp dport 8080 accept', nfproto('ipv6'), dport(8080), ACCEPT],
          [5, 'udp dport { 53, 5353 } accept', dport({ set: [53, 5353] }, 'udp'), ACCEPT],
        ]),
      ),
    expect: ['tcp/8080'],
    check(findings) {
      assert.equal(findings[0]!.severity, 'warning');
      assert.equal(findings[0]!.fix.commands[0], 'nft add rule inet filter input meta nfproto ipv4 tcp dport 8080 accept');
    },
  },
  {
    name: 'the IPv6 mirrors do not fire on the IPv4 stories, nor the IPv4 ones on IPv6\'s',
    rule: firewallIpv4Open,
    facts: () => withFirewall(IPTABLES_ONLY),
    expect: [],
  },
  {
    name: '(and firewall-ipv4-blocked stays quiet on an ip6tables DROP)',
    rule: firewallIpv4Blocked,
    facts: () => withFirewall(IP6TABLES_DROP),
    expect: [],
  },
]);

// ------------------------------------------------------------------ asymmetryKind's tie-break

const ref = (over: Partial<FirewallRuleRef> = {}): FirewallRuleRef => ({ backend: 'nftables', family: 'inet', table: 'filter', chain: 'input', handle: 5, line: null, position: 2, text: 'tcp dport 80 accept', ...over });
const policy = (over: Partial<FirewallRuleRef> = {}): FirewallRuleRef => ref({ handle: null, position: null, text: 'policy drop', ...over });
const fam = (verdict: FamilyFirewall['verdict'], by: FirewallRuleRef | null, allowedSources: string[] = []): FamilyFirewall => ({ verdict, by, allowedSources, unmodelled: verdict === 'unknown' ? 'meta mark' : null, interfaces: ['eth0'], acceptedOn: [] });

test('asymmetryKind: restricted on the closed side means the accepted family is the hole, even when a rule of its own accepts it', () => {
  assert.equal(asymmetryKind(fam('restricted', policy(), ['192.0.2.0/24']), fam('accepted', ref()))?.kind, 'ipv6-open');
  assert.equal(asymmetryKind(fam('accepted', ref()), fam('restricted', policy(), ['2001:db8::/32']))?.kind, 'ipv4-open');
});

test('asymmetryKind: the accepted family let in by a rule of its own: the port was opened in one family and forgotten in the other (*-blocked)', () => {
  assert.equal(asymmetryKind(fam('accepted', ref()), fam('dropped', policy()))?.kind, 'ipv6-blocked');
  assert.equal(asymmetryKind(fam('accepted', ref()), fam('dropped', ref({ handle: 9, position: 4, text: 'tcp dport 80 drop' })))?.kind, 'ipv6-blocked');
  assert.equal(asymmetryKind(fam('dropped', policy()), fam('accepted', ref()))?.kind, 'ipv4-blocked');
});

test('asymmetryKind: accepted by default, dropped by a rule: a filter written for one family only (*-open)', () => {
  assert.equal(asymmetryKind(fam('dropped', ref({ text: 'tcp dport 80 drop' })), fam('accepted', policy({ text: 'policy accept' })))?.kind, 'ipv6-open');
  assert.equal(asymmetryKind(fam('dropped', ref()), fam('accepted', null))?.kind, 'ipv6-open');
  assert.equal(asymmetryKind(fam('accepted', null), fam('dropped', ref()))?.kind, 'ipv4-open');
});

test('asymmetryKind: both by default (no rules for one family, a default-drop policy for the other) is told as IPv6\'s story', () => {
  // ip6tables DROP never opened: IPv6 blocked.
  assert.equal(asymmetryKind(fam('accepted', null), fam('dropped', policy()))?.kind, 'ipv6-blocked');
  // iptables DROP, no ip6tables: IPv6 open.
  assert.equal(asymmetryKind(fam('dropped', policy()), fam('accepted', null))?.kind, 'ipv6-open');
  assert.equal(asymmetryKind(fam('dropped', policy()), fam('accepted', policy({ text: 'policy accept' })))?.kind, 'ipv6-open');
});

test('asymmetryKind: no asymmetry when both agree, one is unknown, or one family is not exposed', () => {
  for (const [a, b] of [
    [fam('accepted', ref()), fam('accepted', null)],
    [fam('dropped', policy()), fam('dropped', ref())],
    [fam('restricted', policy(), ['192.0.2.0/24']), fam('dropped', policy())],
    [fam('unknown', ref()), fam('accepted', null)],
    [fam('dropped', policy()), fam('unknown', ref())],
  ] as const) {
    assert.equal(asymmetryKind(a, b), null, `${a.verdict}/${b.verdict}`);
  }
  assert.equal(asymmetryKind(null, fam('accepted', null)), null);
  assert.equal(asymmetryKind(fam('dropped', policy()), undefined), null);
});

test('a firewall that could not be read gives no asymmetry and no firewall-unknown finding (the report says why elsewhere)', () => {
  const facts = golden('dual-stack-services');
  for (const s of facts.services) s.firewall = unreadServiceFirewall(s, 'firewall not read (needs CAP_NET_ADMIN: see docs/firewall.md)');
  for (const rule of [firewallIpv6Open, firewallIpv4Open, firewallIpv6Blocked, firewallIpv4Blocked, firewallUnknown, firewallIcmpv6Blocked]) assert.deepEqual(rule.check(facts), [], rule.id);
});

test('refText: nftables by handle, iptables-save by line, the policy by name, and no chain at all', () => {
  assert.equal(refText(ref()), 'inet filter chain input handle 5: tcp dport 80 accept');
  assert.equal(refText({ ...policy(), backend: 'iptables-legacy', family: 'ip6', table: 'filter', chain: 'INPUT' }), 'iptables-legacy ip6tables -t filter chain INPUT: policy drop');
  assert.equal(refText({ backend: 'iptables-nft', family: 'ip', table: 'mangle', chain: 'PREROUTING', handle: null, line: 12, position: 3, text: '-A PREROUTING -j DROP' }), 'iptables-nft iptables -t mangle chain PREROUTING line 12: -A PREROUTING -j DROP');
  assert.equal(refText(null), 'no firewall rule (no base chain on the input path)');
});

test('a fix lands in the table of the deciding rule: -t for a table other than filter', () => {
  const facts = golden('dual-stack-services');
  const nginx = service(facts, 'tcp', 8080);
  nginx.firewall = {
    ipv4: fam('accepted', ref({ backend: 'iptables-nft', family: 'ip', table: 'filter', chain: 'INPUT', handle: null, line: 8, position: 3, text: '-A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT' })),
    ipv6: fam('dropped', { backend: 'iptables-nft', family: 'ip6', table: 'raw', chain: 'PREROUTING', handle: null, line: 4, position: 1, text: '-A PREROUTING -p tcp -m tcp --dport 8080 -j DROP' }),
  };
  assert.equal(only(firewallIpv6Blocked.check(facts), 'tcp/8080').fix.commands[0], 'ip6tables -t raw -I PREROUTING 1 -p tcp --dport 8080 -j ACCEPT');
});

// ------------------------------------------------------------------ firewall-icmpv6-blocked

runRuleCases([
  {
    name: 'an ip6 table that forgets neighbour discovery (fw5): NS and NA dropped by the policy on veth0; packet-too-big related passes; nft add in that table',
    rule: firewallIcmpv6Blocked,
    facts: () => withFirewall(nftTable('ip6', 'f', 'drop', [[2, 'ct state established,related accept', ctEstablished, ACCEPT], [3, 'tcp dport 22 accept', dport(22), ACCEPT]])),
    expect: ['veth0'],
    check(findings) {
      const f = findings[0]!;
      assert.equal(f.severity, 'critical');
      assert.match(f.message, /^The firewall drops nd-neighbor-solicit, nd-neighbor-advert arriving on veth0: /);
      assert.doesNotMatch(f.message, /packet-too-big/);
      assert.deepEqual(f.evidence, [
        'ICMPv6 nd-neighbor-solicit (type 135) on veth0: dropped by ip6 f chain input: policy drop',
        'ICMPv6 nd-neighbor-advert (type 136) on veth0: dropped by ip6 f chain input: policy drop',
      ]);
      assert.deepEqual(f.fix.commands, [
        'nft add rule ip6 f input icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept',
        '# keep it across reboots: add the rule to /etc/nftables.conf (Debian, RHEL) or to your firewall manager (firewalld, ufw), which may rewrite the rule set',
      ]);
    },
  },
  {
    name: 'an explicit nft drop of all ICMPv6 by handle: insert in front of it, packet-too-big included',
    rule: firewallIcmpv6Blocked,
    facts: () => withFirewall(nftTable('inet', 'filter', 'accept', [[30, 'meta l4proto ipv6-icmp drop', l4('ipv6-icmp'), DROP]])),
    expect: ['veth0'],
    check(findings) {
      assert.equal(findings[0]!.fix.commands[0], 'nft insert rule inet filter input position 30 icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, packet-too-big } accept');
    },
  },
  {
    name: 'ip6tables-legacy: one -I per type at the dropping rule\'s position',
    rule: firewallIcmpv6Blocked,
    facts: () => withFirewall(saveTable('ip6', 'iptables-legacy', 'accept', [['-A INPUT -i lo -j ACCEPT', m({ meta: { key: 'iifname' } }, 'lo'), ACCEPT], ['-A INPUT -p ipv6-icmp -j DROP', l4('ipv6-icmp'), DROP]])),
    expect: ['veth0'],
    check(findings) {
      assert.deepEqual(findings[0]!.fix.commands.slice(0, 3), [
        'ip6tables-legacy -I INPUT 2 -p ipv6-icmp --icmpv6-type 135 -j ACCEPT',
        'ip6tables-legacy -I INPUT 2 -p ipv6-icmp --icmpv6-type 136 -j ACCEPT',
        'ip6tables-legacy -I INPUT 2 -p ipv6-icmp --icmpv6-type 2 -j ACCEPT',
      ]);
    },
  },
  {
    name: 'ip6tables accepting all ipv6-icmp (fw3): nothing',
    rule: firewallIcmpv6Blocked,
    facts: () => withFirewall(IP6TABLES_DROP),
    expect: [],
  },
  {
    name: 'ICMPv6 unknown (ufw\'s `-m hl --hl-eq 255`) is not called dropped',
    rule: firewallIcmpv6Blocked,
    facts: () =>
      withFirewall(
        saveTable('ip6', 'iptables-nft', 'drop', [
          ['-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 135 -m hl --hl-eq 255 -j ACCEPT', l4('ipv6-icmp'), m({ payload: { protocol: 'icmpv6', field: 'type' } }, 135), m({ xt: { type: 'match', name: '-m hl --hl-eq 255' } }, true), ACCEPT],
          ['-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 136 -m hl --hl-eq 255 -j ACCEPT', l4('ipv6-icmp'), m({ payload: { protocol: 'icmpv6', field: 'type' } }, 136), m({ xt: { type: 'match', name: '-m hl --hl-eq 255' } }, true), ACCEPT],
          ['-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', ctEstablished, ACCEPT],
        ]),
      ),
    expect: [],
  },
]);

// ------------------------------------------------------------------ firewall-unknown

runRuleCases([
  {
    name: 'an nft rule with `meta mark` in front of a service: named, and found again by its handle',
    rule: firewallUnknown,
    facts: () => withFirewall(nftTable('inet', 'filter', 'drop', [[41, 'tcp dport 8080 meta mark 0x00000002 accept', dport(8080), m({ meta: { key: 'mark' } }, 2), ACCEPT], [42, 'accept', ACCEPT]])),
    expect: ['tcp/8080'],
    check(findings) {
      const f = findings[0]!;
      assert.equal(f.severity, 'info');
      assert.equal(f.message, 'Whether tcp/8080 is reachable over IPv4 and IPv6 depends on a rule the evaluator does not model: meta mark.');
      assert.deepEqual(f.evidence, ['IPv4: unknown: meta mark (inet filter chain input handle 41: tcp dport 8080 meta mark 0x00000002 accept)', 'IPv6: unknown: meta mark (inet filter chain input handle 41: tcp dport 8080 meta mark 0x00000002 accept)']);
      assert.deepEqual(f.fix.commands, ["nft -a list chain inet filter input | grep -E '# handle 41$'"]);
    },
  },
  {
    name: 'an iptables -m recent rule (ufw limit) on IPv4 only: the save line grepped in iptables-save',
    rule: firewallUnknown,
    facts: () =>
      withFirewall(
        saveTable('ip', 'iptables-nft', 'drop', [
          ['-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m recent --update --seconds 30 --hitcount 6 --name DEFAULT --mask 255.255.255.255 --rsource -j DROP', l4('tcp'), dport(22), m({ xt: { type: 'match', name: '-m recent --update' } }, true), DROP],
          ['-A INPUT -j ACCEPT', ACCEPT],
        ]),
      ),
    expect: ['tcp/22'],
    check(findings) {
      assert.match(findings[0]!.message, /over IPv4 depends on a rule the evaluator does not model: iptables extension "-m recent --update"\.$/);
      assert.deepEqual(findings[0]!.fix.commands, ['iptables-save | grep -n -F -- "-A INPUT -p tcp -m tcp --dport 22 -m con"']);
    },
  },
  {
    name: 'an unmodelled rule ruled out by a certainly false match decides nothing: no finding',
    rule: firewallUnknown,
    facts: () => withFirewall(nftTable('inet', 'filter', 'accept', [[41, 'tcp dport 9999 meta mark 0x00000002 drop', dport(9999), m({ meta: { key: 'mark' } }, 2), DROP]])),
    expect: [],
  },
]);
