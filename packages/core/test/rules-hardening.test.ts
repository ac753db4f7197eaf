// Hardening profile (CIS-style IPv6 sysctls) against the replayed fixtures and edited copies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hardeningAcceptRa, hardeningAcceptRedirects, hardeningAcceptSourceRoute, hardeningForwarding } from '../src/rules/hardening-rules.js';
import { rules, runRules } from '../src/rules/index.js';
import type { InterfaceSysctlsRaw } from '../src/report.js';
import type { RuleFacts } from '../src/rules/rule.js';
import { golden, only, runRuleCases, type RuleCase } from './golden-facts.js';

const hardening = [hardeningAcceptRa, hardeningAcceptRedirects, hardeningAcceptSourceRoute, hardeningForwarding];

/** dual-stack-services with one setting changed on the named sysctl entries. */
function withSysctl(setting: keyof InterfaceSysctlsRaw, value: number, names: string[]): () => RuleFacts {
  return () => {
    const facts = golden('dual-stack-services');
    for (const iface of facts.sysctl.interfaces) if (names.includes(iface.name)) iface.raw[setting] = value;
    return facts;
  };
}

const cases: RuleCase[] = [
  // accept_ra
  {
    name: 'accept_ra=1 on all and default (the fixture): one finding per key, existing interfaces set too',
    rule: hardeningAcceptRa,
    facts: () => golden('dual-stack-services'),
    expect: ['net.ipv6.conf.all.accept_ra', 'net.ipv6.conf.default.accept_ra'],
    check(findings) {
      const all = only(findings, 'net.ipv6.conf.all.accept_ra');
      assert.deepEqual(all.fix.commands, [
        'sysctl -w net.ipv6.conf.all.accept_ra=0',
        "grep -qsxF 'net.ipv6.conf.all.accept_ra = 0' /etc/sysctl.d/60-dualstack.conf || echo 'net.ipv6.conf.all.accept_ra = 0' >> /etc/sysctl.d/60-dualstack.conf",
        'sysctl -w net.ipv6.conf.veth0.accept_ra=0',
        "grep -qsxF 'net.ipv6.conf.veth0.accept_ra = 0' /etc/sysctl.d/60-dualstack.conf || echo 'net.ipv6.conf.veth0.accept_ra = 0' >> /etc/sysctl.d/60-dualstack.conf",
      ]);
      assert.ok(all.evidence.includes('net.ipv6.conf.veth0.accept_ra = 1 (not changed by writing net.ipv6.conf.all.accept_ra)'));
      assert.match(all.fix.summary, /no RA-learned route or SLAAC address/);
      const def = only(findings, 'net.ipv6.conf.default.accept_ra');
      assert.equal(def.fix.commands.length, 2, 'default applies to new interfaces only');
    },
  },
  { name: 'compliant (0 everywhere): nothing', rule: hardeningAcceptRa, facts: withSysctl('accept_ra', 0, ['all', 'default', 'veth0', 'lo']), expect: [] },
  {
    name: 'all=0 does not reach an interface that existed before: that interface is raised on its own key',
    rule: hardeningAcceptRa,
    facts: withSysctl('accept_ra', 0, ['all', 'default']),
    expect: ['net.ipv6.conf.veth0.accept_ra'],
    check([f]) {
      assert.match(f!.message, /net\.ipv6\.conf\.all\.accept_ra = 0 does not change veth0/);
      assert.deepEqual(f!.fix.commands, ['sysctl -w net.ipv6.conf.veth0.accept_ra=0', "grep -qsxF 'net.ipv6.conf.veth0.accept_ra = 0' /etc/sysctl.d/60-dualstack.conf || echo 'net.ipv6.conf.veth0.accept_ra = 0' >> /etc/sysctl.d/60-dualstack.conf"]);
    },
  },
  {
    name: 'a host that takes its default route and address from RAs is warned before the commands',
    rule: hardeningAcceptRa,
    facts: () => {
      const facts = golden('dual-stack-services');
      facts.routes.push({ family: 6, destination: '::', prefixLength: 0, gateway: 'fe80::1', interface: 'veth0', metric: 1024, flags: ['up', 'gateway', 'default', 'addrconf', 'expires'], origin: 'ra', expires: true });
      facts.addresses.push({ family: 6, address: '2001:db8:1:0:5054:ff:fe12:3456', prefixLength: 64, interface: 'veth0', scope: 'global', flags: [] });
      return facts;
    },
    expect: ['net.ipv6.conf.all.accept_ra', 'net.ipv6.conf.default.accept_ra'],
    check(findings) {
      const all = only(findings, 'net.ipv6.conf.all.accept_ra');
      assert.match(all.fix.summary, /takes IPv6 routes or addresses from router advertisements now/);
      assert.ok(all.fix.commands[0]!.startsWith('# this host uses RAs now'));
      assert.ok(all.evidence.some((e) => e.includes('via fe80::1 dev veth0 was learned from a router advertisement')));
      assert.ok(all.evidence.some((e) => e.includes('2001:db8:1:0:5054:ff:fe12:3456/64 on veth0 was made from a router advertisement (SLAAC)')));
    },
  },
  {
    name: 'an interface name with a dot uses the slash form of the key',
    rule: hardeningAcceptRa,
    facts: () => {
      const facts = golden('dual-stack-services');
      const veth = facts.sysctl.interfaces.find((i) => i.name === 'veth0')!;
      veth.name = 'eth0.100';
      return facts;
    },
    expect: ['net.ipv6.conf.all.accept_ra', 'net.ipv6.conf.default.accept_ra'],
    check(findings) {
      assert.ok(only(findings, 'net.ipv6.conf.all.accept_ra').fix.commands.includes('sysctl -w net/ipv6/conf/eth0.100/accept_ra=0'));
    },
  },
  { name: 'IPv6 off: no sysctls, nothing to harden', rule: hardeningAcceptRa, facts: () => golden('ipv6-off'), expect: [] },
  // accept_redirects
  {
    name: 'accept_redirects=1: IPv6 keys fixed, IPv4 said to be unread with a command to check it',
    rule: hardeningAcceptRedirects,
    facts: () => golden('dual-stack-services'),
    expect: ['net.ipv6.conf.all.accept_redirects', 'net.ipv6.conf.default.accept_redirects'],
    check(findings) {
      const all = only(findings, 'net.ipv6.conf.all.accept_redirects');
      assert.match(all.message, /IPv6 only: the IPv4 values are not read by the agent/);
      assert.ok(all.fix.commands.includes('sysctl -w net.ipv6.conf.veth0.accept_redirects=0'));
      assert.equal(all.fix.commands.at(-1), 'sysctl net.ipv4.conf.all.accept_redirects net.ipv4.conf.default.accept_redirects   # IPv4 is not read by the agent: CIS wants 0 here too');
    },
  },
  { name: 'accept_redirects=0: nothing', rule: hardeningAcceptRedirects, facts: withSysctl('accept_redirects', 0, ['all', 'default', 'veth0']), expect: [] },
  // accept_source_route
  { name: 'accept_source_route=0 (the kernel default, the fixture): nothing', rule: hardeningAcceptSourceRoute, facts: () => golden('dual-stack-services'), expect: [] },
  { name: 'accept_source_route=-1 is stricter than CIS asks: nothing', rule: hardeningAcceptSourceRoute, facts: withSysctl('accept_source_route', -1, ['all', 'default']), expect: [] },
  {
    name: 'accept_source_route=1 on default only: one finding, min(all, iface) needs no per-interface lines',
    rule: hardeningAcceptSourceRoute,
    facts: withSysctl('accept_source_route', 1, ['default', 'veth0']),
    expect: ['net.ipv6.conf.default.accept_source_route'],
    check([f]) {
      assert.deepEqual(f!.fix.commands.slice(0, 2), ['sysctl -w net.ipv6.conf.default.accept_source_route=0', "grep -qsxF 'net.ipv6.conf.default.accept_source_route = 0' /etc/sysctl.d/60-dualstack.conf || echo 'net.ipv6.conf.default.accept_source_route = 0' >> /etc/sysctl.d/60-dualstack.conf"]);
    },
  },
  // forwarding
  { name: 'forwarding=0 (the fixture): nothing', rule: hardeningForwarding, facts: () => golden('dual-stack-services'), expect: [] },
  {
    name: 'all.forwarding=1: flagged with the router/container caveat first',
    rule: hardeningForwarding,
    facts: withSysctl('forwarding', 1, ['all', 'default', 'veth0']),
    expect: ['net.ipv6.conf.all.forwarding'],
    check([f]) {
      assert.match(f!.fix.commands[0]!, /^# not on routers, VPN gateways or container\/VM hosts/);
      assert.ok(f!.fix.commands.includes('sysctl -w net.ipv6.conf.all.forwarding=0'));
      assert.ok(f!.evidence.includes('net.ipv6.conf.veth0.forwarding = 1'));
    },
  },
  { name: 'default.forwarding alone is not a CIS key', rule: hardeningForwarding, facts: withSysctl('forwarding', 1, ['default']), expect: [] },
];

runRuleCases(cases);

test('hardening rules are silent without the profile and run with it', () => {
  const facts = golden('dual-stack-services');
  assert.deepEqual(runRules(facts).filter((f) => f.rule.startsWith('hardening-')), []);
  const withProfile = runRules(facts, { profiles: ['hardening'] }).filter((f) => f.rule.startsWith('hardening-'));
  assert.deepEqual([...new Set(withProfile.map((f) => f.rule))].sort(), ['hardening-accept-ra', 'hardening-accept-redirects']);
});

test('every hardening rule is in the rule list under the hardening profile and says why it is off by default', () => {
  for (const rule of hardening) {
    assert.ok(rules.includes(rule), `${rule.id} is not in rules`);
    assert.equal(rule.profile, 'hardening');
    assert.match(rule.docs, /off by default/);
    assert.match(rule.docs, /SLAAC/);
  }
});
